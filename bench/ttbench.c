// SPDX-License-Identifier: GPL-2.0
/*
 * ttbench: one benchmark program for toytcp and for Linux TCP.
 *
 *   ttbench [OPTIONS] WORKLOAD
 *
 * The same code runs over either stack; --family picks socket(AF_TOYTCP,...)
 * or socket(AF_INET, ...), and that is the only difference.  The program
 * forks: the child is the server (optionally in another network namespace,
 * --server-ns), the parent the client (--client-ns).  Every run is bounded
 * by --timeout: when it expires the program prints "FAIL ... timeout" and
 * exits 3.  Any error prints "FAIL ..." and exits 2.
 *
 * Output, one line each, for scripts (bench/run.sh, scripts/guest-bench.sh):
 *
 *   METRIC <name> <unit> <higher|lower>     printed first: what will follow
 *   RESULT <name> <value> <unit> <higher|lower>
 *   INFO <text>                             details, for the log
 *   FAIL <text>                             what went wrong (after a
 *                                           timeout: both ends' sockets)
 *
 * <name> is --label (default: the workload) plus a suffix for workloads
 * that report more than one figure.
 *
 * Workloads (sizes take K, M, G suffixes, powers of 1024):
 *
 *   bulk      --bytes SIZE (per stream) --write SIZE --streams N
 *             client -> server; MB/s (10^6 bytes/s) over all streams, from
 *             the first byte written to the server's acknowledgment that it
 *             received everything
 *   pingpong  --rounds N --warmup N: 1-byte request, 1-byte response,
 *             round-trip time mean and 99th percentile in microseconds
 *   rr        --req SIZE --resp SIZE --duration S --count N:
 *             request/response transactions per second
 *   crr       --duration S --count N --server-closes: connect, 1-byte
 *             request, 1-byte response, close; connections per second.
 *             The client closes first, unless --server-closes: then the
 *             server closes after its response (HTTP/1.0, many RPC
 *             servers), the client after the server's FIN, and TIME-WAIT
 *             is the server's, which a client that reuses a port meets
 *             with its next SYN; also the slowest connect(), in ms
 *   scale     --conns N --rounds R: open N connections and keep them open;
 *             at N/10 connections 10 R rounds, at N connections R rounds of
 *             a 1-byte ping-pong on every connection (epoll on both sides,
 *             each round writes a byte on every connection, then collects
 *             every reply); microseconds per ping-pong, the rate at which
 *             the connections were opened, and kernel memory (Slab in
 *             /proc/meminfo) per connection (both ends, sockets, files and
 *             epoll entries) at N, measured from before the first connect
 *
 *   mem       --conns N --bytes SIZE: open N connections and measure the
 *             kernel memory (Slab) per connection, both ends, idle; then
 *             on each connection in turn the client sends SIZE bytes, the
 *             server reads them all and sends SIZE bytes back; measured
 *             again once every byte is read (the buffers have grown)
 *   hold      --conns N: no server; open N sockets of the family in the
 *             client's namespace (100 listeners, the rest connections, both
 *             ends), print "HOLDING", and keep them until killed (SIGTERM);
 *             they end with resets (SO_LINGER 0), leaving no TIME-WAIT
 *
 * TCP_NODELAY is set on both ends for pingpong, rr, crr and scale.
 * --verify checks the bulk data byte by byte at the server; --buf SIZE sets
 * SO_SNDBUF and SO_RCVBUF on every socket (default: the system's).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/toytcp.h"

#define KiB		1024UL
#define MiB		(1024UL * 1024)

static struct {
	int family;
	const char *fam_name;
	struct in_addr addr;
	int port;
	const char *server_ns;
	const char *client_ns;
	int timeout;
	const char *label;
	const char *workload;
	bool verify;
	/* bulk */
	size_t bytes;
	size_t wsize;
	int streams;
	/* pingpong */
	long rounds;
	long warmup;
	/* rr */
	size_t req;
	size_t resp;
	/* rr, crr */
	double duration;
	long count;
	/* crr */
	bool server_closes;
	/* scale */
	long conns;
	long scale_rounds;
	/* SO_SNDBUF and SO_RCVBUF on both ends, 0: the defaults */
	int buf;
} cfg = {
	.family = AF_TOYTCP,
	.fam_name = "toytcp",
	.port = 5201,
	.timeout = 300,
	.bytes = 256 * MiB,
	.wsize = 128 * KiB,
	.streams = 1,
	.rounds = 2000,
	.warmup = 100,
	.req = 4 * KiB,
	.resp = 64 * KiB,
	.duration = 5,
	.count = 0,
	.conns = 10000,
	.scale_rounds = 5,
};

static const char *role = "client";
static pid_t server_pid;

/* ---- helpers ------------------------------------------------------------ */

static void kill_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
}

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL %s %s %s: %s\n", cfg.label, cfg.fam_name, role, msg);
	fflush(stdout);
	if (server_pid > 0)
		kill(server_pid, SIGKILL);
	exit(2);
}

