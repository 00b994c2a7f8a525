// SPDX-License-Identifier: GPL-2.0
/*
 * segfuzz: throw random and mutated TCP segments at toytcp sockets through
 * a raw socket, while a real transfer runs beside them and must deliver
 * every byte right.
 *
 *   segfuzz [-s SEED] [-n ITERATIONS] [-d SECONDS] [-b BYTES] [-r RATE] [-v]
 *
 * Everything happens in a private network namespace, over lo:
 *
 *   transfer  127.0.0.1:7301: a toytcp connection moving BYTES (8 MiB) of
 *             a seeded pattern, checked byte by byte, again and again
 *             while the fuzzing lasts, paced to RATE (4M) bytes/s.  It is protected: its 4-tuple only
 *             gets blind segments (sequence numbers half the sequence space
 *             away from RCV.NXT) or segments with a wrong checksum, none of
 *             which may hurt it (RFC 5961, RFC 9293 3.10.7.4).
 *   pair      127.0.0.1:7302: a toytcp connection whose two ends trade a
 *             few bytes now and then and get everything: sequence and
 *             acknowledgment numbers at the edges of the windows read from
 *             TOYTCP_INFO (RCV.NXT +-1, RCV.NXT + RCV.WND +-1, SND.UNA +-1,
 *             SND.NXT +-1), wrapped, random.  When it dies it is reopened.
 *   listener  127.0.0.1:7303: SYNs with every kind of option from
 *             "ghost" peers in 10.1.1.0/24 (routed to lo, so the SYN-ACKs
 *             vanish instead of drawing resets); a packet socket reads the
 *             SYN-ACKs, so the ghosts know the children's sequence numbers
 *             and fuzz them too: SYN-RECV, ESTABLISHED after our ACK, the
 *             accept queue, FINs, resets.
 *
 * Segments: every flag combination, data offsets 0..15, truncated headers,
 * options of every kind with good, zero and overlong lengths (MSS, WS,
 * SACK-permitted, SACK, timestamps, unknown ones), payloads, wrong
 * checksums, and some sent as two IP fragments.
 *
 * Output is TAP: one line for the fuzzing (iterations, rate, and that
 * the segments reached toytcp: the bad checksums were counted, the ghosts
 * got SYN-ACKs, the pair was connected), one for the transfers.  Exit
 * status 0 when both passed.  SEGFUZZ_SKIP=... is a
 * comma-separated list of input classes to leave out (see skip_names[]),
 * for when one is known to crash the kernel.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fuzz.h"

#define PORT_XFER	7301
#define PORT_PAIR	7302
#define PORT_LISTEN	7303
#define GHOST_NET	0x0a010100	/* 10.1.1.0/24 */
#define NGHOSTS		64
#define LO		htonl(INADDR_LOOPBACK)

/* Input classes that SEGFUZZ_SKIP can leave out. */
enum { SK_FRAG, SK_BADCSUM, SK_TRUNC, SK_OPTS, SK_GHOST, SK_PAIR, SK_XFER, SK_N };
static const char *const skip_names[SK_N] = {
	"frag", "badcsum", "trunc", "opts", "ghost", "pair", "xfer",
};
static bool skip[SK_N];

static struct fz_rng rng;
static bool verbose;
static const char *volatile phase = "setup";
static volatile long progress;
static int raw_fd, sniff_fd;
static long segs_sent;		/* segments the raw socket took */

/* ------------------------------------------------------------------ */
/* Building and sending segments                                        */

struct seg {
	uint32_t saddr, daddr;		/* network order */
	uint16_t sport, dport;		/* network order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t opt[60];
	int optlen;
	int doff;			/* -1: from optlen */
	int paylen;
	bool badcsum, frag;
	int trunc;			/* >0: send only this many TCP bytes */
};

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static uint32_t csum_add(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	return s;
}

/* Send one IP packet (header included) to its destination. */
static void raw_send(const uint8_t *pkt, size_t len, uint32_t daddr)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = daddr };

	if (sendto(raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		if (verbose)
			printf("# sendto: %s (len %zu)\n", strerror(errno), len);
	} else {
		segs_sent++;
	}
}

static void ip_header(uint8_t *p, const struct seg *s, size_t tcplen,
		      uint16_t id, uint16_t frag)
{
	struct iphdr *ip = (struct iphdr *)p;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(sizeof(*ip) + tcplen);
	ip->id = htons(id);
	ip->frag_off = htons(frag);
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	/* The kernel fills in the checksum of an IP_HDRINCL header. */
}

