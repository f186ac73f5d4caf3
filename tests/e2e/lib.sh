#!/usr/bin/env bash
# Shared helpers for ptrig end-to-end tests. Source it from a test:
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_init                 # tmp dir, EXIT trap (lab down, kill, rm)
#   e2e_lab                  # lab_up, sets T WAN H1 H2 R1 R2
#   ... assert_eq / xfer_tcp / wait_for ...
#   e2e_finish               # prints the summary, exits 1 on any FAIL
#
# A test of ptrig itself calls e2e_ptrig_lab instead of e2e_lab (loader and
# jq checks, private ptrig-load, stale pins removed, cleanup hooks), then
# `ptrig_attach FILE`; `ptrig ...` runs the loader on the lab router, and
# status_jq/status_test (live) or snap + rule_counter/gstat/... (snapshot)
# read its JSON. See "ptrig in the lab" below.
#
# Output: one "PASS: ..." or "FAIL: ..." line per check. Every wait is bounded
# (wait_for polls at most N seconds; every background command runs under
# `timeout`). Setup, cleanup, waiting, background jobs and `ptrig` come from
# tools/lablib.sh (shared with the demo and the benchmarks), which sources
# the lab (tools/lab.sh): $LAB_ROUTER is the router namespace, e.g.
# `$PTRIG_LOAD attach wan0 -c FILE --netns $LAB_ROUTER`.

# The lab helpers tests and tools share (setup, cleanup, waiting, background
# jobs, ptrig in the lab router): tools/lablib.sh.
# shellcheck source-path=SCRIPTDIR source=../../tools/lablib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lablib.sh"

RAWSEND= # set by build_rawsend
CONNHOLD= # set by build_connhold

# ---- reporting -----------------------------------------------------------------

sha256_of() { sha256sum "$1" 2>/dev/null | awk '{print $1}'; }

# assert_file_sha256_eq EXPECTED_FILE ACTUAL_FILE MSG
assert_file_sha256_eq() {
	local a b
	a=$(sha256_of "$1")
	b=$(sha256_of "$2")
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		pass "$3"
	else
		fail "$3 (sha256 $1=${a:-missing} $2=${b:-missing}, size $(stat -c %s "$2" 2>/dev/null || echo -))"
	fi
}

# e2e_finish: summary line (the format tests/run-all.sh picks up); exit
# status 1 if anything failed.
e2e_finish() {
	check_summary && exit 0
	exit 1
}

# ---- test tools ------------------------------------------------------------------

# build_rawsend: compile tests/e2e/rawsend.c (packet crafter/sniffer) into
# the test's private tmp dir and set $RAWSEND. Private on purpose: a
# concurrent `make clean` must not pull the binary away mid-test.
# shellcheck disable=SC2034 # used by the tests
build_rawsend() {
	RAWSEND=$E2E_TMP/rawsend
	build_tool rawsend
}

# build_connhold: the same for tests/e2e/connhold.c (many idle TCP
# connections, and an echo server for them); sets $CONNHOLD.
# shellcheck disable=SC2034 # used by the tests
build_connhold() {
	CONNHOLD=$E2E_TMP/connhold
	build_tool connhold
}

