// SPDX-License-Identifier: GPL-2.0
/*
 * The host's rules hold for toytcp as for Linux TCP: netfilter at every
 * priority (iptables filter and security tables, nft chains at filter +
 * 10 made before the module was loaded and at filter + 20), NAT to a
 * toytcp port and stateful rules, IP_MINTTL, socket filters, cgroup-BPF
 * ingress and egress, and the ICMP errors a path or a firewall sends
 * (fragmentation needed, port and host unreachable).
 *
 * Every test is a fixture with a toytcp and a linux variant and the same
 * expectations: the linux variant shows what the host's rules do to Linux
 * TCP, the toytcp variant that they do the same to toytcp.
 *
 * cgroup-BPF: the programs are two instructions (r0 = 0; exit), loaded
 * with bpf(BPF_PROG_LOAD) as BPF_PROG_TYPE_CGROUP_SKB, no libbpf.  Both
 * Debian kernels (6.1 and 6.12) let root load and attach them
 * (CONFIG_CGROUP_BPF=y, CONFIG_BPF_SYSCALL=y); unprivileged BPF is off
 * there and not needed.  cgroup2 is mounted if the VM has not.
 *
 * The nft test needs nft(8) (Debian's nftables) and TOYTCP_KO to reload
 * the module; it skips, saying so, without them.
 */
#include "toytcp_test.h"

#include <sys/mount.h>
#include <netinet/ip.h>
#include <linux/bpf.h>
#include <linux/filter.h>

#define PORT	9300
#define PORT2	9301
#define FW_LO	"127.0.0.1"

/* ------------------------------------------------------------------ */
/* Rules                                                               */

/* iptables-restore of one table (filter, security, nat) in nsfd. */
static int fw_ipt(int nsfd, const char *table, const char *rules)
{
	char *const argv[] = { "iptables-restore", "-w", NULL };
	char text[1024];

	snprintf(text, sizeof(text), "*%s\n%sCOMMIT\n", table, rules);
	return tt_run(nsfd, text, argv);
}

/* Packets counted by the first rule with "what" in it, -1 if none. */
static long fw_ipt_pkts(int nsfd, const char *table, const char *chain,
			const char *what)
{
	char *const argv[] = { "iptables", "-w", "-t", (char *)table, "-nvxL",
			       (char *)chain, NULL };
	char out[4096], *line, *end, *save = NULL;
	long n;

	if (tt_run_io(nsfd, NULL, out, sizeof(out), argv))
		return -1;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, what)) {
			n = strtol(line, &end, 10);
			if (end != line)
				return n;
		}
	return -1;
}

static bool fw_have_nft(void)
{
	char *const argv[] = { "nft", "--version", NULL };
	char out[64];

	return tt_run_io(-1, NULL, out, sizeof(out), argv) == 0;
}

static int fw_nft(int nsfd, const char *script)
{
	char *const argv[] = { "nft", "-f", "-", NULL };

	return tt_run(nsfd, script, argv);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/* Connect a new socket of stack s to ip:port: 0 or an errno. */
static int fw_try(enum tt_stack s, int nsfd, const char *ip, int port,
		  int ms, int *fdp)
{
	int fd = tt_socket_in(nsfd, s), err;

	if (fd < 0)
		return errno;
	err = tt_connect_to(fd, tt_family(s), ip, port, ms);
	if (fdp && !err)
		*fdp = fd;
	else
		close(fd);
	return err;
}

/* Accept one connection within ms and close it: 0 or an errno. */
static int fw_accept_one(int l, int ms)
{
	int fd = tt_accept_to(l, ms, NULL);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/*
 * A blocked port: connect() does not complete (the SYN or its answer is
 * dropped: ETIMEDOUT within ms, or the listener accepts nothing).
 */
#define EXPECT_BLOCKED(s, ns, ip, port, l) do {				\
	int __e = fw_try(s, ns, ip, port, 1500, NULL);			\
	EXPECT_EQ(ETIMEDOUT, __e) TH_LOG("connect: %s", strerror(__e));	\
	EXPECT_EQ(ETIMEDOUT, fw_accept_one(l, 100));			\
} while (0)

#define EXPECT_OPEN(s, ns, ip, port, l) do {				\
	int __e = fw_try(s, ns, ip, port, 5000, NULL);			\
	EXPECT_EQ(0, __e) TH_LOG("connect: %s", strerror(__e));		\
	EXPECT_EQ(0, fw_accept_one(l, 5000));				\
} while (0)

