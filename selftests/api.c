// SPDX-License-Identifier: GPL-2.0
/*
 * The socket API as a program sees it: the five I/O models of the receive
 * diagram (blocking, non-blocking, multiplexing with select/poll/epoll,
 * signal-driven, asynchronous with io_uring) and the calls, flags, options
 * and ioctls a TCP program uses.
 *
 * Every test runs once per stack, as the variants toytcp and linux of the
 * fixture (tt_linux.h), and expects of both what Linux TCP does.  Where a
 * value depends on a sysctl, the test reads the sysctl.
 */
#define _GNU_SOURCE
#include "toytcp_test.h"

#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <linux/sockios.h>
#include <liburing.h>

#define LO "127.0.0.1"

/* The stack's family and name, for calls and logs. */
#define FAM(s) tt_family(s)
#define SN(s) tt_stack_name(s)

/* Everything epoll can report that the tests look at. */
#define EV_ALL (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI)

FIXTURE(api) {
	void *bad;	/* an address the process may not touch */
};

FIXTURE_VARIANT(api) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(api);

FIXTURE_SETUP(api)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	/* Closed connections go soon (tests that need a long TIME-WAIT
	 * set it themselves).
	 */
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	/* PROT_NONE rather than unmapped: a later malloc cannot reuse it. */
	self->bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->bad);
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(api)
{
}

/* expr must fail with errno want; stack i, for the log. */
#define EXPECT_ERRNO(i, want, expr) do {				\
	long __r;							\
	int __e;							\
	errno = 0;							\
	__r = (long)(expr);						\
	__e = errno;							\
	EXPECT_EQ(-1, __r) TH_LOG("[%s] %s succeeded (%ld)", SN(i),	\
				  #expr, __r);				\
	EXPECT_EQ(want, __e) TH_LOG("[%s] %s: %s, want %s", SN(i),	\
				    #expr, strerror(__e),		\
				    strerror(want));			\
} while (0)

#define EXPECT_OK(i, expr) do {						\
	errno = 0;							\
	EXPECT_EQ(0, (long)(expr)) TH_LOG("[%s] %s: %s", SN(i), #expr,	\
					  strerror(errno));		\
} while (0)

static int64_t t_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int inq(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCINQ, &v))
		return -errno;
	return v;
}

/* Wait until fd has at least n bytes to read; returns SIOCINQ. */
static int inq_wait(int fd, int n, int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	int v;

	while ((v = inq(fd)) < n && tt_now_ms() < end)
		tt_msleep(2);
	return v;
}

/* What a level-triggered epoll reports for fd now (0: nothing). */
static uint32_t ep_now(int fd, uint32_t events, int timeout_ms)
{
	struct epoll_event ev = { .events = events };
	int ep = epoll_create1(EPOLL_CLOEXEC), n;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		if (ep >= 0)
			close(ep);
		return 0xffffffff;
	}
	n = epoll_wait(ep, &ev, 1, timeout_ms);
	close(ep);
	return n == 1 ? ev.events : 0;
}

/* Wait (up to timeout_ms) until epoll reports all of bits; the mask. */
static uint32_t ep_wait_bits(int fd, uint32_t bits, int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	uint32_t m;

	for (;;) {
		m = ep_now(fd, EV_ALL, 0);
		if ((m & bits) == bits || tt_now_ms() > end)
			return m;
		tt_msleep(5);
	}
}

static const char *ev_str(uint32_t m)
{
	static char b[128];

	snprintf(b, sizeof(b), "0x%x%s%s%s%s%s%s", m,
		 m & EPOLLIN ? " IN" : "", m & EPOLLOUT ? " OUT" : "",
		 m & EPOLLRDHUP ? " RDHUP" : "", m & EPOLLPRI ? " PRI" : "",
		 m & EPOLLERR ? " ERR" : "", m & EPOLLHUP ? " HUP" : "");
	return b;
}

#define EXPECT_EV(i, want, got) do {					\
	uint32_t __w = (want), __g = (got);				\
	EXPECT_EQ(__w, __g) TH_LOG("[%s] events %s", SN(i), ev_str(__g)); \
} while (0)

/* Abort the connection from fd's side: SO_LINGER {1, 0} and close. */
static void abort_close(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Fill fd's send path (the peer does not read); returns bytes queued. */
static long fill(int fd)
{
	static char buf[65536];
	long total = 0;
	int idle = 0;

	while (idle < 20) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			total += n;
			idle = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			return -1;
		idle++;		/* it may take a moment to settle */
		tt_msleep(10);
	}
	return total;
}

/* ------------------------------------------------------------------ */
/* Actions done later by a helper thread                               */

enum { L_END, L_SEND, L_SHUT_WR, L_KILL, L_ABORT };

struct step {
	int at_ms;		/* from the start */
	int kind;
	const char *buf;
	size_t len;
	int sig;
};

struct later {
	int fd;
	pthread_t target;	/* L_KILL: the thread to signal */
	struct step steps[4];
	pthread_t th;
};

static void *later_run(void *arg)
{
	struct later *l = arg;
	long long t0 = tt_now_ms();
	struct step *s;

	for (s = l->steps; s->kind != L_END; s++) {
		long long d = t0 + s->at_ms - tt_now_ms();

		if (d > 0)
			tt_msleep(d);
		switch (s->kind) {
		case L_SEND:
			send(l->fd, s->buf, s->len, MSG_NOSIGNAL);
			break;
		case L_SHUT_WR:
			shutdown(l->fd, SHUT_WR);
			break;
		case L_KILL:
			pthread_kill(l->target, s->sig);
			break;
		case L_ABORT:
			abort_close(l->fd);
			break;
		}
	}
	return NULL;
}

static void later_start(struct later *l, int fd)
{
	l->fd = fd;
	l->target = pthread_self();
	pthread_create(&l->th, NULL, later_run, l);
}

static void later_join(struct later *l)
{
	pthread_join(l->th, NULL);
}

/* ================================================================== */
/* The blocking model                                                  */

TEST_F(api, blocking_recv_sleeps_until_data)
{
	const enum tt_stack stk = variant->stack;
	struct later l = { .steps = {
		{ 300, L_SEND, "hello", 5 }, { 0, L_END } } };
	struct tt_conn k;
	char buf[16] = "";
	int64_t t0;
	ssize_t n;

	tt_lo_pair(_metadata, stk, 6000, &k);
	later_start(&l, k.c);
	t0 = t_us();
	n = recv(k.s, buf, sizeof(buf), 0);
	t0 = t_us() - t0;
	later_join(&l);
	EXPECT_EQ(5, n) TH_LOG("[%s] recv: %s", SN(stk), strerror(errno));
	EXPECT_STREQ("hello", buf);
	EXPECT_LE(250000, t0) TH_LOG("[%s] returned after %lld us",
				      SN(stk), (long long)t0);
	/* read() is recv() without flags. */
	EXPECT_EQ(2, send(k.c, "ok", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, read(k.s, buf, sizeof(buf)));
	EXPECT_STREQ("ok", buf);
	tt_conn_close(&k);
}

/* ================================================================== */
/* The non-blocking model                                              */

TEST_F(api, nonblocking_recv_eagain_until_data)
{
	const enum tt_stack stk = variant->stack;
	struct later l = { .steps = {
		{ 200, L_SEND, "data", 4 }, { 0, L_END } } };
	struct tt_conn k;
	char buf[16] = "";
	int eagain = 0;
	ssize_t n;

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, tt_set_nonblock(k.s, true));
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_ERRNO(stk, EAGAIN, read(k.s, buf, sizeof(buf)));
	later_start(&l, k.c);
	for (;;) {
		n = recv(k.s, buf, sizeof(buf), 0);
		if (n >= 0 || errno != EAGAIN || eagain > 5000)
			break;
		eagain++;
		tt_msleep(1);
	}
	later_join(&l);
	EXPECT_EQ(4, n) TH_LOG("[%s] recv: %s after %d EAGAIN", SN(stk),
			       strerror(errno), eagain);
	EXPECT_STREQ("data", buf);
	EXPECT_LT(2, eagain) TH_LOG("[%s] only %d EAGAIN", SN(stk), eagain);
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), 0));
	/* EOF is 0, not EAGAIN. */
	shutdown(k.c, SHUT_WR);
	EXPECT_EQ(EPOLLIN, ep_now(k.s, EPOLLIN, 2000));
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	tt_conn_close(&k);
}

/* ================================================================== */
/* Multiplexing: select, poll, epoll                                   */

/* select(): readable, writable, exception sets of one fd. */
static int sel(int fd, int timeout_ms, bool *r, bool *w, bool *x)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	fd_set rs, ws, xs;
	int n;

	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&xs);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	FD_SET(fd, &xs);
	n = select(fd + 1, &rs, &ws, &xs, &tv);
	*r = FD_ISSET(fd, &rs);
	*w = FD_ISSET(fd, &ws);
	*x = FD_ISSET(fd, &xs);
	return n;
}

TEST_F(api, select_reports_readable_writable)
{
	const enum tt_stack stk = variant->stack;
	struct timeval tv = { 2, 0 };
	struct tt_conn k;
	fd_set rs;
	bool r, w, x;
	char buf[8];

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(1, sel(k.s, 0, &r, &w, &x));
	EXPECT_FALSE(r) TH_LOG("[%s] readable with nothing sent", SN(stk));
	EXPECT_TRUE(w);
	EXPECT_FALSE(x);
	/* Only the read set: select sleeps until data comes. */
	EXPECT_EQ(3, send(k.c, "abc", 3, 0));
	FD_ZERO(&rs);
	FD_SET(k.s, &rs);
	EXPECT_EQ(1, select(k.s + 1, &rs, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(k.s, &rs));
	EXPECT_EQ(2, sel(k.s, 0, &r, &w, &x));
	EXPECT_TRUE(r);
	EXPECT_EQ(3, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(1, sel(k.s, 0, &r, &w, &x));
	EXPECT_FALSE(r) TH_LOG("[%s] readable after reading all", SN(stk));
	/* EOF makes it readable. */
	shutdown(k.c, SHUT_WR);
	EXPECT_EQ(1, tt_poll1(k.s, POLLIN, 2000) & POLLIN);
	sel(k.s, 0, &r, &w, &x);
	EXPECT_TRUE(r);
	EXPECT_FALSE(x);
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	/* A listener with nothing to accept: nothing. */
	EXPECT_EQ(0, sel(k.l, 0, &r, &w, &x));
	EXPECT_FALSE(r);
	EXPECT_FALSE(w);
	tt_conn_close(&k);
}

TEST_F(api, poll_reports_events)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	short ev = POLLIN | POLLOUT | POLLRDHUP | POLLPRI;
	char buf[8];
	int c;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(POLLOUT, tt_poll1(k.s, ev, 0)) TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(2, send(k.c, "ab", 2, 0));
	EXPECT_EQ(POLLIN, tt_poll1(k.s, POLLIN, 2000));
	EXPECT_EQ(POLLIN | POLLOUT, tt_poll1(k.s, ev, 0)) TH_LOG("[%s]", SN(stk));
	/* Only what was asked for, and RDNORM/WRNORM when asked. */
	EXPECT_EQ(POLLIN | POLLRDNORM,
		  tt_poll1(k.s, POLLIN | POLLRDNORM, 0));
	EXPECT_EQ(POLLOUT | POLLWRNORM,
		  tt_poll1(k.s, POLLOUT | POLLWRNORM, 0));
	EXPECT_EQ(2, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, tt_poll1(k.s, POLLIN, 0));
	/* Listener: POLLIN while a connection waits to be accepted. */
	EXPECT_EQ(0, tt_poll1(k.l, ev, 0));
	c = tt_socket_in(-1, stk);
	ASSERT_LE(0, c);
	EXPECT_EQ(0, tt_connect_to(c, FAM(stk), LO, 6000, 5000));
	EXPECT_EQ(POLLIN, tt_poll1(k.l, ev, 2000)) TH_LOG("[%s]", SN(stk));
	close(c);
	tt_conn_close(&k);
}

TEST_F(api, epoll_masks_by_state)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	uint32_t m;
	char buf[8];
	int fd;

	/* Never connected: Linux says OUT and HUP. */
	fd = tt_socket_in(-1, stk);
	ASSERT_LE(0, fd);
	EXPECT_EV(stk, EPOLLOUT | EPOLLHUP, ep_now(fd, EV_ALL, 0));
	close(fd);

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EV(stk, EPOLLOUT, ep_now(k.c, EV_ALL, 0));
	EXPECT_EV(stk, 0, ep_now(k.l, EV_ALL, 0));
	/* Own SHUT_WR: still OUT, no HUP. */
	EXPECT_EQ(0, shutdown(k.c, SHUT_WR));
	EXPECT_EV(stk, EPOLLOUT, ep_now(k.c, EV_ALL, 0));
	/* The peer got the FIN: IN and RDHUP. */
	m = ep_wait_bits(k.s, EPOLLRDHUP, 2000);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP, m);
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	/* Both directions shut: HUP. */
	EXPECT_EQ(0, shutdown(k.s, SHUT_WR));
	m = ep_wait_bits(k.c, EPOLLHUP, 2000);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP, m);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP,
		  ep_now(k.s, EV_ALL, 0));
	tt_conn_close(&k);
}