# hold_line IN_FD [SECONDS] [CMD OUT_FD]: with CMD, send it to a connhold
# first (on OUT_FD); print the next line it writes on IN_FD (empty after
# SECONDS, default 30).
hold_line() {
	local line=
	[ $# -ge 4 ] && echo "$3" >&"$4"
	read -r -t "${2:-30}" line <&"$1"
	printf '%s\n' "$line"
}

# build_tool NAME: compile tests/e2e/NAME.c into $E2E_TMP/NAME.
build_tool() {
	${CC:-gcc} -O2 -g -std=gnu11 -Wall -Wextra -Werror \
		"$E2E_ROOT/tests/e2e/$1.c" -o "$E2E_TMP/$1"
}

# ---- payloads and transfers ----------------------------------------------------------

# rand_payload FILE BYTES: FILE gets BYTES random bytes.
rand_payload() {
	head -c "$2" /dev/urandom >"$1"
}

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# file_is FILE STRING: FILE holds exactly STRING.
file_is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

# feed FD FILE: write FILE into the fifo open on FD, bounded (if its reader
# died, a full fifo would block the writer forever).
feed() { timeout 10 cat "$2" >&"$1"; }

# size_at_least FILE BYTES
size_at_least() { [ "$(file_size "$1")" -ge "$2" ]; }

# tcp_listen NODE PORT OUTFILE [SECONDS]: one-shot TCP listener in NODE that
# writes what it receives to OUTFILE; returns once it listens. Sets BG_PID.
tcp_listen() {
	local node=$1 port=$2 out=$3 secs=${4:-10}
	rm -f "$out"
	bg_run "$node" "$secs" socat -u "TCP4-LISTEN:$port,reuseaddr" "OPEN:$out,creat,trunc"
	wait_for 3 listening "$node" tcp "$port"
}

# udp_listen NODE PORT OUTFILE [SECONDS]: UDP receiver in NODE appending every
# datagram's payload to OUTFILE until killed/timeout. Sets BG_PID.
udp_listen() {
	local node=$1 port=$2 out=$3 secs=${4:-10}
	rm -f "$out"
	: >"$out"
	bg_run "$node" "$secs" socat -u "UDP4-RECV:$port,reuseaddr" "OPEN:$out,creat,append"
	wait_for 3 listening "$node" udp "$port"
}

# tcp_send NODE DST_IP PORT FILE [SECONDS] [SRC_PORT]: send FILE over one TCP
# connection.
tcp_send() {
	local node=$1 ip=$2 port=$3 file=$4 secs=${5:-10} sp=${6:-}
	lab_exec "$node" timeout "$secs" socat -u "OPEN:$file" \
		"TCP4:$ip:$port,connect-timeout=3${sp:+,sourceport=$sp,reuseaddr}"
}

# udp_send NODE DST_IP PORT FILE [SRC_PORT]: send FILE as UDP datagrams of at
# most 1400 bytes (no IP fragments: ptrig leaves fragments alone on purpose).
udp_send() {
	local node=$1 ip=$2 port=$3 file=$4 sp=${5:-}
	lab_exec "$node" timeout 10 socat -u -b 1400 "OPEN:$file" \
		"UDP4-SENDTO:$ip:$port${sp:+,sourceport=$sp}"
}

# xfer_tcp FROM TO DST_IP PORT BYTES [SECONDS]: random BYTES from node FROM to
# DST_IP:PORT, received by a listener in node TO (DST_IP may be the router's
# WAN address when the router forwards it). 0 if the sha256 matches.
xfer_tcp() {
	local from=$1 to=$2 ip=$3 port=$4 bytes=$5 secs=${6:-10}
	local in=$E2E_TMP/xfer.$port.in out=$E2E_TMP/xfer.$port.out lpid
	rand_payload "$in" "$bytes"
	tcp_listen "$to" "$port" "$out" "$secs" || {
		note "xfer_tcp: no listener on $to:$port"
		bg_stop "$BG_PID"
		return 1
	}
	lpid=$BG_PID
	if ! tcp_send "$from" "$ip" "$port" "$in" "$secs"; then
		note "xfer_tcp: sending $from -> $ip:$port failed"
		bg_stop "$lpid"
		return 1
	fi
	bg_wait "$lpid" "$secs" >/dev/null
	[ "$(sha256_of "$in")" = "$(sha256_of "$out")" ] || {
		note "xfer_tcp: $from -> $ip:$port: got $(file_size "$out") of $bytes bytes / wrong content"
		return 1
	}
}

# xfer_udp FROM TO DST_IP PORT BYTES [SRC_PORT]: like xfer_tcp, over UDP
# (BYTES <= 1400 is one datagram; the veth path does not reorder or drop).
xfer_udp() {
	local from=$1 to=$2 ip=$3 port=$4 bytes=$5 sp=${6:-}
	local in=$E2E_TMP/xferu.$port.in out=$E2E_TMP/xferu.$port.out lpid
	rand_payload "$in" "$bytes"
	udp_listen "$to" "$port" "$out" 15 || {
		note "xfer_udp: no listener on $to:$port"
		bg_stop "$BG_PID"
		return 1
	}
	lpid=$BG_PID
	udp_send "$from" "$ip" "$port" "$in" "$sp" || {
		bg_stop "$lpid"
		return 1
	}
	wait_for 3 size_at_least "$out" "$bytes"
	bg_stop "$lpid"
	[ "$(sha256_of "$in")" = "$(sha256_of "$out")" ] || {
		note "xfer_udp: $from -> $ip:$port: got $(file_size "$out") of $bytes bytes / wrong content"
		return 1
	}
}

# csum_errors NODE udp|tcp: the node's Udp/Tcp InCsumErrors counter.
csum_errors() {
	case "$2" in
	udp) lab_snmp "$1" Udp InCsumErrors ;;
	tcp) lab_snmp "$1" Tcp InCsumErrors ;;
	esac
}

