#!/usr/bin/python3
"""Training speed of the PyTorch reference (003 Fig. 11 BitLinear, float32, torch's AdamW) on the
same model and batch as a bitlm config, for docs/performance.md's bitlm-vs-PyTorch ratio.

  OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3 \
      tools/reference/train_speed.py --config configs/tinystories-b158.json --steps 8 --threads 2
Set OPENBLAS_CORETYPE where OpenBLAS does not recognise the CPU (a VM's generic "Intel Xeon
Processor" falls back to the SSE3 'Prescott' kernels, ~4x slower sgemm): the baseline must be
PyTorch at its best (docs/performance.md).
Prints tokens/s (median over the steps after the first, which warms up).
"""
import argparse
import json
import statistics
import time

import torch

import train_reference as ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)  # train_reference computes in float64 for exactness
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # bmm backward hits denormals (7 s instead of 0.5 s per step)
    cfg = json.load(open(args.config))
    m = cfg["model"]
    vocab = 4096
    c = dict(n_vocab=vocab, n_embd=m["n_embd"], n_ff=m["n_ff"], n_layer=m["n_layer"],
             n_head=m["n_head"], n_head_kv=m["n_head_kv"], seq_len=m["seq_len"], rms_eps=1e-5,
             rope_theta=10000.0, weight_mode=m["weight_mode"], tied_embedding=m["tied_embedding"],
             activation=m["activation"])
    p = {n: (torch.randn(s) * 0.02 if len(s) == 2 else torch.ones(s)).requires_grad_()
         for n, s in ref.shapes(c).items()}
    opt = torch.optim.AdamW(p.values(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    B, T = cfg["batch_size"], m["seq_len"]
    times = []
    for _ in range(args.steps):
        tokens = torch.randint(0, vocab, (B, T + 1))
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = ref.forward(p, c, tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    tps = [B * T / t for t in times[1:]]
    print(f"pytorch {torch.__version__} threads {args.threads}: {statistics.median(tps):.0f} tokens/s "
          f"(min {min(tps):.0f}, max {max(tps):.0f}) over {len(tps)} steps, batch {B}x{T}")


if __name__ == "__main__":
    main()