/* What the sockets looked like when the time ran out: both ends' socket
 * tables (/proc/net/toytcp or /proc/net/tcp, the first 8 KB), set up by
 * main() and written by on_alarm() with nothing but read() and write().
 */
static char dump_path[2][64];
static const char *dump_what[2] = { "client", "server" };

static void dump_sockets(void)
{
	char buf[8192], hdr[128];
	ssize_t n;
	int fd, len;

	for (int i = 0; i < 2; i++) {
		if (!dump_path[i][0])
			continue;
		fd = open(dump_path[i], O_RDONLY);
		if (fd < 0)
			continue;
		len = snprintf(hdr, sizeof(hdr), "---- at the timeout, %s side: %s\n",
			       dump_what[i], dump_path[i]);
		n = read(fd, buf, sizeof(buf));
		if (write(STDOUT_FILENO, hdr, len) < 0 ||
		    (n > 0 && write(STDOUT_FILENO, buf, n) < 0))
			n = 0;
		close(fd);
	}
}

static void on_alarm(int sig)
{
	char msg[256];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "FAIL %s %s %s: timeout after %d s\n",
		     cfg.label, cfg.fam_name, role, cfg.timeout);
	if (write(STDOUT_FILENO, msg, n) < 0)
		n = 0;
	if (server_pid > 0) {
		kill(server_pid, SIGSTOP);	/* hold its sockets for the dump */
		dump_sockets();
		kill(server_pid, SIGKILL);
	}
	_exit(3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void metric(const char *suffix, const char *unit, const char *better)
{
	printf("METRIC %s%s %s %s\n", cfg.label, suffix, unit, better);
	fflush(stdout);
}

static void result(const char *suffix, double v, const char *unit,
		   const char *better)
{
	printf("RESULT %s%s %.6g %s %s\n", cfg.label, suffix, v, unit, better);
	fflush(stdout);
}

static void info(const char *fmt, ...)
{
	va_list ap;

	printf("INFO %s %s: ", cfg.label, cfg.fam_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k':
	case 'K':
		v *= KiB;
		break;
	case 'm':
	case 'M':
		v *= MiB;
		break;
	case 'g':
	case 'G':
		v *= 1024.0 * MiB;
		break;
	case '\0':
		break;
	default:
		fprintf(stderr, "bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

static struct sockaddr_in server_sin(void)
{
	struct sockaddr_in sin = {
		.sin_family = cfg.family,
		.sin_port = htons(cfg.port),
		.sin_addr = cfg.addr,
	};
	return sin;
}

static void set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		fail("setsockopt(TCP_NODELAY): %s", strerror(errno));
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		fail("fcntl(O_NONBLOCK): %s", strerror(errno));
}

/* A socket of the stack under test, with --buf applied. */
static int new_socket(void)
{
	int fd = socket(cfg.family, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket(%s): %s", cfg.fam_name, strerror(errno));
	if (cfg.buf &&
	    (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg.buf, sizeof(cfg.buf)) ||
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg.buf, sizeof(cfg.buf))))
		fail("SO_SNDBUF/SO_RCVBUF %d: %s", cfg.buf, strerror(errno));
	return fd;
}

static int connect_server(bool nodelay)
{
	struct sockaddr_in sin = server_sin();
	int fd = new_socket();

	if (nodelay)
		set_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		fail("connect(%s:%d): %s", inet_ntoa(cfg.addr), cfg.port,
		     strerror(errno));
	return fd;
}

/* Read exactly @len bytes; false on EOF before that. */
static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read: %s", strerror(errno));
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static void write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("write: %s", strerror(errno));
		p += n;
		len -= n;
	}
}

/* Wait for EOF from the peer (discarding anything before it). */
static void drain_eof(int fd)
{
	char buf[256];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read (waiting for EOF): %s", strerror(errno));
	}
}

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (!name)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open(%s): %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0)
		fail("setns(%s): %s", name, strerror(errno));
	close(fd);
}

static void raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if ((long)rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if ((long)rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "ttbench: setrlimit(NOFILE, %ld): %s\n", want,
			strerror(errno));
}

/* Slab: in /proc/meminfo, in KiB. */
static long slab_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* /proc/slabinfo: bytes in each cache (num_objs * objsize). */
struct slab_cache {
	char name[64];
	long bytes;
};

