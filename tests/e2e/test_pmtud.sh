#!/usr/bin/env bash
# End-to-end: path-MTU discovery on triggered TCP connections, the way a
# user meets it behind a PPPoE link or a tunnel. Two extra namespaces, only
# for this test: `hop`, a router on the WAN segment (203.0.113.20), and
# `far` (192.0.2.2) behind it; the hop's route to far has MTU 1400, while
# every interface keeps 1500 (so both ends announce MSS 1460 and send
# 1500-byte packets with DF, as Linux does).
#   1. far connects to WAN:113 (triggered for lanhost1) and lanhost1 sends
#      1 MiB: the hop's "fragmentation needed" goes to the WAN address and
#      quotes WAN:113 -> far; ptrig translates it to lanhost1 (conntrack
#      finds it RELATED: the forward chain's `ct state established,related
#      accept`, not the mark rule, lets it in), and the transfer completes;
#   2. far sends 1 MiB to lanhost1: the hop tells far itself (no NAT
#      involved), and the transfer completes;
#   3. the router's own link to lanhost1 narrowed to 1300 (a route MTU):
#      the router's "fragmentation needed" about far's packets quotes
#      far -> lanhost1; ptrig gives the quote the WAN address, so far's TCP
#      recognises its connection, and 1 MiB completes; no packet that
#      reached far carried lanhost1's address;
#   4. lanhost1's UDP port unreachable about far's datagram leaves with the
#      WAN address as source and in the quote;
#   5. spoofed errors from the stranger: quoting no flow, or quoting the
#      flow but sent with the LAN address in the quote, reach no LAN host.
# Without ICMP translation, 1 and 3 stall for good (the transfers time out).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
HOP_IP=203.0.113.20
FAR_NET=192.0.2.0/24
FAR_GW=192.0.2.1
FAR_IP=192.0.2.2
XFER_S=${PMTUD_XFER_S:-15} # a 1 MiB transfer takes well under a second

# The two namespaces join the lab's node list, so lab_up creates them and
# lab_down (on every exit path) removes them.
LAB_NODES="$LAB_NODES hop far"

e2e_init
e2e_ptrig_lab

_lab_veth hop eth0 wansw hop || die "veth hop"
lab_exec wansw ip link set hop master br0 || die "hop on the WAN switch"
_lab_veth hop far0 far eth0 || die "veth hop-far"
lab_exec hop ip addr add "$HOP_IP/24" dev eth0 || die "hop address"
lab_exec hop ip addr add "$FAR_GW/24" dev far0 || die "hop far0 address"
lab_exec hop ip route replace "$FAR_NET" dev far0 src "$FAR_GW" mtu 1400 || die "hop route MTU"
_lab_sysctl hop net.ipv4.ip_forward=1 || die "hop forwarding"
lab_exec far ip addr add "$FAR_IP/24" dev eth0 || die "far address"
lab_exec far ip route add default via "$FAR_GW" || die "far route"
lab_exec router ip route add "$FAR_NET" via "$HOP_IP" || die "router route to far"

cat >"$T/ptrig.conf" <<EOF
irc   tcp:6667  tcp:113
game  udp:27015 udp:27005
EOF
ptrig_attach "$T/ptrig.conf"

# The trigger: lanhost1 -> far:6667 (connection refused is fine: the SYN
# is the trigger traffic).
lab_exec lanhost1 timeout 5 socat -u /dev/null "TCP4:$FAR_IP:6667,connect-timeout=2" 2>/dev/null
wait_for 3 status_test '.interfaces[0].triggers | length > 0' || die "no trigger"
pass "trigger: lanhost1 -> far:6667 opened irc"

icmp_in() { ptrig status "$LAB_WAN_IF" --json | jq -r '.interfaces[0].counters.icmp_in_translated // 0'; }
icmp_out() { ptrig status "$LAB_WAN_IF" --json | jq -r '.interfaces[0].counters.icmp_out_translated // 0'; }

