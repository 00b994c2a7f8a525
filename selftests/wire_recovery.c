// SPDX-License-Identifier: GPL-2.0
/*
 * Loss recovery driven segment by segment: three duplicate ACKs and fast
 * retransmit (RFC 5681 3.2), limited transmit (RFC 3042), SACK holes
 * resent in order and nothing SACKed resent (RFC 6675), a lost
 * retransmission found by RACK (RFC 8985 6), a tail loss probe (RFC 8985
 * 7), RACK alone once the peer is seen to reorder (RFC 8985 6.2), the RTO
 * and its backoff (RFC 6298 5.5, Karn), NewReno's partial ACKs
 * and recovery point (RFC 6582), and a needless fast retransmit undone by
 * the D-SACK that reports it (RFC 2883, RFC 3708).
 *
 * The stack sends; the script plays a receiver that lost some segments.
 * The peer answers the handshake 50 ms late, so both stacks start with an
 * RTT of about 50 ms: a loss probe after about 2 RTT (100 ms), an RTO of
 * 200 to 300 ms.  The cubic and PRR arithmetic of how much new data goes
 * out beside a retransmission is Linux's own choice (RFC 6937 and RFC 6675
 * both allow it): where it matters, tw_out_skipping_new() takes new data
 * and the script pins only the retransmissions and their order.
 * Each test runs against toytcp and against Linux TCP (tt_wire.h).
 */
#include "tt_wire.h"

#define MSS	1460

TW_FIXTURE(recovery);

/* The stack writes @n full segments; expect them, the last with PSH. */
static void send_segments(struct tw *w, int n, int expect)
{
	int i;

	tw_write(w, n * MSS);
	for (i = 0; i < expect; i++)
		tw_out(w, "%s %d:%d(%d) ack 1", i == n - 1 ? "P." : "p.",
		       1 + i * MSS, 1 + (i + 1) * MSS, MSS);
}

/*
 * The first RTO after a handshake with an RTT of ~50 ms: at least the
 * 200 ms minimum (Linux's rto_min; RFC 6298 2.4 allows it), and Linux adds
 * the smoothed RTT and some variance on top.  Its exact value is the RTT
 * estimator's; what follows is checked against it.
 */
static long long first_rto(struct tw *w, const struct tw_seg *s0,
			   const struct tw_seg *s1)
{
	long long d = (s1->t_us - s0->t_us) / 1000;

	tw_check(w, d >= 190 && d <= 450, "first RTO after %lld ms", d);
	return d;
}

static const struct tw_peer nosack = {
	.mss = 1460, .wscale = 7, .sack = false, .win = 65535, .rtt_ms = 50,
};

/* RFC 5681 3.2 with SACK: the third duplicate ACK resends the hole. */
TEST_F(recovery, three_dupacks_fast_retransmit_sack)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* The same without SACK (NewReno). */
TEST_F(recovery, three_dupacks_fast_retransmit_newreno)
{
	struct tw *w = &self->w;

	tw_established(w, &nosack);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* Two duplicate ACKs are not a loss: no retransmission. */
TEST_F(recovery, two_dupacks_no_retransmit)
{
	struct tw *w = &self->w;

	tw_established(w, &nosack);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_none(w, 100);
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 100);
}

