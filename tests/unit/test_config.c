// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the ptrig.conf parser (loader/config.c). No root needed. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

#define FNAME "ptrig.conf"

/* fmemopen() needs a non-empty buffer; an empty file is a real one. */
static FILE *open_text(const char *text, size_t len)
{
	FILE *f = len ? fmemopen((void *)text, len, "r") : tmpfile();

	assert_non_null(f);
	return f;
}

static int parse_buf(const char *text, size_t len, struct ptrig_ruleset *rs,
		     char *err, size_t errlen)
{
	FILE *f = open_text(text, len);
	int ret = ptrig_config_parse_stream(f, FNAME, rs, err, errlen);

	fclose(f);
	return ret;
}

static void parse_ok_buf(const char *text, size_t len, struct ptrig_ruleset *rs)
{
	char err[512] = "";

	memset(rs, 0, sizeof(*rs));
	if (parse_buf(text, len, rs, err, sizeof(err)))
		fail_msg("unexpected error: %s", err);
}

static void parse_ok(const char *text, struct ptrig_ruleset *rs)
{
	parse_ok_buf(text, strlen(text), rs);
}

static void expect_err_buf(const char *text, size_t len, const char *want)
{
	struct ptrig_ruleset rs = {0};
	char err[512];

	memset(err, 'x', sizeof(err));
	assert_int_equal(parse_buf(text, len, &rs, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(rs.n, 0);
	assert_null(rs.rules);
}

static void expect_err(const char *text, const char *want)
{
	expect_err_buf(text, strlen(text), want);
}

static const char *fmt(const struct ptrig_port_set *ps)
{
	static char buf[PTRIG_PORT_SET_STRLEN];

	ptrig_port_set_format(ps, buf, sizeof(buf));
	return buf;
}

/* A text buffer that tests append rules to. */
struct text {
	char *s;
	size_t len, cap;
};

static void text_add(struct text *t, const char *f, ...)
	__attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *f, ...)
{
	va_list ap;
	int n;

	if (t->cap - t->len < 256) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, f);
	n = vsnprintf(t->s + t->len, t->cap - t->len, f, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < t->cap - t->len);
	t->len += n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- valid files ---- */

static void test_design_examples(void **state)
{
	struct ptrig_ruleset rs;
	const struct ptrig_rule_spec *r;

	(void)state;
	parse_ok("ftp  tcp:21  tcp:50000-50010  timeout=300\n"
		 "game  udp:27015  udp:27000-27030,4380  peer=trigger\n",
		 &rs);
	assert_int_equal(rs.n, 2);

	r = &rs.rules[0];
	assert_string_equal(r->name, "ftp");
	assert_int_equal(r->line, 1);
	assert_int_equal(r->trigger.proto, PTRIG_PROTO_TCP);
	assert_int_equal(r->trigger.n_ranges, 1);
	assert_int_equal(r->trigger.ranges[0].lo, 21);
	assert_int_equal(r->trigger.ranges[0].hi, 21);
	assert_int_equal(r->open.proto, PTRIG_PROTO_TCP);
	assert_int_equal(r->open.n_ranges, 1);
	assert_int_equal(r->open.ranges[0].lo, 50000);
	assert_int_equal(r->open.ranges[0].hi, 50010);
	assert_int_equal(r->timeout_s, 300);
	assert_int_equal(r->peer_mode, PTRIG_PEER_ANY);
	assert_int_equal(r->flow_timeout_s, 0);

	r = &rs.rules[1];
	assert_string_equal(r->name, "game");
	assert_int_equal(r->line, 2);
	assert_int_equal(r->trigger.proto, PTRIG_PROTO_UDP);
	assert_string_equal(fmt(&r->trigger), "udp:27015");
	assert_int_equal(r->open.proto, PTRIG_PROTO_UDP);
	assert_int_equal(r->open.n_ranges, 2);
	assert_int_equal(r->open.ranges[0].lo, 27000);
	assert_int_equal(r->open.ranges[0].hi, 27030);
	assert_int_equal(r->open.ranges[1].lo, 4380);
	assert_int_equal(r->open.ranges[1].hi, 4380);
	assert_string_equal(fmt(&r->open), "udp:27000-27030,4380");
	assert_int_equal(r->timeout_s, PTRIG_DEFAULT_TRIGGER_TIMEOUT_S);
	assert_int_equal(r->peer_mode, PTRIG_PEER_TRIGGER);

	ptrig_ruleset_free(&rs);
	assert_int_equal(rs.n, 0);
	assert_null(rs.rules);
}

static void test_defaults_and_flow_timeouts(void **state)
{
	struct ptrig_ruleset rs;
	const struct ptrig_rule_spec *r;

	(void)state;
	parse_ok("irc tcp:6660-6669 tcp:113\n"
		 "long tcp:1 tcp:2 flow-timeout=60\n",
		 &rs);
	assert_int_equal(rs.n, 2);
	r = &rs.rules[0];
	assert_int_equal(r->timeout_s, 600);
	assert_int_equal(r->peer_mode, PTRIG_PEER_ANY);
	assert_int_equal(r->flow_timeout_s, 0);
	assert_int_equal(ptrig_rule_tcp_flow_timeout(r), 7440);
	assert_int_equal(ptrig_rule_udp_flow_timeout(r), 300);
	r = &rs.rules[1];
	assert_int_equal(r->flow_timeout_s, 60);
	assert_int_equal(ptrig_rule_tcp_flow_timeout(r), 60);
	assert_int_equal(ptrig_rule_udp_flow_timeout(r), 60);
	ptrig_ruleset_free(&rs);
}

static void test_both_and_ranges(void **state)
{
	struct ptrig_ruleset rs;
	const struct ptrig_rule_spec *r;

	(void)state;
	parse_ok("voip both:5060 both:10000-20000,30000-30010,40000\n"
		 "edge udp:1,65535 tcp:7-7\n",
		 &rs);
	assert_int_equal(rs.n, 2);
	r = &rs.rules[0];
	assert_int_equal(r->trigger.proto, PTRIG_PROTO_BOTH);
	assert_int_equal(r->open.proto, PTRIG_PROTO_BOTH);
	assert_int_equal(r->open.n_ranges, 3);
	assert_string_equal(fmt(&r->trigger), "both:5060");
	assert_string_equal(fmt(&r->open),
			    "both:10000-20000,30000-30010,40000");
	r = &rs.rules[1];
	assert_string_equal(fmt(&r->trigger), "udp:1,65535");
	/* A one-port range is stored and shown as a single port. */
	assert_string_equal(fmt(&r->open), "tcp:7");
	ptrig_ruleset_free(&rs);

	parse_ok("all tcp:1-65535 udp:1-65535\n", &rs);
	r = &rs.rules[0];
	assert_int_equal(r->trigger.ranges[0].lo, 1);
	assert_int_equal(r->trigger.ranges[0].hi, 65535);
	assert_string_equal(fmt(&r->open), "udp:1-65535");
	ptrig_ruleset_free(&rs);
}

static void test_options_any_order(void **state)
{
	struct ptrig_ruleset rs;
	const struct ptrig_rule_spec *r;

	(void)state;
	parse_ok("a tcp:1 tcp:2 flow-timeout=60 peer=trigger timeout=30\n"
		 "b tcp:3 tcp:4 peer=any timeout=86400 flow-timeout=86400\n"
		 "c tcp:5 tcp:6 timeout=1 flow-timeout=1\n"
		 "d tcp:7 tcp:8 peer=trigger\n"
		 "e tcp:9 tcp:10 timeout=0600\n",
		 &rs);
	assert_int_equal(rs.n, 5);
	r = &rs.rules[0];
	assert_int_equal(r->flow_timeout_s, 60);
	assert_int_equal(r->peer_mode, PTRIG_PEER_TRIGGER);
	assert_int_equal(r->timeout_s, 30);
	r = &rs.rules[1];
	assert_int_equal(r->peer_mode, PTRIG_PEER_ANY);
	assert_int_equal(r->timeout_s, 86400);
	assert_int_equal(r->flow_timeout_s, 86400);
	r = &rs.rules[2];
	assert_int_equal(r->timeout_s, 1);
	assert_int_equal(r->flow_timeout_s, 1);
	r = &rs.rules[3];
	assert_int_equal(r->peer_mode, PTRIG_PEER_TRIGGER);
	assert_int_equal(r->timeout_s, 600);
	assert_int_equal(rs.rules[4].timeout_s, 600);
	ptrig_ruleset_free(&rs);
}

static void test_comments_and_blank_lines(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	parse_ok("# ptrig rules\n"
		 "\n"
		 "   \t  \n"
		 "ftp\ttcp:21\t\ttcp:50000-50010 # active FTP\n"
		 "  # indented comment\n"
		 "\t irc   tcp:6660-6669  tcp:113\ttimeout=120   \n"
		 "x tcp:60 tcp:61#comment glued to the field\n"
		 "crlf udp:1000 udp:1001 peer=trigger\r\n"
		 "\n"
		 "last udp:2000 udp:2001", /* no final newline */
		 &rs);
	assert_int_equal(rs.n, 5);
	assert_string_equal(rs.rules[0].name, "ftp");
	assert_int_equal(rs.rules[0].line, 4);
	assert_string_equal(fmt(&rs.rules[0].open), "tcp:50000-50010");
	assert_string_equal(rs.rules[1].name, "irc");
	assert_int_equal(rs.rules[1].line, 6);
	assert_int_equal(rs.rules[1].timeout_s, 120);
	assert_string_equal(rs.rules[2].name, "x");
	assert_int_equal(rs.rules[2].line, 7);
	assert_string_equal(fmt(&rs.rules[2].open), "tcp:61");
	assert_string_equal(rs.rules[3].name, "crlf");
	assert_int_equal(rs.rules[3].line, 8);
	assert_int_equal(rs.rules[3].peer_mode, PTRIG_PEER_TRIGGER);
	assert_string_equal(rs.rules[4].name, "last");
	assert_int_equal(rs.rules[4].line, 10);
	ptrig_ruleset_free(&rs);
}

static void test_empty_files(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	parse_ok("", &rs);
	assert_int_equal(rs.n, 0);
	ptrig_ruleset_free(&rs);

	parse_ok("\n\n  \n", &rs);
	assert_int_equal(rs.n, 0);
	ptrig_ruleset_free(&rs);

	parse_ok("# nothing here\n# at all", &rs);
	assert_int_equal(rs.n, 0);
	ptrig_ruleset_free(&rs);
}

static void test_same_port_other_protocol_ok(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	parse_ok("a tcp:21 tcp:1000-1010\n"
		 "b udp:21 udp:1000-1010\n",
		 &rs);
	assert_int_equal(rs.n, 2);
	ptrig_ruleset_free(&rs);
}

static void test_allowed_port_sharing(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	/* A rule's own trigger and open ports may overlap, and one rule's
	 * trigger port may be another rule's open port. */
	parse_ok("self tcp:21 tcp:21\n"
		 "self2 udp:100-200 udp:150-250\n"
		 "a tcp:22 tcp:23\n"
		 "b tcp:23 tcp:22\n"
		 "adj1 tcp:1000-1999 tcp:3000\n"
		 "adj2 tcp:2000-2999 tcp:3001\n"
		 "adj3 tcp:500,501-510,511 tcp:3002-3010,3011\n",
		 &rs);
	assert_int_equal(rs.n, 7);
	ptrig_ruleset_free(&rs);
}

static void test_names(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	parse_ok("abcdefghijklmnopqrstuvwxyz01234 tcp:1 tcp:1\n" /* 31 */
		 "A_b-9 tcp:2 tcp:2\n"
		 "ftp tcp:3 tcp:3\n"
		 "FTP tcp:4 tcp:4\n" /* names are case-sensitive */
		 "- tcp:5 tcp:5\n"
		 "9 tcp:6 tcp:6\n",
		 &rs);
	assert_int_equal(rs.n, 6);
	assert_string_equal(rs.rules[0].name,
			    "abcdefghijklmnopqrstuvwxyz01234");
	assert_string_equal(rs.rules[3].name, "FTP");
	ptrig_ruleset_free(&rs);
}

static void test_max_ranges(void **state)
{
	struct ptrig_ruleset rs;
	struct text t = {0};
	int i;

	(void)state;
	text_add(&t, "many tcp:");
	for (i = 0; i < PTRIG_MAX_RANGES; i++)
		text_add(&t, "%s%d-%d", i ? "," : "", 1000 + 10 * i,
			 1005 + 10 * i);
	text_add(&t, " udp:1\n");
	parse_ok(t.s, &rs);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.rules[0].trigger.n_ranges, PTRIG_MAX_RANGES);
	assert_int_equal(rs.rules[0].trigger.ranges[63].lo, 1630);
	/* Formatting round-trips: the file text is the formatted set. */
	assert_memory_equal(fmt(&rs.rules[0].trigger), t.s + 5,
			    strlen(fmt(&rs.rules[0].trigger)));
	ptrig_ruleset_free(&rs);

	/* One more is rejected. */
	t.len -= strlen(" udp:1\n");
	text_add(&t, ",9000 udp:1\n");
	expect_err(t.s, FNAME ":1: too many port ranges (max 64 per side)");
	free(t.s);
}

