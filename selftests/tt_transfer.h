/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Byte-exact transfers.  Every byte a test sends comes from a seeded
 * stream (tt_fill(): the bytes [off, off + len) of stream `seed`), so a
 * receiver knows what each byte it gets must be: a byte lost, duplicated,
 * reordered or corrupted shows as the first offset that differs.
 *
 *   tt_ep     one end of a transfer in its own thread: sends its stream,
 *             receives and checks the other's, then shuts down / waits
 *             for EOF; never stuck longer than stall_ms without progress
 *   tt_xfer   a one-way transfer: a sending and a receiving tt_ep
 *   tt_sink   a thread that reads and discards until told to stop
 */
#ifndef TT_TRANSFER_H
#define TT_TRANSFER_H

#include "tt_core.h"

static inline uint64_t tt_mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The bytes [off, off+len) of the stream named by seed. */
static TT_UNUSED void tt_fill(uint64_t seed, uint64_t off, uint8_t *buf,
			      size_t len)
{
	while (len) {
		uint64_t w = tt_mix64(seed * 0x100000001b3ULL + (off >> 3));
		unsigned int o = off & 7;
		size_t n = 8 - o;

		if (n > len)
			n = len;
		memcpy(buf, (uint8_t *)&w + o, n);
		buf += n;
		off += n;
		len -= n;
	}
}

/*
 * One end of a bulk transfer, run in its own thread: sends tx_len bytes of
 * stream tx_seed (then shutdown(SHUT_WR) if shut_wr) while receiving and
 * checking rx_len bytes of stream rx_seed (then waiting for EOF if
 * want_eof).  Never blocks longer than stall_ms without progress.
 */
struct tt_ep {
	int fd;
	uint64_t tx_seed, rx_seed;
	size_t tx_len, rx_len;
	int stall_ms;
	bool shut_wr, want_eof;
	/* results */
	size_t sent, rcvd;
	bool eof;
	int err;		/* 0 ok */
	char msg[160];
	pthread_t th;
};

#define TT_CHUNK 65536

static TT_UNUSED void *tt_ep_run(void *arg)
{
	struct tt_ep *ep = arg;
	uint8_t *tx = malloc(TT_CHUNK), *rx = malloc(TT_CHUNK),
		*want = malloc(TT_CHUNK);
	size_t txoff = 0, txlen = 0;	/* buffered chunk [txoff, txlen) */
	bool shut_done = !ep->shut_wr;
	long long last = tt_now_ms();
	size_t last_sent = 0, last_rcvd = 0;

	if (!tx || !rx || !want) {
		ep->err = ENOMEM;
		snprintf(ep->msg, sizeof(ep->msg), "out of memory");
		goto out;
	}
	for (;;) {
		bool need_tx = ep->sent < ep->tx_len;
		bool need_rx = ep->want_eof ? !ep->eof : ep->rcvd < ep->rx_len;
		struct pollfd p = { .fd = ep->fd };
		int r;

		if (!need_tx && !shut_done) {
			if (shutdown(ep->fd, SHUT_WR)) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "shutdown(SHUT_WR): %s", strerror(errno));
				break;
			}
			shut_done = true;
		}
		if (!need_tx && !need_rx)
			break;
		if (ep->sent != last_sent || ep->rcvd != last_rcvd) {
			last_sent = ep->sent;
			last_rcvd = ep->rcvd;
			last = tt_now_ms();
		} else if (tt_now_ms() - last > ep->stall_ms) {
			ep->err = ETIMEDOUT;
			snprintf(ep->msg, sizeof(ep->msg),
				 "no progress for %d ms: sent %zu/%zu received %zu/%zu",
				 ep->stall_ms, ep->sent, ep->tx_len, ep->rcvd,
				 ep->rx_len);
			break;
		}
		p.events = (need_tx ? POLLOUT : 0) | (need_rx ? POLLIN : 0);
		r = poll(&p, 1, ep->stall_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ep->err = r ? errno : ETIMEDOUT;
			snprintf(ep->msg, sizeof(ep->msg),
				 "stalled %d ms: sent %zu/%zu received %zu/%zu",
				 ep->stall_ms, ep->sent, ep->tx_len, ep->rcvd,
				 ep->rx_len);
			break;
		}
		if (need_rx && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(ep->fd, rx, TT_CHUNK, MSG_DONTWAIT);

			if (n > 0) {
				if (ep->rcvd + n > ep->rx_len) {
					ep->err = EPROTO;
					snprintf(ep->msg, sizeof(ep->msg),
						 "received %zu bytes, more than the %zu sent",
						 ep->rcvd + n, ep->rx_len);
					break;
				}
				tt_fill(ep->rx_seed, ep->rcvd, want, n);
				if (memcmp(rx, want, n)) {
					ssize_t i = 0;

					while (rx[i] == want[i])
						i++;
					ep->err = EBADMSG;
					snprintf(ep->msg, sizeof(ep->msg),
						 "data differs at byte %zu",
						 ep->rcvd + i);
					break;
				}
				ep->rcvd += n;
			} else if (n == 0) {
				ep->eof = true;
				if (ep->rcvd != ep->rx_len) {
					ep->err = EPROTO;
					snprintf(ep->msg, sizeof(ep->msg),
						 "EOF after %zu of %zu bytes",
						 ep->rcvd, ep->rx_len);
					break;
				}
			} else if (errno != EAGAIN) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "recv after %zu bytes: %s", ep->rcvd,
					 strerror(errno));
				break;
			}
		}
		if (need_tx && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
			ssize_t n;

			if (txoff == txlen) {
				txlen = ep->tx_len - ep->sent;
				if (txlen > TT_CHUNK)
					txlen = TT_CHUNK;
				tt_fill(ep->tx_seed, ep->sent, tx, txlen);
				txoff = 0;
			}
			n = send(ep->fd, tx + txoff, txlen - txoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				txoff += n;
				ep->sent += n;
			} else if (n < 0 && errno != EAGAIN) {
				ep->err = errno;
				snprintf(ep->msg, sizeof(ep->msg),
					 "send after %zu bytes: %s", ep->sent,
					 strerror(errno));
				break;
			}
		}
	}
