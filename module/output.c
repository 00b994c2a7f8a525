// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: building and sending segments (the model:
 * net/ipv4/tcp_output.c).  The send diagram's lower half: segments are cut
 * from the socket's send buffer (sk->sk_write_queue), get a TCP header in
 * front (toytcp_xmit()) and an IPv4 header (toytcp_ip_xmit(), as
 * __ip_queue_xmit() builds it) and go to the IPv4 layer's ip_local_out().
 * Also the route and MSS, the initial sequence
 * number, the receive window a segment announces, GSO and the
 * send-queue skbs (split, trimmed), and the control segments: ACK, RST,
 * SYN, FIN, the window and keepalive probe.
 */
#include <linux/bitops.h>
#include <linux/bpf-cgroup.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/secure_seq.h>

#include "protocol.h"
#include "trace.h"

static u32 toytcp_now_us(void)
{
	return (u32)div_u64(ktime_get_ns(), NSEC_PER_USEC);
}

/* Segments one GSO skb may carry on this socket's route: 1 without GSO. */
static u32 toytcp_gso_segs(const struct sock *sk)
{
	u32 mss = toytcp_sk(sk)->mss_cache;

	if (!sk_can_gso(sk) || !mss)
		return 1;
	return clamp_t(u32, min_t(u32, READ_ONCE(sk->sk_gso_max_segs),
				  (READ_ONCE(sk->sk_gso_max_size) -
				   MAX_TCP_HEADER) / mss),
		       1, TOYTCP_GSO_MAX_SEGS);
}

/*
 * GSO in software where the device has none, as Linux TCP gets from
 * sk_setup_caps() (which does it for sk_is_tcp() sockets only, AF_INET and
 * AF_INET6): a run of segments still goes down the stack as one skb and is
 * cut just before the driver, instead of each segment making the trip.
 */
static void toytcp_force_gso(struct sock *sk, const struct dst_entry *dst)
{
	if (sk->sk_gso_disabled || sk_can_gso(sk) || dst->header_len)
		return;
	sk->sk_route_caps |= NETIF_F_GSO | NETIF_F_GSO_SOFTWARE |
			     NETIF_F_SG | NETIF_F_HW_CSUM;
	sk->sk_gso_max_size = READ_ONCE(dst->dev->gso_max_size);
	sk->sk_gso_max_segs = max_t(u32, READ_ONCE(dst->dev->gso_max_segs), 1);
}

/**
 * toytcp_route() - find the route of a connection and cache it in the socket
 * @sk: socket with its destination (and maybe its source) set
 *
 * Fills in the source address when the socket has none yet.
 *
 * Context: sk lock held.
 * Return: 0 or a negative errno (-ENETUNREACH ...).
 */
int toytcp_route(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct flowi4 *fl4 = &inet->cork.fl.u.ip4;
	struct rtable *rt;

	sock_owned_by_me(sk);
	rt = ip_route_output_ports(sock_net(sk), fl4, sk, sk->sk_daddr,
				   inet->inet_saddr, sk->sk_dport,
				   inet->inet_sport, IPPROTO_TCP, 0,
				   sk->sk_bound_dev_if);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) {
		ip_rt_put(rt);
		return -ENETUNREACH;
	}
	if (!inet->inet_saddr) {
		inet->inet_saddr = fl4->saddr;
		sk->sk_rcv_saddr = fl4->saddr;
	}
	/* IP IDs of this connection's segments start at a random number,
	 * as tcp_v4_connect() makes Linux TCP's (ip_select_ident_segs()).
	 */
	if (!atomic_read(&inet->inet_id))
		atomic_set(&inet->inet_id, get_random_u16());
	sk->sk_gso_type = SKB_GSO_TCPV4;	/* see toytcp_xmit_gso() */
	sk_setup_caps(sk, &rt->dst);
	toytcp_force_gso(sk, &rt->dst);
	return 0;
}

/**
 * toytcp_sync_mss() - recompute the segment size from the route's MTU
 * @sk: a routed socket
 *
 * @advmss is what toytcp announces (MTU less the IPv4 and TCP headers);
 * @mss_cache is the largest payload it sends: no more than the peer
 * announced (kept in @mss_cache by the handshake) nor than the route allows,
 * less the timestamps option when the connection has one.
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 */
void toytcp_sync_mss(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct dst_entry *dst;
	unsigned int mtu, mss;

	sock_owned_by_me(sk);
	/* Under RCU as well as the sk lock (either satisfies
	 * __sk_dst_get()): from when a new child was set up without its
	 * lock, which lockdep reported as suspicious RCU usage.
	 */
	rcu_read_lock();
	dst = __sk_dst_get(sk);
	mtu = dst ? dst_mtu(dst) : 576;
	rcu_read_unlock();

	mss = clamp_t(unsigned int, mtu - sizeof(struct iphdr) -
		      sizeof(struct tcphdr), 64, TOYTCP_MAX_MSS);
	if (tsk->user_mss)
		mss = min_t(unsigned int, mss, tsk->user_mss);
	tsk->advmss = mss;
	if (tsk->ts_ok)		/* the payload beside the timestamps */
		mss -= TCPOLEN_TSTAMP_ALIGNED;
	if (!tsk->mss_cache || tsk->mss_cache > mss)
		WRITE_ONCE(tsk->mss_cache, mss);
}

/**
 * toytcp_set_iss() - set the initial send sequence number
 * @sk: the socket
 * @iss: the ISS
 *
 * Nothing sent yet: SND.UNA = SND.NXT = ISS, and the SYN will take ISS.
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 */
void toytcp_set_iss(struct sock *sk, u32 iss)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	tsk->iss = iss;
	tsk->recover = iss;	/* RFC 6582 3.2 step 1 */
	tsk->rack_time = toytcp_now_us();
	tsk->rack_end_seq = iss;
	tsk->high_sack = iss;
	tsk->snd_sml = iss;
	tsk->high_rxt = iss;
	WRITE_ONCE(tsk->snd_una, iss);
	tsk->snd_nxt = iss;
	WRITE_ONCE(tsk->write_seq, iss);
}

