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
	/* The zero-window episode, if any, is over (tcp_ack_probe()). */
	if (tsk->snd_wnd || tsk->snd_una != tsk->snd_nxt || !tsk->send_head)
		tsk->probe_stamp = 0;
	if (!tsk->send_head || toytcp_retrans_timer_armed(tsk))
		return;
	if (tsk->snd_una != tsk->snd_nxt || !tsk->snd_wnd)
		/* Waiting for ACKs, or for a zero window to open. */
		toytcp_reset_retrans_timer(sk);
	else
		/* A small tail held back by TCP_CORK or MSG_MORE. */
		sk_reset_timer(sk, &tsk->retrans_timer, jiffies + HZ / 5);
}

/*
 * As tcp_clamp_probe0_to_user_timeout(): the next probe no later than
 * when TCP_USER_TIMEOUT runs out, so the connection fails on time.
 */
static void toytcp_reset_probe_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 user_timeout = READ_ONCE(tsk->user_timeout);
	unsigned long when, left, elapsed;

	if (!user_timeout || !tsk->probe_stamp) {
		toytcp_reset_retrans_timer(sk);
		return;
	}
	when = min_t(unsigned long, (unsigned long)tsk->rto << tsk->backoff,
		     TOYTCP_MAX_RTO);
	elapsed = jiffies - tsk->probe_stamp;
	left = msecs_to_jiffies(user_timeout);
	left = left > elapsed ? left - elapsed : 0;
	tsk->tlp_armed = false;
	sk_reset_timer(sk, &tsk->retrans_timer,
		       jiffies + clamp(left, (unsigned long)TCP_TIMEOUT_MIN, when));
}

/*
 * The probes' end, as tcp_probe_timer(): RFC 1122 4.2.2.17 wants a sender
 * to probe a zero window for as long as the receiver answers, and an
 * answer resets @probes_out; but not for ever when nobody waits for the
 * data (an orphan) or the user set TCP_USER_TIMEOUT.  An orphan's limit,
 * toytcp_orphan_retries(), is compared with the backoff, which answers
 * do not reset; TCP_USER_TIMEOUT with the time since the first probe.
 */
static bool toytcp_probes_timed_out(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 user_timeout = READ_ONCE(tsk->user_timeout);

	if (!tsk->probe_stamp)
		tsk->probe_stamp = jiffies ? : 1;
	else if (user_timeout &&
		 time_after_eq(jiffies, tsk->probe_stamp +
			       msecs_to_jiffies(user_timeout)))
		return true;
	if (sock_flag(sk, SOCK_DEAD) &&
	    tsk->backoff >= toytcp_orphan_retries(sk))
		return true;
	return tsk->probes_out >= toytcp_max_retries(sk);
}

/* Is the window zero, so that the timer sends a window probe? */
static bool toytcp_window_closed(const struct toytcp_sock *tsk)
{
	return !tsk->snd_wnd &&
	       !(TOYTCP_SKB_CB(tsk->send_head)->flags & TOYTCP_SYN);
}

/**
 * toytcp_probe_timer() - the persist timer expired
 * @sk: the socket; its retransmission timer expired with nothing in flight
 *
 * Nothing in flight, yet something waits to be sent: a window probe when
 * the window is zero, else the segment itself.  Each try counts
 * (@probes_out; any segment from the peer resets it), so a peer that
 * never answers or a host that drops its own output ends the connection
 * as retries do; an orphan and a socket with TCP_USER_TIMEOUT end even
 * when the peer answers every probe (toytcp_probes_timed_out()).  The
 * timer backs off as the RTO does.  An orphan the host cannot afford
 * (toytcp_check_oom()) is reset.
 *
 * Context: sk lock held (toytcp_retrans_timer_handler()).
 */
void toytcp_probe_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!tsk->send_head) {
		tsk->probe_stamp = 0;
		return;
	}
	if (!toytcp_window_closed(tsk)) {
		tsk->probe_stamp = 0;
		if (tsk->probes_out >= toytcp_max_retries(sk)) {
			toytcp_write_err(sk);
			return;
		}
	} else if (toytcp_probes_timed_out(sk)) {
		toytcp_write_err(sk);
		return;
	}
	if (sock_flag(sk, SOCK_DEAD) && toytcp_out_of_resources(sk))
		return;
	if (!toytcp_window_closed(tsk)) {
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
	toytcp_reset_probe_timer(sk);
}
