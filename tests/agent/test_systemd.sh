#!/usr/bin/env bash
# The systemd unit and the agent's side of systemd's protocols:
#   1. `systemd-analyze verify` accepts deploy/systemd/ptrig.service (its
#      ExecStart pointed at the built binary, the man page on MANPATH) and
#      rejects a broken copy; the unit is Type=notify, has ExecReload, the
#      capability bounding set the agent checks for, ProtectSystem=strict;
#   2. the agent, run as that unit runs it (capabilities bounded with
#      setpriv, NOTIFY_SOCKET, WATCHDOG_USEC, stderr being the "journal"),
#      on a veth in a private namespace: READY=1 once attached, RELOADING=1
#      then READY=1 on SIGHUP, WATCHDOG=1 pings, STOPPING=1 on SIGTERM;
#      log lines carry sd-daemon priorities and no timestamps;
#   3. every system call the agent makes (traced) is allowed by the unit's
#      SystemCallFilter.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PL=$BUILD/ptrig-load
UNIT=deploy/systemd/ptrig.service
# shellcheck source=../lib/check.sh
source tests/lib/check.sh

[ "$(id -u)" -eq 0 ] || {
	echo "SKIP: needs root" >&2
	exit 77
}
NS=ptrig-agent-sd-$$
T=$(mktemp -d /tmp/ptrig-systemd.XXXXXX) || exit 1
export PTRIG_PIN_ROOT=/sys/fs/bpf/ptrig-agent-sd-$$
AGENT=
RECV=
cleanup() {
	[ -n "$AGENT" ] && kill -KILL "$AGENT" 2>/dev/null
	[ -n "${STRACE:-}" ] && kill -KILL "$STRACE" 2>/dev/null
	[ -n "$RECV" ] && kill "$RECV" 2>/dev/null
	wait 2>/dev/null
	"$PL" --netns "$NS" detach v0 >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	rm -rf -- "$PTRIG_PIN_ROOT" "$T"
}
trap cleanup EXIT

# ---- 1. the unit -----------------------------------------------------------------------
mkdir -p "$T/man/man8"
cp doc/ptrig-load.8 "$T/man/man8/"
sed "s|/usr/local/sbin/ptrig-load|$PL|" "$UNIT" >"$T/ptrig.service"
OUT=$(MANPATH=$T/man systemd-analyze verify "$T/ptrig.service" 2>&1)
assert_eq "0 " "$? $OUT" "systemd-analyze verify: the unit is clean"
sed 's/^Type=notify/Type=notfy/' "$T/ptrig.service" >"$T/broken.service"
OUT=$(MANPATH=$T/man systemd-analyze verify "$T/broken.service" 2>&1)
check "systemd-analyze verify rejects Type=notfy (the check can fail)" grep -q "Failed to parse service type" <<<"$OUT"

unit_val() { sed -n "s/^$1=//p" "$UNIT"; }
assert_eq notify "$(unit_val Type)" "Type=notify"
assert_eq '/bin/kill -HUP $MAINPID' "$(unit_val ExecReload)" "ExecReload sends SIGHUP"
assert_eq strict "$(unit_val ProtectSystem)" "ProtectSystem=strict"
assert_eq /sys/fs/bpf "$(unit_val ReadWritePaths)" "only bpffs is writable"
assert_eq yes "$(unit_val NoNewPrivileges)" "NoNewPrivileges=yes"
CAPS=$(unit_val CapabilityBoundingSet)
NEEDED=$(sed -n '/needed_caps\[\] = {/,/^};/p' loader/agent.c | grep -oE '"CAP_[A-Z_]+"' | tr -d '"' | sort | xargs)
assert_eq "$NEEDED" "$(echo "$CAPS" | tr ' ' '\n' | sort | xargs)" \
	"CapabilityBoundingSet is the set the agent checks for ($NEEDED)"

