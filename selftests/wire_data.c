// SPDX-License-Identifier: GPL-2.0
/*
 * Data on the wire where the RFCs leave a choice and Linux's is the one
 * scripts and tools expect (issue 14, "Differences from Linux"): when a
 * pure ACK goes out (after reads, after a FIN, every second full segment,
 * delayed otherwise), PSH, Nagle, TCP_CORK, MSG_MORE and TCP_NODELAY, how
 * much one write takes, TCP_INQ; and three defects a new user met (a
 * second connect() after a refused one, SO_TYPE and the owner of an
 * accepted socket, listen() with a backlog of 0).
 * Each test runs against toytcp and against Linux TCP (tt_wire.h).
 */
#include "tt_wire.h"

#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/wait.h>

TW_FIXTURE(data);

/* ------------------------------------------------------------------ */
/* ACKs: only where the RFC calls for one                              */

/*
 * Early in a connection every segment is ACKed at once (quick ACKs).  A
 * read() of data already ACKed opens the window only a little: no ACK,
 * whose ACK number and window would repeat the previous one's (the peer
 * would count it as a duplicate ACK, RFC 5681 2).
 */
TEST_F(data, small_read_sends_no_ack)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_in(w, "P. 1:101(100) ack 1");
	tw_out(w, ". 1:1(0) ack 101");
	tw_read(w, 100);
	tw_none(w, 300);
}

TEST_F(data, first_segments_acked_at_once)
{
	struct tw *w = &self->w;
	int i;

	tw_established(w, NULL);
	for (i = 0; i < 4; i++) {
		tw_in(w, "P. %d:%d(1000) ack 1", 1 + 1000 * i, 1001 + 1000 * i);
		tw_out(w, ". 1:1(0) ack %d", 1001 + 1000 * i);
	}
	tw_read(w, 4000);
	tw_none(w, 300);
}

/* TCP_QUICKACK 0: delayed ACKs.  One segment: its ACK waits (RFC 9293
 * 3.8.6.3, RFC 5681 4.2: at most 500 ms; Linux's and toytcp's 40 ms).
 */
TEST_F(data, delayed_ack_for_a_single_segment)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_QUICKACK, 0);
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_out_between(w, tw_last_in_us(w), 20, 250, ". 1:1(0) ack 1001");
}

/*
 * RFC 5681 4.2: an ACK for at least every second full-sized segment: one
 * ACK covers both, and a read() in between sends none (Linux's
 * tcp_cleanup_rbuf() leaves a delayed ACK alone unless the window doubles).
 * Linux 6.12 sends it at once; 6.1 only when the window's right edge moves
 * on as well, else at its delayed-ACK timeout: so "within 250 ms".  (After
 * that timeout Linux leaves delayed-ACK mode: what follows is not checked.)
 */
TEST_F(data, ack_every_second_full_segment)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_QUICKACK, 0);
	tw_in(w, "P. 1:1461(1460) ack 1");
	tw_read(w, 1460);
	tw_none(w, 10);
	tw_in(w, "P. 1461:2921(1460) ack 1");
	tw_out_wait(w, 250, ". 1:1(0) ack 2921");
	tw_read(w, 1460);
	tw_none(w, 100);
}

/*
 * Delayed-ACK mode, data then data with FIN back to back: one ACK covers
 * both, FIN included (Linux: 2002, after its delayed-ACK timeout: a FIN
 * puts Linux in "pingpong" mode), not an ACK of the first segment alone.
 */
TEST_F(data, data_then_fin_one_ack_for_both)
{
	struct tw *w = &self->w;
	int inq = -1;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_QUICKACK, 0);
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_in(w, "FP. 1001:2001(1000) ack 1");
	tw_out_wait(w, 250, ". 1:1(0) ack 2002");
	tw_eq(w, 0, ioctl(w->c->fd, SIOCINQ, &inq));
	tw_eq(w, 2000, inq);
	tw_none(w, 100);
	tw_read(w, 2000);
	tw_eq(w, 0, tw_recv_now(w));
	tw_none(w, 100);
}

