"""The objectives of scripts/bench/tune, Optuna's side: problems.lua in Python, operation for
operation (x * x rather than x ** 2, the same constants as literals, sums in the same order), so
that the same suggestions give bit-identical values on both sides. Parameters are drawn in the
same order on both sides (TPE's random state is shared between parameters)."""
import math

# Branin on [-5, 10] x [0, 15]; minimum 0.397887.
PI = math.pi
BR_B, BR_C, BR_T = 5.1 / (4 * PI * PI), 5 / PI, 1 / (8 * PI)


def branin(t):
    x1 = t.suggest_float("x1", -5, 10)
    x2 = t.suggest_float("x2", 0, 15)
    u = x2 - BR_B * x1 * x1 + BR_C * x1 - 6
    return u * u + 10 * (1 - BR_T) * math.cos(x1) + 10


# Hartmann 6-d on [0, 1]^6; minimum -3.32237.
HA = [1.0, 1.2, 3.0, 3.2]
HA_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HA_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(t):
    x = [t.suggest_float(f"x{j}", 0, 1) for j in range(6)]
    f = 0.0
    for i in range(4):
        s = 0.0
        for j in range(6):
            d = x[j] - HA_P[i][j]
            s = s + HA_A[i][j] * d * d
        f = f - HA[i] * math.exp(-s)
    return f


# A 10-d sphere in log space: x_i in [1e-3, 1e3] on a log scale, f = sum_i log10(x_i)^2; min 0.
def logsphere10(t):
    f = 0.0
    for i in range(10):
        v = math.log10(t.suggest_float(f"x{i}", 1e-3, 1e3, log=True))
        f = f + v * v
    return f


# Mixed: a float, an integer and a categorical; minimum -0.3 at x = 1.5, n = 13, act = "gelu".
ACT = {"relu": 0.0, "gelu": -0.3, "tanh": 0.4, "sigmoid": 1.0}


def mixed(t):
    x = t.suggest_float("x", -5, 5)
    n = t.suggest_int("n", 1, 20)
    act = t.suggest_categorical("act", ["relu", "gelu", "tanh", "sigmoid"])
    dx, dn = x - 1.5, n - 13
    return dx * dx + 0.1 * (dn * dn) + ACT[act]


def curve(t, seed, steps, report):
    """The synthetic learning curve of problems.lua (to maximize); see there."""
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    dropout = t.suggest_float("dropout", 0, 0.5)
    a, b = math.log10(lr) + 3, dropout - 0.2
    q = 0.9 - 0.05 * a * a - 0.4 * b * b
    state = (seed * 1000 + t.number) * 7919 % 2147483646 + 1
    v = None
    for step in range(1, steps + 1):
        state = state * 48271 % 2147483647
        v = q * (1 - math.exp(-step / 10)) + 0.03 * (state / 2147483647 - 0.5)
        report(v, step)
    return v


def light(t):
    """The overhead objective: three parameters (a float, a log float, an int), a trivial value."""
    x = t.suggest_float("x", -5, 5)
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    n = t.suggest_int("n", 1, 100)
    return x * x + lr + n


PROBLEMS = {"branin": branin, "hartmann6": hartmann6, "logsphere10": logsphere10, "mixed": mixed}
