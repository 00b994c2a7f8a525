// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: socket options and ioctls (the model: net/mptcp/sockopt.c, and
 * do_tcp_setsockopt()/do_tcp_getsockopt() in net/ipv4/tcp.c).
 *
 * SOL_TCP options toytcp has, TCP_INFO filled from TOYTCP_INFO, the
 * SOL_SOCKET options the kernel lets a protocol take (6.12), the multicast
 * refusal, SIOCINQ/SIOCOUTQ and SO_RCVLOWAT.  Other levels go to IPv4.
 */
#include <asm/ioctls.h>
#include <linux/sockios.h>
#include <net/ip.h>

#include "protocol.h"

/**
 * toytcp_set_rcvlowat() - SO_RCVLOWAT (proto_ops.set_rcvlowat)
 * @sk: the socket
 * @val: the new value
 *
 * As tcp_set_rcvlowat(): capped at half of the largest receive buffer.
 *
 * Context: process, sk lock held (sk_setsockopt()).
 * Return: 0.
 */
int toytcp_set_rcvlowat(struct sock *sk, int val)
{
	int cap = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]) >> 1;

	sock_owned_by_me(sk);
	WRITE_ONCE(sk->sk_rcvlowat, clamp(val, 1, max(cap, 1)));
	return 0;
}

/**
 * toytcp_ioctl() - SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK
 * @sock: the socket
 * @cmd: the request
 * @arg: where the answer goes, in user space
 *
 * Context: process; takes the sk lock.
 * Return: 0, -EINVAL for a listener, -ENOIOCTLCMD for other requests.
 */
int toytcp_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int answ;

	switch (cmd) {
	case SIOCINQ:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		lock_sock(sk);
		answ = tsk->rcv_nxt - tsk->copied_seq;
		if (sock_flag(sk, SOCK_DONE) && answ > 0)
			answ--;
		if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_CLOSE) &&
		    skb_queue_empty(&sk->sk_receive_queue))
			answ = 0;
		release_sock(sk);
		break;
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		lock_sock(sk);
		if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV |
					   TCPF_CLOSE))
			answ = 0;
		else if (cmd == SIOCOUTQ)
			answ = tsk->write_seq - tsk->snd_una - tsk->fin_sent;
		else
			answ = tsk->write_seq - tsk->snd_nxt;
		release_sock(sk);
		answ = max(answ, 0);
		break;
	case SIOCATMARK:
		answ = 0;	/* toytcp keeps no urgent data */
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(answ, (int __user *)arg);
}

/*
 * SOL_SOCKET options, where the kernel lets toytcp see them (6.12,
 * SOCK_CUSTOM_SOCKOPT): SO_REUSEPORT here, as for an AF_INET socket (the
 * generic code refuses it for other families); the rest as usual.
 */
static int toytcp_sol_socket_setsockopt(struct socket *sock, int optname,
					sockptr_t optval, unsigned int optlen)
{
	int val;

	if (optname != SO_REUSEPORT)
		return sock_setsockopt(sock, SOL_SOCKET, optname, optval,
				       optlen);
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	lock_sock(sock->sk);	/* a bit-field, as in sk_setsockopt() */
	sock->sk->sk_reuseport = !!val;
	release_sock(sock->sk);
	return 0;
}

/*
 * Multicast group memberships: Linux refuses them on connection-oriented
 * sockets (EPROTO, inet_csk sockets in do_ip_setsockopt()).  ip_setsockopt()
 * cannot tell that a toytcp socket is one, and inet_release()'s
 * ip_mc_drop_socket() (not exported) never runs for it, so a membership
 * joined here would outlive the socket: refuse them first.
 */
static bool toytcp_ip_mc_opt(int optname)
{
	switch (optname) {
	case IP_ADD_MEMBERSHIP:
	case IP_DROP_MEMBERSHIP:
	case IP_ADD_SOURCE_MEMBERSHIP:
	case IP_DROP_SOURCE_MEMBERSHIP:
	case IP_BLOCK_SOURCE:
	case IP_UNBLOCK_SOURCE:
	case IP_MSFILTER:
	case MCAST_JOIN_GROUP:
	case MCAST_LEAVE_GROUP:
	case MCAST_JOIN_SOURCE_GROUP:
	case MCAST_LEAVE_SOURCE_GROUP:
	case MCAST_BLOCK_SOURCE:
	case MCAST_UNBLOCK_SOURCE:
	case MCAST_MSFILTER:
		return true;
	}
	return false;
}

