#!/usr/bin/env bash
# ptrig end-to-end: the fast path (attach --lan lan0). Packets of an
# established flow that conntrack has assured go from XDP on wan0 straight to
# lan0 (bpf_fib_lookup, TTL, MACs, redirect), past conntrack and the
# forward chain:
#   - UDP and TCP arrive intact (sha256) while the fast path forwards them,
#     and an nft counter in the forward chain does not see them;
#   - TCP bypasses only where conntrack is liberal about TCP windows (it
#     never sees the bypassed segments): with the default, strict tracking
#     it stays on the slow path, and no packet is ever judged invalid;
#   - the remote's FIN and RST take the stack: conntrack sees the FIN, and
#     a RST at the owner's latest ACK sets the entry to expire in 10 s;
#   - with a 3 s conntrack timeout, a 7 s transfer keeps its entry alive
#     (one packet per second per CPU takes the stack);
#   - an unresolved neighbour sends packets through the stack until it is
#     resolved, then the fast path takes over again;
#   - removing the firewall's established rule mid-flow does not stop a
#     bypassed flow (as with nft flowtables); deleting its conntrack entry
#     does, within about a second;
#   - stranger's spoofed SYN, FIN and RST on a fast flow take the stack,
#     its blind RSTs do not make conntrack's entry expire, and its spoofed
#     datagrams on an embryonic flow never take the fast path;
#   - the owner's packets (LAN -> WAN) of established flows go from TC
#     ingress on lan0 straight to wan0, translated: UDP and TCP uploads
#     arrive intact, past the forward chain, and the flow lives on (wan0's
#     TC egress leaves them alone); a one-way upload keeps its conntrack
#     entry alive; --lan none and detach remove only ptrig's LAN filter
#     (another tool's filter on lan0 stays, and so does its qdisc);
#   - without --lan nothing takes the fast path.
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_need socat conntrack nft clang
e2e_ptrig_lab
build_rawsend

source "$(dirname "$0")/fastpath_lib.sh"

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
assert_match "TCP stays on the slow path.*nf_conntrack_tcp_be_liberal = 0" "$out" "attach says TCP stays slow with strict conntrack"
check "status: fast path on, to lan0" status_test \
	".interfaces[0].fast_path.enabled == true and .interfaces[0].fast_path.lan == \"$LAB_LAN_IF\""
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" 2>&1)
check "re-attach without --lan keeps it on" status_test '.interfaces[0].fast_path.enabled == true'

# ---- UDP through the fast path -------------------------------------------
trigger || die "trigger"
F0=$(fwd_count)
udp_fast_xfer 7101 40001 40 0.05
assert_udp_payload_eq "$T/u.7101.exp" "$T/u.7101.out" "UDP through the fast path: intact"
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
check "flows (text) has the fast and slow columns" sh -c "'$PL' --netns '$LAB_ROUTER' flows '$LAB_WAN_IF' | grep -q 'FAST_PKTS.*SLOW_PKTS'"

# ---- the owner's UDP upload: LAN -> WAN through the fast path ------------
check "status: the LAN program is on lan0" status_test '.interfaces[0].fast_path.lan_tc_ingress > 0'
check "tc: ptrig's filter on lan0's ingress" sh -c \
	"ip netns exec '$LAB_ROUTER' tc filter show dev '$LAB_LAN_IF' ingress | grep -q ptrig_tc_lan_in"
udp_upload_checks "TC ingress on lan0"
check "status: rule fp counts outbound fast packets" status_test \
	".interfaces[0].rules[] | select(.name == \"fp\") | .fast_path.pkts_out >= $FO"

