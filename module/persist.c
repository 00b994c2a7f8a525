// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the persist timer, zero-window probes (RFC 9293 3.8.6.1; the
 * models: tcp_probe_timer() in net/ipv4/tcp_timer.c,
 * tcp_check_probe_timer() in include/net/tcp.h).
 *
 * When nothing is in flight but data waits that the windows did not let
 * go, no ACK will come to send it: a timer must.  With a zero window it
 * sends a window probe, which the peer answers with its current window;
 * with an open window (a small segment that TCP_CORK or MSG_MORE held
 * back, or one that did not leave the host) it sends that segment.  As
 * Linux's ICSK_TIME_PROBE0, it runs on the retransmission timer, whose
 * handler (rto.c) calls toytcp_probe_timer() when nothing is in flight.
 */
#include "protocol.h"

/**
 * toytcp_check_probe_timer() - data waits to be sent: make sure a timer will
 * @sk: the socket, after sending what the windows allowed
 *
 * With data in flight, or a zero window, the retransmission timer; with a
 * small tail held back by TCP_CORK or MSG_MORE, 200 ms at the most, as in
 * Linux.  Nothing when a timer is armed already.
 *
 * Context: sk lock held.
 */
void toytcp_check_probe_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!tsk->send_head || toytcp_retrans_timer_armed(tsk))
		return;
	if (tsk->snd_una != tsk->snd_nxt || !tsk->snd_wnd)
		/* Waiting for ACKs, or for a zero window to open. */
		toytcp_reset_retrans_timer(sk);
	else
		/* A small tail held back by TCP_CORK or MSG_MORE. */
		sk_reset_timer(sk, &tsk->retrans_timer, jiffies + HZ / 5);
}

/**
 * toytcp_probe_timer() - the persist timer expired
 * @sk: the socket; its retransmission timer expired with nothing in flight
 *
 * Nothing in flight, yet something waits to be sent: a window probe when
 * the window is zero, else the segment itself.  Each try counts
 * (@probes_out; any segment from the peer resets it), so a peer that
 * never answers or a host that drops its own output ends the connection
 * as retries do.  The timer backs off as the RTO does.
 *
 * Context: sk lock held (toytcp_retrans_timer_handler()).
 */
void toytcp_probe_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!tsk->send_head)
		return;
	if (tsk->probes_out >= toytcp_max_retries(sk)) {
		toytcp_write_err(sk);
		return;
	}
	if (tsk->snd_wnd ||
	    (TOYTCP_SKB_CB(tsk->send_head)->flags & TOYTCP_SYN)) {
		/* A small segment that TCP_CORK or MSG_MORE held
		 * back: 200 ms is the most it waits, as in Linux.
		 */
		toytcp_send_one_new(sk);
		if (tsk->snd_una != tsk->snd_nxt)
			return;
		/* It did not leave the host (netfilter, no route,
		 * no memory): try again later.
		 */
	} else {
		toytcp_send_probe(sk);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ZEROWINDOWPROBES);
	}
	tsk->probes_out++;
	if (tsk->backoff < 15)
		tsk->backoff++;
	toytcp_reset_retrans_timer(sk);
}