/**
 * toytcp_secure_seq() - the ISN and the timestamp offset of a connection
 * @net: its namespace
 * @saddr: the local address
 * @daddr: the peer's
 * @sport: the local port
 * @dport: the peer's
 * @ts_off: set to the offset of the connection's TSval
 *
 * RFC 6528: the ISN is a keyed hash of the 4-tuple plus a clock, Linux's
 * own (so a new incarnation of a connection starts above the old one, and
 * an off-path attacker cannot guess it).  RFC 7323 5.4: the TSval offset
 * is a keyed hash of the 4-tuple too, so that TSvals say nothing about
 * the host's uptime nor link its connections (compat.h: Linux's on 6.12,
 * toytcp's own on 6.1, which does not export it).
 *
 * Context: any.
 * Return: the ISN.
 */
u32 toytcp_secure_seq(const struct net *net, __be32 saddr, __be32 daddr,
		      __be16 sport, __be16 dport, u32 *ts_off)
{
	return toytcp_secure_seq_ts_off(net, saddr, daddr, sport, dport,
					ts_off);
}

/**
 * toytcp_init_seq() - choose the initial send sequence number and the
 * timestamp offset
 * @sk: the socket, with its 4-tuple set
 *
 * Context: sk lock held.
 */
void toytcp_init_seq(struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	toytcp_set_iss(sk, toytcp_secure_seq(sock_net(sk), inet->inet_saddr,
					     sk->sk_daddr, inet->inet_sport,
					     sk->sk_dport, &tsk->ts_off));
}

/**
 * toytcp_alloc_skb() - a new, empty skb for the send queue
 * @sk: the socket whose send buffer it is charged to
 * @gfp: allocation flags
 * @force: charge it beyond the host's limit if need be (a SYN, a FIN, a
 *	split), as tcp_stream_alloc_skb()'s force_schedule
 *
 * The payload goes into page fragments; the linear part is only headroom
 * for the TCP, IP and link headers.  Fast-clone, since every transmission
 * clones it.  Charged to sk_wmem_queued and the socket's memory (mem.c).
 *
 * Context: sk lock held.
 * Return: the skb or NULL (no memory, or not forced and the host holds
 * net.toytcp.mem's "max": the socket is then under memory pressure).
 */
struct sk_buff *toytcp_alloc_skb(struct sock *sk, gfp_t gfp, bool force)
{
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	skb = alloc_skb_fclone(MAX_TCP_HEADER, gfp);
	if (!skb)
		return NULL;
	if (!toytcp_wmem_schedule(sk, skb->truesize, force)) {
		__kfree_skb(skb);
		toytcp_enter_memory_pressure(sk);
		sk_stream_moderate_sndbuf(sk);
		return NULL;
	}
	sk_mem_charge(sk, skb->truesize);
	skb_reserve(skb, MAX_TCP_HEADER);
	/* The checksum is the device's business (toytcp_xmit()): without
	 * this, copying the user's data would also sum it, for nothing.
	 */
	skb->ip_summed = CHECKSUM_PARTIAL;
	memset(TOYTCP_SKB_CB(skb), 0, sizeof(struct toytcp_skb_cb));
	sk_wmem_queued_add(sk, skb->truesize);
	return skb;
}

/**
 * toytcp_free_skb() - free an skb of the send queue and uncharge it
 * @sk: its socket
 * @skb: an skb already unlinked from the queue
 *
 * Context: sk lock held.
 */
void toytcp_free_skb(struct sock *sk, struct sk_buff *skb)
{
	sock_owned_by_me(sk);
	if (toytcp_sk(sk)->sack_hint == skb)
		toytcp_sk(sk)->sack_hint = NULL;
	sk_wmem_queued_add(sk, -skb->truesize);
	sk_mem_uncharge(sk, skb->truesize);
	__kfree_skb(skb);
}

/**
 * __toytcp_select_window() - the receive window the next segment announces
 * @sk: the socket
 *
 * The share of the free receive buffer that payload gets (@rcv_ratio: skb
 * overhead eats the rest, much of it on veth, little on loopback), never less
 * than what is left of the window last advertised (RFC 9293 3.8.6.2.2: do
 * not shrink the window) and, against silly windows, grown only in steps of
 * at least one MSS or a quarter of the buffer.  Under memory pressure the
 * buffer is the socket's share of the namespace's (toytcp_rcv_budget()).
 * Changes nothing: toytcp_rcv_space_update() asks what it would be.
 *
 * Context: sk lock held.
 * Return: the window in bytes, a multiple of 1 << @rcv_wscale.
 */
u32 __toytcp_select_window(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int rcvbuf = toytcp_rcv_budget(sk);
	int space = rcvbuf - atomic_read(&sk->sk_rmem_alloc);
	u32 cur = tsk->rcv_wup + tsk->rcv_wnd - tsk->rcv_nxt;
	u32 win, step;

	sock_owned_by_me(sk);
	if ((s32)cur < 0)
		cur = 0;
	win = space > 0 ? (u32)(((u64)space * tsk->rcv_ratio) >> 8) : 0;
	step = min_t(u32, tsk->advmss, rcvbuf / 4);
	if (win < cur || win - cur < step)
		win = cur;
	win = min_t(u32, win, 65535U << tsk->rcv_wscale);
	/* Round up, so the scaled window never falls short of @cur. */
	return ALIGN(win, 1U << tsk->rcv_wscale);
}

/**
 * toytcp_select_window() - the receive window to put in a segment
 * @sk: the socket
 *
 * __toytcp_select_window(), now announced: from RCV.NXT on.
 *
 * Context: sk lock held.
 * Return: the window field, scaled down by @rcv_wscale.
 */
u32 toytcp_select_window(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 win = __toytcp_select_window(sk);

	tsk->rcv_wnd = win;
	tsk->rcv_wup = tsk->rcv_nxt;
	return min_t(u32, win >> tsk->rcv_wscale, 65535U);
}

/* ip_select_ttl(), which is static in ip_output.c: IP_TTL or the route's. */
static u8 toytcp_ttl(const struct sock *sk, const struct dst_entry *dst)
{
	int ttl = READ_ONCE(inet_sk(sk)->uc_ttl);

	return ttl < 0 ? ip4_dst_hoplimit(dst) : ttl;
}

