/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by toytcp's fuzzers (segfuzz.c, sysfuzz.c): a seeded
 * PRNG, clocks, a private network namespace, the toytcp counters.
 */
#ifndef TOYTCP_FUZZ_H
#define TOYTCP_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/toytcp.h>

#define FZ_UNUSED __attribute__((unused))
#define FZ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: small, fast, and the same sequence for the same seed. */
struct fz_rng {
	uint64_t s;
};

static FZ_UNUSED void fz_seed(struct fz_rng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!r->s)
		r->s = 1;
}

static FZ_UNUSED uint64_t fz_next(struct fz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n); 0 when n is 0. */
static FZ_UNUSED uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return n ? (uint32_t)(fz_next(r) % n) : 0;
}

/* True with probability pct percent. */
static FZ_UNUSED int fz_pct(struct fz_rng *r, int pct)
{
	return (int)fz_below(r, 100) < pct;
}

#define FZ_PICK(r, arr) ((arr)[fz_below((r), FZ_ARRAY_SIZE(arr))])

static FZ_UNUSED double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static FZ_UNUSED void fz_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A size with an optional K, M or G suffix (powers of 1024). */
static FZ_UNUSED unsigned long long fz_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'g': case 'G': v <<= 10; /* fall through */
	case 'm': case 'M': v <<= 10; /* fall through */
	case 'k': case 'K': v <<= 10;
	}
	return v;
}

/* A seed from the clock, unless the user gave one. */
static FZ_UNUSED uint64_t fz_default_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000003ULL ^ ts.tv_nsec ^ getpid();
}

static FZ_UNUSED int fz_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * Move the process into a fresh network namespace with lo up, and make
 * TIME-WAIT and an orphan's retries short there (net.toytcp.tw_timeout_ms
 * and orphan_retries are per namespace), so that what the fuzzer leaves
 * behind is gone in seconds.
 */
static FZ_UNUSED int fz_private_netns(int tw_ms)
{
	struct ifreq ifr;
	char v[32];
	int s, r;

	if (unshare(CLONE_NEWNET))
		return -1;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!r) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	if (tw_ms > 0) {
		snprintf(v, sizeof(v), "%d\n", tw_ms);
		if (fz_write_file("/proc/sys/net/toytcp/tw_timeout_ms", v))
			fprintf(stderr, "# cannot set net.toytcp.tw_timeout_ms: %s\n",
				strerror(errno));
	}
	/* An orphan whose FIN its peer never takes (a socket filter or
	 * IP_MINTTL there drops it) retransmits it 8 times by default, more
	 * than 100 s at the minimum RTO, as on Linux: one try here.
	 */
	if (fz_write_file("/proc/sys/net/toytcp/orphan_retries", "1\n"))
		fprintf(stderr, "# cannot set net.toytcp.orphan_retries: %s\n",
			strerror(errno));
	return r;
}

/* A counter from this namespace's /proc/net/toytcp_snmp, -1 if none. */
static FZ_UNUSED long fz_cnt(const char *name)
{
	char line[256], n[128];
	long v, res = -1;
	FILE *f = fopen("/proc/thread-self/net/toytcp_snmp", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", n, &v) == 2 && !strcmp(n, name)) {
			res = v;
			break;
		}
	fclose(f);
	return res;
}

/* Sockets listed in this namespace's /proc/net/toytcp. */
static FZ_UNUSED int fz_ns_sockets(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/thread-self/net/toytcp", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, ':') && !strstr(line, "local_address"))
			n++;
	fclose(f);
	return n;
}

/* Wait up to timeout_s for this namespace's toytcp sockets to be gone;
 * returns how many are left.
 */
static FZ_UNUSED int fz_wait_ns_empty(int timeout_s, double *waited)
{
	double t0 = fz_now();
	int n;

	for (;;) {
		n = fz_ns_sockets();
		if (n <= 0 || fz_now() - t0 > timeout_s)
			break;
		fz_msleep(100);
	}
	*waited = fz_now() - t0;
	return n;
}

static FZ_UNUSED void fz_dump_ns_sockets(void)
{
	char line[512];
	FILE *f = fopen("/proc/thread-self/net/toytcp", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("#   %s", line);
	fclose(f);
}

#endif /* TOYTCP_FUZZ_H */