/* ------------------------------------------------------------------ */
/* Netfilter on loopback: filter, security, nft                        */

FIXTURE(nf)
{
	int l;
};

FIXTURE_VARIANT(nf)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(nf);

FIXTURE_SETUP(nf)
{
	self->l = -1;
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(nf)
{
	if (self->l >= 0)
		close(self->l);
}

static void nf_table_drops(struct __test_metadata *_metadata,
			   FIXTURE_DATA(nf) *self, enum tt_stack s,
			   const char *table)
{
	char rule[128];

	self->l = tt_lo_listener(_metadata, s, PORT, 16);
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -j DROP\n", PORT);
	ASSERT_EQ(0, fw_ipt(-1, table, rule)) TH_LOG("iptables -t %s", table);
	EXPECT_BLOCKED(s, -1, FW_LO, PORT, self->l);
	EXPECT_LT(0, fw_ipt_pkts(-1, table, "INPUT", "DROP"));
	ASSERT_EQ(0, fw_ipt(-1, table, ""));
	EXPECT_OPEN(s, -1, FW_LO, PORT, self->l);
}

/* iptables -t filter -A INPUT -p tcp --dport P -j DROP */
TEST_F(nf, filter_table_drop_blocks_listener)
{
	nf_table_drops(_metadata, self, variant->stack, "filter");
}

/* The security table's INPUT chain runs after filter (priority 50). */
TEST_F(nf, security_table_drop_blocks_listener)
{
	nf_table_drops(_metadata, self, variant->stack, "security");
}

/* An nft input chain at priority filter + 20, after where the old hook was. */
TEST_F(nf, nft_chain_at_filter_plus_20_blocks_listener)
{
	char script[512];

	if (!fw_have_nft())
		SKIP(return, "nft(8) not installed (Debian: nftables)");
	self->l = tt_lo_listener(_metadata, variant->stack, PORT, 16);
	snprintf(script, sizeof(script),
		 "table inet fwtest {\n"
		 " chain in { type filter hook input priority filter + 20;\n"
		 "  tcp dport %d counter drop\n }\n}\n", PORT);
	ASSERT_EQ(0, fw_nft(-1, script));
	EXPECT_BLOCKED(variant->stack, -1, FW_LO, PORT, self->l);
	ASSERT_EQ(0, fw_nft(-1, "delete table inet fwtest\n"));
	EXPECT_OPEN(variant->stack, -1, FW_LO, PORT, self->l);
}

/* Module (re)loading, for the chain that exists before toytcp does. */
static const char *const fw_params[] = {
	"tw_timeout_ms", "syn_retries", "retries", "min_rto_ms", "delack_ms",
};

static int fw_reload(struct __test_metadata *_metadata)
{
	const char *ko = getenv("TOYTCP_KO");
	long saved[TT_ARRAY_SIZE(fw_params)];
	long long end = tt_now_ms() + 150000;
	size_t i;
	int fd, r;

	for (i = 0; i < TT_ARRAY_SIZE(fw_params); i++)
		saved[i] = tt_param_get(fw_params[i]);
	/* Earlier tests' TIME-WAIT sockets and orphans (whose FINs a dead
	 * peer never acknowledges: net.toytcp.orphan_retries, 8 backed-off
	 * retransmissions by default, as Linux) pin the module for a while.
	 */
	while ((r = syscall(__NR_delete_module, "toytcp", O_NONBLOCK)) &&
	       (errno == EWOULDBLOCK || errno == EBUSY) && tt_now_ms() < end)
		tt_msleep(200);
	if (r) {
		TH_LOG("rmmod toytcp: %s", strerror(errno));
		return -1;
	}
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = syscall(__NR_finit_module, fd, "", 0);
	close(fd);
	if (r) {
		TH_LOG("insmod %s: %s", ko, strerror(errno));
		return -1;
	}
	for (i = 0; i < TT_ARRAY_SIZE(fw_params); i++)
		if (saved[i] >= 0)
			tt_param_set(fw_params[i], saved[i]);
	return 0;
}

/*
 * An nft chain at filter + 10 made before toytcp is loaded: a hook toytcp
 * registered at load at the same priority would run before it (as
 * firewalld's zone chains, loaded at boot, are).
 */
TEST_F_TIMEOUT(nf, nft_chain_before_module_load_blocks_listener, 240)
{
	char script[512];

	if (!fw_have_nft())
		SKIP(return, "nft(8) not installed (Debian: nftables)");
	if (variant->stack == TT_TOYTCP && !getenv("TOYTCP_KO"))
		SKIP(return, "TOYTCP_KO is not set: cannot reload the module");
	snprintf(script, sizeof(script),
		 "table ip fwtest {\n"
		 " chain in { type filter hook input priority filter + 10;\n"
		 "  tcp dport %d counter drop\n }\n}\n", PORT);
	ASSERT_EQ(0, fw_nft(-1, script));
	if (variant->stack == TT_TOYTCP) {
		ASSERT_EQ(0, fw_reload(_metadata));
		TT_SET_TW(TT_TW_MS);
	}
	self->l = tt_lo_listener(_metadata, variant->stack, PORT, 16);
	EXPECT_BLOCKED(variant->stack, -1, FW_LO, PORT, self->l);
	ASSERT_EQ(0, fw_nft(-1, "delete table ip fwtest\n"));
	EXPECT_OPEN(variant->stack, -1, FW_LO, PORT, self->l);
}

/* ------------------------------------------------------------------ */
/* IP_MINTTL (GTSM, RFC 5082)                                          */

/* A SYN from 127.0.0.1:sport to port with this TTL, by a raw socket. */
static int fw_raw_syn(int sport, int port, int ttl)
{
	uint8_t pkt[40] = { 0 }, *tcp = pkt + 20;
	uint32_t lo = htonl(INADDR_LOOPBACK);
	struct sockaddr_in dst = tt_sin(AF_INET, FW_LO, 0);
	int fd, r;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	pkt[0] = 0x45;
	pkt[3] = sizeof(pkt);
	pkt[8] = ttl;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, &lo, 4);
	memcpy(pkt + 16, &lo, 4);
	tcp[0] = sport >> 8;
	tcp[1] = sport;
	tcp[2] = port >> 8;
	tcp[3] = port;
	tcp[4] = 0x12;		/* seq 0x12345678 */
	tcp[5] = 0x34;
	tcp[6] = 0x56;
	tcp[7] = 0x78;
	tcp[12] = 5 << 4;
	tcp[13] = TT_SYN;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	tt_tcp_csum(tcp, 20, lo, lo);
	r = sendto(fd, pkt, sizeof(pkt), 0, TT_SA(&dst), sizeof(dst));
	close(fd);
	return r == sizeof(pkt) ? 0 : -1;
}

