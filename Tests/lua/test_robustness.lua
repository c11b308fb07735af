-- Hostile input as users and downloaded files give it: deep tables, huge sizes, crafted model
-- folders, non-regular files, exhausted memory. Each case must end in a clear Lua error (or a
-- right result), never a crash; most run in a child process so a crash is seen as one.
local T = require("testlib")

local G = T.root .. "/Tests/golden/pretrained/"

-- runs code in a fresh lathe; returns stdout, stderr, status
local function child(code, prefix)
  return T.run((prefix or "") .. T.sh_quote(T.bin) .. " -e " .. T.sh_quote(code))
end

local function survives(code, want, prefix)
  local out, err, status = child(code, prefix)
  T.eq(status, 0, "the process died (" .. status .. "): " .. err)
  if want then T.ok(out:find(want, 1, true), "expected " .. want .. " in:\n" .. out .. err) end
  return out
end

T.test("nested tables: tensors, results and printing have a depth limit, never overrun the stack", function()
  for _, depth in ipairs({38, 39, 40, 60, 63}) do
    survives("local t = {1} for i = 1, " .. depth .. " do t = {t} end local x = tensor.from(t) print(x:dim())",
      tostring(depth + 1))
  end
  for _, depth in ipairs({64, 200, 100000}) do
    survives("local t = {1} for i = 1, " .. depth .. " do t = {t} end print(pcall(tensor.from, t))",
      "at most 64 dimensions")
  end
  -- a 45-dimension tensor goes back to nested tables
  survives("local s = {} for i = 1, 45 do s[i] = 1 end local t = tensor.ones(s):totable() for i = 1, 44 do t = t[1] end print(t[1])", "1.0")
  survives("local s = {} for i = 1, 65 do s[i] = 1 end print(pcall(tensor.ones, s))", "at most 64 dimensions (got 65)")
  -- tables read as values (options, reports) and the printer
  survives("local t = {} for i = 1, 100000 do t = {t} end print(pcall(cost.report, t))", "nested more than 100 levels")
  survives("local t = {} for i = 1, 40 do t = {x = t} end print(pcall(cost.report, t))", "true")
  survives("local t = {} t.self = t print(pcall(cost.report, t))", "nested more than 100 levels")
  survives("local t = {} for i = 1, 100000 do t = {t} end show(t) print('shown')", "shown")
end)

T.test("sizes from the user: a clear error naming the function, never an abort", function()
  local cases = {
    {"nn.layer_norm(1e12)", "nn.layer_norm:"},
    {"nn.linear(1e9, 1e9)", "nn.linear:"},
    {"nn.embedding(2^53, 8)", "nn.embedding:"},
    {"tensor.zeros(1):expand(1e6, 1e6):contiguous()", "Tensor:contiguous:"},
    {"tensor.ones(1, 1):expand(1e5, 1e5):sum()", "Tensor:sum:"},
    {"tensor.ones(1e5, 1) + tensor.ones(1, 1e5)", "Tensor.__add:"},
    {"nn.gpt{vocab = 16, layers = 1e9, dim = 8, heads = 2, seq = 8}", "nn.gpt: 1000000000 layers"},
    {"tensor.zeros(-1)", "negative size"},
    {"tensor.zeros(2^62, 4)", "too many elements"},
  }
  for _, c in ipairs(cases) do
    survives("local ok, e = pcall(function() return " .. c[1] .. " end) print(ok, e)", c[2])
  end
end)

T.test("the Lua heap running out is 'not enough memory', as in stock Lua", function()
  if T.sanitizer then T.skip("the Lua heap is capped with ulimit -v, which AddressSanitizer's shadow memory rules out") end
  -- 3 GB of address space: start-up fits, a table of a billion numbers does not
  local out = survives("local ok, e = pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) " ..
    "collectgarbage() print(ok, e) print(#tensor.ones(3):totable())", nil, "ulimit -v 3000000; ")
  T.ok(out:find("false\tnot enough memory", 1, true), out)
  T.ok(out:find("\n3\n", 1, true), "the session goes on after it: " .. out)
end)

