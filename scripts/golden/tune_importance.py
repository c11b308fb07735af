#!/usr/bin/env python3
"""Golden vectors for Lathe's port of Optuna's PED-ANOVA parameter importance (LatheCore/Tune/Importance.swift).

    python3 -m venv /tmp/optuna-venv
    /tmp/optuna-venv/bin/pip install optuna==4.9.0 numpy==2.4.6
    /tmp/optuna-venv/bin/python scripts/golden/tune_importance.py   # writes Tests/fixtures/tune/importance_golden.json

Pinned: optuna==4.9.0, numpy==2.4.6, CPython 3.11 (its builtin sum() adds floats left to right;
3.12+ uses compensated summation, which can move the normalized values by an ulp). Run it on an
x86-64 machine with AVX-512 (like the project's machines): numpy's exp/log kernels there, and the
OpenBLAS ddot kernel behind `@` (numpy's wheel picks the Haswell kernel on these CPUs), are what
the Swift port reproduces.

What it records, per case: the study direction, the `params` argument (null for all), the
distinct distributions of the case ("distribution_table"), every trial (number, state, value,
params as internal values -- categoricals as choice index --, and its distributions as indices
into the table), and Optuna's

    optuna.importance.get_param_importances(study, evaluator=PedAnovaImportanceEvaluator(), params=params)

as an ordered list of [name, importance] (the order Optuna returns), or the error it raised,
and under "raw" the evaluator's own (unnormalized) `PedAnovaImportanceEvaluator().evaluate(study,
params=params)`, which the public Swift API does not expose (kept for checking the internals).
Floats are written as repr() strings so they round-trip exactly.
"""
import json
import math
import os
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState, create_trial

assert optuna.__version__ == "4.9.0", optuna.__version__
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "fixtures", "tune", "importance_golden.json")


def f2s(x):
    return repr(float(x))


def dist_json(d):
    if isinstance(d, CategoricalDistribution):
        return {"type": "categorical", "choices": [str(c) for c in d.choices]}
    if isinstance(d, IntDistribution):
        return {"type": "int", "low": d.low, "high": d.high, "log": d.log, "step": d.step}
    return {"type": "float", "low": f2s(d.low), "high": f2s(d.high), "log": d.log,
            "step": None if d.step is None else f2s(d.step)}


def trial_json(t, table):
    def index(d):
        j = dist_json(d)
        if j not in table:
            table.append(j)
        return table.index(j)
    return {
        "number": t.number,
        "state": t.state.name,
        "value": None if t.value is None else f2s(t.value),
        "params": {k: f2s(t.distributions[k].to_internal_repr(v)) for k, v in t.params.items()},
        "distributions": {k: index(d) for k, d in t.distributions.items()},
    }


CASES = []


def record(name, study, params=None):
    table = []
    trials = [trial_json(t, table) for t in study.get_trials(deepcopy=False)]
    case = {
        "name": name,
        "direction": study.direction.name.lower(),
        "params": params,
        "distribution_table": table,
        "trials": trials,
    }
    try:
        res = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator(), params=params)
        case["expected"] = [[k, f2s(v)] for k, v in res.items()]
        raw = PedAnovaImportanceEvaluator().evaluate(study, params=params)
        case["raw"] = [[k, f2s(v)] for k, v in raw.items()]
        case["error"] = None
    except (ValueError, AssertionError) as e:
        case["expected"] = None
        case["raw"] = None
        case["error"] = f"{type(e).__name__}: {e}"
    CASES.append(case)
    shown = case["error"] or ", ".join(f"{k}={float(v):.4g}" for k, v in case["expected"])
    print(f"{name}: {len(case['trials'])} trials -> {shown}")


