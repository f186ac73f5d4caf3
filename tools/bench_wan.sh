#!/usr/bin/env bash
# bench_wan.sh TYPE [MIB] [ROUNDS]: what ptrig costs on a WAN of link type
# TYPE (LAB_WAN_TYPE: ether vlan tun pppoe wg; the guest types under
# tools/vm.sh). Downloads of MIB MiB (default 32) remote1 -> lanhost1 over
# connections lanhost1 opens (masqueraded: every packet passes through
# ptrig's XDP and TC programs, none is translated), alternately without and
# with ptrig attached, ROUNDS times each (default 3); then the same size
# over a triggered inbound connection (every packet translated), alternating
# with the same inbound transfer through a static nftables port forward
# (DNAT in prerouting, ptrig detached): what the kernel's own NAT does with
# that connection on this WAN. Prints each run's kB/s and the ratios of the
# medians. Ratios within one run only: the
# absolute figures depend on the machine (and are TCG's in the guest).
# Not part of `make test`.
set -u
export LAB_WAN_TYPE=${1:?usage: bench_wan.sh TYPE [MIB] [ROUNDS]}
MIB=${2:-32}
ROUNDS=${3:-3}
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
source "$(dirname "$0")/../tests/e2e/lib.sh"
e2e_init
e2e_ptrig_lab
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
rand_payload "$T/blob" $((MIB * 1024 * 1024))

# download: kB/s of one transfer remote1:5001 -> lanhost1.
download() {
	local t0 t1 lp
	bg_run remote1 120 socat -u "OPEN:$T/blob" TCP4-LISTEN:5001,reuseaddr
	lp=$BG_PID
	wait_for 5 listening remote1 tcp 5001 || return 1
	t0=$(date +%s%N)
	lab_exec lanhost1 timeout 120 socat -u "TCP4:$R1:5001,connect-timeout=5" "CREATE:$T/got" || return 1
	t1=$(date +%s%N)
	bg_wait "$lp" 10 >/dev/null
	[ "$(file_size "$T/got")" = $((MIB * 1024 * 1024)) ] || return 1
	echo $((MIB * 1048576 * 1000000 / (t1 - t0)))
}
# inbound: kB/s of one triggered transfer remote1 -> WAN:113 -> lanhost1.
inbound() {
	local t0 t1 lp
	bg_run lanhost1 120 socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/got"
	lp=$BG_PID
	wait_for 5 listening lanhost1 tcp 113 || return 1
	t0=$(date +%s%N)
	lab_exec remote1 timeout 120 socat -u "OPEN:$T/blob" "TCP4:$WAN:113,connect-timeout=5" || return 1
	bg_wait "$lp" 30 >/dev/null
	t1=$(date +%s%N)
	[ "$(file_size "$T/got")" = $((MIB * 1024 * 1024)) ] || return 1
	echo $((MIB * 1048576 * 1000000 / (t1 - t0)))
}
# dnat_on / dnat_off: a port forward WAN:113 -> lanhost1:113 by nftables;
# the forward chain's mark rule lets it in (the mark set one step earlier).
dnat_on() {
	lab_exec router nft -f - <<EOF
add table ip ptbench
add chain ip ptbench pre { type nat hook prerouting priority dstnat; policy accept; }
add rule ip ptbench pre iifname "$LAB_WAN_IF" tcp dport 113 dnat to $H1
add chain ip ptbench markfwd { type filter hook forward priority filter - 1; policy accept; }
add rule ip ptbench markfwd ct status dnat meta mark set meta mark or $LAB_PTRIG_MARK
EOF
}
dnat_off() { lab_exec router nft delete table ip ptbench; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

off=() on=() in=()
for ((i = 0; i < ROUNDS; i++)); do
	ptrig detach "$LAB_WAN_IF" >/dev/null 2>&1
	off+=("$(download)")
	ptrig attach "$LAB_WAN_IF" -c "$T/ptrig.conf" ${LAB_XDP_MODE:+--xdp-mode "$LAB_XDP_MODE"} >/dev/null 2>&1 ||
		die "attach $LAB_WAN_IF"
	on+=("$(download)")
done
irc_trigger || die "irc trigger"
MODE=$(status_jq '.interfaces[0].xdp_mode')
nat=()
for ((i = 0; i < ROUNDS; i++)); do
	in+=("$(inbound)")
	ptrig detach "$LAB_WAN_IF" >/dev/null 2>&1
	dnat_on || die "nftables DNAT"
	nat+=("$(inbound)")
	dnat_off
	ptrig attach "$LAB_WAN_IF" -c "$T/ptrig.conf" ${LAB_XDP_MODE:+--xdp-mode "$LAB_XDP_MODE"} >/dev/null 2>&1 ||
		die "attach $LAB_WAN_IF"
	irc_trigger || die "irc trigger"
done
mo=$(printf '%s\n' "${off[@]}" | median)
mn=$(printf '%s\n' "${on[@]}" | median)
mi=$(printf '%s\n' "${in[@]}" | median)
md=$(printf '%s\n' "${nat[@]}" | median)
echo "wan $LAB_WAN_TYPE ($LAB_WAN_IF, XDP $MODE), $MIB MiB x $ROUNDS, kernel $(uname -r)"
echo "  download without ptrig   kB/s: ${off[*]} (median $mo)"
echo "  download with ptrig      kB/s: ${on[*]} (median $mn)"
echo "  triggered inbound        kB/s: ${in[*]} (median $mi)"
echo "  nftables DNAT inbound    kB/s: ${nat[*]} (median $md)"
awk -v a="$mn" -v b="$mo" -v c="$mi" -v d="$md" 'BEGIN {
	printf "  with/without ptrig: %.3f; translated/without: %.3f; ptrig inbound/nftables DNAT inbound: %.3f\n",
		a / b, c / b, c / d }'
pass "bench done"
e2e_finish
