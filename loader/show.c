// SPDX-License-Identifier: GPL-2.0
/* status, flows, monitor: what ptrig is doing, as tables or JSON. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/if_link.h>

#include "cmds.h"
#include "pins.h"
#include "state.h"

static const char *ip_str(uint32_t be_addr, char *buf)
{
	struct in_addr a = {.s_addr = be_addr};

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static json_object *json_ip(uint32_t be_addr)
{
	char buf[INET_ADDRSTRLEN];

	return json_object_new_string(ip_str(be_addr, buf));
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP   ? "tcp"
	       : proto == IPPROTO_UDP ? "udp"
				      : "?";
}

static json_object *counters_json(const struct ptrig_rule_counters *c)
{
	json_object *o = json_object_new_object();

#define ADD(f) json_object_object_add(o, #f, json_object_new_int64(c->f))
	ADD(triggers_opened);
	ADD(refreshes);
	ADD(conflicts);
	ADD(flows_opened);
	ADD(flows_established);
	ADD(pkts_in);
	ADD(bytes_in);
	ADD(pkts_out);
	ADD(bytes_out);
	ADD(refused_closed);
	ADD(refused_peer);
#undef ADD
	return o;
}

/* A rule's packets by path: the fast path forwarded them itself (XDP
 * inbound, the LAN program outbound), or they went through the stack (slow,
 * which includes every packet while the fast path is off). */
static json_object *fast_json(const struct ptrig_fast_counters *f,
			      const struct ptrig_fast_counters *fo,
			      const struct ptrig_rule_counters *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pkts_in", json_object_new_int64(f->pkts));
	json_object_object_add(o, "bytes_in", json_object_new_int64(f->bytes));
	json_object_object_add(
		o, "slow_pkts_in",
		json_object_new_int64(
			c->pkts_in > f->pkts ? c->pkts_in - f->pkts : 0));
	json_object_object_add(
		o, "slow_bytes_in",
		json_object_new_int64(
			c->bytes_in > f->bytes ? c->bytes_in - f->bytes : 0));
	json_object_object_add(o, "pkts_out", json_object_new_int64(fo->pkts));
	json_object_object_add(o, "bytes_out",
			       json_object_new_int64(fo->bytes));
	json_object_object_add(
		o, "slow_pkts_out",
		json_object_new_int64(
			c->pkts_out > fo->pkts ? c->pkts_out - fo->pkts : 0));
	json_object_object_add(
		o, "slow_bytes_out",
		json_object_new_int64(c->bytes_out > fo->bytes
					      ? c->bytes_out - fo->bytes
					      : 0));
	return o;
}

static const char *peer_name(uint8_t mode)
{
	return mode == PTRIG_PEER_TRIGGER ? "trigger" : "any";
}

/* How translated connections get their firewall mark: in XDP metadata, or
 * from the flow table in TC ingress where the driver gives XDP no metadata
 * room. Generic XDP always has the room; a native driver's shows only on
 * the first translated packet (no kernel interface tells it before), so
 * until then it is not known. */
static const char *mark_path(const struct iface_state *s)
{
	if (s->stats[PTRIG_STAT_XDP_META_UNSUPPORTED] ||
	    s->stats[PTRIG_STAT_MARKED_FLOW_TABLE])
		return "flow-table";
	if (s->stats[PTRIG_STAT_MARKED] ||
	    (s->hooks.xdp_id && (s->hooks.xdp_flags & XDP_FLAGS_SKB_MODE)))
		return "xdp-metadata";
	return "unknown";
}

static void mark_path_text(const struct iface_state *s)
{
	const char *p = mark_path(s);

	if (!strcmp(p, "flow-table"))
		printf("Firewall mark: from the flow table in TC ingress (the "
		       "driver gives XDP no metadata room: "
		       "xdp_meta_unsupported=%llu)\n",
		       (unsigned long long)
			       s->stats[PTRIG_STAT_XDP_META_UNSUPPORTED]);
	else if (!strcmp(p, "xdp-metadata"))
		printf("Firewall mark: carried in XDP metadata\n");
	else
		printf("Firewall mark: XDP metadata or, if the driver has no "
		       "room for it, the flow table: known with the first "
		       "translated connection\n");
}

