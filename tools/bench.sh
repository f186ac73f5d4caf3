#!/usr/bin/env bash
# `make bench`: ptrig's benchmarks (never part of `make test`). Prints the
# tables and writes the baseline record to bench/results/:
#   results.md   the tables, the method and the machine
#   results.png  the plot (gnuplot)
#   machine.txt  CPU, kernel, clang, libbpf, bpftool, date, load
#   paths.tsv, e2e.tsv   the raw figures behind the tables
#
# 1. Per-path cost (build/bench/bench_paths): ns/packet of each datapath path
#    through BPF_PROG_TEST_RUN against reference programs, with 10 vs 10,000
#    rules and 1,000 vs 1,000,000 flows (see tests/bench/bench_paths.c).
# 2. End to end in the lab (tools/lab.sh), the same generator for both sides
#    of each comparison, in the same run, alternating phases for several
#    rounds (medians reported):
#      A  ptrig: a triggered inbound flow, DNATed by ptrig's XDP;
#      B  nftables static DNAT port forward of the same port (`dnat to` in a
#         prerouting nat chain, `ct status dnat accept` in the forward chain),
#         ptrig still attached but not handling that port (its XDP runs and
#         passes the packet: the same veth/XDP receive path as in A);
#      C  the same nftables DNAT with ptrig detached (no XDP on wan0; for
#         information: a veth with XDP takes a different receive path).
#    UDP: packets per second arriving at the LAN host's receiver
#    (build/bench/udp_flood: sendmmsg sender, recvmmsg counter over a fixed
#    window); TCP: iperf3 throughput (bounded -t).
#
# Environment: BUILD (build dir), BENCH_OUT (bench/results), BENCH_ROUNDS (6
# end-to-end rounds), BENCH_UDP_WINDOW (1.5 s), BENCH_TCP_SECS (2 s),
# BENCH_PATHS_ARGS (extra bench_paths options, e.g. "--rounds 3"),
# BENCH_SKIP_PATHS=1 / BENCH_SKIP_E2E=1, BENCH_NO_XDP_PHASE=0 (skip phase C),
# BENCH_XDP_MODE (native, the default, or generic: how ptrig attaches),
# LAB_PREFIX (ptbench-). Pins go to a private root, removed on exit.
# Every wait is bounded; the lab, ptrig and its pins are removed on exit.
# Exit status: 0 when every measurement is valid (targets missed are
# results, reported in the tables, not errors), 1 otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export LAB_PREFIX=${LAB_PREFIX:-ptbench-}
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

OUT=${BENCH_OUT:-$ROOT/bench/results}
ROUNDS=${BENCH_ROUNDS:-6}
UDP_WARMUP=0.3
UDP_WINDOW=${BENCH_UDP_WINDOW:-1.5}
TCP_SECS=${BENCH_TCP_SECS:-2}
# The sender runs past the receiver's warm-up + window.
UDP_SEND_SECS=$(awk -v w="$UDP_WARMUP" -v n="$UDP_WINDOW" 'BEGIN { print w + n + 1 }')
PHASE_C=${BENCH_NO_XDP_PHASE:-1}
BENCH_BIN=$E2E_BUILD/bench

TRIG_PORT=5001 # ptrig rule: trigger both:5001 ...
PORT=5201      # ... opens both:5201 (phase A); the port every phase measures
PORT_OFF=5301  # phases B: ptrig's rule opens this port instead
LAN1=$LAB_LANHOST1_IP
WAN=$LAB_WAN_IP
INVALID=0

say() { printf '\n== %s\n' "$*"; }
bad() {
	echo "bench: INVALID: $*" >&2
	INVALID=$((INVALID + 1))
}

e2e_init
START_EPOCH=$(date +%s)
mkdir -p "$OUT" || exit 1
T=$E2E_TMP

for b in bench_paths udp_flood; do
	[ -x "$BENCH_BIN/$b" ] || {
		echo "bench: $BENCH_BIN/$b missing: run 'make bench'" >&2
		exit 1
	}
done
# Private copies of the binaries: a concurrent `make` (or `make clean`) in
# this tree must not swap them out in the middle of the run.
cp "$PTRIG_LOAD" "$BENCH_BIN/bench_paths" "$BENCH_BIN/udp_flood" "$T/" || exit 1
PTRIG_LOAD=$T/ptrig-load
BENCH_BIN=$T
for c in iperf3 gnuplot jq nft conntrack; do
	command -v "$c" >/dev/null || {
		echo "bench: $c missing: run 'make deps'" >&2
		exit 1
	}