/*
 * TCP_NODELAY and uncorking send what is queued, but only from a state that
 * sends data: a connection reset or closed sends nothing (its queue may
 * still hold what was written), one in SYN-SENT waits for the handshake.
 */
static void toytcp_push_pending(struct sock *sk)
{
	if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT |
				   TCPF_FIN_WAIT1 | TCPF_CLOSING |
				   TCPF_LAST_ACK))
		toytcp_write_xmit(sk);
}

/**
 * toytcp_setsockopt() - setsockopt() on a toytcp socket
 * @sock: the socket
 * @level: SOL_TCP, SOL_SOCKET, SOL_IP ...
 * @optname: the option
 * @optval: its value
 * @optlen: its length
 *
 * Context: process; takes the sk lock.
 * Return: 0 or a negative errno.
 */
int toytcp_setsockopt(struct socket *sock, int level, int optname,
		      sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	struct toytcp_sock *tsk = toytcp_sk(sk);
	int val, err = 0;

	/* Other levels go to IPv4 as Linux TCP's do (IP_TOS, IP_TTL ...:
	 * toytcp sends through IPv4, which reads them from the inet_sock;
	 * unknown levels get the IP layer's errno).
	 */
	if (level == SOL_SOCKET)
		return toytcp_sol_socket_setsockopt(sock, optname, optval,
						    optlen);
	if (level == SOL_TOYTCP)	/* TOYTCP_INFO is read-only */
		return -ENOPROTOOPT;
	if (level == SOL_IP && toytcp_ip_mc_opt(optname))
		return -EPROTO;
	/* Options toytcp's IPv4 output (toytcp_ip_xmit()) does not apply,
	 * refused rather than accepted and ignored: IP options, and per-socket
	 * IPsec policies (which toytcp would also have to free and to copy to
	 * a listener's children; the namespace's policies apply).
	 */
	if (level == SOL_IP && (optname == IP_OPTIONS ||
				optname == IP_IPSEC_POLICY ||
				optname == IP_XFRM_POLICY))
		return -ENOPROTOOPT;
	if (level != SOL_TCP)
		return ip_setsockopt(sk, level, optname, optval, optlen);
	if (optname == TCP_CONGESTION) {
		char name[TCP_CA_NAME_MAX] = "";

		const struct toytcp_cong_ops *ops;

		if (copy_from_sockptr(name, optval,
				      min_t(unsigned int, optlen,
					    sizeof(name) - 1)))
			return -EFAULT;
		ops = toytcp_cong_find(name);
		if (!ops)
			return -ENOENT;
		lock_sock(sk);
		if (ops != tsk->ca_ops)
			toytcp_cong_init(sk, ops);
		release_sock(sk);
		return 0;
	}
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case TCP_NODELAY:
		/* As __tcp_sock_set_nodelay(): what is queued goes now,
		 * TCP_CORK or MSG_MORE notwithstanding.
		 */
		WRITE_ONCE(tsk->nodelay, !!val);
		if (val) {
			tsk->nagle_push = true;
			toytcp_push_pending(sk);
		}
		break;
	case TCP_CORK:
		WRITE_ONCE(tsk->cork, !!val);
		if (!val) {
			if (tsk->nodelay)
				tsk->nagle_push = true;
			toytcp_push_pending(sk);
		}
		break;
	case TCP_INQ:
		if (val < 0 || val > 1)
			err = -EINVAL;
		else
			WRITE_ONCE(tsk->recvmsg_inq, val);
		break;
	case TCP_QUICKACK:
		toytcp_set_quickack(sk, val);
		break;
	case TCP_MAXSEG:
		/* As Linux: 0 resets, else 88 .. 32767, before connect. */
		if (val && (val < 88 || val > 32767))
			err = -EINVAL;
		else
			WRITE_ONCE(tsk->user_mss, val);
		break;
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
		if (val < 1 || val > MAX_TCP_KEEPIDLE) {
			err = -EINVAL;
			break;
		}
		if (optname == TCP_KEEPINTVL) {
			WRITE_ONCE(tsk->keepintvl, val * HZ);
			break;
		}
		WRITE_ONCE(tsk->keepidle, val * HZ);
		if (sock_flag(sk, SOCK_KEEPOPEN))
			toytcp_keepalive(sk, 1);
		break;
	case TCP_KEEPCNT:
		if (val < 1 || val > MAX_TCP_KEEPCNT)
			err = -EINVAL;
		else
			WRITE_ONCE(tsk->keepcnt, val);
		break;
	case TCP_USER_TIMEOUT:
		if (val < 0)
			err = -EINVAL;
		else
			WRITE_ONCE(tsk->user_timeout, val);
		break;
	default:
		err = -ENOPROTOOPT;
	}
	release_sock(sk);
	return err;
}

