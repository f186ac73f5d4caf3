// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target for the rule-file parser (loader/config.c), for libFuzzer
 * (`make fuzz`) and for the corpus replay of `make test` (replay.c).
 *
 * Beyond what the sanitizers catch (crashes, leaks, undefined behaviour) it
 * checks, for every input:
 * - a rejected file leaves no rules behind, and its message is
 *   "fuzz.conf:LINE: reason" in printable ASCII, LINE being a line of the
 *   input;
 * - the lines before LINE parse cleanly, and the input cut after line LINE
 *   fails with the same message: what follows a line never changes its
 *   verdict;
 * - an accepted file is what the README allows (line ends, encoding,
 *   limits), every line with something before its '#' became a rule, the
 *   rules are valid on their own (names, no name or port shared between
 *   rules on a side), and written back with ptrig_rule_format() they parse
 *   to the same rule set.
 * A broken property is printed and aborts, which libFuzzer reports as a
 * crash and saves the input.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FNAME "fuzz.conf"
#define ERR_LEN 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void broken(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "property broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* Parses size bytes; an empty input is an empty file, which is accepted. */
static int parse_mem(const void *data, size_t size, struct ptrig_ruleset *rs,
		     char *err)
{
	FILE *f;
	int ret;

	memset(rs, 0, sizeof(*rs));
	if (!size) /* fmemopen() refuses an empty buffer */
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		broken("fmemopen: out of memory");
	ret = ptrig_config_parse_stream(f, FNAME, rs, err, ERR_LEN);
	fclose(f);
	return ret;
}

