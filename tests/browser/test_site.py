"""The website as readers use it: the built site in headless Chromium, with the network cut off.

``make site`` builds the site first when ``_build/html`` is missing or older than its sources (the
strict build, ``-W -n``). The site is served from 127.0.0.1 and every request to any other host is
blocked and recorded, as for a reader whose network blocks public CDNs: math must still render and
no page may even try to load a third-party asset. Each page is checked for console errors, rendered
math, launch links (Colab, Binder, download .ipynb), alt text, copy buttons, long outputs in a
scroll box, no dead widgets and no horizontal scrolling at phone width, tables of at most 6 columns
and 12 rows on the page, printed lines of at most 80 characters; the search page must find
"dilation". Screenshots go to ``_build/screenshots/`` (look at them).

Browser: Debian's Chromium (``CHROMIUM``, default ``/usr/bin/chromium``; ``make test`` installs
it when missing and running as root), driven by Playwright's Python driver — Playwright's own
browser download is not used. Run: ``make test-site`` (or ``.venv/bin/python -m pytest tests/browser``).
"""
from __future__ import annotations

import html.parser
import re

import pytest

from _site import (BRANCH, CHAPTERS, DESKTOP, LONG_OUTPUT_MAX_PX, ORG_REPO, PAGES, PHONE, ROOT,
                   shot, wait_for_math)


# --- static HTML: no third-party assets ----------------------------------------------------------

