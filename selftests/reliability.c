// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp's reliability machinery, end to end, against itself and against
 * Linux TCP: retransmission and recovery under loss, reordering,
 * duplication and corruption, zero-window probing, retransmission and
 * keepalive timeouts, SYN retries, Nagle/TCP_NODELAY/TCP_CORK and delayed
 * ACKs.
 *
 * The network: A (va, 10.77.1.1) <-> B (vb, 10.77.1.2), tt_topo.h, with
 * TSO, GSO, GRO and TX checksumming off and gso_max_segs 1 (Linux TCP
 * builds GSO packets whatever the device says): every packet is one wire
 * frame with a real checksum that the receiver verifies.  Impairments are
 * netem qdiscs on BOTH veth ends, so data and ACKs are both affected.  A
 * peer that "vanishes" is an iptables DROP of everything into and out of
 * B.
 *
 * A bulk sender is always in A and its receiver in B.  Every assertion
 * about a mechanism reads the counters of the namespace whose end it is
 * about, under toytcp's names (tt_counters.h): a counter Linux TCP has no
 * equivalent of (SackBlocksRecv) is not checked at a Linux end.
 *
 * Variants follow tt_linux.h: "toytcp" is toytcp at every end,
 * "linux_sender_toytcp" a Linux TCP sender to a toytcp receiver, and so
 * on; "linux" runs the test over Linux TCP alone, where the test's point
 * is what Linux TCP does too (keepalive, SYN retries, Nagle and cork,
 * delayed ACKs, the keepalive options).
 */
#include "toytcp_test.h"

#define PORT 5100
#define MB (1u << 20)
#define IP_A TT_IP_A
#define IP_B TT_IP_B

/*
 * A <-> B (netem on both ends if given, with gso: up to 64 KB per packet
 * allowed) and the stacks the fixture needs present; toytcp's TIME-WAIT
 * short.
 */
static void rl_net(struct __test_metadata *_metadata, struct tt_net *t,
		   const char *netem, bool gso)
{
	struct tt_net_opts o = { .netem = netem, .many_segs = gso };

	t->a.fd = t->b.fd = -1;
	ASSERT_EQ(0, tt_net_up(t, &o))
		TH_LOG("cannot build the namespaces%s%s",
		       netem ? " with netem " : "", netem ? netem : "");
	TT_IN_NS(t->a.fd, ({ TT_REQUIRE_STACK(TT_TOYTCP); 0; }));
	TT_SET_TW(TT_TW_MS);
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

/* ------------------------------------------------------------------ */
/* 1. The netem matrix                                                 */

enum rl_kind { K_DELAY, K_LOSS, K_REORDER, K_DUP, K_CORRUPT, K_RATE };

FIXTURE(netem) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(netem) {
	const char *qdisc;	/* netem arguments, on both veth ends */
	enum rl_kind kind;
	size_t len;		/* bytes sent from A to B */
	long rate_bps;		/* K_RATE: the rate */
	enum tt_stack snd;	/* the sender, in A */
	enum tt_stack rcv;	/* the receiver, in B */
};

#define RL_NETEM(row, q, k, l, r)					\
	FIXTURE_VARIANT_ADD(netem, row##_toytcp) {			\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd = TT_TOYTCP, .rcv = TT_TOYTCP,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, row##_linux_receiver_toytcp) {	\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd = TT_TOYTCP, .rcv = TT_LINUX,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, row##_linux_sender_toytcp) {		\
		.qdisc = q, .kind = k, .len = l, .rate_bps = r,		\
		.snd = TT_LINUX, .rcv = TT_TOYTCP,			\
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
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, variant->qdisc, false);
}

FIXTURE_TEARDOWN(netem)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/*
 * Losses: what the row claims is that the transfer survived them, so each
 * part of that is asserted.  The loss happened (netem dropped frames of
 * the data on va); every dropped byte was sent again (the sender's
 * RetransSegs); recovery was fast retransmission, not only retransmission
 * timeouts (a sender that never recognises a hole by the duplicate ACKs
 * and SACK blocks of its peer, or a receiver that never sends them, gets
 * there too, slowly); the receiver queued what arrived beyond a hole; and
 * the transfer completed byte-exact (TT_EXPECT_XFER).
 */
static void rl_expect_loss_recovered(struct __test_metadata *_metadata,
				     const struct tt_snap *sb,
				     const struct tt_snap *sa,
				     const struct tt_snap *rb,
				     const struct tt_snap *ra, long drops_va)
{
	EXPECT_LT(0, drops_va) TH_LOG("netem on va dropped nothing");
	TT_EXPECT_DELTA(sb, sa, "RetransSegs", >, 0);
	TT_EXPECT_DELTA(sb, sa, "FastRetrans", >, 0);
	TT_EXPECT_DELTA(sb, sa, "SackRecovery", >, 0);
	/* SACK blocks reached the sender (toytcp counts them). */
	TT_EXPECT_DELTA(sb, sa, "SackBlocksRecv", >, 0);
	TT_EXPECT_DELTA(rb, ra, "OfoQueue", >, 0);
}

TEST_F_TIMEOUT(netem, transfer_intact_and_recovery_counted, 240)
{
	struct tt_snap sb, rb, sa, ra;
	long q_sent, q_drop, qb_sent, qb_drop;
	long long setup_t0 = tt_now_ms();
	struct tt_xfer x;

	/* The receiver listens in B, the sender connects from A. */
	tt_net_pair(_metadata, &self->t, variant->snd, 0, variant->rcv, PORT,
		    &self->k);
	tt_snap_in(self->t.a.fd, variant->snd, &sb);
	tt_snap_in(self->t.b.fd, variant->rcv, &rb);
	sb.who = "sender";
	rb.who = "receiver";

	tt_xfer_init(&x, self->k.c, self->k.s, variant->len, 0x7e57, 60000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, variant->len);
	if (x.s.err || x.r.err) {
		tt_dump(_metadata, "sender", variant->snd, self->k.c);
		tt_dump(_metadata, "receiver", variant->rcv, self->k.s);
		tt_msleep(2000);
		tt_dump(_metadata, "sender 2 s later", variant->snd, self->k.c);
	}
	TH_LOG("netem \"%s\": %zu bytes in %lld ms (%.2f Mbit/s), case %lld ms so far",
	       variant->qdisc, variant->len, x.ms,
	       x.ms ? variant->len * 8.0 / x.ms / 1000 : 0.0,
	       tt_now_ms() - setup_t0);

	close(self->k.c);
	close(self->k.s);
	self->k.c = self->k.s = -1;
	tt_msleep(200);
	tt_snap_in(self->t.a.fd, variant->snd, &sa);
	tt_snap_in(self->t.b.fd, variant->rcv, &ra);
	sa.who = "sender";
	ra.who = "receiver";
	tt_log_delta(_metadata, &sb, &sa);
	tt_log_delta(_metadata, &rb, &ra);

	/*
	 * The impairment met every segment on its own (a check of the
	 * setup): netem on va handled at least as many packets as the
	 * sender sent segments (Linux's OutSegs leaves out retransmissions).
	 */
	ASSERT_EQ(0, tt_qdisc_stats(self->t.a.fd, "va", &q_sent, &q_drop));
	ASSERT_EQ(0, tt_qdisc_stats(self->t.b.fd, "vb", &qb_sent, &qb_drop));
	TH_LOG("netem: va sent %ld, dropped %ld; vb sent %ld, dropped %ld",
	       q_sent, q_drop, qb_sent, qb_drop);
	{
		long out = tt_delta(&sb, &sa, "OutSegs");

		if (variant->snd == TT_LINUX)
			out += tt_delta(&sb, &sa, "RetransSegs");
		EXPECT_LE(out, q_sent + q_drop)
			TH_LOG("netem on va handled %ld packets for %ld segments: GSO bursts?",
			       q_sent + q_drop, out);
	}

	/* Nobody gave up on the connection. */
	TT_EXPECT_DELTA(&sb, &sa, "EstabResets", ==, 0);
	TT_EXPECT_DELTA(&rb, &ra, "EstabResets", ==, 0);

	switch (variant->kind) {
	case K_DELAY:
		/* Nothing to count: jitter alone must not break anything. */
		break;
	case K_LOSS:
		rl_expect_loss_recovered(_metadata, &sb, &sa, &rb, &ra, q_drop);
		break;
	case K_REORDER:
		TT_EXPECT_DELTA(&rb, &ra, "OfoQueue", >, 0);
		TT_EXPECT_DELTA(&sb, &sa, "SackBlocksRecv", >, 0);
		break;
	case K_DUP: {
		/*
		 * The receiver got more segments than the sender sent.
		 * toytcp's OutSegs counts retransmissions; Linux's does not
		 * (RFC 1213's tcpOutSegs), so add them back for Linux.
		 */
		long out = tt_delta(&sb, &sa, "OutSegs");
		long rtx = tt_delta(&sb, &sa, "RetransSegs");
		long in = tt_delta(&rb, &ra, "InSegs");

		ASSERT_NE(TT_NONE, out);
		ASSERT_NE(TT_NONE, rtx);
		ASSERT_NE(TT_NONE, in);
		if (variant->snd == TT_LINUX)
			out += rtx;
		/* 5% of some 3000 segments: about 150 duplicates. */
		EXPECT_LE(out + 20, in)
			TH_LOG("receiver saw %ld segments, sender sent %ld: no duplicates arrived?",
			       in, out);
		break;
	}
	case K_CORRUPT:
		/* The receiver, toytcp or Linux, verified and dropped. */
		TT_EXPECT_DELTA(&rb, &ra, "InCsumErrors", >, 0);
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
	if (TT_FAILED(_metadata)) {
		tt_qdisc_show(self->t.a.fd, "va");
		tt_qdisc_show(self->t.b.fd, "vb");
	}
}

/* ------------------------------------------------------------------ */
/* 2. A receiver that stops reading                                    */

FIXTURE(path) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(path) {
	enum tt_stack snd;	/* the sender, in A */
	enum tt_stack rcv;	/* the receiver, in B */
	bool gso;	/* Linux TCP may send GSO packets over the veth */
	int rcvbuf;	/* SO_RCVBUF of the receiver's listener, if set */
};

FIXTURE_VARIANT_ADD(path, toytcp) { .snd = TT_TOYTCP, .rcv = TT_TOYTCP };
FIXTURE_VARIANT_ADD(path, linux_receiver_toytcp) {
	.snd = TT_TOYTCP, .rcv = TT_LINUX,
};
FIXTURE_VARIANT_ADD(path, linux_sender_toytcp) {
	.snd = TT_LINUX, .rcv = TT_TOYTCP,
};
/* As veth between containers is: up to 64 KB per packet from Linux TCP. */
FIXTURE_VARIANT_ADD(path, gso_linux_sender_toytcp) {
	.snd = TT_LINUX, .rcv = TT_TOYTCP, .gso = true,
};
/* A receive buffer the application chose (64 KB, 128 KB in effect). */
FIXTURE_VARIANT_ADD(path, rcvbuf64k_toytcp) {
	.snd = TT_TOYTCP, .rcv = TT_TOYTCP, .rcvbuf = 65536,
};
FIXTURE_VARIANT_ADD(path, rcvbuf64k_linux_sender_toytcp) {
	.snd = TT_LINUX, .rcv = TT_TOYTCP, .rcvbuf = 65536,
};

FIXTURE_SETUP(path)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, variant->gso);
}

