// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: loss recovery (the model: net/ipv4/tcp_recovery.c, and the
 * recovery parts of tcp_input.c and tcp_output.c).
 *
 * Duplicate ACKs (RFC 5681 2) and SACK (RFC 6675) start fast recovery;
 * without SACK, NewReno (RFC 6582) resends one hole per partial ACK and
 * deflates the window at the end; limited transmit (RFC 3042) sends new
 * data on the first duplicate ACKs.  With SACK, RACK (RFC 8985 6) decides
 * which segments are lost from their send times, and a tail loss probe
 * (RFC 8985 7) makes the receiver answer before the RTO would.  The RTO
 * itself is rto.c; how much the window shrinks, cong.c.
 */
#include "protocol.h"

/* RACK's reordering window (RFC 8985 6.2): a quarter of the RTT. */
static u32 toytcp_reo_wnd(const struct toytcp_sock *tsk)
{
	return max_t(u32, tsk->srtt_us / 4, 250);
}

/**
 * toytcp_rack_update() - RACK: remember the send time of the newest
 * segment known delivered
 * @tsk: the socket
 * @cb: a segment just ACKed or SACKed, not retransmitted
 *
 * Context: sk lock held.
 */
void toytcp_rack_update(struct toytcp_sock *tsk, const struct toytcp_skb_cb *cb)
{
	sock_owned_by_me(&tsk->inet.sk);
	if ((s32)(cb->when - tsk->rack_time) > 0)
		tsk->rack_time = cb->when;
}

/* RFC 8985 6.2, simplified: a sent segment not SACKed is lost once a
 * segment sent more than a reordering window after it was delivered.
 * A retransmission gets a new send time, so a lost retransmission is
 * found the same way.
 */
static bool toytcp_rack_lost(const struct toytcp_sock *tsk,
			     const struct toytcp_skb_cb *cb)
{
	return !cb->sacked &&
	       (s32)(tsk->rack_time - cb->when) > (s32)toytcp_reo_wnd(tsk);
}

/**
 * toytcp_rack_lost_any() - does RACK see a lost segment?
 * @sk: a socket with SACK
 *
 * Context: sk lock held.
 * Return: true if the oldest unacknowledged segment is lost.
 */
bool toytcp_rack_lost_any(struct sock *sk)
{
	struct sk_buff *head = skb_peek(&sk->sk_write_queue);

	sock_owned_by_me(sk);
	return head && head != toytcp_sk(sk)->send_head &&
	       toytcp_rack_lost(toytcp_sk(sk), TOYTCP_SKB_CB(head));
}

/**
 * toytcp_retransmit_next() - resend lost segments during fast recovery
 * @sk: the socket
 *
 * With SACK: up to two segments RACK finds lost, oldest first (two per
 * ACK: each ACK says a segment left the network, and recovery must also
 * make up for the retransmissions that were lost).  Without SACK
 * (NewReno): the oldest unacknowledged segment, once per partial ACK.
 *
 * Context: sk lock held.
 */
void toytcp_retransmit_next(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;
	int budget = 2;

	sock_owned_by_me(sk);
	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

		if (skb == tsk->send_head || !budget)
			return;
		if (!tsk->sack_ok) {
			if (!toytcp_before(cb->seq, tsk->high_rxt) &&
			    !toytcp_transmit_skb(sk, skb))
				tsk->high_rxt = cb->end_seq;
			return;
		}
		if (toytcp_rack_lost(tsk, cb) && !toytcp_transmit_skb(sk, skb))
			budget--;
	}
}

/**
 * toytcp_enter_recovery() - fast retransmit: a segment was lost
 * @sk: the socket
 *
 * RFC 5681 3.2 and RFC 6582 (NewReno), or RFC 6675 with SACK: halve the
 * congestion window, resend the first hole, and remember where recovery
 * ends (@recover).
 *
 * Context: sk lock held.
 */