# tcp_fast_xfer PORT SPORT CHUNKS DELAY [KILL_AFTER]: remote1:SPORT sends
# CHUNKS chunks of 32 KiB, DELAY s apart, over TCP to WAN:PORT; lanhost1
# writes them to $T/t.PORT.out, $T/t.PORT.exp is what it must be. Returns
# socat's exit status. With KILL_AFTER, the sender is killed after that many
# seconds, with SO_LINGER 0: its kernel resets the connection.
tcp_fast_xfer() {
	local port=$1 sp=$2 n=$3 d=$4 kill=${5:-} opts= lp rc
	rand_payload "$T/t.$port.chunk" 32768
	paced "$n" "$T/t.$port.chunk" 0 >"$T/t.$port.exp"
	tcp_listen lanhost1 "$port" "$T/t.$port.out" 60 || note "no TCP listener"
	lp=$BG_PID
	[ -n "$kill" ] && opts=",linger=0"
	lab_exec remote1 timeout -s KILL "${kill:-60}" socat -u \
		EXEC:"bash $T/paced.sh $n $T/t.$port.chunk $d" \
		TCP4:"$WAN:$port,sourceport=$sp,connect-timeout=3$opts" 2>/dev/null
	rc=$?
	bg_wait "$lp" 10 >/dev/null
	return $rc
}

# ---- TCP with conntrack tracking windows strictly: the slow path ----------
# Conntrack follows each direction's sequence window from the segments it
# sees; bypassed ones would leave it behind (the remote's FIN and the
# owner's ACKs judged invalid, the connection left ESTABLISHED). So TCP
# bypasses only where conntrack is liberal.
assert_eq 0 "$(lab_exec router sysctl -n net.netfilter.nf_conntrack_tcp_be_liberal)" \
	"the router's conntrack is strict (the default)"
S0=$(status_jq '.interfaces[0].counters.fast_tcp_ct_strict')
I0=$(invalid_count)
tcp_fast_xfer 7109 40009 30 0.1
assert_eq 0 $? "strict conntrack: TCP sender exits 0"
assert_file_sha256_eq "$T/t.7109.exp" "$T/t.7109.out" "strict conntrack: TCP intact"
assert_eq 0 "$(flow_field tcp 40009 fast_pkts)" "strict conntrack: no segment bypassed"
assert_gt "$(status_jq '.interfaces[0].counters.fast_tcp_ct_strict')" "$S0" \
	"strict conntrack: counted (fast_tcp_ct_strict)"
wait_for 3 ct_state_is tcp 40009 TIME_WAIT
assert_eq TIME_WAIT "$(ct_state tcp 40009)" "strict conntrack: it saw the close (TIME_WAIT)"
assert_eq "$I0" "$(invalid_count)" "strict conntrack: no packet judged invalid"

# ---- TCP through the fast path; the remote's FIN is seen by conntrack ----
lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1
I0=$(invalid_count)
F0=$(fwd_count)
tcp_fast_xfer 7102 40002 30 0.1
assert_eq 0 $? "TCP sender exits 0"
assert_file_sha256_eq "$T/t.7102.exp" "$T/t.7102.out" "TCP through the fast path: intact"
FP=$(flow_field tcp 40002 fast_pkts)
FW=$(($(fwd_count) - F0))
note "TCP: $FP segments fast, forward chain saw $FW"
assert_gt "$FP" 300 "TCP: the remote's segments went the fast path"
wait_for 3 ct_state_is tcp 40002 TIME_WAIT
ST=$(ct_state tcp 40002)
assert_eq TIME_WAIT "$ST" "TCP: conntrack saw both FINs (the remote's took the stack): TIME_WAIT"
assert_eq "$I0" "$(invalid_count)" "TCP fast path: no packet judged invalid (the owner's ACKs, the FINs)"

# ---- the owner's TCP upload through the fast path -------------------------
I0=$(invalid_count)
G0=$(fwd_out_count)
tcp_up_xfer 7108 40018 16 0.1
assert_file_sha256_eq "$T/tu.7108.exp" "$T/tu.7108.out" "owner's TCP upload through the fast path: intact"
FO=$(flow_field tcp 40018 fast_out_pkts)
GW=$(($(fwd_out_count) - G0))
note "TCP upload: $FO packets fast (a GSO packet counts once), forward chain saw $GW"
assert_gt "$FO" 50 "TCP upload: the owner's segments went the fast path"
wait_for 3 ct_state_is tcp 40018 TIME_WAIT
assert_eq TIME_WAIT "$(ct_state tcp 40018)" "TCP upload: conntrack saw both FINs (the owner's took the stack): TIME_WAIT"
assert_eq "$I0" "$(invalid_count)" "TCP upload: no packet judged invalid"

