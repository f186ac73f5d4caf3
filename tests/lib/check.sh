# shellcheck shell=bash
# Check reporting shared by the shell tests: one "PASS: ..." or "FAIL: ..."
# line per check, counted, and check_summary's final "N passed, M failed"
# line, which tests/run-all.sh reads.

CHECK_PASSES=0
CHECK_FAILS=0

pass() {
	CHECK_PASSES=$((CHECK_PASSES + 1))
	echo "PASS: $*"
}

# fail MSG: record a failed check and go on.
fail() {
	CHECK_FAILS=$((CHECK_FAILS + 1))
	echo "FAIL: $*"
}

note() { echo "  .. $*"; }

# check MSG CMD...: PASS if CMD succeeds, FAIL otherwise.
check() {
	local msg=$1
	shift
	if "$@"; then pass "$msg"; else fail "$msg"; fi
}

# check_not MSG CMD...: PASS if CMD fails.
check_not() {
	local msg=$1
	shift
	if "$@"; then fail "$msg"; else pass "$msg"; fi
}

# assert_eq EXPECTED ACTUAL MSG
assert_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3 (expected '$1', got '$2')"
	fi
}

assert_ne() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3 (got '$2', expected something else)"
	fi
}

# assert_gt A B MSG: integers, A > B.
assert_gt() {
	if [ "$1" -gt "$2" ] 2>/dev/null; then
		pass "$3"
	else
		fail "$3 (expected $1 > $2)"
	fi
}

# assert_match REGEX STRING MSG (extended regex, grep -E)
assert_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$1"; then
		pass "$3"
	else
		fail "$3 ('$2' does not match /$1/)"
	fi
}

# check_count_lines FILE: add the PASS:/FAIL: lines another program wrote to
# FILE to the counts.
check_count_lines() {
	CHECK_PASSES=$((CHECK_PASSES + $(grep -c '^PASS:' "$1")))
	CHECK_FAILS=$((CHECK_FAILS + $(grep -c '^FAIL:' "$1")))
}

# check_summary [PREFIX]: the final "N passed, M failed" line; true if
# nothing failed.
check_summary() {
	echo "${1:+$1 }$CHECK_PASSES passed, $CHECK_FAILS failed"
	[ "$CHECK_FAILS" -eq 0 ]
}
