// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP state machine: opens, closes, resets, TIME-WAIT, SYN cookies,
 * checksums and segment sizes.
 *
 * Fixture "lo" (variants toytcp and linux): a fresh network namespace
 * with only lo, per test; what is asserted holds for both stacks.
 * Fixture "veth" (variants toytcp and linux): two namespaces A
 * (10.77.1.1) and B (10.77.1.2) joined by a veth pair with 150 ms of
 * netem delay each way, so that SYNs and FINs sent at once cross; every
 * state a connection goes through is read from the stack's state-change
 * tracepoint and asserted exactly, in order (tt_trace.h).
 * Fixture "mtu": toytcp over the veth with smaller MTUs.
 * Fixture "own": toytcp's own interfaces (TOYTCP_INFO, net.toytcp.*,
 * tracepoints) and its TIME-WAIT length.
 */
#include "toytcp_test.h"

#define LO TT_LO
#define SPORT 5000
#define CPORT 6000

/* ------------------------------------------------------------------ */
FIXTURE(lo) {
	int unused;
};

FIXTURE_VARIANT(lo) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(lo);

FIXTURE_SETUP(lo)
{
	ASSERT_EQ(0, tt_fresh_netns()) TH_LOG("unshare(CLONE_NEWNET): %s",
					      strerror(errno));
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(lo)
{
}

/* This namespace's ip_local_port_range: the ephemeral ports. */
static void port_range(struct __test_metadata *_metadata, int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int n;

	ASSERT_NE(NULL, f);
	n = fscanf(f, "%d %d", lo, hi);
	fclose(f);
	ASSERT_EQ(2, n);
}

/* connect() without bind() picks a local port from Linux's ephemeral range. */
TEST_F(lo, ephemeral_port_on_connect_without_bind)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in name, peer, acc, srv = tt_sin(tt_family(stk), LO, SPORT);
	int l, c1, c2, s1, lo_port = 0, hi_port = 0;
	socklen_t len = sizeof(acc);
	struct tt_ent e;

	port_range(_metadata, &lo_port, &hi_port);

	l = tt_listen_in(-1, stk, LO, SPORT, 8);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	c1 = tt_socket(stk);
	ASSERT_LE(0, c1);

	/* An unbound socket's name: family, no address, no port. */
	ASSERT_EQ(0, tt_sockname(c1, &name));
	EXPECT_EQ(tt_family(stk), name.sin_family);
	EXPECT_EQ(0, name.sin_port);
	EXPECT_EQ(0, name.sin_addr.s_addr);

	ASSERT_EQ(0, connect(c1, TT_SA(&srv), sizeof(srv)))
		TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(0, tt_sockname(c1, &name));
	EXPECT_EQ(tt_family(stk), name.sin_family);
	EXPECT_NE(0, name.sin_port);
	EXPECT_LE(lo_port, ntohs(name.sin_port));
	EXPECT_GE(hi_port, ntohs(name.sin_port));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), name.sin_addr.s_addr);
	ASSERT_EQ(0, tt_peername(c1, &peer));
	EXPECT_EQ(tt_family(stk), peer.sin_family);
	EXPECT_EQ(htons(SPORT), peer.sin_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), peer.sin_addr.s_addr);

	/* The accepted socket's peer address is the client's name. */
	s1 = accept(l, TT_SA(&acc), &len);
	ASSERT_LE(0, s1) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(sizeof(acc), len);
	EXPECT_EQ(tt_family(stk), acc.sin_family);
	EXPECT_EQ(name.sin_port, acc.sin_port);
	EXPECT_EQ(name.sin_addr.s_addr, acc.sin_addr.s_addr);

	/* /proc lists it under the socket's inode, with that port. */
	memset(&e, 0, sizeof(e));
	EXPECT_EQ(TT_ESTABLISHED, tt_lookup_ino(stk, tt_ino(c1), &e));
	EXPECT_EQ(ntohs(name.sin_port), e.lp);
	EXPECT_EQ(SPORT, e.rp);

	/* A second connection gets another port. */
	c2 = tt_socket(stk);
	ASSERT_LE(0, c2);
	ASSERT_EQ(0, connect(c2, TT_SA(&srv), sizeof(srv)));
	ASSERT_EQ(0, tt_sockname(c2, &peer));
	EXPECT_NE(0, peer.sin_port);
	EXPECT_NE(name.sin_port, peer.sin_port);
	close(c1);
	close(c2);
	close(s1);
	close(l);
}

/*
 * RFC 6056: how ephemeral ports are judged random enough.  n ports, all
 * from [lo, hi]: in range, distinct if @distinct (ports held at once on
 * one address must be; connections to different destinations may share
 * one: 64 ports drawn from ~28000 repeat one about 7% of the time), not
 * sequential (fewer than a quarter of successive pairs within 2 of each
 * other: a counter that steps by 1 or 2 has every pair so) and spread
 * (max - min more than a quarter of the range: a counter with small
 * random steps, 64 of up to 16, spans ~600 of ~28000).  For 64 ports
 * drawn uniformly from Linux's default range the chance of failing
 * either of the last two is below 1e-30.
 */
struct eph_stats {
	int out_of_range, dups, close_pairs, span;
};

static bool eph_random(const int *p, int n, int lo, int hi, bool distinct,
		       struct eph_stats *st)
{
	int i, j, min = INT_MAX, max = INT_MIN;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < n; i++) {
		if (p[i] < lo || p[i] > hi)
			st->out_of_range++;
		for (j = 0; j < i; j++)
			st->dups += p[j] == p[i];
		if (i && abs(p[i] - p[i - 1]) <= 2)
			st->close_pairs++;
		min = p[i] < min ? p[i] : min;
		max = p[i] > max ? p[i] : max;
	}
	st->span = n ? max - min : 0;
	return n > 1 && !st->out_of_range && (!distinct || !st->dups) &&
	       st->close_pairs * 4 < n - 1 && st->span * 4 > hi - lo;
}

#define EPH_N 64

static void eph_log(struct __test_metadata *_metadata, const char *what,
		    const int *p, int lo, int hi, const struct eph_stats *st)
{
	char buf[EPH_N * 7 + 1];
	int i, off = 0;

	for (i = 0; i < EPH_N; i++)
		off += snprintf(buf + off, sizeof(buf) - off, " %d", p[i]);
	TH_LOG("%s: range %d-%d, %d out of range, %d duplicates, %d of %d successive pairs within 2, span %d;%s",
	       what, lo, hi, st->out_of_range, st->dups, st->close_pairs,
	       EPH_N - 1, st->span, buf);
}

/*
 * Ephemeral ports follow RFC 6056: every port connect() without bind() or
 * bind() to port 0 picks lies in ip_local_port_range, and successive
 * choices are neither sequential nor bunched.  The connects go to 64
 * different destinations (127.0.0.1 .. 127.0.0.64, one wildcard listener),
 * which is what RFC 6056's algorithms randomise over: Linux TCP's own
 * choice (3.3.4, Algorithm 4) is random per destination but steps by 2 to
 * 16 for successive connects to the same one.  toytcp reserves its port
 * with a Linux bind() to port 0, which draws a random start in the range
 * for every socket (3.3.1).
 */
TEST_F(lo, ephemeral_ports_randomized_rfc6056)
{
	const enum tt_stack stk = variant->stack;
	int lo_port = 0, hi_port = 0, l, i, conn[EPH_N], bnd[EPH_N], seq[EPH_N];
	int cport[EPH_N], bport[EPH_N];
	struct sockaddr_in a;
	struct eph_stats st;

	port_range(_metadata, &lo_port, &hi_port);
	ASSERT_LT(lo_port + 4 * EPH_N, hi_port);

	/* The judgement fails the allocators RFC 6056 replaces. */
	for (i = 0; i < EPH_N; i++)
		seq[i] = lo_port + i;
	EXPECT_FALSE(eph_random(seq, EPH_N, lo_port, hi_port, true, &st));
	for (i = 0; i < EPH_N; i++)
		seq[i] = hi_port - 2 * i;
	EXPECT_FALSE(eph_random(seq, EPH_N, lo_port, hi_port, true, &st));
	for (i = 0; i < EPH_N; i++)	/* small random steps */
		seq[i] = lo_port + 1000 + 16 * i - 7 * (i % 2);
	EXPECT_FALSE(eph_random(seq, EPH_N, lo_port, hi_port, true, &st));
	for (i = 0; i < EPH_N; i++)	/* spread, but out of range */
		seq[i] = (lo_port + (hi_port - lo_port) / EPH_N * i) - 1000;
	EXPECT_FALSE(eph_random(seq, EPH_N, lo_port, hi_port, true, &st));

	l = tt_listen_in(-1, stk, "0.0.0.0", SPORT, 2 * EPH_N);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));

	/* connect() without bind(), each to another destination. */
	for (i = 0; i < EPH_N; i++) {
		char ip[INET_ADDRSTRLEN];

		snprintf(ip, sizeof(ip), "127.0.0.%d", i + 1);
		conn[i] = tt_socket(stk);
		ASSERT_LE(0, conn[i]);
		ASSERT_EQ(0, tt_connect_to(conn[i], tt_family(stk), ip, SPORT, 10000))
			TH_LOG("connect %d to %s", i, ip);
		ASSERT_EQ(0, tt_sockname(conn[i], &a));
		cport[i] = ntohs(a.sin_port);
	}
	EXPECT_TRUE(eph_random(cport, EPH_N, lo_port, hi_port, false, &st))
		eph_log(_metadata, "connect() ports", cport, lo_port, hi_port, &st);

	/* bind() to port 0, all held at once. */
	for (i = 0; i < EPH_N; i++) {
		a = tt_sin(tt_family(stk), LO, 0);
		bnd[i] = tt_socket(stk);
		ASSERT_LE(0, bnd[i]);
		ASSERT_EQ(0, bind(bnd[i], TT_SA(&a), sizeof(a)))
			TH_LOG("bind %d: %s", i, strerror(errno));
		ASSERT_EQ(0, tt_sockname(bnd[i], &a));
		bport[i] = ntohs(a.sin_port);
	}
	EXPECT_TRUE(eph_random(bport, EPH_N, lo_port, hi_port, true, &st))
		eph_log(_metadata, "bind(0) ports", bport, lo_port, hi_port, &st);

	for (i = 0; i < EPH_N; i++) {
		close(conn[i]);
		close(bnd[i]);
	}
	close(l);
}

