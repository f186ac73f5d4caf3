#!/usr/bin/env bash
# The agent's rule reloads. With an irc trigger open all along:
#   1. SIGHUP with a good file (changed behind inotify's back, through a hard
#      link elsewhere): the new rules apply, the trigger stays;
#   2. SIGHUP with a bad file: the log has `check`'s exact FILE:LINE: reason,
#      the running rules stay, the failed-reload counter goes up;
#   3. an editor's rename-over (good) and an in-place write (bad), without a
#      signal: applied / rejected the same way;
#   4. a Kubernetes ConfigMap volume (file -> ..data/file, ..data swapped by
#      rename): the new rules apply without a signal;
#   5. start-up errors: bad file, no interface, bad --metrics: exit 2 and a
#      precise message, the running rules untouched.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl

mkdir -p "$T/etc" "$T/hl"
CONF=$T/etc/ptrig.conf
RULES_A="irc   tcp:6660-6669  tcp:113"
RULES_B="game  tcp:7000       tcp:7001"
RULES_C="voip  udp:5060       udp:10000-10100"
BAD="dup   tcp:8000           tcp:113"
printf '%s\n' "$RULES_A" >"$CONF"
ln "$CONF" "$T/hl/ptrig.conf" # the same file, in a directory nobody watches

rule_names() { status_jq '[.interfaces[0].rules[].name] | join(",")'; }
names_are() { [ "$(rule_names)" = "$1" ]; }
reloads() { metric "ptrig_config_reloads_total{result=\"$1\"}"; }
reloads_are() { [ "$(reloads "$1")" = "$2" ]; }
irc_trigger_kept() {
	status_test ".interfaces[0].triggers[] | select(.rule == \"irc\" and .owner == \"$H1\")"
}

agent_start -c "$CONF" wan0
agent_wait_ready 5 || {
	cat "$T/agent.log"
	die "the agent is ready"
}
pass "the agent is ready"
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"

# ---- 1. SIGHUP, good file -----------------------------------------------------------
printf '%s\n' "$RULES_A" "$RULES_B" >"$T/hl/ptrig.conf"
kill -HUP "$AGENT_PID"
wait_for 3 names_are irc,game
assert_eq irc,game "$(rule_names)" "SIGHUP, good file: rules irc,game active"
check "the log says so" grep -q 'reload (SIGHUP): 2 rules applied' "$T/agent.log"
check "the irc trigger stayed" irc_trigger_kept
OK1=$(reloads ok)
assert_gt "$OK1" 0 "metrics: reloads ok counted ($OK1)"
assert_eq 0 "$(reloads failed)" "metrics: no failed reload"

# ---- 2. SIGHUP, bad file ------------------------------------------------------------
printf '%s\n' "$RULES_A" "$RULES_B" "$BAD" >"$T/hl/ptrig.conf"
EXPECT=$("$PL" check -c "$CONF" 2>&1)
assert_match "^$CONF:3: " "$EXPECT" "check: the bad file's error names FILE:3"
kill -HUP "$AGENT_PID"
wait_for 3 reloads_are failed 1
assert_eq 1 "$(reloads failed)" "SIGHUP, bad file: metrics count 1 failed reload"
check "the log has check's message: $EXPECT" grep -qF -- "$EXPECT" "$T/agent.log"
check "the log says the running rules stay" grep -q 'rejected: .*; the running rules stay' "$T/agent.log"
assert_eq irc,game "$(rule_names)" "the running rules stayed (irc,game)"
check "the irc trigger stayed" irc_trigger_kept
assert_eq 0 "$(metric ptrig_config_last_reload_successful)" "metrics: last reload not successful"
assert_eq "$OK1" "$(reloads ok)" "metrics: reloads ok unchanged"

# ---- 3. file changes, no signal --------------------------------------------------------
printf '%s\n' "$RULES_A" "$RULES_B" "$RULES_C" >"$T/etc/.ptrig.conf.tmp"
mv "$T/etc/.ptrig.conf.tmp" "$CONF" # an editor's save: rename over
wait_for 3 names_are irc,game,voip
assert_eq irc,game,voip "$(rule_names)" "rename-over, good file: applied without a signal"
assert_eq 1 "$(metric ptrig_config_last_reload_successful)" "metrics: last reload successful"
check "the irc trigger stayed" irc_trigger_kept
printf '%s\n' "$RULES_A" "$BAD" >"$CONF" # in place
wait_for 3 reloads_are failed 2
assert_eq 2 "$(reloads failed)" "in-place write, bad file: rejected without a signal"
check "the log names $CONF:2" grep -q "rejected: $CONF:2: " "$T/agent.log"
assert_eq irc,game,voip "$(rule_names)" "the running rules stayed (irc,game,voip)"
OKS=$(reloads ok)
printf '%s\n' "$RULES_A" "$RULES_B" "$RULES_C" >"$CONF" # back to the running rules
wait_for 3 test "$(reloads ok)" -gt "$OKS"
assert_eq $((OKS + 1)) "$(reloads ok)" "the good file again: one more ok reload"

# ---- 4. a ConfigMap volume ----------------------------------------------------------------
agent_kill TERM
assert_eq 0 "$AGENT_RC" "SIGTERM: exit 0"
CM=$T/cm
mkdir -p "$CM/..2026_a"
printf '%s\n' "$RULES_A" >"$CM/..2026_a/ptrig.conf"
ln -s ..2026_a "$CM/..data"
ln -s ..data/ptrig.conf "$CM/ptrig.conf"
agent_start -c "$CM/ptrig.conf" wan0
agent_wait_ready 5 || die "the agent is ready (ConfigMap layout)"
wait_for 3 names_are irc
assert_eq irc "$(rule_names)" "ConfigMap layout: rules irc"
# What the kubelet does on an update: a new directory, a new ..data link
# renamed over the old one, the old directory removed.
mkdir -p "$CM/..2026_b"
printf '%s\n' "$RULES_A" "$RULES_B" >"$CM/..2026_b/ptrig.conf"
ln -s ..2026_b "$CM/..data_tmp"
mv -T "$CM/..data_tmp" "$CM/..data"
rm -rf -- "$CM/..2026_a"
wait_for 3 names_are irc,game
assert_eq irc,game "$(rule_names)" "ConfigMap update: applied without a signal"
check "the irc trigger stayed" irc_trigger_kept

# ---- 5. start-up errors ----------------------------------------------------------------------
agent_kill TERM
printf '%s\n' "$RULES_A" "$BAD" >"$T/bad.conf"
OUT=$("$PL" --netns "$LAB_ROUTER" run -c "$T/bad.conf" wan0 2>&1)
assert_eq 2 $? "run with a bad file: exit 2"
assert_eq "$T/bad.conf:2: $(echo "$EXPECT" | sed 's/^[^:]*:[0-9]*: //')" "$OUT" \
	"run with a bad file: exactly FILE:LINE: reason"
assert_eq irc,game "$(rule_names)" "... and the running rules are untouched"
OUT=$("$PL" run -c "$CONF" 2>&1)
assert_eq 2 $? "run without IFACE: exit 2"
assert_match "missing IFACE" "$OUT" "run without IFACE: says so"
OUT=$("$PL" run -c "$CONF" --metrics nonsense wan0 2>&1)
assert_eq 2 $? "run --metrics nonsense: exit 2"
assert_match '--metrics: "nonsense" is not ADDR:PORT' "$OUT" "run --metrics nonsense: says so"
OUT=$("$PL" run -c "$CONF" wan0 wan0 2>&1)
assert_eq 2 $? "run wan0 wan0: exit 2"
e2e_finish