done

# ptrig-load pins in bpffs; the datapath's conntrack kfuncs (and the
# per-path benchmark's conntrack entry) need nf_conntrack and nf_nat loaded
# before the programs are (the lab's nftables rules would load them later).
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf || {
		echo "bench: cannot mount bpffs on /sys/fs/bpf" >&2
		exit 1
	}
fi
modprobe -a -q nf_conntrack nf_nat 2>/dev/null
e2e_private_pins

# ---- machine ---------------------------------------------------------------------
machine_desc() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	echo "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "cpu:         ${cpu:-?} (family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1), model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs online, cache $(sed -n 's/^cache size[[:space:]]*: //p' /proc/cpuinfo | head -1))"
	echo "memory:      $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel:      $(uname -r) ($(uname -m)), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo ?)"
	echo "clang:       $(clang --version 2>/dev/null | head -1)"
	echo "libbpf:      $(pkg-config --modversion libbpf 2>/dev/null || echo ?) ($(dpkg-query -W -f='${Version}' libbpf1 2>/dev/null || echo ?))"
	echo "bpftool:     $(bpftool version 2>/dev/null | head -1)"
	echo "nftables:    $(nft --version 2>/dev/null)"
	echo "iperf3:      $(iperf3 --version 2>/dev/null | head -1)"
	echo "ptrig:       $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
}
machine_desc >"$T/machine.txt"
say "machine"
cat "$T/machine.txt"

# ---- 1. per-path cost --------------------------------------------------------------
PATHS_RC=0
if [ "${BENCH_SKIP_PATHS:-0}" != 1 ]; then
	say "per-path cost (BPF_PROG_TEST_RUN; about a minute)"
	# shellcheck disable=SC2086 # word splitting of extra options intended
	timeout 600 "$BENCH_BIN/bench_paths" --md "$T/paths.md" --tsv "$T/paths.tsv" \
		${BENCH_PATHS_ARGS:-}
	PATHS_RC=$?
	[ "$PATHS_RC" -eq 0 ] || bad "bench_paths exited $PATHS_RC"
fi

# ---- 2. end to end -----------------------------------------------------------------
ptrig() { "$PTRIG_LOAD" --netns "$LAB_ROUTER" "$@"; }

ATTACHED=0 # ptrig state on the router's wan0
CFG=       # A or B
NFT=0      # the nftables DNAT port forward is installed

ptrig_json() {
	local i
	for i in 1 2 3; do
		ptrig status "$LAB_WAN_IF" --json 2>/dev/null && return 0
		sleep 0.2
	done
	echo "bench: ptrig-load status failed 3 times" >&2
	return 1
}
# ptrig_stat FIELD: a global ptrig counter (0 when detached).
ptrig_stat() {
	[ "$ATTACHED" = 1 ] || {
		echo 0
		return
	}
	ptrig_json | jq -r ".interfaces[0].counters.$1 // 0"
}
ptrig_rule_cnt() {
	[ "$ATTACHED" = 1 ] || {
		echo 0
		return
	}
	ptrig_json | jq -r "[.interfaces[0].rules[] | select(.name == \"bench\") | .counters.$1][0] // 0"
}
nft_dnat_pkts() {
	[ "$NFT" = 1 ] || {
		echo 0
		return
	}
	lab_exec router nft list table ip ptrig_bench 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}
# shellcheck disable=SC2317 # called through wait_for
trigger_open() {
	ptrig_json | jq -e --arg o "$LAN1" \
		'[.interfaces[0].triggers[] | select(.rule == "bench" and .owner == $o)] | length > 0' >/dev/null
}

