// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input gets the errno Linux TCP gives.  Where practical each call is
 * made on a toytcp socket and on a Linux TCP (AF_INET) socket in the same
 * namespace, and both must fail with the expected errno.
 */
#include "toytcp_test.h"

#define LO "127.0.0.1"

FIXTURE(err) {
	void *bad;	/* an address with nothing mapped */
};

FIXTURE_SETUP(err)
{
	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK();
	self->bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->bad);
	ASSERT_EQ(0, munmap(self->bad, 4096));
}

FIXTURE_TEARDOWN(err)
{
}

/* expr must fail with errno want. */
#define EXPECT_ERRNO(want, expr) do {					\
	long __r;							\
	int __e;							\
	errno = 0;							\
	__r = (long)(expr);						\
	__e = errno;							\
	EXPECT_EQ(-1, __r) TH_LOG("%s succeeded", #expr);		\
	EXPECT_EQ(want, __e) TH_LOG("%s: %s, want %s", #expr,		\
				    strerror(__e), strerror(want));	\
} while (0)

/* The same call on the toytcp socket t and the Linux TCP socket l. */
#define EXPECT_BOTH(want, t, l, call, ...) do {				\
	EXPECT_ERRNO(want, call(t, ##__VA_ARGS__));			\
	EXPECT_ERRNO(want, call(l, ##__VA_ARGS__));			\
} while (0)

/* Two sockets: one of the stack under test, one Linux TCP. */
static void two(struct __test_metadata *_metadata, int *t, int *l)
{
	*t = tt_socket();
	*l = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, *t);
	ASSERT_LE(0, *l);
}

/* A connected pair of the given family on 127.0.0.1:port. */
static void conn(struct __test_metadata *_metadata, int fam, int port,
		 struct tt_conn *k)
{
	int err = tt_pair(k, -1, fam, NULL, 0, -1, fam, LO, port);

	ASSERT_EQ(0, err) TH_LOG("family %d: connect: %s", fam, strerror(err));
}

TEST_F(err, bind_wrong_family_eafnosupport)
{
	struct sockaddr_in a = tt_sin(AF_INET6, LO, 5000);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EAFNOSUPPORT, t, l, bind, TT_SA(&a), sizeof(a));
	a.sin_family = AF_UNIX;
	EXPECT_BOTH(EAFNOSUPPORT, t, l, bind, TT_SA(&a), sizeof(a));
	close(t);
	close(l);
}

TEST_F(err, connect_wrong_family_eafnosupport)
{
	struct sockaddr_in a = tt_sin(AF_INET6, LO, 5000);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EAFNOSUPPORT, t, l, connect, TT_SA(&a), sizeof(a));
	close(t);
	close(l);
}

/* The contract: bind/connect take AF_INET too; names come back AF_TOYTCP. */
TEST_F(err, af_inet_address_accepted_names_carry_family)
{
	struct sockaddr_in a = tt_sin(AF_INET, LO, 5000), n;
	struct tt_conn k;
	int t;

	t = tt_socket();
	ASSERT_LE(0, t);
	ASSERT_EQ(0, bind(t, TT_SA(&a), sizeof(a))) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, listen(t, 4));
	ASSERT_EQ(0, tt_sockname(t, &n));
	EXPECT_EQ(tt_fam(), n.sin_family);
	EXPECT_EQ(htons(5000), n.sin_port);
	k.c = tt_socket();
	ASSERT_LE(0, k.c);
	EXPECT_EQ(0, tt_connect_to(k.c, AF_INET, LO, 5000, 5000));
	ASSERT_EQ(0, tt_peername(k.c, &n));
	EXPECT_EQ(tt_fam(), n.sin_family);
	close(k.c);
	close(t);
}

TEST_F(err, bind_bad_addrlen_einval)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	int t, l;

	two(_metadata, &t, &l);
	memset(&ss, 0, sizeof(ss));
	*a = tt_sin(tt_fam(), LO, 5000);
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), sizeof(*a) - 1));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), 2));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), 0));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), sizeof(ss) + 1));
	a->sin_family = AF_INET;
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(a), sizeof(*a) - 1));
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(a), 2));
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(a), 0));
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(a), sizeof(ss) + 1));
	close(t);
	close(l);
}

TEST_F(err, connect_bad_addrlen_einval)
{
	struct sockaddr_in a = tt_sin(tt_fam(), LO, 5000);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), sizeof(a) - 1));
	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), 8));
	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), 1));
	a.sin_family = AF_INET;
	EXPECT_ERRNO(EINVAL, connect(l, TT_SA(&a), sizeof(a) - 1));
	EXPECT_ERRNO(EINVAL, connect(l, TT_SA(&a), 8));
	EXPECT_ERRNO(EINVAL, connect(l, TT_SA(&a), 1));
	close(t);
	close(l);
}

