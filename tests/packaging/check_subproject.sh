#!/usr/bin/env bash
# crew as a Meson subproject: the outside project in subproject_consumer/
# (its meson.build, main.c and subprojects/crew.wrap) is copied into a
# temporary directory, crew's source tree is put in as subprojects/crew,
# and the project is configured, built and run. It reaches crew both ways,
# dependency('crew') and subproject('crew').get_variable('crew_dep').
#
# usage: check_subproject.sh MESON SOURCE_ROOT CC...
#
# subprojects/crew is a symbolic link to the source tree: Meson only reads
# a subproject's sources (everything it writes goes to the consumer's build
# directory, in the temporary directory too), and the link spares copying
# the tree with whatever build directories it holds.
set -euo pipefail

meson=$1 source=$2
shift 2
cc=("$@")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crew-subproject.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

consumer=$source/tests/packaging/subproject_consumer
mkdir -p "$tmp/src/subprojects"
cp "$consumer/meson.build" "$consumer/main.c" "$tmp/src/"
cp "$consumer/subprojects/crew.wrap" "$tmp/src/subprojects/"
ln -s "$source" "$tmp/src/subprojects/crew"

# --force-fallback-for: a crew installed on this machine must not stand in
# for the subproject. -Werror: crew must build cleanly with a consumer's
# default settings (a debug build), not only with its own.
if ! CC="${cc[*]}" "$meson" setup "$tmp/build" "$tmp/src" \
        --force-fallback-for=crew -Dwerror=true >"$tmp/setup.log" 2>&1; then
    cat "$tmp/setup.log" >&2
    fail "meson setup of the consumer project failed"
fi
grep -E "Executing subproject crew|Subproject crew finished|Dependency crew" "$tmp/setup.log" || true

if ! "$meson" compile -C "$tmp/build" >"$tmp/compile.log" 2>&1; then
    cat "$tmp/compile.log" >&2
    fail "building the consumer project failed"
fi

# Only crew's library was built for the consumer: its own tests and
# benchmarks stayed off.
if ls "$tmp/build/subprojects/crew/tests" "$tmp/build/subprojects/crew/benchmarks" >/dev/null 2>&1; then
    fail "the subproject built crew's tests or benchmarks"
fi

for exe in consumer consumer_var; do
    "$tmp/build/$exe" || fail "$exe (built against the crew subproject) failed"
done
echo "subproject: ok"
