// SPDX-License-Identifier: GPL-2.0
/*
 * Verifier budget: loads the ptrig programs as the loader does and reports,
 * per program, how many instructions the running kernel's verifier
 * processed (bpf_prog_info.verified_insns, Linux 5.16+), against the limit
 * of 1,000,000 processed instructions per privileged program. A program
 * that uses more than --max-percent (default 50) of the limit fails: the
 * margin is what later datapath changes and other kernels' verifiers may
 * eat.
 *
 * Output: one "| kernel | conntrack kfuncs | program | insns | share |"
 * markdown row per program, one PASS/FAIL line per program, then
 * "N passed, M failed". Exit 1 if a program failed the check or could not
 * be measured, 2 on usage errors.
 *
 * Usage: verifier_budget [--max-percent P] [--limit N]
 *   --limit overrides the kernel's limit (for showing that the check fails).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skel_fds.h"
#include "ptrig_load.h"

/* BPF_COMPLEXITY_LIMIT_INSNS: the same for every kernel since 5.2. */
#define KERNEL_LIMIT 1000000ULL

static const char *ct_kfuncs_name(enum ptrig_ct_kfuncs where)
{
	switch (where) {
	case CT_KFUNCS_BUILTIN:
		return "built in";
	case CT_KFUNCS_MODULE:
		return "nf_conntrack module";
	default:
		return "none";
	}
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-percent", required_argument, NULL, 'p'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long limit = KERNEL_LIMIT, max_percent = 50;
	int passed = 0, failed = 0, c;
	struct bpf_program *prog;
	struct utsname uts;
	struct ptrig *skel;
	const char *ct;
	char *end;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'l':
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || !v || (c == 'p' && v > 100)) {
				fprintf(stderr,
					"verifier_budget: bad --%s %s\n",
					c == 'p' ? "max-percent" : "limit",
					optarg);
				return 2;
			}
			if (c == 'p')
				max_percent = v;
			else
				limit = v;
			break;
		default:
			fprintf(stderr, "usage: verifier_budget [--max-percent "
					"P] [--limit N]\n");
			return 2;
		}
	}

	libbpf_set_print(print_libbpf);
	uname(&uts);
	ct = ct_kfuncs_name(ptrig_ct_kfuncs_find());
	skel = ptrig__open();
	if (!skel) {
		fprintf(stderr, "verifier_budget: opening the skeleton: %s\n",
			strerror(errno));
		return 1;
	}
	/* Loaded as the loader loads it: the mark is a verifier constant. */
	skel->rodata->fw_mark = PTRIG_DEFAULT_MARK;
	/* With the fast path on (any LAN interface index will do): its code
	 * is verified too, the most a program can cost. */
	skel->rodata->fast_lan_ifindex = 1;
	if (ptrig__load(skel)) {
		printf("FAIL: loading the programs on %s (conntrack kfuncs: "
		       "%s): %s\n",
		       uts.release, ct, strerror(errno));
		printf("0 passed, 1 failed\n");
		ptrig__destroy(skel);
		return 1;
	}

	bpf_object__for_each_program(prog, skel->obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		const char *name = bpf_program__name(prog);
		unsigned long long n;

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info,
					   &len) ||
		    !info.verified_insns) {
			printf("FAIL: %s: the kernel does not report verified "
			       "instructions (needs 5.16+)\n",
			       name);
			failed++;
			continue;
		}
		n = info.verified_insns;
		printf("| %s | %s | %s | %llu | %.2f%% |\n", uts.release, ct,
		       name, n, 100.0 * (double)n / (double)limit);
		if (n * 100 > limit * max_percent) {
			printf("FAIL: %s: %llu processed instructions, over "
			       "%llu%% of the limit %llu\n",
			       name, n, max_percent, limit);
			failed++;
		} else {
			printf("PASS: %s: %llu processed instructions, within "
			       "%llu%% of the limit %llu\n",
			       name, n, max_percent, limit);
			passed++;
		}
	}
	ptrig__destroy(skel);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
