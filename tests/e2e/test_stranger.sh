#!/usr/bin/env bash
# The attacker's suite: a stranger on the WAN side (tools/lab.sh's
# `stranger`, which sends packets with any source address through
# tests/e2e/rawsend.c) against real TCP connections through the
# masquerading, firewalled lab router.
#   1. Only the LAN's own connections are trigger traffic: the router's own
#      SYN-ACK to a stranger connecting from port 6667, and a port forward's
#      reply to port 6668, change no trigger; lanhost1 then owns the rule;
#      the owner's replies to remote1's source port 6669 leave the trigger's
#      external address alone, so remote2 still gets in.
#   2. A spoofed-source SYN flood at 16x the flow table (--max-flows 256,
#      4096 SYNs from 250 addresses) loses none of 40 established idle
#      connections, every SYN that reached wan0 opens a flow (the lab's
#      veth drops on the way subtracted), and 5 new connections open
#      afterwards.
#   3. A blind RST or FIN (bad checksum, or a guessed sequence number)
#      neither shortens a connection's flow nor lets a spoofed SYN hand it to
#      lanhost2 once lanhost2 owns the rule.
# Each scenario has a rule of its own, so that each one shows its own hole
# on a datapath that has it.
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MAX_FLOWS=256
FLOOD=$((16 * MAX_FLOWS))
N_EST=40

# path_drops: packets the lab's veths on the way from stranger to wan0
# dropped (a full receive queue, when the receiving softirq falls behind, as
# in an emulated guest on a loaded machine). A veth counts a packet it could
# not hand to its peer as tx_dropped.
path_drops() {
	echo $(($(lab_exec stranger cat "/sys/class/net/$LAB_HOST_IF/statistics/tx_dropped") +
		$(lab_exec wansw cat /sys/class/net/rtr/statistics/tx_dropped)))
}

# lan_trigger NODE PORT: NODE makes one connection to remote1:PORT (a rule's
# trigger port); 0 when it connected.
lan_trigger() {
	bg_run remote1 10 socat -u "TCP4-LISTEN:$2,reuseaddr" OPEN:/dev/null
	wait_for 3 listening remote1 tcp "$2" || return 1
	echo go | lab_exec "$1" timeout 5 socat -u - "TCP4:$R1:$2,connect-timeout=3"
}

e2e_init
e2e_ptrig_lab
build_rawsend || die "build rawsend"
build_connhold || die "build connhold"

printf '%s\n' '# test_stranger' \
	'irc    tcp:6660-6669  tcp:113' \
	'bulk   tcp:7200       tcp:7300' \
	'short  tcp:7000       tcp:7100   timeout=3' >"$T/ptrig.conf"
if ptrig attach "$LAB_WAN_IF" -c "$T/ptrig.conf" --max-flows "$MAX_FLOWS" >"$T/attach.log" 2>&1; then
	pass "attach wan0 --max-flows $MAX_FLOWS"
else
	sed 's/^/    /' "$T/attach.log"
	die "attach wan0 --max-flows $MAX_FLOWS"
fi
assert_eq "$MAX_FLOWS $((MAX_FLOWS / 4))" \
	"$(status_jq '.interfaces[0].tables | "\(.flows.max) \(.embryonic_flows.max)"')" \
	"status: flow table $MAX_FLOWS, embryonic table $((MAX_FLOWS / 4))"

# ---- 1. only the LAN's own connections trigger -------------------------------------
# The router's own service, connected to from the stranger's port 6667.
bg_run router 15 socat TCP4-LISTEN:2222,reuseaddr,fork OPEN:/dev/null
wait_for 3 listening router tcp 2222 || die "no listener on the router's :2222"
echo hello | lab_exec stranger timeout 5 socat -u - "TCP4:$WAN:2222,sourceport=6667,reuseaddr,connect-timeout=3"
assert_eq 0 $? "1: stranger:6667 -> router:2222 (the router's own service) connected"

# A port forward WAN:8080 -> lanhost2:80, connected to from port 6668.
printf '%s\n' 'table ip ptrig_e2e_pf {' \
	'	chain prerouting {' \
	'		type nat hook prerouting priority dstnat; policy accept;' \
	"		iifname \"$LAB_WAN_IF\" tcp dport 8080 dnat to $H2:80" \
	'	}' '}' | lab_exec router nft -f - || die "port forward"
lab_exec router nft add rule inet "$LAB_NFT_TABLE" forward ct status dnat ip daddr "$H2" tcp dport 80 accept ||
	die "port forward: firewall rule"
