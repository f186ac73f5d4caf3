#!/usr/bin/env bash
# `make bench`: ptrig's benchmarks (never part of `make test`). Runs the
# measurements and records the raw samples; tools/benchstat.c computes the
# medians and ratios and writes the report. Output in bench/results/:
#   results.md   the tables, the method and the machine
#   results.png  the plot (gnuplot, tools/bench_plot.gp)
#   machine.txt  CPU, kernel, clang, libbpf, bpftool, date, load
#   paths.tsv, e2e.tsv, fwd.tsv, fwdup.tsv   the raw figures behind the
#                tables
#   paths.md     bench_paths' own tables (copied into results.md)
#
# 1. Per-path cost (build/bench/bench_paths): ns/packet of each datapath path
#    through BPF_PROG_TEST_RUN against reference programs (among them a
#    reference DNAT: parse, one LRU lookup, rewrite), with 10 vs 10,000
#    rules and 1,000 vs 1,000,000 flows (see tests/bench/bench_paths.c).
# 2. End to end in the lab (tools/lab.sh), the same generators for every
#    phase, in the same run, alternating the order for several rounds, at 1
#    and at 1,000 concurrent flows:
#      F  ptrig's fast path (attach --lan lan0): a triggered flow forwarded
#         by XDP; skipped, with the reason recorded, when ptrig-load has no
#         --lan option;
#      A  ptrig's slow path: the triggered flow DNATed by ptrig's XDP, then
#         forwarded by the stack;
#      B  nftables static DNAT port forward of the same ports (`dnat to` in
#         a prerouting nat chain, `ct status dnat accept` in the forward
#         chain), ptrig attached but not handling them (its XDP runs and
#         passes the packets: the same veth/XDP receive path as in A);
#      X  the lab's ceiling: a reference XDP program on wan0 that blindly
#         rewrites and redirects the same packets to lan0 (no lookups; UDP
#         only, see ref_xdp_redirect in bpf/bench_ref.bpf.c);
#      C  the same nftables DNAT with ptrig detached (for information: a
#         veth with XDP takes a different receive path).
#    UDP: packets per second arriving at the LAN host's receiver
#    (build/bench/udp_flood: sendmmsg sender over N source ports, recvmmsg
#    counter over a fixed window); TCP: iperf3 throughput (bounded -t;
#    1,000 flows = 8 iperf3 pairs of 125 streams).
# 3. The router's forwarding cost, live frames (build/bench/fwd_live): the
#    same phases F, A, B, X in the same lab, but without generators: frames
#    of remote1's flows are injected at wan0 with BPF_PROG_RUN in live-frame
#    mode (the XDP program attached to wan0 runs; XDP_PASS hands the frame
#    to the router's stack, which forwards it within the call; XDP_REDIRECT
#    transmits it), and a counting XDP sink on the LAN bridge's end of lan0
#    (xdp_ref sink) drops what the router forwarded, so what follows the
#    router costs the same in every phase. Wall ns per packet; every run
#    must have delivered >= 99% of the injected frames to the sink,
#    rewritten to the LAN host's address and port, and taken its path
#    (ptrig's fast-path counter in F >= 98%: one packet per flow, CPU and
#    second takes the stack; its translated counter in A >= 99%), else it
#    is INVALID. Flows are set up first, as the end-to-end runs do (UDP: 4 s
#    of a bidirectional flow, so conntrack has it assured; TCP: idle
#    connections held open). TCP segments carry fixed sequence numbers:
#    conntrack is liberal about TCP windows in every phase of this section.
# 3b. The same for LAN -> WAN, the owner's packets (fwdup.tsv): injected at
#    lan0, a sink on the WAN bridge's end of wan0 that counts them only
#    SNATed; F: ptrig's LAN program in TC, L: in XDP, A: fast path off, B:
#    nftables DNAT's replies.
#
# Environment: BUILD (build dir), BENCH_OUT (bench/results), BENCH_ROUNDS (5
# end-to-end rounds), BENCH_FLOWS ("1 1000"), BENCH_UDP_WINDOW (1.5 s),
# BENCH_TCP_SECS (2 s), BENCH_PATHS_ARGS (extra bench_paths options, e.g.
# "--rounds 3"), BENCH_SKIP_PATHS=1 / BENCH_SKIP_E2E=1 / BENCH_SKIP_FWD=1
# (skip section 1, 2 or 3: the report then takes that section's raw figures
# from the earlier run recorded in BENCH_OUT, and says so; e.g.
# BENCH_SKIP_PATHS=1 BENCH_SKIP_E2E=1 runs only the forwarding cost),
# BENCH_SKIP_FWD_UP=1 (skip its LAN -> WAN part, 3b),
# BENCH_FWD_PACKETS (500000 timed packets per run), BENCH_FWD_REPEAT (1000000
# packets per BPF_PROG_RUN call), BENCH_FWD_ROUNDS (BENCH_ROUNDS),
# BENCH_NO_XDP_PHASE=0
# (skip phase C), BENCH_XDP_MODE (native, the default, or generic: how ptrig
# attaches), LAB_PREFIX (ptbench-). Pins go to a private root, removed on
# exit. Every wait is bounded; the lab, ptrig and its pins are removed on
# exit.
# Exit status: 0 when every measurement is valid (targets missed are
# results, reported in the tables, not errors), 1 otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export LAB_PREFIX=${LAB_PREFIX:-ptbench-}
# shellcheck source-path=SCRIPTDIR source=lablib.sh
source "$ROOT/tools/lablib.sh"

OUT=${BENCH_OUT:-$ROOT/bench/results}
ROUNDS=${BENCH_ROUNDS:-5}
FLOWS_LIST=${BENCH_FLOWS:-1 1000}
UDP_WARMUP=0.3
UDP_WINDOW=${BENCH_UDP_WINDOW:-1.5}
TCP_SECS=${BENCH_TCP_SECS:-2}
# The sender runs past the receiver's warm-up + window.
UDP_SEND_SECS=$(awk -v w="$UDP_WARMUP" -v n="$UDP_WINDOW" 'BEGIN { print w + n + 1 }')
PHASE_C=${BENCH_NO_XDP_PHASE:-1}
TCP_PER_PROC=125 # iperf3 streams per client (iperf3 allows at most 128)
TCP_PROCS=8      # iperf3 pairs at most: ports PORT .. PORT+7

