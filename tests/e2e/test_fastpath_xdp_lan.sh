#!/usr/bin/env bash
# ptrig end-to-end: the fast path's LAN program in native XDP
# (attach --lan lan0 --lan-mode xdp). The owner's packets of established
# flows go from XDP on lan0 straight to wan0's driver, translated:
#   - --lan-mode takes auto, xdp or tc, nothing else (exit 2), and needs a
#     LAN; with another tool's XDP program on lan0, --lan-mode xdp fails and
#     changes nothing, and auto falls back to TC ingress;
#   - auto keeps TC behind a shaping root qdisc on wan0 (XDP's transmit
#     passes it by; xdp warns), and on a veth (it hands on the sender's
#     checksum state, which XDP cannot see);
#   - with xdp, UDP and TCP uploads arrive intact (the lab's veths emulate
#     a wire: full checksums), past the forward chain and wan0's TC egress,
#     and the flow lives on; TCP's close is seen by conntrack;
#   - a WAN (LAN) whose driver reports no XDP transmit (a veth whose peer
#     runs no XDP) refuses --lan-mode xdp (--lan), from kernel 6.3 on;
#   - another LAN host sending on the flow's ports takes the stack;
#   - lan0's XDP slot holds wan0's program, not a ptrig of lan0's own:
#     detach lan0 and attach lan0 leave it and wan0's state alone;
#   - re-attaching keeps the mode, switching to tc and back moves the
#     program, and detach removes it (another tool's XDP program is never
#     touched).
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_need socat conntrack nft clang ethtool
e2e_ptrig_lab
build_rawsend

source "$(dirname "$0")/fastpath_lib.sh"

# XDP on lan0 redirects to wan0, a veth: its peer must run XDP too.
peer_xdp_pass wansw || die "XDP on wan0's peer"

lan_xdp_name() {
	lab_exec router ip -d link show dev "$LAB_LAN_IF" |
		awk '/prog\/xdp/ { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }'
}
lan_xdp_is() { [ "$(lan_xdp_name)" = "$1" ]; }
lan_has() { ip netns exec "$LAB_ROUTER" tc "$1" show dev "$LAB_LAN_IF" $2 | grep -q "$3"; }

# ---- --lan-mode: bad values, and no LAN ----------------------------------
ptrig_attach "$T/rules.conf" "attach without --lan"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode fast 2>&1)
assert_eq 2 $? "--lan-mode fast: exit 2"
assert_match '"fast" is not auto, xdp or tc' "$out" "--lan-mode fast: says why"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan-mode xdp 2>&1)
assert_eq 1 $? "--lan-mode without a LAN: exit 1"
assert_match 'the fast path is off on wan0 \(give --lan IFACE\); nothing was changed' "$out" \
	"--lan-mode without a LAN: says why"
check "status: the fast path is still off" status_test '.interfaces[0].fast_path.enabled == false'

# ---- another tool's XDP program on lan0 ----------------------------------
lab_exec router ip link set dev "$LAB_LAN_IF" xdpdrv obj "$T/xdp_pass.o" sec xdp ||
	die "another tool's XDP on lan0"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode xdp 2>&1)
assert_eq 1 $? "--lan-mode xdp with another XDP program on lan0: exit 1"
assert_match 'lan0 already has an XDP program \(id [0-9]+, not this attachment.s\); remove it or use --lan-mode tc; nothing was changed' \
	"$out" "--lan-mode xdp: says why"
check "nothing was changed: fast path off" status_test '.interfaces[0].fast_path.enabled == false'
check "nothing was changed: the other XDP program stays" lan_xdp_is pass
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" 2>&1)
assert_eq 0 $? "auto with another XDP program on lan0: attached"
assert_match 'already has an XDP program .* goes to its TC ingress' "$out" "auto: says it falls back to TC"
check "auto: the LAN program is at TC ingress" status_test \
	'.interfaces[0].fast_path.lan_mode == "tc" and .interfaces[0].fast_path.lan_tc_ingress > 0'
check "auto: the other XDP program stays" lan_xdp_is pass
lab_exec router ip link set dev "$LAB_LAN_IF" xdpdrv off || die "remove the other XDP program"

# ---- a shaper on wan0: auto keeps TC, xdp warns --------------------------
lab_exec router tc qdisc add dev "$LAB_WAN_IF" root tbf rate 1gbit burst 256k latency 50ms ||
	die "tbf on wan0"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode auto 2>&1)
