# shellcheck shell=bash
# Shared by the fast-path lab tests (sourced after e2e_ptrig_lab): XDP on
# the LAN bridge's port to the router, the rule file, forward-chain
# counters, and the transfers that run through the fast path.

# veth delivers redirected frames only to a peer that runs XDP itself (its
# NAPI path): a pass-everything program on lan0's peer, the LAN bridge port.
cat >"$T/xdp_pass.c" <<'EOF'
__attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$T/xdp_pass.c" -o "$T/xdp_pass.o" || die "build xdp_pass"
# peer_xdp_pass SWITCH: the same on the router's port of SWITCH.
peer_xdp_pass() {
	lab_exec "$1" ip link set dev rtr xdpdrv obj "$T/xdp_pass.o" sec xdp
}
peer_xdp_pass lansw || die "XDP on lan0's peer"

cat >"$T/rules.conf" <<'EOF'
fp  udp:7000  both:7100-7110  timeout=3600
EOF

# Counts the forwarded packets to lanhost1's open ports that the stack's
# forward chain sees (the fast path's never reach it).
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
	ip daddr "$H1" meta l4proto '{ tcp, udp }' th dport 7100-7110 counter comment '"fp-count"' ||
	die "forward counter"
# Counts the forwarded packets conntrack judges invalid (a TCP segment out
# of its tracked window is one: what a bypass must never cause).
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
	ct state invalid counter comment '"fp-invalid"' || die "invalid counter"