TRIG_PORT=5001                   # ptrig rule: trigger both:5001 ...
PORT=5201                        # ... opens both:5201-5208 (F, A); the ports every phase measures
PORT_OFF=5301                    # phase B: ptrig's rule opens 5301-5308 instead
PORT_LAST=$((PORT + TCP_PROCS - 1))
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

BENCH_BIN=$E2E_BUILD/bench
for b in "$BENCH_BIN/bench_paths" "$BENCH_BIN/udp_flood" "$BENCH_BIN/xdp_ref" "$BENCH_BIN/fwd_live" "$E2E_BUILD/benchstat"; do
	[ -x "$b" ] || {
		echo "bench: $b missing: run 'make bench'" >&2
		exit 1
	}
done
# Private copies of the binaries: a concurrent `make` (or `make clean`) in
# this tree must not swap them out in the middle of the run.
cp "$BENCH_BIN/bench_paths" "$BENCH_BIN/udp_flood" "$BENCH_BIN/xdp_ref" \
	"$BENCH_BIN/fwd_live" "$E2E_BUILD/benchstat" "$T/" || exit 1
BENCH_BIN=$T
for c in iperf3 gnuplot jq nft conntrack; do
	command -v "$c" >/dev/null || {
		echo "bench: $c missing: run 'make deps'" >&2
		exit 1
	}
done

# The datapath's conntrack kfuncs (and the per-path benchmark's conntrack
# entry) need nf_conntrack and nf_nat loaded before the programs are (the
# lab's nftables rules would load them later).
modprobe -a -q nf_conntrack nf_nat 2>/dev/null

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
if [ "${BENCH_SKIP_PATHS:-0}" != 1 ]; then
	say "per-path cost (BPF_PROG_TEST_RUN; about a minute)"
	# shellcheck disable=SC2086 # word splitting of extra options intended
	timeout 600 "$BENCH_BIN/bench_paths" --md "$T/paths.md" --tsv "$T/paths.tsv" \
		${BENCH_PATHS_ARGS:-}
	rc=$?
	[ "$rc" -eq 0 ] || bad "bench_paths exited $rc"
fi

# ---- 2. end to end -----------------------------------------------------------------
# The router's state: what is attached to wan0 ("" none, ptrig, ptrig-fast,
# ref) and whether the nftables DNAT port forward is installed.
WAN_PROG=
CFG= # ptrig's rule file: A (opens PORT..) or B (opens PORT_OFF..)
NFT=0
PEERS_XDP=0 # XDP_PASS on the bridge ends of lan0 and wan0 (for redirects)

ptrig_json() {
	local i
	for i in 1 2 3; do
		ptrig status "$LAB_WAN_IF" --json 2>/dev/null && return 0
		sleep 0.2
	done
	echo "bench: ptrig-load status failed 3 times" >&2
	return 1
}
# ptrig_count FIELD: a global ptrig counter (0 when ptrig is not attached).
ptrig_count() {
	case $WAN_PROG in ptrig*) ;; *)
		echo 0
		return
		;;
	esac
	ptrig_json | jq -r ".interfaces[0].counters.$1 // 0"
}
# ptrig_fast_count: the sum of ptrig's counters about the fast path (names
# with "fast" or "redirect"; 0 when there are none).
ptrig_fast_count() {
	case $WAN_PROG in ptrig*) ;; *)
		echo 0
		return
		;;
	esac
	ptrig_json | jq -r '[.interfaces[0].counters | to_entries[] | select(.key | test("fast|redirect")) | .value | numbers] | add // 0'
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

# Does this ptrig-load have the fast path's attach option?
FAST_SKIP=
if ! "$PTRIG_LOAD" attach --help 2>&1 | grep -q -- '--lan'; then
	FAST_SKIP="ptrig-load attach has no --lan option (fast path not built)"
fi

