// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture test (BPF_PROG_TEST_RUN): two LAN hosts race to create, or to
 * take over, the same trigger from two CPUs at once. First device wins must
 * hold: in every round exactly one of them opens the trigger and the other
 * counts a conflict; the loser never overwrites the winner.
 */
#include "scenario.h"

#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 10000

struct racer {
	struct tctx *c;
	int cpu;
	bool leader; /* resets the trigger before each round */
	uint32_t rule_id;
	uint8_t pkt[PKT_MAX];
	size_t len;
	int err;
};

static atomic_int go = -1, done;

/* Before round i: even rounds start without a trigger (creation), odd ones
 * with the last winner's trigger gone idle (takeover). */
static void reset(const struct racer *r, int i)
{
	struct ptrig_trigger_key key = trig_key(r->rule_id, 0);
	struct ptrig_trigger t;

	if (i % 2 == 0) {
		bpf_map_delete_elem(r->c->fds.trig, &key);
	} else if (bpf_map_lookup_elem(r->c->fds.trig, &key, &t) == 0) {
		t.last_seen_ns = now_ns() -
				 (PTRIG_DEFAULT_TRIGGER_TIMEOUT_S + 1) * SEC_NS;
		bpf_map_update_elem(r->c->fds.trig, &key, &t, BPF_EXIST);
	}
}

/* Each racer runs on a CPU of its own and spins only there, so the two
 * trigger packets of a round hit the program within nanoseconds. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct prog_run out;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (i = 0; i < ROUNDS; i++) {
		if (r->leader) {
			while (atomic_load(&done) < 2 * i)
				;
			reset(r, i);
			atomic_store(&go, i);
		} else {
			while (atomic_load(&go) < i)
				;
		}
		if (prog_run(prog_fd(r->c, PROG_TC_EGRESS), false, r->pkt,
			     r->len, 1, 0, PRUN_IIF_LAN, &out))
			r->err++;
		atomic_fetch_add(&done, 1);
	}
	return NULL;
}

static int test_race(struct tctx *c)
{
	struct ptrig_rule_spec rules[] = {
		rule("irc", P_TCP, 6660, 6669, P_TCP, 113, 113),
	};
	const struct pkt_spec from1 = TCP(LAN1, 50000, REM1, 6667, TH_SYN);
	const struct pkt_spec from2 = TCP(LAN2, 50000, REM1, 6667, TH_SYN);
	struct racer r1 = {.c = c, .cpu = 0, .leader = true};
	struct racer r2 = {.c = c, .cpu = 1};
	struct ptrig_rule_counters k;
	pthread_t t1, t2;

	if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return 1; /* skip: needs two CPUs */
	ASSERT_OK(tctx_setup(c, rules, 1));
	r1.rule_id = r2.rule_id = rule_id(c, TCP_, 6667);
	r1.len = pkt_build(&from1, r1.pkt);
	r2.len = pkt_build(&from2, r2.pkt);
	ASSERT_TRUE(pthread_create(&t1, NULL, race, &r1) == 0, "thread");
	ASSERT_TRUE(pthread_create(&t2, NULL, race, &r2) == 0, "thread");
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ASSERT_EQ(r1.err + r2.err, 0, "test_run errors");
	k = cnt_get(c, r1.rule_id);
	printf("# %d rounds: %llu opened, %llu conflicts, %llu refreshes\n",
	       ROUNDS, (unsigned long long)k.triggers_opened,
	       (unsigned long long)k.conflicts,
	       (unsigned long long)k.refreshes);
	ASSERT_EQ(k.triggers_opened, ROUNDS, "one trigger opened per round");
	ASSERT_EQ(k.conflicts, ROUNDS, "one conflict per round");
	return 0;
}

static const struct test_case cases[] = {
	{.name = "two hosts race for one trigger: the first one wins",
	 .fn = test_race},
};

FIXTURE_MAIN(cases)
