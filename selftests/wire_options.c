// SPDX-License-Identifier: GPL-2.0
/*
 * TCP options on the wire: laid out as Linux lays them out (order and NOP
 * padding of MSS, SACK-permitted, timestamps and window scale on SYN and
 * SYN-ACK; SACK blocks and timestamps on data), so that scripts and tools
 * written against Linux's segments read the stack's unchanged; peers
 * without SACK, without window scaling, without timestamps, with a tiny
 * MSS or with none (536, RFC 9293 3.7.1); and timestamps (RFC 7323):
 * negotiated, on every segment, TSecr echoing TS.Recent, PAWS.
 * Each test runs against toytcp and against Linux TCP (tt_wire.h).
 */
#include "tt_wire.h"

TW_FIXTURE(options);

/* ------------------------------------------------------------------ */
/* SYN and SYN-ACK layout                                              */

/* Linux's SYN (net.ipv4.tcp_timestamps=1, the default). */
TEST_F(options, syn_layout_mss_sackok_ts_nop_wscale)
{
	struct tw *w = &self->w;

	tw_syn_sent(w);
	tw_last_is(w, "S 0:0(0) <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
}

TEST_F(options, syn_ack_layout_without_timestamps)
{
	struct tw *w = &self->w;
	struct tw_conn *c;

	tw_listen(w);
	c = tw_conn_new(w, TW_RPORT);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
}

TEST_F(options, syn_ack_layout_with_timestamps)
{
	struct tw *w = &self->w;
	struct tw_conn *c;

	tw_listen(w);
	c = tw_conn_new(w, TW_RPORT);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 5000 ecr 0,nop,wscale 7>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460,sackOK,TS val * ecr 5000,nop,wscale 7>");
}

TEST_F(options, syn_ack_layout_timestamps_without_sack)
{
	struct tw *w = &self->w;
	struct tw_conn *c;

	tw_listen(w);
	c = tw_conn_new(w, TW_RPORT);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 5000 ecr 0,nop,wscale 7>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val * ecr 5000,nop,wscale 7>");
}

/* RFC 7323 1.3, RFC 2018 2: a SYN-ACK answers only what the SYN offered. */
TEST_F(options, syn_ack_answers_only_what_syn_offered)
{
	struct tw *w = &self->w;
	struct tw_conn *c;

	tw_listen(w);
	c = tw_conn_new(w, TW_RPORT);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460,nop,wscale 7>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>");
	c = tw_conn_new(w, TW_RPORT + 1);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460,nop,nop,sackOK>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>");
}

TEST_F(options, syn_ack_to_syn_without_options_carries_mss_only)
{
	struct tw *w = &self->w;
	struct tw_conn *c;

	tw_listen(w);
	c = tw_conn_new(w, TW_RPORT);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <>");
	tw_out(w, "S. 0:0(0) ack 1 <mss 1460>");
}

/* ------------------------------------------------------------------ */
/* SACK blocks and timestamps on data                                  */

/* RFC 2018 4: the block of the newest arrival first, then the others. */
TEST_F(options, sack_blocks_on_out_of_order_data)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_in(w, "P. 1001:2001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1 <nop,nop,sack 1001:2001>");
	tw_in(w, "P. 3001:4001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1 <nop,nop,sack 3001:4001 1001:2001>");
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 2001 <nop,nop,sack 3001:4001>");
	tw_in(w, "P. 2001:3001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 4001");
	tw_read(w, 4000);
}

TEST_F(options, timestamps_on_every_segment)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	/* Default expectations: <nop,nop,TS val * ecr TS.Recent>. */
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1001");
	tw_read(w, 1000);
	tw_write(w, 500);
	tw_out(w, "P. 1:501(500) ack 1001");
	tw_in(w, ". 1001:1001(0) ack 501");
	tw_write(w, 500);
	tw_out(w, "P. 501:1001(500) ack 1001");
	tw_in(w, "F. 1001:1001(0) ack 1001");
	tw_out_wait(w, 250, ". 1001:1001(0) ack 1002");
	tw_eq(w, 0, shutdown(w->c->fd, SHUT_WR));
	tw_out(w, "F. 1001:1001(0) ack 1002");
}

/* Timestamps and SACK together: <nop,nop,TS ...,nop,nop,sack ...>. */
TEST_F(options, timestamps_and_sack_blocks_layout)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_in(w, "P. 1001:2001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1 <nop,nop,TS val * ecr %u,nop,nop,sack 1001:2001>",
	       w->c->ts_recent);
}

/* RFC 7323 3.4: TSecr echoes the TSval of the segment at Last.ACK.sent,
 * not that of a later out-of-order one.
 */
