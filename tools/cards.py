"""Mock-interview flashcards, extracted from the chapters themselves, and their Anki deck.

Every page of the book proper (every ``_toc.yml`` page outside ``book/back/``) opens with the same
template (CONTRIBUTING.md, "Structure"): a title ``# N. English question (中文问题)`` or
``# English title (中文)``, an **Interview answer** admonition holding an ``English`` and a ``中文``
tab, and a **Follow-ups** admonition of ``- **Q?** → A [Proof](#label)`` items. ``extract`` turns
each page into one :class:`Card` (the MyST source of each part, unchanged) and raises
:class:`CardError`, naming the page, when a page lacks the structure: a card is never dropped
silently.

``build_deck`` writes the cards (and the drill's formula cards) as an Anki ``.apkg`` with genanki.
The note types and the deck have fixed ids and every note's guid comes from its chapter's slug
(``ch07``), so re-importing an updated deck updates the reader's notes instead of duplicating them.
MyST becomes the HTML Anki shows (math as ``\\( \\)`` / ``\\[ \\]`` for Anki's MathJax); a proof link
becomes "chapter title § section" text, since a note has no site to link to.

``tools/flashcards.py`` (the Sphinx extension) renders the same cards on ``book/back/flashcards.md``
and writes the deck at build time; ``tests/test_cards.py`` checks both on the real book.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# --- extraction -----------------------------------------------------------------------------------

CJK = re.compile(r"[\u3400-\u9fff]")
TITLE_NUMBER = re.compile(r"^(\d+)\.\s+(.*)$")
TAB = re.compile(r"^:::\{tab-item\}\s*(?P<name>\S+)\s*\n(?P<options>(?::\w[\w-]*:[^\n]*\n)*)(?P<body>.*?)\n:::[ \t]*$",
                 re.M | re.S)
FOLLOW_UPS = re.compile(r"^:::\{admonition\}\s*Follow-ups\s*\n(?::\w[\w-]*:[^\n]*\n)*(?P<body>.*?)\n:::[ \t]*$", re.M | re.S)
ITEM = re.compile(r"^- \*\*(?P<q>.+?)\*\*\s*→\s*(?P<a>.+)$", re.S)
PROOF = re.compile(r"\[(?P<text>[^\]]+)\]\(#(?P<label>[\w-]+)\)")
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*$")


class CardError(ValueError):
    """A page of the book lacks the interview template, so it cannot become a card."""


@dataclass
class FollowUp:
    question: str          # MyST, without the bold markers
    answer: str            # MyST, the proof links included
    proofs: list[str]      # the labels of its [text](#label) links, in order


@dataclass
class Card:
    slug: str              # "ch07", "b01", "w01": stable, the note's guid comes from it
    docname: str           # "book/ch07_resnet_downsampling"
    part: str              # the _toc.yml caption: "ResNet"
    number: str | None     # "7" for the 33 questions, None for the other pages
    question_en: str
    question_zh: str
    answer_en: str         # MyST source of the English tab
    answer_zh: str         # MyST source of the 中文 tab
    followups: list[FollowUp] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The chapter's English title as the book numbers it: "7. How does ResNet downsample?"."""
        return f"{self.number}. {self.question_en}" if self.number else self.question_en