static int slabinfo(struct slab_cache *c, int max)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		long active, num, size;

		if (sscanf(line, "%63s %ld %ld %ld", c[n].name, &active, &num,
			   &size) == 4) {
			c[n].bytes = num * size;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* INFO lines: the caches that grew most between @a and @b, per conn. */
static void slab_growth(struct slab_cache *a, int na, struct slab_cache *b,
			int nb, long conns)
{
	for (int shown = 0; shown < 8; shown++) {
		long best = 0, d;
		int bi = -1;

		for (int i = 0; i < nb; i++) {
			long before = 0;

			if (b[i].bytes < 0)
				continue;
			for (int j = 0; j < na; j++)
				if (!strcmp(a[j].name, b[i].name))
					before = a[j].bytes;
			d = b[i].bytes - before;
			if (d > best) {
				best = d;
				bi = i;
			}
		}
		if (bi < 0 || best < conns * 16)
			break;
		info("slab cache %-24s +%7.0f bytes per connection", b[bi].name,
		     (double)best / conns);
		b[bi].bytes = -1;	/* shown */
	}
}

static unsigned char pattern(size_t off)
{
	return (unsigned char)(off % 251);
}

/* ---- server ------------------------------------------------------------- */

/* What the server does with each connection. */
static void (*server_conn)(int fd);

static void *conn_thread(void *arg)
{
	long fd = (long)arg;

	server_conn((int)fd);
	close((int)fd);
	return NULL;
}

static void serve_bulk(int fd)
{
	size_t bufsz = cfg.wsize > 256 * KiB ? cfg.wsize : 256 * KiB;
	unsigned char *buf = malloc(bufsz);
	size_t got = 0;

	if (!buf)
		fail("out of memory");
	while (got < cfg.bytes) {
		size_t want = cfg.bytes - got < bufsz ? cfg.bytes - got : bufsz;
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read after %zu bytes: %s", got, strerror(errno));
		if (n == 0)
			fail("EOF after %zu of %zu bytes", got, cfg.bytes);
		if (cfg.verify)
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != pattern(got + i))
					fail("data corrupted at offset %zu: %#x, not %#x",
					     got + i, buf[i], pattern(got + i));
		got += n;
	}
	write_full(fd, "A", 1);
	drain_eof(fd);
	free(buf);
}

static void serve_echo1(int fd)
{
	char c;

	set_nodelay(fd);
	while (read_full(fd, &c, 1))
		write_full(fd, &c, 1);
}

static void serve_rr(int fd)
{
	char *req = malloc(cfg.req), *resp = malloc(cfg.resp);

	if (!req || !resp)
		fail("out of memory");
	memset(resp, 'r', cfg.resp);
	set_nodelay(fd);
	while (read_full(fd, req, cfg.req))
		write_full(fd, resp, cfg.resp);
	free(req);
	free(resp);
}

/*
 * crr --server-closes: the server closes right after its response, before
 * the client's FIN (HTTP/1.0, many RPC servers), so TIME-WAIT is the
 * server's; without it the server waits for the client's FIN.
 */
static void crr_server_close(int fd)
{
	if (!cfg.server_closes)
		drain_eof(fd);
}

/* The client's side of it: the server's FIN first, then close(). */
static void crr_client_close(int fd, long n)
{
	char c;

	if (cfg.server_closes && read_full(fd, &c, 1))
		fail("crr: data instead of the server's FIN (connection %ld)", n);
	close(fd);
}

/* connect() for crr, keeping the slowest in @worst (seconds). */
static int crr_connect(double *worst)
{
	double t0 = now();
	int fd = connect_server(true);

	if (now() - t0 > *worst)
		*worst = now() - t0;
	return fd;
}

static void serve_crr(int fd)
{
	char c;

	set_nodelay(fd);
	if (!read_full(fd, &c, 1))
		fail("crr: EOF before the request");
	write_full(fd, &c, 1);
	crr_server_close(fd);
}

/* Thread-per-connection accept loop, until killed. */
static void server_threads(int lfd)
{
	for (;;) {
		pthread_t t;
		long fd = accept(lfd, NULL, NULL);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			fail("accept: %s", strerror(errno));
		if (pthread_create(&t, NULL, conn_thread, (void *)fd))
			fail("pthread_create failed");
		pthread_detach(t);
	}
}

/* CRR: one connection after the other in a single thread. */
static void server_serial(int lfd)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			fail("accept: %s", strerror(errno));
		server_conn(fd);
		close(fd);
	}
}

/* scale: one thread, epoll, echo whatever arrives. */
static void server_epoll(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[512];
	int ep = epoll_create1(0);

	if (ep < 0)
		fail("epoll_create1: %s", strerror(errno));
	set_nonblock(lfd);
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		fail("epoll_ctl(listener): %s", strerror(errno));
	for (;;) {
		int n = epoll_wait(ep, evs, 512, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[64];
			ssize_t r;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					set_nodelay(c);
					ev.events = EPOLLIN;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
						fail("epoll_ctl: %s", strerror(errno));
				}
				if (errno != EAGAIN && errno != EINTR &&
				    errno != ECONNABORTED)
					fail("accept4: %s", strerror(errno));
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {	/* EOF or reset: the client is done */
				close(fd);
				continue;
			}
			if (write(fd, buf, r) != r)
				fail("scale: echo write: %s",
				     strerror(errno));
		}
	}
}

/*
 * mem: one thread, epoll; per connection, read cfg.bytes (checked with
 * --verify), then send cfg.bytes back, then wait for the client's EOF.
 */
struct mem_conn {
	size_t got, sent;
};

