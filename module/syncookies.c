// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: SYN cookies (the model: net/ipv4/syncookies.c).
 *
 * A listener whose SYN queue is full answers further SYNs without keeping
 * any state: the SYN-ACK's sequence number is a cookie, a keyed hash of
 * the 4-tuple, the peer's ISN and a coarse clock, with an index into a
 * small table of MSS values folded in.  The peer's ACK returns it plus
 * one, and toytcp_cookie_check() recovers the MSS from it; a child is
 * created then, straight into ESTABLISHED.  A flood of SYNs from spoofed
 * addresses therefore costs no memory and does not stop real clients from
 * connecting.  The hash and its secret are Linux's own
 * (__cookie_v4_init_sequence(), __cookie_v4_check()).
 *
 * What the sequence number cannot hold rides in the timestamp, as on
 * Linux (cookie_init_timestamp(), cookie_timestamp_decode()): when the
 * SYN offers timestamps, the SYN-ACK's TSval carries the peer's window
 * scale and whether it offered SACK in its low 6 bits (the millisecond
 * clock below them, never ahead of it), the peer echoes it in the ACK's
 * TSecr, and the connection keeps window scaling and SACK.  A peer
 * without timestamps gets a SYN-ACK with the MSS alone: its connection
 * has a 64 KB window and recovers without SACK, as with Linux TCP.
 */
#include <net/ip.h>
#include <net/route.h>
#include <net/tcp.h>

#include "protocol.h"
#include "trace.h"

/* The low bits of a cookie's TSval (as net/ipv4/syncookies.c): the peer's
 * window scale, 0xf for none; SACK; ECN (never: toytcp has none).
 */
#define TOYTCP_TS_OPT_WSCALE_MASK	0xf
#define TOYTCP_TS_OPT_SACK		BIT(4)
#define TOYTCP_TS_OPT_BITS		6

/*
 * The TSval of a SYN-ACK with a cookie: the clock with @options in its
 * low bits, rounded down so that it is not ahead of the clock (the
 * connection's later TSvals must not go backwards), plus the offset the
 * connection will have.
 */
static u32 toytcp_cookie_tsval(u32 ts_off, u32 options)
{
	u32 now = (u32)div_u64(ktime_get_ns(), NSEC_PER_MSEC);
	u32 ts = (now & ~(BIT(TOYTCP_TS_OPT_BITS) - 1)) | options;

	if (ts > now)
		ts -= BIT(TOYTCP_TS_OPT_BITS);
	return ts + ts_off;
}

static int toytcp_cookie_v4_check(const struct iphdr *iph,
				  const struct tcphdr *th)
{
#if TOYTCP_COOKIE_CHECK_TAKES_COOKIE
	return __cookie_v4_check(iph, th, ntohl(th->ack_seq) - 1);
#else
	return __cookie_v4_check(iph, th);
#endif
}

/**
 * toytcp_cookie_window() - the window of a SYN-ACK that carries a cookie
 * @sk: the listener (or, later, its child)
 *
 * Unscaled, as in every SYN-ACK.
 *
 * Return: the window, at most 65535.
 */
u32 toytcp_cookie_window(const struct sock *sk)
{
	return min_t(u32, READ_ONCE(sk->sk_rcvbuf) / 2, 65535U);
}

/**
 * toytcp_cookie_wanted() - answer this SYN with a cookie?
 * @sk: the listener
 * @full: its SYN queue is full
 *
 * net.toytcp.syncookies: 0 never, 1 when the SYN queue is full (the
 * default, as Linux's net.ipv4.tcp_syncookies), 2 always.
 *
 * Return: true to send a cookie, false to drop the SYN (when @full) or to
 * queue a child for it.
 */
bool toytcp_cookie_wanted(const struct sock *sk, bool full)
{
	int mode = READ_ONCE(toytcp_pernet(sock_net(sk))->sysctl.syncookies);

	return mode == 2 || (mode == 1 && full);
}

/**
 * toytcp_cookie_send() - answer a SYN with a SYN-ACK and keep no state
 * @sk: the listener
 * @skb: the SYN, TOYTCP_SKB_CB() filled in, its IP and TCP headers intact
 *
 * Reads nothing of the listener that needs its lock.  The SYN-ACK's
 * options: the MSS; with timestamps also SACK and window scaling, as the
 * SYN offered them, kept in the TSval (toytcp_cookie_tsval()).
 *
 * Context: softirq or process, with or without the listener's sk lock.
 */
