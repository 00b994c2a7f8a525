// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the state machine and the receive queues (the model:
 * net/ipv4/tcp_input.c).  Phase 1 of the receive diagram: a segment
 * arrives from the device through IPv4 (defragmented, routed to this
 * host), toytcp_v4_rcv() (hook.c) takes it if it belongs to a toytcp
 * socket, and the state machine (RFC 9293 3.10.7, "SEGMENT ARRIVES")
 * puts its payload into the socket's receive buffer, sk->sk_receive_queue.
 * Phase 2, the copy to user space, is toytcp_recvmsg() in sock.c.
 *
 * Here: SYN-SENT and the synchronized states (a listener's segments are
 * listen.c's), the ACK field (the window update, freeing what was
 * acknowledged), the in-order and out-of-order queues, the FIN, the
 * receive buffer's room and the receive window, challenge ACKs and their
 * rate limit.  What the ACK means for loss recovery is recovery.c and
 * sack.c; when the ACK for received data goes, delack.c.
 */
#include <net/ip.h>

#include "protocol.h"
#include "trace.h"

/* RFC 9293 3.10.7.4, first check: is the segment in the receive window? */
static bool toytcp_seq_acceptable(const struct toytcp_sock *tsk,
				  const struct toytcp_skb_cb *cb)
{
	u32 wnd = tsk->rcv_wup + tsk->rcv_wnd - tsk->rcv_nxt;
	u32 len = cb->end_seq - cb->seq;

	if ((s32)wnd < 0)
		wnd = 0;
	if (!wnd)	/* a zero window still takes ACKs at RCV.NXT */
		return cb->seq == tsk->rcv_nxt;
	if (!len)
		return !toytcp_before(cb->seq, tsk->rcv_nxt) &&
		       toytcp_before(cb->seq, tsk->rcv_nxt + wnd);
	return toytcp_before(cb->seq, tsk->rcv_nxt + wnd) &&
	       toytcp_after(cb->end_seq, tsk->rcv_nxt);
}

/**
 * toytcp_init_rcv_wnd() - choose the window scale and the first window
 * @sk: a socket about to send its SYN or SYN-ACK
 *
 * The scale follows the largest buffer (autotune.c); the window, half of it, or under memory
 * pressure half of the socket's share (toytcp_rcv_budget()).
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 */
void toytcp_init_rcv_wnd(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	tsk->rcv_wscale = toytcp_select_wscale(sk);
	tsk->rcv_wnd = min_t(u32, toytcp_rcv_budget(sk) / 2,
			     65535U << tsk->rcv_wscale);
	tsk->rcv_wup = tsk->rcv_nxt;
}

/*
 * RFC 7323 4.1: an RTT sample from the TSecr of an ACK that acknowledges
 * new data (as tcp_ack_update_rtt()): the TSval it echoes is the one of
 * the segment that made the peer send it, a retransmission's included,
 * so Karn's rule is not needed.  -1 when the ACK has none.
 */
static long toytcp_tsecr_rtt_us(const struct toytcp_sock *tsk,
				const struct toytcp_skb_cb *cb)
{
	u32 delta;

	if (!cb || !cb->saw_ts || !cb->tsecr)
		return -1;
	delta = toytcp_ts_now(tsk) - cb->tsecr;
	if (delta >= INT_MAX / USEC_PER_MSEC)
		return -1;
	return max_t(u32, delta, 1) * USEC_PER_MSEC;
}

/* Free what the peer acknowledged (with the ACK @ack, which may be NULL)
 * from the send buffer.
 */
static void toytcp_clean_acked(struct sock *sk,
			       const struct toytcp_skb_cb *ack)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;
	long rtt_us = -1;

	while ((skb = skb_peek(&sk->sk_write_queue))) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

		if (toytcp_after(cb->end_seq, tsk->snd_una)) {
			u32 acked = tsk->snd_una - cb->seq;

			/* Acknowledged up to the middle of the skb: keep the
			 * rest only (a retransmission sends no byte twice).
			 */
			if (toytcp_after(tsk->snd_una, cb->seq) &&
			    acked < skb->len &&
			    !toytcp_trim_head(sk, skb, acked) && cb->sacked)
				tsk->sacked_bytes -= acked;
			break;
		}
		/* Karn: no samples from retransmitted segments; nor from
		 * SACKed ones, which arrived when their SACK did, perhaps
		 * long before this cumulative ACK.
		 */
		if (!cb->retrans && !cb->sacked && !cb->nosample) {
			rtt_us = (u32)div_u64(ktime_get_ns(), NSEC_PER_USEC) -
				 cb->when;
			toytcp_rack_update(tsk, cb);
			/* Sent once, delivered after data above it: the
			 * network reorders (RFC 8985 6.2 step 2).
			 */
			if (toytcp_before(cb->end_seq, tsk->high_sack))
				tsk->reord_seen = true;
		}
		if (skb == tsk->send_head)
			tsk->send_head = skb_queue_is_last(&sk->sk_write_queue,
							   skb) ? NULL : skb->next;
		if (cb->sacked)
			tsk->sacked_bytes -= cb->end_seq - cb->seq;
		__skb_unlink(skb, &sk->sk_write_queue);
		toytcp_free_skb(sk, skb);
	}
	if (rtt_us < 0)
		rtt_us = toytcp_tsecr_rtt_us(tsk, ack);
	if (rtt_us >= 0)
		toytcp_rtt_sample(sk, rtt_us);
}

/* RFC 6582 and RFC 6675 for the ACKs that arrive during fast recovery;
 * outside it, the congestion control algorithm grows the window.
 */