FIXTURE_TEARDOWN(path)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/*
 * As tt_net_pair(), with SO_RCVBUF set on the listener before listen()
 * (SO_RCVBUFFORCE when @force: beyond net.core.rmem_max).
 */
static void rl_path_pair_opt(struct __test_metadata *_metadata,
			     struct tt_conn *k, struct tt_net *t,
			     enum tt_stack snd, enum tt_stack rcv, int rcvbuf,
			     bool force)
{
	struct sockaddr_in a = tt_sin(tt_family(rcv), IP_B, PORT);
	int one = 1;

	if (!rcvbuf) {
		tt_net_pair(_metadata, t, snd, 0, rcv, PORT, k);
		return;
	}
	k->l = tt_socket_in(t->b.fd, rcv);
	ASSERT_LE(0, k->l);
	setsockopt(k->l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, setsockopt(k->l, SOL_SOCKET,
				force ? SO_RCVBUFFORCE : SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(k->l, TT_SA(&a), sizeof(a)));
	ASSERT_EQ(0, listen(k->l, 8));
	k->c = tt_socket_in(t->a.fd, snd);
	ASSERT_LE(0, k->c);
	ASSERT_EQ(0, tt_connect_to(k->c, tt_family(snd), IP_B, PORT, 10000));
	k->s = tt_accept_to(k->l, 10000, NULL);
	ASSERT_LE(0, k->s) TH_LOG("accept: %s", strerror(errno));
}

static void rl_path_pair(struct __test_metadata *_metadata, struct tt_conn *k,
			 struct tt_net *t, enum tt_stack snd,
			 enum tt_stack rcv, int rcvbuf)
{
	rl_path_pair_opt(_metadata, k, t, snd, rcv, rcvbuf, false);
}

/*
 * The receiver's window closes, the sender's queue stays put while it
 * probes the window, and when reading resumes the rest of the transfer
 * goes through intact.
 */
TEST_F_TIMEOUT(path, zero_window_probed_while_reader_sleeps, 120)
{
	struct tt_snap sb, s1, s2, sa, rb, rm, ra;
	int q0 = -1, q1, inq0, inq1, stable = 0, last = -1, last_in = -1;
	int sndbuf, rcvbuf;
	long long t0, t_resume;
	struct tt_xfer x;
	size_t len, sent0;

	rl_path_pair(_metadata, &self->k, &self->t, variant->snd, variant->rcv,
		     variant->rcvbuf);
	/* More than both buffers hold, whatever their sizes. */
	sndbuf = tt_getint(self->k.c, SOL_SOCKET, SO_SNDBUF);
	rcvbuf = tt_getint(self->k.s, SOL_SOCKET, SO_RCVBUF);
	ASSERT_LT(0, sndbuf);
	ASSERT_LT(0, rcvbuf);
	len = sndbuf + rcvbuf + 2 * MB;
	if (len < 4 * MB)
		len = 4 * MB;
	TH_LOG("SO_SNDBUF %d, SO_RCVBUF %d: %zu bytes", sndbuf, rcvbuf, len);
	tt_snap_in(self->t.a.fd, variant->snd, &sb);
	tt_snap_in(self->t.b.fd, variant->rcv, &rb);

	/* The sender runs; the receiver does not read yet. */
	tt_xfer_init(&x, self->k.c, self->k.s, len, 0x2e60, 30000);
	ASSERT_EQ(0, tt_ep_start(&x.s));

	/*
	 * Wait until nothing moves for 1 s: neither the sender's queue nor
	 * the receiver's (a sender that waits for its own buffer to grow
	 * holds still for a moment too).
	 */
	t0 = tt_now_ms();
	while (tt_now_ms() - t0 < 15000) {
		int q = tt_outq(self->k.c), iq = tt_inq(self->k.s);

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
	inq0 = tt_inq(self->k.s);
	TH_LOG("window closed after %lld ms: SIOCOUTQ %d, SIOCINQ at the receiver %d, %zu of %zu bytes written",
	       tt_now_ms() - t0, q0, inq0, sent0, len);
	EXPECT_LT(0, q0) TH_LOG("the sender's queue never stopped moving (last %d)",
				last);

	/* The reader sleeps: nothing moves, the sender probes. */
	tt_snap_in(self->t.a.fd, variant->snd, &s1);
	tt_msleep(3000);
	tt_snap_in(self->t.a.fd, variant->snd, &s2);
	s1.who = "sender while the reader slept";
	q1 = tt_outq(self->k.c);
	inq1 = tt_inq(self->k.s);
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
		tt_log_delta(_metadata, &s1, &s2);
	} else if (variant->snd == TT_TOYTCP) {
		/* A zero window: the sender must probe it. */
		TT_EXPECT_DELTA(&s1, &s2, "ZeroWindowProbes", >, 0);
	} else {
		tt_log_delta(_metadata, &s1, &s2);
	}

	/* The reader wakes up: the rest arrives, intact. */
	tt_snap_in(self->t.b.fd, variant->rcv, &rm);
	t_resume = tt_now_ms();
	ASSERT_EQ(0, tt_ep_start(&x.r));
	tt_ep_join(&x.r);
	tt_ep_join(&x.s);
	TT_EXPECT_XFER(&x, len);
	TH_LOG("the reader resumed: transfer complete %lld ms later",
	       tt_now_ms() - t_resume);

	tt_snap_in(self->t.a.fd, variant->snd, &sa);
	tt_snap_in(self->t.b.fd, variant->rcv, &ra);
	sb.who = "sender";
	rb.who = "receiver until the reader woke";
	rm.who = "receiver while the reader drained it";
	tt_log_delta(_metadata, &sb, &sa);
	tt_log_delta(_metadata, &rb, &ra);
	/*
	 * On this lossless link the receiver never had to drop data inside
	 * the window it offered, neither while the window closed nor while
	 * the reader drained the queue (RFC 9293 3.8.6.2.2: a receiver does
	 * not take back the window it offered; Linux TCP coalesces its
	 * backlog and collapses its queue rather than drop).
	 */
	TT_EXPECT_DELTA(&rb, &rm, "RcvQueueDrops", ==, 0);
	TT_EXPECT_DELTA(&rm, &ra, "RcvQueueDrops", ==, 0);
	TT_EXPECT_DELTA(&rb, &rm, "BacklogDrops", ==, 0);
	TT_EXPECT_DELTA(&rm, &ra, "BacklogDrops", ==, 0);
}

/* ------------------------------------------------------------------ */
/*
 * 2b. Send-queue skbs of many segments.  GSO is allowed on the pair, so
 * toytcp's sender queues skbs of up to 44 segments and hands each to IP
 * whole; the veth has no GSO of its own, so the segments are cut in
 * software before they cross it and B sees each one alone.  A segment
 * lost on its own leaves a hole in the middle of such an skb: SACKs and
 * cumulative ACKs must split it there, and only the holes go again.  The
 * sender in A is toytcp, the receiver either.
 */
FIXTURE(gso) {
	struct tt_net t;
	struct tt_conn k;
};

/*
 * How many more resends and fast recoveries than holes a test below
 * allows, by receiver (and kernel): a little over the most measured with
 * main's module (five to nine runs of each test per kernel, 2026-12-07).
 * Between toytcp ends on 6.1 the sender resent up to 32 more than the
 * holes and entered up to 7 more recoveries: duplicate ACKs from the
 * toytcp receiver that nothing lost (they do not come from Linux's, nor
 * from toytcp's on 6.12; issue 14's ACK after a small read looks like
 * one).  That bound stays loose until they are gone.
 */
FIXTURE_VARIANT(gso) {
	enum tt_stack rcv;	/* the receiver, in B */
	int extra, recoveries;
	int extra_61, recoveries_61;
};

FIXTURE_VARIANT_ADD(gso, toytcp) {
	.rcv = TT_TOYTCP, .extra = 16, .recoveries = 3,
	.extra_61 = 40, .recoveries_61 = 10,
};
FIXTURE_VARIANT_ADD(gso, linux_receiver_toytcp) {
	.rcv = TT_LINUX, .extra = 12, .recoveries = 1,
	.extra_61 = 12, .recoveries_61 = 1,
};

FIXTURE_SETUP(gso)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, true);
	tt_net_pair(_metadata, &self->t, TT_TOYTCP, 0, variant->rcv, PORT,
		    &self->k);
}

