-- Lathe side of scripts/bench/gemm: prints "name GFLOP/s" for each case in gemm_cases.txt.
-- Environment: GEMM_CASES (path), GEMM_PRECISION (fp32|bf16), GEMM_BUDGET (seconds per case),
-- GEMM_CLOCK (cpu|wall).
local precision = os.getenv("GEMM_PRECISION") or "fp32"
local budget = tonumber(os.getenv("GEMM_BUDGET") or "0.2")
local opts = {precision = precision}
-- GEMM_CLOCK=cpu times with process CPU seconds (1 thread: unaffected by time-slicing
-- when other work shares the cores), else wall seconds.
local use_cpu = os.getenv("GEMM_CLOCK") == "cpu"
local clock = function()
  local w, c = lathe.clock()
  if use_cpu then return c end
  return w
end

local function operand(rows, cols, transposed, seed)
  if transposed then return tensor.randn(cols, rows, {seed = seed}):t() end
  return tensor.randn(rows, cols, {seed = seed})
end

for line in io.lines(os.getenv("GEMM_CASES")) do
  local name, m, n, k, lay = line:match("^(%S+)%s+(%d+)%s+(%d+)%s+(%d+)%s+(%u%u)")
  if name then
    m, n, k = tonumber(m), tonumber(n), tonumber(k)
    local a = operand(m, k, lay:sub(1, 1) == "T", 1)
    local b = operand(k, n, lay:sub(2, 2) == "T", 2)
    local flop = 2 * m * n * k
    a:matmul(b, opts)    -- warm up (packing buffers, threads, AMX permission)
    local t0 = clock()
    a:matmul(b, opts)
    local once = math.max(clock() - t0, 1e-6)
    local reps = math.max(5, math.min(200, math.floor(budget / once)))
    local best = math.huge
    for _ = 1, reps do
      local s = clock()
      a:matmul(b, opts)
      local dt = clock() - s
      if dt < best then best = dt end
    end
    print(string.format("%s %.2f", name, flop / best / 1e9))
  end
end
