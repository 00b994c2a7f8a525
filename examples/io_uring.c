// SPDX-License-Identifier: GPL-2.0
/*
 * The asynchronous I/O model, with io_uring (through liburing): the
 * program hands the kernel a receive request (IORING_OP_RECV) and goes on
 * with other work.  The kernel waits for the data (phase 1) and copies it
 * into the program's buffer (phase 2) by itself, then posts a completion;
 * the program is blocked in neither phase.  The time printed for phase 1
 * is from the submission to the completion, both phases together, as the
 * program cannot see where one ends; phase 2 is what the program spent
 * collecting the completion.  Options: see iomodel.h.
 */
#include <liburing.h>

#define MODEL_NAME "io_uring"
#include "iomodel.h"

static struct io_uring ring;

static void model_setup(int fd)
{
	int err = io_uring_queue_init(4, &ring, 0);

	(void)fd;
	if (err)
		die("io_uring_queue_init: %s", strerror(-err));
}

static void model_recv(int fd, char *buf, size_t len, struct phases *ph)
{
	size_t got = 0;

	while (got < len) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		int64_t t0, t1;
		int res;

		io_uring_prep_recv(sqe, fd, buf + got, len - got, 0);
		t0 = now_ns();
		if (io_uring_submit(&ring) != 1)
			die("io_uring_submit failed");
		while (io_uring_peek_cqe(&ring, &cqe)) {	/* phases 1+2 */
			other_work();
			ph->work++;
		}
		t1 = now_ns();
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		ph->copy_ns += now_ns() - t1;
		ph->wait_ns += t1 - t0;
		if (res <= 0)
			die("recv: %s", res ? strerror(-res) : "EOF");
		ph->calls++;
		got += res;
	}
	say(ph->wait_how, "submission to completion, both phases done by the kernel; not blocked: %lu units of other work",
	    ph->work);
	say(ph->copy_how, "only reaping %u completion%s: the data is already copied",
	    ph->calls, plural(ph->calls));
}

int main(int argc, char **argv)
{
	return iomodel_main(argc, argv);
}