wan_off() {
	case $WAN_PROG in
	ptrig*) ptrig detach "$LAB_WAN_IF" >/dev/null || return 1 ;;
	ref) "$BENCH_BIN/xdp_ref" off --netns "$LAB_ROUTER" --dev "$LAB_WAN_IF" || return 1 ;;
	esac
	WAN_PROG=
	CFG=
}
# ptrig_to A|B [fast]: ptrig attached with that rule file, with or without
# the fast path (a change of attach options is a detach and an attach).
# LAN_MODE: the fast path's --lan-mode ("" the loader's choice).
LAN_MODE=
ptrig_to() {
	local want=ptrig conf=$T/ptrig-$1.conf
	[ "${2:-}" = fast ] && want=ptrig-fast$LAN_MODE
	if [ "$WAN_PROG" != "$want" ]; then
		wan_off || return 1
		# shellcheck disable=SC2046 # the option words
		ptrig attach "$LAB_WAN_IF" -c "$conf" ${BENCH_XDP_MODE:+--xdp-mode "$BENCH_XDP_MODE"} \
			$([ "$want" != ptrig ] && echo "--lan $LAB_LAN_IF ${LAN_MODE:+--lan-mode $LAN_MODE}") >/dev/null || return 1
		WAN_PROG=$want
	elif [ "$CFG" != "$1" ]; then
		ptrig reload "$LAB_WAN_IF" -c "$conf" >/dev/null || return 1
	fi
	CFG=$1
}
ref_on() {
	[ "$WAN_PROG" = ref ] && return 0
	wan_off || return 1
	"$BENCH_BIN/xdp_ref" redirect --netns "$LAB_ROUTER" --dev "$LAB_WAN_IF" \
		--to "$LAB_LAN_IF" --match "$WAN" --port "$PORT" --to-addr "$LAN1" \
		--dmac "$LANHOST1_MAC" ${BENCH_XDP_MODE:+--mode "$BENCH_XDP_MODE"} || return 1
	WAN_PROG=ref
}
# peers_xdp 1|0: a veth takes redirected frames only when its peer runs an
# XDP program: XDP_PASS on the bridge ends of lan0 and wan0 (phases F, X).
peers_xdp() {
	local sw
	[ "$PEERS_XDP" = "$1" ] && return 0
	for sw in lansw wansw; do
		if [ "$1" = 1 ]; then
			"$BENCH_BIN/xdp_ref" pass --netns "$(lab_ns $sw)" --dev rtr || return 1
		else
			"$BENCH_BIN/xdp_ref" off --netns "$(lab_ns $sw)" --dev rtr || return 1
		fi
	done
	PEERS_XDP=$1
}
nft_on() {
	[ "$NFT" = 1 ] && return 0
	lab_exec router nft -f - <<EOF || return 1
table ip ptrig_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$LAB_WAN_IF" ip daddr $WAN meta l4proto { tcp, udp } th dport $PORT-$PORT_LAST counter dnat to $LAN1
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

# phase_setup F|A|B|X|C: put the router in that configuration; every phase
# starts with an empty conntrack table.
phase_setup() {
	case $1 in
	F | A)
		# A fresh attach, so no flow of an earlier phase survives
		# into this one (the conntrack flush below would make the
		# firewall drop its packets).
		nft_off && wan_off || return 1
		# The fast path bypasses TCP only where conntrack is liberal
		# about TCP windows (see the README); the other phases keep
		# the default. Set before the attach, which reports it.
		lab_exec router sysctl -q -w \
			"net.netfilter.nf_conntrack_tcp_be_liberal=$([ "$1" = F ] && echo 1 || echo 0)" || return 1
		if [ "$1" = F ]; then
			peers_xdp 1 && ptrig_to A fast || return 1
		else
			peers_xdp 0 && ptrig_to A || return 1
		fi
		# lanhost1 triggers the rule (one datagram to remote1's
		# trigger port, masqueraded on the way out).
		echo trigger | lab_exec lanhost1 timeout 3 socat -u - \
			"UDP4-SENDTO:$LAB_REMOTE1_IP:$TRIG_PORT" || return 1
		wait_for 3 trigger_open || {
			echo "bench: ptrig did not open the trigger" >&2
			return 1
		}
		;;
	B)
		# From a fresh attach too: flows outlive rule changes, so
		# the flows phase A opened on these ports would still be
		# translated by ptrig (its own DNAT, before nftables') and
		# dropped by the firewall.
		wan_off && peers_xdp 0 && ptrig_to B && nft_on || return 1
		;;
	X) nft_off && peers_xdp 1 && ref_on || return 1 ;;
	C) peers_xdp 0 && wan_off && nft_on || return 1 ;;
	esac
	[ "$1" = F ] || lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=0 || return 1
	lab_exec router conntrack -F >/dev/null 2>&1
	return 0
}

# path_counters: "translated fast nft" before/after a measurement.
path_counters() { echo "$(ptrig_count xdp_translated) $(ptrig_fast_count) $(nft_dnat_pkts)"; }

# check_path PHASE "BEFORE" "AFTER" PKTS: the traffic took the path the
# phase is about: ptrig translated it (A; F also on its fast path when ptrig
# counts that), nftables and not ptrig (B, C), neither (X: without the
# reference program nothing addressed to the router reaches the LAN host).
check_path() {
	local x0 f0 n0 x1 f1 n1
	read -r x0 f0 n0 <<<"$2"
	read -r x1 f1 n1 <<<"$3"
	case $1 in
	A) [ $((x1 - x0)) -ge "$4" ] && [ $((x1 - x0)) -gt 0 ] && [ "$n1" = "$n0" ] ;;
	F) [ $((x1 - x0 + f1 - f0)) -gt 0 ] && [ "$n1" = "$n0" ] ;;
	B) [ "$x1" = "$x0" ] && [ $((n1 - n0)) -ge 1 ] ;;
	C) [ $((n1 - n0)) -ge 1 ] ;;
	X) [ "$n1" = "$n0" ] && [ "$x1" = 0 ] ;;
	esac
}

lanhost_rx() { lab_exec lanhost1 cat "/sys/class/net/$LAB_HOST_IF/statistics/rx_packets"; }

# The source ports of each UDP measurement: a fresh block of FLOWS ports, so
# every measurement starts new flows (10000-49999).
SPORT_SEQ=0
next_sport() {
	SPORT_SEQ=$((SPORT_SEQ + 1))
	echo $((10000 + (SPORT_SEQ % 40) * 1000))
}

# field NAME LINE: the value of NAME=... in a generator's output line.
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

or_dash() { [ -n "$1" ] && [ "$1" -ge 0 ] 2>/dev/null && echo "$1" || echo -; }

