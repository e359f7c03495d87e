#!/usr/bin/env python3
"""Races Lace's benchmark programs against crew-bench on the same machine,
one process at a time (docs/benchmarks.md, "Against Lace").

    python3 scripts/lace-race.py [--rounds R] [--repeat K] [--lace-bin DIR]
                                 [--crew-bench PATH] [BENCHMARK ...]

BENCHMARK: fib queens cilksort knapsack pi matmul strassen dfs uts_t1
uts_t3 (default: all). Each round runs, for 1 and 2 workers, one Lace
process (`NAME-lace -w W ARGS`, its last "Time:" line) and one crew-bench
process per crew row (`crew-bench WORKLOAD --impl X --workers W --repeat
K`, the median line of W workers: K timed runs after one untimed one),
then Lace's sequential program where it has one and crew-bench's twin;
the order is reversed every other round. It prints each row's median
over the rounds and crew's time over Lace's (below 1: crew is faster). A
run that fails (a crash) is counted and left out of the median.

Lace is not part of crew and none of it is in this repository: build it
by hand, with -O2 and no -march=native, into DIR (default /tmp/lace/bin):
take trolando/lace at v1.4.2, write src/lace_config.h defining
LACE_PIE_TIMES, LACE_COUNT_TASKS, LACE_COUNT_STEALS and LACE_COUNT_SPLITS
as 0, and compile each benchmarks/X/X-lace.c with src/lace.c (`gcc -O2
-Isrc src/lace.c benchmarks/fib/fib-lace.c -lpthread -lm -o fib-lace`;
UTS also needs uts/uts.c, uts/rng/brg_sha1.c and -DBRG_C99_TYPES
-DBRG_RNG), and the X-seq.c programs alone. knapsack-lace.c's input
reader compares fscanf's result with 3 where it reads two numbers: change
that 3 to 2, or it rejects every input. Its input file is crew-bench's
instance: `python3 scripts/knapsack-lace-input.py > /tmp/ks26.txt`
(--knapsack-input). crew-bench: build it with -Doptimization=2 to match
(`meson setup build/bench-o2 -Dbuildtype=release -Doptimization=2
-Dtests=disabled`, the default --crew-bench).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

T1 = "-t 1 -a 3 -d 10 -b 4 -r 19".split()
T3 = "-t 0 -b 2000 -q 0.124875 -m 8 -r 42".split()
FIB_ROWS = ["crew", "crew_sync_call", "crew_typed", "crew_typed_to"]


def table(knapsack_input):
    # name: (Lace program, its arguments after -w W, Lace's sequential
    # program and arguments or None, crew-bench workload, its extra
    # arguments, crew rows)
    return {
        "fib": ("fib-lace", ["38"], ["fib-seq", "38"], "fib", ["--n", "38"], FIB_ROWS),
        "queens": ("queens-lace", ["12"], ["queens-seq", "12"], "nqueens", [], ["crew"]),
        "cilksort": ("cilksort-lace", ["5000000"], ["cilksort-seq", "5000000"], "sort", [],
                     ["crew"]),
        "knapsack": ("knapsack-lace", [knapsack_input], None, "knapsack", [], ["crew"]),
        "pi": ("pi-lace", ["10000000"], ["pi-seq", "10000000"], "pi", [], ["crew"]),
        "matmul": ("matmul-lace", ["1024"], ["matmul-seq", "1024"], "matmul", [], ["crew"]),
        "strassen": ("strassen-lace", ["1024"], None, "strassen", [], ["crew"]),
        "dfs": ("dfs-lace", ["8", "10", "1", "1"], ["dfs-seq", "8", "10", "1", "1"], "dfs",
                ["--n", "8"], ["crew"]),
        "uts_t1": ("uts-lace", T1, ["uts-seq"] + T1, "uts_t1", [], ["crew"]),
        "uts_t3": ("uts-lace", T3, ["uts-seq"] + T3, "uts_t3", [], ["crew"]),
    }


def lace_time(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    times = re.findall(r"Time: ([0-9.]+)", p.stdout)
    if p.returncode != 0 or not times:
        return float("nan")
    return float(times[-1])


def crew_time(bench, workload, extra, impl, workers, repeat):
    argv = [bench, workload, "--impl", impl, "--repeat", str(repeat), "--workers",
            str(workers)] + extra
    p = subprocess.run(argv, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if f"impl={impl} " in line and f" workers={workers} " in line:
            return float(re.search(r"median_s=([0-9.e+-]+)", line).group(1))
    return float("nan")


def median(xs):
    ok = [x for x in xs if x == x]
    return statistics.median(ok) if ok else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--lace-bin", default="/tmp/lace/bin")
    ap.add_argument("--crew-bench", default="build/bench-o2/benchmarks/crew-bench")
    ap.add_argument("--knapsack-input", default="/tmp/ks26.txt")
    ap.add_argument("--json", help="write every run's time here")
    ap.add_argument("benchmarks", nargs="*")
    a = ap.parse_args()
    known = table(a.knapsack_input)
    names = a.benchmarks or list(known)
    for n in names:
        if n not in known:
            sys.exit("lace-race: unknown benchmark %s (known: %s)" % (n, " ".join(known)))
    runs = {}
    for name in names:
        lace, largs, lseq, workload, extra, rows = known[name]
        row = runs.setdefault(name, {})
        for r in range(a.rounds):
            jobs = []
            for w in (1, 2):
                jobs.append(("lace/%d" % w, lambda w=w: lace_time(
                    [os.path.join(a.lace_bin, lace), "-w", str(w)] + largs)))
                for impl in rows:
                    jobs.append(("%s/%d" % (impl, w), lambda w=w, impl=impl: crew_time(
                        a.crew_bench, workload, extra, impl, w, a.repeat)))
            if lseq:
                jobs.append(("lace_seq/1", lambda: lace_time(
                    [os.path.join(a.lace_bin, lseq[0])] + lseq[1:])))
            jobs.append(("crew_seq/1", lambda: crew_time(
                a.crew_bench, workload, extra, "seq", 1, a.repeat)))
            if r % 2:
                jobs.reverse()
            for key, run in jobs:
                row.setdefault(key, []).append(run())
        med = {k: median(v) for k, v in row.items()}
        failed = {k: sum(1 for x in v if x != x) for k, v in row.items()}
        print(name, " ".join("%s=%.4f" % kv for kv in sorted(med.items())))
        for w in (1, 2):
            for impl in rows:
                print("  %s, %d worker(s): crew/lace %.2f" % (
                    impl, w, med["%s/%d" % (impl, w)] / med["lace/%d" % w]))
        for k, f in sorted(failed.items()):
            if f:
                print("  %s: %d of %d runs failed" % (k, f, a.rounds))
        sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(runs, f)


if __name__ == "__main__":
    main()
