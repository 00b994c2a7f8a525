// SPDX-License-Identifier: GPL-2.0
/*
 * echo: an echo server and client, over toytcp or over Linux's TCP.
 *
 *   echo --family toytcp|inet --listen PORT [--clients N]
 *   echo --family toytcp|inet --connect IP:PORT [--bytes N]
 *
 * The server echoes back every byte it reads, serves N clients (default 1)
 * one after the other, and exits.  The client sends a few short messages
 * and prints what comes back, then sends N bytes (default 1 MiB) from a
 * second thread while the main thread reads the echo and compares it, and
 * then closes its side and waits for the server to close too.
 *
 * The family is all that differs between the two stacks: a toytcp socket
 * is socket(AF_TOYTCP, SOCK_STREAM, 0) and takes a struct sockaddr_in.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/toytcp.h"

#define CHUNK		16384
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *role = "echo";	/* "server" or "client", for messages */
static int family = AF_TOYTCP;

static const char * const messages[] = {
	"hello, toytcp",
	"a second, somewhat longer message to see it come back whole",
	"bye",
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", role);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *family_name(int f)
{
	switch (f) {
	case AF_TOYTCP:
		return "AF_TOYTCP";
	case AF_INET:
		return "AF_INET";
	default:
		return "unknown";
	}
}

static const char *addr_str(const struct sockaddr_in *sin, char *buf,
			    size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u (family %d = %s)", ip, ntohs(sin->sin_port),
		 sin->sin_family, family_name(sin->sin_family));
	return buf;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", n ? strerror(errno) : "wrote nothing");
		p += n;
		len -= n;
	}
}

/* Read exactly @len bytes; returns the number read before EOF. */
static size_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

/* The byte at offset @i of the bulk stream: a xorshift sequence. */
static void pattern(uint8_t *buf, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint32_t x = (uint32_t)(off + i) * 2654435761u;

		x ^= x >> 13;
		x ^= x << 7;
		buf[i] = (uint8_t)(x ^ (x >> 17));
	}
}

static void serve(int port, int clients)
{
	struct sockaddr_in sin = {
		.sin_family = family,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	char abuf[96];
	int one = 1;
	int lfd, c;

	lfd = socket(family, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket(%s, SOCK_STREAM, 0): %s", family_name(family),
		    strerror(errno));
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		printf("%s: note: SO_REUSEADDR: %s\n", role, strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)))
		die("bind port %d: %s", port, strerror(errno));
	if (listen(lfd, 8))
		die("listen: %s", strerror(errno));
	printf("%s: %s socket listening on port %d\n", role,
	       family_name(family), port);

	for (c = 0; c < clients; c++) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		char buf[CHUNK];
		size_t total = 0;
		ssize_t n;
		int fd;

		fd = accept(lfd, (struct sockaddr *)&peer, &plen);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		printf("%s: accepted a connection from %s\n", role,
		       addr_str(&peer, abuf, sizeof(abuf)));
		for (;;) {
			n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("read: %s", strerror(errno));
			if (n == 0)
				break;
			write_all(fd, buf, n);
			total += n;
		}
		printf("%s: echoed %zu bytes; the client closed, closing too\n",
		       role, total);
		if (close(fd))
			die("close: %s", strerror(errno));
	}
	close(lfd);
}

struct bulk {
	int fd;
	size_t len;
};

static void *bulk_writer(void *arg)
{
	struct bulk *b = arg;
	uint8_t buf[CHUNK];
	size_t off = 0;

	while (off < b->len) {
		/* Vary the write sizes a little: 16 KiB, then 16 KiB - 1 ... */
		size_t n = CHUNK - (off / CHUNK) % 7;

		if (n > b->len - off)
			n = b->len - off;
		pattern(buf, off, n);
		write_all(b->fd, buf, n);
		off += n;
	}
	return NULL;
}

