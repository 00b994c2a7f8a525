/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tt_wire.h: the exact-segment harness.  A test plays the peer of one
 * connection segment by segment, in the manner of packetdrill scripts and
 * of smoltcp's socket tests: it injects exact segments into the stack under
 * test and expects exact segments back (flags, sequence and acknowledgment
 * numbers, window, options, payload, and timing within a tolerance),
 * interleaved with system calls on the socket under test.
 *
 * Why C and the kselftest harness (not scapy): it is what kernel selftests
 * use (FIXTURE/FIXTURE_VARIANT/TEST_F, TAP output, a fork per test); it
 * starts in no time under TCG where a Python interpreter per test would
 * cost seconds; timestamps are taken right at read() from the tun device;
 * and it needs no package beyond the kselftest harness.  This file depends
 * on nothing else of the selftests (only on kselftest_harness.h and
 * <linux/toytcp.h>).
 *
 * The setup.  Every test runs in its own process (the harness forks) and
 * its own fresh network namespace: a tun device tt0 (IFF_TUN|IFF_NO_PI,
 * MTU 1500) with 192.0.2.1/24 (TEST-NET-1) is the stack's interface, and
 * lo is up.  The "peer" is the test program itself at 192.0.2.2: it writes
 * IPv4 packets into the tun fd and reads what the stack sends from it.
 * No Linux stack plays the peer, as with packetdrill.  The stack under test
 * is the fixture variant: "toytcp" (socket(AF_TOYTCP, SOCK_STREAM, 0)) or
 * "linux" (AF_INET): the same script runs against Linux TCP, which proves
 * that its expectations are Linux's.  Where toytcp deliberately differs
 * from Linux, the test says so in a comment and branches on tw_is_linux().
 *
 * Scripts.  tw_in() injects and tw_out() expects one segment, written in
 * packetdrill's syntax:
 *
 *	FLAGS START:END(LEN) [ack N] [win N] [<OPTIONS>]
 *
 * FLAGS: S F R P U E W and "." for ACK ("S.", "P.", "F.", "R." ...); in
 * an expectation "p" means PSH may be set or not: Linux 6.12 sets PSH at
 * the end of every GSO packet (to flush GRO at the receiver), 6.1 only at
 * the end of a write, so tests that are not about PSH write "p.".
 * Sequence and acknowledgment numbers are relative, as in packetdrill: a
 * segment to the stack has its sequence number relative to the peer's ISN
 * and its ACK relative to the stack's ISN; a segment from the stack the
 * other way round.  The stack's ISN is learnt from its SYN or SYN-ACK
 * (until then, numbers are absolute).  SACK blocks are relative the same
 * way (to the ISN of the side whose data they cover).  "abs" makes a
 * segment's numbers absolute.  Window values are the raw 16-bit field.
 *
 * OPTIONS, comma separated: nop, eol, mss N, sackOK, wscale N,
 * TS val N ecr N, sack A:B C:D ..., and in an expectation "*" for any
 * value (mss *, TS val * ecr *) or <*> for "do not check the options".
 * A bare "TS" means: injected, val = the peer's clock (ms) and ecr = the
 * last TSval the stack sent; expected, val = anything not older than the
 * stack's previous TSval and ecr = TS.Recent as RFC 7323 3.4 defines it
 * (the TSval of the last injected segment with SEG.SEQ <= Last.ACK.sent).
 * Without <...>, an injected segment carries <nop,nop,TS> when the
 * connection negotiated timestamps, else no option; an expected segment
 * must carry exactly that too.  An injected segment's payload, and the
 * data tw_write() gives the socket, is a pattern of its relative sequence
 * number (tw_pat()), which every check of data on the wire or read from
 * the socket compares with.
 *
 * Time.  tw_out() wants the segment at once: within TW_AT_ONCE_MS (35 ms,
 * scaled by TOYTCP_TIME_SCALE) of the script's last event (the segment
 * that caused it, the system call, the segment before it in a burst):
 * below a delayed ACK (40 ms), a loss probe (2 RTT, 100 ms here) or an
 * RTO, so that none of those passes for an answer given at once;
 * tw_out_wait() waits longer; tw_out_at() also checks when it came,
 * relative to a reference, to within 20% + 20 ms (the 20 ms scaled by
 * TOYTCP_TIME_SCALE: the guest runs under TCG, perhaps on a busy host);
 * tw_none() wants nothing for a while.
 *
 * Builders put the socket under test into a state and leave the script's
 * bookkeeping (c->snd, c->rcv: the next relative sequence numbers of the
 * peer and of the stack) consistent: tw_listen(), tw_syn_sent(),
 * tw_syn_received(), tw_established(), tw_established_active(),
 * tw_fin_wait1(), tw_fin_wait2(), tw_close_wait(), tw_closing(),
 * tw_last_ack(), tw_time_wait().  struct tw_peer says what the peer
 * offers in its SYN (MSS or none, SACK, window scale, timestamps) and the
 * round-trip time it simulates by answering the handshake late (so that
 * both stacks start with an RTT estimate of about 50 ms: a loss probe
 * after 100 ms, an RTO after 200 to 300 ms, and time enough for a script
 * to answer before either).
 *
 * On a failure the harness prints every segment of the test, one line each
 * as tcpdump does ("<" into the stack, ">" out of it), with relative
 * numbers and times, and what it expected.
 */
#ifndef TT_WIRE_H
#define TT_WIRE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <linux/toytcp.h>

#include "tt_module.h"
#include "kselftest_harness.h"

#undef linux		/* a variant is called "linux" */

#define TW_UNUSED __attribute__((unused))
#define TW_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define TW_LADDR	"192.0.2.1"	/* the stack under test, on tt0 */
#define TW_RADDR	"192.0.2.2"	/* the peer: this program */
#define TW_ROUTER	"192.0.2.254"	/* a router, for ICMP errors */
#define TW_LPORT	8080		/* where the stack listens */
#define TW_RPORT	40000		/* the peer's port towards a listener */
#define TW_SPORT	9000		/* the peer's port the stack connects to */
#define TW_IRS		1000000000u	/* the peer's ISN */
#define TW_PROMPT_MS	100		/* how long tw_out() waits ... */
#define TW_AT_ONCE_MS	35		/* ... for a segment due at once */
#define TW_LOG_HEAD	40		/* segments kept from the start ... */
#define TW_LOG_TAIL	400		/* ... and from the end of a test */

#ifndef TCP_INQ
#define TCP_INQ		36
#define TCP_CM_INQ	TCP_INQ
#endif

/* TCP flag bits (byte 13 of the header). */
#define TW_FIN	0x01
#define TW_SYN	0x02
#define TW_RST	0x04
#define TW_PSH	0x08
#define TW_ACK	0x10
#define TW_URG	0x20
#define TW_ECE	0x40
#define TW_CWR	0x80

/* Linux TCP's state numbers, as /proc/net/{tcp,toytcp} print them. */
enum {
	TW_GONE = 0,	/* not listed */
	TW_ESTABLISHED = 1,
	TW_SYN_SENT,
	TW_SYN_RECV,
	TW_FIN_WAIT1,
	TW_FIN_WAIT2,
	TW_TIME_WAIT,
	TW_CLOSE,
	TW_CLOSE_WAIT,
	TW_LAST_ACK,
	TW_LISTEN,
	TW_CLOSING,
};

/* One segment, or an ICMP message, logged. */
struct tw_seg {
	bool out;		/* from the stack (read from tun) */
	int proto;		/* IPPROTO_TCP or IPPROTO_ICMP */
	long long t_us;		/* since the test began */
	uint32_t saddr, daddr;	/* network order */
	uint16_t sport, dport;	/* host order */
	uint32_t seq, ack;	/* absolute */
	uint8_t flags;
	uint16_t win;
	uint8_t opt[40];
	int optlen;
	int len;		/* payload bytes */
	uint8_t icmp_type, icmp_code;
	uint8_t raw[28];	/* IP header and 8 bytes of TCP, for ICMP */
	int conn;		/* index of its connection, -1 */
};

/* The options of a segment, decoded. */
struct tw_opts {
	int mss;		/* -1: absent */
	int wscale;		/* -1: absent */
	bool sackok;
	bool ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];	/* absolute */
};

/* What the peer offers in its SYN or SYN-ACK. */
struct tw_peer {
	int mss;		/* 0: no MSS option */
	int wscale;		/* -1: no window scale option */
	bool sack;		/* SACK-permitted */
	bool ts;		/* timestamps */
	uint16_t win;		/* window field in the SYN and later */
	int rtt_ms;		/* answer the handshake this late */
};

/* The peer of Linux's defaults, without timestamps: the default peer. */
#define TW_PEER_DEFAULT	{ .mss = 1460, .wscale = 7, .sack = true, \
			  .ts = false, .win = 65535, .rtt_ms = 50 }

/* One connection the script plays the peer of. */
struct tw_conn {
	bool used;
	int model;		/* TW_* state the builders left it in */
	uint16_t lport;		/* the stack's port, 0 until known */
	uint16_t rport;		/* the peer's port */
	uint32_t iss, irs;	/* the stack's and the peer's ISN */
	bool iss_known;
	struct tw_peer peer;	/* what the peer offered */
	int stack_mss;		/* the MSS option of the stack's SYN(-ACK) */
	int stack_wscale;	/* its window scale, -1: none */
	bool stack_sack, stack_ts;
	bool sack, ts, wscale;	/* negotiated */
	uint32_t ts_recent;	/* RFC 7323 TS.Recent the stack should echo */
	uint32_t stack_tsval;	/* the last TSval the stack sent */
	bool stack_tsval_seen;
	uint32_t ack_sent;	/* Last.ACK.sent by the stack (rel. to irs) */
	uint32_t snd;		/* the peer's next seq, relative to irs */
	uint32_t rcv;		/* the stack's next seq, relative to iss */
	uint32_t wr;		/* rel. seq of the next byte the app writes */
	uint32_t rd;		/* rel. seq of the next byte the app reads */
	uint16_t win;		/* window field the peer sends */
	int fd;			/* the socket under test, -1 */
};

#define TW_MAXCONN	4

struct tw {
	struct __test_metadata *md;
	int fam;		/* AF_TOYTCP or AF_INET */
	int tun;
	long long t0;
	int scale;		/* TOYTCP_TIME_SCALE */
	int lfd;		/* listener, -1 */
	struct tw_conn conn[TW_MAXCONN];
	struct tw_conn *c;	/* the current connection */
	struct tw_peer defpeer;	/* what builders use for a NULL peer */
	struct tw_seg *log;	/* TW_LOG_HEAD first, then a ring */
	long nlog;
	struct tw_seg last;	/* the last segment read from the stack */
	bool pending;		/* ... and tw_none() gave it back */
	bool pending_was;	/* the segment just read was given back */
	long long t_mark;	/* the last event of the script (us) */
	uint8_t data[65536];	/* and its payload */
	char why[2048];		/* the failed expectation */
};