TEST_F(err, bind_connect_bad_pointer_efault)
{
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EFAULT, t, l, bind, NULL, sizeof(struct sockaddr_in));
	EXPECT_BOTH(EFAULT, t, l, bind, self->bad, sizeof(struct sockaddr_in));
	EXPECT_BOTH(EFAULT, t, l, connect, NULL, sizeof(struct sockaddr_in));
	EXPECT_BOTH(EFAULT, t, l, connect, self->bad, sizeof(struct sockaddr_in));
	close(t);
	close(l);
}

TEST_F(err, name_bad_pointer_efault)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct tt_conn kt, kl;

	conn(_metadata, tt_fam(), 5000, &kt);
	conn(_metadata, AF_INET, 5001, &kl);
	EXPECT_BOTH(EFAULT, kt.c, kl.c, getsockname, self->bad, &len);
	EXPECT_BOTH(EFAULT, kt.c, kl.c, getsockname, TT_SA(&a), self->bad);
	EXPECT_BOTH(EFAULT, kt.c, kl.c, getpeername, self->bad, &len);
	EXPECT_BOTH(EFAULT, kt.c, kl.c, getpeername, TT_SA(&a), NULL);
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

/* A failed send sends nothing; the connection goes on. */
TEST_F(err, send_bad_buffer_efault)
{
	struct tt_conn kt, kl;
	struct tt_conn *ks[2] = { &kt, &kl };
	char buf[8];
	int i;

	conn(_metadata, tt_fam(), 5000, &kt);
	conn(_metadata, AF_INET, 5001, &kl);
	for (i = 0; i < 2; i++) {
		struct tt_conn *k = ks[i];

		EXPECT_ERRNO(EFAULT, send(k->c, self->bad, 100, 0));
		EXPECT_ERRNO(EFAULT, send(k->c, NULL, 100, 0));
		EXPECT_EQ(0, tt_poll1(k->s, POLLIN, 200)) TH_LOG("#%d: data arrived", i);
		EXPECT_EQ(2, send(k->c, "ok", 2, 0));
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(2, tt_recv_to(k->s, buf, sizeof(buf), 5000));
		EXPECT_STREQ("ok", buf);
	}
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

/* A failed recv consumes nothing. */
TEST_F(err, recv_bad_buffer_efault_keeps_data)
{
	struct tt_conn kt, kl;
	struct tt_conn *ks[2] = { &kt, &kl };
	char buf[16];
	int i;

	conn(_metadata, tt_fam(), 5000, &kt);
	conn(_metadata, AF_INET, 5001, &kl);
	for (i = 0; i < 2; i++) {
		struct tt_conn *k = ks[i];

		EXPECT_EQ(5, send(k->c, "hello", 5, 0));
		EXPECT_NE(0, tt_poll1(k->s, POLLIN, 5000) & POLLIN);
		EXPECT_ERRNO(EFAULT, recv(k->s, self->bad, 100, 0));
		EXPECT_ERRNO(EFAULT, recv(k->s, NULL, 100, 0));
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(5, tt_recv_all(k->s, buf, 5, 5000));
		EXPECT_STREQ("hello", buf);
	}
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

TEST_F(err, socket_level_optval_bad_pointer_efault)
{
	socklen_t len = sizeof(int);
	int t, l, v = 1 << 16;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EFAULT, t, l, setsockopt, SOL_SOCKET, SO_RCVBUF, NULL, sizeof(int));
	EXPECT_BOTH(EFAULT, t, l, setsockopt, SOL_SOCKET, SO_RCVBUF, self->bad, sizeof(int));
	EXPECT_BOTH(EFAULT, t, l, getsockopt, SOL_SOCKET, SO_ERROR, self->bad, &len);
	EXPECT_BOTH(EFAULT, t, l, getsockopt, SOL_SOCKET, SO_ERROR, &v, NULL);
	EXPECT_BOTH(EFAULT, t, l, getsockopt, SOL_SOCKET, SO_ERROR, &v, self->bad);
	/* ...and the same options work with good pointers. */
	EXPECT_EQ(0, setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	EXPECT_EQ(0, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len));
	EXPECT_EQ(0, v);
	close(t);
	close(l);
}

/* IPPROTO_TCP options: TCP_NODELAY works, bad pointers give EFAULT. */
TEST_F(err, tcp_level_optval_bad_pointer_efault)
{
	socklen_t len = sizeof(int);
	int t, l, v = 1;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EFAULT, t, l, setsockopt, IPPROTO_TCP, TCP_NODELAY, self->bad, sizeof(int));
	EXPECT_BOTH(EFAULT, t, l, getsockopt, IPPROTO_TCP, TCP_NODELAY, self->bad, &len);
	EXPECT_EQ(0, setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)))
		TH_LOG("TCP_NODELAY: %s", strerror(errno));
	v = 0;
	len = sizeof(v);
	EXPECT_EQ(0, getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len));
	EXPECT_EQ(1, v);
	close(t);
	close(l);
}

