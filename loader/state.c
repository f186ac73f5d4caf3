// SPDX-License-Identifier: GPL-2.0
/* Flow table reader for the agent's metrics: live flows by state. It prints
 * nothing. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "state.h"

int flows_count(int fd, struct flow_counts *c)
{
	struct ptrig_flow_key key, next, *prev = NULL;
	uint64_t now = ptrig_now_ns();

	memset(c, 0, sizeof(*c));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ptrig_flow f;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue; /* deleted or evicted meanwhile */
		c->entries++;
		/* The same expiry test as the datapath's and `flows`'s. */
		if ((int64_t)(now - f.last_seen_ns) >
		    (int64_t)ptrig_flow_idle_timeout(&f) * 1000000000ll)
			continue;
		if (f.flags & PTRIG_FLOW_CLOSING)
			c->live_closing++;
		else if (!(f.flags & PTRIG_FLOW_EMBRYONIC))
			c->live_established++;
		else
			c->live_new++;
	}
	return 0;
}
