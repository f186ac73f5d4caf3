#!/usr/bin/env bash
# ptrig's suites on Debian 12's own kernel (6.1, conntrack as a module), in a
# qemu guest (tools/vm.sh) that runs this machine's build over a read-only 9p
# root. Binaries are built on the host (same Debian 12 userland).
#
#   test_debian61.sh          (make test) the verifier budget here, and one
#                             boot with nf_conntrack loaded: BPF fixtures,
#                             verifier budget, loader tests,
#                             e2e TCP, UDP, active FTP, conntrack safety and
#                             the loader's advice; and one boot for the WAN
#                             link types (tests/links: PPPoE with reconnects,
#                             VLAN, WireGuard, flowtable; and tun)
#   test_debian61.sh --ci     (.ci/run, after make test) what make test's
#                             boots left out, within CI's time: the boot
#                             without nf_conntrack (as --full), and one with
#                             it for the interface-identity test and every
#                             other e2e scenario but the wire-checksum
#                             capture; the link types keep make test's TCP
#                             scenario (their full runs take an hour here)
#   test_debian61.sh --full   (make test-kernels) two boots: without
#                             nf_conntrack (unit, fixtures, verifier budget,
#                             loader tests, then the advice test, which loads
#                             it as the loader advises), and with it (every
#                             suite, the link types included); writes bench/results/verifier.md with
#                             this machine's kernel and the guest's
#
# Env: VM_KERNEL_PKG (default linux-image-6.1.0-57-amd64) and the other VM_*
# settings of tools/vm.sh. Output: the guests' PASS/FAIL lines, the boot and
# suite times, then "N passed, M failed"; exit 1 if anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
full=0 ci=0
case "${1:-}" in
--full) full=1 ;;
--ci) ci=1 ;;
esac
# Per boot; the suites inside are bounded each on their own too.
VM_TIMEOUT=${VM_TIMEOUT:-2400}
export VM_TIMEOUT
passed=0
failed=0
T=$(mktemp -d) || exit 1
trap 'rm -rf -- "$T"' EXIT

pass() {
	passed=$((passed + 1))
	echo "PASS: $*"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}

