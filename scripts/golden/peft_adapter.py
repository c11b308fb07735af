"""Golden PEFT adapter for Lathe's interoperability tests.

Builds a tiny Llama (transformers, random init, seeded), wraps it with PEFT LoRA (r=4, alpha=8,
q_proj and v_proj), sets the adapter weights to fixed values, and saves:
  Tests/golden/peft/base/           the base model (config.json + model.safetensors)
  Tests/golden/peft/adapter/        adapter_config.json + adapter_model.safetensors (PEFT's own files)
  Tests/golden/peft/expected.json   logits of base and adapted model for fixed ids, and the
                                    adapter's key names and shapes
Lathe's tests load the base with nn.gpt{naming = "llama"} + model:load, read PEFT's adapter
with lora.load, compare logits, and check that lora.save writes the same keys, shapes and
config fields. Requires torch, transformers and peft (pinned in scripts/requirements-golden.txt).
"""
import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "golden", "peft")
OUT = os.path.abspath(OUT)
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=16, rms_norm_eps=1e-6, rope_theta=10000.0,
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
base = LlamaForCausalLM(cfg).eval()
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
base.save_pretrained(os.path.join(OUT, "base"), safe_serialization=True)
ids = torch.tensor([[1, 5, 9, 2, 30, 7]])
with torch.no_grad():
    base_logits = base(ids).logits[0].tolist()

lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
model = get_peft_model(base, lcfg)
g = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
model.eval()
with torch.no_grad():
    adapted_logits = model(ids).logits[0].tolist()
model.save_pretrained(os.path.join(OUT, "adapter"))
from safetensors.numpy import load_file  # noqa: E402
keys = load_file(os.path.join(OUT, "adapter", "adapter_model.safetensors"))
trainable, total = model.get_nb_trainable_parameters()
expected = {
    "ids": ids[0].tolist(),
    "base_logits": base_logits,
    "adapted_logits": adapted_logits,
    "adapter_keys": {k: list(v.shape) for k, v in sorted(keys.items())},
    "trainable": trainable,
    "all": total,
    "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                 "peft": __import__("peft").__version__},
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
# keep the folder small: drop files Lathe does not read
for extra in ("generation_config.json", "README.md"):
    for sub in ("base", "adapter"):
        p = os.path.join(OUT, sub, extra)
        if os.path.exists(p):
            os.remove(p)
print("wrote", OUT)
