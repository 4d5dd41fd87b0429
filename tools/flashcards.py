"""Sphinx extension: the mock-interview flashcards page and its Anki deck (loaded from _config.yml).

``{cnn-flashcards}`` expands, at build time, into one card per page of the book proper, extracted by
``tools/cards.py`` from the chapters' own title, Interview answer and Follow-ups (so the cards
cannot drift from the chapters). Each part's MyST is parsed with the directive's state, so math,
bold, tabs and citations render as they do in the chapter; links are rewritten to work from the
flashcards page: a chapter path ``chNN_x.ipynb`` becomes ``../chNN_x.ipynb`` and a proof
``[Proof](#label)`` a ``{ref}`` to the chapter's label, so the strict build (-n -W) checks every one.
The page depends on every chapter notebook (``env.note_dependency``).

The HTML is complete without JavaScript (all cards in order, everything shown; the same in print).
``book/_static/flashcards.js`` and ``flashcards.css``, added to that page only, turn it into a
one-card-at-a-time drill: reveal the answer, then the follow-ups one by one, next / previous /
shuffle, a counter and a timer, with the keyboard.

On ``build-finished`` the extension writes the Anki deck (``tools/cards.build_deck``) next to the
page, where its "Download the Anki deck" link points.
"""
from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cards as cardlib  # noqa: E402  (tools/ is not a package)

logger = logging.getLogger(__name__)

