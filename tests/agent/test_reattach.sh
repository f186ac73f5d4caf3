#!/usr/bin/env bash
# The agent keeps ptrig on interfaces that come and go:
#   1. started for wan0 and a wan1 that does not exist yet: wan0 is attached,
#      /readyz says 503 and why, /healthz 200;
#   2. a trigger and an inbound connection carrying data in chunks; wan0 is
#      deleted and recreated (new ifindex) in the middle of it: the agent
#      re-attaches within 2 s (measured), keeps the maps (trigger and flow
#      are still listed), the connection delivers every byte, and the
#      metrics count one re-attach;
#   3. a new trigger (lanhost2, another rule) works on the new wan0;
#   4. wan1 appears: attached within 2 s, /readyz 200; it goes away again:
#      /readyz 503, ptrig_interface_present 0;
#   5. with --ready-if-absent, a missing wan1 does not make /readyz fail;
#   6. link notifications lost (ENOBUFS) while wan0 was recreated: the agent
#      rescans and re-attaches it.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl
WAN1_PINS=$("$PL" --netns "$LAB_ROUTER" pindir wan1) || die "pindir wan1"
lab_on_down rm -rf -- "$WAN1_PINS"
lab_on_down "$PL" --netns "$LAB_ROUTER" detach wan1

printf '%s\n' "irc   tcp:6660-6669  tcp:113" "game  tcp:7000  tcp:7001" >"$T/ptrig.conf"

# wan1_attached: status says XDP runs on wan1.
wan1_attached() {
	ptrig status wan1 --json 2>/dev/null | jq -e '.interfaces[0].xdp_mode == "native"' >/dev/null
}

# ---- 1. start: wan0 present, wan1 missing ----------------------------------------
agent_start -c "$T/ptrig.conf" wan0 wan1
wait_for 5 xdp_attached || {
	cat "$T/agent.log"
	die "the agent attached to wan0"
}
pass "the agent attached to wan0"
wait_for 3 test "$(http_code healthz)" = 200
assert_eq 200 "$(http_code healthz)" "/healthz: 200"
assert_eq 503 "$(http_code readyz)" "/readyz: 503 while wan1 is missing"
assert_match "not ready: wan1: waiting for the interface" "$(scrape readyz)" "/readyz says why"
assert_eq 0 "$(metric 'ptrig_interface_present{interface="wan1"}')" "metrics: wan1 not present"
assert_eq 1 "$(metric 'ptrig_interface_attached{interface="wan0"}')" "metrics: wan0 attached"

# ---- 2. recreate wan0 under a live inbound connection ------------------------------
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"
CHUNKS=50
rand_payload "$T/stream.in" $((CHUNKS * 1000))
bg_run lanhost1 30 socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/stream.out"
L_PID=$BG_PID
wait_for 3 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
# One chunk every 0.1 s over one connection.
bg_run remote1 30 bash -c "for i in \$(seq 0 $((CHUNKS - 1))); do
	dd if='$T/stream.in' bs=1000 skip=\$i count=1 status=none; sleep 0.1
done | socat -u - TCP4:$WAN:113,connect-timeout=3"
S_PID=$BG_PID
wait_for 3 size_at_least "$T/stream.out" 5000 || die "the inbound connection carries data"
pass "inbound connection remote1 -> $WAN:113 -> lanhost1 carries data"
OLD_IFINDEX=$(ifindex_of router wan0)
wan_delete || die "delete wan0"
wait_for 3 test "$(metric 'ptrig_interface_present{interface="wan0"}')" = 0
assert_eq 0 "$(metric 'ptrig_interface_present{interface="wan0"}')" "metrics: wan0 gone"
T0=$(date +%s%N)
wan_create_down || die "recreate wan0"
# The agent logs "attached" once both XDP and TC are in place.
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c 'wan0: attached (ifindex' "$T/agent.log")" -ge 2 ] && xdp_attached && break
	sleep 0.02
done
MS=$(ms_since "$T0")
# Raised only now: a packet of the live connection that reached the router's
# own stack before ptrig was attached would be answered with a RST.
wan_up || die "raise the new wan0"
if xdp_attached; then
	note "re-attached ${MS} ms after the new wan0 was created (agent: $(grep -o 'wan0: attached (ifindex [0-9]*) in [0-9]* ms' "$T/agent.log" | tail -1))"
	check "re-attached within 2 s (${MS} ms)" test "$MS" -le 2000
else
	fail "re-attached after the recreate"
fi
assert_ne "$OLD_IFINDEX" "$(ifindex_of router wan0)" "the new wan0 has a new ifindex"
assert_eq 1 "$(metric 'ptrig_reattaches_total{interface="wan0"}')" "metrics: 1 re-attach of wan0"
check "the irc trigger survived (maps kept)" status_test \
	".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
