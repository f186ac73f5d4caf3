#!/usr/bin/env bash
# End-to-end: detach leaves nothing behind (README "detach"; issue scenario 9).
#   1. attach, trigger, an inbound connection works;
#   2. `detach wan0` exits 0; afterwards: no XDP or TC program on wan0
#      (bpftool net show), no pin directory, no clsact qdisc (ptrig created
#      it); a new inbound connection to the open port is not forwarded;
#   3. a clsact qdisc that existed before attach is left in place by detach
#      (only ptrig's own filters go).
# Env: LAB_PREFIX (default ptl-), PTRIG_PIN_ROOT (default /sys/fs/bpf/ptrig).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export PTRIG_PIN_ROOT=${PTRIG_PIN_ROOT:-/sys/fs/bpf/ptrig}
PIN_DIR=$PTRIG_PIN_ROOT/wan0

ptrig() { "$PTRIG_LOAD" --netns "$LAB_ROUTER" "$@"; }
jtrue() { ptrig status wan0 --json 2>/dev/null | jq -e "$1" >/dev/null; }
# net_progs: what bpftool sees on wan0, e.g. "xdp 12 ingress 15 egress 14".
net_progs() {
	lab_exec router bpftool net show dev wan0 2>/dev/null | awk '
		/ driver id | generic id / { printf "%sxdp %s", sep, $NF; sep = " " }
		/clsact\/ingress/ { printf "%singress %s", sep, $NF; sep = " " }
		/clsact\/egress/ { printf "%segress %s", sep, $NF; sep = " " }'
}
# bpf_on_wan0: any BPF program attached to wan0 (XDP, TC filters)?
bpf_on_wan0() { [ -n "$(net_progs)" ] || lab_exec router ip link show wan0 | grep -q xdp; }
# all_three: XDP, TC ingress and TC egress attached, one program each.
all_three() { [[ "$(net_progs)" =~ ^xdp\ [0-9]+\ ingress\ [0-9]+\ egress\ [0-9]+$ ]]; }
has_clsact() { lab_exec router tc qdisc show dev wan0 | grep -q clsact; }

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

# trigger: lanhost1 -> remote1:6667, then wait until status lists it.
trigger() {
	local lp
	bg_run remote1 10 socat -u TCP4-LISTEN:6667,reuseaddr OPEN:/dev/null
	lp=$BG_PID
	wait_for 3 listening remote1 tcp 6667 || {
		bg_stop "$lp"
		return 1
	}
	echo "NICK lanhost1" | lab_exec lanhost1 timeout 5 socat -u - "TCP4:$R1:6667,connect-timeout=3" || return 1
	bg_wait "$lp" 5 >/dev/null
	wait_for 3 jtrue ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
}

# not_forwarded LABEL: a new inbound connection to WAN:113 fails (bounded)
# and lanhost1's listener gets nothing.
not_forwarded() {
	local label=$1 lp rc t0
	rand_payload "$T/nf.in" 65536
	tcp_listen lanhost1 113 "$T/nf.out" 15 || {
		fail "$label: no listener on lanhost1:113"
		return
	}
	lp=$BG_PID
	t0=$SECONDS
	tcp_send remote1 "$WAN" 113 "$T/nf.in" 6 2>/dev/null
	rc=$?
	assert_ne 0 "$rc" "$label: connect to $WAN:113 fails (exit $rc)"
	check "$label: ... within 7 s" test $((SECONDS - t0)) -le 7
	sleep 0.3
	check_not "$label: lanhost1 received nothing" test -s "$T/nf.out"
	check "$label: lanhost1's listener never accepted" kill -0 "$lp"
	bg_stop "$lp"
}

# ---- 1. working ---------------------------------------------------------------------
check_not "no clsact qdisc on wan0 before attach" has_clsact
check "attach wan0 exits 0" ptrig attach wan0 -c "$T/ptrig.conf"
check "attached: XDP, TC ingress and TC egress programs on wan0" all_three
check "attached: pins in $PIN_DIR" test -d "$PIN_DIR"
check "trigger open (owner $H1)" trigger
check "inbound 256 KiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144

# ---- 2. detach ---------------------------------------------------------------------------
OUT=$(ptrig detach wan0 2>&1)
rc=$?
note "detach: $OUT"
assert_eq 0 "$rc" "detach wan0 exits 0"
assert_eq "" "$(net_progs)" "after detach: bpftool net show dev wan0 lists no XDP/TC program"
check_not "after detach: ip link shows no XDP on wan0" \
	eval 'lab_exec router ip link show wan0 | grep -q xdp'
check_not "after detach: no pin directory $PIN_DIR" test -e "$PIN_DIR"
check_not "after detach: no clsact qdisc on wan0 (ptrig had created it)" has_clsact
not_forwarded "after detach"

# ---- 3. a clsact qdisc ptrig did not create stays ---------------------------------------
lab_exec router tc qdisc add dev wan0 clsact || die "tc qdisc add clsact"
check "attach again (over an existing clsact) exits 0" ptrig attach wan0 -c "$T/ptrig.conf"
check "trigger open again" trigger
check "inbound again: 256 KiB intact" xfer_tcp remote1 lanhost1 "$WAN" 113 262144
check "detach again exits 0" ptrig detach wan0
check_not "after detach: no BPF program on wan0" bpf_on_wan0
check "after detach: the pre-existing clsact qdisc is still there" has_clsact
check_not "after detach: no pin directory $PIN_DIR" test -e "$PIN_DIR"
not_forwarded "after the second detach"

e2e_finish
