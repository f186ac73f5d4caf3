/* SPDX-License-Identifier: GPL-2.0 */
/* `ptrig-load run`: the long-running agent, and what its metrics endpoint
 * reads from it. */
#ifndef PTRIG_AGENT_H
#define PTRIG_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmds.h"

#define AGENT_MAX_IFACES 32

enum agent_if_state {
	AGENT_IF_WAITING,  /* the interface does not exist (yet) */
	AGENT_IF_ATTACHED, /* ptrig runs on it */
	AGENT_IF_FAILED,   /* it exists, the last attach failed: retrying */
};

struct agent_if_snapshot {
	char name[IF_NAMESIZE];
	enum agent_if_state state;
	uint64_t reattaches;	  /* attaches after the first one */
	uint64_t attach_failures; /* failed attach attempts */
};

/* A consistent copy of the agent's own state, for /metrics and /readyz. */
struct agent_snapshot {
	struct agent_if_snapshot ifs[AGENT_MAX_IFACES];
	int n_ifs;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	bool last_reload_ok;
	double last_reload_ok_time; /* unix seconds, 0: never */
	double start_time;	    /* unix seconds */
	bool started;		    /* the first attach round is done */
	bool ready_if_absent;	    /* a missing interface counts as ready */
};

void agent_snapshot(struct agent_snapshot *out);

/* `ptrig-load run`: o->ifaces, o->config, o->metrics, ... */
int do_run(const struct cmd_opts *o);

/* metrics.c: the Prometheus text exposition of everything the agent
 * manages (malloc'ed, NUL-terminated); NULL on allocation failure. */
char *metrics_render(const struct agent_snapshot *a, size_t *len);

/* Readiness: every managed interface attached (or, with ready_if_absent,
 * missing). why gets a short reason when not ready. */
bool agent_ready(const struct agent_snapshot *a, char *why, size_t len);

/* Serve /metrics, /healthz and /readyz on an already bound and listening
 * socket, from a thread of libmicrohttpd. Returns an opaque handle or NULL.
 */
void *metrics_server_start(int listen_fd);
void metrics_server_stop(void *server);

#endif
