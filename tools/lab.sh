#!/usr/bin/env bash
# ptrig lab: network namespaces that emulate a home router between a LAN and
# the Internet. Documentation addresses only; no
# traffic ever leaves the lab's namespaces.
#
#   lanhost1 198.51.100.2 ─┐                              ┌─ remote1 203.0.113.2
#                          ├ lansw ─ lan0 ROUTER wan0 ─ wansw ┤
#   lanhost2 198.51.100.3 ─┘   198.51.100.1   203.0.113.1    ├─ remote2 203.0.113.3
#                                                              └─ stranger 203.0.113.66
#
# stranger is the attacker of the security tests: it sends packets with any
# source address (tests/e2e/rawsend.c). It also holds 203.0.113.254, the
# router's upstream gateway, where the router's replies to spoofed sources
# (anything off the lab's subnets) go and die: it does not forward.
#
# Every box is a namespace named "$LAB_PREFIX<node>" (default prefix "ptl-",
# so parallel runs can use different prefixes). lansw/wansw are namespaces
# holding only a bridge, so the router's wan0 and lan0 are plain veths whose
# peers are bridge ports: ptrig attaches native XDP and TC to wan0.
#
# Library:  source tools/lab.sh; lab_up; ...; lab_down
# CLI:      bash tools/lab.sh up|down|status
#
#   lab_up / lab_down / lab_status / lab_is_up   build, remove (idempotent), show
#   lab_ns NODE, lab_exec NODE CMD...           namespace name; run CMD in it
#   lab_ip NODE, lab_if NODE, lab_wan_ip, lab_lan_gw, lab_router_ns
#   lab_snmp NODE PROTO FIELD                   /proc/net/snmp counter in NODE
#   lab_ct_invalid                              router conntrack INVALID count
#   lab_fw_mark_rule_del / _add / _present      ptrig's forward mark rule
#   lab_wire_ok                                 wire emulation still in place?
#   lab_on_down CMD...                          run CMD at lab_down (detach, unpin)
# Nodes: router lanhost1 lanhost2 remote1 remote2 stranger lansw wansw. Namespace names
# are also in $LAB_ROUTER, $LAB_LANHOST1, ... (ptrig-load: --netns $LAB_ROUTER).
# XDP/TC programs and qdiscs die with the namespaces; bpffs pins do not: a
# test that pins registers its cleanup with lab_on_down.
#
# WAN link types (LAB_WAN_TYPE, default ether), for the link-type scenarios:
#   ether  wan0 is a veth on the WAN bridge (the picture above)
#   vlan   wan0 is a trunk veth; the WAN is its VLAN device wan0.7 (tag 7),
#          whose partner is the bridge's VLAN 7 port (needs 8021q)
#   tun    wan0 is a tun device (IFF_TUN, ARPHRD_NONE) to an "isp" namespace,
#          a tunpipe process (tests/e2e/tunpipe.c) relaying between the two
#   pppoe  a real PPPoE session: pppoe-server in "isp" on the router's
#          Ethernet port dsl0, pppd with the kernel PPPoE plugin in the
#          router; the WAN is ppp0, MTU 1492 (needs ppp and pppoe modules)
#   wg     WireGuard wg0 to "isp" over a veth underlay (needs wireguard)
# For the L3 types (tun, pppoe, wg) the router holds 203.0.113.1/32 on its
# point-to-point link to isp (192.0.2.1), and isp routes it onto the WAN
# bridge, answering ARP for it there (proxy ARP) and holding the upstream
# address 203.0.113.254 in stranger's place. LAB_WAN_IF names the WAN device
# and LAB_XDP_MODE the XDP mode tests attach with (generic where the device
# has no native XDP). lab_ppp_reconnect [ADDRESS] ends the PPPoE session and
# dials again (new ppp0; with ADDRESS, the ISP hands out that one).
#
# Wire emulation (why every veth gets `ethtool -K IF tx off rx off gro off`):
# see _lab_wire below, and tests/e2e/test_wire_checksum.sh, which proves it.

