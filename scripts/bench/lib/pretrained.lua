-- Lathe side of scripts/bench/pretrained. Usage: lathe run pretrained.lua MODE THREADS ARGS...
--   embed TEXTS_FILE        all-MiniLM-L6-v2 sentence embeddings, batch 32
--   decode N [quantized]    SmolLM2-135M-Instruct greedy decoding of N tokens (KV cache)
--   lora IDS_NPY STEPS      SmolLM2 LoRA (r=8, q_proj+v_proj) training steps, AdamW
-- Prints "key value" lines.
local mode, threads = arg[1], tonumber(arg[2])
lathe.threads(threads)
lathe.seed(0)

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

if mode == "embed" then
  local texts = {}
  for line in io.lines(arg[3]) do texts[#texts + 1] = line end
  local m = hf.load(hf.path("minilm"))
  m:embed({table.unpack(texts, 1, 64)}, {batch_size = 32})   -- warm up
  local runs = {}
  for r = 1, 3 do
    local t0 = lathe.clock()
    m:embed(texts, {batch_size = 32})
    runs[#runs + 1] = lathe.clock() - t0
  end
  print(string.format("sentences_per_sec %.1f", #texts / median(runs)))
elseif mode == "decode" then
  local n = tonumber(arg[3])
  local m = hf.load_gguf(hf.path("smollm2"), {quantized = arg[4] == "quantized"})
  local prompt = m.tokenizer:encode(hf.chat_prompt(m, "Write a long story about a lighthouse keeper."), {add_special_tokens = false})
  m:generate(prompt, {max_tokens = 4, greedy = true})   -- warm up
  local runs = {}
  for r = 1, 3 do
    local t0 = lathe.clock()
    local out = m:generate(prompt, {max_tokens = n, greedy = true})
    assert(#out == n)
    runs[#runs + 1] = lathe.clock() - t0
  end
  print(string.format("tokens_per_sec %.2f", n / median(runs)))
  print(string.format("weight_bytes %d", m:weight_bytes()))
  print(string.format("peak_rss %d", lathe.memory().peak_rss))
elseif mode == "lora" then
  local ids = tensor.load_npy(arg[3])
  local steps = tonumber(arg[4])
  local m = hf.load_gguf(hf.path("smollm2"), {quantized = arg[5] == "quantized"})
  lora.apply(m, {r = 8, alpha = 16, targets = {"q_proj", "v_proj"}, seed = 1})
  m:train()
  local B, T1 = ids:shape()[1], ids:shape()[2]
  local x, y = ids:narrow(2, 1, T1 - 1):contiguous(), ids:narrow(2, 2, T1 - 1):contiguous():reshape(-1)
  local opt = optim.adamw(m, {lr = 1e-4})
  local times, losses = {}, {}
  for i = 1, steps + 2 do
    local t0 = lathe.clock()
    opt:zero_grad()
    local loss = nn.cross_entropy(m(x):reshape(-1, 49152), y)
    loss:backward()
    opt:step()
    if i > 2 then times[#times + 1] = lathe.clock() - t0 end
    losses[#losses + 1] = loss:item()
  end
  print(string.format("tokens_per_sec %.1f", B * (T1 - 1) / median(times)))
  print(string.format("first_loss %.4f", losses[1]))
  print(string.format("peak_rss %d", lathe.memory().peak_rss))
end
