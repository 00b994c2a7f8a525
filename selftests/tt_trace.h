/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: a private tracefs instance per test, and the states a
 * connection goes through, as the stack reports them.
 *
 * Each test that watches states opens its own instance
 * (/sys/kernel/tracing/instances/tt-PID-N), enables there only the state
 * change event of its stack, filtered on its port, and reads that
 * instance's buffer: nothing another test (or another instance) does is
 * mixed in, and no event is missed however short the state (the kernel
 * records each change as it makes it, in order).
 *
 *   toytcp     toytcp:toytcp_state_change, fields sport and dport
 *   Linux TCP  sock:inet_sock_set_state (6.1 and 6.12), filtered on
 *              protocol == 6 as well
 *
 * What each stack reports differs in two places, both Linux's design:
 *  - A Linux child socket is born when the handshake's last ACK arrives:
 *    it goes LISTEN -> SYN_RECV under its listener's addresses (its own
 *    are set just after), then SYN_RECV -> ESTABLISHED under its own.
 *    toytcp creates the child on the SYN, under its own addresses.
 *  - Linux hands a connection in TIME-WAIT (and an orphan in FIN-WAIT-2)
 *    to a timewait socket, which no tracepoint reports: the full socket
 *    goes from FIN_WAIT2 (or CLOSING) straight to CLOSE, and only
 *    /proc/net/tcp shows the TIME_WAIT that follows.  toytcp keeps the
 *    socket: FIN_WAIT2 -> TIME_WAIT -> CLOSE.
 *
 * A path is written as the states entered, in order.  It matches what
 * was recorded for a socket exactly, transition by transition; the one
 * latitude is where the socket came from: the first recorded transition
 * may start anywhere (CLOSE -> SYN_SENT for a client, LISTEN -> SYN_RECV
 * for a child) when the path starts with the state it entered.
 */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <sys/mount.h>

#include "tt_core.h"

#define TT_TRACEFS "/sys/kernel/tracing"

static TT_UNUSED int tt_write_str(const char *path, const char *val)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* tracefs, mounted if it is not. */
static TT_UNUSED int tt_tracefs(void)
{
	if (!access(TT_TRACEFS "/instances", F_OK))
		return 0;
	mount("nodev", TT_TRACEFS, "tracefs", 0, NULL);
	return access(TT_TRACEFS "/instances", F_OK);
}

struct tt_trace {
	char dir[128];		/* the instance, "" when none */
	const char *events[4];	/* "system/event", as enabled */
};

/*
 * A new instance with the given events enabled ("toytcp/toytcp_state_change"
 * ...), each with the filter given (NULL: none).  Returns 0 or -1 (errno).
 */
static TT_UNUSED int tt_trace_open(struct tt_trace *tr,
				   const char *const *events,
				   const char *filter)
{
	static int seq;
	char p[256];
	int i;

	memset(tr, 0, sizeof(*tr));
	if (tt_tracefs())
		return -1;
	snprintf(tr->dir, sizeof(tr->dir), TT_TRACEFS "/instances/tt-%d-%d",
		 getpid(), seq++);
	if (mkdir(tr->dir, 0700)) {
		tr->dir[0] = 0;
		return -1;
	}
	for (i = 0; events[i] && i < (int)TT_ARRAY_SIZE(tr->events); i++) {
		tr->events[i] = events[i];
		snprintf(p, sizeof(p), "%s/events/%s/filter", tr->dir, events[i]);
		if (filter && tt_write_str(p, filter))
			return -1;
		snprintf(p, sizeof(p), "%s/events/%s/enable", tr->dir, events[i]);
		if (tt_write_str(p, "1"))
			return -1;
	}
	return 0;
}

/* Stop recording and remove the instance. */
static TT_UNUSED void tt_trace_close(struct tt_trace *tr)
{
	char p[256];
	int i;

	if (!tr->dir[0])
		return;
	for (i = 0; i < (int)TT_ARRAY_SIZE(tr->events) && tr->events[i]; i++) {
		snprintf(p, sizeof(p), "%s/events/%s/enable", tr->dir,
			 tr->events[i]);
		tt_write_str(p, "0");
	}
	if (rmdir(tr->dir))
		fprintf(stderr, "# rmdir %s: %s\n", tr->dir, strerror(errno));
	tr->dir[0] = 0;
}

