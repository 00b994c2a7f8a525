// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: receive memory, charged per network namespace and bounded by
 * net.toytcp.mem (min, pressure, max, in pages), in the manner of Linux
 * TCP's tcp_mem (sk_memory_allocated, __sk_mem_raise_allocated(),
 * sk_forced_mem_schedule()), but per namespace.
 *
 * Every skb that enters a socket's receive or out-of-order queue is
 * charged, by its truesize in bytes, to both the socket (sk_rmem_alloc, as
 * before) and the namespace (toytcp_net::rmem_alloc), when toytcp admits
 * it (toytcp_mem_schedule()); its destructor, toytcp_rfree(), uncharges
 * both whenever and however it is freed: read, pruned, purged at close or
 * abort.  An skb that moves from the out-of-order queue to the receive
 * queue keeps its one charge.  So is every child a listener holds in its
 * SYN or accept queue, by the size of a socket, until accept() takes it
 * (toytcp_mem_charge_child()): a peer grows those queues too.
 *
 *  - up to "pressure": nothing changes;
 *  - above "pressure" the namespace is under memory pressure until it
 *    falls below "min": windows stop growing beyond a fair share of "max"
 *    per established socket (toytcp_rcv_budget()); what is already
 *    advertised is never taken back (RFC 9293 3.8.6.2.2);
 *  - above "max" listeners make no new children (a SYN gets a cookie
 *    instead, or nothing with net.toytcp.syncookies 0), and new data is
 *    refused; TOYTCP_MEM_FORCE may take the namespace up to
 *    TOYTCP_MEM_SLACK beyond "max" (so that a reader that has read
 *    everything can always make progress, as sk_forced_mem_schedule()).
 *
 * mem.c answers "charged" or "refused" and knows nothing of the queues:
 * the receive path (toytcp_try_mem_schedule() in input.c, as Linux's
 * tcp_try_rmem_schedule()) decides what to free and when to ask again.
 */
#include <linux/mm.h>
#include <linux/swap.h>

#include "protocol.h"

/* What in-sequence data of an empty receive queue may take beyond "max". */
#define TOYTCP_MEM_SLACK	(64UL << PAGE_SHIFT)

/* Under pressure, no socket's window budget falls below this. */
#define TOYTCP_MEM_MIN_BUDGET	16384

/**
 * toytcp_mem_defaults() - net.toytcp.mem as Linux sizes tcp_mem
 * @mem: min, pressure, max, in pages
 *
 * As tcp_init_mem(): "max" 1/8 of the free buffer pages, "pressure" 1/16,
 * "min" 3/4 of that.
 *
 * Context: process (namespace setup).
 */
void toytcp_mem_defaults(unsigned long *mem)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);

	mem[0] = limit / 4 * 3;
	mem[1] = limit;
	mem[2] = mem[0] * 2;
}

static unsigned long toytcp_mem_limit(const struct toytcp_net *tn, int i)
{
	return READ_ONCE(tn->sysctl.mem[i]) << PAGE_SHIFT;
}

/**
 * toytcp_under_memory_pressure() - is @sk's namespace under pressure?
 * @sk: the socket
 *
 * Context: any; lockless.
 * Return: true from the moment receive memory passed "pressure" until it
 * falls below "min" again.
 */
bool toytcp_under_memory_pressure(const struct sock *sk)
{
	return test_bit(TOYTCP_MEM_PRESSURE,
			&toytcp_pernet(sock_net(sk))->mem_flags);
}

/**
 * toytcp_rcv_budget() - the receive buffer the window is computed from
 * @sk: the socket
 *
 * sk_rcvbuf, or under memory pressure the socket's share of "max": "max"
 * divided among the namespace's established sockets, at least 16 KB.  A
 * socket whose reader is behind has no room left in that and its window
 * stops growing; one whose reader keeps up still gets a window.
 *
 * Context: any; lockless (sk lock held for a stable sk_rcvbuf).
 * Return: bytes.
 */
int toytcp_rcv_budget(const struct sock *sk)
{
	const struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	int rcvbuf = READ_ONCE(sk->sk_rcvbuf);
	unsigned long share;

	if (!toytcp_under_memory_pressure(sk))
		return rcvbuf;
	share = toytcp_mem_limit(tn, 2) /
		max(atomic_read(&tn->curr_estab), 1);
	return clamp_t(unsigned long, share, TOYTCP_MEM_MIN_BUDGET, rcvbuf);
}

static void toytcp_mem_uncharge(struct toytcp_net *tn, unsigned int size)
{
	long alloc = atomic_long_sub_return(size, &tn->rmem_alloc);

	if (alloc < (long)toytcp_mem_limit(tn, 0) &&
	    test_bit(TOYTCP_MEM_PRESSURE, &tn->mem_flags))
		clear_bit(TOYTCP_MEM_PRESSURE, &tn->mem_flags);
}

/* The destructor of every skb toytcp_mem_schedule() admitted. */
static void toytcp_rfree(struct sk_buff *skb)
{
	toytcp_mem_uncharge(toytcp_pernet(sock_net(skb->sk)), skb->truesize);
	sock_rfree(skb);
}

/*
 * Add @size to the namespace's receive memory if that stays within @limit
 * bytes: a compare-and-exchange, so that the counter never goes above the
 * limit, not even for a moment, whatever other CPUs charge at the same
 * time.  *@alloc is the total with @size, charged or not.
 */
static bool toytcp_mem_try_charge(struct toytcp_net *tn, unsigned int size,
				  unsigned long limit, long *alloc)
{
	long old = atomic_long_read(&tn->rmem_alloc);

	do {
		*alloc = old + size;
		if (*alloc > (long)limit)
			return false;
	} while (!atomic_long_try_cmpxchg(&tn->rmem_alloc, &old, *alloc));
	return true;
}