# udp_run PHASE FLOWS ROUND: one UDP measurement; appends to e2e.tsv.
udp_run() {
	local ph=$1 fl=$2 r=$3 rpid before after line pps sent rx0 rx1 ok=1 sport
	local tag=$ph.$fl.$r
	sport=$(next_sport)
	before=$(path_counters)
	rx0=$(lanhost_rx)
	bg_run lanhost1 $((${UDP_WINDOW%.*} + 10)) "$BENCH_BIN/udp_flood" recv --port "$PORT" \
		--warmup "$UDP_WARMUP" --window "$UDP_WINDOW" --wait 5 --reply \
		>"$T/udp.$tag.out" 2>"$T/udp.$tag.err"
	rpid=$BG_PID
	wait_for 3 listening lanhost1 udp "$PORT" || {
		bg_stop "$rpid"
		bad "UDP $ph $fl flows round $r: receiver did not start"
		return
	}
	sent=$(lab_exec remote1 timeout $((${UDP_WINDOW%.*} + 10)) "$BENCH_BIN/udp_flood" send \
		--dst "$WAN" --port "$PORT" --sport "$sport" --flows "$fl" \
		--seconds "$UDP_SEND_SECS")
	bg_wait "$rpid" 10 >/dev/null
	rx1=$(lanhost_rx)
	after=$(path_counters)
	line=$(cat "$T/udp.$tag.out" 2>/dev/null)
	pps=$(field pps "$line")
	if [ -z "$pps" ] || [ "$pps" -le 0 ]; then
		ok=0
		bad "UDP $ph $fl flows round $r: no packets at the LAN host ($line; sender: $sent)"
	fi
	if [ "$ok" = 1 ] && ! check_path "$ph" "$before" "$after" "$(field pkts "$line")"; then
		ok=0
		bad "UDP $ph $fl flows round $r: traffic did not take the $ph path (counters before '$before' after '$after': ptrig translated, ptrig fast path, nft dnat)"
	fi
	# A figure the generators did not print is recorded as "-".
	printf 'udp\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$fl" "$ph" "$r" "${pps:-0}" "$ok" \
		"$(or_dash "$(field pps "$sent")")" "$(or_dash "$((rx1 - rx0))")" \
		"$(or_dash "$(field lost_est "$line")")" \
		"$(or_dash "$(field cpu_ns_per_pkt "$sent")")" >>"$T/e2e.tsv"
	printf '  UDP  %s %4s flows round %s: %8s pps at the LAN host (%s; sender %s)\n' "$ph" "$fl" "$r" \
		"${pps:-0}" "$line" "$sent"
}

# tcp_run PHASE FLOWS ROUND: one TCP measurement (FLOWS streams over as
# many iperf3 pairs as needed); appends to e2e.tsv.
tcp_run() {
	local ph=$1 fl=$2 r=$3 before after bps=0 ok=1 procs per i b
	local -a spids=() cpids=()
	procs=$(((fl + TCP_PER_PROC - 1) / TCP_PER_PROC))
	per=$(((fl + procs - 1) / procs))
	before=$(path_counters)
	for ((i = 0; i < procs; i++)); do
		bg_run lanhost1 $((TCP_SECS + 40)) iperf3 -s -1 -p $((PORT + i)) \
			>"$T/iperf.$ph.$fl.$r.$i.srv" 2>&1
		spids+=("$BG_PID")
	done
	for ((i = 0; i < procs; i++)); do
		wait_for 3 listening lanhost1 tcp $((PORT + i)) || {
			for b in "${spids[@]}"; do bg_stop "$b"; done
			bad "TCP $ph $fl flows round $r: iperf3 server $i did not start"
			return
		}
	done
	for ((i = 0; i < procs; i++)); do
		bg_run remote1 $((TCP_SECS + 30)) iperf3 -c "$WAN" -p $((PORT + i)) \
			-P "$per" -t "$TCP_SECS" -O 1 -J >"$T/iperf.$ph.$fl.$r.$i.json" 2>&1
		cpids+=("$BG_PID")
	done
	for b in "${cpids[@]}"; do bg_wait "$b" $((TCP_SECS + 35)) >/dev/null; done
	for b in "${spids[@]}"; do bg_wait "$b" 5 >/dev/null; done
	after=$(path_counters)
	for ((i = 0; i < procs; i++)); do
		b=$(jq -r '.end.sum_received.bits_per_second // 0 | floor' "$T/iperf.$ph.$fl.$r.$i.json" 2>/dev/null)
		if [ -z "$b" ] || [ "$b" -le 0 ]; then
			ok=0
			bad "TCP $ph $fl flows round $r: iperf3 pair $i failed ($(jq -r '.error // empty' "$T/iperf.$ph.$fl.$r.$i.json" 2>/dev/null | head -1))"
			b=0
		fi
		bps=$((bps + b))
	done
	if [ "$ok" = 1 ] && ! check_path "$ph" "$before" "$after" 1; then
		ok=0
		bad "TCP $ph $fl flows round $r: traffic did not take the $ph path (counters before '$before' after '$after')"
	fi
	printf 'tcp\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\n' "$fl" "$ph" "$r" "$bps" "$ok" >>"$T/e2e.tsv"
	printf '  TCP  %s %4s flows round %s: %8.1f Mbit/s\n' "$ph" "$fl" "$r" "$(awk -v b="$bps" 'BEGIN { print b / 1e6 }')"
}

# ---- 3. the router's forwarding cost, live frames ----------------------------------
FWD_PACKETS=${BENCH_FWD_PACKETS:-500000}
FWD_REPEAT=${BENCH_FWD_REPEAT:-1000000}
FWD_ROUNDS=${BENCH_FWD_ROUNDS:-$ROUNDS}
FWD_HOLD=120 # s the TCP connections of one run stay open (a run takes a few)
LANSW=$(lab_ns lansw)

# sink_on / sink_off: the counting sink on the LAN bridge's end of lan0 (in
# place of the XDP_PASS program peers_xdp may have put there).
# SINK_NS: the bridge whose end of the router's veth has the sink; the
# sink's xdp_ref options (what it counts) follow.
SINK_NS=$LANSW
sink_on() {
	"$BENCH_BIN/xdp_ref" off --netns "$SINK_NS" --dev rtr &&
		"$BENCH_BIN/xdp_ref" sink --netns "$SINK_NS" --dev rtr "$@"
}
sink_off() {
	"$BENCH_BIN/xdp_ref" off --netns "$SINK_NS" --dev rtr || return 1
	[ "$PEERS_XDP" = 1 ] || return 0
	"$BENCH_BIN/xdp_ref" pass --netns "$SINK_NS" --dev rtr
}

