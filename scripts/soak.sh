#!/usr/bin/env bash
# scripts/soak.sh SECONDS [crew-soak options]: a mixed load on one pool
# for SECONDS (fork-join, long-lived producers, thousands of short-lived
# threads that post 200 tasks each and exit, short-lived threads using
# the public object pool, groups, graphs), sampling RSS every second.
# Fails when RSS grows, after the warm-up, by more than the bound the
# program states (16 MiB by default; tests/soak/soak.c justifies it from
# crew's documented bounds). Not part of CI: run it by hand, for example
# for 10 minutes before a release: scripts/soak.sh 600.
#
# Options passed on to crew-soak: --warmup S (default: a quarter of the
# run, 10 to 60 s), --bound-mib M, --no-churn-posts, --no-churn-objpool
# (to tell which kind of short-lived thread strands memory).
#
# The build is an optimized gcc build of its own (build/soak): sanitizers
# would change what RSS measures.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 12 ]; then
    echo "usage: scripts/soak.sh SECONDS (at least 12) [--warmup S] [--bound-mib M]" \
         "[--no-churn-posts] [--no-churn-objpool]" >&2
    exit 2
fi
secs=$1
shift

. scripts/deps.sh
crew_ensure_packages "${CREW_BUILD_PACKAGES[@]}"

dir=build/soak
if [ ! -f "$dir/build.ninja" ]; then
    mkdir -p build
    CC=gcc meson setup "$dir" -Dwerror=true -Dbuildtype=release -Dbenchmarks=false \
        >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" tests/soak/crew-soak >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; exit 1; }

# The program stops itself after SECONDS; timeout(1) only guards a hang.
exec timeout --signal=KILL $((secs + 120)) "$dir/tests/soak/crew-soak" "$secs" "$@"
