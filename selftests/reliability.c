// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp's reliability machinery, end to end, against itself and against
 * Linux TCP: retransmission and recovery under loss, reordering,
 * duplication and corruption, zero-window probing, retransmission and
 * keepalive timeouts, SYN retries, Nagle/TCP_NODELAY/TCP_CORK and delayed
 * ACKs.
 *
 * The network: two namespaces A (va, 10.77.1.1) and B (vb, 10.77.1.2)
 * joined by a veth pair, built in-process, with TSO, GSO, GRO and TX
 * checksumming off and gso_max_segs 1 (Linux TCP builds GSO packets
 * whatever the device says): every packet is one wire frame with a real
 * checksum that the receiver verifies.  Impairments are netem qdiscs on
 * BOTH veth ends, so data and ACKs are both affected.  A peer that
 * "vanishes" is an iptables DROP of everything into and out of B (IP
 * only: ARP keeps working, so neither stack hears of a neighbour failure,
 * only silence; toytcp's hook runs after the filter table).
 *
 * A bulk sender is always in A and its receiver in B.  Every assertion
 * about a mechanism reads the counters of the namespace whose end is the
 * stack under test: /proc/net/toytcp_snmp for toytcp, /proc/net/snmp and
 * /proc/net/netstat (under Linux's names) for Linux TCP.  Under
 * TOYTCP_FAMILY=2 every "toytcp" end is Linux TCP, a check of the
 * expectations; counters Linux has no equivalent of (SackBlocksRecv) are
 * then not checked.
 */
#include "toytcp_test.h"

#include <net/if_arp.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#define PORT 5100
#define MB (1u << 20)
#define IP_A TT_IP_A
#define IP_B TT_IP_B

/* ------------------------------------------------------------------ */
/* Counters of either stack, by toytcp's names                         */

/* The last three are Linux's alone, logged for comparison. */
#define RL_NC 24
static const char *const rl_names[RL_NC] = {
	"InSegs", "OutSegs", "RetransSegs", "InCsumErrors", "OutRsts",
	"EstabResets", "AttemptFails", "CurrEstab", "Timeouts", "FastRetrans",
	"OfoQueue", "SackBlocksRecv", "SackRecovery", "ZeroWindowProbes",
	"DelayedAcks", "KeepaliveProbes", "AbortOnTimeout", "RcvQueueDrops",
	"BacklogDrops", "RcvCoalesce", "OfoPruned", "TCPZeroWindowDrop",
	"TCPOFODrop", "RcvPruned",
};

/* Linux's name for one of toytcp's counters, NULL if it has none. */
static const char *rl_lnx_name(const char *n)
{
	static const char *const map[][2] = {
		{ "Timeouts", "TCPTimeouts" },
		{ "FastRetrans", "TCPFastRetrans" },
		{ "OfoQueue", "TCPOFOQueue" },
		{ "SackRecovery", "TCPSackRecovery" },
		{ "ZeroWindowProbes", "TCPWinProbe" },
		{ "DelayedAcks", "DelayedACKs" },
		{ "KeepaliveProbes", "TCPKeepAlive" },
		{ "AbortOnTimeout", "TCPAbortOnTimeout" },
		{ "RcvQueueDrops", "TCPRcvQDrop" },
		{ "BacklogDrops", "TCPBacklogDrop" },
		{ "RcvCoalesce", "TCPRcvCoalesce" },
		{ "OfoPruned", "OfoPruned" },
		{ "SackBlocksRecv", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i][0], n))
			return map[i][1];
	return n;	/* the Tcp: MIB names are the same */
}

/* Is this end the module (as opposed to Linux TCP)? */
static bool rl_is_module(bool tt_end)
{
	return tt_end && !tt_is_linux();
}

/* Counter name of the stack at this end, in the calling thread's netns. */
static long rl_cnt(bool tt_end, const char *name)
{
	const char *ln;

	if (rl_is_module(tt_end))
		return tt_cnt(name);
	ln = rl_lnx_name(name);
	return ln ? lnx_tcp_cnt(ln) : -1;
}

struct rl_snap {
	bool tt;		/* the end in this namespace is under test */
	long v[RL_NC];
};

static void rl_snap(int nsfd, bool tt_end, struct rl_snap *s)
{
	int i, old = tt_ns_enter(nsfd);

	s->tt = tt_end;
	for (i = 0; i < RL_NC; i++)
		s->v[i] = rl_cnt(tt_end, rl_names[i]);
	tt_ns_leave(old);
}

#define RL_NONE LONG_MIN

/* The growth of a counter between two snapshots, RL_NONE if unreadable. */
static long rl_d(const struct rl_snap *b, const struct rl_snap *a,
		 const char *name)
{
	int i;

	for (i = 0; i < RL_NC; i++) {
		if (strcmp(rl_names[i], name))
			continue;
		if (b->v[i] < 0 || a->v[i] < 0)
			return RL_NONE;
		return a->v[i] - b->v[i];
	}
	return RL_NONE;
}

/*
 * Expect the growth of counter name (b -> a) to satisfy "op want".  A
 * counter the module lacks fails; one Linux lacks is reported, unchecked.
 */
#define RL_EXPECT(who, b, a, name, op, want) do {			\
	long __d = rl_d(b, a, name);					\
	if (__d == RL_NONE) {						\
		if (rl_is_module((b)->tt) || rl_lnx_name(name)) {	\
			TH_LOG("%s: counter %s unreadable", who, name);	\
			_metadata->exit_code = KSFT_FAIL;		\
		} else {						\
			TH_LOG("%s: Linux has no %s; not checked", who, name); \
		}							\
	} else if (!(__d op (long)(want))) {				\
		TH_LOG("%s (%s): %s grew by %ld, want %s %ld", who,	\
		       rl_is_module((b)->tt) ? "toytcp" : "Linux TCP",	\
		       name, __d, #op, (long)(want));			\
		_metadata->exit_code = KSFT_FAIL;			\
	}								\
} while (0)

static void rl_log_snap(struct __test_metadata *_metadata, const char *who,
			const struct rl_snap *b, const struct rl_snap *a)
{
	char buf[600];
	size_t o = 0;
	int i;

	for (i = 0; i < RL_NC && o < sizeof(buf); i++) {
		long d = rl_d(b, a, rl_names[i]);

		if (d != RL_NONE && d != 0)
			o += snprintf(buf + o, sizeof(buf) - o, " %s+%ld",
				      rl_names[i], d);
	}
	TH_LOG("%s (%s):%s", who,
	       rl_is_module(b->tt) ? "toytcp" : "Linux TCP", o ? buf : " -");
}

/* ------------------------------------------------------------------ */
/* Topology, parameters, iptables                                      */

/*
 * The two namespaces are made in-process (unshare, rtnetlink, ioctls), not
 * with ip(8): under TCG every program started costs 0.1 to 1 s, and a
 * test case here would otherwise spend more time building its network
 * than using it.  Only tc and iptables are run, without a shell.
 */
struct rl_net {
	struct { int fd; } a, b;	/* namespace fds; -1 when absent */
};

/*
 * Run argv (no shell) in namespace nsfd, stdin from text if given, stdout
 * into out[outlen] if given.  Returns the exit status.
 */
static int rl_run_io(int nsfd, const char *text, char *out, size_t outlen,
		     char *const argv[])
{
	int old = tt_ns_enter(nsfd), p[2] = { -1, -1 }, q[2] = { -1, -1 };
	int st = 0;
	size_t got = 0;
	pid_t pid;

	if (old < 0)
		return -1;
	if ((text && pipe(p)) || (out && pipe(q))) {
		tt_ns_leave(old);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (text) {
			dup2(p[0], 0);
			close(p[0]);
			close(p[1]);
		}
		if (out) {
			dup2(q[1], 1);
			close(q[0]);
			close(q[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "# exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	tt_ns_leave(old);
	if (text) {
		close(p[0]);
		if (pid > 0 && write(p[1], text, strlen(text)) < 0)
			st = -1;
		close(p[1]);
	}
	if (out) {
		ssize_t n;

		close(q[1]);
		while (pid > 0 && got + 1 < outlen &&
		       (n = read(q[0], out + got, outlen - 1 - got)) > 0)
			got += n;
		out[got] = 0;
		close(q[0]);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rl_run(int nsfd, const char *text, char *const argv[])
{
	return rl_run_io(nsfd, text, NULL, 0, argv);
}

/* Packets the root qdisc of dev handled (sent + dropped), -1 if unknown. */
static long rl_qdisc_pkts(int nsfd, const char *dev)
{
	char out[2048], *p;
	char *const argv[] = { "tc", "-s", "qdisc", "show", "dev", (char *)dev,
			       NULL };
	unsigned long long bytes, pkts, drops = 0;

	if (rl_run_io(nsfd, NULL, out, sizeof(out), argv))
		return -1;
	p = strstr(out, "Sent ");
	if (!p || sscanf(p, "Sent %llu bytes %llu pkt (dropped %llu", &bytes,
			 &pkts, &drops) < 2)
		return -1;
	return pkts + drops;
}

/* A new network namespace with lo up; the calling thread stays put. */
static int rl_netns_new(void)
{
	int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd = -1;

	if (old < 0)
		return -1;
	if (!unshare(CLONE_NEWNET)) {
		if (!tt_link_up("lo"))
			fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (setns(old, CLONE_NEWNET)) {
			perror("setns back");
			abort();
		}
	}
	close(old);
	return fd;
}

static struct rtattr *rl_nla(struct nlmsghdr *n, int type, const void *data,
			     int len)
{
	char *at = (char *)n + NLMSG_ALIGN(n->nlmsg_len);
	struct rtattr *rta = (struct rtattr *)at;

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(at + RTA_LENGTH(0), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static void rl_nla_end(struct nlmsghdr *n, struct rtattr *nest)
{
	nest->rta_len = (char *)n + n->nlmsg_len - (char *)nest;
}

/*
 * Veth va (in the calling thread's namespace) <-> vb in namespace nsb.
 * gso_max_segs 1: Linux TCP builds GSO packets whatever the device's
 * features say, and netem would drop, corrupt, duplicate or delay a whole
 * burst of up to 44 segments at a time; with at most one segment per
 * packet, every segment is a wire frame to netem too.
 */
static bool rl_gso_allowed;	/* leave gso_max_segs at its default */

static int rl_veth(int nsb)
{
	union {
		struct nlmsghdr n;
		char buf[1024];
	} req;
	struct {
		struct nlmsghdr n;
		struct nlmsgerr e;
		char buf[512];
	} ack;
	struct ifinfomsg ifi, peer;
	struct rtattr *li, *data, *pr;
	int s, r = -1, mtu = 1500;
	__u32 fd = nsb, one = 1;
	struct nlmsghdr *n = &req.n;

	memset(&req, 0, sizeof(req));
	memset(&ifi, 0, sizeof(ifi));
	memset(&peer, 0, sizeof(peer));
	ifi.ifi_family = AF_UNSPEC;
	n->nlmsg_len = NLMSG_LENGTH(sizeof(ifi));
	n->nlmsg_type = RTM_NEWLINK;
	n->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	memcpy(NLMSG_DATA(n), &ifi, sizeof(ifi));
	rl_nla(n, IFLA_IFNAME, "va", 3);
	rl_nla(n, IFLA_MTU, &mtu, sizeof(mtu));
	if (!rl_gso_allowed)
		rl_nla(n, IFLA_GSO_MAX_SEGS, &one, sizeof(one));
	li = rl_nla(n, IFLA_LINKINFO, NULL, 0);
	rl_nla(n, IFLA_INFO_KIND, "veth", 5);
	data = rl_nla(n, IFLA_INFO_DATA, NULL, 0);
	pr = rl_nla(n, VETH_INFO_PEER, &peer, sizeof(peer));
	rl_nla(n, IFLA_IFNAME, "vb", 3);
	rl_nla(n, IFLA_MTU, &mtu, sizeof(mtu));
	if (!rl_gso_allowed)
		rl_nla(n, IFLA_GSO_MAX_SEGS, &one, sizeof(one));
	rl_nla(n, IFLA_NET_NS_FD, &fd, sizeof(fd));
	rl_nla_end(n, pr);
	rl_nla_end(n, data);
	rl_nla_end(n, li);

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -1;
	if (send(s, n, n->nlmsg_len, 0) == (ssize_t)n->nlmsg_len &&
	    recv(s, &ack, sizeof(ack), 0) > 0 &&
	    ack.n.nlmsg_type == NLMSG_ERROR) {
		r = ack.e.error;
		if (r)
			fprintf(stderr, "# RTM_NEWLINK veth: %s\n", strerror(-r));
	}
	close(s);
	return r;
}

/* Address ip/24 on ifname, up, and TSO, GSO, GRO and TX checksums off. */
static int rl_if_setup(const char *ifname, const char *ip)
{
	static const __u32 off[] = {
		ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO, ETHTOOL_STXCSUM,
	};
	struct sockaddr_in a = tt_sin(AF_INET, ip, 0);
	struct ethtool_value ev;
	struct ifreq ifr;
	int s, r = 0;
	size_t i;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	memcpy(&ifr.ifr_addr, &a, sizeof(a));
	r |= ioctl(s, SIOCSIFADDR, &ifr);
	a = tt_sin(AF_INET, "255.255.255.0", 0);
	memcpy(&ifr.ifr_netmask, &a, sizeof(a));
	r |= ioctl(s, SIOCSIFNETMASK, &ifr);
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.cmd = off[i];
		ifr.ifr_data = (void *)&ev;
		/* GRO is off on veth already, and not always settable. */
		if (ioctl(s, SIOCETHTOOL, &ifr) && off[i] != ETHTOOL_SGRO) {
			fprintf(stderr, "# ethtool %#x on %s: %s\n", off[i],
				ifname, strerror(errno));
			r = -1;
		}
	}
	close(s);
	return r | tt_link_up(ifname);
}

/* The MAC address of ifname, in the calling thread's namespace. */
static int rl_if_hwaddr(const char *ifname, struct sockaddr *mac)
{
	struct ifreq ifr;
	int s, r;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	r = ioctl(s, SIOCGIFHWADDR, &ifr);
	if (!r)
		*mac = ifr.ifr_hwaddr;
	close(s);
	return r;
}

/* A permanent ARP entry on ifname: ip is at mac. */
static int rl_arp_perm(const char *ifname, const char *ip,
		       const struct sockaddr *mac)
{
	struct sockaddr_in a = tt_sin(AF_INET, ip, 0);
	struct arpreq req;
	int s, r;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	memcpy(&req.arp_pa, &a, sizeof(a));
	req.arp_ha = *mac;
	req.arp_flags = ATF_PERM | ATF_COM;
	strncpy(req.arp_dev, ifname, sizeof(req.arp_dev) - 1);
	r = ioctl(s, SIOCSARP, &req);
	if (r)
		fprintf(stderr, "# SIOCSARP %s on %s: %s\n", ip, ifname,
			strerror(errno));
	close(s);
	return r;
}

/* netem with these arguments (space separated) on device dev of nsfd. */
static int rl_netem(int nsfd, const char *dev, const char *args)
{
	char copy[256], *argv[40], *save = NULL, *w;
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", args);
	argv[n++] = "tc";
	argv[n++] = "qdisc";
	argv[n++] = "add";
	argv[n++] = "dev";
	argv[n++] = (char *)dev;
	argv[n++] = "root";
	argv[n++] = "netem";
	for (w = strtok_r(copy, " ", &save); w && n < 36;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n++] = "limit";
	argv[n++] = "10000";
	argv[n] = NULL;
	return rl_run(nsfd, NULL, argv);
}

/* Namespaces this test process gave iptables rules (for rl_unblock()). */
static int rl_fw_ns[2] = { -1, -1 };

/* iptables rules (iptables-restore syntax, table filter) in nsfd. */
static int rl_iptables(int nsfd, const char *rules)
{
	char text[512];
	char *const argv[] = { "iptables-restore", NULL };

	if (*rules && rl_fw_ns[0] != nsfd && rl_fw_ns[1] != nsfd)
		rl_fw_ns[rl_fw_ns[0] < 0 ? 0 : 1] = nsfd;
	snprintf(text, sizeof(text), "*filter\n%sCOMMIT\n", rules);
	return rl_run(nsfd, text, argv);
}

static void rl_net_down(struct rl_net *t)
{
	if (t->a.fd >= 0)
		close(t->a.fd);
	if (t->b.fd >= 0)
		close(t->b.fd);
	t->a.fd = t->b.fd = -1;
}

/*
 * A <-> B, offloads off, netem (if given) on both ends.  With netem, each
 * end knows the other's MAC address from a permanent ARP entry: ARP has no
 * checksum, and a reply that "corrupt" flipped a bit of the sender's
 * address in would send every frame to a MAC nobody has until the entry
 * ages out, 15 to 45 s later (a connect() timed out that way once).
 */
static int rl_topo(struct rl_net *t, const char *netem)
{
	struct sockaddr mac_a, mac_b;

	t->a.fd = rl_netns_new();
	t->b.fd = rl_netns_new();
	if (t->a.fd < 0 || t->b.fd < 0)
		return -1;
	if (TT_IN_NS(t->a.fd, rl_veth(t->b.fd)))
		return -1;
	if (TT_IN_NS(t->a.fd, rl_if_setup("va", IP_A)) ||
	    TT_IN_NS(t->b.fd, rl_if_setup("vb", IP_B)))
		return -1;
	if (!netem)
		return 0;
	if (TT_IN_NS(t->a.fd, rl_if_hwaddr("va", &mac_a)) ||
	    TT_IN_NS(t->b.fd, rl_if_hwaddr("vb", &mac_b)) ||
	    TT_IN_NS(t->a.fd, rl_arp_perm("va", IP_B, &mac_b)) ||
	    TT_IN_NS(t->b.fd, rl_arp_perm("vb", IP_A, &mac_a)))
		return -1;
	if (rl_netem(t->a.fd, "va", netem))
		return -1;
	return rl_netem(t->b.fd, "vb", netem);
}

/*
 * What the fixtures over A and B start with: no connection yet (k, if
 * given), the namespaces (netem, if given, on both ends), the stack under
 * test in A (in B with stack_in_b) and TIME-WAIT short.
 */
static void rl_fixture_net(struct __test_metadata *_metadata, struct rl_net *t,
			   struct tt_conn *k, const char *netem, bool stack_in_b)
{
	if (k)
		k->c = k->s = k->l = -1;
	ASSERT_EQ(0, rl_topo(t, netem))
		TH_LOG("cannot build the namespaces%s%s",
		       netem ? " with netem " : "", netem ? netem : "");
	TT_IN_NS(stack_in_b ? t->b.fd : t->a.fd, ({ TT_REQUIRE_STACK(); 0; }));
	TT_SET_TW(TT_TW_MS);
}

/* Connect a socket of family afam in A to a listener of bfam in B. */
static void rl_fixture_pair(struct __test_metadata *_metadata, struct rl_net *t,
			    struct tt_conn *k, int afam, int bfam)
{
	int err = tt_pair(k, t->a.fd, afam, NULL, 0, t->b.fd, bfam, IP_B, PORT);

	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
}

/* Everything into and out of namespace nsfd is dropped (IP only). */
static int rl_blackhole(int nsfd)
{
	return rl_iptables(nsfd, "-A INPUT -j DROP\n-A OUTPUT -j DROP\n");
}

/*
 * Undo rl_blackhole() (and any rule) before the sockets close, so that
 * what is left of them can say goodbye and go: a socket that never gets
 * a segment out would otherwise stay until the namespace's stack gives
 * up on it, and keep the module from unloading meanwhile.
 */
static void rl_unblock(const struct rl_net *t)
{
	int i;

	for (i = 0; i < 2; i++)
		if (rl_fw_ns[i] >= 0 &&
		    (rl_fw_ns[i] == t->a.fd || rl_fw_ns[i] == t->b.fd))
			rl_iptables(rl_fw_ns[i], "");
}

/*
 * A retry limit of the stack under test: the module parameter (global,
 * saved for restoring), or under TOYTCP_FAMILY=2 the per-namespace Linux
 * sysctl in namespace ns.
 */
struct rl_param {
	const char *name;
	long saved;
};

static int rl_sysctl_set(const char *name, long v)
{
	char path[128];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	r = fprintf(f, "%ld\n", v) < 0;
	r |= fclose(f) != 0;
	return r ? -1 : 0;
}

static int rl_param_set(struct rl_param *p, const char *mod_name,
			const char *sysctl, int nsfd, long v)
{
	p->name = NULL;
	if (tt_is_linux())
		return TT_IN_NS(nsfd, rl_sysctl_set(sysctl, v));
	p->saved = tt_param_get(mod_name);
	if (p->saved < 0)
		return -1;
	p->name = mod_name;
	return tt_param_set(mod_name, v);
}

static void rl_param_restore(struct rl_param *p)
{
	if (p->name)
		tt_param_set(p->name, p->saved);
	p->name = NULL;
}

static long rl_min_rto_ms(void)
{
	long v = tt_is_linux() ? 200 : tt_param_get("min_rto_ms");

	return v > 0 ? v : 200;
}

static int rl_outq(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCOUTQ, &v))
		return -1;
	return v;
}

static int rl_inq(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCINQ, &v))
		return -1;
	return v;
}

static int rl_setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int rl_getint(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v = -12345;

	if (getsockopt(fd, level, opt, &v, &len))
		return -errno - 100000;
	return v;
}

/*
 * A one-way transfer of len bytes from sfd to rfd, compared byte by
 * byte: the sender shuts down its side, the receiver reads to EOF.
 */
struct rl_xfer {
	struct tt_ep s, r;
	long long ms;	/* start until the receiver saw EOF */
};

static void rl_xfer_init(struct rl_xfer *x, int sfd, int rfd, size_t len,
			 uint64_t seed, int stall_ms)
{
	tt_ep_init(&x->s, sfd, seed, len, 0, 0);
	x->s.want_eof = false;
	x->s.stall_ms = stall_ms;
	tt_ep_init(&x->r, rfd, 0, 0, seed, len);
	x->r.shut_wr = false;
	x->r.stall_ms = stall_ms;
}

#define RL_EXPECT_XFER(x, len) do {					\
	EXPECT_EQ(0, (x)->s.err) TH_LOG("sender: %s", (x)->s.msg);	\
	EXPECT_EQ(0, (x)->r.err) TH_LOG("receiver: %s", (x)->r.msg);	\
	EXPECT_EQ((size_t)(len), (x)->s.sent);				\
	EXPECT_EQ((size_t)(len), (x)->r.rcvd);				\
	EXPECT_TRUE((x)->r.eof);					\
} while (0)

static void rl_xfer_run(struct rl_xfer *x)
{
	long long t0 = tt_now_ms();

	tt_ep_start(&x->s);
	tt_ep_start(&x->r);
	tt_ep_join(&x->r);
	x->ms = tt_now_ms() - t0;
	tt_ep_join(&x->s);
}

/* A thread that reads and discards whatever arrives until told to stop. */
struct rl_sink {
	int fd;
	int stop;
	size_t rcvd;
	int err;
	pthread_t th;
};

static void *rl_sink_run(void *arg)
{
	struct rl_sink *k = arg;
	static __thread char buf[65536];

	while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST)) {
		ssize_t n;

		if (tt_poll1(k->fd, POLLIN, 100) <= 0)
			continue;
		n = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			__atomic_add_fetch(&k->rcvd, n, __ATOMIC_SEQ_CST);
		} else if (n == 0) {
			break;
		} else if (errno != EAGAIN) {
			k->err = errno;
			break;
		}
	}
	return NULL;
}