void toytcp_cookie_send(struct sock *sk, struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	struct net *net = sock_net(sk);
	struct toytcp_syn_opts o = { .wscale = -1 };
	unsigned int mtu, advmss, opt_len;
	u8 opt[TOYTCP_MAX_OPT_LEN];
	struct toytcp_opts synopts;
	struct sk_buff *rskb;
	struct tcphdr *rth;
	struct flowi4 fl4;
	struct rtable *rt;
	u32 isn, ts_off;
	u16 mss;

	rt = ip_route_output_ports(net, &fl4, NULL, iph->saddr, iph->daddr,
				   th->source, th->dest, IPPROTO_TCP, 0,
				   sk->sk_bound_dev_if);
	if (IS_ERR(rt))
		return;
	rskb = alloc_skb(MAX_TCP_HEADER, GFP_ATOMIC);
	if (!rskb) {
		ip_rt_put(rt);
		return;
	}
	skb_reserve(rskb, MAX_TCP_HEADER);

	/* The peer's MSS, rounded down to a table entry the cookie holds. */
	mss = cb->mss ? : TOYTCP_DEFAULT_MSS;
	isn = __cookie_v4_init_sequence(iph, th, &mss);
	mtu = dst_mtu(&rt->dst);
	advmss = clamp_t(unsigned int, mtu - sizeof(struct iphdr) -
			 sizeof(struct tcphdr), 64, TOYTCP_MAX_MSS);
	if (READ_ONCE(tsk->user_mss))
		advmss = min_t(unsigned int, advmss, READ_ONCE(tsk->user_mss));
	o.mss = advmss;
	toytcp_parse_options(th, &synopts);
	if (synopts.ts && toytcp_ts_enabled(net)) {
		u32 options = TOYTCP_TS_OPT_WSCALE_MASK;

		if (cb->wscale != 0xff) {
			options = cb->wscale;
			o.wscale = toytcp_select_wscale(sk);
		}
		if (cb->sacked)
			options |= TOYTCP_TS_OPT_SACK;
		o.sack = cb->sacked;
		o.ts = true;
		toytcp_secure_seq(net, iph->daddr, iph->saddr, th->dest,
				  th->source, &ts_off);
		o.tsval = toytcp_cookie_tsval(ts_off, options);
		o.tsecr = synopts.tsval;
	}
	opt_len = toytcp_write_syn_options(opt, &o);

	rth = skb_push(rskb, sizeof(*rth) + opt_len);
	skb_reset_transport_header(rskb);
	memset(rth, 0, sizeof(*rth));
	rth->source = th->dest;
	rth->dest = th->source;
	rth->seq = htonl(isn);
	rth->ack_seq = htonl(cb->seq + 1);
	rth->doff = (sizeof(*rth) + opt_len) >> 2;
	tcp_flag_byte(rth) = TOYTCP_SYN | TOYTCP_ACK;
	rth->window = htons(toytcp_cookie_window(sk));
	memcpy(rth + 1, opt, opt_len);
	rth->check = csum_tcpudp_magic(iph->daddr, iph->saddr, rskb->len,
				       IPPROTO_TCP,
				       csum_partial(rth, rskb->len, 0));
	rskb->ip_summed = CHECKSUM_NONE;
	rskb->mark = READ_ONCE(sk->sk_mark);
	skb_dst_set(rskb, &rt->dst);

	/* Cookies are checked for a while after the last one went out. */
	WRITE_ONCE(tsk->last_cookie, jiffies);
	TOYTCP_INC_STATS(net, TOYTCP_MIB_SYNCOOKIESSENT);
	TOYTCP_INC_STATS(net, TOYTCP_MIB_OUTSEGS);
	trace_toytcp_segment_sent(sk, isn, cb->seq + 1,
				  TOYTCP_SYN | TOYTCP_ACK, 0,
				  ntohs(rth->window));
	rcu_read_lock();	/* the listener's port reservation */
	toytcp_ip_xmit(sk, rskb, iph->daddr, iph->saddr, true);
	rcu_read_unlock();
}

/**
 * toytcp_cookie_check() - does this ACK return a cookie we sent?
 * @sk: the listener
 * @skb: an ACK without SYN or RST that matched no connection
 *
 * Only while cookies went out in the last two minutes (or all SYNs get
 * them): otherwise an attacker could try to guess one at leisure.
 *
 * Context: softirq or process, the listener's sk lock held.
 * Return: the MSS the cookie holds, or 0 when it is not a valid cookie.
 */
u16 toytcp_cookie_check(struct sock *sk, struct sk_buff *skb)
{
	unsigned long last = READ_ONCE(toytcp_sk(sk)->last_cookie);
	struct net *net = sock_net(sk);
	int mss;

	sock_owned_by_me(sk);
	if (!toytcp_cookie_wanted(sk, true))
		return 0;
	if (!toytcp_cookie_wanted(sk, false) &&
	    (!last || time_after(jiffies, last + TCP_SYNCOOKIE_VALID)))
		return 0;
	mss = toytcp_cookie_v4_check(ip_hdr(skb), tcp_hdr(skb));
	if (!mss) {
		TOYTCP_INC_STATS(net, TOYTCP_MIB_SYNCOOKIESFAILED);
		return 0;
	}
	TOYTCP_INC_STATS(net, TOYTCP_MIB_SYNCOOKIESRECV);
	return mss;
}

/**
 * toytcp_cookie_syn_options() - what the peer's SYN offered, as far as the
 * cookie kept it
 * @sk: the listener
 * @skb: the ACK that returned a valid cookie, its timestamps parsed
 * @mss: the MSS the cookie holds (toytcp_cookie_check())
 *
 * Fills in TOYTCP_SKB_CB() as for a SYN (toytcp_apply_syn_options()): the
 * MSS, and window scaling and SACK from the low bits of the TSecr, less
 * the connection's offset (as cookie_timestamp_decode()); none of the two
 * when the ACK has no timestamps, whose SYN-ACK offered neither.
 *
 * Context: softirq or process, the listener's sk lock held.
 */
void toytcp_cookie_syn_options(struct sock *sk, struct sk_buff *skb, u16 mss)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	u32 ts_off, options;

	cb->mss = mss;
	cb->wscale = 0xff;
	cb->sacked = 0;
	if (!cb->saw_ts)
		return;
	toytcp_secure_seq(sock_net(sk), iph->daddr, iph->saddr, th->dest,
			  th->source, &ts_off);
	options = cb->tsecr - ts_off;
	cb->sacked = !!(options & TOYTCP_TS_OPT_SACK);
	if ((options & TOYTCP_TS_OPT_WSCALE_MASK) != TOYTCP_TS_OPT_WSCALE_MASK)
		cb->wscale = min_t(u8, options & TOYTCP_TS_OPT_WSCALE_MASK,
				   TOYTCP_MAX_WSCALE);
}