/* Did a SYN-ACK from port to sport come by raw socket rfd within ms? */
static bool fw_saw_synack(int rfd, int port, int sport, int ms)
{
	long long end = tt_now_ms() + ms;
	uint8_t buf[1500];

	while (tt_now_ms() < end) {
		const uint8_t *tcp;
		ssize_t n;

		if (tt_poll1(rfd, POLLIN, 50) <= 0)
			continue;
		n = recv(rfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 40)
			continue;
		tcp = buf + (buf[0] & 0xf) * 4;
		if (((tcp[0] << 8) | tcp[1]) == port &&
		    ((tcp[2] << 8) | tcp[3]) == sport &&
		    (tcp[13] & (TT_SYN | TT_ACK)) == (TT_SYN | TT_ACK))
			return true;
	}
	return false;
}

FIXTURE(minttl)
{
	int l, rfd;
};

FIXTURE_VARIANT(minttl)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(minttl);

FIXTURE_SETUP(minttl)
{
	self->l = self->rfd = -1;
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	self->l = tt_lo_listener(_metadata, variant->stack, PORT, 16);
	self->rfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	ASSERT_LE(0, self->rfd);
}

FIXTURE_TEARDOWN(minttl)
{
	if (self->rfd >= 0)
		close(self->rfd);
	if (self->l >= 0)
		close(self->l);
}

/*
 * IP_MINTTL 255 on a listener: a SYN with TTL 1 gets no SYN-ACK and is
 * counted (TCPMinTTLDrop); one with TTL 255 gets its SYN-ACK.
 */
