-- The workshop scripts run end to end as a participant runs them (`lathe run FILE`), in their
-- small LATHE_QUICK=1 form: real models and data (fetched), real training, real outputs.
local T = require("testlib")
local json = require("jsonlib")

local function fetch()
  local _, err, code = T.run(T.sh_quote(T.root .. "/scripts/fetch_models.sh"))
  T.same(code, 0, "scripts/fetch_models.sh failed: " .. err)
end

-- the examples run in a scratch folder, so the binary's path must not be relative
local function abs(p) return p:match("^/") and p or ((os.getenv("PWD") or ".") .. "/" .. p) end
local bin = T.bin:find("/", 1, true) and abs(T.bin) or T.bin
local root = abs(T.root)

local function run_example(name, out_dir)
  local cmd = "cd " .. T.sh_quote(T.tmpdir()) .. " && LATHE_QUICK=1 LATHE_OUT=" .. T.sh_quote(out_dir) .. " " ..
    T.sh_quote(bin) .. " run " .. T.sh_quote(root .. "/scripts/examples/" .. name)
  local out, err, code = T.run(cmd)
  T.same(code, 0, name .. " failed:\n" .. err .. "\n" .. out:sub(-2000))
  return out
end

local function exists(p) local f = io.open(p, "rb"); if f then f:close() return true end return false end

T.test("the quickstart runs: its LoRA model beats the keyword rule on held-out messages, the adapter is saved", function()
  fetch()
  local dir = T.tmpdir()
  local out = run_example("quickstart.lua", dir .. "/adapter")
  local lora_f1, probe_f1, rule_f1 = out:match("held%-out F1: LoRA ([%d.]+), frozen head ([%d.]+), keyword rule ([%d.]+)")
  T.ok(lora_f1 ~= nil, "the summary line is printed:\n" .. out:sub(-600))
  lora_f1, probe_f1, rule_f1 = tonumber(lora_f1), tonumber(probe_f1), tonumber(rule_f1)
  T.ok(lora_f1 > rule_f1 + 0.1, string.format("LoRA F1 %.3f beats the keyword rule %.3f", lora_f1, rule_f1))
  T.ok(probe_f1 > rule_f1, "the frozen-head baseline beats the rule too")
  -- every stage printed its table or report
  for _, want in ipairs({"DataTable:", "duplicates removed:", "personal data masked", "ConfusionMatrix", "f1-score",
                         "95% interval", "latency p50", "cost.memory", "cost.train_time", "cost.api_vs_inhouse", "break-even",
                         "param (differs)", "test_f1"}) do
    T.ok(out:find(want, 1, true), "the output shows " .. want)
  end
  T.ok(exists(dir .. "/adapter/adapter_config.json") and exists(dir .. "/adapter/adapter_model.safetensors"), "PEFT files")
  local cfg = json.read(dir .. "/adapter/adapter_config.json")
  T.eq(cfg.peft_type, "LORA")
  T.eq(cfg.task_type, "SEQ_CLS")
  T.eq(cfg.base_model_name_or_path, "sentence-transformers/all-MiniLM-L6-v2")
  T.ok(out:find("for transformers' BertForSequenceClassification", 1, true), "the head is one PEFT can load")
  -- the last cell's Python check: PEFT's logits equal Lathe's wherever PEFT is installed
  if os.execute("python3 -c 'import peft, transformers, torch' >/dev/null 2>&1") then
    local n, diff = out:match("PEFT check passed: PeftModel%.from_pretrained %(AutoModelForSequenceClassification%) on (%d+) inputs, max output difference ([%d.e+-]+)")
    T.ok(n ~= nil, "the PEFT check passed:\n" .. out:sub(-800))
    T.eq(tonumber(n), 5)
    T.ok(tonumber(diff) < 1e-4, "max logit difference " .. tostring(diff))
  else
    T.ok(out:find("PEFT check skipped: python3 with peft", 1, true), "says why the check was skipped")
  end
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("the SmolLM2 FAQ example instruction-tunes with LoRA and shows answers before and after", function()
  fetch()
  local dir = T.tmpdir()
  local out = run_example("faq_smollm2.lua", dir .. "/adapter")
  local n = 0
  for _ in out:gmatch("\nQ: ") do n = n + 1 end
  T.same(n, 2, "two held-out questions compared")
  T.ok(out:find("  before:", 1, true) and out:find("  after:", 1, true) and out:find("  reference:", 1, true))
  local rb, ra = out:match("ROUGE%-L against the reference answers: ([%d.]+) before, ([%d.]+) after")
  T.ok(rb ~= nil, out:sub(-600))
  -- the answers after fine-tuning are closer to the references (0.12 -> 0.16 in the quick run)
  T.ok(tonumber(ra) > tonumber(rb), "ROUGE-L did not improve: " .. rb .. " before, " .. ra .. " after")
  T.ok(exists(dir .. "/adapter/adapter_model.safetensors"), "adapter saved")
  local cfg = json.read(dir .. "/adapter/adapter_config.json")
  T.same(#cfg.target_modules, 7)
  os.execute("rm -rf " .. T.sh_quote(dir))
end)

T.test("the search example tunes the quickstart's LoRA, prints the trials and importance, and judges the result honestly", function()
  fetch()
  local dir = T.tmpdir()
  local cmd = "cd " .. T.sh_quote(dir) .. " && LATHE_QUICK=1 LATHE_TRACKING=" .. T.sh_quote(dir .. "/runs.db") .. " " ..
    T.sh_quote(bin) .. " run " .. T.sh_quote(root .. "/scripts/examples/tune_spam.lua")
  local out, err, code = T.run(cmd)
  T.same(code, 0, "tune_spam.lua failed:\n" .. err .. "\n" .. out:sub(-2000))
  local hand = tonumber(out:match("hand%-picked %(lr 2e%-3, r 8, dropout 0%.05, 3 epochs%): val F1 [%d.]+, test F1 ([%d.]+)"))
  local best = tonumber(out:match("best trial %d+: val F1 [%d.]+, test F1 ([%d.]+)"))
  T.ok(hand and best, "both settings scored:\n" .. out:sub(-1500))
  T.ok(out:find("4 trials", 1, true) and out:find("params.lr", 1, true) and out:find("parameter importance (PED-ANOVA):", 1, true))
  -- the verdict matches the numbers
  if best > hand then T.ok(out:find("the search beat the hand-picked setting", 1, true))
  elseif best == hand then T.ok(out:find("the search matched the hand-picked setting", 1, true))
  else T.ok(out:find("honestly: the hand-picked setting is better", 1, true)) end
  -- the trials are runs of the store, nested in the study's
  local prev = track.path()
  track.open(dir .. "/runs.db")
  T.eq(#track.runs{experiment = "spam lora search (quick)"}, 5)
  if prev then track.open(prev) else track.off() end
  os.execute("rm -rf " .. T.sh_quote(dir))
end)