/* LISTEN -> (SYN_RECV) -> ESTABLISHED, seen through accept(). */
TEST_F(lo, passive_open_accept_returns_established)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in la = tt_sin(tt_family(stk), LO, SPORT), cn, sn, pn;
	struct tt_snap b, a;
	struct tt_ent e;
	int l, c, s;

	tt_snap_take(stk, &b);
	l = tt_listen_in(-1, stk, LO, SPORT, 8);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	EXPECT_EQ(TT_LISTEN, tt_lookup(stk, &la, NULL, NULL));
	memset(&e, 0, sizeof(e));
	EXPECT_EQ(TT_LISTEN, tt_lookup_ino(stk, tt_ino(l), &e));
	EXPECT_EQ(SPORT, e.lp);

	/* Nothing to accept yet. */
	EXPECT_EQ(0, tt_poll1(l, POLLIN, 100));

	c = tt_socket(stk);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, tt_connect_to(c, tt_family(stk), LO, SPORT, 10000));
	s = tt_accept_to(l, 10000, &pn);
	ASSERT_LE(0, s) TH_LOG("accept: %s", strerror(errno));

	EXPECT_EQ(TT_ESTABLISHED, tt_lookup_ino(stk, tt_ino(s), NULL));
	EXPECT_EQ(TT_ESTABLISHED, tt_lookup_ino(stk, tt_ino(c), NULL));
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, c));
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, s));
	/* The listener stays a listener. */
	EXPECT_EQ(TT_LISTEN, tt_lookup_ino(stk, tt_ino(l), NULL));

	ASSERT_EQ(0, tt_sockname(c, &cn));
	ASSERT_EQ(0, tt_sockname(s, &sn));
	EXPECT_EQ(tt_family(stk), sn.sin_family);
	EXPECT_EQ(htons(SPORT), sn.sin_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), sn.sin_addr.s_addr);
	EXPECT_EQ(cn.sin_port, pn.sin_port);
	ASSERT_EQ(0, tt_peername(s, &pn));
	EXPECT_EQ(cn.sin_port, pn.sin_port);

	tt_snap_take(stk, &a);
	TT_EXPECT_DELTA(&b, &a, "ActiveOpens", ==, 1);
	TT_EXPECT_DELTA(&b, &a, "PassiveOpens", ==, 1);
	TT_EXPECT_DELTA(&b, &a, "CurrEstab", ==, 2);
	TT_EXPECT_DELTA(&b, &a, "AttemptFails", ==, 0);
	close(c);
	close(s);
	close(l);
}

struct delayed_connect {
	enum tt_stack stack;
	int delay_ms;
	int ret, err;
};

static void *connect_later(void *arg)
{
	struct delayed_connect *d = arg;
	struct sockaddr_in a = tt_sin(tt_family(d->stack), LO, SPORT);
	int fd;

	tt_msleep(d->delay_ms);
	fd = tt_socket(d->stack);
	d->ret = connect(fd, TT_SA(&a), sizeof(a));
	d->err = errno;
	/* Keep the connection open: the accepted socket must see it. */
	return (void *)(long)fd;
}

/* A blocking accept() waits for a connection, then returns it. */
TEST_F(lo, accept_blocks_until_connection_ready)
{
	const enum tt_stack stk = variant->stack;
	struct delayed_connect d = { .stack = stk, .delay_ms = 600 };
	long long t0, t1;
	pthread_t th;
	void *fd;
	int l, s;

	l = tt_listen_in(-1, stk, LO, SPORT, 8);
	ASSERT_LE(0, l);

	/* Non-blocking accept with nothing queued: EAGAIN. */
	ASSERT_EQ(0, tt_set_nonblock(l, true));
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, tt_set_nonblock(l, false));

	ASSERT_EQ(0, pthread_create(&th, NULL, connect_later, &d));
	t0 = tt_now_ms();
	s = accept(l, NULL, NULL);
	t1 = tt_now_ms();
	pthread_join(th, &fd);
	ASSERT_LE(0, s) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(0, d.ret) TH_LOG("connect: %s", strerror(d.err));
	EXPECT_LE(500, t1 - t0) TH_LOG("accept returned after %lld ms", t1 - t0);
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, s));
	close(s);
	close((int)(long)fd);
	close(l);
}

/* Connections complete before accept() and queue in arrival order. */
TEST_F(lo, accept_queue_holds_connections_until_accepted)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in srv = tt_sin(tt_family(stk), LO, SPORT);
	int l, c[3], i;

	l = tt_listen_in(-1, stk, LO, SPORT, 8);
	ASSERT_LE(0, l);
	for (i = 0; i < 3; i++) {
		struct sockaddr_in ca = tt_sin(tt_family(stk), LO, CPORT + i);
		char msg[16];

		c[i] = tt_socket(stk);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, bind(c[i], TT_SA(&ca), sizeof(ca)));
		ASSERT_EQ(0, tt_connect_to(c[i], tt_family(stk), LO, SPORT, 10000));
		snprintf(msg, sizeof(msg), "client %d", i);
		ASSERT_EQ((ssize_t)strlen(msg), send(c[i], msg, strlen(msg), 0));
	}
	for (i = 0; i < 3; i++) {
		struct sockaddr_in ca = tt_sin(tt_family(stk), LO, CPORT + i);

		/* Both ends of the queued connection are established. */
		EXPECT_EQ(TT_ESTABLISHED, tt_lookup(stk, &ca, &srv, NULL));
		EXPECT_EQ(TT_ESTABLISHED, tt_wait_state(stk, &srv, &ca, TT_ESTABLISHED, 2000));
	}
	for (i = 0; i < 3; i++) {
		struct sockaddr_in pn;
		char buf[32], want[16];
		int s;

		s = tt_accept_to(l, 5000, &pn);
		ASSERT_LE(0, s) TH_LOG("accept %d: %s", i, strerror(errno));
		EXPECT_EQ(htons(CPORT + i), pn.sin_port);
		snprintf(want, sizeof(want), "client %d", i);
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ((ssize_t)strlen(want),
			  tt_recv_all(s, buf, strlen(want), 5000));
		EXPECT_STREQ(want, buf);
		close(s);
	}
	for (i = 0; i < 3; i++)
		close(c[i]);
	close(l);
}

/* ESTABLISHED both ways: 1 MB each direction at once, byte-exact. */
TEST_F_TIMEOUT(lo, established_carries_1mb_each_way_intact, 120)
{
	const enum tt_stack stk = variant->stack;
	struct tt_ep a, b;
	struct tt_conn k;
	struct tt_snap sb, sa;

	tt_lo_pair(_metadata, stk, SPORT, &k);
	tt_snap_take(stk, &sb);
	tt_ep_init(&a, k.c, 11, 1 << 20, 22, 1 << 20);
	tt_ep_init(&b, k.s, 22, 1 << 20, 11, 1 << 20);
	tt_ep_pair(&a, &b);
	EXPECT_EQ(0, a.err) TH_LOG("client: %s", a.msg);
	EXPECT_EQ(0, b.err) TH_LOG("server: %s", b.msg);
	EXPECT_EQ(1 << 20, a.rcvd);
	EXPECT_EQ(1 << 20, b.rcvd);
	EXPECT_TRUE(a.eof);
	EXPECT_TRUE(b.eof);
	tt_snap_take(stk, &sa);
	TT_EXPECT_DELTA(&sb, &sa, "InSegs", >=, 32);
	TT_EXPECT_DELTA(&sb, &sa, "OutSegs", >=, 32);
	TT_EXPECT_DELTA(&sb, &sa, "OutRsts", ==, 0);
	TT_EXPECT_DELTA(&sb, &sa, "InRsts", ==, 0);
	EXPECT_EQ(0, close(k.c));
	EXPECT_EQ(0, close(k.s));
	close(k.l);
}

/* shutdown(SHUT_WR): the peer reads EOF and can still send. */
TEST_F(lo, half_close_shut_wr_peer_reads_eof_and_can_send)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_ep tx, rx;
	struct tt_conn k;
	char buf[16];

	tt_lo_pair(_metadata, stk, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));

	tt_half_closed(_metadata, &k);
	EXPECT_EQ(TT_FIN_WAIT2, tt_wait_state(stk, &cn, &sn, TT_FIN_WAIT2, 3000));
	EXPECT_EQ(TT_CLOSE_WAIT, tt_lookup(stk, &sn, &cn, NULL));

	/* The closed direction refuses data. */
	EXPECT_EQ(-1, send(k.c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);

	/* The other direction still carries data. */
	tt_ep_init(&tx, k.s, 33, 256 << 10, 0, 0);
	tx.shut_wr = false;
	tx.want_eof = false;
	tt_ep_init(&rx, k.c, 0, 0, 33, 256 << 10);
	rx.shut_wr = false;
	rx.want_eof = false;
	tt_ep_pair(&tx, &rx);
	EXPECT_EQ(0, tx.err) TH_LOG("sender: %s", tx.msg);
	EXPECT_EQ(0, rx.err) TH_LOG("receiver: %s", rx.msg);
	EXPECT_EQ(256 << 10, rx.rcvd);
	EXPECT_EQ(TT_CLOSE_WAIT, tt_lookup(stk, &sn, &cn, NULL));

	/* Then the peer closes: EOF on the half-closed side too. */
	EXPECT_EQ(0, close(k.s));
	k.s = -1;
	EXPECT_EQ(0, tt_recv_to(k.c, buf, sizeof(buf), 5000));
	EXPECT_EQ(TT_TIME_WAIT, tt_wait_state(stk, &cn, &sn, TT_TIME_WAIT, 3000));
	EXPECT_EQ(TT_GONE, tt_wait_state(stk, &sn, &cn, TT_GONE, 3000));
	tt_conn_close(&k);
}

/*
 * Both sides close, the client first: the client stays in TIME_WAIT, as
 * an orphan (no inode), the server is gone at once.
 */
