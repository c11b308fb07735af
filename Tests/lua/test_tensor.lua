-- The tensor module as a Lua user meets it: creation, 1-based positions, arithmetic,
-- autograd, printing, errors, and memory that stays flat in loops.
local T = require("testlib")

local function flat(t) -- nested table -> flat array
  local out = {}
  local function rec(x) if type(x) == "table" then for _, v in ipairs(x) do rec(v) end else out[#out + 1] = x end end
  rec(t:totable())
  return out
end

T.test("creation and dtypes", function()
  local z = tensor.zeros(2, 3)
  T.same(z:shape(), {2, 3})
  T.eq(z:dtype(), "float32")
  T.same(tensor.zeros{4}:shape(), {4})
  T.eq(tensor.ones(2, {dtype = "int64"}):dtype(), "int64")
  T.same(flat(tensor.arange(5)), {0, 1, 2, 3, 4})
  T.eq(tensor.arange(5):dtype(), "int64")
  T.eq(tensor.arange(0, 1, 0.5):dtype(), "float32")
  T.same(flat(tensor.linspace(0, 1, 3)), {0.0, 0.5, 1.0})
  T.same(tensor.from({{1, 2}, {3, 4}}):totable(), {{1, 2}, {3, 4}})
  T.eq(tensor.from({1, 2}):dtype(), "int64")
  T.eq(tensor.from({1.5, 2}):dtype(), "float32")
  T.eq(tensor.from({true, false}):dtype(), "bool")
  T.same(flat(tensor.eye(2)), {1.0, 0.0, 0.0, 1.0})
  T.same(flat(tensor.full({2}, 7)), {7.0, 7.0})
  T.eq(tensor.from(3.5):item(), 3.5)
end)

T.test("seeded random numbers repeat", function()
  lathe.seed(7)
  local a = tensor.randn(5):totable()
  lathe.seed(7)
  local b = tensor.randn(5):totable()
  T.same(a, b)
  T.same(tensor.rand(3, {seed = 1}):totable(), tensor.rand(3, {seed = 1}):totable())
  local r = tensor.randint(0, 3, {100}, {seed = 2})
  T.ok(r:min():item() >= 0 and r:max():item() <= 2)
  T.eq(r:dtype(), "int64")
end)

T.test("positions and dims are 1-based, negatives count from the end", function()
  local t = tensor.from({{1, 2, 3}, {4, 5, 6}})
  T.eq(t[1][1], 1)
  T.eq(t[2][3], 6)
  T.eq(t[-1][-1], 6)
  T.eq(#t, 2)
  T.eq(t:size(1), 2)
  T.eq(t:size(-1), 3)
  T.same(t:slice(2, 2, 3):totable(), {{2, 3}, {5, 6}})
  T.same(t:slice(2, -2):totable(), {{2, 3}, {5, 6}})
  T.same(t:narrow(2, 1, 2):totable(), {{1, 2}, {4, 5}})
  T.same(t:select(1, 2):totable(), {4, 5, 6})
  T.same(t:index_select(2, {3, 1}):totable(), {{3, 1}, {6, 4}})
  T.eq(tensor.from({3, 9, 2}):argmax(), 2)
  local v, i = t:max(2)
  T.same(v:totable(), {3, 6})
  T.same(i:totable(), {3, 3})
  local sv, si = tensor.from({30, 10, 20}):sort()
  T.same(sv:totable(), {10, 20, 30})
  T.same(si:totable(), {2, 3, 1})
  T.same(t:sum(1):totable(), {5, 7, 9})
  T.same(t:sum(2):totable(), {6, 15})
  T.same(t:transpose(1, 2):shape(), {3, 2})
  T.raises(function() return t:size(0) end, "dimensions are 1-based")
  T.raises(function() return t[3] end, "position 3 out of range 1..2")
  T.raises(function() return t:index_select(1, {0}) end, "positions are 1-based")
end)

T.test("arithmetic, broadcasting and metamethods", function()
  local a = tensor.from({{1.0, 2.0}, {3.0, 4.0}})
  local b = tensor.from({10.0, 20.0})
  T.same((a + b):totable(), {{11, 22}, {13, 24}})
  T.same((a * 2):totable(), {{2, 4}, {6, 8}})
  T.same((1 - a):totable(), {{0, -1}, {-2, -3}})
  T.same((a / 2):totable(), {{0.5, 1}, {1.5, 2}})
  T.same((a ^ 2):totable(), {{1, 4}, {9, 16}})
  T.same((-a):totable(), {{-1, -2}, {-3, -4}})
  T.same(a:gt(2):totable(), {{false, false}, {true, true}})
  T.same(tensor.where(a:gt(2), a, 0):totable(), {{0, 0}, {3, 4}})
  T.same(a:matmul(tensor.from({{1.0}, {1.0}})):totable(), {{3}, {7}})
  T.same(tensor.mm(a, a):totable(), {{7, 10}, {15, 22}})
  T.near(tensor.from({1.0, 2.0, 3.0}):softmax():sum():item(), 1, 1e-6)
  T.near(tensor.from({1.0, 2.0, 3.0, 4.0}):var():item(), 1.6666667, 1e-6)
  T.same(tensor.from({0, 2}):one_hot(3):totable(), {{1, 0, 0}, {0, 0, 1}})
  T.same(tensor.ones(2, 2):tril():totable(), {{1, 0}, {1, 1}})
  local q, k = table.unpack(tensor.arange(6):chunk(2))
  T.same(q:totable(), {0, 1, 2})
  T.same(k:totable(), {3, 4, 5})
end)

T.test("errors name the op and both shapes", function()
  T.raises(function() return tensor.ones(2, 3):matmul(tensor.ones(4, 5)) end,
    "matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ")
  T.raises(function() return tensor.ones(2, 3) + tensor.ones(4) end, "add: shapes [2,3] and [4] are not broadcastable")
  T.raises(function() return tensor.zeros(-1, 2) end, "negative size -1")
  T.raises(function() return tensor.zeros(1e9, 1e9) end, "more than")
  T.raises(function() return tensor.from({{1, 2}, {3}}) end, "ragged")
  T.raises(function() return tensor.ones(2) + "x" end, "cannot combine a Tensor with a string")
  T.raises(function() return tensor.ones(6):reshape(4, 2) end, "has 8 elements but the tensor [6] has 6")
  T.raises(function() tensor.zeros(2, {dtype = "float16"}) end, "bad option 'dtype'")
  T.raises(function() tensor.zeros(2, {dtyp = "int64"}) end, "unknown option 'dtyp'; did you mean 'dtype'?")
  T.raises(function() return tensor.ones(2):item() end, "item() needs a single-element tensor, got shape [2]")
  T.raises(function() return tensor.ones(2):nosuch() end, "Tensor has no field or method 'nosuch'")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("autograd through Lua", function()
  local x = tensor.from({1.0, 2.0, 3.0}):requires_grad(true)
  local y = (x * x):sum()
  y:backward()
  T.same(x.grad:totable(), {2, 4, 6})
  y = (x * 3):sum()
  y:backward()
  T.same(x.grad:totable(), {5, 7, 9}) -- accumulates
  x:zero_grad()
  T.eq(x.grad, nil)
  local w = tensor.randn(3, 2, {seed = 3}):requires_grad(true)
  local loss = x:matmul(w):tanh():sum()
  T.eq(loss:grad_fn(), "sum")
  loss:backward()
  T.same(w.grad:shape(), {3, 2})
  local z = tensor.no_grad(function() return x * 2 end)
  T.eq(z:requires_grad(), false)
  T.raises(function() tensor.from({1, 2}):requires_grad(true) end, "only float32 tensors can require gradients")
  T.raises(function() tensor.ones(2):sum():backward() end, "does not require a gradient")
end)

T.test("printing is summarized and aligned", function()
  local s = tostring(tensor.from({{1.0, -2.5}, {3.0, 4.0}}))
  T.eq(s, "Tensor [2,2] float32\n[[ 1.0000, -2.5000],\n [ 3.0000,  4.0000]]")
  local big = tostring(tensor.zeros(100, 100))
  T.ok(big:find("...", 1, true))
  T.ok(select(2, big:gsub("\n", "")) < 10)
  T.ok(tostring(tensor.ones(2):requires_grad(true)):find("requires_grad", 1, true))
end)

T.test("memory stays flat in a loop of big temporaries", function()
  collectgarbage()
  local before = lathe.memory().rss
  for i = 1, 3000 do
    local t = tensor.randn(100, 1000) * 2 + 1 -- 400 KB each, 3 per iteration
  end
  collectgarbage()
  local grew = lathe.memory().rss - before
  T.ok(grew < 64 * 1024 * 1024, "RSS grew by " .. grew .. " bytes")
end)

T.test("the Lua heap stays bounded in a loop of small temporaries", function()
  -- each 4-element tensor is a tiny userdata with a finalizer, so garbage lives one cycle
  -- longer; with the incremental collector's default pause (200%) the heap grew every cycle
  -- (87 MB of Lua heap within 2M adds from a 0.3 MB start), and at 150% it crept up once the
  -- live heap held a few MB (after the other test files: 65 MB from 4 MB)
  local x, y = tensor.ones(4), tensor.ones(4)
  collectgarbage()
  local base = collectgarbage("count")
  local peak = 0
  for i = 1, 2000000 do
    local z = x + y
    if i % 1000 == 0 then peak = math.max(peak, collectgarbage("count")) end
  end
  T.ok(peak < 3 * base + 16 * 1024, "Lua heap peaked at " .. math.floor(peak) .. " KB from " .. math.floor(base) .. " KB")
end)

T.test("a training loop's memory stays flat over thousands of steps", function()
  local w = tensor.randn(64, 64, {seed = 1}):requires_grad(true)
  local x = tensor.randn(32, 64, {seed = 2})
  local function step()
    local loss = x:matmul(w):tanh():pow(2):mean()
    loss:backward()
    tensor.no_grad(function() w[1] = w[1] - w.grad[1] * 0.01 end)
    w:zero_grad()
  end
  for i = 1, 200 do step() end
  collectgarbage()
  local before = lathe.memory().rss
  for i = 1, 2000 do step() end
  collectgarbage()
  local grew = lathe.memory().rss - before
  T.ok(grew < 16 * 1024 * 1024, "RSS grew by " .. grew .. " bytes")
end)