FIXTURE_TEARDOWN(gso)
{
	tt_net_unblock(&self->t);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
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

	/* Nothing from A reaches B: everything stays queued. */
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd,
				     "-A INPUT -p tcp -j DROP\n"));
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

/*
 * 4 MB from toytcp in A to B with every 40th segment dropped at B, once
 * (a retransmission falls elsewhere in the count): about 73 holes.  With
 * dup_acks, netem duplicates that many percent of B's ACKs.  Each hole
 * starts one fast recovery and goes again once, give or take the
 * variant's allowance (a loss probe, a timeout's go-back).
 */
static void rl_holes_resent_once(struct __test_metadata *_metadata,
				 FIXTURE_DATA(gso) *self,
				 const FIXTURE_VARIANT(gso) *variant,
				 int dup_acks)
{
	bool k61 = tt_kernel_before(6, 12);
	long extra = k61 ? variant->extra_61 : variant->extra;
	long recs = k61 ? variant->recoveries_61 : variant->recoveries;
	const size_t len = 4 * MB;
	struct tt_snap sb, sa;
	struct tt_xfer x;
	char rule[160];
	long drops, re, fr;

	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -m statistic --mode nth --every 40 --packet 39 -j DROP\n",
		 PORT);
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd, rule));
	if (dup_acks) {
		snprintf(rule, sizeof(rule), "duplicate %d%%", dup_acks);
		ASSERT_EQ(0, tt_netem_cmd(self->t.b.fd, "add", "vb", rule));
	}
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &sb);
	sb.who = "sender";
	tt_xfer_init(&x, self->k.c, self->k.s, len, 0x6501, 60000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, len);
	tt_msleep(200);
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &sa);
	drops = tt_iptables_drops(self->t.b.fd);
	re = tt_delta(&sb, &sa, "RetransSegs");
	fr = tt_delta(&sb, &sa, "FastRetrans");
	TH_LOG("%zu bytes in %lld ms, %ld segments dropped, %ld resent (%ld more), %ld fast recoveries",
	       len, x.ms, drops, re, re - drops, fr);
	tt_log_delta(_metadata, &sb, &sa);
	ASSERT_LT(len / 1448 / 50, drops) TH_LOG("the rule dropped too little");
	EXPECT_LE(drops, re);
	EXPECT_LE(re, drops + extra);
	EXPECT_LE(fr, drops + recs) TH_LOG("more fast recoveries than holes");
	TT_EXPECT_DELTA(&sb, &sa, "SackRecovery", >, 0);
	TT_EXPECT_DELTA(&sb, &sa, "Timeouts", <=, 3);
}

/*
 * Measured (6.12): 73 to 77 resent for 73 drops between toytcp ends, 73
 * to Linux, a recovery per hole; 6.1: 73 to 106 for 73 or 74 (76 to 81
 * recoveries) between toytcp ends, 73 to Linux.  The bug this was written
 * for resent whole skbs where SACKs covered the middle: 175 for 76 drops
 * to Linux, 94 for 74 between toytcp ends (the old bound, 25% + 3, let
 * 95 pass).
 */
TEST_F_TIMEOUT(gso, single_segment_loss_resends_only_the_holes, 120)
{
	rl_holes_resent_once(_metadata, self, variant, 0);
}

/*
 * The same with 5% of B's ACKs duplicated.  A duplicated ACK is one
 * duplicate ACK, also when it is the copy of the ACK that ended a
 * recovery.  A sender that kept counting duplicate ACKs across the end of
 * a recovery (6b7eb13 reverted) takes it for the third and starts a
 * recovery without a hole; the segment it resends arrives twice, and the
 * copy draws another duplicate ACK.  Measured (6.12): 72 or 73 recoveries
 * for 73 holes between toytcp ends, 73 to Linux; with 6b7eb13 reverted 86
 * to 92, and 75 to 83 to Linux.
 */
TEST_F_TIMEOUT(gso, duplicated_acks_do_not_start_recoveries, 120)
{
	rl_holes_resent_once(_metadata, self, variant, 5);
}

/* ------------------------------------------------------------------ */
/*
 * 2c. The receive queue.  Segments arrive one per skb (one segment per
 * packet on this pair, and veth does no GRO), about 2400 bytes of
 * truesize for 1460 of data.  Queued in sequence, each is merged into
 * the skb before it (skb_try_coalesce()), so unread data costs little
 * more than its bytes.  The receiver in B is toytcp, the sender either.
 *
 * A socket starts with tcp_rmem[1] (128 KB) and grows only as its reader
 * copies data out (autotune.c, as tcp_rcv_space_adjust()): a receiver
 * nobody reads stays there, in Linux TCP too, and 1 MiB would never be
 * sent.  So the listener sets a receive buffer that holds 1 MiB with its
 * overhead (SO_RCVBUFFORCE: 2 MiB, 4 MiB in effect, beyond rmem_max).
 */
#define RL_RCVQ_RCVBUF	(2 * 1024 * 1024)

FIXTURE(rcvq) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(rcvq) {
	enum tt_stack snd;	/* the sender, in A */
};

