#!/usr/bin/env bash
# The agent's /metrics:
#   1. scraped during traffic (a trigger, a conflicting trigger, an 8 MiB
#      inbound transfer, a refused connection): every scrape passes
#      `promtool check metrics`, and no sample has an address in it;
#   2. once traffic stops, every per-rule counter, every datapath counter,
#      the active triggers and the live flows equal what `status --json` and
#      `flows --json` say (read before and after the scrape, and equal);
#   3. the idle agent's resident memory and CPU use over 10 s (printed; bounded
#      generously so a leak or a busy loop fails).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_ptrig_lab
e2e_need curl promtool

printf '%s\n' "irc   tcp:6660-6669  tcp:113" "game  tcp:7000  tcp:7001" >"$T/ptrig.conf"
agent_start -c "$T/ptrig.conf" wan0
agent_wait_ready 5 || {
	cat "$T/agent.log"
	die "the agent is ready"
}
pass "the agent is ready"

# promtool_ok FILE: promtool accepts the exposition (lint warnings too are
# failures: names, units and HELP texts must be right).
promtool_ok() {
	local out
	out=$(promtool check metrics <"$1" 2>&1) && [ -z "$out" ] && return 0
	note "promtool: $out"
	return 1
}

scrape >"$T/m0.txt"
check "promtool accepts the first scrape" promtool_ok "$T/m0.txt"
LAYOUT=$(sed -n 's/^#define PTRIG_LAYOUT_VERSION \([0-9]*\)$/\1/p' "$E2E_ROOT/include/ptrig.h")
check "build info present (map layout $LAYOUT)" grep -q "^ptrig_build_info{version=\"[^\"]*\",map_layout=\"$LAYOUT\",libbpf=\"[^\"]*\"} 1\$" "$T/m0.txt"

# ---- 1. traffic, scraped while it flows ----------------------------------------------
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"
# lanhost2's irc traffic while lanhost1 owns the rule: a conflict.
bg_run remote1 10 socat -u TCP4-LISTEN:6668,reuseaddr OPEN:/dev/null
LP=$BG_PID
wait_for 3 listening remote1 tcp 6668 || die "no listener on remote1:6668"
echo "NICK lanhost2" | lab_exec lanhost2 timeout 5 socat -u - "TCP4:$R1:6668,connect-timeout=3"
bg_wait "$LP" 5 >/dev/null
# A connection to game's open port without a trigger: refused (closed).
lab_exec remote2 timeout 3 socat -u /dev/null "TCP4:$WAN:7001,connect-timeout=1" 2>/dev/null
rand_payload "$T/big.in" $((8 * 1024 * 1024))
bg_run lanhost1 30 socat -u TCP4-LISTEN:113,reuseaddr "CREATE:$T/big.out"
L_PID=$BG_PID
wait_for 3 listening lanhost1 tcp 113 || die "no listener on lanhost1:113"
bg_run remote1 30 socat -u "OPEN:$T/big.in" "TCP4:$WAN:113,connect-timeout=3"
S_PID=$BG_PID
bad=0
for i in 1 2 3 4 5; do
	scrape >"$T/m$i.txt"
	promtool_ok "$T/m$i.txt" || bad=$((bad + 1))
	sleep 0.1
done
assert_eq 0 "$bad" "promtool accepts all 5 scrapes taken during the transfer"
bg_wait "$S_PID" 30
bg_wait "$L_PID" 10 >/dev/null
assert_file_sha256_eq "$T/big.in" "$T/big.out" "8 MiB remote1 -> lanhost1 arrived intact"
check_not "no sample carries an address" grep -Eq '(198\.51\.100|203\.0\.113|192\.0\.2)\.' "$T"/m[0-5].txt
assert_gt "$(metric_in "$T/m5.txt" 'ptrig_bytes_total{interface="wan0",rule="irc",direction="in"}')" 0 \
	"bytes in counted during the transfer"

