-- PEFT interoperability: a real PEFT adapter (made by scripts/golden/peft_adapter.py with
-- transformers 5.23.0 and peft 0.21.2 on a tiny Llama) loads into Lathe with the same logits,
-- and Lathe writes the same keys, shapes and config fields.
local T = require("testlib")
local dir = T.root .. "/Tests/golden/peft"

local function read_json_numbers(path)
  -- the expected file is plain JSON; Lua reads it with a tiny decoder for numbers/arrays/objects
  local s = T.read(path)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local e = s:find('"', pos + 1, true)
    local v = s:sub(pos + 1, e - 1)
    pos = e + 1
    return v
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1 return t end
      while true do
        ws()
        local k = str()
        ws(); pos = pos + 1 -- :
        t[k] = value()
        ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return t end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1 return t end
      while true do
        t[#t + 1] = value()
        ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return t end
      end
    elseif c == '"' then
      return str()
    else
      local e = s:find("[,%]}]", pos)
      local tok = s:sub(pos, e - 1):gsub("%s", "")
      pos = e
      if tok == "true" then return true elseif tok == "false" then return false elseif tok == "null" then return nil end
      return tonumber(tok)
    end
  end
  return value()
end

local function tiny_llama()
  return nn.gpt{vocab = 32, layers = 2, dim = 16, heads = 4, kv_heads = 2, seq = 16, hidden = 32, norm = "rmsnorm",
                norm_eps = 1e-6, mlp = "swiglu", positions = "rotary", rope_theta = 10000, bias = false, tie = false,
                naming = "llama"}
end

local function max_diff(a, b)
  local m = 0
  for i = 1, #b do for j = 1, #b[i] do m = math.max(m, math.abs(a[i][j] - b[i][j])) end end
  return m
end

T.test("a transformers Llama checkpoint loads into nn.gpt{naming='llama'} with the same logits", function()
  local exp = read_json_numbers(dir .. "/expected.json")
  local g = tiny_llama()
  g:load(dir .. "/base/model.safetensors")
  local logits = g(exp.ids):squeeze(1):totable()
  T.ok(max_diff(logits, exp.base_logits) < 1e-4, "max diff " .. max_diff(logits, exp.base_logits))
end)

T.test("lora.load reads PEFT's adapter files and reproduces PEFT's adapted logits", function()
  local exp = read_json_numbers(dir .. "/expected.json")
  local g = tiny_llama()
  g:load(dir .. "/base/model.safetensors")
  local paths = lora.load(g, dir .. "/adapter")
  T.eq(#paths, 4)
  local logits = g(exp.ids):squeeze(1):totable()
  T.ok(max_diff(logits, exp.adapted_logits) < 1e-4, "max diff " .. max_diff(logits, exp.adapted_logits))
  local counts = select(2, lathe.capture(lora.trainable, g))
  T.eq(counts.trainable, exp.trainable)
  T.eq(counts.all, exp.all)
end)

T.test("lora.save writes PEFT's key names, shapes and config fields", function()
  local exp = read_json_numbers(dir .. "/expected.json")
  local g = tiny_llama()
  g:load(dir .. "/base/model.safetensors")
  lora.load(g, dir .. "/adapter")
  local out = T.tmpdir() .. "/saved"
  lora.save(g, out)
  local saved = tensor.load(out .. "/adapter_model.safetensors")
  local n = 0
  for k, shape in pairs(exp.adapter_keys) do
    n = n + 1
    T.ok(saved[k] ~= nil, "missing " .. k)
    T.same(saved[k]:shape(), shape, k)
  end
  local m = 0
  for _ in pairs(saved) do m = m + 1 end
  T.eq(m, n, "no extra tensors")
  local cfg = read_json_numbers(out .. "/adapter_config.json")
  local ref = read_json_numbers(dir .. "/adapter/adapter_config.json")
  for _, k in ipairs({"peft_type", "r", "lora_alpha", "lora_dropout", "bias", "task_type", "fan_in_fan_out", "use_dora", "use_rslora"}) do
    T.eq(cfg[k], ref[k], k)
  end
  T.same(cfg.target_modules, ref.target_modules)
  -- and the saved adapter gives the same outputs after loading into a fresh model
  local h = tiny_llama()
  h:load(dir .. "/base/model.safetensors")
  lora.load(h, out)
  T.ok(max_diff(h(exp.ids):squeeze(1):totable(), exp.adapted_logits) < 1e-4)
  os.execute("rm -rf '" .. out .. "'")
end)