out:
	/* On failure wake the peer up rather than let it wait for a stall. */
	if (ep->err)
		shutdown(ep->fd, SHUT_RDWR);
	free(tx);
	free(rx);
	free(want);
	return NULL;
}

static TT_UNUSED void tt_ep_init(struct tt_ep *ep, int fd, uint64_t tx_seed,
				 size_t tx_len, uint64_t rx_seed, size_t rx_len)
{
	memset(ep, 0, sizeof(*ep));
	ep->fd = fd;
	ep->tx_seed = tx_seed;
	ep->tx_len = tx_len;
	ep->rx_seed = rx_seed;
	ep->rx_len = rx_len;
	ep->stall_ms = 30000;
	ep->shut_wr = true;
	ep->want_eof = true;
}

static TT_UNUSED int tt_ep_start(struct tt_ep *ep)
{
	return pthread_create(&ep->th, NULL, tt_ep_run, ep);
}

static TT_UNUSED void tt_ep_join(struct tt_ep *ep)
{
	pthread_join(ep->th, NULL);
}

/* Run two endpoints to completion. */
static TT_UNUSED void tt_ep_pair(struct tt_ep *a, struct tt_ep *b)
{
	tt_ep_start(a);
	tt_ep_start(b);
	tt_ep_join(a);
	tt_ep_join(b);
}

/*
 * Check buf against the bytes [off, off + len) of stream seed: -1 if they
 * are those, else the offset in buf of the first that is not.
 */
static TT_UNUSED ssize_t tt_check(uint64_t seed, uint64_t off,
				  const uint8_t *buf, size_t len)
{
	uint8_t want[4096];
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);
		size_t i;

		tt_fill(seed, off + done, want, n);
		for (i = 0; i < n; i++)
			if (buf[done + i] != want[i])
				return done + i;
		done += n;
	}
	return -1;
}

/*
 * A one-way transfer of len bytes from sfd to rfd, compared byte by
 * byte: the sender shuts down its side, the receiver reads to EOF.
 */
struct tt_xfer {
	struct tt_ep s, r;
	long long ms;	/* start until the receiver saw EOF */
};

static TT_UNUSED void tt_xfer_init(struct tt_xfer *x, int sfd, int rfd,
				   size_t len, uint64_t seed, int stall_ms)
{
	tt_ep_init(&x->s, sfd, seed, len, 0, 0);
	x->s.want_eof = false;
	x->s.stall_ms = stall_ms;
	tt_ep_init(&x->r, rfd, 0, 0, seed, len);
	x->r.shut_wr = false;
	x->r.stall_ms = stall_ms;
}

/* Every byte sent, received in order and intact, then EOF. */
#define TT_EXPECT_XFER(x, len) do {					\
	EXPECT_EQ(0, (x)->s.err) TH_LOG("sender: %s", (x)->s.msg);	\
	EXPECT_EQ(0, (x)->r.err) TH_LOG("receiver: %s", (x)->r.msg);	\
	EXPECT_EQ((size_t)(len), (x)->s.sent);				\
	EXPECT_EQ((size_t)(len), (x)->r.rcvd);				\
	EXPECT_TRUE((x)->r.eof);					\
} while (0)

static TT_UNUSED void tt_xfer_run(struct tt_xfer *x)
{
	long long t0 = tt_now_ms();

	tt_ep_start(&x->s);
	tt_ep_start(&x->r);
	tt_ep_join(&x->r);
	x->ms = tt_now_ms() - t0;
	tt_ep_join(&x->s);
}

/* A thread that reads and discards whatever arrives until told to stop. */
struct tt_sink {
	int fd;
	int stop;
	size_t rcvd;
	int err;
	pthread_t th;
};

static TT_UNUSED void *tt_sink_run(void *arg)
{
	struct tt_sink *k = arg;
	static __thread char buf[65536];

	while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST)) {
		ssize_t n;

		if (tt_poll1(k->fd, POLLIN, 100) <= 0)
			continue;
		n = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			__atomic_add_fetch(&k->rcvd, n, __ATOMIC_SEQ_CST);
		} else if (n == 0) {
			break;
		} else if (errno != EAGAIN) {
			k->err = errno;
			break;
		}
	}
	return NULL;
}

static TT_UNUSED int tt_sink_start(struct tt_sink *k, int fd)
{
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	return pthread_create(&k->th, NULL, tt_sink_run, k);
}

static TT_UNUSED void tt_sink_stop(struct tt_sink *k)
{
	__atomic_store_n(&k->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(k->th, NULL);
}

#endif /* TT_TRANSFER_H */
