// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: socket memory, one limit for the whole host, through the
 * kernel's own socket memory accounting (the models: tcp_mem,
 * tcp_memory_allocated and tcp_enter_memory_pressure() in net/ipv4/tcp.c,
 * sk_forced_mem_schedule() in tcp_output.c, tcp_try_rmem_schedule() in
 * tcp_input.c, tcp_out_of_memory() and tcp_too_many_orphans() in
 * include/net/tcp.h).
 *
 * toytcp_proto (sock.c) names this file's counters: memory_allocated
 * (pages, with a per-CPU reserve, per_cpu_fw_alloc), sysctl_mem
 * (net.toytcp.mem: min, pressure, max pages, set only in the initial
 * namespace), memory_pressure and sockets_allocated.  The generic code
 * does the rest, as for Linux TCP: __sk_mem_schedule() (through
 * sk_rmem_schedule() and sk_wmem_schedule()) raises a socket's
 * sk_forward_alloc in pages, charges them to memory_allocated and to the
 * socket's memory cgroup (sk->sk_memcg, when sk_alloc() set one), and
 * refuses beyond "max" (beyond "pressure" it enters memory pressure);
 * sk_mem_charge() and sk_mem_uncharge() move bytes between a socket's
 * queues and its sk_forward_alloc, and sk_mem_reclaim() gives whole pages
 * back.
 *
 * What is charged:
 *  - receive memory: every skb of the receive and out-of-order queues, by
 *    its truesize (toytcp_mem_schedule(); skb_set_owner_r(), uncharged by
 *    sock_rfree() whenever and however the skb is freed);
 *  - send memory: every skb of the write queue, its head and its payload
 *    (toytcp_wmem_schedule(); output.c and sendmsg());
 *  - a listener's children until accept() takes them, one page each
 *    (toytcp_mem_charge_child()): memory a peer made the host keep.
 *
 * What each limit does, as for Linux TCP:
 *  - above "pressure" the host is under memory pressure until it falls
 *    below "min": receive windows stop growing beyond a fair share of
 *    "max" per socket (toytcp_rcv_budget()); what is already advertised
 *    is never taken back (RFC 9293 3.8.6.2.2);
 *  - above "max" new data is refused (out-of-order data first, then data
 *    in sequence; the receive path decides, toytcp_try_mem_schedule() in
 *    input.c), sendmsg() waits for memory (sk_stream_wait_memory()),
 *    listeners make no new children, and close() resets a socket that
 *    would otherwise linger as an orphan with a send queue;
 *  - in-sequence data for an empty receive queue may take the host
 *    TOYTCP_MEM_SLACK beyond "max" (TOYTCP_MEM_FORCE), so a reader that
 *    has read everything always makes progress, as
 *    sk_forced_mem_schedule() lets Linux TCP.  So do a SYN, a FIN and an
 *    skb split off for SACK or retransmission (toytcp_wmem_schedule()
 *    with @force), which cannot wait: they are few and bounded
 *    (toytcp_fragment()).
 *
 * The generic code charges a socket's memory cgroup only through
 * __sk_mem_schedule() (mem_cgroup_charge_skmem() is not exported): a
 * forced send charge of a socket with a memory cgroup goes through it
 * too, and where that refuses, the charge is left as a debt of
 * sk_forward_alloc (negative), which the next successful schedule pays;
 * such a socket's receive path gets no slack beyond "max".
 */
#include <linux/mm.h>
#include <linux/percpu_counter.h>
#include <linux/swap.h>

#include "protocol.h"

/* What in-sequence data of an empty receive queue may take beyond "max". */
#define TOYTCP_MEM_SLACK	64L	/* pages */

/* Under pressure, no socket's window budget falls below this. */
#define TOYTCP_MEM_MIN_BUDGET	16384

long toytcp_sysctl_mem[3] __read_mostly;
atomic_long_t toytcp_memory_allocated ____cacheline_aligned_in_smp;
DEFINE_PER_CPU(int, toytcp_memory_per_cpu_fw_alloc);
struct percpu_counter toytcp_sockets_allocated ____cacheline_aligned_in_smp;
unsigned long toytcp_memory_pressure __read_mostly;
static atomic_long_t toytcp_memory_peak;