static void server_mem(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	long maxfd = cfg.conns + 1024;
	struct mem_conn *mc = calloc(maxfd, sizeof(*mc));
	unsigned char *buf = malloc(64 * KiB);
	int ep = epoll_create1(0);

	if (!mc || !buf || ep < 0)
		fail("mem server: out of memory or epoll_create1");
	set_nonblock(lfd);
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		fail("epoll_ctl(listener): %s", strerror(errno));
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;
			struct mem_conn *m;
			ssize_t r;

			if (fd == lfd) {
				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					if (c >= maxfd)
						fail("mem: fd %d out of range", c);
					mc[c] = (struct mem_conn){ 0 };
					ev.events = EPOLLIN;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
						fail("epoll_ctl: %s", strerror(errno));
				}
				continue;
			}
			m = &mc[fd];
			if (m->got < cfg.bytes || m->sent == cfg.bytes) {
				r = read(fd, buf, 64 * KiB);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r <= 0) {
					if (m->got && m->got < cfg.bytes)
						fail("mem: EOF after %zu of %zu bytes",
						     m->got, cfg.bytes);
					close(fd);
					continue;
				}
				if (m->got + r > cfg.bytes)
					fail("mem: more than %zu bytes", cfg.bytes);
				if (cfg.verify)
					for (ssize_t j = 0; j < r; j++)
						if (buf[j] != pattern(m->got + j))
							fail("mem: data corrupted at offset %zu",
							     m->got + j);
				m->got += r;
				if (m->got < cfg.bytes)
					continue;
				ev.events = EPOLLOUT;
				ev.data.fd = fd;
				if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev))
					fail("epoll_ctl: %s", strerror(errno));
			}
			while (m->sent < cfg.bytes) {
				size_t off = m->sent % (64 * KiB);
				size_t want = 64 * KiB - off;

				if (want > cfg.bytes - m->sent)
					want = cfg.bytes - m->sent;
				for (size_t j = 0; j < want; j++)
					buf[j] = pattern(m->sent + j);
				r = write(fd, buf, want);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (r < 0)
					fail("mem: write: %s", strerror(errno));
				m->sent += r;
			}
			if (m->sent == cfg.bytes) {
				ev.events = EPOLLIN;
				ev.data.fd = fd;
				if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev))
					fail("epoll_ctl: %s", strerror(errno));
			}
		}
	}
}

static int make_listener(void)
{
	struct sockaddr_in sin = server_sin();
	int one = 1, fd = new_socket();

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		fail("bind(%s:%d): %s", inet_ntoa(cfg.addr), cfg.port,
		     strerror(errno));
	if (listen(fd, 65535))
		fail("listen: %s", strerror(errno));
	return fd;
}

static void run_server(int ready_fd)
{
	int lfd;

	role = "server";
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(cfg.timeout + 10);
	enter_netns(cfg.server_ns);
	lfd = make_listener();
	if (write(ready_fd, "R", 1) != 1)
		exit(2);
	close(ready_fd);

	if (!strcmp(cfg.workload, "bulk")) {
		server_conn = serve_bulk;
		server_threads(lfd);
	} else if (!strcmp(cfg.workload, "pingpong")) {
		server_conn = serve_echo1;
		server_threads(lfd);
	} else if (!strcmp(cfg.workload, "rr")) {
		server_conn = serve_rr;
		server_threads(lfd);
	} else if (!strcmp(cfg.workload, "crr")) {
		server_conn = serve_crr;
		server_serial(lfd);
	} else if (!strcmp(cfg.workload, "scale")) {
		server_epoll(lfd);
	} else if (!strcmp(cfg.workload, "mem")) {
		server_mem(lfd);
	}
	exit(0);
}

/* ---- client ------------------------------------------------------------- */

struct stream {
	pthread_t thread;
	pthread_barrier_t *barrier;
	int fd;
	double t0, t1;
};

static void *bulk_stream(void *arg)
{
	struct stream *s = arg;
	unsigned char *buf = malloc(cfg.wsize);
	size_t sent = 0;
	char ack;

	if (!buf)
		fail("out of memory");
	memset(buf, 'b', cfg.wsize);
	pthread_barrier_wait(s->barrier);
	s->t0 = now();
	while (sent < cfg.bytes) {
		size_t len = cfg.bytes - sent < cfg.wsize ? cfg.bytes - sent : cfg.wsize;

		if (cfg.verify)
			for (size_t i = 0; i < len; i++)
				buf[i] = pattern(sent + i);
		write_full(s->fd, buf, len);
		sent += len;
	}
	if (!read_full(s->fd, &ack, 1))
		fail("bulk: EOF instead of the server's acknowledgment");
	s->t1 = now();
	free(buf);
	return NULL;
}