TEST_F(lo, active_closer_time_wait_passive_closer_gone)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_conn k;
	struct tt_ent e;
	char buf[8];
	int st;

	tt_lo_pair(_metadata, stk, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	ASSERT_EQ(0, close(k.c));
	k.c = -1;
	ASSERT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	st = tt_wait_state(stk, &cn, &sn, TT_TIME_WAIT, 3000);
	ASSERT_EQ(TT_TIME_WAIT, st) TH_LOG("closer is %s", tt_state_name(st));
	EXPECT_EQ(TT_GONE, tt_wait_state(stk, &sn, &cn, TT_GONE, 3000));
	memset(&e, 0xff, sizeof(e));
	EXPECT_EQ(TT_TIME_WAIT, tt_lookup(stk, &cn, &sn, &e));
	EXPECT_EQ(0, e.ino);
	/* Still there a while later (toytcp's: TT_TW_MS, Linux's: 60 s). */
	tt_msleep(TT_TW_MS / 2);
	EXPECT_EQ(TT_TIME_WAIT, tt_lookup(stk, &cn, &sn, NULL));
	tt_conn_close(&k);
}

/* While a TIME_WAIT holds 127.0.0.1:CPORT, bind() to it fails. */
TEST_F(lo, time_wait_holds_port_bind_eaddrinuse)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in ca = tt_sin(tt_family(stk), LO, CPORT);
	struct sockaddr_in sn = tt_sin(tt_family(stk), LO, SPORT);
	struct tt_conn k;
	char buf[8];
	int fd;

	ASSERT_EQ(0, tt_pair(&k, -1, stk, LO, CPORT, -1, stk, LO, SPORT));
	ASSERT_EQ(0, close(k.c));
	k.c = -1;
	ASSERT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	ASSERT_EQ(TT_TIME_WAIT, tt_wait_state(stk, &ca, &sn, TT_TIME_WAIT, 3000));

	fd = tt_socket(stk);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, bind(fd, TT_SA(&ca), sizeof(ca)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);
	tt_conn_close(&k);
}

/* SYN_SENT + RST (no listener): connect() fails with ECONNREFUSED. */
TEST_F(lo, syn_sent_rst_refuses_connect)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(tt_family(stk), LO, SPORT + 99);
	struct tt_snap b, s;
	int c1, c2;

	tt_snap_take(stk, &b);
	c1 = tt_socket(stk);
	ASSERT_LE(0, c1);
	EXPECT_EQ(-1, connect(c1, TT_SA(&a), sizeof(a)));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(TT_GONE, tt_lookup_ino(stk, tt_ino(c1), NULL));
	/* The failed socket is closed: sending fails with EPIPE. */
	EXPECT_EQ(-1, send(c1, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);

	/* Non-blocking: EINPROGRESS, then SO_ERROR reports it. */
	c2 = tt_socket(stk);
	ASSERT_LE(0, c2);
	EXPECT_EQ(ECONNREFUSED, tt_connect_to(c2, tt_family(stk), LO, SPORT + 99, 5000));
	EXPECT_EQ(0, tt_so_error(c2));
	tt_snap_take(stk, &s);
	TT_EXPECT_DELTA(&b, &s, "ActiveOpens", ==, 2);
	TT_EXPECT_DELTA(&b, &s, "AttemptFails", ==, 2);
	TT_EXPECT_DELTA(&b, &s, "InRsts", ==, 2);
	TT_EXPECT_DELTA(&b, &s, "CurrEstab", ==, 0);
	close(c1);
	close(c2);
}

/* close() with unread data sends RST: the peer gets ECONNRESET. */
TEST_F(lo, close_with_unread_data_sends_rst)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_snap b, a;
	struct tt_conn k;
	char buf[1000];
	ssize_t n;

	tt_lo_pair(_metadata, stk, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	memset(buf, 'u', sizeof(buf));
	ASSERT_EQ(sizeof(buf), send(k.c, buf, sizeof(buf), 0));
	ASSERT_NE(0, tt_poll1(k.s, POLLIN, 5000) & POLLIN);

	tt_snap_take(stk, &b);
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	EXPECT_EQ(TT_GONE, tt_lookup(stk, &sn, &cn, NULL));

	EXPECT_NE(0, tt_poll1(k.c, POLLIN, 5000));
	n = recv(k.c, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("recv: %zd %s", n, strerror(errno));
	EXPECT_EQ(TT_GONE, tt_lookup(stk, &cn, &sn, NULL));
	EXPECT_EQ(-1, send(k.c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);

	tt_snap_take(stk, &a);
	TT_EXPECT_DELTA(&b, &a, "OutRsts", ==, 1);
	TT_EXPECT_DELTA(&b, &a, "InRsts", ==, 1);
	TT_EXPECT_DELTA(&b, &a, "EstabResets", >=, 1);
	TT_EXPECT_DELTA(&b, &a, "CurrEstab", ==, -2);
	tt_conn_close(&k);
}

/* Data for an application that already closed draws a RST. */
TEST_F(lo, data_after_close_gets_rst)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_snap b, a;
	struct tt_conn k;
	long long end;
	int err = 0, sends = 0;
	char buf[64];

	tt_lo_pair(_metadata, stk, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	ASSERT_EQ(0, tt_recv_to(k.c, buf, sizeof(buf), 5000));
	EXPECT_EQ(TT_CLOSE_WAIT, tt_wait_state(stk, &cn, &sn, TT_CLOSE_WAIT, 3000));
	EXPECT_EQ(TT_FIN_WAIT2, tt_wait_state(stk, &sn, &cn, TT_FIN_WAIT2, 3000));

	tt_snap_take(stk, &b);
	memset(buf, 'd', sizeof(buf));
	end = tt_now_ms() + 5000;
	while (tt_now_ms() < end) {
		if (send(k.c, buf, sizeof(buf), MSG_NOSIGNAL) < 0) {
			err = errno;
			break;
		}
		sends++;
		tt_msleep(50);
	}
	EXPECT_TRUE(err == ECONNRESET || err == EPIPE)
		TH_LOG("after %d sends: %s", sends, err ? strerror(err) : "no error");
	EXPECT_EQ(TT_GONE, tt_lookup(stk, &sn, &cn, NULL));
	EXPECT_EQ(TT_GONE, tt_lookup(stk, &cn, &sn, NULL));
	tt_snap_take(stk, &a);
	TT_EXPECT_DELTA(&b, &a, "OutRsts", ==, 1);
	TT_EXPECT_DELTA(&b, &a, "InRsts", ==, 1);
	tt_conn_close(&k);
}

/*
 * A connected pair on loopback, and the header of the client's first data
 * segment ("hello", captured): a template for forged segments of the
 * connection, with the sequence and acknowledgment numbers it carried.
 */
static void pair_and_template(struct __test_metadata *_metadata,
			      enum tt_stack stk, struct tt_conn *k,
			      uint8_t *hdr, int *hlen, uint32_t *seq,
			      uint32_t *ack)
{
	struct sockaddr_in cn, sn;
	char buf[8];
	int cap;

	tt_lo_pair(_metadata, stk, SPORT, k);
	ASSERT_EQ(0, tt_sockname(k->c, &cn));
	ASSERT_EQ(0, tt_sockname(k->s, &sn));
	cap = tt_cap_open("lo");
	ASSERT_LE(0, cap) TH_LOG("AF_PACKET: %s", strerror(errno));
	ASSERT_EQ(5, send(k->c, "hello", 5, 0));
	ASSERT_EQ(5, tt_recv_all(k->s, buf, 5, 5000));
	ASSERT_TRUE(tt_cap_find_data(cap, &cn, &sn, 5, hdr, hlen, seq, ack))
		TH_LOG("did not capture the client's data segment");
	close(cap);
}

/*
 * Segments with a bad checksum, aimed exactly at an established
 * connection, are dropped and counted (InCsumErrors); the same RST with a
 * good checksum does reset the connection.
 */
TEST_F(lo, bad_checksum_segment_dropped_and_counted)
{
	const enum tt_stack stk = variant->stack;
	uint8_t hdr[64], seg[128];
	struct tt_snap b, a;
	struct tt_conn k;
	uint32_t seq, ack;
	int hlen = 0, len;
	char buf[16];

	pair_and_template(_metadata, stk, &k, hdr, &hlen, &seq, &ack);

	tt_snap_take(stk, &b);
	/* In-window data and an exact RST, both with a wrong checksum. */
	len = tt_seg_forge(seg, hdr, hlen, seq + 5, ack, TT_ACK | TT_PSH, "EVIL!",
			   true);
	ASSERT_EQ(0, tt_raw_send_lo(seg, len)) TH_LOG("raw send: %s", strerror(errno));
	len = tt_seg_forge(seg, hdr, hlen, seq + 5, ack, TT_ACK | TT_RST, NULL, true);
	ASSERT_EQ(0, tt_raw_send_lo(seg, len));

	tt_cnt_wait(stk, "InCsumErrors", tt_snap_get(&b, "InCsumErrors") + 2, 3000);
	tt_snap_take(stk, &a);
	TT_EXPECT_DELTA(&b, &a, "InCsumErrors", ==, 2);
	TT_EXPECT_DELTA(&b, &a, "InErrs", >=, 2);
	EXPECT_EQ(0, tt_poll1(k.s, POLLIN, 300)) TH_LOG("bad segment delivered data");

	/* The connection still works, and carries only the real bytes. */
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, k.s));
	ASSERT_EQ(5, send(k.c, "world", 5, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, tt_recv_all(k.s, buf, 5, 5000));
	EXPECT_STREQ("world", buf);
	ASSERT_EQ(4, send(k.s, "back", 4, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, tt_recv_all(k.c, buf, 4, 5000));
	EXPECT_STREQ("back", buf);

	/* Control: the same RST with a good checksum resets the server. */
	len = tt_seg_forge(seg, hdr, hlen, seq + 10, ack + 4, TT_ACK | TT_RST, NULL,
			   false);
	ASSERT_EQ(0, tt_raw_send_lo(seg, len));
	EXPECT_NE(0, tt_poll1(k.s, POLLIN, 3000));
	EXPECT_EQ(-1, recv(k.s, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("valid RST did not reset: %s",
					    strerror(errno));
	tt_conn_close(&k);
}

/*
 * RFC 5961: in-window RSTs that are not exact earn a challenge ACK, not a
 * reset, and at most one per 500 ms (as tcp_oow_rate_limited()), so a
 * burst of 20 gets one or two; the connection lives on.  The others are
 * counted as skipped (Linux: TCPACKSkippedChallenge).
 */
static long skipped_challenges(enum tt_stack stk)
{
	return stk == TT_LINUX ? tt_lnx_tcp_cnt("TCPACKSkippedChallenge") :
				 tt_cnt(stk, "AckSkipped");
}

TEST_F(lo, blind_rst_burst_one_challenge_ack_connection_lives)
{
	const enum tt_stack stk = variant->stack;
	uint8_t hdr[64], seg[128];
	long ch0, sk0, ch1, sk1;
	uint32_t seq, ack;
	int hlen = 0, len, i;
	struct tt_conn k;
	char buf[16];

	pair_and_template(_metadata, stk, &k, hdr, &hlen, &seq, &ack);

	ch0 = tt_cnt(stk, "ChallengeACKs");
	sk0 = skipped_challenges(stk);
	ASSERT_LE(0, ch0);
	ASSERT_LE(0, sk0);
	/* 1000 bytes past RCV.NXT: in the window, not exact. */
	len = tt_seg_forge(seg, hdr, hlen, seq + 5 + 1000, ack, TT_ACK | TT_RST,
			   NULL, false);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, tt_raw_send_lo(seg, len));
	usleep(300000);
	ch1 = tt_cnt(stk, "ChallengeACKs");
	sk1 = skipped_challenges(stk);
	TH_LOG("20 blind RSTs: %ld challenge ACKs, %ld skipped",
	       ch1 - ch0, sk1 - sk0);
	EXPECT_LE(1, ch1 - ch0);
	EXPECT_GE(2, ch1 - ch0);
	EXPECT_EQ(20, (ch1 - ch0) + (sk1 - sk0));
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, k.s));
	ASSERT_EQ(5, send(k.c, "world", 5, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, tt_recv_all(k.s, buf, 5, 5000));
	EXPECT_STREQ("world", buf);
	tt_conn_close(&k);
}

/* ------------------------------------------------------------------ */
/*
 * SYN cookies and SYN floods (RFC 4987 3.6).  A listener's SYN queue holds
 * at most max(backlog, 16) children; beyond that SYNs are answered with
 * cookies (net.toytcp.syncookies = 1, as Linux's net.ipv4.tcp_syncookies)
 * and no state is kept until the peer's ACK returns one.
 */

/*
 * A SYN flood: SYNs with an MSS option from random spoofed sources in
 * 10.99.0.0/16 and random ports and sequence numbers to 127.0.0.1:@port,
 * as fast as a raw socket takes them, until told to stop.  The replies go
 * out of lo (a route the caller adds) and are lost.
 */
struct flooder {
	int port;
	int stop;
	long sent;
	int err;
	pthread_t th;
};

static void *flood_run(void *arg)
{
	uint32_t x = 0x9e3779b9, daddr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct flooder *f = arg;
	uint8_t pkt[44], *tcp = pkt + 20;
	int fd;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		f->err = errno;
		return NULL;
	}
	dst.sin_addr.s_addr = daddr;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[3] = sizeof(pkt);
	pkt[8] = 64;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 16, &daddr, 4);
	tcp[2] = f->port >> 8;
	tcp[3] = f->port & 0xff;
	tcp[12] = 6 << 4;		/* 24 bytes: the header and MSS */
	tcp[13] = TT_SYN;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	tcp[20] = 2;			/* MSS 1460 */
	tcp[21] = 4;
	tcp[22] = 1460 >> 8;
	tcp[23] = 1460 & 0xff;
	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		uint32_t saddr;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		saddr = htonl(0x0a630000 | (x & 0xffff));
		memcpy(pkt + 12, &saddr, 4);
		tcp[0] = 0x80 | ((x >> 16) & 0x7f);
		tcp[1] = x >> 24;
		memcpy(tcp + 4, &x, 4);
		tt_tcp_csum(tcp, 24, saddr, daddr);
		if (sendto(fd, pkt, sizeof(pkt), 0, TT_SA(&dst),
			   sizeof(dst)) == sizeof(pkt))
			f->sent++;
	}
	close(fd);
	return NULL;
}