# ---- ptrig in the lab ------------------------------------------------------------

# ptrig_attach FILE [MSG]: attach ptrig to wan0 with the rules in FILE; PASS
# MSG (default "attach wan0 exits 0"), or print the loader's output and die.
ptrig_attach() {
	local msg=${2:-attach $LAB_WAN_IF exits 0} log=$E2E_TMP/attach.log
	if ptrig attach "$LAB_WAN_IF" -c "$1" ${LAB_XDP_MODE:+--xdp-mode "$LAB_XDP_MODE"} >"$log" 2>&1; then
		pass "$msg"
	else
		sed 's/^/    /' "$log"
		die "$msg"
	fi
}

# status_jq FILTER: jq -r FILTER over `status wan0 --json`, read now.
status_jq() { ptrig status "$LAB_WAN_IF" --json | jq -r "$1"; }

# status_test FILTER: the status JSON, read now, satisfies FILTER (jq -e; for
# wait_for and check).
status_test() { ptrig status "$LAB_WAN_IF" --json 2>/dev/null | jq -e "$1" >/dev/null; }

# json_test FILTER JSON: JSON satisfies FILTER.
json_test() { jq -e "$1" <<<"$2" >/dev/null; }

# net_progs: the programs bpftool sees on wan0, e.g. "xdp 12 ingress 15 egress 14".
net_progs() {
	lab_exec router bpftool net show dev "$LAB_WAN_IF" 2>/dev/null | awk '
		/ driver id | generic id / { printf "%sxdp %s", sep, $NF; sep = " " }
		/clsact\/ingress/ { printf "%singress %s", sep, $NF; sep = " " }
		/clsact\/egress/ { printf "%segress %s", sep, $NF; sep = " " }'
}

# conntrack_on NODE: NODE runs no firewall; an input-hook table makes its
# conntrack track connections, so it records where the replies it accepted
# came from.
conntrack_on() {
	lab_exec "$1" nft -f - <<EOF
table inet ptrig_e2e_ct {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established counter
	}
}
EOF
}

# irc_trigger: the trigger of a rule "irc tcp:6660-6669 ...": lanhost1 makes
# one complete connection to remote1:6667 (a one-shot listener there discards
# it); then waits (3 s at most) until status lists the irc trigger, owned by
# lanhost1. Notes the step that failed.
irc_trigger() {
	local lp
	bg_run remote1 10 socat -u TCP4-LISTEN:6667,reuseaddr OPEN:/dev/null
	lp=$BG_PID
	wait_for 3 listening remote1 tcp 6667 || {
		note "no IRC listener in remote1"
		bg_stop "$lp"
		return 1
	}
	echo "NICK lanhost1" | lab_exec lanhost1 timeout 5 socat -u - \
		"TCP4:$LAB_REMOTE1_IP:6667,connect-timeout=3" || {
		note "trigger connection lanhost1 -> remote1:6667 failed"
		bg_stop "$lp"
		return 1
	}
	bg_wait "$lp" 5 >/dev/null
	wait_for 3 status_test \
		".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$LAB_LANHOST1_IP\")"
}

