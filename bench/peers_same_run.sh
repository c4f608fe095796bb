#!/usr/bin/env bash
# bench/peers_same_run.sh — bitlm and the peer engines measured side by side, in one run (issue 15).
#
#   bench/peers_same_run.sh [-r ROUNDS] [-p 128] [-n 64] [-t 1,2] [--raw FILE.jsonl] [-o TABLE.md] ENTRY...
#   bench/peers_same_run.sh --table-only --raw FILE.jsonl [-o TABLE.md]
#
# ENTRY is LABEL=KIND:BINARY:MODEL, KIND being `llama-bench` (llama.cpp, ik_llama.cpp, bitnet.cpp:
# any llama-bench) or `bitlm` (the bitlm binary, which runs `bitlm bench`), e.g.
#   "llama.cpp TQ2_0=llama-bench:/work/peers/llama.cpp/build/bin/llama-bench:/tmp/2b4t-tq2_0.gguf"
#   "bitlm T1=bitlm:build/bin/bitlm:/tmp/2b4t-t1.gguf"
# The peers are built outside this repository from fetched snapshots (never committed); this
# script only runs the binaries it is given.
#
# Method: ROUNDS rounds; in each round every entry runs once per thread count (pp P and tg N in one
# process, one repetition: llama-bench -r 1 -o json, bitlm bench -r 1 -o json), the entries in
# round-robin order (round k starts at entry k), so a slow spell of the machine hits every engine
# alike. Peak RSS is the process's (wait4 ru_maxrss); for bitlm the peak its tests reached (VmHWM,
# read before its read-bandwidth probe, whose buffer of up to 512 MiB is no part of the model). The
# read-bandwidth probe of the same run is bitlm bench's (read_gbs: a prefetching read split over
# the same threads, eval/bench.h), taken in every bitlm process; the table gives its median per
# thread count and each bitlm row's decode share of it.
# Every measurement is appended to --raw (JSON lines) as it is taken, so rounds can be split over
# several quiet windows (run again with the same --raw, then --table-only). The table: medians
# over the rounds (t/s), min-max in brackets.
set -euo pipefail
exec /usr/bin/python3 - "$@" <<'PY'
import json, os, statistics, sys, time

def usage(msg):
    sys.exit(f"peers_same_run: {msg}\n(see the header of bench/peers_same_run.sh)")

args = sys.argv[1:]
rounds, n_prompt, n_gen, threads, raw, out, table_only, entries = 5, 128, 64, "1,2", None, None, False, []
i = 0
while i < len(args):
    a = args[i]
    def val():
        if i + 1 >= len(args): usage(f"{a} needs a value")
        return args[i + 1]
    if a == "-r": rounds = int(val()); i += 2
    elif a == "-p": n_prompt = int(val()); i += 2
    elif a == "-n": n_gen = int(val()); i += 2
    elif a == "-t": threads = val(); i += 2
    elif a == "--raw": raw = val(); i += 2
    elif a == "-o": out = val(); i += 2
    elif a == "--table-only": table_only = True; i += 1
    elif a.startswith("-"): usage(f"unknown option {a}")
    else:
        if "=" not in a: usage(f"entry '{a}' is not LABEL=KIND:BINARY:MODEL")
        label, spec = a.split("=", 1)
        parts = spec.split(":", 2)
        if len(parts) != 3 or parts[0] not in ("llama-bench", "bitlm"):
            usage(f"entry '{a}': KIND must be llama-bench or bitlm, then :BINARY:MODEL")
        kind, binary, model = parts
        for p in (binary, model):
            if not os.path.isfile(p): usage(f"entry '{label}': no file {p}")
        entries.append({"label": label, "kind": kind, "binary": binary, "model": model})
        i += 1
thread_list = [int(t) for t in threads.split(",")]

def command(e, t):
    common = ["-m", e["model"], "-p", str(n_prompt), "-n", str(n_gen), "-t", str(t), "-r", "1", "-o", "json"]
    return [e["binary"]] + common if e["kind"] == "llama-bench" else [e["binary"], "bench"] + common

