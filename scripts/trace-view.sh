#!/usr/bin/env bash
# Renders a crew trace (Chrome trace-event JSON, docs/trace.md) through a
# real viewer, speedscope (the npm package), in headless Chromium, and saves
# what the viewer shows as a PNG:
#
#   bash scripts/trace-view.sh TRACE.json OUT.png [THREAD]
#
# THREAD picks the worker row to show (speedscope shows one thread at a
# time; 0-based, default 0). Installs what it needs (Debian's chromium,
# nodejs and npm; speedscope from the npm registry into build/trace-view/).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: trace-view.sh TRACE.json OUT.png [THREAD]" >&2
    exit 2
fi
trace=$(realpath "$1")
out=$(realpath -m "$2")
thread=${3:-0}
[ -f "$trace" ] || { echo "trace-view: no such file: $1" >&2; exit 2; }
cd "$(dirname "$0")/.."
. scripts/deps.sh
crew_ensure_packages chromium python3
# Node.js and npm: Debian's packages unless the machine has them already
# (some come with their own Node.js, which Debian's npm conflicts with).
if ! command -v npm >/dev/null 2>&1; then
    crew_ensure_packages nodejs npm
fi

viewer=build/trace-view
if [ ! -f "$viewer/node_modules/speedscope/dist/release/index.html" ]; then
    mkdir -p "$viewer"
    (cd "$viewer" && npm install --no-audit --no-fund --silent speedscope@1.25.0 >/dev/null)
fi
site=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$site"' EXIT
cp -r "$viewer/node_modules/speedscope/dist/release/." "$site/"
cp "$trace" "$site/trace.json"

# A free port for the page's own server (loopback only).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html')" 2>/dev/null && break
    sleep 0.1
done

profile=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
names = sorted({(e["pid"], e["tid"]) for e in doc["traceEvents"] if e.get("ph") == "X"})
print(len(names))' "$trace")
[ "$profile" -gt 0 ] || { echo "trace-view: the trace has no span to show" >&2; exit 1; }

url="http://127.0.0.1:$port/index.html#profileURL=/trace.json&title=crew%20trace&profileIndex=$thread"
user_dir=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$user_dir" --hide-scrollbars --window-size=1600,900 \
    --virtual-time-budget=15000 --screenshot="$out" "$url" >/dev/null 2>&1 || true
rm -rf "$user_dir"
if [ ! -s "$out" ]; then
    echo "trace-view: chromium wrote no screenshot" >&2
    exit 1
fi
echo "trace-view: $out (speedscope, thread $thread of $profile)"
