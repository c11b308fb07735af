-- Matrix kernels as a Lua user meets them: lathe.blas() names the kernel serving each
-- product; tensor.mm/matmul take {precision = "bf16"}; the kernels agree with each other.
local T = require("testlib")

-- the largest absolute difference; NaN anywhere gives NaN, which fails every <, == and > test
local function maxdiff(a, b)
  return (a - b):abs():max():item()
end

T.test("lathe.blas() names a kernel for each op", function()
  local b = lathe.blas()
  T.eq(type(b), "table")
  for _, k in ipairs({"fp32", "bf16", "fallback", "cpu", "caches", "threads"}) do
    T.eq(type(b[k]), "string", k)
  end
  T.ok(b.fp32:match("^lathe ") or b.fp32:match("^openblas"), b.fp32)
  T.ok(b.fallback:match("^openblas"), b.fallback)
  -- the best kernel the CPU has is chosen unless LATHE_GEMM / LATHE_GEMM_BF16 force one
  local forced, forced_bf16 = os.getenv("LATHE_GEMM"), os.getenv("LATHE_GEMM_BF16")
  if (forced or "lathe") == "lathe" then
    local want = b.cpu:match("avx512") and "^lathe avx512" or (b.cpu:match("avx2") and "^lathe avx2" or "^openblas")
    T.ok(b.fp32:match(want), "cpu " .. b.cpu .. " is served by " .. b.fp32)
  end
  if not forced_bf16 then
    local want = (b.cpu:match("amx_bf16") and not b.cpu:match("refused")) and "amx"
      or (b.cpu:match("avx512_bf16") and "avx512_bf16" or "^none")
    T.ok(b.bf16:match(want), "cpu " .. b.cpu .. ": bf16 is served by " .. b.bf16)
  end
end)

T.test("a forced kernel the CPU cannot run is refused with a warning, never silently replaced", function()
  local out, err, status = T.run("LATHE_GEMM=avx9000 " .. T.sh_quote(T.bin) .. " -e " .. T.sh_quote("print(lathe.blas().override)"))
  T.eq(status, 0, err)
  T.ok(err:find("warning: LATHE_GEMM=avx9000 is not a kernel", 1, true), err)
  T.ok(out:find("LATHE_GEMM=avx9000 is not a kernel", 1, true), out)
  if not lathe.blas().cpu:match("avx512") then
    out, err = T.run("LATHE_GEMM=avx512 " .. T.sh_quote(T.bin) .. " -e " .. T.sh_quote("print(lathe.blas().fp32)"))
    T.ok(err:find("LATHE_GEMM=avx512 names a kernel this CPU cannot run", 1, true), err)
    T.ok(not out:find("avx512", 1, true), out)
  end
end)

-- one process per kernel (the choice is process-wide); a kernel this CPU lacks is skipped
local function kernel_test(k, needs)
  T.test("LATHE_GEMM=" .. k .. " gives the float64 reference's products", function()
    if needs and not lathe.blas().cpu:match(needs) then T.skip("this CPU has no " .. needs) end
    local code = [[
      lathe.seed(11)
      local a, b = tensor.rand(67, 129) * 2 - 1, tensor.rand(129, 45) * 2 - 1
      print(lathe.blas().fp32)
      local c = a:mm(b):totable()
      local s = 0
      for i = 1, 67 do for j = 1, 45 do s = s + c[i][j] * ((i * 7 + j) % 13 - 6) end end
      print(string.format("%.6f", s))
      -- a Linear layer's bias, added inside the product on Lathe's kernels, before it on
      -- OpenBLAS: few rows, the packed loops, the split over a long K
      local worst = 0
      for _, dims in ipairs({{5, 129, 45}, {67, 129, 45}, {40, 1100, 12}}) do
        local l = nn.linear(dims[2], dims[3])
        local p = l:named_parameters()
        local x = tensor.rand(dims[1], dims[2]) * 2 - 1
        local want = x:mm(p.weight:t()) + p.bias
        worst = math.max(worst, ((l(x) - want):abs():max():item()))
      end
      print(string.format("%.3g", worst))
    ]]
    -- the reference: the same weighted sum of the product in float64
    lathe.seed(11)
    local a, b = tensor.rand(67, 129) * 2 - 1, tensor.rand(129, 45) * 2 - 1
    local at, bt = a:totable(), b:totable()
    local want = 0
    for i = 1, 67 do for j = 1, 45 do
      local x = 0
      for k = 1, 129 do x = x + at[i][k] * bt[k][j] end
      want = want + x * ((i * 7 + j) % 13 - 6)
    end end
    local out, err, status = T.run("LATHE_GEMM=" .. k .. " " .. T.sh_quote(T.bin) .. " -e " .. T.sh_quote(code))
    T.eq(status, 0, k .. ": " .. err)
    T.eq(err, "", k .. " ran without a warning")
    local name, sum, bias_err = out:match("^(.-)\n(%S+)\n(%S+)")
    T.ok(name:lower():find(k, 1, true), k .. " serves fp32: " .. name)
    T.near(tonumber(sum), want, 1e-3, k)
    T.ok(tonumber(bias_err) < 1e-5, k .. ": linear with bias differs from mm + bias by " .. bias_err)
  end)
end
kernel_test("avx512", "avx512")
kernel_test("avx2", "avx2")
kernel_test("openblas", nil)

