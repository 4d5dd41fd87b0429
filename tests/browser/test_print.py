"""The interview cheat sheet on paper: Chromium prints the built page (``page.pdf``, A4) and the
PDF must have at most 4 pages; under print media no formula, table or printed output may be wider
than the text column, and the site's chrome (sidebars, header buttons, prev/next, code inputs and
their toggles) must be hidden. The PDF is saved to ``_build/screenshots/cheatsheet.pdf`` — look at
its pages as images. The print rules are in ``book/_static/cheatsheet.css``."""
from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader

from _site import DESKTOP, SHOTS, wait_for_math

PAGE = "book/back/cheatsheet.html"
MAX_PAGES = 4
# Chromium's default print margins are about 0.4 in; print with them, as a reader would.
MARGIN = {"top": "10mm", "bottom": "10mm", "left": "10mm", "right": "10mm"}


def _open(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    n_math, n_rendered, n_errors = wait_for_math(page)
    assert n_math > 10 and n_rendered == n_math and n_errors == 0, (n_math, n_rendered, n_errors)
    assert page.locator(".cheatsheet-marker").count() == 1, "the page's print-scope marker is missing"
    return v, page


def test_cheat_sheet_prints_on_at_most_four_a4_pages(visit):
    v, page = _open(visit)
    pdf = page.pdf(format="A4", print_background=True, margin=MARGIN)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "cheatsheet.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    n = len(reader.pages)
    print(f"cheat sheet: {n} A4 pages")
    assert 1 <= n <= MAX_PAGES, f"the cheat sheet prints on {n} A4 pages (at most {MAX_PAGES})"
    # NFKC: the PDF's text has ligatures ("ﬁeld")
    text = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages))
    # the content is there: every section, and no code input slipped through
    for heading in ("Sizes", "Parameters and cost", "Receptive field", "Efficient convolutions",
                    "Fusion", "Memory"):
        assert heading in text, f"section {heading!r} missing from the printed page"
    for code in ("import torch", "assert ", "Show code cell source"):
        assert code not in text, f"{code!r} printed: code inputs or toggles are not hidden"
    v.check_clean(PAGE)


def test_cheat_sheet_in_print_media_hides_chrome_and_cuts_nothing(visit):
    v, page = _open(visit)
    page.emulate_media(media="print")
    # the A4 text column: 210 mm minus the margins, at 96 px per inch
    page.set_viewport_size({"width": round((210 - 20) / 25.4 * 96), "height": 1100})
    page.evaluate("() => MathJax.startup.promise")
    report = page.evaluate("""() => {
        const visible = el => {
            const s = getComputedStyle(el), r = el.getBoundingClientRect();
            return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;
        };
        const chrome = ['.bd-sidebar-primary', '.bd-sidebar-secondary', '.bd-header-article',
                        '.prev-next-area', '.bd-footer', 'details.above-input > summary',
                        '.cell_input', 'button'];
        const shown = chrome.flatMap(sel => [...document.querySelectorAll(sel)]
            .filter(visible).map(el => sel));
        const article = document.querySelector('article.bd-article');
        const col = article.getBoundingClientRect();
        const wide = [];
        // every formula (display and inline), table and printed output inside the column, and no
        // block that holds one scrolls (on paper a scrolled part is cut off)
        for (const el of article.querySelectorAll('mjx-container, table, pre')) {
            if (!visible(el)) continue;
            const r = el.getBoundingClientRect();
            const box = el.closest('div.math, .output, .cell_output, p, li') || el.parentElement;
            // A display formula spans the column: its own scrollWidth shows a formula cut at the
            // edge. An inline one is judged by its box (its scrollWidth counts italic overhangs).
            const inline = el.tagName === 'MJX-CONTAINER' && el.getAttribute('display') !== 'true';
            const own = !inline && el.scrollWidth > el.clientWidth + 1;
            if (r.left < col.left - 1 || r.right > col.right + 1 || own
                || box.scrollWidth > box.clientWidth + 1) {
                wide.push(`${el.tagName.toLowerCase()}: ${Math.round(r.width)} px in a ` +
                          `${Math.round(col.width)} px column: ` +
                          (el.textContent || '').trim().slice(0, 50));
            }
        }
        return {shown, wide, column: col.width, scroll: document.documentElement.scrollWidth,
                inner: window.innerWidth, math: article.querySelectorAll('mjx-container').length};
    }""")
    assert not report["shown"], f"print shows the site's chrome: {sorted(set(report['shown']))}"
    assert report["math"] > 10
    assert report["column"] > 0.9 * report["inner"], f"text column {report['column']} px: sidebars kept space"
    assert not report["wide"], "wider than the printed column:\n" + "\n".join(report["wide"])
    assert report["scroll"] <= report["inner"] + 1, "the printed page scrolls sideways"
    v.check_clean(PAGE)
