// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the timers.  The send diagram's "connection state and timers"
 * box: the retransmission timer (RFC 6298, also resending SYN and SYN-ACK,
 * and probing a zero window), the TIME-WAIT timer (2*MSL, also ending an
 * orphaned FIN-WAIT-2), the delayed-ACK timer and the keepalive timer.
 *
 * A timer holds a socket reference while pending (sk_reset_timer()).  The
 * handlers run in softirq under bh_lock_sock(); when the user owns the
 * socket they set a bit in toytcp_sock::deferred and toytcp_release_cb()
 * runs them from release_sock(), as tcp_release_cb() does.
 */
#include "protocol.h"
#include "trace.h"

/**
 * toytcp_rtt_sample() - fold one round-trip measurement into the RTO
 * @sk: the socket
 * @rtt_us: the measured round-trip time, microseconds
 *
 * RFC 6298 2.2 and 2.3 (alpha 1/8, beta 1/4, K 4), with a floor of
 * min_rto_ms (200 ms by default, as Linux; RFC 6298 2.4 asks for 1 s).
 *
 * Context: sk lock held.
 */
void toytcp_rtt_sample(struct sock *sk, long rtt_us)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 r = max_t(long, rtt_us, 1);
	unsigned long rto;

	if (!tsk->srtt_us) {
		tsk->srtt_us = r;
		tsk->rttvar_us = r / 2;
	} else {
		u32 delta = abs((s32)(tsk->srtt_us - r));

		tsk->rttvar_us = (3 * tsk->rttvar_us + delta) / 4;
		tsk->srtt_us = (7 * tsk->srtt_us + r) / 8;
	}
	rto = usecs_to_jiffies(tsk->srtt_us + max_t(u32, 4 * tsk->rttvar_us,
						    jiffies_to_usecs(1)));
	tsk->rto = clamp_t(unsigned long, rto,
			   msecs_to_jiffies(toytcp_param(sk, min_rto_ms)) ? : 1,
			   TOYTCP_MAX_RTO);
}

/**
 * toytcp_reset_retrans_timer() - (re)arm the retransmission timer
 * @sk: the socket
 *
 * Context: sk lock held.
 */
void toytcp_reset_retrans_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long when = min_t(unsigned long,
				   (unsigned long)tsk->rto << tsk->backoff,
				   TOYTCP_MAX_RTO);

	tsk->tlp_armed = false;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + when);
}

static unsigned int toytcp_max_retries(const struct sock *sk)
{
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		return toytcp_param(sk, syn_retries);
	case TCP_SYN_RECV:
		return TOYTCP_SYNACK_RETRIES;
	default:
		/* An orphan has nobody waiting for it: give up sooner, as
		 * Linux's tcp_orphan_retries does (about 25 s at the
		 * minimum RTO, rather than minutes).
		 */
		if (sock_flag(sk, SOCK_DEAD))
			return min(toytcp_param(sk, retries),
				   TOYTCP_ORPHAN_RETRIES);
		return toytcp_param(sk, retries);
	}
}

/* Too many tries without an answer: the connection fails with ETIMEDOUT
 * (or the soft error an ICMP message left).
 */
static void toytcp_write_err(struct sock *sk)
{
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ABORTONTIMEOUT);
	WRITE_ONCE(sk->sk_err, READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT);
	sk_error_report(sk);
	toytcp_done(sk);
}

/**
 * toytcp_retrans_timer_handler() - the retransmission timer expired
 * @sk: the socket
 *
 * With data (or SYN, or FIN) in flight: RFC 6298 5.4-5.7 and RFC 5681
 * eq. (4): collapse the congestion window to one segment, back off, and
 * send again from the oldest unacknowledged segment (go-back-N: what is
 * acknowledged meanwhile is not sent twice).  After too many tries the
 * connection fails with ETIMEDOUT.  With nothing in flight but data held
 * back by a zero window: send a window probe (RFC 9293 3.8.6.1).
 *
 * Context: softirq with bh_lock_sock(), or release_sock().
 */