TEST_F(api, epoll_lt_reports_until_drained)
{
	const enum tt_stack stk = variant->stack;
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	struct tt_conn k;
	char buf[64];
	int ep;

	tt_lo_pair(_metadata, stk, 6000, &k);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.data.fd = k.s;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, k.s, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(10, send(k.c, "0123456789", 10, 0));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 2000));
	EXPECT_EQ(k.s, out[0].data.fd);
	/* Level-triggered: again and again while data is there. */
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(4, recv(k.s, buf, 4, 0));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 0)) TH_LOG("[%s] 6 bytes left", SN(stk));
	EXPECT_EQ(6, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 100)) TH_LOG("[%s] drained", SN(stk));
	close(ep);
	tt_conn_close(&k);
}

TEST_F(api, epoll_et_one_event_per_arrival)
{
	const enum tt_stack stk = variant->stack;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET },
			   out[2];
	struct tt_conn k;
	char buf[64];
	int ep, n;

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, tt_set_nonblock(k.s, true));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, k.s, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));

	EXPECT_EQ(10, send(k.c, "0123456789", 10, 0));
	EXPECT_EQ(10, inq_wait(k.s, 10, 2000));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 2000));
	EXPECT_EQ(EPOLLIN, out[0].events);
	/* One event for one arrival, even with data left. */
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 200)) TH_LOG("[%s] second event", SN(stk));
	EXPECT_EQ(4, recv(k.s, buf, 4, 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 100)) TH_LOG("[%s] event after a read", SN(stk));
	/* Drain to EAGAIN; the next arrival is exactly one event. */
	EXPECT_EQ(6, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(3, send(k.c, "abc", 3, 0));
	EXPECT_EQ(3, inq_wait(k.s, 3, 2000));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 2000)) TH_LOG("[%s] no event for new data", SN(stk));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 200)) TH_LOG("[%s] second event", SN(stk));
	/* New data while undrained: an event too (a new edge). */
	EXPECT_EQ(2, send(k.c, "de", 2, 0));
	EXPECT_EQ(5, inq_wait(k.s, 5, 2000));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 2000)) TH_LOG("[%s] no event for more data", SN(stk));
	EXPECT_EQ(5, recv(k.s, buf, sizeof(buf), 0));
	/* The peer's FIN: IN and RDHUP. */
	shutdown(k.c, SHUT_WR);
	n = epoll_wait(ep, out, 2, 2000);
	EXPECT_EQ(1, n) TH_LOG("[%s] no event for the FIN", SN(stk));
	if (n == 1)
		EXPECT_EV(stk, EPOLLIN | EPOLLRDHUP, out[0].events);
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	close(ep);
	tt_conn_close(&k);
}

/* A sender thread: many small messages, now and then a pause. */
struct trickle {
	int fd;
	int msgs;
	long sent;
	pthread_t th;
};

static void *trickle_run(void *arg)
{
	struct trickle *t = arg;
	char buf[256];
	unsigned int r = 12345;
	int m;

	for (m = 0; m < t->msgs; m++) {
		size_t len = 1 + (r = r * 1103515245 + 12345) % 200;
		ssize_t n;

		memset(buf, m, len);
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		t->sent += n;
		if (r % 7 == 0)
			usleep(r % 500);
	}
	shutdown(t->fd, SHUT_WR);
	return NULL;
}

/*
 * No lost wake-ups, edge-triggered: a reader that drains to EAGAIN after
 * each event gets every byte; a wait that times out with bytes still on
 * their way is a lost wake-up.
 */
TEST_F_TIMEOUT(api, epoll_et_no_lost_wakeups_epollin, 120)
{
	const enum tt_stack stk = variant->stack;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET },
			   out;
	struct trickle t = { .msgs = 3000 };
	struct tt_conn k;
	long got = 0;
	int ep, events = 0;
	bool eof = false, rdhup = false;
	char buf[4096];

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, tt_set_nonblock(k.s, true));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, k.s, &ev));
	t.fd = k.c;
	pthread_create(&t.th, NULL, trickle_run, &t);
	while (!eof) {
		int n = epoll_wait(ep, &out, 1, 5000);

		if (n != 1) {
			TH_LOG("[%s] lost wake-up: no event for 5 s after %ld bytes, %d events",
			       SN(stk), got, events);
			break;
		}
		events++;
		if (out.events & EPOLLRDHUP)
			rdhup = true;
		for (;;) {
			ssize_t r = recv(k.s, buf, sizeof(buf), 0);

			if (r > 0) {
				got += r;
				continue;
			}
			if (r == 0)
				eof = true;
			break;
		}
	}
	pthread_join(t.th, NULL);
	EXPECT_TRUE(eof) TH_LOG("[%s]", SN(stk));
	/* The FIN may come while the reader drains after an event. */
	if (eof && !rdhup)
		rdhup = ep_now(k.s, EPOLLRDHUP, 0) & EPOLLRDHUP;
	EXPECT_TRUE(rdhup) TH_LOG("[%s] no EPOLLRDHUP", SN(stk));
	EXPECT_EQ(t.sent, got) TH_LOG("[%s]", SN(stk));
	EXPECT_LT(200000, t.sent);
	close(ep);
	tt_conn_close(&k);
}

struct slow_reader {
	int fd;
	long want, got;
	pthread_t th;
};

static void *slow_reader_run(void *arg)
{
	struct slow_reader *r = arg;
	char buf[3000];
	int k = 0;

	while (r->got < r->want) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		r->got += n;
		if (++k % 16 == 0)
			usleep(1000);
	}
	return NULL;
}

/* The same for EPOLLOUT: a writer waiting for send-buffer space. */
TEST_F_TIMEOUT(api, epoll_et_no_lost_wakeups_epollout, 120)
{
	const enum tt_stack stk = variant->stack;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET }, out;
	struct slow_reader r = { .want = 4 << 20 };
	static char buf[65536];
	struct tt_conn k;
	long sent = 0;
	int ep, waits = 0, sz = 16384;
	bool lost = false;

	tt_lo_pair(_metadata, stk, 6000, &k);
	setsockopt(k.c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	ASSERT_EQ(0, tt_set_nonblock(k.c, true));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, k.c, &ev));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));	/* writable */
	r.fd = k.s;
	pthread_create(&r.th, NULL, slow_reader_run, &r);
	while (sent < r.want && !lost) {
		long left = r.want - sent;
		ssize_t n = send(k.c, buf, left < (long)sizeof(buf) ?
				 left : (long)sizeof(buf), MSG_NOSIGNAL);

		if (n > 0) {
			sent += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN) {
			TH_LOG("[%s] send: %s", SN(stk), strerror(errno));
			break;
		}
		waits++;
		if (epoll_wait(ep, &out, 1, 5000) != 1) {
			TH_LOG("[%s] lost wake-up: no EPOLLOUT for 5 s after %ld bytes",
			       SN(stk), sent);
			lost = true;
		}
	}
	if (lost)
		shutdown(k.s, SHUT_RDWR);	/* free the reader */
	pthread_join(r.th, NULL);
	EXPECT_FALSE(lost);
	EXPECT_EQ(r.want, r.got) TH_LOG("[%s]", SN(stk));
	EXPECT_LT(10, waits) TH_LOG("[%s] the buffer never filled", SN(stk));
	close(ep);
	tt_conn_close(&k);
}

TEST_F(api, epollout_returns_when_send_buffer_drains)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	static char buf[65536];
	long queued;
	uint32_t m;

	tt_lo_pair(_metadata, stk, 6000, &k);
	queued = fill(k.c);
	EXPECT_LT(0, queued);
	EXPECT_EV(stk, 0, ep_now(k.c, EPOLLOUT, 100));
	/* The reader catches up: EPOLLOUT again. */
	while (queued > 0) {
		ssize_t n = tt_recv_to(k.s, buf, sizeof(buf), 2000);

		if (n <= 0)
			break;
		queued -= n;
		if (ep_now(k.c, EPOLLOUT, 0))
			break;
	}
	m = ep_now(k.c, EPOLLOUT, 2000);
	EXPECT_EV(stk, EPOLLOUT, m);
	tt_conn_close(&k);
}

TEST_F(api, epollrdhup_on_peer_shut_wr)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[8] = "";
	uint32_t m;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(3, send(k.c, "end", 3, 0));
	EXPECT_EQ(0, shutdown(k.c, SHUT_WR));
	m = ep_wait_bits(k.s, EPOLLRDHUP, 2000);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP, m);
	/* The data first, then EOF, and EOF again. */
	EXPECT_EQ(3, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP, ep_now(k.s, EV_ALL, 0));
	/* Half-closed: the other direction still works. */
	EXPECT_EQ(5, send(k.s, "reply", 5, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, tt_recv_all(k.c, buf, 5, 2000));
	EXPECT_STREQ("reply", buf);
	tt_conn_close(&k);
}

TEST_F(api, epollhup_epollerr_after_rst)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[8];
	uint32_t m;

	tt_lo_pair(_metadata, stk, 6000, &k);
	abort_close(k.c);
	k.c = -1;
	m = ep_wait_bits(k.s, EPOLLERR, 2000);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLERR | EPOLLHUP, m);
	/* poll() says the same: ERR and HUP even when not asked. */
	EXPECT_EQ(POLLERR | POLLHUP, tt_poll1(k.s, 0, 0));
	/* The error is reported once, then EOF. */
	EXPECT_ERRNO(stk, ECONNRESET, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, tt_so_error(k.s));
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP,
		  ep_now(k.s, EV_ALL, 0));
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	tt_conn_close(&k);
}

TEST_F(api, nonblocking_connect_epollout_so_error_0)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(FAM(stk), LO, 6000), p;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET }, out;
	int l, c, r, ep, s;

	l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_LE(0, l);
	c = socket(FAM(stk), SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, c);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	r = connect(c, TT_SA(&a), sizeof(a));
	EXPECT_TRUE(r == 0 || errno == EINPROGRESS)
		TH_LOG("[%s] connect: %s", SN(stk), strerror(errno));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	EXPECT_EV(stk, EPOLLOUT, out.events);
	EXPECT_EQ(0, tt_so_error(c));
	EXPECT_EQ(0, tt_peername(c, &p));
	EXPECT_EQ(a.sin_port, p.sin_port);
	/* connect() again: 0 once (it completes the call that was in
	 * progress), then EISCONN. */
	EXPECT_OK(stk, connect(c, TT_SA(&a), sizeof(a)));
	EXPECT_ERRNO(stk, EISCONN, connect(c, TT_SA(&a), sizeof(a)));
	s = tt_accept_to(l, 2000, NULL);
	EXPECT_LE(0, s);
	EXPECT_EQ(2, send(c, "hi", 2, 0));
	close(s);
	close(ep);
	close(c);
	close(l);
}

