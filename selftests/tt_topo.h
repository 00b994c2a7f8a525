/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespaces and the links between them: a fresh namespace with
 * only lo, and the two-namespace network most tests use,
 *
 *	A (va, 10.77.1.1/24) <-- veth --> B (vb, 10.77.1.2/24)
 *
 * with, as a test asks, netem on both ends (so that data and ACKs are
 * both impaired), an MTU per end, the device offloads off and at most one
 * segment per packet (every packet a wire frame: netem then meets each
 * segment alone), iptables rules, and the programs (tc, iptables) run in
 * either namespace.
 *
 * Everything is made in-process (unshare, rtnetlink, ioctls), not with
 * ip(8): under TCG every program started costs 0.1 to 1 s, and a test
 * would otherwise spend more time building its network than using it.
 * Only tc and iptables are run, without a shell.  The namespaces are
 * anonymous: they go away when their last file descriptor and socket do.
 */
#ifndef TT_TOPO_H
#define TT_TOPO_H

#include <net/if_arp.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#include "tt_core.h"

#define TT_IP_A "10.77.1.1"
#define TT_IP_B "10.77.1.2"

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

/* A new network namespace with lo up; the calling thread stays put. */
static TT_UNUSED int tt_netns_new(void)
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

/* ------------------------------------------------------------------ */
/* Programs in a namespace                                             */

/*
 * Run argv (no shell) in namespace nsfd, stdin from text if given, stdout
 * into out[outlen] if given.  Returns the exit status.
 */
static TT_UNUSED int tt_run_io(int nsfd, const char *text, char *out,
			       size_t outlen, char *const argv[])
{
	int old = tt_ns_enter(nsfd), p[2] = { -1, -1 }, q[2] = { -1, -1 };
	int st = 0;
	size_t got = 0;
	pid_t pid;

	if (nsfd >= 0 && old < 0)
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

static TT_UNUSED int tt_run(int nsfd, const char *text, char *const argv[])
{
	return tt_run_io(nsfd, text, NULL, 0, argv);
}

/* "tc qdisc <verb> dev <dev> root netem <args> limit 10000" in nsfd. */
static TT_UNUSED int tt_netem_cmd(int nsfd, const char *verb, const char *dev,
				  const char *args)
{
	char copy[256], *argv[40], *save = NULL, *w;
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", args);
	argv[n++] = "tc";
	argv[n++] = "qdisc";
	argv[n++] = (char *)verb;
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
	return tt_run(nsfd, NULL, argv);
}

/*
 * What the root qdisc of dev in nsfd reports: packets sent and dropped.
 * Returns 0, or -1 if unreadable.
 */
static TT_UNUSED int tt_qdisc_stats(int nsfd, const char *dev, long *sent,
				    long *dropped)
{
	char out[2048], *p;
	char *const argv[] = { "tc", "-s", "qdisc", "show", "dev", (char *)dev,
			       NULL };
	unsigned long long bytes, pkts, drops = 0;

	if (tt_run_io(nsfd, NULL, out, sizeof(out), argv))
		return -1;
	p = strstr(out, "Sent ");
	if (!p || sscanf(p, "Sent %llu bytes %llu pkt (dropped %llu", &bytes,
			 &pkts, &drops) != 3)
		return -1;
	*sent = pkts;
	*dropped = drops;
	return 0;
}

/* Log "tc -s qdisc show dev" of a namespace, for a failure's diagnosis. */
static TT_UNUSED void tt_qdisc_show(int nsfd, const char *dev)
{
	char *const argv[] = { "tc", "-s", "qdisc", "show", "dev", (char *)dev,
			       NULL };

	tt_run(nsfd, NULL, argv);
}

/* iptables rules (iptables-restore syntax, table filter) in nsfd: the
 * whole table is replaced, "" empties it.
 */
static TT_UNUSED int tt_iptables_in(int nsfd, const char *rules)
{
	char text[512];
	char *const argv[] = { "iptables-restore", NULL };

	snprintf(text, sizeof(text), "*filter\n%sCOMMIT\n", rules);
	return tt_run(nsfd, text, argv);
}

/* Packets the first DROP rule of INPUT in nsfd dropped, -1 if unknown. */
static TT_UNUSED long tt_iptables_drops(int nsfd)
{
	char *const argv[] = { "iptables", "-w", "-nvxL", "INPUT", NULL };
	char out[4096], *line, *save = NULL;
	long n;

	if (tt_run_io(nsfd, NULL, out, sizeof(out), argv))
		return -1;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "DROP") && sscanf(line, "%ld", &n) == 1)
			return n;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Links                                                               */

