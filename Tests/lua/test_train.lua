-- Training as a user drives it: fit, evaluation, early stopping, schedules, gradient
-- accumulation, checkpoints and exact resumption, LoRA and PEFT files, bad input.
local T = require("testlib")

local function lm_data(n_tokens, seq)
  local text = string.rep("the quick brown fox jumps over the lazy dog. ", 60)
  local ids = {}
  for i = 1, math.min(#text, n_tokens) do ids[i] = text:byte(i) end
  return train.windows(ids, seq)
end

T.test("a small GPT learns a small corpus to a low loss", function()
  lathe.seed(3)
  local data = lm_data(1200, 32)
  local g = nn.gpt{vocab = 256, layers = 2, dim = 64, heads = 4, seq = 32}
  local h = train.fit{model = g, train = data, epochs = 25, batch_size = 8, lr = 3e-3, schedule = "cosine", warmup = 10, quiet = true}
  T.ok(h.loss[1] > 4.5, "starts near log(256): " .. h.loss[1])
  T.ok(h.loss[#h.loss] < 0.5, "ends below 0.5: " .. h.loss[#h.loss])
  local r = train.evaluate(g, data, {metric = "perplexity"})
  T.ok(r.metric < 1.8, "perplexity " .. r.metric)
  -- greedy generation continues the text
  local prompt = {}
  for c in ("the quick "):gmatch(".") do prompt[#prompt + 1] = c:byte() end
  local out = g:generate(prompt, {max_tokens = 9, greedy = true})
  local s = {}
  for i, t in ipairs(out) do s[i] = string.char(t) end
  T.eq(table.concat(s), "brown fox")
end)

T.test("classification with accuracy, early stopping restores the best weights", function()
  lathe.seed(5)
  local x = tensor.randn(200, 6)
  local y = x:narrow(2, 1, 3):sum(2):gt(0):long()
  local xv, yv = x:narrow(1, 1, 50), y:narrow(1, 1, 50)
  local m = nn.mlp{sizes = {6, 32, 2}}
  local h = train.fit{model = m, train = {x = x, y = y}, val = {x = xv, y = yv}, epochs = 200, batch_size = 20, lr = 0.05,
                      optimizer = "sgd", momentum = 0.9, metric = "accuracy", early_stopping = {patience = 3}, quiet = true}
  T.ok(h.stopped_early, "stopped early")
  T.ok(h.epochs < 200)
  T.ok(h.best_metric >= 0.9, "best accuracy " .. h.best_metric)
  local r = train.evaluate(m, {x = xv, y = yv}, {metric = "accuracy"})
  T.near(r.metric, h.best_metric, 1e-9, "the restored weights give the best accuracy")
  T.ok(tostring(h):find("stopped early", 1, true))
end)

T.test("early stopping puts the best weights back when the run ends without stopping (unless restore_best = false)", function()
  -- 12 examples with random labels: the model memorizes them and the validation loss climbs
  local function run(restore)
    lathe.seed(11)
    local x = tensor.randn(60, 4)
    local y = x:narrow(2, 1, 2):sum(2):gt(0):long()
    local xt, yt = x:narrow(1, 1, 12), tensor.randint(0, 2, {12}, {seed = 4})
    local xv, yv = x:narrow(1, 21, 40), y:narrow(1, 21, 40)
    local m = nn.mlp{sizes = {4, 64, 2}, seed = 3}
    local h = train.fit{model = m, train = {x = xt, y = yt}, val = {x = xv, y = yv}, epochs = 30, batch_size = 12,
                        lr = 0.02, metric = "loss", early_stopping = {patience = 100, restore_best = restore},
                        schedule = {kind = "constant"}, quiet = true}
    return m, h, xv, yv
  end
  local m, h, xv, yv = run(true)
  T.same(h.stopped_early, false)
  T.same(h.steps, 30)
  local last = h.evals[#h.evals]
  T.ok(last.val_loss > h.best_metric + 0.1, "the last evaluation is worse than the best")
  T.same(h.restored_step, h.best_step)
  T.ok(tostring(h):find("weights of step " .. h.best_step .. " restored", 1, true), tostring(h))
  T.near(train.evaluate(m, {x = xv, y = yv}).loss, h.best_metric, 1e-6, "the model holds the best evaluation's weights")
  local m2, h2 = run(false)
  T.same(h2.restored_step, nil)
  T.near(train.evaluate(m2, {x = xv, y = yv}).loss, h2.evals[#h2.evals].val_loss, 1e-6, "restore_best = false keeps the last weights")
  T.raises(function() train.fit{model = m2, train = {x = xv, y = yv}, val = {x = xv, y = yv}, early_stopping = {restore = true}, quiet = true} end,
           "restore")
end)

T.test("a schedule table without total decays over the run's updates; an explicit total is kept", function()
  local x, y = tensor.randn(40, 3, {seed = 1}), tensor.randint(0, 2, {40}, {seed = 2})
  local m = nn.mlp{sizes = {3, 2}, seed = 1}
  local h = train.fit{model = m, train = {x = x, y = y}, epochs = 2, batch_size = 4, lr = 0.1,
                      schedule = {kind = "cosine", warmup = 2}, quiet = true}
  T.same(#h.lr, 20)
  T.near(h.lr[1], 0.05, 1e-9, "warm-up")
  T.near(h.lr[2], 0.1, 1e-9)
  T.ok(h.lr[20] < 0.005, "decayed to about zero at the last update: " .. h.lr[20])
  local h2 = train.fit{model = m, train = {x = x, y = y}, epochs = 2, batch_size = 4, lr = 0.1,
                       schedule = {kind = "linear", total = 40}, quiet = true}
  T.near(h2.lr[20], 0.1 * (1 - 19 / 40), 1e-6, "the given total")
end)

T.test("gradient accumulation equals one big batch", function()
  local x = tensor.randn(16, 4, {seed = 1})
  local y = tensor.randint(0, 3, {16}, {seed = 2})
  local function run(bs, accum)
    local m = nn.mlp{sizes = {4, 8, 3}, seed = 7}
    train.fit{model = m, train = {x = x, y = y}, epochs = 1, batch_size = bs, grad_accum = accum, lr = 0.1, optimizer = "sgd", shuffle = false, quiet = true}
    return m:parameters()[1]:totable()
  end
  local a, b = run(16, 1), run(8, 2)
  for i = 1, #a do for j = 1, #a[i] do T.near(a[i][j], b[i][j], 1e-5) end end
end)

T.test("resuming from a checkpoint reproduces the loss curve number for number", function()
  local dir = T.tmpdir()
  local data = lm_data(700, 16)
  local function model() return nn.gpt{vocab = 256, layers = 1, dim = 32, heads = 2, seq = 16, dropout = 0.1, seed = 11} end
  local opts = function(m, extra)
    -- a constant rate after warm-up: stopping early (max_steps) must not change the schedule
    local o = {model = m, train = data, epochs = 4, batch_size = 4, lr = 2e-3, warmup = 3, seed = 99, quiet = true}
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end
  local full = train.fit(opts(model()))
  -- the same run, stopped after 2 epochs' worth of steps, then resumed in a fresh model
  local per_epoch = full.steps // 4
  local first = train.fit(opts(model(), {max_steps = per_epoch * 2 + 1, checkpoint_dir = dir}))
  T.ok(first.checkpoint ~= nil)
  local second = train.fit(opts(model(), {checkpoint_dir = dir, resume = true}))
  T.eq(#second.loss, #full.loss)
  for i = 1, #full.loss do T.eq(second.loss[i], full.loss[i], "loss at step " .. i) end
  for i = 1, #full.lr do T.eq(second.lr[i], full.lr[i]) end
  -- a checkpoint from another model is refused
  local other = nn.gpt{vocab = 256, layers = 1, dim = 16, heads = 2, seq = 16}
  T.raises(function() train.fit(opts(other, {checkpoint_dir = dir, resume = true})) end, "different model")
  -- a corrupted checkpoint is refused with a clear error
  local ck = first.checkpoint
  T.write(ck .. "/trainer_state.json", "{not json")
  T.raises(function() train.fit(opts(model(), {resume = ck})) end, "not a valid trainer state")
  os.execute("rm -rf '" .. dir .. "'")
end)

-- The run the checkpoint tests interrupt: a tiny GPT with dropout, AdamW, warm-up and cosine
-- decay, grad_accum 2, evaluation every 2 updates on other text, and early stopping that
-- stops with best weights older than the last update's. Kept as source so child processes
-- build exactly the same run.
local CHECKPOINT_RUN = [[
local function ids_of(text, n)
  local ids = {}
  for i = 1, n do ids[i] = text:byte((i - 1) % #text + 1) % 32 end
  return ids
end
local data = train.windows(ids_of("the quick brown fox jumps over the lazy dog. ", 400), 12)
local val = train.windows(ids_of("pack my box with five dozen liquor jugs! ", 200), 12)
local function model() return nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 12, dropout = 0.1, seed = 5} end
-- dir: the checkpoint folder (nil: no checkpoints are written)
local function options(m, dir, extra)
  local o = {model = m, train = data, val = val, epochs = 8, batch_size = 4, grad_accum = 2, lr = 1e-2, optimizer = "adamw",
             schedule = {kind = "cosine", warmup = 3, total = 40}, eval_every = 2, early_stopping = {patience = 3}, seed = 9,
             quiet = true}
  if dir then o.checkpoint_dir, o.checkpoint_every, o.keep_checkpoints = dir, 2, 2 end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end
-- what must come out the same: every loss, rate and evaluation, exactly (%a), and the outcome
local function summary(h)
  local parts = {"steps " .. h.steps, "best " .. tostring(h.best_step), "restored " .. tostring(h.restored_step),
                 "stopped " .. tostring(h.stopped_early)}
  for i = 1, #h.loss do parts[#parts + 1] = string.format("%a %a", h.loss[i], h.lr[i]) end
  for _, e in ipairs(h.evals) do parts[#parts + 1] = string.format("%d %a %a", e.step, e.val_loss, e.metric) end
  return table.concat(parts, "\n")
end
return model, options, summary
]]

-- the bytes of a model's weights as a safetensors file (names sorted): equal bytes, equal bits
local function weight_bytes(m)
  local p = os.tmpname()
  tensor.save(p, m:named_parameters(), nil, {overwrite = true})
  local s = T.read(p)
  os.remove(p)
  return s
end

T.test("resuming from each checkpoint_every checkpoint (GPT and LoRA dropout, early stopping) ends with the uninterrupted weights, bit for bit", function()
  local model, options, summary = load(CHECKPOINT_RUN)()
  -- LoRA's dropout draws from the same generator as the model's: both must be restored
  local function lora_model()
    local g = model()
    lora.apply(g, {r = 4, alpha = 8, dropout = 0.2, targets = {"q_proj", "v_proj", "o_proj", "up_proj", "down_proj"}, seed = 1})
    return g
  end
  for _, run in ipairs({{model, {}}, {lora_model, {lr = 0.03}}}) do
    local make, extra = run[1], run[2]
    local function opts(m, dir, more)
      local o = options(m, dir, extra)
      for k, v in pairs(more) do o[k] = v end
      return o
    end
    local dir = T.tmpdir()
    local full = make()
    local h = train.fit(opts(full, dir, {keep_checkpoints = 100}))
    T.ok(h.stopped_early and h.restored_step and h.restored_step < h.steps, "the best weights are not the last: " .. tostring(h))
    local folders = {}
    for n in io.popen("ls '" .. dir .. "'"):lines() do folders[#folders + 1] = n end
    T.eq(#folders, h.steps // 2 + (h.steps % 2), "a checkpoint every 2 updates and the final one")
    local want = weight_bytes(full)
    for _, name in ipairs(folders) do
      local m = make()
      local r = train.fit(opts(m, nil, {resume = dir .. "/" .. name}))
      T.eq(summary(r), summary(h), "history resumed from " .. name)
      T.ok(weight_bytes(m) == want, "weights resumed from " .. name .. " equal the uninterrupted run's")
    end
    -- the final checkpoint holds the last update's weights (to continue from) and the best apart
    local last = dir .. "/" .. folders[#folders]
    local w, best = tensor.load(last .. "/model.safetensors"), tensor.load(last .. "/best.safetensors")
    local function same(a, b) return (a - b):abs():max():item() == 0 end
    local differs = false
    for name, t in pairs(full:named_parameters()) do
      T.ok(same(t, best[name]), "best.safetensors holds the restored " .. name)
      differs = differs or not same(t, w[name])
    end
    T.ok(differs, "model.safetensors holds the last update's weights, not the best")
    -- resuming from the final checkpoint writes it again in place, the same bytes, and
    -- leaves no other folder
    local before = T.read(last .. "/model.safetensors") .. T.read(last .. "/best.safetensors")
    local again = train.fit(opts(make(), dir, {resume = true, keep_checkpoints = 100}))
    T.eq(again.checkpoint, last)
    T.ok(T.read(last .. "/model.safetensors") .. T.read(last .. "/best.safetensors") == before, "the same checkpoint")
    local after = {}
    for n in io.popen("ls '" .. dir .. "'"):lines() do after[#after + 1] = n end
    T.same(after, folders)
    os.execute("rm -rf '" .. dir .. "'")
  end
  local m = model()
  T.raises(function() train.fit(options(m, nil, {checkpoint_every = 2})) end, "'checkpoint_every' needs checkpoint_dir")
  T.raises(function() train.fit(options(m, T.tmpdir(), {checkpoint_every = 0})) end, "bad option 'checkpoint_every'")
end)

-- Whole checkpoint folders (checkpoint-NNNNNN) in dir must each hold every file and load;
-- returns whether process `pid` left a half-written one (checkpoint-NNNNNN.tmp-PID).
local function check_checkpoints(dir, pid, model, options)
  local partial = false
  for n in io.popen("ls '" .. dir .. "' 2>/dev/null"):lines() do
    if n:match("^checkpoint%-%d+$") then
      local p = dir .. "/" .. n
      local st = json.decode(T.read(p .. "/trainer_state.json"))
      local files = {"checkpoint_complete", "model.safetensors", "optimizer.safetensors"}
      if st.hasBestWeights then files[#files + 1] = "best.safetensors" end
      for _, f in ipairs(files) do
        local h = io.open(p .. "/" .. f)
        T.ok(h, n .. " holds " .. f)
        h:close()
      end
      local r = train.fit(options(model(), nil, {resume = p, max_steps = st.step}))
      T.eq(r.steps, st.step, n .. " loads")
    elseif n:match("%.tmp%-(%d+)$") == pid then
      partial = true
    end
  end
  return partial
end

T.test("a run killed with SIGKILL at 20 random moments (some inside checkpoint writes) and resumed each time ends with the uninterrupted run's weights, bit for bit", function()
  local model, options, summary = load(CHECKPOINT_RUN)()
  local root = T.tmpdir()
  T.write(root .. "/run.lua", CHECKPOINT_RUN)
  T.write(root .. "/child.lua", [[
local model, options, summary = dofile(arg[1])
local dir, out = arg[2], arg[3]
local resume = false
for n in io.popen("ls '" .. dir .. "' 2>/dev/null"):lines() do
  if n:match("^checkpoint%-%d+$") then resume = true end
end
local m = model()
local h = train.fit(options(m, dir, {resume = resume}))
local f = assert(io.open(out .. "/summary.tmp", "w"))
f:write(summary(h))
f:close()
assert(os.rename(out .. "/summary.tmp", out .. "/summary.txt"))
tensor.save(out .. "/weights.safetensors", m:named_parameters(), nil, {overwrite = true})
]])
  -- a pause before each file of a checkpoint makes writes long enough for kills to land in them
  local function child(dir, out, kill_after)
    os.execute("mkdir -p '" .. out .. "'")
    local cmd = string.format("LATHE_TEST_CHECKPOINT_PAUSE=0.002 %s run %s %s %s %s", T.sh_quote(T.bin), T.sh_quote(root .. "/child.lua"),
                              T.sh_quote(root .. "/run.lua"), T.sh_quote(dir), T.sh_quote(out))
    if kill_after then cmd = string.format("(%s & p=$!; echo $p; sleep %.3f; kill -9 $p 2>/dev/null; wait $p)", cmd, kill_after) end
    local pid, err, status = T.run(cmd)
    T.ok(status == 0 or status == 137, "the child ends or is killed: " .. status .. " " .. err)
    return status, pid:match("%d+")
  end
  local w0 = lathe.clock()
  T.eq(child(root .. "/ref-ck", root .. "/ref"), 0)
  local span = lathe.clock() - w0
  local want_summary, want_weights = T.read(root .. "/ref/summary.txt"), T.read(root .. "/ref/weights.safetensors")
  local steps, restored = want_summary:match("^steps (%d+)\nbest %d+\nrestored (%d+)\nstopped true\n")
  T.ok(steps and tonumber(restored) < tonumber(steps), "stops early with older best weights: " .. want_summary:sub(1, 60))
  -- kill moments from a seeded generator, uniform over the first 70% of an uninterrupted run:
  -- each resumed attempt gets a little further, so a run survives several kills
  local x = 20240607
  local function uniform()
    x = x * 6364136223846793005 + 1442695040888963407
    return ((x >> 11) & ((1 << 53) - 1)) / 2.0 ^ 53
  end
  local kills, inside_writes, runs = 0, 0, 0
  while kills < 20 do
    runs = runs + 1
    local dir, out = root .. "/ck" .. runs, root .. "/out" .. runs
    local status
    repeat
      local pid
      status, pid = child(dir, out, span * 0.7 * uniform())
      if status == 137 then
        kills = kills + 1
        if check_checkpoints(dir, pid, model, options) then inside_writes = inside_writes + 1 end
      end
    until status == 0 or kills == 20
    if status ~= 0 then T.eq(child(dir, out), 0) end
    T.eq(T.read(out .. "/summary.txt"), want_summary, "losses, rates and evaluations of resumed run " .. runs)
    T.ok(T.read(out .. "/weights.safetensors") == want_weights, "final weights of resumed run " .. runs .. " equal the uninterrupted run's")
  end
  T.ok(inside_writes >= 2, inside_writes .. " of 20 kills landed inside a checkpoint write")
  os.execute("rm -rf '" .. root .. "'")
end)

T.test("a NaN loss stops with the step and keeps the last good weights", function()
  local m = nn.mlp{sizes = {2, 2}, seed = 1}
  local x = tensor.from({{1.0, 2.0}, {0 / 0, 1.0}})
  local before = m:parameters()[1]:totable()
  local err = T.raises(function() train.fit{model = m, train = {x = x, y = tensor.from({0, 1})}, batch_size = 2, quiet = true} end,
    "the loss became nan at step 1")
  T.ok(err:find("weights from the last good step are kept", 1, true))
  T.same(m:parameters()[1]:totable(), before)
end)

T.test("bad input to fit names what is wrong", function()
  local m = nn.mlp{sizes = {2, 2}}
  T.raises(function() train.fit{model = m} end, "option 'train' is required")
  T.raises(function() train.fit{train = {x = tensor.zeros(2, 2), y = tensor.zeros(2)}} end, "option 'model' is required")
  T.raises(function() train.fit{model = m, train = {x = tensor.zeros(2, 2), y = tensor.from({0, 1})}, epoch = 3} end, "did you mean 'epochs'")
  T.raises(function() train.fit{model = m, train = {x = tensor.zeros(3, 2), y = tensor.from({0, 1})}} end, "same number of examples")
  T.raises(function() train.fit{model = m, train = {x = tensor.zeros(2, 2), y = tensor.from({0, 1})}, early_stopping = {patience = 2}, quiet = true} end, "needs val data")
  T.raises(function() train.fit{model = m, train = {x = tensor.zeros(2, 2), y = tensor.from({0, 5})}, quiet = true} end, "outside the class ids 0..1")
  T.raises(function() train.fit{model = m, train = {x = tensor.zeros(2, 3), y = tensor.from({0, 1})}, quiet = true} end, "does not end in 2 features")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("schedules list and plot", function()
  local s = optim.schedule{kind = "cosine", lr = 1e-3, warmup = 10, total = 100}
  T.near(s:lr(10), 1e-3, 1e-12)
  T.ok(s:lr(100) < 1e-6 and s:lr(100) > 0, "the last update's rate is small but not zero, as HF's cosine schedule")
  T.eq(#s:list(), 100)
  T.ok(s:plot():find("*", 1, true))
  T.raises(function() optim.schedule{kind = "cosine", lr = 1} end, "needs total")
  T.raises(function() optim.schedule{kind = "wavy", lr = 1} end, "bad option 'kind'")
end)

T.test("optimizers and a hand-written loop", function()
  local w = tensor.from({3.0, -2.0}):requires_grad(true)
  local opt = optim.adam({w}, {lr = 0.1})
  for i = 1, 300 do
    opt:zero_grad()
    local loss = (w * w):sum()
    loss:backward()
    opt:step()
  end
  T.ok(w:abs():max():item() < 0.05, tostring(w))
  -- clip_grad_norm returns the norm before clipping and scales the gradients to max_norm
  local v = tensor.from({3.0, -4.0}):requires_grad(true)
  ;(v * v):sum():backward()  -- grad = 2v = {6, -8}, norm 10
  local n = optim.clip_grad_norm({v}, 1.0)
  T.near(n, 10, 1e-6)
  T.near(v.grad:pow(2):sum():sqrt():item(), 1.0, 1e-6)
  T.near(v.grad[1], 0.6, 1e-6)
end)

T.test("freezing, gradual unfreezing and summaries", function()
  local g = nn.gpt{vocab = 32, layers = 3, dim = 16, heads = 2, seq = 8}
  local total = g:num_params()
  g:freeze()
  T.eq(g:num_params({trainable = true}), 0)
  g:unfreeze("layers.2.*")
  T.ok(g:num_params({trainable = true}) > 0)
  T.raises(function() g:freeze("nothing.*") end, "no parameter matches 'nothing.*'")
  local s = g:summary()
  T.ok(s:find("layers.2.attn.q_proj", 1, true) and s:find("frozen", 1, true), s)
  g:unfreeze()
  T.eq(g:num_params({trainable = true}), total)
  local data = lm_data(300, 8):remainder(32)
  local h = train.fit{model = g, train = data, epochs = 3, batch_size = 8, gradual_unfreeze = true, quiet = true}
  T.eq(h.epochs, 3)
end)

T.test("LoRA: only adapters train, merge keeps outputs, PEFT files round trip", function()
  local g = nn.gpt{vocab = 64, layers = 2, dim = 32, heads = 4, seq = 16, seed = 21}
  local paths = lora.apply(g, {r = 4, alpha = 8, dropout = 0.0, targets = {"q_proj", "v_proj"}, seed = 1})
  T.eq(#paths, 4)
  local counts = select(2, lathe.capture(lora.trainable, g))
  T.eq(counts.trainable, 4 * 4 * (32 + 32))
  local text = lathe.capture(function() lora.trainable(g) end)
  T.ok(text:find("^trainable params: 1,024 || all params: ") and text:find("trainable%%: %d+%.%d%d%d%d"), text)
  local data = lm_data(600, 16)
  local ids = tensor.randint(0, 64, {1, 10}, {seed = 3})
  local base = g(ids):totable()
  local before = {}
  for name, p in pairs(g:named_parameters()) do before[name] = p:clone() end
  train.fit{model = g, train = data:remainder(64), epochs = 2, batch_size = 4, lr = 1e-2, quiet = true}
  -- frozen base weights did not move; every adapter did
  local moved, still = 0, 0
  for name, p in pairs(g:named_parameters()) do
    local d = (p - before[name]):abs():max():item()
    if name:find("lora_", 1, true) then
      if name:find("lora_B", 1, true) then T.ok(d > 0, name .. " did not train") end
      moved = moved + 1
    else
      T.eq(d, 0, name .. " is frozen but changed")
      still = still + 1
    end
  end
  T.eq(moved, 8)
  T.ok(still > 0)
  local adapted = g(ids)
  T.ok(adapted:totable()[1][1][1] ~= base[1][1][1])
  lora.merge(g)
  local merged = g(ids)
  T.ok((merged - adapted):abs():max():item() < 1e-4)
  lora.unmerge(g)
  -- PEFT layout
  local dir = T.tmpdir() .. "/adapter"
  lora.save(g, dir, {base_model = "tiny-gpt"})
  local cfg = T.read(dir .. "/adapter_config.json")
  T.ok(cfg:find('"peft_type" : "LORA"', 1, true) or cfg:find('"peft_type": "LORA"', 1, true), cfg)
  T.ok(cfg:find('"r" : 4', 1, true) or cfg:find('"r": 4', 1, true), cfg)
  T.raises(function() lora.save(g, dir) end, "adapter_config.json exists (pass overwrite = true")
  local fresh = nn.gpt{vocab = 64, layers = 2, dim = 32, heads = 4, seq = 16, seed = 21}
  lora.load(fresh, dir)
  T.ok((fresh(ids) - adapted):abs():max():item() < 1e-5)
  T.raises(function() lora.apply(nn.mlp{sizes = {2, 2}}, {targets = {"q_proj"}}) end, "no Linear layer matches targets")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("an encoder classifies and pools", function()
  lathe.seed(2)
  local e = nn.encoder{vocab = 50, layers = 1, dim = 16, heads = 2, seq = 8, classes = 2, pooling = "mean", dropout = 0}
  local ids = tensor.randint(1, 50, {40, 8})
  local mask = tensor.ones(40, 8, {dtype = "int64"})
  local y = ids:narrow(2, 1, 1):squeeze(2):gt(25):long()
  local h = train.fit{model = e, train = {x = ids, y = y, mask = mask}, epochs = 30, batch_size = 10, lr = 3e-3, quiet = true,
                      val = {x = ids, y = y, mask = mask}, metric = "f1"}
  T.ok(h.best_metric > 0.8, "f1 " .. h.best_metric)
end)

T.test("padding columns cost nothing: a batch is cut to its longest real row, losses unchanged", function()
  -- the same examples with 4 extra padding columns train to the same losses (mask 0, targets -100)
  local function data(extra)
    local ids, mask, y = {}, {}, {}
    for r = 1, 24 do
      local len = 3 + (r % 5)
      local row, mrow, yrow = {}, {}, {}
      for j = 1, 8 + extra do
        local real = j <= len
        row[j] = real and ((r * 7 + j * 3) % 29 + 1) or 0
        mrow[j] = real and 1 or 0
        yrow[j] = (real and j < len) and ((r * 7 + (j + 1) * 3) % 29 + 1) or -100
      end
      ids[r], mask[r], y[r] = row, mrow, yrow
    end
    return {x = tensor.from(ids, {dtype = "int64"}), mask = tensor.from(mask, {dtype = "int64"}), y = tensor.from(y, {dtype = "int64"})}
  end
  local function run(extra)
    local g = nn.gpt{vocab = 32, layers = 1, dim = 16, heads = 2, seq = 16, seed = 4, dropout = 0}
    local h = train.fit{model = g, train = data(extra), epochs = 2, batch_size = 6, lr = 1e-2, seed = 1, quiet = true}
    return h
  end
  local a, b = run(0), run(4)
  T.same(#a.loss, #b.loss)
  for i = 1, #a.loss do T.near(b.loss[i], a.loss[i], 1e-5, "step " .. i) end
  T.ok(b.tokens_per_sec > 0)
end)

T.test("nn layers compose and report errors", function()
  local net = nn.sequential{nn.linear(4, 8), nn.gelu(), nn.layer_norm(8), nn.dropout(0.1), nn.linear(8, 2)}
  T.same(net(tensor.randn(3, 4)):shape(), {3, 2})
  T.raises(function() net(tensor.randn(3, 5)) end, "does not end in 4 features")
  T.raises(function() nn.gpt{dim = 30, heads = 4} end, "dim 30 must be divisible by heads 4")
  T.raises(function() nn.gpt{positions = "absolute"} end, "bad option 'positions'")
  T.raises(function() nn.dropout(1.5) end, "probability must be in [0, 1)")
  local g = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}
  T.raises(function() g({1, 2, 3, 4, 5}) end, "longer than the model's maximum of 4")
  T.raises(function() g({99}) end, "token id 99 is outside the vocabulary 0..15")
  local ce = nn.cross_entropy(tensor.from({{0.0, 0.0}}), {1})
  T.near(ce:item(), math.log(2), 1e-6)
  -- save and load weights
  local p = os.tmpname()
  os.remove(p)
  g:save(p)
  local g2 = nn.gpt{vocab = 16, layers = 1, dim = 8, heads = 2, seq = 4}
  g2:load(p)
  T.same(g2({1, 2}):totable(), g({1, 2}):totable())
  T.raises(function() nn.gpt{vocab = 16, layers = 1, dim = 16, heads = 2, seq = 4}:load(p) end, "has shape")
  os.remove(p)
end)

T.test("LoRA on a pretrained model learns a shifted task and improves its held-out loss", function()
  lathe.seed(9)
  local function windows(text, seq)
    local ids = {}
    for i = 1, #text do ids[i] = text:byte(i) % 64 end
    return train.windows(ids, seq)
  end
  local a = windows(string.rep("the quick brown fox jumps over the lazy dog. ", 30), 24)
  local b_all = windows(string.rep("small companies fine tune models on their own data. ", 30), 24)
  local n = #b_all
  local b_train, b_test = b_all:narrow(1, 1, n - 8), b_all:narrow(1, n - 7, 8)
  local g = nn.gpt{vocab = 64, layers = 2, dim = 48, heads = 4, seq = 24}
  train.fit{model = g, train = a, epochs = 15, batch_size = 8, lr = 3e-3, quiet = true}
  local before = train.evaluate(g, b_test).loss
  local frozen = g:named_parameters()["layers.0.mlp.up_proj.weight"]:clone()
  lora.apply(g, {r = 8, alpha = 16, targets = {"q_proj", "v_proj", "o_proj", "up_proj", "down_proj"}})
  train.fit{model = g, train = b_train, epochs = 15, batch_size = 8, lr = 5e-3, quiet = true}
  local after = train.evaluate(g, b_test).loss
  T.ok(after < before * 0.5, string.format("held-out loss %.3f -> %.3f", before, after))
  T.eq((g:named_parameters()["layers.0.mlp.up_proj.weight"] - frozen):abs():max():item(), 0, "base weights stay frozen")
end)

T.test("bf16 mixed-precision training tracks the fp32 loss curve", function()
  local data = lm_data(900, 32)
  local function run(precision)
    local g = nn.gpt{vocab = 256, layers = 2, dim = 64, heads = 4, seq = 32, seed = 4}
    return train.fit{model = g, train = data, epochs = 6, batch_size = 8, lr = 3e-3, seed = 1, precision = precision, quiet = true}
  end
  local a, b = run("fp32"), run("bf16")
  T.eq(#a.loss, #b.loss)
  -- bf16 operands carry 8 bits of mantissa: per-step losses differ a little, the curve does not
  local worst = T.max_error(b.loss, a.loss)
  T.ok(worst <= 0.01, "largest relative difference per step " .. worst)
  T.ok(b.loss[#b.loss] < 0.5 * b.loss[1], "bf16 training learns")
  T.raises(function() run("fp8") end, "bad option 'precision'")
  -- bf16 silently running as fp32 would give identical losses: that fails, unless this CPU has
  -- no bf16 kernel (then lathe.blas() says so, and the test is counted as skipped)
  if lathe.blas().bf16:match("^none") then
    T.ok(not lathe.blas().cpu:match("avx512_bf16") and not lathe.blas().cpu:match("amx_bf16"), "bf16 kernel missing on a bf16 CPU")
    T.skip("this CPU has no bf16 kernel: bf16 products run as fp32")
  end
  T.ok(worst > 0, "bf16 losses equal fp32's: the bf16 kernel did not run")
end)
