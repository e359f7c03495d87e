#!/usr/bin/env bash
# The README's main command: installs what is missing, builds crew in
# release mode, and runs crew's benchmark report.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}"

dir=build/bench
if [ ! -d "$dir" ]; then
    meson setup "$dir" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
ninja -C "$dir" >/dev/null
bench="$dir/benchmarks/crew-bench"

for workload in fib submit wake idle objpool deque; do
    echo "--- crew-bench $workload"
    "$bench" "$workload"
done
