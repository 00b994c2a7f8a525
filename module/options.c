// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: TCP options, both directions (the models: tcp_parse_options()
 * and tcp_fast_parse_options() in net/ipv4/tcp_input.c, tcp_syn_options(),
 * tcp_established_options() and tcp_options_write() in tcp_output.c).
 * Parsing what a segment carries (MSS, window scale, SACK permitted,
 * timestamps, SACK blocks), taking on what the peer's SYN offered, and
 * writing the options of a SYN or SYN-ACK and of every later segment
 * (timestamps, SACK blocks), laid out as Linux lays them out, so that
 * scripts and tools written against Linux's segments read toytcp's:
 *
 *   SYN, SYN-ACK  <mss, sackOK, TS, nop, wscale>, or without SACK
 *                 <mss, nop, nop, TS, nop, wscale>, or without timestamps
 *                 <mss, nop, nop, sackOK, nop, wscale> (each as offered)
 *   later         <nop, nop, TS>, then <nop, nop, sack ...> with as many
 *                 blocks as the 40 bytes leave room for (3 after the
 *                 timestamps, 4 without)
 */
#include "protocol.h"

/* <nop, nop, TS>: the one layout of timestamps after the SYN (RFC 7323
 * Appendix A), which toytcp_parse_ts() reads without a walk.
 */
#define TOYTCP_TS_WORD	((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | \
			 (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP)

/**
 * toytcp_parse_options() - the options of a received segment
 * @th: its TCP header, options included, in the linear area
 * @opts: filled in
 *
 * Malformed options end the walk (RFC 9293 3.2: be robust against them).
 *
 * Context: any.
 */
void toytcp_parse_options(const struct tcphdr *th, struct toytcp_opts *opts)
{
	const u8 *p = (const u8 *)(th + 1);
	int len = th->doff * 4 - sizeof(*th);

	memset(opts, 0, sizeof(*opts));
	opts->wscale = 0xff;
	while (len > 0) {
		u8 kind = p[0], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			p++;
			len--;
			continue;
		}
		if (len < 2)
			break;
		olen = p[1];
		if (olen < 2 || olen > len)
			break;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			opts->mss = get_unaligned_be16(p + 2);
		} else if (kind == TCPOPT_WINDOW && olen == TCPOLEN_WINDOW) {
			opts->wscale = min_t(u8, p[2], TOYTCP_MAX_WSCALE);
		} else if (kind == TCPOPT_SACK_PERM &&
			   olen == TCPOLEN_SACK_PERM) {
			opts->sack_perm = true;
		} else if (kind == TCPOPT_SACK && !((olen - 2) % 8)) {
			opts->sack = p + 2;
			opts->nsacks = (olen - 2) / 8;
		} else if (kind == TCPOPT_TIMESTAMP &&
			   olen == TCPOLEN_TIMESTAMP) {
			opts->ts = true;
			opts->tsval = get_unaligned_be32(p + 2);
			opts->tsecr = get_unaligned_be32(p + 6);
		}
		p += olen;
		len -= olen;
	}
}

/**
 * toytcp_parse_ts() - the timestamps option of a received segment
 * @sk: the socket it is for
 * @skb: the segment, its TCP header at tcp_hdr(); fills in
 *	TOYTCP_SKB_CB()'s @saw_ts, @tsval and @tsecr
 *
 * As tcp_fast_parse_options(): <nop, nop, TS> first is read at once,
 * anything else walked.  After the handshake, a connection that did not
 * agree to timestamps ignores them (RFC 7323 3.2); a listener and a
 * socket in SYN-SENT take them from the SYN, SYN-ACK or cookie ACK.
 *
 * Context: the sk lock held, or a TIME-WAIT socket's (timewait.c).
 */
