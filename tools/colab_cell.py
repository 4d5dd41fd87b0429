"""The Colab install cell that opens every chapter, generated from ``_config.yml``.

In Colab, ``cnnlib`` is not installed, so each chapter's first code cell installs it from the
repository — and only there (it does nothing in Binder, Jupyter or the site build) — and is hidden
on the website (tag ``remove-cell``). The repository URL lives in one place, ``repository.url`` in
``_config.yml``; this module derives the cell from it, ``tests/test_notebooks.py`` checks that every
chapter carries exactly this cell, and ``make colab-cell`` (``--fix``) rewrites the cell in every
chapter after the URL changes.

Usage: python tools/colab_cell.py           # print the canonical cell
       python tools/colab_cell.py --fix     # rewrite the first code cell of every chapter
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAGS = ["remove-cell"]


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` from the book's ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def colab_cell_source(url: str | None = None) -> str:
    """Source of the canonical first code cell for the repository at ``url``."""
    url = repository_url() if url is None else url
    return (
        "# Colab only: install cnnlib, the library this book is built on (does nothing elsewhere).\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "cnnlib @ git+{url}"'
    )


def chapters(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks under ``book/``."""
    return sorted(p for p in (root / "book").glob("*.ipynb"))


def fix(root: Path = ROOT) -> int:
    """Make the first code cell of every chapter the canonical cell; returns how many changed."""
    import nbformat

    source, changed = colab_cell_source(repository_url(root)), 0
    for path in chapters(root):
        nb = nbformat.read(path, as_version=4)
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first is not None and first.source == source and first.metadata.get("tags") == TAGS:
            continue
        if first is not None and "google.colab" in first.source:
            first.source = source
            first.metadata["tags"] = TAGS
        else:  # no Colab cell yet: insert one before the first code cell
            cell = nbformat.v4.new_code_cell(source, metadata={"tags": TAGS})
            cell["id"] = "colab-install"
            index = nb.cells.index(first) if first is not None else len(nb.cells)
            nb.cells.insert(index, cell)
        nbformat.write(nb, path)
        changed += 1
        print(f"updated {path.relative_to(root)}")
    return changed


if __name__ == "__main__":
    if sys.argv[1:] == ["--fix"]:
        fix()
    elif not sys.argv[1:]:
        print(colab_cell_source())
    else:
        sys.exit(__doc__)
