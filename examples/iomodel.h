/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the five I/O model examples share: options, the client, the server's
 * accept, the clock, and the report of the two phases of a receive.
 *
 *   PROG [--family toytcp|inet] [--count N] [--size BYTES] [--gap MS]
 *        [--listen PORT | --connect IP:PORT | --port PORT]
 *        [--api select|poll|epoll|epoll-et]	(io_multiplex only)
 *
 * --listen: the server.  It accepts one connection and receives N messages
 *   of BYTES bytes each with the I/O model of the program, timing phase 1
 *   (waiting until data reaches the socket's receive buffer) and phase 2
 *   (copying it from there into the program's buffer: the recv() calls).
 * --connect: the client.  It sends the N messages, GAP milliseconds apart,
 *   so that the server has something to wait for.
 * Neither: both, the client in a child process, over 127.0.0.1:PORT
 *   (default 7100).
 *
 * A program defines MODEL_NAME (e.g. "blocking"), includes this file and
 * defines
 *	static void model_setup(int fd);	optional work on the socket
 *	static void model_recv(int fd, char *buf, size_t len, struct phases *);
 * model_recv() receives exactly len bytes, adds its waiting time to
 * ph->wait_ns and the time in recv() calls to ph->copy_ns, and says in
 * ph->wait_how and ph->copy_how what the program did meanwhile.
 */
#ifndef IOMODEL_H
#define IOMODEL_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/toytcp.h"

struct phases {
	int64_t wait_ns;	/* phase 1: waiting for data */
	int64_t copy_ns;	/* phase 2: in recv(), copying */
	unsigned int waits;	/* how many times it waited (or was told) */
	unsigned int calls;	/* recv() calls that returned data */
	unsigned int eagain;	/* recv() calls that found nothing */
	unsigned long work;	/* units of other work done meanwhile */
	char wait_how[128];	/* what phase 1 looked like to the program */
	char copy_how[128];	/* and phase 2 */
};

static int family = AF_TOYTCP;
static const char *api = "";		/* --api, for io_multiplex */
static const char *role = "iomodel";

static void model_setup(int fd);
static void model_recv(int fd, char *buf, size_t len, struct phases *ph);

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", role);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double ms(int64_t ns)
{
	return ns / 1e6;
}

/* A unit of "other work" for the models that leave the program free. */
static void __attribute__((unused)) other_work(void)
{
	struct timespec ts = { 0, 200000 };	/* 0.2 ms */

	nanosleep(&ts, NULL);
}

/* Fill in ph->wait_how or ph->copy_how. */
static void __attribute__((format(printf, 2, 3)))
say(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, 128, fmt, ap);
	va_end(ap);
}

static const char *plural(unsigned int n)
{
	return n == 1 ? "" : "s";
}

static const char *family_name(void)
{
	return family == AF_TOYTCP ? "AF_TOYTCP" : "AF_INET";
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = family,
				 .sin_port = htons(port) };
	int one = 1, fd;

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket(%s): %s%s", family_name(), strerror(errno),
		    family == AF_TOYTCP ? " (is toytcp.ko loaded?)" : "");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))
		die("bind/listen on port %d: %s", port, strerror(errno));
	return fd;
}

static void server(int lfd, int count, size_t size)
{
	struct pollfd pfd = { .events = POLLIN };
	struct phases total = { 0 }, ph;
	char *buf = malloc(size);
	int i, fd;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || !buf)
		die("accept: %s", strerror(errno));
	close(lfd);
	model_setup(fd);
	for (i = 0; i < count; i++) {
		memset(&ph, 0, sizeof(ph));
		model_recv(fd, buf, size, &ph);
		if (buf[0] != (char)('A' + i % 26) ||
		    buf[size - 1] != (char)('A' + i % 26))
			die("message %d: wrong contents", i + 1);
		printf("%s: message %d (%zu bytes): phase 1 %8.3f ms (%s); phase 2 %6.3f ms (%s)\n",
		       role, i + 1, size, ms(ph.wait_ns), ph.wait_how,
		       ms(ph.copy_ns), ph.copy_how);
		total.wait_ns += ph.wait_ns;
		total.copy_ns += ph.copy_ns;
	}
	printf("%s: %d messages over %s: phase 1 %.3f ms, phase 2 %.3f ms in all\n",
	       role, count, family_name(), ms(total.wait_ns),
	       ms(total.copy_ns));
	/* The client's FIN follows its last message, but may not be here
	 * yet, and a socket the model made non-blocking would say EAGAIN:
	 * wait for it (5 s at most) before reading the end of the stream.
	 */
	pfd.fd = fd;
	if (poll(&pfd, 1, 5000) != 1 || recv(fd, buf, 1, 0) != 0)
		die("expected the client's FIN");
	close(fd);
	free(buf);
}