# ---- the remote's RST is seen by conntrack --------------------------------
tcp_fast_xfer 7103 40003 50 0.1 3.5
FP=$(flow_field tcp 40003 fast_pkts)
assert_gt "$FP" 30 "RST case: the connection went the fast path first"
# Conntrack closes on a RST only at the sequence number it saw the owner
# acknowledge last, which bypassed segments left behind: ptrig sets the
# entry to expire as a closed one does, for a RST at the owner's latest ACK.
ct_timeout() {
	lab_exec router conntrack -L -p "$1" --sport "$2" 2>/dev/null | awk '{ print $3; exit }'
}
rst_closed() {
	local t
	t=$(ct_timeout tcp 40003)
	[ -z "$t" ] || [ "$(ct_state tcp 40003)" = CLOSE ] || [ "$t" -le 10 ]
}
wait_for 3 rst_closed
note "after the RST: conntrack $(ct_state tcp 40003), expires in $(ct_timeout tcp 40003) s"
check "TCP: the remote's RST took the stack and conntrack's entry expires within 10 s" rst_closed
assert_gt "$(status_jq '.interfaces[0].counters.fast_ct_rst_expiry')" 0 \
	"the RST was at the owner's latest ACK (fast_ct_rst_expiry)"

# ---- conntrack stays alive over a transfer longer than its timeout --------
OLD_STREAM=$(lab_exec router sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream)
lab_exec router sysctl -q -w net.netfilter.nf_conntrack_udp_timeout_stream=3
C0=$(status_jq '.interfaces[0].counters.fast_ct_check')
XS=$SECONDS
udp_fast_xfer 7104 40004 80 0.1 &
XP=$!
# Well past 3 s of fast path: without its packet per second through the
# stack, the entry would be gone and the flow cut by the firewall.
wait_for 20 fast_over udp 40004 100
sleep 5
assert_eq udp "$(ct_state udp 40004)" "after 5 s more of fast path, its conntrack entry is alive"
wait "$XP"
XT=$((SECONDS - XS))
assert_udp_payload_eq "$T/u.7104.exp" "$T/u.7104.out" \
	"UDP 8 s with a 3 s conntrack stream timeout: intact"
FP=$(flow_field udp 40004 fast_pkts)
SP=$(flow_field udp 40004 slow_pkts)
C1=$(status_jq '.interfaces[0].counters.fast_ct_check')
NCPU=$(lab_exec router nproc)
note "8 s transfer (took ${XT} s): $FP fast, $SP slow, $((C1 - C0)) conntrack checks, $NCPU CPUs"
assert_gt "$FP" 1500 "the long transfer went the fast path"
assert_gt "$((NCPU * (XT + 1) + 4))" "$SP" \
	"only about one packet per second per CPU took the stack ($SP in ${XT} s on $NCPU CPUs)"
# The same one way, the owner uploading: only the LAN program's own packet
# per second through the stack refreshes the entry.
udp_up_xfer 7109 40019 60 0.1 &
XP=$!
wait_for 20 fast_out_over udp 40019 100
sleep 5
assert_eq udp "$(ct_state udp 40019)" "owner's one-way upload: after 5 s more of fast path, its conntrack entry is alive"
wait "$XP"
assert_udp_payload_eq "$T/up.7109.exp" "$T/up.7109.out" \
	"owner's one-way UDP upload with a 3 s conntrack stream timeout: intact"
assert_gt "$(flow_field udp 40019 fast_out_pkts)" 1000 "the one-way upload went the fast path"
lab_exec router sysctl -q -w net.netfilter.nf_conntrack_udp_timeout_stream="$OLD_STREAM"

# ---- neighbour not resolved: the stack, then the fast path again ----------
# (A long transfer: under emulation each status poll takes seconds, and the
# flushes below must come while it still runs.)
N0=$(status_jq '.interfaces[0].counters.fast_no_neighbour')
udp_fast_xfer 7105 40005 150 0.05 &
XP=$!
wait_for 20 fast_over udp 40005 50
# The stack may resolve the neighbour again before a fast packet looks
# (the periodic conntrack packet takes the stack): flush up to 5 times.
no_neigh_seen() { [ "$(status_jq '.interfaces[0].counters.fast_no_neighbour')" -gt "$N0" ]; }
for _ in 1 2 3 4 5; do
	lab_exec router ip neigh flush dev "$LAB_LAN_IF"
	wait_for 1 no_neigh_seen && break
