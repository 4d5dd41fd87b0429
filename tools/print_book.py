#!/usr/bin/env python3
"""The whole book as one PDF: the built website printed page by page and merged (``make pdf``).

  .venv/bin/python tools/print_book.py                   # _build/html -> _build/pdf/<name>.pdf
  .venv/bin/python tools/print_book.py --pages book/intro book/ch23_output_size_params_flops

Serves ``_build/html`` (built first by ``make site``/``make pdf``) on 127.0.0.1, opens every page
of ``_toc.yml`` in order (the root, then each part's chapters) in Debian's Chromium through
Playwright (``CHROMIUM``, default ``/usr/bin/chromium``; headless; every request to another host
is blocked), waits for MathJax and the images, and prints it to A4 with the site's print
stylesheet (``book/_static/print.css``: no sidebars or buttons, code wrapped, both interview-answer
tabs, answers open, explorable figures at their default frame). Before printing, each page is
checked under print media at the printed column's width: a ``pre``, displayed formula or table
wider than its column is reported (displayed formulas are first shrunk to fit; one that would
need to shrink below ``MIN_MATH_ZOOM`` is reported instead). Page numbers of the whole book are
stamped in the footer next to the chapter's title.

The pages are merged with pypdf into ``_build/pdf/<name>.pdf`` (``<name>``: the repository's name
in ``_config.yml``), with one bookmark per part (the ``_toc.yml`` caption) and one child per
chapter (its title), each at the chapter's first page; links between chapters go to the
chapter's first page of the PDF. The PDF is also copied to ``_build/html/`` so that a deployed
site serves it next to ``index.html``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "pdf"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# A4 and the margins of book/_static/print.css (@page): the printed column is what is left.
MM = 96 / 25.4                      # CSS px per millimetre
PAGE_MM = (210, 297)
MARGIN_MM = dict(top=14, right=13, bottom=16, left=13)
COLUMN_PX = round((PAGE_MM[0] - MARGIN_MM["left"] - MARGIN_MM["right"]) * MM)
MIN_MATH_ZOOM = 0.6                 # displayed formulas shrink to fit, down to 60 % of their size


# --- the book's pages ----------------------------------------------------------------------------

@dataclass
class Part:
    caption: str | None              # None for the root page (before any part)
    files: list = field(default_factory=list)


# Pages of the site left out of the book's PDF, and why.
NOT_PRINTED = {
    "book/back/flashcards": "its cards are the chapters' interview answers and follow-ups, which "
                            "the PDF prints with each chapter (in print it would repeat them all)",
}


def toc_parts(root: Path = ROOT) -> list[Part]:
    """_toc.yml in order: the root page (a part without caption), then every part's chapters,
    without the pages of NOT_PRINTED."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    parts = [Part(None, [toc["root"]])]
    for part in toc.get("parts", []):
        files = [c["file"] for c in part.get("chapters", []) if c["file"] not in NOT_PRINTED]
        parts.append(Part(part.get("caption"), files))
    return parts


def book_meta(root: Path = ROOT) -> dict:
    """Title, author and the PDF's file name (the repository's name) from _config.yml."""
    cfg = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = (cfg.get("repository") or {}).get("url", "")
    name = urlparse(url).path.rstrip("/").split("/")[-1] if url else ""
    if not name:
        name = re.sub(r"[^a-z0-9]+", "-", cfg["title"].lower()).strip("-")
    return {"title": cfg["title"], "author": cfg.get("author", ""), "name": f"{name}.pdf"}


# --- serving and the browser ---------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Server:
    """``html`` served on 127.0.0.1 (a free port) in a thread; ``with Server(html) as base:``."""

    def __init__(self, html: Path):
        handler = functools.partial(_Quiet, directory=str(html))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def launch(playwright):
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"error: Chromium not found at {CHROMIUM} (apt-get install -y chromium, "
                 "or CHROMIUM=/path/to/chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def _local_only(route):
    if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


# --- one page ------------------------------------------------------------------------------------

