-- The metrics module through the real binary: golden vectors from scikit-learn, sacrebleu,
-- rouge-score, SciPy and jiwer (Tests/golden/metrics, made by scripts/golden/metrics.py),
-- statistical properties of the resampling tests, and bad input.
local T = require("testlib")

-- A small JSON reader for the golden files (objects, arrays, strings with \u escapes, numbers,
-- true/false/null). null becomes json_null. "nan"/"inf" strings are decoded by num().
local json_null = setmetatable({}, {__tostring = function() return "null" end})
local function json_decode(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function utf8char(cp) return utf8.char(cp) end
  local function str()
    pos = pos + 1
    local parts = {}
    while true do
      local a, b = s:find('["\\]', pos)
      parts[#parts + 1] = s:sub(pos, a - 1)
      if s:sub(a, a) == '"' then pos = a + 1; break end
      local e = s:sub(a + 1, a + 1)
      if e == "u" then
        local cp = tonumber(s:sub(a + 2, a + 5), 16)
        pos = a + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
          local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          pos = pos + 6
        end
        parts[#parts + 1] = utf8char(cp)
      else
        local map = {n = "\n", t = "\t", r = "\r", b = "\b", f = "\f", ['"'] = '"', ["\\"] = "\\", ["/"] = "/"}
        parts[#parts + 1] = map[e]
        pos = a + 2
      end
    end
    return table.concat(parts)
  end
  function value()
    ws()
    local ch = s:sub(pos, pos)
    if ch == "{" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        local k = str()
        ws(); pos = pos + 1  -- :
        t[k] = value()
        ws()
        local c = s:sub(pos, pos); pos = pos + 1
        if c == "}" then return t end
      end
    elseif ch == "[" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        ws()
        local c = s:sub(pos, pos); pos = pos + 1
        if c == "]" then return t end
      end
    elseif ch == '"' then
      return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return json_null
    else
      local a, b = s:find("^-?[0-9.eE+-]+", pos)
      local txt = s:sub(a, b)
      pos = b + 1
      if txt:find("[.eE]") then return tonumber(txt) end
      return math.tointeger(tonumber(txt))
    end
  end
  return value()
end

local cache = {}
local function golden(name)
  if not cache[name] then cache[name] = json_decode(T.read(T.root .. "/Tests/golden/metrics/" .. name)) end
  return cache[name]
end

local function num(v)
  if v == "nan" then return 0 / 0 end
  if v == "inf" then return math.huge end
  if v == "-inf" then return -math.huge end
  return v
end

local function close(a, b, tol)
  tol = tol or 1e-12
  b = num(b)
  if a ~= a or b ~= b then return a ~= a and b ~= b end
  if a == math.huge or b == math.huge or a == -math.huge or b == -math.huge then return a == b end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

local function check(a, b, what, tol)
  if not close(a, b, tol) then error(string.format("%s: got %.17g, want %s", what, a, tostring(b)), 2) end
end

local function opt(v) if v == json_null then return nil end return v end

-- ---------------------------------------------------------------------------------------------
-- Classification

T.test("accuracy, precision, recall, F match scikit-learn on the golden cases", function()
  local n = 0
  for _, c in ipairs(golden("classification.json")) do
    check(metrics.accuracy(c.y_true, c.y_pred), c.accuracy, c.name .. " accuracy")
    local labels = metrics.confusion(c.y_true, c.y_pred).labels
    for _, r in ipairs(c.prf) do
      local o = {average = r.average, pos_label = opt(r.pos_label), labels = opt(r.labels),
                 zero_division = r.zero_division}
      local beta = num(r.beta)
      local fn = metrics.f1
      if beta ~= 1 then fn = function(a, b, oo) oo.beta = beta; return metrics.fbeta(a, b, oo) end end
      local what = string.format("%s average=%s zd=%s beta=%s", c.name, r.average, tostring(r.zero_division), tostring(beta))
      if r.error ~= json_null then
        T.raises(function() fn(c.y_true, c.y_pred, o) end, "metrics.")
      else
        local p, rc, f = metrics.precision(c.y_true, c.y_pred, o), metrics.recall(c.y_true, c.y_pred, o), fn(c.y_true, c.y_pred, o)
        if r.average == "none" then
          local labs = opt(r.labels) or labels
          for k, l in ipairs(labs) do
            check(p[l], r.precision[k], what .. " precision " .. tostring(l))
            check(rc[l], r.recall[k], what .. " recall " .. tostring(l))
            check(f[l], r.fscore[k], what .. " fscore " .. tostring(l))
          end
        else
          check(p, r.precision, what .. " precision")
          check(rc, r.recall, what .. " recall")
          check(f, r.fscore, what .. " fscore")
        end
      end
      n = n + 1
    end
  end
  T.ok(n > 900, "cases checked: " .. n)
end)

T.test("confusion matrices match scikit-learn", function()
  for _, c in ipairs(golden("classification.json")) do
    for _, r in ipairs(c.confusion) do
      local o = {labels = opt(r.labels), normalize = opt(r.normalize)}
      if r.error ~= json_null then
        T.raises(function() metrics.confusion(c.y_true, c.y_pred, o) end, "must occur in y_true")
      else
        local cm = metrics.confusion(c.y_true, c.y_pred, o)
        local m = cm.normalized or cm.matrix
        T.eq(#m, #r.matrix, c.name)
        for i = 1, #m do for j = 1, #m do check(m[i][j], r.matrix[i][j], c.name .. " cell") end end
      end
    end
  end
end)

T.test("metrics.report prints exactly scikit-learn's classification_report", function()
  local n = 0
  for _, c in ipairs(golden("classification.json")) do
    if type(c.y_true[1]) ~= "boolean" then
      for _, r in ipairs(c.report) do
        local rep = metrics.report(c.y_true, c.y_pred, {digits = r.digits, zero_division = r.zero_division,
          labels = opt(r.labels), target_names = opt(r.target_names)})
        -- scikit-learn 1.9 prints supports as "3.0" when no prediction is right; Lathe prints 3
        local want = r.text:gsub("(%d+)%.0\n", "  %1\n")
        T.eq(tostring(rep), want, c.name)
        T.eq(rep.text, want)
        n = n + 1
      end
    end
  end
  T.ok(n > 100)
end)

T.test("report fields hold the numbers", function()
  local r = metrics.report({"cat", "dog", "dog", "bird"}, {"cat", "dog", "cat", "bird"})
  T.eq(r.accuracy, 0.75)
  T.same(r.labels, {"bird", "cat", "dog"})
  T.eq(r.classes.dog.recall, 0.5)
  T.eq(r.classes.dog.support, 2)
  T.near(r.macro.f1, (1 + 2 / 3 + 2 / 3) / 3, 1e-15)
  T.eq(r.weighted.support, 4)
  T.eq(r.micro, nil)
  local r2 = metrics.report({1, 2, 3, 3}, {1, 2, 2, 3}, {labels = {1, 2}})
  T.eq(r2.accuracy, nil)
  T.ok(r2.micro ~= nil and tostring(r2):find("micro avg", 1, true))
end)

T.test("labels: strings, integers, booleans and mixed-type errors", function()
  T.eq(metrics.accuracy({true, false, true}, {true, true, true}), 2 / 3)
  T.eq(metrics.f1({true, false, true}, {true, true, true}), 0.8)  -- pos_label defaults to true
  T.eq(metrics.accuracy({1.0, 2.0}, {1, 2}), 1.0)                  -- integral floats are integers
  T.raises(function() metrics.accuracy({1, "a"}, {1, 1}) end,
    "metrics.accuracy: bad argument #1 'y_true' (labels mix strings and numbers, element 2 is string \"a\")")
  T.raises(function() metrics.accuracy({1, 2}, {"a", "b"}) end, "labels mix strings and numbers (y_true has integers, y_pred has strings)")
  T.raises(function() metrics.accuracy({0.5, 1}, {1, 1}) end, "labels must be integers, strings or booleans, element 1 is number 0.5")
  T.raises(function() metrics.accuracy({{}}, {1}) end, "element 1 is table")
  T.raises(function() metrics.accuracy("abc", {1}) end, "bad argument #1 'y_true' (expected array of labels, tensor or data column, got string \"abc\")")
  -- a class never predicted, a single class
  T.eq(metrics.recall({0, 1, 2}, {0, 1, 1}, {average = "none"})[2], 0.0)
  T.eq(metrics.f1({5, 5, 5}, {5, 5, 5}, {average = "macro"}), 1.0)
end)

T.test("bad input names the function and the argument", function()
  T.raises(function() metrics.f1({1, 0}, {1}) end, "metrics.f1: bad argument #2 'y_pred' (expected 2 labels like y_true, got 1)")
  T.raises(function() metrics.accuracy({}, {}) end, "metrics.accuracy: bad argument #1 'y_true' (expected at least one value, got an empty array)")
  T.raises(function() metrics.precision({1, 0}, {1, 1}, {average = "macr"}) end,
    "metrics.precision: bad option 'average' (expected \"binary\", \"micro\", \"macro\", \"weighted\" or \"none\", got string \"macr\")")
  T.raises(function() metrics.recall({1, 0}, {1, 1}, {avrage = "macro"}) end, "unknown option 'avrage'; did you mean 'average'?")
  T.raises(function() metrics.f1({0, 1, 2}, {0, 1, 1}) end,
    "metrics.f1: the labels have 3 classes but average = \"binary\" needs at most 2")
  T.raises(function() metrics.f1({"a", "b"}, {"a", "a"}) end, "pos_label = 1 is not a valid label (expected one of \"a\", \"b\"; pass the pos_label option)")
  T.raises(function() metrics.f1({1, 0}, {1, 1}, {zero_division = 2}) end, "bad option 'zero_division' (expected \"warn\", 0, 1 or \"nan\", got integer 2)")
  T.raises(function() metrics.roc_auc({0, 1}, {0.5, 0 / 0}) end, "metrics.roc_auc: bad argument #2 'scores' (element 2 is NaN; expected finite numbers)")
  T.raises(function() metrics.fbeta({1, 0}, {1, 1}) end, "metrics.fbeta: missing option 'beta'")
  T.raises(function() metrics.report({1, 0}, {1, 1}, {target_names = {"a"}}) end, "there are 2 classes but 1 target_names")
  T.raises(function() metrics.confusion({1, 0}, {1, 1}, {normalize = "rows"}) end, "bad option 'normalize'")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("zero_division: 0 with a warning by default, or the value asked for", function()
  T.eq(metrics.precision({1, 1}, {0, 0}), 0.0)
  T.eq(metrics.precision({1, 1}, {0, 0}, {zero_division = 1}), 1.0)
  local v = metrics.precision({1, 1}, {0, 0}, {zero_division = "nan"})
  T.ok(v ~= v)
  T.eq(metrics.precision({0, 1, 2}, {0, 0, 0}, {average = "macro", zero_division = "nan"}), 1 / 3)
  local _, err, code = T.lathe("-e 'print(metrics.precision({1, 1}, {0, 0})); print(metrics.precision({1, 1}, {0, 0}))'")
  T.eq(code, 0)
  local _, count = err:gsub("warning: metrics.precision: Precision is ill%-defined and being set to 0.0 due to no predicted samples", "")
  T.eq(count, 1, "warned once: " .. err)
  local _, err2 = T.lathe("-e 'print(metrics.precision({1, 1}, {0, 0}, {zero_division = 0}))'")
  T.eq(err2, "")
end)

T.test("average = none returns a table keyed by label", function()
  local f = metrics.f1({"a", "b", "b"}, {"a", "b", "a"}, {average = "none"})
  T.same(f, {a = 2 / 3, b = 2 / 3})
  local p = metrics.precision({true, false}, {true, true}, {average = "none"})
  T.eq(p[true], 0.5)
  T.eq(p[false], 0.0)
end)

T.test("confusion matrix prints aligned with labels", function()
  local cm = metrics.confusion({"cat", "dog", "dog", "bird"}, {"cat", "cat", "dog", "bird"})
  T.eq(tostring(cm), table.concat({
    "ConfusionMatrix: 3 labels, 4 samples (rows = true, columns = predicted)",
    "true \\ pred  bird  cat  dog",
    "bird            1    0    0",
    "cat             0    1    0",
    "dog             0    1    1"}, "\n"))
  T.eq(#cm, 3)
  T.eq(cm.total, 4)
  T.eq(cm:get("dog", "cat"), 1)
  T.raises(function() cm:get("cow", "cat") end, "bad argument #1 'true_label' (expected one of \"bird\", \"cat\", \"dog\", got string \"cow\")")
  local n = metrics.confusion({1, 1, 0}, {1, 0, 0}, {normalize = "true"})
  T.ok(tostring(n):find("0.50", 1, true))
  T.eq(n.normalized[2][1], 0.5)
end)

-- ---------------------------------------------------------------------------------------------
-- Scores and probabilities

T.test("roc_auc and average_precision match scikit-learn", function()
  local g = golden("ranking.json")
  for _, c in ipairs(g.roc_auc) do
    check(metrics.roc_auc(c.y_true, c.scores), c.value, c.name)
  end
  for _, c in ipairs(g.average_precision) do
    local o = {pos_label = opt(c.pos_label)}
    if c.error ~= json_null then
      T.raises(function() metrics.average_precision(c.y_true, c.scores, o) end, "pos_label")
    else
      check(metrics.average_precision(c.y_true, c.scores, o), c.value, c.name)
    end
  end
end)

T.test("log_loss and ece match scikit-learn and the NumPy reference", function()
  local g = golden("ranking.json")
  for _, c in ipairs(g.log_loss) do
    local o = {labels = opt(c.labels)}
    if c.error ~= json_null then
      T.raises(function() metrics.log_loss(c.y_true, c.proba, o) end, "metrics.log_loss")
    else
      check(metrics.log_loss(c.y_true, c.proba, o), c.value, c.name)
    end
  end
  for _, c in ipairs(g.ece) do
    local e, bins = metrics.ece(c.y_true, c.proba, {labels = opt(c.labels), bins = c.bins})
    check(e, c.value, c.name .. " ece", 1e-12)
    T.eq(#bins, c.bins)
    for k, b in ipairs(c.per_bin) do T.eq(bins[k].count, b.count) end
  end
end)

T.test("ROC-AUC with one class is NaN with a warning, as in scikit-learn", function()
  local out, err = T.lathe("-e 'local v = metrics.roc_auc({1, 1}, {0.2, 0.9}) print(v ~= v)'")
  T.eq(out, "true\n")
  T.ok(err:find("warning: metrics.roc_auc: Only one class is present in y_true", 1, true), err)
end)

-- ---------------------------------------------------------------------------------------------
-- Text

local function streams(refs)
  local out = {}
  for s, stream in ipairs(refs) do
    out[s] = {}
    for i, r in ipairs(stream) do
      if r == json_null then out[s][i] = false else out[s][i] = r end
    end
  end
  return out
end

T.test("BLEU matches sacrebleu (corpus, sentence, every smoothing, signature)", function()
  local g = golden("bleu.json")
  for _, c in ipairs(g.corpus) do
    local o = {}
    for k, v in pairs(c.options) do o[k] = v end
    local r = metrics.bleu(c.hyps, streams(c.refs), o)
    check(r.score, c.score, c.name .. " score")
    check(r.bp, c.bp, c.name .. " bp")
    for k = 1, #c.precisions do
      check(r.precisions[k], c.precisions[k], c.name .. " precision")
      check(r.counts[k], c.counts[k], c.name .. " counts")
      check(r.totals[k], c.totals[k], c.name .. " totals")
    end
    T.eq(r.sys_len, c.sys_len)
    T.eq(r.ref_len, c.ref_len)
    T.eq(r.signature, c.signature, c.name)
    T.eq(tostring(r), c.text, c.name)
  end
  for _, c in ipairs(g.sentence) do
    local r = metrics.sentence_bleu(c.hyp, c.refs, {smooth_method = c.smooth_method})
    check(r.score, c.score, c.hyp .. " " .. c.smooth_method)
  end
end)

T.test("chrF and chrF++ match sacrebleu", function()
  local g = golden("chrf.json")
  for _, c in ipairs(g.corpus) do
    local r = metrics.chrf(c.hyps, streams(c.refs), c.options)
    check(r.score, c.score, c.name)
    T.eq(r.signature, c.signature)
    T.eq(r.name, c.name_)
    T.eq(tostring(r), c.text)
  end
  for _, c in ipairs(g.sentence) do
    check(metrics.sentence_chrf(c.hyp, c.refs, {word_order = c.word_order}).score, c.score, c.hyp)
  end
end)

T.test("ROUGE matches rouge-score (with and without stemming, Lsum, several references)", function()
  local g = golden("rouge.json")
  local types = {"rouge1", "rouge2", "rougeL", "rougeLsum"}
  for _, c in ipairs(g.pairs) do
    local r = metrics.rouge(c.prediction, c.target, {stem = c.stem})
    for _, t in ipairs(types) do
      local w = c.scores[t]
      check(r[t].precision, w[1], t .. " " .. c.target)
      check(r[t].recall, w[2], t)
      check(r[t].fmeasure, w[3], t)
    end
  end
  for _, c in ipairs(g.multi) do
    local r = metrics.rouge({c.prediction}, {c.targets}, {stem = c.stem})
    for _, t in ipairs(types) do check(r[t].fmeasure, c.scores[t][3], "multi " .. t) end
  end
  for _, c in ipairs(g.corpus) do
    local r = metrics.rouge(c.predictions, c.references, {stem = c.stem, per_item = true})
    T.eq(#r.items, #c.predictions)
    for _, t in ipairs(types) do
      for k = 1, 3 do check(r[t][({"precision", "recall", "fmeasure"})[k]], c.mean[t][k], "corpus " .. t) end
    end
  end
end)

T.test("exact match, token F1, WER and CER match the references", function()
  local g = golden("text.json")
  local preds, refs, em, f1 = {}, {}, 0, 0
  for _, c in ipairs(g.squad) do
    check(metrics.exact_match(c.prediction, c.references), c.exact_match, c.prediction)
    check(metrics.token_f1(c.prediction, c.references), c.f1, c.prediction)
    preds[#preds + 1] = c.prediction
    refs[#refs + 1] = c.references
    em = em + c.exact_match
    f1 = f1 + c.f1
  end
  check(metrics.exact_match(preds, refs), em / #preds, "mean EM", 1e-12)
  check(metrics.token_f1(preds, refs), f1 / #preds, "mean F1", 1e-12)
  for _, c in ipairs(g.error_rates) do
    check(metrics.wer(c.predictions, c.references), c.wer, c.name .. " wer")
    check(metrics.cer(c.predictions, c.references), c.cer, c.name .. " cer")
  end
end)

T.test("text metrics: shapes, empty predictions and errors", function()
  T.eq(metrics.exact_match({"", "x"}, {"", "y"}), 0.5)
  T.eq(metrics.token_f1({""}, {"answer"}), 0.0)
  local r = metrics.bleu({"", ""}, {{"a b c", "d e"}})
  T.eq(r.score, 0.0)
  T.eq(r.bp, 0.0)
  T.raises(function() metrics.bleu("the cat", {{"the cat"}}) end, "use metrics.sentence_bleu(hyp, {ref, ...}) for one sentence")
  T.raises(function() metrics.bleu({"a", "b"}, {"a", "b"}) end, "got a string: wrap your references as {refs}")
  T.raises(function() metrics.bleu({"a", "b"}, {{"a"}}) end,
    "metrics.bleu: bad argument #2 'refs' (reference stream 1 has 1 segments but there are 2 hypotheses)")
  T.raises(function() metrics.bleu({"a"}, {{"a"}}, {smooth_method = "expo"}) end, "bad option 'smooth_method'")
  T.raises(function() metrics.bleu({"a"}, {{"a"}}, {tokenize = "intl"}) end, "bad option 'tokenize'")
  T.raises(function() metrics.bleu({}, {{}}) end, "bad argument #1 'hyps' (expected at least one value")
  T.raises(function() metrics.rouge({"a"}, {"a", "b"}) end, "metrics.rouge: bad argument #2 'refs' (expected 1 references like preds, got 2)")
  T.raises(function() metrics.rouge({"a"}, {"a"}, {types = {"rougeX"}}) end, "unknown ROUGE type \"rougeX\"")
  T.raises(function() metrics.wer({""}, {""}) end, "every reference is empty")
  T.raises(function() metrics.exact_match({1}, {"a"}) end, "bad argument #1 'preds' (expected an array of strings, element 1 is integer 1)")
  -- variable number of references: false marks a missing one
  local v = metrics.bleu({"a b c d", "e f g h"}, {{"a b c d", "e f g h"}, {"a b c x", false}})
  T.ok(v.signature:find("nrefs:var", 1, true))
  T.near(metrics.sentence_bleu("the cat", {"the cat"}).score, 100.0, 1e-12)
end)

T.test("perplexity is exp of the mean loss in nats", function()
  T.near(metrics.perplexity(2.0), math.exp(2.0), 1e-15)
  T.near(metrics.perplexity({1.0, 3.0}), math.exp(2.0), 1e-15)
  T.near(metrics.perplexity({2.1, 1.9}, {tokens = {100, 300}}), math.exp((210 + 570) / 400), 1e-15)
  T.raises(function() metrics.perplexity({}) end, "no losses given")
  T.raises(function() metrics.perplexity({0 / 0}) end, "loss 1 is NaN")
  T.raises(function() metrics.perplexity({1, 2}, {tokens = {1}}) end, "2 losses but 1 token counts")
end)

-- ---------------------------------------------------------------------------------------------
-- Bootstrap and paired tests

local function make(n, acc, seed)
  -- labels and predictions right with probability acc (a fixed LCG, no global state)
  local y, p = {}, {}
  local x = seed
  for i = 1, n do
    x = (1103515245 * x + 12345) % 2147483648
    y[i] = x % 2
    x = (1103515245 * x + 12345) % 2147483648
    p[i] = (x / 2147483648 < acc) and y[i] or 1 - y[i]
  end
  return y, p
end

T.test("bootstrap: the interval contains the estimate, is deterministic with a seed, narrows with n", function()
  local y, p = make(400, 0.8, 3)
  local a = metrics.bootstrap("accuracy", y, p, {n = 300, seed = 5})
  local b = metrics.bootstrap("accuracy", y, p, {n = 300, seed = 5})
  T.eq(a.score, metrics.accuracy(y, p))
  T.ok(a.low <= a.score and a.score <= a.high, tostring(a))
  T.eq(a.low, b.low)
  T.eq(a.high, b.high)
  local c = metrics.bootstrap("accuracy", y, p, {n = 300, seed = 6})
  T.ok(c.low ~= a.low or c.high ~= a.high, "another seed gives other draws")
  -- roughly +-1.96 sqrt(p(1-p)/n)
  local se = math.sqrt(a.score * (1 - a.score) / 400)
  T.ok(math.abs((a.high - a.low) - 2 * 1.96 * se) < 0.35 * 2 * 1.96 * se, "width " .. (a.high - a.low))
  local y2, p2 = make(40, 0.8, 3)
  local small = metrics.bootstrap("accuracy", y2, p2, {n = 300, seed = 5})
  T.ok(small.high - small.low > a.high - a.low)
  -- the global seed drives it when no seed is given
  lathe.seed(11)
  local g1 = metrics.bootstrap("f1", y, p, {n = 100})
  lathe.seed(11)
  local g2 = metrics.bootstrap("f1", y, p, {n = 100})
  T.eq(g1.low, g2.low)
end)

T.test("bootstrap: any metric, by name or as a function", function()
  local y, p = make(60, 0.7, 9)
  local fn = metrics.bootstrap(function(t, q) return metrics.accuracy(t, q) end, y, p, {n = 100, seed = 1})
  local named = metrics.bootstrap("accuracy", y, p, {n = 100, seed = 1})
  T.eq(fn.score, named.score)
  T.near(fn.low, named.low, 1e-12)
  T.near(fn.high, named.high, 1e-12)
  local f1 = metrics.bootstrap("f1", {"a", "b", "a", "b"}, {"a", "b", "b", "b"}, {average = "macro", n = 50, seed = 2})
  T.near(f1.score, metrics.f1({"a", "b", "a", "b"}, {"a", "b", "b", "b"}, {average = "macro"}), 1e-15)
  local hyps = {"the cat sat", "a dog barked", "hello world", "good morning"}
  local refs = {"the cat sat down", "the dog barked", "hello there world", "good morning"}
  local bl = metrics.bootstrap("bleu", refs, hyps, {n = 50, seed = 3})
  T.near(bl.score, metrics.bleu(hyps, {refs}).score, 1e-12)
  T.ok(bl.low <= bl.score and bl.score <= bl.high)
  local rl = metrics.bootstrap("rougeL", refs, hyps, {n = 50, seed = 3})
  T.near(rl.score, metrics.rouge(hyps, refs).rougeL.fmeasure, 1e-12)
  local w = metrics.bootstrap("wer", refs, hyps, {n = 50, seed = 3})
  T.near(w.score, metrics.wer(hyps, refs), 1e-15)
  T.raises(function() metrics.bootstrap("acuracy", y, p) end, "unknown metric \"acuracy\"; did you mean \"accuracy\"?")
  T.raises(function() metrics.bootstrap("accuracy", y, p, {ci = 1.5}) end, "bad option 'ci'")
  T.raises(function() metrics.bootstrap(function() return "x" end, y, p, {n = 3}) end, "must return a number, got string \"x\"")
  T.raises(function() metrics.bootstrap(function() error("boom") end, y, p, {n = 3}) end, "boom")
  T.eq(lathe.swift_depth(), 0)
end)

T.test("paired tests: identical systems give p = 1, a clearly better system a small p", function()
  local y, a = make(300, 0.6, 21)
  for _, method in ipairs({"bootstrap", "permutation"}) do
    local same = metrics.paired_test(y, a, a, {method = method, n = 200, seed = 1})
    T.eq(same.p_value, 1.0, method)
    T.eq(same.delta, 0.0)
    local _, b = make(300, 0.9, 22)
    -- b: same labels y, right 90% of the time
    local yb, pb = {}, {}
    local x = 77
    for i = 1, #y do
      x = (1103515245 * x + 12345) % 2147483648
      pb[i] = (x / 2147483648 < 0.9) and y[i] or 1 - y[i]
    end
    local t = metrics.paired_test(y, a, pb, {method = method, n = 500, seed = 2})
    T.ok(t.delta > 0.2, tostring(t))
    T.ok(t.p_value < 0.01, tostring(t))
    local g = metrics.paired_test(y, a, pb, {method = method, n = 500, seed = 2, alternative = "greater"})
    T.ok(g.p_value < 0.01)
    local l = metrics.paired_test(y, a, pb, {method = method, n = 500, seed = 2, alternative = "less"})
    T.ok(l.p_value > 0.9, tostring(l))
    local again = metrics.paired_test(y, a, pb, {method = method, n = 500, seed = 2})
    T.eq(again.p_value, t.p_value)
  end
  local t = metrics.paired_test(y, a, a, {metric = function(p, q) return metrics.accuracy(p, q) end, n = 20, seed = 1})
  T.eq(t.p_value, 1.0)
  T.raises(function() metrics.paired_test(y, a, a, {method = "anova"}) end, "bad option 'method'")
  T.raises(function() metrics.paired_test(y, a, {1}, {}) end, "bad argument #3 'pred_b' (expected 300 labels like y_true, got 1)")
end)

T.test("paired test on text metrics", function()
  local refs = {"the cat sat on the mat", "a quick brown fox", "hello world again", "good morning to you", "see you later"}
  local good = {"the cat sat on the mat", "a quick brown fox", "hello world again", "good morning to you", "see you later"}
  local bad = {"cat mat", "fox", "world", "morning", "later"}
  local t = metrics.paired_test(refs, bad, good, {metric = "bleu", n = 200, seed = 4})
  T.ok(t.a < t.b)
  T.near(t.b, 100.0, 1e-9)
  local t2 = metrics.paired_test(refs, bad, good, {metric = "rouge1", stem = true, method = "permutation", n = 200, seed = 4})
  T.ok(t2.delta > 0.5)
end)

-- ---------------------------------------------------------------------------------------------
-- Slices, drift, errors, bench

T.test("slices: a metric per group and the largest gap", function()
  local groups = {"north", "north", "south", "south", "south", "east"}
  local s = metrics.slices(groups, {1, 0, 1, 1, 0, 1}, {1, 0, 0, 1, 1, 0})
  T.eq(#s, 3)
  T.eq(s.groups[1].group, "east")
  T.eq(s.groups[1].score, 0.0)
  T.eq(s.groups[2].score, 1.0)
  T.near(s.groups[3].score, 1 / 3, 1e-15)
  T.eq(s.gap, 1.0)
  T.eq(s.worst, "east")
  T.eq(s.best, "north")
  T.eq(s.overall, 0.5)
  local s2 = metrics.slices(groups, {1, 0, 1, 1, 0, 1}, {1, 0, 0, 1, 1, 0}, {min_size = 2})
  T.near(s2.gap, 2 / 3, 1e-15)
  T.ok(tostring(s2):find("fewer than 2 items", 1, true))
  local s3 = metrics.slices({1, 1, 2, 2}, {"a", "b", "a", "b"}, {"a", "b", "b", "b"}, {metric = "f1", average = "macro"})
  T.eq(s3.groups[1].score, 1.0)
  T.raises(function() metrics.slices({1}, {1, 0}, {1, 0}) end, "bad argument #1 'groups' (expected 2 groups like y_true, got 1)")
end)

T.test("KS test, JS distance and PSI match SciPy and the NumPy reference", function()
  local g = golden("drift.json")
  local function lcg(seed, n, shift)
    local x, out = seed, {}
    for i = 1, n do
      local s = 0.0
      for _ = 1, 3 do
        x = (1103515245 * x + 12345) % 2147483648
        s = s + x / 2147483648.0
      end
      out[i] = s / 3 + shift
    end
    return out
  end
  for _, c in ipairs(g.ks) do
    local a, b = c.a, c.b
    if c.generate then
      a = lcg(c.generate.a[1], c.generate.a[2], c.generate.a[3])
      if c.generate.quantiles then
        local q, sorted = c.generate.quantiles, {}
        for i, v in ipairs(a) do sorted[i] = v end
        table.sort(sorted)
        b = {}
        for k = 1, q do b[k] = sorted[math.floor((k - 0.2) / q * #a) + 1] end
      else
        b = lcg(c.generate.b[1], c.generate.b[2], c.generate.b[3])
      end
    end
    local r = metrics.ks(a, b)
    check(r.statistic, c.statistic, c.name .. " D")
    local want = num(c.pvalue)
    T.ok(close(r.p_value, want, 1e-9) or math.abs(r.p_value - want) < 1e-15, c.name .. " p " .. r.p_value .. " vs " .. want)
  end
  for _, c in ipairs(g.js) do
    check(metrics.js(c.p, c.q), c.base_e, "js")
    check(metrics.js(c.p, c.q, {base = 2}), c.base_2, "js base 2")
  end
  for _, c in ipairs(g.psi) do
    local v = metrics.psi(c.expected, c.actual, {bins = c.bins})
    check(v, c.psi, c.name)
  end
  for _, c in ipairs(g.categorical) do
    check(metrics.psi(c.expected, c.actual), c.psi, "categorical psi")
    check(metrics.js(c.expected, c.actual, {base = 2}), c.js_base2, "categorical js")
  end
end)

T.test("drift report over rows or columns", function()
  local ref = {age = {31, 45, 28, 39, 50, 33}, plan = {"pro", "free", "free", "pro", "free", "free"},
               note = {"the app is great", "too slow on my phone", "love the new dashboard", "the export is broken",
                       "great support team today", "pricing is fine"}}
  local cur = {age = {52, 61, 51, 58, 57, 66}, plan = {"pro", "pro", "pro", "free", "pro", "pro"},
               note = {"the app crashes at login", "login broken again", "cannot login today", "great app",
                       "login page is blank", "crashes every morning"}}
  local d = metrics.drift(ref, cur)
  T.eq(#d, 3)
  local cols = {}
  for _, c in ipairs(d.columns) do cols[c.column] = c end
  T.eq(cols.age.kind, "numeric")
  T.eq(cols.age.ks, 1.0)
  T.ok(cols.age.psi > 0.25)
  T.eq(cols.plan.kind, "categorical")
  T.near(cols.plan.js, metrics.js({"pro", "free", "free", "pro", "free", "free"}, {"pro", "pro", "pro", "free", "pro", "pro"}, {base = 2}), 1e-12)
  T.eq(cols.note.kind, "text")
  T.ok(cols.note.oov > 0.3)
  T.ok(tostring(d):find("DriftReport: 3 columns, 6 reference rows, 6 current rows", 1, true))
  -- rows work the same
  local rows_ref, rows_cur = {}, {}
  for i = 1, 6 do
    rows_ref[i] = {age = ref.age[i], plan = ref.plan[i]}
    rows_cur[i] = {age = cur.age[i], plan = cur.plan[i]}
  end
  local d2 = metrics.drift(rows_ref, rows_cur, {columns = {"plan", "age"}})
  T.eq(d2.columns[1].column, "plan")
  T.eq(d2.columns[2].psi, cols.age.psi)
  T.raises(function() metrics.drift(rows_ref, rows_cur, {columns = {"zip"}}) end, "column 'zip' is not in the reference data")
  T.raises(function() metrics.drift({{a = 1}}, {{a = "x"}}) end, "column 'a' is numeric in the reference data but categorical in the current data")
  local r = metrics.oov_rate({"the cat sat", "the dog ran"}, {"the cat flew", "a bird sang"})
  T.eq(r.rate, 4 / 6)
  T.eq(r.oov, 4)
  T.eq(r.vocabulary, 5)
  T.same(r.top[1], {"flew", 1})
end)

T.test("errors returns the misclassified rows with both labels", function()
  local rows = {{text = "great", id = 1}, {text = "awful", id = 2}, {text = "fine", id = 3}, {text = "meh", id = 4}}
  local e = metrics.errors(rows, {"pos", "neg", "pos", "neg"}, {"pos", "pos", "neg", "neg"})
  T.eq(#e, 2)
  T.same(e[1], {text = "awful", id = 2, row = 2, y_true = "neg", y_pred = "pos"})
  T.same(e[2], {text = "fine", id = 3, row = 3, y_true = "pos", y_pred = "neg"})
  T.eq(rows[2].y_true, nil, "the input rows are not changed")
  T.eq(tostring(e), table.concat({"MetricsErrors: 2 misclassified rows",
    "row  y_true  y_pred  id  text", "2    neg     pos     2   awful", "3    pos     neg     3   fine"}, "\n"))
  -- field names, strings as rows, limit
  local labeled = {{t = "a", gold = 1, pred = 1}, {t = "b", gold = 0, pred = 1}}
  T.eq(metrics.errors(labeled, "gold", "pred")[1].t, "b")
  local s = metrics.errors({"x", "y", "z"}, {1, 2, 3}, {1, 0, 0}, {limit = 1})
  T.eq(#s, 1)
  T.same(s[1], {text = "y", row = 2, y_true = 2, y_pred = 0})
  T.eq(#metrics.errors({"x"}, {1}, {1}), 0)
  T.raises(function() metrics.errors(labeled, "gold", "prediction") end, "bad argument #3 'y_pred' (row 1 has no field 'prediction')")
  T.raises(function() metrics.errors(labeled, {1}, {1, 2}) end, "bad argument #2 'y_true' (expected 2 labels like rows, got 1)")
  T.raises(function() metrics.errors({1, 2}, {1, 2}, {1, 2}) end, "bad argument #1 'rows' (expected row tables or strings, element 1 is integer 1)")
end)

T.test("bench reports latency percentiles and throughput", function()
  local calls = 0
  local r = metrics.bench(function() calls = calls + 1 end, {warmup = 3, runs = 50, batch = 8})
  T.eq(calls, 53)
  T.eq(r.runs, 50)
  T.eq(r.batch, 8)
  T.eq(r.unit, "ms")
  T.ok(r.min <= r.p50 and r.p50 <= r.p90 and r.p90 <= r.p99 and r.p99 <= r.max)
  T.ok(r.items_per_sec > 0)
  T.ok(tostring(r):find("items/s (50 runs, batch 8)", 1, true))
  T.raises(function() metrics.bench(function() error("slow path failed") end, {runs = 2, warmup = 0}) end, "slow path failed")
  T.raises(function() metrics.bench(42) end, "bad argument #1 'fn' (expected function, got integer 42)")
  T.raises(function() metrics.bench(print, {runs = 0}) end, "bad option 'runs'")
  local n = 0
  local r2 = metrics.bench(function() n = n + 1; local t = os.clock() while os.clock() - t < 0.002 do end end,
    {warmup = 0, runs = 1000, max_seconds = 0.05})
  T.ok(r2.runs < 1000 and r2.runs >= 1, "stopped early: " .. r2.runs)
end)

T.test("no Swift frame is skipped by failing metrics calls", function()
  for i = 1, 100 do
    pcall(metrics.f1, {1}, {1, 2})
    pcall(metrics.bleu, {"a"}, "x")
    pcall(metrics.bootstrap, function() error("x") end, {1}, {1}, {n = 2})
    pcall(metrics.errors, {{a = 1}}, "b", "c")
  end
  T.eq(lathe.swift_depth(), 0)
end)

T.test("metrics.errors takes a data table and its column names", function()
  local t = data.from{text = {"great", "awful", "fine"}, label = {"pos", "neg", "pos"}, pred = {"pos", "pos", "neg"}}
  local e = metrics.errors(t, "label", "pred")
  T.eq(#e, 2)
  T.eq(e[1].row, 2)
  T.eq(e[1].text, "awful")
  T.eq(e[1].y_true, "neg")
  T.eq(e[2].y_pred, "neg")
end)

T.test("labels, numbers and texts: arrays, tensors and data table columns alike", function()
  local t = data.from{label = {1, 0, 1, 1}, pred = {1, 1, 1, 0}, score = {0.9, 0.4, 0.35, 0.8},
                      hyp = {"the cat sat", "a dog", "hello", "good day"}, ref = {"the cat sat down", "the dog", "hello", "good morning"}}
  T.eq(metrics.accuracy(t:column("label"), t:column("pred")), metrics.accuracy({1, 0, 1, 1}, {1, 1, 1, 0}))
  T.eq(metrics.roc_auc(t:column("label"), t:column("score")), metrics.roc_auc({1, 0, 1, 1}, {0.9, 0.4, 0.35, 0.8}))
  T.eq(metrics.roc_auc(t:column("label"), t:column("score", {tensor = true})),
       metrics.roc_auc({1, 0, 1, 1}, t:column("score", {tensor = true})))
  T.eq(metrics.bleu(t:column("hyp"), {t:column("ref")}).score, metrics.bleu({"the cat sat", "a dog", "hello", "good day"},
       {{"the cat sat down", "the dog", "hello", "good morning"}}).score)
  T.eq(metrics.wer(t:column("hyp"), t:column("ref")), metrics.wer({"the cat sat", "a dog", "hello", "good day"},
       {"the cat sat down", "the dog", "hello", "good morning"}))
  local b = metrics.bootstrap("bleu", t:column("ref"), t:column("hyp"), {n = 20, seed = 1})
  T.near(b.score, metrics.bleu(t:column("hyp"), {t:column("ref")}).score, 1e-12)
  -- a missing value is named, as any bad element
  local m = data.from{y = {1, data.NA, 0}}
  T.raises(function() metrics.accuracy(m:column("y"), {1, 1, 0}) end,
    "metrics.accuracy: bad argument #1 'y_true' (labels must be integers, strings or booleans, element 2 is NA)")
  T.raises(function() metrics.f1({1, 0}, {1, 0}, {labels = {0.5}}) end,
    "bad option 'labels' (labels must be integers, strings or booleans, element 1 is number 0.5)")
end)

T.test("drift takes data tables as it takes rows and columns", function()
  local ref = data.from{age = {31, 45, 28, 39}, plan = {"pro", "free", "free", "pro"}}
  local cur = data.from{age = {52, 61, 51, data.NA}, plan = {"pro", "pro", "pro", "free"}}
  local d = metrics.drift(ref, cur)
  local rows = metrics.drift({{age = 31, plan = "pro"}, {age = 45, plan = "free"}, {age = 28, plan = "free"}, {age = 39, plan = "pro"}},
                             {age = {52, 61, 51}, plan = {"pro", "pro", "pro", "free"}})
  T.eq(#d, 2)
  T.eq(d.current_rows, 4)
  for k = 1, 2 do
    T.eq(d.columns[k].column, rows.columns[k].column)
    T.eq(d.columns[k].kind, rows.columns[k].kind)
    T.eq(d.columns[k].psi, rows.columns[k].psi)
  end
  T.eq(d.columns[1].ks, 1.0)
  T.raises(function() metrics.drift(ref, 42) end, "bad argument #2 'current' (expected DataTable, array of row tables or table of columns, got integer 42)")
end)

T.test("results print readably with plain print()", function()
  local out = T.lathe([[-e 'print(metrics.rouge({"the cat"}, {"the cat sat"}))
local _, d = metrics.wer({"a b"}, {"a c"}) print(d)
local _, p = metrics.psi({1, 2, 3}, {2, 3, 4}, {bins = 2}) print(p)
print(metrics.ks({1, 2, 3}, {2, 3, 4}))
print(metrics.oov_rate({"a b"}, {"a c"}))']])
  for _, want in ipairs({"ROUGE {", "rouge1    = {", "ErrorRate {edits = 1, items = {0.5}, words = 2}", "PSI {", "KSTest {", "OOV {"}) do
    T.ok(out:find(want, 1, true), want .. " in:\n" .. out)
  end
  T.ok(not out:find("table: 0x", 1, true), out)
end)

T.test("options are declared: help lists them, unknown ones name the nearest", function()
  local y, p = {1, 0, 1}, {1, 1, 1}
  T.raises(function() metrics.bootstrap("accuracy", y, p, {seeds = 1}) end, "unknown option 'seeds'; did you mean 'seed'?")
  T.raises(function() metrics.bootstrap("accuracy", y, p, {random_state = 1}) end, "Lathe calls it 'seed'")
  T.raises(function() metrics.report(y, p, {digits = 20}) end, "bad option 'digits' (expected integer in 0..15, got integer 20)")
  T.raises(function() metrics.bench(print, {max_seconds = 0}) end, "bad option 'max_seconds' (expected number > 0, got integer 0)")
  local h = lathe.capture(help, "metrics.paired_test")
  for _, o in ipairs({"method", "alternative", "n", "ci", "seed", "average", "pos_label", "beta", "stem", "lowercase"}) do
    T.ok(h:find("\n    " .. o .. " (", 1, true), o .. " in:\n" .. h)
  end
end)