static void client_bulk(void)
{
	struct stream *st = calloc(cfg.streams, sizeof(*st));
	pthread_barrier_t barrier;
	double t0 = 1e300, t1 = 0, secs, total;

	metric("", "MB/s", "higher");
	if (!st)
		fail("out of memory");
	pthread_barrier_init(&barrier, NULL, cfg.streams);
	for (int i = 0; i < cfg.streams; i++) {
		st[i].fd = connect_server(false);
		st[i].barrier = &barrier;
	}
	for (int i = 0; i < cfg.streams; i++)
		if (pthread_create(&st[i].thread, NULL, bulk_stream, &st[i]))
			fail("pthread_create failed");
	for (int i = 0; i < cfg.streams; i++) {
		pthread_join(st[i].thread, NULL);
		if (st[i].t0 < t0)
			t0 = st[i].t0;
		if (st[i].t1 > t1)
			t1 = st[i].t1;
		info("stream %d: %.1f MB/s", i,
		     cfg.bytes / (st[i].t1 - st[i].t0) / 1e6);
		close(st[i].fd);
	}
	secs = t1 - t0;
	total = (double)cfg.bytes * cfg.streams;
	info("%d stream(s) x %zu bytes in %.3f s, %zu-byte writes",
	     cfg.streams, cfg.bytes, secs, cfg.wsize);
	result("", total / secs / 1e6, "MB/s", "higher");
	free(st);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void client_pingpong(void)
{
	double *lat = calloc(cfg.rounds, sizeof(double)), sum = 0, t, p99;
	long slow = 0;
	int fd;

	metric("_mean", "us", "lower");
	metric("_p99", "us", "lower");
	if (!lat)
		fail("out of memory");
	fd = connect_server(true);
	for (long i = 0; i < cfg.warmup + cfg.rounds; i++) {
		char c = (char)i, r;

		t = now();
		write_full(fd, &c, 1);
		if (!read_full(fd, &r, 1))
			fail("pingpong: EOF after %ld rounds", i);
		if (r != c)
			fail("pingpong: got %#x back, sent %#x", r, c);
		if (i >= cfg.warmup)
			lat[i - cfg.warmup] = (now() - t) * 1e6;
	}
	close(fd);
	for (long i = 0; i < cfg.rounds; i++)
		sum += lat[i];
	qsort(lat, cfg.rounds, sizeof(double), cmp_double);
	info("%ld round trips: min %.1f us, median %.1f us, max %.1f us",
	     cfg.rounds, lat[0], lat[cfg.rounds / 2], lat[cfg.rounds - 1]);
	for (long i = 0; i < cfg.rounds; i++)
		if (lat[i] > 1000)
			slow++;
	p99 = lat[(long)((cfg.rounds - 1) * 0.99)];
	info("p90 %.1f us, p99 %.1f us; %ld round trips over 1 ms",
	     lat[(long)((cfg.rounds - 1) * 0.9)], p99, slow);
	result("_mean", sum / cfg.rounds, "us", "lower");
	result("_p99", p99, "us", "lower");
	free(lat);
}

static bool keep_going(long done, double t0)
{
	if (cfg.count && done >= cfg.count)
		return false;
	if (cfg.duration > 0 && now() - t0 >= cfg.duration)
		return false;
	return true;
}

static void client_rr(void)
{
	char *req = malloc(cfg.req), *resp = malloc(cfg.resp);
	double t0, secs;
	long n = 0;
	int fd;

	metric("", "tx/s", "higher");
	if (!req || !resp)
		fail("out of memory");
	memset(req, 'q', cfg.req);
	fd = connect_server(true);
	/* One transaction outside the clock: connection warm-up. */
	write_full(fd, req, cfg.req);
	if (!read_full(fd, resp, cfg.resp))
		fail("rr: EOF");
	t0 = now();
	while (keep_going(n, t0)) {
		write_full(fd, req, cfg.req);
		if (!read_full(fd, resp, cfg.resp))
			fail("rr: EOF after %ld transactions", n);
		n++;
	}
	secs = now() - t0;
	close(fd);
	info("%ld transactions of %zu/%zu bytes in %.3f s", n, cfg.req,
	     cfg.resp, secs);
	result("", n / secs, "tx/s", "higher");
	free(req);
	free(resp);
}

static void client_crr(void)
{
	double t0, secs, worst = 0;
	long n = 0;

	metric("", "conn/s", "higher");
	if (cfg.server_closes)
		metric("_worst", "ms", "lower");
	t0 = now();
	while (keep_going(n, t0)) {
		int fd = crr_connect(&worst);
		char c = 'c';

		write_full(fd, &c, 1);
		if (!read_full(fd, &c, 1))
			fail("crr: EOF instead of the response (connection %ld)", n);
		crr_client_close(fd, n);
		n++;
	}
	secs = now() - t0;
	info("%ld connections in %.3f s, %s closing first; slowest connect() %.1f ms",
	     n, secs, cfg.server_closes ? "the server" : "the client",
	     worst * 1000);
	result("", n / secs, "conn/s", "higher");
	if (cfg.server_closes)
		result("_worst", worst * 1000, "ms", "lower");
}

/* One round: a byte on each of @n connections, then collect @n replies. */
static void scale_round(int ep, const int *fds, long n)
{
	struct epoll_event evs[512];
	long got = 0;
	char c = 's';

	for (long i = 0; i < n; i++) {
		ssize_t w = write(fds[i], &c, 1);

		if (w != 1)
			fail("scale: write on connection %ld: %s", i,
			     w < 0 ? strerror(errno) : "short");
	}
	while (got < n) {
		int k = epoll_wait(ep, evs, 512, 10000);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail("scale: epoll_wait: %s", strerror(errno));
		if (k == 0)
			fail("scale: no reply for 10 s (%ld of %ld replies)",
			     got, n);
		for (int i = 0; i < k; i++) {
			char buf[64];
			ssize_t r = read(evs[i].data.fd, buf, sizeof(buf));

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0)
				fail("scale: read: %s",
				     r < 0 ? strerror(errno) : "EOF");
			got += r;
		}
	}
}

