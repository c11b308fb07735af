"""track.push and track.start{mlflow = ...} against a real MLflow tracking server.

The tests start `mlflow server` (MLflow pinned in scripts/requirements-mlflow.txt, installed by
scripts/setup --test into $LATHE_MLFLOW_VENV) on a free loopback port with a SQLite backend and
an artifact folder, let Lathe push runs from a real train.fit, and read them back with MLflow's
own Python client (MlflowClient: search_runs, get_metric_history, list_artifacts,
download_artifacts), comparing every param, every metric point and the artifacts' bytes with
the local store, read here with Python's sqlite3.
"""
import hashlib
import http.server
import json
import math
import os
import pathlib
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import lathe_bin

VENV = pathlib.Path(os.environ.get("LATHE_MLFLOW_VENV", pathlib.Path.home() / ".cache/lathe/mlflow-venv"))
PY = VENV / "bin/python"

# What MLflow's client sees of the server, as JSON, for the comparisons below.
READER = r'''
import json, sys, hashlib, tempfile, os
from mlflow.tracking import MlflowClient
c = MlflowClient(sys.argv[1])
out = {}
for exp in c.search_experiments():
    for r in c.search_runs([exp.experiment_id], max_results=1000):
        metrics = {}
        for key in r.data.metrics:
            metrics[key] = [[m.step, None if m.value != m.value else m.value, m.timestamp]
                            for m in c.get_metric_history(r.info.run_id, key)]
        arts = {}
        def walk(path):
            for a in c.list_artifacts(r.info.run_id, path):
                if a.is_dir:
                    walk(a.path)
                else:
                    local = c.download_artifacts(r.info.run_id, a.path, tempfile.mkdtemp())
                    arts[a.path] = hashlib.sha256(open(local, "rb").read()).hexdigest()
        walk(None)
        out[r.info.run_id] = {"experiment": exp.name, "name": r.info.run_name, "status": r.info.status,
                              "start": r.info.start_time, "end": r.info.end_time,
                              "params": r.data.params, "tags": r.data.tags, "metrics": metrics, "artifacts": arts}
print(json.dumps(out))
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not PY.exists():
        pytest.fail(f"MLflow is not installed at {VENV} (scripts/setup --test installs it)")
    d = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(d / "server.log", "w")
    p = subprocess.Popen([str(PY), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                          "--backend-store-uri", f"sqlite:///{d}/mlflow.db", "--artifacts-destination", str(d / "artifacts"),
                          "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=d, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            if urllib.request.urlopen(uri + "/health", timeout=2).read().strip() == b"OK":
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            pytest.fail("mlflow server did not start:\n" + (d / "server.log").read_text()[-3000:])
        time.sleep(0.5)
    yield uri
    os.killpg(p.pid, 15)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
    log.close()


def lathe(code, cwd, env=None, check=True):
    e = dict(os.environ)
    e.update(env or {})
    script = pathlib.Path(cwd) / f"script-{time.monotonic_ns()}.lua"
    script.write_text(code)
    r = subprocess.run([lathe_bin(), "run", str(script)], capture_output=True, text=True, cwd=cwd, env=e, timeout=300)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def read_server(uri):
    r = subprocess.run([str(PY), "-c", READER, uri], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def ms(seconds):
    """Seconds to MLflow's milliseconds, rounded half up as Lathe sends them."""
    return math.floor(seconds * 1000 + 0.5)


def local_store(db):
    """The runs of a Lathe store as MLflow should hold them, read with sqlite3."""
    con = sqlite3.connect(db)
    runs = {}
    for rid, name, status, start, end, parent, exp in con.execute(
            "SELECT r.id, r.name, r.status, r.start_time, r.end_time, r.parent_id, e.name FROM runs r JOIN experiments e ON e.id = r.experiment_id"):
        metrics = {}
        for key, step, value, is_nan, ts in con.execute(
                "SELECT key, step, value, is_nan, timestamp FROM metrics WHERE run_id = ? ORDER BY rowid", (rid,)):
            v = None if is_nan else (value if math.isfinite(value) else math.copysign(1.7976931348623157e308, value))
            metrics.setdefault(key, []).append([step, v, ms(ts)])
        runs[rid] = {
            "name": name, "status": status, "start": ms(start), "end": None if end is None else ms(end),
            "parent": parent, "experiment": exp,
            "params": dict(con.execute("SELECT key, value FROM params WHERE run_id = ?", (rid,))),
            "tags": dict(con.execute("SELECT key, value FROM tags WHERE run_id = ?", (rid,))),
            "metrics": metrics,
            "artifacts": dict(con.execute("SELECT path, sha256 FROM artifacts WHERE run_id = ?", (rid,))),
        }
    con.close()
    return runs


def by_lathe_id(remote):
    out = {}
    for mid, r in remote.items():
        lid = r["tags"].get("lathe.run_id")
        assert lid not in out, f"run {lid} pushed twice"
        out[lid] = dict(r, mlflow_id=mid)
    return out


def same_points(got, want, what):
    assert len(got) == len(want), f"{what}: {len(got)} points on the server, {len(want)} here"
    for g, w in zip(sorted(got, key=lambda p: (p[0], p[2])), sorted(want, key=lambda p: (p[0], p[2]))):
        assert g[0] == w[0] and g[2] == w[2], f"{what}: {g} != {w}"
        if w[1] is None:
            assert g[1] is None, f"{what}: NaN came back as {g[1]}"
        else:
            assert g[1] is not None and g[1] == w[1], f"{what}: {g[1]} != {w[1]}"


def check_same(local, remote, experiment=None):
    """Every local run is on the server with every param, tag, metric point and artifact."""
    remote = by_lathe_id(remote)
    for lid, l in local.items():
        assert lid in remote, f"run {l['name']} is not on the server"
        r = remote[lid]
        assert r["name"] == l["name"] and r["status"] == l["status"]
        assert r["experiment"] == (experiment or l["experiment"])
        assert r["start"] == l["start"] and r["end"] == l["end"]
        assert r["params"] == l["params"]
        for k, v in l["tags"].items():
            assert r["tags"].get(k) == v, f"tag {k}"
        if l["parent"]:
            assert r["tags"]["mlflow.parentRunId"] == remote[l["parent"]]["mlflow_id"]
        assert sorted(r["metrics"]) == sorted(l["metrics"])
        for k in l["metrics"]:
            same_points(r["metrics"][k], l["metrics"][k], f"{l['name']}.{k}")
        assert r["artifacts"] == l["artifacts"], l["name"]
    return remote


FIT = r'''
track.open(DB)
lathe.seed(3)
local outer = track.start{name = "session", experiment = "spam", params = {note = "outer"}, tags = {team = "ml"}}
local x = tensor.randn(96, 4)
local y = x:sum(2):gt(0):long()
local h = train.fit{model = nn.mlp{sizes = {4, 8, 2}}, train = {x = x, y = y}, val = {x = x, y = y}, epochs = 3,
  batch_size = 16, lr = 0.01, metric = "f1", eval_every = 2, quiet = true, track = "mlp"}