static int rl_sink_start(struct rl_sink *k, int fd)
{
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	return pthread_create(&k->th, NULL, rl_sink_run, k);
}

static void rl_sink_stop(struct rl_sink *k)
{
	__atomic_store_n(&k->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(k->th, NULL);
}

static int rl_ping(int a, int b);

/* Log the control block of a connection (after a failure, for the lead). */
static void rl_dump(struct __test_metadata *_metadata, const char *who,
		    int fd, bool tt_end)
{
	if (rl_is_module(tt_end)) {
		struct toytcp_info ti;
		socklen_t len = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len)) {
			TH_LOG("%s: TOYTCP_INFO: %s", who, strerror(errno));
			return;
		}
		TH_LOG("%s (toytcp): state %u timers %#x retries %u backoff %u rto %u ms srtt %u us; acked %u, in flight %u, unsent %u, snd_wnd %u, cwnd %u, ssthresh %u, sacked %u; rcvd %u, rcv_wnd %u; retrans %u",
		       who, ti.state, ti.timers, ti.retries, ti.backoff,
		       ti.rto_ms, ti.srtt_us, ti.snd_una - ti.iss - 1,
		       ti.snd_nxt - ti.snd_una, ti.write_seq - ti.snd_nxt,
		       ti.snd_wnd, ti.cwnd, ti.ssthresh, ti.sacked_bytes,
		       ti.rcv_nxt - ti.irs - 1, ti.rcv_wnd, ti.total_retrans);
	} else {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
			TH_LOG("%s: TCP_INFO: %s", who, strerror(errno));
			return;
		}
		TH_LOG("%s (Linux TCP): state %u ca_state %u retransmits %u backoff %u rto %u us rtt %u us; unacked %u sacked %u lost %u retrans %u cwnd %u; rcv_space %u, total_retrans %u, SIOCINQ %d, SIOCOUTQ %d",
		       who, ti.tcpi_state, ti.tcpi_ca_state, ti.tcpi_retransmits,
		       ti.tcpi_backoff, ti.tcpi_rto, ti.tcpi_rtt,
		       ti.tcpi_unacked, ti.tcpi_sacked, ti.tcpi_lost,
		       ti.tcpi_retrans, ti.tcpi_snd_cwnd, ti.tcpi_rcv_space,
		       ti.tcpi_total_retrans, rl_inq(fd), rl_outq(fd));
	}
}