TEST_F(api, nonblocking_connect_refused_so_error)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(FAM(stk), LO, 6100);
	int c, r, e;
	uint32_t m;

	c = socket(FAM(stk), SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, c);
	r = connect(c, TT_SA(&a), sizeof(a));
	e = errno;
	if (r == 0 || e != ECONNREFUSED) {
		EXPECT_EQ(EINPROGRESS, e) TH_LOG("[%s] connect: %s", SN(stk), strerror(e));
		m = ep_wait_bits(c, EPOLLERR, 5000);
		EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLERR | EPOLLHUP, m);
		EXPECT_EQ(ECONNREFUSED, tt_so_error(c)) TH_LOG("[%s]", SN(stk));
	}
	EXPECT_EQ(0, tt_so_error(c));	/* read once */
	close(c);
}

/* ================================================================== */
/* Signal-driven I/O                                                   */

/* Wait for signal sig (blocked) up to ms; its siginfo. */
static int sig_wait(int sig, int ms, siginfo_t *si)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	return sigtimedwait(&s, si, &ts);
}

static void sig_block(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void sig_drain(int sig)
{
	siginfo_t si;

	while (sig_wait(sig, 0, &si) == sig)
		;
}

static int set_async(int fd, int sig)
{
	if (fcntl(fd, F_SETOWN, getpid()))
		return -1;
	if (sig && fcntl(fd, F_SETSIG, sig))
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

TEST_F(api, sigio_on_data_arrival)
{
	const enum tt_stack stk = variant->stack;
	int rt = SIGRTMIN + 1;
	struct tt_conn k;
	siginfo_t si;
	char buf[8];

	sig_block(SIGIO);
	sig_block(rt);

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, tt_set_nonblock(k.s, true));
	ASSERT_EQ(0, set_async(k.s, 0)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(getpid(), fcntl(k.s, F_GETOWN));
	EXPECT_TRUE(fcntl(k.s, F_GETFL) & O_ASYNC);
	sig_drain(SIGIO);
	EXPECT_EQ(-1, sig_wait(SIGIO, 100, &si)) TH_LOG("[%s] SIGIO with no data", SN(stk));
	EXPECT_EQ(4, send(k.c, "ping", 4, 0));
	EXPECT_EQ(SIGIO, sig_wait(SIGIO, 2000, &si)) TH_LOG("[%s] no SIGIO for data", SN(stk));
	EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), 0));
	sig_drain(SIGIO);

	/* F_SETSIG: a queued signal that says which fd, and why. */
	ASSERT_EQ(0, fcntl(k.s, F_SETSIG, rt));
	EXPECT_EQ(4, send(k.c, "pong", 4, 0));
	EXPECT_EQ(rt, sig_wait(rt, 2000, &si)) TH_LOG("[%s] no signal for data", SN(stk));
	EXPECT_EQ(k.s, si.si_fd);
	EXPECT_EQ(POLL_IN, si.si_code);
	EXPECT_TRUE(si.si_band & POLLIN);
	EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), 0));
	sig_drain(rt);
	/* The peer's FIN is news too. */
	shutdown(k.c, SHUT_WR);
	EXPECT_EQ(rt, sig_wait(rt, 2000, &si)) TH_LOG("[%s] no signal for the FIN", SN(stk));
	EXPECT_EQ(k.s, si.si_fd);
	sig_drain(rt);
	tt_conn_close(&k);
	sig_drain(SIGIO);
}

TEST_F(api, sigio_on_incoming_connection)
{
	const enum tt_stack stk = variant->stack;
	siginfo_t si;
	int l, c;

	sig_block(SIGIO);

	l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_async(l, 0));
	sig_drain(SIGIO);
	c = tt_socket_in(-1, stk);
	EXPECT_EQ(0, tt_connect_to(c, FAM(stk), LO, 6000, 5000));
	EXPECT_EQ(SIGIO, sig_wait(SIGIO, 2000, &si))
		TH_LOG("[%s] no SIGIO for a connection", SN(stk));
	close(c);
	close(l);
	sig_drain(SIGIO);
}

/* ================================================================== */
/* Asynchronous I/O: io_uring                                          */

static int uring_wait(struct io_uring *ring, int ms, uint64_t *ud, int *res)
{
	struct __kernel_timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (r)
		return r;
	*ud = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

#define URING_INIT(ring) do {						\
	int __r = io_uring_queue_init(8, ring, 0);			\
	if (__r == -ENOSYS || __r == -EPERM)				\
		SKIP(return, "io_uring unavailable: %s", strerror(-__r)); \
	ASSERT_EQ(0, __r) TH_LOG("io_uring_queue_init: %s", strerror(-__r)); \
} while (0)

TEST_F(api, io_uring_accept_connect_send_recv)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(FAM(stk), LO, 6000);
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int l, c, s = -1, res, n, accept_res = -1, connect_res = -1;
	char buf[32] = "";
	uint64_t ud;

	URING_INIT(&ring);
	l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_LE(0, l);
	c = tt_socket_in(-1, stk);
	ASSERT_LE(0, c);

	/* accept and connect, both in flight at once. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_accept(sqe, l, NULL, NULL, 0);
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, c, TT_SA(&a), sizeof(a));
	sqe->user_data = 2;
	EXPECT_EQ(2, io_uring_submit(&ring));
	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, uring_wait(&ring, 5000, &ud, &res))
			TH_LOG("[%s] no completion for accept/connect", SN(stk));
		if (ud == 1)
			accept_res = res;
		else
			connect_res = res;
	}
	EXPECT_LE(0, accept_res) TH_LOG("[%s] accept: %s", SN(stk), strerror(-accept_res));
	EXPECT_EQ(0, connect_res) TH_LOG("[%s] connect: %s", SN(stk), strerror(-connect_res));
	s = accept_res;
	ASSERT_LE(0, s);

	/* A recv before there is data: the kernel waits (phase 1). */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, s, buf, sizeof(buf), 0);
	sqe->user_data = 3;
	EXPECT_EQ(1, io_uring_submit(&ring));
	tt_msleep(150);
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe))
		TH_LOG("[%s] recv completed with no data", SN(stk));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send(sqe, c, "hello, uring", 12, 0);
	sqe->user_data = 4;
	EXPECT_EQ(1, io_uring_submit(&ring));
	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, uring_wait(&ring, 5000, &ud, &res))
			TH_LOG("[%s] no completion for send/recv", SN(stk));
		EXPECT_EQ(12, res) TH_LOG("[%s] op %d: %d", SN(stk), (int)ud, res);
	}
	EXPECT_STREQ("hello, uring", buf);

	/* EOF completes a recv with 0. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, s, buf, sizeof(buf), 0);
	sqe->user_data = 5;
	EXPECT_EQ(1, io_uring_submit(&ring));
	shutdown(c, SHUT_WR);
	ASSERT_EQ(0, uring_wait(&ring, 5000, &ud, &res));
	EXPECT_EQ(0, res) TH_LOG("[%s] recv at EOF: %d", SN(stk), res);
	io_uring_queue_exit(&ring);
	close(s);
	close(c);
	close(l);
}

TEST_F(api, io_uring_connect_refused)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(FAM(stk), LO, 6100);
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int c, res = 1;
	uint64_t ud;

	URING_INIT(&ring);
	c = tt_socket_in(-1, stk);
	ASSERT_LE(0, c);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, c, TT_SA(&a), sizeof(a));
	EXPECT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, uring_wait(&ring, 5000, &ud, &res));
	EXPECT_EQ(-ECONNREFUSED, res) TH_LOG("[%s] %s", SN(stk), strerror(-res));
	io_uring_queue_exit(&ring);
	close(c);
}

/* ================================================================== */
/* accept4, names                                                      */

