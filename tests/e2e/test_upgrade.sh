#!/usr/bin/env bash
# End-to-end: upgrade in place without loss (README "attach IFACE again";
# issue scenario 8). While an inbound TCP transfer remote1 -> WAN:113 ->
# lanhost1 is in progress (part 1 sent, a 3 s pause, then part 2), run
# `ptrig-load attach wan0 -c SAME_FILE` again:
#   - it exits 0, says "upgraded", and status shows new program ids;
#   - the transfer completes intact (sha256): part 2 went through the new
#     programs using the flow entry kept in the pinned maps;
#   - the trigger and the flow are still listed (same owner) afterwards, and
#     a new inbound connection still works.
# Env: LAB_PREFIX (default ptl-), PTRIG_PIN_ROOT (default /sys/fs/bpf/ptrig).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export PTRIG_PIN_ROOT=${PTRIG_PIN_ROOT:-/sys/fs/bpf/ptrig}
PIN_DIR=$PTRIG_PIN_ROOT/wan0
PART=$((2 * 1024 * 1024))

ptrig() { "$PTRIG_LOAD" --netns "$LAB_ROUTER" "$@"; }
jstatus() { ptrig status wan0 --json | jq -r "$1"; }
jtrue() { ptrig status wan0 --json 2>/dev/null | jq -e "$1" >/dev/null; }
# net_progs: what bpftool sees on wan0, e.g. "xdp 12 ingress 15 egress 14".
net_progs() {
	lab_exec router bpftool net show dev wan0 2>/dev/null | awk '
		/ driver id | generic id / { printf "%sxdp %s", sep, $NF; sep = " " }
		/clsact\/ingress/ { printf "%singress %s", sep, $NF; sep = " " }
		/clsact\/egress/ { printf "%segress %s", sep, $NF; sep = " " }'
}
progs() { jstatus '.interfaces[0].programs | "\(.xdp) \(.tc_egress) \(.tc_ingress)"'; }

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

P1=$(progs)
note "programs before: xdp/tc_egress/tc_ingress = $P1"

# ---- the transfer: part 1, 3 s pause, part 2 ------------------------------------------
rand_payload "$T/p1" "$PART"
rand_payload "$T/p2" "$PART"
cat "$T/p1" "$T/p2" >"$T/all.in"
tcp_listen lanhost1 113 "$T/all.out" 30 || die "no listener on lanhost1:113"
L_PID=$BG_PID
bg_run remote1 30 sh -c "{ cat '$T/p1'; sleep 3; cat '$T/p2'; } |
	socat -u - TCP4:$WAN:113,connect-timeout=3"
S_PID=$BG_PID
check "part 1 (2 MiB) arrived before the upgrade" wait_for 5 size_at_least "$T/all.out" "$PART"

# ---- upgrade mid-transfer --------------------------------------------------------------
OUT=$(ptrig attach wan0 -c "$T/ptrig.conf" 2>&1)
rc=$?
note "attach again: $(head -1 <<<"$OUT")"
assert_eq 0 "$rc" "attach again (upgrade) exits 0"
assert_match 'upgraded' "$OUT" "attach again says \"upgraded\""
check "the upgrade happened mid-transfer (sender still running, part 2 not all in)" \
	eval "kill -0 $S_PID && [ \$(file_size '$T/all.out') -lt $((2 * PART)) ]"
P2=$(progs)
note "programs after: xdp/tc_egress/tc_ingress = $P2"
read -r x1 e1 i1 <<<"$P1"
read -r x2 e2 i2 <<<"$P2"
assert_ne "$x1" "$x2" "status: XDP program id changed ($x1 -> $x2)"
assert_ne "$e1" "$e2" "status: TC egress program id changed ($e1 -> $e2)"
assert_ne "$i1" "$i2" "status: TC ingress program id changed ($i1 -> $i2)"
# Exactly the new programs on wan0, nothing of the old ones left behind.
assert_eq "xdp $x2 ingress $i2 egress $e2" "$(net_progs)" \
	"bpftool net show dev wan0: only the new programs are attached"

# ---- the transfer completes --------------------------------------------------------------
bg_wait "$S_PID" 15
assert_eq 0 $? "sender finished (exit 0)"
bg_wait "$L_PID" 10 >/dev/null
# Right away: a closed TCP flow stays listed only for its 10 s closing timeout.
FLOWS=$(ptrig flows wan0 --json)
assert_file_sha256_eq "$T/all.in" "$T/all.out" "4 MiB across the upgrade arrived intact (sha256)"

assert_eq "irc $H1 $WAN" \
	"$(jstatus '.interfaces[0].triggers[] | select(.rule == "irc") | "\(.rule) \(.owner) \(.external)"')" \
	"after the upgrade: trigger still listed, same owner"
assert_eq "irc tcp $R1 113 $H1" \
	"$(jq -r '.flows[] | select(.external_port == 113) | "\(.rule) \(.proto) \(.remote) \(.external_port) \(.owner)"' <<<"$FLOWS")" \
	"after the upgrade: the flow still listed, same owner"
check "after the upgrade: a new inbound connection works (256 KiB intact)" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144
assert_eq 0 "$(jstatus '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
