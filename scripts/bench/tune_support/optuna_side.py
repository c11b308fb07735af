"""Optuna side of scripts/bench/tune: lathe_side.lua's modes and output, on Optuna (4.9.0 for the
bit-for-bit comparison), n_jobs=1. PYTHONPATH finds ../lib/stats.py (timing) and problems.py.
Usage: python optuna_side.py MODE ARGS...
  quality PROBLEM SAMPLER SEEDS TRIALS           in-memory studies, TPESampler(seed=s) with its
                                                 defaults or RandomSampler(seed=s)
  prune PRUNER SEEDS TRIALS STEPS                TPESampler(seed=s) + MedianPruner() or
                                                 SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)
  overhead HISTORY TIMED STORAGE                 STORAGE: memory, or a path for sqlite:///PATH
Prints "threads N" (n_jobs), "os_threads N" (the process's threads, /proc/self/status) and
"seconds T" besides the mode's lines."""
import sys

import optuna

import problems
import stats

optuna.logging.set_verbosity(optuna.logging.WARNING)
mode = sys.argv[1]
print("threads 1")  # study.optimize(n_jobs=1): trials run one after another on this thread
print(f"version {optuna.__version__}")
started = stats.clock()


def g17(v):
    return "nan" if v is None else "%.17g" % v


def trial_rows(study):
    ts = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    return "".join(t.state.name[0] for t in ts), ",".join(g17(t.value) for t in ts)


def sampler(kind, seed):
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)  # defaults: univariate, 10 start-up trials, 24 candidates
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SystemExit(f"unknown sampler {kind}")


if mode == "quality":
    name, kind, seeds, trials = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    f = problems.PROBLEMS[name]
    for seed in range(seeds):
        s = optuna.create_study(study_name=f"{name}-{kind}-{seed}", sampler=sampler(kind, seed), pruner=optuna.pruners.NopPruner())
        s.optimize(f, n_trials=trials)
        print(f"seed {seed} best {g17(s.best_value)} values {trial_rows(s)[1]}")
elif mode == "prune":
    which, seeds, trials, steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    for seed in range(seeds):
        if which == "median":
            pruner = optuna.pruners.MedianPruner()  # defaults: 5 start-up trials, 0 warm-up steps, interval 1
        elif which == "asha":
            pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)
        else:
            raise SystemExit(f"unknown pruner {which}")
        s = optuna.create_study(study_name=f"curves-{which}-{seed}", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)

        def objective(t):
            def report(v, step):
                t.report(v, step)
                if t.should_prune():
                    raise optuna.TrialPruned()
            return problems.curve(t, seed, steps, report)
        s.optimize(objective, n_trials=trials)
        states, values = trial_rows(s)
        print(f"seed {seed} best {g17(s.best_value)} states {states} values {values}")
elif mode == "overhead":
    history, timed, where = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    storage = optuna.storages.InMemoryStorage() if where == "memory" else f"sqlite:///{where}"
    fill = optuna.create_study(study_name="overhead", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    t0 = stats.clock()
    fill.optimize(problems.light, n_trials=history)
    print(f"fill_s {stats.clock() - t0:.6f}")
    # the same study loaded with the TPE sampler: every timed trial sees >= HISTORY completed ones
    s = optuna.load_study(study_name="overhead", storage=storage, sampler=optuna.samplers.TPESampler(seed=1))
    suggest = []

    def objective(t):
        c0 = stats.clock()
        v = problems.light(t)
        suggest.append(stats.clock() - c0)
        return v
    samples = stats.samples(lambda: s.optimize(objective, n_trials=1), timed, 1)
    suggest = suggest[1:]  # the warm-up trial's
    print("trial_s " + " ".join(g17(v) for v in samples))
    print("suggest_s " + " ".join(g17(v / 3) for v in suggest))  # light suggests 3 parameters
    print(f"completed_before {len(s.trials) - timed - 1}")
else:
    raise SystemExit(f"mode must be quality, prune or overhead (got {mode})")
with open("/proc/self/status") as fh:
    print("os_threads " + next(line.split()[1] for line in fh if line.startswith("Threads:")))
print(f"seconds {stats.clock() - started:.3f}")