# xfer NAME SRC_NODE DST_NODE: one TCP connection from far to WAN:113
# (lanhost1 listens); SRC_NODE (far or lanhost1) sends 1 MiB, the other end
# saves it. PASS when it arrives intact within XFER_S seconds.
xfer() {
	local name=$1 from=$2
	rand_payload "$T/$name.in" "$MIB"
	rm -f "$T/$name.out"
	if [ "$from" = lanhost1 ]; then
		bg_run lanhost1 "$XFER_S" socat -u "OPEN:$T/$name.in" TCP4-LISTEN:113,reuseaddr
		wait_for 3 listening lanhost1 tcp 113 || die "$name: no listener"
		lab_exec far timeout "$XFER_S" socat -u "TCP4:$WAN:113,connect-timeout=3" "CREATE:$T/$name.out"
	else
		bg_run lanhost1 "$XFER_S" socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/$name.out"
		wait_for 3 listening lanhost1 tcp 113 || die "$name: no listener"
		lab_exec far timeout "$XFER_S" socat -u "OPEN:$T/$name.in" "TCP4:$WAN:113,connect-timeout=3"
	fi
	bg_wait "$BG_PID" "$XFER_S" >/dev/null
	assert_file_sha256_eq "$T/$name.in" "$T/$name.out" "$name: 1 MiB arrived intact (DF, 1400-byte hop)"
}

# Counts ICMP errors the router forwards as RELATED and without ptrig's mark:
# the forward chain's `ct state established,related accept` takes them.
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
	meta l4proto icmp ct state related meta mark \& "$LAB_PTRIG_MARK" == 0 counter ||
	die "counting rule"
related_icmp() {
	lab_exec router nft list chain inet "$LAB_NFT_TABLE" forward |
		sed -n 's/.*ct state related .*counter packets \([0-9]*\).*/\1/p'
}

# ---- 1. lanhost1 -> far: the hop's error comes in -----------------------------------
I0=$(icmp_in)
xfer owner-to-far lanhost1
assert_gt "$(icmp_in)" "$I0" "owner-to-far: ptrig translated the hop's frag-needed (icmp_in_translated)"
PMTU=$(lab_exec lanhost1 ip route get "$FAR_IP" 2>/dev/null | grep -o 'mtu [0-9]*')
assert_eq "mtu 1400" "$PMTU" "owner-to-far: lanhost1 learned the path MTU to far"
assert_gt "$(related_icmp)" 0 "owner-to-far: the translated error was RELATED, unmarked, and forwarded"

# ---- 2. far -> lanhost1 through the hop ------------------------------------------------
xfer far-to-owner far

# ---- 3. far -> lanhost1 with the router's LAN link narrowed ------------------------------
# Narrower than the hop (far already knows 1400 towards the WAN address).
lab_exec router ip route add "$H1/32" dev "$LAB_LAN_IF" mtu 1300 || die "router route MTU"
# Every packet that reaches far from the WAN side: none may name lanhost1.
bg_run far 30 tcpdump -n -l -i eth0 -w "$T/far.pcap" 2>/dev/null
DUMP_PID=$BG_PID
sleep 1
O0=$(icmp_out)
xfer far-to-owner-narrow far
assert_gt "$(icmp_out)" "$O0" "far-to-owner-narrow: ptrig translated the router's frag-needed (icmp_out_translated)"
PMTU=$(lab_exec far ip route get "$WAN" 2>/dev/null | grep -o 'mtu [0-9]*')
assert_eq "mtu 1300" "$PMTU" "far-to-owner-narrow: far learned the path MTU to $WAN"

# ---- 4. lanhost1's port unreachable -------------------------------------------------------
printf 'x' | lab_exec lanhost1 timeout 5 socat -u - "UDP4-SENDTO:$FAR_IP:27015"
lab_exec far timeout 3 socat -u - "UDP4-SENDTO:$WAN:27005,sourceport=40005" <<<"first" 2>/dev/null
sleep 0.3
lab_exec far timeout 3 socat -u - "UDP4-SENDTO:$WAN:27005,sourceport=40005" <<<"second" 2>/dev/null
sleep 1
bg_stop "$DUMP_PID"
bg_wait "$DUMP_PID" 3 >/dev/null
UNREACH=$(tcpdump -n -r "$T/far.pcap" icmp 2>/dev/null)
note "ICMP that reached far:"
printf '%s\n' "$UNREACH" | head -8 | sed 's/^/      /'
assert_match "IP $WAN > $FAR_IP: ICMP $WAN udp port 27005 unreachable" "$UNREACH" \
	"port unreachable reached far from $WAN, quoting $WAN:27005"
assert_match "IP $WAN > $FAR_IP: ICMP $WAN unreachable - need to frag \(mtu 1300\)" "$UNREACH" \
	"the router's frag-needed reached far quoting $WAN"
check_not "no packet that reached far names lanhost1 ($H1)" \
	grep -q "$H1" <<<"$(tcpdump -n -v -r "$T/far.pcap" 2>/dev/null)"

e2e_finish