# ---- names and addresses (override the prefix before sourcing/calling) ------
# shellcheck disable=SC2034 # the LAB_* variables are for scripts sourcing this
LAB_PREFIX=${LAB_PREFIX:-ptl-}
LAB_NODES="router lanhost1 lanhost2 remote1 remote2 stranger lansw wansw"
# Namespace names (for callers: `ip netns exec "$LAB_REMOTE1" ...`).
LAB_ROUTER=${LAB_PREFIX}router
LAB_LANHOST1=${LAB_PREFIX}lanhost1
LAB_LANHOST2=${LAB_PREFIX}lanhost2
LAB_REMOTE1=${LAB_PREFIX}remote1
LAB_REMOTE2=${LAB_PREFIX}remote2
LAB_STRANGER=${LAB_PREFIX}stranger
LAB_LANSW=${LAB_PREFIX}lansw
LAB_WANSW=${LAB_PREFIX}wansw

LAB_WAN_TYPE=${LAB_WAN_TYPE:-ether}
LAB_WAN_IF=wan0 # router's WAN interface; ptrig attaches here
LAB_XDP_MODE=${LAB_XDP_MODE:-} # empty: the loader's default
LAB_ISP=${LAB_PREFIX}isp
LAB_ISP_IP=192.0.2.1 # isp's end of an L3 WAN link
case "$LAB_WAN_TYPE" in
ether) ;;
vlan)
	LAB_WAN_IF=wan0.7
	LAB_XDP_MODE=generic # VLAN devices have no native XDP
	;;
tun | pppoe | wg)
	LAB_NODES="$LAB_NODES isp"
	[ "$LAB_WAN_TYPE" = pppoe ] && LAB_WAN_IF=ppp0
	[ "$LAB_WAN_TYPE" = wg ] && LAB_WAN_IF=wg0
	;;
*)
	echo "lab: unknown LAB_WAN_TYPE '$LAB_WAN_TYPE' (ether vlan tun pppoe wg)" >&2
	# shellcheck disable=SC2317 # exit when run, return when sourced
	return 2 2>/dev/null || exit 2
	;;
esac
LAB_LAN_IF=lan0 # router's LAN veth
LAB_HOST_IF=eth0 # the single interface of lanhostN / remoteN
LAB_WAN_IP=203.0.113.1
LAB_LAN_GW=198.51.100.1
LAB_LANHOST1_IP=198.51.100.2
LAB_LANHOST2_IP=198.51.100.3
LAB_REMOTE1_IP=203.0.113.2
LAB_REMOTE2_IP=203.0.113.3
LAB_STRANGER_IP=203.0.113.66
LAB_UPSTREAM_GW=203.0.113.254 # on stranger: the router's default route

LAB_NFT_TABLE=ptrl # nftables table "inet ptrl" in the router
LAB_PTRIG_MARK=${LAB_PTRIG_MARK:-0x00100000}
LAB_MARK_COMMENT=ptrig-mark # tags the mark rule so it can be found again

# LAB_WIRE=1 (default) emulates a real wire (checksums computed by the
# sender, verified by the receiver). LAB_WIRE=0 keeps the veth defaults
# (checksum offloads on), only for showing that the negative test notices.
LAB_WIRE=${LAB_WIRE:-1}
# The ethtool features set on every veth end when LAB_WIRE=1 (override only to
# experiment with what matters; see _lab_wire).
LAB_WIRE_ETHTOOL=${LAB_WIRE_ETHTOOL:-tx off rx off gro off}

# Commands registered with lab_on_down run (in reverse order) before the
# namespaces are deleted, e.g. `lab_on_down build/ptrig-load detach wan0 ...`.
LAB_DOWN_HOOKS=()

# ---- helpers -----------------------------------------------------------------

_lab_log() { echo "lab: $*" >&2; }

# lab_ns NODE: namespace name of a node (router, lanhost1, ..., wansw).
lab_ns() {
	case " $LAB_NODES " in
	*" $1 "*) echo "${LAB_PREFIX}$1" ;;
	*)
		_lab_log "unknown node '$1' (nodes: $LAB_NODES)"
		return 2
		;;
	esac
}

# lab_exec NODE CMD...: run CMD inside NODE's namespace.
lab_exec() {
	local ns
	ns=$(lab_ns "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

# lab_ip NODE: the node's address (router: its WAN address).
lab_ip() {
	case "$1" in
	router) echo "$LAB_WAN_IP" ;;
	lanhost1) echo "$LAB_LANHOST1_IP" ;;
	lanhost2) echo "$LAB_LANHOST2_IP" ;;
	remote1) echo "$LAB_REMOTE1_IP" ;;
	remote2) echo "$LAB_REMOTE2_IP" ;;
	stranger) echo "$LAB_STRANGER_IP" ;;
	*)
		_lab_log "lab_ip: node '$1' has no address"
		return 2
		;;
	esac
}

