-- Timing and thread count for the benchmarks' Lua sides: the twin of lib/stats.py (same clocks,
-- same untimed warm-up, same number of timed repetitions, same median), so both sides of a
-- comparison are measured alike. Loaded with require("stats"): the drivers put this folder on
-- LUA_PATH (stats.py's bench_env).
local M = {WARMUP = 1, REPS = 5}

-- Seconds on the named clock: "wall" is CLOCK_MONOTONIC, "cpu" the process's CPU time, the two
-- values lathe.clock() returns (stats.py reads the same two clocks).
function M.clock(kind)
  local wall, cpu = lathe.clock()
  if kind == nil or kind == "wall" then return wall end
  if kind == "cpu" then return cpu end
  error("stats.clock: kind must be 'wall' or 'cpu' (got " .. tostring(kind) .. ")", 2)
end

-- The middle value; the mean of the two middle ones for an even count.
function M.median(xs)
  local s = table.move(xs, 1, #xs, 1, {})
  if #s == 0 then error("stats.median: xs is empty (expected at least one value)", 2) end
  table.sort(s)
  local h = #s // 2
  if #s % 2 == 1 then return s[h + 1] end
  return (s[h] + s[h + 1]) / 2
end

-- Calls fn `warmup` times untimed, then `reps` times timed; returns the durations (seconds).
function M.samples(fn, reps, warmup, kind)
  reps, warmup = reps or M.REPS, warmup or M.WARMUP
  for _ = 1, warmup do fn() end
  local out = {}
  for i = 1, reps do
    local t0 = M.clock(kind)
    fn()
    out[i] = M.clock(kind) - t0
  end
  return out
end

-- The median of samples(fn, reps, warmup, kind), in seconds.
function M.timeit(fn, reps, warmup, kind)
  return M.median(M.samples(fn, reps, warmup, kind))
end

-- Applies LATHE_THREADS (when set) with lathe.threads(n); returns the thread count in force.
function M.threads()
  local n = math.tointeger(tonumber(os.getenv("LATHE_THREADS") or ""))
  if n then lathe.threads(n) end
  return lathe.threads()
end

return M