TEST_F(api, accept4_nonblock_cloexec)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in peer, me;
	socklen_t len = sizeof(peer);
	int l, c1, c2, s;

	l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_LE(0, l);
	c1 = tt_socket_in(-1, stk);
	c2 = tt_socket_in(-1, stk);
	EXPECT_EQ(0, tt_connect_to(c1, FAM(stk), LO, 6000, 5000));
	EXPECT_EQ(0, tt_connect_to(c2, FAM(stk), LO, 6000, 5000));
	EXPECT_EQ(POLLIN, tt_poll1(l, POLLIN, 2000));

	s = accept4(l, TT_SA(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, s) TH_LOG("[%s] accept4: %s", SN(stk), strerror(errno));
	EXPECT_TRUE(fcntl(s, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(s, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(sizeof(peer), len);
	EXPECT_EQ(FAM(stk), peer.sin_family);
	ASSERT_EQ(0, tt_sockname(c1, &me));
	EXPECT_EQ(me.sin_port, peer.sin_port);
	EXPECT_ERRNO(stk, EAGAIN, recv(s, &len, 1, 0));
	close(s);

	/* Without flags: neither, whatever the listener's flags. */
	ASSERT_EQ(0, tt_set_nonblock(l, true));
	s = accept4(l, NULL, NULL, 0);
	ASSERT_LE(0, s) TH_LOG("[%s] accept4: %s", SN(stk), strerror(errno));
	EXPECT_FALSE(fcntl(s, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(s, F_GETFD) & FD_CLOEXEC);
	close(s);
	/* Empty queue, non-blocking listener: EAGAIN; bad flags: EINVAL. */
	EXPECT_ERRNO(stk, EAGAIN, accept4(l, NULL, NULL, SOCK_CLOEXEC));
	EXPECT_ERRNO(stk, EINVAL, accept4(l, NULL, NULL, 0x1));
	/* A bad address pointer: EFAULT (the connection is lost). */
	c2 = (close(c2), tt_socket_in(-1, stk));
	EXPECT_EQ(0, tt_connect_to(c2, FAM(stk), LO, 6000, 5000));
	EXPECT_EQ(POLLIN, tt_poll1(l, POLLIN, 2000));
	len = sizeof(peer);
	EXPECT_ERRNO(stk, EFAULT, accept4(l, self->bad, &len, 0));
	close(c1);
	close(c2);
	close(l);
}

TEST_F(api, getsockname_getpeername)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in cn, cp, sn, sp;
	struct sockaddr_storage ss;
	struct tt_conn k;
	socklen_t len;
	char small[8];

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_peername(k.c, &cp));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	ASSERT_EQ(0, tt_peername(k.s, &sp));
	EXPECT_EQ(FAM(stk), cn.sin_family);
	EXPECT_EQ(FAM(stk), sp.sin_family);
	EXPECT_EQ(0, memcmp(&cn, &sp, sizeof(cn))) TH_LOG("[%s] client name != server's peer", SN(stk));
	EXPECT_EQ(0, memcmp(&cp, &sn, sizeof(cp))) TH_LOG("[%s] server name != client's peer", SN(stk));
	EXPECT_EQ(htons(6000), sn.sin_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), cn.sin_addr.s_addr);
	/* A bigger buffer: the length comes back as 16. */
	len = sizeof(ss);
	EXPECT_EQ(0, getsockname(k.c, TT_SA(&ss), &len));
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	/* A smaller one: truncated, the full length returned. */
	len = sizeof(small);
	memset(small, 0x55, sizeof(small));
	EXPECT_EQ(0, getpeername(k.c, TT_SA(small), &len));
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	EXPECT_EQ(0, memcmp(small, &cp, sizeof(small)));
	len = 0;
	EXPECT_EQ(0, getsockname(k.c, TT_SA(&ss), &len));
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	/* Negative length: EINVAL. */
	len = -1;
	EXPECT_ERRNO(stk, EINVAL, getsockname(k.c, TT_SA(&ss), &len));
	/* The listener's name; an unbound socket is 0.0.0.0:0. */
	ASSERT_EQ(0, tt_sockname(k.l, &sn));
	EXPECT_EQ(htons(6000), sn.sin_port);
	tt_conn_close(&k);
	k.c = tt_socket_in(-1, stk);
	ASSERT_EQ(0, tt_sockname(k.c, &sn));
	EXPECT_EQ(FAM(stk), sn.sin_family);
	EXPECT_EQ(0, sn.sin_port);
	EXPECT_EQ(0, sn.sin_addr.s_addr);
	close(k.c);
}

/* ================================================================== */
/* Scatter/gather, sendfile, splice                                    */

TEST_F(api, readv_writev)
{
	const enum tt_stack stk = variant->stack;
	char a[] = "first-", b[] = "second-", c[] = "third";
	struct iovec wv[4] = { { a, 6 }, { NULL, 0 }, { b, 7 }, { c, 5 } };
	char r1[4] = "", r2[10] = "", r3[8] = "";
	struct iovec rv[3] = { { r1, 4 }, { r2, 10 }, { r3, 8 } };
	volatile int neg = -1, big = IOV_MAX + 1;
	struct tt_conn k;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(18, writev(k.c, wv, 4));
	EXPECT_EQ(18, inq_wait(k.s, 18, 2000));
	EXPECT_EQ(18, readv(k.s, rv, 3));
	EXPECT_EQ(0, memcmp(r1, "firs", 4));
	EXPECT_EQ(0, memcmp(r2, "t-second-t", 10));
	EXPECT_EQ(0, memcmp(r3, "hird", 4));
	/* Bad vectors (the counts hidden from the compiler). */
	EXPECT_ERRNO(stk, EINVAL, writev(k.c, wv, neg));
	EXPECT_ERRNO(stk, EINVAL, writev(k.c, wv, big));
	EXPECT_ERRNO(stk, EINVAL, readv(k.s, rv, neg));
	EXPECT_ERRNO(stk, EFAULT, writev(k.c, self->bad, 1));
	rv[0].iov_base = self->bad;
	EXPECT_EQ(2, send(k.c, "zz", 2, 0));
	EXPECT_EQ(2, inq_wait(k.s, 2, 2000));
	EXPECT_ERRNO(stk, EFAULT, readv(k.s, rv, 1));
	EXPECT_EQ(2, inq(k.s)) TH_LOG("[%s] a failed readv consumed data", SN(stk));
	tt_conn_close(&k);
}

TEST_F(api, sendmsg_recvmsg_iovecs)
{
	const enum tt_stack stk = variant->stack;
	char p1[] = "one,", p2[] = "two,", p3[] = "three";
	struct iovec wv[3] = { { p1, 4 }, { p2, 4 }, { p3, 5 } };
	char r1[5] = "", r2[8] = "";
	struct iovec rv[2] = { { r1, 5 }, { r2, 8 } };
	struct sockaddr_storage from;
	char ctl[64];
	struct msghdr m = { .msg_iov = wv, .msg_iovlen = 3 };
	struct sockaddr_in to = tt_sin(FAM(stk), "10.9.9.9", 9);
	struct tt_conn k;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(13, sendmsg(k.c, &m, 0));
	memset(&m, 0, sizeof(m));
	m.msg_iov = rv;
	m.msg_iovlen = 2;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	EXPECT_EQ(13, recvmsg(k.s, &m, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(r1, "one,t", 5));
	EXPECT_EQ(0, memcmp(r2, "wo,three", 8));
	/* No address and no control data on a stream socket. */
	EXPECT_EQ(0, m.msg_namelen) TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(0, m.msg_controllen) TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(0, m.msg_flags) TH_LOG("[%s] msg_flags 0x%x", SN(stk), m.msg_flags);

	/* sendto()/sendmsg() with an address on a connected stream
	 * socket: the address is ignored (Linux), or EISCONN. */
	memset(&m, 0, sizeof(m));
	m.msg_iov = wv;
	m.msg_iovlen = 1;
	m.msg_name = &to;
	m.msg_namelen = sizeof(to);
	EXPECT_EQ(4, sendmsg(k.c, &m, 0)) TH_LOG("[%s] sendmsg with an address: %s",
						 SN(stk), strerror(errno));
	EXPECT_EQ(4, sendto(k.c, "four", 4, 0, TT_SA(&to), sizeof(to)))
		TH_LOG("[%s] sendto: %s", SN(stk), strerror(errno));
	EXPECT_EQ(8, inq_wait(k.s, 8, 2000));
	/* Bad: msg_iov pointer, a negative iovlen. */
	memset(&m, 0, sizeof(m));
	m.msg_iov = self->bad;
	m.msg_iovlen = 1;
	EXPECT_ERRNO(stk, EFAULT, sendmsg(k.c, &m, 0));
	EXPECT_ERRNO(stk, EFAULT, recvmsg(k.s, &m, 0));
	m.msg_iov = rv;
	m.msg_iovlen = IOV_MAX + 1;
	EXPECT_ERRNO(stk, EMSGSIZE, sendmsg(k.c, &m, 0));
	EXPECT_ERRNO(stk, EMSGSIZE, recvmsg(k.s, &m, 0));
	EXPECT_EQ(8, inq(k.s));
	tt_conn_close(&k);
}

/* A reader thread: want bytes into buf. */
struct sink {
	int fd;
	char *buf;
	long want, got;
	pthread_t th;
};

static void *sink_run(void *arg)
{
	struct sink *k = arg;

	while (k->got < k->want) {
		ssize_t n = tt_recv_to(k->fd, k->buf + k->got, k->want - k->got,
				       5000);

		if (n <= 0)
			break;
		k->got += n;
	}
	return NULL;
}

TEST_F(api, sendfile_file_to_socket)
{
	const enum tt_stack stk = variant->stack;
	const size_t sz = 300000;
	char *data = malloc(sz), *back = malloc(sz);
	int f;
	struct sink rx = { .buf = back, .want = sz - 1000 };
	struct tt_conn k;
	off_t off = 1000;
	size_t done = 0;
	ssize_t n;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, back);
	tt_fill(42, 0, (uint8_t *)data, sz);
	f = memfd_create("api-sendfile", 0);
	ASSERT_LE(0, f);
	ASSERT_EQ((ssize_t)sz, write(f, data, sz));

	tt_lo_pair(_metadata, stk, 6000, &k);
	memset(back, 0, sz);
	rx.fd = k.s;
	pthread_create(&rx.th, NULL, sink_run, &rx);
	/* From offset 1000 to the end; the offset follows. */
	while (done < sz - 1000) {
		n = sendfile(k.c, f, &off, sz - 1000 - done);
		if (n <= 0)
			break;
		done += n;
	}
	pthread_join(rx.th, NULL);
	EXPECT_EQ(sz - 1000, done) TH_LOG("[%s] sendfile: %s", SN(stk), strerror(errno));
	EXPECT_EQ((off_t)sz, off);
	EXPECT_EQ((long)(sz - 1000), rx.got);
	EXPECT_EQ(0, memcmp(back, data + 1000, sz - 1000)) TH_LOG("[%s] data differ", SN(stk));
	/* Without an offset: from the file position, which moves. */
	ASSERT_EQ((off_t)(sz - 10), lseek(f, sz - 10, SEEK_SET));
	EXPECT_EQ(10, sendfile(k.c, f, NULL, 100));
	EXPECT_EQ((off_t)sz, lseek(f, 0, SEEK_CUR));
	/* (Asked for more than the file has: the kernel passes
	 * MSG_MORE, and TCP sends the tail within its cork limit,
	 * 200 ms on Linux.) */
	EXPECT_EQ(10, tt_recv_all(k.s, back, 10, 2000))
		TH_LOG("[%s] the file's tail did not arrive", SN(stk));
	EXPECT_EQ(0, memcmp(back, data + sz - 10, 10));
	/* Bad offset pointer: EFAULT. */
	EXPECT_ERRNO(stk, EFAULT, sendfile(k.c, f, self->bad, 10));
	tt_conn_close(&k);
	close(f);
	free(data);
	free(back);
}

TEST_F(api, splice_pipe_socket_pipe)
{
	const enum tt_stack stk = variant->stack;
	char msg[] = "spliced through a pipe", buf[64] = "";
	int in[2], out[2];
	struct tt_conn k;
	ssize_t n;

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, pipe(in));
	ASSERT_EQ(0, pipe(out));
	/* pipe -> socket */
	EXPECT_EQ((ssize_t)strlen(msg), write(in[1], msg, strlen(msg)));
	n = splice(in[0], NULL, k.c, NULL, sizeof(buf), 0);
	EXPECT_EQ((ssize_t)strlen(msg), n) TH_LOG("[%s] splice to socket: %s",
						  SN(stk), strerror(errno));
	EXPECT_EQ((int)strlen(msg), inq_wait(k.s, strlen(msg), 2000));
	/* socket -> pipe */
	n = splice(k.s, NULL, out[1], NULL, sizeof(buf), 0);
	EXPECT_EQ((ssize_t)strlen(msg), n) TH_LOG("[%s] splice from socket: %s",
						  SN(stk), strerror(errno));
	EXPECT_EQ((ssize_t)strlen(msg), read(out[0], buf, sizeof(buf)));
	EXPECT_STREQ(msg, buf);
	/* Nothing to read on a non-blocking socket: EAGAIN. */
	ASSERT_EQ(0, tt_set_nonblock(k.s, true));
	EXPECT_ERRNO(stk, EAGAIN, splice(k.s, NULL, out[1], NULL, 64, 0));
	ASSERT_EQ(0, tt_set_nonblock(k.s, false));
	/* EOF: 0. */
	shutdown(k.c, SHUT_WR);
	EXPECT_EQ(POLLIN, tt_poll1(k.s, POLLIN, 2000));
	EXPECT_EQ(0, splice(k.s, NULL, out[1], NULL, 64, 0));
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	tt_conn_close(&k);
}

/* ================================================================== */
/* recv/send flags                                                     */

TEST_F(api, msg_peek_leaves_data)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[16] = "";

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(6, send(k.c, "abcdef", 6, 0));
	EXPECT_EQ(6, inq_wait(k.s, 6, 2000));
	EXPECT_EQ(3, recv(k.s, buf, 3, MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	EXPECT_EQ(6, recv(k.s, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "abcdef", 6));
	EXPECT_EQ(6, inq(k.s));
	EXPECT_EQ(2, recv(k.s, buf, 2, 0));
	EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "cdef", 4));
	EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "cdef", 4));
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	/* A blocking peek waits for data like recv(). */
	{
		struct later l = { .steps = {
			{ 200, L_SEND, "late", 4 }, { 0, L_END } } };
		int64_t t0 = t_us();

		later_start(&l, k.c);
		EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), MSG_PEEK));
		EXPECT_LE(150000, t_us() - t0);
		later_join(&l);
		EXPECT_EQ(4, recv(k.s, buf, sizeof(buf), 0));
	}
	tt_conn_close(&k);
}

TEST_F(api, msg_waitall_waits_for_full_length)
{
	const enum tt_stack stk = variant->stack;
	struct later l = { .steps = {
		{ 100, L_SEND, "aaaa", 4 }, { 200, L_SEND, "bbbb", 4 },
		{ 300, L_SEND, "cccc", 4 }, { 0, L_END } } };
	struct later l2 = { .steps = {
		{ 100, L_SEND, "xy", 2 }, { 200, L_SHUT_WR },
		{ 0, L_END } } };
	struct tt_conn k;
	char buf[16] = "";
	int64_t t0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	later_start(&l, k.c);
	t0 = t_us();
	EXPECT_EQ(12, recv(k.s, buf, 12, MSG_WAITALL));
	t0 = t_us() - t0;
	later_join(&l);
	EXPECT_EQ(0, memcmp(buf, "aaaabbbbcccc", 12));
	EXPECT_LE(250000, t0) TH_LOG("[%s] %lld us", SN(stk), (long long)t0);
	/* Without it: what is there. */
	l.steps[2].kind = L_END;
	later_start(&l, k.c);
	EXPECT_EQ(4, recv(k.s, buf, 12, 0));
	later_join(&l);
	EXPECT_EQ(4, tt_recv_all(k.s, buf, 4, 2000));
	/* EOF ends the wait with what came. */
	later_start(&l2, k.c);
	EXPECT_EQ(2, recv(k.s, buf, 12, MSG_WAITALL));
	later_join(&l2);
	EXPECT_EQ(0, recv(k.s, buf, 12, MSG_WAITALL));
	tt_conn_close(&k);
}

