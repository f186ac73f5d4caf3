#!/usr/bin/env bash
# The agent with exactly the DaemonSet's privileges, in the lab: the
# capability set of deploy/kubernetes/daemonset.yaml as its bounding set
# (setpriv), the router's network namespace as its host network (nsenter, like
# hostNetwork), a read-only root filesystem and a read-only rules directory
# (a private mount namespace), bpffs writable (the hostPath):
#   1. it attaches, a trigger opens and an inbound connection reaches the LAN
#      host; restarted (an upgrade in place), it works again;
#   2. without any one of those capabilities it exits 1 at once, naming the
#      capability and why it is needed, and changes nothing;
#   3. the kernel agrees (the one-shot `attach`, which does not check): an
#      upgrade without CAP_SYS_ADMIN cannot recognise ptrig's own XDP
#      program, and without CAP_NET_ADMIN nothing can be attached.
# No container runtime: this runs the host's ptrig-load, not an image.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl setpriv nsenter unshare

DS=$E2E_ROOT/deploy/kubernetes/daemonset.yaml
CAPS=$(sed -n 's/^ *add: \[\(.*\)\]$/\1/p' "$DS" | tr -d '" ' | tr ',' ' ')
[ -n "$CAPS" ] || die "no capability list (add: [...]) in $DS"
note "DaemonSet capabilities: $CAPS"
bounding() { # CAP...: setpriv's --bounding-set for exactly these
	local c s=-all
	for c in "$@"; do s+=",+$(echo "$c" | tr 'A-Z' 'a-z')"; done
	echo "$s"
}

mkdir -p "$T/rules"
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/rules/ptrig.conf"

# run_pod CAP...: the agent as the DaemonSet runs it, with these capabilities,
# in the background (sets AGENT_PID; output in $T/pod.log).
run_pod() {
	local bset
	bset=$(bounding "$@")
	: >"$T/pod.log"
	unshare -m --propagation private sh -c '
		mount -o remount,bind,ro / &&
		mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
		exec nsenter --net="/run/netns/$2" setpriv --inh-caps=-all --bounding-set="$3" -- \
			"$4" run -c "$1/ptrig.conf" --metrics "127.0.0.1:$5" wan0' \
		pod "$T/rules" "$LAB_ROUTER" "$bset" "$PL" "$AGENT_PORT" >>"$T/pod.log" 2>&1 &
	AGENT_PID=$!
	E2E_BG_PIDS+=("$AGENT_PID")
}
pod_ready() { [ "$(lab_exec router curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AGENT_PORT/readyz")" = 200 ]; }

# ---- 1. exactly the DaemonSet's capabilities ------------------------------------------
# shellcheck disable=SC2086 # one word per capability
run_pod $CAPS
wait_for 5 pod_ready || {
	cat "$T/pod.log"
	die "the agent is ready with only $CAPS"
}
pass "the agent is ready with only $CAPS, read-only root and rules"
check "it could not write the root filesystem (the emulation holds)" \
	grep -q 'Read-only file system' <<<"$(nsenter --mount=/proc/$AGENT_PID/ns/mnt touch /ptrig-ro-test 2>&1)"
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"
check "inbound remote1 -> $WAN:113 reaches lanhost1 (1 MiB, sha256)" xfer_tcp remote1 lanhost1 "$WAN" 113 1048576
agent_kill TERM
assert_eq 0 "$AGENT_RC" "SIGTERM: exit 0"
# shellcheck disable=SC2086
run_pod $CAPS
wait_for 5 pod_ready || {
	cat "$T/pod.log"
	die "restarted with only $CAPS, the agent is ready"
}
pass "restarted with only $CAPS, the agent is ready"
check "... it upgraded in place" grep -q 'upgraded on wan0' "$T/pod.log"
check "... and an inbound connection works again" xfer_tcp remote1 lanhost1 "$WAN" 113 65536
agent_kill TERM

# ---- 2. one capability less -------------------------------------------------------------------
PROGS=$(net_progs)
for drop in $CAPS; do
	rest=$(echo "$CAPS" | tr ' ' '\n' | grep -vx "$drop" | xargs)
	# shellcheck disable=SC2086
	run_pod $rest
	{ bg_wait "$AGENT_PID" 5; } 2>/dev/null
	rc=$?
	AGENT_PID=
	assert_eq 1 "$rc" "without CAP_$drop: the agent exits 1"
	check "without CAP_$drop: it says so: $(grep -m1 'missing capability' "$T/pod.log")" \
		grep -q "run: missing capability CAP_$drop, needed to " "$T/pod.log"
	assert_eq "$PROGS" "$(net_progs)" "without CAP_$drop: wan0's programs unchanged"
done

# ---- 3. what the kernel says -----------------------------------------------------------------
OUT=$(nsenter --net="/run/netns/$LAB_ROUTER" setpriv --inh-caps=-all \
	--bounding-set="$(bounding BPF PERFMON NET_ADMIN)" -- "$PL" attach wan0 -c "$T/rules/ptrig.conf" 2>&1)
assert_eq 1 $? "attach (upgrade) with BPF, PERFMON, NET_ADMIN but not SYS_ADMIN: exit 1"
assert_match "already has an XDP program \(id [0-9]+\) that is not ptrig's" "$OUT" \
	"... it cannot recognise ptrig's own program (BPF_PROG_GET_FD_BY_ID needs CAP_SYS_ADMIN)"
OUT=$(nsenter --net="/run/netns/$LAB_ROUTER" setpriv --inh-caps=-all \
	--bounding-set="$(bounding SYS_ADMIN)" -- "$PL" attach wan0 -c "$T/rules/ptrig.conf" 2>&1)
assert_eq 1 $? "attach with SYS_ADMIN but not NET_ADMIN: exit 1"
assert_match "Operation not permitted" "$OUT" "... the kernel refuses: $(grep -m1 'ptrig-load:' <<<"$OUT")"
assert_eq "$PROGS" "$(net_progs)" "wan0's programs unchanged by the failed attaches"
e2e_finish
