// SPDX-License-Identifier: GPL-2.0
/*
 * Congestion control: which algorithm a socket gets (TCP_CONGESTION, the
 * namespace's default, a listener's children), the probe tracepoint that
 * reports the sender's window after each ACK (toytcp:toytcp_probe), and
 * how the window grows after a loss: CUBIC as RFC 9438's cubic function
 * of time, NewReno by one segment a round trip.
 *
 *   choice   both stacks: TCP_CONGESTION and the per-namespace sysctl
 *            (net.toytcp.congestion_control, net.ipv4.tcp_congestion_control)
 *   probe    the tracepoint during a transfer, against TOYTCP_INFO
 *   growth   one loss on a 100 ms path (netem), then the window sampled
 *            through the tracepoint for 10 s: cubic and reno variants
 */
#include "toytcp_test.h"

#include <math.h>

#define PORT 7400

static const char *tt_cc_sysctl(enum tt_stack s)
{
	return s == TT_LINUX ? "/proc/sys/net/ipv4/tcp_congestion_control"
			     : "/proc/sys/net/toytcp/congestion_control";
}

/* A string sysctl, without the newline; "" when unreadable. */
static void tt_read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* TCP_CONGESTION of fd, "" on error. */
static const char *tt_cc(int fd, char *buf)
{
	socklen_t len = 16;

	buf[0] = 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, buf, &len))
		snprintf(buf, 16, "(%s)", strerror(errno));
	return buf;
}

static int tt_set_cc(int fd, const char *name)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, strlen(name));
}

/* ------------------------------------------------------------------ */
/* The choice                                                          */

FIXTURE(choice) {
	struct tt_conn k;
};

FIXTURE_VARIANT(choice) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(choice);

FIXTURE_SETUP(choice)
{
	self->k.c = self->k.s = self->k.l = -1;
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(variant->stack);
}

FIXTURE_TEARDOWN(choice)
{
	tt_conn_close(&self->k);
}

/*
 * The namespace's default: cubic, as Linux's; a socket takes the default
 * of when it was made; a name the stack lacks is refused (ENOENT); the
 * available list names both.
 */
TEST_F(choice, sysctl_default_per_namespace)
{
	const char *path = tt_cc_sysctl(variant->stack);
	char def[32], cc[16], avail[128], p[128];
	int a, b;

	tt_read_str(path, def, sizeof(def));
	EXPECT_STREQ("cubic", def);
	snprintf(p, sizeof(p), "%s", path);
	*strrchr(p, '/') = 0;
	strncat(p, variant->stack == TT_LINUX ?
		"/tcp_available_congestion_control" :
		"/available_congestion_control", sizeof(p) - strlen(p) - 1);
	tt_read_str(p, avail, sizeof(avail));
	EXPECT_NE(NULL, strstr(avail, "cubic")) TH_LOG("available: %s", avail);
	EXPECT_NE(NULL, strstr(avail, "reno")) TH_LOG("available: %s", avail);

	a = tt_socket(variant->stack);
	EXPECT_STREQ("cubic", tt_cc(a, cc));
	ASSERT_EQ(0, tt_write_str(path, "reno"));
	tt_read_str(path, def, sizeof(def));
	EXPECT_STREQ("reno", def);
	b = tt_socket(variant->stack);
	EXPECT_STREQ("reno", tt_cc(b, cc));
	EXPECT_STREQ("cubic", tt_cc(a, cc)) TH_LOG("a socket keeps its own");
	EXPECT_NE(0, tt_write_str(path, "no-such-cc"));
	tt_read_str(path, def, sizeof(def));
	EXPECT_STREQ("reno", def);
	close(a);
	close(b);

	/* Another new namespace starts from the initial one's (cubic). */
	a = tt_netns_new();
	ASSERT_LE(0, a);
	b = TT_IN_NS(a, tt_socket(variant->stack));
	EXPECT_STREQ("cubic", tt_cc(b, cc));
	close(b);
	close(a);
}

/*
 * TCP_CONGESTION: set and read back on any socket; a listener's choice
 * goes to its children; an unknown name is ENOENT and changes nothing.
 */
