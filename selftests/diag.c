// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag for AF_TOYTCP (module/diag.c): what a NETLINK_SOCK_DIAG dump
 * answers, checked field by field against what the sockets say of
 * themselves (TOYTCP_INFO, getsockname(), SIOCINQ, fstat()) and against
 * their lines in /proc/net/toytcp; the state and port filters; the
 * namespace; a dump larger than one netlink message, resumed where it
 * stopped; and the handler gone with the module (a dump then fails with
 * ENOENT, and works again once the module is back).
 *
 * Each test runs in a network namespace of its own, so that the dump
 * lists its sockets and nothing else.
 */
#include "toytcp_test.h"

#include <libgen.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#define PORT 7300

struct tt_diag {
	struct toytcp_diag_msg m;
	struct toytcp_info info;
	bool has_info;
	uint32_t mem[SK_MEMINFO_VARS];
	int nmem;
	char cong[16];
};

/*
 * One dump: the sockets (malloc()ed into *out) and how many netlink
 * datagrams the answer took (*parts).  Returns the count, or -errno: the
 * NLMSG_ERROR's, or the socket call's.
 */
static int tt_diag_dump(uint32_t states, int sport, int dport,
			struct tt_diag **out, int *parts)
{
	struct {
		struct nlmsghdr nh;
		struct toytcp_diag_req r;
	} req = {
		.nh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = AF_TOYTCP,
			.tdiag_states = states,
		},
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	static char buf[1 << 16];
	int fd, n = 0, cap = 64, err = 0;
	struct tt_diag *v;

	*out = NULL;
	if (parts)
		*parts = 0;
	if (sport >= 0) {
		req.r.tdiag_flags |= TOYTCP_DIAG_SPORT;
		req.r.tdiag_sport = htons(sport);
	}
	if (dport >= 0) {
		req.r.tdiag_flags |= TOYTCP_DIAG_DPORT;
		req.r.tdiag_dport = htons(dport);
	}
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	v = calloc(cap, sizeof(*v));
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			err = -errno;
			break;
		}
		if (parts)
			(*parts)++;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			struct nlattr *a;
			struct tt_diag *d;
			int rem;

			if (nh->nlmsg_type == NLMSG_DONE)
				goto done;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto done;
			}
			if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(d->m)))
				continue;
			if (n == cap) {
				cap *= 2;
				v = realloc(v, cap * sizeof(*v));
			}
			d = &v[n++];
			memset(d, 0, sizeof(*d));
			memcpy(&d->m, NLMSG_DATA(nh), sizeof(d->m));
			rem = nh->nlmsg_len - NLMSG_LENGTH(sizeof(d->m));
			a = (struct nlattr *)((char *)NLMSG_DATA(nh) +
					      NLMSG_ALIGN(sizeof(d->m)));
			while (rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
			       a->nla_len <= rem) {
				int plen = a->nla_len - NLA_HDRLEN;
				void *p = (char *)a + NLA_HDRLEN;

				if (a->nla_type == TOYTCP_DIAG_INFO &&
				    plen >= (int)sizeof(d->info)) {
					memcpy(&d->info, p, sizeof(d->info));
					d->has_info = true;
				} else if (a->nla_type == TOYTCP_DIAG_MEMINFO) {
					d->nmem = plen / 4;
					memcpy(d->mem, p, 4 * (d->nmem < SK_MEMINFO_VARS ?
							       d->nmem : SK_MEMINFO_VARS));
				} else if (a->nla_type == TOYTCP_DIAG_CONG) {
					snprintf(d->cong, sizeof(d->cong), "%.*s",
						 plen, (char *)p);
				}
				rem -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
			}
		}
	}
done:
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return n;
}

/* The entry for local l -> remote r (r NULL: a listener), or NULL. */
static struct tt_diag *tt_diag_find(struct tt_diag *v, int n,
				    const struct sockaddr_in *l,
				    const struct sockaddr_in *r)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].m.tdiag_src == l->sin_addr.s_addr &&
		    v[i].m.tdiag_sport == l->sin_port &&
		    v[i].m.tdiag_dst == (r ? r->sin_addr.s_addr : 0) &&
		    v[i].m.tdiag_dport == (r ? r->sin_port : 0))
			return &v[i];
	return NULL;
}