static void client_scale(void)
{
	long n_small = cfg.conns / 10 ? cfg.conns / 10 : 1, nconn = 0;
	long steps[2] = { n_small, cfg.conns };
	const char *sfx[2] = { "_us_n10", "_us_n" };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int *fds = calloc(cfg.conns, sizeof(int)), ep;
	static struct slab_cache slab0c[512], slab1c[512];
	int nslab0, nslab1;
	long slab0, slab1;
	double per_op[2], t_connect = 0;
	long rounds;

	metric("_us_n10", "us/op", "lower");
	metric("_us_n", "us/op", "lower");
	metric("_mem", "KB/conn", "lower");
	metric("_connect", "conn/s", "higher");
	if (!fds)
		fail("out of memory");
	ep = epoll_create1(0);
	if (ep < 0)
		fail("epoll_create1: %s", strerror(errno));
	sleep(1);
	nslab0 = slabinfo(slab0c, 512);
	slab0 = slab_kb();
	for (int s = 0; s < 2; s++) {
		double t0 = now(), t1;
		long first = nconn;

		while (nconn < steps[s]) {
			struct epoll_event ev = { .events = EPOLLIN };
			int fd = connect_server(true);

			set_nonblock(fd);
			ev.data.fd = fd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
				fail("epoll_ctl: %s", strerror(errno));
			fds[nconn++] = fd;
		}
		t1 = now();
		info("opened connections %ld..%ld in %.3f s (%.0f/s)", first,
		     nconn, t1 - t0, (nconn - first) / (t1 - t0));
		t_connect += t1 - t0;
		if (s == 1)
			result("_connect", nconn / t_connect, "conn/s", "higher");
		/* A round outside the clock: the server has accepted all. */
		scale_round(ep, fds, nconn);
		/* As many ping-pongs at N/10 as at N: R * N in all. */
		rounds = cfg.scale_rounds * (cfg.conns / nconn);
		t0 = now();
		for (long r = 0; r < rounds; r++)
			scale_round(ep, fds, nconn);
		t1 = now();
		per_op[s] = (t1 - t0) * 1e6 / (rounds * nconn);
		info("%ld connections: %ld rounds in %.3f s, %.2f us per ping-pong",
		     nconn, rounds, t1 - t0, per_op[s]);
		result(sfx[s], per_op[s], "us/op", "lower");
	}
	slab1 = slab_kb();
	nslab1 = slabinfo(slab1c, 512);
	info("Slab %ld kB before, %ld kB with %ld connections", slab0, slab1,
	     nconn);
	slab_growth(slab0c, nslab0, slab1c, nslab1, nconn);
	info("us/op growth from %ld to %ld connections: x%.2f", n_small,
	     nconn, per_op[1] / per_op[0]);
	result("_mem", (double)(slab1 - slab0) / nconn, "KB/conn", "lower");
	/* Abort rather than close: no TIME-WAIT left behind for later runs. */
	for (long i = 0; i < nconn; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fds[i]);
	}
	close(ep);
	free(fds);
}

/* Kernel memory in use, kB: Slab, and MemTotal - MemAvailable. */
static void mem_kb(long *slab, long *used)
{
	char line[256];
	long total = 0, avail = 0, v;
	FILE *f = fopen("/proc/meminfo", "r");

	*slab = *used = 0;
	if (!f)
		fail("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Slab: %ld", &v) == 1)
			*slab = v;
		else if (sscanf(line, "MemTotal: %ld", &v) == 1)
			total = v;
		else if (sscanf(line, "MemAvailable: %ld", &v) == 1)
			avail = v;
	}
	fclose(f);
	*used = total - avail;
}

