// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: congestion control behind an ops structure (the models:
 * net/ipv4/tcp_cong.c and its tcp_reno_*()).
 *
 * The state machine (input.c, recovery.c, rto.c) decides *when* the window
 * changes: an ACK outside recovery, a loss found by fast retransmit or by
 * the RTO.  An algorithm decides *by how much*: struct toytcp_cong_ops.
 * NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 recovery)
 * is here; CUBIC (RFC 9438) is cubic.c.  Another algorithm is a file of
 * its own defining a struct toytcp_cong_ops, plus one line in
 * toytcp_cong_algos[].  A socket takes its namespace's default
 * (net.toytcp.congestion_control, cubic unless set, as Linux), or what
 * TCP_CONGESTION picks by name; a listener's children inherit its
 * algorithm.
 *
 * The probe tracepoint (toytcp:toytcp_probe, the equivalent of
 * tcp:tcp_probe) is here too: it reports the sender's state after every
 * ACK that changed it, which is mostly the window this file computes.
 */
#include <linux/string.h>
#include <linux/sysctl.h>

#include "protocol.h"
#include "trace.h"

/**
 * toytcp_slow_start() - RFC 5681 3.1 slow start, RFC 3465 with L = 2
 * @sk: the socket, below ssthresh
 * @segs: segments acknowledged
 *
 * One segment per segment acknowledged, at most two per ACK.
 *
 * Context: sk lock held (as every callback, see struct toytcp_cong_ops).
 */
void toytcp_slow_start(struct sock *sk, u32 segs)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	tsk->cwnd += min_t(u32, segs, 2);
}

/* RFC 5681 eq. (4): half of what is in the network, at least two segments. */
static u32 toytcp_reno_ssthresh(struct sock *sk)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	u32 flight = (toytcp_bytes_in_flight(tsk) - tsk->sacked_bytes) /
		     tsk->mss_cache;

	return max_t(u32, flight / 2, 2);
}

/*
 * RFC 5681 3.1: below ssthresh, slow start (one segment per segment
 * acknowledged, at most two per ACK: RFC 3465 with L = 2); above it,
 * congestion avoidance (one segment per window's worth acknowledged).
 */
static void toytcp_reno_cong_avoid(struct sock *sk, u32 segs)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (tsk->cwnd < tsk->ssthresh) {
		toytcp_slow_start(sk, segs);
		return;
	}
	tsk->cwnd_cnt += segs;
	if (tsk->cwnd_cnt >= tsk->cwnd) {
		tsk->cwnd_cnt = 0;
		tsk->cwnd++;
	}
}

static const struct toytcp_cong_ops toytcp_reno = {
	.name		= "reno",
	.ssthresh	= toytcp_reno_ssthresh,
	.cong_avoid	= toytcp_reno_cong_avoid,
};

/* The algorithms TCP_CONGESTION can choose from; the first is the default
 * of the initial namespace.
 */
static const struct toytcp_cong_ops *const toytcp_cong_algos[] = {
	&toytcp_cubic,
	&toytcp_reno,
};

/**
 * toytcp_cong_find() - look an algorithm up by name
 * @name: as for TCP_CONGESTION, NUL-terminated
 *
 * Context: any.
 * Return: the algorithm, or NULL.
 */
const struct toytcp_cong_ops *toytcp_cong_find(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(toytcp_cong_algos); i++)
		if (!strcmp(toytcp_cong_algos[i]->name, name))
			return toytcp_cong_algos[i];
	return NULL;
}

/**
 * toytcp_cong_default() - the algorithm a new namespace starts with
 * @net: the namespace
 *
 * The initial namespace's current default, as Linux's
 * net.ipv4.tcp_congestion_control; CUBIC in the initial namespace itself.
 *
 * Context: process (namespace creation).
 * Return: the algorithm.
 */
const struct toytcp_cong_ops *toytcp_cong_default(struct net *net)
{
	const struct toytcp_cong_ops *ops = NULL;

	if (!net_eq(net, &init_net))
		ops = READ_ONCE(toytcp_pernet(&init_net)->sysctl.cong);
	return ops ? : toytcp_cong_algos[0];
}

/**
 * toytcp_proc_cong() - net.toytcp.congestion_control
 * @ctl: the table entry; ->data points at struct toytcp_sysctl::cong
 * @write: a write, not a read
 * @buffer: the user's text
 * @lenp: its length
 * @ppos: the file position
 *
 * Reads the name of the namespace's default algorithm; a write of a name
 * the module has makes it the default of sockets created from then on
 * (ENOENT for others, as Linux's sysctl).
 *
 * Context: process.
 * Return: 0 or an errno.
 */
