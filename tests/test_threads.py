"""cnnlib leaves torch's thread count alone, whichever is imported or configured first."""
import os
import subprocess
import sys
import textwrap

import pytest

RUN = """
x = np.random.default_rng(0).standard_normal((1, 8, 12, 12), dtype=np.float32)
w = np.random.default_rng(1).standard_normal((8, 8, 3, 3), dtype=np.float32)
for method in ["im2col", "winograd", "winograd_f2", "fft", "auto", "direct"]:
    cnnlib.conv2d(x, w, padding=1, method=method)
    print(method, torch.get_num_threads(), numba.get_num_threads())
"""
ORDERS = {
    "torch configured before import cnnlib": """
import torch, numba, numpy as np
torch.set_num_threads(1)
assert torch.get_num_threads() == 1
import cnnlib
""",
    "torch configured after import cnnlib": """
import torch, numba, numpy as np
import cnnlib
torch.set_num_threads(1)
assert torch.get_num_threads() == 1
""",
    "cnnlib imported before torch": """
import numba, numpy as np
import cnnlib
import torch
torch.set_num_threads(1)
""",
}


@pytest.mark.parametrize("order", ORDERS)
def test_conv2d_leaves_torch_and_numba_thread_counts_alone(order):
    """Numba starts its thread pool on first use; with its OpenMP layer that sets OpenMP's
    thread count, which is torch's intra-op thread count. A user's torch.set_num_threads(1)
    must survive every method (and numba keeps its own 2 threads)."""
    code = textwrap.dedent(ORDERS[order]) + RUN
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "NUMBA_NUM_THREADS": "2"}).stdout
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) == 6
    assert all(t == "1" and n == "2" for _, t, n in rows), out