TEST_F(choice, set_get_inherited_by_children)
{
	char cc[16];
	int l;

	l = tt_socket(variant->stack);
	ASSERT_EQ(0, tt_set_cc(l, "reno"));
	EXPECT_STREQ("reno", tt_cc(l, cc));
	close(l);

	self->k.l = tt_lo_listener(_metadata, variant->stack, PORT, 4);
	ASSERT_EQ(0, tt_set_cc(self->k.l, "reno"));
	self->k.c = tt_socket(variant->stack);
	ASSERT_EQ(0, tt_connect_to(self->k.c, tt_family(variant->stack),
				   TT_LO, PORT, 5000));
	self->k.s = tt_accept_to(self->k.l, 5000, NULL);
	ASSERT_LE(0, self->k.s);
	EXPECT_STREQ("reno", tt_cc(self->k.s, cc)) TH_LOG("the child");
	EXPECT_STREQ("cubic", tt_cc(self->k.c, cc)) TH_LOG("the client");
	EXPECT_EQ(-1, tt_set_cc(self->k.c, "no-such-cc"));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_STREQ("cubic", tt_cc(self->k.c, cc));
	EXPECT_EQ(0, tt_set_cc(self->k.s, "cubic"));
	EXPECT_STREQ("cubic", tt_cc(self->k.s, cc));
}

/* ------------------------------------------------------------------ */
/* The probe tracepoint                                                */

struct tt_probe {
	double t;			/* s, the trace clock */
	unsigned int sport, dport;
	uint32_t snd_nxt, snd_una, cwnd, ssthresh, snd_wnd, srtt, rcv_wnd;
	uint32_t in_flight;
	char ca[16];
};

/* The probe events in the instance's buffer (malloc()ed), or -1. */
static int tt_probes(const struct tt_trace *tr, struct tt_probe **out)
{
	char *buf = tt_trace_read(tr), *line, *save = NULL, *p;
	int n = 0, cap = 1024;
	struct tt_probe *v;

	*out = NULL;
	if (!buf)
		return -1;
	v = malloc(cap * sizeof(*v));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct tt_probe e;
		char *ts;

		p = strstr(line, ": toytcp_probe: ");
		if (!p)
			continue;
		*p = 0;
		ts = strrchr(line, ' ');
		memset(&e, 0, sizeof(e));
		if (!ts || sscanf(ts, "%lf", &e.t) != 1)
			continue;
		if (sscanf(p + 16, "%*[0-9.]:%u -> %*[0-9.]:%u mark=%*x data_len=%*u snd_nxt=%x snd_una=%x snd_cwnd=%u ssthresh=%u snd_wnd=%u srtt=%u rcv_wnd=%u in_flight=%u ca=%15s",
			   &e.sport, &e.dport, &e.snd_nxt, &e.snd_una, &e.cwnd,
			   &e.ssthresh, &e.snd_wnd, &e.srtt, &e.rcv_wnd,
			   &e.in_flight, e.ca) != 11)
			continue;
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = e;
	}
	free(buf);
	*out = v;
	return n;
}

/* A private instance with toytcp_probe enabled, for the sender to port. */
static int tt_probe_open(struct tt_trace *tr, int port, int kb)
{
	static const char *const ev[] = { "toytcp/toytcp_probe", NULL };
	char filter[64], p[256], size[32];

	snprintf(filter, sizeof(filter), "dport == %d", port);
	if (tt_tracefs())
		return -1;
	if (tt_trace_open(tr, ev, filter))
		return -1;
	snprintf(p, sizeof(p), "%s/buffer_size_kb", tr->dir);
	snprintf(size, sizeof(size), "%d", kb);
	return tt_write_str(p, size);
}

FIXTURE(probe) {
	struct tt_conn k;
	struct tt_trace tr;
};

FIXTURE_SETUP(probe)
{
	self->k.c = self->k.s = self->k.l = -1;
	memset(&self->tr, 0, sizeof(self->tr));
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(TT_TOYTCP);
}

FIXTURE_TEARDOWN(probe)
{
	tt_trace_close(&self->tr);
	tt_conn_close(&self->k);
}

