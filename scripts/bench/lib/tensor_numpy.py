# numpy side of scripts/bench/tensor (same workloads as tensor.lua).
import time
import numpy as np


def best(reps, fn):
    fn()
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


rng = np.random.default_rng(0)
for n in (256, 512, 1024, 2048):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    reps = max(3, int(2e10 / (2 * n ** 3)))
    t = best(reps, lambda: a @ b)
    print(f"matmul_{n} {2 * n ** 3 / t / 1e9:.4f}")


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)))


def softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


for n in (1000000, 16000000):
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    reps = 5 if n > 4e6 else 20
    print(f"add_{n} {best(reps, lambda: a + b):.6f}")
    print(f"mul_{n} {best(reps, lambda: a * b):.6f}")
    print(f"gelu_{n} {best(reps, lambda: gelu_tanh(a)):.6f}")
    print(f"sum_{n} {best(reps, lambda: a.sum()):.6f}")
    m = a.reshape(n // 1000, 1000)
    print(f"softmax_{n} {best(reps, lambda: softmax(m)):.6f}")

x = np.ones(4, dtype=np.float32)
y = np.ones(4, dtype=np.float32)
N = 200000


def loop():
    for _ in range(N):
        z = x + y


print(f"small_add {best(3, loop) / N:.9f}")
