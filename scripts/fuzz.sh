#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS [SEED]: runs the fuzzer of suite `fuzz`
# (tests/fuzz/crew-fuzz) for SECONDS, one process per seed, printing each
# seed before its run. Without SEED the seeds are random; with SEED that
# seed runs again and again (its calls are the same every time, the
# interleavings are not). Stops at the first failure and prints the
# command that runs its seed again.
#
# The build: CREW_FUZZ_BUILD=asan (the default: AddressSanitizer +
# UBSan, leaks checked at each process's exit), tsan (ThreadSanitizer),
# gcc or clang (plain release builds, fastest). Each has its own build
# directory, build/fuzz-<build>, configured as scripts/test.sh configures
# that build. Options for crew-fuzz can go in CREW_FUZZ_ARGS (for
# example "--threads 8 --ops 5000").
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: [CREW_FUZZ_BUILD=asan|tsan|gcc|clang] scripts/fuzz.sh SECONDS [SEED]" >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
secs=$1
seed=${2:-}
[[ $secs =~ ^[0-9]+$ ]] || usage
if [ -n "$seed" ] && ! [[ $seed =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]]; then
    usage
fi
build=${CREW_FUZZ_BUILD:-asan}

. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}"

dir=build/fuzz-$build
case $build in
    gcc)   compiler=gcc;   opts=(-Dwerror=true -Dbuildtype=release) ;;
    clang) compiler=clang; opts=(-Dwerror=true -Dbuildtype=release) ;;
    tsan)  compiler=gcc;   opts=(-Dwerror=true -Dbuildtype=debugoptimized
                                 -Db_sanitize=thread -Db_lundef=false) ;;
    asan)  compiler=gcc;   opts=(-Dwerror=true -Dbuildtype=debugoptimized
                                 -Db_sanitize=address,undefined -Db_lundef=false
                                 -Ddebug_checks=true
                                 -Dc_args=-fno-sanitize-recover=all
                                 -Dc_link_args=-fno-sanitize-recover=all) ;;
    *) echo "fuzz.sh: unknown build '$build' (asan, tsan, gcc or clang)" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
    mkdir -p build
    CC=$compiler meson setup "$dir" "${opts[@]}" -Dbenchmarks=false >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" tests/fuzz/crew-fuzz >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; exit 1; }
exe=$dir/tests/fuzz/crew-fuzz

# Sanitizer reports fail the run (as in scripts/test.sh).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# One run stops its calls after max_run seconds; the watchdog inside it
# aborts a hang after 3 * max_run + 30 s, and timeout(1) is the last
# resort.
max_run=20
if [ "$secs" -lt "$max_run" ]; then
    max_run=$(( secs > 2 ? secs : 2 ))
fi
read -r -a extra <<<"${CREW_FUZZ_ARGS:-}"

echo "fuzz.sh: build $build, $secs s$( [ -n "$seed" ] && echo ", seed $seed" )"
start=$SECONDS
runs=0
log=$dir/last-run.log
while :; do
    s=$seed
    if [ -z "$s" ]; then
        s=$(od -An -N8 -tu8 /dev/urandom | tr -d ' \n')
    fi
    echo "fuzz.sh: seed $s"
    rc=0
    timeout --signal=KILL $(( 3 * max_run + 60 )) \
        "$exe" --seed "$s" --max-seconds "$max_run" "${extra[@]}" >"$log" 2>&1 || rc=$?
    if [ $rc -ne 0 ] || grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$log"; then
        cat "$log"
        keep=$dir/failed-seed-$s.log
        cp "$log" "$keep"
        echo "fuzz.sh: FAILED seed $s (build $build, exit status $rc; log in $keep)"
        echo "fuzz.sh: run it again with: CREW_FUZZ_BUILD=$build scripts/fuzz.sh 60 $s"
        exit 1
    fi
    grep -E "^fuzz: seed .* ok" "$log" || true
    runs=$((runs + 1))
    if [ $((SECONDS - start)) -ge "$secs" ]; then
        break
    fi
done
echo "fuzz.sh: $runs runs passed in $((SECONDS - start)) s (build $build)"
