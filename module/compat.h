/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toytcp: the differences between the kernels toytcp builds on (6.1 and
 * 6.12), in one place.  Everything else is written against one API.
 */
#ifndef __TOYTCP_COMPAT_H
#define __TOYTCP_COMPAT_H

#include <linux/version.h>
#include <linux/net.h>

/* 6.10 passes accept()'s flags in struct proto_accept_arg. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define TOYTCP_ACCEPT_PARAMS	struct socket *sock, struct socket *newsock, \
				struct proto_accept_arg *arg
#define TOYTCP_ACCEPT_FLAGS	(arg->flags)
#else
#define TOYTCP_ACCEPT_PARAMS	struct socket *sock, struct socket *newsock, \
				int flags, bool kern
#define TOYTCP_ACCEPT_FLAGS	(flags)
#endif

/* 6.6 counts a sysctl table's entries instead of ending it with an empty
 * one (6.1 needs the sentinel, which the template keeps).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define toytcp_register_net_sysctl(net, path, table, n) \
	register_net_sysctl_sz(net, path, table, n)
#else
#define toytcp_register_net_sysctl(net, path, table, n) \
	register_net_sysctl(net, path, table)
#endif

/* 6.11 made the table that sysctl handlers get const. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define TOYTCP_CTL_TABLE	const struct ctl_table
#else
#define TOYTCP_CTL_TABLE	struct ctl_table
#endif

/* 6.12 lets a protocol take SOL_SOCKET options itself (SOCK_CUSTOM_SOCKOPT):
 * the only way to SO_REUSEPORT, which sk_setsockopt() refuses (EOPNOTSUPP)
 * for families other than AF_INET and AF_INET6.  6.1 has no such hook.
 */
#ifdef SOCK_CUSTOM_SOCKOPT
#define TOYTCP_HAVE_CUSTOM_SOL_SOCKET	1
#else
#define TOYTCP_HAVE_CUSTOM_SOL_SOCKET	0
#endif

/* 6.11 moved the page-fragment reference helpers (__skb_frag_ref()) out
 * of skbuff.h.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#include <linux/skbuff_ref.h>
#endif

/* 6.8 made __cookie_v4_check() read the cookie from the header itself. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define TOYTCP_COOKIE_CHECK_TAKES_COOKIE	0
#else
#define TOYTCP_COOKIE_CHECK_TAKES_COOKIE	1
#endif

/*
 * The ISN and the TSval offset of a connection (RFC 6528, RFC 7323 5.4).
 * 6.12 exports secure_tcp_seq_and_ts_off(), which hashes both from the
 * 4-tuple in one go (0 for the offset unless net.ipv4.tcp_timestamps is
 * 1), and makes secure_tcp_seq() an inline around it; 6.1 exports
 * secure_tcp_seq() but keeps secure_tcp_ts_off() to itself, so toytcp
 * hashes the offset itself there: the same SipHash of the 4-tuple, with a
 * key of its own.  Kbuild tests the header for the function rather than
 * trust a version number (stable kernels got it late).
 */
#include <net/secure_seq.h>
#include <linux/siphash.h>

#ifdef TOYTCP_HAVE_SEQ_AND_TS_OFF
static inline u32 toytcp_secure_seq_ts_off(const struct net *net,
					   __be32 saddr, __be32 daddr,
					   __be16 sport, __be16 dport,
					   u32 *ts_off)
{
	union tcp_seq_and_ts_off st;

	st = secure_tcp_seq_and_ts_off(net, saddr, daddr, sport, dport);
	*ts_off = st.ts_off;
	return st.seq;
}
#else
static inline u32 toytcp_secure_seq_ts_off(const struct net *net,
					   __be32 saddr, __be32 daddr,
					   __be16 sport, __be16 dport,
					   u32 *ts_off)
{
	/* One key: only toytcp_secure_seq() (output.c) calls this. */
	static siphash_aligned_key_t ts_secret;

	net_get_random_once(&ts_secret, sizeof(ts_secret));
	*ts_off = 0;
	if (READ_ONCE(net->ipv4.sysctl_tcp_timestamps) == 1)
		*ts_off = siphash_3u32((__force u32)saddr, (__force u32)daddr,
				       (__force u32)sport << 16 |
				       (__force u32)dport, &ts_secret);
	return secure_tcp_seq(saddr, daddr, sport, dport);
}
#endif

/* 6.6 turned inet_sock's bit-fields into inet_flags bits. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define toytcp_inet_recverr(sk)	inet_test_bit(RECVERR, sk)
#else
#define toytcp_inet_recverr(sk)	(inet_sk(sk)->recverr)
#endif

/* 6.2 added a drop reason for IP_MINTTL; 6.1 has none closer. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define TOYTCP_SKB_DROP_MINTTL	SKB_DROP_REASON_TCP_MINTTL
#else
#define TOYTCP_SKB_DROP_MINTTL	SKB_DROP_REASON_NOT_SPECIFIED
#endif

/* 6.10 moved the socket memory helpers (sk_under_memory_pressure(),
 * sk_memory_allocated()) from sock.h to their own header.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <net/proto_memory.h>
#endif

#endif /* __TOYTCP_COMPAT_H */
