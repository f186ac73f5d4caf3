#!/usr/bin/env bash
# The agent follows a rename of the interface it manages:
#   1. started for wan0, a trigger open; wan0 is renamed wanx (same device,
#      same ifindex): the agent logs the rename, attaches under the new name
#      within 2 s (same ifindex), the pins move to wanx with the trigger,
#      and the metrics name wanx;
#   2. an inbound connection through wanx reaches the trigger's owner;
#   3. a new device named wan0 appears: the agent leaves it alone (no
#      programs on it, no failed attach), `status wan0` says it is not
#      attached there.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl
WANX_PINS=$("$PL" --netns "$LAB_ROUTER" pindir wanx) || die "pindir wanx"
lab_on_down rm -rf -- "$WANX_PINS"
lab_on_down "$PL" --netns "$LAB_ROUTER" detach wanx

printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"

wanx_status() { ptrig status wanx --json 2>/dev/null; }
wanx_attached() { wanx_status | jq -e '.interfaces[0].programs.xdp > 0' >/dev/null; }

# ---- 1. rename ------------------------------------------------------------------------
agent_start -c "$T/ptrig.conf" wan0
wait_for 5 xdp_attached || {
	cat "$T/agent.log"
	die "the agent attached to wan0"
}
pass "the agent attached to wan0"
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"
IFINDEX=$(ifindex_of router wan0)
T0=$(date +%s%N)
if ! { lab_exec router ip link set wan0 down && lab_exec router ip link set wan0 name wanx &&
	lab_exec router ip link set wanx up &&
	lab_exec router ip route add default via "$LAB_UPSTREAM_GW"; }; then
	die "rename wan0 -> wanx"
fi
followed() { grep -q "wanx: attached (ifindex $IFINDEX)" "$T/agent.log"; }
wait_for 2 followed
MS=$(ms_since "$T0")
if followed && grep -q "wan0 was renamed to wanx; following it" "$T/agent.log"; then
	pass "the agent follows the rename: wanx attached (same ifindex $IFINDEX) within 2 s (${MS} ms)"
else
	sed 's/^/    agent: /' "$T/agent.log"
	fail "the agent follows the rename to wanx"
fi
assert_eq "$WANX_PINS" "$(wanx_status | jq -r '.interfaces[0].pin_dir')" "the pins moved to wanx"
assert_eq "$LAB_LANHOST1_IP" "$(wanx_status | jq -r '.interfaces[0].triggers[] | select(.rule == "irc") | .owner')" \
	"the trigger moved with them (owner lanhost1)"
check "ptrig's programs run on wanx" wanx_attached
assert_eq 1 "$(metric 'ptrig_interface_attached{interface="wanx"}')" "metrics: wanx attached"
assert_eq "" "$(metric 'ptrig_interface_attached{interface="wan0"}')" "metrics: wan0 no longer listed"

# ---- 2. traffic through the renamed device --------------------------------------------
check "inbound remote1 -> $WAN:113 -> lanhost1 through wanx (64 KiB, sha256)" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 65536

# ---- 3. a new wan0 --------------------------------------------------------------------
if ! { ip link add wan0 netns "$LAB_ROUTER" type veth peer name wan0p netns "$LAB_ROUTER" &&
	lab_exec router ip link set wan0 up; }; then
	die "a new wan0"
fi
sleep 1
new_wan0_has_progs() {
	lab_exec router bpftool -j net show dev wan0 | jq -e '.[0] | (.xdp | length) + (.tc | length) > 0' >/dev/null
}
status_wan0() { ptrig status wan0 >/dev/null 2>&1; }
check_not "the agent left the new wan0 alone (no programs)" new_wan0_has_progs
check_not "no failed attach in the agent's log" grep -q "attach failed" "$T/agent.log"
check_not "status wan0: ptrig is not attached there" status_wan0
check "the agent is still running" kill -0 "$AGENT_PID"
e2e_finish