/* ------------------------------------------------------------------ */
/* Small things                                                        */

static TW_UNUSED long long tw_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Microseconds since the test began. */
static TW_UNUSED long long tw_now(struct tw *w)
{
	return tw_mono_us() - w->t0;
}

static TW_UNUSED void tw_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static TW_UNUSED bool tw_is_linux(const struct tw *w)
{
	return w->fam == AF_INET;
}

/*
 * A counter of toytcp (/proc/net/toytcp_snmp) or Linux (TcpExt:), in the
 * test's namespace, by each stack's name: -1 if the stack has none (NULL).
 */
static TW_UNUSED long tw_counter(const struct tw *w, const char *toytcp,
				  const char *linux)
{
	char line[4096], names[4096];
	const char *want = tw_is_linux(w) ? linux : toytcp;
	long v = -1;
	FILE *f;

	if (!want)
		return -1;
	if (!tw_is_linux(w)) {
		f = fopen("/proc/net/toytcp_snmp", "r");
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			char name[128];
			long val;

			if (sscanf(line, "%127s %ld", name, &val) == 2 &&
			    !strcmp(name, want))
				v = val;
		}
		fclose(f);
		return v;
	}
	f = fopen("/proc/net/netstat", "r");
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(line, sizeof(line), f)) {
		char *sn, *sv, *n, *x;

		if (strncmp(names, "TcpExt:", 7))
			continue;
		n = strtok_r(names + 7, " \n", &sn);
		x = strtok_r(line + 7, " \n", &sv);
		while (n && x) {
			if (!strcmp(n, want))
				v = atol(x);
			n = strtok_r(NULL, " \n", &sn);
			x = strtok_r(NULL, " \n", &sv);
		}
	}
	fclose(f);
	return v;
}

/* The payload byte at relative sequence number @seq. */
static TW_UNUSED uint8_t tw_pat(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static TW_UNUSED void tw_fill(uint8_t *buf, uint32_t seq, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = tw_pat(seq + i);
}

static inline bool tw_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool tw_after(uint32_t a, uint32_t b)
{
	return tw_before(b, a);
}

/* Internet checksum. */
static TW_UNUSED uint32_t tw_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

static TW_UNUSED uint16_t tw_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static TW_UNUSED uint16_t tw_l4_csum(uint32_t saddr, uint32_t daddr, int proto,
				     const void *l4, size_t len)
{
	uint8_t ph[12];
	uint32_t sum;

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = len >> 8;
	ph[11] = len & 0xff;
	sum = tw_csum_add(0, ph, 12);
	sum = tw_csum_add(sum, l4, len);
	return tw_csum_fold(sum);
}

static TW_UNUSED uint32_t tw_addr(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

static TW_UNUSED void tw_parse_opts(const uint8_t *p, int len, struct tw_opts *o)
{
	int i = 0;

	memset(o, 0, sizeof(*o));
	o->mss = -1;
	o->wscale = -1;
	while (i < len) {
		int kind = p[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		olen = p[i + 1];
		if (olen < 2 || i + olen > len)
			break;
		if (kind == TCPOPT_MAXSEG && olen == 4) {
			o->mss = (p[i + 2] << 8) | p[i + 3];
		} else if (kind == TCPOPT_WINDOW && olen == 3) {
			o->wscale = p[i + 2];
		} else if (kind == TCPOPT_SACK_PERMITTED && olen == 2) {
			o->sackok = true;
		} else if (kind == TCPOPT_TIMESTAMP && olen == 10) {
			o->ts = true;
			o->tsval = ntohl(*(uint32_t *)(p + i + 2));
			o->tsecr = ntohl(*(uint32_t *)(p + i + 6));
		} else if (kind == TCPOPT_SACK && !((olen - 2) % 8)) {
			int n = (olen - 2) / 8, k;

			for (k = 0; k < n && k < 4; k++) {
				o->sack[k][0] = ntohl(*(uint32_t *)(p + i + 2 + 8 * k));
				o->sack[k][1] = ntohl(*(uint32_t *)(p + i + 6 + 8 * k));
			}
			o->nsack = n < 4 ? n : 4;
		}
		i += olen;
	}
}

static TW_UNUSED struct tw_conn *tw_seg_conn(struct tw *w, const struct tw_seg *s)
{
	return s->conn >= 0 ? &w->conn[s->conn] : NULL;
}

/* Relative numbers for printing: @mine is the ISN of the segment's sender. */
static TW_UNUSED void tw_bases(struct tw *w, const struct tw_seg *s, uint32_t *mine,
			       uint32_t *theirs)
{
	struct tw_conn *c = tw_seg_conn(w, s);

	*mine = 0;
	*theirs = 0;
	if (!c)
		return;
	if (s->out) {
		*mine = c->iss_known ? c->iss : 0;
		*theirs = c->irs;
	} else {
		*mine = c->irs;
		*theirs = c->iss_known ? c->iss : 0;
	}
}

static TW_UNUSED int tw_fmt_opts(struct tw *w, const struct tw_seg *s, char *buf,
				 size_t sz)
{
	const uint8_t *p = s->opt;
	uint32_t mine, theirs;
	int i = 0, n = 0;

	tw_bases(w, s, &mine, &theirs);
	buf[0] = 0;
	if (!s->optlen)
		return 0;
	n += snprintf(buf + n, sz - n, "<");
	while (i < s->optlen && n < (int)sz - 40) {
		int kind = p[i], olen;

		if (i)
			n += snprintf(buf + n, sz - n, ",");
		if (kind == TCPOPT_EOL) {
			n += snprintf(buf + n, sz - n, "eol");
			i++;
			continue;
		}
		if (kind == TCPOPT_NOP) {
			n += snprintf(buf + n, sz - n, "nop");
			i++;
			continue;
		}
		olen = i + 1 < s->optlen ? p[i + 1] : 0;
		if (olen < 2 || i + olen > s->optlen) {
			n += snprintf(buf + n, sz - n, "bad(kind %d len %d)",
				      kind, olen);
			break;
		}
		if (kind == TCPOPT_MAXSEG && olen == 4) {
			n += snprintf(buf + n, sz - n, "mss %d",
				      (p[i + 2] << 8) | p[i + 3]);
		} else if (kind == TCPOPT_WINDOW && olen == 3) {
			n += snprintf(buf + n, sz - n, "wscale %d", p[i + 2]);
		} else if (kind == TCPOPT_SACK_PERMITTED && olen == 2) {
			n += snprintf(buf + n, sz - n, "sackOK");
		} else if (kind == TCPOPT_TIMESTAMP && olen == 10) {
			n += snprintf(buf + n, sz - n, "TS val %u ecr %u",
				      ntohl(*(uint32_t *)(p + i + 2)),
				      ntohl(*(uint32_t *)(p + i + 6)));
		} else if (kind == TCPOPT_SACK && !((olen - 2) % 8)) {
			int k;

			n += snprintf(buf + n, sz - n, "sack");
			for (k = 0; k < (olen - 2) / 8; k++)
				n += snprintf(buf + n, sz - n, " %u:%u",
					      ntohl(*(uint32_t *)(p + i + 2 + 8 * k)) - theirs,
					      ntohl(*(uint32_t *)(p + i + 6 + 8 * k)) - theirs);
		} else {
			n += snprintf(buf + n, sz - n, "opt%d(%d)", kind, olen);
		}
		i += olen;
	}
	n += snprintf(buf + n, sz - n, ">");
	return n;
}

static TW_UNUSED const char *tw_fmt_flags(uint8_t f, char *b)
{
	int n = 0;

	if (f & TW_SYN)
		b[n++] = 'S';
	if (f & TW_FIN)
		b[n++] = 'F';
	if (f & TW_RST)
		b[n++] = 'R';
	if (f & TW_PSH)
		b[n++] = 'P';
	if (f & TW_URG)
		b[n++] = 'U';
	if (f & TW_ECE)
		b[n++] = 'E';
	if (f & TW_CWR)
		b[n++] = 'W';
	if (f & TW_ACK)
		b[n++] = '.';
	b[n] = 0;
	return b;
}

/* One line, tcpdump-like, relative numbers. */
static TW_UNUSED void tw_fmt_seg(struct tw *w, const struct tw_seg *s, char *buf,
				 size_t sz)
{
	char fl[12], opts[400], addr[2][INET_ADDRSTRLEN];
	uint32_t mine, theirs;
	int n;

	n = snprintf(buf, sz, "%8.3f %c ", s->t_us / 1e6, s->out ? '>' : '<');
	if (s->proto == IPPROTO_ICMP) {
		inet_ntop(AF_INET, &s->saddr, addr[0], sizeof(addr[0]));
		inet_ntop(AF_INET, &s->daddr, addr[1], sizeof(addr[1]));
		snprintf(buf + n, sz - n, "icmp type %d code %d %s > %s",
			 s->icmp_type, s->icmp_code, addr[0], addr[1]);
		return;
	}
	tw_bases(w, s, &mine, &theirs);
	tw_fmt_opts(w, s, opts, sizeof(opts));
	n += snprintf(buf + n, sz - n, "%s %u:%u(%d)", tw_fmt_flags(s->flags, fl),
		      s->seq - mine, s->seq - mine + s->len, s->len);
	if (s->flags & TW_ACK)
		n += snprintf(buf + n, sz - n, " ack %u", s->ack - theirs);
	n += snprintf(buf + n, sz - n, " win %u %s", s->win, opts);
	if (s->conn < 0 || w->conn[s->conn].rport != (s->out ? s->dport : s->sport) ||
	    (s->conn >= 0 && s->conn != (int)(w->c - w->conn)))
		snprintf(buf + n, sz - n, "  [%u > %u]", s->sport, s->dport);
}

/* ------------------------------------------------------------------ */
/* The log and failures                                                */

static TW_UNUSED void tw_log(struct tw *w, const struct tw_seg *s)
{
	long slot = w->nlog < TW_LOG_HEAD ? w->nlog :
		    TW_LOG_HEAD + (w->nlog - TW_LOG_HEAD) % TW_LOG_TAIL;

	w->log[slot] = *s;
	w->nlog++;
}

/* Print every segment of the test so far. */
static TW_UNUSED void tw_dump(struct tw *w)
{
	char line[600];
	long i, first_tail;

	fprintf(stderr, "# --- %s: segments (< into the stack, > from it), %s\n",
		tw_is_linux(w) ? "linux" : "toytcp",
		"seq/ack relative to the ISNs");
	for (i = 0; i < TW_MAXCONN; i++) {
		struct tw_conn *c = &w->conn[i];

		if (!c->used)
			continue;
		fprintf(stderr,
			"#     conn %ld: stack port %u, peer port %u, stack ISN %u%s, peer ISN %u\n",
			i, c->lport, c->rport, c->iss,
			c->iss_known ? "" : " (not seen yet)", c->irs);
	}
	for (i = 0; i < w->nlog && i < TW_LOG_HEAD; i++) {
		tw_fmt_seg(w, &w->log[i], line, sizeof(line));
		fprintf(stderr, "# %s\n", line);
	}
	first_tail = w->nlog - TW_LOG_TAIL;
	if (first_tail < TW_LOG_HEAD)
		first_tail = TW_LOG_HEAD;
	else if (first_tail > TW_LOG_HEAD)
		fprintf(stderr, "#   ... %ld segments not shown ...\n",
			first_tail - TW_LOG_HEAD);
	for (i = first_tail; i < w->nlog; i++) {
		long slot = TW_LOG_HEAD + (i - TW_LOG_HEAD) % TW_LOG_TAIL;

		tw_fmt_seg(w, &w->log[slot], line, sizeof(line));
		fprintf(stderr, "# %s\n", line);
	}
	fprintf(stderr, "# --- %.3f now\n", tw_now(w) / 1e6);
}

/*
 * Fail the test: the segments so far, then why.  Through the harness's
 * ASSERT, so that it works with any version of kselftest_harness.h.
 */
#define tw_fail(w, ...) do {						\
	struct __test_metadata *_metadata = (w)->md;			\
	tw_dump(w);							\
	fprintf(stderr, "# FAILED (%s:%d): ", __FILE__, __LINE__);	\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	ASSERT_TRUE(0);							\
} while (0)

/* The script did something (a system call): "at once" counts from now. */
#define tw_mark(w) ((w)->t_mark = tw_now(w))

/* Check a condition of the script; fail with the trace and a message. */
#define tw_check(w, cond, ...) do {					\
	if (!(cond))							\
		tw_fail(w, __VA_ARGS__);				\
} while (0)

/* A system call that must succeed. */
#define tw_sys(w, expr) ({						\
	long __r = (long)(expr);					\
	if (__r < 0)							\
		tw_fail(w, "%s: %s", #expr, strerror(errno));		\
	(w)->t_mark = tw_now(w);					\
	__r;								\
})

