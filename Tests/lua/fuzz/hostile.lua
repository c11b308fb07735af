-- The hostile values the fuzz passes to Lathe's functions, and the Lathe objects it passes
-- where objects are expected. Every value has a name, so a crash report says what was passed.
-- Everything here is deterministic: the same list, in the same order, on every run.
local H = {}

local function deep(n)
  local t = {1}
  for _ = 1, n do t = {t} end
  return t
end

local function range(n, f)
  local t = {}
  for i = 1, n do t[i] = f and f(i) or i end
  return t
end

-- A table whose every metamethod raises: Lathe reads tables raw, so none of these may run
-- (or, where one does run, its error must come back as a Lua error).
local function trap()
  local function boom(what) return function() error("trap: " .. what .. " ran", 0) end end
  return setmetatable({}, {
    __index = boom("__index"), __newindex = boom("__newindex"), __len = boom("__len"),
    __tostring = boom("__tostring"), __pairs = boom("__pairs"), __call = boom("__call"),
    __eq = boom("__eq"), __lt = boom("__lt"), __le = boom("__le"), __concat = boom("__concat"),
    __add = boom("__add"), __unm = boom("__unm"), __name = "Trap",
  })
end

--- The pool: an array of {name, value}. `tmp` is the folder the fuzz runs in (hostile paths
--- inside it: a FIFO, a folder, a missing file).
function H.values(tmp)
  local v = {}
  local function add(name, value) v[#v + 1] = {name, value} end
  add("nil", nil)
  add("true", true)
  add("false", false)
  -- numbers
  add("0", 0)
  add("1", 1)
  add("2", 2)
  add("3", 3)
  add("-1", -1)
  add("-2^31", math.tointeger(-2^31))
  add("2^31", math.tointeger(2^31))
  add("2^32+1", math.tointeger(2^32) + 1)
  add("2^53", 2^53)
  add("2^53 (integer)", math.tointeger(2^53))
  add("2^63-1", math.maxinteger)
  add("-2^63", math.mininteger)
  add("2^63 (float)", 2.0^63)
  add("-2^63 (float)", -2.0^63)
  add("1e18", 1e18)
  add("math.huge", math.huge)
  add("-math.huge", -math.huge)
  add("nan", 0/0)
  add("1e308", 1e308)
  add("-1e308", -1e308)
  add("1e-310", 1e-310)
  add("0.5", 0.5)
  add("-0.5", -0.5)
  add("-0.0", -0.0)
  add("1e9", 1e9)
  -- strings
  add('""', "")
  add('"a"', "a")
  add("10 kB string", string.rep("abcdefghij", 1024))
  add("10 kB of 3-byte characters", string.rep("€", 3414))
  add("invalid UTF-8", "\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc")
  add("string with NUL", "ab\0cd")
  add('"nan"', "nan")
  add('"-1"', "-1")
  add('"%s%n%d"', "%s%n%d%%")
  -- "/" as a folder to write into: only where the fuzz cannot write there (not root)
  local root = io.popen("id -u"):read("l") == "0"
  add(root and '"/proc"' or '"/"', root and "/proc" or "/")
  add('"/dev/zero"', "/dev/zero")
  add('"/proc/self/mem"', "/proc/self/mem")
  add("a FIFO", tmp .. "/fifo")
  add("a folder", tmp .. "/folder")
  add("a missing file", tmp .. "/missing/none.csv")
  add("an empty file", tmp .. "/empty.json")
  add("a file of garbage", tmp .. "/garbage.bin")
  -- functions, coroutines, userdata of other kinds
  add("function", function(...) return ... end)
  add("function that raises", function() error("raised by the fuzz") end)
  add("function returning a table", function() return {1, 2, 3} end)
  local many = range(5000)
  add("function returning 5000 values", function() return table.unpack(many) end)
  add("coroutine", coroutine.create(function() end))
  add("a FILE* userdata", io.stderr)
  add("table with raising metamethods", trap())
  -- tables
  add("{}", {})
  add("{1, 2, 3}", {1, 2, 3})
  add("1e5-element array", range(100000))
  add("1e5-element string array", range(100000, function(i) return "s" .. (i % 97) end))
  add("nested 1000 deep", deep(1000))
  add("nested 60 deep", deep(60))
  local self1 = {}
  self1[1] = self1
  self1.self = self1
  add("self-referencing table", self1)
  add("sparse array", {1, nil, 3, [10] = 10, [1000000] = 7})
  add("mixed keys", {1, 2, a = "x", [true] = 1, [1.5] = 2, [-1] = 3, [0] = 4})
  add("array of hostile numbers", {0/0, math.huge, -math.huge, 2^53, -1, 0, math.mininteger, 1e308})
  add("array of strings", {"a", "b", "", "\xff"})
  add("ragged nested", {{1, 2}, {3}, {}})
  add("array of tables", {{}, {a = 1}, {1}})
  add("options with an unknown name", {zzz_unknown = 1})
  add("options with a non-string key", {[1] = "x", [{}] = 1})
  return v
end

--- The subset used where a hostile value replaces one argument of a working call (the full
--- pool is used for calls with one argument): one of each kind, the sharp numbers kept.
local core_names = {
  "nil", "true", "0", "-1", "2^31", "2^53", "2^63-1", "-2^63", "2^63 (float)", "math.huge",
  "-math.huge", "nan", "1e308", "0.5", "-0.0", '""', "10 kB string", "invalid UTF-8",
  "string with NUL", '"/dev/zero"', "a FIFO", "a folder", "a missing file", "function that raises",
  "function returning 5000 values", "coroutine", "a FILE* userdata", "table with raising metamethods",
  "{}", "1e5-element array",
  "nested 1000 deep", "self-referencing table", "sparse array", "mixed keys",
  "array of hostile numbers", "ragged nested", "options with an unknown name",
}
-- An even smaller subset for the AddressSanitizer run (which is 10-20 times slower).
local lean_names = {
  "nil", "true", "-1", "2^53", "-2^63", "math.huge", "nan", "0.5", '""', "10 kB string",
  "invalid UTF-8", "a FIFO", "function that raises", "function returning 5000 values",
  "table with raising metamethods", "{}", "1e5-element array", "nested 1000 deep", "self-referencing table", "array of hostile numbers",
}

local function subset(pool, names)
  local by = {}
  for _, p in ipairs(pool) do by[p[1]] = p end
  local out = {}
  for _, n in ipairs(names) do out[#out + 1] = assert(by[n], n) end
  return out
end
function H.core(pool) return subset(pool, core_names) end
function H.lean(pool) return subset(pool, lean_names) end

--- Lathe objects of every class, made directly (objects made by other functions are added
--- by the fuzz as the help examples return them).
function H.objects()
  local o = {}
  local function add(name, f)
    local ok, v = pcall(f)
    assert(ok, name .. ": " .. tostring(v))
    o[#o + 1] = {name, v}
  end
  lathe.seed(7)
  add("float tensor 2x3", function() return tensor.randn(2, 3) end)
  add("int64 tensor", function() return tensor.from({1, 2, 3}, {dtype = "int64"}) end)
  add("int64 tensor of extreme values", function()
    return tensor.from({math.maxinteger, math.mininteger, -1, math.tointeger(2^53)}, {dtype = "int64"}) end)
  add("bool tensor", function() return tensor.from({true, false, true}) end)
  add("0-element tensor", function() return tensor.zeros(0) end)
  add("0x3 tensor", function() return tensor.zeros(0, 3) end)
  add("0-d tensor", function() return tensor.from(2.5) end)
  add("tensor of nan and inf", function() return tensor.from({0/0, math.huge, -math.huge, 1}) end)
  add("tensor with grad", function() return tensor.randn(3, 2):requires_grad(true) end)
  add("transposed view", function() return tensor.randn(3, 4):t() end)
  add("expanded view", function() return tensor.ones(1, 3):expand(4, 3) end)
  add("4-d tensor", function() return tensor.randn(2, 1, 3, 2) end)
  add("token ids 2x5", function() return tensor.randint(0, 16, {2, 5}) end)
  add("gpt model", function() return nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, seed = 1} end)
  add("linear layer", function() return nn.linear(3, 2) end)
  add("mlp", function() return nn.mlp{sizes = {3, 4, 2}} end)
  add("encoder", function() return nn.encoder{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8} end)
  add("data table", function() return data.from({text = {"a b", "c", "d e f"}, label = {1, 2, 1}}) end)
  add("empty data table", function() return data.from({x = {}}) end)
  add("char tokenizer", function() return text.char_vocab({"hello world", "abc"}) end)
  add("bpe tokenizer", function() return text.train_bpe({"the cat sat", "the dog"}, {vocab_size = 270}) end)
  add("adamw optimizer", function() return optim.adamw(nn.linear(2, 2):parameters(), {lr = 0.01}) end)
  add("schedule", function() return optim.schedule{kind = "cosine", lr = 0.1, total = 10, warmup = 2} end)
  add("slices", function() return metrics.slices({"a", "a", "b"}, {1, 0, 1}, {1, 1, 1}) end)
  add("drift report", function() return metrics.drift({{x = 1}, {x = 2}}, {{x = 3}, {x = 2}}) end)
  add("confusion matrix", function() return metrics.confusion({1, 2, 1}, {1, 1, 2}) end)
  add("classification report", function() return metrics.report({1, 2, 1}, {1, 1, 2}) end)
  add("json.null", function() return json.null end)
  add("data.NA", function() return data.NA end)
  return o
end

return H
