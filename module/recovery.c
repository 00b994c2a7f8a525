// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: loss recovery (the model: net/ipv4/tcp_recovery.c, and the
 * recovery parts of tcp_input.c and tcp_output.c).
 *
 * Duplicate ACKs (RFC 5681 2) and SACK (RFC 6675) start fast recovery;
 * without SACK, NewReno (RFC 6582) resends one hole per partial ACK and
 * deflates the window at the end; limited transmit (RFC 3042) sends new
 * data on the first duplicate ACKs.  With SACK, RACK (RFC 8985 6) and
 * RFC 6675's IsLost() decide which segments are lost, a reordering timer
 * (RFC 8985 6.3) waits out the reordering window where no ACK may come,
 * and a tail loss probe (RFC 8985 7) makes the receiver answer before the
 * RTO would.  A recovery whose retransmissions the peer all reports
 * received twice (D-SACK, RFC 2883) was needless: its window reduction
 * is undone, as Linux's tcp_try_undo_dsack().  The RTO itself is rto.c;
 * how much the window shrinks, cong.c.
 *
 * Reordering: once the peer is seen to receive a segment out of order,
 * RACK alone decides what is lost, as Linux's tcp_time_to_recover() asks
 * only RACK: three duplicate ACKs, or three segments SACKed above a hole,
 * are no longer a loss by themselves.  On a path that reorders deeper
 * than that (veth, between two CPUs' backlog queues) they resent, and
 * halved the window for, segments that were only late.  A D-SACK widens
 * the reordering window (RFC 8985 6.2 step 4).
 */
#include "protocol.h"

#define TOYTCP_DUPTHRESH	3	/* RFC 6675 DupThresh */

static u32 toytcp_now_us(void)
{
	return (u32)div_u64(ktime_get_ns(), NSEC_PER_USEC);
}

/*
 * RACK's reordering window (RFC 8985 6.2 step 4): a quarter of the RTT
 * times @reo_wnd_mult, at most the RTT; none in recovery or with DupThresh
 * segments SACKed, until the peer is seen to receive out of order.
 * (RFC 8985 starts from the minimum RTT; toytcp keeps no minimum and
 * starts from the smoothed one.)
 */
static u32 toytcp_reo_wnd(const struct toytcp_sock *tsk)
{
	if (!tsk->reord_seen &&
	    (tsk->in_recovery ||
	     tsk->sacked_bytes >= TOYTCP_DUPTHRESH * tsk->mss_cache))
		return 0;
	return max_t(u32, min_t(u32, tsk->srtt_us / 4 * tsk->reo_wnd_mult,
				tsk->srtt_us), 250);
}

/*
 * Do DupThresh's rules (RFC 5681's third duplicate ACK, RFC 6675's
 * IsLost()) still find losses?  Not with SACK once the peer was seen to
 * receive out of order: then RACK alone does, with its reordering window.
 */
static bool toytcp_dupthresh_rules(const struct toytcp_sock *tsk)
{
	return !tsk->sack_ok || !tsk->reord_seen;
}

/*
 * RFC 8985 6.2 step 4: a D-SACK says a retransmission was needless, so the
 * reordering window was too short: a quarter RTT more, once per round
 * trip, kept for the next 16 recoveries.
 */
static void toytcp_rack_dsack_seen(struct toytcp_sock *tsk)
{
	if (tsk->dsack_round_on)
		return;
	tsk->dsack_round_on = true;
	tsk->dsack_round = tsk->snd_nxt;
	if (tsk->reo_wnd_mult < 4)	/* 4 quarters: the whole RTT */
		tsk->reo_wnd_mult++;
	tsk->reo_wnd_persist = 16;
}

/**
 * toytcp_rack_una_moved() - SND.UNA advanced
 * @tsk: the socket
 *
 * RFC 8985 6.2 step 4: past @dsack_round, the next D-SACK counts again
 * (cleared here, so that the comparison never sees a wrapped sequence
 * number).
 *
 * Context: sk lock held.
 */
void toytcp_rack_una_moved(struct toytcp_sock *tsk)
{
	sock_owned_by_me(&tsk->inet.sk);
	if (tsk->dsack_round_on &&
	    !toytcp_before(tsk->snd_una, tsk->dsack_round))
		tsk->dsack_round_on = false;
}

/* RFC 8985 6.2 step 4: a recovery ended; 16 without a D-SACK reset it. */
static void toytcp_rack_recovery_done(struct toytcp_sock *tsk)
{
	if (tsk->reo_wnd_persist && --tsk->reo_wnd_persist)
		return;
	tsk->reo_wnd_mult = 1;
}

/* RFC 8985 6.2 RACK_sent_after(): was (t1, seq1) sent after (t2, seq2)? */
static bool toytcp_rack_sent_after(u32 t1, u32 seq1, u32 t2, u32 seq2)
{
	return (s32)(t1 - t2) > 0 || (t1 == t2 && toytcp_after(seq1, seq2));
}

/**
 * toytcp_rack_update() - RACK: remember the newest segment known delivered
 * @tsk: the socket
 * @cb: a segment just ACKed or SACKed, not retransmitted
 *
 * RFC 8985 6.2 step 2: its send time, end and round-trip time.
 *
 * Context: sk lock held.
 */
void toytcp_rack_update(struct toytcp_sock *tsk, const struct toytcp_skb_cb *cb)
{
	sock_owned_by_me(&tsk->inet.sk);
	if (toytcp_rack_sent_after(cb->when, cb->end_seq, tsk->rack_time,
				   tsk->rack_end_seq)) {
		tsk->rack_time = cb->when;
		tsk->rack_end_seq = cb->end_seq;
		tsk->rack_rtt_us = toytcp_now_us() - cb->when;
	}
}

/*
 * RFC 8985 6.2 RACK_detect_loss() for one segment: sent before the newest
 * segment delivered, it is lost once the RTT of that one and a reordering
 * window have passed since it left.  Returns the microseconds still to
 * wait, 0 when it is lost, or -1 when RACK cannot tell (SACKed, or sent
 * after).  A retransmission gets a new send time, so a lost
 * retransmission is found the same way.
 */
static s32 toytcp_rack_wait(const struct toytcp_sock *tsk,
			    const struct toytcp_skb_cb *cb, u32 now, u32 reo)
{
	s32 left;

	if (cb->sacked ||
	    !toytcp_rack_sent_after(tsk->rack_time, tsk->rack_end_seq,
				    cb->when, cb->end_seq))
		return -1;
	left = (s32)(cb->when + tsk->rack_rtt_us + reo - now);
	return max(left, 0);
}

static bool toytcp_rack_lost(const struct toytcp_sock *tsk,
			     const struct toytcp_skb_cb *cb)
{
	return !toytcp_rack_wait(tsk, cb, toytcp_now_us(),
				 toytcp_reo_wnd(tsk));
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

/*
 * RFC 8985 6.3: how long until RACK would call a segment lost that it
 * cannot call lost yet (within the reordering window), in us; 0 if none.
 * Where no further ACK comes, the reordering timer then finds it lost.
 * The walk stops at the first segment sent once and after the newest one
 * delivered: all after it in the queue were sent later (Linux's tsorted
 * list gives the same stop).
 */
static u32 toytcp_rack_reo_timeout(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 now = toytcp_now_us(), reo = toytcp_reo_wnd(tsk), timeout = 0;
	struct sk_buff *skb;

	if (!tsk->sack_ok || !tsk->sacked_bytes)
		return 0;
	skb_queue_walk(&sk->sk_write_queue, skb) {
		const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
		s32 left;

		if (skb == tsk->send_head ||
		    !toytcp_before(cb->seq, tsk->high_sack))
			break;
		left = toytcp_rack_wait(tsk, cb, now, reo);
		if (left < 0 && !cb->sacked && !cb->retrans)
			break;
		if (left > 0)
			timeout = max_t(u32, timeout, left);
		/* Lost already, outside recovery: an ACK that moved SND.UNA
		 * and SACKed above it (Linux's SACK compression), where no
		 * duplicate ACK asked RACK.  Find it at once.
		 */
		else if (!left && !tsk->in_recovery)
			timeout = max_t(u32, timeout, 1);
	}
	return timeout;
}

/**
 * toytcp_retransmit_next() - resend lost segments during fast recovery
 * @sk: the socket
 *
 * With SACK: up to two lost segments, oldest first (two per ACK: each ACK
 * says a segment left the network, and recovery must also make up for
 * the retransmissions that were lost).  Lost is what RACK finds lost, or,
 * not resent yet in this recovery (at or above @high_rxt), what RFC 6675
 * IsLost() finds: more than (DupThresh - 1) * SMSS bytes SACKed above it
 * (until the peer is seen to reorder: toytcp_dupthresh_rules()).
 * A hole is so resent once, in order; again only if RACK finds the
 * retransmission lost.  Without SACK (NewReno): the oldest
 * unacknowledged segment, once per partial ACK.
 *
 * Context: sk lock held.
 */
void toytcp_retransmit_next(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 now = toytcp_now_us(), reo = toytcp_reo_wnd(tsk);
	u32 sacked_below = 0;
	struct sk_buff *skb;
	int budget = 2;

	sock_owned_by_me(sk);
	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
		bool lost;

		if (skb == tsk->send_head || !budget)
			return;
		if (!tsk->sack_ok) {
			if (!toytcp_before(cb->seq, tsk->high_rxt) &&
			    !toytcp_transmit_skb(sk, skb))
				tsk->high_rxt = cb->end_seq;
			return;
		}
		if (!toytcp_before(cb->seq, tsk->high_sack))
			return;		/* nothing SACKed above */
		if (cb->sacked) {
			sacked_below += cb->end_seq - cb->seq;
			continue;
		}
		lost = !toytcp_rack_wait(tsk, cb, now, reo) ||
		       (toytcp_dupthresh_rules(tsk) &&
			!toytcp_before(cb->seq, tsk->high_rxt) &&
			tsk->sacked_bytes - sacked_below >
			(TOYTCP_DUPTHRESH - 1) * tsk->mss_cache);
		if (lost && !toytcp_transmit_skb(sk, skb)) {
			budget--;
			if (toytcp_after(cb->end_seq, tsk->high_rxt))
				tsk->high_rxt = cb->end_seq;
		}
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
	/* What to restore if the D-SACKs show it was needless. */
	tsk->prior_cwnd = tsk->cwnd;
	tsk->prior_ssthresh = tsk->ssthresh;
	tsk->undo_marker = tsk->snd_una;
	tsk->undo_retrans = 0;
	tsk->undo_ok = tsk->sack_ok;
	tsk->ssthresh = tsk->ca_ops->ssthresh(sk);
	tsk->cwnd = tsk->ssthresh + (tsk->sack_ok ? 0 : 3);
	tsk->cwnd_cnt = 0;
	tsk->recover = tsk->snd_nxt;
	tsk->in_recovery = true;
	tsk->high_rxt = tsk->snd_una;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_FASTRETRANS);
	if (tsk->sack_ok)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_SACKRECOVERY);
	/* Three duplicate ACKs, or RACK, say the oldest segment is lost. */
	head = skb_peek(&sk->sk_write_queue);
	if (tsk->sack_ok && head && head != tsk->send_head &&
	    !TOYTCP_SKB_CB(head)->sacked && !toytcp_transmit_skb(sk, head))
		tsk->high_rxt = TOYTCP_SKB_CB(head)->end_seq;
	toytcp_retransmit_next(sk);
}