# Run in the page under print media at the column's width: shrink displayed formulas wider than
# their column (CSS zoom, down to MIN_MATH_ZOOM) and list what still overflows.
_CHECK = """([minZoom]) => {
  const article = document.querySelector('article.bd-article') || document.body;
  const col = article.getBoundingClientRect();
  const out = [], fitted = [];
  const label = (el) => {
    const t = (el.getAttribute('aria-label') || el.textContent || '').replace(/\\s+/g, ' ').trim();
    return t.slice(0, 70);
  };
  const wide = (el) => {   // inline elements have no clientWidth: only their box counts
    const r = el.getBoundingClientRect();
    const inline = el.tagName.toLowerCase() === 'mjx-container';   // its glyphs overhang a little
    const inner = el.clientWidth && !inline ? el.scrollWidth - el.clientWidth : 0;
    return Math.max(inner, r.right - col.right, col.left - r.left);
  };
  for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
    if (m.closest('details:not([open])')) continue;
    const box = m.closest('div.math') || m.parentElement;
    const need = m.scrollWidth, have = Math.min(box.clientWidth, col.width);
    if (need > have + 1) {
      const z = Math.max(minZoom, Math.floor(have / need * 100) / 100);
      m.style.zoom = z;
      if (need * z > have + 1) out.push({kind: 'math', px: Math.round(need * z - have), text: label(m)});
      else fitted.push(Math.round(z * 100));
    }
  }
  const seen = new Set();
  for (const el of article.querySelectorAll('pre, table, mjx-container:not([display="true"])')) {
    if (!el.offsetParent || el.closest('details:not([open])')) continue;
    const over = wide(el);
    if (over > 1) {
      const kind = el.tagName.toLowerCase() === 'mjx-container' ? 'inline math' : el.tagName.toLowerCase();
      const key = kind + label(el);
      if (!seen.has(key)) { seen.add(key); out.push({kind, px: Math.round(over), text: label(el)}); }
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1)
    out.push({kind: 'page', px: doc.scrollWidth - doc.clientWidth, text: 'the page is wider than the column'});
  return {overflow: out, fitted};
}"""

_TITLE = """() => {
  const h = document.querySelector('#jb-print-docs-body h1') || document.querySelector('article h1');
  return h ? h.textContent.replace(/#$/, '').replace(/\\s+/g, ' ').trim() : document.title;
}"""

# Wait for every image (explorable frames are data: URLs set by a script) to be decoded.
_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  await Promise.all(imgs.map(i => i.decode ? i.decode().catch(() => null) : null));
  return imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src').slice(0, 60));
}"""


def _footer(title: str) -> str:
    """Chromium's footer template: the chapter's title (the page number is stamped at merge)."""
    import html
    return ('<div style="width:100%;font-size:7.5pt;color:#555;padding:0 13mm;'
            'font-family:sans-serif;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;'
            f'box-sizing:border-box;padding-right:28mm">{html.escape(title)}</div>')


@dataclass
class Printed:
    name: str
    title: str
    path: Path
    pages: int
    seconds: float
    overflow: list
    fitted: list
    broken_images: list


def print_page(browser, base: str, name: str, out_dir: Path) -> Printed:
    """Print ``<name>.html`` to ``out_dir/<n>.pdf``; return what happened."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from pypdf import PdfReader

    t0 = time.time()
    context = browser.new_context(viewport={"width": COLUMN_PX, "height": 1000},
                                  service_workers="block")
    context.route("**/*", _local_only)
    try:
        page = context.new_page()
        page.goto(f"{base}/{name}.html", wait_until="load", timeout=60000)
        try:   # fonts and images requested late; a busy machine may never look idle for 500 ms
            page.wait_for_load_state("networkidle", timeout=15000)
        except PlaywrightTimeout:
            pass
        if page.locator("article .math").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=30000)
            page.evaluate("() => MathJax.startup.promise")
        broken = page.evaluate(_IMAGES)
        # on paper, collapsed details (the other rows of a long table, dropdowns) are shown open;
        # hidden-input cells (details.hide: bookkeeping code) stay closed
        page.evaluate("() => document.querySelectorAll('article details:not(.hide)')"
                      ".forEach(d => { d.open = true; })")
        page.emulate_media(media="print")
        page.evaluate("() => document.fonts.ready")
        title = page.evaluate(_TITLE)
        check = page.evaluate(_CHECK, [MIN_MATH_ZOOM])
        out = out_dir / f"{name.replace('/', '__')}.pdf"
        page.pdf(path=str(out), format="A4", print_background=True, prefer_css_page_size=True,
                 display_header_footer=True, header_template="<span></span>",
                 footer_template=_footer(title),
                 margin={k: f"{v}mm" for k, v in MARGIN_MM.items()})
    finally:
        context.close()
    pages = len(PdfReader(str(out)).pages)
    return Printed(name, title, out, pages, time.time() - t0, check["overflow"], check["fitted"],
                   broken)


# --- merging -------------------------------------------------------------------------------------

