#!/usr/bin/env bash
# The typed layer's compile-time checks (include/crew/typed.h). A task
# whose parameter has an array type (it would decay to a pointer while the
# stored argument keeps the array: the spawn would store the pointer's
# bits in it), or whose arguments pass 64 bytes, must not compile, and
# the compiler must print the header's message; the same tasks written as
# the messages say must compile without a warning.
#   bash typed_rejects.sh INCLUDE_DIR CC [CC_ARGS...]
set -u
inc=$1
shift
cc=("$@")
dir=$(mktemp -d "${TMPDIR:-/tmp}/typed-rejects.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failed=0

# fail NAME WHY: says so, with the compiler's output when it had any
fail() {
    echo "FAIL $1: $2"
    sed 's/^/    /' "$dir/$1.log" | head -20
    failed=1
}

# check NAME ok|reject MESSAGE_REGEX, the task's source on stdin
check() {
    local name=$1 want=$2 msg=$3
    { echo '#include <crew.h>'; cat; } >"$dir/$name.c"
    local flags=(-std=c11 -Wall -Wextra -I"$inc" -c "$dir/$name.c" -o "$dir/$name.o")
    [ "$want" = ok ] && flags+=(-Werror)
    if "${cc[@]}" "${flags[@]}" >"$dir/$name.log" 2>&1; then
        [ "$want" = reject ] && { fail "$name" "compiled; it must be rejected"; return; }
    elif [ "$want" = ok ]; then
        fail "$name" "did not compile:"
        return
    elif ! grep -q -- "$msg" "$dir/$name.log"; then
        fail "$name" "rejected, but without the message '$msg':"
        return
    fi
    echo "ok   $name ($want)"
}

check array_parameter reject 'task parameter v has an array type' <<'C'
typedef int vec4[4];
CREW_TASK(int, sum4, (vec4, v))
{
    return v[0] + v[1] + v[2] + v[3];
}
C
check array_parameter_among_others reject 'task parameter b has an array type' <<'C'
typedef char name8[8];
CREW_TASK(long, mixed, (long, a), (name8, b), (int, c))
{
    return a + b[0] + c;
}
C
check array_in_a_struct ok '' <<'C'
typedef struct vec4 { int v[4]; } vec4;
CREW_TASK(int, sum4, (vec4, x))
{
    return x.v[0] + x.v[1] + x.v[2] + x.v[3];
}
int sum4_of(vec4 x) { return sum4(x); }
C
check pointer_to_an_array ok '' <<'C'
typedef int (*row4)[4];
CREW_TASK(int, first, (row4, p), (const char *, s))
{
    return (*p)[0] + s[0];
}
int first_of(row4 p) { return first(p, "x"); }
C
check arguments_over_64_bytes reject 'task arguments over 64 bytes' <<'C'
typedef struct big { char b[65]; } big;
CREW_TASK(int, takes_big, (big, x))
{
    return x.b[0];
}
C
check eight_parameters ok '' <<'C'
CREW_TASK(long, eight, (char, a), (short, b), (int, c), (long, d), (float, e), (double, f),
          (void *, g), (const int *, h))
{
    return a + b + c + d + (long)e + (long)f + (g != 0) + *h;
}
long eight_of(const int *h) { return eight(1, 2, 3, 4, 5, 6, 0, h); }
C
exit $failed