bg_run lanhost2 15 socat TCP4-LISTEN:80,reuseaddr,fork OPEN:/dev/null
wait_for 3 listening lanhost2 tcp 80 || die "no listener on lanhost2:80"
echo hello | lab_exec stranger timeout 5 socat -u - "TCP4:$WAN:8080,sourceport=6668,reuseaddr,connect-timeout=3"
assert_eq 0 $? "1: stranger:6668 -> WAN:8080 -> lanhost2:80 (port forward) connected"

snap
assert_eq "" "$(trigger_owner irc)" "1: no irc trigger from the router's reply or the port forward's"
assert_eq 0 "$(rule_counter irc triggers_opened)" "1: irc triggers_opened = 0"
assert_gt "$(gstat pass_trigger_local)" 0 "1: pass_trigger_local > 0 (the router's SYN-ACK)"
assert_gt "$(gstat pass_trigger_reply)" 0 "1: pass_trigger_reply > 0 (the port forward's reply)"

irc_trigger
assert_eq 0 $? "1: lanhost1 triggers irc and owns it"

# remote1 connects in from source port 6669 (a trigger port): lanhost1's
# replies go to it; the trigger must keep the WAN address as external.
rand_payload "$T/in6669" 65536
tcp_listen lanhost1 113 "$T/out6669" 15 || die "no listener on lanhost1:113"
LP=$BG_PID
tcp_send remote1 "$WAN" 113 "$T/in6669" 10 6669
assert_eq 0 $? "1: remote1:6669 -> WAN:113 connected"
bg_wait "$LP" 10 >/dev/null
assert_file_sha256_eq "$T/in6669" "$T/out6669" "1: remote1:6669 -> lanhost1:113, 64 KiB intact"
snap
assert_eq "$H1 $WAN" "$(jq -r '.interfaces[0].triggers[] | select(.rule == "irc") | "\(.owner) \(.external)"' "$E2E_TMP/status.json")" \
	"1: irc trigger still owner $H1, external $WAN"
assert_gt "$(gstat pass_trigger_flow_reply)" 0 "1: pass_trigger_flow_reply > 0"
check "1: remote2 -> WAN:113 still reaches lanhost1" xfer_tcp remote2 lanhost1 "$WAN" 113 65536

# ---- 2. SYN flood -----------------------------------------------------------------
lan_trigger lanhost1 7200
assert_eq 0 $? "2: lanhost1 triggers 'bulk'"
bg_run lanhost1 100 "$CONNHOLD" serve -p 7300 -t 100 2>/dev/null
wait_for 3 listening lanhost1 tcp 7300 || die "no connhold server on lanhost1:7300"
snap
OPENED0=$(rule_counter bulk flows_opened)
EST0=$(rule_counter bulk flows_established)
coproc HOLD { ip netns exec "$LAB_REMOTE1" timeout 100 "$CONNHOLD" hold -d "$WAN" -p 7300 -n "$N_EST" -t 100; }
HPID=$HOLD_PID # bash unsets HOLD_PID when the coproc ends
E2E_BG_PIDS+=("$HPID")
line=$(hold_line "${HOLD[0]}")
assert_match "^open $N_EST ports" "$line" "2: remote1 opened $N_EST connections to WAN:7300"
line=$(hold_line "${HOLD[0]}" 30 check "${HOLD[1]}")
assert_eq "alive $N_EST lost 0" "$line" "2: before the flood: all $N_EST echo"
snap
assert_eq "$N_EST" "$(($(rule_counter bulk flows_established) - EST0))" "2: $N_EST flows established"

DROPS0=$(path_drops)
lab_exec stranger "$RAWSEND" send -p tcp -s 192.0.2.1 -V 250 -S 1024 -d "$WAN" -D 7300 -f S -n "$FLOOD"
assert_eq 0 $? "2: stranger sent $FLOOD SYNs from 192.0.2.1-250"
sleep 1
# Every SYN that reached wan0 must count; the ones lost on the way cannot.
DROPS=$(($(path_drops) - DROPS0))
REACHED=$((FLOOD - DROPS))
note "flood: $REACHED of $FLOOD SYNs reached wan0, $DROPS dropped on the way"
check "2: at least half the flood ($((FLOOD / 2)) SYNs, 8x the flow table) reached wan0" \
	test "$REACHED" -ge $((FLOOD / 2))
line=$(hold_line "${HOLD[0]}" 120 check "${HOLD[1]}")
assert_eq "alive $N_EST lost 0" "$line" \
	"2: after $FLOOD spoofed SYNs (16x a $MAX_FLOWS-flow table): 0 of $N_EST established connections lost"