ptrig_to() { # ptrig_to A|B: attached, with that config
	local conf=$T/ptrig-$1.conf
	if [ "$ATTACHED" = 0 ]; then
		ptrig attach "$LAB_WAN_IF" -c "$conf" ${BENCH_XDP_MODE:+--xdp-mode "$BENCH_XDP_MODE"} >/dev/null || return 1
		ATTACHED=1
	elif [ "$CFG" != "$1" ]; then
		ptrig reload "$LAB_WAN_IF" -c "$conf" >/dev/null || return 1
	fi
	CFG=$1
}
ptrig_off() {
	[ "$ATTACHED" = 1 ] || return 0
	ptrig detach "$LAB_WAN_IF" >/dev/null || return 1
	ATTACHED=0
	CFG=
}
nft_on() {
	[ "$NFT" = 1 ] && return 0
	lab_exec router nft -f - <<EOF || return 1
table ip ptrig_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$LAB_WAN_IF" ip daddr $WAN meta l4proto { tcp, udp } th dport $PORT counter dnat to $LAN1
	}
}
EOF
	lab_exec router nft insert rule inet "$LAB_NFT_TABLE" forward \
		ct status dnat accept comment '"ptrig-bench-dnat"' || return 1
	NFT=1
}
nft_off() {
	local h
	[ "$NFT" = 1 ] || return 0
	lab_exec router nft delete table ip ptrig_bench || return 1
	h=$(lab_exec router nft -a list chain inet "$LAB_NFT_TABLE" forward |
		sed -n 's/.*comment "ptrig-bench-dnat" # handle \([0-9]*\).*/\1/p')
	[ -n "$h" ] && lab_exec router nft delete rule inet "$LAB_NFT_TABLE" forward handle "$h"
	NFT=0
}

# phase_setup A|B|C: put the router in that configuration; every phase
# starts with an empty conntrack table.
phase_setup() {
	case $1 in
	A)
		nft_off && ptrig_to A || return 1
		# lanhost1 triggers the rule (one datagram to remote1's
		# trigger port, masqueraded on the way out).
		echo trigger | lab_exec lanhost1 timeout 3 socat -u - \
			"UDP4-SENDTO:$LAB_REMOTE1_IP:$TRIG_PORT" || return 1
		wait_for 3 trigger_open || {
			echo "bench: ptrig did not open the trigger" >&2
			return 1
		}
		;;
	B) ptrig_to B && nft_on || return 1 ;;
	C) ptrig_off && nft_on || return 1 ;;
	esac
	lab_exec router conntrack -F >/dev/null 2>&1
	return 0
}

# Counter snapshot before a measurement: "translated flows_opened nft".
snap() { echo "$(ptrig_stat xdp_translated) $(ptrig_rule_cnt flows_opened) $(nft_dnat_pkts)"; }

# check_path PHASE "BEFORE" "AFTER" PKTS: the traffic took the path the
# phase is about (ptrig translated it in A; nftables, not ptrig, in B/C).
check_path() {
	local x0 f0 n0 x1 f1 n1
	read -r x0 f0 n0 <<<"$2"
	read -r x1 f1 n1 <<<"$3"
	case $1 in
	A) [ $((x1 - x0)) -ge "$4" ] && [ $((x1 - x0)) -gt 0 ] && [ "$n1" = "$n0" ] ;;
	B) [ "$x1" = "$x0" ] && [ "$f1" = "$f0" ] && [ $((n1 - n0)) -ge 1 ] ;;
	C) [ $((n1 - n0)) -ge 1 ] ;;
	esac
}

lanhost_rx() { lab_exec lanhost1 cat "/sys/class/net/$LAB_HOST_IF/statistics/rx_packets"; }

# udp_run PHASE ROUND SPORT: one UDP measurement; appends to e2e.tsv.
udp_run() {
	local ph=$1 r=$2 sport=$3 rpid before after line pps sent rx0 rx1 ok=1
	before=$(snap)
	rx0=$(lanhost_rx)
	bg_run lanhost1 $((${UDP_WINDOW%.*} + 10)) "$BENCH_BIN/udp_flood" recv --port "$PORT" \
		--warmup "$UDP_WARMUP" --window "$UDP_WINDOW" --wait 5 --reply \
		>"$T/udp.$ph.$r.out" 2>"$T/udp.$ph.$r.err"
	rpid=$BG_PID
	wait_for 3 listening lanhost1 udp "$PORT" || {
		bg_stop "$rpid"
		bad "UDP $ph round $r: receiver did not start"
		return
	}
	sent=$(lab_exec remote1 timeout $((${UDP_WINDOW%.*} + 10)) "$BENCH_BIN/udp_flood" send \
		--dst "$WAN" --port "$PORT" --sport "$sport" \
		--seconds "$UDP_SEND_SECS")
	bg_wait "$rpid" 10 >/dev/null
	rx1=$(lanhost_rx)
	after=$(snap)
	line=$(cat "$T/udp.$ph.$r.out" 2>/dev/null)
	pps=$(sed -n 's/.*pps=\([0-9]*\).*/\1/p' <<<"$line")
	if [ -z "$pps" ] || [ "$pps" -le 0 ]; then
		ok=0
		bad "UDP $ph round $r: no packets at the LAN host ($line; sender: $sent)"
	fi
	if [ "$ok" = 1 ] && ! check_path "$ph" "$before" "$after" \
		"$(sed -n 's/.*pkts=\([0-9]*\).*/\1/p' <<<"$line")"; then
		ok=0
		bad "UDP $ph round $r: traffic did not take the $ph path (counters before '$before' after '$after': ptrig translated, ptrig flows opened, nft dnat)"
	fi
	printf 'udp\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ph" "$r" "${pps:-0}" "$ok" \
		"$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' <<<"$sent")" "$((rx1 - rx0))" \
		"$(sed -n 's/.*lost_est=\([0-9]*\).*/\1/p' <<<"$line")" \
		"$(sed -n 's/.*cpu_ns_per_pkt=\([0-9]*\).*/\1/p' <<<"$sent")" >>"$T/e2e.tsv"
	printf '  UDP  %s round %s: %8s pps at the LAN host (%s; sender %s)\n' "$ph" "$r" \
		"${pps:-0}" "$line" "$sent"
}

