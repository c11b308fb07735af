-- The hf module: loading Hugging Face checkpoints (tiny reference models of every family, the
-- real all-MiniLM-L6-v2 and SmolLM2-135M-Instruct), GGUF files, chat templates, embeddings,
-- classification heads, LoRA on quantized bases, saving, and errors on bad input. Reference
-- values come from PyTorch transformers (scripts/golden/pretrained.py -> Tests/golden/pretrained).
local T = require("testlib")
local json = require("jsonlib")

local G = T.root .. "/Tests/golden/pretrained/"
local gold = json.read(G .. "tiny.json")

-- max |a - b| / max(1, |b|) over the positions the mask keeps (logits [B, T, V] or states)
local function compare(out, g)
  local want = g.logits or g.hidden
  local got = out:reshape(#want):totable()
  local last = g.shape[#g.shape]
  local maxrel = 0
  for i = 1, #want do
    local keep = true
    if #g.shape == 3 then
      local row = (i - 1) // last
      local b, t = row // g.shape[2], row % g.shape[2]
      keep = g.mask[b + 1][t + 1] == 1
    end
    if keep then
      local e = T.max_error(got[i], want[i])
      if not (e <= maxrel) then maxrel = e end
    end
  end
  return maxrel
end

local function ids_of(g) return tensor.from(g.ids):long(), tensor.from(g.mask):long() end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function fetch(what)
  local out, err, code = T.run(T.sh_quote(T.root .. "/scripts/fetch_models.sh") .. " " .. what)
  T.same(code, 0, "scripts/fetch_models.sh " .. what .. " failed: " .. err)
  return out
end

local families = {"tiny-llama", "tiny-llama-bf16-sharded", "tiny-qwen2-f16", "tiny-mistral", "tiny-gpt2", "tiny-bert", "tiny-bert-cls-f16"}

T.test("tiny models of every family match transformers (F32, F16, BF16, sharded, prefixes)", function()
  for _, name in ipairs(families) do
    local m = hf.load(G .. name)
    local ids, mask = ids_of(gold[name])
    local rel = compare(m(ids, mask), gold[name])
    T.ok(rel < 1e-4, name .. ": max relative difference " .. rel)
    T.eq(m:is_training(), false, "loaded models start in eval mode")
  end
  -- names follow the checkpoints
  local q = hf.load(G .. "tiny-qwen2-f16"):named_parameters()
  T.ok(q["model.layers.0.self_attn.q_proj.bias"] ~= nil and q["model.layers.0.self_attn.o_proj.bias"] == nil, "qwen2 q/k/v biases only")
  local g = hf.load(G .. "tiny-gpt2"):named_parameters()
  T.same(g["transformer.h.0.attn.c_attn.weight"]:shape(), {96, 32}, "GPT-2 c_attn fused, as Linear [out, in]")
  local b = hf.load(G .. "tiny-bert-cls-f16")
  T.same(b:config().classes, 3)
  T.same(hf.info(b).labels, {"negative", "neutral", "positive"})
  T.eq(b:config().pooling, "pooler")
  T.eq(hf.info(hf.load(G .. "tiny-bert")).pooling, "cls")
end)

T.test("tiny GGUF: names, un-permuted q/k, Q8_0/Q4_0/Q4_1/F16 dequantized or kept packed", function()
  local g = gold["tiny-llama.gguf"]
  local ids, mask = ids_of(g)
  local plain = hf.load_gguf(G .. "tiny-llama.gguf")
  local packed = hf.load_gguf(G .. "tiny-llama.gguf", {quantized = true})
  T.ok(compare(plain(ids, mask), g) < 1e-4, "dequantized")
  T.ok(compare(packed(ids, mask), g) < 1e-4, "quantized in memory")
  local a, b = plain(ids, mask):totable(), packed(ids, mask):totable()
  T.near(a[1][7][5], b[1][7][5], 1e-4)
  T.ok(packed:weight_bytes() < plain:weight_bytes() / 2, "packed weights take less memory: " .. packed:weight_bytes() .. " vs " .. plain:weight_bytes())
  T.eq(packed:get("model.layers.0.self_attn.q_proj"):num_params(), 4096)
  T.ok(tostring(packed:get("model.layers.0.self_attn.k_proj")):find("QuantLinear") ~= nil)
  T.eq(hf.info(packed).quantized, true)
  -- the embedded tokenizer equals the one the model was trained with; the template is there
  local ref = hf.load(G .. "tiny-llama").tokenizer
  for _, s in ipairs({"What is the capital of Japan?", "Numbers 12345, café <|im_end|> x\n\ty"}) do
    T.same(plain.tokenizer:encode(s), ref:encode(s), s)
  end
  T.eq(hf.chat_prompt(plain, "hi"), "<|im_start|>system\nYou are a tiny test model.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
  T.same(hf.info(plain).eos_ids, {2})
end)

T.test("tiny Llama: greedy chat through the template equals transformers' generate", function()
  local m = hf.load(G .. "tiny-llama")
  local c = gold["tiny-llama"].chat
  T.eq(hf.chat_prompt(m, c.messages), c.prompt)
  T.same(m.tokenizer:encode(c.prompt), c.prompt_ids)
  local reply, info = hf.chat(m, c.messages, {max_tokens = 12})
  T.same(info.ids, c.generated)
  T.eq(reply, c.text)
  local r2 = m:chat(c.messages[1].content, {max_tokens = 12})
  T.eq(r2, c.text, "a string is one user turn")
  local out = lathe.capture(function() hf.chat(m, c.messages, {max_tokens = 12, stream = true}) end)
  T.eq(out, c.text .. "\n", "stream prints the reply")
  local text, ids = hf.generate(m, c.prompt, {max_tokens = 12, special_tokens = false})
  T.same(ids, c.generated)
  -- a stop string ends generation and the text is cut before it (also when streamed)
  -- (an ASCII pair inside the reply, so the cut falls on a character boundary)
  local at = c.text:find("[%w%*%.][%w%*%.]", 4)
  T.ok(at ~= nil, "the golden reply has two ASCII characters in a row")
  local stop = c.text:sub(at, at + 1)
  local want = c.text:sub(1, at - 1)
  local cut, cinfo = hf.chat(m, c.messages, {max_tokens = 12, stop = {stop}})
  T.eq(cut, want)
  T.ok(#cinfo.ids < #c.generated, "generation ended early")
  for i, id in ipairs(cinfo.ids) do T.eq(id, c.generated[i]) end
  T.eq(hf.chat(m, c.messages, {max_tokens = 12, stop = stop}), want, "a single string")
  T.eq(lathe.capture(function() hf.chat(m, c.messages, {max_tokens = 12, stop = {stop}, stream = true}) end), want .. "\n")
  -- a stop id ends before that token
  local byid = select(2, hf.chat(m, c.messages, {max_tokens = 12, stop = {c.generated[3]}})).ids
  T.ok(#byid < 3, "stopped at the id")
  T.raises(function() hf.chat(m, c.messages, {stop = {""}}) end, "empty stop string")
  T.raises(function() hf.chat(m, c.messages, {stop = {true}}) end, "bad option 'stop'")
  -- sampling is seeded
  local s1 = hf.generate(m, "the", {temperature = 1, seed = 7, max_tokens = 8})
  local s2 = hf.generate(m, "the", {temperature = 1, seed = 7, max_tokens = 8})
  T.eq(s1, s2)
end)

T.test("hf.chat_data: the template's text, the loss only on the reply, padding, truncation, errors", function()
  local m = hf.load(G .. "tiny-llama")
  local tok = m.tokenizer
  local ex = {{prompt = "the cat", response = "sat on the mat"}, {instruction = "a", input = "b", output = "c"},
              {{role = "user", content = "hi"}, {role = "assistant", content = "hello"}}}
  local d, info = hf.chat_data(m, ex, {max_length = 200})
  T.same(info.examples, 3)
  T.same(info.truncated, 0)
  local convs = {{{role = "user", content = "the cat"}, {role = "assistant", content = "sat on the mat"}},
                 {{role = "user", content = "a\n\nb"}, {role = "assistant", content = "c"}},
                 {{role = "user", content = "hi"}, {role = "assistant", content = "hello"}}}
  local x, y, mask = d.x:totable(), d.y:totable(), d.mask:totable()
  local T_ = d.x:shape()[2]
  local targets = 0
  for r, conv in ipairs(convs) do
    local p = tok:encode(hf.chat_prompt(m, {conv[1]}))
    local full = tok:encode(hf.chat_prompt(m, conv, {add_generation_prompt = false}))
    for j = 1, #p do T.eq(full[j], p[j], "the prompt's tokens start the conversation's") end
    for j = 1, T_ do
      if j < #full then
        T.eq(x[r][j], full[j]); T.eq(mask[r][j], 1)
        -- position j predicts token j+1: learned only when it lies in the reply
        if j + 1 > #p then T.eq(y[r][j], full[j + 1]); targets = targets + 1 else T.eq(y[r][j], -100) end
      else
        T.eq(mask[r][j], 0); T.eq(y[r][j], -100)
      end
    end
  end
  T.same(info.target_tokens, targets)
  -- a short max_length cuts the sequences (and counts it)
  local longest = #tok:encode(hf.chat_prompt(m, convs[1], {add_generation_prompt = false}))
  local d2, info2 = hf.chat_data(m, ex, {max_length = longest - 3})
  T.ok(d2.x:shape()[2] <= longest - 3)
  T.ok(info2.truncated >= 1)
  -- the data trains: the reply's loss falls
  local before = train.evaluate(m, d).loss
  train.fit{model = m, train = d, epochs = 10, batch_size = 3, lr = 1e-2, quiet = true}
  T.ok(train.evaluate(m, d).loss < before * 0.7, "the reply loss falls")
  T.raises(function() hf.chat_data(m, {{prompt = "x"}}) end, "needs string fields prompt")
  T.raises(function() hf.chat_data(m, {{{role = "user", content = "x"}}}) end, "must end with an assistant message")
  T.raises(function() hf.chat_data(m, {}) end, "examples")
  T.raises(function() hf.chat_data(m, ex, {max_length = 2}) end, "cut away")
  T.raises(function() hf.chat_data(nn.gpt{vocab = 8, layers = 1, dim = 8, heads = 2, seq = 8}, ex) end, "tokenizer")
end)

T.test("chat templates render as transformers renders them (trim_blocks, lstrip_blocks, filters, namespace, errors)", function()
  local doc = json.read(G .. "chat_templates.json")
  local g = nn.gpt{vocab = 8, layers = 1, dim = 8, heads = 2, seq = 8}
  local n = 0
  for _, case in ipairs(doc.cases) do
    hf.attach(g, {chat_template = doc.templates[case.template], bos_token = doc.bos_token, eos_token = doc.eos_token})
    local msgs = doc.conversations[case.conversation + 1]
    local ok, got = pcall(hf.chat_prompt, g, msgs, {add_generation_prompt = case.add_generation_prompt})
    local what = case.template .. " #" .. case.conversation .. (case.add_generation_prompt and " +gen" or "")
    if case.error then
      T.ok(not ok, what .. " should raise")
      T.ok(got:find(case.error, 1, true) ~= nil, what .. ": " .. got)
    else
      T.ok(ok, what .. ": " .. tostring(got))
      T.eq(got, case.text, what)
    end
    n = n + 1
  end
  T.eq(n, 48)
  T.raises(function() hf.attach(g, {chat_template = "{% for x in y %}"}) end, "missing {% endfor %}")
  T.raises(function() hf.attach(g, {chat_template = "{% macro f() %}{% endmacro %}"}) end, "'{% macro %}' statement is not supported")
  hf.attach(g, {chat_template = "{{ messages | bogus }}"})
  T.raises(function() hf.chat_prompt(g, "x") end, "filter 'bogus' is not supported")
end)

T.test("all-MiniLM-L6-v2: token ids, embeddings and cosine similarities match sentence-transformers", function()
  fetch("minilm")
  local ref = json.read(G .. "minilm.json")
  local m = hf.load(hf.path("minilm"))
  T.eq(tostring(m):match("^Encoder") ~= nil, true)
  T.eq(hf.info(m).pooling, "mean")
  T.eq(hf.info(m).normalize, true)
  T.eq(hf.info(m).max_length, 256)
  for i, s in ipairs(ref.sentences) do
    if i < #ref.sentences then
      local ids = m.tokenizer:encode(s, {})
      -- the tokenizer file pads to 128; compare the real tokens
      local real = {}
      for _, id in ipairs(ids) do if id ~= 0 then real[#real + 1] = id end end
      T.same(real, ref.ids[i], s)
    end
  end
  local e = m:embed(ref.sentences)
  T.same(e:shape(), {#ref.sentences, 384})
  local E = e:totable()
  for i = 1, #ref.sentences do
    for j = 1, 8 do T.near(E[i][j], ref.embeddings[i][j], 1e-4, "sentence " .. i .. " dim " .. j) end
    for j = 1, 384 do
      if math.abs(E[i][j] - ref.embeddings[i][j]) > 1e-5 then T.fail("sentence " .. i .. " dim " .. j .. ": " .. E[i][j] .. " vs " .. ref.embeddings[i][j]) end
    end
  end
  local function dot(a, b) local s = 0; for j = 1, #a do s = s + a[j] * b[j] end; return s end
  T.near(dot(E[1], E[2]), 0.7553, 1e-3)
  T.near(dot(E[1], E[2]), ref.cosine[1][2], 1e-5)
  T.near(dot(E[3], E[7]), ref.cosine[3][7], 1e-5)
  -- batching does not change the vectors
  local one = hf.embed(m, {ref.sentences[2]}, {batch_size = 1}):totable()[1]
  for j = 1, 384 do T.near(one[j], E[2][j], 1e-5) end
  -- unnormalized: the norms sentence-transformers had before Normalize
  local raw = hf.embed(m, {ref.sentences[1]}, {normalize = false}):totable()[1]
  T.near(math.sqrt(dot(raw, raw)), ref.norms[1], 1e-4)
  -- token states
  local ids = tensor.from({ref.ids[1]}):long()
  local states = m(ids):totable()
  for r = 1, 4 do for c = 1, 8 do
    T.near(states[1][r][c], ref.token_states_first.values[(r - 1) * 8 + c], 1e-4)
  end end
  -- a classification head's own pooling shows, not the sentence-transformers one it shadows
  hf.classifier(m, {classes = 2, pooling = "pooler", seed = 1})
  T.eq(hf.info(m).pooling, "pooler")
  T.eq(m:config().pooling, "pooler")
  hf.classifier(m, {classes = 2, pooling = "cls", seed = 1})
  T.eq(hf.info(m).pooling, "cls")
  hf.classifier(m, {classes = 2, seed = 1})
  T.eq(hf.info(m).pooling, "mean", "the default head pools as the sentence-transformers model")
end)

T.test("SmolLM2-135M-Instruct (GGUF Q4_1): next-token logits and the greedy chat answer match transformers", function()
  fetch("smollm2")
  local ref = json.read(G .. "smollm2.json")
  for _, quantized in ipairs({false, true}) do
    local m = hf.load_gguf(hf.path("smollm2"), {quantized = quantized})
    for _, p in ipairs(ref.prompts) do
      local ids = m.tokenizer:encode(p.text)
      T.same(ids, p.ids, p.text)
      local logits = m(tensor.from({ids}):long())
      local last = logits[1][#ids]:totable()
      for j = 1, 32 do
        T.ok(math.abs(last[j] - p.last_first32[j]) <= 1e-4 * math.max(1, math.abs(p.last_first32[j])),
             string.format("%s: logit %d: %.6f vs %.6f (quantized=%s)", p.text, j - 1, last[j], p.last_first32[j], tostring(quantized)))
      end
      for k = 1, 10 do
        local j = p.top10_ids[k] + 1
        T.ok(math.abs(last[j] - p.top10_logits[k]) <= 1e-4 * math.max(1, math.abs(p.top10_logits[k])), p.text .. ": top logit " .. k)
      end
      local am = logits:reshape(#ids, 49152):totable()
      for t = 1, #ids do
        local best, bi = -math.huge, 0
        for j = 1, 49152 do if am[t][j] > best then best, bi = am[t][j], j - 1 end end
        T.eq(bi, p.argmax_per_position[t], p.text .. " position " .. t)
      end
    end
    for _, c in ipairs(ref.chats) do
      T.eq(hf.chat_prompt(m, c.messages), c.prompt)
      local answer, info = hf.chat(m, c.messages, {max_tokens = 48})
      T.eq(answer, c.answer)
      -- transformers keeps the end-of-sequence id it stopped at; Lathe returns the tokens before it
      local want = {table.unpack(c.generated)}
      if want[#want] == 2 then want[#want] = nil end
      T.same(info.ids, want)
    end
    if quantized then T.ok(m:weight_bytes() < 200e6, "quantized SmolLM2 holds " .. m:weight_bytes() .. " bytes of weights") end
  end
  local q = hf.load_gguf(hf.path("smollm2"), {quantized = true})
  T.eq(hf.chat(q, "What is the capital of Japan?"), "The capital of Japan is Tokyo.")
  T.eq(hf.chat(q, "What is the capital of Japan?", {stop = {" is", "Tok"}}), "The capital of Japan")
end)

T.test("hf.save writes merged models that hf.load reads back (every family, dtypes, overwrite)", function()
  local dir = T.tmpdir()
  for _, name in ipairs(families) do
    local m = hf.load(G .. name)
    local causal = m:config().vocab == 300
    if causal then
      lora.apply(m, {r = 4, targets = name == "tiny-gpt2" and {"c_attn", "c_fc"} or {"q_proj", "v_proj", "up_proj"}, seed = 3})
      local vals = {}
      for n, t in pairs(m:named_parameters()) do
        if n:find("lora_B") then vals[n] = tensor.randn(table.unpack(t:shape())):mul(0.1) end
      end
      local p = dir .. "/b.safetensors"
      tensor.save(p, vals, {overwrite = true})
      m:load(p, {strict = false})
    end
    local ids, mask = ids_of(gold[name])
    local before = m(ids, mask)
    local files = hf.save(m, dir .. "/" .. name)
    T.ok(#files >= 2, name)
    local back = hf.load(dir .. "/" .. name)
    local a, b = before:reshape(before:numel()):totable(), back(ids, mask):reshape(before:numel()):totable()
    local maxd = T.max_error(a, b)
    T.ok(maxd <= 1e-4, name .. ": reloaded model differs by " .. maxd)
    if causal then T.eq(#lora.trainable(back) >= 0, true) end
    if back.tokenizer and m.tokenizer then T.same(back.tokenizer:encode("What is it?"), m.tokenizer:encode("What is it?")) end
  end
  -- overwrite and dtypes
  local m = hf.load(G .. "tiny-llama")
  T.raises(function() hf.save(m, dir .. "/tiny-llama") end, "exists (pass overwrite = true")
  hf.save(m, dir .. "/tiny-llama", {overwrite = true, dtype = "bfloat16"})
  local t, _ = tensor.load(dir .. "/tiny-llama/model.safetensors")
  T.ok(t["model.embed_tokens.weight"] ~= nil)
  local bf = hf.load(dir .. "/tiny-llama")
  local ids, mask = ids_of(gold["tiny-llama"])
  T.ok(compare(bf(ids, mask), gold["tiny-llama"]) < 0.1, "bfloat16 copy stays close")
  -- models built from scratch: GPT-2 and Llama layouts
  local g2 = nn.gpt{vocab = 40, layers = 1, dim = 16, heads = 2, seq = 16, seed = 2, mlp = "gelu_tanh"}
  hf.save(g2, dir .. "/scratch-gpt2")
  local x = tensor.from({{1, 2, 3, 4}}):long()
  local d = (g2(x) - hf.load(dir .. "/scratch-gpt2")(x)):abs():max():item()
  T.ok(d < 1e-5, "nn.gpt as GPT-2: " .. d)
  local gl = nn.gpt{vocab = 40, layers = 1, dim = 16, heads = 4, kv_heads = 2, seq = 16, seed = 2, naming = "llama", norm = "rmsnorm",
                    mlp = "swiglu", positions = "rotary", bias = false, tie = false}
  hf.save(gl, dir .. "/scratch-llama")
  d = (gl(x) - hf.load(dir .. "/scratch-llama")(x)):abs():max():item()
  T.ok(d < 1e-5, "nn.gpt as Llama: " .. d)
  T.raises(function() hf.save(nn.mlp{sizes = {2, 2}}, dir .. "/mlp") end, "only language models")
  T.raises(function() hf.save(nn.gpt{vocab = 8, layers = 1, dim = 8, heads = 2, seq = 8, positions = "rotary"}, dir .. "/mix") end,
           "no Hugging Face equivalent")
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("a fresh classification head on an encoder trains with train.fit, predicts, and survives hf.save", function()
  local m = hf.load(G .. "tiny-bert")
  hf.classifier(m, {labels = {"animal", "food"}, seed = 1})
  T.eq(m:config().classes, 2)
  local texts, labels = {}, {}
  local a = {"the quick brown fox", "the lazy dog", "a brown dog jumps", "the fox jumps over the dog"}
  local f = {"a man is eating food", "a piece of bread", "eating bread and food", "food is bread"}
  for r = 1, 4 do
    for i = 1, 4 do texts[#texts + 1] = a[i]; labels[#labels + 1] = 0; texts[#texts + 1] = f[i]; labels[#labels + 1] = 1 end
  end
  local ids, mask = m.tokenizer:encode_batch(texts, {max_length = 16})
  local h = train.fit{model = m, train = {x = ids, y = tensor.from(labels):long(), mask = mask}, epochs = 12, batch_size = 8,
                      lr = 3e-3, seed = 1, quiet = true}
  T.ok(h.loss[#h.loss] < h.loss[1] * 0.5, "loss fell from " .. h.loss[1] .. " to " .. h.loss[#h.loss])
  local p = hf.predict(m, {"the brown fox", "bread and food"})
  T.same(p.labels, {"animal", "food"})
  T.same(p.probs:shape(), {2, 2})
  local dir = T.tmpdir()
  hf.save(m, dir)
  local back = hf.load(dir)
  T.eq(back:config().pooling, "pooler", "BERT's pooler feeds the head: saved as BertForSequenceClassification")
  T.ok(T.read(dir .. "/config.json"):find("BertForSequenceClassification", 1, true) ~= nil)
  T.same(hf.predict(back, {"the brown fox", "bread and food"}).labels, {"animal", "food"})
  local p2 = hf.predict(back, {"the brown fox"}).probs:totable()
  T.near(p2[1][1], p.probs:totable()[1][1], 1e-5)
  -- a head on mean pooling is written next to a BertModel with lathe_pooling, and read back so
  hf.classifier(back, {labels = {"animal", "food"}, pooling = "mean", seed = 2})
  local want = hf.predict(back, {"the brown fox", "bread"}).probs:totable()
  hf.save(back, dir .. "/mean")
  T.ok(T.read(dir .. "/mean/config.json"):find('"BertModel"', 1, true) ~= nil)
  local mean = hf.load(dir .. "/mean")
  T.eq(hf.info(mean).pooling, "mean")
  local got = hf.predict(mean, {"the brown fox", "bread"}).probs:totable()
  for r = 1, 2 do T.near(got[r][1], want[r][1], 1e-5) end
  os.execute("rm -rf " .. T.sh_quote(dir))
  T.raises(function() hf.classifier(hf.load(G .. "tiny-llama"), {classes = 2}) end, "needs an encoder")
  T.raises(function() hf.classifier(m, {classes = 2, labels = {"a"}}) end, "1 labels for 2 classes")
  T.raises(function() hf.classifier(m, {}) end, "option 'classes' is required")
end)

T.test("LoRA on a quantized base (QLoRA-style) trains; hf.save writes the merged float model", function()
  local fp = hf.load(G .. "tiny-llama")
  local m = hf.load(G .. "tiny-llama", {quantize = "q8_0"})
  T.ok(tostring(m:get("model.layers.0.mlp.up_proj")):find("QuantLinear") ~= nil)
  T.ok(m:weight_bytes() < fp:weight_bytes(), "quantized base is smaller")
  local ids, mask = ids_of(gold["tiny-llama"])
  local qrel = compare(m(ids, mask), gold["tiny-llama"])
  T.ok(qrel < 0.2, "Q8_0 stays close to the float model: " .. qrel)
  local a, b = m(ids, mask):argmax(3):totable(), fp(ids, mask):argmax(3):totable()
  local agree = 0
  for t = 1, 7 do if a[1][t] == b[1][t] then agree = agree + 1 end end
  T.ok(agree >= 6, "next-token choices agree: " .. agree .. " of 7")
  local paths = lora.apply(m, {r = 4, alpha = 8, targets = {"q_proj", "v_proj"}, seed = 1})
  T.eq(#paths, 4)
  local seqs = tensor.randint(0, 300, {8, 9})
  local h = train.fit{model = m, train = seqs, epochs = 30, batch_size = 8, lr = 1e-2, seed = 1, quiet = true}
  T.ok(h.loss[#h.loss] < h.loss[1], "loss " .. h.loss[1] .. " -> " .. h.loss[#h.loss])
  T.raises(function() lora.merge(m) end, "is quantized")
  local dir = T.tmpdir()
  hf.save(m, dir)
  local back = hf.load(dir)
  local d = (m(ids, mask) - back(ids, mask)):abs():max():item()
  T.ok(d < 1e-4, "merged float copy equals the quantized model with adapters: " .. d)
  os.execute("rm -rf " .. T.sh_quote(dir))
  T.raises(function() hf.load(G .. "tiny-llama", {quantize = "q5_k"}) end, "bad option 'quantize'")
end)

T.test("GPT-2 keeps PEFT's target names (c_attn, c_proj, c_fc) for LoRA adapters", function()
  local m = hf.load(G .. "tiny-gpt2")
  local paths = lora.apply(m, {r = 2, targets = {"c_attn"}, seed = 1})
  T.same(paths, {"transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"})
  local dir = T.tmpdir()
  lora.save(m, dir)
  local t = tensor.load(dir .. "/adapter_model.safetensors")
  T.same(t["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"]:shape(), {96, 2})
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

-- copies a tiny model folder into a fresh temporary folder
local function copy(name)
  local d = T.tmpdir()
  os.execute("cp -r " .. T.sh_quote(G .. name) .. "/. " .. T.sh_quote(d))
  return d
end

T.test("bad input: clear errors naming the file and the tensor", function()
  T.raises(function() hf.load("/no/such/folder") end, "/no/such/folder: no such file or folder")
  local d = T.tmpdir()
  T.raises(function() hf.load(d) end, "config.json: no such file")
  T.write(d .. "/config.json", "{not json")
  T.raises(function() hf.load(d) end, "config.json: not valid JSON")
  T.write(d .. "/config.json", '{"model_type": "t5"}')
  T.raises(function() hf.load(d) end, "model_type 't5' is not supported (supported: bert, llama, mistral, qwen2, gpt2)")
  T.write(d .. "/config.json", '{"model_type": "llama", "vocab_size": 10}')
  T.raises(function() hf.load(d) end, "no model.safetensors")
  T.write(d .. "/pytorch_model.bin", "x")
  T.raises(function() hf.load(d) end, "only PyTorch .bin weights")
  os.execute("rm -rf " .. T.sh_quote(d))

  -- a config that disagrees with the weights
  d = copy("tiny-llama")
  local cfg = T.read(d .. "/config.json")
  T.write(d .. "/config.json", (cfg:gsub('"intermediate_size": 64', '"intermediate_size": 96')))
  T.raises(function() hf.load(d) end, "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [64,32], expected [96,32]")
  T.write(d .. "/config.json", (cfg:gsub('"hidden_size": 32', '"hidden_size": "big"')))
  T.raises(function() hf.load(d) end, "'hidden_size' must be an integer")
  T.write(d .. "/config.json", (cfg:gsub('"rope_type": "llama3"', '"rope_type": "yarn"')))
  T.raises(function() hf.load(d) end, "rope scaling 'yarn' is not supported")
  T.write(d .. "/config.json", cfg)
  -- a missing tensor, a tensor of the wrong dtype
  local t = tensor.load(d .. "/model.safetensors")
  t["model.layers.1.self_attn.k_proj.weight"] = nil
  tensor.save(d .. "/model.safetensors", t, {overwrite = true})
  T.raises(function() hf.load(d) end, "no tensor 'model.layers.1.self_attn.k_proj.weight', which the model needs")
  t["model.layers.1.self_attn.k_proj.weight"] = tensor.zeros(16, 32):long()
  tensor.save(d .. "/model.safetensors", t, {overwrite = true})
  T.raises(function() hf.load(d) end, "tensor 'model.layers.1.self_attn.k_proj.weight' has dtype I64, expected a float type")
  -- truncated and corrupted files
  local bytes = T.read(G .. "tiny-llama/model.safetensors")
  T.write(d .. "/model.safetensors", bytes:sub(1, #bytes - 100))
  T.raises(function() hf.load(d) end, "model.safetensors:")
  T.write(d .. "/model.safetensors", bytes)
  T.write(d .. "/tokenizer.json", "{}")
  T.raises(function() hf.load(d) end, "tokenizer.json:")
  T.eq(hf.load(d, {tokenizer = false}).tokenizer, nil)
  os.execute("rm -rf " .. T.sh_quote(d))

  -- sharded checkpoint with a shard missing
  d = copy("tiny-llama-bf16-sharded")
  os.remove(d .. "/model-00003-of-00005.safetensors")
  T.raises(function() hf.load(d) end, "model-00003-of-00005.safetensors")
  os.execute("rm -rf " .. T.sh_quote(d))

  -- GGUF: truncated, another architecture
  local gg = T.read(G .. "tiny-llama.gguf")
  local p = os.tmpname()
  T.write(p, gg:sub(1, 5000))
  T.raises(function() hf.load_gguf(p) end, p .. ":")
  T.write(p, (gg:gsub("(general%.architecture" .. string.rep(".", 12) .. ")llama", "%1gemma", 1)))
  T.raises(function() hf.load_gguf(p) end, "architecture 'gemma' is not supported")
  os.remove(p)
  T.raises(function() hf.load_gguf("/no/such/model.gguf") end, "no such file")

  -- using a model for what it is not
  local enc = hf.load(G .. "tiny-bert")
  T.raises(function() hf.chat(enc, "hi") end, "no chat template")
  T.raises(function() hf.generate(enc, "hi") end, "needs a language model")
  T.raises(function() hf.embed(hf.load(G .. "tiny-llama"), {"x"}) end, "embed needs an encoder")
  T.raises(function() hf.embed(nn.encoder{vocab = 10, layers = 1, dim = 8, heads = 2, classes = 0}, {"x"}) end, "needs the model's tokenizer")
  T.raises(function() hf.load(G .. "tiny-llama", {bogus = 1}) end, "unknown option 'bogus'")
  T.raises(function() hf.path("nope") end, "unknown item 'nope'")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("seeded random mutations of config.json and model.safetensors give errors, never crashes", function()
  local d = copy("tiny-gpt2")
  local cfg = T.read(G .. "tiny-gpt2/config.json")
  local st = T.read(G .. "tiny-gpt2/model.safetensors")
  local header = string.unpack("<I8", st) + 8
  local seed = 12345
  local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
  local function mutate(s, lo, hi)
    local b = {s:byte(1, -1)}
    for _ = 1, 1 + rnd(4) do
      local i = lo + rnd(hi - lo + 1)
      local op = rnd(3)
      if op == 0 then b[i] = rnd(256)
      elseif op == 1 then b[i] = string.byte("0123456789[]{}\",:-e", 1 + rnd(19))
      else table.remove(b, i) end
    end
    local out = {}
    for i = 1, #b, 4096 do out[#out + 1] = string.char(table.unpack(b, i, math.min(#b, i + 4095))) end
    return table.concat(out)
  end
  local loaded, failed = 0, 0
  for k = 1, 120 do
    if k % 2 == 0 then
      T.write(d .. "/config.json", mutate(cfg, 1, #cfg)); T.write(d .. "/model.safetensors", st)
    else
      T.write(d .. "/config.json", cfg); T.write(d .. "/model.safetensors", mutate(st, 1, header))
    end
    local ok, err = pcall(hf.load, d)
    if ok then loaded = loaded + 1 else
      failed = failed + 1
      T.ok(err:find(d, 1, true) ~= nil or err:find("config.json", 1, true) ~= nil, "error names the file: " .. err)
    end
  end
  T.ok(failed > 50, failed .. " of 120 mutations failed cleanly")
  os.execute("rm -rf " .. T.sh_quote(d))
  T.eq(lathe.swift_depth(), 0)
end)

T.test("hf.path and hf.cache_dir find the fetched items", function()
  T.eq(type(hf.cache_dir()), "string")
  local out = fetch("data")
  T.ok(out:find("sms-spam", 1, true) ~= nil)
  local p = hf.path("sms-spam")
  local f = assert(io.open(p))
  T.eq(f:read("l"), ",spam,text")
  f:close()
  T.ok(hf.path("chatterbot"):find("chatterbot/english", 1, true) ~= nil)
  T.ok(io.open(hf.path("chatterbot") .. "/trivia.yml") ~= nil)
end)