TEST_F(api, msg_dontwait_eagain)
{
	const enum tt_stack stk = variant->stack;
	static char big[65536];

	struct tt_conn k;
	char buf[16];
	long queued;
	int64_t t0;
	int tries, e = 0;
	ssize_t n = 0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	t0 = t_us();
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_GT(100000, t_us() - t0);
	/* The socket itself stays blocking. */
	EXPECT_FALSE(fcntl(k.s, F_GETFL) & O_NONBLOCK);
	queued = fill(k.c);
	EXPECT_LT(0, queued);
	/* A full send path: EAGAIN at once (the buffers may still
	 * grow a little: send until it fails). */
	for (tries = 0; tries < 200; tries++) {
		t0 = t_us();
		n = send(k.c, big, sizeof(big), MSG_DONTWAIT);
		e = errno;
		t0 = t_us() - t0;
		if (n < 0)
			break;
	}
	EXPECT_EQ(-1, n) TH_LOG("[%s] send never failed", SN(stk));
	EXPECT_EQ(EAGAIN, e) TH_LOG("[%s] send: %s", SN(stk), strerror(e));
	EXPECT_GT(100000, t0) TH_LOG("[%s] send took %lld us", SN(stk), (long long)t0);
	/* An empty error queue: EAGAIN (not EINVAL). */
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), MSG_ERRQUEUE));
	/* No urgent data: EINVAL. */
	EXPECT_ERRNO(stk, EINVAL, recv(k.s, buf, sizeof(buf), MSG_OOB | MSG_DONTWAIT));
	tt_conn_close(&k);
}

static bool sigpipe_pending(void)
{
	siginfo_t si;

	return sig_wait(SIGPIPE, 0, &si) == SIGPIPE;
}

TEST_F(api, msg_nosignal_epipe_without_sigpipe)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;

	sig_block(SIGPIPE);

	tt_lo_pair(_metadata, stk, 6000, &k);
	sig_drain(SIGPIPE);
	EXPECT_EQ(0, shutdown(k.c, SHUT_WR));
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, MSG_NOSIGNAL));
	EXPECT_FALSE(sigpipe_pending()) TH_LOG("[%s] SIGPIPE with MSG_NOSIGNAL", SN(stk));
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, 0));
	EXPECT_TRUE(sigpipe_pending()) TH_LOG("[%s] no SIGPIPE without MSG_NOSIGNAL", SN(stk));
	EXPECT_ERRNO(stk, EPIPE, write(k.c, "x", 1));
	EXPECT_TRUE(sigpipe_pending()) TH_LOG("[%s] no SIGPIPE for write()", SN(stk));
	tt_conn_close(&k);
}

TEST_F(api, sigpipe_after_peer_reset)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;

	sig_block(SIGPIPE);

	tt_lo_pair(_metadata, stk, 6000, &k);
	sig_drain(SIGPIPE);
	abort_close(k.s);
	k.s = -1;
	ep_wait_bits(k.c, EPOLLERR, 2000);
	/* First the reset itself, without a signal... */
	EXPECT_ERRNO(stk, ECONNRESET, send(k.c, "x", 1, 0));
	EXPECT_FALSE(sigpipe_pending()) TH_LOG("[%s] SIGPIPE with ECONNRESET", SN(stk));
	/* ...then EPIPE, with SIGPIPE unless MSG_NOSIGNAL. */
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, MSG_NOSIGNAL));
	EXPECT_FALSE(sigpipe_pending());
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, 0));
	EXPECT_TRUE(sigpipe_pending()) TH_LOG("[%s] no SIGPIPE", SN(stk));
	tt_conn_close(&k);
}

/* ================================================================== */
/* Timeouts and signals                                                */

