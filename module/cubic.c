// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: CUBIC congestion control, RFC 9438 (the model:
 * net/ipv4/tcp_cubic.c), behind struct toytcp_cong_ops (cong.c).
 *
 * After a loss at a window of W_max segments the window is cut to
 * beta_cubic * W_max (beta 0.7), then grows as the cubic function of the
 * time t since the growth began (RFC 9438 4.2, eq. 1 and 2):
 *
 *	W_cubic(t) = C * (t - K)^3 + W_max,  K = cbrt((W_max - cwnd_epoch) / C)
 *
 * with C = 0.4 segments/s^3: fast while far below W_max, flat around it
 * (concave), then faster again beyond it (convex), probing for more.  On
 * each ACK the window aims at W_cubic(t + RTT) (4.4, 4.5), but never
 * grows slower than Reno would have from the same loss (the Reno-friendly
 * region, 4.3), nor faster than by half the segments acknowledged.
 * Fast convergence (4.7) lowers W_max when a loss comes before the
 * window got back to the last one.
 *
 * Differences from Linux's tcp_cubic.c: no HyStart (slow start ends at
 * the first loss, as RFC 9438 4.10 allows; HyStart++ is optional); time
 * in milliseconds and the cubic function in 64-bit integers rather than
 * Linux's 2^-10 s fixed point; the RTT is the smallest smoothed RTT seen
 * (cong_avoid() sees no raw samples); and a retransmission timeout keeps
 * W_max as a fast retransmit does (ssthresh() cannot tell the two apart),
 * where Linux forgets it.  Application-limited periods do not count as
 * growth time only in so far as cong.c's callers grow the window only
 * while it limits the sender (RFC 7661, input.c).
 */
#include <linux/math64.h>

#include "protocol.h"

#define CUBIC_BETA		717	/* beta_cubic = 717/1024 ~ 0.7, as Linux */
#define CUBIC_BETA_SCALE	1024
/* alpha_cubic = 3 * (1 - beta) / (1 + beta) (RFC 9438 4.3), in 1/1024 */
#define CUBIC_ALPHA		(3 * (CUBIC_BETA_SCALE - CUBIC_BETA) *	\
				 CUBIC_BETA_SCALE /			\
				 (CUBIC_BETA_SCALE + CUBIC_BETA))
/* C = 0.4 segments/s^3 = 4 / 10^10 segments/ms^3 */
#define CUBIC_C_NUM		4ULL
#define CUBIC_C_DEN		10000000000ULL
/* |t - K| beyond which the cubic term is not computed (1000 s): its cube
 * in ms^3 still fits 64 bits, and the window is capped long before.
 */
#define CUBIC_MAX_DT_MS		1000000U

/**
 * struct toytcp_cubic_ca - CUBIC's state in toytcp_sock::ca_priv
 * @cnt:	segments to acknowledge per one-segment increase of cwnd
 * @w_max:	W_max, the window before the last reduction (segments);
 *		0 before the first loss
 * @origin:	the window at which the cubic function is flat: W_max, or
 *		cwnd when the epoch began above W_max
 * @k_ms:	K, the time from the epoch's start to @origin, ms
 * @rtt_us:	the smallest smoothed RTT seen, us
 * @epoch:	jiffies when the window began to grow after the last
 *		reduction (the epoch), 0 before it begins
 * @ack_cnt:	segments acknowledged towards the next increase of @w_est
 * @w_est:	W_est, the window Reno would have now (RFC 9438 4.3)
 */
struct toytcp_cubic_ca {
	u32	cnt;
	u32	w_max;
	u32	origin;
	u32	k_ms;
	u32	rtt_us;
	u32	epoch;
	u32	ack_cnt;
	u32	w_est;
};

static struct toytcp_cubic_ca *toytcp_cubic_ca(struct sock *sk)
{
	BUILD_BUG_ON(sizeof(struct toytcp_cubic_ca) >
		     sizeof_field(struct toytcp_sock, ca_priv));
	return (struct toytcp_cubic_ca *)toytcp_sk(sk)->ca_priv;
}

static void toytcp_cubic_init(struct sock *sk)
{
	memset(toytcp_cubic_ca(sk), 0, sizeof(struct toytcp_cubic_ca));
}