/*
 * Egress cgroup-BPF, what ip_finish_output() runs for Linux TCP (and
 * systemd's IPAddressDeny= relies on): __cgroup_bpf_run_filter_skb()
 * ignores a socket of another family, so there it would let every toytcp
 * segment pass.  It runs here, with the socket of @sk's port reservation
 * (an AF_INET socket of the same process and cgroup; a child's is its
 * listener's), just before ip_local_out(): before LOCAL_OUT rather than
 * after POSTROUTING, the one place toytcp can call it without a netfilter
 * hook of its own.  The difference: the program sees the packet before
 * OUTPUT/POSTROUTING NAT (SNAT, MASQUERADE) rewrites it.  Its verdicts as
 * ip_finish_output() takes them: NET_XMIT_SUCCESS and NET_XMIT_CN send,
 * anything else drops.
 */
static int toytcp_cgroup_egress(struct sock *sk, struct sk_buff *skb)
{
	struct sock *port_sk;

	if (!cgroup_bpf_enabled(CGROUP_INET_EGRESS))
		return NET_XMIT_SUCCESS;
	port_sk = toytcp_port_sk(sk);
	if (!port_sk)
		return NET_XMIT_SUCCESS;
	return __cgroup_bpf_run_filter_skb(port_sk, skb, CGROUP_INET_EGRESS);
}

/**
 * toytcp_ip_xmit() - put the IPv4 header on a segment and send it
 * @sk: the socket it belongs to (or, for a reply, the one answering)
 * @skb: the segment, skb->data at its TCP header; routed already (a
 *	reply: skb_dst() set), or routed here with @sk's cached route
 * @saddr: the source address
 * @daddr: the destination address
 * @cgroup: run egress cgroup-BPF on it (replies that Linux would send
 *	from its per-namespace control socket, a reset to a stray segment,
 *	do not)
 *
 * Every segment toytcp sends goes through here.  As __ip_queue_xmit() and
 * ip_build_and_send_pkt(), but the IP header says IPPROTO_TCP whatever
 * sk->sk_protocol says: toytcp's sockets do not claim IPPROTO_TCP there
 * (see toytcp_init_sock()).  TOS and TTL come from the socket (IP_TOS,
 * IP_TTL), DF from IP_MTU_DISCOVER, the ID from the socket's counter;
 * IP options are refused (sockopt.c).  LOCAL_OUT and POSTROUTING follow
 * in ip_local_out(), as for Linux TCP.  The skb is consumed.
 *
 * Context: sk lock held for a connection's segments; any for replies.
 * Return: 0 or what ip_local_out() returns (NET_XMIT_CN ...), or a
 * negative errno when there is no route or the egress program dropped it.
 */
int toytcp_ip_xmit(struct sock *sk, struct sk_buff *skb, __be32 saddr,
		   __be32 daddr, bool cgroup)
{
	struct inet_sock *inet = inet_sk(sk);
	struct net *net = sock_net(sk);
	u8 tos = READ_ONCE(inet->tos);
	struct dst_entry *dst;
	struct iphdr *iph;
	int res, cn = 0;

	rcu_read_lock();
	dst = skb_dst(skb);
	if (!dst) {
		/* The socket's route, if still valid (a route or address
		 * change makes it stale); else route again.  ip_queue_xmit()
		 * would do the same, but also write sk->sk_protocol into the
		 * header.
		 */
		dst = __sk_dst_check(sk, 0);
		if (!dst) {
			if (toytcp_route(sk))
				goto no_route;
			dst = __sk_dst_get(sk);
			if (!dst)
				goto no_route;
		}
		skb_dst_set_noref(skb, dst);
	}

	iph = skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	*((__be16 *)iph) = htons((4 << 12) | (5 << 8) | tos);
	if (ip_dont_fragment(sk, dst) && !skb->ignore_df)
		iph->frag_off = htons(IP_DF);
	else
		iph->frag_off = 0;
	iph->ttl = toytcp_ttl(sk, dst);
	iph->protocol = IPPROTO_TCP;
	iph->saddr = saddr;
	iph->daddr = daddr;
	ip_select_ident_segs(net, skb, sk, skb_shinfo(skb)->gso_segs ? : 1);
	skb->priority = READ_ONCE(sk->sk_priority);
	if (!skb->mark)
		skb->mark = READ_ONCE(sk->sk_mark);
	skb->protocol = htons(ETH_P_IP);

	if (cgroup) {
		/* What ip_local_out() fills in, for the program to read. */
		iph->tot_len = htons(skb->len);
		ip_send_check(iph);
		cn = toytcp_cgroup_egress(sk, skb);
		if (cn != NET_XMIT_SUCCESS && cn != NET_XMIT_CN) {
			rcu_read_unlock();
			kfree_skb_reason(skb, SKB_DROP_REASON_BPF_CGROUP_EGRESS);
			return cn;
		}
	}
	res = ip_local_out(net, skb->sk, skb);
	rcu_read_unlock();
	return res ? : cn;

no_route:
	rcu_read_unlock();
	IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
	kfree_skb_reason(skb, SKB_DROP_REASON_IP_OUTNOROUTES);
	return -EHOSTUNREACH;
}

/*
 * Put the TCP header in front of @skb's payload and hand it to IPv4
 * (toytcp_ip_xmit(), with the route cached in the socket).  The skb is
 * consumed.
 */
