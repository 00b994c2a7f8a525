/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sockets a stack lists: /proc/net/toytcp for toytcp, /proc/net/tcp
 * for Linux TCP, one line per socket with its 4-tuple, state, queues and
 * inode, read through /proc/thread-self/net (the calling thread's
 * namespace).  For "what state is this socket in now"; the states a
 * socket went through are the tracepoints' (tt_trace.h).
 */
#ifndef TT_PROC_H
#define TT_PROC_H

#include "tt_core.h"

struct tt_ent {
	uint32_t la, ra;	/* as in sin_addr.s_addr */
	int lp, rp;		/* host order */
	int st;
	unsigned int txq, rxq;
	unsigned long ino;
};

static TT_UNUSED const char *tt_proc_path(enum tt_stack s)
{
	return s == TT_LINUX ? "/proc/thread-self/net/tcp"
			     : "/proc/thread-self/net/toytcp";
}

/* Read all entries; returns count or -1. *out is malloc'ed. */
static TT_UNUSED int tt_proc_read(enum tt_stack s, struct tt_ent **out)
{
	int n = 0, cap = 64;
	struct tt_ent *e;
	char line[512];
	FILE *f;

	*out = NULL;
	f = fopen(tt_proc_path(s), "r");
	if (!f)
		return -1;
	e = malloc(cap * sizeof(*e));
	if (!e) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, ra, rp, st, tx, rx;
		unsigned long ino;

		if (sscanf(line, " %*d: %x:%x %x:%x %x %x:%x %*x:%*x %*x %*u %*d %lu",
			   &la, &lp, &ra, &rp, &st, &tx, &rx, &ino) != 8)
			continue;
		if (n == cap) {
			struct tt_ent *ne = realloc(e, 2 * cap * sizeof(*e));

			if (!ne)
				break;
			e = ne;
			cap *= 2;
		}
		e[n].la = la;
		e[n].lp = lp;
		e[n].ra = ra;
		e[n].rp = rp;
		e[n].st = st;
		e[n].txq = tx;
		e[n].rxq = rx;
		e[n].ino = ino;
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}

/*
 * State of the socket with this local and remote address (remote NULL:
 * 0.0.0.0:0, a listener).  TT_GONE when not listed or listed as CLOSE,
 * -1 when the file cannot be read.  If several entries match (Linux shows
 * a TIME_WAIT entry next to the socket it replaces for a moment) a
 * non-CLOSE one wins.
 */
static TT_UNUSED int tt_lookup(enum tt_stack s, const struct sockaddr_in *l,
			       const struct sockaddr_in *r, struct tt_ent *out)
{
	uint32_t ra = r ? r->sin_addr.s_addr : 0;
	int rp = r ? ntohs(r->sin_port) : 0;
	struct tt_ent *e;
	int i, n, st = TT_GONE;

	n = tt_proc_read(s, &e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (e[i].la != l->sin_addr.s_addr || e[i].lp != ntohs(l->sin_port) ||
		    e[i].ra != ra || e[i].rp != rp)
			continue;
		if (e[i].st == TT_CLOSE)
			continue;
		st = e[i].st;
		if (out)
			*out = e[i];
		break;
	}
	free(e);
	return st;
}

/* State of the socket with this inode (TT_GONE if none). */
static TT_UNUSED int tt_lookup_ino(enum tt_stack s, unsigned long ino,
				   struct tt_ent *out)
{
	struct tt_ent *e;
	int i, n, st = TT_GONE;

	n = tt_proc_read(s, &e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (e[i].ino != ino || e[i].st == TT_CLOSE)
			continue;
		st = e[i].st;
		if (out)
			*out = e[i];
		break;
	}
	free(e);
	return st;
}

/* Number of listed entries with this local port in state st (-1: any state
 * but CLOSE).
 */
static TT_UNUSED int tt_count_port_state(enum tt_stack s, int lport, int st)
{
	struct tt_ent *e;
	int i, n, c = 0;

	n = tt_proc_read(s, &e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (e[i].lp == lport &&
		    (st < 0 ? e[i].st != TT_CLOSE : e[i].st == st))
			c++;
	free(e);
	return c;
}

static TT_UNUSED int tt_count_port(enum tt_stack s, int lport)
{
	return tt_count_port_state(s, lport, -1);
}

/* State of a connected fd, by its 4-tuple. */
static TT_UNUSED int tt_fd_state(enum tt_stack s, int fd)
{
	struct sockaddr_in l, r;

	if (tt_sockname(fd, &l) || tt_peername(fd, &r))
		return -1;
	return tt_lookup(s, &l, &r, NULL);
}

/* Wait until the tuple is in state st; returns the last state seen. */
static TT_UNUSED int tt_wait_state(enum tt_stack s,
				   const struct sockaddr_in *l,
				   const struct sockaddr_in *r, int st,
				   int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	int cur;

	for (;;) {
		cur = tt_lookup(s, l, r, NULL);
		if (cur == st || tt_now_ms() > end)
			return cur;
		tt_msleep(5);
	}
}

#endif /* TT_PROC_H */
