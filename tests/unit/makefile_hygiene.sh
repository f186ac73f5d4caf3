#!/bin/bash
# The Makefile's build rules: a user's CFLAGS adds to ptrig's flags (the
# include paths and -Werror stay), objects depend on the headers they really
# include (from the compiler, -MMD -MP) and on the Makefile, and a failed
# recipe leaves no half-written target (.DELETE_ON_ERROR). Checked with
# make's dry run against a private build directory, so nothing of the real
# build changes; one object is compiled for real with CFLAGS=-O0.
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/check.sh
. tests/lib/check.sh

T=$(mktemp -d /tmp/ptrig-make.XXXXXX)
trap 'rm -rf "$T"' EXIT
OBJ=$T/loader/config.o

out=$(make BUILD="$T" CFLAGS=-O0 V=1 "$OBJ" 2>&1)
rc=$?
assert_eq 0 "$rc" "make CFLAGS=-O0 builds loader/config.o"
assert_match ' -O0( |$)' "$out" "CFLAGS=-O0 reaches the compiler"
assert_match ' -Werror( |$)' "$out" "CFLAGS=-O0 keeps -Werror"
assert_match ' -Iinclude( |$)' "$out" "CFLAGS=-O0 keeps the include paths"
check "the compiler wrote the object's header dependencies" test -s "$T/loader/config.d"
check "... naming the headers config.c includes" grep -q 'loader/config.h' "$T/loader/config.d"

# make -n -W FILE: what would be rebuilt if FILE had just changed.
rebuilds() { make -n BUILD="$T" CFLAGS=-O0 -W "$1" "$OBJ" 2>/dev/null | grep -q 'config\.c'; }
check "up to date: nothing to rebuild" make -q BUILD="$T" CFLAGS=-O0 "$OBJ"
check "a header config.c includes changed: rebuilt" rebuilds loader/config.h
check_not "a header config.c does not include changed: not rebuilt" rebuilds loader/agent.h
check "the Makefile changed: rebuilt" rebuilds Makefile
check ".DELETE_ON_ERROR is in force" sh -c "make -p -n BUILD='$T' '$OBJ' 2>/dev/null | grep -q '^.DELETE_ON_ERROR:'"

check_summary
