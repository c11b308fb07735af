"""hf.save writes Hugging Face folders that the Python transformers library loads to the same
model: Lathe loads each tiny reference model (Tests/golden/pretrained), adds LoRA adapters with
non-zero weights, saves with the adapters merged, and records its own outputs; transformers then
loads the folder (model and tokenizer) and must compute the same outputs. Needs transformers
(scripts/requirements-test.txt) and torch (the CPU wheel in /opt/wheels)."""
import json
import pathlib
import subprocess

import numpy as np
import torch
import transformers
from transformers import (AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer,
                          PreTrainedTokenizerFast)

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "golden" / "pretrained"

IDS = [[5, 17, 42, 99, 3, 250, 7]]
BERT_IDS = [[2, 17, 42, 99, 33, 150, 3]]


def run(lathe, code):
    r = subprocess.run([lathe, "-e", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def lathe_save(lathe, src, out, targets, gguf=False, quantized=False):
    """Loads src, adds LoRA with random B, saves to out with Lathe's outputs for IDS."""
    load = (f'hf.load_gguf("{src}", {{quantized = {str(quantized).lower()}}})' if gguf else f'hf.load("{src}")')
    ids = BERT_IDS if "bert" in str(src) else IDS
    lora = ""
    if targets:
        lora = f'''
        lora.apply(m, {{r = 4, targets = {{{", ".join(f'"{t}"' for t in targets)}}}, seed = 3}})
        local vals = {{}}
        for n, t in pairs(m:named_parameters()) do
          if n:find("lora_B") then local s = t:shape(); vals[n] = tensor.randn(s[1], s[2], {{seed = 5}}):mul(0.1) end
        end
        local p = os.tmpname(); os.remove(p)
        tensor.save(p, vals)
        m:load(p, {{strict = false}})
        os.remove(p)
        '''
    code = f'''
    local m = {load}
    {lora}
    hf.save(m, "{out}")
    local ids = tensor.from({json.dumps(ids).replace("[", "{").replace("]", "}")}):long()
    tensor.save_npy("{out}/lathe_out.npy", m(ids))
    if m.tokenizer then
      print(table.concat(m.tokenizer:encode("What is the capital of Japan? 12345 café", {{add_special_tokens = false}}), ","))
    end
    '''
    return run(lathe, code)


def transformers_out(folder, ids):
    cfg = json.loads((folder / "config.json").read_text())
    arch = cfg["architectures"][0]
    cls = (AutoModelForCausalLM if ("CausalLM" in arch or "LMHead" in arch)
           else AutoModelForSequenceClassification if "Sequence" in arch else AutoModel)
    m = cls.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager")
    m.eval()
    with torch.no_grad():
        o = m(input_ids=torch.tensor(ids))
    return (o.logits if hasattr(o, "logits") else o.last_hidden_state).numpy()


CASES = [
    ("tiny-llama", ["q_proj", "v_proj", "up_proj"]),
    ("tiny-llama-bf16-sharded", ["q_proj", "o_proj", "down_proj"]),
    ("tiny-qwen2-f16", ["q_proj", "k_proj", "gate_proj"]),
    ("tiny-mistral", ["v_proj", "up_proj"]),
    ("tiny-gpt2", ["c_attn", "c_fc", "c_proj"]),
    ("tiny-bert", ["query", "value"]),
    ("tiny-bert-cls-f16", ["query", "dense"]),
]


def test_transformers_loads_what_hf_save_writes(lathe, tmp_path):
    for name, targets in CASES:
        out = tmp_path / name
        ours = lathe_save(lathe, GOLDEN / name, out, targets)
        ref = np.load(out / "lathe_out.npy")
        got = transformers_out(out, BERT_IDS if "bert" in name else IDS)
        assert got.shape == ref.shape, name
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5, err_msg=name)
        if (out / "tokenizer.json").exists():
            tok = AutoTokenizer.from_pretrained(str(out))
            want = tok("What is the capital of Japan? 12345 café", add_special_tokens=False)["input_ids"]
            assert ours.strip() == ",".join(map(str, want)), name


def test_chat_template_survives_save(lathe, tmp_path):
    out = tmp_path / "chat"
    prompt = run(lathe, f'''
    local m = hf.load("{GOLDEN}/tiny-llama")
    hf.save(m, "{out}")
    io.write(hf.chat_prompt(m, {{{{role = "system", content = "Be brief."}}, {{role = "user", content = "Hi!"}}}}))
    ''')
    tok = AutoTokenizer.from_pretrained(str(out))
    want = tok.apply_chat_template([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}],
                                   add_generation_prompt=True, tokenize=False)
    assert prompt == want


def test_gguf_model_saved_as_hf_loads_in_transformers(lathe, tmp_path):
    for quantized in (False, True):
        out = tmp_path / f"gguf-{quantized}"
        lathe_save(lathe, GOLDEN / "tiny-llama.gguf", out, ["q_proj", "k_proj", "v_proj"], gguf=True, quantized=quantized)
        ref = np.load(out / "lathe_out.npy")
        got = transformers_out(out, IDS)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
        # the chat template and special tokens of the GGUF travel into tokenizer_config.json
        tok = AutoTokenizer.from_pretrained(str(out))
        assert tok.eos_token == "<|im_end|>"
        assert tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False).endswith(
            "<|im_start|>assistant\n")


def test_minilm_saved_folder_embeds_like_the_original(lathe, tmp_path):
    r = subprocess.run([str(ROOT / "scripts" / "fetch_models.sh"), "minilm"], capture_output=True, text=True)
    assert r.returncode == 0, "fetch_models.sh minilm failed: " + r.stderr
    src = r.stdout.split()[-1]
    out = tmp_path / "minilm"
    run(lathe, f'''
    local m = hf.load("{src}")
    hf.save(m, "{out}")
    tensor.save_npy("{out}/emb.npy", m:embed({{"A man is eating food.", "A man is eating a piece of bread."}}))
    ''')
    for f in ("modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "vocab.txt"):
        assert (out / f).exists(), f
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModel.from_pretrained(str(out), dtype=torch.float32)
    enc = tok(["A man is eating food.", "A man is eating a piece of bread."], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1).numpy()
    np.testing.assert_allclose(e, np.load(out / "emb.npy"), rtol=1e-4, atol=1e-5)
    assert abs(float(e[0] @ e[1]) - 0.7553) < 1e-3