void toytcp_enter_recovery(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *head;

	sock_owned_by_me(sk);
	tsk->ssthresh = tsk->ca_ops->ssthresh(sk);
	tsk->cwnd = tsk->ssthresh + (tsk->sack_ok ? 0 : 3);
	tsk->cwnd_cnt = 0;
	tsk->recover = tsk->snd_nxt;
	tsk->in_recovery = true;
	tsk->high_rxt = tsk->snd_una;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_FASTRETRANS);
	if (tsk->sack_ok)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_SACKRECOVERY);
	/* Three duplicate ACKs say the oldest segment is lost. */
	head = skb_peek(&sk->sk_write_queue);
	if (tsk->sack_ok && head && head != tsk->send_head &&
	    !TOYTCP_SKB_CB(head)->sacked && !toytcp_rack_lost(tsk,
							 TOYTCP_SKB_CB(head)))
		toytcp_transmit_skb(sk, head);
	toytcp_retransmit_next(sk);
}

/**
 * toytcp_on_dupack() - a duplicate ACK (RFC 5681 2) arrived
 * @sk: the socket
 *
 * The third one, or (with SACK) three segments' worth of SACKed data above
 * the hole (RFC 6675 5), starts fast recovery; later ones inflate the
 * window (NewReno) or release the next hole (SACK).
 *
 * Context: sk lock held.
 */
void toytcp_on_dupack(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	tsk->dupacks++;
	if (tsk->in_recovery) {
		if (tsk->sack_ok) {
			toytcp_retransmit_next(sk);
			toytcp_send_one_new(sk);
		} else {
			tsk->cwnd++;
		}
		return;
	}
	if ((tsk->dupacks >= 3 ||
	     (tsk->sack_ok && (tsk->sacked_bytes >= 3 * tsk->mss_cache ||
			       toytcp_rack_lost_any(sk)))) &&
	    toytcp_after(tsk->snd_nxt, tsk->recover))
		toytcp_enter_recovery(sk);
	else if (tsk->dupacks < 3)
		toytcp_send_one_new(sk);	/* RFC 3042 */
}

/**
 * toytcp_recovery_ack() - new data was acknowledged during fast recovery
 * @sk: the socket, @in_recovery set
 * @segs: segments acknowledged, at least one
 *
 * RFC 6582 and RFC 6675: an ACK of everything up to @recover ends
 * recovery and deflates the window to ssthresh; a partial ACK says the
 * next hole was lost too, which goes out again (NewReno also takes what
 * was acknowledged off the inflated window, plus one segment).
 *
 * Context: sk lock held.
 */
void toytcp_recovery_ack(struct sock *sk, u32 segs)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!toytcp_before(tsk->snd_una, tsk->recover)) {
		/* Full ACK: recovery is over, deflate. */
		tsk->in_recovery = false;
		tsk->cwnd = tsk->ssthresh;
		return;
	}
	/* Partial ACK: the next hole was lost too. */
	if (!tsk->sack_ok)
		tsk->cwnd = max_t(u32, tsk->cwnd - min(segs, tsk->cwnd), 1) + 1;
	if (toytcp_before(tsk->high_rxt, tsk->snd_una))
		tsk->high_rxt = tsk->snd_una;
	toytcp_retransmit_next(sk);
}

/**
 * toytcp_send_one_new() - send one new segment beyond the congestion window
 * @sk: the socket
 *
 * Limited transmit (RFC 3042) on the first duplicate ACKs, and one new
 * segment per duplicate ACK during recovery: each says a segment left the
 * network, and new data keeps the ACKs (and RACK's evidence) coming.
 *
 * Context: sk lock held.
 */
void toytcp_send_one_new(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (tsk->send_head &&
	    toytcp_after(TOYTCP_SKB_CB(tsk->send_head)->end_seq, tsk->snd_nxt))
		__toytcp_write_xmit(sk, true);
}

/*
 * The probe timeout (RFC 8985 7.2), or 0 when no probe is due: no SACK, no
 * RTT sample yet, after a timeout, outside ESTABLISHED, or when the RTO
 * comes first.
 */