/* ------------------------------------------------------------------ */
/* 1. The netem matrix                                                 */

enum rl_kind { K_DELAY, K_LOSS, K_REORDER, K_DUP, K_CORRUPT, K_RATE };

FIXTURE(netem) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(netem) {
	const char *qdisc;	/* netem arguments, on both veth ends */
	enum rl_kind kind;
	size_t len;		/* bytes sent from A to B */
	long rate_bps;		/* K_RATE: the rate */
	bool snd_tt;		/* the sender (in A) is the stack under test */
	bool rcv_tt;		/* the receiver (in B) is */
};

#define RL_NETEM(tag, q, k, l, r)					\
	FIXTURE_VARIANT_ADD(netem, tag##_toytcp_to_toytcp) {		\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd_tt = true, .rcv_tt = true,				\
	};								\
	FIXTURE_VARIANT_ADD(netem, tag##_toytcp_to_linux) {		\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd_tt = true, .rcv_tt = false,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, tag##_linux_to_toytcp) {		\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd_tt = false, .rcv_tt = true,			\
	}

/*
 * 4 MB each, except where the transfer is slow under TCG: 2 MB with
 * jitter, 5% loss and reordering, 1 MB with 10% loss.
 */
RL_NETEM(delay10ms_jitter2ms, "delay 10ms 2ms", K_DELAY, 2 * MB, 0);
RL_NETEM(loss1pct, "loss 1%", K_LOSS, 4 * MB, 0);
RL_NETEM(loss5pct, "loss 5%", K_LOSS, 2 * MB, 0);
RL_NETEM(loss10pct, "loss 10%", K_LOSS, 1 * MB, 0);
RL_NETEM(reorder25pct_gap5, "delay 10ms reorder 25% 50% gap 5", K_REORDER,
	 2 * MB, 0);
RL_NETEM(duplicate5pct, "duplicate 5%", K_DUP, 4 * MB, 0);
RL_NETEM(corrupt1pct, "corrupt 1%", K_CORRUPT, 4 * MB, 0);
RL_NETEM(rate10mbit, "rate 10mbit", K_RATE, 4 * MB, 10000000);

FIXTURE_SETUP(netem)
{
	rl_fixture_net(_metadata, &self->t, &self->k, variant->qdisc, false);
}