static int flood_start(struct flooder *f, int port)
{
	memset(f, 0, sizeof(*f));
	f->port = port;
	if (tt_sh("ip route add 10.99.0.0/16 dev lo"))
		return -1;
	return pthread_create(&f->th, NULL, flood_run, f);
}

static void flood_stop(struct flooder *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELAXED);
	pthread_join(f->th, NULL);
}

/* One client: connect, one byte each way through the accepted socket. */
static int echo_once(enum tt_stack stk, int l, int timeout_ms)
{
	int c = tt_socket(stk), s = -1, err;
	char b = 0;

	if (c < 0)
		return errno;
	err = tt_connect_to(c, tt_family(stk), LO, SPORT, timeout_ms);
	if (!err) {
		s = tt_accept_to(l, timeout_ms, NULL);
		if (s < 0)
			err = errno;
	}
	if (!err && (send(c, "q", 1, 0) != 1 ||
		     tt_recv_all(s, &b, 1, timeout_ms) != 1 || b != 'q' ||
		     send(s, "a", 1, 0) != 1 ||
		     tt_recv_all(c, &b, 1, timeout_ms) != 1 || b != 'a'))
		err = EIO;
	if (s >= 0)
		close(s);
	close(c);
	return err;
}

/*
 * net.toytcp.syncookies = 2: every SYN gets a cookie, no child exists
 * before the ACK; the connection works both ways, over toytcp and with a
 * Linux TCP client, and the counters show the cookies.  Both clients
 * offer timestamps, so window scaling and SACK survive the cookie in the
 * SYN-ACK's TSval (as Linux's cookie_init_timestamp()).
 */
TEST_F_TIMEOUT(lo, syncookies_always_handshake_without_state_transfers, 120)
{
	const enum tt_stack stk = variant->stack;
	const int n = 300000;
	uint8_t *tx = malloc(n), *rx = malloc(n);
	long sent0, recv0;
	int pass;

	ASSERT_NE(NULL, tx);
	ASSERT_NE(NULL, rx);
	ASSERT_EQ(0, tt_set_syncookies(stk, 2));
	tt_fill(7, 0, tx, n);
	for (pass = 0; pass < 2; pass++) {
		struct toytcp_info ti;
		socklen_t len = sizeof(ti);
		struct tt_conn k;
		/* Pass 1: a Linux TCP client to the toytcp server. */
		enum tt_stack cs = pass ? TT_LINUX : stk;

		if (pass && stk == TT_LINUX)
			break;
		sent0 = tt_cnt(stk, "SyncookiesSent");
		recv0 = tt_cnt(stk, "SyncookiesRecv");
		ASSERT_EQ(0, tt_pair(&k, -1, cs, NULL, 0, -1, stk, LO, SPORT))
			TH_LOG("%s client", tt_stack_name(cs));
		EXPECT_EQ(sent0 + 1, tt_cnt(stk, "SyncookiesSent"));
		EXPECT_EQ(recv0 + 1, tt_cnt(stk, "SyncookiesRecv"));
		if (stk == TT_TOYTCP) {
			ASSERT_EQ(0, getsockopt(k.s, SOL_TOYTCP, TOYTCP_INFO,
						&ti, &len));
			EXPECT_TRUE(ti.options & TOYTCP_OPT_TS);
			EXPECT_TRUE(ti.options & TOYTCP_OPT_WSCALE);
			EXPECT_TRUE(ti.options & TOYTCP_OPT_SACK);
			EXPECT_NE(0, ti.snd_wscale);
			EXPECT_NE(0, ti.rcv_wscale);
		}
		/* Both directions, the receiver not reading at once. */
		ASSERT_EQ(n, tt_send_all(k.c, tx, n, 20000));
		memset(rx, 0, n);
		ASSERT_EQ(n, tt_recv_all(k.s, rx, n, 20000));
		EXPECT_EQ(0, memcmp(tx, rx, n));
		ASSERT_EQ(n, tt_send_all(k.s, tx, n, 20000));
		memset(rx, 0, n);
		ASSERT_EQ(n, tt_recv_all(k.c, rx, n, 20000));
		EXPECT_EQ(0, memcmp(tx, rx, n));
		tt_conn_close(&k);
	}
	free(tx);
	free(rx);
}

/*
 * An ACK with a sequence number no cookie made gets a reset and no child,
 * while cookies are in use; SyncookiesFailed counts it.
 */
TEST_F(lo, syncookie_forged_ack_reset_and_no_child)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in src = tt_sin(AF_INET, LO, 41000);
	uint8_t tcp[20], buf[2048];
	struct tt_tcpinfo t;
	bool rst = false;
	long failed0;
	int l, cap, r;

	ASSERT_EQ(0, tt_set_syncookies(stk, 2));
	l = tt_listen_in(-1, stk, LO, SPORT, 8);
	ASSERT_LE(0, l);
	/* A real connection first: a cookie went out recently. */
	ASSERT_EQ(0, echo_once(stk, l, 5000));
	failed0 = tt_cnt(stk, "SyncookiesFailed");

	cap = tt_cap_open("lo");
	ASSERT_LE(0, cap);
	memset(tcp, 0, sizeof(tcp));
	tcp[0] = 41000 >> 8;
	tcp[1] = 41000 & 0xff;
	tcp[2] = SPORT >> 8;
	tcp[3] = SPORT & 0xff;
	tcp[7] = 1;			/* seq 1 */
	tcp[8] = 0x12;			/* ack 0x12345678: no cookie */
	tcp[9] = 0x34;
	tcp[10] = 0x56;
	tcp[11] = 0x78;
	tcp[12] = 5 << 4;
	tcp[13] = TT_ACK;
	tcp[14] = 0xff;
	tt_tcp_csum(tcp, sizeof(tcp), src.sin_addr.s_addr, src.sin_addr.s_addr);
	ASSERT_EQ(0, tt_raw_send(tcp, sizeof(tcp), src.sin_addr.s_addr,
				 src.sin_addr.s_addr));
	while ((r = tt_cap_next(cap, buf, sizeof(buf), NULL, 2000)) > 0) {
		if (tt_parse(buf, r, &t) && t.sport == SPORT &&
		    t.dport == 41000 && (t.flags & TT_RST)) {
			rst = true;
			EXPECT_EQ(0x12345678u, t.seq);
			break;
		}
	}
	close(cap);
	EXPECT_TRUE(rst) TH_LOG("no reset for the forged ACK");
	EXPECT_EQ(failed0 + 1, tt_cnt(stk, "SyncookiesFailed"));
	ASSERT_EQ(0, tt_set_nonblock(l, true));
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, tt_count_port_state(stk, SPORT, TT_SYN_RECV));
	EXPECT_EQ(0, tt_count_port_state(stk, SPORT, TT_ESTABLISHED));
	close(l);
}