/* The integer cube root of @a, rounded down. */
static u32 toytcp_cbrt(u64 a)
{
	u32 lo = 0, hi = 2642245;	/* 2642245^3 > 2^64 */

	while (lo < hi) {
		u32 mid = lo + (hi - lo + 1) / 2;

		if ((u64)mid * mid * mid <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* C * |dt|^3, in segments, for |dt| in ms. */
static u64 toytcp_cubic_term(u32 dt_ms)
{
	u64 d = min(dt_ms, CUBIC_MAX_DT_MS);

	return div64_u64(CUBIC_C_NUM * d * d * d, CUBIC_C_DEN);
}

/*
 * A new epoch: the window starts growing from @cwnd.  K is the time the
 * cubic function takes from @cwnd back to W_max (RFC 9438 eq. 2, with
 * cwnd_epoch = @cwnd): (W_max - cwnd) / C = K^3, in ms^3 times 10^9 / 4.
 */
static void toytcp_cubic_epoch(struct toytcp_cubic_ca *ca, u32 cwnd)
{
	ca->epoch = (u32)jiffies ? : 1;
	ca->ack_cnt = 0;
	ca->w_est = cwnd;
	if (ca->w_max <= cwnd) {
		ca->k_ms = 0;
		ca->origin = cwnd;
	} else {
		ca->k_ms = toytcp_cbrt(div64_u64((u64)(ca->w_max - cwnd) *
						 CUBIC_C_DEN, CUBIC_C_NUM));
		ca->origin = ca->w_max;
	}
}

/*
 * RFC 9438 4.2-4.5: the target W_cubic(t + RTT) and from it @cnt, the
 * segments to acknowledge per segment of growth; then 4.3: no slower
 * than Reno (W_est grows by alpha_cubic per window acknowledged).
 */
static void toytcp_cubic_update(struct sock *sk, u32 segs)
{
	struct toytcp_cubic_ca *ca = toytcp_cubic_ca(sk);
	u32 cwnd = toytcp_sk(sk)->cwnd, t_ms, target, per_est;
	u64 delta;

	if (!ca->epoch)
		toytcp_cubic_epoch(ca, cwnd);
	ca->ack_cnt += segs;

	t_ms = jiffies_to_msecs((u32)jiffies - ca->epoch) + ca->rtt_us / 1000;
	if (t_ms < ca->k_ms) {
		delta = toytcp_cubic_term(ca->k_ms - t_ms);
		target = delta < ca->origin ? ca->origin - (u32)delta : 0;
	} else {
		delta = toytcp_cubic_term(t_ms - ca->k_ms);
		target = (u32)min_t(u64, (u64)ca->origin + delta, U32_MAX / 2);
	}
	/* At most 1.5 * cwnd a round trip from now (4.4). */
	target = min(target, cwnd + cwnd / 2);
	if (target > cwnd)
		ca->cnt = cwnd / (target - cwnd);
	else
		ca->cnt = 100 * cwnd;		/* concave plateau: hardly grow */
	/* Before any loss there is no W_max to approach: 5% a round trip. */
	if (!ca->w_max && ca->cnt > 20)
		ca->cnt = 20;

	/* W_est += alpha_cubic per cwnd segments acknowledged (4.3). */
	per_est = max_t(u32, cwnd * CUBIC_BETA_SCALE / CUBIC_ALPHA, 1);
	while (ca->ack_cnt >= per_est) {
		ca->ack_cnt -= per_est;
		ca->w_est++;
	}
	if (ca->w_est > cwnd)
		ca->cnt = min(ca->cnt, cwnd / (ca->w_est - cwnd));
	/* Never faster than one segment per two acknowledged. */
	ca->cnt = max(ca->cnt, 2U);
}

/* Below ssthresh slow start, as Reno; above it, the cubic function. */
static void toytcp_cubic_cong_avoid(struct sock *sk, u32 segs)
{
	struct toytcp_cubic_ca *ca = toytcp_cubic_ca(sk);
	struct toytcp_sock *tsk = toytcp_sk(sk);

	if (tsk->srtt_us && (!ca->rtt_us || tsk->srtt_us < ca->rtt_us))
		ca->rtt_us = tsk->srtt_us;
	if (tsk->cwnd < tsk->ssthresh) {
		toytcp_slow_start(sk, segs);
		return;
	}
	toytcp_cubic_update(sk, segs);
	/*
	 * One segment per @cnt acknowledged, as tcp_cong_avoid_ai().  Credit
	 * counted while @cnt was larger (the plateau near W_max) is worth
	 * one segment now, not cwnd_cnt / cnt of them at once.
	 */
	if (tsk->cwnd_cnt >= ca->cnt) {
		tsk->cwnd_cnt = 0;
		tsk->cwnd++;
	}
	tsk->cwnd_cnt += segs;
	if (tsk->cwnd_cnt >= ca->cnt) {
		tsk->cwnd += tsk->cwnd_cnt / ca->cnt;
		tsk->cwnd_cnt %= ca->cnt;
	}
}

/*
 * RFC 9438 4.6 and 4.7: a loss.  W_max is the window now, or with fast
 * convergence (a loss before the window got back to the last W_max)
 * less, so that a newcomer's share can grow; the new threshold is
 * beta_cubic times the window.  The next epoch begins at the next
 * cong_avoid(), when recovery is over.
 */
static u32 toytcp_cubic_ssthresh(struct sock *sk)
{
	struct toytcp_cubic_ca *ca = toytcp_cubic_ca(sk);
	u32 cwnd = toytcp_sk(sk)->cwnd;

	ca->epoch = 0;
	if (cwnd < ca->w_max)
		ca->w_max = cwnd * (CUBIC_BETA_SCALE + CUBIC_BETA) /
			    (2 * CUBIC_BETA_SCALE);
	else
		ca->w_max = cwnd;
	return max(cwnd * CUBIC_BETA / CUBIC_BETA_SCALE, 2U);
}

const struct toytcp_cong_ops toytcp_cubic = {
	.name		= "cubic",
	.init		= toytcp_cubic_init,
	.ssthresh	= toytcp_cubic_ssthresh,
	.cong_avoid	= toytcp_cubic_cong_avoid,
};
