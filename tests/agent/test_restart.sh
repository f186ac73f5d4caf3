#!/usr/bin/env bash
# Restarting the agent never interrupts traffic:
#   1. an inbound triggered connection and an outbound masqueraded one carry
#      data in chunks; the agent is killed with SIGKILL in the middle, and
#      started again: both connections deliver every byte, the restarted
#      agent upgrades in place (the trigger and the flow are kept) and a new
#      inbound connection works;
#   2. SIGTERM (default): exit 0, the datapath stays;
#   3. --detach-on-exit: SIGTERM detaches (no programs, no pins).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl

printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
agent_start -c "$T/ptrig.conf" wan0
agent_wait_ready 5 || {
	cat "$T/agent.log"
	die "the agent is ready"
}
pass "the agent is ready"
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"

# stream FROM DST_IP PORT IN: IN in 1000-byte chunks, one every 0.1 s, over
# one TCP connection (in the background; sets BG_PID).
stream() {
	bg_run "$1" 30 bash -c "for i in \$(seq 0 \$((\$(stat -c %s '$4') / 1000 - 1))); do
		dd if='$4' bs=1000 skip=\$i count=1 status=none; sleep 0.1
	done | socat -u - TCP4:$2:$3,connect-timeout=3"
}

# ---- 1. SIGKILL and restart under two live connections ------------------------------------
rand_payload "$T/in.in" 40000
rand_payload "$T/out.in" 40000
bg_run lanhost1 30 socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/in.out"
LI=$BG_PID
bg_run remote2 30 socat -u TCP4-LISTEN:8080,reuseaddr "CREATE:$T/out.out"
LO=$BG_PID
wait_for 3 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
wait_for 3 listening remote2 tcp 8080 || die "no listener on remote2:8080"
stream remote1 "$WAN" 113 "$T/in.in"
SI=$BG_PID
stream lanhost2 "$R2" 8080 "$T/out.in"
SO=$BG_PID
wait_for 3 size_at_least "$T/in.out" 5000 || die "the inbound connection carries data"
wait_for 3 size_at_least "$T/out.out" 5000 || die "the outbound connection carries data"
pass "inbound (remote1 -> $WAN:113) and outbound (lanhost2 -> remote2) connections carry data"
PROGS_BEFORE=$(net_progs)
agent_kill KILL
assert_eq 137 "$AGENT_RC" "SIGKILL: the agent died (137)"
assert_eq "$PROGS_BEFORE" "$(net_progs)" "the programs stayed on wan0 while no agent ran"
sleep 1
agent_start -c "$T/ptrig.conf" wan0
agent_wait_ready 5 || die "the restarted agent is ready"
pass "the restarted agent is ready"
check "it upgraded in place (pinned maps kept)" grep -q 'upgraded on wan0' "$T/agent.log"
assert_ne "$PROGS_BEFORE" "$(net_progs)" "new programs on wan0 ($(net_progs))"
bg_wait "$SI" 20
assert_eq 0 $? "the inbound sender finished"
bg_wait "$SO" 20
assert_eq 0 $? "the outbound sender finished"
bg_wait "$LI" 10 >/dev/null
bg_wait "$LO" 10 >/dev/null
assert_file_sha256_eq "$T/in.in" "$T/in.out" "inbound connection: every byte arrived across the restart"
assert_file_sha256_eq "$T/out.in" "$T/out.out" "outbound connection: every byte arrived across the restart"
check "the irc trigger was kept" status_test \
	".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
assert_eq 1 "$(status_jq '.interfaces[0].rules[0].counters.flows_opened')" \
	"the rule's counters were kept (flows_opened = 1)"
check "a new inbound connection works after the restart" xfer_tcp remote1 lanhost1 "$WAN" 113 65536

# ---- 2. SIGTERM leaves the datapath --------------------------------------------------------
agent_kill TERM
assert_eq 0 "$AGENT_RC" "SIGTERM: exit 0"
check "the datapath stays attached" xdp_attached
check "the log says so" grep -q 'stopped; the datapath stays attached' "$T/agent.log"

# ---- 3. --detach-on-exit -----------------------------------------------------------------------
agent_start -c "$T/ptrig.conf" --detach-on-exit wan0
agent_wait_ready 5 || die "the agent is ready (--detach-on-exit)"
agent_kill INT
assert_eq 0 "$AGENT_RC" "--detach-on-exit, SIGINT: exit 0"
assert_eq "" "$(net_progs)" "no programs left on wan0"
check_not "no pins left" test -e "$PIN_DIR"
e2e_finish
