#!/usr/bin/env bash
# ptrig next to an nftables flowtable (the software fast path OpenWrt turns
# on by default; guest: nf_flow_table is a module). The router gets
#   flowtable ft { hook ingress priority 0; devices = { lan0, wan0 }; }
# and `ct state established flow add @ft` in a forward chain.
#   1. a trigger and an inbound connection carrying 16 MiB each way at once:
#      both arrive intact (sha256) while the router's conntrack shows the
#      connection [OFFLOAD]ed (the fast path carried it: XDP runs before the
#      flowtable's ingress hook, and the fast path transmits through the
#      WAN's TC egress, where ptrig rewrites the owner's replies);
#   2. the triggering (masqueraded) connection was offloaded too, and still
#      refreshes the trigger; ptrig counted no errors;
#   0. attach says nothing about the flowtable: only `flags offload` (the
#      NIC forwarding by itself, past ptrig) is refused;
#   3. hardware offload: where a netdevsim device can hold a flowtable with
#      `flags offload`, attach to it is refused (exit 1, the flowtable named)
#      and --allow-hw-offload attaches with a warning. Debian's 6.1
#      netdevsim cannot (its driver offers no flowtable offload), which the
#      test reports as a note; the unit test tests/unit/test_flowtable.c
#      covers the decision with flowtables built in memory.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MIB16=$((16 * 1024 * 1024))
e2e_init
e2e_ptrig_lab
lab_exec router nft -f - <<EOF2 || die "flowtable in the router"
table inet ptft {
	flowtable ft {
		hook ingress priority 0; devices = { $LAB_LAN_IF, $LAB_WAN_IF };
	}
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		ct state established flow add @ft
	}
}
EOF2
pass "router: flowtable ft on lan0 and wan0, established connections offloaded"
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
ptrig_attach "$T/ptrig.conf"
check_not "attach: a software flowtable on $LAB_WAN_IF draws no flowtable warning" \
	grep -Eqi 'flowtable|offload' "$E2E_TMP/attach.log"

# A trigger connection that lasts, so it gets offloaded and keeps sending.
bg_run remote1 120 socat -u TCP4-LISTEN:6667,reuseaddr OPEN:/dev/null
wait_for 5 listening remote1 tcp 6667 || die "no IRC listener in remote1"
bg_run lanhost1 120 bash -c "for i in \$(seq 60); do echo PING \$i; sleep 1; done |
	socat -u - TCP4:$R1:6667,connect-timeout=5"
TRIG_PID=$BG_PID
wait_for 10 status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")" ||
	die "irc trigger (owner lanhost1)"
pass "irc trigger open (owner lanhost1)"

rand_payload "$T/r2l.in" "$MIB16"
rand_payload "$T/l2r.in" "$MIB16"
bg_run lanhost1 120 socat -t 30 TCP4-LISTEN:113,reuseaddr "OPEN:$T/l2r.in!!CREATE:$T/r2l.out"
L_PID=$BG_PID
wait_for 5 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
bg_run remote1 120 socat -t 30 "TCP4:$WAN:113,connect-timeout=5" "OPEN:$T/r2l.in!!CREATE:$T/l2r.out"
R_PID=$BG_PID
# While it runs: conntrack shows the inbound connection offloaded.
offloaded() {
	lab_exec router conntrack -L -p tcp --dport 113 2>/dev/null | grep -q "dst=$H1 .*\[OFFLOAD\]"
}
wait_for 30 offloaded
check "the inbound connection runs on the flowtable fast path ([OFFLOAD])" offloaded
# What the router tracked instead, for the failure's log.
offloaded || lab_exec router conntrack -L -p tcp 2>&1 | sed 's/^/    conntrack: /'
trig_offloaded() {
	lab_exec router conntrack -L -p tcp --dport 6667 2>/dev/null | grep -q "src=$H1 .*\[OFFLOAD\]"
}
check "the trigger connection is offloaded too" trig_offloaded
bg_wait "$R_PID" 120
assert_eq 0 $? "inbound: remote1 -> $WAN:113 finished"
bg_wait "$L_PID" 30
assert_file_sha256_eq "$T/r2l.in" "$T/r2l.out" "16 MiB remote1 -> lanhost1 intact (sha256)"
assert_file_sha256_eq "$T/l2r.in" "$T/l2r.out" "16 MiB lanhost1 -> remote1 intact (sha256)"
snap
assert_gt "$(rule_counter irc refreshes)" 0 "the offloaded trigger connection refreshed the trigger"
assert_gt "$(rule_counter irc bytes_out)" "$MIB16" "ptrig rewrote the owner's 16 MiB of replies"
assert_eq 0 "$(gstat errors)" "ptrig errors = 0"
bg_stop "$TRIG_PID"

# 3. A device that takes `flags offload`, if this kernel has one: netdevsim.
has_xdp() { lab_exec router ip -d link show "$1" | grep -q 'prog/xdp'; }
hw_offload_refusal() {
	local id=$((RANDOM % 1000 + 100)) dev out rc
	if ! modprobe netdevsim 2>/dev/null || [ ! -w /sys/bus/netdevsim/new_device ]; then
		note "no netdevsim in this kernel: hardware offload refusal not run"
		return
	fi
	echo "$id 1" >/sys/bus/netdevsim/new_device || return
	dev=
	for dev in "/sys/bus/netdevsim/devices/netdevsim$id/net/"*; do
		dev=${dev##*/}
		break
	done
	[ "$dev" = "*" ] && dev=
	if [ -z "$dev" ] || ! ip link set "$dev" netns "$LAB_ROUTER"; then
		echo "$id" >/sys/bus/netdevsim/del_device
		fail "netdevsim$id: no net device to move into the router"
		return
	fi
	lab_exec router ip link set "$dev" up
	if ! out=$(lab_exec router nft add table netdev pthw \; add flowtable netdev pthw hw \
		"{ hook ingress priority 0; devices = { $dev }; flags offload; }" 2>&1); then
		note "netdevsim $dev cannot hold a flowtable with flags offload here (nft: ${out##*: }): refusal not run"
	else
		out=$(ptrig attach "$dev" -c "$T/ptrig.conf" --xdp-mode generic 2>&1)
		rc=$?
		assert_eq 1 "$rc" "attach $dev with a hardware-offload flowtable on it exits 1"
		assert_match "$dev: flowtable netdev pthw hw offloads to hardware on $dev" "$out" \
			"the refusal names the flowtable and the device"
		check_not "nothing was attached to $dev" has_xdp "$dev"
		out=$(ptrig attach "$dev" -c "$T/ptrig.conf" --xdp-mode generic --allow-hw-offload 2>&1)
		assert_eq 0 "$?" "attach $dev --allow-hw-offload exits 0"
		assert_match "allow-hw-offload: replies of triggered connections" "$out" "... with a warning"
		ptrig detach "$dev" >/dev/null 2>&1
	fi
	lab_exec router nft delete table netdev pthw 2>/dev/null
	lab_exec router ip link del "$dev" 2>/dev/null
	echo "$id" >/sys/bus/netdevsim/del_device 2>/dev/null
}
hw_offload_refusal
e2e_finish
