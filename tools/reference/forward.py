#!/usr/bin/python3
"""PyTorch twin of bitlm's inference forward: the papers' BitLinear inference (003 Fig. 12).

Reads a GGUF written by bitlm (`bitlm synth --shape micro`), runs a fixed token sequence through the
model with per-token absmax int8 activations (003 eq. 6-7) and ternary weights whose scale is applied
after the integer matmul, and writes every layer's residual stream and the final logits to a
safetensors file that tests/model/reference_forward_test.cpp compares with the C++ runtime.

  /usr/bin/python3 tools/reference/forward.py --model tests/data/ref/micro.gguf \
      --out tests/data/ref/micro_forward.safetensors

Regenerate only when the math changes on purpose, and say so in the commit message.
"""
import argparse
import json
import math
import struct

import numpy as np
import torch

import gguf_min


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def activation_quant(x):
    """003 Fig. 12 activation_norm_quant without the norm (applied by the caller): int8 codes + scale."""
    scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp(min=1e-5)
    return (x * scale).round().clamp(-128, 127), scale


def bitlinear(x, w_ternary, w_scale, act):
    """y = (x_q . W) * beta / x_scale: the scales applied after the integer matmul (003 Fig. 12)."""
    if act == "none":
        return (x @ w_ternary.t()) * w_scale
    xq, xs = activation_quant(x)
    return (xq @ w_ternary.t()) * w_scale / xs


def rope_neox(x, pos, theta):
    """Rotates pairs (i, i + d/2) of each head, HF rotate_half convention. x: (T, H, Dh)."""
    dh = x.shape[-1]
    inv = theta ** (-torch.arange(0, dh, 2, dtype=torch.float64) / dh)
    ang = (pos[:, None].double() * inv[None, :]).float()
    cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attention(q, k, v):
    """Causal grouped-query attention. q: (T, H, Dh); k, v: (T, Hkv, Dh)."""
    T, H, Dh = q.shape
    group = H // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(Dh)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * Dh)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=12)
    ap.add_argument("--act", choices=["int8", "none"], default="int8")
    args = ap.parse_args()

    meta, tensors = gguf_min.read(args.model)
    arch = meta["general.architecture"]
    key = lambda k: meta[f"{arch}.{k}"]
    n_layer, n_head, n_head_kv = key("block_count"), key("attention.head_count"), key("attention.head_count_kv")
    eps, theta = key("attention.layer_norm_rms_epsilon"), meta.get(f"{arch}.rope.freq_base", 10000.0)
    act_fn = meta.get(f"{arch}.feed_forward_activation", "relu2" if arch in ("bitnet-b1.58", "bitnet-25") else "silu")

    def dense(name):
        return torch.from_numpy(np.array(tensors[name][2], dtype=np.float32))

    def ternary(name):
        w, s = tensors[name][2]
        return torch.from_numpy(w.astype(np.float32)), float(s)

    embd = dense("token_embd.weight")
    head = dense("output.weight") if "output.weight" in tensors else embd
    vocab, D = embd.shape
    tokens = torch.tensor([(i * 7919 + 11) % vocab for i in range(args.tokens)])
    pos = torch.arange(args.tokens)
    out = {"tokens": tokens.to(torch.int32)}

    x = embd[tokens]
    out["embd"] = x.clone()
    for l in range(n_layer):
        p = f"blk.{l}."
        h = rms_norm(x, dense(p + "attn_norm.weight"), eps)
        q = bitlinear(h, *ternary(p + "attn_q.weight"), args.act)
        k = bitlinear(h, *ternary(p + "attn_k.weight"), args.act)
        v = bitlinear(h, *ternary(p + "attn_v.weight"), args.act)
        dh = q.shape[1] // n_head
        q = rope_neox(q.view(-1, n_head, dh), pos, theta)
        k = rope_neox(k.view(-1, n_head_kv, dh), pos, theta)
        # The runtime's KV cache stores K and V in f16 (as llama.cpp's default cache does).
        k, v = k.half().float(), v.half().float()
        out[f"l{l}.attn_norm"] = h.clone()
        out[f"l{l}.Qcur"] = q.reshape(q.shape[0], -1).clone()
        a = attention(q, k, v.view(-1, n_head_kv, dh))
        out[f"l{l}.kqv_out"] = a.clone()
        a = rms_norm(a, dense(p + "attn_sub_norm.weight"), eps)  # SubLN before W_o
        x = x + bitlinear(a, *ternary(p + "attn_output.weight"), args.act)
        out[f"l{l}.ffn_inp"] = x.clone()
        h = rms_norm(x, dense(p + "ffn_norm.weight"), eps)
        gate = bitlinear(h, *ternary(p + "ffn_gate.weight"), args.act)
        up = bitlinear(h, *ternary(p + "ffn_up.weight"), args.act)
        f = (torch.nn.functional.silu(gate) if act_fn == "silu" else torch.relu(gate).pow(2)) * up
        out[f"l{l}.ffn_act"] = f.clone()
        f = rms_norm(f, dense(p + "ffn_sub_norm.weight"), eps)  # SubLN before W_down
        x = x + bitlinear(f, *ternary(p + "ffn_down.weight"), args.act)
        out[f"l{l}.l_out"] = x.clone()
    x = rms_norm(x, dense("output_norm.weight"), eps)
    out["result_norm"] = x.clone()
    out["logits"] = x @ head.t()
    write_safetensors(args.out, out)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        arr = t.contiguous().numpy()
        dtype = {"float32": "F32", "int32": "I32"}[str(arr.dtype)]
        blob = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
