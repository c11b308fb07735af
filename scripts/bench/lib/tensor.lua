-- Lathe side of scripts/bench/tensor: runs TENSOR_PLAN ("op:size:reps,...", the same plan as
-- tensor_numpy.py) and prints "op_size seconds" lines (median per call of the workload, lib/stats)
-- and "threads N".
local stats = require("stats")
print("threads " .. stats.threads())

-- Each builder makes its inputs and returns the call to time.
local function vectors(n) return tensor.randn(n, {seed = 3}), tensor.randn(n, {seed = 4}) end
local build = {
  matmul = function(n)
    local a, b = tensor.randn(n, n, {seed = 1}), tensor.randn(n, n, {seed = 2})
    return function() return a:matmul(b) end
  end,
  add = function(n) local a, b = vectors(n); return function() return a + b end end,
  mul = function(n) local a, b = vectors(n); return function() return a * b end end,
  gelu = function(n) local a = vectors(n); return function() return a:gelu({approximate = "tanh"}) end end,
  sum = function(n) local a = vectors(n); return function() return a:sum() end end,
  softmax = function(n)
    local m = vectors(n):reshape(n // 1000, 1000)
    return function() return m:softmax(2) end
  end,
  -- per-op cost of a small op from the scripting language: n calls per timed repetition
  small_add = function(n)
    local x, y = tensor.ones(4), tensor.ones(4)
    return function() for _ = 1, n do local z = x + y end end
  end,
}

for item in os.getenv("TENSOR_PLAN"):gmatch("[^,]+") do
  local op, n, reps = item:match("^([%w_]+):(%d+):(%d+)$")
  local t = stats.timeit(build[op](math.tointeger(n)), math.tointeger(reps))
  print(string.format("%s_%s %.9f", op, n, t))
  collectgarbage()
end
