// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: RTT estimation and the retransmission timeout, RFC 6298 (the
 * models: tcp_rtt_estimator() and tcp_set_rto() in net/ipv4/tcp_input.c,
 * tcp_retransmit_timer() in tcp_timer.c).
 *
 * One timer per socket, @retrans_timer, serves the RTO (also resending the
 * SYN and the SYN-ACK), the tail loss probe and RACK's reordering timer
 * (recovery.c) and the persist timer (persist.c);
 * toytcp_retrans_timer_handler() tells them apart.  At
 * the RTO the congestion window collapses to one segment, the timeout
 * backs off, and sending starts again from the oldest unacknowledged
 * segment (go-back-N); too many tries end the connection.
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
 * A valid sample ends the backoff (RFC 6298 5.7, as tcp_ack_update_rtt()):
 * an ACK that may answer a retransmission (Karn) leaves it.
 *
 * Context: sk lock held.
 */
void toytcp_rtt_sample(struct sock *sk, long rtt_us)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 r = max_t(long, rtt_us, 1);
	unsigned long rto;

	sock_owned_by_me(sk);
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
	tsk->backoff = 0;
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

	sock_owned_by_me(sk);
	tsk->tlp_armed = false;
	tsk->reo_armed = false;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + when);
}

/**
 * toytcp_orphan_retries() - the tries an orphan gets, as tcp_orphan_retries()
 * @sk: a socket its user closed
 *
 * net.toytcp.orphan_retries; its default 0 means 8 (more than 100 s at
 * the minimum RTO) while the RTO has not reached its maximum, and 0 once
 * it has, or once an ICMP error told that the peer is unreachable.
 *
 * Context: sk lock held.
 * Return: tries, at most TOYTCP_RETRIES_MAX.
 */
unsigned int toytcp_orphan_retries(const struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	int retries = READ_ONCE(toytcp_pernet(sock_net(sk))->sysctl.orphan_retries);
	bool alive = ((unsigned long)tsk->rto << tsk->backoff) < TOYTCP_MAX_RTO;

	sock_owned_by_me(sk);
	if (READ_ONCE(sk->sk_err_soft) && !alive)
		retries = 0;
	if (retries == 0 && alive)
		retries = TOYTCP_ORPHAN_RETRIES;
	return min_t(unsigned int, retries, TOYTCP_RETRIES_MAX);
}

/**
 * toytcp_max_retries() - how many tries before the connection fails
 * @sk: the socket
 *
 * The counters are 8 bits wide: a limit above TOYTCP_RETRIES_MAX (the
 * module parameters refuse one, af_toytcp.c) would never be reached.
 *
 * Context: sk lock held.
 * Return: syn_retries in SYN-SENT, TOYTCP_SYNACK_RETRIES in SYN-RECEIVED,
 * retries (for an orphan at most toytcp_orphan_retries()) otherwise.
 */
unsigned int toytcp_max_retries(const struct sock *sk)
{
	unsigned int max;

	sock_owned_by_me(sk);
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		max = toytcp_param(sk, syn_retries);
		break;
	case TCP_SYN_RECV:
		max = TOYTCP_SYNACK_RETRIES;
		break;
	default:
		/* An orphan has nobody waiting for it: give up sooner, as
		 * Linux's tcp_orphan_retries does.
		 */
		max = toytcp_param(sk, retries);
		if (sock_flag(sk, SOCK_DEAD))
			max = min(max, toytcp_orphan_retries(sk));
	}
	return min(max, TOYTCP_RETRIES_MAX);
}

/**
 * toytcp_out_of_resources() - reset an orphan the host cannot afford
 * @sk: an orphan whose retransmission or persist timer fired
 *
 * As tcp_out_of_resources(): too many orphans in the namespace, or the
 * host's socket memory above "max" while this one holds a send queue
 * (toytcp_check_oom(), judged harder after an ICMP error): the orphan
 * is reset and goes (AbortOnMemory).
 *
 * Context: sk lock held.
 * Return: true when @sk was reset (and may be gone).
 */
bool toytcp_out_of_resources(struct sock *sk)
{
	sock_owned_by_me(sk);
	if (!toytcp_check_oom(sk, READ_ONCE(sk->sk_err_soft) ? 1 : 0))
		return false;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ABORTONMEMORY);
	toytcp_send_active_reset(sk, GFP_ATOMIC);
	toytcp_done(sk);
	return true;
}

/**
 * toytcp_write_err() - too many tries without an answer
 * @sk: the socket
 *
 * The connection fails with ETIMEDOUT (or the soft error an ICMP message
 * left).
 *
 * Context: sk lock held.
 */
void toytcp_write_err(struct sock *sk)
{
	sock_owned_by_me(sk);
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
 * back: the persist timer (toytcp_probe_timer()).  With a loss probe
 * armed (recovery.c): the probe; with RACK's reordering timer armed
 * (recovery.c), RACK's loss detection.
 *
 * Context: softirq with bh_lock_sock(), or release_sock().
 */
void toytcp_retrans_timer_handler(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *head;

	sock_owned_by_me(sk);
	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN ||
	    timer_pending(&tsk->retrans_timer))
		return;
	head = skb_peek(&sk->sk_write_queue);
	if (!head)
		return;

	if (tsk->reo_armed) {
		tsk->reo_armed = false;
		if (tsk->snd_una != tsk->snd_nxt) {
			toytcp_rack_reo_timer(sk);	/* recovery.c */
			return;
		}
	}
	if (tsk->tlp_armed && tsk->snd_una != tsk->snd_nxt) {
		/* One probe; if that goes unanswered too, the RTO. */
		toytcp_send_loss_probe(sk);
		toytcp_reset_retrans_timer(sk);
		return;
	}
	tsk->tlp_armed = false;

	if (tsk->snd_una == tsk->snd_nxt) {
		toytcp_probe_timer(sk);		/* persist.c */
		return;
	}

	if (sock_flag(sk, SOCK_DEAD) && toytcp_out_of_resources(sk))
		return;
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
	tsk->undo_ok = false;		/* no D-SACK undo after a timeout */
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
