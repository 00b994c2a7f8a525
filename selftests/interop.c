// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp against itself and against Linux TCP, over loopback and over a
 * veth pair between two network namespaces: 8 MB each way at once,
 * byte-exact, and a clean close (EOF on both ends, no RST anywhere).
 * Variants (tt_linux.h): toytcp at both ends, or a Linux TCP client or
 * server opposite toytcp.
 * Also: sockets belong to their network namespace.
 */
#include "toytcp_test.h"

#define XFER (8u << 20)
#define PORT 5000

FIXTURE(interop) {
	struct tt_net t;
	int cns, sns;
	const char *sip;
};

FIXTURE_VARIANT(interop) {
	enum tt_stack client;
	enum tt_stack server;
	bool netns;	/* veth between two namespaces (else loopback) */
};

FIXTURE_VARIANT_ADD(interop, lo_toytcp) {
	.client = TT_TOYTCP, .server = TT_TOYTCP, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, lo_linux_server_toytcp) {
	.client = TT_TOYTCP, .server = TT_LINUX, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, lo_linux_client_toytcp) {
	.client = TT_LINUX, .server = TT_TOYTCP, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, veth_toytcp) {
	.client = TT_TOYTCP, .server = TT_TOYTCP, .netns = true,
};

FIXTURE_VARIANT_ADD(interop, veth_linux_server_toytcp) {
	.client = TT_TOYTCP, .server = TT_LINUX, .netns = true,
};

FIXTURE_VARIANT_ADD(interop, veth_linux_client_toytcp) {
	.client = TT_LINUX, .server = TT_TOYTCP, .netns = true,
};

FIXTURE_SETUP(interop)
{
	/* The veth as containers have it: offloads on. */
	struct tt_net_opts o = { .offloads_on = true };

	self->t.a.fd = self->t.b.fd = -1;
	if (variant->netns) {
		ASSERT_EQ(0, tt_net_up(&self->t, &o))
			TH_LOG("cannot build the two namespaces");
		self->cns = self->t.a.fd;
		self->sns = self->t.b.fd;
		self->sip = TT_IP_B;
	} else {
		ASSERT_EQ(0, tt_fresh_netns());
		self->cns = self->sns = -1;
		self->sip = TT_LO;
	}
	TT_IN_NS(self->cns, ({ TT_REQUIRE_STACK(TT_TOYTCP); 0; }));
	TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(interop)
{
	tt_net_down(&self->t);
}

/* The counters of both stacks in a namespace. */
struct both {
	struct tt_snap tt, lnx;
};

static void both_in(int nsfd, struct both *b, const char *who)
{
	tt_snap_in(nsfd, TT_TOYTCP, &b->tt);
	tt_snap_in(nsfd, TT_LINUX, &b->lnx);
	b->tt.who = b->lnx.who = who;
}

TEST_F_TIMEOUT(interop, transfer_8mb_both_ways_clean_close, 300)
{
	struct both cb, sb, ca, sa;
	struct sockaddr_in cn, sn;
	struct tt_ep ec, es;
	struct tt_conn k;
	long long t0, dt;
	int err;

	both_in(self->cns, &cb, "client's namespace");
	both_in(self->sns, &sb, "server's namespace");
	err = tt_pair(&k, self->cns, variant->client, NULL, 0, self->sns,
		      variant->server, self->sip, PORT);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	EXPECT_EQ(tt_family(variant->client), cn.sin_family);
	EXPECT_EQ(tt_family(variant->server), sn.sin_family);

	/* Each stack sees the connection as its own. */
	EXPECT_EQ(TT_ESTABLISHED,
		  TT_IN_NS(self->cns, tt_lookup_ino(variant->client,
						    tt_ino(k.c), NULL)));
	EXPECT_EQ(TT_ESTABLISHED,
		  TT_IN_NS(self->sns, tt_lookup_ino(variant->server,
						    tt_ino(k.s), NULL)));

	tt_ep_init(&ec, k.c, 0xc11e, XFER, 0x5e7, XFER);
	tt_ep_init(&es, k.s, 0x5e7, XFER, 0xc11e, XFER);
	t0 = tt_now_ms();
	tt_ep_pair(&ec, &es);
	dt = tt_now_ms() - t0;
	EXPECT_EQ(0, ec.err) TH_LOG("client: %s", ec.msg);
	EXPECT_EQ(0, es.err) TH_LOG("server: %s", es.msg);
	EXPECT_EQ(XFER, ec.sent);
	EXPECT_EQ(XFER, es.sent);
	EXPECT_EQ(XFER, ec.rcvd);
	EXPECT_EQ(XFER, es.rcvd);
	EXPECT_TRUE(ec.eof);
	EXPECT_TRUE(es.eof);
	TH_LOG("2 x %u bytes in %lld ms", XFER, dt);

	EXPECT_EQ(0, close(k.c));
	EXPECT_EQ(0, close(k.s));
	EXPECT_EQ(0, close(k.l));
	/* Let the last ACKs land, then count. */
	tt_msleep(500);
	both_in(self->cns, &ca, "client's namespace");
	both_in(self->sns, &sa, "server's namespace");

	/* No reset from or to either stack, nothing left established. */
	TT_EXPECT_DELTA(&cb.tt, &ca.tt, "OutRsts", ==, 0);
	TT_EXPECT_DELTA(&cb.tt, &ca.tt, "InRsts", ==, 0);
	TT_EXPECT_DELTA(&sb.tt, &sa.tt, "OutRsts", ==, 0);
	TT_EXPECT_DELTA(&sb.tt, &sa.tt, "InRsts", ==, 0);
	TT_EXPECT_DELTA(&cb.lnx, &ca.lnx, "OutRsts", ==, 0);
	TT_EXPECT_DELTA(&sb.lnx, &sa.lnx, "OutRsts", ==, 0);
	TT_EXPECT_DELTA(&cb.tt, &ca.tt, "EstabResets", ==, 0);
	TT_EXPECT_DELTA(&sb.tt, &sa.tt, "EstabResets", ==, 0);
	TT_EXPECT_DELTA(&cb.lnx, &ca.lnx, "EstabResets", ==, 0);
	TT_EXPECT_DELTA(&sb.lnx, &sa.lnx, "EstabResets", ==, 0);
	TT_EXPECT_DELTA(&cb.tt, &ca.tt, "CurrEstab", ==, 0);
	TT_EXPECT_DELTA(&sb.tt, &sa.tt, "CurrEstab", ==, 0);

	/* The right stack did each open, the other none. */
	TT_EXPECT_DELTA(&cb.tt, &ca.tt, "ActiveOpens", ==,
			variant->client == TT_TOYTCP);
	TT_EXPECT_DELTA(&cb.lnx, &ca.lnx, "ActiveOpens", ==,
			variant->client == TT_LINUX);
	TT_EXPECT_DELTA(&sb.tt, &sa.tt, "PassiveOpens", ==,
			variant->server == TT_TOYTCP);
	TT_EXPECT_DELTA(&sb.lnx, &sa.lnx, "PassiveOpens", ==,
			variant->server == TT_LINUX);
}

/* ------------------------------------------------------------------ */
/* toytcp's sockets belong to their network namespace. */
FIXTURE(isolation) {
	int a, b;	/* two namespaces with only lo */
};

FIXTURE_SETUP(isolation)
{
	self->a = tt_netns_new();
	self->b = tt_netns_new();
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
	TT_IN_NS(self->a, ({ TT_REQUIRE_STACK(TT_TOYTCP); 0; }));
}

FIXTURE_TEARDOWN(isolation)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
}