static TT_UNUSED struct rtattr *tt_nla(struct nlmsghdr *n, int type,
				       const void *data, int len)
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

static TT_UNUSED void tt_nla_end(struct nlmsghdr *n, struct rtattr *nest)
{
	nest->rta_len = (char *)n + n->nlmsg_len - (char *)nest;
}

/*
 * Veth va (in the calling thread's namespace, MTU mtu_a) <-> vb (MTU
 * mtu_b) in namespace nsb.  one_seg: gso_max_segs 1 on both ends.
 */
static TT_UNUSED int tt_veth(int nsb, int mtu_a, int mtu_b, bool one_seg)
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
	__u32 fd = nsb, one = 1;
	struct nlmsghdr *n = &req.n;
	int s, r = -1;

	memset(&req, 0, sizeof(req));
	memset(&ifi, 0, sizeof(ifi));
	memset(&peer, 0, sizeof(peer));
	ifi.ifi_family = AF_UNSPEC;
	n->nlmsg_len = NLMSG_LENGTH(sizeof(ifi));
	n->nlmsg_type = RTM_NEWLINK;
	n->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	memcpy(NLMSG_DATA(n), &ifi, sizeof(ifi));
	tt_nla(n, IFLA_IFNAME, "va", 3);
	tt_nla(n, IFLA_MTU, &mtu_a, sizeof(mtu_a));
	if (one_seg)
		tt_nla(n, IFLA_GSO_MAX_SEGS, &one, sizeof(one));
	li = tt_nla(n, IFLA_LINKINFO, NULL, 0);
	tt_nla(n, IFLA_INFO_KIND, "veth", 5);
	data = tt_nla(n, IFLA_INFO_DATA, NULL, 0);
	pr = tt_nla(n, VETH_INFO_PEER, &peer, sizeof(peer));
	tt_nla(n, IFLA_IFNAME, "vb", 3);
	tt_nla(n, IFLA_MTU, &mtu_b, sizeof(mtu_b));
	if (one_seg)
		tt_nla(n, IFLA_GSO_MAX_SEGS, &one, sizeof(one));
	tt_nla(n, IFLA_NET_NS_FD, &fd, sizeof(fd));
	tt_nla_end(n, pr);
	tt_nla_end(n, data);
	tt_nla_end(n, li);

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

/* Address ip/24 on ifname, up; with offloads_off, TSO, GSO, GRO and TX
 * checksums off (every frame then carries a checksum the receiver checks).
 */
