// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: TIME-WAIT (RFC 9293 3.6.1; the models: tcp_time_wait() in
 * net/ipv4/tcp_minisocks.c, the FIN-WAIT-2 part of tcp_keepalive_timer()
 * in tcp_timer.c).
 *
 * A connection closed on both sides waits 2*MSL (tw_timeout_ms) in
 * TIME-WAIT, in its own socket (Linux uses a smaller timewait socket),
 * and answers a retransmitted FIN meanwhile; no more of them than
 * net.toytcp.max_tw_buckets per namespace.  A new SYN from the peer may
 * end it early and open the next connection on the same 4-tuple
 * (toytcp_tw_reopen(), as tcp_timewait_state_process()).  An orphan in
 * FIN-WAIT-2, whose user closed it and whose peer never sends its FIN,
 * waits as long on the same timer and then goes.
 */
#include <net/ip.h>

#include "protocol.h"

/**
 * toytcp_time_wait() - enter TIME-WAIT for 2*MSL
 * @sk: the socket
 *
 * As tcp_time_wait(): when the namespace holds net.toytcp.max_tw_buckets
 * sockets in TIME-WAIT already, the socket closes at once instead
 * (TWOverflow), as Linux's does when inet_twsk_alloc() refuses.  One that
 * is in TIME-WAIT already (the peer's FIN came again) restarts its timer.
 * From FIN-WAIT-2 the peer's FIN is acknowledged first, as tcp_fin()
 * does before tcp_time_wait(): the ACK that would follow finds the socket
 * closed, and the peer would sit out an RTO in LAST-ACK and then meet a
 * reset.
 *
 * Context: sk lock held.
 */
void toytcp_time_wait(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));

	sock_owned_by_me(sk);
	if (sk->sk_state != TCP_TIME_WAIT &&
	    atomic_read(&tn->tw_count) >= READ_ONCE(tn->sysctl.max_tw_buckets)) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_TWOVERFLOW);
		if (sk->sk_state == TCP_FIN_WAIT2)
			toytcp_send_ack(sk);
		toytcp_done(sk);
		return;
	}
	toytcp_set_state(sk, TCP_TIME_WAIT);
	/* Counted as TIME-WAIT now, no longer as an orphan (as Linux's
	 * timewait socket replaces the orphan).
	 */
	if (tsk->orphan_counted) {
		atomic_dec(&tn->orphans);
		tsk->orphan_counted = false;
	}
	sk_stop_timer(sk, &tsk->retrans_timer);
	sk_reset_timer(sk, &tsk->tw_timer, jiffies +
		       msecs_to_jiffies(toytcp_param(sk, tw_timeout_ms)));
}

/**
 * toytcp_tw_reopen() - a SYN for a connection in TIME-WAIT: a new one?
 * @sk: the socket the segment's 4-tuple found, its sk lock held and not
 *	owned by the user
 * @skb: the segment, TOYTCP_SKB_CB() filled in
 *
 * RFC 1122 4.2.2.13: a SYN whose sequence number is above RCV.NXT of the
 * connection in TIME-WAIT opens a new connection, whose ISN is above
 * everything the old one sent; RFC 6191: with timestamps, so does one
 * whose TSval is newer than TS.Recent, whatever its sequence number.  As
 * tcp_timewait_state_process() (TCP_TW_SYN): TIME-WAIT ends, and the SYN
 * goes to the port's listener as a fresh one, TOYTCP_TW_SYN set and the
 * ISN, SND.NXT + 65537, in @tw_isn.  A server that closes first (HTTP/1.0,
 * many RPC servers) meets this whenever a client reuses a port; without
 * it the client's SYN gets an ACK, the client a reset and a retry a
 * second later.  Anything else (an old duplicate SYN, no listener, a
 * TSval PAWS rejects) is left to the state machine, which answers with an
 * ACK.
 *
 * Context: softirq (the receive hook), @sk's sk lock held.
 * Return: the listener, with a reference, to hand @skb to; NULL to
 * process @skb on @sk as usual.
 */
struct sock *toytcp_tw_reopen(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	bool newer_ts;
	struct sock *lsk;

	sock_owned_by_me(sk);
	if (sk->sk_state != TCP_TIME_WAIT ||
	    (cb->flags & (TOYTCP_SYN | TOYTCP_ACK | TOYTCP_RST)) != TOYTCP_SYN)
		return NULL;
	toytcp_parse_ts(sk, skb);
	if (cb->saw_ts && !toytcp_paws_ok(tsk, cb->tsval, 0))
		return NULL;
	newer_ts = cb->saw_ts && (s32)(tsk->ts_recent - cb->tsval) < 0;
	if (!toytcp_after(cb->seq, tsk->rcv_nxt) && !newer_ts)
		return NULL;
	lsk = toytcp_lookup_listener(sock_net(sk), iph->saddr, th->source,
				     iph->daddr, th->dest, inet_iif(skb));
	if (!lsk)
		return NULL;
	cb->tw_isn = tsk->snd_nxt + 65535 + 2 ? : 1;
	cb->flags |= TOYTCP_TW_SYN;
	toytcp_done(sk);
	return lsk;
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
	sock_owned_by_me(sk);
	if (timer_pending(&toytcp_sk(sk)->tw_timer))
		return;
	if (sk->sk_state == TCP_TIME_WAIT ||
	    (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)))
		toytcp_done(sk);
}

/**
 * toytcp_fin_wait2_timeout() - an orphan entered FIN-WAIT-2: wait for the
 * peer's FIN no longer than TIME-WAIT lasts
 * @sk: the socket, in FIN-WAIT-2 with SOCK_DEAD set
 *
 * Context: sk lock held.
 */
void toytcp_fin_wait2_timeout(struct sock *sk)
{
	sock_owned_by_me(sk);
	sk_reset_timer(sk, &toytcp_sk(sk)->tw_timer, jiffies +
		       msecs_to_jiffies(toytcp_param(sk, tw_timeout_ms)));
}
