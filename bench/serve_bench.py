#!/usr/bin/env python3
"""bench/serve_bench.py — load test for `bitlm serve` (or any server with the OpenAI API, such as
llama-server) on loopback: C concurrent streaming clients, each sending requests back to back.

For each concurrency it prints aggregate generated tokens/s (all clients' tokens over the wall time),
each stream's own decode rate (median over requests of (tokens - 1) / (last token - first token),
comparable to `bitlm generate`'s generation t/s), time to first token and inter-token latency (p50 / p99, ms), requests done / failed / 503, and the
server's peak RSS (VmHWM; the RSS over time with --rss-every).

  # start the server itself (on a free port), 1/4/16/64 clients, 64 tokens per request
  bench/serve_bench.py --bitlm build/bin/bitlm -m model.gguf --serve-args "-t 2 --parallel 64" -c 1,4,16,64
  # an already running server (its pid for the RSS)
  bench/serve_bench.py --url http://127.0.0.1:8080 --pid 1234 -c 16
  # the soak: 64 clients for 2 minutes, RSS every 10 s
  bench/serve_bench.py --bitlm ... -m ... -c 64 --duration 120 --rss-every 10

Every request asks for exactly --tokens tokens (ignore_eos, as llama-server's benchmarks do), so
servers and runs compare token for token. Clients are Python threads (stdlib only), so the load
generator takes some CPU beside the server: on a 2-core machine, say so next to the numbers.
Output: a table (stdout), or one JSON object per concurrency with --json.
"""
import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her"


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def rss_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = 0
        self.done = 0
        self.failed = 0
        self.rejected = 0  # 503: the queue is full (documented)
        self.malformed = 0
        self.ttft = []
        self.itl = []
        self.stream_tps = []  # per request: (tokens - 1) / (last token's arrival - first token's)
        self.errors = []