FIXTURE_TEARDOWN(netem)
{
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

TEST_F_TIMEOUT(netem, transfer_intact_and_recovery_counted, 240)
{
	int sfam = variant->snd_tt ? tt_fam() : AF_INET;
	int rfam = variant->rcv_tt ? tt_fam() : AF_INET;
	struct rl_snap sb, rb, sa, ra;
	struct rl_xfer x;
	long long setup_t0 = tt_now_ms();
	int err;

	/* The receiver listens in B, the sender connects from A. */
	err = tt_pair(&self->k, self->t.a.fd, sfam, NULL, 0, self->t.b.fd,
		      rfam, IP_B, PORT);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	rl_snap(self->t.a.fd, variant->snd_tt, &sb);
	rl_snap(self->t.b.fd, variant->rcv_tt, &rb);

	rl_xfer_init(&x, self->k.c, self->k.s, variant->len, 0x7e57, 60000);
	rl_xfer_run(&x);
	RL_EXPECT_XFER(&x, variant->len);
	if (x.s.err || x.r.err) {
		rl_dump(_metadata, "sender", self->k.c, variant->snd_tt);
		rl_dump(_metadata, "receiver", self->k.s, variant->rcv_tt);
		tt_msleep(2000);
		rl_dump(_metadata, "sender 2 s later", self->k.c, variant->snd_tt);
	}
	TH_LOG("netem \"%s\": %zu bytes in %lld ms (%.2f Mbit/s), case %lld ms so far",
	       variant->qdisc, variant->len, x.ms,
	       x.ms ? variant->len * 8.0 / x.ms / 1000 : 0.0,
	       tt_now_ms() - setup_t0);

	close(self->k.c);
	close(self->k.s);
	self->k.c = self->k.s = -1;
	tt_msleep(200);
	rl_snap(self->t.a.fd, variant->snd_tt, &sa);
	rl_snap(self->t.b.fd, variant->rcv_tt, &ra);
	rl_log_snap(_metadata, "sender", &sb, &sa);
	rl_log_snap(_metadata, "receiver", &rb, &ra);

	/*
	 * The impairment met every segment on its own (a check of the
	 * setup): netem on va handled at least as many packets as the
	 * sender sent segments (Linux's OutSegs leaves out retransmissions).
	 */
	{
		long q = rl_qdisc_pkts(self->t.a.fd, "va");
		long out = rl_d(&sb, &sa, "OutSegs");

		if (!rl_is_module(variant->snd_tt))
			out += rl_d(&sb, &sa, "RetransSegs");
		EXPECT_LE(out, q)
			TH_LOG("netem on va handled %ld packets for %ld segments: GSO bursts?",
			       q, out);
	}

	/* Nobody gave up on the connection. */
	if (variant->snd_tt)
		RL_EXPECT("sender", &sb, &sa, "EstabResets", ==, 0);
	if (variant->rcv_tt)
		RL_EXPECT("receiver", &rb, &ra, "EstabResets", ==, 0);

	switch (variant->kind) {
	case K_DELAY:
		/* Nothing to count: jitter alone must not break anything. */
		break;
	case K_LOSS:
		if (variant->snd_tt) {
			long fr = rl_d(&sb, &sa, "FastRetrans");
			long to = rl_d(&sb, &sa, "Timeouts");

			RL_EXPECT("sender", &sb, &sa, "RetransSegs", >, 0);
			EXPECT_TRUE(fr > 0 || to > 0)
				TH_LOG("sender: neither fast retransmit (%ld) nor a timeout (%ld) recovered the losses",
				       fr, to);
			/* Holes at the receiver make it send SACK blocks. */
			RL_EXPECT("sender", &sb, &sa, "SackBlocksRecv", >, 0);
		}
		if (variant->rcv_tt)
			RL_EXPECT("receiver", &rb, &ra, "OfoQueue", >, 0);
		break;
	case K_REORDER:
		if (variant->rcv_tt)
			RL_EXPECT("receiver", &rb, &ra, "OfoQueue", >, 0);
		if (variant->snd_tt)
			RL_EXPECT("sender", &sb, &sa, "SackBlocksRecv", >, 0);
		break;
	case K_DUP: {
		/*
		 * The receiver got more segments than the sender sent.
		 * toytcp's OutSegs counts retransmissions; Linux's does not
		 * (RFC 1213's tcpOutSegs), so add them back for Linux.
		 */
		long out = rl_d(&sb, &sa, "OutSegs");
		long rtx = rl_d(&sb, &sa, "RetransSegs");
		long in = rl_d(&rb, &ra, "InSegs");

		ASSERT_NE(RL_NONE, out);
		ASSERT_NE(RL_NONE, rtx);
		ASSERT_NE(RL_NONE, in);
		if (!rl_is_module(variant->snd_tt))
			out += rtx;
		/* 5% of some 3000 segments: about 150 duplicates. */
		EXPECT_LE(out + 20, in)
			TH_LOG("receiver saw %ld segments, sender sent %ld: no duplicates arrived?",
			       in, out);
		break;
	}
	case K_CORRUPT:
		/* The receiver, toytcp or Linux, verified and dropped. */
		RL_EXPECT("receiver", &rb, &ra, "InCsumErrors", >, 0);
		break;
	case K_RATE: {
		long long min_ms = (long long)variant->len * 8 * 1000 /
				   variant->rate_bps;

		EXPECT_GE(x.ms, min_ms)
			TH_LOG("%zu bytes at %ld bit/s took %lld ms, less than the %lld ms the rate allows",
			       variant->len, variant->rate_bps, x.ms, min_ms);
		break;
	}
	}
	if (_metadata->exit_code == KSFT_FAIL) {
		char *const sa[] = { "tc", "-s", "qdisc", "show", "dev", "va", NULL };
		char *const sb_[] = { "tc", "-s", "qdisc", "show", "dev", "vb", NULL };

		rl_run(self->t.a.fd, NULL, sa);
		rl_run(self->t.b.fd, NULL, sb_);
	}
}

/* ------------------------------------------------------------------ */
/* Fixtures over a plain link: the direction and who is under test     */

FIXTURE(path) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(path) {
	bool snd_tt;	/* the sender in A is the stack under test */
	bool rcv_tt;	/* the receiver in B is */
	bool gso;	/* Linux TCP may send GSO packets over the veth */
	int rcvbuf;	/* SO_RCVBUF of the receiver's listener, if set */
};

FIXTURE_VARIANT_ADD(path, toytcp_to_toytcp) { .snd_tt = true, .rcv_tt = true };
FIXTURE_VARIANT_ADD(path, toytcp_to_linux) { .snd_tt = true, .rcv_tt = false };
FIXTURE_VARIANT_ADD(path, linux_to_toytcp) { .snd_tt = false, .rcv_tt = true };
/* As veth between containers is: up to 64 KB per packet from Linux TCP. */
FIXTURE_VARIANT_ADD(path, linux_gso_to_toytcp) {
	.snd_tt = false, .rcv_tt = true, .gso = true,
};
/* A receive buffer the application chose (64 KB, 128 KB in effect). */
FIXTURE_VARIANT_ADD(path, toytcp_to_toytcp_rcvbuf64k) {
	.snd_tt = true, .rcv_tt = true, .rcvbuf = 65536,
};
FIXTURE_VARIANT_ADD(path, linux_to_toytcp_rcvbuf64k) {
	.snd_tt = false, .rcv_tt = true, .rcvbuf = 65536,
};

FIXTURE_SETUP(path)
{
	rl_gso_allowed = variant->gso;
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
}

FIXTURE_TEARDOWN(path)
{
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* As tt_pair(), with SO_RCVBUF set on the listener before listen(). */
static int rl_path_pair(struct tt_conn *k, struct rl_net *t, bool snd_tt,
			bool rcv_tt, int rcvbuf)
{
	int sfam = rcv_tt ? tt_fam() : AF_INET, cfam = snd_tt ? tt_fam() : AF_INET;
	struct sockaddr_in a = tt_sin(sfam, IP_B, PORT);
	int one = 1, err;

	if (!rcvbuf)
		return tt_pair(k, t->a.fd, cfam, NULL, 0, t->b.fd, sfam, IP_B,
			       PORT);
	k->c = k->s = -1;
	k->l = tt_socket_in(t->b.fd, sfam);
	if (k->l < 0)
		return errno;
	setsockopt(k->l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(k->l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(k->l, TT_SA(&a), sizeof(a)) || listen(k->l, 8))
		return errno;
	k->c = tt_socket_in(t->a.fd, cfam);
	if (k->c < 0)
		return errno;
	err = tt_connect_to(k->c, cfam, IP_B, PORT, 10000);
	if (err)
		return err;
	k->s = tt_accept_to(k->l, 10000, NULL);
	return k->s < 0 ? errno : 0;
}

/*
 * 2. A receiver that stops reading: its window closes, the sender's queue
 * stays put while it probes the window, and when reading resumes the
 * rest of the transfer goes through intact.
 */
TEST_F_TIMEOUT(path, zero_window_probed_while_reader_sleeps, 120)
{
	struct rl_snap sb, s1, s2, sa, rb, rm, ra;
	int q0 = -1, q1, inq0, inq1, stable = 0, last = -1, last_in = -1;
	int sndbuf, rcvbuf;
	long long t0, t_resume;
	struct rl_xfer x;
	size_t len, sent0;
	int err;

	err = rl_path_pair(&self->k, &self->t, variant->snd_tt, variant->rcv_tt,
			   variant->rcvbuf);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	/* More than both buffers hold, whatever their sizes. */
	sndbuf = rl_getint(self->k.c, SOL_SOCKET, SO_SNDBUF);
	rcvbuf = rl_getint(self->k.s, SOL_SOCKET, SO_RCVBUF);
	ASSERT_LT(0, sndbuf);
	ASSERT_LT(0, rcvbuf);
	len = sndbuf + rcvbuf + 2 * MB;
	if (len < 4 * MB)
		len = 4 * MB;
	TH_LOG("SO_SNDBUF %d, SO_RCVBUF %d: %zu bytes", sndbuf, rcvbuf, len);
	rl_snap(self->t.a.fd, variant->snd_tt, &sb);
	rl_snap(self->t.b.fd, variant->rcv_tt, &rb);

	/* The sender runs; the receiver does not read yet. */
	rl_xfer_init(&x, self->k.c, self->k.s, len, 0x2e60, 30000);
	ASSERT_EQ(0, tt_ep_start(&x.s));

	/*
	 * Wait until nothing moves for 1 s: neither the sender's queue nor
	 * the receiver's (a sender that waits for its own buffer to grow
	 * holds still for a moment too).
	 */
	t0 = tt_now_ms();
	while (tt_now_ms() - t0 < 15000) {
		int q = rl_outq(self->k.c), iq = rl_inq(self->k.s);

		if (q > 0 && q == last && iq == last_in) {
			if (++stable >= 10) {
				q0 = q;
				break;
			}
		} else {
			stable = 0;
		}
		last = q;
		last_in = iq;
		tt_msleep(100);
	}
	sent0 = __atomic_load_n(&x.s.sent, __ATOMIC_SEQ_CST);
	inq0 = rl_inq(self->k.s);
	TH_LOG("window closed after %lld ms: SIOCOUTQ %d, SIOCINQ at the receiver %d, %zu of %zu bytes written",
	       tt_now_ms() - t0, q0, inq0, sent0, len);
	EXPECT_LT(0, q0) TH_LOG("the sender's queue never stopped moving (last %d)",
				last);

	/* The reader sleeps: nothing moves, the sender probes. */
	rl_snap(self->t.a.fd, variant->snd_tt, &s1);
	tt_msleep(3000);
	rl_snap(self->t.a.fd, variant->snd_tt, &s2);
	q1 = rl_outq(self->k.c);
	inq1 = rl_inq(self->k.s);
	/*
	 * Closed: nothing reaches the receiver, bar what a window smaller
	 * than a segment, left as its buffer filled, lets a probe carry; the
	 * sender's queue does not fall (it may grow: Linux TCP enlarges its
	 * send buffer and the application writes more).
	 */
	EXPECT_LT(0, q1);
	EXPECT_LT(q0 - q1, 1448)
		TH_LOG("SIOCOUTQ went from %d to %d while the window was closed",
		       q0, q1);
	EXPECT_LT(inq1 - inq0, 1448)
		TH_LOG("SIOCINQ went from %d to %d while the window was closed",
		       inq0, inq1);
	if (inq1 != inq0) {
		TH_LOG("%d bytes went into a window smaller than a segment",
		       inq1 - inq0);
		rl_log_snap(_metadata, "sender while the reader slept", &s1, &s2);
	} else if (variant->snd_tt) {
		/* A zero window: the sender must probe it. */
		RL_EXPECT("sender while the reader slept", &s1, &s2,
			  "ZeroWindowProbes", >, 0);
	} else {
		rl_log_snap(_metadata, "sender while the reader slept", &s1, &s2);
	}

	/* The reader wakes up: the rest arrives, intact. */
	rl_snap(self->t.b.fd, variant->rcv_tt, &rm);
	t_resume = tt_now_ms();
	ASSERT_EQ(0, tt_ep_start(&x.r));
	tt_ep_join(&x.r);
	tt_ep_join(&x.s);
	RL_EXPECT_XFER(&x, len);
	TH_LOG("the reader resumed: transfer complete %lld ms later",
	       tt_now_ms() - t_resume);

	rl_snap(self->t.a.fd, variant->snd_tt, &sa);
	rl_snap(self->t.b.fd, variant->rcv_tt, &ra);
	rl_log_snap(_metadata, "sender", &sb, &sa);
	rl_log_snap(_metadata, "receiver", &rb, &ra);
	/*
	 * On this lossless link the receiver never had to drop data inside
	 * the window it offered, neither while the window closed nor while
	 * the reader drained the queue (RFC 9293 3.8.6.2.2: a receiver does
	 * not take back the window it offered; Linux TCP coalesces its
	 * backlog and collapses its queue rather than drop).
	 */
	RL_EXPECT("receiver until the reader woke", &rb, &rm, "RcvQueueDrops",
		  ==, 0);
	RL_EXPECT("receiver while the reader drained it", &rm, &ra,
		  "RcvQueueDrops", ==, 0);
	RL_EXPECT("receiver until the reader woke", &rb, &rm, "BacklogDrops",
		  ==, 0);
	RL_EXPECT("receiver while the reader drained it", &rm, &ra,
		  "BacklogDrops", ==, 0);
}

/* ------------------------------------------------------------------ */
/*
 * 2b. Send-queue skbs of many segments.  GSO is allowed on the pair, so
 * toytcp's sender queues skbs of up to 44 segments and hands each to IP
 * whole; the veth has no GSO of its own, so the segments are cut in
 * software before they cross it and B sees each one alone.  A segment
 * lost on its own leaves a hole in the middle of such an skb: SACKs and
 * cumulative ACKs must split it there, and only the holes go again.
 */
FIXTURE(gso) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(gso) {
	bool rcv_tt;	/* the receiver in B is the stack under test too */
	int slack;	/* resends allowed beyond the drops, in % of them */
};

/*
 * Between two toytcp ends on 6.1 a few more go again than were dropped:
 * 73 to 84 for 73 (a fast recovery or two more than drops; the cause
 * not looked into); to Linux, 73 or 74.
 */
FIXTURE_VARIANT_ADD(gso, toytcp_to_toytcp) { .rcv_tt = true, .slack = 25 };
FIXTURE_VARIANT_ADD(gso, toytcp_to_linux) { .rcv_tt = false, .slack = 10 };

FIXTURE_SETUP(gso)
{
	rl_gso_allowed = true;
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	rl_fixture_pair(_metadata, &self->t, &self->k, tt_fam(),
			variant->rcv_tt ? tt_fam() : AF_INET);
}

FIXTURE_TEARDOWN(gso)
{
	rl_unblock(&self->t);
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* Packets the first DROP rule of INPUT in nsfd dropped, -1 if unknown. */
static long rl_drop_count(int nsfd)
{
	char *const argv[] = { "iptables", "-w", "-nvxL", "INPUT", NULL };
	char out[4096], *line;
	long n;

	if (rl_run_io(nsfd, NULL, out, sizeof(out), argv))
		return -1;
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "DROP") && sscanf(line, "%ld", &n) == 1)
			return n;
	return -1;
}

/*
 * Bytes queued but not acknowledged cost their skbs' overhead on top
 * (sk_wmem_queued counts truesize): about 1 KB per skb, two thirds more
 * than the data with one 1460-byte segment per skb, 2% with 44.
 */
TEST_F_TIMEOUT(gso, send_queue_holds_many_segments_per_skb, 60)
{
	static char buf[1 << 20];
	struct toytcp_info info;
	socklen_t len = sizeof(info);
	ssize_t n;

	if (tt_is_linux())
		SKIP(return, "TOYTCP_INFO is toytcp's");
	/* Nothing from A reaches B: everything stays queued. */
	ASSERT_EQ(0, rl_iptables(self->t.b.fd, "-A INPUT -p tcp -j DROP\n"));
	memset(buf, 'q', sizeof(buf));
	n = send(self->k.c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
	ASSERT_LT(64 * 1024, n) TH_LOG("send: %zd (%s)", n, strerror(errno));
	ASSERT_EQ(0, getsockopt(self->k.c, SOL_TOYTCP, TOYTCP_INFO, &info,
				&len));
	TH_LOG("%zd bytes queued, %u bytes of send buffer used, MSS %u",
	       n, info.sndbuf_used, info.mss);
	EXPECT_EQ(info.snd_una + (__u32)n, info.write_seq);
	EXPECT_LT(info.sndbuf_used, n + n / 10)
		TH_LOG("over 10%% overhead: skbs of a few segments each");
}

TEST_F_TIMEOUT(gso, single_segment_loss_resends_only_the_holes, 120)
{
	const size_t len = 4 * MB;
	struct rl_snap sb, sa;
	struct rl_xfer x;
	char rule[160];
	long drops, re;

	/* Every 40th segment to B, once: a retransmission falls elsewhere
	 * in the count.
	 */
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -m statistic --mode nth --every 40 --packet 39 -j DROP\n",
		 PORT);
	ASSERT_EQ(0, rl_iptables(self->t.b.fd, rule));
	rl_snap(self->t.a.fd, true, &sb);
	rl_xfer_init(&x, self->k.c, self->k.s, len, 0x6501, 60000);
	rl_xfer_run(&x);
	RL_EXPECT_XFER(&x, len);
	tt_msleep(200);
	rl_snap(self->t.a.fd, true, &sa);
	drops = rl_drop_count(self->t.b.fd);
	re = rl_d(&sb, &sa, "RetransSegs");
	TH_LOG("%zu bytes in %lld ms, %ld segments dropped, %ld resent",
	       len, x.ms, drops, re);
	rl_log_snap(_metadata, "sender", &sb, &sa);
	ASSERT_LT(len / 1448 / 50, drops) TH_LOG("the rule dropped too little");
	/* Each hole once (a retransmission the rule drops is one drop
	 * more), give or take a loss probe or a needless recovery.  Without the
	 * splits, what SACKs cover in the middle of an skb counts for
	 * nothing, and whole skbs go again: 175 resent for 76 drops to
	 * Linux (94 for 74 between toytcp ends), measured.  With the
	 * duplicate-ACK count left over from the last recovery, two toytcp
	 * ends on 6.1 resent 115 to 243 for 74 to 77.
	 */
	EXPECT_LE(drops, re);
	EXPECT_LE(re, drops + drops * variant->slack / 100 + 3);
	RL_EXPECT("sender", &sb, &sa, "SackRecovery", >, 0);
	RL_EXPECT("sender", &sb, &sa, "Timeouts", <=, 3);
}

/* ------------------------------------------------------------------ */
/*
 * 2c. The receive queue.  Segments arrive one per skb (one segment per
 * packet on this pair, and veth does no GRO), about 2400 bytes of
 * truesize for 1460 of data.  Queued in sequence, each is merged into
 * the skb before it (skb_try_coalesce()), so unread data costs little
 * more than its bytes.  The receiver in B is toytcp, the sender either.
 */
FIXTURE(rcvq) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(rcvq) {
	bool snd_tt;
};

FIXTURE_VARIANT_ADD(rcvq, toytcp_sender) { .snd_tt = true };
FIXTURE_VARIANT_ADD(rcvq, linux_sender) { .snd_tt = false };

FIXTURE_SETUP(rcvq)
{
	rl_gso_allowed = false;
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, true);
	rl_fixture_pair(_metadata, &self->t, &self->k,
			variant->snd_tt ? tt_fam() : AF_INET, tt_fam());
}

FIXTURE_TEARDOWN(rcvq)
{
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/*
 * 1 MiB that nobody reads: measured 1.04 times its size in the receive
 * buffer from a toytcp sender, 1.21 from Linux TCP (some of its skbs keep
 * their data in a head that cannot be merged); 1.66 times with an skb per
 * segment, as before the merging.
 */
TEST_F_TIMEOUT(rcvq, unread_segments_merge_into_few_skbs, 60)
{
	static char buf[1 << 20];
	struct toytcp_info info;
	socklen_t len = sizeof(info);
	struct rl_snap b, a;
	size_t sent = 0;
	int i;

	if (tt_is_linux())
		SKIP(return, "TOYTCP_INFO is toytcp's");
	memset(buf, 'r', sizeof(buf));
	rl_snap(self->t.b.fd, true, &b);
	/* Nobody reads: all of it waits in B's receive queue. */
	while (sent < sizeof(buf)) {
		ssize_t n = send(self->k.c, buf + sent, sizeof(buf) - sent,
				 MSG_NOSIGNAL);

		ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
		sent += n;
	}
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, getsockopt(self->k.s, SOL_TOYTCP, TOYTCP_INFO,
					&info, &len));
		if (info.rcv_nxt - info.copied_seq == sizeof(buf))
			break;
		tt_msleep(10);
	}
	rl_snap(self->t.b.fd, true, &a);
	rl_log_snap(_metadata, "receiver", &b, &a);
	TH_LOG("%u bytes unread, %u bytes of receive buffer used",
	       info.rcv_nxt - info.copied_seq, info.rcvbuf_used);
	ASSERT_EQ(sizeof(buf), info.rcv_nxt - info.copied_seq);
	EXPECT_LT(info.rcvbuf_used, sizeof(buf) + sizeof(buf) * 2 / 5)
		TH_LOG("over 40%% overhead: segments not merged");
	RL_EXPECT("receiver", &b, &a, "RcvCoalesce", >, 0);
	RL_EXPECT("receiver", &b, &a, "RcvQueueDrops", ==, 0);
	RL_EXPECT("receiver", &b, &a, "BacklogDrops", ==, 0);
	/* And the bytes are right. */
	ASSERT_EQ((ssize_t)sizeof(buf),
		  tt_recv_all(self->k.s, buf, sizeof(buf), 5000));
	for (i = 0; i < (int)sizeof(buf); i++)
		if (buf[i] != 'r')
			break;
	EXPECT_EQ((int)sizeof(buf), i);
}