/*
 * TCP_CONGESTION: "reno" is there on both stacks; a name no stack knows is
 * ENOENT; getsockopt gives back what was set.  IP_ADD_MEMBERSHIP on a
 * stream socket is EPROTO (sysfuzz found toytcp joining the group).
 */
TEST_F(err, congestion_unknown_enoent_multicast_eproto)
{
	struct ip_mreqn mr = { .imr_ifindex = 1 };
	char name[16] = "";
	socklen_t len = sizeof(name);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_EQ(0, setsockopt(t, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	EXPECT_EQ(0, getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, name, &len));
	EXPECT_STREQ("reno", name);
	EXPECT_BOTH(ENOENT, t, l, setsockopt, IPPROTO_TCP, TCP_CONGESTION,
		    "no-such-cc", 10);
	mr.imr_multiaddr.s_addr = htonl(0xef010101);	/* 239.1.1.1 */
	EXPECT_BOTH(EPROTO, t, l, setsockopt, SOL_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr));
	close(t);
	close(l);
}

/*
 * Ports below 1024 need CAP_NET_BIND_SERVICE, as for Linux TCP: a process
 * without it (uid nobody) gets EACCES from both stacks; root binds.
 */
TEST_F(err, low_port_needs_cap_net_bind_service_eacces)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 81);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 82);
	int st, t, l;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int et, el;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		t = tt_socket();
		l = socket(AF_INET, SOCK_STREAM, 0);
		et = bind(t, TT_SA(&at), sizeof(at)) ? errno : 0;
		el = bind(l, TT_SA(&al), sizeof(al)) ? errno : 0;
		_exit(et == EACCES && el == EACCES ? 0 : 10 + (et != EACCES));
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st))
		TH_LOG("as nobody: %s", WEXITSTATUS(st) == 11 ?
		       "the stack under test did not refuse port 81 with EACCES" :
		       WEXITSTATUS(st) == 10 ? "Linux TCP did not refuse port 82" :
		       "could not become nobody");
	/* Root may. */
	two(_metadata, &t, &l);
	EXPECT_EQ(0, bind(t, TT_SA(&at), sizeof(at))) TH_LOG("%s", strerror(errno));
	close(t);
	close(l);
}

TEST_F(err, connect_no_listener_econnrefused)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 5999);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5999);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_ERRNO(ECONNREFUSED, connect(t, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(ECONNREFUSED, connect(l, TT_SA(&al), sizeof(al)));
	close(t);
	close(l);
}

/* Linux: send on a never-connected socket is EPIPE, recv is ENOTCONN. */
TEST_F(err, io_on_unconnected_socket_epipe_enotconn)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char buf[4];
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EPIPE, t, l, send, "x", 1, MSG_NOSIGNAL);
	EXPECT_BOTH(ENOTCONN, t, l, recv, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT_BOTH(ENOTCONN, t, l, getpeername, TT_SA(&a), &len);
	EXPECT_BOTH(ENOTCONN, t, l, shutdown, SHUT_RDWR);
	close(t);
	close(l);

	/* The same on listening sockets. */
	t = tt_listen_in(-1, tt_fam(), LO, 5000, 4);
	l = tt_listen_in(-1, AF_INET, LO, 5001, 4);
	ASSERT_LE(0, t);
	ASSERT_LE(0, l);
	EXPECT_BOTH(EPIPE, t, l, send, "x", 1, MSG_NOSIGNAL);
	EXPECT_BOTH(ENOTCONN, t, l, recv, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT_BOTH(ENOTCONN, t, l, getpeername, TT_SA(&a), &len);
	close(t);
	close(l);
}

TEST_F(err, listen_on_connected_socket_einval)
{
	struct tt_conn kt, kl;

	conn(_metadata, tt_fam(), 5000, &kt);
	conn(_metadata, AF_INET, 5001, &kl);
	EXPECT_BOTH(EINVAL, kt.c, kl.c, listen, 4);
	EXPECT_BOTH(EINVAL, kt.s, kl.s, listen, 4);
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

TEST_F(err, bind_twice_einval)
{
	struct sockaddr_in a1 = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in a2 = tt_sin(tt_fam(), LO, 5002);
	struct sockaddr_in l1 = tt_sin(AF_INET, LO, 5001);
	struct sockaddr_in l2 = tt_sin(AF_INET, LO, 5003);
	struct tt_conn kt, kl;
	int t, l;

	two(_metadata, &t, &l);
	ASSERT_EQ(0, bind(t, TT_SA(&a1), sizeof(a1)));
	ASSERT_EQ(0, bind(l, TT_SA(&l1), sizeof(l1)));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(&a1), sizeof(a1)));
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(&l1), sizeof(l1)));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(&a2), sizeof(a2)));
	EXPECT_ERRNO(EINVAL, bind(l, TT_SA(&l2), sizeof(l2)));
	close(t);
	close(l);

	/* connect() bound the socket: bind after it fails too. */
	conn(_metadata, tt_fam(), 5004, &kt);
	conn(_metadata, AF_INET, 5005, &kl);
	EXPECT_ERRNO(EINVAL, bind(kt.c, TT_SA(&a2), sizeof(a2)));
	EXPECT_ERRNO(EINVAL, bind(kl.c, TT_SA(&l2), sizeof(l2)));
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