static unsigned long toytcp_pto(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long rto = min_t(unsigned long,
				  (unsigned long)tsk->rto << tsk->backoff,
				  TOYTCP_MAX_RTO);
	unsigned long pto;

	if (!tsk->sack_ok || !tsk->srtt_us || tsk->backoff ||
	    sk->sk_state != TCP_ESTABLISHED)
		return 0;
	pto = max(usecs_to_jiffies(2 * tsk->srtt_us), msecs_to_jiffies(10));
	if (toytcp_bytes_in_flight(tsk) <= tsk->mss_cache)
		pto += msecs_to_jiffies(TOYTCP_DELACK_MAX_MS);
	return pto < rto ? pto : 0;
}

/**
 * toytcp_rearm_timer() - an ACK showed progress: arm a loss probe, or the RTO
 * @sk: a socket with data in flight
 *
 * RFC 8985 7: with SACK, after two smoothed RTTs without an ACK (at least
 * 10 ms; plus the peer's delayed-ACK time when one segment is out) send a
 * probe that makes the receiver answer, rather than wait for the RTO.
 * Unlike RFC 8985 7.2 this also runs during fast recovery: Linux's receiver
 * coalesces the ACKs of a recovery into one (SACK compression), and when
 * that one is lost or late nothing else would come before the RTO (six
 * 200 ms stalls per 16 MB at 1% loss towards Linux, before this).
 *
 * Context: sk lock held.
 */
void toytcp_rearm_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long pto = toytcp_pto(sk);

	sock_owned_by_me(sk);
	if (!pto) {
		toytcp_reset_retrans_timer(sk);
		return;
	}
	tsk->tlp_armed = true;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + pto);
}

/**
 * toytcp_schedule_loss_probe() - new data went out: probe earlier?
 * @sk: a socket with data in flight
 *
 * RFC 8985 7.2: the probe timeout also (re)starts when new data is sent,
 * but as tcp_schedule_loss_probe() never later than the RTO already
 * pending.  Without this, an ACK that left one segment in flight armed the
 * RTO (a probe then would wait for a delayed ACK, longer than the RTO);
 * the segments sent next did not change that, and when the ACK for them
 * was lost, the connection sat out the RTO.
 *
 * Context: sk lock held.
 */
void toytcp_schedule_loss_probe(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long pto = toytcp_pto(sk);

	sock_owned_by_me(sk);
	if (!pto)
		return;
	if (test_bit(TOYTCP_RETRANS_DEFERRED, &tsk->deferred) ||
	    (timer_pending(&tsk->retrans_timer) &&
	     time_before_eq(tsk->retrans_timer.expires, jiffies + pto)))
		return;
	tsk->tlp_armed = true;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + pto);
}

/**
 * toytcp_send_loss_probe() - the loss probe timeout expired (RFC 8985 7.3)
 * @sk: a socket with data in flight
 *
 * Sends one new segment if the peer's window allows, else resends the
 * last segment sent; either makes the receiver send an ACK whose SACK
 * blocks show what is missing.
 *
 * Context: sk lock held.
 */
void toytcp_send_loss_probe(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff_head *q = &sk->sk_write_queue;
	u32 nxt = tsk->snd_nxt;
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LOSSPROBES);
	toytcp_send_one_new(sk);
	if (tsk->snd_nxt != nxt)
		return;
	if (!tsk->send_head)
		skb = skb_peek_tail(q);
	else if (!skb_queue_is_first(q, tsk->send_head))
		skb = skb_queue_prev(q, tsk->send_head);
	else
		return;
	if (!skb)
		return;
	/* The last segment sent, not the first of its skb. */
	if (skb->len > tsk->mss_cache &&
	    !toytcp_fragment(sk, skb, rounddown(skb->len - 1,
						tsk->mss_cache)))
		skb = skb->next;
	toytcp_transmit_skb(sk, skb);
}
