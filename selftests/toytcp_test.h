/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by toytcp's selftests.
 *
 * Every test talks to "the stack under test" through tt_socket()/tt_sin(),
 * which use AF_TOYTCP unless the environment variable TOYTCP_FAMILY names
 * another family.  TOYTCP_FAMILY=2 runs the same tests over Linux TCP
 * (AF_INET): a check that the expectations written here are what Linux
 * TCP does.  In that mode socket states come from /proc/net/tcp and the
 * counters from /proc/net/snmp and /proc/net/netstat; the few checks that
 * only make sense for the module (InRsts, LiveSockets, tw_timeout_ms)
 * are skipped.
 *
 * States and counters are always read through /proc/thread-self/net, so a
 * thread that setns()'d into a namespace sees that namespace's view.
 */
#ifndef TOYTCP_TEST_H
#define TOYTCP_TEST_H

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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/toytcp.h>

#include "kselftest_harness.h"

#define TT_UNUSED __attribute__((unused))

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif
#ifndef ETH_P_ALL
#define ETH_P_ALL 0x0003
#endif

/* Linux TCP state numbers, as printed in /proc/net/{tcp,toytcp}. */
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
};

static TT_UNUSED const char *tt_state_name(int st)
{
	static const char *const n[] = {
		"GONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING",
	};

	if (st >= 0 && st < (int)(sizeof(n) / sizeof(n[0])))
		return n[st];
	return st < 0 ? "READ-ERROR" : "?";
}

/* ------------------------------------------------------------------ */
/* Family under test                                                   */

static TT_UNUSED int tt_fam(void)
{
	static int fam = -1;

	if (fam < 0) {
		const char *e = getenv("TOYTCP_FAMILY");

		fam = (e && *e) ? atoi(e) : AF_TOYTCP;
	}
	return fam;
}

/* True when the tests run over Linux TCP (the sanity-check mode). */
static TT_UNUSED bool tt_is_linux(void)
{
	return tt_fam() == AF_INET;
}

static TT_UNUSED int tt_socket(void)
{
	return socket(tt_fam(), SOCK_STREAM, 0);
}

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

/* ------------------------------------------------------------------ */
/* Shell and namespaces                                                */

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

/* Switch the calling thread to net namespace nsfd (-1: stay). Returns a
 * handle for tt_ns_leave(). */
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

static TT_UNUSED int tt_link_up(const char *ifname)
{
	struct ifreq ifr;
	int s, r = -1;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

/* Move the calling process into a new, empty net namespace with lo up. */
static TT_UNUSED int tt_fresh_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return -1;
	return tt_link_up("lo");
}

/* A named namespace (ip netns add), so that the ip/tc tools can reach it. */
struct tt_ns {
	char name[48];
	int fd;
};