FIXTURE_VARIANT_ADD(rcvq, toytcp) { .snd = TT_TOYTCP };
FIXTURE_VARIANT_ADD(rcvq, linux_sender_toytcp) { .snd = TT_LINUX };

FIXTURE_SETUP(rcvq)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
	rl_path_pair_opt(_metadata, &self->k, &self->t, variant->snd,
			 TT_TOYTCP, RL_RCVQ_RCVBUF, true);
}

FIXTURE_TEARDOWN(rcvq)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/*
 * 1 MiB that nobody reads: measured 1.04 times its size in the receive
 * buffer from a toytcp sender, 1.21 from Linux TCP (some of its skbs keep
 * their data in a head that cannot be merged); 1.66 times with an skb per
 * segment, as before the merging.  The bytes are a seeded stream
 * (tt_fill()): a merge that lost, repeated or reordered a segment's bytes
 * shows in the data read afterwards.
 */
TEST_F_TIMEOUT(rcvq, unread_segments_merge_into_few_skbs, 60)
{
	static uint8_t buf[1 << 20];
	struct toytcp_info info;
	socklen_t len = sizeof(info);
	struct tt_snap b, a;
	size_t sent = 0;
	ssize_t bad;
	int i;

	tt_fill(0x7c9, 0, buf, sizeof(buf));
	tt_snap_in(self->t.b.fd, TT_TOYTCP, &b);
	b.who = "receiver";
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
	tt_snap_in(self->t.b.fd, TT_TOYTCP, &a);
	tt_log_delta(_metadata, &b, &a);
	TH_LOG("%u bytes unread, %u bytes of receive buffer used",
	       info.rcv_nxt - info.copied_seq, info.rcvbuf_used);
	ASSERT_EQ(sizeof(buf), info.rcv_nxt - info.copied_seq);
	EXPECT_LT(info.rcvbuf_used, sizeof(buf) + sizeof(buf) * 2 / 5)
		TH_LOG("over 40%% overhead: segments not merged");
	TT_EXPECT_DELTA(&b, &a, "RcvCoalesce", >, 0);
	TT_EXPECT_DELTA(&b, &a, "RcvQueueDrops", ==, 0);
	TT_EXPECT_DELTA(&b, &a, "BacklogDrops", ==, 0);
	/* And the bytes are the stream's, each once, in order. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf),
		  tt_recv_all(self->k.s, buf, sizeof(buf), 5000));
	bad = tt_check(0x7c9, 0, buf, sizeof(buf));
	EXPECT_EQ(-1, bad) TH_LOG("byte %zd differs from what was sent", bad);
	/* Nothing more than was sent. */
	EXPECT_EQ(0, tt_poll1(self->k.s, POLLIN, 100))
		TH_LOG("more data than was sent");
}

/* ------------------------------------------------------------------ */
/*
 * 3. The peer vanishes mid-transfer: toytcp, the sender in A, retransmits
 * `retries` times with exponential backoff, then reports ETIMEDOUT.  The
 * peer in B is either stack.
 */
#define RL_RETRIES 3

FIXTURE(cut) {
	struct tt_net t;
	struct tt_conn k;
	struct tt_knob knob;
	struct tt_sink sink;
};

FIXTURE_VARIANT(cut) {
	enum tt_stack peer;	/* in B */
};

FIXTURE_VARIANT_ADD(cut, toytcp) { .peer = TT_TOYTCP };
FIXTURE_VARIANT_ADD(cut, linux_peer_toytcp) { .peer = TT_LINUX };

FIXTURE_SETUP(cut)
{
	self->k.c = self->k.s = self->k.l = -1;
	self->sink.th = 0;
	self->knob.param = NULL;
	rl_net(_metadata, &self->t, NULL, false);
	ASSERT_EQ(0, tt_knob_set(&self->knob, TT_TOYTCP, self->t.a.fd,
				 TT_RETRIES, RL_RETRIES))
		TH_LOG("cannot set the retry limit");
}

FIXTURE_TEARDOWN(cut)
{
	tt_net_unblock(&self->t);
	tt_knob_restore(&self->knob);
	if (self->sink.th)
		tt_sink_stop(&self->sink);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/* Bounds for the abort: after `retries` retransmissions, not much later. */
static void rl_check_abort_time(struct __test_metadata *_metadata,
				long long ms)
{
	long rto = tt_min_rto_ms(TT_TOYTCP);
	long lo = rto * ((1L << RL_RETRIES) - 1);
	long model = rto * ((1L << (RL_RETRIES + 1)) - 1);

	TH_LOG("ETIMEDOUT %lld ms after the cut (retries %d, min RTO %ld ms: %ld ms if the RTO is the minimum)",
	       ms, RL_RETRIES, rto, model);
	EXPECT_GE(ms, lo) TH_LOG("gave up before %d retransmissions could have happened",
				 RL_RETRIES);
	EXPECT_LE(ms, 25000) TH_LOG("the retry limit does not bound the time");
}

static void rl_check_abort_counters(struct __test_metadata *_metadata,
				    const struct tt_snap *b,
				    const struct tt_snap *a)
{
	tt_log_delta(_metadata, b, a);
	TT_EXPECT_DELTA(b, a, "AbortOnTimeout", ==, 1);
	TT_EXPECT_DELTA(b, a, "RetransSegs", >=, RL_RETRIES);
	TT_EXPECT_DELTA(b, a, "Timeouts", >, 0);
	/* Opened and closed in between. */
	TT_EXPECT_DELTA(b, a, "CurrEstab", ==, 0);
}

/* A blocked send() is the one to learn about it. */
TEST_F_TIMEOUT(cut, blocked_send_gets_etimedout, 90)
{
	static char buf[1 << 20];
	struct tt_snap b, a;
	long long tcut, t;
	ssize_t n = 0;
	int e = 0;

	tt_snap_in(self->t.a.fd, TT_TOYTCP, &b);
	b.who = "sender";
	tcut = tt_data_in_flight(_metadata, &self->t, TT_TOYTCP, variant->peer,
				 PORT, &self->k, &self->sink);
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
				    tt_lookup_ino(TT_TOYTCP, tt_ino(self->k.c),
						  NULL)));
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &a);
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
	struct tt_snap b, a;
	long long tcut;
	char c = 0;

	tt_snap_in(self->t.a.fd, TT_TOYTCP, &b);
	b.who = "sender";
	tcut = tt_data_in_flight(_metadata, &self->t, TT_TOYTCP, variant->peer,
				 PORT, &self->k, &self->sink);
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
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &a);
	rl_check_abort_counters(_metadata, &b, &a);
}

/* ------------------------------------------------------------------ */
/*
 * RTT samples across a recovery (RFC 6298 3, Karn; RFC 7323 4.1): one
 * segment and all its retransmissions are dropped for 2 s while the nine
 * after it arrive and are SACKed.  The ACK that finally covers them all
 * was caused by a retransmission: timing it against the nine segments'
 * first transmission measures the outage, not the path, and must not
 * inflate SRTT and RTO.  (Linux takes no sample from such an ACK.)  The
 * sender in A is toytcp, the peer either.
 */
FIXTURE(rtt) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(rtt) {
	enum tt_stack peer;	/* in B */
};

FIXTURE_VARIANT_ADD(rtt, toytcp) { .peer = TT_TOYTCP };
FIXTURE_VARIANT_ADD(rtt, linux_peer_toytcp) { .peer = TT_LINUX };

FIXTURE_SETUP(rtt)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
	tt_net_pair(_metadata, &self->t, TT_TOYTCP, 0, variant->peer, PORT,
		    &self->k);
	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
}

