/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw TCP segments: capture (an AF_PACKET socket on an interface sees
 * both directions), parse (flags, numbers, window, MSS option, lengths),
 * build (checksums) and inject (a raw IPv4 socket), and the forging of a
 * segment of an existing connection from one it sent.
 *
 * For exchanges played segment by segment with a peer that misbehaves,
 * see the exact-segment harness (tt_wire.h).
 */
#ifndef TT_SEGMENTS_H
#define TT_SEGMENTS_H

#include "tt_core.h"


struct tt_tcpinfo {
	uint32_t saddr, daddr;		/* network order */
	int sport, dport;		/* host order */
	uint32_t seq, ack;		/* host order */
	int flags;			/* TH_* bits */
	int win;
	int iphl, thl, iplen, paylen;
	bool frag;			/* MF set or offset nonzero */
	int mss;			/* MSS option value, -1 if none */
	const uint8_t *tcp;		/* header start */
};

#define TT_FIN 0x01
#define TT_SYN 0x02
#define TT_RST 0x04
#define TT_PSH 0x08
#define TT_ACK 0x10

/* Parse an IPv4 packet; false if it is not (a first fragment of) TCP. */
static TT_UNUSED bool tt_parse(const uint8_t *p, int len, struct tt_tcpinfo *t)
{
	int i, off;

	memset(t, 0, sizeof(*t));
	if (len < 20 || (p[0] >> 4) != 4)
		return false;
	t->iphl = (p[0] & 15) * 4;
	t->iplen = (p[2] << 8) | p[3];
	off = ((p[6] << 8) | p[7]);
	t->frag = (off & 0x2000) || (off & 0x1fff);
	memcpy(&t->saddr, p + 12, 4);
	memcpy(&t->daddr, p + 16, 4);
	if (p[9] != IPPROTO_TCP)
		return false;
	if (off & 0x1fff)	/* not the first fragment: no header */
		return true;
	if (len < t->iphl + 20)
		return false;
	p += t->iphl;
	t->tcp = p;
	t->sport = (p[0] << 8) | p[1];
	t->dport = (p[2] << 8) | p[3];
	t->seq = ((uint32_t)p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7];
	t->ack = ((uint32_t)p[8] << 24) | (p[9] << 16) | (p[10] << 8) | p[11];
	t->thl = (p[12] >> 4) * 4;
	t->flags = p[13];
	t->win = (p[14] << 8) | p[15];
	t->paylen = t->iplen - t->iphl - t->thl;
	t->mss = -1;
	for (i = 20; i < t->thl && t->iphl + i < len;) {
		if (p[i] == 0)
			break;
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= t->thl || p[i + 1] < 2)
			break;
		if (p[i] == 2 && p[i + 1] == 4)
			t->mss = (p[i + 2] << 8) | p[i + 3];
		i += p[i + 1];
	}
	return true;
}

/*
 * AF_PACKET socket receiving the IPv4 packets of one interface, both
 * directions (outgoing frames only reach ETH_P_ALL sockets).
 */
static TT_UNUSED int tt_cap_open(const char *ifname)
{
	struct sockaddr_ll sll;
	int fd, sz = 8 << 20;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, TT_SA(&sll), sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Next captured packet: length, 0 on timeout, -1 on error. */
static TT_UNUSED int tt_cap_next(int fd, uint8_t *buf, int len, int *pkttype,
				 int timeout_ms)
{
	struct sockaddr_ll sll;
	socklen_t sl = sizeof(sll);
	int rev = tt_poll1(fd, POLLIN, timeout_ms);
	ssize_t n;

	if (rev <= 0)
		return rev;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT, TT_SA(&sll), &sl);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (sll.sll_protocol != htons(ETH_P_IP))
		return 0;	/* not IPv4: the caller polls again */
	if (pkttype)
		*pkttype = sll.sll_pkttype;
	return n;
}

