#!/usr/bin/env bash
# Everything CPU-specific lives in src/common/port.h, and what the public
# headers' inline fast path needs in include/crew/port.h
# (docs/portability.md): this check fails on any other file of the
# library's sources or public headers that names an architecture, one of
# its instructions or its compiler flags, in code or in a comment.
set -u
port=src/common/port.h
public_port=include/crew/port.h
if [ $# -lt 1 ]; then
    echo "usage: no_architecture_names.sh ROOT_DIR" >&2
    exit 2
fi
root=$1
# Architectures, their instructions and flags; "pause", "yield" and "isb"
# only quoted, as in inline assembly (the words are also English).
pattern='x86|amd64|i[3-6]86|aarch64|arm64|armv[0-9]|__arm|cmpxchg|mcx16|march=|'
pattern+='\b(sse[0-9.]*|avx[0-9]*|neon|lse)\b|ldaxp|stlxp|ldxp|stxp|\bcasp|'
pattern+='"(pause|yield|isb|dmb[^"]*|mfence|lock[^"]*)"'
hits=$(cd "$root" && grep -rniE "$pattern" src include | grep -v -e "^$port:" -e "^$public_port:" || true)
if [ -n "$hits" ]; then
    echo "architecture names outside $port and $public_port (move them there, or say it neutrally):"
    echo "$hits"
    exit 1
fi
echo "no architecture names in src/ and include/ outside $port and $public_port"
