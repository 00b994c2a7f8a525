// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp's per-namespace receive memory limit, net.toytcp.mem (issue 6).
 *
 * Two namespaces side by side, each with NCONN connections over its own
 * loopback: in A net.toytcp.mem is lowered to MIN/PRESSURE/MAX pages (max
 * 1 MiB), B keeps the default (about 1/8 of the machine's free buffer
 * pages).  Every sender writes STREAM bytes of its own seeded pattern as
 * fast as non-blocking send() lets it, while the receivers first do not
 * read at all (HOLD_MS), then read everything; both namespaces at once.
 *
 * What must hold, from /proc/net/toytcp_snmp of each namespace:
 *  - A: MemoryAllocated, sampled by the test, and MemoryAllocatedPeak, the
 *    kernel's own high-water mark, never above max + SLACK (mem.c's
 *    TOYTCP_MEM_SLACK: 64 pages), and up to at least "pressure" (the
 *    limit was reached, not just never approached); MemoryPressures and
 *    MemoryDrops went up;
 *  - B: unaffected: it held more than A's max + SLACK at once, with no
 *    pressure and no drops (a limit or a counter shared between
 *    namespaces would show here);
 *  - both: every stream arrives complete and byte-exact once read, and
 *    MemoryAllocated is 0 when all is read and closed (every charge was
 *    taken back).
 */
#include "toytcp_test.h"

#define NCONN		16
#define STREAM		(2u << 20)	/* bytes per connection */
#define HOLD_MS		3000		/* receivers do not read */
#define DONE_MS		180000		/* all streams complete within */
#define PAGE		4096L
#define MEM_MIN		128		/* net.toytcp.mem of A, pages */
#define MEM_PRESSURE	192
#define MEM_MAX		256
#define SLACK		(64 * PAGE)	/* TOYTCP_MEM_SLACK */
#define PORT		5300

struct mem_conn {
	int c, s;
	uint64_t seed;
	size_t sent, rcvd;
	bool bad;
};

struct mem_side {
	int nsfd;			/* -1: the test's own namespace */
	struct mem_conn k[NCONN];
	long sampled_max;		/* MemoryAllocated, highest seen */
};

static long mem_cnt(int nsfd, const char *name)
{
	return tt_cnt_in(nsfd, TT_TOYTCP, name);
}

static int mem_sysctl_write(int nsfd, const char *val)
{
	int fd, r = -1, e;

	fd = TT_IN_NS(nsfd, open("/proc/sys/net/toytcp/mem", O_WRONLY));
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) == (ssize_t)strlen(val))
		r = 0;
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static int mem_sysctl_read(int nsfd, long v[3])
{
	FILE *f;
	int fd, n;

	fd = TT_IN_NS(nsfd, open("/proc/sys/net/toytcp/mem", O_RDONLY));
	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	n = fscanf(f, "%ld %ld %ld", &v[0], &v[1], &v[2]);
	fclose(f);
	return n == 3 ? 0 : -1;
}

/* NCONN connections on 127.0.0.1 in side->nsfd, senders non-blocking. */
static int mem_open(struct mem_side *side, int seedbase)
{
	int l, i, err;

	l = tt_listen_in(side->nsfd, TT_TOYTCP, TT_LO, PORT, NCONN);
	if (l < 0)
		return errno;
	for (i = 0; i < NCONN; i++) {
		struct mem_conn *k = &side->k[i];

		k->seed = seedbase + i;
		k->c = tt_socket_in(side->nsfd, TT_TOYTCP);
		if (k->c < 0)
			return errno;
		err = tt_connect_to(k->c, AF_TOYTCP, TT_LO, PORT, 10000);
		if (err)
			return err;
		k->s = tt_accept_to(l, 10000, NULL);
		if (k->s < 0)
			return errno;
		if (tt_set_nonblock(k->c, true) || tt_set_nonblock(k->s, true))
			return errno;
	}
	close(l);
	return 0;
}

static void mem_close(struct mem_side *side)
{
	int i;

	for (i = 0; i < NCONN; i++) {
		if (side->k[i].c >= 0)
			close(side->k[i].c);
		if (side->k[i].s >= 0)
			close(side->k[i].s);
		side->k[i].c = side->k[i].s = -1;
	}
}