static int toytcp_xmit(struct sock *sk, struct sk_buff *skb, u8 flags, u32 seq)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	unsigned int opt_len = 0;
	u8 opt[TOYTCP_MAX_OPT_LEN];
	struct tcphdr *th;

	if (flags & TOYTCP_SYN) {
		opt_len = toytcp_syn_options(sk, opt);
	} else {
		/* Options count against the peer's MSS (RFC 6691): the
		 * timestamps are out of @mss_cache already; no SACK where it
		 * would not fit beside the payload, nor on a reset.  The
		 * timestamps go on an abort's reset too (as Linux's
		 * tcp_send_active_reset()); toytcp_send_reset(), which
		 * answers a segment, has none.
		 */
		int sack_room = TOYTCP_MAX_OPT_LEN;

		if (skb->len)
			sack_room = clamp_t(int, (int)tsk->mss_cache -
					    (int)skb->len, 0, sack_room);
		if ((flags & (TOYTCP_ACK | TOYTCP_RST)) != TOYTCP_ACK)
			sack_room = 0;
		opt_len = toytcp_established_options(sk, opt, true,
						     sack_room);
	}

	th = skb_push(skb, sizeof(*th) + opt_len);
	skb_reset_transport_header(skb);
	memset(th, 0, sizeof(*th));
	th->source = inet->inet_sport;
	th->dest = inet->inet_dport;
	th->seq = htonl(seq);
	th->doff = (sizeof(*th) + opt_len) >> 2;
	tcp_flag_byte(th) = flags;
	if (flags & TOYTCP_ACK) {
		th->ack_seq = htonl(tsk->rcv_nxt);
		/* This ACK is the one a delayed ACK, or the one the
		 * backlog deferred, would have sent.
		 */
		tsk->rcv_unacked = 0;
		if (tsk->ack_pending) {
			tsk->ack_pending = false;
			sk_stop_timer(sk, &tsk->delack_timer);
		}
		if (test_bit(TOYTCP_ACK_DEFERRED, &tsk->deferred))
			clear_bit(TOYTCP_ACK_DEFERRED, &tsk->deferred);
	}
	if (flags & TOYTCP_SYN)	/* windows in SYNs are never scaled */
		th->window = htons(min_t(u32, tsk->rcv_wnd, 65535U));
	else if (!(flags & TOYTCP_RST))
		th->window = htons(toytcp_select_window(sk));
	if (opt_len)
		memcpy(th + 1, opt, opt_len);

	/* The device (or skb_checksum_help() before it) folds the sum over
	 * the header and payload into th->check, which holds the
	 * pseudo-header sum meanwhile.
	 */
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct tcphdr, check);
	th->check = ~csum_tcpudp_magic(inet->inet_saddr, inet->inet_daddr,
				       skb->len, IPPROTO_TCP, 0);

	/* In flight, the skb pins the socket's memory (sk_wmem_alloc). */
	skb_set_owner_w(skb, sk);
	memset(skb->cb, 0, sizeof(struct inet_skb_parm));

	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_OUTSEGS);
	if (flags & TOYTCP_RST)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_OUTRSTS);
	trace_toytcp_segment_sent(sk, seq, ntohl(th->ack_seq), flags,
				  skb->len - th->doff * 4, ntohs(th->window));
	/* A segment that IPv4, netfilter or an egress program drops is lost
	 * as on a wire: the send queue keeps it, and the retransmission
	 * timer sends it again (tcp_connect() treats its SYN so).  Stopping
	 * here instead would leave a SYN, or data with nothing in flight,
	 * with no timer to retry it: connect() would never end.
	 */
	toytcp_ip_xmit(sk, skb, inet->inet_saddr, inet->inet_daddr, true);
	return 0;
}

/**
 * toytcp_transmit_skb() - send (or resend) a segment of the send queue
 * @sk: the socket
 * @skb: the segment; it stays queued until it is acknowledged
 *
 * Sends one segment: an skb of more than one MSS is split first, and the
 * rest waits in the queue right after it.  The queued skb keeps the
 * payload; a clone (or a copy while an earlier clone is still in flight)
 * carries the header to IP.
 *
 * Context: sk lock held.
 * Return: 0 or a negative errno.
 */
int toytcp_transmit_skb(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *c;
	u8 flags;

	sock_owned_by_me(sk);
	/* One segment: the rest of a larger skb stays queued behind it. */
	if (skb->len > tsk->mss_cache &&
	    toytcp_fragment(sk, skb, tsk->mss_cache))
		return -ENOMEM;
	flags = cb->flags;

	if (sk->sk_state != TCP_SYN_SENT)
		flags |= TOYTCP_ACK;
	/* Sent before: a retransmission (and no RTT sample from it). */
	if (!toytcp_after(cb->end_seq, tsk->snd_nxt)) {
		cb->retrans++;
		tsk->total_retrans++;
		if (tsk->undo_ok)	/* to be reported by D-SACK, if needless */
			tsk->undo_retrans++;
		if (!tsk->retrans_stamp)
			tsk->retrans_stamp = jiffies ? : 1;
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_RETRANSSEGS);
		trace_toytcp_retransmit(sk, cb->seq, cb->end_seq, cb->retrans);
	}
	tsk->bytes_sent += skb->len;
	if (unlikely(skb_cloned(skb)))
		c = pskb_copy(skb, GFP_ATOMIC);
	else
		c = skb_clone(skb, GFP_ATOMIC);
	if (!c)
		return -ENOBUFS;
	cb->when = toytcp_now_us();
	return toytcp_xmit(sk, c, flags, cb->seq);
}

static struct sk_buff *toytcp_alloc_ctl_skb(gfp_t gfp)
{
	struct sk_buff *skb = alloc_skb(MAX_TCP_HEADER, gfp);

	if (skb)
		skb_reserve(skb, MAX_TCP_HEADER);
	return skb;
}

/**
 * toytcp_send_ack() - send a bare ACK with the current RCV.NXT and window
 * @sk: a synchronized socket
 *
 * Context: sk lock held.
 */
void toytcp_send_ack(struct sock *sk)
{
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN)
		return;
	skb = toytcp_alloc_ctl_skb(GFP_ATOMIC);
	if (skb)
		toytcp_xmit(sk, skb, TOYTCP_ACK, toytcp_sk(sk)->snd_nxt);
}

/**
 * toytcp_send_probe() - a window probe: an old sequence number, so the peer
 * answers with an ACK that carries its current window
 * @sk: the socket
 *
 * Context: sk lock held.
 */
void toytcp_send_probe(struct sock *sk)
{
	struct sk_buff *skb = toytcp_alloc_ctl_skb(GFP_ATOMIC);

	sock_owned_by_me(sk);
	if (skb)
		toytcp_xmit(sk, skb, TOYTCP_ACK, toytcp_sk(sk)->snd_una - 1);
}