# fwd_prime PROTO FLOWS SPORT: the flows set up through the router as the
# end-to-end runs do. UDP: remote1 sends for 4 s from every source port,
# the LAN host answers each flow once (conntrack marks a UDP flow assured
# only when it still carries packets 2 s after its reply). TCP: FLOWS
# connections, held open and idle until fwd_unprime (FWD_PIDS).
FWD_PIDS=()
fwd_prime() {
	local proto=$1 fl=$2 sport=$3 dport=$4 i
	FWD_PIDS=()
	if [ "$proto" = udp ]; then
		bg_run lanhost1 15 "$BENCH_BIN/udp_flood" recv --port "$PORT" \
			--warmup 0 --window 4.5 --wait 5 --reply >/dev/null 2>&1
		FWD_PIDS+=("$BG_PID")
		wait_for 3 listening lanhost1 udp "$PORT" || return 1
		lab_exec remote1 timeout 10 "$BENCH_BIN/udp_flood" send --dst "$WAN" \
			--port "$PORT" --sport "$sport" --flows "$fl" --seconds 4 >/dev/null || return 1
		bg_wait "${FWD_PIDS[0]}" 10 >/dev/null
		FWD_PIDS=()
		# ptrig keeps conntrack's answer about a flow for a second
		# (per CPU): let the answers from before the flows were
		# assured expire.
		sleep 1.2
		return 0
	fi
	bg_run lanhost1 $((FWD_HOLD + 5)) "$BENCH_BIN/fwd_live" hold-server --port "$dport" \
		--flows "$fl" --seconds "$FWD_HOLD" >/dev/null 2>&1
	FWD_PIDS+=("$BG_PID")
	wait_for 3 listening lanhost1 tcp "$dport" || return 1
	: >"$T/hold.out"
	bg_run remote1 $((FWD_HOLD + 5)) "$BENCH_BIN/fwd_live" hold-client --dst "$WAN" \
		--dport "$dport" --sport "$sport" --flows "$fl" --seconds "$FWD_HOLD" \
		>"$T/hold.out" 2>&1
	FWD_PIDS+=("$BG_PID")
	for ((i = 0; i < 150; i++)); do
		grep -q "^connected=" "$T/hold.out" && break
		sleep 0.1
	done
	# ptrig asks conntrack about a fast-path flow once a second per CPU
	# and keeps the answer: the answer it got for the handshake's last
	# ACK, before the stack had seen it, was "not established". Measure
	# the steady state, after the next check.
	sleep 1.2
	grep -qx "connected=$fl" "$T/hold.out"
}
fwd_unprime() {
	local p
	for p in "${FWD_PIDS[@]}"; do bg_stop "$p"; done
	FWD_PIDS=()
}

# fast_counters: ptrig's fast-path counters, "name=value ..." (why packets
# of F took the stack, when they did).
fast_counters() {
	ptrig_json | jq -r '[.interfaces[0].counters | to_entries[] | select(.key | test("fast")) | "\(.key)=\(.value)"] | join(" ")'
}

# fwd_run PHASE PROTO FLOWS ROUND: one measurement; appends to fwd.tsv.
fwd_run() {
	local ph=$1 proto=$2 fl=$3 r=$4 sport dport=$PORT line sink path0 path1 ok=1 fast0='' fast1=''
	sport=$(next_sport)
	# The source port blocks come round again after 40 runs: TCP runs
	# also take turns over the destination ports, so that no connection
	# reuses the addresses and ports of one closed shortly before (the LAN
	# host may still hold it). The reference (X) handles PORT only.
	[ "$ph" = X ] || dport=$((PORT + (SPORT_SEQ / 40) % TCP_PROCS))
	if [ "$ph" != X ] && ! fwd_prime "$proto" "$fl" "$sport" "$dport"; then
		fwd_unprime
		bad "forwarding $proto $ph $fl flows round $r: flows not set up ($(cat "$T/hold.out" 2>/dev/null))"
		return
	fi
	# The path's own counter: ptrig's fast path (F), its DNAT (A).
	case $ph in
	F) path0=$(ptrig_count fast_forwarded) && fast0=$(fast_counters) ;;
	A) path0=$(ptrig_count xdp_translated) ;;
	esac
	if ! sink_on --to-addr "$LAN1" --port "$PORT" --ports "$TCP_PROCS"; then
		fwd_unprime
		bad "forwarding $proto $ph $fl flows round $r: sink not attached"
		return
	fi
	line=$(timeout 120 "$BENCH_BIN/fwd_live" run --netns "$LAB_ROUTER" --dev "$LAB_WAN_IF" --attached \
		--proto "$proto" --src "$LAB_REMOTE1_IP" --sport "$sport" --dst "$WAN" \
		--dport "$dport" --smac "$REMOTE1_MAC" --flows "$fl" --packets "$FWD_PACKETS" \
		--repeat "$FWD_REPEAT" --seconds 60) || ok=0
	sink=$(field sink_pkts "$("$BENCH_BIN/xdp_ref" count --netns "$SINK_NS" --dev rtr)")
	case $ph in
	F) path1=$(ptrig_count fast_forwarded) && fast1=$(fast_counters) ;;
	A) path1=$(ptrig_count xdp_translated) ;;
	esac
	sink_off || bad "could not remove the sink"
	fwd_unprime
	# In F >= 98% on its counter: once a second per flow and CPU, one
	# packet takes the stack so that conntrack keeps seeing the flow.
	fwd_record fwd.tsv "forwarding" "$ph" "$proto" "$fl" "$r" "$ok" "$line" "$sink" \
		"${path0:-}" "${path1:-}" "$([ "$ph" = F ] && echo 98 || echo 99)" "path counter" \
		"${fast0:+ptrig fast-path counters before: $fast0; after: $fast1}"
}

