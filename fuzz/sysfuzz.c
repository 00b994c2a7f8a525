// SPDX-License-Identifier: GPL-2.0
/*
 * sysfuzz: random system calls on toytcp sockets from several threads at
 * once, in the manner of syzkaller's TCP descriptions.
 *
 *   sysfuzz [-s SEED] [-t THREADS] [-d SECONDS] [-n CALLS] [-w WAIT_S] [-v]
 *
 * The threads share one table of descriptors (sockets and epoll
 * instances) and pick, call after call, an operation and its arguments at
 * random: socket, bind, listen, connect, accept/accept4, send/sendto/
 * sendmsg/sendmmsg, recv/recvmsg/recvmmsg (MSG_PEEK, MSG_WAITALL,
 * MSG_DONTWAIT, MSG_OOB, MSG_TRUNC ...), shutdown, close, setsockopt and
 * getsockopt (SOL_SOCKET, IPPROTO_TCP, SOL_TOYTCP, SOL_IP; random and
 * boundary values and lengths, NULL and (void *)1 pointers), poll, epoll,
 * ioctl (FIONREAD, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK, FIONBIO, random),
 * getsockname/getpeername, fcntl.  Addresses are 127.0.0.1 and a few
 * ports, so that binds collide and connects find listeners.  A close may
 * race with a recv, send, accept or connect blocked in another thread; a
 * watchdog interrupts calls blocked for more than 2 s (SIGUSR1) and
 * reports one that stays blocked for 30 s as a hang.
 *
 * Checks: the fuzzing reached toytcp (every thread ran its calls and
 * ended, sockets were made and connections opened: a fuzzer whose
 * socket() always fails tests nothing); no call fails with a
 * kernel-internal errno (512 and above: ERESTARTSYS, ENOIOCTLCMD ...) or
 * returns -1 without an errno, and no call hangs; at the end, with every
 * descriptor closed, the namespace's toytcp sockets must all be gone
 * within WAIT_S (60) seconds, and no multicast group joined through a
 * toytcp socket may remain.
 *
 * Runs in a private network namespace; TAP output; exit status 0 when
 * every check passed.  SYSFUZZ_SKIP=name,... leaves out operations (by
 * the names of op_names[]), for one known to crash the kernel.
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "fuzz.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

#define NSLOTS		24
#define NPORTS		4
#define BASE_PORT	7400
#define MAXTHREADS	16
#define BAD_PTR		((void *)1)

enum op {
	OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_ACCEPT, OP_SEND,
	OP_SENDMSG, OP_RECV, OP_RECVMSG, OP_SHUTDOWN, OP_CLOSE, OP_SETSOCKOPT,
	OP_GETSOCKOPT, OP_POLL, OP_EPOLL, OP_IOCTL, OP_NAME, OP_FCNTL,
	OP_MCAST, OP_SETUP, OP_N
};

static const char *const op_names[OP_N] = {
	"socket", "bind", "listen", "connect", "accept", "send", "sendmsg",
	"recv", "recvmsg", "shutdown", "close", "setsockopt", "getsockopt",
	"poll", "epoll", "ioctl", "name", "fcntl", "mcast", "setup",
};

/* How often each operation is picked (relative). */
static const int op_weight[OP_N] = {
	8, 6, 5, 8, 6, 8, 4, 8, 4, 3, 6, 10, 8, 3, 3, 4, 2, 2, 1, 6,
};

static bool op_skip[OP_N];
static atomic_int slots[NSLOTS];
static atomic_bool stop;
static bool verbose;
static int nthreads = 4;

struct worker {
	pthread_t tid;
	int id;
	struct fz_rng rng;
	_Atomic double started;		/* when the current call began, 0 idle */
	_Atomic int cur;		/* the current operation */
	bool live;			/* created and not joined yet */
	long calls[OP_N], fails[OP_N];
	long hangs, kerrno;
	char bad[200];			/* the first bad errno seen */
};

static struct worker workers[MAXTHREADS];

/* ------------------------------------------------------------------ */
/* Argument generators                                                  */

static int pick_fd(struct fz_rng *r)
{
	int i, fd = -1;

	if (fz_pct(r, 3))
		return FZ_PICK(r, ((int[]){ -1, 1023, INT32_MAX }));
	for (i = 0; i < 3 && fd < 0; i++)	/* prefer open slots */
		fd = atomic_load(&slots[fz_below(r, NSLOTS)]);
	return fd;
}

