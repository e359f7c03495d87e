#!/usr/bin/env bash
# What a program outside the tree sees of crew-mpi: `pkg-config --cflags
# --libs crew-mpi` (the build's uninstalled .pc files, which meson writes
# beside the installed ones) builds consumer.c with a plain C compiler
# (no mpicc: crew-mpi.pc requires MPI's own .pc), the program runs on two
# ranks, and libcrew-mpi.so exports only crew_mpi_* names.
#
# usage: check_pkgconfig.sh BUILD_ROOT CONSUMER_C LIBCREW_MPI_SO MPIRUN CC...
set -euo pipefail
build=$1 consumer=$2 lib=$3 mpirun=$4
shift 4
cc=("$@")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crew-mpi-pc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

export PKG_CONFIG_PATH=$build/meson-uninstalled
flags=$(pkg-config --cflags --libs crew-mpi) || fail "pkg-config does not find crew-mpi"
echo "pkg-config --cflags --libs crew-mpi: $flags"
# shellcheck disable=SC2086 # the flags are words
"${cc[@]}" -std=c11 -Wall -Wextra -Werror "$consumer" $flags -o "$tmp/consumer" ||
    fail "consumer.c does not build with pkg-config's flags"

root=()
[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
LD_LIBRARY_PATH=$build:$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    timeout 60 "$mpirun" "${root[@]}" --oversubscribe -np 2 "$tmp/consumer" ||
    fail "the consumer did not run right on 2 ranks"

bad=$(nm -D --defined-only "$lib" | awk '{print $NF}' |
      grep -v -E '^(crew_mpi_[a-z_]+|_init|_fini|_edata|_end|__bss_start)$' || true)
[ -z "$bad" ] || fail "libcrew-mpi exports names that are not crew_mpi_*: $bad"
echo "ok"