static void status_text(const struct iface_state *s,
			const struct trigger_row *rows, int n_rows,
			const char *dir)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
	int i;
	uint32_t k;

	printf("Interface %s: XDP %s (prog %u), TC egress prog %u, TC ingress "
	       "prog %u, mark 0x%08x\n",
	       s->name, attached_mode(s), s->hooks.xdp_id,
	       s->hooks.tc_egress_id, s->hooks.tc_ingress_id, s->cfg.mark);
	printf("Pins: %s\n", dir);
	if (s->fast.lan_ifindex)
		printf("Fast path: on, to LAN interface %s; LAN %s prog %u%s\n",
		       s->fast.lan_name,
		       (s->fast.lan_flags & PTRIG_FAST_LAN_XDP) ? "XDP (native)"
								: "TC ingress",
		       s->lan_prog_id,
		       s->lan_prog_id ? ""
				      : " (missing: the owner's packets take "
					"the stack; attach again)");
	else
		printf("Fast path: off\n");
	mark_path_text(s);
	printf("\nRules (%d):\n", s->n_rules);
	printf("  %-16s %-20s %-20s %7s %-7s %6s %8s %6s %6s %6s %9s %12s %9s "
	       "%12s %7s %7s %9s %12s %13s %14s\n",
	       "NAME", "TRIGGER", "OPEN", "TIMEOUT", "PEER", "TRIGS", "REFRESH",
	       "CONFL", "FLOWS", "ESTAB", "PKTS_IN", "BYTES_IN", "PKTS_OUT",
	       "BYTES_OUT", "REF_CLS", "REF_PEER", "FAST_PKTS", "FAST_BYTES",
	       "FAST_OUT_PKTS", "FAST_OUT_BYTES");
	for (i = 0; i < s->n_rules; i++) {
		const struct ptrig_installed_rule *r = &s->rules[i];
		const struct ptrig_rule_counters *cn = &r->counters;

		printf("  %-16s %-20s %-20s %7u %-7s %6llu %8llu %6llu %6llu "
		       "%6llu %9llu %12llu %9llu %12llu %7llu %7llu %9llu "
		       "%12llu %13llu %14llu\n",
		       r->rule.name, r->trigger, r->open,
		       r->rule.trigger_timeout_s, peer_name(r->rule.peer_mode),
		       (unsigned long long)cn->triggers_opened,
		       (unsigned long long)cn->refreshes,
		       (unsigned long long)cn->conflicts,
		       (unsigned long long)cn->flows_opened,
		       (unsigned long long)cn->flows_established,
		       (unsigned long long)cn->pkts_in,
		       (unsigned long long)cn->bytes_in,
		       (unsigned long long)cn->pkts_out,
		       (unsigned long long)cn->bytes_out,
		       (unsigned long long)cn->refused_closed,
		       (unsigned long long)cn->refused_peer,
		       (unsigned long long)r->fast.pkts,
		       (unsigned long long)r->fast.bytes,
		       (unsigned long long)r->fast_out.pkts,
		       (unsigned long long)r->fast_out.bytes);
	}
	printf("\nActive triggers (%d):\n", n_rows);
	printf("  %-16s %-15s %-15s %-15s %7s %12s\n", "RULE", "OWNER",
	       "EXTERNAL", "PEER", "IDLE_S", "EXPIRES_IN_S");
	for (i = 0; i < n_rows; i++)
		printf("  %-16s %-15s %-15s %-15s %7lld %12lld\n",
		       rows[i].rule->rule.name, ip_str(rows[i].t.owner, a),
		       ip_str(rows[i].t.external, b),
		       rows[i].rule->rule.peer_mode == PTRIG_PEER_TRIGGER ||
				       rows[i].t.peer
			       ? ip_str(rows[i].t.peer, c)
			       : "-",
		       (long long)rows[i].idle_s,
		       (long long)rows[i].expires_in_s);
	printf("\nTables (entries in use, expired ones included / size):");
	for (k = 0; k < PTRIG_N_TABLES; k++)
		printf(" %s %u/%u", s->tables[k].name, s->tables[k].entries,
		       s->tables[k].max);
	printf("\nCounters:");
	for (k = 0; k < PTRIG_STAT_MAX; k++)
		if (s->stats[k])
			printf(" %s=%llu", stat_names[k],
			       (unsigned long long)s->stats[k]);
	printf("\n");
}

