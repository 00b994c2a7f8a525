// SPDX-License-Identifier: GPL-2.0
/*
 * The non-blocking I/O model: with O_NONBLOCK, recv() never sleeps.  While
 * there is no data in the socket's receive buffer (phase 1) it fails at
 * once with EAGAIN, and the program asks again and again ("polling").
 * When data is there, recv() copies it (phase 2) and the program is blocked
 * only for that copy.  Options: see iomodel.h.
 */
#define MODEL_NAME "nonblocking"
#include "iomodel.h"

static void model_setup(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("O_NONBLOCK: %s", strerror(errno));
}

static void model_recv(int fd, char *buf, size_t len, struct phases *ph)
{
	int64_t t0 = now_ns(), t1;
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		t1 = now_ns();
		n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Phase 1: nothing yet.  A real program would do
			 * something useful here; this one naps 0.2 ms.
			 */
			ph->eagain++;
			other_work();
			continue;
		}
		if (n <= 0)
			die("recv: %s", n ? strerror(errno) : "EOF");
		ph->copy_ns += now_ns() - t1;		/* phase 2 */
		ph->wait_ns += t1 - t0;
		ph->calls++;
		got += n;
		t0 = now_ns();
	}
	say(ph->wait_how, "never asleep: %u recv() call%s returned EAGAIN",
	    ph->eagain, plural(ph->eagain));
	say(ph->copy_how, "%u recv() call%s that found data", ph->calls,
	    plural(ph->calls));
}

int main(int argc, char **argv)
{
	return iomodel_main(argc, argv);
}
