"""The book's PDF (``make pdf``, tools/print_book.py), checked quickly on two pages: the intro and
chapter 7 (math, an explorable figure, an interview answer in two tabs, Check-yourself answers).
The full book is too slow for ``make test``; this runs print_book's own functions on the built site
(the ``site`` fixture), merges the two pages and checks the merged PDF: its page count, its outline
(the part's caption and each page's title, pointing at its first page), the metadata, both
languages of the interview answer and the answers in the text, no localhost link left, and that no
``pre``, formula or table overflowed the printed column."""
from __future__ import annotations

import sys
import unicodedata

import pytest

from _site import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import print_book  # noqa: E402

INTRO, CHAPTER = "book/intro", "book/ch07_resnet_downsampling"


@pytest.fixture(scope="module")
def book(site, browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("pdf") / "two-pages.pdf"
    log = []
    pdf, printed, first = print_book.print_book(site, out, [INTRO, CHAPTER], copy_to_site=False,
                                                log=log.append, browser=browser)
    from pypdf import PdfReader
    return PdfReader(str(pdf)), printed, first, log


def test_pages_are_printed_in_toc_order_and_merged(book):
    reader, printed, first, _ = book
    assert [p.name for p in printed] == [INTRO, CHAPTER]
    assert all(p.pages >= 1 for p in printed)
    assert len(reader.pages) == sum(p.pages for p in printed)
    assert first == {INTRO: 0, CHAPTER: printed[0].pages}
    assert printed[1].pages > 10, "chapter 7 is long: printed without its content?"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)   # A4 in points


def test_outline_has_the_parts_and_chapters_at_their_first_pages(book):
    reader, printed, first, _ = book
    outline = reader.outline
    titles = {p.name: p.title for p in printed}
    assert titles[INTRO] == "Convolutional Networks, Executed"
    assert titles[CHAPTER].startswith("7. How does ResNet downsample?")
    # the root page is a top-level bookmark; chapter 7 a child of its part, "ResNet"
    top = [o for o in outline if not isinstance(o, list)]
    assert [o.title for o in top] == [titles[INTRO], "ResNet"]
    children = outline[outline.index(top[1]) + 1]
    assert [c.title for c in children] == [titles[CHAPTER]]
    assert reader.get_destination_page_number(top[0]) == first[INTRO]
    assert reader.get_destination_page_number(top[1]) == first[CHAPTER]
    assert reader.get_destination_page_number(children[0]) == first[CHAPTER]
    # the bookmark's page is the chapter's title page
    assert "How does ResNet downsample?" in reader.pages[first[CHAPTER]].extract_text()


def test_metadata_page_numbers_and_content(book):
    reader, printed, first, _ = book
    meta = print_book.book_meta()
    assert reader.metadata.title == meta["title"]
    assert reader.metadata.author == meta["author"]
    text = [unicodedata.normalize("NFKC", p.extract_text()) for p in reader.pages]   # ﬁ -> fi
    # the book's page number, stamped in every footer, and the chapter's title next to it
    for i in (0, first[CHAPTER], len(text) - 1):
        assert str(i + 1) in text[i].split()[-3:] or text[i].rstrip().endswith(str(i + 1)), i
    chapter = " ".join(" ".join(text[first[CHAPTER]:]).split())   # lines joined
    squeezed = "".join(chapter.split())                              # for the Chinese
    # both tabs of the interview answer, with their labels; the dropdown answers printed open
    assert "English" in chapter and "中文" in chapter
    assert "ResNet halves the resolution five times" in chapter
    assert "ResNet一共把分辨率减半五次" in squeezed
    assert chapter.count("Answer") >= 3 and "77,070,336" in chapter
    # no screen furniture
    assert "Show code cell source" not in chapter and "Copy to clipboard" not in chapter


def test_explorable_printed_as_its_default_frame(book):
    reader, _, first, _ = book
    images = sum(len(p.images) for p in reader.pages[first[CHAPTER]:])
    assert images >= 2, "chapter 7's figures (an explorable among them) missing from the PDF"


def test_no_overflow_and_no_local_links(book):
    reader, printed, _, log = book
    assert not [(p.name, o) for p in printed for o in p.overflow], "\n".join(log)
    assert not [(p.name, b) for p in printed for b in p.broken_images]
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            action = ref.get_object().get("/A")
            uri = str(action.get("/URI", "")) if action is not None else ""
            assert "127.0.0.1" not in uri, f"a link to the local server survived: {uri}"


def test_overflow_check_reports_what_would_be_cut(visit):
    """The check print_book runs on every page does see a cut line: a pre that is forced not to
    wrap, and a wide table, at the printed column's width under print media."""
    v = visit({"width": print_book.COLUMN_PX, "height": 1000})
    page = v.open(f"{CHAPTER}.html")
    page.emulate_media(media="print")
    assert page.evaluate(print_book._CHECK, [print_book.MIN_MATH_ZOOM])["overflow"] == []
    page.evaluate("""() => {
        const art = document.querySelector('article.bd-article');
        const pre = document.createElement('pre');
        pre.setAttribute('style', 'white-space: pre !important');
        pre.textContent = 'x = 1  # ' + 'a long comment '.repeat(20);
        const table = document.createElement('table');
        table.innerHTML = '<tr>' + '<td style="min-width:200px">cell</td>'.repeat(6) + '</tr>';
        art.append(pre, table);
    }""")
    kinds = {o["kind"] for o in page.evaluate(print_book._CHECK, [print_book.MIN_MATH_ZOOM])["overflow"]}
    assert {"pre", "table"} <= kinds, kinds