static void client(const char *target, size_t bytes)
{
	struct sockaddr_in sin = { .sin_family = family };
	struct sockaddr_in me, peer;
	socklen_t len;
	char abuf[96], buf[CHUNK], ip[INET_ADDRSTRLEN];
	uint8_t want[CHUNK];
	const char *colon = strrchr(target, ':');
	struct bulk b;
	pthread_t thr;
	size_t i, got;
	double t0, t;
	int fd, err;

	if (!colon || colon - target >= (long)sizeof(ip))
		die("--connect wants IP:PORT, not '%s'", target);
	memcpy(ip, target, colon - target);
	ip[colon - target] = '\0';
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		die("bad IPv4 address '%s'", ip);
	sin.sin_port = htons(atoi(colon + 1));

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket(%s, SOCK_STREAM, 0): %s", family_name(family),
		    strerror(errno));
	printf("%s: %s socket connecting to %s\n", role, family_name(family),
	       target);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("connect to %s: %s", target, strerror(errno));
	len = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &len))
		die("getsockname: %s", strerror(errno));
	printf("%s: connected; local address %s\n", role,
	       addr_str(&me, abuf, sizeof(abuf)));
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len))
		die("getpeername: %s", strerror(errno));
	printf("%s: peer address %s\n", role,
	       addr_str(&peer, abuf, sizeof(abuf)));

	for (i = 0; i < ARRAY_SIZE(messages); i++) {
		size_t n = strlen(messages[i]);

		write_all(fd, messages[i], n);
		printf("%s: sent \"%s\" (%zu bytes)\n", role, messages[i], n);
		got = read_full(fd, buf, n);
		printf("%s: got  \"%.*s\" (%zu bytes)\n", role, (int)got, buf,
		       got);
		if (got != n || memcmp(buf, messages[i], n))
			die("the echo differs from what was sent");
	}

	printf("%s: sending %zu bytes from a second thread, reading the echo\n",
	       role, bytes);
	b.fd = fd;
	b.len = bytes;
	t0 = now();
	err = pthread_create(&thr, NULL, bulk_writer, &b);
	if (err)
		die("pthread_create: %s", strerror(err));
	for (got = 0; got < bytes; ) {
		size_t want_n = bytes - got < CHUNK ? bytes - got : CHUNK;
		ssize_t n = read(fd, buf, want_n);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read after %zu bytes: %s", got, strerror(errno));
		if (n == 0)
			die("connection closed after %zu of %zu bytes", got,
			    bytes);
		pattern(want, got, n);
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != (char)want[i])
				die("byte %zu differs: sent 0x%02x, got 0x%02x",
				    got + i, want[i], (uint8_t)buf[i]);
		got += n;
	}
	pthread_join(thr, NULL);
	t = now() - t0;
	printf("%s: got all %zu bytes back in %.2f s (%.1f MB/s), every byte matches\n",
	       role, got, t, t > 0 ? got / t / 1e6 : 0.0);

	if (shutdown(fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	printf("%s: shut down the sending side; waiting for the server's FIN\n",
	       role);
	if (read_full(fd, buf, 1) != 0)
		die("unexpected data after the echo");
	printf("%s: the server closed the connection; done\n", role);
	if (close(fd))
		die("close: %s", strerror(errno));
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [--family toytcp|inet] --listen PORT [--clients N]\n"
		"       %s [--family toytcp|inet] --connect IP:PORT [--bytes N]\n",
		prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family",	required_argument, NULL, 'f' },
		{ "listen",	required_argument, NULL, 'l' },
		{ "connect",	required_argument, NULL, 'c' },
		{ "clients",	required_argument, NULL, 'n' },
		{ "bytes",	required_argument, NULL, 'b' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ }
	};
	const char *target = NULL;
	size_t bytes = 1 << 20;
	int port = -1, clients = 1;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "f:l:c:n:b:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "toytcp"))
				family = AF_TOYTCP;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				usage(argv[0]);
			break;
		case 'l':
			port = atoi(optarg);
			break;
		case 'c':
			target = optarg;
			break;
		case 'n':
			clients = atoi(optarg);
			break;
		case 'b':
			bytes = strtoul(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc || (port < 0) == !target)
		usage(argv[0]);

	if (target) {
		role = "client";
		client(target, bytes);
	} else {
		role = "server";
		serve(port, clients);
	}
	return 0;
}
