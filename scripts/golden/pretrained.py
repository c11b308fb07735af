#!/usr/bin/env python3
"""Golden values for Lathe's `hf` module (loading pretrained checkpoints), written by the
reference implementation: PyTorch `transformers` (pinned in scripts/requirements-golden.txt;
torch is the CPU wheel from /opt/wheels).

Writes Tests/golden/pretrained/:
  tiny-*/            tiny random models saved with save_pretrained (BERT, BERT classifier with the
                     `bert.` prefix, Llama with llama3 rope scaling, sharded BF16 Llama, Qwen2 in F16,
                     Mistral, GPT-2), each with its tokenizer where the family has one
  tiny.json          for each tiny model: input ids, mask, and the reference outputs (logits or hidden
                     states) of transformers in float32 from the saved weights
  chat_templates.json  chat templates rendered by transformers' apply_chat_template
  minilm.json        all-MiniLM-L6-v2 sentence embeddings (sentence-transformers' mean pooling + L2
                     normalization, max_seq_length 256): token ids, embeddings, norms, cosines
  smollm2.json       SmolLM2-135M-Instruct (from the GGUF in the cache, converted to HF layout with
                     the verified script of shared/notes/models_data.md §1.4): next-token logits for fixed
                     prompts and the greedy chat answer to "What is the capital of Japan?"

Needs the real models in the cache: scripts/fetch_models.sh minilm smollm2.

    python3 scripts/golden/pretrained.py
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# this folder holds tokenizers.py (another golden script), which would shadow the package
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != pathlib.Path(__file__).resolve().parent]

import numpy as np
import torch
import transformers
from transformers import (AutoModel, AutoModelForCausalLM, AutoTokenizer, BertConfig, BertForSequenceClassification,
                          BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/golden/pretrained"
CACHE = pathlib.Path(os.environ.get("LATHE_CACHE", pathlib.Path.home() / ".cache/lathe"))

torch.set_num_threads(2)


def floats(t):
    """float32 values as the shortest decimals that read back to the same float32."""
    if isinstance(t, torch.Tensor):
        t = t.detach().float().numpy()
    return [float(str(x)) for x in np.asarray(t, dtype=np.float32).reshape(-1)]


def fetch(what):
    out = subprocess.run([str(ROOT / "scripts/fetch_models.sh"), what], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"fetch_models.sh {what} failed: {out.stderr}")
    return out.stdout.split()[-1]


# ---------------------------------------------------------------------------------------------
# tiny tokenizers (trained here, saved next to the tiny models)

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food. A man is eating a piece of bread.",
    "What is the capital of Japan? The capital of Japan is Tokyo.",
    "Lathe loads pretrained checkpoints and fine-tunes them on a CPU.",
    "Numbers like 12345 and 2024 appear in text, as do emoji and accents: café, naïve.",
] * 20


def byte_bpe():
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(CORPUS, vocab_size=300, min_frequency=2,
                            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], show_progress=False)
    return tok


def wordpiece():
    """A BERT-style WordPiece tokenizer with a fixed vocabulary (the trainer's order is not
    deterministic): specials, characters, ##characters, then the corpus's words by count."""
    import collections
    import re
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    words = collections.Counter(w for line in CORPUS for w in re.findall(r"\w+|[^\w\s]", line.lower()))
    chars = sorted({ch for w in words for ch in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    vocab += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if w not in vocab][:200 - len(vocab)]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    return tok


CHATML = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
          "{{ '<|im_start|>system\nYou are a tiny test model.<|im_end|>\n' }}{% endif %}"
          "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def save_tokenizer(tok, folder, kind):
    tok.save(str(folder / "tokenizer.json"))
    if kind == "bpe":
        cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
               "pad_token": "<|endoftext|>", "model_max_length": 256, "chat_template": CHATML}
    else:
        cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "cls_token": "[CLS]", "sep_token": "[SEP]",
               "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]", "model_max_length": 64}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# tiny models


