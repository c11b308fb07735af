-- Lathe side of scripts/bench/tune; optuna_side.py is its twin (the same problems, written with
-- the same floating-point operations in the same order, so equal suggestions give equal values).
-- Usage: lathe run lathe_side.lua MODE ARGS... (LUA_PATH finds ../lib/stats.lua; LATHE_THREADS)
--   quality PROBLEM SAMPLER SEEDS TRIALS STORE  every seed 0..SEEDS-1 in this one process, a fresh
--                                               study per seed: "seed S best V values v0,v1,..."
--   prune PRUNER SEEDS TRIALS STEPS STORE       TPE + median|asha on synthetic learning curves:
--                                               "seed S best V states CCP... values v0,..."
--   overhead HISTORY TIMED STORE                HISTORY random trials, then TIMED (+1 warm-up)
--                                               single TPE trials: "trial_s ..." / "suggest_s ..."
-- Every mode also prints "threads N" and "seconds T" (wall time of the whole mode).
local stats = require("stats")
local problems = require("problems")
local mode = arg[1]
print("threads " .. stats.threads())
local started = stats.clock()

local function num(s) return math.tointeger(tonumber(s)) end
local function g17(v) return v == nil and "nan" or string.format("%.17g", v) end

-- "values" of every trial by number (pruned trials: their last report, as Optuna), and states.
local function trial_rows(study)
  local t = study:trials()
  local values, states = {}, {}
  local sv, vv = t:column("state"), t:column("value")
  for i = 1, #t do
    states[i] = sv[i]:sub(1, 1)
    values[i] = g17(vv[i])
  end
  return table.concat(states), table.concat(values, ",")
end

if mode == "quality" then
  local name, sampler, seeds, trials = arg[2], arg[3], num(arg[4]), num(arg[5])
  track.open(arg[6])
  local f = problems[name] or error("unknown problem " .. tostring(name))
  for seed = 0, seeds - 1 do
    local s = tune.study{name = string.format("%s-%s-%d", name, sampler, seed), sampler = sampler, seed = seed, pruner = "none"}
    s:optimize(f, {n_trials = trials, quiet = true})
    local _, values = trial_rows(s)
    print(string.format("seed %d best %s values %s", seed, g17(s:best().value), values))
  end
elseif mode == "prune" then
  local which, seeds, trials, steps = arg[2], num(arg[3]), num(arg[4]), num(arg[5])
  track.open(arg[6])
  for seed = 0, seeds - 1 do
    local pruner = which == "median" and tune.median{}                      -- defaults: 5, 0, 1
      or which == "asha" and tune.asha{min_resource = 1, reduction_factor = 4}
      or error("unknown pruner " .. tostring(which))
    local s = tune.study{name = string.format("curves-%s-%d", which, seed), direction = "maximize", sampler = "tpe",
                         seed = seed, pruner = pruner}
    s:optimize(function(t)
      return problems.curve(t, seed, steps, function(v, step)
        t:report(v, step)
        if t:should_prune() then tune.pruned() end
      end)
    end, {n_trials = trials, quiet = true})
    local states, values = trial_rows(s)
    print(string.format("seed %d best %s states %s values %s", seed, g17(s:best().value), states, values))
  end
elseif mode == "overhead" then
  local history, timed = num(arg[2]), num(arg[3])
  track.open(arg[4])
  local fill = tune.study{name = "overhead", sampler = "random", seed = 0, pruner = "none"}
  local t0 = stats.clock()
  fill:optimize(problems.light, {n_trials = history, quiet = true})
  print(string.format("fill_s %.6f", stats.clock() - t0))
  -- the same study resumed with the TPE sampler: every timed trial sees >= HISTORY completed ones
  local s = tune.study{name = "overhead", sampler = "tpe", seed = 1, pruner = "none"}
  local suggest = {}
  local function objective(t)
    local c0 = stats.clock()
    local v = problems.light(t)
    suggest[#suggest + 1] = stats.clock() - c0
    return v
  end
  local samples = stats.samples(function() s:optimize(objective, {n_trials = 1, quiet = true}) end, timed, 1)
  table.remove(suggest, 1)   -- the warm-up trial's
  local out = {}
  for i, v in ipairs(samples) do out[i] = g17(v) end
  print("trial_s " .. table.concat(out, " "))
  for i, v in ipairs(suggest) do out[i] = g17(v / 3) end   -- light suggests 3 parameters
  print("suggest_s " .. table.concat(out, " "))
  print("completed_before " .. (#s:trials() - timed - 1))
else
  error("mode must be quality, prune or overhead (got " .. tostring(mode) .. ")")
end
print(string.format("seconds %.3f", stats.clock() - started))
