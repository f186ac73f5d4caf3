#!/usr/bin/env bash
# Helpers for the agent tests (`ptrig-load run` in the lab), on top of the
# end-to-end helpers (tests/e2e/lib.sh):
#
#   agent_start [RUN ARGS...]   start `ptrig-load --netns ROUTER run ...` in the
#                               background (AGENT_PID, log $T/agent.log), with
#                               --metrics 127.0.0.1:$AGENT_PORT
#   agent_wait_ready SECONDS    until /readyz answers 200
#   scrape [PATH]               GET http://127.0.0.1:$AGENT_PORT/PATH
#   metric NAME{LABELS}         one sample's value from a fresh scrape
#   wan_recreate                delete the router's wan0 and make a new one
#
# The metrics socket is opened in the host's namespace (before --netns), so
# the test scrapes it from here.

# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

AGENT_PID=
# A port per run, so runs with other LAB_PREFIXes do not collide.
AGENT_PORT=${AGENT_PORT:-$((19100 + $$ % 800))}

# agent_start ARGS...: the agent on the lab router; ARGS end with the
# interfaces. Kills a previous agent of this test first.
agent_start() {
	agent_kill
	"$PL" --netns "$LAB_ROUTER" run --metrics "127.0.0.1:$AGENT_PORT" "$@" \
		>>"$E2E_TMP/agent.log" 2>&1 &
	AGENT_PID=$!
	E2E_BG_PIDS+=("$AGENT_PID")
}

# agent_kill [SIGNAL]: stop the agent (default SIGTERM) and reap it; sets
# AGENT_RC to its exit status.
agent_kill() {
	AGENT_RC=
	[ -n "$AGENT_PID" ] || return 0
	kill "-${1:-TERM}" "$AGENT_PID" 2>/dev/null
	# (the braces keep bash's "Killed" job notice out of the log)
	{ bg_wait "$AGENT_PID" 10; } 2>/dev/null
	AGENT_RC=$?
	AGENT_PID=
}

scrape() { curl -s --max-time 5 "http://127.0.0.1:$AGENT_PORT/${1:-metrics}"; }

# http_code PATH: the status code of GET PATH.
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$AGENT_PORT/$1"
}

ready() { [ "$(http_code readyz)" = 200 ]; }

agent_wait_ready() { wait_for "$1" ready; }

# metric SAMPLE: the value of the sample written exactly SAMPLE (name and
# labels as the agent writes them), from a fresh scrape; empty if absent.
metric() {
	scrape | awk -v s="$1" '$1 == s { print $2; exit }'
}

# metric_in FILE SAMPLE: the same, from a saved scrape.
metric_in() {
	awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

# xdp_attached: status says XDP runs on wan0 (native or generic).
xdp_attached() {
	status_test '.interfaces[0].xdp_mode == "native" or .interfaces[0].xdp_mode == "generic"'
}

# wan_delete / wan_create: what a driver reload or a PPPoE reconnect does to
# ptrig: wan0 disappears, and its programs with it; a new wan0, with a new
# ifindex, comes up with the same MAC (the remotes' ARP caches stay right,
# as with a real NIC) and address.
WAN_MAC=
wan_delete() {
	WAN_MAC=$(lab_exec router cat "/sys/class/net/$LAB_WAN_IF/address")
	ip -n "$LAB_ROUTER" link del "$LAB_WAN_IF"
}

# wan_create_down: the new wan0 exists, addressed but administratively down,
# as pppd or networkd leave a device between creating and raising it. The
# agent attaches on the device's appearance, so a link raised afterwards
# never passes a packet that ptrig does not see.
wan_create_down() {
	ip link add "$LAB_WAN_IF" netns "$(lab_ns router)" type veth \
		peer name rtr netns "$(lab_ns wansw)" || return 1
	_lab_wire router "$LAB_WAN_IF" && _lab_wire wansw rtr || return 1
	lab_exec router ip link set "$LAB_WAN_IF" address "$WAN_MAC" || return 1
	lab_exec wansw ip link set rtr master br0 up || return 1
	lab_exec router ip addr add "$LAB_WAN_IP/24" dev "$LAB_WAN_IF"
}

# wan_up: raise the new wan0 and restore the route that went with the old one.
wan_up() {
	lab_exec router ip link set "$LAB_WAN_IF" up || return 1
	lab_exec router ip route add default via "$LAB_UPSTREAM_GW"
}

wan_create() { wan_create_down && wan_up; }

# ifindex_of NODE IFACE
ifindex_of() { lab_exec "$1" cat "/sys/class/net/$2/ifindex" 2>/dev/null; }

# ms_since NS: milliseconds since `date +%s%N` was NS.
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
