// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: SACK (RFC 2018), both ends (the model: the SACK parts of
 * net/ipv4/tcp_input.c, tcp_sacktag_write_queue() and
 * tcp_sack_new_ofo_skb()).
 *
 * The sender's scoreboard: the blocks of a received SACK option mark the
 * segments of the send queue they cover (TOYTCP_SKB_CB()->sacked, and
 * their sum in @sacked_bytes), which recovery.c then skips and counts out
 * of the pipe; a retransmission timeout forgets the marks.  A D-SACK
 * block (RFC 2883) reports a segment the peer received twice: recovery.c
 * counts those against the retransmissions of the last recovery, to
 * undo it when they were all needless.  The receiver's blocks: a D-SACK
 * for a duplicate just received, then the out-of-order queue, merged, the
 * newest arrival first; options.c writes them into the option.
 */
#include "protocol.h"

/*
 * RFC 2883 4.1 and 5: the first block of the option is a D-SACK when it
 * lies below the cumulative ACK, or within the second block.
 */
static bool toytcp_is_dsack(const struct sk_buff *skb,
			    const struct toytcp_opts *opts)
{
	u32 start = get_unaligned_be32(opts->sack);
	u32 end = get_unaligned_be32(opts->sack + 4);

	if (toytcp_before(start, TOYTCP_SKB_CB(skb)->ack_seq))
		return true;
	return opts->nsacks > 1 &&
	       !toytcp_before(start, get_unaligned_be32(opts->sack + 8)) &&
	       !toytcp_after(end, get_unaligned_be32(opts->sack + 12));
}

/**
 * toytcp_sack() - the sender's scoreboard: take in the SACK option of an ACK
 * @sk: a socket with SACK
 * @skb: the ACK, its TCP header in the linear area
 *
 * RFC 2018 3: mark the segments of the send queue the blocks cover,
 * splitting skbs at the blocks' edges.  A D-SACK block goes to
 * toytcp_dsack_rcvd() instead (RFC 2883).
 *
 * Context: sk lock held.
 * Return: true when it SACKed something new.
 */
bool toytcp_sack(struct sock *sk, const struct sk_buff *skb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 prior_high_sack = tsk->high_sack;
	struct toytcp_opts opts;
	bool news = false;
	long rtt_us = -1;
	int i = 0;

	sock_owned_by_me(sk);
	toytcp_parse_options(tcp_hdr(skb), &opts);
	if (opts.nsacks && toytcp_is_dsack(skb, &opts)) {
		toytcp_dsack_rcvd(sk,
				  get_unaligned_be32(opts.sack),
				  get_unaligned_be32(opts.sack + 4));
		i = 1;
	}
	for (; i < opts.nsacks; i++) {
		u32 start = get_unaligned_be32(opts.sack + 8 * i);
		u32 end = get_unaligned_be32(opts.sack + 8 * i + 4);
		struct sk_buff *q;

		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_SACKBLOCKS);
		/* Ignore blocks outside what is in flight (and D-SACKs
		 * below SND.UNA, RFC 2883).
		 */
		if (!toytcp_after(end, start) ||
		    !toytcp_after(end, tsk->snd_una) ||
		    toytcp_after(end, tsk->snd_nxt) ||
		    toytcp_before(start, tsk->snd_una))
			continue;
		if (toytcp_after(end, tsk->high_sack))
			tsk->high_sack = end;
		/* Everything below SND.NXT was sent once, including what a
		 * timeout put back behind send_head: go-back-N skips what
		 * the receiver reports now.
		 */
		skb_queue_walk(&sk->sk_write_queue, q) {
			struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(q);

			if (!toytcp_before(cb->seq, end))
				break;
			if (cb->sacked || !toytcp_after(cb->end_seq, start))
				continue;
			/* A block that covers part of an skb of several
			 * segments: split it at the block's edges.  The part
			 * before the block stays; the walk goes on to the rest.
			 */
			if (toytcp_before(cb->seq, start)) {
				if (start - cb->seq < q->len)
					toytcp_fragment(sk, q, start - cb->seq);
				continue;
			}
			if (toytcp_after(cb->end_seq, end) &&
			    (end - cb->seq >= q->len ||
			     toytcp_fragment(sk, q, end - cb->seq)))
				continue;
			cb->sacked = 1;
			tsk->sacked_bytes += cb->end_seq - cb->seq;
			if (!cb->retrans && !cb->nosample) {
				toytcp_rack_update(tsk, cb);
				rtt_us = (u32)div_u64(ktime_get_ns(),
						      NSEC_PER_USEC) - cb->when;
				/* Sent once, arrived after data above it
				 * (RFC 8985 6.2 step 2).
				 */
				if (toytcp_before(cb->end_seq, prior_high_sack))
					tsk->reord_seen = true;
			}
			news = true;
		}
	}
	/* RFC 6675 allows a sample from the newest newly SACKed segment. */
	if (rtt_us >= 0)
		toytcp_rtt_sample(sk, rtt_us);
	return news;
}

