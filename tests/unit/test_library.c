// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the loader library's contract: attach, reload and detach
 * return an exit code and keep their messages for the caller, writing
 * nothing to stdout or stderr; only the front-end prints them. Run against
 * an interface that does not exist and a private, empty pin root, so no
 * real state is touched. The lab tests cover the successful paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "attach.h"
#include "msgs.h"
#include "ptrig_load.h"

#define NO_SUCH_IF "ptrig-nosuch0"

/* What a call wrote to fds 1 and 2, captured in a temporary file. */
struct capture {
	int saved_out, saved_err, fd;
	char text[4096];
};

static void capture_start(struct capture *c)
{
	char path[] = "/tmp/ptrig-unit-capture.XXXXXX";

	fflush(NULL);
	c->fd = mkstemp(path);
	assert_true(c->fd >= 0);
	unlink(path);
	c->saved_out = dup(STDOUT_FILENO);
	c->saved_err = dup(STDERR_FILENO);
	assert_true(c->saved_out >= 0 && c->saved_err >= 0);
	dup2(c->fd, STDOUT_FILENO);
	dup2(c->fd, STDERR_FILENO);
}

static const char *capture_end(struct capture *c)
{
	ssize_t n;

	fflush(NULL);
	dup2(c->saved_out, STDOUT_FILENO);
	dup2(c->saved_err, STDERR_FILENO);
	close(c->saved_out);
	close(c->saved_err);
	n = pread(c->fd, c->text, sizeof(c->text) - 1, 0);
	close(c->fd);
	c->text[n > 0 ? n : 0] = 0;
	return c->text;
}

static void test_msgs_keep_order_and_last_error(void **state)
{
	struct ptrig_msgs m = {0};
	struct capture c;

	(void)state;
	capture_start(&c);
	ptrig_msg(&m, PTRIG_MSG_INFO, "one %d", 1);
	ptrig_msg(&m, PTRIG_MSG_ERROR, "first error");
	ptrig_msg(&m, PTRIG_MSG_WARN, "a warning");
	ptrig_msg(&m, PTRIG_MSG_ERROR, "second error: %s", "why");
	assert_string_equal(capture_end(&c), "");
	assert_int_equal(m.n, 4);
	assert_int_equal(m.v[0].level, PTRIG_MSG_INFO);
	assert_string_equal(m.v[0].text, "one 1");
	assert_string_equal(ptrig_msgs_error(&m), "second error: why");
	ptrig_msgs_free(&m);
	assert_int_equal(m.n, 0);
	assert_null(ptrig_msgs_error(&m));
}

/* The CLI's format: info on stdout, the rest on stderr. */
static void test_msgs_print_as_the_cli_does(void **state)
{
	struct ptrig_msgs m = {0};
	struct capture c;

	(void)state;
	ptrig_msg(&m, PTRIG_MSG_INFO, "attached");
	ptrig_msg(&m, PTRIG_MSG_WARN, "careful");
	ptrig_msg(&m, PTRIG_MSG_NOTE, "nothing was changed on x");
	ptrig_msg(&m, PTRIG_MSG_LOG, "verifier line");
	capture_start(&c);
	ptrig_msgs_print(&m);
	assert_string_equal(capture_end(&c),
			    "ptrig: attached\n"
			    "ptrig-load: warning: careful\n"
			    "ptrig-load: nothing was changed on x\n"
			    "---- last lines of the libbpf/verifier log ----\n"
			    "verifier line\n"
			    "----\n");
	ptrig_msgs_free(&m);
	/* Without a list, a message is printed at once. */
	capture_start(&c);
	ptrig_msg(NULL, PTRIG_MSG_ERROR, "now");
	assert_string_equal(capture_end(&c), "ptrig-load: now\n");
}

static void test_attach_missing_interface(void **state)
{
	struct ptrig_ruleset rs = {0};
	struct ptrig_attach_req req = {.ifname = NO_SUCH_IF, .rules = &rs};
	struct ptrig_attach_res res;
	struct ptrig_msgs m = {0};
	struct capture c;
	int ret;

	(void)state;
	capture_start(&c);
	ret = ptrig_attach(&req, &res, &m);
	assert_string_equal(capture_end(&c), "");
	assert_int_equal(ret, PTRIG_EXIT_FAIL);
	assert_non_null(ptrig_msgs_error(&m));
	assert_string_equal(ptrig_msgs_error(&m),
			    "interface \"" NO_SUCH_IF "\" not found");
	assert_int_equal(res.ifindex, 0);
	ptrig_msgs_free(&m);
}

/* Reload and detach of an interface never attached under this pin root. */
static void test_reload_and_detach_not_attached(void **state)
{
	struct ptrig_ruleset rs = {0};
	struct ptrig_msgs m = {0};
	const char *want = "ptrig is not attached to " NO_SUCH_IF " (no ";
	struct capture c;
	int ret;

	(void)state;
	capture_start(&c);
	ret = ptrig_reload(NO_SUCH_IF, &rs, &m);
	assert_string_equal(capture_end(&c), "");
	assert_int_equal(ret, PTRIG_EXIT_FAIL);
	assert_non_null(ptrig_msgs_error(&m));
	assert_memory_equal(ptrig_msgs_error(&m), want, strlen(want));
	ptrig_msgs_free(&m);

	capture_start(&c);
	ret = ptrig_detach(NO_SUCH_IF, &m);
	assert_string_equal(capture_end(&c), "");
	assert_int_equal(ret, PTRIG_EXIT_FAIL);
	assert_non_null(ptrig_msgs_error(&m));
	assert_memory_equal(ptrig_msgs_error(&m), want, strlen(want));
	ptrig_msgs_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgs_keep_order_and_last_error),
		cmocka_unit_test(test_msgs_print_as_the_cli_does),
		cmocka_unit_test(test_attach_missing_interface),
		cmocka_unit_test(test_reload_and_detach_not_attached),
	};
	char root[64];

	/* A pin root of our own that never exists: nothing real is read. */
	snprintf(root, sizeof(root), "/sys/fs/bpf/ptrig-test-unit-%d",
		 (int)getpid());
	setenv("PTRIG_PIN_ROOT", root, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
