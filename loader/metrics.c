// SPDX-License-Identifier: GPL-2.0
/* Prometheus text exposition of the agent and of the pinned maps of every
 * interface it manages, and the HTTP endpoints /metrics, /healthz, /readyz
 * (libmicrohttpd). The numbers come from the same readers as `status
 * --json`, so the two always agree. Labels: interface, rule, reason, state,
 * table, direction; never an address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "agent.h"
#include "pins.h"
#include "state.h"

#ifndef PTRIG_VERSION
#define PTRIG_VERSION "0.1"
#endif

/* What one scrape reads about one managed interface. */
struct if_metrics {
	const struct agent_if_snapshot *a;
	bool have_maps; /* its pins exist and could be read */
	struct iface_state s;
	int n_triggers;
	struct flow_counts flows;
};

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: interface names may hold any byte but '/' and NUL. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* ,KEY="VALUE" (nothing when key is NULL) */
static void label(FILE *f, const char *key, const char *value)
{
	if (!key)
		return;
	fprintf(f, ",%s=\"", key);
	label_value(f, value);
	fputc('"', f);
}

/* NAME{interface="IF"[,rule="RULE"][,EXTRA_K="EXTRA_V"]} V */
static void sample_rule(FILE *f, const char *name, const char *ifname,
			const char *rule, const char *extra_k,
			const char *extra_v, uint64_t v)
{
	fprintf(f, "%s{interface=\"", name);
	label_value(f, ifname);
	fputc('"', f);
	label(f, rule ? "rule" : NULL, rule);
	label(f, extra_k, extra_v);
	fprintf(f, "} %llu\n", (unsigned long long)v);
}

static void sample_if(FILE *f, const char *name, const char *ifname,
		      const char *extra_k, const char *extra_v, uint64_t v)
{
	sample_rule(f, name, ifname, NULL, extra_k, extra_v, v);
}

static void ratio(FILE *f, const char *ifname, const char *table,
		  int64_t entries, int64_t cap)
{
	fprintf(f, "ptrig_table_fill_ratio{interface=\"");
	label_value(f, ifname);
	fprintf(f, "\",table=\"%s\"} %.6g\n", table,
		cap > 0 ? (double)entries / cap : 0.0);
}

static void if_metrics_read(struct if_metrics *im)
{
	struct trigger_row *rows = NULL;
	struct flow_counts embryo;
	struct ptrig_map_fds m;
	struct ptrig_msgs msgs = {0};
	char dir[256];
	int err;

	/* A scrape shows an unreadable interface as having no maps. */
	err = ptrig_pin_dir(im->a->name, dir, sizeof(dir), &msgs);
	ptrig_msgs_free(&msgs);
	if (err || ptrig_maps_open_pinned(dir, &m))
		return;
	if (iface_state_read(im->a->name, &m, &im->s) == 0) {
		im->have_maps = true;
		im->n_triggers = triggers_read(m.trig, &im->s, &rows);
		free(rows);
		/* Embryonic flows are live flows too, still "new". */
		flows_count(m.flows, &im->flows);
		flows_count(m.embryo, &embryo);
		im->flows.entries += embryo.entries;
		im->flows.live_new += embryo.live_new;
		im->flows.live_established += embryo.live_established;
		im->flows.live_closing += embryo.live_closing;
	}
	ptrig_maps_close(&m);
}

/* One counter of every rule of every interface. */
#define RULE_COUNTER(fam, field, k, v)                                         \
	for (i = 0; i < a->n_ifs; i++)                                         \
		for (j = 0; ims[i].have_maps && j < ims[i].s.n_rules; j++)     \
	sample_rule(f, fam, a->ifs[i].name, ims[i].s.rules[j].rule.name, k, v, \
		    ims[i].s.rules[j].counters.field)