/**
 * toytcp_get_info() - fill struct toytcp_info (TOYTCP_INFO, and the
 * sock_diag answer, diag.c)
 * @sk: the socket
 * @info: what to fill
 *
 * Context: process; takes the sk lock.
 */
void toytcp_get_info(struct sock *sk, struct toytcp_info *info)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	memset(info, 0, sizeof(*info));
	info->version = TOYTCP_INFO_VERSION;
	info->length = sizeof(*info);
	lock_sock(sk);
	info->state = sk->sk_state;
	info->options = (tsk->sack_ok ? TOYTCP_OPT_SACK : 0) |
			(tsk->wscale_ok ? TOYTCP_OPT_WSCALE : 0) |
			(tsk->nodelay ? TOYTCP_OPT_NODELAY : 0) |
			(tsk->cork ? TOYTCP_OPT_CORK : 0) |
			(tsk->ts_ok ? TOYTCP_OPT_TS : 0);
	info->timers = (timer_pending(&tsk->retrans_timer) ?
			TOYTCP_TIMER_RETRANS : 0) |
		       (timer_pending(&tsk->tw_timer) ?
			TOYTCP_TIMER_TIMEWAIT : 0) |
		       (timer_pending(&tsk->delack_timer) ?
			TOYTCP_TIMER_DELACK : 0) |
		       (timer_pending(&tsk->keepalive_timer) ?
			TOYTCP_TIMER_KEEPALIVE : 0);
	info->snd_wscale = tsk->snd_wscale;
	info->rcv_wscale = tsk->rcv_wscale;
	info->retries = tsk->retries;
	info->backoff = tsk->backoff;
	info->probes = tsk->probes_out;
	info->snd_una = tsk->snd_una;
	info->snd_nxt = tsk->snd_nxt;
	info->snd_wnd = tsk->snd_wnd;
	info->iss = tsk->iss;
	info->write_seq = tsk->write_seq;
	info->rcv_nxt = tsk->rcv_nxt;
	info->rcv_wnd = tsk->rcv_wnd;
	info->irs = tsk->irs;
	info->copied_seq = tsk->copied_seq;
	info->mss = tsk->mss_cache;
	info->advmss = tsk->advmss;
	info->rcv_mss = tsk->rcv_mss;
	info->cwnd = tsk->cwnd;
	info->ssthresh = tsk->ssthresh;
	info->srtt_us = tsk->srtt_us;
	info->rttvar_us = tsk->rttvar_us;
	info->rto_ms = jiffies_to_msecs(tsk->rto);
	info->sacked_bytes = tsk->sacked_bytes;
	info->sndbuf_used = READ_ONCE(sk->sk_wmem_queued);
	info->sndbuf = READ_ONCE(sk->sk_sndbuf);
	info->rcvbuf_used = atomic_read(&sk->sk_rmem_alloc);
	info->rcvbuf = READ_ONCE(sk->sk_rcvbuf);
	info->total_retrans = tsk->total_retrans;
	info->bytes_sent = tsk->bytes_sent;
	info->bytes_acked = tsk->bytes_acked;
	info->bytes_received = tsk->bytes_received;
	release_sock(sk);
}

/* TCP_INFO for programs written for Linux TCP: the fields toytcp has, in
 * struct tcp_info's units; the rest stay zero.
 */
