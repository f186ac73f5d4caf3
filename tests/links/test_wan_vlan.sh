#!/usr/bin/env bash
# A VLAN WAN (guest: 8021q is a module): the router's WAN is wan0.7, VLAN 7
# on a trunk veth, the WAN bridge's partner port being the bridge's VLAN 7
# device. ptrig attaches to wan0.7 (ARPHRD_ETHER: the VLAN device hands the
# stack untagged frames) in generic XDP mode (VLAN devices have no native
# XDP).
#   1. the TCP, UDP and active-FTP end-to-end tests over wan0.7;
#   2. the loader says "link type ether" and attached generic XDP; attaching
#      native XDP is refused with the driver hint and changes nothing;
#   3. a (software) flowtable on the trunk port is found by attach as one on
#      the WAN: the device under the VLAN counts.
set -u
export LAB_WAN_TYPE=vlan
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2086 # a list of names
wan_scenarios vlan ${LAB_LINK_SCENARIOS:-tcp udp ftp}

e2e_init
e2e_ptrig_lab
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
out=$(ptrig attach wan0.7 -c "$T/ptrig.conf" --xdp-mode native 2>&1)
rc=$?
assert_eq 1 "$rc" "attach wan0.7 --xdp-mode native: exit 1 (no native XDP on VLAN devices)"
assert_match "nothing was changed on wan0.7" "$out" "... and says nothing was changed"
check_not "... and nothing is attached" xdp_attached
# A flowtable on the trunk port under wan0.7: attach finds it there (the
# device under the VLAN counts as the WAN's), and, being software, names it.
LOWER=$(lab_exec router ip -j link show wan0.7 | jq -r '.[0].link')
lab_exec router nft add table inet ptvl \; add flowtable inet ptvl ft \
	"{ hook ingress priority 0; devices = { $LOWER }; }" || die "flowtable on $LOWER"
ptrig_attach "$T/ptrig.conf" "attach wan0.7 (generic) exits 0"
assert_match "^ptrig: flowtable inet ptvl ft on $LOWER: software fast path" "$(cat "$E2E_TMP/attach.log")" \
	"attach finds the flowtable on $LOWER, the port under wan0.7"
lab_exec router nft delete table inet ptvl
link_attach_checks ether generic
irc_trigger || die "irc trigger over wan0.7"
pass "irc trigger over wan0.7"
xfer_tcp remote1 lanhost1 "$WAN" 113 1000000 30
assert_eq 0 $? "inbound over wan0.7: 1 MB intact"
e2e_finish