static json_object *status_json(const struct iface_state *s,
				const struct trigger_row *rows, int n_rows,
				const char *dir)
{
	json_object *o = json_object_new_object(), *arr, *progs, *st;
	char mark[16];
	bool xdp;
	int i;
	uint32_t k;

	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "pin_dir", json_object_new_string(dir));
	json_object_object_add(o, "xdp_mode",
			       json_object_new_string(attached_mode(s)));
	progs = json_object_new_object();
	json_object_object_add(progs, "xdp",
			       json_object_new_int64(s->hooks.xdp_id));
	json_object_object_add(progs, "tc_egress",
			       json_object_new_int64(s->hooks.tc_egress_id));
	json_object_object_add(progs, "tc_ingress",
			       json_object_new_int64(s->hooks.tc_ingress_id));
	json_object_object_add(o, "programs", progs);
	snprintf(mark, sizeof(mark), "0x%08x", s->cfg.mark);
	json_object_object_add(o, "mark", json_object_new_string(mark));
	json_object_object_add(o, "mark_path",
			       json_object_new_string(mark_path(s)));
	progs = json_object_new_object();
	json_object_object_add(
		progs, "enabled",
		json_object_new_boolean(s->fast.lan_ifindex != 0));
	json_object_object_add(
		progs, "lan",
		s->fast.lan_ifindex ? json_object_new_string(s->fast.lan_name)
				    : NULL);
	xdp = s->fast.lan_flags & PTRIG_FAST_LAN_XDP;
	json_object_object_add(progs, "lan_mode",
			       !s->fast.lan_ifindex ? NULL
			       : xdp ? json_object_new_string("xdp")
				     : json_object_new_string("tc"));
	json_object_object_add(progs, "lan_tc_ingress",
			       json_object_new_int64(xdp ? 0 : s->lan_prog_id));
	json_object_object_add(progs, "lan_xdp",
			       json_object_new_int64(xdp ? s->lan_prog_id : 0));
	json_object_object_add(o, "fast_path", progs);

	arr = json_object_new_array();
	for (i = 0; i < s->n_rules; i++) {
		const struct ptrig_installed_rule *r = &s->rules[i];
		json_object *jr = json_object_new_object(), *ft;

		json_object_object_add(jr, "name",
				       json_object_new_string(r->rule.name));
		json_object_object_add(jr, "trigger",
				       json_object_new_string(r->trigger));
		json_object_object_add(jr, "open",
				       json_object_new_string(r->open));
		json_object_object_add(
			jr, "timeout",
			json_object_new_int64(r->rule.trigger_timeout_s));
		json_object_object_add(
			jr, "peer",
			json_object_new_string(peer_name(r->rule.peer_mode)));
		ft = json_object_new_object();
		json_object_object_add(
			ft, "tcp",
			json_object_new_int64(r->rule.tcp_flow_timeout_s));
		json_object_object_add(
			ft, "udp",
			json_object_new_int64(r->rule.udp_flow_timeout_s));
		json_object_object_add(jr, "flow_timeout", ft);
		json_object_object_add(jr, "counters",
				       counters_json(&r->counters));
		json_object_object_add(
			jr, "fast_path",
			fast_json(&r->fast, &r->fast_out, &r->counters));
		json_object_array_add(arr, jr);
	}
	json_object_object_add(o, "rules", arr);

	arr = json_object_new_array();
	for (i = 0; i < n_rows; i++) {
		json_object *jt = json_object_new_object();

		json_object_object_add(
			jt, "rule",
			json_object_new_string(rows[i].rule->rule.name));
		json_object_object_add(jt, "owner", json_ip(rows[i].t.owner));
		json_object_object_add(jt, "external",
				       json_ip(rows[i].t.external));
		json_object_object_add(jt, "peer", json_ip(rows[i].t.peer));
		json_object_object_add(jt, "idle_s",
				       json_object_new_int64(rows[i].idle_s));
		json_object_object_add(
			jt, "expires_in_s",
			json_object_new_int64(rows[i].expires_in_s));
		json_object_array_add(arr, jt);
	}
	json_object_object_add(o, "triggers", arr);

	st = json_object_new_object();
	for (k = 0; k < PTRIG_N_TABLES; k++) {
		json_object *jt = json_object_new_object();

		json_object_object_add(
			jt, "entries",
			json_object_new_int64(s->tables[k].entries));
		json_object_object_add(jt, "max",
				       json_object_new_int64(s->tables[k].max));
		json_object_object_add(st, s->tables[k].name, jt);
	}
	json_object_object_add(o, "tables", st);

	st = json_object_new_object();
	for (k = 0; k < PTRIG_STAT_MAX; k++)
		json_object_object_add(st, stat_names[k],
				       json_object_new_int64(s->stats[k]));
	json_object_object_add(o, "counters", st);
	return o;
}

