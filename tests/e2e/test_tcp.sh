#!/usr/bin/env bash
# End-to-end: a TCP trigger opens a TCP port. Rule `irc tcp:6660-6669 tcp:113`:
#   1. lanhost1 connects to remote1:6667 (the trigger); remote1 sees the
#      router's WAN address as its peer (masquerade);
#   2. status --json lists the trigger: owner lanhost1, external WAN address;
#   3. remote1 connects to WAN:113 and reaches lanhost1's listener; 8 MiB go
#      each way over that one connection and arrive intact (sha256);
#   4. remote1's own conntrack saw the replies come from WAN:113;
#   5. flows --json lists the flow (owner lanhost1) and the rule's counters
#      moved (flows_opened, pkts/bytes in and out).
# Env: LAB_PREFIX (default ptl-) lets runs side by side use their own
# namespaces; pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MIB8=$((8 * 1024 * 1024))

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
# test_tcp: IRC opens identd
irc  tcp:6660-6669  tcp:113
EOF
ptrig_attach "$T/ptrig.conf"

# remote1 runs no firewall; an input-hook table makes its conntrack track
# connections, so it records which address the replies really came from.
conntrack_on remote1 || die "conntrack table in remote1"

# ---- 1. the trigger ----------------------------------------------------------------
bg_run remote1 10 socat -u TCP4-LISTEN:6667,reuseaddr \
	SYSTEM:"echo \"\$SOCAT_PEERADDR\" >$T/irc.peer; cat >$T/irc.got"
IRC_PID=$BG_PID
wait_for 3 listening remote1 tcp 6667 || die "no IRC listener in remote1"
echo "NICK lanhost1" | lab_exec lanhost1 timeout 5 socat -u - "TCP4:$R1:6667,connect-timeout=3"
assert_eq 0 $? "trigger: lanhost1 -> remote1:6667 connected"
bg_wait "$IRC_PID" 5 >/dev/null
assert_eq "NICK lanhost1" "$(cat "$T/irc.got" 2>/dev/null)" "trigger: remote1 got the IRC line"
assert_eq "$WAN" "$(cat "$T/irc.peer" 2>/dev/null)" \
	"trigger: remote1 saw the router's WAN address as its peer (masquerade)"

wait_for 3 status_test '.interfaces[0].triggers | length > 0'
assert_eq "irc $H1 $WAN" \
	"$(status_jq '.interfaces[0].triggers[] | select(.rule == "irc") | "\(.rule) \(.owner) \(.external)"')" \
	"status --json: trigger irc, owner $H1, external $WAN"
assert_eq 1 "$(status_jq '.interfaces[0].rules[] | select(.name == "irc") | .counters.triggers_opened')" \
	"status --json: triggers_opened = 1"

# ---- 2. inbound connection, 8 MiB each way ----------------------------------------
rand_payload "$T/r2l.in" "$MIB8"
rand_payload "$T/l2r.in" "$MIB8"
# One connection, both directions at once; -t: after one direction's EOF,
# keep going (bounded) until the other one ends too.
bg_run lanhost1 30 socat -t 20 TCP4-LISTEN:113,reuseaddr "OPEN:$T/l2r.in!!CREATE:$T/r2l.out"
L_PID=$BG_PID
wait_for 3 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
lab_exec remote1 timeout 30 socat -t 20 "TCP4:$WAN:113,connect-timeout=3" \
	"OPEN:$T/r2l.in!!CREATE:$T/l2r.out"
assert_eq 0 $? "inbound: remote1 -> $WAN:113 connected and finished"
bg_wait "$L_PID" 10
assert_eq 0 $? "inbound: lanhost1's listener finished cleanly"
# Right away: a closed TCP flow stays listed only for its 10 s closing timeout.
FLOWS=$(ptrig flows "$LAB_WAN_IF" --json)
assert_file_sha256_eq "$T/r2l.in" "$T/r2l.out" "inbound: 8 MiB remote1 -> lanhost1 intact (sha256)"
assert_file_sha256_eq "$T/l2r.in" "$T/l2r.out" "inbound: 8 MiB lanhost1 -> remote1 intact (sha256)"

# remote1's conntrack: the connection to WAN:113 got its replies from WAN:113
# (ASSURED), i.e. ptrig rewrote lanhost1's source back to the WAN address.
RCT=$(lab_exec remote1 conntrack -L -p tcp --orig-dst "$WAN" --dport 113 2>/dev/null)
assert_match "src=$R1 dst=$WAN sport=[0-9]+ dport=113 src=$WAN dst=$R1 sport=113 dport=[0-9]+ .*\[ASSURED\]" \
	"$RCT" "remote1's conntrack: replies came from $WAN:113"
check_not "remote1 never saw lanhost1's address" \
	grep -q "$H1" <<<"$(lab_exec remote1 conntrack -L 2>/dev/null)"

# ---- 3. flows and counters ------------------------------------------------------------
assert_eq "irc tcp $R1 $WAN 113 $H1" \
	"$(jq -r '.flows[] | select(.external_port == 113) | "\(.rule) \(.proto) \(.remote) \(.external) \(.external_port) \(.owner)"' <<<"$FLOWS")" \
	"flows --json: the inbound flow, owner $H1"
C=$(status_jq '.interfaces[0].rules[] | select(.name == "irc") | .counters')
note "irc counters: $(jq -c . <<<"$C")"
check "counters: flows_opened >= 1" json_test '.flows_opened >= 1' "$C"
check "counters: pkts_in > 0" json_test '.pkts_in > 0' "$C"
check "counters: pkts_out > 0" json_test '.pkts_out > 0' "$C"
check "counters: bytes_in >= 8 MiB" json_test ".bytes_in >= $MIB8" "$C"
check "counters: bytes_out >= 8 MiB" json_test ".bytes_out >= $MIB8" "$C"
check "counters: no conflicts or refusals" \
	json_test '.conflicts == 0 and .refused_closed == 0 and .refused_peer == 0' "$C"
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
