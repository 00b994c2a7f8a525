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
 * and every other socket are left alone (TOYTCP_PRELOAD_DEBUG=1 says
 * which, and why).
 *
 * IPv4-only mode (TOYTCP_PRELOAD_IPV4_ONLY=1), for programs that listen on
 * :: (python3 -m http.server, many servers) or try AF_INET6 first:
 * socket(AF_INET6, SOCK_STREAM, ...) makes an AF_TOYTCP socket too, and
 * the library remembers that the program thinks it is IPv6 (a bitmap
 * indexed by fd, set by socket(), accept() and accept4(), copied by dup(),
 * dup2() and dup3()).  On such a socket bind() and connect() take :: (as
 * 0.0.0.0) and ::ffff:a.b.c.d (as a.b.c.d); any other IPv6 address is
 * EADDRNOTAVAIL, toytcp being IPv4 only.  The names handed back are
 * sockaddr_in6: v4-mapped, 0.0.0.0 as ::.  SO_DOMAIN says AF_INET6;
 * IPV6_V6ONLY and the IPPROTO_IPV6 options that change nothing for a
 * stream socket (traffic class, hop limits, ancillary-data requests) are
 * accepted and ignored, getsockopt(IPV6_V6ONLY) is 0.
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
 *   TOYTCP_PRELOAD_DEBUG=1   log each socket turned into toytcp, each
 *                            stream socket left to Linux (with the reason),
 *                            and every failed option call on a toytcp
 *                            socket (what the program wanted that toytcp
 *                            lacks); 2 also logs every translated address
 *   TOYTCP_PRELOAD_IPV4_ONLY=1  AF_INET6 stream sockets become toytcp
 *                            sockets (above)
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
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);

static int opt_debug;
static int opt_fallback;
static int opt_disable;
static int opt_ipv4_only;
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
	real_bind = next_sym("bind");
	real_connect = next_sym("connect");
	real_dup = next_sym("dup");
	real_dup2 = next_sym("dup2");
	real_dup3 = next_sym("dup3");

	opt_debug = env_int("TOYTCP_PRELOAD_DEBUG", 0);
	opt_fallback = env_int("TOYTCP_PRELOAD_FALLBACK", 0);
	opt_disable = env_int("TOYTCP_PRELOAD_DISABLE", 0);
	opt_ipv4_only = env_int("TOYTCP_PRELOAD_IPV4_ONLY", 0);
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
 * The toytcp sockets the program made as AF_INET6 (IPv4-only mode): one
 * bit per fd, for fds below V6_FDS (the default hard limit of open files);
 * a socket on a higher fd is given AF_INET names.  Atomic, no lock.
 */
#define V6_FDS (1 << 20)
#define LONG_BITS (8 * sizeof(unsigned long))
static unsigned long v6_fds[V6_FDS / LONG_BITS];

static void v6_mark(int fd, int on)
{
	unsigned long bit;

	if (fd < 0 || fd >= V6_FDS)
		return;
	bit = 1UL << (fd % LONG_BITS);
	if (on)
		__atomic_fetch_or(&v6_fds[fd / LONG_BITS], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&v6_fds[fd / LONG_BITS], ~bit, __ATOMIC_RELAXED);
}

static int v6_marked(int fd)
{
	if (fd < 0 || fd >= V6_FDS)
		return 0;
	return (__atomic_load_n(&v6_fds[fd / LONG_BITS], __ATOMIC_RELAXED) >>
		(fd % LONG_BITS)) & 1;
}

/*
 * The kernel wrote a name into a buffer of cap bytes and set *len (len may
 * be NULL); if it is toytcp's, make it AF_INET, or for a socket the
 * program made as AF_INET6 a v4-mapped sockaddr_in6 (0.0.0.0 as ::),
 * truncated to cap and with *len its full size, as the kernel does.
 */