static void send_seg(const struct seg *s)
{
	static uint8_t pkt[20 + 65000];
	uint8_t *tcp = pkt + 20;
	struct tcphdr *th = (struct tcphdr *)tcp;
	int hlen = 20 + ((s->optlen + 3) & ~3);
	size_t tcplen = hlen + s->paylen;
	uint32_t sum;
	uint8_t pseudo[12];
	uint16_t id = fz_next(&rng) | 1;

	memset(tcp, 0, hlen);
	th->source = s->sport;
	th->dest = s->dport;
	th->seq = htonl(s->seq);
	th->ack_seq = htonl(s->ack);
	th->doff = s->doff >= 0 ? s->doff : hlen / 4;
	tcp[13] = s->flags;
	th->window = htons(s->win);
	th->urg_ptr = (s->flags & 0x20) ? htons(fz_below(&rng, 100)) : 0;
	memcpy(tcp + 20, s->opt, s->optlen);
	for (int i = 0; i < s->paylen; i += 8) {
		uint64_t x = fz_next(&rng);

		memcpy(tcp + hlen + i, &x, 8);	/* pkt has room to spare */
	}

	memcpy(pseudo, &s->saddr, 4);
	memcpy(pseudo + 4, &s->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = tcplen >> 8;
	pseudo[11] = tcplen;
	sum = csum_add(csum_add(0, pseudo, 12), tcp, tcplen);
	th->check = htons(csum_fold(sum));
	if (s->badcsum)
		th->check ^= htons(1 + fz_below(&rng, 0xfffe));
	if (s->trunc > 0 && (size_t)s->trunc < tcplen)
		tcplen = s->trunc;

	if (s->frag && tcplen > 16) {
		/* Two fragments, the first a multiple of 8 bytes. */
		static uint8_t f2[20 + 65000];
		size_t first = (fz_below(&rng, tcplen - 8) + 8) & ~7u;

		if (first >= tcplen)
			first = 8;
		ip_header(f2, s, tcplen - first, id, first / 8);
		memcpy(f2 + 20, tcp + first, tcplen - first);
		ip_header(pkt, s, first, id, 0x2000);
		if (fz_pct(&rng, 50)) {
			raw_send(pkt, 20 + first, s->daddr);
			raw_send(f2, 20 + tcplen - first, s->daddr);
		} else {
			raw_send(f2, 20 + tcplen - first, s->daddr);
			raw_send(pkt, 20 + first, s->daddr);
		}
		return;
	}
	ip_header(pkt, s, tcplen, id, 0);
	raw_send(pkt, 20 + tcplen, s->daddr);
}

/* ------------------------------------------------------------------ */
/* Mutations                                                            */

/* A length for an option: usually right, else zero, one, off by one or
 * running past the header.
 */
static uint8_t opt_len(uint8_t good)
{
	static const int8_t d[] = { -1, 1, -2, 2 };

	switch (fz_below(&rng, 10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return good + FZ_PICK(&rng, d);
	case 3:
		return 40 + fz_below(&rng, 216);
	default:
		return good;
	}
}

/* Up to 40 bytes of options around seq/ack numbers a SACK might name. */
static int gen_options(uint8_t *o, uint32_t base, uint32_t span)
{
	int n = 0, k = fz_below(&rng, 6);

	while (k-- > 0 && n < 40) {
		uint8_t len;
		int room = 40 - n;

		switch (fz_below(&rng, 9)) {
		case 0:
			o[n++] = TCPOPT_NOP;
			continue;
		case 1:
			o[n++] = TCPOPT_EOL;
			continue;
		case 2:
			len = opt_len(TCPOLEN_MAXSEG);
			o[n] = TCPOPT_MAXSEG;
			if (room >= 4) {
				uint16_t m = FZ_PICK(&rng, ((uint16_t[]){ 0, 1, 63, 64, 536,
					1460, 65495, 65535 }));
				o[n + 2] = m >> 8;
				o[n + 3] = m;
			}
			break;
		case 3:
			len = opt_len(TCPOLEN_WINDOW);
			o[n] = TCPOPT_WINDOW;
			if (room >= 3)
				o[n + 2] = FZ_PICK(&rng, ((uint8_t[]){ 0, 1, 7, 14, 15, 255 }));
			break;
		case 4:
			len = opt_len(TCPOLEN_SACK_PERMITTED);
			o[n] = TCPOPT_SACK_PERMITTED;
			break;
		case 5: {
			int nb = fz_below(&rng, 5), i;

			len = opt_len(2 + 8 * nb);
			o[n] = TCPOPT_SACK;
			for (i = 0; i < nb && n + 2 + 8 * i + 8 <= 40; i++) {
				uint32_t a = base + fz_below(&rng, span + 2) - 1;
				uint32_t b = a + fz_below(&rng, span + 2);

				if (fz_pct(&rng, 10))
					b = fz_next(&rng);
				a = htonl(a);
				b = htonl(b);
				memcpy(o + n + 2 + 8 * i, &a, 4);
				memcpy(o + n + 6 + 8 * i, &b, 4);
			}
			break;
		}
		case 6:
			len = opt_len(TCPOLEN_TIMESTAMP);
			o[n] = TCPOPT_TIMESTAMP;
			break;
		default:
			len = opt_len(2 + fz_below(&rng, 8));
			o[n] = fz_next(&rng);
			break;
		}
		if (room < 2) {
			o[n++] = TCPOPT_NOP;
			continue;
		}
		o[n + 1] = len;
		/* Leave the bytes inside; a bad length may point anywhere. */
		n += (len >= 2 && len <= room) ? len : 2;
	}
	return n;
}

/* A flag byte: mostly the combinations that matter, sometimes any. */
static uint8_t gen_flags(void)
{
	static const uint8_t common[] = {
		TH_SYN, TH_SYN | TH_ACK, TH_ACK, TH_ACK | TH_PUSH, TH_FIN | TH_ACK,
		TH_RST, TH_RST | TH_ACK, TH_FIN, TH_SYN | TH_FIN, TH_SYN | TH_RST,
		0, TH_URG | TH_ACK, 0xff, 0xc0 | TH_SYN,
	};

	return fz_pct(&rng, 60) ? FZ_PICK(&rng, common) : (uint8_t)fz_next(&rng);
}

/* A number near one of the interesting ones. */
static uint32_t near(const uint32_t *v, int n)
{
	uint32_t x = v[fz_below(&rng, n)];

	switch (fz_below(&rng, 8)) {
	case 0:
		return x - 1;
	case 1:
		return x + 1;
	case 2:
		return x + 0x80000000u;
	case 3:
		return fz_next(&rng);
	case 4:
		return x + fz_below(&rng, 70000) - 35000;
	default:
		return x;
	}
}

/* Fill in the body of a segment (flags, options, payload, corruption). */
static void mutate(struct seg *s, uint32_t sack_base, uint32_t sack_span)
{
	s->flags = gen_flags();
	s->win = fz_pct(&rng, 20) ? FZ_PICK(&rng, ((uint16_t[]){ 0, 1, 65535 })) :
				    (uint16_t)fz_next(&rng);
	s->optlen = skip[SK_OPTS] || fz_pct(&rng, 40) ? 0 :
		    gen_options(s->opt, sack_base, sack_span);
	s->doff = fz_pct(&rng, 5) ? (int)fz_below(&rng, 16) : -1;
	s->paylen = fz_pct(&rng, 50) ? 0 :
		    fz_pct(&rng, 90) ? (int)fz_below(&rng, 1500) :
				       (int)fz_below(&rng, 64000);
	s->badcsum = !skip[SK_BADCSUM] && fz_pct(&rng, 5);
	s->trunc = !skip[SK_TRUNC] && fz_pct(&rng, 4) ? (int)fz_below(&rng, 60) : 0;
	s->frag = !skip[SK_FRAG] && fz_pct(&rng, 3);
}

/* ------------------------------------------------------------------ */
/* The protected transfer                                               */

struct xfer {
	pthread_mutex_t lock;
	int c, s;			/* the connection's fds, -1 between runs */
	uint16_t cport;			/* the client's port, network order */
	atomic_bool stop;
	long runs, bytes, bad;		/* transfers done, bytes verified */
	char err[256];
};

static struct xfer xf = { .lock = PTHREAD_MUTEX_INITIALIZER, .c = -1, .s = -1 };
static size_t xfer_bytes = 8 << 20;
static size_t xfer_rate = 4 << 20;	/* bytes/s, 0: as fast as it goes */

/* The transfer's bytes: a hash of (run, offset / 8), 8 bytes at a time. */
static void pattern(uint64_t run, uint64_t off, uint8_t *buf, size_t n)
{
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t o = off + i;

		if (!i || !(o & 7)) {
			w = (o >> 3) * 0x9e3779b97f4a7c15ULL ^ (run << 40);
			w ^= w >> 29;
		}
		buf[i] = w >> (8 * (o & 7));
	}
}

static int tt_socket(void)
{
	return socket(AF_TOYTCP, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static struct sockaddr_in sin_lo(int port)
{
	struct sockaddr_in a = { .sin_family = AF_TOYTCP, .sin_port = htons(port),
				 .sin_addr.s_addr = LO };
	return a;
}

static int listen_on(int port, int backlog)
{
	struct sockaddr_in a = sin_lo(port);
	int fd = tt_socket();

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, backlog)) {
		fprintf(stderr, "# listen on %d: %s\n", port, strerror(errno));
		exit(2);
	}
	return fd;
}

/* Connect a pair through listener lfd; timeouts on both ends. */
static int connect_pair(int lfd, int port, int *c, int *s, int timeout_s)
{
	struct sockaddr_in a = sin_lo(port);
	struct timeval tv = { timeout_s, 0 };

	*c = tt_socket();
	*s = -1;
	if (*c < 0)
		return -1;
	setsockopt(*c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(*c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(*c, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*s < 0)
		goto fail;
	setsockopt(*s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(*s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
fail:
	close(*c);
	*c = -1;
	return -1;
}

struct xfer_rx {
	int fd;
	uint64_t run;
	size_t got;
	char err[200];
};

static void *xfer_recv(void *arg)
{
	struct xfer_rx *rx = arg;
	static uint8_t buf[1 << 16], want[1 << 16];

	while (rx->got < xfer_bytes) {
		ssize_t n = recv(rx->fd, buf, sizeof(buf), 0);

		if (n <= 0) {
			snprintf(rx->err, sizeof(rx->err), "recv after %zu bytes: %s",
				 rx->got, n ? strerror(errno) : "EOF");
			return NULL;
		}
		pattern(rx->run, rx->got, want, n);
		if (memcmp(buf, want, n)) {
			ssize_t i = 0;

			while (buf[i] == want[i])
				i++;
			snprintf(rx->err, sizeof(rx->err), "byte %zu is %#x, not %#x",
				 rx->got + i, buf[i], want[i]);
			return NULL;
		}
		rx->got += n;
	}
	return NULL;
}

/* One transfer after another until told to stop; the first failure ends it. */
static void *xfer_thread(void *arg)
{
	static uint8_t buf[1 << 16];
	int lfd = *(int *)arg;

	while (!atomic_load(&xf.stop)) {
		struct xfer_rx rx = { .run = xf.runs };
		struct sockaddr_in me;
		socklen_t len = sizeof(me);
		pthread_t t;
		size_t sent = 0;
		int c, s;

		if (connect_pair(lfd, PORT_XFER, &c, &s, 30)) {
			snprintf(xf.err, sizeof(xf.err), "connect: %s", strerror(errno));
			break;
		}
		getsockname(c, (struct sockaddr *)&me, &len);
		pthread_mutex_lock(&xf.lock);
		xf.c = c;
		xf.s = s;
		xf.cport = me.sin_port;
		pthread_mutex_unlock(&xf.lock);

		rx.fd = s;
		pthread_create(&t, NULL, xfer_recv, &rx);
		while (sent < xfer_bytes) {
			size_t n = xfer_bytes - sent < sizeof(buf) ? xfer_bytes - sent :
								     sizeof(buf);
			ssize_t w;

			pattern(rx.run, sent, buf, n);
			w = send(c, buf, n, MSG_NOSIGNAL);
			if (w <= 0) {
				snprintf(xf.err, sizeof(xf.err), "send after %zu bytes: %s",
					 sent, strerror(errno));
				break;
			}
			sent += w;
			/* Paced (-r), to leave the CPUs to the fuzzing. */
			if (xfer_rate)
				usleep(w * 1000000ULL / xfer_rate);
		}
		pthread_join(t, NULL);
		pthread_mutex_lock(&xf.lock);
		xf.c = xf.s = -1;
		pthread_mutex_unlock(&xf.lock);
		close(c);
		close(s);
		if (rx.err[0] && !xf.err[0])
			snprintf(xf.err, sizeof(xf.err), "run %ld: %s", xf.runs, rx.err);
		if (xf.err[0])
			break;
		xf.runs++;
		xf.bytes += rx.got;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Targets                                                              */

static bool get_info(int fd, struct toytcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	return fd >= 0 && !getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, ti, &len);
}

/* Sequence and acknowledgment numbers around a real socket's windows. */
static void edges(struct seg *s, const struct toytcp_info *ti)
{
	uint32_t sv[] = { ti->rcv_nxt, ti->rcv_nxt + ti->rcv_wnd,
			  ti->rcv_nxt + ti->rcv_wnd / 2, ti->irs, ti->copied_seq };
	uint32_t av[] = { ti->snd_una, ti->snd_nxt, ti->iss, ti->write_seq,
			  ti->snd_una + ti->snd_wnd };

	s->seq = near(sv, FZ_ARRAY_SIZE(sv));
	s->ack = near(av, FZ_ARRAY_SIZE(av));
	mutate(s, ti->snd_una, ti->snd_nxt - ti->snd_una + 1);
}

/* The fuzzed pair; reopened when the fuzzing killed it. */
static int pair_l = -1, pair_c = -1, pair_s = -1;
static long pair_opens;

static void pair_check(void)
{
	struct toytcp_info a, b;
	char buf[4096];

	if (pair_c >= 0 && get_info(pair_c, &a) && get_info(pair_s, &b) &&
	    a.state == 1 && b.state == 1) {
		/* Some traffic both ways, so data is in flight. */
		if (fz_pct(&rng, 30)) {
			send(pair_c, buf, fz_below(&rng, sizeof(buf)), MSG_DONTWAIT | MSG_NOSIGNAL);
			send(pair_s, buf, fz_below(&rng, sizeof(buf)), MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		while (recv(pair_c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		while (recv(pair_s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		return;
	}
	if (pair_c >= 0) {
		close(pair_c);
		close(pair_s);
	}
	pair_c = pair_s = -1;
	if (connect_pair(pair_l, PORT_PAIR, &pair_c, &pair_s, 1)) {
		if (verbose)
			printf("# pair: connect: %s\n", strerror(errno));
	} else {
		struct timeval tv = { 0, 200000 };

		setsockopt(pair_c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(pair_s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pair_opens++;
	}
}

static void fuzz_pair(void)
{
	bool to_client = fz_pct(&rng, 50);
	int fd = to_client ? pair_c : pair_s;
	struct sockaddr_in me, peer;
	socklen_t len = sizeof(me);
	struct toytcp_info ti;
	struct seg s = { 0 };

	if (!get_info(fd, &ti) || getsockname(fd, (struct sockaddr *)&me, &len))
		return;
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len))
		return;
	s.saddr = peer.sin_addr.s_addr;
	s.daddr = me.sin_addr.s_addr;
	s.sport = peer.sin_port;
	s.dport = me.sin_port;
	edges(&s, &ti);
	send_seg(&s);
}

/* The transfer: blind out-of-window segments, or anything with a bad
 * checksum.
 */
static void fuzz_xfer(void)
{
	struct toytcp_info ti;
	struct seg s = { 0 };
	bool to_client = fz_pct(&rng, 50);
	uint16_t cport;
	int fd;

	pthread_mutex_lock(&xf.lock);
	fd = to_client ? xf.c : xf.s;
	cport = xf.cport;
	if (fd < 0 || !get_info(fd, &ti)) {
		pthread_mutex_unlock(&xf.lock);
		return;
	}
	pthread_mutex_unlock(&xf.lock);
	s.saddr = s.daddr = LO;
	s.sport = to_client ? htons(PORT_XFER) : cport;
	s.dport = to_client ? cport : htons(PORT_XFER);
	edges(&s, &ti);
	s.frag = false;
	s.trunc = 0;
	if (!skip[SK_BADCSUM] && fz_pct(&rng, 30)) {
		s.badcsum = true;	/* exact RSTs, in-window data: all dropped */
	} else {
		s.badcsum = false;
		/* Half the sequence space away: outside any window. */
		s.seq = ti.rcv_nxt + 0x80000000u + fz_below(&rng, 1u << 29) - (1u << 28);
		if (s.paylen > 1400)
			s.paylen = 1400;
	}
	send_seg(&s);
}

/* Ghost peers: SYNs to the listener from 10.1.1.0/24. */
struct ghost {
	uint32_t addr;			/* network order */
	uint16_t port;			/* network order */
	uint32_t my_isn, my_nxt;	/* our sequence numbers */
	uint32_t their_isn, their_nxt;	/* the child's, once seen */
	bool seen, used;
};

static struct ghost ghosts[NGHOSTS];
static long ghost_synacks;

static void ghost_new(void)
{
	struct ghost *g = &ghosts[fz_below(&rng, NGHOSTS)];
	struct seg s = { 0 };

	if (g->used && g->seen) {
		/* Free the child this ghost leaves behind: an exact RST. */
		s.saddr = g->addr;
		s.daddr = LO;
		s.sport = g->port;
		s.dport = htons(PORT_LISTEN);
		s.seq = g->my_nxt;
		s.flags = TH_RST;
		s.doff = -1;
		send_seg(&s);
		memset(&s, 0, sizeof(s));
	}
	memset(g, 0, sizeof(*g));
	g->used = true;
	g->addr = htonl(GHOST_NET | (1 + fz_below(&rng, 254)));
	g->port = htons(1024 + fz_below(&rng, 60000));
	g->my_isn = fz_next(&rng);
	g->my_nxt = g->my_isn + 1;
	s.saddr = g->addr;
	s.daddr = LO;
	s.sport = g->port;
	s.dport = htons(PORT_LISTEN);
	s.seq = g->my_isn;
	s.ack = fz_pct(&rng, 80) ? 0 : fz_next(&rng);
	mutate(&s, 0, 0);
	if (fz_pct(&rng, 70)) {		/* a plain SYN with options */
		s.flags = TH_SYN;
		s.paylen = fz_pct(&rng, 90) ? 0 : s.paylen;
		s.badcsum = s.frag = false;
		s.trunc = 0;
		s.doff = -1;
	}
	send_seg(&s);
}

static void ghost_fuzz(void)
{
	struct ghost *g = &ghosts[fz_below(&rng, NGHOSTS)];
	struct seg s = { 0 };

	if (!g->used || !g->seen) {
		ghost_new();
		return;
	}
	s.saddr = g->addr;
	s.daddr = LO;
	s.sport = g->port;
	s.dport = htons(PORT_LISTEN);
	{
		uint32_t sv[] = { g->my_nxt, g->my_isn };
		uint32_t av[] = { g->their_nxt, g->their_isn + 1 };

		s.seq = near(sv, 2);
		s.ack = near(av, 2);
		mutate(&s, g->their_isn + 1, g->their_nxt - g->their_isn);
	}
	if (fz_pct(&rng, 40)) {		/* a well-formed next segment */
		s.seq = g->my_nxt;
		s.ack = g->their_nxt;
		s.flags = FZ_PICK(&rng, ((uint8_t[]){ TH_ACK, TH_ACK | TH_PUSH,
					  TH_ACK | TH_FIN, TH_ACK, TH_RST }));
		s.badcsum = s.frag = false;
		s.trunc = 0;
		s.doff = -1;
		if (s.flags & (TH_RST | TH_FIN))
			s.paylen = 0;
	}
	send_seg(&s);
	if (!s.badcsum && !s.trunc && s.seq == g->my_nxt && (s.flags & TH_ACK) &&
	    !(s.flags & (TH_SYN | TH_RST)))
		g->my_nxt += s.paylen + !!(s.flags & TH_FIN);
}

/* Read the children's segments to the ghosts (packet socket on lo). */
static void sniff(void)
{
	uint8_t buf[256];
	struct sockaddr_ll sll;
	socklen_t len;
	ssize_t n;

	for (;;) {
		const struct iphdr *ip = (const struct iphdr *)buf;
		const struct tcphdr *th;
		uint32_t seq, end;
		int i;

		len = sizeof(sll);
		n = recvfrom(sniff_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&sll, &len);
		if (n < 0)
			return;
		if (sll.sll_pkttype != PACKET_OUTGOING || n < 40 ||
		    ip->protocol != IPPROTO_TCP)
			continue;
		th = (const struct tcphdr *)(buf + ip->ihl * 4);
		if (th->source != htons(PORT_LISTEN))
			continue;
		seq = ntohl(th->seq);
		end = seq + (ntohs(ip->tot_len) - ip->ihl * 4 - th->doff * 4) +
		      th->syn + th->fin;
		for (i = 0; i < NGHOSTS; i++) {
			struct ghost *g = &ghosts[i];

			if (!g->used || g->addr != ip->daddr || g->port != th->dest)
				continue;
			if (th->syn && th->ack) {
				g->their_isn = seq;
				if (!g->seen)
					ghost_synacks++;
				g->seen = true;
			}
			if (g->seen && (int32_t)(end - g->their_nxt) > 0)
				g->their_nxt = end;
		}
	}
}

static int sniff_open(void)
{
	/* Only IPv4 packets to 10.1.1.0/24 (offsets from the IP header). */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xffffff00),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GHOST_NET, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { FZ_ARRAY_SIZE(code), code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = if_nametoindex("lo") };
	/* ETH_P_ALL: a packet socket of one protocol sees no outgoing packets. */
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	return fd;
}

/* Accept what the ghosts connected, poke it, close it. */
static long accepted;

static void drain_listener(int lfd)
{
	char buf[2048];
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		accepted++;
		send(fd, buf, fz_below(&rng, sizeof(buf)), MSG_DONTWAIT | MSG_NOSIGNAL);
		recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (fz_pct(&rng, 30))
			shutdown(fd, SHUT_WR);
		close(fd);
	}
}

/* ------------------------------------------------------------------ */

/*
 * Watchdog: with -v a progress line every 10 s; if the main loop has not
 * moved for 60 s, say where it is and what the kernel stacks of this
 * process's threads are.
 */
static void *watchdog(void *arg)
{
	long last = -1;
	int still = 0;
	char cmd[128];

	(void)arg;
	for (;;) {
		fz_msleep(10000);
		if (verbose)
			printf("# progress: %ld iterations, %s, %ld transfers\n",
			       progress, phase, xf.runs);
		still = progress == last ? still + 10 : 0;
		last = progress;
		if (still == 60) {
			printf("# STUCK for 60 s in %s after %ld iterations\n", phase, progress);
			snprintf(cmd, sizeof(cmd),
				 "for t in /proc/%d/task/*; do echo \"# $t\"; sed 's/^/#  /' $t/stack; done",
				 getpid());
			fflush(stdout);
			if (system(cmd) < 0)
				perror("system");
		}
	}
	return NULL;
}

static void parse_skip(void)
{
	const char *e = getenv("SEGFUZZ_SKIP");
	int i;

	if (!e)
		return;
	for (i = 0; i < SK_N; i++) {
		const char *p = strstr(e, skip_names[i]);
		size_t l = strlen(skip_names[i]);

		if (p && (p == e || p[-1] == ',') && (p[l] == 0 || p[l] == ',')) {
			skip[i] = true;
			printf("# SEGFUZZ_SKIP: leaving out %s\n", skip_names[i]);
		}
	}
}

static void usage(const char *me)
{
	fprintf(stderr, "usage: %s [-s SEED] [-n ITERATIONS] [-d SECONDS] "
		"[-b TRANSFER_BYTES] [-r TRANSFER_RATE] [-v]\n", me);
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const cnt[] = { "InSegs", "InErrs", "InCsumErrors",
		"OutRsts", "InRsts", "PassiveOpens", "EstabResets", "OfoQueue",
		"SackBlocksRecv", "ListenDrops" };
	long c0[FZ_ARRAY_SIZE(cnt)], csum0;
	uint64_t seed = fz_default_seed();
	long iters = -1, it;
	double dur = 30, t0, el;
	int opt, xl, ll, fail = 0;
	pthread_t xt, wd;
	size_t i;

	while ((opt = getopt(argc, argv, "s:n:d:b:r:vh")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': iters = strtol(optarg, NULL, 0); break;
		case 'd': dur = strtod(optarg, NULL); break;
		case 'b': xfer_bytes = fz_size(optarg); break;
		case 'r': xfer_rate = fz_size(optarg); break;
		case 'v': verbose = true; break;
		default: usage(argv[0]);
		}
	}
	if (iters >= 0 && dur == 30)
		dur = 1e9;	/* -n alone: no time limit */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	fz_seed(&rng, seed);
	printf("TAP version 13\n1..2\n");
	printf("# segfuzz: seed %llu, %s%ld iterations, %.0f s, transfers of %zu bytes\n",
	       (unsigned long long)seed, iters < 0 ? "unlimited " : "", iters,
	       dur, xfer_bytes);
	parse_skip();

	if (fz_private_netns(1000) ||
	    system("ip route add 10.1.1.0/24 dev lo 2>&1")) {
		printf("# cannot set up the namespace: %s\n", strerror(errno));
		return 2;
	}
	raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	sniff_fd = sniff_open();
	if (raw_fd < 0 || sniff_fd < 0) {
		printf("# raw/packet socket: %s\n", strerror(errno));
		return 2;
	}
	for (i = 0; i < FZ_ARRAY_SIZE(cnt); i++)
		c0[i] = fz_cnt(cnt[i]);
	csum0 = fz_cnt("InCsumErrors");

	xl = listen_on(PORT_XFER, 4);
	pair_l = listen_on(PORT_PAIR, 4);
	ll = listen_on(PORT_LISTEN, 64);
	fcntl(ll, F_SETFL, O_NONBLOCK);
	if (skip[SK_XFER])
		atomic_store(&xf.stop, true);
	else
		pthread_create(&xt, NULL, xfer_thread, &xl);

	pthread_create(&wd, NULL, watchdog, NULL);
	t0 = fz_now();
	for (it = 0; iters < 0 || it < iters; it++) {
		unsigned int what = fz_below(&rng, 100);

		if (!(it & 255) && fz_now() - t0 > dur)
			break;
		progress = it;
		if (!(it & 15)) {
			phase = "pair_check";
			if (!skip[SK_PAIR])
				pair_check();
			phase = "drain_listener";
			drain_listener(ll);
		}
		phase = "sniff";
		sniff();
		phase = "fuzz";
		if (what < 30 && !skip[SK_PAIR])
			fuzz_pair();
		else if (what < 45 && !skip[SK_XFER])
			fuzz_xfer();
		else if (what < 60 || skip[SK_GHOST])
			ghost_new();
		else
			ghost_fuzz();
		if (xf.err[0])
			break;
	}
	el = fz_now() - t0;

	/*
	 * The fuzzing reached toytcp, each input class that ran: segments
	 * went out, those with a bad checksum were counted as such, ghosts'
	 * SYNs got SYN-ACKs, the pair was connected.  (Whether the transfer
	 * survived is check 2.)
	 */
	{
		long csum = fz_cnt("InCsumErrors") - csum0;
		bool reached = it > 0 && segs_sent > 0 &&
			       (skip[SK_BADCSUM] || csum > 0) &&
			       (skip[SK_GHOST] || ghost_synacks > 0) &&
			       (skip[SK_PAIR] || pair_opens > 0);

		if (!reached)
			fail = 1;
		printf("%s 1 segfuzz: %ld iterations in %.1f s, %.0f/s; %ld segments, %ld bad checksums counted, %ld SYN-ACKs to ghosts, the pair connected %ld times (seed %llu)\n",
		       reached ? "ok" : "not ok", it, el, it / el, segs_sent,
		       csum, ghost_synacks, pair_opens, (unsigned long long)seed);
	}
	printf("# %ld accepted from ghosts%s\n", accepted,
	       xf.err[0] ? "; the transfer failed, the fuzzing stopped" : "");

	/* Let the transfer in progress finish, then stop. */
	phase = "waiting for the transfer";
	atomic_store(&xf.stop, true);
	if (!skip[SK_XFER])
		pthread_join(xt, NULL);
	for (i = 0; i < FZ_ARRAY_SIZE(cnt); i++)
		printf("# %s +%ld\n", cnt[i], fz_cnt(cnt[i]) - c0[i]);
	if (xf.err[0] || (!skip[SK_XFER] && !xf.runs)) {
		printf("not ok 2 segfuzz: transfer: %s (after %ld good runs)\n",
		       xf.err[0] ? xf.err : "none completed", xf.runs);
		fail = 1;
	} else {
		printf("ok 2 segfuzz: %ld transfers of %zu bytes verified%s\n",
		       xf.runs, xfer_bytes, skip[SK_XFER] ? " # SKIP" : "");
	}
	if (pair_c >= 0) {
		close(pair_c);
		close(pair_s);
	}
	close(pair_l);
	close(ll);
	close(xl);
	return fail || xf.err[0];
}