/*
 * May a loss start fast recovery?  Without SACK, RFC 6582 3.2 step 1:
 * only once the cumulative ACK covers more than @recover, for duplicate
 * ACKs at the recovery point may answer the last recovery's
 * retransmissions (as Linux holds Reno's recovery until something above
 * high_seq is ACKed).  With SACK, which tells them apart, once new data
 * went out since the last recovery or timeout.
 */
static bool toytcp_may_recover(const struct toytcp_sock *tsk)
{
	if (!tsk->sack_ok)
		return toytcp_after(tsk->snd_una, tsk->recover);
	return toytcp_after(tsk->snd_nxt, tsk->recover);
}

/**
 * toytcp_on_dupack() - a duplicate ACK (RFC 5681 2) arrived
 * @sk: the socket
 *
 * The third one, or (with SACK) three segments' worth of SACKed data above
 * the hole (RFC 6675 5), starts fast recovery; once the peer was seen to
 * reorder, only a loss RACK finds does.  Later ones inflate the window
 * (NewReno) or release the next hole (SACK).
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
	if ((toytcp_dupthresh_rules(tsk) ?
	     tsk->dupacks >= TOYTCP_DUPTHRESH ||
	     (tsk->sack_ok &&
	      (tsk->sacked_bytes >= TOYTCP_DUPTHRESH * tsk->mss_cache ||
	       toytcp_rack_lost_any(sk))) :
	     toytcp_rack_lost_any(sk)) &&
	    toytcp_may_recover(tsk))
		toytcp_enter_recovery(sk);
	else if (tsk->dupacks < TOYTCP_DUPTHRESH)
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
		toytcp_rack_recovery_done(tsk);
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
 * Sooner than either, RACK's reordering timer (RFC 8985 6.3), when a
 * segment will be lost once its reordering window has passed.
 *
 * Context: sk lock held.
 */
