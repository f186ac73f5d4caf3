#!/usr/bin/env bash
# Interface identity: ptrig's state belongs to one interface of one network
# namespace, and ptrig only ever removes what it attached itself.
#   - the same name (wan0) in two namespaces: separate pins, rules and state;
#     a command without --netns touches neither;
#   - detach next to other tools' filters (a matchall and a classic-BPF
#     cls_bpf filter): they, and their clsact qdisc, survive;
#   - a renamed interface: the programs stay on it, `attach NEWNAME` moves the
#     pins and keeps the state, `detach OLDNAME` finds it;
#   - a recreated interface: the pins (and state) wait for the next attach;
#     detach never removes a qdisc of the new device;
#   - pins an older ptrig-load made at ROOT/IFACE for a namespace's
#     interface are picked up with their state by that namespace only.
#
# Needs root, bpffs, bpftool, iproute2 (ip, tc), jq. Everything lives in two
# namespaces of its own (ptida-$$, ptidb-$$; veth wan0 <-> wanp0 in each,
# 192.0.2.1/24 and 192.0.2.2/24) and a private pin root, removed on exit.
# No traffic is sent: state is written into the maps with bpftool.
#
# Output: one "PASS: name" or "FAIL: name: detail" line per check, then
# "N passed, M failed"; exit status 1 if any check failed.
set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
P=${PTRIG_LOAD:-$BUILD/ptrig-load}
A=ptida-$$
B=ptidb-$$
PIN_ROOT=
T=
MAP_cfg='' MAP_rules='' MAP_trig=''
while read -r field name; do
	printf -v "MAP_$field" '%s' "$name"
done <"$BUILD/ptrig-maps.txt"

# shellcheck source-path=SCRIPTDIR source=../lib/check.sh
source tests/lib/check.sh
# A setup step failed: later checks would only repeat it.
die() {
	fail "$1: $2"
	check_summary
	exit 1
}
brief() { printf '%s' "$1" | tr '\n' '|' | cut -c1-400; }
# run CMD...: leaves $rc, $out and $err.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
ctx() { echo "rc=$rc stdout=[$(brief "$out")] stderr=[$(brief "$err")]"; }

# shellcheck source=../lib/bytes.sh
source "$(dirname "$0")/../lib/bytes.sh"
# CLOCK_MONOTONIC in ns (the datapath's clock), from /proc/timer_list.
now_ns() { awk '/^now at [0-9]+ nsecs/ { print $3; exit }' /proc/timer_list; }

