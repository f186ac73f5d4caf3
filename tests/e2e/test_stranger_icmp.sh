#!/usr/bin/env bash
# End-to-end, hostile WAN: what a stranger can do with spoofed ICMP errors
# now that ptrig translates errors about triggered flows. Rule
# `game udp:27015 udp:27005`; lanhost1 triggers, remote1:40007 <->
# WAN:27005 becomes a flow (lanhost1 answered). The stranger then sends
# errors to the WAN address from a made-up router (192.0.2.77), each
# quoting a datagram WAN -> remote1 (tests/e2e/rawsend.c -I). lanhost1's
# ICMP input counter (/proc/net/snmp Icmp InMsgs) says what reached it:
#   1. quoting the flow exactly (external:27005 -> remote1:40007): reaches
#      lanhost1, the one thing conntrack would allow too (it is how PMTUD
#      works; the owner's stack judges the error) - and proof that the
#      counter sees a delivery;
#   2. quoting another remote port, another open port, or the flow's ports
#      with lanhost1's own address as quoted source: reaches no one;
#   3. quoting a flow on which lanhost1 never answered (the stranger opened
#      it with a spoofed datagram): reaches no one;
#   4. a redirect quoting the flow: reaches no one;
#   5. none of the spoofed errors refreshed, created or changed a flow.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ROUTER_X=192.0.2.77 # the router the stranger pretends to be

e2e_init
e2e_ptrig_lab
build_rawsend || die "build rawsend"

cat >"$T/ptrig.conf" <<EOF
game  udp:27015  udp:27005
EOF
ptrig_attach "$T/ptrig.conf"

printf 'join' | lab_exec lanhost1 timeout 5 socat -u - "UDP4-SENDTO:$R1:27015"
wait_for 3 status_test '.interfaces[0].triggers | length > 0' || die "no trigger"
pass "trigger: lanhost1 opened game"

# The flow: remote1:40007 -> WAN:27005, lanhost1 answers (an echo server
# that lives for the whole test). The answer reads the datagram first: an
# answer that exits before socat has handed it over makes socat fail on
# EPIPE without relaying "pong" (seen on a loaded machine); -t: the time
# socat gives the answer after the datagram (default 0.5 s).
bg_run lanhost1 40 socat -t 15 UDP4-RECVFROM:27005,reuseaddr,fork \
	SYSTEM:"dd bs=65536 count=1 of=/dev/null 2>/dev/null; echo pong"
ECHO_PID=$BG_PID
wait_for 3 listening lanhost1 udp 27005 || die "no echo server on lanhost1"
lab_exec remote1 timeout 3 socat -t 2 - "UDP4-CONNECT:$WAN:27005,sourceport=40007,reuseaddr" \
	<<<"ping" >"$T/pong" 2>/dev/null
assert_eq pong "$(cat "$T/pong")" "flow remote1:40007 <-> lanhost1:27005 answered through $WAN"

in_msgs() { lab_snmp lanhost1 Icmp InMsgs; }
flows_sig() { ptrig flows "$LAB_WAN_IF" --json | jq -c '[.flows[] | [.remote_port, .external_port, .owner, .state]] | sort'; }

# spoof NAME TYPE CODE QSRC QSPORT QDST QDPORT: one error to WAN quoting
# UDP QSRC:QSPORT -> QDST:QDPORT.
spoof() {
	lab_exec stranger "$RAWSEND" send -p udp -s "$4" -S "$5" -d "$6" -D "$7" \
		-m "0123456789" -I "$2:$3:$ROUTER_X:$WAN" -M 552
}

# delivered_by NAME EXPECT CMD...: run CMD, then PASS if lanhost1's ICMP
# input moved by EXPECT.
delivered_by() {
	local name=$1 want=$2 before after
	shift 2
	before=$(in_msgs)
	"$@" || fail "$name: rawsend failed"
	sleep 0.3
	after=$(in_msgs)
	assert_eq "$want" "$((after - before))" "$name"
}

F0=$(flows_sig)
N0=$(status_jq '.interfaces[0].counters.pass_icmp_no_flow')
# (Already 1: remote1's port unreachable for the trigger datagram, about a
# masqueraded connection, which conntrack translates.)
note "pass_icmp_no_flow before the spoofed errors: $N0"
delivered_by "2. quoting another remote port: not delivered" 0 \
	spoof x 3 4 "$WAN" 27005 "$R1" 40009
delivered_by "2. quoting another open port: not delivered" 0 \
	spoof x 3 4 "$WAN" 27006 "$R1" 40007
delivered_by "2. quoting the flow with lanhost1 as quoted source: not delivered" 0 \
	spoof x 3 4 "$H1" 27005 "$R1" 40007
delivered_by "4. redirect quoting the flow: not delivered" 0 \
	spoof x 5 1 "$WAN" 27005 "$R1" 40007
delivered_by "1. frag-needed quoting the flow exactly: delivered to its owner (as conntrack would)" 1 \
	spoof x 3 4 "$WAN" 27005 "$R1" 40007
assert_eq "$F0" "$(flows_sig)" "5. the errors changed no flow"
# 3: a flow the stranger opens with a spoofed datagram; lanhost1's answer
# would make it answered, so the echo server is stopped first.
bg_stop "$ECHO_PID"
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -S 40008 -d "$WAN" -D 27005 -m spoofed ||
	fail "spoofed datagram"
wait_for 3 status_test '.interfaces[0].rules[0].counters.flows_opened >= 2' ||
	fail "the spoofed datagram opened no embryonic flow"
N1=$(status_jq '.interfaces[0].counters.pass_icmp_no_flow')
delivered_by "3. quoting a flow lanhost1 never answered: not delivered" 0 \
	spoof x 3 4 "$WAN" 27005 "$R1" 40008
N2=$(status_jq '.interfaces[0].counters.pass_icmp_no_flow')
note "pass_icmp_no_flow: $N1 before the spoofed flow, $N2 after its error"
assert_eq 3 $((N1 - N0)) "router: the 3 errors of step 2 counted as pass_icmp_no_flow"
assert_eq 1 $((N2 - N1)) "router: the error of step 3 counted as pass_icmp_no_flow"
assert_eq 1 "$(status_jq '.interfaces[0].counters.icmp_in_translated')" \
	"router: 1 error translated"

e2e_finish