FIXTURE_TEARDOWN(rtt)
{
	tt_net_unblock(&self->t);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

TEST_F_TIMEOUT(rtt, outage_during_recovery_not_taken_as_rtt, 60)
{
	static char buf[10 * 1448];
	long srtt0, rto0, srtt1, rto1;
	struct toytcp_info info;
	socklen_t ilen = sizeof(info);
	struct tt_snap b, a;
	char rule[160];
	long long t0;
	int i;

	/* Settle SRTT with a few round trips. */
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	/* Where the sender's next byte goes. */
	ASSERT_EQ(0, getsockopt(self->k.c, SOL_TOYTCP, TOYTCP_INFO, &info,
				&ilen));
	ASSERT_EQ(0, tt_rtt_rto(TT_TOYTCP, self->k.c, &srtt0, &rto0));

	/* The first of ten segments, and every copy of it, is dropped. */
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -m u32 --u32 0>>22&0x3C@4=0x%08x -j DROP\n",
		 PORT, info.snd_nxt);
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd, rule));
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &b);
	b.who = "sender";
	memset(buf, 'r', sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->k.c, buf, sizeof(buf),
					     MSG_NOSIGNAL));
	tt_msleep(2000);
	/* The nine behind it are there, waiting for it. */
	EXPECT_EQ(0, tt_poll1(self->k.s, POLLIN, 0))
		TH_LOG("the first segment was not held back");
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd, ""));
	t0 = tt_now_ms();
	EXPECT_EQ((ssize_t)sizeof(buf), tt_recv_all(self->k.s, buf, sizeof(buf),
						    20000));
	TH_LOG("the first segment arrived %lld ms after the drop was lifted",
	       tt_now_ms() - t0);
	/* Let the last ACK land. */
	tt_msleep(300);
	tt_snap_in(self->t.a.fd, TT_TOYTCP, &a);
	tt_log_delta(_metadata, &b, &a);
	TT_EXPECT_DELTA(&b, &a, "RetransSegs", >=, 2);
	ASSERT_EQ(0, tt_rtt_rto(TT_TOYTCP, self->k.c, &srtt1, &rto1));
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
 * the socket lives forever (and the module cannot unload).  toytcp is in
 * A, its peer Linux TCP in B; retry limit 3, for orphans too
 * (net.toytcp.orphan_retries in A).
 */
FIXTURE(silence) {
	struct tt_net t;
	struct tt_conn k;
	struct tt_knob knob;
};

FIXTURE_SETUP(silence)
{
	self->k.c = self->k.s = self->k.l = -1;
	self->knob.param = NULL;
	rl_net(_metadata, &self->t, NULL, false);
	ASSERT_EQ(0, tt_knob_set(&self->knob, TT_TOYTCP, self->t.a.fd,
				 TT_RETRIES, RL_RETRIES));
	/* An orphan has its own limit, as in Linux (tcp_orphan_retries;
	 * 0, the default, means 8): set it in A's namespace, which goes
	 * with the test.
	 */
	ASSERT_EQ(0, TT_IN_NS(self->t.a.fd,
			      tt_sysctl_set("toytcp/orphan_retries",
					    RL_RETRIES)))
		TH_LOG("cannot set net.toytcp.orphan_retries");
	tt_net_pair(_metadata, &self->t, TT_TOYTCP, 0, TT_LINUX, PORT,
		    &self->k);
	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
}

FIXTURE_TEARDOWN(silence)
{
	tt_net_unblock(&self->t);
	tt_knob_restore(&self->knob);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/*
 * Log /proc/net/toytcp as namespace @nsfd sees it: for an orphan that
 * outlived its retries, whether its retransmission timer is still armed
 * ("tr" 01 and "tm->when") and how often it fired ("retrnsmt"), which
 * tells a timer that stopped from one backed off far into the future.
 */
static int rl_log_proc(struct __test_metadata *_metadata, int nsfd)
{
	char line[256];
	FILE *f = TT_IN_NS(nsfd, fopen("/proc/net/toytcp", "r"));

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		TH_LOG("%s", strtok(line, "\n") ? : "");
	fclose(f);
	return 0;
}

/*
 * Close A's socket; wait until A no longer lists it, up to *@budget ms:
 * its RTO (as measured before the close) doubled each of RL_RETRIES + 1
 * timeouts, plus 5 s, at most 100 s.  An RTT sample taken while the
 * machine stalled can make the RTO seconds long: 878 ms of SRTT and an
 * RTO of 3.4 s were seen on a loaded 6.1 VM, when the orphan's give-up
 * was due after 51 s and a fixed 30 s wait took it for never.
 */
static long rl_give_up_budget(struct __test_metadata *_metadata, int fd,
			      const char *when)
{
	long srtt, rto, budget = 30000;

	/* The timeouts are this RTO doubled each time. */
	if (!tt_rtt_rto(TT_TOYTCP, fd, &srtt, &rto)) {
		budget = rto / 1000 * ((1L << (RL_RETRIES + 1)) - 1) + 5000;
		if (budget > 100000)
			budget = 100000;
		TH_LOG("%s: SRTT %ld us, RTO %ld ms: give-up due within %ld ms",
		       when, srtt, rto / 1000, budget);
	}
	return budget;
}

static long long rl_orphan_life(struct __test_metadata *_metadata,
				FIXTURE_DATA(silence) *self, long *budget)
{
	struct sockaddr_in l, r;
	long long t0;
	int st;

	if (tt_sockname(self->k.c, &l) || tt_peername(self->k.c, &r))
		return -1;
	*budget = rl_give_up_budget(_metadata, self->k.c, "before close");
	t0 = tt_now_ms();
	close(self->k.c);
	self->k.c = -1;
	st = TT_IN_NS(self->t.a.fd, tt_wait_state(TT_TOYTCP, &l, &r, TT_GONE,
						  *budget));
	if (st != TT_GONE) {
		TH_LOG("the orphan is still %s after %ld ms",
		       tt_state_name(st), *budget);
		rl_log_proc(_metadata, self->t.a.fd);
		return -1;
	}
	return tt_now_ms() - t0;
}

/* Drop everything in namespace @dropfd, close A's socket: the orphan must
 * give up within the budget rl_orphan_life() derives from its RTO.  The
 * snapshots of A's counters go to @b and @a.
 */
static void rl_orphan_gives_up(struct __test_metadata *_metadata,
			       FIXTURE_DATA(silence) *self, int dropfd,
			       struct tt_snap *b, struct tt_snap *a)
{
	long long ms;
	long budget;

	ASSERT_EQ(0, tt_net_blackhole(&self->t, dropfd));
	tt_snap_in(self->t.a.fd, TT_TOYTCP, b);
	b->who = "A";
	ms = rl_orphan_life(_metadata, self, &budget);
	tt_snap_in(self->t.a.fd, TT_TOYTCP, a);
	tt_log_delta(_metadata, b, a);
	ASSERT_LE(0, ms);
	TH_LOG("the orphan lived %lld ms", ms);
	EXPECT_LE(ms, budget);
}

TEST_F_TIMEOUT(silence, orphan_fin_given_up_when_peer_silent, 150)
{
	struct tt_snap b, a;

	rl_orphan_gives_up(_metadata, self, self->t.b.fd, &b, &a);
	TT_EXPECT_DELTA(&b, &a, "RetransSegs", >=, 1);
}

TEST_F_TIMEOUT(silence, orphan_fin_given_up_when_own_output_dropped, 150)
{
	struct tt_snap b, a;

	rl_orphan_gives_up(_metadata, self, self->t.a.fd, &b, &a);
}

/*
 * Data written while the host drops its own output: ETIMEDOUT, within
 * the time the measured RTO gives (see rl_orphan_life()).
 */
TEST_F_TIMEOUT(silence, unsent_data_times_out_when_own_output_dropped, 150)
{
	long budget = rl_give_up_budget(_metadata, self->k.c, "before");
	struct timeval tv = { .tv_sec = budget / 1000 + 1 };
	long long t0, ms;
	char buf[1000];
	ssize_t n;
	int e;

	ASSERT_EQ(0, setsockopt(self->k.c, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, tt_net_blackhole(&self->t, self->t.a.fd));
	memset(buf, 'u', sizeof(buf));
	t0 = tt_now_ms();
	n = send(self->k.c, buf, sizeof(buf), MSG_NOSIGNAL);
	EXPECT_TRUE(n == (ssize_t)sizeof(buf) || (n < 0 && errno == EPERM))
		TH_LOG("send: %zd %s", n, strerror(errno));
	n = recv(self->k.c, buf, 1, 0);
	e = errno;
	ms = tt_now_ms() - t0;
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("recv after %lld ms: %s (EAGAIN: still trying after %ld s)",
				       ms, strerror(e), (long)tv.tv_sec);
	TH_LOG("recv returned after %lld ms", ms);
}

/* ------------------------------------------------------------------ */
/*
 * 4. Keepalive, as Linux TCP's options define it: the end in A (the
 * stack under test) probes, the peer in B answers or not.
 */
FIXTURE(keepalive) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(keepalive) {
	enum tt_stack stack;	/* in A */
	enum tt_stack peer;	/* in B */
};

FIXTURE_VARIANT_ADD(keepalive, toytcp) { .stack = TT_TOYTCP, .peer = TT_TOYTCP };
FIXTURE_VARIANT_ADD(keepalive, linux_peer_toytcp) {
	.stack = TT_TOYTCP, .peer = TT_LINUX,
};
FIXTURE_VARIANT_ADD(keepalive, linux) { .stack = TT_LINUX, .peer = TT_LINUX };

FIXTURE_SETUP(keepalive)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
	tt_net_pair(_metadata, &self->t, variant->stack, 0, variant->peer,
		    PORT, &self->k);
}

FIXTURE_TEARDOWN(keepalive)
{
	tt_net_unblock(&self->t);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

static void rl_keepalive_on(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(0, tt_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	ASSERT_EQ(0, tt_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 1));
	ASSERT_EQ(0, tt_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, 1));
	ASSERT_EQ(0, tt_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, 3));
}

