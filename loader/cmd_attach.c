// SPDX-License-Identifier: GPL-2.0
/* check, attach, reload, detach: the CLI's front-ends on the library. */
#include <net/if.h>
#include <stdio.h>

#include "attach.h"
#include "cmds.h"
#include "config.h"
#include "pins.h"

int load_ruleset(const char *path, struct ptrig_ruleset *rs)
{
	char err[1024];

	if (ptrig_config_parse_file(path, rs, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return PTRIG_EXIT_USAGE;
	}
	return PTRIG_EXIT_OK;
}

int do_check(const struct cmd_opts *o)
{
	struct ptrig_ruleset rs = {0};
	int ret = load_ruleset(o->config, &rs);

	if (ret == PTRIG_EXIT_OK)
		printf("%s: %zu rule%s OK\n", o->config, rs.n,
		       rs.n == 1 ? "" : "s");
	ptrig_ruleset_free(&rs);
	return ret;
}

/* Root, then the namespace, then the interface: each with its own error
 * before the library is asked to change anything. */
static int enter(const struct cmd_opts *o, const char *cmd, bool need_iface)
{
	if (!ptrig_is_root(cmd) || ptrig_enter_netns(o->netns))
		return PTRIG_EXIT_FAIL;
	if (need_iface && !if_nametoindex(o->ifname)) {
		ptrig_err("interface \"%s\" not found%s%s", o->ifname,
			  o->netns ? " in network namespace " : "",
			  o->netns ? o->netns : "");
		return PTRIG_EXIT_FAIL;
	}
	return PTRIG_EXIT_OK;
}

/* Print what the library said, and pass its verdict on. */
static int report(struct ptrig_msgs *m, int ret)
{
	ptrig_msgs_print(m);
	ptrig_msgs_free(m);
	return ret;
}

int do_attach(const struct cmd_opts *o)
{
	struct ptrig_ruleset rs = {0};
	struct ptrig_attach_req req = {
		.ifname = o->ifname,
		.rules = &rs,
		.xdp_mode = o->xdp_mode,
		.mark_set = o->mark_set,
		.mark = o->mark,
		.max_flows = o->max_flows,
		.max_triggers = o->max_triggers,
		.lan = o->lan,
		.lan_mode = o->lan_mode,
		.allow_hw_offload = o->allow_hw_offload,
	};
	struct ptrig_attach_res res;
	struct ptrig_msgs m = {0};
	int ret = load_ruleset(o->config, &rs);

	if (ret == PTRIG_EXIT_OK)
		ret = enter(o, "attach", true);
	if (ret == PTRIG_EXIT_OK)
		ret = report(&m, ptrig_attach(&req, &res, &m));
	ptrig_ruleset_free(&rs);
	return ret;
}

int do_reload(const struct cmd_opts *o)
{
	struct ptrig_ruleset rs = {0};
	struct ptrig_msgs m = {0};
	int ret = load_ruleset(o->config, &rs);

	if (ret == PTRIG_EXIT_OK)
		ret = enter(o, "reload", false);
	if (ret == PTRIG_EXIT_OK)
		ret = report(&m, ptrig_reload(o->ifname, &rs, &m));
	ptrig_ruleset_free(&rs);
	return ret;
}

int do_detach(const struct cmd_opts *o)
{
	struct ptrig_msgs m = {0};
	int ret = enter(o, "detach", false);

	if (ret == PTRIG_EXIT_OK)
		ret = report(&m, ptrig_detach(o->ifname, &m));
	return ret;
}
