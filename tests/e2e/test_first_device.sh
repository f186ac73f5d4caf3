#!/usr/bin/env bash
# First device wins (design notes, section 1, semantics 3 and 4), in the lab:
#   rule  irc  tcp:6660-6669  tcp:113  timeout=4
#   1. lanhost1 connects to remote1:6667: it owns the rule; remote1 -> WAN:113
#      reaches lanhost1.
#   2. lanhost2 connects to remote1:6667 while lanhost1 owns it: counted as a
#      conflict, the owner stays lanhost1, and inbound WAN:113 still reaches
#      lanhost1 only (both hosts listen on 113, each writing its own file).
#   3. lanhost1 sends no trigger traffic for timeout+1 s (its trigger
#      connection was closed first: the FIN/ACK of the close went to the
#      trigger port too and refreshed the trigger, so the idle time counts
#      from the end of the close). The trigger closes; lanhost2's next
#      trigger takes the rule, inbound WAN:113 reaches lanhost2 only, and now
#      lanhost1's trigger traffic is the conflict.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export PTRIG_PIN_ROOT=${PTRIG_PIN_ROOT:-/sys/fs/bpf/ptrig}
IFACE=$LAB_WAN_IF
PIN_DIR=$PTRIG_PIN_ROOT/$IFACE
TIMEOUT=4

e2e_init
[ -x "$PTRIG_LOAD" ] || die "$PTRIG_LOAD missing (run make)"
# A private copy: a concurrent `make clean` must not pull it away mid-test.
PL=$E2E_TMP/ptrig-load
cp "$PTRIG_LOAD" "$PL" || die "copy $PTRIG_LOAD"
lab_up || die "lab up"
lab_on_down rm -rf -- "$PIN_DIR"
lab_on_down "$PL" --netns "$LAB_ROUTER" detach "$IFACE"

R1=$(lab_ip remote1)
H1=$(lab_ip lanhost1)
H2=$(lab_ip lanhost2)
WAN=$(lab_wan_ip)
T=$E2E_TMP

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113  timeout=$TIMEOUT
EOF
if [ -e "$PIN_DIR" ]; then
	note "removing stale pins in $PIN_DIR"
	rm -rf -- "$PIN_DIR"
fi
"$PL" --netns "$LAB_ROUTER" attach "$IFACE" -c "$T/ptrig.conf" >"$T/attach.log" 2>&1 || {
	sed 's/^/    /' "$T/attach.log"
	die "ptrig-load attach"
}
pass "ptrig attached to the lab router's $IFACE"

# ---- helpers ---------------------------------------------------------------------
# `status` reads every rule and port slot (about 0.5 s on a busy box), so
# each step takes one snapshot and asks it several questions, after the
# time-critical traffic.
snap() { "$PL" --netns "$LAB_ROUTER" status "$IFACE" --json >"$T/status.json"; }

# counter NAME: the irc rule's counter NAME in the last snapshot.
counter() {
	jq -r --arg c "$1" '.interfaces[0].rules[] | select(.name == "irc") | .counters[$c]' "$T/status.json"
}

# owners: the owners of the irc rule's active triggers in the last snapshot.
owners() {
	jq -r '[.interfaces[0].triggers[] | select(.rule == "irc") | .owner] | join(" ")' "$T/status.json"
}

# trigger NODE: one complete IRC connection NODE -> remote1:6667 (SYN .. FIN),
# returns once it is closed. Every packet of it goes to the trigger port.
trigger() {
	echo "NICK $1" | lab_exec "$1" timeout 5 socat -u - "TCP4:$R1:6667,connect-timeout=3"
}

# send_ident FILE: remote1 -> WAN:113 with FILE's bytes.
send_ident() { tcp_send remote1 "$WAN" 113 "$1" 10; }