def toc_pages(root: Path = ROOT) -> list[tuple[str, str]]:
    """(docname, part caption) of every page of the book proper, in _toc.yml order."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    return [(chapter["file"], part.get("caption", ""))
            for part in toc.get("parts", []) for chapter in part.get("chapters", [])
            if not chapter["file"].startswith("book/back/")]


def markdown_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def split_title(line: str, page: str) -> tuple[str | None, str, str]:
    """'# 7. How does ResNet downsample? (Resnet网络结构中如何实现的下采样)' -> number, EN, 中文.
    The Chinese part is the last balanced (ASCII) parenthesis; it may hold full-width ones."""
    text = line[2:].strip() if line.startswith("# ") else ""
    if not text.endswith(")"):
        raise CardError(f"{page}: the title {line!r} does not end with '(中文)'")
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            break
    english, chinese = text[:i].strip(), text[i + 1:-1].strip()
    if not english or not CJK.search(chinese):
        raise CardError(f"{page}: the title {line!r} lacks an English part or a Chinese one in parentheses")
    m = TITLE_NUMBER.match(english)
    return (m.group(1), m.group(2)) + (chinese,) if m else (None, english, chinese)


def parse_followups(body: str, page: str) -> list[FollowUp]:
    items, current = [], None
    for line in body.splitlines():
        if line.startswith("- "):
            current = [line]
            items.append(current)
        elif line.strip() and current is not None and line.startswith((" ", "\t")):
            current.append(line.strip())
        elif line.strip():
            raise CardError(f"{page}: unexpected line in the Follow-ups box: {line!r}")
    followups = []
    for lines in items:
        text = " ".join(lines)
        m = ITEM.match(text)
        if not m:
            raise CardError(f"{page}: a follow-up is not '- **Question?** → answer': {text[:80]!r}")
        proofs = [p.group("label") for p in PROOF.finditer(m.group("a"))]
        if not proofs:
            raise CardError(f"{page}: the follow-up {m.group('q')!r} links to no proof [..](#label)")
        followups.append(FollowUp(m.group("q").strip(), m.group("a").strip(), proofs))
    return followups


def parse_page(docname: str, part: str, root: Path = ROOT) -> Card:
    path = Path(root) / f"{docname}.ipynb"
    if not path.is_file():
        raise CardError(f"{docname}: not a notebook, so it has no interview answer to make a card of")
    cells = markdown_cells(path)
    if not cells or not cells[0].startswith("# "):
        raise CardError(f"{docname}: the first markdown cell is not the '# Title (中文)' line")
    number, question_en, question_zh = split_title(cells[0].splitlines()[0], docname)
    box = next((c for c in cells[1:3] if "{admonition} Interview answer" in c), None)
    if box is None:
        raise CardError(f"{docname}: no ':::::{{admonition}} Interview answer' box after the title")
    tabs = {m.group("name"): m.group("body").strip() for m in TAB.finditer(box)}
    if not tabs.get("English") or not tabs.get("中文"):
        raise CardError(f"{docname}: the Interview answer lacks an 'English' or a '中文' tab item "
                        f"(found {sorted(tabs)})")
    if not CJK.search(tabs["中文"]):
        raise CardError(f"{docname}: the 中文 tab of the Interview answer holds no Chinese")
    m = FOLLOW_UPS.search(box)
    if not m:
        raise CardError(f"{docname}: no ':::{{admonition}} Follow-ups' box after the Interview answer")
    followups = parse_followups(m.group("body"), docname)
    if not followups:
        raise CardError(f"{docname}: the Follow-ups box holds no '- **Q?** → A' item")
    slug = Path(docname).name.split("_", 1)[0]
    return Card(slug, docname, part, number, question_en, question_zh, tabs["English"], tabs["中文"],
                followups)


def extract(root: Path = ROOT) -> list[Card]:
    """One card per page of the book proper, in _toc.yml order; CardError names a page that lacks
    the template."""
    cards = [parse_page(docname, part, root) for docname, part in toc_pages(root)]
    slugs = [c.slug for c in cards]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise CardError(f"pages share a card slug (their name before the first '_'): {duplicates}")
    return cards


def sections(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Every target `(label)=` of the book proper: label -> (docname, heading). The heading is the
    one directly below the target or, for a target on a paragraph, the section's that holds it."""
    found = {}
    for docname, _ in toc_pages(root):
        path = Path(root) / f"{docname}.ipynb"
        if not path.is_file():
            continue
        lines = [line for cell in markdown_cells(path) for line in cell.splitlines()]
        current = ""
        for i, line in enumerate(lines):
            h = HEADING.match(line)
            if h and len(h.group("hashes")) > 1:
                current = h.group("text")
            m = TARGET.match(line)
            if m:
                below = next((x for x in lines[i + 1:] if x.strip()), "")
                h = HEADING.match(below)
                found[m.group("label")] = (docname, h.group("text") if h else current)
    return found