void toytcp_rearm_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long pto = toytcp_pto(sk);
	u32 reo = toytcp_rack_reo_timeout(sk);

	sock_owned_by_me(sk);
	if (reo) {
		/* As tcp_rack_reo_timeout(): a little slack, so that the
		 * timer does not fire a jiffy before the window closes.
		 */
		unsigned long when = usecs_to_jiffies(reo) + TCP_TIMEOUT_MIN;
		unsigned long rto = min_t(unsigned long,
					  (unsigned long)tsk->rto << tsk->backoff,
					  TOYTCP_MAX_RTO);

		if (when < (pto ? : rto)) {
			tsk->tlp_armed = false;
			tsk->reo_armed = true;
			sk_reset_timer(sk, &tsk->retrans_timer, jiffies + when);
			return;
		}
	}
	if (!pto) {
		toytcp_reset_retrans_timer(sk);
		return;
	}
	tsk->tlp_armed = true;
	tsk->reo_armed = false;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + pto);
}

/**
 * toytcp_rack_reo_timer() - RACK's reordering timer expired (RFC 8985 6.3)
 * @sk: a socket with data in flight
 *
 * No ACK came while the reordering window passed: what RACK now finds
 * lost starts fast recovery, or during one goes again.
 *
 * Context: sk lock held (toytcp_retrans_timer_handler()).
 */
