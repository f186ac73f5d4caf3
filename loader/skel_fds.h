/* SPDX-License-Identifier: GPL-2.0 */
/* The map fds of a loaded ptrig skeleton, for the loader, tests and bench. */
#ifndef PTRIG_SKEL_FDS_H
#define PTRIG_SKEL_FDS_H

#include "ptrig.skel.h"
#include "ptrig_load.h"

static inline void ptrig_skel_map_fds(struct ptrig *skel,
				      struct ptrig_map_fds *m)
{
#define X(f) m->f = bpf_map__fd(skel->maps.PTRIG_MAP(f));
	PTRIG_MAPS(X)
#undef X
}

#endif
