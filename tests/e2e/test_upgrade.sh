#!/usr/bin/env bash
# End-to-end: upgrade in place without loss (README "attach IFACE again").
# While an inbound TCP transfer remote1 -> WAN:113 ->
# lanhost1 is in progress (part 1 sent, then a pause until the upgrade is
# done, then part 2), run `ptrig-load attach wan0 -c SAME_FILE` again:
#   - it exits 0, says "upgraded", and status shows new program ids;
#   - the transfer completes intact (sha256): part 2 went through the new
#     programs using the flow entry kept in the pinned maps;
#   - the trigger and the flow are still listed (same owner) afterwards, and
#     a new inbound connection still works.
# Across map layouts: PTRIG_LOAD_BEFORE=OLD_PTRIG_LOAD (a ptrig-load of map
# layout 2) attaches first; the attach of this build then says it carried
# the flow over instead of "upgraded", and the trigger opens again with the
# owner's next trigger traffic (triggers are not carried across layouts).
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

PART=$((2 * 1024 * 1024))

progs() { status_jq '.interfaces[0].programs | "\(.xdp) \(.tc_egress) \(.tc_ingress)"'; }

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113
EOF
BEFORE=${PTRIG_LOAD_BEFORE:-}
if [ -n "$BEFORE" ]; then
	PL_NEW=$PL
	PL=$BEFORE
fi
ptrig_attach "$T/ptrig.conf"

# The trigger: lanhost1 -> remote1:6667.
check "trigger open (owner $H1)" irc_trigger

P1=$(progs)
note "programs before: xdp/tc_egress/tc_ingress = $P1"

# ---- the transfer: part 1, a pause until the upgrade, part 2 ----------------------------
rand_payload "$T/p1" "$PART"
rand_payload "$T/p2" "$PART"
cat "$T/p1" "$T/p2" >"$T/all.in"
tcp_listen lanhost1 113 "$T/all.out" 60 || die "no listener on lanhost1:113"
L_PID=$BG_PID
# Part 2 waits for the upgrade (at most 30 s), not a fixed time: under
# emulation on a loaded machine the attach alone can take longer than any
# fixed pause.
bg_run remote1 60 sh -c "{ cat '$T/p1'; i=0; while [ ! -e '$T/upgraded' ] && [ \$i -lt 300 ]; do
	sleep 0.1; i=\$((i + 1)); done; cat '$T/p2'; } |
	socat -u - TCP4:$WAN:113,connect-timeout=3"
S_PID=$BG_PID
check "part 1 (2 MiB) arrived before the upgrade" wait_for 20 size_at_least "$T/all.out" "$PART"

# ---- upgrade mid-transfer --------------------------------------------------------------
[ -n "$BEFORE" ] && PL=$PL_NEW
OUT=$(ptrig attach wan0 -c "$T/ptrig.conf" 2>&1)
rc=$?
note "attach again: $(head -1 <<<"$OUT")"
assert_eq 0 "$rc" "attach again (upgrade) exits 0"
if [ -n "$BEFORE" ]; then
	assert_match 'carried 1 established and 0 embryonic flow' "$OUT" \
		"attach across layouts carried the flow over"
else
	assert_match 'upgraded' "$OUT" "attach again says \"upgraded\""
fi
check "the upgrade happened mid-transfer (sender still running, part 2 not all in)" \
	eval "kill -0 $S_PID && [ \$(file_size '$T/all.out') -lt $((2 * PART)) ]"
touch "$T/upgraded" # part 2 goes through the new programs
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

[ -n "$BEFORE" ] && check "across layouts: the trigger opens again" irc_trigger
assert_eq "irc $H1 $WAN" \
	"$(status_jq '.interfaces[0].triggers[] | select(.rule == "irc") | "\(.rule) \(.owner) \(.external)"')" \
	"after the upgrade: trigger still listed, same owner"
assert_eq "irc tcp $R1 113 $H1" \
	"$(jq -r '.flows[] | select(.external_port == 113) | "\(.rule) \(.proto) \(.remote) \(.external_port) \(.owner)"' <<<"$FLOWS")" \
	"after the upgrade: the flow still listed, same owner"
check "after the upgrade: a new inbound connection works (256 KiB intact)" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
