// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: buffers that grow as Linux TCP's do (the model: net/ipv4/
 * tcp_input.c, tcp_rcv_space_adjust(), tcp_sndbuf_expand(),
 * tcp_new_space(); net/ipv4/tcp_output.c, tcp_select_initial_window()).
 *
 * A socket starts with net.ipv4.tcp_rmem[1] and tcp_wmem[1] (or
 * net.toytcp.rmem_default and wmem_default when set).  Once established,
 * the receive buffer follows what the reader takes out per round trip
 * (dynamic right-sizing): when the application copied more in the last RTT
 * than in the one before, the buffer is set to hold twice that plus room
 * for the sender's growth, up to tcp_rmem[2].  The send buffer holds twice
 * the congestion window's worth of segments (at least TOYTCP_INIT_CWND),
 * recomputed when an ACK frees room for a writer that found it full while
 * the window was not, up to tcp_wmem[2].  SO_RCVBUF and SO_SNDBUF set
 * SOCK_RCVBUF_LOCK and SOCK_SNDBUF_LOCK (sk_setsockopt()): a locked buffer
 * never changes here.  net.ipv4.tcp_moderate_rcvbuf = 0 stops the
 * receive side, as it does Linux's.
 *
 * The window scale on the SYN is chosen from the largest buffer the socket
 * may grow to (tcp_rmem[2], or net.core.rmem_max if larger), not from the
 * buffer it starts with, so that the grown buffer can be announced.
 */
#include <linux/log2.h>

#include "protocol.h"

/*
 * A buffer default of net.toytcp: in a namespace other than the initial
 * one, whose root may be any user (a user namespace), no more than
 * net.core.rmem_max / wmem_max, which only the initial namespace sets.
 */
static int toytcp_buf_default(const struct sock *sk, int val, u32 max)
{
	if (net_eq(sock_net(sk), &init_net))
		return val;
	return min_t(u32, val, READ_ONCE(max));
}

/**
 * toytcp_init_buffers() - the buffer sizes of a new socket
 * @sk: the socket, not yet visible to anyone
 *
 * Context: process (socket()) or softirq (a listener's child, which then
 * takes its listener's sizes and locks).
 */
void toytcp_init_buffers(struct sock *sk)
{
	const struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	const struct net *net = sock_net(sk);
	int buf;

	buf = toytcp_buf_default(sk, READ_ONCE(tn->sysctl.rmem_default),
				 sysctl_rmem_max) ? :
	      READ_ONCE(net->ipv4.sysctl_tcp_rmem[1]);
	WRITE_ONCE(sk->sk_rcvbuf, max_t(int, buf, SOCK_MIN_RCVBUF));
	buf = toytcp_buf_default(sk, READ_ONCE(tn->sysctl.wmem_default),
				 sysctl_wmem_max) ? :
	      READ_ONCE(net->ipv4.sysctl_tcp_wmem[1]);
	WRITE_ONCE(sk->sk_sndbuf, max_t(int, buf, SOCK_MIN_SNDBUF));
}

/**
 * toytcp_select_wscale() - the window scale to offer in a SYN or SYN-ACK
 * @sk: the socket
 *
 * As tcp_select_initial_window(): the shift that lets the largest receive
 * buffer this socket may have be announced; that is sk_rcvbuf when the
 * user set SO_RCVBUF, else the larger of tcp_rmem[2] and rmem_max.
 *
 * Context: sk lock held.
 * Return: 0 to TOYTCP_MAX_WSCALE.
 */
u8 toytcp_select_wscale(const struct sock *sk)
{
	u32 space = max_t(u32, READ_ONCE(sk->sk_rcvbuf), 65535);

	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK)) {
		space = max_t(u32, space,
			      READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]));
		space = max_t(u32, space, READ_ONCE(sysctl_rmem_max));
	}
	return clamp_t(int, ilog2(space) - 15, 0, TOYTCP_MAX_WSCALE);
}

/*
 * As tcp_sndbuf_expand(): room for twice the congestion window (at least
 * the initial one) of segments, each counted as the worst case of one
 * linear skb per MSS (a power-of-two head plus the sk_buff).
 */
static void toytcp_sndbuf_expand(struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	int wmem_max = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_wmem[2]);
	u32 per_mss, nr_segs;
	u64 sndmem;

	per_mss = max_t(u32, tsk->mss_cache, tsk->advmss) + MAX_TCP_HEADER +
		  SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	per_mss = roundup_pow_of_two(per_mss) +
		  SKB_DATA_ALIGN(sizeof(struct sk_buff));
	nr_segs = max_t(u32, TOYTCP_INIT_CWND, tsk->cwnd);
	sndmem = 2ULL * nr_segs * per_mss;
	if (sk->sk_sndbuf < sndmem)
		WRITE_ONCE(sk->sk_sndbuf, (int)min_t(u64, sndmem, wmem_max));
}

