// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the reservation of a port in Linux TCP's port space (see struct
 * toytcp_port).  Its model is Linux's bind bucket (inet_csk_get_port()
 * in net/ipv4/inet_connection_sock.c), but Linux keeps the bucket: an
 * AF_INET TCP socket bound to the same address and port holds it for
 * toytcp, and listens while the toytcp socket listens, so that Linux's
 * rules and errors apply on both sides, at bind() and at listen().
 *
 * Linux TCP never answers a SYN for the reservation: a listening
 * reservation would, when toytcp's receive path (hook.c) passes the SYN
 * on to tcp_v4_rcv(), and the connection would then sit in its accept
 * queue, which nobody accepts from.  So the toytcp listener is in the
 * listening table for as long as its reservation listens in Linux, and a
 * little longer on both sides: listen() hashes it before
 * kernel_listen() and makes it ready after (listen.c), close() takes the
 * reservation out of LISTEN (toytcp_port_unlisten()) before it unhashes
 * the listener.  Its queues stay empty, with one exception not handled:
 * a SYN that early demux (a packet from a device, not loopback) hands to
 * one of Linux TCP's own TIME-WAIT sockets on the same 4-tuple never
 * reaches toytcp, and tcp_v4_rcv() reopens it on the listener it finds,
 * which may be the reservation.
 *
 * The LSM: the reservation is created in the caller's context
 * (__sock_create() with kern = 0), so the LSM's socket_create and
 * socket_post_create hooks and the cgroup's socket programs see the
 * caller's credentials.  Its bind and listen go through kernel_bind() and
 * kernel_listen(), which call the protocol directly: the LSM's
 * socket_bind and socket_listen hooks (SELinux name_bind, the port
 * checks) run for the user's bind() and listen() on the toytcp socket,
 * with its family, but not for the AF_INET reservation, and toytcp cannot
 * call them itself: security_socket_bind() and security_socket_listen()
 * are not exported (Module.symvers of 6.1 and 6.12).  The cgroup's
 * bind4 program does run (inet_bind()), on the reservation.
 */
#include <linux/net.h>
#include <linux/slab.h>

#include "protocol.h"

static void toytcp_port_release_work(struct work_struct *work)
{
	struct toytcp_port *port = container_of(work, struct toytcp_port, work);

	sock_release(port->sock);
	put_net(port->net);
	kfree_rcu(port, rcu);	/* toytcp_port_sk() readers */
}

/*
 * Give the reservation what Linux's port rules read of a socket: its
 * SO_REUSEADDR, SO_REUSEPORT, SO_BINDTODEVICE and owner (sock_i_uid(),
 * the inode's; the reservation's inode is the binding process's, the
 * toytcp socket's its creator's or whoever it was chowned to since), so
 * that Linux judges the toytcp socket as it would an AF_INET one.
 */
static int toytcp_port_sync(struct sock *sk, struct socket *rsock)
{
	struct sock *rsk = rsock->sk;
	int dev = READ_ONCE(sk->sk_bound_dev_if);

	sock_owned_by_me(sk);
	lock_sock(rsk);
	rsk->sk_reuse = sk->sk_reuse;
	rsk->sk_reuseport = sk->sk_reuseport;
	rsk->sk_uid = sk->sk_uid;
	if (sk->sk_socket)
		SOCK_INODE(rsock)->i_uid = SOCK_INODE(sk->sk_socket)->i_uid;
	release_sock(rsk);
	if (READ_ONCE(rsk->sk_bound_dev_if) == dev)
		return 0;
	return sock_bindtoindex(rsk, dev, true);
}

/**
 * toytcp_port_get() - reserve a port for a socket and bind it there
 * @sk: the socket, not bound yet
 * @addr: the local address, or INADDR_ANY
 * @port: the port, or 0 for any free port
 *
 * Reserve @addr:@port in Linux TCP's port space for @sk, with Linux's own
 * rules and errors (EADDRINUSE, EADDRNOTAVAIL, EACCES below 1024 without
 * CAP_NET_BIND_SERVICE), and set @sk's local address and port.
 *
 * Context: process, sk lock held; may sleep.
 * Return: 0 or a negative errno.
 */
int toytcp_port_get(struct sock *sk, __be32 addr, __be16 port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = addr,
		.sin_port = port,
	};
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct toytcp_port *p;
	int err;

	sock_owned_by_me(sk);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	/* kern = 0: a socket of the calling process, for the LSM and the
	 * cgroup (see the top of this file).
	 */
	err = __sock_create(sock_net(sk), AF_INET, SOCK_STREAM, IPPROTO_TCP,
			    &p->sock, 0);
	if (err)
		goto err_free;
	err = toytcp_port_sync(sk, p->sock);
	if (err)
		goto err_release;
	err = kernel_bind(p->sock, (struct sockaddr *)&sin, sizeof(sin));
	/* A reservation on its way back (toytcp_port_put(): a TIME-WAIT
	 * that just ended, a socket freed in softirq) holds a port that
	 * Linux would have freed already: let it go, and ask again.
	 */
	if (err == -EADDRINUSE && port) {
		flush_workqueue(toytcp_wq);
		err = kernel_bind(p->sock, (struct sockaddr *)&sin,
				  sizeof(sin));
	}
	if (err)
		goto err_release;

	/* The receive path judges segments by this socket under RCU alone
	 * (toytcp_port_sk()).
	 */
	sock_set_flag(p->sock->sk, SOCK_RCU_FREE);
	p->sk = p->sock->sk;
	INIT_WORK(&p->work, toytcp_port_release_work);
	refcount_set(&p->ref, 1);
	p->net = get_net(sock_net(sk));
	WRITE_ONCE(tsk->port, p);
	inet->inet_sport = inet_sk(p->sock->sk)->inet_sport;
	inet->inet_num = ntohs(inet->inet_sport);
	inet->inet_saddr = addr;
	sk->sk_rcv_saddr = addr;
	return 0;

