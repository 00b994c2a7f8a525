// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp against itself and against Linux TCP, over loopback and over a
 * veth pair between two network namespaces: 8 MB each way at once,
 * byte-exact, and a clean close (EOF on both ends, no RST anywhere).
 * Also: sockets belong to their network namespace.
 */
#include "toytcp_test.h"

#define XFER (8u << 20)
#define PORT 5000

FIXTURE(interop) {
	struct tt_topo t;
	int cns, sns;
	const char *cip, *sip;
};

FIXTURE_VARIANT(interop) {
	bool c_tt;	/* client is toytcp (else Linux TCP) */
	bool s_tt;	/* server is toytcp */
	bool netns;	/* veth between two namespaces (else loopback) */
};

FIXTURE_VARIANT_ADD(interop, toytcp_to_toytcp_lo) {
	.c_tt = true, .s_tt = true, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, toytcp_to_linux_lo) {
	.c_tt = true, .s_tt = false, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, linux_to_toytcp_lo) {
	.c_tt = false, .s_tt = true, .netns = false,
};

FIXTURE_VARIANT_ADD(interop, toytcp_to_toytcp_veth) {
	.c_tt = true, .s_tt = true, .netns = true,
};

FIXTURE_VARIANT_ADD(interop, toytcp_to_linux_veth) {
	.c_tt = true, .s_tt = false, .netns = true,
};

FIXTURE_VARIANT_ADD(interop, linux_to_toytcp_veth) {
	.c_tt = false, .s_tt = true, .netns = true,
};

FIXTURE_SETUP(interop)
{
	memset(&self->t, 0, sizeof(self->t));
	self->t.a.fd = self->t.b.fd = -1;
	if (variant->netns) {
		ASSERT_EQ(0, tt_topo_up(&self->t, 1500, 1500))
			TH_LOG("cannot build the two namespaces");
		self->cns = self->t.a.fd;
		self->sns = self->t.b.fd;
		self->cip = TT_IP_A;
		self->sip = TT_IP_B;
	} else {
		ASSERT_EQ(0, tt_fresh_netns());
		self->cns = self->sns = -1;
		self->cip = self->sip = "127.0.0.1";
	}
	TT_IN_NS(self->cns, ({ TT_REQUIRE_STACK(); 0; }));
	TT_SET_TW(TT_TW_MS);
}

FIXTURE_TEARDOWN(interop)
{
	tt_topo_down(&self->t);
}

TEST_F_TIMEOUT(interop, transfer_8mb_both_ways_clean_close, 300)
{
	int cfam = variant->c_tt ? tt_fam() : AF_INET;
	int sfam = variant->s_tt ? tt_fam() : AF_INET;
	struct tt_snap cb, sb, ca, sa;
	struct sockaddr_in cn, sn;
	struct tt_ep ec, es;
	struct tt_conn k;
	long long t0, dt;
	int err;

	tt_snap_in(self->cns, &cb);
	tt_snap_in(self->sns, &sb);
	err = tt_pair(&k, self->cns, cfam, NULL, 0, self->sns, sfam,
		      self->sip, PORT);
	ASSERT_EQ(0, err) TH_LOG("connect: %s", strerror(err));
	ASSERT_EQ(0, tt_sockname(k.c, &cn));
	ASSERT_EQ(0, tt_sockname(k.s, &sn));
	EXPECT_EQ(cfam, cn.sin_family);
	EXPECT_EQ(sfam, sn.sin_family);

	/* Each stack sees the connection as its own. */
	if (variant->c_tt)
		EXPECT_EQ(TT_ESTABLISHED,
			  TT_IN_NS(self->cns, tt_lookup_ino(tt_ino(k.c), NULL)));
	if (variant->s_tt)
		EXPECT_EQ(TT_ESTABLISHED,
			  TT_IN_NS(self->sns, tt_lookup_ino(tt_ino(k.s), NULL)));

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
	tt_snap_in(self->cns, &ca);
	tt_snap_in(self->sns, &sa);

	EXPECT_DELTA(&cb, &ca, "OutRsts", ==, 0);
	EXPECT_DELTA(&cb, &ca, "InRsts", ==, 0);
	EXPECT_DELTA(&sb, &sa, "OutRsts", ==, 0);
	EXPECT_DELTA(&sb, &sa, "InRsts", ==, 0);
	EXPECT_DELTA(&cb, &ca, "EstabResets", ==, 0);
	EXPECT_DELTA(&sb, &sa, "EstabResets", ==, 0);
	EXPECT_DELTA(&cb, &ca, "CurrEstab", ==, 0);
	EXPECT_DELTA(&sb, &sa, "CurrEstab", ==, 0);
	EXPECT_EQ(cb.lnx_outrsts, ca.lnx_outrsts) TH_LOG("Linux TCP sent a RST");
	EXPECT_EQ(sb.lnx_outrsts, sa.lnx_outrsts) TH_LOG("Linux TCP sent a RST");

	/* The right stack did each open (one stack in Linux mode). */
	EXPECT_DELTA(&cb, &ca, "ActiveOpens", ==,
		     tt_is_linux() || variant->c_tt ? 1 : 0);
	EXPECT_DELTA(&sb, &sa, "PassiveOpens", ==,
		     tt_is_linux() || variant->s_tt ? 1 : 0);
	if (!tt_is_linux()) {
		EXPECT_EQ(variant->c_tt ? 0 : 1, ca.lnx_active - cb.lnx_active);
		EXPECT_EQ(variant->s_tt ? 0 : 1, sa.lnx_passive - sb.lnx_passive);
	}
}