static void toytcp_cong_on_ack(struct sock *sk, u32 acked)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 segs = max_t(u32, acked / tsk->mss_cache, 1);
	u32 flight;

	if (tsk->in_recovery) {
		toytcp_recovery_ack(sk, segs);
		return;
	}
	/* RFC 7661, as tcp_is_cwnd_limited(): the window grows only while
	 * it limits the sender (in slow start, while at least half of it
	 * is in use).  A sender limited by the application or by its CPU
	 * would otherwise grow it without bound, and burst into the
	 * network once it has the data.
	 */
	flight = (toytcp_bytes_in_flight(tsk) + acked) / tsk->mss_cache;
	if (tsk->cwnd < tsk->ssthresh ? 2 * flight < tsk->cwnd :
					flight + 3 < tsk->cwnd)
		return;
	tsk->ca_ops->cong_avoid(sk, segs);
}

static void toytcp_send_challenge_ack(struct sock *sk);

/*
 * RFC 7323 4.3: TS.Recent takes the TSval of a segment that is in the
 * window (checked before) and starts at or below Last.ACK.sent (@rcv_wup:
 * RCV.NXT when toytcp last announced a window), so that TSecr echoes the
 * segment that opened the gap an ACK answers, not a later one that came
 * out of order (as tcp_replace_ts_recent()).
 */
static void toytcp_update_ts_recent(struct sock *sk,
				    const struct toytcp_skb_cb *cb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (cb->saw_ts && !toytcp_after(cb->seq, tsk->rcv_wup) &&
	    toytcp_paws_ok(tsk, cb->tsval, 0)) {
		tsk->ts_recent = cb->tsval;
		tsk->ts_recent_stamp = (u32)ktime_get_seconds();
	}
}

/*
 * RFC 9293 3.10.7.4, fifth check: the ACK field.  Returns why the segment
 * is to be dropped, or TOYTCP_NOT_DROPPED.  An ACK of data never sent
 * (RFC 9293) and one below SND.UNA - MAX.SND.WND (RFC 5961 5.2, a blind
 * data injection more likely than a segment that old) are answered with
 * an ACK, rate-limited as challenge ACKs are (RFC 5961 7): a burst of
 * them draws one.  Linux answers the first in ESTABLISHED with nothing;
 * the RFCs ask for the ACK, which the rate limit makes as cheap.
 */
static enum toytcp_drop_reason toytcp_ack(struct sock *sk,
					  const struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 ack = cb->ack_seq, wnd = cb->wnd;
	bool probing = tsk->snd_una == tsk->snd_nxt && tsk->send_head &&
		       !tsk->snd_wnd;
	struct toytcp_probe_snap probe;
	bool sack_news;

	if (!(cb->flags & TOYTCP_SYN))	/* never scaled in a SYN */
		wnd <<= tsk->snd_wscale;
	if (toytcp_after(ack, tsk->snd_nxt)) {
		toytcp_send_challenge_ack(sk);
		return TOYTCP_DROP_ACK_UNSENT;
	}
	if (toytcp_before(ack, tsk->snd_una)) {
		/* As tcp_ack(): no more than was ever acknowledged, for a
		 * connection that has not seen a window's worth yet.
		 */
		u32 max_win = min_t(u64, tsk->max_window, tsk->bytes_acked);

		if (toytcp_before(ack, tsk->snd_una - max_win)) {
			toytcp_send_challenge_ack(sk);
			return TOYTCP_DROP_ACK_TOO_OLD;
		}
		return TOYTCP_NOT_DROPPED;	/* old: ignore the ACK field */
	}
	toytcp_update_ts_recent(sk, cb);
	toytcp_probe_start(sk, &probe);

	/* A duplicate ACK: RFC 5681 2 asks for an unchanged window too, but a
	 * receiver's window moves with every segment it takes; an ACK that
	 * SACKs new data counts (RFC 6675 2).
	 */
	sack_news = tsk->sack_ok && tcp_hdr(skb)->doff > 5 &&
		    toytcp_sack(sk, skb);
	if (ack == tsk->snd_una && tsk->snd_una != tsk->snd_nxt &&
	    !skb->len && !(cb->flags & (TOYTCP_SYN | TOYTCP_FIN)) &&
	    (wnd == tsk->snd_wnd || sack_news))
		toytcp_on_dupack(sk);

	/* RFC 9293 3.10.7.4: update the send window from the newest segment. */
	if (toytcp_before(tsk->snd_wl1, cb->seq) ||
	    (tsk->snd_wl1 == cb->seq && !toytcp_before(ack, tsk->snd_wl2))) {
		tsk->snd_wnd = wnd;
		tsk->snd_wl1 = cb->seq;
		tsk->snd_wl2 = ack;
		if (wnd > tsk->max_window)
			tsk->max_window = wnd;
		/* The zero window the persist timer probed opened: as
		 * tcp_ack_probe(), the timeout need not stay backed off.
		 */
		if (probing && wnd)
			tsk->backoff = 0;
	}

	if (toytcp_after(ack, tsk->snd_una)) {
		u32 acked = ack - tsk->snd_una;

		WRITE_ONCE(tsk->snd_una, ack);
		tsk->bytes_acked += acked;
		toytcp_rack_una_moved(tsk);
		/* The backoff goes with the next RTT sample, not here
		 * (Karn, RFC 6298 5.7): this ACK may be of a retransmission.
		 */
		toytcp_clean_acked(sk, cb);
		tsk->retrans_stamp = 0;
		tsk->retries = 0;
		toytcp_cong_on_ack(sk, acked);
		/* Counted again from zero after new data is acknowledged, also
		 * when this ACK ended recovery: a count left over from it
		 * made the next lone duplicate ACK look like the third.
		 */
		if (!tsk->in_recovery)
			tsk->dupacks = 0;
		if (tsk->snd_una == tsk->snd_nxt)
			sk_stop_timer(sk, &tsk->retrans_timer);
		else
			toytcp_rearm_timer(sk);
		toytcp_new_space(sk);
	} else if (sack_news && tsk->snd_una != tsk->snd_nxt) {
		toytcp_rearm_timer(sk);
	}
	toytcp_probe(sk, skb, &probe);	/* toytcp:toytcp_probe */
	toytcp_write_xmit(sk);
	return TOYTCP_NOT_DROPPED;
}

