// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp's socket memory: one limit for the whole host, net.toytcp.mem,
 * as net.ipv4.tcp_mem (issue 13, "Memory").
 *
 * toytcp charges its sockets' memory through the kernel's own socket
 * memory accounting (struct proto's memory_allocated, sysctl_mem ...):
 * receive and out-of-order queues, send queues, and a listener's
 * children until accept() takes them.  /proc/net/toytcp_snmp shows the
 * host's total in every namespace (MemoryAllocated, MemoryAllocatedPeak,
 * in bytes, exact: the per-CPU reserves included), and
 * /proc/net/protocols shows it in pages as for Linux TCP.
 *
 * The limit is checked as the kernel checks tcp_mem: against
 * memory_allocated without the per-CPU reserves (net.core.mem_pcpu_rsv
 * pages per CPU, 1 MiB by default), so the total may exceed "max" by up
 * to that per CPU, and by TOYTCP_MEM_SLACK (64 pages) of in-sequence data
 * for empty receive queues (mem.c): the ceiling the tests hold it to.
 *
 * The limit is set in the initial namespace only: the tests run in a
 * namespace of their own (tt_fresh_netns()) and write it there through
 * a descriptor of the initial one, restoring it after.
 */
#include "toytcp_test.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#define NCONN		16
#define STREAM		(2u << 20)	/* bytes per connection */
#define HOLD_MS		3000		/* receivers do not read */
#define DONE_MS		180000		/* all streams complete within */
#define PAGE		4096L
#define MEM_MIN		1024		/* net.toytcp.mem, pages */
#define MEM_PRESSURE	1536
#define MEM_MAX		2048		/* 8 MiB */
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


/* The limit, in the initial namespace; the per-CPU reserve, in pages. */
static long mem_rsv_pages(int initns)
{
	long v = TT_IN_NS(initns, tt_file_long("/proc/sys/net/core/mem_pcpu_rsv",
					       -1));

	return v > 0 ? v : 256;
}

/* What the limit lets the total reach, in bytes (see the top). */
static long mem_ceiling(int initns, long max_pages)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	return (max_pages + 64 + cpus * mem_rsv_pages(initns)) * PAGE;
}

FIXTURE(globalmem) {
	int initns;			/* the initial namespace */
	long saved[3];			/* its net.toytcp.mem */
	struct mem_side side;
};

FIXTURE_SETUP(globalmem)
{
	int i;

	memset(self, 0, sizeof(*self));
	for (i = 0; i < NCONN; i++)
		self->side.k[i].c = self->side.k[i].s = -1;
	self->initns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->initns);
	ASSERT_EQ(0, mem_sysctl_read(self->initns, self->saved));
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(TT_TOYTCP);
	TT_SET_TW(TT_TW_MS);	/* the closed connections go soon */
	self->side.nsfd = -1;
}

FIXTURE_TEARDOWN(globalmem)
{
	char buf[96];

	mem_close(&self->side);
	snprintf(buf, sizeof(buf), "%ld %ld %ld", self->saved[0],
		 self->saved[1], self->saved[2]);
	if (self->initns >= 0) {
		mem_sysctl_write(self->initns, buf);
		close(self->initns);
	}
}

static int mem_set(int initns, long lo, long pr, long hi)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%ld %ld %ld", lo, pr, hi);
	return mem_sysctl_write(initns, buf);
}

/* TOYTCP's memory column of /proc/net/protocols: pages, -1 when "NI". */
static long mem_protocols_pages(void)
{
	char line[512], name[32];
	long v = -2, size, socks;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %ld %ld %ld", name, &size, &socks, &v) == 4 &&
		    !strcmp(name, "TOYTCP"))
			break;
		else
			v = -2;
	fclose(f);
	return v;
}

/*
 * The sysctl: three values, in order, written in the initial namespace
 * and seen (read-only) in every other; /proc/net/protocols accounts the
 * memory.
 */
