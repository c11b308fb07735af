#!/usr/bin/env python3
"""Golden numbers for Lathe's `cost` module, computed with the reference libraries.

    python scripts/golden/cost.py          # writes Tests/golden/cost/golden.json

What it records (every figure comes from the real library, nothing is derived by hand):
  * params: parameter counts of the configs in Tests/golden/cost/configs/ built with
    transformers on the meta device (no weights are downloaded or allocated), for the base
    model (AutoModel), the causal-LM model (AutoModelForCausalLM, decoders) and the
    sequence-classification model (AutoModelForSequenceClassification, num_labels=2);
  * inventory: every named parameter (tied weights once) with its shape, for the default
    model class (causal LM for decoders, AutoModel for encoders);
  * lora: PEFT's get_nb_trainable_parameters() (what print_trainable_parameters prints)
    for rank / target / task / bias / DoRA combinations;
  * nf4 / int8: bitsandbytes' real storage of quantized tensors (packed weights and the
    quantization constants, with and without double quantization), and whole models loaded
    with BitsAndBytesConfig on the CPU (transformers' get_memory_footprint plus the
    constants it leaves out);
  * activations: bytes of the tensors autograd saves for backward in one training forward
    pass (torch.autograd.graph.saved_tensors_hooks, unique storages, weights excluded),
    per transformer layer and outside the layers.

Pinned versions: scripts/requirements-golden.txt (torch comes from the CPU wheel).
"""
import json
import math
import os
import sys
import tempfile

import torch
import transformers
import peft
import bitsandbytes as bnb
import bitsandbytes.functional as bnbF
from transformers import (AutoConfig, AutoModel, AutoModelForCausalLM,
                          AutoModelForSequenceClassification, BitsAndBytesConfig)
from peft import LoraConfig, get_peft_model

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIGS = os.path.join(ROOT, "Tests", "golden", "cost", "configs")
OUT = os.path.join(ROOT, "Tests", "golden", "cost", "golden.json")
ENCODERS = {"bert", "roberta", "distilbert"}

# Figures published for the real checkpoints (model cards, papers, PEFT docs); the script
# stops if transformers disagrees, so a wrong config file cannot slip through.
PUBLISHED = {
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "bert-base-uncased": 109_482_240,
    "all-MiniLM-L6-v2": 22_713_216,
    "roberta-base": 124_645_632,
    "distilbert-base-uncased": 66_362_880,
    "SmolLM2-135M": 134_515_008,
    "Llama-2-7b-hf": 6_738_415_616,
    "Mistral-7B-v0.1": 7_241_732_096,
    "Qwen2-0.5B": 494_032_768,
    "TinyLlama-1.1B-Chat-v1.0": 1_100_048_384,
    "Meta-Llama-3-8B": 8_030_261_248,
    "Qwen3-0.6B": 596_049_920,
    "gemma-2b": 2_506_172_416,
    "Phi-3-mini-4k-instruct": 3_821_079_552,
}


def read_config(name, **override):
    with open(os.path.join(CONFIGS, name + ".json")) as f:
        d = json.load(f)
    d.update(override)
    mt = d.pop("model_type")
    return mt, AutoConfig.for_model(mt, **d)


def build(name, kind, device="meta", dtype=None, attn=None, **override):
    mt, cfg = read_config(name, **override)
    cls = {"base": AutoModel, "causal_lm": AutoModelForCausalLM,
           "seq_cls": AutoModelForSequenceClassification}[kind]
    if kind == "seq_cls":
        cfg.num_labels = 2
    if device == "meta":
        with torch.device("meta"):
            return mt, cls.from_config(cfg)
    kw = {"dtype": dtype} if dtype is not None else {}
    if attn is not None:
        kw["attn_implementation"] = attn
    return mt, cls.from_config(cfg, **kw)


def count(model):
    return sum(p.numel() for p in model.parameters())


