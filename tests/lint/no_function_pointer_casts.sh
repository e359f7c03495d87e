#!/usr/bin/env bash
# Calling a function through a pointer of another function type is
# undefined behaviour in C11 (6.3.2.3p8), even when the parameter types
# are all pointers, and compilers do not warn about the cast: this check
# fails on any cast to a function-pointer type in the library's sources.
set -u
src=${1:?usage: no_function_pointer_casts.sh SRC_DIR}
# A parenthesized type that ends in (*) followed by a parameter list,
# directly applied to an expression: "(int (*)(void *))done".
hits=$(grep -rnE '\(\s*[A-Za-z_][A-Za-z0-9_ ]*\**\s*\(\s*\*\s*\)\s*\([^()]*\)\s*\)\s*[A-Za-z_(&]' \
       --include='*.c' --include='*.h' "$src" || true)
if [ -n "$hits" ]; then
    echo "casts to a function-pointer type (calls through them are undefined):"
    echo "$hits"
    exit 1
fi
echo "no casts to function-pointer types in $src"
