#!/usr/bin/python3
"""bitlm train's tokens/s with tools/reference/train_speed.py's statistic: the median per-step rate
over the steps after the first (which warms up), from metrics.jsonl's cumulative elapsed_s, so the
bitlm-vs-PyTorch ratio of docs/performance.md compares like with like (the last metrics line's
tokens_per_s is cumulative and includes the first step).

  tools/train_step_rate.py OUT_DIR/metrics.jsonl
"""
import json
import statistics
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rows = [r for r in rows if "elapsed_s" in r and "tokens" in r]
    if len(rows) < 2:
        sys.exit(f"{sys.argv[1]}: need at least 2 steps with elapsed_s and tokens")
    tps = [(b["tokens"] - a["tokens"]) / (b["elapsed_s"] - a["elapsed_s"]) for a, b in zip(rows, rows[1:])]
    print(f"bitlm: {statistics.median(tps):.0f} tokens/s (min {min(tps):.0f}, max {max(tps):.0f}) "
          f"over {len(tps)} steps after the first")


if __name__ == "__main__":
    main()