PROGS="ptrig_tc_egress ptrig_tc_ingress ptrig_xdp_ingress"
# PTRIG_LOAD=an older ptrig-load (no pindir: pins at ROOT/IFACE) shows what
# this test catches.
pindir() { "$P" --netns "$1" pindir "$2" 2>/dev/null || echo "$PIN_ROOT/$2"; }
# progs NS DEV: names of the programs on DEV's XDP and TC hooks, sorted.
progs() {
	local id
	for id in $(ip netns exec "$1" bpftool -j net show dev "$2" 2>/dev/null |
		jq -r '.[] | (.xdp[]?.id // empty), (.tc[]?.id // empty)'); do
		bpftool -j prog show id "$id" | jq -r .name
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
has_clsact() { tc -n "$1" qdisc show dev "$2" | grep -q clsact; }
filters() { tc -n "$1" filter show dev "$2" "$3" | grep -c "^filter.*pref $4 "; }
status_rules() { "$P" --netns "$1" status "$2" --json | jq -r '[.interfaces[0].rules[].name] | join(",")'; }
triggers() { "$P" --netns "$1" status "$2" --json | jq -r '[.interfaces[0].triggers[] | "\(.rule)=\(.owner)"] | join(",")'; }

# put_trigger NS DEV RULE OWNER: write an open trigger of RULE (rule id 1,
# the file's first rule) owned by OWNER into DEV's trigger map.
put_trigger() {
	local dir set gen now
	dir=$(pindir "$1" "$2")
	set=$(bpftool -j map lookup pinned "$dir/$MAP_cfg" key 0 0 0 0 | jq -r '.formatted.value.active_set')
	# shellcheck disable=SC2046
	gen=$(bpftool -j map lookup pinned "$dir/$MAP_rules" key hex $(le32 $((set * 16384 + 1))) |
		jq -r '.formatted.value.generation')
	now=$(now_ns)
	# key: rule id, peer (any), external (0: not NATed)
	# shellcheck disable=SC2046
	bpftool map update pinned "$dir/$MAP_trig" key hex $(le32 1) $(ipbe 0.0.0.0) $(ipbe 0.0.0.0) \
		value hex $(ipbe "$4") $(ipbe 192.0.2.1) $(ipbe 192.0.2.99) $(le32 "$gen") \
		$(le64 "$now") $(le64 "$now")
}

# mkwan NS [DEV [PEER]]: a veth DEV (wan0) <-> PEER (wanp0) in NS, up.
mkwan() {
	local dev=${2:-wan0} peer=${3:-wanp0}
	ip -n "$1" link add "$dev" type veth peer name "$peer" &&
		ip -n "$1" addr add 192.0.2.1/24 dev "$dev" &&
		ip -n "$1" link set "$dev" up && ip -n "$1" link set "$peer" up
}

cleanup() {
	local ns dev
	if [ -n "$PIN_ROOT" ]; then
		for ns in "$A" "$B"; do
			for dev in wan0 wan8 wan9; do
				"$P" --netns "$ns" detach "$dev" >/dev/null 2>&1
			done
		done
		rm -rf -- "$PIN_ROOT"
	fi
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	[ -n "$T" ] && rm -rf -- "$T"
	return 0
}

[ "$(id -u)" -eq 0 ] || die setup "needs root"
[ -x "$P" ] || die setup "$P not built: run make"
for tool in ip tc bpftool jq; do
	command -v "$tool" >/dev/null 2>&1 || die setup "$tool is not installed"
done
mountpoint -q /sys/fs/bpf || die setup "bpffs is not mounted on /sys/fs/bpf"
T=$(mktemp -d /tmp/ptid.XXXXXX) || die setup mktemp
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
PIN_ROOT=$(mktemp -d /sys/fs/bpf/ptrig-test-identity-XXXXXX) || die setup "mktemp in bpffs"
export PTRIG_PIN_ROOT=$PIN_ROOT
for ns in "$A" "$B"; do
	if ! { ip netns add "$ns" && ip -n "$ns" link set lo up && mkwan "$ns"; }; then
		die setup "namespace $ns"
	fi
done
echo "alpha tcp:6667 tcp:113" >"$T/a.conf"
echo "beta udp:27015 udp:27000" >"$T/b.conf"
# Generic XDP: veth native XDP would need XDP on the peer as well.
attach() { "$P" --netns "$1" attach "$2" -c "$3" --xdp-mode generic; }

# ---- the same name in two namespaces ------------------------------------------

da=$(pindir "$A" wan0)
db=$(pindir "$B" wan0)
ino_a=$(stat -L -c %i "/run/netns/$A")
case "$da|$db" in
"$PIN_ROOT/netns:$ino_a:"*/wan0"|$PIN_ROOT/netns:"*/wan0)
	if [ "$da" != "$db" ]; then
		pass "same name, two namespaces: two pin directories ($(basename "$(dirname "$da")"), $(basename "$(dirname "$db")"))"
	else
		fail "same_name_dirs: both at $da"
	fi
	;;
*) fail "same_name_dirs: unexpected pin directories [$da] [$db]" ;;
esac

run attach "$A" wan0 "$T/a.conf"
rc_a=$rc
run attach "$B" wan0 "$T/b.conf"
if [ $rc_a -eq 0 ] && [ $rc -eq 0 ] && [ "$(status_rules "$A" wan0)" = alpha ] &&
	[ "$(status_rules "$B" wan0)" = beta ]; then
	pass "wan0 in each namespace runs its own rules (alpha / beta)"
else
	fail "own_rules: attach B: $(ctx); rules A=[$(status_rules "$A" wan0)] B=[$(status_rules "$B" wan0)]"
fi
all_a=$("$P" --netns "$A" status --json | jq -r '[.interfaces[] | "\(.name):\(.rules[0].name)"] | join(",")')
all_b=$("$P" --netns "$B" status --json | jq -r '[.interfaces[] | "\(.name):\(.rules[0].name)"] | join(",")')
pd_a=$("$P" --netns "$A" status wan0 --json | jq -r '.interfaces[0].pin_dir')
if [ "$all_a" = wan0:alpha ] && [ "$all_b" = wan0:beta ] && [ "$pd_a" = "$da" ]; then
	pass "status without IFACE lists only its own namespace's wan0; status shows the pin directory"