/* Send what the socket takes now; false on an error other than EAGAIN. */
static bool mem_push(struct mem_conn *k)
{
	static uint8_t buf[65536];

	while (k->sent < STREAM) {
		size_t n = STREAM - k->sent;
		ssize_t r;

		if (n > sizeof(buf))
			n = sizeof(buf);
		tt_fill(k->seed, k->sent, buf, n);
		r = send(k->c, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN;
		k->sent += r;
	}
	return true;
}

/* Read and check what is there; false on an error or wrong bytes. */
static bool mem_pull(struct mem_conn *k)
{
	static uint8_t buf[65536], want[65536];

	while (k->rcvd < STREAM) {
		ssize_t r = recv(k->s, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0)
			return errno == EAGAIN;
		if (r == 0 || k->rcvd + r > STREAM)
			return false;
		tt_fill(k->seed, k->rcvd, want, r);
		if (memcmp(buf, want, r)) {
			k->bad = true;
			return false;
		}
		k->rcvd += r;
	}
	return true;
}

/*
 * One round over both sides: push every sender, read every receiver if
 * @read, sample MemoryAllocated.  Returns the number of streams not yet
 * complete, or -1 on an error.
 */
static int mem_round(struct mem_side *sides, int nsides, bool read)
{
	struct pollfd pfd[2 * NCONN * 2];
	int left = 0, n = 0, i, j;

	for (j = 0; j < nsides; j++) {
		struct mem_side *side = &sides[j];
		long v;

		for (i = 0; i < NCONN; i++) {
			struct mem_conn *k = &side->k[i];

			if (!mem_push(k) || (read && !mem_pull(k)))
				return -1;
			left += k->rcvd < STREAM;
			if (k->sent < STREAM)
				pfd[n++] = (struct pollfd){ k->c, POLLOUT };
			if (read && k->rcvd < STREAM)
				pfd[n++] = (struct pollfd){ k->s, POLLIN };
		}
		v = mem_cnt(side->nsfd, "MemoryAllocated");
		if (v > side->sampled_max)
			side->sampled_max = v;
	}
	if (n)
		poll(pfd, n, 20);
	return left;
}

FIXTURE(nsmem) {
	int b;				/* B's namespace */
	struct mem_side side[2];	/* [0]: A, limited; [1]: B */
};

FIXTURE_SETUP(nsmem)
{
	int i;

	memset(self, 0, sizeof(*self));
	self->b = -1;
	for (i = 0; i < NCONN; i++) {
		self->side[0].k[i].c = self->side[0].k[i].s = -1;
		self->side[1].k[i].c = self->side[1].k[i].s = -1;
	}
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(TT_TOYTCP);
	TT_SET_TW(TT_TW_MS);	/* the closed connections go soon */
	self->b = tt_netns_new();
	ASSERT_LE(0, self->b);
	self->side[0].nsfd = -1;
	self->side[1].nsfd = self->b;
}

FIXTURE_TEARDOWN(nsmem)
{
	mem_close(&self->side[0]);
	mem_close(&self->side[1]);
	if (self->b >= 0)
		close(self->b);
}

/* The sysctl: three values, in order, per namespace. */
TEST_F(nsmem, sysctl_per_namespace_ordered)
{
	long a[3], b[3];
	char buf[64];

	ASSERT_EQ(0, mem_sysctl_read(-1, a));
	ASSERT_EQ(0, mem_sysctl_read(self->b, b));
	EXPECT_EQ(a[0], b[0]);
	EXPECT_EQ(a[2], b[2]);
	EXPECT_LE(a[0], a[1]);
	EXPECT_LE(a[1], a[2]);
	EXPECT_LE(128, a[1]) TH_LOG("default %ld %ld %ld pages", a[0], a[1], a[2]);
	TH_LOG("default net.toytcp.mem: %ld %ld %ld pages", a[0], a[1], a[2]);

	snprintf(buf, sizeof(buf), "%d %d %d", MEM_MIN, MEM_PRESSURE, MEM_MAX);
	ASSERT_EQ(0, mem_sysctl_write(-1, buf));
	ASSERT_EQ(0, mem_sysctl_read(-1, a));
	EXPECT_EQ(MEM_MIN, a[0]);
	EXPECT_EQ(MEM_PRESSURE, a[1]);
	EXPECT_EQ(MEM_MAX, a[2]);
	/* the other namespace keeps its own */
	ASSERT_EQ(0, mem_sysctl_read(self->b, a));
	EXPECT_EQ(b[2], a[2]);
	/* out of order: refused, nothing changed */
	EXPECT_EQ(-1, mem_sysctl_write(-1, "300 200 100"));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mem_sysctl_read(-1, a));
	EXPECT_EQ(MEM_MAX, a[2]);
}

