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
