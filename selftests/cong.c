// SPDX-License-Identifier: GPL-2.0
/*
 * Congestion control: which algorithm a socket gets (TCP_CONGESTION, the
 * namespace's default, a listener's children), the probe tracepoint that
 * reports the sender's window after each ACK (toytcp:toytcp_probe), and
 * (not yet) how the window grows after a loss.
 *
 *   choice   both stacks: TCP_CONGESTION and the per-namespace sysctl
 *            (net.toytcp.congestion_control, net.ipv4.tcp_congestion_control)
 *   probe    the tracepoint during a transfer, against TOYTCP_INFO
 *
 * (The window's growth after a loss, cubic against reno on a netem path,
 * is not tested here yet.)
 */
#include "toytcp_test.h"

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

TEST_HARNESS_MAIN