/**
 * toytcp_send_active_reset() - abort the connection towards the peer
 * @sk: the socket
 * @gfp: allocation flags
 *
 * Context: sk lock held.
 */
void toytcp_send_active_reset(struct sock *sk, gfp_t gfp)
{
	struct sk_buff *skb = toytcp_alloc_ctl_skb(gfp);

	sock_owned_by_me(sk);
	if (skb)
		toytcp_xmit(sk, skb, TOYTCP_RST | TOYTCP_ACK,
			    toytcp_sk(sk)->snd_nxt);
}

/**
 * toytcp_send_reset() - answer an unacceptable segment with a reset
 * @sk: the socket the segment reached (a listener, or a socket in SYN-SENT)
 * @skb: the segment, TOYTCP_SKB_CB() filled in, its IP header intact
 *
 * RFC 9293 3.10.7.1: if the segment has an ACK, the reset takes its
 * sequence number from SEG.ACK; otherwise it has sequence number zero and
 * acknowledges everything the segment occupied.
 *
 * Context: softirq or process.  The callers hold @sk's lock, but this
 * reads nothing it protects (only @sk's namespace and bound device, and
 * @skb), so it does not assert it.
 */
void toytcp_send_reset(struct sock *sk, struct sk_buff *skb)
{
	const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	struct net *net = sock_net(sk);
	struct sk_buff *rskb;
	struct tcphdr *rth;
	struct flowi4 fl4;
	struct rtable *rt;

	if (cb->flags & TOYTCP_RST)
		return;
	rt = ip_route_output_ports(net, &fl4, NULL, iph->saddr, iph->daddr,
				   th->source, th->dest, IPPROTO_TCP, 0,
				   sk->sk_bound_dev_if);
	if (IS_ERR(rt))
		return;
	rskb = toytcp_alloc_ctl_skb(GFP_ATOMIC);
	if (!rskb) {
		ip_rt_put(rt);
		return;
	}
	rth = skb_push(rskb, sizeof(*rth));
	skb_reset_transport_header(rskb);
	memset(rth, 0, sizeof(*rth));
	rth->source = th->dest;
	rth->dest = th->source;
	rth->doff = sizeof(*rth) >> 2;
	if (cb->flags & TOYTCP_ACK) {
		rth->seq = htonl(cb->ack_seq);
		tcp_flag_byte(rth) = TOYTCP_RST;
	} else {
		rth->ack_seq = htonl(cb->end_seq);
		tcp_flag_byte(rth) = TOYTCP_RST | TOYTCP_ACK;
	}
	rth->check = csum_tcpudp_magic(iph->daddr, iph->saddr, rskb->len,
				       IPPROTO_TCP,
				       csum_partial(rth, rskb->len, 0));
	rskb->ip_summed = CHECKSUM_NONE;
	skb_dst_set(rskb, &rt->dst);
	TOYTCP_INC_STATS(net, TOYTCP_MIB_OUTSEGS);
	TOYTCP_INC_STATS(net, TOYTCP_MIB_OUTRSTS);
	/* Not the user's traffic: Linux answers such a segment from its
	 * control socket, outside the user's cgroup.
	 */
	toytcp_ip_xmit(sk, rskb, iph->daddr, iph->saddr, false);
}

static void toytcp_queue_skb(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	__skb_queue_tail(&sk->sk_write_queue, skb);
	if (!tsk->send_head)
		tsk->send_head = skb;
	WRITE_ONCE(tsk->write_seq, TOYTCP_SKB_CB(skb)->end_seq);
}

/**
 * toytcp_send_syn() - queue and send the SYN (or, in SYN-RECEIVED, SYN-ACK)
 * @sk: a routed socket with its initial sequence number chosen
 *
 * The SYN sits in the send queue like data, so that the retransmission
 * timer resends it until it is acknowledged.
 *
 * Context: sk lock held (a new child's too: toytcp_create_child() takes it).
 * Return: 0 or -ENOBUFS.
 */
int toytcp_send_syn(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	skb = toytcp_alloc_skb(sk, gfp_any(), true);
	if (!skb)
		return -ENOBUFS;
	TOYTCP_SKB_CB(skb)->seq = tsk->iss;
	TOYTCP_SKB_CB(skb)->end_seq = tsk->iss + 1;
	TOYTCP_SKB_CB(skb)->flags = TOYTCP_SYN;
	toytcp_queue_skb(sk, skb);
	toytcp_write_xmit(sk);
	return 0;
}

/**
 * toytcp_send_fin() - queue a FIN after the data in the send queue
 * @sk: a socket in a state that may send one
 *
 * Rides on the last segment when it was never sent.
 *
 * Context: process, sk lock held.
 */
void toytcp_send_fin(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	sock_owned_by_me(sk);
	if (tsk->fin_sent)
		return;
	tsk->fin_sent = true;
	/* Unsent: at or after send_head (a timeout may have rewound it to
	 * before a tail sent already).
	 */
	if (skb && tsk->send_head &&
	    !toytcp_before(TOYTCP_SKB_CB(skb)->seq, tsk->snd_nxt) &&
	    !(TOYTCP_SKB_CB(skb)->flags & (TOYTCP_SYN | TOYTCP_FIN))) {
		TOYTCP_SKB_CB(skb)->flags |= TOYTCP_FIN;
		TOYTCP_SKB_CB(skb)->end_seq++;
		WRITE_ONCE(tsk->write_seq, tsk->write_seq + 1);
	} else {
		skb = toytcp_alloc_skb(sk, GFP_KERNEL | __GFP_NOFAIL, true);
		TOYTCP_SKB_CB(skb)->seq = tsk->write_seq;
		TOYTCP_SKB_CB(skb)->end_seq = tsk->write_seq + 1;
		TOYTCP_SKB_CB(skb)->flags = TOYTCP_FIN;
		toytcp_queue_skb(sk, skb);
	}
	toytcp_write_xmit(sk);
}

/*
 * Give a queued skb its own fragment array (a clone of it may be in
 * flight): as skb_unclone_keeptruesize(), which modules cannot call; the
 * change of truesize goes to sk_wmem_queued and the socket's memory.
 */
