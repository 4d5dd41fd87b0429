"""The flashcards extractor on the real book, and the Anki deck opened as what it is: a zip holding
an SQLite collection (tools/cards.py)."""
from __future__ import annotations

import json
import re
import sqlite3
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cards as cardlib  # noqa: E402

CJK = re.compile(r"[\u3400-\u9fff]")
SEP = "\x1f"   # Anki joins a note's fields with the unit separator


@pytest.fixture(scope="module")
def cards():
    return cardlib.extract(ROOT)


def template_pages():
    """Pages of _toc.yml whose first markdown cells hold the Interview answer box (found without
    the extractor's parser)."""
    pages = []
    for docname, _ in cardlib.toc_pages(ROOT):
        path = ROOT / f"{docname}.ipynb"
        if path.is_file():
            cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"]
            if any("{admonition} Interview answer" in "".join(c["source"]) for c in cells[:3]):
                pages.append(docname)
    return pages


def test_one_card_per_template_page(cards):
    assert [c.docname for c in cards] == template_pages()
    assert len({c.slug for c in cards}) == len(cards)


def test_every_page_of_the_book_proper_has_a_card(cards):
    pages = [docname for docname, _ in cardlib.toc_pages(ROOT)]
    assert [c.docname for c in cards] == pages
    assert not any(p.startswith("book/back/") for p in pages)


def test_both_languages(cards):
    for c in cards:
        assert c.question_en.strip() and not CJK.search(c.question_en), c.docname
        assert CJK.search(c.question_zh), c.docname
        assert c.answer_en.strip() and c.answer_zh.strip(), c.docname
        assert CJK.search(c.answer_zh), c.docname
        # the English tab is English: at most a quoted term in Chinese
        assert len(CJK.findall(c.answer_en)) < 0.05 * len(c.answer_en), c.docname
        assert ":::" not in c.answer_en + c.answer_zh, c.docname


def test_numbered_questions_match_the_file_names(cards):
    for c in cards:
        m = re.match(r"ch(\d+)_", Path(c.docname).name)
        assert c.number == (str(int(m.group(1))) if m else None), c.docname


def test_four_to_six_followups_with_proofs(cards):
    for c in cards:
        assert 4 <= len(c.followups) <= 6, (c.docname, len(c.followups))
        for f in c.followups:
            assert f.question.strip() and f.answer.strip() and f.proofs, (c.docname, f.question)
            assert "**" not in f.question, (c.docname, f.question)


def test_every_proof_label_exists(cards):
    targets = cardlib.sections(ROOT)
    labels = {f"({label})=" for label in targets}
    for c in cards:
        for f in c.followups:
            for label in f.proofs:
                assert label in targets, (c.docname, label)
    # and the target lines really are in the notebooks (not an artefact of sections())
    text = "".join((ROOT / f"{d}.ipynb").read_text(encoding="utf-8") for d, _ in cardlib.toc_pages(ROOT))
    assert all(label in text for label in labels)


def test_a_page_without_the_template_fails_loudly(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n"
                                       "  - caption: X\n    chapters:\n      - file: book/ch99_broken\n",
                                       encoding="utf-8")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 99. A question? (一个问题)"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["Just prose, no answer box."]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "book" / "ch99_broken.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(cardlib.CardError, match="book/ch99_broken.*Interview answer"):
        cardlib.extract(tmp_path)


@pytest.mark.parametrize("line, expected", [
    ("# 7. How does ResNet downsample? (Resnet网络结构中如何实现的下采样)",
     ("7", "How does ResNet downsample?", "Resnet网络结构中如何实现的下采样")),
    ("# 17. Dilated (atrous) convolution (空洞卷积（扩张卷积）)",
     ("17", "Dilated (atrous) convolution", "空洞卷积（扩张卷积）")),
    ("# Pooling: max, average and beyond (池化)", (None, "Pooling: max, average and beyond", "池化")),
])
def test_split_title(line, expected):
    assert cardlib.split_title(line, "page") == expected


@pytest.mark.parametrize("line", ["# No Chinese here (none)", "# Missing parentheses 池化", "## 1. Q? (问题)"])
def test_split_title_rejects(line):
    with pytest.raises(cardlib.CardError, match="page"):
        cardlib.split_title(line, "page")


# --- the Anki deck ---------------------------------------------------------------------------------

FORMULAS = [
    {"id": "conv-output-size", "front": "Output size of a convolution?",
     "back": r"\(\lfloor (i + 2p - d(k-1) - 1)/s \rfloor + 1\)", "chapter": "book/ch23_output_size_params_flops"},
    {"id": "flops-macs", "front": "FLOPs and MACs?", "back": "FLOPs = 2 × MACs",
     "chapter": "book/ch23_output_size_params_flops"},
]


def read_deck(path):
    with zipfile.ZipFile(path) as z:
        assert "collection.anki2" in z.namelist()
        db = path.parent / f"{path.stem}.anki2"
        db.write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(db)
    try:
        notes = con.execute("select guid, mid, flds from notes").fetchall()
        models = json.loads(con.execute("select models from col").fetchone()[0])
        decks = json.loads(con.execute("select decks from col").fetchone()[0])
        ncards = con.execute("select count(*) from cards").fetchone()[0]
    finally:
        con.close()
    return notes, models, decks, ncards


