-- lora.check_peft: does PEFT, in Python, give the outputs Lathe gives for a saved adapter?
-- Loaded on first use (see init.lua).

local PYTHON_CHECK = [==[
# Written by Lathe's lora.check_peft: the base model with the adapter through PEFT, on the
# token ids Lathe used, outputs compared with Lathe's.
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import torch
import transformers
from peft import PeftModel
from safetensors.numpy import load_file
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

base, adapter, data = sys.argv[1], sys.argv[2], sys.argv[3]
transformers.logging.set_verbosity_error()  # the base's fresh head note: the adapter brings the trained one
task = json.load(open(os.path.join(adapter, "adapter_config.json"))).get("task_type")
t = load_file(data)
rows = sorted({int(k.split("_")[1]) for k in t})
kw = {"dtype": torch.float32, "attn_implementation": "eager"}
if base.endswith(".gguf"):
    kw["gguf_file"], base = os.path.basename(base), os.path.dirname(base)
if task == "SEQ_CLS":
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=int(t["out_1"].shape[-1]), **kw)
    cls = "AutoModelForSequenceClassification"
elif task == "CAUSAL_LM":
    model, cls = AutoModelForCausalLM.from_pretrained(base, **kw), "AutoModelForCausalLM"
else:
    model, cls = AutoModel.from_pretrained(base, **kw), "AutoModel"
model = PeftModel.from_pretrained(model, adapter).eval()
worst, largest = 0.0, 0.0
with torch.no_grad():
    for r in rows:
        args = {"input_ids": torch.from_numpy(t[f"ids_{r}"].astype(np.int64))}
        if f"mask_{r}" in t:
            args["attention_mask"] = torch.from_numpy(t[f"mask_{r}"].astype(np.int64))
        o = model(**args)
        got = (o.logits if getattr(o, "logits", None) is not None else o.last_hidden_state).numpy()
        ref = t[f"out_{r}"]
        if got.shape != ref.shape:
            sys.exit(f"row {r}: PEFT's output has shape {got.shape}, Lathe's {ref.shape}")
        d = np.abs(got - ref)
        worst = max(worst, float(np.nanmax(d)) if np.isfinite(d).all() else float("inf"))
        largest = max(largest, float(np.abs(ref).max()))
print(json.dumps({"max_difference": worst, "largest_output": largest, "rows": len(rows), "model_class": cls, "task_type": task}))
]==]

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- the inputs as rows of token ids (and masks): one padded batch for encoders, one text per row
-- for decoders (no padding, whose handling differs between libraries)
local function encode(model, inputs, decoder, max_length)
  local rows = {}
  if type(inputs) == "table" and inputs.ids ~= nil then
    rows[1] = {ids = inputs.ids, mask = inputs.mask}
    return rows
  end
  local tok = model.tokenizer
  if tok == nil then error("lora.check_peft: bad argument #3 'inputs' (texts need the model's tokenizer; this model has none: give {ids =, mask =})", 3) end
  if decoder then
    for i, text in ipairs(inputs) do
      local ids = tok:encode(text)
      if max_length and #ids > max_length then ids = {table.unpack(ids, 1, max_length)} end
      rows[i] = {ids = tensor.from({ids}):long()}
    end
  else
    local ids, mask = tok:encode_batch(inputs, {max_length = max_length, padding = "longest", truncation = true})
    rows[1] = {ids = ids, mask = mask}
  end
  return rows
end

