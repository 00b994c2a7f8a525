// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and broken peers, played segment by segment over tun
 * (tt_wire.h): what each may cost the host, and that every connection
 * still ends (issue 13, "Hostile peers" and "Smaller defects").
 *
 *  - sack: a peer that offers MSS 65495 and SACK, reads nothing, and
 *    SACKs every other byte of whatever is in flight (the class of
 *    CVE-2019-11478): the send queue stays within about twice the send
 *    buffer, and the kernel's slab does not grow with it;
 *  - persist: a peer that keeps its window at zero and answers every
 *    probe: a closed socket (an orphan) still ends, and TCP_USER_TIMEOUT
 *    ends an open one in about that time;
 *  - closed: a reset socket sends nothing, whatever the user does with
 *    TCP_NODELAY or TCP_CORK afterwards;
 *  - silent: a retry limit above 255 cannot be set, and one that can ends
 *    a connection to a silent peer.
 *
 * Where the expectations are Linux TCP's, the fixture has both variants
 * (TW_FIXTURE); where they are toytcp's own knobs, only toytcp.
 */
#include "tt_wire.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO		55
#endif
#define TT_MEMINFO_VARS		9	/* SK_MEMINFO_VARS */
#define TT_MEMINFO_SNDBUF	3	/* SK_MEMINFO_SNDBUF */
#define TT_MEMINFO_WMEM_QUEUED	5	/* SK_MEMINFO_WMEM_QUEUED */

/* A fixture of toytcp's own: only the toytcp variant. */
#define TW_FIXTURE_TOYTCP(f)						\
	FIXTURE(f) {							\
		struct tw w;						\
	};								\
	FIXTURE_VARIANT(f) {						\
		int fam;						\
	};								\
	FIXTURE_VARIANT_ADD(f, toytcp) {				\
		.fam = AF_TOYTCP,					\
	};								\
	FIXTURE_SETUP(f)						\
	{								\
		tw_setup(&self->w, _metadata, variant->fam);		\
	}								\
	FIXTURE_TEARDOWN(f)						\
	{								\
		tw_teardown(&self->w);					\
	}

/* sk_wmem_queued and sk_sndbuf of a socket of either stack. */
static int peers_meminfo(int fd, long *queued, long *sndbuf)
{
	uint32_t mi[TT_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len))
		return -1;
	*queued = mi[TT_MEMINFO_WMEM_QUEUED];
	*sndbuf = mi[TT_MEMINFO_SNDBUF];
	return 0;
}

/* A /proc/meminfo line, in kB. */
static long peers_meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

/* Fill the socket's send buffer; returns the bytes taken. */
static long peers_fill(struct tw *w)
{
	long total = 0, r;

	if (tw_poll(w->c->fd, POLLOUT, 0) <= 0)
		return 0;
	do {
		r = tw_write_flags(w, 65536, MSG_DONTWAIT);
		if (r > 0)
			total += r;
	} while (r > 0);
	return total;
}

/* ------------------------------------------------------------------ */
/* sack: SACKing every other byte                                       */

TW_FIXTURE(sack);

#define SACK_SNDBUF	(256 * 1024)	/* SO_SNDBUF; the kernel doubles it */
#define SACK_MS		3000		/* how long the attack runs */
/* SKB_TRUESIZE(64 KB) of both kernels, rounded up: 64 KB + overhead */
#define SACK_TRUESIZE_64K	(65536 + 1024)

/*
 * The attack of CVE-2019-11478 on this stack: every ACK acknowledges
 * nothing new and carries four SACK blocks of one byte each, two bytes
 * apart, moving on through the flight; the application keeps its send
 * buffer full.  tcp_fragment()'s bound: splitting stops once the queue
 * holds more than 2 x (sndbuf + 2 x SKB_TRUESIZE(64 KB)); what may go
 * beyond (the head, the tail, unsent data) is small.
 */
