#!/usr/bin/env bash
# What a user does with crew's source tree and pkg-config, in a temporary
# directory: `meson setup --prefix` (the library only) and `meson install`,
# then checks the files are where they belong (the header, libcrew.so.VERSION
# with its soname and development links, libcrew.a, crew.pc) and that a
# program builds with `cc app.c $(pkg-config --cflags --libs crew)` and runs,
# linked to the shared library, to the static one, and fully static.
#
# The same for a C++ program using crew.hpp (tests/packaging/consumer.cpp,
# `c++ -std=c++17 app.cpp $(pkg-config ...)`, shared and crew static) when
# CREW_CXX names the C++ compiler (split on blanks); check_cmake.sh does
# the CMake side.
#
# usage: check_install.sh MESON SOURCE_ROOT VERSION SOVERSION CC...
#
# The library is configured and built afresh, with the same compiler, in
# the temporary directory: meson install from the build meson test is using
# would write its install log there (and could rebuild it under our feet),
# and the source tree is only read.
set -euo pipefail

meson=$1 source=$2 version=$3 soversion=$4
shift 4
cc=("$@")

for tool in pkg-config readelf ldd python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL: $tool not found" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crew-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# ---- configure, build, install ----
prefix=$tmp/prefix
if ! CC="${cc[*]}" "$meson" setup "$tmp/build" "$source" --prefix "$prefix" \
        -Dtests=disabled -Dbenchmarks=false >"$tmp/setup.log" 2>&1; then
    cat "$tmp/setup.log" >&2
    fail "meson setup --prefix $prefix failed"
fi
if ! "$meson" install -C "$tmp/build" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "meson install failed"
fi

