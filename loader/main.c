// SPDX-License-Identifier: GPL-2.0
/* ptrig-load: validate rules, load and attach ptrig, and show its state.
 * One table entry per subcommand, each with its own do_<cmd>(). */
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "agent.h"
#include "cmds.h"
#include "pins.h"
#include "ptrig_load.h"

/* What a subcommand takes, beyond the options every command has. */
enum {
	NEED_IFACE = 1 << 0,	 /* a positional IFACE */
	OPT_IFACE = 1 << 1,	 /* an optional positional IFACE */
	NEED_CONFIG = 1 << 2,	 /* -c FILE */
	TAKES_JSON = 1 << 3,	 /* --json */
	TAKES_ATTACH = 1 << 4,	 /* --xdp-mode, --mark, --max-flows, ... */
	TAKES_DURATION = 1 << 5, /* --duration */
	TAKES_RUN = 1 << 6,	 /* IFACE..., --metrics, --detach-on-exit */
};

struct cmd {
	const char *name;
	int (*fn)(const struct cmd_opts *o);
	unsigned int takes;
	const char *usage;
	const char *help;
};

static const struct cmd cmds[] = {
	{"check", do_check, NEED_CONFIG, "check -c FILE",
	 "Parse and validate a rule file (no root needed)."},
	{"attach", do_attach, NEED_IFACE | NEED_CONFIG | TAKES_ATTACH,
	 "attach IFACE -c FILE [--xdp-mode native|generic] [--mark HEX]\n"
	 "       [--max-flows N] [--max-triggers N] [--lan IFACE|none]\n"
	 "       [--lan-mode auto|xdp|tc] [--allow-hw-offload]",
	 "Load ptrig on the WAN interface IFACE and push the rules. On an\n"
	 "interface that already runs ptrig this is an upgrade: the pinned\n"
	 "maps are reused, triggers and flows survive."},
	{"reload", do_reload, NEED_IFACE | NEED_CONFIG, "reload IFACE -c FILE",
	 "Replace the rule set atomically. Unchanged rules keep their\n"
	 "triggers; existing flows are never cut."},
	{"detach", do_detach, NEED_IFACE, "detach IFACE",
	 "Remove ptrig's programs, pins and (if ptrig created it) the\n"
	 "clsact qdisc from IFACE."},
	{"status", do_status, OPT_IFACE | TAKES_JSON, "status [IFACE] [--json]",
	 "Show attachments, rules with counters, and active triggers."},
	{"flows", do_flows, NEED_IFACE | TAKES_JSON, "flows IFACE [--json]",
	 "Show the live inbound flows."},
	{"pindir", do_pindir, NEED_IFACE, "pindir IFACE",
	 "Print the directory IFACE's maps are pinned in (once attached), for\n"
	 "bpftool: /sys/fs/bpf/ptrig/IFACE in the initial network namespace,\n"
	 "/sys/fs/bpf/ptrig/netns:INODE:COOKIE/IFACE in any other (INODE as\n"
	 "`lsns -t net` shows it; the cookie is never reused, so a new\n"
	 "namespace never inherits a deleted one's state)."},
	{"monitor", do_monitor, NEED_IFACE | TAKES_JSON | TAKES_DURATION,
	 "monitor IFACE [--json] [--duration SECONDS]",
	 "Stream trigger and flow events until Ctrl-C."},
	{"run", do_run, NEED_CONFIG | TAKES_ATTACH | TAKES_RUN,
	 "run -c FILE [--metrics ADDR:PORT] [--detach-on-exit]\n"
	 "       [--ready-if-absent] [attach options] IFACE...",
	 "Run as an agent: attach to every IFACE (each keeps its own state),\n"
	 "re-attach within 2 s when an interface is recreated, attach an\n"
	 "interface that appears later, reload the rules on SIGHUP and when\n"
	 "FILE changes (a bad file is logged and the running rules stay), and\n"
	 "on SIGTERM/SIGINT stop leaving the datapath attached. Tells systemd\n"
	 "when it is ready (Type=notify).\n\n"
	 "  --metrics ADDR:PORT  serve /metrics (Prometheus), /healthz and\n"
	 "                       /readyz; the socket is opened before --netns\n"
	 "  --detach-on-exit     detach from every IFACE when stopping\n"
	 "  --ready-if-absent    /readyz: a missing IFACE counts as ready"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: ptrig-load [--netns NAME] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f,
		"\nGlobal options:\n"
		"  --netns NAME  work on an interface in network namespace "
		"NAME\n"
		"                (/run/netns/NAME); pins stay in this host's "
		"bpffs\n"
		"  -h, --help    this help; `ptrig-load COMMAND --help` for "
		"one command\n\n"
		"Exit codes: 0 ok, 1 runtime failure, 2 usage or config "
		"error.\n");
}

