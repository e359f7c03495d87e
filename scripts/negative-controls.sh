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
if [ -f tests/pool/cases_pool_bounds.c ]; then
    # max_live's count never checked: the bound tests see too many alive.
    controls+=("pool_max_live:test_pool:pool/max_live_*")
    # No look after announcing a sleep: the lost wake-up's window test
    # sleeps to its deadline.
    controls+=("pool_live_recheck:test_pool:pool/an_object_freed_in_the_lost_wakeup_window_is_still_found")
fi
if [ -f tests/futures/cases_callbacks.c ]; then
    controls+=("future_callback_recheck:test_futures:futures/callbacks_racing_the_completion_run_exactly_once")
    controls+=("completion_take_cas:test_futures:futures/completion_takers_racing_over_a_full_queue_take_each_future_once")
fi
if [ -f tests/serial/cases_serial.c ]; then
    controls+=("serial_leave_cas:test_serial:serial/posts_racing_a_queue_going_idle_are_never_lost")
fi
if [ -f tests/cpp/cases_typed.cpp ]; then
    # C++ typed macros given the body's hidden state: a lambda that a thief
    # runs, or a std::thread the body starts, uses the body's thread's.
    controls+=("typed_cpp_here:cpp/test_cpp:cpp/typed_*")
fi

status=0
for entry in "${controls[@]}"; do
    IFS=: read -r control exe filter <<<"$entry"
    dir=build/negative-$control
    if [ ! -d "$dir" ]; then
        meson setup "$dir" -Dnegative_control="$control" -Dbuildtype=release >/dev/null || { status=1; continue; }
    fi
    # Only the test program the control is checked with (the library
    # under it comes along): the rest of the tree, benchmarks and models
    # included, would only cost CI minutes.
    ninja -C "$dir" "tests/$exe" >/dev/null || { status=1; continue; }
    bit=0 inconclusive=0
    for attempt in 1 2 3; do
        log=$dir/run$attempt.log
        if ! "$dir/tests/$exe" --jobs=1 --filter="$filter" >"$log" 2>&1; then
            # A race test that could not make its race happen (a loaded
            # machine) fails too, but proves nothing about the guard: only
            # a broken invariant counts as biting, or a crash of the case
            # (with the guard gone the structure hands one item out twice,
            # a double free, or follows a stale link).
            evidence=$({ grep -E "check failed" "$log" | grep -v "did not happen"
                         grep -E "CRASH!" "$log"; } || true)
            if [ -n "$evidence" ]; then
                bit=1
                echo "negative control $control: tests failed or crashed as they must (run $attempt):"
                sed 's/^/    /' <<<"$evidence"
                break
            fi
            inconclusive=1
        fi
    done
    if [ $bit -eq 0 ]; then
        if [ $inconclusive -eq 1 ]; then
            echo "negative control $control: its races did not happen in 3 runs (machine too loaded?): no proof that the tests bite"
        else
            echo "negative control $control: the tests PASSED on a broken build: they do not bite"
        fi
        status=1
    fi
done
exit $status
