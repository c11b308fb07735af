-- Searching the LoRA settings of the workshop's SMS-spam classifier (scripts/examples/quickstart.lua)
-- instead of picking them by hand: learning rate, LoRA rank, dropout and epochs, with TPE and
-- successive-halving (ASHA) pruning of hopeless trials. Run: lathe run scripts/examples/tune_spam.lua
-- (the data and model come from scripts/fetch_models.sh, as for the quickstart). About 10 minutes
-- on 2 cores; LATHE_QUICK=1 for a few minutes.
--
-- Every trial is a run in lathe-runs.db (track.runs{experiment = "spam lora search"}); the study
-- survives Ctrl-C (the running trial finishes first) and a killed process: running the script
-- again continues it.

QUICK = os.getenv("LATHE_QUICK") == "1"
TRAIN_SIZE, VAL_SIZE = QUICK and 200 or 1000, QUICK and 120 or 300
N_TRIALS = QUICK and 4 or 30
MAX_LEN, BATCH = 48, 16
started = lathe.clock()

-- %% 1. The quickstart's data: cleaned, de-duplicated, split 70/20/10 by label
sms = data.read_csv(hf.path("sms-spam")):select("spam", "text"):rename({spam = "label"})
sms = data.clean(sms, {columns = {"text"}, drop_missing = true, min_length = 2, quiet = true})
sms = data.mask_pii(sms, {columns = {"text"}})
sms = data.dedupe(sms, "text", {near = 0.9})
parts = data.split(sms, {train = 0.7, val = 0.2, test = 0.1, stratify = "label", seed = 42})
train_set = parts.train:sample(math.min(TRAIN_SIZE, #parts.train), {seed = 42})
val_set = parts.val:sample(math.min(VAL_SIZE, #parts.val), {seed = 42})
test_set = parts.test
print(string.format("search on %d training and %d validation messages; the best is scored on %d test messages",
  #train_set, #val_set, #test_set))

tok = hf.load(hf.path("minilm")).tokenizer
function encode(t)
  local ids, mask = tok:encode_batch(t:column("text"), {max_length = MAX_LEN, padding = "longest", truncation = true})
  return {x = ids, mask = mask, y = tensor.from(t:column("label"))}
end
train_data, val_data = encode(train_set), encode(val_set)

-- %% 2. One training: a fresh MiniLM with a classifier head and LoRA adapters
function fine_tune(p, trial)
  local model = hf.load(hf.path("minilm"))
  hf.classifier(model, {labels = {"ham", "spam"}, pooling = "pooler", seed = 1})
  lora.apply(model, {r = p.r, alpha = 2 * p.r, dropout = p.dropout, targets = {"query", "value"},
    modules_to_save = {"classifier.*", "pooler.*"}, seed = 1})
  local steps = p.epochs * math.ceil(#train_set / BATCH)
  local h = train.fit{model = model, train = train_data, val = val_data, epochs = p.epochs, batch_size = BATCH,
    schedule = optim.schedule{kind = "cosine", lr = p.lr, warmup = math.floor(steps / 10), total = steps},
    metric = "f1", eval_every = math.ceil(#train_set / BATCH / 2), seed = 42, quiet = true, trial = trial}
  return model, h
end

function test_f1(model)
  local pred = hf.predict(model, test_set:column("text"), {max_length = MAX_LEN}).classes
  return metrics.f1(test_set:column("label"), pred, {pos_label = 1})
end

-- %% 3. The quickstart's hand-picked setting, on the same data, as the bar to clear
hand = {lr = 2e-3, r = 8, dropout = 0.05, epochs = 3}
hand_model, hand_h = fine_tune(hand, nil)
hand_val = hand_h.evals[#hand_h.evals].metric
hand_test = test_f1(hand_model)
print(string.format("hand-picked (lr 2e-3, r 8, dropout 0.05, 3 epochs): val F1 %.3f, test F1 %.3f", hand_val, hand_test))

-- %% 4. The search: TPE proposes, ASHA stops the trials that fall behind at each half epoch
study = tune.study{name = "spam lora search" .. (QUICK and " (quick)" or ""), direction = "maximize", seed = 7,
  pruner = tune.asha{min_resource = math.ceil(#train_set / BATCH / 2), reduction_factor = 3}}
study:optimize(function(trial)
  local _, h = fine_tune(trial.params, trial)
  return h.evals[#h.evals].metric
end, {n_trials = N_TRIALS, space = {
  lr = tune.loguniform(3e-4, 1e-2),
  r = tune.choice{4, 8, 16},
  dropout = tune.uniform(0, 0.2, {step = 0.05}),
  epochs = tune.int(1, 4),
}})

-- %% 5. What the search found
print(study)
print(study:trials())
print("parameter importance (PED-ANOVA):")
print(study:importance())
best = study:best()
best_model = fine_tune(best.params, nil)
best_test = test_f1(best_model)
print(string.format("best trial %d: val F1 %.3f, test F1 %.3f (hand-picked: val %.3f, test %.3f)",
  best.number, best.value, best_test, hand_val, hand_test))
if best_test > hand_test then
  print(string.format("the search beat the hand-picked setting on the test set by %.3f F1", best_test - hand_test))
elseif best_test == hand_test then
  print("the search matched the hand-picked setting on the test set: it was already a good choice")
else
  print(string.format("honestly: the hand-picked setting is better on the test set by %.3f F1; the search's best was " ..
    "best on the validation set only (a small validation set, or too few trials)", hand_test - best_test))
end
print(string.format("done in %.1f minutes", (lathe.clock() - started) / 60))
