#!/usr/bin/env bash
# Each negative control removes one guard on purpose; the tests that
# protect that guard must then fail. Passing here means "the tests bite".
# A control counts as biting when its test fails in any of three runs (the
# failures are races: likely, not certain, in one run).
set -uo pipefail
cd "$(dirname "$0")/.."

# control : test executable : Criterion filter
controls=(
    "deque_pop_fence:test_deque:deque/*"
)
if [ -f tests/pool/cases_pool.c ]; then
    controls+=("pool_aba_version:test_pool:pool/*")
fi
if [ -f tests/serial/cases_serial.c ]; then
    controls+=("serial_leave_cas:test_serial:serial/posts_racing_a_queue_going_idle_are_never_lost")
fi

status=0
for entry in "${controls[@]}"; do
    IFS=: read -r control exe filter <<<"$entry"
    dir=build/negative-$control
    if [ ! -d "$dir" ]; then
        meson setup "$dir" -Dnegative_control="$control" -Dbuildtype=release >/dev/null || { status=1; continue; }
    fi
    ninja -C "$dir" >/dev/null || { status=1; continue; }
    bit=0
    for attempt in 1 2 3; do
        if ! "$dir/tests/$exe" --jobs=1 --filter="$filter" >"$dir/run$attempt.log" 2>&1; then
            bit=1
            echo "negative control $control: tests failed as they must (run $attempt):"
            grep -E "check failed" "$dir/run$attempt.log" | sed 's/^/    /'
            break
        fi
    done
    if [ $bit -eq 0 ]; then
        echo "negative control $control: the tests PASSED on a broken build: they do not bite"
        status=1
    fi
done
exit $status