/*
 * A SYN flood from spoofed addresses fills the SYN queue (backlog 16) and
 * holds it full; further SYNs get cookies.  Meanwhile real clients (at
 * least 20, for at least 3 s) connect and exchange a byte each, and the
 * queue never holds more than its bound.  The flood rate is logged.
 */
TEST_F_TIMEOUT(lo, syn_flood_queue_bounded_cookies_let_clients_in, 180)
{
	const enum tt_stack stk = variant->stack;
	/* Linux checks the queue length before it adds: one more fits
	 * (toytcp's bound is Linux's).
	 */
	int l, n, ok = 0, st, max_rq = 0, bound = 17;
	long sent0, recv0, full0;
	long long t0, t1;
	struct flooder f;

	ASSERT_EQ(0, tt_set_syncookies(stk, 1));
	l = tt_listen_in(-1, stk, LO, SPORT, 16);
	ASSERT_LE(0, l);
	sent0 = tt_cnt(stk, "SyncookiesSent");
	recv0 = tt_cnt(stk, "SyncookiesRecv");
	full0 = tt_cnt(stk, "ReqQFullDoCookies");
	ASSERT_EQ(0, flood_start(&f, SPORT));
	/* The queue is full once cookies go out. */
	EXPECT_LT(sent0, tt_cnt_wait(stk, "SyncookiesSent", sent0 + 1, 20000));
	t0 = tt_now_ms();
	for (n = 0; n < 20 || tt_now_ms() - t0 < 3000; n++) {
		int err = echo_once(stk, l, 10000);

		if (!err)
			ok++;
		else
			TH_LOG("client %d: %s", n, strerror(err));
		st = tt_count_port_state(stk, SPORT, TT_SYN_RECV);
		if (st > max_rq)
			max_rq = st;
	}
	flood_stop(&f);
	t1 = tt_now_ms();
	TH_LOG("flood: %ld SYNs (%lld/s), %ld cookies; %d of %d clients in (%lld/s); SYN queue at most %d",
	       f.sent, f.sent * 1000LL / (t1 - t0 + 1),
	       tt_cnt(stk, "SyncookiesSent") - sent0, ok, n,
	       ok * 1000LL / (t1 - t0 + 1), max_rq);
	EXPECT_EQ(0, f.err) TH_LOG("raw socket: %s", strerror(f.err));
	EXPECT_EQ(n, ok);
	EXPECT_LE(max_rq, bound);
	EXPECT_LE(1, max_rq) TH_LOG("the flood never reached the SYN queue");
	EXPECT_LT(full0, tt_cnt(stk, "ReqQFullDoCookies"));
	/* At least the real clients' ACKs came back with a cookie. */
	EXPECT_LE(recv0 + 1, tt_cnt(stk, "SyncookiesRecv"));
	close(l);
}

/*
 * The same flood with SYN cookies off: the full SYN queue drops
 * every new SYN (ReqQFullDrop), so a real client cannot get in: what the
 * cookies above are for.
 */
TEST_F_TIMEOUT(lo, syn_flood_without_cookies_starves_clients, 120)
{
	const enum tt_stack stk = variant->stack;
	long drop0, sent0;
	struct flooder f;
	int l, i, fails = 0;

	ASSERT_EQ(0, tt_set_syncookies(stk, 0));
	l = tt_listen_in(-1, stk, LO, SPORT, 16);
	ASSERT_LE(0, l);
	drop0 = tt_cnt(stk, "ReqQFullDrop");
	sent0 = tt_cnt(stk, "SyncookiesSent");
	ASSERT_EQ(0, flood_start(&f, SPORT));
	EXPECT_LT(drop0, tt_cnt_wait(stk, "ReqQFullDrop", drop0 + 1, 20000));
	for (i = 0; i < 2; i++)
		if (echo_once(stk, l, 2500) == ETIMEDOUT)
			fails++;
	flood_stop(&f);
	EXPECT_EQ(2, fails);
	EXPECT_EQ(sent0, tt_cnt(stk, "SyncookiesSent"));
	close(l);
}

/* ------------------------------------------------------------------ */
/*
 * The state machine seen through the tracepoints.  Both ends are of the
 * variant's stack; 150 ms of netem delay each way lets SYNs and FINs sent
 * at once cross, and keeps SYN-SENT long enough to look at.
 */
FIXTURE(veth) {
	struct tt_net t;
	struct tt_knob knob;
	struct tt_states states;	/* every socket with port SPORT */
	int cport;	/* the client's port: this test's own (a socket of
			 * the test before may still be in TIME-WAIT) */
};

FIXTURE_VARIANT(veth) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(veth);

#define DELAY 150	/* ms, each way */

FIXTURE_SETUP(veth)
{
	struct tt_net_opts o = { .offloads_on = true, .netem = "delay 150ms" };

	self->knob.param = NULL;
	self->cport = 20000 + getpid() % 30000;
	ASSERT_EQ(0, tt_net_up(&self->t, &o))
		TH_LOG("cannot build the two namespaces");
	TT_IN_NS(self->t.a.fd, ({ TT_REQUIRE_STACK(variant->stack); 0; }));
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	ASSERT_EQ(0, tt_states_start(&self->states, variant->stack, SPORT))
		TH_LOG("tracefs instance: %s", strerror(errno));
}

FIXTURE_TEARDOWN(veth)
{
	tt_states_stop(&self->states);
	tt_knob_restore(&self->knob);
	tt_net_unblock(&self->t);
	tt_net_down(&self->t);
}

/* CLOSED -> SYN_SENT -> ESTABLISHED, and LISTEN -> SYN_RECV -> ESTABLISHED. */
TEST_F_TIMEOUT(veth, active_open_syn_sent_to_established, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in la = tt_sin(tt_family(stk), TT_IP_A, self->cport);
	struct sockaddr_in ra = tt_sin(tt_family(stk), TT_IP_B, SPORT);
	struct tt_snap ab, bb, aa, ba;
	long long t0, t1;
	int l, c, s, rev;

	l = tt_listen_in(self->t.b.fd, stk, TT_IP_B, SPORT, 8);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	c = tt_socket_in(self->t.a.fd, stk);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, bind(c, TT_SA(&la), sizeof(la)));
	tt_snap_in(self->t.a.fd, stk, &ab);
	tt_snap_in(self->t.b.fd, stk, &bb);

	ASSERT_EQ(0, tt_set_nonblock(c, true));
	t0 = tt_now_ms();
	EXPECT_EQ(-1, connect(c, TT_SA(&ra), sizeof(ra)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(TT_SYN_SENT,
		  TT_IN_NS(self->t.a.fd, tt_lookup(stk, &la, &ra, NULL)));
	/* Connecting again while in SYN_SENT: EALREADY. */
	EXPECT_EQ(-1, connect(c, TT_SA(&ra), sizeof(ra)));
	EXPECT_EQ(EALREADY, errno);

	rev = tt_poll1(c, POLLOUT, 10000);
	t1 = tt_now_ms();
	EXPECT_TRUE(rev & POLLOUT) TH_LOG("revents %#x", rev);
	EXPECT_EQ(0, tt_so_error(c));
	EXPECT_LE(2 * DELAY - 20, t1 - t0) TH_LOG("connected after %lld ms", t1 - t0);
	s = tt_accept_to(l, 5000, NULL);
	EXPECT_LE(0, s);
	EXPECT_TRUE(tt_states_wait(&self->states, &ra, &la, TT_ESTABLISHED, 3000));
	TT_EXPECT_STATES(&self->states, &la, &ra, TT_CLOSE, TT_SYN_SENT,
			 TT_ESTABLISHED);
	TT_EXPECT_STATES(&self->states, &ra, &la, TT_SYN_RECV, TT_ESTABLISHED);

	tt_snap_in(self->t.a.fd, stk, &aa);
	tt_snap_in(self->t.b.fd, stk, &ba);
	TT_EXPECT_DELTA(&ab, &aa, "ActiveOpens", ==, 1);
	TT_EXPECT_DELTA(&ab, &aa, "PassiveOpens", ==, 0);
	TT_EXPECT_DELTA(&bb, &ba, "PassiveOpens", ==, 1);
	TT_EXPECT_DELTA(&bb, &ba, "ActiveOpens", ==, 0);
	TT_EXPECT_DELTA(&ab, &aa, "CurrEstab", ==, 1);
	TT_EXPECT_DELTA(&bb, &ba, "CurrEstab", ==, 1);
	close(c);
	close(s);
	close(l);
}

/* SYNs cross: both sides go SYN_SENT -> SYN_RECV -> ESTABLISHED. */
TEST_F_TIMEOUT(veth, simultaneous_open_both_established, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in aa = tt_sin(tt_family(stk), TT_IP_A, self->cport);
	struct sockaddr_in ba = tt_sin(tt_family(stk), TT_IP_B, SPORT);
	struct tt_snap asb, bsb, asa, bsa;
	char buf[8];
	int a, b;

	a = tt_socket_in(self->t.a.fd, stk);
	b = tt_socket_in(self->t.b.fd, stk);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, bind(a, TT_SA(&aa), sizeof(aa)));
	ASSERT_EQ(0, bind(b, TT_SA(&ba), sizeof(ba)));
	ASSERT_EQ(0, tt_set_nonblock(a, true));
	ASSERT_EQ(0, tt_set_nonblock(b, true));
	tt_snap_in(self->t.a.fd, stk, &asb);
	tt_snap_in(self->t.b.fd, stk, &bsb);

	EXPECT_EQ(-1, connect(a, TT_SA(&ba), sizeof(ba)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(-1, connect(b, TT_SA(&aa), sizeof(aa)));
	EXPECT_EQ(EINPROGRESS, errno);

	EXPECT_TRUE(tt_poll1(a, POLLOUT, 10000) & POLLOUT);
	EXPECT_TRUE(tt_poll1(b, POLLOUT, 10000) & POLLOUT);
	EXPECT_EQ(0, tt_so_error(a));
	EXPECT_EQ(0, tt_so_error(b));
	EXPECT_TRUE(tt_states_wait(&self->states, &aa, &ba, TT_ESTABLISHED, 3000));
	EXPECT_TRUE(tt_states_wait(&self->states, &ba, &aa, TT_ESTABLISHED, 3000));
	TT_EXPECT_STATES(&self->states, &aa, &ba, TT_CLOSE, TT_SYN_SENT,
			 TT_SYN_RECV, TT_ESTABLISHED);
	TT_EXPECT_STATES(&self->states, &ba, &aa, TT_CLOSE, TT_SYN_SENT,
			 TT_SYN_RECV, TT_ESTABLISHED);

	ASSERT_EQ(0, tt_set_nonblock(a, false));
	ASSERT_EQ(0, tt_set_nonblock(b, false));
	EXPECT_EQ(4, send(a, "ping", 4, 0));
	EXPECT_EQ(4, send(b, "pong", 4, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, tt_recv_all(b, buf, 4, 5000));
	EXPECT_STREQ("ping", buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, tt_recv_all(a, buf, 4, 5000));
	EXPECT_STREQ("pong", buf);

	tt_snap_in(self->t.a.fd, stk, &asa);
	tt_snap_in(self->t.b.fd, stk, &bsa);
	TT_EXPECT_DELTA(&asb, &asa, "ActiveOpens", ==, 1);
	TT_EXPECT_DELTA(&bsb, &bsa, "ActiveOpens", ==, 1);
	TT_EXPECT_DELTA(&asb, &asa, "PassiveOpens", ==, 0);
	TT_EXPECT_DELTA(&bsb, &bsa, "PassiveOpens", ==, 0);
	close(a);
	close(b);
}

/*
 * A connected pair c (A:cport) <-> s (B:SPORT), both ESTABLISHED; cn and
 * sn their addresses.
 */
static void veth_pair(struct __test_metadata *_metadata, struct tt_net *t,
		      enum tt_stack stk, int cport, struct tt_conn *k,
		      struct sockaddr_in *cn, struct sockaddr_in *sn)
{
	tt_net_pair(_metadata, t, stk, cport, stk, SPORT, k);
	*cn = tt_sin(tt_family(stk), TT_IP_A, cport);
	*sn = tt_sin(tt_family(stk), TT_IP_B, SPORT);
}

/*
 * Active close: ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT ->
 * CLOSED on the closer, ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED on
 * the other side.  (Linux: the closer's socket goes from FIN_WAIT2 to
 * CLOSE, a timewait socket keeps the TIME_WAIT, see tt_trace.h.)
 */
TEST_F_TIMEOUT(veth, active_close_fin_wait_time_wait_closed, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_conn k;
	char buf[8];

	veth_pair(_metadata, &self->t, stk, self->cport, &k, &cn, &sn);
	ASSERT_EQ(0, close(k.c));
	k.c = -1;
	EXPECT_TRUE(tt_states_wait(&self->states, &cn, &sn, TT_FIN_WAIT2, 5000));
	EXPECT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_CLOSE_WAIT, 3000));
	/* Until the other side closes, the closer waits in FIN_WAIT2. */
	tt_msleep(DELAY);
	EXPECT_EQ(TT_FIN_WAIT2, TT_IN_NS(self->t.a.fd,
					 tt_lookup(stk, &cn, &sn, NULL)));

	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_CLOSE, 5000));
	EXPECT_EQ(TT_TIME_WAIT, TT_IN_NS(self->t.a.fd,
					 tt_wait_state(stk, &cn, &sn,
						       TT_TIME_WAIT, 5000)));
	if (stk == TT_TOYTCP) {
		EXPECT_TRUE(tt_states_wait(&self->states, &cn, &sn, TT_CLOSE,
					   TT_TW_MS + 5000));
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_FIN_WAIT2,
				 TT_TIME_WAIT, TT_CLOSE);
	} else {
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_FIN_WAIT2,
				 TT_CLOSE);
	}
	TT_EXPECT_STATES(&self->states, &sn, &cn, TT_SYN_RECV, TT_ESTABLISHED,
			 TT_CLOSE_WAIT, TT_LAST_ACK, TT_CLOSE);
	tt_conn_close(&k);
}

