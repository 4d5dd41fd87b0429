"""The errata page on the built site: the summary glued to the top counts the items that the page
shows, and every item has its parts (an exact quote, a verdict, code, a link to a chapter)."""
from __future__ import annotations

import re

from _site import DESKTOP, HTML, PHONE

PAGE = "book/back/errata.html"
NOT_ITEMS = {"errata-correct", "errata-degradation"}   # labelled sections that are not items


def items(page):
    """One record per item section: its label and what the section contains."""
    return page.evaluate(r"""(notItems) => [...document.querySelectorAll(
            'article section > span[id^="errata-"]')]
        .filter(s => !notItems.includes(s.id))
        .map(s => { const sec = s.parentElement; return {
            label: s.id,
            quote: [...sec.querySelectorAll('blockquote')].some(b => /「[^」]+」/.test(b.innerText)),
            verdict: [...sec.querySelectorAll('strong')].map(e => e.innerText.replace(/[.:]$/, '')),
            code: sec.querySelectorAll('div.cell div.highlight').length,
            chapters: [...sec.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
                .filter(h => /^\.\.\/(ch|b|w)\d\d_/.test(h)),
        }; })""", sorted(NOT_ITEMS))


def test_summary_at_the_top_counts_the_items(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    found = items(page)
    text = page.inner_text("article")
    count = re.search(r"(\d+) items, by seed and kind", text)
    assert count, "the glued count table is missing"
    assert int(count.group(1)) == len(found) >= 14
    # both glued tables come before the first item
    order = page.evaluate("""(first) => {
        const f = document.getElementById(first);
        const tables = [...document.querySelectorAll('article table')];
        return tables.slice(0, 2).map(t => !!(t.compareDocumentPosition(f)
                                              & Node.DOCUMENT_POSITION_FOLLOWING)); }""",
                          found[0]["label"])
    assert order == [True, True], "the summary tables are not above the first item"


def test_every_item_has_quote_verdict_code_and_chapter(visit):
    page = visit(PHONE).open(PAGE)
    for item in items(page):
        label = item["label"]
        assert item["quote"], f"{label}: no blockquote with a 「…」 quote"
        assert {"Error", "Convention"} & set(item["verdict"]), f"{label}: no Error/Convention"
        assert item["code"] >= 1, f"{label}: no code cell"
        assert item["chapters"], f"{label}: no link to a chapter"
        for href in item["chapters"]:
            target = (HTML / "book" / href.split("#")[0][3:]).with_suffix(".html")
            assert target.is_file(), f"{label}: link {href} has no page"