/* Interfaces with a pin directory: the one asked for, or all of them. */
static int list_ifaces(const struct cmd_opts *o, char names[][IF_NAMESIZE],
		       int max)
{
	struct dirent *de;
	char dir[256];
	DIR *d;
	int n = 0;

	if (o->ifname) {
		snprintf(names[0], IF_NAMESIZE, "%s", o->ifname);
		return 1;
	}
	/* This namespace's interfaces only; other namespaces' directories
	 * (netns:...) are theirs. */
	if (ptrig_ns_dir(dir, sizeof(dir), NULL))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);

		char *c;

		/* netns:*: other namespaces' directories */
		if (de->d_name[0] == '.' || len >= IF_NAMESIZE ||
		    strncmp(de->d_name, "netns:", 6) == 0)
			continue;
		memcpy(names[n], de->d_name, len + 1);
		/* A VLAN device's directory: ':' stands for its '.'. */
		for (c = names[n]; *c; c++)
			if (*c == ':')
				*c = '.';
		n++;
	}
	closedir(d);
	return n;
}

/* The pin directory of name, and the device it serves now, renames
 * followed both ways: pins keyed by a former name whose device has another
 * name now (the programs went with the device), and a device whose pins
 * still carry its former name. Says so on stderr. */
static int pins_of(const char *name, char *dir, size_t len,
		   char dev[IF_NAMESIZE])
{
	struct hook_progs h = {0};
	char now[IF_NAMESIZE];
	uint32_t cfg_id;
	int ifindex = if_nametoindex(name);

	snprintf(dev, IF_NAMESIZE, "%s", name);
	if (ptrig_pin_dir(name, dir, len, NULL))
		return -1;
	if (ifindex)
		hooks_query(ifindex, &h);
	if (access(dir, F_OK)) {
		if (ifindex && find_renamed_pins(&h, dir, len, NULL))
			fprintf(stderr,
				"ptrig-load: %s: its pins are at %s (its "
				"former name)\n",
				name, dir);
		return 0;
	}
	cfg_id = ptrig_dir_map_id(dir);
	if (cfg_id && !ptrig_hooks_use_map(&h, cfg_id) &&
	    ptrig_iface_using_map(cfg_id, now) && strcmp(now, name)) {
		fprintf(stderr,
			"ptrig-load: %s was renamed to %s; showing %s\n", name,
			now, now);
		snprintf(dev, IF_NAMESIZE, "%s", now);
	}
	return 0;
}

int do_status(const struct cmd_opts *o)
{
	char names[64][IF_NAMESIZE], dir[256];
	json_object *root = NULL, *arr = NULL;
	int n, i, ret = PTRIG_EXIT_OK;

	if (!ptrig_is_root("status") || ptrig_enter_netns(o->netns))
		return PTRIG_EXIT_FAIL;
	n = list_ifaces(o, names, 64);
	if (o->json) {
		root = json_object_new_object();
		arr = json_object_new_array();
		json_object_object_add(root, "interfaces", arr);
	} else if (!n) {
		printf("ptrig is not attached to any interface\n");
	}
	for (i = 0; i < n; i++) {
		struct trigger_row *rows = NULL;
		struct ptrig_map_fds m;
		struct iface_state s;
		char dev[IF_NAMESIZE];
		int n_rows, err;

		if (pins_of(names[i], dir, sizeof(dir), dev) ||
		    ptrig_maps_open_pinned(dir, &m)) {
			ptrig_err("ptrig is not attached to %s (no maps in %s)",
				  names[i], dir);
			ret = PTRIG_EXIT_FAIL;
			continue;
		}
		err = iface_state_read(dev, &m, &s);
		if (err) {
			ptrig_err("reading the maps of %s: %s", dev,
				  strerror(-err));
			ptrig_maps_close(&m);
			ret = PTRIG_EXIT_FAIL;
			continue;
		}
		n_rows = triggers_read(m.trig, &s, &rows);
		if (o->json)
			json_object_array_add(
				arr, status_json(&s, rows, n_rows, dir));
		else
			status_text(&s, rows, n_rows, dir);
		if (!o->json && i + 1 < n)
			printf("\n");
		free(rows);
		free(s.rules);
		ptrig_maps_close(&m);
	}
	if (root) {
		printf("%s\n", json_object_to_json_string_ext(
				       root, JSON_C_TO_STRING_PLAIN));
		json_object_put(root);
	}
	return ret;
}

