"""Lathe's LoRA adapters and PEFT, both ways, for every model family Lathe loads.

(a) Lathe adds adapters (random B, so they change the outputs), a head when the case has one,
    saves with lora.save and records its outputs; PEFT's PeftModel.from_pretrained loads the
    folder onto the matching transformers class and must give the same outputs, use every tensor
    (the file's names are exactly the ones PEFT's state dict has) and warn about nothing.
(b) PEFT makes an adapter (random A, B and modules_to_save) and save_pretrained writes it;
    lora.load reads it into Lathe's model, which must give PEFT's outputs, and lora.save of that
    model writes back exactly PEFT's tensor names.
Models: the tiny references in Tests/golden/pretrained (BERT with and without a head, Llama,
GPT-2's Conv1D layers), all-MiniLM-L6-v2 and SmolLM2-135M from scripts/fetch_models.sh. A
classification head on mean pooling (no transformers class) is saved for BertModel plus
lathe_head.safetensors; the Python lines of docs/API.md that apply it are run here.
Needs torch, transformers and peft (scripts/requirements-test.txt)."""
import contextlib
import copy
import json
import logging
import pathlib
import re
import subprocess
import warnings

import numpy as np
import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict
from safetensors import safe_open
from safetensors.numpy import load_file
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "golden" / "peft"
PRETRAINED = ROOT / "Tests" / "golden" / "pretrained"

LLAMA = ('nn.gpt{vocab = 32, layers = 2, dim = 16, heads = 4, kv_heads = 2, seq = 16, hidden = 32, norm = "rmsnorm", '
         'norm_eps = 1e-6, mlp = "swiglu", positions = "rotary", bias = false, tie = false, naming = "llama"}')

# two rows, the second padded: masks and (mean) pooling over real tokens are exercised
BERT_IDS = [[2, 17, 42, 99, 33, 150, 3], [2, 61, 8, 3, 0, 0, 0]]
BERT_MASK = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]
MINILM_IDS = [[101, 2129, 2079, 1045, 4863, 1037, 4638, 102], [101, 3403, 2009, 999, 102, 0, 0, 0]]
MINILM_MASK = [[1] * 8, [1, 1, 1, 1, 1, 0, 0, 0]]
LM_IDS = [[5, 17, 42, 99, 3, 250, 7], [1, 2, 3, 4, 5, 6, 7]]
SMOL_IDS = [[1, 9690, 314, 253, 1425, 30, 2], [504, 1345, 282, 5765, 28, 3681, 17]]


def lua_list(xs):
    return "{" + ", ".join(json.dumps(x) if isinstance(x, str) else lua_list(x) if isinstance(x, list) else str(x) for x in xs) + "}"


def run(lathe, code):
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r


def fetch(what):
    r = subprocess.run([str(ROOT / "scripts" / "fetch_models.sh"), what], capture_output=True, text=True)
    assert r.returncode == 0, f"scripts/fetch_models.sh {what} failed: " + r.stderr
    return r.stdout.split()[-1]