/*
 * During a 4 MB transfer on loopback, the sender's probe events: many,
 * SND.UNA never going back, SND.NXT never behind it, cwnd above zero,
 * the socket's algorithm named; and the last event's SND.UNA is the
 * final one TOYTCP_INFO gives once everything is acknowledged.
 */
TEST_F(probe, sender_state_after_each_ack_as_toytcp_info)
{
	struct toytcp_info ti;
	socklen_t len = sizeof(ti);
	struct tt_probe *v;
	struct tt_xfer x;
	int n, i, back = 0, zero = 0, behind = 0, growing = 0;

	ASSERT_EQ(0, tt_probe_open(&self->tr, PORT, 4096))
		TH_LOG("tracefs instance with toytcp:toytcp_probe: %s",
		       strerror(errno));
	tt_lo_pair(_metadata, TT_TOYTCP, PORT, &self->k);
	tt_xfer_init(&x, self->k.c, self->k.s, 4 << 20, 1, 30000);
	tt_xfer_run(&x);
	TT_EXPECT_XFER(&x, 4 << 20);
	/* Everything acknowledged, the last ACK processed. */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, getsockopt(self->k.c, SOL_TOYTCP, TOYTCP_INFO,
					&ti, &len));
		if (ti.snd_una == ti.write_seq)
			break;
		tt_msleep(20);
	}
	n = tt_probes(&self->tr, &v);
	ASSERT_LT(20, n) TH_LOG("%d probe events", n);
	for (i = 0; i < n; i++) {
		if (i && (int32_t)(v[i].snd_una - v[i - 1].snd_una) < 0)
			back++;
		if (i && (int32_t)(v[i].snd_una - v[i - 1].snd_una) > 0)
			growing++;
		if ((int32_t)(v[i].snd_nxt - v[i].snd_una) < 0)
			behind++;
		if (!v[i].cwnd)
			zero++;
		EXPECT_STREQ("cubic", v[i].ca);
		EXPECT_EQ(PORT, (int)v[i].dport);
		if (strcmp("cubic", v[i].ca) || (int)v[i].dport != PORT)
			break;
	}
	EXPECT_EQ(0, back) TH_LOG("SND.UNA went back %d times", back);
	EXPECT_EQ(0, behind) TH_LOG("SND.NXT behind SND.UNA %d times", behind);
	EXPECT_EQ(0, zero) TH_LOG("cwnd 0 in %d events", zero);
	EXPECT_LT(n / 2, growing) TH_LOG("SND.UNA moved in %d of %d", growing, n);
	EXPECT_EQ(ti.snd_una, v[n - 1].snd_una);
	EXPECT_EQ(ti.snd_nxt, v[n - 1].snd_nxt);
	EXPECT_EQ(ti.cwnd, v[n - 1].cwnd);
	EXPECT_EQ(ti.snd_wnd, v[n - 1].snd_wnd);
	EXPECT_LT(0, v[n - 1].srtt);
	TH_LOG("%d events; first snd_una %#x cwnd %u, last %#x cwnd %u ssthresh %u",
	       n, v[0].snd_una, v[0].cwnd, v[n - 1].snd_una, v[n - 1].cwnd,
	       v[n - 1].ssthresh);
	free(v);
}

/* ------------------------------------------------------------------ */
/* The window's growth after a loss                                   */

#define GROW_DELAY	"delay 50ms limit 10000"	/* each way: RTT 100 ms */
#define GROW_BYTES	60000	/* drop the first segment beyond this */
#define GROW_SECONDS	10	/* watch the window this long after it */
#define GROW_TRIES	3	/* attempts, when another loss cuts one short */
#define ALPHA_CUBIC	(3 * (1 - 0.7) / (1 + 0.7))	/* RFC 9438 4.3 */

FIXTURE(growth) {
	struct tt_net t;
	struct tt_conn k;
	struct tt_sink sink;
	bool sink_on;
	struct tt_trace tr;
	pthread_t tx;
	bool tx_on;
	int stop;
};

FIXTURE_VARIANT(growth) {
	const char *cc;
};

FIXTURE_VARIANT_ADD(growth, cubic) { .cc = "cubic" };
FIXTURE_VARIANT_ADD(growth, reno) { .cc = "reno" };

struct tt_sender {
	int fd;
	int *stop;
};

