#!/usr/bin/env bash
# crew-bench report --from: the tables, CSV and plots of result lines,
# here of tiny nqueens runs, the sequential twin's line and crew's as one
# run (no peer: sanitizer builds run this too, and OpenMP's runtime is
# not instrumented).
#   check_report_from.sh CREW_BENCH
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "report --from: $*"; exit 1; }
{
    echo "# crew-bench nqueens --n 6 --repeat 3 --workers 2 (--impl seq, then crew)"
    timeout 120 "$bin" nqueens --n 6 --repeat 3 --impl seq --workers 2 &&
        timeout 120 "$bin" nqueens --n 6 --repeat 3 --impl crew --workers 2
} >"$dir/raw.txt" || fail "the nqueens runs failed"
grep -q '^bench=nqueens impl=crew workers=2 .* p10_s=.* p90_s=.* speed_vs_seq=' "$dir/raw.txt" ||
    fail "no crew line with p10_s, p90_s and speed_vs_seq in: $(cat "$dir/raw.txt")"
out=$(timeout 60 "$bin" report --from "$dir/raw.txt" --out "$dir/out") || fail "exit status $?: $out"
grep -q 'speed_vs_seq' <<<"$out" || fail "no speed_vs_seq column in: $out"
head -1 "$dir/out/results.csv" | grep -q '^workload,impl,workers,detail,unit,better,median,p10,p90,min,max,baseline,speed_vs_baseline,speed_vs_crew$' ||
    fail "results.csv's header: $(head -1 "$dir/out/results.csv")"
grep -q '^nqueens,seq,1,.*,seq,1,' "$dir/out/results.csv" || fail "no seq row: $(cat "$dir/out/results.csv")"
for svg in nqueens.svg speedup.svg; do
    [ -s "$dir/out/$svg" ] || fail "no $svg"
    grep -q '</svg>' "$dir/out/$svg" || fail "$svg is cut short"
done
grep -q 'lower is better' "$dir/out/nqueens.svg" || fail "nqueens.svg's axis does not say which way is better"
grep -q 'p10 to p90' "$dir/out/nqueens.svg" || fail "nqueens.svg does not say what its whiskers are"
grep -q 'as fast as seq' "$dir/out/speedup.svg" || fail "speedup.svg has no 1.0 line"
echo "report --from: tables, results.csv, nqueens.svg and speedup.svg: ok"
