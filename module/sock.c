// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the socket calls (the models: net/ipv4/tcp.c and af_inet.c):
 * struct proto_ops and struct proto, socket creation, bind(), connect(),
 * shutdown(), close() and the teardown of a connection, getname(), poll(),
 * and the user's side of both diagrams: toytcp_sendmsg() is write()
 * copying the application's buffer into the kernel send buffer;
 * toytcp_recvmsg() is phase 2 of a receive, the copy from the socket's
 * receive buffer to user space.  Socket options are sockopt.c; listen()
 * and accept() listen.c; the port bind() takes, port.c.
 */
#include <linux/module.h>
#include <net/inet_common.h>
#include <net/ip.h>

#include "protocol.h"
#include "trace.h"

static void toytcp_sock_destruct(struct sock *sk)
{
	inet_sock_destruct(sk);
	sk_sockets_allocated_dec(sk);
	atomic_dec(&toytcp_live_socks);
}

/**
 * toytcp_init_sock() - set up a new control block
 * @sk: a socket fresh from sk_alloc() and sock_init_data()
 *
 * Context: process (toytcp_create()) or softirq (a listener's child); a
 * socket nothing else can reach yet, whose lock is not taken.
 */
void toytcp_init_sock(struct sock *sk)
{
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct inet_sock *inet = inet_sk(sk);

	atomic_inc(&toytcp_live_socks);
	sk_sockets_allocated_inc(sk);
	/* Not IPPROTO_TCP: the kernel takes a socket with that protocol for
	 * a struct tcp_sock whatever its family (the BPF helpers
	 * bpf_tcp_sock(), bpf_skc_to_tcp_sock() and the SYN cookie ones on a
	 * toytcp segment's skb->sk would read and write tcp_sock fields
	 * beyond the end of struct toytcp_sock).  toytcp writes IPPROTO_TCP
	 * into its IP headers itself (toytcp_ip_xmit()).  So SO_PROTOCOL
	 * reads 0 on a toytcp socket.
	 */
	sk->sk_protocol = 0;
	sk->sk_destruct = toytcp_sock_destruct;
	sk->sk_backlog_rcv = toytcp_do_rcv;
	sk->sk_write_space = toytcp_write_space;
	sock_set_flag(sk, SOCK_RCU_FREE);
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);

	inet->uc_ttl = -1;
	inet->mc_ttl = 1;
	inet->mc_index = 0;
	inet->mc_list = NULL;
	inet->pmtudisc = IP_PMTUDISC_WANT;

	skb_queue_head_init(&tsk->ooo_queue);
	INIT_LIST_HEAD(&tsk->syn_queue);
	INIT_LIST_HEAD(&tsk->accept_queue);
	INIT_LIST_HEAD(&tsk->child_node);
	spin_lock_init(&tsk->accept_lock);
	toytcp_init_timers(sk);

	tsk->rto = TOYTCP_INIT_RTO;
	tsk->cwnd = TOYTCP_INIT_CWND;
	tsk->ssthresh = U32_MAX >> 1;
	tsk->reo_wnd_mult = 1;
	toytcp_cong_init(sk, NULL);
	WRITE_ONCE(tsk->mss_cache, TOYTCP_DEFAULT_MSS);
	tsk->advmss = TOYTCP_DEFAULT_MSS;
	WRITE_ONCE(tsk->keepidle, READ_ONCE(tn->sysctl.keepalive_time) * HZ);
	WRITE_ONCE(tsk->keepintvl,
		   READ_ONCE(tn->sysctl.keepalive_intvl) * HZ);
	WRITE_ONCE(tsk->keepcnt, READ_ONCE(tn->sysctl.keepalive_probes));
	tsk->rcv_ratio = 128;

	toytcp_init_buffers(sk);
}

/**
 * toytcp_create() - socket(AF_TOYTCP, SOCK_STREAM, 0 or IPPROTO_TCP)
 * @net: the namespace
 * @sock: the new socket
 * @protocol: 0 or IPPROTO_TCP
 * @kern: created by the kernel
 *
 * Context: process.
 * Return: 0 or a negative errno.
 */
int toytcp_create(struct net *net, struct socket *sock, int protocol,
		  int kern)
{
	struct sock *sk;

	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol && protocol != IPPROTO_TCP)
		return -EPROTONOSUPPORT;

	sock->state = SS_UNCONNECTED;
	sock->ops = &toytcp_stream_ops;
