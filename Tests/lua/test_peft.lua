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

-- absolute error (logits are compared to an absolute tolerance); math.huge on NaN or a shape mismatch
local function max_diff(a, b)
  if #a ~= #b then return math.huge end
  local m = 0
  for i = 1, #b do
    if #a[i] ~= #b[i] then return math.huge end
    for j = 1, #b[i] do
      local e = math.abs(a[i][j] - b[i][j])
      if not (e <= m) then m = (e == e) and e or math.huge end
    end
  end
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

local P = T.root .. "/Tests/golden/pretrained/"
local json = require("jsonlib")

T.test("lora.save names the transformers class: BertForSequenceClassification for a pooler head, exact target suffixes", function()
  local m = hf.load(P .. "tiny-bert")
  hf.classifier(m, {classes = 2, pooling = "pooler", seed = 1})
  lora.apply(m, {r = 4, targets = {"query", "attention.output.dense"}, modules_to_save = {"classifier.*", "pooler.*"}, seed = 1})
  local dir = T.tmpdir()
  local r = lora.save(m, dir)
  T.eq(r.architecture, "BertForSequenceClassification")
  T.eq(r.task_type, "SEQ_CLS")
  T.eq(r.lathe_head, nil)
  local cfg = json.read(dir .. "/adapter_config.json")
  -- "dense" alone would also adapt intermediate.dense, output.dense and the pooler in PEFT
  T.same(cfg.target_modules, {"attention.output.dense", "query"})
  T.same(cfg.modules_to_save, {"classifier", "pooler.dense"})
  local saved = tensor.load(dir .. "/adapter_model.safetensors")
  T.ok(saved["base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"] ~= nil)
  T.ok(saved["base_model.model.bert.pooler.dense.weight"] ~= nil and saved["base_model.model.classifier.bias"] ~= nil)
  local n = 0
  for _ in pairs(saved) do n = n + 1 end
  T.eq(n, 2 * 2 * 2 + 4)
  -- a model without adapters gets them, the head (on the pooler) and the trained pooler back
  local h = hf.load(P .. "tiny-bert")
  T.eq(#lora.load(h, dir), 4)
  T.eq(hf.info(h).pooling, "pooler")
  local x, mask = tensor.from({{2, 17, 42, 3}}):long(), tensor.from({{1, 1, 1, 1}}):long()
  T.ok((h(x, mask) - m(x, mask)):abs():max():item() < 1e-6)
  T.ok(h:named_parameters()["pooler.dense.weight"]:requires_grad(), "modules_to_save stay trainable")
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("a head on mean pooling is saved apart (lathe_head.safetensors) with a warning, and lora.load restores it", function()
  local dir = T.tmpdir()
  local out, err, code = T.lathe("-e " .. T.sh_quote(string.format([[
    local m = hf.load(%q)
    hf.classifier(m, {labels = {"a", "b", "c"}, pooling = "mean", seed = 1})
    lora.apply(m, {r = 2, targets = {"query"}, modules_to_save = {"classifier.*"}, seed = 1})
    local r = lora.save(m, %q)
    io.write(r.architecture, " ", r.task_type, " ", r.lathe_head)
  ]], P .. "tiny-bert", dir)))
  T.eq(code, 0, err)
  T.eq(out, "BertModel FEATURE_EXTRACTION mean")
  T.ok(err:find("warning: lora.save: the classification head pools by 'mean', which no transformers class does", 1, true), err)
  local cfg = json.read(dir .. "/adapter_config.json")
  T.eq(cfg.modules_to_save, json.null, "the head is not PEFT's")
  local head = tensor.load(dir .. "/lathe_head.safetensors")
  T.same(head["classifier.weight"]:shape(), {3, 32})
  local h = hf.load(P .. "tiny-bert")
  lora.load(h, dir)
  T.eq(hf.info(h).pooling, "mean")
  T.same(hf.info(h).labels, {"a", "b", "c"})
  T.eq(h:config().classes, 3)
  -- saving over it with a pooler head removes the stale head file
  hf.classifier(h, {classes = 3, pooling = "pooler", seed = 1})
  lora.save(h, dir, {overwrite = true})
  T.ok(io.open(dir .. "/lathe_head.safetensors") == nil)
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("lora.save warns when the names are Lathe's own; GPT-2 adapters say fan_in_fan_out", function()
  local dir = T.tmpdir()
  local _, err, code = T.lathe("-e " .. T.sh_quote(string.format([[
    local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}
    lora.apply(g, {r = 2})
    assert(lora.save(g, %q).architecture == nil)
  ]], dir .. "/lathe")))
  T.eq(code, 0, err)
  T.ok(err:find("warning: lora.save: this model's parameter names are Lathe's own", 1, true), err)
  local g = hf.load(P .. "tiny-gpt2")
  lora.apply(g, {r = 2, targets = {"c_attn"}})
  T.eq(lora.save(g, dir .. "/gpt2").architecture, "GPT2LMHeadModel")
  T.eq(json.read(dir .. "/gpt2/adapter_config.json").fan_in_fan_out, true)
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("lora.load rejects what it cannot reproduce", function()
  local g = tiny_llama()
  g:load(dir .. "/base/model.safetensors")
  local d = T.tmpdir()
  os.execute("cp " .. T.sh_quote(dir .. "/adapter/adapter_model.safetensors") .. " " .. T.sh_quote(d))
  local cfg = T.read(dir .. "/adapter/adapter_config.json")
  T.write(d .. "/adapter_config.json", (cfg:gsub('"use_rslora": false', '"use_rslora": true')))
  T.raises(function() lora.load(g, d) end, "use_rslora = true is not supported")
  T.write(d .. "/adapter_config.json", (cfg:gsub('"rank_pattern": {}', '"rank_pattern": {"q_proj": 2}')))
  T.raises(function() lora.load(g, d) end, "rank_pattern is not supported")
  T.raises(function() lora.load(hf.load(P .. "tiny-gpt2"), dir .. "/adapter") end, "matches no Linear layer")
  os.execute("rm -rf " .. T.sh_quote(d))
end)

T.test("lora.check_peft: PEFT in Python reproduces a saved adapter (decoder and classifier), and catches one that differs", function()
  if not os.execute("python3 -c 'import peft, transformers, torch, safetensors' >/dev/null 2>&1") then
    -- scripts/setup installs them for the tests: their absence is a failure
    T.fail("python3 with peft, transformers, torch and safetensors is needed (scripts/setup --test installs them)")
  end
  local function perturb(m, seed)
    lathe.seed(seed)
    local vals = {}
    for n, t in pairs(m:named_parameters()) do
      if n:find("lora_B") then vals[n] = tensor.randn(t:shape()):mul(0.1) end
    end
    local p = os.tmpname(); os.remove(p)
    tensor.save(p, vals); m:load(p, {strict = false}); os.remove(p)
  end
  local ids = {ids = tensor.from({{5, 17, 42, 99, 3}}):long()}
  local m = hf.load(T.root .. "/Tests/golden/pretrained/tiny-llama")
  lora.apply(m, {r = 4, targets = {"q_proj", "v_proj"}, seed = 1})
  perturb(m, 5)
  local d = T.tmpdir() .. "/llama"
  T.eq(lora.save(m, d, {base_model = "tiny"}).task_type, "CAUSAL_LM")
  local r = lora.check_peft(m, d, ids)
  T.ok(r.passed, tostring(r))
  T.eq(r.model_class, "AutoModelForCausalLM")
  T.ok(tostring(r):find("^PEFT check passed"), tostring(r))
  -- the model changes after saving: PEFT (reading the file) no longer agrees
  perturb(m, 6)
  r = lora.check_peft(m, d, ids)
  T.ok(not r.passed and r.max_difference > 1e-3, tostring(r))
  T.ok(tostring(r):find("^PEFT check FAILED"), tostring(r))
  -- a classifier through BERT's pooler, padded batch with a mask
  local b = hf.load(T.root .. "/Tests/golden/pretrained/tiny-bert")
  hf.classifier(b, {classes = 3, pooling = "pooler", seed = 1})
  lora.apply(b, {r = 4, targets = {"query"}, seed = 1, modules_to_save = {"classifier.*", "pooler.*"}})
  perturb(b, 7)
  local d2 = T.tmpdir() .. "/bert"
  lora.save(b, d2, {base_model = "tiny"})
  r = lora.check_peft(b, d2, {ids = tensor.from({{2, 17, 42, 3}, {2, 61, 3, 0}}):long(), mask = tensor.from({{1, 1, 1, 1}, {1, 1, 1, 0}}):long()})
  T.ok(r.passed, tostring(r))
  T.eq(r.model_class, "AutoModelForSequenceClassification")
  T.eq(r.inputs, 2)
end)
