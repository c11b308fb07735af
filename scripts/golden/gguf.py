#!/usr/bin/env python3
"""Golden GGUF files for Lathe's Formats tests, written with gguf-py (llama.cpp's own package).

    python3 scripts/golden/gguf.py [OUT_DIR]              tiny files (default Tests/golden/formats)
    python3 scripts/golden/gguf.py --smollm2 MODEL.gguf   facts about the real SmolLM2 GGUF
                                                          -> Tests/golden/formats/smollm2.json

Needs the pins in scripts/requirements-golden.txt (gguf==0.19.0, numpy==2.4.6).
The tiny files hold F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors (quantized with gguf.quants.quantize)
and metadata of every value type; gguf.json lists the metadata and each tensor's values as
gguf.quants.dequantize returns them (float32 bit patterns). smollm2.json holds metadata,
tokenizer facts and checksums/samples of dequantized (and, for q/k, un-permuted) tensors.
"""
import hashlib
import json
import os
import sys

# this file is named like the package it uses: keep its own folder off the import path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _HERE]

import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType as Q, GGUFValueType as V  # noqa: E402
from gguf.quants import quantize, dequantize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(_HERE))


def f32_bits(a):
    return np.asarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def value_json(v, t, sub=None):
    """Metadata as JSON: {"type": name, "value": ...}; floats also as bit patterns."""
    if t == V.ARRAY:
        return {"type": "ARRAY", "items": [value_json(x, sub[0], sub[1:] if len(sub) > 1 else None) for x in v]}
    e = {"type": t.name, "value": v}
    if t == V.FLOAT32:
        e["bits"] = int(np.array(v, dtype=np.float32).view(np.uint32))
    if t == V.FLOAT64:
        e["bits"] = int(np.array(v, dtype=np.float64).view(np.uint64))
    return e