static const char *flow_state(const struct ptrig_flow *f)
{
	if (f->flags & PTRIG_FLOW_CLOSING)
		return "closing";
	if (!(f->flags & PTRIG_FLOW_EMBRYONIC))
		return "established";
	return f->flags & PTRIG_FLOW_SEEN_REPLY ? "replied" : "new";
}

/* A flow's fast-path counters, summed over CPUs (zero if none). The map is
 * keyed by the flow key, so this is a per-CPU hash lookup. */
static void fast_flow_read(int fd, const struct ptrig_flow_key *key,
			   struct ptrig_fast_flow *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct ptrig_fast_flow *per;

	memset(sum, 0, sizeof(*sum));
	if (fd < 0 || ncpu <= 0)
		return;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return;
	if (bpf_map_lookup_elem(fd, key, per) == 0)
		for (c = 0; c < ncpu; c++) {
			sum->pkts += per[c].pkts;
			sum->bytes += per[c].bytes;
			sum->slow_pkts += per[c].slow_pkts;
		}
	free(per);
}

struct flows_out {
	const struct ptrig_installed_rule *rules;
	int n_rules;
	json_object *arr; /* JSON, else a text table */
	int fast_fd;	  /* per-flow fast-path counters, inbound */
	int fout_fd;	  /* the same, outbound */
	uint64_t now;
	int count;
};

/* List the live flows of one flow table. */
static int flow_show(const struct flow_row *row, void *ctx)
{
	struct flows_out *out = ctx;
	const struct ptrig_flow_key *key = &row->key;
	const struct ptrig_flow *f = &row->f;
	const struct ptrig_installed_rule *r;
	char remote[40], ext[40], a[INET_ADDRSTRLEN];
	int64_t left = (int64_t)row->timeout_s - row->idle_s;
	struct ptrig_fast_flow ff = {0}, fo = {0};

	fast_flow_read(out->fast_fd, key, &ff);
	fast_flow_read(out->fout_fd, key, &fo);
	r = rule_by_id(out->rules, out->n_rules, f->rule_id);
	snprintf(remote, sizeof(remote), "%s:%u", ip_str(key->remote, a),
		 ntohs(key->remote_port));
	snprintf(ext, sizeof(ext), "%s:%u", ip_str(f->external, a),
		 ntohs(key->local_port));
	out->count++;
	if (out->arr) {
		json_object *jf = json_object_new_object();

		json_object_object_add(
			jf, "rule",
			json_object_new_string(r ? r->rule.name : "(removed)"));
		json_object_object_add(
			jf, "proto",
			json_object_new_string(proto_name(key->proto)));
		json_object_object_add(jf, "remote", json_ip(key->remote));
		json_object_object_add(
			jf, "remote_port",
			json_object_new_int(ntohs(key->remote_port)));
		json_object_object_add(jf, "external", json_ip(f->external));
		json_object_object_add(
			jf, "external_port",
			json_object_new_int(ntohs(key->local_port)));
		json_object_object_add(jf, "owner", json_ip(f->owner));
		json_object_object_add(jf, "state",
				       json_object_new_string(flow_state(f)));
		json_object_object_add(jf, "idle_s",
				       json_object_new_int64(row->idle_s));
		json_object_object_add(jf, "expires_in_s",
				       json_object_new_int64(left));
		json_object_object_add(jf, "fast_pkts",
				       json_object_new_int64(ff.pkts));
		json_object_object_add(jf, "fast_bytes",
				       json_object_new_int64(ff.bytes));
		json_object_object_add(jf, "slow_pkts",
				       json_object_new_int64(ff.slow_pkts));
		json_object_object_add(jf, "fast_out_pkts",
				       json_object_new_int64(fo.pkts));
		json_object_object_add(jf, "fast_out_bytes",
				       json_object_new_int64(fo.bytes));
		json_object_object_add(jf, "slow_out_pkts",
				       json_object_new_int64(fo.slow_pkts));
		json_object_array_add(out->arr, jf);
	} else {
		printf("%-16s %-5s %-21s %-21s %-15s %-11s %7lld %12lld %9llu "
		       "%9llu %9llu %9llu\n",
		       r ? r->rule.name : "(removed)", proto_name(key->proto),
		       remote, ext, ip_str(f->owner, a), flow_state(f),
		       (long long)row->idle_s, (long long)left,
		       (unsigned long long)ff.pkts,
		       (unsigned long long)ff.slow_pkts,
		       (unsigned long long)fo.pkts,
		       (unsigned long long)fo.slow_pkts);
	}
	return 0;
}

