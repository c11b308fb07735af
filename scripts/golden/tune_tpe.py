#!/usr/bin/env python3
"""Golden vectors for Lathe's port of Optuna's univariate TPE sampler (LatheCore/Tune).

    python3 -m venv /tmp/optuna-venv
    /tmp/optuna-venv/bin/pip install optuna==4.9.0 numpy==2.4.6
    /tmp/optuna-venv/bin/python scripts/golden/tune_tpe.py   # writes Tests/fixtures/tune/tpe_golden.json

Pinned: optuna==4.9.0 (the newest 4.x; optuna 5.x makes TPESampler multivariate by default),
numpy==2.4.6. Run it on an x86-64 machine with AVX-512 (like the project's machines): numpy's
argsort tie order and its exp/log kernels there are what the Swift port reproduces.

What it records:
  * cases: Optuna studies (TPESampler(seed=s) with every default, 10 random startup trials,
    then TPE), each with its search space (in suggestion order; a parameter with "when" is
    suggested only when a categorical took that choice), and per trial: state, the objective
    value, intermediate values (pruned trials), the order in which parameters were suggested
    and the internal values Optuna suggested (categoricals as choice index). Floats are written
    as repr() strings so they round-trip exactly.
  * parzen: log_pdf of `_ParzenEstimator` (TPE's default parameters) for fixed observations at
    fixed points, to test the density estimate without the random streams.
  * random_state: raw 32-bit draws, random_sample, uniform and choice(p=...) of
    np.random.RandomState(seed), the legacy stream TPESampler and RandomSampler consume.
"""
import json
import math
import os

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

assert optuna.__version__ == "4.9.0", optuna.__version__
optuna.logging.set_verbosity(optuna.logging.WARNING)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "fixtures", "tune", "tpe_golden.json")


def f2s(x):
    return repr(float(x))


def dist_json(d):
    if isinstance(d, CategoricalDistribution):
        return {"type": "categorical", "choices": list(d.choices)}
    if isinstance(d, IntDistribution):
        return {"type": "int", "low": d.low, "high": d.high, "log": d.log, "step": d.step}
    return {"type": "float", "low": f2s(d.low), "high": f2s(d.high), "log": d.log,
            "step": None if d.step is None else f2s(d.step)}


MIXED = [
    ("x", FloatDistribution(-5.0, 5.0), None),
    ("lr", FloatDistribution(1e-5, 1e-1, log=True), None),
    ("dropout", FloatDistribution(0.0, 0.5, step=0.05), None),
    ("layers", IntDistribution(1, 8), None),
    ("units", IntDistribution(4, 256, log=True), None),
    ("batch", IntDistribution(16, 128, step=16), None),
    ("opt", CategoricalDistribution(["adam", "sgd", "rmsprop", "adagrad"]), None),
]

CONDITIONAL = [
    ("model", CategoricalDistribution(["linear", "tree", "svm"]), None),
    ("alpha", FloatDistribution(1e-4, 10.0, log=True), ("model", "linear")),
    ("depth", IntDistribution(1, 12), ("model", "tree")),
    ("min_leaf", IntDistribution(1, 64, log=True), ("model", "tree")),
    ("c", FloatDistribution(0.1, 10.0), ("model", "svm")),
    ("kernel", CategoricalDistribution(["rbf", "poly", "sigmoid"]), ("model", "svm")),
    ("z", FloatDistribution(-1.0, 1.0, step=0.1), None),
]

SMALL = [
    ("a", FloatDistribution(0.0, 1.0), None),
    ("k", IntDistribution(0, 6), None),
    ("s", FloatDistribution(-2.0, 2.0, step=0.5), None),
]


def suggest_all(trial, space):
    params = {}
    for name, dist, cond in space:
        if cond is not None and params.get(cond[0]) != cond[1]:
            continue
        params[name] = trial._suggest(name, dist)
    return params


def mixed_objective(p):
    v = (p["x"] - 1.3) ** 2 + (math.log10(p["lr"]) + 3.0) ** 2 + 4 * (p["dropout"] - 0.2) ** 2
    v += 0.3 * abs(p["layers"] - 4) + (math.log2(p["units"]) - 6) ** 2 / 4 + abs(p["batch"] - 64) / 64
    v += {"adam": 0.0, "sgd": 0.5, "rmsprop": 0.2, "adagrad": 0.8}[p["opt"]]
    return v


def conditional_objective(p):
    m = p["model"]
    if m == "linear":
        v = (math.log10(p["alpha"]) + 1.0) ** 2
    elif m == "tree":
        v = 0.1 * (p["depth"] - 7) ** 2 + 0.2 * abs(math.log2(p["min_leaf"]) - 3)
    else:
        v = (p["c"] - 3.0) ** 2 / 3 + {"rbf": 0.0, "poly": 0.4, "sigmoid": 0.9}[p["kernel"]]
    return v + (p["z"] - 0.3) ** 2


def small_objective(p):
    return math.sin(7 * p["a"]) + 0.25 * (p["k"] - 3) ** 2 + 0.5 * abs(p["s"] - 0.5)