T.test("chat templates: nesting and string sizes are bounded", function()
  local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8}
  local function render(tpl)
    return pcall(function()
      hf.attach(g, {chat_template = tpl})
      return hf.chat_prompt(g, "hi")
    end)
  end
  local ok, e = render(string.rep("{% if true %}", 30000) .. "x" .. string.rep("{% endif %}", 30000))
  T.ok(not ok and e:find("nested more than 200 levels", 1, true), e)
  ok, e = render("{{ " .. string.rep("(", 30000) .. "1" .. string.rep(")", 30000) .. " }}")
  T.ok(not ok and e:find("nested more than 200 levels", 1, true), e)
  ok, e = render("{% set ns = namespace(x='ab') %}{% for i in range(64) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}")
  T.ok(not ok and e:find("longer than templates may make", 1, true), e)
  ok, e = render("{{ 'a' * 50000000 }}")
  T.ok(not ok and e:find("longer than templates may make", 1, true), e)
  ok, e = render("{% set x = 'a' * 10000000 %}{{ x }}{{ x }}")
  T.ok(not ok and e:find("longer than templates may make", 1, true), e)
  -- big but legal: 5,000,000 characters are rendered whole, not cut
  ok, e = render("{{ 'a' * 5000000 }}")
  T.ok(ok and #e == 5000000, ok and #e or e)
  ok, e = render(string.rep("{% if true %}", 150) .. "x" .. string.rep("{% endif %}", 150))
  T.ok(ok and e == "x", e)
end)

local function copy_dir(src)
  local d = T.tmpdir()
  assert(os.execute("cp -r " .. T.sh_quote(src) .. "/. " .. T.sh_quote(d)))
  return d
end

local function edit_config(dir, from, to)
  local p = dir .. "/config.json"
  local s = T.read(p)
  local n
  s, n = s:gsub(from, to)
  T.ok(n == 1, "config.json edit " .. from)
  T.write(p, s)
end

T.test("crafted model folders: layer counts and rope_theta are checked against the weights", function()
  local d = copy_dir(G .. "tiny-llama")
  edit_config(d, '"num_hidden_layers": %d+', '"num_hidden_layers": 1000000000')
  survives("print(pcall(hf.load, " .. string.format("%q", d) .. "))", "num_hidden_layers is 1000000000, but")
  d = copy_dir(G .. "tiny-llama")
  edit_config(d, '"num_hidden_layers": %d+', '"num_hidden_layers": 0')
  survives("print(pcall(hf.load, " .. string.format("%q", d) .. "))", "num_hidden_layers is 0, but")
  for _, theta in ipairs({"0", "-1"}) do
    d = copy_dir(G .. "tiny-llama")
    edit_config(d, '"rope_theta": [%d%.e+]+', '"rope_theta": ' .. theta)
    survives("print(pcall(hf.load, " .. string.format("%q", d) .. "))", "rope_theta must be positive")
  end
  d = copy_dir(G .. "tiny-gpt2")
  edit_config(d, '"n_layer": %d+', '"n_layer": 4000000000')
  survives("print(pcall(hf.load, " .. string.format("%q", d) .. "))", "n_layer is 4000000000, but")
end)