static void test_many_rules_fast(void **state)
{
	struct ptrig_ruleset rs;
	struct text t = {0};
	double t0, dt;
	int i;

	(void)state;
	/* 10,000 rules with tcp and udp triggers and two open ranges each,
	 * plus a comment every few lines. */
	for (i = 0; i < 10000; i++) {
		text_add(&t, "rule%d both:%d tcp:%d-%d,%d timeout=%d\n", i,
			 1 + i, 20000 + 2 * i, 20001 + 2 * i, 50000 + i,
			 1 + i % 86400);
		if (i % 7 == 0)
			text_add(&t, "# comment %d\n", i);
	}
	t0 = now_s();
	parse_ok(t.s, &rs);
	dt = now_s() - t0;
	assert_int_equal(rs.n, 10000);
	assert_string_equal(rs.rules[9999].name, "rule9999");
	assert_string_equal(fmt(&rs.rules[9999].open), "tcp:39998-39999,59999");
	ptrig_ruleset_free(&rs);
	print_message("10000 rules parsed in %.1f ms\n", dt * 1e3);
	/* Linear: a few ms natively; generous for valgrind and slow CI. */
	assert_true(dt < 5.0);

	/* An overlap with the very first rule, found at the end. */
	text_add(&t, "late udp:1 tcp:60001\n");
	t0 = now_s();
	expect_err(t.s, FNAME ":11430: trigger ports udp:1 overlap rule "
			      "\"rule0\" (line 1)");
	dt = now_s() - t0;
	assert_true(dt < 5.0);
	free(t.s);
}