TEST_F_TIMEOUT(sack, every_other_byte_sacked_queue_stays_near_sndbuf, 120)
{
	struct tw *w = &self->w;
	struct tw_peer p = TW_PEER_DEFAULT;
	long queued, sndbuf, peak = 0, bound, slab0, slab_peak = 0;
	long long end;
	long too_big0, too_big1, acks = 0;
	uint32_t cursor = 1, top = 1;
	int fd;

	p.mss = 65495;
	p.wscale = 7;
	tw_set_mtu(w, 65535);
	tw_established(w, &p);
	fd = w->c->fd;
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDBUF,
				&(int){ SACK_SNDBUF }, sizeof(int)));
	ASSERT_EQ(0, peers_meminfo(fd, &queued, &sndbuf));
	bound = 2 * (sndbuf + 2 * SACK_TRUESIZE_64K);
	too_big0 = tw_counter(w, "WQueueTooBig", "TCPWqueueTooBig");
	slab0 = peers_meminfo_kb("Slab");

	end = tw_now(w) + SACK_MS * 1000LL;
	while (tw_now(w) < end) {
		char opt[160];
		int i, n = 0;

		peers_fill(w);
		/* What the stack sent: the top of the flight. */
		while (tw_read_seg(w, 0)) {
			uint32_t rel = w->last.seq - w->c->iss + w->last.len;

			if (w->last.len && tw_after(rel, top))
				top = rel;
		}
		if (top - 1 < 16) {
			tw_msleep(1);
			continue;
		}
		/* Four one-byte blocks, every other byte. */
		for (i = 0; i < 4; i++) {
			if (!tw_before(cursor + 1, top))
				cursor = 2;
			n += snprintf(opt + n, sizeof(opt) - n, "%s%u:%u",
				      i ? " " : "", cursor, cursor + 1);
			cursor += 2;
		}
		tw_in(w, ". 1:1(0) ack 1 win 65535 <nop,nop,sack %s>", opt);
		acks++;
		if (!peers_meminfo(fd, &queued, &sndbuf) && queued > peak)
			peak = queued;
		if (!(acks & 63)) {
			long slab = peers_meminfo_kb("Slab");

			if (slab > slab_peak)
				slab_peak = slab;
		}
		/* Far beyond the bound already: stop before the VM does. */
		if (peak > 8 * bound)
			break;
	}
	too_big1 = tw_counter(w, "WQueueTooBig", "TCPWqueueTooBig");
	TH_LOG("%ld ACKs of 4 one-byte SACK blocks over %u bytes in flight: send queue peak %ld bytes (sndbuf %ld, bound %ld), WQueueTooBig +%ld, Slab %ld -> peak %ld kB",
	       acks, top - 1, peak, sndbuf, bound,
	       too_big1 >= 0 ? too_big1 - too_big0 : -1, slab0, slab_peak);
	EXPECT_LT(200, acks);
	EXPECT_GE(bound + 4 * SACK_TRUESIZE_64K, peak);
	/* Slab: a few MB at most, against hundreds before the bound. */
	EXPECT_GT(16 * 1024, slab_peak - slab0);
	if (!tw_is_linux(w))
		EXPECT_LT(too_big0, too_big1)
			TH_LOG("the bound never refused a split");
}

/* ------------------------------------------------------------------ */
/* persist: a zero window answered for ever                             */

/* Answer every probe with a zero window, until the connection is gone
 * (or @fd has an error, into *@err) or @ms pass; returns the ms it took,
 * or -1.
 */
static long long peers_answer_probes(struct tw *w, int fd, int ms, int *err)
{
	long long t0 = tw_now(w), end = t0 + ms * 1000LL;

	while (tw_now(w) < end) {
		if (tw_read_seg(w, 20)) {
			if (w->last.flags & TW_RST)
				return (tw_now(w) - t0) / 1000;
			tw_in(w, ". %u:%u(0) ack 1 win 0", w->c->snd, w->c->snd);
		}
		if (fd >= 0 && (*err = tw_so_error(fd)))
			return (tw_now(w) - t0) / 1000;
		if (fd < 0 && tw_state(w) == TW_GONE)
			return (tw_now(w) - t0) / 1000;
	}
	return -1;
}

TW_FIXTURE_TOYTCP(orphan);

/*
 * A closed socket with data the peer's zero window never takes: the peer
 * answers every window probe, which resets the probe count, but the
 * backoff grows and an orphan ends once it reaches
 * net.toytcp.orphan_retries (2 here: after about 0.2 + 0.4 s of probes).
 */
TEST_F_TIMEOUT(orphan, zero_window_answered_forever_orphan_ends, 60)
{
	struct tw *w = &self->w;
	struct tw_peer p = TW_PEER_DEFAULT;
	long long took;
	long probes;
	int err = 0;

	if (tw_write_file("/proc/sys/net/toytcp/orphan_retries", "2"))
		TH_LOG("net.toytcp.orphan_retries: %s (the default then)",
		       strerror(errno));
	p.win = 0;
	p.wscale = -1;
	tw_established(w, &p);
	tw_write(w, 20000);
	/* The first probes, answered: the window stays shut. */
	peers_answer_probes(w, w->c->fd, 600, &err);
	close(w->c->fd);
	w->c->fd = -1;
	took = peers_answer_probes(w, -1, 20000, &err);
	probes = tw_counter(w, "ZeroWindowProbes", NULL);
	TH_LOG("orphan gone after %lld ms of answered probes (%ld probes in all)",
	       took, probes);
	EXPECT_LE(0, took) TH_LOG("the orphan is still in %s after 20 s",
				  tw_state_name(tw_state(w)));
	EXPECT_EQ(TW_GONE, tw_state(w));
}

