#!/usr/bin/python3
"""PyTorch twin of bitlm's elastic activation quantizer (003 sec. 5 / Table 9: Liu et al. 2022 BiT's
elastic function in LSQ's symmetric form, Esser et al. 2020), written the way LSQ's own code writes it:

    s     = grad_scale(alpha, 1 / sqrt(K * Qp))          # value alpha, gradient times the LSQ scale
    x_q   = round_pass(clamp(x / s, -Qp, Qp)) * s        # round with a straight-through gradient

and differentiated by autograd, so the C++ hand-written backward (src/ops/bitlinear.cpp
elastic_quantize_backward: round(u) - u inside the clip range, +-Qp outside, STE for x inside only) is
checked against an independent derivation rather than against its own formula. Qp = 127, K = features
per token. The division is written as a multiplication by 1/alpha in float32, as the C++ quantizer does,
so the integer codes are the same; float32 throughout.

Writes tests/data/ref/elastic.safetensors (x 8 x 48 with outliers beyond the clip range, alpha, a
random upstream gradient dy, and x_q, dx, dalpha), read by tests/train/elastic_reference_test.cpp.

  /usr/bin/python3 tools/reference/elastic_reference.py --out tests/data/ref/elastic.safetensors

Regenerate only when the math changes on purpose, and say so in the commit message.
"""
import argparse

import torch

from forward import write_safetensors

QP = 127


def grad_scale(x, scale):
    return (x - x * scale).detach() + x * scale


def round_pass(x):
    return (x.round() - x).detach() + x


def elastic_quantize(x, alpha):
    k = x.shape[-1]
    s = grad_scale(alpha, 1.0 / (k * QP) ** 0.5)
    u = x * (1.0 / s)
    return round_pass(u.clamp(-QP, QP)) * s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(11)
    x = torch.randn(8, 48, generator=g)
    x[2, 5] = 9.0  # outliers: beyond alpha * Qp, where the clip bound's gradient applies
    x[6, 40] = -7.5
    x[4] *= 3
    alpha = torch.tensor([x.abs().max().item() / QP * 0.4], requires_grad=True)
    xr = x.clone().requires_grad_(True)
    dy = torch.randn(8, 48, generator=g)
    xq = elastic_quantize(xr, alpha)
    xq.backward(dy)
    clipped = int(((x * (1.0 / alpha.detach())).abs() > QP).sum())
    assert clipped >= 2, clipped
    write_safetensors(args.out, {"x": x, "alpha": alpha.detach(), "dy": dy, "x_q": xq.detach(),
                                 "dx": xr.grad.detach(), "dalpha": alpha.grad.detach()})
    print(f"wrote {args.out}: {clipped} of {x.numel()} inputs clipped, dalpha {alpha.grad.item():.6g}")


if __name__ == "__main__":
    main()