/* The peer's FIN is next in sequence (RFC 9293 3.10.7.4, eighth check). */
static void toytcp_fin(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;

	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sock_set_flag(sk, SOCK_DONE);
	switch (sk->sk_state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		toytcp_set_state(sk, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT1:
		/* Our FIN is not acknowledged yet: simultaneous close. */
		toytcp_set_state(sk, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT2:
		toytcp_time_wait(sk);
		break;
	default:
		break;
	}
	/* Nothing after a FIN can be valid. */
	while ((skb = __skb_dequeue(&tsk->ooo_queue)))
		toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_AFTER_FIN);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		if ((sk->sk_shutdown & SHUTDOWN_MASK) == SHUTDOWN_MASK ||
		    sk->sk_state == TCP_CLOSE)
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
		else
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
	}
}

/*
 * As tcp_try_coalesce(): append the data of @from to @to, the skb just
 * before it in sequence, so that a run of segments costs the overhead of
 * one skb.  Where nothing merged them on the way (no GRO), a 1460-byte
 * segment arrives in an skb of about 2400 bytes of truesize; merged, the
 * run costs little more than its data, and the reader finds it in one skb.
 * @from, charged already, is freed: its destructor gives its charge back,
 * and what @to gained is charged instead (toytcp_mem_grow()).
 * Return: true when @from was merged into @to (and is gone).
 */
static bool toytcp_try_coalesce(struct sock *sk, struct sk_buff *to,
				struct sk_buff *from)
{
	const struct toytcp_skb_cb *fcb = TOYTCP_SKB_CB(from);
	struct toytcp_skb_cb *tcb = TOYTCP_SKB_CB(to);
	bool fragstolen;
	int delta;

	if (fcb->seq != tcb->end_seq || (tcb->flags & TOYTCP_FIN) || !from->len)
		return false;
	if (!skb_try_coalesce(to, from, &fragstolen, &delta))
		return false;
	toytcp_mem_grow(sk, delta);
	tcb->end_seq = fcb->end_seq;
	tcb->flags |= fcb->flags & TOYTCP_FIN;
	kfree_skb_partial(from, fragstolen);
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_RCVCOALESCE);
	return true;
}

/* Onto the receive queue, charged already: merged into its tail if it can. */
static void toytcp_rcv_enqueue(struct sock *sk, struct sk_buff *skb)
{
	struct sk_buff *tail = skb_peek_tail(&sk->sk_receive_queue);

	if (!tail || !toytcp_try_coalesce(sk, tail, skb))
		__skb_queue_tail(&sk->sk_receive_queue, skb);
}

/* In-sequence data: into the receive buffer (the end of phase 1). */
static void toytcp_queue_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	bool fin = TOYTCP_SKB_CB(skb)->flags & TOYTCP_FIN;

	WRITE_ONCE(tsk->rcv_nxt, TOYTCP_SKB_CB(skb)->end_seq);
	tsk->bytes_received += skb->len;
	if (!skb->len)
		consume_skb(skb);
	else
		toytcp_rcv_enqueue(sk, skb);
	if (fin)
		toytcp_fin(sk);
}

/*
 * Out-of-order data: kept in sequence order until the hole is filled.  A
 * segment that repeats data held already is reported in a D-SACK block
 * (RFC 2883 4, as tcp_data_queue_ofo()); one held whole is dropped.
 */
static void toytcp_ofo_insert(struct sock *sk, struct sk_buff *skb)
{
	struct sk_buff_head *q = &toytcp_sk(sk)->ooo_queue;
	u32 seq = TOYTCP_SKB_CB(skb)->seq, end = TOYTCP_SKB_CB(skb)->end_seq;
	struct sk_buff *pos;

	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_OFOQUEUE);
	toytcp_sk(sk)->ofo_last_seq = seq;	/* skb charged already */
	skb_queue_reverse_walk(q, pos) {
		u32 pend = TOYTCP_SKB_CB(pos)->end_seq;

		if (!toytcp_after(TOYTCP_SKB_CB(pos)->seq, seq)) {
			if (toytcp_after(pend, seq))
				toytcp_dsack_set(sk, seq, toytcp_before(end, pend) ?
						 end : pend);
			if (!toytcp_after(end, pend)) {
				toytcp_drop(sock_net(sk), skb,
					    TOYTCP_DROP_OFO_DUPLICATE);
				return;
			}
			if (!toytcp_try_coalesce(sk, pos, skb))
				__skb_queue_after(q, pos, skb);
			return;
		}
	}
	__skb_queue_head(q, skb);
}