/*
 * Delayed-ACK mode: a read() of what the delayed ACK holds does not send
 * that ACK early; it goes when the timer says.
 */
TEST_F(data, read_does_not_hurry_the_delayed_ack)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_QUICKACK, 0);
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_read(w, 1000);
	tw_out_between(w, tw_last_in_us(w), 20, 250, ". 1:1(0) ack 1001");
	tw_none(w, 200);
}

/* ------------------------------------------------------------------ */
/* PSH, Nagle, TCP_CORK, MSG_MORE, TCP_NODELAY                          */

/*
 * RFC 9293 3.9.1: PSH on the last segment of a write.  (Linux 6.12 also
 * sets it at the end of every GSO packet; 6.1 does not: the segments
 * before the last are not checked.)
 */
TEST_F(data, psh_on_last_segment_of_write)
{
	struct tw *w = &self->w;
	int i;

	tw_established(w, NULL);
	tw_write(w, 1000);
	tw_out(w, "P. 1:1001(1000) ack 1");
	tw_in(w, ". 1:1(0) ack 1001");
	tw_write(w, 10000);
	for (i = 0; i < 6; i++)
		tw_out(w, "p. %d:%d(1460) ack 1", 1001 + 1460 * i, 2461 + 1460 * i);
	tw_out(w, "P. 9761:11001(1240) ack 1");
}

/*
 * MSG_MORE: a full segment goes, without PSH; the tail waits (until the
 * ACK, as Linux does, or more data), and goes without PSH too: PSH marks
 * the end of what the application had to say, and MSG_MORE says it is not.
 */
TEST_F(data, no_psh_while_msg_more)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_eq(w, 1560, tw_write_flags(w, 1560, MSG_MORE));
	tw_out(w, ". 1:1461(1460) ack 1");
	tw_none(w, 30);
	tw_in(w, ". 1:1(0) ack 1461");
	tw_out(w, ". 1461:1561(100) ack 1");
	tw_in(w, ". 1:1(0) ack 1561");
	tw_write(w, 100);
	tw_out(w, "P. 1561:1661(100) ack 1");
}

/* Nagle (RFC 9293 3.7.4): a second small write waits for the first's ACK. */
TEST_F(data, nagle_holds_small_segment_until_ack)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_write(w, 100);
	tw_out(w, "P. 1:101(100) ack 1");
	tw_write(w, 100);
	tw_none(w, 100);
	tw_in(w, ". 1:1(0) ack 101");
	tw_out(w, "P. 101:201(100) ack 1");
}

/*
 * Linux's Nagle is Minshall's: it holds a small segment only while a small
 * segment is unacknowledged.  A write of 3 full segments and a tail goes
 * out whole, the tail with it.
 */
TEST_F(data, nagle_does_not_hold_tail_of_a_large_write)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_write(w, 3 * 1460 + 100);
	tw_out(w, "p. 1:1461(1460) ack 1");
	tw_out(w, "p. 1461:2921(1460) ack 1");
	tw_out(w, "p. 2921:4381(1460) ack 1");
	tw_out(w, "P. 4381:4481(100) ack 1");
}

TEST_F(data, nodelay_sends_small_writes_at_once)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
	tw_write(w, 100);
	tw_out(w, "P. 1:101(100) ack 1");
	tw_write(w, 100);
	tw_out(w, "P. 101:201(100) ack 1");
}

TEST_F(data, uncork_pushes_at_once)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 1);
	tw_write(w, 100);
	tw_none(w, 50);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 0);
	tw_out(w, "P. 1:101(100) ack 1");
}

/* TCP_NODELAY set on a corked socket pushes what is queued at once. */
TEST_F(data, nodelay_on_corked_socket_pushes_at_once)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 1);
	tw_write(w, 100);
	tw_none(w, 50);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
	tw_out(w, "P. 1:101(100) ack 1");
}