/*
 * Passive close after a half-close: the side that received the FIN goes
 * CLOSE_WAIT, keeps sending, then close() -> LAST_ACK -> CLOSED.
 */
TEST_F_TIMEOUT(veth, passive_close_close_wait_last_ack_closed, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_ep tx, rx;
	struct tt_conn k;
	char buf[8];

	veth_pair(_metadata, &self->t, stk, self->cport, &k, &cn, &sn);
	tt_half_closed(_metadata, &k);
	EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_CLOSE_WAIT, 3000));
	EXPECT_TRUE(tt_states_wait(&self->states, &cn, &sn, TT_FIN_WAIT2, 3000));

	tt_ep_init(&tx, k.s, 44, 64 << 10, 0, 0);
	tx.shut_wr = false;
	tx.want_eof = false;
	tt_ep_init(&rx, k.c, 0, 0, 44, 64 << 10);
	rx.shut_wr = false;
	rx.want_eof = false;
	tt_ep_pair(&tx, &rx);
	EXPECT_EQ(0, tx.err) TH_LOG("CLOSE_WAIT sender: %s", tx.msg);
	EXPECT_EQ(0, rx.err) TH_LOG("FIN_WAIT2 receiver: %s", rx.msg);
	/* Sending did not move it out of CLOSE_WAIT. */
	EXPECT_EQ(TT_CLOSE_WAIT, TT_IN_NS(self->t.b.fd,
					  tt_lookup(stk, &sn, &cn, NULL)));

	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_LAST_ACK, 3000));
	EXPECT_EQ(0, tt_recv_to(k.c, buf, sizeof(buf), 5000));
	EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_CLOSE, 5000));
	EXPECT_EQ(TT_TIME_WAIT, TT_IN_NS(self->t.a.fd,
					 tt_wait_state(stk, &cn, &sn,
						       TT_TIME_WAIT, 5000)));
	TT_EXPECT_STATES(&self->states, &sn, &cn, TT_SYN_RECV, TT_ESTABLISHED,
			 TT_CLOSE_WAIT, TT_LAST_ACK, TT_CLOSE);
	if (stk == TT_TOYTCP)
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_FIN_WAIT2,
				 TT_TIME_WAIT);
	else
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_FIN_WAIT2,
				 TT_CLOSE);
	tt_conn_close(&k);
}

/* FINs cross: both sides FIN_WAIT1 -> CLOSING -> TIME_WAIT (-> CLOSED). */
TEST_F_TIMEOUT(veth, simultaneous_close_closing_then_time_wait, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, sn;
	struct tt_conn k;
	char buf[8];

	veth_pair(_metadata, &self->t, stk, self->cport, &k, &cn, &sn);
	ASSERT_EQ(0, shutdown(k.c, SHUT_WR));
	ASSERT_EQ(0, shutdown(k.s, SHUT_WR));
	EXPECT_EQ(0, tt_recv_to(k.c, buf, sizeof(buf), 5000));
	EXPECT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	EXPECT_EQ(TT_TIME_WAIT, TT_IN_NS(self->t.a.fd,
					 tt_wait_state(stk, &cn, &sn,
						       TT_TIME_WAIT, 5000)));
	EXPECT_EQ(TT_TIME_WAIT, TT_IN_NS(self->t.b.fd,
					 tt_wait_state(stk, &sn, &cn,
						       TT_TIME_WAIT, 5000)));
	if (stk == TT_TOYTCP) {
		EXPECT_TRUE(tt_states_wait(&self->states, &cn, &sn, TT_CLOSE,
					   TT_TW_MS + 5000));
		EXPECT_TRUE(tt_states_wait(&self->states, &sn, &cn, TT_CLOSE,
					   TT_TW_MS + 5000));
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_CLOSING,
				 TT_TIME_WAIT, TT_CLOSE);
		TT_EXPECT_STATES(&self->states, &sn, &cn, TT_SYN_RECV,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_CLOSING,
				 TT_TIME_WAIT, TT_CLOSE);
	} else {
		TT_EXPECT_STATES(&self->states, &cn, &sn, TT_SYN_SENT,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_CLOSING,
				 TT_CLOSE);
		TT_EXPECT_STATES(&self->states, &sn, &cn, TT_SYN_RECV,
				 TT_ESTABLISHED, TT_FIN_WAIT1, TT_CLOSING,
				 TT_CLOSE);
	}
	tt_conn_close(&k);
}

/* SYNs into the void: connect() gives up after syn_retries retransmits. */
TEST_F_TIMEOUT(veth, syn_sent_gives_up_after_syn_retries, 90)
{
	const enum tt_stack stk = variant->stack;
	struct tt_snap b, a;
	long long t0, dt;
	int c, err;

	/* B drops every SYN it gets (dropping them at A's qdisc instead
	 * makes Linux skip the retransmits: "still in host queue").
	 */
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd,
				     "-A INPUT -p tcp --syn -j DROP\n"));
	if (stk == TT_TOYTCP)
		ASSERT_EQ(6, tt_param_get("syn_retries")) TH_LOG("syn_retries default");
	ASSERT_EQ(0, tt_knob_set(&self->knob, stk, self->t.a.fd,
				 TT_SYN_RETRIES, 1));
	c = tt_socket_in(self->t.a.fd, stk);
	ASSERT_LE(0, c);
	tt_snap_in(self->t.a.fd, stk, &b);
	t0 = tt_now_ms();
	err = tt_connect_to(c, tt_family(stk), TT_IP_B, SPORT, 60000);
	dt = tt_now_ms() - t0;
	EXPECT_EQ(ETIMEDOUT, err) TH_LOG("connect: %s after %lld ms", strerror(err), dt);
	/* One SYN and one retransmission, at least 1 s apart (RFC 6298). */
	EXPECT_LE(900, dt);
	EXPECT_GE(30000, dt);
	tt_snap_in(self->t.a.fd, stk, &a);
	TT_EXPECT_DELTA(&b, &a, "AttemptFails", ==, 1);
	/* Linux adds tcp_syn_linear_timeouts retransmits to syn_retries. */
	if (stk == TT_LINUX)
		TT_EXPECT_DELTA(&b, &a, "RetransSegs", >=, 1);
	else
		TT_EXPECT_DELTA(&b, &a, "RetransSegs", ==, 1);
	TH_LOG("gave up after %lld ms, %ld retransmissions", dt,
	       tt_delta(&b, &a, "RetransSegs"));
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd,
				    tt_lookup_ino(stk, tt_ino(c), NULL)));
	close(c);
}