/* ------------------------------------------------------------------ */
FIXTURE(isolation) {
	struct tt_ns a, b;
};

FIXTURE_SETUP(isolation)
{
	ASSERT_EQ(0, tt_ns_add(&self->a, "a"));
	ASSERT_EQ(0, tt_ns_add(&self->b, "b"));
	TT_IN_NS(self->a.fd, ({ TT_REQUIRE_STACK(); 0; }));
}

FIXTURE_TEARDOWN(isolation)
{
	tt_ns_del(&self->a);
	tt_ns_del(&self->b);
}

/* A listener in namespace A is neither listed in nor reachable from B. */
TEST_F(isolation, listener_invisible_from_other_netns)
{
	struct sockaddr_in la = tt_sin(tt_fam(), "127.0.0.1", PORT);
	struct tt_snap ab, bb, aa, ba;
	int l, lb, c, ca, s;

	l = tt_listen_in(self->a.fd, tt_fam(), "127.0.0.1", PORT, 8);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	EXPECT_EQ(TT_LISTEN, TT_IN_NS(self->a.fd, tt_lookup(&la, NULL, NULL)));
	EXPECT_EQ(1, TT_IN_NS(self->a.fd, tt_count_port(PORT)));
	EXPECT_EQ(0, TT_IN_NS(self->b.fd, tt_count_port(PORT)));

	tt_snap_in(self->a.fd, &ab);
	tt_snap_in(self->b.fd, &bb);
	c = tt_socket_in(self->b.fd, tt_fam());
	ASSERT_LE(0, c);
	EXPECT_EQ(ECONNREFUSED, tt_connect_to(c, tt_fam(), "127.0.0.1", PORT, 5000));

	/* The same connection from inside A works. */
	ca = tt_socket_in(self->a.fd, tt_fam());
	ASSERT_LE(0, ca);
	EXPECT_EQ(0, tt_connect_to(ca, tt_fam(), "127.0.0.1", PORT, 5000));
	s = tt_accept_to(l, 5000, NULL);
	EXPECT_LE(0, s);

	/* Ports are per namespace too: B can listen on the same one. */
	lb = tt_listen_in(self->b.fd, tt_fam(), "127.0.0.1", PORT, 8);
	EXPECT_LE(0, lb) TH_LOG("listen in B: %s", strerror(errno));
	EXPECT_EQ(1, TT_IN_NS(self->b.fd, tt_count_port(PORT)));

	tt_snap_in(self->a.fd, &aa);
	tt_snap_in(self->b.fd, &ba);
	EXPECT_DELTA(&bb, &ba, "AttemptFails", ==, 1);
	EXPECT_DELTA(&ab, &aa, "AttemptFails", ==, 0);
	EXPECT_DELTA(&ab, &aa, "PassiveOpens", ==, 1);
	EXPECT_DELTA(&bb, &ba, "PassiveOpens", ==, 0);
	close(c);
	close(ca);
	close(s);
	close(l);
	close(lb);
}

TEST_HARNESS_MAIN
