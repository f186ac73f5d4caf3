// SPDX-License-Identifier: GPL-2.0
/* `ptrig-load run`: a long-running agent for edge boxes (systemd) and
 * Kubernetes nodes (DaemonSet). One thread runs a poll loop over signals
 * (signalfd), link changes (rtnetlink) and rule-file changes (inotify); the
 * metrics endpoint runs in libmicrohttpd's thread and reads the agent's
 * state under a mutex, and the maps directly. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agent.h"
#include "attach.h"
#include "config.h"
#include "flowtable.h"
#include "pins.h"
#include "state.h"

/* A full rescan of the managed interfaces this often, in case an event was
 * missed; events normally trigger one at once. */
#define RESCAN_INTERVAL_MS 30000
/* Editors and ConfigMap updates write in several steps: act once they are
 * done. */
#define CONFIG_SETTLE_MS 200
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000
#define CONFIG_MAX_BYTES (16 << 20)

struct agent_if {
	char name[IF_NAMESIZE];
	enum agent_if_state state;
	int ifindex; /* where ptrig was last attached */
	bool ever_attached;
	uint64_t reattaches;
	uint64_t attach_failures;
	uint64_t retry_at_ms; /* next attempt after a failure */
	uint32_t retry_ms;
	bool hw_offload_seen; /* a flowtable offloads to hardware on it */
};

static struct {
	pthread_mutex_t lock; /* the fields below; the loop writes them */
	struct agent_if ifs[AGENT_MAX_IFACES];
	int n_ifs;
	uint64_t reloads_ok, reloads_failed;
	bool last_reload_ok;
	double last_reload_ok_time, start_time;
	bool started;
	bool ready_if_absent;
} ag = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool journald; /* stderr goes to the journal: no timestamps */

/* ---------------------------------------------------------- logging -- */

static void agent_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void agent_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (journald) {
		/* sd-daemon(3) priority prefix; journald adds the time. */
		fprintf(stderr, "<%d>", prio);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime_r(&now, &tm));
		fprintf(stderr, "%s ", ts);
	}
	fprintf(stderr, "ptrig-load run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define LOG_ERR_ 3
#define LOG_WARN_ 4
#define LOG_NOTICE_ 5
#define LOG_INFO_ 6

/* What the library said about interface ifname, into the log. */
static void agent_log_msgs(const char *ifname, const struct ptrig_msgs *m)
{
	static const int prio[] = {
		[PTRIG_MSG_INFO] = LOG_INFO_, [PTRIG_MSG_NOTE] = LOG_NOTICE_,
		[PTRIG_MSG_WARN] = LOG_WARN_, [PTRIG_MSG_ERROR] = LOG_ERR_,
		[PTRIG_MSG_LOG] = LOG_ERR_,
	};
	size_t i;

	for (i = 0; i < m->n; i++) {
		const char *line = m->v[i].text;

		/* One record per line: journald and `kubectl logs` show
		 * records, not embedded newlines. */
		while (*line) {
			size_t n = strcspn(line, "\n");

			agent_log(prio[m->v[i].level], "%s: %.*s", ifname,
				  (int)n, line);
			line += n + (line[n] == '\n');
		}
	}
}

/* JOURNAL_STREAM names the stream journald reads; it is inherited by
 * children that log elsewhere, so compare it with our stderr. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/* ------------------------------------------------------------- time -- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --------------------------------------------------------- snapshot -- */

void agent_snapshot(struct agent_snapshot *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ag.lock);
	out->n_ifs = ag.n_ifs;
	for (i = 0; i < ag.n_ifs; i++) {
		memcpy(out->ifs[i].name, ag.ifs[i].name, IF_NAMESIZE);
		out->ifs[i].state = ag.ifs[i].state;
		out->ifs[i].reattaches = ag.ifs[i].reattaches;
		out->ifs[i].attach_failures = ag.ifs[i].attach_failures;
	}
	out->reloads_ok = ag.reloads_ok;
	out->reloads_failed = ag.reloads_failed;
	out->last_reload_ok = ag.last_reload_ok;
	out->last_reload_ok_time = ag.last_reload_ok_time;
	out->start_time = ag.start_time;
	out->started = ag.started;
	out->ready_if_absent = ag.ready_if_absent;
	pthread_mutex_unlock(&ag.lock);
}

