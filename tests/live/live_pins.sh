#!/usr/bin/env bash
# The suites never touch a live ptrig's pins. run-all.sh calls
#   live_pins.sh setup STATE   before the suites, and
#   live_pins.sh check STATE   after them.
# setup: when /sys/fs/bpf/ptrig/wan0 does not exist, it makes one holding a
# dummy pinned map with a known value (a stand-in for an edge box's live
# ptrig on wan0); when it exists (a real ptrig runs here), it only looks.
# Either way it records a fingerprint (pin names, inodes, map ids, the dummy's
# value). check compares, prints one PASS/FAIL line per check and "N passed,
# M failed", and removes only what setup made.
set -u
LIVE_ROOT=/sys/fs/bpf/ptrig
LIVE_DIR=$LIVE_ROOT/wan0
SENTINEL=$LIVE_DIR/ptrig_test_live
cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
	echo "usage: $0 setup|check STATE" >&2
	exit 2
fi

fingerprint() {
	local f id
	stat -c '%n %i' "$LIVE_DIR" 2>/dev/null || echo "$LIVE_DIR missing"
	for f in "$LIVE_DIR"/*; do
		[ -e "$f" ] || continue
		id=$(bpftool -j map show pinned "$f" 2>/dev/null | jq -r .id 2>/dev/null)
		echo "$(stat -c '%n %i' "$f") map ${id:-?}"
	done
	if [ -e "$SENTINEL" ]; then
		echo "value $(bpftool -j map lookup pinned "$SENTINEL" key 0 0 0 0 2>/dev/null | jq -c .value)"
	fi
}

case $cmd in
setup)
	made=
	if [ ! -e "$LIVE_DIR" ]; then
		[ -e "$LIVE_ROOT" ] || made="root "
		mkdir -p "$LIVE_DIR" || exit 1
		made="${made}dir"
		if ! bpftool map create "$SENTINEL" type array key 4 value 4 entries 1 name ptrig_test_live ||
			! bpftool map update pinned "$SENTINEL" key 0 0 0 0 value 0x2a 0x70 0x74 0x67; then
			echo "live_pins: cannot pin a dummy map in $LIVE_DIR" >&2
			exit 1
		fi
	fi
	{
		echo "made: $made"
		fingerprint
	} >"$state"
	;;
check)
	passed=0 failed=0
	made=$(sed -n 's/^made: //p' "$state")
	if diff <(sed 1d "$state") <(fingerprint) >"$state.diff"; then
		passed=$((passed + 1))
		echo "PASS: $LIVE_DIR (pins, inodes, map ids, values) is untouched by the suites"
	else
		failed=$((failed + 1))
		echo "FAIL: $LIVE_DIR changed during the suites:"
		sed 's/^/    /' "$state.diff"
	fi
	if [ -n "$made" ]; then
		rm -f "$SENTINEL"
		rmdir "$LIVE_DIR" 2>/dev/null
		case $made in root*) rmdir "$LIVE_ROOT" 2>/dev/null ;; esac
	fi
	rm -f "$state" "$state.diff"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	;;
*) echo "usage: $0 setup|check STATE" >&2; exit 2 ;;
esac
