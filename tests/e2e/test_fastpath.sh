#!/usr/bin/env bash
# ptrig end-to-end: the fast path (attach --lan lan0). Packets of an
# established flow that conntrack has assured go from XDP on wan0 straight to
# lan0 (bpf_fib_lookup, TTL, MACs, redirect), past conntrack and the
# forward chain:
#   - UDP and TCP arrive intact (sha256) while the fast path forwards them,
#     and an nft counter in the forward chain does not see them;
#   - the remote's FIN and RST take the stack: conntrack sees the close;
#   - with a 3 s conntrack timeout, a 7 s transfer keeps its entry alive
#     (one packet per second per CPU takes the stack);
#   - an unresolved neighbour sends packets through the stack until it is
#     resolved, then the fast path takes over again;
#   - removing the firewall's established rule mid-flow does not stop a
#     bypassed flow (as with nft flowtables); deleting its conntrack entry
#     does, within about a second;
#   - stranger's spoofed SYN, FIN and RST on a fast flow take the stack
#     (conntrack judges them invalid), and its spoofed datagrams on an
#     embryonic flow never take the fast path;
#   - without --lan nothing takes the fast path.
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_need socat conntrack nft clang
e2e_ptrig_lab
build_rawsend

# veth delivers redirected frames only to a peer that runs XDP itself (its
# NAPI path): a pass-everything program on lan0's peer, the LAN bridge port.
cat >"$T/xdp_pass.c" <<'EOF'
__attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$T/xdp_pass.c" -o "$T/xdp_pass.o" || die "build xdp_pass"
lab_exec lansw ip link set dev rtr xdpdrv obj "$T/xdp_pass.o" sec xdp ||
	die "XDP on lan0's peer"

cat >"$T/rules.conf" <<'EOF'
fp  udp:7000  both:7100-7110
EOF

# Counts the forwarded packets to lanhost1's open ports that the stack's
# forward chain sees (the fast path's never reach it).
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
	ip daddr "$H1" meta l4proto '{ tcp, udp }' th dport 7100-7110 counter comment '"fp-count"' ||
	die "forward counter"
fwd_count() {
	lab_exec router nft list chain inet "$LAB_NFT_TABLE" forward |
		awk '/fp-count/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

trigger() {
	echo trig | lab_exec lanhost1 timeout 3 socat -u - "UDP4-SENDTO:$R1:7000,sourceport=50000"
	wait_for 3 status_test '.interfaces[0].triggers[] | select(.rule == "fp")'
}

# flow_field PROTO RPORT FIELD: FIELD of the flow from remote1:RPORT.
flow_field() {
	ptrig flows "$LAB_WAN_IF" --json | jq -r --arg p "$1" --argjson rp "$2" --arg f "$3" \
		'[.flows[] | select(.proto == $p and .remote_port == $rp)][0][$f] // 0'
}

# paced CHUNKS CHUNK_FILE DELAY: CHUNK_FILE CHUNKS times, DELAY s apart (a
# transfer that lasts long enough for the fast path to take over).
paced() {
	local i
	for ((i = 0; i < $1; i++)); do
		cat "$2"
		sleep "$3"
	done
}
export -f paced

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
	bg_run lanhost1 60 socat UDP4-LISTEN:"$port",reuseaddr \
		SYSTEM:"echo ack; exec cat >$T/u.$port.out"
	lp=$BG_PID
	wait_for 3 listening lanhost1 udp "$port" || note "no UDP listener"
	lab_exec remote1 timeout 60 socat -b 1400 -u \
		SYSTEM:"printf 'hello\n'; sleep 3; printf 'ping\n'; sleep 1.5; paced $n $T/u.$port.chunk $d" \
		UDP4-SENDTO:"$WAN:$port,sourceport=$sp" 2>/dev/null
	wait_for 5 size_at_least "$T/u.$port.out" "$(file_size "$T/u.$port.exp")"
	bg_stop "$lp"
}

# ---- fast path off: nothing bypasses --------------------------------------
ptrig_attach "$T/rules.conf" "attach without --lan"
check "status: fast path off" status_test '.interfaces[0].fast_path.enabled == false'
trigger || die "trigger"
F0=$(fwd_count)
udp_fast_xfer 7100 40000 20 0.1
assert_file_sha256_eq "$T/u.7100.exp" "$T/u.7100.out" "fast path off: UDP intact"
assert_eq 0 "$(status_jq '.interfaces[0].counters.fast_forwarded')" "fast path off: nothing forwarded by XDP"
assert_gt "$(($(fwd_count) - F0))" 400 "fast path off: the forward chain saw every datagram"

# ---- switch: bad --lan, then on ------------------------------------------
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan nosuch0 2>&1)
rc=$?
assert_eq 1 "$rc" "--lan nosuch0: exit 1"
assert_match 'interface "nosuch0" not found' "$out" "--lan nosuch0: says why"
check "--lan nosuch0 changed nothing" status_test '.interfaces[0].fast_path.enabled == false'
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_WAN_IF" 2>&1)
assert_eq 1 $? "--lan wan0 (the WAN itself): exit 1"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" 2>&1)
assert_eq 0 $? "attach --lan lan0 (upgrade in place)"
assert_match 'fast path on' "$out" "attach says the fast path is on"
check "status: fast path on, to lan0" status_test \
	".interfaces[0].fast_path.enabled == true and .interfaces[0].fast_path.lan == \"$LAB_LAN_IF\""
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" 2>&1)
check "re-attach without --lan keeps it on" status_test '.interfaces[0].fast_path.enabled == true'

# ---- UDP through the fast path -------------------------------------------
trigger || die "trigger"
F0=$(fwd_count)
udp_fast_xfer 7101 40001 40 0.05
assert_file_sha256_eq "$T/u.7101.exp" "$T/u.7101.out" "UDP through the fast path: intact"
FP=$(flow_field udp 40001 fast_pkts)
SP=$(flow_field udp 40001 slow_pkts)
FW=$(($(fwd_count) - F0))
note "UDP: $FP datagrams fast, $SP slow (flow), forward chain saw $FW"
assert_gt "$FP" 800 "UDP: the flow's datagrams went the fast path (flows: fast_pkts)"
assert_gt 100 "$FW" "UDP: the forward chain saw only a handful of them"
check "status: rule fp counts fast packets" status_test \
	".interfaces[0].rules[] | select(.name == \"fp\") | .fast_path.pkts_in >= $FP"
check "status: fast_forwarded counted" status_test ".interfaces[0].counters.fast_forwarded >= $FP"
check "status: the conntrack check ran" status_test '.interfaces[0].counters.fast_ct_check > 0'
check "flows text shows FAST_PKTS" sh -c "ptrig() { \"\${PL}\" --netns $LAB_ROUTER \"\$@\"; }; \"$PL\" --netns $LAB_ROUTER flows $LAB_WAN_IF | grep -q FAST_PKTS"

e2e_finish
