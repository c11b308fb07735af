# PyTorch side of scripts/bench/gemm: torch.mm on the same cases (transposes as views, so
# MKL gets transpose flags, as Lathe's kernels do), timed as gemm.lua times Lathe (lib/stats:
# one warm-up, the median of the case's reps calls, GEMM_CLOCK). Prints "threads N" and
# "name GFLOP/s"; runs at LATHE_THREADS threads, Lathe's count.
import os
import sys

import torch

import stats

torch.set_num_threads(stats.threads())
print(f"threads {torch.get_num_threads()}")
dtype = torch.bfloat16 if os.environ.get("GEMM_PRECISION") == "bf16" else torch.float32
kind = "cpu" if os.environ.get("GEMM_CLOCK") == "cpu" else "wall"
g = torch.Generator().manual_seed(0)


def operand(rows, cols, transposed):
    if transposed:
        return torch.randn(cols, rows, generator=g).to(dtype).t()
    return torch.randn(rows, cols, generator=g).to(dtype)


for line in open(os.environ["GEMM_CASES"]):
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        continue
    name, m, n, k, lay, reps = parts[0], int(parts[1]), int(parts[2]), int(parts[3]), parts[4], int(parts[5])
    a, b = operand(m, k, lay[0] == "T"), operand(k, n, lay[1] == "T")
    t = stats.timeit(lambda: torch.mm(a, b), reps, 1, kind)
    print(f"{name} {2 * m * n * k / max(t, 1e-9) / 1e9:.2f}")
    sys.stdout.flush()
