"""The README's benchmark command runs and prints the full table (speed itself is not asserted)."""
import re
import subprocess
import sys

from cnnlib import bench


def test_bench_quick_run_prints_every_layer_and_the_geometric_mean():
    out = subprocess.run([sys.executable, "-m", "cnnlib.bench", "--quick", "--threads", "1"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert "threads = 1" in out
    for name, *_ in bench.LAYERS:
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert row.split()[-1] in ("direct", "im2col", "winograd", "winograd_f2", "fft")
    ratio = re.search(r"geometric-mean time ratio auto/torch at 1 thread\(s\): ([0-9.]+)", out)
    assert ratio is not None and float(ratio.group(1)) > 0