/* ------------------------------------------------------------------ */
/*
 * 3. The peer vanishes mid-transfer: the stack under test (the sender in
 * A) retransmits `retries` times with exponential backoff, then reports
 * ETIMEDOUT.  Fixture "cut": the sender is under test, the peer either.
 */
#define RL_RETRIES 3

FIXTURE(cut) {
	struct rl_net t;
	struct tt_conn k;
	struct rl_param p;
	struct rl_sink sink;
	bool sink_on;
};

FIXTURE_VARIANT(cut) {
	bool peer_tt;
};

FIXTURE_VARIANT_ADD(cut, toytcp_peer) { .peer_tt = true };
FIXTURE_VARIANT_ADD(cut, linux_peer) { .peer_tt = false };

FIXTURE_SETUP(cut)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	ASSERT_EQ(0, rl_param_set(&self->p, "retries", "tcp_retries2",
				  self->t.a.fd, RL_RETRIES))
		TH_LOG("cannot set the retry limit");
}

FIXTURE_TEARDOWN(cut)
{
	rl_unblock(&self->t);
	rl_param_restore(&self->p);
	if (self->sink_on)
		rl_sink_stop(&self->sink);
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/*
 * Connect, stream to a reading peer until 256 KB arrived, then make the
 * peer vanish with data in flight.  Returns the time of the cut.
 */
static long long rl_cut_midstream(struct __test_metadata *_metadata,
				  FIXTURE_DATA(cut) *self, bool peer_tt)
{
	static char buf[65536];
	long long t0;
	int err, q;

	err = tt_pair(&self->k, self->t.a.fd, tt_fam(), NULL, 0, self->t.b.fd,
		      peer_tt ? tt_fam() : AF_INET, IP_B, PORT);
	if (err) {
		TH_LOG("connect: %s", strerror(err));
		return -1;
	}
	if (rl_sink_start(&self->sink, self->k.s))
		return -1;
	self->sink_on = true;
	memset(buf, 'x', sizeof(buf));
	t0 = tt_now_ms();
	while (__atomic_load_n(&self->sink.rcvd, __ATOMIC_SEQ_CST) < 256 * 1024) {
		ssize_t n;

		if (tt_now_ms() - t0 > 20000) {
			TH_LOG("the peer received only %zu bytes in 20 s",
			       self->sink.rcvd);
			return -1;
		}
		if (tt_poll1(self->k.c, POLLOUT, 100) <= 0)
			continue;
		n = send(self->k.c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			TH_LOG("send before the cut: %s", strerror(errno));
			return -1;
		}
	}
	if (rl_blackhole(self->t.b.fd))
		return -1;
	/* Whatever was sent before may all be acknowledged by now: the
	 * sender keeps sending, into the void. */
	if (send(self->k.c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) <= 0) {
		TH_LOG("send after the cut: %s", strerror(errno));
		return -1;
	}
	t0 = tt_now_ms();
	q = rl_outq(self->k.c);
	TH_LOG("peer gone after %zu bytes received; %d bytes queued at the sender",
	       self->sink.rcvd, q);
	if (q <= 0) {
		TH_LOG("nothing in flight at the cut");
		return -1;
	}
	return t0;
}

/* Bounds for the abort: after `retries` retransmissions, not much later. */
static void rl_check_abort_time(struct __test_metadata *_metadata,
				long long ms)
{
	long rto = rl_min_rto_ms();
	long lo = rto * ((1L << RL_RETRIES) - 1);
	long model = rto * ((1L << (RL_RETRIES + 1)) - 1);

	TH_LOG("ETIMEDOUT %lld ms after the cut (retries %d, min RTO %ld ms: %ld ms if the RTO is the minimum)",
	       ms, RL_RETRIES, rto, model);
	EXPECT_GE(ms, lo) TH_LOG("gave up before %d retransmissions could have happened",
				 RL_RETRIES);
	EXPECT_LE(ms, 25000) TH_LOG("the retry limit does not bound the time");
}

static void rl_check_abort_counters(struct __test_metadata *_metadata,
				    const struct rl_snap *b,
				    const struct rl_snap *a)
{
	rl_log_snap(_metadata, "sender", b, a);
	RL_EXPECT("sender", b, a, "AbortOnTimeout", ==, 1);
	/* Linux's tcp_retries2 bounds time, modelled on the minimum RTO:
	 * with a larger RTO fewer retransmissions fit. */
	if (tt_is_linux())
		RL_EXPECT("sender", b, a, "RetransSegs", >=, 1);
	else
		RL_EXPECT("sender", b, a, "RetransSegs", >=, RL_RETRIES);
	RL_EXPECT("sender", b, a, "Timeouts", >, 0);
	/* Opened and closed in between. */
	RL_EXPECT("sender", b, a, "CurrEstab", ==, 0);
}

/* A blocked send() is the one to learn about it. */
TEST_F_TIMEOUT(cut, blocked_send_gets_etimedout, 90)
{
	static char buf[1 << 20];
	struct rl_snap b, a;
	long long tcut, t;
	ssize_t n = 0;
	int e = 0;

	rl_snap(self->t.a.fd, true, &b);
	tcut = rl_cut_midstream(_metadata, self, variant->peer_tt);
	ASSERT_LT(0, tcut);
	memset(buf, 'y', sizeof(buf));
	for (;;) {
		n = send(self->k.c, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n < 0) {
			e = errno;
			break;
		}
		if (tt_now_ms() - tcut > 60000)
			break;
	}
	t = tt_now_ms() - tcut;
	ASSERT_EQ(-1, n);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("send: %s", strerror(e));
	rl_check_abort_time(_metadata, t);

	/* The error was reported once; the socket is closed for good. */
	EXPECT_EQ(0, tt_so_error(self->k.c));
	EXPECT_NE(0, tt_poll1(self->k.c, POLLIN | POLLOUT, 0) & POLLHUP);
	EXPECT_EQ(0, tt_recv_to(self->k.c, buf, 16, 1000));
	EXPECT_EQ(-1, send(self->k.c, buf, 16, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd,
				    tt_lookup_ino(tt_ino(self->k.c), NULL)));
	rl_snap(self->t.a.fd, true, &a);
	rl_check_abort_counters(_metadata, &b, &a);
}

struct rl_blocked {
	int fd;
	ssize_t ret;
	int err;
	int revents;
	long long at;
	bool is_poll;
	pthread_t th;
};

static void *rl_blocked_run(void *arg)
{
	struct rl_blocked *w = arg;
	char c;

	if (w->is_poll) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };

		w->ret = poll(&p, 1, 60000);
		w->err = errno;
		w->revents = p.revents;
	} else {
		w->ret = recv(w->fd, &c, 1, 0);
		w->err = errno;
	}
	w->at = tt_now_ms();
	return NULL;
}