def run_one(e, t):
    """One process: pp n_prompt and tg n_gen at t threads, with its peak RSS (wait4's ru_maxrss)."""
    cmd = command(e, t)
    err_path = f"/tmp/peers_same_run.{os.getpid()}.err"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.dup2(w, 1)
            os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(w)
    with os.fdopen(r) as f:
        stdout = f.read()
    _, status, ru = os.wait4(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"peers_same_run: {' '.join(cmd)} failed with {rc}:\n{open(err_path).read()[-2000:]}")
    rec = {"label": e["label"], "kind": e["kind"], "model": e["model"], "threads": t,
           "file_mib": os.path.getsize(e["model"]) / 2**20, "peak_rss_mib": ru.ru_maxrss / 1024,
           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        results = json.loads(stdout[stdout.index("["):])  # llama-bench and bitlm bench -o json: an array
    except ValueError:
        sys.exit(f"peers_same_run: {' '.join(cmd)} printed no JSON array:\n{stdout[-2000:]}")
    tests_peak = 0.0
    for j in results:
        key = "pp" if int(j.get("n_prompt", 0)) > 0 else "tg"
        rec[key] = float(j["avg_ts"])
        if e["kind"] == "bitlm" and "peak_rss_bytes" in j:  # the peak before bitlm bench's probe buffer
            tests_peak = max(tests_peak, float(j["peak_rss_bytes"]) / 2**20)
        if e["kind"] == "bitlm" and key == "tg":
            rec["read_gbs"] = float(j.get("read_gbs", 0))
            rec["bandwidth_share"] = float(j.get("bandwidth_share", 0))
    if tests_peak > 0: rec["process_peak_rss_mib"], rec["peak_rss_mib"] = rec["peak_rss_mib"], tests_peak
    if "pp" not in rec and n_prompt > 0 or "tg" not in rec and n_gen > 0:
        sys.exit(f"peers_same_run: {e['label']}: no pp/tg record in its output:\n{stdout[-2000:]}")
    return rec

if not table_only:
    if not entries: usage("no ENTRY given")
    raw = raw or f"peers_same_run.{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    done = [json.loads(l).get("round", -1) for l in open(raw) if l.strip()] if os.path.exists(raw) else []
    first = max(done, default=-1) + 1  # a run appending to an earlier window's rounds goes on from them
    for k in range(first, first + rounds):
        order = entries[k % len(entries):] + entries[:k % len(entries)]
        for e in order:
            for t in thread_list:
                rec = run_one(e, t)
                rec["round"] = k
                with open(raw, "a") as f: f.write(json.dumps(rec) + "\n")
                print(f"round {k + 1}/{first + rounds} {rec['label']:<28} -t {t}: pp {rec.get('pp', 0):7.2f} "
                      f"tg {rec.get('tg', 0):6.2f} t/s, peak RSS {rec['peak_rss_mib']:.0f} MiB", file=sys.stderr,
                      flush=True)
elif not raw:
    usage("--table-only needs --raw FILE")

recs = [json.loads(l) for l in open(raw) if l.strip()]
labels = list(dict.fromkeys(r["label"] for r in recs))
ts = sorted({r["threads"] for r in recs})

def cell(vals, digits=1):
    if not vals: return "—"
    m = statistics.median(vals)
    return f"{m:.{digits}f} ({min(vals):.{digits}f}-{max(vals):.{digits}f})" if len(vals) > 1 else f"{m:.{digits}f}"

n_rounds = len({r.get("round") for r in recs})
lines = [f"Same run: {len(recs)} processes, medians of {n_rounds} round{'s' if n_rounds != 1 else ''} "
         f"(min-max), pp{n_prompt} / tg{n_gen} t/s (bench/peers_same_run.sh, raw: {os.path.basename(raw)})", ""]
head = "| engine, type | MiB |" + "".join(f" pp {t}T | tg {t}T |" for t in ts) + " RSS MiB | tg share of probe |"
lines += [head, "|---|---:|" + "---:|---:|" * len(ts) + "---:|---|"]
for lab in labels:
    rs = [r for r in recs if r["label"] == lab]
    row = f"| {lab} | {statistics.median(r['file_mib'] for r in rs):.0f} |"
    for t in ts:
        row += f" {cell([r['pp'] for r in rs if r['threads'] == t and 'pp' in r])} |"
        row += f" {cell([r['tg'] for r in rs if r['threads'] == t and 'tg' in r])} |"
    row += f" {statistics.median(r['peak_rss_mib'] for r in rs):.0f} |"
    shares = [f"{t}T {100 * statistics.median(s):.0f}%" for t in ts
              for s in [[r['bandwidth_share'] for r in rs if r['threads'] == t and 'bandwidth_share' in r]] if s]
    row += f" {', '.join(shares) or '—'} |"
    lines.append(row)
probe = [f"{t} thread{'s' if t > 1 else ''}: {cell([r['read_gbs'] for r in recs if r['threads'] == t and r.get('read_gbs')])} GB/s"
         for t in ts]
lines += ["", "Read-bandwidth probe of the same run (bitlm bench's, median (min-max) over its processes): " +
          "; ".join(probe) + "."]
table = "\n".join(lines) + "\n"
if out:
    with open(out, "w") as f: f.write(table)
print(table, end="")
PY
