#!/usr/bin/python3
"""PyTorch twin of bitlm's post-training quantizers (src/quant/ptq.h; 003 Table 3's baselines).

Writes a small layer W (12 x 32), a calibration batch X (64 x 32; column 5 never active, columns
1 and 2 correlated) and what each quantizer makes of them to tests/data/ref/ptq.safetensors, which
tests/quant/ptq_test.cpp compares with the C++ code:
  - absmax: per-row weights at 8 / 4 bits, per-token activations at 8 / 4 bits (003 eq. 6-7 with
    Qp = 2^(b-1) - 1, Qn = -2^(b-1)); 1.58 bits = absmean ternary * beta (eq. 3-5), 1 bit =
    sign(W - mean W) * beta (eq. 1-2);
  - GPTQ (Frantar et al. 2022, Algorithm 1, without the lazy block updates, which change nothing
    but speed when groups do not straddle blocks), in float64: H = 2/n X^T X, dead columns zeroed,
    damp 0.01 * mean(diag H), Hinv = upper Cholesky of H^-1, min-max asymmetric grid (GPTQ's
    Quantizer with sym=False) per row, or per group of columns fitted when the group starts.

  /usr/bin/python3 tools/reference/ptq_reference.py --out tests/data/ref/ptq.safetensors

Regenerate only when the math changes on purpose, and say so in the commit message.
"""
import argparse

import torch

from forward import write_safetensors


def absmax_rows(x, bits):
    qp = 2 ** (bits - 1) - 1
    s = qp / x.abs().max(dim=-1, keepdim=True).values.clamp(min=1e-5)
    return (x * s).round().clamp(-qp - 1, qp) / s


def absmean_ternary(w):
    beta = w.abs().mean()
    return (w / beta.clamp(min=1e-5)).round().clamp(-1, 1) * beta


def sign_binary(w):
    alpha, beta = w.mean(), w.abs().mean()
    return torch.where(w - alpha > 0, 1.0, -1.0) * beta


def minmax_grid(x, bits):
    """GPTQ's Quantizer.find_params (per channel, sym=False) over rows of x: scale, zero."""
    maxq = 2 ** bits - 1
    lo = torch.minimum(x.min(dim=1).values, torch.zeros(x.shape[0], dtype=x.dtype))
    hi = torch.maximum(x.max(dim=1).values, torch.zeros(x.shape[0], dtype=x.dtype))
    both0 = (lo == 0) & (hi == 0)
    lo[both0], hi[both0] = -1, 1
    scale = (hi - lo) / maxq
    zero = torch.round(-lo / scale)
    return scale, zero, maxq


def gptq(w, x, bits, group_size, damp=0.01):
    w = w.double().clone()
    x = x.double()
    cols = w.shape[1]
    h = 2.0 * x.t() @ x / x.shape[0]
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    h += damp * torch.mean(torch.diag(h)) * torch.eye(cols, dtype=torch.float64)
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    q = torch.zeros_like(w)
    scale, zero, maxq = minmax_grid(w, bits)
    for i in range(cols):
        if group_size > 0 and i % group_size == 0:
            scale, zero, maxq = minmax_grid(w[:, i:i + group_size], bits)
        col = w[:, i]
        qi = scale * (torch.clamp(torch.round(col / scale) + zero, 0, maxq) - zero)
        q[:, i] = qi
        err = (col - qi) / hinv[i, i]
        w[:, i + 1:] -= err.unsqueeze(1) @ hinv[i, i + 1:].unsqueeze(0)
    return q.float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(7)
    w = torch.randn(12, 32, generator=g) * 0.1
    w[3] *= 4  # one row of a larger scale
    x = torch.randn(64, 32, generator=g)
    x[:, 2] = 0.9 * x[:, 1] + 0.1 * x[:, 2]  # correlated inputs: where GPTQ's error feedback matters
    x[:, 5] = 0  # a dead input
    x[:, 7] *= 5  # an outlier channel
    out = {"w": w, "x": x}
    for bits in (8, 4):
        out[f"absmax_w{bits}"] = absmax_rows(w, bits)
        out[f"absmax_a{bits}"] = absmax_rows(x, bits)
    out["absmax_w1.58"] = absmean_ternary(w)
    out["absmax_w1"] = sign_binary(w)
    for bits, group in ((4, 0), (2, 0), (4, 8), (3, 16)):
        out[f"gptq_w{bits}_g{group}"] = gptq(w, x, bits, group)
    write_safetensors(args.out, out)


if __name__ == "__main__":
    main()
