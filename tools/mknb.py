#!/usr/bin/env python3
"""Write a chapter as a percent-format .py file and convert it to a clean .ipynb (or back).

Chapters are committed as .ipynb without outputs; this is an authoring aid (see CONTRIBUTING.md).

  # %% [markdown]            -> markdown cell; its lines must start with '# ' (stripped) or be '#'
  # %%                       -> code cell
  # %% tags=["remove-cell"]  -> code cell with tags (JSON list)
  # %% alt="text"            -> code cell whose image output gets alt text (mystnb.image.alt)
Usage: python tools/mknb.py src.py book/chNN_slug.ipynb        (percent source -> notebook)
       python tools/mknb.py --to-py book/chNN_slug.ipynb src.py (notebook -> percent source)
"""
import json
import re
import sys

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<rest>.*)$")


def parse(text):
    cells, kind, meta, lines = [], None, {}, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            out = []
            for ln in body.split("\n"):
                if ln.startswith("# "):
                    out.append(ln[2:])
                elif ln.strip() == "#":
                    out.append("")
                else:
                    raise SystemExit(f"markdown line without '# ' prefix: {ln!r}")
            cells.append(nbformat.v4.new_markdown_cell("\n".join(out)))
        else:
            c = nbformat.v4.new_code_cell(body)
            c.metadata.update(meta)
            cells.append(c)

    for ln in text.split("\n"):
        m = HEADER.match(ln)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            meta, lines = {}, []
            rest = m.group("rest")
            t = re.search(r"tags=(\[.*?\])", rest)
            if t:
                meta["tags"] = json.loads(t.group(1))
            a = re.search(r'alt="(.*?)"', rest)
            if a:
                meta["mystnb"] = {"image": {"alt": a.group(1)}}
            continue
        if kind is not None:
            lines.append(ln)
    flush()
    return cells


def to_percent(nb) -> str:
    """The inverse of :func:`parse`: a notebook as percent-format text."""
    parts = []
    for c in nb.cells:
        if c.cell_type == "markdown":
            lines = ["# " + ln if ln else "#" for ln in c.source.split("\n")]
            parts.append("# %% [markdown]\n" + "\n".join(lines))
        else:
            header = "# %%"
            if c.metadata.get("tags"):
                header += " tags=" + json.dumps(c.metadata["tags"])
            alt = c.metadata.get("mystnb", {}).get("image", {}).get("alt")
            if alt:
                header += f' alt="{alt}"'
            parts.append(header + "\n" + c.source)
    return "\n\n".join(parts) + "\n"


def main():
    if sys.argv[1] == "--to-py":
        nb = nbformat.read(sys.argv[2], as_version=4)
        open(sys.argv[3], "w", encoding="utf-8").write(to_percent(nb))
        return
    src, dst = sys.argv[1], sys.argv[2]
    nb = nbformat.v4.new_notebook()
    nb.cells = parse(open(src, encoding="utf-8").read())
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    # stable, readable cell ids
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, dst)


if __name__ == "__main__":
    main()
