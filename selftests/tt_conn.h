/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connections, and the builders that put them in the state a test starts
 * from, so that a test reads as "given this, when that, then ...":
 *
 *   tt_lo_listener()      a listener on 127.0.0.1:port
 *   tt_lo_pair()          a connected pair on loopback, listener kept
 *   tt_net_pair()         a pair across the A <-> B network (tt_topo.h),
 *                         client in A, server in B, either stack each
 *   tt_half_closed()      a pair whose client shut down its side and
 *                         whose server read the EOF: FIN-WAIT-2 and
 *                         CLOSE-WAIT (the server may still send)
 *   tt_data_in_flight()   a pair across A <-> B whose server's namespace
 *                         stopped answering (tt_net_blackhole()) while
 *                         the client had data unacknowledged
 *
 * The builders ASSERT: a test does not go on without what it starts from.
 * The exact-segment harness (tt_wire.h) has builders for states that need
 * a peer that misbehaves.
 */
#ifndef TT_CONN_H
#define TT_CONN_H

#include "tt_core.h"
#include "tt_topo.h"
#include "tt_transfer.h"

#define TT_LO "127.0.0.1"

/* Listener of stack s bound to ip:port in namespace nsfd (-1: current). */
static TT_UNUSED int tt_listen_in(int nsfd, enum tt_stack s, const char *ip,
				  int port, int backlog)
{
	struct sockaddr_in a = tt_sin(tt_family(s), ip, port);
	int one = 1, fd;

	fd = tt_socket_in(nsfd, s);
	if (fd < 0)
		return -1;
	if (s == TT_LINUX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, TT_SA(&a), sizeof(a)) || listen(fd, backlog)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Connect fd to ip:port (sockaddr family fam) without blocking forever:
 * returns 0 or an errno value (ETIMEDOUT if nothing happened in time).
 */
static TT_UNUSED int tt_connect_to(int fd, int fam, const char *ip, int port,
				   int timeout_ms)
{
	struct sockaddr_in a = tt_sin(fam, ip, port);
	int r, rev, err = 0;

	if (tt_set_nonblock(fd, true))
		return errno;
	r = connect(fd, TT_SA(&a), sizeof(a));
	if (r && errno != EINPROGRESS) {
		err = errno;
	} else if (r) {
		rev = tt_poll1(fd, POLLOUT, timeout_ms);
		if (rev == 0)
			err = ETIMEDOUT;
		else if (rev < 0)
			err = errno;
		else
			err = tt_so_error(fd);
		if (err < 0)
			err = -err;
	}
	tt_set_nonblock(fd, false);
	return err;
}

/* accept() with a timeout; -1 with errno ETIMEDOUT when nothing came. */
static TT_UNUSED int tt_accept_to(int lfd, int timeout_ms,
				  struct sockaddr_in *peer)
{
	struct sockaddr_in tmp;
	socklen_t len = sizeof(tmp);
	int rev;

	rev = tt_poll1(lfd, POLLIN, timeout_ms);
	if (rev == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rev < 0)
		return -1;
	return accept(lfd, TT_SA(peer ? peer : &tmp), &len);
}

/* A connection: client, accepted server end, and the listener. */
struct tt_conn {
	int c, s, l;
};

/*
 * A connected pair: a client of stack cs in namespace cns (bound to
 * cip:cport when cip is given) connects to a listener of stack ss in
 * namespace sns at sip:sport.  Returns 0 and the three fds, or an errno.
 */
static TT_UNUSED int tt_pair(struct tt_conn *k, int cns, enum tt_stack cs,
			     const char *cip, int cport, int sns,
			     enum tt_stack ss, const char *sip, int sport)
{
	int err;

	k->c = k->s = k->l = -1;
	k->l = tt_listen_in(sns, ss, sip, sport, 16);
	if (k->l < 0)
		return errno;
	k->c = tt_socket_in(cns, cs);
	if (k->c < 0)
		return errno;
	if (cip) {
		struct sockaddr_in a = tt_sin(tt_family(cs), cip, cport);

		if (bind(k->c, TT_SA(&a), sizeof(a)))
			return errno;
	}
	err = tt_connect_to(k->c, tt_family(cs), sip, sport, 10000);
	if (err)
		return err;
	k->s = tt_accept_to(k->l, 10000, NULL);
	if (k->s < 0)
		return errno;
	return 0;
}

static TT_UNUSED void tt_conn_close(struct tt_conn *k)
{
	if (k->c >= 0)
		close(k->c);
	if (k->s >= 0)
		close(k->s);
	if (k->l >= 0)
		close(k->l);
	k->c = k->s = k->l = -1;
}

/* ------------------------------------------------------------------ */
/* Builders                                                            */

/* A listener of stack s on 127.0.0.1:port, in the current namespace. */
static TT_UNUSED int tt_lo_listener(struct __test_metadata *_metadata,
				    enum tt_stack s, int port, int backlog)
{
	int l = tt_listen_in(-1, s, TT_LO, port, backlog);

	ASSERT_LE(0, l) TH_LOG("%s: listen on %s:%d: %s", tt_stack_name(s),
			       TT_LO, port, strerror(errno));
	return l;
}

/* A connected pair of stack s on 127.0.0.1:port (k->l still listens). */
static TT_UNUSED void tt_lo_pair(struct __test_metadata *_metadata,
				 enum tt_stack s, int port, struct tt_conn *k)
{
	int err = tt_pair(k, -1, s, NULL, 0, -1, s, TT_LO, port);

	ASSERT_EQ(0, err) TH_LOG("%s: connect to %s:%d: %s", tt_stack_name(s),
				 TT_LO, port, strerror(err));
}

/*
 * A pair across A <-> B: the client (stack cs) in A, bound to
 * TT_IP_A:cport if cport, the server (stack ss) accepted from a listener
 * on TT_IP_B:sport in B.
 */
static TT_UNUSED void tt_net_pair(struct __test_metadata *_metadata,
				  const struct tt_net *t, enum tt_stack cs,
				  int cport, enum tt_stack ss, int sport,
				  struct tt_conn *k)
{
	int err = tt_pair(k, t->a.fd, cs, cport ? TT_IP_A : NULL, cport,
			  t->b.fd, ss, TT_IP_B, sport);

	ASSERT_EQ(0, err) TH_LOG("%s client to %s server: connect: %s",
				 tt_stack_name(cs), tt_stack_name(ss),
				 strerror(err));
}

/*
 * The client of a connected pair shuts down its side; once the server has
 * read the EOF, the client is in FIN-WAIT-2 and the server in CLOSE-WAIT.
 */
static TT_UNUSED void tt_half_closed(struct __test_metadata *_metadata,
				     struct tt_conn *k)
{
	char c;

	ASSERT_EQ(0, shutdown(k->c, SHUT_WR));
	ASSERT_EQ(0, tt_recv_to(k->s, &c, 1, 5000))
		TH_LOG("the server did not read EOF: %s", strerror(errno));
}

/*
 * Across A <-> B, the client in A (stack cs) streams to a server in B
 * (stack ss) whose reader (sink, started here; the caller stops it) reads
 * until 256 KB arrived; then B goes silent (nothing in or out) and the
 * client sends once more, so that data is in flight, unacknowledged, to
 * a peer that will never answer.  Returns the time of the cut.
 */
static TT_UNUSED long long tt_data_in_flight(struct __test_metadata *_metadata,
					     struct tt_net *t, enum tt_stack cs,
					     enum tt_stack ss, int port,
					     struct tt_conn *k,
					     struct tt_sink *sink)
{
	static char buf[65536];
	long long t0;
	size_t got;
	int q;

	tt_net_pair(_metadata, t, cs, 0, ss, port, k);
	ASSERT_EQ(0, tt_sink_start(sink, k->s));
	memset(buf, 'x', sizeof(buf));
	t0 = tt_now_ms();
	while ((got = __atomic_load_n(&sink->rcvd, __ATOMIC_SEQ_CST)) <
	       256 * 1024) {
		ssize_t n;

		ASSERT_GT(20000, tt_now_ms() - t0)
			TH_LOG("the peer received only %zu bytes in 20 s", got);
		if (tt_poll1(k->c, POLLOUT, 100) <= 0)
			continue;
		n = send(k->c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		ASSERT_TRUE(n > 0 || errno == EAGAIN)
			TH_LOG("send before the cut: %s", strerror(errno));
	}
	ASSERT_EQ(0, tt_net_blackhole(t, t->b.fd));
	/* Whatever was sent before may all be acknowledged by now: the
	 * sender keeps sending, into the void.
	 */
	ASSERT_LT(0, send(k->c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL))
		TH_LOG("send after the cut: %s", strerror(errno));
	t0 = tt_now_ms();
	q = tt_outq(k->c);
	TH_LOG("peer gone after %zu bytes received; %d bytes queued at the sender",
	       got, q);
	ASSERT_LT(0, q) TH_LOG("nothing in flight at the cut");
	return t0;
}

#endif /* TT_CONN_H */
