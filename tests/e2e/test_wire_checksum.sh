#!/usr/bin/env bash
# Negative test of the lab's wire emulation: ptrig rewrites packets in XDP on wan0 and in TC, so the lab
# must behave like real NICs on a real wire:
#   A. senders put full, correct TCP/UDP checksums into the bytes (no
#      CHECKSUM_PARTIAL skbs reach wan0, where XDP could not tell);
#   B. receivers verify checksums: a datagram/SYN with a wrong checksum is
#      dropped and counted (Udp/Tcp InCsumErrors), the correct one delivered;
#   C. a checksum broken on the way (here by nftables in the router, standing
#      in for a buggy XDP/TC rewrite) is caught by the final receiver.
#   D. the lab's helpers that remove/restore ptrig's firewall mark rule.
# Measured on kernel 6.18: B holds even without the emulation (veth hands a
# CHECKSUM_NONE skb to the peer's stack, which verifies it, rx offload on or
# off), so A and C catch a broken emulation (A0 checks the settings directly):
#   LAB_WIRE=0 or LAB_WIRE_ETHTOOL="rx off gro off" (tx offload on): A1-A3,
#     B5/B6 (SYN-ACK checksum) and C1-C3 fail;
#   LAB_WIRE_ETHTOOL="tx off rx off gro on": A2 and C1-C3 fail;
#   LAB_WIRE_ETHTOOL="tx off gro off" (rx offload on): passes.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
build_rawsend || die "build $RAWSEND"
e2e_lab

# sniff_start NODE IFACE PROTO PORT OUT: capture (bounded: 50 packets, 15 s)
# packets from/to PORT on IFACE into OUT; returns once the socket is bound.
sniff_start() {
	rm -f "$5" "$5.err"
	ip netns exec "$(lab_ns "$1")" timeout 20 "$RAWSEND" sniff -i "$2" \
		-p "$3" -P "$4" -n 50 -t 15000 >"$5" 2>"$5.err" &
	SNIFF_PID=$!
	E2E_BG_PIDS+=("$SNIFF_PID")
	wait_for 3 grep -qs ready "$5.err"
}

# counter_is NODE PROTO VALUE
counter_is() { [ "$(csum_errors "$1" "$2")" = "$3" ]; }

# ---- A. senders write complete checksums --------------------------------------
check "A0 every lab veth has tx checksum offload and GRO off" lab_wire_ok

# One datagram and one TCP stream through socat (ordinary sockets, so the
# kernel's own checksum path), captured where ptrig's XDP sees them.

# wire_ok LABEL FILE: every captured packet has a correct checksum in its
# bytes and none is CHECKSUM_PARTIAL.
wire_ok() {
	local n bad partial
	n=$(grep -c '^pkt ' "$2")
	bad=$(grep -c 'csum=bad' "$2")
	partial=$(grep -c 'summed=partial' "$2")
	if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ] && [ "$partial" -eq 0 ]; then
		pass "$1: $n packets, all with full correct checksums"
	else
		fail "$1: $n packets, $bad with a wrong checksum in the bytes, $partial CHECKSUM_PARTIAL"
		sed 's/^/    /' "$2" | head -5
	fi
}

sniff_start router wan0 udp 9101 "$T/a1.cap" || die "sniffer on wan0"
udp_listen router 9101 "$T/a1.out" || die "udp listener in router"
LP=$BG_PID
echo "hello-a1" | lab_exec remote1 timeout 5 socat -u - "UDP4-SENDTO:$WAN:9101"
wait_for 3 file_is "$T/a1.out" "hello-a1"
bg_stop "$LP"
bg_stop "$SNIFF_PID"
assert_eq "hello-a1" "$(cat "$T/a1.out")" "A1 UDP remote1 -> router WAN delivered"
wire_ok "A1 UDP remote1 -> wan0 (what XDP sees)" "$T/a1.cap"

sniff_start router wan0 tcp 9102 "$T/a2.cap" || die "sniffer on wan0"
check "A2 TCP 256 KiB remote1 -> router WAN, sha256 equal" \
	xfer_tcp remote1 router "$WAN" 9102 262144
bg_stop "$SNIFF_PID"
wire_ok "A2 TCP remote1 -> wan0 (what XDP sees)" "$T/a2.cap"

