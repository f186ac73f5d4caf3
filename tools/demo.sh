#!/usr/bin/env bash
# `make demo`: ptrig on the built-in lab, start to finish, in under a minute.
# A LAN host chats on IRC; the IRC server's ident lookup back to tcp/113 on
# the router's WAN address reaches it only while ptrig's trigger is open.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export LAB_PREFIX=${LAB_PREFIX:-ptdemo-}
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

CONF=${CONF:-$ROOT/ptrig.conf}
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

# ident_probe: remote1 asks 203.0.113.1:113, as an IRC server's ident lookup
# does; prints the answer, fails when nothing answers within 3 s.
ident_probe() {
	echo "6667, 40000" | lab_exec remote1 timeout 4 \
		socat -t 2 - "TCP4:$LAB_WAN_IP:113,connect-timeout=3"
}

e2e_init

say "The lab: lanhost1 $LAB_LANHOST1_IP behind a masquerading, firewalled router ($LAB_WAN_IP), remote1 $LAB_REMOTE1_IP on the Internet side"
# The lab, plus ptrig's cleanup (detach, pins) on every exit path.
e2e_ptrig_lab

say "Rules (from $CONF):"
grep -v '^\s*#' "$CONF" | grep -v '^\s*$'

say "Attach ptrig to the router's WAN interface"
run ptrig attach wan0 -c "$CONF" || die "attach failed"

say "Before any trigger: remote1's ident lookup to $LAB_WAN_IP:113 goes nowhere"
if ident_probe; then
	echo "unexpected: port 113 answered before any trigger"
else
	echo "(no answer, as expected: nothing is forwarded)"
fi

say "lanhost1 runs an identd on tcp/113, then connects to the IRC server remote1:6667 (the trigger)"
bg_run lanhost1 30 socat "TCP4-LISTEN:113,reuseaddr,fork" \
	"SYSTEM:'read q; echo \"\$q : USERID : UNIX : alice\"'"
wait_for 3 listening lanhost1 tcp 113 || die "identd did not start"
bg_run remote1 30 socat -u "TCP4-LISTEN:6667,reuseaddr" "OPEN:/dev/null"
wait_for 3 listening remote1 tcp 6667 || die "IRC server did not start"
echo "NICK alice" | lab_exec lanhost1 timeout 5 socat -u - "TCP4:$LAB_REMOTE1_IP:6667,connect-timeout=3" ||
	die "lanhost1 could not reach remote1:6667"
echo "lanhost1 -> remote1:6667 sent (leaving the router masqueraded as $LAB_WAN_IP)"

say "The trigger is open: ptrig found lanhost1 behind the NAT through conntrack"
run ptrig status

say "Now remote1's ident lookup reaches lanhost1 through $LAB_WAN_IP:113"
answer=$(ident_probe) || die "the ident lookup failed"
echo "remote1 got: $answer"

say "The accepted connection, as ptrig tracks it"
run ptrig flows wan0

say "Counters after the inbound connection"
run ptrig status

say "Detach: programs, pins and the qdisc ptrig created are gone"
run ptrig detach wan0
echo
echo "Demo done: a trigger opened tcp/113 for lanhost1, and an inbound connection reached it through the NAT and firewall."