TEST_F(options, tsecr_echoes_ts_recent_not_out_of_order_tsval)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;
	uint32_t recent;

	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_in(w, "P. 1:101(100) ack 1 <nop,nop,TS val 7000 ecr %u>", w->c->stack_tsval);
	tw_out_wait(w, 250, ". 1:1(0) ack 101 <nop,nop,TS val * ecr 7000>");
	recent = 7000;
	tw_in(w, "P. 1101:1201(100) ack 1 <nop,nop,TS val 7100 ecr %u>", w->c->stack_tsval);
	tw_out(w, ". 1:1(0) ack 101 <nop,nop,TS val * ecr %u,nop,nop,sack 1101:1201>",
	       recent);
	tw_in(w, "P. 101:1101(1000) ack 1 <nop,nop,TS val 7200 ecr %u>", w->c->stack_tsval);
	tw_out(w, ". 1:1(0) ack 1201 <nop,nop,TS val * ecr 7200>");
}

/* RFC 7323 5 (PAWS): a segment with an older TSval is dropped, with an ACK. */
TEST_F(options, paws_drops_segment_with_old_tsval)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_in(w, "P. 1:101(100) ack 1 <nop,nop,TS val 900000 ecr %u>", w->c->stack_tsval);
	tw_out_wait(w, 250, ". 1:1(0) ack 101 <nop,nop,TS val * ecr 900000>");
	tw_read(w, 100);
	tw_in(w, "P. 101:201(100) ack 1 <nop,nop,TS val 800000 ecr %u>", w->c->stack_tsval);
	tw_out(w, ". 1:1(0) ack 101 <nop,nop,TS val * ecr 900000>");
	tw_eq(w, -EAGAIN, tw_recv_now(w));
	/* With a newer TSval the same data is taken. */
	tw_in(w, "P. 101:201(100) ack 1 <nop,nop,TS val 900100 ecr %u>", w->c->stack_tsval);
	tw_out_wait(w, 250, ". 1:1(0) ack 201 <nop,nop,TS val * ecr 900100>");
	tw_read(w, 100);
}

/* An abort (close() with data unread) on a connection with timestamps. */
TEST_F(options, timestamps_on_active_reset)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_in(w, "P. 1:101(100) ack 1");
	tw_out_wait(w, 250, ". 1:1(0) ack 101");
	tw_eq(w, 0, close(w->c->fd));
	w->c->fd = -1;
	tw_out(w, "R. 1:1(0) ack 101");
}

/* The stack's own SYN offers timestamps; without them in the SYN-ACK,
 * the connection has none (RFC 7323 3.2).
 */
TEST_F(options, timestamps_not_used_when_peer_does_not_answer_them)
{
	struct tw *w = &self->w;

	tw_established_active(w, NULL);
	tw_check(w, !w->c->ts, "timestamps on");
	tw_write(w, 100);
	tw_out(w, "P. 1:101(100) ack 1 <>");
}

TEST_F(options, timestamps_active_open)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.ts = true;
	tw_established_active(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_write(w, 100);
	tw_out(w, "P. 1:101(100) ack 1");
	tw_in(w, ". 1:1(0) ack 101");
	tw_none(w, 50);
}

/*
 * SYN cookies (always on here) that keep window scaling and SACK, encoded
 * in the timestamp as Linux's are: the connection made through the cookie
 * SACKs out-of-order data and scales its window.
 */
TEST_F(options, syncookie_keeps_sack_and_wscale_in_timestamp)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	socklen_t len = sizeof(struct tcp_info);
	struct tw *w = &self->w;
	struct tcp_info ti;

	if (tw_is_linux(w))
		tw_sysctl(w, "net.ipv4.tcp_syncookies", "2");
	else
		tw_sysctl(w, "net.toytcp.syncookies", "2");
	p.ts = true;
	tw_established(w, &p);
	tw_check(w, w->c->ts, "the stack did not agree to timestamps");
	tw_in(w, "P. 1001:2001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:2001>");
	/* Scaling both ways, with the scales of the SYN and the SYN-ACK.
	 * (The window field alone cannot tell: Linux's first window, some
	 * 64 KB scaled by 7, is a field of a few hundred, but a stack that
	 * starts from half a large buffer sends as large a field scaled.)
	 */
	tw_eq(w, 0, getsockopt(w->c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	tw_check(w, ti.tcpi_options & TCPI_OPT_WSCALE, "no window scaling");
	tw_check(w, ti.tcpi_options & TCPI_OPT_SACK, "no SACK");
	tw_eq(w, 7, ti.tcpi_snd_wscale);
	tw_eq(w, w->c->stack_wscale, ti.tcpi_rcv_wscale);
}

/* ------------------------------------------------------------------ */
/* Peers that lack an option                                           */

/* Without SACK: no SACK blocks, ever. */
TEST_F(options, peer_without_sack_gets_no_sack_blocks)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.sack = false;
	tw_established(w, &p);
	tw_in(w, "P. 1001:2001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1");
	tw_in(w, "P. 3001:4001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 1");
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_out(w, ". 1:1(0) ack 2001");
}

