-- Lathe side of scripts/bench/tensor: prints "name value" lines (seconds or GFLOP/s).
local clock = function() return (lathe.clock()) end
local function best(reps, fn)
  fn()
  local b = math.huge
  for _ = 1, reps do
    local t0 = clock()
    fn()
    local dt = clock() - t0
    if dt < b then b = dt end
  end
  return b
end

for _, n in ipairs({256, 512, 1024, 2048}) do
  local a, b = tensor.randn(n, n, {seed = 1}), tensor.randn(n, n, {seed = 2})
  local reps = math.max(3, math.floor(2e10 / (2 * n ^ 3)))
  local t = best(reps, function() return a:matmul(b) end)
  print(string.format("matmul_%d %.4f", n, 2 * n ^ 3 / t / 1e9))
end

for _, n in ipairs({1000000, 16000000}) do
  local a, b = tensor.randn(n, {seed = 3}), tensor.randn(n, {seed = 4})
  local reps = n > 4e6 and 5 or 20
  print(string.format("add_%d %.6f", n, best(reps, function() return a + b end)))
  print(string.format("mul_%d %.6f", n, best(reps, function() return a * b end)))
  print(string.format("gelu_%d %.6f", n, best(reps, function() return a:gelu({approximate = "tanh"}) end)))
  print(string.format("sum_%d %.6f", n, best(reps, function() return a:sum() end)))
  local m = a:reshape(n / 1000, 1000)
  print(string.format("softmax_%d %.6f", n, best(reps, function() return m:softmax(2) end)))
end

-- per-op cost of a small op from the scripting language
local x, y = tensor.ones(4), tensor.ones(4)
local N = 200000
local t = best(3, function() for _ = 1, N do local z = x + y end end)
print(string.format("small_add %.9f", t / N))
