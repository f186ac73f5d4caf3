#!/usr/bin/env bash
# ptrig-load on a veth pair in a private network namespace: the CLI, `check`,
# attach/upgrade/reload/detach, what they leave behind on the interface and in
# bpffs, status/flows/monitor output.
#
# Needs root, bpffs on /sys/fs/bpf, bpftool, iproute2 (ip, tc), jq; socat for
# the monitor event check (skipped without it). Runs in a namespace of its own
# (ptld-$$) with lt0 (192.0.2.1/24) <-> lt1 (192.0.2.2/24), and a LAN host
# (ptldc-$$, 198.51.100.2) routed through it; the only traffic is one UDP
# datagram from that host to 192.0.2.3, forwarded out of lt0 to lt1. ptrig's
# pins are in the host's bpffs under a private root made for this run
# (/sys/fs/bpf/ptrig-test-loader-*; bpffs allows no dots in names), removed
# on exit with everything else, failed or not.
#
# Output: one "PASS: name" or "FAIL: name: detail" line per check, then
# "N passed, M failed"; exit status 1 if any check failed.
set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
P=$BUILD/ptrig-load

NS=ptld-$$
IF=lt0
PEER_IF=lt1
IF_ADDR=192.0.2.1
PEER_ADDR=192.0.2.2
# A LAN host in a namespace of its own, routed through $NS out of lt0: only
# forwarded traffic can be trigger traffic.
CLIENT_NS=ptldc-$$
CLIENT_ADDR=198.51.100.2
CLIENT_GW=198.51.100.1
REMOTE_ADDR=192.0.2.3 # beyond lt0: a static neighbour, lt1's MAC
PIN_ROOT= # private, made in setup: the live /sys/fs/bpf/ptrig is never touched
PIN=
MISSING_IF=ptldmissing0
BR=ltbr0 # a bridge: no native XDP, so attach fails after touching the hooks
# Map names come from the one list in include/ptrig.h (make writes it out):
# MAP_cfg=ptrig_cfg_vN, ..., and MAPS, all of them.
MAPS=
MAP_cfg='' MAP_rules='' MAP_trig='' MAP_flows=''
while read -r field name; do
	printf -v "MAP_$field" '%s' "$name"
	MAPS="$MAPS $name"