TEST_F(minttl, syn_below_min_ttl_dropped_and_counted)
{
	enum tt_stack s = variant->stack;
	long before;

	ASSERT_EQ(0, tt_setint(self->l, IPPROTO_IP, IP_MINTTL, 255));
	EXPECT_EQ(255, tt_getint(self->l, IPPROTO_IP, IP_MINTTL));
	before = tt_cnt(s, "TCPMinTTLDrop");
	ASSERT_EQ(0, fw_raw_syn(40001, PORT, 1));
	EXPECT_FALSE(fw_saw_synack(self->rfd, PORT, 40001, 500));
	EXPECT_EQ(before + 1, tt_cnt(s, "TCPMinTTLDrop"));
	ASSERT_EQ(0, fw_raw_syn(40002, PORT, 255));
	EXPECT_TRUE(fw_saw_synack(self->rfd, PORT, 40002, 2000));
}

/* ------------------------------------------------------------------ */
/* Socket filters                                                      */

FIXTURE(sockfilter)
{
	struct tt_conn k;
};

FIXTURE_VARIANT(sockfilter)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(sockfilter);

FIXTURE_SETUP(sockfilter)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	tt_lo_pair(_metadata, variant->stack, PORT, &self->k);
}

FIXTURE_TEARDOWN(sockfilter)
{
	tt_conn_close(&self->k);
}

/*
 * A classic BPF "drop everything" on the receiving socket: what the peer
 * sends is not delivered and stays unacknowledged (the peer sends it
 * again); detached, the data gets through.
 */
TEST_F(sockfilter, drop_all_filter_holds_data_until_detached)
{
	struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop };
	static const char msg[] = "filtered";
	char buf[sizeof(msg)];
	int s = self->k.s, c = self->k.c, zero = 0;

	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
				sizeof(prog))) TH_LOG("%s", strerror(errno));
	ASSERT_EQ((ssize_t)sizeof(msg), send(c, msg, sizeof(msg), 0));
	EXPECT_EQ(0, tt_poll1(s, POLLIN, 1500)) TH_LOG("data passed the filter");
	EXPECT_EQ((int)sizeof(msg), tt_outq(c)) TH_LOG("not unacknowledged");
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, &zero,
				sizeof(zero)));
	EXPECT_EQ((ssize_t)sizeof(msg), tt_recv_all(s, buf, sizeof(buf), 10000));
	EXPECT_EQ(0, memcmp(buf, msg, sizeof(msg)));
}

/* ------------------------------------------------------------------ */
/* cgroup-BPF                                                          */

#define FW_CG_ROOT	"/sys/fs/cgroup"