void toytcp_parse_ts(const struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	const __be32 *p = (const __be32 *)(th + 1);
	struct toytcp_opts opts;

	cb->saw_ts = 0;
	if (th->doff * 4 < sizeof(*th) + TCPOLEN_TSTAMP_ALIGNED)
		return;
	if (!toytcp_sk(sk)->ts_ok &&
	    !((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_SYN_SENT)))
		return;
	if (get_unaligned_be32(p) == TOYTCP_TS_WORD) {
		cb->tsval = get_unaligned_be32(p + 1);
		cb->tsecr = get_unaligned_be32(p + 2);
		cb->saw_ts = 1;
		return;
	}
	toytcp_parse_options(th, &opts);
	cb->saw_ts = opts.ts;
	cb->tsval = opts.tsval;
	cb->tsecr = opts.tsecr;
}

/**
 * toytcp_apply_syn_options() - take on the options of the peer's SYN
 * @sk: the socket
 * @cb: the SYN's control block, its options parsed (for a SYN cookie,
 *	the ACK's, with what the cookie held)
 *
 * MSS (RFC 9293 3.7.1, 536 without one), window scaling and timestamps,
 * each used only when both sides offered it (RFC 7323 2.2, 3.2), and SACK
 * (RFC 2018).  With timestamps, every segment carries 12 bytes of options,
 * which come out of the payload (RFC 6691): @mss_cache is the payload of a
 * full segment, 1448 bytes for an MSS of 1460 (as tcp_sync_mss()).
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 */
void toytcp_apply_syn_options(struct sock *sk, const struct toytcp_skb_cb *cb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u16 mss = cb->mss ? : TOYTCP_DEFAULT_MSS;

	sock_owned_by_me(sk);
	mss = clamp_t(u16, mss, 64, tsk->advmss);
	tsk->ts_ok = cb->saw_ts && toytcp_ts_enabled(sock_net(sk));
	if (tsk->ts_ok) {
		tsk->ts_recent = cb->tsval;
		tsk->ts_recent_stamp = (u32)ktime_get_seconds();
		mss -= TCPOLEN_TSTAMP_ALIGNED;
	}
	WRITE_ONCE(tsk->mss_cache, mss);
	tsk->rcv_mss = min_t(u32, tsk->advmss, TOYTCP_DEFAULT_MSS);
	tsk->sack_ok = cb->sacked;
	tsk->wscale_ok = cb->wscale != 0xff;
	if (cb->wscale != 0xff) {
		tsk->snd_wscale = cb->wscale;
	} else {
		tsk->snd_wscale = 0;
		tsk->rcv_wscale = 0;
		tsk->rcv_wnd = min_t(u32, tsk->rcv_wnd, 65535U);
	}
}

/**
 * toytcp_write_syn_options() - write the options of a SYN or SYN-ACK
 * @opt: room for TOYTCP_MAX_OPT_LEN bytes
 * @o: what it offers
 *
 * In Linux's order (tcp_options_write()): MSS; SACK permitted and the
 * timestamps in one word and two, or NOP NOP before whichever of them
 * comes alone; NOP and the window scale.
 *
 * Context: any.
 * Return: the length written, a multiple of 4, at most 20.
 */
unsigned int toytcp_write_syn_options(u8 *opt, const struct toytcp_syn_opts *o)
{
	unsigned int len = 0;

	opt[len++] = TCPOPT_MSS;
	opt[len++] = TCPOLEN_MSS;
	put_unaligned_be16(o->mss, &opt[len]);
	len += 2;
	if (o->ts) {
		if (o->sack) {
			opt[len++] = TCPOPT_SACK_PERM;
			opt[len++] = TCPOLEN_SACK_PERM;
		} else {
			opt[len++] = TCPOPT_NOP;
			opt[len++] = TCPOPT_NOP;
		}
		opt[len++] = TCPOPT_TIMESTAMP;
		opt[len++] = TCPOLEN_TIMESTAMP;
		put_unaligned_be32(o->tsval, &opt[len]);
		put_unaligned_be32(o->tsecr, &opt[len + 4]);
		len += 8;
	} else if (o->sack) {
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_SACK_PERM;
		opt[len++] = TCPOLEN_SACK_PERM;
	}
	if (o->wscale >= 0) {
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_WINDOW;
		opt[len++] = TCPOLEN_WINDOW;
		opt[len++] = o->wscale;
	}
	return len;
}

