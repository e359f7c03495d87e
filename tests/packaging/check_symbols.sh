#!/usr/bin/env bash
# What the built libraries show a program that links them:
#   - the shared library exports only crew_* names (nm -D), exactly the
#     CREW_API declarations of include/crew.h and include/crew/*.h, and
#     its soname is
#     libcrew.so.<soversion> (readelf -d);
#   - the static archive defines only crew_* global names (anything else
#     could collide with a program's own symbols);
#   - the ABI program (abi_check.c, built against crew_dep) agrees on the
#     version and on crew_config's size.
#
# usage: check_symbols.sh B_SANITIZE SOVERSION CREW_H ABI_CHECK
#                         [--shared LIBCREW_SO] [--static LIBCREW_A]
set -euo pipefail

sanitize=$1 soversion=$2 header=$3 abi_check=$4
shift 4
shared="" static=""
while [ $# -gt 0 ]; do
    case $1 in
        --shared) shared=$2; shift 2 ;;
        --static) static=$2; shift 2 ;;
        *) echo "check_symbols.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

for tool in nm readelf; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL: $tool not found (it comes with binutils)" >&2
        exit 1
    fi
done

status=0
fail() {
    echo "FAIL: $*" >&2
    status=1
}

# Names that are not ours but may be defined anyway: the ELF linker's own
# (older binutils export them from every shared object) and, in sanitizer
# builds only, the instrumentation's (AddressSanitizer's ODR indicators
# carry our variable's name: __odr_asan.crew_x, __odr_asan_gen_crew_x).
foreign_name() {
    case $1 in
        _init | _fini | _edata | _end | __bss_start) return 0 ;;
    esac
    if [ "$sanitize" != none ]; then
        case $1 in
            __odr_asan.crew_* | __odr_asan_gen_crew_*) return 0 ;;
            __asan_* | __tsan_* | __ubsan_* | __sanitizer_* | __sancov_*) return 0 ;;
        esac
    fi
    return 1
}

# The names declared CREW_API in the header: on each declaration line, the
# last identifier before the parameter list (functions) or the end of the
# declarator (variables).
# crew.h and the private headers it includes (include/crew/*.h).
headers=("$header" "$(dirname "$header")"/crew/*.h)
declared=$(sed -n -E 's/^[[:space:]]*(extern[[:space:]]+)?CREW_API[[:space:]]+//p' "${headers[@]}" |
    sed -E 's/__attribute__.*//; s/[(;].*//; s/[[:space:]]+$//' |
    grep -oE '[A-Za-z_][A-Za-z0-9_]*$' | sort -u)
if [ -z "$declared" ]; then
    fail "no CREW_API declaration found in $header"
fi

if [ -n "$shared" ]; then
    # Symbol versions (name@VER), if the library ever gets a version
    # script, are not part of the name.
    exported=$(nm -D --defined-only "$shared" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
    ours=""
    n=0
    for name in $exported; do
        case $name in
            crew_*) ours+="$name"$'\n'; n=$((n + 1)) ;;
            *) foreign_name "$name" || fail "$shared exports $name, which is not a crew_ name" ;;
        esac
    done
    echo "$shared: $n crew_ names exported"

    # Exactly the header's API: an export the header does not declare is a
    # leak of an internal name; a declaration without an export is a link
    # error waiting for whoever calls it.
    for name in $ours; do
        grep -qx "$name" <<<"$declared" || fail "$shared exports $name, which crew.h does not declare CREW_API"
    done
    for name in $declared; do
        grep -qx "$name" <<<"$ours" || fail "crew.h declares $name CREW_API, but $shared does not export it"
    done

    soname=$(readelf -d "$shared" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    if [ "$soname" = "libcrew.so.$soversion" ]; then
        echo "$shared: SONAME $soname"
    else
        fail "$shared has SONAME '${soname}', expected libcrew.so.$soversion"
    fi
fi

if [ -n "$static" ]; then
    # Global symbols of every member, defined ones only (U lines are what
    # the members need, not what they add).
    globals=$(nm -g --defined-only "$static" | awk 'NF >= 3 { print $3 }' | sort -u)
    n=0
    for name in $globals; do
        case $name in
            crew_*) n=$((n + 1)) ;;
            *) foreign_name "$name" || fail "$static defines the global $name, which is not a crew_ name" ;;
        esac
    done
    echo "$static: $n crew_ globals defined"
fi

# In a cross build meson names the emulator that runs target programs
# (qemu-user; nm and readelf above read any ELF); empty otherwise.
wrapper=()
if [ -n "${MESON_EXE_WRAPPER:-}" ]; then
    read -r -a wrapper <<<"$MESON_EXE_WRAPPER"
fi
if ! "${wrapper[@]}" "$abi_check"; then
    fail "$abi_check failed"
fi

exit $status