# The MathJax fonts the cards' math uses (the ones a fully shown page loads), preloaded.
MATHJAX_FONT_DIR = "output/chtml/fonts/woff-v2"
MATHJAX_FONTS = ("Zero", "Main-Regular", "Math-Italic", "Size1-Regular", "Size2-Regular", "AMS-Regular")
DECK_DOCDIR = "book/back"       # the deck is written next to book/back/flashcards.html
CHAPTER_LINK = re.compile(r"\]\((?!#|[a-z][a-z0-9+.-]*:|/)(?P<path>[^)\s]+\.(?:ipynb|md))(?P<anchor>#[\w-]+)?\)")
PROOF_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\(#(?P<label>[\w-]+)\)")


def _rewrite(text: str, docname: str, chapter: str) -> str:
    """MyST of a chapter, made to work from `docname`: relative chapter links re-based, proof links
    made {ref} cross-references (checked by the strict build)."""
    here = posixpath.dirname(docname)
    there = posixpath.dirname(chapter)

    def rebase(m):
        target = posixpath.relpath(posixpath.join(there, m.group("path")), here)
        return f"]({target}{m.group('anchor') or ''})"

    text = CHAPTER_LINK.sub(rebase, text)
    return PROOF_LINK.sub(lambda m: f"{{ref}}`{m.group('text')} <{m.group('label')}>`", text)


class FlashcardsDirective(SphinxDirective):
    """``{cnn-flashcards}``: every chapter's question, interview answer and follow-ups as cards."""

    has_content = False
    option_spec = {}

    def parse(self, text: str, node: nodes.Element) -> nodes.Element:
        self.state.nested_parse(StringList(text.splitlines(), source=self.env.docname), self.content_offset, node)
        return node

    def box(self, classes, text=None, lang=None, **attrs) -> nodes.container:
        # docutils writes a class "language-xx" as the attribute lang="xx"
        node = nodes.container(classes=classes + ([f"language-{lang}"] if lang else []), **attrs)
        if text is not None:
            self.parse(text, node)
        return node

    def run(self):
        root = Path(self.env.srcdir)
        try:
            cards = cardlib.extract(root)
        except cardlib.CardError as err:
            raise self.error(f"cnn-flashcards: {err}") from err
        self.env.note_dependency(str(root / "_toc.yml"))
        docname = self.env.docname
        deck_href = posixpath.relpath(posixpath.join(DECK_DOCDIR, cardlib.DECK_FILE), posixpath.dirname(docname))

        download = nodes.paragraph(classes=["fc-download"])
        download += nodes.reference("", "Download the Anki deck", refuri=deck_href, classes=["fc-deck-link"])
        formulas = drill_formula_cards()
        download += nodes.Text(f": {len(cards)} notes, one per card below"
                               + (f", and the drill's {len(formulas)} formula cards" if formulas else "")
                               + f" ({cardlib.DECK_FILE})")

        deck = nodes.container(classes=["fc-deck"], ids=["fc-deck"])
        deck += self.font_preloads(docname)
        for card in cards:
            self.env.note_dependency(str(root / f"{card.docname}.ipynb"))
            deck += self.card(card, docname)
        return [download, deck]

    def font_preloads(self, docname: str) -> nodes.raw:
        """<link rel=preload> for MathJax's common fonts. MathJax asks for its fonts only after it
        has typeset the page, and hidden cards' math needs none, so with most math hidden the font
        loads came late or hung (MathJax's own promise waited ~20 s; a headless browser's "network
        idle" timed out). Loaded up front, they are in the cache when the math is shown."""
        fonts = posixpath.join("_static", posixpath.dirname(self.config.mathjax_path), MATHJAX_FONT_DIR)
        base = posixpath.relpath(fonts, posixpath.dirname(docname))
        links = "".join(f'<link rel="preload" as="font" type="font/woff" crossorigin="anonymous" '
                        f'href="{base}/MathJax_{name}.woff">' for name in MATHJAX_FONTS)
        return nodes.raw("", links, format="html")

    def card(self, card: cardlib.Card, docname: str) -> nodes.container:
        rw = lambda text: _rewrite(text, docname, card.docname)  # noqa: E731
        chapter_doc = "/" + card.docname
        box = nodes.container(classes=["fc-card"], ids=[f"card-{card.slug}"])
        kicker = card.part + (f" · question {card.number}" if card.number else "")
        box += self.box(["fc-kicker"], kicker)

        question = self.box(["fc-question"])
        question += self.box(["fc-q-en"], f"**{rw(card.question_en)}**")
        question += self.box(["fc-q-zh"], card.question_zh, lang="zh-Hans")
        box += question

        answer = self.box(["fc-answer"])
        answer += self.box(["fc-label"], "Interview answer")
        answer += self.box(["fc-answer-tabs"], "\n".join([
            "::::{tab-set}",
            ":::{tab-item} English", ":sync: en", "", rw(card.answer_en), ":::",
            ":::{tab-item} 中文", ":sync: zh", "", rw(card.answer_zh), ":::",
            "::::"]))
        box += answer

        followups = self.box(["fc-followups"])
        followups += self.box(["fc-label"], f"Follow-ups ({len(card.followups)})")
        items = nodes.enumerated_list(classes=["fc-fu-list"], enumtype="arabic", prefix="", suffix=".")
        for f in card.followups:
            item = nodes.list_item(classes=["fc-fu"])
            item += self.box(["fc-fu-q"], f"**{rw(f.question)}**")
            item += self.box(["fc-fu-a"], rw(f.answer))
            items += item
        followups += items
        box += followups
        box += self.box(["fc-source"], f"From {{doc}}`{card.title} <{chapter_doc}>`")
        return box


def page_assets(app, pagename, templatename, context, doctree):
    """Scripts and styles on the flashcards page only."""
    if doctree is not None and any("fc-deck" in n["classes"] for n in doctree.findall(nodes.container)):
        app.add_css_file("flashcards.css")
        app.add_js_file("flashcards.js", defer="defer")


def drill_formula_cards() -> list[dict]:
    """The drill's formula cards for the Anki deck (dicts: id, front, back, chapter), from
    ``cnnlib.drill`` (the interview drill's page, book/back/drill). The page's download line and
    the deck both use this function."""
    import cnnlib.drill

    return cnnlib.drill.formula_cards()


def write_deck(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    root = Path(app.srcdir)
    cards = cardlib.extract(root)
    formula_cards = drill_formula_cards()
    out = Path(app.outdir) / DECK_DOCDIR / cardlib.DECK_FILE
    cardlib.build_deck(cards, formula_cards, out, root)
    logger.info(f"flashcards: Anki deck of {len(cards)} chapter notes, {len(formula_cards)} formula "
                f"notes -> {out.relative_to(app.outdir)}")


def setup(app):
    app.add_directive("cnn-flashcards", FlashcardsDirective)
    app.connect("html-page-context", page_assets)
    app.connect("build-finished", write_deck)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