static int toytcp_unclone(struct sock *sk, struct sk_buff *skb)
{
	unsigned int truesize = skb->truesize;
	int delta;

	if (!skb_cloned(skb))
		return 0;
	if (pskb_expand_head(skb, 0, 0, GFP_ATOMIC))
		return -ENOMEM;
	delta = (int)(skb->truesize - truesize);
	sk_wmem_queued_add(sk, delta);
	if (delta > 0)
		toytcp_wmem_schedule(sk, delta, true);
	sk_mem_charge(sk, delta);
	return 0;
}

/*
 * As tcp_fragment()'s bound (the fix of CVE-2019-11478): a peer that SACKs
 * every other byte would split the queue into skbs of one byte each, many
 * times the memory of their data.  Once the queue holds more than twice
 * the send buffer and two 64 KB skbs (sendmsg() may overshoot by one), no
 * more splitting, except of the first and the last skb sent (which
 * recovery and sending must be able to cut) and of data never sent.
 * SKB_TRUESIZE(GSO_LEGACY_MAX_SIZE) as 6.12 (6.1's GSO_MAX_SIZE grew with
 * BIG TCP; its tcp_fragment() says GSO_LEGACY_MAX_SIZE too, 64 KB).
 */
static bool toytcp_queue_too_big(struct sock *sk, const struct sk_buff *skb)
{
	long limit = (long)READ_ONCE(sk->sk_sndbuf) +
		     2 * SKB_TRUESIZE(GSO_LEGACY_MAX_SIZE);
	const struct sk_buff *tail;

	if (likely((sk->sk_wmem_queued >> 1) <= limit))
		return false;
	if (skb == skb_peek(&sk->sk_write_queue) ||
	    !toytcp_before(TOYTCP_SKB_CB(skb)->seq, toytcp_sk(sk)->snd_nxt))
		return false;
	/* The last skb sent: the one before send_head, or the tail. */
	tail = toytcp_sk(sk)->send_head ? toytcp_sk(sk)->send_head->prev :
	       skb_peek_tail(&sk->sk_write_queue);
	if (skb == tail)
		return false;
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_WQUEUETOOBIG);
	return true;
}

/**
 * toytcp_fragment() - split an skb of the send queue in two
 * @sk: its socket
 * @skb: the skb; it keeps its first @len bytes
 * @len: bytes of payload to keep, less than skb->len
 *
 * The rest moves to a new skb queued right after it, which inherits what
 * is known about its transmissions (as tcp_fragment()).  A clone of @skb
 * still in flight shares its fragment array, so @skb gets its own first.
 * Refused, as tcp_fragment() refuses, when the queue is already far
 * above the send buffer (toytcp_queue_too_big(), WQueueTooBig).
 *
 * Context: sk lock held (or softirq owning the socket).
 * Return: 0 or -ENOMEM.
 */
int toytcp_fragment(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb), *ncb;
	u32 nlen = skb->len - len;
	struct sk_buff *nskb;

	sock_owned_by_me(sk);
	if (WARN_ON_ONCE(!len || len >= skb->len))
		return -EINVAL;
	if (toytcp_queue_too_big(sk, skb))
		return -ENOMEM;
	if (toytcp_unclone(sk, skb))
		return -ENOMEM;
	nskb = toytcp_alloc_skb(sk, GFP_ATOMIC, true);
	if (!nskb)
		return -ENOMEM;
	skb_split(skb, nskb, len);
	skb->truesize -= nlen;
	nskb->truesize += nlen;
	ncb = TOYTCP_SKB_CB(nskb);
	ncb->seq = cb->seq + len;
	ncb->end_seq = cb->end_seq;
	ncb->flags = cb->flags & ~TOYTCP_SYN;
	ncb->when = cb->when;
	ncb->retrans = cb->retrans;
	ncb->sacked = cb->sacked;
	ncb->nosample = cb->nosample;
	cb->end_seq = ncb->seq;
	cb->flags &= ~(TOYTCP_FIN | TOYTCP_PSH);
	__skb_queue_after(&sk->sk_write_queue, skb, nskb);
	return 0;
}

/**
 * toytcp_trim_head() - drop the acknowledged head of an skb of the queue
 * @sk: its socket
 * @skb: an skb whose payload is all in page fragments
 * @len: bytes to drop, less than skb->len
 *
 * As tcp_trim_head(): the peer acknowledged part of a segment (a
 * retransmission cut differently, or a peer that acknowledges mid-way).
 *
 * Context: sk lock held (or softirq owning the socket).
 * Return: 0 or -ENOMEM.
 */
int toytcp_trim_head(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct skb_shared_info *sh;
	int i, k = 0, eat = len;

	sock_owned_by_me(sk);
	if (WARN_ON_ONCE(!len || len >= skb->len || skb_headlen(skb)))
		return -EINVAL;
	if (toytcp_unclone(sk, skb))
		return -ENOMEM;
	sh = skb_shinfo(skb);
	for (i = 0; i < sh->nr_frags; i++) {
		int size = skb_frag_size(&sh->frags[i]);

		if (size <= eat) {
			skb_frag_unref(skb, i);
			eat -= size;
			continue;
		}
		sh->frags[k] = sh->frags[i];
		if (eat) {
			skb_frag_off_add(&sh->frags[k], eat);
			skb_frag_size_sub(&sh->frags[k], eat);
			eat = 0;
		}
		k++;
	}
	sh->nr_frags = k;
	skb->len -= len;
	skb->data_len -= len;
	skb->truesize -= len;
	sk_wmem_queued_add(sk, -(int)len);
	sk_mem_uncharge(sk, len);
	TOYTCP_SKB_CB(skb)->seq += len;
	return 0;
}

/**
 * toytcp_size_goal() - how much payload one skb of the send queue holds
 * @sk: the socket
 *
 * As many full segments as one GSO skb may carry (tcp_size_goal()): data
 * is copied into skbs of up to 64 KB, each sent as one GSO skb and cut
 * into segments by the device or just before it.  One MSS where the route
 * allows no GSO.
 *
 * Context: sk lock held.
 */