else
	fail "status_all: A=[$all_a] B=[$all_b] pin_dir=[$pd_a]"
fi
ida=$(bpftool -j map show pinned "$da/$MAP_trig" | jq -r .id)
idb=$(bpftool -j map show pinned "$db/$MAP_trig" | jq -r .id)
if [ -n "$ida" ] && [ -n "$idb" ] && [ "$ida" != "$idb" ]; then
	pass "separate trigger maps (ids $ida, $idb)"
else
	fail "separate_maps: trigger map ids [$ida] [$idb]"
fi
put_trigger "$A" wan0 alpha 198.51.100.7 >/dev/null
if [ "$(triggers "$A" wan0)" = alpha=198.51.100.7 ] && [ -z "$(triggers "$B" wan0)" ]; then
	pass "a trigger in A's wan0 is not in B's"
else
	fail "separate_state: A=[$(triggers "$A" wan0)] B=[$(triggers "$B" wan0)]"
fi
run "$P" detach wan0
if [ $rc -eq 1 ] && grep -q "not attached to wan0" <<<"$err" &&
	[ "$(progs "$A" wan0)" = "$PROGS" ] &&
	[ "$(progs "$B" wan0)" = "$PROGS" ]; then
	pass "detach wan0 without --netns: refused, both namespaces untouched"
else
	fail "detach_no_netns: $(ctx); A=[$(progs "$A" wan0)] B=[$(progs "$B" wan0)]"
fi

# ---- other tools' filters survive a detach ------------------------------------

# ptrig made B's clsact qdisc; another tool then added a u32 filter on
# ingress and a classic-BPF cls_bpf filter on egress.
if ! { tc -n "$B" filter add dev wan0 ingress pref 10 u32 match u32 0 0 classid 1:1 &&
	tc -n "$B" filter add dev wan0 egress pref 11 bpf bytecode '1,6 0 0 4294967295,' classid 1:1; }; then
	fail "foreign_filters: tc filter add failed"
fi
created=$(bpftool -j map lookup pinned "$db/$MAP_cfg" key 0 0 0 0 | jq -r '.formatted.value.created_clsact')
run "$P" --netns "$B" detach wan0
if [ $rc -eq 0 ] && [ "$created" = 1 ] && has_clsact "$B" wan0 &&
	[ "$(filters "$B" wan0 ingress 10)" -ge 1 ] && [ "$(filters "$B" wan0 egress 11)" -ge 1 ] &&
	[ -z "$(progs "$B" wan0)" ] && [ ! -e "$db" ]; then
	pass "detach keeps the clsact qdisc ptrig made once others' filters use it (u32, cls_bpf kept)"
else
	fail "detach_foreign_filters: $(ctx) created_clsact=$created clsact=$(has_clsact "$B" wan0 && echo yes)" \
		"filters: $(tc -n "$B" filter show dev wan0 ingress | head -3 | tr '\n' '|') progs=[$(progs "$B" wan0)]"
fi
if [ "$(progs "$A" wan0)" = "$PROGS" ] &&
	[ "$(triggers "$A" wan0)" = alpha=198.51.100.7 ]; then
	pass "detaching B's wan0 leaves A's wan0 and its trigger"
else
	fail "detach_other_ns: A: progs=[$(progs "$A" wan0)] triggers=[$(triggers "$A" wan0)]"
fi
# The same with the other tool's qdisc and filter there first.
tc -n "$B" qdisc del dev wan0 clsact
tc -n "$B" qdisc add dev wan0 clsact && tc -n "$B" filter add dev wan0 ingress pref 10 u32 match u32 0 0 classid 1:1
run attach "$B" wan0 "$T/b.conf"
rc_att=$rc
run "$P" --netns "$B" detach wan0
if [ $rc_att -eq 0 ] && [ $rc -eq 0 ] && has_clsact "$B" wan0 && [ "$(filters "$B" wan0 ingress 10)" -ge 1 ] &&
	[ -z "$(progs "$B" wan0)" ]; then
	pass "detach keeps another tool's clsact qdisc and filter"
