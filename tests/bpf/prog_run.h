/* SPDX-License-Identifier: GPL-2.0 */
/* One BPF_PROG_TEST_RUN of an XDP or TC program, with a context so that XDP
 * metadata and skb->mark come back. Shared by the fixture tests and the
 * benchmark. */
#ifndef PTRIG_PROG_RUN_H
#define PTRIG_PROG_RUN_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "pkt.h"

struct prog_run {
	uint8_t out[PKT_MAX + 512];
	uint32_t out_len;  /* bytes in out, metadata included */
	uint32_t meta_len; /* XDP: metadata bytes in front of the frame */
	uint32_t retval;
	uint32_t duration; /* kernel-measured ns per repetition */
	uint32_t mark;	   /* TC: skb->mark after the run */
	uint32_t ctx_meta; /* XDP: ctx_out.data_meta as returned */
	uint32_t ctx_end;  /* XDP: ctx_out.data_end as returned */
};

/* skb->ingress_ifindex for TC runs. test_run's device is the loopback (1),
 * which plays the WAN interface; forwarded LAN traffic arrived on another
 * interface, and 0 means the box sent the packet itself. */
#define PRUN_IIF_LOCAL 0u
#define PRUN_IIF_WAN 1u
#define PRUN_IIF_LAN 2u

/*
 * XDP: with an xdp_md ctx, the kernel returns data_out starting at
 * data_meta and sets ctx_out.data to the metadata length, so a marker the
 * program put with bpf_xdp_adjust_meta() is visible in front of the frame.
 * TC: ctx_in sets skb->mark and skb->ingress_ifindex (iif), ctx_out carries
 * the mark back.
 * Returns 0 or -errno.
 */
static inline int prog_run(int fd, bool xdp, const uint8_t *in, size_t len,
			   uint32_t repeat, uint32_t mark_in, uint32_t iif,
			   struct prog_run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct __sk_buff skb;
	struct xdp_md xmd;

	o.data_in = in;
	o.data_size_in = (uint32_t)len;
	o.data_out = r->out;
	o.data_size_out = sizeof(r->out);
	o.repeat = repeat;
	if (xdp) {
		memset(&xmd, 0, sizeof(xmd));
		xmd.data_end = (uint32_t)len;
		o.ctx_in = &xmd;
		o.ctx_size_in = sizeof(xmd);
		o.ctx_out = &xmd;
		o.ctx_size_out = sizeof(xmd);
	} else {
		memset(&skb, 0, sizeof(skb));
		skb.mark = mark_in;
		skb.ingress_ifindex = iif;
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
		o.ctx_out = &skb;
		o.ctx_size_out = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	r->retval = o.retval;
	r->duration = o.duration;
	r->out_len = o.data_size_out;
	r->meta_len = xdp ? xmd.data : 0;
	r->mark = xdp ? 0 : skb.mark;
	r->ctx_meta = xdp ? xmd.data_meta : 0;
	r->ctx_end = xdp ? xmd.data_end : 0;
	return 0;
}

#endif