/* Put a new descriptor into a random slot, closing what was there. */
static void put_fd(struct fz_rng *r, int fd)
{
	int old;

	if (fd < 0)
		return;
	old = atomic_exchange(&slots[fz_below(r, NSLOTS)], fd);
	if (old >= 0)
		close(old);
}

static int rand_port(struct fz_rng *r)
{
	if (fz_pct(r, 90))
		return BASE_PORT + fz_below(r, NPORTS);
	return FZ_PICK(r, ((int[]){ 0, 1, 65535, 7 }));
}

/* A struct sockaddr_in and a length for it, sometimes wrong. */
static socklen_t rand_addr(struct fz_rng *r, struct sockaddr_in *a)
{
	static const uint32_t addrs[] = {
		0x7f000001, 0, 0x7f000002, 0xffffffff, 0xe0000001, 0x0a000001,
	};

	memset(a, 0, sizeof(*a));
	a->sin_family = fz_pct(r, 70) ? AF_TOYTCP : fz_pct(r, 70) ? AF_INET :
			FZ_PICK(r, ((int[]){ AF_UNSPEC, AF_INET6, AF_UNIX, 255 }));
	a->sin_port = htons(rand_port(r));
	a->sin_addr.s_addr = htonl(fz_pct(r, 80) ? addrs[0] : FZ_PICK(r, addrs));
	if (fz_pct(r, 90))
		return sizeof(*a);
	return FZ_PICK(r, ((socklen_t[]){ 0, 1, 2, 15, 17, 128, 0xffffffffu }));
}

/*
 * A length for a buffer of @max bytes: boundary values, never more than
 * @max.  (It once returned 65536 for the 16 KB pieces of a recvmsg()
 * iovec: the kernel then rightly wrote past the fuzzer's stack buffer
 * into the thread's TCB, and sysfuzz died in libc, SIGSEGV at 0x308.)
 */
static int rand_len(struct fz_rng *r, int max)
{
	int v;

	if (!fz_pct(r, 10))
		return fz_below(r, max + 1);
	v = FZ_PICK(r, ((int[]){ 0, 1, 4095, 4096, 65535, 65536 }));
	return v > max ? max : v;
}

static int rand_flags(struct fz_rng *r, bool rx)
{
	static const int txf[] = { MSG_DONTWAIT, MSG_MORE, MSG_NOSIGNAL, MSG_OOB,
				   MSG_EOR, MSG_DONTROUTE, MSG_CONFIRM, MSG_FASTOPEN,
				   MSG_ZEROCOPY };
	static const int rxf[] = { MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_OOB,
				   MSG_TRUNC, MSG_ERRQUEUE, MSG_CMSG_CLOEXEC };
	int f = MSG_NOSIGNAL, i, n = fz_below(r, 4);

	for (i = 0; i < n; i++)
		f |= rx ? FZ_PICK(r, rxf) : FZ_PICK(r, txf);
	if (fz_pct(r, 3))
		f |= fz_next(r);
	if (fz_pct(r, 60))
		f |= MSG_DONTWAIT;	/* most calls should not block */
	return f;
}

/* A buffer pointer: usually real, sometimes NULL or (void *)1. */
static void *rand_buf(struct fz_rng *r, void *buf)
{
	if (fz_pct(r, 94))
		return buf;
	return fz_pct(r, 50) ? NULL : BAD_PTR;
}

/* ------------------------------------------------------------------ */
/* Options                                                              */

struct optdef {
	int level, name;
};