TEST_F(api, so_rcvtimeo_eagain_after_timeout)
{
	const enum tt_stack stk = variant->stack;
	struct timeval tv = { 0, 300000 }, g;
	socklen_t len = sizeof(g);
	struct tt_conn k;
	char buf[8];
	int64_t t0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_OK(stk, setsockopt(k.s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	EXPECT_OK(stk, getsockopt(k.s, SOL_SOCKET, SO_RCVTIMEO, &g, &len));
	EXPECT_EQ(0, g.tv_sec);
	EXPECT_EQ(300000, g.tv_usec);
	t0 = t_us();
	EXPECT_ERRNO(stk, EAGAIN, recv(k.s, buf, sizeof(buf), 0));
	t0 = t_us() - t0;
	EXPECT_LE(250000, t0) TH_LOG("[%s] after %lld us", SN(stk), (long long)t0);
	EXPECT_GT(3000000, t0) TH_LOG("[%s] after %lld us", SN(stk), (long long)t0);
	/* accept() on a listener obeys it too. */
	EXPECT_OK(stk, setsockopt(k.l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = t_us();
	EXPECT_ERRNO(stk, EAGAIN, accept(k.l, NULL, NULL));
	EXPECT_LE(250000, t_us() - t0);
	/* Bad values. */
	tv.tv_usec = 1000000;
	EXPECT_ERRNO(stk, EDOM, setsockopt(k.s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	EXPECT_ERRNO(stk, EINVAL, setsockopt(k.s, SOL_SOCKET, SO_RCVTIMEO, &tv, 4));
	tt_conn_close(&k);
}

TEST_F(api, so_sndtimeo_eagain_after_timeout)
{
	const enum tt_stack stk = variant->stack;
	static char big[8 << 20];

	struct timeval tv = { 0, 300000 };
	struct tt_conn k;
	int64_t t0 = 0;
	ssize_t n;
	int sz = 4096, tries, e = 0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	setsockopt(k.c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	EXPECT_OK(stk, setsockopt(k.c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	/* Part goes, then the timeout: the count of what went; once
	 * nothing more can go, EAGAIN after the timeout. */
	n = send(k.c, big, sizeof(big), 0);
	EXPECT_LT(0, n) TH_LOG("[%s] send: %s", SN(stk), strerror(errno));
	EXPECT_GT((ssize_t)sizeof(big), n);
	for (tries = 0; n > 0 && tries < 30; tries++) {
		t0 = t_us();
		n = send(k.c, big, sizeof(big), 0);
		e = errno;
		t0 = t_us() - t0;
	}
	EXPECT_EQ(-1, n) TH_LOG("[%s] send never failed", SN(stk));
	EXPECT_EQ(EAGAIN, e) TH_LOG("[%s] send: %s", SN(stk), strerror(e));
	EXPECT_LE(250000, t0) TH_LOG("[%s] after %lld us", SN(stk), (long long)t0);
	EXPECT_GT(3000000, t0) TH_LOG("[%s] after %lld us", SN(stk), (long long)t0);
	tt_conn_close(&k);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

TEST_F(api, eintr_on_signal_without_sa_restart)
{
	const enum tt_stack stk = variant->stack;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct later l = { .steps = {
		{ 200, L_KILL, .sig = SIGUSR1 }, { 0, L_END } } };
	struct later l2 = { .steps = {
		{ 200, L_KILL, .sig = SIGUSR1 },
		{ 400, L_SEND, "after", 5 }, { 0, L_END } } };
	struct timeval tv = { 5, 0 };
	struct tt_conn k;
	char buf[8] = "";
	int64_t t0;
	ssize_t n;

	sigemptyset(&sa.sa_mask);

	tt_lo_pair(_metadata, stk, 6000, &k);
	/* No SA_RESTART: recv fails with EINTR. */
	sa.sa_flags = 0;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	got_usr1 = 0;
	later_start(&l, k.s);
	EXPECT_ERRNO(stk, EINTR, recv(k.s, buf, sizeof(buf), 0));
	later_join(&l);
	EXPECT_EQ(1, got_usr1);

	/* SA_RESTART: recv goes on and returns the data. */
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	got_usr1 = 0;
	l2.steps[1].kind = L_SEND;
	later_start(&l2, k.c);
	t0 = t_us();
	n = recv(k.s, buf, sizeof(buf), 0);
	later_join(&l2);
	EXPECT_EQ(5, n) TH_LOG("[%s] recv: %s", SN(stk), strerror(errno));
	EXPECT_EQ(1, got_usr1);
	EXPECT_LE(350000, t_us() - t0);

	/* SA_RESTART with SO_RCVTIMEO: EINTR all the same (Linux
	 * does not restart a call that has a timeout). */
	setsockopt(k.s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	got_usr1 = 0;
	later_start(&l, k.s);
	EXPECT_ERRNO(stk, EINTR, recv(k.s, buf, sizeof(buf), 0));
	later_join(&l);
	EXPECT_EQ(1, got_usr1);
	tt_conn_close(&k);
	signal(SIGUSR1, SIG_DFL);
}

/* ================================================================== */
/* shutdown, close, SO_LINGER                                          */

TEST_F(api, shutdown_shut_rd)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[8] = "";

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(3, send(k.c, "abc", 3, 0));
	EXPECT_EQ(3, inq_wait(k.s, 3, 2000));
	EXPECT_EQ(0, shutdown(k.s, SHUT_RD));
	/* What had come is still there, then EOF at once. */
	EXPECT_EQ(3, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP, ep_now(k.s, EV_ALL, 0));
	/* Sending still works, and no FIN went out. */
	EXPECT_EQ(4, send(k.s, "more", 4, 0));
	EXPECT_EQ(4, tt_recv_all(k.c, buf, 4, 2000));
	EXPECT_EV(stk, EPOLLOUT, ep_now(k.c, EV_ALL, 100));
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(stk, k.s)) TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(0, shutdown(k.s, SHUT_RD));	/* again: fine */
	tt_conn_close(&k);
}

TEST_F(api, shutdown_shut_wr)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in l, r;
	struct tt_conn k;
	char buf[8] = "";

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(2, send(k.c, "hi", 2, 0));
	EXPECT_EQ(0, shutdown(k.c, SHUT_WR));
	EXPECT_EQ(0, shutdown(k.c, SHUT_WR));	/* again: fine */
	/* The peer reads the data, then EOF. */
	EXPECT_EQ(2, tt_recv_all(k.s, buf, 2, 2000));
	EXPECT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 2000));
	/* Half-closed: we can still receive. */
	EXPECT_EQ(4, send(k.s, "back", 4, 0));
	EXPECT_EQ(4, tt_recv_all(k.c, buf, 4, 2000));
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(0, tt_sockname(k.c, &l));
	ASSERT_EQ(0, tt_peername(k.c, &r));
	EXPECT_EQ(TT_FIN_WAIT2, tt_wait_state(stk, &l, &r, TT_FIN_WAIT2, 2000))
		TH_LOG("[%s]", SN(stk));
	tt_conn_close(&k);
}

TEST_F(api, shutdown_shut_rdwr)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[8];
	uint32_t m;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(0, shutdown(k.c, SHUT_RDWR));
	EXPECT_EQ(0, recv(k.c, buf, sizeof(buf), 0));
	EXPECT_ERRNO(stk, EPIPE, send(k.c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP,
		  ep_now(k.c, EV_ALL, 0));
	/* The peer sees EOF and can still send (the data is
	 * acknowledged and dropped, or answered with a reset). */
	EXPECT_EQ(0, tt_recv_to(k.s, buf, sizeof(buf), 2000));
	m = ep_now(k.s, EV_ALL, 0);
	EXPECT_EV(stk, EPOLLIN | EPOLLOUT | EPOLLRDHUP, m);
	tt_conn_close(&k);
}

TEST_F(api, close_with_unread_data_sends_rst)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[8];

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(6, send(k.c, "unread", 6, 0));
	EXPECT_EQ(6, inq_wait(k.s, 6, 2000));
	close(k.s);
	k.s = -1;
	EXPECT_TRUE(ep_wait_bits(k.c, EPOLLERR, 2000) & EPOLLERR)
		TH_LOG("[%s] no reset", SN(stk));
	EXPECT_ERRNO(stk, ECONNRESET, recv(k.c, buf, sizeof(buf), 0));
	tt_conn_close(&k);
}

TEST_F(api, so_linger_zero_aborts_with_rst)
{
	const enum tt_stack stk = variant->stack;
	struct linger lg = { 1, 0 }, g;
	socklen_t len = sizeof(g);
	struct sockaddr_in l, r;
	struct tt_conn k;
	char buf[8];
	int64_t t0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_OK(stk, setsockopt(k.c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	EXPECT_OK(stk, getsockopt(k.c, SOL_SOCKET, SO_LINGER, &g, &len));
	EXPECT_EQ(1, g.l_onoff);
	EXPECT_EQ(0, g.l_linger);
	EXPECT_ERRNO(stk, EINVAL, setsockopt(k.c, SOL_SOCKET, SO_LINGER, &lg, 4));
	EXPECT_ERRNO(stk, EFAULT, setsockopt(k.c, SOL_SOCKET, SO_LINGER, self->bad,
					   sizeof(lg)));
	ASSERT_EQ(0, tt_sockname(k.c, &l));
	ASSERT_EQ(0, tt_peername(k.c, &r));
	t0 = t_us();
	close(k.c);
	k.c = -1;
	EXPECT_GT(200000, t_us() - t0);
	EXPECT_TRUE(ep_wait_bits(k.s, EPOLLERR, 2000) & EPOLLERR)
		TH_LOG("[%s] no reset", SN(stk));
	EXPECT_ERRNO(stk, ECONNRESET, recv(k.s, buf, sizeof(buf), 0));
	/* No TIME-WAIT after an abort. */
	EXPECT_EQ(TT_GONE, tt_lookup(stk, &l, &r, NULL)) TH_LOG("[%s]", SN(stk));
	tt_conn_close(&k);
}

/* SO_LINGER {1, N}: close() waits until the FIN is acknowledged, at most
 * N seconds.  netem delays make the wait long enough to see.
 */
TEST_F_TIMEOUT(api, so_linger_close_waits_for_fin_ack, 90)
{
	struct tt_net_opts o = { .offloads_on = true, .netem = "delay 100ms" };
	const enum tt_stack stk = variant->stack;
	struct linger lg5 = { 1, 5 }, lg1 = { 1, 1 };
	struct tt_conn k;
	struct tt_net t;
	int64_t d;

	ASSERT_EQ(0, tt_net_up(&t, &o));

	/* Without SO_LINGER: close() returns at once. */
	tt_net_pair(_metadata, &t, stk, 0, stk, 6000, &k);
	d = t_us();
	close(k.c);
	k.c = -1;
	d = t_us() - d;
	EXPECT_GT(100000, d) TH_LOG("[%s] close took %lld us", SN(stk), (long long)d);
	tt_conn_close(&k);

	/* {1, 5}: one round trip, 200 ms. */
	tt_net_pair(_metadata, &t, stk, 0, stk, 6010, &k);
	ASSERT_EQ(0, setsockopt(k.c, SOL_SOCKET, SO_LINGER, &lg5, sizeof(lg5)));
	d = t_us();
	EXPECT_EQ(0, close(k.c));
	k.c = -1;
	d = t_us() - d;
	EXPECT_LE(150000, d) TH_LOG("[%s] close took %lld us", SN(stk), (long long)d);
	EXPECT_GT(2000000, d) TH_LOG("[%s] close took %lld us", SN(stk), (long long)d);
	tt_conn_close(&k);

	/* {1, 1} and an ACK that would take 3 s: close() gives up at 1 s. */
	ASSERT_EQ(0, tt_netem_cmd(t.a.fd, "change", "va", "delay 1500ms"));
	tt_net_pair(_metadata, &t, stk, 0, stk, 6020, &k);
	ASSERT_EQ(0, setsockopt(k.c, SOL_SOCKET, SO_LINGER, &lg1, sizeof(lg1)));
	d = t_us();
	EXPECT_EQ(0, close(k.c));
	k.c = -1;
	d = t_us() - d;
	EXPECT_LE(900000, d) TH_LOG("[%s] close took %lld us", SN(stk), (long long)d);
	EXPECT_GT(1450000, d) TH_LOG("[%s] close took %lld us", SN(stk), (long long)d);
	tt_conn_close(&k);
	tt_net_down(&t);
}

/* ================================================================== */
/* Socket-level options                                                */

TEST_F(api, so_rcvlowat)
{
	const enum tt_stack stk = variant->stack;
	struct later l = { .steps = {
		{ 100, L_SEND, "abcde", 5 }, { 300, L_SEND, "fghij", 5 },
		{ 0, L_END } } };
	socklen_t len = sizeof(int);
	struct tt_conn k;
	char buf[32];
	int v = 10, g = 0;
	int64_t t0;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_OK(stk, setsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	EXPECT_OK(stk, getsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &g, &len));
	EXPECT_EQ(10, g);
	EXPECT_EQ(5, send(k.c, "12345", 5, 0));
	EXPECT_EQ(5, inq_wait(k.s, 5, 2000));
	/* Less than the low-water mark: not readable... */
	EXPECT_EQ(0, tt_poll1(k.s, POLLIN, 200))
		TH_LOG("[%s] readable with 5 of 10 bytes", SN(stk));
	/* ...but MSG_DONTWAIT returns what there is. */
	EXPECT_EQ(5, recv(k.s, buf, sizeof(buf), MSG_DONTWAIT));
	/* A blocking recv waits for 10 bytes.  (Linux wakes the
	 * reader when 10 bytes are queued, not counting what it
	 * has copied already: so it must start with none.) */
	later_start(&l, k.c);
	t0 = t_us();
	EXPECT_EQ(10, recv(k.s, buf, sizeof(buf), 0));
	t0 = t_us() - t0;
	later_join(&l);
	EXPECT_LE(250000, t0) TH_LOG("[%s] recv returned after %lld us", SN(stk),
				      (long long)t0);
	/* Bad: a short value, a bad pointer. */
	EXPECT_ERRNO(stk, EINVAL, setsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &v, 2));
	EXPECT_ERRNO(stk, EFAULT, setsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, self->bad,
					   sizeof(int)));
	/* 0 means 1. */
	v = 0;
	EXPECT_OK(stk, setsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	len = sizeof(g);
	EXPECT_OK(stk, getsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &g, &len));
	EXPECT_EQ(1, g);
	tt_conn_close(&k);
}

static long vol_switches(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

struct dribble {
	int fd;
	int n;		/* sends of 512 bytes, 2 ms apart */
};

static void *dribble_run(void *arg)
{
	struct dribble *d = arg;
	char buf[512];
	int stk;

	memset(buf, 'd', sizeof(buf));
	for (stk = 0; stk < d->n; stk++) {
		usleep(2000);
		send(d->fd, buf, sizeof(buf), MSG_NOSIGNAL);
	}
	return NULL;
}

/*
 * A reader waiting in epoll_wait() for SO_RCVLOWAT bytes is woken once,
 * not once per segment (tcp_data_ready()): the waiter's voluntary context
 * switches stay far below the 64 segments that trickle in.
 */
TEST_F_TIMEOUT(api, rcvlowat_reader_not_woken_per_segment, 60)
{
	const enum tt_stack stk = variant->stack;
	struct epoll_event ev = { .events = EPOLLIN };
	struct dribble d = { .n = 64 };
	int v = 64 * 512, one = 1, ep, r;
	struct tt_conn k;
	long sw0, sw1;
	pthread_t th;

	tt_lo_pair(_metadata, stk, 6100, &k);
	EXPECT_OK(stk, setsockopt(k.c, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)));
	EXPECT_OK(stk, setsockopt(k.s, SOL_SOCKET, SO_RCVLOWAT, &v,
				sizeof(v)));
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, k.s, &ev));
	d.fd = k.c;
	sw0 = vol_switches();
	ASSERT_EQ(0, pthread_create(&th, NULL, dribble_run, &d));
	r = epoll_wait(ep, &ev, 1, 20000);
	sw1 = vol_switches();
	pthread_join(th, NULL);
	EXPECT_EQ(1, r) TH_LOG("[%s] epoll_wait: %d", SN(stk), r);
	EXPECT_EQ(v, inq(k.s)) TH_LOG("[%s] woken with %d bytes", SN(stk),
				      inq(k.s));
	TH_LOG("[%s] %ld voluntary context switches while 64 segments arrived",
	       SN(stk), sw1 - sw0);
	EXPECT_GE(0, sw0 == -1 ? 0 : sw1 - sw0 - 16)
		TH_LOG("[%s] woken %ld times for one low-water mark",
		       SN(stk), sw1 - sw0);
	close(ep);
	tt_conn_close(&k);
}

/*
 * SO_REUSEPORT: two listeners of one owner share a port and the
 * connections spread over both; a socket without the option cannot bind
 * the port.
 */
TEST_F_TIMEOUT(api, so_reuseport_listeners_share_port_and_load, 120)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in a = tt_sin(FAM(stk), LO, 6200);
	int l[2], got[2] = { 0, 0 }, one = 1, n, k, r, x;

	for (k = 0; k < 2; k++) {
		l[k] = socket(FAM(stk), SOCK_STREAM | SOCK_NONBLOCK, 0);
		ASSERT_LE(0, l[k]);
		r = setsockopt(l[k], SOL_SOCKET, SO_REUSEPORT, &one,
			       sizeof(one));
		/* Kernels before 6.12 give a protocol no say in SOL_SOCKET
		 * options.
		 */
		if (r && errno == EOPNOTSUPP && stk == TT_TOYTCP &&
		    tt_kernel_before(6, 12))
			SKIP(return, "SO_REUSEPORT: 6.1 refuses it for families other than AF_INET/AF_INET6 before toytcp sees it");
		EXPECT_OK(stk, r);
		ASSERT_EQ(0, bind(l[k], TT_SA(&a), sizeof(a)))
			TH_LOG("[%s] bind %d: %s", SN(stk), k, strerror(errno));
		ASSERT_EQ(0, listen(l[k], 64));
	}
	x = socket(FAM(stk), SOCK_STREAM, 0);
	EXPECT_ERRNO(stk, EADDRINUSE, bind(x, TT_SA(&a), sizeof(a)));
	close(x);
	for (n = 0; n < 32; n++) {
		struct pollfd p[2] = { { .fd = l[0], .events = POLLIN },
				       { .fd = l[1], .events = POLLIN } };
		int c = socket(FAM(stk), SOCK_STREAM, 0), s = -1;

		ASSERT_EQ(0, connect(c, TT_SA(&a), sizeof(a)))
			TH_LOG("[%s] connect %d: %s", SN(stk), n, strerror(errno));
		ASSERT_EQ(1, poll(p, 2, 5000));
		for (k = 0; k < 2 && s < 0; k++) {
			s = accept(l[k], NULL, NULL);
			if (s >= 0)
				got[k]++;
		}
		EXPECT_LE(0, s);
		close(s);
		close(c);
	}
	TH_LOG("[%s] 32 connections: %d to the first listener, %d to the second",
	       SN(stk), got[0], got[1]);
	EXPECT_EQ(32, got[0] + got[1]);
	EXPECT_LT(0, got[0]);
	EXPECT_LT(0, got[1]);
	close(l[0]);
	close(l[1]);
}

/*
 * TCP caps SO_RCVLOWAT at half the largest receive buffer the namespace
 * allows (net.ipv4.tcp_rmem's third value; toytcp follows it).
 */
TEST_F(api, so_rcvlowat_capped_at_half_tcp_rmem_max)
{
	socklen_t len = sizeof(int);
	int t, v = INT_MAX, got = 0;
	long rmem[3] = { 0, 0, 0 };
	FILE *f;

	f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(3, fscanf(f, "%ld %ld %ld", &rmem[0], &rmem[1], &rmem[2]));
	fclose(f);
	t = tt_socket(variant->stack);
	ASSERT_LE(0, t);
	EXPECT_EQ(0, setsockopt(t, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	EXPECT_EQ(0, getsockopt(t, SOL_SOCKET, SO_RCVLOWAT, &got, &len));
	EXPECT_EQ(rmem[2] / 2, got) TH_LOG("SO_RCVLOWAT INT_MAX reads back %d, tcp_rmem max %ld",
					   got, rmem[2]);
	close(t);
}

TEST_F(api, so_error_type_protocol_domain_acceptconn)
{
	const enum tt_stack stk = variant->stack;
	socklen_t len;
	int fd, v;
	short sh;

	fd = tt_socket_in(-1, stk);
	ASSERT_LE(0, fd);
#define GETINT(opt) (len = sizeof(v), v = -1,				\
	     getsockopt(fd, SOL_SOCKET, opt, &v, &len) ? -errno : v)
	EXPECT_EQ(0, GETINT(SO_ERROR));
	EXPECT_EQ(SOCK_STREAM, GETINT(SO_TYPE));
	/* toytcp's sk_protocol is 0, not IPPROTO_TCP: the kernel takes any
	 * socket with IPPROTO_TCP there for a struct tcp_sock (BPF helpers),
	 * and SO_PROTOCOL reads sk_protocol in generic code (module/sock.c).
	 */
	EXPECT_EQ(stk == TT_LINUX ? IPPROTO_TCP : 0, GETINT(SO_PROTOCOL))
		TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(FAM(stk), GETINT(SO_DOMAIN));
	EXPECT_EQ(0, GETINT(SO_ACCEPTCONN));
	EXPECT_EQ(0, listen(fd, 4));
	EXPECT_EQ(1, GETINT(SO_ACCEPTCONN));
	/* Short buffers get the leading bytes; sizes come back. */
	len = sizeof(sh);
	sh = -1;
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &sh, &len));
	EXPECT_EQ(sizeof(sh), len);
	len = -1;
	EXPECT_ERRNO(stk, EINVAL, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	/* Read-only. */
	v = 1;
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, SO_TYPE, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, SO_ERROR, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, sizeof(v)));
	close(fd);
#undef GETINT
}