static TT_UNUSED int tt_if_setup(const char *ifname, const char *ip,
				 bool offloads_off)
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
	for (i = 0; offloads_off && i < TT_ARRAY_SIZE(off); i++) {
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

/* The MTU of ifname in the calling thread's namespace. */
static TT_UNUSED int tt_if_mtu(const char *ifname, int mtu)
{
	struct ifreq ifr;
	int s, r;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_mtu = mtu;
	r = ioctl(s, SIOCSIFMTU, &ifr);
	close(s);
	return r;
}

/* The MAC address of ifname, in the calling thread's namespace. */
static TT_UNUSED int tt_if_hwaddr(const char *ifname, struct sockaddr *mac)
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
static TT_UNUSED int tt_arp_perm(const char *ifname, const char *ip,
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

/* ------------------------------------------------------------------ */
/* The A <-> B network                                                 */

struct tt_net_opts {
	int mtu_a, mtu_b;	/* 0: 1500 */
	bool offloads_on;	/* keep veth's TSO, GSO and TX checksums, and
				 * let a packet carry many segments */
	bool many_segs;		/* offloads off, but a packet may carry many
				 * segments (GSO in software before the
				 * veth, as between containers) */
	const char *netem;	/* netem arguments on both ends, or NULL */
};

struct tt_net {
	struct { int fd; } a, b;	/* namespace fds; -1 when absent */
	bool fw_a, fw_b;		/* iptables rules were given */
};

static TT_UNUSED void tt_net_down(struct tt_net *t)
{
	if (t->a.fd >= 0)
		close(t->a.fd);
	if (t->b.fd >= 0)
		close(t->b.fd);
	t->a.fd = t->b.fd = -1;
}

/* netem on both ends, or change what is there (verb "add"/"change"). */
static TT_UNUSED int tt_net_netem(struct tt_net *t, const char *verb,
				  const char *args)
{
	if (tt_netem_cmd(t->a.fd, verb, "va", args))
		return -1;
	return tt_netem_cmd(t->b.fd, verb, "vb", args);
}

/*
 * Build A <-> B.  With netem, each end knows the other's MAC address from
 * a permanent ARP entry: ARP has no checksum, and a reply that "corrupt"
 * flipped a bit of the sender's address in would send every frame to a
 * MAC nobody has until the entry ages out, 15 to 45 s later (a connect()
 * timed out that way once).
 */
static TT_UNUSED int tt_net_up(struct tt_net *t, const struct tt_net_opts *o)
{
	int mtu_a = o && o->mtu_a ? o->mtu_a : 1500;
	int mtu_b = o && o->mtu_b ? o->mtu_b : 1500;
	bool off = !(o && o->offloads_on);
	bool one_seg = off && !(o && o->many_segs);
	struct sockaddr mac_a, mac_b;

	memset(t, 0, sizeof(*t));
	t->a.fd = tt_netns_new();
	t->b.fd = tt_netns_new();
	if (t->a.fd < 0 || t->b.fd < 0)
		return -1;
	if (TT_IN_NS(t->a.fd, tt_veth(t->b.fd, mtu_a, mtu_b, one_seg)))
		return -1;
	if (TT_IN_NS(t->a.fd, tt_if_setup("va", TT_IP_A, off)) ||
	    TT_IN_NS(t->b.fd, tt_if_setup("vb", TT_IP_B, off)))
		return -1;
	if (!o || !o->netem)
		return 0;
	if (TT_IN_NS(t->a.fd, tt_if_hwaddr("va", &mac_a)) ||
	    TT_IN_NS(t->b.fd, tt_if_hwaddr("vb", &mac_b)) ||
	    TT_IN_NS(t->a.fd, tt_arp_perm("va", TT_IP_B, &mac_b)) ||
	    TT_IN_NS(t->b.fd, tt_arp_perm("vb", TT_IP_A, &mac_a)))
		return -1;
	return tt_net_netem(t, "add", o->netem);
}

/* iptables rules in A's or B's filter table (replacing what was there). */
static TT_UNUSED int tt_net_iptables(struct tt_net *t, int nsfd,
				     const char *rules)
{
	if (*rules) {
		t->fw_a |= nsfd == t->a.fd;
		t->fw_b |= nsfd == t->b.fd;
	}
	return tt_iptables_in(nsfd, rules);
}

/* Everything into and out of namespace nsfd is dropped (IP only: ARP
 * keeps working, so neither stack hears of a neighbour failure, only
 * silence; toytcp's hook runs after the filter table).
 */
static TT_UNUSED int tt_net_blackhole(struct tt_net *t, int nsfd)
{
	return tt_net_iptables(t, nsfd, "-A INPUT -j DROP\n-A OUTPUT -j DROP\n");
}

/*
 * Undo every rule before the sockets close, so that what is left of them
 * can say goodbye and go: a socket that never gets a segment out would
 * otherwise stay until its stack gives up on it (its namespace with it),
 * and keep the module from unloading meanwhile.
 */
static TT_UNUSED void tt_net_unblock(struct tt_net *t)
{
	if (t->fw_a)
		tt_iptables_in(t->a.fd, "");
	if (t->fw_b)
		tt_iptables_in(t->b.fd, "");
	t->fw_a = t->fw_b = false;
}

#endif /* TT_TOPO_H */