class _AssetLinks(html.parser.HTMLParser):
    """URLs a page loads by itself: script/img/iframe/source src, stylesheet/icon/preload href."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and not {"canonical", "alternate"} & set((a.get("rel") or "").split()):
            self.urls.append(a["href"])
        if tag == "object" and a.get("data"):
            self.urls.append(a["data"])


def test_no_page_references_third_party_assets(site):
    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    assert len(pages) >= len(PAGES)
    offenders = []
    for path in pages:
        parser = _AssetLinks()
        parser.feed(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(site)}: {u}" for u in parser.urls
                      if re.match(r"^(https?:)?//", u)]
    assert not offenders, "third-party assets (serve them from _static instead):\n" + "\n".join(offenders)


def test_local_copies_of_mathjax_requirejs_and_widget_manager_are_served(site):
    for rel in ("mathjax/tex-mml-chtml.js", "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
                "require.min.js", "widgets/embed-amd.js", "font-awesome/css/font-awesome.min.css"):
        assert (site / "_static" / rel).is_file(), f"_static/{rel} missing (tools/fetch_web_assets.sh)"


# --- pages in the browser ------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAGES)
def test_page_as_a_reader_sees_it(name, visit):
    v = visit(DESKTOP)
    page = v.open(f"{name}.html")
    slug = name.split("/")[-1]
    n_math, n_rendered, n_errors = wait_for_math(page)
    if name in CHAPTERS:
        assert n_math > 0, f"{name}: no math on the page"
    assert n_rendered == n_math, f"{name}: {n_math - n_rendered} of {n_math} math nodes not rendered"
    assert n_errors == 0, f"{name}: {n_errors} MathJax errors"

    # figures: loaded, with alt text
    images = page.evaluate("""() => [...document.querySelectorAll('article img')].map(
        i => ({src: i.getAttribute('src'), alt: (i.getAttribute('alt') || '').trim(),
               loaded: i.complete && i.naturalWidth > 0}))""")
    for img in images:
        assert img["loaded"], f"{name}: image {img['src']} did not load"
        assert img["alt"] and not re.search(r"\.(png|svg|jpe?g)$", img["alt"]), \
            f"{name}: image {img['src']} has no alt text"

    # code cells are copyable
    n_code = page.locator("article div.cell div.highlight").count()
    if n_code:
        assert page.locator("article button.copybtn").count() >= n_code, f"{name}: code without copy button"

    # long text outputs sit in a scroll box instead of running for pages
    heights = page.evaluate("""() => [...document.querySelectorAll(
        'article .cell_output .output pre')].map(e => [e.clientHeight, e.scrollHeight])""")
    for client, scroll in heights:
        assert client <= LONG_OUTPUT_MAX_PX, f"{name}: a text output is {client}px tall; long outputs must scroll"

    # no dead widgets: a widget's output is removed from the site; any that is shown is rendered
    n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if n_views:
        page.wait_for_selector("article .jupyter-widgets", timeout=10000)
    assert page.locator("article .widget-slider, article .widget-hslider").count() == 0, \
        f"{name}: a slider widget is shown on the static site (tag its cell remove-output)"
    text = page.inner_text("article")
    assert "google.colab" not in text, f"{name}: the Colab install cell is visible"

    if name in CHAPTERS:
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        colab = f"https://colab.research.google.com/github/{ORG_REPO}/blob/{BRANCH}/{name}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{ORG_REPO}/{BRANCH}?urlpath=lab/tree/{name}.ipynb"
        assert colab in hrefs, f"{name}: no Colab launch link {colab}"
        assert binder in hrefs, f"{name}: no Binder launch link {binder}"
        download = [h for h in hrefs if h.endswith(f"_sources/{name}.ipynb")]
        assert download, f"{name}: no .ipynb download link"
        nb = page.evaluate("url => fetch(url).then(r => r.json())", download[0])
        assert nb["cells"], f"{name}: the downloadable .ipynb is empty"
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        assert "google.colab" in "".join(first_code["source"]), \
            f"{name}: the downloaded notebook lacks the Colab install cell"

    shot(page, f"desktop-{slug}")
    shot(page, f"desktop-{slug}-full", full_page=True)
    v.check_clean(name)


# What a phone reader can take in (BOOK_SPEC.md, "Lessons of the reviews"): narrow tables, about a
# screen of rows (the rest folded into a dropdown), printed lines that need little sideways scrolling.
PHONE_MAX_COLUMNS, PHONE_MAX_ROWS, PHONE_MAX_LINE = 6, 12, 80
PHONE_LAYOUT_JS = """() => ({
    tables: [...document.querySelectorAll('article table')].map(t => ({
        caption: (t.caption ? t.caption.textContent : t.textContent).trim().slice(0, 60),
        cols: Math.max(0, ...[...t.rows].map(r => [...r.cells].reduce((n, c) => n + c.colSpan, 0))),
        rows: [...t.tBodies].reduce((n, b) => n + b.rows.length, 0),
        folded: t.closest('details') !== null})),
    lines: [...document.querySelectorAll('article .cell_output pre')]
        .flatMap(p => p.textContent.split('\\n'))})"""


@pytest.mark.parametrize("name", PAGES)
def test_page_at_phone_width(name, visit):
    v = visit(PHONE)
    page = v.open(f"{name}.html")
    wait_for_math(page)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"{name}: the page scrolls sideways at {PHONE['width']}px ({width})"
    too_wide = page.evaluate("""() => [...document.querySelectorAll('article img')]
        .filter(i => i.getBoundingClientRect().right > window.innerWidth + 1).map(i => i.src)""")
    assert not too_wide, f"{name}: images wider than the phone screen: {too_wide}"
    layout = page.evaluate(PHONE_LAYOUT_JS)
    wide = [t for t in layout["tables"] if t["cols"] > PHONE_MAX_COLUMNS]
    assert not wide, (f"{name}: tables wider than {PHONE_MAX_COLUMNS} columns (transpose or split "
                      f"them): {wide}")
    tall = [t for t in layout["tables"] if not t["folded"] and t["rows"] > PHONE_MAX_ROWS]
    assert not tall, (f"{name}: tables with more than {PHONE_MAX_ROWS} rows on the page (viz.table "
                      f"folds the rest into a dropdown): {tall}")
    long_lines = [ln for ln in layout["lines"] if len(ln) > PHONE_MAX_LINE]
    assert not long_lines, (f"{name}: printed lines over {PHONE_MAX_LINE} characters: "
                            f"{[ln[:60] + '...' for ln in long_lines]}")
    slug = name.split("/")[-1]
    shot(page, f"phone-{slug}")
    figure = page.locator("article .cell_output img").first
    if figure.count():
        figure.scroll_into_view_if_needed()
        shot(page, f"phone-{slug}-figure")
    v.check_clean(f"{name} (phone)")


# --- explorable figures: the knob demos work on the static site ----------------------------------

def explorable_pages():
    """Chapters whose committed notebook has an explorable figure (viz.explorable)."""
    return [n for n in CHAPTERS if "viz.explorable(" in (ROOT / f"{n}.ipynb").read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", explorable_pages())
def test_explorable_figures_follow_their_controls(name, visit):
    """Move every control of every explorable figure (by keyboard for sliders, by choosing an option
    for dropdowns) and check that the frame shown is the one precomputed for the chosen values,
    with its alt text; no console errors."""
    v = visit(DESKTOP)
    page = v.open(f"{name}.html")
    figures = page.locator("article .cnnlib-explorable")
    n_figures = figures.count()
    n_demos = (ROOT / f"{name}.ipynb").read_text(encoding="utf-8").count("viz.explorable(")
    assert n_figures == n_demos, f"{name}: {n_demos} explorable cells but {n_figures} figures on the page"
    state = """root => {
        const data = JSON.parse(root.querySelector('script.cnnlib-explorable-data').textContent);
        const pos = [...root.querySelectorAll('[data-knob]')].map(c => +c.value);
        const img = root.querySelector('img.cnnlib-explorable-frame');
        const key = pos.join(',');
        return {key, src: img.getAttribute('src'), alt: img.getAttribute('alt'),
                expected_src: data.frames[data.index[key]], expected_alt: data.alts[key],
                shown: root.dataset.key, labels: data.labels,
                outputs: [...root.querySelectorAll('output')].map(o => o.textContent)};
    }"""
    for f in range(n_figures):
        fig = figures.nth(f)
        fig.scroll_into_view_if_needed()
        first = fig.evaluate(state)
        assert first["src"] == first["expected_src"] and first["shown"] == first["key"], \
            f"{name}: explorable {f} does not show its start frame"
        controls = fig.locator("[data-knob]")
        seen = {first["src"]}
        for c in range(controls.count()):
            ctl = controls.nth(c)
            knob = int(ctl.get_attribute("data-knob"))
            n_values = len(first["labels"][knob])
            if n_values < 2:
                continue
            before = fig.evaluate(state)
            if ctl.evaluate("e => e.tagName") == "SELECT":
                current = int(ctl.input_value())
                # by index: a string would match an option's label too ("1" is the label of
                # option 0 in a dilation dropdown 1 / 2 / 1,2,4), and select the wrong one
                ctl.select_option(index=(current + 1) % n_values)
            else:
                ctl.focus()
                key = "ArrowLeft" if int(ctl.input_value()) == n_values - 1 else "ArrowRight"
                page.keyboard.press(key)
            after = fig.evaluate(state)
            assert after["key"] != before["key"], f"{name}: explorable {f}, control {c} did not move"
            assert after["src"] == after["expected_src"], \
                f"{name}: explorable {f} shows the wrong frame for {after['key']}"
            assert after["alt"] == after["expected_alt"] and after["alt"], \
                f"{name}: explorable {f} has the wrong alt text for {after['key']}"
            seen.add(after["src"])
        assert len(seen) > 1, f"{name}: explorable {f} never changed its frame"
        if f == 0:
            shot(fig, f"explorable-{name.split('/')[-1]}", animations="disabled")
    v.check_clean(f"{name} (explorables)")


@pytest.mark.parametrize("name", explorable_pages())
def test_explorable_frames_fill_a_phone_screen(name, visit):
    """At 390 px, each explorable's frame spans the text column and its controls stay on screen."""
    v = visit(PHONE)
    page = v.open(f"{name}.html")
    boxes = page.evaluate("""() => [...document.querySelectorAll('article .cnnlib-explorable')].map(r => {
        const img = r.querySelector('img.cnnlib-explorable-frame').getBoundingClientRect();
        const col = r.closest('.cell_output, .output') || r.parentElement;
        const ctl = [...r.querySelectorAll('[data-knob]')].map(c => c.getBoundingClientRect().right);
        return {img: img.width, right: img.right, column: col.getBoundingClientRect().width,
                controls: Math.max(...ctl)};
    })""")
    assert boxes, f"{name}: no explorable figure"
    for i, b in enumerate(boxes):
        assert b["img"] >= 0.9 * b["column"] - 1, f"{name}: explorable {i} is {b['img']}px in a {b['column']}px column"
        assert b["right"] <= PHONE["width"] + 1 and b["controls"] <= PHONE["width"] + 1, \
            f"{name}: explorable {i} does not fit a {PHONE['width']}px screen ({b})"
    figure = page.locator("article .cnnlib-explorable").first
    figure.scroll_into_view_if_needed()
    shot(page, f"phone-{name.split('/')[-1]}-explorable")
    v.check_clean(f"{name} (phone, explorables)")


def test_home_redirects_to_the_introduction(visit):
    v = visit(DESKTOP)
    page = v.open("index.html")
    page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=10000)
    v.check_clean("index.html")


def test_search_finds_dilation(visit):
    v = visit(DESKTOP)
    page = v.open("search.html?q=dilation")
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    results = page.eval_on_selector_all("#search-results ul.search li a",
                                        "els => els.map(e => e.getAttribute('href'))")
    assert any("book/ch" in r for r in results), f"search for 'dilation' found no chapter: {results}"
    shot(page, "desktop-search-dilation")
    v.check_clean("search.html")
