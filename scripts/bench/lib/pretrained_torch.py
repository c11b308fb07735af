"""PyTorch side of scripts/bench/pretrained (transformers on CPU), at LATHE_THREADS threads;
warm-up and median as pretrained.lua (lib/stats). Usage:
  pretrained_torch.py embed TEXTS_FILE MINILM_DIR      sentence-transformers' pipeline by hand
  pretrained_torch.py decode N HF_DIR                  greedy generate, KV cache
  pretrained_torch.py lora IDS_NPY STEPS HF_DIR        PEFT LoRA r=8 on q_proj, v_proj, AdamW
Prints "key value" lines."""
import resource
import sys

import numpy as np
import torch

import stats

mode = sys.argv[1]
torch.set_num_threads(stats.threads())
print(f"threads {torch.get_num_threads()}")
RUNS = 3
torch.manual_seed(0)
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer  # noqa: E402

if mode == "embed":
    texts = open(sys.argv[2]).read().splitlines()
    tok = AutoTokenizer.from_pretrained(sys.argv[3])
    model = AutoModel.from_pretrained(sys.argv[3], dtype=torch.float32)
    model.eval()

    def embed(xs):
        order = sorted(range(len(xs)), key=lambda i: -len(xs[i]))
        out = [None] * len(xs)
        with torch.inference_mode():
            for s in range(0, len(xs), 32):
                idx = order[s:s + 32]
                enc = tok([xs[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="pt")
                h = model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).float()
                e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1)
                for j, i in enumerate(idx):
                    out[i] = e[j]
        return out
    embed(texts[:64])  # warm up on 64 texts, as pretrained.lua
    print(f"sentences_per_sec {len(texts) / stats.timeit(lambda: embed(texts), RUNS, 0):.1f}")
elif mode == "decode":
    n = int(sys.argv[2])
    tok = AutoTokenizer.from_pretrained(sys.argv[3])
    model = AutoModelForCausalLM.from_pretrained(sys.argv[3], dtype=torch.float32)
    model.eval()
    text = tok.apply_chat_template([{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
                                   add_generation_prompt=True, tokenize=False)
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    kw = dict(do_sample=False, eos_token_id=None, pad_token_id=2)

    def generate():
        out = model.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)
        assert out.shape[1] - ids.shape[1] == n
    with torch.inference_mode():
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, **kw)  # warm up on 4 tokens, as pretrained.lua
        t = stats.timeit(generate, RUNS, 0)
    print(f"tokens_per_sec {n / t:.2f}")
    print(f"peak_rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}")
elif mode == "lora":
    from peft import LoraConfig, get_peft_model
    ids = torch.tensor(np.load(sys.argv[2]))
    steps = int(sys.argv[3])
    model = AutoModelForCausalLM.from_pretrained(sys.argv[4], dtype=torch.float32, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    x, y = ids[:, :-1], ids[:, 1:]
    losses = []

    def step():
        opt.zero_grad()
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"tokens_per_sec {x.numel() / stats.timeit(step, steps, 2):.1f}")
    print(f"first_loss {losses[0]:.4f}")
    print(f"peak_rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}")
