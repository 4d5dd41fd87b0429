"""The glossary page as a reader uses it: the generated entries, the filter box, the links into the
chapters, and the site search (tools/glossary.py builds the page from the chapters)."""
from __future__ import annotations

import json
import re

from _site import DESKTOP, PHONE, shot

PAGE = "book/back/glossary.html"


def visible_entries(page):
    return page.eval_on_selector_all(
        "li.cnn-glossary-entry",
        "els => els.filter(e => e.offsetParent !== null).map(e => e.textContent)")


def test_glossary_lists_every_term_with_chinese_and_a_link(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    entries = page.eval_on_selector_all("li.cnn-glossary-entry", """els => els.map(e => ({
        en: e.querySelector('strong') && e.querySelector('strong').textContent,
        zh: e.querySelector('.cnn-glossary-zh') && e.querySelector('.cnn-glossary-zh').textContent,
        href: e.querySelector('a.reference') && e.querySelector('a.reference').getAttribute('href'),
    }))""")
    assert len(entries) >= 150, len(entries)
    for e in entries:
        assert e["en"] and re.search(r"[\u3400-\u9fff]", e["zh"] or ""), e
        assert e["href"] and ".html" in e["href"], e
    english = [e["en"].lower() for e in entries]
    assert english == sorted(english, key=lambda s: re.sub(r"[^a-z0-9 ]", "", s)), "not sorted"
    shot(page, "desktop-glossary")
    v.check_clean(PAGE)


def test_filter_narrows_the_list_by_english_and_by_chinese(visit):
    v = visit(PHONE)
    page = v.open(PAGE)
    total = len(visible_entries(page))
    box = page.locator("#cnn-glossary-q")
    box.fill("stride")
    shown = visible_entries(page)
    assert 0 < len(shown) < total
    assert all("stride" in s.split("→")[0].lower() for s in shown), shown
    assert any("total stride" in s for s in shown)
    assert page.locator("p.cnn-glossary-status").text_content().startswith(f"{len(shown)} of {total}")
    shot(page, "phone-glossary-filter-en")
    box.fill("步长")
    shown = visible_entries(page)
    assert 0 < len(shown) < total and all("步长" in s.split("→")[0] for s in shown), shown
    # letters without a match are hidden too
    assert page.eval_on_selector_all("div.cnn-glossary-letter",
                                     "gs => gs.filter(g => !g.hidden).length") < 10
    shot(page, "phone-glossary-filter-zh")
    for query in ("winograd", "fft"):        # the interview names of two ch31 terms
        box.fill(query)
        assert len(visible_entries(page)) == 1, (query, visible_entries(page))
    box.fill("")
    assert len(visible_entries(page)) == total
    shot(page, "phone-glossary")
    v.check_clean(PAGE)


def test_entry_links_to_the_section_that_explains_it(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    link = page.locator("li.cnn-glossary-entry", has_text="total stride").locator("a.reference")
    assert link.count() == 1
    link.click()
    page.wait_for_load_state("load")
    assert re.search(r"/book/ch07_resnet_downsampling\.html#ch07-where$", page.url), page.url
    assert page.locator("#ch07-where").count() == 1
    v.check_clean("chapter 7 from the glossary")


def test_entry_links_the_explaining_chapter_and_shows_the_first_use(visit):
    """depthwise convolution is first used in chapter 1 (large kernels) and explained in
    chapter 22 (its title): the entry links both, the explaining chapter first."""
    v = visit(PHONE)
    page = v.open(PAGE)
    entry = page.locator("li.cnn-glossary-entry", has_text="depthwise convolution").filter(
        has_not_text="separable")
    assert entry.count() == 1
    links = entry.locator("a.reference")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) == 2, hrefs
    assert re.search(r"ch22_depthwise_vs_pointwise\.html(#[\w-]+)?$", hrefs[0]), hrefs
    assert hrefs[1].endswith("ch01_why_3x3_kernels.html#ch01-large-kernels"), hrefs
    text = entry.text_content()
    assert "→ Ch. 22: Depthwise vs pointwise convolution" in text, text
    assert "first used: Ch. 1" in text, text
    # "first used: Ch. 1" is one unbroken piece; a long page name ("first used: Bottleneck,
    # hourglass and inverted bottleneck") may wrap, and no entry is wider than the phone
    first = entry.locator(".cnn-glossary-first")
    assert first.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    too_wide = page.evaluate("""() => [...document.querySelectorAll('li.cnn-glossary-entry *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.textContent)""")
    assert not too_wide, too_wide
    long = page.locator("li.cnn-glossary-entry", has_text="first used: Bottleneck, hourglass")
    assert long.count() >= 1
    assert long.first.locator(".cnn-glossary-first").evaluate(
        "e => getComputedStyle(e).whiteSpace") == "normal"
    entry.scroll_into_view_if_needed()
    shot(page, "phone-glossary-first-used")
    # a term explained where it is first used shows one link and no "first used"
    one = page.locator("li.cnn-glossary-entry", has_text="total stride")
    assert one.locator("a.reference").count() == 1 and "first used" not in one.text_content()
    links.nth(0).click()
    page.wait_for_load_state("load")
    assert "/book/ch22_depthwise_vs_pointwise.html" in page.url, page.url
    v.check_clean("chapter 22 from the glossary")


def test_site_search_finds_glossary_terms(visit, site):
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    glossary = index["docnames"].index("book/back/glossary")
    for term in ("letterbox", "空洞率", "感受野"):      # Chinese runs are indexed as whole words
        docs = index["terms"][term]
        assert glossary in (docs if isinstance(docs, list) else [docs]), term
    v = visit(DESKTOP)
    for query in ("letterbox", "空洞率"):
        page = v.open(f"search.html?q={query}")
        page.wait_for_selector("#search-results ul.search li", timeout=15000)
        results = page.eval_on_selector_all("#search-results ul.search li a",
                                            "els => els.map(e => e.getAttribute('href'))")
        assert any("back/glossary" in r for r in results), (query, results)
    shot(page, "desktop-search-glossary")
    v.check_clean("search.html")
