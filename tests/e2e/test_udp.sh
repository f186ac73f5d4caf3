#!/usr/bin/env bash
# End-to-end: a UDP trigger opens UDP ports. Rule `game udp:27015 udp:27000-27030`:
#   1. before any trigger, a datagram to WAN:27005 does not reach lanhost1
#      (counted as refused_closed);
#   2. lanhost1 sends a datagram to remote1:27015 (the trigger); remote1 sees
#      it from the WAN address; status --json lists the trigger;
#   3. remote1's datagrams to WAN:27005 reach lanhost1 with their exact
#      payload and real source, and lanhost1's replies reach remote1 from
#      WAN:27005 (remote1 uses a connected UDP socket, which only accepts
#      datagrams from WAN:27005, and its conntrack shows the reply tuple);
#      two round trips, so both the flow-creating and the established path;
#   4. flows --json lists the flow (owner lanhost1), counters moved.
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# flows_jq FILTER: jq -r FILTER over `flows wan0 --json`, read now.
flows_jq() { ptrig flows "$LAB_WAN_IF" --json | jq -r "$1"; }

e2e_init
e2e_ptrig_lab
OPEN_PORT=27005

cat >"$T/ptrig.conf" <<EOF
game  udp:27015  udp:27000-27030
EOF
ptrig_attach "$T/ptrig.conf"

# remote1: an input-hook table turns its conntrack on, so it records where
# the replies it accepted came from.
conntrack_on remote1 || die "conntrack table in remote1"

# ---- 1. no trigger yet: closed ---------------------------------------------------------
udp_listen lanhost1 "$OPEN_PORT" "$T/early.out" 10 || die "no UDP listener on lanhost1"
EARLY_PID=$BG_PID
echo "too-early" | lab_exec remote1 timeout 5 socat -u - "UDP4-SENDTO:$WAN:$OPEN_PORT,sourceport=40001"
wait_for 3 status_test '.interfaces[0].rules[0].counters.refused_closed >= 1'
sleep 0.5 # a forwarded datagram would have arrived within milliseconds
bg_stop "$EARLY_PID"
assert_eq 0 "$(file_size "$T/early.out")" "before any trigger: datagram to $WAN:$OPEN_PORT not forwarded"
check "before any trigger: counted as refused_closed" \
	status_test '.interfaces[0].rules[0].counters.refused_closed == 1'
assert_eq 0 "$(flows_jq '.flows | length')" "before any trigger: no flow"

# ---- 2. the trigger -------------------------------------------------------------------
bg_run remote1 10 socat -u UDP4-RECVFROM:27015,reuseaddr \
	SYSTEM:"echo \"\$SOCAT_PEERADDR\" >$T/trig.peer; dd bs=65536 count=1 of=$T/trig.got 2>/dev/null"
TRIG_PID=$BG_PID
wait_for 3 listening remote1 udp 27015 || die "no UDP listener on remote1:27015"
printf 'join-game' | lab_exec lanhost1 timeout 5 socat -u - "UDP4-SENDTO:$R1:27015"
bg_wait "$TRIG_PID" 5 >/dev/null
assert_eq "join-game" "$(cat "$T/trig.got" 2>/dev/null)" "trigger: remote1:27015 got the datagram"
assert_eq "$WAN" "$(cat "$T/trig.peer" 2>/dev/null)" "trigger: remote1 saw it from $WAN (masquerade)"
wait_for 3 status_test '.interfaces[0].triggers | length > 0'
assert_eq "game $H1 $WAN" \
	"$(status_jq '.interfaces[0].triggers[] | select(.rule == "game") | "\(.rule) \(.owner) \(.external)"')" \
	"status --json: trigger game, owner $H1, external $WAN"

# ---- 3. inbound datagrams and replies ------------------------------------------------------
# roundtrip N: remote1 (source port 40002, socket connected to WAN:27005)
# sends a random datagram; lanhost1's one-shot echo server on 27005 records
# payload and sender and answers with another random datagram.
roundtrip() {
	local n=$1 lp
	rand_payload "$T/in$n" 1000
	rand_payload "$T/reply$n" 1200
	rm -f "$T/got$n" "$T/peer$n" "$T/reply$n.out"
	# -t: after its one datagram socat counts the UDP side at EOF and
	# waits only -t seconds (default 0.5) for the answer: too short for the
	# shell to start dd and cat under emulation.
	bg_run lanhost1 25 socat -t 15 UDP4-RECVFROM:$OPEN_PORT,reuseaddr \
		SYSTEM:"echo \"\$SOCAT_PEERADDR:\$SOCAT_PEERPORT\" >$T/peer$n; dd bs=65536 count=1 of=$T/got$n 2>/dev/null; cat $T/reply$n"
	lp=$BG_PID
	wait_for 3 listening lanhost1 udp $OPEN_PORT || {
		fail "round $n: no echo server on lanhost1"
		return
	}
	# Sends the datagram, then (-t 15) waits up to 15 s for the answer (the
	# echo server spawns a shell per datagram: slow in a TCG guest); it is
	# stopped as soon as the answer is in.
	bg_run remote1 20 socat -t 15 "OPEN:$T/in$n!!CREATE:$T/reply$n.out" \
		"UDP4-CONNECT:$WAN:$OPEN_PORT,sourceport=40002,reuseaddr"
	wait_for 15 size_at_least "$T/reply$n.out" 1200
	bg_stop "$BG_PID"
	bg_wait "$lp" 10 >/dev/null
	assert_file_sha256_eq "$T/in$n" "$T/got$n" "round $n: remote1 -> $WAN:$OPEN_PORT reached lanhost1, exact payload"
	assert_eq "$R1:40002" "$(cat "$T/peer$n" 2>/dev/null)" "round $n: lanhost1 saw the real sender $R1:40002"
	assert_file_sha256_eq "$T/reply$n" "$T/reply$n.out" \
		"round $n: lanhost1's reply reached remote1's socket connected to $WAN:$OPEN_PORT"
}
roundtrip 1
roundtrip 2

RCT=$(lab_exec remote1 conntrack -L -p udp --orig-dst "$WAN" --dport $OPEN_PORT 2>/dev/null)
assert_match "src=$R1 dst=$WAN sport=40002 dport=$OPEN_PORT src=$WAN dst=$R1 sport=$OPEN_PORT dport=40002 " \
	"$RCT" "remote1's conntrack: replies came from $WAN:$OPEN_PORT"
unreplied() { grep 'sport=40002' <<<"$RCT" | grep -q UNREPLIED; }
check_not "remote1's conntrack: the flow is not [UNREPLIED]" unreplied
check_not "remote1 never saw lanhost1's address" \
	grep -q "$H1" <<<"$(lab_exec remote1 conntrack -L 2>/dev/null)"

# ---- 4. flows and counters ---------------------------------------------------------------
assert_eq "game udp $R1 40002 $WAN $OPEN_PORT $H1" \
	"$(flows_jq '.flows[] | "\(.rule) \(.proto) \(.remote) \(.remote_port) \(.external) \(.external_port) \(.owner)"')" \
	"flows --json: exactly the one UDP flow, owner $H1"
C=$(status_jq '.interfaces[0].rules[] | select(.name == "game") | .counters')
note "game counters: $(jq -c . <<<"$C")"
check "counters: flows_opened = 1" json_test '.flows_opened == 1' "$C"
check "counters: pkts_in = 2 (two datagrams in)" json_test '.pkts_in == 2' "$C"
check "counters: pkts_out = 2 (two replies out)" json_test '.pkts_out == 2' "$C"
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
