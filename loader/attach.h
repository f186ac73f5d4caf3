/* SPDX-License-Identifier: GPL-2.0 */
/* Attach, reload and detach as library calls, in the calling thread's
 * network namespace. Each returns a PTRIG_EXIT_* code; on failure nothing
 * was changed, and m says why. Nothing is printed: m holds every message
 * for the caller to print (the CLI) or log (the agent). */
#ifndef PTRIG_ATTACH_H
#define PTRIG_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "msgs.h"

struct ptrig_attach_req {
	const char *ifname;
	const struct ptrig_ruleset *rules; /* validated */
	uint32_t xdp_mode; /* XDP_FLAGS_DRV_MODE / XDP_FLAGS_SKB_MODE; 0: as
			      attached, else the link's best */
	bool mark_set;	   /* else the attached one's, else the default */
	uint32_t mark;
	uint32_t max_flows;    /* 0: default, or the pinned map's size */
	uint32_t max_triggers; /* 0: default, or the pinned map's size */
	/* The fast path: established flows are forwarded by XDP straight to
	 * this LAN interface. NULL: as attached (off on a first attach);
	 * "none": off. */
	const char *lan;
	/* Where the LAN program runs: enum ptrig_lan_mode (unset: as
	 * attached, else auto). */
	uint32_t lan_mode;
	/* Attach even with a flowtable offloading to hardware on the WAN. */
	bool allow_hw_offload;
};

struct ptrig_attach_res {
	int ifindex;
	bool upgraded; /* the pinned maps, and their state, were kept */
	uint32_t xdp_flags;
	uint32_t lan_ifindex; /* the fast path's LAN interface, 0: off */
	char dir[256];	      /* the pin directory */
};

/* Attach to an interface, or upgrade the ptrig on it in place. */
int ptrig_attach(const struct ptrig_attach_req *req,
		 struct ptrig_attach_res *res, struct ptrig_msgs *m);

/* Replace the rules of an attached interface, atomically. */
int ptrig_reload(const char *ifname, const struct ptrig_ruleset *rs,
		 struct ptrig_msgs *m);

/* Remove ptrig's programs and pins from an interface. */
int ptrig_detach(const char *ifname, struct ptrig_msgs *m);

#endif
