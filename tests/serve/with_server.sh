#!/usr/bin/env bash
# tests/serve/with_server.sh BITLM MODEL [SERVE-OPTIONS...] -- CMD [ARGS...]
# Starts `BITLM serve -m MODEL --port 0 SERVE-OPTIONS` on a free loopback port, waits until
# /health answers 200, runs CMD with BITLM_URL=http://127.0.0.1:PORT in its environment, then
# stops the server with SIGTERM. Exit status: CMD's; 1 if the server did not start or did not
# exit 0 on SIGTERM (issue 13: stop accepting, cancel running streams, exit 0).
# CMD exiting 77 means "skipped" (CTest SKIP_RETURN_CODE), passed through as is.
set -uo pipefail
bitlm=$1 model=$2
shift 2
serve_args=()
while [[ $# -gt 0 && $1 != "--" ]]; do serve_args+=("$1"); shift; done
[[ ${1:-} == "--" ]] && shift
log=$(mktemp -t bitlm_serve_XXXXXX.log)
trap 'rm -f "$log"' EXIT
"$bitlm" serve -m "$model" --port 0 "${serve_args[@]}" 2>"$log" &
pid=$!
port=""
for _ in $(seq 1 600); do  # 60 s at most: the model loads, then the line with the port appears
  port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$log")
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "with_server: bitlm serve did not start:" >&2
  cat "$log" >&2
  kill -TERM "$pid" 2>/dev/null
  exit 1
fi
BITLM_URL="http://127.0.0.1:$port" "$@"
rc=$?
kill -TERM "$pid"
wait "$pid"
src=$?
if [[ $src -ne 0 ]]; then
  echo "with_server: bitlm serve exited $src after SIGTERM (expected 0):" >&2
  cat "$log" >&2
  [[ $rc -eq 0 ]] && rc=1
fi
exit $rc