# What leaves the router on wan0 (ptrig's TC egress output), seen by a remote.
sniff_start remote1 eth0 udp 9103 "$T/a3.cap" || die "sniffer on remote1"
check "A3 UDP lanhost1 -> remote1 through masquerade" \
	xfer_udp lanhost1 remote1 "$R1" 9103 1000
bg_stop "$SNIFF_PID"
wire_ok "A3 UDP router wan0 -> remote1" "$T/a3.cap"

# ---- B. receivers verify checksums -----------------------------------------------
# udp_case NAME FROM FROM_IP TO DST_IP PORT: a crafted datagram with a wrong
# checksum must be dropped and counted, the same one with the right checksum
# delivered with its exact payload.
udp_case() {
	local name=$1 from=$2 src=$3 to=$4 dst=$5 port=$6 before out lp
	out=$T/$name.out
	udp_listen "$to" "$port" "$out" 15 || {
		fail "$name: no UDP listener"
		return
	}
	lp=$BG_PID
	before=$(csum_errors "$to" udp)
	lab_exec "$from" "$RAWSEND" send -p udp -s "$src" -d "$dst" -S 40000 \
		-D "$port" -m "bad-$name" -b
	wait_for 3 counter_is "$to" udp $((before + 1))
	assert_eq $((before + 1)) "$(csum_errors "$to" udp)" \
		"$name: UDP with wrong checksum counted in $to UdpInCsumErrors"
	lab_exec "$from" "$RAWSEND" send -p udp -s "$src" -d "$dst" -S 40000 \
		-D "$port" -m "good-$name"
	wait_for 3 file_is "$out" "good-$name"
	bg_stop "$lp"
	assert_eq "good-$name" "$(cat "$out")" \
		"$name: wrong-checksum datagram dropped, correct one delivered"
	assert_eq $((before + 1)) "$(csum_errors "$to" udp)" \
		"$name: correct checksum not counted as an error"
}

udp_case B1-remote-to-router remote1 "$R1" router "$WAN" 9201
udp_case B2-remote-to-remote remote1 "$R1" remote2 "$R2" 9202
udp_case B3-lanhost-to-lanhost lanhost1 "$H1" lanhost2 "$H2" 9203
udp_case B4-lanhost-to-router lanhost2 "$H2" router "$(lab_lan_gw)" 9204

# tcp_case NAME FROM FROM_IP TO DST_IP PORT: a SYN with a wrong checksum gets
# no SYN-ACK and is counted; the correct SYN gets a SYN-ACK (the sender's
# kernel then resets it: the raw SYN has no socket behind it).
tcp_case() {
	local name=$1 from=$2 src=$3 to=$4 dst=$5 port=$6 before lp cap
	cap=$T/$name.cap
	bg_run "$to" 15 socat -u "TCP4-LISTEN:$port,reuseaddr" OPEN:/dev/null
	lp=$BG_PID
	wait_for 3 listening "$to" tcp "$port" || {
		fail "$name: no TCP listener"
		return
	}
	sniff_start "$from" eth0 tcp "$port" "$cap" || die "sniffer in $from"
	before=$(csum_errors "$to" tcp)
	lab_exec "$from" "$RAWSEND" send -p tcp -s "$src" -d "$dst" -S 40001 -D "$port" -b
	wait_for 3 counter_is "$to" tcp $((before + 1))
	assert_eq $((before + 1)) "$(csum_errors "$to" tcp)" \
		"$name: SYN with wrong checksum counted in $to TcpInCsumErrors"
	sleep 0.5 # a SYN-ACK would come back within microseconds
	check_not "$name: no SYN-ACK to the wrong-checksum SYN" \
		grep -q 'dir=in .*flags=SA' "$cap"
	lab_exec "$from" "$RAWSEND" send -p tcp -s "$src" -d "$dst" -S 40002 -D "$port"
	check "$name: SYN-ACK to the correct SYN" \
		wait_for 3 grep -q "dir=in .*:40002 flags=SA .*csum=ok" "$cap"
	bg_stop "$SNIFF_PID"
	bg_stop "$lp"
}

tcp_case B5-tcp-remote-to-router remote1 "$R1" router "$WAN" 9205
tcp_case B6-tcp-lanhost-to-lanhost lanhost1 "$H1" lanhost2 "$H2" 9206

