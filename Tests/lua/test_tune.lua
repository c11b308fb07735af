-- Hyperparameter search (tune): studies in real run stores, samplers, pruners, train.fit
-- trials, other processes sharing a study, killed processes, bad input.
local T = require("testlib")
local sq = T.sh_quote

local function fresh()
  local dir = T.tmpdir()
  track.open(dir .. "/runs.db")
  return dir
end

local function done(dir)
  track.off()
  os.execute("rm -rf " .. sq(dir))
end

local function quadratic(t)
  local x, y = t:float("x", -10, 10), t:float("y", -10, 10)
  return (x - 2) ^ 2 + (y + 1) ^ 2
end

T.test("a study is created, resumed by name, keeps its direction, and its trials are runs nested in it", function()
  local dir = fresh()
  local s = tune.study{name = "q", seed = 7}
  s:optimize(quadratic, {n_trials = 5, quiet = true})
  local again = tune.study{name = "q", seed = 7}
  again:optimize(quadratic, {n_trials = 3, quiet = true})
  local t = again:trials()
  T.same(t:column("number"), {0, 1, 2, 3, 4, 5, 6, 7})
  for _, st in ipairs(t:column("state")) do T.eq(st, "COMPLETE") end
  local best = again:best()
  local min = math.huge
  for _, v in ipairs(t:column("value")) do min = math.min(min, v) end
  T.eq(best.value, min)
  local run = track.get(best.run_id)
  T.eq(run.parent, again.run_id)
  T.eq(tonumber(run.params.x), best.params.x)
  T.eq(run.metrics.value, best.value)
  T.raises(function() tune.study{name = "q", direction = "maximize"} end, "was created to minimize")
  T.ok(tostring(again):find("8 trials, 8 complete", 1, true), tostring(again))
  done(dir)
end)

T.test("the same seed gives the same suggestions (random and TPE)", function()
  local function run(sampler, seed)
    local dir = fresh()
    local s = tune.study{name = "r", sampler = sampler, seed = seed}
    s:optimize(function(t)
      local lr = t:float("lr", 1e-5, 1e-1, {log = true})
      local r = t:int("r", 2, 64, {log = true})
      local m = t:choice("method", {"lora", "full", "frozen"})
      return math.log(lr) ^ 2 + r / 10 + (m == "lora" and 0 or 1)
    end, {n_trials = 14, quiet = true})
    local t = s:trials()
    local out = {t:column("params.lr"), t:column("params.r"), t:column("params.method")}
    done(dir)
    return out
  end
  for _, sampler in ipairs({"random", "tpe"}) do
    local a, b, c = run(sampler, 11), run(sampler, 11), run(sampler, 12)
    T.same(a, b, sampler)
    T.ok(not T.deep_equal(a[1], c[1]), sampler .. ": another seed, other values")
    for i = 1, 14 do
      T.ok(a[1][i] >= 1e-5 and a[1][i] <= 1e-1 and a[2][i] >= 2 and a[2][i] <= 64 and math.type(a[2][i]) == "integer", sampler)
    end
  end
end)

T.test("TPE finds a better point than random search with the same budget", function()
  local function best(sampler, seed)
    local dir = fresh()
    local s = tune.study{name = "b", sampler = sampler, seed = seed, pruner = "none"}
    s:optimize(quadratic, {n_trials = 40, quiet = true})
    local v = s:best().value
    done(dir)
    return v
  end
  local wins = 0
  for seed = 1, 5 do
    if best("tpe", seed) < best("random", seed) then wins = wins + 1 end
  end
  T.ok(wins >= 4, "TPE better in " .. wins .. " of 5 seeds")
end)