/*
 * Without window scaling (RFC 7323 2.2): the stack's windows are not
 * scaled (a real window, not 1/128th of one), and the peer's are taken as
 * they are: a window of 4380 lets three full segments out, not 4380 << 7
 * bytes.  (Windows here are whole segments: how a sender fills the last
 * bytes of a window is its own choice, RFC 9293 3.8.6.2.1.)
 */
TEST_F(options, peer_without_wscale_windows_unscaled)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;
	struct tw_seg *s;

	p.wscale = -1;
	p.win = 3 * 1460;
	tw_established(w, &p);
	tw_check(w, w->c->stack_wscale < 0, "the SYN-ACK has a window scale");
	tw_in(w, "P. 1:101(100) ack 1");
	s = tw_out_wait(w, 250, ". 1:1(0) ack 101 win *");
	tw_check(w, s->win >= 16384, "window %u: scaled?", s->win);
	tw_read(w, 100);
	tw_write(w, 10000);
	tw_out(w, "p. 1:1461(1460) ack 101");
	tw_out(w, "p. 1461:2921(1460) ack 101");
	tw_out(w, "p. 2921:4381(1460) ack 101");
	tw_none(w, 20);
	tw_in(w, ". 101:101(0) ack 4381 win 65535");
	tw_out(w, "p. 4381:5841(1460) ack 101");
}

/* A peer's window scale applies to every window after the SYN: 365 << 4
 * is 5840 bytes, four full segments.
 */
TEST_F(options, peer_wscale_applies_after_syn)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;
	int i;

	p.wscale = 4;
	p.win = 365;
	tw_established(w, &p);
	tw_write(w, 10000);
	for (i = 0; i < 4; i++)
		tw_out(w, "p. %d:%d(1460) ack 1", 1 + 1460 * i, 1461 + 1460 * i);
	tw_none(w, 20);
	tw_in(w, ". 1:1(0) ack 5841 win 1000");
	for (i = 4; i < 6; i++)
		tw_out(w, "p. %d:%d(1460) ack 1", 1 + 1460 * i, 1461 + 1460 * i);
	tw_out(w, "P. 8761:10001(1240) ack 1");
}

/* MSS 64: segments of 64 bytes. */
TEST_F(options, peer_mss_64_gets_64_byte_segments)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;
	int i;

	p.mss = 64;
	tw_established(w, &p);
	tw_write(w, 1000);
	for (i = 0; i < 10; i++)
		tw_out(w, "p. %d:%d(64) ack 1", 1 + 64 * i, 65 + 64 * i);
	tw_in(w, ". 1:1(0) ack 641");
	for (i = 10; i < 15; i++)
		tw_out(w, "p. %d:%d(64) ack 1", 1 + 64 * i, 65 + 64 * i);
	tw_out(w, "P. 961:1001(40) ack 1");
}

TEST_F(options, peer_mss_536_gets_536_byte_segments)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.mss = 536;
	tw_established(w, &p);
	tw_write(w, 2000);
	tw_out(w, "p. 1:537(536) ack 1");
	tw_out(w, "p. 537:1073(536) ack 1");
	tw_out(w, "p. 1073:1609(536) ack 1");
	tw_out(w, "P. 1609:2001(392) ack 1");
}

/* RFC 9293 3.7.1: no MSS option means 536. */
TEST_F(options, peer_without_mss_option_536_assumed)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	p.mss = 0;
	tw_established(w, &p);
	tw_write(w, 2000);
	tw_out(w, "p. 1:537(536) ack 1");
	tw_out(w, "p. 537:1073(536) ack 1");
	tw_out(w, "p. 1073:1609(536) ack 1");
	tw_out(w, "P. 1609:2001(392) ack 1");
}

/* The same as the active side, with no option at all in the SYN-ACK. */
TEST_F(options, peer_syn_ack_without_options)
{
	struct tw_peer p = { .mss = 0, .wscale = -1, .win = 65535, .rtt_ms = 50 };
	struct tw *w = &self->w;

	tw_established_active(w, &p);
	tw_write(w, 1000);
	tw_out(w, "p. 1:537(536) ack 1");
	tw_out(w, "P. 537:1001(464) ack 1");
}

TEST_HARNESS_MAIN
