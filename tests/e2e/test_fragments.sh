#!/usr/bin/env bash
# End-to-end: fragmented UDP datagrams of a triggered flow, both directions,
# over the lab's 1500-byte links. Rule `game udp:27015 udp:27005`:
#   1. lanhost1 triggers (a datagram to remote1:27015);
#   2. remote1 (socket connected to WAN:27005) sends a 100-byte, then a
#      4,000-byte datagram; the large one leaves it as three fragments:
#      every fragment must reach the router DNATed for the router's
#      reassembly to put it together, and lanhost1 gets exactly those 4,000
#      bytes from remote1's real address;
#   3. lanhost1 answers each with a 4,000-byte datagram: the router's
#      reassembly and re-fragmentation send three fragments out of wan0,
#      each one must carry the WAN address, or remote1's connected socket
#      never sees the answer; remote1 gets exactly those 4,000 bytes;
#   4. ptrig counted the later fragments it translated, in and out.
# Without fragment translation, neither datagram arrives.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

OPEN_PORT=27005
SIZE=4000

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
game  udp:27015  udp:$OPEN_PORT
EOF
ptrig_attach "$T/ptrig.conf"

printf 'join' | lab_exec lanhost1 timeout 5 socat -u - "UDP4-SENDTO:$R1:27015"
wait_for 3 status_test '.interfaces[0].triggers | length > 0' || die "no trigger"
pass "trigger: lanhost1 -> remote1:27015 opened game"

frag_stat() { ptrig status "$LAB_WAN_IF" --json | jq -r ".interfaces[0].counters.$1 // 0"; }

# round N IN OUT: remote1 sends an IN-byte datagram to WAN:27005;
# lanhost1's one-shot server records it and its sender and answers OUT
# bytes.
round() {
	local n=$1 in=$2 out=$3 lp
	rand_payload "$T/in$n" "$in"
	rand_payload "$T/reply$n" "$out"
	rm -f "$T/got$n" "$T/peer$n" "$T/reply$n.out"
	# Bounds generous for a slow (emulated) guest; the usual run takes
	# well under a second per round. -t: UDP4-RECVFROM without fork reads
	# one datagram and then counts its side at EOF; socat then gives the
	# answer -t seconds (default 0.5) before it closes the pipe. Starting
	# echo, dd and cat takes longer than that under emulation (cat then
	# got EPIPE and the answer was never sent).
	bg_run lanhost1 30 socat -t 20 UDP4-RECVFROM:$OPEN_PORT,reuseaddr \
		SYSTEM:"echo \"\$SOCAT_PEERADDR:\$SOCAT_PEERPORT\" >$T/peer$n; dd bs=65536 count=1 of=$T/got$n 2>/dev/null; cat $T/reply$n"
	lp=$BG_PID
	wait_for 3 listening lanhost1 udp $OPEN_PORT || {
		fail "round $n: no server on lanhost1"
		return
	}
	bg_run remote1 25 socat -t 20 -b 65536 "OPEN:$T/in$n!!CREATE:$T/reply$n.out" \
		"UDP4-CONNECT:$WAN:$OPEN_PORT,sourceport=40002,reuseaddr"
	wait_for 20 size_at_least "$T/reply$n.out" "$out"
	bg_stop "$BG_PID"
	bg_wait "$lp" 3 >/dev/null
	assert_file_sha256_eq "$T/in$n" "$T/got$n" \
		"round $n: remote1's $in-byte datagram reached lanhost1, exact"
	assert_eq "$R1:40002" "$(cat "$T/peer$n" 2>/dev/null)" "round $n: lanhost1 saw the real sender"
	assert_file_sha256_eq "$T/reply$n" "$T/reply$n.out" \
		"round $n: lanhost1's $out-byte answer reached remote1's socket connected to $WAN:$OPEN_PORT, exact"
}

IN0=$(frag_stat frag_in_translated)
OUT0=$(frag_stat frag_out_translated)
# Round 1 alone shows the outbound direction (its question is small).
round 1 100 "$SIZE"
round 2 "$SIZE" "$SIZE"
# 4000 bytes of UDP = 4008 bytes of IP payload: three fragments (1480 +
# 1480 + 1048), two of them without ports, per datagram and direction.
assert_eq 2 $(($(frag_stat frag_in_translated) - IN0)) "later fragments DNATed in: 2 per datagram"
assert_eq 4 $(($(frag_stat frag_out_translated) - OUT0)) "later fragments SNATed out: 2 per datagram"
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