TEST_F(err, accept_on_non_listening_socket_einval)
{
	struct sockaddr_in a1 = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in l1 = tt_sin(AF_INET, LO, 5001);
	struct tt_conn kt, kl;
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_BOTH(EINVAL, t, l, accept, NULL, NULL);
	ASSERT_EQ(0, bind(t, TT_SA(&a1), sizeof(a1)));
	ASSERT_EQ(0, bind(l, TT_SA(&l1), sizeof(l1)));
	EXPECT_BOTH(EINVAL, t, l, accept, NULL, NULL);
	close(t);
	close(l);
	conn(_metadata, tt_fam(), 5002, &kt);
	conn(_metadata, AF_INET, 5003, &kl);
	EXPECT_BOTH(EINVAL, kt.c, kl.c, accept, NULL, NULL);
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

TEST_F(err, connect_when_connected_eisconn)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5001);
	int lt, ll, t, l;

	/* Blocking connects: after a non-blocking one completes, Linux
	 * returns 0 to the next connect() (SS_CONNECTING -> SS_CONNECTED). */
	lt = tt_listen_in(-1, tt_fam(), LO, 5000, 4);
	ll = tt_listen_in(-1, AF_INET, LO, 5001, 4);
	ASSERT_LE(0, lt);
	ASSERT_LE(0, ll);
	two(_metadata, &t, &l);
	ASSERT_EQ(0, connect(t, TT_SA(&at), sizeof(at)));
	ASSERT_EQ(0, connect(l, TT_SA(&al), sizeof(al)));
	EXPECT_ERRNO(EISCONN, connect(t, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(EISCONN, connect(l, TT_SA(&al), sizeof(al)));
	close(t);
	close(l);
	close(lt);
	close(ll);
}

TEST_F(err, shutdown_bad_how_einval)
{
	struct tt_conn kt, kl;

	conn(_metadata, tt_fam(), 5000, &kt);
	conn(_metadata, AF_INET, 5001, &kl);
	EXPECT_BOTH(EINVAL, kt.c, kl.c, shutdown, 3);
	EXPECT_BOTH(EINVAL, kt.c, kl.c, shutdown, -1);
	/* Still connected. */
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(kt.c));
	tt_conn_close(&kt);
	tt_conn_close(&kl);
}

TEST_F(err, bind_nonlocal_address_eaddrnotavail)
{
	struct sockaddr_in at = tt_sin(tt_fam(), "10.99.99.99", 5000);
	struct sockaddr_in al = tt_sin(AF_INET, "10.99.99.99", 5000);
	int t, l;

	two(_metadata, &t, &l);
	EXPECT_ERRNO(EADDRNOTAVAIL, bind(t, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(EADDRNOTAVAIL, bind(l, TT_SA(&al), sizeof(al)));
	close(t);
	close(l);
}

/* socket(): the contract's errnos for other types; protocol must be TCP. */
TEST_F(err, socket_other_types_esocktnosupport)
{
	if (tt_is_linux())
		SKIP(return, "AF_INET supports these types");
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(tt_fam(), SOCK_DGRAM, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(tt_fam(), SOCK_RAW, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(tt_fam(), SOCK_SEQPACKET, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(tt_fam(), SOCK_DGRAM, IPPROTO_UDP));
}

TEST_F(err, socket_stream_other_protocol_eprotonosupport)
{
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(tt_fam(), SOCK_STREAM, IPPROTO_UDP));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(tt_fam(), SOCK_STREAM, IPPROTO_ICMP));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP));
}

