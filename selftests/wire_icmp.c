// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP errors about a connection's segments, injected as a router or the
 * peer would send them (tt_wire.h): fragmentation needed lowers the path
 * MTU and the MSS, and what is in flight is resent smaller (RFC 1191),
 * after the RFC 5927 check that the quoted segment is in flight; port and
 * host unreachable end a connect() in SYN-SENT (as Linux does) and are
 * soft errors later (SO_ERROR).
 * Each test runs against toytcp and against Linux TCP.
 */
#include "tt_wire.h"

#define ICMP_UNREACH_NET	0
#define ICMP_UNREACH_HOST	1
#define ICMP_UNREACH_PORT	3
#define ICMP_UNREACH_NEEDFRAG	4

TW_FIXTURE(icmp);

/* RFC 1191: "fragmentation needed, next-hop MTU 1280" for a segment in
 * flight: it goes again in segments of 1240 bytes, and so does all that
 * follows.
 */
TEST_F(icmp, frag_needed_lowers_mss_and_resends_smaller)
{
	struct tw *w = &self->w;
	struct tw_seg s1;

	tw_established(w, NULL);
	tw_write(w, 2920);
	s1 = *tw_out(w, "p. 1:1461(1460) ack 1");
	tw_out(w, "P. 1461:2921(1460) ack 1");
	/* Both were "dropped" by the router, which said why. */
	tw_in_icmp(w, &s1, ICMP_UNREACH_NEEDFRAG, 1280, TW_ROUTER);
	w->c->rcv = 1;
	tw_out(w, "p. 1:1241(1240) ack 1");
	tw_sink(w, 2920 - 1240, 1240, 3000);
	tw_write(w, 10000);
	tw_sink(w, 10000, 1240, 3000);
}

/* RFC 5927 5.2: an ICMP error quoting a sequence number not in flight is
 * ignored (a blind attack, or a stale message).
 */
TEST_F(icmp, frag_needed_for_segment_not_in_flight_ignored)
{
	struct tw *w = &self->w;
	struct tw_seg s1;

	tw_established(w, NULL);
	tw_write(w, 1460);
	s1 = *tw_out(w, "P. 1:1461(1460) ack 1");
	tw_in(w, ". 1:1(0) ack 1461");
	tw_in_icmp(w, &s1, ICMP_UNREACH_NEEDFRAG, 1280, TW_ROUTER);
	tw_none(w, 50);
	tw_write(w, 2920);
	tw_out(w, "p. 1461:2921(1460) ack 1");
	tw_out(w, "P. 2921:4381(1460) ack 1");
}

/* Port unreachable for the SYN: connect() fails with ECONNREFUSED. */
TEST_F(icmp, port_unreachable_in_syn_sent_refuses_connect)
{
	struct tw *w = &self->w;
	struct tw_seg syn;

	tw_syn_sent(w);
	syn = w->last;
	tw_in_icmp(w, &syn, ICMP_UNREACH_PORT, 0, TW_RADDR);
	tw_true(w, tw_poll(w->c->fd, POLLOUT, 1000) & (POLLERR | POLLHUP));
	tw_eq(w, ECONNREFUSED, tw_so_error(w->c->fd));
	tw_assert_state(w, TW_GONE);
	tw_none(w, 50);
}

/* Host unreachable from a router for the SYN: connect() fails. */
TEST_F(icmp, host_unreachable_in_syn_sent_fails_connect)
{
	struct tw *w = &self->w;
	struct tw_seg syn;

	tw_syn_sent(w);
	syn = w->last;
	tw_in_icmp(w, &syn, ICMP_UNREACH_HOST, 0, TW_ROUTER);
	tw_true(w, tw_poll(w->c->fd, POLLOUT, 1000) & (POLLERR | POLLHUP));
	tw_eq(w, EHOSTUNREACH, tw_so_error(w->c->fd));
	tw_assert_state(w, TW_GONE);
}

/* Later, host unreachable is a soft error: SO_ERROR reports it once, the
 * connection goes on.
 */
TEST_F(icmp, host_unreachable_when_established_is_soft_error)
{
	struct tw *w = &self->w;
	struct tw_seg s1;

	tw_established(w, NULL);
	tw_write(w, 100);
	s1 = *tw_out(w, "P. 1:101(100) ack 1");
	tw_in_icmp(w, &s1, ICMP_UNREACH_HOST, 0, TW_ROUTER);
	tw_none(w, 50);
	tw_assert_state(w, TW_ESTABLISHED);
	tw_eq(w, EHOSTUNREACH, tw_so_error(w->c->fd));
	tw_eq(w, 0, tw_so_error(w->c->fd));
	tw_in(w, ". 1:1(0) ack 101");
	tw_exchange(w, 100);
}

TEST_HARNESS_MAIN
