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

/* A SACK block, RFC 2018 3: [start, end). */
struct toytcp_sack_block {
	u32	start;
	u32	end;
};

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

/*
 * The blocks of @skb's SACK option that cover data in flight, sorted by
 * their start (at most 4: an insertion sort).  A D-SACK in the first
 * block goes to toytcp_dsack_rcvd() (RFC 2883); blocks outside what was
 * sent are dropped.
 */
static int toytcp_sack_sorted(struct sock *sk, const struct sk_buff *skb,
			      struct toytcp_sack_block *b)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct toytcp_opts opts;
	int i, j, n = 0;

	toytcp_parse_options(tcp_hdr(skb), &opts);
	i = 0;
	if (opts.nsacks && toytcp_is_dsack(skb, &opts)) {
		toytcp_dsack_rcvd(sk, get_unaligned_be32(opts.sack),
				  get_unaligned_be32(opts.sack + 4));
		i = 1;
	}
	for (; i < opts.nsacks && i < TOYTCP_MAX_SACKS; i++) {
		struct toytcp_sack_block blk = {
			.start	= get_unaligned_be32(opts.sack + 8 * i),
			.end	= get_unaligned_be32(opts.sack + 8 * i + 4),
		};

		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_SACKBLOCKS);
		if (!toytcp_after(blk.end, blk.start) ||
		    !toytcp_after(blk.end, tsk->snd_una) ||
		    toytcp_after(blk.end, tsk->snd_nxt) ||
		    toytcp_before(blk.start, tsk->snd_una))
			continue;
		if (toytcp_after(blk.end, tsk->high_sack))
			tsk->high_sack = blk.end;
		for (j = n; j > 0 && toytcp_before(blk.start, b[j - 1].start); j--)
			b[j] = b[j - 1];
		b[j] = blk;
		n++;
	}
	return n;
}

/*
 * Split @skb for a SACK block's edge: as toytcp_fragment(), but of the
 * exceptions to its bound (the queue far above the send buffer) only the
 * head of the queue.  The others are for sending: a peer that SACKs every
 * other byte of the last skb sent would otherwise cut it, one block after
 * the other, into skbs of one byte (as it grows, it stays the tail).  An
 * skb left whole is left unmarked, as Linux leaves it.
 */
static int toytcp_sack_split(struct sock *sk, struct sk_buff *skb, u32 len)
{
	long limit = (long)READ_ONCE(sk->sk_sndbuf) +
		     2 * SKB_TRUESIZE(GSO_LEGACY_MAX_SIZE);

	if ((sk->sk_wmem_queued >> 1) > limit &&
	    skb != skb_peek(&sk->sk_write_queue)) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_WQUEUETOOBIG);
		return -ENOMEM;
	}
	return toytcp_fragment(sk, skb, len);
}

/**
 * toytcp_sack() - the sender's scoreboard: take in the SACK option of an ACK
 * @sk: a socket with SACK
 * @skb: the ACK, its TCP header in the linear area
 *
 * RFC 2018 3: mark the segments of the send queue the blocks cover,
 * splitting skbs at the blocks' edges (toytcp_sack_split(), which refuses
 * once the queue is too large: the skb is then left unmarked, as Linux
 * leaves it).
 *
 * The cost is bounded as Linux bounds it: the blocks are sorted and
 * taken in one pass over the queue, which starts from @sack_hint, where
 * the last pass ended, when the lowest block lies above it (the common
 * case: a receiver reports the blocks above the ones it reported before),
 * else from the head.  So a queue of N skbs costs at most N steps per
 * ACK, whatever its blocks, never N per block; and the splitting it may
 * do is bounded by toytcp_sack_split().  A D-SACK block goes to
 * toytcp_dsack_rcvd() instead (RFC 2883).
 *
 * Context: sk lock held.
 * Return: true when it SACKed something new.
 */
bool toytcp_sack(struct sock *sk, const struct sk_buff *skb)
{
	struct toytcp_sack_block b[TOYTCP_MAX_SACKS];
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff_head *queue = &sk->sk_write_queue;
	u32 prior_high_sack = tsk->high_sack;
	struct sk_buff *q, *last = NULL;
	bool news = false;
	long rtt_us = -1;
	int i = 0, n;

	sock_owned_by_me(sk);
	n = toytcp_sack_sorted(sk, skb, b);
	if (!n)
		return false;
	q = skb_peek(queue);
	if (tsk->sack_hint &&
	    !toytcp_after(TOYTCP_SKB_CB(tsk->sack_hint)->seq, b[0].start))
		q = tsk->sack_hint;
	/* Everything below SND.NXT was sent once, including what a timeout
	 * put back behind send_head: go-back-N skips what the receiver
	 * reports now.
	 */
	while (q && i < n) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(q);
		u32 start = b[i].start, end = b[i].end;

		last = q;
		if (!toytcp_before(cb->seq, end)) {
			i++;		/* past this block: the next one */
			continue;
		}
		if (cb->sacked || !toytcp_after(cb->end_seq, start))
			goto next;
		/* A block that covers part of an skb of several segments:
		 * split it at the block's edges.  The part before the block
		 * stays; the walk goes on to the rest.
		 */
		if (toytcp_before(cb->seq, start)) {
			if (start - cb->seq < q->len)
				toytcp_sack_split(sk, q, start - cb->seq);
			goto next;
		}
		if (toytcp_after(cb->end_seq, end) &&
		    (end - cb->seq >= q->len ||
		     toytcp_sack_split(sk, q, end - cb->seq)))
			goto next;
		cb->sacked = 1;
		tsk->sacked_bytes += cb->end_seq - cb->seq;
		if (!cb->retrans && !cb->nosample) {
			toytcp_rack_update(tsk, cb);
			rtt_us = (u32)div_u64(ktime_get_ns(), NSEC_PER_USEC) -
				 cb->when;
			/* Sent once, arrived after data above it (RFC 8985
			 * 6.2 step 2).
			 */
			if (toytcp_before(cb->end_seq, prior_high_sack))
				tsk->reord_seen = true;
		}
		news = true;
next:
		q = skb_queue_is_last(queue, q) ? NULL : q->next;
	}
	tsk->sack_hint = last;
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