lab_wan_ip() { echo "$LAB_WAN_IP"; }
lab_lan_gw() { echo "$LAB_LAN_GW"; }
lab_router_ns() { echo "$LAB_ROUTER"; }

# lab_if NODE: the node's main interface (router: wan0).
lab_if() {
	case "$1" in
	router) echo "$LAB_WAN_IF" ;;
	lanhost1 | lanhost2 | remote1 | remote2 | stranger) echo "$LAB_HOST_IF" ;;
	*)
		_lab_log "lab_if: node '$1' has no main interface"
		return 2
		;;
	esac
}

# lab_snmp NODE PROTO FIELD: a counter of /proc/net/snmp inside NODE, e.g.
# `lab_snmp remote2 Udp InCsumErrors`. /proc/net follows the caller's netns.
lab_snmp() {
	# shellcheck disable=SC2016 # awk program
	lab_exec "$1" awk -v p="$2:" -v f="$3" '
		$1 == p && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == p && hdr  { if (f in col) { print $col[f]; found = 1 } exit }
		END { if (!found) exit 1 }' /proc/net/snmp
}

# lab_ct_invalid: packets the router's conntrack found INVALID (summed over
# CPUs). A forwarded packet with a bad TCP/UDP checksum ends here: conntrack
# verifies checksums (nf_conntrack_checksum=1), marks it INVALID, and the
# forward chain's policy drops it, so no InCsumErrors counter moves anywhere.
lab_ct_invalid() {
	lab_exec router conntrack -S 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++) if ($i ~ /^invalid=/) { split($i, a, "="); s += a[2] } }
		END { print s + 0 }'
}

# lab_on_down CMD...: run CMD when the lab is torn down (errors ignored;
# external commands get a 10 s timeout, shell functions must be bounded).
lab_on_down() {
	LAB_DOWN_HOOKS+=("$(printf '%q ' "$@")")
}

# lab_is_up: true when the router namespace exists.
lab_is_up() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$LAB_ROUTER"
}

# ---- wire emulation ----------------------------------------------------------
# _lab_wire NODE IFACE: make IFACE behave like a NIC on a real wire, where
# the bytes carry full checksums and every receiver verifies them. Measured on
# kernel 6.18 with tests/e2e/test_wire_checksum.sh (LAB_WIRE_ETHTOOL=...):
#  - tx off (what matters): the sender computes the full TCP/UDP checksum in
#    software. With it on, a veth hands CHECKSUM_PARTIAL skbs to its peer:
#    the checksum field holds only the pseudo-header sum, XDP cannot tell,
#    and every receiver trusts such a packet without looking, so a checksum
#    broken on the way (say by a buggy ptrig rewrite) is never noticed. On a
#    bridge port, tx off also makes the bridge finish (skb_checksum_help) a
#    partial checksum from a sender that kept offload on.
#  - gro off (the veth default; kept explicit): with GRO on, a receiving veth
#    verifies the checksum and marks the skb CHECKSUM_UNNECESSARY, so the
#    next hops trust it blindly, and merged TCP super-packets become
#    CHECKSUM_PARTIAL again. Both hide corruption made after that point.
#  - rx off: no effect on 6.18's veth (a CHECKSUM_NONE skb is verified by the
#    receiving stack either way); old kernels' veth_xmit marked such skbs
#    CHECKSUM_UNNECESSARY when the peer had rx checksumming on. Harmless.
# Costs: no TSO and software checksums, so bulk throughput is lower than
# with offloads; benchmarks that want the veth fast path can use LAB_WIRE=0.
_lab_wire() {
	[ "$LAB_WIRE" = 1 ] || return 0
	# shellcheck disable=SC2086 # word splitting intended
	lab_exec "$1" ethtool -K "$2" $LAB_WIRE_ETHTOOL >/dev/null
}