# ---- 2. the agent under the unit's conditions -------------------------------------------
ip netns add "$NS" || exit 1
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
printf 'irc tcp:6660-6669 tcp:113\n' >"$T/ptrig.conf"
: >"$T/notify.log"
socat -u "UNIX-RECV:$T/notify.sock" "OPEN:$T/notify.log,append" &
RECV=$!
for ((i = 0; i < 30; i++)); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
: >"$T/journal.log"
BOUND=$(echo "$CAPS" | tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
(
	exec 2>>"$T/journal.log"
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 \
		JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log") \
		exec nsenter --net=/run/netns/"$NS" setpriv --inh-caps=-all --bounding-set=-all,"$BOUND" -- \
		"$PL" run -c "$T/ptrig.conf" v0 >>"$T/journal.log"
) &
AGENT=$!
got() { grep -q "$1" "$T/notify.log"; }
for ((i = 0; i < 50; i++)); do got 'READY=1' && break; sleep 0.1; done
check "READY=1 sent (capabilities bounded to $BOUND)" got 'READY=1'
check "ptrig is attached when READY=1 arrives" \
	eval '"$PL" --netns "$NS" status v0 --json | jq -e ".interfaces[0].xdp_mode == \"native\"" >/dev/null'
check "STATUS= says what runs" got 'STATUS=1 rules on 1 interfaces'
sleep 1
# Datagrams arrive back to back in the log: count matches, not lines.
count() { grep -o "$1" "$T/notify.log" | wc -l; }
N=$(count 'WATCHDOG=1')
check "WATCHDOG=1 pings (every 200 ms for WATCHDOG_USEC=400000: $N in ~1 s)" test "$N" -ge 3
kill -HUP "$AGENT"
for ((i = 0; i < 30; i++)); do got 'RELOADING=1' && break; sleep 0.1; done
check "SIGHUP: RELOADING=1" got 'RELOADING=1'
for ((i = 0; i < 30; i++)); do [ "$(count 'READY=1')" -ge 2 ] && break; sleep 0.1; done
check "... then READY=1 again" test "$(count 'READY=1')" -ge 2
kill -TERM "$AGENT"
wait "$AGENT"
assert_eq 0 $? "SIGTERM: exit 0"
AGENT=
check "STOPPING=1 sent" got 'STOPPING=1'
check "journal log lines: priority prefix, no timestamp" grep -qE '^<6>ptrig-load run: v0: attached' "$T/journal.log"
check "no timestamps in the journal log" eval '! grep -E "^(<[0-9]>)?[0-9]{4}-[0-9]{2}-[0-9]{2}T" "$T/journal.log"'


# ---- 3. the unit's system call filter covers what the agent calls ------------------------
# Every system call of a run like the one above (start, attach, SIGHUP, a
# scrape, stop) is allowed by SystemCallFilter (plus @default, which systemd
# always allows): a missing one would fail with EPERM under the unit.
FILTER=$(unit_val SystemCallFilter)
# expand NAME...: the system calls of these names and @groups, recursively.
systemd-analyze syscall-filter 2>/dev/null >"$T/groups"
expand() {
	awk -v want="$*" '
		/^@/ { g = $1; next }
		/^ +[@a-z0-9_]/ { sub(/^ +/, ""); members[g] = members[g] " " $1 }
		END {
			n = split(want, todo, " ")
			while (n > 0) {
				x = todo[n--]
				if (x in seen) continue
				seen[x] = 1
				if (x ~ /^@/) { m = split(members[x], mm, " "); for (i = 1; i <= m; i++) todo[++n] = mm[i] }
				else print x
			}
		}' "$T/groups" | sort -u
}
# shellcheck disable=SC2086
expand @default $FILTER >"$T/allowed"
check "the filter expands to many system calls ($(wc -l <"$T/allowed"))" test "$(wc -l <"$T/allowed")" -gt 300
ip netns del "$NS" 2>/dev/null
ip netns add "$NS" && ip -n "$NS" link add v0 type veth peer name v1 && ip -n "$NS" link set v0 up
ip -n "$NS" link set lo up
nsenter --net=/run/netns/"$NS" strace -f -qq -o "$T/strace.log" \
	"$PL" run -c "$T/ptrig.conf" --metrics 127.0.0.1:19779 v0 >"$T/strace.out" 2>&1 &
STRACE=$!
# Signals go to the agent, strace's child.
for ((i = 0; i < 50; i++)); do
	AGENT=$(pgrep -P "$STRACE")
	[ -n "$AGENT" ] && break
	sleep 0.1
done
for ((i = 0; i < 100; i++)); do
	nsenter --net=/run/netns/"$NS" curl -sf -o /dev/null http://127.0.0.1:19779/readyz && break
	sleep 0.1
done
nsenter --net=/run/netns/"$NS" curl -s http://127.0.0.1:19779/metrics | grep -q '^ptrig_rules{interface="v0"} 1$'
RC=$?
[ $RC = 0 ] || { cat "$T/strace.out"; tail -5 "$T/strace.log"; }
assert_eq 0 $RC "under strace: the agent attached and serves metrics"
kill -HUP "$AGENT"
sleep 0.5
kill -TERM "$AGENT"
wait "$STRACE"
AGENT=
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$T/strace.log" | sort -u >"$T/used"
check "strace saw the agent's system calls ($(wc -l <"$T/used"))" test "$(wc -l <"$T/used")" -gt 30
MISSING=$(comm -23 "$T/used" "$T/allowed" | grep -vx execve | xargs)
assert_eq "" "$MISSING" "every system call the agent made is in SystemCallFilter=$FILTER"
check_not_allowed() { ! grep -qx "$1" "$T/allowed"; }
check "the filter is a filter: ptrace is not allowed" check_not_allowed ptrace

check_summary