static struct toytcp_info tt_info(int fd)
{
	struct toytcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len);
	return ti;
}

#define TT_ALL_STATES 0xffffffffU

FIXTURE(diag) {
	struct tt_conn k;
};

FIXTURE_SETUP(diag)
{
	self->k.c = self->k.s = self->k.l = -1;
	ASSERT_EQ(0, tt_fresh_netns()) TH_LOG("unshare: %s", strerror(errno));
	TT_REQUIRE_STACK(TT_TOYTCP);
	TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(diag)
{
	tt_conn_close(&self->k);
}

/*
 * Each end of a connection with unread data in flight one way, and its
 * listener: the message's fields are the socket's own (names, queues,
 * inode, uid) and /proc/net/toytcp's, TOYTCP_DIAG_INFO is what
 * TOYTCP_INFO says, TOYTCP_DIAG_MEMINFO has the buffer sizes, and
 * TOYTCP_DIAG_CONG the algorithm TCP_CONGESTION names.
 */
TEST_F(diag, each_socket_as_toytcp_info_and_proc_say)
{
	struct sockaddr_in cl, sv, lst;
	struct tt_diag *v, *d;
	char data[1000];
	int n, i, fds[3];

	tt_lo_pair(_metadata, TT_TOYTCP, PORT, &self->k);
	memset(data, 'd', sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data),
		  tt_send_all(self->k.c, data, sizeof(data), 5000));
	/* The server's end holds the 1000 bytes unread. */
	for (i = 0; i < 100 && tt_inq(self->k.s) < (int)sizeof(data); i++)
		tt_msleep(20);
	ASSERT_EQ((int)sizeof(data), tt_inq(self->k.s));
	tt_msleep(300);		/* the delayed ACK is out: a quiet pair */

	n = tt_diag_dump(TT_ALL_STATES, -1, -1, &v, NULL);
	ASSERT_EQ(3, n) TH_LOG("dump: %d (%s)", n, n < 0 ? strerror(-n) : "");
	ASSERT_EQ(0, tt_sockname(self->k.c, &cl));
	ASSERT_EQ(0, tt_sockname(self->k.s, &sv));
	ASSERT_EQ(0, tt_sockname(self->k.l, &lst));
	fds[0] = self->k.c;
	fds[1] = self->k.s;
	fds[2] = self->k.l;
	for (i = 0; i < 3; i++) {
		const struct sockaddr_in *l = i == 0 ? &cl : i == 1 ? &sv : &lst;
		const struct sockaddr_in *r = i == 0 ? &sv : i == 1 ? &cl : NULL;
		struct toytcp_info ti = tt_info(fds[i]);
		char cong[16] = "";
		socklen_t clen = sizeof(cong);
		struct tt_ent e = { 0 };
		int st;

		d = tt_diag_find(v, n, l, r);
		ASSERT_NE(NULL, d) TH_LOG("socket %d not in the dump", i);
		st = tt_lookup(TT_TOYTCP, l, r, &e);
		EXPECT_EQ(AF_TOYTCP, d->m.tdiag_family);
		EXPECT_EQ(st, d->m.tdiag_state);
		EXPECT_EQ(i == 2 ? TT_LISTEN : TT_ESTABLISHED, d->m.tdiag_state);
		EXPECT_EQ(tt_ino(fds[i]), d->m.tdiag_inode);
		EXPECT_EQ(e.ino, d->m.tdiag_inode);
		EXPECT_EQ(getuid(), d->m.tdiag_uid);
		EXPECT_EQ(0, d->m.tdiag_timer);
		if (i < 2) {
			/* /proc's rx_queue and tx_queue, SIOCINQ, SIOCOUTQ */
			EXPECT_EQ(e.rxq, d->m.tdiag_rqueue);
			EXPECT_EQ(e.txq, d->m.tdiag_wqueue);
			EXPECT_EQ(tt_inq(fds[i]), (int)d->m.tdiag_rqueue);
			EXPECT_EQ(tt_outq(fds[i]), (int)d->m.tdiag_wqueue);
		} else {
			EXPECT_EQ(0, d->m.tdiag_rqueue);	/* accepted */
			EXPECT_EQ(16, d->m.tdiag_wqueue);	/* the backlog */
		}
		ASSERT_TRUE(d->has_info);
		EXPECT_EQ(sizeof(ti), d->info.length);
		EXPECT_EQ(ti.state, d->info.state);
		EXPECT_EQ(ti.iss, d->info.iss);
		EXPECT_EQ(ti.irs, d->info.irs);
		EXPECT_EQ(ti.snd_una, d->info.snd_una);
		EXPECT_EQ(ti.snd_nxt, d->info.snd_nxt);
		EXPECT_EQ(ti.rcv_nxt, d->info.rcv_nxt);
		EXPECT_EQ(ti.copied_seq, d->info.copied_seq);
		EXPECT_EQ(ti.mss, d->info.mss);
		EXPECT_EQ(ti.cwnd, d->info.cwnd);
		EXPECT_EQ(ti.ssthresh, d->info.ssthresh);
		EXPECT_EQ(ti.srtt_us, d->info.srtt_us);
		EXPECT_EQ(ti.bytes_acked, d->info.bytes_acked);
		EXPECT_EQ(ti.bytes_received, d->info.bytes_received);
		EXPECT_EQ(ti.rcvbuf, d->info.rcvbuf);
		/* The data, and the SYN's one if the stack counts it. */
		EXPECT_LE(i == 0 ? sizeof(data) : 0, d->info.bytes_acked);
		EXPECT_GE((i == 0 ? sizeof(data) : 0) + 1, d->info.bytes_acked);
		EXPECT_LE(SK_MEMINFO_VARS, d->nmem);
		EXPECT_EQ(tt_getint(fds[i], SOL_SOCKET, SO_RCVBUF),
			  (int)d->mem[SK_MEMINFO_RCVBUF]);
		EXPECT_EQ(tt_getint(fds[i], SOL_SOCKET, SO_SNDBUF),
			  (int)d->mem[SK_MEMINFO_SNDBUF]);
		if (i == 1)	/* the unread bytes, with their skb */
			EXPECT_LE(sizeof(data), d->mem[SK_MEMINFO_RMEM_ALLOC]);
		EXPECT_EQ(0, getsockopt(fds[i], IPPROTO_TCP, TCP_CONGESTION,
					cong, &clen));
		EXPECT_STREQ(cong, d->cong);
	}
	free(v);
}

