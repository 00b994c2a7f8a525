// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the receive hook, the one place where segments enter toytcp
 * (the model: tcp_v4_rcv() in net/ipv4/tcp_ipv4.c).
 *
 * Linux TCP holds IPPROTO_TCP in inet_protos[], and a protocol number has
 * one handler.  toytcp takes the slot over: at load, it installs a copy of
 * Linux TCP's struct net_protocol whose handler and err_handler are
 * toytcp's (one cmpxchg, so no segment ever finds the slot empty), and
 * every segment and every ICMP error that matches no toytcp socket goes on
 * to Linux TCP's own functions, tcp_v4_rcv() and tcp_v4_err(), unchanged.
 * At unload the original goes back.
 *
 * Where that is: ip_local_deliver() runs the LOCAL_IN netfilter hooks, every
 * one of them (iptables filter and security, nft chains at any priority,
 * conntrack's confirm last), and then ip_protocol_deliver_rcu() calls the
 * handler.  So toytcp sees exactly the segments Linux TCP would see, after
 * the same rules and with NAT undone, and a segment addressed to a toytcp
 * socket gets the checks tcp_v4_rcv() makes, in its order: the header
 * and checksum, IP_MINTTL, the IPsec inbound policy, the socket filter
 * (and the LSM's sock_rcv_skb), and, on the socket of the port reservation
 * (an AF_INET TCP socket), cgroup-BPF ingress and the LSM again: both skip
 * sockets of a family other than AF_INET/AF_INET6.
 *
 * The cost to Linux TCP's own segments: one indirect call (the handler was
 * a direct call through INDIRECT_CALL_2()), and for a segment no early
 * demux claimed (skb->sk not set), toytcp_lookup(), whose per-namespace
 * "no toytcp socket here" test comes first; for a SYN, also a per-CPU
 * count and a memory barrier (toytcp_hook_sync_syns()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <net/ip.h>
#include <net/protocol.h>
#include <net/xfrm.h>
#include <net/netfilter/nf_conntrack.h>

#include "protocol.h"

/* Linux TCP's entry in inet_protos[IPPROTO_TCP], and toytcp's copy of it. */
static struct net_protocol *toytcp_linux_tcp __read_mostly;
static struct net_protocol toytcp_tcp_protocol __read_mostly;

/* Per CPU: SYNs between toytcp's lookup and the end of tcp_v4_rcv(). */
static DEFINE_PER_CPU(unsigned int, toytcp_syns_passing);

/*
 * Check the TCP header of a segment a toytcp socket owns and verify its
 * checksum (skb->data at the TCP header).  Returns why (and counts) for a
 * segment to drop, TOYTCP_NOT_DROPPED for a good one.
 */
static enum toytcp_drop_reason toytcp_check_segment(struct net *net,
						    struct sk_buff *skb)
{
	enum toytcp_drop_reason reason = TOYTCP_DROP_BAD_HEADER;
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
	return TOYTCP_NOT_DROPPED;
err:
	TOYTCP_INC_STATS(net, TOYTCP_MIB_INERRS);
	return reason;
}

/*
 * tcp_filter(): the socket's own filter (SO_ATTACH_FILTER, SO_ATTACH_BPF)
 * and the LSM's sock_rcv_skb on the toytcp socket; then cgroup-BPF
 * ingress (systemd's IPAddressDeny=, a CGROUP_SKB program) and the LSM on
 * the port reservation's socket: __cgroup_bpf_run_filter_skb() returns 0
 * at once for a family other than AF_INET/AF_INET6, so it never judges the
 * toytcp socket itself.  The reservation is created by the process that
 * binds (or connects), in its cgroup; a listener's children share it.
 * A filter may trim the payload, never the header.
 */
static enum toytcp_drop_reason toytcp_filter(struct sock *sk,
					     struct sk_buff *skb)
{
	unsigned int hlen = tcp_hdr(skb)->doff * 4;
	struct sock *port_sk;

	if (sk_filter_trim_cap(sk, skb, hlen))
		return TOYTCP_DROP_SOCKET_FILTER;
	port_sk = toytcp_port_sk(sk);
	if (port_sk && sk_filter_trim_cap(port_sk, skb, hlen))
		return TOYTCP_DROP_CGROUP_FILTER;
	return TOYTCP_NOT_DROPPED;
}

/*
 * Fill in TOYTCP_SKB_CB() from the checked header and pull the header:
 * from here on skb->data is the payload.
 */
static void toytcp_fill_cb(struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	unsigned int hlen = th->doff * 4;

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

/* Queued, the skb may outlive its route and its device: let go of both. */
static void toytcp_skb_detach(struct sk_buff *skb)
{
	skb_dst_drop(skb);
	skb->dev = NULL;
}

/*
 * A segment for toytcp socket @sk (a reference held): tcp_v4_rcv()'s
 * checks, then the socket, or its backlog while the user owns it.  One skb
 * may carry many MSS of data (GRO on veth, large segments on loopback); it
 * is one segment in sequence space all the same.  Consumes the skb and the
 * reference.
 */
static int toytcp_rcv(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	enum toytcp_drop_reason reason;
	struct inet_skb_parm ipcb;
	bool tw_syn = false;
	struct sock *lsk;
	u32 tw_isn = 0;

	TOYTCP_INC_STATS(net, TOYTCP_MIB_INSEGS);
	reason = toytcp_check_segment(net, skb);
	if (reason)
		goto drop;
process:
	/* GTSM (RFC 5082): IP_MINTTL, read without the lock as Linux does. */
	if (unlikely(ip_hdr(skb)->ttl < READ_ONCE(inet_sk(sk)->min_ttl))) {
		TOYTCP_INC_STATS(net, TOYTCP_MIB_MINTTLDROP);
		reason = TOYTCP_DROP_MINTTL;
		goto drop;
	}
	if (!xfrm4_policy_check(sk, XFRM_POLICY_IN, skb)) {
		reason = TOYTCP_DROP_XFRM_POLICY;
		goto drop;
	}
	nf_reset_ct(skb);
	reason = toytcp_filter(sk, skb);
	if (reason)
		goto drop;
	/* toytcp's control block takes the place of IP's: keep IP's for a
	 * second pass (below), as tcp_v4_fill_cb()/tcp_v4_restore_cb().
	 */
	ipcb = *IPCB(skb);
	toytcp_fill_cb(skb);
	if (tw_syn) {
		TOYTCP_SKB_CB(skb)->flags |= TOYTCP_TW_SYN;
		TOYTCP_SKB_CB(skb)->tw_isn = tw_isn;
	}

	if (READ_ONCE(sk->sk_state) == TCP_LISTEN) {
		toytcp_skb_detach(skb);
		if (toytcp_listen_nolock(sk, skb)) {
			sock_put(sk);
			return 0;
		}
	}
	bh_lock_sock_nested(sk);

	/* A connection in TIME-WAIT that a new SYN reopens: the TIME-WAIT
	 * socket says which listener takes the SYN instead (timewait.c).
	 */
	lsk = tw_syn || sock_owned_by_user(sk) ? NULL :
	      toytcp_tw_reopen(sk, skb);
	if (unlikely(lsk)) {
		bh_unlock_sock(sk);
		sock_put(sk);
		sk = lsk;
		/* The listener's own checks, as tcp_v4_rcv() goes back to
		 * "process" with it: its IP_MINTTL, policy and filters, on
		 * the segment as IP delivered it; the ISN toytcp_tw_reopen()
		 * chose survives the second toytcp_fill_cb().
		 */
		tw_syn = true;
		tw_isn = TOYTCP_SKB_CB(skb)->tw_isn;
		*IPCB(skb) = ipcb;
		__skb_push(skb, tcp_hdrlen(skb));
		goto process;
	}
	toytcp_skb_detach(skb);

	if (!sock_owned_by_user(sk)) {
		toytcp_do_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, toytcp_backlog_limit(sk))) {
		bh_unlock_sock(sk);
		TOYTCP_INC_STATS(net, TOYTCP_MIB_BACKLOGDROPS);
		reason = TOYTCP_DROP_BACKLOG_FULL;
		goto drop;
	}
	bh_unlock_sock(sk);
	sock_put(sk);
	return 0;

drop:
	sock_put(sk);
	toytcp_drop(net, skb, reason);
	return 0;
}

/**
 * toytcp_v4_rcv() - IPv4's handler for IPPROTO_TCP while toytcp is loaded
 * @skb: a TCP segment for this host, skb->data at its TCP header
 *
 * Runs after every LOCAL_IN netfilter hook.  A segment for a toytcp
 * socket goes to toytcp_rcv(); every other one to tcp_v4_rcv(),
 * untouched: the cheap tests first, so that Linux TCP's segments pay for
 * no more than they must.  Early demux (skb->sk set) finds Linux TCP's
 * sockets only.
 *
 * Context: softirq, RCU read side.
 * Return: what tcp_v4_rcv() returns for Linux TCP's segments, 0 for
 * toytcp's.
 */
static int toytcp_v4_rcv(struct sk_buff *skb)
{
	const struct iphdr *iph;
	const struct tcphdr *th;
	struct net *net;
	struct sock *sk;
	bool syn;
	int ret;

	if (skb->sk || skb->pkt_type != PACKET_HOST ||
	    !pskb_may_pull(skb, sizeof(struct tcphdr)))
		goto not_toytcp;
	net = dev_net(skb->dev);
	iph = ip_hdr(skb);
	th = (const struct tcphdr *)skb->data;
	/* A SYN is counted from before the lookup until Linux TCP is done
	 * with it, for toytcp_hook_sync_syns().
	 */
	syn = th->syn && !th->ack;
	if (syn) {
		this_cpu_inc(toytcp_syns_passing);
		smp_mb();	/* the count before the lookup's reads */
	}
	sk = toytcp_lookup(net, iph->saddr, th->source, iph->daddr, th->dest,
			   inet_iif(skb));
	if (!sk) {
		ret = toytcp_linux_tcp->handler(skb);
		if (syn)
			this_cpu_dec(toytcp_syns_passing);
		return ret;
	}
	if (syn)
		this_cpu_dec(toytcp_syns_passing);
	return toytcp_rcv(net, sk, skb);
not_toytcp:
	return toytcp_linux_tcp->handler(skb);
}

/**
 * toytcp_hook_sync_syns() - wait for the SYNs that toytcp has passed on
 * to Linux TCP without having seen a socket just put in a table
 *
 * A SYN that toytcp_v4_rcv() found no socket for goes on to
 * tcp_v4_rcv(), whose own lookup comes later: for a listener that
 * toytcp_lhash_add() has just put in the table, that lookup could find
 * its port reservation listening already (listen.c), and Linux TCP would
 * answer the SYN.  After this, every SYN that missed the new socket is
 * done with Linux TCP, and every later one finds the socket.  Such a SYN
 * runs under rcu_read_lock() from before toytcp's lookup until
 * tcp_v4_rcv() returns, so a grace period waits for it; taken only when a
 * SYN is on that path on some CPU at this moment (a count that the
 * receive path raises before its lookup: either that lookup saw the new
 * socket, or this sees the count).
 *
 * Context: process, may sleep; after the socket was put in a table.
 */
void toytcp_hook_sync_syns(void)
{
	int cpu;

	smp_mb();	/* the table insert before the counts; pairs above */
	for_each_possible_cpu(cpu) {
		if (READ_ONCE(*per_cpu_ptr(&toytcp_syns_passing, cpu))) {
			synchronize_net();
			return;
		}
	}
}

/**
 * toytcp_linux_err() - hand an ICMP error on to Linux TCP
 * @skb: the ICMP message, skb->data at the quoted IP header
 * @info: what icmp_socket_deliver() passes (the next-hop MTU ...)
 *
 * Context: softirq, RCU read side.
 * Return: tcp_v4_err()'s.
 */
int toytcp_linux_err(struct sk_buff *skb, u32 info)
{
	return toytcp_linux_tcp->err_handler(skb, info);
}

/* Is this Linux TCP's function?  By name, since tcp_v4_rcv() and
 * tcp_v4_err() are not exported.
 */
static bool toytcp_is_linux(const void *fn, const char *name)
{
	char buf[KSYM_SYMBOL_LEN];

	snprintf(buf, sizeof(buf), "%ps", fn);
	return !strcmp(buf, name);
}

/**
 * toytcp_hook_register() - take IPPROTO_TCP's handler over
 *
 * Refuses (-EBUSY) unless the slot holds Linux TCP's own handlers: another
 * module that swapped it would be bypassed, or would bypass toytcp.
 *
 * Context: process (module init), after the tables, the per-namespace
 * state and proto_register(), before sock_register().
 * Return: 0 or -EBUSY.
 */
int toytcp_hook_register(void)
{
	struct net_protocol *orig;

	orig = rcu_dereference_protected(inet_protos[IPPROTO_TCP], true);
	if (!orig || !toytcp_is_linux(orig->handler, "tcp_v4_rcv") ||
	    !toytcp_is_linux(orig->err_handler, "tcp_v4_err")) {
		pr_err("IPPROTO_TCP's handler is %ps, not Linux TCP's tcp_v4_rcv: another module holds it; not loading\n",
		       orig ? orig->handler : NULL);
		return -EBUSY;
	}
	toytcp_tcp_protocol = *orig;	/* no_policy etc. as Linux TCP's */
	toytcp_tcp_protocol.handler = toytcp_v4_rcv;
	toytcp_tcp_protocol.err_handler = toytcp_v4_err;
	toytcp_linux_tcp = orig;
	if (unrcu_pointer(cmpxchg(&inet_protos[IPPROTO_TCP],
				  RCU_INITIALIZER(orig),
				  RCU_INITIALIZER(&toytcp_tcp_protocol))) != orig) {
		pr_err("IPPROTO_TCP's handler changed while toytcp was loading; not loading\n");
		return -EBUSY;
	}
	return 0;
}

/**
 * toytcp_hook_unregister() - give IPPROTO_TCP's handler back to Linux TCP
 *
 * After synchronize_net(), no CPU runs toytcp_v4_rcv() or toytcp_v4_err()
 * any more (both run under rcu_read_lock()), and the module's text may go.
 *
 * Context: process (module exit, or init unwinding).
 */
void toytcp_hook_unregister(void)
{
	if (unrcu_pointer(cmpxchg(&inet_protos[IPPROTO_TCP],
				  RCU_INITIALIZER(&toytcp_tcp_protocol),
				  RCU_INITIALIZER(toytcp_linux_tcp))) !=
	    &toytcp_tcp_protocol)
		pr_crit("IPPROTO_TCP's handler was replaced by another module while toytcp was loaded: it may still call toytcp's functions after unload; reboot\n");
	synchronize_net();
}