# ---- C. a checksum broken on the way is caught ---------------------------------------
# nftables in the router stands in for a buggy rewrite: it overwrites the UDP
# checksum of datagrams from source port 7777 (a) on wan0 ingress before
# conntrack, where ptrig's XDP runs, and (b) in forward, i.e. after the
# router's own checks, like a broken TC/XDP rewrite of a forwarded packet.
# Source port 7778 is the untouched control. It also DNATs + marks UDP 9303
# on wan0 to lanhost1 the way ptrig does, through the lab's mark rule.
lab_exec router nft -f - <<EOF || die "test nft table"
table inet ptrl_wiretest {
	chain raw_in {
		type filter hook prerouting priority raw; policy accept;
		iifname "$LAB_WAN_IF" udp dport 9301 udp sport 7777 @th,48,16 set 0x1234 counter comment "corrupt-9301"
	}
	chain mark_in {
		type filter hook prerouting priority mangle; policy accept;
		iifname "$LAB_WAN_IF" udp dport 9303 meta mark set meta mark | $LAB_PTRIG_MARK
	}
	chain dnat_in {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$LAB_WAN_IF" udp dport 9303 dnat ip to $H1
	}
	chain corrupt_fwd {
		type filter hook forward priority mangle; policy accept;
		udp dport 9302 udp sport 7777 @th,48,16 set 0x1234 counter comment "corrupt-9302"
		udp dport 9303 udp sport 7777 @th,48,16 set 0x1234 counter comment "corrupt-9303"
	}
}
EOF

# corrupted_count PORT: packets the router's corrupting rule for PORT hit.
corrupted_count() {
	lab_exec router nft list table inet ptrl_wiretest |
		sed -n "s/.* counter packets \([0-9]*\) .*comment \"corrupt-$1\".*/\1/p"
}

# corrupt_case NAME FROM TO DST_IP PORT: control from port 7778 is delivered,
# the corrupted one from 7777 is dropped and counted by TO.
corrupt_case() {
	local name=$1 from=$2 to=$3 dst=$4 port=$5 before out lp cap
	out=$T/$name.out
	cap=$T/$name.cap
	# Capture on the receiver (a packet socket sees ingress before netfilter,
	# so for the router itself it would show the bytes before corruption).
	[ "$to" = router ] ||
		sniff_start "$to" "$(lab_if "$to")" udp "$port" "$cap" || die "sniffer in $to"
	udp_listen "$to" "$port" "$out" 15 || {
		fail "$name: no UDP listener"
		return
	}
	lp=$BG_PID
	before=$(csum_errors "$to" udp)
	echo "bad-$name" | lab_exec "$from" timeout 5 socat -u - \
		"UDP4-SENDTO:$dst:$port,sourceport=7777"
	wait_for 3 counter_is "$to" udp $((before + 1))
	assert_eq $((before + 1)) "$(csum_errors "$to" udp)" \
		"$name: corrupted datagram counted in $to UdpInCsumErrors"
	echo "good-$name" | lab_exec "$from" timeout 5 socat -u - \
		"UDP4-SENDTO:$dst:$port,sourceport=7778"
	wait_for 3 file_is "$out" "good-$name"
	bg_stop "$lp"
	assert_eq "good-$name" "$(cat "$out")" \
		"$name: corrupted datagram dropped, control delivered"
	# Not vacuous: the corruption did happen.
	assert_eq 1 "$(corrupted_count "$port")" "$name: router corrupted one datagram"
	if [ "$to" != router ]; then
		bg_stop "$SNIFF_PID"
		check "$name: $to saw the wrong checksum in the bytes" \
			grep -q ':7777 dst=.* csum=bad' "$cap"
	fi
}

corrupt_case C1-wan-ingress-to-router remote1 router "$WAN" 9301
corrupt_case C2-forward-lan-to-remote lanhost1 remote1 "$R1" 9302
corrupt_case C3-dnat-remote-to-lanhost remote1 lanhost1 "$WAN" 9303

# ---- D. the lab's firewall helpers ---------------------------------------------------
lab_fw_mark_rule_del
check_not "D1 mark rule removed" lab_fw_mark_rule_present
check_not "D1 without the mark rule, a marked DNAT'd datagram is dropped" \
	xfer_udp remote1 lanhost1 "$WAN" 9303 200 7779
lab_fw_mark_rule_add
check "D2 mark rule restored" lab_fw_mark_rule_present
check "D2 with the mark rule, it is forwarded" \
	xfer_udp remote1 lanhost1 "$WAN" 9303 200 7780

e2e_finish
