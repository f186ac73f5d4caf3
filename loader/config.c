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
 * without overlaps each table marks every port at most once. Names go into a
 * balanced tree (not a hash table, which crafted names can degrade), so a
 * whole file costs O(rules * log(rules) + ranges + 65536) whatever it holds.
 *
 * The file is text of LF- or CRLF-ended lines, ASCII or UTF-8 (non-ASCII
 * only in comments), with an optional UTF-8 byte-order mark; anything else
 * is an error rather than something to guess about.
 */
#define _GNU_SOURCE /* tdestroy() */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define QUOTE_MAX 64 /* user text longer than this is cut in messages */
/* Longest reason in a message: fixed text, one quoted token and a name. */
#define REASON_MAX 512

enum side {
	SIDE_TRIGGER = 0,
	SIDE_OPEN = 1,
	SIDE_MAX = 2,
};

static const char *const side_names[SIDE_MAX] = {"trigger", "open"};

struct parser {
	const char *fname;
	int line;     /* 0 while no line applies */
	size_t bytes; /* read so far, against PTRIG_CONFIG_MAX_BYTES */
	bool bom_checked;
	char *err;
	size_t errlen;
	struct ptrig_ruleset rs;
	/* Tree of the names seen. Its keys point into names[], which never
	 * moves (rs.rules does), one slot per rule index. */
	void *name_tree;
	char (*names)[PTRIG_NAME_LEN];
	/* Owner of each port: [side][l4][port] = rule index + 1, 0 = free.
	 * uint16_t is enough because there are fewer than 65535 rules. */
	uint16_t (*ports)[PTRIG_L4_MAX][PTRIG_PORTS];
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Writes "FILE:LINE: reason" (or "FILE: reason" for line 0). A long file
 * name gives way, from its start, so that the line and the reason, which
 * say what is wrong, always fit a buffer that can hold them.
 */
static void put_error(char *err, size_t errlen, const char *fname, int line,
		      const char *reason)
{
	char where[24];
	size_t flen, room, tail;

	if (!err || !errlen)
		return;
	if (line > 0)
		snprintf(where, sizeof(where), ":%d: ", line);
	else
		strcpy(where, ": ");
	flen = strlen(fname);
	room = strlen(where) + strlen(reason) + 1;
	room = errlen > room ? errlen - room : 0;
	if (flen <= room) {
		snprintf(err, errlen, "%s%s%s", fname, where, reason);
		return;
	}
	tail = room > 3 ? room - 3 : 0;
	snprintf(err, errlen, "...%s%s%s", fname + flen - tail, where, reason);
}

static int fail(struct parser *p, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	put_error(p->err, p->errlen, p->fname, p->line, reason);
	return -1;
}

/*
 * Copy user text for a message: cut to QUOTE_MAX bytes (a 4 KiB token would
 * push the useful part out of the caller's buffer) and write every byte
 * that is not printable ASCII as \xHH: control characters could garble a
 * terminal, and no-break spaces or bidi marks would hide what is wrong.
 */
static const char *quote(char *buf, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, n = len > QUOTE_MAX ? QUOTE_MAX : len;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = c;
		}
	}
	if (n < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

#define QBUF_LEN (4 * QUOTE_MAX + 4)

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

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void keep_name(void *name)
{
	(void)name; /* the keys live in parser.names */
}

/* Adds rule idx to the name tree, or fails if the name is taken. */
static int claim_name(struct parser *p, size_t idx)
{
	char *name = p->names[idx], **found;
	const struct ptrig_rule_spec *o;

	strcpy(name, p->rs.rules[idx].name);
	found = tsearch(name, &p->name_tree, cmp_name);
	if (!found)
		return fail(p, "out of memory");
	if (*found == name)
		return 0;
	o = &p->rs.rules[(*found - p->names[0]) / PTRIG_NAME_LEN];
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

/* The next byte, or EOF; fails past the size cap. */
static int next_byte(struct parser *p, FILE *f, int *c)
{
	*c = getc_unlocked(f);
	if (*c != EOF && ++p->bytes > PTRIG_CONFIG_MAX_BYTES)
		return fail(p, "file too large (max %d MiB)",
			    PTRIG_CONFIG_MAX_BYTES >> 20);
	return 0;
}

/*
 * A UTF-8 byte-order mark (some Windows editors write one) is skipped. A
 * UTF-16 one is named, or the file would fail on its first NUL byte.
 * Called as the first line grows, with len bytes in buf so far, until the
 * first three have been looked at.
 */
static int check_bom(struct parser *p, char *buf, size_t *len)
{
	const unsigned char *b = (const unsigned char *)buf;

	if (*len == 2 &&
	    ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff)))
		return fail(p,
			    "UTF-16 text (byte-order mark %02x %02x); save "
			    "the file as UTF-8 or ASCII",
			    b[0], b[1]);
	if (*len == 3) {
		p->bom_checked = true;
		if (!memcmp(buf, "\xef\xbb\xbf", 3))
			*len = 0;
	}
	return 0;
}