/* A client's port in TIME-WAIT: SO_REUSEADDR on both lets it be bound. */
TEST_F(api, so_reuseaddr_rebind_while_time_wait)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in me = tt_sin(FAM(stk), LO, 6200), r;
	struct tt_conn k = { -1, -1, -1 };
	int one = 1, b;

	TT_SET_TW(30000);

	k.l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_LE(0, k.l);
	k.c = tt_socket_in(-1, stk);
	ASSERT_EQ(0, setsockopt(k.c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(k.c, TT_SA(&me), sizeof(me)));
	ASSERT_EQ(0, tt_connect_to(k.c, FAM(stk), LO, 6000, 5000));
	k.s = tt_accept_to(k.l, 2000, NULL);
	ASSERT_LE(0, k.s);
	ASSERT_EQ(0, tt_peername(k.c, &r));
	close(k.c);		/* the active closer... */
	k.c = -1;
	EXPECT_EQ(0, tt_recv_to(k.s, &one, 1, 2000));
	close(k.s);
	k.s = -1;
	EXPECT_EQ(TT_TIME_WAIT, tt_wait_state(stk, &me, &r, TT_TIME_WAIT, 2000))
		TH_LOG("[%s]", SN(stk));
	/* ...keeps the port: without SO_REUSEADDR, EADDRINUSE. */
	b = tt_socket_in(-1, stk);
	EXPECT_ERRNO(stk, EADDRINUSE, bind(b, TT_SA(&me), sizeof(me)));
	close(b);
	b = tt_socket_in(-1, stk);
	ASSERT_EQ(0, setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	EXPECT_OK(stk, bind(b, TT_SA(&me), sizeof(me)));
	close(b);
	tt_conn_close(&k);
}

/* A server restarts while its accepted connection is in TIME-WAIT. */
TEST_F(api, so_reuseaddr_restart_server_while_time_wait)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in sa = tt_sin(FAM(stk), LO, 6000), sl, sr;
	struct tt_conn k;
	int one = 1, n;
	char c;

	TT_SET_TW(30000);

	k.l = tt_socket_in(-1, stk);
	ASSERT_EQ(0, setsockopt(k.l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(k.l, TT_SA(&sa), sizeof(sa)));
	ASSERT_EQ(0, listen(k.l, 4));
	k.c = tt_socket_in(-1, stk);
	ASSERT_EQ(0, tt_connect_to(k.c, FAM(stk), LO, 6000, 5000));
	k.s = tt_accept_to(k.l, 2000, NULL);
	ASSERT_LE(0, k.s);
	ASSERT_EQ(0, tt_sockname(k.s, &sl));
	ASSERT_EQ(0, tt_peername(k.s, &sr));
	close(k.s);		/* the server closes first */
	k.s = -1;
	EXPECT_EQ(0, tt_recv_to(k.c, &c, 1, 2000));
	close(k.c);
	k.c = -1;
	EXPECT_EQ(TT_TIME_WAIT, tt_wait_state(stk, &sl, &sr, TT_TIME_WAIT, 2000))
		TH_LOG("[%s]", SN(stk));
	close(k.l);		/* the server exits */
	k.l = -1;
	tt_msleep(200);		/* and restarts */
	n = tt_socket_in(-1, stk);
	EXPECT_ERRNO(stk, EADDRINUSE, bind(n, TT_SA(&sa), sizeof(sa)));
	close(n);
	n = tt_socket_in(-1, stk);
	ASSERT_EQ(0, setsockopt(n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	EXPECT_OK(stk, bind(n, TT_SA(&sa), sizeof(sa)));
	EXPECT_OK(stk, listen(n, 4));
	{
		socklen_t len = sizeof(int);
		int v = 0;

		EXPECT_EQ(0, getsockopt(n, SOL_SOCKET, SO_REUSEADDR, &v, &len));
		EXPECT_EQ(1, v);
	}
	close(n);
}

/* ================================================================== */
/* TCP-level options                                                   */

struct topt {
	int opt;
	const char *name;
};

static const struct topt TOPTS[] = {
	{ TCP_NODELAY, "TCP_NODELAY" }, { TCP_MAXSEG, "TCP_MAXSEG" },
	{ TCP_KEEPIDLE, "TCP_KEEPIDLE" }, { TCP_KEEPINTVL, "TCP_KEEPINTVL" },
	{ TCP_KEEPCNT, "TCP_KEEPCNT" }, { TCP_CORK, "TCP_CORK" },
	{ TCP_QUICKACK, "TCP_QUICKACK" }, { TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT" },
};

static int tget(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v = -12345;

	if (getsockopt(fd, IPPROTO_TCP, opt, &v, &len))
		return -errno - 100000;
	return v;
}

/*
 * TCP_CORK and MSG_MORE hold a partial segment back, but not for ever:
 * Linux sends it when its probe timer fires, after about 200 ms (tcp(7):
 * "a 200 millisecond ceiling").  Clearing TCP_CORK sends it at once.
 */
TEST_F(api, tcp_cork_and_msg_more_hold_at_most_200ms)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	char buf[16];
	int one = 1, zero = 0;
	int64_t t0, d;

	tt_lo_pair(_metadata, stk, 6000, &k);
	ASSERT_EQ(0, setsockopt(k.c, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)));
	t0 = t_us();
	EXPECT_EQ(10, send(k.c, "corked....", 10, 0));
	EXPECT_EQ(10, tt_recv_all(k.s, buf, 10, 3000))
		TH_LOG("[%s] corked data never sent", SN(stk));
	d = t_us() - t0;
	EXPECT_LE(100000, d) TH_LOG("[%s] corked data sent after %lld us", SN(stk),
				     (long long)d);
	EXPECT_GT(1500000, d) TH_LOG("[%s] corked data sent after %lld us", SN(stk),
				      (long long)d);
	/* Uncorking sends at once. */
	EXPECT_EQ(10, send(k.c, "corked2...", 10, 0));
	EXPECT_EQ(0, tt_poll1(k.s, POLLIN, 50));
	t0 = t_us();
	ASSERT_EQ(0, setsockopt(k.c, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)));
	EXPECT_EQ(10, tt_recv_all(k.s, buf, 10, 3000));
	d = t_us() - t0;
	EXPECT_GT(100000, d) TH_LOG("[%s] uncorked data sent after %lld us", SN(stk),
				     (long long)d);
	/* MSG_MORE: the same limit. */
	while (tt_recv_to(k.s, buf, sizeof(buf), 200) > 0)
		;
	t0 = t_us();
	EXPECT_EQ(10, send(k.c, "more......", 10, MSG_MORE));
	EXPECT_EQ(10, tt_recv_all(k.s, buf, 10, 3000))
		TH_LOG("[%s] MSG_MORE data never sent", SN(stk));
	d = t_us() - t0;
	EXPECT_GT(1500000, d) TH_LOG("[%s] MSG_MORE data sent after %lld us", SN(stk),
				      (long long)d);
	tt_conn_close(&k);
}

/*
 * A fresh socket's values are Linux TCP's defaults: no Nagle-off, no
 * cork, quick ACKs on, no user timeout, no TCP_INQ cmsg, the default MSS
 * (536) until connected, net.ipv4.tcp_keepalive_* (2 h, 75 s, 9 probes)
 * and keepalive off.
 */
TEST_F(api, tcp_options_defaults_match_linux)
{
	static const struct { int opt; const char *name; int v; } defaults[] = {
		{ TCP_NODELAY, "TCP_NODELAY", 0 }, { TCP_MAXSEG, "TCP_MAXSEG", 536 },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 7200 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 75 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 9 }, { TCP_CORK, "TCP_CORK", 0 },
		{ TCP_QUICKACK, "TCP_QUICKACK", 1 },
		{ TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 0 },
		{ TCP_INQ, "TCP_INQ", 0 },
	};
	int t = tt_socket(variant->stack), a = -1;
	socklen_t len = sizeof(int);
	size_t j;

	ASSERT_LE(0, t);
	for (j = 0; j < sizeof(defaults) / sizeof(defaults[0]); j++) {
		const char *name = defaults[j].name;

		EXPECT_EQ(defaults[j].v, tget(t, defaults[j].opt))
			TH_LOG("%s on a new socket", name ? name : "?");
	}
	EXPECT_EQ(0, getsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &a, &len));
	EXPECT_EQ(0, a);
	close(t);
}

