// SPDX-License-Identifier: GPL-2.0
/*
 * libtoytcp-preload.so: run an unmodified program's TCP over toytcp.
 *
 *   LD_PRELOAD=/path/to/libtoytcp-preload.so curl http://127.0.0.1:8000/
 *
 * socket(AF_INET, SOCK_STREAM[|SOCK_NONBLOCK|SOCK_CLOEXEC], 0 or
 * IPPROTO_TCP) creates an AF_TOYTCP socket instead.  bind() and connect()
 * go to the kernel unchanged: toytcp takes AF_INET addresses.  Every
 * address the kernel hands back with sin_family AF_TOYTCP (getsockname,
 * getpeername, accept, accept4, recvfrom, recvmsg, recvmmsg) is given back
 * to the program as AF_INET, and getsockopt(SOL_SOCKET, SO_DOMAIN) says
 * AF_INET, so the program never sees the difference.  AF_INET6, UDP, raw
 * and every other socket are left alone.
 *
 * Options go to the kernel unchanged: the module answers TCP_INFO and
 * TCP_CONGESTION itself, and ENOPROTOOPT for IPPROTO_TCP options it does
 * not have.
 *
 * The translations are stateless: family 19 is toytcp's alone (the Econet
 * family that held the number left Linux in 3.5), so an address or a
 * SO_DOMAIN that says 19 came from a toytcp socket.  Nothing is allocated
 * and no lock is taken on any call; the real functions are looked up once
 * (dlsym(RTLD_NEXT)) under pthread_once.
 *
 * Environment:
 *   TOYTCP_PRELOAD_DEBUG=1   log each socket turned into toytcp, and every
 *                            failed option call on a toytcp socket (what
 *                            the program wanted that toytcp lacks);
 *                            2 also logs every translated address
 *   TOYTCP_PRELOAD_LOG=FILE  log there (appended) instead of stderr
 *   TOYTCP_PRELOAD_FALLBACK=1  when AF_TOYTCP sockets cannot be created
 *                            (module not loaded), use Linux TCP; by default
 *                            socket() fails with the error toytcp gave
 *   TOYTCP_PRELOAD_DISABLE=1 change nothing (the library stays loaded)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <netinet/in.h>

#include <linux/toytcp.h>

#define EXPORT __attribute__((visibility("default")))

#ifndef SO_DOMAIN
#define SO_DOMAIN 39
#endif

/* ------------------------------------------------------------------ */
/* The real functions                                                  */

static int (*real_socket)(int, int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
				socklen_t *);
static ssize_t (*real_recvfrom_chk)(int, void *, size_t, size_t, int,
				    struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int,
			    struct timespec *);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);

static int opt_debug;
static int opt_fallback;
static int opt_disable;
static int log_fd = 2;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int inited;

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "toytcp-preload: dlsym(RTLD_NEXT) failed for ";

		/* Nothing sensible can be done: say so and let the call fail. */
		if (write(2, msg, sizeof(msg) - 1) < 0 ||
		    write(2, name, strlen(name)) < 0 || write(2, "\n", 1) < 0)
			return NULL;
	}
	return p;
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return def;
	return atoi(v);
}

static void do_init(void)
{
	const char *f;

	real_socket = next_sym("socket");
	real_accept = next_sym("accept");
	real_accept4 = next_sym("accept4");
	real_getsockname = next_sym("getsockname");
	real_getpeername = next_sym("getpeername");
	real_recvfrom = next_sym("recvfrom");
	real_recvfrom_chk = dlsym(RTLD_NEXT, "__recvfrom_chk");
	real_recvmsg = next_sym("recvmsg");
	real_recvmmsg = next_sym("recvmmsg");
	real_getsockopt = next_sym("getsockopt");
	real_setsockopt = next_sym("setsockopt");

	opt_debug = env_int("TOYTCP_PRELOAD_DEBUG", 0);
	opt_fallback = env_int("TOYTCP_PRELOAD_FALLBACK", 0);
	opt_disable = env_int("TOYTCP_PRELOAD_DISABLE", 0);
	f = getenv("TOYTCP_PRELOAD_LOG");
	if (opt_debug && f && *f) {
		int fd = open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* Keep it out of the way of the program's own low fds. */
		if (fd >= 0) {
			int hi = fcntl(fd, F_DUPFD_CLOEXEC, 500);

			if (hi >= 0) {
				close(fd);
				fd = hi;
			}
			log_fd = fd;
		}
	}
	__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
}