def mixed_space(trial, useless=False):
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.05)
    layers = trial.suggest_int("layers", 1, 8)
    units = trial.suggest_int("units", 4, 256, log=True)
    batch = trial.suggest_int("batch", 16, 128, step=16)
    opt = trial.suggest_categorical("opt", ["adam", "sgd", "rmsprop", "adagrad"])
    if useless:
        trial.suggest_float("noise", -1.0, 1.0)
    return (math.log10(lr) + 3.0) ** 2 + 4.0 * (dropout - 0.2) ** 2 + 0.05 * (layers - 4) ** 2 \
        + 0.3 * abs(math.log2(units) - 6.0) + 0.001 * batch + {"adam": 0.0, "sgd": 0.8, "rmsprop": 0.3, "adagrad": 1.5}[opt]


def write_compact(doc):
    """JSON with one case header line and one line per trial."""
    c = lambda v: json.dumps(v, separators=(",", ":"))
    out = ["{", f' "generator": {c(doc["generator"])},', f' "optuna_version": {c(doc["optuna_version"])},',
           f' "numpy_version": {c(doc["numpy_version"])},', ' "cases": [']
    for i, case in enumerate(doc["cases"]):
        head = {k: v for k, v in case.items() if k != "trials"}
        out.append("  {" + c(head)[1:-1] + ',"trials":[')
        out.append(",\n".join("   " + c(t) for t in case["trials"]))
        out.append("  ]}" + ("," if i + 1 < len(doc["cases"]) else ""))
    out += [" ]", "}", ""]
    text = "\n".join(out)
    assert json.loads(text) == doc
    return text