def tiny(out, name, alignment=None):
    rng = np.random.default_rng(2024)  # same data in both files
    path = os.path.join(out, name)
    w = GGUFWriter(path, "llama")
    meta = []  # (key, value, type, subtypes)

    def kv(key, val, t, sub=None):
        if t == V.ARRAY:
            w.add_key_value(key, val, V.ARRAY, sub_type=sub[0])
        else:
            w.add_key_value(key, val, t)
        meta.append((key, val, t, sub))

    if alignment is not None:
        w.add_custom_alignment(alignment)
        meta.append(("general.alignment", alignment, V.UINT32, None))
    kv("test.u8", 200, V.UINT8)
    kv("test.i8", -100, V.INT8)
    kv("test.u16", 65000, V.UINT16)
    kv("test.i16", -32000, V.INT16)
    kv("test.u32", 4000000000, V.UINT32)
    kv("test.i32", -2000000000, V.INT32)
    kv("test.u64", 2**63 + 5, V.UINT64)
    kv("test.i64", -2**62, V.INT64)
    kv("test.f32", 0.1, V.FLOAT32)
    kv("test.f64", -1e-300, V.FLOAT64)
    kv("test.true", True, V.BOOL)
    kv("test.false", False, V.BOOL)
    kv("test.string", "h\u00e9llo \u2713 \U0001F600", V.STRING)
    kv("test.empty_string", "", V.STRING)
    kv("test.ints", [1, -2, 3], V.ARRAY, [V.INT32])
    kv("test.bytes", [0, 255, 7], V.ARRAY, [V.UINT8])
    kv("test.floats", [0.5, -1.25], V.ARRAY, [V.FLOAT32])
    kv("test.strings", ["a", "", "\u00fc b"], V.ARRAY, [V.STRING])
    kv("test.nested", [["x", "y"], ["z"]], V.ARRAY, [V.ARRAY, V.STRING])
    kv("test.bools", [True, False, True], V.ARRAY, [V.BOOL])
    kv("tokenizer.ggml.model", "gpt2", V.STRING)
    kv("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b", "ab"], V.ARRAY, [V.STRING])
    kv("tokenizer.ggml.token_type", [3, 3, 1, 1, 1], V.ARRAY, [V.INT32])
    kv("tokenizer.ggml.merges", ["a b"], V.ARRAY, [V.STRING])
    kv("tokenizer.ggml.bos_token_id", 0, V.UINT32)
    kv("tokenizer.ggml.eos_token_id", 1, V.UINT32)
    kv("tokenizer.chat_template", "{{ messages }}", V.STRING)

    tensors = []

    def add(tname, values, qtype):
        values = np.asarray(values, dtype=np.float32)
        if qtype == Q.F32:
            data = values
            w.add_tensor(tname, data)
        elif qtype == Q.F16:
            data = values.astype(np.float16)
            w.add_tensor(tname, data)
        else:
            data = quantize(values, qtype)
            w.add_tensor(tname, data, raw_dtype=qtype)
        tensors.append((tname, qtype, values.shape))

    add("token_embd.weight", rng.standard_normal((4, 64)) * 0.5, Q.Q8_0)
    add("blk.0.attn_q.weight", rng.standard_normal((4, 64)), Q.Q4_0)
    add("blk.0.attn_k.weight", rng.standard_normal((2, 96)), Q.Q4_1)
    add("blk.0.attn_norm.weight", rng.standard_normal(5), Q.F32)
    add("blk.0.ffn_up.weight", rng.standard_normal((2, 32)), Q.F16)
    add("blk.0.ffn_down.weight", rng.standard_normal((2, 32)), Q.BF16)
    add("cube", np.arange(24).reshape(2, 3, 4) / 7, Q.F32)
    # a block with all-equal values and one of zeros (d = 0 paths)
    add("flat.weight", np.concatenate([np.full(32, 0.75), np.zeros(32)]).reshape(1, 64), Q.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = GGUFReader(path)
    doc = {"file": name, "alignment": int(r.alignment), "data_offset": int(r.data_offset),
           "metadata": {}, "keys": [k for k in r.fields if not k.startswith("GGUF.")], "tensors": []}
    doc["metadata"]["general.architecture"] = {"type": "STRING", "value": "llama"}
    for key, val, t, sub in meta:
        doc["metadata"][key] = value_json(val, t, sub)
    for t in r.tensors:
        deq = dequantize(t.data, t.tensor_type).astype(np.float32)
        e = {"name": t.name, "type": t.tensor_type.name, "dims": [int(x) for x in t.shape],
             "offset": int(t.data_offset - r.data_offset), "n_bytes": int(t.n_bytes)}
        if alignment is None:  # the values are the same in both files: listed once
            e["f32_bits"] = f32_bits(deq)
        doc["tensors"].append(e)
    return doc


def generate(out):
    os.makedirs(out, exist_ok=True)
    doc = {"generator": "scripts/golden/gguf.py", "versions": {"gguf": gguf_version(), "numpy": np.__version__},
           "files": [tiny(out, "tiny.gguf"), tiny(out, "tiny_align64.gguf", alignment=64)]}
    with open(os.path.join(out, "gguf.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def gguf_version():
    from importlib.metadata import version
    return version("gguf")


def unpermute(w, nh):
    o, i = w.shape
    return np.ascontiguousarray(w.reshape(nh, o // nh // 2, 2, i).swapaxes(1, 2).reshape(o, i))


def smollm2(model, out):
    r = GGUFReader(model)
    fv = lambda k: r.fields[k].contents()  # noqa: E731
    H, KV = fv("llama.attention.head_count"), fv("llama.attention.head_count_kv")
    facts = {"file_sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(),
             "tensor_count": len(r.tensors), "alignment": int(r.alignment), "data_offset": int(r.data_offset),
             "kv_count": len([k for k in r.fields if not k.startswith("GGUF.")]), "metadata": {}, "tensors": {}}
    for k in ["general.architecture", "general.name", "llama.block_count", "llama.context_length",
              "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
              "llama.attention.head_count_kv", "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon",
              "llama.vocab_size", "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
              "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
              "tokenizer.ggml.add_bos_token", "general.file_type"]:
        v = fv(k)
        facts["metadata"][k] = float(v) if isinstance(v, (float, np.floating)) else (v.item() if hasattr(v, "item") else v)
    toks, merges, types = fv("tokenizer.ggml.tokens"), fv("tokenizer.ggml.merges"), fv("tokenizer.ggml.token_type")
    tmpl = fv("tokenizer.chat_template")
    facts["tokenizer"] = {"tokens": len(toks), "merges": len(merges), "first_tokens": toks[:20],
                          "token_100": toks[100], "last_token": toks[-1], "first_merges": merges[:5],
                          "last_merge": merges[-1], "control_ids": [i for i, t in enumerate(types) if t == 3],
                          "chat_template_sha256": hashlib.sha256(tmpl.encode()).hexdigest(), "chat_template_len": len(tmpl)}
    types_count = {}
    for t in r.tensors:
        types_count[t.tensor_type.name] = types_count.get(t.tensor_type.name, 0) + 1
    facts["tensor_types"] = types_count
    facts["tensor_names_first"] = [t.name for t in r.tensors[:12]]
    pick = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
            "blk.0.attn_norm.weight", "blk.29.ffn_down.weight", "blk.17.ffn_gate.weight", "output_norm.weight"]
    by = {t.name: t for t in r.tensors}
    for name in pick:
        t = by[name]
        a = dequantize(t.data, t.tensor_type).astype(np.float32).reshape([int(x) for x in reversed(t.shape)])
        e = {"type": t.tensor_type.name, "shape": list(a.shape)}
        flat = a.reshape(-1)
        idx = np.linspace(0, flat.size - 1, 64).astype(np.int64)
        e["sum"] = float(flat.astype(np.float64).sum())
        e["abs_sum"] = float(np.abs(flat.astype(np.float64)).sum())
        e["sample_index"] = idx.tolist()
        e["sample_bits"] = f32_bits(flat[idx])
        e["sha256_f32"] = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
        if name.endswith("attn_q.weight") or name.endswith("attn_k.weight"):
            u = unpermute(a, H if "attn_q" in name else KV)
            e["unpermuted_sha256_f32"] = hashlib.sha256(u.tobytes()).hexdigest()
            e["unpermuted_sample_bits"] = f32_bits(u.reshape(-1)[idx])
        facts["tensors"][name] = e
    with open(os.path.join(out, "smollm2.json"), "w") as f:
        json.dump(facts, f, separators=(",", ":"), ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    default_out = os.path.join(ROOT, "Tests", "golden", "formats")
    if args[:1] == ["--smollm2"]:
        smollm2(args[1], args[2] if len(args) > 2 else default_out)
    else:
        generate(args[0] if args else default_out)
