// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the lookup tables, as net/ipv4/inet_hashtables.c keeps them.
 *
 * Two tables shared by all network namespaces (the namespace is part of
 * the key): the established table, keyed by the 4-tuple, holds every
 * connection from SYN-SENT or SYN-RECEIVED to TIME-WAIT; the listening
 * table, keyed by the local address and port (as Linux's lhash2), holds
 * listeners, so that a segment's lookup reads two buckets, its
 * destination's and INADDR_ANY's, however many listeners there are.
 * Writers take the bucket's spinlock; the receive path reads under RCU.
 * The established chains are hlist_nulls so that a reader that follows a
 * socket moved to another chain notices and starts again.  Each
 * namespace counts its sockets in the tables, so that the lookup, which
 * the receive hook makes for every TCP segment of the host (Linux TCP's
 * included), returns at once in a namespace without toytcp sockets.
 *
 * Listeners that share a port with SO_REUSEPORT may share it with Linux
 * TCP listeners of the same owner too (port.c: the reservations listen
 * beside them).  Linux chooses among the group then, as for its own, so
 * that a toytcp listener takes no Linux listener's connections.
 */
#include <linux/jhash.h>
#include <linux/list_nulls.h>
#include <linux/random.h>
#include <linux/vmalloc.h>
#include <net/inet_hashtables.h>

#include "protocol.h"

#define TOYTCP_EHASH_BITS	14
#define TOYTCP_LHASH_BITS	12

struct toytcp_ebucket {
	struct hlist_nulls_head	chain;
	spinlock_t		lock;	/* writers of @chain */
};

struct toytcp_lbucket {
	struct hlist_head	chain;
	spinlock_t		lock;	/* writers of @chain */
};

static struct toytcp_ebucket *toytcp_ehash;
static struct toytcp_lbucket *toytcp_lhash;
static u32 toytcp_hash_secret __read_mostly;

static u32 toytcp_ehashfn(const struct net *net, __be32 laddr, __be16 lport,
			  __be32 faddr, __be16 fport)
{
	return jhash_3words((__force u32)laddr, (__force u32)faddr,
			    ((u32)ntohs(lport) << 16) | ntohs(fport),
			    toytcp_hash_secret + net_hash_mix(net)) &
	       ((1 << TOYTCP_EHASH_BITS) - 1);
}

static u32 toytcp_lhashfn(const struct net *net, __be32 laddr, u16 lport)
{
	return jhash_2words((__force u32)laddr, lport,
			    toytcp_hash_secret + net_hash_mix(net)) &
	       ((1 << TOYTCP_LHASH_BITS) - 1);
}

static struct toytcp_lbucket *toytcp_lbucket_of(const struct sock *sk)
{
	return &toytcp_lhash[toytcp_lhashfn(sock_net(sk), sk->sk_rcv_saddr,
					    inet_sk(sk)->inet_num)];
}

int toytcp_hash_init(void)
{
	int i;

	toytcp_ehash = kvcalloc(1 << TOYTCP_EHASH_BITS, sizeof(*toytcp_ehash),
				GFP_KERNEL);
	if (!toytcp_ehash)
		return -ENOMEM;
	toytcp_lhash = kvcalloc(1 << TOYTCP_LHASH_BITS, sizeof(*toytcp_lhash),
				GFP_KERNEL);
	if (!toytcp_lhash) {
		kvfree(toytcp_ehash);
		return -ENOMEM;
	}
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
	kvfree(toytcp_lhash);
	kvfree(toytcp_ehash);
}

static struct toytcp_ebucket *toytcp_ebucket_of(const struct sock *sk)
{
	return &toytcp_ehash[toytcp_ehashfn(sock_net(sk), sk->sk_rcv_saddr,
					    inet_sk(sk)->inet_sport,
					    sk->sk_daddr, sk->sk_dport)];
}

/* Sockets more or fewer in @net's tables: counted before they go in and
 * after they are out, so that the count is never below what the tables
 * hold.
 */
static void toytcp_hashed_add(struct sock *sk, int n)
{
	atomic_add(n, &toytcp_pernet(sock_net(sk))->hashed);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, n);
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

/**
 * toytcp_ehash_add() - make a connection visible to the receive path,
 * unless its 4-tuple is taken
 * @sk: a socket with both ends of its 4-tuple set
 *
 * The check and the insert are one step under the bucket lock, as
 * __inet_check_established(): of two sockets bound to one port with
 * SO_REUSEADDR (of one user or of two) that connect() to one destination,
 * the second gets EADDRNOTAVAIL, and a listener that takes two SYNs of
 * one 4-tuple at once makes one child.  A connection in TIME-WAIT keeps
 * its 4-tuple too (Linux reuses one only by its timestamps, which toytcp
 * does not send).
 *
 * Context: any; takes the bucket lock with bottom halves disabled.
 * Return: 0, or -EADDRNOTAVAIL when another socket has the 4-tuple.
 */
int toytcp_ehash_add(struct sock *sk)
{
	struct toytcp_ebucket *b = toytcp_ebucket_of(sk);
	struct hlist_nulls_node *node;
	struct sock *o;

	sk->sk_hash = b - toytcp_ehash;
	toytcp_hashed_add(sk, 1);
	spin_lock_bh(&b->lock);
	sk_nulls_for_each(o, node, &b->chain) {
		if (toytcp_ematch(o, sock_net(sk), sk->sk_daddr, sk->sk_dport,
				  sk->sk_rcv_saddr, inet_sk(sk)->inet_sport,
				  sk->sk_bound_dev_if)) {
			spin_unlock_bh(&b->lock);
			toytcp_hashed_add(sk, -1);
			return -EADDRNOTAVAIL;
		}
	}
	sk_nulls_add_node_rcu(sk, &b->chain);
	spin_unlock_bh(&b->lock);
	return 0;
}

/**
 * toytcp_linux_has_tuple() - has Linux TCP a connection on @sk's 4-tuple?
 * @sk: a socket about to connect, both ends of its 4-tuple set
 *
 * For connect(): a 4-tuple Linux TCP uses is refused too.  Not atomic
 * with Linux's own insert, and Linux's connect() cannot see toytcp's
 * connections (its __inet_check_established() looks in its own table
 * only): between the stacks only this direction is checked.
 *
 * Context: process.
 * Return: true when Linux TCP has a socket (any state) with the 4-tuple.
 */
bool toytcp_linux_has_tuple(struct sock *sk)
{
	struct net *net = sock_net(sk);
	struct sock *lsk;

	rcu_read_lock();
	lsk = __inet_lookup_established(net, net->ipv4.tcp_death_row.hashinfo,
					sk->sk_daddr, sk->sk_dport,
					sk->sk_rcv_saddr,
					inet_sk(sk)->inet_num,
					sk->sk_bound_dev_if, 0);
	rcu_read_unlock();
	if (lsk)
		sock_gen_put(lsk);
	return lsk;
}

/**
 * toytcp_lhash_add() - make a listener visible to the receive path
 * @sk: a socket bound to a local port, in LISTEN
 *
 * Linux's listen() on the port reservation has decided already that @sk
 * may listen there (toytcp_port_listen()), atomically with its own
 * listeners and every other toytcp listener's reservation.
 *
 * Context: process, socket lock held.
 */
void toytcp_lhash_add(struct sock *sk)
{
	struct toytcp_lbucket *b;

	sock_owned_by_me(sk);
	b = toytcp_lbucket_of(sk);
	toytcp_hashed_add(sk, 1);
	spin_lock_bh(&b->lock);
	sk_add_node_rcu(sk, &b->chain);
	spin_unlock_bh(&b->lock);
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
		lock = &toytcp_lbucket_of(sk)->lock;
	else
		lock = &toytcp_ehash[sk->sk_hash].lock;
	spin_lock_bh(lock);
	if (sk->sk_state == TCP_LISTEN)
		done = sk_del_node_init_rcu(sk);
	else
		done = sk_nulls_del_node_init_rcu(sk);
	spin_unlock_bh(lock);
	if (done)
		toytcp_hashed_add(sk, -1);
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

/* Is @sk a listener bound to @addr:@dport for a segment from @dif? */
static bool toytcp_lmatch(const struct sock *sk, const struct net *net,
			  __be32 addr, __be16 dport, int dif)
{
	return inet_sk(sk)->inet_sport == dport && sk->sk_rcv_saddr == addr &&
	       net_eq(sock_net(sk), net) &&
	       (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == dif);
}

/*
 * The listener bound to @addr:@dport, from its bucket.  Linux's rules
 * (port.c) leave one there, or a group sharing the port with
 * SO_REUSEPORT: then the first of the group, and *@n its size.
 */
static struct sock *toytcp_lookup_lbucket(struct net *net, __be32 addr,
					  __be16 dport, int dif,
					  unsigned int *n)
{
	struct toytcp_lbucket *b;
	struct sock *sk, *first = NULL;

	*n = 0;
	b = &toytcp_lhash[toytcp_lhashfn(net, addr, ntohs(dport))];
	sk_for_each_rcu(sk, &b->chain) {
		if (!toytcp_lmatch(sk, net, addr, dport, dif))
			continue;
		if (!first)
			first = sk;
		if (!first->sk_reuseport)
			break;
		if (sk->sk_reuseport)
			(*n)++;
	}
	return first;
}

/* The listener of @addr:@dport whose port reservation is @psk, or NULL. */
static struct sock *toytcp_listener_of(struct net *net, __be32 addr,
				       __be16 dport, int dif,
				       const struct sock *psk)
{
	struct toytcp_lbucket *b;
	struct sock *sk;

	b = &toytcp_lhash[toytcp_lhashfn(net, addr, ntohs(dport))];
	sk_for_each_rcu(sk, &b->chain)
		if (toytcp_lmatch(sk, net, addr, dport, dif) &&
		    READ_ONCE(toytcp_sk(sk)->port_sk) == psk)
			return sk;
	return NULL;
}

/*
 * A group of listeners sharing a port with SO_REUSEPORT, and with them
 * perhaps Linux TCP listeners of the same owner: Linux chooses, as it
 * would for its own (the reservations are in its group).  A connection
 * Linux TCP has on the 4-tuple is Linux's; a Linux listener's choice too
 * (NULL: the segment goes on to Linux TCP).  Otherwise the toytcp
 * listener whose reservation Linux chose, or, where Linux has no
 * listener there (its reservation not listening yet, or not any more),
 * one of the group by the 4-tuple's hash.  A reuseport BPF program sees
 * no skb here (as with a NULL skb, Linux chooses by the hash); the
 * toytcp listeners see every segment of the group's connections but the
 * first in any case.
 *
 * The same for a listener that is not ready (@first alone, @n 0):
 * while listen() waits for Linux's answer, or close() has begun
 * (listen.c), Linux says whether the segment is this listener's (its
 * reservation, or no Linux listener at all), another toytcp listener's,
 * or one of Linux TCP's own listeners' (a failing listen() must not take
 * their connections, not even for a moment).
 */
static struct sock *toytcp_reuseport_select(struct net *net,
					    struct sock *first,
					    unsigned int n, __be32 saddr,
					    __be16 sport, __be32 daddr,
					    __be16 dport, int dif)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;
	__be32 laddr = first->sk_rcv_saddr;
	struct toytcp_lbucket *b;
	struct sock *lsk, *sk;
	unsigned int pick;

	lsk = __inet_lookup_established(net, hinfo, saddr, sport, daddr,
					ntohs(dport), dif, 0);
	if (lsk) {
		sock_gen_put(lsk);
		return NULL;
	}
	lsk = __inet_lookup_listener(net, hinfo, NULL, 0, saddr, sport, daddr,
				     ntohs(dport), dif, 0);
	if (lsk) {
		sk = toytcp_listener_of(net, daddr, dport, dif, lsk);
		if (!sk && daddr != htonl(INADDR_ANY))
			sk = toytcp_listener_of(net, htonl(INADDR_ANY), dport,
						dif, lsk);
		return sk;
	}
	if (n <= 1)
		return first;
	pick = reciprocal_scale(inet_ehashfn(net, daddr, ntohs(dport), saddr,
					     sport), n);
	b = &toytcp_lhash[toytcp_lhashfn(net, laddr, ntohs(dport))];
	sk_for_each_rcu(sk, &b->chain)
		if (toytcp_lmatch(sk, net, laddr, dport, dif) &&
		    sk->sk_reuseport && !pick--)
			return sk;
	return first;
}

/*
 * The listener for a segment: one bound to its destination address, else
 * one bound to INADDR_ANY (as Linux's lhash2 lookup); nothing else is
 * looked at.
 */
struct sock *toytcp_lookup_listener(struct net *net, __be32 saddr,
				    __be16 sport, __be32 daddr, __be16 dport,
				    int dif)
{
	struct sock *sk;
	unsigned int n;

	sk = toytcp_lookup_lbucket(net, daddr, dport, dif, &n);
	if (!sk && daddr != htonl(INADDR_ANY))
		sk = toytcp_lookup_lbucket(net, htonl(INADDR_ANY), dport, dif,
					   &n);
	if (sk && (sk->sk_reuseport ||
		   !READ_ONCE(toytcp_sk(sk)->listen_ready)))
		sk = toytcp_reuseport_select(net, sk, n, saddr, sport, daddr,
					     dport, dif);
	if (sk && refcount_inc_not_zero(&sk->sk_refcnt))
		return sk;
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
 * Context: RCU read side (the receive hook).
 * Return: the socket with a reference held, or NULL.
 */
struct sock *toytcp_lookup(struct net *net, __be32 saddr, __be16 sport,
			   __be32 daddr, __be16 dport, int dif)
{
	struct sock *sk;

	/* Most namespaces have none: Linux TCP's segments pass at once. */
	if (!atomic_read(&toytcp_pernet(net)->hashed))
		return NULL;
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

	if (!atomic_read(&toytcp_pernet(net)->hashed))
		return NULL;
	for (; pos->bucket < TOYTCP_WALK_BUCKETS; pos->bucket++) {
		sk = toytcp_bucket_nth(net, pos->bucket, pos->offset);
		if (sk)
			return sk;
		pos->offset = 0;
	}
	return NULL;
}
