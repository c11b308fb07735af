-- The run store (track): real SQLite files, other Lathe processes writing at once, killed
-- processes, foreign and damaged files, and train.fit recording itself.
local T = require("testlib")

local function fresh()
  local dir = T.tmpdir()
  track.open(dir .. "/runs.db")
  return dir
end

local function sq(s) return T.sh_quote(s) end

T.test("runs keep params, metric points (NaN too), tags and artifacts; the store reads them back after reopening", function()
  local dir = fresh()
  local run = track.start{name = "baseline", experiment = "spam", params = {lr = 0.01, method = "lora", r = 8}, tags = {stage = "draft"}}
  T.eq(track.active(), run)
  for i = 1, 5 do run:log{loss = 1 / i} end
  run:log("f1", 0/0, {step = 7})
  -- the same run fetched again continues each metric's steps
  track.get(run.id):log{loss = 1 / 6}
  run:log{f1 = 0.9}
  run:tag("stage", "final")
  local f = dir .. "/note.txt"
  T.write(f, "hello artifacts\n")
  local a = run:artifact(f, {name = "notes/note.txt"})
  local want = T.run("sha256sum " .. sq(f)):match("^(%x+)")
  T.eq(a.sha256, want)
  T.eq(T.read(run.artifact_dir .. "/notes/note.txt"), "hello artifacts\n")
  run:finish()
  T.eq(track.active(), nil)
  -- a new process reads what this one wrote
  local out = T.lathe("-e " .. sq(string.format([[
    track.open(%q)
    local r = track.get("baseline")
    local h = r:history("loss")
    local f1 = r:history("f1")
    print(r.status, r.experiment, r.params.lr, r.params.r, r.tags.stage, #h.values, h.values[5], h.steps[6])
    print(f1.steps[1], f1.values[1] ~= f1.values[1], f1.steps[2], f1.values[2], r.metrics.f1, r.artifacts[1].path)]], dir .. "/runs.db")))
  T.eq(out, "FINISHED\tspam\t0.01\t8\tfinal\t6\t0.2\t5\n7\ttrue\t8\t0.9\t0.9\tnotes/note.txt\n")
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("MLflow's rules: a param keeps its value, a finished run takes no points, names and values are checked", function()
  local dir = fresh()
  local run = track.start{params = {lr = 0.1}}
  run:param("lr", 0.1)  -- the same value again is fine
  T.raises(function() run:param("lr", 0.2) end, "param 'lr' of run " .. run.id .. " is already \"0.1\"; params cannot change")
  T.raises(function() run:log{loss = "low"} end, "metric 'loss' is string \"low\"; expected a number")
  T.raises(function() run:log{[""] = 1} end, "metric names must have 1 to 250 bytes")
  T.raises(function() run:param("big", string.rep("x", 7000)) end, "MLflow keeps at most 6000")
  T.raises(function() run:artifact(dir .. "/missing.txt") end, "missing.txt")
  T.raises(function() run:artifact(dir .. "/runs.db", {name = "../escape"}) end, "must be a relative path inside the run's folder")
  run:finish()
  -- as MLflow: a finished run still takes points (a test score after training); a deleted one not
  run:log{test_f1 = 0.5}
  T.eq(run.metrics.test_f1, 0.5)
  T.eq(run.status, "FINISHED")
  local id = run.id
  track.delete(run)
  T.raises(function() run:log{loss = 1} end, "run " .. id .. " is not in")
  T.raises(function() track.get("no-such-run") end, "no run \"no-such-run\"")
  T.raises(function() track.start{params = {lr = {}}} end, "bad params.lr (expected string, number or boolean, got table")
  track.off()
  T.raises(function() track.start{} end, "tracking is off")
  os.execute("rm -rf " .. sq(dir))
end)

T.test("runs, best and compare: a data table per run, the best by a metric, runs side by side", function()
  local dir = fresh()
  for i, cfg in ipairs({{lr = 0.1, f1 = 0.81, loss = 0.5}, {lr = 0.01, f1 = 0.93, loss = 0.2}, {lr = 0.001, f1 = 0.88, loss = 0.3}}) do
    local r = track.start{name = "lr" .. i, params = {lr = cfg.lr, r = 8}}
    r:log{f1 = cfg.f1, loss = cfg.loss}
    r:finish()
  end
  local t = track.runs{order_by = "-metrics.f1"}
  T.eq(#t, 3)
  T.same(t:column("name"), {"lr2", "lr3", "lr1"})
  T.same(t:column("params.lr"), {0.01, 0.001, 0.1})
  T.eq(#track.runs{where = function(row) return row["metrics.loss"] < 0.4 end}, 2)
  T.eq(#track.runs{limit = 1}, 1)
  T.raises(function() track.runs{order_by = "metrics.nope"} end, "no column 'metrics.nope'")
  T.eq(track.best{metric = "f1"}.name, "lr2")
  T.eq(track.best{metric = "loss"}.name, "lr2")  -- loss: lower is better
  T.eq(track.best{metric = "f1", mode = "min"}.name, "lr1")
  T.eq(track.best{metric = "absent"}, nil)
  local cmp = track.compare("lr1", "lr2")
  T.same(cmp:column("field"), {"lr", "r", "status", "f1", "loss"})
  T.same(cmp:column("kind"), {"param (differs)", "param", "run", "metric", "metric"})
  T.close(cmp:column("change")[4], 0.93 - 0.81, 1e-12)
  local text = tostring(cmp)
  T.ok(text:find("lr1", 1, true) and text:find("lr2", 1, true), text)
  track.rename("lr1", "first")
  T.eq(track.get("first").params.lr, "0.1")
  track.delete("first")
  T.eq(#track.runs(), 2)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("two processes logging into one store at once: every point arrives, none fails with 'database is locked'", function()
  local dir = T.tmpdir()
  local db = dir .. "/shared.db"
  local code = string.format([[track.open(%q)
    local r = track.start{name = arg[1]}
    for i = 1, 300 do r:log{x = i} end
    r:finish()
    print("done")]], db)
  T.write(dir .. "/writer.lua", code)
  local cmd = string.format("(%s run %s A > %s 2>&1 & %s run %s B > %s 2>&1 & %s run %s C > %s 2>&1 & wait)",
    sq(T.bin), sq(dir .. "/writer.lua"), sq(dir .. "/a.out"), sq(T.bin), sq(dir .. "/writer.lua"), sq(dir .. "/b.out"),
    sq(T.bin), sq(dir .. "/writer.lua"), sq(dir .. "/c.out"))
  os.execute(cmd)
  for _, w in ipairs({"a", "b", "c"}) do T.eq(T.read(dir .. "/" .. w .. ".out"), "done\n") end
  track.open(db)
  for _, name in ipairs({"A", "B", "C"}) do
    local h = track.get(name):history("x")
    T.eq(#h.values, 300)
    T.eq(h.values[300], 300)
  end
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("a run whose process was killed is marked KILLED when the store is next opened", function()
  local dir = T.tmpdir()
  local db = dir .. "/runs.db"
  T.write(dir .. "/victim.lua", string.format([[track.open(%q)
    local r = track.start{name = "victim"}
    r:log{loss = 1}
    -- points are written within 0.2 s (a kill loses at most that much)
    local t0 = os.clock()
    while os.clock() - t0 < 0.5 do end
    io.open(%q, "w"):close()
    while true do end]], db, dir .. "/ready"))
  os.execute(string.format("%s run %s >/dev/null 2>&1 & echo $! > %s", sq(T.bin), sq(dir .. "/victim.lua"), sq(dir .. "/pid")))
  for _ = 1, 200 do
    if io.open(dir .. "/ready") then break end
    os.execute("sleep 0.05")
  end
  local pid = T.read(dir .. "/pid"):match("%d+")
  -- still alive: another process sees it running
  T.eq(T.lathe("-e " .. sq(string.format("track.open(%q) io.write(track.get('victim').status)", db))), "RUNNING")
  os.execute("kill -9 " .. pid .. "; sleep 0.2")
  track.open(db)
  local r = track.get("victim")
  T.eq(r.status, "KILLED")
  T.eq(r.metrics.loss, 1)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("a script that fails or ends leaves no run RUNNING: FAILED on an error, FINISHED otherwise", function()
  local dir = T.tmpdir()
  local db = dir .. "/runs.db"
  T.write(dir .. "/fails.lua", string.format("track.open(%q) track.start{name = 'f'} error('boom')", db))
  T.write(dir .. "/ends.lua", string.format("track.open(%q) track.start{name = 'e'}", db))
  T.run(sq(T.bin) .. " run " .. sq(dir .. "/fails.lua") .. " 2>/dev/null")
  T.run(sq(T.bin) .. " run " .. sq(dir .. "/ends.lua"))
  track.open(db)
  T.eq(track.get("f").status, "FAILED")
  T.eq(track.get("e").status, "FINISHED")
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("foreign, damaged, newer and unwritable stores are clear errors; nothing is overwritten", function()
  local dir = T.tmpdir()
  -- not a database at all
  T.write(dir .. "/notes.db", "these are my notes, not a database\n")
  T.raises(function() track.open(dir .. "/notes.db") end, "is not a SQLite database")
  T.eq(T.read(dir .. "/notes.db"), "these are my notes, not a database\n")
  -- another program's SQLite file
  os.execute("sqlite3 " .. sq(dir .. "/other.db") .. " 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'")
  T.raises(function() track.open(dir .. "/other.db") end, "SQLite database of another program")
  T.eq(T.run("sqlite3 " .. sq(dir .. "/other.db") .. " 'SELECT x FROM t'"), "1\n")
  -- a store from a newer Lathe
  track.open(dir .. "/new.db")
  track.off()
  os.execute("sqlite3 " .. sq(dir .. "/new.db") .. " 'PRAGMA user_version = 99'")
  T.raises(function() track.open(dir .. "/new.db") end, "written by a newer Lathe (store version 99")
  -- a folder given as the store; a folder that cannot be written (not as root: root writes anyway)
  T.raises(function() track.open(dir) end, "is a folder; the run store is a file")
  T.raises(function() track.open(dir .. "/no/such/folder/runs.db") end, "cannot open")
  -- a failed open keeps the previous store
  track.open(dir .. "/good.db")
  pcall(track.open, dir .. "/notes.db")
  T.eq(track.path(), dir .. "/good.db")
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("train.fit records its run: options, model, data fingerprint, per-step loss, evaluations, the session", function()
  local dir = fresh()
  lathe.seed(3)
  local x = tensor.randn(64, 4)
  local y = x:sum(2):gt(0):long()
  local model = nn.mlp{sizes = {4, 8, 2}}
  local h = train.fit{model = model, train = {x = x, y = y}, val = {x = x, y = y}, epochs = 2, batch_size = 16, lr = 0.01,
    metric = "accuracy", quiet = true, track = "mlp probe"}
  local r = track.get(h.run_id)
  T.eq(r.name, "mlp probe")
  T.eq(r.status, "FINISHED")
  T.eq(r.params.lr, "0.01")
  T.eq(r.params.batch_size, "16")
  T.eq(r.params.total_updates, "8")
  T.eq(r.params["model.params"], tostring(model:num_params()))
  T.eq(r.params["data.train_rows"], "64")
  T.eq(#r.params["data.train_sha256"], 64)
  local loss = r:history("loss")
  T.eq(#loss.values, #h.loss)
  T.close(loss.values[#loss.values], h.loss[#h.loss], 0)
  T.eq(#r:history("val_accuracy").values, #h.evals)
  T.eq(r.tags["lathe.source"], "train.fit")
  T.eq(r.artifacts[1].path, "session.lua")
  -- track = false records nothing; a fit inside a started run is nested in it
  local before = #track.runs()
  train.fit{model = model, train = {x = x, y = y}, epochs = 1, batch_size = 32, quiet = true, track = false}
  T.eq(#track.runs(), before)
  local outer = track.start{name = "sweep"}
  local h2 = train.fit{model = model, train = {x = x, y = y}, epochs = 1, batch_size = 32, quiet = true}
  T.eq(track.get(h2.run_id).parent, outer.id)
  outer:finish()
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("lathe run keeps the script as the run's session.lua; LATHE_TRACKING=off records nothing", function()
  local dir = T.tmpdir()
  local script = [[lathe.seed(1)
local x = tensor.randn(32, 2)
local h = train.fit{model = nn.mlp{sizes = {2, 2}}, train = {x = x, y = x:sum(2):gt(0):long()}, epochs = 1, quiet = true}
print(h.run_id ~= nil)]]
  T.write(dir .. "/fit.lua", script)
  local bin = (T.run("realpath " .. sq(T.bin)):gsub("\n$", ""))
  T.eq(T.run("cd " .. sq(dir) .. " && env -u LATHE_TRACKING " .. sq(bin) .. " run fit.lua"), "true\n")
  track.open(dir .. "/lathe-runs.db")  -- the default store, in the working folder
  local r = track.runs()
  T.eq(#r, 1)
  local run = track.get(r:column("id")[1])
  T.eq(T.read(run.artifact_dir .. "/session.lua"), script)
  track.off()
  T.eq(T.run("cd " .. sq(dir) .. " && LATHE_TRACKING=off " .. sq(bin) .. " -e 'print(track.path())'"), "nil\n")
  os.execute("rm -rf " .. sq(dir))
end)

T.test("lathe runs: list, show, compare and export a store from the command line", function()
  local dir = fresh()
  for i, f1 in ipairs({0.7, 0.9}) do
    local r = track.start{name = "cli" .. i, params = {lr = i / 100}}
    r:log{f1 = f1}
    r:finish()
  end
  track.off()
  local store = " --store " .. sq(dir .. "/runs.db")
  local list = T.lathe("runs list" .. store .. " --order-by=-metrics.f1")
  T.ok(list:find("DataTable: 2 rows", 1, true) and list:find("cli2", 1, true) < list:find("cli1", 1, true), list)
  T.ok(T.lathe("runs show cli1" .. store):find("Run cli1 (", 1, true))
  local cmp = T.lathe("runs compare cli1 cli2" .. store)
  T.ok(cmp:find("param (differs)", 1, true) and cmp:find("0.2", 1, true), cmp)
  T.lathe("runs export --format csv --out " .. sq(dir .. "/runs.csv") .. store)
  local t = data.read_csv(dir .. "/runs.csv")
  T.eq(#t, 2)
  T.same(t:sort("name"):column("metrics.f1"), {0.7, 0.9})
  local jsonl = T.lathe("runs export --format jsonl" .. store)
  T.eq(select(2, jsonl:gsub("\n", "")), 2)
  T.ok(jsonl:find('"name":"cli1"', 1, true), jsonl)
  local _, code, out = T.run(sq(T.bin) .. " runs list --store " .. sq(dir .. "/none.db"))
  T.ok(code ~= 0)
  os.execute("rm -rf " .. sq(dir))
end)

T.test("lora.save and hf.save during a run keep their files with it", function()
  local dir = fresh()
  local m = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, naming = "llama", seed = 1}
  lora.apply(m, {r = 2})
  local run = track.start{name = "with files"}
  lora.save(m, dir .. "/adapter")
  hf.save(m, dir .. "/model")
  run:finish()
  local kept = {}
  for _, a in ipairs(track.get("with files").artifacts) do kept[a.path] = a.sha256 end
  T.eq(kept["adapter/adapter_model.safetensors"], (T.run("sha256sum " .. sq(dir .. "/adapter/adapter_model.safetensors")):match("^(%x+)")))
  T.ok(kept["adapter/adapter_config.json"] and kept["model/config.json"] and kept["model/model.safetensors"])
  -- no active run: nothing attached, nothing fails
  lora.save(m, dir .. "/adapter2")
  T.eq(#track.runs(), 1)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("a store in a folder that cannot be written is a clear error; the store there stays readable", function()
  -- root writes anywhere: run the check as an unprivileged user (as the fuzz does), else as the
  -- user this is when it is not root
  local bin = (T.run("realpath " .. sq(T.bin)):gsub("\n$", ""))
  local as = ""
  if (T.run("id -u")):match("^0\n") then
    local _, _, st = T.run("command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups " .. sq(bin) .. " -e ''")
    if st ~= 0 then T.skip("running as root, and user nobody cannot run " .. bin) end
    as = "setpriv --reuid=65534 --regid=65534 --clear-groups "
  end
  local dir = T.tmpdir()
  os.execute("chmod 755 " .. sq(dir))
  -- a store made while the folder could be written, then the folder made read-only
  track.open(dir .. "/runs.db")
  local r = track.start{name = "kept"}
  r:log{f1 = 0.5}
  r:finish()
  track.off()
  os.execute("chmod 755 " .. sq(dir .. "/runs.db") .. "; chmod 555 " .. sq(dir))
  local function lathe(code) return T.run(as .. sq(bin) .. " -e " .. sq(code)) end
  local _, err, st = lathe(string.format("track.open(%q)", dir .. "/new.db"))
  T.ok(st ~= 0 and err:find("cannot open " .. dir .. "/new.db", 1, true), err)
  _, err, st = lathe(string.format("track.open(%q) track.start{}", dir .. "/runs.db"))
  T.ok(st ~= 0 and (err:find("cannot be written", 1, true) or err:find("cannot open", 1, true)), err)
  os.execute("chmod 755 " .. sq(dir))
  track.open(dir .. "/runs.db")
  T.eq(track.get("kept").metrics.f1, 0.5)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("a full disk (here a file size limit) is a clear error; the store stays whole and keeps what it had", function()
  local bin = (T.run("realpath " .. sq(T.bin)):gsub("\n$", ""))
  local dir = T.tmpdir()
  local db = dir .. "/runs.db"
  track.open(db)
  local r = track.start{name = "before"}
  r:log{x = 1}
  r:finish()
  track.off()
  -- a process that may not grow any file past ~256 KiB logs far more than that
  local code = string.format([[track.open(%q)
    local r = track.start{name = "big"}
    for i = 1, 300000 do r:log("x", i) end
    r:finish()]], db)
  local _, err, st = T.run("ulimit -f 512; " .. sq(bin) .. " -e " .. sq(code))
  T.ok(st ~= 0 and err:find("the disk is full", 1, true), err)
  T.ok(not err:find("Fatal error", 1, true) and not err:find("core dumped", 1, true), err)
  T.eq(T.run("sqlite3 " .. sq(db) .. " 'PRAGMA integrity_check'"), "ok\n")
  track.open(db)
  T.eq(track.get("before").metrics.x, 1)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("reports and checkpoints made during a run are kept with it", function()
  local dir = fresh()
  local run = track.start{name = "eval"}
  local r1 = metrics.report({"a", "b", "b", "a"}, {"a", "b", "a", "a"})
  metrics.report({"a", "b"}, {"a", "b"})
  local md = cost.report({gpu_hours = 3, price = 2.5}, {title = "budget"})
  lathe.seed(2)
  local x = tensor.randn(32, 3)
  local h = train.fit{model = nn.mlp{sizes = {3, 4, 2}}, train = {x = x, y = x:sum(2):gt(0):long()}, epochs = 1, batch_size = 16,
    quiet = true, checkpoint_dir = dir .. "/ck"}
  run:finish()
  local got = track.get("eval")
  local paths = {}
  for _, a in ipairs(got.artifacts) do paths[a.path] = a end
  T.ok(paths["reports/classification_report.txt"] and paths["reports/classification_report-2.txt"] and paths["reports/cost.md"])
  T.eq(T.read(track.path():gsub("%.db$", "") .. "-artifacts/" .. run.id .. "/reports/classification_report.txt"), r1.text)
  T.eq(T.read(track.path():gsub("%.db$", "") .. "-artifacts/" .. run.id .. "/reports/cost.md"), md)
  -- the headline numbers as metrics, one step per report
  T.same(got:history("report.accuracy").values, {0.75, 1})
  T.close(got.metrics["report.macro_f1"], 1, 0)
  -- the fit's checkpoint is copied into the fit's own run, file for file
  local fit = track.get(h.run_id)
  local n = 0
  for _, a in ipairs(fit.artifacts) do
    if a.path:find("^checkpoint/") then
      n = n + 1
      local rel = a.path:sub(#"checkpoint/" + 1)
      T.eq(T.read(track.path():gsub("%.db$", "") .. "-artifacts/" .. fit.id .. "/" .. a.path), T.read(h.checkpoint .. "/" .. rel))
    end
  end
  T.ok(n >= 2, "checkpoint files kept: " .. n)
  -- no active run: nothing is attached anywhere
  local before = #track.get("eval").artifacts
  metrics.report({"a"}, {"a"})
  T.eq(#track.get("eval").artifacts, before)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("track.push and track.start{mlflow=}: bad addresses and unreachable servers are clear errors", function()
  local dir = fresh()
  local r = track.start{name = "local only"}
  r:finish()
  T.raises(function() track.push{uri = "ftp://example.org"} end, "over HTTP")
  T.raises(function() track.push{uri = "http://127.0.0.1:9"} end, "cannot reach the MLflow server at http://127.0.0.1:9")
  T.raises(function() track.push{uri = "http://127.0.0.1:9", runs = {42}} end, "item 1: expected a Run, an id or a name, got")
  T.raises(function() track.push{uri = "http://127.0.0.1:9", runs = "nope"} end, "no run \"nope\"")
  T.raises(function() track.push{uri = "http://127.0.0.1:9", timeout = 0} end, "timeout")
  T.raises(function() track.start{name = "mirrored", mlflow = "http://127.0.0.1:9"} end, "cannot reach the MLflow server")
  T.eq(track.get("mirrored").status, "FAILED")
  T.eq(track.active(), nil)
  T.eq(track.get("local only").status, "FINISHED")
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("a store written by an earlier Lathe (each schema version, Tests/fixtures/track) opens, reads and takes new runs", function()
  local dir = T.tmpdir()
  local db = dir .. "/old.db"
  os.execute("cp " .. sq(T.root .. "/Tests/fixtures/track/store-v1.db") .. " " .. sq(db))
  track.open(db)
  local t = track.runs{order_by = "name"}
  T.same(t:column("name"), {"baseline", "fold 1", "lora"})
  local base = track.get("baseline")
  T.eq(base.status, "FINISHED")
  T.same(base.params, {lr = "0.01", method = "full"})
  T.eq(base.tags.note, "v1 fixture")
  T.same(base:history("loss").values, {1, 0.5, 1 / 3, 0.25, 0.2})
  T.ok(base.metrics.odd ~= base.metrics.odd, "NaN stays NaN")
  T.eq(track.get("fold 1").parent, track.get("lora").id)
  T.eq(track.get("lora").status, "FAILED")
  local r = track.start{name = "new", experiment = "spam"}
  r:log{f1 = 0.95}
  r:finish()
  T.eq(track.best{metric = "f1", experiment = "spam"}.name, "new")
  T.eq(T.run("sqlite3 " .. sq(db) .. " 'PRAGMA user_version'"), "1\n")
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)

T.test("train.fit records the model's architecture, its LoRA adapters, the frozen parts and CPU time", function()
  local dir = fresh()
  local ids = {}
  local text = string.rep("the quick brown fox jumps over the lazy dog. ", 10)
  for i = 1, #text do ids[i] = text:byte(i) % 64 end
  local data = train.windows(ids, 16)
  local g = nn.gpt{vocab = 64, layers = 2, dim = 32, heads = 4, seq = 16, seed = 21}
  lora.apply(g, {r = 4, alpha = 8, dropout = 0.1, targets = {"q_proj", "v_proj"}, seed = 1})
  local h = train.fit{model = g, train = data, epochs = 1, batch_size = 8, lr = 1e-2, quiet = true, track = "lora fit"}
  local p = track.get(h.run_id).params
  T.eq(p["model.class"], "DecoderLM")
  T.eq(p["model.layers"], "2")
  T.eq(p["model.dim"], "32")
  T.eq(p["model.heads"], "4")
  T.eq(p["model.vocab"], "64")
  T.eq(p["lora.r"], "4")
  T.eq(p["lora.alpha"], "8.0")
  T.eq(p["lora.targets"], "q_proj,v_proj")
  T.eq(p["lora.layers"], "4")
  T.eq(p["model.trainable_params"], tostring(4 * 4 * (32 + 32)))
  T.eq(tonumber(p["model.frozen_params"]), g:num_params() - 4 * 4 * (32 + 32))
  T.ok(p["model.frozen"]:find("embed", 1, true), p["model.frozen"])
  local cpu = track.get(h.run_id).metrics.cpu_seconds
  T.ok(cpu and cpu > 0 and cpu < 600, tostring(cpu))
  track.off()
  os.execute("rm -rf " .. sq(dir))
end)
