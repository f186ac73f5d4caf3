// SPDX-License-Identifier: GPL-2.0
/* Unit tests of tools/benchstat.c, the statistics and report of `make
 * bench`: medians of odd and even counts, paired ratios, the exact bytes of
 * the end-to-end and targets tables, the plot data, and bad input rejected
 * with "FILE:LINE: reason", exit 2 and no report written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define BENCHSTAT_NO_MAIN
#include "../../tools/benchstat.c"

static char dir[] = "/tmp/test_benchstat.XXXXXX";

static char *path_of(const char *name)
{
	static char p[16][256];
	static int k;

	k = (k + 1) % 16;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The whole content of a file (caller frees); NULL if it does not exist. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Runs benchstat with the NULL-terminated arguments; *out and *err get what
 * it printed (caller frees). Returns the exit status. */
static int run(char **out, char **err, ...)
{
	char *argv[32];
	int argc = 0, rc;
	va_list ap;
	char *a;

	argv[argc++] = "benchstat";
	va_start(ap, err);
	while ((a = va_arg(ap, char *)))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	bs_out = fopen(path_of("stdout"), "w");
	bs_err = fopen(path_of("stderr"), "w");
	assert_non_null(bs_out);
	assert_non_null(bs_err);
	rc = benchstat_main(argc, argv);
	fclose(bs_out);
	fclose(bs_err);
	*out = read_file(path_of("stdout"));
	*err = read_file(path_of("stderr"));
	return rc;
}

static void test_median(void **state)
{
	double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2}, one[] = {7};
	double none[1] = {0};

	(void)state;
	assert_true(bs_median(odd, 3) == 3);
	assert_true(bs_median(even, 4) == 2.5);
	assert_true(bs_median(one, 1) == 7);
	assert_true(bs_median(none, 0) == -1);
}

/* Rounds 1-3 of A and B (round 2 of B invalid), round 4 of A only: A's
 * median is over 4 values, B's over 2, the paired ratio over rounds 1
 * and 3 (the only ones with both valid). */
static const char e2e_ok[] =
	"#proto\tflows\tphase\tround\tvalue\tvalid\tsender_pps\trx\tlost\tcpu\n"
	"udp\t1\tA\t1\t100\t1\t200\t300\t0\t1000\n"
	"udp\t1\tB\t1\t50\t1\t200\t300\t0\t2000\n"
	"udp\t1\tA\t2\t300\t1\t-\t-\t-\t-\n"
	"udp\t1\tB\t2\t0\t0\t-\t-\t-\t-\n"
	"udp\t1\tA\t3\t200\t1\t200\t300\t0\t1000\n"
	"udp\t1\tB\t3\t200\t1\t200\t300\t0\t1000\n"
	"udp\t1\tA\t4\t400\t1\t-\t-\t-\t-\n"
	"tcp\t1000\tA\t1\t3000000\t1\t-\t-\t-\t-\n"
	"tcp\t1000\tB\t1\t2000000\t1\t-\t-\t-\t-\n"
	"tcp\t1000\tX\t1\t1000000\t1\t-\t-\t-\t-\n"
	"skip\tF\tno --lan option\n";

static const char e2e_table_ok[] =
	"| test | flows | F: ptrig fast path | A: ptrig slow path | B: "
	"nftables DNAT | X: blind XDP redirect (ceiling) | F/B (paired) | "
	"F/X (paired) | A/B (paired) | C: nftables DNAT, no XDP | A/C "
	"(paired) |\n"
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
	"| UDP pps at the LAN host (64-byte frames) | 1 | skipped | 250 pps | "
	"125 pps | - | - | - | 1.500x (2 pairs) | - | - |\n"
	"| TCP throughput (iperf3) | 1000 | skipped | 3.0 Mbit/s | 2.0 Mbit/s "
	"| 1.0 Mbit/s | - | - | 1.500x (1 pairs) | - | - |\n"
	"\n"
	"UDP sender CPU time per packet (the whole path, ns; lower is "
	"better), 1 flow(s): A 1000, B 1500, F -; A/B 0.750x (2 pairs), F/B "
	"-\n"
	"\n"
	"Phase F not measured: no --lan option\n"
	"\n"
	"Runs in round order (valid only; UDP pps, TCP Mbit/s, sender CPU ns "
	"per UDP packet):\n"
	"- udp, 1 flow(s), A: 100, 300, 200, 400\n"
	"- udp, 1 flow(s), B: 50, 200\n"
	"- tcp, 1000 flow(s), A: 3\n"
	"- tcp, 1000 flow(s), B: 2\n"
	"- tcp, 1000 flow(s), X: 1\n"
	"- udp sender CPU ns/pkt, 1 flow(s), A: 1000, 1000\n"
	"- udp sender CPU ns/pkt, 1 flow(s), B: 2000, 1000\n"
	"\n";

