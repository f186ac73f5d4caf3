// SPDX-License-Identifier: GPL-2.0
/*
 * benchstat: the statistics and the report of `make bench`. tools/bench.sh
 * runs the measurements and records raw samples; this program turns them
 * into medians and paired ratios, the markdown tables and the gnuplot data.
 *
 *   benchstat report [--machine F] [--paths F] [--paths-md F] [--e2e F]
 *                    [--method F] [--fwd F] [--fwd-up F] [--fwd-method F]
 *                    [--plot-dir DIR] --out FILE
 *       writes results.md (machine, targets, per-path tables, end-to-end
 *       table, method, router forwarding table, its method) to FILE and,
 *       with --plot-dir, the plot data files
 *       plot_r1.dat, plot_rN.dat, plot_udp.dat, plot_udp_runs.dat,
 *       plot_tcp.dat, plot_tcp_runs.dat into DIR.
 *   benchstat summary [--paths F] [--e2e F] [--fwd F] [--fwd-up F]
 *       prints the end-to-end table, the router forwarding table and the
 *       targets table.
 *
 * Inputs (tab-separated; lines starting with '#' are comments):
 *   --e2e   one end-to-end sample per line, 10 fields:
 *             proto flows phase round value valid sender_pps rx_pkts
 *             lost_est sender_cpu_ns
 *           proto udp|tcp; flows >= 1; phase A (ptrig slow path), B (nft
 *           DNAT, ptrig attached), C (nft DNAT, no XDP), F (ptrig fast
 *           path) or X (blind XDP redirect: the lab's ceiling); round >= 1;
 *           value packets/s (udp) or bits/s (tcp) >= 0; valid 0|1; the last
 *           four an integer >= 0 or "-". Or a skipped phase, 3 fields:
 *             skip PHASE REASON
 *   --fwd   one router forwarding sample (live frames) per line, 10
 *           fields:
 *             proto flows phase round packets kernel_ns valid injected
 *             sink_pkts path_pkts
 *           phase F, A, B or X; packets >= 0 (the timed ones; > 0 when
 *           valid); kernel_ns their time (an integer >= 0, "-" only when
 *           not valid); injected >= 0 (warm-up included); sink_pkts and
 *           path_pkts an integer >= 0 or "-". Or a skip record as in --e2e.
 *   --fwd-up the same for LAN -> WAN, phases F (fast path, LAN program in
 *           TC), L (fast path, LAN program in XDP), A (slow path), B
 *           (nftables DNAT's replies).
 *   --paths bench_paths' TSV (13 fields: table name path variant mode ns
 *           min max ref ref_ns ratio target met).
 *   --machine, --paths-md, --method: text copied into the report.
 *
 * Bad input: "FILE:LINE: reason" on stderr, exit 2, nothing written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BS_MAX_SAMPLES 4096
#define BS_MAX_SKIPS 16
#define BS_MAX_ROWS 512
#define BS_MAX_FIELDS 16
#define BS_MAX_ROUND 1000
#define BS_MAX_FLOWS 1000000
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Where errors and the summary go (the unit tests capture them). */
static FILE *bs_err, *bs_out;

/* One run: end to end (value: packets/s or bits/s, cpu) or router
 * forwarding (value: ns per packet, injected, sink). */
struct sample {
	char proto[4];
	int flows;
	char phase;
	int round;
	double value;
	bool valid;
	double cpu;	       /* sender CPU ns per packet, 0 if unknown */
	double injected, sink; /* sink -1: not recorded */
};

struct skip {
	char phase;
	char reason[160];
};

/* The samples of one measurement: end to end, or router forwarding in one
 * direction. */
struct sampleset {
	struct sample s[BS_MAX_SAMPLES];
	int ns;
	struct skip sk[BS_MAX_SKIPS];
	int nsk;
	bool have;
};

struct prow {
	char table[16], name[48], path[48], variant[128], mode[8];
	double ns, min, max;
	char ref[48];
	double ref_ns, ratio, target;
	char met[16];
};

struct data {
	struct sampleset e2e, fw, up; /* fw: WAN -> LAN, up: LAN -> WAN */
	struct prow p[BS_MAX_ROWS];
	int np;
	bool have_paths;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorted in place); -1 when there are none. */