static void cmd_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "Usage: ptrig-load [--netns NAME] %s\n\n%s\n", c->usage,
		c->help);
	if (c->takes & TAKES_ATTACH)
		fprintf(f,
			"\n  --xdp-mode MODE  native (default) or generic; "
			"never falls back silently\n"
			"  --mark HEX       firewall mark bit for translated "
			"connections (default 0x%08x)\n"
			"  --max-flows N    established-flow table size "
			"(default %u, %u-%u;\n"
			"                   embryonic flows get a table of "
			"N/4, at least 64)\n"
			"  --max-triggers N trigger table size (default %u, "
			"%u-%u)\n"
			"  --lan IFACE      fast path: packets of established "
			"flows bypass the\n"
			"                   stack between the WAN and the LAN "
			"interface IFACE,\n"
			"                   both ways (\"none\": off;\n"
			"                   omitted: as attached, off at "
			"first)\n"
			"  --lan-mode MODE  where the owner's packets are "
			"taken on the LAN:\n"
			"                   xdp (native XDP), tc (TC ingress) "
			"or auto (default:\n"
			"                   xdp on a NIC on a bus that takes "
			"it, else tc)\n"
			"  --allow-hw-offload attach even though an nftables "
			"flowtable offloads\n"
			"                   to hardware (flags offload) on "
			"IFACE: replies of\n"
			"                   connections the NIC takes over "
			"bypass ptrig\n",
			PTRIG_DEFAULT_MARK, PTRIG_DEFAULT_MAX_FLOWS,
			PTRIG_MIN_TABLE, PTRIG_MAX_FLOWS_LIMIT,
			PTRIG_DEFAULT_MAX_TRIGGERS, PTRIG_MIN_TABLE,
			PTRIG_MAX_TRIGGERS_LIMIT);
}

static int parse_u32(const char *s, uint32_t *out, int base)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || !*s || *end || v > UINT32_MAX || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