static void fix_name(const char *what, int fd, struct sockaddr *sa,
		     socklen_t cap, socklen_t *len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char b[32];

	if (!sa || cap < sizeof(sa_family_t) || sa->sa_family != AF_TOYTCP)
		return;
	sa->sa_family = AF_INET;
	if (opt_debug >= 2 && cap >= sizeof(struct sockaddr_in))
		dbg("%s(%d): %s%s", what, fd, addr_str(sa, b, sizeof(b)),
		    v6_marked(fd) ? " as AF_INET6" : "");
	if (!v6_marked(fd) || cap < sizeof(struct sockaddr_in))
		return;
	memcpy(&sin, sa, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = sin.sin_port;
	if (sin.sin_addr.s_addr != htonl(INADDR_ANY)) {
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6.sin6_addr.s6_addr[12], &sin.sin_addr, 4);
	}
	memcpy(sa, &sin6, cap < sizeof(sin6) ? cap : sizeof(sin6));
	if (len)
		*len = sizeof(sin6);
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

static const char *family_name(int domain, char *buf, size_t len)
{
	switch (domain) {
	case AF_UNIX: return "AF_UNIX";
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	case AF_TOYTCP: return "AF_TOYTCP";
	default:
		snprintf(buf, len, "family %d", domain);
		return buf;
	}
}

/*
 * Why a stream socket stays Linux's, or NULL if it becomes toytcp's.
 * Only stream sockets are asked about (and logged): datagram, raw and
 * sequenced-packet sockets have nothing to do with TCP.
 */
static const char *left_to_linux(int domain, int protocol)
{
	if (opt_disable)
		return "TOYTCP_PRELOAD_DISABLE=1";
	if (domain == AF_INET6 && !opt_ipv4_only)
		return "IPv6 (toytcp is IPv4 only; TOYTCP_PRELOAD_IPV4_ONLY=1 would make it toytcp's)";
	if (domain != AF_INET && domain != AF_INET6)
		return "not an IP socket";
	if (protocol == IPPROTO_MPTCP)
		return "IPPROTO_MPTCP (toytcp does plain TCP)";
	if (protocol != 0 && protocol != IPPROTO_TCP)
		return "protocol is not TCP";
	return NULL;
}

EXPORT int socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	const char *why;
	char fb[24];
	int fd, err;

	init();
	if (!real_socket) {
		errno = ENOSYS;
		return -1;
	}
	if (base != SOCK_STREAM)
		return real_socket(domain, type, protocol);
	why = left_to_linux(domain, protocol);
	if (why) {
		fd = real_socket(domain, type, protocol);
		DBG(1, "socket(%s, SOCK_STREAM, %d) = %d: left to Linux: %s",
		    family_name(domain, fb, sizeof(fb)), protocol, fd, why);
		return fd;
	}

	fd = real_socket(AF_TOYTCP, type, protocol);
	if (fd >= 0) {
		v6_mark(fd, domain == AF_INET6);
		DBG(1, "socket(%s, SOCK_STREAM%s%s, %d) = %d: AF_TOYTCP%s",
		    family_name(domain, fb, sizeof(fb)),
		    type & SOCK_NONBLOCK ? "|SOCK_NONBLOCK" : "",
		    type & SOCK_CLOEXEC ? "|SOCK_CLOEXEC" : "", protocol, fd,
		    domain == AF_INET6 ? " (IPv4-only mode)" : "");
		return fd;
	}
	err = errno;
	if (opt_fallback) {
		fd = real_socket(domain, type, protocol);
		DBG(1, "socket(%s, SOCK_STREAM, %d) = %d: left to Linux: AF_TOYTCP failed: %s (TOYTCP_PRELOAD_FALLBACK)",
		    family_name(domain, fb, sizeof(fb)), protocol, fd,
		    strerror(err));
		return fd;
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

/* fcntl(F_DUPFD) is not followed: a copy made so says AF_INET. */
EXPORT int dup(int oldfd)
{
	int r;

	init();
	r = real_dup(oldfd);
	if (r >= 0)
		v6_mark(r, v6_marked(oldfd));
	return r;
}

EXPORT int dup2(int oldfd, int newfd)
{
	int r;

	init();
	r = real_dup2(oldfd, newfd);
	if (r >= 0 && r != oldfd)
		v6_mark(r, v6_marked(oldfd));
	return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r;

	init();
	r = real_dup3(oldfd, newfd, flags);
	if (r >= 0)
		v6_mark(r, v6_marked(oldfd));
	return r;
}

/* ------------------------------------------------------------------ */
/* Addresses the program gives (IPv4-only mode)                        */

/*
 * An AF_INET6 address for a toytcp socket the program made as AF_INET6:
 * :: and ::ffff:a.b.c.d become 0.0.0.0 and a.b.c.d in *sin; 0 or -1 with
 * errno as the kernel would set it.
 */
static int v6_to_v4(const struct sockaddr *sa, socklen_t len,
		    struct sockaddr_in *sin)
{
	struct sockaddr_in6 sin6;

	/* SIN6_LEN_RFC2133: the one without sin6_scope_id. */
	if (len < 24) {
		errno = EINVAL;
		return -1;
	}
	memset(&sin6, 0, sizeof(sin6));
	memcpy(&sin6, sa, len < sizeof(sin6) ? len : sizeof(sin6));
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	if (IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr))
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
		memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
		return 0;
	}
	errno = EADDRNOTAVAIL;
	return -1;
}