def main():
    torch.manual_seed(0)
    names = sorted(f[:-5] for f in os.listdir(CONFIGS) if f.endswith(".json"))
    out = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__, "bitsandbytes": bnb.__version__},
        "published": PUBLISHED,
        "params": {}, "inventory": {}, "lora": [], "nf4_tensors": [], "quantized_models": [],
        "activations": [],
    }

    # ---- parameter counts and inventories
    for name in names:
        mt, _ = read_config(name)
        kinds = ["base", "seq_cls"] + ([] if mt in ENCODERS else ["causal_lm"])
        row = {}
        for kind in kinds:
            _, m = build(name, kind)
            row[kind] = count(m)
            default = "base" if mt in ENCODERS else "causal_lm"
            if kind == default:
                out["inventory"][name] = [[n, list(p.shape)] for n, p in m.named_parameters()]
                if row[kind] != PUBLISHED[name]:
                    sys.exit(f"{name}: transformers counts {row[kind]:,}, published {PUBLISHED[name]:,}")
        out["params"][name] = row
        print(f"params {name}: {row}", file=sys.stderr)

    # ---- LoRA trainable counts (PEFT)
    cases = [
        ("SmolLM2-135M", "causal_lm", 8, ["q_proj", "v_proj"], "none", False),
        ("SmolLM2-135M", "causal_lm", 16, ["q_proj", "k_proj", "v_proj", "o_proj"], "none", False),
        ("SmolLM2-135M", "causal_lm", 8, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "none", False),
        ("SmolLM2-135M", "causal_lm", 8, "all-linear", "none", False),
        ("SmolLM2-135M", "causal_lm", 4, ["self_attn.q_proj", "lm_head"], "none", False),
        ("SmolLM2-135M", "causal_lm", 8, ["q_proj", "v_proj"], "none", True),
        ("SmolLM2-135M", "seq_cls", 8, ["q_proj", "v_proj"], "none", False),
        ("SmolLM2-135M", "causal_lm", 8, None, "none", False),
        ("Llama-2-7b-hf", "causal_lm", 8, ["q_proj", "v_proj"], "none", False),
        ("Llama-2-7b-hf", "causal_lm", 64, "all-linear", "none", False),
        ("Meta-Llama-3-8B", "causal_lm", 16, "all-linear", "none", False),
        ("Meta-Llama-3-8B", "causal_lm", 16, "all-linear", "none", True),
        ("Mistral-7B-v0.1", "causal_lm", 16, ["q_proj", "k_proj", "v_proj", "o_proj"], "none", False),
        ("TinyLlama-1.1B-Chat-v1.0", "causal_lm", 8, ["q_proj", "v_proj"], "none", False),
        ("Qwen2-0.5B", "causal_lm", 8, ["q_proj", "v_proj"], "none", False),
        ("Qwen2-0.5B", "causal_lm", 8, ["q_proj", "v_proj"], "lora_only", False),
        ("Qwen2-0.5B", "causal_lm", 8, ["q_proj", "v_proj"], "all", False),
        ("Qwen3-0.6B", "causal_lm", 32, "all-linear", "none", False),
        ("gemma-2b", "causal_lm", 8, ["q_proj", "v_proj"], "none", False),
        ("gemma-2b", "causal_lm", 8, "all-linear", "none", False),
        ("Phi-3-mini-4k-instruct", "causal_lm", 16, ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"], "none", False),
        ("gpt2", "causal_lm", 8, ["c_attn"], "none", False),
        ("gpt2", "causal_lm", 8, ["c_attn", "c_proj"], "none", False),
        ("gpt2", "causal_lm", 16, "all-linear", "none", False),
        ("gpt2", "causal_lm", 8, ["c_attn"], "all", False),
        ("gpt2", "seq_cls", 8, ["c_attn"], "none", False),
        ("gpt2-medium", "causal_lm", 8, None, "none", False),
        ("bert-base-uncased", "base", 8, ["query", "value"], "none", False),
        ("bert-base-uncased", "seq_cls", 8, ["query", "value"], "none", False),
        ("bert-base-uncased", "seq_cls", 8, "all-linear", "none", False),
        ("bert-base-uncased", "seq_cls", 16, ["query", "key", "value", "dense"], "lora_only", False),
        ("all-MiniLM-L6-v2", "base", 8, ["query", "value"], "none", False),
        ("all-MiniLM-L6-v2", "base", 4, ["dense"], "none", False),
        ("all-MiniLM-L6-v2", "seq_cls", 8, None, "none", False),
        ("roberta-base", "seq_cls", 8, ["query", "value"], "none", False),
        ("distilbert-base-uncased", "seq_cls", 8, ["q_lin", "v_lin"], "none", False),
        ("distilbert-base-uncased", "base", 8, "all-linear", "none", False),
        ("SmolLM2-135M", "causal_lm", 8, r".*\.0\.self_attn\.(q|v)_proj", "none", False),
        ("SmolLM2-135M", "causal_lm", 8, ["q_proj", "v_proj"], "none", False, ["lm_head"]),
        ("TinyLlama-1.1B-Chat-v1.0", "causal_lm", 8, ["embed_tokens", "q_proj"], "none", False),
        ("TinyLlama-1.1B-Chat-v1.0", "causal_lm", 8, ["q_proj"], "none", False, ["embed_tokens", "lm_head"]),
        ("bert-base-uncased", "seq_cls", 8, ["query", "value"], "all", False),
        ("roberta-base", "seq_cls", 8, "all-linear", "none", False),
    ]
    for case in cases:
        name, task, r, targets, bias, dora = case[:6]
        save = case[6] if len(case) > 6 else None
        _, m = build(name, task)
        kw = dict(r=r, lora_alpha=2 * r, target_modules=targets, bias=bias, use_dora=dora)
        if save:
            kw["modules_to_save"] = list(save)
        if task == "seq_cls":
            kw["task_type"] = "SEQ_CLS"
        elif task == "causal_lm":
            kw["task_type"] = "CAUSAL_LM"
        pm = get_peft_model(m, LoraConfig(**kw))
        trainable, total = pm.get_nb_trainable_parameters()
        out["lora"].append({"config": name, "task": task, "r": r, "targets": targets,
                            "bias": bias, "dora": dora, "modules_to_save": save or [],
                            "trainable": trainable, "all": total})
        print(f"lora {name} {task} r={r} {targets} {bias} dora={dora}: {trainable:,} / {total:,}", file=sys.stderr)

    # ---- NF4 / int8 storage of single tensors (bitsandbytes on the CPU)
    for shape in [(576, 576), (192, 576), (1536, 576), (4096, 4096), (1024, 4096), (11008, 4096), (100, 33)]:
        w = torch.randn(*shape, dtype=torch.bfloat16)
        for dq in (False, True):
            q, st = bnbF.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=dq)
            packed = q.numel() * q.element_size()
            absmax = st.absmax.numel() * st.absmax.element_size()
            second = 0
            if st.nested:
                second = st.state2.absmax.numel() * st.state2.absmax.element_size() + 4  # + offset (fp32)
            out["nf4_tensors"].append({"shape": list(shape), "double_quant": dq, "packed": packed,
                                       "absmax": absmax, "second_level": second,
                                       "total": packed + absmax + second})

    # ---- whole models quantized by transformers + bitsandbytes on the CPU
    for name, layers in [("SmolLM2-135M", 2), ("Qwen2-0.5B", 1), ("TinyLlama-1.1B-Chat-v1.0", 1)]:
        _, m = build(name, "causal_lm", device="cpu", dtype=torch.bfloat16, num_hidden_layers=layers)
        tmp = tempfile.mkdtemp()
        m.save_pretrained(tmp)
        row = {"config": name, "num_hidden_layers": layers, "bf16_footprint": m.get_memory_footprint(),
               "buffers": sum(b.numel() * b.element_size() for b in m.buffers())}
        del m
        for mode in ("nf4", "nf4_dq", "int8"):
            if mode == "int8":
                qc = BitsAndBytesConfig(load_in_8bit=True)
            else:
                qc = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                        bnb_4bit_use_double_quant=(mode == "nf4_dq"),
                                        bnb_4bit_compute_dtype=torch.bfloat16)
            q = AutoModelForCausalLM.from_pretrained(tmp, quantization_config=qc, device_map="cpu")
            consts = 0
            nq = 0
            for _, mod in q.named_modules():
                tn = type(mod).__name__
                if tn == "Linear4bit":
                    st = mod.weight.quant_state
                    consts += st.absmax.numel() * st.absmax.element_size()
                    if st.nested:
                        consts += st.state2.absmax.numel() * st.state2.absmax.element_size() + 4
                    nq += 1
                elif tn == "Linear8bitLt":
                    consts += mod.weight.SCB.numel() * mod.weight.SCB.element_size()
                    nq += 1
            row[mode] = {"footprint": q.get_memory_footprint(), "constants": consts, "quantized_modules": nq}
            del q
        out["quantized_models"].append(row)
        print(f"quantized {row}", file=sys.stderr)

    # ---- activations saved for backward (one forward in training mode)
    def saved_bytes(name, layers, b, s, dtype, attn, override):
        mt, _ = read_config(name)
        key = {"gpt2": "n_layer", "distilbert": "n_layers"}.get(mt, "num_hidden_layers")
        mt, m = build(name, "seq_cls" if mt in ENCODERS else "causal_lm", device="cpu", attn=attn,
                      **{key: layers}, **override)
        m = m.to(dtype)
        m.train()
        params = {p.untyped_storage().data_ptr() for p in m.parameters()}
        seen = {}

        def pack(t):
            st = t.untyped_storage()
            ptr = st.data_ptr()
            if ptr not in params and ptr not in seen:
                seen[ptr] = st.nbytes()
            return t

        g = torch.Generator().manual_seed(0)
        ids = torch.randint(3, m.config.vocab_size, (b, s), generator=g)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            if mt in ENCODERS:
                m(input_ids=ids, labels=torch.zeros(b, dtype=torch.long))
            else:
                m(input_ids=ids, labels=ids)
        return sum(seen.values())

    # (config, batch, seq, dtype, attention, config overrides). Large vocabularies are cut to
    # keep the run small: the vocabulary only changes the part outside the layers. SDPA is
    # measured only where the CPU runs the flash kernel (no attention dropout); with dropout
    # the CPU falls back to the unfused math path, which a GPU does not use. Batches of 1
    # are avoided for eager GPT-2/BERT: with b = 1 some reshapes become views and the
    # fused QKV output is kept whole, a CPU quirk of that shape.
    act_cases = [
        ("SmolLM2-135M", 2, 128, torch.bfloat16, "sdpa", {}),
        ("SmolLM2-135M", 2, 128, torch.bfloat16, "eager", {}),
        ("SmolLM2-135M", 1, 256, torch.float32, "sdpa", {}),
        ("Qwen2-0.5B", 2, 64, torch.bfloat16, "sdpa", {}),
        ("TinyLlama-1.1B-Chat-v1.0", 1, 64, torch.bfloat16, "sdpa", {}),
        ("TinyLlama-1.1B-Chat-v1.0", 1, 64, torch.bfloat16, "eager", {}),
        ("Qwen3-0.6B", 1, 64, torch.bfloat16, "sdpa", {"vocab_size": 32000}),
        ("gemma-2b", 1, 64, torch.bfloat16, "sdpa", {"vocab_size": 32000}),
        ("Phi-3-mini-4k-instruct", 1, 64, torch.bfloat16, "sdpa", {}),
        ("Phi-3-mini-4k-instruct", 1, 64, torch.bfloat16, "sdpa", {"resid_pdrop": 0.1, "embd_pdrop": 0.1}),
        ("gpt2", 2, 128, torch.bfloat16, "eager", {}),
        ("gpt2", 2, 64, torch.float32, "eager", {"activation_function": "gelu"}),
        ("bert-base-uncased", 2, 128, torch.bfloat16, "eager", {}),
        ("all-MiniLM-L6-v2", 4, 64, torch.float32, "eager", {}),
        ("roberta-base", 2, 64, torch.bfloat16, "eager", {}),
        ("distilbert-base-uncased", 2, 64, torch.bfloat16, "eager", {}),
    ]
    for name, b, s, dtype, attn, override in act_cases:
        one = saved_bytes(name, 1, b, s, dtype, attn, override)
        two = saved_bytes(name, 2, b, s, dtype, attn, override)
        row = {"config": name, "overrides": override, "batch": b, "seq": s,
               "dtype": str(dtype).replace("torch.", ""), "attention": attn,
               "per_layer": two - one, "outside_layers": one - (two - one)}
        out["activations"].append(row)
        print(f"activations {row}", file=sys.stderr)

    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
