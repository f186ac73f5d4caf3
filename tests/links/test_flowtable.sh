#!/usr/bin/env bash
# ptrig next to an nftables flowtable (the software fast path OpenWrt turns
# on by default; guest: nf_flow_table is a module). The router gets
#   flowtable ft { hook ingress priority 0; devices = { lan0, wan0 }; }
# and `ct state established flow add @ft` in a forward chain.
#   1. a trigger and an inbound connection carrying 16 MiB each way at once:
#      both arrive intact (sha256) while the router's conntrack shows the
#      connection [OFFLOAD]ed (the fast path carried it: XDP runs before the
#      flowtable's ingress hook, and the fast path transmits through the
#      WAN's TC egress, where ptrig rewrites the owner's replies);
#   2. the triggering (masqueraded) connection was offloaded too, and still
#      refreshes the trigger; ptrig counted no errors;
#   0. attach reads the flowtable and names it, without a warning: only
#      `flags offload` (the NIC forwarding by itself, past ptrig) is refused;
#      (No device here can hold `flags offload`: veth refuses it, Debian's
#      kernel has no netdevsim, whose driver would refuse it too. The unit
#      test tests/unit/test_flowtable.c covers the refusal with flowtables
#      built in memory.)
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MIB16=$((16 * 1024 * 1024))
e2e_init
e2e_ptrig_lab
lab_exec router nft -f - <<EOF2 || die "flowtable in the router"
table inet ptft {
	flowtable ft {
		hook ingress priority 0; devices = { $LAB_LAN_IF, $LAB_WAN_IF };
	}
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		ct state established flow add @ft
	}
}
EOF2
pass "router: flowtable ft on lan0 and wan0, established connections offloaded"
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
ptrig_attach "$T/ptrig.conf"
# attach read the flowtable from the kernel and found it fine.
assert_match "^ptrig: flowtable inet ptft ft on $LAB_WAN_IF: software fast path, which passes ptrig's hooks\$" \
	"$(cat "$E2E_TMP/attach.log")" "attach names the software flowtable on $LAB_WAN_IF"
if grep -Ei 'warn|error|offloads to hardware' "$E2E_TMP/attach.log"; then
	fail "attach: no warning about the software flowtable (see above)"
else
	pass "attach: no warning about the software flowtable"
fi

# A trigger connection that lasts, so it gets offloaded and keeps sending.
bg_run remote1 120 socat -u TCP4-LISTEN:6667,reuseaddr OPEN:/dev/null
wait_for 5 listening remote1 tcp 6667 || die "no IRC listener in remote1"
bg_run lanhost1 120 bash -c "for i in \$(seq 60); do echo PING \$i; sleep 1; done |
	socat -u - TCP4:$R1:6667,connect-timeout=5"
TRIG_PID=$BG_PID
wait_for 10 status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")" ||
	die "irc trigger (owner lanhost1)"
pass "irc trigger open (owner lanhost1)"

rand_payload "$T/r2l.in" "$MIB16"
rand_payload "$T/l2r.in" "$MIB16"
bg_run lanhost1 120 socat -t 30 TCP4-LISTEN:113,reuseaddr "OPEN:$T/l2r.in!!CREATE:$T/r2l.out"
L_PID=$BG_PID
wait_for 5 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
bg_run remote1 120 socat -t 30 "TCP4:$WAN:113,connect-timeout=5" "OPEN:$T/r2l.in!!CREATE:$T/l2r.out"
R_PID=$BG_PID
# While it runs: conntrack shows the inbound connection offloaded.
offloaded() {
	lab_exec router conntrack -L -p tcp --dport 113 2>/dev/null | grep -q "dst=$H1 .*\[OFFLOAD\]"
}
wait_for 30 offloaded
check "the inbound connection runs on the flowtable fast path ([OFFLOAD])" offloaded
# What the router tracked instead, for the failure's log.
offloaded || lab_exec router conntrack -L -p tcp 2>&1 | sed 's/^/    conntrack: /'
trig_offloaded() {
	lab_exec router conntrack -L -p tcp --dport 6667 2>/dev/null | grep -q "src=$H1 .*\[OFFLOAD\]"
}
check "the trigger connection is offloaded too" trig_offloaded
bg_wait "$R_PID" 120
assert_eq 0 $? "inbound: remote1 -> $WAN:113 finished"
bg_wait "$L_PID" 30
assert_file_sha256_eq "$T/r2l.in" "$T/r2l.out" "16 MiB remote1 -> lanhost1 intact (sha256)"
assert_file_sha256_eq "$T/l2r.in" "$T/l2r.out" "16 MiB lanhost1 -> remote1 intact (sha256)"
snap
assert_gt "$(rule_counter irc refreshes)" 0 "the offloaded trigger connection refreshed the trigger"
assert_gt "$(rule_counter irc bytes_out)" "$MIB16" "ptrig rewrote the owner's 16 MiB of replies"
assert_eq 0 "$(gstat errors)" "ptrig errors = 0"
bg_stop "$TRIG_PID"

e2e_finish
