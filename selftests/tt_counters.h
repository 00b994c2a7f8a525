/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters of either stack, by toytcp's names, and snapshots of them.
 *
 * toytcp's are in /proc/net/toytcp_snmp ("Name value" lines), Linux
 * TCP's in /proc/net/snmp (Tcp:) and /proc/net/netstat (TcpExt:), read
 * through /proc/thread-self/net (the calling thread's namespace).  A test
 * names a counter as toytcp does; tt_lnx_counter() gives Linux's name for
 * it, or none: a counter only toytcp has (InRsts, SackBlocksRecv ...) is
 * then reported as not checked on Linux, while one the module lacks fails.
 *
 *	struct tt_snap b, a;
 *
 *	tt_snap_in(nsfd, TT_TOYTCP, &b);
 *	... the test ...
 *	tt_snap_in(nsfd, TT_TOYTCP, &a);
 *	TT_EXPECT_DELTA(&b, &a, "RetransSegs", >, 0);
 */
#ifndef TT_COUNTERS_H
#define TT_COUNTERS_H

#include "tt_core.h"

/* Linux's name for one of toytcp's counters: NULL if Linux has none. */
static TT_UNUSED const char *tt_lnx_counter(const char *n)
{
	static const char *const map[][2] = {
		{ "Timeouts", "TCPTimeouts" },
		{ "FastRetrans", "TCPFastRetrans" },
		{ "OfoQueue", "TCPOFOQueue" },
		{ "SackRecovery", "TCPSackRecovery" },
		{ "ZeroWindowProbes", "TCPWinProbe" },
		{ "DelayedAcks", "DelayedACKs" },
		{ "KeepaliveProbes", "TCPKeepAlive" },
		{ "AbortOnTimeout", "TCPAbortOnTimeout" },
		{ "RcvQueueDrops", "TCPRcvQDrop" },
		{ "BacklogDrops", "TCPBacklogDrop" },
		{ "RcvCoalesce", "TCPRcvCoalesce" },
		{ "DSACKUndo", "TCPDSACKUndo" },
		{ "ReqQFullDoCookies", "TCPReqQFullDoCookies" },
		{ "ReqQFullDrop", "TCPReqQFullDrop" },
		{ "ChallengeACKs", "TCPChallengeACK" },
		{ "TWOverflow", "TCPTimeWaitOverflow" },
		{ "AbortOnMemory", "TCPAbortOnMemory" },
		{ "WQueueTooBig", "TCPWqueueTooBig" },
		{ "Orphans", NULL },
		{ "TimeWait", NULL },
		{ "SackBlocksRecv", NULL },
		{ "InRsts", NULL },
		{ "LiveSockets", NULL },
		{ "AckSkipped", NULL },
	};
	size_t i;

	for (i = 0; i < TT_ARRAY_SIZE(map); i++)
		if (!strcmp(map[i][0], n))
			return map[i][1];
	if (!strncmp(n, "Memory", 6))
		return NULL;	/* net.toytcp.mem accounting */
	return n;	/* the Tcp: MIB names and OfoPruned are the same */
}

/* Does this stack have a counter of this (toytcp) name? */
static TT_UNUSED bool tt_has_counter(enum tt_stack s, const char *name)
{
	return s == TT_TOYTCP || tt_lnx_counter(name);
}

/* Every "Sect: names" / "Sect: values" pair of a /proc/net/snmp-like
 * file, one call of cb per counter.
 */
static TT_UNUSED int tt_kv_each(const char *path, const char *sect,
				void (*cb)(const char *name, long v, void *arg),
				void *arg)
{
	char names[4096], vals[4096], pfx[64];
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	snprintf(pfx, sizeof(pfx), "%s:", sect);
	while (fgets(names, sizeof(names), f)) {
		char *sn, *sv, *tn, *tv;

		if (strncmp(names, pfx, strlen(pfx)) ||
		    names[strlen(pfx)] != ' ')
			continue;
		if (!fgets(vals, sizeof(vals), f))
			break;
		tn = strtok_r(names + strlen(pfx), " \n", &sn);
		tv = strtok_r(vals + strlen(pfx), " \n", &sv);
		while (tn && tv) {
			cb(tn, strtol(tv, NULL, 10), arg);
			tn = strtok_r(NULL, " \n", &sn);
			tv = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return 0;
}

struct tt_kv_one {
	const char *name;
	long v;
};

static TT_UNUSED void tt_kv_one_cb(const char *name, long v, void *arg)
{
	struct tt_kv_one *o = arg;

	if (!strcmp(name, o->name))
		o->v = v;
}

/* A Linux TCP counter by Linux's name (Tcp: or TcpExt:), -1 if none. */
static TT_UNUSED long tt_lnx_tcp_cnt(const char *name)
{
	struct tt_kv_one o = { name, -1 };

	tt_kv_each("/proc/thread-self/net/snmp", "Tcp", tt_kv_one_cb, &o);
	if (o.v < 0)
		tt_kv_each("/proc/thread-self/net/netstat", "TcpExt",
			   tt_kv_one_cb, &o);
	return o.v;
}

/* A Linux IP counter (Ip:) of the calling thread's netns. */
static TT_UNUSED long tt_lnx_ip_cnt(const char *name)
{
	struct tt_kv_one o = { name, -1 };

	tt_kv_each("/proc/thread-self/net/snmp", "Ip", tt_kv_one_cb, &o);
	return o.v;
}

/* Every line of toytcp_snmp, one call of cb per counter. */
static TT_UNUSED int tt_toytcp_each(void (*cb)(const char *name, long v,
					       void *arg), void *arg)
{
	char line[256], n[128];
	long v;
	FILE *f;

	f = fopen("/proc/thread-self/net/toytcp_snmp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", n, &v) == 2)
			cb(n, v, arg);
	fclose(f);
	return 0;
}

/* A counter of stack s by toytcp's name, in the calling thread's netns;
 * -1 if the stack has none by that name.
 */
static TT_UNUSED long tt_cnt(enum tt_stack s, const char *name)
{
	struct tt_kv_one o = { name, -1 };
	const char *ln;

	if (s == TT_TOYTCP) {
		tt_toytcp_each(tt_kv_one_cb, &o);
		return o.v;
	}
	ln = tt_lnx_counter(name);
	return ln ? tt_lnx_tcp_cnt(ln) : -1;
}

static TT_UNUSED long tt_cnt_in(int nsfd, enum tt_stack s, const char *name)
{
	return TT_IN_NS(nsfd, tt_cnt(s, name));
}

/* Wait (up to timeout_ms) for counter name to reach at least want. */
static TT_UNUSED long tt_cnt_wait(enum tt_stack s, const char *name, long want,
				  int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	long v;

	for (;;) {
		v = tt_cnt(s, name);
		if (v >= want || tt_now_ms() > end)
			return v;
		tt_msleep(10);
	}
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */

/* The counters a snapshot holds, by toytcp's names. */
static const char *const tt_snap_names[] TT_UNUSED = {
	"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
	"CurrEstab", "InSegs", "OutSegs", "RetransSegs", "InErrs",
	"InCsumErrors", "OutRsts", "InRsts", "ListenOverflows", "ListenDrops",
	"LiveSockets", "Timeouts", "FastRetrans", "OfoQueue",
	"SackBlocksRecv", "SackRecovery", "ZeroWindowProbes", "DelayedAcks",
	"KeepaliveProbes", "AbortOnTimeout", "RcvQueueDrops", "BacklogDrops",
	"RcvCoalesce", "OfoPruned", "ChallengeACKs", "AckSkipped",
	"SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed",
	"ReqQFullDoCookies", "ReqQFullDrop",
	/* Linux's alone, logged for comparison */
	"TCPZeroWindowDrop", "TCPOFODrop", "RcvPruned",
};

#define TT_NCNT TT_ARRAY_SIZE(tt_snap_names)

struct tt_snap {
	enum tt_stack stack;
	const char *who;	/* for the log: "sender", ... (default: stack) */
	long v[TT_NCNT];	/* -1: unreadable or absent */
};

static TT_UNUSED int tt_cnt_idx(const char *name)
{
	size_t i;

	for (i = 0; i < TT_NCNT; i++)
		if (!strcmp(tt_snap_names[i], name))
			return i;
	return -1;
}

struct tt_snap_fill {
	struct tt_snap *s;
	bool lnx;
};

static TT_UNUSED void tt_snap_cb(const char *name, long v, void *arg)
{
	struct tt_snap_fill *f = arg;
	size_t i;

	for (i = 0; i < TT_NCNT; i++) {
		const char *n = f->lnx ? tt_lnx_counter(tt_snap_names[i]) :
					 tt_snap_names[i];

		if (n && !strcmp(n, name))
			f->s->v[i] = v;
	}
}

/* Every counter of stack s, in the calling thread's netns, at once. */
static TT_UNUSED void tt_snap_take(enum tt_stack s, struct tt_snap *snap)
{
	struct tt_snap_fill f = { snap, s == TT_LINUX };
	size_t i;

	snap->stack = s;
	snap->who = NULL;
	for (i = 0; i < TT_NCNT; i++)
		snap->v[i] = -1;
	if (s == TT_TOYTCP) {
		tt_toytcp_each(tt_snap_cb, &f);
		return;
	}
	tt_kv_each("/proc/thread-self/net/snmp", "Tcp", tt_snap_cb, &f);
	tt_kv_each("/proc/thread-self/net/netstat", "TcpExt", tt_snap_cb, &f);
}

static TT_UNUSED void tt_snap_in(int nsfd, enum tt_stack s,
				 struct tt_snap *snap)
{
	int old = tt_ns_enter(nsfd);

	tt_snap_take(s, snap);
	tt_ns_leave(old);
}

static TT_UNUSED long tt_snap_get(const struct tt_snap *s, const char *name)
{
	int i = tt_cnt_idx(name);

	return i < 0 ? -1 : s->v[i];
}

#define TT_NONE LONG_MIN

/* The growth of a counter between two snapshots, TT_NONE if unreadable. */
static TT_UNUSED long tt_delta(const struct tt_snap *b, const struct tt_snap *a,
			       const char *name)
{
	int i = tt_cnt_idx(name);

	if (i < 0 || b->v[i] < 0 || a->v[i] < 0)
		return TT_NONE;
	return a->v[i] - b->v[i];
}

static TT_UNUSED const char *tt_snap_who(const struct tt_snap *s)
{
	return s->who ? s->who : tt_stack_name(s->stack);
}

/*
 * Expect the growth of counter name (b -> a) to satisfy "op want".  A
 * counter the stack has but that cannot be read fails; one Linux does not
 * have is logged as not checked.
 */
#define TT_EXPECT_DELTA(b, a, name, op, want) do {			\
	long __d = tt_delta(b, a, name);				\
	if (__d == TT_NONE) {						\
		if (tt_has_counter((b)->stack, name)) {			\
			TH_LOG("%s: counter %s unreadable",		\
			       tt_snap_who(b), name);			\
			TT_SET_FAILED(_metadata);			\
		} else {						\
			TH_LOG("%s: Linux TCP has no %s; not checked",	\
			       tt_snap_who(b), name);			\
		}							\
	} else if (!(__d op (long)(want))) {				\
		TH_LOG("%s (%s): %s grew by %ld, want %s %ld",		\
		       tt_snap_who(b), tt_stack_name((b)->stack), name,	\
		       __d, #op, (long)(want));				\
		TT_SET_FAILED(_metadata);				\
	}								\
} while (0)

/* Log every counter that moved between b and a. */
static TT_UNUSED void tt_log_delta(struct __test_metadata *_metadata,
				   const struct tt_snap *b,
				   const struct tt_snap *a)
{
	char buf[800];
	size_t i, o = 0;

	for (i = 0; i < TT_NCNT && o < sizeof(buf); i++) {
		long d = tt_delta(b, a, tt_snap_names[i]);

		if (d != TT_NONE && d != 0)
			o += snprintf(buf + o, sizeof(buf) - o, " %s%+ld",
				      tt_snap_names[i], d);
	}
	TH_LOG("%s (%s):%s", tt_snap_who(b), tt_stack_name(b->stack),
	       o ? buf : " -");
}

#endif /* TT_COUNTERS_H */