/*
 * The ceiling: A holds no more than max + SLACK while nobody reads; B, in
 * the same time, more; then everything arrives intact in both.
 */
TEST_F_TIMEOUT(nsmem, ceiling_held_streams_intact_other_ns_unaffected, 300)
{
	long p0[2], d0[2], o0[2], peak[2], p1[2], d1[2], o1[2], def[3];
	long long t0, hold_end, end;
	char buf[64];
	int j, left;

	snprintf(buf, sizeof(buf), "%d %d %d", MEM_MIN, MEM_PRESSURE, MEM_MAX);
	ASSERT_EQ(0, mem_sysctl_write(-1, buf));
	ASSERT_EQ(0, mem_sysctl_read(self->b, def));
	ASSERT_LT(4 * MEM_MAX, def[2])
		TH_LOG("B's default max (%ld pages) too small to tell", def[2]);

	ASSERT_EQ(0, mem_open(&self->side[0], 1000));
	ASSERT_EQ(0, mem_open(&self->side[1], 2000));
	for (j = 0; j < 2; j++) {
		p0[j] = mem_cnt(self->side[j].nsfd, "MemoryPressures");
		d0[j] = mem_cnt(self->side[j].nsfd, "MemoryDrops");
		o0[j] = mem_cnt(self->side[j].nsfd, "OfoPruned");
		ASSERT_LE(0, p0[j]) TH_LOG("no MemoryPressures counter");
		ASSERT_LE(0, d0[j]) TH_LOG("no MemoryDrops counter");
	}

	/* Phase 1: the receivers do not read. */
	t0 = tt_now_ms();
	hold_end = t0 + HOLD_MS;
	while (tt_now_ms() < hold_end)
		ASSERT_LE(0, mem_round(self->side, 2, false));
	for (j = 0; j < 2; j++)
		peak[j] = mem_cnt(self->side[j].nsfd, "MemoryAllocatedPeak");
	TH_LOG("after %d ms unread: A holds %ld bytes (peak %ld, sampled %ld), B %ld (peak %ld)",
	       HOLD_MS, mem_cnt(-1, "MemoryAllocated"), peak[0],
	       self->side[0].sampled_max,
	       mem_cnt(self->b, "MemoryAllocated"), peak[1]);

	/* Phase 2: read everything. */
	end = tt_now_ms() + DONE_MS;
	do {
		left = mem_round(self->side, 2, true);
		ASSERT_LE(0, left) TH_LOG("a stream failed or was corrupted");
	} while (left && tt_now_ms() < end);
	for (j = 0; j < 2; j++) {
		int i;

		for (i = 0; i < NCONN; i++) {
			struct mem_conn *k = &self->side[j].k[i];

			EXPECT_FALSE(k->bad);
			EXPECT_EQ(STREAM, k->rcvd)
				TH_LOG("%s stream %d: %zu of %u bytes",
				       j ? "B" : "A", i, k->rcvd, STREAM);
		}
	}
	TH_LOG("all %d streams of %u bytes complete after %lld ms", 2 * NCONN,
	       STREAM, tt_now_ms() - t0);

	for (j = 0; j < 2; j++) {
		peak[j] = mem_cnt(self->side[j].nsfd, "MemoryAllocatedPeak");
		p1[j] = mem_cnt(self->side[j].nsfd, "MemoryPressures");
		d1[j] = mem_cnt(self->side[j].nsfd, "MemoryDrops");
		o1[j] = mem_cnt(self->side[j].nsfd, "OfoPruned");
	}
	TH_LOG("A: peak %ld bytes (max %ld + slack %ld = %ld), sampled %ld; MemoryPressures +%ld, MemoryDrops +%ld, OfoPruned +%ld",
	       peak[0], MEM_MAX * PAGE, SLACK, MEM_MAX * PAGE + SLACK,
	       self->side[0].sampled_max, p1[0] - p0[0], d1[0] - d0[0],
	       o1[0] - o0[0]);
	TH_LOG("B: peak %ld bytes, sampled %ld; MemoryPressures +%ld, MemoryDrops +%ld",
	       peak[1], self->side[1].sampled_max, p1[1] - p0[1],
	       d1[1] - d0[1]);

	/* A: the ceiling held, and was reached. */
	EXPECT_GE(MEM_MAX * PAGE + SLACK, peak[0]);
	EXPECT_GE(MEM_MAX * PAGE + SLACK, self->side[0].sampled_max);
	EXPECT_LE(MEM_PRESSURE * PAGE, peak[0]);
	EXPECT_LT(0, p1[0] - p0[0]);
	EXPECT_LT(0, d1[0] - d0[0]);
	/* B: more than A's ceiling, untouched by A's limit. */
	EXPECT_LT(MEM_MAX * PAGE + SLACK, peak[1]);
	EXPECT_EQ(0, p1[1] - p0[1]);
	EXPECT_EQ(0, d1[1] - d0[1]);

	/* Every charge taken back: all read, then all closed. */
	for (j = 0; j < 2; j++)
		EXPECT_EQ(0, mem_cnt(self->side[j].nsfd, "MemoryAllocated"));
	mem_close(&self->side[0]);
	mem_close(&self->side[1]);
	for (j = 0; j < 2; j++)
		EXPECT_EQ(0, mem_cnt(self->side[j].nsfd, "MemoryAllocated"));
}