# check_not_forwarded LABEL PORT: a new connection remote1 -> WAN:PORT fails
# (bounded: 7 s) and the listener on lanhost1:PORT gets nothing (4 checks).
check_not_forwarded() {
	local label=$1 port=$2 lp rc t0
	local in=$E2E_TMP/nf.$port.in out=$E2E_TMP/nf.$port.out
	rand_payload "$in" 65536
	tcp_listen lanhost1 "$port" "$out" 15 || {
		fail "$label: no listener on lanhost1:$port"
		bg_stop "$BG_PID"
		return
	}
	lp=$BG_PID
	t0=$SECONDS
	tcp_send remote1 "$LAB_WAN_IP" "$port" "$in" 6 2>/dev/null
	rc=$?
	assert_ne 0 "$rc" "$label: connect to $LAB_WAN_IP:$port fails (exit $rc)"
	check "$label: it failed within 7 s" test $((SECONDS - t0)) -le 7
	sleep 0.3
	check_not "$label: lanhost1 received nothing" test -s "$out"
	check "$label: lanhost1's listener never accepted" kill -0 "$lp"
	bg_stop "$lp"
}

# ---- status/flows snapshots ----------------------------------------------------------
# snap saves status and flows once; the helpers after it ask that snapshot
# (one read per step, taken after the step's time-critical traffic).

# snap: `status wan0 --json` into $E2E_TMP/status.json, `flows wan0 --json`
# into $E2E_TMP/flows.json.
snap() {
	ptrig status "$LAB_WAN_IF" --json >"$E2E_TMP/status.json"
	ptrig flows "$LAB_WAN_IF" --json >"$E2E_TMP/flows.json"
}

# rule_counter RULE NAME: rule RULE's counter NAME.
rule_counter() {
	jq -r --arg r "$1" --arg c "$2" \
		'.interfaces[0].rules[] | select(.name == $r) | .counters[$c]' "$E2E_TMP/status.json"
}

# gstat NAME: the interface's (global) counter NAME.
gstat() { jq -r --arg c "$1" '.interfaces[0].counters[$c]' "$E2E_TMP/status.json"; }

# trigger_owner RULE: the owners of RULE's active triggers ("" if none).
trigger_owner() {
	jq -r --arg r "$1" '[.interfaces[0].triggers[] | select(.rule == $r) | .owner] | join(" ")' \
		"$E2E_TMP/status.json"
}

# trigger_peers RULE: sorted "owner>peer" of RULE's active triggers.
trigger_peers() {
	jq -r --arg r "$1" '[.interfaces[0].triggers[] | select(.rule == $r) | "\(.owner)>\(.peer)"] | sort | join(" ")' \
		"$E2E_TMP/status.json"
}

# flows_to PORT: the number of flows on external port PORT.
flows_to() {
	jq -r --argjson p "$1" '[.flows[] | select(.external_port == $p)] | length' "$E2E_TMP/flows.json"
}

# flow_pairs RULE PORT [STATE]: sorted "remote>owner" of RULE's flows on
# external port PORT (only those in STATE, e.g. established: a closed TCP
# flow stays listed as "closing" for 10 s).
flow_pairs() {
	jq -r --arg r "$1" --argjson p "$2" --arg s "${3:-}" \
		'[.flows[] | select(.rule == $r and .external_port == $p and ($s == "" or .state == $s)) | "\(.remote)>\(.owner)"] | sort | join(" ")' \
		"$E2E_TMP/flows.json"
}