static double bs_median(double *v, int n)
{
	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------ parsing -- */

static int bad(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(bs_err, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(bs_err, fmt, ap);
	va_end(ap);
	fputc('\n', bs_err);
	return -1;
}

/* Splits line at tabs in place; returns the number of fields. */
static int split_tabs(char *line, char **f)
{
	int n = 0;
	char *p = line;

	for (;;) {
		if (n == BS_MAX_FIELDS)
			return n + 1; /* too many: the caller rejects it */
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			return n;
		*p++ = '\0';
	}
}

static bool parse_num(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s || *s == '+' || *s == '-')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* An optional integer column: "-" or an integer >= 0. */
static bool parse_opt(const char *s, double *out)
{
	long v;

	if (strcmp(s, "-") == 0) {
		*out = 0;
		return true;
	}
	if (!parse_int(s, 0, 1000000000000L, &v))
		return false;
	*out = (double)v;
	return true;
}

/* Reads FILE line by line, calling fn on each non-comment line (newline
 * stripped). Returns 0 or -1 (after an error message). */
static int each_line(const char *file, struct data *d,
		     int (*fn)(const char *file, int line, char *text,
			       struct data *d))
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0, rc = 0;

	if (!f) {
		fprintf(bs_err, "%s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&buf, &cap, f)) >= 0) {
		line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (buf[0] == '#')
			continue;
		if (len == 0) {
			rc = bad(file, line, "empty line");
			break;
		}
		if (fn(file, line, buf, d)) {
			rc = -1;
			break;
		}
	}
	free(buf);
	fclose(f);
	return rc;
}

static bool phase_in(const char *s, const char *phases)
{
	return strlen(s) == 1 && strchr(phases, s[0]);
}

/* The part of a sample line that --e2e, --fwd and --fwd-up share: a skip
 * record (into set->sk; *sp gets NULL), or the first four of the 10 fields
 * (protocol, flows, phase, round) into the next free sample *sp, which
 * add_sample() then keeps. */
static int sample_head(const char *file, int line, char **f, int n,
		       struct sampleset *set, const char *phases,
		       struct sample **sp)
{
	struct sample *s;
	long v;

	*sp = NULL;
	if (strcmp(f[0], "skip") == 0) {
		if (n != 3)
			return bad(file, line,
				   "a skip record has 3 fields, not %d", n);
		if (!phase_in(f[1], phases))
			return bad(file, line, "unknown phase '%s'", f[1]);
		if (!*f[2])
			return bad(file, line, "skip of %s without a reason",
				   f[1]);
		if (set->nsk == BS_MAX_SKIPS)
			return bad(file, line, "more than %d skip records",
				   BS_MAX_SKIPS);
		set->sk[set->nsk].phase = f[1][0];
		snprintf(set->sk[set->nsk].reason, sizeof(set->sk[0].reason),
			 "%s", f[2]);
		set->nsk++;
		return 0;
	}
	if (n != 10)
		return bad(file, line, "%d fields, expected 10", n);
	if (set->ns == BS_MAX_SAMPLES)
		return bad(file, line, "more than %d samples", BS_MAX_SAMPLES);
	s = &set->s[set->ns];
	memset(s, 0, sizeof(*s));
	if (strcmp(f[0], "udp") && strcmp(f[0], "tcp"))
		return bad(file, line, "protocol '%s' is not udp or tcp", f[0]);
	snprintf(s->proto, sizeof(s->proto), "%s", f[0]);
	if (!parse_int(f[1], 1, BS_MAX_FLOWS, &v))
		return bad(file, line, "flows '%s' is not an integer 1-%d",
			   f[1], BS_MAX_FLOWS);
	s->flows = (int)v;
	if (!phase_in(f[2], phases))
		return bad(file, line, "unknown phase '%s'", f[2]);
	s->phase = f[2][0];
	if (!parse_int(f[3], 1, BS_MAX_ROUND, &v))
		return bad(file, line, "round '%s' is not an integer 1-%d",
			   f[3], BS_MAX_ROUND);
	s->round = (int)v;
	*sp = s;
	return 0;
}

/* Keeps the sample that sample_head() started, unless it repeats one. */
static int add_sample(const char *file, int line, struct sampleset *set)
{
	const struct sample *s = &set->s[set->ns];
	int i;

	for (i = 0; i < set->ns; i++)
		if (!strcmp(set->s[i].proto, s->proto) &&
		    set->s[i].flows == s->flows &&
		    set->s[i].phase == s->phase && set->s[i].round == s->round)
			return bad(file, line,
				   "a second sample of %s, %d flows, phase "
				   "%c, round %d",
				   s->proto, s->flows, s->phase, s->round);
	set->ns++;
	return 0;
}

static int e2e_line(const char *file, int line, char *text, struct data *d)
{
	char *f[BS_MAX_FIELDS + 1];
	int n = split_tabs(text, f), rc;
	struct sample *s;
	double ign;

	rc = sample_head(file, line, f, n, &d->e2e, "ABCFX", &s);
	if (rc || !s)
		return rc;
	if (!parse_num(f[4], &s->value) || s->value < 0)
		return bad(file, line, "value '%s' is not a number >= 0", f[4]);
	if (strcmp(f[5], "0") && strcmp(f[5], "1"))
		return bad(file, line, "valid '%s' is not 0 or 1", f[5]);
	s->valid = f[5][0] == '1';
	if (!parse_opt(f[6], &ign) || !parse_opt(f[7], &ign) ||
	    !parse_opt(f[8], &ign) || !parse_opt(f[9], &s->cpu))
		return bad(file, line,
			   "sender_pps, rx_pkts, lost_est, cpu: an integer "
			   ">= 0 or '-' each");
	return add_sample(file, line, &d->e2e);
}

static int fwd_parse(const char *file, int line, char *text,
		     struct sampleset *d, const char *phases)
{
	char *f[BS_MAX_FIELDS + 1];
	int n = split_tabs(text, f), rc;
	struct sample *s;
	double pkts, kns, ign;

	rc = sample_head(file, line, f, n, d, phases, &s);
	if (rc || !s)
		return rc;
	if (strcmp(f[6], "0") && strcmp(f[6], "1"))
		return bad(file, line, "valid '%s' is not 0 or 1", f[6]);
	s->valid = f[6][0] == '1';
	if (!parse_opt(f[4], &pkts) || !parse_opt(f[5], &kns) ||
	    !parse_opt(f[7], &s->injected) || !parse_opt(f[8], &s->sink) ||
	    !parse_opt(f[9], &ign) || !strcmp(f[4], "-") || !strcmp(f[7], "-"))
		return bad(
			file, line,
			"packets, kernel_ns, injected, sink_pkts, path_pkts: "
			"an integer >= 0 each (kernel_ns, sink_pkts, "
			"path_pkts may be '-')");
	if (!strcmp(f[8], "-"))
		s->sink = -1;
	if (s->valid && (pkts <= 0 || !strcmp(f[5], "-")))
		return bad(file, line,
			   "a valid sample needs packets > 0 and kernel_ns");
	s->value = pkts > 0 ? kns / pkts : 0;
	return add_sample(file, line, d);
}

static int fwd_line(const char *file, int line, char *text, struct data *d)
{
	return fwd_parse(file, line, text, &d->fw, "ABFX");
}

static int fwd_up_line(const char *file, int line, char *text, struct data *d)
{
	return fwd_parse(file, line, text, &d->up, "ABFL");
}

static int paths_line(const char *file, int line, char *text, struct data *d)
{
	char *f[BS_MAX_FIELDS + 1];
	int n = split_tabs(text, f), i;
	struct prow *r;

	if (n != 13)
		return bad(file, line, "%d fields, expected 13", n);
	if (d->np == BS_MAX_ROWS)
		return bad(file, line, "more than %d rows", BS_MAX_ROWS);
	r = &d->p[d->np];
	memset(r, 0, sizeof(*r));
	snprintf(r->table, sizeof(r->table), "%s", f[0]);
	snprintf(r->name, sizeof(r->name), "%s", f[1]);
	snprintf(r->path, sizeof(r->path), "%s", f[2]);
	snprintf(r->variant, sizeof(r->variant), "%s", f[3]);
	snprintf(r->mode, sizeof(r->mode), "%s", f[4]);
	snprintf(r->ref, sizeof(r->ref), "%s", f[8]);
	snprintf(r->met, sizeof(r->met), "%s", f[12]);
	if (!*r->table || !*r->name)
		return bad(file, line, "empty table or name");
	if (!parse_num(f[5], &r->ns) || !parse_num(f[6], &r->min) ||
	    !parse_num(f[7], &r->max) || !parse_num(f[9], &r->ref_ns) ||
	    !parse_num(f[10], &r->ratio) || !parse_num(f[11], &r->target))
		return bad(file, line,
			   "ns, min, max, ref_ns, ratio, target must be "
			   "numbers");
	if (r->ns < 0 || r->ratio < 0)
		return bad(file, line, "negative ns or ratio");
	if (strcmp(r->met, "yes") && strcmp(r->met, "NO") &&
	    strcmp(r->met, "INVALID") && strcmp(r->met, "-"))
		return bad(file, line, "met '%s' is not yes, NO, INVALID or -",
			   r->met);
	for (i = 0; i < d->np; i++)
		if (!strcmp(d->p[i].table, r->table) &&
		    !strcmp(d->p[i].name, r->name))
			return bad(file, line, "a second row %s:%s", r->table,
				   r->name);
	d->np++;
	return 0;
}

/* --------------------------------------------------------- statistics -- */

#define NO_FLOWS 0

static const struct skip *skipped(const struct sampleset *d, char phase)
{
	int i;

	for (i = 0; i < d->nsk; i++)
		if (d->sk[i].phase == phase)
			return &d->sk[i];
	return NULL;
}

/* The run of (proto, flows, phase, round): a valid one, or with any, also
 * an invalid one. NULL if none. */
static const struct sample *find_run(const struct sampleset *d,
				     const char *proto, int flows, char phase,
				     int round, bool any)
{
	int i;

	for (i = 0; i < d->ns; i++) {
		const struct sample *s = &d->s[i];

		if ((any || s->valid) && s->phase == phase &&
		    s->flows == flows && s->round == round &&
		    !strcmp(s->proto, proto))
			return s;
	}
	return NULL;
}

static const struct sample *find(const struct sampleset *d, const char *proto,
				 int flows, char phase, int round)
{
	return find_run(d, proto, flows, phase, round, false);
}

static int max_round(const struct sampleset *d)
{
	int i, m = 0;

	for (i = 0; i < d->ns; i++)
		if (d->s[i].round > m)
			m = d->s[i].round;
	return m;
}

/* Median of the valid samples of (proto, flows, phase); cpu: the sender's
 * CPU ns per packet instead of the value. -1 if none. */
static double phase_med(const struct sampleset *d, const char *proto, int flows,
			char phase, bool cpu)
{
	double v[BS_MAX_ROUND];
	int r, n = 0, mr = max_round(d);
	const struct sample *s;

	for (r = 1; r <= mr; r++) {
		s = find(d, proto, flows, phase, r);
		if (s && (!cpu || s->cpu > 0))
			v[n++] = cpu ? s->cpu : s->value;
	}
	return bs_median(v, n);
}

/* The median over rounds of x/y, for the rounds where both phases have a
 * valid sample (they ran back to back: slow drifts of the load cancel out
 * of each pair); *pairs gets their number. -1 if none. */
static double pair_ratio(const struct sampleset *d, const char *proto,
			 int flows, char x, char y, bool cpu, int *pairs)
{
	double v[BS_MAX_ROUND];
	int r, n = 0, mr = max_round(d);
	const struct sample *a, *b;

	for (r = 1; r <= mr; r++) {
		a = find(d, proto, flows, x, r);
		b = find(d, proto, flows, y, r);
		if (!a || !b)
			continue;
		if (cpu ? a->cpu > 0 && b->cpu > 0 : b->value > 0)
			v[n++] = cpu ? a->cpu / b->cpu : a->value / b->value;
	}
	if (pairs)
		*pairs = n;
	return bs_median(v, n);
}

static int invalid_runs(const struct sampleset *d, const char *proto, int flows,
			char phase)
{
	int i, n = 0;

	for (i = 0; i < d->ns; i++)
		if (!d->s[i].valid && d->s[i].phase == phase &&
		    d->s[i].flows == flows && !strcmp(d->s[i].proto, proto))
			n++;
	return n;
}

static bool has_phase(const struct sampleset *d, const char *proto, int flows,
		      char phase)
{
	int i;

	for (i = 0; i < d->ns; i++)
		if (d->s[i].phase == phase && d->s[i].flows == flows &&
		    !strcmp(d->s[i].proto, proto))
			return true;
	return false;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static bool has_any(const struct sampleset *d, const char *proto, int flows)
{
	int i;

	for (i = 0; i < d->ns; i++)
		if (d->s[i].flows == flows && !strcmp(d->s[i].proto, proto))
			return true;
	return false;
}

/* The distinct flow counts, ascending. */
static int flow_counts(const struct sampleset *d, int *out, int max)
{
	int i, j, n = 0;

	for (i = 0; i < d->ns; i++) {
		for (j = 0; j < n && out[j] != d->s[i].flows; j++)
			;
		if (j == n && n < max)
			out[n++] = d->s[i].flows;
	}
	qsort(out, (size_t)n, sizeof(int), cmp_int);
	return n;
}

static bool phase_skipped(const struct sampleset *d, const char *proto,
			  int flows, char phase)
{
	return !has_phase(d, proto, flows, phase) && skipped(d, phase);
}

/* -------------------------------------------------------------- output -- */

#define CELL 64

static void fmt_value(char *b, const char *proto, double x)
{
	if (x < 0)
		snprintf(b, CELL, "-");
	else if (!strcmp(proto, "udp"))
		snprintf(b, CELL, "%.0f pps", x);
	else
		snprintf(b, CELL, "%.1f Mbit/s", x / 1e6);
}

/* pairs < 0: without the number of pairs. */
static void fmt_ratio(char *b, double r, int pairs)
{
	if (r < 0)
		snprintf(b, CELL, "-");
	else if (pairs >= 0)
		snprintf(b, CELL, "%.3fx (%d pairs)", r, pairs);
	else
		snprintf(b, CELL, "%.3fx", r);
}

/* The paired ratio x/y of (p, flows), with its number of pairs. */
static void fmt_pair(char *b, const struct sampleset *d, const char *p,
		     int flows, char x, char y, bool cpu, bool with_pairs)
{
	int n;
	double r = pair_ratio(d, p, flows, x, y, cpu, &n);

	fmt_ratio(b, r, with_pairs ? n : -1);
}

/* A phase's median for a table cell: the value, "skipped" or "-". */
static void cell(char *b, const struct sampleset *d, const char *proto,
		 int flows, char phase)
{
	if (phase_skipped(d, proto, flows, phase))
		snprintf(b, CELL, "skipped");
	else
		fmt_value(b, proto, phase_med(d, proto, flows, phase, false));
}

/* The met column of a target: the paired ratio of x and y >= target. */
static const char *target_met(const struct sampleset *d, const char *proto,
			      int flows, char x, char y, double ratio,
			      double target)
{
	if (phase_skipped(d, proto, flows, x) ||
	    phase_skipped(d, proto, flows, y))
		return "not measured";
	if (invalid_runs(d, proto, flows, x) ||
	    invalid_runs(d, proto, flows, y) || ratio < 0)
		return "INVALID";
	return ratio >= target ? "yes" : "NO";
}

static const char *const protos[] = {"udp", "tcp"};

static void print_skips(FILE *o, const struct sampleset *d)
{
	int i;

	for (i = 0; i < d->nsk; i++)
		fprintf(o, "\nPhase %c not measured: %s\n", d->sk[i].phase,
			d->sk[i].reason);
}

static void e2e_runs(FILE *o, const struct sampleset *d, const int *fl, int nf)
{
	static const char phases[] = "FABXC";
	int k, i, j, r, mr = max_round(d);

	fprintf(o, "\nRuns in round order (valid only; UDP pps, TCP Mbit/s, "
		   "sender CPU ns per UDP packet):\n");
	for (k = 0; k < 3; k++) {
		for (i = 0; i < nf; i++) {
			for (j = 0; phases[j]; j++) {
				bool first = true;

				for (r = 1; r <= mr; r++) {
					const struct sample *s =
						find(d, protos[k == 1], fl[i],
						     phases[j], r);
					double v;

					if (!s || (k == 2 && s->cpu <= 0))
						continue;
					v = k == 0   ? s->value
					    : k == 1 ? s->value / 1e6
						     : s->cpu;
					if (first)
						fprintf(o,
							"- %s, %d flow(s), %c:",
							k == 2 ? "udp sender "
								 "CPU ns/pkt"
							       : protos[k],
							fl[i], phases[j]);
					fprintf(o, "%s %.0f", first ? "" : ",",
						v);
					first = false;
				}
				if (!first)
					fputc('\n', o);
			}
		}
	}
}

static void e2e_table(FILE *o, const struct sampleset *d)
{
	int fl[16], nf = flow_counts(d, fl, 16), i, k;
	char c[5][CELL], r[4][CELL];

	fprintf(o, "| test | flows | F: ptrig fast path | A: ptrig slow path "
		   "| B: nftables DNAT | X: blind XDP redirect (ceiling) | "
		   "F/B (paired) | F/X (paired) | A/B (paired) | C: nftables "
		   "DNAT, no XDP | A/C (paired) |\n");
	fprintf(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		   "\n");
	for (k = 0; k < 2; k++) {
		const char *p = protos[k];

		for (i = 0; i < nf; i++) {
			if (!has_any(d, p, fl[i]))
				continue;
			cell(c[0], d, p, fl[i], 'F');
			cell(c[1], d, p, fl[i], 'A');
			cell(c[2], d, p, fl[i], 'B');
			cell(c[3], d, p, fl[i], 'X');
			cell(c[4], d, p, fl[i], 'C');
			fmt_pair(r[0], d, p, fl[i], 'F', 'B', false, true);
			fmt_pair(r[1], d, p, fl[i], 'F', 'X', false, true);
			fmt_pair(r[2], d, p, fl[i], 'A', 'B', false, true);
			fmt_pair(r[3], d, p, fl[i], 'A', 'C', false, false);
			fprintf(o,
				"| %s | %d | %s | %s | %s | %s | %s | %s | %s "
				"| %s | %s |\n",
				k ? "TCP throughput (iperf3)"
				  : "UDP pps at the LAN host (64-byte frames)",
				fl[i], c[0], c[1], c[2], c[3], r[0], r[1], r[2],
				c[4], r[3]);
		}
	}
	for (i = 0; i < nf; i++) {
		double a = phase_med(d, "udp", fl[i], 'A', true);
		double b = phase_med(d, "udp", fl[i], 'B', true);

		if (a <= 0 || b <= 0)
			continue;
		fmt_value(c[0], "udp", -1);
		if (phase_med(d, "udp", fl[i], 'F', true) > 0)
			snprintf(c[0], CELL, "%.0f",
				 phase_med(d, "udp", fl[i], 'F', true));
		fmt_pair(r[0], d, "udp", fl[i], 'A', 'B', true, true);
		fmt_pair(r[1], d, "udp", fl[i], 'F', 'B', true, true);
		fprintf(o,
			"\nUDP sender CPU time per packet (the whole path, ns; "
			"lower is better), %d flow(s): A %.0f, B %.0f, F %s; "
			"A/B %s, F/B %s\n",
			fl[i], a, b, c[0], r[0], r[1]);
	}
	print_skips(o, d);
	e2e_runs(o, d, fl, nf);
}

/* ------------------------------------------- router forwarding cost -- */

/* A phase's median ns per packet for a table cell, with its number of
 * invalid runs. */
static void fwd_cell(char *b, const struct sampleset *d, const char *p,
		     int flows, char phase)
{
	double m = phase_med(d, p, flows, phase, false);
	int inv = invalid_runs(d, p, flows, phase);

	if (phase_skipped(d, p, flows, phase))
		snprintf(b, CELL, "skipped");
	else if (m < 0)
		snprintf(b, CELL, inv ? "INVALID" : "-");
	else if (inv)
		snprintf(b, CELL, "%.1f (%d INVALID)", m, inv);
	else
		snprintf(b, CELL, "%.1f", m);
}

/* up: LAN -> WAN (phases F, L, A, B), else WAN -> LAN (F, A, B, X). */
static void fwd_table(FILE *o, const struct sampleset *d, bool up)
{
	const char *phases = up ? "FLAB" : "FABX";
	/* The four ratios: x over y, pairwise. */
	const char *pairs = up ? "FBLBABLF" : "FBABXBFX";
	int fl[16], nf = flow_counts(d, fl, 16), i, j, k, r, mr = max_round(d);
	char c[4][CELL], q[4][CELL];

	if (up)
		fprintf(o, "| test | flows | F: fast path, LAN program in TC "
			   "| L: fast path, LAN program in XDP | A: slow "
			   "path (TC egress SNAT) | B: nftables DNAT "
			   "(replies) | F/B | L/B | A/B | L/F |\n");
	else
		fprintf(o, "| test | flows | F: ptrig fast path | A: ptrig "
			   "slow path | B: nftables DNAT | X: blind XDP "
			   "redirect | F/B | A/B | X/B | F/X |\n");
	fprintf(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < 2; k++) {
		for (i = 0; i < nf; i++) {
			for (j = 0; j < 4; j++)
				if (has_phase(d, protos[k], fl[i], phases[j]))
					break;
			if (j == 4)
				continue;
			for (j = 0; j < 4; j++)
				fwd_cell(c[j], d, protos[k], fl[i], phases[j]);
			for (j = 0; j < 4; j++)
				fmt_pair(q[j], d, protos[k], fl[i],
					 pairs[2 * j + 1], pairs[2 * j], false,
					 true);
			fprintf(o,
				"| %s ns/packet | %d | %s | %s | %s | %s | %s "
				"| "
				"%s | %s | %s |\n",
				k ? "TCP" : "UDP", fl[i], c[0], c[1], c[2],
				c[3], q[0], q[1], q[2], q[3]);
		}
	}
	if (up)
		fprintf(o, "\nRatios are speed-ups, paired per round: F/B is "
			   "B's ns per packet over F's, L/B, A/B and L/F "
			   "likewise.\n");
	else
		fprintf(o,
			"\nRatios are speed-ups, paired per round: F/B is B's "
			"ns per packet over F's (how many times\nmore packets "
			"the router forwards in F for the same CPU time), X/B "
			"and A/B likewise, F/X is\nX's over F's (1.0: as fast "
			"as the blind redirect).\n");
	print_skips(o, d);
	fprintf(o, "\nRuns in round order (ns/packet; frames the sink counted "
		   "/ frames injected):\n");
	for (k = 0; k < 2; k++) {
		for (i = 0; i < nf; i++) {
			for (j = 0; j < 4; j++) {
				bool first = true;

				for (r = 1; r <= mr; r++) {
					const struct sample *s =
						find_run(d, protos[k], fl[i],
							 phases[j], r, true);

					if (!s)
						continue;
					if (first)
						fprintf(o,
							"- %s, %d flow(s), %c:",
							protos[k], fl[i],
							phases[j]);
					fprintf(o, "%s ", first ? "" : ",");
					if (s->valid)
						fprintf(o, "%.1f", s->value);
					else
						fprintf(o, "INVALID");
					if (s->sink >= 0)
						fprintf(o, " (%.0f/%.0f)",
							s->sink, s->injected);
					first = false;
				}
				if (!first)
					fputc('\n', o);
			}
		}
	}
}

/* Target "x is target times faster than y" of the forwarding cost. */

static const struct prow *prow_find(const struct data *d, const char *table,
				    const char *name)
{
	int i;

	for (i = 0; i < d->np; i++)
		if (!strcmp(d->p[i].table, table) &&
		    !strcmp(d->p[i].name, name))
			return &d->p[i];
	return NULL;
}

static void target_line(FILE *o, const struct data *d, const char *what,
			const char *table, const char *name)
{
	const struct prow *r = prow_find(d, table, name);

	if (r)
		fprintf(o, "| %s | %.2fx (%.1f vs %.1f ns) | %s |\n", what,
			r->ratio, r->ns, r->ref_ns, r->met);
}

static bool ends_with_tag(const char *name, char tag)
{
	size_t n = strlen(name);

	return n >= 2 && name[n - 2] == '_' && name[n - 1] == tag;
}

/* The worst ratio among the scale rows of instance tag (R or F): the
 * cycling variants, or the others. */
static void worst_line(FILE *o, const struct data *d, const char *what,
		       char tag, bool cycle)
{
	const struct prow *w = NULL;
	int i, n = 0, ok = 0, inv = 0;

	for (i = 0; i < d->np; i++) {
		const struct prow *r = &d->p[i];

		if (strcmp(r->table, "scale") || !ends_with_tag(r->name, tag) ||
		    (strstr(r->name, "cycle") != NULL) != cycle)
			continue;
		n++;
		ok += !strcmp(r->met, "yes");
		inv += !strcmp(r->met, "INVALID");
		if (!w || r->ratio > w->ratio)
			w = r;
	}
	if (!n)
		return;
	fprintf(o,
		"| %s | %d of %d rows within 1.1x; worst %.2fx (%s, %s %s) | "
		"%s |\n",
		what, ok, n, w->ratio, w->path, w->variant, w->mode,
		inv	  ? "INVALID"
		: ok == n ? "yes"
			  : "NO");
}

/* A target "what": x/y >= min for proto (end to end), or x min times
 * faster than y (router forwarding). */
struct target {
	const char *proto;
	char x, y;
	double min;
	const char *what;
};

static const struct target e2e_targets[] = {
	{"udp", 'F', 'B', 2.5,
	 "end to end UDP pps, fast path vs nftables DNAT"},
	{"tcp", 'F', 'B', 1.5,
	 "end to end TCP throughput, fast path vs nftables DNAT"},
	{"udp", 'F', 'X', 0.8,
	 "end to end UDP pps, fast path vs blind XDP redirect"},
	{"udp", 'A', 'B', 1.0,
	 "end to end UDP pps, slow path (fast path off) vs nftables DNAT"},
	{"tcp", 'A', 'B', 1.0,
	 "end to end TCP throughput, slow path (fast path off) vs nftables "
	 "DNAT"},
};

static const struct target fwd_targets[] = {
	{"udp", 'F', 'B', 2.5,
	 "router forwarding UDP (live frames), fast path vs nftables DNAT"},
	{"tcp", 'F', 'B', 1.5,
	 "router forwarding TCP (live frames), fast path vs nftables DNAT"},
	{"udp", 'F', 'X', 0.8,
	 "router forwarding UDP (live frames), fast path vs blind XDP "
	 "redirect"},
	{"tcp", 'F', 'X', 0.8,
	 "router forwarding TCP (live frames), fast path vs blind XDP "
	 "redirect"},
};

/* One row of the targets table; measured: the figures or why not. */
static void target_row(FILE *o, const struct target *t, int flows,
		       const char *measured, const char *met)
{
	fprintf(o, "| %s >= %.1fx, %d flow(s) | %s | %s |\n", t->what, t->min,
		flows, measured, met);
}

static void not_measured(FILE *o, const struct sampleset *d,
			 const struct target *t, int flows)
{
	char m[256];

	snprintf(m, sizeof(m), "not measured: %s", skipped(d, t->x)->reason);
	target_row(o, t, flows, m, "not measured");
}

/* An end-to-end target, if phase y ran or was skipped. */
static void e2e_target(FILE *o, const struct sampleset *d, int flows,
		       const struct target *t)
{
	char a[CELL], b[CELL], r[CELL], m[4 * CELL];
	double ratio;

	if (!has_phase(d, t->proto, flows, t->y) &&
	    !phase_skipped(d, t->proto, flows, t->y))
		return;
	if (phase_skipped(d, t->proto, flows, t->x)) {
		not_measured(o, d, t, flows);
		return;
	}
	ratio = pair_ratio(d, t->proto, flows, t->x, t->y, false, NULL);
	fmt_ratio(r, ratio, -1);
	fmt_value(a, t->proto, phase_med(d, t->proto, flows, t->x, false));
	fmt_value(b, t->proto, phase_med(d, t->proto, flows, t->y, false));
	snprintf(m, sizeof(m), "%s (medians %s vs %s)", r, a, b);
	target_row(o, t, flows, m,
		   target_met(d, t->proto, flows, t->x, t->y, ratio, t->min));
}

/* A router forwarding target, if phase y ran: the speed-up of x over y,
 * y's ns per packet over x's. */
static void fwd_target(FILE *o, const struct sampleset *d, int flows,
		       const struct target *t)
{
	char r[CELL], m[4 * CELL];
	double ratio;

	if (!has_phase(d, t->proto, flows, t->y))
		return;
	if (!has_phase(d, t->proto, flows, t->x)) {
		if (skipped(d, t->x))
			not_measured(o, d, t, flows);
		return;
	}
	ratio = pair_ratio(d, t->proto, flows, t->y, t->x, false, NULL);
	fmt_ratio(r, ratio, -1);
	snprintf(m, sizeof(m), "%s (medians %.1f vs %.1f ns/packet)", r,
		 phase_med(d, t->proto, flows, t->x, false),
		 phase_med(d, t->proto, flows, t->y, false));
	target_row(o, t, flows, m,
		   target_met(d, t->proto, flows, t->x, t->y, ratio, t->min));
}

static void targets_table(FILE *o, const struct data *d)
{
	int fl[16], nf = flow_counts(&d->e2e, fl, 16), i;
	size_t k;

	fprintf(o, "| target | measured | met? |\n|---|---|---|\n");
	if (d->have_paths) {
		target_line(o, d,
			    "XDP hit <= 1.3x reference DNAT (parse, one LRU "
			    "lookup, rewrite): hot flow, repeat=1",
			    "dnat", "xdp_hit_hot_S");
		target_line(o, d,
			    "XDP hit <= 1.3x reference DNAT: warm, repeat=N "
			    "(idempotent fixtures)",
			    "dnat", "xdp_hit_fix_rN_S");
		target_line(o, d,
			    "XDP hit <= 1.3x reference DNAT: cycling 1,000 "
			    "flows, repeat=1",
			    "dnat", "xdp_hit_cycle_S");
		target_line(o, d,
			    "(old) XDP hit <= 2.0x parse-only: hot flow, "
			    "repeat=1 loops",
			    "base", "xdp_hit_hot_S");
		target_line(o, d,
			    "(old) XDP hit <= 2.0x parse-only: warm, repeat=N "
			    "(idempotent fixture)",
			    "base", "xdp_hit_fix_rN_S");
		target_line(o, d,
			    "(old) XDP hit <= 2.0x parse-only: cycling "
			    "1,000,000 flows (cache-miss), repeat=1",
			    "base", "xdp_hit_cycle_F");
		target_line(o, d, "XDP miss <= 1.2x parse-only: repeat=1 loops",
			    "base", "xdp_miss_r1_S");
		target_line(o, d, "XDP miss <= 1.2x parse-only: repeat=N",
			    "base", "xdp_miss_rN_S");
		worst_line(o, d,
			   "10,000 rules within 1.1x of 10 rules: every path",
			   'R', false);
		worst_line(o, d,
			   "10,000 rules within 1.1x of 10 rules: cycling "
			   "variants",
			   'R', true);
		worst_line(o, d,
			   "1,000,000 flows within 1.1x of 1,000: hot flow and "
			   "flow-independent paths",
			   'F', false);
		worst_line(o, d,
			   "1,000,000 flows within 1.1x of 1,000: cycling "
			   "through all flows (cache-miss)",
			   'F', true);
	}
	for (i = 0; i < nf; i++)
		for (k = 0; k < ARRAY_LEN(e2e_targets); k++)
			e2e_target(o, &d->e2e, fl[i], &e2e_targets[k]);
	nf = flow_counts(&d->fw, fl, 16);
	for (i = 0; i < nf; i++)
		for (k = 0; k < ARRAY_LEN(fwd_targets); k++)
			fwd_target(o, &d->fw, fl[i], &fwd_targets[k]);
}

/* ---------------------------------------------------------- plot data -- */

struct plot_path {
	const char *key, *label;
	bool ref; /* one value for all three instances */
};

static const struct plot_path plot_r1[] = {
	{"xdp_miss_r1", "XDP miss", false},
	{"xdp_hit_hot", "XDP hit (hot)", false},
	{"xdp_hit_cycle", "XDP hit (cycling)", false},
	{"xdp_create", "XDP creation", false},
	{"tc_miss_r1", "TC miss", false},
	{"tc_refresh_r1", "TC refresh", false},
	{"tc_reply_hot", "TC reply (hot)", false},
	{"tc_reply_cycle", "TC reply (cycling)", false},
	{"ref_xdp_parse_r1", "ref xdp_parse", true},
	{"ref_xdp_dnat_r1", "ref xdp_dnat", true},
	{"ref_tc_parse_r1", "ref tc_parse", true},
	{NULL, NULL, false},
};

static const struct plot_path plot_rN[] = {
	{"xdp_miss_rN", "XDP miss", false},
	{"xdp_hit_fix_rN", "XDP hit (fixture)", false},
	{"tc_miss_rN", "TC miss", false},
	{"tc_refresh_rN", "TC refresh", false},
	{"tc_reply_fix_rN", "TC reply (fixture)", false},
	{"ref_xdp_pass_rN", "ref xdp_pass", true},
	{"ref_xdp_parse_rN", "ref xdp_parse", true},
	{"ref_xdp_dnat_rN", "ref xdp_dnat", true},
	{"ref_tc_parse_rN", "ref tc_parse", true},
	{NULL, NULL, false},
};

/* ns of a base/scale row by name; "?" (gnuplot: missing) if absent. */
static void plot_val(char *b, const struct data *d, const char *name)
{
	const struct prow *r = prow_find(d, "base", name);

	if (!r)
		r = prow_find(d, "scale", name);
	if (r)
		snprintf(b, CELL, "%.2f", r->ns);
	else
		snprintf(b, CELL, "?");
}

static int write_plot_paths(const char *file, const struct data *d,
			    const struct plot_path *pp)
{
	FILE *f = fopen(file, "w");
	char nm[CELL], v[3][CELL];
	int i, k;

	if (!f) {
		fprintf(bs_err, "%s: %s\n", file, strerror(errno));
		return -1;
	}
	for (i = 0; pp[i].key; i++) {
		for (k = 0; k < 3; k++) {
			if (pp[i].ref)
				snprintf(nm, sizeof(nm), "%s", pp[i].key);
			else
				snprintf(nm, sizeof(nm), "%s_%c", pp[i].key,
					 "SRF"[k]);
			plot_val(v[k], d, nm);
		}
		fprintf(f, "\"%s\" %s %s %s\n", pp[i].label, v[0], v[1], v[2]);
	}
	return fclose(f) ? -1 : 0;
}

/* End to end, per protocol: one box per (flows, phase) that ran (x, label,
 * median) and every valid run as a point (x, value); UDP in kpps, TCP in
 * Mbit/s. */
static int write_plot_e2e(const char *dir, const struct sampleset *d, int k)
{
	static const char phases[] = "FABXC";
	static const char *names[] = {"fast path", "slow path", "nft DNAT",
				      "blind redirect", "nft, no XDP"};
	const char *p = protos[k];
	double scale = k ? 1e6 : 1e3;
	int fl[16], nf = flow_counts(d, fl, 16), i, j, r, x = 0,
		    mr = max_round(d);
	char path[4096];
	FILE *fm, *fr;

	snprintf(path, sizeof(path), "%s/plot_%s.dat", dir, p);
	fm = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/plot_%s_runs.dat", dir, p);
	fr = fopen(path, "w");
	if (!fm || !fr) {
		fprintf(bs_err, "%s: %s\n", path, strerror(errno));
		if (fm)
			fclose(fm);
		if (fr)
			fclose(fr);
		return -1;
	}
	for (i = 0; i < nf; i++) {
		for (j = 0; phases[j]; j++) {
			double m = phase_med(d, p, fl[i], phases[j], false);

			if (m < 0)
				continue;
			fprintf(fm, "%d \"%c: %s, %d flow%s\" %.3f\n", x,
				phases[j], names[j], fl[i],
				fl[i] > 1 ? "s" : "", m / scale);
			for (r = 1; r <= mr; r++) {
				const struct sample *s =
					find(d, p, fl[i], phases[j], r);

				if (s)
					fprintf(fr, "%d %.3f\n", x,
						s->value / scale);
			}
			x++;
		}
	}
	/* gnuplot refuses an empty data file: a placeholder point. */
	if (!x) {
		fprintf(fm, "0 \"none\" 0\n");
		fprintf(fr, "0 0\n");
	}
	return fclose(fm) | fclose(fr) ? -1 : 0;
}

/* ------------------------------------------------------------- report -- */

static int copy_file(FILE *o, const char *file)
{
	FILE *f = fopen(file, "r");
	char buf[8192];
	size_t n;

	if (!f) {
		fprintf(bs_err, "%s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, o);
	fclose(f);
	return 0;
}

static const char reading[] =
	"Reading the per-path figures:\n"
	"- r=1 (repeat=1 loops) times one packet after a syscall: the "
	"program's code and map lines are\n"
	"  mostly cold, as on a lightly loaded box. It includes a fixed "
	"harness part (timer reads; see\n"
	"  \"What costs what\") that the references pay too. Comparing two "
	"ptrig instances at r=1 also\n"
	"  compares where their maps landed in memory: differences of 10-20% "
	"between S and R, whose\n"
	"  lookups touch the same entries, are layout and machine noise, not "
	"rule count (check the r=N\n"
	"  rows of the same path).\n"
	"- r=N (repeat=1,000,000) is the warm, back-to-back cost, as on a busy "
	"box. The hit and reply\n"
	"  paths rewrite the packet, so at r=N they run on an idempotent "
	"fixture: a flow whose owner is\n"
	"  its own external address, for which ptrig skips the "
	"address/checksum rewrite. The reference\n"
	"  DNAT program's fixture entry also maps the packet to itself, but "
	"it still does the checksum\n"
	"  arithmetic. r=N durations are whole nanoseconds (the kernel divides "
	"the total by N), so a\n"
	"  6 ns reference is +-1 ns.\n"
	"- \"cycling\" sends every packet to a different pre-filled flow, in "
	"random order: with 1,000,000\n"
	"  flows each lookup misses the caches and the TLB (the cache-miss "
	"case); \"hot\" repeats one flow.\n"
	"- The reference DNAT program (ref_xdp_dnat) does the least work any "
	"DNAT hit must do: parse\n"
	"  eth/IPv4/TCP-UDP, one LRU hash lookup of a key the size of ptrig's "
	"flow key, rewrite the\n"
	"  destination address and port with incremental IP and L4 "
	"checksums.\n";

struct opts {
	const char *machine, *paths, *paths_md, *e2e, *method, *fwd, *fwd_up,
		*fwd_method, *plot_dir, *out;
};

static int write_report(FILE *o, const struct opts *op, const struct data *d)
{
	fprintf(o,
		"# ptrig benchmark results\n\n"
		"Written by `make bench` (tools/bench.sh, tools/benchstat.c). "
		"Absolute numbers depend on the machine\n"
		"and on what else ran at the same time (see the load below); "
		"the ratios are measured in the same\n"
		"process or the same run, against references, and are the "
		"figures to compare.\n\n");
	if (op->machine) {
		fprintf(o, "```\n");
		if (copy_file(o, op->machine))
			return -1;
		fprintf(o, "```\n\n");
	}
	fprintf(o, "### Targets\n\n");
	targets_table(o, d);
	if (d->have_paths)
		fprintf(o, "\n%s", reading);
	if (op->paths_md) {
		fputc('\n', o);
		if (copy_file(o, op->paths_md))
			return -1;
	}
	if (d->e2e.have) {
		fprintf(o,
			"\n### End to end in the lab (veth, namespaces; wire "
			"emulation: no checksum offload, no GRO/TSO)\n\n");
		e2e_table(o, &d->e2e);
		if (op->method) {
			fputc('\n', o);
			if (copy_file(o, op->method))
				return -1;
		}
	}
	if (d->fw.have) {
		fprintf(o, "\n### Router forwarding cost, live frames (ns per "
			   "packet at wan0, no generators)\n\n");
		fwd_table(o, &d->fw, false);
	}
	if (d->up.have) {
		fprintf(o, "\n### Router forwarding cost, live frames, LAN -> "
			   "WAN (the owner's packets, ns per packet at lan0)"
			   "\n\n");
		fwd_table(o, &d->up, true);
	}
	if ((d->fw.have || d->up.have) && op->fwd_method) {
		fputc('\n', o);
		if (copy_file(o, op->fwd_method))
			return -1;
	}
	fprintf(o,
		"\nPlot: results.png. Raw figures: paths.tsv, e2e.tsv%s%s.\n",
		d->fw.have ? ", fwd.tsv" : "", d->up.have ? ", fwdup.tsv" : "");
	return 0;
}

static int write_plots(const char *dir, const struct data *d)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/plot_r1.dat", dir);
	if (write_plot_paths(path, d, plot_r1))
		return -1;
	snprintf(path, sizeof(path), "%s/plot_rN.dat", dir);
	if (write_plot_paths(path, d, plot_rN))
		return -1;
	return write_plot_e2e(dir, &d->e2e, 0) ||
			       write_plot_e2e(dir, &d->e2e, 1)
		       ? -1
		       : 0;
}

static void usage(void)
{
	fprintf(bs_err, "usage: benchstat report [--machine F] [--paths F] "
			"[--paths-md F] [--e2e F] [--method F]\n"
			"                        [--fwd F] [--fwd-up F] "
			"[--fwd-method F] "
			"[--plot-dir DIR] --out FILE\n"
			"       benchstat summary [--paths F] [--e2e F] [--fwd "
			"F] [--fwd-up F]\n");
}

static int load(const struct opts *op, struct data *d)
{
	if (op->e2e) {
		if (each_line(op->e2e, d, e2e_line))
			return -1;
		d->e2e.have = true;
	}
	if (op->paths) {
		if (each_line(op->paths, d, paths_line))
			return -1;
		d->have_paths = true;
	}
	if (op->fwd) {
		if (each_line(op->fwd, d, fwd_line))
			return -1;
		d->fw.have = true;
	}
	if (op->fwd_up) {
		if (each_line(op->fwd_up, d, fwd_up_line))
			return -1;
		d->up.have = true;
	}
	return 0;
}

/* Exit status: 0, 2 on bad input or usage, 1 when an output cannot be
 * written. */
static int benchstat_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"machine", required_argument, NULL, 'm'},
		{"paths", required_argument, NULL, 'p'},
		{"paths-md", required_argument, NULL, 'P'},
		{"e2e", required_argument, NULL, 'e'},
		{"method", required_argument, NULL, 'M'},
		{"fwd", required_argument, NULL, 'f'},
		{"fwd-method", required_argument, NULL, 'F'},
		{"fwd-up", required_argument, NULL, 'u'},
		{"plot-dir", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{0},
	};
	struct opts op = {0};
	struct data *d;
	const char *cmd;
	char tmp[4096];
	FILE *o;
	int c, rc = 0;

	if (!bs_err)
		bs_err = stderr;
	if (!bs_out)
		bs_out = stdout;
	if (argc < 2) {
		usage();
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "report") && strcmp(cmd, "summary")) {
		fprintf(bs_err, "benchstat: unknown command '%s'\n", cmd);
		usage();
		return 2;
	}
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			op.machine = optarg;
			break;
		case 'p':
			op.paths = optarg;
			break;
		case 'P':
			op.paths_md = optarg;
			break;
		case 'e':
			op.e2e = optarg;
			break;
		case 'M':
			op.method = optarg;
			break;
		case 'f':
			op.fwd = optarg;
			break;
		case 'F':
			op.fwd_method = optarg;
			break;
		case 'u':
			op.fwd_up = optarg;
			break;
		case 'd':
			op.plot_dir = optarg;
			break;
		case 'o':
			op.out = optarg;
			break;
		default:
			fprintf(bs_err, "benchstat: bad option '%s'\n",
				argv[optind - 1]);
			usage();
			return 2;
		}
	}
	if (optind != argc || (!strcmp(cmd, "report") && !op.out)) {
		usage();
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(bs_err, "benchstat: out of memory\n");
		return 1;
	}
	if (load(&op, d)) {
		free(d);
		return 2;
	}
	if (!strcmp(cmd, "summary")) {
		if (d->e2e.have) {
			e2e_table(bs_out, &d->e2e);
			fputc('\n', bs_out);
		}
		if (d->fw.have) {
			fwd_table(bs_out, &d->fw, false);
			fputc('\n', bs_out);
		}
		if (d->up.have) {
			fwd_table(bs_out, &d->up, true);
			fputc('\n', bs_out);
		}
		targets_table(bs_out, d);
		free(d);
		return 0;
	}
	/* The report appears whole or not at all. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", op.out);
	o = fopen(tmp, "w");
	if (!o) {
		fprintf(bs_err, "%s: %s\n", tmp, strerror(errno));
		free(d);
		return 1;
	}
	if (write_report(o, &op, d))
		rc = 2;
	if (fclose(o) && !rc) {
		fprintf(bs_err, "%s: write error\n", tmp);
		rc = 1;
	}
	if (!rc && op.plot_dir && write_plots(op.plot_dir, d))
		rc = 1;
	if (!rc && rename(tmp, op.out)) {
		fprintf(bs_err, "%s: %s\n", op.out, strerror(errno));
		rc = 1;
	}
	if (rc)
		unlink(tmp);
	free(d);
	return rc;
}

#ifndef BENCHSTAT_NO_MAIN
int main(int argc, char **argv)
{
	return benchstat_main(argc, argv);
}
#endif
