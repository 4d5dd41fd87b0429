"""What the browser tests share: the site's paths and pages, the viewports, a page visit that only
reaches 127.0.0.1 (class Visit), waiting for MathJax, and screenshots. The fixtures that use them
(site, server, browser, visit) are in conftest.py."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
# The browser `make pdf` drives too: Debian's Chromium (CHROMIUM, launched by print_book.launch).
from print_book import CHROMIUM  # noqa: E402
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
ORG_REPO = urlparse(REPO).path.strip("/")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}   # a common phone, in CSS pixels
LONG_OUTPUT_MAX_PX = 500                # taller text outputs must scroll inside their box


def toc_files():
    """Page names in _toc.yml order: the root, then every chapter."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


PAGES = toc_files()
# Notebook pages of the book proper (chapters, "Beyond the 33", "The wider interview"); the back
# matter and practice pages under book/back/ get the checks every page gets.
CHAPTERS = [f for f in PAGES if (ROOT / f"{f}.ipynb").is_file() and not f.startswith("book/back/")]


# --- the site, built and served ------------------------------------------------------------------

class Visit:
    """A page opened in a fresh context that only reaches 127.0.0.1; records what went wrong."""

    def __init__(self, browser, base, viewport):
        self.context = browser.new_context(viewport=viewport, service_workers="block")
        self.blocked, self.errors, self.failed = [], [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.base = base

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    # How long a page may keep requesting after "load" (MathJax fetches its fonts then). Headless
    # Chromium on a busy 2-core machine, two pages at a time, once took over 30 s (ch22, a
    # fresh-clone run), while the same page settles in about 2 s on a quiet one.
    SETTLE_MS = 90_000

    def open(self, path):
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle", timeout=self.SETTLE_MS)
        return self.page

    def check_clean(self, what):
        assert not self.blocked, f"{what} tried to load third-party assets: {self.blocked}"
        assert not self.failed, f"{what}: failed requests {self.failed}"
        assert not self.errors, f"{what}: console errors {self.errors}"

    def close(self):
        self.context.close()


def wait_for_math(page):
    """Wait until MathJax has typeset the page; return (math nodes, rendered, errors).
    Pages without math do not load MathJax: (0, 0, 0)."""
    if not page.locator("article .math").count():
        return 0, 0, 0
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=15000)
    page.evaluate("() => MathJax.startup.promise")
    return page.evaluate("""() => {
        const nodes = [...document.querySelectorAll('article .math')];
        return [nodes.length,
                nodes.filter(n => n.querySelector('mjx-container')).length,
                document.querySelectorAll('mjx-merror').length];
    }""")


def shot(page, name, **kw):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), **kw)