/* ------------------------------------------------------------------ */
/*
 * Segment sizes: toytcp at both ends of the veth, offloads off (every
 * frame a wire frame), an MTU per end.
 */
FIXTURE(mtu) {
	struct tt_net t;
};

FIXTURE_SETUP(mtu)
{
	self->t.a.fd = self->t.b.fd = -1;
	TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(mtu)
{
	tt_net_down(&self->t);
}

/* Watches the frames on va while a transfer runs. */
struct frame_stats {
	int fd, stop;
	uint32_t ip_a;
	int frames, frags, max_ab, max_ba, over_ab, over_ba;
	int syn_mss_a, syn_mss_b;	/* MSS option of A's SYN, B's SYN-ACK */
	int limit;
	pthread_t th;
};

static void *frame_watch(void *arg)
{
	struct frame_stats *fs = arg;
	static uint8_t pkt[65536 + 64];
	struct tt_tcpinfo t;
	int n, idle = 0;

	for (;;) {
		n = tt_cap_next(fs->fd, pkt, sizeof(pkt), NULL, 100);
		if (n <= 0) {
			if (__atomic_load_n(&fs->stop, __ATOMIC_SEQ_CST) && ++idle > 2)
				break;
			continue;
		}
		if (!tt_parse(pkt, n, &t))
			continue;
		fs->frames++;
		if (t.frag)
			fs->frags++;
		if (t.saddr == fs->ip_a) {
			if (t.iplen > fs->max_ab)
				fs->max_ab = t.iplen;
			if (t.iplen > fs->limit)
				fs->over_ab++;
			if ((t.flags & TT_SYN) && !(t.flags & TT_ACK))
				fs->syn_mss_a = t.mss;
		} else {
			if (t.iplen > fs->max_ba)
				fs->max_ba = t.iplen;
			if (t.iplen > fs->limit)
				fs->over_ba++;
			if ((t.flags & TT_SYN) && (t.flags & TT_ACK))
				fs->syn_mss_b = t.mss;
		}
	}
	return NULL;
}

/*
 * 1 MB each way between toytcp ends over A (MTU mtu_a) <-> B (mtu_b),
 * watching every frame on va.
 */
static void mss_transfer(struct __test_metadata *_metadata, struct tt_net *t,
			 int mtu_a, int mtu_b)
{
	struct tt_net_opts o = { .mtu_a = mtu_a, .mtu_b = mtu_b };
	int limit = mtu_a < mtu_b ? mtu_a : mtu_b;
	struct frame_stats fs = { .syn_mss_a = -2, .syn_mss_b = -2 };
	long frag_a0, frag_b0, frag_a1, frag_b1;
	struct tt_ep ea, eb;
	struct tt_conn k;

	ASSERT_EQ(0, tt_net_up(t, &o)) TH_LOG("cannot build the two namespaces");
	TT_IN_NS(t->a.fd, ({ TT_REQUIRE_STACK(TT_TOYTCP); 0; }));
	fs.fd = TT_IN_NS(t->a.fd, tt_cap_open("va"));
	ASSERT_LE(0, fs.fd) TH_LOG("AF_PACKET: %s", strerror(errno));
	inet_pton(AF_INET, TT_IP_A, &fs.ip_a);
	fs.limit = limit;
	frag_a0 = TT_IN_NS(t->a.fd, tt_lnx_ip_cnt("FragCreates"));
	frag_b0 = TT_IN_NS(t->b.fd, tt_lnx_ip_cnt("FragCreates"));
	ASSERT_EQ(0, pthread_create(&fs.th, NULL, frame_watch, &fs));

	tt_net_pair(_metadata, t, TT_TOYTCP, 0, TT_TOYTCP, SPORT, &k);
	tt_ep_init(&ea, k.c, 55, 1 << 20, 66, 1 << 20);
	tt_ep_init(&eb, k.s, 66, 1 << 20, 55, 1 << 20);
	tt_ep_pair(&ea, &eb);
	__atomic_store_n(&fs.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(fs.th, NULL);
	close(fs.fd);
	EXPECT_EQ(0, ea.err) TH_LOG("A: %s", ea.msg);
	EXPECT_EQ(0, eb.err) TH_LOG("B: %s", eb.msg);

	frag_a1 = TT_IN_NS(t->a.fd, tt_lnx_ip_cnt("FragCreates"));
	frag_b1 = TT_IN_NS(t->b.fd, tt_lnx_ip_cnt("FragCreates"));
	EXPECT_EQ(frag_a0, frag_a1) TH_LOG("A fragmented packets");
	EXPECT_EQ(frag_b0, frag_b1) TH_LOG("B fragmented packets");
	EXPECT_EQ(0, fs.frags);
	EXPECT_EQ(0, fs.over_ab) TH_LOG("max A->B frame %d > %d", fs.max_ab, limit);
	EXPECT_EQ(0, fs.over_ba) TH_LOG("max B->A frame %d > %d", fs.max_ba, limit);
	/* Bulk data fills the segments up to the limit. */
	EXPECT_LE(limit - 80, fs.max_ab) TH_LOG("largest A->B frame %d", fs.max_ab);
	EXPECT_LE(limit - 80, fs.max_ba) TH_LOG("largest B->A frame %d", fs.max_ba);
	/* Each SYN announces an MSS that fits its own interface's MTU. */
	EXPECT_LE(536, fs.syn_mss_a) TH_LOG("A's SYN MSS option: %d", fs.syn_mss_a);
	EXPECT_GE(mtu_a - 40, fs.syn_mss_a);
	EXPECT_LE(536, fs.syn_mss_b) TH_LOG("B's SYN-ACK MSS option: %d", fs.syn_mss_b);
	EXPECT_GE(mtu_b - 40, fs.syn_mss_b);
	TH_LOG("%d frames, largest A->B %d B->A %d, MSS options %d/%d",
	       fs.frames, fs.max_ab, fs.max_ba, fs.syn_mss_a, fs.syn_mss_b);
	tt_conn_close(&k);
}

/* MTU 1280 on both ends: no segment exceeds it, nothing is fragmented. */
TEST_F_TIMEOUT(mtu, mtu_1280_segments_fit_without_fragments, 120)
{
	mss_transfer(_metadata, &self->t, 1280, 1280);
}

/*
 * A has MTU 1500, B 1280 (veth drops bigger frames): A must send no more
 * than the MSS B announced.
 */
TEST_F_TIMEOUT(mtu, mss_option_limits_sender_to_peer_mtu, 120)
{
	mss_transfer(_metadata, &self->t, 1500, 1280);
}

/* ------------------------------------------------------------------ */
/*
 * toytcp's own: its TIME-WAIT length, TOYTCP_INFO, net.toytcp.*, its
 * tracepoints.  A fresh namespace with only lo, per test.
 */
FIXTURE(own) {
	int unused;
};

FIXTURE_SETUP(own)
{
	ASSERT_EQ(0, tt_fresh_netns()) TH_LOG("unshare(CLONE_NEWNET): %s",
					      strerror(errno));
	TT_REQUIRE_STACK(TT_TOYTCP);
	TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(own)
{
}

/* The active closer stays in TIME_WAIT for tw_timeout_ms, then is gone. */
TEST_F(own, time_wait_lasts_tw_timeout_then_gone)
{
	struct sockaddr_in cn, sn;
	long long t0, gone_at = -1;
	struct tt_conn k;
	char buf[8];
	int st;

	tt_lo_pair(_metadata, TT_TOYTCP, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	ASSERT_EQ(0, close(k.c));
	k.c = -1;
	ASSERT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	st = tt_wait_state(TT_TOYTCP, &cn, &sn, TT_TIME_WAIT, 3000);
	t0 = tt_now_ms();
	ASSERT_EQ(TT_TIME_WAIT, st) TH_LOG("closer is %s", tt_state_name(st));
	while (tt_now_ms() - t0 < TT_TW_MS + 5000) {
		if (tt_lookup(TT_TOYTCP, &cn, &sn, NULL) == TT_GONE) {
			gone_at = tt_now_ms() - t0;
			break;
		}
		tt_msleep(20);
	}
	EXPECT_NE(-1, gone_at) TH_LOG("still in TIME_WAIT %d ms after tw_timeout_ms",
				      5000);
	EXPECT_LE(TT_TW_MS - 200, gone_at) TH_LOG("gone after %lld ms", gone_at);
	tt_conn_close(&k);
}

/* When the TIME_WAIT on 127.0.0.1:CPORT expires, the port is free. */
TEST_F(own, time_wait_expiry_frees_port)
{
	struct sockaddr_in ca = tt_sin(AF_TOYTCP, LO, CPORT);
	struct sockaddr_in sn = tt_sin(AF_TOYTCP, LO, SPORT);
	struct tt_conn k;
	char buf[8];
	int fd;

	ASSERT_EQ(0, tt_pair(&k, -1, TT_TOYTCP, LO, CPORT, -1, TT_TOYTCP, LO,
			     SPORT));
	ASSERT_EQ(0, close(k.c));
	k.c = -1;
	ASSERT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	ASSERT_EQ(0, close(k.s));
	k.s = -1;
	ASSERT_EQ(TT_TIME_WAIT, tt_wait_state(TT_TOYTCP, &ca, &sn, TT_TIME_WAIT,
					      3000));
	EXPECT_EQ(TT_GONE, tt_wait_state(TT_TOYTCP, &ca, &sn, TT_GONE,
					 TT_TW_MS + 5000));
	fd = tt_socket(TT_TOYTCP);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, bind(fd, TT_SA(&ca), sizeof(ca)))
		TH_LOG("bind after TIME_WAIT: %s", strerror(errno));
	close(fd);
	tt_conn_close(&k);
}

/* TOYTCP_INFO: the control block as the user sees it. */

static int tt_info(int fd, struct toytcp_info *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0xa5, sizeof(*info));
	if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, info, &len))
		return -1;
	return len;
}

