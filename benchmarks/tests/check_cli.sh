#!/usr/bin/env bash
# One case of crew-bench's command line:
#   check_cli.sh CREW_BENCH WANT_STATUS WANT_TEXT [ARG...]
# runs CREW_BENCH ARG... and passes when it exits with WANT_STATUS and its
# output (stdout and stderr together) contains WANT_TEXT, a fixed string.
# An option error (status 2) must also show the usage, on stderr.
set -u
bin=$1 want=$2 text=$3
shift 3
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$(timeout 120 "$bin" "$@" 2>"$err")
rc=$?
all="$out
$(cat "$err")"
fail=0
if [ "$rc" -ne "$want" ]; then
    echo "crew-bench $*: exit status $rc, wanted $want"
    fail=1
fi
if ! grep -qF -- "$text" <<<"$all"; then
    echo "crew-bench $*: no \"$text\" in its output"
    fail=1
fi
if [ "$want" -eq 2 ] && ! grep -q '^usage: crew-bench' "$err"; then
    echo "crew-bench $*: an option error without the usage on stderr"
    fail=1
fi
if [ $fail -ne 0 ]; then
    echo "--- its output:"
    echo "$all"
    exit 1
fi
echo "crew-bench $*: status $rc, \"$text\": ok"