/*
 * A listener's children count too: clients that connect to a listener
 * that does not accept() are memory a peer made A keep.  With A's max at
 * CHILD_MAX pages and no SYN cookies, NCLIENT connects to a listener whose
 * queues would take them all: the children stop where the memory does,
 * the rest of the SYNs are dropped; accepting frees the charge, and the
 * retransmitted SYNs get in then.
 */
#define NCLIENT		128
#define CHILD_MIN	8		/* net.toytcp.mem of A, pages */
#define CHILD_PRESSURE	12
#define CHILD_MAX	16

static int children_now(void)
{
	return tt_count_port_state(TT_TOYTCP, PORT, TT_SYN_RECV) +
	       tt_count_port_state(TT_TOYTCP, PORT, TT_ESTABLISHED);
}

TEST_F_TIMEOUT(nsmem, listener_children_charged_until_accepted, 120)
{
	long d0, d1, held, peak, per_child;
	int c[NCLIENT], l, i, n = 0, acc = 0, kids;
	long long end;
	char buf[64];

	for (i = 0; i < NCLIENT; i++)
		c[i] = -1;
	snprintf(buf, sizeof(buf), "%d %d %d", CHILD_MIN, CHILD_PRESSURE,
		 CHILD_MAX);
	ASSERT_EQ(0, mem_sysctl_write(-1, buf));
	ASSERT_EQ(0, tt_set_syncookies(TT_TOYTCP, 0));
	l = tt_listen_in(-1, TT_TOYTCP, TT_LO, PORT, 4 * NCLIENT);
	ASSERT_LE(0, l);
	d0 = mem_cnt(-1, "MemoryDrops");

	for (i = 0; i < NCLIENT; i++) {
		struct sockaddr_in a = tt_sin(AF_TOYTCP, TT_LO, PORT);

		c[i] = tt_socket(TT_TOYTCP);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, tt_set_nonblock(c[i], true));
		ASSERT_TRUE(!connect(c[i], TT_SA(&a), sizeof(a)) ||
			    errno == EINPROGRESS);
	}
	/* Every SYN has had its answer: a child, or nothing. */
	end = tt_now_ms() + 3000;
	do {
		tt_msleep(100);
		kids = children_now();
		d1 = mem_cnt(-1, "MemoryDrops");
	} while (tt_now_ms() < end && kids + d1 - d0 < NCLIENT);
	held = mem_cnt(-1, "MemoryAllocated");
	peak = mem_cnt(-1, "MemoryAllocatedPeak");
	ASSERT_LT(0, kids);
	ASSERT_LT(0, held) TH_LOG("%d children, none of them charged", kids);
	per_child = held / kids;
	TH_LOG("%d clients, net.toytcp.mem max %d pages: %d children held (%ld bytes, %ld each, peak %ld), MemoryDrops +%ld",
	       NCLIENT, CHILD_MAX, kids, held, per_child, peak, d1 - d0);
	/* Bounded by the memory, not by the backlog, and all charged. */
	EXPECT_LT(kids, NCLIENT);
	EXPECT_EQ(held, kids * per_child);
	EXPECT_GE(CHILD_MAX * PAGE, held);
	EXPECT_GE(CHILD_MAX * PAGE, peak);
	EXPECT_LT(CHILD_MAX * PAGE - per_child, held);
	EXPECT_LE(kids, CHILD_MAX * PAGE / per_child);
	EXPECT_LT(0, d1 - d0);

	/* accept() takes the children off the charge; the SYNs that were
	 * dropped come again (1 s, 3 s, 7 s ...) and get in.
	 */
	end = tt_now_ms() + 30000 * tt_time_scale();
	while (acc < NCLIENT && tt_now_ms() < end) {
		int s = tt_accept_to(l, 200, NULL);

		if (s < 0)
			continue;
		acc++;
		close(s);
	}
	EXPECT_EQ(NCLIENT, acc);
	for (i = 0; i < NCLIENT; i++)
		n += tt_so_error(c[i]) == 0 && tt_poll1(c[i], POLLOUT, 0) > 0;
	EXPECT_EQ(NCLIENT, n);
	EXPECT_EQ(0, mem_cnt(-1, "MemoryAllocated"));
	TH_LOG("all %d accepted, %d clients connected, MemoryAllocated %ld",
	       acc, n, mem_cnt(-1, "MemoryAllocated"));
	for (i = 0; i < NCLIENT; i++)
		close(c[i]);
	close(l);
}