/* idle 1 s, 3 probes 1 s apart, no answer: ETIMEDOUT after about 4 s. */
TEST_F_TIMEOUT(keepalive, dead_peer_times_out_after_probes, 60)
{
	struct timeval tv = { .tv_sec = 20 };
	struct tt_snap b, a;
	long long t0, ms;
	ssize_t n;
	char c;
	int e;

	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	/* A bound on the wait that is not the keepalive's ETIMEDOUT. */
	ASSERT_EQ(0, setsockopt(self->k.c, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, tt_net_blackhole(&self->t, self->t.b.fd));
	tt_snap_in(self->t.a.fd, variant->stack, &b);
	b.who = "keepalive end";
	/* The clock starts when keepalive is switched on (as in Linux). */
	t0 = tt_now_ms();
	rl_keepalive_on(_metadata, self->k.c);
	n = recv(self->k.c, &c, 1, 0);
	e = errno;
	ms = tt_now_ms() - t0;
	tt_snap_in(self->t.a.fd, variant->stack, &a);
	tt_log_delta(_metadata, &b, &a);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("recv after %lld ms: %s (EAGAIN: the 20 s SO_RCVTIMEO)",
				       ms, strerror(e));
	TH_LOG("recv returned %lld ms after keepalive was switched on", ms);
	/*
	 * Probes at 1, 2 and 3 s, the third unanswered at 4 s.  Linux TCP
	 * counts the idle time from the last segment it received (the ping,
	 * here up to half a second before keepalive went on), so it may end
	 * that much sooner: 3478 ms once.  How many probes went out is
	 * KeepaliveProbes' to say.
	 */
	EXPECT_GE(ms, 3000) TH_LOG("gave up before the third probe was sent");
	EXPECT_LE(ms, 8000) TH_LOG("idle 1 + 3 x 1 s took %lld ms", ms);
	TT_EXPECT_DELTA(&b, &a, "KeepaliveProbes", >=, 3);
	TT_EXPECT_DELTA(&b, &a, "KeepaliveProbes", <=, 4);
	TT_EXPECT_DELTA(&b, &a, "AbortOnTimeout", ==, 1);
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd,
				    tt_lookup_ino(variant->stack,
						  tt_ino(self->k.c), NULL)));
}

/* A live peer answers every probe; the idle connection stays up. */
TEST_F_TIMEOUT(keepalive, live_peer_answers_probes_connection_survives, 60)
{
	struct tt_snap b, a;
	char c;

	ASSERT_EQ(0, rl_ping(self->k.c, self->k.s));
	rl_keepalive_on(_metadata, self->k.c);
	tt_snap_in(self->t.a.fd, variant->stack, &b);
	b.who = "idle with keepalive";
	/* Idle for 5.5 s: with idle = interval = 1 s, at least 3 probes. */
	EXPECT_EQ(0, tt_poll1(self->k.c, POLLIN, 5500));
	tt_snap_in(self->t.a.fd, variant->stack, &a);
	tt_log_delta(_metadata, &b, &a);
	TT_EXPECT_DELTA(&b, &a, "KeepaliveProbes", >=, 3);
	/* Each probe was answered, and the answers counted as input; the
	 * last probe's answer may still be on its way (make check-debug
	 * once saw 6 probes and 5 answers).
	 */
	EXPECT_GE(tt_delta(&b, &a, "InSegs") + 1,
		  tt_delta(&b, &a, "KeepaliveProbes"));
	TT_EXPECT_DELTA(&b, &a, "AbortOnTimeout", ==, 0);
	TT_EXPECT_DELTA(&b, &a, "EstabResets", ==, 0);
	EXPECT_EQ(0, tt_so_error(self->k.c));
	EXPECT_EQ(TT_ESTABLISHED, TT_IN_NS(self->t.a.fd,
					   tt_fd_state(variant->stack,
						       self->k.c)));
	EXPECT_EQ(0, rl_ping(self->k.c, self->k.s));
	EXPECT_EQ(-1, recv(self->k.s, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("the peer's application saw the probes");
}

/* ------------------------------------------------------------------ */
/* Options, no network needed                                          */

FIXTURE(lo) {
	int unused;
};

FIXTURE_VARIANT(lo) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(lo);

FIXTURE_SETUP(lo)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
}

FIXTURE_TEARDOWN(lo)
{
}

/*
 * Keepalive options: Linux's defaults (2 hours, 75 s, 9 probes, off), the
 * values set come back, and out of range (TCP_KEEPIDLE and TCP_KEEPINTVL
 * 1 to 32767 s, TCP_KEEPCNT 1 to 127) or too short an option is EINVAL
 * with the value unchanged.
 */
TEST_F(lo, keepalive_options_roundtrip_and_einval_like_linux)
{
	static const struct {
		int opt;
		const char *name;
		int v;
		int err;
	} cases[] = {
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 0, EINVAL },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", -1, EINVAL },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 32768, EINVAL },
		{ TCP_KEEPIDLE, "TCP_KEEPIDLE", 32767, 0 },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 0, EINVAL },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", -5, EINVAL },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 32768, EINVAL },
		{ TCP_KEEPINTVL, "TCP_KEEPINTVL", 32767, 0 },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 0, EINVAL },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", -1, EINVAL },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 128, EINVAL },
		{ TCP_KEEPCNT, "TCP_KEEPCNT", 127, 0 },
	};
	int t = tt_socket(variant->stack);
	char one = 1;
	size_t i;

	ASSERT_LE(0, t);

	/* Defaults: Linux's (net.ipv4.tcp_keepalive_*), off. */
	EXPECT_EQ(7200, tt_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));
	EXPECT_EQ(75, tt_getint(t, IPPROTO_TCP, TCP_KEEPINTVL));
	EXPECT_EQ(9, tt_getint(t, IPPROTO_TCP, TCP_KEEPCNT));
	EXPECT_EQ(0, tt_getint(t, SOL_SOCKET, SO_KEEPALIVE));

	/* Set, read back. */
	EXPECT_EQ(0, tt_setint(t, SOL_SOCKET, SO_KEEPALIVE, 1));
	EXPECT_EQ(1, tt_getint(t, SOL_SOCKET, SO_KEEPALIVE));
	EXPECT_EQ(0, tt_setint(t, IPPROTO_TCP, TCP_KEEPIDLE, 1));
	EXPECT_EQ(0, tt_setint(t, IPPROTO_TCP, TCP_KEEPINTVL, 2));
	EXPECT_EQ(0, tt_setint(t, IPPROTO_TCP, TCP_KEEPCNT, 3));
	EXPECT_EQ(1, tt_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));
	EXPECT_EQ(2, tt_getint(t, IPPROTO_TCP, TCP_KEEPINTVL));
	EXPECT_EQ(3, tt_getint(t, IPPROTO_TCP, TCP_KEEPCNT));
	EXPECT_EQ(0, tt_setint(t, SOL_SOCKET, SO_KEEPALIVE, 0));
	EXPECT_EQ(0, tt_getint(t, SOL_SOCKET, SO_KEEPALIVE));
	EXPECT_EQ(1, tt_getint(t, IPPROTO_TCP, TCP_KEEPIDLE));

	/* Out of range: EINVAL, value unchanged; the limits themselves go. */
	for (i = 0; i < TT_ARRAY_SIZE(cases); i++) {
		int before = tt_getint(t, IPPROTO_TCP, cases[i].opt);
		int r, e;

		errno = 0;
		r = tt_setint(t, IPPROTO_TCP, cases[i].opt, cases[i].v);
		e = r ? errno : 0;
		EXPECT_EQ(cases[i].err, e)
			TH_LOG("%s = %d: %s, want %s", cases[i].name,
			       cases[i].v, e ? strerror(e) : "accepted",
			       cases[i].err ? strerror(cases[i].err) :
					      "accepted");
		EXPECT_EQ(e ? before : cases[i].v,
			  tt_getint(t, IPPROTO_TCP, cases[i].opt))
			TH_LOG("%s = %d", cases[i].name, cases[i].v);
	}
	/* A short option buffer. */
	errno = 0;
	EXPECT_EQ(-1, setsockopt(t, IPPROTO_TCP, TCP_KEEPCNT, &one, 1));
	EXPECT_EQ(EINVAL, errno);
	close(t);
}