#if TOYTCP_HAVE_CUSTOM_SOL_SOCKET
	set_bit(SOCK_CUSTOM_SOCKOPT, &sock->flags);
#endif
	sk = sk_alloc(net, PF_TOYTCP, GFP_KERNEL, &toytcp_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock_init_data(sock, sk);
	toytcp_init_sock(sk);
	return 0;
}

/**
 * toytcp_set_state() - move a socket to another state
 * @sk: the socket
 * @state: the new state (TCP_ESTABLISHED ...)
 *
 * Keeps CurrEstab, and takes a socket out of the lookup tables as it
 * closes (before the state changes: a listener is found by its state).
 *
 * Context: sk lock held.
 */
void toytcp_set_state(struct sock *sk, int state)
{
	struct toytcp_net *tn = toytcp_pernet(sock_net(sk));
	int old = sk->sk_state;

	sock_owned_by_me(sk);
	if (old == state)
		return;
	trace_toytcp_state_change(sk, old, state);
	if (state == TCP_CLOSE)
		toytcp_unhash(sk);
	if (state == TCP_TIME_WAIT)
		atomic_inc(&tn->tw_count);
	else if (old == TCP_TIME_WAIT)
		atomic_dec(&tn->tw_count);
	if (state == TCP_ESTABLISHED) {
		struct toytcp_sock *tsk = toytcp_sk(sk);

		atomic_inc(&tn->curr_estab);
		tsk->quickack = TOYTCP_QUICKACKS;
		tsk->rcv_tstamp = jiffies;
		toytcp_init_buffer_space(sk);
		if (sock_flag(sk, SOCK_KEEPOPEN))
			toytcp_reset_keepalive_timer(sk, tsk->keepidle);
	} else if ((old == TCP_ESTABLISHED && state != TCP_CLOSE_WAIT) ||
		   old == TCP_CLOSE_WAIT) {
		atomic_dec(&tn->curr_estab);
	}
	/* Release: poll() reads the state without the lock. */
	smp_store_release(&sk->sk_state, state);
}

static int toytcp_check_addr(const struct sockaddr *uaddr, int addr_len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)uaddr;

	if (addr_len < (int)sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_TOYTCP && sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return 0;
}

static int toytcp_bind(struct socket *sock, struct sockaddr *uaddr,
		       int addr_len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)uaddr;
	struct sock *sk = sock->sk;
	int err;

	/* As inet_bind(): AF_UNSPEC passes for INADDR_ANY. */
	if (addr_len >= (int)sizeof(*sin) && sin->sin_family == AF_UNSPEC &&
	    sin->sin_addr.s_addr == htonl(INADDR_ANY))
		err = 0;
	else
		err = toytcp_check_addr(uaddr, addr_len);
	if (err)
		return err;

	lock_sock(sk);
	err = -EINVAL;
	if (sk->sk_state != TCP_CLOSE || inet_sk(sk)->inet_num)
		goto out;
	err = toytcp_port_get(sk, sin->sin_addr.s_addr, sin->sin_port);
out:
	release_sock(sk);
	return err;
}

static int toytcp_v4_connect(struct sock *sk, const struct sockaddr_in *sin)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	int err;

	sk->sk_daddr = sin->sin_addr.s_addr;
	sk->sk_dport = sin->sin_port;
	err = toytcp_route(sk);
	if (err)
		goto err_reset;
	if (!inet->inet_num) {
		__be32 saddr = inet->inet_saddr;

		err = toytcp_port_get(sk, saddr, 0);
		if (err)
			goto err_reset;
	}
	toytcp_sync_mss(sk);
	WRITE_ONCE(tsk->mss_cache, tsk->advmss);
	toytcp_init_rcv_wnd(sk);
	toytcp_init_seq(sk);
	tsk->fin_sent = false;
	WRITE_ONCE(sk->sk_err, 0);
	WRITE_ONCE(sk->sk_shutdown, 0);
	sock_reset_flag(sk, SOCK_DONE);

	toytcp_set_state(sk, TCP_SYN_SENT);
	/* A 4-tuple a live socket has (another bound with SO_REUSEADDR to
	 * this port, of any user, that connected to the same destination;
	 * or one in TIME-WAIT), toytcp's or Linux TCP's: EADDRNOTAVAIL, as
	 * __inet_check_established().
	 */
	err = -EADDRNOTAVAIL;
	if (!toytcp_linux_has_tuple(sk))
		err = toytcp_ehash_add(sk);
	if (err) {
		toytcp_set_state(sk, TCP_CLOSE);
		goto err_reset;
	}
	TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ACTIVEOPENS);
	err = toytcp_send_syn(sk);
	if (err) {
		toytcp_set_state(sk, TCP_CLOSE);
		goto err_reset;
	}
	return 0;

