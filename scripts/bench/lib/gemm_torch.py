# PyTorch side of scripts/bench/gemm: torch.mm on the same cases (transposes as views, so
# MKL gets transpose flags, as Lathe's kernels do). Prints "name GFLOP/s".
import os
import sys
import time

import torch

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
dtype = torch.bfloat16 if os.environ.get("GEMM_PRECISION") == "bf16" else torch.float32
budget = float(os.environ.get("GEMM_BUDGET", "0.2"))
g = torch.Generator().manual_seed(0)
clock = time.process_time if os.environ.get("GEMM_CLOCK") == "cpu" else time.perf_counter


def operand(rows, cols, transposed):
    if transposed:
        return torch.randn(cols, rows, generator=g).to(dtype).t()
    return torch.randn(rows, cols, generator=g).to(dtype)


for line in open(os.environ["GEMM_CASES"]):
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        continue
    name, m, n, k, lay = parts[0], int(parts[1]), int(parts[2]), int(parts[3]), parts[4]
    a, b = operand(m, k, lay[0] == "T"), operand(k, n, lay[1] == "T")
    torch.mm(a, b)
    t0 = clock()
    torch.mm(a, b)
    once = max(clock() - t0, 1e-6)
    reps = max(5, min(200, int(budget / once)))
    best = float("inf")
    for _ in range(reps):
        s = clock()
        torch.mm(a, b)
        best = min(best, clock() - s)
    print(f"{name} {2 * m * n * k / best / 1e9:.2f}")
    sys.stdout.flush()