/* ------------------------------------------------------ rule file -- */

struct rule_file {
	const char *path;
	char *buf; /* content last tried (good or bad) */
	size_t len;
	bool have;		   /* buf holds something tried */
	struct ptrig_ruleset good; /* the rules last applied */
};

/* The whole file, following symlinks (a ConfigMap's file is one). */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *b = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - n < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > CONFIG_MAX_BYTES + 8192 ||
			    !(nb = realloc(b, cap))) {
				free(b);
				fclose(f);
				return -EFBIG;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(b);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

/* Parse content read from the rule file; messages name the file. */
static int parse_buf(const struct rule_file *rf, const char *buf, size_t len,
		     struct ptrig_ruleset *rs, char *err, size_t errlen)
{
	FILE *f;
	int ret;

	/* fmemopen() refuses a zero-length buffer: an empty file is a valid
	 * file without rules. */
	f = fmemopen((void *)(len ? buf : "\n"), len ? len : 1, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", rf->path, strerror(errno));
		return -1;
	}
	ret = ptrig_config_parse_stream(f, rf->path, rs, err, errlen);
	fclose(f);
	return ret;
}

/* --------------------------------------------------------- attaching -- */

static struct ptrig_attach_req attach_req; /* the run options */
static struct rule_file rules;

static void set_state(struct agent_if *ai, enum agent_if_state st)
{
	pthread_mutex_lock(&ag.lock);
	ai->state = st;
	pthread_mutex_unlock(&ag.lock);
}

/* Attach (or re-attach: the pinned maps are reused, so triggers and flows
 * carry over) with the rules last applied. */
static void attach_one(struct agent_if *ai, int ifindex)
{
	struct ptrig_attach_req req = attach_req;
	struct ptrig_attach_res res;
	struct ptrig_msgs m = {0};
	uint64_t t0 = now_ms();
	int ret;

	req.ifname = ai->name;
	req.rules = &rules.good;
	ret = ptrig_attach(&req, &res, &m);
	agent_log_msgs(ai->name, &m);
	ptrig_msgs_free(&m);
	pthread_mutex_lock(&ag.lock);
	if (ret == PTRIG_EXIT_OK) {
		if (ai->ever_attached)
			ai->reattaches++;
		ai->ever_attached = true;
		ai->ifindex = ifindex;
		ai->state = AGENT_IF_ATTACHED;
		ai->retry_ms = 0;
	} else {
		ai->attach_failures++;
		ai->state = AGENT_IF_FAILED;
		ai->retry_ms = ai->retry_ms ? ai->retry_ms * 2 : RETRY_MIN_MS;
		if (ai->retry_ms > RETRY_MAX_MS)
			ai->retry_ms = RETRY_MAX_MS;
		ai->retry_at_ms = now_ms() + ai->retry_ms;
	}
	pthread_mutex_unlock(&ag.lock);
	if (ret == PTRIG_EXIT_OK)
		agent_log(LOG_INFO_, "%s: attached (ifindex %d) in %llu ms",
			  ai->name, ifindex,
			  (unsigned long long)(now_ms() - t0));
	else
		agent_log(LOG_ERR_, "%s: attach failed; retrying in %u ms",
			  ai->name, ai->retry_ms);
}

/* The device ptrig was attached to lives on under another name: follow it
 * (attach under the new name moves the pins, triggers and flows along)
 * rather than wait for its old name, which a new device may take and whose
 * pins the renamed one still uses. Not when another managed entry has that
 * name: it is managed as itself. */
static bool follow_rename(struct agent_if *ai)
{
	char now[IF_NAMESIZE];
	struct hook_progs h;
	int i;

	if (ai->state != AGENT_IF_ATTACHED || !ai->ifindex ||
	    !if_indextoname(ai->ifindex, now) || !strcmp(now, ai->name))
		return false;
	for (i = 0; i < ag.n_ifs; i++)
		if (!strcmp(ag.ifs[i].name, now))
			return false;
	hooks_query(ai->ifindex, &h);
	if (!h.xdp_id || !prog_is_ptrig(h.xdp_id))
		return false;
	agent_log(LOG_NOTICE_, "%s was renamed to %s; following it", ai->name,
		  now);
	pthread_mutex_lock(&ag.lock);
	snprintf(ai->name, sizeof(ai->name), "%s", now);
	pthread_mutex_unlock(&ag.lock);
	attach_one(ai, ai->ifindex);
	return true;
}

/* Bring one interface to where it should be. */
static void reconcile(struct agent_if *ai, bool check_hooks)
{
	int ifindex = if_nametoindex(ai->name);
	struct hook_progs h;

	if (ifindex != ai->ifindex && follow_rename(ai))
		return;
	if (!ifindex) {
		if (ai->state != AGENT_IF_WAITING)
			agent_log(LOG_WARN_,
				  "%s: interface gone; waiting for it to come "
				  "back",
				  ai->name);
		set_state(ai, AGENT_IF_WAITING);
		return;
	}
	if (ai->state == AGENT_IF_FAILED && now_ms() < ai->retry_at_ms)
		return;
	if (ai->state == AGENT_IF_ATTACHED && ifindex == ai->ifindex) {
		if (!check_hooks)
			return;
		hooks_query(ifindex, &h);
		if (h.xdp_id && prog_is_ptrig(h.xdp_id) && h.tc_egress_id &&
		    h.tc_ingress_id)
			return;
		agent_log(LOG_WARN_,
			  "%s: ptrig's programs are gone; "
			  "re-attaching",
			  ai->name);
	} else if (ai->ever_attached) {
		agent_log(LOG_INFO_,
			  "%s: interface is back (ifindex %d); "
			  "re-attaching",
			  ai->name, ifindex);
	}
	attach_one(ai, ifindex);
}

/* A flowtable that offloads to hardware on an attached interface, set up
 * after its attach (which would have refused it): said once, at the
 * periodic rescan, and once again when it is gone. */
static void flowtables_check(struct agent_if *ai)
{
	struct ptrig_wan_devs d;
	struct ptrig_ft_hit hit;
	int r;

	if (ai->state != AGENT_IF_ATTACHED || ptrig_wan_devs_find(ai->name, &d))
		return;
	r = ptrig_ft_find_hw_offload(&d, &hit, NULL);
	if (r > 0 && !ai->hw_offload_seen)
		agent_log(LOG_WARN_,
			  "%s: flowtable %s %s %s now offloads to hardware on "
			  "%s (flags offload): replies of triggered "
			  "connections the NIC takes over leave without "
			  "ptrig's translation",
			  ai->name, hit.family, hit.table, hit.name, hit.dev);
	else if (r == 0 && ai->hw_offload_seen)
		agent_log(LOG_INFO_,
			  "%s: no flowtable offloads to hardware on it any "
			  "more",
			  ai->name);
	if (r >= 0)
		ai->hw_offload_seen = r > 0;
}

static void reconcile_all(bool check_hooks)
{
	int i;

	for (i = 0; i < ag.n_ifs; i++)
		reconcile(&ag.ifs[i], check_hooks);
}

/* ------------------------------------------------------------ reload -- */

static void count_reload(bool ok)
{
	pthread_mutex_lock(&ag.lock);
	if (ok) {
		ag.reloads_ok++;
		ag.last_reload_ok_time = wall_s();
	} else {
		ag.reloads_failed++;
	}
	ag.last_reload_ok = ok;
	pthread_mutex_unlock(&ag.lock);
}

/* Re-read the rule file and apply it to every attached interface. With
 * only_if_changed, content already tried is not tried again (an editor's
 * extra events, a ConfigMap update of another key). */
static void reload(bool only_if_changed, const char *why)
{
	struct ptrig_ruleset rs = {0};
	char err[1024], *buf = NULL;
	size_t len = 0;
	int i, ret, failed = 0;

	ret = read_file(rules.path, &buf, &len);
	if (ret) {
		if (only_if_changed && ret == -ENOENT)
			return; /* mid-swap; the next event brings the file */
		agent_log(LOG_ERR_,
			  "reload (%s): %s: %s; the running rules stay", why,
			  rules.path, strerror(-ret));
		count_reload(false);
		return;
	}
	if (only_if_changed && rules.have && len == rules.len &&
	    !memcmp(buf, rules.buf, len)) {
		free(buf);
		return;
	}
	free(rules.buf);
	rules.buf = buf;
	rules.len = len;
	rules.have = true;
	sd_notify(0, "RELOADING=1");
	if (parse_buf(&rules, buf, len, &rs, err, sizeof(err))) {
		agent_log(LOG_ERR_,
			  "reload (%s) rejected: %s; the running rules stay",
			  why, err);
		count_reload(false);
		sd_notify(0, "READY=1\nSTATUS=last reload rejected");
		return;
	}
	for (i = 0; i < ag.n_ifs; i++) {
		struct ptrig_msgs m = {0};

		if (ag.ifs[i].state != AGENT_IF_ATTACHED)
			continue;
		ret = ptrig_reload(ag.ifs[i].name, &rs, &m);
		if (ret) {
			failed++;
			agent_log_msgs(ag.ifs[i].name, &m);
		}
		ptrig_msgs_free(&m);
	}
	count_reload(!failed);
	if (!failed) {
		agent_log(LOG_INFO_, "reload (%s): %zu rule%s applied", why,
			  rs.n, rs.n == 1 ? "" : "s");
		/* Interfaces attached later get these rules too. */
		ptrig_ruleset_free(&rules.good);
		rules.good = rs;
	} else {
		ptrig_ruleset_free(&rs);
	}
	sd_notifyf(0, "READY=1\nSTATUS=%zu rules%s", rules.good.n,
		   failed ? ", last reload failed" : "");
}

/* ------------------------------------------------------------ sockets -- */

/* ADDR:PORT, [V6ADDR]:PORT or :PORT (all addresses). */
static int metrics_listen(const char *spec)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
					     AI_PASSIVE};
	struct addrinfo *res;
	char host[128];
	const char *colon = strrchr(spec, ':'), *port;
	int fd, one = 1, err;

	if (!colon || !colon[1] || (size_t)(colon - spec) >= sizeof(host)) {
		ptrig_err("--metrics: \"%s\" is not ADDR:PORT", spec);
		return -EINVAL;
	}
	memcpy(host, spec, colon - spec);
	host[colon - spec] = '\0';
	port = colon + 1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	err = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (err) {
		ptrig_err("--metrics: \"%s\": %s", spec, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		err = -errno;
		ptrig_err("--metrics: cannot listen on %s: %s", spec,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return err;
	}
	freeaddrinfo(res);
	return fd;
}

static int netlink_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_LINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Drain link notifications. Returns true when a managed interface (by name
 * or by the ifindex it had) changed, or when notifications were lost. */
static bool netlink_drain(int fd)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool relevant = false;
	ssize_t n;
	int i;

	for (;;) {
		struct nlmsghdr *nh;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped notifications: what
				 * they said is unknown, so look at all. */
				agent_log(LOG_WARN_, "netlink overflow "
						     "(ENOBUFS); rescanning");
				relevant = true;
				continue;
			}
			break; /* EAGAIN: drained */
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct rtattr *rta;
			int rlen;

			if (nh->nlmsg_type != RTM_NEWLINK &&
			    nh->nlmsg_type != RTM_DELLINK)
				continue;
			for (i = 0; i < ag.n_ifs; i++)
				if (ag.ifs[i].ifindex == ifi->ifi_index)
					relevant = true;
			rlen = IFLA_PAYLOAD(nh);
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, rlen);
			     rta = RTA_NEXT(rta, rlen)) {
				if (rta->rta_type != IFLA_IFNAME)
					continue;
				for (i = 0; i < ag.n_ifs; i++)
					if (!strncmp(RTA_DATA(rta),
						     ag.ifs[i].name,
						     IF_NAMESIZE))
						relevant = true;
			}
		}
	}
	return relevant;
}