/**
 * toytcp_mem_defaults() - net.toytcp.mem as Linux sizes tcp_mem
 * @mem: min, pressure, max, in pages
 *
 * As tcp_init_mem(): "pressure" 1/16 of the free buffer pages (at least
 * 128), "min" 3/4 of that, "max" twice "min".
 *
 * Context: process (module init).
 */
void toytcp_mem_defaults(long *mem)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);

	mem[0] = limit / 4 * 3;
	mem[1] = limit;
	mem[2] = mem[0] * 2;
}

static long toytcp_mem_limit(int i)
{
	return READ_ONCE(toytcp_sysctl_mem[i]);
}

/**
 * toytcp_mem_allocated() - the pages toytcp holds, host-wide
 *
 * memory_allocated plus what each CPU holds in its reserve
 * (per_cpu_fw_alloc): the exact sum, which the limits are checked against
 * less precisely (the generic code reads memory_allocated alone).
 *
 * Context: any.
 * Return: pages.
 */
long toytcp_mem_allocated(void)
{
	long v = atomic_long_read(&toytcp_memory_allocated);
	int cpu;

	for_each_possible_cpu(cpu)
		v += per_cpu(toytcp_memory_per_cpu_fw_alloc, cpu);
	return max(v, 0L);
}

/**
 * toytcp_mem_peak() - the highest toytcp_mem_allocated() a charge left
 *
 * Context: any.
 * Return: pages.
 */
long toytcp_mem_peak(void)
{
	return atomic_long_read(&toytcp_memory_peak);
}

static void toytcp_mem_note_peak(void)
{
	long alloc = toytcp_mem_allocated();
	long peak = atomic_long_read(&toytcp_memory_peak);

	while (alloc > peak &&
	       !atomic_long_try_cmpxchg(&toytcp_memory_peak, &peak, alloc))
		;
}

/**
 * toytcp_enter_memory_pressure() - proto.enter_memory_pressure
 * @sk: the socket whose charge went beyond "pressure"
 *
 * Counted once per episode (MemoryPressures), in @sk's namespace.
 *
 * Context: any.
 */
void toytcp_enter_memory_pressure(struct sock *sk)
{
	if (READ_ONCE(toytcp_memory_pressure))
		return;
	WRITE_ONCE(toytcp_memory_pressure, 1);
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_MEMORYPRESSURES);
}

/**
 * toytcp_leave_memory_pressure() - proto.leave_memory_pressure
 * @sk: the socket whose charge found the host below "min"
 *
 * Context: any.
 */
void toytcp_leave_memory_pressure(struct sock *sk)
{
	if (READ_ONCE(toytcp_memory_pressure))
		WRITE_ONCE(toytcp_memory_pressure, 0);
}

/**
 * toytcp_under_memory_pressure() - is the host (or @sk's memory cgroup)
 * under memory pressure?
 * @sk: the socket
 *
 * Context: any; lockless.
 * Return: true from the moment socket memory passed "pressure" until it
 * falls below "min" again.
 */
bool toytcp_under_memory_pressure(const struct sock *sk)
{
	return sk_under_memory_pressure(sk);
}

/**
 * toytcp_rcv_budget() - the receive buffer the window is computed from
 * @sk: the socket
 *
 * sk_rcvbuf, or under memory pressure the socket's share of "max": "max"
 * divided among toytcp's sockets, at least 16 KB.  A socket whose reader
 * is behind has no room left in that and its window stops growing; one
 * whose reader keeps up still gets a window.
 *
 * Context: any; lockless (sk lock held for a stable sk_rcvbuf).
 * Return: bytes.
 */
int toytcp_rcv_budget(const struct sock *sk)
{
	int rcvbuf = READ_ONCE(sk->sk_rcvbuf);
	unsigned long share;

	if (!toytcp_under_memory_pressure(sk))
		return rcvbuf;
	share = ((unsigned long)toytcp_mem_limit(2) << PAGE_SHIFT) /
		max_t(s64, percpu_counter_read_positive(&toytcp_sockets_allocated),
		      1);
	return clamp_t(unsigned long, share, TOYTCP_MEM_MIN_BUDGET, rcvbuf);
}