enum {
	OPT_JSON = 256,
	OPT_XDP_MODE,
	OPT_MARK,
	OPT_MAX_FLOWS,
	OPT_MAX_TRIGGERS,
	OPT_LAN,
	OPT_LAN_MODE,
	OPT_ALLOW_HW_OFFLOAD,
	OPT_NETNS,
	OPT_DURATION,
	OPT_METRICS,
	OPT_DETACH_ON_EXIT,
	OPT_READY_IF_ABSENT,
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"json", no_argument, NULL, OPT_JSON},
	{"xdp-mode", required_argument, NULL, OPT_XDP_MODE},
	{"mark", required_argument, NULL, OPT_MARK},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"max-triggers", required_argument, NULL, OPT_MAX_TRIGGERS},
	{"lan", required_argument, NULL, OPT_LAN},
	{"lan-mode", required_argument, NULL, OPT_LAN_MODE},
	{"allow-hw-offload", no_argument, NULL, OPT_ALLOW_HW_OFFLOAD},
	{"netns", required_argument, NULL, OPT_NETNS},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"detach-on-exit", no_argument, NULL, OPT_DETACH_ON_EXIT},
	{"ready-if-absent", no_argument, NULL, OPT_READY_IF_ABSENT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* --max-flows / --max-triggers: out of range, or a size whose preallocated
 * tables would take more kernel memory than is sensible (say how much)?
 * Writes the error into msg. */
static bool table_size_bad(bool flows, const char *arg, uint32_t *v, char *msg,
			   size_t len)
{
	uint32_t limit =
		flows ? PTRIG_MAX_FLOWS_LIMIT : PTRIG_MAX_TRIGGERS_LIMIT;
	double mib;

	if (parse_u32(arg, v, 10) || *v < PTRIG_MIN_TABLE) {
		snprintf(msg, len, "table size \"%s\" out of range (%u-%u)",
			 arg, PTRIG_MIN_TABLE, limit);
		return true;
	}
	if (*v <= limit)
		return false;
	mib = flows ? ((double)*v + *v / 4) * PTRIG_FLOW_ENTRY_BYTES
		    : (double)*v * PTRIG_TRIGGER_ENTRY_BYTES;
	snprintf(msg, len,
		 "--max-%s %u: at most %u; the %s table%s would take about "
		 "%.0f MiB of kernel memory",
		 flows ? "flows" : "triggers", *v, limit,
		 flows ? "flow" : "trigger", flows ? "s" : "", mib / 1048576);
	return true;
}

static int bad_usage(const struct cmd *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "ptrig-load: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	if (c)
		cmd_usage(stderr, c);
	else
		usage(stderr);
	return PTRIG_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cmd_opts o = {0};
	const struct cmd *c = NULL;
	const char *netns = NULL;
	char msg[160];
	uint32_t v;
	int opt, argi = 1;

	/* Global options before the command. */
	while (argi < argc && argv[argi][0] == '-') {
		if (!strcmp(argv[argi], "-h") ||
		    !strcmp(argv[argi], "--help")) {
			usage(stdout);
			return PTRIG_EXIT_OK;
		}
		if (!strcmp(argv[argi], "--netns")) {
			if (argi + 1 >= argc)
				return bad_usage(NULL, "%s",
						 "--netns needs a NAME");
			netns = argv[argi + 1];
			argi += 2;
			continue;
		}
		return bad_usage(NULL, "unknown global option %s", argv[argi]);
	}
	if (argi >= argc)
		return bad_usage(NULL, "%s", "missing command");
	c = find_cmd(argv[argi]);
	if (!c)
		return bad_usage(NULL, "unknown command \"%s\"", argv[argi]);

	o.netns = netns;
	ptrig_log_capture();
	argc -= argi;
	argv += argi;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cmd_usage(stdout, c);
			return PTRIG_EXIT_OK;
		case 'c':
			if (!(c->takes & NEED_CONFIG))
				return bad_usage(c, "%s takes no -c", c->name);
			o.config = optarg;
			break;
		case OPT_JSON:
			if (!(c->takes & TAKES_JSON))
				return bad_usage(c, "%s takes no --json",
						 c->name);
			o.json = true;
			break;
		case OPT_NETNS:
			o.netns = optarg;
			break;
		case OPT_XDP_MODE:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c, "%s takes no --xdp-mode",
						 c->name);
			if (!strcmp(optarg, "native"))
				o.xdp_mode = XDP_FLAGS_DRV_MODE;
			else if (!strcmp(optarg, "generic"))
				o.xdp_mode = XDP_FLAGS_SKB_MODE;
			else
				return bad_usage(c,
						 "--xdp-mode: \"%s\" is not "
						 "native or generic",
						 optarg);
			break;
		case OPT_MARK:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c, "%s takes no --mark",
						 c->name);
			if (parse_u32(optarg, &v, 16) || !v)
				return bad_usage(c,
						 "--mark: \"%s\" is not a "
						 "non-zero hex number",
						 optarg);
			o.mark = v;
			o.mark_set = true;
			break;
		case OPT_MAX_FLOWS:
		case OPT_MAX_TRIGGERS:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c, "%s takes no table sizes",
						 c->name);
			if (table_size_bad(opt == OPT_MAX_FLOWS, optarg, &v,
					   msg, sizeof(msg)))
				return bad_usage(c, "%s", msg);
			if (opt == OPT_MAX_FLOWS)
				o.max_flows = v;
			else
				o.max_triggers = v;
			break;
		case OPT_LAN:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c, "%s takes no --lan",
						 c->name);
			if (!*optarg || strlen(optarg) >= IF_NAMESIZE)
				return bad_usage(c,
						 "--lan: \"%s\" is not an "
						 "interface name",
						 optarg);
			o.lan = optarg;
			break;
		case OPT_LAN_MODE:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c, "%s takes no --lan-mode",
						 c->name);
			if (!strcmp(optarg, "auto"))
				o.lan_mode = PTRIG_LAN_MODE_AUTO;
			else if (!strcmp(optarg, "xdp"))
				o.lan_mode = PTRIG_LAN_MODE_XDP;
			else if (!strcmp(optarg, "tc"))
				o.lan_mode = PTRIG_LAN_MODE_TC;
			else
				return bad_usage(c,
						 "--lan-mode: \"%s\" is not "
						 "auto, xdp or tc",
						 optarg);
			break;
		case OPT_ALLOW_HW_OFFLOAD:
			if (!(c->takes & TAKES_ATTACH))
				return bad_usage(c,
						 "%s takes no "
						 "--allow-hw-offload",
						 c->name);
			o.allow_hw_offload = true;
			break;
		case OPT_DURATION:
			if (!(c->takes & TAKES_DURATION))
				return bad_usage(c, "%s takes no --duration",
						 c->name);
			if (parse_u32(optarg, &v, 10) || v > 86400)
				return bad_usage(c,
						 "--duration: \"%s\" is not "
						 "0-86400 seconds",
						 optarg);
			o.duration_s = v;
			break;
		case OPT_METRICS:
		case OPT_DETACH_ON_EXIT:
		case OPT_READY_IF_ABSENT:
			if (!(c->takes & TAKES_RUN))
				return bad_usage(c, "%s takes no agent options",
						 c->name);
			if (opt == OPT_METRICS)
				o.metrics = optarg;
			else if (opt == OPT_DETACH_ON_EXIT)
				o.detach_on_exit = true;
			else
				o.ready_if_absent = true;
			break;
		default:
			cmd_usage(stderr, c);
			return PTRIG_EXIT_USAGE;
		}
	}
	if (c->takes & TAKES_RUN) {
		o.ifaces = argv + optind;
		o.n_ifaces = argc - optind;
		optind = argc;
	}
	if (optind < argc && (c->takes & (NEED_IFACE | OPT_IFACE)))
		o.ifname = argv[optind++];
	if (optind < argc)
		return bad_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if ((c->takes & NEED_IFACE) && !o.ifname)
		return bad_usage(c, "%s", "missing IFACE");
	if (o.ifname && (strlen(o.ifname) >= 16 || strchr(o.ifname, '/') ||
			 o.ifname[0] == '.'))
		return bad_usage(c, "invalid interface name \"%s\"", o.ifname);
	if ((c->takes & NEED_CONFIG) && !o.config)
		return bad_usage(c, "%s", "missing -c FILE");
	if (o.lan_mode && o.lan && !strcmp(o.lan, "none"))
		return bad_usage(c, "%s",
				 "--lan-mode with --lan none: there is no LAN "
				 "program to place");
	/* A LAN interface's XDP slot holds one program: one WAN's. */
	if (o.lan_mode == PTRIG_LAN_MODE_XDP && o.n_ifaces > 1)
		return bad_usage(c, "%s",
				 "--lan-mode xdp with several interfaces: the "
				 "LAN's XDP slot takes one WAN's program (use "
				 "auto or tc)");
	return c->fn(&o);
}