/*
 * Buffers that grow as Linux TCP's do (issue 15; module/autotune.c).  A
 * socket starts with tcp_rmem[1] and tcp_wmem[1]; a receiver that keeps
 * up with a bulk transfer sees its receive buffer grow (dynamic
 * right-sizing, tcp_rcv_space_adjust()), a sender whose congestion window
 * grows sees its send buffer follow (tcp_sndbuf_expand()), up to
 * tcp_rmem[2] and tcp_wmem[2]; an idle connection's buffers stay where
 * they started; SO_RCVBUF and SO_SNDBUF fix them.  The window scale is
 * chosen from the largest buffer, so that growth can be announced.  Both
 * stacks, read back with SO_RCVBUF/SO_SNDBUF (and TCP_INFO for the scale).
 */
#define AT_PORT		5400
#define AT_BULK		(64u << 20)
#define AT_MSS		1400	/* TCP_MAXSEG: many segments per window */

FIXTURE(autotune) {
	int rmem[3], wmem[3];
};

FIXTURE_VARIANT(autotune) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(autotune);

static int at_read3(const char *path, int v[3])
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%d %d %d", &v[0], &v[1], &v[2]);
	fclose(f);
	return n == 3 ? 0 : -1;
}

FIXTURE_SETUP(autotune)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, at_read3("/proc/sys/net/ipv4/tcp_rmem", self->rmem));
	ASSERT_EQ(0, at_read3("/proc/sys/net/ipv4/tcp_wmem", self->wmem));
	/* The defaults, so that "grown" means something. */
	ASSERT_LT(self->rmem[1], self->rmem[2]);
	ASSERT_LT(self->wmem[1], self->wmem[2]);
}

FIXTURE_TEARDOWN(autotune)
{
}