/* A blocked recv() gets ETIMEDOUT, a blocked poll() wakes up with HUP. */
TEST_F_TIMEOUT(cut, blocked_recv_and_poll_get_etimedout, 90)
{
	struct rl_blocked r = { .is_poll = false }, p = { .is_poll = true };
	struct rl_snap b, a;
	long long tcut;
	char c = 0;

	rl_snap(self->t.a.fd, true, &b);
	tcut = rl_cut_midstream(_metadata, self, variant->peer_tt);
	ASSERT_LT(0, tcut);
	r.fd = p.fd = self->k.c;
	ASSERT_EQ(0, pthread_create(&r.th, NULL, rl_blocked_run, &r));
	ASSERT_EQ(0, pthread_create(&p.th, NULL, rl_blocked_run, &p));
	pthread_join(r.th, NULL);
	pthread_join(p.th, NULL);

	EXPECT_EQ(-1, r.ret) TH_LOG("recv returned %zd", r.ret);
	EXPECT_EQ(ETIMEDOUT, r.err) TH_LOG("recv: %s", strerror(r.err));
	rl_check_abort_time(_metadata, r.at - tcut);
	EXPECT_EQ(1, p.ret) TH_LOG("poll: %zd %s", p.ret, strerror(p.err));
	EXPECT_NE(0, p.revents & (POLLHUP | POLLERR))
		TH_LOG("poll woke with revents %#x", p.revents);
	EXPECT_GE(p.at - tcut, r.at - tcut - 1000)
		TH_LOG("poll woke %lld ms after the cut, recv %lld ms",
		       p.at - tcut, r.at - tcut);

	/* recv took the error; a send now meets a closed socket. */
	EXPECT_EQ(-1, send(self->k.c, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EPIPE, errno) TH_LOG("send: %s", strerror(errno));
	rl_snap(self->t.a.fd, true, &a);
	rl_check_abort_counters(_metadata, &b, &a);
}

/* ------------------------------------------------------------------ */
/*
 * RTT samples across a recovery (RFC 6298 3, Karn; RFC 7323 4.1): one
 * segment and all its retransmissions are dropped for 2 s while the nine
 * after it arrive and are SACKed.  The ACK that finally covers them all
 * was caused by a retransmission: timing it against the nine segments'
 * first transmission measures the outage, not the path, and must not
 * inflate SRTT and RTO.  (Linux takes no sample from such an ACK.)
 */
FIXTURE(rtt) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(rtt) {
	bool peer_tt;
};

FIXTURE_VARIANT_ADD(rtt, toytcp_peer) { .peer_tt = true };
FIXTURE_VARIANT_ADD(rtt, linux_peer) { .peer_tt = false };

FIXTURE_SETUP(rtt)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	rl_fixture_pair(_metadata, &self->t, &self->k, tt_fam(),
			variant->peer_tt ? tt_fam() : AF_INET);
	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
}

FIXTURE_TEARDOWN(rtt)
{
	rl_unblock(&self->t);
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* The sender's smoothed RTT and RTO, in microseconds. */
static int rl_rtt_rto(int fd, long *srtt_us, long *rto_us)
{
	if (!tt_is_linux()) {
		struct toytcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len))
			return -1;
		*srtt_us = ti.srtt_us;
		*rto_us = ti.rto_ms * 1000L;
	} else {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		*srtt_us = ti.tcpi_rtt;
		*rto_us = ti.tcpi_rto;
	}
	return 0;
}

TEST_F_TIMEOUT(rtt, outage_during_recovery_not_taken_as_rtt, 60)
{
	static char buf[10 * 1448];
	long srtt0, rto0, srtt1, rto1;
	struct sockaddr_in ln;
	struct rl_snap b, a;
	uint8_t pkt[2048];
	struct tt_tcpinfo ti;
	uint32_t next = 0;
	char rule[160];
	int cap, i, n, pt;
	long long t0;

	/* Settle SRTT with a few round trips, watching what A sends. */
	ASSERT_EQ(0, tt_sockname(self->k.c, &ln));
	cap = TT_IN_NS(self->t.a.fd, tt_cap_open("va"));
	ASSERT_LE(0, cap);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	/* Everything captured, until 200 ms of silence (ARP and IPv6
	 * frames come through too: tt_cap_next() returns 0 for those). */
	while (tt_poll1(cap, POLLIN, 200) > 0) {
		n = tt_cap_next(cap, pkt, sizeof(pkt), &pt, 0);
		if (n < 0)
			break;
		if (n > 0 && pt == PACKET_OUTGOING && tt_parse(pkt, n, &ti) &&
		    ti.tcp && ti.sport == ntohs(ln.sin_port) &&
		    ti.dport == PORT && ti.paylen > 0)
			next = ti.seq + ti.paylen;
	}
	close(cap);
	{
		/* A toytcp sender says exactly where its next byte goes; a
		 * capture on a loaded machine may not have seen the last one.
		 */
		struct toytcp_info info;
		socklen_t ilen = sizeof(info);

		if (!getsockopt(self->k.c, SOL_TOYTCP, TOYTCP_INFO, &info,
				&ilen))
			next = info.snd_nxt;
	}
	ASSERT_NE(0, next) TH_LOG("no data segment seen leaving A");
	ASSERT_EQ(0, rl_rtt_rto(self->k.c, &srtt0, &rto0));

	/* The first of ten segments, and every copy of it, is dropped. */
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -m u32 --u32 0>>22&0x3C@4=0x%08x -j DROP\n",
		 PORT, next);
	ASSERT_EQ(0, rl_iptables(self->t.b.fd, rule));
	rl_snap(self->t.a.fd, true, &b);
	memset(buf, 'r', sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->k.c, buf, sizeof(buf),
					     MSG_NOSIGNAL));
	tt_msleep(2000);
	/* The nine behind it are there, waiting for it. */
	EXPECT_EQ(0, tt_poll1(self->k.s, POLLIN, 0))
		TH_LOG("the first segment was not held back");
	ASSERT_EQ(0, rl_iptables(self->t.b.fd, ""));
	t0 = tt_now_ms();
	EXPECT_EQ((ssize_t)sizeof(buf), tt_recv_all(self->k.s, buf, sizeof(buf),
						    20000));
	TH_LOG("the first segment arrived %lld ms after the drop was lifted",
	       tt_now_ms() - t0);
	/* Let the last ACK land. */
	tt_msleep(300);
	rl_snap(self->t.a.fd, true, &a);
	rl_log_snap(_metadata, "sender", &b, &a);
	RL_EXPECT("sender", &b, &a, "RetransSegs", >=, 2);
	ASSERT_EQ(0, rl_rtt_rto(self->k.c, &srtt1, &rto1));
	TH_LOG("SRTT %ld us, RTO %ld ms before; SRTT %ld us, RTO %ld ms after",
	       srtt0, rto0 / 1000, srtt1, rto1 / 1000);
	EXPECT_LT(srtt1, srtt0 + 100000)
		TH_LOG("SRTT grew by %ld ms: a sample spanned the outage",
		       (srtt1 - srtt0) / 1000);
	EXPECT_LT(rto1, rto0 + 1000000)
		TH_LOG("RTO grew from %ld to %ld ms", rto0 / 1000, rto1 / 1000);
}

/* ------------------------------------------------------------------ */
/*
 * Giving up when nothing gets through, for sockets nobody waits on
 * (orphans: closed with their FIN unacknowledged) and for data that never
 * even leaves because the sender's own output is dropped (netfilter
 * OUTPUT DROP: ip_queue_xmit() fails with EPERM).  Each try must count
 * against the retry limit whether or not the segment left the host, or
 * the socket lives forever (and the module cannot unload).  The stack
 * under test is in A, its peer is Linux TCP in B; retry limit 3.
 */
FIXTURE(silence) {
	struct rl_net t;
	struct tt_conn k;
	struct rl_param p;
};

FIXTURE_SETUP(silence)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	ASSERT_EQ(0, rl_param_set(&self->p, "retries", "tcp_retries2",
				  self->t.a.fd, RL_RETRIES));
	/* Linux TCP: orphans have their own limit. */
	if (tt_is_linux())
		ASSERT_EQ(0, TT_IN_NS(self->t.a.fd,
				      rl_sysctl_set("tcp_orphan_retries",
						    RL_RETRIES)));
	rl_fixture_pair(_metadata, &self->t, &self->k, tt_fam(), AF_INET);
	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
}

FIXTURE_TEARDOWN(silence)
{
	rl_unblock(&self->t);
	rl_param_restore(&self->p);
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* Close A's socket; wait (up to 30 s) until A no longer lists it. */
static long long rl_orphan_life(struct __test_metadata *_metadata,
				FIXTURE_DATA(silence) *self)
{
	struct sockaddr_in l, r;
	long long t0;
	int st;

	if (tt_sockname(self->k.c, &l) || tt_peername(self->k.c, &r))
		return -1;
	t0 = tt_now_ms();
	close(self->k.c);
	self->k.c = -1;
	st = TT_IN_NS(self->t.a.fd, tt_wait_state(&l, &r, TT_GONE, 30000));
	if (st != TT_GONE) {
		TH_LOG("the orphan is still %s after 30 s", tt_state_name(st));
		return -1;
	}
	return tt_now_ms() - t0;
}

/* Drop everything in namespace @dropfd, close A's socket: the orphan must
 * give up within 15 s.  The snapshots of A's counters go to @b and @a.
 */
static void rl_orphan_gives_up(struct __test_metadata *_metadata,
			       FIXTURE_DATA(silence) *self, int dropfd,
			       struct rl_snap *b, struct rl_snap *a)
{
	long long ms;

	ASSERT_EQ(0, rl_blackhole(dropfd));
	rl_snap(self->t.a.fd, true, b);
	ms = rl_orphan_life(_metadata, self);
	rl_snap(self->t.a.fd, true, a);
	rl_log_snap(_metadata, "A", b, a);
	ASSERT_LE(0, ms);
	TH_LOG("the orphan lived %lld ms", ms);
	EXPECT_LE(ms, 15000);
}

TEST_F_TIMEOUT(silence, orphan_fin_given_up_when_peer_silent, 60)
{
	struct rl_snap b, a;

	rl_orphan_gives_up(_metadata, self, self->t.b.fd, &b, &a);
	RL_EXPECT("A", &b, &a, "RetransSegs", >=, 1);
}

TEST_F_TIMEOUT(silence, orphan_fin_given_up_when_own_output_dropped, 60)
{
	struct rl_snap b, a;

	rl_orphan_gives_up(_metadata, self, self->t.a.fd, &b, &a);
}

/* Data written while the host drops its own output: ETIMEDOUT. */
TEST_F_TIMEOUT(silence, unsent_data_times_out_when_own_output_dropped, 60)
{
	struct timeval tv = { .tv_sec = 30 };
	long long t0, ms;
	char buf[1000];
	ssize_t n;
	int e;

	ASSERT_EQ(0, setsockopt(self->k.c, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, rl_blackhole(self->t.a.fd));
	memset(buf, 'u', sizeof(buf));
	t0 = tt_now_ms();
	n = send(self->k.c, buf, sizeof(buf), MSG_NOSIGNAL);
	EXPECT_TRUE(n == (ssize_t)sizeof(buf) || (n < 0 && errno == EPERM))
		TH_LOG("send: %zd %s", n, strerror(errno));
	n = recv(self->k.c, buf, 1, 0);
	e = errno;
	ms = tt_now_ms() - t0;
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("recv after %lld ms: %s (EAGAIN: still trying after 30 s)",
				       ms, strerror(e));
	TH_LOG("recv returned after %lld ms", ms);
}

/* ------------------------------------------------------------------ */
/* 4. Keepalive                                                        */

FIXTURE(keepalive) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(keepalive) {
	bool peer_tt;
};

FIXTURE_VARIANT_ADD(keepalive, toytcp_peer) { .peer_tt = true };
FIXTURE_VARIANT_ADD(keepalive, linux_peer) { .peer_tt = false };

FIXTURE_SETUP(keepalive)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	rl_fixture_pair(_metadata, &self->t, &self->k, tt_fam(),
			variant->peer_tt ? tt_fam() : AF_INET);
}

FIXTURE_TEARDOWN(keepalive)
{
	rl_unblock(&self->t);
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* One round trip of data over an established pair: 0 if it worked. */
static int rl_ping(int a, int b)
{
	char buf[8];

	if (send(a, "ping", 4, MSG_NOSIGNAL) != 4 ||
	    tt_recv_all(b, buf, 4, 5000) != 4 || memcmp(buf, "ping", 4))
		return -1;
	if (send(b, "pong", 4, MSG_NOSIGNAL) != 4 ||
	    tt_recv_all(a, buf, 4, 5000) != 4 || memcmp(buf, "pong", 4))
		return -2;
	return 0;
}

static void rl_keepalive_on(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(0, rl_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	ASSERT_EQ(0, rl_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 1));
	ASSERT_EQ(0, rl_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, 1));
	ASSERT_EQ(0, rl_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, 3));
}