-- the GGUF file with its llama.block_count (a uint32 after the key) set to `n`
local function gguf_with_blocks(n)
  local s = T.read(G .. "tiny-llama.gguf")
  local key = "llama.block_count"
  local at = s:find(key, 1, true)
  T.ok(at, "block_count key")
  local v = at + #key + 4  -- the value type (uint32) comes first
  T.eq(string.unpack("<I4", s, at + #key), 4, "block_count is a uint32")
  local p = T.tmpdir() .. "/m.gguf"
  T.write(p, s:sub(1, v - 1) .. string.pack("<I4", n) .. s:sub(v + 4))
  return p
end

T.test("crafted GGUF files: block_count must match the blk.N tensors", function()
  for _, n in ipairs({0, 0xFFFFFFFF, 1}) do
    survives("print(pcall(hf.load_gguf, " .. string.format("%q", gguf_with_blocks(n)) .. "))",
      "block_count is " .. n .. ", but the file holds tensors for")
  end
end)

T.test("FIFOs, folders and devices named like model files are refused, never waited on", function()
  local d = copy_dir(G .. "tiny-bert")
  os.remove(d .. "/tokenizer.json")
  assert(os.execute("mkfifo " .. T.sh_quote(d .. "/tokenizer.json")))
  -- `timeout`: before the fix, opening the FIFO blocked forever
  local out, err, status = T.run("timeout 60 " .. T.sh_quote(T.bin) .. " -e " ..
    T.sh_quote("print(pcall(hf.load, " .. string.format("%q", d) .. "))"))
  T.eq(status, 0, err)
  T.ok(out:find("tokenizer.json is a FIFO (named pipe), not a regular file", 1, true), out)
  d = copy_dir(G .. "tiny-bert")
  os.remove(d .. "/config.json")
  assert(os.execute("mkdir " .. T.sh_quote(d .. "/config.json")))
  local ok, e = pcall(hf.load, d)
  T.ok(not ok and e:find("config.json is a folder, not a regular file", 1, true), e)
  ok, e = pcall(data.read_csv, "/dev/null/x")
  T.ok(not ok, "a path through a device")
  ok, e = pcall(text.load_tokenizer, "/dev/zero")
  T.ok(not ok and e:find("is a character device, not a regular file", 1, true), e)
end)

T.test("at exit the Lua state is closed: finalizers and to-be-closed variables run", function()
  survives("X = setmetatable({}, {__gc = function() io.write('finalized at exit\\n') end})", "finalized at exit")
  local script = T.tmpdir() .. "/s.lua"
  T.write(script, "Y = setmetatable({}, {__gc = function() io.write('gc in script\\n') end})\n" ..
    "local c <close> = setmetatable({}, {__close = function() io.write('closed\\n') end})\nprint('end of script')\n")
  local out, err, status = T.run(T.sh_quote(T.bin) .. " run " .. T.sh_quote(script))
  T.eq(status, 0, err)
  T.ok(out:find("end of script\nclosed\ngc in script\n", 1, true), out)
  -- the prompt too, when stdin ends
  out = select(1, T.run(T.sh_quote(T.bin), "Z = setmetatable({}, {__gc = function() io.write('gc at eof\\n') end})\n"))
  T.ok(out:find("gc at eof", 1, true), out)
end)

T.test("tensor.save honours options after a nil metadata; files follow the umask", function()
  local d = T.tmpdir()
  tensor.save(d .. "/h.safetensors", {w = tensor.ones(2, 2)}, nil, {dtype = "float16"})
  local header = T.read(d .. "/h.safetensors")
  T.ok(header:find('"dtype":"F16"', 1, true), header:sub(1, 120))
  T.write(d .. "/h2.safetensors", "x")
  tensor.save(d .. "/h2.safetensors", {w = tensor.ones(1)}, nil, {overwrite = true})
  T.ok(#T.read(d .. "/h2.safetensors") > 8, "overwritten")
  local function mode(umask)
    local p = d .. "/m" .. umask .. ".safetensors"
    local out, err, status = T.run("umask " .. umask .. "; " .. T.sh_quote(T.bin) .. " -e " ..
      T.sh_quote("tensor.save(" .. string.format("%q", p) .. ", {w = tensor.ones(1)})"))
    T.eq(status, 0, err)
    return (T.run("stat -c %a " .. T.sh_quote(p)))
  end
  T.eq(mode("022"), "644\n")
  T.eq(mode("077"), "600\n")
  T.eq(mode("002"), "664\n")
end)

T.test("checkpoints: a torn or unfinished folder is never resumed; stale leftovers are removed", function()
  local dir = T.tmpdir()
  local function fit(extra)
    local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, seed = 1}
    local data = tensor.randint(0, 16, {32, 9}, {seed = 2})
    local o = {model = g, train = data, batch_size = 8, epochs = 10, checkpoint_dir = dir, quiet = true, keep_checkpoints = 2}
    for k, v in pairs(extra or {}) do o[k] = v end
    return train.fit(o), g
  end
  local h = fit({max_steps = 3})
  T.eq(h.checkpoint, dir .. "/checkpoint-000003")
  T.ok(io.open(h.checkpoint .. "/checkpoint_complete"), "completion marker")
  -- what killed runs leave: a torn newer checkpoint (no marker), a temporary folder of a dead
  -- process, a half-deleted one
  assert(os.execute("mkdir -p " .. dir .. "/checkpoint-000009 " .. dir .. "/checkpoint-000010.tmp-999999 " ..
    dir .. "/checkpoint-000001.deleting-999999"))
  T.write(dir .. "/checkpoint-000009/model.safetensors", "torn")
  local h2 = fit({resume = true, max_steps = 5})
  T.eq(h2.steps, 5, "resumed from step 3, not from the torn step 9")
  T.ok(not io.open(dir .. "/checkpoint-000010.tmp-999999/"), "stale temporary folder removed")
  T.ok(not io.open(dir .. "/checkpoint-000001.deleting-999999/"), "half-deleted folder removed")
  local ok, e = pcall(fit, {resume = dir .. "/checkpoint-000009", max_steps = 6})
  T.ok(not ok and e:find("not a complete checkpoint", 1, true), e)
  -- pruning keeps the two newest whole checkpoints
  local names = {}
  for n in io.popen("ls " .. dir):lines() do names[#names + 1] = n end
  T.same(names, {"checkpoint-000003", "checkpoint-000005", "checkpoint-000009"})
end)

T.test("a failed final save keeps the trained model and the history", function()
  local blocker = T.tmpdir() .. "/file"
  T.write(blocker, "not a folder")
  local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, seed = 1}
  local data = tensor.randint(0, 16, {16, 9}, {seed = 2})
  local h = train.fit{model = g, train = data, batch_size = 8, max_steps = 2, quiet = true,
                      checkpoint_dir = blocker .. "/ck"}
  T.eq(h.steps, 2)
  T.eq(h.checkpoint, nil)
  T.ok(type(h.checkpoint_error) == "string" and h.checkpoint_error:find("is a file, not a folder", 1, true), tostring(h.checkpoint_error))
end)

T.test("JSON that Lathe writes holds the decimals given, not float32 expansions", function()
  local d = T.tmpdir()
  local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8, naming = "llama", norm = "rmsnorm",
                   norm_eps = 1e-5, mlp = "swiglu", positions = "rotary", bias = false}
  lora.apply(g, {r = 2, alpha = 16, dropout = 0.05, targets = {"q_proj", "v_proj"}})
  lora.save(g, d .. "/adapter")
  local cfg = json.decode(T.read(d .. "/adapter/adapter_config.json"))
  T.eq(cfg.lora_dropout, 0.05)
  T.ok(not T.read(d .. "/adapter/adapter_config.json"):find("0.0500000", 1, true))
  lora.merge(g)
  hf.save(g, d .. "/model")
  local text = T.read(d .. "/model/config.json")
  T.eq(json.decode(text).rms_norm_eps, 1e-5)
  T.ok(not text:find("9.99999", 1, true), text)
end)

-- Found by the fuzz (Tests/lua/test_fuzz.lua); one assertion per class of bug, run in place
-- (a regression crashes this file's run, which the runner reports as a failure).

T.test("numbers past 2^63, NaN and infinities given where integers are needed are errors, not traps", function()
  local function err(f, ...) local ok, e = pcall(f, ...) T.ok(not ok, "expected an error") return e end
  -- Int(x) of a user's double went through one checked conversion
  T.ok(err(tensor.from, {1.5, 2^63}, {dtype = "int64"}):find("whole number that fits in 64 bits", 1, true))
  T.ok(err(tensor.full, {2}, 0/0, {dtype = "int64"}):find("whole number", 1, true))
  T.ok(err(tensor.from({1e30}).long, tensor.from({1e30})):find("cannot convert", 1, true))
  T.ok(err(tensor.ones(2):long().masked_fill, tensor.ones(2):long(), tensor.from({true, false}), 1e300):find("does not fit", 1, true))
  T.ok(err(train.windows, tensor.from({0/0, 1, 2}), 1):find("cannot convert", 1, true))
  T.ok(err(nn.mlp, {sizes = {4, 0/0, 2}}):find("array of integers", 1, true))
  T.ok(err(tensor.arange, 0, 1e308):find("too many elements", 1, true))
  T.ok(err(data.split, data.from({x = {1, 2, 3, 4}}), {train = 0.5, test = 0/0}):find("bad option 'test' (expected number in [0, 1]", 1, true))
  local s = optim.schedule{kind = "cosine", lr = 0.1, total = 10}
  T.ok(s:plot{steps = math.maxinteger, width = 12, height = 3}:find("9223372036854775806", 1, true))
  local b = metrics.bench(function() end, {runs = 2, warmup = 0, batch = math.maxinteger})
  T.ok(b.items_per_sec > 0)
end)

T.test("int64 values keep every bit: from, item, totable, printing", function()
  local t = tensor.from({math.maxinteger, math.mininteger, math.tointeger(2^53) + 1})
  T.eq(t:dtype(), "int64")
  T.eq(t[1], math.maxinteger)
  T.eq(t[3], 9007199254740993)
  T.eq(t:totable()[2], math.mininteger)
  T.eq(t:narrow(1, 1, 1):item(), math.maxinteger)
  T.ok(tostring(t):find("9223372036854775807", 1, true), tostring(t))
  T.eq(tensor.full({1}, math.maxinteger, {dtype = "int64"})[1], math.maxinteger)
  T.eq(tensor.arange(math.maxinteger - 2, math.maxinteger):totable()[2], math.maxinteger - 1)
end)

T.test("index and size arithmetic near 2^63 is checked, not overflowed", function()
  local function err(f, ...) local ok, e = pcall(f, ...) T.ok(not ok, "expected an error") return e end
  local x = tensor.ones(4, 3)
  T.ok(err(x.narrow, x, 1, 3, math.maxinteger):find("outside dimension", 1, true))
  T.ok(err(x.reshape, x, {2^40 // 1, 2^40 // 1, 2^40 // 1}):find("too many elements", 1, true))
  T.ok(err(tensor.ones(1, 3).expand, tensor.ones(1, 3), math.maxinteger, 3):find("more than 2^63", 1, true))
  T.eq(#x:chunk(math.maxinteger), 4)
  T.same(x:slice(1, 1, 4, math.maxinteger):shape(), {1, 3})
  T.ok(err(x.index_select, x, 1, {math.mininteger}):find("out of range", 1, true))
  T.eq(tensor.from({math.mininteger}):remainder(-1)[1], 0)
  T.eq(tensor.from({math.mininteger}):floor_divide(-1)[1], math.mininteger)
  local r = tensor.randint(math.mininteger, math.maxinteger, {1000}, {seed = 1})
  T.ok(r:min():item() < -2^60 and r:max():item() > 2^60, "the whole int64 range is drawn")
  T.ok(err(train.windows, tensor.arange(10), math.maxinteger):find("not enough for one window", 1, true))
  T.ok(err(metrics.chrf, {"a b"}, {{"a b"}}, {word_order = math.maxinteger}):find("expected integer in 0..16", 1, true))
  -- chat templates (from downloaded models): integer // and % exactly, |int of huge floats
  local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 8}
  hf.attach(g, {chat_template = "{{ 9223372036854775807 // 1 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ (10.0 ** 300) | int }}"})
  T.eq(hf.chat_prompt(g, "hi"), "9223372036854775807 -4 -2 0")
  -- epochs and batch sizes past any data: the update count saturates instead of overflowing
  local m = nn.mlp{sizes = {2, 2}, seed = 1}
  local h = train.fit{model = m, train = {x = tensor.ones(4, 2), y = tensor.from({0, 1, 0, 1})}, batch_size = math.maxinteger,
    epochs = math.maxinteger, max_steps = 2, quiet = true}
  T.eq(h.steps, 2)
end)

T.test("memory sized by a user's number is checked before it is allocated", function()
  -- 2 GB of address space: each of these asked for more and stopped the process before
  local code = [[
    local function e(f, ...) local ok, m = pcall(f, ...) io.write(tostring(ok), " ", tostring(m):sub(1, 60), "\n") end
    e(metrics.bootstrap, "accuracy", {1, 0, 1}, {1, 1, 1}, {n = 2^31})
    e(metrics.paired_test, {1, 0, 1}, {1, 1, 0}, {1, 0, 1}, {metric = "accuracy", n = 2^31 // 1})
    local s = optim.schedule{kind = "cosine", lr = 0.1, total = 10}
    e(s.list, s, 2^30 // 1)
    e(data.augment, data.from({t = {"a b c", "d e"}}), "t", {ops = {"swap"}, n = 2^40 // 1})
    e(nn.mlp, {sizes = {1e5 // 1, 1e5 // 1, 1e5 // 1}})
    print("alive", lathe.swift_depth())
  ]]
  local out = survives(code, "alive\t0", T.memory_cap(2000000))
  local refusals = select(2, out:gsub("false ", ""))
  T.eq(refusals, 5, out)
end)

T.test("a NaN label as the key of a result table is an error, not a longjmp through Swift", function()
  local ok, e = pcall(data.class_weights, {0/0, 1, 1})
  T.ok(not ok and e:find("cannot be a key", 1, true), e)
  T.eq(lathe.swift_depth(), 0)
end)

T.test("one-character and odd file names; writers never replace FIFOs or devices", function()
  local d = T.tmpdir()
  -- Foundation's deletingLastPathComponent stopped the process on "a" and "a/"
  local bin = T.bin:find("/", 1, true) and io.popen("realpath " .. T.sh_quote(T.bin)):read("l") or T.bin
  local out, err, status = T.run("cd " .. T.sh_quote(d) .. " && " .. T.sh_quote(bin) .. " -e " ..
    T.sh_quote("local g = nn.linear(2, 2) g:save('a') print(io.open('a') ~= nil) print(pcall(tensor.save, 'b/', {w = tensor.ones(1)}))"))
  T.eq(status, 0, err)
  T.ok(out:find("^true\nfalse"), out)
  assert(os.execute("mkfifo " .. T.sh_quote(d .. "/fifo")))
  local ok, e = pcall(tensor.save, d .. "/fifo", {w = tensor.ones(1)}, nil, {overwrite = true})
  T.ok(not ok and e:find("is a FIFO (named pipe), not a regular file", 1, true), e)
  local kind = T.run("stat -c %F " .. T.sh_quote(d .. "/fifo"))
  T.eq(kind, "fifo\n")
  ok, e = pcall(tensor.save, d .. "/x\0y", {w = tensor.ones(1)})
  T.ok(not ok and e:find("NUL byte", 1, true), e)
  tensor.save(d .. "/x", {w = tensor.ones(1)})
  ok, e = pcall(data.read_csv, d .. "/x\0y")  -- C would open d/x
  T.ok(not ok and e:find("NUL byte", 1, true), e)
end)

T.test("results too big for a Lua table are refused before they are built", function()
  local ok, e = pcall(function() return tensor.zeros(1):expand(2^31 // 1):totable() end)
  T.ok(not ok and e:find("more than a Lua table holds", 1, true), e)
  T.eq(lathe.swift_depth(), 0)
end)

T.test("tokenizers made and dropped do not hold memory the collector cannot see", function()
  -- each held two 2 MB word caches, allocated at once and invisible to Lua's collector:
  -- 700 of them filled 3 GB of address space before a collection ran
  local before = lathe.memory().rss
  for i = 1, 1000 do text.char_vocab({"hello", "x" .. i}) end
  T.ok(lathe.memory().rss - before < 300e6, "grew by " .. (lathe.memory().rss - before) // 1e6 .. " MB")
end)
