#!/usr/bin/env bash
# Runs inside a tools/vm.sh guest (started by test_debian61.sh): test
# programs one after the other, each bounded in time, with nf_conntrack
# loaded first ("with-ct") or checked to stay unloaded ("without-ct").
#
# Usage: guest_suites.sh with-ct|without-ct TEST...
#   TEST: a test binary, or a .sh run with bash. In without-ct mode a test
#   named test_advice.sh may load nf_conntrack (it follows the loader's
#   advice), so put it last.
# Output: one PASS/FAIL line per test (a failed test's log follows, indented),
# "VERIFIER| ..." for the verifier budget's table rows, then
# "guest: N passed, M failed". Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
mode=$1
shift
kernel=$(uname -r)
passed=0
failed=0
logs=/tmp/ptrig-guest-logs
# Under TCG everything runs several times slower: the 4 s trigger timeout of
# the first-device test can lapse between two of its steps.
export FIRST_DEVICE_TIMEOUT=12
mkdir -p "$logs"

pass() {
	passed=$((passed + 1))
	echo "PASS: $*"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}
ct_loaded() { [ -e /sys/module/nf_conntrack/initstate ]; }

case "$mode" in
with-ct)
	label="$kernel with nf_conntrack"
	if modprobe nf_conntrack && ct_loaded; then
		pass "$label: modprobe nf_conntrack"
	else
		fail "$label: modprobe nf_conntrack"
	fi
	;;
without-ct)
	label="$kernel without nf_conntrack"
	if ct_loaded; then
		fail "$label: nf_conntrack is loaded at boot"
	elif modinfo nf_conntrack >/dev/null 2>&1; then
		pass "$label: nf_conntrack is a module, not loaded"
	else
		fail "$label: no nf_conntrack module in this kernel"
	fi
	;;
*)
	echo "usage: $0 with-ct|without-ct TEST..." >&2
	exit 2
	;;
esac

for t in "$@"; do
	case "$t" in
	*.sh) name=$(basename "$(dirname "$t")")/$(basename "$t" .sh) ;;
	*) name=$(basename "$t") ;;
	esac
	log=$logs/$(basename "$t").log
	if [ "$mode" = without-ct ] && ct_loaded; then
		fail "$label: $name: nf_conntrack got loaded by an earlier test; not run"
		continue
	fi
	start=$SECONDS
	case "$t" in
	*.sh) timeout --kill-after=10 1200 bash "$t" >"$log" 2>&1 ;;
	*) timeout --kill-after=10 900 "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	sed -n 's/^| /VERIFIER| /p' "$log"
	sum=$(grep -E '^[0-9]+ passed, [0-9]+ failed|^\[  PASSED  \]' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		pass "$label: $name ($((SECONDS - start))s) $sum"
	else
		fail "$label: $name (rc=$rc, $((SECONDS - start))s) $sum"
		tail -60 "$log" | sed 's/^/    | /'
	fi
done
echo "guest: $passed passed, $failed failed"
[ $failed -eq 0 ]
