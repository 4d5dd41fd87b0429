"""nbval and the site build share one execution of each notebook.

`make test` runs every notebook under nbval, then builds the site, which executes every notebook
again (Jupyter Book's `execute_notebooks: cache`): 54 notebooks took 413 s of serial execution in
the build after nbval had already run them. This plugin stores each notebook that nbval ran
without a failure in the build's execution cache (`execute.cache` in `_config.yml`), the way the
build stores what it executes itself: the same cell outputs, keyed by the hash of the notebook's
code cells and their metadata, so a changed notebook never matches. The build then uses these
outputs instead of executing again.

Only whole runs are stored: a notebook with a failed or skipped cell is not, and the build executes
it (and fails on it) as before. Both runs start the kernel in the notebook's folder with the same
environment (`make test-book` unsets MPLBACKEND as the build does, so figures are the inline
backend's PNGs). The two pytest-xdist workers write to the cache's SQLite database one at a time.
"""
from __future__ import annotations

import copy
import fcntl
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _cache_dir() -> Path:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return ROOT / config["execute"]["cache"]


class _Run:
    """The outputs nbval collected for one notebook, cell by cell."""

    def __init__(self, nb):
        self.nb = nb
        self.n_code = sum(c.cell_type == "code" for c in nb.cells)
        self.outputs = {}          # id(cell) -> outputs
        self.complete = True
        self.start = time.perf_counter()   # at the end of the first cell: the runtime is approximate


_runs: dict[str, _Run] = {}


def _store(path: str, run: _Run) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from ipykernel.ipkernel import IPythonKernel

    nb = copy.deepcopy(run.nb)
    # What the kernel reports and the build records: its pygments lexer (ipython3) styles the code.
    # --nbval-current-env runs the kernel in this interpreter, so the class attribute is its answer.
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    outputs = [run.outputs[id(c)] for c in run.nb.cells if c.cell_type == "code"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    for count, (cell, outs) in enumerate(zip(code, outputs), start=1):
        cell.outputs, cell.execution_count = outs, count
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / ".jupyter_cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        get_cache(str(cache)).cache_notebook_bundle(
            CacheBundleIn(nb, path, data={"execution_seconds": time.perf_counter() - run.start}),
            check_validity=True, overwrite=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cell, parent = getattr(item, "cell", None), getattr(item, "parent", None)
    if cell is None or getattr(parent, "nb", None) is None or report.when != "call":
        return
    path = str(parent.fspath)
    run = _runs.setdefault(path, _Run(parent.nb))
    if report.passed and item.test_outputs is not None:
        run.outputs[id(cell)] = item.test_outputs
    else:
        run.complete = False
    if len(run.outputs) == run.n_code and run.complete:
        _store(path, run)
        del _runs[path]
