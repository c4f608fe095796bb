#!/usr/bin/env bash
# tests/serve/e2e/run.sh BITLM MODEL — the openai-client end-to-end test (CTest serve_openai_e2e).
# Skips (exit 77) only when node is absent; the `openai` package itself must be installed
# (tools/bootstrap.sh runs `npm ci` here), else this fails saying so.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null; then
  echo "serve_openai_e2e: SKIPPED: node is not installed (Debian: apt-get install nodejs npm; then tools/bootstrap.sh)"
  exit 77
fi
if [[ ! -f $here/node_modules/openai/package.json ]]; then
  echo "serve_openai_e2e: the openai npm package is missing under $here/node_modules: run tools/bootstrap.sh" >&2
  exit 1
fi
exec "$here/../with_server.sh" "$1" "$2" --api-key sk-bitlm-e2e -c 512 --parallel 2 -t 2 -- node "$here/openai_e2e.mjs"