assert_eq 0 $? "auto with a shaper on wan0: attached"
assert_match "wan0's qdisc tbf shapes, and native XDP's transmit would pass it by; the LAN program goes to lan0's TC ingress" \
	"$out" "auto with a shaper on wan0: TC, and says why"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan-mode xdp 2>&1)
assert_eq 0 $? "xdp with a shaper on wan0: attached"
assert_match "warning: fast path: wan0's qdisc tbf shapes, and the owner's packets that native XDP on lan0 sends pass it by" \
	"$out" "xdp with a shaper on wan0: warns"
check "xdp with a shaper on wan0: lan_mode xdp" status_test '.interfaces[0].fast_path.lan_mode == "xdp"'
lab_exec router tc qdisc del dev "$LAB_WAN_IF" root || die "remove tbf"

# ---- a VLAN on lan0: auto keeps TC (tag-stripping NICs show its frames to
# XDP untagged) --------------------------------------------------------------
# (This machine's kernel may have no VLAN devices; the 6.1 guest's has.)
if lab_exec router ip link add link "$LAB_LAN_IF" name "$LAB_LAN_IF.10" type vlan id 10 2>/dev/null; then
	out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode auto 2>&1)
	assert_eq 0 $? "auto with a VLAN on lan0: attached"
	assert_match "lan0 has VLAN devices on it .*; the LAN program goes to its TC ingress" "$out" \
		"auto with a VLAN on lan0: TC, and says why"
	lab_exec router ip link del "$LAB_LAN_IF.10" || die "remove the VLAN"
else
	note "no VLAN devices in this kernel: the VLAN case is not run here"
fi

# ---- auto on a veth: TC -------------------------------------------------
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode auto 2>&1)
assert_eq 0 $? "--lan-mode auto: attached"
assert_match 'lan0 \(driver veth\) is not a NIC on a bus; the LAN program goes to its TC ingress' "$out" \
	"auto on a veth: TC, and says why"
check "auto on a veth: lan_mode tc" status_test '.interfaces[0].fast_path.lan_mode == "tc"'

# ---- drivers that take no redirected frames (known from kernel 6.3 on) ---
# A veth takes frames redirected from XDP only while its peer runs XDP.
if [ "$(uname -r | awk -F. '{ print ($1 > 6 || ($1 == 6 && $2 >= 3)) }')" = 1 ]; then
	lab_exec wansw ip link set dev rtr xdpdrv off || die "XDP off wan0's peer"
	out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan-mode xdp 2>&1)
	assert_eq 1 $? "--lan-mode xdp, wan0 taking no redirected frames: exit 1"
	assert_match "wan0 does not take frames redirected from XDP .*; use --lan-mode tc; nothing was changed" \
		"$out" "--lan-mode xdp, wan0 taking no redirected frames: says why"
	check "... and the LAN program stays at TC" status_test '.interfaces[0].fast_path.lan_mode == "tc"'
	peer_xdp_pass wansw || die "XDP on wan0's peer"
	lab_exec lansw ip link set dev rtr xdpdrv off || die "XDP off lan0's peer"
	out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" 2>&1)
	assert_eq 1 $? "--lan lan0, lan0 taking no redirected frames (native XDP on wan0): exit 1"
	assert_match "lan0 does not take frames redirected from XDP .*the inbound packets of fast flows would be dropped; nothing was changed" \
		"$out" "--lan lan0, lan0 taking no redirected frames: says why"
	check "... and nothing changed" status_test '.interfaces[0].fast_path.lan_mode == "tc"'
	peer_xdp_pass lansw || die "XDP on lan0's peer"
else
	note "kernel $(uname -r) reports no XDP features: the driver checks are not run here"
fi

# ---- xdp -----------------------------------------------------------------
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" --lan-mode xdp 2>&1)
assert_eq 0 $? "--lan-mode xdp: attached (an upgrade in place)"
assert_match "the owner's from native XDP on lan0" "$out" "attach says where the LAN program runs"
assert_match "warning: fast path: lan0 \(driver veth\) may hand on partial checksums" "$out" \
	"xdp on a veth: warns about partial checksums (the lab's senders fill them in)"
check "status: lan_mode xdp, its program id" status_test \
	'.interfaces[0].fast_path.lan_mode == "xdp" and .interfaces[0].fast_path.lan_xdp > 0 and .interfaces[0].fast_path.lan_tc_ingress == 0'