def _stamp(writer, page, number: int, font):
    """Write the book's page number at the bottom right of ``page`` (Helvetica, 7.5 pt)."""
    from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, NameObject)

    w = float(page.mediabox.width)
    text = str(number)
    x = w - MARGIN_MM["right"] * 72 / 25.4 - 4.2 * len(text)
    y = (MARGIN_MM["bottom"] * 72 / 25.4) / 2 - 6.5     # on the baseline of Chromium's footer
    stream = DecodedStreamObject()
    stream.set_data(f"q BT /BookPgNo 7.5 Tf 0.33 0.33 0.33 rg {x:.2f} {y:.2f} Td ({text}) Tj ET Q"
                    .encode("ascii"))
    res = page.get("/Resources")
    res = res.get_object() if res is not None else DictionaryObject()
    fonts = res.get("/Font")
    fonts = fonts.get_object() if fonts is not None else DictionaryObject()
    if "/BookPgNo" not in fonts:
        fonts[NameObject("/BookPgNo")] = font
        res[NameObject("/Font")] = fonts
        page[NameObject("/Resources")] = res
    contents = page.get("/Contents")
    arr = ArrayObject()
    if contents is not None:
        c = contents.get_object()
        if isinstance(c, ArrayObject):
            arr.extend(c)
        else:
            arr.append(contents)
    # the page's own stream may leave the graphics state changed: wrap it in q ... Q
    pre = DecodedStreamObject()
    pre.set_data(b"q")
    post = DecodedStreamObject()
    post.set_data(b"Q")
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(pre), *arr,
                                                 writer._add_object(post), writer._add_object(stream)])