static const struct optdef opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_REUSEPORT },
	{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_LINGER },
	{ SOL_SOCKET, SO_RCVBUF }, { SOL_SOCKET, SO_SNDBUF },
	{ SOL_SOCKET, SO_RCVBUFFORCE }, { SOL_SOCKET, SO_SNDBUFFORCE },
	{ SOL_SOCKET, SO_RCVLOWAT }, { SOL_SOCKET, SO_SNDLOWAT },
	{ SOL_SOCKET, SO_RCVTIMEO }, { SOL_SOCKET, SO_SNDTIMEO },
	{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_PRIORITY },
	{ SOL_SOCKET, SO_MARK }, { SOL_SOCKET, SO_BINDTODEVICE },
	{ SOL_SOCKET, SO_DONTROUTE }, { SOL_SOCKET, SO_BROADCAST },
	{ SOL_SOCKET, SO_TIMESTAMP }, { SOL_SOCKET, SO_TIMESTAMPING },
	{ SOL_SOCKET, SO_ZEROCOPY }, { SOL_SOCKET, SO_ERROR },
	{ SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_DOMAIN },
	{ SOL_SOCKET, SO_PROTOCOL }, { SOL_SOCKET, SO_ACCEPTCONN },
	{ SOL_SOCKET, SO_PEERCRED }, { SOL_SOCKET, SO_PEEK_OFF },
	{ SOL_SOCKET, SO_INCOMING_CPU }, { SOL_SOCKET, SO_BUSY_POLL },
	{ SOL_SOCKET, SO_MAX_PACING_RATE }, { SOL_SOCKET, SO_PEERNAME },
	{ SOL_SOCKET, SO_COOKIE }, { SOL_SOCKET, SO_ATTACH_FILTER },
	{ SOL_SOCKET, SO_DETACH_FILTER }, { SOL_SOCKET, SO_LOCK_FILTER },
	{ SOL_SOCKET, SO_RCVMARK }, { SOL_SOCKET, SO_TXTIME },
	{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_MAXSEG },
	{ IPPROTO_TCP, TCP_CORK }, { IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_SYNCNT }, { IPPROTO_TCP, TCP_LINGER2 },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT }, { IPPROTO_TCP, TCP_WINDOW_CLAMP },
	{ IPPROTO_TCP, TCP_INFO }, { IPPROTO_TCP, TCP_QUICKACK },
	{ IPPROTO_TCP, TCP_CONGESTION }, { IPPROTO_TCP, TCP_MD5SIG },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT }, { IPPROTO_TCP, TCP_FASTOPEN },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT }, { IPPROTO_TCP, TCP_ULP },
	{ IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE }, { IPPROTO_TCP, TCP_REPAIR },
	{ SOL_TOYTCP, TOYTCP_INFO }, { SOL_TOYTCP, 0 }, { SOL_TOYTCP, 2 },
	{ SOL_IP, IP_TOS }, { SOL_IP, IP_TTL }, { SOL_IP, IP_OPTIONS },
	{ SOL_IP, IP_RECVERR }, { SOL_IP, IP_MTU_DISCOVER }, { SOL_IP, IP_MTU },
	{ SOL_IP, IP_PKTINFO }, { SOL_IP, IP_MULTICAST_IF },
	{ SOL_IP, IP_MULTICAST_TTL }, { SOL_IP, IP_MULTICAST_LOOP },
	{ SOL_IP, IP_FREEBIND }, { SOL_IP, IP_TRANSPARENT },
	{ SOL_IP, IP_BIND_ADDRESS_NO_PORT }, { SOL_IP, IP_LOCAL_PORT_RANGE },
	{ SOL_IP, IP_HDRINCL }, { SOL_IP, IP_RECVOPTS }, { SOL_IP, IP_RETOPTS },
	{ SOL_IP, IP_ROUTER_ALERT }, { SOL_IP, IP_MSFILTER },
	{ SOL_IP, IP_PASSSEC }, { SOL_IP, IP_MINTTL }, { SOL_IP, IP_NODEFRAG },
	{ SOL_IP, IP_CHECKSUM }, { SOL_IP, IP_RECVFRAGSIZE },
};

/* SO_*TIMEO, SO_LINGER and SO_BUSY_POLL values stay small, so that no call
 * waits for long; the rest get anything.
 */