/* idle 1 s, 3 probes 1 s apart, no answer: ETIMEDOUT after about 4 s. */
TEST_F_TIMEOUT(keepalive, dead_peer_times_out_after_probes, 60)
{
	struct timeval tv = { .tv_sec = 20 };
	struct rl_snap b, a;
	long long t0, ms;
	ssize_t n;
	char c;
	int e;

	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	/* A bound on the wait that is not the keepalive's ETIMEDOUT. */
	ASSERT_EQ(0, setsockopt(self->k.c, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, rl_blackhole(self->t.b.fd));
	rl_snap(self->t.a.fd, true, &b);
	/* The clock starts when keepalive is switched on (as in Linux). */
	t0 = tt_now_ms();
	rl_keepalive_on(_metadata, self->k.c);
	n = recv(self->k.c, &c, 1, 0);
	e = errno;
	ms = tt_now_ms() - t0;
	rl_snap(self->t.a.fd, true, &a);
	rl_log_snap(_metadata, "keepalive end", &b, &a);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("recv after %lld ms: %s (EAGAIN: the 20 s SO_RCVTIMEO)",
				       ms, strerror(e));
	TH_LOG("recv returned %lld ms after keepalive was switched on", ms);
	/* Probes at 1, 2 and 3 s, the third unanswered at 4 s. */
	EXPECT_GE(ms, 3500) TH_LOG("gave up before the third probe had its interval to be answered");
	EXPECT_LE(ms, 8000) TH_LOG("idle 1 + 3 x 1 s took %lld ms", ms);
	RL_EXPECT("keepalive end", &b, &a, "KeepaliveProbes", >=, 3);
	RL_EXPECT("keepalive end", &b, &a, "KeepaliveProbes", <=, 4);
	RL_EXPECT("keepalive end", &b, &a, "AbortOnTimeout", ==, 1);
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd,
				    tt_lookup_ino(tt_ino(self->k.c), NULL)));
}

/* A live peer answers every probe; the idle connection stays up. */
TEST_F_TIMEOUT(keepalive, live_peer_answers_probes_connection_survives, 60)
{
	struct rl_snap b, a;
	char c;

	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	rl_keepalive_on(_metadata, self->k.c);
	rl_snap(self->t.a.fd, true, &b);
	/* Idle for 5.5 s: with idle = interval = 1 s, at least 3 probes. */
	EXPECT_EQ(0, tt_poll1(self->k.c, POLLIN, 5500));
	rl_snap(self->t.a.fd, true, &a);
	rl_log_snap(_metadata, "idle with keepalive", &b, &a);
	RL_EXPECT("idle with keepalive", &b, &a, "KeepaliveProbes", >=, 3);
	/* Each probe was answered, and the answers counted as input; the
	 * last probe's answer may still be on its way (make check-debug
	 * once saw 6 probes and 5 answers).
	 */
	EXPECT_GE(rl_d(&b, &a, "InSegs") + 1,
		  rl_d(&b, &a, "KeepaliveProbes"));
	RL_EXPECT("idle with keepalive", &b, &a, "AbortOnTimeout", ==, 0);
	RL_EXPECT("idle with keepalive", &b, &a, "EstabResets", ==, 0);
	EXPECT_EQ(0, tt_so_error(self->k.c));
	EXPECT_EQ(TT_ESTABLISHED, TT_IN_NS(self->t.a.fd,
					   tt_fd_state(self->k.c)));
	EXPECT_EQ(0, rl_ping(self->k.c, self->k.s));
	EXPECT_EQ(-1, recv(self->k.s, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("the peer's application saw the probes");
}

/* ------------------------------------------------------------------ */
/* Options, no network needed                                          */

FIXTURE(lo) {
	int unused;
};

FIXTURE_SETUP(lo)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK();
}

FIXTURE_TEARDOWN(lo)
{
}

/* Keepalive options: the values set come back; bad ones as Linux says. */
TEST_F(lo, keepalive_options_roundtrip_and_einval_like_linux)
{
	static const struct { int opt; const char *name; int v; } cases[] = {
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 0 },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", -1 },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 32768 },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 32767 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 0 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", -5 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 32768 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 32767 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 0 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", -1 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 128 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 127 },
	};
	int t = tt_socket(), l = socket(AF_INET, SOCK_STREAM, 0);
	size_t i;

	ASSERT_LE(0, t);
	ASSERT_LE(0, l);

	/* Defaults: Linux's (2 hours, 75 s, 9 probes), off. */
	EXPECT_EQ(rl_getint(l, IPPROTO_TCP, TCP_KEEPIDLE),
		  rl_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));
	EXPECT_EQ(rl_getint(l, IPPROTO_TCP, TCP_KEEPINTVL),
		  rl_getint(t, IPPROTO_TCP, TCP_KEEPINTVL));
	EXPECT_EQ(rl_getint(l, IPPROTO_TCP, TCP_KEEPCNT),
		  rl_getint(t, IPPROTO_TCP, TCP_KEEPCNT));
	EXPECT_EQ(0, rl_getint(t, SOL_SOCKET, SO_KEEPALIVE));

	/* Set, read back. */
	EXPECT_EQ(0, rl_setint(t, SOL_SOCKET, SO_KEEPALIVE, 1));
	EXPECT_EQ(1, rl_getint(t, SOL_SOCKET, SO_KEEPALIVE));
	EXPECT_EQ(0, rl_setint(t, IPPROTO_TCP, TCP_KEEPIDLE, 1));
	EXPECT_EQ(0, rl_setint(t, IPPROTO_TCP, TCP_KEEPINTVL, 2));
	EXPECT_EQ(0, rl_setint(t, IPPROTO_TCP, TCP_KEEPCNT, 3));
	EXPECT_EQ(1, rl_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));
	EXPECT_EQ(2, rl_getint(t, IPPROTO_TCP, TCP_KEEPINTVL));
	EXPECT_EQ(3, rl_getint(t, IPPROTO_TCP, TCP_KEEPCNT));
	EXPECT_EQ(0, rl_setint(t, SOL_SOCKET, SO_KEEPALIVE, 0));
	EXPECT_EQ(0, rl_getint(t, SOL_SOCKET, SO_KEEPALIVE));
	EXPECT_EQ(1, rl_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));

	/* Out of range: the same answer as Linux TCP, value unchanged. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = rl_getint(t, IPPROTO_TCP, cases[i].opt);
		int rt, et, rl, ell;

		errno = 0;
		rt = rl_setint(t, IPPROTO_TCP, cases[i].opt, cases[i].v);
		et = rt ? errno : 0;
		errno = 0;
		rl = rl_setint(l, IPPROTO_TCP, cases[i].opt, cases[i].v);
		ell = rl ? errno : 0;
		EXPECT_EQ(ell, et)
			TH_LOG("%s = %d: %s, Linux TCP says %s", cases[i].name,
			       cases[i].v, et ? strerror(et) : "accepted",
			       ell ? strerror(ell) : "accepted");
		if (rt) {
			EXPECT_EQ(before, rl_getint(t, IPPROTO_TCP, cases[i].opt))
				TH_LOG("%s changed by a rejected value",
				       cases[i].name);
		} else {
			EXPECT_EQ(cases[i].v,
				  rl_getint(t, IPPROTO_TCP, cases[i].opt));
		}
	}
	/* A short option buffer. */
	{
		char one = 1;
		int et, ell;

		errno = 0;
		et = setsockopt(t, IPPROTO_TCP, TCP_KEEPCNT, &one, 1) ? errno : 0;
		errno = 0;
		ell = setsockopt(l, IPPROTO_TCP, TCP_KEEPCNT, &one, 1) ? errno : 0;
		EXPECT_EQ(ell, et);
	}
	close(t);
	close(l);
}

/* ------------------------------------------------------------------ */
/* 5. A SYN into a black hole                                          */

FIXTURE(syn) {
	struct rl_net t;
	struct rl_param p;
};

FIXTURE_SETUP(syn)
{
	ASSERT_EQ(0, rl_topo(&self->t, NULL));
	TT_IN_NS(self->t.a.fd, ({ TT_REQUIRE_STACK(); 0; }));
	ASSERT_EQ(0, rl_iptables(self->t.b.fd,
				 "-A INPUT -p tcp --dport 5100 -j DROP\n"));
	ASSERT_EQ(0, rl_param_set(&self->p, "syn_retries", "tcp_syn_retries",
				  self->t.a.fd, 2));
}

FIXTURE_TEARDOWN(syn)
{
	rl_unblock(&self->t);
	rl_param_restore(&self->p);
	rl_net_down(&self->t);
}

/* syn_retries 2: SYNs at 0, 1 and 3 s, ETIMEDOUT at 7 s. */
TEST_F_TIMEOUT(syn, filtered_syn_times_out_after_syn_retries, 60)
{
	struct sockaddr_in dst = tt_sin(tt_fam(), IP_B, PORT);
	struct rl_snap b, a;
	long long t0, ms;
	int fd, r, e;

	fd = tt_socket_in(self->t.a.fd, tt_fam());
	ASSERT_LE(0, fd);
	rl_snap(self->t.a.fd, true, &b);
	t0 = tt_now_ms();
	r = connect(fd, TT_SA(&dst), sizeof(dst));
	e = errno;
	ms = tt_now_ms() - t0;
	rl_snap(self->t.a.fd, true, &a);
	rl_log_snap(_metadata, "client", &b, &a);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("connect after %lld ms: %s", ms,
				       strerror(e));
	TH_LOG("connect gave up after %lld ms", ms);
	EXPECT_GE(ms, 3000) TH_LOG("less than 1 + 2 s: fewer than 2 retries?");
	EXPECT_LE(ms, 15000);
	RL_EXPECT("client", &b, &a, "AttemptFails", ==, 1);
	/* Linux >= 6.5 resends its first SYNs 1 s apart
	 * (tcp_syn_linear_timeouts) within the same time limit. */
	if (tt_is_linux())
		RL_EXPECT("client", &b, &a, "RetransSegs", >=, 2);
	else
		RL_EXPECT("client", &b, &a, "RetransSegs", ==, 2);
	RL_EXPECT("client", &b, &a, "CurrEstab", ==, 0);
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd, tt_lookup_ino(tt_ino(fd), NULL)));
	/* The failure was reported once. */
	EXPECT_EQ(0, tt_so_error(fd));
	close(fd);
}

/* ------------------------------------------------------------------ */
/*
 * 6. Nagle, TCP_NODELAY, TCP_CORK, MSG_MORE.  The sender in A is under
 * test; 20 ms of delay on the way back keeps a small segment unacknowledged
 * for 20 ms, while the application writes every 5 ms.
 */
#define NG_WRITES 100
#define NG_SIZE 50
#define NG_GAP_MS 5

FIXTURE(nagle) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(nagle) {
	bool peer_tt;
};

FIXTURE_VARIANT_ADD(nagle, toytcp_peer) { .peer_tt = true };
FIXTURE_VARIANT_ADD(nagle, linux_peer) { .peer_tt = false };

FIXTURE_SETUP(nagle)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, false);
	/*
	 * The delay is on the ACK path only: a data segment held in a
	 * qdisc of the sender's own device would make Linux TCP autocork.
	 */
	ASSERT_EQ(0, rl_netem(self->t.b.fd, "vb", "delay 20ms"));
	rl_fixture_pair(_metadata, &self->t, &self->k, tt_fam(),
			variant->peer_tt ? tt_fam() : AF_INET);
	/* Let the handshake's last ACK settle. */
	tt_msleep(100);
}

