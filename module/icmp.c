// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: ICMP errors about toytcp's segments (the model: tcp_v4_err()
 * and tcp_v4_mtu_reduced() in net/ipv4/tcp_ipv4.c).
 *
 * icmp_rcv() hands every ICMP error that quotes a TCP segment to the
 * err_handler of inet_protos[IPPROTO_TCP], which toytcp holds (hook.c):
 * an error about a toytcp connection is handled here, any other goes on to
 * tcp_v4_err().  What is done:
 *  - RFC 5927 first: the quoted sequence number must be one toytcp sent
 *    and that is not acknowledged, SND.UNA <= SEG.SEQ <= SND.NXT (Linux's
 *    bound, which admits SND.NXT: a bare ACK or FIN-less probe quotes it);
 *    anything else is counted (OutOfWindowIcmps) and ignored;
 *  - "fragmentation needed" (RFC 1191): the route's path MTU is lowered,
 *    the MSS follows, and what is in flight goes again at the new size;
 *    deferred to release_sock() while the user owns the socket;
 *  - unreachable, time exceeded, parameter problem: in SYN-SENT (and in
 *    SYN-RECEIVED after a simultaneous open) the connect() fails with the
 *    error (ECONNREFUSED for port unreachable, EHOSTUNREACH ...), as
 *    Linux does whether or not RFC 1122 calls the code "hard" (if the
 *    user owns the socket then, at release_sock(), where Linux waits for
 *    the SYN's next transmission and the error it brings); a child a
 *    listener made is dropped on the errors tcp_req_err() drops it for;
 *    later it is a soft error: SO_ERROR reports it, and a connection that
 *    times out fails with it (toytcp_write_err()); with IP_RECVERR it is
 *    reported at once (sk_err), without an error-queue entry;
 *  - redirects and source quench are ignored: routing follows redirects
 *    for the route cache already (icmp_redirect() updates the next hop's
 *    exceptions), and a socket's cached route is checked before each
 *    segment (output.c), so nothing is lost but Linux's shortcut of
 *    rerouting the socket at once.
 */
#include <linux/icmp.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/route.h>

#include "protocol.h"

/*
 * Lower the route's path MTU to @mtu, as inet_csk_update_pmtu(): through
 * the route's own update_pmtu operation (ip_rt_update_pmtu(), which keeps
 * the new MTU as an exception of the next hop), then the socket's route
 * again, refreshed if that made it stale.  ipv4_sk_update_pmtu() would do
 * the same but takes bh_lock_sock() itself, which toytcp_release_cb()
 * holds already.
 */
static struct dst_entry *toytcp_update_pmtu(struct sock *sk, u32 mtu)
{
	struct dst_entry *dst = __sk_dst_check(sk, 0);

	if (!dst) {
		if (toytcp_route(sk))
			return NULL;
		dst = __sk_dst_get(sk);
		if (!dst)
			return NULL;
	}
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	dst = __sk_dst_check(sk, 0);
	if (!dst) {
		if (toytcp_route(sk))
			return NULL;
		dst = __sk_dst_get(sk);
	}
	return dst;
}

/*
 * As tcp_simple_retransmit() after a smaller MTU: what is in flight was
 * dropped by the router, so it goes again (cut to the new MSS by
 * toytcp_transmit_skb()), as the window allows, without a congestion
 * signal: the path did not lose it to congestion.  Duplicate ACKs for
 * what the peer has already start no fast retransmit (RFC 6582's
 * "recover" moves to SND.NXT, as after a timeout).
 */
static void toytcp_simple_retransmit(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sk_buff *head = skb_peek(&sk->sk_write_queue);

	if (!head || tsk->snd_una == tsk->snd_nxt)
		return;
	tsk->recover = tsk->snd_nxt;
	tsk->dupacks = 0;
	tsk->send_head = head;
	toytcp_write_xmit(sk);
	if (!toytcp_retrans_timer_armed(tsk))
		toytcp_reset_retrans_timer(sk);
}

/**
 * toytcp_mtu_reduced() - act on an ICMP "fragmentation needed"
 * @sk: the socket; @mtu_info holds the next-hop MTU the router reported
 *
 * RFC 1191: the path MTU of the socket's route goes down, and with it the
 * MSS; if the MSS fell, what is in flight is resent at once in smaller
 * segments, as tcp_v4_mtu_reduced() does.  A reported MTU below the
 * route's floor (net.ipv4.route.min_pmtu) leaves EMSGSIZE as the soft
 * error, in case the connection cannot get through.
 *
 * Context: sk lock held (softirq, or toytcp_release_cb()).
 */
void toytcp_mtu_reduced(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct dst_entry *dst;
	u16 old_mss;
	u32 mtu;

	sock_owned_by_me(sk);
	if ((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_CLOSE))
		return;
	mtu = READ_ONCE(tsk->mtu_info);
	dst = toytcp_update_pmtu(sk, mtu);
	if (!dst)
		return;
	if (mtu < dst_mtu(dst) && ip_dont_fragment(sk, dst))
		WRITE_ONCE(sk->sk_err_soft, EMSGSIZE);
	if (READ_ONCE(inet_sk(sk)->pmtudisc) == IP_PMTUDISC_DONT ||
	    !ip_sk_accept_pmtu(sk))
		return;
	old_mss = tsk->mss_cache;
	toytcp_sync_mss(sk);
	if (tsk->mss_cache < old_mss) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_PMTUREDUCED);
		toytcp_simple_retransmit(sk);
	}
}

