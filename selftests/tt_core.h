/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every test uses: the two stacks, addresses, a socket's names and
 * state numbers, time, poll, sends and receives with a time limit, the
 * shell, module parameters and sysctls, and entering a network namespace.
 *
 * The stacks.  A test runs over toytcp (AF_TOYTCP) or over Linux TCP
 * (AF_INET), named by enum tt_stack.  Which one is the test's variant
 * (tt_linux.h says how variants are named); nothing here reads the
 * environment.  Addresses are struct sockaddr_in with the stack's family.
 */
#ifndef TT_CORE_H
#define TT_CORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <linux/toytcp.h>

#include "kselftest_harness.h"

#define TT_UNUSED __attribute__((unused))

/*
 * Mark the running case failed, and ask whether it is, with the harness of
 * 6.1 (a "passed" flag) or of 6.10 and later (an exit code; those harnesses
 * are the ones with XFAIL_ADD).
 */
#ifdef XFAIL_ADD
#define TT_SET_FAILED(m) ((m)->exit_code = KSFT_FAIL)
#define TT_FAILED(m) ((m)->exit_code == KSFT_FAIL)
#else
#define TT_SET_FAILED(m) ((m)->passed = 0)
#define TT_FAILED(m) (!(m)->passed)
#endif
#define TT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif
#ifndef ETH_P_ALL
#define ETH_P_ALL 0x0003
#endif

/* ------------------------------------------------------------------ */
/* The two stacks                                                      */

enum tt_stack {
	TT_TOYTCP,	/* the module: AF_TOYTCP */
	TT_LINUX,	/* Linux TCP in the same boot: AF_INET */
};

static TT_UNUSED int tt_family(enum tt_stack s)
{
	return s == TT_LINUX ? AF_INET : AF_TOYTCP;
}

static TT_UNUSED const char *tt_stack_name(enum tt_stack s)
{
	return s == TT_LINUX ? "linux" : "toytcp";
}

static TT_UNUSED int tt_socket(enum tt_stack s)
{
	return socket(tt_family(s), SOCK_STREAM, 0);
}

/* ------------------------------------------------------------------ */
/* States                                                              */

/* Linux TCP state numbers, as /proc/net/{tcp,toytcp} and the tracepoints
 * give them.
 */
enum {
	TT_GONE = 0,		/* not listed, or listed as CLOSE */
	TT_ESTABLISHED = 1,
	TT_SYN_SENT,
	TT_SYN_RECV,
	TT_FIN_WAIT1,
	TT_FIN_WAIT2,
	TT_TIME_WAIT,
	TT_CLOSE,
	TT_CLOSE_WAIT,
	TT_LAST_ACK,
	TT_LISTEN,
	TT_CLOSING,
	TT_NSTATES
};

static const char *const tt_state_names[TT_NSTATES] TT_UNUSED = {
	"GONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
	"LISTEN", "CLOSING",
};

static TT_UNUSED const char *tt_state_name(int st)
{
	if (st >= 0 && st < TT_NSTATES)
		return tt_state_names[st];
	return st < 0 ? "READ-ERROR" : "?";
}

/* The number of a state name as the tracepoints print it, -1 if none. */
static TT_UNUSED int tt_state_num(const char *name, size_t len)
{
	int i;

	for (i = 1; i < TT_NSTATES; i++)
		if (strlen(tt_state_names[i]) == len &&
		    !strncmp(tt_state_names[i], name, len))
			return i;
	/* Linux's inet_sock_set_state spells them TCP_... */
	if (len > 4 && !strncmp(name, "TCP_", 4))
		return tt_state_num(name + 4, len - 4);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Addresses, names, time                                              */

static TT_UNUSED struct sockaddr_in tt_sin(int fam, const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = fam;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

#define TT_SA(p) ((struct sockaddr *)(p))

static TT_UNUSED long long tt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * TOYTCP_TIME_SCALE (run_tests.sh; make check-debug sets 4): how many
 * times slower than usual the kernel under test runs.  Only for limits
 * that are pure time limits, never for the timing a test judges.
 */
static TT_UNUSED int tt_time_scale(void)
{
	const char *e = getenv("TOYTCP_TIME_SCALE");
	int s = e ? atoi(e) : 1;

	return s > 1 ? s : 1;
}

static TT_UNUSED void tt_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static TT_UNUSED unsigned long tt_ino(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_ino;
}

static TT_UNUSED int tt_sockname(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);

	memset(a, 0, sizeof(*a));
	return getsockname(fd, TT_SA(a), &len);
}

static TT_UNUSED int tt_peername(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);

	memset(a, 0, sizeof(*a));
	return getpeername(fd, TT_SA(a), &len);
}

static TT_UNUSED int tt_so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

static TT_UNUSED int tt_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

static TT_UNUSED int tt_setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

/* An int option's value, or -100000 - errno. */
static TT_UNUSED int tt_getint(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v = -12345;

	if (getsockopt(fd, level, opt, &v, &len))
		return -errno - 100000;
	return v;
}

/* SIOCINQ / SIOCOUTQ, -1 on error. */
static TT_UNUSED int tt_inq(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCINQ, &v))
		return -1;
	return v;
}

static TT_UNUSED int tt_outq(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCOUTQ, &v))
		return -1;
	return v;
}

/* poll() one fd; returns revents, 0 on timeout, -1 on error. */
static TT_UNUSED int tt_poll1(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r;
	return p.revents;
}