/* A listener in namespace A is neither listed in nor reachable from B. */
TEST_F(isolation, listener_invisible_from_other_netns)
{
	struct sockaddr_in la = tt_sin(AF_TOYTCP, TT_LO, PORT);
	struct tt_snap ab, bb, aa, ba;
	int l, lb, c, ca, s;

	l = tt_listen_in(self->a, TT_TOYTCP, TT_LO, PORT, 8);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	EXPECT_EQ(TT_LISTEN, TT_IN_NS(self->a, tt_lookup(TT_TOYTCP, &la, NULL,
							  NULL)));
	EXPECT_EQ(1, TT_IN_NS(self->a, tt_count_port(TT_TOYTCP, PORT)));
	EXPECT_EQ(0, TT_IN_NS(self->b, tt_count_port(TT_TOYTCP, PORT)));

	tt_snap_in(self->a, TT_TOYTCP, &ab);
	tt_snap_in(self->b, TT_TOYTCP, &bb);
	ab.who = "A";
	bb.who = "B";
	c = tt_socket_in(self->b, TT_TOYTCP);
	ASSERT_LE(0, c);
	EXPECT_EQ(ECONNREFUSED, tt_connect_to(c, AF_TOYTCP, TT_LO, PORT, 5000));

	/* The same connection from inside A works. */
	ca = tt_socket_in(self->a, TT_TOYTCP);
	ASSERT_LE(0, ca);
	EXPECT_EQ(0, tt_connect_to(ca, AF_TOYTCP, TT_LO, PORT, 5000));
	s = tt_accept_to(l, 5000, NULL);
	EXPECT_LE(0, s);

	/* Ports are per namespace too: B can listen on the same one. */
	lb = tt_listen_in(self->b, TT_TOYTCP, TT_LO, PORT, 8);
	EXPECT_LE(0, lb) TH_LOG("listen in B: %s", strerror(errno));
	EXPECT_EQ(1, TT_IN_NS(self->b, tt_count_port(TT_TOYTCP, PORT)));

	tt_snap_in(self->a, TT_TOYTCP, &aa);
	tt_snap_in(self->b, TT_TOYTCP, &ba);
	TT_EXPECT_DELTA(&bb, &ba, "AttemptFails", ==, 1);
	TT_EXPECT_DELTA(&ab, &aa, "AttemptFails", ==, 0);
	TT_EXPECT_DELTA(&ab, &aa, "PassiveOpens", ==, 1);
	TT_EXPECT_DELTA(&bb, &ba, "PassiveOpens", ==, 0);
	close(c);
	close(ca);
	close(s);
	close(l);
	close(lb);
}

TEST_HARNESS_MAIN
