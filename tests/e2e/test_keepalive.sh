#!/usr/bin/env bash
# Idle TCP connections kept alive only by keepalive probes survive, as long
# as the flow timeout is longer than the keepalive time by more than the
# refresh lag. ptrig's default is 7440 s against Linux's 7200 s
# tcp_keepalive_time; shortened here: probes after 4 s idle (then every 4 s
# while answered) against a 6 s flow timeout (keeps the connection) and a
# 4 s one (the old relation, timeout == keepalive time: the first probe
# finds the flow expired, the router answers it with an RST).
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
build_connhold || die "build connhold"

printf '%s\n' '# test_keepalive' \
	'ka   tcp:7400  tcp:7500  flow-timeout=6' \
	'ka0  tcp:7401  tcp:7501  flow-timeout=4' >"$T/ptrig.conf"
ptrig_attach "$T/ptrig.conf"

for port in 7400 7401; do
	bg_run remote1 10 socat -u "TCP4-LISTEN:$port,reuseaddr" OPEN:/dev/null
	wait_for 3 listening remote1 tcp "$port" || die "no listener on remote1:$port"
	echo go | lab_exec lanhost1 timeout 5 socat -u - "TCP4:$R1:$port,connect-timeout=3"
	assert_eq 0 $? "lanhost1 triggers tcp:$port"
done
for port in 7500 7501; do
	bg_run lanhost1 40 "$CONNHOLD" serve -p "$port" -t 40 2>/dev/null
	wait_for 3 listening lanhost1 tcp "$port" || die "no server on lanhost1:$port"
done

# One idle connection per rule, with keepalive probes after 4 s idle.
coproc KA { ip netns exec "$LAB_REMOTE1" timeout 40 "$CONNHOLD" hold -d "$WAN" -p 7500 -n 1 -k 4 -t 40; }
KA_IN=${KA[0]} KA_OUT=${KA[1]}
E2E_BG_PIDS+=("$KA_PID")
line=$(hold_line "$KA_IN" 10)
assert_match "^open 1 ports" "$line" "remote1 -> WAN:7500 connected (flow-timeout 6 s)"
exec {K0}< <({ sleep 13; echo check; echo quit; } |
	ip netns exec "$LAB_REMOTE1" timeout 40 "$CONNHOLD" hold -d "$WAN" -p 7501 -n 1 -k 4 -t 40)
line=$(hold_line "$K0" 10)
assert_match "^open 1 ports" "$line" "remote1 -> WAN:7501 connected (flow-timeout 4 s)"

# 13 s idle: three keepalive rounds, no data.
sleep 13
line=$(hold_line "$KA_IN" 10 check "$KA_OUT")
assert_eq "alive 1 lost 0" "$line" "keepalive every 4 s, flow timeout 6 s: alive after 13 s idle"
echo quit >&"$KA_OUT"
line=$(hold_line "$K0" 10)
assert_eq "alive 0 lost 1" "$line" "control: keepalive every 4 s, flow timeout 4 s: lost"
exec {K0}<&-
assert_gt "$(status_jq '.interfaces[0].counters.flow_expired')" 0 "control: flow_expired > 0"

e2e_finish