@pytest.fixture(scope="module")
def decks(cards, tmp_path_factory):
    d = tmp_path_factory.mktemp("deck")
    first = cardlib.build_deck(cards, FORMULAS, d / "a" / cardlib.DECK_FILE, ROOT)
    second = cardlib.build_deck(cards, FORMULAS[::-1], d / "b" / cardlib.DECK_FILE, ROOT)
    return read_deck(first), read_deck(second)


def test_deck_is_a_zip_with_an_sqlite_collection(decks):
    (notes, models, decks_, ncards), _ = decks
    assert str(cardlib.MODEL_ID) in models and str(cardlib.FORMULA_MODEL_ID) in models
    assert [f["name"] for f in models[str(cardlib.MODEL_ID)]["flds"]] == cardlib.FIELDS
    assert [f["name"] for f in models[str(cardlib.FORMULA_MODEL_ID)]["flds"]] == cardlib.FORMULA_FIELDS
    assert str(cardlib.DECK_ID) in decks_
    assert ncards == len(notes)   # one card (template) per note


def test_one_note_per_chapter_in_both_languages(cards, decks):
    (notes, _, _, _), _ = decks
    chapter_notes = [n for n in notes if n[1] == cardlib.MODEL_ID]
    assert len(chapter_notes) == len(cards)
    by_guid = {guid: flds.split(SEP) for guid, _, flds in chapter_notes}
    for c in cards:
        q, q_zh, a, a_zh, followups, chapter = by_guid[cardlib.note_guid(c.slug)]
        assert q and not CJK.search(q), c.slug
        assert CJK.search(q_zh) and CJK.search(a_zh), c.slug
        assert a.startswith("<p>") and len(a) > 200, c.slug
        assert followups.count("<li>") == len(c.followups), c.slug
        assert c.title in chapter, c.slug
        # MyST is gone: no dollar math, no roles, no markdown links; math is in Anki's delimiters
        for text in (a, a_zh, followups):
            assert "{cite}" not in text and "](#" not in text and "$" not in text, c.slug
        if "$" in c.answer_en:
            assert r"\(" in a, c.slug
        # each proof is named by chapter and section, as text
        assert followups.count(" § ") >= len(c.followups), c.slug


def test_formula_notes(decks):
    (notes, _, _, _), _ = decks
    formula = {guid: flds.split(SEP) for guid, mid, flds in notes if mid == cardlib.FORMULA_MODEL_ID}
    assert set(formula) == {cardlib.formula_guid(f["id"]) for f in FORMULAS}
    front, back, chapter = formula[cardlib.formula_guid("conv-output-size")]
    assert front == FORMULAS[0]["front"] and back == FORMULAS[0]["back"]
    assert chapter.startswith("23. ")   # the chapter's title, not its docname


def test_guids_stable_and_unique(decks):
    (first, _, _, _), (second, _, _, _) = decks
    guids = [n[0] for n in first]
    assert len(set(guids)) == len(guids)
    assert sorted(guids) == sorted(n[0] for n in second)
    assert {n[0]: n[2] for n in first} == {n[0]: n[2] for n in second}


def test_duplicate_formula_ids_rejected(cards, tmp_path):
    with pytest.raises(ValueError, match="conv-output-size"):
        cardlib.build_deck(cards, FORMULAS + FORMULAS[:1], tmp_path / "d.apkg", ROOT)


# --- the page's link rewriting (tools/flashcards.py) ------------------------------------------------

def test_links_rewritten_for_the_flashcards_page():
    import flashcards

    text = ("see [chapter 4](ch04_degradation_causes.ipynb) and [there](ch23_x.ipynb#ch23-vgg); "
            "[Proof](#ch07-v15), [web](https://example.org/a.md)")
    out = flashcards._rewrite(text, "book/back/flashcards", "book/ch03_resnet_problem")
    assert "[chapter 4](../ch04_degradation_causes.ipynb)" in out
    assert "[there](../ch23_x.ipynb#ch23-vgg)" in out
    assert "{ref}`Proof <ch07-v15>`" in out
    assert "[web](https://example.org/a.md)" in out


def test_the_drills_formula_cards_go_into_the_deck(cards, tmp_path):
    """The deck the site offers: the chapter cards and every formula card of the interview drill
    (cnnlib.drill.formula_cards, wired in by tools/flashcards.py), each under its chapter's title."""
    import cnnlib.drill
    from flashcards import drill_formula_cards

    drill_cards = drill_formula_cards()
    assert drill_cards == cnnlib.drill.formula_cards() and len(drill_cards) >= 5
    notes, _, _, _ = read_deck(cardlib.build_deck(cards, drill_cards, tmp_path / cardlib.DECK_FILE, ROOT))
    formula = {guid: flds.split(SEP) for guid, mid, flds in notes if mid == cardlib.FORMULA_MODEL_ID}
    assert set(formula) == {cardlib.formula_guid(f["id"]) for f in drill_cards}
    titles = {c.slug: c.title for c in cards}
    for f in drill_cards:
        front, back, chapter = formula[cardlib.formula_guid(f["id"])]
        assert front and back and chapter in titles.values(), f["id"]