/* Move what the last segment made in-sequence from the out-of-order queue. */
static void toytcp_ofo_drain(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;
	bool fin;

	while ((skb = skb_peek(&tsk->ooo_queue)) &&
	       !toytcp_after(TOYTCP_SKB_CB(skb)->seq, tsk->rcv_nxt)) {
		__skb_unlink(skb, &tsk->ooo_queue);
		if (!toytcp_after(TOYTCP_SKB_CB(skb)->end_seq, tsk->rcv_nxt)) {
			/* All of it came already. */
			toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_OFO_DUPLICATE);
			continue;
		}
		/* Already charged to the socket: keep the charge. */
		tsk->bytes_received += TOYTCP_SKB_CB(skb)->end_seq - tsk->rcv_nxt -
				       !!(TOYTCP_SKB_CB(skb)->flags & TOYTCP_FIN);
		WRITE_ONCE(tsk->rcv_nxt, TOYTCP_SKB_CB(skb)->end_seq);
		fin = TOYTCP_SKB_CB(skb)->flags & TOYTCP_FIN;
		toytcp_rcv_enqueue(sk, skb);
		if (fin) {
			toytcp_fin(sk);
			return;
		}
	}
}

/**
 * toytcp_prune_ofo() - drop the highest skb of the out-of-order queue
 * @sk: the socket
 *
 * As tcp_prune_ofo_queue(), one skb at a time, from the top down: the
 * data furthest from being read goes first.  The sender learns of it when
 * its SACKed data is not acknowledged, and resends after a timeout.
 *
 * Context: sk lock held.
 * Return: false when the queue was empty.
 */
bool toytcp_prune_ofo(struct sock *sk)
{
	struct sk_buff *last = skb_peek_tail(&toytcp_sk(sk)->ooo_queue);

	sock_owned_by_me(sk);
	if (!last)
		return false;
	__skb_unlink(last, &toytcp_sk(sk)->ooo_queue);
	toytcp_drop(sock_net(sk), last, TOYTCP_DROP_OFO_PRUNED);
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_OFOPRUNED);
	return true;
}

/*
 * Room in the receive buffer for @skb?  In-sequence data may take the
 * place of out-of-order data (toytcp_prune_ofo()): else a buffer full of
 * data beyond a hole would refuse the very segment that fills it.
 */
static bool toytcp_rcvbuf_room(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int limit = READ_ONCE(sk->sk_rcvbuf);

	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize <= limit)
		return true;
	if (toytcp_after(TOYTCP_SKB_CB(skb)->seq, tsk->rcv_nxt))
		return false;
	/* The window promised room for it: the sender did nothing wrong if
	 * skb overhead (a GSO train's, say) came out above the estimate.
	 */
	if (toytcp_fits_window(tsk, TOYTCP_SKB_CB(skb)) &&
	    (s64)atomic_read(&sk->sk_rmem_alloc) + skb->truesize <=
	    2 * (s64)limit)
		return true;
	while (atomic_read(&sk->sk_rmem_alloc) + skb->truesize > limit) {
		if (!toytcp_prune_ofo(sk))
			return false;
	}
	return true;
}

/*
 * Charge @skb to its namespace (mem.c), as tcp_try_rmem_schedule(): when
 * the namespace holds "max" of net.toytcp.mem already, out-of-order data
 * is refused at once; in-sequence data after the socket's own
 * out-of-order queue is pruned, unless the socket has nothing queued for
 * its reader and the segment is within the advertised window, which may
 * go beyond "max" (TOYTCP_MEM_FORCE).  Returns false (and counts
 * MemoryDrops) when the segment is to be dropped.
 */
static bool toytcp_try_mem_schedule(struct sock *sk, struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

	if (toytcp_mem_schedule(sk, skb, TOYTCP_MEM_FIRST))
		return true;
	if (toytcp_after(cb->seq, toytcp_sk(sk)->rcv_nxt))
		goto refused;
	/* In-sequence data goes before out-of-order data. */
	while (toytcp_prune_ofo(sk)) {
		if (toytcp_mem_schedule(sk, skb, TOYTCP_MEM_AGAIN))
			return true;
	}
	if (skb_queue_empty(&sk->sk_receive_queue) &&
	    toytcp_fits_window(toytcp_sk(sk), cb) &&
	    toytcp_mem_schedule(sk, skb, TOYTCP_MEM_FORCE))
		return true;
refused:
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_MEMORYDROPS);
	return false;
}

/*
 * Charge @skb to the socket and its namespace before it is queued, or
 * count why not: the socket's receive buffer (RcvQueueDrops) or the
 * namespace's net.toytcp.mem (MemoryDrops, toytcp_try_mem_schedule()).
 * An empty in-sequence segment (a bare FIN) is never queued and not
 * charged; everything bound for the out-of-order queue is.  Returns why
 * the segment is to be dropped, or TOYTCP_NOT_DROPPED.
 */
static enum toytcp_drop_reason toytcp_rmem_schedule(struct sock *sk,
						    struct sk_buff *skb)
{
	if (!skb->len &&
	    !toytcp_after(TOYTCP_SKB_CB(skb)->seq, toytcp_sk(sk)->rcv_nxt))
		return TOYTCP_NOT_DROPPED;
	if (!toytcp_rcvbuf_room(sk, skb)) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_RCVQDROPS);
		return TOYTCP_DROP_RCVBUF_FULL;
	}
	if (!toytcp_try_mem_schedule(sk, skb))
		return TOYTCP_DROP_MEMORY;
	return TOYTCP_NOT_DROPPED;
}