/* recv with a timeout: returns bytes, 0 at EOF, -1 with errno (ETIMEDOUT). */
static TT_UNUSED ssize_t tt_recv_to(int fd, void *buf, size_t len,
				    int timeout_ms)
{
	int rev = tt_poll1(fd, POLLIN, timeout_ms);

	if (rev == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rev < 0)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* Receive exactly len bytes (or fail): returns len, or -1/short count. */
static TT_UNUSED ssize_t tt_recv_all(int fd, void *buf, size_t len,
				     int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = tt_recv_to(fd, (char *)buf + got, len - got,
				       timeout_ms);

		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			return got ? (ssize_t)got : n;
		got += n;
	}
	return got;
}

static TT_UNUSED ssize_t tt_send_all(int fd, const void *buf, size_t len,
				     int timeout_ms)
{
	size_t done = 0;

	while (done < len) {
		int rev = tt_poll1(fd, POLLOUT, timeout_ms);
		ssize_t n;

		if (rev == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rev < 0)
			return -1;
		n = send(fd, (const char *)buf + done, len - done,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			return -1;
		done += n;
	}
	return done;
}

/* ------------------------------------------------------------------ */
/* Entering a network namespace                                        */

/*
 * Switch the calling thread to net namespace nsfd (-1: stay).  Returns a
 * handle for tt_ns_leave().  States and counters are always read through
 * /proc/thread-self/net, so a thread in a namespace sees that one's.
 */
static TT_UNUSED int tt_ns_enter(int nsfd)
{
	int old;

	if (nsfd < 0)
		return -1;
	old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (old < 0)
		return -1;
	if (setns(nsfd, CLONE_NEWNET)) {
		close(old);
		return -1;
	}
	return old;
}

static TT_UNUSED void tt_ns_leave(int old)
{
	if (old < 0)
		return;
	if (setns(old, CLONE_NEWNET))
		perror("setns back");
	close(old);
}

/* Evaluate expr with the calling thread in namespace nsfd. */
#define TT_IN_NS(nsfd, expr) ({				\
	int __tt_old = tt_ns_enter(nsfd);		\
	__typeof__(expr) __tt_v = (expr);		\
	tt_ns_leave(__tt_old);				\
	__tt_v;						\
})

static TT_UNUSED int tt_socket_in(int nsfd, enum tt_stack s)
{
	return TT_IN_NS(nsfd, tt_socket(s));
}

/* Is the running kernel older than maj.min? */
static TT_UNUSED bool tt_kernel_before(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a < maj || (a == maj && b < min));
}

/* ------------------------------------------------------------------ */
/* The shell, module parameters, sysctls                               */

static TT_UNUSED int tt_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	r = system(cmd);
	if (r == -1 || !WIFEXITED(r))
		return -1;
	return WEXITSTATUS(r);
}

/* Run a shell command with the calling thread in namespace nsfd. */
#define tt_sh_in(nsfd, ...) TT_IN_NS(nsfd, tt_sh(__VA_ARGS__))

/* A number from a file (a sysctl, a module parameter); err if unreadable. */
static TT_UNUSED long tt_file_long(const char *path, long err)
{
	long v = err;
	FILE *f = fopen(path, "r");

	if (!f)
		return err;
	if (fscanf(f, "%ld", &v) != 1)
		v = err;
	fclose(f);
	return v;
}

/* Write a number to a file: 0, or -1 with errno (EINVAL: out of range). */
static TT_UNUSED int tt_file_write_long(const char *path, long v)
{
	char buf[32];
	int fd, n, r, e;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", v);
	r = write(fd, buf, n) == n ? 0 : -1;
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static TT_UNUSED long tt_param_get(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "/sys/module/toytcp/parameters/%s", name);
	return tt_file_long(p, -1);
}

static TT_UNUSED int tt_param_set(const char *name, long v)
{
	char p[256];

	snprintf(p, sizeof(p), "/sys/module/toytcp/parameters/%s", name);
	return tt_file_write_long(p, v);
}

/* A sysctl under /proc/sys/net/ of the calling thread's namespace, by
 * its path below net/ ("toytcp/tw_timeout_ms", "ipv4/tcp_retries2").
 */
static TT_UNUSED long tt_sysctl_get(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "/proc/sys/net/%s", name);
	return tt_file_long(p, -1000);
}

static TT_UNUSED int tt_sysctl_set(const char *name, long v)
{
	char p[256];

	snprintf(p, sizeof(p), "/proc/sys/net/%s", name);
	return tt_file_write_long(p, v);
}

/* ------------------------------------------------------------------ */
/* Fixture preconditions                                               */

/* Fail early, with a clear message, when a stack is absent. */
#define TT_REQUIRE_STACK(stack) do {					\
	int __fd = tt_socket(stack);					\
	ASSERT_LE(0, __fd) TH_LOG("socket(%s, SOCK_STREAM): %s%s",	\
				  tt_stack_name(stack), strerror(errno), \
				  (stack) == TT_LINUX ? "" :		\
				  " (is toytcp loaded?)");		\
	close(__fd);							\
} while (0)

/* The TIME-WAIT length the tests give toytcp (Linux's is 60 s). */
#define TT_TW_MS 1000

/* toytcp's TIME-WAIT length, for every namespace (a module parameter). */
#define TT_SET_TW(ms) do {						\
	ASSERT_EQ(0, tt_param_set("tw_timeout_ms", ms))			\
		TH_LOG("cannot set tw_timeout_ms: %s", strerror(errno)); \
} while (0)

#endif /* TT_CORE_H */
