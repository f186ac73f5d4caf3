// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the agent's metrics text and readiness (loader/metrics.c)
 * for interfaces whose maps are not there (no root, no BPF): the agent's
 * own series, label escaping, and when /readyz says ready. The lab tests
 * check the map-backed series against `status --json`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

static void snapshot_of(struct agent_snapshot *a, int n, ...)
{
	va_list ap;
	int i;

	memset(a, 0, sizeof(*a));
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		snprintf(a->ifs[i].name, IF_NAMESIZE, "%s", va_arg(ap, char *));
		a->ifs[i].state = va_arg(ap, int);
	}
	va_end(ap);
	a->n_ifs = n;
	a->started = true;
	a->last_reload_ok = true;
}

static char *render(const struct agent_snapshot *a)
{
	size_t len = 0;
	char *text = metrics_render(a, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* A whole line of the exposition, newline-delimited. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static void test_agent_series(void **state)
{
	struct agent_snapshot a;
	char *t;

	(void)state;
	setenv("PTRIG_PIN_ROOT", "/nonexistent-ptrig-unit", 1);
	snapshot_of(&a, 2, "wan0", AGENT_IF_ATTACHED, "ppp0", AGENT_IF_WAITING);
	a.ifs[0].reattaches = 3;
	a.ifs[1].attach_failures = 2;
	a.reloads_ok = 5;
	a.reloads_failed = 1;
	a.last_reload_ok = false;
	t = render(&a);
	assert_true(has_line(t, "# TYPE ptrig_reattaches_total counter"));
	assert_true(
		has_line(t, "ptrig_reattaches_total{interface=\"wan0\"} 3"));
	assert_true(
		has_line(t, "ptrig_reattaches_total{interface=\"ppp0\"} 0"));
	assert_true(has_line(
		t, "ptrig_attach_failures_total{interface=\"ppp0\"} 2"));
	assert_true(has_line(t, "ptrig_config_reloads_total{result=\"ok\"} 5"));
	assert_true(
		has_line(t, "ptrig_config_reloads_total{result=\"failed\"} 1"));
	assert_true(has_line(t, "ptrig_config_last_reload_successful 0"));
	assert_true(
		has_line(t, "ptrig_interface_present{interface=\"wan0\"} 1"));
	assert_true(
		has_line(t, "ptrig_interface_present{interface=\"ppp0\"} 0"));
	/* No maps could be read: not attached, and no map-backed series. */
	assert_true(
		has_line(t, "ptrig_interface_attached{interface=\"wan0\"} 0"));
	assert_null(strstr(t, "ptrig_rules{"));
	assert_null(strstr(t, "ptrig_active_flows{"));
	/* Families are still declared once each. */
	assert_non_null(strstr(t, "# TYPE ptrig_active_flows gauge\n"));
	assert_null(strstr(strstr(t, "# TYPE ptrig_active_flows gauge\n") + 1,
			   "# TYPE ptrig_active_flows gauge\n"));
	free(t);
}

static void test_label_escaping(void **state)
{
	struct agent_snapshot a;
	char *t;

	(void)state;
	setenv("PTRIG_PIN_ROOT", "/nonexistent-ptrig-unit", 1);
	/* Interface names may hold quotes and backslashes. */
	snapshot_of(&a, 1, "we\"i\\rd", AGENT_IF_WAITING);
	t = render(&a);
	assert_true(has_line(
		t, "ptrig_interface_present{interface=\"we\\\"i\\\\rd\"} 0"));
	free(t);
}

static void test_ready(void **state)
{
	struct agent_snapshot a;
	char why[96];

	(void)state;
	snapshot_of(&a, 2, "wan0", AGENT_IF_ATTACHED, "wan1",
		    AGENT_IF_ATTACHED);
	assert_true(agent_ready(&a, why, sizeof(why)));

	a.started = false;
	assert_false(agent_ready(&a, why, sizeof(why)));
	assert_string_equal(why, "starting");
	a.started = true;

	a.ifs[1].state = AGENT_IF_WAITING;
	assert_false(agent_ready(&a, why, sizeof(why)));
	assert_string_equal(why, "wan1: waiting for the interface");
	a.ready_if_absent = true;
	assert_true(agent_ready(&a, why, sizeof(why)));

	/* A failing attach is never ready, whatever the operator chose. */
	a.ifs[0].state = AGENT_IF_FAILED;
	assert_false(agent_ready(&a, why, sizeof(why)));
	assert_string_equal(why, "wan0: attach failed, retrying");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_series),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_ready),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
