/* SPDX-License-Identifier: GPL-2.0 */
/* What the library has to say, kept for its caller: the CLI prints it, the
 * agent logs it. Library functions never write to stdout or stderr. */
#ifndef PTRIG_MSGS_H
#define PTRIG_MSGS_H

#include <stddef.h>

enum ptrig_msg_level {
	PTRIG_MSG_INFO,	 /* what was done or found ("ptrig: ..." on stdout) */
	PTRIG_MSG_NOTE,	 /* worth knowing, nothing wrong ("ptrig-load: ...") */
	PTRIG_MSG_WARN,	 /* works, but not as well as it could */
	PTRIG_MSG_ERROR, /* why the operation failed */
	PTRIG_MSG_LOG,	 /* a block of libbpf/verifier output, verbatim */
};

struct ptrig_msg {
	enum ptrig_msg_level level;
	char *text;
};

struct ptrig_msgs {
	struct ptrig_msg *v;
	size_t n, cap;
};

/* Add a message to m. With m NULL the message is printed at once, as the
 * CLI prints it (for callers that are front-ends themselves). */
void ptrig_msg(struct ptrig_msgs *m, enum ptrig_msg_level level,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print every message as the CLI does, in order. */
void ptrig_msgs_print(const struct ptrig_msgs *m);

/* The last error, or NULL. */
const char *ptrig_msgs_error(const struct ptrig_msgs *m);

void ptrig_msgs_free(struct ptrig_msgs *m);

#endif