static void test_max_rules(void **state)
{
	struct ptrig_ruleset rs;
	struct text t = {0};
	int i;

	(void)state;
	for (i = 0; i < PTRIG_MAX_RULES - 1; i++)
		text_add(&t, "r%d tcp:%d udp:%d\n", i, 1 + i, 1 + i);
	parse_ok(t.s, &rs);
	assert_int_equal(rs.n, PTRIG_MAX_RULES - 1);
	ptrig_ruleset_free(&rs);

	text_add(&t, "one-too-many tcp:%d udp:%d\n", PTRIG_MAX_RULES,
		 PTRIG_MAX_RULES);
	expect_err(t.s, FNAME ":16384: too many rules (max 16383)");
	free(t.s);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/ptrig-test-XXXXXX";
	const char *text = "ftp tcp:21 tcp:50000-50010 timeout=300\n";
	struct ptrig_ruleset rs = {0};
	char err[512] = "", want[600];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	assert_int_equal(ptrig_config_parse_file(path, &rs, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.rules[0].timeout_s, 300);
	ptrig_ruleset_free(&rs);

	/* Messages name the file as the caller gave it. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "bad tcp:0 tcp:1\n", 16), 16);
	close(fd);
	assert_int_equal(ptrig_config_parse_file(path, &rs, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want), "%s:2: port 0 out of range (1-65535)",
		 path);
	assert_string_equal(err, want);
	assert_int_equal(rs.n, 0);
	assert_null(rs.rules);
	unlink(path);
}

static void test_cannot_open(void **state)
{
	struct ptrig_ruleset rs = {0};
	char err[512];

	(void)state;
	assert_int_equal(ptrig_config_parse_file("/nonexistent/ptrig.conf", &rs,
						 err, sizeof(err)),
			 -1);
	assert_string_equal(err, "/nonexistent/ptrig.conf: cannot open: No "
				 "such file or directory");
	assert_int_equal(rs.n, 0);
	assert_null(rs.rules);

	/* Not a regular file: refused before reading. */
	assert_int_equal(ptrig_config_parse_file("/tmp", &rs, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "/tmp: not a regular file (a directory)");
	assert_null(rs.rules);
}

static void test_format(void **state)
{
	struct ptrig_port_set ps = {0};
	char buf[PTRIG_PORT_SET_STRLEN], small[8];
	int i;

	(void)state;
	ps.proto = PTRIG_PROTO_TCP;
	ps.n_ranges = 2;
	ps.ranges[0] = (struct ptrig_port_range){6660, 6669};
	ps.ranges[1] = (struct ptrig_port_range){113, 113};
	ptrig_port_set_format(&ps, buf, sizeof(buf));
	assert_string_equal(buf, "tcp:6660-6669,113");

	ps.proto = PTRIG_PROTO_BOTH;
	ps.n_ranges = 1;
	ps.ranges[0] = (struct ptrig_port_range){27015, 27015};
	ptrig_port_set_format(&ps, buf, sizeof(buf));
	assert_string_equal(buf, "both:27015");

	ps.proto = PTRIG_PROTO_UDP;
	ps.n_ranges = 1;
	ps.ranges[0] = (struct ptrig_port_range){1, 65535};
	ptrig_port_set_format(&ps, buf, sizeof(buf));
	assert_string_equal(buf, "udp:1-65535");

	/* The longest possible set fits PTRIG_PORT_SET_STRLEN exactly. */
	ps.proto = PTRIG_PROTO_BOTH;
	ps.n_ranges = PTRIG_MAX_RANGES;
	for (i = 0; i < PTRIG_MAX_RANGES; i++)
		ps.ranges[i] = (struct ptrig_port_range){10000 + i, 60000 + i};
	ptrig_port_set_format(&ps, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf + strlen(buf) - 12, ",10063-60063", 12);

	/* Too small: cut, but always terminated. */
	ps.proto = PTRIG_PROTO_TCP;
	ps.n_ranges = 2;
	ps.ranges[0] = (struct ptrig_port_range){6660, 6669};
	ps.ranges[1] = (struct ptrig_port_range){113, 113};
	ptrig_port_set_format(&ps, small, sizeof(small));
	assert_string_equal(small, "tcp:666");
	ptrig_port_set_format(&ps, small, 1);
	assert_string_equal(small, "");
}

/* Formats rule i of rs into a static buffer. */
static const char *rule_text(const struct ptrig_ruleset *rs, size_t i)
{
	static char buf[PTRIG_RULE_STRLEN];

	assert_true(ptrig_rule_format(&rs->rules[i], buf, sizeof(buf)) <
		    (int)sizeof(buf));
	return buf;
}

static void test_rule_format(void **state)
{
	struct ptrig_ruleset rs, back;
	struct text t = {0};
	char small[12];
	size_t i;

	(void)state;
	parse_ok("irc  tcp:6660-6669   tcp:113 # IRC\n"
		 "ftp tcp:21 tcp:50000-50010 timeout=0300\n"
		 "game udp:27015 udp:27000-27030,4380 peer=trigger "
		 "timeout=600\n"
		 "voip both:5060 udp:10000-10100 flow-timeout=600 peer=any\n"
		 "all udp:1,7-7 tcp:9 flow-timeout=1 peer=trigger "
		 "timeout=86400\n",
		 &rs);
	assert_int_equal(rs.n, 5);
	assert_string_equal(rule_text(&rs, 0), "irc tcp:6660-6669 tcp:113");
	assert_string_equal(rule_text(&rs, 1),
			    "ftp tcp:21 tcp:50000-50010 timeout=300");
	assert_string_equal(rule_text(&rs, 2),
			    "game udp:27015 udp:27000-27030,4380 peer=trigger");
	assert_string_equal(rule_text(&rs, 3),
			    "voip both:5060 udp:10000-10100 flow-timeout=600");
	assert_string_equal(rule_text(&rs, 4),
			    "all udp:1,7 tcp:9 timeout=86400 peer=trigger "
			    "flow-timeout=1");

	/* Written back, the rules parse to the same set. */
	for (i = 0; i < rs.n; i++)
		text_add(&t, "%s\n", rule_text(&rs, i));
	parse_ok(t.s, &back);
	assert_int_equal(back.n, rs.n);
	for (i = 0; i < rs.n; i++) {
		rs.rules[i].line = back.rules[i].line;
		assert_memory_equal(&rs.rules[i], &back.rules[i],
				    sizeof(rs.rules[i]));
	}
	ptrig_ruleset_free(&back);

	/* Cut but terminated; the return value is the full length. */
	assert_int_equal(ptrig_rule_format(&rs.rules[0], small, sizeof(small)),
			 (int)strlen("irc tcp:6660-6669 tcp:113"));
	assert_string_equal(small, "irc tcp:666");
	ptrig_ruleset_free(&rs);
	free(t.s);
}

static void test_ruleset_reuse(void **state)
{
	struct ptrig_ruleset rs;
	char err[512];

	(void)state;
	parse_ok("a tcp:1 tcp:2\n", &rs);
	assert_int_equal(rs.n, 1);
	ptrig_ruleset_free(&rs);
	ptrig_ruleset_free(&rs); /* idempotent */
	ptrig_ruleset_free(NULL);

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(parse_buf("b tcp:1 tcp:2\nc tcp:3 tcp:4\n", 28, &rs,
				   err, sizeof(err)),
			 0);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.rules[1].name, "c");
	ptrig_ruleset_free(&rs);
}

static void test_small_error_buffer(void **state)
{
	struct ptrig_ruleset rs = {0};
	char err[12];
	const char *bad = "ftp tcp:0 tcp:1\n";

	(void)state;
	assert_int_equal(parse_buf(bad, strlen(bad), &rs, err, sizeof(err)),
			 -1);
	/* Too small even for the reason: the file name goes first. */
	assert_string_equal(err, "...:1: port");
	assert_int_equal(parse_buf(bad, strlen(bad), &rs, NULL, 0), -1);
	assert_null(rs.rules);
}

/* ---- errors: one message per class, exact ---- */

static void test_missing_fields(void **state)
{
	(void)state;
	expect_err("ftp tcp:21\n",
		   FNAME ":1: expected NAME PROTO:PORTS PROTO:PORTS [options]");
	expect_err("# x\nftp\n",
		   FNAME ":2: expected NAME PROTO:PORTS PROTO:PORTS [options]");
	expect_err("dcc tcp:59 # tcp:60\n",
		   FNAME ":1: expected NAME PROTO:PORTS PROTO:PORTS [options]");
	/* An option where the open side belongs. */
	expect_err("ftp tcp:21 timeout=300\n",
		   FNAME ":1: expected PROTO:PORTS, got \"timeout=300\"");
	expect_err("ftp tcp21 tcp:22\n",
		   FNAME ":1: expected PROTO:PORTS, got \"tcp21\"");
}

static void test_bad_protocol(void **state)
{
	(void)state;
	expect_err("a sctp:1 tcp:2\n",
		   FNAME ":1: unknown protocol \"sctp\" (expected tcp, udp or "
			 "both)");
	expect_err("a tcp:1 TCP:2\n",
		   FNAME ":1: unknown protocol \"TCP\" (expected tcp, udp or "
			 "both)");
	expect_err("a :1 tcp:2\n",
		   FNAME ":1: unknown protocol \"\" (expected tcp, udp or "
			 "both)");
}

static void test_bad_ports(void **state)
{
	(void)state;
	expect_err("a tcp:1 tcp:70000\n",
		   FNAME ":1: port 70000 out of range (1-65535)");
	expect_err("a tcp:65536 tcp:1\n",
		   FNAME ":1: port 65536 out of range (1-65535)");
	expect_err("a tcp:99999999999999999999 tcp:1\n", FNAME
		   ":1: port 99999999999999999999 out of range (1-65535)");
	expect_err("a tcp:0 tcp:1\n",
		   FNAME ":1: port 0 out of range (1-65535)");
	expect_err("a udp:0-10 udp:1\n",
		   FNAME ":1: port 0 out of range (1-65535)");
	expect_err("a tcp:ftp tcp:1\n", FNAME ":1: invalid port \"ftp\"");
	expect_err("a tcp:21a tcp:1\n", FNAME ":1: invalid port \"21a\"");
	expect_err("a tcp:+21 tcp:1\n", FNAME ":1: invalid port \"+21\"");
	expect_err("a tcp:0x15 tcp:1\n", FNAME ":1: invalid port \"0x15\"");
	expect_err("a tcp:1-2-3 tcp:1\n", FNAME ":1: invalid port \"2-3\"");
	expect_err("a tcp:1 tcp:1-70000\n",
		   FNAME ":1: port 70000 out of range (1-65535)");
	expect_err("a tcp: tcp:1\n", FNAME ":1: missing port in \"tcp:\"");
	expect_err("a tcp:1 tcp:21,\n",
		   FNAME ":1: missing port in \"tcp:21,\"");
	expect_err("a tcp:1,,2 tcp:1\n",
		   FNAME ":1: missing port in \"tcp:1,,2\"");
	expect_err("a tcp:10- tcp:1\n", FNAME ":1: invalid port range \"10-\"");
	expect_err("a tcp:-10 tcp:1\n", FNAME ":1: invalid port range \"-10\"");
}

static void test_reversed_range(void **state)
{
	(void)state;
	expect_err("a tcp:20-10 tcp:1\n",
		   FNAME ":1: reversed port range \"20-10\"");
	expect_err("a tcp:1 udp:5,65535-1\n",
		   FNAME ":1: reversed port range \"65535-1\"");
}

static void test_timeout_bounds(void **state)
{
	(void)state;
	expect_err("a tcp:1 tcp:2 timeout=0\n",
		   FNAME ":1: timeout=0 out of range (1-86400)");
	expect_err("a tcp:1 tcp:2 timeout=86401\n",
		   FNAME ":1: timeout=86401 out of range (1-86400)");
	expect_err("a tcp:1 tcp:2 timeout=4294967296\n",
		   FNAME ":1: timeout=4294967296 out of range (1-86400)");
	expect_err("a tcp:1 tcp:2 timeout=abc\n", FNAME
		   ":1: invalid value \"timeout=abc\" (expected 1-86400)");
	expect_err("a tcp:1 tcp:2 timeout=\n",
		   FNAME ":1: invalid value \"timeout=\" (expected 1-86400)");
	expect_err("a tcp:1 tcp:2 timeout=-1\n",
		   FNAME ":1: invalid value \"timeout=-1\" (expected 1-86400)");
}

static void test_flow_timeout_bounds(void **state)
{
	(void)state;
	expect_err("a tcp:1 tcp:2 flow-timeout=0\n",
		   FNAME ":1: flow-timeout=0 out of range (1-86400)");
	expect_err("a tcp:1 tcp:2 flow-timeout=86401\n",
		   FNAME ":1: flow-timeout=86401 out of range (1-86400)");
	expect_err("a tcp:1 tcp:2 flow-timeout=1h\n",
		   FNAME ":1: invalid value \"flow-timeout=1h\" (expected "
			 "1-86400)");
}

static void test_bad_peer(void **state)
{
	(void)state;
	expect_err("a tcp:1 tcp:2 peer=bogus\n",
		   FNAME ":1: invalid value \"peer=bogus\" (expected any or "
			 "trigger)");
	expect_err("a tcp:1 tcp:2 peer=\n",
		   FNAME ":1: invalid value \"peer=\" (expected any or "
			 "trigger)");
	expect_err("a tcp:1 tcp:2 peer=ANY\n",
		   FNAME ":1: invalid value \"peer=ANY\" (expected any or "
			 "trigger)");
}

static void test_unknown_and_duplicate_options(void **state)
{
	(void)state;
	expect_err("a tcp:1 tcp:2 foo=1\n",
		   FNAME ":1: unknown option \"foo=1\"");
	expect_err("a tcp:1 tcp:2 timeout\n",
		   FNAME ":1: unknown option \"timeout\"");
	expect_err("a tcp:1 tcp:2 Timeout=5\n",
		   FNAME ":1: unknown option \"Timeout=5\"");
	expect_err("a tcp:1 tcp:2 udp:3\n",
		   FNAME ":1: unknown option \"udp:3\"");
	expect_err("a tcp:1 tcp:2 =5\n", FNAME ":1: unknown option \"=5\"");
	expect_err("a tcp:1 tcp:2 timeout=1 timeout=2\n",
		   FNAME ":1: duplicate option \"timeout\"");
	expect_err("a tcp:1 tcp:2 peer=any flow-timeout=5 peer=any\n",
		   FNAME ":1: duplicate option \"peer\"");
	expect_err("a tcp:1 tcp:2 flow-timeout=5 timeout=5 flow-timeout=9\n",
		   FNAME ":1: duplicate option \"flow-timeout\"");
}

static void test_duplicate_name(void **state)
{
	(void)state;
	expect_err("# rules\n"
		   "ftp tcp:21 tcp:50000\n"
		   "irc tcp:6667 tcp:113\n"
		   "ftp tcp:2121 tcp:50001\n",
		   FNAME ":4: duplicate rule name \"ftp\" (first defined on "
			 "line 2)");
}

static void test_bad_names(void **state)
{
	(void)state;
	expect_err("f.tp tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"f.tp\" (1-31 of A-Z a-z 0-9 "
			 "_ -)");
	expect_err("ftp! tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"ftp!\" (1-31 of A-Z a-z 0-9 "
			 "_ -)");
	expect_err("caf\xc3\xa9 tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"caf\\xc3\\xa9\" (1-31 of A-Z "
			 "a-z 0-9 _ -)");
	expect_err("abcdefghijklmnopqrstuvwxyz012345 tcp:1 tcp:2\n", /* 32 */
		   FNAME ":1: invalid rule name "
			 "\"abcdefghijklmnopqrstuvwxyz012345\" (1-31 of A-Z "
			 "a-z 0-9 _ -)");
	/* A name that is a PROTO:PORTS: the name is missing. */
	expect_err("tcp:21 tcp:50000 udp:1\n",
		   FNAME ":1: invalid rule name \"tcp:21\" (1-31 of A-Z a-z "
			 "0-9 _ -)");
	/* Long or unprintable user text is cut and masked in messages. */
	expect_err(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa tcp:1 tcp:2\n",
		FNAME ":1: invalid rule name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" (1-31 of "
		      "A-Z a-z 0-9 _ -)");
	expect_err("a\x1b[31m tcp:1 tcp:2\n", FNAME
		   ":1: invalid rule name \"a\\x1b[31m\" (1-31 of A-Z a-z "
		   "0-9 _ -)");
}

static void test_overlapping_trigger_ports(void **state)
{
	(void)state;
	expect_err("# irc and friends\n"
		   "ftp tcp:21 tcp:50000-50010\n"
		   "irc tcp:6660-6669 tcp:113\n"
		   "game udp:27015 udp:27000-27030\n"
		   "\n"
		   "# a second irc rule\n"
		   "irc2 tcp:6667 tcp:114\n",
		   FNAME
		   ":7: trigger ports tcp:6667 overlap rule \"irc\" (line "
		   "3)");
	/* Partial overlaps report the lowest shared port of the range. */
	expect_err("a tcp:100-200 tcp:1\nb tcp:150-300 tcp:2\n",
		   FNAME ":2: trigger ports tcp:150 overlap rule \"a\" (line "
			 "1)");
	expect_err("a tcp:100-200 tcp:1\nb tcp:50-120 tcp:2\n",
		   FNAME ":2: trigger ports tcp:100 overlap rule \"a\" (line "
			 "1)");
	/* One range spanning another entirely. */
	expect_err("a udp:5000 udp:1\nb udp:1-65535 udp:2\n",
		   FNAME ":2: trigger ports udp:5000 overlap rule \"a\" (line "
			 "1)");
}

static void test_overlapping_open_ports(void **state)
{
	(void)state;
	expect_err("a tcp:1 udp:5000-5010\nb tcp:2 udp:4000,5010\n",
		   FNAME ":2: open ports udp:5010 overlap rule \"a\" (line 1)");
	expect_err("ftp tcp:21 tcp:50000-50010\n"
		   "ftp2 tcp:2121 tcp:49990-50000\n",
		   FNAME ":2: open ports tcp:50000 overlap rule \"ftp\" (line "
			 "1)");
}

static void test_both_overlaps(void **state)
{
	(void)state;
	expect_err("a both:21 tcp:1\nb tcp:21 tcp:2\n", FNAME
		   ":2: trigger ports tcp:21 overlap rule \"a\" (line 1)");
	expect_err("a udp:53 tcp:1\nb both:53 tcp:2\n", FNAME
		   ":2: trigger ports udp:53 overlap rule \"a\" (line 1)");
	expect_err("a both:21 tcp:1\nb both:21 tcp:2\n", FNAME
		   ":2: trigger ports tcp:21 overlap rule \"a\" (line 1)");
	expect_err("a tcp:1 both:9000-9100\nb udp:2 udp:9100\n",
		   FNAME ":2: open ports udp:9100 overlap rule \"a\" (line 1)");
	/* tcp and udp rules do not overlap each other, but both does. */
	expect_err("a tcp:7 tcp:1\nb udp:7 tcp:2\nc both:7 tcp:3\n",
		   FNAME ":3: trigger ports tcp:7 overlap rule \"a\" (line 1)");
}

static void test_overlap_within_rule(void **state)
{
	(void)state;
	expect_err("a tcp:10-20,15 tcp:1\n",
		   FNAME ":1: trigger port tcp:15 listed more than once");
	expect_err("a tcp:1 udp:5,5\n",
		   FNAME ":1: open port udp:5 listed more than once");
	expect_err("a both:30-40,10-20,20-25 tcp:1\n",
		   FNAME ":1: trigger port both:20 listed more than once");
	expect_err("a tcp:1-100,50-60,40-45 tcp:1\n",
		   FNAME ":1: trigger port tcp:40 listed more than once");
}

/* Lines of exactly the limit pass and one more character fails, whatever
 * the line end: the CR of a CRLF does not count. */
static void check_line_limit(const char *eol)
{
	struct ptrig_ruleset rs;
	struct text t = {0};
	char want[128];
	int i;

	text_add(&t, "a tcp:1 tcp:2%s#", eol);
	for (i = 1; i < PTRIG_CONFIG_MAX_LINE; i++)
		text_add(&t, "x");
	text_add(&t, "%sb tcp:3 tcp:4%s", eol, eol);
	parse_ok(t.s, &rs);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.rules[1].line, 3);
	ptrig_ruleset_free(&rs);

	t.len = 0;
	text_add(&t, "a tcp:1 tcp:2%s#", eol);
	for (i = 1; i <= PTRIG_CONFIG_MAX_LINE; i++)
		text_add(&t, "x");
	text_add(&t, "%s", eol);
	snprintf(want, sizeof(want),
		 FNAME ":2: line too long (max %d characters)",
		 PTRIG_CONFIG_MAX_LINE);
	expect_err(t.s, want);
	free(t.s);
}

static void test_long_lines(void **state)
{
	(void)state;
	check_line_limit("\n");
	check_line_limit("\r\n");
}

static void test_nul_byte(void **state)
{
	static const char text[] = "a tcp:1 tcp:2\n# x\0y\n";

	(void)state;
	expect_err_buf(text, sizeof(text) - 1, FNAME ":2: NUL byte in line");
}

static void test_first_error_wins(void **state)
{
	(void)state;
	/* Errors are reported in file order, whatever their kind. */
	expect_err("a tcp:1 tcp:2\n"
		   "b tcp:1 tcp:3\n"
		   "c tcp:4 tcp:5 bogus=1\n",
		   FNAME ":2: trigger ports tcp:1 overlap rule \"a\" (line 1)");
	expect_err("a tcp:1 tcp:2\n"
		   "a tcp:1 tcp:2\n",
		   FNAME ":2: duplicate rule name \"a\" (first defined on line "
			 "1)");
	/* Syntax of a line is checked before its conflicts. */
	expect_err("a tcp:1 tcp:2\n"
		   "b tcp:1 tcp:2 timeout=0\n",
		   FNAME ":2: timeout=0 out of range (1-86400)");
}

/* ---- input that once slipped through, or got a poor message ---- */

static const char stray_cr[] =
	"carriage return not followed by a line feed (lines end in LF or "
	"CRLF)";

static void test_stray_cr(void **state)
{
	struct ptrig_ruleset rs;
	char want[256];

	(void)state;
	snprintf(want, sizeof(want), FNAME ":1: %s", stray_cr);
	/* After a '#', a bare CR used to hide the rest of the line. */
	expect_err("#\rirc tcp:1 tcp:2\n", want);
	/* Old Mac line endings: every rule but the first was lost. */
	expect_err("a tcp:1 tcp:2\rb tcp:3 tcp:4\r", want);
	expect_err("irc tcp:6660-6669 tcp:113 # IRC\rftp tcp:21 tcp:20\n",
		   want);
	expect_err("a tcp:1 tcp:2\r", want);
	snprintf(want, sizeof(want), FNAME ":2: %s", stray_cr);
	expect_err("a tcp:1 tcp:2\r\nb tcp:3\r tcp:4\r\n", want);
	expect_err("a tcp:1 tcp:2\r\nb tcp:3 tcp:4\r\r\n", want);

	/* CRLF, and LF, stay fine, mixed too. */
	parse_ok("a tcp:1 tcp:2\r\n\r\n# c\r\nb tcp:3 tcp:4\nc tcp:5 tcp:6\r\n",
		 &rs);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.rules[1].line, 4);
	assert_int_equal(rs.rules[2].line, 5);
	ptrig_ruleset_free(&rs);
}

