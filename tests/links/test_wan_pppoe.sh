#!/usr/bin/env bash
# A PPPoE WAN (guest: ppp and pppoe are modules). The lab's router dials a
# real PPPoE session (pppoe-server in isp, pppd with the kernel plugin,
# MTU 1492); ptrig attaches to ppp0, an L3 device (ARPHRD_PPP), in generic
# XDP mode.
#   1. the TCP, UDP and active-FTP end-to-end tests over ppp0: triggers,
#      inbound flows, replies, the firewall mark;
#   2. the loader says "link type ppp" and attaches generic XDP; ppp0 has
#      MTU 1492; ptrig marked the new inbound connection;
#   3. reconnect in the middle of a session, then `attach` again: the new
#      ppp0 (new ifindex, new address) gets ptrig with its maps (trigger
#      kept); a connection to the new address is refused until the owner's
#      next trigger traffic moves the trigger there; then it reaches the
#      owner and the reply leaves from the new address;
#   4. reconnect under the agent (`ptrig-load run`): it re-attaches to the
#      new ppp0 by itself; the same checks on the next address.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
export LAB_WAN_TYPE=pppoe
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_need pppd pppoe-server
# shellcheck disable=SC2086 # a list of names
wan_scenarios pppoe ${LAB_LINK_SCENARIOS:-tcp udp ftp}

e2e_init
e2e_ptrig_lab
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
ptrig_attach "$T/ptrig.conf" "attach ppp0 exits 0"
link_attach_checks ppp generic
assert_eq 1492 "$(lab_exec router cat /sys/class/net/ppp0/mtu)" "ppp0: MTU 1492"

# ---- 2. a trigger and a live inbound connection ---------------------------------
irc_trigger || die "irc trigger from lanhost1 over ppp0"
pass "irc trigger over ppp0 (owner lanhost1)"
xfer_tcp remote1 lanhost1 "$WAN" 113 1000000 30
assert_eq 0 $? "inbound over ppp0: 1 MB remote1 -> $WAN:113 -> lanhost1 intact"
snap
assert_gt "$(gstat marked)" 0 "ptrig marked the new inbound connection (firewall mark)"

# A session in progress when the line drops.
rand_payload "$T/stream.in" 200000
bg_run lanhost1 60 socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/stream.out"
L_PID=$BG_PID
wait_for 5 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
bg_run remote1 60 bash -c "for i in \$(seq 0 199); do
	dd if='$T/stream.in' bs=1000 skip=\$i count=1 status=none; sleep 0.1
done | socat -u - TCP4:$WAN:113,connect-timeout=5"
S_PID=$BG_PID
wait_for 10 size_at_least "$T/stream.out" 5000 || die "the inbound session carries data"
pass "inbound session remote1 -> $WAN:113 -> lanhost1 in progress"

# reconnect_checks NEW HOW: after a reconnect to address NEW (ptrig on the
# new ppp0 by HOW), the trigger keeps its owner, the new address takes over
# at the owner's next trigger traffic, not before.
reconnect_checks() {
	local new=$1 how=$2 out
	wait_for 5 status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
	check "$how: the irc trigger is kept (owner lanhost1)" \
		status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
	# Before the owner's next trigger traffic: the trigger is on the old
	# address, so the new one forwards nothing.
	out=$T/early.$new.out
	tcp_listen lanhost1 113 "$out" 15 || die "listener on lanhost1:113"
	lp=$BG_PID
	rand_payload "$T/early.in" 1000
	tcp_send remote1 "$new" 113 "$T/early.in" 8 2>/dev/null
	assert_ne 0 $? "$how: $new:113 is refused before the owner's trigger traffic"
	check_not "$how: lanhost1 got nothing" test -s "$out"
	bg_stop "$lp"
	irc_trigger || fail "$how: irc trigger from lanhost1 again"
	wait_for 5 status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .external == \"$new\")"
	check "$how: the trigger moved to the new address $new" \
		status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .external == \"$new\")"
	xfer_tcp remote1 lanhost1 "$new" 113 1000000 30
	assert_eq 0 $? "$how: 1 MB remote1 -> $new:113 -> lanhost1 intact"
	out=$(lab_exec remote1 conntrack -L -p tcp --orig-dst "$new" --dport 113 2>/dev/null)
	assert_match "src=$R1 dst=$new .* src=$new dst=$R1 sport=113" "$out" \
		"$how: the replies came from $new:113"
}
conntrack_on remote1 || die "conntrack table in remote1"

# ---- 3. reconnect, then attach again -------------------------------------------
OLD_IFINDEX=$(ifindex_of router ppp0)
NEW1=203.0.113.10
lab_ppp_reconnect "$NEW1" || die "PPPoE reconnect"
assert_ne "$OLD_IFINDEX" "$(ifindex_of router ppp0)" "reconnect: ppp0 has a new ifindex"
assert_match "inet $NEW1 " "$(lab_exec router ip -4 -o addr show dev ppp0)" "reconnect: ppp0 has $NEW1"
check_not "reconnect: no program on the new ppp0 yet" xdp_attached
bg_stop "$S_PID"
bg_stop "$L_PID"
out=$(ptrig attach ppp0 -c "$T/ptrig.conf" 2>&1)
assert_eq 0 $? "attach ppp0 again exits 0"
assert_match "upgraded on ppp0" "$out" "attach again keeps the maps (upgrade)"
check "attach again: XDP on the new ppp0" xdp_attached
reconnect_checks "$NEW1" "attach again"

# ---- 4. reconnect under the agent -------------------------------------------
agent_start -c "$T/ptrig.conf" ppp0
wait_for 30 xdp_attached || { sed "s/^/    /" "$T/agent.log"; die "the agent runs on ppp0"; }
OLD_IFINDEX=$(ifindex_of router ppp0)
NEW2=203.0.113.20
lab_ppp_reconnect "$NEW2" || die "PPPoE reconnect (agent)"
assert_ne "$OLD_IFINDEX" "$(ifindex_of router ppp0)" "agent: ppp0 has a new ifindex"
wait_for 30 xdp_attached
check "agent: re-attached to the new ppp0" xdp_attached
reconnect_checks "$NEW2" "agent"
agent_kill TERM
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