static inline void init(void)
{
	if (__builtin_expect(!__atomic_load_n(&inited, __ATOMIC_ACQUIRE), 0))
		pthread_once(&init_once, do_init);
}

__attribute__((constructor)) static void preload_ctor(void)
{
	init();
}

/* One line to the log, in one write(); errno is preserved. */
__attribute__((format(printf, 1, 2)))
static void dbg(const char *fmt, ...)
{
	char buf[512];
	int saved = errno, n, m;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "toytcp-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(log_fd, buf, n) < 0) {
		/* nowhere to report it */
	}
	errno = saved;
}

#define DBG(level, ...) do {					\
	if (__builtin_expect(opt_debug >= (level), 0))		\
		dbg(__VA_ARGS__);				\
} while (0)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const unsigned char *a = (const unsigned char *)&sin->sin_addr;

	snprintf(buf, len, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
		 ntohs(sin->sin_port));
	return buf;
}

/*
 * The kernel wrote a name of *len bytes into a buffer of cap bytes; if it
 * is toytcp's, make it AF_INET.
 */
static void fix_name(const char *what, int fd, struct sockaddr *sa,
		     socklen_t cap)
{
	char b[32];

	if (!sa || cap < sizeof(sa_family_t) || sa->sa_family != AF_TOYTCP)
		return;
	sa->sa_family = AF_INET;
	if (opt_debug >= 2 && cap >= sizeof(struct sockaddr_in))
		dbg("%s(%d): %s", what, fd, addr_str(sa, b, sizeof(b)));
}

static int is_toytcp(int fd)
{
	int dom = 0, saved = errno;
	socklen_t l = sizeof(dom);
	int r = real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l);

	errno = saved;
	return r == 0 && dom == AF_TOYTCP;
}

static const char *level_name(int level)
{
	switch (level) {
	case SOL_SOCKET: return "SOL_SOCKET";
	case IPPROTO_IP: return "IPPROTO_IP";
	case IPPROTO_TCP: return "IPPROTO_TCP";
	case IPPROTO_IPV6: return "IPPROTO_IPV6";
	case SOL_TOYTCP: return "SOL_TOYTCP";
	default: return "?";
	}
}

/* ------------------------------------------------------------------ */
/* socket()                                                            */

EXPORT int socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int fd, err;

	init();
	if (!real_socket) {
		errno = ENOSYS;
		return -1;
	}
	if (opt_disable || domain != AF_INET || base != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP))
		return real_socket(domain, type, protocol);

	fd = real_socket(AF_TOYTCP, type, protocol);
	if (fd >= 0) {
		DBG(1, "socket(AF_INET, SOCK_STREAM%s%s, %d) = %d: AF_TOYTCP",
		    type & SOCK_NONBLOCK ? "|SOCK_NONBLOCK" : "",
		    type & SOCK_CLOEXEC ? "|SOCK_CLOEXEC" : "", protocol, fd);
		return fd;
	}
	err = errno;
	if (opt_fallback) {
		DBG(1, "socket(AF_TOYTCP): %s; using Linux TCP (TOYTCP_PRELOAD_FALLBACK)",
		    strerror(err));
		return real_socket(domain, type, protocol);
	}
	{
		static int warned;

		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED) || opt_debug)
			dbg("socket(AF_TOYTCP, SOCK_STREAM, %d): %s%s", protocol,
			    strerror(err),
			    err == EAFNOSUPPORT ? " (is toytcp.ko loaded?)" : "");
	}
	errno = err;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Names the kernel hands back                                         */

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	socklen_t cap;
	int r;

	init();
	cap = addr && len ? *len : 0;
	r = real_accept(fd, addr, len);
	if (r >= 0 && cap >= sizeof(sa_family_t)) {
		if (opt_debug && addr->sa_family == AF_TOYTCP) {
			char b[32];

			dbg("accept(%d) = %d from %s", fd, r,
			    addr_str(addr, b, sizeof(b)));
		}
		fix_name("accept", fd, addr, cap);
	}
	return r;
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	socklen_t cap;
	int r;

	init();
	cap = addr && len ? *len : 0;
	r = real_accept4(fd, addr, len, flags);
	if (r >= 0 && cap >= sizeof(sa_family_t)) {
		if (opt_debug && addr->sa_family == AF_TOYTCP) {
			char b[32];

			dbg("accept4(%d) = %d from %s", fd, r,
			    addr_str(addr, b, sizeof(b)));
		}
		fix_name("accept4", fd, addr, cap);
	}
	return r;
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	socklen_t cap;
	int r;

	init();
	cap = addr && len ? *len : 0;
	r = real_getsockname(fd, addr, len);
	if (r == 0)
		fix_name("getsockname", fd, addr, cap);
	return r;
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	socklen_t cap;
	int r;

	init();
	cap = addr && len ? *len : 0;
	r = real_getpeername(fd, addr, len);
	if (r == 0)
		fix_name("getpeername", fd, addr, cap);
	return r;
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			struct sockaddr *addr, socklen_t *len)
{
	socklen_t cap;
	ssize_t r;

	init();
	cap = addr && len ? *len : 0;
	r = real_recvfrom(fd, buf, n, flags, addr, len);
	if (r >= 0 && cap && *len >= sizeof(sa_family_t))
		fix_name("recvfrom", fd, addr, cap);
	return r;
}