err_release:
	sock_release(p->sock);
err_free:
	kfree(p);
	return err;
}

/**
 * toytcp_port_listen() - the reservation listens, as @sk is about to
 * @sk: a bound socket that listen() is called on
 * @backlog: listen()'s backlog (what ss shows for the reservation)
 *
 * Linux's inet_csk_listen_start() decides, under its bind-hash lock,
 * whether @sk may listen on its port beside every AF_INET TCP socket and
 * every other toytcp socket's reservation, and from then on every Linux
 * TCP socket's bind() and listen() sees a listener there.  The
 * reservation never gets a segment while @sk listens: @sk is in the
 * listening table already (toytcp_listen()), and toytcp's receive path
 * finds it first, or, while it is not ready, by this reservation when
 * Linux chooses it (@port_sk is set before kernel_listen()).  Its port
 * stays bound when it stops listening (SOCK_BINDPORT_LOCK, which a bind()
 * to port 0 does not set), for the children that keep it
 * (toytcp_port_unlisten()).
 *
 * Context: process, sk lock held; may sleep.
 * Return: 0, -EADDRINUSE, or another errno of listen().
 */
int toytcp_port_listen(struct sock *sk, int backlog)
{
	struct toytcp_port *p = toytcp_sk(sk)->port;
	struct sock *rsk = p->sock->sk;
	bool start = rsk->sk_state != TCP_LISTEN;
	int err;

	sock_owned_by_me(sk);
	if (start) {
		err = toytcp_port_sync(sk, p->sock);
		if (err)
			return err;
		lock_sock(rsk);
		rsk->sk_userlocks |= SOCK_BINDPORT_LOCK;
		release_sock(rsk);
		WRITE_ONCE(toytcp_sk(sk)->port_sk, rsk);
	}
	err = kernel_listen(p->sock, backlog);
	if (err && start)
		WRITE_ONCE(toytcp_sk(sk)->port_sk, NULL);
	return err;
}

/**
 * toytcp_port_unlisten() - the reservation stops listening, keeping the
 * port
 * @sk: a socket that stops listening (close(), shutdown(SHUT_RD))
 *
 * The children @sk leaves behind keep the port bound, as a Linux
 * listener's children keep the bind bucket, but nothing listens on it in
 * Linux's view any more: a Linux TCP socket may listen there, and a SYN
 * that no toytcp socket takes gets Linux's reset, where a listening
 * reservation would have queued connections nobody accepts.
 * shutdown(SHUT_RD) on a TCP listener disconnects it (inet_shutdown(),
 * tcp_disconnect()): its port stays for SOCK_BINDPORT_LOCK.  Called
 * while @sk is still in the listening table (toytcp_listen_stop()), so
 * that no SYN finds the reservation listening and @sk gone; its queues,
 * which inet_csk_listen_stop() would reset, are empty for that reason.
 *
 * Context: process, sk lock held; may sleep.
 */
void toytcp_port_unlisten(struct sock *sk)
{
	struct toytcp_port *p = toytcp_sk(sk)->port;

	sock_owned_by_me(sk);
	if (!p || READ_ONCE(p->sock->sk->sk_state) != TCP_LISTEN)
		return;
	kernel_sock_shutdown(p->sock, SHUT_RD);
	WRITE_ONCE(toytcp_sk(sk)->port_sk, NULL);
}

/**
 * toytcp_port_hold() - one more owner of a port reservation
 * @port: the reservation
 *
 * A listener's child keeps its listener's port reserved, as Linux TCP's
 * children keep the bind bucket.
 *
 * Context: any; the caller holds a reference already.
 */
void toytcp_port_hold(struct toytcp_port *port)
{
	refcount_inc(&port->ref);
}

/**
 * toytcp_port_put() - drop a reference on a port reservation
 * @port: the reservation
 *
 * The last one gives the port back to Linux TCP's port space.  Releasing
 * a socket sleeps, so a work item does it.
 *
 * Context: any.
 */
void toytcp_port_put(struct toytcp_port *port)
{
	if (refcount_dec_and_test(&port->ref))
		queue_work(toytcp_wq, &port->work);
}

/**
 * toytcp_port_put_sync() - drop a reference, releasing the port at once
 * @port: the reservation
 *
 * The same as toytcp_port_put() from process context, for close(): the
 * port is free for the next bind() when close() returns, as with Linux
 * TCP (through the workqueue a bind() right after close() could still
 * find it taken).
 *
 * Context: process, may sleep.
 */
void toytcp_port_put_sync(struct toytcp_port *port)
{
	if (refcount_dec_and_test(&port->ref))
		toytcp_port_release_work(&port->work);
}
