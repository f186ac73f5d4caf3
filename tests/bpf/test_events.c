// SPDX-License-Identifier: GPL-2.0
/* Fixture tests (BPF_PROG_TEST_RUN). Ring-buffer events: their fields, and rate
 * limiting. */
#include "scenario.h"

/* ------------------------------------------------------------- events -- */

struct ev_log {
	struct ptrig_event ev[64];
	int n[PTRIG_EV_FLOW_REFUSED + 1];
	int total;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct ev_log *log = ctx;
	const struct ptrig_event *ev = data;

	if (len < sizeof(*ev) || ev->type > PTRIG_EV_FLOW_REFUSED)
		return 0;
	if (log->total < 64)
		log->ev[log->total] = *ev;
	log->total++;
	log->n[ev->type]++;
	return 0;
}

static const struct ptrig_event *ev_find(const struct ev_log *log,
					 uint32_t type)
{
	int i;

	for (i = 0; i < log->total && i < 64; i++)
		if (log->ev[i].type == type)
			return &log->ev[i];
	return NULL;
}

/* What test_events does to the datapath; the events are read after. */
static int events_traffic(struct tctx *c, uint32_t id)
{
	static const struct step inbound[] = {
		STEP_DNAT_NEW("SYN opens a flow", TCP, REM1, 40000, LAN1, 113,
			      TH_SYN),
		STEP_UNTOUCHED("SYN to a closed rule's port is refused",
			       PROG_XDP, XDP_PASS,
			       TCP(REM1, 40001, WAN, 50005, TH_SYN)),
	};
	int i;

	ASSERT_OK(open_trigger(c, id, TCP_, LAN1, REM1, 6667, 0));
	for (i = 0; i < 20; i++)
		ASSERT_OK(send_trigger(c, TCP_, LAN2, 50001, REM1, 6667));
	RUN_STEPS(c, inbound);
	/* A SYN flood's worth of new flows, back to back. */
	for (i = 0; i < 20; i++) {
		struct step st = {
			.name = "another new flow",
			.prog = PROG_XDP,
			.in = TCP(STRANGER, 30000 + i, WAN, 113, TH_SYN),
			.verdict = XDP_PASS,
			.exp = TCP(STRANGER, 30000 + i, LAN1, 113, TH_SYN),
			.meta = true,
		};

		RUN_STEP(c, &st);
	}
	return 0;
}

/* The ring buffer carries one event per trigger opened, with the right
 * fields; conflicts (which a conflicting host's session causes per packet)
 * and new flows (a SYN flood's) are limited to one per 10 ms each while the
 * counters stay exact. */
static int test_events(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
		rule("ftp", P_TCP, 21, 21, P_TCP, 50000, 50010),
	};
	struct ev_log log = {0};
	const struct ptrig_event *ev;
	struct ring_buffer *rb;
	uint32_t id;
	int err;

	ASSERT_OK(tctx_setup(c, rules, 2));
	id = rule_id(c, TCP_, 6667);
	rb = ring_buffer__new(c->fds.events, on_event, &log, NULL);
	ASSERT_TRUE(rb != NULL, "ring_buffer__new: %s", strerror(errno));
	err = events_traffic(c, id);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (err)
		return err;

	ASSERT_EQ(log.n[PTRIG_EV_TRIGGER_OPENED], 1, "trigger_opened events");
	ev = ev_find(&log, PTRIG_EV_TRIGGER_OPENED);
	ASSERT_EQ(ev->rule_id, id, "trigger_opened rule");
	ASSERT_IP(ev->owner, LAN1, "trigger_opened owner");
	ASSERT_IP(ev->remote, REM1, "trigger_opened remote");
	ASSERT_EQ(ntohs(ev->remote_port), 6667, "trigger_opened remote port");
	ASSERT_EQ(ev->proto, IPPROTO_TCP, "trigger_opened proto");

	ASSERT_EQ(cnt_get(c, id).conflicts, 20, "conflicts counter (exact)");
	/* 20 packets back to back: one event, a second one only if the run
	 * was preempted past the 10 ms gap. */
	ASSERT_TRUE(log.n[PTRIG_EV_CONFLICT] >= 1 &&
			    log.n[PTRIG_EV_CONFLICT] <= 2,
		    "conflict events: %d for 20 conflicting packets",
		    log.n[PTRIG_EV_CONFLICT]);
	ev = ev_find(&log, PTRIG_EV_CONFLICT);
	ASSERT_IP(ev->owner, LAN2, "conflict names the conflicting host");

	/* 21 flows back to back: limited like conflicts, counter exact. */
	ASSERT_EQ(cnt_get(c, id).flows_opened, 21, "flows_opened (exact)");
	ASSERT_TRUE(log.n[PTRIG_EV_FLOW_OPENED] >= 1 &&
			    log.n[PTRIG_EV_FLOW_OPENED] <= 2,
		    "flow_opened events: %d for 21 new flows",
		    log.n[PTRIG_EV_FLOW_OPENED]);
	ev = ev_find(&log, PTRIG_EV_FLOW_OPENED);
	ASSERT_IP(ev->owner, LAN1, "flow_opened owner");
	ASSERT_IP(ev->remote, REM1, "flow_opened remote");
	ASSERT_EQ(ntohs(ev->remote_port), 40000, "flow_opened remote port");
	ASSERT_EQ(ntohs(ev->local_port), 113, "flow_opened open port");

	ASSERT_EQ(log.n[PTRIG_EV_FLOW_REFUSED], 1, "flow_refused events");
	ev = ev_find(&log, PTRIG_EV_FLOW_REFUSED);
	ASSERT_EQ(ntohs(ev->local_port), 50005, "flow_refused open port");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "events: fields; conflicts and new flows rate-limited",
	 .fn = test_events},
};

FIXTURE_MAIN(cases)
