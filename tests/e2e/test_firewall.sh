#!/usr/bin/env bash
# End-to-end: firewall integration. The lab router's forward chain drops new connections
# unless they carry ptrig's mark bit. With ptrig attached and a trigger open:
#   1. an inbound connection is accepted (baseline);
#   2. without the mark rule, a new inbound connection is dropped by the
#      stateful firewall: connect fails within its 3 s timeout, nothing
#      reaches lanhost1, although ptrig did translate and mark it;
#   3. with the rule restored, a new inbound connection is accepted and its
#      data arrives intact;
#   and the interface counter "marked" grows at every step; status says the
#   mark travels in XDP metadata.
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

marked() { status_jq '.interfaces[0].counters.marked'; }

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113
EOF
ptrig_attach "$T/ptrig.conf"

# The trigger: lanhost1 -> remote1:6667.
check "trigger open (owner $H1)" irc_trigger

# ---- 1. baseline -----------------------------------------------------------------
check "mark rule present" lab_fw_mark_rule_present
M0=$(marked)
check "with the mark rule: inbound 256 KiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144
M1=$(marked)
assert_gt "$M1" "$M0" "counter marked grew with the accepted connection ($M0 -> $M1)"
assert_eq xdp-metadata "$(status_jq '.interfaces[0].mark_path')" "status: mark_path xdp-metadata"
check "status text: the mark is carried in XDP metadata" eval \
	"ptrig status $LAB_WAN_IF | grep -qx 'Firewall mark: carried in XDP metadata'"

# ---- 2. mark rule removed: dropped -------------------------------------------------------
lab_fw_mark_rule_del
check_not "mark rule removed" lab_fw_mark_rule_present
check_not_forwarded "without the mark rule" 113
M2=$(marked)
assert_gt "$M2" "$M1" "counter marked grew: ptrig translated and marked the dropped SYNs ($M1 -> $M2)"

# ---- 3. mark rule restored: accepted ---------------------------------------------------------
lab_fw_mark_rule_add
check "mark rule restored" lab_fw_mark_rule_present
check "with the mark rule restored: inbound 1 MiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 1048576
M3=$(marked)
assert_gt "$M3" "$M2" "counter marked grew with the accepted connection ($M2 -> $M3)"
assert_eq 0 "$(status_jq '.interfaces[0].counters.errors')" "status --json: errors = 0"

e2e_finish