static TT_UNUSED int tt_ns_add(struct tt_ns *ns, const char *tag)
{
	snprintf(ns->name, sizeof(ns->name), "tt-%s-%d", tag, getpid());
	ns->fd = -1;
	tt_sh("ip netns del %s 2>/dev/null", ns->name);
	if (tt_sh("ip netns add %s", ns->name))
		return -1;
	{
		char p[128];

		snprintf(p, sizeof(p), "/var/run/netns/%s", ns->name);
		ns->fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (ns->fd < 0)
		return -1;
	return TT_IN_NS(ns->fd, tt_link_up("lo"));
}

static TT_UNUSED void tt_ns_del(struct tt_ns *ns)
{
	if (!ns->name[0])
		return;
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
	tt_sh("ip netns del %s 2>/dev/null", ns->name);
	ns->name[0] = 0;
}

/* Run a shell command with the calling thread in namespace nsfd. */
#define tt_sh_in(nsfd, ...) TT_IN_NS(nsfd, tt_sh(__VA_ARGS__))

/*
 * Two namespaces A and B joined by a veth pair: A has va 10.77.1.1/24,
 * B has vb 10.77.1.2/24.
 */
#define TT_IP_A "10.77.1.1"
#define TT_IP_B "10.77.1.2"

struct tt_topo {
	struct tt_ns a, b;
};

static TT_UNUSED int tt_topo_up(struct tt_topo *t, int mtu_a, int mtu_b)
{
	memset(t, 0, sizeof(*t));
	t->a.fd = t->b.fd = -1;
	if (tt_ns_add(&t->a, "a") || tt_ns_add(&t->b, "b"))
		return -1;
	if (tt_sh("ip -n %s link add va mtu %d type veth peer name vb mtu %d netns %s",
		  t->a.name, mtu_a, mtu_b, t->b.name))
		return -1;
	if (tt_sh("ip -n %s addr add " TT_IP_A "/24 dev va && ip -n %s link set va up",
		  t->a.name, t->a.name))
		return -1;
	if (tt_sh("ip -n %s addr add " TT_IP_B "/24 dev vb && ip -n %s link set vb up",
		  t->b.name, t->b.name))
		return -1;
	return 0;
}

static TT_UNUSED void tt_topo_down(struct tt_topo *t)
{
	tt_ns_del(&t->a);
	tt_ns_del(&t->b);
}

/* netem delay on both ends of the veth: one-way delay ms each direction. */
static TT_UNUSED int tt_topo_delay(struct tt_topo *t, int ms)
{
	if (tt_sh("tc -n %s qdisc add dev va root netem delay %dms limit 10000",
		  t->a.name, ms))
		return -1;
	return tt_sh("tc -n %s qdisc add dev vb root netem delay %dms limit 10000",
		     t->b.name, ms);
}

/* Turn segmentation/receive offloads off, so every frame is a wire frame. */
static TT_UNUSED int tt_topo_no_offload(struct tt_topo *t)
{
	if (tt_sh_in(t->a.fd, "ethtool -K va tso off gso off gro off >/dev/null 2>&1"))
		return -1;
	return tt_sh_in(t->b.fd, "ethtool -K vb tso off gso off gro off >/dev/null 2>&1");
}

static TT_UNUSED int tt_socket_in(int nsfd, int fam)
{
	return TT_IN_NS(nsfd, socket(fam, SOCK_STREAM, 0));
}

/* ------------------------------------------------------------------ */
/* Module parameters                                                   */

static TT_UNUSED long tt_param_get(const char *name)
{
	char p[256];
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/module/toytcp/parameters/%s", name);
	f = fopen(p, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static TT_UNUSED int tt_param_set(const char *name, long v)
{
	char p[256];
	FILE *f;
	int r;

	snprintf(p, sizeof(p), "/sys/module/toytcp/parameters/%s", name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	r = fprintf(f, "%ld\n", v) < 0;
	r |= fclose(f) != 0;
	return r ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* /proc/net/toytcp (or /proc/net/tcp)                                 */

struct tt_ent {
	uint32_t la, ra;	/* as in sin_addr.s_addr */
	int lp, rp;		/* host order */
	int st;
	unsigned int txq, rxq;
	unsigned long ino;
};

static TT_UNUSED const char *tt_proc_path(void)
{
	return tt_is_linux() ? "/proc/thread-self/net/tcp"
			     : "/proc/thread-self/net/toytcp";
}

/* Read all entries; returns count or -1. *out is malloc'ed. */
static TT_UNUSED int tt_proc_read(struct tt_ent **out)
{
	int n = 0, cap = 64;
	struct tt_ent *e;
	char line[512];
	FILE *f;

	*out = NULL;
	f = fopen(tt_proc_path(), "r");
	if (!f)
		return -1;
	e = malloc(cap * sizeof(*e));
	if (!e) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, ra, rp, st, tx, rx;
		unsigned long ino;

		if (sscanf(line, " %*d: %x:%x %x:%x %x %x:%x %*x:%*x %*x %*u %*d %lu",
			   &la, &lp, &ra, &rp, &st, &tx, &rx, &ino) != 8)
			continue;
		if (n == cap) {
			struct tt_ent *ne = realloc(e, 2 * cap * sizeof(*e));

			if (!ne)
				break;
			e = ne;
			cap *= 2;
		}
		e[n].la = la;
		e[n].lp = lp;
		e[n].ra = ra;
		e[n].rp = rp;
		e[n].st = st;
		e[n].txq = tx;
		e[n].rxq = rx;
		e[n].ino = ino;
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}

/*
 * State of the socket with this local and remote address (remote NULL:
 * 0.0.0.0:0, a listener).  TT_GONE when not listed or listed as CLOSE,
 * -1 when the file cannot be read.  If several entries match (Linux shows
 * a TIME_WAIT entry next to the socket it replaces for a moment) a
 * non-CLOSE one wins.
 */
static TT_UNUSED int tt_lookup(const struct sockaddr_in *l,
			       const struct sockaddr_in *r, struct tt_ent *out)
{
	uint32_t ra = r ? r->sin_addr.s_addr : 0;
	int rp = r ? ntohs(r->sin_port) : 0;
	struct tt_ent *e;
	int i, n, st = TT_GONE;

	n = tt_proc_read(&e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (e[i].la != l->sin_addr.s_addr || e[i].lp != ntohs(l->sin_port) ||
		    e[i].ra != ra || e[i].rp != rp)
			continue;
		if (e[i].st == TT_CLOSE)
			continue;
		st = e[i].st;
		if (out)
			*out = e[i];
		break;
	}
	free(e);
	return st;
}

/* State of the socket with this inode (TT_GONE if none). */
static TT_UNUSED int tt_lookup_ino(unsigned long ino, struct tt_ent *out)
{
	struct tt_ent *e;
	int i, n, st = TT_GONE;

	n = tt_proc_read(&e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (e[i].ino != ino || e[i].st == TT_CLOSE)
			continue;
		st = e[i].st;
		if (out)
			*out = e[i];
		break;
	}
	free(e);
	return st;
}

/* Number of listed entries with this local port in state st (-1: any state
 * but CLOSE).
 */
static TT_UNUSED int tt_count_port_state(int lport, int st)
{
	struct tt_ent *e;
	int i, n, c = 0;

	n = tt_proc_read(&e);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (e[i].lp == lport &&
		    (st < 0 ? e[i].st != TT_CLOSE : e[i].st == st))
			c++;
	free(e);
	return c;
}

static TT_UNUSED int tt_count_port(int lport)
{
	return tt_count_port_state(lport, -1);
}

/* Local/remote tuple of a connected fd. */
static TT_UNUSED int tt_fd_state(int fd)
{
	struct sockaddr_in l, r;

	if (tt_sockname(fd, &l) || tt_peername(fd, &r))
		return -1;
	return tt_lookup(&l, &r, NULL);
}

/* Wait until the tuple is in state st; returns the last state seen. */
static TT_UNUSED int tt_wait_state(const struct sockaddr_in *l,
				   const struct sockaddr_in *r, int st,
				   int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	int cur;

	for (;;) {
		cur = tt_lookup(l, r, NULL);
		if (cur == st || tt_now_ms() > end)
			return cur;
		tt_msleep(5);
	}
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */

/* "Sect: names..." / "Sect: values..." pairs (/proc/net/snmp, netstat). */
static TT_UNUSED long tt_kv_pairs(const char *path, const char *sect,
				  const char *name)
{
	char names[4096], vals[4096], pfx[64];
	long res = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	snprintf(pfx, sizeof(pfx), "%s:", sect);
	while (fgets(names, sizeof(names), f)) {
		char *sn, *sv, *tn, *tv;

		if (strncmp(names, pfx, strlen(pfx)) ||
		    names[strlen(pfx)] != ' ')
			continue;
		if (!fgets(vals, sizeof(vals), f))
			break;
		tn = strtok_r(names + strlen(pfx), " \n", &sn);
		tv = strtok_r(vals + strlen(pfx), " \n", &sv);
		while (tn && tv) {
			if (!strcmp(tn, name)) {
				res = strtol(tv, NULL, 10);
				break;
			}
			tn = strtok_r(NULL, " \n", &sn);
			tv = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return res;
}

/* A Linux TCP counter (Tcp: or TcpExt:) of the calling thread's netns. */
static TT_UNUSED long lnx_tcp_cnt(const char *name)
{
	long v = tt_kv_pairs("/proc/thread-self/net/snmp", "Tcp", name);

	if (v < 0)
		v = tt_kv_pairs("/proc/thread-self/net/netstat", "TcpExt", name);
	return v;
}

/* A Linux IP counter (Ip:) of the calling thread's netns. */
static TT_UNUSED long lnx_ip_cnt(const char *name)
{
	return tt_kv_pairs("/proc/thread-self/net/snmp", "Ip", name);
}

/*
 * A counter of the stack under test in the calling thread's netns, or -1
 * if it has none by that name (in Linux mode: InRsts and LiveSockets).
 */
static TT_UNUSED long tt_cnt(const char *name)
{
	char line[256], n[128];
	long v, res = -1;
	FILE *f;

	if (tt_is_linux())
		return lnx_tcp_cnt(name);
	f = fopen("/proc/thread-self/net/toytcp_snmp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", n, &v) == 2 && !strcmp(n, name)) {
			res = v;
			break;
		}
	}
	fclose(f);
	return res;
}

/* Counters the module must have; tt_cnt_has() tells if this mode has one. */
static TT_UNUSED bool tt_cnt_has(const char *name)
{
	if (!tt_is_linux())
		return true;
	return strcmp(name, "InRsts") && strcmp(name, "LiveSockets");
}

/* A snapshot of every counter named in the contract. */
#define TT_NCNT 15
static const char *const tt_cnt_names[TT_NCNT] TT_UNUSED = {
	"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
	"CurrEstab", "InSegs", "OutSegs", "RetransSegs", "InErrs",
	"InCsumErrors", "OutRsts", "InRsts", "ListenOverflows", "ListenDrops",
	"LiveSockets",
};

struct tt_snap {
	long v[TT_NCNT];
	long lnx_outrsts, lnx_inerrs, lnx_active, lnx_passive;
};

static TT_UNUSED void tt_snap_take(struct tt_snap *s)
{
	int i;

	for (i = 0; i < TT_NCNT; i++)
		s->v[i] = tt_cnt(tt_cnt_names[i]);
	s->lnx_outrsts = lnx_tcp_cnt("OutRsts");
	s->lnx_inerrs = lnx_tcp_cnt("InErrs");
	s->lnx_active = lnx_tcp_cnt("ActiveOpens");
	s->lnx_passive = lnx_tcp_cnt("PassiveOpens");
}

static TT_UNUSED void tt_snap_in(int nsfd, struct tt_snap *s)
{
	int old = tt_ns_enter(nsfd);

	tt_snap_take(s);
	tt_ns_leave(old);
}

static TT_UNUSED int tt_cnt_idx(const char *name)
{
	int i;

	for (i = 0; i < TT_NCNT; i++)
		if (!strcmp(tt_cnt_names[i], name))
			return i;
	return -1;
}

static TT_UNUSED long tt_snap_get(const struct tt_snap *s, const char *name)
{
	int i = tt_cnt_idx(name);

	return i < 0 ? -1 : s->v[i];
}

/*
 * Assert the change of a counter between two snapshots: the counter must
 * exist (in Linux mode a counter Linux lacks makes the check pass silently).
 */
#define EXPECT_DELTA(b, a, name, op, want) do {				\
	if (tt_cnt_has(name)) {						\
		long __b = tt_snap_get(b, name), __a = tt_snap_get(a, name); \
		EXPECT_NE(-1, __b) TH_LOG("counter %s missing", name);	\
		EXPECT_NE(-1, __a) TH_LOG("counter %s missing", name);	\
		if (__a != -1 && __b != -1 && !(__a - __b op (want))) {	\
			TH_LOG("counter %s: %ld -> %ld, delta %ld, want %s %ld", \
			       name, __b, __a, __a - __b, #op, (long)(want)); \
			_metadata->exit_code = KSFT_FAIL;		\
		}							\
	}								\
} while (0)

/* Wait (up to timeout_ms) for counter name to reach at least want. */
static TT_UNUSED long tt_cnt_wait(const char *name, long want, int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;
	long v;

	for (;;) {
		v = tt_cnt(name);
		if (v >= want || tt_now_ms() > end)
			return v;
		tt_msleep(10);
	}
}

/* ------------------------------------------------------------------ */
/* Connection helpers                                                  */

/* Listener bound to ip:port in namespace nsfd (-1: current). */
static TT_UNUSED int tt_listen_in(int nsfd, int fam, const char *ip, int port,
				  int backlog)
{
	struct sockaddr_in a = tt_sin(fam, ip, port);
	int one = 1, fd;

	fd = tt_socket_in(nsfd, fam);
	if (fd < 0)
		return -1;
	if (fam == AF_INET)
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
	int rev, fd;

	rev = tt_poll1(lfd, POLLIN, timeout_ms);
	if (rev == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rev < 0)
		return -1;
	fd = accept(lfd, TT_SA(peer ? peer : &tmp), &len);
	return fd;
}

/*
 * A connected pair: a client of family cfam in namespace cns (bound to
 * cip:cport when cip is given) connects to a listener of family sfam in
 * namespace sns at sip:sport.  Returns 0 and the three fds, or an errno.
 */
struct tt_conn {
	int c, s, l;
};

static TT_UNUSED int tt_pair(struct tt_conn *k, int cns, int cfam,
			     const char *cip, int cport, int sns, int sfam,
			     const char *sip, int sport)
{
	int err;

	k->c = k->s = k->l = -1;
	k->l = tt_listen_in(sns, sfam, sip, sport, 16);
	if (k->l < 0)
		return errno;
	k->c = tt_socket_in(cns, cfam);
	if (k->c < 0)
		return errno;
	if (cip) {
		struct sockaddr_in a = tt_sin(cfam, cip, cport);

		if (bind(k->c, TT_SA(&a), sizeof(a)))
			return errno;
	}
	err = tt_connect_to(k->c, cfam, sip, sport, 10000);
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
/* Deterministic data and a duplex transfer endpoint                   */

static inline uint64_t tt_mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The bytes [off, off+len) of the stream named by seed. */
static TT_UNUSED void tt_fill(uint64_t seed, uint64_t off, uint8_t *buf,
			      size_t len)
{
	while (len) {
		uint64_t w = tt_mix64(seed * 0x100000001b3ULL + (off >> 3));
		unsigned int o = off & 7;
		size_t n = 8 - o;

		if (n > len)
			n = len;
		memcpy(buf, (uint8_t *)&w + o, n);
		buf += n;
		off += n;
		len -= n;
	}
}

/*
 * One end of a bulk transfer, run in its own thread: sends tx_len bytes of
 * stream tx_seed (then shutdown(SHUT_WR) if shut_wr) while receiving and
 * checking rx_len bytes of stream rx_seed (then waiting for EOF if
 * want_eof).  Never blocks longer than stall_ms without progress.
 */
struct tt_ep {
	int fd;
	uint64_t tx_seed, rx_seed;
	size_t tx_len, rx_len;
	int stall_ms;
	bool shut_wr, want_eof;
	/* results */
	size_t sent, rcvd;
	bool eof;
	int err;		/* 0 ok */
	char msg[160];
	pthread_t th;
};

#define TT_CHUNK 65536

static TT_UNUSED void *tt_ep_run(void *arg)
{
	struct tt_ep *ep = arg;
	uint8_t *tx = malloc(TT_CHUNK), *rx = malloc(TT_CHUNK),
		*want = malloc(TT_CHUNK);
	size_t txoff = 0, txlen = 0;	/* buffered chunk [txoff, txlen) */
	bool shut_done = !ep->shut_wr;
	long long last = tt_now_ms();
	size_t last_sent = 0, last_rcvd = 0;

	if (!tx || !rx || !want) {
		ep->err = ENOMEM;
		snprintf(ep->msg, sizeof(ep->msg), "out of memory");
		goto out;
	}
	for (;;) {
		bool need_tx = ep->sent < ep->tx_len;
		bool need_rx = ep->want_eof ? !ep->eof : ep->rcvd < ep->rx_len;
		struct pollfd p = { .fd = ep->fd };
		int r;

		if (!need_tx && !shut_done) {
			if (shutdown(ep->fd, SHUT_WR)) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "shutdown(SHUT_WR): %s", strerror(errno));
				break;
			}
			shut_done = true;
		}
		if (!need_tx && !need_rx)
			break;
		if (ep->sent != last_sent || ep->rcvd != last_rcvd) {
			last_sent = ep->sent;
			last_rcvd = ep->rcvd;
			last = tt_now_ms();
		} else if (tt_now_ms() - last > ep->stall_ms) {
			ep->err = ETIMEDOUT;
			snprintf(ep->msg, sizeof(ep->msg),
				 "no progress for %d ms: sent %zu/%zu received %zu/%zu",
				 ep->stall_ms, ep->sent, ep->tx_len, ep->rcvd,
				 ep->rx_len);
			break;
		}
		p.events = (need_tx ? POLLOUT : 0) | (need_rx ? POLLIN : 0);
		r = poll(&p, 1, ep->stall_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ep->err = r ? errno : ETIMEDOUT;
			snprintf(ep->msg, sizeof(ep->msg),
				 "stalled %d ms: sent %zu/%zu received %zu/%zu",
				 ep->stall_ms, ep->sent, ep->tx_len, ep->rcvd,
				 ep->rx_len);
			break;
		}
		if (need_rx && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(ep->fd, rx, TT_CHUNK, MSG_DONTWAIT);

			if (n > 0) {
				if (ep->rcvd + n > ep->rx_len) {
					ep->err = EPROTO;
					snprintf(ep->msg, sizeof(ep->msg),
						 "received %zu bytes, more than the %zu sent",
						 ep->rcvd + n, ep->rx_len);
					break;
				}
				tt_fill(ep->rx_seed, ep->rcvd, want, n);
				if (memcmp(rx, want, n)) {
					ssize_t i = 0;

					while (rx[i] == want[i])
						i++;
					ep->err = EBADMSG;
					snprintf(ep->msg, sizeof(ep->msg),
						 "data differs at byte %zu",
						 ep->rcvd + i);
					break;
				}
				ep->rcvd += n;
			} else if (n == 0) {
				ep->eof = true;
				if (ep->rcvd != ep->rx_len) {
					ep->err = EPROTO;
					snprintf(ep->msg, sizeof(ep->msg),
						 "EOF after %zu of %zu bytes",
						 ep->rcvd, ep->rx_len);
					break;
				}
			} else if (errno != EAGAIN) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "recv after %zu bytes: %s", ep->rcvd,
					 strerror(errno));
				break;
			}
		}
		if (need_tx && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
			ssize_t n;

			if (txoff == txlen) {
				txlen = ep->tx_len - ep->sent;
				if (txlen > TT_CHUNK)
					txlen = TT_CHUNK;
				tt_fill(ep->tx_seed, ep->sent, tx, txlen);
				txoff = 0;
			}
			n = send(ep->fd, tx + txoff, txlen - txoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				txoff += n;
				ep->sent += n;
			} else if (n < 0 && errno != EAGAIN) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "send after %zu bytes: %s", ep->sent,
					 strerror(errno));
				break;
			}
		}
	}
out:
	/* On failure wake the peer up rather than let it wait for a stall. */
	if (ep->err)
		shutdown(ep->fd, SHUT_RDWR);
	free(tx);
	free(rx);
	free(want);
	return NULL;
}

static TT_UNUSED void tt_ep_init(struct tt_ep *ep, int fd, uint64_t tx_seed,
				 size_t tx_len, uint64_t rx_seed, size_t rx_len)
{
	memset(ep, 0, sizeof(*ep));
	ep->fd = fd;
	ep->tx_seed = tx_seed;
	ep->tx_len = tx_len;
	ep->rx_seed = rx_seed;
	ep->rx_len = rx_len;
	ep->stall_ms = 30000;
	ep->shut_wr = true;
	ep->want_eof = true;
}

static TT_UNUSED int tt_ep_start(struct tt_ep *ep)
{
	return pthread_create(&ep->th, NULL, tt_ep_run, ep);
}

static TT_UNUSED void tt_ep_join(struct tt_ep *ep)
{
	pthread_join(ep->th, NULL);
}

/* Run two endpoints to completion. */
static TT_UNUSED void tt_ep_pair(struct tt_ep *a, struct tt_ep *b)
{
	tt_ep_start(a);
	tt_ep_start(b);
	tt_ep_join(a);
	tt_ep_join(b);
}

/* ------------------------------------------------------------------ */
/* A thread that records the states one connection goes through        */

#define TT_REC_MAX 64

struct tt_rec {
	int nsfd;
	struct sockaddr_in l, r;
	bool listener;
	int stop;
	int cur;
	int seq[TT_REC_MAX];
	int n;
	pthread_t th;
};

static TT_UNUSED void *tt_rec_run(void *arg)
{
	struct tt_rec *rec = arg;

	if (rec->nsfd >= 0 && setns(rec->nsfd, CLONE_NEWNET)) {
		__atomic_store_n(&rec->cur, -1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	while (!__atomic_load_n(&rec->stop, __ATOMIC_SEQ_CST)) {
		int st = tt_lookup(&rec->l, rec->listener ? NULL : &rec->r, NULL);
		int n = __atomic_load_n(&rec->n, __ATOMIC_SEQ_CST);

		if ((n == 0 || rec->seq[n - 1] != st) && n < TT_REC_MAX) {
			rec->seq[n] = st;
			__atomic_store_n(&rec->n, n + 1, __ATOMIC_SEQ_CST);
		}
		__atomic_store_n(&rec->cur, st, __ATOMIC_SEQ_CST);
		usleep(1000);
	}
	return NULL;
}

/* Start recording the socket l <-> r (as seen from namespace nsfd). */
static TT_UNUSED int tt_rec_start(struct tt_rec *rec, int nsfd,
				  const struct sockaddr_in *l,
				  const struct sockaddr_in *r)
{
	memset(rec, 0, sizeof(*rec));
	rec->nsfd = nsfd;
	rec->l = *l;
	rec->r = *r;
	rec->cur = -2;
	if (pthread_create(&rec->th, NULL, tt_rec_run, rec))
		return -1;
	/* Return once the first sample is taken: the caller's next action
	 * cannot happen before the recorder looked. */
	{
		long long end = tt_now_ms() + 10000;

		while (__atomic_load_n(&rec->cur, __ATOMIC_SEQ_CST) == -2 &&
		       tt_now_ms() < end)
			usleep(500);
	}
	return __atomic_load_n(&rec->cur, __ATOMIC_SEQ_CST) < 0 ? -1 : 0;
}

static TT_UNUSED void tt_rec_stop(struct tt_rec *rec)
{
	__atomic_store_n(&rec->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(rec->th, NULL);
}

/* Wait until the recorder sees state st; true if it did. */
static TT_UNUSED bool tt_rec_wait(struct tt_rec *rec, int st, int timeout_ms)
{
	long long end = tt_now_ms() + timeout_ms;

	while (tt_now_ms() <= end) {
		if (__atomic_load_n(&rec->cur, __ATOMIC_SEQ_CST) == st)
			return true;
		tt_msleep(2);
	}
	return false;
}

/* Did the recorded sequence contain want[0..n) in this order? */
static TT_UNUSED bool tt_rec_saw(struct tt_rec *rec, const int *want, int n)
{
	int i, j = 0, cnt = __atomic_load_n(&rec->n, __ATOMIC_SEQ_CST);

	for (i = 0; i < cnt && j < n; i++)
		if (rec->seq[i] == want[j])
			j++;
	return j == n;
}

static TT_UNUSED const char *tt_rec_str(struct tt_rec *rec, char *buf,
					size_t len)
{
	int i, cnt = __atomic_load_n(&rec->n, __ATOMIC_SEQ_CST);
	size_t o = 0;

	buf[0] = 0;
	for (i = 0; i < cnt && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s", i ? " " : "",
			      tt_state_name(rec->seq[i]));
	return buf;
}

#define EXPECT_REC_SAW(rec, ...) do {					\
	const int __w[] = { __VA_ARGS__ };				\
	char __b[512];							\
	EXPECT_TRUE(tt_rec_saw(rec, __w, sizeof(__w) / sizeof(__w[0]))) \
		TH_LOG("states seen: %s; want in order: %s",		\
		       tt_rec_str(rec, __b, sizeof(__b)), #__VA_ARGS__); \
} while (0)

/* ------------------------------------------------------------------ */
/* Raw IPv4/TCP packets: capture (AF_PACKET) and injection (raw socket) */

struct tt_tcpinfo {
	uint32_t saddr, daddr;		/* network order */
	int sport, dport;		/* host order */
	uint32_t seq, ack;		/* host order */
	int flags;			/* TH_* bits */
	int win;
	int iphl, thl, iplen, paylen;
	bool frag;			/* MF set or offset nonzero */
	int mss;			/* MSS option value, -1 if none */
	const uint8_t *tcp;		/* header start */
};

#define TT_FIN 0x01
#define TT_SYN 0x02
#define TT_RST 0x04
#define TT_PSH 0x08
#define TT_ACK 0x10

/* Parse an IPv4 packet; false if it is not (a first fragment of) TCP. */
static TT_UNUSED bool tt_parse(const uint8_t *p, int len, struct tt_tcpinfo *t)
{
	int i, off;

	memset(t, 0, sizeof(*t));
	if (len < 20 || (p[0] >> 4) != 4)
		return false;
	t->iphl = (p[0] & 15) * 4;
	t->iplen = (p[2] << 8) | p[3];
	off = ((p[6] << 8) | p[7]);
	t->frag = (off & 0x2000) || (off & 0x1fff);
	memcpy(&t->saddr, p + 12, 4);
	memcpy(&t->daddr, p + 16, 4);
	if (p[9] != IPPROTO_TCP)
		return false;
	if (off & 0x1fff)	/* not the first fragment: no header */
		return true;
	if (len < t->iphl + 20)
		return false;
	p += t->iphl;
	t->tcp = p;
	t->sport = (p[0] << 8) | p[1];
	t->dport = (p[2] << 8) | p[3];
	t->seq = ((uint32_t)p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7];
	t->ack = ((uint32_t)p[8] << 24) | (p[9] << 16) | (p[10] << 8) | p[11];
	t->thl = (p[12] >> 4) * 4;
	t->flags = p[13];
	t->win = (p[14] << 8) | p[15];
	t->paylen = t->iplen - t->iphl - t->thl;
	t->mss = -1;
	for (i = 20; i < t->thl && t->iphl + i < len;) {
		if (p[i] == 0)
			break;
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= t->thl || p[i + 1] < 2)
			break;
		if (p[i] == 2 && p[i + 1] == 4)
			t->mss = (p[i + 2] << 8) | p[i + 3];
		i += p[i + 1];
	}
	return true;
}

/*
 * AF_PACKET socket receiving the IPv4 packets of one interface, both
 * directions (outgoing frames only reach ETH_P_ALL sockets).
 */
static TT_UNUSED int tt_cap_open(const char *ifname)
{
	struct sockaddr_ll sll;
	int fd, sz = 8 << 20;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, TT_SA(&sll), sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Next captured packet: length, 0 on timeout, -1 on error. */
static TT_UNUSED int tt_cap_next(int fd, uint8_t *buf, int len, int *pkttype,
				 int timeout_ms)
{
	struct sockaddr_ll sll;
	socklen_t sl = sizeof(sll);
	int rev = tt_poll1(fd, POLLIN, timeout_ms);
	ssize_t n;

	if (rev <= 0)
		return rev;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT, TT_SA(&sll), &sl);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (sll.sll_protocol != htons(ETH_P_IP))
		return 0;	/* not IPv4: the caller polls again */
	if (pkttype)
		*pkttype = sll.sll_pkttype;
	return n;
}

static TT_UNUSED uint16_t tt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static TT_UNUSED uint32_t tt_csum_add(uint32_t sum, const uint8_t *p, int len)
{
	int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* Fill in the checksum of a TCP segment (header + payload, len bytes). */
static TT_UNUSED void tt_tcp_csum(uint8_t *tcp, int len, uint32_t saddr,
				  uint32_t daddr)
{
	uint32_t sum = 0;
	uint16_t c;

	tcp[16] = tcp[17] = 0;
	sum = tt_csum_add(sum, (uint8_t *)&saddr, 4);
	sum = tt_csum_add(sum, (uint8_t *)&daddr, 4);
	sum += IPPROTO_TCP;
	sum += len;
	sum = tt_csum_add(sum, tcp, len);
	c = tt_csum_fold(sum);
	tcp[16] = c >> 8;
	tcp[17] = c & 0xff;
}

/* Send a TCP segment in a hand-made IPv4 header through a raw socket. */
static TT_UNUSED int tt_raw_send(const uint8_t *tcp, int len, uint32_t saddr,
				 uint32_t daddr)
{
	uint8_t pkt[1600];
	struct sockaddr_in dst;
	int fd, r;

	if (len + 20 > (int)sizeof(pkt))
		return -1;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (len + 20) >> 8;
	pkt[3] = (len + 20) & 0xff;
	pkt[6] = 0x40;		/* DF */
	pkt[8] = 64;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, &saddr, 4);
	memcpy(pkt + 16, &daddr, 4);
	memcpy(pkt + 20, tcp, len);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = daddr;
	r = sendto(fd, pkt, len + 20, 0, TT_SA(&dst), sizeof(dst));
	close(fd);
	return r == len + 20 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Common fixture setup                                                */

/* Fail early, with a clear message, when the stack under test is absent. */
#define TT_REQUIRE_STACK() do {						\
	int __fd = tt_socket();						\
	ASSERT_LE(0, __fd) TH_LOG("socket(family %d, SOCK_STREAM): %s%s", \
				  tt_fam(), strerror(errno),		\
				  tt_is_linux() ? "" : " (is toytcp loaded?)"); \
	close(__fd);							\
	ASSERT_EQ(0, access(tt_proc_path(), R_OK))			\
		TH_LOG("%s: %s", tt_proc_path(), strerror(errno));	\
} while (0)

/* The TIME-WAIT length the tests use (module only). */
#define TT_TW_MS 1000

#define TT_SET_TW(ms) do {						\
	if (!tt_is_linux())						\
		ASSERT_EQ(0, tt_param_set("tw_timeout_ms", ms))		\
			TH_LOG("cannot set tw_timeout_ms: %s", strerror(errno)); \
} while (0)

#endif /* TOYTCP_TEST_H */