/* ... and so does it with data held back by MSG_MORE. */
TEST_F(data, nodelay_pushes_msg_more_data_at_once)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_eq(w, 100, tw_write_flags(w, 100, MSG_MORE));
	tw_none(w, 50);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
	/* (Linux sends it without PSH: MSG_MORE asked for none.) */
	tw_out(w, "p. 1:101(100) ack 1");
}

/*
 * A connection reset sends nothing more (issue 13): TCP_NODELAY or
 * uncorking after the peer's RST does not push what was queued.
 */
TEST_F(data, nodelay_or_uncork_after_reset_sends_nothing)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 1);
	tw_write(w, 100);
	tw_none(w, 50);
	tw_in(w, "R. 1:1(0) ack 1");
	tw_none(w, 50);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_NODELAY, 1);
	tw_none(w, 100);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 0);
	tw_none(w, 300);
	tw_eq(w, -ECONNRESET, tw_recv_now(w));
}

/* Corked data goes out by itself after about 200 ms (tcp(7)), not at once. */
TEST_F(data, corked_data_sent_after_200ms)
{
	struct tw *w = &self->w;
	long long t;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 1);
	t = tw_now(w);
	tw_write(w, 100);
	/* Linux: when its probe timer (the RTO) fires; toytcp: 200 ms. */
	tw_out_between(w, t, 150, 450, "P. 1:101(100) ack 1");
}

/*
 * Held data that goes out late in its 200 ms (uncorked at 120 ms) has the
 * whole retransmission timeout to be acknowledged, not what was left of
 * the hold: the first segment in flight re-arms the RTO, as
 * tcp_event_new_data_sent() does.  Unanswered, it is resent after the RTO
 * or a loss probe, 200 ms or more after it was sent (a jiffy less, 4 ms
 * at HZ=250, by the clock of a timer).
 */
TEST_F(data, uncorked_segment_gets_a_full_rto)
{
	struct tw *w = &self->w;
	long long sent;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 1);
	tw_write(w, 100);
	tw_none(w, 120);
	/* Timed from before the uncork: the segment left no earlier. */
	sent = tw_now(w);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_CORK, 0);
	tw_out(w, "P. 1:101(100) ack 1");
	tw_out_between(w, sent, 190, 1500, "P. 1:101(100) ack 1");
}

/* ------------------------------------------------------------------ */
/* Buffers and TCP_INQ                                                 */

/* An empty socket with the default buffers takes a 61,000-byte write. */
TEST_F(data, write_of_61000_bytes_taken_whole)
{
	struct tw *w = &self->w;

	tw_established(w, NULL);
	tw_eq(w, 61000, tw_write_flags(w, 61000, MSG_DONTWAIT));
	tw_sink(w, 61000, 1460, 5000);
}

/* The same on a path with loopback's MTU (65535 here: tun's largest). */
TEST_F(data, write_of_61000_bytes_taken_whole_mtu_65535)
{
	struct tw_peer p = TW_PEER_DEFAULT;
	struct tw *w = &self->w;

	tw_set_mtu(w, 65535);
	p.mss = 65495;
	tw_established(w, &p);
	tw_eq(w, 61000, tw_write_flags(w, 61000, MSG_DONTWAIT));
	tw_sink(w, 61000, 65495, 5000);
}

/* TCP_INQ: the bytes left to read, in a cmsg with every recvmsg(). */
TEST_F(data, tcp_inq_cmsg_reports_bytes_left)
{
	struct tw *w = &self->w;
	char cbuf[CMSG_SPACE(sizeof(int))];
	uint8_t buf[300];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	socklen_t len = sizeof(int);
	int v = 0, inq = -1, i;

	tw_established(w, NULL);
	tw_setsockopt_int(w, w->c->fd, IPPROTO_TCP, TCP_INQ, 1);
	tw_eq(w, 0, getsockopt(w->c->fd, IPPROTO_TCP, TCP_INQ, &v, &len));
	tw_eq(w, 1, v);
	tw_in(w, "P. 1:1001(1000) ack 1");
	tw_out_wait(w, 250, ". 1:1(0) ack 1001");
	tw_eq(w, 300, recvmsg(w->c->fd, &m, MSG_DONTWAIT));
	for (i = 0; i < 300; i++)
		tw_check(w, buf[i] == tw_pat(1 + i), "byte %d", i);
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == IPPROTO_TCP && cm->cmsg_type == TCP_CM_INQ)
			memcpy(&inq, CMSG_DATA(cm), sizeof(inq));
	tw_eq(w, 700, inq);
}