/**
 * toytcp_syn_options() - write the options of this socket's SYN or SYN-ACK
 * @sk: the socket
 * @opt: room for TOYTCP_MAX_OPT_LEN bytes
 *
 * A SYN offers MSS, SACK, timestamps (unless net.ipv4.tcp_timestamps is 0,
 * as for Linux TCP) and window scaling; a SYN-ACK answers only what the
 * peer's SYN offered (RFC 7323 1.3, 3.2, RFC 2018 2).
 *
 * Context: sk lock held.
 * Return: the length written, a multiple of 4.
 */
unsigned int toytcp_syn_options(struct sock *sk, u8 *opt)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	bool offer = sk->sk_state == TCP_SYN_SENT;
	struct toytcp_syn_opts o = {
		.mss = tsk->advmss,
		.wscale = offer || tsk->wscale_ok ? tsk->rcv_wscale : -1,
		.sack = offer || tsk->sack_ok,
		.ts = offer ? toytcp_ts_enabled(sock_net(sk)) : tsk->ts_ok,
		.tsval = toytcp_ts_now(tsk),
		.tsecr = offer ? 0 : tsk->ts_recent,
	};

	sock_owned_by_me(sk);
	return toytcp_write_syn_options(opt, &o);
}

/**
 * toytcp_established_options() - write the options of a segment after the
 * SYN
 * @sk: the socket
 * @opt: room for TOYTCP_MAX_OPT_LEN bytes
 * @ts: timestamps, if the connection has them
 * @sack_room: bytes the SACK option may take, 0 for none
 *
 * RFC 7323 3.2: once negotiated, timestamps on every segment, TSecr
 * echoing TS.Recent; then the SACK blocks that fit into what is left of
 * the 40 bytes and of @sack_room.
 *
 * Context: sk lock held.
 * Return: the length written, a multiple of 4.
 */
unsigned int toytcp_established_options(struct sock *sk, u8 *opt, bool ts,
					unsigned int sack_room)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	unsigned int len = 0;

	sock_owned_by_me(sk);
	if (ts && tsk->ts_ok) {
		put_unaligned_be32(TOYTCP_TS_WORD, opt);
		put_unaligned_be32(toytcp_ts_now(tsk), opt + 4);
		put_unaligned_be32(tsk->ts_recent, opt + 8);
		len = TCPOLEN_TSTAMP_ALIGNED;
	}
	if (sack_room)
		len += toytcp_sack_option(sk, opt + len,
					  min(sack_room,
					      TOYTCP_MAX_OPT_LEN - len));
	return len;
}

/**
 * toytcp_sack_option() - write the SACK option of an ACK
 * @sk: the socket
 * @opt: where it goes
 * @room: bytes free at @opt, at most TOYTCP_MAX_OPT_LEN
 *
 * The SACK option (RFC 2018 3, 4): a D-SACK (RFC 2883) first, then the
 * blocks of out-of-order data held, the one with the most recent arrival
 * first (toytcp_sack_blocks()), as many as fit.
 *
 * Context: sk lock held.
 * Return: its length, 0 when there is nothing to report or no room for it.
 */
unsigned int toytcp_sack_option(struct sock *sk, u8 *opt, unsigned int room)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 start[TOYTCP_MAX_SACKS], end[TOYTCP_MAX_SACKS];
	unsigned int n, i, len;

	sock_owned_by_me(sk);
	if (!tsk->sack_ok || room < 12 ||
	    (skb_queue_empty(&tsk->ooo_queue) && !tsk->dsack))
		return 0;
	n = toytcp_sack_blocks(sk, start, end);
	n = min(n, (room - 4) / 8);
	opt[0] = TCPOPT_NOP;
	opt[1] = TCPOPT_NOP;
	opt[2] = TCPOPT_SACK;
	opt[3] = 2 + 8 * n;
	len = 4;
	for (i = 0; i < n; i++) {
		put_unaligned_be32(start[i], &opt[len]);
		put_unaligned_be32(end[i], &opt[len + 4]);
		len += 8;
	}
	return len;
}