u32 toytcp_size_goal(const struct sock *sk)
{
	u32 mss = toytcp_sk(sk)->mss_cache;

	sock_owned_by_me(sk);
	return mss * toytcp_gso_segs(sk);
}

/**
 * toytcp_write_xmit() - send what the windows allow from the send queue
 * @sk: the socket
 *
 * Sends from @send_head while the segment fits into both the peer's
 * window and the congestion window.  With nothing in flight and a window
 * too small for the next segment, sends as much as fits (so a small
 * window cannot stall the connection); with a zero window, leaves it to
 * the persist timer.
 *
 * Context: sk lock held.
 */
void toytcp_write_xmit(struct sock *sk)
{
	sock_owned_by_me(sk);
	__toytcp_write_xmit(sk, false);
}

/*
 * The fragments @q adds to a GSO skb whose last fragment ends at
 * @*end_page + @*end_off: one that continues it is merged (see
 * toytcp_xmit_gso()).  Moves the end to @q's last fragment.
 */
static int toytcp_gso_new_frags(const struct sk_buff *q,
				struct page **end_page, unsigned int *end_off)
{
	const struct skb_shared_info *sh = skb_shinfo(q);
	int i, n = 0;

	for (i = 0; i < sh->nr_frags; i++) {
		const skb_frag_t *f = &sh->frags[i];

		if (skb_frag_page(f) != *end_page ||
		    skb_frag_off(f) != *end_off)
			n++;
		*end_page = skb_frag_page(f);
		*end_off = skb_frag_off(f) + skb_frag_size(f);
	}
	return n;
}

/*
 * GSO: one skb carries several new full-sized segments of the send queue,
 * and the device (with TSO), or skb_gso_segment() before one without, cuts
 * it into MSS-sized TCP segments (tcp4_gso_segment() fixes up sequence
 * numbers, flags and checksums) as it does for Linux TCP.  The skbs of the
 * send queue hold whole segments here (one, or up to toytcp_size_goal()
 * bytes as sendmsg() filled them); the GSO skb only references their
 * pages, and the queue keeps them for SACK, RACK and retransmission, which
 * split them where they need to (toytcp_fragment()).
 * Returns the number of segments sent, 0 when fewer than two qualify (the
 * caller sends one the usual way), or a negative errno.
 */
static int toytcp_xmit_gso(struct sock *sk, struct sk_buff *first, u32 wnd_end)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *q = first, *last = NULL, *nskb;
	unsigned int mss = tsk->mss_cache, end_off = 0;
	int n = 0, nfrags = 0, i, err;
	struct page *end_page = NULL;
	unsigned int max_segs;
	u32 now;

	max_segs = toytcp_gso_segs(sk);
	while (q && n < max_segs) {
		const struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(q);
		int more;

		if (!q->len || q->len % mss || q->len / mss > max_segs - n ||
		    skb_headlen(q) ||
		    (cb->flags & (TOYTCP_SYN | TOYTCP_FIN)) ||
		    toytcp_after(cb->end_seq, wnd_end))
			break;
		/* Fragments after merging (as below): segments copied one
		 * after another share pages, so 44 fit in far fewer than
		 * MAX_SKB_FRAGS.
		 */
		more = toytcp_gso_new_frags(q, &end_page, &end_off);
		if (nfrags + more > MAX_SKB_FRAGS)
			break;
		nfrags += more;
		last = q;
		n += q->len / mss;
		q = skb_queue_is_last(&sk->sk_write_queue, q) ? NULL : q->next;
	}
	if (n < 2)
		return 0;

	nskb = toytcp_alloc_ctl_skb(GFP_ATOMIC);
	if (!nskb)
		return -ENOBUFS;
	now = toytcp_now_us();
	for (q = first; ; q = q->next) {
		for (i = 0; i < skb_shinfo(q)->nr_frags; i++) {
			const skb_frag_t *src = &skb_shinfo(q)->frags[i];
			struct skb_shared_info *sh = skb_shinfo(nskb);
			skb_frag_t *f = sh->nr_frags ?
					&sh->frags[sh->nr_frags - 1] : NULL;

			/* Segments filled one after another from the same
			 * page frag are contiguous: one fragment for them.
			 */
			if (f && skb_frag_page(f) == skb_frag_page(src) &&
			    skb_frag_off(f) + skb_frag_size(f) ==
			    skb_frag_off(src)) {
				skb_frag_size_add(f, skb_frag_size(src));
				continue;
			}
			f = &sh->frags[sh->nr_frags++];
			*f = *src;
			__skb_frag_ref(f);
		}
		nskb->len += q->len;
		nskb->data_len += q->len;
		nskb->truesize += q->len;
		TOYTCP_SKB_CB(q)->when = now;
		tsk->bytes_sent += q->len;
		if (q == last)
			break;
	}
	skb_shinfo(nskb)->gso_size = mss;
	skb_shinfo(nskb)->gso_type = SKB_GSO_TCPV4;
	skb_shinfo(nskb)->gso_segs = n;
	err = toytcp_xmit(sk, nskb, TOYTCP_ACK |
			  (TOYTCP_SKB_CB(last)->flags & TOYTCP_PSH),
			  TOYTCP_SKB_CB(first)->seq);
	if (err)
		return err;
	TOYTCP_ADD_STATS(sock_net(sk), TOYTCP_MIB_OUTSEGS, n - 1);
	tsk->send_head = skb_queue_is_last(&sk->sk_write_queue, last) ?
			 NULL : last->next;
	tsk->snd_nxt = TOYTCP_SKB_CB(last)->end_seq;
	return n;
}

/*
 * As tcp_tso_should_defer(): the window ends inside @skb, @room bytes
 * before its end, with data in flight.  Rather than send that part now,
 * wait for the next ACK, which opens the window further: one larger GSO
 * skb then goes where ACK clocking would send a train of two-segment ones
 * (and a qdisc or link that drops packets meets fewer of them).  Not when
 * a full GSO skb or a third of the window fits anyway, in recovery, when
 * the last new data left more than 1 ms ago (a burst after a pause), when
 * the ACK of the oldest data in flight is not due within half an RTT, or
 * when nothing can follow (a FIN).
 */