local g = nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 8, seed = 1}
lora.apply(g, {r = 4, alpha = 8, targets = {"q_proj", "v_proj"}})
lora.save(g, OUT .. "/adapter")
outer:log{test_f1 = 0.875, odd = 0/0}
for i = 1, 2100 do outer:log{curve = math.sin(i / 100)} end
outer:finish()
'''


def test_push_a_real_fit_and_read_it_back_with_mlflow(server, tmp_path):
    db = tmp_path / "runs.db"
    code = f'DB = "{db}"; OUT = "{tmp_path}"\n' + FIT + f'local res = track.push{{uri = "{server}"}}\nprint(res)\nprint(#res.runs, res.metrics)'
    r = lathe(code, tmp_path)
    local = local_store(db)
    assert len(local) == 2
    total = sum(len(p) for run in local.values() for p in run["metrics"].values())
    assert r.stdout.strip().splitlines()[-1] == f"2\t{total}", r.stdout
    assert "pushed 2 runs" in r.stdout
    fit = next(v for v in local.values() if v["name"] == "mlp")
    assert "loss" in fit["metrics"] and "val_f1" in fit["metrics"] and "session.lua" in fit["artifacts"]
    outer = next(v for v in local.values() if v["name"] == "session")
    assert any(p.startswith("adapter/") for p in outer["artifacts"])
    remote = check_same(local, read_server(server))

    # pushing again changes nothing on the server
    r = lathe(f'track.open("{db}")\nlocal res = track.push{{uri = "{server}"}}\nprint(res.metrics, res.params, res.artifacts, res.runs[1].created)', tmp_path)
    assert r.stdout.split() == ["0", "0", "0", "false"]
    again = by_lathe_id(read_server(server))
    assert {k: v["mlflow_id"] for k, v in again.items()} == {k: v["mlflow_id"] for k, v in remote.items()}

    # new points, a new tag, a renamed run: only those are sent
    r = lathe(f'''track.open("{db}")