# fwd_record TSV WHAT PHASE PROTO FLOWS ROUND OK LINE SINK PATH0 PATH1 PCT
# COUNTER [MORE]: judge one forwarding run and append it to $T/TSV. Valid
# (OK stays 1) when fwd_live ran, >= 99% of the injected frames reached the
# sink translated, and the path's COUNTER (when PATH0 is given) grew by
# >= PCT% of them; MORE is added to the INVALID message.
fwd_record() {
	local tsv=$1 what=$2 ph=$3 proto=$4 fl=$5 r=$6 ok=$7 line=$8 sink=$9 path0=${10} path1=${11} pct=${12} counter=${13} more=${14:-} pkts warm inj path=-
	pkts=$(field packets "$line")
	warm=$(field warm "$line")
	inj=$((${warm:-0} + ${pkts:-0}))
	[ -n "$pkts" ] && [ "$pkts" -gt 0 ] || ok=0
	[ -n "$sink" ] && [ $((sink * 100)) -ge $((inj * 99)) ] && [ "$sink" -le "$inj" ] || ok=0
	if [ -n "$path0" ]; then
		path=$((path1 - path0))
		[ $((path * 100)) -ge $((inj * pct)) ] || ok=0
	fi
	[ "$ok" = 1 ] || bad "$what $proto $ph $fl flows round $r: $line; sink counted ${sink:-?} of $inj injected; $counter +$path${more:+; $more}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proto" "$fl" "$ph" "$r" "${pkts:-0}" \
		"$(or_dash "$(field kernel_ns "$line")")" "$ok" "$inj" "$(or_dash "$sink")" "$path" >>"$T/$tsv"
	printf '  %s %s %s %4s flows round %s: %s (sink %s of %s, %s +%s)\n' "$what" "$proto" "$ph" "$fl" \
		"$r" "$line" "${sink:-?}" "$inj" "$counter" "$path"
}

# fwd_up_run PHASE PROTO FLOWS ROUND: one LAN -> WAN measurement: the
# owner's packets of the same flows (from the LAN host's port to remote1's
# source ports), injected at lan0, counted by a sink on the WAN bridge's
# end of wan0 only if SNATed to the router's address; appends to fwdup.tsv.
# F: fast path, ptrig's LAN program in TC (injected with no program: the
# stack runs TC ingress); L: its LAN program in XDP (injected with it); A:
# the stack and ptrig's TC egress SNAT; B: nftables DNAT's replies.
fwd_up_run() {
	local ph=$1 proto=$2 fl=$3 r=$4 sport dport line sink path0='' path1='' ok=1 how=--pass cnt=''
	sport=$(next_sport)
	dport=$((PORT + (SPORT_SEQ / 40) % TCP_PROCS))
	if ! fwd_prime "$proto" "$fl" "$sport" "$dport"; then
		fwd_unprime
		bad "forwarding LAN->WAN $proto $ph $fl flows round $r: flows not set up ($(cat "$T/hold.out" 2>/dev/null))"
		return
	fi
	case $ph in
	F | L) cnt=fast_out_forwarded ;;
	A) cnt=tc_egress_translated ;;
	esac
	[ "$ph" = L ] && how=--attached
	[ -n "$cnt" ] && path0=$(ptrig_count "$cnt")
	SINK_NS=$(lab_ns wansw)
	if ! sink_on --to-addr "$LAB_REMOTE1_IP" --port "$sport" --ports "$fl" --from "$WAN"; then
		SINK_NS=$LANSW
		fwd_unprime
		bad "forwarding LAN->WAN $proto $ph $fl flows round $r: sink not attached"
		return
	fi
	line=$(timeout 120 "$BENCH_BIN/fwd_live" run --netns "$LAB_ROUTER" --dev "$LAB_LAN_IF" "$how" \
		--proto "$proto" --src "$LAN1" --sport "$dport" --dst "$LAB_REMOTE1_IP" \
		--dport "$sport" --vary dport --smac "$LANHOST1_MAC" --flows "$fl" \
		--packets "$FWD_PACKETS" --repeat "$FWD_REPEAT" --seconds 60) || ok=0
	sink=$(field sink_pkts "$("$BENCH_BIN/xdp_ref" count --netns "$SINK_NS" --dev rtr)")
	[ -n "$cnt" ] && path1=$(ptrig_count "$cnt")
	sink_off || bad "could not remove the sink"
	SINK_NS=$LANSW
	fwd_unprime
	fwd_record fwdup.tsv "forwarding LAN->WAN" "$ph" "$proto" "$fl" "$r" "$ok" "$line" "$sink" \
		"$path0" "$path1" 98 "${cnt:-path counter}"
}

RUN_E2E=1
RUN_FWD=1
RUN_FWD_UP=1
[ "${BENCH_SKIP_FWD_UP:-0}" = 1 ] && RUN_FWD_UP=0
[ "${BENCH_SKIP_E2E:-0}" = 1 ] && RUN_E2E=0
[ "${BENCH_SKIP_FWD:-0}" = 1 ] && RUN_FWD=0
if [ "$RUN_E2E" = 1 ] || [ "$RUN_FWD" = 1 ] || [ "$RUN_FWD_UP" = 1 ]; then
	printf 'bench both:%s both:%s-%s timeout=3600 flow-timeout=3600\n' "$TRIG_PORT" "$PORT" "$PORT_LAST" >"$T/ptrig-A.conf"
	printf 'bench both:%s both:%s-%s timeout=3600 flow-timeout=3600\n' "$TRIG_PORT" "$PORT_OFF" $((PORT_OFF + TCP_PROCS - 1)) >"$T/ptrig-B.conf"
	# Private ptrig-load and pin root, the lab, ptrig detached by
	# lab_down (also on failure).
	e2e_ptrig_lab
	# lab_down does not know the references: remove them first (the
	# hooks run in reverse order).
	lab_on_down "$BENCH_BIN/xdp_ref" off --netns "$LAB_ROUTER" --dev "$LAB_WAN_IF"
	lab_on_down "$BENCH_BIN/xdp_ref" off --netns "$LANSW" --dev rtr
	LANHOST1_MAC=$(lab_exec lanhost1 cat "/sys/class/net/$LAB_HOST_IF/address")
	REMOTE1_MAC=$(lab_exec remote1 cat "/sys/class/net/$LAB_HOST_IF/address")
fi

# reverse_if_even ROUND LIST: LIST, reversed in even rounds (F A B X C, C X
# B A F, ...), so a drift of the machine's load over the run affects every
# phase alike.
reverse_if_even() {
	if (($1 % 2 == 0)); then
		echo "$2" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }'
	else
		echo "$2"
	fi
}

