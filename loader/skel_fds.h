/* SPDX-License-Identifier: GPL-2.0 */
/* The map fds of a loaded ptrig skeleton, for the loader, tests and bench. */
#ifndef PTRIG_SKEL_FDS_H
#define PTRIG_SKEL_FDS_H

#include "ptrig.skel.h"
#include "ptrig_load.h"

static inline void ptrig_skel_map_fds(struct ptrig *skel,
				      struct ptrig_map_fds *m)
{
	m->cfg = bpf_map__fd(skel->maps.ptrig_cfg_v1);
	m->ports = bpf_map__fd(skel->maps.ptrig_ports_v1);
	m->rules = bpf_map__fd(skel->maps.ptrig_rules_v1);
	m->trig = bpf_map__fd(skel->maps.ptrig_trig_v1);
	m->flows = bpf_map__fd(skel->maps.ptrig_flows_v1);
	m->cnt = bpf_map__fd(skel->maps.ptrig_cnt_v1);
	m->stats = bpf_map__fd(skel->maps.ptrig_stats_v1);
	m->events = bpf_map__fd(skel->maps.ptrig_events_v1);
}

#endif
