#!/usr/bin/env bash
# Races the fork-join fib rows of two crew-bench builds, the way the
# fast path's changes are measured (docs/benchmarks.md, "Fork-join: what
# a spawn costs"):
#   bash scripts/fib-ab.sh OLD_CREW_BENCH NEW_CREW_BENCH [ROUNDS (5)] [N (30)] [REPEAT (101)]
# Each round runs `crew-bench fib --n N --workers 1 --repeat REPEAT` once
# with each binary (old first on odd rounds), pinned to one CPU (taskset
# -c CPU, default 1), one process at a time, and keeps each row's fastest
# run (min_s): on the shared 2-core machines here a run is either in a
# fast or a slow mode (the host's), and the fastest of many short runs is
# the fast mode's time, the same for both binaries. Prints, per binary,
# the median over the rounds of the twin's fastest run and of each crew
# row's fastest run over it. Both binaries must have been built alike
# (benchmarks/meson.build aligns every function, so the twin's code
# sits the same in both).
set -uo pipefail
if [ $# -lt 2 ]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
old=$1 new=$2 rounds=${3:-5} n=${4:-30} repeat=${5:-101} cpu=${CPU:-1}
for b in "$old" "$new"; do
    [ -x "$b" ] || { echo "fib-ab: $b is not an executable crew-bench" >&2; exit 2; }
done
rows='seq crew crew_sync_call crew_typed crew_typed_to'
raw=$(mktemp "${TMPDIR:-/tmp}/fib-ab.XXXXXX")
trap 'rm -f "$raw"' EXIT
echo "fib-ab: fib($n), 1 worker, CPU $cpu, $rounds rounds of min-of-$repeat," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    order="old new"
    [ $((r % 2)) -eq 0 ] && order="new old"
    for side in $order; do
        b=$old
        [ "$side" = new ] && b=$new
        # The twin's row is printed only when no --impl is given.
        taskset -c "$cpu" "$b" fib --n "$n" --workers 1 --repeat "$repeat" 2>/dev/null |
            sed -nE "s/^bench=fib impl=([a-z_]+) workers=1 .*min_s=([0-9.e+-]+).*/$side \1 \2/p"
    done
done >"$raw"
python3 - "$raw" "$rows" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, impl, t = line.split()
    runs[(side, impl)].append(float(t))
for side in ("old", "new"):
    if not runs[(side, "seq")]:
        print(side, "no runs")
        continue
    seq = statistics.median(runs[(side, "seq")])
    cols = ["%s %.3fx" % (i, statistics.median(runs[(side, i)]) / seq)
            for i in sys.argv[2].split()[1:] if runs[(side, i)]]
    print("%s: seq %.5f s  %s" % (side, seq, "  ".join(cols)))
PY