TEST_F(globalmem, sysctl_global_writable_only_in_initial_namespace)
{
	long a[3], b[3];

	ASSERT_EQ(0, mem_sysctl_read(self->initns, a));
	EXPECT_LE(a[0], a[1]);
	EXPECT_LE(a[1], a[2]);
	EXPECT_LE(128, a[1]);
	TH_LOG("net.toytcp.mem: %ld %ld %ld pages; /proc/net/protocols TOYTCP memory %ld pages",
	       a[0], a[1], a[2], mem_protocols_pages());

	ASSERT_EQ(0, mem_set(self->initns, MEM_MIN, MEM_PRESSURE, MEM_MAX));
	/* this namespace sees the host's limit */
	ASSERT_EQ(0, mem_sysctl_read(-1, b));
	EXPECT_EQ(MEM_MIN, b[0]);
	EXPECT_EQ(MEM_PRESSURE, b[1]);
	EXPECT_EQ(MEM_MAX, b[2]);
	/* and cannot change it, even as root */
	EXPECT_EQ(-1, mem_sysctl_write(-1, "1 2 3"));
	TH_LOG("write in a namespace of its own: %s", strerror(errno));
	ASSERT_EQ(0, mem_sysctl_read(self->initns, a));
	EXPECT_EQ(MEM_MAX, a[2]);
	/* out of order: refused, nothing changed */
	EXPECT_EQ(-1, mem_sysctl_write(self->initns, "300 200 100"));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mem_sysctl_read(self->initns, a));
	EXPECT_EQ(MEM_MAX, a[2]);
	/* the protocol's memory is accounted (not "NI", -1) */
	EXPECT_LE(0, mem_protocols_pages());
}

/*
 * The ceiling: with "max" at 8 MiB, 16 loopback connections whose
 * receivers do not read while the senders write 2 MiB each hold the
 * host's toytcp memory below the ceiling (windows stop growing under
 * pressure, data is dropped above max, senders wait); then everything
 * arrives intact, and the memory is given back.
 */
TEST_F_TIMEOUT(globalmem, ceiling_held_16_connections_not_reading, 300)
{
	long p0, d0, p1, d1, peak, base, ceiling, end_alloc;
	long long t0, hold_end, end;
	int left, i;

	base = mem_cnt(-1, "MemoryAllocated");
	ceiling = mem_ceiling(self->initns, MEM_MAX);
	ASSERT_EQ(0, mem_set(self->initns, MEM_MIN, MEM_PRESSURE, MEM_MAX));
	ASSERT_EQ(0, mem_open(&self->side, 1000));
	p0 = mem_cnt(-1, "MemoryPressures");
	d0 = mem_cnt(-1, "MemoryDrops");
	ASSERT_LE(0, p0);
	ASSERT_LE(0, d0);

	/* Phase 1: the receivers do not read. */
	t0 = tt_now_ms();
	hold_end = t0 + HOLD_MS;
	while (tt_now_ms() < hold_end)
		ASSERT_LE(0, mem_round(&self->side, 1, false));
	peak = mem_cnt(-1, "MemoryAllocatedPeak");
	TH_LOG("after %d ms unread: %ld bytes held (peak %ld, sampled %ld), ceiling %ld (max %ld + slack + per-CPU reserves), %ld before",
	       HOLD_MS, mem_cnt(-1, "MemoryAllocated"), peak,
	       self->side.sampled_max, ceiling, MEM_MAX * PAGE, base);
	EXPECT_GE(ceiling, self->side.sampled_max);
	EXPECT_LE(MEM_PRESSURE * PAGE, self->side.sampled_max)
		TH_LOG("the limit was never approached");

	/* Phase 2: read everything. */
	end = tt_now_ms() + DONE_MS;
	do {
		left = mem_round(&self->side, 1, true);
		ASSERT_LE(0, left) TH_LOG("a stream failed or was corrupted");
	} while (left && tt_now_ms() < end);
	for (i = 0; i < NCONN; i++) {
		EXPECT_FALSE(self->side.k[i].bad);
		EXPECT_EQ(STREAM, self->side.k[i].rcvd)
			TH_LOG("stream %d: %zu of %u bytes", i,
			       self->side.k[i].rcvd, STREAM);
	}
	p1 = mem_cnt(-1, "MemoryPressures");
	d1 = mem_cnt(-1, "MemoryDrops");
	TH_LOG("all %d streams of %u bytes complete after %lld ms; sampled peak %ld of ceiling %ld; MemoryPressures +%ld, MemoryDrops +%ld",
	       NCONN, STREAM, tt_now_ms() - t0, self->side.sampled_max,
	       ceiling, p1 - p0, d1 - d0);
	EXPECT_GE(ceiling, self->side.sampled_max);
	EXPECT_LT(0, p1 - p0);

	/* Every charge taken back once all is read and closed. */
	mem_close(&self->side);
	end = tt_now_ms() + 10000;
	do {
		tt_msleep(100);
		end_alloc = mem_cnt(-1, "MemoryAllocated");
	} while (end_alloc > base && tt_now_ms() < end);
	TH_LOG("MemoryAllocated %ld after closing (%ld before)", end_alloc, base);
	EXPECT_GE(base, end_alloc);
}