check "lan0 runs ptrig's LAN program in native XDP" lan_xdp_is ptrig_xdp_lan_i
check_not "tc: ptrig's TC filter left lan0" lan_has filter ingress ptrig
check_not "tc: with the clsact qdisc ptrig made" lan_has qdisc "" clsact
check "status (text) names it" sh -c \
	"'$PL' --netns '$LAB_ROUTER' status '$LAB_WAN_IF' | grep -q 'LAN XDP (native) prog [1-9]'"
XID=$(status_jq '.interfaces[0].fast_path.lan_xdp')
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" 2>&1)
assert_eq 0 $? "re-attach without --lan"
check "re-attach keeps native XDP (a new program, replaced in place)" status_test \
	".interfaces[0].fast_path.lan_mode == \"xdp\" and .interfaces[0].fast_path.lan_xdp != $XID"

# The LAN program in lan0's XDP slot is wan0's: lan0 itself runs no ptrig.
out=$(ptrig detach "$LAB_LAN_IF" 2>&1)
assert_eq 1 $? "detach lan0: exit 1"
assert_match "ptrig is not attached to lan0" "$out" "detach lan0: not attached"
check "detach lan0: wan0's LAN program stays" lan_xdp_is ptrig_xdp_lan_i
check "detach lan0: wan0's state stays" status_test '.interfaces[0].fast_path.lan_mode == "xdp"'
out=$(ptrig attach "$LAB_LAN_IF" -c "$T/rules.conf" 2>&1)
assert_eq 1 $? "attach lan0 (holding wan0's LAN program): exit 1"
assert_match "lan0 runs the fast path's LAN program of a ptrig on another interface .*nothing was changed" \
	"$out" "attach lan0: says why"
check "attach lan0: wan0's state stays" status_test '.interfaces[0].fast_path.lan_mode == "xdp"'

trigger || die "trigger"
udp_upload_checks "XDP on lan0"

# Another LAN host on the flow's ports (its own address): the stack, where
# it is just another connection.
F0=$(status_jq '.interfaces[0].counters.fast_out_forwarded')
for _ in 1 2 3 4 5; do
	lab_exec lanhost2 "$RAWSEND" send -p udp -s "$H2" -d "$R1" -S 7110 -D 40010 -n 1 ||
		fail "lanhost2: datagram"
done
assert_eq "$F0" "$(status_jq '.interfaces[0].counters.fast_out_forwarded')" \
	"lanhost2 on the owner's flow ports: nothing bypassed"

lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1
I0=$(invalid_count)
G0=$(fwd_out_count)
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" 2>&1)
tcp_up_xfer 7108 40018 16 0.1
assert_file_sha256_eq "$T/tu.7108.exp" "$T/tu.7108.out" "owner's TCP upload through XDP on lan0: intact"
FO=$(flow_field tcp 40018 fast_out_pkts)
note "TCP upload (XDP): $FO segments fast, forward chain saw $(($(fwd_out_count) - G0))"
assert_gt "$FO" 50 "TCP upload: the owner's segments went the fast path"
wait_for 3 ct_state_is tcp 40018 TIME_WAIT
assert_eq TIME_WAIT "$(ct_state tcp 40018)" "TCP upload: conntrack saw both FINs: TIME_WAIT"
assert_eq "$I0" "$(invalid_count)" "TCP upload: no packet judged invalid"
assert_eq 0 "$(csum_errors remote1 tcp)" "TCP upload: remote1 counted no checksum errors"
lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0

# ---- switching: tc and back; detach ---------------------------------------
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan-mode tc 2>&1)
assert_eq 0 $? "--lan-mode tc: attached"
check "tc: the LAN program is at TC ingress" status_test '.interfaces[0].fast_path.lan_mode == "tc"'
check "tc: ptrig's filter on lan0" lan_has filter ingress ptrig_tc_lan_in
check_not "tc: lan0's XDP program is gone" lan_xdp_is ptrig_xdp_lan_i
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan-mode xdp 2>&1)
assert_eq 0 $? "--lan-mode xdp again: attached"
check "xdp again: lan0 runs ptrig's XDP program" lan_xdp_is ptrig_xdp_lan_i
check_not "xdp again: its TC filter and qdisc are gone" lan_has qdisc "" clsact
ptrig detach "$LAB_WAN_IF" >/dev/null 2>&1
assert_eq 0 $? "detach"
check_not "detach: lan0's XDP program is gone" lan_xdp_is ptrig_xdp_lan_i

e2e_finish