void toytcp_rack_reo_timer(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (tsk->in_recovery)
		toytcp_retransmit_next(sk);
	else if (toytcp_rack_lost_any(sk) && toytcp_may_recover(tsk))
		toytcp_enter_recovery(sk);
	toytcp_rearm_timer(sk);
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
	tsk->reo_armed = false;
	sk_reset_timer(sk, &tsk->retrans_timer, jiffies + pto);
}

/**
 * toytcp_send_loss_probe() - the loss probe timeout expired (RFC 8985 7.3)
 * @sk: a socket with data in flight
 *
 * Sends one new segment if the peer's window allows, else resends the
 * last segment sent that the peer has not SACKed; either makes the
 * receiver send an ACK whose SACK blocks show what is missing.
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
	while (skb && TOYTCP_SKB_CB(skb)->sacked)
		skb = skb_queue_is_first(q, skb) ? NULL : skb_queue_prev(q, skb);
	if (!skb)
		return;
	/* The last segment sent, not the first of its skb. */
	if (skb->len > tsk->mss_cache &&
	    !toytcp_fragment(sk, skb, rounddown(skb->len - 1,
						tsk->mss_cache)))
		skb = skb->next;
	if (!toytcp_transmit_skb(sk, skb)) {
		tsk->tlp_end = TOYTCP_SKB_CB(skb)->end_seq;
		tsk->tlp_end_on = true;
	}
}

/**
 * toytcp_dsack_rcvd() - the peer reports a segment it received twice
 * @sk: a socket with SACK
 * @start: the D-SACK block's first sequence number (RFC 2883)
 * @end: and the one after its last
 *
 * As tcp_check_dsack() and tcp_sacktag_one(): a duplicate of what the last
 * recovery resent says that retransmission was needless.  Acknowledged
 * data is gone from the queue: one block counts one retransmission, as
 * Linux counts it; in the queue, the retransmitted segments it covers
 * count.  When every retransmission of that recovery was needless, the
 * window reduction is undone (as tcp_try_undo_dsack()): the segment was
 * late (reordered), not lost.
 *
 * Context: sk lock held.
 */
void toytcp_dsack_rcvd(struct sock *sk, u32 start, u32 end)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	/* As tcp_dsack_seen(): only where the peer was seen to reorder,
	 * for no more than a window, and not for a loss probe's segment.
	 */
	if (tsk->reord_seen && toytcp_after(end, start) &&
	    end - start <= tsk->max_window &&
	    !(tsk->tlp_end_on && end == tsk->tlp_end))
		toytcp_rack_dsack_seen(tsk);
	if (!tsk->undo_ok || tsk->undo_retrans <= 0 ||
	    !toytcp_after(end, start) || !toytcp_after(end, tsk->undo_marker))
		return;
	if (!toytcp_after(end, tsk->snd_una)) {
		tsk->undo_retrans--;
	} else {
		skb_queue_walk(&sk->sk_write_queue, skb) {
			const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
			u32 lo, hi;

			if (skb == tsk->send_head || !toytcp_before(cb->seq, end))
				break;
			if (!cb->retrans || !toytcp_after(cb->end_seq, start))
				continue;
			lo = toytcp_after(cb->seq, start) ? cb->seq : start;
			hi = toytcp_before(cb->end_seq, end) ? cb->end_seq : end;
			tsk->undo_retrans -= DIV_ROUND_UP(hi - lo, tsk->mss_cache);
		}
	}
	if (tsk->undo_retrans > 0)
		return;
	/* Undo: the window as it was before that recovery. */
	tsk->cwnd = max(tsk->cwnd, tsk->prior_cwnd);
	tsk->ssthresh = max(tsk->ssthresh, tsk->prior_ssthresh);
	tsk->cwnd_cnt = 0;
	tsk->undo_ok = false;
	/* Late, not lost: the peer receives out of order. */
	tsk->reord_seen = true;
	if (tsk->in_recovery) {
		tsk->in_recovery = false;
		tsk->dupacks = 0;
	}
	/* A loss found from now on is a new one. */
	tsk->recover = tsk->snd_una;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_DSACKUNDO);
}