/* Watch the rule file's directory: editors replace the file by renaming a
 * new one over it, and a ConfigMap volume swaps a "..data" symlink; neither
 * is seen by a watch on the file itself. */
static int config_watch(const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF;

	if (fd < 0)
		return -errno;
	snprintf(a, sizeof(a), "%s", path);
	if (inotify_add_watch(fd, dirname(a), mask) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* A symlink into another directory: changes of its target. */
	if (realpath(path, b)) {
		snprintf(a, sizeof(a), "%s", path);
		if (strcmp(dirname(b), dirname(a)))
			inotify_add_watch(fd, b, mask);
	}
	return fd;
}

static void inotify_drain(int fd)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* ------------------------------------------------------------ the run -- */

/* The capabilities the agent needs, measured by running it with each one
 * dropped from its bounding set (tests/agent/test_least_privilege.sh):
 * without them it would attach once and then fail on every upgrade or
 * restart, so say it at start. CAP_SYS_ADMIN also covers the CAP_BPF and
 * CAP_PERFMON checks of bpf(). */
static const struct {
	int cap;
	const char *name, *why;
} needed_caps[] = {
	{CAP_NET_ADMIN, "CAP_NET_ADMIN",
	 "attach XDP and TC programs, watch links over rtnetlink"},
	{CAP_SYS_ADMIN, "CAP_SYS_ADMIN",
	 "recognise ptrig's own attached programs by id "
	 "(BPF_PROG_GET_FD_BY_ID), enter --netns, mount bpffs; it also "
	 "grants what CAP_BPF and CAP_PERFMON would (load programs that "
	 "read packets, create maps)"},
};

static int check_caps(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	size_t i;
	int missing = 0;

	if (syscall(SYS_capget, &h, d))
		return 0; /* cannot tell: the operations will say */
	for (i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		int c = needed_caps[i].cap;

		if (d[c / 32].effective & (1u << (c % 32)))
			continue;
		ptrig_err("run: missing capability %s, needed to %s",
			  needed_caps[i].name, needed_caps[i].why);
		missing++;
	}
	return missing ? -EPERM : 0;
}

static int check_ifaces(const struct cmd_opts *o)
{
	int i, j;

	if (o->n_ifaces < 1) {
		ptrig_err("run: missing IFACE (one or more)");
		return PTRIG_EXIT_USAGE;
	}
	if (o->n_ifaces > AGENT_MAX_IFACES) {
		ptrig_err("run: at most %d interfaces", AGENT_MAX_IFACES);
		return PTRIG_EXIT_USAGE;
	}
	for (i = 0; i < o->n_ifaces; i++) {
		const char *n = o->ifaces[i];

		if (!n[0] || strlen(n) >= IF_NAMESIZE || strchr(n, '/') ||
		    n[0] == '.') {
			ptrig_err("run: invalid interface name \"%s\"", n);
			return PTRIG_EXIT_USAGE;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(n, o->ifaces[j])) {
				ptrig_err("run: interface %s given twice", n);
				return PTRIG_EXIT_USAGE;
			}
	}
	return PTRIG_EXIT_OK;
}

int do_run(const struct cmd_opts *o)
{
	int listen_fd = -1, nl_fd = -1, in_fd = -1, sig_fd = -1;
	uint64_t next_scan, settle_at = 0, wd_usec = 0, next_wd = 0;
	void *server = NULL;
	char err[1024];
	sigset_t mask;
	int ret, i;

	ret = check_ifaces(o);
	if (ret)
		return ret;
	journald = stderr_is_journal();
	/* Each scrape reads whole rule and port tables into large temporary
	 * buffers; mmap()ed, they go back to the system when freed, instead of
	 * staying in the metrics thread's heap (about 45 MiB of RSS). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* The rules first: a bad file changes nothing. */
	rules.path = o->config;
	ret = read_file(o->config, &rules.buf, &rules.len);
	if (ret) {
		fprintf(stderr, "%s: %s\n", o->config, strerror(-ret));
		return PTRIG_EXIT_USAGE;
	}
	rules.have = true;
	if (parse_buf(&rules, rules.buf, rules.len, &rules.good, err,
		      sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		free(rules.buf);
		return PTRIG_EXIT_USAGE;
	}
	ret = PTRIG_EXIT_FAIL;
	if (!ptrig_is_root("run") || check_caps())
		goto out;

	/* Opened before entering --netns: the endpoint stays reachable where
	 * the agent was started (the host, a pod's network). */
	if (o->metrics) {
		listen_fd = metrics_listen(o->metrics);
		if (listen_fd < 0) {
			ret = listen_fd == -EINVAL ? PTRIG_EXIT_USAGE
						   : PTRIG_EXIT_FAIL;
			goto out;
		}
	}
	if (ptrig_enter_netns(o->netns) || ptrig_ensure_bpffs(NULL))
		goto out;

	/* Signals arrive through the loop; libmicrohttpd's thread, started
	 * below, inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	/* Subscribed before the first scan, so no change falls in between. */
	nl_fd = netlink_open();
	in_fd = config_watch(o->config);
	if (sig_fd < 0 || nl_fd < 0 || in_fd < 0) {
		ptrig_err("run: %s: %s",
			  sig_fd < 0  ? "signalfd"
			  : nl_fd < 0 ? "rtnetlink socket"
				      : "watching the rule file's directory",
			  strerror(sig_fd < 0 ? errno
					      : -(nl_fd < 0 ? nl_fd : in_fd)));
		goto out;
	}

	attach_req.xdp_mode = o->xdp_mode;
	attach_req.mark_set = o->mark_set;
	attach_req.mark = o->mark;
	attach_req.max_flows = o->max_flows;
	attach_req.max_triggers = o->max_triggers;
	attach_req.lan = o->lan;
	attach_req.lan_mode = o->lan_mode;
	attach_req.allow_hw_offload = o->allow_hw_offload;
	ag.n_ifs = o->n_ifaces;
	ag.ready_if_absent = o->ready_if_absent;
	ag.start_time = wall_s();
	ag.last_reload_ok = true;
	ag.last_reload_ok_time = ag.start_time;
	for (i = 0; i < o->n_ifaces; i++) {
		snprintf(ag.ifs[i].name, IF_NAMESIZE, "%s", o->ifaces[i]);
		ag.ifs[i].state = AGENT_IF_WAITING;
	}
	if (listen_fd >= 0) {
		server = metrics_server_start(listen_fd);
		if (!server) {
			ptrig_err("run: cannot start the metrics server on %s",
				  o->metrics);
			goto out;
		}
		listen_fd = -1; /* libmicrohttpd closes it when stopped */
	}

	agent_log(LOG_INFO_, "starting: %d interface%s, %zu rule%s from %s%s%s",
		  ag.n_ifs, ag.n_ifs == 1 ? "" : "s", rules.good.n,
		  rules.good.n == 1 ? "" : "s", o->config,
		  o->metrics ? ", metrics on " : "",
		  o->metrics ? o->metrics : "");
	for (i = 0; i < ag.n_ifs; i++) {
		reconcile(&ag.ifs[i], false);
		if (ag.ifs[i].state == AGENT_IF_WAITING)
			agent_log(LOG_WARN_,
				  "%s: no such interface; attaching when it "
				  "appears",
				  ag.ifs[i].name);
	}
	pthread_mutex_lock(&ag.lock);
	ag.started = true;
	pthread_mutex_unlock(&ag.lock);
	sd_notifyf(0, "READY=1\nSTATUS=%zu rules on %d interfaces",
		   rules.good.n, ag.n_ifs);
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		next_wd = now_ms();

	next_scan = now_ms() + RESCAN_INTERVAL_MS;
	for (;;) {
		struct pollfd pfd[3] = {{.fd = sig_fd, .events = POLLIN},
					{.fd = nl_fd, .events = POLLIN},
					{.fd = in_fd, .events = POLLIN}};
		uint64_t now = now_ms(), wake = next_scan;
		struct signalfd_siginfo si;
		bool stop = false;

		for (i = 0; i < ag.n_ifs; i++)
			if (ag.ifs[i].state == AGENT_IF_FAILED &&
			    ag.ifs[i].retry_at_ms < wake)
				wake = ag.ifs[i].retry_at_ms;
		if (settle_at && settle_at < wake)
			wake = settle_at;
		if (next_wd && next_wd < wake)
			wake = next_wd;
		if (poll(pfd, 3, wake > now ? (int)(wake - now) : 0) < 0 &&
		    errno != EINTR) {
			ptrig_err("run: poll: %s", strerror(errno));
			break;
		}
		while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload(false, "SIGHUP");
			} else {
				agent_log(LOG_INFO_, "%s: stopping",
					  strsignal(si.ssi_signo));
				stop = true;
			}
		}
		if (stop)
			break;
		if (pfd[1].revents && netlink_drain(nl_fd))
			reconcile_all(true);
		if (pfd[2].revents) {
			inotify_drain(in_fd);
			settle_at = now_ms() + CONFIG_SETTLE_MS;
		}
		now = now_ms();
		if (settle_at && now >= settle_at) {
			settle_at = 0;
			reload(true, "file changed");
		}
		if (now >= next_scan) {
			reconcile_all(true);
			for (i = 0; i < ag.n_ifs; i++)
				flowtables_check(&ag.ifs[i]);
			next_scan = now + RESCAN_INTERVAL_MS;
		} else {
			for (i = 0; i < ag.n_ifs; i++)
				if (ag.ifs[i].state == AGENT_IF_FAILED &&
				    now >= ag.ifs[i].retry_at_ms)
					reconcile(&ag.ifs[i], false);
		}
		if (next_wd && now >= next_wd) {
			sd_notify(0, "WATCHDOG=1");
			next_wd = now + wd_usec / 2000;
		}
	}

	sd_notify(0, "STOPPING=1");
	metrics_server_stop(server);
	server = NULL;
	ret = PTRIG_EXIT_OK;
	if (o->detach_on_exit) {
		for (i = 0; i < ag.n_ifs; i++) {
			struct ptrig_msgs m = {0};

			if (ptrig_detach(ag.ifs[i].name, &m) != PTRIG_EXIT_OK)
				ret = PTRIG_EXIT_FAIL;
			agent_log_msgs(ag.ifs[i].name, &m);
			ptrig_msgs_free(&m);
		}
	} else {
		agent_log(LOG_INFO_, "stopped; the datapath stays attached "
				     "(--detach-on-exit removes it)");
	}
out:
	metrics_server_stop(server);
	if (listen_fd >= 0)
		close(listen_fd);
	if (nl_fd >= 0)
		close(nl_fd);
	if (in_fd >= 0)
		close(in_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	free(rules.buf);
	ptrig_ruleset_free(&rules.good);
	return ret;
}