static struct tt_sender tt_grow_tx;

/* Keep the sender's buffer full: the window, not the program, limits. */
static void *tt_grow_send(void *arg)
{
	struct tt_sender *s = arg;
	static char buf[65536];

	while (!__atomic_load_n(s->stop, __ATOMIC_SEQ_CST)) {
		if (tt_poll1(s->fd, POLLOUT, 100) <= 0)
			continue;
		if (send(s->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			break;
	}
	return NULL;
}

FIXTURE_SETUP(growth)
{
	struct tt_net_opts o = { .netem = GROW_DELAY };

	memset(&self->k, -1, sizeof(self->k));
	memset(&self->tr, 0, sizeof(self->tr));
	self->t.a.fd = self->t.b.fd = -1;
	TT_REQUIRE_STACK(TT_TOYTCP);
	ASSERT_EQ(0, tt_net_up(&self->t, &o));
}

FIXTURE_TEARDOWN(growth)
{
	__atomic_store_n(&self->stop, 1, __ATOMIC_SEQ_CST);
	if (self->tx_on)
		pthread_join(self->tx, NULL);
	if (self->sink_on)
		tt_sink_stop(&self->sink);
	tt_trace_close(&self->tr);
	tt_net_unblock(&self->t);
	tt_conn_close(&self->k);
	tt_net_down(&self->t);
}

/*
 * Everything of one attempt undone (another loss than ours cut the
 * growth short: a retransmission timeout when the machine stalled).
 */
static void tt_grow_reset(FIXTURE_DATA(growth) *self)
{
	__atomic_store_n(&self->stop, 1, __ATOMIC_SEQ_CST);
	if (self->tx_on)
		pthread_join(self->tx, NULL);
	self->tx_on = false;
	if (self->sink_on)
		tt_sink_stop(&self->sink);
	self->sink_on = false;
	tt_trace_close(&self->tr);
	memset(&self->tr, 0, sizeof(self->tr));
	tt_net_unblock(&self->t);
	tt_conn_close(&self->k);
	memset(&self->k, -1, sizeof(self->k));
	__atomic_store_n(&self->stop, 0, __ATOMIC_SEQ_CST);
}

/* cwnd at time t, by least squares of a line over [a, b). */
static double tt_slope(const struct tt_probe *v, int a, int b, double *icpt)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, m;
	int i, n = b - a;

	for (i = a; i < b; i++) {
		sx += v[i].t;
		sy += v[i].cwnd;
		sxx += v[i].t * v[i].t;
		sxy += v[i].t * v[i].cwnd;
	}
	m = (n * sxy - sx * sy) / (n * sxx - sx * sx);
	if (icpt)
		*icpt = (sy - m * sx) / n;
	return m;
}

/* The last event at or before time t (from i on). */
static int tt_at(const struct tt_probe *v, int n, int i, double t)
{
	while (i + 1 < n && v[i + 1].t <= t)
		i++;
	return i;
}

/*
 * A toytcp sender in A streams to B over a 100 ms round trip (netem
 * delay on both ends).  The first data segment beyond GROW_BYTES is
 * dropped (iptables connbytes and statistic, in B): one loss, in slow
 * start.  Should another loss (a retransmission timeout when TCG
 * stalls) cut the growth short of 1.3 K, the whole measurement is made
 * again (on the next port: the last one's sockets may linger),
 * GROW_TRIES times at most.
 * Then the window is watched through toytcp_probe for GROW_SECONDS.
 *
 * cubic: the window starts at beta * W_max (beta 0.7) and follows
 * W(t) = C (t - K)^3 + W_max, C = 0.4, K = cbrt(W_max (1 - beta) / C),
 * where t is the time since the growth began plus one round trip (RFC
 * 9438 4.4's target), or, where that is smaller, W_est, the window Reno
 * would have: beta * W_max plus alpha_cubic = 3 (1 - beta) / (1 + beta)
 * segments a round trip (4.3, the Reno-friendly region, which around
 * W_max, where the cubic curve is flat, is most of the time): at nine
 * times in ten (every 50 ms) within 10% (of W_max or of the curve, the
 * larger, plus 3 segments) of the larger of the two; concave then convex around W_max: it grows at least
 * twice as much in the first half of K as in the second, and faster
 * after K than in that second half.
 * reno: the same loss, then one segment a round trip: a straight line
 * (growth in the two halves of the same span within a factor of two of
 * each other), 2 to 15 segments a second.
 */
TEST_F_TIMEOUT(growth, window_after_one_loss, 300)
{
	const bool cubic = !strcmp(variant->cc, "cubic");
	double t0, tl, k_s, wmax, rtt, h1, h2, h3, m, b, res, tt;
	int n, i, il, ig, ik, ih, iend, good = 0, total = 0, attempt = 0;
	struct toytcp_info ti;
	socklen_t len = sizeof(ti);
	char rule[256];
	struct tt_probe *v;
	long long end;

again:
	ASSERT_EQ(0, tt_probe_open(&self->tr, PORT + attempt, 16384))
		TH_LOG("tracefs instance: %s", strerror(errno));
	/*
	 * One segment dropped, the first after GROW_BYTES from A to B: in
	 * slow start, when cwnd is a few tens of segments, whatever the
	 * speed of the machine (the rule counts bytes, not time).
	 */
	snprintf(rule, sizeof(rule),
		 "-A INPUT -p tcp --dport %d -m connbytes --connbytes %d: --connbytes-dir original --connbytes-mode bytes -m statistic --mode nth --every 1000000000 --packet 0 -j DROP\n",
		 PORT + attempt, GROW_BYTES);
	ASSERT_EQ(0, tt_net_iptables(&self->t, self->t.b.fd, rule));
	tt_net_pair(_metadata, &self->t, TT_TOYTCP, 0, TT_TOYTCP, PORT + attempt,
		    &self->k);
	ASSERT_EQ(0, tt_set_cc(self->k.c, variant->cc));
	ASSERT_EQ(0, tt_sink_start(&self->sink, self->k.s));
	self->sink_on = true;
	tt_grow_tx.fd = self->k.c;
	tt_grow_tx.stop = &self->stop;
	ASSERT_EQ(0, pthread_create(&self->tx, NULL, tt_grow_send, &tt_grow_tx));
	self->tx_on = true;

	/* The loss, once (see above); then GROW_SECONDS of growth. */
	end = tt_now_ms() + 60000;
	do {
		ASSERT_EQ(0, getsockopt(self->k.c, SOL_TOYTCP, TOYTCP_INFO,
					&ti, &len));
		ASSERT_GT(end, tt_now_ms())
			TH_LOG("no loss after 60 s (cwnd %u)", ti.cwnd);
		tt_msleep(50);
	} while (ti.ssthresh >= 0x7fffffff);
	tt_msleep(GROW_SECONDS * 1000 + 1000);
	__atomic_store_n(&self->stop, 1, __ATOMIC_SEQ_CST);

	n = tt_probes(&self->tr, &v);
	ASSERT_LT(50, n);
	/* The loss: the first event with a finite ssthresh. */
	for (il = 0; il < n && v[il].ssthresh >= 0x7fffffff; il++)
		;
	ASSERT_LT(il, n) TH_LOG("no loss seen in %d events", n);
	ASSERT_LT(0, il);
	/* The growth begins after the last event at ssthresh. */
	for (ig = il; ig + 1 < n && v[ig + 1].cwnd <= v[il].ssthresh; ig++)
		;
	/* Until the end, or a second loss. */
	for (iend = ig; iend < n && v[iend].ssthresh == v[il].ssthresh; iend++)
		;
	tl = v[il].t;
	t0 = v[ig].t;
	/* The path's RTT: the smallest smoothed RTT of the growth (one
	 * sample at its start may still carry the recovery's delays).
	 */
	rtt = 1e9;
	for (i = ig; i < n && v[i].ssthresh == v[il].ssthresh; i++)
		if (v[i].srtt)
			rtt = fmin(rtt, v[i].srtt / 1e6);
	ASSERT_GT(1e9, rtt) TH_LOG("no RTT in the probe events");
	wmax = cubic ? v[il].ssthresh * 1024.0 / 717 : v[il - 1].cwnd;
	k_s = cbrt(wmax * (1 - 0.7) / 0.4);
	TH_LOG("%s: loss at %.2f s with cwnd %u, ssthresh %u (W_max %.0f, K %.2f s); growth from %.2f s, RTT %.0f ms; %d events to %.2f s%s",
	       variant->cc, tl - v[0].t, v[il - 1].cwnd, v[il].ssthresh, wmax,
	       k_s, t0 - v[0].t, rtt * 1000, iend - ig, v[iend - 1].t - v[0].t,
	       iend < n ? " (a second loss)" : "");
	if (v[iend - 1].t <= t0 + 1.3 * k_s && ++attempt < GROW_TRIES) {
		TH_LOG("attempt %d: another loss after %.2f s of growth; again",
		       attempt, v[iend - 1].t - t0);
		free(v);
		tt_grow_reset(self);
		goto again;
	}
	ASSERT_LT(t0 + 1.3 * k_s, v[iend - 1].t)
		TH_LOG("watched only %.2f s of the growth", v[iend - 1].t - t0);

	for (i = ig; i < iend; i += (iend - ig) / 40 + 1)
		TH_LOG("  t %6.3f s cwnd %4u ssthresh %4u in_flight %7u",
		       v[i].t - t0, v[i].cwnd, v[i].ssthresh, v[i].in_flight);

	/* Growth in [0, K/2], [K/2, K], [K, 1.3 K] (per second for the last). */
	ik = tt_at(v, iend, ig, t0 + k_s / 2);
	ih = tt_at(v, iend, ik, t0 + k_s);
	h1 = (double)v[ik].cwnd - v[ig].cwnd;
	h2 = (double)v[ih].cwnd - v[ik].cwnd;
	i = tt_at(v, iend, ih, t0 + 1.3 * k_s);
	h3 = ((double)v[i].cwnd - v[ih].cwnd) / (0.3 * k_s);
	TH_LOG("growth: %.0f in the first half of K, %.0f in the second; %.1f/s after K (%.1f/s before)",
	       h1, h2, h3, h2 / (k_s / 2));

	if (!cubic) {
		m = tt_slope(v, ig, ih + 1, &b);
		res = 0;
		for (i = ig; i <= ih; i++)
			res = fmax(res, fabs(v[i].cwnd - (m * v[i].t + b)));
		TH_LOG("reno: %.2f segments/s, largest distance from the line %.1f",
		       m, res);
		EXPECT_TRUE(h1 < 2 * h2 + 2 && h2 < 2 * h1 + 2)
			TH_LOG("not a straight line: %.0f then %.0f", h1, h2);
		EXPECT_TRUE(m > 2 && m < 15) TH_LOG("%.2f segments/s", m);
		EXPECT_GT(6, res);
		free(v);
		return;
	}
	EXPECT_LT(2 * h2, h1) TH_LOG("not concave below W_max");
	EXPECT_LT(h2 / (k_s / 2), h3) TH_LOG("not convex beyond W_max");
	/* At every 50 ms (not every ACK, which crowd where cwnd is large);
	 * the tolerance 10% of W_max or of W(t) (where the curve is steep,
	 * the window is up to a round trip behind its target), plus 3.
	 */
	for (i = ig, tt = t0 + 2 * rtt; tt < v[iend - 1].t; tt += 0.05) {
		double t, w, w_est;

		i = tt_at(v, iend, i, tt);
		t = v[i].t - t0 + rtt;
		w = 0.4 * pow(t - k_s, 3) + wmax;
		w_est = v[il].ssthresh + ALPHA_CUBIC * (v[i].t - t0) / rtt;
		w = fmax(w, w_est);	/* the Reno-friendly region */
		total++;
		if (fabs(v[i].cwnd - w) <= 0.1 * fmax(wmax, w) + 3)
			good++;
		else if (total - good <= 5)
			TH_LOG("  off: t %.3f s cwnd %u, expected %.1f",
			       v[i].t - t0, v[i].cwnd, w);
	}
	TH_LOG("cubic: %d of %d times within 10%% of max(C (t - K)^3 + W_max, W_est)",
	       good, total);
	EXPECT_LE(0.9 * total, good);
	free(v);
}

TEST_HARNESS_MAIN
