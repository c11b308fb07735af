-- Lathe side of scripts/bench/train: the same char-level GPT as train_torch.py.
-- Usage: lathe run train.lua MODE STEPS (MODE: full | lora | infer | bf16), threads from
-- LATHE_THREADS. Times STEPS steps after 3 warm-up steps, as train_torch.py (lib/stats).
local stats = require("stats")
local mode, steps = arg[1], math.tointeger(tonumber(arg[2]))
print("threads " .. stats.threads())
lathe.seed(0)
local V, L, D, H, T, B = 256, 4, 256, 4, 128, 16
local model = nn.gpt{vocab = V, layers = L, dim = D, heads = H, seq = T}
if mode == "lora" then lora.apply(model, {r = 8, alpha = 16, targets = {"q_proj", "v_proj"}}) end
local ids = tensor.randint(0, V, {B, T + 1})
local x, y = ids:narrow(2, 1, T):contiguous(), ids:narrow(2, 2, T):contiguous():reshape(-1)
local opt = optim.adamw(model, {lr = 3e-4})
local function step()
  if mode == "infer" then
    tensor.no_grad(function() return model(x) end)
  elseif mode == "bf16" then
    opt:zero_grad()
    tensor.autocast("bf16", function()
      local loss = nn.cross_entropy(model(x):reshape(-1, V), y)
      loss:backward()
    end)
    opt:step()
  else
    opt:zero_grad()
    local loss = nn.cross_entropy(model(x):reshape(-1, V), y)
    loss:backward()
    opt:step()
  end
end
local med = stats.timeit(step, steps, 3)
print(string.format("ms %.2f", med * 1e3))
print(string.format("tokens_per_sec %.1f", B * T / med))
print(string.format("peak_rss %d", lathe.memory().peak_rss))