/* An ICMP error ends the handshake: connect() returns it. */
static void toytcp_connect_failed(struct sock *sk)
{
	WRITE_ONCE(sk->sk_err, READ_ONCE(sk->sk_err_soft));
	WRITE_ONCE(sk->sk_err_soft, 0);
	sk_error_report(sk);
	toytcp_done(sk);
}

/**
 * toytcp_icmp_err_deferred() - an ICMP error came during connect() while
 * the user owned the socket
 * @sk: the socket
 *
 * Context: release_sock() (toytcp_release_cb()).
 */
void toytcp_icmp_err_deferred(struct sock *sk)
{
	sock_owned_by_me(sk);
	if ((sk->sk_state == TCP_SYN_SENT ||
	     (sk->sk_state == TCP_SYN_RECV && !toytcp_sk(sk)->parent)) &&
	    READ_ONCE(sk->sk_err_soft))
		toytcp_connect_failed(sk);
}

/*
 * A child of a listener, still in SYN-RECEIVED: as tcp_req_err(), only
 * an error about its SYN-ACK counts, and only those that say the peer
 * cannot be reached drop it (a port unreachable would come from a
 * confused peer, not from the path).
 */
static void toytcp_child_err(struct sock *sk, u32 seq, bool abort)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (seq != tsk->iss) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_OUTOFWINDOWICMPS);
	} else if (abort) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENDROPS);
		toytcp_done(sk);
	}
}