static void test_utf8_bom(void **state)
{
	struct ptrig_ruleset rs;

	(void)state;
	parse_ok("\xef\xbb\xbfirc tcp:6660-6669 tcp:113\nftp tcp:21 tcp:20\n",
		 &rs);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.rules[0].name, "irc");
	assert_int_equal(rs.rules[0].line, 1);
	ptrig_ruleset_free(&rs);

	parse_ok("\xef\xbb\xbf# rules\r\nirc tcp:1 tcp:2\r\n", &rs);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.rules[0].line, 2);
	ptrig_ruleset_free(&rs);

	parse_ok("\xef\xbb\xbf", &rs);
	assert_int_equal(rs.n, 0);
	ptrig_ruleset_free(&rs);

	/* Only at the start of the file; elsewhere it is shown. */
	expect_err("a tcp:1 tcp:2\n\xef\xbb\xbf"
		   "b tcp:3 tcp:4\n",
		   FNAME ":2: invalid rule name \"\\xef\\xbb\\xbfb\" (1-31 of "
			 "A-Z a-z 0-9 _ -)");
	expect_err("\n\xef\xbb\xbf"
		   "b tcp:3 tcp:4\n",
		   FNAME ":2: invalid rule name \"\\xef\\xbb\\xbfb\" (1-31 of "
			 "A-Z a-z 0-9 _ -)");
	expect_err("\xef\xbb\xbf\xef\xbb\xbf"
		   "b tcp:3 tcp:4\n",
		   FNAME ":1: invalid rule name \"\\xef\\xbb\\xbfb\" (1-31 of "
			 "A-Z a-z 0-9 _ -)");
	/* UTF-16 is named, not reported as a NUL byte. */
	expect_err_buf("\xff\xfe"
		       "a\0 \0t\0",
		       8,
		       FNAME ":1: UTF-16 text (byte-order mark ff fe); save "
			     "the file as UTF-8 or ASCII");
	expect_err_buf("\xfe\xff\0a\0 \0t", 8,
		       FNAME ":1: UTF-16 text (byte-order mark fe ff); save "
			     "the file as UTF-8 or ASCII");
}

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts a blocked open() or read() */
}