note "flood: ${line:-no answer} (flow table $MAX_FLOWS, embryonic $((MAX_FLOWS / 4)), $FLOOD SYNs)"
echo quit >&"${HOLD[1]}"
snap
assert_eq "$((N_EST + REACHED))" "$(($(rule_counter bulk flows_opened) - OPENED0))" \
	"2: flows_opened grew by $N_EST + the $REACHED flood SYNs that reached wan0 (exact)"
assert_eq "$N_EST" "$(($(rule_counter bulk flows_established) - EST0))" \
	"2: flows_established: only the $N_EST real ones (SYN-ACKs to spoofed sources establish nothing)"
check "2: status: the embryonic table is at most full" \
	json_test ".interfaces[0].tables.embryonic_flows.entries <= $((MAX_FLOWS / 4))" "$(cat "$E2E_TMP/status.json")"
OUT=$(printf 'check\nquit\n' | lab_exec remote2 timeout 60 "$CONNHOLD" hold -d "$WAN" -p 7300 -n 5 -t 60)
assert_match "^alive 5 lost 0" "$(sed -n 2p <<<"$OUT")" "2: after the flood, 5 new connections from remote2 open and echo"

# ---- 3. blind RST and FIN ---------------------------------------------------------
lan_trigger lanhost1 7000
assert_eq 0 $? "3: lanhost1 triggers 'short' (timeout 3 s)"
T_START=$(date +%s%N)
bg_run lanhost1 60 "$CONNHOLD" serve -p 7100 -t 60 2>/dev/null
wait_for 3 listening lanhost1 tcp 7100 || die "no connhold server on lanhost1:7100"
bg_wait "$HPID" 5 >/dev/null
coproc HOLD { ip netns exec "$LAB_REMOTE1" timeout 60 "$CONNHOLD" hold -d "$WAN" -p 7100 -n 1 -t 60; }
HPID=$HOLD_PID
E2E_BG_PIDS+=("$HPID")
line=$(hold_line "${HOLD[0]}")
P=$(awk '{ print $4 }' <<<"$line")
assert_match "^open 1 ports [0-9]+$" "$line" "3: remote1:$P -> WAN:7100 -> lanhost1 connected"
[ -n "$P" ] || die "3: no connection to attack"

# Blind: the right addresses and ports, but a wrong checksum or a guessed
# sequence number.
lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -S "$P" -d "$WAN" -D 7100 -f R -b
lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -S "$P" -d "$WAN" -D 7100 -f R -q 12345
lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -S "$P" -d "$WAN" -D 7100 -f RA -q 99999 -a 1
lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -S "$P" -d "$WAN" -D 7100 -f FA -q 4242 -a 1
snap
FLOW=$(jq -c --argjson p "$P" '.flows[] | select(.remote_port == $p and .external_port == 7100)' "$E2E_TMP/flows.json")
check "3: after blind RST/FIN the flow is still established, owner $H1" \
	json_test ".state == \"established\" and .owner == \"$H1\"" "${FLOW:-null}"
check "3: its idle timeout is still the TCP flow timeout (> 7000 s), not 10 s" \
	json_test '.expires_in_s > 7000' "${FLOW:-null}"

# lanhost1's trigger goes idle (3 s); lanhost2 triggers the rule.
sleep_until $((T_START + 3500000000))
lan_trigger lanhost2 7000
wait_for 3 status_test ".interfaces[0].triggers[] | select(.rule == \"short\" and .owner == \"$H2\")"
assert_eq 0 $? "3: lanhost2 now owns 'short'"

# A spoofed SYN on the live connection's ports must not reach lanhost2.
bg_run lanhost2 5 "$RAWSEND" sniff -i "$LAB_HOST_IF" -p tcp -P 7100 -n 1 -t 2500
SNIFF=$BG_PID
sleep 0.3
lab_exec stranger "$RAWSEND" send -p tcp -s "$R1" -S "$P" -d "$WAN" -D 7100 -f S -q 777
bg_wait "$SNIFF" 5
assert_ne 0 $? "3: a spoofed SYN on the live flow's ports never reaches lanhost2"
snap
assert_eq "$H1" "$(jq -r --argjson p "$P" '.flows[] | select(.remote_port == $p and .external_port == 7100) | .owner' "$E2E_TMP/flows.json")" \
	"3: the flow's owner is still $H1"
line=$(hold_line "${HOLD[0]}" 30 check "${HOLD[1]}")
assert_eq "alive 1 lost 0" "$line" "3: the connection still echoes"
echo quit >&"${HOLD[1]}"
assert_eq 0 "$(gstat errors)" "status: errors = 0"

e2e_finish