/* RFC 9293 3.10.7.4, seventh check: the segment text. */
/*
 * As tcp_data_ready(): wake the reader once SO_RCVLOWAT bytes are there,
 * not for every segment (a reader waiting for 64 KB would otherwise wake,
 * find too little and sleep again per segment), or earlier when the
 * receive buffer is nearly full (the peer could not send the rest).
 */
static bool toytcp_epollin_ready(const struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	int avail = tsk->rcv_nxt - READ_ONCE(tsk->copied_seq);
	int rcvbuf = toytcp_rcv_budget(sk);

	if (avail <= 0)
		return false;
	return avail >= READ_ONCE(sk->sk_rcvlowat) ||
	       atomic_read(&sk->sk_rmem_alloc) > rcvbuf - (rcvbuf >> 3);
}

static void toytcp_data_queue(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 data_end = cb->end_seq - !!(cb->flags & TOYTCP_FIN);
	enum toytcp_drop_reason reason;
	bool hole;

	/* RFC 9293 3.6.1, RFC 2525 2.17: the application has closed (or shut
	 * down reading) and new data still arrives: nobody will read it.
	 */
	if ((1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2) &&
	    (sk->sk_shutdown & RCV_SHUTDOWN) &&
	    toytcp_after(data_end, tsk->rcv_nxt)) {
		struct net *net = sock_net(sk);

		/* As Linux (tcp_reset(), then tcp_v4_send_reset()): the
		 * reset answers this segment, <SEQ=SEG.ACK><CTL=RST>.
		 */
		TOYTCP_INC_STATS(net, TOYTCP_MIB_ABORTONDATA);
		toytcp_send_reset(sk, skb);
		WRITE_ONCE(sk->sk_err, ECONNRESET);
		if (!sock_flag(sk, SOCK_DEAD))
			sk_error_report(sk);
		toytcp_done(sk);
		toytcp_drop(net, skb, TOYTCP_DROP_ABORT_ON_DATA);
		return;
	}
	if (!toytcp_after(cb->end_seq, tsk->rcv_nxt)) {
		/* A duplicate: the peer missed our ACK.  RFC 2883: say so. */
		toytcp_dsack_set(sk, cb->seq, cb->end_seq);
		toytcp_ack_snd_check(sk, true);
		toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_DUPLICATE);
		return;
	}
	/* New data: a D-SACK not sent yet is stale (as tcp_data_queue()). */
	tsk->dsack = false;
	if (toytcp_before(cb->seq, tsk->rcv_nxt))
		toytcp_dsack_set(sk, cb->seq, tsk->rcv_nxt);
	/* Learn how much of an skb's memory is payload (EWMA, 1/8). */
	if (skb->len)
		tsk->rcv_ratio = (7 * tsk->rcv_ratio +
				  min_t(u32, ((u64)skb->len << 8) /
					skb->truesize, 256)) / 8;
	reason = toytcp_rmem_schedule(sk, skb);
	if (reason) {
		/* Over the receive buffer (or the namespace's memory)
		 * despite the window: drop, the sender will retransmit once
		 * the reader made room.
		 */
		toytcp_ack_snd_check(sk, true);
		toytcp_drop(sock_net(sk), skb, reason);
		return;
	}
	if (toytcp_after(cb->seq, tsk->rcv_nxt)) {
		toytcp_ofo_insert(sk, skb);
		toytcp_send_ack(sk);	/* a duplicate ACK: RFC 5681 4.2 */
		return;
	}
	/* Now or later: delack.c. */
	tsk->rcv_mss = clamp_t(u32, skb->len, tsk->rcv_mss, tsk->advmss);
	tsk->rcv_unacked += skb->len;
	hole = !skb_queue_empty(&tsk->ooo_queue);
	toytcp_queue_rcv(sk, skb);
	if (hole)
		toytcp_ofo_drain(sk);
	toytcp_ack_snd_check(sk, hole);
	if (!sock_flag(sk, SOCK_DEAD) && toytcp_epollin_ready(sk))
		sk->sk_data_ready(sk);
}

/**
 * toytcp_rcv_space_update() - the reader made room: open the window
 * @sk: the socket
 *
 * As tcp_cleanup_rbuf(): a window update goes when the window the next
 * segment would announce (__toytcp_select_window(), the same
 * computation) is at least twice what is left of the one announced last.
 * Anything less is left to the next ACK: an ACK whose acknowledgment
 * number and window repeat the last one's is a duplicate ACK to the peer
 * (RFC 5681 2).  Not once the peer's FIN or shutdown(SHUT_RD) ended the
 * receiving.
 *
 * Context: process, sk lock held.
 */
void toytcp_rcv_space_update(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	s32 cur = tsk->rcv_wup + tsk->rcv_wnd - tsk->rcv_nxt;
	u32 win;

	sock_owned_by_me(sk);
	toytcp_rcv_space_adjust(sk);	/* the buffer may grow first */
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
				     TCPF_FIN_WAIT2)) ||
	    (sk->sk_shutdown & RCV_SHUTDOWN))
		return;
	cur = max(cur, 0);
	win = __toytcp_select_window(sk);
	if (win && win >= 2 * (u32)cur)
		toytcp_send_ack(sk);
}

/*
 * RFC 5961 7, as tcp_oow_rate_limited(): ACKs that answer an out-of-window
 * segment, and challenge ACKs, at most one per 500 ms per socket, so that
 * a blind attacker (or two confused stacks in an ACK loop) cannot make a
 * connection send an ACK per segment.  A segment carrying data is always
 * answered.  Returns true (and counts) when this ACK is to be skipped.
 */