/* The LINE of "fuzz.conf:LINE: reason", or a broken property. */
static unsigned long message_line(const char *err)
{
	const char *p = err + strlen(FNAME ":");
	unsigned long line = 0;

	if (strncmp(err, FNAME ":", strlen(FNAME ":")))
		broken("message without the file name: \"%s\"", err);
	for (; *p >= '0' && *p <= '9' && line < 1000000000; p++)
		line = line * 10 + (*p - '0');
	if (!line || p[0] != ':' || p[1] != ' ' || !p[2])
		broken("message not in the FILE:LINE: reason form: \"%s\"",
		       err);
	for (p = err; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			broken("byte 0x%02x in message \"%s\"",
			       (unsigned char)*p, err);
	return line;
}

/* Offset of the start of line n (1-based), or size + 1 if there is none. */
static size_t line_start(const uint8_t *data, size_t size, unsigned long n)
{
	const uint8_t *p = data, *nl;

	while (--n) {
		nl = memchr(p, '\n', size - (p - data));
		if (!nl)
			return size + 1;
		p = nl + 1;
	}
	return p - data;
}

static void check_rejected(const uint8_t *data, size_t size,
			   const struct ptrig_ruleset *rs, const char *err)
{
	struct ptrig_ruleset part;
	char err2[ERR_LEN];
	unsigned long line;
	size_t start, end;
	const uint8_t *nl;

	if (rs->n || rs->rules || rs->cap)
		broken("rejected, but %zu rules left behind", rs->n);
	line = message_line(err);
	start = line_start(data, size, line);
	if (start >= size)
		broken("error at line %lu, past the end of the input: \"%s\"",
		       line, err);
	if (parse_mem(data, start, &part, err2))
		broken("fails at line %lu, but its first %lu lines fail too: "
		       "\"%s\"",
		       line, line - 1, err2);
	ptrig_ruleset_free(&part);

	nl = memchr(data + start, '\n', size - start);
	end = nl ? (size_t)(nl - data) + 1 : size;
	if (end == size)
		return; /* line LINE is the last one: nothing to cut */
	if (!parse_mem(data, end, &part, err2)) {
		ptrig_ruleset_free(&part);
		broken("fails at line %lu (\"%s\"), but parses when cut after "
		       "it",
		       line, err);
	}
	if (strcmp(err, err2))
		broken("cut after line %lu, the message changes: \"%s\" vs "
		       "\"%s\"",
		       line, err, err2);
}

static bool valid_name(const char *s)
{
	size_t len = strnlen(s, PTRIG_NAME_LEN);

	if (!len || len == PTRIG_NAME_LEN)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-") == len;
}

static bool valid_set(const struct ptrig_port_set *ps)
{
	unsigned int i;

	if (ps->proto != PTRIG_PROTO_TCP && ps->proto != PTRIG_PROTO_UDP &&
	    ps->proto != PTRIG_PROTO_BOTH)
		return false;
	if (!ps->n_ranges || ps->n_ranges > PTRIG_MAX_RANGES)
		return false;
	for (i = 0; i < ps->n_ranges; i++)
		if (!ps->ranges[i].lo || ps->ranges[i].lo > ps->ranges[i].hi)
			return false;
	return true;
}

/* Port owners, [side][l4][port]: rule index + 1, 0 = free. */
static uint16_t owner[2][PTRIG_L4_MAX][PTRIG_PORTS];

/* Marks a set's ports; false if a port is taken by another rule, or listed
 * twice by this one. */
static bool mark_set(int side, const struct ptrig_port_set *ps, size_t idx)
{
	unsigned int i, port;
	int l4;

	for (l4 = 0; l4 < PTRIG_L4_MAX; l4++) {
		if (!(ps->proto & (1 << l4)))
			continue;
		for (i = 0; i < ps->n_ranges; i++)
			for (port = ps->ranges[i].lo; port <= ps->ranges[i].hi;
			     port++) {
				if (owner[side][l4][port])
					return false;
				owner[side][l4][port] = idx + 1;
			}
	}
	return true;
}

/* The rules of an accepted file, checked without the parser's code. */
static void check_valid(const struct ptrig_ruleset *rs)
{
	const struct ptrig_rule_spec *r;
	size_t i, j;

	memset(owner, 0, sizeof(owner));
	for (i = 0; i < rs->n; i++) {
		r = &rs->rules[i];
		if (!valid_name(r->name))
			broken("rule %zu: invalid name accepted", i);
		for (j = 0; j < i; j++)
			if (!strcmp(rs->rules[j].name, r->name))
				broken("name \"%s\" accepted twice", r->name);
		if (!valid_set(&r->trigger) || !valid_set(&r->open))
			broken("rule \"%s\": invalid port set", r->name);
		if (!mark_set(0, &r->trigger, i) || !mark_set(1, &r->open, i))
			broken("rule \"%s\": a port is shared", r->name);
		if (r->timeout_s < 1 || r->timeout_s > PTRIG_MAX_TIMEOUT_S ||
		    r->flow_timeout_s > PTRIG_MAX_TIMEOUT_S ||
		    (r->peer_mode != PTRIG_PEER_ANY &&
		     r->peer_mode != PTRIG_PEER_TRIGGER))
			broken("rule \"%s\": option out of range", r->name);
		if (r->line < 1 || (i && r->line <= rs->rules[i - 1].line))
			broken("rule \"%s\": line %d out of order", r->name,
			       r->line);
	}
}

/*
 * The text of an accepted file, read as the README describes it: LF or CRLF
 * line ends only, no NUL, lines of at most PTRIG_CONFIG_MAX_LINE characters,
 * a UTF-8 byte-order mark allowed at the start; every line with something
 * other than blanks before its '#' is a rule, in order.
 */
static void check_text(const uint8_t *data, size_t size,
		       const struct ptrig_ruleset *rs)
{
	const uint8_t *p = data, *end = data + size, *eol, *c;
	size_t next = 0, len;
	int line;

	if (size > PTRIG_CONFIG_MAX_BYTES)
		broken("accepted %zu bytes", size);
	if (size >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	for (line = 1; p < end; line++, p = eol + 1) {
		bool rule = false;

		eol = memchr(p, '\n', end - p);
		if (!eol)
			eol = end;
		len = eol - p;
		if (len && p[len - 1] == '\r' && eol < end)
			len--;
		if (len > PTRIG_CONFIG_MAX_LINE)
			broken("accepted line %d of %zu characters", line, len);
		for (c = p; c < p + len; c++) {
			if (*c == '\r' || !*c)
				broken("accepted byte 0x%02x in line %d", *c,
				       line);
			if (*c == '#')
				break;
			if (*c != ' ' && *c != '\t')
				rule = true;
		}
		for (; c < p + len; c++)
			if (*c == '\r' || !*c)
				broken("accepted byte 0x%02x in line %d", *c,
				       line);
		if (!rule)
			continue;
		if (next >= rs->n || rs->rules[next].line != line)
			broken("line %d holds a rule, but no rule has it",
			       line);
		next++;
	}
	if (next != rs->n)
		broken("%zu rules, but %zu lines hold one", rs->n, next);
}

static bool same_set(const struct ptrig_port_set *a,
		     const struct ptrig_port_set *b)
{
	return a->proto == b->proto && a->n_ranges == b->n_ranges &&
	       !memcmp(a->ranges, b->ranges,
		       a->n_ranges * sizeof(a->ranges[0]));
}

static bool same_rule(const struct ptrig_rule_spec *a,
		      const struct ptrig_rule_spec *b)
{
	return !strcmp(a->name, b->name) &&
	       same_set(&a->trigger, &b->trigger) &&
	       same_set(&a->open, &b->open) && a->timeout_s == b->timeout_s &&
	       a->peer_mode == b->peer_mode &&
	       a->flow_timeout_s == b->flow_timeout_s;
}

static void check_round_trip(const struct ptrig_ruleset *rs)
{
	struct ptrig_ruleset back;
	char err[ERR_LEN];
	char *text = malloc(rs->n * (PTRIG_RULE_STRLEN + 1) + 1);
	size_t i, len = 0;
	int n;

	if (!text)
		broken("out of memory");
	for (i = 0; i < rs->n; i++) {
		n = ptrig_rule_format(&rs->rules[i], text + len,
				      PTRIG_RULE_STRLEN);
		if (n < 0 || n >= PTRIG_RULE_STRLEN)
			broken("rule \"%s\" does not fit PTRIG_RULE_STRLEN",
			       rs->rules[i].name);
		len += n;
		text[len++] = '\n';
	}
	if (parse_mem(text, len, &back, err))
		broken("written back, the rules fail: \"%s\"", err);
	if (back.n != rs->n)
		broken("written back, %zu rules become %zu", rs->n, back.n);
	for (i = 0; i < rs->n; i++)
		if (!same_rule(&rs->rules[i], &back.rules[i]) ||
		    back.rules[i].line != (int)i + 1)
			broken("written back, rule \"%s\" changes",
			       rs->rules[i].name);
	ptrig_ruleset_free(&back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptrig_ruleset rs;
	char err[ERR_LEN];

	if (parse_mem(data, size, &rs, err)) {
		check_rejected(data, size, &rs, err);
		return 0;
	}
	check_text(data, size, &rs);
	check_valid(&rs);
	check_round_trip(&rs);
	ptrig_ruleset_free(&rs);
	return 0;
}