nft_count() {
	lab_exec router nft list chain inet "$LAB_NFT_TABLE" forward |
		awk -v c="$1" '$0 ~ c { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
fwd_count() { nft_count fp-count; }
# The same for the owner's packets to the remotes.
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
	ip saddr "$H1" meta l4proto '{ tcp, udp }' th sport 7100-7110 counter comment '"fp-out-count"' ||
	die "forward counter (out)"
fwd_out_count() { nft_count fp-out-count; }
invalid_count() { nft_count fp-invalid; }

trigger() {
	echo trig | lab_exec lanhost1 timeout 3 socat -u - "UDP4-SENDTO:$R1:7000,sourceport=50000"
	wait_for 3 status_test '.interfaces[0].triggers[] | select(.rule == "fp")'
}

# flow_field PROTO RPORT FIELD: FIELD of the flow from remote1:RPORT.
flow_field() {
	ptrig flows "$LAB_WAN_IF" --json | jq -r --arg p "$1" --argjson rp "$2" --arg f "$3" \
		'[.flows[] | select(.proto == $p and .remote_port == $rp)][0][$f] // 0'
}

# fast_over PROTO SPORT N: the flow from remote1:SPORT has had more than N
# packets through the fast path.
fast_over() { [ "$(flow_field "$1" "$2" fast_pkts)" -gt "$3" ]; }
fast_out_over() { [ "$(flow_field "$1" "$2" fast_out_pkts)" -gt "$3" ]; }

# paced CHUNKS CHUNK_FILE DELAY: CHUNK_FILE CHUNKS times, DELAY s apart (a
# transfer that lasts long enough for the fast path to take over). The
# senders run it as a script ($T/paced.sh), since socat starts them.
cat >"$T/paced.sh" <<'EOF'
# paced.sh CHUNKS CHUNK_FILE DELAY [HELLO]: with HELLO, first a "hello" and
# 3 s later a "ping" line (conntrack assures a UDP stream after 2 s).
if [ -n "${4:-}" ]; then
	printf 'hello\n'
	sleep 3
	printf 'ping\n'
	sleep 1.5
fi
for ((i = 0; i < $1; i++)); do
	cat "$2"
	sleep "$3"
done
EOF
paced() { bash "$T/paced.sh" "$@"; }

# udp_fast_xfer PORT SPORT CHUNKS DELAY: remote1:SPORT says hello to
# WAN:PORT, lanhost1 answers, the remote sends a ping after 3 s (conntrack
# assures a UDP stream after 2 s), then CHUNKS chunks of 32 KiB, DELAY s
# apart. lanhost1 writes everything it gets to $T/u.PORT.out; $T/u.PORT.exp
# is what it must be.
udp_fast_xfer() {
	local port=$1 sp=$2 n=$3 d=$4 lp
	rand_payload "$T/u.$port.chunk" 32768
	{
		printf 'hello\n'
		printf 'ping\n'
		paced "$n" "$T/u.$port.chunk" 0
	} >"$T/u.$port.exp"
	rm -f "$T/u.$port.out"
	bg_run lanhost1 150 socat UDP4-LISTEN:"$port",reuseaddr \
		SYSTEM:"echo ack; exec cat >$T/u.$port.out"
	lp=$BG_PID
	wait_for 3 listening lanhost1 udp "$port" || note "no UDP listener"
	lab_exec remote1 timeout 150 socat -b 1400 -u \
		EXEC:"bash $T/paced.sh $n $T/u.$port.chunk $d hello" \
		UDP4-SENDTO:"$WAN:$port,sourceport=$sp" 2>/dev/null
	wait_for 5 size_at_least "$T/u.$port.out" "$(file_size "$T/u.$port.exp")"
	bg_stop "$lp"
}

# assert_udp_payload_eq EXP OUT MSG: every datagram arrived intact. The
# flow's packet per second through the stack can be overtaken by its fast
# packets (UDP may reorder; a slow emulated machine shows it): byte order
# aside, the same bytes must arrive, none lost or changed (sorted bytes and
# sizes equal), and the note says whether the order was kept too.
byte_digest() { od -An -v -tx1 "$1" | tr -s ' \n' '\n\n' | sort | sha256sum | cut -d' ' -f1; }
assert_udp_payload_eq() {
	if [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]; then
		pass "$3 (in order)"
	elif [ "$(file_size "$1")" = "$(file_size "$2")" ] &&
		[ "$(byte_digest "$1")" = "$(byte_digest "$2")" ]; then
		pass "$3 (every byte arrived; some datagrams reordered)"
	else
		fail "$3 (sizes $(file_size "$1") and $(file_size "$2"): lost or changed)"
	fi
}

# udp_up_xfer PORT SPORT CHUNKS DELAY: the owner's upload. remote1:SPORT says
# hello to WAN:PORT, lanhost1 answers "ack", the remote pings 3 s later
# (conntrack assures a UDP stream after 2 s; the flow is established once
# the remote sent again), then lanhost1 sends CHUNKS chunks of 32 KiB, DELAY
# s apart, and the remote sends nothing more. remote1 writes what it gets to
# $T/up.PORT.out; $T/up.PORT.exp is what it must be.
udp_up_xfer() {
	local port=$1 sp=$2 n=$3 d=$4 lp rp
	rand_payload "$T/up.$port.chunk" 32768
	{
		printf 'ack\n'
		paced "$n" "$T/up.$port.chunk" 0
	} >"$T/up.$port.exp"
	printf '%s\n' "printf 'ack\\n'" 'read -r _ && read -r _' \
		"bash $T/paced.sh $n $T/up.$port.chunk $d" >"$T/up.$port.sh"
	rm -f "$T/up.$port.out"
	bg_run lanhost1 150 socat -b 1400 UDP4-LISTEN:"$port",reuseaddr \
		EXEC:"bash $T/up.$port.sh"
	lp=$BG_PID
	wait_for 3 listening lanhost1 udp "$port" || note "no UDP listener"
	bg_run remote1 150 socat -b 1400 UDP4:"$WAN:$port,sourceport=$sp" \
		SYSTEM:"{ printf 'hello\\\\n'; sleep 3; printf 'ping\\\\n'; sleep 140; } & exec cat >$T/up.$port.out"
	rp=$BG_PID
	wait_for 140 size_at_least "$T/up.$port.out" "$(file_size "$T/up.$port.exp")"
	sleep 0.3
	bg_stop "$rp"
	bg_stop "$lp"
}

# tcp_up_xfer PORT SPORT CHUNKS DELAY: the owner's upload over TCP: remote1
# connects from SPORT to WAN:PORT and lanhost1 sends CHUNKS chunks of 32 KiB,
# DELAY s apart, then closes. remote1 writes them to $T/tu.PORT.out.
tcp_up_xfer() {
	local port=$1 sp=$2 n=$3 d=$4 lp
	rand_payload "$T/tu.$port.chunk" 32768
	paced "$n" "$T/tu.$port.chunk" 0 >"$T/tu.$port.exp"
	rm -f "$T/tu.$port.out"
	bg_run lanhost1 60 socat -U TCP4-LISTEN:"$port",reuseaddr \
		EXEC:"bash $T/paced.sh $n $T/tu.$port.chunk $d"
	lp=$BG_PID
	wait_for 3 listening lanhost1 tcp "$port" || note "no TCP listener"
	lab_exec remote1 timeout 60 socat -u \
		TCP4:"$WAN:$port,sourceport=$sp,connect-timeout=3" \
		OPEN:"$T/tu.$port.out",creat,trunc 2>/dev/null
	bg_wait "$lp" 10 >/dev/null
}

# ct_state PROTO SPORT: conntrack's state of the router's entry for
# remote1:SPORT ("" if none; UDP entries have no state: "udp").
ct_state() {
	lab_exec router conntrack -L -p "$1" --sport "$2" 2>/dev/null |
		awk -v p="$1" '{ if (p == "udp") print "udp"; else print $4; exit }'
}
ct_state_is() { [ "$(ct_state "$1" "$2")" = "$3" ]; }

# udp_upload_checks WHERE: the owner's UDP upload (udp_up_xfer 7110 40010
# 24 0.05) through the LAN program WHERE: intact, its datagrams fast, past
# the forward chain, counted, and the flow alive. Sets FO (fast packets).
udp_upload_checks() {
	local g0 k0 so gw
	g0=$(fwd_out_count)
	k0=$(status_jq '.interfaces[0].counters.flow_collision')
	udp_up_xfer 7110 40010 24 0.05
	assert_udp_payload_eq "$T/up.7110.exp" "$T/up.7110.out" "owner's UDP upload through $1: intact"
	FO=$(flow_field udp 40010 fast_out_pkts)
	so=$(flow_field udp 40010 slow_out_pkts)
	gw=$(($(fwd_out_count) - g0))
	note "UDP upload ($1): $FO datagrams fast, $so slow (flow), forward chain saw $gw"
	assert_gt "$FO" 450 "UDP upload: the owner's datagrams went the fast path (flows: fast_out_pkts)"
	assert_gt 100 "$gw" "UDP upload: the forward chain saw only a handful of them"
	check "status: fast_out_forwarded counted" status_test ".interfaces[0].counters.fast_out_forwarded >= $FO"
	assert_eq "$k0" "$(status_jq '.interfaces[0].counters.flow_collision')" \
		"UDP upload: no flow collision (wan0's TC egress leaves the translated packets alone, or never sees them)"
	assert_eq established "$(flow_field udp 40010 state)" "UDP upload: the flow lives on"
	assert_eq 0 "$(csum_errors remote1 udp)" "UDP upload: remote1 counted no checksum errors"
}