/* ------------------------------------------------------------------ */
/* Three defects                                                       */

/* connect() on a socket whose last connect() failed: the call may first
 * report the failure (ECONNABORTED) and then start anew.
 */
static void connect_again(struct tw *w, int fd, uint16_t port)
{
	struct sockaddr_in a = tw_sin(TW_RADDR, port);
	int i, r;

	for (i = 0; i < 3; i++) {
		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
		if (r < 0 && errno == EINPROGRESS) {
			tw_mark(w);
			return;
		}
		tw_check(w, r < 0 && (errno == ECONNABORTED || errno == ECONNREFUSED),
			 "connect again: %d %s", r, strerror(errno));
	}
	tw_fail(w, "connect() did not start again");
}

/* A connect() of @fd to @port, refused; connection @i.  Its ISN. */
static uint32_t refused_connect(struct tw *w, int i, int fd, uint16_t port)
{
	tw_conn_reset(w, i, port);
	connect_again(w, fd, port);
	tw_out(w, "S 0:0(0) <*>");
	tw_in(w, "R. 0:0(0) ack 1");
	tw_true(w, tw_poll(fd, POLLOUT, 1000) & (POLLERR | POLLHUP));
	tw_eq(w, ECONNREFUSED, tw_so_error(fd));
	return w->c->iss;
}

/*
 * connect() again on a socket whose connect()s were refused, then 8 MB:
 * everything arrives.  The refused attempts must leave nothing behind,
 * their SYNs in the send queue least of all: where one of them has an ISN
 * above the final connection's, a stale SYN at the head of the queue
 * would never be acknowledged.  MTU 9000 keeps the segment count low.
 */
