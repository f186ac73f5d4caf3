// SPDX-License-Identifier: GPL-2.0
/* Reference programs for `make bench`: ptrig's per-packet cost is reported
 * as a ratio to these, measured in the same process and run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ptrig.h"
#include "ptrig_parse.h"

#define TC_ACT_OK 0

/* The floor: the cost of running any XDP program at all. */
SEC("xdp")
int ref_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Parse eth/IPv4/TCP-UDP exactly as ptrig does, then pass: what any
 * port-aware program must pay. */
SEC("xdp")
int ref_xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return XDP_PASS;
	/* Use the result so the parse is not optimised away. */
	return p.dport == 0 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int ref_tc_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt p = {};

	if (parse_ipv4_l4(data, data_end, &p) >= 0)
		return TC_ACT_OK;
	return p.dport == 0 ? 2 : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