/*
 * Charge @amt pages (negative: give them back) to memory_allocated
 * directly, as the generic code cannot for us (sysctl_mem_pcpu_rsv, its
 * per-CPU threshold, is not exported by 6.1), together with what this
 * CPU's reserve holds: pages the generic code gave back there without
 * flushing them yet.  Without that, a charge made here and given back
 * through the reserve would leave memory_allocated too high until the
 * reserve fills.  Returns the exact total, toytcp_mem_allocated().
 */
static long toytcp_mem_add(long amt)
{
	amt += this_cpu_xchg(toytcp_memory_per_cpu_fw_alloc, 0);
	atomic_long_add(amt, &toytcp_memory_allocated);
	return toytcp_mem_allocated();
}

/* Has the generic code a memory cgroup to charge for @sk? */
static bool toytcp_has_memcg(const struct sock *sk)
{
	return mem_cgroup_sockets_enabled && sk->sk_memcg;
}

/*
 * Raise sk_forward_alloc to @size beyond the limits, as
 * sk_forced_mem_schedule(), but no higher than @limit pages in all
 * (LONG_MAX: no bound).  See the top of the file for a socket with a
 * memory cgroup.
 */
static bool toytcp_mem_force(struct sock *sk, int size, int kind, long limit)
{
	int delta = size - sk->sk_forward_alloc;
	long amt;

	if (delta <= 0)
		return true;
	if (toytcp_has_memcg(sk))
		return __sk_mem_schedule(sk, delta, kind) || limit == LONG_MAX;
	amt = sk_mem_pages(delta);
	if (toytcp_mem_add(amt) > limit) {
		toytcp_mem_add(-amt);
		return false;
	}
	sk_forward_alloc_add(sk, amt << PAGE_SHIFT);
	return true;
}

/**
 * toytcp_mem_schedule() - admit @skb into @sk's receive memory, or not
 * @sk: the socket
 * @skb: a segment on its way to the receive queue or (when it starts
 *	beyond RCV.NXT) the out-of-order queue
 * @how: TOYTCP_MEM_FIRST, _AGAIN or _FORCE (enum toytcp_mem_try)
 *
 * On success @skb is charged (sk_rmem_alloc and sk_forward_alloc) and
 * owned by @sk (skb_set_owner_r(): sock_rfree() uncharges it); the caller
 * must queue or free it.
 *
 * Context: sk lock held (softirq, or the backlog in process context).
 * Return: true when @skb was charged, false when the host has no room for
 * it; the caller frees memory and asks again, or drops it.
 */
bool toytcp_mem_schedule(struct sock *sk, struct sk_buff *skb,
			 enum toytcp_mem_try how)
{
	int size = skb->truesize;
	bool raise = size > sk->sk_forward_alloc;

	sock_owned_by_me(sk);
	if (how == TOYTCP_MEM_FORCE) {
		if (toytcp_has_memcg(sk) ||
		    !toytcp_mem_force(sk, size, SK_MEM_RECV,
				      toytcp_mem_limit(2) + TOYTCP_MEM_SLACK))
			return false;
	} else if (!sk_rmem_schedule(sk, skb, size)) {
		return false;
	}
	skb_set_owner_r(skb, sk);
	if (raise)
		toytcp_mem_note_peak();
	return true;
}

/**
 * toytcp_mem_grow() - charge the growth of an skb already charged
 * @sk: the socket that owns @skb
 * @delta: bytes of truesize @skb gained (skb_try_coalesce() moved another
 *	skb's data into it; that one's destructor gives back its own
 *	charge, which is more, right after)
 *
 * Context: sk lock held.
 */
void toytcp_mem_grow(struct sock *sk, int delta)
{
	sock_owned_by_me(sk);
	atomic_add(delta, &sk->sk_rmem_alloc);
	sk_mem_charge(sk, delta);
}

