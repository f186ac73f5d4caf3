#!/usr/bin/env bash
# End-to-end: detach leaves nothing behind (README "detach").
#   1. attach, trigger, an inbound connection works;
#   2. `detach wan0` exits 0; afterwards: no XDP or TC program on wan0
#      (bpftool net show), no pin directory, no clsact qdisc (ptrig created
#      it); a new inbound connection to the open port is not forwarded;
#   3. a clsact qdisc that existed before attach is left in place by detach
#      (only ptrig's own filters go).
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# bpf_on_wan0: any BPF program attached to wan0 (XDP, TC filters)?
bpf_on_wan0() { [ -n "$(net_progs)" ] || lab_exec router ip link show wan0 | grep -q xdp; }
# all_three: XDP, TC ingress and TC egress attached, one program each.
all_three() { [[ "$(net_progs)" =~ ^xdp\ [0-9]+\ ingress\ [0-9]+\ egress\ [0-9]+$ ]]; }
has_clsact() { lab_exec router tc qdisc show dev wan0 | grep -q clsact; }

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113
EOF

# ---- 1. working ---------------------------------------------------------------------
check_not "no clsact qdisc on wan0 before attach" has_clsact
ptrig_attach "$T/ptrig.conf"
check "attached: XDP, TC ingress and TC egress programs on wan0" all_three
check "attached: pins in $PIN_DIR" test -d "$PIN_DIR"
check "trigger open (owner $H1)" irc_trigger
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
check_not_forwarded "after detach" 113

# ---- 3. a clsact qdisc ptrig did not create stays ---------------------------------------
lab_exec router tc qdisc add dev wan0 clsact || die "tc qdisc add clsact"
check "attach again (over an existing clsact) exits 0" ptrig attach wan0 -c "$T/ptrig.conf"
check "trigger open again" irc_trigger
check "inbound again: 256 KiB intact" xfer_tcp remote1 lanhost1 "$WAN" 113 262144
check "detach again exits 0" ptrig detach wan0
check_not "after detach: no BPF program on wan0" bpf_on_wan0
check "after detach: the pre-existing clsact qdisc is still there" has_clsact
check_not "after detach: no pin directory $PIN_DIR" test -e "$PIN_DIR"
check_not_forwarded "after the second detach" 113

e2e_finish
