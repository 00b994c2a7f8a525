// SPDX-License-Identifier: GPL-2.0
/*
 * The signal-driven I/O model: the program asks the kernel for SIGIO when
 * the socket has news (fcntl F_SETOWN and O_ASYNC) and goes on with other
 * work; it is not blocked while data is on its way (phase 1).  When the
 * data has reached the socket's receive buffer, the kernel sends SIGIO;
 * the program then calls recv(), which copies the data (phase 2) and is
 * the only time it is blocked.  Options: see iomodel.h.
 */
#define MODEL_NAME "sigio"
#include "iomodel.h"

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static void model_setup(int fd)
{
	struct sigaction sa = { .sa_handler = on_sigio };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL))
		die("sigaction: %s", strerror(errno));
	/* Whom to signal, then turn signals on; non-blocking for the reads. */
	if (fcntl(fd, F_SETOWN, getpid()) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
}

static void model_recv(int fd, char *buf, size_t len, struct phases *ph)
{
	size_t got = 0;
	sig_atomic_t seen = sigio_count;
	bool try_first = true;	/* data may have come with an old SIGIO */

	while (got < len) {
		int64_t t0 = now_ns(), t1;
		ssize_t n;

		while (!try_first && sigio_count == seen) {	/* phase 1 */
			other_work();
			ph->work++;
		}
		if (!try_first)
			ph->waits++;
		seen = sigio_count;
		try_first = false;
		t1 = now_ns();
		ph->wait_ns += t1 - t0;
		for (;;) {					/* phase 2 */
			n = recv(fd, buf + got, len - got, 0);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("recv: %s", n ? strerror(errno) : "EOF");
			ph->calls++;
			got += n;
			if (got == len)
				break;
		}
		ph->copy_ns += now_ns() - t1;
	}
	say(ph->wait_how, "not blocked: %lu units of other work, %u SIGIO",
	    ph->work, ph->waits);
	say(ph->copy_how, "%u recv() call%s after the signal", ph->calls,
	    plural(ph->calls));
}

int main(int argc, char **argv)
{
	return iomodel_main(argc, argv);
}
