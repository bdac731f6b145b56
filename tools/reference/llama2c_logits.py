#!/usr/bin/python3
"""Independent float64 reference for @rmt/model's tests: a llama2.c forward pass in NumPy.

Written from run.c's description (adjacent-pair RoPE, GQA, SwiGLU, RMSNorm), sharing no code with the
TypeScript model. Prints JSON: the prompt's tokens (run.c's encoding) and the logits of every position.

    /usr/bin/python3 tools/reference/llama2c_logits.py "$RMT_SHARED_DATA/stories260k/stories260K.bin" \
        "$RMT_SHARED_DATA/stories260k/tok512.bin" "Once upon a time, a little cat" \
        > packages/model/test/fixtures/stories260k-logits.json
"""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    data = np.frombuffer(raw[28:], dtype="<f4").astype(np.float64)
    hd = dim // n_heads
    at = 0

    def take(*shape):
        nonlocal at
        n = int(np.prod(shape))
        out = data[at : at + n].reshape(shape)
        at += n
        return out

    w = {
        "emb": take(vocab, dim),
        "rms_att": take(n_layers, dim),
        "wq": take(n_layers, dim, dim),
        "wk": take(n_layers, n_kv * hd, dim),
        "wv": take(n_layers, n_kv * hd, dim),
        "wo": take(n_layers, dim, dim),
        "rms_ffn": take(n_layers, dim),
        "w1": take(n_layers, hidden, dim),
        "w2": take(n_layers, dim, hidden),
        "w3": take(n_layers, hidden, dim),
        "rms_final": take(dim),
    }
    take(seq_len, hd)  # legacy freq_cis
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, vocab=vocab, hd=hd)
    return cfg, w


def rmsnorm(x, g, eps=1e-5):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g


def rope_pairs(x, pos, hd):
    # x: [heads, hd]; rotate (2i, 2i+1) by pos * 10000^(-2i/hd)
    out = x.copy()
    for i in range(0, hd, 2):
        freq = 1.0 / (10000.0 ** (i / hd))
        c, s = np.cos(pos * freq), np.sin(pos * freq)
        a, b = x[:, i], x[:, i + 1]
        out[:, i] = a * c - b * s
        out[:, i + 1] = a * s + b * c
    return out


def forward(cfg, w, tokens):
    dim, hd, nh, nkv = cfg["dim"], cfg["hd"], cfg["n_heads"], cfg["n_kv"]
    rep = nh // nkv
    T = len(tokens)
    x = w["emb"][tokens].copy()  # [T, dim]
    for l in range(cfg["n_layers"]):
        h = rmsnorm(x, w["rms_att"][l])
        q = h @ w["wq"][l].T
        k = h @ w["wk"][l].T
        v = h @ w["wv"][l].T
        q = np.stack([rope_pairs(q[t].reshape(nh, hd), t, hd) for t in range(T)])  # [T, nh, hd]
        k = np.stack([rope_pairs(k[t].reshape(nkv, hd), t, hd) for t in range(T)])  # [T, nkv, hd]
        v = v.reshape(T, nkv, hd)
        out = np.zeros((T, nh, hd))
        for head in range(nh):
            kv = head // rep
            scores = q[:, head, :] @ k[:, kv, :].T / np.sqrt(hd)  # [T, T]
            scores = scores + np.triu(np.full((T, T), -np.inf), 1)
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
            out[:, head, :] = scores @ v[:, kv, :]
        x = x + out.reshape(T, dim) @ w["wo"][l].T
        h = rmsnorm(x, w["rms_ffn"][l])
        g = h @ w["w1"][l].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ w["w3"][l].T)) @ w["w2"][l].T
    return rmsnorm(x, w["rms_final"]) @ w["cls"].T


def encode(tok_path, vocab, text):
    """run.c's encode: BOS, dummy " ", a piece per UTF-8 character (byte fallback id = byte + 3), then
    merge the best-scoring adjacent pair until none merges."""
    with open(tok_path, "rb") as f:
        raw = f.read()
    at = 4
    pieces, scores = [], []
    for _ in range(vocab):
        score, n = struct.unpack("<fi", raw[at : at + 8])
        pieces.append(raw[at + 8 : at + 8 + n])
        scores.append(score)
        at += 8 + n
    index = {}
    for i, p in enumerate(pieces):
        index.setdefault(p, i)
    ids = [index[b" "]] if text else []
    for ch in text:
        b = ch.encode("utf-8")
        ids += [index[b]] if b in index else [x + 3 for x in b]
    while True:
        best = None
        for i in range(len(ids) - 1):
            j = index.get(pieces[ids[i]] + pieces[ids[i + 1]])
            if j is not None and (best is None or scores[j] > best[0]):
                best = (scores[j], j, i)
        if best is None:
            break
        ids[best[2] : best[2] + 2] = [best[1]]
    return [1] + ids


if __name__ == "__main__":
    # usage: llama2c_logits.py MODEL.bin TOKENIZER.bin "prompt text"
    cfg, w = load(sys.argv[1])
    text = sys.argv[3]
    tokens = encode(sys.argv[2], cfg["vocab"], text)
    logits = forward(cfg, w, tokens)
    json.dump({"text": text, "tokens": tokens, "logits": logits.tolist()}, sys.stdout)
