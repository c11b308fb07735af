-- The `cost` module through Lua: exact parameter and LoRA counts for real configs (published
-- figures and PEFT's printed counts), memory breakdowns, fits, time, money, budgets, reports,
-- the GPU catalog, and the errors bad input gets.
local T = require("testlib")

local CONFIGS = T.root .. "/Tests/golden/cost/configs/"
local function cfg(name) return CONFIGS .. name .. ".json" end

local smol = {model_type = "llama", hidden_size = 576, intermediate_size = 1536,
  num_hidden_layers = 30, num_attention_heads = 9, num_key_value_heads = 3,
  vocab_size = 49152, tie_word_embeddings = true}

T.test("params equal the published counts of real checkpoints", function()
  local published = {
    ["gpt2"] = 124439808, ["gpt2-medium"] = 354823168, ["bert-base-uncased"] = 109482240,
    ["all-MiniLM-L6-v2"] = 22713216, ["roberta-base"] = 124645632,
    ["distilbert-base-uncased"] = 66362880, ["SmolLM2-135M"] = 134515008,
    ["Llama-2-7b-hf"] = 6738415616, ["Mistral-7B-v0.1"] = 7241732096,
    ["Qwen2-0.5B"] = 494032768, ["TinyLlama-1.1B-Chat-v1.0"] = 1100048384,
    ["Meta-Llama-3-8B"] = 8030261248, ["Qwen3-0.6B"] = 596049920, ["gemma-2b"] = 2506172416,
    ["Phi-3-mini-4k-instruct"] = 3821079552,
  }
  for name, n in pairs(published) do
    local got = cost.params(cfg(name))
    T.eq(math.type(got), "integer", name)
    T.eq(got, n, name)
  end
  T.eq(cost.params(smol), 134515008)
end)

T.test("params by head, and from a model folder", function()
  T.eq(cost.params(cfg("bert-base-uncased"), {head = "seq_cls"}), 109483778)
  T.eq(cost.params(cfg("bert-base-uncased"), {head = "seq_cls", num_labels = 5}), 109483778 + 3 * 769)
  T.eq(cost.params(cfg("Llama-2-7b-hf"), {head = "base"}), 6607343616)
  local dir = T.tmpdir()
  T.write(dir .. "/config.json", T.read(cfg("gpt2")))
  T.eq(cost.params(dir), 124439808)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("lora_params equal PEFT's print_trainable_parameters", function()
  local n, info = cost.lora_params(cfg("Llama-2-7b-hf"), {r = 8, targets = {"q_proj", "v_proj"}})
  T.eq(n, 4194304)
  T.eq(info.all, 6742609920)
  T.eq(tostring(info):match("^[^\n]*"), "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622")
  T.eq(cost.lora_params(cfg("gpt2"), {r = 8, targets = {"c_attn"}}), 294912)           -- Conv1D
  T.eq(cost.lora_params(cfg("gpt2"), {r = 8}), 294912)                                 -- PEFT's default
  T.eq(cost.lora_params(cfg("gpt2"), {r = 8, targets = {"c_attn", "c_proj"}}), 811008)
  T.eq(cost.lora_params(cfg("SmolLM2-135M"), {r = 8, targets = "all-linear"}), 2442240)
  T.eq(cost.lora_params(cfg("Meta-Llama-3-8B"), {r = 16, targets = "all-linear"}), 41943040)
  T.eq(cost.lora_params(cfg("Meta-Llama-3-8B"), {r = 16, targets = "all-linear", dora = true}), 43319296)
  T.eq(cost.lora_params(cfg("Qwen2-0.5B"), {r = 8, targets = {"q_proj", "v_proj"}, bias = "lora_only"}), 565248)
  local m, mi = cost.lora_params(cfg("bert-base-uncased"), {r = 8, targets = {"query", "value"}, head = "seq_cls"})
  T.eq(m, 296450)
  T.eq(mi.all, 109780228)
  T.eq(mi.saved, 1538)
  T.eq(cost.lora_params(cfg("distilbert-base-uncased"), {r = 8, targets = {"q_lin", "v_lin"}, head = "seq_cls"}), 739586)
  T.eq(cost.lora_params(cfg("SmolLM2-135M"), {r = 8, targets = ".*layers\\.0\\.self_attn\\.q_proj"}), 8 * (576 + 576))
  T.eq(cost.lora_params(cfg("SmolLM2-135M"), {r = 8, targets = ".*\\.0\\.self_attn\\.(q|v)_proj"}), 15360)
  -- modules_to_save trains a full copy (of a tied head too); LoRA on an embedding is r (V + h)
  T.eq(cost.lora_params(cfg("SmolLM2-135M"), {r = 8, targets = {"q_proj", "v_proj"}, modules_to_save = {"lm_head"}}), 28772352)
  T.eq(cost.lora_params(cfg("TinyLlama-1.1B-Chat-v1.0"), {r = 8, targets = {"embed_tokens", "q_proj"}}), 993280)
  T.eq(cost.lora_params(cfg("roberta-base"), {r = 8, targets = "all-linear", head = "seq_cls"}), 1919234)
end)

T.test("memory: named byte counts with a total and a printed breakdown", function()
  local m = cost.memory(cfg("Llama-2-7b-hf"), {method = "full", batch = 1, seq = 512})
  local sum = 0
  for k, v in pairs(m) do if k ~= "total" then sum = sum + v end end
  T.eq(sum, m.total)
  local P = 6738415616
  T.eq(m.weights, 2 * P)
  T.eq(m.gradients, 2 * P)
  T.eq(m.master_weights, 4 * P)
  T.eq(m.optimizer, 8 * P)
  T.eq((m.total - m.activations) / P, 16.0)                               -- ZeRO's 2 + 2 + 12
  local amp = cost.memory(cfg("Llama-2-7b-hf"), {method = "full", precision = "amp", seq = 512})
  T.eq((amp.total - amp.activations) / P, 18.0)                           -- HF's 6 + 4 + 8
  local text = tostring(m)
  T.ok(text:find("cost.memory: full fine-tuning", 1, true), text)
  T.ok(text:find("master_weights", 1, true) and text:find("total", 1, true), text)
  T.ok(text:find("4 B x params (fp32 copy)", 1, true), text)
  local shown = lathe.capture(function() show(m) end)
  T.eq(shown, text .. "\n")
end)

T.test("memory: QLoRA NF4 is about half a byte per weight", function()
  local q = cost.memory(cfg("Llama-2-7b-hf"), {method = "qlora", seq = 512})
  local full = cost.memory(cfg("Llama-2-7b-hf"), {method = "inference", dtype = "bf16", seq = 512})
  T.ok(q.weights < full.weights / 3, "nf4 weights well under a third of bf16")
  T.ok(q.quantization > 0 and q.adapters == 4 * 4194304)
  local plain = cost.memory(cfg("Llama-2-7b-hf"), {method = "qlora", double_quant = false, seq = 512})
  T.ok(plain.quantization > 3.5 * q.quantization, "double quantization shrinks the constants ~4x")
  local inf = cost.memory(smol, {method = "inference", dtype = "nf4", batch = 2, seq = 1024})
  T.eq(inf.kv_cache, 2 * 30 * 2 * 1024 * 192 * 2)
end)

T.test("memory: ZeRO stages shard over GPUs; checkpointing cuts activations", function()
  local P = 6738415616
  local z3 = cost.memory(cfg("Llama-2-7b-hf"), {method = "full", gpus = 8, zero = 3, seq = 512})
  T.eq(z3.weights + z3.gradients + z3.master_weights + z3.optimizer, 16 * P / 8)
  local z1 = cost.memory(cfg("Llama-2-7b-hf"), {method = "full", gpus = 8, zero = 1, seq = 512})
  T.eq(z1.weights, 2 * P)
  T.eq(z1.optimizer, 8 * P / 8)
  local a = cost.memory(smol, {method = "lora", batch = 8, seq = 1024})
  local b = cost.memory(smol, {method = "lora", batch = 8, seq = 1024, checkpointing = true})
  T.ok(b.activations < a.activations / 3, "checkpointing")
  local e = cost.memory(smol, {method = "lora", batch = 8, seq = 1024, attention = "eager"})
  T.ok(e.activations > a.activations, "eager attention keeps the s x s scores")
end)

T.test("fits gives the largest batch that fits", function()
  local f = cost.fits(smol, "lora", "T4", {seq = 512})
  T.eq(f.fits, true)
  T.ok(f.max_batch > 1)
  local at = cost.memory(smol, {method = "lora", seq = 512, batch = f.max_batch})
  local over = cost.memory(smol, {method = "lora", seq = 512, batch = f.max_batch + 1})
  T.ok(at.total <= f.usable and over.total > f.usable)
  T.eq(f.memory.total, f.needed)
  T.ok(tostring(f):find("cost.fits: fits on T4", 1, true))
  local no = cost.fits(cfg("Llama-2-7b-hf"), "full", "L4")
  T.eq(no.fits, false)
  T.eq(no.max_batch, 0)
  local own = cost.fits(smol, "inference", {name = "mine", memory_gb = 2, bf16_tflops = 10, bandwidth_gbs = 100})
  T.eq(own.gpu, "mine")
end)

T.test("train_time, inference_speed and project", function()
  local t = cost.train_time(cfg("Llama-2-7b-hf"), {name = "X", memory_gb = 80, bf16_tflops = 1000,
    bandwidth_gbs = 2000, on_demand_usd_hr = 2}, {tokens = 1e9, seq = 4096, mfu = 0.5})
  local N = 6738415616 - 32000 * 4096 - 65 * 4096
  T.eq(t.flops_per_token, 6 * N + 12 * 32 * 4096 * 4096)
  T.near(t.seconds, t.flops / (1000e12 * 0.5), 1e-12)
  T.near(t.cost_on_demand, t.hours * 2, 1e-12)
  local l = cost.train_time(cfg("Llama-2-7b-hf"), "A100 80GB", {tokens = 1e9, method = "lora"})
  T.ok(l.flops < t.flops)
  local s = cost.inference_speed(smol, "L4", {context = 2048})
  T.eq(s.limited_by, "memory bandwidth")
  T.near(s.memory_bound, 300e9 / (s.weights + s.kv_cache), 1e-9)
  T.eq(s.decode, math.min(s.memory_bound, s.compute_bound))
  local p = cost.project{measured_tokens_per_sec = 20, tokens = 72000, epochs = 2, price_per_hour = 0.5}
  T.eq(p.seconds, 7200.0)
  T.eq(p.cost, 1.0)
  local q = cost.project{measured_tokens_per_sec = 20, tokens = 72000, measured_params = 135e6, params = 270e6}
  T.eq(q.seconds, 7200.0)
end)

T.test("money: cloud, API vs in-house, ROI, break-even, cost per point (hand-checked)", function()
  local c = cost.cloud{hours = 10, gpu = {name = "G", memory_gb = 80, bf16_tflops = 300, bandwidth_gbs = 2000,
    on_demand_usd_hr = 2, spot_usd_hr = 0.8}, gpus = 2, interruption_overhead = 0.25,
    storage_gb = 100, storage_months = 2, transfer_gb = 10}
  T.eq(c.compute_on_demand, 40.0)
  T.eq(c.compute_spot, 20.0)
  T.near(c.total_on_demand, 60.9, 1e-12)
  T.near(c.savings, 20, 1e-12)
  T.eq(c.total, c.total_on_demand)
  T.eq(cost.cloud{hours = 10, gpu = "T4", spot = true}.total, cost.cloud{hours = 10, gpu = "T4"}.total_spot)

  local a = cost.api_vs_inhouse{tokens_per_month = 100e6, api_price = 10, hosting_per_month = 400,
    setup_cost = 3000, months = 12}
  T.eq(a.api_per_month, 1000.0)
  T.eq(a.savings_per_month, 600.0)
  T.eq(a.breakeven_month, 5)
  T.eq(a.total_inhouse, 7800.0)
  T.eq(a.cheaper, "in-house")
  local never = cost.api_vs_inhouse{tokens_per_month = 1e6, api_price = 10, hosting_per_month = 400}
  T.eq(never.breakeven_month, nil)
  T.eq(never.cheaper, "api")
  local split = cost.api_vs_inhouse{input_tokens_per_month = 10e6, output_tokens_per_month = 2e6,
    api_input_price = 3, api_output_price = 15, hosting_per_month = 10}
  T.eq(split.api_per_month, 60.0)

  T.eq(cost.roi{total_return = 150000, total_cost = 100000}.roi, 0.5)
  local r = cost.roi{monthly_return = 4000, monthly_cost = 500, upfront = 20000, months = 12}
  T.near(r.roi, (48000 - 26000) / 26000, 1e-12)

  local b = cost.breakeven{upfront = 12000, monthly_return = 3000, monthly_cost = 1000}
  T.eq(b.month, 6)
  T.eq(b.cumulative[6], 0.0)
  T.eq(b.cumulative[1], -10000.0)
  T.eq(cost.breakeven{upfront = 1000, monthly_return = 100, monthly_cost = 200}.month, nil)

  local g = cost.per_metric_gain{cost = 1200, baseline = 0.80, score = 0.86, metric = "F1"}
  T.near(g.gain, 6, 1e-9)
  T.near(g.cost_per_point, 200, 1e-9)
  T.eq(cost.per_metric_gain{cost = 100, baseline = 0.9, score = 0.8}.cost_per_point, nil)
end)

T.test("budget: contingency and a text Gantt chart", function()
  local b = cost.budget({
    {name = "data collection", cost = 4000, weeks = 3},
    {name = "preparation", cost = 2000, weeks = 2},
    {name = "training", cost = 3000, weeks = 2},
    {name = "evaluation", cost = 1000, weeks = 1},
    {name = "deployment", cost = 2000, weeks = 2, after = "training", contingency = 0.2},
  }, {contingency = 0.1})
  T.eq(b.subtotal, 12000.0)
  T.near(b.contingency, 1400, 1e-9)
  T.near(b.total, 13400, 1e-9)
  T.eq(b.weeks, 9.0)
  T.eq(b.phases[5].start_week, 8.0)
  T.ok(b.gantt:find("deployment       w8-9   |.......##", 1, true), b.gantt)
  T.ok(b.gantt:find("data collection  w1-3   |###......", 1, true), b.gantt)
  local text = tostring(b)
  T.ok(text:find(b.gantt, 1, true), text)
  T.ok(text:find("contingency", 1, true), text)
end)

T.test("report: Markdown of any calculation", function()
  local md = cost.report(cost.memory(smol, {method = "qlora", seq = 1024}), {title = "SmolLM2 QLoRA"})
  T.ok(md:find("^# SmolLM2 QLoRA"), md)
  T.ok(md:find("| item | bytes | formula |", 1, true), md)
  T.ok(md:find("| quantization |", 1, true), md)
  T.ok(md:find("Dettmers", 1, true), md)
  local b = cost.budget({{name = "training", cost = 100, weeks = 1}})
  local both = cost.report({b, cost.roi{total_return = 3, total_cost = 2}}, {title = "Plan"})
  T.ok(both:find("^# Plan\n"), both)
  T.ok(both:find("```text\nphase", 1, true), both)
  T.ok(both:find("## cost.roi: 50.0%", 1, true), both)
  local plain = cost.report({accuracy = 0.91, notes = "baseline"})
  T.ok(plain:find("| accuracy | 0.91 |", 1, true), plain)
end)

T.test("catalog: shipped rows, loading, merging", function()
  local rows = cost.catalog()
  T.ok(#rows >= 10)
  for _, g in ipairs(rows) do
    T.ok(g.memory_gb > 0 and g.bf16_tflops > 0 and g.bandwidth_gbs > 0, g.name)
    T.ok(g.date ~= "" and g.spec_source ~= "", g.name)
  end
  T.eq(cost.gpu("a100-80gb").memory_gb, 80.0)
  local dir = T.tmpdir()
  T.write(dir .. "/g.csv", "name,memory_gb,bf16_tflops,bandwidth_gbs,on_demand_usd_hr,spot_usd_hr\nBox,24,100,900,0.5,0.2\n")
  cost.catalog(dir .. "/g.csv", {merge = true})
  T.eq(cost.gpu("box").spot_usd_hr, 0.2)
  T.eq(cost.gpu("T4").name, "T4")
  T.eq(select("#", cost.catalog(dir .. "/g.csv")), 0)
  T.eq(#cost.catalog(), 1)
  T.raises(function() cost.gpu("T4") end, "GPU 'T4' is not in the catalog")
  cost.catalog({{name = "Tiny", memory_gb = 8, bf16_tflops = 20, bandwidth_gbs = 200}})
  T.eq(cost.catalog()[1].name, "Tiny")
  cost.catalog(T.root .. "/stdlib/lathe/data/gpus.csv")
  T.eq(cost.gpu("T4").memory_gb, 16.0)
  T.write(dir .. "/bad.csv", "name,memory_gb,bf16_tflops,bandwidth_gbs\nX,0,1,1\n")
  T.raises(function() cost.catalog(dir .. "/bad.csv") end, "memory_gb must be a positive number")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("bad input: clear errors that say what is missing and how to supply it", function()
  local c = {}
  for k, v in pairs(smol) do c[k] = v end
  c.num_hidden_layers = nil
  T.raises(function() cost.params(c) end,
    "cost.params: config has no 'num_hidden_layers' (a llama config needs hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, vocab_size)")
  T.raises(function() cost.params({model_type = "falcon"}) end, "cost.params: unknown architecture 'falcon'")
  T.raises(function() cost.params({hidden_size = 8}) end, "config has no 'model_type'")
  c.num_hidden_layers = -3
  T.raises(function() cost.params(c) end, "'num_hidden_layers' must be a positive integer (got -3)")
  T.raises(function() cost.params(42) end, "bad argument #1 'config' (expected string or table, got integer 42)")
  T.raises(function() cost.params("/nonexistent/config.json") end, "no such file")
  T.raises(function() cost.memory(smol, {batch = 0}) end, "bad option 'batch' (expected integer >= 1, got integer 0)")
  T.raises(function() cost.memory(smol, {bach = 2}) end, "unknown option 'bach'; did you mean 'batch'?")
  T.raises(function() cost.memory(smol, {method = "ful"}) end,
    'bad option \'method\' (expected "inference", "full", "lora" or "qlora", got string "ful")')
  T.raises(function() cost.memory(smol, {zero = 4}) end, "bad option 'zero' (expected integer in 0..3, got integer 4)")
  T.raises(function() cost.memory(smol, {method = "full", dtype = "nf4"}) end, "use method = \"qlora\"")
  T.raises(function() cost.lora_params(smol, {targets = {"q_porj"}}) end, "target 'q_porj' matches no module")
  T.raises(function() cost.lora_params(cfg("Phi-3-mini-4k-instruct"), {}) end, "no default LoRA targets for model_type 'phi3'")
  T.raises(function() cost.fits(smol, "lora", "Voodoo 5") end, "GPU 'Voodoo 5' is not in the catalog")
  T.raises(function() cost.fits(smol, "train", "T4") end, "bad argument #2 'method'")
  T.raises(function() cost.train_time(smol, "T4", {}) end, "missing option 'tokens'")
  T.raises(function() cost.train_time(smol, "T4", {tokens = 1e6, mfu = 1.5}) end, "bad option 'mfu' (expected number in (0, 1], got number 1.5)")
  T.raises(function() cost.cloud{gpu = "T4"} end, "missing option 'hours' (the job's wall-clock hours")
  T.raises(function() cost.cloud{hours = 1} end, "missing option 'gpu' (a GPU name from cost.catalog()")
  T.raises(function() cost.cloud{hours = 1, gpu = "H200"} end, "has no price in the catalog (pass on_demand_price")
  T.raises(function() cost.cloud{hours = 1, gpu = "A10", spot = true} end, "no spot price")
  T.raises(function() cost.cloud{hours = 1, gpu = "T4", on_demand_price = -2} end, "bad option 'on_demand_price' (expected number > 0, got integer -2)")
  T.raises(function() cost.api_vs_inhouse{api_price = 3} end, "missing the monthly volume")
  T.raises(function() cost.api_vs_inhouse{tokens_per_month = 1e6} end, "missing the API price")
  T.raises(function() cost.roi{total_return = 5, total_cost = 0} end, "bad option 'total_cost' (expected number > 0, got integer 0)")
  T.raises(function() cost.roi{total_cost = 5} end, "missing option 'total_return' (what the project brings in")
  T.raises(function() cost.breakeven{upfront = -1, monthly_return = 5} end, "bad option 'upfront' (expected number >= 0, got integer -1)")
  T.raises(function() cost.budget({}) end, "phases is empty")
  T.raises(function() cost.budget({{name = "a", cost = 1, weeks = 1, colour = 2}}) end, "phase 1: unknown field 'colour'")
  T.raises(function() cost.budget({{name = "a", cost = 1}}) end, "phase 'a': missing 'weeks'")
  T.raises(function() cost.budget({{name = "a", cost = 1, weeks = 1, after = "b"}}) end, "comes after 'b', which is not an earlier phase")
  T.raises(function() cost.budget({{name = "a", cost = 1, weeks = 1}}, {contingency = 2}) end, "bad option 'contingency' (expected number in [0, 1], got integer 2)")
  T.raises(function() cost.per_metric_gain{cost = 5, score = 0.9} end, "missing option 'baseline' (the metric before")
  T.raises(function() cost.report(5) end, "bad argument #1 'result' (expected table")
  T.raises(function() cost.project{tokens = 5} end, "missing option 'measured_tokens_per_sec'")
  -- sizes beyond any real model are errors, never overflows
  T.raises(function() cost.params({model_type = "gpt2", n_embd = 768, n_layer = 1e9, n_head = 12,
    vocab_size = 5, n_positions = 5}) end, "'n_layer' is 1000000000, larger than any real model")
  T.raises(function() cost.params({model_type = "llama", hidden_size = 2^26, intermediate_size = 2^26,
    num_hidden_layers = 10000, num_attention_heads = 1, vocab_size = 2^26}) end, "far more than any real model")
  T.raises(function() cost.memory(smol, {seq = math.maxinteger}) end, "seq must be a positive integer up to")
  T.raises(function() cost.lora_params(smol, {r = math.maxinteger}) end, "r must be a positive integer up to 65536")
  T.raises(function() cost.roi{total_return = 1e300, total_cost = 1e-300} end, "too large to compute")
  T.raises(function() cost.train_time(smol, "T4", {tokens = 1e300, epochs = 1e300}) end, "too large to compute")
  T.raises(function() cost.fits(smol, "lora", {name = "x", memory_gb = 1e300, bf16_tflops = 1, bandwidth_gbs = 1}) end, "memory_gb must be a positive number up to")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("every result prints readably with plain print()", function()
  local code = [[
    local smol = {model_type = "llama", hidden_size = 576, intermediate_size = 1536, num_hidden_layers = 30,
      num_attention_heads = 9, num_key_value_heads = 3, vocab_size = 49152, tie_word_embeddings = true}
    print(select(2, cost.lora_params(smol)))
    print(cost.memory(smol))
    print(cost.fits(smol, "lora", "T4"))
    print(cost.train_time(smol, "T4", {tokens = 1e6}))
    print(cost.inference_speed(smol, "T4"))
    print(cost.project{measured_tokens_per_sec = 10, tokens = 1e6})
    print(cost.cloud{hours = 1, gpu = "T4"})
    print(cost.api_vs_inhouse{tokens_per_month = 1e6, api_price = 1})
    print(cost.roi{total_return = 2, total_cost = 1})
    print(cost.breakeven{upfront = 10, monthly_return = 5})
    print(cost.per_metric_gain{cost = 10, baseline = 0.5, score = 0.6})
    print(cost.budget({{name = "x", cost = 1, weeks = 1}}))
    print(cost.catalog())
    print(cost.gpu("T4"))
  ]]
  local out = T.lathe("-e " .. T.sh_quote(code))
  T.ok(not out:find("table: 0x", 1, true), out)
  for _, want in ipairs({"trainable params: 460,800 ||", "cost.memory: full fine-tuning", "cost.fits:", "cost.train_time:",
                         "cost.inference_speed:", "cost.project", "cost.cloud:", "cost.api_vs_inhouse:", "cost.roi: 100.0%",
                         "cost.breakeven: month 2", "cost.per_metric_gain: $1.00 per metric point", "cost.budget:",
                         "cost.catalog:", "GPU {", "\"no bf16: fp16 tensor figure\""}) do
    T.ok(out:find(want, 1, true), want .. " in:\n" .. out)
  end
  T.ok(cost.report(cost.catalog()):find("| name | memory | bf16 TFLOP/s |", 1, true))
end)

T.test("declared options: help lists them, other libraries' names point to Lathe's", function()
  local h = lathe.capture(help, "cost.memory")
  for _, want in ipairs({"zero (integer in 0..3, default 0)", "kv_dtype (", "attention (\"sdpa\" or \"eager\", default \"sdpa\")",
                         "optimizer (", "num_labels (integer >= 1, default 2)"}) do
    T.ok(h:find(want, 1, true), want .. " in:\n" .. h)
  end
  T.raises(function() cost.memory(smol, {gradient_checkpointing = true}) end, "Lathe calls it 'checkpointing'")
  T.raises(function() cost.memory(smol, {torch_dtype = "bf16"}) end, "Lathe calls it 'dtype'")
  -- num_labels alone asks for a sequence-classification head
  T.eq(cost.params(cfg("bert-base-uncased"), {num_labels = 5}), 109483778 + 3 * 769)
  T.raises(function() cost.fits(smol, "lora", "T4", {headroom = 1}) end, "headroom must be in [0, 1)")
  T.raises(function() cost.report({5}) end, "element 1 is integer 5, not a cost result")
end)

T.test("help(cost) lists every function", function()
  local text = lathe.capture(function() help(cost) end)
  for _, f in ipairs({"params", "lora_params", "memory", "fits", "train_time", "inference_speed", "project",
                      "cloud", "api_vs_inhouse", "roi", "breakeven", "per_metric_gain", "budget", "report",
                      "catalog", "gpu"}) do
    T.ok(text:find("cost." .. f, 1, true), f)
  end
end)