/* ------------------------------------------------------------------ */
/* 5. A SYN into a black hole                                          */

FIXTURE(syn) {
	struct tt_net t;
	struct tt_knob knob;
};

FIXTURE_VARIANT(syn) {
	enum tt_stack stack;	/* the client, in A */
};

TT_VARIANTS_BOTH_STACKS(syn);

FIXTURE_SETUP(syn)
{
	self->knob.param = NULL;
	rl_net(_metadata, &self->t, NULL, false);
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd,
				     "-A INPUT -p tcp --dport 5100 -j DROP\n"));
	ASSERT_EQ(0, tt_knob_set(&self->knob, variant->stack, self->t.a.fd,
				 TT_SYN_RETRIES, 2));
}

FIXTURE_TEARDOWN(syn)
{
	tt_net_unblock(&self->t);
	tt_knob_restore(&self->knob);
	tt_net_down(&self->t);
}

/* syn_retries 2: SYNs at 0, 1 and 3 s, ETIMEDOUT at 7 s. */
TEST_F_TIMEOUT(syn, filtered_syn_times_out_after_syn_retries, 60)
{
	const enum tt_stack stk = variant->stack;
	struct sockaddr_in dst = tt_sin(tt_family(stk), IP_B, PORT);
	struct tt_snap b, a;
	long long t0, ms;
	int fd, r, e;

	fd = tt_socket_in(self->t.a.fd, stk);
	ASSERT_LE(0, fd);
	tt_snap_in(self->t.a.fd, stk, &b);
	b.who = "client";
	t0 = tt_now_ms();
	r = connect(fd, TT_SA(&dst), sizeof(dst));
	e = errno;
	ms = tt_now_ms() - t0;
	tt_snap_in(self->t.a.fd, stk, &a);
	tt_log_delta(_metadata, &b, &a);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(ETIMEDOUT, e) TH_LOG("connect after %lld ms: %s", ms,
				       strerror(e));
	TH_LOG("connect gave up after %lld ms", ms);
	EXPECT_GE(ms, 3000) TH_LOG("less than 1 + 2 s: fewer than 2 retries?");
	EXPECT_LE(ms, 15000);
	TT_EXPECT_DELTA(&b, &a, "AttemptFails", ==, 1);
	/* Linux >= 6.5 resends its first SYNs 1 s apart
	 * (tcp_syn_linear_timeouts) within the same time limit.
	 */
	if (stk == TT_LINUX)
		TT_EXPECT_DELTA(&b, &a, "RetransSegs", >=, 2);
	else
		TT_EXPECT_DELTA(&b, &a, "RetransSegs", ==, 2);
	TT_EXPECT_DELTA(&b, &a, "CurrEstab", ==, 0);
	EXPECT_EQ(TT_GONE, TT_IN_NS(self->t.a.fd,
				    tt_lookup_ino(stk, tt_ino(fd), NULL)));
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
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(nagle) {
	enum tt_stack stack;	/* the sender, in A */
	enum tt_stack peer;	/* in B */
};

FIXTURE_VARIANT_ADD(nagle, toytcp) { .stack = TT_TOYTCP, .peer = TT_TOYTCP };
FIXTURE_VARIANT_ADD(nagle, linux_peer_toytcp) {
	.stack = TT_TOYTCP, .peer = TT_LINUX,
};
FIXTURE_VARIANT_ADD(nagle, linux) { .stack = TT_LINUX, .peer = TT_LINUX };

FIXTURE_SETUP(nagle)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
	/*
	 * The delay is on the ACK path only: a data segment held in a
	 * qdisc of the sender's own device would make Linux TCP autocork.
	 */
	ASSERT_EQ(0, tt_netem_cmd(self->t.b.fd, "add", "vb", "delay 20ms"));
	tt_net_pair(_metadata, &self->t, variant->stack, 0, variant->peer,
		    PORT, &self->k);
	/* Let the handshake's last ACK settle. */
	tt_msleep(100);
}

FIXTURE_TEARDOWN(nagle)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/* Write NG_WRITES small pieces NG_GAP_MS apart; segments the sender sent. */
static long rl_small_writes(struct __test_metadata *_metadata,
			    FIXTURE_DATA(nagle) *self, enum tt_stack stk)
{
	static uint8_t want[NG_WRITES * NG_SIZE], got[NG_WRITES * NG_SIZE];
	struct tt_snap b, a;
	long long t0;
	int i;

	tt_fill(0x4a61, 0, want, sizeof(want));
	tt_snap_in(self->t.a.fd, stk, &b);
	b.who = "sender";
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
	tt_snap_in(self->t.a.fd, stk, &a);
	tt_log_delta(_metadata, &b, &a);
	return tt_delta(&b, &a, "OutSegs");
}

TEST_F_TIMEOUT(nagle, small_writes_coalesced_with_nagle, 60)
{
	long segs;

	EXPECT_EQ(0, tt_getint(self->k.c, IPPROTO_TCP, TCP_NODELAY));
	segs = rl_small_writes(_metadata, self, variant->stack);
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

	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(1, tt_getint(self->k.c, IPPROTO_TCP, TCP_NODELAY));
	segs = rl_small_writes(_metadata, self, variant->stack);
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
					    enum tt_stack stk,
					    const struct tt_snap *b, long long t0,
					    int writes, size_t held, size_t total,
					    void (*release)(int))
{
	long long t, left;
	char buf[1024];
	struct tt_snap m, a;
	int rev, outq;
	bool in_time;
	ssize_t n;

	/* The peer, watched until 150 ms after the first held write. */
	left = t0 + 150 - tt_now_ms();
	rev = tt_poll1(self->k.s, POLLIN, left > 0 ? (int)left : 0);
	if (rl_in_hold(_metadata, t0, "peer"))
		EXPECT_EQ(0, rev) TH_LOG("held data reached the peer");
	/* The sender's queue (an ioctl: quick even on a slow kernel). */
	outq = tt_outq(self->k.c);
	if (rl_in_hold(_metadata, t0, "send queue"))
		EXPECT_EQ((int)held, outq);
	/* The sender's counters (reading them can take 1 s there). */
	tt_snap_in(self->t.a.fd, stk, &m);
	m.who = "sender after the release";
	in_time = rl_in_hold(_metadata, t0, "counters");
	if (in_time)
		TT_EXPECT_DELTA(b, &m, "OutSegs", ==, 0);

	t = tt_now_ms();
	release(self->k.c);
	/* Released by us before the stack's own release could start? */
	in_time = in_time && rl_in_hold(_metadata, t0, "release");
	n = tt_recv_all(self->k.s, buf, total, 2000 * tt_time_scale());
	EXPECT_EQ((ssize_t)total, n);
	TH_LOG("released %lld ms after the first held write: %zd bytes at the peer %lld ms later",
	       t - t0, n, tt_now_ms() - t);
	tt_snap_in(self->t.a.fd, stk, &a);
	if (in_time)
		TT_EXPECT_DELTA(&m, &a, "OutSegs", ==, 1);
	else	/* the stack's own release may have split it in two */
		TT_EXPECT_DELTA(b, &a, "OutSegs", <, writes);
}

static void rl_uncork(int fd)
{
	tt_setint(fd, IPPROTO_TCP, TCP_CORK, 0);
}

static void rl_send_last(int fd)
{
	send(fd, "cccccccccc", 10, MSG_NOSIGNAL);
}

