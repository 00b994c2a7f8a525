// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the timers.  The send diagram's "connection state and timers"
 * box: the retransmission timer (RFC 6298, also resending SYN and SYN-ACK,
 * and probing a zero window) and the TIME-WAIT timer (2*MSL, also ending an
 * orphaned FIN-WAIT-2).
 *
 * A timer holds a socket reference while pending (sk_reset_timer()).  The
 * handlers run in softirq under bh_lock_sock(); when the user owns the
 * socket they set a bit in toytcp_sock::deferred and toytcp_release_cb()
 * runs them from release_sock(), as tcp_release_cb() does.
 */
#include "protocol.h"

/**
 * toytcp_rtt_sample() - fold one round-trip measurement into the RTO
 * @sk: the socket
 * @rtt_us: the measured round-trip time, microseconds
 *
 * RFC 6298 2.2 and 2.3 (alpha 1/8, beta 1/4, K 4), with a floor of
 * TOYTCP_MIN_RTO as Linux has (RFC 6298 2.4 asks for 1 s; Linux and most
 * stacks use 200 ms).
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
	tsk->rto = clamp_t(unsigned long, rto, TOYTCP_MIN_RTO, TOYTCP_MAX_RTO);
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

	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + when);
}

static unsigned int toytcp_max_retries(const struct sock *sk)
{
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		return READ_ONCE(toytcp_syn_retries);
	case TCP_SYN_RECV:
		return TOYTCP_SYNACK_RETRIES;
	default:
		return TOYTCP_RETRIES;
	}
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
	u32 flight;

	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN ||
	    timer_pending(&tsk->retrans_timer))
		return;
	head = skb_peek(&sk->sk_write_queue);
	if (!head)
		return;

	if (tsk->snd_una == tsk->snd_nxt) {
		if (!tsk->send_head)
			return;
		toytcp_send_probe(sk);
		if (tsk->backoff < 15)
			tsk->backoff++;
		toytcp_reset_retrans_timer(sk);
		return;
	}

	if (tsk->retries >= toytcp_max_retries(sk)) {
		WRITE_ONCE(sk->sk_err, READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT);
		sk_error_report(sk);
		toytcp_done(sk);
		return;
	}

	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_RTOTIMEOUTS);
	flight = toytcp_bytes_in_flight(tsk) / tsk->mss_cache;
	tsk->ssthresh = max_t(u32, flight / 2, 2);
	tsk->cwnd = 1;
	tsk->cwnd_cnt = 0;
	tsk->dupacks = 0;
	tsk->in_recovery = false;
	tsk->retries++;
	if (tsk->backoff < 15)
		tsk->backoff++;

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
		       msecs_to_jiffies(READ_ONCE(toytcp_tw_timeout_ms)));
}

static void toytcp_retrans_timer(struct timer_list *t)
{
	struct toytcp_sock *tsk = from_timer(tsk, t, retrans_timer);
	struct sock *sk = &tsk->inet.sk;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk))
		toytcp_retrans_timer_handler(sk);
	else if (!test_and_set_bit(TOYTCP_RETRANS_DEFERRED, &tsk->deferred))
		sock_hold(sk);
	bh_unlock_sock(sk);
	sock_put(sk);
}

static void toytcp_tw_timer(struct timer_list *t)
{
	struct toytcp_sock *tsk = from_timer(tsk, t, tw_timer);
	struct sock *sk = &tsk->inet.sk;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk))
		toytcp_tw_timer_handler(sk);
	else if (!test_and_set_bit(TOYTCP_TW_DEFERRED, &tsk->deferred))
		sock_hold(sk);
	bh_unlock_sock(sk);
	sock_put(sk);
}

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
}

void toytcp_init_timers(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	timer_setup(&tsk->retrans_timer, toytcp_retrans_timer, 0);
	timer_setup(&tsk->tw_timer, toytcp_tw_timer, 0);
}

/**
 * toytcp_clear_timers() - stop both timers, dropping their references
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
}
