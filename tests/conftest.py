"""Fixtures shared by the test files."""
import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def numba_cache_stats():
    """``stats(call, kernel) -> (cache hits, cache misses)`` of a numba kernel in a new process.

    ``call`` is one line of Python (``np`` and ``cnnlib`` imported) that runs the kernel, whose
    dotted name inside cnnlib is ``kernel`` (e.g. ``"_direct._conv3d_direct_kernel"``). A first
    process runs ``call`` so the kernel is on disk; a second one runs it again and reports how
    the kernel was loaded: a ``cache=True`` kernel must come from the cache, ``(1, 0)``.
    """
    def stats(call: str, kernel: str) -> tuple:
        module, name = kernel.rsplit(".", 1)
        prelude = "import numpy as np\nimport cnnlib\n"
        _run(prelude + call)
        out = _run(prelude + f"from cnnlib import {module} as m\n{call}\n"
                   f"s = m.{name}.stats\n"
                   "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n")
        return tuple(map(int, out.split()))

    return stats