def one_request(host, port, args, stats, deadline):
    body = {"prompt": PROMPT, "max_tokens": args.tokens, "temperature": args.temperature, "ignore_eos": True,
            "stream": True, "stream_options": {"include_usage": True}}
    if args.model:
        body["model"] = args.model
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = "Bearer " + args.api_key
    conn = http.client.HTTPConnection(host, port, timeout=max(60, args.duration or 0) + 60)
    t0 = time.perf_counter()
    try:
        conn.request("POST", "/v1/completions", json.dumps(body), headers)
        res = conn.getresponse()
        if res.status != 200:
            res.read()
            with stats.lock:
                if res.status == 503:
                    stats.rejected += 1
                else:
                    stats.failed += 1
                    stats.errors.append(f"HTTP {res.status}")
            return
        chunks, usage, finish, done, gaps = 0, None, None, False, []
        first = last = None
        buf = b""
        while True:
            data = res.read1(65536) if hasattr(res, "read1") else res.read(1)
            if not data:
                break
            buf += data
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if not line.startswith(b"data: "):
                        continue
                    payload = line[6:]
                    if payload == b"[DONE]":
                        done = True
                        continue
                    j = json.loads(payload)
                    if "error" in j:
                        raise RuntimeError(j["error"].get("message", "error event"))
                    if j.get("usage"):
                        usage = j["usage"]
                    for c in j.get("choices", []):
                        if c.get("text"):
                            now = time.perf_counter()
                            if first is None:
                                first = now
                            else:
                                gaps.append(now - last)
                            last = now
                            chunks += 1
                        if c.get("finish_reason"):
                            finish = c["finish_reason"]
        n = usage["completion_tokens"] if usage else chunks
        ok = done and finish in ("stop", "length") and first is not None
        with stats.lock:
            if not ok:
                stats.malformed += 1
                stats.errors.append(f"malformed stream (done={done}, finish={finish}, chunks={chunks})")
                return
            stats.done += 1
            stats.tokens += n
            stats.ttft.append(first - t0)
            if n > 1 and last > first:
                stats.stream_tps.append((n - 1) / (last - first))
            # A chunk may hold several tokens (the server merges what queued up while the client
            # was busy): scale the gaps so that they add up to the time per token.
            scale = len(gaps) / (n - 1) if n > 1 and gaps else 1
            stats.itl.extend(g * scale for g in gaps)
    except Exception as e:  # connection refused / reset, bad JSON: counted, never fatal
        with stats.lock:
            stats.failed += 1
            stats.errors.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def run_level(host, port, args, clients, pid):
    stats = Stats()
    duration = args.duration
    per_client = args.requests if not duration else 10**9
    t_start = time.perf_counter()
    deadline = t_start + duration if duration else None
    rss_series = []

    def client():
        for _ in range(per_client):
            if deadline and time.perf_counter() >= deadline:
                return
            one_request(host, port, args, stats, deadline)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    next_rss = t_start
    while any(t.is_alive() for t in threads):
        if pid and args.rss_every and time.perf_counter() >= next_rss:
            rss_series.append((round(time.perf_counter() - t_start, 1), rss_kib(pid, "VmRSS") // 1024))
            next_rss += args.rss_every
        for t in threads:
            t.join(timeout=0.2)
            break
    wall = time.perf_counter() - t_start
    if pid and args.rss_every:
        rss_series.append((round(wall, 1), rss_kib(pid, "VmRSS") // 1024))
    return {
        "clients": clients,
        "requests_done": stats.done,
        "requests_failed": stats.failed,
        "requests_503": stats.rejected,
        "malformed": stats.malformed,
        "tokens": stats.tokens,
        "wall_s": round(wall, 3),
        "aggregate_tps": round(stats.tokens / wall, 2) if wall > 0 else 0,
        "ttft_p50_ms": round(percentile(stats.ttft, 50) * 1e3, 1),
        "ttft_p99_ms": round(percentile(stats.ttft, 99) * 1e3, 1),
        "stream_tps_p50": round(percentile(stats.stream_tps, 50), 2),
        "itl_p50_ms": round(percentile(stats.itl, 50) * 1e3, 2),
        "itl_p99_ms": round(percentile(stats.itl, 99) * 1e3, 2),
        "peak_rss_mib": rss_kib(pid, "VmHWM") // 1024 if pid else None,
        "rss_mib_series": rss_series or None,
        "errors": sorted(set(stats.errors))[:5],
    }


def start_server(args):
    log = tempfile.NamedTemporaryFile(prefix="serve_bench_", suffix=".log", delete=False)
    cmd = [args.bitlm, "serve", "-m", args.m, "--port", "0"] + args.serve_args.split()
    proc = subprocess.Popen(cmd, stderr=log, stdout=subprocess.DEVNULL)
    until = time.time() + 300
    while time.time() < until:
        text = open(log.name).read()
        m = re.search(r"listening on http://[^:]+:(\d+)", text)
        if m:
            return proc, int(m.group(1)), log.name
        if proc.poll() is not None:
            sys.exit(f"serve_bench: the server exited {proc.returncode}:\n{text}")
        time.sleep(0.1)
    proc.kill()
    sys.exit("serve_bench: the server did not start in 300 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server (else --bitlm and -m start one)")
    ap.add_argument("--pid", type=int, help="the running server's pid, for its RSS")
    ap.add_argument("--bitlm", help="the bitlm binary to start `bitlm serve` with")
    ap.add_argument("-m", help="model file for --bitlm")
    ap.add_argument("--serve-args", default="", help="more `bitlm serve` options, e.g. \"-t 2 --parallel 64\"")
    ap.add_argument("-c", "--clients", default="1,4,16,64", help="concurrency levels, comma-separated")
    ap.add_argument("-n", "--tokens", type=int, default=64, help="tokens generated per request")
    ap.add_argument("-r", "--requests", type=int, default=2, help="requests per client (without --duration)")
    ap.add_argument("--duration", type=float, default=0, help="seconds per level instead of --requests")
    ap.add_argument("--rss-every", type=float, default=0, help="sample the server's RSS every S seconds")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--model", default="", help="the request's model field (llama-server ignores it too)")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--warmup", type=int, default=1, help="requests before measuring (one client)")
    ap.add_argument("--json", action="store_true", help="one JSON object per level")
    args = ap.parse_args()

    proc = None
    if args.url:
        u = urllib.parse.urlparse(args.url)
        host, port, pid = u.hostname, u.port or 80, args.pid
    elif args.bitlm and args.m:
        proc, port, log = start_server(args)
        host, pid = "127.0.0.1", proc.pid
    else:
        ap.error("give --url, or --bitlm and -m")
    try:
        for _ in range(args.warmup):
            s = Stats()
            one_request(host, port, args, s, None)
            if s.done != 1:
                sys.exit(f"serve_bench: the warm-up request failed: {s.errors or 'HTTP 503'}")
        if not args.json:
            print(f"{'clients':>7} {'done':>5} {'fail':>4} {'503':>4} {'tokens':>7} {'wall s':>7} {'agg t/s':>8} "
                  f"{'stream t/s':>10} {'TTFT p50':>9} {'TTFT p99':>9} {'ITL p50':>8} {'ITL p99':>8} {'peak RSS':>9}")
        for c in [int(x) for x in args.clients.split(",") if x]:
            r = run_level(host, port, args, c, pid)
            if args.json:
                print(json.dumps(r), flush=True)
            else:
                rss = f"{r['peak_rss_mib']} MiB" if r["peak_rss_mib"] else "-"
                print(f"{c:>7} {r['requests_done']:>5} {r['requests_failed'] + r['malformed']:>4} {r['requests_503']:>4} "
                      f"{r['tokens']:>7} {r['wall_s']:>7.1f} {r['aggregate_tps']:>8.1f} {r['stream_tps_p50']:>10.2f} {r['ttft_p50_ms']:>7.0f}ms "
                      f"{r['ttft_p99_ms']:>7.0f}ms {r['itl_p50_ms']:>6.1f}ms {r['itl_p99_ms']:>6.1f}ms {rss:>9}", flush=True)
                if r["rss_mib_series"]:
                    print("        RSS MiB over time (s, MiB): " + " ".join(f"{t}:{m}" for t, m in r["rss_mib_series"]))
                for e in r["errors"]:
                    print(f"        error: {e}")
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            if rc != 0:
                print(f"serve_bench: the server exited {rc} after SIGTERM", file=sys.stderr)
            os.unlink(log)


if __name__ == "__main__":
    main()