TW_FIXTURE(user_timeout);

/*
 * TCP_USER_TIMEOUT on the probe path (tcp_probe_timer()): a peer that
 * answers every probe with a zero window still fails the connection with
 * ETIMEDOUT, about USER_TIMEOUT_MS after the first probe.
 */
#define USER_TIMEOUT_MS	2000

TEST_F_TIMEOUT(user_timeout, zero_window_answered_forever_fails_in_time, 60)
{
	struct tw *w = &self->w;
	struct tw_peer p = TW_PEER_DEFAULT;
	long long took;
	int err = 0;

	p.win = 0;
	p.wscale = -1;
	tw_established(w, &p);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
			  USER_TIMEOUT_MS);
	tw_write(w, 20000);
	took = peers_answer_probes(w, w->c->fd, 20000, &err);
	TH_LOG("%s after %lld ms of answered probes", strerror(err), took);
	ASSERT_LE(0, took) TH_LOG("still alive after 20 s");
	EXPECT_EQ(ETIMEDOUT, err);
	/* From the write: the first probe after about an RTO, then the
	 * timeout; a generous upper bound for TCG.
	 */
	EXPECT_LE(USER_TIMEOUT_MS - 200, took);
	EXPECT_GE(USER_TIMEOUT_MS + 2000 * w->scale, took);
}

/* ------------------------------------------------------------------ */
/* closed: nothing leaves a reset socket                                */

TW_FIXTURE(closed);

/*
 * A corked write waits in the queue; the peer resets the connection.
 * Neither TCP_NODELAY nor uncorking may then send the stale data (Linux
 * purges the queue at the reset; toytcp sends nothing from CLOSED).
 */
TEST_F(closed, reset_socket_sends_nothing_on_nodelay_or_uncork)
{
	struct tw *w = &self->w;
	int fd;

	tw_established(w, NULL);
	fd = w->c->fd;
	tw_setsockopt_int(w, fd, IPPROTO_TCP, TCP_CORK, 1);
	tw_write(w, 100);
	tw_none(w, 50);
	tw_in(w, "R. 1:1(0) ack 1");
	tw_none(w, 50);
	EXPECT_EQ(ECONNRESET, tw_so_error(fd));
	tw_setsockopt_int(w, fd, IPPROTO_TCP, TCP_NODELAY, 1);
	tw_none(w, 300);
	tw_setsockopt_int(w, fd, IPPROTO_TCP, TCP_CORK, 0);
	tw_none(w, 300);
}

/* ------------------------------------------------------------------ */
/* silent: retry limits                                                 */

TW_FIXTURE_TOYTCP(silent);

#define PARAM_RETRIES	"/sys/module/toytcp/parameters/retries"

static long peers_param(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? atol(buf) : -1;
}

/*
 * The retry counters are 8 bits wide: retries=300 would wrap them and a
 * connection to a silent peer would never end.  300 is refused (EINVAL,
 * as the sysctl of the same name refuses it) and the limit that holds
 * ends the connection.
 */
TEST_F_TIMEOUT(silent, retries_above_255_refused_silent_peer_still_ends, 90)
{
	struct tw *w = &self->w;
	long saved = peers_param(PARAM_RETRIES);
	long long t0, took = -1;
	int err, e = 0, so_err = 0;

	ASSERT_LE(0, saved);
	ASSERT_EQ(0, tw_write_file(PARAM_RETRIES, "3"));
	err = tw_write_file(PARAM_RETRIES, "300");
	if (err)
		e = errno;
	TH_LOG("retries=300: %s, reads back %ld", err ? strerror(e) : "taken",
	       peers_param(PARAM_RETRIES));
	EXPECT_EQ(EINVAL, e);
	EXPECT_EQ(3, peers_param(PARAM_RETRIES));

	tw_established(w, NULL);
	tw_write(w, 1000);
	t0 = tw_now(w);
	/* The peer is silent: nothing answers the retransmissions. */
	while (tw_now(w) - t0 < 60000000LL) {
		tw_drain(w, 50);
		so_err = tw_so_error(w->c->fd);
		if (so_err) {
			took = (tw_now(w) - t0) / 1000;
			break;
		}
	}
	tw_write_file(PARAM_RETRIES, "15");
	if (saved != 15) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%ld", saved);
		tw_write_file(PARAM_RETRIES, buf);
	}
	TH_LOG("connection to a silent peer failed after %lld ms: %s", took,
	       strerror(so_err));
	EXPECT_LE(0, took);
	EXPECT_EQ(ETIMEDOUT, so_err);
}

TEST_HARNESS_MAIN