err_reset:
	sk->sk_daddr = 0;
	sk->sk_dport = 0;
	sk_dst_reset(sk);
	return err;
}

static void toytcp_purge_write_queue(struct sock *sk)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&sk->sk_write_queue)))
		toytcp_free_skb(sk, skb);
	toytcp_sk(sk)->send_head = NULL;
}

/*
 * A connect() that failed (refused, reset, timed out) leaves the socket
 * as a new one for the next connect(), as tcp_disconnect() does: nothing
 * of the attempt stays, its SYN in the send queue least of all (a stale
 * SYN at the head, with another ISN than the next connection's, would
 * never be acknowledged and would stall that connection's data).
 */
static void toytcp_disconnect(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	toytcp_clear_timers(sk);
	toytcp_purge_write_queue(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	__skb_queue_purge(&tsk->ooo_queue);
	tsk->fin_sent = false;
	tsk->sacked_bytes = 0;
	tsk->in_recovery = false;
	tsk->tlp_armed = false;
	tsk->tlp_end_on = false;
	tsk->reord_seen = false;
	tsk->reo_wnd_mult = 1;
	tsk->reo_wnd_persist = 0;
	tsk->dsack_round_on = false;
	tsk->rack_time = 0;
	tsk->rack_rtt_us = 0;
	tsk->dupacks = 0;
	tsk->retries = 0;
	tsk->backoff = 0;
	tsk->probes_out = 0;
	tsk->retrans_stamp = 0;
	tsk->srtt_us = 0;
	tsk->rttvar_us = 0;
	tsk->rto = TOYTCP_INIT_RTO;
	tsk->cwnd = TOYTCP_INIT_CWND;
	tsk->ssthresh = U32_MAX >> 1;
	tsk->cwnd_cnt = 0;
	toytcp_cong_init(sk, tsk->ca_ops);
	sk->sk_daddr = 0;
	sk->sk_dport = 0;
	sk_dst_reset(sk);
}

static long toytcp_wait_for_connect(struct sock *sk, long timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	add_wait_queue(sk_sleep(sk), &wait);
	sk->sk_write_pending++;
	while ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)) {
		release_sock(sk);
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
		lock_sock(sk);
		if (signal_pending(current) || !timeo)
			break;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	sk->sk_write_pending--;
	return timeo;
}

/* As __inet_stream_connect(): the socket states (SS_*) of the connect()
 * call, over the protocol states (TCP_*) of the connection.
 */
static int toytcp_connect(struct socket *sock, struct sockaddr *uaddr,
			  int addr_len, int flags)
{
	struct sock *sk = sock->sk;
	long timeo;
	int err;

	if (addr_len < (int)sizeof(uaddr->sa_family))
		return -EINVAL;
	err = toytcp_check_addr(uaddr, addr_len);
	if (err)
		return err;

	lock_sock(sk);
	switch (sock->state) {
	default:
		err = -EINVAL;
		goto out;
	case SS_CONNECTED:
		err = -EISCONN;
		goto out;
	case SS_CONNECTING:
		err = -EALREADY;
		break;
	case SS_UNCONNECTED:
		err = -EISCONN;
		if (sk->sk_state != TCP_CLOSE)
			goto out;
		err = toytcp_v4_connect(sk, (struct sockaddr_in *)uaddr);
		if (err)
			goto out;
		sock->state = SS_CONNECTING;
		err = -EINPROGRESS;
		break;
	}

	timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
	if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)) {
		if (!timeo)
			goto out;
		timeo = toytcp_wait_for_connect(sk, timeo);
		if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)) {
			err = timeo ? sock_intr_errno(timeo) : -EINPROGRESS;
			goto out;
		}
	}
	if (sk->sk_state == TCP_CLOSE) {
		err = sock_error(sk) ? : -ECONNABORTED;
		sock->state = SS_UNCONNECTED;
		toytcp_disconnect(sk);
		goto out;
	}
	sock->state = SS_CONNECTED;
	err = 0;
out:
	release_sock(sk);
	return err;
}