static const char targets_ok[] =
	"| target | measured | met? |\n"
	"|---|---|---|\n"
	"| XDP hit <= 1.3x reference DNAT (parse, one LRU lookup, rewrite): "
	"hot flow, repeat=1 | 1.20x (60.0 vs 50.0 ns) | yes |\n"
	"| 10,000 rules within 1.1x of 10 rules: every path | 1 of 2 rows "
	"within 1.1x; worst 1.50x (XDP miss, no rule r=N) | NO |\n"
	"| end to end UDP pps, fast path vs nftables DNAT >= 2.5x, 1 flow(s) "
	"| not measured: no --lan option | not measured |\n"
	"| end to end UDP pps, slow path (fast path off) vs nftables DNAT >= "
	"1.0x, 1 flow(s) | 1.500x (medians 250 pps vs 125 pps) | INVALID |\n"
	"| end to end TCP throughput, fast path vs nftables DNAT >= 1.5x, "
	"1000 flow(s) | not measured: no --lan option | not measured |\n"
	"| end to end TCP throughput, slow path (fast path off) vs nftables "
	"DNAT >= 1.0x, 1000 flow(s) | 1.500x (medians 3.0 Mbit/s vs 2.0 "
	"Mbit/s) | yes |\n";

static const char paths_ok[] =
	"#table\tname\tpath\tvariant\tmode\tns\tmin\tmax\tref\tref_ns\tratio\t"
	"target\tmet\n"
	"dnat\txdp_hit_hot_S\tXDP hit\thot flow\tr=1\t60.00\t55.00\t70.00\t"
	"ref_xdp_dnat_r1\t50.00\t1.200\t1.30\tyes\n"
	"scale\txdp_miss_r1_R\tXDP miss\tno rule\tr=1\t10.00\t9.00\t11.00\t"
	"xdp_miss_r1_S\t10.00\t1.000\t1.10\tyes\n"
	"scale\txdp_miss_rN_R\tXDP miss\tno rule\tr=N\t15.00\t9.00\t16.00\t"
	"xdp_miss_rN_S\t10.00\t1.500\t1.10\tNO\n"
	"#delta\ta\tb\t1.00\n";

