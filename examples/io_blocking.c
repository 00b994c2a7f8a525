// SPDX-License-Identifier: GPL-2.0
/*
 * The blocking I/O model: recv() puts the program to sleep until data has
 * reached the socket's receive buffer (phase 1), then copies it into the
 * program's buffer (phase 2), and only then returns.  The program is
 * blocked through both phases.
 *
 * A plain recv() does both phases in one call.  To time them apart, this
 * program first makes a blocking recv(MSG_PEEK) of one byte, which returns
 * as soon as there is data (phase 1, the copy of one byte is nothing), and
 * then the recv() that copies what is there (phase 2, no more waiting).
 * Options: see iomodel.h.
 */
#define MODEL_NAME "blocking"
#include "iomodel.h"

static void model_setup(int fd)
{
	(void)fd;	/* sockets block by default */
}

static void model_recv(int fd, char *buf, size_t len, struct phases *ph)
{
	size_t got = 0;

	while (got < len) {
		int64_t t0 = now_ns(), t1;
		ssize_t n = recv(fd, buf + got, 1, MSG_PEEK);	/* phase 1 */

		t1 = now_ns();
		if (n <= 0)
			die("recv(MSG_PEEK): %s", n ? strerror(errno) : "EOF");
		ph->wait_ns += t1 - t0;
		ph->waits++;
		n = recv(fd, buf + got, len - got, 0);		/* phase 2 */
		ph->copy_ns += now_ns() - t1;
		if (n <= 0)
			die("recv: %s", n ? strerror(errno) : "EOF");
		ph->calls++;
		got += n;
	}
	say(ph->wait_how, "asleep in recv(MSG_PEEK) %u time%s", ph->waits,
	    plural(ph->waits));
	say(ph->copy_how, "blocked in %u recv() call%s", ph->calls,
	    plural(ph->calls));
}

int main(int argc, char **argv)
{
	return iomodel_main(argc, argv);
}