static bool toytcp_tso_should_defer(struct sock *sk, struct sk_buff *skb,
				    u32 room)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 win = min(tsk->snd_wnd, tsk->cwnd * tsk->mss_cache);
	struct sk_buff *head = skb_peek(&sk->sk_write_queue);
	u32 now;

	if (tsk->snd_nxt == tsk->snd_una || tsk->in_recovery || !head ||
	    head == skb || (TOYTCP_SKB_CB(skb)->flags & TOYTCP_FIN))
		return false;
	if (room >= toytcp_size_goal(sk) || room >= win / 3)
		return false;
	now = toytcp_now_us();	/* only once the cheap tests passed */
	if (now - TOYTCP_SKB_CB(skb->prev)->when > USEC_PER_MSEC)
		return false;
	return now - TOYTCP_SKB_CB(head)->when >= tsk->srtt_us / 2;
}

/*
 * Data from @seq went out: the retransmission timer runs if it did not,
 * and the first new data in flight (nothing sent before it unacknowledged)
 * gets the whole RTO, not what is left of a timer armed for held data
 * (persist.c), as tcp_event_new_data_sent() re-arms it.
 */
static void toytcp_sent_arm_rto(struct sock *sk, u32 seq, bool resend)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (!toytcp_retrans_timer_armed(tsk) ||
	    (!resend && seq == tsk->snd_una))
		toytcp_reset_retrans_timer(sk);
}

/**
 * __toytcp_write_xmit() - send from the send queue
 * @sk: the socket
 * @one: send one segment, beyond the congestion window if need be
 *	(toytcp_send_one_new()), rather than all the windows allow
 *
 * Context: sk lock held.
 */
void __toytcp_write_xmit(struct sock *sk, bool one)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 nxt = tsk->snd_nxt, mss = tsk->mss_cache;
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	/* Nothing leaves a closed socket, whatever its queue still holds (a
	 * reset one, then TCP_NODELAY or uncorking): as
	 * __tcp_push_pending_frames().
	 */
	if (unlikely(sk->sk_state == TCP_CLOSE))
		return;
	while ((skb = tsk->send_head)) {
		struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
		bool resend = !toytcp_after(cb->end_seq, tsk->snd_nxt);
		u32 wnd_end, cwnd_bytes;

		/* Going back after a timeout: what was SACKed arrived. */
		if (resend && cb->sacked) {
			tsk->send_head = skb_queue_is_last(&sk->sk_write_queue,
							   skb) ? NULL : skb->next;
			continue;
		}
		/* Several segments in one skb go out as one GSO skb: the
		 * last one goes on its own when it is short (Nagle decides
		 * on it) or carries the FIN (toytcp_xmit_gso() sends none);
		 * and no more than the route's GSO takes (it may have
		 * changed since the skb was filled).
		 */
		if (!resend && skb->len > mss) {
			u32 keep = 0, goal = toytcp_size_goal(sk);

			if (skb->len > goal)
				keep = goal;
			else if (skb->len % mss)
				keep = rounddown(skb->len, mss);
			else if (cb->flags & TOYTCP_FIN)
				keep = skb->len - mss;
			if (keep && toytcp_fragment(sk, skb, keep))
				break;
		}
		/* Nagle (RFC 9293 3.7.4) and TCP_CORK: a small segment at
		 * the tail waits until uncorked, or (Nagle) while data is
		 * unacknowledged, so that it can fill up.  As Linux's
		 * tcp_nagle_check(), Minshall's variant: only while a small
		 * segment is, so the tail of a large write goes at once;
		 * and TCP_NODELAY or uncorking pushes what is queued
		 * (@nagle_push, TCP_NAGLE_PUSH).
		 */
		if (!resend && !one && skb->len < mss &&
		    !(cb->flags & (TOYTCP_SYN | TOYTCP_FIN)) &&
		    skb_queue_is_last(&sk->sk_write_queue, skb) &&
		    !tsk->nagle_push &&
		    (tsk->cork ||
		     (!tsk->nodelay && toytcp_after(tsk->snd_sml, tsk->snd_una) &&
		      !toytcp_after(tsk->snd_sml, tsk->snd_nxt))))
			break;

		/* SACKed bytes have left the network (RFC 6675 "pipe"). */
		cwnd_bytes = tsk->cwnd * mss + tsk->sacked_bytes;
		if (one)
			cwnd_bytes = U32_MAX;
		wnd_end = tsk->snd_una + min(tsk->snd_wnd, cwnd_bytes);
		if (!(cb->flags & TOYTCP_SYN) &&
		    toytcp_after(cb->seq + skb->len, wnd_end)) {
			u32 room = toytcp_after(wnd_end, cb->seq) ?
				   wnd_end - cb->seq : 0;

			/* The whole segments that fit go now (a resend and
			 * "one" send only the first: toytcp_transmit_skb()
			 * cuts it off); less than one only when nothing is in
			 * flight.
			 */
			if (room >= mss) {
				if (!resend && !one &&
				    (toytcp_tso_should_defer(sk, skb, room) ||
				     toytcp_fragment(sk, skb, rounddown(room, mss))))
					break;
			} else if (tsk->snd_nxt != tsk->snd_una || !room ||
				   toytcp_fragment(sk, skb, room)) {
				break;
			}
		}
		if (!resend && !one) {
			int n = toytcp_xmit_gso(sk, skb, wnd_end);

			if (n < 0)
				break;
			if (n) {
				toytcp_sent_arm_rto(sk, cb->seq, false);
				continue;
			}
		}
		if (toytcp_transmit_skb(sk, skb))
			break;
		tsk->send_head = skb_queue_is_last(&sk->sk_write_queue, skb) ?
				 NULL : skb->next;
		if (!resend && skb->len < mss)	/* Minshall */
			tsk->snd_sml = cb->end_seq;
		if (toytcp_after(cb->end_seq, tsk->snd_nxt))
			tsk->snd_nxt = cb->end_seq;
		toytcp_sent_arm_rto(sk, cb->seq, resend);
		if (one)
			break;
	}
	if (!one && toytcp_after(tsk->snd_nxt, nxt))
		toytcp_schedule_loss_probe(sk);
	toytcp_check_probe_timer(sk);
}