/*
 * An unprivileged user with a user and a network namespace of its own
 * (root there) can neither raise the host's limit nor give its sockets
 * buffers beyond net.core.rmem_max / wmem_max through net.toytcp's
 * defaults, and its 16 connections that do not read stay under the
 * host's ceiling.
 */
static int mem_unpriv_child(int out, long rmem_max, long wmem_max)
{
	struct mem_side side;
	char map[64];
	long long end;
	int fd, rcv, snd, i, err = 0;

	memset(&side, 0, sizeof(side));
	for (i = 0; i < NCONN; i++)
		side.k[i].c = side.k[i].s = -1;
	side.nsfd = -1;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 10;
	/* Changing uid left the process not dumpable: its /proc/self files
	 * root's, its uid_map not writable by it.
	 */
	prctl(PR_SET_DUMPABLE, 1);
	if (unshare(CLONE_NEWUSER))
		return 11;
	tt_file_write_long("/proc/self/setgroups", 0);
	fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "deny", 4) != 4)
			err = 1;
		close(fd);
	}
	snprintf(map, sizeof(map), "0 65534 1");
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return 12;
	close(fd);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return 13;
	close(fd);
	if (unshare(CLONE_NEWNET) || tt_link_up("lo"))
		return 14;
	dprintf(out, "root of its own namespaces (uid 65534 outside)\n");
	/* The host's limit: not for this root. */
	if (!mem_sysctl_write(-1, "100000000 200000000 400000000")) {
		dprintf(out, "FAIL: wrote net.toytcp.mem\n");
		err = 1;
	} else {
		dprintf(out, "net.toytcp.mem write refused: %s\n", strerror(errno));
	}
	/* Its own defaults: taken, but clamped where used. */
	tt_file_write_long("/proc/sys/net/toytcp/rmem_default", 1 << 30);
	tt_file_write_long("/proc/sys/net/toytcp/wmem_default", 1 << 30);
	fd = tt_socket(TT_TOYTCP);
	if (fd < 0)
		return 15;
	rcv = tt_getint(fd, SOL_SOCKET, SO_RCVBUF);
	snd = tt_getint(fd, SOL_SOCKET, SO_SNDBUF);
	close(fd);
	dprintf(out, "rmem_default=wmem_default=2^30: SO_RCVBUF %d (rmem_max %ld), SO_SNDBUF %d (wmem_max %ld)\n",
		rcv, rmem_max, snd, wmem_max);
	if (rcv > rmem_max || snd > wmem_max) {
		dprintf(out, "FAIL: buffers beyond net.core.*mem_max\n");
		err = 1;
	}
	tt_file_write_long("/proc/sys/net/toytcp/rmem_default", 0);
	tt_file_write_long("/proc/sys/net/toytcp/wmem_default", 0);
	/* 16 connections that do not read, for HOLD_MS. */
	if (mem_open(&side, 3000)) {
		dprintf(out, "FAIL: connections: %s\n", strerror(errno));
		return 16;
	}
	end = tt_now_ms() + HOLD_MS;
	while (tt_now_ms() < end)
		if (mem_round(&side, 1, false) < 0) {
			err = 1;
			break;
		}
	dprintf(out, "held %ld bytes at most (sampled here)\n", side.sampled_max);
	mem_close(&side);
	return err;
}

