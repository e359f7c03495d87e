#!/usr/bin/env bash
# The README's main command: installs what is missing, builds crew in
# release mode, and runs crew's benchmark report: crew raced against its
# sequential twins, raw threads, a mutex+condvar pool, OpenMP, oneTBB,
# libuv's thread pool, a pool over moodycamel's lock-free queue and
# Boost.Asio's strands (the peers, installed here: g++ for the C++ ones,
# oneTBB's, moodycamel's and Boost's headers), with
# results.csv, results.md and SVG plots written to bench-report/ (or the
# directory given with --out). Arguments go to `crew-bench report`
# (for example --quick for a one-minute smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}" g++ libtbb-dev libuv1-dev libconcurrentqueue-dev libboost-dev

dir=build/bench
if [ ! -d "$dir" ]; then
    meson setup "$dir" -Dbuildtype=release -Dtests=disabled >/dev/null
else
    # Looks for the peers again: a build configured before they were
    # installed would go on without them.
    meson setup --reconfigure "$dir" >/dev/null
fi
ninja -C "$dir" >/dev/null
exec "$dir/benchmarks/crew-bench" report --out bench-report "$@"
