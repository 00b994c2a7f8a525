// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: listen(), accept() and the passive open (the models:
 * net/ipv4/inet_connection_sock.c and tcp_minisocks.c).
 *
 * A listener's SYN makes a child socket in SYN-RECEIVED, linked to the
 * listener's SYN queue and to the established table; the ACK that
 * completes the handshake moves it to the accept queue, where accept()
 * finds it.  A full SYN queue answers with SYN cookies (syncookies.c).
 * A listener that closes resets the children nobody accepted.  The lock
 * nesting (listener, accept_lock, child) is documented in protocol.h.
 */
#include <net/ip.h>

#include "protocol.h"

/**
 * toytcp_listen() - listen() (proto_ops.listen)
 * @sock: the socket
 * @backlog: bound of the accept queue and of the SYN queue
 *
 * Binds to a free port first when the socket has none.  Linux decides
 * whether the socket may listen on its port, listen() on the port
 * reservation (toytcp_port_listen()), against Linux TCP's listeners and
 * toytcp's alike, atomically.  The listener goes into the listening table
 * before that, not ready (@listen_ready false), so that no SYN ever finds
 * the reservation listening in Linux without it (Linux TCP would answer
 * it, port.c): the receive path then asks Linux which listener a segment
 * is for (hash.c), and the SYNs that come to this one wait in its backlog
 * until release_sock(), when it is ready, or, if Linux refused, out of
 * the table again and closed (answered with a reset, as Linux answers
 * where nothing listens).  Between the two, toytcp_hook_sync_syns(): a
 * SYN that toytcp_v4_rcv() looked up before the listener was in the
 * table goes on to tcp_v4_rcv(), whose own lookup comes later and could
 * otherwise find the reservation listening already.  On a listener, only
 * changes the backlog.
 *
 * Context: process; takes the sk lock; may sleep for an RCU grace period.
 * Return: 0, -EINVAL in a state that cannot listen, -EADDRINUSE when
 * another listener has the port, or the errno of the port reservation.
 */
int toytcp_listen(struct socket *sock, int backlog)
{
	struct toytcp_sock *tsk = toytcp_sk(sock->sk);
	struct sock *sk = sock->sk;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (sock->state != SS_UNCONNECTED ||
	    !((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)))
		goto out;
	if (!inet_sk(sk)->inet_num) {
		err = toytcp_port_get(sk, 0, 0);
		if (err)
			goto out;
	}
	if (sk->sk_state == TCP_LISTEN) {
		err = toytcp_port_listen(sk, backlog);
		if (!err)
			WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
		goto out;
	}
	tsk->closing = false;
	toytcp_set_state(sk, TCP_LISTEN);
	toytcp_lhash_add(sk);
	toytcp_hook_sync_syns();
	err = toytcp_port_listen(sk, backlog);
	if (err) {
		toytcp_set_state(sk, TCP_CLOSE);	/* and unhashed */
		goto out;
	}
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	WRITE_ONCE(tsk->listen_ready, true);
out:
	release_sock(sk);
	return err;
}

/*
 * Are the listener's SYN queue and accept queue full?  Linux's bounds:
 * each is full once it holds more than the backlog
 * (inet_csk_reqsk_queue_is_full(), sk_acceptq_is_full()), so that
 * listen(fd, 0) takes one connection.
 */
static void toytcp_listen_full(struct sock *sk, bool *syn_full,
			       bool *accept_full)
{
	u32 backlog = READ_ONCE(sk->sk_max_ack_backlog);
	struct toytcp_sock *tsk = toytcp_sk(sk);

	spin_lock_bh(&tsk->accept_lock);
	*accept_full = tsk->accept_count > backlog;
	*syn_full = tsk->syn_count > backlog;
	spin_unlock_bh(&tsk->accept_lock);
}

/**
 * toytcp_listen_nolock() - answer a SYN with a cookie without the lock
 * @sk: a listener
 * @skb: a segment for it, TOYTCP_SKB_CB() filled in
 *
 * A SYN for a listener whose SYN queue is full gets its cookie here,
 * without the listener's lock, as on Linux's lockless listener: a flood
 * then neither waits for a listener that accept() holds nor fills its
 * backlog, where real clients' SYNs and ACKs would be dropped with it.
 *
 * A listener not ready yet (toytcp_listen()) leaves its SYNs to the
 * locked path: they wait in its backlog until listen() has decided.
 *
 * Context: softirq, RCU read side; the listener's sk lock not held.
 * Return: true when it consumed @skb; false leaves it to the locked path.
 */