static int fw_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* A CGROUP_SKB program that drops every packet (returns 0). */
static int fw_drop_prog(enum bpf_attach_type type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SKB;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = TT_ARRAY_SIZE(insns);
	attr.license = (unsigned long)"GPL";
	attr.expected_attach_type = type;
	attr.log_buf = (unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	return fw_bpf(BPF_PROG_LOAD, &attr);
}

static bool fw_cgroup2_mounted(void)
{
	return access(FW_CG_ROOT "/cgroup.procs", F_OK) == 0;
}

static int fw_cg_join(const char *dir)
{
	char path[256], pid[32];
	int fd, r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	r = write(fd, pid, strlen(pid)) > 0 ? 0 : -1;
	close(fd);
	return r;
}

FIXTURE(cgroup)
{
	char dir[128];
	int cg, prog, l;
};

FIXTURE_VARIANT(cgroup)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(cgroup);

FIXTURE_SETUP(cgroup)
{
	self->cg = self->prog = self->l = -1;
	self->dir[0] = 0;
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
	if (!fw_cgroup2_mounted())
		ASSERT_EQ(0, mount("cgroup2", FW_CG_ROOT, "cgroup2", 0, NULL))
			TH_LOG("mount cgroup2: %s", strerror(errno));
	snprintf(self->dir, sizeof(self->dir), FW_CG_ROOT "/toytcp-fw-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755)) TH_LOG("%s", strerror(errno));
	self->cg = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->cg);
	/* The listener outside the cgroup: only the client is judged. */
	self->l = tt_lo_listener(_metadata, variant->stack, PORT, 16);
}

FIXTURE_TEARDOWN(cgroup)
{
	if (self->l >= 0)
		close(self->l);
	fw_cg_join(FW_CG_ROOT);
	if (self->prog >= 0)
		close(self->prog);
	if (self->cg >= 0)
		close(self->cg);
	if (self->dir[0])
		rmdir(self->dir);
}

static void fw_cgroup_drop(struct __test_metadata *_metadata,
			   FIXTURE_DATA(cgroup) *self, enum tt_stack s,
			   enum bpf_attach_type type)
{
	union bpf_attr attr;
	int fd = -1, err;

	/* Unblocked first: the path works. */
	ASSERT_EQ(0, fw_cg_join(self->dir));
	EXPECT_OPEN(s, -1, FW_LO, PORT, self->l);

	self->prog = fw_drop_prog(type);
	ASSERT_LE(0, self->prog) TH_LOG("BPF_PROG_LOAD: %s", strerror(errno));
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = self->cg;
	attr.attach_bpf_fd = self->prog;
	attr.attach_type = type;
	ASSERT_EQ(0, fw_bpf(BPF_PROG_ATTACH, &attr))
		TH_LOG("BPF_PROG_ATTACH: %s", strerror(errno));
	/* Sockets made in the cgroup (toytcp's port reservation is made
	 * at connect(), in the process's cgroup).
	 */
	err = fw_try(s, -1, FW_LO, PORT, 2000, &fd);
	EXPECT_NE(0, err) TH_LOG("connected through a drop-all %s program",
				 type == BPF_CGROUP_INET_EGRESS ? "egress" :
				 "ingress");
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(ETIMEDOUT, fw_accept_one(self->l, 100));

	ASSERT_EQ(0, fw_bpf(BPF_PROG_DETACH, &attr));
	EXPECT_OPEN(s, -1, FW_LO, PORT, self->l);
}

/* systemd's IPAddressDeny= in miniature: nothing leaves the cgroup. */
TEST_F(cgroup, egress_drop_all_blocks_connect)
{
	fw_cgroup_drop(_metadata, self, variant->stack, BPF_CGROUP_INET_EGRESS);
}

/* Nothing reaches a socket of the cgroup: the SYN-ACK is dropped. */
TEST_F(cgroup, ingress_drop_all_blocks_connect)
{
	fw_cgroup_drop(_metadata, self, variant->stack,
		       BPF_CGROUP_INET_INGRESS);
}

/* ------------------------------------------------------------------ */
/* NAT and stateful rules across namespaces (A client, B server)       */

FIXTURE(veth)
{
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(veth)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(veth);

FIXTURE_SETUP(veth)
{
	self->k.c = self->k.s = self->k.l = -1;
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	ASSERT_EQ(0, tt_net_up(&self->t, NULL));
}

FIXTURE_TEARDOWN(veth)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/* Data both ways, compared byte by byte, and a close both ends see. */
static void fw_exchange(struct __test_metadata *_metadata, struct tt_conn *k,
			size_t len)
{
	struct tt_ep a, b;

	tt_ep_init(&a, k->c, 11, len, 22, len);
	tt_ep_init(&b, k->s, 22, len, 11, len);
	a.stall_ms = b.stall_ms = 10000;
	tt_ep_pair(&a, &b);
	EXPECT_EQ(0, a.err) TH_LOG("client: %s", a.msg);
	EXPECT_EQ(0, b.err) TH_LOG("server: %s", b.msg);
	EXPECT_EQ(len, a.rcvd);
	EXPECT_EQ(len, b.rcvd);
	EXPECT_TRUE(a.eof && b.eof);
}

/*
 * REDIRECT in the server's PREROUTING: the client connects to P1, the
 * toytcp listener is on P2.  Conntrack must see the whole connection (its
 * confirm runs last at LOCAL_IN) to undo the NAT on the way back.
 */
TEST_F(veth, redirect_to_listener_port)
{
	enum tt_stack s = variant->stack;
	char rule[160];
	int err;

	snprintf(rule, sizeof(rule),
		 "-A PREROUTING -p tcp --dport %d -j REDIRECT --to-ports %d\n",
		 PORT, PORT2);
	ASSERT_EQ(0, fw_ipt(self->t.b.fd, "nat", rule));
	self->k.l = tt_listen_in(self->t.b.fd, s, "0.0.0.0", PORT2, 16);
	ASSERT_LE(0, self->k.l);
	self->k.c = tt_socket_in(self->t.a.fd, s);
	ASSERT_LE(0, self->k.c);
	err = tt_connect_to(self->k.c, tt_family(s), TT_IP_B, PORT, 5000);
	ASSERT_EQ(0, err) TH_LOG("connect to the redirected port: %s",
				 strerror(err));
	self->k.s = tt_accept_to(self->k.l, 5000, NULL);
	ASSERT_LE(0, self->k.s);
	fw_exchange(_metadata, &self->k, 256 * 1024);
	EXPECT_LT(0, fw_ipt_pkts(self->t.b.fd, "nat", "PREROUTING", "REDIRECT"));
}

/*
 * A stateful firewall in the server's namespace: new connections only to
 * the listener's port, everything else only as part of a known one.
 */
TEST_F(veth, stateful_rules_pass_a_whole_connection)
{
	enum tt_stack s = variant->stack;
	char rules[512];

	snprintf(rules, sizeof(rules),
		 ":INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n"
		 "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
		 "-A INPUT -p tcp --dport %d -m conntrack --ctstate NEW -j ACCEPT\n"
		 "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n",
		 PORT);
	ASSERT_EQ(0, fw_ipt(self->t.b.fd, "filter", rules));
	tt_net_pair(_metadata, &self->t, s, 0, s, PORT, &self->k);
	fw_exchange(_metadata, &self->k, 1024 * 1024);
	EXPECT_LT(0, fw_ipt_pkts(self->t.b.fd, "filter", "OUTPUT",
				 "ESTABLISHED"));
	fw_ipt(self->t.b.fd, "filter", "");
}

/* ------------------------------------------------------------------ */
/* ICMP                                                                */

/*
 * REJECT in the server's INPUT: the client learns at once.  Port
 * unreachable fails connect() with ECONNREFUSED, host unreachable with
 * EHOSTUNREACH, both before the first SYN retransmission (1 s).
 */
static void fw_reject(struct __test_metadata *_metadata, struct tt_net *t,
		      enum tt_stack s, const char *with, int want)
{
	char rule[160];
	long long t0;
	int err;

	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -j REJECT --reject-with %s\n",
		 PORT, with);
	ASSERT_EQ(0, fw_ipt(t->b.fd, "filter", rule));
	t0 = tt_now_ms();
	err = fw_try(s, t->a.fd, TT_IP_B, PORT, 5000, NULL);
	EXPECT_EQ(want, err) TH_LOG("connect: %s", strerror(err));
	EXPECT_GT(900 * tt_time_scale(), tt_now_ms() - t0)
		TH_LOG("connect failed only after SYN retransmissions");
	fw_ipt(t->b.fd, "filter", "");
}

TEST_F(veth, reject_port_unreachable_refuses_connect)
{
	int l = tt_listen_in(self->t.b.fd, variant->stack, TT_IP_B, PORT, 4);

	ASSERT_LE(0, l);
	fw_reject(_metadata, &self->t, variant->stack,
		  "icmp-port-unreachable", ECONNREFUSED);
	close(l);
}

TEST_F(veth, reject_host_unreachable_fails_connect)
{
	int l = tt_listen_in(self->t.b.fd, variant->stack, TT_IP_B, PORT, 4);

	ASSERT_LE(0, l);
	fw_reject(_metadata, &self->t, variant->stack,
		  "icmp-host-unreachable", EHOSTUNREACH);
	close(l);
}

/*
 * Host unreachable about a connection's data: a soft error.  The
 * connection goes on; SO_ERROR reads the error once; the data gets
 * through once the path is back.
 */
TEST_F(veth, host_unreachable_when_established_is_soft_error)
{
	enum tt_stack s = variant->stack;
	static const char msg[] = "after the storm";
	char rule[160], buf[sizeof(msg)];

	tt_net_pair(_metadata, &self->t, s, 0, s, PORT, &self->k);
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -j REJECT --reject-with icmp-host-unreachable\n",
		 PORT);
	ASSERT_EQ(0, fw_ipt(self->t.b.fd, "filter", rule));
	ASSERT_EQ((ssize_t)sizeof(msg), send(self->k.c, msg, sizeof(msg), 0));
	tt_msleep(300);
	EXPECT_EQ(TT_ESTABLISHED, TT_IN_NS(self->t.a.fd,
					   tt_fd_state(s, self->k.c)));
	EXPECT_EQ(EHOSTUNREACH, tt_so_error(self->k.c));
	EXPECT_EQ(0, tt_so_error(self->k.c));
	ASSERT_EQ(0, fw_ipt(self->t.b.fd, "filter", ""));
	EXPECT_EQ((ssize_t)sizeof(msg),
		  tt_recv_all(self->k.s, buf, sizeof(buf), 10000));
	EXPECT_EQ(0, memcmp(buf, msg, sizeof(msg)));
}

