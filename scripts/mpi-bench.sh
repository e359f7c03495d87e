#!/usr/bin/env bash
# crew-mpi's benchmark (docs/benchmarks.md, section crew-mpi; docs/mpi.md
# uses its figures): on this machine's cores, UTS T1 (4,130,071 nodes) and
# T3 (4,112,897) as
#   1 rank  x 2 workers   crew's own stealing, no MPI traffic
#   2 ranks x 1 worker    the same two cores through crew-mpi's inter-rank
#                         layer (unbound, and bound to a core each)
# and the sequential walk (uts_walk, one thread), the configurations
# interleaved round after round, each round a few runs inside one mpirun;
# medians over all runs. Then every rank's steals, messages, loot sizes and
# steal wait, summed over all 2 x 1 runs, and the CPU time a rank with no
# work spends in a second (glb_check idle).
#
# usage: scripts/mpi-bench.sh [ROUNDS (5)] [RUNS PER ROUND (3)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
runs=${2:-3}

. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}" "${CREW_MPI_PACKAGES[@]}"
if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi-bench: mpirun not found: it comes with Open MPI (sudo apt-get install" \
         "openmpi-bin libopenmpi-dev); crew-mpi needs an MPI library and its launcher" >&2
    exit 1
fi

dir=build/mpi-bench
if [ ! -d "$dir" ]; then
    meson setup "$dir" -Dbuildtype=release -Dmpi=enabled >/dev/null
fi
ninja -C "$dir" src/mpi/examples/mpi_example_uts tests/mpi/glb/glb_check >/dev/null
uts=$dir/src/mpi/examples/mpi_example_uts
check=$dir/tests/mpi/glb/glb_check

mpi=(mpirun --oversubscribe)
[ "$(id -u)" -ne 0 ] || mpi+=(--allow-run-as-root)

log=$(mktemp "${TMPDIR:-/tmp}/mpi-bench.XXXXXX")
trap 'rm -f "$log"' EXIT

median() { # numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "mpi-bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds x $runs runs"
for tree in T1 T3; do
    for ((r = 1; r <= rounds; r++)); do
        "${mpi[@]}" --bind-to none -np 1 "$uts" --tree "$tree" --workers 2 --repeat "$runs" --seq |
            sed 's/^/1x2 /' >>"$log"
        "${mpi[@]}" --bind-to none -np 2 "$uts" --tree "$tree" --workers 1 --repeat "$runs" --stats |
            sed 's/^/2x1 /' >>"$log"
        "${mpi[@]}" --bind-to core -np 2 "$uts" --tree "$tree" --workers 1 --repeat "$runs" |
            sed 's/^/2x1bound /' >>"$log"
    done
    if grep -q WRONG "$log"; then
        echo "mpi-bench: a wrong count:" >&2
        grep WRONG "$log" >&2
        exit 1
    fi
    field() { # configuration, 1 (wall seconds) or 2 (CPU seconds, every thread of every rank)
        grep -E "^$1 uts $tree: .* workers: " "$log" |
            sed -E "s/.*: ([0-9.]+) s, cpu ([0-9.]+) s\$/\\$2/"
    }
    seqf() {
        grep -E "^1x2 uts $tree: .* sequential: " "$log" |
            sed -E "s/.*: ([0-9.]+) s, cpu ([0-9.]+) s\$/\\$1/"
    }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
    seq=$(seqf 1 | median)
    seqc=$(seqf 2 | median)
    echo
    echo "UTS $tree, medians of $((rounds * runs)) runs: wall seconds, CPU seconds (every thread of every rank):"
    printf "  %-28s %8s %8s\n" "sequential walk" "$seq" "$seqc"
    for cfg in 1x2 2x1 2x1bound; do
        wall=$(field $cfg 1 | median)
        cpu=$(field $cfg 2 | median)
        case $cfg in
            1x2) name="1 rank  x 2 workers"; one=$wall ;;
            2x1) name="2 ranks x 1 worker" ;;
            *) name="2 ranks x 1 worker, bound" ;;
        esac
        printf "  %-28s %8s %8s   speedup %s, CPU %s x the walk's, 1x2/this %s\n" "$name" "$wall" "$cpu" \
            "$(ratio "$seq" "$wall")" "$(ratio "$cpu" "$seqc")" "$(ratio "$one" "$wall")"
    done
    echo "  per rank, summed over the $((rounds * runs)) unbound 2 x 1 runs:"
    grep -E "^2x1   rank " "$log" | awk '
        { r = $3; sub(":", "", r); ranks[r] = 1
          for (i = 4; i <= NF; i++) {
              split($i, kv, "=")
              if (kv[1] == "loot_max") { if (kv[2] + 0 > max[r]) max[r] = kv[2] + 0 }
              else v[r, kv[1]] += kv[2]
              if (kv[1] == "steals") steals = kv[2]
              if (kv[1] == "steal_wait_us") waited[r] += kv[2] * steals
          } }
        END { for (r in ranks)
            printf "    rank %s: steals %d (won %d), lifeline requests %d, loot sent %d (%d to thieves, %d down lifelines), %.0f B per loot message (max %d B), messages out/in %d/%d, steal wait %.0f us\n",
                r, v[r, "steals"], v[r, "won"], v[r, "lifelines"], v[r, "loot_sent"],
                v[r, "served"], v[r, "pushed"],
                v[r, "loot_sent"] ? v[r, "loot_bytes"] / v[r, "loot_sent"] : 0, max[r],
                v[r, "messages_sent"], v[r, "messages_received"],
                v[r, "steals"] ? waited[r] / v[r, "steals"] : 0 }' | sort
    sed -i "/ uts $tree: /d; /^2x1   rank /d" "$log"
done

echo
echo "A rank with no work (2 ranks; rank 0 holds one item for 2 s, rank 1 has none):"
"${mpi[@]}" --bind-to none -np 2 "$check" --n 2000 idle | grep "idle:" | sort