/*
 * Reads one line into buf (NUL-terminated, line end dropped). Returns 1 for
 * a line, 0 at end of file, -1 on error. Lines end in LF or CRLF; any other
 * CR is an error, because editors disagree on whether a lone CR ends a line
 * and guessing wrong would hide rules. Reading by hand rather than with
 * getline() bounds memory and lets a NUL byte be told apart from the end.
 * The caller holds the stream lock, so getc_unlocked() is safe and cheap.
 */
static int read_line(struct parser *p, FILE *f, char *buf)
{
	size_t len = 0;
	bool nul = false;
	int c;

	p->line++;
	for (;;) {
		if (next_byte(p, f, &c))
			return -1;
		if (c == '\r') {
			if (next_byte(p, f, &c))
				return -1;
			if (c != '\n' && !(c == EOF && ferror(f)))
				return fail(p,
					    "carriage return not followed by "
					    "a line feed (lines end in LF or "
					    "CRLF)");
		}
		if (c == EOF || c == '\n')
			break;
		if (len == PTRIG_CONFIG_MAX_LINE)
			return fail(p, "line too long (max %d characters)",
				    PTRIG_CONFIG_MAX_LINE);
		if (!c)
			nul = true;
		buf[len++] = c;
		if (p->line == 1 && !p->bom_checked && check_bom(p, buf, &len))
			return -1;
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
	p.names = calloc(PTRIG_MAX_RULES, sizeof(*p.names));
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
	tdestroy(p.name_tree, keep_name);
	free(p.ports);
	free(p.names);
	free(buf);
	return ret;
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	}
	return "of an unknown kind";
}

/*
 * Only regular files: a FIFO or a device could block for ever (O_NONBLOCK
 * keeps the open itself from waiting for a FIFO's writer) or never end.
 */
int ptrig_config_parse_file(const char *path, struct ptrig_ruleset *rs,
			    char *err, size_t errlen)
{
	char reason[REASON_MAX];
	struct stat st;
	FILE *f;
	int fd, ret;

	memset(rs, 0, sizeof(*rs));
	if (!*path) {
		put_error(err, errlen, "\"\"", 0,
			  "cannot open: empty file name");
		return -1;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(reason, sizeof(reason), "cannot open: %s",
			 strerror(errno));
		goto refuse;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(reason, sizeof(reason), "not a regular file (%s)",
			 file_kind(st.st_mode));
		goto refuse;
	}
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(reason, sizeof(reason), "cannot open: %s",
			 strerror(errno));
		goto refuse;
	}
	ret = ptrig_config_parse_stream(f, path, rs, err, errlen);
	fclose(f);
	return ret;
refuse:
	if (fd >= 0)
		close(fd);
	put_error(err, errlen, path, 0, reason);
	return -1;
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

int ptrig_rule_format(const struct ptrig_rule_spec *r, char *buf, size_t len)
{
	char trig[PTRIG_PORT_SET_STRLEN], opens[PTRIG_PORT_SET_STRLEN];
	char timeout[32] = "", flow[32] = "";

	ptrig_port_set_format(&r->trigger, trig, sizeof(trig));
	ptrig_port_set_format(&r->open, opens, sizeof(opens));
	if (r->timeout_s != PTRIG_DEFAULT_TRIGGER_TIMEOUT_S)
		snprintf(timeout, sizeof(timeout), " timeout=%u", r->timeout_s);
	if (r->flow_timeout_s)
		snprintf(flow, sizeof(flow), " flow-timeout=%u",
			 r->flow_timeout_s);
	return snprintf(
		buf, len, "%s %s %s%s%s%s", r->name, trig, opens, timeout,
		r->peer_mode == PTRIG_PEER_TRIGGER ? " peer=trigger" : "",
		flow);
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
