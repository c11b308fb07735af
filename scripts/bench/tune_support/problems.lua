-- The objectives of scripts/bench/tune, Lathe's side; problems.py is the same in Python, operation
-- for operation (x * x rather than x ^ 2, the same constants as literals, sums in the same order),
-- so that the same suggestions give bit-identical values on both sides. Parameters are drawn in
-- the same order on both sides (TPE's random state is shared between parameters).
local M = {}

-- Branin on [-5, 10] x [0, 15]; minimum 0.397887 (three minimizers).
local PI = math.pi
local BR_B, BR_C, BR_T = 5.1 / (4 * PI * PI), 5 / PI, 1 / (8 * PI)
function M.branin(t)
  local x1 = t:float("x1", -5, 10)
  local x2 = t:float("x2", 0, 15)
  local u = x2 - BR_B * x1 * x1 + BR_C * x1 - 6
  return u * u + 10 * (1 - BR_T) * math.cos(x1) + 10
end

-- Hartmann 6-d on [0, 1]^6; minimum -3.32237.
local HA = {1.0, 1.2, 3.0, 3.2}
local HA_A = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}}
local HA_P = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886}, {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
              {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650}, {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}}
function M.hartmann6(t)
  local x = {}
  for j = 1, 6 do x[j] = t:float("x" .. (j - 1), 0, 1) end
  local f = 0.0
  for i = 1, 4 do
    local s = 0.0
    for j = 1, 6 do
      local d = x[j] - HA_P[i][j]
      s = s + HA_A[i][j] * d * d
    end
    f = f - HA[i] * math.exp(-s)
  end
  return f
end

-- A 10-d sphere in log space: x_i in [1e-3, 1e3] drawn on a log scale, f = sum_i log10(x_i)^2;
-- minimum 0 at x_i = 1.
function M.logsphere10(t)
  local f = 0.0
  for i = 0, 9 do
    local v = math.log(t:float("x" .. i, 1e-3, 1e3, {log = true}), 10)   -- C log10, as math.log10
    f = f + v * v
  end
  return f
end

-- Mixed: a float, an integer and a categorical; minimum -0.3 at x = 1.5, n = 13, act = "gelu".
local ACT = {relu = 0.0, gelu = -0.3, tanh = 0.4, sigmoid = 1.0}
function M.mixed(t)
  local x = t:float("x", -5, 5)
  local n = t:int("n", 1, 20)
  local act = t:choice("act", {"relu", "gelu", "tanh", "sigmoid"})
  local dx, dn = x - 1.5, n - 13
  return dx * dx + 0.1 * (dn * dn) + ACT[act]
end

-- A synthetic learning curve (to maximize): value_t = q * (1 - exp(-t / 10)) + noise, t = 1..steps,
-- q = 0.9 - 0.05 (log10 lr + 3)^2 - 0.4 (dropout - 0.2)^2 from the sampled lr and dropout, the
-- noise uniform in [-0.015, 0.015] from a Park-Miller generator (minstd, 48271) seeded by the
-- study's seed and the trial's number. report(v, t) is called after each step; the last value is
-- returned.
function M.curve(t, seed, steps, report)
  local lr = t:float("lr", 1e-5, 1, {log = true})
  local dropout = t:float("dropout", 0, 0.5)
  local a, b = math.log(lr, 10) + 3, dropout - 0.2
  local q = 0.9 - 0.05 * a * a - 0.4 * b * b
  local state = (seed * 1000 + t.number) * 7919 % 2147483646 + 1
  local v
  for step = 1, steps do
    state = state * 48271 % 2147483647
    v = q * (1 - math.exp(-step / 10)) + 0.03 * (state / 2147483647 - 0.5)
    report(v, step)
  end
  return v
end

-- The overhead objective: three parameters (a float, a log float, an int), a trivial value.
function M.light(t)
  local x = t:float("x", -5, 5)
  local lr = t:float("lr", 1e-5, 1, {log = true})
  local n = t:int("n", 1, 100)
  return x * x + lr + n
end

return M