TEST_F_TIMEOUT(globalmem, unprivileged_namespace_cannot_raise_limit_or_buffers, 120)
{
	long rmem_max, wmem_max, ceiling, seen = 0, v;
	char out[4096] = "";
	int pfd[2], st = -1;
	ssize_t n, got = 0;
	pid_t pid;

	if (tt_file_long("/proc/sys/kernel/unprivileged_userns_clone", 1) == 0)
		SKIP(return, "unprivileged user namespaces are off");
	rmem_max = TT_IN_NS(self->initns, tt_file_long("/proc/sys/net/core/rmem_max", -1));
	wmem_max = TT_IN_NS(self->initns, tt_file_long("/proc/sys/net/core/wmem_max", -1));
	ASSERT_LT(0, rmem_max);
	ASSERT_LT(0, wmem_max);
	ceiling = mem_ceiling(self->initns, MEM_MAX);
	ASSERT_EQ(0, mem_set(self->initns, MEM_MIN, MEM_PRESSURE, MEM_MAX));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pfd[0]);
		_exit(mem_unpriv_child(pfd[1], rmem_max, wmem_max));
	}
	close(pfd[1]);
	tt_set_nonblock(pfd[0], true);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		v = mem_cnt(-1, "MemoryAllocated");
		if (v > seen)
			seen = v;
		n = read(pfd[0], out + got, sizeof(out) - 1 - got);
		if (n > 0)
			got += n;
		tt_msleep(20);
	}
	while ((n = read(pfd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(pfd[0]);
	TH_LOG("the unprivileged namespace:\n%s", out);
	TH_LOG("host's toytcp memory sampled at most %ld bytes, ceiling %ld", seen,
	       ceiling);
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) >= 10 && WEXITSTATUS(st) <= 14)
		SKIP(return, "no unprivileged user and network namespace (step %d)",
		     WEXITSTATUS(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_GE(ceiling, seen);
	EXPECT_EQ(NULL, strstr(out, "FAIL"));
}

/*
 * A listener's children count too: clients that connect to a listener
 * that does not accept() are memory a peer made the host keep, one page
 * each.  With "max" CHILD_ROOM pages above what the host holds and no SYN
 * cookies, NCLIENT connects to a listener whose queues would take them
 * all: the children stop where the memory does, the rest of the SYNs are
 * dropped; accepting frees the charge, and the retransmitted SYNs get in.
 * The clients are Linux TCP's, whose SYNs are charged to tcp_mem: toytcp
 * clients' SYNs waiting for their retransmission would hold a page each
 * of toytcp's memory (a SYN cannot wait for memory), as many as the
 * children the test wants to see.
 */
#define NCLIENT		128
#define CHILD_ROOM	40		/* pages above what the host holds */

static int children_now(void)
{
	return tt_count_port_state(TT_TOYTCP, PORT, TT_SYN_RECV) +
	       tt_count_port_state(TT_TOYTCP, PORT, TT_ESTABLISHED);
}

TEST_F_TIMEOUT(globalmem, listener_children_charged_until_accepted, 120)
{
	int c[NCLIENT], l, i, n = 0, acc = 0, kids;
	long d0, d1, held, max;
	long long end;

	for (i = 0; i < NCLIENT; i++)
		c[i] = -1;
	ASSERT_EQ(0, tt_set_syncookies(TT_TOYTCP, 0));
	l = tt_listen_in(-1, TT_TOYTCP, TT_LO, PORT, 4 * NCLIENT);
	ASSERT_LE(0, l);
	for (i = 0; i < NCLIENT; i++) {
		c[i] = tt_socket(TT_LINUX);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, tt_set_nonblock(c[i], true));
	}
	/* Room for about CHILD_ROOM children. */
	held = mem_cnt(-1, "MemoryAllocated") / PAGE;
	max = held + CHILD_ROOM;
	ASSERT_EQ(0, mem_set(self->initns, max / 2, max - 1, max));
	d0 = mem_cnt(-1, "MemoryDrops");

	for (i = 0; i < NCLIENT; i++) {
		struct sockaddr_in a = tt_sin(AF_INET, TT_LO, PORT);

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
	TH_LOG("%d clients, net.toytcp.mem max %ld pages (%ld held before): %d children held, MemoryAllocated %ld, MemoryDrops +%ld",
	       NCLIENT, max, held, kids, mem_cnt(-1, "MemoryAllocated"),
	       d1 - d0);
	/* Bounded by the memory, not by the backlog. */
	EXPECT_LT(0, kids);
	EXPECT_LT(kids, NCLIENT);
	EXPECT_LT(0, d1 - d0);

	/* accept() takes the children off the charge; the SYNs that were
	 * dropped come again (1 s, 3 s, 7 s, 15 s, 31 s) and get in: one
	 * dropped four times comes again after 31 s.
	 */
	end = tt_now_ms() + 45000 * tt_time_scale();
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
	TH_LOG("all %d accepted, %d clients connected", acc, n);
	for (i = 0; i < NCLIENT; i++)
		close(c[i]);
	close(l);
}

/*
 * Memory cgroups: the generic code charges a socket's memory cgroup
 * (sk->sk_memcg) when sk_alloc() set one, which it does for a socket
 * made in process context by a task of a cgroup other than the root (on
 * both 6.1 and 6.12).  A listener's child is made in softirq: it gets
 * none (Linux TCP sets it at accept(), through functions not exported).
 * So a sender's send queue shows in its cgroup's memory.stat "sock"; the
 * receiver's queue, held by an accepted child, does not.
 */
#define CG_ROOT "/sys/fs/cgroup"

static long cg_sock_bytes(const char *cg)
{
	char path[256], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "sock ", 5))
			v = atol(line + 5);
	fclose(f);
	return v;
}