# --- MyST -> Anki HTML -----------------------------------------------------------------------------

CITE = re.compile(r"\{cite(?::\w+)?\}`(?P<keys>[^`]+)`")
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
CJK_BREAK = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])\n(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")


def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    def math(content, options):
        if options.get("display_mode"):
            return f"<div>\\[{html.escape(content.strip())}\\]</div>"
        return f"\\({html.escape(content)}\\)"

    md = MarkdownIt("commonmark", {"html": False})
    dollarmath_plugin(md, double_inline=False, renderer=math)   # as MyST is configured
    return md


def _citations(root: Path = ROOT) -> dict[str, str]:
    """bib key -> 'He et al. 2016' (Anki has no bibliography page)."""
    from pybtex.database import parse_file

    bib = parse_file(str(Path(root) / "book" / "references.bib"))
    out = {}
    for key, entry in bib.entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(p.last_names) or str(p) for p in people]
        who = names[0] + (" et al." if len(names) > 2 else f" and {names[1]}" if len(names) == 2 else "") \
            if names else entry.fields.get("title", key)
        out[key] = f"{who} {entry.fields.get('year', '')}".strip()
    return out


class AnkiHTML:
    """Converts the cards' MyST to the HTML of Anki fields."""

    def __init__(self, cards: list[Card], root: Path = ROOT):
        self.md = _markdown()
        self.titles = {c.docname: c.title for c in cards}
        self.sections = sections(root)
        self.cites = _citations(root)

    def where(self, label: str) -> str:
        """'7. How does ResNet downsample? § The stem' for a label of the book."""
        docname, heading = self.sections[label]
        plain = re.sub(r"[`*]", "", re.sub(r"\$([^$]+)\$", r"\1", heading))
        return f"{self.titles.get(docname, docname)} § {plain}"

    def _prepare(self, text: str) -> str:
        text = CITE.sub(lambda m: "(" + "; ".join(self.cites.get(k.strip(), k.strip())
                                                  for k in m.group("keys").split(",")) + ")", text)

        def link(m):
            url = m.group("url")
            if url.startswith("#"):
                return f"{m.group('text')} (→ {self.where(url[1:])})"
            return m.group("text")
        return LINK.sub(link, text)

    def block(self, text: str) -> str:
        # a line break between two Chinese characters is no space (browsers would show one)
        return CJK_BREAK.sub("", self.md.render(self._prepare(text)).strip())

    def inline(self, text: str) -> str:
        return self.md.renderInline(self._prepare(text)).strip()

    def followups(self, card: Card) -> str:
        items = "".join(f"<li><b>{self.inline(f.question)}</b> → {self.inline(f.answer)}</li>"
                        for f in card.followups)
        return f"<ol>{items}</ol>"


# --- the Anki deck ---------------------------------------------------------------------------------

# Fixed once and never changed: Anki recognises the note types and the deck by these ids, and each
# note by its guid, so a re-imported deck updates the reader's notes (and keeps their review history).
MODEL_ID = 1_733_264_907
FORMULA_MODEL_ID = 1_733_264_908
DECK_ID = 1_733_264_909
GUID_NAMESPACE = "cnn-interview-book"
DECK_NAME = "Convolutional Networks, Executed::Mock interview"
DECK_FILE = "cnn-interview-flashcards.apkg"
FIELDS = ["Question", "问题", "Answer", "答案", "Follow-ups", "Chapter"]
FORMULA_FIELDS = ["Front", "Back", "Chapter"]

