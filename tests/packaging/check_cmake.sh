#!/usr/bin/env bash
# What a CMake user does with an installed crew, in a temporary directory:
# crew is configured, built and installed into a prefix (the library
# only), then two outside CMake projects are configured against it with
# -DCMAKE_PREFIX_PATH=<prefix>, built and run:
#   cmake_consumer/    find_package(crew CONFIG REQUIRED): crew::crew
#                      (shared, then CREW_USE_STATIC=ON: static) and
#                      crew::crew_static, a C and a C++ program (crew.hpp);
#                      a version find_package must refuse;
#   cmake_pkgconfig/   pkg_check_modules(CREW IMPORTED_TARGET crew);
#   cmake_external/    no install: crew built from its source tree by the
#                      consumer's build (ExternalProject running Meson).
#
# usage: check_cmake.sh MESON CMAKE SOURCE_ROOT VERSION SOVERSION
# The compilers come from the environment: CC and CXX (commands, split on
# blanks), the same ones this crew build uses.
set -euo pipefail

meson=$1 cmake=$2 source=$3 version=$4 soversion=$5
: "${CC:?CC must name the C compiler}" "${CXX:?CXX must name the C++ compiler}"

for tool in pkg-config readelf python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL: $tool not found" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crew-cmake.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# ---- crew: configure, build, install ----
prefix=$tmp/prefix
if ! "$meson" setup "$tmp/crew" "$source" --prefix "$prefix" \
        -Dtests=disabled -Dbenchmarks=false >"$tmp/setup.log" 2>&1; then
    cat "$tmp/setup.log" >&2
    fail "meson setup --prefix $prefix failed"
fi
if ! "$meson" install -C "$tmp/crew" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "meson install failed"
fi
lib=$("$meson" introspect --buildoptions "$tmp/crew" |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
case $lib in /*) ;; *) lib=$prefix/$lib ;; esac
for f in crewConfig.cmake crewConfigVersion.cmake; do
    [ -f "$lib/cmake/crew/$f" ] || fail "$lib/cmake/crew/$f missing"
done
echo "installed into $prefix; CMake package in $lib/cmake/crew"

needed() { # binary: its DT_NEEDED entries
    readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'
}
# The CMake projects never see LD_LIBRARY_PATH: a program linked to the
# shared library finds it through the RUNPATH CMake gives it in its build
# tree, as a user's would.
run() { # binary
    env -u LD_LIBRARY_PATH "$1" || fail "$(basename "$1") failed"
}
links_shared() { # binary: it needs the installed libcrew.so, and loads that one
    grep -qx "libcrew.so.$soversion" <<<"$(needed "$1")" ||
        fail "$(basename "$1") does not need libcrew.so.$soversion: $(needed "$1" | tr '\n' ' ')"
    local loaded
    loaded=$(env -u LD_LIBRARY_PATH ldd "$1")
    grep -q "libcrew.so.$soversion => $lib/libcrew.so.$soversion" <<<"$loaded" ||
        fail "$(basename "$1") does not load the installed libcrew: $loaded"
}
links_static() { # binary: no shared libcrew at all
    if grep -q '^libcrew' <<<"$(needed "$1")"; then
        fail "$(basename "$1") needs a shared libcrew, but was to link libcrew.a"
    fi
}
cmake_setup() { # project build-dir cmake-args...: configures (its status)
    local project=$1 dir=$2
    shift 2
    "$cmake" -S "$source/tests/packaging/$project" -B "$dir" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="${CC%% *}" -DCMAKE_CXX_COMPILER="${CXX%% *}" \
        "$@" >"$dir.configure.log" 2>&1
}
configure() { # project build-dir cmake-args...: configures and builds
    local project=$1 dir=$2
    shift 2
    if ! cmake_setup "$project" "$dir" "$@"; then
        cat "$dir.configure.log" >&2
        fail "cmake configure of $project ($*) failed"
    fi
    grep -E "^-- crew " "$dir.configure.log" || true
    if ! "$cmake" --build "$dir" >"$dir.build.log" 2>&1; then
        cat "$dir.build.log" >&2
        fail "cmake --build of $project ($*) failed"
    fi
}

# ---- find_package(crew CONFIG): crew::crew shared ----
b=$tmp/find-shared
configure cmake_consumer "$b" -DCMAKE_PREFIX_PATH="$prefix"
links_shared "$b/consumer_c"
links_shared "$b/consumer_cpp"
links_static "$b/consumer_cpp_static"
for exe in consumer_c consumer_cpp consumer_cpp_static; do
    run "$b/$exe"
done

# ---- CREW_USE_STATIC: crew::crew is libcrew.a ----
b=$tmp/find-static
configure cmake_consumer "$b" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_STATIC=ON
for exe in consumer_c consumer_cpp consumer_cpp_static; do
    links_static "$b/$exe"
    run "$b/$exe"
done

# ---- the version file (configure only): an older minor and this version
# are met; the next major is not ----
for ask in 0.0.1 "$version"; do
    cmake_setup cmake_consumer "$tmp/ask-$ask" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCONSUMER_CREW_VERSION="$ask" ||
        fail "find_package(crew $ask) refused crew $version: $(cat "$tmp/ask-$ask.configure.log")"
done
ask="$((${version%%.*} + 1)).0"
if cmake_setup cmake_consumer "$tmp/refuse" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCONSUMER_CREW_VERSION="$ask"; then
    fail "find_package(crew $ask) accepted crew $version"
fi
grep -q "$version" "$tmp/refuse.configure.log" ||
    fail "find_package(crew $ask) failed without naming the version found: $(cat "$tmp/refuse.configure.log")"
echo "find_package(crew CONFIG): crew::crew shared and static, crew::crew_static, versions: ok"

# ---- pkg_check_modules ----
b=$tmp/pkgconfig
PKG_CONFIG_PATH="$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    configure cmake_pkgconfig "$b"
links_shared "$b/consumer_c"
links_shared "$b/consumer_cpp"
run "$b/consumer_c"
run "$b/consumer_cpp"
echo "pkg_check_modules(crew): ok"

# ---- ExternalProject: crew built by the consumer's own build ----
b=$tmp/external
configure cmake_external "$b" -DCREW_SOURCE_DIR="$source"
for exe in consumer_c consumer_cpp; do
    links_static "$b/$exe"
    run "$b/$exe"
done
echo "ExternalProject (Meson inside CMake): ok"
echo "cmake: ok"
