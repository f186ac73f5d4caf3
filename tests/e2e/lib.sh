#!/usr/bin/env bash
# Shared helpers for ptrig end-to-end tests. Source it from a test:
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_init                 # tmp dir, EXIT trap (lab down, kill, rm)
#   lab_up || die "lab up"
#   ... assert_eq / xfer_tcp / wait_for ...
#   e2e_finish               # prints the summary, exits 1 on any FAIL
#
# Output: one "PASS: ..." or "FAIL: ..." line per check. Every wait is bounded
# (wait_for polls at most N seconds; every background command runs under
# `timeout`). The lab (tools/lab.sh) is sourced here: $LAB_ROUTER is the
# router namespace, e.g. `$PTRIG_LOAD attach wan0 -c FILE --netns $LAB_ROUTER`.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) E2E_BUILD=$BUILD ;; *) E2E_BUILD=$E2E_ROOT/$BUILD ;; esac
PTRIG_LOAD=${PTRIG_LOAD:-$E2E_BUILD/ptrig-load}
RAWSEND= # set by build_rawsend

# shellcheck source-path=SCRIPTDIR source=../../tools/lab.sh
source "$E2E_ROOT/tools/lab.sh"

E2E_NAME=$(basename "${0:-e2e}" .sh)
E2E_PASSES=0
E2E_FAILS=0
E2E_BG_PIDS=()
E2E_TMP=

# ---- reporting -----------------------------------------------------------------

pass() {
	E2E_PASSES=$((E2E_PASSES + 1))
	echo "PASS: $*"
}

# fail MSG: record a failed check and go on (the test exits 1 at e2e_finish).
fail() {
	E2E_FAILS=$((E2E_FAILS + 1))
	echo "FAIL: $*"
}

# die MSG: a failure after which the test cannot go on.
die() {
	fail "$*"
	exit 1
}

note() { echo "  .. $*"; }

# check MSG CMD...: PASS if CMD succeeds, FAIL otherwise.
check() {
	local msg=$1
	shift
	if "$@"; then pass "$msg"; else fail "$msg"; fi
}

# check_not MSG CMD...: PASS if CMD fails.
check_not() {
	local msg=$1
	shift
	if "$@"; then fail "$msg"; else pass "$msg"; fi
}

# assert_eq EXPECTED ACTUAL MSG
assert_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3 (expected '$1', got '$2')"
	fi
}

assert_ne() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3 (got '$2', expected something else)"
	fi
}

# assert_gt A B MSG: integers, A > B.
assert_gt() {
	if [ "$1" -gt "$2" ] 2>/dev/null; then
		pass "$3"
	else
		fail "$3 (expected $1 > $2)"
	fi
}

# assert_match REGEX STRING MSG (extended regex, grep -E)
assert_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$1"; then
		pass "$3"
	else
		fail "$3 ('$2' does not match /$1/)"
	fi
}

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
	echo "$E2E_PASSES passed, $E2E_FAILS failed"
	[ "$E2E_FAILS" -eq 0 ] && exit 0
	exit 1
}

# ---- setup / cleanup -------------------------------------------------------------

# e2e_init: root check, tmp dir, cleanup trap. Call once, before lab_up.
e2e_init() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $E2E_NAME needs root" >&2
		exit 77
	fi
	E2E_TMP=$(mktemp -d "/tmp/ptrig-e2e.${E2E_NAME}.XXXXXX") || exit 1
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# e2e_cleanup: runs on every exit path (EXIT trap).
e2e_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${E2E_BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	lab_down
	[ -n "$E2E_TMP" ] && rm -rf -- "$E2E_TMP"
	exit "$rc"
}

# build_rawsend: compile tests/e2e/rawsend.c (packet crafter/sniffer) into
# the test's private tmp dir and set $RAWSEND. Private on purpose: a
# concurrent `make clean` must not pull the binary away mid-test.
build_rawsend() {
	RAWSEND=$E2E_TMP/rawsend
	${CC:-gcc} -O2 -g -std=gnu11 -Wall -Wextra -Werror \
		"$E2E_ROOT/tests/e2e/rawsend.c" -o "$RAWSEND"
}

# ---- waiting and background jobs ---------------------------------------------------

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1).
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# bg_run NODE SECONDS CMD...: run CMD in NODE's namespace in the background,
# killed after SECONDS at the latest. Sets BG_PID (the pid of `timeout`, which
# passes a kill on to CMD); cleanup kills it too.
bg_run() {
	local ns=$1 secs=$2
	shift 2
	ns=$(lab_ns "$ns") || return 2
	# ip netns exec execs, so $! is timeout's pid.
	ip netns exec "$ns" timeout "$secs" "$@" &
	BG_PID=$!
	E2E_BG_PIDS+=("$BG_PID")
}

# bg_stop PID: stop a bg job and reap it (quietly).
bg_stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bg_wait PID SECONDS: wait for a bg job to end by itself (bounded); returns
# its exit status, or 124 if it had to be killed.
bg_wait() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		bg_stop "$pid"
		return 124
	fi
	wait "$pid" 2>/dev/null
}

# listening NODE tcp|udp PORT: true once a socket is bound to PORT in NODE.
listening() {
	local opt=-Hltn
	[ "$2" = udp ] && opt=-Hlun
	[ -n "$(lab_exec "$1" ss "$opt" "sport = :$3" 2>/dev/null)" ]
}

# ---- payloads and transfers ----------------------------------------------------------

# rand_payload FILE BYTES: FILE gets BYTES random bytes.
rand_payload() {
	head -c "$2" /dev/urandom >"$1"
}

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

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
