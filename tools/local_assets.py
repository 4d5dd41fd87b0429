"""Sphinx extension: pages load no third-party assets (loaded from ``_config.yml``).

The site must work offline and where public CDNs are blocked. The assets themselves (MathJax,
RequireJS, the ipywidgets HTML manager, Font Awesome 4 for animation buttons) are fetched from the
npm registry at build time by ``tools/fetch_web_assets.sh`` into ``.web-assets/``, which
``_config.yml`` serves as static files. This extension fixes what configuration cannot reach:

- matplotlib's ``to_jshtml`` animations (``cnnlib.viz.animation_html``) link Font Awesome 4 from a
  CDN for their play/pause buttons: the link is pointed at the local copy;
- sphinx-thebe always writes thebe's CDN address into every page although the book does not use
  thebe (``launch_buttons.thebe: false``): its loader and configuration are dropped;
- myst-nb adds the widget manager (RequireJS + ``embed-amd.js``, ~4 MB) to every page whose notebook
  stored widget state, even when every widget output is removed (``remove-output``, the book's
  convention: the static rendering follows the widget); it is kept only on pages that display a
  widget, so phones on slow networks do not download it for nothing;
- a JS/HTML animation is an ``<img>`` without alt text: it gets the alt text of its cell
  (``mystnb.image.alt``, the same metadata static figures use).

``tests/browser/test_site.py`` checks the result on the built HTML and in a browser.
"""
from __future__ import annotations

import html

from docutils import nodes

FONT_AWESOME_CDN = "https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css"
FONT_AWESOME_LOCAL = "_static/font-awesome/css/font-awesome.min.css"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _filename(js) -> str:
    return str(getattr(js, "filename", js) or "")


def _attributes(js) -> dict:
    return getattr(js, "attributes", {}) or {}


def localise_page(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if FONT_AWESOME_CDN in body:
        body = body.replace(FONT_AWESOME_CDN, context["pathto"](FONT_AWESOME_LOCAL, 1))
        context["body"] = body

    widget_files = {f"_static/{path}" for path in app.config.nb_ipywidgets_js} | set(app.config.nb_ipywidgets_js)
    shows_widgets = WIDGET_VIEW in body
    kept = []
    for js in context.get("script_files", []):
        name, attrs = _filename(js), _attributes(js)
        if name.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in attrs.get("body", ""):
            continue
        if not shows_widgets and (name in widget_files or attrs.get("type") == WIDGET_STATE):
            continue
        kept.append(js)
    context["script_files"] = kept


def animation_alt_text(app, doctree, docname):
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        alt = ((cell.get("cell_metadata") or {}).get("mystnb") or {}).get("image", {}).get("alt")
        if not alt:
            continue
        for raw in list(cell.findall(nodes.raw)):
            text = raw.astext()
            if '<img id="_anim_img' in text:
                text = text.replace('<img id="_anim_img', f'<img alt="{html.escape(alt)}" id="_anim_img')
                raw.replace_self(nodes.raw(text, text, format=raw.get("format", "html")))


def setup(app):
    app.connect("doctree-resolved", animation_alt_text)
    # after myst-nb has added its per-page scripts (default priority 500)
    app.connect("html-page-context", localise_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
