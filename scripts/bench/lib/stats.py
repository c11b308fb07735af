"""Timing, thread counts and peers for the benchmarks' Python sides.

lib/stats.lua is its twin for the Lua sides: the same clocks (CLOCK_MONOTONIC wall time, or the
process CPU time of all threads, as lathe.clock() returns them), the same untimed warm-up calls,
the same number of timed repetitions and the same median, so both sides of a comparison are
measured alike. Drivers import it with sys.path; child processes find it (and stats.lua) through
the environment that bench_env() returns.

Thread counts: LATHE_THREADS is the count both sides run at; bench_env() sets it together with
every peer's knob (OpenMP, OpenBLAS, MKL, rayon), stats.lua applies it with lathe.threads(n),
torch sides with torch.set_num_threads(threads()).

Missing peers: a peer library that cannot be imported is reported on its own line,
"peer NAME missing: why", and the bench exits with status 2 unless SKIP_PEERS names it
(comma-separated names, or "all")."""
import importlib
import os
import sys
import time

WARMUP = 1  # untimed calls before the timed ones
REPS = 5    # timed calls when a bench does not say otherwise
LIB = os.path.dirname(os.path.abspath(__file__))


def clock(kind="wall"):
    """Seconds on the named clock: "wall" is CLOCK_MONOTONIC, "cpu" the process's CPU time."""
    if kind == "wall":
        return time.clock_gettime(time.CLOCK_MONOTONIC)
    if kind == "cpu":
        return time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID)
    raise ValueError(f"stats.clock: kind must be 'wall' or 'cpu' (got {kind!r})")


def median(xs):
    """The middle value; the mean of the two middle ones for an even count."""
    s = sorted(xs)
    if not s:
        raise ValueError("stats.median: xs is empty (expected at least one value)")
    h = len(s) // 2
    return s[h] if len(s) % 2 else (s[h - 1] + s[h]) / 2


def samples(fn, reps=REPS, warmup=WARMUP, kind="wall"):
    """Calls fn `warmup` times untimed, then `reps` times timed; returns the durations (s)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = clock(kind)
        fn()
        out.append(clock(kind) - t0)
    return out


def timeit(fn, reps=REPS, warmup=WARMUP, kind="wall"):
    """The median of samples(fn, reps, warmup, kind), in seconds."""
    return median(samples(fn, reps, warmup, kind))


def threads(default=None):
    """The thread count this side runs at: LATHE_THREADS, else `default`, else the core count."""
    v = os.environ.get("LATHE_THREADS")
    return int(v) if v else (default or os.cpu_count() or 1)


def bench_env(n, **extra):
    """The environment for a bench's child processes at n threads: LATHE_THREADS and the peers'
    thread knobs all say n, and LUA_PATH / PYTHONPATH find these helpers."""
    env = dict(os.environ, **{k: str(n) for k in (
        "LATHE_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS")})
    env["LUA_PATH"] = os.path.join(LIB, "?.lua") + ";" + os.environ.get("LUA_PATH", ";")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (LIB, os.environ.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def stop(message):
    """Ends the bench with status 2 (a missing peer or tool), the reason on stderr."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


def skipped(name):
    wanted = [s.strip() for s in os.environ.get("SKIP_PEERS", "").split(",")]
    return name in wanted or "all" in wanted


def missing(name, why):
    """Reports a missing peer on its own line; exits with status 2 unless SKIP_PEERS names it."""
    if skipped(name):
        print(f"peer {name} missing: {why} (skipped: SKIP_PEERS)", flush=True)
        return None
    print(f"peer {name} missing: {why}", flush=True)
    stop(f"bench stopped: peer {name} is missing (SKIP_PEERS={name} runs without it)")


def peers(*specs):
    """Imports each (name, module, install hint); reports every one that fails, then exits
    unless SKIP_PEERS names all of those. Returns {name: module, or None when skipped}."""
    found, lost = {}, []
    for name, module, hint in specs:
        try:
            found[name] = importlib.import_module(module)
        except Exception as e:  # a broken install is as missing as an absent one
            found[name] = None
            lost.append(name)
            why = ([l for l in str(e).splitlines() if l.strip()] or [""])[-1].strip()  # one line
            print(f"peer {name} missing: {type(e).__name__}: {why} ({hint})"
                  + (" (skipped: SKIP_PEERS)" if skipped(name) else ""), flush=True)
    lost_now = [n for n in lost if not skipped(n)]
    if lost_now:
        stop(f"bench stopped: missing peer(s) {', '.join(lost_now)} (SKIP_PEERS={','.join(lost_now)} runs without them)")
    return found