bool toytcp_listen_nolock(struct sock *sk, struct sk_buff *skb)
{
	bool syn_full, accept_full;

	if (!READ_ONCE(toytcp_sk(sk)->listen_ready))
		return false;
	if ((TOYTCP_SKB_CB(skb)->flags &
	     (TOYTCP_SYN | TOYTCP_ACK | TOYTCP_RST)) != TOYTCP_SYN)
		return false;
	toytcp_listen_full(sk, &syn_full, &accept_full);
	if (accept_full || !toytcp_cookie_wanted(sk, syn_full))
		return false;
	if (syn_full)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_REQQFULLDOCOOKIES);
	toytcp_cookie_send(sk, skb);
	consume_skb(skb);
	return true;
}

/*
 * Create a child of listener @sk, linked to the listener's SYN queue in
 * SYN-RECEIVED but not yet in the lookup tables; or NULL.  For a SYN
 * (@cookie_mss 0) the child has still to send its SYN-ACK.  For the ACK
 * that returned a SYN cookie holding @cookie_mss, the SYN-ACK went out
 * already, statelessly: the child is where the SYN-ACK left it, with the
 * cookie as its ISS, and window scaling and SACK only if the cookie's
 * timestamp kept them (syncookies.c).
 *
 * The child is set up under its own sk lock (bh_lock_sock(), bottom
 * halves disabled by the caller), which the functions that set it up
 * assert, and released before it is linked to the listener; the caller
 * locks it again before it hashes it.  Nobody else can reach it in
 * between: it is in no table, its timers are off, and the listener's
 * queues are walked only under the listener's lock, which the caller
 * holds.  (Sparse checks lock balance per function, so the lock is not
 * handed over locked, as inet_csk_clone_lock() does.)  Nesting: listener,
 * then child, then the listener's accept_lock (see protocol.h).
 */
static struct sock *toytcp_create_child(struct sock *sk, struct sk_buff *skb,
					u16 cookie_mss)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	struct toytcp_sock *ptsk = toytcp_sk(sk), *ctsk;
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = tcp_hdr(skb);
	struct inet_sock *cinet;
	struct sock *child;
	u32 irs = cb->seq;

	if (cookie_mss) {
		irs = cb->seq - 1;
		toytcp_cookie_syn_options(sk, skb, cookie_mss);
	}
	child = sk_alloc(sock_net(sk), PF_TOYTCP, GFP_ATOMIC, sk->sk_prot,
			 false);
	if (!child)
		return NULL;
	/* The listener's type and owner: getsockopt(SO_TYPE), and the uid
	 * its route is looked up with (ip rule uidrange), as Linux's
	 * request and child sockets carry the listener's.
	 */
	sock_init_data_uid(NULL, child, sk->sk_uid);
	child->sk_type = sk->sk_type;
	toytcp_init_sock(child);
	ctsk = toytcp_sk(child);
	cinet = inet_sk(child);
	bh_lock_sock(child);	/* for the set-up, which asserts it */

	WRITE_ONCE(child->sk_rcvbuf, READ_ONCE(sk->sk_rcvbuf));
	WRITE_ONCE(child->sk_sndbuf, READ_ONCE(sk->sk_sndbuf));
	child->sk_userlocks = sk->sk_userlocks;
	child->sk_bound_dev_if = sk->sk_bound_dev_if;
	WRITE_ONCE(child->sk_mark, READ_ONCE(sk->sk_mark));
	WRITE_ONCE(child->sk_priority, READ_ONCE(sk->sk_priority));
	if (sock_flag(sk, SOCK_KEEPOPEN))
		sock_set_flag(child, SOCK_KEEPOPEN);
	WRITE_ONCE(ctsk->nodelay, ptsk->nodelay);
	WRITE_ONCE(ctsk->cork, ptsk->cork);
	toytcp_cong_init(child, ptsk->ca_ops);
	WRITE_ONCE(ctsk->keepidle, ptsk->keepidle);
	WRITE_ONCE(ctsk->keepintvl, ptsk->keepintvl);
	WRITE_ONCE(ctsk->keepcnt, ptsk->keepcnt);
	WRITE_ONCE(ctsk->user_mss, ptsk->user_mss);
	cinet->inet_num = inet_sk(sk)->inet_num;
	cinet->inet_sport = inet_sk(sk)->inet_sport;
	cinet->inet_saddr = iph->daddr;
	child->sk_rcv_saddr = iph->daddr;
	child->sk_daddr = iph->saddr;
	child->sk_dport = th->source;
	/* The IPv4 options toytcp applies, as sk_clone_lock() copies them
	 * to Linux TCP's children: IP_MINTTL guards the connection too.
	 */
	cinet->min_ttl = READ_ONCE(inet_sk(sk)->min_ttl);
	cinet->uc_ttl = READ_ONCE(inet_sk(sk)->uc_ttl);
	cinet->tos = READ_ONCE(inet_sk(sk)->tos);
	cinet->pmtudisc = READ_ONCE(inet_sk(sk)->pmtudisc);

	if (toytcp_route(child)) {
		bh_unlock_sock(child);
		sock_set_flag(child, SOCK_DEAD);
		sk_free(child);
		return NULL;
	}
	toytcp_sync_mss(child);
	ctsk->irs = irs;
	WRITE_ONCE(ctsk->rcv_nxt, irs + 1);
	WRITE_ONCE(ctsk->copied_seq, ctsk->rcv_nxt);
	toytcp_init_rcv_wnd(child);
	toytcp_apply_syn_options(child, cb);
	ctsk->snd_wnd = cb->wnd;
	ctsk->snd_wl1 = cb->seq;
	toytcp_init_seq(child);		/* and the timestamp offset */
	if (cookie_mss) {
		toytcp_set_iss(child, cb->ack_seq - 1);
		ctsk->snd_nxt = ctsk->iss + 1;
		WRITE_ONCE(ctsk->write_seq, ctsk->snd_nxt);
	} else if (cb->flags & TOYTCP_TW_SYN) {
		/* Above the connection it replaces (timewait.c). */
		toytcp_set_iss(child, cb->tw_isn);
	}
	ctsk->snd_wl2 = ctsk->iss;
	bh_unlock_sock(child);

	if (ptsk->port) {
		toytcp_port_hold(ptsk->port);
		ctsk->port = ptsk->port;
	}
	sock_hold(sk);
	ctsk->parent = sk;
	spin_lock(&ptsk->accept_lock);
	list_add_tail(&ctsk->child_node, &ptsk->syn_queue);
	ptsk->syn_count++;
	spin_unlock(&ptsk->accept_lock);
	return child;
}

