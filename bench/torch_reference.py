#!/usr/bin/python3
"""PyTorch reference for `npm run bench`: the same Llama-style model and workloads as bench/run.mjs.

Run with Debian's python3 and python3-torch (+ libopenblas0-pthread); prints one JSON object.
    /usr/bin/python3 bench/torch_reference.py --reps 5
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

C = dict(dim=128, layers=4, heads=4, hidden=344, vocab=512, ctx=64)


class Block(torch.nn.Module):
    def __init__(self, d, h, hid):
        super().__init__()
        self.h, self.hd = h, d // h
        self.n1 = torch.nn.Parameter(torch.ones(d))
        self.n2 = torch.nn.Parameter(torch.ones(d))
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.w13 = torch.nn.Linear(d, 2 * hid, bias=False)
        self.w2 = torch.nn.Linear(hid, d, bias=False)

    @staticmethod
    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, cache=None):
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm(x, self.n1)).view(B, T, 3, self.h, self.hd).unbind(2)
        rot = lambda t: t * cos + torch.cat([-t[..., self.hd // 2 :], t[..., : self.hd // 2]], -1) * sin
        q, k = rot(q).transpose(1, 2), rot(k).transpose(1, 2)
        v = v.transpose(1, 2)
        if cache is not None:
            if cache[0] is not None:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if T > 1:  # causal (prefill or training); one new token sees the whole cache
            s = s + torch.full((T, k.shape[2]), float("-inf")).triu(k.shape[2] - T + 1)
        a = torch.softmax(s, -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        g, u = self.w13(self.norm(x, self.n2)).chunk(2, -1)
        return x + self.w2(F.silu(g) * u)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        d = C["dim"]
        self.emb = torch.nn.Embedding(C["vocab"], d)
        self.blocks = torch.nn.ModuleList([Block(d, C["heads"], C["hidden"]) for _ in range(C["layers"])])
        self.nf = torch.nn.Parameter(torch.ones(d))
        hd = d // C["heads"]
        inv = 10000 ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(256).float()[:, None] * inv[None]
        self.cos = torch.cat([ang.cos(), ang.cos()], -1)
        self.sin = torch.cat([ang.sin(), ang.sin()], -1)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0, 1 / math.sqrt(d))

    def forward(self, ids, start=0, caches=None):
        T = ids.shape[1]
        cos = self.cos[start : start + T][None, :, None, :]
        sin = self.sin[start : start + T][None, :, None, :]
        x = self.emb(ids)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if caches is None else caches[i])
        return Block.norm(x, self.nf) @ self.emb.weight.T


def timed(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    # One thread by default: on this machine kind (2 vCPUs) two threads measured slower (77 vs 36 ms/step).
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m = Model()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, C["vocab"], (8, C["ctx"] + 1))

    def train():
        loss = F.cross_entropy(m(ids[:, :-1]).reshape(-1, C["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    def decode(batch=16, prompt=16, new=64):
        with torch.no_grad():
            caches = [[None, None] for _ in m.blocks]
            logits = m(torch.randint(0, C["vocab"], (batch, prompt)), 0, caches)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            for i in range(new):
                tok = m(tok, prompt + i, caches)[:, -1].argmax(-1, keepdim=True)

    def rmt_step(rows=128, ctx=48, gen=32):
        decode(rows, ctx, gen)
        seq = torch.randint(0, C["vocab"], (rows, ctx + gen + 1))
        adv = torch.randn(rows)
        logp = torch.log_softmax(m(seq[:, :-1]), -1).gather(-1, seq[:, 1:, None])[..., 0]
        ratio = torch.exp(logp - logp.detach())
        pl = -torch.minimum(ratio * adv[:, None], ratio.clamp(0.8, 1.2) * adv[:, None])[:, ctx - 1 :].mean()
        ntp = F.cross_entropy(m(seq[:16, :48]).reshape(-1, C["vocab"]), seq[:16, 1:49].reshape(-1))
        opt.zero_grad()
        (pl + 0.1 * ntp).backward()
        opt.step()

    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    mm = timed(lambda: a @ b, 10)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "matmul_gflops": 2 * 1024**3 / mm / 1e9,
        # As bench/run.mjs: 4× the repetitions for the train step, 2× for decoding.
        "train_ms": 1000 * timed(train, 4 * args.reps),
        "decode_ms_per_token": 1000 * timed(decode, 2 * args.reps) / 64,
        "rmt_step_s": timed(rmt_step, max(2, args.reps // 2), warmup=1),
    }))


if __name__ == "__main__":
    main()
