/* SPDX-License-Identifier: GPL-2.0 */
/* Rule-file parsing and validation (ptrig.conf). No BPF, no root needed. */
#ifndef PTRIG_CONFIG_H
#define PTRIG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ptrig.h"

#define PTRIG_MAX_RANGES 64 /* port ranges per side of a rule */

/* Longest accepted line, without its newline; longer lines are an error. */
#define PTRIG_CONFIG_MAX_LINE 4096

/* Largest accepted file, in bytes: rule files are small, and a bound keeps
 * line numbers in range whatever the input. */
#define PTRIG_CONFIG_MAX_BYTES (16 << 20)

/* Enough for any ptrig_port_set_format() output: "both:" plus
 * PTRIG_MAX_RANGES times "65535-65535" and a comma (or the NUL). */
#define PTRIG_PORT_SET_STRLEN (5 + PTRIG_MAX_RANGES * 12)

struct ptrig_port_range {
	uint16_t lo;
	uint16_t hi; /* inclusive; lo == hi for a single port */
};

struct ptrig_port_set {
	uint8_t proto; /* enum ptrig_proto_mask */
	uint16_t n_ranges;
	struct ptrig_port_range ranges[PTRIG_MAX_RANGES];
};

struct ptrig_rule_spec {
	char name[PTRIG_NAME_LEN];
	struct ptrig_port_set trigger;
	struct ptrig_port_set open;
	uint32_t timeout_s;	 /* trigger idle timeout */
	uint8_t peer_mode;	 /* enum ptrig_peer_mode */
	uint32_t flow_timeout_s; /* 0: protocol defaults (tcp 7440, udp 300) */
	int line;		 /* line number in the file, for messages */
};

struct ptrig_ruleset {
	struct ptrig_rule_spec *rules;
	size_t n;
	size_t cap;
};

/*
 * Parse and validate a whole rule file. On success returns 0 and fills rs
 * (rs must be zeroed or freed before). On error returns -1, leaves rs empty
 * and writes one message "FILE:LINE: reason" (or "FILE: reason" when no line
 * applies, e.g. the file cannot be opened) into err; a FILE too long for err
 * is cut at its start, so that LINE and reason stay whole. Only regular
 * files (or symlinks to them) are read: FIFOs, devices and directories are
 * refused without waiting on them.
 */
int ptrig_config_parse_file(const char *path, struct ptrig_ruleset *rs,
			    char *err, size_t errlen);

/* Same, from an open stream; fname is only used in messages. */
int ptrig_config_parse_stream(FILE *f, const char *fname,
			      struct ptrig_ruleset *rs, char *err,
			      size_t errlen);

void ptrig_ruleset_free(struct ptrig_ruleset *rs);

/* Format a port set as in the rule file ("tcp:6660-6669,113"). */
void ptrig_port_set_format(const struct ptrig_port_set *ps, char *buf,
			   size_t len);

/* Enough for any ptrig_rule_format() output: a name, two port sets and
 * " timeout=86400 peer=trigger flow-timeout=86400". */
#define PTRIG_RULE_STRLEN (PTRIG_NAME_LEN + 2 * PTRIG_PORT_SET_STRLEN + 64)

/*
 * Write a rule as one line of a rule file, without a newline and with only
 * the options that differ from their defaults ("ftp tcp:21 tcp:50000-50010
 * timeout=300"). Parsing the line gives the rule back. Returns the length,
 * as snprintf() does; the text is cut (but terminated) if len is too small.
 */
int ptrig_rule_format(const struct ptrig_rule_spec *r, char *buf, size_t len);

/* Effective flow timeouts of a rule (flow-timeout overrides both). */
uint32_t ptrig_rule_tcp_flow_timeout(const struct ptrig_rule_spec *r);
uint32_t ptrig_rule_udp_flow_timeout(const struct ptrig_rule_spec *r);

#endif
