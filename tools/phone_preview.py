#!/usr/bin/env python3
"""Look at one chapter as a phone reader sees it, without building the whole book.

  .venv/bin/python tools/check_chapter.py book/chNN_x.ipynb --save /tmp/me/chNN_x.ipynb
  .venv/bin/python tools/phone_preview.py /tmp/me/chNN_x.ipynb --out /tmp/me/shots

Takes an *executed* notebook (outputs kept; ``check_chapter.py --save`` writes one), builds a
one-page site with the book's configuration, theme, CSS and local assets (execution off, not
strict: links to other chapters are left unresolved), serves it on 127.0.0.1 and saves
screenshots of the whole page at 390 px (a common phone, CSS pixels) as consecutive screens
``phone-00.png``, ``phone-01.png`` … (``--width``/``--height`` to change; ``--screens N`` stops
after N). It also prints what the browser test would complain about at that width (sideways
scrolling, images wider than the screen). An authoring aid; ``make test`` checks the real site.
"""
import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def build(notebook: Path, work: Path) -> Path:
    """A one-page copy of the book around ``notebook``; returns the built page."""
    (work / "book").mkdir(parents=True)
    shutil.copytree(ROOT / "book" / "_static", work / "book" / "_static")
    shutil.copy(ROOT / "book" / "references.bib", work / "book" / "references.bib")
    shutil.copy(notebook, work / "book" / notebook.name)
    (work / ".web-assets").symlink_to(ROOT / ".web-assets")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    for name, folder in config["sphinx"].get("local_extensions", {}).items():
        (work / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / folder / f"{name}.py", work / folder / f"{name}.py")
    config["execute"]["execute_notebooks"] = "off"
    (work / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    (work / "book" / "back").mkdir()          # the bibliography page: citations resolve
    shutil.copy(ROOT / "book" / "back" / "references.md", work / "book" / "back" / "references.md")
    (work / "_toc.yml").write_text(f"format: jb-book\nroot: book/{notebook.stem}\nchapters:\n"
                                   "  - file: book/back/references\n", encoding="utf-8")
    jb = ROOT / ".venv" / "bin" / "jupyter-book"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    run = subprocess.run([str(jb), "build", str(work), "--all"], env=env, capture_output=True,
                         text=True)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit("the one-page build failed")
    return work / "_build" / "html"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", type=Path, help="an executed chapter notebook")
    ap.add_argument("--out", type=Path, required=True, help="folder for the screenshots")
    ap.add_argument("--width", type=int, default=390)
    ap.add_argument("--height", type=int, default=844)
    ap.add_argument("--screens", type=int, default=0, help="stop after this many (0: all)")
    args = ap.parse_args(argv)
    if not (ROOT / ".web-assets" / "VERSIONS").is_file():
        raise SystemExit("run `make assets` first (MathJax and friends for the local site)")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="phone-preview-") as tmp:
        html = build(args.notebook.resolve(), Path(tmp))
        handler = functools.partial(_Quiet, directory=str(html))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/book/{args.notebook.stem}.html"
        args.out.mkdir(parents=True, exist_ok=True)
        for old in args.out.glob("phone-*.png"):
            old.unlink()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url, wait_until="load")
            page.wait_for_function("() => !window.MathJax || !MathJax.startup || "
                                   "MathJax.startup.promise !== undefined", timeout=20000)
            page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.wait_for_timeout(500)
            scroll_w, inner_w = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]")
            wide = page.evaluate("""() => [...document.querySelectorAll('article img')]
                .filter(i => i.getBoundingClientRect().right > window.innerWidth + 1).length""")
            total = page.evaluate("() => document.documentElement.scrollHeight")
            n = -(-total // args.height)
            if args.screens:
                n = min(n, args.screens)
            for i in range(n):
                page.evaluate(f"() => window.scrollTo(0, {i * args.height})")
                page.wait_for_timeout(150)
                page.screenshot(path=str(args.out / f"phone-{i:02d}.png"))
            browser.close()
        httpd.shutdown()
    print(f"{n} screens of {args.width}x{args.height} in {args.out} (page height {total} px)")
    if scroll_w > inner_w + 1:
        print(f"the page scrolls sideways: {scroll_w} px wide at {inner_w} px")
    if wide:
        print(f"{wide} image(s) wider than the screen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
