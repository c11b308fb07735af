-- Calls the fuzz does not make: correct computations that are long because they were asked
-- to be. Each entry says why, and gives `interrupt`: code doing such a call, which
-- Tests/lua/test_fuzz.lua runs and stops with Ctrl-C (SIGINT) to check it is interruptible
-- (the code either fails with "interrupted!" or prints "stopped" once the call gave up).
local S = {}

-- a count past what finishes in seconds (NaN and non-numbers are not)
local function huge(x)
  return type(x) == "number" and x >= 1e7
end

local function option(args, i, name)
  local o = args[i]
  return type(o) == "table" and getmetatable(o) == nil and rawget(o, name) or nil
end

-- name -> list of {why = "...", when = function(args) -> true to skip, interrupt = "lua code"}
S.list = {
  ["metrics.bench"] = {{
    why = "runs = N times the function N times, as asked; Ctrl-C stops it between calls",
    when = function(a) return huge(option(a, 2, "runs")) or huge(option(a, 2, "warmup")) end,
    interrupt = "metrics.bench(function() end, {runs = 2^31, batch = 1})",
  }},
  ["train.fit"] = {{
    why = "epochs = N (or max_steps = N) trains that long, as asked; Ctrl-C ends it after the running step",
    when = function(a) return huge(option(a, 1, "epochs")) or huge(option(a, 1, "max_steps")) end,
    interrupt = "local x = tensor.randn(64, 4) local h = train.fit{model = nn.mlp{sizes = {4, 8, 2}}, " ..
      "train = {x = x, y = x:sum(2):gt(0):long()}, epochs = 2^31, quiet = true} print(h.interrupted and 'stopped')",
  }},
  ["Study:optimize"] = {{
    why = "n_trials = N (or timeout = N seconds) runs that many trials, as asked; Ctrl-C stops the search after the running trial",
    when = function(a) return huge(option(a, 3, "n_trials")) or huge(option(a, 3, "timeout")) end,
    interrupt = "track.open(os.tmpname() .. '.db') local s = tune.study{name = 'long'} " ..
      "s:optimize(function(t) return t:float('x', 0, 1) end, {n_trials = 2^31, quiet = true}) print('stopped')",
  }},
}

function S.reason(name, args)
  for _, s in ipairs(S.list[name] or {}) do
    if s.when(args) then return s.why end
  end
  return nil
end

return S
