// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the receive hook, the one place where segments enter toytcp
 * (the model: tcp_v4_rcv() in net/ipv4/tcp_ipv4.c).
 *
 * Linux TCP holds IPPROTO_TCP, so toytcp takes its segments from IPv4
 * with a netfilter hook at LOCAL_IN (registered per namespace in
 * af_toytcp.c): a segment addressed to a toytcp socket has its header and
 * checksum checked here, and goes to the socket, or to its backlog while
 * the user owns it; every other segment goes on to Linux TCP untouched.
 */
#include <linux/netfilter.h>
#include <net/ip.h>
#include <net/netfilter/nf_conntrack.h>

#include "protocol.h"

/*
 * Check the TCP header of a segment a toytcp socket owns, verify its
 * checksum, fill in TOYTCP_SKB_CB() and pull the header: from here on
 * skb->data is the payload.  Returns why (and counts) for a segment to
 * drop, TOYTCP_NOT_DROPPED for a good one.
 */
static enum toytcp_drop_reason toytcp_prepare_segment(struct net *net,
						      struct sk_buff *skb)
{
	enum toytcp_drop_reason reason = TOYTCP_DROP_BAD_HEADER;
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	unsigned int hlen;

	hlen = th->doff * 4;
	if (hlen < sizeof(*th) || !pskb_may_pull(skb, hlen))
		goto err;
	/* Loopback and veth hand over CHECKSUM_PARTIAL skbs (never on a
	 * wire); everything else is verified here against the pseudo header.
	 */
	if (skb_checksum_init(skb, IPPROTO_TCP, inet_compute_pseudo) ||
	    (!skb_csum_unnecessary(skb) && __skb_checksum_complete(skb))) {
		TOYTCP_INC_STATS(net, TOYTCP_MIB_INCSUMERRORS);
		reason = TOYTCP_DROP_BAD_CHECKSUM;
		goto err;
	}
	th = tcp_hdr(skb);
	cb->seq = ntohl(th->seq);
	cb->ack_seq = ntohl(th->ack_seq);
	cb->flags = tcp_flag_byte(th) & (TOYTCP_FIN | TOYTCP_SYN | TOYTCP_RST |
					 TOYTCP_PSH | TOYTCP_ACK | TOYTCP_URG);
	cb->wnd = ntohs(th->window);
	cb->mss = 0;
	cb->wscale = 0xff;
	cb->retrans = 0;
	cb->sacked = 0;
	cb->end_seq = cb->seq + skb->len - hlen + th->syn + th->fin;
	if (th->syn) {
		struct toytcp_opts opts;

		toytcp_parse_options(th, &opts);
		cb->mss = opts.mss;
		cb->wscale = opts.wscale;
		cb->sacked = opts.sack_perm;
	}
	__skb_pull(skb, hlen);
	return TOYTCP_NOT_DROPPED;
err:
	TOYTCP_INC_STATS(net, TOYTCP_MIB_INERRS);
	return reason;
}

/*
 * How much the backlog may hold, with what the receive queue holds, while
 * the user owns the socket: tcp_add_backlog()'s limit.  The backlog's
 * count is reset only when release_sock() finds it empty, so against a
 * sender that keeps it busy it counts everything since then, segments
 * moved to the receive queue meanwhile included.
 */
static u32 toytcp_backlog_limit(const struct sock *sk)
{
	u64 limit = (u64)READ_ONCE(sk->sk_rcvbuf) << 1;

	limit += READ_ONCE(sk->sk_sndbuf) >> 1;
	limit += 64 * 1024;
	return min_t(u64, limit, UINT_MAX);
}

/**
 * toytcp_nf_hook() - take the segments addressed to toytcp sockets
 * @priv: unused
 * @skb: an IPv4 packet for this host, skb->data at its IP header
 * @state: the hook state; its net is the namespace the packet arrived in
 *
 * Every TCP segment that matches no toytcp socket goes on to Linux TCP
 * untouched.  One skb may carry many MSS of data (GRO on veth, large
 * segments on loopback); it is one segment in sequence space all the same.
 *
 * Context: softirq, RCU read side.
 * Return: NF_ACCEPT for packets that are not toytcp's, NF_STOLEN otherwise.
 */
unsigned int toytcp_nf_hook(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	enum toytcp_drop_reason reason;
	const struct tcphdr *th;
	struct sock *sk, *lsk;
	unsigned int thoff;

	if (iph->protocol != IPPROTO_TCP || skb->pkt_type != PACKET_HOST)
		return NF_ACCEPT;
	thoff = skb_network_offset(skb) + ip_hdrlen(skb);
	if (!pskb_may_pull(skb, thoff + sizeof(struct tcphdr)))
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	th = (const struct tcphdr *)(skb->data + thoff);
	sk = toytcp_lookup(state->net, iph->saddr, th->source, iph->daddr,
			   th->dest, inet_iif(skb));
	if (!sk)
		return NF_ACCEPT;

	TOYTCP_INC_STATS(state->net, TOYTCP_MIB_INSEGS);
	__skb_pull(skb, thoff);
	skb_reset_transport_header(skb);
	reason = toytcp_prepare_segment(state->net, skb);
	if (reason)
		goto drop;
	nf_reset_ct(skb);
	skb_dst_drop(skb);

process:
	if (READ_ONCE(sk->sk_state) == TCP_LISTEN &&
	    toytcp_listen_nolock(sk, skb)) {
		sock_put(sk);
		return NF_STOLEN;
	}
	bh_lock_sock_nested(sk);

	/* A connection in TIME-WAIT that a new SYN reopens: the TIME-WAIT
	 * socket says which listener takes the SYN instead (timewait.c).
	 */
	lsk = sock_owned_by_user(sk) ? NULL : toytcp_tw_reopen(sk, skb);
	if (unlikely(lsk)) {
		bh_unlock_sock(sk);
		sock_put(sk);
		sk = lsk;
		goto process;
	}

	if (!sock_owned_by_user(sk)) {
		toytcp_do_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, toytcp_backlog_limit(sk))) {
		bh_unlock_sock(sk);
		TOYTCP_INC_STATS(state->net, TOYTCP_MIB_BACKLOGDROPS);
		reason = TOYTCP_DROP_BACKLOG_FULL;
		goto drop;
	}
	bh_unlock_sock(sk);
	sock_put(sk);
	return NF_STOLEN;

drop:
	sock_put(sk);
	toytcp_drop(state->net, skb, reason);
	return NF_STOLEN;
}
