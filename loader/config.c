// SPDX-License-Identifier: GPL-2.0
/*
 * ptrig.conf parser and validator.
 *
 * The file is read line by line and every rule is checked against the rules
 * before it as soon as it is parsed, so the error reported is always the
 * first one in file order, and a conflict is reported at the later line.
 *
 * Overlaps are found with per-(side, protocol) port ownership tables, the
 * same shape as the datapath's port table: marking a port costs O(1), and
 * without overlaps each table marks every port at most once, so a whole file
 * costs O(rules + ranges + 65536) however many rules it has.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME_SLOTS 32768 /* power of two, > 2 * (PTRIG_MAX_RULES - 1) */
#define QUOTE_MAX 64	 /* user text longer than this is cut in messages */

enum side {
	SIDE_TRIGGER = 0,
	SIDE_OPEN = 1,
	SIDE_MAX = 2,
};

static const char *const side_names[SIDE_MAX] = {"trigger", "open"};

struct parser {
	const char *fname;
	int line; /* 0 while no line applies */
	char *err;
	size_t errlen;
	struct ptrig_ruleset rs;
	/* Open-addressed name hash: rule index + 1, 0 = empty slot. */
	uint16_t *names;
	/* Owner of each port: [side][l4][port] = rule index + 1, 0 = free.
	 * uint16_t is enough because there are fewer than 65535 rules. */
	uint16_t (*ports)[PTRIG_L4_MAX][PTRIG_PORTS];
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -1;
	if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->fname, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->fname);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Copy user text for a message: cut to QUOTE_MAX chars (a 4 KiB token would
 * push the useful part out of the caller's buffer) and replace control
 * characters, which could garble a terminal.
 */
static const char *quote(char *buf, const char *s, size_t len)
{
	size_t i, n = len > QUOTE_MAX ? QUOTE_MAX : len;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define QBUF_LEN (QUOTE_MAX + 4)

/*
 * Decimal digits only: no sign, no spaces, no hex (strtoul would take all of
 * those). Saturates instead of wrapping, so huge values fail range checks.
 */
static int parse_uint(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > UINT32_MAX)
			v = (uint64_t)UINT32_MAX + 1;
	}
	*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return 0;
}

static int parse_port(struct parser *p, const char *s, size_t len,
		      uint16_t *out)
{
	char q[QBUF_LEN];
	uint32_t v;

	if (parse_uint(s, len, &v))
		return fail(p, "invalid port \"%s\"", quote(q, s, len));
	if (v < 1 || v > 65535)
		return fail(p, "port %s out of range (1-65535)",
			    quote(q, s, len));
	*out = v;
	return 0;
}

static int parse_proto(struct parser *p, const char *s, size_t len,
		       uint8_t *out)
{
	char q[QBUF_LEN];

	if (len == 3 && !memcmp(s, "tcp", 3))
		*out = PTRIG_PROTO_TCP;
	else if (len == 3 && !memcmp(s, "udp", 3))
		*out = PTRIG_PROTO_UDP;
	else if (len == 4 && !memcmp(s, "both", 4))
		*out = PTRIG_PROTO_BOTH;
	else
		return fail(
			p,
			"unknown protocol \"%s\" (expected tcp, udp or both)",
			quote(q, s, len));
	return 0;
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case PTRIG_PROTO_TCP:
		return "tcp";
	case PTRIG_PROTO_UDP:
		return "udp";
	case PTRIG_PROTO_BOTH:
		return "both";
	}
	return "?";
}

/* PROTO:PORTS, PORTS being a comma list of PORT or LO-HI. */
static int parse_port_set(struct parser *p, const char *tok,
			  struct ptrig_port_set *ps)
{
	const char *colon = strchr(tok, ':');
	const char *s, *end;
	char q[QBUF_LEN];

	memset(ps, 0, sizeof(*ps));
	if (!colon)
		return fail(p, "expected PROTO:PORTS, got \"%s\"",
			    quote(q, tok, strlen(tok)));

	if (parse_proto(p, tok, colon - tok, &ps->proto))
		return -1;