/**
 * toytcp_done() - the connection is over: to CLOSED, and free the socket
 * if nobody holds it any more
 * @sk: the socket
 *
 * A socket with a user stays until close(); an orphan, or a child nobody
 * accepted, is destroyed now.  The caller holds a reference of its own.
 *
 * Context: sk lock held.
 */
void toytcp_done(struct sock *sk)
{
	int old = sk->sk_state;

	sock_owned_by_me(sk);
	if (old == TCP_SYN_SENT || old == TCP_SYN_RECV)
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ATTEMPTFAILS);
	toytcp_set_state(sk, TCP_CLOSE);
	toytcp_clear_timers(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (toytcp_sk(sk)->parent && toytcp_unlink_child(sk))
		sock_set_flag(sk, SOCK_DEAD);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else if (!toytcp_sk(sk)->parent)
		toytcp_destroy_sock(sk);
}

/**
 * toytcp_abort() - reset the connection and report @err to the user
 * @sk: the socket
 * @err: the error its calls will return (ECONNRESET, ETIMEDOUT ...)
 *
 * Context: sk lock held.
 */
void toytcp_abort(struct sock *sk, int err)
{
	sock_owned_by_me(sk);
	toytcp_send_active_reset(sk, GFP_ATOMIC);
	WRITE_ONCE(sk->sk_err, err);
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
	toytcp_done(sk);
}

/**
 * toytcp_destroy_sock() - free the queues of a closed orphan and drop the
 * reference the socket held on itself since sk_alloc()
 * @sk: a socket in CLOSE with SOCK_DEAD set
 *
 * Context: sk lock held.
 */
void toytcp_destroy_sock(struct sock *sk)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	toytcp_clear_timers(sk);
	toytcp_unhash(sk);
	if (tsk->orphan_counted) {
		atomic_dec(&toytcp_pernet(sock_net(sk))->orphans);
		tsk->orphan_counted = false;
	}
	toytcp_purge_write_queue(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	__skb_queue_purge(&tsk->ooo_queue);
	if (tsk->port) {
		toytcp_port_put(tsk->port);
		WRITE_ONCE(tsk->port, NULL);
	}
	sock_put(sk);
}

/* RFC 9293 3.10.4: the state close() or shutdown(SHUT_WR) leads to, and
 * whether a FIN goes out.
 */
static bool toytcp_close_state(struct sock *sk)
{
	switch (sk->sk_state) {
	case TCP_ESTABLISHED:
	case TCP_SYN_RECV:
		toytcp_set_state(sk, TCP_FIN_WAIT1);
		return true;
	case TCP_CLOSE_WAIT:
		toytcp_set_state(sk, TCP_LAST_ACK);
		return true;
	case TCP_SYN_SENT:
		toytcp_set_state(sk, TCP_CLOSE);
		toytcp_clear_timers(sk);
		toytcp_purge_write_queue(sk);
		return false;
	default:
		return false;
	}
}

/**
 * toytcp_close() - the user closes the socket (proto.close)
 * @sk: the socket
 * @timeout: SO_LINGER time to wait for the FIN to be acknowledged
 *
 * Unread data makes it a reset (RFC 9293 3.6.1, RFC 2525 2.17); otherwise
 * a FIN follows what is in the send buffer and the socket lives on as an
 * orphan until the close completes.
 *
 * Context: process.
 */
void toytcp_close(struct sock *sk, long timeout)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);
	struct toytcp_port *port = NULL;
	u32 unread;
	int state;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (sk->sk_state == TCP_LISTEN) {
		toytcp_listen_stop(sk);
		goto adjudge;
	}
	unread = tsk->rcv_nxt - tsk->copied_seq -
		 (sock_flag(sk, SOCK_DONE) ? 1 : 0);
	__skb_queue_purge(&sk->sk_receive_queue);
	__skb_queue_purge(&tsk->ooo_queue);

	if (sk->sk_state == TCP_CLOSE)
		goto adjudge;
	if ((s32)unread > 0 ||
	    (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime)) {
		/* Abort: RST, and nothing more is sent. */
		TOYTCP_INC_STATS(sock_net(sk), TOYTCP_MIB_ABORTONCLOSE);
		toytcp_send_active_reset(sk, GFP_KERNEL);
		toytcp_set_state(sk, TCP_CLOSE);
		toytcp_clear_timers(sk);
		toytcp_purge_write_queue(sk);
	} else if (toytcp_close_state(sk)) {
		toytcp_send_fin(sk);
	}
	sk_stream_wait_close(sk, timeout);

