#!/usr/bin/env bash
# tests/serve/e2e/run_page.sh BITLM MODEL [SCREENSHOT.png] — the chat page in headless Chromium
# (CTest serve_chat_page). Skips (exit 77) only when chromium or node is absent.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in node "${CHROMIUM:-/usr/bin/chromium}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "serve_chat_page: SKIPPED: $tool is not installed (Debian: tools/bootstrap.sh --with-web)"
    exit 77
  fi
done
exec "$here/../with_server.sh" "$1" "$2" -c 512 --parallel 2 -t 2 -- \
  node --experimental-websocket --no-warnings "$here/chat_page.mjs" ${3:+"$3"}