/* Root check, then the maps pinned for one interface; says what is wrong. */
static int open_iface_maps(const char *cmd, const char *netns,
			   const char *ifname, char *dir, size_t len,
			   struct ptrig_map_fds *m)
{
	char dev[IF_NAMESIZE];

	if (!ptrig_is_root(cmd) || ptrig_enter_netns(netns) ||
	    pins_of(ifname, dir, len, dev))
		return -1;
	if (ptrig_maps_open_pinned(dir, m)) {
		ptrig_err("ptrig is not attached to %s (no maps in %s)", ifname,
			  dir);
		return -1;
	}
	return 0;
}

int do_pindir(const struct cmd_opts *o)
{
	char dir[256];

	if (!ptrig_is_root("pindir") || ptrig_enter_netns(o->netns) ||
	    ptrig_pin_dir(o->ifname, dir, sizeof(dir), NULL))
		return PTRIG_EXIT_FAIL;
	printf("%s\n", dir);
	return PTRIG_EXIT_OK;
}

int do_flows(const struct cmd_opts *o)
{
	struct ptrig_installed_rule *rules = NULL;
	struct flows_out out = {0};
	json_object *root = NULL;
	struct ptrig_map_fds m;
	char dir[256];
	int n_rules;

	if (open_iface_maps("flows", o->netns, o->ifname, dir, sizeof(dir), &m))
		return PTRIG_EXIT_FAIL;
	n_rules = ptrig_rules_read(&m, &rules);
	out.rules = rules;
	out.n_rules = n_rules < 0 ? 0 : n_rules;
	out.fast_fd = m.fast;
	out.fout_fd = m.fout;
	if (o->json) {
		root = json_object_new_object();
		out.arr = json_object_new_array();
		json_object_object_add(root, "interface",
				       json_object_new_string(o->ifname));
		json_object_object_add(root, "flows", out.arr);
	} else {
		printf("%-16s %-5s %-21s %-21s %-15s %-11s %7s %12s %9s %9s "
		       "%9s "
		       "%9s\n",
		       "RULE", "PROTO", "REMOTE", "EXTERNAL", "OWNER", "STATE",
		       "IDLE_S", "EXPIRES_IN_S", "FAST_PKTS", "SLOW_PKTS",
		       "FAST_OUT", "SLOW_OUT");
	}
	out.now = ptrig_now_ns();
	flows_walk(m.flows, out.now, flow_show, &out);
	flows_walk(m.embryo, out.now, flow_show, &out);
	if (root) {
		printf("%s\n", json_object_to_json_string_ext(
				       root, JSON_C_TO_STRING_PLAIN));
		json_object_put(root);
	} else {
		printf("(%d flow%s)\n", out.count, out.count == 1 ? "" : "s");
	}
	free(rules);
	ptrig_maps_close(&m);
	return PTRIG_EXIT_OK;
}

/* ------------------------------------------------------------ monitor -- */

static volatile sig_atomic_t stop_monitor;

