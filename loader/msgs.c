// SPDX-License-Identifier: GPL-2.0
/* Messages of the library, printed or logged by its front-ends. */
#define _GNU_SOURCE /* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgs.h"

static void print_one(enum ptrig_msg_level level, const char *text)
{
	/* Keep the order of the two streams when both go to one file. */
	if (level != PTRIG_MSG_INFO)
		fflush(stdout);
	switch (level) {
	case PTRIG_MSG_INFO:
		printf("ptrig: %s\n", text);
		break;
	case PTRIG_MSG_NOTE:
	case PTRIG_MSG_ERROR:
		fprintf(stderr, "ptrig-load: %s\n", text);
		break;
	case PTRIG_MSG_WARN:
		fprintf(stderr, "ptrig-load: warning: %s\n", text);
		break;
	case PTRIG_MSG_LOG:
		fprintf(stderr,
			"---- last lines of the libbpf/verifier log ----\n%s%s"
			"----\n",
			text,
			*text && text[strlen(text) - 1] != '\n' ? "\n" : "");
		break;
	}
}

void ptrig_msg(struct ptrig_msgs *m, enum ptrig_msg_level level,
	       const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!m) {
		print_one(level, text);
		free(text);
		return;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		struct ptrig_msg *v = realloc(m->v, cap * sizeof(*v));

		if (!v) {
			/* Out of memory: better said now than lost. */
			print_one(level, text);
			free(text);
			return;
		}
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].level = level;
	m->v[m->n].text = text;
	m->n++;
}

void ptrig_msgs_print(const struct ptrig_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		print_one(m->v[i].level, m->v[i].text);
}

const char *ptrig_msgs_error(const struct ptrig_msgs *m)
{
	size_t i = m->n;

	while (i--)
		if (m->v[i].level == PTRIG_MSG_ERROR)
			return m->v[i].text;
	return NULL;
}

void ptrig_msgs_free(struct ptrig_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].text);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}
