#!/usr/bin/env bash
# ptrig-load(8) documents the program as it is:
#   - it renders without warnings;
#   - every command, and every option of `ptrig-load --help` and of each
#     command's --help, appears in it (the checker itself is tried on an
#     option that does not exist);
#   - it states the exit codes, the files, and the firewall rule attach
#     prints;
#   - `make install DESTDIR=...` installs it (and the systemd unit).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PL=$BUILD/ptrig-load
MAN=doc/ptrig-load.8
# shellcheck source=../lib/check.sh
source tests/lib/check.sh
T=$(mktemp -d /tmp/ptrig-manpage.XXXXXX) || exit 1
trap 'rm -rf -- "$T"' EXIT

[ -x "$PL" ] || {
	echo "FAIL: $PL missing (run make)"
	exit 1
}
# ASCII rendering: hyphens stay '-'.
LC_ALL=C MANWIDTH=200 man -l "$MAN" 2>"$T/warn" | col -b >"$T/man.txt"
check "the page renders" test -s "$T/man.txt"
check "man --warnings: none" test -z "$(LC_ALL=C man --warnings -l "$MAN" 2>&1 >/dev/null)"

# in_page WORD: WORD appears in the rendered page as a whole word.
in_page() { grep -qE -- "(^|[^a-z-])$1([^a-z-]|\$)" "$T/man.txt"; }

# The options of a help text: every --long and -x.
options_of() { grep -oE -- '(^|[ [(|,])--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' | sort -u; }

check_not_in_page() { ! in_page "$1"; }
check "the checker finds no --no-such-option (it can fail)" check_not_in_page --no-such-option

"$PL" --help >"$T/help" 2>&1
CMDS=$(sed -n '/^Commands:/,/^$/p' "$T/help" | awk 'NF && $1 !~ /^\[/ && $1 != "Commands:" { print $1 }' | sort -u)
check "ptrig-load --help lists commands ($(echo $CMDS))" test "$(echo "$CMDS" | wc -w)" -ge 8
for c in $CMDS; do
	check "command $c: in COMMANDS" grep -qE "^       $c( |$)" "$T/man.txt"
	"$PL" "$c" --help >"$T/help.$c" 2>&1
	check "ptrig-load $c --help exits 0" test $? -eq 0
done
for o in $(cat "$T/help" "$T"/help.* | options_of); do
	check "option $o: in the page" in_page "$o"
done
sed -n '/^EXIT STATUS/,/^SIGNALS/p' "$T/man.txt" >"$T/exit.txt"
for c in 0 1 2; do
	check "EXIT STATUS: $c" grep -qE "^       $c +[A-Z]" "$T/exit.txt"
done
check "FIREWALL: the rule attach prints" grep -qF "ct state new meta mark & 0x00100000 == 0x00100000 accept" "$T/man.txt"
for f in /sys/fs/bpf/ptrig/IFACE/ /etc/default/ptrig ptrig.service; do
	check "FILES: $f" grep -qF -- "$f" "$T/man.txt"
done
# Every map the loader pins is documented (the list make writes out from
# include/ptrig.h).
MAPS=$(awk '{ print $2 }' "$BUILD/ptrig-maps.txt")
check "the map list has every map" test "$(echo "$MAPS" | wc -w)" -gt 8
for m in $MAPS; do
	check "map $m documented" grep -qF "$m" "$T/man.txt"
done

make -s install DESTDIR="$T/dest" BUILD="$BUILD" >/dev/null 2>&1
check "make install: ptrig-load(8) installed" cmp -s "$MAN" "$T/dest/usr/local/share/man/man8/ptrig-load.8"
check "make install: ptrig.service installed" test -s "$T/dest/usr/local/lib/systemd/system/ptrig.service"
check "make install: man -w finds the page" test -n "$(MANPATH=$T/dest/usr/local/share/man man -w ptrig-load 2>/dev/null)"

check_summary
