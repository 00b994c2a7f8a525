// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: keepalive, RFC 1122 4.2.3.6 (the model: tcp_keepalive_timer()
 * in net/ipv4/tcp_timer.c).
 *
 * With SO_KEEPALIVE, a connection idle for TCP_KEEPIDLE sends a probe (an
 * ACK with an old sequence number, which the peer must answer) every
 * TCP_KEEPINTVL; TCP_KEEPCNT probes without an answer end it with
 * ETIMEDOUT.
 */
#include "protocol.h"

/**
 * toytcp_reset_keepalive_timer() - (re)arm the keepalive timer
 * @sk: the socket
 * @len: jiffies from now
 *
 * Context: sk lock held.
 */
void toytcp_reset_keepalive_timer(struct sock *sk, unsigned long len)
{
	sock_owned_by_me(sk);
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

	sock_owned_by_me(sk);
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

	sock_owned_by_me(sk);
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