/**
 * toytcp_rcv_listen() - RFC 9293 3.10.7.2: a segment for a listener
 * @sk: the listener
 * @skb: the segment, consumed
 *
 * A SYN gets a child in SYN-RECEIVED while the SYN queue has room.  Once
 * it is full (a SYN flood, or clients faster than the handshakes), further
 * SYNs are answered with SYN cookies (syncookies.c), or dropped with
 * net.toytcp.syncookies = 0.  An ACK that matched no child may return a
 * cookie: it gets its child then; any other ACK a reset.  Both queues are
 * bounded by the backlog, so neither a flood nor a slow accept() makes a
 * listener hold more than that many children; and every child is charged
 * to net.toytcp.mem until accept() takes it, which bounds all listeners
 * of the namespace together.
 *
 * Context: the listener's sk lock held (softirq, or its backlog).
 */
void toytcp_rcv_listen(struct sock *sk, struct sk_buff *skb)
{
	struct toytcp_skb_cb *cb = TOYTCP_SKB_CB(skb);
	bool syn_full, accept_full;
	u16 cookie_mss = 0;
	struct sock *child;

	sock_owned_by_me(sk);
	if (cb->flags & TOYTCP_RST)
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_RST_IGNORED);
	if ((cb->flags & (TOYTCP_ACK | TOYTCP_SYN)) == 0)
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_BAD_FLAGS);

	toytcp_listen_full(sk, &syn_full, &accept_full);
	if (cb->flags & TOYTCP_ACK) {
		if (!(cb->flags & TOYTCP_SYN))
			cookie_mss = toytcp_cookie_check(sk, skb);
		if (!cookie_mss) {
			toytcp_send_reset(sk, skb);
			return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_LISTENER_ACK);
		}
	}
	/* A full accept queue takes nobody, cookie or not: the peer tries
	 * again (its SYN, or its ACK with the same cookie).
	 */
	if (accept_full) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENOVERFLOWS);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENDROPS);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_LISTEN_OVERFLOW);
	}
	if (!cookie_mss && toytcp_cookie_wanted(sk, syn_full)) {
		if (syn_full)
			TOYTCP_INC_STATS(sock_net(sk),
					 TOYTCP_MIB_REQQFULLDOCOOKIES);
		toytcp_cookie_send(sk, skb);
		consume_skb(skb);
		return;
	}
	if (syn_full && !cookie_mss) {
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_REQQFULLDROP);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENDROPS);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_SYN_QUEUE_FULL);
	}

	/* The namespace holds net.toytcp.mem already: no state for this
	 * peer, but a cookie keeps none.
	 */
	if (!toytcp_mem_charge_child(sk)) {
		if (!cookie_mss && toytcp_cookie_wanted(sk, true)) {
			toytcp_cookie_send(sk, skb);
			consume_skb(skb);
			return;
		}
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENDROPS);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_MEMORY);
	}

	local_bh_disable();
	child = toytcp_create_child(sk, skb, cookie_mss);
	if (!child) {
		local_bh_enable();
		toytcp_mem_uncharge_child(sk);
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_LISTENDROPS);
		return toytcp_drop(sock_net(sk), skb, TOYTCP_DROP_CHILD_FAILED);
	}
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_PASSIVEOPENS);
	/* Locked before it is visible: the ACK may race in on another CPU. */
	sock_hold(child);
	bh_lock_sock(child);
	toytcp_set_state(child, TCP_SYN_RECV);
	if (toytcp_ehash_add(child)) {
		/* Another child has the 4-tuple: its SYN came in on another
		 * CPU while this one waited for the listener.
		 */
		toytcp_done(child);
	} else if (cookie_mss) {
		/* The ACK completes the handshake, its data is queued. */
		toytcp_rcv_synchronized(child, skb);
		skb = NULL;
	} else if (toytcp_send_syn(child)) {
		toytcp_done(child);	/* unlinks it from the listener */
	}
	bh_unlock_sock(child);
	local_bh_enable();
	sock_put(child);
	if (skb)
		consume_skb(skb);
}