# ---- 2. scraped values equal status --json ---------------------------------------------
# expected_samples STATUS FLOWS: the samples the agent must show, from the
# loader's JSON, one "name{labels} value" per line.
expected_samples() {
	jq -r --slurpfile fl "$2" '.interfaces[0] as $i | $i.name as $n |
	  ($i.rules[] | .name as $r | .counters |
	    "ptrig_triggers_opened_total{interface=\"\($n)\",rule=\"\($r)\"} \(.triggers_opened)",
	    "ptrig_trigger_refreshes_total{interface=\"\($n)\",rule=\"\($r)\"} \(.refreshes)",
	    "ptrig_trigger_conflicts_total{interface=\"\($n)\",rule=\"\($r)\"} \(.conflicts)",
	    "ptrig_flows_opened_total{interface=\"\($n)\",rule=\"\($r)\"} \(.flows_opened)",
	    "ptrig_flows_established_total{interface=\"\($n)\",rule=\"\($r)\"} \(.flows_established)",
	    "ptrig_packets_total{interface=\"\($n)\",rule=\"\($r)\",direction=\"in\"} \(.pkts_in)",
	    "ptrig_packets_total{interface=\"\($n)\",rule=\"\($r)\",direction=\"out\"} \(.pkts_out)",
	    "ptrig_bytes_total{interface=\"\($n)\",rule=\"\($r)\",direction=\"in\"} \(.bytes_in)",
	    "ptrig_bytes_total{interface=\"\($n)\",rule=\"\($r)\",direction=\"out\"} \(.bytes_out)",
	    "ptrig_refused_connections_total{interface=\"\($n)\",rule=\"\($r)\",reason=\"closed\"} \(.refused_closed)",
	    "ptrig_refused_connections_total{interface=\"\($n)\",rule=\"\($r)\",reason=\"peer\"} \(.refused_peer)"),
	  ($i.counters | to_entries[] |
	    if (.key | startswith("pass_"))
	    then "ptrig_passed_packets_total{interface=\"\($n)\",reason=\"\(.key[5:])\"} \(.value)"
	    else "ptrig_datapath_events_total{interface=\"\($n)\",event=\"\(.key)\"} \(.value)" end),
	  "ptrig_active_triggers{interface=\"\($n)\"} \($i.triggers | length)",
	  ($i.tables | to_entries[] |
	    "ptrig_table_entries{interface=\"\($n)\",table=\"\(.key)\"} \(.value.entries)",
	    "ptrig_table_capacity_entries{interface=\"\($n)\",table=\"\(.key)\"} \(.value.max)"),
	  "ptrig_rules{interface=\"\($n)\"} \($i.rules | length)",
	  "LIVE_FLOWS \($fl[0].flows | length)"' "$1" | sort
}

# live_flows SCRAPE: the sum of ptrig_active_flows over its states.
live_flows() { awk '/^ptrig_active_flows\{/ { s += $2 } END { print s + 0 }' "$1"; }

stable=0
for i in $(seq 1 10); do
	snap
	cp "$T/status.json" "$T/s1.json"
	cp "$T/flows.json" "$T/f1.json"
	scrape >"$T/mq.txt"
	snap
	expected_samples "$T/s1.json" "$T/f1.json" >"$T/e1.txt"
	expected_samples "$T/status.json" "$T/flows.json" >"$T/e2.txt"
	if cmp -s "$T/e1.txt" "$T/e2.txt"; then
		stable=1
		break
	fi
	sleep 0.3
done
assert_eq 1 "$stable" "a quiet moment: status --json read twice around the scrape agrees"
N=$(grep -vc '^LIVE_FLOWS' "$T/e1.txt")
assert_gt "$N" 35 "samples to compare: $N (2 rules x 10 counters, datapath counters, gauges)"
grep -v '^#' "$T/mq.txt" | sort >"$T/got.txt"
echo "LIVE_FLOWS $(live_flows "$T/mq.txt")" >>"$T/got.txt"
MISSING=$(sort "$T/got.txt" | comm -23 "$T/e1.txt" -)
assert_eq "" "$MISSING" "every counter and gauge of status --json / flows --json equals the scrape"
# Both count packets: every packet of lanhost2's connection, every SYN.
assert_gt "$(metric_in "$T/mq.txt" 'ptrig_trigger_conflicts_total{interface="wan0",rule="irc"}')" 0 \
	"scrape: irc conflicts counted (lanhost2)"
assert_gt "$(metric_in "$T/mq.txt" 'ptrig_refused_connections_total{interface="wan0",rule="game",reason="closed"}')" 0 \
	"scrape: game refusals (closed) counted"
check "scrape: trigger table fill ratio = entries / capacity" awk '
	/^ptrig_table_entries\{interface="wan0",table="triggers"\}/ { e = $2 }
	/^ptrig_table_capacity_entries\{interface="wan0",table="triggers"\}/ { c = $2 }
	/^ptrig_table_fill_ratio\{interface="wan0",table="triggers"\}/ { r = $2 }
	END { exit !(e >= 1 && c == 65536 && r > 0 && (r - e / c) < 1e-6 && (e / c - r) < 1e-6) }' "$T/mq.txt"

# ---- 3. the idle agent -------------------------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
sleep 2
C0=$(cpu_ticks)
T0=$(date +%s%N)
sleep 10
C1=$(cpu_ticks)
MS=$(ms_since "$T0")
HZ=$(getconf CLK_TCK)
RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status")
# CPU in hundredths of a percent, so the shell's integers can carry it.
CPU_CENTI=$(((C1 - C0) * 1000000 / HZ / MS))
note "idle agent: RSS ${RSS} kB, CPU $((C1 - C0)) ticks (1/${HZ} s) in ${MS} ms = $((CPU_CENTI / 100)).$(printf %02d $((CPU_CENTI % 100)))%"
check "idle agent: RSS below 16 MiB (${RSS} kB)" test "$RSS" -lt 16384
check "idle agent: CPU below 1% over 10 s" test "$CPU_CENTI" -lt 100
e2e_finish