/* The socket is one the program made as AF_INET6 and toytcp's. */
static int v6_toytcp(int fd)
{
	return !opt_disable && v6_marked(fd) && is_toytcp(fd);
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_in sin;
	char b[32];

	init();
	if (!addr || len < sizeof(sa_family_t) || addr->sa_family != AF_INET6 ||
	    !v6_toytcp(fd))
		return real_bind(fd, addr, len);
	if (v6_to_v4(addr, len, &sin)) {
		DBG(1, "bind(%d): AF_INET6 address not :: nor v4-mapped: %s",
		    fd, strerror(errno));
		return -1;
	}
	DBG(2, "bind(%d): AF_INET6 as %s", fd,
	    addr_str((struct sockaddr *)&sin, b, sizeof(b)));
	return real_bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_in sin;
	char b[32];

	init();
	if (!addr || len < sizeof(sa_family_t) || addr->sa_family != AF_INET6 ||
	    !v6_toytcp(fd))
		return real_connect(fd, addr, len);
	if (v6_to_v4(addr, len, &sin)) {
		DBG(1, "connect(%d): AF_INET6 address not :: nor v4-mapped: %s",
		    fd, strerror(errno));
		return -1;
	}
	DBG(2, "connect(%d): AF_INET6 as %s", fd,
	    addr_str((struct sockaddr *)&sin, b, sizeof(b)));
	return real_connect(fd, (struct sockaddr *)&sin, sizeof(sin));
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
	}
	if (r >= 0) {
		v6_mark(r, v6_marked(fd));
		if (cap >= sizeof(sa_family_t))
			fix_name("accept", r, addr, cap, len);
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
	}
	if (r >= 0) {
		v6_mark(r, v6_marked(fd));
		if (cap >= sizeof(sa_family_t))
			fix_name("accept4", r, addr, cap, len);
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
		fix_name("getsockname", fd, addr, cap, len);
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
		fix_name("getpeername", fd, addr, cap, len);
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
		fix_name("recvfrom", fd, addr, cap, len);
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
		fix_name("recvfrom", fd, addr, cap, len);
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
		fix_name("recvmsg", fd, msg->msg_name, cap, &msg->msg_namelen);
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
			fix_name("recvmmsg", fd, vec[i].msg_hdr.msg_name, caps[i],
				 &vec[i].msg_hdr.msg_namelen);
	return r;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

/*
 * IPPROTO_IPV6 options that change nothing for a TCP socket over IPv4
 * (IPV6_V6ONLY: such a socket takes IPv4 peers whatever it says), set
 * without asking toytcp, which has no IPPROTO_IPV6 level.
 */
static int ipv6_opt_harmless(int name)
{
	switch (name) {
	case IPV6_V6ONLY:
	case IPV6_TCLASS:
	case IPV6_UNICAST_HOPS:
	case IPV6_MULTICAST_HOPS:
	case IPV6_MULTICAST_LOOP:
	case IPV6_RECVPKTINFO:
	case IPV6_RECVHOPLIMIT:
	case IPV6_RECVTCLASS:
	case IPV6_ADDR_PREFERENCES:
		return 1;
	default:
		return 0;
	}
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	socklen_t cap;
	int r, err;

	init();
	cap = val && len ? *len : 0;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && v6_toytcp(fd)) {
		if (cap < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		*(int *)val = 0;
		*len = sizeof(int);
		return 0;
	}
	r = real_getsockopt(fd, level, name, val, len);
	if (r == 0) {
		if (level == SOL_SOCKET && name == SO_DOMAIN && !opt_disable &&
		    cap >= sizeof(int) && *(int *)val == AF_TOYTCP)
			*(int *)val = v6_marked(fd) ? AF_INET6 : AF_INET;
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
	if (level == IPPROTO_IPV6 && ipv6_opt_harmless(name) && v6_toytcp(fd)) {
		if (!val || len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		DBG(2, "setsockopt(%d, IPPROTO_IPV6, %d, %d): accepted, ignored",
		    fd, name, *(const int *)val);
		return 0;
	}
	r = real_setsockopt(fd, level, name, val, len);
	if (r && opt_debug && is_toytcp(fd)) {
		int v = val && len >= sizeof(int) ? *(const int *)val : 0;

		dbg("setsockopt(%d, %s, %d, %d) on a toytcp socket: %s", fd,
		    level_name(level), name, v, strerror(errno));
	}
	return r;
}
