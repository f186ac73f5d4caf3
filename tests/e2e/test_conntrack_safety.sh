#!/usr/bin/env bash
# Conntrack safety: an inbound packet of a connection the router already tracks is
# not hijacked, even when it goes to an open port of an open trigger.
#   rules  game  udp:27015  udp:50000-50010
#          ftp   tcp:21     tcp:50000-50010
#   lanhost2 owns both triggers (sends to remote1:27015/udp and :21/tcp).
#   UDP: lanhost1 sends from source port 50005 to remote1:9999; masquerade
#        keeps 50005 on the WAN (checked in the router's conntrack table).
#        remote1's reply from 9999 to WAN:50005 must reach lanhost1 (the
#        tracked connection), not lanhost2 (listening on 50005 too); the
#        router counts pass_ct_tracked. A control datagram from another
#        remote port to WAN:50007 does go to lanhost2, so the trigger was open.
#   TCP: lanhost1's connection from source port 50006 to remote1's echo
#        server carries data both ways (sha256 of the echo), lanhost2
#        (listening on 50006) gets nothing, and ptrig opened no flow for it.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
game  udp:27015  udp:50000-50010
ftp   tcp:21     tcp:50000-50010
EOF
ptrig_attach "$T/ptrig.conf" "ptrig attached to the lab router's $LAB_WAN_IF"

# ---- helpers ---------------------------------------------------------------------
# (and from lib.sh: snap, then rule_counter, gstat, trigger_owner, flows_to)

# reply_dport PROTO SPORT: the WAN port conntrack gave lanhost1's connection
# from SPORT to remote1 (the reply tuple's destination port).
reply_dport() {
	lab_exec router conntrack -L -p "$1" -s "$H1" -d "$R1" --sport "$2" 2>/dev/null |
		awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) { n++; if (n == 2) { sub(/dport=/, "", $i); print $i } } }' |
		head -1
}

# ---- lanhost2 owns both triggers -------------------------------------------------------
bg_run remote1 40 socat -u "UDP4-RECV:27015,reuseaddr" OPEN:/dev/null
wait_for 3 listening remote1 udp 27015 || die "game server on remote1"
bg_run remote1 40 socat -u "TCP4-LISTEN:21,reuseaddr,fork" OPEN:/dev/null
wait_for 3 listening remote1 tcp 21 || die "ftp server on remote1"
echo "join" | lab_exec lanhost2 timeout 5 socat -u - "UDP4-SENDTO:$R1:27015" ||
	fail "lanhost2 -> remote1:27015/udp"
echo "USER x" | lab_exec lanhost2 timeout 5 socat -u - "TCP4:$R1:21,connect-timeout=3" ||
	fail "lanhost2 -> remote1:21/tcp"
snap
assert_eq "$H2" "$(trigger_owner game)" "lanhost2 owns the game trigger (udp:50000-50010 open)"
assert_eq "$H2" "$(trigger_owner ftp)" "lanhost2 owns the ftp trigger (tcp:50000-50010 open)"
ct0=$(gstat pass_ct_tracked)

# ---- UDP: the reply of lanhost1's tracked connection is not hijacked -------------------
# lanhost2 listens on the port too: a hijacked reply would land there.
udp_listen lanhost2 50005 "$T/h2.udp" 30 || die "UDP listener on lanhost2:50005"
H2L=$BG_PID
udp_listen remote1 9999 "$T/r1.udp" 15 || die "UDP listener on remote1:9999"
R1L=$BG_PID
# lanhost1: one connected UDP socket from 50005 to remote1:9999; it sends a
# datagram and prints what comes back (stdin stays open for 8 s).
bg_run lanhost1 10 sh -c "(echo ping-from-lanhost1; sleep 8) |
	socat - 'UDP4:$R1:9999,sourceport=50005' >'$T/h1.udp'"
H1S=$BG_PID
wait_for 3 file_is "$T/r1.udp" "ping-from-lanhost1"
assert_eq "ping-from-lanhost1" "$(cat "$T/r1.udp")" "UDP lanhost1:50005 -> remote1:9999 delivered"
bg_stop "$R1L"
assert_eq 50005 "$(reply_dport udp 50005)" \
	"UDP masquerade kept source port 50005 on the WAN (router conntrack)"

echo "pong-to-50005" | lab_exec remote1 timeout 5 socat -u - "UDP4-SENDTO:$WAN:50005,sourceport=9999" ||
	fail "remote1:9999 -> WAN:50005 sent"
wait_for 3 file_is "$T/h1.udp" "pong-to-50005"
bg_stop "$H1S"
assert_eq "pong-to-50005" "$(cat "$T/h1.udp")" \
	"UDP reply remote1:9999 -> WAN:50005 reached lanhost1 (the tracked connection)"
assert_eq 0 "$(file_size "$T/h2.udp")" "UDP reply did not reach lanhost2 (the trigger owner)"
snap
ct1=$(gstat pass_ct_tracked)
assert_gt "${ct1:-0}" "${ct0:-0}" "pass_ct_tracked counted it ($ct0 -> $ct1)"
assert_eq 0 "$(flows_to 50005)" "no ptrig flow on 50005"
assert_eq 0 "$(rule_counter game flows_opened)" "game: flows_opened = 0"