static bool __toytcp_oow_rate_limited(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned long now = jiffies;

	if (tsk->last_oow_ack &&
	    time_before(now, tsk->last_oow_ack + msecs_to_jiffies(500))) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ACKSKIPPED);
		return true;
	}
	tsk->last_oow_ack = now ? : 1;
	return false;
}

/*
 * RFC 7323 5.3 R1 (PAWS), as tcp_paws_discard(): a segment whose TSval is
 * older than TS.Recent is an old duplicate, however well its sequence
 * numbers fit (they wrap in seconds at 10 Gb/s).  A reset passes (RFC
 * 7323 5.2), a SYN goes on to its own checks, and so does a pure
 * duplicate ACK whose TSval lags by less than the RTO (tcp_disordered_ack():
 * ACKs reordered on the way, which are harmless).
 */
static bool toytcp_paws_discard(const struct sock *sk,
				const struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 nwin = (u32)cb->wnd << tsk->snd_wscale;

	if (!cb->saw_ts || (cb->flags & (TOYTCP_RST | TOYTCP_SYN)) ||
	    toytcp_paws_ok(tsk, cb->tsval, TOYTCP_PAWS_WINDOW))
		return false;
	/* A pure duplicate ACK at RCV.NXT that moves no window ... */
	if (!(cb->flags & TOYTCP_ACK) || cb->seq != cb->end_seq ||
	    cb->seq != tsk->rcv_nxt || cb->ack_seq != tsk->snd_una ||
	    toytcp_after(cb->seq, tsk->snd_wl1) ||
	    (cb->seq == tsk->snd_wl1 && (nwin > tsk->snd_wnd || !nwin)))
		return true;
	/* ... and lags by less than the RTO at 1200 Hz (the fastest TSval
	 * clock seen in practice), RFC 7323 5.2's reordered ACK.
	 */
	return (s32)(tsk->ts_recent - cb->tsval) > (s32)(tsk->rto * 1200 / HZ);
}

static bool toytcp_oow_rate_limited(struct sock *sk, const struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

	if (cb->end_seq != cb->seq && !(cb->flags & TOYTCP_SYN))
		return false;
	return __toytcp_oow_rate_limited(sk);
}

/*
 * A challenge ACK (RFC 5961 3.2, 4.2, 5.2): for an in-window RST or SYN
 * that is not exact, an ACK of data never sent, an ACK far below SND.UNA.
 * Always rate-limited, data or not (as tcp_send_challenge_ack()): the
 * data such a segment carries is dropped, so nothing is lost by not
 * answering it.
 */
static void toytcp_send_challenge_ack(struct sock *sk)
{
	if (__toytcp_oow_rate_limited(sk))
		return;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_CHALLENGEACKS);
	toytcp_send_ack(sk);
}

/* As tcp_reset_check(): after the peer's FIN, a RST may carry the FIN's
 * sequence number, RCV.NXT - 1; Linux takes it as exact.
 */
static bool toytcp_reset_check(const struct sock *sk,
			       const struct toytcp_skb_cb *cb)
{
	return cb->seq == toytcp_sk(sk)->rcv_nxt - 1 &&
	       (1 << sk->sk_state) & (TCPF_CLOSE_WAIT | TCPF_LAST_ACK |
				      TCPF_CLOSING);
}

/* RFC 9293 3.10.7.4, second check: a RST taken as exact ends it. */
static void toytcp_rcv_reset(struct sock *sk, struct sk_buff *skb)
{
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_INRSTS);
	switch (sk->sk_state) {
	case TCP_SYN_RECV:
		WRITE_ONCE(sk->sk_err, ECONNREFUSED);
		break;
	case TCP_CLOSE_WAIT:
		WRITE_ONCE(sk->sk_err, EPIPE);
		break;
	case TCP_TIME_WAIT:
		break;
	default:
		WRITE_ONCE(sk->sk_err, ECONNRESET);
	}
	if (sk->sk_state == TCP_ESTABLISHED ||
	    sk->sk_state == TCP_CLOSE_WAIT)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ESTABRESETS);
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
	toytcp_done(sk);
	consume_skb(skb);
}

/*
 * SYN-RECEIVED, a SYN at IRS: the SYN again, whose SYN-ACK was lost (a
 * passive open: the SYN-ACK again, rate-limited as tcp_check_req()), or
 * in a simultaneous open the peer's SYN-ACK (RFC 9293 figure 8), which
 * lies below RCV.NXT yet is acceptable (as tcp_validate_incoming()).
 * Returns true when @skb was consumed; sets *@simopen for the SYN-ACK.
 */
static bool toytcp_synrecv_syn(struct sock *sk, struct sk_buff *skb,
			       bool *simopen)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u8 f = cb->flags & (TOYTCP_SYN | TOYTCP_ACK | TOYTCP_RST | TOYTCP_FIN);
	struct sk_buff *head;

	if (f == TOYTCP_SYN && tsk->parent) {
		head = skb_peek(&sk->sk_write_queue);
		if (head && (TOYTCP_SKB_CB(head)->flags & TOYTCP_SYN) &&
		    !toytcp_oow_rate_limited(sk, skb))
			toytcp_transmit_skb(sk, head);
		consume_skb(skb);
		return true;
	}
	*simopen = f == (TOYTCP_SYN | TOYTCP_ACK) && !tsk->parent &&
		   cb->end_seq == cb->seq + 1 && cb->ack_seq == tsk->snd_nxt;
	return false;
}