/* ------------------------------------------------------------------ */
/* Segment specifications (the script's language)                      */

#define TW_ANY		INT64_MIN		/* "*" */
#define TW_AUTO		(INT64_MIN + 1)		/* not given */

struct tw_ospec {
	int kind;		/* TCPOPT_*, or -1 for a whole "<*>" */
	int64_t a, b;		/* mss, wscale: a; TS: val a, ecr b */
	int nsack;
	int64_t sack[4][2];
};

struct tw_spec {
	uint8_t flags;
	int64_t seq, end;
	int len;
	bool has_ack;
	int64_t ack;		/* or TW_ANY */
	bool has_win;
	int64_t win;		/* or TW_ANY */
	bool has_opts;		/* <...> given */
	bool opts_any;		/* <*> */
	int nopt;
	struct tw_ospec opt[20];
	bool abs;
	bool psh_any;		/* "p": PSH set or not, either is fine */
};

static TW_UNUSED int64_t tw_num(struct tw *w, const char **p, const char *what)
{
	char *end;
	long long v;

	while (**p == ' ')
		(*p)++;
	if (**p == '*') {
		(*p)++;
		return TW_ANY;
	}
	errno = 0;
	v = strtoll(*p, &end, 0);
	if (end == *p || errno)
		tw_fail(w, "script: a number expected for %s at \"%s\"", what, *p);
	*p = end;
	return v;
}

static TW_UNUSED void tw_parse_ospec(struct tw *w, const char *s, struct tw_spec *sp)
{
	const char *p = s;

	sp->has_opts = true;
	while (*p == ' ')
		p++;
	if (*p == '*') {
		sp->opts_any = true;
		return;
	}
	while (*p) {
		struct tw_ospec *o;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		tw_check(w, sp->nopt < 20, "script: too many options in <%s>", s);
		o = &sp->opt[sp->nopt++];
		memset(o, 0, sizeof(*o));
		o->a = TW_AUTO;
		o->b = TW_AUTO;
		if (!strncmp(p, "nop", 3)) {
			o->kind = TCPOPT_NOP;
			p += 3;
		} else if (!strncmp(p, "eol", 3)) {
			o->kind = TCPOPT_EOL;
			p += 3;
		} else if (!strncmp(p, "mss", 3)) {
			o->kind = TCPOPT_MAXSEG;
			p += 3;
			o->a = tw_num(w, &p, "mss");
		} else if (!strncmp(p, "sackOK", 6)) {
			o->kind = TCPOPT_SACK_PERMITTED;
			p += 6;
		} else if (!strncmp(p, "wscale", 6)) {
			o->kind = TCPOPT_WINDOW;
			p += 6;
			o->a = tw_num(w, &p, "wscale");
		} else if (!strncmp(p, "TS", 2)) {
			o->kind = TCPOPT_TIMESTAMP;
			p += 2;
			while (*p == ' ')
				p++;
			if (!strncmp(p, "val", 3)) {
				p += 3;
				o->a = tw_num(w, &p, "TS val");
				while (*p == ' ')
					p++;
				tw_check(w, !strncmp(p, "ecr", 3),
					 "script: TS val N ecr N: \"%s\"", s);
				p += 3;
				o->b = tw_num(w, &p, "TS ecr");
			}
		} else if (!strncmp(p, "sack", 4)) {
			o->kind = TCPOPT_SACK;
			p += 4;
			for (;;) {
				while (*p == ' ')
					p++;
				if (!*p || *p == ',')
					break;
				tw_check(w, o->nsack < 4, "script: 4 SACK blocks at most");
				o->sack[o->nsack][0] = tw_num(w, &p, "SACK start");
				tw_check(w, *p == ':', "script: SACK block A:B in \"%s\"", s);
				p++;
				o->sack[o->nsack][1] = tw_num(w, &p, "SACK end");
				o->nsack++;
			}
		} else {
			tw_fail(w, "script: unknown option at \"%s\"", p);
		}
	}
}

static TW_UNUSED void tw_parse(struct tw *w, const char *str, struct tw_spec *sp)
{
	const char *p = str;
	char ob[400];

	memset(sp, 0, sizeof(*sp));
	while (*p == ' ')
		p++;
	for (; *p && *p != ' '; p++) {
		static const char letters[] = "FSRPAUEW";
		const char *l = strchr(letters, *p == '.' ? 'A' : *p);

		if (*p == 'p')
			sp->psh_any = true;
		else if (l && *p != 'A')
			sp->flags |= 1 << (l - letters);
		else
			tw_fail(w, "script: bad flags in \"%s\"", str);
	}
	sp->seq = tw_num(w, &p, "seq");
	tw_check(w, *p == ':', "script: START:END(LEN) in \"%s\"", str);
	p++;
	sp->end = tw_num(w, &p, "end");
	tw_check(w, *p == '(', "script: START:END(LEN) in \"%s\"", str);
	p++;
	sp->len = (int)tw_num(w, &p, "len");
	tw_check(w, *p == ')', "script: START:END(LEN) in \"%s\"", str);
	p++;
	tw_check(w, sp->end - sp->seq == sp->len,
		 "script: END - START != LEN in \"%s\"", str);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (!strncmp(p, "ack", 3)) {
			p += 3;
			sp->has_ack = true;
			sp->ack = tw_num(w, &p, "ack");
		} else if (!strncmp(p, "win", 3)) {
			p += 3;
			sp->has_win = true;
			sp->win = tw_num(w, &p, "win");
		} else if (!strncmp(p, "abs", 3)) {
			p += 3;
			sp->abs = true;
		} else if (*p == '<') {
			const char *e = strchr(p, '>');

			tw_check(w, e && e - p - 1 < (long)sizeof(ob),
				 "script: <options> in \"%s\"", str);
			memcpy(ob, p + 1, e - p - 1);
			ob[e - p - 1] = 0;
			tw_parse_ospec(w, ob, sp);
			p = e + 1;
		} else {
			tw_fail(w, "script: cannot read \"%s\" in \"%s\"", p, str);
		}
	}
	tw_check(w, !sp->has_ack || (sp->flags & TW_ACK),
		 "script: \"ack\" without the ACK flag in \"%s\"", str);
}

/* ------------------------------------------------------------------ */
/* The peer's clock and connections                                    */

static TW_UNUSED uint32_t tw_peer_tsval(struct tw *w)
{
	return (uint32_t)(tw_now(w) / 1000) + 1000;
}

/* Connection @i starts afresh (the peer at @rport) and is the current one. */
static TW_UNUSED struct tw_conn *tw_conn_reset(struct tw *w, int i, uint16_t rport)
{
	struct tw_conn *c = &w->conn[i];

	memset(c, 0, sizeof(*c));
	c->used = true;
	c->rport = rport;
	c->irs = TW_IRS + 0x01000000u * i;
	c->stack_wscale = -1;
	c->fd = -1;
	c->snd = 0;
	c->rcv = 0;
	c->wr = 1;
	c->rd = 1;
	c->win = 65535;
	w->c = c;
	return c;
}

static TW_UNUSED struct tw_conn *tw_conn_new(struct tw *w, uint16_t rport)
{
	int i;

	for (i = 0; i < TW_MAXCONN; i++)
		if (!w->conn[i].used)
			return tw_conn_reset(w, i, rport);
	tw_fail(w, "harness: more than %d connections", TW_MAXCONN);
	return NULL;
}

/* Make connection @i the current one (the one tw_in()/tw_out() speak of). */
static TW_UNUSED void tw_use(struct tw *w, int i)
{
	w->c = &w->conn[i];
}