static void render_rules(FILE *f, const struct agent_snapshot *a,
			 const struct if_metrics *ims)
{
	int i, j;

	family(f, "ptrig_rules", "gauge", "Rules in the active rule set.");
	for (i = 0; i < a->n_ifs; i++)
		if (ims[i].have_maps)
			sample_if(f, "ptrig_rules", a->ifs[i].name, NULL, NULL,
				  ims[i].s.n_rules);
	family(f, "ptrig_triggers_opened_total", "counter",
	       "Triggers opened (a LAN host's trigger traffic took the rule).");
	RULE_COUNTER("ptrig_triggers_opened_total", triggers_opened, NULL,
		     NULL);
	family(f, "ptrig_trigger_refreshes_total", "counter",
	       "Trigger traffic of the owner that kept an open trigger open.");
	RULE_COUNTER("ptrig_trigger_refreshes_total", refreshes, NULL, NULL);
	family(f, "ptrig_trigger_conflicts_total", "counter",
	       "Trigger traffic of another host while the rule was owned.");
	RULE_COUNTER("ptrig_trigger_conflicts_total", conflicts, NULL, NULL);
	family(f, "ptrig_flows_opened_total", "counter",
	       "Inbound connections forwarded to a trigger's owner "
	       "(embryonic flows created).");
	RULE_COUNTER("ptrig_flows_opened_total", flows_opened, NULL, NULL);
	family(f, "ptrig_flows_established_total", "counter",
	       "Forwarded connections that completed their handshake (TCP) "
	       "or went both ways (UDP).");
	RULE_COUNTER("ptrig_flows_established_total", flows_established, NULL,
		     NULL);
	family(f, "ptrig_packets_total", "counter",
	       "Packets of forwarded connections (in: towards the LAN host).");
	RULE_COUNTER("ptrig_packets_total", pkts_in, "direction", "in");
	RULE_COUNTER("ptrig_packets_total", pkts_out, "direction", "out");
	family(f, "ptrig_bytes_total", "counter",
	       "Bytes (IP packets) of forwarded connections.");
	RULE_COUNTER("ptrig_bytes_total", bytes_in, "direction", "in");
	RULE_COUNTER("ptrig_bytes_total", bytes_out, "direction", "out");
	family(f, "ptrig_refused_connections_total", "counter",
	       "New inbound connections on open ports that were not forwarded "
	       "(closed: no open trigger; peer: not the trigger's peer).");
	RULE_COUNTER("ptrig_refused_connections_total", refused_closed,
		     "reason", "closed");
	RULE_COUNTER("ptrig_refused_connections_total", refused_peer, "reason",
		     "peer");
}

/* One value of each table of every interface. */
#define TABLE_SAMPLES(fam, field)                                              \
	for (i = 0; i < a->n_ifs; i++)                                         \
		for (k = 0; ims[i].have_maps && k < PTRIG_N_TABLES; k++)       \
	sample_if(f, fam, a->ifs[i].name, "table", ims[i].s.tables[k].name,    \
		  ims[i].s.tables[k].field)