/**
 * toytcp_clear_sacks() - forget the scoreboard at a retransmission timeout
 * @sk: the socket
 *
 * The receiver may have dropped what it SACKed (RFC 2018 8): what it
 * SACKs from now on counts again.  What was in flight is marked to give
 * no RTT sample (Karn).
 *
 * Context: sk lock held.
 */
void toytcp_clear_sacks(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

		if (toytcp_before(cb->seq, tsk->snd_nxt))
			cb->nosample = 1;
		cb->sacked = 0;
	}
	tsk->sacked_bytes = 0;
	tsk->high_sack = tsk->snd_una;
	tsk->high_rxt = tsk->snd_una;
}

/**
 * toytcp_dsack_set() - the receiver got a segment twice: report it
 * @sk: the socket
 * @seq: the first sequence number received again
 * @end_seq: the one after the last
 *
 * RFC 2883: the next ACK carries the range in the first block of its SACK
 * option (a D-SACK); a newer duplicate replaces an older one not yet
 * reported, and new data cancels it (toytcp_data_queue()), as Linux's
 * tcp_dsack_set().  Only when the peer offered SACK.
 *
 * Context: sk lock held.
 */
void toytcp_dsack_set(struct sock *sk, u32 seq, u32 end_seq)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!tsk->sack_ok || !toytcp_after(end_seq, seq))
		return;
	tsk->dsack = true;
	tsk->dsack_start = seq;
	tsk->dsack_end = end_seq;
}

/**
 * toytcp_sack_blocks() - the blocks the receiver reports (RFC 2018 4)
 * @sk: a socket with SACK, and data in its out-of-order queue or a
 *	duplicate to report
 * @start: filled with the first sequence number of each block
 * @end: and the one after its last
 *
 * A D-SACK first (RFC 2883), which is reported once: the caller sends it.
 * Then the out-of-order queue, merged into blocks (at most
 * TOYTCP_MAX_SACKS in all, the lowest), with the one holding the most
 * recent arrival first.
 *
 * Context: sk lock held.
 * Return: the number of blocks.
 */
unsigned int toytcp_sack_blocks(struct sock *sk, u32 start[TOYTCP_MAX_SACKS],
				u32 end[TOYTCP_MAX_SACKS])
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned int n = 0, first, i;
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	if (tsk->dsack) {
		start[0] = tsk->dsack_start;
		end[0] = tsk->dsack_end;
		tsk->dsack = false;
		n = 1;
	}
	first = n;
	/* The queue is in sequence order: merge it into blocks. */
	skb_queue_walk(&tsk->ooo_queue, skb) {
		const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);

		if (n > first && !toytcp_after(cb->seq, end[n - 1])) {
			if (toytcp_after(cb->end_seq, end[n - 1]))
				end[n - 1] = cb->end_seq;
			continue;
		}
		if (n == TOYTCP_MAX_SACKS)
			break;
		start[n] = cb->seq;
		end[n++] = cb->end_seq;
	}
	/* The block holding the newest arrival goes first. */
	for (i = first + 1; i < n; i++) {
		if (toytcp_between(start[i], tsk->ofo_last_seq, end[i])) {
			swap(start[first], start[i]);
			swap(end[first], end[i]);
			break;
		}
	}
	return n;
}
