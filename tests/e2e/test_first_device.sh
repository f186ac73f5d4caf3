#!/usr/bin/env bash
# First device wins (the LAN host that triggered owns the rule until its
# trigger idles out), in the lab:
#   rule  irc  tcp:6660-6669  tcp:113  timeout=4 (FIRST_DEVICE_TIMEOUT)
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

# The rule's trigger timeout. Step 3 needs the new owner's trigger to stay
# open across a transfer and two status reads; a slow machine (a TCG guest,
# tests/kernel) raises it.
TIMEOUT=${FIRST_DEVICE_TIMEOUT:-4}

e2e_init
e2e_ptrig_lab

cat >"$T/ptrig.conf" <<EOF
irc  tcp:6660-6669  tcp:113  timeout=$TIMEOUT
EOF
ptrig_attach "$T/ptrig.conf" "ptrig attached to the lab router's $LAB_WAN_IF"

# ---- helpers ---------------------------------------------------------------------
# Each step takes one status snapshot (snap) and asks it several questions,
# after the time-critical traffic.

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
assert_eq "$H1" "$(trigger_owner irc)" "1 the irc trigger is owned by lanhost1"
assert_eq 1 "$(rule_counter irc triggers_opened)" "1 triggers_opened = 1 (lanhost2 opened none)"
c=$(rule_counter irc conflicts)
assert_gt "${c:-0}" 0 "2 lanhost2's trigger traffic counted as conflicts (conflicts=$c)"
wait_for 3 size_at_least "$T/h1.113" 65536
assert_file_sha256_eq "$T/p1" "$T/h1.113" "2 the ident connection reached lanhost1 (sha256)"
assert_eq 0 "$(file_size "$T/h2.113")" "2 lanhost2 received nothing"

# ---- 3. lanhost1 idle past the timeout: lanhost2 takes the rule ----------------------
# Idle for timeout + 1 s, counted from the end of lanhost1's trigger traffic.
sleep_until $((t_idle + (TIMEOUT + 1) * 1000000000))
snap
c2=$(rule_counter irc conflicts)
assert_eq "" "$(trigger_owner irc)" "3 lanhost1's trigger closed after ${TIMEOUT}s idle (no active irc trigger)"
assert_eq "$c" "$c2" "3 no conflicts while idle"
check "3 lanhost2 connects to remote1:6667 again" trigger lanhost2
check "3 remote1 -> WAN:113 sent" send_ident "$T/p2"
snap
assert_eq "$H2" "$(trigger_owner irc)" "3 the irc trigger is now owned by lanhost2"
assert_eq 2 "$(rule_counter irc triggers_opened)" "3 triggers_opened = 2"
assert_eq "$c2" "$(rule_counter irc conflicts)" "3 lanhost2's takeover is not a conflict"
wait_for 3 size_at_least "$T/h2.113" 65536
assert_file_sha256_eq "$T/p2" "$T/h2.113" "3 the ident connection reached lanhost2 (sha256)"
assert_file_sha256_eq "$T/p1" "$T/h1.113" "3 lanhost1 received nothing more"

# Now lanhost1 is the latecomer.
check "3 lanhost1 connects to remote1:6667 (trigger while lanhost2 owns it)" trigger lanhost1
check "3 remote1 -> WAN:113 sent" send_ident "$T/p3"
snap
c3=$(rule_counter irc conflicts)
assert_gt "${c3:-0}" "$c2" "3 lanhost1's trigger counted as a conflict (conflicts $c2 -> $c3)"
assert_eq "$H2" "$(trigger_owner irc)" "3 the owner is still lanhost2"
cat "$T/p2" "$T/p3" >"$T/p23"
wait_for 3 size_at_least "$T/h2.113" $((65536 + 4096))
assert_file_sha256_eq "$T/p23" "$T/h2.113" "3 the next ident connection reached lanhost2 too"
assert_file_sha256_eq "$T/p1" "$T/h1.113" "3 lanhost1 still received nothing more"
assert_eq 3 "$(rule_counter irc flows_opened)" "3 flows_opened = 3"

e2e_finish