else
	fail "detach_foreign_qdisc: $(ctx); progs=[$(progs "$B" wan0)]"
fi
tc -n "$B" qdisc del dev wan0 clsact 2>/dev/null
# Without other filters, the qdisc ptrig made goes with it.
run attach "$B" wan0 "$T/b.conf"
run "$P" --netns "$B" detach wan0
if [ $rc -eq 0 ] && ! has_clsact "$B" wan0; then
	pass "detach removes the clsact qdisc ptrig made when nothing else uses it"
else
	fail "detach_own_qdisc: $(ctx); clsact=$(has_clsact "$B" wan0 && echo yes)"
fi

# ---- renamed interface ----------------------------------------------------------

ip -n "$A" link set wan0 down && ip -n "$A" link set wan0 name wan9 && ip -n "$A" link set wan9 up
if [ "$(progs "$A" wan9)" = "$PROGS" ]; then
	pass "renamed wan0 -> wan9: the datapath stays on the device"
else
	fail "rename_keeps_progs: progs on wan9: [$(progs "$A" wan9)]"
fi
xdp_id() { ip netns exec "$1" bpftool -j net show dev "$2" | jq -r '[.[].xdp[]?.id] | first // "none"'; }
# status follows the rename from either name: the device's programs and
# the state (still pinned under wan0) are shown under the name it has now.
status_shows_wan9() {
	[ $rc -eq 0 ] && [ "$(jq -r '.interfaces[0].name' <<<"$out")" = wan9 ] &&
		[ "$(jq -r '.interfaces[0].programs.xdp' <<<"$out")" = "$(xdp_id "$A" wan9)" ] &&
		[ "$(jq -r '.interfaces[0].pin_dir' <<<"$out")" = "$da" ] &&
		[ "$(jq -r '[.interfaces[0].triggers[] | "\(.rule)=\(.owner)"] | join(",")' <<<"$out")" = alpha=198.51.100.7 ]
}
run "$P" --netns "$A" status wan0 --json
if status_shows_wan9 && grep -q "^ptrig-load: wan0 was renamed to wan9; showing wan9$" <<<"$err"; then
	pass "status wan0 after a rename to wan9 says so and shows wan9: its programs, trigger and pins"
else
	fail "rename_status_old: $(ctx)"
fi
run "$P" --netns "$A" status wan9 --json
if status_shows_wan9 && grep -q "^ptrig-load: wan9: its pins are at $da (its former name)$" <<<"$err"; then
	pass "status wan9 after the rename finds the pins under its former name"
else
	fail "rename_status_new: $(ctx)"
fi
run "$P" --netns "$A" flows wan9 --json
check "flows wan9 after the rename reads the pins under its former name" [ $rc -eq 0 ]
# Another device takes the old name before anyone attaches the new one.
mkwan "$A" wan0 wanp1 || fail "rename: a new wan0"
run attach "$A" wan0 "$T/a.conf"
if [ $rc -eq 1 ] && grep -q "in use by ptrig on wan9 (renamed from wan0?)" <<<"$err" &&
	[ -z "$(progs "$A" wan0)" ] && [ "$(progs "$A" wan9)" = "$PROGS" ]; then
	pass "attach of a new wan0 is refused while the renamed wan9 uses wan0's pins"
else
	fail "rename_new_device: $(ctx); progs wan0=[$(progs "$A" wan0)] wan9=[$(progs "$A" wan9)]"
fi
ip -n "$A" link del wan0
run attach "$A" wan9 "$T/a.conf"
d9=$(pindir "$A" wan9)
if [ $rc -eq 0 ] && grep -q "moved its pins from $da" <<<"$out" && [ -e "$d9/$MAP_trig" ] && [ ! -e "$da" ] &&
	[ "$(triggers "$A" wan9)" = alpha=198.51.100.7 ]; then
	pass "attach wan9 moves the pins from wan0 and keeps the trigger"
else
	fail "rename_attach: $(ctx); triggers=[$(triggers "$A" wan9)]"