int toytcp_proc_cong(TOYTCP_CTL_TABLE *ctl, int write, void *buffer,
		     size_t *lenp, loff_t *ppos)
{
	const struct toytcp_cong_ops **cur = ctl->data;
	const struct toytcp_cong_ops *ops;
	char name[TCP_CA_NAME_MAX];
	struct ctl_table tbl = {
		.data	= name,
		.maxlen	= sizeof(name),
	};
	int err;

	ops = READ_ONCE(*cur) ? : toytcp_cong_algos[0];
	strscpy(name, ops->name, sizeof(name));
	err = proc_dostring(&tbl, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	ops = toytcp_cong_find(name);
	if (!ops)
		return -ENOENT;
	WRITE_ONCE(*cur, ops);
	return 0;
}

/**
 * toytcp_proc_cong_avail() - net.toytcp.available_congestion_control
 * @ctl: the table entry (read-only)
 * @write: a write (refused by the mode)
 * @buffer: the user's buffer
 * @lenp: its length
 * @ppos: the file position
 *
 * The names TCP_CONGESTION and net.toytcp.congestion_control take,
 * separated by spaces, as Linux's tcp_available_congestion_control.
 *
 * Context: process.
 * Return: 0 or an errno.
 */
int toytcp_proc_cong_avail(TOYTCP_CTL_TABLE *ctl, int write, void *buffer,
			   size_t *lenp, loff_t *ppos)
{
	char names[ARRAY_SIZE(toytcp_cong_algos) * TCP_CA_NAME_MAX] = "";
	struct ctl_table tbl = {
		.data	= names,
		.maxlen	= sizeof(names),
	};
	int i;

	if (write)
		return -EPERM;
	for (i = 0; i < ARRAY_SIZE(toytcp_cong_algos); i++) {
		if (i)
			strlcat(names, " ", sizeof(names));
		strlcat(names, toytcp_cong_algos[i]->name, sizeof(names));
	}
	return proc_dostring(&tbl, 0, buffer, lenp, ppos);
}

/**
 * toytcp_cong_init() - give a socket an algorithm
 * @sk: the socket
 * @ops: the algorithm, or NULL for its namespace's default
 *
 * Context: sk lock held (TCP_CONGESTION, a new child), or from
 * toytcp_init_sock() on a socket fresh from sk_alloc(), which nothing
 * else can reach yet and whose lock nobody takes: so no assertion here.
 */
void toytcp_cong_init(struct sock *sk, const struct toytcp_cong_ops *ops)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (!ops)
		ops = READ_ONCE(toytcp_pernet(sock_net(sk))->sysctl.cong) ? :
		      toytcp_cong_algos[0];
	WRITE_ONCE(tsk->ca_ops, ops);
	memset(tsk->ca_priv, 0, sizeof(tsk->ca_priv));
	if (tsk->ca_ops->init)
		tsk->ca_ops->init(sk);
}

/**
 * toytcp_probe_start() - remember the sender's state before an ACK
 * @sk: the socket
 * @snap: where
 *
 * Costs a static branch while toytcp:toytcp_probe is off.
 *
 * Context: sk lock held.
 */
void toytcp_probe_start(const struct sock *sk, struct toytcp_probe_snap *snap)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!trace_toytcp_probe_enabled())
		return;
	snap->snd_una = tsk->snd_una;
	snap->snd_wnd = tsk->snd_wnd;
	snap->cwnd = tsk->cwnd;
	snap->ssthresh = tsk->ssthresh;
}

/**
 * toytcp_probe() - toytcp:toytcp_probe, if an ACK changed the sender
 * @sk: the socket
 * @skb: the ACK
 * @snap: the state before it (toytcp_probe_start())
 *
 * As tcp:tcp_probe, which Linux fires for every segment its fast path
 * takes; here once per ACK that moved SND.UNA or changed the send window,
 * cwnd or ssthresh.
 *
 * Context: sk lock held.
 */
void toytcp_probe(const struct sock *sk, const struct sk_buff *skb,
		  const struct toytcp_probe_snap *snap)
{
	const struct toytcp_sock *tsk = toytcp_sk(sk);

	sock_owned_by_me(sk);
	if (!trace_toytcp_probe_enabled())
		return;
	if (snap->snd_una == tsk->snd_una && snap->snd_wnd == tsk->snd_wnd &&
	    snap->cwnd == tsk->cwnd && snap->ssthresh == tsk->ssthresh)
		return;
	trace_toytcp_probe(sk, skb);
}
