-- Lathe side of scripts/bench/gemm: prints "threads N" and "name GFLOP/s" for each case in
-- GEMM_CASES ("name M N K layout reps"), from the median time of reps products after one
-- warm-up (lib/stats, as gemm_torch.py). Environment: GEMM_CASES (path), GEMM_PRECISION
-- (fp32|bf16), GEMM_CLOCK (cpu: process CPU seconds, unaffected by time-slicing on 1 thread;
-- else wall seconds), LATHE_THREADS.
local stats = require("stats")
print("threads " .. stats.threads())
local opts = {precision = os.getenv("GEMM_PRECISION") or "fp32"}
local kind = os.getenv("GEMM_CLOCK") == "cpu" and "cpu" or "wall"

local function operand(rows, cols, transposed, seed)
  if transposed then return tensor.randn(cols, rows, {seed = seed}):t() end
  return tensor.randn(rows, cols, {seed = seed})
end

for line in io.lines(os.getenv("GEMM_CASES")) do
  local name, m, n, k, lay, reps = line:match("^(%S+)%s+(%d+)%s+(%d+)%s+(%d+)%s+(%u%u)%s+(%d+)")
  if name then
    m, n, k = tonumber(m), tonumber(n), tonumber(k)
    local a = operand(m, k, lay:sub(1, 1) == "T", 1)
    local b = operand(k, n, lay:sub(2, 2) == "T", 2)
    -- the warm-up call also sets up packing buffers, threads and AMX permission
    local t = stats.timeit(function() return a:matmul(b, opts) end, math.tointeger(tonumber(reps)), 1, kind)
    print(string.format("%s %.2f", name, 2 * m * n * k / math.max(t, 1e-9) / 1e9))
  end
end