@contextlib.contextmanager
def no_warnings():
    """Fails on any Python warning or PEFT/transformers log record at WARNING or above."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.WARNING)
    loggers = [logging.getLogger(n) for n in ("peft", "transformers", "accelerate")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    msgs = [str(w.message) for w in caught if not KNOWN.search(str(w.message))]
    msgs += [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not msgs, msgs


# peft 0.21.2 itself reads a property transformers 5.23 deprecated (a FutureWarning on every
# PeftModel, whatever the adapter); nothing else is let through
KNOWN = re.compile(r"^`is_gradient_checkpointing` is deprecated and will be removed in v6")


def outputs(model, ids, mask):
    model.eval()
    with torch.no_grad():
        kw = {"input_ids": torch.tensor(ids)}
        if mask is not None:
            kw["attention_mask"] = torch.tensor(mask)
        o = model(**kw)
    return (o.logits if getattr(o, "logits", None) is not None else o.last_hidden_state).numpy()


def assert_close(got, ref, tol, what):
    assert got.shape == ref.shape, what
    assert np.isfinite(got).all() and np.isfinite(ref).all(), what
    d = float(np.max(np.abs(got - ref)))
    print(f"{what}: max difference {d:.2e} (bound {tol:.1e})")
    assert d <= tol, f"{what}: max difference {d} > {tol}"


# name, Lathe load expression, transformers loader, Lathe LoRA targets, PEFT targets, head
# (None, or "pooler": BertForSequenceClassification), modules_to_save (Lathe globs / PEFT names),
# ids, mask, tolerance
def cases():
    bert = str(PRETRAINED / "tiny-bert")
    bert_cls = str(PRETRAINED / "tiny-bert-cls-f16")
    llama = str(PRETRAINED / "tiny-llama")
    gpt2 = str(PRETRAINED / "tiny-gpt2")
    seq = lambda path, n: lambda: AutoModelForSequenceClassification.from_pretrained(path, num_labels=n, dtype=torch.float32, attn_implementation="eager")
    base = lambda path: lambda: AutoModel.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    causal = lambda path: lambda: AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    return [
        ("tiny-bert BertModel", f'hf.load("{bert}")', base(bert), ["query", "value"], ["query", "value"], None, [], [],
         BERT_IDS, BERT_MASK, 1e-4),
        ("tiny-bert pooler head", f'hf.load("{bert}")', seq(bert, 2), ["query", "key", "intermediate.dense"],
         ["query", "key", "intermediate.dense"], "pooler", ["classifier.*", "pooler.*"], ["pooler"], BERT_IDS, BERT_MASK, 1e-4),
        ("tiny-bert-cls checkpoint head", f'hf.load("{bert_cls}")', seq(bert_cls, 3), ["query", "dense"], ["query", "dense"],
         "checkpoint", ["classifier.*"], [], BERT_IDS, BERT_MASK, 1e-4),
        ("tiny-llama", f'hf.load("{llama}")', causal(llama), ["q_proj", "v_proj", "down_proj"], ["q_proj", "v_proj", "down_proj"],
         None, [], [], LM_IDS, None, 1e-4),
        ("tiny-gpt2 Conv1D", f'hf.load("{gpt2}")', causal(gpt2), ["c_attn", "attn.c_proj", "c_fc"], ["c_attn", "attn.c_proj", "c_fc"],
         None, [], [], LM_IDS, None, 1e-4),
    ]


def real_cases():
    minilm = fetch("minilm")
    smol = fetch("smollm2")
    smol_dir, smol_file = str(pathlib.Path(smol).parent), pathlib.Path(smol).name
    smol_hf = lambda: AutoModelForCausalLM.from_pretrained(smol_dir, gguf_file=smol_file, dtype=torch.float32, attn_implementation="eager")
    return [
        ("MiniLM BertModel", f'hf.load("{minilm}")', lambda: AutoModel.from_pretrained(minilm, dtype=torch.float32, attn_implementation="eager"),
         ["query", "value"], ["query", "value"], None, [], [], MINILM_IDS, MINILM_MASK, 1e-4),
        ("MiniLM pooler head", f'hf.load("{minilm}")',
         lambda: AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=2, dtype=torch.float32, attn_implementation="eager"),
         ["query", "value"], ["query", "value"], "pooler", ["classifier.*", "pooler.*"], ["pooler"], MINILM_IDS, MINILM_MASK, 1e-4),
        # 30 float32 layers and logits up to ~35, summed in another order by each library: the
        # bound is 1e-5 of the largest logit (at least 1e-4)
        ("SmolLM2-135M", f'hf.load_gguf("{smol}")', smol_hf, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
         ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], None, [], [], SMOL_IDS, None, "relative"),
    ]


def lathe_save(lathe, load, out, targets, head, keep, ids, mask):
    """Lathe side of (a): adapters with random B (and a perturbed pooler when it trains)."""
    head_code = 'hf.classifier(m, {classes = 2, pooling = "pooler", seed = 1})' if head == "pooler" else ""
    call = f"m(tensor.from({lua_list(ids)}):long()" + (f", tensor.from({lua_list(mask)}):long())" if mask else ")")
    code = f'''
    local m = {load}
    {head_code}
    lora.apply(m, {{r = 4, alpha = 8, targets = {lua_list(targets)}, modules_to_save = {lua_list(keep)}, seed = 3}})
    lathe.seed(5)
    local vals = {{}}
    for n, t in pairs(m:named_parameters()) do
      if n:find("lora_B") or ({"true" if "pooler.*" in keep else "false"} and n:find("^pooler%.")) then
        vals[n] = tensor.randn(t:shape()):mul(0.1)
      end
    end
    local p = os.tmpname(); os.remove(p)
    tensor.save(p, vals)
    m:load(p, {{strict = false}})
    os.remove(p)
    local r = lora.save(m, "{out}", {{base_model = "reference"}})
    tensor.save_npy("{out}/lathe_out.npy", {call})
    io.write(r.architecture, " ", r.task_type)
    '''
    return run(lathe, code)


def peft_save(model, out, targets, keep, task, ids, mask, fan_in_fan_out):
    """PEFT side of (b): random A, B and modules_to_save copies, saved with save_pretrained."""
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=targets, modules_to_save=keep or None, task_type=task,
                     fan_in_fan_out=fan_in_fan_out)
    with no_warnings():
        pm = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_" in n or "modules_to_save" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    want = outputs(pm, ids, mask)
    pm.save_pretrained(str(out))
    return want


def check_case(lathe, tmp_path, case):
    name, load, hf_model, targets, peft_targets, head, keep, peft_keep, ids, mask, tol = case
    lm = head is None and mask is None
    conv1d = "gpt2" in name
    # (a) Lathe -> PEFT
    out = tmp_path / re.sub(r"\W+", "-", name) / "lathe"
    r = lathe_save(lathe, load, out, targets, head, keep, ids, mask)
    assert "warning" not in r.stderr, r.stderr
    arch, task = r.stdout.split()
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["task_type"] == task and cfg["fan_in_fan_out"] == conv1d, name
    ref = np.load(out / "lathe_out.npy")
    base = hf_model()
    assert type(base).__name__ == arch, f"{name}: Lathe names the adapter for {arch}, the reference model is {type(base).__name__}"
    fresh = copy.deepcopy(base)
    with no_warnings():
        pm = PeftModel.from_pretrained(base, str(out))
    got = outputs(pm, ids, mask)
    bound = tol if tol != "relative" else max(1e-4, 1e-5 * float(np.max(np.abs(ref))))
    assert_close(got, ref, bound, name + ": PEFT on Lathe's adapter")
    ours = load_file(str(out / "adapter_model.safetensors"))
    assert sorted(ours) == sorted(get_peft_model_state_dict(pm)), name + ": tensor names are PEFT's"
    assert not np.allclose(got, outputs(fresh, ids, mask), atol=1e-3), name + ": the adapter changes the outputs"
    # (b) PEFT -> Lathe
    theirs = tmp_path / re.sub(r"\W+", "-", name) / "peft"
    peft_task = "CAUSAL_LM" if lm else ("SEQ_CLS" if head else "FEATURE_EXTRACTION")
    want = peft_save(fresh, theirs, peft_targets, peft_keep, peft_task, ids, mask, conv1d)
    back = tmp_path / re.sub(r"\W+", "-", name) / "resaved"
    call = f"m(tensor.from({lua_list(ids)}):long()" + (f", tensor.from({lua_list(mask)}):long())" if mask else ")")
    r = run(lathe, f'''
    local m = {load}
    lora.load(m, "{theirs}")
    tensor.save_npy("{theirs}/lathe_out.npy", {call})
    lora.save(m, "{back}")
    ''')
    assert "warning" not in r.stderr, r.stderr
    got = np.load(theirs / "lathe_out.npy")
    bound = tol if tol != "relative" else max(1e-4, 1e-5 * float(np.max(np.abs(want))))
    assert_close(got, want, bound, name + ": Lathe on PEFT's adapter")
    assert sorted(load_file(str(back / "adapter_model.safetensors"))) == sorted(load_file(str(theirs / "adapter_model.safetensors"))), \
        name + ": lora.save writes PEFT's names back"


@pytest.mark.parametrize("index", range(5))
def test_tiny_models_round_trip_with_peft(lathe, tmp_path, index):
    check_case(lathe, tmp_path, cases()[index])


@pytest.mark.parametrize("index", range(3))
def test_real_models_round_trip_with_peft(lathe, tmp_path, index):
    check_case(lathe, tmp_path, real_cases()[index])


def api_recipe():
    """The Python lines docs/API.md gives for a head that only Lathe computes."""
    text = (ROOT / "docs" / "API.md").read_text()
    m = re.search(r"<!-- lathe-head-recipe -->\s*```python\n(.*?)```", text, re.S)
    assert m, "docs/API.md has the lathe_head recipe"
    return m.group(1)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_lathe_only_head_is_said_and_applied_by_the_documented_recipe(lathe, tmp_path, pooling):
    minilm = fetch("minilm")
    out = tmp_path / "adapter"
    r = run(lathe, f'''
    local m = hf.load("{minilm}")
    hf.classifier(m, {{labels = {{"ham", "spam"}}, pooling = "{pooling}", seed = 1}})
    lora.apply(m, {{r = 4, alpha = 8, targets = {{"query", "value"}}, modules_to_save = {{"classifier.*"}}, seed = 3}})
    lathe.seed(5)
    local vals = {{}}
    for n, t in pairs(m:named_parameters()) do if n:find("lora_B") then vals[n] = tensor.randn(t:shape()):mul(0.1) end end
    local p = os.tmpname(); os.remove(p); tensor.save(p, vals); m:load(p, {{strict = false}}); os.remove(p)
    local r = lora.save(m, "{out}")
    io.write(r.architecture, " ", r.task_type, " ", r.lathe_head)
    tensor.save_npy("{out}/lathe_out.npy", m(tensor.from({lua_list(MINILM_IDS)}):long(), tensor.from({lua_list(MINILM_MASK)}):long()))
    local h = hf.load("{minilm}")
    lora.load(h, "{out}")
    tensor.save_npy("{out}/reloaded.npy", h(tensor.from({lua_list(MINILM_IDS)}):long(), tensor.from({lua_list(MINILM_MASK)}):long()))
    io.write(" ", table.concat(hf.info(h).labels, ","), " ", hf.info(h).pooling)
    ''')
    assert r.stdout.split() == ["BertModel", "FEATURE_EXTRACTION", pooling, "ham,spam", pooling]
    assert re.search(rf"^warning: lora\.save: the classification head pools by '{pooling}', which no transformers class does",
                     r.stderr, re.M), r.stderr
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["task_type"] == "FEATURE_EXTRACTION" and cfg["modules_to_save"] is None
    ref = np.load(out / "lathe_out.npy")
    assert_close(np.load(out / "reloaded.npy"), ref, 1e-6, "lora.load restores the head")
    with safe_open(str(out / "lathe_head.safetensors"), "pt") as f:
        assert f.metadata()["pooling"] == pooling and json.loads(f.metadata()["labels"]) == ["ham", "spam"]
    scope = {"BASE": minilm, "ADAPTER": str(out), "input_ids": torch.tensor(MINILM_IDS), "attention_mask": torch.tensor(MINILM_MASK)}
    with no_warnings():
        exec(api_recipe(), scope)
    assert_close(scope["logits"].detach().numpy(), ref, 1e-4, "the recipe's logits")
    shown = run(lathe, "help(lora.save)").stdout
    for line in api_recipe().splitlines():
        if line.strip() and not line.startswith(("import ", "from ")):
            assert line.strip() in shown, "help(lora.save) shows the recipe line " + line


def test_lathe_adapter_files_match_peft(lathe, tmp_path):
    out = tmp_path / "adapter"
    code = f'''
    local g = {LLAMA}
    g:load("{GOLDEN}/base/model.safetensors")
    lora.load(g, "{GOLDEN}/adapter")
    lora.save(g, "{out}", {{base_model = "tiny-llama"}})
    '''
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ours, theirs = load_file(str(out / "adapter_model.safetensors")), load_file(str(GOLDEN / "adapter" / "adapter_model.safetensors"))
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        assert ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype
        np.testing.assert_array_equal(ours[k], theirs[k])
    cfg = json.loads((out / "adapter_config.json").read_text())
    ref = json.loads((GOLDEN / "adapter" / "adapter_config.json").read_text())
    for k in ("peft_type", "r", "lora_alpha", "lora_dropout", "bias", "task_type", "target_modules", "fan_in_fan_out"):
        assert cfg[k] == ref[k], k
    assert cfg["base_model_name_or_path"] == "tiny-llama"
