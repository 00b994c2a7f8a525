// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the timers' plumbing (the models: the softirq half of
 * net/ipv4/tcp_timer.c, tcp_release_cb() in tcp_output.c).  The send
 * diagram's "connection state and timers" box has four timers: the
 * retransmission timer (rto.c; also the loss probe, recovery.c, and the
 * persist timer, persist.c), the TIME-WAIT timer (timewait.c), the
 * delayed-ACK timer (delack.c) and the keepalive timer (keepalive.c).
 * Their logic is in those files; here are their softirq entry points,
 * the deferral, setting them up and stopping them.
 *
 * A timer holds a socket reference while pending (sk_reset_timer()).  The
 * handlers run in softirq under bh_lock_sock(); when the user owns the
 * socket they set a bit in toytcp_sock::deferred and toytcp_release_cb()
 * runs them from release_sock(), as tcp_release_cb() does.
 */
#include "protocol.h"
#include "trace.h"

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

	sock_owned_by_me(sk);
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
	if (test_and_clear_bit(TOYTCP_MTU_REDUCED_DEFERRED, &tsk->deferred)) {
		toytcp_mtu_reduced(sk);		/* icmp.c */
		__sock_put(sk);
	}
	if (test_and_clear_bit(TOYTCP_ICMP_ERR_DEFERRED, &tsk->deferred)) {
		toytcp_icmp_err_deferred(sk);	/* icmp.c */
		__sock_put(sk);
	}
	toytcp_send_deferred_ack(sk);
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

	sock_owned_by_me(sk);
	sk_stop_timer(sk, &tsk->retrans_timer);
	sk_stop_timer(sk, &tsk->tw_timer);
	sk_stop_timer(sk, &tsk->delack_timer);
	sk_stop_timer(sk, &tsk->keepalive_timer);
	tsk->ack_pending = false;
}
