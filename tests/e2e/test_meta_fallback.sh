#!/usr/bin/env bash
# End-to-end: the firewall mark without XDP metadata. Some drivers give
# native XDP no metadata room (bpf_xdp_adjust_meta fails), so the mark cannot
# travel from XDP to TC ingress in it. ptrig is attached here with the test
# knob PTRIG_TEST_NO_XDP_META=1, which takes exactly that path on the lab's
# veth. Then:
#   1. an inbound TCP connection through a trigger passes the lab router's
#      stateful firewall, its data intact; the counters say how:
#      xdp_meta_unsupported and marked_from_flow_table grow, marked (the
#      metadata path) stays 0; status says which path marks: unknown
#      before the first translated packet, flow-table after;
#   2. without the mark rule it is dropped (the mark is what lets it in);
#   3. the stranger, spoofing the remote end of a live unanswered UDP flow
#      (owner lanhost1), sends the same datagram straight to lanhost2, and
#      to lanhost1 from a port with no flow: the fallback marks neither, the
#      firewall drops both.
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

counter() { status_jq ".interfaces[0].counters.$1"; }

e2e_init
e2e_ptrig_lab
build_rawsend || die "build rawsend"

cat >"$T/ptrig.conf" <<EOF
irc   tcp:6660-6669  tcp:113
game  udp:27015      udp:27000
EOF
if PTRIG_TEST_NO_XDP_META=1 ptrig attach "$LAB_WAN_IF" -c "$T/ptrig.conf" >"$T/attach.log" 2>&1; then
	pass "attach wan0 with PTRIG_TEST_NO_XDP_META=1"
else
	sed 's/^/    /' "$T/attach.log"
	die "attach wan0 with PTRIG_TEST_NO_XDP_META=1"
fi
check "attach says the mark comes from the flow table" \
	grep -q "XDP metadata: off for tests; TC ingress marks from the flow table" "$T/attach.log"
check "trigger open (owner $H1)" irc_trigger

# ---- 1. marked without metadata -------------------------------------------------
check "mark rule present" lab_fw_mark_rule_present
assert_eq unknown "$(status_jq '.interfaces[0].mark_path')" \
	"status: the marking path of native XDP is not known before the first translated packet"
U0=$(counter xdp_meta_unsupported)
F0=$(counter marked_from_flow_table)
check "inbound 256 KiB remote1 -> $WAN:113 -> lanhost1 intact through the firewall" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144
U1=$(counter xdp_meta_unsupported)
F1=$(counter marked_from_flow_table)
assert_gt "$U1" "$U0" "counter xdp_meta_unsupported grew ($U0 -> $U1)"
assert_gt "$F1" "$F0" "counter marked_from_flow_table grew ($F0 -> $F1)"
assert_eq 0 "$(counter marked)" "counter marked (metadata path) stays 0"
assert_eq flow-table "$(status_jq '.interfaces[0].mark_path')" "status: mark_path flow-table"
check "status text names the flow-table path" eval \
	"ptrig status $LAB_WAN_IF | grep -q '^Firewall mark: from the flow table in TC ingress (the driver gives XDP no metadata room: xdp_meta_unsupported=[1-9]'"

# ---- 2. without the mark rule: dropped ------------------------------------------
lab_fw_mark_rule_del
check_not_forwarded "without the mark rule" 113
F2=$(counter marked_from_flow_table)
assert_gt "$F2" "$F1" "the dropped SYNs were marked from the flow table ($F1 -> $F2)"
lab_fw_mark_rule_add
check "mark rule restored" lab_fw_mark_rule_present

# ---- 3. the stranger cannot borrow a flow's mark --------------------------------
# UDP trigger: lanhost1 -> remote1:27015.
echo trigger | lab_exec lanhost1 timeout 3 socat -u - "UDP4:$R1:27015"
check "game trigger open (owner $H1)" wait_for 3 status_test \
	".interfaces[0].triggers[] | select(.rule == \"game\" and .owner == \"$H1\")"
# A flow remote1:40000 -> WAN:27000, owner lanhost1, never answered (no
# listener there: lanhost1 answers with an ICMP error, not a datagram).
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -S 40000 -d "$WAN" -D 27000 -m hello
check "a live unanswered flow remote1:40000 -> lanhost1:27000" wait_for 3 eval \
	"ptrig flows $LAB_WAN_IF --json | jq -e '.flows[] | select(.remote_port == 40000 and .external_port == 27000 and .owner == \"$H1\")' >/dev/null"
# The stranger routes the LAN prefix through the router's WAN address, as a
# host next to it on the WAN could.
lab_exec stranger ip route replace "$(lab_ip lanhost1 | cut -d. -f1-3).0/24" via "$WAN"
F3=$(counter marked_from_flow_table)
bg_run lanhost2 6 "$RAWSEND" sniff -i "$LAB_HOST_IF" -p udp -P 27000 -n 1 -t 3000 >"$T/sniff2" 2>&1
SN2=$BG_PID
bg_run lanhost1 6 "$RAWSEND" sniff -i "$LAB_HOST_IF" -p udp -P 27000 -n 1 -t 3000 >"$T/sniff1" 2>&1
SN1=$BG_PID
wait_for 3 grep -q ready "$T/sniff2" && wait_for 3 grep -q ready "$T/sniff1" || note "sniffers not ready"
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -S 40000 -d "$H2" -D 27000 -m steal -n 3
lab_exec stranger "$RAWSEND" send -p udp -s "$R1" -S 40001 -d "$H1" -D 27000 -m steal -n 3
bg_wait "$SN2" 6
bg_wait "$SN1" 6
check_not "flow's remote and ports, straight to lanhost2: dropped by the firewall" grep -q "^pkt" "$T/sniff2"
check_not "no flow's ports, straight to lanhost1: dropped by the firewall" grep -q "^pkt" "$T/sniff1"
assert_eq "$F3" "$(counter marked_from_flow_table)" "the stranger's datagrams got no mark ($F3)"
assert_eq 0 "$(counter errors)" "status --json: errors = 0"

e2e_finish