CSS = """.card { font-family: system-ui, sans-serif; font-size: 18px; text-align: left;
  color: #222; background: #fff; line-height: 1.45; max-width: 40em; margin: 0 auto; }
.zh { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
.question { font-size: 1.15em; font-weight: 600; }
.chapter { color: #666; font-size: 0.8em; margin-top: 1.5em; }
h4 { margin: 1.2em 0 0.3em; }
ol li { margin-bottom: 0.5em; }
"""
FRONT = """<div class="question">{{Question}}</div>
<div class="question zh" lang="zh-Hans">{{问题}}</div>"""
BACK = """{{FrontSide}}
<hr id="answer">
<div class="answer">{{Answer}}</div>
<div class="answer zh" lang="zh-Hans">{{答案}}</div>
<h4>Follow-ups</h4>
{{Follow-ups}}
<div class="chapter">{{Chapter}}</div>"""


def note_guid(slug: str) -> str:
    """The guid of a chapter's note: a function of the slug only, stable across builds."""
    import genanki

    return genanki.guid_for(GUID_NAMESPACE, slug)


def formula_guid(card_id: str) -> str:
    import genanki

    return genanki.guid_for(GUID_NAMESPACE, "formula", card_id)


def build_deck(cards: list[Card], formula_cards=(), path: Path | str = DECK_FILE, root: Path = ROOT) -> Path:
    """Write the Anki deck: one note per chapter card, one per formula card.

    ``formula_cards``: dicts with keys ``id`` (stable slug), ``front``, ``back`` (HTML, math in
    ``\\( \\)``) and ``chapter`` (a docname, e.g. ``book/ch23_output_size_params_flops``), as
    ``cnnlib.drill.formula_cards()`` returns them.
    """
    import genanki

    model = genanki.Model(
        MODEL_ID, "CNN interview card (EN/中文)", fields=[{"name": f} for f in FIELDS],
        templates=[{"name": "Question → answer and follow-ups", "qfmt": FRONT, "afmt": BACK}], css=CSS)
    formula_model = genanki.Model(
        FORMULA_MODEL_ID, "CNN formula card", fields=[{"name": f} for f in FORMULA_FIELDS],
        templates=[{"name": "Formula", "qfmt": "<div class=\"question\">{{Front}}</div>",
                    "afmt": "{{FrontSide}}<hr id=\"answer\">{{Back}}<div class=\"chapter\">{{Chapter}}</div>"}],
        css=CSS)
    deck = genanki.Deck(DECK_ID, DECK_NAME, description=(
        "One card per chapter of 'Convolutional Networks, Executed': the interview question, its "
        "answer in English and Chinese, and the follow-ups an interviewer asks next."))
    to_html = AnkiHTML(cards, root)
    for card in cards:
        chapter = f"{card.part} · {card.title}" if card.part else card.title
        deck.add_note(genanki.Note(model=model, guid=note_guid(card.slug), tags=["cnn-interview", card.slug],
                                   fields=[to_html.inline(card.question_en), html.escape(card.question_zh),
                                           to_html.block(card.answer_en), to_html.block(card.answer_zh),
                                           to_html.followups(card), html.escape(chapter)]))
    seen = set()
    for f in formula_cards:
        if f["id"] in seen:
            raise ValueError(f"formula card id {f['id']!r} appears twice: note guids must be unique")
        seen.add(f["id"])
        chapter = to_html.titles.get(f["chapter"], f["chapter"])
        deck.add_note(genanki.Note(model=formula_model, guid=formula_guid(f["id"]),
                                   tags=["cnn-interview", "formula"],
                                   fields=[f["front"], f["back"], html.escape(chapter)]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(str(path))
    return path


if __name__ == "__main__":   # python tools/cards.py [deck.apkg]: extract and write the deck
    import sys

    import cnnlib.drill

    found = extract()
    out = build_deck(found, cnnlib.drill.formula_cards(),
                     path=sys.argv[1] if len(sys.argv) > 1 else ROOT / "_build" / DECK_FILE)
    print(f"{len(found)} cards, {sum(len(c.followups) for c in found)} follow-ups -> {out}")
