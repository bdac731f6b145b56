#!/usr/bin/python3
"""PyTorch side of `npm run bench -- --scale`: one shape (the same Llama-style model as bench/scale-child.mjs:
grouped-query attention, SwiGLU, RoPE, tied head), AdamW train steps and KV-cached decoding, in its own
process so that its peak RSS is this shape's. Prints one JSON object.
    /usr/bin/python3 bench/torch_scale.py '<shape json>' <trainReps> <decodeReps> [--threads 1]
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, h, kv, hid):
        super().__init__()
        self.h, self.kv, self.hd = h, kv, d // h
        self.n1 = torch.nn.Parameter(torch.ones(d))
        self.n2 = torch.nn.Parameter(torch.ones(d))
        self.qkv = torch.nn.Linear(d, (h + 2 * kv) * self.hd, bias=False)
        self.o = torch.nn.Linear(h * self.hd, d, bias=False)
        self.w13 = torch.nn.Linear(d, 2 * hid, bias=False)
        self.w2 = torch.nn.Linear(hid, d, bias=False)

    @staticmethod
    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm(x, self.n1)).split([self.h * self.hd, self.kv * self.hd, self.kv * self.hd], -1)
        q, k, v = q.view(B, T, self.h, self.hd), k.view(B, T, self.kv, self.hd), v.view(B, T, self.kv, self.hd)
        rot = lambda t: t * cos + torch.cat([-t[..., self.hd // 2 :], t[..., : self.hd // 2]], -1) * sin
        q, k, v = rot(q).transpose(1, 2), rot(k).transpose(1, 2), v.transpose(1, 2)
        if cache is not None:  # preallocated [B, kv, S, hd], written in place
            cache[0][:, :, pos : pos + T] = k
            cache[1][:, :, pos : pos + T] = v
            k, v = cache[0][:, :, : pos + T], cache[1][:, :, : pos + T]
        rep = self.h // self.kv
        qg = q.reshape(B, self.kv, rep * T, self.hd)
        s = (qg @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if T > 1:
            S = k.shape[2]
            mask = torch.full((T, S), float("-inf")).triu(S - T + 1)
            s = s + mask.repeat(rep, 1)
        a = (torch.softmax(s, -1) @ v).reshape(B, self.h, T, self.hd)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, self.h * self.hd))
        g, u = self.w13(self.norm(x, self.n2)).chunk(2, -1)
        return x + self.w2(F.silu(g) * u)


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.c = c
        self.emb = torch.nn.Embedding(c["vocabSize"], d)
        self.blocks = torch.nn.ModuleList([Block(d, c["nHeads"], c["nKvHeads"], c["hiddenDim"]) for _ in range(c["nLayers"])])
        self.nf = torch.nn.Parameter(torch.ones(d))
        hd = d // c["nHeads"]
        inv = c.get("ropeTheta", 10000) ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(1024).float()[:, None] * inv[None]
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
            x = b(x, cos, sin, None if caches is None else caches[i], start)
        return Block.norm(x, self.nf) @ self.emb.weight.T


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape")
    ap.add_argument("train_reps", type=int)
    ap.add_argument("decode_reps", type=int)
    ap.add_argument("--threads", type=int, default=1)
    # tools/device/gpu-check.sh: the same model and workloads on CUDA (timings synchronise the device).
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.device != "cpu":
        torch.set_default_device(args.device)
    torch.manual_seed(0)
    shape = json.loads(args.shape)
    c = shape["model"]
    m = Model(c)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, c["vocabSize"], (shape["batch"], shape["seqLen"] + 1))

    def train():
        loss = F.cross_entropy(m(ids[:, :-1]).reshape(-1, c["vocabSize"]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    d = shape["decode"]

    def decode_rows(batch, prompt, new):
        with torch.no_grad():
            S = prompt + new
            hd = c["dim"] // c["nHeads"]
            caches = [[torch.zeros(batch, c["nKvHeads"], S, hd), torch.zeros(batch, c["nKvHeads"], S, hd)] for _ in m.blocks]
            logits = m(torch.randint(0, c["vocabSize"], (batch, prompt)), 0, caches)
            tok = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)
            for i in range(new - 1):
                tok = torch.multinomial(torch.softmax(m(tok, prompt + i, caches)[:, -1], -1), 1)

    def decode():
        decode_rows(d["batch"], d["prompt"], d["newTokens"])

    r = shape.get("rmt")

    def rmt_step():
        # As bench/scale-child.mjs: rollouts of r.sites × r.group (KV-cached sampling), then the clipped
        # policy loss on them plus 0.1 × NTP on the sites' windows, one AdamW step.
        rows = r["sites"] * r["group"]
        decode_rows(rows, r["ctx"], r["gen"])
        seq = torch.randint(0, c["vocabSize"], (rows, r["ctx"] + r["gen"] + 1))
        adv = torch.randn(rows)
        logp = torch.log_softmax(m(seq[:, :-1]), -1).gather(-1, seq[:, 1:, None])[..., 0]
        ratio = torch.exp(logp - logp.detach())
        pl = -torch.minimum(ratio * adv[:, None], ratio.clamp(0.8, 1.2) * adv[:, None])[:, r["ctx"] - 1 :].mean()
        win = torch.randint(0, c["vocabSize"], (r["sites"], r["ctx"] + 1))
        ntp = F.cross_entropy(m(win[:, :-1]).reshape(-1, c["vocabSize"]), win[:, 1:].reshape(-1))
        opt.zero_grad()
        (pl + 0.1 * ntp).backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    synced = lambda f: (lambda: (f(), sync()))
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    mm = statistics.median(timed(synced(lambda: a @ b), 10, 3))
    train_all = timed(synced(train), args.train_reps, shape.get("warmup", 1 if args.train_reps > 1 else 0))
    decode_all = [t / d["newTokens"] for t in timed(synced(decode), args.decode_reps, shape.get("warmup", 1))]
    rmt = {"rmt_step_ms": 1000 * statistics.median(timed(synced(rmt_step), 1, 0 if shape.get("warmup") == 0 else 1))} if r else {}
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "matmul_gflops": 2 * 1024**3 / mm / 1e9,
        "parameters": sum(p.numel() for p in m.parameters()),
        "train_ms": 1000 * statistics.median(train_all),
        "train_all_ms": [1000 * t for t in train_all],
        "decode_ms": 1000 * statistics.median(decode_all),
        "decode_all_ms": [1000 * t for t in decode_all],
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        **rmt,
    }))


if __name__ == "__main__":
    main()