done
F1=$(flow_field udp 40005 fast_pkts)
wait "$XP"
F2=$(flow_field udp 40005 fast_pkts)
N1=$(status_jq '.interfaces[0].counters.fast_no_neighbour')
assert_udp_payload_eq "$T/u.7105.exp" "$T/u.7105.out" "neighbour flushed mid-flow: UDP intact"
assert_gt "$((N1 - N0))" 0 "no neighbour: those packets took the stack (fast_no_neighbour $N0 -> $N1)"
assert_gt "$((F2 - F1))" 100 "neighbour resolved again: the fast path took over again ($F1 -> $F2)"

# ---- firewall: established rule removed mid-flow ---------------------------
# A bypassed flow does not pass the forward chain, so removing the rule
# that accepts it does not stop it (as with nft flowtables); only the one
# packet per second that takes the stack is dropped. Deleting the
# connection's conntrack entry stops it within about a second.
est_rule_handle() {
	lab_exec router nft -a list chain inet "$LAB_NFT_TABLE" forward |
		sed -n 's/.*ct state established,related accept # handle \([0-9]*\).*/\1/p'
}
udp_fast_xfer 7106 40006 160 0.05 &
XP=$!
wait_for 20 fast_over udp 40006 50
B0=$(file_size "$T/u.7106.out")
sleep 2
S0=$(file_size "$T/u.7106.out")
H=$(est_rule_handle)
lab_exec router nft delete rule inet "$LAB_NFT_TABLE" forward handle "$H" || fail "delete the established rule"
sleep 2
S1=$(file_size "$T/u.7106.out")
assert_gt "$((S1 - S0))" "$(((S0 - B0) / 2))" \
	"established rule gone: the bypassed flow still flows ($((S1 - S0)) bytes in 2 s; $((S0 - B0)) in the 2 s before)"
lab_exec router conntrack -D -p udp --sport 40006 >/dev/null 2>&1
sleep 1.5
S2=$(file_size "$T/u.7106.out")
sleep 2
S3=$(file_size "$T/u.7106.out")
assert_eq 0 "$((S3 - S2))" "its conntrack entry deleted: the flow stops (the firewall sees it again)"
wait "$XP"
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward ct state established,related accept ||
	fail "restore the established rule"

# ---- stranger: spoofed SYN, FIN and RST on a fast flow; spoofed datagrams on
# an embryonic one --------------------------------------------------------
U0=$(status_jq '.interfaces[0].counters.fast_unusual_packet')
E0=$(status_jq '.interfaces[0].counters.fast_ct_rst_expiry')
tcp_fast_xfer 7107 40007 100 0.1 &
XP=$!
wait_for 20 fast_over tcp 40007 20
# Blind RSTs: each takes the stack, and none may set conntrack's entry to
# expire (only a RST at the owner's latest ACK does).
# (rawsend -n varies the source port: one packet per call.)
for f in R R R R R RA RA RA RA RA; do
	lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -d "$WAN" -S 40007 -D 7107 \
		-f "$f" -q $((RANDOM * 65536 + RANDOM)) -a $((RANDOM * 65536 + RANDOM)) -n 1 ||
		fail "stranger: rawsend $f"
done
U1=$(status_jq '.interfaces[0].counters.fast_unusual_packet')
assert_eq "$((U0 + 10))" "$U1" "stranger's 10 RSTs on a fast flow took the stack (fast_unusual_packet)"
assert_eq "$E0" "$(status_jq '.interfaces[0].counters.fast_ct_rst_expiry')" \
	"stranger's RSTs (not at the owner's ACK): conntrack's entry not set to expire"