adjudge:
	state = sk->sk_state;
	sock_hold(sk);
	sock_orphan(sk);
	release_sock(sk);	/* the backlog may move the state on */

	local_bh_disable();
	bh_lock_sock(sk);
	/* A segment or timer closed it after it became an orphan: it has
	 * destroyed it already.
	 */
	if (state != TCP_CLOSE && sk->sk_state == TCP_CLOSE)
		goto out;
	if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_TIME_WAIT) {
		/* An orphan now, counted against net.toytcp.max_orphans;
		 * reset at once when the namespace has too many or the host
		 * has no memory for its queue (as __tcp_close()).  Not one
		 * that the linger wait or the backlog took to TIME-WAIT: it
		 * is counted there (toytcp_time_wait()), as Linux's timewait
		 * socket replaces the full one.
		 */
		atomic_inc(&toytcp_pernet(sock_net(sk))->orphans);
		tsk->orphan_counted = true;
		if (toytcp_check_oom(sk, 0)) {
			TOYTCP_INC_STATS(sock_net(sk),
					 TOYTCP_MIB_ABORTONMEMORY);
			toytcp_send_active_reset(sk, GFP_ATOMIC);
			toytcp_set_state(sk, TCP_CLOSE);
		}
	}
	if (sk->sk_state == TCP_FIN_WAIT2)
		toytcp_fin_wait2_timeout(sk);
	if (sk->sk_state == TCP_CLOSE) {
		swap(port, tsk->port);	/* released below, not in a work */
		toytcp_destroy_sock(sk);
	}
out:
	bh_unlock_sock(sk);
	local_bh_enable();
	if (port)
		toytcp_port_put_sync(port);
	sock_put(sk);
}

static int toytcp_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	long timeout = 0;

	if (!sk)
		return 0;
	if (sock_flag(sk, SOCK_LINGER) && !(current->flags & PF_EXITING))
		timeout = sk->sk_lingertime;
	sk->sk_prot->close(sk, timeout);
	sock->sk = NULL;
	return 0;
}

static int toytcp_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	int err = 0;

	how++;	/* SHUT_RD, SHUT_WR, SHUT_RDWR -> RCV, SEND, both */
	if ((how & ~SHUTDOWN_MASK) || !how)
		return -EINVAL;

	lock_sock(sk);
	if (sock->state == SS_CONNECTING) {
		if ((1 << sk->sk_state) &
		    (TCPF_SYN_SENT | TCPF_SYN_RECV | TCPF_CLOSE))
			sock->state = SS_DISCONNECTING;
		else
			sock->state = SS_CONNECTED;
	}
	switch (sk->sk_state) {
	case TCP_CLOSE:
		err = -ENOTCONN;
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
		break;
	case TCP_LISTEN:
		if (!(how & RCV_SHUTDOWN))
			break;
		toytcp_listen_stop(sk);
		sock->state = SS_UNCONNECTED;
		break;
	case TCP_SYN_SENT:
		toytcp_close_state(sk);
		WRITE_ONCE(sk->sk_err, ECONNRESET);
		sock->state = SS_UNCONNECTED;
		break;
	default:
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
		if ((how & SEND_SHUTDOWN) && toytcp_close_state(sk))
			toytcp_send_fin(sk);
	}
	sk->sk_state_change(sk);
	release_sock(sk);
	return err;
}

static int toytcp_getname(struct socket *sock, struct sockaddr *uaddr,
			  int peer)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)uaddr;
	struct sock *sk = sock->sk;
	struct inet_sock *inet = inet_sk(sk);

	sin->sin_family = AF_TOYTCP;
	lock_sock(sk);
	if (peer) {
		if (!inet->inet_dport ||
		    ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_SYN_SENT) &&
		     peer == 1)) {
			release_sock(sk);
			return -ENOTCONN;
		}
		sin->sin_port = inet->inet_dport;
		sin->sin_addr.s_addr = inet->inet_daddr;
	} else {
		sin->sin_port = inet->inet_sport;
		sin->sin_addr.s_addr = inet->inet_rcv_saddr ? :
				       inet->inet_saddr;
	}
	release_sock(sk);
	memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
	return sizeof(*sin);
}

/**
 * toytcp_write_space() - wake writers once the send buffer has room
 * @sk: the socket
 *
 * As sk_stream_write_space(), which is not exported.
 *
 * Context: sk lock held.
 */