static void client(const char *ip, int port, int count, size_t size, int gap)
{
	struct sockaddr_in a = { .sin_family = family,
				 .sin_port = htons(port) };
	struct timespec ts = { gap / 1000, (gap % 1000) * 1000000L };
	char *buf = malloc(size);
	int i, fd, tries;

	if (!buf || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		die("bad address %s", ip);
	for (tries = 0;; tries++) {	/* the server may not listen yet */
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket(%s): %s", family_name(), strerror(errno));
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			break;
		if (errno != ECONNREFUSED || tries == 50)
			die("connect to %s:%d: %s", ip, port, strerror(errno));
		close(fd);
		usleep(100000);
	}
	for (i = 0; i < count; i++) {
		size_t off = 0;

		nanosleep(&ts, NULL);
		memset(buf, 'A' + i % 26, size);
		while (off < size) {
			ssize_t n = send(fd, buf + off, size - off, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("send: %s", strerror(errno));
			off += n;
		}
	}
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, size, 0) > 0)	/* until the server closes */
		;
	close(fd);
	free(buf);
}

static int iomodel_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family",  required_argument, NULL, 'f' },
		{ "listen",  required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "port",    required_argument, NULL, 'p' },
		{ "count",   required_argument, NULL, 'n' },
		{ "size",    required_argument, NULL, 's' },
		{ "gap",     required_argument, NULL, 'g' },
		{ "api",     required_argument, NULL, 'a' },
		{ }
	};
	int opt, port = 7100, count = 5, gap = 100, listen_port = -1;
	char *target = NULL, *colon;
	size_t size = 16384;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "f:l:c:p:n:s:g:a:", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "toytcp"))
				family = AF_TOYTCP;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				die("--family toytcp or inet");
			break;
		case 'l': listen_port = atoi(optarg); break;
		case 'c': target = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': count = atoi(optarg); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'g': gap = atoi(optarg); break;
		case 'a': api = optarg; break;
		default:
			fprintf(stderr, "usage: %s [--family toytcp|inet] [--count N] [--size BYTES] [--gap MS]\n"
				"\t[--api select|poll|epoll|epoll-et (io_multiplex)]\n"
				"\t[--listen PORT | --connect IP:PORT | --port PORT]\n", argv[0]);
			return 2;
		}
	}
	if (count < 1 || size < 1)
		die("--count and --size must be positive");
	if (target) {
		role = "client";
		colon = strrchr(target, ':');
		if (!colon)
			die("--connect IP:PORT");
		*colon = 0;
		client(target, atoi(colon + 1), count, size, gap);
		return 0;
	}
	role = MODEL_NAME;
	if (*api) {
		static char r[64];

		snprintf(r, sizeof(r), "%s(%s)", MODEL_NAME, api);
		role = r;
	}
	if (listen_port >= 0) {
		server(listen_on(listen_port), count, size);
		return 0;
	}
	/* Both: listen first, so the client finds the port open. */
	printf("%s: %s server and client on 127.0.0.1:%d, %d messages of %zu bytes, %d ms apart\n",
	       role, family_name(), port, count, size, gap);
	opt = listen_on(port);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(opt);
		role = "client";
		client("127.0.0.1", port, count, size, gap);
		_exit(0);
	}
	server(opt, count, size);
	if (waitpid(pid, &opt, 0) < 0 || !WIFEXITED(opt) || WEXITSTATUS(opt))
		die("the client failed");
	return 0;
}

#endif /* IOMODEL_H */