/* An ICMP error about @sk's segment; @iph and @th quote it. */
static void toytcp_icmp_error(struct sock *sk, struct sk_buff *skb, u32 info,
			      const struct iphdr *iph,
			      const struct tcphdr *th)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	const int type = icmp_hdr(skb)->type;
	const int code = icmp_hdr(skb)->code;
	struct net *net = sock_net(sk);
	u32 seq = ntohl(th->seq);
	bool owned;
	int err;

	bh_lock_sock(sk);
	owned = sock_owned_by_user(sk);
	if (owned && !(type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED))
		TOYTCP_INC_STATS(net, TOYTCP_MIB_LOCKDROPPEDICMPS);
	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN ||
	    sk->sk_state == TCP_TIME_WAIT)
		goto out;
	if (unlikely(iph->ttl < READ_ONCE(inet_sk(sk)->min_ttl))) {
		TOYTCP_INC_STATS(net, TOYTCP_MIB_MINTTLDROP);
		goto out;
	}
	if (sk->sk_state == TCP_SYN_RECV && tsk->parent) {
		if (!owned)
			toytcp_child_err(sk, seq, type == ICMP_PARAMETERPROB ||
					 type == ICMP_TIME_EXCEEDED ||
					 (type == ICMP_DEST_UNREACH &&
					  (code == ICMP_NET_UNREACH ||
					   code == ICMP_HOST_UNREACH)));
		goto out;
	}
	/* RFC 5927 4.1: only about a segment in flight. */
	if (!toytcp_between(tsk->snd_una, seq, tsk->snd_nxt)) {
		TOYTCP_INC_STATS(net, TOYTCP_MIB_OUTOFWINDOWICMPS);
		goto out;
	}

	switch (type) {
	case ICMP_PARAMETERPROB:
		err = EPROTO;
		break;
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH)
			goto out;
		if (code == ICMP_FRAG_NEEDED) {
			WRITE_ONCE(tsk->mtu_info, info);
			if (!owned)
				toytcp_mtu_reduced(sk);
			else if (!test_and_set_bit(TOYTCP_MTU_REDUCED_DEFERRED,
						   &tsk->deferred))
				sock_hold(sk);
			goto out;
		}
		err = icmp_err_convert[code].errno;
		break;
	case ICMP_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	default:	/* redirect, source quench: see the top of the file */
		goto out;
	}
	TOYTCP_INC_STATS(net, TOYTCP_MIB_ICMPERRORS);

	if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) {
		/* connect() fails with it, as in tcp_v4_err().  While the
		 * user owns the socket (the error about the SYN often comes
		 * back over veth or loopback before connect() has released
		 * it), Linux keeps it as the soft error until the SYN goes
		 * again; toytcp ends the connect() at release_sock().
		 */
		WRITE_ONCE(sk->sk_err_soft, err);
		if (!owned)
			toytcp_connect_failed(sk);
		else if (!test_and_set_bit(TOYTCP_ICMP_ERR_DEFERRED,
					   &tsk->deferred))
			sock_hold(sk);
		goto out;
	}
	/* RFC 1122 4.2.3.9: a soft error once connected. */
	if (!owned && toytcp_inet_recverr(sk)) {
		WRITE_ONCE(sk->sk_err, err);
		sk_error_report(sk);
	} else {
		WRITE_ONCE(sk->sk_err_soft, err);
	}
out:
	bh_unlock_sock(sk);
}

/**
 * toytcp_v4_err() - IPv4's err_handler for IPPROTO_TCP while toytcp is
 * loaded
 * @skb: the ICMP error, skb->data at the quoted IP header, followed by at
 *	least 8 bytes of the quoted TCP header (icmp_rcv() checked)
 * @info: the next-hop MTU for "fragmentation needed", else unused
 *
 * Errors about a connection of toytcp's are handled here, all others go
 * on to Linux TCP's tcp_v4_err().  The quoted segment is one this host
 * sent: its source is the local end.
 *
 * Context: softirq, RCU read side.
 * Return: 0, or what tcp_v4_err() returns.
 */
int toytcp_v4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct tcphdr *th = (const struct tcphdr *)(skb->data +
							   (iph->ihl << 2));
	struct sock *sk;

	sk = toytcp_lookup(dev_net(skb->dev), iph->daddr, th->dest,
			   iph->saddr, th->source, inet_iif(skb));
	if (!sk)
		return toytcp_linux_err(skb, info);
	if (sk->sk_state == TCP_LISTEN) {
		/* A listener matched, no connection: not toytcp's. */
		sock_put(sk);
		return toytcp_linux_err(skb, info);
	}
	toytcp_icmp_error(sk, skb, info, iph, th);
	sock_put(sk);
	return 0;
}