TEST_F(api, tcp_options_round_trip)
{
	const enum tt_stack stk = variant->stack;
	static const struct { int opt, set, want; } cases[] = {
		{ TCP_NODELAY, 1, 1 }, { TCP_NODELAY, 5, 1 }, { TCP_NODELAY, 0, 0 },
		{ TCP_CORK, 1, 1 }, { TCP_CORK, 0, 0 },
		{ TCP_QUICKACK, 0, 0 }, { TCP_QUICKACK, 1, 1 },
		{ TCP_KEEPIDLE, 7, 7 }, { TCP_KEEPIDLE, 32767, 32767 },
		{ TCP_KEEPINTVL, 3, 3 }, { TCP_KEEPINTVL, 32767, 32767 },
		{ TCP_KEEPCNT, 4, 4 }, { TCP_KEEPCNT, 127, 127 },
		{ TCP_USER_TIMEOUT, 1001, 1001 }, { TCP_USER_TIMEOUT, 30000, 30000 },
		{ TCP_USER_TIMEOUT, 0, 0 },
		{ TCP_MAXSEG, 1000, 1000 }, { TCP_MAXSEG, 88, 88 },
		{ TCP_MAXSEG, 0, 536 },
		{ TCP_INQ, 1, 1 }, { TCP_INQ, 0, 0 },
	};

	struct tt_conn k;
	size_t j;
	int fd, one = 1, v;
	socklen_t len = sizeof(v);

	fd = tt_socket_in(-1, stk);
	ASSERT_LE(0, fd);
	for (j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
		v = cases[j].set;
		EXPECT_OK(stk, setsockopt(fd, IPPROTO_TCP, cases[j].opt, &v, sizeof(v)));
		EXPECT_EQ(cases[j].want, tget(fd, cases[j].opt))
			TH_LOG("[%s] option %d set to %d", SN(stk), cases[j].opt,
			       cases[j].set);
	}
	/* A longer optlen is fine; only an int is read. */
	{
		long long big = 9;

		EXPECT_OK(stk, setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &big, sizeof(big)));
		EXPECT_EQ(9, tget(fd, TCP_KEEPCNT));
	}
	/* SO_KEEPALIVE */
	EXPECT_OK(stk, setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	v = 0;
	EXPECT_OK(stk, getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len));
	EXPECT_EQ(1, v);
	close(fd);

	/* TCP_MAXSEG set before connect bounds the segment size. */
	k.c = tt_socket_in(-1, stk);
	v = 1000;
	ASSERT_EQ(0, setsockopt(k.c, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)));
	k.l = tt_listen_in(-1, stk, LO, 6000, 4);
	ASSERT_EQ(0, tt_connect_to(k.c, FAM(stk), LO, 6000, 5000));
	k.s = tt_accept_to(k.l, 2000, NULL);
	v = tget(k.c, TCP_MAXSEG);
	EXPECT_GE(1000, v) TH_LOG("[%s] TCP_MAXSEG connected: %d", SN(stk), v);
	EXPECT_LE(900, v) TH_LOG("[%s] TCP_MAXSEG connected: %d", SN(stk), v);
	/* Options keep working on a connected socket. */
	v = 1;
	EXPECT_OK(stk, setsockopt(k.c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
	EXPECT_EQ(1, tget(k.c, TCP_NODELAY));
	tt_conn_close(&k);
}

TEST_F(api, tcp_options_bad_values)
{
	const enum tt_stack stk = variant->stack;
	static const struct { int opt, val; } bad[] = {
		{ TCP_MAXSEG, 87 }, { TCP_MAXSEG, 32768 }, { TCP_MAXSEG, -1 },
		{ TCP_KEEPIDLE, 0 }, { TCP_KEEPIDLE, -1 }, { TCP_KEEPIDLE, 32768 },
		{ TCP_KEEPINTVL, 0 }, { TCP_KEEPINTVL, 32768 },
		{ TCP_KEEPCNT, 0 }, { TCP_KEEPCNT, 128 },
		{ TCP_USER_TIMEOUT, -1 },
		{ TCP_INQ, 2 }, { TCP_INQ, -1 },
	};

	socklen_t len;
	size_t j;
	int fd, v;

	fd = tt_socket_in(-1, stk);
	ASSERT_LE(0, fd);
	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		v = bad[j].val;
		errno = 0;
		EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, bad[j].opt, &v, sizeof(v)))
			TH_LOG("[%s] option %d = %d accepted", SN(stk), bad[j].opt, v);
		EXPECT_EQ(EINVAL, errno) TH_LOG("[%s] option %d = %d: %s", SN(stk),
						bad[j].opt, v, strerror(errno));
	}
	for (j = 0; j < sizeof(TOPTS) / sizeof(TOPTS[0]); j++) {
		v = 1;
		EXPECT_ERRNO(stk, EINVAL, setsockopt(fd, IPPROTO_TCP, TOPTS[j].opt, &v, 3));
		EXPECT_ERRNO(stk, EINVAL, setsockopt(fd, IPPROTO_TCP, TOPTS[j].opt, &v, 0));
		EXPECT_ERRNO(stk, EFAULT, setsockopt(fd, IPPROTO_TCP, TOPTS[j].opt,
						   self->bad, sizeof(int)));
		EXPECT_ERRNO(stk, EFAULT, setsockopt(fd, IPPROTO_TCP, TOPTS[j].opt,
						   NULL, sizeof(int)));
		len = sizeof(int);
		EXPECT_ERRNO(stk, EFAULT, getsockopt(fd, IPPROTO_TCP, TOPTS[j].opt,
						   self->bad, &len));
		EXPECT_ERRNO(stk, EFAULT, getsockopt(fd, IPPROTO_TCP, TOPTS[j].opt,
						   &v, NULL));
		/* optlen 0: nothing copied, 0 returned. */
		len = 0;
		EXPECT_OK(stk, getsockopt(fd, IPPROTO_TCP, TOPTS[j].opt, &v, &len));
		EXPECT_EQ(0, len);
		/* optlen 1: one byte. */
		len = 1;
		EXPECT_OK(stk, getsockopt(fd, IPPROTO_TCP, TOPTS[j].opt, &v, &len));
		EXPECT_EQ(1, len);
	}
	/* The old value survives a rejected one. */
	v = 10;
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)));
	v = 0;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
	EXPECT_EQ(10, tget(fd, TCP_KEEPCNT));
	close(fd);
}

/* getsockopt(IPPROTO_TCP) with a negative optlen: EINVAL, optlen as given. */
TEST_F(api, tcp_getsockopt_negative_optlen_einval)
{
	int t = tt_socket(variant->stack), v = 0, r;
	socklen_t len = -1;

	ASSERT_LE(0, t);
	errno = 0;
	r = getsockopt(t, IPPROTO_TCP, TCP_KEEPCNT, &v, &len);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINVAL, errno) TH_LOG("%s", strerror(errno));
	EXPECT_EQ((socklen_t)-1, len);
	close(t);
}

TEST_F(api, unknown_options_enoprotoopt)
{
	const enum tt_stack stk = variant->stack;
	socklen_t len = sizeof(int);
	int fd, v = 1;

	fd = tt_socket_in(-1, stk);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, IPPROTO_TCP, 9999, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, getsockopt(fd, IPPROTO_TCP, 9999, &v, &len));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, SOL_SOCKET, 9999, &v, sizeof(v)));
	EXPECT_ERRNO(stk, ENOPROTOOPT, getsockopt(fd, SOL_SOCKET, 9999, &v, &len));
	EXPECT_ERRNO(stk, ENOPROTOOPT, setsockopt(fd, 12345, 1, &v, sizeof(v)));
	/* Linux's IP layer answers an unknown level: EOPNOTSUPP. */
	EXPECT_ERRNO(stk, EOPNOTSUPP, getsockopt(fd, 12345, 1, &v, &len));
	/* The length is checked first. */
	EXPECT_ERRNO(stk, EINVAL, setsockopt(fd, IPPROTO_TCP, 9999, &v, 0));
	close(fd);
}

/* ================================================================== */
/* ioctl                                                               */

TEST_F(api, ioctl_fionread_siocinq)
{
	const enum tt_stack stk = variant->stack;
	static char buf[4000];

	struct tt_conn k;
	int v = -1, fd;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(0, inq(k.s));
	EXPECT_EQ(1000, send(k.c, buf, 1000, 0));
	EXPECT_EQ(1000, inq_wait(k.s, 1000, 2000));
	EXPECT_EQ(0, ioctl(k.s, FIONREAD, &v));
	EXPECT_EQ(1000, v);
	EXPECT_EQ(400, recv(k.s, buf, 400, 0));
	EXPECT_EQ(600, inq(k.s));
	EXPECT_EQ(10, recv(k.s, buf, 10, MSG_PEEK));
	EXPECT_EQ(600, inq(k.s));
	/* The FIN is not a byte to read. */
	shutdown(k.c, SHUT_WR);
	EXPECT_TRUE(ep_wait_bits(k.s, EPOLLRDHUP, 2000) & EPOLLRDHUP);
	EXPECT_EQ(600, inq(k.s)) TH_LOG("[%s]", SN(stk));
	EXPECT_EQ(600, recv(k.s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, inq(k.s)) TH_LOG("[%s]", SN(stk));
	/* A listener: EINVAL; a new socket: 0. */
	EXPECT_ERRNO(stk, EINVAL, ioctl(k.l, SIOCINQ, &v));
	fd = tt_socket_in(-1, stk);
	EXPECT_EQ(0, inq(fd));
	close(fd);
	EXPECT_ERRNO(stk, EFAULT, ioctl(k.s, SIOCINQ, self->bad));
	tt_conn_close(&k);
}

TEST_F(api, ioctl_siocoutq_siocoutqnsd)
{
	const enum tt_stack stk = variant->stack;
	static char buf[65536];

	struct tt_conn k;
	int out = -1, nsd = -1, fd;
	long queued, got = 0;
	long long end;

	tt_lo_pair(_metadata, stk, 6000, &k);
	EXPECT_EQ(0, ioctl(k.c, SIOCOUTQ, &out));
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, ioctl(k.c, SIOCOUTQNSD, &nsd));
	EXPECT_EQ(0, nsd);
	/* The peer stops reading: bytes stay in our send queue. */
	queued = fill(k.c);
	ASSERT_LT(0, queued);
	EXPECT_EQ(0, ioctl(k.c, SIOCOUTQ, &out));
	EXPECT_EQ(0, ioctl(k.c, SIOCOUTQNSD, &nsd));
	EXPECT_LT(0, out) TH_LOG("[%s] SIOCOUTQ %d with %ld queued", SN(stk), out, queued);
	EXPECT_GE(queued, out);
	EXPECT_LT(0, nsd) TH_LOG("[%s] SIOCOUTQNSD %d: nothing unsent", SN(stk), nsd);
	EXPECT_GE(out, nsd);
	/* Sent + unsent = queued, less what the peer holds. */
	EXPECT_EQ(queued - inq(k.s), out) TH_LOG("[%s] SIOCOUTQ %d, queued %ld, peer has %d",
						 SN(stk), out, queued, inq(k.s));
	/* The reader catches up: everything acknowledged. */
	end = tt_now_ms() + 5000;
	while (got < queued && tt_now_ms() < end) {
		ssize_t n = tt_recv_to(k.s, buf, sizeof(buf), 2000);

		if (n <= 0)
			break;
		got += n;
	}
	EXPECT_EQ(queued, got);
	end = tt_now_ms() + 2000;
	do {
		ioctl(k.c, SIOCOUTQ, &out);
		ioctl(k.c, SIOCOUTQNSD, &nsd);
	} while ((out || nsd) && tt_now_ms() < end && (tt_msleep(5), 1));
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, nsd);
	EXPECT_ERRNO(stk, EINVAL, ioctl(k.l, SIOCOUTQ, &out));
	EXPECT_ERRNO(stk, EINVAL, ioctl(k.l, SIOCOUTQNSD, &out));
	EXPECT_ERRNO(stk, EFAULT, ioctl(k.c, SIOCOUTQ, self->bad));
	fd = tt_socket_in(-1, stk);
	out = -1;
	EXPECT_EQ(0, ioctl(fd, SIOCOUTQ, &out));
	EXPECT_EQ(0, out);
	close(fd);
	tt_conn_close(&k);
}

TEST_F(api, ioctl_other_commands)
{
	const enum tt_stack stk = variant->stack;
	struct tt_conn k;
	int v = -1;

	tt_lo_pair(_metadata, stk, 6000, &k);
	/* sockatmark(): no urgent data, so 0. */
	errno = 0;
	EXPECT_EQ(0, sockatmark(k.s)) TH_LOG("[%s] sockatmark: %s", SN(stk), strerror(errno));
	/* Not a socket ioctl at all: ENOTTY. */
	EXPECT_ERRNO(stk, ENOTTY, ioctl(k.s, _IO('x', 1), &v));
	/* FIONBIO is the socket layer's. */
	v = 1;
	EXPECT_EQ(0, ioctl(k.s, FIONBIO, &v));
	EXPECT_TRUE(fcntl(k.s, F_GETFL) & O_NONBLOCK);
	tt_conn_close(&k);
}

TEST_HARNESS_MAIN