FIXTURE_TEARDOWN(nagle)
{
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

/* Write NG_WRITES small pieces NG_GAP_MS apart; segments the sender sent. */
static long rl_small_writes(struct __test_metadata *_metadata,
			    FIXTURE_DATA(nagle) *self)
{
	static uint8_t want[NG_WRITES * NG_SIZE], got[NG_WRITES * NG_SIZE];
	struct rl_snap b, a;
	long long t0;
	int i;

	tt_fill(0x4a61, 0, want, sizeof(want));
	rl_snap(self->t.a.fd, true, &b);
	t0 = tt_now_ms();
	for (i = 0; i < NG_WRITES; i++) {
		if (send(self->k.c, want + i * NG_SIZE, NG_SIZE, MSG_NOSIGNAL) !=
		    NG_SIZE) {
			TH_LOG("write %d: %s", i, strerror(errno));
			return -1;
		}
		tt_msleep(NG_GAP_MS);
	}
	TH_LOG("%d writes of %d bytes in %lld ms", NG_WRITES, NG_SIZE,
	       tt_now_ms() - t0);
	if (tt_recv_all(self->k.s, got, sizeof(got), 5000) != (ssize_t)sizeof(got) ||
	    memcmp(got, want, sizeof(got))) {
		TH_LOG("the peer did not receive the bytes written");
		return -1;
	}
	rl_snap(self->t.a.fd, true, &a);
	rl_log_snap(_metadata, "sender", &b, &a);
	return rl_d(&b, &a, "OutSegs");
}

TEST_F_TIMEOUT(nagle, small_writes_coalesced_with_nagle, 60)
{
	long segs;

	EXPECT_EQ(0, rl_getint(self->k.c, IPPROTO_TCP, TCP_NODELAY));
	segs = rl_small_writes(_metadata, self);
	ASSERT_LE(0, segs);
	TH_LOG("Nagle: %ld segments for %d writes", segs, NG_WRITES);
	EXPECT_LE(segs, NG_WRITES / 2)
		TH_LOG("%ld segments for %d small writes: not coalesced", segs,
		       NG_WRITES);
	EXPECT_LE(1, segs);
}

TEST_F_TIMEOUT(nagle, small_writes_each_sent_with_nodelay, 60)
{
	long segs;

	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(1, rl_getint(self->k.c, IPPROTO_TCP, TCP_NODELAY));
	segs = rl_small_writes(_metadata, self);
	ASSERT_LE(0, segs);
	TH_LOG("TCP_NODELAY: %ld segments for %d writes", segs, NG_WRITES);
	EXPECT_GE(segs, NG_WRITES * 9 / 10);
	EXPECT_LE(segs, NG_WRITES + 5);
}

/*
 * Both stacks send held data on their own at the latest 200 ms after the
 * first held write (Linux TCP: its probe timer, at least TCP_RTO_MIN;
 * toytcp: HZ / 5 on retrans_timer).  Each look at the hold is judged if
 * it ended within RL_HOLD_MS of the first write, a jiffy (10 ms at HZ=100)
 * short of that; a kernel too slow to look in time (KASAN and lockdep
 * under TCG: make check-debug) gets the checks that hold either way.
 */
#define RL_RELEASE_MS 200
#define RL_HOLD_MS (RL_RELEASE_MS - 10)

/* Was a look that ended now still within the hold?  Logs when not. */
static bool rl_in_hold(struct __test_metadata *_metadata, long long t0,
		       const char *what)
{
	long long t = tt_now_ms() - t0;

	if (t < RL_HOLD_MS)
		return true;
	TH_LOG("%s: %lld ms after the first held write, past %d ms: not judged",
	       what, t, RL_HOLD_MS);
	return false;
}

/*
 * Data held since t0 (tt_now_ms() before the first held write; writes in
 * all, the releasing one included) must not show up at the peer; then it
 * arrives in one segment.
 */
static void rl_expect_held_then_one_segment(struct __test_metadata *_metadata,
					    FIXTURE_DATA(nagle) *self,
					    const struct rl_snap *b, long long t0,
					    int writes, size_t held, size_t total,
					    void (*release)(int))
{
	long long t, left;
	char buf[1024];
	struct rl_snap m, a;
	int rev, outq;
	bool in_time;
	ssize_t n;

	/* The peer, watched until 150 ms after the first held write. */
	left = t0 + 150 - tt_now_ms();
	rev = tt_poll1(self->k.s, POLLIN, left > 0 ? (int)left : 0);
	if (rl_in_hold(_metadata, t0, "peer"))
		EXPECT_EQ(0, rev) TH_LOG("held data reached the peer");
	/* The sender's queue (an ioctl: quick even on a slow kernel). */
	outq = rl_outq(self->k.c);
	if (rl_in_hold(_metadata, t0, "send queue"))
		EXPECT_EQ((int)held, outq);
	/* The sender's counters (reading them can take 1 s there). */
	rl_snap(self->t.a.fd, true, &m);
	in_time = rl_in_hold(_metadata, t0, "counters");
	if (in_time)
		RL_EXPECT("sender while holding", b, &m, "OutSegs", ==, 0);

	t = tt_now_ms();
	release(self->k.c);
	/* Released by us before the stack's own release could start? */
	in_time = in_time && rl_in_hold(_metadata, t0, "release");
	n = tt_recv_all(self->k.s, buf, total, 2000 * tt_time_scale());
	EXPECT_EQ((ssize_t)total, n);
	TH_LOG("released %lld ms after the first held write: %zd bytes at the peer %lld ms later",
	       t - t0, n, tt_now_ms() - t);
	rl_snap(self->t.a.fd, true, &a);
	if (in_time)
		RL_EXPECT("sender after the release", &m, &a, "OutSegs", ==, 1);
	else	/* the stack's own release may have split it in two */
		RL_EXPECT("sender", b, &a, "OutSegs", <, writes);
}

static void rl_uncork(int fd)
{
	rl_setint(fd, IPPROTO_TCP, TCP_CORK, 0);
}

static void rl_send_last(int fd)
{
	send(fd, "cccccccccc", 10, MSG_NOSIGNAL);
}

TEST_F_TIMEOUT(nagle, cork_holds_small_writes_until_uncorked, 60)
{
	char piece[100];
	struct rl_snap b;
	long long t0;
	int i;

	memset(piece, 'k', sizeof(piece));
	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_CORK, 1));
	EXPECT_EQ(1, rl_getint(self->k.c, IPPROTO_TCP, TCP_CORK));
	rl_snap(self->t.a.fd, true, &b);
	t0 = tt_now_ms();
	for (i = 0; i < 3; i++)
		ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL));
	rl_expect_held_then_one_segment(_metadata, self, &b, t0, 3, 300, 300,
					rl_uncork);
	EXPECT_EQ(0, rl_getint(self->k.c, IPPROTO_TCP, TCP_CORK));
}

TEST_F_TIMEOUT(nagle, msg_more_holds_until_a_write_without_it, 60)
{
	char piece[100];
	struct rl_snap b;
	long long t0;

	memset(piece, 'm', sizeof(piece));
	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	rl_snap(self->t.a.fd, true, &b);
	t0 = tt_now_ms();
	ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL | MSG_MORE));
	ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL | MSG_MORE));
	/* The last write (10 bytes, no MSG_MORE) releases all 210. */
	rl_expect_held_then_one_segment(_metadata, self, &b, t0, 3, 200, 210,
					rl_send_last);
}

/* ------------------------------------------------------------------ */
/* 7. Delayed ACKs at a receiver under test (in B)                     */

FIXTURE(delack) {
	struct rl_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(delack) {
	bool snd_tt;
};

FIXTURE_VARIANT_ADD(delack, toytcp_sender) { .snd_tt = true };
FIXTURE_VARIANT_ADD(delack, linux_sender) { .snd_tt = false };

FIXTURE_SETUP(delack)
{
	rl_fixture_net(_metadata, &self->t, &self->k, NULL, true);
	rl_fixture_pair(_metadata, &self->t, &self->k,
			variant->snd_tt ? tt_fam() : AF_INET, tt_fam());
	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
}

FIXTURE_TEARDOWN(delack)
{
	tt_conn_close(&self->k);
	rl_net_down(&self->t);
}

#define DA_WRITES 24
#define DA_PAUSE_MS 100

/*
 * A lone small segment is ACKed by the delayed-ACK timer, not at once.
 * Both stacks acknowledge the first segments of a connection at once
 * (quick-ACK mode, 16 segments in Linux TCP), and Linux TCP stretches its
 * delayed-ACK timeout towards the gap between segments, so the bound is
 * loose: a quarter of the segments.  The reader only reads at the end:
 * Linux TCP also ACKs small pushed data at once when the application
 * reads it.
 */
TEST_F_TIMEOUT(delack, pauses_between_small_segments_fire_delayed_acks, 60)
{
	static char buf[100 * DA_WRITES];
	struct rl_snap b, a;
	int i;

	memset(buf, 'd', sizeof(buf));
	rl_snap(self->t.b.fd, true, &b);
	for (i = 0; i < DA_WRITES; i++) {
		ASSERT_EQ(100, send(self->k.c, buf, 100, MSG_NOSIGNAL));
		tt_msleep(DA_PAUSE_MS);
	}
	rl_snap(self->t.b.fd, true, &a);
	ASSERT_EQ((ssize_t)sizeof(buf), tt_recv_all(self->k.s, buf, sizeof(buf),
						    5000));
	rl_log_snap(_metadata, "receiver", &b, &a);
	RL_EXPECT("receiver", &b, &a, "DelayedAcks", >=, DA_WRITES / 4);
	RL_EXPECT("receiver", &b, &a, "DelayedAcks", <=, DA_WRITES);
	RL_EXPECT("receiver", &b, &a, "InSegs", ==, DA_WRITES);
	/* No more than one ACK per segment: nothing else to say. */
	RL_EXPECT("receiver", &b, &a, "OutSegs", <=, DA_WRITES);
	/* toytcp's delayed-ACK timeout (delack_ms) is shorter than the
	 * pause: every segment gets an ACK of its own. */
	if (!tt_is_linux())
		RL_EXPECT("receiver", &b, &a, "OutSegs", ==, DA_WRITES);
}

/* A bulk stream: about one ACK for every two full-sized segments. */
TEST_F_TIMEOUT(delack, bulk_stream_acked_every_second_segment, 60)
{
	const size_t len = 2 * MB;
	struct rl_snap b, a;
	struct rl_xfer x;
	long in, out;

	ASSERT_EQ(0, rl_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 0));
	rl_snap(self->t.b.fd, true, &b);
	rl_xfer_init(&x, self->k.c, self->k.s, len, 0xb0b, 30000);
	rl_xfer_run(&x);
	RL_EXPECT_XFER(&x, len);
	rl_snap(self->t.b.fd, true, &a);
	rl_log_snap(_metadata, "receiver", &b, &a);
	in = rl_d(&b, &a, "InSegs");
	out = rl_d(&b, &a, "OutSegs");
	ASSERT_NE(RL_NONE, in);
	ASSERT_NE(RL_NONE, out);
	TH_LOG("%zu bytes in %lld ms: receiver got %ld segments, sent %ld (%.2f per segment)",
	       len, x.ms, in, out, in ? (double)out / in : 0.0);
	EXPECT_GE(in, (long)(len / 1460));
	/*
	 * RFC 9293 3.8.6.3: delay ACKs, but ACK at least every second full
	 * segment.  Linux TCP is looser both ways (window updates as the
	 * reader drains the queue, stretched ACKs when it lags): there only
	 * "no more than one ACK per segment" is checked.
	 */
	if (tt_is_linux()) {
		EXPECT_LE(out, in);
	} else {
		EXPECT_LE(out * 4, in * 3) TH_LOG("more than 3 ACKs per 4 segments");
		EXPECT_GE(out * 4, in) TH_LOG("fewer than 1 ACK per 4 segments");
	}
}

TEST_HARNESS_MAIN