# Control: the rule is live, an untracked datagram to an open port goes to
# lanhost2.
bg_stop "$H2L"
check "control: remote1:9998 -> WAN:50007/udp reaches lanhost2" \
	xfer_udp remote1 lanhost2 "$WAN" 50007 1000 9998
snap
assert_eq 1 "$(rule_counter game flows_opened)" "control: game flows_opened = 1"

# ---- TCP: lanhost1's connection from 50006 keeps working both ways ------------------------
rm -f "$T/h2.tcp"
bg_run lanhost2 30 socat -u "TCP4-LISTEN:50006,reuseaddr" "OPEN:$T/h2.tcp,creat,trunc"
wait_for 3 listening lanhost2 tcp 50006 || die "TCP listener on lanhost2:50006"
bg_run remote1 30 socat -t 5 "TCP4-LISTEN:9997,reuseaddr" EXEC:cat
wait_for 3 listening remote1 tcp 9997 || die "echo server on remote1:9997"
rand_payload "$T/tcp.in" 262144
lab_exec lanhost1 timeout 15 socat -t 5 - \
	"TCP4:$R1:9997,sourceport=50006,reuseaddr,connect-timeout=3" <"$T/tcp.in" >"$T/tcp.out"
assert_eq 0 "$?" "TCP lanhost1:50006 <-> remote1:9997 exchange ended cleanly"
assert_file_sha256_eq "$T/tcp.in" "$T/tcp.out" "TCP 256 KiB echoed back to lanhost1 intact (sha256)"
assert_eq 50006 "$(reply_dport tcp 50006)" \
	"TCP masquerade kept source port 50006 on the WAN (router conntrack)"
check_not "TCP: lanhost2 got no connection on 50006" test -e "$T/h2.tcp"
snap
assert_eq 0 "$(rule_counter ftp flows_opened)" "ftp: flows_opened = 0"
assert_eq 0 "$(flows_to 50006)" "no ptrig flow on 50006"
n=$(gstat pass_tcp_no_flow)
assert_gt "${n:-0}" 0 "the SYN-ACK and later packets passed as pass_tcp_no_flow ($n)"
assert_eq 0 "$(gstat errors)" "no datapath errors"

# ---- UDP: masquerade reuses a ptrig flow's WAN ports -------------------------------------
# A ptrig flow remote1:9996 -> WAN:50008 -> lanhost2 exists first. Conntrack
# only saw remote1 -> lanhost2, so masquerade may give lanhost1's connection
# from 50008 to remote1:9996 the same WAN port. Its reply must reach lanhost1:
# TC egress sees the masqueraded packet leave with the flow's external address
# and drops the flow (flow_nat_collision).
udp_listen lanhost2 50008 "$T/h2c.udp" 30 || die "UDP listener on lanhost2:50008"
H2L=$BG_PID
echo "first-from-remote1" | lab_exec remote1 timeout 5 socat -u - "UDP4-SENDTO:$WAN:50008,sourceport=9996" ||
	fail "remote1:9996 -> WAN:50008 sent"
wait_for 3 file_is "$T/h2c.udp" "first-from-remote1"
assert_eq "first-from-remote1" "$(cat "$T/h2c.udp")" "collision: ptrig flow remote1:9996 -> lanhost2:50008 works"
snap
assert_eq 1 "$(flows_to 50008)" "collision: one ptrig flow on 50008"
col0=$(gstat flow_nat_collision)
udp_listen remote1 9996 "$T/r1c.udp" 15 || die "UDP listener on remote1:9996"
R1L=$BG_PID
bg_run lanhost1 10 sh -c "(echo ping-from-lanhost1; sleep 8) |
	socat - 'UDP4:$R1:9996,sourceport=50008' >'$T/h1c.udp'"
H1S=$BG_PID
wait_for 3 file_is "$T/r1c.udp" "ping-from-lanhost1"
assert_eq "ping-from-lanhost1" "$(cat "$T/r1c.udp")" "collision: lanhost1:50008 -> remote1:9996 delivered"
bg_stop "$R1L"
assert_eq 50008 "$(reply_dport udp 50008)" "collision: masquerade gave lanhost1 WAN port 50008 too"
echo "pong-for-lanhost1" | lab_exec remote1 timeout 5 socat -u - "UDP4-SENDTO:$WAN:50008,sourceport=9996" ||
	fail "remote1:9996 -> WAN:50008 reply sent"
wait_for 3 file_is "$T/h1c.udp" "pong-for-lanhost1"
bg_stop "$H1S"
bg_stop "$H2L"
assert_eq "pong-for-lanhost1" "$(cat "$T/h1c.udp")" "collision: the reply reached lanhost1 (the tracked connection)"
assert_eq "first-from-remote1" "$(cat "$T/h2c.udp")" "collision: lanhost2 got nothing more"
snap
assert_gt "$(gstat flow_nat_collision)" "${col0:-0}" "collision: counted as flow_nat_collision"
assert_eq 0 "$(flows_to 50008)" "collision: the ptrig flow on 50008 is gone"

e2e_finish