# lab_wire_ok: true if every veth in the lab still has transmit checksum
# offload and GRO off (e.g. after something attached programs to wan0).
lab_wire_ok() {
	local n ifc bad=0
	for n in $LAB_NODES; do
		for ifc in $(lab_exec "$n" ip -o link show type veth |
			awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
			lab_exec "$n" ethtool -k "$ifc" | grep -Eq '^(tx-checksumming|generic-receive-offload): on' && {
				_lab_log "wire emulation broken: $n $ifc has tx checksumming or GRO on"
				bad=1
			}
		done
	done
	return $bad
}

# _lab_veth NODE_A IF_A NODE_B IF_B: a veth pair between two namespaces.
_lab_veth() {
	ip link add "$2" netns "$(lab_ns "$1")" type veth \
		peer name "$4" netns "$(lab_ns "$3")" || return 1
	_lab_wire "$1" "$2" && _lab_wire "$3" "$4" || return 1
	lab_exec "$1" ip link set "$2" up && lab_exec "$3" ip link set "$4" up
}

# _lab_sysctl NODE KEY=VALUE...
_lab_sysctl() {
	local node=$1
	shift
	lab_exec "$node" sysctl -q -w "$@" >/dev/null
}

# ---- firewall ----------------------------------------------------------------
_lab_nft_ruleset() {
	cat <<EOF
table inet $LAB_NFT_TABLE {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$LAB_WAN_IF" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "$LAB_LAN_IF" accept
		ct state new meta mark & $LAB_PTRIG_MARK == $LAB_PTRIG_MARK accept comment "$LAB_MARK_COMMENT"
	}
}
EOF
}

# lab_fw_mark_rule_present: true if ptrig's mark rule is in the forward chain.
lab_fw_mark_rule_present() {
	lab_exec router nft list chain inet "$LAB_NFT_TABLE" forward |
		grep -q "comment \"$LAB_MARK_COMMENT\""
}

# lab_fw_mark_rule_del: remove only ptrig's mark rule (firewall tests).
lab_fw_mark_rule_del() {
	local h
	h=$(lab_exec router nft -a list chain inet "$LAB_NFT_TABLE" forward |
		sed -n "s/.*comment \"$LAB_MARK_COMMENT\" # handle \([0-9]*\).*/\1/p")
	[ -n "$h" ] || return 0
	lab_exec router nft delete rule inet "$LAB_NFT_TABLE" forward handle "$h"
}

# lab_fw_mark_rule_add: restore the mark rule (idempotent).
lab_fw_mark_rule_add() {
	lab_fw_mark_rule_present && return 0
	lab_exec router nft add rule inet "$LAB_NFT_TABLE" forward \
		ct state new meta mark \& "$LAB_PTRIG_MARK" == "$LAB_PTRIG_MARK" \
		accept comment "\"$LAB_MARK_COMMENT\""
}

# ---- up / down / status --------------------------------------------------------

# lab_up: build the whole lab (tears down a previous one with the same prefix).
lab_up() {
	local n
	lab_down
	for n in $LAB_NODES; do
		ip netns add "$(lab_ns "$n")" || {
			lab_down
			return 1
		}
		lab_exec "$n" ip link set lo up
		# No IPv6: keeps the lab to the documentation IPv4 ranges and the
		# captures free of DAD/router-solicitation noise.
		_lab_sysctl "$n" net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	_lab_up_links || {
		_lab_log "lab_up failed; tearing down"
		lab_down
		return 1
	}
	_lab_log "up (prefix $LAB_PREFIX, wire emulation $([ "$LAB_WIRE" = 1 ] && echo on || echo OFF))"
}

