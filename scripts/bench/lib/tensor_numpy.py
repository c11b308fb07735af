# numpy side of scripts/bench/tensor: runs TENSOR_PLAN (the same plan as tensor.lua) and prints
# "op_size seconds" lines (median per call of the workload, lib/stats) and "threads N" (numpy's
# elementwise ops are single-threaded; its matmul runs on OPENBLAS_NUM_THREADS, set by the driver).
import os

import numpy as np

import stats

print(f"threads {stats.threads()}")
rng = np.random.default_rng(0)


def vectors(n):
    return rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)))


def softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def matmul(n):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return lambda: a @ b


def small_add(n):
    x, y = np.ones(4, dtype=np.float32), np.ones(4, dtype=np.float32)

    def loop():
        for _ in range(n):
            x + y
    return loop


def unary(f):
    def build(n):
        a, _ = vectors(n)
        return lambda: f(a)
    return build


def binary(f):
    def build(n):
        a, b = vectors(n)
        return lambda: f(a, b)
    return build


BUILD = {
    "matmul": matmul,
    "add": binary(lambda a, b: a + b),
    "mul": binary(lambda a, b: a * b),
    "gelu": unary(gelu_tanh),
    "sum": unary(lambda a: a.sum()),
    "softmax": unary(lambda a: softmax(a.reshape(a.size // 1000, 1000))),
    "small_add": small_add,
}

for item in os.environ["TENSOR_PLAN"].split(","):
    op, n, reps = item.split(":")
    print(f"{op}_{n} {stats.timeit(BUILD[op](int(n)), int(reps)):.9f}")
