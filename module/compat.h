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

/* 6.10 moved the socket memory helpers (sk_under_memory_pressure(),
 * sk_memory_allocated()) from sock.h to their own header.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <net/proto_memory.h>
#endif

#endif /* __TOYTCP_COMPAT_H */