TEST_F_TIMEOUT(globalmem, memcg_charged_for_sockets_made_in_process_context, 60)
{
	char cg[128], path[256], ctl[256] = "", line[64] = "";
	long sock0, sock1, queued = 0, rcvd = 0;
	ssize_t n;
	int go[2], done[2], st;
	FILE *f;
	pid_t pid;

	f = fopen(CG_ROOT "/cgroup.controllers", "r");
	if (f) {
		if (!fgets(ctl, sizeof(ctl), f))
			ctl[0] = 0;
		fclose(f);
	}
	if (!strstr(ctl, "memory"))
		SKIP(return, "no cgroup v2 with the memory controller at " CG_ROOT);
	tt_file_write_long(CG_ROOT "/cgroup.subtree_control", 0);
	f = fopen(CG_ROOT "/cgroup.subtree_control", "w");
	if (f) {
		fputs("+memory", f);
		fclose(f);
	}
	snprintf(cg, sizeof(cg), CG_ROOT "/toytcp-memcg-%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755));
	sock0 = cg_sock_bytes(cg);
	if (sock0 < 0) {
		rmdir(cg);
		SKIP(return, "the memory controller is not enabled below the root");
	}
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct tt_conn k;
		char b = 0;
		long r, sent = 0;
		static char buf[65536];

		close(go[1]);
		close(done[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		if (tt_pair(&k, -1, TT_TOYTCP, NULL, 0, -1, TT_TOYTCP, TT_LO, PORT))
			_exit(3);
		tt_set_nonblock(k.c, true);
		do {
			r = send(k.c, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0)
				sent += r;
		} while (r > 0 || (errno == EAGAIN && tt_poll1(k.c, POLLOUT, 300) > 0));
		dprintf(done[1], "%ld %d\n", sent, tt_inq(k.s));
		if (read(go[0], &b, 1) < 0)
			_exit(4);
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	ASSERT_EQ(0, tt_file_write_long(path, pid));
	ASSERT_EQ(1, write(go[1], "g", 1));
	n = read(done[0], line, sizeof(line) - 1);
	if (n > 0)
		line[n] = 0;
	sscanf(line, "%ld %ld", &queued, &rcvd);
	sock1 = cg_sock_bytes(cg);
	close(go[1]);
	waitpid(pid, &st, 0);
	close(done[0]);
	rmdir(cg);
	TH_LOG("a sender in a cgroup wrote %ld bytes, %ld of them in the receiver's queue: the cgroup's memory.stat sock went from %ld to %ld bytes",
	       queued, rcvd, sock0, sock1);
	/* The sender's queue: what it wrote less what the receiver holds. */
	EXPECT_LT(sock0 + (queued - rcvd) / 2, sock1);
}


/*
 * Per-namespace limits on what closed connections keep, as Linux's
 * tcp_max_tw_buckets and tcp_max_orphans, with their counters.
 */
FIXTURE(nslimits) {
	int dummy;
};

FIXTURE_VARIANT(nslimits) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(nslimits);

FIXTURE_SETUP(nslimits)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
}

FIXTURE_TEARDOWN(nslimits)
{
}

#define NTW	8
#define MAXTW	4

/*
 * The server closes first, so its ends go to TIME-WAIT (local port PORT):
 * no more than MAXTW of them; the others close at once (TWOverflow).
 * Either way the client's FIN is answered at once: nothing is
 * retransmitted, and the client's ends do not wait out an RTO in LAST-ACK.
 * toytcp acknowledges the FIN before it closes, as tcp_fin() does; Linux
 * may also have closed its end when the orphan reached FIN-WAIT-2 (a
 * timewait socket that overflowed), and then resets the client's FIN
 * (its InRsts are not counted).
 */
TEST_F_TIMEOUT(nslimits, max_tw_buckets_holds_overflow_counted, 60)
{
	enum tt_stack st = variant->stack;
	struct tt_conn k[NTW];
	struct tt_snap s0, s1;
	long o0, o1;
	int i, tw;
	char b;

	if (st == TT_TOYTCP) {
		ASSERT_EQ(0, tt_file_write_long("/proc/sys/net/toytcp/max_tw_buckets",
						MAXTW));
	} else {
		ASSERT_EQ(0, tt_sysctl_set("ipv4/tcp_max_tw_buckets", MAXTW));
	}
	o0 = tt_cnt_in(-1, st, "TWOverflow");
	ASSERT_LE(0, o0);
	tt_snap_in(-1, st, &s0);
	for (i = 0; i < NTW; i++) {
		ASSERT_EQ(0, tt_pair(&k[i], -1, st, NULL, 0, -1, st, TT_LO,
				     PORT + i));
		close(k[i].l);
		k[i].l = -1;
	}
	for (i = 0; i < NTW; i++) {
		struct sockaddr_in la, ra;
		long long end;
		int cst;

		close(k[i].s);		/* the server closes first */
		k[i].s = -1;
		EXPECT_EQ(0, tt_recv_to(k[i].c, &b, 1, 2000));
		ASSERT_EQ(0, tt_sockname(k[i].c, &la));
		ASSERT_EQ(0, tt_peername(k[i].c, &ra));
		close(k[i].c);		/* the client answers the FIN */
		k[i].c = -1;
		/* Its FIN is acknowledged at once (or, by Linux, reset):
		 * the client's end does not wait in LAST-ACK for its RTO
		 * (200 ms at least).
		 */
		end = tt_now_ms() + 150;
		while ((cst = tt_lookup(st, &la, &ra, NULL)) == TT_LAST_ACK &&
		       tt_now_ms() < end)
			tt_msleep(5);
		EXPECT_NE(TT_LAST_ACK, cst)
			TH_LOG("%s: connection %d: the client's end still in LAST-ACK after 150 ms",
			       tt_stack_name(st), i);
	}
	tt_msleep(500);
	for (tw = 0, i = 0; i < NTW; i++)
		tw += tt_count_port_state(st, PORT + i, TT_TIME_WAIT);
	o1 = tt_cnt_in(-1, st, "TWOverflow");
	tt_snap_in(-1, st, &s1);
	TH_LOG("%s: %d connections closed by the server: %d in TIME-WAIT (max %d), TWOverflow +%ld",
	       tt_stack_name(st), NTW, tw, MAXTW, o1 - o0);
	EXPECT_EQ(MAXTW, tw);
	EXPECT_EQ(NTW - MAXTW, o1 - o0);
	TT_EXPECT_DELTA(&s0, &s1, "RetransSegs", ==, 0);
	TT_EXPECT_DELTA(&s0, &s1, "Timeouts", ==, 0);
	TT_EXPECT_DELTA(&s0, &s1, "InRsts", ==, 0);
}

#define NORPH	6
#define MAXORPH	2

/*
 * Orphans with a send queue the peer does not read: beyond
 * net.toytcp.max_orphans, close() resets the connection at once
 * (AbortOnMemory) instead of leaving one more orphan.  toytcp only
 * (Linux's tcp_max_orphans is not per namespace).
 */
TEST_F_TIMEOUT(nslimits, max_orphans_holds_beyond_it_reset, 60)
{
	struct tt_conn k[NORPH];
	long a0, a1, orphans;
	static char buf[65536];
	int i;

	if (variant->stack != TT_TOYTCP)
		SKIP(return, "Linux's tcp_max_orphans is global");
	ASSERT_EQ(0, tt_file_write_long("/proc/sys/net/toytcp/max_orphans",
					MAXORPH));
	a0 = tt_cnt_in(-1, TT_TOYTCP, "AbortOnMemory");
	ASSERT_LE(0, a0);
	for (i = 0; i < NORPH; i++) {
		ASSERT_EQ(0, tt_pair(&k[i], -1, TT_TOYTCP, NULL, 0, -1,
				     TT_TOYTCP, TT_LO, PORT + i));
		tt_set_nonblock(k[i].c, true);
		/* Fill the receiver's buffer and the sender's. */
		while (send(k[i].c, buf, sizeof(buf), MSG_DONTWAIT) > 0 ||
		       (errno == EAGAIN && tt_poll1(k[i].c, POLLOUT, 300) > 0))
			;
	}
	for (i = 0; i < NORPH; i++) {
		close(k[i].c);
		k[i].c = -1;
	}
	a1 = tt_cnt_in(-1, TT_TOYTCP, "AbortOnMemory");
	orphans = tt_cnt_in(-1, TT_TOYTCP, "Orphans");
	TH_LOG("%d senders closed with full queues: %ld orphans (max %d), AbortOnMemory +%ld",
	       NORPH, orphans, MAXORPH, a1 - a0);
	EXPECT_EQ(MAXORPH, orphans);
	EXPECT_EQ(NORPH - MAXORPH, a1 - a0);
	for (i = 0; i < NORPH; i++) {
		close(k[i].s);
		close(k[i].l);
	}
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