/*
 * Path MTU discovery (RFC 1191) through a router whose link to the server
 * has MTU 1280, with DF set:
 *
 *	C (10.78.1.1) -- R (10.78.1.2 | 10.78.2.1, MTU 1280) -- S (10.78.2.2)
 *
 * The server's link is 1500, so it announces MSS 1460; the client's first
 * full segments meet the router's "fragmentation needed", are sent again
 * smaller, and the transfer completes at MSS 1240.  Timestamps off, so
 * that Linux's MSS is 1240 too.
 */
#define FW_IP_C	"10.78.1.1"
#define FW_IP_R1 "10.78.1.2"
#define FW_IP_R2 "10.78.2.1"
#define FW_IP_S	"10.78.2.2"

FIXTURE(pmtu)
{
	int c, r, s;
	struct tt_conn k;
};

FIXTURE_VARIANT(pmtu)
{
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(pmtu);

static int fw_route_via(int nsfd, const char *gw)
{
	char *const argv[] = { "ip", "route", "add", "default", "via",
			       (char *)gw, NULL };

	return tt_run(nsfd, NULL, argv);
}

FIXTURE_SETUP(pmtu)
{
	self->k.c = self->k.s = self->k.l = -1;
	TT_REQUIRE_STACK(variant->stack);
	if (variant->stack == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	self->c = tt_netns_new();
	self->r = tt_netns_new();
	self->s = tt_netns_new();
	ASSERT_LE(0, self->c);
	ASSERT_LE(0, self->r);
	ASSERT_LE(0, self->s);
	/* C's va <-> R's vb; R's va (MTU 1280) <-> S's vb (1500) */
	ASSERT_EQ(0, TT_IN_NS(self->c, tt_veth(self->r, 1500, 1500, false)));
	ASSERT_EQ(0, TT_IN_NS(self->r, tt_veth(self->s, 1280, 1500, false)));
	ASSERT_EQ(0, TT_IN_NS(self->c, tt_if_setup("va", FW_IP_C, false)));
	ASSERT_EQ(0, TT_IN_NS(self->r, tt_if_setup("vb", FW_IP_R1, false)));
	ASSERT_EQ(0, TT_IN_NS(self->r, tt_if_setup("va", FW_IP_R2, false)));
	ASSERT_EQ(0, TT_IN_NS(self->s, tt_if_setup("vb", FW_IP_S, false)));
	ASSERT_EQ(0, TT_IN_NS(self->r, tt_sysctl_set("ipv4/ip_forward", 1)));
	ASSERT_EQ(0, TT_IN_NS(self->c, tt_sysctl_set("ipv4/tcp_timestamps", 0)));
	ASSERT_EQ(0, TT_IN_NS(self->s, tt_sysctl_set("ipv4/tcp_timestamps", 0)));
	ASSERT_EQ(0, fw_route_via(self->c, FW_IP_R1));
	ASSERT_EQ(0, fw_route_via(self->s, FW_IP_R2));
}

FIXTURE_TEARDOWN(pmtu)
{
	tt_conn_close(&self->k);
	close(self->c);
	close(self->r);
	close(self->s);
}

/* The MSS a connected socket sends with, and its retransmissions. */
static int fw_mss(enum tt_stack s, int fd, unsigned int *retrans)
{
	struct toytcp_info ti;
	struct tcp_info li;
	socklen_t len;

	if (s == TT_TOYTCP) {
		len = sizeof(ti);
		if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len))
			return -1;
		*retrans = ti.total_retrans;
		return ti.mss;
	}
	len = sizeof(li);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &li, &len))
		return -1;
	*retrans = li.tcpi_total_retrans;
	return li.tcpi_snd_mss;
}

