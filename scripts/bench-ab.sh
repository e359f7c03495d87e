#!/usr/bin/env bash
# Races two builds of crew-bench against each other on one machine:
#   bash scripts/bench-ab.sh OLD_CREW_BENCH NEW_CREW_BENCH [ROUNDS (5)]
# Each round runs every workload below once with each binary, the order
# swapped every round (old first on odd rounds), one process at a time;
# then prints, per workload, implementation and worker count, the median
# over all rounds of each side's own median line, and new over old (for
# times: below 1, the new build is faster; for rates: above 1). The
# sequential twin's row shows how much the machine and the code layout
# move a workload that neither side's runtime touches.
#
# Workloads: WORKLOADS (default: the fork-join ones both 0.1 and 0.2 have,
# submit, wake and objpool), each "name args"; rows: IMPLS, a regex of the
# impl= values kept (default crew, crew_sync_call, crew_post, crew_submit,
# objpool, objpool_slots, malloc, seq).
# To race 0.1: git worktree add /tmp/crew-0.1 <0.1's commit>, build it
# (meson setup build -Dbuildtype=release -Dtests=disabled; ninja -C build)
# and pass /tmp/crew-0.1/build/benchmarks/crew-bench as OLD.
set -uo pipefail
if [ $# -lt 2 ]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
old=$1 new=$2 rounds=${3:-5}
for b in "$old" "$new"; do
    [ -x "$b" ] || { echo "bench-ab: $b is not an executable crew-bench" >&2; exit 2; }
done
impls=${IMPLS:-'crew|crew_sync_call|crew_post|crew_submit|objpool|objpool_slots|malloc|seq'}
default_workloads=("fib --n 32 --repeat 3" "nqueens --repeat 3" "matmul --repeat 3"
    "sort --repeat 3" "uts_geo --repeat 3" "uts_bin --repeat 3" "for --repeat 3"
    "submit --repeat 3" "wake" "objpool --repeat 3")
if [ -n "${WORKLOADS:-}" ]; then
    IFS=';' read -r -a workloads <<<"$WORKLOADS"
else
    workloads=("${default_workloads[@]}")
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/bench-ab.XXXXXX")
trap 'rm -rf "$out"' EXIT
echo "bench-ab: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds"
run() { # side workload args...
    local side=$1 bin=$old
    shift
    [ "$side" = new ] && bin=$new
    # shellcheck disable=SC2068
    "$bin" $@ 2>/dev/null | grep -E "impl=($impls) " | sed "s/^/side=$side /" >>"$out/lines" || true
}
for r in $(seq "$rounds"); do
    for wl in "${workloads[@]}"; do
        if [ $((r % 2)) = 1 ]; then run old "$wl"; run new "$wl"; else run new "$wl"; run old "$wl"; fi
    done
    echo "bench-ab: round $r of $rounds done (load $(cut -d' ' -f1 /proc/loadavg))"
done
python3 - "$out/lines" <<'PY'
import collections, statistics, sys
data = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
    unit = next((k[len("median_"):] for k in kv if k.startswith("median_")), None)
    if unit is None:
        continue
    detail = " ".join("%s=%s" % (k, kv[k]) for k in ("producers", "threads", "op", "shape") if k in kv)
    key = (kv["bench"], kv["impl"], kv.get("workers", "-"), detail, unit)
    data[(key, kv["side"])].append(float(kv["median_" + unit]))
keys = sorted({k for (k, side) in data})
print("%-9s %-15s %2s %-12s %12s %12s %8s" % ("bench", "impl", "w", "detail", "old", "new", "new/old"))
for k in keys:
    o, n = data.get((k, "old")), data.get((k, "new"))
    if not o or not n:
        continue
    mo, mn = statistics.median(o), statistics.median(n)
    print("%-9s %-15s %2s %-12s %12.4g %12.4g %8.2f  (%s)" % (k[0], k[1], k[2], k[3], mo, mn, mn / mo, k[4]))
PY