void toytcp_retrans_timer_handler(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *head;

	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN ||
	    timer_pending(&tsk->retrans_timer))
		return;
	head = skb_peek(&sk->sk_write_queue);
	if (!head)
		return;

	if (tsk->tlp_armed && tsk->snd_una != tsk->snd_nxt) {
		/* One probe; if that goes unanswered too, the RTO. */
		toytcp_send_loss_probe(sk);
		toytcp_reset_retrans_timer(sk);
		return;
	}
	tsk->tlp_armed = false;

	if (tsk->snd_una == tsk->snd_nxt) {
		if (!tsk->send_head)
			return;
		/* Nothing in flight, yet something waits to be sent: each
		 * try counts (probes_out; any segment from the peer resets
		 * it), so a peer that never answers or a host that drops
		 * its own output ends the connection as retries do.
		 */
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
			TOYTCP_INC_STATS(sock_net(sk),
					 TOYTCP_MIB_ZEROWINDOWPROBES);
		}
		tsk->probes_out++;
		if (tsk->backoff < 15)
			tsk->backoff++;
		toytcp_reset_retrans_timer(sk);
		return;
	}

	if (tsk->retries >= toytcp_max_retries(sk) ||
	    (tsk->user_timeout && tsk->retrans_stamp &&
	     time_after_eq(jiffies, tsk->retrans_stamp +
			   msecs_to_jiffies(tsk->user_timeout)))) {
		toytcp_write_err(sk);
		return;
	}

	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_RTOTIMEOUTS);
	trace_toytcp_rto(sk, jiffies_to_msecs(tsk->rto << tsk->backoff),
			 tsk->retries, tsk->backoff);
	tsk->ssthresh = tsk->ca_ops->ssthresh(sk);
	tsk->cwnd = 1;
	tsk->cwnd_cnt = 0;
	tsk->dupacks = 0;
	tsk->in_recovery = false;
	tsk->recover = tsk->snd_nxt;	/* RFC 6582 4.1 */
	tsk->retries++;
	if (tsk->backoff < 15)
		tsk->backoff++;

	/* The receiver may have dropped what it SACKed (RFC 2018 8):
	 * forget the marks; what it SACKs from now on counts again.  And
	 * no RTT sample from anything sent before the timeout.
	 */
	toytcp_clear_sacks(sk);
	tsk->send_head = head;
	toytcp_write_xmit(sk);
	toytcp_reset_retrans_timer(sk);
}

/**
 * toytcp_tw_timer_handler() - TIME-WAIT is over, or an orphan waited too
 * long in FIN-WAIT-2 for the peer's FIN
 * @sk: the socket
 *
 * Context: softirq with bh_lock_sock(), or release_sock().
 */
void toytcp_tw_timer_handler(struct sock *sk)
{
	if (timer_pending(&toytcp_sk(sk)->tw_timer))
		return;
	if (sk->sk_state == TCP_TIME_WAIT ||
	    (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)))
		toytcp_done(sk);
}

/**
 * toytcp_time_wait() - enter TIME-WAIT for 2*MSL
 * @sk: the socket
 *
 * Context: sk lock held.
 */
void toytcp_time_wait(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	toytcp_set_state(sk, TCP_TIME_WAIT);
	sk_stop_timer(sk, &tsk->retrans_timer);
	sk_reset_timer(sk, &tsk->tw_timer, jiffies +
		       msecs_to_jiffies(toytcp_param(sk, tw_timeout_ms)));
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

	if (!tsk->ack_pending || timer_pending(&tsk->delack_timer) ||
	    (1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
		return;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_DELAYEDACKS);
	toytcp_send_ack(sk);
}

/**
 * toytcp_reset_keepalive_timer() - (re)arm the keepalive timer
 * @sk: the socket
 * @len: jiffies from now
 *
 * Context: sk lock held.
 */
void toytcp_reset_keepalive_timer(struct sock *sk, unsigned long len)
{
	sk_reset_timer(sk, &toytcp_sk(sk)->keepalive_timer, jiffies + len);
}

/**
 * toytcp_keepalive() - SO_KEEPALIVE was switched on or off (proto.keepalive)
 * @sk: the socket
 * @on: the new value
 *
 * Context: process, sk lock held.
 */
void toytcp_keepalive(struct sock *sk, int on)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (!on)
		sk_stop_timer(sk, &tsk->keepalive_timer);
	else if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
		toytcp_reset_keepalive_timer(sk, tsk->keepidle);
}

/**
 * toytcp_keepalive_timer_handler() - probe an idle peer (RFC 1122 4.2.3.6)
 * @sk: the socket
 *
 * After keepidle without a segment from the peer, send a probe (an ACK with
 * an old sequence number, which the peer must answer) every keepintvl; the
 * peer is dead after keepcnt unanswered probes: ETIMEDOUT.
 *
 * Context: softirq with bh_lock_sock(), or release_sock().
 */