local function check_peft(model, dir, inputs, opts)
  opts = opts or {}
  if type(dir) ~= "string" then error("lora.check_peft: bad argument #2 'dir' (expected string, got " .. type(dir) .. ")", 2) end
  if type(inputs) ~= "table" or (inputs.ids == nil and #inputs == 0) then
    error("lora.check_peft: bad argument #3 'inputs' (expected a non-empty array of texts or {ids =, mask =})", 2)
  end
  for k in pairs(opts) do
    if k ~= "base" and k ~= "python" and k ~= "tolerance" and k ~= "max_length" then
      error("lora.check_peft: unknown option '" .. tostring(k) .. "' (options: base, python, tolerance, max_length)", 2)
    end
  end
  local config_text = read_file(dir .. "/adapter_config.json")
  if not config_text then error("lora.check_peft: " .. dir .. "/adapter_config.json not found (save the adapter with lora.save first)", 2) end
  local config = json.decode(config_text)
  local base = opts.base or hf.info(model).source
  if base == nil or base == "" then error("lora.check_peft: the model was not loaded from files: give {base = path of the base model}", 2) end
  local python = opts.python or "python3"
  if not os.execute(python .. " -c 'import peft, transformers, torch, safetensors' >/dev/null 2>&1") then
    return nil, python .. " with peft, transformers, torch and safetensors was not found (pip install -r scripts/requirements-test.txt)"
  end
  local decoder = config.task_type == "CAUSAL_LM"
  local rows = encode(model, inputs, decoder, opts.max_length)
  -- Lathe's outputs, in eval mode (dropout off), restored afterwards
  local was_training = model:is_training()
  model:eval()
  local tensors = {}
  local ok, err = pcall(function()
    for i, r in ipairs(rows) do
      local out = tensor.no_grad(function() if r.mask then return model(r.ids, r.mask) else return model(r.ids) end end)
      tensors["ids_" .. i], tensors["out_" .. i] = r.ids:long(), out:float()
      if r.mask then tensors["mask_" .. i] = r.mask:long() end
    end
  end)
  if was_training then model:train() end
  if not ok then error(err, 0) end
  local tmp = os.tmpname()
  local data_path, script_path = tmp .. ".safetensors", tmp .. ".py"
  local function cleanup() os.remove(tmp); os.remove(data_path); os.remove(script_path) end
  tensor.save(data_path, tensors)
  local f = assert(io.open(script_path, "w"))
  f:write(PYTHON_CHECK)
  f:close()
  local p = io.popen(string.format("%s %s %s %s %s 2>&1", python, shell_quote(script_path), shell_quote(base), shell_quote(dir), shell_quote(data_path)))
  local text = p:read("a")
  local closed = p:close()
  cleanup()
  local line = text:match("(%b{})%s*$")
  if not closed or not line then error("lora.check_peft: the Python check failed:\n" .. text, 2) end
  local r = json.decode(line)
  -- float32 sums in another order: the bound is the tolerance or 1e-5 of the largest output
  local bound = math.max(opts.tolerance or 1e-4, 1e-5 * r.largest_output)
  return setmetatable({
    passed = r.max_difference <= bound,
    max_difference = r.max_difference,
    bound = bound,
    inputs = inputs.ids ~= nil and inputs.ids:size(1) or #inputs,
    model_class = r.model_class,
    task_type = r.task_type,
  }, {__tostring = function(s)
    return string.format("PEFT check %s: PeftModel.from_pretrained (%s) on %d inputs, max output difference %.1e (bound %.1e)",
      s.passed and "passed" or "FAILED", s.model_class, s.inputs, s.max_difference, s.bound)
  end})
end

lora.check_peft = check_peft
lathe.doc(check_peft, "lora.check_peft", {
  summary = "Checks in Python that PEFT gives Lathe's outputs for an adapter saved by lora.save.",
  signature = "lora.check_peft(model, dir, inputs [, {base=, max_length=, tolerance = 1e-4, python = \"python3\"}]) -> result or nil, reason",
  details = [[Runs the model on the inputs, then has Python load the base model with transformers (the class
adapter_config.json's task_type names: SEQ_CLS -> AutoModelForSequenceClassification, CAUSAL_LM ->
AutoModelForCausalLM, else AutoModel), put the adapter on it with PeftModel.from_pretrained and
run it on the same token ids. inputs: texts (encoded with model.tokenizer: one padded batch for
encoders, one text at a time for decoders) or {ids =, mask =} tensors. base: the base model's
folder or .gguf file (default: where the model was loaded from). passed is true when the largest
difference is within the tolerance or 1e-5 of the largest output, whichever is larger.]],
  returns = "{passed, max_difference, bound, inputs, model_class, task_type} (prints as one line), or nil and the reason when python3 lacks peft, transformers, torch or safetensors",
  errors = "dir without adapter_config.json; empty inputs; a model not loaded from files without base; the Python side failing.",
  example = [[local d = os.tmpname()
os.remove(d)
local m = nn.mlp{sizes = {4, 2}}
print(pcall(lora.check_peft, m, d, {"hello"}))]],
})
