#!/usr/bin/env bash
# Runs every test suite; one summary line per suite, then "N passed, M failed".
# Needs root (BPF, network namespaces). Suites: unit (cmocka), bpf
# (BPF_PROG_TEST_RUN fixtures), loader (ptrig-load on a veth), e2e (the lab),
# kernel (the BPF object's relocations; key suites in a Debian 6.1 guest).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

if [ "$(id -u)" -ne 0 ]; then
	echo "error: the tests need root (BPF, network namespaces); run: sudo make test" >&2
	exit 1
fi
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf || { echo "error: cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }
fi

logdir=$BUILD/test-logs
mkdir -p "$logdir"
passed=0
failed=0
checks=0
failed_names=()

# run_one SUITE NAME CMD...: run a test, keep its log, show it on failure.
run_one() {
	local suite=$1 name=$2 log rc start n
	shift 2
	log=$logdir/$suite-$(basename "$name").log
	start=$(date +%s)
	timeout --kill-after=10 "${RUN_TIMEOUT:-300}" "$@" >"$log" 2>&1
	rc=$?
	# Individual checks: "N passed, M failed" or cmocka's "N test(s) run".
	n=$(grep -Eo '^[0-9]+ passed|^\[=+\] [0-9]+ test' "$log" | grep -Eo '[0-9]+' | tail -1)
	checks=$((checks + ${n:-0}))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf '  PASS  %-8s %-40s (%ds) %s\n' "$suite" "$name" $(($(date +%s) - start)) \
			"$(grep -E '^[0-9]+ passed, [0-9]+ failed|PASSED|tests? run' "$log" | tail -1)"
	else
		failed=$((failed + 1))
		failed_names+=("$suite/$name")
		printf '  FAIL  %-8s %-40s (rc=%d, %ds)\n' "$suite" "$name" $rc $(($(date +%s) - start))
		sed 's/^/        | /' "$log" | tail -60
	fi
}

suite() {
	local name=$1 before_p=$passed before_f=$failed
	shift
	echo "== suite $name"
	"$@"
	echo "suite $name: $((passed - before_p)) passed, $((failed - before_f)) failed"
}

unit_suite() {
	local t
	for t in tests/unit/test_*.c; do
		t=$BUILD/tests/$(basename "$t" .c)
		run_one unit "$(basename "$t")" "$t"
	done
	run_one unit library_silent tests/unit/library_silent.sh
	run_one unit makefile_hygiene tests/unit/makefile_hygiene.sh
	# The rule-file fuzz seeds, replayed with ASan and UBSan.
	run_one unit config-fuzz-corpus "$BUILD/fuzz/config-replay" tests/fuzz/corpus
}

bpf_suite() {
	local t
	for t in tests/bpf/test_*.c; do
		[ -e "$t" ] || continue
		t=$BUILD/tests/$(basename "$t" .c)
		run_one bpf "$(basename "$t")" "$t"
	done
}

script_suite() {
	local dir=$1 t
	for t in tests/$dir/test_*.sh; do
		[ -e "$t" ] || continue
		run_one "$dir" "$(basename "$t" .sh)" bash "$t"
	done
}

start=$(date +%s)
# A live ptrig's pins (/sys/fs/bpf/ptrig/wan0) must survive every suite.
live_state=$logdir/live-pins.state
bash tests/live/live_pins.sh setup "$live_state" || { echo "error: live-pins setup failed" >&2; exit 1; }
suite unit unit_suite
suite bpf bpf_suite
suite loader script_suite loader
suite e2e script_suite e2e
suite agent script_suite agent
RUN_TIMEOUT=1800 suite kernel script_suite kernel
suite live run_one live live_pins bash tests/live/live_pins.sh check "$live_state"
echo
echo "total time: $(($(date +%s) - start))s, $checks checks in $((passed + failed)) test programs"
if [ $failed -ne 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