static int fill_optval(struct fz_rng *r, const struct optdef *o, uint8_t *v,
		       int cap)
{
	int i, len;

	for (i = 0; i < cap; i++)
		v[i] = fz_next(r);
	if (o->level == SOL_SOCKET &&
	    (o->name == SO_RCVTIMEO || o->name == SO_SNDTIMEO)) {
		struct timeval tv = { 0, 1000 + fz_below(r, 300000) };

		memcpy(v, &tv, sizeof(tv));
		return sizeof(tv);
	}
	if (o->level == SOL_SOCKET && o->name == SO_LINGER) {
		struct linger l = { fz_below(r, 2), fz_below(r, 2) };

		memcpy(v, &l, sizeof(l));
		return fz_pct(r, 90) ? (int)sizeof(l) : rand_len(r, 16);
	}
	if (o->level == SOL_SOCKET && o->name == SO_BUSY_POLL) {
		int x = fz_below(r, 100);

		memcpy(v, &x, sizeof(x));
		return sizeof(x);
	}
	if (o->level == IPPROTO_TCP && o->name == TCP_CONGESTION) {
		const char *n = FZ_PICK(r, ((const char *[]){ "toytcp", "reno",
					"cubic", "", "toytcpX" }));
		snprintf((char *)v, cap, "%s", n);
		return fz_pct(r, 80) ? (int)strlen(n) + 1 : rand_len(r, 20);
	}
	if (fz_pct(r, 60)) {
		static const int ints[] = { 0, 1, -1, 2, 88, 536, 32767, 32768,
					    65535, INT32_MAX, INT32_MIN, 255, 256 };
		int x = FZ_PICK(r, ints);

		memcpy(v, &x, sizeof(x));
	}
	len = fz_pct(r, 70) ? 4 : FZ_PICK(r, ((int[]){ 0, 1, 2, 3, 5, 8, 16, 40,
						      64, 200, cap }));
	return len;
}

static void do_setsockopt(struct fz_rng *r, int fd)
{
	uint8_t v[256];
	struct optdef o = FZ_PICK(r, opts);
	int len;

	if (fz_pct(r, 5)) {		/* anything at all */
		o.level = FZ_PICK(r, ((int[]){ SOL_SOCKET, IPPROTO_TCP, SOL_TOYTCP,
					       SOL_IP, 0, -1, 1000 }));
		o.name = fz_below(r, 80);
		if (o.level == SOL_SOCKET &&
		    (o.name == SO_RCVTIMEO || o.name == SO_SNDTIMEO ||
		     o.name == SO_LINGER || o.name == SO_BUSY_POLL ||
		     o.name == SO_RCVTIMEO_NEW || o.name == SO_SNDTIMEO_NEW))
			o.name = SO_KEEPALIVE;
	}
	len = fill_optval(r, &o, v, sizeof(v));
	setsockopt(fd, o.level, o.name, rand_buf(r, v), len);
}

static void do_getsockopt(struct fz_rng *r, int fd)
{
	uint8_t v[512];
	struct optdef o = FZ_PICK(r, opts);
	socklen_t len = fz_pct(r, 70) ? sizeof(v) :
			FZ_PICK(r, ((socklen_t[]){ 0, 1, 3, 4, 7, 8, 100, 0xffffffffu }));

	if (fz_pct(r, 5)) {
		o.level = FZ_PICK(r, ((int[]){ SOL_SOCKET, IPPROTO_TCP, SOL_TOYTCP,
					       SOL_IP, 0, -1 }));
		o.name = fz_below(r, 80);
	}
	if (fz_pct(r, 3))
		getsockopt(fd, o.level, o.name, v, fz_pct(r, 50) ? NULL : BAD_PTR);
	else
		getsockopt(fd, o.level, o.name, len > sizeof(v) ? BAD_PTR :
			   rand_buf(r, v), &len);
}

