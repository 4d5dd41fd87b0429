"""Hygiene of the book's notebooks: committed without outputs, all listed in _toc.yml."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def toc_entries():
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^\s*-?\s*(?:file|root):\s*(\S+)", text, re.M)]


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert not cell.get("outputs"), f"{path.name}: code cell {i} has stored outputs"
        assert cell.get("execution_count") is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_toc(path):
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in toc_entries(), f"{rel} is not listed in _toc.yml"


@pytest.mark.parametrize("entry", toc_entries())
def test_toc_entry_exists(entry):
    candidates = [ROOT / (entry + ext) for ext in ("", ".ipynb", ".md")]
    assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, which does not exist"


# --- Conventions the website and the launch buttons rely on ------------------------------------

def _load_colab_cell_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab_cell = _load_colab_cell_module()
CHAPTERS = [p for p in NOTEBOOKS if p.parent == ROOT / "book"]


def code_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def test_colab_cell_uses_the_configured_repository():
    url = colab_cell.repository_url(ROOT)
    assert url.startswith("https://github.com/"), url
    assert f'"cnnlib @ git+{url}"' in colab_cell.colab_cell_source(url)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_is_the_colab_install_cell(path):
    """Identical in every chapter, generated from _config.yml's repository.url, hidden on the site."""
    cells = code_cells(path)
    assert cells, f"{path.name} has no code cell"
    first = cells[0]
    expected = colab_cell.colab_cell_source(colab_cell.repository_url(ROOT))
    assert source(first) == expected, (
        f"{path.name}: the first code cell is not the Colab install cell generated from "
        f"_config.yml (run `make colab-cell`). Expected:\n{expected}\nGot:\n{source(first)}")
    assert tags(first) == set(colab_cell.TAGS), f"{path.name}: the Colab cell must be tagged remove-cell"


def test_all_chapters_carry_the_same_colab_cell():
    firsts = {source(code_cells(p)[0]) for p in CHAPTERS if code_cells(p)}
    assert len(firsts) <= 1, f"the chapters' first code cells differ: {firsts}"


def test_only_the_first_cell_mentions_colab():
    for path in CHAPTERS:
        for i, cell in enumerate(code_cells(path)[1:], start=1):
            assert "google.colab" not in source(cell), f"{path.name}: code cell {i} installs for Colab again"


# A cell that makes a matplotlib figure (or a static rendering of a widget) and shows it.
FIGURE_CALL = re.compile(r"\b(plt\.subplots|plt\.figure|plt\.show|case_grid|animation_html)\s*\(")
WIDGET_CALL = re.compile(r"\b(widgets\.demo|ipywidgets\.interact\w*|interact(ive)?)\s*\(")
# widgets.demo(draw, ..., **KNOBS) / viz.explorable(draw, ..., **KNOBS): the shared declaration
DEMO_KNOBS = re.compile(r"\bwidgets\.demo\s*\(.*?\*\*(\w+)", re.S)
EXPLORABLE_KNOBS = re.compile(r"\bviz\.explorable\s*\(.*?\*\*(\w+)", re.S)


def figure_cells(path):
    hidden = {"remove-output", "remove-cell"}
    return [(i, c) for i, c in enumerate(code_cells(path))
            if FIGURE_CALL.search(source(c)) and not (tags(c) & hidden)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figures_have_alt_text(path):
    """Every figure on the site has alt text (cell metadata mystnb.image.alt, mknb's alt="...")."""
    figures = figure_cells(path)
    assert figures, f"{path.name} has no figure"
    for i, cell in figures:
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt.strip()) >= 10, f"{path.name}: figure cell {i} has no alt text (mystnb.image.alt)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_knob_demo_is_explorable_on_the_site(path):
    """A live widget is dead on the static site: its output is removed, and the next code cell shows
    the same knobs as an explorable figure (viz.explorable with the same **KNOBS declaration)."""
    cells = code_cells(path)
    for i, cell in enumerate(cells):
        if not WIDGET_CALL.search(source(cell)):
            continue
        assert tags(cell) & {"remove-output", "remove-cell"}, (
            f"{path.name}: widget cell {i} must be tagged remove-output (no dead slider on the site)")
        demo = DEMO_KNOBS.search(source(cell))
        assert demo, (f"{path.name}: widget cell {i} must call widgets.demo(draw, ..., **KNOBS) with "
                      "one knob declaration shared with viz.explorable")
        nxt = source(cells[i + 1]) if i + 1 < len(cells) else ""
        ex = EXPLORABLE_KNOBS.search(nxt)
        assert ex and ex.group(1) == demo.group(1), (
            f"{path.name}: widget cell {i} must be followed by viz.explorable(draw, ..., "
            f"**{demo.group(1)}) in the next code cell (the same knobs, explorable on the website)")
        assert not tags(cells[i + 1]) & {"remove-output", "remove-cell"}, \
            f"{path.name}: the explorable after widget cell {i} is hidden on the site"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_control_characters(path):
    """A stray form feed or backspace (e.g. '\\frac' written in a non-raw string) breaks the math."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        bad = re.search(r"[\x00-\x08\x0b-\x1f]", source(cell))
        assert bad is None, f"{path.name}: cell {i} contains control character {bad.group()!r}"