/* Charge @size up to "max"; beyond "pressure" the namespace is under it. */
static bool toytcp_mem_charge(struct net *net, unsigned int size, long *alloc)
{
	struct toytcp_net *tn = toytcp_pernet(net);

	if (toytcp_mem_try_charge(tn, size, toytcp_mem_limit(tn, 1), alloc))
		return true;
	if (!test_and_set_bit(TOYTCP_MEM_PRESSURE, &tn->mem_flags))
		TOYTCP_INC_STATS(net, TOYTCP_MIB_MEMORYPRESSURES);
	return toytcp_mem_try_charge(tn, size, toytcp_mem_limit(tn, 2), alloc);
}

static void toytcp_mem_peak(struct toytcp_net *tn, long alloc)
{
	long peak = atomic_long_read(&tn->rmem_peak);

	while (alloc > peak &&
	       !atomic_long_try_cmpxchg(&tn->rmem_peak, &peak, alloc))
		;
}

/**
 * toytcp_mem_schedule() - admit @skb into @sk's receive memory, or not
 * @sk: the socket
 * @skb: a segment on its way to the receive queue or (when it starts
 *	beyond RCV.NXT) the out-of-order queue
 * @how: TOYTCP_MEM_FIRST, _AGAIN or _FORCE: how far the namespace's
 *	receive memory may go (enum toytcp_mem_try)
 *
 * On success @skb is charged to the namespace and owned by @sk
 * (skb_set_owner_r()) with toytcp_rfree() as destructor; the caller must
 * queue or free it.
 *
 * Context: sk lock held (softirq, or the backlog in process context).
 * Return: true when @skb was charged, false when the namespace has no
 * room for it; the caller frees memory and asks again, or drops it.
 */
bool toytcp_mem_schedule(struct sock *sk, struct sk_buff *skb,
			 enum toytcp_mem_try how)
{
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	unsigned int size = skb->truesize;
	unsigned long max;
	long alloc;

	sock_owned_by_me(sk);
	if (how == TOYTCP_MEM_FIRST) {
		if (!toytcp_mem_charge(sock_net(sk), size, &alloc))
			return false;
	} else {
		max = toytcp_mem_limit(tn, 2);
		if (how == TOYTCP_MEM_FORCE)
			max += TOYTCP_MEM_SLACK;
		if (!toytcp_mem_try_charge(tn, size, max, &alloc))
			return false;
	}
	toytcp_mem_peak(tn, alloc);
	skb_set_owner_r(skb, sk);
	skb->destructor = toytcp_rfree;
	return true;
}

/**
 * toytcp_mem_grow() - charge the growth of an skb already charged
 * @sk: the socket that owns @skb
 * @delta: bytes of truesize @skb gained (skb_try_coalesce() moved another
 *	skb's data into it; that one's destructor gives back its own charge)
 *
 * Charged whatever the limits: what @skb gained, the other skb frees, and
 * more than that.
 *
 * Context: sk lock held.
 */
void toytcp_mem_grow(struct sock *sk, int delta)
{
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));

	sock_owned_by_me(sk);
	atomic_add(delta, &sk->sk_rmem_alloc);
	sk_mem_charge(sk, delta);
	atomic_long_add(delta, &tn->rmem_alloc);
}

/**
 * toytcp_mem_charge_child() - charge a listener's new child
 * @sk: the listener
 *
 * A child in a listener's SYN or accept queue is memory that a peer made
 * the kernel keep, as received data is: it is charged to the namespace,
 * by the size of a socket, from its SYN (or the ACK that returned a
 * cookie) until accept() hands it to the application or it dies in the
 * queue (toytcp_mem_uncharge_child()).  Beyond "pressure" it puts the
 * namespace under pressure; beyond "max" there is no new child.
 *
 * Context: the listener's sk lock.
 * Return: true when charged; false (and counted) when the namespace holds
 * "max" already.
 */
bool toytcp_mem_charge_child(struct sock *sk)
{
	long alloc;

	sock_owned_by_me(sk);
	if (!toytcp_mem_charge(sock_net(sk), sk->sk_prot->obj_size, &alloc)) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_MEMORYDROPS);
		return false;
	}
	toytcp_mem_peak(toytcp_pernet(sock_net(sk)), alloc);
	return true;
}

/**
 * toytcp_mem_uncharge_child() - a child left its listener's queues
 * @sk: the child (or its listener: the same size)
 *
 * Exactly once per toytcp_mem_charge_child(), by whoever unlinks the
 * child from the listener.
 *
 * Context: any.
 */
void toytcp_mem_uncharge_child(struct sock *sk)
{
	toytcp_mem_uncharge(toytcp_pernet(sock_net(sk)), sk->sk_prot->obj_size);
}

/**
 * toytcp_mem_init_net() - nothing charged yet
 * @net: the new namespace
 *
 * Context: process, the pernet init.
 */
void toytcp_mem_init_net(struct net *net)
{
	struct toytcp_net *tn = toytcp_pernet(net);

	atomic_long_set(&tn->rmem_alloc, 0);
	atomic_long_set(&tn->rmem_peak, 0);
	tn->mem_flags = 0;
}

/**
 * toytcp_mem_exit_net() - check that everything was uncharged
 * @net: the namespace going away
 *
 * Every socket holds a reference on its namespace, so all of them, and
 * all their queues, are gone by now.
 *
 * Context: process, the pernet exit.
 */
void toytcp_mem_exit_net(struct net *net)
{
	WARN_ON_ONCE(atomic_long_read(&toytcp_pernet(net)->rmem_alloc));
}