/**
 * toytcp_child_established() - a child completed the handshake: on to its
 * listener's accept queue
 * @sk: the child, its @parent set
 *
 * Context: the child's sk lock held; takes the listener's accept_lock.
 */
void toytcp_child_established(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sock *parent = tsk->parent;
	struct toytcp_sock *ptsk = toytcp_sk(parent);
	bool closing;

	sock_owned_by_me(sk);
	spin_lock_bh(&ptsk->accept_lock);
	closing = ptsk->closing;
	if (!closing) {
		list_move_tail(&tsk->child_node, &ptsk->accept_queue);
		ptsk->syn_count--;
		ptsk->accept_count++;
	}
	spin_unlock_bh(&ptsk->accept_lock);
	if (closing)
		return;		/* the listener resets it */
	parent->sk_data_ready(parent);
}

/* Take the oldest established child off the accept queue, with a ref. */
static struct sock *toytcp_accept_dequeue(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk), *ctsk;
	struct sock *child = NULL;

	spin_lock_bh(&tsk->accept_lock);
	ctsk = list_first_entry_or_null(&tsk->accept_queue, struct toytcp_sock,
					child_node);
	if (ctsk) {
		list_del_init(&ctsk->child_node);
		tsk->accept_count--;
		child = &ctsk->inet.sk;
		sock_hold(child);
		toytcp_mem_uncharge_child(child);
	}
	spin_unlock_bh(&tsk->accept_lock);
	return child;
}

/**
 * toytcp_accept_ready() - has the accept queue a child for accept()?
 * @sk: a listener
 *
 * Context: any; lockless (poll()).
 * Return: true when accept() would not wait.
 */
bool toytcp_accept_ready(const struct sock *sk)
{
	return !list_empty_careful(&toytcp_sk(sk)->accept_queue);
}

/**
 * toytcp_accept() - accept()
 * @sock: the listening socket
 * @newsock: the socket the child is grafted to
 * @flags: the file's flags: O_NONBLOCK
 *
 * Context: process; takes the listener's sk lock, then the child's.
 * Return: 0, -EINVAL when not listening, -EAGAIN or -EINTR/-ERESTARTSYS.
 */
