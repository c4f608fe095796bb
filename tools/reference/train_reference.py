#!/usr/bin/python3
"""PyTorch twin of bitlm's training step (src/train/train_model.cpp, src/train/optimizer.cpp).

The model is the `bitnet` layout with the BitLinear of paper 003, Figure 11 (norm outside the
layer: attn_norm shared by q/k/v, SubLN before W_o and W_down), NEOX RoPE, causal GQA, tied or
untied fp embedding/head. The whole computation runs in float64, so the committed numbers are the
math, not one float32 summation order. For each config it writes
tests/data/ref/train_<name>.safetensors with:
  inputs, targets (I32, n_seq*seq_len), init.<param>, grad.<param> (the first step's mean-loss
  gradient), final.<param> (after 3 AdamW steps), loss (F32[3], mean loss before each step),
and the config in the safetensors __metadata__.
Run: /usr/bin/python3 tools/reference/train_reference.py   (torch 1.13, CPU)
Regenerate only when the training math changes on purpose, and say so in the commit message.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "ref")

CONFIGS = {
    "b158_tied_silu": dict(weight_mode="b1.58", tied_embedding=True, activation="silu"),
    "b1_untied_relu2": dict(weight_mode="b1", tied_embedding=False, activation="relu2"),
    "fp_tied_silu": dict(weight_mode="fp", tied_embedding=True, activation="silu"),
}
SHAPE = dict(n_vocab=61, n_embd=32, n_ff=48, n_layer=2, n_head=4, n_head_kv=2, seq_len=8,
             rms_eps=1e-5, rope_theta=10000.0)
N_SEQ, STEPS = 3, 3
OPT = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1)
INIT_STD = 0.5


# Figure 11 of 003 (BitNet b1.58 PyTorch code).
def activation_quant(x):
    scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
    return (x * scale).round().clamp_(-128, 127) / scale


def weight_quant_ternary(w):
    scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
    return (w * scale).round().clamp_(-1, 1) / scale


def weight_quant_binary(w):  # BitNet b1 (eq. 1-2): Sign(W - alpha) times beta = mean|W|
    alpha = w.mean()
    return torch.where(w - alpha > 0, 1.0, -1.0) * w.abs().mean()


def bitlinear(x, w, mode):
    if mode == "fp":
        return F.linear(x, w)
    wq = weight_quant_ternary(w) if mode == "b1.58" else weight_quant_binary(w)
    x_quant = x + (activation_quant(x) - x).detach()  # STE
    w_quant = w + (wq - w).detach()
    return F.linear(x_quant, w_quant)


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope_neox(x, n_heads, head_dim, theta):  # x: (B, T, n_heads*head_dim)
    B, T, _ = x.shape
    half = head_dim // 2
    inv = theta ** (-2.0 * torch.arange(half) / head_dim)
    ang = torch.arange(T)[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x = x.view(B, T, n_heads, head_dim)
    a, b = x[..., :half], x[..., half:]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.cat([a * c - b * s, b * c + a * s], dim=-1).view(B, T, n_heads * head_dim)


def attention(q, k, v, H, Hkv, Dh):
    B, T, _ = q.shape
    q = q.view(B, T, H, Dh).transpose(1, 2)
    k = k.view(B, T, Hkv, Dh).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
    v = v.view(B, T, Hkv, Dh).transpose(1, 2).repeat_interleave(H // Hkv, dim=1)
    s = q @ k.transpose(-1, -2) / (Dh ** 0.5)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * Dh)


def param_names(c):
    names = ["token_embd.weight"]
    for l in range(c["n_layer"]):
        names += [f"blk.{l}.{w}.weight" for w in ("attn_norm", "attn_q", "attn_k", "attn_v",
                  "attn_sub_norm", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                  "ffn_sub_norm", "ffn_down")]
    names.append("output_norm.weight")
    if not c["tied_embedding"]:
        names.append("output.weight")
    return names


def shapes(c):
    D, Fd, V = c["n_embd"], c["n_ff"], c["n_vocab"]
    Dh = D // c["n_head"]
    Q, KV = c["n_head"] * Dh, c["n_head_kv"] * Dh
    per = dict(attn_norm=(D,), attn_q=(Q, D), attn_k=(KV, D), attn_v=(KV, D), attn_sub_norm=(Q,),
               attn_output=(D, Q), ffn_norm=(D,), ffn_gate=(Fd, D), ffn_up=(Fd, D),
               ffn_sub_norm=(Fd,), ffn_down=(D, Fd))
    out = {}
    for n in param_names(c):
        if n in ("token_embd.weight", "output.weight"):
            out[n] = (V, D)
        elif n == "output_norm.weight":
            out[n] = (D,)
        else:
            out[n] = per[n.split(".")[2]]
    return out


def forward(p, c, inputs, targets):
    H, Hkv, D = c["n_head"], c["n_head_kv"], c["n_embd"]
    Dh, eps, mode = D // H, c["rms_eps"], c["weight_mode"]
    x = p["token_embd.weight"][inputs]
    for l in range(c["n_layer"]):
        w = lambda n: p[f"blk.{l}.{n}.weight"]
        h = rms_norm(x, w("attn_norm"), eps)
        q = rope_neox(bitlinear(h, w("attn_q"), mode), H, Dh, c["rope_theta"])
        k = rope_neox(bitlinear(h, w("attn_k"), mode), Hkv, Dh, c["rope_theta"])
        v = bitlinear(h, w("attn_v"), mode)
        a = rms_norm(attention(q, k, v, H, Hkv, Dh), w("attn_sub_norm"), eps)
        x = x + bitlinear(a, w("attn_output"), mode)
        h = rms_norm(x, w("ffn_norm"), eps)
        g, u = bitlinear(h, w("ffn_gate"), mode), bitlinear(h, w("ffn_up"), mode)
        f = (F.silu(g) if c["activation"] == "silu" else F.relu(g) ** 2) * u
        x = x + bitlinear(rms_norm(f, w("ffn_sub_norm"), eps), w("ffn_down"), mode)
    head = p["token_embd.weight"] if c["tied_embedding"] else p["output.weight"]
    logits = F.linear(rms_norm(x, p["output_norm.weight"], eps), head)
    return F.cross_entropy(logits.reshape(-1, c["n_vocab"]), targets.reshape(-1), ignore_index=-1)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.float32: "F32", np.float64: "F64", np.int32: "I32"}[arr.dtype.type]
        header[name] = dict(dtype=dtype, shape=list(arr.shape), data_offsets=[offset, offset + arr.nbytes])
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run(name, overrides, seed):
    c = dict(SHAPE, **overrides)
    rng = np.random.default_rng(seed)
    n = N_SEQ * c["seq_len"]
    inputs = rng.integers(0, c["n_vocab"], n).astype(np.int32)
    targets = rng.integers(0, c["n_vocab"], n).astype(np.int32)
    targets[5] = -1  # an ignored position
    init = {}
    for pname, shp in shapes(c).items():  # f32 values: the C++ test starts from exactly these
        v = np.ones(shp) if len(shp) == 1 else rng.normal(0, INIT_STD, shp)
        init[pname] = v.astype(np.float32)
    p = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in init.items()}
    decay = [p[k] for k in p if len(init[k].shape) == 2 and k != "token_embd.weight"]
    no_decay = [p[k] for k in p if not (len(init[k].shape) == 2 and k != "token_embd.weight")]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=OPT["weight_decay"]),
                             dict(params=no_decay, weight_decay=0.0)],
                            lr=OPT["lr"], betas=(OPT["beta1"], OPT["beta2"]), eps=OPT["eps"])
    x = torch.tensor(inputs, dtype=torch.long).view(N_SEQ, c["seq_len"])
    y = torch.tensor(targets, dtype=torch.long).view(N_SEQ, c["seq_len"])
    losses, grads = [], None
    for step in range(STEPS):
        opt.zero_grad()
        loss = forward(p, c, x, y)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads = {k: v.grad.detach().numpy().astype(np.float32) for k, v in p.items()}
        opt.step()
    tensors = {"inputs": inputs, "targets": targets, "loss": np.array(losses, dtype=np.float32)}
    for k in init:
        tensors[f"init.{k}"] = init[k]
        tensors[f"grad.{k}"] = grads[k]
        tensors[f"final.{k}"] = p[k].detach().numpy().astype(np.float32)
    meta = {k: str(v) for k, v in c.items()}
    meta.update({k: str(v) for k, v in OPT.items()})
    meta["n_seq"], meta["steps"] = str(N_SEQ), str(STEPS)
    path = os.path.join(OUT_DIR, f"train_{name}.safetensors")
    write_safetensors(path, tensors, meta)
    print(f"{path}: losses {losses}")


if __name__ == "__main__":
    for i, (name, overrides) in enumerate(CONFIGS.items()):
        run(name, overrides, seed=100 + i)