TEST_F(own, toytcp_info_reports_sequence_variables_and_bytes)
{
	struct toytcp_info ci, si, small;
	struct tcp_info ti;
	char *buf = malloc(100000);
	struct tt_conn k;
	socklen_t len;
	int i;

	ASSERT_NE(NULL, buf);
	tt_lo_pair(_metadata, TT_TOYTCP, SPORT, &k);

	ASSERT_EQ(sizeof(ci), tt_info(k.c, &ci));
	ASSERT_EQ(sizeof(si), tt_info(k.s, &si));
	EXPECT_EQ(TOYTCP_INFO_VERSION, ci.version);
	EXPECT_EQ(sizeof(ci), ci.length);
	EXPECT_EQ(TT_ESTABLISHED, ci.state);
	EXPECT_EQ(TT_ESTABLISHED, si.state);
	/* The handshake: each side's ISS is the other's IRS, SYNs acked. */
	EXPECT_EQ(ci.iss, si.irs);
	EXPECT_EQ(si.iss, ci.irs);
	EXPECT_EQ(ci.iss + 1, ci.snd_una);
	EXPECT_EQ(ci.snd_una, ci.snd_nxt);
	EXPECT_EQ(ci.irs + 1, ci.rcv_nxt);
	EXPECT_EQ(si.irs + 1, si.rcv_nxt);
	EXPECT_EQ(TOYTCP_OPT_SACK | TOYTCP_OPT_WSCALE | TOYTCP_OPT_TS,
		  ci.options & (TOYTCP_OPT_SACK | TOYTCP_OPT_WSCALE |
				TOYTCP_OPT_TS));
	/* lo: MTU 65536 less 40, less the 12 bytes of timestamps on every
	 * segment (as Linux's tcpi_snd_mss)
	 */
	EXPECT_EQ(65483, ci.mss);
	EXPECT_GE(ci.cwnd, 10);		/* RFC 6928 */
	EXPECT_GT(ci.rcv_wnd, 0);
	EXPECT_EQ(0, ci.bytes_sent);

	memset(buf, 'x', 100000);
	ASSERT_EQ(100000, tt_send_all(k.c, buf, 100000, 5000));
	ASSERT_EQ(100000, tt_recv_all(k.s, buf, 100000, 5000));
	for (i = 0; i < 100; i++) {	/* the last ACK may still be on its way */
		ASSERT_EQ(sizeof(ci), tt_info(k.c, &ci));
		if (ci.bytes_acked == 100000)
			break;
		tt_msleep(20);
	}
	ASSERT_EQ(sizeof(si), tt_info(k.s, &si));
	EXPECT_EQ(100000, ci.bytes_acked);
	EXPECT_EQ(100000, ci.bytes_sent);
	EXPECT_EQ(ci.iss + 1 + 100000, ci.snd_una);
	EXPECT_EQ(ci.snd_una, ci.write_seq);
	EXPECT_EQ(0, ci.total_retrans);
	EXPECT_EQ(100000, si.bytes_received);
	EXPECT_EQ(si.irs + 1 + 100000, si.rcv_nxt);
	EXPECT_EQ(si.rcv_nxt, si.copied_seq);
	EXPECT_GT(ci.srtt_us, 0);
	EXPECT_GE(ci.rto_ms, 200);

	/* TCP_INFO, for programs written for Linux TCP, agrees. */
	len = sizeof(ti);
	ASSERT_EQ(0, getsockopt(k.c, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(sizeof(ti), len);
	EXPECT_EQ(TT_ESTABLISHED, ti.tcpi_state);
	EXPECT_EQ(ci.mss, ti.tcpi_snd_mss);
	EXPECT_EQ(ci.cwnd, ti.tcpi_snd_cwnd);
	EXPECT_TRUE(ti.tcpi_options & TCPI_OPT_SACK);

	/* A short buffer gets the leading part; the length says how much. */
	len = 8;
	memset(&small, 0, sizeof(small));
	ASSERT_EQ(0, getsockopt(k.c, SOL_TOYTCP, TOYTCP_INFO, &small, &len));
	EXPECT_EQ(8, len);
	EXPECT_EQ(TOYTCP_INFO_VERSION, small.version);
	EXPECT_EQ(sizeof(ci), small.length);
	EXPECT_EQ(0, small.state);	/* not copied */

	/* Bad pointers and options fail like any getsockopt. */
	len = sizeof(ci);
	EXPECT_EQ(-1, getsockopt(k.c, SOL_TOYTCP, TOYTCP_INFO,
				 (void *)8, &len));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, getsockopt(k.c, SOL_TOYTCP, 77, &ci, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* Closed by the peer: the state follows. */
	EXPECT_EQ(0, close(k.s));
	k.s = -1;
	EXPECT_EQ(0, tt_recv_to(k.c, buf, 1, 5000));
	ASSERT_EQ(sizeof(ci), tt_info(k.c, &ci));
	EXPECT_EQ(TT_CLOSE_WAIT, ci.state);
	tt_conn_close(&k);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* net.toytcp.*: the tunables, per network namespace. */

TEST_F(own, sysctls_are_per_netns_and_override_module_params)
{
	struct sockaddr_in cn, sn;
	long long t0, gone_ms;
	struct tt_conn k;
	int fd, val, ns0;
	socklen_t len;

	/* Defaults: -1 follows the module parameter. */
	EXPECT_EQ(-1, tt_sysctl_get("toytcp/tw_timeout_ms"));
	EXPECT_EQ(7200, tt_sysctl_get("toytcp/keepalive_time"));
	/* Out of range is refused. */
	EXPECT_EQ(-1, tt_sysctl_set("toytcp/tw_timeout_ms", -2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, tt_sysctl_set("toytcp/keepalive_probes", 0));

	/* Socket defaults come from this namespace's values. */
	ASSERT_EQ(0, tt_sysctl_set("toytcp/keepalive_time", 42));
	ASSERT_EQ(0, tt_sysctl_set("toytcp/rmem_default", 65536));
	fd = tt_socket(TT_TOYTCP);
	ASSERT_GE(fd, 0);
	len = sizeof(val);
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &val, &len));
	EXPECT_EQ(42, val);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, &len));
	EXPECT_EQ(65536, val);
	close(fd);

	/* TIME-WAIT: the namespace's 300 ms, not the module's 4000 ms. */
	TT_SET_TW(4000);
	ASSERT_EQ(0, tt_sysctl_set("toytcp/tw_timeout_ms", 300));
	tt_lo_pair(_metadata, TT_TOYTCP, SPORT, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	close(k.c);
	k.c = -1;
	ASSERT_EQ(TT_FIN_WAIT2, tt_wait_state(TT_TOYTCP, &cn, &sn, TT_FIN_WAIT2, 3000));
	close(k.s);
	k.s = -1;
	t0 = tt_now_ms();
	ASSERT_EQ(TT_TIME_WAIT, tt_wait_state(TT_TOYTCP, &cn, &sn, TT_TIME_WAIT, 3000));
	EXPECT_EQ(TT_GONE, tt_wait_state(TT_TOYTCP, &cn, &sn, TT_GONE, 3500));
	gone_ms = tt_now_ms() - t0;
	EXPECT_LT(gone_ms, 2500) TH_LOG("TIME-WAIT lasted %lld ms", gone_ms);
	EXPECT_GE(gone_ms, 250) TH_LOG("TIME-WAIT lasted %lld ms", gone_ms);
	tt_conn_close(&k);

	/* Another namespace still has its own defaults. */
	ns0 = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_GE(ns0, 0);
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	EXPECT_EQ(-1, tt_sysctl_get("toytcp/tw_timeout_ms"));
	EXPECT_EQ(7200, tt_sysctl_get("toytcp/keepalive_time"));
	EXPECT_EQ(0, setns(ns0, CLONE_NEWNET));
	EXPECT_EQ(300, tt_sysctl_get("toytcp/tw_timeout_ms"));
	close(ns0);
	TT_SET_TW(TT_TW_MS);
}

/* ------------------------------------------------------------------ */
/* Tracepoints: events/toytcp/ in tracefs. */

TEST_F(own, tracepoints_show_states_segments_and_retransmissions)
{
	static const char *const events[] = { "toytcp", NULL };
	struct tt_trace tr;
	struct tt_conn k;
	char *trace;
	long old_retries;
	int fd;

	ASSERT_EQ(0, tt_tracefs());
	ASSERT_EQ(0, access(TT_TRACEFS "/events/toytcp/enable", F_OK));
	ASSERT_EQ(0, tt_trace_open(&tr, events, NULL))
		TH_LOG("tracefs instance: %s", strerror(errno));

	/* A connection, a little data, a close. */
	tt_lo_pair(_metadata, TT_TOYTCP, SPORT, &k);
	ASSERT_EQ(5, send(k.c, "hello", 5, 0));
	tt_conn_close(&k);

	/* A SYN that a firewall drops: retransmitted after the RTO. */
	old_retries = tt_param_get("syn_retries");
	ASSERT_EQ(0, tt_param_set("syn_retries", 1));
	ASSERT_EQ(0, tt_sh("iptables -A INPUT -p tcp --dport 7777 -j DROP"));
	fd = tt_socket(TT_TOYTCP);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(ETIMEDOUT, tt_connect_to(fd, AF_TOYTCP, LO, 7777, 20000));
	close(fd);
	tt_sh("iptables -D INPUT -p tcp --dport 7777 -j DROP");
	tt_param_set("syn_retries", old_retries);

	trace = tt_trace_read(&tr);
	tt_trace_close(&tr);
	ASSERT_NE(NULL, trace);
	EXPECT_NE(NULL, strstr(trace, "toytcp_state_change:"));
	EXPECT_NE(NULL, strstr(trace, "CLOSE -> SYN_SENT"));
	EXPECT_NE(NULL, strstr(trace, "SYN_SENT -> ESTABLISHED"));
	EXPECT_NE(NULL, strstr(trace, "SYN_RECV -> ESTABLISHED"));
	EXPECT_NE(NULL, strstr(trace, "ESTABLISHED -> FIN_WAIT1"));
	EXPECT_NE(NULL, strstr(trace, "flags=SYN\n"));
	EXPECT_NE(NULL, strstr(trace, "flags=SYN|ACK"));
	EXPECT_NE(NULL, strstr(trace, "toytcp_segment_sent:"));
	EXPECT_NE(NULL, strstr(trace, "toytcp_segment_rcv:"));
	EXPECT_NE(NULL, strstr(trace, "len=5 "));
	EXPECT_NE(NULL, strstr(trace, "127.0.0.1:7777"));
	EXPECT_NE(NULL, strstr(trace, "toytcp_rto:"));
	EXPECT_NE(NULL, strstr(trace, "toytcp_retransmit:"));
	if (!strstr(trace, "toytcp_retransmit:"))
		TH_LOG("trace: %.2000s", trace);
	free(trace);
}

TEST_HARNESS_MAIN