_lab_up_links() {
	local sw n
	for sw in lansw wansw; do
		lab_exec "$sw" ip link add br0 type bridge || return 1
		# forward_delay 0: ports forward at once (no STP listening phase).
		lab_exec "$sw" ip link set br0 type bridge forward_delay 0 stp_state 0 || return 1
		lab_exec "$sw" ip link set br0 up || return 1
	done

	# Router links. The bridge-side ends are named after what they face.
	_lab_veth router "$LAB_LAN_IF" lansw rtr || return 1
	lab_exec lansw ip link set rtr master br0 || return 1
	_lab_up_wan_port || return 1
	for n in lanhost1 lanhost2; do
		_lab_veth "$n" "$LAB_HOST_IF" lansw "$n" || return 1
		lab_exec lansw ip link set "$n" master br0 || return 1
	done
	for n in remote1 remote2 stranger; do
		_lab_veth "$n" "$LAB_HOST_IF" wansw "$n" || return 1
		lab_exec wansw ip link set "$n" master br0 || return 1
	done

	lab_exec router ip addr add "$LAB_LAN_GW/24" dev "$LAB_LAN_IF" || return 1
	case "$LAB_WAN_TYPE" in
	ether | vlan) lab_exec router ip addr add "$LAB_WAN_IP/24" dev "$LAB_WAN_IF" || return 1 ;;
	esac
	_lab_sysctl router net.ipv4.ip_forward=1 || return 1
	for n in lanhost1 lanhost2; do
		lab_exec "$n" ip addr add "$(lab_ip "$n")/24" dev "$LAB_HOST_IF" || return 1
		lab_exec "$n" ip route add default via "$LAB_LAN_GW" || return 1
	done
	# Remotes: only the on-link 203.0.113.0/24, no route to the LAN, so the
	# router's WAN address is the only way in.
	for n in remote1 remote2 stranger; do
		lab_exec "$n" ip addr add "$(lab_ip "$n")/24" dev "$LAB_HOST_IF" || return 1
	done
	case "$LAB_WAN_TYPE" in
	tun | pppoe | wg)
		_lab_up_isp || return 1
		;;
	*)
		lab_exec stranger ip addr add "$LAB_UPSTREAM_GW/24" dev "$LAB_HOST_IF" || return 1
		lab_exec router ip route add default via "$LAB_UPSTREAM_GW" || return 1
		;;
	esac

	_lab_nft_ruleset | lab_exec router nft -f - || return 1
}

# The router's WAN port: a veth to the WAN bridge, or for vlan a trunk
# whose VLAN 7 device is the WAN (the bridge's port for it: rtr.7). The L3
# types get theirs from _lab_up_isp.
_lab_up_wan_port() {
	case "$LAB_WAN_TYPE" in
	ether)
		_lab_veth router "$LAB_WAN_IF" wansw rtr || return 1
		lab_exec wansw ip link set rtr master br0
		;;
	vlan)
		_lab_veth router wan0 wansw rtr || return 1
		lab_exec router ip link add link wan0 name "$LAB_WAN_IF" type vlan id 7 || return 1
		lab_exec wansw ip link add link rtr name rtr.7 type vlan id 7 || return 1
		_lab_wire router "$LAB_WAN_IF" && _lab_wire wansw rtr.7 || return 1
		lab_exec router ip link set "$LAB_WAN_IF" up || return 1
		lab_exec wansw ip link set rtr.7 up || return 1
		lab_exec wansw ip link set rtr.7 master br0
		;;
	esac
}

# isp: the far end of an L3 WAN link, and the router's way onto the WAN
# bridge (up0, 203.0.113.254, proxy ARP for the router's address).
_lab_up_isp() {
	_lab_veth isp up0 wansw isp || return 1
	lab_exec wansw ip link set isp master br0 || return 1
	lab_exec isp ip addr add "$LAB_UPSTREAM_GW/24" dev up0 || return 1
	_lab_sysctl isp net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.up0.proxy_arp=1 || return 1
	case "$LAB_WAN_TYPE" in
	tun) _lab_up_tun ;;
	pppoe) _lab_up_pppoe ;;
	wg) _lab_up_wg ;;
	esac
}

LAB_TUNPIPE_DIR=
_lab_up_tun() {
	local d=$LAB_TUNPIPE_DIR
	# A module in Debian's kernels; its device node comes with it.
	modprobe -q tun 2>/dev/null
	if [ ! -e /dev/net/tun ]; then
		mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200 || return 1
	fi
	if [ -z "$d" ]; then
		d=$(mktemp -d /tmp/ptrig-lab-tunpipe.XXXXXX) || return 1
		LAB_TUNPIPE_DIR=$d
		${CC:-gcc} -O2 -std=gnu11 -Wall -Wextra -Werror \
			"$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/tunpipe.c" -o "$d/tunpipe" || return 1
	fi
	# Bounded like everything in the lab; lab_down kills it before that.
	timeout 3600 "$d/tunpipe" "$LAB_ROUTER" "$LAB_WAN_IF" "$LAB_ISP" tun0 >"$d/out" 2>&1 &
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q ready "$d/out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$d/out" || {
		_lab_log "tunpipe: $(cat "$d/out")"
		return 1
	}
	lab_exec router ip addr add "$LAB_WAN_IP/32" peer "$LAB_ISP_IP/32" dev "$LAB_WAN_IF" || return 1
	lab_exec isp ip addr add "$LAB_ISP_IP/32" peer "$LAB_WAN_IP/32" dev tun0 || return 1
	lab_exec router ip link set "$LAB_WAN_IF" up || return 1
	lab_exec isp ip link set tun0 up || return 1
	lab_exec router ip route add default dev "$LAB_WAN_IF"
}