# boot NAME MODE TEST...: one guest running guest_suites.sh; its PASS/FAIL
# lines count here.
boot() {
	local name=$1 start rc p f
	shift
	start=$SECONDS
	echo "== guest: $name"
	bash tools/vm.sh bash tests/kernel/guest_suites.sh "$@" 2>&1 | tee "$T/$name.log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS: ' "$T/$name.log")
	f=$(grep -c '^FAIL: ' "$T/$name.log")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "guest $name: tools/vm.sh exited $rc"
	elif ! grep -q '^guest: [0-9]* passed' "$T/$name.log"; then
		fail "guest $name: did not finish its suites (tools/vm.sh exit $rc)"
	fi
	echo "== guest $name: $((SECONDS - start))s (boot and all suites)"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "error: needs root (qemu serves the root filesystem to the guest)" >&2
	exit 1
fi
# The BPF fixture programs, one per tests/bpf/test_*.c. Not the trigger race:
# on 6.1 under emulation 0 to 9 of its 10,000 two-CPU races end with the
# loser counted as a refresh instead of a conflict (the winner keeps the
# trigger); exact on this machine's kernel. Not understood yet.
FIXTURES=()
for f in tests/bpf/test_*.c; do
	[ "$(basename "$f")" = test_trigger_race.c ] && continue
	FIXTURES+=("$BUILD/tests/$(basename "$f" .c)")
done
for f in ptrig-load tests/test_config tests/verifier_budget "${FIXTURES[@]#"$BUILD/"}"; do
	[ -x "$BUILD/$f" ] || {
		fail "$BUILD/$f missing (run make)"
		echo "$passed passed, $failed failed"
		exit 1
	}
done

# The verifier budget on this machine's kernel too (conntrack built in here).
"$BUILD/tests/verifier_budget" >"$T/host-verifier.log" 2>&1
rc=$?
sed -n "s/^\(PASS\|FAIL\): /\1: $(uname -r): verifier budget: /p" "$T/host-verifier.log"
passed=$((passed + $(grep -c '^PASS: ' "$T/host-verifier.log")))
failed=$((failed + $(grep -c '^FAIL: ' "$T/host-verifier.log")))
if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$T/host-verifier.log"; then
	fail "verifier budget on $(uname -r): exit $rc"
fi

# The boot time, and tools/vm.sh handing back the command's output and exit
# status.
start=$(date +%s%N)
out=$(bash tools/vm.sh sh -c 'echo "in $(uname -r)"; exit 7' 2>"$T/vm.err")
rc=$?
kver=${VM_KERNEL_PKG:-linux-image-6.1.0-57-amd64}
kver=${kver#linux-image-}
if [ $rc -eq 7 ] && [ "$out" = "in $kver" ]; then
	pass "guest boots, runs a command, returns its output and exit status 7 ($((($(date +%s%N) - start) / 1000000))ms)"
else
	fail "guest boots and runs a command (exit $rc, output '$out': $(tail -3 "$T/vm.err" | tr '\n' '|'))"
	echo "$passed passed, $failed failed"
	exit 1
fi
if [ $full -eq 1 ] || [ $ci -eq 1 ]; then
	start=$SECONDS
	bash tools/vm.sh -t 20 sleep 300 >/dev/null 2>&1
	rc=$?
	if [ $rc -eq 124 ] && [ $((SECONDS - start)) -le 40 ]; then
		pass "tools/vm.sh -t 20: a guest that runs too long is killed (exit 124, $((SECONDS - start))s)"
	else
		fail "tools/vm.sh -t 20 sleep 300: exit $rc after $((SECONDS - start))s, want 124 within 40 s"
	fi
fi

# WAN link types (PPPoE, VLAN, WireGuard, tun, nft flowtable): the modules
# they need exist only in the guest. A boot of their own.
# make test: each over the TCP scenario (and PPPoE's reconnects); tun, which
# the host runs too, only in test-kernels.
LINK_TESTS=(tests/links/test_*.sh)

# Every e2e scenario.
GUEST_E2E=(tests/e2e/test_*.sh)

# What make test runs in its with-ct boot.
QUICK_E2E=(tests/e2e/test_tcp.sh tests/e2e/test_udp.sh tests/e2e/test_ftp.sh
	tests/e2e/test_conntrack_safety.sh tests/e2e/test_advice.sh)

if [ $ci -eq 1 ]; then
	boot without-ct without-ct "$BUILD/tests/test_config" "${FIXTURES[@]}" \
		"$BUILD/tests/verifier_budget" tests/loader/test_loader.sh tests/e2e/test_advice.sh
	CI_E2E=()
	for f in "${GUEST_E2E[@]}"; do
		case " ${QUICK_E2E[*]} tests/e2e/test_wire_checksum.sh " in
		*" $f "*) continue ;;
		esac
		CI_E2E+=("$f")
	done
	boot with-ct with-ct tests/loader/test_identity.sh "${CI_E2E[@]}"
elif [ $full -eq 0 ]; then
	LAB_LINK_SCENARIOS=tcp boot links with-ct "${LINK_TESTS[@]}"
	boot with-ct with-ct "${FIXTURES[@]}" "$BUILD/tests/verifier_budget" \
		tests/loader/test_loader.sh "${QUICK_E2E[@]}"
else
	boot without-ct without-ct "$BUILD/tests/test_config" "${FIXTURES[@]}" \
		"$BUILD/tests/verifier_budget" tests/loader/test_loader.sh tests/e2e/test_advice.sh
	boot with-ct with-ct "${FIXTURES[@]}" "$BUILD/tests/verifier_budget" \
		tests/loader/test_*.sh "${GUEST_E2E[@]}" "${LINK_TESTS[@]}"

	# The verifier table: this machine's kernel, then the guests'.
	mkdir -p bench/results
	{
		echo "# Verifier budget"
		echo
		echo "Instructions the verifier processed per program (\`bpf_prog_info.verified_insns\`),"
		echo "as a share of the 1,000,000 a privileged program may use. \`make test-kernels\`"
		echo "measures it (tests/kernel/verifier_budget.c) and fails if a program uses more"
		echo "than 50%. Conntrack kfuncs: where the verifier saw \`bpf_xdp_ct_lookup\` and"
		echo "\`bpf_skb_ct_lookup\` (\"none\": nf_conntrack not loaded, the lookups are"
		echo "dead code)."
		echo
		echo "| kernel | conntrack kfuncs | program | processed insns | share of limit |"
		echo "|---|---|---|---:|---:|"
		grep -h '^| ' "$T/host-verifier.log"
		grep -h '^VERIFIER| ' "$T/without-ct.log" "$T/with-ct.log" | sed 's/^VERIFIER| /| /'
	} >"$T/verifier.md"
	cp "$T/verifier.md" bench/results/verifier.md
	echo "== verifier budget (bench/results/verifier.md)"
	sed -n '/^| kernel/,$p' bench/results/verifier.md
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
