"""PyTorch side of scripts/bench/train: the reference char-level GPT (GPT-2 layout: vocab 256,
learned positions, pre-LayerNorm blocks with separate q/k/v/o Linear layers with bias, causal
attention, GELU MLP 4x, final LayerNorm, LM head tied to the embedding, no dropout), AdamW,
batch 16 x seq 128. Usage: train_torch.py MODE STEPS, MODE in full|lora|infer|bf16 (full fine-tuning under torch.autocast bf16),
at LATHE_THREADS threads (Lathe's count). Prints the thread count, the median ms per step of
STEPS steps after 3 warm-up steps (lib/stats, as train.lua), tokens/s and peak RSS."""
import math
import resource
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import stats

mode, steps = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(stats.threads())
print(f"threads {torch.get_num_threads()}")
torch.manual_seed(0)
V, L, D, H, T, B = 256, 4, 256, 4, 128, 16


class LoRALinear(nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.up, self.down = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x):
        b, t, _ = x.shape
        h = self.ln1(x)
        q = self.q(h).view(b, t, H, D // H).transpose(1, 2)
        k = self.k(h).view(b, t, H, D // H).transpose(1, 2)
        v = self.v(h).view(b, t, H, D // H).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, D))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, D), nn.Embedding(T, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln = nn.LayerNorm(D)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.ln(x) @ self.tok.weight.t()


model = GPT()
if mode == "lora":
    for p in model.parameters():
        p.requires_grad_(False)
    for b in model.blocks:
        b.q, b.v = LoRALinear(b.q), LoRALinear(b.v)
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=3e-4) if params else None
ids = torch.randint(0, V, (B, T + 1))
x, y = ids[:, :-1], ids[:, 1:]


def step():
    if mode == "infer":
        with torch.no_grad():
            model(x)
    elif mode == "bf16":
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x).reshape(-1, V).float(), y.reshape(-1))
        loss.backward()
        opt.step()
    else:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()


med = stats.timeit(step, steps, 3)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"ms {med * 1e3:.2f}")
print(f"tokens_per_sec {B * T / med:.1f}")
print(f"peak_rss {rss}")