def run_case(name, seed, direction, space, n_trials, objective, prune=None, fail=None):
    """prune(trial_number, params) -> list of intermediate values to report before pruning
    (maybe empty) or None; fail(trial_number) -> True to raise (FAIL)."""
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction=direction, sampler=sampler)

    class Boom(RuntimeError):
        pass

    def wrapped(trial):
        params = suggest_all(trial, space)
        if fail is not None and fail(trial.number):
            raise Boom("planned failure")
        if prune is not None:
            inter = prune(trial.number, params)
            if inter is not None:
                for step, v in enumerate(inter):
                    trial.report(v, step)
                raise optuna.TrialPruned()
        v = objective(params)
        for step in range(3):
            trial.report(v + (2 - step) * 0.1, step)
        return v

    study.optimize(wrapped, n_trials=n_trials, catch=(Boom,))
    dists = {n: d for n, d, _ in space}
    trials = []
    for t in study.trials:
        order = sorted(t.params.keys(), key=lambda k: [n for n, _, _ in space].index(k))
        trials.append({
            "number": t.number,
            "state": t.state.name,
            "value": None if t.value is None else f2s(t.value),
            "intermediate": {str(k): f2s(v) for k, v in sorted(t.intermediate_values.items())},
            "order": order,
            "params": {k: f2s(dists[k].to_internal_repr(t.params[k])) for k in order},
        })
    return {
        "name": name,
        "seed": seed,
        "direction": direction,
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "space": [dict(name=n, **dist_json(d), when=None if c is None else {
            "param": c[0], "choice": dists[c[0]].choices.index(c[1])}) for n, d, c in space],
        "trials": trials,
    }


def pruned_plan(number, params):
    # Deterministic pruning: some trials report 1-3 steps and are pruned; one reports nothing.
    if number == 13:
        return []
    if number % 4 == 1:
        base = mixed_objective(params)
        return [base + 0.5 * (i + 1) for i in range(1 + number % 3)]
    if number == 30:
        return [0.1, float("nan")]
    return None


def parzen_checks():
    params = _ParzenEstimatorParameters(
        prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False,
        weights=default_weights, multivariate=False, categorical_distance_func={})
    rng = np.random.RandomState(12345)
    out = []
    specs = [
        ("float", FloatDistribution(-3.0, 7.0), lambda n: rng.uniform(-3, 7, n),
         np.linspace(-3, 7, 13)),
        ("float_log", FloatDistribution(1e-3, 1e2, log=True), lambda n: np.exp(rng.uniform(math.log(1e-3), math.log(1e2), n)),
         np.exp(np.linspace(math.log(1e-3), math.log(1e2), 11))),
        ("float_step", FloatDistribution(0.0, 2.0, step=0.25), lambda n: rng.randint(0, 9, n) * 0.25,
         np.arange(0, 9) * 0.25),
        ("int", IntDistribution(-4, 10), lambda n: rng.randint(-4, 11, n).astype(float),
         np.arange(-4, 11).astype(float)),
        ("int_log", IntDistribution(1, 1000, log=True), lambda n: np.round(np.exp(rng.uniform(0, math.log(1000), n))),
         np.array([1, 2, 3, 7, 10, 31, 100, 316, 999, 1000], dtype=float)),
        ("int_step", IntDistribution(0, 60, step=5), lambda n: rng.randint(0, 13, n) * 5.0,
         np.arange(0, 13) * 5.0),
        ("categorical", CategoricalDistribution(["a", "b", "c", "d", "e"]), lambda n: rng.randint(0, 5, n).astype(float),
         np.arange(5).astype(float)),
    ]
    for kind, dist, gen, points in specs:
        for n in (0, 1, 2, 7, 30):
            obs = np.asarray(gen(n), dtype=float)
            pe = _ParzenEstimator({"p": obs}, {"p": dist}, params)
            lp = pe.log_pdf({"p": np.asarray(points, dtype=float)})
            out.append({
                "kind": kind,
                "distribution": dist_json(dist),
                "observations": [f2s(v) for v in obs],
                "points": [f2s(v) for v in points],
                "log_pdf": [f2s(v) for v in lp],
            })
    return out


def random_state_checks():
    """numpy's legacy RandomState(seed) streams the Swift LegacyRandomState must reproduce."""
    out = []
    for seed in (0, 42, 2024, 2**32 - 1):
        rs = np.random.RandomState(seed)
        raw = rs.randint(0, 2**32, size=6, dtype=np.uint32)
        sample = rs.random_sample(5)
        uni = rs.uniform(-3.5, 12.25, size=4)
        p = np.array([0.1, 0.25, 0.05, 0.4, 0.2])
        choice = rs.choice(len(p), p=p, size=12)
        out.append({
            "seed": seed,
            "uint32": [int(v) for v in raw],
            "random_sample": [f2s(v) for v in sample],
            "uniform": {"low": f2s(-3.5), "high": f2s(12.25), "values": [f2s(v) for v in uni]},
            "choice": {"p": [f2s(v) for v in p], "values": [int(v) for v in choice]},
        })
    return out


def main():
    cases = [
        run_case("mixed_minimize", 42, "minimize", MIXED, 40, mixed_objective),
        run_case("mixed_maximize", 7, "maximize", MIXED, 40, lambda p: -mixed_objective(p)),
        run_case("conditional", 123, "minimize", CONDITIONAL, 45, conditional_objective),
        run_case("pruned_fail", 2024, "minimize", MIXED, 45, mixed_objective,
                 prune=pruned_plan, fail=lambda n: n in (4, 22)),
        run_case("small_long", 0, "minimize", SMALL, 70, small_objective),
    ]
    doc = {
        "generator": "scripts/golden/tune_tpe.py",
        "optuna_version": optuna.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
        "parzen": parzen_checks(),
        "random_state": random_state_checks(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    n_sugg = sum(len(t["params"]) for c in cases for t in c["trials"])
    print(f"wrote {OUT}: {len(cases)} cases, {n_sugg} suggestions, {len(doc['parzen'])} parzen checks")


if __name__ == "__main__":
    main()
