#!/bin/bash
# The loader's library objects (attach/reload/detach, the rule push, the
# state readers, the rule-file parser) never write to stdout or stderr:
# their messages go back to the caller. Checked on the compiled objects, so
# a printf added anywhere in them fails here. Each object must also still
# define its entry points, so a check on an empty or renamed object fails.
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/check.sh
. tests/lib/check.sh
BUILD=${BUILD:-build}

PRINTING='^(printf|fprintf|vprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|putc|fwrite|perror|warn|warnx|err|errx|stdout|stderr|__printf_chk|__fprintf_chk|__vfprintf_chk|__dprintf_chk)$'

# object: entry points it must define
# printing_calls OBJ: the printing functions OBJ calls.
printing_calls() { nm -u "$1" | awk '{ print $2 }' | grep -E "$PRINTING" | tr '\n' ' '; }

# defines OBJ SYM: OBJ defines function SYM.
defines() { nm --defined-only "$1" | awk -v s="$2" '$2 == "T" && $3 == s { f = 1 } END { exit !f }'; }

declare -A LIBRARY=(
	[attach]="ptrig_attach ptrig_reload ptrig_detach"
	[rules]="ptrig_rules_push ptrig_rules_read"
	[state]="iface_state_read triggers_read flows_walk flows_count"
	[config]="ptrig_config_parse_file"
)
for obj in "${!LIBRARY[@]}"; do
	o=$BUILD/loader/$obj.o
	[ -f "$o" ] || { fail "$o exists"; continue; }
	assert_eq "" "$(printing_calls "$o")" "loader/$obj.c prints nothing"
	for sym in ${LIBRARY[$obj]}; do
		check "loader/$obj.c defines $sym" defines "$o" "$sym"
	done
done
# The test's own negative: the CLI front-end does print.
assert_ne "" "$(printing_calls "$BUILD/loader/cmd_attach.o")" \
	"the check sees the printing of the CLI front-end"
check_summary