def main():
    # 1. Floats, minimize, one useless parameter (TPE: concentrated top trials).
    def f1(trial):
        x = trial.suggest_float("x", -5.0, 5.0)
        y = trial.suggest_float("y", -5.0, 5.0)
        trial.suggest_float("z_useless", 0.0, 1.0)
        return x ** 2 + 0.1 * y ** 2
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
    s.optimize(f1, n_trials=120)
    record("float_minimize_useless", s)
    record("float_params_subset", s, params=["y", "x"])
    record("float_params_empty", s, params=[])

    # 2. Mixed space, maximize (TPE).
    s = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=7))
    s.optimize(lambda t: -mixed_space(t), n_trials=150)
    record("mixed_maximize_tpe", s)

    # 3. Mixed space plus a useless parameter, minimize (random sampler, 200 trials).
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    s.optimize(lambda t: mixed_space(t, useless=True), n_trials=200)
    record("mixed_random_useless", s)

    # 4. Int log grids (power-of-two and odd ranges), tiny ints, a categorical with unused choices.
    def f4(trial):
        a = trial.suggest_int("a_log8", 1, 8, log=True)
        b = trial.suggest_int("b_log16", 1, 16, log=True)
        c = trial.suggest_int("c_log1000", 1, 1000, log=True)
        d = trial.suggest_int("d_log_2_9", 2, 9, log=True)
        e = trial.suggest_int("e_small", 0, 3)
        f = trial.suggest_categorical("f_cat", ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
        return (a - 3) ** 2 + 0.5 * abs(math.log(b) - 1.0) + 0.01 * abs(c - 50) + 0.2 * d * e \
            + (0.0 if f in ("b", "c") else 1.0)
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=11))
    s.optimize(f4, n_trials=90)
    record("int_log_grids_tpe", s)

    # 5. Stepped floats and ints: fine steps (grid capped at 50), coarse steps, int step 3.
    def f5(trial):
        p = trial.suggest_float("p_fine", 0.0, 1.0, step=0.001)
        q = trial.suggest_float("q_coarse", -1.0, 1.0, step=0.25)
        r = trial.suggest_int("r_step3", 0, 30, step=3)
        w = trial.suggest_float("w_log", 1e-3, 1e3, log=True)
        return (p - 0.3) ** 2 + 0.2 * abs(q) + 0.001 * (r - 12) ** 2 + 0.01 * abs(math.log10(w))
    s = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=5))
    s.optimize(f5, n_trials=100)
    record("stepped_tpe", s)

    # 6. Single-value (constant) distributions mixed with real ones.
    def f6(trial):
        x = trial.suggest_float("x", 0.0, 2.0)
        trial.suggest_float("const_f", 1.5, 1.5)
        trial.suggest_int("const_i", 3, 3)
        trial.suggest_categorical("const_c", ["only"])
        trial.suggest_float("const_step", 0.0, 0.05, step=0.1)  # adjusted to [0, 0] by Optuna
        n = trial.suggest_int("n", 0, 10)
        return (x - 1.2) ** 2 + 0.05 * n
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=9))
    s.optimize(f6, n_trials=80)
    record("with_single_dists", s)

    # 7. Only single-value distributions: every importance 1/n, in name order.
    def f7(trial):
        trial.suggest_float("b_const", 2.0, 2.0)
        trial.suggest_int("a_const", 1, 1)
        trial.suggest_categorical("c_const", ["z"])
        return trial.number * 0.5
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    s.optimize(f7, n_trials=20)
    record("all_single", s)

    # 8. Constant objective: top trials == all trials, every divergence 0 -> uniform 1/n.
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    s.optimize(lambda t: 1.0 + 0.0 * (t.suggest_float("u", 0, 1) + t.suggest_int("k", 0, 5)
                                        + t.suggest_categorical("m", [0, 1, 2])), n_trials=50)
    record("constant_objective", s)

    # 9. Two parameters with identical values and distributions (tied importances) and a third.
    rng = np.random.RandomState(12)
    s = optuna.create_study()
    dx = FloatDistribution(0.0, 1.0)
    dy = IntDistribution(-3, 3)
    trials = []
    for i in range(60):
        x = float(rng.rand())
        y = int(rng.randint(-3, 4))
        trials.append(create_trial(params={"x_b": x, "x_a": x, "y": y},
                                   distributions={"x_b": dx, "x_a": dx, "y": dy},
                                   value=(x - 0.7) ** 2 + 0.01 * y * y))
    s.add_trials(trials)
    record("tied_params", s)

    # 10. Conditional parameters and a parameter whose range changes: both excluded by default;
    #     with params=[...] only the trials holding them count.
    def f10(trial):
        model = trial.suggest_categorical("model", ["linear", "tree", "svm"])
        z = trial.suggest_float("z", -1.0, 1.0, step=0.1)
        hi = 1.0 if trial.number < 40 else 2.0
        w = trial.suggest_float("w_dyn", 0.0, hi)
        if model == "linear":
            a = trial.suggest_float("alpha", 1e-4, 10.0, log=True)
            v = abs(math.log10(a) + 1.0)
        elif model == "tree":
            v = 0.1 * abs(trial.suggest_int("depth", 1, 12) - 5)
        else:
            v = abs(trial.suggest_float("c", 0.1, 10.0) - 3.0) * 0.3
        return v + z * z + 0.1 * w
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=21))
    s.optimize(f10, n_trials=120)
    record("conditional_default", s)
    record("conditional_params_arg", s, params=["model", "alpha"])
    record("conditional_dynamic_params_error", s, params=["w_dyn"])
    record("params_missing_error", s, params=["nope"])

    # 11. Mixed states: pruned, failed and infinite-valued trials (the latter complete, filtered out).
    def f11(trial):
        x = trial.suggest_float("x", -2.0, 2.0)
        k = trial.suggest_int("k", 1, 20)
        c = trial.suggest_categorical("c", ["p", "q", "r"])
        if trial.number % 7 == 3:
            raise optuna.TrialPruned()
        if trial.number % 11 == 5:
            raise RuntimeError("boom")
        if trial.number % 13 == 6:
            return float("inf")
        return abs(x - 0.5) + 0.02 * k + (0.3 if c == "q" else 0.0)
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=33))
    s.optimize(f11, n_trials=110, catch=(RuntimeError,))
    record("states_mix", s)

    # 12. Integer-valued objective: many ties at the top-quantile cutoff.
    def f12(trial):
        x = trial.suggest_int("x", 0, 20)
        y = trial.suggest_float("y", 0.0, 10.0)
        c = trial.suggest_categorical("c", ["a", "b"])
        return float(round(abs(x - 7) / 3 + y / 4)) + (1.0 if c == "b" else 0.0)
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=8))
    s.optimize(f12, n_trials=200)
    record("integer_objective_ties", s)

    # 13. Thirty trials (0.1 * 30 rounds up to 4 top trials), maximize with negative values.
    def f13(trial):
        x = trial.suggest_float("x", -3.0, 3.0)
        y = trial.suggest_float("y", 0.01, 100.0, log=True)
        return -(x * x) - 0.5 * abs(math.log(y)) - 10.0
    s = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=13))
    s.optimize(f13, n_trials=30)
    record("thirty_trials_maximize", s)

    # 14. Tiny studies: 3 trials (2 top trials), 2 complete trials (too few: uniform), one
    #     complete trial (Optuna raises), and too few finite values.
    dists = {"x": FloatDistribution(0.0, 1.0), "n": IntDistribution(0, 4), "c": CategoricalDistribution(["u", "v"])}
    def tiny(rows, states=None):
        st = optuna.create_study()
        ts = []
        for i, (x, n, c, v) in enumerate(rows):
            state = TrialState.COMPLETE if states is None else states[i]
            ts.append(create_trial(params={"x": x, "n": n, "c": c}, distributions=dists,
                                   value=v if state == TrialState.COMPLETE else None, state=state))
        st.add_trials(ts)
        return st
    record("three_trials", tiny([(0.1, 1, "u", 3.0), (0.9, 3, "v", 1.0), (0.5, 2, "u", 2.0)]))
    record("two_complete", tiny([(0.1, 1, "u", 3.0), (0.9, 3, "v", 1.0), (0.5, 2, "u", None), (0.4, 0, "v", None)],
                                [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]))
    record("one_complete_error", tiny([(0.1, 1, "u", 3.0), (0.9, 3, "v", None)], [TrialState.COMPLETE, TrialState.FAIL]))
    record("two_finite", tiny([(0.1, 1, "u", 3.0), (0.9, 3, "v", float("inf")), (0.5, 2, "u", float("-inf")),
                               (0.3, 4, "v", 1.0)]))

    # 15. 33 of 41 trials tie at the best value: quantile 33/41, whose square by Python's
    #     float ** 2 (the C library's pow) is not the correctly rounded 33/41 * 33/41.
    st = optuna.create_study()
    rs = np.random.RandomState(41)
    st.add_trials([create_trial(params={"x": float(rs.rand()), "n": int(rs.randint(0, 5)), "c": ["u", "v"][i % 2]},
                                distributions=dists, value=0.0 if i < 33 else 1.0) for i in range(41)])
    assert (33 / 41) ** 2 != (33 / 41) * (33 / 41)
    record("quantile_33_of_41", st)

    # 16. Larger log-float study (TPE, 200 trials), minimize.
    def f15(trial):
        a = trial.suggest_float("a", 1e-6, 1.0, log=True)
        b = trial.suggest_float("b", 1.0, 1e4, log=True)
        c = trial.suggest_int("c", 10, 1000, log=True)
        d = trial.suggest_float("d", -10.0, 10.0)
        return (math.log10(a) + 4) ** 2 + 0.3 * (math.log10(b) - 2) ** 2 + 0.01 * abs(math.log(c) - 5) + 1e-4 * d
    s = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=17))
    s.optimize(f15, n_trials=200)
    record("log_floats_tpe", s)

    doc = {
        "generator": "scripts/golden/tune_importance.py",
        "optuna_version": optuna.__version__,
        "numpy_version": np.__version__,
        "cases": CASES,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(write_compact(doc))
    print(f"wrote {OUT}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