/* mem: memory per connection, idle and after a cfg.bytes exchange. */
static void client_mem(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int *fds = calloc(cfg.conns, sizeof(int));
	unsigned char *buf = malloc(64 * KiB);
	long slab0, slab1, slab2, used0, used1, used2;
	static struct slab_cache c0[512], c1[512], c2[512];
	int n0, n1, n2;

	metric("_idle", "KB/conn", "lower");
	metric("_1m", "KB/conn", "lower");
	if (!fds || !buf)
		fail("out of memory");
	sleep(1);
	n0 = slabinfo(c0, 512);
	mem_kb(&slab0, &used0);
	for (long i = 0; i < cfg.conns; i++)
		fds[i] = connect_server(false);
	sleep(1);	/* the server has accepted them all */
	mem_kb(&slab1, &used1);
	n1 = slabinfo(c1, 512);
	info("idle: Slab %ld -> %ld kB, MemTotal-MemAvailable %ld -> %ld kB, %ld connections",
	     slab0, slab1, used0, used1, cfg.conns);
	slab_growth(c0, n0, c1, n1, cfg.conns);
	result("_idle", (double)(slab1 - slab0) / cfg.conns, "KB/conn",
	       "lower");
	for (long i = 0; i < cfg.conns; i++) {
		size_t sent = 0, got = 0;

		while (sent < cfg.bytes) {
			size_t want = cfg.bytes - sent < 64 * KiB ?
				      cfg.bytes - sent : 64 * KiB;

			for (size_t j = 0; j < want; j++)
				buf[j] = pattern(sent + j);
			write_full(fds[i], buf, want);
			sent += want;
		}
		while (got < cfg.bytes) {
			size_t want = cfg.bytes - got < 64 * KiB ?
				      cfg.bytes - got : 64 * KiB;
			ssize_t r = read(fds[i], buf, want);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				fail("mem: connection %ld: %s after %zu bytes", i,
				     r ? strerror(errno) : "EOF", got);
			for (ssize_t j = 0; j < r; j++)
				if (buf[j] != pattern(got + j))
					fail("mem: connection %ld: data corrupted at offset %zu",
					     i, got + j);
			got += r;
		}
	}
	sleep(1);	/* the last ACKs, and the server's reads */
	mem_kb(&slab2, &used2);
	n2 = slabinfo(c2, 512);
	info("after %zu bytes each way: Slab %ld kB, MemTotal-MemAvailable %ld kB (%.1f KB/conn over idle)",
	     cfg.bytes, slab2, used2, (double)(used2 - used0) / cfg.conns);
	slab_growth(c0, n0, c2, n2, cfg.conns);
	result("_1m", (double)(slab2 - slab0) / cfg.conns, "KB/conn", "lower");
	for (long i = 0; i < cfg.conns; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fds[i]);
	}
	free(fds);
	free(buf);
}

/*
 * hold: cfg.conns sockets of the family held open (the host-cost rows):
 * 100 listeners on cfg.port and up, and connections to them, both ends
 * counted, until SIGTERM.  No fork: everything in this process.
 */
#define HOLD_LISTENERS	100