T.test("tensor.mm with precision = bf16 is close to fp32 and returns fp32", function()
  local a, b = tensor.randn(37, 70, {seed = 1}), tensor.randn(70, 45, {seed = 2})
  local f = tensor.mm(a, b)
  local h = tensor.mm(a, b, {precision = "bf16"})
  T.eq(h:dtype(), "float32")
  T.same(h:shape(), {37, 45})
  local scale = f:abs():max():item()
  T.ok(maxdiff(f, h) < 0.05 * scale, "bf16 vs fp32: " .. maxdiff(f, h))
  T.ok(maxdiff(a:matmul(b, {precision = "fp32"}), f) == 0)
  -- transposed operands and batches take the same paths
  local x = tensor.randn(3, 20, 16, {seed = 3})
  local w = tensor.randn(24, 16, {seed = 4})
  local y = x:matmul(w:t(), {precision = "bf16"})
  T.same(y:shape(), {3, 20, 24})
  T.ok(maxdiff(y, x:matmul(w:t())) < 0.05 * x:matmul(w:t()):abs():max():item())
end)

T.test("tensor.autocast reaches mm and matmul called without a precision", function()
  local a, b = tensor.randn(37, 70, {seed = 7}), tensor.randn(70, 45, {seed = 8})
  local want = tensor.mm(a, b, {precision = "bf16"})
  local m1, m2, m3, m4 = tensor.autocast("bf16", function()
    return a:mm(b), a:matmul(b), tensor.mm(a, b), tensor.matmul(a, b)
  end)
  for i, m in ipairs({m1, m2, m3, m4}) do T.eq(maxdiff(m, want), 0, "call " .. i) end
  -- an explicit precision wins over autocast; outside it products are fp32 again
  local f = tensor.autocast("bf16", function() return a:mm(b, {precision = "fp32"}) end)
  T.eq(maxdiff(f, tensor.mm(a, b, {precision = "fp32"})), 0)
  T.eq(maxdiff(a:mm(b), tensor.mm(a, b, {precision = "fp32"})), 0)
  if not lathe.blas().bf16:match("^none") then
    T.ok(maxdiff(m1, a:mm(b)) > 0, "bf16 under autocast differs from fp32 on a bf16 kernel")
  end
end)

T.test("bf16 products keep autograd", function()
  local a = tensor.randn(8, 12, {seed = 5}):requires_grad(true)
  local b = tensor.randn(12, 6, {seed = 6}):requires_grad(true)
  a:matmul(b, {precision = "bf16"}):sum():backward()
  T.same(a.grad:shape(), {8, 12})
  T.same(b.grad:shape(), {12, 6})
  -- d/da sum(a b) = 1 bᵀ: every row of a.grad is the row sums of b
  local want = b:sum(2):reshape(1, 12):expand(8, 12)
  T.ok(maxdiff(a.grad, want) < 0.05 * want:abs():max():item())
end)

T.test("bad precision is rejected", function()
  local a = tensor.ones(2, 2)
  T.raises(function() return tensor.mm(a, a, {precision = "fp16"}) end, "bad option 'precision'")
  T.raises(function() return a:matmul(a, {precison = "bf16"}) end, "did you mean 'precision'")
end)

T.test("bf16 training on the AMX path (tile instructions emulated without AMX) tracks fp32", function()
  -- One process with LATHE_GEMM_BF16=amx-emulated: the AMX packing, 32x32 tiles, causal
  -- attention products and driver, with TDPBF16PS modelled in C on AVX512_BF16 CPUs. On a CPU
  -- with AMX the hardware kernel serves bf16 by default and the fp32-tracking test in
  -- test_train.lua covers it.
  local code = [[
    local text = string.rep("the quick brown fox jumps over the lazy dog. ", 30)
    local ids = {}
    for i = 1, #text do ids[i] = text:byte(i) end
    local data = train.windows(ids, 32)
    print(lathe.blas().bf16)
    for _, precision in ipairs({"fp32", "bf16"}) do
      local g = nn.gpt{vocab = 256, layers = 2, dim = 64, heads = 4, seq = 32, seed = 4}
      local h = train.fit{model = g, train = data, epochs = 3, batch_size = 8, lr = 3e-3, seed = 1,
                          precision = precision, quiet = true}
      print(table.concat(h.loss, " "))
    end
  ]]
  local out, err, status = T.run("LATHE_GEMM_BF16=amx-emulated " .. T.sh_quote(T.bin) .. " -e " .. T.sh_quote(code))
  T.eq(status, 0, err)
  local name, l32, l16 = out:match("^(.-)\n(.-)\n(.-)\n")
  if not lathe.blas().cpu:match("avx512_bf16") then
    T.ok(not name:match("emulated"), "no AVX512_BF16: the emulated kernel is not offered: " .. name)
    T.skip("this CPU has no AVX512_BF16, which the emulated AMX kernel runs on")
  end
  T.ok(name:match("amx bf16 32x32 %(tile instructions emulated"), name)
  local a, b = {}, {}
  for x in l32:gmatch("%S+") do a[#a + 1] = tonumber(x) end
  for x in l16:gmatch("%S+") do b[#b + 1] = tonumber(x) end
  T.eq(#a, #b)
  T.ok(#a >= 10, "steps: " .. #a)
  local worst = T.max_error(b, a)
  T.ok(worst <= 0.01, "largest relative difference per step " .. worst)
  T.ok(worst > 0, "bf16 losses identical to fp32 (bf16 path not taken?)")
  T.ok(b[#b] < 0.8 * b[1], "bf16 training learns: " .. b[1] .. " -> " .. b[#b])
end)