void toytcp_keepalive_timer_handler(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long idle;

	if (timer_pending(&tsk->keepalive_timer) ||
	    !sock_flag(sk, SOCK_KEEPOPEN) ||
	    !((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return;
	/* Data in flight: the retransmission timer watches the peer. */
	if (tsk->snd_una != tsk->snd_nxt || tsk->send_head) {
		toytcp_reset_keepalive_timer(sk, tsk->keepidle);
		return;
	}
	idle = jiffies - tsk->rcv_tstamp;
	if (idle < tsk->keepidle) {
		toytcp_reset_keepalive_timer(sk, tsk->keepidle - idle);
		return;
	}
	if (tsk->probes_out >= tsk->keepcnt) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ABORTONTIMEOUT);
		toytcp_abort(sk, ETIMEDOUT);
		return;
	}
	toytcp_send_probe(sk);
	tsk->probes_out++;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_KEEPALIVEPROBES);
	toytcp_reset_keepalive_timer(sk, tsk->keepintvl);
}

/* One softirq entry point per timer: run the handler, or leave it to
 * toytcp_release_cb() while the user owns the socket.
 */
#define TOYTCP_TIMER_FN(name, field, bit)				\
static void toytcp_##name(struct timer_list *t)				\
{									\
	struct toytcp_sock *tsk = from_timer(tsk, t, field);		\
	struct sock *sk = &tsk->inet.sk;				\
									\
	bh_lock_sock(sk);						\
	if (!sock_owned_by_user(sk))					\
		toytcp_##name##_handler(sk);				\
	else if (!test_and_set_bit(bit, &tsk->deferred))		\
		sock_hold(sk);						\
	bh_unlock_sock(sk);						\
	sock_put(sk);							\
}

TOYTCP_TIMER_FN(retrans_timer, retrans_timer, TOYTCP_RETRANS_DEFERRED)
TOYTCP_TIMER_FN(tw_timer, tw_timer, TOYTCP_TW_DEFERRED)
TOYTCP_TIMER_FN(delack_timer, delack_timer, TOYTCP_DELACK_DEFERRED)
TOYTCP_TIMER_FN(keepalive_timer, keepalive_timer, TOYTCP_KEEPALIVE_DEFERRED)

/**
 * toytcp_release_cb() - run the work deferred while the user owned the socket
 * @sk: the socket
 *
 * Context: release_sock(), with sk->sk_lock.slock held.
 */
void toytcp_release_cb(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (test_and_clear_bit(TOYTCP_RETRANS_DEFERRED, &tsk->deferred)) {
		toytcp_retrans_timer_handler(sk);
		__sock_put(sk);
	}
	if (test_and_clear_bit(TOYTCP_TW_DEFERRED, &tsk->deferred)) {
		toytcp_tw_timer_handler(sk);
		__sock_put(sk);
	}
	if (test_and_clear_bit(TOYTCP_DELACK_DEFERRED, &tsk->deferred)) {
		toytcp_delack_timer_handler(sk);
		__sock_put(sk);
	}
	if (test_and_clear_bit(TOYTCP_KEEPALIVE_DEFERRED, &tsk->deferred)) {
		toytcp_keepalive_timer_handler(sk);
		__sock_put(sk);
	}
	/* Unless a segment sent since carried it. */
	if (test_and_clear_bit(TOYTCP_ACK_DEFERRED, &tsk->deferred) &&
	    tsk->rcv_unacked)
		toytcp_send_ack(sk);
}

void toytcp_init_timers(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	timer_setup(&tsk->retrans_timer, toytcp_retrans_timer, 0);
	timer_setup(&tsk->tw_timer, toytcp_tw_timer, 0);
	timer_setup(&tsk->delack_timer, toytcp_delack_timer, 0);
	timer_setup(&tsk->keepalive_timer, toytcp_keepalive_timer, 0);
}

/**
 * toytcp_clear_timers() - stop all timers, dropping their references
 * @sk: the socket
 *
 * A handler already running on another CPU waits for the sk lock and then
 * finds the socket closed.
 *
 * Context: sk lock held.
 */
void toytcp_clear_timers(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sk_stop_timer(sk, &tsk->retrans_timer);
	sk_stop_timer(sk, &tsk->tw_timer);
	sk_stop_timer(sk, &tsk->delack_timer);
	sk_stop_timer(sk, &tsk->keepalive_timer);
	tsk->ack_pending = false;
}
