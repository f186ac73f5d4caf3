#!/usr/bin/env bash
# End-to-end: firewall integration (design notes 2, "Firewall integration";
# issue scenario 7). The lab router's forward chain drops new connections
# unless they carry ptrig's mark bit. With ptrig attached and a trigger open:
#   1. an inbound connection is accepted (baseline);
#   2. without the mark rule, a new inbound connection is dropped by the
#      stateful firewall: connect fails within its 3 s timeout, nothing
#      reaches lanhost1, although ptrig did translate and mark it;
#   3. with the rule restored, a new inbound connection is accepted and its
#      data arrives intact;
#   and the interface counter "marked" grows at every step.
# Env: LAB_PREFIX (default ptl-), PTRIG_PIN_ROOT (default /sys/fs/bpf/ptrig).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export PTRIG_PIN_ROOT=${PTRIG_PIN_ROOT:-/sys/fs/bpf/ptrig}
PIN_DIR=$PTRIG_PIN_ROOT/wan0

ptrig() { "$PTRIG_LOAD" --netns "$LAB_ROUTER" "$@"; }
jstatus() { ptrig status wan0 --json | jq -r "$1"; }
jtrue() { ptrig status wan0 --json 2>/dev/null | jq -e "$1" >/dev/null; }
marked() { jstatus '.interfaces[0].counters.marked'; }

e2e_init
[ -x "$PTRIG_LOAD" ] || die "$PTRIG_LOAD missing (run make)"
command -v jq >/dev/null || die "jq missing (tools/install-deps.sh)"
if [ -e "$PIN_DIR" ]; then
	note "removing stale pins in $PIN_DIR"
	rm -rf -- "$PIN_DIR"
fi
lab_up || die "lab up"
lab_on_down rmdir "$PTRIG_PIN_ROOT"
lab_on_down rm -rf -- "$PIN_DIR"
lab_on_down "$PTRIG_LOAD" --netns "$LAB_ROUTER" detach wan0

WAN=$(lab_wan_ip)
H1=$(lab_ip lanhost1)
R1=$(lab_ip remote1)
T=$E2E_TMP

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113
EOF
check "attach wan0 exits 0" ptrig attach wan0 -c "$T/ptrig.conf"

# The trigger: lanhost1 -> remote1:6667.
bg_run remote1 10 socat -u TCP4-LISTEN:6667,reuseaddr OPEN:/dev/null
IRC_PID=$BG_PID
wait_for 3 listening remote1 tcp 6667 || die "no IRC listener in remote1"
echo "NICK lanhost1" | lab_exec lanhost1 timeout 5 socat -u - "TCP4:$R1:6667,connect-timeout=3" ||
	die "trigger connection lanhost1 -> remote1:6667"
bg_wait "$IRC_PID" 5 >/dev/null
check "trigger open (owner $H1)" \
	wait_for 3 jtrue ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"

# ---- 1. baseline -----------------------------------------------------------------
check "mark rule present" lab_fw_mark_rule_present
M0=$(marked)
check "with the mark rule: inbound 256 KiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144
M1=$(marked)
assert_gt "$M1" "$M0" "counter marked grew with the accepted connection ($M0 -> $M1)"

# ---- 2. mark rule removed: dropped -------------------------------------------------------
lab_fw_mark_rule_del
check_not "mark rule removed" lab_fw_mark_rule_present
rand_payload "$T/drop.in" 65536
tcp_listen lanhost1 113 "$T/drop.out" 15 || die "no listener on lanhost1:113"
L_PID=$BG_PID
t0=$SECONDS
tcp_send remote1 "$WAN" 113 "$T/drop.in" 6 2>/dev/null
rc=$?
assert_ne 0 "$rc" "without the mark rule: connect to $WAN:113 fails (exit $rc)"
check "without the mark rule: it failed within 7 s" test $((SECONDS - t0)) -le 7
sleep 0.3
check_not "without the mark rule: lanhost1 received nothing" test -s "$T/drop.out"
check "without the mark rule: lanhost1's listener still waiting (never accepted)" kill -0 "$L_PID"
bg_stop "$L_PID"
M2=$(marked)
assert_gt "$M2" "$M1" "counter marked grew: ptrig translated and marked the dropped SYNs ($M1 -> $M2)"

# ---- 3. mark rule restored: accepted ---------------------------------------------------------
lab_fw_mark_rule_add
check "mark rule restored" lab_fw_mark_rule_present
check "with the mark rule restored: inbound 1 MiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 1048576
M3=$(marked)
assert_gt "$M3" "$M2" "counter marked grew with the accepted connection ($M2 -> $M3)"
assert_eq 0 "$(jstatus '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