done <"$BUILD/ptrig-maps.txt"
[ -n "$MAPS" ] || { echo "FAIL: map list: $BUILD/ptrig-maps.txt is empty"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
T=
mon_pid=

pass() {
	passed=$((passed + 1))
	echo "PASS: $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $1: $2"
}

skip() { echo "SKIP: $1: $2"; }

# A setup step failed: later checks would only repeat it.
die() {
	fail "$1" "$2"
	echo "$passed passed, $failed failed"
	exit 1
}

# run CMD...: run it, leaving $rc, $out (stdout) and $err (stderr).
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# ptrig CMD...: the loader, on the test namespace.
ptrig() { run "$P" --netns "$NS" "$@"; }

# A one-line excerpt of a command's output for a FAIL detail.
brief() { printf '%s' "$1" | tr '\n' '|' | cut -c1-300; }
ctx() { echo "rc=$rc stdout=[$(brief "$out")] stderr=[$(brief "$err")]"; }

# as_nobody CMD...: run CMD as an unprivileged user (nobody).
NOBODY=
if command -v setpriv >/dev/null 2>&1; then
	NOBODY=setpriv
elif command -v su >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	NOBODY=su
fi
as_nobody() {
	if [ "$NOBODY" = setpriv ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		su -s /bin/sh nobody -c "$(printf '%q ' "$@")"
	fi
}

# shellcheck source=../lib/bytes.sh
source "$(dirname "$0")/../lib/bytes.sh"

# CLOCK_MONOTONIC in ns, the datapath's clock: ktime_get() from
# /proc/timer_list, else /proc/uptime (boot time, close enough: triggers here
# live 600 s), with string arithmetic so awk never goes through a float.
now_ns() {
	local n
	n=$(awk '/^now at [0-9]+ nsecs/ { print $3; exit }' /proc/timer_list 2>/dev/null)
	if [ -n "$n" ]; then
		echo "$n"
		return
	fi
	awk '{ s = $1; f = ""; if (s ~ /\./) { f = s; sub(/.*\./, "", f); sub(/\..*/, "", s) }
	       print s substr(f "000000000", 1, 9) }' /proc/uptime
}

# prog_ids [IFACE]: program ids on IFACE ($IF) as bpftool reports them,
# "XDP TC_INGRESS TC_EGRESS" (0 for a free hook).
prog_ids() {
	ip netns exec "$NS" bpftool -j net show dev "${1:-$IF}" 2>/dev/null | jq -r '
		.[0] as $n
		| [($n.xdp[0].id // 0),
		   ([$n.tc[] | select(.kind == "clsact/ingress") | .id][0] // 0),
		   ([$n.tc[] | select(.kind == "clsact/egress") | .id][0] // 0)]
		| map(tostring) | join(" ")'
}

has_clsact() { tc -n "$NS" qdisc show dev "${1:-$IF}" | grep -q clsact; }

# leftovers [IFACE]: what a failed or undone attach must not leave on IFACE
# ($IF) and in bpffs; prints what it finds.
leftovers() {
	local dev=${1:-$IF} progs
	[ -e "$(pindir "$dev")" ] && echo "pin dir $(pindir "$dev") exists;"
	progs=$(ip netns exec "$NS" bpftool net show dev "$dev" | grep "$dev(")
	[ -n "$progs" ] && echo "programs on $dev: $(brief "$progs");"
	has_clsact "$dev" && echo "clsact qdisc on $dev;"
	return 0
}

# pindir IFACE: where IFACE's pins go (per network namespace).
pindir() { "$P" --netns "$NS" pindir "$1"; }

status_json() { "$P" --netns "$NS" status "$IF" --json 2>"$T/status.err"; }

# rule_id_of NAME: "ID GENERATION" of rule NAME in the active rule set, read
# with bpftool from the pinned maps (not through the loader).
rule_id_of() {
	local set id v
	set=$(bpftool -j map lookup pinned "$PIN/${MAP_cfg}" key 0 0 0 0 | jq -r '.formatted.value.active_set')
	for id in $(seq 1 16); do
		# shellcheck disable=SC2046
		v=$(bpftool -j map lookup pinned "$PIN/${MAP_rules}" key hex $(le32 $((set * 16384 + id))) |
			jq -r '"\(.formatted.value.name) \(.formatted.value.generation)"')
		if [ "${v% *}" = "$1" ]; then
			echo "$id ${v#* }"
			return 0
		fi
	done
	return 1
}

cleanup() {
	if [ -n "$mon_pid" ]; then
		kill "$mon_pid" 2>/dev/null
		wait "$mon_pid" 2>/dev/null
		mon_pid=
	fi
	if [ -n "$PIN_ROOT" ]; then
		for dev in "$IF" "$BR"; do
			[ -e "$(pindir "$dev" 2>/dev/null)" ] && "$P" --netns "$NS" detach "$dev" >/dev/null 2>&1
		done
		rm -rf -- "$PIN_ROOT"
	fi
	ip netns del "$NS" 2>/dev/null
	ip netns del "$CLIENT_NS" 2>/dev/null
	[ -n "$T" ] && rm -rf "$T"
	return 0
}

# ---- setup -------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die setup "needs root (BPF, network namespaces)"
[ -x "$P" ] || die setup "$P not built: run make"
for tool in ip tc bpftool jq; do
	command -v "$tool" >/dev/null 2>&1 || die setup "$tool is not installed"
done
mountpoint -q /sys/fs/bpf || die setup "bpffs is not mounted on /sys/fs/bpf"
[ -e "/run/netns/$NS" ] && die setup "network namespace $NS exists"
[ -e "/run/netns/$CLIENT_NS" ] && die setup "network namespace $CLIENT_NS exists"

T=$(mktemp -d /tmp/ptld.XXXXXX) || die setup "mktemp"
chmod 755 "$T" # the unprivileged checks read the configs and binary here
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
PIN_ROOT=$(mktemp -d /sys/fs/bpf/ptrig-test-loader-XXXXXX) || die setup "mktemp in bpffs"
export PTRIG_PIN_ROOT=$PIN_ROOT

ip netns add "$NS" || die setup "ip netns add $NS"
if ! { ip -n "$NS" link set lo up &&
	ip -n "$NS" link add "$IF" type veth peer name "$PEER_IF" &&
	ip -n "$NS" addr add "$IF_ADDR/24" dev "$IF" &&
	ip -n "$NS" addr add "$PEER_ADDR/24" dev "$PEER_IF" &&
	ip -n "$NS" link set "$IF" up &&
	ip -n "$NS" link set "$PEER_IF" up; }; then
	die setup "veth $IF/$PEER_IF in $NS"
fi
ip netns add "$CLIENT_NS" || die setup "ip netns add $CLIENT_NS"
if ! { ip -n "$CLIENT_NS" link set lo up &&
	ip -n "$NS" link add ltc0 type veth peer name ltc1 netns "$CLIENT_NS" &&
	ip -n "$NS" addr add "$CLIENT_GW/24" dev ltc0 &&
	ip -n "$NS" link set ltc0 up &&
	ip -n "$CLIENT_NS" addr add "$CLIENT_ADDR/24" dev ltc1 &&
	ip -n "$CLIENT_NS" link set ltc1 up &&
	ip -n "$CLIENT_NS" route add default via "$CLIENT_GW" &&
	ip netns exec "$NS" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv4.conf.$PEER_IF.forwarding=0 &&
	ip -n "$NS" route add "$REMOTE_ADDR/32" dev "$IF" &&
	ip -n "$NS" neigh replace "$REMOTE_ADDR" dev "$IF" nud permanent \
		lladdr "$(ip netns exec "$NS" cat "/sys/class/net/$PEER_IF/address")"; }; then
	die setup "LAN host $CLIENT_NS routed through $NS"
fi
PIN=$(pindir "$IF") || die setup "ptrig-load pindir $IF"
case "$PIN" in "$PIN_ROOT"/netns:*/"$IF") ;; *) die setup "pin dir $PIN is not per namespace" ;; esac

cat >"$T/good.conf" <<'EOF'
# ptrig-load test rules
irc   tcp:6667    tcp:113                 timeout=600
game  udp:27015   udp:27000-27010,4380    peer=trigger
ftp   tcp:21      tcp:50000-50010         timeout=300 flow-timeout=120
EOF
# irc unchanged, game's open ports changed, ftp removed.
cat >"$T/reload.conf" <<'EOF'
irc   tcp:6667    tcp:113                 timeout=600
game  udp:27015   udp:27000-27011,4380    peer=trigger
EOF
cat >"$T/bad.conf" <<'EOF'
# overlapping trigger ports
irc   tcp:6660-6669  tcp:113
chat  tcp:6667       tcp:114
EOF
cat >"$T/bad_open.conf" <<'EOF'
a  tcp:1   tcp:2000-3000
# comment
b  tcp:5   both:2500
EOF
cat >"$T/bad_dup.conf" <<'EOF'
a  tcp:1   tcp:2
a  udp:3   udp:4
EOF
cat >"$T/bad_range.conf" <<'EOF'
a  tcp:1   tcp:2   timeout=0
EOF
cat >"$T/bad_port.conf" <<'EOF'
a  tcp:1   tcp:70000
EOF
chmod 644 "$T"/*.conf
cd "$T" || die setup "cd $T"

# ---- command line ------------------------------------------------------------

run "$P" --help
if [ $rc -eq 0 ] && grep -q '^Usage: ptrig-load \[--netns NAME\] COMMAND' <<<"$out" &&
	grep -q 'attach IFACE -c FILE' <<<"$out" && grep -q 'Exit codes' <<<"$out"; then
	pass help
else
	fail help "$(ctx)"
fi

run "$P" attach --help
if [ $rc -eq 0 ] && grep -q '^Usage: ptrig-load \[--netns NAME\] attach IFACE -c FILE' <<<"$out" &&
	grep -q -- '--xdp-mode MODE' <<<"$out" && grep -q -- '--max-flows N' <<<"$out"; then
	pass attach_help
else
	fail attach_help "$(ctx)"
fi

run "$P" frobnicate
if [ $rc -eq 2 ] && grep -q 'unknown command "frobnicate"' <<<"$err"; then
	pass unknown_command_exit_2
else
	fail unknown_command_exit_2 "$(ctx)"
fi

run "$P" attach "$IF"
if [ $rc -eq 2 ] && grep -q 'missing -c FILE' <<<"$err"; then
	pass attach_missing_config_exit_2
else
	fail attach_missing_config_exit_2 "$(ctx)"
fi

run "$P" check
if [ $rc -eq 2 ] && grep -q 'missing -c FILE' <<<"$err"; then
	pass check_missing_config_exit_2
else
	fail check_missing_config_exit_2 "$(ctx)"
fi

# ---- check -------------------------------------------------------------------

run "$P" check -c good.conf
if [ $rc -eq 0 ] && [ "$out" = "good.conf: 3 rules OK" ] && [ -z "$err" ]; then
	pass check_good_config
else
	fail check_good_config "$(ctx)"
fi

# check_bad NAME FILE EXPECTED_STDERR
check_bad() {
	run "$P" check -c "$2"
	if [ $rc -eq 2 ] && [ "$err" = "$3" ] && [ -z "$out" ]; then
		pass "$1"
	else
		fail "$1" "want rc=2 stderr=[$3]; got $(ctx)"
	fi
}
check_bad check_trigger_overlap bad.conf \
	'bad.conf:3: trigger ports tcp:6667 overlap rule "irc" (line 2)'
check_bad check_open_overlap bad_open.conf \
	'bad_open.conf:3: open ports tcp:2500 overlap rule "a" (line 1)'
check_bad check_duplicate_name bad_dup.conf \
	'bad_dup.conf:2: duplicate rule name "a" (first defined on line 1)'
check_bad check_timeout_out_of_range bad_range.conf \
	'bad_range.conf:1: timeout=0 out of range (1-86400)'
check_bad check_port_out_of_range bad_port.conf \
	'bad_port.conf:1: port 70000 out of range (1-65535)'
# Only regular files: a FIFO without a writer is refused, not waited on.
mkfifo fifo.conf
check_bad check_fifo_refused fifo.conf 'fifo.conf: not a regular file (a FIFO)'
check_bad check_empty_path '' '"": cannot open: empty file name'
printf 'a tcp:1 tcp:2\rb tcp:3 tcp:4\r' >cr.conf
check_bad check_cr_only_lines cr.conf \
	'cr.conf:1: carriage return not followed by a line feed (lines end in LF or CRLF)'

# ---- without root ------------------------------------------------------------

# A copy of the binary, so the checks do not depend on the build directory
# being readable by nobody.
cp "$P" "$T/ptrig-load" && chmod 755 "$T/ptrig-load"
if [ -z "$NOBODY" ]; then
	skip check_without_root "neither setpriv nor su (with a nobody user) is available"
	skip attach_without_root "neither setpriv nor su (with a nobody user) is available"
else
	run as_nobody "$T/ptrig-load" check -c good.conf
	if [ $rc -eq 0 ] && [ "$out" = "good.conf: 3 rules OK" ]; then
		pass check_without_root
	else
		fail check_without_root "via $NOBODY: $(ctx)"
	fi

	run as_nobody "$T/ptrig-load" --netns "$NS" attach "$IF" -c good.conf
	left=$(leftovers)
	if [ $rc -eq 1 ] && grep -q 'needs root' <<<"$err" && [ -z "$left" ]; then
		pass attach_without_root
	else
		fail attach_without_root "via $NOBODY: $(ctx) $left"
	fi
fi

# ---- failures that must leave nothing ----------------------------------------

ptrig attach "$IF" -c bad.conf
left=$(leftovers)
if [ $rc -eq 2 ] && [ "$err" = 'bad.conf:3: trigger ports tcp:6667 overlap rule "irc" (line 2)' ] &&
	[ -z "$left" ]; then
	pass attach_bad_config_exit_2_leaves_nothing
else
	fail attach_bad_config_exit_2_leaves_nothing "$(ctx) $left"
fi

ptrig attach "$MISSING_IF" -c good.conf
left=$(leftovers)
if [ $rc -eq 1 ] && grep -q "interface \"$MISSING_IF\" not found" <<<"$err" &&
	[ ! -e "$(pindir "$MISSING_IF")" ] && [ -z "$left" ]; then
	pass attach_missing_interface_exit_1_leaves_nothing
else
	fail attach_missing_interface_exit_1_leaves_nothing \
		"$(ctx) $left $([ -e "$(pindir "$MISSING_IF")" ] && echo "$PIN_ROOT/$MISSING_IF exists")"
fi

# Preallocated LRU tables: a size needing gigabytes of kernel memory is
# refused, saying how much it would take (4Mi+1 flows x 1.25 x 128 B).
ptrig attach "$IF" -c good.conf --max-flows 67108864
left=$(leftovers)
if [ $rc -eq 2 ] && grep -q -- '--max-flows 67108864: at most 4194304; the flow tables would take about 10240 MiB of kernel memory' <<<"$err" &&
	[ -z "$left" ]; then
	pass attach_max_flows_too_large_says_memory
else
	fail attach_max_flows_too_large_says_memory "$(ctx) $left"
fi
ptrig attach "$IF" -c good.conf --max-triggers 2097152
if [ $rc -eq 2 ] && grep -q -- '--max-triggers 2097152: at most 1048576; the trigger table would take about 224 MiB' <<<"$err"; then
	pass attach_max_triggers_too_large_says_memory
else
	fail attach_max_triggers_too_large_says_memory "$(ctx)"
fi

ptrig attach "$IF" -c good.conf --xdp-mode bogus
left=$(leftovers)
if [ $rc -eq 2 ] && grep -q -- '--xdp-mode: "bogus"' <<<"$err" && [ -z "$left" ]; then
	pass attach_xdp_mode_bogus_exit_2
else
	fail attach_xdp_mode_bogus_exit_2 "$(ctx) $left"
fi

ptrig detach "$IF"
if [ $rc -eq 1 ] && grep -q "not attached to $IF" <<<"$err"; then
	pass detach_not_attached_exit_1
else
	fail detach_not_attached_exit_1 "$(ctx)"
fi

# ---- an attach killed at every step -------------------------------------------
# PTRIG_TEST_KILL_AT makes the loader SIGKILL itself at a named step of
# attach (no cleanup runs). Whatever it left must go with `detach`, and the
# next `attach` must work over it (then a detach leaves nothing).
for step in pin-dir maps-pinned clsact tc-ingress tc-egress xdp; do
	PTRIG_TEST_KILL_AT=$step ptrig attach "$IF" -c good.conf --xdp-mode generic
	killed_rc=$rc
	ptrig detach "$IF"
	left=$(leftovers)
	if [ "$killed_rc" -eq 137 ] && [ $rc -eq 0 ] && [ -z "$left" ]; then
		pass "killed_at_${step}_detach_cleans_up"
	else
		fail "killed_at_${step}_detach_cleans_up" "attach rc=$killed_rc; detach $(ctx) $left"
	fi
	PTRIG_TEST_KILL_AT=$step ptrig attach "$IF" -c good.conf --xdp-mode generic
	killed_rc=$rc
	ptrig attach "$IF" -c good.conf --xdp-mode generic
	attach_rc=$rc attach_ctx=$(ctx)
	progs=$(ip netns exec "$NS" bpftool net show dev "$IF" | grep -c "^$IF(")
	ptrig detach "$IF"
	left=$(leftovers)
	if [ "$killed_rc" -eq 137 ] && [ "$attach_rc" -eq 0 ] && [ "$progs" -eq 3 ] &&
		[ $rc -eq 0 ] && [ -z "$left" ]; then
		pass "killed_at_${step}_next_attach_recovers"
	else
		fail "killed_at_${step}_next_attach_recovers" \
			"attach rc=$killed_rc; re-attach [$attach_ctx], $progs programs (want xdp, tc ingress, tc egress); detach $(ctx) $left"
	fi
done

# ---- generic XDP on an interface that already has a clsact qdisc -------------

tc -n "$NS" qdisc add dev "$IF" clsact || die setup "tc qdisc add clsact"
ptrig attach "$IF" -c good.conf --xdp-mode generic
mode=$(status_json | jq -r '.interfaces[0].xdp_mode')
xdp_line=$(ip netns exec "$NS" bpftool net show dev "$IF" | grep "^$IF(.*generic id")
if [ $rc -eq 0 ] && grep -q "attached to $IF (XDP generic" <<<"$out" &&
	[ "$mode" = generic ] && [ -n "$xdp_line" ]; then
	pass attach_xdp_generic
else
	fail attach_xdp_generic "$(ctx) status xdp_mode=$mode bpftool xdp=[$xdp_line]"
fi

created=$(bpftool -j map lookup pinned "$PIN/${MAP_cfg}" key 0 0 0 0 | jq -r '.formatted.value.created_clsact')
if [ "$created" = 0 ]; then
	pass foreign_clsact_not_claimed
else
	fail foreign_clsact_not_claimed "cfg created_clsact=$created, want 0"
fi

ptrig detach "$IF"
progs=$(ip netns exec "$NS" bpftool net show dev "$IF" | grep "$IF(")
if [ $rc -eq 0 ] && has_clsact && [ -z "$progs" ] && [ ! -e "$PIN" ]; then
	pass detach_keeps_foreign_clsact
else
	fail detach_keeps_foreign_clsact "$(ctx) clsact=$(has_clsact && echo yes || echo no) progs=[$(brief "$progs")] pins=$([ -e "$PIN" ] && echo yes || echo no)"
fi
if has_clsact; then # (already gone if detach wrongly removed it)
	tc -n "$NS" qdisc del dev "$IF" clsact || die setup "tc qdisc del clsact"
fi

# ---- attach failing after the hooks were touched ------------------------------

if ip -n "$NS" link add "$BR" type bridge 2>/dev/null && ip -n "$NS" link set "$BR" up; then
	ptrig attach "$BR" -c good.conf
	left=$(leftovers "$BR")
	if [ $rc -eq 1 ] && grep -q "attaching XDP in native mode to $BR" <<<"$err" &&
		grep -q -- '--xdp-mode generic' <<<"$err" && [ -z "$left" ]; then
		pass attach_native_unsupported_rolls_back
	else
		fail attach_native_unsupported_rolls_back "$(ctx) $left"
	fi

	# An upgrade that fails half-way puts the running programs back.
	ptrig attach "$BR" -c good.conf --xdp-mode generic
	[ $rc -eq 0 ] || die setup "attach $BR --xdp-mode generic: $(ctx)"
	ids=$(prog_ids "$BR")
	ptrig attach "$BR" -c good.conf --xdp-mode native
	ids2=$(prog_ids "$BR")
	if [ $rc -eq 1 ] && grep -q "nothing was changed on $BR" <<<"$err" &&
		[ "$ids2" = "$ids" ] && [ -e "$(pindir "$BR")/${MAP_cfg}" ]; then
		pass failed_upgrade_keeps_programs
	else
		fail failed_upgrade_keeps_programs "$(ctx) programs before [$ids] after [$ids2]"
	fi
	ptrig detach "$BR"
	[ $rc -eq 0 ] || die setup "detach $BR: $(ctx)"
	ip -n "$NS" link del "$BR"
else
	skip attach_native_unsupported_rolls_back "cannot create a bridge"
	skip failed_upgrade_keeps_programs "cannot create a bridge"
fi

# ---- attach (native XDP) -----------------------------------------------------

ptrig attach "$IF" -c good.conf
if [ $rc -eq 0 ] && grep -q "attached to $IF (XDP native, 3 rules, maps in $PIN)" <<<"$out"; then
	pass attach_native
else
	die attach_native "$(ctx)"
fi

net=$(ip netns exec "$NS" bpftool net show dev "$IF")
read -r xdp_id tci_id tce_id <<<"$(prog_ids)"
xdp_name=$(bpftool -j prog show id "${xdp_id:-0}" 2>/dev/null | jq -r .name)
if grep -q "^$IF(.*driver id $xdp_id\$" <<<"$net" && [ "$xdp_name" = ptrig_xdp_ingress ] &&
	grep -q "^$IF(.*clsact/ingress ptrig_tc_ingres:\[$tci_id\]" <<<"$net" &&
	grep -q "^$IF(.*clsact/egress ptrig_tc_egress:\[$tce_id\]" <<<"$net"; then
	pass bpftool_net_show_lists_programs
else
	fail bpftool_net_show_lists_programs "xdp id $xdp_id name $xdp_name; bpftool: $(brief "$net")"
fi

missing=
for m in $MAPS; do [ -e "$PIN/$m" ] || missing="$missing $m"; done
if [ -z "$missing" ]; then
	pass maps_pinned
else
	fail maps_pinned "missing in $PIN:$missing"
fi

dump=$(bpftool map dump pinned "$PIN/${MAP_cfg}" 2>&1)
if grep -q "\"layout_version\": ${MAP_cfg##*_v}," <<<"$dump" && grep -q '"created_clsact": 1,' <<<"$dump" &&
	grep -q '"rule_count": 3,' <<<"$dump" && grep -q '"mark": 1048576,' <<<"$dump"; then
	pass cfg_map_named_fields
else
	fail cfg_map_named_fields "$(brief "$dump")"
fi

# The whole rules map is 2 x 16384 entries (12 MB of text): look for the
# fields, not a shape.
bpftool map dump pinned "$PIN/${MAP_rules}" >"$T/rules.dump" 2>&1
if grep -q '"name": "game",' "$T/rules.dump" && grep -q '"trigger_timeout_s": 300,' "$T/rules.dump" &&
	grep -q '"peer_mode": 1,' "$T/rules.dump" && grep -q '"tcp_flow_timeout_s": 120,' "$T/rules.dump"; then
	pass rules_map_named_fields
else
	fail rules_map_named_fields "no named fields for the rules in: $(brief "$(head -c 2000 "$T/rules.dump")")"
fi
rm -f "$T/rules.dump"

sj=$(status_json)
src=$?
if [ $src -eq 0 ] && jq -e --arg xdp "$xdp_id" '
	.interfaces | length == 1 and (.[0] |
	.name == "lt0" and .xdp_mode == "native" and (.programs.xdp | tostring) == $xdp and
	.mark == "0x00100000" and .triggers == [] and
	([.rules[].name] == ["irc", "game", "ftp"]) and
	(.rules[] | select(.name == "irc") | .trigger == "tcp:6667" and .open == "tcp:113" and
	 .timeout == 600 and .peer == "any") and
	(.rules[] | select(.name == "game") | .trigger == "udp:27015" and
	 .open == "udp:4380,27000-27010" and .timeout == 600 and .peer == "trigger") and
	(.rules[] | select(.name == "ftp") | .timeout == 300 and .flow_timeout.tcp == 120) and
	all(.rules[]; .counters | has("triggers_opened") and has("flows_opened") and has("refused_peer")))' \
	<<<"$sj" >/dev/null; then
	pass status_json
else
	fail status_json "rc=$src $(brief "$sj") $(brief "$(cat "$T/status.err")")"
fi

# Without IFACE: every pin directory (other interfaces may be listed too).
ptrig status --json
if [ $rc -eq 0 ] && jq -e --arg xdp "$xdp_id" \
	'any(.interfaces[]; .name == "lt0" and (.programs.xdp | tostring) == $xdp and (.rules | length) == 3)' \
	<<<"$out" >/dev/null; then
	pass status_all_json
else
	fail status_all_json "$(ctx)"
fi

ptrig status "$IF"
if [ $rc -eq 0 ] && grep -q "^Interface $IF: XDP native (prog $xdp_id)" <<<"$out" &&
	grep -q '^Rules (3):' <<<"$out" &&
	grep -Eq '^  NAME +TRIGGER +OPEN +TIMEOUT +PEER ' <<<"$out" &&
	grep -Eq '^  irc +tcp:6667 +tcp:113 +600 +any +0 ' <<<"$out" &&
	grep -Eq '^  game +udp:27015 +udp:4380,27000-27010 +600 +trigger +0 ' <<<"$out" &&
	grep -Eq '^  ftp +tcp:21 +tcp:50000-50010 +300 +any +0 ' <<<"$out" &&
	grep -q '^Active triggers (0):' <<<"$out"; then
	pass status_text_table
else
	fail status_text_table "$(ctx)"
fi

ptrig flows "$IF" --json
if [ $rc -eq 0 ] && jq -e '.interface == "lt0" and .flows == []' <<<"$out" >/dev/null; then
	pass flows_json
else
	fail flows_json "$(ctx)"
fi

if [ -n "$NOBODY" ]; then
	run as_nobody "$T/ptrig-load" --netns "$NS" detach "$IF"
	ids=$(prog_ids)
	if [ $rc -eq 1 ] && grep -q 'needs root' <<<"$err" && [ "$ids" = "$xdp_id $tci_id $tce_id" ] &&
		[ -e "$PIN/${MAP_cfg}" ]; then
		pass detach_without_root
	else
		fail detach_without_root "via $NOBODY: $(ctx) programs now [$ids]"
	fi
else
	skip detach_without_root "neither setpriv nor su (with a nobody user) is available"
fi

# ---- a trigger written by hand survives an upgrade ---------------------------

# struct ptrig_trigger_key { u32 rule_id; be32 peer; be32 external } (peer 0:
# peer=any; external: the NATed source, as the owner differs from it), and
# struct ptrig_trigger { be32 owner, external, peer; u32 generation;
# u64 last_seen_ns, opened_ns }.
OWNER=192.0.2.10
if read -r irc_id irc_gen <<<"$(rule_id_of irc)" && [ -n "$irc_id" ]; then
	trig_key="$(le32 "$irc_id") $(ipbe 0.0.0.0) $(ipbe $IF_ADDR)"
	now=$(now_ns)
	trig_val="$(ipbe $OWNER) $(ipbe $IF_ADDR) $(ipbe 192.0.2.99) $(le32 "$irc_gen") $(le64 "$now") $(le64 "$now")"
	# shellcheck disable=SC2086
	run bpftool map update pinned "$PIN/${MAP_trig}" key hex $trig_key value hex $trig_val
	owner=$(status_json | jq -r '.interfaces[0].triggers[] | select(.rule == "irc") | .owner')
	if [ $rc -eq 0 ] && [ "$owner" = $OWNER ]; then
		pass trigger_written_shows_in_status
	else
		fail trigger_written_shows_in_status "bpftool update: $(ctx); status owner=[$owner]"
	fi
else
	trig_key=
	fail trigger_written_shows_in_status "rule irc not found in the active set of ${MAP_rules}"
fi

# trig_owner: the owner bytes of the hand-written trigger, as stored.
trig_owner() {
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$PIN/${MAP_trig}" key hex $trig_key 2>/dev/null |
		jq -r '.value[0:4] | map(ltrimstr("0x")) | join(" ")'
}

ptrig attach "$IF" -c good.conf --max-flows 1024
ids=$(prog_ids)
if [ $rc -eq 1 ] && grep -q "${MAP_flows} .*does not match" <<<"$err" &&
	grep -q "nothing was changed on $IF" <<<"$err" &&
	[ "$ids" = "$xdp_id $tci_id $tce_id" ] && [ "$(trig_owner)" = "$(ipbe $OWNER)" ]; then
	pass attach_other_max_flows_refused
else
	fail attach_other_max_flows_refused "$(ctx) programs [$ids], were [$xdp_id $tci_id $tce_id]"
fi

ptrig attach "$IF" -c good.conf
read -r xdp2 tci2 tce2 <<<"$(prog_ids)"
if [ $rc -eq 0 ] && grep -q "upgraded on $IF (XDP native, 3 rules" <<<"$out"; then
	pass upgrade
else
	fail upgrade "$(ctx)"
fi
if [ "${xdp2:-0}" != 0 ] && [ "${tci2:-0}" != 0 ] && [ "${tce2:-0}" != 0 ] &&
	[ "$xdp2" != "$xdp_id" ] && [ "$tci2" != "$tci_id" ] && [ "$tce2" != "$tce_id" ]; then
	pass upgrade_replaces_programs
else
	fail upgrade_replaces_programs "before [$xdp_id $tci_id $tce_id] after [$xdp2 $tci2 $tce2]"
fi

if [ -n "$trig_key" ] && [ "$(trig_owner)" = "$(ipbe $OWNER)" ]; then
	pass upgrade_keeps_trigger_entry
else
	fail upgrade_keeps_trigger_entry "${MAP_trig}[$trig_key] owner=[$(trig_owner)], want [$(ipbe $OWNER)]"
fi

owner=$(status_json | jq -r '.interfaces[0].triggers[] | select(.rule == "irc") | .owner')
if [ "$owner" = $OWNER ]; then
	pass upgrade_keeps_trigger_in_status
else
	fail upgrade_keeps_trigger_in_status "status triggers: $(brief "$(status_json | jq -c '.interfaces[0].triggers')")"
fi

# ---- monitor, and a trigger opened by the datapath ---------------------------

if command -v socat >/dev/null 2>&1; then have_socat=1; else have_socat=0; fi
start=$(date +%s%N)
timeout 15 "$P" --netns "$NS" monitor "$IF" --json --duration 3 >"$T/mon.out" 2>"$T/mon.err" &
mon_pid=$!
if [ $have_socat = 1 ]; then
	sleep 0.5
	# The LAN host's datagram, forwarded out of lt0 (lt1 receives it and,
	# not forwarding, drops it). TC egress sees udp:27015.
	echo ptrig-test | ip netns exec "$CLIENT_NS" socat -u - \
		"UDP4-SENDTO:$REMOTE_ADDR:27015,bind=$CLIENT_ADDR:40000" 2>"$T/socat.err"
	sent=$?
fi
wait "$mon_pid"
mon_rc=$?
mon_pid=
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [ $mon_rc -eq 0 ] && [ $elapsed_ms -ge 2500 ] && [ $elapsed_ms -lt 8000 ]; then
	pass monitor_duration
else
	fail monitor_duration "rc=$mon_rc after ${elapsed_ms} ms; stderr=[$(brief "$(cat "$T/mon.err")")]"
fi

if [ $have_socat = 0 ]; then
	skip monitor_trigger_event "socat is not installed"
	skip datapath_trigger_in_status "socat is not installed"
	game_owner=
else
	if [ "$sent" = 0 ] && jq -e -s 'any(.[]; .event == "trigger_opened" and .rule == "game" and
		.proto == "udp" and .host == "198.51.100.2" and .remote == "192.0.2.3" and
		.remote_port == 27015 and .local_port == 40000)' "$T/mon.out" >/dev/null; then
		pass monitor_trigger_event
	else
		fail monitor_trigger_event "socat rc=$sent [$(brief "$(cat "$T/socat.err")")]; monitor: $(brief "$(cat "$T/mon.out")")"
	fi
	game_owner=$(status_json | jq -r '.interfaces[0].triggers[] | select(.rule == "game") | "\(.owner) \(.peer)"')
	if [ "$game_owner" = "$CLIENT_ADDR $REMOTE_ADDR" ]; then
		pass datapath_trigger_in_status
	else
		fail datapath_trigger_in_status "game trigger owner/peer=[$game_owner]"
	fi
fi

# ---- reload ------------------------------------------------------------------

ptrig reload "$IF" -c bad.conf
names=$(status_json | jq -c '[.interfaces[0].rules[].name]')
if [ $rc -eq 2 ] && grep -q '^bad.conf:3: ' <<<"$err" && [ "$names" = '["irc","game","ftp"]' ]; then
	pass reload_bad_config_changes_nothing
else
	fail reload_bad_config_changes_nothing "$(ctx) rules now $names"
fi

ptrig reload "$IF" -c reload.conf
sj=$(status_json)
if [ $rc -eq 0 ] && grep -q "$IF now has 2 rules" <<<"$out"; then
	pass reload
else
	fail reload "$(ctx)"
fi
if jq -e '[.interfaces[0].rules[].name] == ["irc", "game"] and
	(.interfaces[0].rules[] | select(.name == "game") | .open == "udp:4380,27000-27011")' <<<"$sj" >/dev/null; then
	pass reload_removes_rule
else
	fail reload_removes_rule "rules: $(brief "$(jq -c '[.interfaces[0].rules[] | [.name, .open]]' <<<"$sj")")"
fi
if jq -e --arg o $OWNER 'any(.interfaces[0].triggers[]; .rule == "irc" and .owner == $o)' <<<"$sj" >/dev/null; then
	pass reload_keeps_unchanged_rule_trigger
else
	fail reload_keeps_unchanged_rule_trigger "triggers: $(brief "$(jq -c '.interfaces[0].triggers' <<<"$sj")")"
fi
if [ -z "$game_owner" ]; then
	skip reload_drops_changed_rule_trigger "no datapath trigger (socat missing)"
elif jq -e 'all(.interfaces[0].triggers[]; .rule != "game")' <<<"$sj" >/dev/null; then
	pass reload_drops_changed_rule_trigger
else
	fail reload_drops_changed_rule_trigger "triggers: $(brief "$(jq -c '.interfaces[0].triggers' <<<"$sj")")"
fi

# ---- a map of an older layout: warned about on attach, removed on detach ------

bpftool map create "$PIN/ptrig_flows_v0" type hash key 4 value 4 entries 4 name ptrig_flows_v0 2>/dev/null
ptrig attach "$IF" -c "$T/good.conf"
if [ $rc -eq 0 ] && grep -q "ptrig_flows_v0 is from another ptrig map layout" <<<"$err"; then
	pass attach_warns_other_layout
else
	fail attach_warns_other_layout "$(ctx)"
fi

# ---- detach ------------------------------------------------------------------

ptrig detach "$IF"
left=$(leftovers)
if [ $rc -eq 0 ] && grep -q "detached from $IF" <<<"$out" && [ -z "$left" ]; then
	pass detach_leaves_nothing
else
	fail detach_leaves_nothing "$(ctx) $left"
fi

# ---- clean up, and check it -----------------------------------------------------

cd / || true
cleanup
if ! ip netns list | grep -qw "$NS" && [ ! -e "$PIN" ]; then
	pass cleanup
else
	fail cleanup "namespace $NS or $PIN still exists"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