# tcp_run PHASE ROUND: one iperf3 measurement; appends to e2e.tsv.
tcp_run() {
	local ph=$1 r=$2 spid before after bps ok=1
	before=$(snap)
	bg_run lanhost1 $((TCP_SECS + 15)) iperf3 -s -1 -p "$PORT" >"$T/iperf.$ph.$r.srv" 2>&1
	spid=$BG_PID
	wait_for 3 listening lanhost1 tcp "$PORT" || {
		bg_stop "$spid"
		bad "TCP $ph round $r: iperf3 server did not start"
		return
	}
	lab_exec remote1 timeout $((TCP_SECS + 12)) iperf3 -c "$WAN" -p "$PORT" \
		-t "$TCP_SECS" -O 1 -J >"$T/iperf.$ph.$r.json" 2>&1
	bg_wait "$spid" 5 >/dev/null
	after=$(snap)
	bps=$(jq -r '.end.sum_received.bits_per_second // 0 | floor' "$T/iperf.$ph.$r.json" 2>/dev/null)
	if [ -z "$bps" ] || [ "$bps" -le 0 ]; then
		ok=0
		bad "TCP $ph round $r: iperf3 failed ($(jq -r '.error // empty' "$T/iperf.$ph.$r.json" 2>/dev/null | head -1))"
	fi
	if [ "$ok" = 1 ] && ! check_path "$ph" "$before" "$after" 1; then
		ok=0
		bad "TCP $ph round $r: traffic did not take the $ph path (counters before '$before' after '$after')"
	fi
	printf 'tcp\t%s\t%s\t%s\t%s\t-\t-\t-\t-\n' "$ph" "$r" "${bps:-0}" "$ok" >>"$T/e2e.tsv"
	printf '  TCP  %s round %s: %8.1f Mbit/s\n' "$ph" "$r" "$(awk -v b="${bps:-0}" 'BEGIN { print b / 1e6 }')"
}

if [ "${BENCH_SKIP_E2E:-0}" != 1 ]; then
	say "end to end in the lab (prefix $LAB_PREFIX): $ROUNDS rounds of ptrig (A) vs nftables DNAT (B$([ "$PHASE_C" = 1 ] && echo ', C without XDP'))"
	printf 'bench both:%s both:%s timeout=3600 flow-timeout=3600\n' "$TRIG_PORT" "$PORT" >"$T/ptrig-A.conf"
	printf 'bench both:%s both:%s timeout=3600 flow-timeout=3600\n' "$TRIG_PORT" "$PORT_OFF" >"$T/ptrig-B.conf"
	printf '#proto\tphase\tround\tpps_or_bits_per_s\tvalid\tsender_pps\tlanhost_rx_pkts\tlost_est\tsender_cpu_ns_per_pkt\n' >"$T/e2e.tsv"
	if ! lab_up; then
		bad "lab up failed"
	else
		# Teardown (lab_down runs these in reverse, also on failure):
		# detach ptrig (the private pin root goes on exit). Registered
		# after lab_up, which starts with a lab_down that clears hooks.
		lab_on_down "$PTRIG_LOAD" --netns "$LAB_ROUTER" detach "$LAB_WAN_IF"
		# Pins are per network namespace: the loader says where.
		PIN_DIR=$("$PTRIG_LOAD" --netns "$LAB_ROUTER" pindir "$LAB_WAN_IF")
		phases="A B"
		[ "$PHASE_C" = 1 ] && phases="A B C"
		for ((r = 1; r <= ROUNDS; r++)); do
			order=$phases
			# Alternate the order (A B C, C B A, ...) so a drift of the
			# machine's load over the run affects every phase alike.
			((r % 2 == 0)) && order=$(echo "$phases" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }')
			for ph in $order; do
				if ! phase_setup "$ph"; then
					bad "could not set up phase $ph (round $r)"
					continue
				fi
				udp_run "$ph" "$r" $((40000 + r * 10 + $(printf '%d' "'$ph") % 10))
				tcp_run "$ph" "$r"
			done
		done
	fi
	lab_down