static TT_UNUSED uint16_t tt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static TT_UNUSED uint32_t tt_csum_add(uint32_t sum, const uint8_t *p, int len)
{
	int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* Fill in the checksum of a TCP segment (header + payload, len bytes). */
static TT_UNUSED void tt_tcp_csum(uint8_t *tcp, int len, uint32_t saddr,
				  uint32_t daddr)
{
	uint32_t sum = 0;
	uint16_t c;

	tcp[16] = tcp[17] = 0;
	sum = tt_csum_add(sum, (uint8_t *)&saddr, 4);
	sum = tt_csum_add(sum, (uint8_t *)&daddr, 4);
	sum += IPPROTO_TCP;
	sum += len;
	sum = tt_csum_add(sum, tcp, len);
	c = tt_csum_fold(sum);
	tcp[16] = c >> 8;
	tcp[17] = c & 0xff;
}

/* Send a TCP segment in a hand-made IPv4 header through a raw socket. */
static TT_UNUSED int tt_raw_send(const uint8_t *tcp, int len, uint32_t saddr,
				 uint32_t daddr)
{
	uint8_t pkt[1600];
	struct sockaddr_in dst;
	int fd, r;

	if (len + 20 > (int)sizeof(pkt))
		return -1;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (len + 20) >> 8;
	pkt[3] = (len + 20) & 0xff;
	pkt[6] = 0x40;		/* DF */
	pkt[8] = 64;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, &saddr, 4);
	memcpy(pkt + 16, &daddr, 4);
	memcpy(pkt + 20, tcp, len);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = daddr;
	r = sendto(fd, pkt, len + 20, 0, TT_SA(&dst), sizeof(dst));
	close(fd);
	return r == len + 20 ? 0 : -1;
}

/*
 * The next segment from -> to with plen bytes of payload seen on capture
 * socket cap (in either direction, outgoing copies aside), within 3 s: its
 * TCP header goes to hdr (*hlen bytes), its numbers to *seq, *ack.
 */
static TT_UNUSED bool tt_cap_find_data(int cap, const struct sockaddr_in *from,
				       const struct sockaddr_in *to, int plen,
				       uint8_t *hdr, int *hlen, uint32_t *seq,
				       uint32_t *ack)
{
	long long end = tt_now_ms() + 3000;
	static uint8_t pkt[65536];
	struct tt_tcpinfo t;
	int n, pt;

	while (tt_now_ms() < end) {
		n = tt_cap_next(cap, pkt, sizeof(pkt), &pt, 200);
		if (n <= 0 || pt == PACKET_OUTGOING || !tt_parse(pkt, n, &t))
			continue;
		if (t.sport != ntohs(from->sin_port) ||
		    t.dport != ntohs(to->sin_port) || t.paylen != plen ||
		    !t.tcp)
			continue;
		memcpy(hdr, t.tcp, t.thl);
		*hlen = t.thl;
		*seq = t.seq;
		*ack = t.ack;
		return true;
	}
	return false;
}

/*
 * A segment of a loopback connection made from a captured header: the
 * same ports, options and window, the numbers, flags and payload given,
 * checksummed (and then spoiled, if bad_csum).  Returns its length.
 */
static TT_UNUSED int tt_seg_forge(uint8_t *seg, const uint8_t *hdr, int hlen,
				  uint32_t seq, uint32_t ack, int flags,
				  const char *payload, bool bad_csum)
{
	int plen = payload ? strlen(payload) : 0;

	memcpy(seg, hdr, hlen);
	seg[4] = seq >> 24;
	seg[5] = seq >> 16;
	seg[6] = seq >> 8;
	seg[7] = seq;
	seg[8] = ack >> 24;
	seg[9] = ack >> 16;
	seg[10] = ack >> 8;
	seg[11] = ack;
	seg[13] = flags;
	if (plen)
		memcpy(seg + hlen, payload, plen);
	tt_tcp_csum(seg, hlen + plen, htonl(INADDR_LOOPBACK),
		    htonl(INADDR_LOOPBACK));
	if (bad_csum)
		seg[17] ^= 0x5a;
	return hlen + plen;
}

/* Inject a segment over loopback. */
static TT_UNUSED int tt_raw_send_lo(const uint8_t *tcp, int len)
{
	return tt_raw_send(tcp, len, htonl(INADDR_LOOPBACK),
			   htonl(INADDR_LOOPBACK));
}

#endif /* TT_SEGMENTS_H */
