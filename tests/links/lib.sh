#!/usr/bin/env bash
# Helpers for the WAN link-type tests (tests/links/test_*.sh), on top of the
# agent and end-to-end helpers. Set LAB_WAN_TYPE before sourcing (the lab
# picks its WAN device from it).
#
#   wan_scenarios TYPE TEST...   run end-to-end tests (tcp udp ftp: the
#                                tests/e2e/test_NAME.sh) over a lab whose WAN
#                                is TYPE; their PASS/FAIL lines count here,
#                                prefixed "TYPE NAME:"
#   link_attach_checks KIND MODE after ptrig_attach: the loader named the
#                                link type KIND and attached XDP in MODE
#
# LAB_LINK_SCENARIOS (default: tcp udp ftp) picks the scenarios the tests
# run over their WAN; `make test` runs tcp only, `make test-kernels` all.
#
# These tests need kernel modules (ppp, pppoe, 8021q, wireguard,
# nf_flow_table) that this project's development kernel lacks: they run in
# the Debian 6.1 guest (tests/kernel/test_debian61.sh).

# shellcheck source-path=SCRIPTDIR source=../agent/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../agent/lib.sh"

# The agent's metrics listen on 127.0.0.1 of the namespace the test runs in;
# a fresh guest boots with lo down there.
ip link set lo up 2>/dev/null

wan_scenarios() {
	local type=$1 t out rc line
	shift
	for t in "$@"; do
		out=$(LAB_WAN_TYPE=$type timeout --kill-after=10 600 \
			bash "$E2E_ROOT/tests/e2e/test_$t.sh" 2>&1)
		rc=$?
		while IFS= read -r line; do
			case "$line" in
			PASS:*) pass "$type $t: ${line#PASS: }" ;;
			FAIL:*) fail "$type $t: ${line#FAIL: }" ;;
			esac
		done <<<"$out"
		if [ $rc -ne 0 ] && ! grep -q '^FAIL:' <<<"$out"; then
			fail "$type $t: exit $rc: $(tail -5 <<<"$out" | tr '\n' '|')"
		fi
	done
}

link_attach_checks() {
	local log=$E2E_TMP/attach.log
	assert_match "^ptrig: link type $1: " "$(grep '^ptrig: link type' "$log")" \
		"attach $LAB_WAN_IF: the loader names the link type $1"
	assert_eq "$2" "$(status_jq '.interfaces[0].xdp_mode')" \
		"status: XDP on $LAB_WAN_IF in $2 mode"
}
