#!/usr/bin/env bash
# End-to-end: the advice `ptrig-load attach` prints does what it says, on the
# running kernel (this machine's, or a Debian kernel in tools/vm.sh).
#   1. Conntrack kfuncs. Where nf_conntrack is a module that is not loaded,
#      the lab comes up without its firewall (which would load conntrack) and
#      attach loads, warns, and advises `modprobe nf_conntrack` and attaching
#      again. The test runs the command quoted in the warning; the second
#      attach (an in-place upgrade) loads and says the kfuncs come from the
#      nf_conntrack module. Where conntrack is built in or already loaded,
#      attach says where the kfuncs are and does not warn.
#   2. Trigger through the NAT: lanhost1 -> remote1:6667 is masqueraded, and
#      ptrig still finds lanhost1 behind the router's address (conntrack).
#   3. The firewall rule attach prints: without any mark rule the stateful
#      forward chain drops the translated connection; with the printed rule
#      added verbatim, remote1 -> WAN:113 reaches lanhost1, data intact.
# (`--xdp-mode generic` after a native XDP failure: tests/loader.)
# Env: LAB_PREFIX (default ptl-), PTRIG_PIN_ROOT (default /sys/fs/bpf/ptrig).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# nf_conntrack: "builtin", "module" (loaded) or "absent" (a module not
# loaded, or none). Built-in code has a /sys/module entry (its parameters)
# but no initstate.
ct_state() {
	if [ -e /sys/module/nf_conntrack/initstate ]; then
		echo module
	elif [ -d /sys/module/nf_conntrack ]; then
		echo builtin
	else
		echo absent
	fi
}

# attach_capture: attach wan0, leaving $rc, $out (stdout) and $err (stderr).
attach_capture() {
	ptrig attach "$LAB_WAN_IF" -c "$T/ptrig.conf" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	sed 's/^/    | /' "$T/out" "$T/err"
}

e2e_init
CT0=$(ct_state)
note "nf_conntrack at start: $CT0 (kernel $(uname -r))"

if [ "$CT0" = absent ]; then
	# The lab's masquerade and stateful forward chain load nf_conntrack:
	# bring the lab up with an empty table first, the real one comes after.
	eval "lab_real_ruleset() $(declare -f _lab_nft_ruleset | tail -n +2)"
	_lab_nft_ruleset() { echo "table inet $LAB_NFT_TABLE { }"; }
fi
e2e_ptrig_lab
cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113
EOF

# ---- 1. where the conntrack kfuncs are ---------------------------------------------
attach_capture
assert_eq 0 "$rc" "attach exits 0 (nf_conntrack: $CT0)"
case "$CT0" in
absent)
	assert_eq absent "$(ct_state)" "the lab without firewall left nf_conntrack unloaded"
	assert_match 'warning: conntrack kfuncs not found' "$err" "attach warns: conntrack kfuncs not found"
	# shellcheck disable=SC2016 # backquotes, not an expansion
	advice=$(grep -o '`[^`]*`' <<<"$err" | tr -d '`' | head -1)
	assert_eq "modprobe nf_conntrack" "$advice" "the warning advises \`modprobe nf_conntrack\`"
	# Follow it as a user would, word for word.
	[ "$advice" = "modprobe nf_conntrack" ] || die "no advice to follow"
	$advice
	assert_eq 0 $? "the advised command ran"
	assert_eq module "$(ct_state)" "nf_conntrack is now a loaded module"
	attach_capture
	assert_eq 0 "$rc" "attach again exits 0 (the kernel once refused this load: invalid btf_id)"
	assert_match "upgraded on $LAB_WAN_IF" "$out" "attach again is an in-place upgrade"
	assert_match '^ptrig: conntrack kfuncs: from the nf_conntrack module$' "$out" \
		"attach again: kfuncs from the nf_conntrack module"
	check_not "attach again does not warn" grep -q warning "$T/err"
	# Now the lab's real firewall: masquerade, stateful forward chain.
	lab_real_ruleset | lab_exec router nft -f -
	assert_eq 0 $? "lab firewall loaded"
	;;
module)
	assert_match '^ptrig: conntrack kfuncs: from the nf_conntrack module$' "$out" \
		"attach: kfuncs from the nf_conntrack module"
	check_not "attach does not warn" grep -q warning "$T/err"
	;;
builtin)
	assert_match '^ptrig: conntrack kfuncs: built into the kernel$' "$out" \
		"attach: kfuncs built into the kernel"
	check_not "attach does not warn" grep -q warning "$T/err"
	;;
esac

# ---- 2. trigger through the NAT ------------------------------------------------------
check "trigger lanhost1 -> remote1:6667 through the masquerade: ptrig found owner $H1" irc_trigger

# ---- 3. the printed firewall rule ------------------------------------------------------
rule=$(awk '/add to its forward chain:/ { getline; sub(/^ +/, ""); print; exit }' "$T/out")
assert_match '^ct state new meta mark & 0x[0-9a-f]{8} == 0x[0-9a-f]{8} accept$' "$rule" \
	"attach printed a firewall rule"
lab_fw_mark_rule_del
check_not "the lab's own mark rule is gone" lab_fw_mark_rule_present
check_not_forwarded "without a mark rule" 113
# shellcheck disable=SC2086 # the printed rule is nft words
lab_exec router nft add rule inet "$LAB_NFT_TABLE" forward $rule
assert_eq 0 $? "the printed rule is valid nft: added to the forward chain"
check "with the printed rule: 256 KiB remote1 -> $WAN:113 -> lanhost1 intact" \
	xfer_tcp remote1 lanhost1 "$WAN" 113 262144

e2e_finish