/* Multicast membership through a toytcp socket (IP_ADD_MEMBERSHIP ...). */
static void do_mcast(struct fz_rng *r, int fd)
{
	struct ip_mreqn m = { 0 };
	int name = FZ_PICK(r, ((int[]){ IP_ADD_MEMBERSHIP, IP_ADD_MEMBERSHIP,
					IP_DROP_MEMBERSHIP }));

	m.imr_multiaddr.s_addr = htonl(0xef010100 | fz_below(r, 4));
	m.imr_ifindex = fz_pct(r, 80) ? 1 : 0;	/* lo */
	setsockopt(fd, SOL_IP, name, &m, sizeof(m));
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */

static void do_op(struct worker *w, enum op op)
{
	struct fz_rng *r = &w->rng;
	static char zero[1 << 16];
	char buf[1 << 16];
	struct sockaddr_in a;
	socklen_t alen;
	int fd = pick_fd(r), ret = 0, i;

	if (op >= OP_N)
		return;
	errno = 0;
	switch (op) {
	case OP_SOCKET: {
		int type = SOCK_STREAM, proto = 0;
		struct timeval tv = { 0, 200000 };

		if (fz_pct(r, 30))
			type |= SOCK_NONBLOCK;
		if (fz_pct(r, 50))
			type |= SOCK_CLOEXEC;
		if (fz_pct(r, 20))
			proto = IPPROTO_TCP;
		if (fz_pct(r, 3))
			type = FZ_PICK(r, ((int[]){ SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, 0 }));
		if (fz_pct(r, 3))
			proto = FZ_PICK(r, ((int[]){ IPPROTO_UDP, -1, 255 }));
		ret = fd = socket(AF_TOYTCP, type, proto);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			put_fd(r, fd);
		}
		break;
	}
	case OP_BIND:
		alen = rand_addr(r, &a);
		ret = bind(fd, rand_buf(r, &a), alen);
		break;
	case OP_LISTEN:
		ret = listen(fd, FZ_PICK(r, ((int[]){ -1, 0, 1, 2, 5, 128, INT32_MAX })));
		break;
	case OP_CONNECT:
		alen = rand_addr(r, &a);
		if (fz_pct(r, 5))
			a.sin_family = AF_UNSPEC;	/* disconnect */
		ret = connect(fd, rand_buf(r, &a), alen);
		break;
	case OP_ACCEPT: {
		int fl = fz_pct(r, 50) ? 0 : FZ_PICK(r, ((int[]){ SOCK_NONBLOCK,
					SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC, -1, 0x100 }));

		alen = FZ_PICK(r, ((socklen_t[]){ sizeof(a), 0, 4, 100 }));
		if (fz_pct(r, 30))
			ret = accept(fd, fz_pct(r, 50) ? NULL : (struct sockaddr *)&a,
				     fz_pct(r, 50) ? &alen : NULL);
		else
			ret = accept4(fd, rand_buf(r, &a), fz_pct(r, 95) ? &alen : BAD_PTR, fl);
		put_fd(r, ret);
		break;
	}
	case OP_SEND:
		if (fz_pct(r, 30)) {
			alen = rand_addr(r, &a);
			ret = sendto(fd, rand_buf(r, zero), rand_len(r, sizeof(zero)),
				     rand_flags(r, false), (struct sockaddr *)&a, alen);
		} else {
			ret = send(fd, rand_buf(r, zero), rand_len(r, sizeof(zero)),
				   rand_flags(r, false));
		}
		break;
	case OP_SENDMSG: {
		struct iovec iov[4];
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 1 + fz_below(r, 4) };
		struct mmsghdr mm[2];

		for (i = 0; i < 4; i++) {
			iov[i].iov_base = rand_buf(r, zero);
			iov[i].iov_len = rand_len(r, 16384);
		}
		if (fz_pct(r, 10)) {
			alen = rand_addr(r, &a);
			m.msg_name = &a;
			m.msg_namelen = alen;
		}
		if (fz_pct(r, 5)) {
			m.msg_control = buf;
			m.msg_controllen = rand_len(r, 64);
			memset(buf, 0, 64);
		}
		if (fz_pct(r, 20)) {
			mm[0].msg_hdr = m;
			mm[1].msg_hdr = m;
			ret = sendmmsg(fd, mm, 1 + fz_below(r, 2), rand_flags(r, false));
		} else {
			ret = sendmsg(fd, &m, rand_flags(r, false));
		}
		break;
	}
	case OP_RECV:
		ret = recv(fd, rand_buf(r, buf), rand_len(r, sizeof(buf)),
			   rand_flags(r, true));
		break;
	case OP_RECVMSG: {
		struct iovec iov[3];
		char ctl[64];
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 1 + fz_below(r, 3),
				    .msg_name = &a, .msg_namelen = sizeof(a) };
		struct mmsghdr mm[2];
		struct timespec ts = { 0, 10000000 };

		for (i = 0; i < 3; i++) {
			iov[i].iov_base = rand_buf(r, buf + i * 16384);
			iov[i].iov_len = rand_len(r, 16384);
		}
		if (fz_pct(r, 10)) {
			m.msg_control = ctl;
			m.msg_controllen = rand_len(r, sizeof(ctl));
		}
		if (fz_pct(r, 20)) {
			mm[0].msg_hdr = m;
			mm[1].msg_hdr = m;
			ret = recvmmsg(fd, mm, 1 + fz_below(r, 2), rand_flags(r, true), &ts);
		} else {
			ret = recvmsg(fd, &m, rand_flags(r, true));
		}
		break;
	}
	case OP_SHUTDOWN:
		ret = shutdown(fd, FZ_PICK(r, ((int[]){ SHUT_RD, SHUT_WR, SHUT_RDWR,
							SHUT_WR, 3, -1 })));
		break;
	case OP_CLOSE: {
		int old = atomic_exchange(&slots[fz_below(r, NSLOTS)], -1);

		if (old >= 0)
			ret = close(old);
		break;
	}
	case OP_SETSOCKOPT:
		do_setsockopt(r, fd);
		break;
	case OP_GETSOCKOPT:
		do_getsockopt(r, fd);
		break;
	case OP_POLL: {
		struct pollfd p[4];
		int n = 1 + fz_below(r, 4);

		for (i = 0; i < n; i++) {
			p[i].fd = pick_fd(r);
			p[i].events = fz_pct(r, 70) ? (POLLIN | POLLOUT | POLLPRI | POLLRDHUP) :
				      (short)fz_next(r);
		}
		ret = poll(p, n, fz_below(r, 20));
		break;
	}
	case OP_EPOLL: {
		struct epoll_event ev = { .events = fz_next(r) | EPOLLIN };
		struct epoll_event out[8];
		int ep;

		if (fz_pct(r, 20)) {
			ret = ep = epoll_create1(EPOLL_CLOEXEC);
			put_fd(r, ep);
			break;
		}
		ep = pick_fd(r);
		ev.events &= ~(EPOLLEXCLUSIVE | EPOLLWAKEUP);
		switch (fz_below(r, 4)) {
		case 0:
			ret = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			break;
		case 1:
			ret = epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			break;
		case 2:
			ret = epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			break;
		default:
			ret = epoll_wait(ep, out, 8, fz_below(r, 20));
		}
		break;
	}
	case OP_IOCTL: {
		static const unsigned long cmds[] = { FIONREAD, SIOCOUTQ, SIOCOUTQNSD,
			SIOCATMARK, FIONBIO, SIOCGSTAMP_OLD, SIOCGIFADDR, SIOCGIFINDEX,
			FIOASYNC, FIOCLEX };
		unsigned long cmd = fz_pct(r, 90) ? FZ_PICK(r, cmds) : (uint32_t)fz_next(r);
		int v = fz_below(r, 2);

		if (cmd == FIOASYNC)
			v = 0;		/* no SIGIO storms */
		ret = ioctl(fd, cmd, fz_pct(r, 90) ? (void *)&v :
			    fz_pct(r, 50) ? NULL : BAD_PTR);
		break;
	}
	case OP_NAME:
		alen = FZ_PICK(r, ((socklen_t[]){ sizeof(a), 0, 2, 8, 100 }));
		if (fz_pct(r, 50))
			ret = getsockname(fd, rand_buf(r, &a), &alen);
		else
			ret = getpeername(fd, rand_buf(r, &a), &alen);
		break;
	case OP_FCNTL: {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			ret = fcntl(fd, F_SETFL, fl ^ O_NONBLOCK);
		break;
	}
	case OP_MCAST:
		do_mcast(r, fd);
		break;
	case OP_SETUP: {
		/* A shortcut to interesting states: a listener on a pool port,
		 * or a client connecting (without waiting) to one.
		 */
		struct timeval tv = { 0, 200000 };
		int s = socket(AF_TOYTCP, SOCK_STREAM | SOCK_NONBLOCK, 0);

		ret = s;
		if (s < 0)
			break;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_TOYTCP;
		a.sin_port = htons(BASE_PORT + fz_below(r, NPORTS));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fz_pct(r, 40)) {
			i = 1;
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &i, sizeof(i));
			if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 8)) {
				close(s);
				break;
			}
		} else if (connect(s, (struct sockaddr *)&a, sizeof(a)) &&
			   errno != EINPROGRESS) {
			close(s);
			break;
		}
		errno = 0;
		if (fz_pct(r, 70))
			fcntl(s, F_SETFL, 0);	/* mostly blocking afterwards */
		put_fd(r, s);
		break;
	}
	default:
		break;
	}
	w->calls[op]++;
	if (ret < 0 || errno) {
		w->fails[op]++;
		if ((ret < 0 && !errno) || errno >= 512) {
			w->kerrno++;
			if (!w->bad[0])
				snprintf(w->bad, sizeof(w->bad),
					 "%s on fd %d returned %d, errno %d",
					 op_names[op], fd, ret, errno);
		}
	}
}