static void test_summary_exact(void **state)
{
	char *out, *err;

	(void)state;
	write_file("e2e.tsv", e2e_ok);
	write_file("paths.tsv", paths_ok);
	assert_int_equal(run(&out, &err, "summary", "--e2e", path_of("e2e.tsv"),
			     "--paths", path_of("paths.tsv"), NULL),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(strncmp(out, e2e_table_ok, strlen(e2e_table_ok)), 0);
	assert_string_equal(out + strlen(e2e_table_ok), targets_ok);
	free(out);
	free(err);
}

static void test_report_and_plot(void **state)
{
	char *out, *err, *md, *dat;

	(void)state;
	write_file("e2e.tsv", e2e_ok);
	write_file("paths.tsv", paths_ok);
	write_file("machine.txt", "cpu: test\n");
	write_file("method.md", "METHOD\n");
	unlink(path_of("results.md"));
	assert_int_equal(run(&out, &err, "report", "--e2e", path_of("e2e.tsv"),
			     "--paths", path_of("paths.tsv"), "--machine",
			     path_of("machine.txt"), "--method",
			     path_of("method.md"), "--plot-dir", dir, "--out",
			     path_of("results.md"), NULL),
			 0);
	assert_string_equal(err, "");
	md = read_file(path_of("results.md"));
	assert_non_null(md);
	assert_non_null(strstr(md, "```\ncpu: test\n```\n\n### Targets\n\n"));
	assert_non_null(strstr(md, targets_ok));
	assert_non_null(strstr(md, e2e_table_ok));
	assert_non_null(strstr(md, "\nMETHOD\n\nPlot: results.png."));
	dat = read_file(path_of("plot_udp.dat"));
	assert_string_equal(dat, "0 \"A: slow path, 1 flow\" 0.250\n"
				 "1 \"B: nft DNAT, 1 flow\" 0.125\n");
	free(dat);
	dat = read_file(path_of("plot_tcp_runs.dat"));
	assert_string_equal(dat, "0 3.000\n1 2.000\n2 1.000\n");
	free(dat);
	dat = read_file(path_of("plot_r1.dat"));
	assert_non_null(strstr(dat, "\"XDP miss\" ? 10.00 ?\n"));
	free(dat);
	free(md);
	free(out);
	free(err);
}

/* Bad input given with option opt: the exact message, exit 2, and no
 * report. */
static void check_bad(const char *opt, const char *text, const char *want)
{
	char *out, *err, expect[512];

	write_file("bad.tsv", text);
	unlink(path_of("bad.md"));
	assert_int_equal(run(&out, &err, "report", opt, path_of("bad.tsv"),
			     "--out", path_of("bad.md"), NULL),
			 2);
	snprintf(expect, sizeof(expect), "%s:%s\n", path_of("bad.tsv"), want);
	assert_string_equal(err, expect);
	assert_null(read_file(path_of("bad.md")));
	assert_null(read_file(path_of("bad.md.tmp")));
	free(out);
	free(err);
}

static void test_bad_input(void **state)
{
	(void)state;
	check_bad("--e2e", "udp\t1\tA\t1\t100\t1\t-\t-\t-\n",
		  "1: 9 fields, expected 10");
	check_bad("--e2e", "#c\nudp\t1\tQ\t1\t100\t1\t-\t-\t-\t-\n",
		  "2: unknown phase 'Q'");
	check_bad("--e2e", "icmp\t1\tA\t1\t100\t1\t-\t-\t-\t-\n",
		  "1: protocol 'icmp' is not udp or tcp");
	check_bad("--e2e", "udp\t0\tA\t1\t100\t1\t-\t-\t-\t-\n",
		  "1: flows '0' is not an integer 1-1000000");
	check_bad("--e2e", "udp\t1\tA\t1\t-5\t1\t-\t-\t-\t-\n",
		  "1: value '-5' is not a number >= 0");
	check_bad("--e2e", "udp\t1\tA\t1\t1e999\t1\t-\t-\t-\t-\n",
		  "1: value '1e999' is not a number >= 0");
	check_bad("--e2e", "udp\t1\tA\t1\t100\tyes\t-\t-\t-\t-\n",
		  "1: valid 'yes' is not 0 or 1");
	check_bad("--e2e", "udp\t1\tA\t1\t100\t1\tx\t-\t-\t-\n",
		  "1: sender_pps, rx_pkts, lost_est, cpu: an integer >= 0 or "
		  "'-' each");
	check_bad("--e2e",
		  "udp\t1\tA\t1\t100\t1\t-\t-\t-\t-\n"
		  "udp\t1\tA\t1\t200\t1\t-\t-\t-\t-\n",
		  "2: a second sample of udp, 1 flows, phase A, round 1");
	check_bad("--e2e", "skip\tF\n", "1: a skip record has 3 fields, not 2");
	check_bad("--e2e", "udp\t1\tA\t1\t100\t1\t-\t-\t-\t-\n\n",
		  "2: empty line");
}

static void test_bad_paths_and_usage(void **state)
{
	char *out, *err, expect[512];

	(void)state;
	write_file("badp.tsv", "base\tx\tp\tv\tr=1\tfast\t1\t1\t-\t1\t1\t0\t"
			       "-\n");
	assert_int_equal(run(&out, &err, "summary", "--paths",
			     path_of("badp.tsv"), NULL),
			 2);
	snprintf(expect, sizeof(expect),
		 "%s:1: ns, min, max, ref_ns, ratio, target must be numbers\n",
		 path_of("badp.tsv"));
	assert_string_equal(err, expect);
	assert_string_equal(out, "");
	free(out);
	free(err);

	assert_int_equal(run(&out, &err, "report", NULL), 2);
	assert_non_null(strstr(err, "usage: benchstat report"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "frobnicate", NULL), 2);
	assert_non_null(
		strstr(err, "benchstat: unknown command 'frobnicate'\n"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "summary", "--e2e",
			     path_of("missing.tsv"), NULL),
			 2);
	snprintf(expect, sizeof(expect), "%s: No such file or directory\n",
		 path_of("missing.tsv"));
	assert_string_equal(err, expect);
	free(out);
	free(err);
}

/* Router forwarding: rounds 1-3 of F, B, X and A (A invalid in round 3),
 * UDP 1 flow; TCP 1000 flows with F skipped. ns per packet = kernel_ns /
 * packets; the ratios are paired speed-ups. */
static const char fwd_ok[] =
	"#proto\tflows\tphase\tround\tpackets\tkernel_ns\tvalid\tinjected\t"
	"sink\tpath\n"
	"udp\t1\tF\t1\t1000\t100000\t1\t1008\t1008\t1008\n"
	"udp\t1\tB\t1\t1000\t300000\t1\t1008\t1008\t-\n"
	"udp\t1\tX\t1\t1000\t80000\t1\t1008\t1008\t-\n"
	"udp\t1\tA\t1\t1000\t310000\t1\t1008\t1008\t1008\n"
	"udp\t1\tF\t2\t1000\t200000\t1\t1008\t1008\t1008\n"
	"udp\t1\tB\t2\t1000\t400000\t1\t1008\t1008\t-\n"
	"udp\t1\tX\t2\t1000\t100000\t1\t1008\t1008\t-\n"
	"udp\t1\tA\t2\t1000\t400000\t1\t1008\t1008\t1008\n"
	"udp\t1\tF\t3\t1000\t100000\t1\t1008\t1008\t1008\n"
	"udp\t1\tB\t3\t1000\t500000\t1\t1008\t1008\t-\n"
	"udp\t1\tX\t3\t1000\t90000\t1\t1008\t1008\t-\n"
	"udp\t1\tA\t3\t0\t-\t0\t8\t5\t-\n"
	"tcp\t1000\tB\t1\t1000\t600000\t1\t9000\t9000\t-\n"
	"skip\tF\tno --lan option\n";

static const char fwd_table_ok[] =
	"| test | flows | F: ptrig fast path | A: ptrig slow path | B: "
	"nftables DNAT | X: blind XDP redirect | F/B | A/B | X/B | F/X |\n"
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
	"| UDP ns/packet | 1 | 100.0 | 355.0 (1 INVALID) | 400.0 | 90.0 | "
	"3.000x (3 pairs) | 0.984x (2 pairs) | 4.000x (3 pairs) | 0.800x (3 "
	"pairs) |\n"
	"| TCP ns/packet | 1000 | skipped | - | 600.0 | - | - | - | - | - |\n"
	"\n"
	"Ratios are speed-ups, paired per round: F/B is B's ns per packet "
	"over F's (how many times\n"
	"more packets the router forwards in F for the same CPU time), X/B "
	"and A/B likewise, F/X is\n"
	"X's over F's (1.0: as fast as the blind redirect).\n"
	"\n"
	"Phase F not measured: no --lan option\n"
	"\n"
	"Runs in round order (ns/packet; frames the sink counted / frames "
	"injected):\n"
	"- udp, 1 flow(s), F: 100.0 (1008/1008), 200.0 (1008/1008), 100.0 "
	"(1008/1008)\n"
	"- udp, 1 flow(s), A: 310.0 (1008/1008), 400.0 (1008/1008), INVALID "
	"(5/8)\n"
	"- udp, 1 flow(s), B: 300.0 (1008/1008), 400.0 (1008/1008), 500.0 "
	"(1008/1008)\n"
	"- udp, 1 flow(s), X: 80.0 (1008/1008), 100.0 (1008/1008), 90.0 "
	"(1008/1008)\n"
	"- tcp, 1000 flow(s), B: 600.0 (9000/9000)\n"
	"\n";

static const char fwd_targets_ok[] =
	"| target | measured | met? |\n"
	"|---|---|---|\n"
	"| router forwarding UDP (live frames), fast path vs nftables DNAT >= "
	"2.5x, 1 flow(s) | 3.000x (medians 100.0 vs 400.0 ns/packet) | yes "
	"|\n"
	"| router forwarding UDP (live frames), fast path vs blind XDP "
	"redirect >= 0.8x, 1 flow(s) | 0.800x (medians 100.0 vs 90.0 "
	"ns/packet) | yes |\n"
	"| router forwarding TCP (live frames), fast path vs nftables DNAT >= "
	"1.5x, 1000 flow(s) | not measured: no --lan option | not measured "
	"|\n";

static void test_fwd_exact(void **state)
{
	char *out, *err, *md;

	(void)state;
	write_file("fwd.tsv", fwd_ok);
	assert_int_equal(
		run(&out, &err, "summary", "--fwd", path_of("fwd.tsv"), NULL),
		0);
	assert_string_equal(err, "");
	assert_int_equal(strncmp(out, fwd_table_ok, strlen(fwd_table_ok)), 0);
	assert_string_equal(out + strlen(fwd_table_ok), fwd_targets_ok);
	free(out);
	free(err);

	/* In the report: its section, the method after the table. */
	write_file("fwd_method.md", "FWD METHOD\n");
	unlink(path_of("results.md"));
	assert_int_equal(run(&out, &err, "report", "--fwd", path_of("fwd.tsv"),
			     "--fwd-method", path_of("fwd_method.md"), "--out",
			     path_of("results.md"), NULL),
			 0);
	assert_string_equal(err, "");
	md = read_file(path_of("results.md"));
	assert_non_null(md);
	assert_non_null(strstr(md, fwd_targets_ok));
	assert_non_null(strstr(md, "\n### Router forwarding cost, live "
				   "frames (ns per packet at wan0, no "
				   "generators)\n\n"));
	assert_non_null(strstr(md, fwd_table_ok));
	assert_non_null(strstr(md, "\nFWD METHOD\n\nPlot: results.png. Raw "
				   "figures: paths.tsv, e2e.tsv, fwd.tsv.\n"));
	free(md);
	free(out);
	free(err);
}

/* A forwarding target whose runs include an invalid one is INVALID, not
 * met; one below the target is NO. */
static void test_fwd_met(void **state)
{
	char *out, *err;

	(void)state;
	write_file("fwd2.tsv", "udp\t1\tF\t1\t100\t20000\t1\t100\t100\t100\n"
			       "udp\t1\tB\t1\t100\t30000\t1\t100\t100\t-\n"
			       "tcp\t1\tF\t1\t100\t20000\t1\t100\t100\t100\n"
			       "tcp\t1\tB\t1\t100\t90000\t1\t100\t100\t-\n"
			       "tcp\t1\tF\t2\t100\t20000\t0\t100\t10\t0\n");
	assert_int_equal(
		run(&out, &err, "summary", "--fwd", path_of("fwd2.tsv"), NULL),
		0);
	assert_non_null(strstr(out, "fast path vs nftables DNAT >= 2.5x, 1 "
				    "flow(s) | 1.500x (medians 200.0 vs "
				    "300.0 ns/packet) | NO |\n"));
	assert_non_null(strstr(out, "TCP (live frames), fast path vs nftables "
				    "DNAT >= 1.5x, 1 flow(s) | 4.500x "
				    "(medians 200.0 vs 900.0 ns/packet) | "
				    "INVALID |\n"));
	free(out);
	free(err);
}

static void test_fwd_bad_input(void **state)
{
	(void)state;
	check_bad("--fwd", "udp\t1\tF\t1\t100\t20000\t1\t100\t100\n",
		  "1: 9 fields, expected 10");
	check_bad("--fwd", "udp\t1\tC\t1\t100\t20000\t1\t100\t100\t-\n",
		  "1: unknown phase 'C'");
	check_bad("--fwd", "udp\t1\tF\t1\t0\t20000\t1\t100\t100\t-\n",
		  "1: a valid sample needs packets > 0 and kernel_ns");
	check_bad("--fwd", "udp\t1\tF\t1\t100\t-\t1\t100\t100\t-\n",
		  "1: a valid sample needs packets > 0 and kernel_ns");
	check_bad("--fwd", "udp\t1\tF\t1\t100\t20000\t1\t-\t100\t-\n",
		  "1: packets, kernel_ns, injected, sink_pkts, path_pkts: "
		  "an integer >= 0 each (kernel_ns, sink_pkts, path_pkts "
		  "may be '-')");
	check_bad("--fwd", "udp\t1\tF\t1\t100\t1.5\t1\t100\t100\t-\n",
		  "1: packets, kernel_ns, injected, sink_pkts, path_pkts: "
		  "an integer >= 0 each (kernel_ns, sink_pkts, path_pkts "
		  "may be '-')");
	check_bad("--fwd", "udp\t1\tF\t1\t100\t20000\t2\t100\t100\t-\n",
		  "1: valid '2' is not 0 or 1");
	check_bad("--fwd",
		  "udp\t1\tF\t1\t100\t20000\t1\t100\t100\t-\n"
		  "udp\t1\tF\t1\t100\t20000\t1\t100\t100\t-\n",
		  "2: a second sample of udp, 1 flows, phase F, round 1");
	check_bad("--fwd", "skip\tF\n", "1: a skip record has 3 fields, not 2");
}

/* LAN -> WAN: its own table (phases F, L, A, B; ratios F/B, L/B, A/B,
 * L/F), its own section in the report; X is no phase of it. */
static void test_fwd_up(void **state)
{
	char *out, *err, *md;
	static const char up_table[] =
		"| test | flows | F: fast path, LAN program in TC | L: fast "
		"path, LAN program in XDP | A: slow path (TC egress SNAT) | B: "
		"nftables DNAT (replies) | F/B | L/B | A/B | L/F |\n"
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
		"| UDP ns/packet | 1 | 800.0 | 300.0 | 1000.0 | 1200.0 | "
		"1.500x "
		"(1 pairs) | 4.000x (1 pairs) | 1.200x (1 pairs) | 2.667x (1 "
		"pairs) |\n"
		"| TCP ns/packet | 1 | - | skipped | - | 1200.0 | - | - | - | "
		"- "
		"|\n"
		"\n"
		"Ratios are speed-ups, paired per round: F/B is B's ns per "
		"packet over F's, L/B, A/B and L/F likewise.\n"
		"\n"
		"Phase L not measured: no XDP\n";

	(void)state;
	write_file("up.tsv", "udp\t1\tF\t1\t10\t8000\t1\t10\t10\t10\n"
			     "udp\t1\tL\t1\t10\t3000\t1\t10\t10\t10\n"
			     "udp\t1\tA\t1\t10\t10000\t1\t10\t10\t10\n"
			     "udp\t1\tB\t1\t10\t12000\t1\t10\t10\t-\n"
			     "tcp\t1\tB\t1\t10\t12000\t1\t10\t10\t-\n"
			     "skip\tL\tno XDP\n");
	write_file("fwd.tsv", fwd_ok);
	assert_int_equal(
		run(&out, &err, "summary", "--fwd-up", path_of("up.tsv"), NULL),
		0);
	assert_string_equal(err, "");
	assert_int_equal(strncmp(out, up_table, strlen(up_table)), 0);
	free(out);
	free(err);
	unlink(path_of("results.md"));
	assert_int_equal(run(&out, &err, "report", "--fwd", path_of("fwd.tsv"),
			     "--fwd-up", path_of("up.tsv"), "--out",
			     path_of("results.md"), NULL),
			 0);
	md = read_file(path_of("results.md"));
	assert_non_null(md);
	assert_non_null(strstr(md, "\n### Router forwarding cost, live "
				   "frames, LAN -> WAN (the owner's packets, "
				   "ns per packet at lan0)\n\n"));
	assert_non_null(strstr(md, up_table));
	assert_non_null(strstr(md, fwd_table_ok));
	assert_non_null(strstr(md, "Raw figures: paths.tsv, e2e.tsv, "
				   "fwd.tsv, fwdup.tsv.\n"));
	free(md);
	free(out);
	free(err);

	write_file("badup.tsv", "udp\t1\tX\t1\t10\t8000\t1\t10\t10\t10\n");
	assert_int_equal(run(&out, &err, "summary", "--fwd-up",
			     path_of("badup.tsv"), NULL),
			 2);
	assert_non_null(strstr(err, "badup.tsv:1: unknown phase 'X'\n"));
	free(out);
	free(err);
	/* ... and L none of WAN -> LAN. */
	write_file("badup.tsv", "skip\tL\tno --lan option\n");
	assert_int_equal(
		run(&out, &err, "summary", "--fwd", path_of("badup.tsv"), NULL),
		2);
	assert_non_null(strstr(err, "badup.tsv:1: unknown phase 'L'\n"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_summary_exact),
		cmocka_unit_test(test_report_and_plot),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_paths_and_usage),
		cmocka_unit_test(test_fwd_exact),
		cmocka_unit_test(test_fwd_met),
		cmocka_unit_test(test_fwd_bad_input),
		cmocka_unit_test(test_fwd_up),
	};
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	else
		wait(NULL);
	return rc;
}
