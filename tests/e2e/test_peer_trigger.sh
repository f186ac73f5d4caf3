#!/usr/bin/env bash
# peer=trigger (only the remote the trigger contacted may connect), in the lab:
#   rule  p2p  tcp:7000  tcp:7100  peer=trigger
#   1. lanhost1 connects to remote1:7000 only. remote1 -> WAN:7100 reaches
#      lanhost1; remote2 -> WAN:7100 does not (fails, bounded; lanhost1 gets
#      nothing) and the rule counts refused_peer >= 1.
#   2. lanhost2 connects to remote2:7000 as well: two triggers of one rule,
#      keyed per peer (lanhost1/remote1 and lanhost2/remote2). Two transfers
#      run at the same time (both connections open while flows is read):
#      remote1 -> WAN:7100 lands on lanhost1, remote2 -> WAN:7100 on lanhost2,
#      each with the sha256 of what its remote sent.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
p2p  tcp:7000  tcp:7100  peer=trigger
EOF
ptrig_attach "$T/ptrig.conf" "ptrig attached to the lab router's $LAB_WAN_IF"

# ---- helpers ---------------------------------------------------------------------
# One status/flows snapshot per step (snap); the checks ask the snapshot.

# trigger NODE REMOTE_IP: one complete connection NODE -> REMOTE_IP:7000.
trigger() {
	echo "hello from $1" | lab_exec "$1" timeout 5 socat -u - "TCP4:$2:7000,connect-timeout=3"
}

for n in remote1 remote2; do
	bg_run "$n" 40 socat -u "TCP4-LISTEN:7000,reuseaddr,fork" OPEN:/dev/null
	wait_for 3 listening "$n" tcp 7000 || die "trigger server on $n"
done

# ---- 1. one trigger towards remote1: only remote1 may connect in ------------------------
check "1 lanhost1 connects to remote1:7000 (trigger)" trigger lanhost1 "$R1"
check "1 remote1 -> WAN:7100 reaches lanhost1 (sha256)" \
	xfer_tcp remote1 lanhost1 "$WAN" 7100 200000
snap
assert_eq "$H1>$R1" "$(trigger_peers p2p)" "1 one trigger: owner lanhost1, peer remote1"
assert_eq 0 "$(rule_counter p2p refused_peer)" "1 refused_peer = 0 so far"

rand_payload "$T/r2.in" 10000
tcp_listen lanhost1 7100 "$T/r2.out" 15 || die "listener on lanhost1:7100"
LP=$BG_PID
check_not "1 remote2 -> WAN:7100 fails (remote2 was not the trigger's peer)" \
	tcp_send remote2 "$WAN" 7100 "$T/r2.in" 8
bg_stop "$LP"
check_not "1 lanhost1 received no connection from remote2" test -e "$T/r2.out"
snap
r=$(rule_counter p2p refused_peer)
assert_gt "${r:-0}" 0 "1 refused_peer >= 1 (refused_peer=$r)"
assert_eq 0 "$(rule_counter p2p refused_closed)" "1 refused_closed = 0"
assert_eq "" "$(jq -r '[.flows[] | select(.remote == "'"$R2"'")] | length | select(. > 0)' "$T/flows.json")" \
	"1 flows has no entry from remote2"

# ---- 2. two triggers of one rule, towards different peers, used at once -----------------
check "2 lanhost1 connects to remote1:7000 again" trigger lanhost1 "$R1"
check "2 lanhost2 connects to remote2:7000 (trigger)" trigger lanhost2 "$R2"
conflicts0=$(rule_counter p2p conflicts)

# Both receivers listen first; both senders read a fifo the test writes into
# (opened read-write, and closed in every child), so both connections are
# open at the same time until the test closes the fifos.
rm -f "$T/h1.out" "$T/h2.out"
tcp_listen lanhost1 7100 "$T/h1.out" 30 || die "listener on lanhost1:7100"
L1=$BG_PID
tcp_listen lanhost2 7100 "$T/h2.out" 30 || die "listener on lanhost2:7100"
L2=$BG_PID
rand_payload "$T/s1a" 300000
rand_payload "$T/s1b" 300000
rand_payload "$T/s2a" 300000
rand_payload "$T/s2b" 300000
cat "$T/s1a" "$T/s1b" >"$T/s1"
cat "$T/s2a" "$T/s2b" >"$T/s2"
mkfifo "$T/f1" "$T/f2" || die "mkfifo"
exec 7<>"$T/f1" 8<>"$T/f2"
bg_run remote1 30 socat -u "OPEN:$T/f1" "TCP4:$WAN:7100,connect-timeout=3" 7>&- 8>&-
S1=$BG_PID
bg_run remote2 30 socat -u "OPEN:$T/f2" "TCP4:$WAN:7100,connect-timeout=3" 7>&- 8>&-
S2=$BG_PID
feed 7 "$T/s1a" 8>&- &
W1=$!
feed 8 "$T/s2a" 7>&- &
W2=$!
wait "$W1" "$W2"
wait_for 5 size_at_least "$T/h1.out" 300000
wait_for 5 size_at_least "$T/h2.out" 300000
snap
assert_eq "$H1>$R1 $H2>$R2" "$(trigger_peers p2p)" \
	"2 two triggers: lanhost1/remote1 and lanhost2/remote2"
assert_eq "$R1>$H1 $R2>$H2" "$(flow_pairs p2p 7100 established)" \
	"2 both connections live at once: remote1 -> lanhost1, remote2 -> lanhost2"
assert_eq "$conflicts0" "$(rule_counter p2p conflicts)" "2 the second peer's trigger is no conflict"
feed 7 "$T/s1b" 8>&- &
W1=$!
feed 8 "$T/s2b" 7>&- &
W2=$!
wait "$W1" "$W2"
exec 7>&- 8>&-
rc1=0 rc2=0
bg_wait "$S1" 15 || rc1=$?
bg_wait "$S2" 15 || rc2=$?
assert_eq "0 0" "$rc1 $rc2" "2 both senders finished cleanly"
bg_wait "$L1" 10 >/dev/null
bg_wait "$L2" 10 >/dev/null
assert_file_sha256_eq "$T/s1" "$T/h1.out" "2 remote1's stream arrived at lanhost1 (sha256)"
assert_file_sha256_eq "$T/s2" "$T/h2.out" "2 remote2's stream arrived at lanhost2 (sha256)"
snap
assert_eq 3 "$(rule_counter p2p flows_opened)" "2 flows_opened = 3"
assert_eq "$r" "$(rule_counter p2p refused_peer)" "2 no more refusals"

e2e_finish