_lab_up_wg() {
	local d k1 k2
	d=$(mktemp -d /tmp/ptrig-lab-wg.XXXXXX) || return 1
	LAB_TUNPIPE_DIR=$d
	(umask 077 && wg genkey >"$d/r.key" && wg genkey >"$d/i.key") || return 1
	k1=$(wg pubkey <"$d/r.key") && k2=$(wg pubkey <"$d/i.key") || return 1
	_lab_veth router dsl0 isp dsl0 || return 1
	lab_exec router ip addr add 192.0.2.130/30 dev dsl0 || return 1
	lab_exec isp ip addr add 192.0.2.129/30 dev dsl0 || return 1
	lab_exec router ip link add wg0 type wireguard || return 1
	lab_exec isp ip link add wg0 type wireguard || return 1
	# Both ends know each other's endpoint: a responder that does not
	# (isp, until the router speaks first) drops what it would send.
	lab_exec router wg set wg0 listen-port 51820 private-key "$d/r.key" peer "$k2" \
		allowed-ips 0.0.0.0/0 endpoint 192.0.2.129:51820 || return 1
	lab_exec isp wg set wg0 listen-port 51820 private-key "$d/i.key" peer "$k1" \
		allowed-ips "$LAB_WAN_IP/32" endpoint 192.0.2.130:51820 || return 1
	lab_exec router ip addr add "$LAB_WAN_IP/32" peer "$LAB_ISP_IP/32" dev wg0 || return 1
	lab_exec isp ip addr add "$LAB_ISP_IP/32" peer "$LAB_WAN_IP/32" dev wg0 || return 1
	lab_exec router ip link set wg0 up || return 1
	lab_exec isp ip link set wg0 up || return 1
	lab_exec router ip route add default dev wg0
}

# PPPoE: the router's Ethernet port dsl0 faces isp's dsl0, where
# pppoe-server (user mode) answers; pppd in the router dials with the
# kernel PPPoE plugin and makes ppp0 the default route.
LAB_PPPOE_DIR=
_lab_up_pppoe() {
	local d
	d=$(mktemp -d /tmp/ptrig-lab-pppoe.XXXXXX) || return 1
	LAB_PPPOE_DIR=$d
	# Modules in Debian's kernels; pppd needs the /dev/ppp node.
	modprobe -q -a ppp_generic pppoe 2>/dev/null
	[ -e /dev/ppp ] || mknod -m 600 /dev/ppp c 108 0 || return 1
	_lab_veth router dsl0 isp dsl0 || return 1
	printf 'noauth\nlcp-echo-interval 10\nlcp-echo-failure 3\nmtu 1492\nmru 1492\n' >"$d/server-options"
	_lab_pppoe_server "$LAB_WAN_IP" || return 1
	_lab_ppp_dial
}

# _lab_pppoe_server ADDRESS: (re)start the access concentrator, handing out
# ADDRESS.
LAB_PPPOE_SERVER_PID=
_lab_pppoe_server() {
	if [ -n "$LAB_PPPOE_SERVER_PID" ]; then
		kill "$LAB_PPPOE_SERVER_PID" 2>/dev/null
		wait "$LAB_PPPOE_SERVER_PID" 2>/dev/null
	fi
	# ip netns exec execs timeout, which passes a kill on: $! stops it
	# (not lab_exec: in a function, $! would be a subshell's pid).
	ip netns exec "$LAB_ISP" timeout 3600 pppoe-server -F -I dsl0 -L "$LAB_ISP_IP" -R "$1" -N 1 \
		-O "$LAB_PPPOE_DIR/server-options" >"$LAB_PPPOE_DIR/server.log" 2>&1 &
	LAB_PPPOE_SERVER_PID=$!
	sleep 0.3
}