# (Conntrack itself may shorten the entry's timeout on a RST it accepts;
# the connection's next packets through the stack set it back.)
ct_timeout_over() { [ "$(ct_timeout tcp 40007)" -gt "$1" ] 2>/dev/null; }
wait_for 5 ct_timeout_over 100
assert_gt "$(ct_timeout tcp 40007)" 100 \
	"stranger's RSTs: conntrack keeps the connection ($(ct_state tcp 40007), $(ct_timeout tcp 40007) s)"
# Liberal conntrack takes a blind FIN for the connection's (CLOSE_WAIT: 60 s
# without traffic); the transfer still completes.
for f in F F S S FA FA; do
	lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -d "$WAN" -S 40007 -D 7107 \
		-f "$f" -q $((RANDOM * 65536 + RANDOM)) -a $((RANDOM * 65536 + RANDOM)) -n 1 ||
		fail "stranger: rawsend $f"
done
note "after the stranger's FIN and SYN: conntrack $(ct_state tcp 40007), $(ct_timeout tcp 40007) s"
# Liberal conntrack may now hold the connection closed, but a SYN may
# replace a bypassed flow only after the owner's own close.
assert_eq established "$(flow_field tcp 40007 state)" \
	"stranger's FIN then SYN: the bypassed flow is not replaced"
wait "$XP"
assert_eq 0 $? "stranger's spoofed SYN/FIN/RST: the connection completes"
assert_file_sha256_eq "$T/t.7107.exp" "$T/t.7107.out" "stranger's spoofed SYN/FIN/RST: data intact"

F0=$(status_jq '.interfaces[0].counters.fast_forwarded')
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -d "$WAN" -S 40008 -D 7108 -m spoof -n 1 ||
	fail "stranger: first datagram"
sleep 1.2
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -d "$WAN" -S 40008 -D 7108 -m spoof -n 200 ||
	fail "stranger: datagrams"
assert_eq "$F0" "$(status_jq '.interfaces[0].counters.fast_forwarded')" \
	"stranger's datagrams on a flow the owner never answered: none bypassed"
snap
assert_eq "fp" "$(jq -r '[.flows[] | select(.remote_port == 40008 and .state == "new")][0].rule' "$E2E_TMP/flows.json")" \
	"that flow stays embryonic"

# ---- --lan none turns it off; only ptrig's LAN filter goes ---------------
lan_has() { ip netns exec "$LAB_ROUTER" tc "$1" show dev "$LAB_LAN_IF" $2 | grep -q "$3"; }
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan none 2>&1)
assert_eq 0 $? "attach --lan none"
check "status: fast path off again" status_test '.interfaces[0].fast_path.enabled == false'
check_not "--lan none: ptrig's LAN filter is gone" lan_has filter ingress ptrig
check_not "--lan none: and so is the clsact qdisc ptrig made on lan0" lan_has qdisc "" clsact
# Another tool's filter on lan0 (made before ptrig's): it and its qdisc stay.
lab_exec router tc qdisc add dev "$LAB_LAN_IF" clsact || fail "clsact on lan0"
cat >"$T/tc_other.c" <<'EOF'
__attribute__((section("tc"), used)) int other_tool(void *ctx) { return -1; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$T/tc_other.c" -o "$T/tc_other.o" || fail "build tc_other"
lab_exec router tc filter add dev "$LAB_LAN_IF" ingress pref 100 bpf da obj "$T/tc_other.o" sec tc ||
	fail "another tool's filter on lan0"
out=$(ptrig attach "$LAB_WAN_IF" -c "$T/rules.conf" --lan "$LAB_LAN_IF" 2>&1)
assert_eq 0 $? "attach --lan lan0 beside another tool's filter"
check "ptrig's LAN filter beside it" lan_has filter ingress ptrig_tc_lan_in
out=$(ptrig detach "$LAB_WAN_IF" 2>&1)
assert_eq 0 $? "detach"
check_not "detach: ptrig's LAN filter is gone" lan_has filter ingress ptrig
check "detach: the other tool's filter stays" lan_has filter ingress other_tool
check "detach: lan0's clsact qdisc (not ptrig's) stays" lan_has qdisc "" clsact
lab_exec router tc qdisc del dev "$LAB_LAN_IF" clsact

e2e_finish