/* A temporary directory for files of the given kinds. */
static void make_tmpdir(char *dir)
{
	strcpy(dir, "/tmp/ptrig-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void test_file_kinds(void **state)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct ptrig_ruleset rs = {0};
	char dir[32], path[64], link[64], err[512], want[600];
	const char *text = "a tcp:1 tcp:2\n";
	int fd;

	(void)state;
	make_tmpdir(dir);

	/* A FIFO without a writer used to block for ever. The alarm turns a
	 * hang into an error (no SA_RESTART) instead of a stuck test. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarm(3);
	assert_int_equal(ptrig_config_parse_file(path, &rs, err, sizeof(err)),
			 -1);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", path);
	assert_string_equal(err, want);
	assert_null(rs.rules);
	unlink(path);

	assert_int_equal(
		ptrig_config_parse_file("/dev/null", &rs, err, sizeof(err)),
		-1);
	assert_string_equal(
		err, "/dev/null: not a regular file (a character device)");
	assert_int_equal(ptrig_config_parse_file(dir, &rs, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want), "%s: not a regular file (a directory)",
		 dir);
	assert_string_equal(err, want);
	assert_null(rs.rules);

	/* A symlink to a regular file is a regular file. */
	snprintf(path, sizeof(path), "%s/r.conf", dir);
	snprintf(link, sizeof(link), "%s/l.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(ptrig_config_parse_file(link, &rs, err, sizeof(err)),
			 0);
	assert_int_equal(rs.n, 1);
	ptrig_ruleset_free(&rs);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void test_long_path_keeps_reason(void **state)
{
	struct ptrig_ruleset rs = {0};
	char dir[32], path[1300], err[1024], *p;
	const char *text = "ok tcp:1 tcp:2\nbad tcp:0 tcp:1\n";
	const char *reason = ":2: port 0 out of range (1-65535)";
	size_t len;
	int fd;

	(void)state;
	make_tmpdir(dir);
	/* 1,222 characters, through "/." steps: no deep directories. */
	p = path + sprintf(path, "%s", dir);
	while (p - path + 2 + 10 <= 1222)
		p += sprintf(p, "/.");
	p += sprintf(p, "/");
	while (p - path + 8 < 1222)
		*p++ = 'x';
	strcpy(p, "bad.conf");
	assert_int_equal(strlen(path), 1222);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	assert_int_equal(ptrig_config_parse_file(path, &rs, err, sizeof(err)),
			 -1);
	len = strlen(err);
	assert_true(len < sizeof(err));
	/* The reason stays whole; the path gives way at its start. */
	assert_true(len > strlen(reason));
	assert_string_equal(err + len - strlen(reason), reason);
	assert_memory_equal(err, "...", 3);
	assert_memory_equal(err + len - strlen(reason) - 8, "bad.conf", 8);
	assert_null(rs.rules);

	/* Same for a file that cannot be opened. */
	strcpy(path + strlen(path) - 8, "not.conf");
	assert_int_equal(ptrig_config_parse_file(path, &rs, err, sizeof(err)),
			 -1);
	len = strlen(err);
	assert_string_equal(err + len -
				    strlen("not.conf: cannot open: No "
					   "such file or directory"),
			    "not.conf: cannot open: No such file or directory");
	assert_memory_equal(err, "...", 3);

	strcpy(path + strlen(path) - 8, "bad.conf");
	unlink(path);
	rmdir(dir);
}

static void test_file_size_cap(void **state)
{
	struct ptrig_ruleset rs;
	size_t len = PTRIG_CONFIG_MAX_BYTES;
	char *text = malloc(len + 2);
	const char *rule = "a tcp:1 tcp:2\n";

	(void)state;
	assert_non_null(text);
	/* A rule, then blank lines up to exactly the cap: accepted. */
	memcpy(text, rule, strlen(rule));
	memset(text + strlen(rule), '\n', len - strlen(rule));
	parse_ok_buf(text, len, &rs);
	assert_int_equal(rs.n, 1);
	ptrig_ruleset_free(&rs);

	/* One byte more is not, reported at the line that crosses the cap
	 * (the line counter could otherwise run past INT_MAX). */
	text[len] = '\n';
	expect_err_buf(text, len + 1,
		       FNAME ":16777204: file too large (max 16 MiB)");
	text[len] = '#';
	expect_err_buf(text, len + 1,
		       FNAME ":16777204: file too large (max 16 MiB)");
	free(text);
}

static void test_quote_escapes_non_ascii(void **state)
{
	(void)state;
	/* A no-break space looked like a plain one. */
	expect_err("irc\xc2\xa0tcp:6660-6669 tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"irc\\xc2\\xa0tcp:6660-6669\" "
			 "(1-31 of A-Z a-z 0-9 _ -)");
	/* C1 CSI, a bidi override, C0 ESC and DEL, a quote and a backslash. */
	expect_err("a\xc2\x9b"
		   "31m tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"a\\xc2\\x9b31m\" (1-31 of "
			 "A-Z a-z 0-9 _ -)");
	expect_err("a\xe2\x80\xae"
		   "b tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"a\\xe2\\x80\\xaeb\" (1-31 of "
			 "A-Z a-z 0-9 _ -)");
	expect_err("a\x1b\x7f\"\\ tcp:1 tcp:2\n",
		   FNAME ":1: invalid rule name \"a\\x1b\\x7f\\\"\\\\\" (1-31 "
			 "of A-Z a-z 0-9 _ -)");
	expect_err("a tcp:1 tcp:2 peer=\xc2\xa0\n",
		   FNAME ":1: invalid value \"peer=\\xc2\\xa0\" (expected any "
			 "or trigger)");
	/* The cut is made on the input, never inside an escape. */
	expect_err(
		"a tcp:1 tcp:"
		"\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2"
		"\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0"
		"\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2"
		"\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0"
		"\xc2\xa0\xc2\xa0\xc2\xa0\n",
		FNAME ":1: invalid port \""
		      "\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2"
		      "\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0"
		      "\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2"
		      "\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0"
		      "\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2"
		      "\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0\\xc2\\xa0...\"");
}

/*
 * Names whose FNV-1a hashes share their low 15 bits: they all fell into
 * one bucket of an unkeyed 32768-slot table, which made the duplicate check
 * quadratic. The low bits of FNV-1a depend only on the low bits of its
 * state, and one step is invertible, so a table of 3-character suffixes,
 * built backwards from the target, completes any prefix to a collision.
 */
#define FNV_PRIME 16777619u
#define LOW_MASK 0x7fffu

static const char name_chars[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

static uint32_t fnv_low(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * FNV_PRIME;
	return h & LOW_MASK;
}

static void colliding_names(char (*names)[PTRIG_NAME_LEN], int n)
{
	static int32_t suffix_of[LOW_MASK + 1];
	uint32_t inv = FNV_PRIME, s;
	int a, b, c, i, found;

	for (i = 0; i < 5; i++) /* Newton: inverse of the prime mod 2^32 */
		inv *= 2 - FNV_PRIME * inv;
	memset(suffix_of, -1, sizeof(suffix_of));
	for (a = 0; a < 64; a++)
		for (b = 0; b < 64; b++)
			for (c = 0; c < 64; c++) {
				/* Undo the steps of chars c, b, a from 0. */
				s = ((0 * inv) ^ (uint32_t)name_chars[c]);
				s = ((s * inv) ^ (uint32_t)name_chars[b]);
				s = ((s * inv) ^ (uint32_t)name_chars[a]) &
				    LOW_MASK;
				if (suffix_of[s] < 0)
					suffix_of[s] = (a << 12) | (b << 6) | c;
			}
	for (i = 0, found = 0; found < n; i++) {
		char prefix[16];
		int32_t sfx;

		snprintf(prefix, sizeof(prefix), "c%d", i);
		sfx = suffix_of[fnv_low(prefix)];
		if (sfx < 0)
			continue;
		snprintf(names[found], PTRIG_NAME_LEN, "%s%c%c%c", prefix,
			 name_chars[sfx >> 12], name_chars[(sfx >> 6) & 63],
			 name_chars[sfx & 63]);
		assert_int_equal(fnv_low(names[found]), 0);
		found++;
	}
}

/* Best of three parse times of a file of n rules with the given names. */
static double parse_time(char (*names)[PTRIG_NAME_LEN], int n)
{
	struct ptrig_ruleset rs;
	struct text t = {0};
	double best = 1e9, t0;
	int i, run;

	for (i = 0; i < n; i++)
		text_add(&t, "%s tcp:%d udp:%d\n", names[i], 1 + i, 1 + i);
	for (run = 0; run < 3; run++) {
		t0 = now_s();
		parse_ok(t.s, &rs);
		if (now_s() - t0 < best)
			best = now_s() - t0;
		assert_int_equal(rs.n, n);
		ptrig_ruleset_free(&rs);
	}
	free(t.s);
	return best;
}

static void test_colliding_names_stay_fast(void **state)
{
	int n = PTRIG_MAX_RULES - 1, i;
	char(*names)[PTRIG_NAME_LEN] = calloc(n, PTRIG_NAME_LEN);
	double plain, crafted;

	(void)state;
	assert_non_null(names);
	for (i = 0; i < n; i++)
		snprintf(names[i], PTRIG_NAME_LEN, "r%d", i);
	plain = parse_time(names, n);
	colliding_names(names, n);
	crafted = parse_time(names, n);
	print_message("16383 rules: plain names %.1f ms, colliding names %.1f "
		      "ms\n",
		      plain * 1e3, crafted * 1e3);
	/* A ratio within one run; quadratic was 7x and more. Plus 10 ms of
	 * slack for a busy machine. */
	assert_true(crafted < 3 * plain + 0.010);
	free(names);
}

static void test_empty_file_name(void **state)
{
	struct ptrig_ruleset rs = {0};
	char err[512];

	(void)state;
	/* Shown as such, not as nothing. */
	assert_int_equal(ptrig_config_parse_file("", &rs, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "\"\": cannot open: empty file name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_examples),
		cmocka_unit_test(test_defaults_and_flow_timeouts),
		cmocka_unit_test(test_both_and_ranges),
		cmocka_unit_test(test_options_any_order),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_empty_files),
		cmocka_unit_test(test_same_port_other_protocol_ok),
		cmocka_unit_test(test_allowed_port_sharing),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_max_ranges),
		cmocka_unit_test(test_many_rules_fast),
		cmocka_unit_test(test_max_rules),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_rule_format),
		cmocka_unit_test(test_ruleset_reuse),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_bad_protocol),
		cmocka_unit_test(test_bad_ports),
		cmocka_unit_test(test_reversed_range),
		cmocka_unit_test(test_timeout_bounds),
		cmocka_unit_test(test_flow_timeout_bounds),
		cmocka_unit_test(test_bad_peer),
		cmocka_unit_test(test_unknown_and_duplicate_options),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_overlapping_trigger_ports),
		cmocka_unit_test(test_overlapping_open_ports),
		cmocka_unit_test(test_both_overlaps),
		cmocka_unit_test(test_overlap_within_rule),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_stray_cr),
		cmocka_unit_test(test_utf8_bom),
		cmocka_unit_test(test_file_kinds),
		cmocka_unit_test(test_long_path_keeps_reason),
		cmocka_unit_test(test_file_size_cap),
		cmocka_unit_test(test_quote_escapes_non_ascii),
		cmocka_unit_test(test_colliding_names_stay_fast),
		cmocka_unit_test(test_empty_file_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