T.test("a grid tries every combination exactly once, then stops", function()
  local dir = fresh()
  local s = tune.study{name = "g", sampler = tune.grid{r = {4, 8, 16}, method = {"lora", "full"}}, seed = 1}
  s:optimize(function(t) return t:int("r", 1, 64) + (t:choice("method", {"lora", "full"}) == "lora" and 0 or 100) end, {quiet = true})
  local t = s:trials()
  T.eq(#t, 6)
  local seen = {}
  for i = 1, #t do
    if t:column("state")[i] == "COMPLETE" then
      local key = t:column("params.r")[i] .. "/" .. t:column("params.method")[i]
      T.ok(not seen[key], "duplicate " .. key)
      seen[key] = true
    end
  end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  T.eq(n, 6)
  T.raises(function()
    tune.study{name = "g2", sampler = tune.grid{r = {4}}}:optimize(function(t) return t:float("lr", 0, 1) end, {quiet = true, catch = false})
  end, "lr is not in the grid")
  done(dir)
end)

T.test("the median pruner stops trials whose reports are worse than the median, as PRUNED with their last report", function()
  local dir = fresh()
  local s = tune.study{name = "p", direction = "maximize", seed = 3, pruner = tune.median{startup_trials = 3}}
  s:optimize(function(t)
    local q = t:float("q", 0, 1)
    for step = 1, 10 do
      t:report(q * step, step)
      if t:should_prune() then tune.pruned() end
    end
    return q * 10
  end, {n_trials = 20, quiet = true})
  local t = s:trials()
  local pruned, complete = 0, 0
  for i = 1, #t do
    local st = t:column("state")[i]
    if st == "PRUNED" then
      pruned = pruned + 1
      T.ok(t:column("value")[i] < 10, "a pruned trial's value is its last report")
    elseif st == "COMPLETE" then
      complete = complete + 1
    end
  end
  T.ok(pruned >= 3 and complete >= 3, pruned .. " pruned, " .. complete .. " complete")
  done(dir)
end)

T.test("successive halving (ASHA) keeps the top third at each rung", function()
  local dir = fresh()
  local s = tune.study{name = "asha", seed = 5, pruner = tune.asha{min_resource = 1, reduction_factor = 3}}
  s:optimize(function(t)
    local q = t:float("q", 0, 1)
    for step = 1, 9 do
      t:report(q + 1 / step, step)
      if t:should_prune() then tune.pruned() end
    end
    return q
  end, {n_trials = 15, quiet = true})
  local states = s:trials():column("state")
  local pruned = 0
  for _, st in ipairs(states) do if st == "PRUNED" then pruned = pruned + 1 end end
  T.ok(pruned >= 6, pruned .. " of 15 pruned")
  -- rungs are kept on the trials' runs
  local t = s:trials()
  T.ok(track.get(t:column("run_id")[2]).tags["tune.rung.0"] ~= nil)
  done(dir)
end)

T.test("train.fit{trial = t} reports each evaluation and stops when pruned; its run is nested in the trial's", function()
  local dir = fresh()
  lathe.seed(4)
  local x = tensor.randn(64, 4)
  local y = x:sum(2):gt(0):long()
  local s = tune.study{name = "fit", direction = "maximize", seed = 2, pruner = tune.median{startup_trials = 2}}
  local fits = {}
  s:optimize(function(t)
    local lr = t:float("lr", 1e-4, 0.5, {log = true})
    local h = train.fit{model = nn.mlp{sizes = {4, 8, 2}}, train = {x = x, y = y}, val = {x = x, y = y}, epochs = 4, batch_size = 16,
      lr = lr, metric = "accuracy", eval_every = 1, quiet = true, trial = t}
    fits[#fits + 1] = h
    return h.evals[#h.evals].metric
  end, {n_trials = 8, quiet = true})
  local t = s:trials()
  local pruned = 0
  for i = 1, #t do
    local run = track.get(t:column("run_id")[i])
    local h = fits[i]
    local child = track.get(h.run_id)
    T.eq(child.parent, run.id)
    T.eq(#run:history("intermediate").values, #h.evals)
    if t:column("state")[i] == "PRUNED" then
      pruned = pruned + 1
      T.eq(h.pruned_at, h.evals[#h.evals].step)
      T.eq(child.tags.pruned_at_step, tostring(h.pruned_at))
      T.ok(h.steps < 16)
    end
  end
  T.ok(pruned >= 1, "pruned " .. pruned)
  T.raises(function()
    s:optimize(function(tr) return train.fit{model = nn.mlp{sizes = {4, 2}}, train = {x = x, y = y}, quiet = true, trial = tr}.loss[1] end,
      {n_trials = 1, quiet = true, catch = false})
  end, "trial needs val data")
  done(dir)
end)

T.test("objectives that fail, return nothing or NaN mark the trial FAIL and the study goes on", function()
  local dir = fresh()
  local s = tune.study{name = "bad", seed = 1}
  local answers = {function() return nil end, function() return 0 / 0 end, function() return "high" end,
    function() error("out of memory (pretend)") end, function() return 1 end}
  local i = 0
  s:optimize(function(t)
    t:float("x", 0, 1)
    i = i + 1
    return answers[i]()
  end, {n_trials = 5, quiet = true})
  local t = s:trials()
  T.same(t:column("state"), {"FAIL", "FAIL", "FAIL", "FAIL", "COMPLETE"})
  T.ok(track.get(t:column("run_id")[1]).tags.error:find("returned nil, not a number", 1, true))
  T.ok(track.get(t:column("run_id")[2]).tags.error:find("returned NaN", 1, true))
  T.ok(track.get(t:column("run_id")[4]).tags.error:find("out of memory (pretend)", 1, true))
  T.raises(function() s:optimize(function() error("stop here") end, {n_trials = 3, quiet = true, catch = false}) end, "stop here")
  T.eq(#s:trials(), 6)
  -- bad ranges are errors of the trial (and of optimize with catch = false)
  local function bad(f, msg)
    T.raises(function() s:optimize(f, {n_trials = 1, quiet = true, catch = false}) end, msg)
  end
  bad(function(t) return t:float("a", 1, 0) end, "low (1.0) is above high (0.0)")
  bad(function(t) return t:float("a", 0, 1, {log = true}) end, "a log range must be above 0")
  bad(function(t) return t:int("b", 0, 8, {log = true}) end, "must start at 1 or more")
  bad(function(t) return t:float("a", 1e-3, 1, {log = true, step = 0.1}) end, "step and log cannot be used together")
  bad(function(t) return t:choice("c", {}) end, "a choice needs at least one value")
  bad(function(t) return t:choice("c", {{}}) end, "choices must be strings, numbers or booleans")
  T.raises(function() s:optimize(quadratic, {quiet = true}) end, "give n_trials or timeout")
  T.raises(function() tune.study{} end, "option 'name' is required")
  T.raises(function() tune.study{name = "x", sampler = "cmaes"} end, "sampler")
  T.raises(function() s:optimize(quadratic, {n_trials = 1, space = {lr = 3}}) end, "bad option 'space'")
  done(dir)
end)

T.test("a declarative space is drawn before the objective runs", function()
  local dir = fresh()
  local s = tune.study{name = "space", seed = 9}
  local seen = {}
  s:optimize(function(t)
    seen[#seen + 1] = t.params
    return t.params.lr * t.params.r
  end, {n_trials = 4, quiet = true, space = {lr = tune.loguniform(1e-4, 1e-2), r = tune.choice{4, 8, 16}, drop = tune.uniform(0, 0.3, {step = 0.1})}})
  for _, p in ipairs(seen) do
    T.ok(p.lr >= 1e-4 and p.lr <= 1e-2)
    T.ok(p.r == 4 or p.r == 8 or p.r == 16)
    T.ok(math.type(p.r) == "integer")
    T.ok(math.abs(p.drop * 10 - math.floor(p.drop * 10 + 0.5)) < 1e-9, "on the step: " .. p.drop)
  end
  done(dir)
end)

T.test("two processes optimizing one study share it: unique trial numbers, no lost trials, no 'database is locked'", function()
  local dir = T.tmpdir()
  local db = dir .. "/shared.db"
  local code = string.format([[track.open(%q)
    local s = tune.study{name = "shared"}
    s:optimize(function(t) return t:float("x", 0, 1) end, {n_trials = 12, quiet = true})
    local g = tune.study{name = "shared grid", sampler = tune.grid{a = {1, 2, 3, 4, 5}, b = {"x", "y"}}}
    g:optimize(function(t) return t:int("a", 1, 5) + (t:choice("b", {"x", "y"}) == "x" and 0 or 10) end, {quiet = true})
    print("done")]], db)
  T.write(dir .. "/w.lua", code)
  os.execute(string.format("(%s run %s > %s 2>&1 & %s run %s > %s 2>&1 & wait)", sq(T.bin), sq(dir .. "/w.lua"), sq(dir .. "/a.out"),
    sq(T.bin), sq(dir .. "/w.lua"), sq(dir .. "/b.out")))
  T.eq(T.read(dir .. "/a.out"), "done\n")
  T.eq(T.read(dir .. "/b.out"), "done\n")
  track.open(db)
  local t = tune.study{name = "shared"}:trials()
  T.eq(#t, 24)
  local nums = t:column("number")
  for i = 1, 24 do T.eq(nums[i], i - 1) end
  for _, st in ipairs(t:column("state")) do T.eq(st, "COMPLETE") end
  -- the grid's ten points, each tried once between the two processes
  local g = tune.study{name = "shared grid"}:trials()
  T.eq(#g, 10)
  local seen = {}
  for i = 1, 10 do
    local key = g:column("params.a")[i] .. g:column("params.b")[i]
    T.ok(not seen[key], "point tried twice: " .. key)
    seen[key] = true
  end
  done(dir)
end)

T.test("a trial whose process was killed is FAIL when the study is next opened, and the search continues", function()
  local dir = T.tmpdir()
  local db = dir .. "/k.db"
  local code = string.format([[track.open(%q)
    local s = tune.study{name = "killed"}
    s:optimize(function(t)
      local x = t:float("x", 0, 1)
      if t.number == 2 then io.open(%q, "w"):close(); os.execute("sleep 60") end
      return x
    end, {n_trials = 5, quiet = true})]], db, dir .. "/ready")
  T.write(dir .. "/k.lua", code)
  os.execute(string.format("%s run %s > /dev/null 2>&1 & echo $! > %s", sq(T.bin), sq(dir .. "/k.lua"), sq(dir .. "/pid")))
  for _ = 1, 300 do
    if io.open(dir .. "/ready") then break end
    os.execute("sleep 0.1")
  end
  local pid = T.read(dir .. "/pid"):gsub("%s", "")
  os.execute("kill -9 " .. pid .. "; sleep 0.3")
  track.open(db)
  local s = tune.study{name = "killed"}
  T.same(s:trials():column("state"), {"COMPLETE", "COMPLETE", "FAIL"})
  s:optimize(function(t) return t:float("x", 0, 1) end, {n_trials = 2, quiet = true})
  T.same(s:trials():column("number"), {0, 1, 2, 3, 4})
  done(dir)
end)

T.test("Hyperband splits trials into brackets by a hash of the study and number, as Optuna, and prunes within each", function()
  local dir = fresh()
  local s = tune.study{name = "hb", seed = 8, pruner = tune.hyperband{min_resource = 1, max_resource = 27, reduction_factor = 3}}
  s:optimize(function(t)
    local q = t:float("q", 0, 1)
    for step = 1, 27 do
      t:report(q + 1 / step, step)
      if t:should_prune() then tune.pruned() end
    end
    return q
  end, {n_trials = 30, quiet = true})
  local t = s:trials()
  local pruned, steps = 0, {}
  for i = 1, #t do
    if t:column("state")[i] == "PRUNED" then pruned = pruned + 1 end
    local h = track.get(t:column("run_id")[i]):history("intermediate")
    steps[#steps + 1] = #h.steps
  end
  T.ok(pruned >= 10 and pruned < 30, pruned .. " of 30 pruned")
  -- brackets with a higher early-stopping rate let trials run longer before the first cut
  local short, long = math.huge, 0
  for i, n in ipairs(steps) do
    if t:column("state")[i] == "PRUNED" then short = math.min(short, n); long = math.max(long, n) end
  end
  T.ok(short < long, "pruned after " .. short .. " to " .. long .. " steps")
  done(dir)
end)

T.test("tune.cv scores k folds (stratified, seeded) and tells a trial the running mean", function()
  local labels, xs = {}, {}
  for i = 1, 30 do labels[i] = i % 3 == 0 and "spam" or "ham"; xs[i] = i end
  local t = data.from{x = xs, label = labels}
  local seen = {}
  local r = tune.cv(t, {k = 5, stratify = "label", seed = 2}, function(train, val, fold)
    T.eq(#train + #val, 30)
    local spam = 0
    for _, l in ipairs(val:column("label")) do if l == "spam" then spam = spam + 1 end end
    T.eq(spam, 2)  -- each fold keeps the label's share
    for _, x in ipairs(val:column("x")) do T.ok(not seen[x]); seen[x] = true end
    return fold
  end)
  T.eq(r.mean, 3)
  T.close(r.std, math.sqrt(2.5), 1e-12)
  T.same(r.scores, {1, 2, 3, 4, 5})
  T.ok(tostring(r):find("5-fold: mean 3", 1, true), tostring(r))
  T.raises(function() tune.cv(t, {folds = 3}, function() return 1 end) end, "unknown option 'folds'")
  T.raises(function() tune.cv(t, {k = 3}, function() return "x" end) end, "fold 1: fn returned x, not a number")
  -- inside a search: each fold's running mean is a report
  local dir = fresh()
  local s = tune.study{name = "cv", seed = 1}
  s:optimize(function(trial)
    local q = trial:float("q", 0, 1)
    return tune.cv(t, {k = 3, seed = 1, trial = trial}, function() return q end).mean
  end, {n_trials = 2, quiet = true})
  local run = track.get(s:trials():column("run_id")[1])
  T.same(run:history("intermediate").steps, {1, 2, 3})
  done(dir)
end)

T.test("study:importance ranks the parameters that matter first (PED-ANOVA, as Optuna)", function()
  local dir = fresh()
  local s = tune.study{name = "imp", seed = 4, pruner = "none"}
  s:optimize(function(t)
    return 10 * t:float("big", 0, 1) + t:float("small", 0, 1) + 0 * t:int("useless", 1, 5)
  end, {n_trials = 40, quiet = true})
  local imp = s:importance()
  T.eq(#imp, 3)
  T.eq(imp[1].name, "big")
  local sum = 0
  for _, r in ipairs(imp) do sum = sum + r.importance end
  T.close(sum, 1, 1e-12)
  T.ok(imp[1].importance > imp[2].importance)
  T.ok(tostring(imp):find("big", 1, true))
  local only = s:importance{params = {"small", "useless"}}
  T.eq(#only, 2)
  local empty = tune.study{name = "imp0", seed = 1}
  T.raises(function() empty:importance() end, "at least 2 complete trials")
  done(dir)
end)
