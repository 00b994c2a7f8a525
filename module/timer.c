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