check "the inbound flow is still listed" json_test \
	"[.flows[] | select(.external_port == 113 and .owner == \"$H1\")] | length == 1" \
	"$(ptrig flows wan0 --json)"
bg_wait "$S_PID" 20
assert_eq 0 $? "the sender finished"
bg_wait "$L_PID" 10 >/dev/null
assert_file_sha256_eq "$T/stream.in" "$T/stream.out" \
	"every byte of the connection arrived across the recreate (sha256)"

# ---- 3. a new trigger on the new wan0 -------------------------------------------------
bg_run remote2 10 socat -u TCP4-LISTEN:7000,reuseaddr OPEN:/dev/null
LP=$BG_PID
wait_for 3 listening remote2 tcp 7000 || die "no listener on remote2:7000"
echo hello | lab_exec lanhost2 timeout 5 socat -u - "TCP4:$R2:7000,connect-timeout=3"
assert_eq 0 $? "trigger lanhost2 -> remote2:7000 connected"
bg_wait "$LP" 5 >/dev/null
wait_for 3 status_test ".interfaces[0].triggers[] | select(.rule == \"game\" and .owner == \"$H2\")"
check "game trigger open, owner lanhost2" status_test \
	".interfaces[0].triggers[] | select(.rule == \"game\" and .owner == \"$H2\")"
check "remote2 -> $WAN:7001 reaches lanhost2 (64 KiB, sha256)" xfer_tcp remote2 lanhost2 "$WAN" 7001 65536

# ---- 4. wan1 appears, then goes away --------------------------------------------------
T0=$(date +%s%N)
lab_exec router ip link add wan1 type veth peer name wan1p || die "create wan1"
lab_exec router ip link set wan1 up
lab_exec router ip link set wan1p up
for ((i = 0; i < 100; i++)); do
	wan1_attached && break
	sleep 0.02
done
MS=$(ms_since "$T0")
check "wan1 attached after it appeared" wan1_attached
check "... within 2 s (${MS} ms)" test "$MS" -le 2000
wait_for 2 ready
assert_eq 200 "$(http_code readyz)" "/readyz: 200 with both attached"
check "wan1 has its own state (no triggers, wan0's irc trigger stays on wan0)" eval \
	'ptrig status wan1 --json | jq -e ".interfaces[0].triggers == []" >/dev/null &&
	status_test ".interfaces[0].triggers[] | select(.rule == \"irc\")"'
check "wan1 has its own pins" test -e "$WAN1_PINS/$(map_pin_name flows)"
assert_eq 0 "$(metric 'ptrig_reattaches_total{interface="wan1"}')" "metrics: wan1's first attach is no re-attach"
lab_exec router ip link del wan1
wait_for 3 test "$(http_code readyz)" = 503
assert_eq 503 "$(http_code readyz)" "/readyz: 503 again once wan1 is gone"
assert_eq 0 "$(metric 'ptrig_interface_present{interface="wan1"}')" "metrics: wan1 not present"

agent_kill TERM
assert_eq 0 "$AGENT_RC" "SIGTERM: the agent exits 0"
check "the datapath stays attached after the agent stopped" xdp_attached

# ---- 6. lost link notifications (ENOBUFS) ----------------------------------------------
# The agent is stopped (SIGSTOP) while a burst of link changes overflows its
# netlink socket and wan0 is recreated; on SIGCONT it reads ENOBUFS, so it
# cannot know what it missed, and must find the new wan0 by rescanning.
agent_start -c "$T/ptrig.conf" wan0
wait_for 5 ready || die "the agent is ready (ENOBUFS case)"
lab_exec router ip link add churn0 type veth peer name churn1 || die "churn link"
kill -STOP "$AGENT_PID"
wan_delete || die "delete wan0"
wan_create || die "recreate wan0"
for ((i = 0; i < 400; i++)); do
	echo "link set churn0 $([ $((i % 2)) = 0 ] && echo up || echo down)"
done | lab_exec router ip -batch - || die "link churn"
check_not "while the agent is stopped, nothing re-attached wan0" xdp_attached
kill -CONT "$AGENT_PID"
wait_for 3 xdp_attached
check "after the overflow, wan0 is re-attached" xdp_attached
check "the log says it rescanned" grep -q 'netlink overflow (ENOBUFS); rescanning' "$T/agent.log"
lab_exec router ip link del churn0
agent_kill TERM

# ---- 5. --ready-if-absent: a missing interface is the operator's choice ----------------
agent_start -c "$T/ptrig.conf" --ready-if-absent wan0 wan1
wait_for 5 ready
assert_eq 200 "$(http_code readyz)" "--ready-if-absent: /readyz 200 while wan1 is missing"
assert_eq 0 "$(metric 'ptrig_interface_present{interface="wan1"}')" "... and the metrics still say wan1 is missing"
agent_kill TERM
e2e_finish