static void render_datapath(FILE *f, const struct agent_snapshot *a,
			    const struct if_metrics *ims)
{
	int i, k;

	family(f, "ptrig_passed_packets_total", "counter",
	       "Ingress packets XDP passed untouched, by reason.");
	for (i = 0; i < a->n_ifs; i++)
		for (k = 0; ims[i].have_maps && k < PTRIG_STAT_MAX; k++)
			if (stat_names[k] &&
			    !strncmp(stat_names[k], "pass_", 5))
				sample_if(f, "ptrig_passed_packets_total",
					  a->ifs[i].name, "reason",
					  stat_names[k] + 5, ims[i].s.stats[k]);
	family(f, "ptrig_datapath_events_total", "counter",
	       "Other datapath counters, named as in `status --json`.");
	for (i = 0; i < a->n_ifs; i++)
		for (k = 0; ims[i].have_maps && k < PTRIG_STAT_MAX; k++)
			if (stat_names[k] && strncmp(stat_names[k], "pass_", 5))
				sample_if(f, "ptrig_datapath_events_total",
					  a->ifs[i].name, "event",
					  stat_names[k], ims[i].s.stats[k]);

	family(f, "ptrig_active_triggers", "gauge",
	       "Open triggers (not idle past their rule's timeout).");
	for (i = 0; i < a->n_ifs; i++)
		if (ims[i].have_maps)
			sample_if(f, "ptrig_active_triggers", a->ifs[i].name,
				  NULL, NULL, ims[i].n_triggers);
	family(f, "ptrig_active_flows", "gauge",
	       "Live forwarded connections, by state.");
	for (i = 0; i < a->n_ifs; i++) {
		if (!ims[i].have_maps)
			continue;
		sample_if(f, "ptrig_active_flows", a->ifs[i].name, "state",
			  "new", ims[i].flows.live_new);
		sample_if(f, "ptrig_active_flows", a->ifs[i].name, "state",
			  "established", ims[i].flows.live_established);
		sample_if(f, "ptrig_active_flows", a->ifs[i].name, "state",
			  "closing", ims[i].flows.live_closing);
	}
	family(f, "ptrig_table_entries", "gauge",
	       "Entries a table holds, expired ones waiting for reuse "
	       "included.");
	TABLE_SAMPLES("ptrig_table_entries", entries);
	family(f, "ptrig_table_capacity_entries", "gauge",
	       "Size of a table; when full, the least recently used entry "
	       "goes.");
	TABLE_SAMPLES("ptrig_table_capacity_entries", max);
	family(f, "ptrig_table_fill_ratio", "gauge",
	       "ptrig_table_entries / ptrig_table_capacity_entries.");
	for (i = 0; i < a->n_ifs; i++)
		for (k = 0; ims[i].have_maps && k < PTRIG_N_TABLES; k++)
			ratio(f, a->ifs[i].name, ims[i].s.tables[k].name,
			      ims[i].s.tables[k].entries,
			      ims[i].s.tables[k].max);
}

/* The hooks hold ptrig's programs (what `status` calls native/generic). */
static bool hooks_attached(const struct iface_state *s)
{
	const char *mode = attached_mode(s);

	return strcmp(mode, "not-attached") &&
	       strcmp(mode, "interface-not-found");
}