	for (s = colon + 1;; s = end + 1) {
		struct ptrig_port_range r;
		const char *dash;
		size_t len;

		end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		len = end - s;
		if (!len)
			return fail(p, "missing port in \"%s\"",
				    quote(q, tok, strlen(tok)));
		if (ps->n_ranges == PTRIG_MAX_RANGES)
			return fail(p, "too many port ranges (max %d per side)",
				    PTRIG_MAX_RANGES);

		dash = memchr(s, '-', len);
		if (dash) {
			if (dash == s || dash == end - 1)
				return fail(p, "invalid port range \"%s\"",
					    quote(q, s, len));
			if (parse_port(p, s, dash - s, &r.lo) ||
			    parse_port(p, dash + 1, end - dash - 1, &r.hi))
				return -1;
			if (r.lo > r.hi)
				return fail(p, "reversed port range \"%s\"",
					    quote(q, s, len));
		} else {
			if (parse_port(p, s, len, &r.lo))
				return -1;
			r.hi = r.lo;
		}
		ps->ranges[ps->n_ranges++] = r;
		if (!*end)
			return 0;
	}
}

static bool valid_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len < 1 || len >= PTRIG_NAME_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int check_name(struct parser *p, const char *s)
{
	char q[QBUF_LEN];

	if (valid_name(s))
		return 0;
	/* 31 is spelt out below so the message stays greppable. */
	_Static_assert(PTRIG_NAME_LEN - 1 == 31, "update the message");
	return fail(p, "invalid rule name \"%s\" (1-31 of A-Z a-z 0-9 _ -)",
		    quote(q, s, strlen(s)));
}

static int parse_timeout(struct parser *p, const char *tok, const char *val,
			 uint32_t *out)
{
	char q[QBUF_LEN];
	uint32_t v;

	if (parse_uint(val, strlen(val), &v))
		return fail(p, "invalid value \"%s\" (expected 1-%d)",
			    quote(q, tok, strlen(tok)), PTRIG_MAX_TIMEOUT_S);
	if (v < 1 || v > PTRIG_MAX_TIMEOUT_S)
		return fail(p, "%s out of range (1-%d)",
			    quote(q, tok, strlen(tok)), PTRIG_MAX_TIMEOUT_S);
	*out = v;
	return 0;
}

static int parse_peer(struct parser *p, const char *tok, const char *val,
		      uint8_t *out)
{
	char q[QBUF_LEN];

	if (!strcmp(val, "any"))
		*out = PTRIG_PEER_ANY;
	else if (!strcmp(val, "trigger"))
		*out = PTRIG_PEER_TRIGGER;
	else
		return fail(p, "invalid value \"%s\" (expected any or trigger)",
			    quote(q, tok, strlen(tok)));
	return 0;
}

enum opt {
	OPT_TIMEOUT,
	OPT_PEER,
	OPT_FLOW_TIMEOUT,
	OPT_MAX,
};

static const char *const opt_names[OPT_MAX] = {"timeout", "peer",
					       "flow-timeout"};

static int parse_option(struct parser *p, const char *tok,
			struct ptrig_rule_spec *r, bool seen[OPT_MAX])
{
	const char *eq = strchr(tok, '=');
	const char *val;
	char q[QBUF_LEN];
	int o;

	for (o = 0; eq && o < OPT_MAX; o++)
		if (strlen(opt_names[o]) == (size_t)(eq - tok) &&
		    !memcmp(tok, opt_names[o], eq - tok))
			break;
	if (!eq || o == OPT_MAX)
		return fail(p, "unknown option \"%s\"",
			    quote(q, tok, strlen(tok)));
	if (seen[o])
		return fail(p, "duplicate option \"%s\"", opt_names[o]);
	seen[o] = true;

	val = eq + 1;
	switch (o) {
	case OPT_TIMEOUT:
		return parse_timeout(p, tok, val, &r->timeout_s);
	case OPT_FLOW_TIMEOUT:
		return parse_timeout(p, tok, val, &r->flow_timeout_s);
	default:
		return parse_peer(p, tok, val, &r->peer_mode);
	}
}

/* Next field of the line, split in place on spaces and tabs. */
static char *next_token(char **pos)
{
	char *s = *pos + strspn(*pos, " \t");
	char *e;

	if (!*s) {
		*pos = s;
		return NULL;
	}
	e = s + strcspn(s, " \t");
	if (*e)
		*e++ = '\0';
	*pos = e;
	return s;
}

