#!/usr/bin/env python3
"""Run one chapter as a reader's first run would, and report what a phone reader and the 30-s
budget care about. An authoring aid (see CONTRIBUTING.md); the browser test checks the built site.

  .venv/bin/python tools/check_chapter.py book/ch21_separable_cost.ipynb [--warm] [--save OUT.ipynb]

It executes the notebook in a fresh kernel (cwd book/), by default with an empty numba cache
(``NUMBA_CACHE_DIR`` set to a new temporary folder), so the time printed includes numba compiling
every kernel the chapter uses, as on a fresh install or a reader's first Colab run. ``--warm``
uses the normal cache instead. It then reports:

- the total time and the five slowest cells (budget: 30 s on 2 cores, first run included);
- printed lines over 80 characters (stream output and plain-text results), with the cell index;
- HTML tables with more than 6 columns, or more than 12 rows on the page (``viz.table`` folds
  the rest into a dropdown), and markdown tables with more than 6 columns;
- visible (not hidden) code cells over 30 lines.

Exit status 1 if anything is reported, or if a cell raised. The times depend on the machine and
its load: a loaded machine inflates them.
"""
import argparse
import os
import re
import resource
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kernel_poll  # noqa: E402  (a missed kernel message would cost the cell timeout)

kernel_poll.patch()

MAX_LINE, MAX_COLS, MAX_ROWS, MAX_CODE, BUDGET = 80, 6, 12, 30, 30.0
HIDDEN = {"hide-input", "remove-input", "hide-cell", "remove-cell"}


class Tables(HTMLParser):
    """Column count and visible row count of every top-level <table> (rows inside <details>
    are folded away and not counted)."""

    def __init__(self):
        super().__init__()
        self.tables, self.depth, self.details, self.row_cells = [], 0, 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.details += 1
        elif tag == "table":
            self.depth += 1
            if self.depth == 1:
                self.tables.append({"cols": 0, "rows": 0, "folded": self.details > 0})
        elif tag == "tr" and self.depth == 1:
            self.row_cells = 0
        elif tag in ("td", "th") and self.depth == 1:
            self.row_cells += 1

    def handle_endtag(self, tag):
        if tag == "details":
            self.details -= 1
        elif tag == "table":
            self.depth -= 1
        elif tag == "tr" and self.depth == 1:
            t = self.tables[-1]
            t["cols"] = max(t["cols"], self.row_cells)
            t["rows"] += 1


def text_outputs(cell):
    """Plain text a reader sees under a code cell."""
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            yield out["text"]
        elif out["output_type"] in ("execute_result", "display_data"):
            data = out.get("data", {})
            shown_otherwise = {"text/html", "image/png", "application/vnd.jupyter.widget-view+json"}
            if "text/plain" in data and not (shown_otherwise & set(data)):
                yield data["text/plain"]
        elif out["output_type"] == "error":
            yield "\n".join(out.get("traceback", []))


def markdown_table_columns(source):
    widths = [line.strip().strip("|").count("|") + 1 for line in source.splitlines()
              if re.match(r"^\s*\|.*\|\s*$", line)]
    return max(widths, default=0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--warm", action="store_true", help="keep numba's normal cache (not a first run)")
    ap.add_argument("--save", type=Path, help="write the executed notebook here")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = ap.parse_args(argv)

    nb = nbformat.read(args.notebook, as_version=4)
    problems = []
    for i, c in enumerate(nb.cells):
        tags = set(c.get("metadata", {}).get("tags", []))
        if c.cell_type == "code" and not tags & HIDDEN and len(c.source.splitlines()) > MAX_CODE:
            problems.append(f"cell {i}: visible code cell of {len(c.source.splitlines())} lines "
                            f"(> {MAX_CODE}: hide bookkeeping with hide-input, or split)")
        if c.cell_type == "markdown" and markdown_table_columns(c.source) > MAX_COLS:
            problems.append(f"cell {i}: markdown table of {markdown_table_columns(c.source)} "
                            f"columns (> {MAX_COLS})")

    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        if not args.warm:
            os.environ["NUMBA_CACHE_DIR"] = cache
        os.environ.pop("MPLBACKEND", None)      # the kernel's inline backend keeps the figures
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(args.notebook.parent)}},
                                allow_errors=True)
        t0 = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        times = []
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                t = time.perf_counter()
                client.execute_cell(cell, i)
                times.append((time.perf_counter() - t, i))
        total = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)      # the kernel, reaped at shutdown
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if args.save:
        nbformat.write(nb, args.save)

    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        tags = set(c.get("metadata", {}).get("tags", []))
        if any(o["output_type"] == "error" for o in c.get("outputs", [])):
            err = next(o for o in c.outputs if o["output_type"] == "error")
            problems.append(f"cell {i}: raised {err['ename']}: {err['evalue'][:200]}")
        if tags & {"remove-output", "remove-cell"}:
            continue                                 # not on the website
        for text in text_outputs(c):
            for line in text.splitlines():
                if len(line) > MAX_LINE:
                    problems.append(f"cell {i}: printed line of {len(line)} characters "
                                    f"(> {MAX_LINE}): {line[:60]}...")
        for out in c.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if not html:
                continue
            parser = Tables()
            parser.feed(html if isinstance(html, str) else "".join(html))
            for t in parser.tables:
                if t["cols"] > MAX_COLS:
                    problems.append(f"cell {i}: table of {t['cols']} columns (> {MAX_COLS}: "
                                    "transpose or split)")
                if not t["folded"] and t["rows"] - 1 > MAX_ROWS:
                    problems.append(f"cell {i}: table of {t['rows'] - 1} rows on the page "
                                    f"(> {MAX_ROWS}: viz.table folds the rest by default)")

    kind = "warm cache" if args.warm else "first run: empty numba cache"
    print(f"{args.notebook}: {total:.1f} s ({kind}); budget {BUDGET:.0f} s on 2 quiet cores")
    print(f"kernel CPU time {cpu:.1f} s (user + system, all its threads: steadier than the wall "
          "time on a loaded machine)")
    print("slowest cells: " + ", ".join(f"[{i}] {t:.1f} s" for t, i in sorted(times)[::-1][:5]))
    if total > BUDGET:
        problems.append(f"total {total:.1f} s > {BUDGET:.0f} s (on a loaded machine, re-run alone)")
    for p in problems:
        print("  " + p)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
