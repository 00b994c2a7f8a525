// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O multiplexing model: the program sleeps in select(), poll() or
 * epoll_wait() until the kernel reports a socket readable (phase 1: data
 * has reached its receive buffer), then calls recv(), which copies at once
 * (phase 2).  One wait can watch many sockets; here it watches one.
 *
 *   io_multiplex --api select|poll|epoll|epoll-et [options of iomodel.h]
 *
 * epoll is level-triggered by default: epoll_wait() reports the socket for
 * as long as it has data, so one recv() per report is enough.  With
 * EPOLLET (edge-triggered) it reports only new arrivals, so the program
 * must read until EAGAIN before it waits again, or it may wait forever
 * for data that is already there.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#define MODEL_NAME "multiplex"
#include "iomodel.h"

static int epfd = -1;
static bool edge;
static bool maybe_more;	/* edge-triggered: not read to EAGAIN yet */

static void model_setup(int fd)
{
	if (!*api)
		api = "epoll";
	if (strcmp(api, "select") && strcmp(api, "poll") &&
	    strcmp(api, "epoll") && strcmp(api, "epoll-et"))
		die("--api select, poll, epoll or epoll-et");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("O_NONBLOCK: %s", strerror(errno));
	if (!strncmp(api, "epoll", 5)) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
					  .data.fd = fd };

		edge = !strcmp(api, "epoll-et");
		if (edge)
			ev.events |= EPOLLET;
		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
			die("epoll: %s", strerror(errno));
	}
}

/* Phase 1: sleep until fd is readable. */
static void wait_readable(int fd)
{
	int r;

	if (!strcmp(api, "select")) {
		fd_set rd;

		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		r = select(fd + 1, &rd, NULL, NULL, NULL);
	} else if (!strcmp(api, "poll")) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		r = poll(&p, 1, -1);
	} else {
		struct epoll_event ev;

		r = epoll_wait(epfd, &ev, 1, -1);
	}
	if (r != 1)
		die("%s: %s", api, r < 0 ? strerror(errno) : "nothing ready");
}

static void model_recv(int fd, char *buf, size_t len, struct phases *ph)
{
	size_t got = 0;

	while (got < len) {
		int64_t t0 = now_ns(), t1;

		if (!maybe_more) {
			wait_readable(fd);			/* phase 1 */
			ph->waits++;
		}
		t1 = now_ns();
		ph->wait_ns += t1 - t0;
		maybe_more = false;
		do {						/* phase 2 */
			ssize_t n = recv(fd, buf + got, len - got, 0);

			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				ph->eagain++;
				break;
			}
			if (n <= 0)
				die("recv: %s", n ? strerror(errno) : "EOF");
			ph->calls++;
			got += n;
			/* Full: the rest is for the next message, and an
			 * edge-triggered epoll will not report it again.
			 */
			if (edge && got == len)
				maybe_more = true;
		} while (edge && got < len);
		ph->copy_ns += now_ns() - t1;
	}
	say(ph->wait_how, "asleep in %s %u time%s",
	    !strcmp(api, "select") ? "select()" : !strcmp(api, "poll") ?
	    "poll()" : "epoll_wait()", ph->waits, plural(ph->waits));
	say(ph->copy_how, "%u recv() call%s%s", ph->calls, plural(ph->calls),
	    edge ? ", read until EAGAIN or full" : "");
}

int main(int argc, char **argv)
{
	return iomodel_main(argc, argv);
}
