// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: TCP options, both directions (the models: tcp_parse_options()
 * in net/ipv4/tcp_input.c, tcp_syn_options() and tcp_options_write() in
 * tcp_output.c).  Parsing what a segment carries (MSS, window scale, SACK
 * permitted, SACK blocks), taking on what the peer's SYN offered, and
 * writing the options of a SYN or SYN-ACK and the SACK option.
 */
#include "protocol.h"

/* MSS (4), NOP + window scale (3+1), NOP NOP + SACK permitted (2+2) */
#define TOYTCP_SYN_OPT_LEN	12

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
		}
		p += olen;
		len -= olen;
	}
}

/**
 * toytcp_apply_syn_options() - take on the options of the peer's SYN
 * @sk: the socket
 * @cb: the SYN's control block, its options parsed
 *
 * MSS (RFC 9293 3.7.1, 536 without one) and window scaling, used only
 * when both sides offered it (RFC 7323 2.2); SACK (RFC 2018).
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 */
void toytcp_apply_syn_options(struct sock *sk, const struct toytcp_skb_cb *cb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u16 mss = cb->mss ? : TOYTCP_DEFAULT_MSS;

	sock_owned_by_me(sk);
	WRITE_ONCE(tsk->mss_cache, clamp_t(u16, mss, 64, tsk->advmss));
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
 * toytcp_syn_options() - write the options of a SYN or SYN-ACK
 * @sk: the socket
 * @opt: room for TOYTCP_MAX_OPT_LEN bytes
 *
 * A SYN offers MSS, window scaling and SACK; a SYN-ACK answers only what
 * the peer's SYN offered (RFC 7323 1.3, RFC 2018 2).
 *
 * Context: sk lock held.
 * Return: the length written, a multiple of 4.
 */
unsigned int toytcp_syn_options(struct sock *sk, u8 *opt)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	bool offer = sk->sk_state == TCP_SYN_SENT;
	unsigned int len = 0;

	sock_owned_by_me(sk);
	BUILD_BUG_ON(TOYTCP_SYN_OPT_LEN > TOYTCP_MAX_OPT_LEN);
	opt[len++] = TCPOPT_MSS;
	opt[len++] = TCPOLEN_MSS;
	put_unaligned_be16(tsk->advmss, &opt[len]);
	len += 2;
	if (offer || tsk->wscale_ok) {
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_WINDOW;
		opt[len++] = TCPOLEN_WINDOW;
		opt[len++] = tsk->rcv_wscale;
	}
	if (offer || tsk->sack_ok) {
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_NOP;
		opt[len++] = TCPOPT_SACK_PERM;
		opt[len++] = TCPOLEN_SACK_PERM;
	}
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