void toytcp_write_space(struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct socket_wq *wq;

	sock_owned_by_me(sk);
	if (!sock || sk_stream_wspace(sk) < sk_stream_min_wspace(sk))
		return;
	clear_bit(SOCK_NOSPACE, &sock->flags);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	if (wq && wq->fasync_list && !(sk->sk_shutdown & SEND_SHUTDOWN))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/* At least SO_RCVLOWAT bytes to read (as tcp_stream_is_readable()). */
static bool toytcp_readable(const struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	int avail = READ_ONCE(tsk->rcv_nxt) - READ_ONCE(tsk->copied_seq) -
		    sock_flag(sk, SOCK_DONE);

	return avail > 0 && avail >= sock_rcvlowat(sk, 0, INT_MAX);
}

static __poll_t toytcp_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask = 0;
	u8 shutdown;
	int state;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return toytcp_accept_ready(sk) ? EPOLLIN | EPOLLRDNORM : 0;

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (!((1 << state) & (TCPF_SYN_SENT | TCPF_SYN_RECV))) {
		if (toytcp_readable(sk))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (shutdown & SEND_SHUTDOWN) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else if (sk_stream_is_writeable(sk)) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
			/* Pairs with the barrier in sk_stream_wspace()'s
			 * writers: recheck after announcing NOSPACE, or a
			 * wakeup between the two is lost (as tcp_poll()).
			 */
			smp_mb__after_atomic();
			if (sk_stream_is_writeable(sk))
				mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

/*
 * The end of a write: PSH on its last segment (RFC 9293 3.9.1), unless
 * MSG_MORE says more is to come (as tcp_push(); a segment sent before,
 * on its own or in a batch, has none).  Then send what may go; with
 * MSG_MORE, as if corked for this call.
 */
static void toytcp_push(struct sock *sk, int flags)
{
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);
	struct toytcp_sock *tsk = toytcp_sk(sk);
	bool cork = tsk->cork, push = tsk->nagle_push;

	if (!(flags & MSG_MORE) && skb && skb->len &&
	    !toytcp_before(TOYTCP_SKB_CB(skb)->seq, tsk->snd_nxt))
		TOYTCP_SKB_CB(skb)->flags |= TOYTCP_PSH;
	if (flags & MSG_MORE) {
		WRITE_ONCE(tsk->cork, true);
		tsk->nagle_push = false;
	}
	toytcp_write_xmit(sk);
	WRITE_ONCE(tsk->cork, cork);
	tsk->nagle_push = push;
}

/* Can sendmsg() append to @skb, the tail of the send queue?  Only if it
 * was never sent: after a timeout @send_head goes back to the oldest
 * segment, and a sent tail must keep the bytes it went out with.
 */
static bool toytcp_can_append(const struct toytcp_sock *tsk,
			      const struct sk_buff *skb, u32 size_goal)
{
	return skb && !toytcp_before(TOYTCP_SKB_CB(skb)->seq, tsk->snd_nxt) &&
	       !(TOYTCP_SKB_CB(skb)->flags & (TOYTCP_SYN | TOYTCP_FIN)) &&
	       skb->len < size_goal &&
	       skb_shinfo(skb)->nr_frags < MAX_SKB_FRAGS;
}

/*
 * write(): copy from the application's buffer into the kernel send buffer,
 * a queue of skbs of up to toytcp_size_goal() bytes (one GSO skb's worth
 * of segments, or one MSS without GSO), their payload in page fragments.
 */
/*
 * sendmsg() queues a new skb before it copies into it; when the copy fails
 * (EFAULT) or must wait, an empty skb would be left at the tail, to go out
 * as a zero-length segment that has no sequence number of its own (and a
 * later FIN would ride on it as if unsent).  As tcp_remove_empty_skb().
 */
static void toytcp_remove_empty_skb(struct sock *sk)
{
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (!skb || skb->len ||
	    TOYTCP_SKB_CB(skb)->flags & (TOYTCP_SYN | TOYTCP_FIN))
		return;
	if (tsk->send_head == skb)
		tsk->send_head = NULL;
	__skb_unlink(skb, &sk->sk_write_queue);
	toytcp_free_skb(sk, skb);
}

static int toytcp_sendmsg(struct socket *sock, struct msghdr *msg, size_t size)
{
	struct sock *sk = sock->sk;
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int flags = msg->msg_flags;
	int copied = 0, err;
	long timeo;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))) {
		err = sk_stream_wait_connect(sk, &timeo);
		if (err)
			goto do_error;
	}

	while (msg_data_left(msg)) {
		struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);
		u32 size_goal = toytcp_size_goal(sk);
		struct page_frag *pfrag;
		bool merge;
		int copy, i;

		err = -EPIPE;
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
			goto do_error;

		if (!toytcp_can_append(tsk, skb, size_goal)) {
			if (!sk_stream_memory_free(sk))
				goto wait_for_space;
			skb = toytcp_alloc_skb(sk, sk->sk_allocation, false);
			if (!skb)
				goto wait_for_space;
			TOYTCP_SKB_CB(skb)->seq = tsk->write_seq;
			TOYTCP_SKB_CB(skb)->end_seq = tsk->write_seq;
			__skb_queue_tail(&sk->sk_write_queue, skb);
			if (!tsk->send_head)
				tsk->send_head = skb;
			/* TCP_NODELAY's push was for what was queued. */
			tsk->nagle_push = false;
		}

		pfrag = sk_page_frag(sk);
		if (!sk_page_frag_refill(sk, pfrag))
			goto wait_for_space;
		i = skb_shinfo(skb)->nr_frags;
		merge = skb_can_coalesce(skb, i, pfrag->page, pfrag->offset);
		copy = min_t(int, size_goal - skb->len, msg_data_left(msg));
		copy = min_t(int, copy, pfrag->size - pfrag->offset);
		/* The host's socket memory (mem.c): wait while at "max". */
		if (!toytcp_wmem_schedule(sk, copy, false))
			goto wait_for_space;
		/* Charges sk_wmem_queued and the socket's memory. */
		err = skb_copy_to_page_nocache(sk, &msg->msg_iter, skb,
					       pfrag->page, pfrag->offset, copy);
		if (err)
			goto do_error;
		if (merge) {
			skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], copy);
		} else {
			skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset,
					   copy);
			page_ref_inc(pfrag->page);
		}
		pfrag->offset += copy;
		TOYTCP_SKB_CB(skb)->end_seq += copy;
		WRITE_ONCE(tsk->write_seq, tsk->write_seq + copy);
		copied += copy;
		/* Send in batches that can go out as one GSO skb, not one
		 * segment at a time as each fills; the last goes with its
		 * PSH, from toytcp_push().
		 */
		if (msg_data_left(msg) && skb->len >= size_goal &&
		    tsk->write_seq - tsk->snd_nxt >=
		    TOYTCP_XMIT_BATCH * tsk->mss_cache)
			toytcp_write_xmit(sk);
		continue;