def perturb(model, seed):
    """Random init that exercises every tensor: norm weights away from 1, biases away from 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower() or name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or "ln_f" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g) if name.endswith("weight") else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


def save(model, name, dtype=torch.float32, shard=None, tokenizer=None, kind=None):
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    model = model.to(dtype)
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(str(folder), **kw)
    # generation_config.json is not needed (and changes with transformers' defaults)
    (folder / "generation_config.json").unlink(missing_ok=True)
    if tokenizer is not None:
        save_tokenizer(tokenizer, folder, kind)
    return folder


def reload(cls, folder):
    m = cls.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager")
    m.eval()
    return m


def tiny_models():
    bpe, wp = byte_bpe(), wordpiece()
    results = {}
    ids = [[5, 17, 42, 99, 3, 250, 7], [11, 12, 13, 14, 15, 0, 0]]
    mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]]

    def causal(name, cls, model, **kw):
        torch.manual_seed(0)
        folder = save(model, name, **kw)
        m = reload(cls, folder)
        with torch.no_grad():
            logits = m(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits
        results[name] = {"class": cls.__name__, "ids": ids, "mask": mask, "shape": list(logits.shape),
                         "logits": floats(logits)}
        print(name, list(logits.shape), "files:", sorted(p.name for p in folder.iterdir()))

    # Llama: GQA, untied head, llama3 rope scaling, F32
    cfg = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(1)
    m = LlamaForCausalLM(cfg)
    perturb(m, 1)
    causal("tiny-llama", LlamaForCausalLM, m, tokenizer=bpe, kind="bpe")

    # Llama (SmolLM-like): tied embeddings, head_dim set, BF16, sharded with an index
    cfg = LlamaConfig(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=3,
                      num_key_value_heads=1, head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-5,
                      tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(2)
    m = LlamaForCausalLM(cfg)
    perturb(m, 2)
    causal("tiny-llama-bf16-sharded", LlamaForCausalLM, m, dtype=torch.bfloat16, shard="30KB", tokenizer=bpe, kind="bpe")

    # Qwen2: q/k/v biases, tied, F16
    cfg = Qwen2Config(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, use_sliding_window=False)
    torch.manual_seed(3)
    m = Qwen2ForCausalLM(cfg)
    perturb(m, 3)
    causal("tiny-qwen2-f16", Qwen2ForCausalLM, m, dtype=torch.float16)

    # Mistral: no biases, untied, F32
    cfg = MistralConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5, sliding_window=None,
                        tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    torch.manual_seed(4)
    m = MistralForCausalLM(cfg)
    perturb(m, 4)
    causal("tiny-mistral", MistralForCausalLM, m)

    # GPT-2: fused c_attn Conv1D, learned positions, LayerNorm, gelu_new, tied head, F32
    cfg = GPT2Config(vocab_size=300, n_positions=64, n_embd=32, n_layer=2, n_head=4, activation_function="gelu_new",
                     resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(5)
    m = GPT2LMHeadModel(cfg)
    perturb(m, 5)
    causal("tiny-gpt2", GPT2LMHeadModel, m, tokenizer=bpe, kind="bpe")

    # BERT encoder (BertModel: no prefix, with pooler), F32, WordPiece tokenizer
    cfg = BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                     max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu")
    torch.manual_seed(6)
    m = BertModel(cfg)
    perturb(m, 6)
    folder = save(m, "tiny-bert", tokenizer=wp, kind="wp")
    m = reload(BertModel, folder)
    bids = [[2, 17, 42, 99, 33, 150, 3], [2, 11, 12, 13, 3, 0, 0]]
    with torch.no_grad():
        out = m(input_ids=torch.tensor(bids), attention_mask=torch.tensor(mask))
    results["tiny-bert"] = {"class": "BertModel", "ids": bids, "mask": mask,
                            "shape": list(out.last_hidden_state.shape), "hidden": floats(out.last_hidden_state),
                            "pooler": floats(out.pooler_output)}
    print("tiny-bert", list(out.last_hidden_state.shape))

    # BERT classifier (BertForSequenceClassification: `bert.` prefix, pooler + classifier), F16
    cfg = BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=48,
                     max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu_new", num_labels=3,
                     id2label={0: "negative", 1: "neutral", 2: "positive"},
                     label2id={"negative": 0, "neutral": 1, "positive": 2})
    torch.manual_seed(7)
    m = BertForSequenceClassification(cfg)
    perturb(m, 7)
    folder = save(m, "tiny-bert-cls-f16", dtype=torch.float16, tokenizer=wp, kind="wp")
    m = reload(BertForSequenceClassification, folder)
    with torch.no_grad():
        logits = m(input_ids=torch.tensor(bids), attention_mask=torch.tensor(mask)).logits
    results["tiny-bert-cls-f16"] = {"class": "BertForSequenceClassification", "ids": bids, "mask": mask,
                                    "shape": list(logits.shape), "logits": floats(logits)}
    print("tiny-bert-cls-f16", list(logits.shape))

    # greedy generation from the tiny Llama through its chat template (KV cache path)
    folder = OUT / "tiny-llama"
    tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    m = reload(LlamaForCausalLM, folder)
    msgs = [{"role": "user", "content": "What is the capital of Japan?"}]
    prompt = tok.apply_chat_template(msgs, chat_template=CHATML, add_generation_prompt=True, tokenize=False)
    pids = tok(prompt, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        gen = m.generate(torch.tensor([pids]), max_new_tokens=12, do_sample=False, eos_token_id=2, pad_token_id=0)
    new = gen[0, len(pids):].tolist()
    results["tiny-llama"]["chat"] = {"messages": msgs, "prompt": prompt, "prompt_ids": pids, "generated": new,
                                     "text": tok.decode(new, skip_special_tokens=True)}
    results["tiny-llama.gguf"] = tiny_gguf(bpe)
    (OUT / "tiny.json").write_text(json.dumps(results, indent=1) + "\n")


def tiny_gguf(bpe):
    """A tiny Llama written as llama.cpp's converter does (q/k rows permuted, one tensor of each
    type: Q8_0, Q4_0, Q4_1, F16, F32), with its byte-level BPE tokenizer and a ChatML template.
    The reference: the same tensors dequantized by gguf-py, loaded into transformers."""
    import gguf
    from gguf.quants import dequantize, quantize
    T = gguf.GGMLQuantizationType
    cfg = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(8)
    m = LlamaForCausalLM(cfg)
    perturb(m, 8)
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in m.state_dict().items()}
    H, KV = cfg.num_attention_heads, cfg.num_key_value_heads

    def permute(w, nh):  # llama.cpp's LlamaModel.permute
        return w.reshape(nh, 2, w.shape[0] // nh // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    types = {"attn_q": T.Q4_0, "attn_k": T.Q4_1, "attn_v": T.Q8_0, "attn_output": T.F16, "ffn_gate": T.Q4_1,
             "ffn_up": T.Q4_0, "ffn_down": T.Q8_0, "attn_norm": T.F32, "ffn_norm": T.F32}
    per = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
           "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
           "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    path = OUT / "tiny-llama.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_rope_dimension_count(cfg.hidden_size // H)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(cfg.vocab_size)
    vocab = bpe.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    tj = json.loads(bpe.to_str())
    merges = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3 if t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>") else 1 for t in tokens])
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)
    deq = {}

    def put(name, hf_name, arr, qtype, perm_heads=0):
        stored = permute(arr, perm_heads) if perm_heads else arr
        if qtype in (T.F32, T.F16):
            data = stored.astype(np.float32 if qtype == T.F32 else np.float16)
            w.add_tensor(name, data)
            back = data.astype(np.float32)
        else:
            q = quantize(stored, qtype)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
            back = dequantize(q, qtype).reshape(stored.shape).astype(np.float32)
        if perm_heads:  # undo the permutation for the HF reference
            n = back.shape[0] // perm_heads // 2
            back = back.reshape(perm_heads, n, 2, *back.shape[1:]).swapaxes(1, 2).reshape(back.shape)
        deq[hf_name] = back
    put("token_embd.weight", "model.embed_tokens.weight", sd["model.embed_tokens.weight"], T.Q8_0)
    put("output_norm.weight", "model.norm.weight", sd["model.norm.weight"], T.F32)
    for i in range(cfg.num_hidden_layers):
        for k, hf in per.items():
            name = f"model.layers.{i}.{hf}.weight"
            put(f"blk.{i}.{k}.weight", name, sd[name], types[k], H if k == "attn_q" else (KV if k == "attn_k" else 0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    m.load_state_dict({k: torch.tensor(v) for k, v in deq.items()}, strict=False)
    m.tie_weights()
    m.eval()
    ids = [[5, 17, 42, 99, 3, 250, 7], [11, 12, 13, 14, 15, 0, 0]]
    mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]]
    with torch.no_grad():
        logits = m(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits
    print("tiny-llama.gguf", path.stat().st_size, "bytes")
    return {"class": "LlamaForCausalLM (from GGUF)", "ids": ids, "mask": mask, "shape": list(logits.shape),
            "logits": floats(logits)}


# ---------------------------------------------------------------------------------------------
# chat templates rendered by transformers (Jinja2 with trim_blocks and lstrip_blocks)

TEMPLATES = {
    "chatml-default-system": CHATML,
    "qwen2": ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
              "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
              "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
    "llama3": ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
               "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
               "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    "zephyr": ("{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
               "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
               "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
               "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"),
    "mistral": ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
    "gemma": ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
              "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
              "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
              "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
              "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
              "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"),
    "whitespace-control": ("{%- for message in messages %}\n    {{- '<|im_start|>' + message.role + '\\n' + message.content | trim }}\n"
                           "    {%- if not loop.last or message.role != 'user' %}{{ '<|im_end|>\\n' }}{% endif %}\n{%- endfor %}\n"
                           "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"),
    "namespace-and-filters": ("{%- set ns = namespace(system='', n=0) %}{%- for m in messages %}{%- if m['role'] == 'system' %}"
                              "{%- set ns.system = m['content'] %}{%- else %}{%- set ns.n = ns.n + 1 %}{%- endif %}{%- endfor %}"
                              "{{- 'SYSTEM: ' ~ (ns.system if ns.system else 'none') ~ '\\n' }}"
                              "{%- for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }} {{ m.role|upper }}: "
                              "{{ m.content|replace('\\n', ' ')|trim }}{{ '\\n' }}{%- endfor %}"
                              "{%- if messages|length > 2 and add_generation_prompt is defined and add_generation_prompt %}"
                              "{{ 'turns=' ~ ns.n }}{% endif %}{{ '' if tools is not defined else 'tools!' }}"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of Japan?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  Hi there!\n"},
     {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Tell me a joke."}],
    [{"role": "user", "content": "One"}, {"role": "assistant", "content": "Two"}],
]


def chat_templates():
    tok = PreTrainedTokenizerFast(tokenizer_file=str(OUT / "tiny-llama/tokenizer.json"), bos_token="<s>", eos_token="</s>")
    cases = []
    for name, tpl in TEMPLATES.items():
        for ci, msgs in enumerate(CONVERSATIONS):
            for agp in (True, False):
                case = {"template": name, "conversation": ci, "add_generation_prompt": agp}
                try:
                    case["text"] = tok.apply_chat_template(msgs, chat_template=tpl, add_generation_prompt=agp, tokenize=False)
                except Exception as e:  # raise_exception in the template
                    case["error"] = str(e)
                cases.append(case)
    doc = {"transformers": transformers.__version__, "bos_token": "<s>", "eos_token": "</s>", "templates": TEMPLATES,
           "conversations": CONVERSATIONS, "cases": cases}
    (OUT / "chat_templates.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print("chat templates:", len(cases), "cases,", sum("error" in c for c in cases), "errors")


# ---------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 sentence embeddings (sentence-transformers: Transformer(max_seq_length=256) ->
# Pooling(mean) -> Normalize), computed with transformers directly

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "",
    "Héllo, wörld! Ünïcode and emoji 😀 are tokenized too; numbers 12345.",
    " ".join(["Lathe fine-tunes language models on an ordinary CPU."] * 40),  # longer than 256 tokens
]


def minilm():
    path = fetch("minilm")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        states = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    pooled = (states * m).sum(1) / m.sum(1).clamp(min=1e-9)
    norms = pooled.norm(dim=1)
    emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
    cos = emb @ emb.T
    ids = [[int(x) for x, k in zip(row, mk) if k] for row, mk in zip(enc["input_ids"].tolist(), enc["attention_mask"].tolist())]
    doc = {"model": "sentence-transformers/all-MiniLM-L6-v2", "transformers": transformers.__version__,
           "torch": torch.__version__, "max_seq_length": 256, "sentences": SENTENCES, "ids": ids,
           "embeddings": [floats(e) for e in emb], "norms": floats(norms), "cosine": [floats(r) for r in cos],
           "token_states_first": {"rows": 4, "cols": 8, "values": floats(states[0, :4, :8])}}
    (OUT / "minilm.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print("minilm: cos(0,1) =", float(cos[0, 1]), "first dims", floats(emb[0, :5]))


# ---------------------------------------------------------------------------------------------
# SmolLM2-135M-Instruct from the GGUF (converted with the verified script)


def gguf_to_hf(src, out):
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from safetensors.numpy import save_file
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    r = GGUFReader(src)
    fv = lambda k: r.fields[k].contents()
    H, KV, L = fv("llama.attention.head_count"), fv("llama.attention.head_count_kv"), fv("llama.block_count")
    deq = lambda t: dequantize(t.data, t.tensor_type).astype(np.float32).reshape([int(x) for x in reversed(t.shape)])

    def unpermute(w, nh):
        o, i = w.shape
        return np.ascontiguousarray(w.reshape(nh, o // nh // 2, 2, i).swapaxes(1, 2).reshape(o, i))
    top = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
    per = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
           "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
           "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    T = {}
    for t in r.tensors:
        w = deq(t)
        if t.name in top:
            T[top[t.name]] = w
            continue
        _, i, k, _ = t.name.split(".")
        if k == "attn_q":
            w = unpermute(w, H)
        if k == "attn_k":
            w = unpermute(w, KV)
        T[f"model.layers.{i}.{per[k]}.weight"] = np.ascontiguousarray(w)
    save_file(T, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    D = fv("llama.embedding_length")
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D,
           "intermediate_size": fv("llama.feed_forward_length"), "num_hidden_layers": L, "num_attention_heads": H,
           "num_key_value_heads": KV, "head_dim": D // H, "hidden_act": "silu",
           "max_position_embeddings": fv("llama.context_length"),
           "rms_norm_eps": float(fv("llama.attention.layer_norm_rms_epsilon")), "rope_theta": float(fv("llama.rope.freq_base")),
           "tie_word_embeddings": True, "vocab_size": fv("llama.vocab_size"), "bos_token_id": fv("tokenizer.ggml.bos_token_id"),
           "eos_token_id": fv("tokenizer.ggml.eos_token_id"), "pad_token_id": fv("tokenizer.ggml.padding_token_id"),
           "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32"}
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    toks, types = fv("tokenizer.ggml.tokens"), fv("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in fv("tokenizer.ggml.merges")]
    tk = Tokenizer(models.BPE(vocab={s: i for i, s in enumerate(toks)}, merges=merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(toks[i], special=True, normalized=False) for i, ty in enumerate(types) if ty == 3])
    tk.save(os.path.join(out, "tokenizer.json"))
    json.dump({"tokenizer_class": "GPT2Tokenizer", "bos_token": toks[cfg["bos_token_id"]], "eos_token": toks[cfg["eos_token_id"]],
               "pad_token": toks[cfg["pad_token_id"]], "model_max_length": 8192, "chat_template": fv("tokenizer.chat_template")},
              open(os.path.join(out, "tokenizer_config.json"), "w"), indent=2)


PROMPTS = ["The capital of France is", "Hello world! 12345", "def fibonacci(n):",
           "<|im_start|>user\nIs this review positive or negative? A gorgeous, witty, seductive movie.<|im_end|>\n<|im_start|>assistant\n"]
QUESTIONS = ["What is the capital of Japan?", "What is the capital of France?"]


def smollm2():
    src = fetch("smollm2")
    with tempfile.TemporaryDirectory() as tmp:
        gguf_to_hf(src, tmp)
        tok = AutoTokenizer.from_pretrained(tmp)
        model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation="eager")
        model.eval()
        prompts = []
        for p in PROMPTS:
            ids = tok(p, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]
            last = logits[-1]
            top = torch.topk(last, 10)
            prompts.append({"text": p, "ids": ids, "last_first32": floats(last[:32]),
                            "top10_ids": top.indices.tolist(), "top10_logits": floats(top.values),
                            "argmax_per_position": logits.argmax(-1).tolist(),
                            "logsumexp_last": float(torch.logsumexp(last, 0))})
        chats = []
        for q in QUESTIONS:
            msgs = [{"role": "user", "content": q}]
            text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            ids = tok(text, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                gen = model.generate(torch.tensor([ids]), max_new_tokens=48, do_sample=False, eos_token_id=2, pad_token_id=2)
            new = gen[0, len(ids):].tolist()
            chats.append({"messages": msgs, "prompt": text, "prompt_ids": ids, "generated": new,
                          "answer": tok.decode(new, skip_special_tokens=True)})
            print("smollm2:", q, "->", repr(chats[-1]["answer"]))
        doc = {"model": "SmolLM2-135M-Instruct.Q4_1.gguf (dequantized, HF layout)", "transformers": transformers.__version__,
               "torch": torch.__version__, "prompts": prompts, "chats": chats}
        (OUT / "smollm2.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    what = sys.argv[1:] or ["tiny", "templates", "minilm", "smollm2"]
    if "tiny" in what:
        tiny_models()
    if "templates" in what:
        chat_templates()
    if "minilm" in what:
        minilm()
    if "smollm2" in what:
        smollm2()