def merge(printed: list[Printed], parts: list[Part], out: Path, meta: dict) -> dict:
    """Merge the printed pages in order into ``out`` with one bookmark per part and one child per
    chapter, the book's page numbers in the footers, links between chapters made internal, and
    the document's metadata; return {name: first page index}."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, DictionaryObject, FloatObject, NameObject,
                               NullObject, NumberObject)

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    first, by_name = {}, {p.name: p for p in printed}
    owner = []        # printed page of each page of the book
    anchors = {}      # printed page name -> {named destination: (book page index, top)}
    for p in printed:
        first[p.name] = len(writer.pages)
        reader = PdfReader(str(p.path))
        index = {pg.indirect_reference.idnum: i for i, pg in enumerate(reader.pages)}
        anchors[p.name] = {}
        for dname, d in reader.named_destinations.items():
            ref = d.page
            i = ref if isinstance(ref, int) else index.get(getattr(ref, "idnum", None))
            if i is not None:
                anchors[p.name][str(dname)] = (first[p.name] + i, d.top)
        for page in reader.pages:
            writer.add_page(page)
            owner.append(p.name)
    for i, page in enumerate(writer.pages):
        _stamp(writer, page, i + 1, font)

    def goto(index, top=None):
        return ArrayObject([writer.pages[index].indirect_reference, NameObject("/XYZ"), NullObject(),
                            NullObject() if top is None else FloatObject(top), NumberObject(0)])

    # Links. Chromium writes a link within the page as a named destination (names repeat from
    # chapter to chapter, and the merge drops them): each becomes an explicit destination. A link
    # to another printed page of the local site goes to that page's first page; other local links
    # (the index, sources) are dropped; links to other hosts are kept.
    chapter_of = {p.name + ".html": p.name for p in printed}
    for n, page in enumerate(writer.pages):
        annots = page.get("/Annots")
        if annots is None:
            continue
        keep = ArrayObject()
        for ref in annots.get_object():
            a = ref.get_object()
            if "/Dest" in a and not isinstance(a["/Dest"], ArrayObject):
                target = anchors[owner[n]].get(str(a["/Dest"]))
                if target is not None:
                    a[NameObject("/Dest")] = goto(*target)
                    keep.append(ref)
                continue
            action = a.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is None:
                keep.append(ref)
                continue
            u = urlparse(str(uri))
            if u.hostname not in ("127.0.0.1", "localhost"):
                keep.append(ref)
                continue
            target = chapter_of.get(u.path.lstrip("/"))
            if target is None:
                continue
            a[NameObject("/A")] = DictionaryObject({NameObject("/S"): NameObject("/GoTo"),
                                                    NameObject("/D"): goto(first[target])})
            keep.append(ref)
        page[NameObject("/Annots")] = keep

    for part in parts:
        names = [f for f in part.files if f in by_name]
        if not names:
            continue
        if part.caption is None:
            for f in names:
                writer.add_outline_item(title=by_name[f].title, page_number=first[f])
            continue
        parent = writer.add_outline_item(title=part.caption, page_number=first[names[0]])
        for f in names:
            writer.add_outline_item(title=by_name[f].title, page_number=first[f], parent=parent)
    writer.add_metadata({"/Title": meta["title"], "/Author": meta["author"],
                         "/Subject": "An executable textbook on convolutional networks",
                         "/Creator": "tools/print_book.py (Chromium + pypdf)"})
    writer.page_mode = "/UseOutlines"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)
    return first


# --- the book ------------------------------------------------------------------------------------

def print_book(html: Path = HTML, out: Path | None = None, pages: list[str] | None = None,
               copy_to_site: bool = True, log=print, browser=None):
    """Print ``pages`` (default: every page of _toc.yml, in order) and merge them into ``out``.
    ``browser``: a Playwright Chromium already running in this process (the browser tests' own:
    a second sync Playwright cannot start inside the first); by default one is launched.
    Returns ``(out, printed, first)``: the PDF, a Printed per page, {name: first page index}."""
    import contextlib

    from playwright.sync_api import sync_playwright

    meta = book_meta()
    parts = toc_parts()
    order = [f for part in parts for f in part.files]
    if pages:
        unknown = [p for p in pages if p not in order]
        if unknown:
            raise SystemExit(f"not in _toc.yml: {unknown}")
        order = [f for f in order if f in pages]
    missing = [f for f in order if not (html / f"{f}.html").is_file()]
    if missing:
        raise SystemExit(f"not built in {html}: {missing} (run `make site` first)")
    if not pages:
        for name, why in NOT_PRINTED.items():
            log(f"not printed: {name} ({why})")
    out = out or OUT / meta["name"]
    tmp = out.parent / "pages"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    printed = []
    t0 = time.time()
    with Server(html) as base, contextlib.ExitStack() as stack:
        own = browser is None
        if own:
            browser = launch(stack.enter_context(sync_playwright()))
        try:
            for i, name in enumerate(order, 1):
                try:
                    p = print_page(browser, base, name, tmp)
                except Exception as e:   # a timeout on a busy machine: one more try
                    log(f"[{i:2d}/{len(order)}] {name}: {type(e).__name__}: "
                        f"{str(e).splitlines()[0]}; printing it again")
                    p = print_page(browser, base, name, tmp)
                printed.append(p)
                note = f"  {len(p.overflow)} overflow" if p.overflow else ""
                note += f"  {len(p.fitted)} formulas shrunk" if p.fitted else ""
                log(f"[{i:2d}/{len(order)}] {name:45s} {p.pages:3d} pages {p.seconds:5.1f} s{note}")
        finally:
            if own:
                browser.close()
    first = merge(printed, parts, out, meta)
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(p.pages for p in printed)
    log(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(printed)} chapters, "
        f"{total} pages, {out.stat().st_size / 1e6:.1f} MB, {time.time() - t0:.0f} s")
    report = [(p.name, o) for p in printed for o in p.overflow]
    broken = [(p.name, b) for p in printed for b in p.broken_images]
    fitted = [(p.name, z) for p in printed for z in p.fitted]
    if fitted:
        log(f"displayed formulas shrunk to fit the column: {len(fitted)} "
            f"(smallest {min(z for _, z in fitted)} %)")
    if report:
        log(f"overflow: {len(report)} elements wider than the printed column:")
        for name, o in report:
            log(f"  {name}: {o['kind']} {o['px']} px too wide: {o['text']!r}")
    else:
        log("overflow: none (no pre, formula or table wider than the printed column)")
    for name, b in broken:
        log(f"  {name}: image not loaded: {b}")
    if copy_to_site and html.is_dir():
        shutil.copy2(out, html / out.name)
        log(f"copied to {(html / out.name).relative_to(ROOT) if html.is_relative_to(ROOT) else html / out.name}"
            f" (served at /{out.name})")
    return out, printed, first


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=HTML, help="the built site (default _build/html)")
    ap.add_argument("--out", type=Path, help="the PDF (default _build/pdf/<repository name>.pdf)")
    ap.add_argument("--pages", nargs="*", help="only these pages of _toc.yml (e.g. book/intro)")
    ap.add_argument("--no-copy", action="store_true", help="do not copy the PDF into the site")
    a = ap.parse_args(argv)
    print_book(a.html, a.out, a.pages, copy_to_site=not a.no_copy)


if __name__ == "__main__":
    main()
