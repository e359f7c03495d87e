#!/usr/bin/env bash
# The README's main command: installs what is missing, builds crew in
# release mode, and runs crew's benchmark report: crew raced against its
# sequential twins, raw threads, a mutex+condvar pool and OpenMP, with
# results.csv, results.md and SVG plots written to bench-report/ (or the
# directory given with --out). Arguments go to `crew-bench report`
# (for example --quick for a one-minute smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}"

dir=build/bench
if [ ! -d "$dir" ]; then
    meson setup "$dir" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
ninja -C "$dir" >/dev/null
exec "$dir/benchmarks/crew-bench" report --out bench-report "$@"
