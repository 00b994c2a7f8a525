// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: congestion control behind an ops structure (the models:
 * net/ipv4/tcp_cong.c and its tcp_reno_*()).
 *
 * The state machine (input.c, recovery.c, rto.c) decides *when* the window
 * changes: an ACK outside recovery, a loss found by fast retransmit or by
 * the RTO.  An algorithm decides *by how much*: struct toytcp_cong_ops.
 * NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 recovery)
 * is here.  Another algorithm (CUBIC, RFC 9438) is a file of its own
 * defining a struct toytcp_cong_ops, plus one line in toytcp_cong_algos[];
 * TCP_CONGESTION picks it by name.
 */
#include <linux/string.h>

#include "protocol.h"

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
		tsk->cwnd += min_t(u32, segs, 2);
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

/* The algorithms TCP_CONGESTION can choose from; the first is the default. */
static const struct toytcp_cong_ops *const toytcp_cong_algos[] = {
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
 * toytcp_cong_init() - give a socket an algorithm
 * @sk: the socket
 * @ops: the algorithm, or NULL for the default
 *
 * Context: sk lock held (TCP_CONGESTION, a new child), or from
 * toytcp_init_sock() on a socket fresh from sk_alloc(), which nothing
 * else can reach yet and whose lock nobody takes: so no assertion here.
 */
void toytcp_cong_init(struct sock *sk, const struct toytcp_cong_ops *ops)
{
	struct toytcp_sock *tsk = toytcp_sk(sk);

	WRITE_ONCE(tsk->ca_ops, ops ? : toytcp_cong_algos[0]);
	memset(tsk->ca_priv, 0, sizeof(tsk->ca_priv));
	if (tsk->ca_ops->init)
		tsk->ca_ops->init(sk);
}
