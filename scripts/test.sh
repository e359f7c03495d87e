#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs
# the whole suite in five builds (gcc -Werror, clang -Werror, gcc
# ThreadSanitizer, gcc AddressSanitizer+UBSan, gcc cross-compiled for
# AArch64 and run under qemu-user), then checks that the negative controls
# still make their tests fail. Any failure, race report or sanitizer report
# fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}" "${CREW_MPI_PACKAGES[@]}"
if ! command -v mpirun >/dev/null 2>&1; then
    echo "crew: mpirun not found (Open MPI's openmpi-bin): crew-mpi's suite mpi cannot run"
fi

builds=(gcc clang tsan asan arm64)
if [ $# -gt 0 ]; then
    builds=("$@")
fi
for b in "${builds[@]}"; do
    if [ "$b" = arm64 ]; then
        crew_ensure_arm64
    fi
done

# Sanitizer reports must fail the test that produced them.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

total_ok=0
total_fail=0

configure() { # dir, CC, meson options...
    local dir=$1 compiler=$2
    shift 2
    # The C++ compiler of the same family (g++ with gcc, clang++ with
    # clang): the cpp suites and crew-bench's C++ parts need it.
    local cxx=${compiler/#gcc/g++}
    cxx=${cxx/#clang/clang++}
    if [ -d "$dir" ]; then
        CC=$compiler CXX=$cxx meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    else
        mkdir -p "$(dirname "$dir")"
        CC=$compiler CXX=$cxx meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
}

count_results() { # dir: adds the build's per-case counts to the totals
    # Criterion closes with "Synthesis: Tested: N | Passing: N | Failing: N |
    # Crashing: N"; the plain driver with "<suite>: N passed, N failed".
    local log=$1/meson-logs/testlog.txt counts
    if [ ! -f "$log" ]; then
        return 0
    fi
    counts=$(awk '
        /Synthesis: Tested:/ { ok += $7; bad += $10 + $13 }
        /^[a-z_]+: [0-9]+ passed, [0-9]+ failed$/ { ok += $2; bad += $4 }
        END { printf "%d %d", ok, bad }' "$log")
    total_ok=$((total_ok + ${counts% *}))
    total_fail=$((total_fail + ${counts#* }))
    # Plain meson tests (documentation examples, packaging, the C++ header
    # checks and examples, the models and their negative controls: gcc
    # build only): one case each.
    local json=$1/meson-logs/testlog.json ex_ok ex_all
    local plain='"name": "crew:(examples|packaging|trace|lint|docs|cpp_headers|cpp_examples|model|bench) / '
    if [ -f "$json" ]; then
        ex_all=$(grep -cE "$plain" "$json" || true)
        ex_ok=$(grep -E "$plain" "$json" | grep -c '"result": "OK"' || true)
        total_ok=$((total_ok + ex_ok))
        total_fail=$((total_fail + ex_all - ex_ok))
    fi
}

run_build() { # name
    local name=$1 dir=build/ci-$1
    echo "=== build $name"
    case $name in
        gcc)   configure "$dir" gcc   -Dwerror=true -Dbuildtype=release ;;
        clang) configure "$dir" clang -Dwerror=true -Dbuildtype=release ;;
        tsan)  configure "$dir" gcc   -Dwerror=true -Dbuildtype=debugoptimized \
                   -Db_sanitize=thread -Db_lundef=false -Dtest_scale=20 ;;
        asan)  configure "$dir" gcc   -Dwerror=true -Dbuildtype=debugoptimized \
                   -Db_sanitize=address,undefined -Db_lundef=false -Dtest_scale=30 \
                   -Ddebug_checks=true \
                   -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all \
                   -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all ;;
        # Cross-compiled, its tests run under qemu-aarch64 on the plain
        # driver (docs/portability.md). The machine file written here
        # points pkg-config at the unpacked libatomic-ops-dev:arm64
        # (scripts/deps.sh: crew_ensure_arm64). No benchmarks: crew-bench
        # measures the machine it runs on.
        arm64) mkdir -p build
               printf "[properties]\nsys_root = '%s'\npkg_config_libdir = ['%s']\n" \
                   "$CREW_ARM64_SYSROOT" "$CREW_ARM64_SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig" \
                   >build/ci-arm64.deps.ini
               configure "$dir" gcc -Dwerror=true -Dbuildtype=release -Dbenchmarks=false \
                   --cross-file scripts/cross/aarch64-linux-gnu.ini \
                   --cross-file build/ci-arm64.deps.ini ;;
        *) echo "unknown build $name"; return 1 ;;
    esac || { echo "crew: build $name does not configure"; return 1; }
    # Every step is checked by hand: this function runs in a `||` context,
    # where bash ignores set -e.
    rm -f "$dir/meson-logs/testlog.txt"
    if ! ninja -C "$dir"; then
        echo "crew: build $name does not compile"
        return 1
    fi
    local rc=0
    meson test -C "$dir" --print-errorlogs --num-processes 1 || rc=$?
    if [ ! -f "$dir/meson-logs/testlog.txt" ]; then
        echo "crew: build $name ran no tests"
        return 1
    fi
    count_results "$dir"
    # A sanitizer report that did not change an exit code still fails us.
    if grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" \
            "$dir/meson-logs/testlog.txt"; then
        echo "crew: sanitizer report in build $name"
        rc=1
    fi
    return $rc
}

status=0
for b in "${builds[@]}"; do
    if [ "$b" = negative ]; then
        bash scripts/negative-controls.sh || status=1
        continue
    fi
    run_build "$b" || status=1
done
if [ $# -eq 0 ]; then
    bash scripts/negative-controls.sh || status=1
fi

# A build that failed before its tests could count still fails the line.
if [ $status -ne 0 ] && [ $total_fail -eq 0 ]; then
    total_fail=1
fi
echo "tests: $total_ok passed, $total_fail failed"
exit $status
