-- tune.cv: k-fold cross-validation scores of a table, with a search's trial told each fold.
-- Loaded on first use (see init.lua).

local function check_options(opts)
  local known = {k = true, stratify = true, group = true, seed = true, trial = true}
  for key in pairs(opts) do
    if not known[key] then
      error(string.format("tune.cv: unknown option '%s' (options: k, stratify, group, seed, trial)", tostring(key)), 3)
    end
  end
  if opts.k ~= nil and (math.type(opts.k) ~= "integer" or opts.k < 2) then
    error("tune.cv: bad option 'k' (expected an integer >= 2, got " .. tostring(opts.k) .. ")", 3)
  end
end

local function cv(t, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = {}, opts end
  if type(opts) ~= "table" then error("tune.cv: bad argument #2 'options' (expected a table, got " .. type(opts) .. ")", 2) end
  if type(fn) ~= "function" then
    error("tune.cv: bad argument #3 'fn' (expected function(train, val, fold) -> score, got " .. type(fn) .. ")", 2)
  end
  check_options(opts)
  local folds = data.kfold(t, opts.k or 5, {stratify = opts.stratify, group = opts.group, seed = opts.seed})
  local scores, sum = {}, 0
  for i, f in ipairs(folds) do
    local s = fn(f.train, f.val, i)
    if type(s) ~= "number" or s ~= s then
      error(string.format("tune.cv: fold %d: fn returned %s, not a number", i, s ~= s and "NaN" or tostring(s)), 2)
    end
    scores[i] = s
    sum = sum + s
    if opts.trial then
      -- the mean so far, so a pruner can stop a hopeless trial after a few folds
      opts.trial:report(sum / i, i)
      if i < #folds and opts.trial:should_prune() then tune.pruned() end
    end
  end
  local n = #scores
  local mean = sum / n
  local var = 0
  for _, s in ipairs(scores) do var = var + (s - mean) ^ 2 end
  local std = n > 1 and math.sqrt(var / (n - 1)) or 0
  return setmetatable({mean = mean, std = std, scores = scores, k = n}, {
    __name = "CVResult",
    __tostring = function(r)
      local parts = {}
      for i, s in ipairs(r.scores) do parts[i] = string.format("%.4g", s) end
      return string.format("%d-fold: mean %.4g, std %.4g (%s)", r.k, r.mean, r.std, table.concat(parts, ", "))
    end,
  })
end

tune.cv = cv
lathe.doc(cv, "tune.cv", {
  summary = "k-fold cross-validation: fn(train, val, fold) scores each fold; the mean, standard deviation and scores.",
  signature = "tune.cv(table, {k = 5, stratify=, group=, seed=, trial=}, fn) -> {mean, std, scores, k}",
  details = [[The folds are data.kfold's (stratified by a label column, groups kept whole, seeded). With trial
(inside study:optimize), the running mean is reported after each fold (step = fold) and the trial
is pruned between folds when the study's pruner says so. std is the sample standard deviation
(n - 1). The options may be left out: tune.cv(table, fn).]],
  returns = "{mean, std, scores, k} (prints as one line)",
  errors = "unknown options, k below 2 or above the rows, a fold whose fn returns something else than a number.",
  example = [[local t = data.from{x = {1, 2, 3, 4, 5, 6}, label = {"a", "b", "a", "b", "a", "b"}}
local r = tune.cv(t, {k = 3, stratify = "label", seed = 1}, function(train, val, fold) return #val end)
print(r.mean, #r.scores)  --> 2.0  3]],
})
