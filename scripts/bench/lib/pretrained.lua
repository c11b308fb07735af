-- Lathe side of scripts/bench/pretrained. Usage: lathe run pretrained.lua MODE ARGS... at
-- LATHE_THREADS threads; warm-up and median as pretrained_torch.py (lib/stats).
--   embed TEXTS_FILE        all-MiniLM-L6-v2 sentence embeddings, batch 32
--   decode N [quantized]    SmolLM2-135M-Instruct greedy decoding of N tokens (KV cache)
--   lora IDS_NPY STEPS      SmolLM2 LoRA (r=8, q_proj+v_proj) training steps, AdamW
-- Prints "key value" lines.
local stats = require("stats")
local mode = arg[1]
print("threads " .. stats.threads())
lathe.seed(0)
local RUNS = 3

if mode == "embed" then
  local texts = {}
  for line in io.lines(arg[2]) do texts[#texts + 1] = line end
  local m = hf.load(hf.path("minilm"))
  m:embed({table.unpack(texts, 1, 64)}, {batch_size = 32})   -- warm up on 64 texts, as the peer
  local t = stats.timeit(function() m:embed(texts, {batch_size = 32}) end, RUNS, 0)
  print(string.format("sentences_per_sec %.1f", #texts / t))
elseif mode == "decode" then
  local n = tonumber(arg[2])
  local m = hf.load_gguf(hf.path("smollm2"), {quantized = arg[3] == "quantized"})
  local prompt = m.tokenizer:encode(hf.chat_prompt(m, "Write a long story about a lighthouse keeper."), {add_special_tokens = false})
  m:generate(prompt, {max_tokens = 4, greedy = true})   -- warm up on 4 tokens, as the peer
  local t = stats.timeit(function()
    local out = m:generate(prompt, {max_tokens = n, greedy = true})
    assert(#out == n)
  end, RUNS, 0)
  print(string.format("tokens_per_sec %.2f", n / t))
  print(string.format("weight_bytes %d", m:weight_bytes()))
  print(string.format("peak_rss %d", lathe.memory().peak_rss))
elseif mode == "lora" then
  local ids = tensor.load_npy(arg[2])
  local steps = math.tointeger(tonumber(arg[3]))
  local m = hf.load_gguf(hf.path("smollm2"), {quantized = arg[4] == "quantized"})
  lora.apply(m, {r = 8, alpha = 16, targets = {"q_proj", "v_proj"}, seed = 1})
  m:train()
  local B, T1 = ids:shape()[1], ids:shape()[2]
  local x, y = ids:narrow(2, 1, T1 - 1):contiguous(), ids:narrow(2, 2, T1 - 1):contiguous():reshape(-1)
  local opt = optim.adamw(m, {lr = 1e-4})
  local losses = {}
  local t = stats.timeit(function()
    opt:zero_grad()
    local loss = nn.cross_entropy(m(x):reshape(-1, 49152), y)
    loss:backward()
    opt:step()
    losses[#losses + 1] = loss:item()
  end, steps, 2)
  print(string.format("tokens_per_sec %.1f", B * (T1 - 1) / t))
  print(string.format("first_loss %.4f", losses[1]))
  print(string.format("peak_rss %d", lathe.memory().peak_rss))
end
