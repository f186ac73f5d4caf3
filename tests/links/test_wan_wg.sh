#!/usr/bin/env bash
# A WireGuard WAN (guest: wireguard is a module): the router's WAN is wg0,
# a tunnel to isp over a veth underlay; ptrig attaches to wg0, an L3 device
# (ARPHRD_NONE), in generic XDP mode.
#   1. the TCP, UDP and active-FTP end-to-end tests over wg0;
#   2. the loader says "link type none" and attached generic XDP.
set -u
export LAB_WAN_TYPE=wg
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_need wg
# shellcheck disable=SC2086 # a list of names
wan_scenarios wg ${LAB_LINK_SCENARIOS:-tcp udp ftp}

e2e_init
e2e_ptrig_lab
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$T/ptrig.conf"
ptrig_attach "$T/ptrig.conf" "attach wg0 exits 0"
link_attach_checks none generic
e2e_finish