static void toytcp_get_tcp_info(struct sock *sk, struct tcp_info *ti)
{
	struct toytcp_info info;

	toytcp_get_info(sk, &info);
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = info.state;
	ti->tcpi_retransmits = info.retries;
	ti->tcpi_probes = info.probes;
	ti->tcpi_backoff = info.backoff;
	ti->tcpi_options = (info.options & TOYTCP_OPT_SACK ? TCPI_OPT_SACK : 0) |
			   (info.options & TOYTCP_OPT_WSCALE ?
			    TCPI_OPT_WSCALE : 0) |
			   (info.options & TOYTCP_OPT_TS ?
			    TCPI_OPT_TIMESTAMPS : 0);
	ti->tcpi_snd_wscale = info.snd_wscale;
	ti->tcpi_rcv_wscale = info.rcv_wscale;
	ti->tcpi_rto = info.rto_ms * USEC_PER_MSEC;
	ti->tcpi_snd_mss = info.mss;
	ti->tcpi_rcv_mss = info.rcv_mss;
	ti->tcpi_unacked = (info.snd_nxt - info.snd_una) / max(info.mss, 1U);
	ti->tcpi_sacked = info.sacked_bytes / max(info.mss, 1U);
	ti->tcpi_rtt = info.srtt_us;
	ti->tcpi_rttvar = info.rttvar_us;
	ti->tcpi_snd_ssthresh = min_t(u32, info.ssthresh, TCP_INFINITE_SSTHRESH);
	ti->tcpi_snd_cwnd = info.cwnd;
	ti->tcpi_advmss = info.advmss;
	ti->tcpi_rcv_space = info.rcv_wnd;
	ti->tcpi_total_retrans = info.total_retrans;
	ti->tcpi_bytes_acked = info.bytes_acked;
	ti->tcpi_bytes_received = info.bytes_received;
	ti->tcpi_notsent_bytes = info.write_seq - info.snd_nxt;
}

/**
 * toytcp_getsockopt() - getsockopt() on a toytcp socket
 * @sock: the socket
 * @level: SOL_TCP, SOL_TOYTCP, SOL_IP ...
 * @optname: the option
 * @optval: where the value goes, in user space
 * @optlen: its room, then its length
 *
 * Context: process; TOYTCP_INFO and TCP_INFO take the sk lock, the
 * others read single fields without it.
 * Return: 0 or a negative errno.
 */
int toytcp_getsockopt(struct socket *sock, int level, int optname,
		      char __user *optval, int __user *optlen)
{
	struct toytcp_sock *tsk = toytcp_sk(sock->sk);
	int val, len;

	if (level == SOL_TOYTCP && optname != TOYTCP_INFO)
		return -ENOPROTOOPT;
	if (level == SOL_TOYTCP) {
		struct toytcp_info info;

		if (get_user(len, optlen))
			return -EFAULT;
		if (len < 0)
			return -EINVAL;
		toytcp_get_info(sock->sk, &info);
		len = min_t(unsigned int, len, sizeof(info));
		if (put_user(len, optlen) || copy_to_user(optval, &info, len))
			return -EFAULT;
		return 0;
	}
	if (level != SOL_TCP)
		return ip_getsockopt(sock->sk, level, optname, optval, optlen);
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (optname == TCP_CONGESTION) {
		char name[TCP_CA_NAME_MAX] = "";

		strscpy(name, READ_ONCE(toytcp_sk(sock->sk)->ca_ops)->name,
			sizeof(name));
		len = min_t(unsigned int, len, TCP_CA_NAME_MAX);
		if (put_user(len, optlen) || copy_to_user(optval, name, len))
			return -EFAULT;
		return 0;
	}
	if (optname == TCP_INFO) {
		struct tcp_info ti;

		toytcp_get_tcp_info(sock->sk, &ti);
		len = min_t(unsigned int, len, sizeof(ti));
		if (put_user(len, optlen) || copy_to_user(optval, &ti, len))
			return -EFAULT;
		return 0;
	}
	switch (optname) {
	case TCP_NODELAY:
		val = READ_ONCE(tsk->nodelay);
		break;
	case TCP_CORK:
		val = READ_ONCE(tsk->cork);
		break;
	case TCP_QUICKACK:
		val = !READ_ONCE(tsk->pingpong);
		break;
	case TCP_MAXSEG:
		val = inet_sk_state_load(sock->sk) == TCP_CLOSE ?
		      (READ_ONCE(tsk->user_mss) ? : TOYTCP_DEFAULT_MSS) :
		      READ_ONCE(tsk->mss_cache);
		break;
	case TCP_KEEPIDLE:
		val = READ_ONCE(tsk->keepidle) / HZ;
		break;
	case TCP_KEEPINTVL:
		val = READ_ONCE(tsk->keepintvl) / HZ;
		break;
	case TCP_KEEPCNT:
		val = READ_ONCE(tsk->keepcnt);
		break;
	case TCP_USER_TIMEOUT:
		val = READ_ONCE(tsk->user_timeout);
		break;
	case TCP_INQ:
		val = READ_ONCE(tsk->recvmsg_inq);
		break;
	default:
		return -ENOPROTOOPT;
	}
	len = min_t(unsigned int, len, sizeof(int));
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}