# _lab_ppp_dial: start pppd in the router; wait (20 s at most) for ppp0
# with an address.
_lab_ppp_dial() {
	local i
	# Not through lab_exec (a function: $! would be a subshell's pid).
	ip netns exec "$LAB_ROUTER" timeout 3600 pppd plugin pppoe.so nic-dsl0 noauth nodetach \
		defaultroute mtu 1492 mru 1492 lcp-echo-interval 10 lcp-echo-failure 3 \
		noipdefault ipcp-accept-local noccp nobsdcomp nodeflate \
		>"$LAB_PPPOE_DIR/pppd.log" 2>&1 &
	LAB_PPPD_PID=$!
	for ((i = 0; i < 200; i++)); do
		lab_exec router ip -4 -o addr show dev ppp0 2>/dev/null | grep -q inet && return 0
		sleep 0.1
	done
	_lab_log "ppp0 did not come up: $(head -c 1500 "$LAB_PPPOE_DIR/pppd.log" | tr "\n" "|")"
	return 1
}

# lab_ppp_reconnect [ADDRESS]: hang up (pppd ends, ppp0 goes away), then
# dial again: a new ppp0 with a new ifindex, and with ADDRESS if given.
lab_ppp_reconnect() {
	local i
	kill "$LAB_PPPD_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		lab_exec router ip link show ppp0 >/dev/null 2>&1 || break
		sleep 0.1
	done
	wait "$LAB_PPPD_PID" 2>/dev/null
	[ -n "${1:-}" ] && { _lab_pppoe_server "$1" || return 1; }
	_lab_ppp_dial
}

# lab_down: remove everything this prefix created; idempotent, never fails.
lab_down() {
	local i n ns pid first
	for ((i = ${#LAB_DOWN_HOOKS[@]} - 1; i >= 0; i--)); do
		read -r first _ <<<"${LAB_DOWN_HOOKS[i]}"
		if declare -F "$first" >/dev/null; then
			eval "${LAB_DOWN_HOOKS[i]}" >/dev/null 2>&1 || true
		else
			eval "timeout 10 ${LAB_DOWN_HOOKS[i]}" >/dev/null 2>&1 || true
		fi
	done
	LAB_DOWN_HOOKS=()
	for n in $LAB_NODES; do
		ns=$(lab_ns "$n")
		[ -e "/run/netns/$ns" ] || continue
		# Processes a test left running inside the lab (listeners, servers).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	for n in $LAB_NODES; do
		ns=$(lab_ns "$n")
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || _lab_log "could not delete netns $ns"
	done
	[ -n "$LAB_TUNPIPE_DIR" ] && rm -rf -- "$LAB_TUNPIPE_DIR"
	[ -n "$LAB_PPPOE_DIR" ] && rm -rf -- "$LAB_PPPOE_DIR"
	LAB_TUNPIPE_DIR=
	LAB_PPPOE_DIR=
	return 0
}

# lab_status: print what exists (exit 1 if the lab is not up).
lab_status() {
	local n ns
	if ! lab_is_up; then
		echo "lab (prefix $LAB_PREFIX): down"
		return 1
	fi
	echo "lab (prefix $LAB_PREFIX): up"
	for n in $LAB_NODES; do
		ns=$(lab_ns "$n")
		echo "== $n ($ns)"
		ip -n "$ns" -br addr show 2>/dev/null | grep -v '^lo ' | sed 's/^/   /'
		ip -n "$ns" route show 2>/dev/null | sed 's/^/   route: /'
	done
	echo "== router firewall"
	lab_exec router nft list table inet "$LAB_NFT_TABLE" | sed 's/^/   /'
	echo "== router $LAB_WAN_IF"
	ip -n "$LAB_ROUTER" -d link show "$LAB_WAN_IF" | sed 's/^/   /'
	lab_exec router ethtool -k "$LAB_WAN_IF" |
		grep -E '^(tx-checksumming|rx-checksumming|generic-receive-offload):' | sed 's/^/   /'
	if lab_wire_ok 2>/dev/null; then
		echo "== wire emulation: on (every veth: tx checksum offload and GRO off)"
	else
		echo "== wire emulation: OFF on some veth (LAB_WIRE=0?)"
	fi
}

# ---- CLI ---------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	if [ "$(id -u)" -ne 0 ]; then
		echo "lab.sh: needs root (network namespaces)" >&2
		exit 1
	fi
	case "${1:-}" in
	up) lab_up ;;
	down) lab_down ;;
	status) lab_status ;;
	*)
		echo "usage: [LAB_PREFIX=ptl-] [LAB_WIRE=1] bash $0 up|down|status" >&2
		exit 2
		;;
	esac
fi
