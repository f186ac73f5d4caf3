#!/usr/bin/env bash
# End-to-end: two external addresses on the router's one WAN interface.
# wan0 gets a second address (WAN2, 203.0.113.4), and the firewall sends
# each LAN host out through its own (an nft `snat to` per LAN host:
# lanhost1 -> WAN, lanhost2 -> WAN2). Rule `irc tcp:6667 tcp:113`:
#   1. both LAN hosts trigger towards the same remote (remote1:6667): each
#      external address has its own trigger (owner lanhost1 on WAN, owner
#      lanhost2 on WAN2), no conflict;
#   2. remote1 connects from the same source port (40100) to WAN:113 and to
#      WAN2:113 at the same time: the first reaches lanhost1, the second
#      lanhost2, and each answer comes back from the address remote1
#      called (the TCP handshakes complete);
#   3. flows --json lists both flows: same remote endpoint and open port,
#      external WAN -> owner lanhost1, external WAN2 -> owner lanhost2.
# Before flows and triggers were keyed by external address, lanhost2's
# trigger was a conflict and the second connection was never forwarded.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

WAN2=203.0.113.4

e2e_init
e2e_ptrig_lab

lab_exec router ip addr add "$WAN2/24" dev "$LAB_WAN_IF" || die "second WAN address"
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" postrouting \
	oifname "$LAB_WAN_IF" ip saddr "$H2" snat ip to "$WAN2" || die "snat lanhost2"
lab_exec router nft insert rule inet "$LAB_NFT_TABLE" postrouting \
	oifname "$LAB_WAN_IF" ip saddr "$H1" snat ip to "$WAN" || die "snat lanhost1"

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6667  tcp:113
EOF
ptrig_attach "$T/ptrig.conf"

# ---- 1. two triggers, one per external address --------------------------------------
bg_run remote1 10 socat -u TCP4-LISTEN:6667,reuseaddr,fork \
	SYSTEM:"echo \$SOCAT_PEERADDR >>$T/trig.peers"
wait_for 3 listening remote1 tcp 6667 || die "no listener on remote1:6667"
for h in lanhost1 lanhost2; do
	echo "NICK $h" | lab_exec "$h" timeout 5 socat -u - "TCP4:$R1:6667,connect-timeout=3"
done
wait_for 3 status_test '.interfaces[0].triggers | length == 2'
assert_eq "$WAN $WAN2" "$(sort "$T/trig.peers" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" \
	"remote1 saw lanhost1 from $WAN and lanhost2 from $WAN2"
assert_eq "$H1 $WAN,$H2 $WAN2" \
	"$(status_jq '[.interfaces[0].triggers[] | "\(.owner) \(.external)"] | sort | join(",")')" \
	"status --json: one trigger per external address (owners lanhost1, lanhost2)"
assert_eq 0 "$(status_jq '.interfaces[0].rules[0].counters.conflicts')" "no conflict"

# ---- 2. the same remote endpoint to the same open port on both addresses -------------
for h in lanhost1 lanhost2; do
	bg_run "$h" 10 socat TCP4-LISTEN:113,reuseaddr SYSTEM:"echo $h; sleep 2"
	wait_for 3 listening "$h" tcp 113 || die "no listener on $h:113"
done
bg_run remote1 8 socat -u "TCP4:$WAN:113,sourceport=40100,reuseaddr,connect-timeout=3" "CREATE:$T/a.out"
A=$BG_PID
bg_run remote1 8 socat -u "TCP4:$WAN2:113,sourceport=40100,reuseaddr,connect-timeout=3" "CREATE:$T/b.out"
B=$BG_PID
wait_for 3 size_at_least "$T/a.out" 8
wait_for 3 size_at_least "$T/b.out" 8
FLOWS=$(ptrig flows "$LAB_WAN_IF" --json)
bg_wait "$A" 5 >/dev/null
bg_wait "$B" 5 >/dev/null
assert_eq lanhost1 "$(cat "$T/a.out" 2>/dev/null)" "remote1:40100 -> $WAN:113 reached lanhost1, answer from $WAN"
assert_eq lanhost2 "$(cat "$T/b.out" 2>/dev/null)" "remote1:40100 -> $WAN2:113 reached lanhost2, answer from $WAN2"

# ---- 3. both flows at once ------------------------------------------------------------------
assert_eq "$R1:40100 $WAN:113 $H1,$R1:40100 $WAN2:113 $H2" \
	"$(jq -r '[.flows[] | "\(.remote):\(.remote_port) \(.external):\(.external_port) \(.owner)"] | sort | join(",")' <<<"$FLOWS")" \
	"flows --json: two flows from one remote endpoint to one open port, one per external address"
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