static void render_agent(FILE *f, const struct agent_snapshot *a,
			 const struct if_metrics *ims)
{
	int i;

	family(f, "ptrig_build_info", "gauge",
	       "Always 1; the labels say which ptrig runs.");
	fprintf(f,
		"ptrig_build_info{version=\"%s\",map_layout=\"%d\","
		"libbpf=\"%s\"} 1\n",
		PTRIG_VERSION, PTRIG_LAYOUT_VERSION, libbpf_version_string());
	family(f, "ptrig_start_time_seconds", "gauge",
	       "When the agent started, in seconds since the epoch.");
	fprintf(f, "ptrig_start_time_seconds %.3f\n", a->start_time);
	family(f, "ptrig_interface_attached", "gauge",
	       "1 if ptrig's programs run on the managed interface.");
	for (i = 0; i < a->n_ifs; i++)
		sample_if(f, "ptrig_interface_attached", a->ifs[i].name, NULL,
			  NULL, ims[i].have_maps && hooks_attached(&ims[i].s));
	family(f, "ptrig_interface_present", "gauge",
	       "1 if the managed interface exists.");
	for (i = 0; i < a->n_ifs; i++)
		sample_if(f, "ptrig_interface_present", a->ifs[i].name, NULL,
			  NULL, a->ifs[i].state != AGENT_IF_WAITING);
	family(f, "ptrig_reattaches_total", "counter",
	       "Attaches after the first one: the interface came back "
	       "(recreated, reconnected) or lost ptrig's programs.");
	for (i = 0; i < a->n_ifs; i++)
		sample_if(f, "ptrig_reattaches_total", a->ifs[i].name, NULL,
			  NULL, a->ifs[i].reattaches);
	family(f, "ptrig_attach_failures_total", "counter",
	       "Attach attempts that failed (they are retried).");
	for (i = 0; i < a->n_ifs; i++)
		sample_if(f, "ptrig_attach_failures_total", a->ifs[i].name,
			  NULL, NULL, a->ifs[i].attach_failures);
	family(f, "ptrig_config_reloads_total", "counter",
	       "Rule file reloads (SIGHUP or file change), by result.");
	fprintf(f, "ptrig_config_reloads_total{result=\"ok\"} %llu\n",
		(unsigned long long)a->reloads_ok);
	fprintf(f, "ptrig_config_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)a->reloads_failed);
	family(f, "ptrig_config_last_reload_successful", "gauge",
	       "1 if the last load of the rule file succeeded.");
	fprintf(f, "ptrig_config_last_reload_successful %d\n",
		a->last_reload_ok);
	family(f, "ptrig_config_last_reload_success_timestamp_seconds", "gauge",
	       "When the rules were last loaded successfully.");
	fprintf(f, "ptrig_config_last_reload_success_timestamp_seconds %.3f\n",
		a->last_reload_ok_time);
}

char *metrics_render(const struct agent_snapshot *a, size_t *len)
{
	struct if_metrics ims[AGENT_MAX_IFACES];
	char *buf = NULL;
	FILE *f;
	int i;

	memset(ims, 0, sizeof(ims));
	for (i = 0; i < a->n_ifs; i++) {
		ims[i].a = &a->ifs[i];
		if_metrics_read(&ims[i]);
	}
	f = open_memstream(&buf, len);
	if (f) {
		render_agent(f, a, ims);
		render_rules(f, a, ims);
		render_datapath(f, a, ims);
		if (fclose(f)) {
			free(buf);
			buf = NULL;
		}
	}
	for (i = 0; i < a->n_ifs; i++)
		free(ims[i].s.rules);
	return buf;
}

bool agent_ready(const struct agent_snapshot *a, char *why, size_t len)
{
	int i;

	if (!a->started) {
		snprintf(why, len, "starting");
		return false;
	}
	for (i = 0; i < a->n_ifs; i++) {
		if (a->ifs[i].state == AGENT_IF_ATTACHED)
			continue;
		if (a->ifs[i].state == AGENT_IF_WAITING && a->ready_if_absent)
			continue;
		snprintf(why, len, "%s: %s", a->ifs[i].name,
			 a->ifs[i].state == AGENT_IF_WAITING
				 ? "waiting for the interface"
				 : "attach failed, retrying");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------- HTTP -- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, char *body, size_t len,
			     bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body,
					    owned ? MHD_RESPMEM_MUST_FREE
						  : MHD_RESPMEM_MUST_COPY);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **req_cls)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct agent_snapshot a;
	char msg[128], why[96];
	size_t len = 0;
	char *body;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		snprintf(msg, sizeof(msg), "only GET\n");
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg,
			     strlen(msg), false);
	}
	if (!strcmp(url, "/healthz")) {
		snprintf(msg, sizeof(msg), "ok\n");
		return reply(c, MHD_HTTP_OK, text, msg, strlen(msg), false);
	}
	agent_snapshot(&a);
	if (!strcmp(url, "/readyz")) {
		bool ok = agent_ready(&a, why, sizeof(why));

		snprintf(msg, sizeof(msg), "%s%s\n",
			 ok ? "ready" : "not ready: ", ok ? "" : why);
		return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			     text, msg, strlen(msg), false);
	}
	if (!strcmp(url, "/metrics")) {
		body = metrics_render(&a, &len);
		if (!body)
			return MHD_NO;
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body,
			     len, true);
	}
	snprintf(msg, sizeof(msg),
		 "not found; try /metrics, /healthz, "
		 "/readyz\n");
	return reply(c, MHD_HTTP_NOT_FOUND, text, msg, strlen(msg), false);
}

void *metrics_server_start(int listen_fd)
{
	/* One thread, a few connections: a scraper and two probes. */
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT,
		10u, MHD_OPTION_END);
}

void metrics_server_stop(void *server)
{
	if (server)
		MHD_stop_daemon(server);
}
