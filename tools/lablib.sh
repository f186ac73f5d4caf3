#!/usr/bin/env bash
# shellcheck shell=bash
# The lab helpers that tests and tools share: the end-to-end and loader
# tests (through tests/e2e/lib.sh), the demo and the benchmarks source this.
#
#   source tools/lablib.sh
#   e2e_init                 # root check, tmp dir, EXIT trap (lab down,
#                            # background jobs killed, tmp and pins removed)
#   e2e_ptrig_lab            # private ptrig-load ($PL), private pin root,
#                            # lab up, detach registered for lab_down
#   ptrig attach wan0 ...    # ptrig-load in the lab router
#   bg_run NODE SECS CMD...; wait_for SECS listening NODE udp PORT; ...
#
# It sources tools/lab.sh (the namespaces) and tests/lib/check.sh (PASS/FAIL
# reporting; die uses it). Every wait is bounded (wait_for polls at most N
# seconds; every background command runs under `timeout`). The names keep
# their e2e_ prefix: the tests have always called them that.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) E2E_BUILD=$BUILD ;; *) E2E_BUILD=$E2E_ROOT/$BUILD ;; esac
PTRIG_LOAD=${PTRIG_LOAD:-$E2E_BUILD/ptrig-load}
# map_pin_name FIELD: the pinned name of a map (ptrig_flows_vN for flows), from
# the list make writes out from include/ptrig.h.
map_pin_name() { awk -v f="$1" '$1 == f { print $2 }' "$E2E_BUILD/ptrig-maps.txt"; }

# shellcheck source-path=SCRIPTDIR source=lab.sh
source "$E2E_ROOT/tools/lab.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib/check.sh
source "$E2E_ROOT/tests/lib/check.sh"

E2E_NAME=$(basename "${0:-e2e}" .sh)
E2E_BG_PIDS=()
E2E_TMP=
PL= # the private copy of ptrig-load (e2e_ptrig_lab)

# die MSG: a failure after which the test cannot go on.
die() {
	fail "$*"
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

# e2e_private_pins: export PTRIG_PIN_ROOT as a fresh directory of its own in
# bpffs, removed (with whatever was pinned in it) on exit. A test, demo or
# benchmark never uses the live pin root: on an edge box whose WAN interface
# is called wan0, /sys/fs/bpf/ptrig/wan0 is a running ptrig's state.
E2E_PIN_ROOT=
e2e_private_pins() {
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
	fi
	E2E_PIN_ROOT=$(mktemp -d "/sys/fs/bpf/ptrig-test-$E2E_NAME-XXXXXX") ||
		die "cannot create a private pin root in /sys/fs/bpf"
	export PTRIG_PIN_ROOT=$E2E_PIN_ROOT
}

# e2e_cleanup: runs on every exit path (EXIT trap).
e2e_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${E2E_BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	lab_down
	[ -n "$E2E_PIN_ROOT" ] && rm -rf -- "$E2E_PIN_ROOT"
	[ -n "$E2E_TMP" ] && rm -rf -- "$E2E_TMP"
	exit "$rc"
}

# e2e_need CMD...: die unless every CMD is installed.
e2e_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c missing (tools/install-deps.sh)"
	done
}

# e2e_lab: lab_up (die on failure), then set the names the tests use: T (the
# tmp dir), WAN (the router's WAN address), H1 H2 (lanhost1/2), R1 R2
# (remote1/2).
# shellcheck disable=SC2034 # used by the tests
e2e_lab() {
	lab_up || die "lab up"
	T=$E2E_TMP
	WAN=$(lab_wan_ip)
	H1=$(lab_ip lanhost1)
	H2=$(lab_ip lanhost2)
	R1=$(lab_ip remote1)
	R2=$(lab_ip remote2)
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

# sleep_until NS: sleep until `date +%s%N` reaches NS (at once if it has).
sleep_until() {
	local d=$(($1 - $(date +%s%N)))
	[ "$d" -gt 0 ] || return 0
	sleep "$(printf '%d.%09d' $((d / 1000000000)) $((d % 1000000000)))"
}

# listening NODE tcp|udp PORT: true once a socket is bound to PORT in NODE.
listening() {
	local opt=-Hltn
	[ "$2" = udp ] && opt=-Hlun
	[ -n "$(lab_exec "$1" ss "$opt" "sport = :$3" 2>/dev/null)" ]
}

# ---- ptrig in the lab ------------------------------------------------------------
# Env: LAB_PREFIX (default ptl-) lets runs side by side use their own
# namespaces; pins always go to a private root (e2e_private_pins).

# e2e_ptrig_lab: after e2e_init, for a test that attaches ptrig to the lab
# router's wan0: checks ptrig-load and jq, copies ptrig-load to $PL (private: a
# concurrent `make clean` must not pull it away mid-test), exports a private
# PTRIG_PIN_ROOT, sets PIN_DIR (wan0's pins), brings the lab up (e2e_lab)
# and registers the cleanup: detach, then remove the private pin root.
e2e_ptrig_lab() {
	[ -x "$PTRIG_LOAD" ] || die "$PTRIG_LOAD missing (run make)"
	e2e_need jq
	PL=$E2E_TMP/ptrig-load
	cp "$PTRIG_LOAD" "$PL" || die "copy $PTRIG_LOAD"
	e2e_private_pins
	e2e_lab
	# Pins are per network namespace: ask the loader where wan0's go.
	# shellcheck disable=SC2034 # used by the tests
	PIN_DIR=$("$PL" --netns "$LAB_ROUTER" pindir "$LAB_WAN_IF") || die "pindir"
	# After lab_up: it starts with a lab_down, which runs and clears the
	# hooks. The private pin root goes in e2e_cleanup.
	lab_on_down "$PL" --netns "$LAB_ROUTER" detach "$LAB_WAN_IF"
}

# ptrig ARGS...: ptrig-load ($PL once e2e_ptrig_lab made it) working in the
# lab router's namespace.
ptrig() { "${PL:-$PTRIG_LOAD}" --netns "$LAB_ROUTER" "$@"; }