/* The instance's buffer so far, NUL-terminated and malloc()ed. */
static TT_UNUSED char *tt_trace_read(const struct tt_trace *tr)
{
	size_t cap = 1 << 16, len = 0;
	char p[256], *buf = malloc(cap + 1);
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/trace", tr->dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, 2 * cap + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* ------------------------------------------------------------------ */
/* The states of connections                                           */

#define TT_PATH_MAX 16

struct tt_states {
	struct tt_trace tr;
	enum tt_stack stack;
	int port;
};

/*
 * Record every state change of stack s's sockets with local or remote
 * port `port` (a listener's port catches both ends of its connections).
 */
static TT_UNUSED int tt_states_start(struct tt_states *st, enum tt_stack s,
				     int port)
{
	static const char *const tt_ev[] = { "toytcp/toytcp_state_change", NULL };
	static const char *const lnx_ev[] = { "sock/inet_sock_set_state", NULL };
	char filter[128];

	st->stack = s;
	st->port = port;
	if (s == TT_TOYTCP) {
		snprintf(filter, sizeof(filter), "sport == %d || dport == %d",
			 port, port);
		return tt_trace_open(&st->tr, tt_ev, filter);
	}
	snprintf(filter, sizeof(filter),
		 "protocol == 6 && (sport == %d || dport == %d)", port, port);
	return tt_trace_open(&st->tr, lnx_ev, filter);
}

static TT_UNUSED void tt_states_stop(struct tt_states *st)
{
	tt_trace_close(&st->tr);
}

/* One recorded change: addresses in network order, ports host order. */
struct tt_change {
	uint32_t saddr, daddr;
	int sport, dport;
	int from, to;
};

/* Parse one line of the buffer; false if it is not a state change. */
static TT_UNUSED bool tt_parse_change(const char *line, struct tt_change *c)
{
	char sa[32], da[32], from[32], to[32];
	const char *p;
	unsigned int sp, dp;

	memset(c, 0, sizeof(*c));
	p = strstr(line, "toytcp_state_change: ");
	if (p) {
		if (sscanf(p, "toytcp_state_change: skaddr=%*s %31[0-9.]:%u -> %31[0-9.]:%u %31s -> %31s",
			   sa, &sp, da, &dp, from, to) != 6)
			return false;
	} else {
		p = strstr(line, "inet_sock_set_state: ");
		if (!p)
			return false;
		if (sscanf(p, "inet_sock_set_state: family=%*s protocol=%*s sport=%u dport=%u saddr=%31s daddr=%31s saddrv6=%*s daddrv6=%*s oldstate=%31s newstate=%31s",
			   &sp, &dp, sa, da, from, to) != 6)
			return false;
	}
	if (inet_pton(AF_INET, sa, &c->saddr) != 1 ||
	    inet_pton(AF_INET, da, &c->daddr) != 1)
		return false;
	c->sport = sp;
	c->dport = dp;
	c->from = tt_state_num(from, strlen(from));
	c->to = tt_state_num(to, strlen(to));
	return true;
}

/*
 * The path of the socket l -> r (as that socket sees it: l its own
 * address): path[0] the state of the first change recorded before it,
 * then the state each change entered.  Returns the length (0: no change
 * recorded), -1 if the buffer cannot be read, -2 if two changes in a row
 * do not join up (one was lost).
 */
static TT_UNUSED int tt_states_path(const struct tt_states *st,
				    const struct sockaddr_in *l,
				    const struct sockaddr_in *r, int *path,
				    int max)
{
	char *buf = tt_trace_read(&st->tr), *line, *save = NULL;
	struct tt_change c;
	int n = 0, bad = 0;

	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!tt_parse_change(line, &c))
			continue;
		if (c.saddr != l->sin_addr.s_addr ||
		    c.sport != ntohs(l->sin_port) ||
		    c.daddr != r->sin_addr.s_addr ||
		    c.dport != ntohs(r->sin_port))
			continue;
		if (n == 0 && max > 0)
			path[n++] = c.from;
		else if (path[n - 1] != c.from)
			bad = 1;
		if (n < max)
			path[n++] = c.to;
	}
	free(buf);
	return bad ? -2 : n;
}

static TT_UNUSED const char *tt_path_str(const int *path, int n, char *buf,
					 size_t len)
{
	size_t o = 0;
	int i;

	buf[0] = 0;
	if (n == -1)
		return "(trace unreadable)";
	if (n == -2)
		return "(changes that do not join up)";
	for (i = 0; i < n && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s", i ? " -> " : "",
			      tt_state_name(path[i]));
	return n ? buf : "(no change)";
}

/*
 * Wait until the socket l -> r has entered state want (it may have left
 * it since: what state it is in now is /proc's, tt_proc.h); true if it
 * has.
 */
static TT_UNUSED bool tt_states_wait(const struct tt_states *st,
				     const struct sockaddr_in *l,
				     const struct sockaddr_in *r, int want,
				     int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	int path[TT_PATH_MAX], n, i;

	for (;;) {
		n = tt_states_path(st, l, r, path, TT_PATH_MAX);
		for (i = 1; i < n; i++)
			if (path[i] == want)
				return true;
		if (tt_now_ms() > end)
			return false;
		tt_msleep(10);
	}
}

/* Does the recorded path (n states) match the expected one exactly? */
static TT_UNUSED bool tt_path_match(const int *got, int n, const int *want,
				    int nw)
{
	if (n == nw && !memcmp(got, want, n * sizeof(*got)))
		return true;
	/* From wherever the socket was before it entered want[0]. */
	return n == nw + 1 && !memcmp(got + 1, want, nw * sizeof(*got));
}

/* "a.b.c.d:port" */
static TT_UNUSED const char *tt_addr_str(const struct sockaddr_in *a,
					 char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%d", ip, ntohs(a->sin_port));
	return buf;
}

/* The socket l -> r went through exactly these states, in this order. */
#define TT_EXPECT_STATES(st, l, r, ...) do {				\
	const int __w[] = { __VA_ARGS__ };				\
	int __g[TT_PATH_MAX], __n;					\
	char __b1[400], __b2[400], __a1[32], __a2[32];			\
									\
	__n = tt_states_path(st, l, r, __g, TT_PATH_MAX);		\
	EXPECT_TRUE(__n > 0 &&						\
		    tt_path_match(__g, __n, __w, TT_ARRAY_SIZE(__w)))	\
		TH_LOG("%s %s -> %s: states %s, want %s",		\
		       tt_stack_name((st)->stack),			\
		       tt_addr_str(l, __a1, sizeof(__a1)),		\
		       tt_addr_str(r, __a2, sizeof(__a2)),		\
		       tt_path_str(__g, __n, __b1, sizeof(__b1)),	\
		       tt_path_str(__w, TT_ARRAY_SIZE(__w), __b2,	\
				   sizeof(__b2)));			\
} while (0)

#endif /* TT_TRACE_H */