/* The state bitmask and the port filters, alone and together. */
TEST_F(diag, filters_by_state_and_port)
{
	struct sockaddr_in cl;
	struct tt_diag *v;
	int n;

	tt_lo_pair(_metadata, TT_TOYTCP, PORT, &self->k);
	ASSERT_EQ(0, tt_sockname(self->k.c, &cl));

	n = tt_diag_dump(1U << TT_LISTEN, -1, -1, &v, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ(TT_LISTEN, v[0].m.tdiag_state);
	free(v);
	n = tt_diag_dump(1U << TT_ESTABLISHED, -1, -1, &v, NULL);
	EXPECT_EQ(2, n);
	free(v);
	n = tt_diag_dump(1U << TT_ESTABLISHED, PORT, -1, &v, NULL);
	ASSERT_EQ(1, n) TH_LOG("sport %d: the server's end", PORT);
	EXPECT_EQ(htons(ntohs(cl.sin_port)), v[0].m.tdiag_dport);
	free(v);
	n = tt_diag_dump(TT_ALL_STATES, -1, PORT, &v, NULL);
	ASSERT_EQ(1, n) TH_LOG("dport %d: the client's end", PORT);
	EXPECT_EQ(cl.sin_port, v[0].m.tdiag_sport);
	free(v);
	n = tt_diag_dump(TT_ALL_STATES, PORT, 0, &v, NULL);
	ASSERT_EQ(1, n) TH_LOG("sport %d dport 0: the listener", PORT);
	EXPECT_EQ(TT_LISTEN, v[0].m.tdiag_state);
	free(v);
	n = tt_diag_dump(TT_ALL_STATES, PORT + 1, -1, &v, NULL);
	EXPECT_EQ(0, n);
	free(v);
	n = tt_diag_dump(1U << TT_TIME_WAIT, -1, -1, &v, NULL);
	EXPECT_EQ(0, n);
	free(v);
}

/* Only the requester's namespace: another one's sockets are not listed. */
TEST_F(diag, other_namespace_not_listed)
{
	struct tt_diag *v;
	int other, n;

	tt_lo_pair(_metadata, TT_TOYTCP, PORT, &self->k);
	other = tt_netns_new();
	ASSERT_LE(0, other);
	n = TT_IN_NS(other, tt_diag_dump(TT_ALL_STATES, -1, -1, &v, NULL));
	EXPECT_EQ(0, n);
	free(v);
	n = tt_diag_dump(TT_ALL_STATES, -1, -1, &v, NULL);
	EXPECT_EQ(3, n);
	free(v);
	close(other);
}

/*
 * 301 sockets (a listener and 150 connections) take several netlink
 * datagrams: the dump goes on where the last part stopped, and lists
 * each socket once, as /proc/net/toytcp does.
 */
#define MANY 150
TEST_F_TIMEOUT(diag, large_dump_resumes_and_lists_each_socket_once, 300)
{
	int c[MANY], s[MANY], n, parts, i, j, procn, dup = 0;
	struct tt_ent *e;
	struct tt_diag *v;

	self->k.l = tt_lo_listener(_metadata, TT_TOYTCP, PORT, MANY);
	for (i = 0; i < MANY; i++) {
		c[i] = tt_socket(TT_TOYTCP);
		ASSERT_EQ(0, tt_connect_to(c[i], AF_TOYTCP, TT_LO, PORT, 10000));
		s[i] = tt_accept_to(self->k.l, 10000, NULL);
		ASSERT_LE(0, s[i]);
	}
	n = tt_diag_dump(TT_ALL_STATES, -1, -1, &v, &parts);
	procn = tt_proc_read(TT_TOYTCP, &e);
	free(e);
	EXPECT_EQ(2 * MANY + 1, n);
	EXPECT_EQ(procn, n);
	EXPECT_LT(1, parts) TH_LOG("the answer came in %d datagram(s)", parts);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (v[i].m.tdiag_sport == v[j].m.tdiag_sport &&
			    v[i].m.tdiag_dport == v[j].m.tdiag_dport)
				dup++;
	EXPECT_EQ(0, dup);
	TH_LOG("%d sockets in %d datagrams", n, parts);
	free(v);
	for (i = 0; i < MANY; i++) {
		close(c[i]);
		close(s[i]);
	}
}

/*
 * rmmod unregisters the handler: a dump then fails with ENOENT (no stale
 * handler answers), tools/toytcp-ss says the module is not loaded, and
 * after insmod dumps work again.  Needs TOYTCP_KO (run_tests.sh sets it).
 */
TEST_F_TIMEOUT(diag, rmmod_unregisters_the_handler, 200)
{
	const char *ko = getenv("TOYTCP_KO");
	struct tt_diag *v;
	long long end;
	char cmd[512], exe[256];
	int fd, n, r;
	ssize_t len;

	if (!ko || access(ko, R_OK))
		SKIP(return, "TOYTCP_KO not set");
	/* Every toytcp socket of the earlier tests gone (TIME-WAIT 1 s). */
	end = tt_now_ms() + 120000;
	while (tt_cnt(TT_TOYTCP, "LiveSockets") > 0 && tt_now_ms() < end)
		tt_msleep(100);
	ASSERT_EQ(0, syscall(__NR_delete_module, "toytcp", O_NONBLOCK))
		TH_LOG("rmmod: %s", strerror(errno));
	n = tt_diag_dump(TT_ALL_STATES, -1, -1, &v, NULL);
	EXPECT_EQ(-ENOENT, n) TH_LOG("dump without the module: %d", n);
	/* tools/toytcp-ss beside this binary's directory, wherever run from */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, len);
	exe[len] = 0;
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/../tools/toytcp-ss -a 2>&1 | grep -q 'is toytcp.ko loaded'",
		 dirname(exe));
	r = tt_sh("%s", cmd);
	EXPECT_EQ(0, r) TH_LOG("toytcp-ss without the module: %s", cmd);

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, syscall(__NR_finit_module, fd, "", 0))
		TH_LOG("insmod: %s", strerror(errno));
	close(fd);
	tt_lo_pair(_metadata, TT_TOYTCP, PORT, &self->k);
	n = tt_diag_dump(TT_ALL_STATES, -1, -1, &v, NULL);
	EXPECT_EQ(3, n);
	free(v);
}

TEST_HARNESS_MAIN