TEST_F_TIMEOUT(nagle, cork_holds_small_writes_until_uncorked, 60)
{
	char piece[100];
	struct tt_snap b;
	long long t0;
	int i;

	memset(piece, 'k', sizeof(piece));
	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_CORK, 1));
	EXPECT_EQ(1, tt_getint(self->k.c, IPPROTO_TCP, TCP_CORK));
	tt_snap_in(self->t.a.fd, variant->stack, &b);
	b.who = "sender while holding";
	t0 = tt_now_ms();
	for (i = 0; i < 3; i++)
		ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL));
	rl_expect_held_then_one_segment(_metadata, self, variant->stack, &b,
					t0, 3, 300, 300, rl_uncork);
	EXPECT_EQ(0, tt_getint(self->k.c, IPPROTO_TCP, TCP_CORK));
}

TEST_F_TIMEOUT(nagle, msg_more_holds_until_a_write_without_it, 60)
{
	char piece[100];
	struct tt_snap b;
	long long t0;

	memset(piece, 'm', sizeof(piece));
	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
	tt_snap_in(self->t.a.fd, variant->stack, &b);
	b.who = "sender while holding";
	t0 = tt_now_ms();
	ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL | MSG_MORE));
	ASSERT_EQ(100, send(self->k.c, piece, 100, MSG_NOSIGNAL | MSG_MORE));
	/* The last write (10 bytes, no MSG_MORE) releases all 210. */
	rl_expect_held_then_one_segment(_metadata, self, variant->stack, &b,
					t0, 3, 200, 210, rl_send_last);
}

/* ------------------------------------------------------------------ */
/* 7. Delayed ACKs at the receiver under test (in B)                   */

FIXTURE(delack) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(delack) {
	enum tt_stack stack;	/* the receiver, in B */
	enum tt_stack snd;	/* the sender, in A */
};

FIXTURE_VARIANT_ADD(delack, toytcp) { .stack = TT_TOYTCP, .snd = TT_TOYTCP };
FIXTURE_VARIANT_ADD(delack, linux_sender_toytcp) {
	.stack = TT_TOYTCP, .snd = TT_LINUX,
};
FIXTURE_VARIANT_ADD(delack, linux) { .stack = TT_LINUX, .snd = TT_LINUX };

FIXTURE_SETUP(delack)
{
	self->k.c = self->k.s = self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
	tt_net_pair(_metadata, &self->t, variant->snd, 0, variant->stack,
		    PORT, &self->k);
	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 1));
}

FIXTURE_TEARDOWN(delack)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
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
	struct tt_snap b, a;
	int i;

	memset(buf, 'd', sizeof(buf));
	tt_snap_in(self->t.b.fd, variant->stack, &b);
	b.who = "receiver";
	for (i = 0; i < DA_WRITES; i++) {
		ASSERT_EQ(100, send(self->k.c, buf, 100, MSG_NOSIGNAL));
		tt_msleep(DA_PAUSE_MS);
	}
	tt_snap_in(self->t.b.fd, variant->stack, &a);
	ASSERT_EQ((ssize_t)sizeof(buf), tt_recv_all(self->k.s, buf, sizeof(buf),
						    5000));
	tt_log_delta(_metadata, &b, &a);
	TT_EXPECT_DELTA(&b, &a, "DelayedAcks", >=, DA_WRITES / 4);
	TT_EXPECT_DELTA(&b, &a, "DelayedAcks", <=, DA_WRITES);
	TT_EXPECT_DELTA(&b, &a, "InSegs", ==, DA_WRITES);
	/* No more than one ACK per segment: nothing else to say. */
	TT_EXPECT_DELTA(&b, &a, "OutSegs", <=, DA_WRITES);
	/* toytcp's delayed-ACK timeout (delack_ms) is shorter than the
	 * pause: every segment gets an ACK of its own.
	 */
	if (variant->stack == TT_TOYTCP)
		TT_EXPECT_DELTA(&b, &a, "OutSegs", ==, DA_WRITES);
}

/* A bulk stream: about one ACK for every two full-sized segments. */
TEST_F_TIMEOUT(delack, bulk_stream_acked_every_second_segment, 60)
{
	const size_t len = 2 * MB;
	struct tt_snap b, a;
	struct tt_xfer x;
	long in, out;

	ASSERT_EQ(0, tt_setint(self->k.c, IPPROTO_TCP, TCP_NODELAY, 0));
	tt_snap_in(self->t.b.fd, variant->stack, &b);
	b.who = "receiver";
	tt_xfer_init(&x, self->k.c, self->k.s, len, 0xb0b, 30000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, len);
	tt_snap_in(self->t.b.fd, variant->stack, &a);
	tt_log_delta(_metadata, &b, &a);
	in = tt_delta(&b, &a, "InSegs");
	out = tt_delta(&b, &a, "OutSegs");
	ASSERT_NE(TT_NONE, in);
	ASSERT_NE(TT_NONE, out);
	TH_LOG("%zu bytes in %lld ms: receiver got %ld segments, sent %ld (%.2f per segment)",
	       len, x.ms, in, out, in ? (double)out / in : 0.0);
	EXPECT_GE(in, (long)(len / 1460));
	/*
	 * RFC 9293 3.8.6.3: delay ACKs, but ACK at least every second full
	 * segment.  Linux TCP is looser both ways (window updates as the
	 * reader drains the queue, stretched ACKs when it lags): there only
	 * "no more than one ACK per segment" is checked.
	 */
	if (variant->stack == TT_LINUX) {
		EXPECT_LE(out, in);
	} else {
		EXPECT_LE(out * 4, in * 3) TH_LOG("more than 3 ACKs per 4 segments");
		EXPECT_GE(out * 4, in) TH_LOG("fewer than 1 ACK per 4 segments");
	}
}

/* ------------------------------------------------------------------ */
/* The receive window, no loss                                          */

/*
 * RFC 9293 3.8.6.2.2, RFC 7323 2.4: the receiver never moves the right
 * edge of its window back and the sender never sends past it, so over a
 * path that loses nothing a bulk transfer into a toytcp receiver whose
 * buffer starts small and grows (autotune.c) has no segment refused as
 * outside the window (DropNotAcceptable, counted in B).
 */
FIXTURE(inwnd) {
	struct tt_net t;
	struct tt_conn k;
};

FIXTURE_VARIANT(inwnd) {
	enum tt_stack snd;	/* the sender, in A; the receiver is toytcp */
};

FIXTURE_VARIANT_ADD(inwnd, toytcp) { .snd = TT_TOYTCP };
FIXTURE_VARIANT_ADD(inwnd, linux_sender) { .snd = TT_LINUX };

FIXTURE_SETUP(inwnd)
{
	self->k.c = -1;
	self->k.s = -1;
	self->k.l = -1;
	rl_net(_metadata, &self->t, NULL, false);
}

FIXTURE_TEARDOWN(inwnd)
{
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

TEST_F_TIMEOUT(inwnd, veth_bulk_never_out_of_window, 240)
{
	struct tt_snap sb, rb, sa, ra;
	struct tt_xfer x;
	size_t len = 16 * MB;

	tt_net_pair(_metadata, &self->t, variant->snd, 0, TT_TOYTCP, PORT,
		    &self->k);
	tt_snap_in(self->t.a.fd, variant->snd, &sb);
	tt_snap_in(self->t.b.fd, TT_TOYTCP, &rb);
	sb.who = "sender";
	rb.who = "receiver";
	tt_xfer_init(&x, self->k.c, self->k.s, len, 0x3d, 60000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, len);
	tt_snap_in(self->t.a.fd, variant->snd, &sa);
	tt_snap_in(self->t.b.fd, TT_TOYTCP, &ra);
	sa.who = "sender";
	ra.who = "receiver";
	tt_log_delta(_metadata, &sb, &sa);
	tt_log_delta(_metadata, &rb, &ra);
	/* Retransmissions of data that arrived (reordering taken for loss)
	 * are duplicates, not segments beyond the window.
	 */
	TH_LOG("receiver: DropDuplicate %ld",
	       tt_cnt_in(self->t.b.fd, TT_TOYTCP, "DropDuplicate"));
	EXPECT_EQ(0, tt_cnt_in(self->t.b.fd, TT_TOYTCP, "DropNotAcceptable"));
}

TEST_HARNESS_MAIN