if [ "$RUN_E2E" = 1 ]; then
	phases="F A B X"
	[ "$PHASE_C" = 1 ] && phases="$phases C"
	printf '#proto\tflows\tphase\tround\tvalue\tvalid\tsender_pps\tlanhost_rx_pkts\tlost_est\tsender_cpu_ns_per_pkt\n' >"$T/e2e.tsv"
	if [ -n "$FAST_SKIP" ]; then
		echo "bench: fast path phase F skipped: $FAST_SKIP"
		printf 'skip\tF\t%s\n' "$FAST_SKIP" >>"$T/e2e.tsv"
		phases=${phases/F /}
	fi
	say "end to end in the lab (prefix $LAB_PREFIX): $ROUNDS rounds of phases $phases at $FLOWS_LIST flow(s)"
	for fl in $FLOWS_LIST; do
		for ((r = 1; r <= ROUNDS; r++)); do
			for ph in $(reverse_if_even "$r" "$phases"); do
				if ! phase_setup "$ph"; then
					bad "could not set up phase $ph ($fl flows, round $r)"
					continue
				fi
				udp_run "$ph" "$fl" "$r"
				# The reference redirects UDP and TCP alike, but
				# the LAN host's TCP answers would leave
				# un-NATed: TCP has no ceiling row.
				[ "$ph" = X ] || tcp_run "$ph" "$fl" "$r"
			done
		done
	done
fi

if [ "$RUN_FWD" = 1 ]; then
	phases="F A B X"
	printf '#proto\tflows\tphase\tround\tpackets\tkernel_ns\tvalid\tinjected\tsink_pkts\tpath_pkts\n' >"$T/fwd.tsv"
	if [ -n "$FAST_SKIP" ]; then
		printf 'skip\tF\t%s\n' "$FAST_SKIP" >>"$T/fwd.tsv"
		phases=${phases/F /}
	fi
	say "router forwarding cost, live frames: $FWD_ROUNDS rounds of phases $phases at $FLOWS_LIST flow(s), $FWD_PACKETS packets each"
	for fl in $FLOWS_LIST; do
		for ((r = 1; r <= FWD_ROUNDS; r++)); do
			for ph in $(reverse_if_even "$r" "$phases"); do
				if ! phase_setup "$ph"; then
					bad "could not set up phase $ph ($fl flows, round $r)"
					continue
				fi
				# The TCP segments carry fixed sequence numbers:
				# conntrack must be liberal about windows in
				# every phase (F's attach has it so already).
				lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1 ||
					bad "sysctl"
				fwd_run "$ph" udp "$fl" "$r"
				fwd_run "$ph" tcp "$fl" "$r"
			done
		done
	done
fi
if [ "$RUN_FWD_UP" = 1 ]; then
	phases="F L A B"
	printf '#proto\tflows\tphase\tround\tpackets\tkernel_ns\tvalid\tinjected\tsink_pkts\tpath_pkts\n' >"$T/fwdup.tsv"
	if [ -n "$FAST_SKIP" ]; then
		printf 'skip\tF\t%s\nskip\tL\t%s\n' "$FAST_SKIP" "$FAST_SKIP" >>"$T/fwdup.tsv"
		phases="A B"
	fi
	say "router forwarding cost, live frames, LAN -> WAN: $FWD_ROUNDS rounds of phases $phases at $FLOWS_LIST flow(s)"
	for fl in $FLOWS_LIST; do
		for ((r = 1; r <= FWD_ROUNDS; r++)); do
			for ph in $(reverse_if_even "$r" "$phases"); do
				LAN_MODE=
				case $ph in
				F) LAN_MODE=tc ;;
				L) LAN_MODE=xdp ;;
				esac
				if ! phase_setup "$([ "$ph" = L ] && echo F || echo "$ph")"; then
					bad "could not set up LAN->WAN phase $ph ($fl flows, round $r)"
					continue
				fi
				lab_exec router sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1 ||
					bad "sysctl"
				fwd_up_run "$ph" udp "$fl" "$r"
				fwd_up_run "$ph" tcp "$fl" "$r"
			done
		done
	done
	LAN_MODE=
fi
if [ "$RUN_E2E" = 1 ] || [ "$RUN_FWD" = 1 ] || [ "$RUN_FWD_UP" = 1 ]; then
	peers_xdp 0
	wan_off
	lab_down
fi
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)" >>"$T/machine.txt"
echo "duration:    $(($(date +%s) - START_EPOCH)) s" >>"$T/machine.txt"