fi
# A new wan0 appears while the renamed device still runs on wan9's pins.
mkwan "$A" wan0 wanp1 || fail "rename: a new wan0"
ip -n "$A" link set wan9 down && ip -n "$A" link set wan9 name wan8 && ip -n "$A" link set wan8 up
run "$P" --netns "$A" detach wan9
if [ $rc -eq 0 ] && grep -q "renamed to wan8" <<<"$err" && [ -z "$(progs "$A" wan8)" ] && [ ! -e "$d9" ]; then
	pass "detach wan9 after a rename to wan8 detaches wan8 and removes the pins"
else
	fail "rename_detach: $(ctx); progs on wan8=[$(progs "$A" wan8)]"
fi
ip -n "$A" link del wan8 2>/dev/null

# ---- recreated interface --------------------------------------------------------

ip -n "$A" link del wan0 2>/dev/null
mkwan "$A" || die recreate "mkwan"
run attach "$A" wan0 "$T/a.conf"
put_trigger "$A" wan0 alpha 198.51.100.8 >/dev/null
ip -n "$A" link del wan0
mkwan "$A" || die recreate "mkwan"
mode=$("$P" --netns "$A" status wan0 --json | jq -r '.interfaces[0].xdp_mode // .interfaces[0].mode // empty')
if [ -e "$da/$MAP_trig" ] && [ "$(triggers "$A" wan0)" = alpha=198.51.100.8 ] && [ -z "$(progs "$A" wan0)" ]; then
	pass "recreated wan0: pins and trigger wait, no programs on the new device (status: ${mode:-?})"
else
	fail "recreate_wait: triggers=[$(triggers "$A" wan0)] progs=[$(progs "$A" wan0)]"
fi
run attach "$A" wan0 "$T/a.conf"
if [ $rc -eq 0 ] && grep -q "upgraded on wan0" <<<"$out" && [ "$(triggers "$A" wan0)" = alpha=198.51.100.8 ] &&
	[ "$(progs "$A" wan0)" = "$PROGS" ]; then
	pass "attach on the recreated wan0 keeps its state"
else
	fail "recreate_attach: $(ctx); triggers=[$(triggers "$A" wan0)]"
fi
# Recreated again, and another tool makes an (empty) clsact qdisc on the new
# device: ptrig's config still says it made one, on the old device.
ip -n "$A" link del wan0
mkwan "$A" || die recreate "mkwan"
tc -n "$A" qdisc add dev wan0 clsact
run "$P" --netns "$A" detach wan0
if [ $rc -eq 0 ] && has_clsact "$A" wan0 && [ ! -e "$da" ]; then
	pass "detach after a recreate removes the pins, not the new device's clsact qdisc"
else
	fail "recreate_detach: $(ctx); clsact=$(has_clsact "$A" wan0 && echo yes)"
fi
tc -n "$A" qdisc del dev wan0 clsact 2>/dev/null

# ---- pins of an older ptrig-load (ROOT/IFACE) ----------------------------------

run attach "$A" wan0 "$T/a.conf"
put_trigger "$A" wan0 alpha 198.51.100.9 >/dev/null
ids_before=$(progs "$A" wan0)
# What an older ptrig-load left: the same pins at ROOT/wan0.
mv "$da" "$PIN_ROOT/wan0" && rmdir "$(dirname "$da")"
run attach "$B" wan0 "$T/b.conf"
if [ $rc -eq 0 ] && [ -e "$PIN_ROOT/wan0/$MAP_trig" ] && [ -z "$(triggers "$B" wan0)" ] &&
	[ "$(status_rules "$B" wan0)" = beta ]; then
	pass "old-layout pins of A's wan0: B's wan0 does not take them"
else
	fail "legacy_other_ns: $(ctx); B triggers=[$(triggers "$B" wan0)]"
fi
run attach "$A" wan0 "$T/a.conf"
if [ $rc -eq 0 ] && grep -q "upgraded on wan0" <<<"$out" && grep -q "moved the pins" <<<"$err" &&
	[ ! -e "$PIN_ROOT/wan0" ] && [ -e "$da/$MAP_trig" ] && [ "$(triggers "$A" wan0)" = alpha=198.51.100.9 ]; then
	pass "old-layout pins of A's wan0: the new loader picks them up with the trigger ($ids_before)"
else
	fail "legacy_adopt: $(ctx); triggers=[$(triggers "$A" wan0)]"
fi

check_summary
