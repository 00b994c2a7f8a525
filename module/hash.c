// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the lookup tables, as net/ipv4/inet_hashtables.c keeps them.
 *
 * Two tables shared by all network namespaces (the namespace is part of
 * the key): the established table, keyed by the 4-tuple, holds every
 * connection from SYN-SENT or SYN-RECEIVED to TIME-WAIT; the listening
 * table, keyed by the local port, holds listeners.  Writers take the
 * bucket's spinlock; the receive path reads under RCU.  The established
 * chains are hlist_nulls so that a reader that follows a socket moved to
 * another chain notices and starts again.
 */
#include <linux/jhash.h>
#include <linux/list_nulls.h>
#include <linux/random.h>
#include <linux/vmalloc.h>

#include "protocol.h"

#define TOYTCP_EHASH_BITS	14
#define TOYTCP_LHASH_BITS	8

struct toytcp_ebucket {
	struct hlist_nulls_head	chain;
	spinlock_t		lock;	/* writers of @chain */
};

struct toytcp_lbucket {
	struct hlist_head	chain;
	spinlock_t		lock;	/* writers of @chain */
};

static struct toytcp_ebucket *toytcp_ehash;
static struct toytcp_lbucket toytcp_lhash[1 << TOYTCP_LHASH_BITS];
static u32 toytcp_hash_secret __read_mostly;

static u32 toytcp_ehashfn(const struct net *net, __be32 laddr, __be16 lport,
			  __be32 faddr, __be16 fport)
{
	return jhash_3words((__force u32)laddr, (__force u32)faddr,
			    ((u32)ntohs(lport) << 16) | ntohs(fport),
			    toytcp_hash_secret + net_hash_mix(net)) &
	       ((1 << TOYTCP_EHASH_BITS) - 1);
}

static u32 toytcp_lhashfn(const struct net *net, u16 port)
{
	return (port + net_hash_mix(net)) & ((1 << TOYTCP_LHASH_BITS) - 1);
}

int toytcp_hash_init(void)
{
	int i;

	toytcp_ehash = kvcalloc(1 << TOYTCP_EHASH_BITS, sizeof(*toytcp_ehash),
				GFP_KERNEL);
	if (!toytcp_ehash)
		return -ENOMEM;
	for (i = 0; i < (1 << TOYTCP_EHASH_BITS); i++) {
		INIT_HLIST_NULLS_HEAD(&toytcp_ehash[i].chain, i);
		spin_lock_init(&toytcp_ehash[i].lock);
	}
	for (i = 0; i < (1 << TOYTCP_LHASH_BITS); i++) {
		INIT_HLIST_HEAD(&toytcp_lhash[i].chain);
		spin_lock_init(&toytcp_lhash[i].lock);
	}
	toytcp_hash_secret = get_random_u32();
	return 0;
}

void toytcp_hash_exit(void)
{
	kvfree(toytcp_ehash);
}

static struct toytcp_ebucket *toytcp_ebucket_of(const struct sock *sk)
{
	return &toytcp_ehash[toytcp_ehashfn(sock_net(sk), sk->sk_rcv_saddr,
					    inet_sk(sk)->inet_sport,
					    sk->sk_daddr, sk->sk_dport)];
}

/**
 * toytcp_ehash_add() - make a connection visible to the receive path
 * @sk: a socket with both ends of its 4-tuple set
 *
 * Context: any; takes the bucket lock with bottom halves disabled.
 */
