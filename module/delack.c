// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2; the models:
 * __tcp_ack_snd_check() in net/ipv4/tcp_input.c, tcp_delack_timer() in
 * tcp_timer.c).
 *
 * Received data is acknowledged at once when a hole closes, a FIN
 * arrives, early in the connection (quick ACKs) or for every second
 * full-sized segment; otherwise within delack_ms, by the delayed-ACK timer.
 * Any segment sent meanwhile carries the ACK (toytcp_xmit() stops the
 * timer).  Segments processed from the backlog share one ACK, sent once
 * release_sock() has run them all.
 */
#include "protocol.h"

/**
 * toytcp_ack_snd_check() - in-sequence data was queued: ACK now or later?
 * @sk: the socket
 * @now: the data closed a hole in the sequence space
 *
 * RFC 9293 3.8.6.3 and RFC 5681 4.2: ACK at least every second
 * full-sized segment and at once when a hole closes, a FIN or a duplicate
 * arrives (or early in the connection, @quickack); otherwise within
 * delack_ms.
 *
 * Context: sk lock held.
 */
void toytcp_ack_snd_check(struct sock *sk, bool now)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!now && !(sk->sk_shutdown & RCV_SHUTDOWN) && !tsk->quickack &&
	    tsk->rcv_unacked < 2 * tsk->rcv_mss) {
		toytcp_schedule_ack(sk);
		return;
	}
	if (tsk->quickack)
		tsk->quickack--;
	if (sock_owned_by_user_nocheck(sk)) {
		/* From the backlog, in release_sock(): one ACK for all of
		 * it, once it is done (toytcp_release_cb()), as Linux TCP
		 * does since 6.7 (tcp_backlog_ack_defer) for every ACK that
		 * would go at once: quick ACKs, a FIN's, a filled hole's,
		 * not only every second segment's.  The window then moves
		 * on once per backlog, and so does what the backlog can
		 * take in before release_sock() finds it empty.  (Out of
		 * order data is still answered at once: those duplicate
		 * ACKs drive the sender's fast retransmit.)
		 */
		set_bit(TOYTCP_ACK_DEFERRED, &tsk->deferred);
		return;
	}
	toytcp_send_ack(sk);
}

/**
 * toytcp_schedule_ack() - acknowledge received data later, not at once
 * @sk: the socket
 *
 * Context: sk lock held.
 */
void toytcp_schedule_ack(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned int ms = min(toytcp_param(sk, delack_ms), 200U);

	sock_owned_by_me(sk);
	if (tsk->ack_pending)
		return;
	tsk->ack_pending = true;
	sk_reset_timer(sk, &tsk->delack_timer,
		       jiffies + (msecs_to_jiffies(ms) ? : 1));
}

/**
 * toytcp_delack_timer_handler() - send the ACK that was held back
 * @sk: the socket
 *
 * Context: softirq with bh_lock_sock(), or release_sock().
 */
void toytcp_delack_timer_handler(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!tsk->ack_pending || timer_pending(&tsk->delack_timer) ||
	    (1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
		return;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_DELAYEDACKS);
	toytcp_send_ack(sk);
}

/**
 * toytcp_send_deferred_ack() - the backlog is processed: its one ACK
 * @sk: the socket
 *
 * Context: release_sock() (toytcp_release_cb()).
 */
void toytcp_send_deferred_ack(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	/* Unless a segment sent since carried it: toytcp_xmit() clears
	 * the bit.
	 */
	if (test_and_clear_bit(TOYTCP_ACK_DEFERRED, &tsk->deferred))
		toytcp_send_ack(sk);
}

/**
 * toytcp_set_quickack() - TCP_QUICKACK
 * @sk: the socket
 * @val: nonzero: ACK at once for the next TOYTCP_QUICKACKS segments (and
 *	now, if an ACK is due); 0: delay ACKs from now on
 *
 * Context: process, sk lock held.
 */
void toytcp_set_quickack(struct sock *sk, int val)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	WRITE_ONCE(tsk->pingpong, !val);
	if (val) {
		tsk->quickack = TOYTCP_QUICKACKS;
		if (tsk->ack_pending)
			toytcp_send_ack(sk);
	} else {
		tsk->quickack = 0;
	}
}