/* ------------------------------------------------------------------ */

static long total_weight;
static long max_calls = -1;
static atomic_long calls_done;

static enum op pick_op(struct fz_rng *r)
{
	long x = fz_below(r, total_weight);
	int i;

	for (i = 0; i < OP_N; i++) {
		if (op_skip[i])
			continue;
		if (x < op_weight[i])
			return i;
		x -= op_weight[i];
	}
	return OP_SOCKET;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop)) {
		enum op op = pick_op(&w->rng);

		if (max_calls >= 0 && atomic_fetch_add(&calls_done, 1) >= max_calls)
			break;
		atomic_store(&w->cur, op);
		atomic_store(&w->started, fz_now());
		do_op(w, op);
		atomic_store(&w->started, 0.0);
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Interrupt calls blocked for 2 s; report one blocked for 30 s. */
static void watch(struct worker *w)
{
	double t = atomic_load(&w->started);

	/* pthread_kill() on a joined thread is undefined (glibc 2.36 read
	 * a freed descriptor: SIGSEGV in libc seen in make check).
	 */
	if (!w->live || t <= 0 || fz_now() - t < 2)
		return;
	pthread_kill(w->tid, SIGUSR1);
	if (fz_now() - t > 30 && !w->hangs++) {
		char cmd[160];

		printf("# thread %d: %s blocked for 30 s despite signals; kernel stack:\n",
		       w->id, op_names[atomic_load(&w->cur)]);
		snprintf(cmd, sizeof(cmd), "sed 's/^/#   /' /proc/%d/task/*/stack", getpid());
		fflush(stdout);
		if (system(cmd) < 0)
			perror("system");
	}
}

/* Multicast groups left on lo after every socket is closed (224.0.0.1
 * aside, which lo joins by itself).
 */
static int mcast_left(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/thread-self/net/igmp", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int grp;

		if (sscanf(line, " %x %*s %*s %*s", &grp) == 1 && line[0] == '\t' &&
		    grp != htonl(0xe0000001))
			n++;
	}
	fclose(f);
	return n;
}

