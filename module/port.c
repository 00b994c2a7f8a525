// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the reservation of a port in Linux TCP's port space (see struct
 * toytcp_port).  Its model is Linux's bind bucket (inet_csk_get_port()
 * in net/ipv4/inet_connection_sock.c), but Linux keeps the bucket: a
 * kernel AF_INET TCP socket bound to the same address and port holds it
 * for toytcp, so that Linux's rules and errors apply on both sides.
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
	err = sock_create_kern(sock_net(sk), AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &p->sock);
	if (err)
		goto err_free;
	if (sk->sk_reuse)
		sock_set_reuseaddr(p->sock->sk);
	/* Linux's rules for sharing a port: SO_REUSEPORT on every socket,
	 * same owner (the placeholder is created by, and belongs to, the
	 * process that binds).
	 */
	if (sk->sk_reuseport)
		sock_set_reuseport(p->sock->sk);
	err = kernel_bind(p->sock, (struct sockaddr *)&sin, sizeof(sin));
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