/**
 * toytcp_wmem_schedule() - room for @size more bytes of send memory
 * @sk: the socket
 * @size: bytes about to be charged with sk_mem_charge()
 * @force: an skb that cannot wait (SYN, FIN, a split): charged beyond the
 *	limits if need be
 *
 * Context: sk lock held.
 * Return: true when the caller may charge @size; false (not forced) when
 * the host holds "max" already: sendmsg() waits.
 */
bool toytcp_wmem_schedule(struct sock *sk, int size, bool force)
{
	int delta = size - sk->sk_forward_alloc;

	sock_owned_by_me(sk);
	if (delta <= 0)
		return true;
	if (force)
		toytcp_mem_force(sk, size, SK_MEM_SEND, LONG_MAX);
	else if (!__sk_mem_schedule(sk, delta, SK_MEM_SEND))
		return false;
	toytcp_mem_note_peak();
	return true;
}

/**
 * toytcp_mem_charge_child() - charge a listener's new child
 * @sk: the listener
 *
 * A child in a listener's SYN or accept queue is memory that a peer made
 * the host keep, as received data is: it is charged, one page (its size
 * rounded up), from its SYN (or the ACK that returned a cookie) until
 * accept() hands it to the application or it dies in the queue
 * (toytcp_mem_uncharge_child()).  Beyond "pressure" it puts the host
 * under pressure; beyond "max" there is no new child.
 *
 * Context: the listener's sk lock.
 * Return: true when charged; false (and counted) when the host holds
 * "max" already.
 */
bool toytcp_mem_charge_child(struct sock *sk)
{
	long amt = sk_mem_pages(sk->sk_prot->obj_size);
	long alloc;

	sock_owned_by_me(sk);
	alloc = toytcp_mem_add(amt);
	if (alloc > toytcp_mem_limit(1))
		toytcp_enter_memory_pressure(sk);
	if (alloc > toytcp_mem_limit(2)) {
		toytcp_mem_add(-amt);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_MEMORYDROPS);
		return false;
	}
	toytcp_mem_note_peak();
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
	long alloc = toytcp_mem_add(-(long)sk_mem_pages(sk->sk_prot->obj_size));

	if (alloc < toytcp_mem_limit(0))
		toytcp_leave_memory_pressure(sk);
}

/**
 * toytcp_check_oom() - may this orphan live on?  As tcp_check_oom()
 * @sk: a socket its user closed, or an orphan whose timer fired
 * @shift: how hard to judge: the orphan count is doubled per step
 *
 * No, when its namespace holds more than net.toytcp.max_orphans orphans
 * (counted TooManyOrphans-like in the log), or when the host's socket
 * memory is above "max" and @sk still holds a send queue.
 *
 * Context: sk lock held.
 * Return: true when @sk is to be reset (the caller counts AbortOnMemory).
 */
bool toytcp_check_oom(struct sock *sk, int shift)
{
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	bool too_many, oom;

	sock_owned_by_me(sk);
	too_many = (atomic_read(&tn->orphans) << shift) >
		   READ_ONCE(tn->sysctl.max_orphans);
	oom = READ_ONCE(sk->sk_wmem_queued) > SOCK_MIN_SNDBUF &&
	      sk_memory_allocated(sk) > sk_prot_mem_limits(sk, 2);
	if (too_many)
		net_info_ratelimited("too many orphaned sockets\n");
	if (oom)
		net_info_ratelimited("out of memory -- consider tuning net.toytcp.mem\n");
	return too_many || oom;
}

/**
 * toytcp_mem_init() - the counters the proto names, and the default limit
 *
 * Context: process, module init, before proto_register().
 * Return: 0 or -ENOMEM.
 */
int toytcp_mem_init(void)
{
	toytcp_mem_defaults(toytcp_sysctl_mem);
	return percpu_counter_init(&toytcp_sockets_allocated, 0, GFP_KERNEL);
}

/**
 * toytcp_mem_exit() - every socket is gone: nothing may be charged
 *
 * Context: process, module exit, after proto_unregister().
 */
void toytcp_mem_exit(void)
{
	WARN_ON_ONCE(toytcp_mem_allocated());
	percpu_counter_destroy(&toytcp_sockets_allocated);
}
