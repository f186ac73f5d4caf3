#!/usr/bin/env bash
# An L3 WAN on this kernel: the router's wan0 is a tun device (IFF_TUN,
# ARPHRD_NONE, what tunnels and VPN clients make), linked to an "isp"
# namespace by tests/e2e/tunpipe.c. Packets on it start at their IP header.
#   1. the TCP, UDP and active-FTP end-to-end tests over the tun wan0;
#   2. the loader says "link type none" and attaches generic XDP; asked for
#      native XDP there (which tun runs only for tap frames, so ptrig would
#      sit inert) it exits 2 with the reason, and changes nothing;
#   3. a link type ptrig cannot parse (the loopback device) is refused:
#      exit 1, the type named, no program and no pin left behind.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
export LAB_WAN_TYPE=tun
# shellcheck source-path=SCRIPTDIR source=../links/lib.sh
source "$(dirname "$0")/../links/lib.sh"

wan_scenarios tun tcp udp ftp

e2e_init
e2e_ptrig_lab
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"

# ---- native XDP on an L3 link: refused -----------------------------------------
out=$(ptrig attach wan0 -c "$T/ptrig.conf" --xdp-mode native 2>&1)
rc=$?
assert_eq 2 "$rc" "attach (tun) --xdp-mode native: exit 2"
assert_match "wan0: --xdp-mode native: a none link has no native XDP for its packets; ptrig uses generic XDP there" \
	"$out" "... with the reason"
check_not "... no program on wan0" test -n "$(net_progs)"
check_not "... no pin directory" test -e "$PIN_DIR"

# ---- attach: generic, link type none ------------------------------------------
ptrig_attach "$T/ptrig.conf" "attach wan0 (tun) exits 0"
link_attach_checks none generic
irc_trigger || die "irc trigger over tun"
pass "irc trigger over tun (owner lanhost1)"
xfer_tcp remote1 lanhost1 "$WAN" 113 1000000 20
assert_eq 0 $? "inbound over tun: 1 MB remote1 -> $WAN:113 -> lanhost1 intact"
snap
assert_gt "$(gstat marked)" 0 "the new inbound connection was marked (generic XDP metadata reached TC)"
assert_eq 0 "$(gstat pass_malformed)" "no packet on the tun link parsed as malformed"

# ---- an unsupported link type: refused, nothing changed -------------------------
out=$(ptrig attach lo -c "$T/ptrig.conf" 2>&1)
rc=$?
assert_eq 1 "$rc" "attach lo: exit 1"
assert_match "lo: link type 772 \(loopback\) is not supported; .*nothing was changed" "$out" \
	"... names the link type and what ptrig supports"
check_not "... no XDP program on lo" test -n "$(lab_exec router bpftool net show dev lo 2>/dev/null | grep -E 'generic|driver')"
check_not "... no pin directory for lo" test -e "$PTRIG_PIN_ROOT/lo"
e2e_finish