static void on_signal(int sig)
{
	(void)sig;
	stop_monitor = 1;
}

struct monitor_ctx {
	const struct cmd_opts *o;
	const struct ptrig_map_fds *m;
	struct ptrig_installed_rule *rules;
	int n_rules;
};

static const char *event_name(uint32_t type)
{
	switch (type) {
	case PTRIG_EV_TRIGGER_OPENED:
		return "trigger_opened";
	case PTRIG_EV_CONFLICT:
		return "conflict";
	case PTRIG_EV_FLOW_OPENED:
		return "flow_opened";
	case PTRIG_EV_FLOW_REFUSED:
		return "flow_refused";
	}
	return "unknown";
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct monitor_ctx *mc = ctx;
	const struct ptrig_event *ev = data;
	const struct ptrig_installed_rule *r;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
	char ts[32];
	time_t now = time(NULL);
	bool inbound;

	if (len < sizeof(*ev))
		return 0;
	r = rule_by_id(mc->rules, mc->n_rules, ev->rule_id);
	if (!r) {
		/* The rule set may have changed since we started. */
		free(mc->rules);
		mc->n_rules = ptrig_rules_read(mc->m, &mc->rules);
		if (mc->n_rules < 0)
			mc->n_rules = 0;
		r = rule_by_id(mc->rules, mc->n_rules, ev->rule_id);
	}
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime(&now));
	inbound = ev->type == PTRIG_EV_FLOW_OPENED ||
		  ev->type == PTRIG_EV_FLOW_REFUSED;
	if (mc->o->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "time", json_object_new_string(ts));
		json_object_object_add(
			o, "event",
			json_object_new_string(event_name(ev->type)));
		json_object_object_add(
			o, "rule",
			json_object_new_string(r ? r->rule.name : "?"));
		json_object_object_add(
			o, "proto",
			json_object_new_string(proto_name(ev->proto)));
		json_object_object_add(o, inbound ? "owner" : "host",
				       json_ip(ev->owner));
		json_object_object_add(o, "external", json_ip(ev->external));
		json_object_object_add(o, "remote", json_ip(ev->remote));
		json_object_object_add(
			o, "remote_port",
			json_object_new_int(ntohs(ev->remote_port)));
		json_object_object_add(
			o, "local_port",
			json_object_new_int(ntohs(ev->local_port)));
		printf("%s\n", json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("%s %-14s rule=%s %s=%s external=%s:%u "
		       "remote=%s:%u/%s\n",
		       ts, event_name(ev->type), r ? r->rule.name : "?",
		       inbound ? "owner" : "host", ip_str(ev->owner, a),
		       ip_str(ev->external, b), ntohs(ev->local_port),
		       ip_str(ev->remote, c), ntohs(ev->remote_port),
		       proto_name(ev->proto));
	}
	fflush(stdout);
	return 0;
}

int do_monitor(const struct cmd_opts *o)
{
	struct monitor_ctx mc = {.o = o};
	struct ring_buffer *rb;
	struct ptrig_map_fds m;
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t deadline = 0;
	char dir[256];
	int err;

	if (open_iface_maps("monitor", o->netns, o->ifname, dir, sizeof(dir),
			    &m))
		return PTRIG_EXIT_FAIL;
	mc.m = &m;
	mc.n_rules = ptrig_rules_read(&m, &mc.rules);
	if (mc.n_rules < 0)
		mc.n_rules = 0;
	rb = ring_buffer__new(m.events, on_event, &mc, NULL);
	if (!rb) {
		ptrig_err("opening the event ring buffer: %s", strerror(errno));
		ptrig_maps_close(&m);
		free(mc.rules);
		return PTRIG_EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o->duration_s)
		deadline = ptrig_now_ns() + o->duration_s * 1000000000ull;
	if (!o->json)
		fprintf(stderr, "ptrig: monitoring %s, Ctrl-C to stop\n",
			o->ifname);
	while (!stop_monitor) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			ptrig_err("polling events: %s", strerror(-err));
			break;
		}
		if (deadline && ptrig_now_ns() >= deadline)
			break;
	}
	ring_buffer__free(rb);
	ptrig_maps_close(&m);
	free(mc.rules);
	return PTRIG_EXIT_OK;
}