fi
E2E_END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load after:  $E2E_END_LOAD (1/5/15 min)" >>"$T/machine.txt"
echo "duration:    $(($(date +%s) - START_EPOCH)) s" >>"$T/machine.txt"

# ---- tables ---------------------------------------------------------------------------
# The end-to-end figures: medians per (protocol, phase) over the valid runs,
# and the A/B (and A/C) ratio as the median of the per-round ratios (A and
# B run back to back in every round, so slow drifts of the machine's load
# cancel out of each pair). MODE=table prints the table, MODE=targets the
# target lines.
# shellcheck disable=SC2016 # an awk program
E2E_AWK='
function med(arr, n,   i, j, t) {
	if (!n) return -1
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j > 0 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
function phase_med(p, ph,   r, n, arr) {
	n = 0
	for (r = 1; r <= maxr; r++) if ((p, ph, r) in v) arr[++n] = v[p, ph, r]
	return med(arr, n)
}
function pair_med(p, x, y,   r, n, arr) {
	n = 0
	for (r = 1; r <= maxr; r++) if ((p, x, r) in v && (p, y, r) in v && v[p, y, r] > 0) arr[++n] = v[p, x, r] / v[p, y, r]
	npairs = n
	return med(arr, n)
}
function fmt(p, x) { return x < 0 ? "-" : (p == "udp" ? sprintf("%.0f pps", x) : sprintf("%.1f Mbit/s", x / 1e6)) }
function runs(p, ph,   r, s) {
	s = ""
	for (r = 1; r <= maxr; r++) if ((p, ph, r) in v) s = s (s == "" ? "" : ", ") (p == "tcp" ? sprintf("%.0f", v[p, ph, r] / 1e6) : sprintf("%.0f", v[p, ph, r]))
	return s
}
/^#/ { next }
{ if ($3 > maxr) maxr = $3 }
$5 == 1 { v[$1, $2, $3] = $4 }
$5 == 1 && $1 == "udp" && $9 > 0 { v["cpu", $2, $3] = $9 }
$5 != 1 { badn[$1, $2]++ }
END {
	split("udp tcp", ps, " ")
	if (mode == "table") {
		print "| test | A: ptrig | B: nftables DNAT | A/B (median of paired rounds) | target | met? | C: nftables DNAT, no XDP | A/C (paired) |"
		print "|---|---:|---:|---:|---|---|---:|---:|"
	}
	for (i = 1; i <= 2; i++) {
		p = ps[i]
		a = phase_med(p, "A"); b = phase_med(p, "B"); c = phase_med(p, "C")
		rab = pair_med(p, "A", "B"); nab = npairs
		rac = pair_med(p, "A", "C")
		met = rab < 0 ? "INVALID" : (rab >= 1.0 ? "yes" : "NO")
		if (badn[p, "A"] || badn[p, "B"]) met = "INVALID"
		name = p == "udp" ? "UDP pps at the LAN host (64-byte frames)" : "TCP throughput (iperf3)"
		if (mode == "table")
			printf "| %s | %s | %s | %s | >= 1.0x | %s | %s | %s |\n", name, fmt(p, a), fmt(p, b), (rab < 0 ? "-" : sprintf("%.3fx (%d pairs)", rab, nab)), met, fmt(p, c), (rac < 0 ? "-" : sprintf("%.3fx", rac))
		else
			printf "| end to end %s >= 1.0x nftables DNAT | %s (medians %s vs %s) | %s |\n", (p == "udp" ? "UDP pps" : "TCP throughput"), (rab < 0 ? "-" : sprintf("%.3fx", rab)), fmt(p, a), fmt(p, b), met
	}
	if (mode == "table") {
		a = phase_med("cpu", "A"); b = phase_med("cpu", "B"); c = phase_med("cpu", "C")
		rab = pair_med("cpu", "A", "B"); nab = npairs; rac = pair_med("cpu", "A", "C")
		if (a > 0)
			printf "| UDP CPU time per packet in the sender (whole path, ns; lower is better) | %.0f | %.0f | %s | - | - | %s | %s |\n", a, b, (rab < 0 ? "-" : sprintf("%.2fx (%d pairs)", rab, nab)), (c < 0 ? "-" : sprintf("%.0f", c)), (rac < 0 ? "-" : sprintf("%.2fx", rac))
		printf "\nPer-phase medians of %d rounds (order A B C, then C B A, ...); runs in round order (valid only; UDP pps, TCP Mbit/s, sender CPU ns per packet):\n", maxr
		split("A B C", phs, " ")
		split("udp tcp cpu", ks, " ")
		for (i = 1; i <= 3; i++) for (j = 1; j <= 3; j++) {
			s = runs(ks[i], phs[j])
			if (s != "") printf "- %s %s: %s\n", (ks[i] == "cpu" ? "udp sender CPU ns/pkt" : ks[i]), phs[j], s
		}
	}
}'
e2e_table() { awk -F'\t' -v mode=table "$E2E_AWK" "$T/e2e.tsv"; }

# targets_table: every target of the issue, one line each, from the tables.
targets_table() {
	echo "| target | measured | met? |"
	echo "|---|---|---|"
	if [ -s "$T/paths.tsv" ]; then
		awk -F'\t' '
		/^#/ { next }
		# columns: table name path variant mode ns min max ref ref_ns ratio target met
		{ k = $1 ":" $2; ns[k] = $6; ratio[k] = $11; refns[k] = $10; met[k] = $13; what[k] = $3 ", " $4 " " $5 }
		function line(t, k) {
			if (!(k in ns)) return
			printf "| %s | %.2fx (%.1f vs %.1f ns) | %s |\n", t, ratio[k], ns[k], refns[k], met[k]
		}
		# worst ratio among the rows of instance X, split by kind
		function worst(t, tag, want_cycle,   k, w, wk, n, ok, inv) {
			w = -1; n = 0; ok = 0; inv = 0
			for (k in ns) {
				if (k !~ /^scale:/ || substr(k, length(k) - 1) != "_" tag) continue
				if ((k ~ /cycle/) != want_cycle) continue
				n++
				if (met[k] == "yes") ok++
				if (met[k] == "INVALID") inv++
				if (ratio[k] > w) { w = ratio[k]; wk = k }
			}
			if (!n) return
			printf "| %s | %d of %d rows within 1.1x; worst %.2fx (%s) | %s |\n", t, ok, n, w, what[wk], inv ? "INVALID" : (ok == n ? "yes" : "NO")
		}
		END {
			line("XDP hit <= 2.0x parse-only: hot flow, repeat=1 loops", "base:xdp_hit_hot_S")
			line("XDP hit <= 2.0x parse-only: warm, repeat=N (idempotent fixture)", "base:xdp_hit_fix_rN_S")
			line("XDP hit <= 2.0x parse-only: cycling 1,000,000 flows (cache-miss), repeat=1", "base:xdp_hit_cycle_F")
			line("XDP miss <= 1.2x parse-only: repeat=1 loops", "base:xdp_miss_r1_S")
			line("XDP miss <= 1.2x parse-only: repeat=N", "base:xdp_miss_rN_S")
			worst("10,000 rules within 1.1x of 10 rules: every path", "R", 0)
			worst("10,000 rules within 1.1x of 10 rules: cycling variants", "R", 1)
			worst("1,000,000 flows within 1.1x of 1,000: hot flow and flow-independent paths", "F", 0)
			worst("1,000,000 flows within 1.1x of 1,000: cycling through all flows (cache-miss)", "F", 1)
		}' "$T/paths.tsv"
	fi
	if [ -s "$T/e2e.tsv" ]; then
		awk -F'\t' -v mode=targets "$E2E_AWK" "$T/e2e.tsv"
	fi
}

{
	echo "# ptrig benchmark results"
	echo
	echo "Written by \`make bench\` (tools/bench.sh). Absolute numbers depend on the machine and on what"
	echo "else ran at the same time (see the load below); the ratios are measured in the same process or"
	echo "the same run, against references, and are the figures to compare."
	echo
	echo '```'
	cat "$T/machine.txt"
	echo '```'
	echo
	echo "### Targets"
	echo
	targets_table
	echo
	cat <<'EOF'
Reading the per-path figures:
- r=1 (repeat=1 loops, what the issue asks for rewriting paths) times one packet after a
  syscall: the program's code and map lines are mostly cold, as on a lightly loaded box. It
  includes a fixed harness part (timer reads; see "What costs what") that the references pay
  too. Comparing two ptrig instances at r=1 also compares where their maps landed in memory:
  differences of 10-20% between S and R, whose lookups touch the same entries, are layout and
  machine noise, not rule count (check the r=N rows of the same path).
- r=N (repeat=1,000,000) is the warm, back-to-back cost, as on a busy box. The hit and reply
  paths rewrite the packet, so at r=N they run on an idempotent fixture: a flow whose owner is
  its own external address, for which ptrig skips the address/checksum rewrite (a few ALU
  instructions in XDP, three helper calls in TC). r=N durations are whole nanoseconds (the
  kernel divides the total by N), so a 6 ns reference is +-1 ns.
- "cycling" sends every packet to a different pre-filled flow, in random order: with 1,000,000
  flows each lookup misses the caches and the TLB (the cache-miss case); "hot" repeats one flow.

EOF
	if [ -s "$T/paths.md" ]; then
		cat "$T/paths.md"
		echo
	fi
	if [ -s "${T}/e2e.tsv" ]; then
		echo "### End to end in the lab (veth, namespaces; wire emulation: no checksum offload, no GRO/TSO)"
		echo
		e2e_table
		echo
		echo "UDP: one sender (sendmmsg, 18-byte payloads) on remote1 to $WAN:$PORT for $UDP_SEND_SECS s;"
		echo "the receiver on lanhost1 (recvmmsg) answers the first datagram once, skips ${UDP_WARMUP} s and"
		echo "counts ${UDP_WINDOW} s. TCP: iperf3 remote1 -> $WAN:$PORT, -t $TCP_SECS -O 1. A: ptrig DNAT of a"
		echo "triggered flow; B: nftables \`dnat to\` port forward of the same port, ptrig attached but not"
		echo "opening it; C: the same DNAT with ptrig detached. Every run is checked to have taken its path"
		echo "(ptrig's translated counter in A; the nft rule counter, and not ptrig, in B and C)."
		echo "The sender's CPU time per packet (user + system; this kernel has no IRQ time accounting, so"
		echo "the softirq work its packets trigger in its context, through the veths, bridges, the router"
		echo "and the delivery at the LAN host, is charged to it) is a second, less load-sensitive view of"
		echo "the path cost. The machine is shared: pps and throughput move with the other load, so compare"
		echo "the paired ratios, not runs of different rounds."
		echo
	fi
	echo "Plot: results.png. Raw figures: paths.tsv, e2e.tsv."
} >"$T/results.md"

# ---- plot ------------------------------------------------------------------------------
# plot_rows PATHS REFS: gnuplot rows "label S R F" from paths.tsv; PATHS and
# REFS are "key:label|..." lists (a reference has one value for all three).
plot_rows() {
	awk -F'\t' -v paths="$1" -v refs="$2" '
		/^#/ || $1 != "base" && $1 != "scale" { next }
		{ val[$2] = $6 }
		END {
			n = split(paths, rows, "|")
			for (i = 1; i <= n; i++) {
				split(rows[i], kv, ":")
				printf "\"%s\" %s %s %s\n", kv[2], val[kv[1] "_S"], val[kv[1] "_R"], val[kv[1] "_F"]
			}
			n = split(refs, rows, "|")
			for (i = 1; i <= n; i++) {
				split(rows[i], kv, ":")
				printf "\"%s\" %s %s %s\n", kv[2], val[kv[1]], val[kv[1]], val[kv[1]]
			}
		}' "$T/paths.tsv"
}

plot() {
	local g=$T/plot.gp
	# Per-path r=1 and r=N figures by instance, and the end-to-end medians.
	plot_rows "xdp_miss_r1:XDP miss|xdp_hit_hot:XDP hit (hot)|xdp_hit_cycle:XDP hit (cycling)|xdp_create:XDP creation|tc_miss_r1:TC miss|tc_refresh_r1:TC refresh|tc_reply_hot:TC reply (hot)|tc_reply_cycle:TC reply (cycling)" \
		"ref_xdp_parse_r1:ref xdp_parse|ref_tc_parse_r1:ref tc_parse" >"$T/plot_r1.dat"
	plot_rows "xdp_miss_rN:XDP miss|xdp_hit_fix_rN:XDP hit (fixture)|tc_miss_rN:TC miss|tc_refresh_rN:TC refresh|tc_reply_fix_rN:TC reply (fixture)" \
		"ref_xdp_pass_rN:ref xdp_pass|ref_xdp_parse_rN:ref xdp_parse|ref_tc_parse_rN:ref tc_parse" >"$T/plot_rN.dat"
	# End to end: per protocol, the medians (boxes) and every run (points).
	awk -F'\t' -v dir="$T" '
		/^#/ || $5 != 1 { next }
		{ k = $1 " " $2; s[k] = s[k] " " $4; n[k]++ }
		END {
			split("A B C", phs, " ")
			split("A: ptrig|B: nft DNAT|C: nft DNAT, no XDP", names, "|")
			for (pi = 1; pi <= 2; pi++) {
				p = pi == 1 ? "udp" : "tcp"; scale = p == "udp" ? 1e3 : 1e6
				f = dir "/plot_" p ".dat"; g = dir "/plot_" p "_runs.dat"
				printf "" > f; printf "" > g
				for (i = 1; i <= 3; i++) {
					k = p " " phs[i]
					if (!n[k]) continue
					m = split(substr(s[k], 2), a, " ")
					for (x = 1; x <= m; x++) printf "%d %s\n", i - 1, a[x] / scale > g
					for (x = 2; x <= m; x++) { t = a[x]; for (y = x - 1; y > 0 && a[y] + 0 > t + 0; y--) a[y + 1] = a[y]; a[y + 1] = t }
					med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
					printf "%d \"%s\" %s\n", i - 1, names[i], med / scale > f
				}
			}
		}' "$T/e2e.tsv"
	cat >"$g" <<EOF
set terminal pngcairo size 1400,1000 font "sans,10" noenhanced
set output "$T/results.png"
set multiplot layout 2,2 title "ptrig benchmarks ($(uname -r), $(date -u +%Y-%m-%d))"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -30 left
set title "Per-path cost, repeat=1 loops (kernel ns/packet; log scale)"
set logscale y
set ylabel "ns per packet"
plot "$T/plot_r1.dat" using 2:xtic(1) title "S: 10 rules, 1k flows", '' using 3 title "R: 10k rules", '' using 4 title "F: 1M flows"
set title "Per-path cost, repeat=N (warm; fixture = DNAT/SNAT to itself)"
unset logscale y
plot "$T/plot_rN.dat" using 2:xtic(1) title "S: 10 rules, 1k flows", '' using 3 title "R: 10k rules", '' using 4 title "F: 1M flows"
set style data boxes
set boxwidth 0.6
set xtics norotate
set xrange [-0.6:2.6]
set yrange [0:*]
set key off
set title "End to end: UDP packets/s at the LAN host (median; points = runs)"
set ylabel "kpps"
plot "$T/plot_udp.dat" using 1:3:xtic(2) with boxes lc rgb "#4477aa", "$T/plot_udp_runs.dat" using 1:2 with points pt 7 ps 1 lc rgb "black"
set title "End to end: TCP throughput, iperf3 (median; points = runs)"
set ylabel "Mbit/s"
plot "$T/plot_tcp.dat" using 1:3:xtic(2) with boxes lc rgb "#44aa77", "$T/plot_tcp_runs.dat" using 1:2 with points pt 7 ps 1 lc rgb "black"
unset multiplot
EOF
	gnuplot "$g"
}
if [ -s "$T/paths.tsv" ] && [ -s "$T/e2e.tsv" ]; then
	plot || bad "gnuplot failed"
fi

# ---- record --------------------------------------------------------------------------------
for f in results.md machine.txt paths.tsv e2e.tsv results.png; do
	[ -e "$T/$f" ] && cp "$T/$f" "$OUT/$f"
done
say "results (written to ${OUT#"$ROOT"/}/)"
[ -s "$T/e2e.tsv" ] && e2e_table
echo
targets_table
if [ "$INVALID" -gt 0 ]; then
	echo "bench: $INVALID invalid measurement(s): see above" >&2
	exit 1
fi
exit 0