static int cmp_range(const void *a, const void *b)
{
	const struct ptrig_port_range *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

/* A list such as tcp:10-20,15 names port 15 twice. At most 64 ranges, so a
 * sorted copy is cheap. The first overlap in lo order is the lowest port. */
static int check_self_overlap(struct parser *p, enum side side,
			      const struct ptrig_port_set *ps)
{
	struct ptrig_port_range r[PTRIG_MAX_RANGES];
	unsigned int i, reach;

	memcpy(r, ps->ranges, ps->n_ranges * sizeof(r[0]));
	qsort(r, ps->n_ranges, sizeof(r[0]), cmp_range);
	for (i = 1, reach = r[0].hi; i < ps->n_ranges; i++) {
		if (r[i].lo <= reach)
			return fail(p, "%s port %s:%u listed more than once",
				    side_names[side], proto_name(ps->proto),
				    r[i].lo);
		if (r[i].hi > reach)
			reach = r[i].hi;
	}
	return 0;
}

static int overlap_fail(struct parser *p, enum side side, int l4,
			unsigned int port, const struct ptrig_rule_spec *o)
{
	return fail(p, "%s ports %s:%u overlap rule \"%s\" (line %d)",
		    side_names[side], proto_name(1 << l4), port, o->name,
		    o->line);
}

/* Claims the rule's ports on one side; rule idx is the rule being added. */
static int claim_ports(struct parser *p, enum side side, size_t idx,
		       const struct ptrig_port_set *ps)
{
	int l4;
	unsigned int i, port;

	for (l4 = 0; l4 < PTRIG_L4_MAX; l4++) {
		uint16_t *owner = p->ports[side][l4];

		if (!(ps->proto & (1 << l4)))
			continue;
		for (i = 0; i < ps->n_ranges; i++) {
			for (port = ps->ranges[i].lo; port <= ps->ranges[i].hi;
			     port++) {
				if (owner[port])
					return overlap_fail(
						p, side, l4, port,
						&p->rs.rules[owner[port] - 1]);
				owner[port] = idx + 1;
			}
		}
	}
	return 0;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Adds rule idx to the name table, or fails if the name is taken. */
static int claim_name(struct parser *p, size_t idx)
{
	const char *name = p->rs.rules[idx].name;
	uint32_t h = name_hash(name) & (NAME_SLOTS - 1);
	const struct ptrig_rule_spec *o = NULL;

	for (; p->names[h]; h = (h + 1) & (NAME_SLOTS - 1)) {
		o = &p->rs.rules[p->names[h] - 1];
		if (!strcmp(o->name, name))
			break;
		o = NULL;
	}
	if (!o) {
		p->names[h] = idx + 1;
		return 0;
	}
	return fail(p, "duplicate rule name \"%s\" (first defined on line %d)",
		    name, o->line);
}

static const char usage[] = "expected NAME PROTO:PORTS PROTO:PORTS [options]";

static int parse_rule(struct parser *p, char *line)
{
	struct ptrig_rule_spec *r;
	bool seen[OPT_MAX] = {false};
	char *pos = line, *name, *trig, *open, *tok;
	size_t idx = p->rs.n;
	enum side side;

	name = next_token(&pos);
	if (!name)
		return 0; /* blank or comment only */

	trig = next_token(&pos);
	open = next_token(&pos);
	if (!trig || !open)
		return fail(p, "%s", usage);
	if (check_name(p, name))
		return -1;
	if (idx >= PTRIG_MAX_RULES - 1)
		return fail(p, "too many rules (max %d)", PTRIG_MAX_RULES - 1);

	if (idx == p->rs.cap) {
		size_t cap = p->rs.cap ? p->rs.cap * 2 : 64;
		struct ptrig_rule_spec *n;

		n = realloc(p->rs.rules, cap * sizeof(*n));
		if (!n)
			return fail(p, "out of memory");
		p->rs.rules = n;
		p->rs.cap = cap;
	}
	r = &p->rs.rules[idx];
	memset(r, 0, sizeof(*r));
	strcpy(r->name, name); /* length checked by valid_name() */
	r->timeout_s = PTRIG_DEFAULT_TRIGGER_TIMEOUT_S;
	r->peer_mode = PTRIG_PEER_ANY;
	r->flow_timeout_s = 0;
	r->line = p->line;

	if (parse_port_set(p, trig, &r->trigger) ||
	    parse_port_set(p, open, &r->open))
		return -1;
	while ((tok = next_token(&pos)))
		if (parse_option(p, tok, r, seen))
			return -1;

	/* The line is well-formed; now check it against the earlier rules. */
	if (claim_name(p, idx))
		return -1;
	for (side = SIDE_TRIGGER; side < SIDE_MAX; side++) {
		const struct ptrig_port_set *ps =
			side == SIDE_TRIGGER ? &r->trigger : &r->open;

		if (check_self_overlap(p, side, ps) ||
		    claim_ports(p, side, idx, ps))
			return -1;
	}
	p->rs.n++;
	return 0;
}

/*
 * Reads one line into buf (NUL-terminated, newline dropped). Returns 1 for a
 * line, 0 at end of file, -1 on error. Reading by hand rather than with
 * getline() bounds memory and lets a NUL byte be told apart from the end.
 * The caller holds the stream lock, so getc_unlocked() is safe and cheap.
 */
static int read_line(struct parser *p, FILE *f, char *buf)
{
	size_t len = 0;
	bool nul = false;
	int c;

	p->line++;
	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (len == PTRIG_CONFIG_MAX_LINE)
			return fail(p, "line too long (max %d characters)",
				    PTRIG_CONFIG_MAX_LINE);
		if (!c)
			nul = true;
		buf[len++] = c;
	}
	if (c == EOF && ferror(f)) {
		int e = errno;

		p->line = 0; /* reported against the file, not a line */
		return fail(p, "read error: %s", strerror(e));
	}
	if (c == EOF && len == 0) {
		p->line--; /* nothing after the last newline: not a line */
		return 0;
	}
	if (nul)
		return fail(p, "NUL byte in line");
	if (len && buf[len - 1] == '\r')
		len--; /* CRLF files */
	buf[len] = '\0';
	return 1;
}

int ptrig_config_parse_stream(FILE *f, const char *fname,
			      struct ptrig_ruleset *rs, char *err,
			      size_t errlen)
{
	char *buf = NULL;
	struct parser p = {
		.fname = fname ? fname : "-",
		.err = err,
		.errlen = errlen,
	};
	int ret = -1, rd;

	if (err && errlen)
		err[0] = '\0';
	memset(rs, 0, sizeof(*rs));

	buf = malloc(PTRIG_CONFIG_MAX_LINE + 1);
	p.names = calloc(NAME_SLOTS, sizeof(*p.names));
	p.ports = calloc(SIDE_MAX, sizeof(*p.ports));
	if (!buf || !p.names || !p.ports) {
		fail(&p, "out of memory");
		goto out;
	}

	flockfile(f);
	while ((rd = read_line(&p, f, buf)) > 0) {
		char *hash = strchr(buf, '#');

		if (hash)
			*hash = '\0';
		if (parse_rule(&p, buf))
			break;
	}
	funlockfile(f);
	if (rd == 0) {
		*rs = p.rs;
		p.rs.rules = NULL;
		ret = 0;
	}
out:
	ptrig_ruleset_free(&p.rs);
	free(p.ports);
	free(p.names);
	free(buf);
	return ret;
}

int ptrig_config_parse_file(const char *path, struct ptrig_ruleset *rs,
			    char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		int e = errno;

		memset(rs, 0, sizeof(*rs));
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path,
				 strerror(e));
		return -1;
	}
	ret = ptrig_config_parse_stream(f, path, rs, err, errlen);
	fclose(f);
	return ret;
}