/**
 * toytcp_rcv_synchronized() - RFC 9293 3.10.7.4: a segment for a
 * synchronized connection (SYN-RECEIVED onwards)
 * @sk: the socket
 * @skb: the segment, consumed
 *
 * Context: sk lock held.
 */
void toytcp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	enum toytcp_drop_reason reason;
	bool simopen = false;

	sock_owned_by_me(sk);
	if (sk->sk_state == TCP_SYN_RECV && (cb->flags & TOYTCP_SYN) &&
	    cb->seq == tsk->irs && toytcp_synrecv_syn(sk, skb, &simopen))
		return;

	/* PAWS before the sequence number (RFC 7323 5.3): answered as out of
	 * the window.
	 */
	if (toytcp_paws_discard(sk, skb)) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_PAWSESTAB);
		if (!toytcp_oow_rate_limited(sk, skb))
			toytcp_send_ack(sk);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_PAWS);
	}
	/* First: sequence number. */
	if (!simopen && !toytcp_seq_acceptable(tsk, cb)) {
		if (cb->flags & TOYTCP_RST) {
			if (toytcp_reset_check(sk, cb))
				return toytcp_rcv_reset(sk, skb);
		} else if (!toytcp_oow_rate_limited(sk, skb)) {
			/* RFC 2883: an old duplicate is reported in a
			 * D-SACK block (as tcp_send_dupack(); not from
			 * TIME-WAIT nor SYN-RECEIVED, which Linux answers
			 * from a timewait or request socket without one).
			 */
			if (cb->end_seq != cb->seq &&
			    toytcp_before(cb->seq, tsk->rcv_nxt) &&
			    !((1 << sk->sk_state) &
			      (TCPF_TIME_WAIT | TCPF_SYN_RECV)))
				toytcp_dsack_set(sk, cb->seq,
						 toytcp_before(cb->end_seq,
							       tsk->rcv_nxt) ?
						 cb->end_seq : tsk->rcv_nxt);
			toytcp_send_ack(sk);
		}
		if (sk->sk_state == TCP_TIME_WAIT && (cb->flags & TOYTCP_FIN))
			toytcp_time_wait(sk);	/* the peer lost our ACK */
		/* Data that all came before: a retransmission the peer
		 * need not have sent (a lost ACK, or reordering taken for
		 * loss), not a segment outside the window: counted apart, as
		 * Linux's TCP_OLD_SEQUENCE, so that DropNotAcceptable means
		 * what it says.
		 */
		if (cb->end_seq != cb->seq &&
		    !toytcp_after(cb->end_seq, tsk->rcv_nxt))
			return toytcp_drop(sock_net(sk), skb,
					   TOYTCP_DROP_DUPLICATE);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_NOT_ACCEPTABLE);
	}
	tsk->rcv_tstamp = jiffies;	/* the peer is alive */
	tsk->probes_out = 0;

	/* Second: RST.  RFC 5961 3.2: only an exact match resets, anything
	 * else in the window earns a challenge ACK.  As Linux: TIME-WAIT
	 * ignores it instead, and a passive connection in SYN-RECEIVED (a
	 * request socket there, tcp_check_req()) ends on any RST in the
	 * window.
	 */
	if (cb->flags & TOYTCP_RST) {
		if (cb->seq == tsk->rcv_nxt || toytcp_reset_check(sk, cb) ||
		    (sk->sk_state == TCP_SYN_RECV && tsk->parent))
			return toytcp_rcv_reset(sk, skb);
		if (sk->sk_state == TCP_TIME_WAIT)
			return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_RST_IGNORED);
		toytcp_send_challenge_ack(sk);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_RST_CHALLENGE);
	}

	/* Fourth: SYN.  A challenge ACK (RFC 5961 4.2); as Linux, a passive
	 * connection in SYN-RECEIVED answers a SYN with another ISN with a
	 * RST and ends.
	 */
	if ((cb->flags & TOYTCP_SYN) && !simopen) {
		if (sk->sk_state == TCP_SYN_RECV && tsk->parent) {
			struct net *net = sock_net(sk);

			toytcp_send_reset(sk, skb);
			toytcp_done(sk);
			return toytcp_drop(net, skb, TOYTCP_DROP_SYN_CHALLENGE);
		}
		toytcp_send_challenge_ack(sk);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_SYN_CHALLENGE);
	}

	/* Fifth: ACK. */
	if (!(cb->flags & TOYTCP_ACK))
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_NO_ACK);
	if (sk->sk_state == TCP_SYN_RECV) {
		if (!toytcp_after(cb->ack_seq, tsk->snd_una) ||
		    toytcp_after(cb->ack_seq, tsk->snd_nxt)) {
			toytcp_send_reset(sk, skb);
			return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_HANDSHAKE_ACK);
		}
		tsk->snd_wnd = cb->wnd;
		if (!simopen)	/* never scaled in a SYN */
			tsk->snd_wnd <<= tsk->snd_wscale;
		tsk->snd_wl1 = cb->seq;
		tsk->snd_wl2 = cb->ack_seq;
		toytcp_set_state(sk, TCP_ESTABLISHED);
		if (tsk->parent)
			toytcp_child_established(sk);
		else
			sk->sk_state_change(sk);	/* simultaneous open */
	}
	reason = toytcp_ack(sk, skb);
	if (reason)
		return toytcp_drop(sock_net(sk), skb, reason);
	if (simopen) {
		/* The peer's SYN came twice: an ACK, with a D-SACK of it
		 * as Linux sends.
		 */
		toytcp_dsack_set(sk, cb->seq, cb->end_seq);
		toytcp_send_ack(sk);
		consume_skb(skb);
		return;
	}

	switch (sk->sk_state) {
	case TCP_FIN_WAIT1:
		if (tsk->fin_sent && tsk->snd_una == tsk->write_seq) {
			toytcp_set_state(sk, TCP_FIN_WAIT2);
			WRITE_ONCE(sk->sk_shutdown,
				   sk->sk_shutdown | SEND_SHUTDOWN);
			if (sock_flag(sk, SOCK_DEAD))
				toytcp_fin_wait2_timeout(sk);
			else
				sk->sk_state_change(sk);
		}
		break;
	case TCP_CLOSING:
		if (tsk->snd_una == tsk->write_seq)
			toytcp_time_wait(sk);
		break;
	case TCP_LAST_ACK:
		if (tsk->snd_una == tsk->write_seq) {
			toytcp_done(sk);
			consume_skb(skb);
			return;
		}
		break;
	}

	/* Seventh and eighth: the text and the FIN. */
	if (skb->len || (cb->flags & TOYTCP_FIN)) {
		switch (sk->sk_state) {
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT1:
		case TCP_FIN_WAIT2:
			toytcp_data_queue(sk, skb);
			return;
		case TCP_TIME_WAIT:
			/* A FIN again: ACK it, and 2*MSL starts over. */
			toytcp_send_ack(sk);
			toytcp_time_wait(sk);
			break;
		default:
			/* CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN has
			 * come already; anything beyond it is ignored.
			 */
			break;
		}
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_AFTER_FIN);
	}
	consume_skb(skb);
}