/*
 * A connected pair on loopback; before listen() and connect(), the
 * listener gets SO_RCVBUF = lrcvbuf and the client SO_SNDBUF = csndbuf
 * and TCP_MAXSEG = mss (each when non-zero).
 */
static void at_pair(struct __test_metadata *_metadata, enum tt_stack s,
		    int port, int lrcvbuf, int csndbuf, int mss,
		    struct tt_conn *k)
{
	struct sockaddr_in a = tt_sin(tt_family(s), TT_LO, port);
	int one = 1;

	k->l = tt_socket(s);
	ASSERT_LE(0, k->l);
	setsockopt(k->l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lrcvbuf)
		ASSERT_EQ(0, tt_setint(k->l, SOL_SOCKET, SO_RCVBUF, lrcvbuf));
	ASSERT_EQ(0, bind(k->l, TT_SA(&a), sizeof(a)));
	ASSERT_EQ(0, listen(k->l, 4));
	k->c = tt_socket(s);
	ASSERT_LE(0, k->c);
	if (csndbuf)
		ASSERT_EQ(0, tt_setint(k->c, SOL_SOCKET, SO_SNDBUF, csndbuf));
	if (mss)
		ASSERT_EQ(0, tt_setint(k->c, IPPROTO_TCP, TCP_MAXSEG, mss));
	ASSERT_EQ(0, tt_connect_to(k->c, tt_family(s), TT_LO, port, 10000));
	k->s = tt_accept_to(k->l, 10000, NULL);
	ASSERT_LE(0, k->s);
}

/* A byte-checked transfer of AT_BULK bytes from the client to the server,
 * the receiver reading as fast as it can.
 */
static void at_bulk(struct __test_metadata *_metadata, struct tt_conn *k)
{
	struct tt_xfer x;

	tt_xfer_init(&x, k->c, k->s, AT_BULK, 15, 30000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, AT_BULK);
}

TEST_F_TIMEOUT(autotune, rcvbuf_grows_with_bulk, 300)
{
	struct tt_conn k;
	int before, after;

	at_pair(_metadata, variant->stack, AT_PORT, 0, 0, 0, &k);
	before = tt_getint(k.s, SOL_SOCKET, SO_RCVBUF);
	EXPECT_EQ(self->rmem[1], before);
	at_bulk(_metadata, &k);
	after = tt_getint(k.s, SOL_SOCKET, SO_RCVBUF);
	TH_LOG("%s: receiver's SO_RCVBUF %d before, %d after %u MB (tcp_rmem %d %d %d)",
	       tt_stack_name(variant->stack), before, after, AT_BULK >> 20,
	       self->rmem[0], self->rmem[1], self->rmem[2]);
	EXPECT_GT(after, self->rmem[1]);
	EXPECT_LE(after, self->rmem[2]);
	tt_conn_close(&k);
}

TEST_F(autotune, rcvbuf_idle_stays_default)
{
	struct tt_conn k;
	char c = 'x';

	at_pair(_metadata, variant->stack, AT_PORT + 1, 0, 0, 0, &k);
	/* A few bytes each way, then nothing. */
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ(1, tt_send_all(k.c, &c, 1, 5000));
		ASSERT_EQ(1, tt_recv_all(k.s, &c, 1, 5000));
		ASSERT_EQ(1, tt_send_all(k.s, &c, 1, 5000));
		ASSERT_EQ(1, tt_recv_all(k.c, &c, 1, 5000));
	}
	tt_msleep(300);
	EXPECT_EQ(self->rmem[1], tt_getint(k.s, SOL_SOCKET, SO_RCVBUF));
	EXPECT_EQ(self->rmem[1], tt_getint(k.c, SOL_SOCKET, SO_RCVBUF));
	tt_conn_close(&k);
}

TEST_F_TIMEOUT(autotune, rcvbuf_set_stays_fixed, 300)
{
	struct tt_conn k;
	int set = 65536;

	/* The child takes its listener's buffer and its lock. */
	at_pair(_metadata, variant->stack, AT_PORT + 2, set, 0, 0, &k);
	EXPECT_EQ(2 * set, tt_getint(k.s, SOL_SOCKET, SO_RCVBUF));
	at_bulk(_metadata, &k);
	EXPECT_EQ(2 * set, tt_getint(k.s, SOL_SOCKET, SO_RCVBUF));
	tt_conn_close(&k);
}