static long fw_icmp_out_unreach(int nsfd)
{
	struct tt_kv_one o = { "OutDestUnreachs", -1 };

	TT_IN_NS(nsfd, tt_kv_each("/proc/thread-self/net/snmp", "Icmp",
				  tt_kv_one_cb, &o));
	return o.v;
}

TEST_F(pmtu, frag_needed_lowers_mss_and_transfer_completes)
{
	enum tt_stack s = variant->stack;
	unsigned int retrans = 0;
	struct tt_xfer x;
	int err, mss;

	self->k.l = tt_listen_in(self->s, s, FW_IP_S, PORT, 4);
	ASSERT_LE(0, self->k.l);
	self->k.c = tt_socket_in(self->c, s);
	ASSERT_LE(0, self->k.c);
	err = tt_connect_to(self->k.c, tt_family(s), FW_IP_S, PORT, 5000);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	self->k.s = tt_accept_to(self->k.l, 5000, NULL);
	ASSERT_LE(0, self->k.s);
	EXPECT_EQ(1460, fw_mss(s, self->k.c, &retrans));

	tt_xfer_init(&x, self->k.c, self->k.s, 4 << 20, 7, 20000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, 4 << 20);
	mss = fw_mss(s, self->k.c, &retrans);
	EXPECT_EQ(1240, mss);
	EXPECT_LT(0u, retrans) TH_LOG("nothing was sent again smaller");
	EXPECT_LT(0, fw_icmp_out_unreach(self->r))
		TH_LOG("the router sent no fragmentation needed");
	if (s == TT_TOYTCP)
		EXPECT_LT(0, TT_IN_NS(self->c, tt_cnt(s, "PmtuReduced")));
}