TEST_F_TIMEOUT(data, connect_again_after_refused_then_8mb_arrives, 120)
{
	struct tw *w = &self->w;
	uint32_t first, stale;
	struct tw_conn *c;
	int fd, k, status;
	pid_t pid;

	tw_set_mtu(w, 9000);
	fd = tw_socket(w);
	tw_nonblock(fd);
	first = refused_connect(w, 0, fd, TW_SPORT);
	/* Linux continues the old sequence space (ISNs only grow); a stack
	 * that picks a new ISN per 4-tuple (RFC 6528) sooner or later gives a
	 * connect() to another port an ISN above the first one's.
	 */
	for (k = 0; k < 40; k++) {
		stale = refused_connect(w, 1, fd, TW_SPORT + 1 + k);
		if ((int32_t)(stale - (first + (1u << 28))) > 0)
			break;
	}

	c = tw_conn_reset(w, 2, TW_SPORT);
	c->fd = fd;
	connect_again(w, fd, TW_SPORT);
	tw_out(w, "S 0:0(0) <*>");
	tw_learn_syn(w, false);
	c->rcv = 1;
	c->sack = c->stack_sack;
	c->wscale = c->stack_wscale >= 0;
	c->win = 2048;		/* 256 KB with wscale 7 */
	tw_in(w, "S. 0:0(0) ack 1 win 65535 <mss 8960,nop,nop,sackOK,nop,wscale 7>");
	tw_out(w, ". 1:1(0) ack 1");
	tw_true(w, tw_poll(fd, POLLOUT, 1000) & POLLOUT);
	tw_eq(w, 0, tw_so_error(fd));

	pid = fork();
	if (!pid) {
		long left = 8 << 20;

		/* Not a second test process: no output, and gone with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(STDOUT_FILENO);
		close(STDERR_FILENO);

		while (left > 0) {
			long n = tw_write_flags(w, left > (1 << 20) ? 1 << 20 : left, 0);

			if (n <= 0 && errno != EAGAIN && errno != EINTR)
				_exit(1);
			if (n <= 0) {
				tw_poll(fd, POLLOUT, 1000);
				continue;
			}
			left -= n;
		}
		_exit(0);
	}
	tw_true(w, pid > 0);
	tw_sink(w, 8 << 20, 0, 90000);
	tw_eq(w, pid, waitpid(pid, &status, 0));
	tw_true(w, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* getsockopt(SO_TYPE) on an accepted socket: SOCK_STREAM, as socket()'s. */
TEST_F(data, accepted_socket_so_type_is_stream)
{
	struct tw *w = &self->w;
	socklen_t len = sizeof(int);
	int v = -1;

	tw_established(w, NULL);
	tw_eq(w, 0, getsockopt(w->c->fd, SOL_SOCKET, SO_TYPE, &v, &len));
	tw_eq(w, SOCK_STREAM, v);
	len = sizeof(int);
	tw_eq(w, 0, getsockopt(w->c->fd, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	/* 0 on toytcp, as socket()'s: its sk_protocol is not IPPROTO_TCP,
	 * which the kernel's BPF helpers would take for a tcp_sock (sock.c).
	 */
	tw_eq(w, w->fam == AF_INET ? IPPROTO_TCP : 0, v);
	len = sizeof(int);
	tw_eq(w, 0, getsockopt(w->c->fd, SOL_SOCKET, SO_DOMAIN, &v, &len));
	tw_eq(w, w->fam, v);
}

/*
 * The connection a listener makes runs with the listener's credentials
 * from the SYN on, as Linux's request and child sockets carry the
 * listener's sk_uid: a uid routing rule for the listener's owner (to a
 * route with MTU 1040) applies to its SYN-ACK, whose MSS is then 1000;
 * and /proc shows the owner for the connection in SYN-RECEIVED.
 */
TEST_F(data, connection_runs_as_listener_owner)
{
	struct tw *w = &self->w;
	int uid = -1;

	tw_check(w, !system("ip rule add uidrange 4321-4321 lookup 100 pref 100"),
		 "ip rule");
	tw_check(w, !system("ip route add 192.0.2.0/24 dev tt0 mtu 1040 table 100"),
		 "ip route");
	setfsuid(4321);
	tw_listen(w);
	setfsuid(0);
	tw_syn_received(w, NULL);
	tw_last_is(w, "S. 0:0(0) ack 1 <mss 1000,nop,nop,sackOK,nop,wscale *>");
	tw_eq(w, TW_SYN_RECV, tw_state_of(w, w->c, &uid));
	tw_eq(w, 4321, uid);
}

/* listen(fd, 0) takes one connection, as Linux does (sk_acceptq_is_full()
 * is "more than the backlog"), and no second one until it is accepted.
 */
TEST_F(data, listen_backlog_zero_accepts_one)
{
	struct tw *w = &self->w;
	struct tw_conn *c;
	int fd;

	tw_listen_backlog(w, 0);
	tw_syn_received(w, NULL);
	tw_in(w, ". 1:1(0) ack 1");
	tw_none(w, 20);
	c = tw_conn_new(w, TW_RPORT + 1);
	c->lport = TW_LPORT;
	tw_in(w, "S 0:0(0) win 65535 <mss 1460>");
	tw_none(w, 100);
	tw_use(w, 0);
	tw_true(w, tw_poll(w->lfd, POLLIN, 1000) & POLLIN);
	fd = accept(w->lfd, NULL, NULL);
	tw_true(w, fd >= 0);
	w->c->fd = fd;
	tw_assert_state(w, TW_ESTABLISHED);
	tw_use(w, 1);
	tw_in(w, "S 0:0(0) win 65535 <mss 1460>");
	tw_out(w, "S. 0:0(0) ack 1 <*>");
}

TEST_HARNESS_MAIN