int toytcp_accept(struct socket *sock, struct socket *newsock, int flags)
{
	struct sock *sk = sock->sk, *child;
	int err;
	long timeo;

	lock_sock(sk);
	err = -EINVAL;
	if (sk->sk_state != TCP_LISTEN)
		goto out;
	timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
	while (!(child = toytcp_accept_dequeue(sk))) {
		DEFINE_WAIT_FUNC(wait, woken_wake_function);

		err = -EAGAIN;
		if (!timeo)
			goto out;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			goto out;
		add_wait_queue_exclusive(sk_sleep(sk), &wait);
		sk_wait_event(sk, &timeo, toytcp_accept_ready(sk) ||
			      sk->sk_state != TCP_LISTEN, &wait);
		remove_wait_queue(sk_sleep(sk), &wait);
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			goto out;
	}
	release_sock(sk);

	lock_sock(child);
	toytcp_sk(child)->parent = NULL;
	sock_graft(child, newsock);
	newsock->state = SS_CONNECTED;
	release_sock(child);
	sock_put(sk);		/* the child's reference on its listener */
	sock_put(child);	/* toytcp_accept_dequeue()'s */
	return 0;
out:
	release_sock(sk);
	return err;
}

/**
 * toytcp_unlink_child() - a child not yet accepted is closing: take it off
 * its listener's queues
 * @sk: the child, its @parent set
 *
 * Context: the child's sk lock held; takes the listener's accept_lock.
 * Return: true when the child is ours to destroy, false when accept() has
 * already taken it (it then closes like any socket with a user).
 */
bool toytcp_unlink_child(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct sock *parent = tsk->parent;
	struct toytcp_sock *ptsk = toytcp_sk(parent);
	bool ours = true;

	sock_owned_by_me(sk);
	spin_lock_bh(&ptsk->accept_lock);
	if (ptsk->closing) {
		/* toytcp_listen_stop() holds it and will drop the parent. */
		spin_unlock_bh(&ptsk->accept_lock);
		return true;
	}
	if (list_empty(&tsk->child_node)) {
		ours = false;
	} else {
		list_del_init(&tsk->child_node);
		if (sk->sk_state == TCP_SYN_RECV)
			ptsk->syn_count--;
		else
			ptsk->accept_count--;
		toytcp_mem_uncharge_child(sk);
	}
	spin_unlock_bh(&ptsk->accept_lock);
	if (ours) {
		tsk->parent = NULL;
		sock_put(parent);
	}
	return ours;
}

/**
 * toytcp_listen_stop() - reset and forget the children of a listener that
 * closes
 * @sk: the listener
 *
 * Context: process, the listener's sk lock held (lock_sock()); takes its
 * accept_lock, then each child's sk lock (bh_lock_sock()), never both.
 */
void toytcp_listen_stop(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk), *ctsk, *tmp;
	LIST_HEAD(children);

	sock_owned_by_me(sk);
	/* Linux's view first: the port is no longer listened on, while the
	 * listener, still in the table, takes the segments (port.c); not
	 * ready, so that the lookup asks Linux from now on, which gives a
	 * Linux TCP listener that takes the port meanwhile its own.
	 */
	WRITE_ONCE(tsk->listen_ready, false);
	toytcp_port_unlisten(sk);
	toytcp_set_state(sk, TCP_CLOSE);
	spin_lock_bh(&tsk->accept_lock);
	tsk->closing = true;
	list_splice_init(&tsk->syn_queue, &children);
	list_splice_tail_init(&tsk->accept_queue, &children);
	tsk->syn_count = 0;
	tsk->accept_count = 0;
	list_for_each_entry(ctsk, &children, child_node)
		sock_hold(&ctsk->inet.sk);
	spin_unlock_bh(&tsk->accept_lock);

	list_for_each_entry_safe(ctsk, tmp, &children, child_node) {
		struct sock *child = &ctsk->inet.sk;

		local_bh_disable();
		bh_lock_sock(child);
		list_del_init(&ctsk->child_node);
		toytcp_mem_uncharge_child(child);
		ctsk->parent = NULL;
		sock_set_flag(child, SOCK_DEAD);
		if (child->sk_state != TCP_CLOSE) {
			toytcp_send_active_reset(child, GFP_ATOMIC);
			toytcp_done(child);
		} else {
			/* It closed by itself meanwhile and left its
			 * destruction to us (toytcp_unlink_child()).
			 */
			toytcp_destroy_sock(child);
		}
		bh_unlock_sock(child);
		local_bh_enable();
		sock_put(child);
		sock_put(sk);		/* the child's reference on us */
	}
}