# The IRC server on remote1 (discards), and identd on both LAN hosts: each
# appends what it receives to its own file, so we see which host got it.
bg_run remote1 50 socat -u "TCP4-LISTEN:6667,reuseaddr,fork" OPEN:/dev/null
wait_for 3 listening remote1 tcp 6667 || die "IRC server on remote1"
: >"$T/h1.113"
: >"$T/h2.113"
bg_run lanhost1 50 socat -u "TCP4-LISTEN:113,reuseaddr,fork" "OPEN:$T/h1.113,creat,append"
wait_for 3 listening lanhost1 tcp 113 || die "identd on lanhost1"
bg_run lanhost2 50 socat -u "TCP4-LISTEN:113,reuseaddr,fork" "OPEN:$T/h2.113,creat,append"
wait_for 3 listening lanhost2 tcp 113 || die "identd on lanhost2"

rand_payload "$T/p1" 65536
rand_payload "$T/p2" 65536
rand_payload "$T/p3" 4096

# ---- 1+2. lanhost1 triggers first; lanhost2's trigger is a conflict ----------------
check "1 lanhost1 connects to remote1:6667 (trigger)" trigger lanhost1
check "2 lanhost2 connects to remote1:6667 (trigger while lanhost1 owns it)" trigger lanhost2
check "2 remote1 -> WAN:113 sent" send_ident "$T/p1"
snap
# Both triggers ended with their close; nothing else goes to the trigger
# ports from here on (the ident replies go to remote1's ephemeral ports).
t_idle=$(date +%s%N)
assert_eq "$H1" "$(owners)" "1 the irc trigger is owned by lanhost1"
assert_eq 1 "$(counter triggers_opened)" "1 triggers_opened = 1 (lanhost2 opened none)"
c=$(counter conflicts)
assert_gt "${c:-0}" 0 "2 lanhost2's trigger traffic counted as conflicts (conflicts=$c)"
wait_for 3 size_at_least "$T/h1.113" 65536
assert_file_sha256_eq "$T/p1" "$T/h1.113" "2 the ident connection reached lanhost1 (sha256)"
assert_eq 0 "$(file_size "$T/h2.113")" "2 lanhost2 received nothing"

# ---- 3. lanhost1 idle past the timeout: lanhost2 takes the rule ----------------------
# Idle for timeout + 1 s, counted from the end of lanhost1's trigger traffic.
wait_ns=$(((TIMEOUT + 1) * 1000000000 - ($(date +%s%N) - t_idle)))
[ "$wait_ns" -gt 0 ] && sleep "$(printf '%d.%09d' $((wait_ns / 1000000000)) $((wait_ns % 1000000000)))"
snap
c2=$(counter conflicts)
assert_eq "" "$(owners)" "3 lanhost1's trigger closed after ${TIMEOUT}s idle (no active irc trigger)"
assert_eq "$c" "$c2" "3 no conflicts while idle"
check "3 lanhost2 connects to remote1:6667 again" trigger lanhost2
check "3 remote1 -> WAN:113 sent" send_ident "$T/p2"
snap
assert_eq "$H2" "$(owners)" "3 the irc trigger is now owned by lanhost2"
assert_eq 2 "$(counter triggers_opened)" "3 triggers_opened = 2"
assert_eq "$c2" "$(counter conflicts)" "3 lanhost2's takeover is not a conflict"
wait_for 3 size_at_least "$T/h2.113" 65536
assert_file_sha256_eq "$T/p2" "$T/h2.113" "3 the ident connection reached lanhost2 (sha256)"
assert_file_sha256_eq "$T/p1" "$T/h1.113" "3 lanhost1 received nothing more"

# Now lanhost1 is the latecomer.
check "3 lanhost1 connects to remote1:6667 (trigger while lanhost2 owns it)" trigger lanhost1
check "3 remote1 -> WAN:113 sent" send_ident "$T/p3"
snap
c3=$(counter conflicts)
assert_gt "${c3:-0}" "$c2" "3 lanhost1's trigger counted as a conflict (conflicts $c2 -> $c3)"
assert_eq "$H2" "$(owners)" "3 the owner is still lanhost2"
cat "$T/p2" "$T/p3" >"$T/p23"
wait_for 3 size_at_least "$T/h2.113" $((65536 + 4096))
assert_file_sha256_eq "$T/p23" "$T/h2.113" "3 the next ident connection reached lanhost2 too"
assert_file_sha256_eq "$T/p1" "$T/h1.113" "3 lanhost1 still received nothing more"
assert_eq 3 "$(counter flows_opened)" "3 flows_opened = 3"

e2e_finish