/* RFC 3042: each of the first two duplicate ACKs lets one new segment out. */
TEST_F(recovery, limited_transmit_new_segment_per_dupack)
{
	struct tw *w = &self->w;

	tw_established(w, &nosack);
	send_segments(w, 12, 10);
	tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "p. 14601:16061(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "P. 16061:17521(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 17521");
	tw_none(w, 300);
}

TEST_F(recovery, limited_transmit_with_sack)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	send_segments(w, 12, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	tw_out(w, "p. 14601:16061(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	tw_out(w, "P. 16061:17521(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 17521");
	tw_none(w, 300);
}

/*
 * RFC 6675: three holes (segments 1, 4, 7 lost) are resent in order, each
 * once, and nothing the receiver SACKed is sent again.  All ten segments
 * left in one burst, so only the SACK scoreboard (DupThresh segments
 * SACKed above a hole), not the send times, tells 4 and 7 lost.
 */
TEST_F(recovery, sack_holes_resent_in_order_once)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 5841:7301 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 5841:8761 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 10221:11681 5841:8761 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 10221:14601 5841:8761 1461:4381>");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_out(w, "p. 4381:5841(1460) ack 1");
	tw_out(w, "p. 8761:10221(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* The same with the holes filled one by one by the peer's ACKs. */
TEST_F(recovery, sack_partial_acks_release_next_hole)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 5841:8761 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 10221:14601 5841:8761 1461:4381>");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_out(w, "p. 4381:5841(1460) ack 1");
	tw_out(w, "p. 8761:10221(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 4381 <nop,nop,sack 10221:14601 5841:8761>");
	tw_in(w, ". 1:1(0) ack 8761 <nop,nop,sack 10221:14601>");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* The congestion window and slow start threshold, as TCP_INFO has them. */
static void cwnd_ssthresh(struct tw *w, unsigned int *cwnd,
			  unsigned int *ssthresh)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	tw_eq(w, 0, getsockopt(w->c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	*cwnd = ti.tcpi_snd_cwnd;
	*ssthresh = ti.tcpi_snd_ssthresh;
}

/*
 * RFC 2883 and RFC 3708 (Linux's tcp_try_undo_dsack()): segment 1 was only
 * late, not lost.  Three SACKs above it start fast recovery, which resends
 * it and cuts the window; then everything is acknowledged, and the
 * receiver reports the retransmission as a duplicate (a D-SACK below the
 * cumulative ACK).  Every retransmission of that recovery was needless:
 * the window and slow start threshold are restored to what they were.
 */
TEST_F(recovery, dsack_undoes_spurious_fast_retransmit)
{
	struct tw *w = &self->w;
	unsigned int cwnd0, ssthresh0, cwnd1, ssthresh1, cwnd2, ssthresh2;

	tw_established(w, NULL);
	cwnd_ssthresh(w, &cwnd0, &ssthresh0);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	tw_out(w, "p. 1:1461(1460) ack 1");
	/* The original arrives: all acknowledged, the window was cut. */
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 50);
	cwnd_ssthresh(w, &cwnd1, &ssthresh1);
	tw_check(w, ssthresh1 < ssthresh0 && cwnd1 < cwnd0,
		 "recovery cut nothing: cwnd %u -> %u, ssthresh %u -> %u",
		 cwnd0, cwnd1, ssthresh0, ssthresh1);
	/* Then the retransmission: a duplicate. */
	tw_in(w, ". 1:1(0) ack 14601 <nop,nop,sack 1:1461>");
	tw_none(w, 50);
	cwnd_ssthresh(w, &cwnd2, &ssthresh2);
	tw_check(w, ssthresh2 == ssthresh0 && cwnd2 >= cwnd0,
		 "not undone: cwnd %u -> %u -> %u, ssthresh %u -> %u -> %u",
		 cwnd0, cwnd1, cwnd2, ssthresh0, ssthresh1, ssthresh2);
}

/*
 * RFC 8985 6: the retransmission of segment 1 is lost too.  Once the
 * receiver SACKs a segment sent after that retransmission, RACK knows it
 * lost (in recovery the reordering window is 0): segment 1 goes a third
 * time, without waiting for the RTO.
 */
TEST_F(recovery, lost_retransmission_resent_by_rack)
{
	struct tw *w = &self->w;
	int n;

	tw_established(w, NULL);
	send_segments(w, 20, 10);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:14601>");
	tw_out_skipping_new(w, TW_PROMPT_MS, &n, "p. 1:1461(1460) ack 1");
	/* The new data that PRR or RFC 6675 let out with it. */
	tw_msleep(5);
	while (tw_read_seg(w, 20)) {
		tw_check(w, w->last.seq - w->c->iss == w->c->rcv && w->last.len,
			 "expected new data");
		w->c->rcv += w->last.len;
	}
	tw_check(w, w->c->rcv > 14601, "no new data went out in recovery");
	/* The first of it arrived: SACKed; segment 1 still missing. */
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:16061>");
	tw_out_skipping_new(w, TW_PROMPT_MS, NULL, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack %u", w->c->rcv);
}

/*
 * RFC 8985 7: the whole flight was lost.  After about two RTTs (100 ms,
 * well before the RTO) a probe goes: the last segment again (there is no
 * new data).
 */
TEST_F(recovery, tail_loss_probe_resends_last_segment)
{
	struct tw *w = &self->w;
	long long t;

	tw_established(w, NULL);
	send_segments(w, 10, 10);
	t = w->last.t_us;
	tw_out_between(w, t, 60, 180, "P. 13141:14601(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* RFC 8985 7.3: with new data waiting, the probe is new data. */
TEST_F(recovery, tail_loss_probe_sends_new_data)
{
	struct tw *w = &self->w;
	long long t;

	tw_established(w, NULL);
	send_segments(w, 11, 10);
	t = w->last.t_us;
	tw_out_between(w, t, 60, 180, "P. 14601:16061(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 16061");
	tw_none(w, 300);
}

/* Without SACK there is no loss probe: the RTO. */
TEST_F(recovery, no_loss_probe_without_sack)
{
	struct tw *w = &self->w;

	struct tw_seg s0;

	tw_established(w, &nosack);
	send_segments(w, 10, 10);
	s0 = w->last;
	first_rto(w, &s0, tw_out_wait(w, 600, "p. 1:1461(1460) ack 1"));
	tw_in(w, ". 1:1(0) ack 14601");
}

/*
 * RFC 6298 5.4-5.6: the RTO resends the oldest segment; each further
 * timeout doubles the interval exactly.
 */
TEST_F_TIMEOUT(recovery, rto_backoff_doubles, 30)
{
	struct tw *w = &self->w;
	struct tw_seg s0, s1, s2;
	long long d1;

	tw_established(w, &nosack);
	tw_write(w, 1000);
	s0 = *tw_out(w, "P. 1:1001(1000) ack 1");
	s1 = *tw_out_wait(w, 600, "P. 1:1001(1000) ack 1");
	d1 = first_rto(w, &s0, &s1);
	s2 = *tw_out_at(w, s1.t_us, 2 * d1, "P. 1:1001(1000) ack 1");
	tw_out_at(w, s2.t_us, 4 * d1, "P. 1:1001(1000) ack 1");
	tw_in(w, ". 1:1(0) ack 1001");
	tw_none(w, 100);
}

/*
 * Karn (RFC 6298 5.7 and 3): the ACK of a retransmitted segment is no RTT
 * sample, so the backed-off RTO stays for the next segment: its first
 * retransmission comes after 2 RTO, not 1.
 */
TEST_F_TIMEOUT(recovery, rto_stays_backed_off_until_rtt_sample, 30)
{
	struct tw *w = &self->w;
	struct tw_seg s0, s1, s2;
	long long d1;

	tw_established(w, &nosack);
	tw_write(w, 1000);
	s0 = *tw_out(w, "P. 1:1001(1000) ack 1");
	s1 = *tw_out_wait(w, 600, "P. 1:1001(1000) ack 1");
	d1 = first_rto(w, &s0, &s1);
	tw_in(w, ". 1:1(0) ack 1001");
	tw_write(w, 1000);
	s2 = *tw_out(w, "P. 1001:2001(1000) ack 1");
	tw_out_at(w, s2.t_us, 2 * d1, "P. 1001:2001(1000) ack 1");
	tw_in(w, ". 1:1(0) ack 2001");
}

/*
 * RFC 8985 6.2: two segments SACKed above two holes (fewer than DupThresh):
 * the holes are resent once the reordering window (a quarter of the RTT)
 * has passed, not at the RTO, and the SACKed segments are not.
 */
TEST_F(recovery, holes_below_sacked_data_resent_after_reordering_window)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	send_segments(w, 4, 4);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 2921:5841>");
	tw_out_wait(w, 100, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1461 <nop,nop,sack 2921:5841>");
	tw_out(w, "p. 1461:2921(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 5841");
	tw_none(w, 300);
}

static const struct tw_peer rtt200 = {
	.mss = 1460, .wscale = 7, .sack = true, .win = 65535, .rtt_ms = 200,
};

/*
 * The peer is seen to receive out of order (RFC 8985 6.2 step 2): ten
 * segments out, answered 200 ms later (an RTT, and Linux's minimum RTT, of
 * about 200 ms); segment 2 is SACKed before segment 1, which then arrives,
 * never resent.  Then segment 3 is late: segments 4, 5 and 6 are SACKed
 * above it in three duplicate ACKs.  From now on RACK alone finds losses
 * (as Linux's tcp_time_to_recover()), with its reordering window of a
 * quarter RTT (about 50 ms): not the third duplicate ACK.  Returns the
 * time just before the third duplicate ACK went in.
 */
static long long reordering_seen_then_hole(struct tw *w)
{
	long long t;

	tw_established(w, &rtt200);
	send_segments(w, 10, 10);
	tw_msleep(200);
	tw_in(w, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	tw_in(w, ". 1:1(0) ack 2921");
	tw_in(w, ". 1:1(0) ack 2921 <nop,nop,sack 4381:5841>");
	tw_in(w, ". 1:1(0) ack 2921 <nop,nop,sack 4381:7301>");
	t = tw_now(w);
	tw_in(w, ". 1:1(0) ack 2921 <nop,nop,sack 4381:8761>");
	return t;
}

/* Expect @seg from @lo_ms to @hi_ms after @ref (the third duplicate ACK). */
static void resent_between(struct tw *w, const char *seg, long long ref,
			   int lo_ms, int hi_ms)
{
	struct tw_seg *s = tw_out_wait(w, hi_ms + 100, "%s", seg);
	long long dt = s->t_us - ref;

	tw_check(w, dt >= lo_ms * 1000LL && dt < hi_ms * 1000LL,
		 "%s: resent %.1f ms after the third duplicate ACK, not %d to %d ms",
		 seg, dt / 1e3, lo_ms, hi_ms);
}

/* Segment 3 arrives soon after: it was late, not lost; nothing is resent. */
TEST_F(recovery, reordering_seen_late_segment_not_resent)
{
	struct tw *w = &self->w;

	reordering_seen_then_hole(w);
	tw_in(w, ". 1:1(0) ack 8761");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/*
 * Segment 3 does not come: it is resent once the reordering window has
 * passed (RACK's reordering timer, RFC 8985 6.3): not on the third
 * duplicate ACK (30 ms after it at least), and before the loss probe
 * (two RTTs) or the RTO would send anything (within 300 ms).
 */
TEST_F(recovery, reordering_seen_hole_resent_after_reordering_window)
{
	struct tw *w = &self->w;
	long long sacked;

	sacked = reordering_seen_then_hole(w);
	resent_between(w, "p. 2921:4381(1460) ack 1", sacked, 30, 300);
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/*
 * RFC 8985 6.2 step 4: a D-SACK says a retransmission was needless, and
 * the reordering window grows by a quarter RTT.  With an RTT of 200 ms
 * and reordering seen, segment 3 is resent after a window of about 50 ms;
 * the peer then reports the original and the retransmission both (the
 * D-SACK on the ACK of everything).  The next hole, with three segments
 * SACKed above it, is resent after about 100 ms: 80 to 150 ms after the
 * third duplicate ACK (a window of three quarters would be 150 ms).
 */
TEST_F(recovery, dsack_widens_reordering_window)
{
	struct tw *w = &self->w;
	long long sacked;

	reordering_seen_then_hole(w);
	tw_out_wait(w, 300, "p. 2921:4381(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601 <nop,nop,sack 2921:4381>");
	tw_none(w, 20);

	/* Five more segments; the first is late. */
	tw_write(w, 5 * MSS);
	for (int i = 0; i < 5; i++)
		tw_out(w, "%s %d:%d(%d) ack 1", i == 4 ? "P." : "p.",
		       14601 + i * MSS, 14601 + (i + 1) * MSS, MSS);
	tw_msleep(200);
	tw_in(w, ". 1:1(0) ack 14601 <nop,nop,sack 16061:17521>");
	tw_in(w, ". 1:1(0) ack 14601 <nop,nop,sack 16061:18981>");
	sacked = tw_now(w);
	tw_in(w, ". 1:1(0) ack 14601 <nop,nop,sack 16061:20441>");
	resent_between(w, "p. 14601:16061(1460) ack 1", sacked, 80, 150);
	tw_in(w, ". 1:1(0) ack 21901");
	tw_none(w, 300);
}

/*
 * RFC 6582: without SACK, segments 1 and 5 lost.  Three duplicate ACKs
 * resend 1; its ACK is partial (it stops at the second hole, below the
 * recovery point): segment 5 goes at once, not after a timeout; the ACK
 * of everything ends recovery and nothing more is resent.
 */
TEST_F(recovery, newreno_partial_ack_resends_next_hole)
{
	struct tw *w = &self->w;

	tw_established(w, &nosack);
	send_segments(w, 10, 10);
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_in(w, ". 1:1(0) ack 1");
	tw_none(w, 20);
	tw_in(w, ". 1:1(0) ack 5841");
	tw_out(w, "p. 5841:7301(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 300);
}

/* One loss recovered by NewReno, ending at a full ACK of everything. */
static void recover_once(struct tw *w)
{
	int i;

	send_segments(w, 10, 10);
	for (i = 0; i < 3; i++)
		tw_in(w, ". 1:1(0) ack 1");
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 20);
}

/*
 * The recovery point (RFC 6582 3.2 step 1, 4.1): duplicate ACKs that do
 * not cover more than "recover" may be from segments resent in the last
 * recovery: they start no fast retransmit (Linux: "for Reno it is MUST to
 * prevent false fast retransmits").  The new loss waits for the RTO.
 */
TEST_F(recovery, dupacks_at_recovery_point_no_fast_retransmit)
{
	struct tw *w = &self->w;
	int i;

	tw_established(w, &nosack);
	recover_once(w);
	tw_write(w, 4 * MSS);
	tw_out(w, "p. 14601:16061(1460) ack 1");
	tw_out_skipping_new(w, TW_PROMPT_MS, NULL, "P. 18981:20441(1460) ack 1");
	for (i = 0; i < 3; i++)
		tw_in(w, ". 1:1(0) ack 14601");
	tw_none(w, 150);
	tw_out_wait(w, 500, "p. 14601:16061(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 20441");
}

/* Once an ACK covered more than "recover", a new loss is recovered from at
 * its third duplicate ACK.
 */
TEST_F(recovery, new_loss_after_recovery_point_fast_retransmit)
{
	struct tw *w = &self->w;
	int i;

	tw_established(w, &nosack);
	recover_once(w);
	tw_write(w, 5 * MSS);
	tw_out(w, "p. 14601:16061(1460) ack 1");
	tw_out_skipping_new(w, TW_PROMPT_MS, NULL, "P. 20441:21901(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 16061");
	for (i = 0; i < 3; i++)
		tw_in(w, ". 1:1(0) ack 16061");
	tw_out(w, "p. 16061:17521(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 21901");
	tw_none(w, 300);
}

TEST_HARNESS_MAIN