# ---- 4. report -------------------------------------------------------------------------
cat >"$T/method.md" <<EOF
UDP: one sender (sendmmsg, 18-byte payloads) on remote1 to $WAN:$PORT for $UDP_SEND_SECS s, from
N source ports (N flows) taking turns a batch each; the receiver on lanhost1 (recvmmsg) answers
the first datagram of every flow once, skips ${UDP_WARMUP} s and counts ${UDP_WINDOW} s. TCP: iperf3 remote1 ->
$WAN:$PORT, -t $TCP_SECS -O 1; 1,000 flows are 8 iperf3 pairs (ports $PORT-$PORT_LAST) of 125 streams,
their received throughput summed. F: ptrig with its fast path (attach --lan $LAB_LAN_IF); A: ptrig's
DNAT of a triggered flow, forwarded by the stack; B: nftables \`dnat to\` port forward of the same
ports, ptrig attached but not opening them; X: the reference XDP program that blindly rewrites
and redirects the packets to $LAB_LAN_IF (the lab's ceiling, UDP only); C: the nftables DNAT with
ptrig detached. In F and X the bridge ends of the router's veths run an XDP_PASS program (a veth
accepts redirected frames only then). Every run is checked to have taken its path (ptrig's
translated counter in A; the nft rule counter, and not ptrig, in B and C; neither in X, where
nothing addressed to the router would reach the LAN host without the reference program).
The sender's CPU time per packet (user + system; this kernel has no IRQ time accounting, so
the softirq work its packets trigger in its context, through the veths, bridges, the router
and the delivery at the LAN host, is charged to it) is a second, less load-sensitive view of
the path cost. The machine is shared: pps and throughput move with the other load, so compare
the paired ratios (phases of one round run back to back), not runs of different rounds.
EOF
cat >"$T/fwd_method.md" <<EOF
Frames injected at $LAB_WAN_IF with BPF_PROG_RUN, BPF_F_TEST_XDP_LIVE_FRAMES (build/bench/fwd_live):
60-byte frames from $LAB_REMOTE1_IP (N source ports: N flows) to $WAN:$PORT, UDP (18-byte payload) or
TCP (ACK+PSH, 6-byte payload, fixed sequence numbers; conntrack liberal about TCP windows in
every phase), up to $FWD_REPEAT packets per call (batches of 64), the flows in turn packet by
packet, $FWD_PACKETS timed packets per run after 8 untimed packets per flow. The program run
writes the frame afresh (a page that comes back from a redirect is reused as it was left),
with the next flow's source port, and tail-calls the XDP program
attached to $LAB_WAN_IF: ptrig's in F, A and B (in B it passes these ports to the stack), the
reference redirect in X. XDP_PASS hands the frame to the stack as received on $LAB_WAN_IF (conntrack,
nftables, routing, neighbour, $LAB_LAN_IF's transmit, within the call); redirected frames are
transmitted at the end of each batch. ns/pkt is the kernel's time for the timed packets
(BPF_PROG_RUN's duration, which leaves out the setup of each call) over their number: the
router's work, plus the sink (an XDP program on the LAN bridge's end of $LAB_LAN_IF that counts
and drops the frames for $LAN1:$PORT-$PORT_LAST), the same in every phase; no generator, bridge or
LAN host runs. Ratios are speed-ups (the other phase's ns over
this one's), paired per round. A run is valid when the sink counted >= 99% of the packets
injected (warm-up included) and, in F, ptrig's fast_forwarded counter grew by >= 98% of
them (once a second per flow and CPU one packet takes the stack, for conntrack), in A its
xdp_translated counter by >= 99%. Before each run the flows are set up through
the router as in the end-to-end runs (not in X: the reference needs none).

LAN -> WAN: the owner's packets of the same flows (from $LAN1, the flow's port on the LAN host,
to remote1's N source ports), injected at $LAB_LAN_IF, counted by the same kind of sink on the WAN
bridge's end of $LAB_WAN_IF, only when SNATed to $WAN. F: ptrig's fast path with its LAN program in
TC (attach --lan-mode tc; the frames are injected with no program, so the stack runs TC ingress
on $LAB_LAN_IF); L: with its LAN program in native XDP on $LAB_LAN_IF (--lan-mode xdp; injected with
that program); A: fast path off (the stack forwards, ptrig's TC egress SNATs); B: the replies of
the nftables DNAT's connections. Valid when the sink counted >= 99% and, in F and L, ptrig's
fast_out_forwarded counter (in A tc_egress_translated) grew by >= 98% of the packets injected.
EOF
# A skipped section's raw figures come from the earlier run recorded in
# BENCH_OUT: the report keeps every table, and says which are reused.
REUSED=
reuse() {
	local f
	for f in "$@"; do
		[ ! -s "$T/$f" ] && [ -s "$OUT/$f" ] && cp "$OUT/$f" "$T/$f" && REUSED="$REUSED $f"
	done
}
[ "${BENCH_SKIP_PATHS:-0}" = 1 ] && reuse paths.tsv paths.md
[ "$RUN_E2E" = 1 ] || reuse e2e.tsv
[ "$RUN_FWD" = 1 ] || reuse fwd.tsv
[ "$RUN_FWD_UP" = 1 ] || reuse fwdup.tsv
[ -n "$REUSED" ] && echo "reused:     $REUSED: skipped in this run, the figures of an earlier run recorded in ${OUT#"$ROOT"/} (see its history)" >>"$T/machine.txt"
report_args=(--machine "$T/machine.txt" --method "$T/method.md" --fwd-method "$T/fwd_method.md" --plot-dir "$T")
[ -s "$T/paths.tsv" ] && report_args+=(--paths "$T/paths.tsv")
[ -s "$T/paths.md" ] && report_args+=(--paths-md "$T/paths.md")
[ -s "$T/e2e.tsv" ] && report_args+=(--e2e "$T/e2e.tsv")
[ -s "$T/fwd.tsv" ] && report_args+=(--fwd "$T/fwd.tsv")
[ -s "$T/fwdup.tsv" ] && report_args+=(--fwd-up "$T/fwdup.tsv")
"$BENCH_BIN/benchstat" report "${report_args[@]}" --out "$T/results.md" ||
	bad "benchstat report failed"
if [ -s "$T/paths.tsv" ] && [ -s "$T/e2e.tsv" ] && [ -s "$T/plot_r1.dat" ]; then
	gnuplot -e "dir='$T'; title='ptrig benchmarks ($(uname -r), $(date -u +%Y-%m-%d))'" \
		"$ROOT/tools/bench_plot.gp" || bad "gnuplot failed"
fi

# ---- record --------------------------------------------------------------------------------
for f in results.md machine.txt paths.tsv paths.md e2e.tsv fwd.tsv fwdup.tsv results.png; do
	[ -e "$T/$f" ] && cp "$T/$f" "$OUT/$f"
done
say "results (written to ${OUT#"$ROOT"/}/)"
summary_args=()
[ -s "$T/paths.tsv" ] && summary_args+=(--paths "$T/paths.tsv")
[ -s "$T/e2e.tsv" ] && summary_args+=(--e2e "$T/e2e.tsv")
[ -s "$T/fwd.tsv" ] && summary_args+=(--fwd "$T/fwd.tsv")
[ -s "$T/fwdup.tsv" ] && summary_args+=(--fwd-up "$T/fwdup.tsv")
"$BENCH_BIN/benchstat" summary "${summary_args[@]}" || bad "benchstat summary failed"
if [ "$INVALID" -gt 0 ]; then
	echo "bench: $INVALID invalid measurement(s): see above" >&2
	exit 1
fi
exit 0