/* RFC 9293 3.10.7.3: a segment for a socket in SYN-SENT. */
static void toytcp_rcv_syn_sent(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	bool ack = cb->flags & TOYTCP_ACK;

	if (ack && (!toytcp_after(cb->ack_seq, tsk->iss) ||
		    toytcp_after(cb->ack_seq, tsk->snd_nxt))) {
		/* The peer holds an old connection (RFC 9293 figure 11):
		 * reset it (not a RST, which gets none), and, as Linux,
		 * send the SYN again at once rather than after the RTO,
		 * for the reset may have been lost before.
		 */
		if (!tsk->retries) {
			tsk->tlp_armed = false;
			tsk->reo_armed = false;
			sk_reset_timer(sk, &tsk->retrans_timer,
				       jiffies + TCP_TIMEOUT_MIN);
		}
		toytcp_send_reset(sk, skb);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_HANDSHAKE_ACK);
	}
	if (cb->flags & TOYTCP_RST) {
		if (!ack)
			return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_RST_IGNORED);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_INRSTS);
		WRITE_ONCE(sk->sk_err, ECONNREFUSED);
		sk_error_report(sk);
		toytcp_done(sk);
		consume_skb(skb);
		return;
	}
	if (!(cb->flags & TOYTCP_SYN))
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_BAD_FLAGS);

	tsk->irs = cb->seq;
	WRITE_ONCE(tsk->rcv_nxt, cb->seq + 1);
	tsk->rcv_wup = tsk->rcv_nxt;
	WRITE_ONCE(tsk->copied_seq, tsk->rcv_nxt);
	toytcp_apply_syn_options(sk, cb);
	tsk->snd_wnd = cb->wnd;		/* never scaled in a SYN */
	tsk->max_window = tsk->snd_wnd;
	tsk->snd_wl1 = cb->seq;
	tsk->snd_wl2 = cb->ack_seq;

	if (ack) {
		WRITE_ONCE(tsk->snd_una, cb->ack_seq);
		toytcp_clean_acked(sk, cb);
		tsk->retries = 0;
		tsk->backoff = 0;
		tsk->probes_out = 0;
		sk_stop_timer(sk, &tsk->retrans_timer);
		toytcp_set_state(sk, TCP_ESTABLISHED);
		toytcp_send_ack(sk);
		if (!sock_flag(sk, SOCK_DEAD)) {
			sk->sk_state_change(sk);
			sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
		}
		toytcp_write_xmit(sk);
	} else {
		/* Simultaneous open: our SYN goes out again with an ACK. */
		struct sk_buff *head = skb_peek(&sk->sk_write_queue);

		toytcp_set_state(sk, TCP_SYN_RECV);
		if (head)
			toytcp_transmit_skb(sk, head);
	}
	consume_skb(skb);
}

/**
 * toytcp_do_rcv() - process one segment for a socket
 * @sk: the socket
 * @skb: the segment, header checked and pulled, TOYTCP_SKB_CB() filled in
 *
 * Also the backlog handler (proto.backlog_rcv), for segments that came
 * while the user owned the socket.
 *
 * Context: bh_lock_sock() held and the user not owning the socket, or
 * release_sock() processing the backlog.
 * Return: 0; the skb is consumed.
 */
int toytcp_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

	sock_owned_by_me(sk);
	trace_toytcp_segment_rcv(sk, cb->seq, cb->ack_seq, cb->flags,
				 skb->len, cb->wnd);
	toytcp_parse_ts(sk, skb);
	switch (sk->sk_state) {
	case TCP_LISTEN:
		toytcp_rcv_listen(sk, skb);
		break;
	case TCP_SYN_SENT:
		toytcp_rcv_syn_sent(sk, skb);
		break;
	case TCP_CLOSE:
		/* RFC 9293 3.10.7.1: a closed connection resets. */
		toytcp_send_reset(sk, skb);
		toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_CLOSED);
		break;
	default:
		toytcp_rcv_synchronized(sk, skb);
	}
	return 0;
}