/*
 * The send side, with an MSS of AT_MSS so that a grown congestion window
 * needs more than the initial buffer (on loopback's 64 KB MSS the initial
 * ten segments are already most of tcp_wmem[2]).
 */
TEST_F_TIMEOUT(autotune, sndbuf_grows_with_bulk, 300)
{
	struct tt_conn k;
	int before, after;

	at_pair(_metadata, variant->stack, AT_PORT + 3, 0, 0, AT_MSS, &k);
	before = tt_getint(k.c, SOL_SOCKET, SO_SNDBUF);
	EXPECT_GE(before, self->wmem[1]);
	EXPECT_LT(before, self->wmem[2]);
	at_bulk(_metadata, &k);
	after = tt_getint(k.c, SOL_SOCKET, SO_SNDBUF);
	TH_LOG("%s: sender's SO_SNDBUF %d established, %d after %u MB (tcp_wmem %d %d %d)",
	       tt_stack_name(variant->stack), before, after, AT_BULK >> 20,
	       self->wmem[0], self->wmem[1], self->wmem[2]);
	EXPECT_GT(after, before);
	EXPECT_LE(after, self->wmem[2]);
	tt_conn_close(&k);
}

TEST_F(autotune, sndbuf_idle_stays)
{
	struct tt_conn k;
	int before;
	char c = 'x';

	at_pair(_metadata, variant->stack, AT_PORT + 4, 0, 0, AT_MSS, &k);
	before = tt_getint(k.c, SOL_SOCKET, SO_SNDBUF);
	EXPECT_LT(before, self->wmem[2]);
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ(1, tt_send_all(k.c, &c, 1, 5000));
		ASSERT_EQ(1, tt_recv_all(k.s, &c, 1, 5000));
	}
	tt_msleep(300);
	EXPECT_EQ(before, tt_getint(k.c, SOL_SOCKET, SO_SNDBUF));
	EXPECT_LT(tt_getint(k.s, SOL_SOCKET, SO_SNDBUF), self->wmem[2]);
	tt_conn_close(&k);
}

TEST_F_TIMEOUT(autotune, sndbuf_set_stays_fixed, 300)
{
	struct tt_conn k;
	int set = 65536;

	at_pair(_metadata, variant->stack, AT_PORT + 5, 0, set, AT_MSS, &k);
	EXPECT_EQ(2 * set, tt_getint(k.c, SOL_SOCKET, SO_SNDBUF));
	at_bulk(_metadata, &k);
	EXPECT_EQ(2 * set, tt_getint(k.c, SOL_SOCKET, SO_SNDBUF));
	tt_conn_close(&k);
}

/* As tcp_select_initial_window(): the scale fits tcp_rmem[2] (or
 * rmem_max), not the buffer the socket starts with.
 */
TEST_F(autotune, wscale_from_rmem_max)
{
	long rmem_max = tt_sysctl_get("core/rmem_max");
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	long space = self->rmem[2];
	struct tt_conn k;
	int want = 0;

	/* 6.1 shows net.core in the initial namespace only: its default
	 * (212992) is below tcp_rmem[2]'s.
	 */
	if (rmem_max < 0)
		TH_LOG("net.core.rmem_max not visible here: tcp_rmem[2] alone");
	if (rmem_max > space)
		space = rmem_max;
	while (want < 14 && (space >> want) > 65535)
		want++;
	at_pair(_metadata, variant->stack, AT_PORT + 6, 0, 0, 0, &k);
	memset(&ti, 0, sizeof(ti));
	ASSERT_EQ(0, getsockopt(k.c, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(want, (int)ti.tcpi_rcv_wscale);
	memset(&ti, 0, sizeof(ti));
	len = sizeof(ti);
	ASSERT_EQ(0, getsockopt(k.s, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(want, (int)ti.tcpi_rcv_wscale);
	tt_conn_close(&k);
}

TEST_HARNESS_MAIN
