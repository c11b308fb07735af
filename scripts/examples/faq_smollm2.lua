-- Lathe workshop, part 2: teach a small chat model your company's answers (instruction tuning).
--
-- SmolLM2-135M-Instruct knows nothing about Brightline Home's products. We fine-tune it with
-- LoRA on a few hundred question/answer pairs from data/product_faq.jsonl, with the loss on the
-- answers only, and compare its answers to held-out questions before and after, by eye and with
-- ROUGE-L.
--     lathe run scripts/examples/faq_smollm2.lua
-- Model: HuggingFaceTB/SmolLM2-135M-Instruct, GGUF Q4_1 (Apache-2.0), fetched by
-- scripts/fetch_models.sh into ~/.cache/lathe. Data: data/product_faq.jsonl (CC0, this repo).

-- %% 0. Settings
lathe.seed(42)
QUICK = os.getenv("LATHE_QUICK") == "1"          -- a smaller run (the test suite uses it)
N_TRAIN = QUICK and 24 or 240                     -- question/answer pairs to learn from
N_SHOW = QUICK and 2 or 4                         -- held-out questions to compare
EPOCHS = QUICK and 1 or 2
SYSTEM = "You are the support assistant of Brightline Home, a smart-home company. Answer briefly."
here = (arg and arg[0] or ""):match("^(.*)/scripts/examples/[^/]*$") or "."
started = lathe.clock()

-- %% 1. The data: one product FAQ, split so the test questions are never trained on
faq = data.read_jsonl(here .. "/data/product_faq.jsonl")
print(faq)
parts = data.split(faq, {train = 0.9, test = 0.1, stratify = "topic", seed = 1})
function records(t)
  local out = {}
  for _, row in t:rows() do out[#out + 1] = row end
  return out
end
train_rows = records(parts.train:sample(N_TRAIN, {seed = 1}))
test_rows = records(parts.test:sample(N_SHOW, {seed = 2}))
print(string.format("training on %d pairs, %d held-out questions", #train_rows, #test_rows))

-- %% 2. The base model and its answers before fine-tuning
-- The GGUF holds 4-bit (Q4_1) weights; they are expanded to float32 here (513 MiB, the fastest
-- to train on a CPU). {quantized = true} keeps them packed (171 MiB, QLoRA-style) at about
-- two thirds of the training speed.
model = hf.load_gguf(hf.path("smollm2"))
print(model)
function answer(q) return (hf.chat(model, q, {system = SYSTEM, max_tokens = 60, stop = {"\n\n"}})) end
before = {}
for i, r in ipairs(test_rows) do before[i] = answer(r.instruction) end

-- %% 3. Training data through the model's own chat template; the loss only on the answers
sft, info = hf.chat_data(model, train_rows, {system = SYSTEM, max_length = 192})
print(string.format("%d examples, %d answer tokens to learn, %d cut at 192 tokens, padded length %d",
  info.examples, info.target_tokens, info.truncated, sft.x:shape()[2]))

-- %% 4. LoRA on every attention and MLP projection; the base stays frozen
lora.apply(model, {r = 16, alpha = 32, dropout = 0.05, seed = 1,
  targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}})
lora.trainable(model)
history = train.fit{model = model, train = sft, epochs = EPOCHS, batch_size = 8, lr = 1e-3,
  schedule = {kind = "cosine", warmup = QUICK and 1 or 5}, clip = 1.0, seed = 42}
print(history)

-- %% 5. The same questions after fine-tuning, next to the reference answers
-- Look closely: the tuned model takes on the company's voice and procedures quickly, but a
-- small model can still get a fact wrong (a price, a number of days). Check facts against the
-- source, and for facts that change, put them in the prompt (retrieval) rather than the weights.
after = {}
for i, r in ipairs(test_rows) do after[i] = answer(r.instruction) end
refs = {}
for i, r in ipairs(test_rows) do
  refs[i] = r.response
  print(string.format("\nQ: %s\n  reference: %s\n  before:    %s\n  after:     %s", r.instruction, r.response, before[i], after[i]))
end
rb = metrics.rouge(before, refs, {types = {"rougeL"}})
ra = metrics.rouge(after, refs, {types = {"rougeL"}})
print(string.format("\nROUGE-L F1 against the reference answers: before %.3f, after %.3f", rb.rougeL.fmeasure, ra.rougeL.fmeasure))

-- %% 6. What it cost, and the adapter in PEFT's format
print(string.format("LoRA training: %.1f min at %.0f tokens/s on %d threads", history.seconds / 60, history.tokens_per_sec, lathe.threads()))
adapter_dir = os.getenv("LATHE_OUT") or "faq-adapter"
lora.save(model, adapter_dir, {base_model = "HuggingFaceTB/SmolLM2-135M-Instruct", overwrite = true})
print("adapter saved to " .. adapter_dir .. "/")
print(string.format("done in %.1f minutes; ROUGE-L against the reference answers: %.3f before, %.3f after",
  (lathe.clock() - started) / 60, rb.rougeL.fmeasure, ra.rougeL.fmeasure))
