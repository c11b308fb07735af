-- Lathe side of scripts/bench/train: the same char-level GPT as train_torch.py.
-- Usage: lathe run train.lua MODE STEPS THREADS (MODE: full | lora | infer | bf16)
local mode, steps, threads = arg[1], tonumber(arg[2]), tonumber(arg[3])
lathe.threads(threads)
lathe.seed(0)
local V, L, D, H, T, B = 256, 4, 256, 4, 128, 16
local model = nn.gpt{vocab = V, layers = L, dim = D, heads = H, seq = T}
if mode == "lora" then lora.apply(model, {r = 8, alpha = 16, targets = {"q_proj", "v_proj"}}) end
local ids = tensor.randint(0, V, {B, T + 1})
local x, y = ids:narrow(2, 1, T):contiguous(), ids:narrow(2, 2, T):contiguous():reshape(-1)
local opt = optim.adamw(model, {lr = 3e-4})
local times = {}
for i = 1, steps + 3 do
  local t0 = lathe.clock()
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
  if i > 3 then times[#times + 1] = lathe.clock() - t0 end
end
table.sort(times)
local med = times[(#times + 1) // 2]
print(string.format("ms %.2f", med * 1e3))
print(string.format("tokens_per_sec %.1f", B * T / med))
print(string.format("peak_rss %d", lathe.memory().peak_rss))