void ptrig_ruleset_free(struct ptrig_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

void ptrig_port_set_format(const struct ptrig_port_set *ps, char *buf,
			   size_t len)
{
	size_t off;
	int n;
	unsigned int i;

	if (!len)
		return;
	n = snprintf(buf, len, "%s:", proto_name(ps->proto));
	for (i = 0; i < ps->n_ranges && n >= 0 && (size_t)n < len; i++) {
		const struct ptrig_port_range *r = &ps->ranges[i];
		const char *sep = i ? "," : "";

		off = n;
		if (r->lo == r->hi)
			n = snprintf(buf + off, len - off, "%s%u", sep, r->lo);
		else
			n = snprintf(buf + off, len - off, "%s%u-%u", sep,
				     r->lo, r->hi);
		if (n >= 0)
			n += off;
	}
}

uint32_t ptrig_rule_tcp_flow_timeout(const struct ptrig_rule_spec *r)
{
	return r->flow_timeout_s ? r->flow_timeout_s
				 : PTRIG_DEFAULT_TCP_FLOW_TIMEOUT_S;
}

uint32_t ptrig_rule_udp_flow_timeout(const struct ptrig_rule_spec *r)
{
	return r->flow_timeout_s ? r->flow_timeout_s
				 : PTRIG_DEFAULT_UDP_FLOW_TIMEOUT_S;
}