/* The connection a segment from the stack belongs to. */
static TW_UNUSED int tw_match_out(struct tw *w, uint16_t sport, uint16_t dport,
				  uint8_t flags)
{
	int i;

	/* Two incarnations of one 4-tuple: the current one first; a SYN
	 * when the current connection's port is not known yet.
	 */
	if (w->c && w->c->used && w->c->rport == dport &&
	    ((w->c->lport == sport && (w->c->iss_known || (flags & TW_SYN))) ||
	     (!w->c->lport && (flags & TW_SYN))))
		return w->c - w->conn;
	for (i = 0; i < TW_MAXCONN; i++) {
		struct tw_conn *c = &w->conn[i];

		if (c->used && c->rport == dport && c->lport == sport)
			return i;
	}
	/* A SYN from a socket whose port is not known yet. */
	for (i = 0; i < TW_MAXCONN; i++) {
		struct tw_conn *c = &w->conn[i];

		if (c->used && c->rport == dport && !c->lport &&
		    (flags & TW_SYN))
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Building and injecting                                              */

static TW_UNUSED int tw_build_opts(struct tw *w, const struct tw_spec *sp, uint32_t seq,
				   uint8_t *out)
{
	struct tw_conn *c = w->c;
	int n = 0, i;

	for (i = 0; i < sp->nopt; i++) {
		const struct tw_ospec *o = &sp->opt[i];
		int k;

		tw_check(w, n <= 40, "script: more than 40 bytes of options");
		switch (o->kind) {
		case TCPOPT_NOP:
		case TCPOPT_EOL:
			out[n++] = o->kind;
			break;
		case TCPOPT_MAXSEG:
			out[n++] = TCPOPT_MAXSEG;
			out[n++] = 4;
			out[n++] = (uint8_t)(o->a >> 8);
			out[n++] = (uint8_t)o->a;
			break;
		case TCPOPT_SACK_PERMITTED:
			out[n++] = TCPOPT_SACK_PERMITTED;
			out[n++] = 2;
			break;
		case TCPOPT_WINDOW:
			out[n++] = TCPOPT_WINDOW;
			out[n++] = 3;
			out[n++] = (uint8_t)o->a;
			break;
		case TCPOPT_TIMESTAMP: {
			uint32_t val = o->a == TW_AUTO || o->a == TW_ANY ?
				       tw_peer_tsval(w) : (uint32_t)o->a;
			uint32_t ecr = o->b == TW_AUTO || o->b == TW_ANY ?
				       (c->stack_tsval_seen && (sp->flags & TW_ACK) ?
					c->stack_tsval : 0) : (uint32_t)o->b;

			out[n++] = TCPOPT_TIMESTAMP;
			out[n++] = 10;
			*(uint32_t *)(out + n) = htonl(val);
			*(uint32_t *)(out + n + 4) = htonl(ecr);
			n += 8;
			/* RFC 7323 3.4: what the stack should echo from now. */
			if (!tw_after(seq - c->irs, c->ack_sent) &&
			    !tw_before(val, c->ts_recent))
				c->ts_recent = val;
			if (sp->flags & TW_SYN)
				c->ts_recent = val;
			break;
		}
		case TCPOPT_SACK: {
			uint32_t base = sp->abs ? 0 : c->iss;

			out[n++] = TCPOPT_SACK;
			out[n++] = 2 + 8 * o->nsack;
			for (k = 0; k < o->nsack; k++) {
				*(uint32_t *)(out + n) = htonl(base + (uint32_t)o->sack[k][0]);
				*(uint32_t *)(out + n + 4) = htonl(base + (uint32_t)o->sack[k][1]);
				n += 8;
			}
			break;
		}
		}
	}
	tw_check(w, n <= 40, "script: more than 40 bytes of options");
	while (n % 4)
		out[n++] = TCPOPT_EOL;
	return n;
}

/* Write an IPv4 packet into the stack (through tun); log it. */
static TW_UNUSED void tw_inject_ip(struct tw *w, const uint8_t *pkt, size_t len,
				   struct tw_seg *s)
{
	ssize_t r = write(w->tun, pkt, len);

	if (r != (ssize_t)len)
		tw_fail(w, "write to tun: %zd: %s", r, strerror(errno));
	s->t_us = tw_now(w);
	w->t_mark = s->t_us;
	tw_log(w, s);
}

static TW_UNUSED void tw_ip_header(uint8_t *pkt, size_t total, int proto,
				   uint32_t saddr, uint32_t daddr)
{
	struct iphdr *ip = (struct iphdr *)pkt;
	static uint16_t id = 1;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(total);
	ip->id = htons(id++);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = proto;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = htons(tw_csum_fold(tw_csum_add(0, ip, sizeof(*ip))));
}

/* Inject one segment from a parsed spec.  Returns its absolute seq. */
static TW_UNUSED void tw_inject(struct tw *w, const struct tw_spec *sp)
{
	static uint8_t pkt[65536];
	struct tw_conn *c = w->c;
	struct tw_spec def;
	const struct tw_spec *osp = sp;
	struct tw_seg s;
	struct tcphdr *th;
	uint32_t seq, ack, off;
	uint8_t opt[44];
	int optlen;
	size_t total;

	seq = (uint32_t)sp->seq + (sp->abs ? 0 : c->irs);
	ack = sp->has_ack ? (uint32_t)sp->ack + (sp->abs ? 0 : (c->iss_known ? c->iss : 0)) : 0;
	/* No <...>: timestamps when they were negotiated, else nothing. */
	if (!sp->has_opts && c->ts && !(sp->flags & TW_SYN)) {
		def = *sp;
		def.nopt = 3;
		def.opt[0].kind = TCPOPT_NOP;
		def.opt[1].kind = TCPOPT_NOP;
		def.opt[2].kind = TCPOPT_TIMESTAMP;
		def.opt[2].a = TW_AUTO;
		def.opt[2].b = TW_AUTO;
		osp = &def;
	}
	optlen = tw_build_opts(w, osp, seq, opt);
	total = 20 + 20 + optlen + sp->len;
	tw_check(w, total <= sizeof(pkt), "script: segment too large");
	memset(pkt, 0, 40);
	th = (struct tcphdr *)(pkt + 20);
	th->source = htons(c->rport);
	th->dest = htons(c->lport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = (20 + optlen) / 4;
	((uint8_t *)th)[13] = sp->flags;
	th->window = htons(sp->has_win ? (uint16_t)sp->win : c->win);
	memcpy(pkt + 40, opt, optlen);
	off = (uint32_t)sp->seq + ((sp->flags & TW_SYN) ? 1 : 0);
	tw_fill(pkt + 40 + optlen, off, sp->len);
	th->check = htons(tw_l4_csum(tw_addr(TW_RADDR), tw_addr(TW_LADDR),
				     IPPROTO_TCP, th, total - 20));
	tw_ip_header(pkt, total, IPPROTO_TCP, tw_addr(TW_RADDR),
		     tw_addr(TW_LADDR));

	memset(&s, 0, sizeof(s));
	s.proto = IPPROTO_TCP;
	s.saddr = tw_addr(TW_RADDR);
	s.daddr = tw_addr(TW_LADDR);
	s.sport = c->rport;
	s.dport = c->lport;
	s.seq = seq;
	s.ack = ack;
	s.flags = sp->flags;
	s.win = ntohs(th->window);
	s.optlen = optlen;
	memcpy(s.opt, opt, optlen);
	s.len = sp->len;
	s.conn = c - w->conn;
	tw_inject_ip(w, pkt, total, &s);

	/* The peer's next sequence number, when this one was in order. */
	if (!sp->abs && (uint32_t)sp->seq == c->snd &&
	    !(sp->flags & TW_RST))
		c->snd += sp->len + !!(sp->flags & TW_SYN) +
			  !!(sp->flags & TW_FIN);
}

/* Inject a segment: tw_in(w, "P. 1:1001(1000) ack 1"). */
static TW_UNUSED TW_PRINTF(2, 3)
void tw_in(struct tw *w, const char *fmt, ...)
{
	struct tw_spec sp;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tw_parse(w, buf, &sp);
	tw_check(w, !sp.psh_any, "script: \"p\" is for expectations only");
	tw_inject(w, &sp);
}

/*
 * An ICMP error about @orig (a segment the stack sent), from a router:
 * type 3 (destination unreachable), @code, with @mtu in the next-hop MTU
 * field for code 4 (fragmentation needed, RFC 1191).
 */
static TW_UNUSED void tw_in_icmp(struct tw *w, const struct tw_seg *orig, int code,
				 int mtu, const char *from)
{
	uint8_t pkt[20 + 8 + 28];
	uint8_t *icmp = pkt + 20;
	struct tw_seg s;

	memset(pkt, 0, sizeof(pkt));
	icmp[0] = 3;
	icmp[1] = code;
	icmp[6] = mtu >> 8;
	icmp[7] = mtu & 0xff;
	memcpy(icmp + 8, orig->raw, 28);
	*(uint16_t *)(icmp + 2) = htons(tw_csum_fold(tw_csum_add(0, icmp, 36)));
	tw_ip_header(pkt, sizeof(pkt), IPPROTO_ICMP, tw_addr(from),
		     tw_addr(TW_LADDR));
	memset(&s, 0, sizeof(s));
	s.proto = IPPROTO_ICMP;
	s.saddr = tw_addr(from);
	s.daddr = tw_addr(TW_LADDR);
	s.icmp_type = 3;
	s.icmp_code = code;
	s.conn = -1;
	tw_inject_ip(w, pkt, sizeof(pkt), &s);
}

/* ------------------------------------------------------------------ */
/* Reading what the stack sends                                        */

/*
 * The next TCP segment from the stack within @timeout_ms, into w->last
 * (payload in w->data).  Other packets (ICMP ...) are logged and skipped.
 * Returns false on timeout.
 */
static TW_UNUSED bool tw_read_seg(struct tw *w, int timeout_ms)
{
	static uint8_t pkt[65536 + 100];
	long long deadline = tw_now(w) + timeout_ms * 1000LL;

	w->pending_was = w->pending;
	if (w->pending) {
		w->pending = false;
		return true;
	}
	for (;;) {
		struct pollfd pfd = { .fd = w->tun, .events = POLLIN };
		long long left = deadline - tw_now(w);
		struct tw_seg *s = &w->last;
		const struct iphdr *ip;
		const struct tcphdr *th;
		struct tw_conn *c;
		ssize_t n;
		int ihl, doff, r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (tw_now(w) >= deadline)
				return false;
			continue;
		}
		n = read(w->tun, pkt, sizeof(pkt));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			tw_fail(w, "read from tun: %s", strerror(errno));
		if (n < 20 || (pkt[0] >> 4) != 4)
			continue;	/* IPv6 or junk */
		ip = (const struct iphdr *)pkt;
		ihl = ip->ihl * 4;
		memset(s, 0, sizeof(*s));
		s->out = true;
		s->t_us = tw_now(w);
		s->saddr = ip->saddr;
		s->daddr = ip->daddr;
		s->proto = ip->protocol;
		s->conn = -1;
		if (ip->protocol == IPPROTO_ICMP && n >= ihl + 8) {
			s->icmp_type = pkt[ihl];
			s->icmp_code = pkt[ihl + 1];
			tw_log(w, s);
			continue;
		}
		if (ip->protocol != IPPROTO_TCP || n < ihl + 20)
			continue;
		if (ntohs(ip->tot_len) != n)
			tw_fail(w, "IP total length %u, packet %zd bytes",
				ntohs(ip->tot_len), n);
		if (tw_csum_fold(tw_csum_add(0, ip, ihl)))
			tw_fail(w, "bad IP header checksum from the stack");
		th = (const struct tcphdr *)(pkt + ihl);
		doff = th->doff * 4;
		if (doff < 20 || ihl + doff > n)
			tw_fail(w, "bad TCP data offset %d from the stack", doff);
		if (tw_l4_csum(ip->saddr, ip->daddr, IPPROTO_TCP, th, n - ihl))
			tw_fail(w, "bad TCP checksum from the stack");
		s->sport = ntohs(th->source);
		s->dport = ntohs(th->dest);
		s->seq = ntohl(th->seq);
		s->ack = ntohl(th->ack_seq);
		s->flags = ((const uint8_t *)th)[13];
		s->win = ntohs(th->window);
		s->optlen = doff - 20;
		memcpy(s->opt, (const uint8_t *)th + 20, s->optlen);
		s->len = n - ihl - doff;
		memcpy(s->raw, pkt, 20);
		memcpy(s->raw + 20, th, 8);
		memcpy(w->data, (const uint8_t *)th + doff, s->len);
		s->conn = tw_match_out(w, s->sport, s->dport, s->flags);
		c = tw_seg_conn(w, s);
		if (c) {
			struct tw_opts o;

			if (!c->lport)
				c->lport = s->sport;
			if ((s->flags & TW_SYN) && !c->iss_known) {
				c->iss = s->seq;
				c->iss_known = true;
			}
			tw_parse_opts(s->opt, s->optlen, &o);
			if (o.ts) {
				if (c->stack_tsval_seen &&
				    tw_before(o.tsval, c->stack_tsval)) {
					tw_log(w, s);
					tw_fail(w, "TSval %u went back from %u (RFC 7323 5.4)",
						o.tsval, c->stack_tsval);
				}
				c->stack_tsval = o.tsval;
				c->stack_tsval_seen = true;
			}
			if (s->flags & TW_ACK)
				c->ack_sent = s->ack - c->irs;
		}
		tw_log(w, s);
		w->t_mark = s->t_us;
		return true;
	}
}

/* Compare a segment from the stack with a spec; a reason, or NULL. */
static TW_UNUSED const char *tw_match(struct tw *w, const struct tw_seg *s,
				      const struct tw_spec *sp, char *why, size_t sz)
{
	struct tw_conn *c = w->c;
	uint32_t iss = c->iss_known ? c->iss : 0;
	uint32_t seq = (uint32_t)sp->seq + (sp->abs ? 0 : iss);
	struct tw_spec def;
	const struct tw_spec *osp = sp;
	int i, k, pos;
	char fl[2][12];

	if (s->conn != c - w->conn) {
		snprintf(why, sz, "from connection %d (ports %u > %u), expected %d (%u > %u)",
			 s->conn, s->sport, s->dport, (int)(c - w->conn), c->lport,
			 c->rport);
		return why;
	}
	if ((s->flags & ~(sp->psh_any ? TW_PSH : 0)) != sp->flags) {
		snprintf(why, sz, "flags %s, expected %s",
			 tw_fmt_flags(s->flags, fl[0]), tw_fmt_flags(sp->flags, fl[1]));
		return why;
	}
	if (s->seq != seq) {
		snprintf(why, sz, "seq %u, expected %u", s->seq - (sp->abs ? 0 : iss),
			 (uint32_t)sp->seq);
		return why;
	}
	if (s->len != sp->len) {
		snprintf(why, sz, "payload %d bytes, expected %d", s->len, sp->len);
		return why;
	}
	if ((s->flags & TW_ACK) && sp->ack != TW_ANY) {
		uint32_t ack = (uint32_t)sp->ack + (sp->abs ? 0 : c->irs);

		if (!sp->has_ack) {
			snprintf(why, sz, "script: an expected ACK needs \"ack N\"");
			return why;
		}
		if (s->ack != ack) {
			snprintf(why, sz, "ack %u, expected %u",
				 s->ack - (sp->abs ? 0 : c->irs), (uint32_t)sp->ack);
			return why;
		}
	}
	if (sp->has_win && sp->win != TW_ANY && s->win != sp->win) {
		snprintf(why, sz, "win %u, expected %u", s->win, (unsigned int)sp->win);
		return why;
	}
	for (i = 0; i < s->len; i++) {
		uint32_t rel = s->seq - iss + ((s->flags & TW_SYN) ? 1 : 0) + i;

		if (w->data[i] != tw_pat(rel)) {
			snprintf(why, sz, "payload byte %d (seq %u) is 0x%02x, expected 0x%02x",
				 i, rel, w->data[i], tw_pat(rel));
			return why;
		}
	}
	if (sp->opts_any)
		return NULL;
	if (!sp->has_opts && c->ts && !(sp->flags & TW_SYN)) {
		def = *sp;
		def.nopt = 3;
		memset(def.opt, 0, 3 * sizeof(def.opt[0]));
		def.opt[0].kind = TCPOPT_NOP;
		def.opt[1].kind = TCPOPT_NOP;
		def.opt[2].kind = TCPOPT_TIMESTAMP;
		def.opt[2].a = TW_AUTO;
		def.opt[2].b = TW_AUTO;
		osp = &def;
	}
	/* Option by option, in order: the layout is part of the spec. */
	pos = 0;
	for (i = 0; i < osp->nopt; i++) {
		const struct tw_ospec *o = &osp->opt[i];
		const uint8_t *p = s->opt + pos;
		int olen;

		if (pos >= s->optlen) {
			snprintf(why, sz, "options end before option %d (kind %d)",
				 i + 1, o->kind);
			return why;
		}
		if (p[0] != o->kind) {
			snprintf(why, sz, "option %d has kind %d, expected %d",
				 i + 1, p[0], o->kind);
			return why;
		}
		if (o->kind == TCPOPT_NOP || o->kind == TCPOPT_EOL) {
			pos++;
			continue;
		}
		olen = pos + 1 < s->optlen ? p[1] : 0;
		switch (o->kind) {
		case TCPOPT_MAXSEG:
			if (olen != 4 || (o->a != TW_ANY && o->a != TW_AUTO &&
					  ((p[2] << 8) | p[3]) != o->a)) {
				snprintf(why, sz, "mss %d, expected %lld",
					 (p[2] << 8) | p[3], (long long)o->a);
				return why;
			}
			break;
		case TCPOPT_WINDOW:
			if (olen != 3 || (o->a != TW_ANY && o->a != TW_AUTO &&
					  p[2] != o->a)) {
				snprintf(why, sz, "wscale %d, expected %lld", p[2],
					 (long long)o->a);
				return why;
			}
			break;
		case TCPOPT_SACK_PERMITTED:
			if (olen != 2) {
				snprintf(why, sz, "sackOK of length %d", olen);
				return why;
			}
			break;
		case TCPOPT_TIMESTAMP: {
			uint32_t val = ntohl(*(uint32_t *)(p + 2));
			uint32_t ecr = ntohl(*(uint32_t *)(p + 6));
			uint32_t want;

			if (olen != 10) {
				snprintf(why, sz, "TS of length %d", olen);
				return why;
			}
			if (o->a != TW_ANY && o->a != TW_AUTO && val != (uint32_t)o->a) {
				snprintf(why, sz, "TS val %u, expected %u", val,
					 (uint32_t)o->a);
				return why;
			}
			if (o->b == TW_ANY)
				break;
			want = o->b == TW_AUTO ? ((sp->flags & TW_SYN) &&
						  !(sp->flags & TW_ACK) ? 0 :
						  c->ts_recent) : (uint32_t)o->b;
			if (ecr != want) {
				snprintf(why, sz, "TS ecr %u, expected %u (TS.Recent)",
					 ecr, want);
				return why;
			}
			break;
		}
		case TCPOPT_SACK:
			if (olen != 2 + 8 * o->nsack) {
				snprintf(why, sz, "%d SACK blocks, expected %d",
					 (olen - 2) / 8, o->nsack);
				return why;
			}
			for (k = 0; k < o->nsack; k++) {
				uint32_t base = sp->abs ? 0 : c->irs;
				uint32_t a = ntohl(*(uint32_t *)(p + 2 + 8 * k)) - base;
				uint32_t b = ntohl(*(uint32_t *)(p + 6 + 8 * k)) - base;

				if ((o->sack[k][0] != TW_ANY && a != (uint32_t)o->sack[k][0]) ||
				    (o->sack[k][1] != TW_ANY && b != (uint32_t)o->sack[k][1])) {
					snprintf(why, sz, "SACK block %d %u:%u, expected %lld:%lld",
						 k + 1, a, b, (long long)o->sack[k][0],
						 (long long)o->sack[k][1]);
					return why;
				}
			}
			break;
		}
		if (olen < 2) {
			snprintf(why, sz, "option %d is malformed", i + 1);
			return why;
		}
		pos += olen;
	}
	if (pos != s->optlen) {
		snprintf(why, sz, "%d bytes of options more than expected",
			 s->optlen - pos);
		return why;
	}
	return NULL;
}

/*
 * Expect the next segment from the stack, within @timeout_ms from now.
 * Returns it (w->last, valid until the next read).
 */
static TW_UNUSED struct tw_seg *tw_expect(struct tw *w, int timeout_ms, const char *str)
{
	struct tw_conn *c = w->c;
	struct tw_spec sp;
	const char *why;

	tw_parse(w, str, &sp);
	if (!tw_read_seg(w, timeout_ms))
		tw_fail(w, "expected within %d ms: %s\n#   got: nothing",
			timeout_ms, str);
	why = tw_match(w, &w->last, &sp, w->why, sizeof(w->why));
	if (why) {
		char line[600];

		tw_fmt_seg(w, &w->last, line, sizeof(line));
		tw_fail(w, "expected: %s\n#   got: %s\n#   (%s)", str, line, why);
	}
	/* The stack's next sequence number, when this one was in order. */
	if (!sp.abs && (uint32_t)sp.seq == c->rcv)
		c->rcv += sp.len + !!(sp.flags & TW_SYN) + !!(sp.flags & TW_FIN);
	return &w->last;
}

#define TW_VFMT(buf, fmt) do {						\
	va_list __ap;							\
	va_start(__ap, fmt);						\
	vsnprintf(buf, sizeof(buf), fmt, __ap);				\
	va_end(__ap);							\
} while (0)

/* The segment read last (by a builder, say) must match. */
static TW_UNUSED TW_PRINTF(2, 3)
void tw_last_is(struct tw *w, const char *fmt, ...)
{
	struct tw_spec sp;
	const char *why;
	char buf[512];

	TW_VFMT(buf, fmt);
	tw_parse(w, buf, &sp);
	why = tw_match(w, &w->last, &sp, w->why, sizeof(w->why));
	if (why) {
		char line[600];

		tw_fmt_seg(w, &w->last, line, sizeof(line));
		tw_fail(w, "expected: %s\n#   got: %s\n#   (%s)", buf, line, why);
	}
}

/*
 * Expect a segment at once: within TW_AT_ONCE_MS of the script's last
 * event (waiting up to TW_PROMPT_MS, so that a late one is shown).
 */
static TW_UNUSED TW_PRINTF(2, 3)
struct tw_seg *tw_out(struct tw *w, const char *fmt, ...)
{
	long long ref = w->t_mark, dt;
	struct tw_seg *s;
	char buf[512];

	TW_VFMT(buf, fmt);
	s = tw_expect(w, TW_PROMPT_MS * w->scale, buf);
	dt = s->t_us - ref;
	if (!w->pending_was && dt > TW_AT_ONCE_MS * 1000LL * w->scale)
		tw_fail(w, "%s came %.1f ms after the last event, expected at once (%d ms)",
			buf, dt / 1e3, TW_AT_ONCE_MS * w->scale);
	return s;
}

/* Expect a segment within @ms. */
static TW_UNUSED TW_PRINTF(3, 4)
struct tw_seg *tw_out_wait(struct tw *w, int ms, const char *fmt, ...)
{
	char buf[512];

	TW_VFMT(buf, fmt);
	return tw_expect(w, ms * w->scale, buf);
}

/* The tolerance of a timing check, in us. */
static TW_UNUSED long long tw_tolerance_us(struct tw *w, int ms)
{
	return ms * 200LL + 20000LL * w->scale;
}

/*
 * Expect a segment @ms after @ref_us (a time from tw_now() or a segment's
 * t_us), to within 20% + 20 ms.
 */
static TW_UNUSED TW_PRINTF(4, 5)
struct tw_seg *tw_out_at(struct tw *w, long long ref_us, int ms,
			 const char *fmt, ...)
{
	long long tol = tw_tolerance_us(w, ms), dt;
	long long wait_us = ref_us + ms * 1000LL + tol - tw_now(w);
	struct tw_seg *s;
	char buf[512];

	TW_VFMT(buf, fmt);
	s = tw_expect(w, wait_us > 0 ? (int)(wait_us / 1000) + 1 : 1, buf);
	dt = s->t_us - ref_us;
	if (dt < ms * 1000LL - tol || dt > ms * 1000LL + tol)
		tw_fail(w, "%s came %.1f ms after the reference, expected %d ms +- %.1f",
			buf, dt / 1e3, ms, tol / 1e3);
	return s;
}

/*
 * Expect @fmt within @ms, taking any new data (at c->rcv, the next
 * sequence number never seen) that comes before it: where the RFCs let
 * a sender choose how much new data it sends alongside a retransmission
 * (RFC 6675 vs RFC 6937), a script only pins the retransmissions.
 * *@skipped (may be NULL) counts the new segments taken.
 */
static TW_UNUSED TW_PRINTF(4, 5)
struct tw_seg *tw_out_skipping_new(struct tw *w, int ms, int *skipped,
				   const char *fmt, ...)
{
	struct tw_conn *c = w->c;
	long long deadline = tw_now(w) + ms * 1000LL * w->scale;
	struct tw_spec sp;
	const char *why;
	char buf[512];
	int n = 0;

	TW_VFMT(buf, fmt);
	tw_parse(w, buf, &sp);
	for (;;) {
		long long left = deadline - tw_now(w);
		struct tw_seg *s = &w->last;
		uint32_t rel;
		int i;

		if (!tw_read_seg(w, left > 0 ? (int)(left / 1000) + 1 : 1))
			tw_fail(w, "expected within %d ms: %s\n#   got: nothing (%d new segments)",
				ms, buf, n);
		rel = s->seq - c->iss;
		if (s->conn == c - w->conn && s->len && rel == c->rcv &&
		    (uint32_t)sp.seq != c->rcv &&
		    !(s->flags & (TW_SYN | TW_FIN | TW_RST))) {
			for (i = 0; i < s->len; i++)
				if (w->data[i] != tw_pat(rel + i))
					tw_fail(w, "new data at seq %u: byte %d wrong", rel, i);
			c->rcv += s->len;
			n++;
			continue;
		}
		why = tw_match(w, s, &sp, w->why, sizeof(w->why));
		if (why) {
			char line[600];

			tw_fmt_seg(w, s, line, sizeof(line));
			tw_fail(w, "expected: %s\n#   got: %s\n#   (%s)", buf, line, why);
		}
		if ((uint32_t)sp.seq == c->rcv)
			c->rcv += sp.len + !!(sp.flags & TW_FIN);
		if (skipped)
			*skipped = n;
		return s;
	}
}

/*
 * Expect a segment between @min_ms and @max_ms after @ref_us (a delayed
 * ACK, say: not at once, and not later than the delayed-ACK timeout).
 * The bounds are not widened: they are wide already.
 */
static TW_UNUSED TW_PRINTF(5, 6)
struct tw_seg *tw_out_between(struct tw *w, long long ref_us, int min_ms,
			      int max_ms, const char *fmt, ...)
{
	long long wait_us = ref_us + max_ms * 1000LL * w->scale - tw_now(w);
	struct tw_seg *s;
	char buf[512];
	long long dt;

	TW_VFMT(buf, fmt);
	s = tw_expect(w, wait_us > 0 ? (int)(wait_us / 1000) + 1 : 1, buf);
	dt = s->t_us - ref_us;
	if (dt < min_ms * 1000LL)
		tw_fail(w, "%s came %.1f ms after the reference, expected %d ms or later",
			buf, dt / 1e3, min_ms);
	return s;
}

/* The time the last segment was injected (a reference for timing). */
static TW_UNUSED long long tw_last_in_us(struct tw *w)
{
	long i;

	for (i = w->nlog - 1; i >= 0 && i >= w->nlog - TW_LOG_TAIL; i--) {
		long slot = i < TW_LOG_HEAD ? i :
			    TW_LOG_HEAD + (i - TW_LOG_HEAD) % TW_LOG_TAIL;

		if (!w->log[slot].out)
			return w->log[slot].t_us;
	}
	return 0;
}

/*
 * Expect no TCP segment from the stack for @ms after the script's last
 * event (a segment in or out, a write, a read, a socket option).  When the
 * test itself ran late (a busy host), a segment read after that window is
 * not held against the stack: it is kept for the next expectation.
 */
static TW_UNUSED void tw_none(struct tw *w, int ms)
{
	long long deadline = w->t_mark + ms * 1000LL;
	long long left = deadline - tw_now(w);
	char line[600];

	if (!tw_read_seg(w, left > 0 ? (int)((left + 999) / 1000) : 0))
		return;
	if (w->last.t_us > deadline) {
		w->pending = true;
		return;
	}
	tw_fmt_seg(w, &w->last, line, sizeof(line));
	tw_fail(w, "expected nothing for %d ms, got: %s", ms, line);
}

/* Discard what the stack sends for @ms (only where a test says why). */
static TW_UNUSED int tw_drain(struct tw *w, int ms)
{
	int n = 0;

	while (tw_read_seg(w, ms))
		n++;
	return n;
}

/* Assertions that print the segments so far when they fail. */
#define tw_eq(w, expected, seen) do {					\
	long long __e = (long long)(expected), __s = (long long)(seen);	\
	if (__e != __s)							\
		tw_fail(w, "%s is %lld, expected %s (%lld)", #seen, __s,	\
			#expected, __e);				\
	(w)->t_mark = tw_now(w);					\
} while (0)

#define tw_true(w, cond) do {						\
	tw_check(w, cond, "not true: %s", #cond);			\
	(w)->t_mark = tw_now(w);					\
} while (0)

/* ------------------------------------------------------------------ */
/* The socket under test                                               */

static TW_UNUSED struct sockaddr_in tw_sin(const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static TW_UNUSED int tw_socket(struct tw *w)
{
	int fd = socket(w->fam, SOCK_STREAM, 0);

	if (fd < 0)
		tw_fail(w, "socket(%d, SOCK_STREAM): %s", w->fam, strerror(errno));
	return fd;
}

static TW_UNUSED int tw_poll(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do {
		r = poll(&p, 1, ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? p.revents : r;
}

static TW_UNUSED void tw_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The state of the current connection as /proc/net/{toytcp,tcp} has it. */
static TW_UNUSED int tw_state_of(struct tw *w, struct tw_conn *c, int *uid)
{
	const char *path = tw_is_linux(w) ? "/proc/net/tcp" : "/proc/net/toytcp";
	char line[512];
	FILE *f = fopen(path, "r");
	int st = TW_GONE;

	if (!f)
		tw_fail(w, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, ra, rp, s, u;

		if (sscanf(line, " %*d: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %u",
			   &la, &lp, &ra, &rp, &s, &u) != 6)
			continue;
		if (lp == c->lport && rp == c->rport && ra == tw_addr(TW_RADDR)) {
			st = s;
			if (uid)
				*uid = u;
			break;
		}
	}
	fclose(f);
	return st;
}

static TW_UNUSED int tw_state(struct tw *w)
{
	return tw_state_of(w, w->c, NULL);
}

static TW_UNUSED const char *tw_state_name(int st)
{
	static const char *const n[] = {
		"GONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING",
	};

	return st >= 0 && st <= TW_CLOSING ? n[st] : "?";
}

static TW_UNUSED void tw_assert_state(struct tw *w, int want)
{
	int st = tw_state(w);

	if (st != want)
		tw_fail(w, "the connection is in %s, expected %s",
			tw_state_name(st), tw_state_name(want));
}

/* The app writes @n bytes of the pattern; returns what send() took. */
static TW_UNUSED long tw_write_flags(struct tw *w, size_t n, int flags)
{
	static uint8_t buf[1 << 22];
	struct tw_conn *c = w->c;
	long r;

	tw_check(w, n <= sizeof(buf), "harness: write of %zu bytes", n);
	tw_fill(buf, c->wr, n);
	r = send(c->fd, buf, n, flags | MSG_NOSIGNAL);
	if (r > 0)
		c->wr += r;
	w->t_mark = tw_now(w);
	return r;
}

static TW_UNUSED void tw_write(struct tw *w, size_t n)
{
	long r = tw_write_flags(w, n, 0);

	if (r != (long)n)
		tw_fail(w, "send(%zu) returned %ld (%s)", n, r,
			r < 0 ? strerror(errno) : "short");
}

/* The app reads exactly @n bytes (waiting up to a second), the pattern. */
static TW_UNUSED void tw_read(struct tw *w, size_t n)
{
	static uint8_t buf[1 << 20];
	struct tw_conn *c = w->c;
	size_t got = 0, i;

	tw_check(w, n <= sizeof(buf), "harness: read of %zu bytes", n);
	while (got < n) {
		long r = recv(c->fd, buf + got, n - got, MSG_DONTWAIT);

		if (r < 0 && errno == EAGAIN) {
			if (tw_poll(c->fd, POLLIN, 1000 * w->scale) <= 0)
				tw_fail(w, "read %zu of %zu bytes, then nothing", got, n);
			continue;
		}
		if (r <= 0)
			tw_fail(w, "recv after %zu of %zu bytes: %ld (%s)", got, n,
				r, r < 0 ? strerror(errno) : "EOF");
		got += r;
	}
	for (i = 0; i < n; i++)
		if (buf[i] != tw_pat(c->rd + i))
			tw_fail(w, "read byte %zu (seq %zu) is 0x%02x, expected 0x%02x",
				i, c->rd + i, buf[i], tw_pat(c->rd + i));
	c->rd += n;
	w->t_mark = tw_now(w);
}

/* recv() on the current socket now: -errno, 0 for EOF, or bytes. */
static TW_UNUSED long tw_recv_now(struct tw *w)
{
	uint8_t buf[4096];
	long r = recv(w->c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	return r < 0 ? -errno : r;
}

static TW_UNUSED int tw_so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

static TW_UNUSED void tw_setsockopt_int(struct tw *w, int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		tw_fail(w, "setsockopt(%d, %d, %d): %s", level, name, v,
			strerror(errno));
	w->t_mark = tw_now(w);
}

/* ------------------------------------------------------------------ */
/* Network namespace and tun                                           */

static TW_UNUSED int tw_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return r;
}

static TW_UNUSED int tw_ifreq(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static TW_UNUSED int tw_link_up(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (tw_ifreq(name, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return tw_ifreq(name, SIOCSIFFLAGS, &ifr);
}

static TW_UNUSED void tw_set_mtu(struct tw *w, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	if (tw_ifreq("tt0", SIOCSIFMTU, &ifr))
		tw_fail(w, "MTU %d on tt0: %s", mtu, strerror(errno));
}

static TW_UNUSED void tw_addr_set(struct tw *w, unsigned long req, const char *ip)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	memset(&ifr, 0, sizeof(ifr));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	if (tw_ifreq("tt0", req, &ifr))
		tw_fail(w, "address %s on tt0: %s", ip, strerror(errno));
}

/* A net.* sysctl of this namespace. */
static TW_UNUSED void tw_sysctl(struct tw *w, const char *name, const char *val)
{
	char path[256], *p;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	if (tw_write_file(path, val))
		tw_fail(w, "sysctl %s=%s: %s", name, val, strerror(errno));
}

/*
 * FIXTURE_SETUP: a fresh namespace with tt0 and lo, for stack @fam.
 * Runs in the test's own process (the harness forks for every test).
 */
static TW_UNUSED void tw_setup(struct tw *w, struct __test_metadata *md, int fam)
{
	const char *e = getenv("TOYTCP_TIME_SCALE");
	struct __test_metadata *_metadata = md;
	struct ifreq ifr;
	int fd;

	memset(w, 0, sizeof(*w));
	w->md = md;
	w->fam = fam;
	w->tun = -1;
	w->lfd = -1;
	w->scale = e && atoi(e) > 1 ? atoi(e) : 1;
	w->t0 = tw_mono_us();
	w->log = calloc(TW_LOG_HEAD + TW_LOG_TAIL, sizeof(*w->log));
	ASSERT_TRUE(!!w->log);
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	tw_write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	tw_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	ASSERT_EQ(0, tw_link_up("lo"));
	/* tun is a module on the distribution kernels. */
	if (access("/dev/net/tun", F_OK)) {
		if (system("modprobe tun >/dev/null 2>&1") == -1)
			TH_LOG("modprobe tun: %s", strerror(errno));
		mkdir("/dev/net", 0755);
		if (access("/dev/net/tun", F_OK))
			mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200));
	}
	w->tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, w->tun) TH_LOG("/dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "tt0");
	ASSERT_EQ(0, ioctl(w->tun, TUNSETIFF, &ifr))
		TH_LOG("TUNSETIFF: %s", strerror(errno));
	tw_nonblock(w->tun);
	tw_addr_set(w, SIOCSIFADDR, TW_LADDR);
	tw_addr_set(w, SIOCSIFNETMASK, "255.255.255.0");
	ASSERT_EQ(0, tw_link_up("tt0"));

	fd = socket(fam, SOCK_STREAM, 0);
	ASSERT_LE(0, fd) TH_LOG("socket(%d): %s (is toytcp loaded?)", fam,
				strerror(errno));
	close(fd);
	w->c = &w->conn[0];
	w->defpeer = (struct tw_peer)TW_PEER_DEFAULT;
}

static TW_UNUSED void tw_teardown(struct tw *w)
{
	int i;

	for (i = 0; i < TW_MAXCONN; i++)
		if (w->conn[i].used && w->conn[i].fd >= 0)
			close(w->conn[i].fd);
	if (w->lfd >= 0)
		close(w->lfd);
	if (w->tun >= 0)
		close(w->tun);
	free(w->log);
	w->log = NULL;
}

/*
 * A fixture whose tests run once against toytcp and once against Linux
 * TCP, each in a fresh namespace with tt0.
 */
#define TW_FIXTURE(f)							\
	FIXTURE(f) {							\
		struct tw w;						\
	};								\
	FIXTURE_VARIANT(f) {						\
		int fam;						\
	};								\
	FIXTURE_VARIANT_ADD(f, toytcp) {				\
		.fam = AF_TOYTCP,					\
	};								\
	FIXTURE_VARIANT_ADD(f, linux) {					\
		.fam = AF_INET,						\
	};								\
	FIXTURE_SETUP(f)						\
	{								\
		tw_setup(&self->w, _metadata, variant->fam);		\
	}								\
	FIXTURE_TEARDOWN(f)						\
	{								\
		tw_teardown(&self->w);					\
	}

/* ------------------------------------------------------------------ */
/* Builders                                                            */

/* The options of a SYN or SYN-ACK from @p, laid out as Linux lays them out. */
static TW_UNUSED const char *tw_syn_opts(const struct tw_peer *p, bool synack,
					 const struct tw_conn *c, char *buf, size_t sz)
{
	bool ts = p->ts && (!synack || c->stack_ts);
	bool sack = p->sack && (!synack || c->stack_sack);
	bool ws = p->wscale >= 0 && (!synack || c->stack_wscale >= 0);
	int n = 0;

	n += snprintf(buf + n, sz - n, "<");
	if (p->mss)
		n += snprintf(buf + n, sz - n, "mss %d,", p->mss);
	if (ts && sack)
		n += snprintf(buf + n, sz - n, "sackOK,TS val %u ecr %s,", 0u,
			      synack ? "*" : "0");
	else if (ts)
		n += snprintf(buf + n, sz - n, "nop,nop,TS val %u ecr %s,", 0u,
			      synack ? "*" : "0");
	else if (sack)
		n += snprintf(buf + n, sz - n, "nop,nop,sackOK,");
	if (ws)
		n += snprintf(buf + n, sz - n, "nop,wscale %d,", p->wscale);
	if (n > 1)
		buf[n - 1] = '>';
	else
		snprintf(buf, sz, "<>");
	return buf;
}

/* Fix the TS val placeholders of tw_syn_opts() to the peer's clock. */
static TW_UNUSED void tw_fix_ts(struct tw *w, char *buf, size_t sz)
{
	char *p = strstr(buf, "TS val 0 ecr ");
	char tail[256], num[16];

	if (!p)
		return;
	snprintf(num, sizeof(num), "%u", tw_peer_tsval(w));
	p += 7;
	snprintf(tail, sizeof(tail), "%s", p + 1);
	snprintf(p, sz - (p - buf), "%s%s", num, tail);
	p = strstr(buf, "ecr *");
	if (p) {
		snprintf(num, sizeof(num), "%u", w->c->stack_tsval);
		snprintf(tail, sizeof(tail), "%s", p + 5);
		snprintf(p + 4, sz - (p + 4 - buf), "%s%s", num, tail);
	}
}

/* Learn what the stack's SYN or SYN-ACK (w->last) offered. */
static TW_UNUSED void tw_learn_syn(struct tw *w, bool synack)
{
	struct tw_conn *c = w->c;
	struct tw_opts o;

	tw_parse_opts(w->last.opt, w->last.optlen, &o);
	c->stack_mss = o.mss;
	c->stack_wscale = o.wscale;
	c->stack_sack = o.sackok;
	c->stack_ts = o.ts;
	if (synack) {
		c->sack = o.sackok && c->peer.sack;
		c->ts = o.ts && c->peer.ts;
		c->wscale = o.wscale >= 0 && c->peer.wscale >= 0;
	}
}

static TW_UNUSED const struct tw_peer *tw_peer_or_default(struct tw *w,
							  const struct tw_peer *p)
{
	return p ? p : &w->defpeer;
}

/* A listener on 192.0.2.1:8080 (w->lfd), backlog 16. */
static TW_UNUSED void tw_listen_backlog(struct tw *w, int backlog)
{
	struct sockaddr_in a = tw_sin(TW_LADDR, TW_LPORT);
	int one = 1;

	w->lfd = tw_socket(w);
	setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	tw_sys(w, bind(w->lfd, (struct sockaddr *)&a, sizeof(a)));
	tw_sys(w, listen(w->lfd, backlog));
}

static TW_UNUSED void tw_listen(struct tw *w)
{
	tw_listen_backlog(w, 16);
}

/*
 * SYN-RECEIVED: the peer's SYN (from port @rport; 0 for TW_RPORT) to the
 * listener, which answers with its SYN-ACK.  A new connection becomes the
 * current one.
 */
static TW_UNUSED void tw_syn_received_from(struct tw *w, const struct tw_peer *p,
					   uint16_t rport)
{
	struct tw_conn *c;
	char opts[200];

	p = tw_peer_or_default(w, p);
	if (w->lfd < 0)
		tw_listen(w);
	c = tw_conn_new(w, rport ? rport : TW_RPORT);
	c->peer = *p;
	c->lport = TW_LPORT;
	c->win = p->win;
	tw_syn_opts(p, false, c, opts, sizeof(opts));
	tw_fix_ts(w, opts, sizeof(opts));
	tw_in(w, "S 0:0(0) win %u %s", p->win, opts);
	tw_out(w, "S. 0:0(0) ack 1 <*>");
	tw_learn_syn(w, true);
	c->rcv = 1;
	c->model = TW_SYN_RECV;
}

static TW_UNUSED void tw_syn_received(struct tw *w, const struct tw_peer *p)
{
	tw_syn_received_from(w, p, 0);
}

/* ESTABLISHED, passive: SYN-RECEIVED, the peer's ACK (late by the RTT),
 * and accept().
 */
static TW_UNUSED void tw_established_from(struct tw *w, const struct tw_peer *p,
					  uint16_t rport)
{
	struct tw_conn *c;
	int fd;

	p = tw_peer_or_default(w, p);
	tw_syn_received_from(w, p, rport);
	c = w->c;
	tw_msleep(p->rtt_ms);
	tw_in(w, ". 1:1(0) ack 1");
	if (tw_poll(w->lfd, POLLIN, 1000 * w->scale) <= 0)
		tw_fail(w, "accept(): no connection");
	fd = accept(w->lfd, NULL, NULL);
	if (fd < 0)
		tw_fail(w, "accept: %s", strerror(errno));
	tw_mark(w);
	c->fd = fd;
	c->model = TW_ESTABLISHED;
	tw_assert_state(w, TW_ESTABLISHED);
}

static TW_UNUSED void tw_established(struct tw *w, const struct tw_peer *p)
{
	tw_established_from(w, p, 0);
}

/* SYN-SENT: a non-blocking connect() to 192.0.2.2:9000; its SYN. */
static TW_UNUSED void tw_syn_sent(struct tw *w)
{
	struct sockaddr_in a = tw_sin(TW_RADDR, TW_SPORT);
	struct tw_conn *c = tw_conn_new(w, TW_SPORT);

	c->fd = tw_socket(w);
	tw_nonblock(c->fd);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0 ||
	    errno != EINPROGRESS)
		tw_fail(w, "connect: %s, expected EINPROGRESS", strerror(errno));
	tw_mark(w);
	tw_out(w, "S 0:0(0) <*>");
	tw_learn_syn(w, false);
	c->rcv = 1;
	c->model = TW_SYN_SENT;
}

/* ESTABLISHED, active: SYN-SENT, the peer's SYN-ACK, the stack's ACK. */
static TW_UNUSED void tw_established_active(struct tw *w, const struct tw_peer *p)
{
	struct tw_conn *c;
	char opts[200];

	p = tw_peer_or_default(w, p);
	tw_syn_sent(w);
	c = w->c;
	c->peer = *p;
	c->win = p->win;
	c->sack = c->stack_sack && p->sack;
	c->ts = c->stack_ts && p->ts;
	c->wscale = c->stack_wscale >= 0 && p->wscale >= 0;
	tw_syn_opts(p, true, c, opts, sizeof(opts));
	tw_fix_ts(w, opts, sizeof(opts));
	tw_msleep(p->rtt_ms);
	tw_in(w, "S. 0:0(0) ack 1 win %u %s", p->win, opts);
	tw_out(w, ". 1:1(0) ack 1");
	if (!(tw_poll(c->fd, POLLOUT, 1000 * w->scale) & POLLOUT))
		tw_fail(w, "connect() did not complete");
	tw_check(w, tw_so_error(c->fd) == 0, "SO_ERROR %d after connect",
		 tw_so_error(c->fd));
	c->model = TW_ESTABLISHED;
	tw_assert_state(w, TW_ESTABLISHED);
}

static TW_UNUSED void tw_need_established(struct tw *w)
{
	if (!w->c->used || w->c->model < TW_ESTABLISHED)
		tw_established(w, NULL);
}

/*
 * The peer sends @n bytes (in one segment), the stack ACKs it at once
 * (early in a connection Linux and toytcp ACK every segment), the app
 * reads them: an exchange that leaves RCV.NXT at 1 + @n, for old
 * duplicates to fall below it.
 */
static TW_UNUSED void tw_exchange(struct tw *w, int n)
{
	struct tw_conn *c = w->c;

	tw_in(w, "P. %u:%u(%d) ack %u", c->snd, c->snd + n, n, c->rcv);
	tw_out_wait(w, 250, ". %u:%u(0) ack %u win *", c->rcv, c->rcv, c->snd);
	tw_read(w, n);
}

/* FIN-WAIT-1: shutdown(SHUT_WR) in ESTABLISHED; the stack's FIN. */
static TW_UNUSED void tw_fin_wait1(struct tw *w)
{
	struct tw_conn *c;

	tw_need_established(w);
	c = w->c;
	tw_sys(w, shutdown(c->fd, SHUT_WR));
	tw_out(w, "F. %u:%u(0) ack %u", c->rcv, c->rcv, c->snd);
	c->model = TW_FIN_WAIT1;
	tw_assert_state(w, TW_FIN_WAIT1);
}

/* FIN-WAIT-2: FIN-WAIT-1 and the peer's ACK of the FIN. */
static TW_UNUSED void tw_fin_wait2(struct tw *w)
{
	struct tw_conn *c = w->c;

	if (!c->used || c->model != TW_FIN_WAIT1)
		tw_fin_wait1(w);
	c = w->c;
	tw_in(w, ". %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
	c->model = TW_FIN_WAIT2;
	tw_none(w, 20);
	tw_assert_state(w, TW_FIN_WAIT2);
}

/* CLOSE-WAIT: the peer's FIN in ESTABLISHED, and its ACK. */
static TW_UNUSED void tw_close_wait(struct tw *w)
{
	struct tw_conn *c;

	tw_need_established(w);
	c = w->c;
	tw_in(w, "F. %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
	/* Linux delays this ACK once data came before (a FIN puts it in
	 * "pingpong" mode): within the delayed-ACK time.
	 */
	tw_out_wait(w, 250, ". %u:%u(0) ack %u", c->rcv, c->rcv, c->snd);
	c->model = TW_CLOSE_WAIT;
	tw_assert_state(w, TW_CLOSE_WAIT);
}

/* CLOSING: FIN-WAIT-1 and the peer's FIN, which does not ACK ours. */
static TW_UNUSED void tw_closing(struct tw *w)
{
	struct tw_conn *c = w->c;
	uint32_t una;

	if (!c->used || c->model != TW_FIN_WAIT1)
		tw_fin_wait1(w);
	c = w->c;
	una = c->rcv - 1;	/* the FIN is not acknowledged */
	tw_in(w, "F. %u:%u(0) ack %u", c->snd, c->snd, una);
	tw_out(w, ". %u:%u(0) ack %u", c->rcv, c->rcv, c->snd);
	c->model = TW_CLOSING;
	tw_assert_state(w, TW_CLOSING);
}

/* LAST-ACK: CLOSE-WAIT and shutdown(SHUT_WR); the stack's FIN. */
static TW_UNUSED void tw_last_ack(struct tw *w)
{
	struct tw_conn *c = w->c;

	if (!c->used || c->model != TW_CLOSE_WAIT)
		tw_close_wait(w);
	c = w->c;
	tw_sys(w, shutdown(c->fd, SHUT_WR));
	tw_out(w, "F. %u:%u(0) ack %u", c->rcv, c->rcv, c->snd);
	c->model = TW_LAST_ACK;
	tw_assert_state(w, TW_LAST_ACK);
}

/* TIME-WAIT: FIN-WAIT-2 and the peer's FIN; the stack's ACK. */
static TW_UNUSED void tw_time_wait(struct tw *w)
{
	struct tw_conn *c = w->c;

	if (!c->used || c->model != TW_FIN_WAIT2)
		tw_fin_wait2(w);
	c = w->c;
	tw_in(w, "F. %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
	tw_out(w, ". %u:%u(0) ack %u", c->rcv, c->rcv, c->snd);
	c->model = TW_TIME_WAIT;
	tw_assert_state(w, TW_TIME_WAIT);
}

/* ------------------------------------------------------------------ */
/* Checks that read as one line                                        */

/*
 * The connection is gone: /proc no longer lists it, and an ACK to its
 * 4-tuple gets a RST whose sequence number is the ACK's (RFC 9293 3.10.7.1).
 */
static TW_UNUSED void tw_gone(struct tw *w)
{
	struct tw_conn *c = w->c;
	int st = tw_state(w);

	if (st != TW_GONE && st != TW_CLOSE)
		tw_fail(w, "the connection is still in %s", tw_state_name(st));
	tw_in(w, ". %u:%u(0) ack %u <>", c->snd, c->snd, c->rcv);
	tw_out(w, "R %u:%u(0) <>", c->rcv, c->rcv);
}

/*
 * Sink: the peer receives @n bytes from the stack in order (pattern
 * checked), acknowledging every second segment and whenever the stack
 * pauses, with window @win.  Segments larger than @max_len fail the test.
 */
static TW_UNUSED void tw_sink(struct tw *w, size_t n, int max_len, int timeout_ms)
{
	struct tw_conn *c = w->c;
	uint32_t end = c->rcv + n;
	long long deadline = tw_now(w) + timeout_ms * 1000LL * w->scale;
	long long progress = tw_now(w);
	int unacked = 0;

	while (tw_before(c->rcv, end)) {
		struct tw_seg *s;
		uint32_t rel;
		int i;

		if (tw_now(w) > deadline)
			tw_fail(w, "sink: %u of %zu bytes in %d ms",
				(unsigned int)(c->rcv - (end - n)), n, timeout_ms);
		/* Several RTOs without progress: stalled. */
		if (tw_now(w) - progress > 3000000LL * w->scale)
			tw_fail(w, "sink: stalled at %u of %zu bytes (nothing new for 3 s)",
				(unsigned int)(c->rcv - (end - n)), n);
		if (!tw_read_seg(w, 5)) {
			if (unacked) {
				tw_in(w, ". %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
				unacked = 0;
			}
			continue;
		}
		s = &w->last;
		if (s->conn != c - w->conn)
			tw_fail(w, "sink: a segment of another connection");
		if (max_len && s->len > max_len)
			tw_fail(w, "sink: a segment of %d bytes, more than %d",
				s->len, max_len);
		rel = s->seq - c->iss;
		if (s->len && tw_after(rel, c->rcv)) {
			/* A hole: a duplicate ACK at once (RFC 5681 4.2). */
			tw_in(w, ". %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
			unacked = 0;
			continue;
		}
		if (!s->len || rel != c->rcv)
			continue;	/* duplicate, or an ACK */
		for (i = 0; i < s->len; i++)
			if (w->data[i] != tw_pat(rel + i))
				tw_fail(w, "sink: byte at seq %u is 0x%02x, expected 0x%02x",
					rel + i, w->data[i], tw_pat(rel + i));
		c->rcv += s->len;
		progress = tw_now(w);
		if (++unacked >= 2) {
			tw_in(w, ". %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
			unacked = 0;
		}
	}
	if (unacked)
		tw_in(w, ". %u:%u(0) ack %u", c->snd, c->snd, c->rcv);
}

#endif /* TT_WIRE_H */
