/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toytcp side by side with Linux TCP, in the same boot.
 *
 * One mechanism: fixture variants.  A test whose expectations are Linux
 * TCP's (the socket API, errnos, the state machine, what the options do)
 * runs once per stack, as variants of its fixture, and asserts the same
 * thing of both; a test of toytcp's own machinery runs on toytcp, against
 * a peer of either stack where the peer matters.  Nothing is chosen by
 * the environment.
 *
 * Variant names end with the stack under test:
 *
 *	toytcp, linux				the whole test over one stack
 *	<row>_toytcp, <row>_linux		the same, one row of a table
 *	[<row>_]linux_<role>_toytcp		toytcp under test, the end in
 *						<role> (peer, client, server,
 *						sender, receiver) Linux TCP
 *
 * so "-v linux" or a name ending in "_linux" is Linux TCP throughout, and
 * a name ending in "_toytcp" has toytcp at every end it does not name.
 * The variant structs say the same with enum tt_stack fields (.stack, and
 * per role .peer, .client, .server, .snd, .rcv).
 *
 * Where the two stacks differ by design, the test says so in one place,
 * with the helpers below: the knobs that set the same limit (a module
 * parameter for toytcp, a per-namespace sysctl for Linux), the per-socket
 * numbers (TOYTCP_INFO or TCP_INFO), and the state changes the
 * tracepoints report (tt_trace.h).
 */
#ifndef TT_LINUX_H
#define TT_LINUX_H

#include "tt_core.h"

/* The two variants of a fixture whose variant struct is { .stack }. */
#define TT_VARIANTS_BOTH_STACKS(fixture)				\
	FIXTURE_VARIANT_ADD(fixture, toytcp) { .stack = TT_TOYTCP };	\
	FIXTURE_VARIANT_ADD(fixture, linux) { .stack = TT_LINUX }

/* ------------------------------------------------------------------ */
/* Limits set by different knobs                                       */

/*
 * A retry limit of a stack, set for the test and restored after it:
 * toytcp's module parameter (global, so saved), or Linux's sysctl of the
 * namespace (gone with it).
 */
struct tt_knob {
	const char *param;	/* the module parameter changed, or NULL */
	long saved;
};

enum tt_limit {
	TT_SYN_RETRIES,		/* syn_retries / tcp_syn_retries */
	TT_RETRIES,		/* retries / tcp_retries2 */
};

static TT_UNUSED int tt_knob_set(struct tt_knob *k, enum tt_stack s,
				 int nsfd, enum tt_limit what, long v)
{
	static const char *const param[] = { "syn_retries", "retries" };
	static const char *const sysctl[] = { "ipv4/tcp_syn_retries",
					      "ipv4/tcp_retries2" };

	k->param = NULL;
	if (s == TT_LINUX) {
		if (TT_IN_NS(nsfd, tt_sysctl_set(sysctl[what], v)))
			return -1;
		/* Linux TCP: orphans have their own limit. */
		if (what == TT_RETRIES)
			return TT_IN_NS(nsfd, tt_sysctl_set("ipv4/tcp_orphan_retries",
							    v));
		return 0;
	}
	k->saved = tt_param_get(param[what]);
	if (k->saved < 0)
		return -1;
	k->param = param[what];
	return tt_param_set(param[what], v);
}

static TT_UNUSED void tt_knob_restore(struct tt_knob *k)
{
	if (k->param)
		tt_param_set(k->param, k->saved);
	k->param = NULL;
}

/* SYN cookies of a stack in the calling thread's namespace (0, 1, 2). */
static TT_UNUSED int tt_set_syncookies(enum tt_stack s, int mode)
{
	return tt_sysctl_set(s == TT_LINUX ? "ipv4/tcp_syncookies" :
					     "toytcp/syncookies", mode);
}

/* The minimum RTO, ms (Linux: TCP_RTO_MIN). */
static TT_UNUSED long tt_min_rto_ms(enum tt_stack s)
{
	long v = s == TT_LINUX ? 200 : tt_param_get("min_rto_ms");

	return v > 0 ? v : 200;
}

/* ------------------------------------------------------------------ */
/* Per-socket numbers                                                  */

/* The smoothed RTT and the RTO of a connected socket, in microseconds. */
static TT_UNUSED int tt_rtt_rto(enum tt_stack s, int fd, long *srtt_us,
				long *rto_us)
{
	if (s == TT_TOYTCP) {
		struct toytcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len))
			return -1;
		*srtt_us = ti.srtt_us;
		*rto_us = ti.rto_ms * 1000L;
	} else {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		*srtt_us = ti.tcpi_rtt;
		*rto_us = ti.tcpi_rto;
	}
	return 0;
}

/* Log the control block of a connection (after a failure, to diagnose). */
static TT_UNUSED void tt_dump(struct __test_metadata *_metadata,
			      const char *who, enum tt_stack s, int fd)
{
	if (s == TT_TOYTCP) {
		struct toytcp_info ti;
		socklen_t len = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &ti, &len)) {
			TH_LOG("%s: TOYTCP_INFO: %s", who, strerror(errno));
			return;
		}
		TH_LOG("%s (toytcp): state %u timers %#x retries %u backoff %u rto %u ms srtt %u us; acked %u, in flight %u, unsent %u, snd_wnd %u, cwnd %u, ssthresh %u, sacked %u; rcvd %u, rcv_wnd %u; retrans %u",
		       who, ti.state, ti.timers, ti.retries, ti.backoff,
		       ti.rto_ms, ti.srtt_us, ti.snd_una - ti.iss - 1,
		       ti.snd_nxt - ti.snd_una, ti.write_seq - ti.snd_nxt,
		       ti.snd_wnd, ti.cwnd, ti.ssthresh, ti.sacked_bytes,
		       ti.rcv_nxt - ti.irs - 1, ti.rcv_wnd, ti.total_retrans);
	} else {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) {
			TH_LOG("%s: TCP_INFO: %s", who, strerror(errno));
			return;
		}
		TH_LOG("%s (Linux TCP): state %u ca_state %u retransmits %u backoff %u rto %u us rtt %u us; unacked %u sacked %u lost %u retrans %u cwnd %u; rcv_space %u, total_retrans %u, SIOCINQ %d, SIOCOUTQ %d",
		       who, ti.tcpi_state, ti.tcpi_ca_state, ti.tcpi_retransmits,
		       ti.tcpi_backoff, ti.tcpi_rto, ti.tcpi_rtt,
		       ti.tcpi_unacked, ti.tcpi_sacked, ti.tcpi_lost,
		       ti.tcpi_retrans, ti.tcpi_snd_cwnd, ti.tcpi_rcv_space,
		       ti.tcpi_total_retrans, tt_inq(fd), tt_outq(fd));
	}
}

#endif /* TT_LINUX_H */