/**
 * toytcp_init_buffer_space() - the connection is established: start the
 * receive buffer's measurement and size the send buffer
 * @sk: the socket
 *
 * As tcp_init_buffer_space(): the first measurement expects at most the
 * initial window, or an initial congestion window of the peer's.
 *
 * Context: sk lock held.
 */
void toytcp_init_buffer_space(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK))
		toytcp_sndbuf_expand(sk);
	tsk->rcvq_space = max_t(u32, min_t(u32, tsk->rcv_wnd,
					   TOYTCP_INIT_CWND * tsk->advmss),
				TOYTCP_DEFAULT_MSS);
	tsk->rcvq_seq = tsk->copied_seq;
	tsk->rcvq_time = ktime_get_ns();
}

/**
 * toytcp_rcv_space_adjust() - dynamic right-sizing of the receive buffer
 * @sk: the socket, whose reader has just copied data
 *
 * As tcp_rcv_space_adjust(): once per round trip (the smoothed RTT; none
 * yet, no measurement), the bytes the application took out in that round
 * trip are compared with the last measurement's; when they grew, the
 * buffer is set to hold 2 * copied + 16 segments, plus twice the growth
 * (the sender may still be in slow start), in payload terms converted to
 * memory with the socket's payload/truesize ratio (@rcv_ratio), at most
 * tcp_rmem[2].  It never shrinks.  toytcp_select_window() then announces
 * the larger window.
 *
 * Context: process, sk lock held.
 */
void toytcp_rcv_space_adjust(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	u64 now = ktime_get_ns();
	u32 rtt_us = tsk->srtt_us;
	int copied, inq;

	sock_owned_by_me(sk);
	/* A receiver whose handshake gave no RTT sample (its SYN-ACK was
	 * sent again: Karn) has none until it sends data; Linux measures
	 * the receiver's RTT apart (rcv_rtt_est).  Measure per minimum RTO
	 * then, rather than never grow.
	 */
	if (!rtt_us)
		rtt_us = toytcp_param(sk, min_rto_ms) * USEC_PER_MSEC;
	if (!tsk->rcvq_space || !rtt_us ||
	    now - tsk->rcvq_time < (u64)rtt_us * NSEC_PER_USEC)
		return;
	/* Taken out in the last RTT, less what still waits: as Linux. */
	copied = tsk->copied_seq - tsk->rcvq_seq;
	inq = tsk->rcv_nxt - tsk->copied_seq;
	copied -= inq;
	if (copied <= (int)tsk->rcvq_space)
		goto new_measure;

	if (READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_moderate_rcvbuf) &&
	    !(sk->sk_userlocks & SOCK_RCVBUF_LOCK)) {
		int rmem_max = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]);
		u64 rcvwin, grow, space;

		rcvwin = ((u64)copied << 1) + 16 * tsk->advmss;
		grow = div_u64(rcvwin * (copied - tsk->rcvq_space),
			       tsk->rcvq_space);
		rcvwin += grow << 1;
		/* The window is @rcv_ratio/256 of the free buffer. */
		space = div_u64(rcvwin << 8, max_t(u32, tsk->rcv_ratio, 1));
		space = min_t(u64, space, rmem_max);
		if (space > (u64)sk->sk_rcvbuf)
			WRITE_ONCE(sk->sk_rcvbuf, (int)space);
	}
	tsk->rcvq_space = copied;

new_measure:
	tsk->rcvq_seq = tsk->copied_seq;
	tsk->rcvq_time = now;
}

/*
 * As tcp_should_expand_sndbuf(): not when the user set SO_SNDBUF, not
 * under memory pressure, and not when the congestion window is full (the
 * writer is not what holds the connection back then).
 */
static bool toytcp_should_expand_sndbuf(const struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);

	if (sk->sk_userlocks & SOCK_SNDBUF_LOCK)
		return false;
	if (toytcp_under_memory_pressure(sk))
		return false;
	return toytcp_bytes_in_flight(tsk) <
	       (u64)tsk->cwnd * max_t(u32, tsk->mss_cache, 1);
}

/**
 * toytcp_new_space() - an ACK freed room in the send buffer
 * @sk: the socket
 *
 * As tcp_check_space() and tcp_new_space(): if a writer found the buffer
 * full (SOCK_NOSPACE), grow it to the congestion window first; then wake
 * the writers (sk_write_space).
 *
 * Context: sk lock held.
 */
void toytcp_new_space(struct sock *sk)
{
	sock_owned_by_me(sk);
	if (sk->sk_socket && test_bit(SOCK_NOSPACE, &sk->sk_socket->flags) &&
	    toytcp_should_expand_sndbuf(sk))
		toytcp_sndbuf_expand(sk);
	sk->sk_write_space(sk);
}