void toytcp_ehash_add(struct sock *sk)
{
	struct toytcp_ebucket *b = toytcp_ebucket_of(sk);

	sk->sk_hash = b - toytcp_ehash;
	spin_lock_bh(&b->lock);
	sk_nulls_add_node_rcu(sk, &b->chain);
	spin_unlock_bh(&b->lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
}

/**
 * toytcp_lhash_add() - make a listener visible to the receive path
 * @sk: a socket bound to a local port, in LISTEN
 *
 * Context: process, socket lock held.
 */
void toytcp_lhash_add(struct sock *sk)
{
	struct toytcp_lbucket *b;

	sock_owned_by_me(sk);
	b = &toytcp_lhash[toytcp_lhashfn(sock_net(sk), inet_sk(sk)->inet_num)];
	spin_lock_bh(&b->lock);
	sk_add_node_rcu(sk, &b->chain);
	spin_unlock_bh(&b->lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
}

/**
 * toytcp_unhash() - remove a socket from whichever table holds it
 * @sk: the socket; nothing happens if it is in neither
 *
 * Context: any; the caller holds a reference besides the table's.
 */
void toytcp_unhash(struct sock *sk)
{
	spinlock_t *lock;	/* the bucket's */
	bool done;

	if (sk_unhashed(sk))
		return;
	if (sk->sk_state == TCP_LISTEN)
		lock = &toytcp_lhash[toytcp_lhashfn(sock_net(sk),
						    inet_sk(sk)->inet_num)].lock;
	else
		lock = &toytcp_ehash[sk->sk_hash].lock;
	spin_lock_bh(lock);
	if (sk->sk_state == TCP_LISTEN)
		done = sk_del_node_init_rcu(sk);
	else
		done = sk_nulls_del_node_init_rcu(sk);
	spin_unlock_bh(lock);
	if (done)
		sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

static bool toytcp_ematch(const struct sock *sk, const struct net *net,
			  __be32 saddr, __be16 sport, __be32 daddr,
			  __be16 dport, int dif)
{
	return sk->sk_daddr == saddr && sk->sk_dport == sport &&
	       sk->sk_rcv_saddr == daddr && inet_sk(sk)->inet_sport == dport &&
	       net_eq(sock_net(sk), net) &&
	       (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == dif);
}

static struct sock *toytcp_lookup_established(struct net *net, __be32 saddr,
					      __be16 sport, __be32 daddr,
					      __be16 dport, int dif)
{
	u32 slot = toytcp_ehashfn(net, daddr, dport, saddr, sport);
	struct hlist_nulls_node *node;
	struct sock *sk;

begin:
	sk_nulls_for_each_rcu(sk, node, &toytcp_ehash[slot].chain) {
		if (!toytcp_ematch(sk, net, saddr, sport, daddr, dport, dif))
			continue;
		if (unlikely(!refcount_inc_not_zero(&sk->sk_refcnt)))
			goto begin;
		return sk;
	}
	/* The chain ended in another bucket's nulls value: we followed a
	 * socket that moved; walk again.
	 */
	if (get_nulls_value(node) != slot)
		goto begin;
	return NULL;
}

/* 2: bound to @daddr, 1: bound to INADDR_ANY, 0: not for this segment. */
static int toytcp_listener_score(const struct sock *sk, const struct net *net,
				 __be32 daddr, __be16 dport, int dif)
{
	if (inet_sk(sk)->inet_sport != dport || !net_eq(sock_net(sk), net) ||
	    (sk->sk_bound_dev_if && sk->sk_bound_dev_if != dif))
		return 0;
	if (sk->sk_rcv_saddr == daddr)
		return 2;
	return sk->sk_rcv_saddr ? 0 : 1;
}

/**
 * toytcp_lookup_listener() - find the listener a segment is addressed to
 * @net: the namespace the segment arrived in
 * @saddr: source address of the segment
 * @sport: source port
 * @daddr: destination address
 * @dport: destination port
 * @dif: the interface it arrived on
 *
 * The listener with the most specific address.  Several with SO_REUSEPORT
 * at the best score share the port: the 4-tuple's hash picks one, so each
 * connection goes to one of them and the load spreads (as
 * reuseport_select_sock() without BPF).  toytcp_lookup() tries it after
 * the established table; a connection in TIME-WAIT that a new SYN ends
 * asks for it directly (timewait.c).
 *
 * Context: RCU read side (the netfilter hook).
 * Return: the listener with a reference held, or NULL.
 */
struct sock *toytcp_lookup_listener(struct net *net, __be32 saddr,
				    __be16 sport, __be32 daddr, __be16 dport,
				    int dif)
{
	struct toytcp_lbucket *b;
	unsigned int n = 0, pick;
	struct sock *sk, *best = NULL;
	int score, top = 0;

	b = &toytcp_lhash[toytcp_lhashfn(net, ntohs(dport))];
	sk_for_each_rcu(sk, &b->chain) {
		score = toytcp_listener_score(sk, net, daddr, dport, dif);
		if (score > top) {
			top = score;
			best = sk;
			n = 1;
		} else if (score && score == top && sk->sk_reuseport &&
			   best->sk_reuseport) {
			n++;
		}
	}
	if (n > 1) {
		pick = reciprocal_scale(inet_ehashfn(net, daddr, ntohs(dport),
						     saddr, sport), n);
		sk_for_each_rcu(sk, &b->chain) {
			if (toytcp_listener_score(sk, net, daddr, dport, dif) ==
			    top && sk->sk_reuseport && !pick--) {
				best = sk;
				break;
			}
		}
	}
	if (best && refcount_inc_not_zero(&best->sk_refcnt))
		return best;
	return NULL;
}

/**
 * toytcp_lookup() - find the toytcp socket a segment is addressed to
 * @net: the namespace the segment arrived in
 * @saddr: source address of the segment
 * @sport: source port
 * @daddr: destination address
 * @dport: destination port
 * @dif: the interface it arrived on
 *
 * Context: RCU read side (the netfilter hook).
 * Return: the socket with a reference held, or NULL.
 */
struct sock *toytcp_lookup(struct net *net, __be32 saddr, __be16 sport,
			   __be32 daddr, __be16 dport, int dif)
{
	struct sock *sk;

	sk = toytcp_lookup_established(net, saddr, sport, daddr, dport, dif);
	if (sk)
		return sk;
	return toytcp_lookup_listener(net, saddr, sport, daddr, dport, dif);
}

/* The buckets of a walk: the listening table's, then the established's. */
#define TOYTCP_WALK_BUCKETS	((1 << TOYTCP_LHASH_BITS) + \
				 (1 << TOYTCP_EHASH_BITS))

/* The @n-th socket of @net in walk bucket @b (from 0), or NULL. */
static struct sock *toytcp_bucket_nth(struct net *net, unsigned int b,
				      unsigned int n)
{
	struct hlist_nulls_node *node;
	struct sock *sk;

	if (b < (1 << TOYTCP_LHASH_BITS)) {
		sk_for_each_rcu(sk, &toytcp_lhash[b].chain)
			if (net_eq(sock_net(sk), net) && n-- == 0)
				return sk;
		return NULL;
	}
	b -= 1 << TOYTCP_LHASH_BITS;
	sk_nulls_for_each_rcu(sk, node, &toytcp_ehash[b].chain)
		if (net_eq(sock_net(sk), net) && n-- == 0)
			return sk;
	return NULL;
}

/**
 * toytcp_hash_seek() - the socket of a namespace at a place in the tables,
 * or the first one after it
 * @net: the namespace
 * @pos: the place: listeners first, then established sockets; moved on to
 *	where the socket was found
 *
 * For walks that go on from where they were (/proc/net/toytcp, as
 * struct tcp_iter_state): the next socket is at @pos with @pos->offset
 * one higher.  Sockets that come or go meanwhile may be missed or shown
 * twice, as with /proc/net/tcp.
 *
 * Context: RCU read side.
 * Return: the socket (no reference taken) or NULL past the end.
 */
struct sock *toytcp_hash_seek(struct net *net, struct toytcp_hash_pos *pos)
{
	struct sock *sk;

	for (; pos->bucket < TOYTCP_WALK_BUCKETS; pos->bucket++) {
		sk = toytcp_bucket_nth(net, pos->bucket, pos->offset);
		if (sk)
			return sk;
		pos->offset = 0;
	}
	return NULL;
}