local run = track.get("session")
for i = 1, 5 do run:log{{late = i}} end
track.tag(run, {{verdict = "ship"}})
track.rename(run, "session v2")
local res = track.push{{uri = "{server}", runs = {{run}}}}
print(res.metrics, res.tags)''', tmp_path)
    assert r.stdout.split() == ["5", "1"]
    check_same(local_store(db), read_server(server))


class FlakyProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to the MLflow server, but drops the connection on the n-th log-batch."""
    target = ""
    fail_at = 0
    batches = 0

    def log_message(self, *a):
        pass

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.path.endswith("/runs/log-batch"):
            FlakyProxy.batches += 1
            if FlakyProxy.batches == FlakyProxy.fail_at:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        req = urllib.request.Request(self.target + self.path, data=body, method=self.command,
                                     headers={k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")})
        try:
            resp = urllib.request.urlopen(req, timeout=60)
            status, data = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = forward


def test_a_push_cut_halfway_resumes_without_duplicates(server, tmp_path):
    db = tmp_path / "runs.db"
    lathe(f'''track.open("{db}")
local r = track.start{{name = "long", experiment = "cut"}}
for i = 1, 3500 do r:log{{loss = 1 / i}} end
r:finish()''', tmp_path)
    FlakyProxy.target, FlakyProxy.fail_at, FlakyProxy.batches = server, 3, 0
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        via = f"http://127.0.0.1:{proxy.server_address[1]}"
        r = lathe(f'track.open("{db}")\nlocal ok, err = pcall(track.push, {{uri = "{via}", experiment = "cut"}})\nprint(ok)\nprint(err)', tmp_path)
        assert r.stdout.splitlines()[0] == "false"
        assert f"cannot reach the MLflow server at {via}" in r.stdout, r.stdout
        # the server holds the first batches only (each with its count), the store is whole
        part = by_lathe_id(read_server(server))
        (run,) = [v for v in part.values() if v["name"] == "long"]
        assert 0 < len(run["metrics"]["loss"]) < 3500
        assert int(run["tags"]["lathe.pushed_metrics"]) == len(run["metrics"]["loss"])
        local = local_store(db)
        assert len(next(iter(local.values()))["metrics"]["loss"]) == 3500
        # the same push again (through the proxy, which no longer fails) sends the rest once
        r = lathe(f'track.open("{db}")\nprint(track.push{{uri = "{via}", experiment = "cut"}}.metrics)', tmp_path)
        assert int(r.stdout.split()[-1]) == 3500 - len(run["metrics"]["loss"])
    finally:
        proxy.shutdown()
    check_same(local_store(db), {k: v for k, v in read_server(server).items() if v["experiment"] == "cut"})


def test_live_logging_to_mlflow_while_a_run_goes_on(server, tmp_path):
    db, ready, go = tmp_path / "runs.db", tmp_path / "ready", tmp_path / "go"
    script = tmp_path / "live.lua"
    script.write_text(f'''track.open("{db}")
local r = track.start{{name = "live", experiment = "live", mlflow = "{server}", params = {{lr = 0.1}}}}
for i = 1, 40 do r:log{{loss = 1 / i}} end
os.execute("sleep 3")
io.open("{ready}", "w"):close()
for _ = 1, 600 do
  if io.open("{go}") then break end
  os.execute("sleep 0.1")
end
for i = 41, 60 do r:log{{loss = 1 / i}} end
r:finish()
''')
    p = subprocess.Popen([lathe_bin(), "run", str(script)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while not ready.exists():
            assert p.poll() is None, p.stdout.read()
            assert time.time() < deadline, "the script did not reach its pause"
            time.sleep(0.1)
        # while the run goes on, MLflow already has it, RUNNING, with the points so far
        mid = by_lathe_id({k: v for k, v in read_server(server).items() if v["experiment"] == "live"})
        (run,) = mid.values()
        assert run["status"] == "RUNNING"
        assert len(run["metrics"]["loss"]) == 40 and run["params"] == {"lr": "0.1"}
        go.touch()
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
        assert "warning" not in out, out
    finally:
        if p.poll() is None:
            p.kill()
    check_same(local_store(db), {k: v for k, v in read_server(server).items() if v["experiment"] == "live"})


def test_errors_name_the_server_and_what_it_answered(server, tmp_path):
    db = tmp_path / "runs.db"
    port = free_port()
    r = lathe(f'''track.open("{db}")
local r = track.start{{name = "x"}}
r:finish()
print(select(2, pcall(track.push, {{uri = "http://127.0.0.1:{port}"}})))
print(select(2, pcall(track.start, {{name = "y", mlflow = "http://127.0.0.1:{port}"}})))
print(track.get("y").status)
print(select(2, pcall(track.push, {{uri = "{server}/nothing-here"}})))
print(#track.runs())''', tmp_path)
    lines = r.stdout.splitlines()
    assert f"cannot reach the MLflow server at http://127.0.0.1:{port}" in lines[0]
    assert f"cannot reach the MLflow server at http://127.0.0.1:{port}" in lines[1]
    assert lines[2] == "FAILED"
    assert "answered" in lines[3] and "404" in lines[3], lines[3]
    assert lines[4] == "2"  # nothing lost locally