# libdir and includedir as this platform lays them out (lib/<triplet> on
# Debian), from the build's own options.
option() {
    "$meson" introspect --buildoptions "$tmp/build" |
        python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
lib=$(option libdir) inc=$(option includedir)
case $lib in /*) ;; *) lib=$prefix/$lib ;; esac
case $inc in /*) ;; *) inc=$prefix/$inc ;; esac
echo "installed into $prefix (libdir $lib)"

# ---- the files ----
# The project's default_library is both: the shared and the static library.
real=$lib/libcrew.so.$version
cmp -s "$inc/crew.h" "$source/include/crew.h" || fail "$inc/crew.h missing or not include/crew.h"
for h in fastpath.h port.h typed.h; do
    cmp -s "$inc/crew/$h" "$source/include/crew/$h" ||
        fail "$inc/crew/$h missing or not include/crew/$h"
done
cmp -s "$inc/crew.hpp" "$source/include/crew.hpp" || fail "$inc/crew.hpp missing or not include/crew.hpp"
for f in crewConfig.cmake crewConfigVersion.cmake; do
    [ -f "$lib/cmake/crew/$f" ] || fail "$lib/cmake/crew/$f missing"
done
[ -f "$lib/pkgconfig/crew.pc" ] || fail "$lib/pkgconfig/crew.pc missing"
[ -f "$lib/libcrew.a" ] || fail "$lib/libcrew.a missing"
if [ ! -f "$real" ] || [ -L "$real" ]; then
    fail "$real missing (or a link)"
fi
# The soname link, which the dynamic loader follows, and the development
# link, which `-lcrew` follows: both lead to the real file.
for link in "libcrew.so.$soversion" libcrew.so; do
    [ -L "$lib/$link" ] || fail "$lib/$link is not a symbolic link"
    [ "$(readlink -f "$lib/$link")" = "$(readlink -f "$real")" ] ||
        fail "$lib/$link does not lead to libcrew.so.$version"
done
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "libcrew.so.$soversion" ] || fail "installed SONAME '$soname', expected libcrew.so.$soversion"
# No path into the build tree may survive in what is installed.
if readelf -d "$real" | grep -E '\((RPATH|RUNPATH)\)'; then
    fail "the installed libcrew.so.$version carries an RPATH/RUNPATH"
fi
echo "files: crew.h, crew/fastpath.h, crew/port.h, crew/typed.h, crew.hpp, libcrew.so.$version (SONAME $soname) + 2 links, libcrew.a, crew.pc, cmake/crew/"

# ---- pkg-config ----
# As a user points it at a non-system prefix. atomic_ops, which crew.pc
# requires privately, comes from the system's pkg-config path.
export PKG_CONFIG_PATH="$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pc() {
    pkg-config "$@" crew
}
pc --exists || fail "pkg-config does not find crew: $(pc --print-errors --exists 2>&1)"
[ "$(pc --modversion)" = "$version" ] || fail "pkg-config --modversion crew: $(pc --modversion), expected $version"
[ "$(pc --variable=libdir)" = "$lib" ] || fail "crew.pc libdir $(pc --variable=libdir), files in $lib"
[ "$(pc --variable=includedir)" = "$inc" ] || fail "crew.pc includedir $(pc --variable=includedir), files in $inc"
echo "pkg-config --cflags --libs crew: $(pc --cflags --libs)"
echo "pkg-config --static --libs crew: $(pc --static --libs)"

# ---- a program built against it ----
app=$source/tests/packaging/consumer.c
warn=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
needed() { # binary: its DT_NEEDED entries
    readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'
}

# Shared: found at run time through LD_LIBRARY_PATH, as for any library
# outside the loader's default path.
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
"${cc[@]}" "${warn[@]}" -o "$tmp/app-shared" "$app" $(pc --cflags --libs) ||
    fail "cc app.c \$(pkg-config --cflags --libs crew) failed"
grep -qx "libcrew.so.$soversion" <<<"$(needed "$tmp/app-shared")" ||
    fail "app-shared does not need libcrew.so.$soversion: $(needed "$tmp/app-shared" | tr '\n' ' ')"
# ldd's output is captured first: `ldd | grep -q` fails under pipefail
# whenever grep exits before ldd has written everything (SIGPIPE).
loaded=$(LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$tmp/app-shared")
grep -q "libcrew.so.$soversion => $lib/libcrew.so.$soversion" <<<"$loaded" ||
    fail "app-shared does not load the installed libcrew: $loaded"
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/app-shared" ||
    fail "app-shared (linked to the installed libcrew.so) failed"

# crew static, the C library shared: what `-Wl,-Bstatic` does to
# `pkg-config --static --libs` (libcrew.so, when installed beside
# libcrew.a, would otherwise win).
# shellcheck disable=SC2046
"${cc[@]}" "${warn[@]}" -o "$tmp/app-static-crew" "$app" $(pc --cflags) \
    -Wl,-Bstatic $(pc --static --libs) -Wl,-Bdynamic ||
    fail "linking libcrew.a with \$(pkg-config --static --libs crew) failed"
if grep -q '^libcrew' <<<"$(needed "$tmp/app-static-crew")"; then
    fail "app-static-crew still needs a shared libcrew"
fi
env -u LD_LIBRARY_PATH "$tmp/app-static-crew" || fail "app-static-crew failed"

# Fully static: every library crew needs must be named by crew.pc.
# shellcheck disable=SC2046
"${cc[@]}" "${warn[@]}" -static -o "$tmp/app-static" "$app" $(pc --static --cflags --libs) ||
    fail "cc -static app.c \$(pkg-config --static --cflags --libs crew) failed"
if [ -n "$(needed "$tmp/app-static")" ]; then
    fail "app-static is not static: it needs $(needed "$tmp/app-static" | tr '\n' ' ')"
fi
env -u LD_LIBRARY_PATH "$tmp/app-static" || fail "app-static failed"

# ---- a C++ program (crew.hpp) ----
if [ -n "${CREW_CXX:-}" ]; then
    read -r -a cxx <<<"$CREW_CXX"
    app_cpp=$source/tests/packaging/consumer.cpp
    warn_cpp=(-std=c++17 -Wall -Wextra -Wpedantic -Werror)
    # shellcheck disable=SC2046
    "${cxx[@]}" "${warn_cpp[@]}" -o "$tmp/app-cpp" "$app_cpp" $(pc --cflags --libs) ||
        fail "c++ -std=c++17 consumer.cpp \$(pkg-config --cflags --libs crew) failed"
    grep -qx "libcrew.so.$soversion" <<<"$(needed "$tmp/app-cpp")" ||
        fail "app-cpp does not need libcrew.so.$soversion"
    LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/app-cpp" ||
        fail "app-cpp (linked to the installed libcrew.so) failed"
    # shellcheck disable=SC2046
    "${cxx[@]}" "${warn_cpp[@]}" -o "$tmp/app-cpp-static-crew" "$app_cpp" $(pc --cflags) \
        -Wl,-Bstatic $(pc --static --libs) -Wl,-Bdynamic ||
        fail "linking consumer.cpp with libcrew.a failed"
    if grep -q '^libcrew' <<<"$(needed "$tmp/app-cpp-static-crew")"; then
        fail "app-cpp-static-crew still needs a shared libcrew"
    fi
    env -u LD_LIBRARY_PATH "$tmp/app-cpp-static-crew" || fail "app-cpp-static-crew failed"
else
    echo "CREW_CXX not set: no C++ program built"
fi

echo "install: ok"