/* What _FORTIFY_SOURCE builds call instead of recvfrom(). */
EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			      int flags, struct sockaddr *addr, socklen_t *len)
{
	socklen_t cap;
	ssize_t r;

	init();
	if (!real_recvfrom_chk) {
		if (n > buflen)
			abort();
		return recvfrom(fd, buf, n, flags, addr, len);
	}
	cap = addr && len ? *len : 0;
	r = real_recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
	if (r >= 0 && cap && *len >= sizeof(sa_family_t))
		fix_name("recvfrom", fd, addr, cap);
	return r;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	socklen_t cap;
	ssize_t r;

	init();
	cap = msg && msg->msg_name ? msg->msg_namelen : 0;
	r = real_recvmsg(fd, msg, flags);
	if (r >= 0 && cap && msg->msg_namelen >= sizeof(sa_family_t))
		fix_name("recvmsg", fd, msg->msg_name, cap);
	return r;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		    struct timespec *timeout)
{
	socklen_t caps[64];
	unsigned int i, k;
	int r;

	init();
	k = vlen < 64 ? vlen : 64;
	for (i = 0; i < k; i++)
		caps[i] = vec[i].msg_hdr.msg_name ? vec[i].msg_hdr.msg_namelen : 0;
	r = real_recvmmsg(fd, vec, vlen, flags, timeout);
	for (i = 0; r > 0 && i < (unsigned int)r && i < k; i++)
		if (caps[i] && vec[i].msg_hdr.msg_namelen >= sizeof(sa_family_t))
			fix_name("recvmmsg", fd, vec[i].msg_hdr.msg_name, caps[i]);
	return r;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	socklen_t cap;
	int r, err;

	init();
	cap = val && len ? *len : 0;
	r = real_getsockopt(fd, level, name, val, len);
	if (r == 0) {
		if (level == SOL_SOCKET && name == SO_DOMAIN && !opt_disable &&
		    cap >= sizeof(int) && *(int *)val == AF_TOYTCP)
			*(int *)val = AF_INET;
		return r;
	}
	err = errno;
	if (err != ENOPROTOOPT || opt_disable || !opt_debug || !is_toytcp(fd))
		return r;
	DBG(1, "getsockopt(%d, %s, %d) on a toytcp socket: %s", fd,
	    level_name(level), name, strerror(err));
	errno = err;
	return -1;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	int r;

	init();
	r = real_setsockopt(fd, level, name, val, len);
	if (r && opt_debug && is_toytcp(fd)) {
		int v = val && len >= sizeof(int) ? *(const int *)val : 0;

		dbg("setsockopt(%d, %s, %d, %d) on a toytcp socket: %s", fd,
		    level_name(level), name, v, strerror(errno));
	}
	return r;
}