wait_for_space:
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		toytcp_remove_empty_skb(sk);
		/* As tcp_sendmsg(): what was written goes, with PSH. */
		if (copied)
			toytcp_push(sk, flags & ~MSG_MORE);
		else
			toytcp_write_xmit(sk);
		err = sk_stream_wait_memory(sk, &timeo);
		if (err)
			goto do_error;
	}
	toytcp_push(sk, flags);
	release_sock(sk);
	return copied;

do_error:
	toytcp_remove_empty_skb(sk);
	if (copied) {
		toytcp_push(sk, flags);
		release_sock(sk);
		return copied;
	}
	err = sk_stream_error(sk, flags, err);
	release_sock(sk);
	return err;
}

/*
 * Phase 2 of a receive: copy from the socket's receive buffer to the
 * application, waiting (phase 1) while there is nothing to copy.
 */
static int toytcp_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			  int flags)
{
	struct sock *sk = sock->sk;
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int copied = 0, target, inq = -1;
	u32 peek_seq, *seq;
	long timeo;

	if (flags & MSG_ERRQUEUE)	/* toytcp queues no errors */
		return -EAGAIN;
	if (flags & MSG_OOB)		/* nor urgent data */
		return -EINVAL;

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		copied = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	seq = &tsk->copied_seq;
	if (flags & MSG_PEEK) {
		peek_seq = tsk->copied_seq;
		seq = &peek_seq;
	}
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);

	while (copied < len) {
		struct sk_buff *skb, *last;
		u32 offset = 0, used;
		bool found = false;

		skb_queue_walk(&sk->sk_receive_queue, skb) {
			offset = *seq - TOYTCP_SKB_CB(skb)->seq;
			if (offset < skb->len) {
				found = true;
				break;
			}
		}
		if (found) {
			used = min_t(u32, skb->len - offset, len - copied);
			if (skb_copy_datagram_msg(skb, offset, msg, used)) {
				if (!copied)
					copied = -EFAULT;
				break;
			}
			WRITE_ONCE(*seq, *seq + used);
			copied += used;
			if (!(flags & MSG_PEEK) && offset + used >= skb->len) {
				__skb_unlink(skb, &sk->sk_receive_queue);
				consume_skb(skb);
			}
			continue;
		}

		/* Nothing (more) to copy. */
		if (copied >= target && !READ_ONCE(sk->sk_backlog.tail))
			break;
		if (copied) {
			if (sk->sk_err || sk->sk_state == TCP_CLOSE ||
			    (sk->sk_shutdown & RCV_SHUTDOWN) || !timeo ||
			    signal_pending(current))
				break;
		} else {
			if (sock_flag(sk, SOCK_DONE))
				break;
			if (sk->sk_err) {
				copied = sock_error(sk);
				break;
			}
			if (sk->sk_shutdown & RCV_SHUTDOWN)
				break;
			if (sk->sk_state == TCP_CLOSE) {
				copied = -ENOTCONN;
				break;
			}
			if (!timeo) {
				copied = -EAGAIN;
				break;
			}
			if (signal_pending(current)) {
				copied = sock_intr_errno(timeo);
				break;
			}
		}
		if (copied > 0 && !(flags & MSG_PEEK))
			toytcp_rcv_space_update(sk);
		last = skb_peek_tail(&sk->sk_receive_queue);
		sk_wait_data(sk, &timeo, last);
	}
	if (copied > 0 && !(flags & MSG_PEEK))
		toytcp_rcv_space_update(sk);
	/* TCP_INQ, as tcp_inq_hint(): what is left to read; after the
	 * peer's FIN, never 0, so that the reader reads on to the EOF.
	 */
	if (tsk->recvmsg_inq && copied >= 0) {
		inq = tsk->rcv_nxt - tsk->copied_seq;
		if (!inq && sock_flag(sk, SOCK_DONE))
			inq = 1;
	}