/*
 * RFC 5927: a "fragmentation needed" quoting a sequence number that is
 * not in flight (forged here, from the router, about the connection's
 * 4-tuple) changes nothing: the MSS stays, and it is counted
 * (OutOfWindowIcmps, as Linux counts it).
 */
TEST_F(pmtu, forged_frag_needed_outside_window_ignored)
{
	enum tt_stack s = variant->stack;
	uint8_t pkt[8 + 28] = { 3, 4 }, *iph = pkt + 8, *tcp = pkt + 28;
	struct sockaddr_in me, dst = tt_sin(AF_INET, FW_IP_C, 0);
	unsigned int retrans = 0;
	long before;
	uint32_t a;
	int fd, err;

	self->k.l = tt_listen_in(self->s, s, FW_IP_S, PORT, 4);
	ASSERT_LE(0, self->k.l);
	self->k.c = tt_socket_in(self->c, s);
	ASSERT_LE(0, self->k.c);
	err = tt_connect_to(self->k.c, tt_family(s), FW_IP_S, PORT, 5000);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	self->k.s = tt_accept_to(self->k.l, 5000, NULL);
	ASSERT_LE(0, self->k.s);
	ASSERT_EQ(0, tt_sockname(self->k.c, &me));
	before = TT_IN_NS(self->c, tt_cnt(s, "OutOfWindowIcmps"));

	/* ICMP 3/4, next-hop MTU 1280, quoting C -> S with seq far off. */
	pkt[6] = 1280 >> 8;
	pkt[7] = 1280 & 0xff;
	iph[0] = 0x45;
	iph[3] = 60;
	iph[6] = 0x40;
	iph[8] = 64;
	iph[9] = IPPROTO_TCP;
	a = inet_addr(FW_IP_C);
	memcpy(iph + 12, &a, 4);
	a = inet_addr(FW_IP_S);
	memcpy(iph + 16, &a, 4);
	memcpy(tcp, &me.sin_port, 2);
	tcp[2] = PORT >> 8;
	tcp[3] = PORT & 0xff;
	tcp[4] = 0x80;		/* about 2^31 away from anything sent */
	fd = TT_IN_NS(self->r, socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC,
				      IPPROTO_ICMP));
	ASSERT_LE(0, fd);
	a = tt_csum_fold(tt_csum_add(0, pkt, sizeof(pkt)));
	pkt[2] = a >> 8;
	pkt[3] = a & 0xff;
	ASSERT_EQ((ssize_t)sizeof(pkt),
		  sendto(fd, pkt, sizeof(pkt), 0, TT_SA(&dst), sizeof(dst)));
	close(fd);
	tt_msleep(200);
	EXPECT_EQ(before + 1, TT_IN_NS(self->c, tt_cnt(s, "OutOfWindowIcmps")));
	EXPECT_EQ(1460, fw_mss(s, self->k.c, &retrans));
	EXPECT_EQ(0u, retrans);
}

TEST_HARNESS_MAIN