static void hold_sockets(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	long nl = cfg.conns < 2 * HOLD_LISTENERS ? 1 : HOLD_LISTENERS;
	long nc = (cfg.conns - nl) / 2, held = 0;
	int *lfd = calloc(nl, sizeof(int));
	int base = cfg.port;

	if (!lfd)
		fail("out of memory");
	enter_netns(cfg.client_ns);
	for (long i = 0; i < nl; i++) {
		cfg.port = base + i;
		lfd[i] = make_listener();
		setsockopt(lfd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		held++;
	}
	for (long i = 0; i < nc; i++) {
		int c, a;

		cfg.port = base + i % nl;
		c = connect_server(false);
		a = accept(lfd[i % nl], NULL, NULL);
		if (a < 0)
			fail("hold: accept: %s", strerror(errno));
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		held += 2;
	}
	info("holding %ld sockets: %ld listeners, %ld connections", held, nl,
	     nc);
	printf("HOLDING %ld\n", held);
	fflush(stdout);
	alarm(0);
	for (;;)
		pause();
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: ttbench [--family toytcp|inet] [--addr IP] [--port N]\n"
"               [--server-ns NS] [--client-ns NS] [--timeout S] [--label L]\n"
"               [--verify] [--buf SIZE] WORKLOAD [WORKLOAD OPTIONS]\n"
"workloads:\n"
"  bulk      [--bytes SIZE] [--write SIZE] [--streams N]\n"
"  pingpong  [--rounds N] [--warmup N]\n"
"  rr        [--req SIZE] [--resp SIZE] [--duration S] [--count N]\n"
"  crr       [--duration S] [--count N] [--server-closes]\n"
"  scale     [--conns N] [--rounds N]\n"
"  mem       [--conns N] [--bytes SIZE]\n"
"  hold      [--conns N]\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", 1, NULL, 'f' }, { "addr", 1, NULL, 'a' },
		{ "port", 1, NULL, 'p' }, { "server-ns", 1, NULL, 'S' },
		{ "client-ns", 1, NULL, 'C' }, { "timeout", 1, NULL, 't' },
		{ "label", 1, NULL, 'l' }, { "verify", 0, NULL, 'V' },
		{ "bytes", 1, NULL, 'b' }, { "write", 1, NULL, 'w' },
		{ "streams", 1, NULL, 's' }, { "rounds", 1, NULL, 'r' },
		{ "warmup", 1, NULL, 'W' }, { "req", 1, NULL, 'q' },
		{ "resp", 1, NULL, 'R' }, { "duration", 1, NULL, 'd' },
		{ "count", 1, NULL, 'n' }, { "conns", 1, NULL, 'c' },
		{ "buf", 1, NULL, 'B' }, { "server-closes", 0, NULL, 'X' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int pipefd[2], opt;
	struct sigaction sa = { .sa_handler = on_alarm };
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	inet_pton(AF_INET, "127.0.0.1", &cfg.addr);
	/* GNU getopt: options may come before or after the workload. */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "toytcp")) {
				cfg.family = AF_TOYTCP;
			} else if (!strcmp(optarg, "inet") ||
				   !strcmp(optarg, "linux")) {
				cfg.family = AF_INET;
				optarg = "linux";
			} else {
				usage(2);
			}
			cfg.fam_name = optarg;
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &cfg.addr) != 1)
				usage(2);
			break;
		case 'p':
			cfg.port = atoi(optarg);
			break;
		case 'S':
			cfg.server_ns = optarg;
			break;
		case 'C':
			cfg.client_ns = optarg;
			break;
		case 't':
			cfg.timeout = atoi(optarg);
			break;
		case 'l':
			cfg.label = optarg;
			break;
		case 'V':
			cfg.verify = true;
			break;
		case 'b':
			cfg.bytes = parse_size(optarg);
			break;
		case 'w':
			cfg.wsize = parse_size(optarg);
			break;
		case 's':
			cfg.streams = atoi(optarg);
			break;
		case 'r':
			cfg.rounds = atol(optarg);
			cfg.scale_rounds = cfg.rounds;
			break;
		case 'W':
			cfg.warmup = atol(optarg);
			break;
		case 'q':
			cfg.req = parse_size(optarg);
			break;
		case 'R':
			cfg.resp = parse_size(optarg);
			break;
		case 'd':
			cfg.duration = atof(optarg);
			break;
		case 'n':
			cfg.count = atol(optarg);
			break;
		case 'c':
			cfg.conns = atol(optarg);
			break;
		case 'B':
			cfg.buf = (int)parse_size(optarg);
			break;
		case 'X':
			cfg.server_closes = true;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc - 1)
		usage(2);
	cfg.workload = argv[optind];
	if (strcmp(cfg.workload, "bulk") && strcmp(cfg.workload, "pingpong") &&
	    strcmp(cfg.workload, "rr") && strcmp(cfg.workload, "crr") &&
	    strcmp(cfg.workload, "scale") && strcmp(cfg.workload, "mem") &&
	    strcmp(cfg.workload, "hold"))
		usage(2);
	if (!cfg.label)
		cfg.label = cfg.workload;
	if (cfg.streams < 1 || cfg.rounds < 1 || cfg.conns < 1 ||
	    cfg.wsize < 1 || cfg.req < 1 || cfg.resp < 1 || cfg.bytes < 1)
		usage(2);

	signal(SIGPIPE, SIG_IGN);
	raise_nofile(cfg.conns + 1024);
	sigaction(SIGALRM, &sa, NULL);
	alarm(cfg.timeout);
	if (!strcmp(cfg.workload, "hold"))
		hold_sockets();

	if (pipe(pipefd))
		fail("pipe: %s", strerror(errno));
	server_pid = fork();
	if (server_pid < 0)
		fail("fork: %s", strerror(errno));
	if (server_pid == 0) {
		server_pid = -1;
		close(pipefd[0]);
		run_server(pipefd[1]);
	}
	close(pipefd[1]);
	enter_netns(cfg.client_ns);
	snprintf(dump_path[0], sizeof(dump_path[0]), "/proc/self/net/%s",
		 cfg.family == AF_TOYTCP ? "toytcp" : "tcp");
	snprintf(dump_path[1], sizeof(dump_path[1]), "/proc/%d/net/%s",
		 (int)server_pid, cfg.family == AF_TOYTCP ? "toytcp" : "tcp");
	if (read(pipefd[0], &c, 1) != 1)
		fail("the server did not start (see its message above)");
	close(pipefd[0]);
	info("%s over %s to %s:%d", cfg.workload,
	     cfg.family == AF_TOYTCP ? "toytcp (AF_TOYTCP)" : "Linux TCP (AF_INET)",
	     inet_ntoa(cfg.addr), cfg.port);

	if (!strcmp(cfg.workload, "bulk"))
		client_bulk();
	else if (!strcmp(cfg.workload, "pingpong"))
		client_pingpong();
	else if (!strcmp(cfg.workload, "rr"))
		client_rr();
	else if (!strcmp(cfg.workload, "crr"))
		client_crr();
	else if (!strcmp(cfg.workload, "mem"))
		client_mem();
	else
		client_scale();

	alarm(0);
	kill_server();
	return 0;
}