TEST_F(err, socket_stream_tcp_protocol_and_flags)
{
	struct sockaddr_in a = tt_sin(tt_fam(), LO, 5000);
	socklen_t len = sizeof(int);
	int fd, v;

	fd = socket(tt_fam(), SOCK_STREAM, IPPROTO_TCP);
	EXPECT_LE(0, fd) TH_LOG("IPPROTO_TCP: %s", strerror(errno));
	close(fd);
	fd = socket(tt_fam(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd) TH_LOG("SOCK_NONBLOCK|SOCK_CLOEXEC: %s", strerror(errno));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(SOCK_STREAM, v);
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len));
	EXPECT_EQ(tt_fam(), v);
	/* Non-blocking accept on an empty listener. */
	ASSERT_EQ(0, bind(fd, TT_SA(&a), sizeof(a)));
	ASSERT_EQ(0, listen(fd, 4));
	EXPECT_ERRNO(EAGAIN, accept(fd, NULL, NULL));
	close(fd);
}

/* listen() without bind() picks a port, as Linux does. */
TEST_F(err, listen_without_bind_autobinds)
{
	struct sockaddr_in n;
	int t, c;

	t = tt_socket();
	ASSERT_LE(0, t);
	ASSERT_EQ(0, listen(t, 4)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, tt_sockname(t, &n));
	EXPECT_NE(0, n.sin_port);
	c = tt_socket();
	ASSERT_LE(0, c);
	EXPECT_EQ(0, tt_connect_to(c, tt_fam(), LO, ntohs(n.sin_port), 5000));
	close(c);
	close(t);
}

/* ------------------------------------------------------------------ */
/* One port space with Linux TCP                                       */

TEST_F(err, bind_port_held_by_linux_tcp_eaddrinuse)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5000);
	int t, l;

	two(_metadata, &t, &l);
	ASSERT_EQ(0, bind(l, TT_SA(&al), sizeof(al)));
	EXPECT_ERRNO(EADDRINUSE, bind(t, TT_SA(&at), sizeof(at)));
	/* Also while the Linux socket listens, and on the wildcard address. */
	ASSERT_EQ(0, listen(l, 4));
	EXPECT_ERRNO(EADDRINUSE, bind(t, TT_SA(&at), sizeof(at)));
	at.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_ERRNO(EADDRINUSE, bind(t, TT_SA(&at), sizeof(at)));
	close(t);
	close(l);
}

TEST_F(err, linux_bind_port_held_by_toytcp_eaddrinuse)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5000);
	int t, l;

	two(_metadata, &t, &l);
	ASSERT_EQ(0, bind(t, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	ASSERT_EQ(0, listen(t, 4));
	l = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	l = socket(AF_INET, SOCK_STREAM, 0);
	al.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	/* Released on close. */
	close(t);
	l = socket(AF_INET, SOCK_STREAM, 0);
	al.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(0, bind(l, TT_SA(&al), sizeof(al))) TH_LOG("%s", strerror(errno));
	close(l);
}

/* The port connect() picked is reserved against Linux TCP too. */
TEST_F(err, linux_bind_toytcp_ephemeral_port_eaddrinuse)
{
	struct sockaddr_in n, al;
	struct tt_conn k;
	int l;

	conn(_metadata, tt_fam(), 5000, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &n));
	al = tt_sin(AF_INET, LO, ntohs(n.sin_port));
	l = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, l);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	tt_conn_close(&k);
}

TEST_F(err, two_binds_same_port_eaddrinuse)
{
	struct sockaddr_in at = tt_sin(tt_fam(), LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5001);
	int t1, t2, l1, l2;

	two(_metadata, &t1, &l1);
	two(_metadata, &t2, &l2);
	ASSERT_EQ(0, bind(t1, TT_SA(&at), sizeof(at)));
	ASSERT_EQ(0, bind(l1, TT_SA(&al), sizeof(al)));
	EXPECT_ERRNO(EADDRINUSE, bind(t2, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(EADDRINUSE, bind(l2, TT_SA(&al), sizeof(al)));
	close(t1);
	close(t2);
	close(l1);
	close(l2);
}

TEST_HARNESS_MAIN