static void parse_skip(void)
{
	const char *e = getenv("SYSFUZZ_SKIP");
	int i;

	for (i = 0; e && i < OP_N; i++) {
		const char *p = strstr(e, op_names[i]);
		size_t l = strlen(op_names[i]);

		if (p && (p == e || p[-1] == ',') && (p[l] == 0 || p[l] == ',')) {
			op_skip[i] = true;
			printf("# SYSFUZZ_SKIP: leaving out %s\n", op_names[i]);
		}
	}
	for (i = 0; i < OP_N; i++)
		if (!op_skip[i])
			total_weight += op_weight[i];
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	uint64_t seed = fz_default_seed();
	double dur = 30, t0, el, waited;
	long calls = 0, fails = 0, hangs = 0, kerr = 0, made = 0, opens0, opens;
	int opt, i, j, left, mc, wait_s = 60, fail = 0, n = 0, stuck = 0;
	bool reached;
	const char *bad = NULL;

	while ((opt = getopt(argc, argv, "s:t:d:n:w:vh")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': nthreads = atoi(optarg); break;
		case 'd': dur = strtod(optarg, NULL); break;
		case 'n': max_calls = strtol(optarg, NULL, 0); break;
		case 'w': wait_s = atoi(optarg); break;
		case 'v': verbose = true; break;
		default:
			fprintf(stderr, "usage: %s [-s SEED] [-t THREADS] [-d SECONDS] "
				"[-n CALLS] [-w WAIT_S] [-v]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAXTHREADS)
		nthreads = 4;
	if (max_calls >= 0 && dur == 30)
		dur = 1e9;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);
	printf("TAP version 13\n1..4\n");
	printf("# sysfuzz: seed %llu, %d threads, %.0f s\n",
	       (unsigned long long)seed, nthreads, dur);
	parse_skip();
	if (fz_private_netns(1000)) {
		printf("# cannot set up the namespace: %s\n", strerror(errno));
		return 2;
	}
	for (i = 0; i < NSLOTS; i++)
		atomic_store(&slots[i], -1);
	opens0 = fz_cnt("ActiveOpens");

	t0 = fz_now();
	for (i = 0; i < nthreads; i++) {
		workers[i].id = i;
		fz_seed(&workers[i].rng, seed + i);
		workers[i].live = !pthread_create(&workers[i].tid, NULL,
						  worker_main, &workers[i]);
	}
	while (fz_now() - t0 < dur) {
		fz_msleep(200);
		for (i = 0; i < nthreads; i++)
			watch(&workers[i]);
		if (max_calls >= 0 && atomic_load(&calls_done) >= max_calls)
			break;
	}
	atomic_store(&stop, true);
	for (i = 0; i < nthreads; i++) {
		/* Keep interrupting until every thread is out. */
		while (workers[i].live) {
			if (!pthread_tryjoin_np(workers[i].tid, NULL)) {
				workers[i].live = false;
				break;
			}
			for (j = 0; j < nthreads; j++)
				watch(&workers[j]);
			fz_msleep(100);
			if (fz_now() - t0 > dur + 120) {
				printf("# thread %d does not end\n", i);
				stuck++;
				break;
			}
		}
	}
	el = fz_now() - t0;
	for (i = 0; i < nthreads; i++) {
		for (j = 0; j < OP_N; j++) {
			calls += workers[i].calls[j];
			fails += workers[i].fails[j];
		}
		hangs += workers[i].hangs;
		kerr += workers[i].kerrno;
		if (workers[i].bad[0] && !bad)
			bad = workers[i].bad;
		made += workers[i].calls[OP_SOCKET] - workers[i].fails[OP_SOCKET];
		made += workers[i].calls[OP_SETUP] - workers[i].fails[OP_SETUP];
	}
	opens = fz_cnt("ActiveOpens") - opens0;
	/*
	 * The fuzzing reached toytcp: every thread ended, and unless the
	 * operations were left out, sockets were made and connections
	 * opened (toytcp's ActiveOpens in this namespace).
	 */
	reached = calls > 0 && !stuck && opens0 >= 0 &&
		  (made > 0 || (op_skip[OP_SOCKET] && op_skip[OP_SETUP])) &&
		  (opens > 0 || (op_skip[OP_CONNECT] && op_skip[OP_SETUP]));
	if (!reached)
		fail = 1;
	printf("%s %d sysfuzz: %ld calls in %.1f s, %.0f/s, %ld failed, reached toytcp: %ld sockets made, %ld connections opened, %d threads stuck (seed %llu)\n",
	       reached ? "ok" : "not ok", ++n, calls, el, calls / el, fails,
	       made, opens, stuck, (unsigned long long)seed);
	if (verbose)
		for (j = 0; j < OP_N; j++) {
			long c = 0, f = 0;

			for (i = 0; i < nthreads; i++) {
				c += workers[i].calls[j];
				f += workers[i].fails[j];
			}
			printf("#   %-11s %8ld calls %8ld failed\n", op_names[j], c, f);
		}
	if (kerr || hangs)
		fail = 1;
	printf("%s %d sysfuzz: no hung calls, no kernel-internal errnos (%ld hangs, %ld bad errnos%s%s)\n",
	       kerr || hangs ? "not ok" : "ok", ++n, hangs, kerr,
	       bad ? "; first: " : "", bad ? bad : "");

	for (i = 0; i < NSLOTS; i++) {
		int fd = atomic_exchange(&slots[i], -1);

		if (fd >= 0)
			close(fd);
	}
	left = fz_wait_ns_empty(wait_s, &waited);
	if (left) {
		printf("not ok %d sysfuzz: %d toytcp sockets left %.0f s after closing everything\n",
		       ++n, left, waited);
		fz_dump_ns_sockets();
		fail = 1;
	} else {
		printf("ok %d sysfuzz: every toytcp socket gone %.1f s after closing everything\n",
		       ++n, waited);
	}
	mc = mcast_left();
	printf("%s %d sysfuzz: no multicast memberships left on lo (%d)\n",
	       mc ? "not ok" : "ok", ++n, mc);
	if (mc) {
		fail = 1;
		if (system("sed 's/^/#   /' /proc/net/igmp") < 0)
			perror("system");
	}
	return fail;
}