out:
	release_sock(sk);
	if (inq >= 0)
		put_cmsg(msg, SOL_TCP, TCP_CM_INQ, sizeof(inq), &inq);
	return copied;
}

/* accept()'s arguments differ between the kernels (compat.h). */
static int toytcp_stream_accept(TOYTCP_ACCEPT_PARAMS)
{
	return toytcp_accept(sock, newsock, TOYTCP_ACCEPT_FLAGS);
}

const struct proto_ops toytcp_stream_ops = {
	.family		= PF_TOYTCP,
	.owner		= THIS_MODULE,
	.release	= toytcp_release,
	.bind		= toytcp_bind,
	.connect	= toytcp_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= toytcp_stream_accept,
	.getname	= toytcp_getname,
	.poll		= toytcp_poll,
	.ioctl		= toytcp_ioctl,
	.listen		= toytcp_listen,
	.shutdown	= toytcp_shutdown,
	.setsockopt	= toytcp_setsockopt,
	.getsockopt	= toytcp_getsockopt,
	.sendmsg	= toytcp_sendmsg,
	.recvmsg	= toytcp_recvmsg,
	.mmap		= sock_no_mmap,
	.set_rcvlowat	= toytcp_set_rcvlowat,
};

struct proto toytcp_proto = {
	.name		= "TOYTCP",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct toytcp_sock),
	.close		= toytcp_close,
	.backlog_rcv	= toytcp_do_rcv,
	.release_cb	= toytcp_release_cb,
	.keepalive	= toytcp_keepalive,
	/* Socket memory, host-wide, through the generic accounting (mem.c) */
	.enter_memory_pressure	= toytcp_enter_memory_pressure,
	.leave_memory_pressure	= toytcp_leave_memory_pressure,
	.memory_allocated	= &toytcp_memory_allocated,
	.per_cpu_fw_alloc	= &toytcp_memory_per_cpu_fw_alloc,
	.memory_pressure	= &toytcp_memory_pressure,
	.sockets_allocated	= &toytcp_sockets_allocated,
	.sysctl_mem		= toytcp_sysctl_mem,
	.sysctl_wmem_offset	= offsetof(struct net, ipv4.sysctl_tcp_wmem),
	.sysctl_rmem_offset	= offsetof(struct net, ipv4.sysctl_tcp_rmem),
};
