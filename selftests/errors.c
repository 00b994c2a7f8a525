// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input gets the errno Linux TCP gives.  Fixture "err" runs every
 * call on a socket of its variant's stack (toytcp, linux: tt_linux.h), and
 * both must fail with the errno written here.  Fixture "own" has what is
 * toytcp's alone: the contract for AF_INET addresses and socket types,
 * and the port space toytcp shares with Linux TCP.
 */
#include "toytcp_test.h"

#define LO TT_LO

FIXTURE(err) {
	void *bad;	/* an address with nothing mapped */
};

FIXTURE_VARIANT(err) {
	enum tt_stack stack;
};

TT_VARIANTS_BOTH_STACKS(err);

/* A fresh namespace; an address nothing is mapped at. */
static void *fresh_ns_and_bad_address(struct __test_metadata *_metadata, enum tt_stack s)
{
	void *bad;

	ASSERT_EQ(0, tt_fresh_netns());
	TT_REQUIRE_STACK(s);
	/* The connections these tests close go soon (a TIME-WAIT of 60 s
	 * keeps toytcp's sockets, and the module, busy that long).
	 */
	if (s == TT_TOYTCP)
		TT_SET_TW(TT_TW_MS);
	bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(0, munmap(bad, 4096));
	return bad;
}

FIXTURE_SETUP(err)
{
	self->bad = fresh_ns_and_bad_address(_metadata, variant->stack);
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

/* A socket of the variant's stack. */
#define SOCK() ({							\
	int __fd = tt_socket(variant->stack);				\
	ASSERT_LE(0, __fd);						\
	__fd;								\
})

/* An address of the variant's family. */
#define SIN(ip, port) tt_sin(tt_family(variant->stack), ip, port)

TEST_F(err, bind_wrong_family_eafnosupport)
{
	struct sockaddr_in a = tt_sin(AF_INET6, LO, 5000);
	int t = SOCK();

	EXPECT_ERRNO(EAFNOSUPPORT, bind(t, TT_SA(&a), sizeof(a)));
	a.sin_family = AF_UNIX;
	EXPECT_ERRNO(EAFNOSUPPORT, bind(t, TT_SA(&a), sizeof(a)));
	close(t);
}

TEST_F(err, connect_wrong_family_eafnosupport)
{
	struct sockaddr_in a = tt_sin(AF_INET6, LO, 5000);
	int t = SOCK();

	EXPECT_ERRNO(EAFNOSUPPORT, connect(t, TT_SA(&a), sizeof(a)));
	close(t);
}

TEST_F(err, bind_bad_addrlen_einval)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	int t = SOCK();

	memset(&ss, 0, sizeof(ss));
	*a = SIN(LO, 5000);
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), sizeof(*a) - 1));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), 2));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), 0));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(a), sizeof(ss) + 1));
	close(t);
}

TEST_F(err, connect_bad_addrlen_einval)
{
	struct sockaddr_in a = SIN(LO, 5000);
	int t = SOCK();

	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), sizeof(a) - 1));
	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), 8));
	EXPECT_ERRNO(EINVAL, connect(t, TT_SA(&a), 1));
	close(t);
}

TEST_F(err, bind_connect_bad_pointer_efault)
{
	int t = SOCK();

	EXPECT_ERRNO(EFAULT, bind(t, NULL, sizeof(struct sockaddr_in)));
	EXPECT_ERRNO(EFAULT, bind(t, self->bad, sizeof(struct sockaddr_in)));
	EXPECT_ERRNO(EFAULT, connect(t, NULL, sizeof(struct sockaddr_in)));
	EXPECT_ERRNO(EFAULT, connect(t, self->bad, sizeof(struct sockaddr_in)));
	close(t);
}

TEST_F(err, name_bad_pointer_efault)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct tt_conn k;

	tt_lo_pair(_metadata, variant->stack, 5000, &k);
	EXPECT_ERRNO(EFAULT, getsockname(k.c, self->bad, &len));
	EXPECT_ERRNO(EFAULT, getsockname(k.c, TT_SA(&a), self->bad));
	EXPECT_ERRNO(EFAULT, getpeername(k.c, self->bad, &len));
	EXPECT_ERRNO(EFAULT, getpeername(k.c, TT_SA(&a), NULL));
	tt_conn_close(&k);
}

/* A failed send sends nothing; the connection goes on. */
TEST_F(err, send_bad_buffer_efault)
{
	struct tt_conn k;
	char buf[8];

	tt_lo_pair(_metadata, variant->stack, 5000, &k);
	EXPECT_ERRNO(EFAULT, send(k.c, self->bad, 100, 0));
	EXPECT_ERRNO(EFAULT, send(k.c, NULL, 100, 0));
	EXPECT_EQ(0, tt_poll1(k.s, POLLIN, 200)) TH_LOG("data arrived");
	EXPECT_EQ(2, send(k.c, "ok", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, tt_recv_to(k.s, buf, sizeof(buf), 5000));
	EXPECT_STREQ("ok", buf);
	tt_conn_close(&k);
}

/* A failed recv consumes nothing. */
TEST_F(err, recv_bad_buffer_efault_keeps_data)
{
	struct tt_conn k;
	char buf[16];

	tt_lo_pair(_metadata, variant->stack, 5000, &k);
	EXPECT_EQ(5, send(k.c, "hello", 5, 0));
	EXPECT_NE(0, tt_poll1(k.s, POLLIN, 5000) & POLLIN);
	EXPECT_ERRNO(EFAULT, recv(k.s, self->bad, 100, 0));
	EXPECT_ERRNO(EFAULT, recv(k.s, NULL, 100, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, tt_recv_all(k.s, buf, 5, 5000));
	EXPECT_STREQ("hello", buf);
	tt_conn_close(&k);
}

TEST_F(err, socket_level_optval_bad_pointer_efault)
{
	socklen_t len = sizeof(int);
	int t = SOCK(), v = 1 << 16;

	EXPECT_ERRNO(EFAULT, setsockopt(t, SOL_SOCKET, SO_RCVBUF, NULL, sizeof(int)));
	EXPECT_ERRNO(EFAULT, setsockopt(t, SOL_SOCKET, SO_RCVBUF, self->bad, sizeof(int)));
	EXPECT_ERRNO(EFAULT, getsockopt(t, SOL_SOCKET, SO_ERROR, self->bad, &len));
	EXPECT_ERRNO(EFAULT, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, NULL));
	EXPECT_ERRNO(EFAULT, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, self->bad));
	/* ...and the same options work with good pointers. */
	EXPECT_EQ(0, setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	EXPECT_EQ(0, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len));
	EXPECT_EQ(0, v);
	close(t);
}

/* IPPROTO_TCP options: TCP_NODELAY works, bad pointers give EFAULT. */
TEST_F(err, tcp_level_optval_bad_pointer_efault)
{
	socklen_t len = sizeof(int);
	int t = SOCK(), v = 1;

	EXPECT_ERRNO(EFAULT, setsockopt(t, IPPROTO_TCP, TCP_NODELAY, self->bad, sizeof(int)));
	EXPECT_ERRNO(EFAULT, getsockopt(t, IPPROTO_TCP, TCP_NODELAY, self->bad, &len));
	EXPECT_EQ(0, setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)))
		TH_LOG("TCP_NODELAY: %s", strerror(errno));
	v = 0;
	len = sizeof(v);
	EXPECT_EQ(0, getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len));
	EXPECT_EQ(1, v);
	close(t);
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
	int t = SOCK();

	EXPECT_EQ(0, setsockopt(t, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	EXPECT_EQ(0, getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, name, &len));
	EXPECT_STREQ("reno", name);
	EXPECT_ERRNO(ENOENT, setsockopt(t, IPPROTO_TCP, TCP_CONGESTION,
					"no-such-cc", 10));
	mr.imr_multiaddr.s_addr = htonl(0xef010101);	/* 239.1.1.1 */
	EXPECT_ERRNO(EPROTO, setsockopt(t, SOL_IP, IP_ADD_MEMBERSHIP, &mr,
					sizeof(mr)));
	close(t);
}

/*
 * Ports below 1024 need CAP_NET_BIND_SERVICE: a process without it (uid
 * nobody) gets EACCES; root binds.
 */
TEST_F(err, low_port_needs_cap_net_bind_service_eacces)
{
	struct sockaddr_in a = SIN(LO, 81);
	int st, t;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		t = tt_socket(variant->stack);
		_exit(bind(t, TT_SA(&a), sizeof(a)) && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st))
		TH_LOG("as nobody: %s", WEXITSTATUS(st) == 1 ?
		       "port 81 was not refused with EACCES" :
		       "could not become nobody");
	/* Root may. */
	t = SOCK();
	EXPECT_EQ(0, bind(t, TT_SA(&a), sizeof(a))) TH_LOG("%s", strerror(errno));
	close(t);
}

TEST_F(err, connect_no_listener_econnrefused)
{
	struct sockaddr_in a = SIN(LO, 5999);
	int t = SOCK();

	EXPECT_ERRNO(ECONNREFUSED, connect(t, TT_SA(&a), sizeof(a)));
	close(t);
}

/* Linux: send on a never-connected socket is EPIPE, recv is ENOTCONN. */
TEST_F(err, io_on_unconnected_socket_epipe_enotconn)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char buf[4];
	int t = SOCK();

	EXPECT_ERRNO(EPIPE, send(t, "x", 1, MSG_NOSIGNAL));
	EXPECT_ERRNO(ENOTCONN, recv(t, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_ERRNO(ENOTCONN, getpeername(t, TT_SA(&a), &len));
	EXPECT_ERRNO(ENOTCONN, shutdown(t, SHUT_RDWR));
	close(t);

	/* The same on a listening socket. */
	t = tt_lo_listener(_metadata, variant->stack, 5000, 4);
	EXPECT_ERRNO(EPIPE, send(t, "x", 1, MSG_NOSIGNAL));
	EXPECT_ERRNO(ENOTCONN, recv(t, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_ERRNO(ENOTCONN, getpeername(t, TT_SA(&a), &len));
	close(t);
}

TEST_F(err, listen_on_connected_socket_einval)
{
	struct tt_conn k;

	tt_lo_pair(_metadata, variant->stack, 5000, &k);
	EXPECT_ERRNO(EINVAL, listen(k.c, 4));
	EXPECT_ERRNO(EINVAL, listen(k.s, 4));
	tt_conn_close(&k);
}

TEST_F(err, bind_twice_einval)
{
	struct sockaddr_in a1 = SIN(LO, 5000);
	struct sockaddr_in a2 = SIN(LO, 5002);
	struct tt_conn k;
	int t = SOCK();

	ASSERT_EQ(0, bind(t, TT_SA(&a1), sizeof(a1)));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(&a1), sizeof(a1)));
	EXPECT_ERRNO(EINVAL, bind(t, TT_SA(&a2), sizeof(a2)));
	close(t);

	/* connect() bound the socket: bind after it fails too. */
	tt_lo_pair(_metadata, variant->stack, 5004, &k);
	EXPECT_ERRNO(EINVAL, bind(k.c, TT_SA(&a2), sizeof(a2)));
	tt_conn_close(&k);
}

TEST_F(err, accept_on_non_listening_socket_einval)
{
	struct sockaddr_in a1 = SIN(LO, 5000);
	struct tt_conn k;
	int t = SOCK();

	EXPECT_ERRNO(EINVAL, accept(t, NULL, NULL));
	ASSERT_EQ(0, bind(t, TT_SA(&a1), sizeof(a1)));
	EXPECT_ERRNO(EINVAL, accept(t, NULL, NULL));
	close(t);
	tt_lo_pair(_metadata, variant->stack, 5002, &k);
	EXPECT_ERRNO(EINVAL, accept(k.c, NULL, NULL));
	tt_conn_close(&k);
}

TEST_F(err, connect_when_connected_eisconn)
{
	struct sockaddr_in a = SIN(LO, 5000);
	int l, t;

	/* Blocking connects: after a non-blocking one completes, Linux
	 * returns 0 to the next connect() (SS_CONNECTING -> SS_CONNECTED).
	 */
	l = tt_lo_listener(_metadata, variant->stack, 5000, 4);
	t = SOCK();
	ASSERT_EQ(0, connect(t, TT_SA(&a), sizeof(a)));
	EXPECT_ERRNO(EISCONN, connect(t, TT_SA(&a), sizeof(a)));
	close(t);
	close(l);
}

TEST_F(err, shutdown_bad_how_einval)
{
	struct tt_conn k;

	tt_lo_pair(_metadata, variant->stack, 5000, &k);
	EXPECT_ERRNO(EINVAL, shutdown(k.c, 3));
	EXPECT_ERRNO(EINVAL, shutdown(k.c, -1));
	/* Still connected. */
	EXPECT_EQ(TT_ESTABLISHED, tt_fd_state(variant->stack, k.c));
	tt_conn_close(&k);
}

TEST_F(err, bind_nonlocal_address_eaddrnotavail)
{
	struct sockaddr_in a = SIN("10.99.99.99", 5000);
	int t = SOCK();

	EXPECT_ERRNO(EADDRNOTAVAIL, bind(t, TT_SA(&a), sizeof(a)));
	close(t);
}

TEST_F(err, socket_stream_other_protocol_eprotonosupport)
{
	int fam = tt_family(variant->stack);

	EXPECT_ERRNO(EPROTONOSUPPORT, socket(fam, SOCK_STREAM, IPPROTO_UDP));
	EXPECT_ERRNO(EPROTONOSUPPORT, socket(fam, SOCK_STREAM, IPPROTO_ICMP));
}

TEST_F(err, socket_stream_tcp_protocol_and_flags)
{
	struct sockaddr_in a = SIN(LO, 5000);
	int fam = tt_family(variant->stack);
	socklen_t len = sizeof(int);
	int fd, v;

	fd = socket(fam, SOCK_STREAM, IPPROTO_TCP);
	EXPECT_LE(0, fd) TH_LOG("IPPROTO_TCP: %s", strerror(errno));
	close(fd);
	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd) TH_LOG("SOCK_NONBLOCK|SOCK_CLOEXEC: %s", strerror(errno));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(SOCK_STREAM, v);
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len));
	EXPECT_EQ(fam, v);
	/* Non-blocking accept on an empty listener. */
	ASSERT_EQ(0, bind(fd, TT_SA(&a), sizeof(a)));
	ASSERT_EQ(0, listen(fd, 4));
	EXPECT_ERRNO(EAGAIN, accept(fd, NULL, NULL));
	close(fd);
}

/* listen() without bind() picks a port. */
TEST_F(err, listen_without_bind_autobinds)
{
	struct sockaddr_in n;
	int t = SOCK(), c;

	ASSERT_EQ(0, listen(t, 4)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, tt_sockname(t, &n));
	EXPECT_NE(0, n.sin_port);
	c = SOCK();
	EXPECT_EQ(0, tt_connect_to(c, tt_family(variant->stack), LO,
				   ntohs(n.sin_port), 5000));
	close(c);
	close(t);
}

TEST_F(err, two_binds_same_port_eaddrinuse)
{
	struct sockaddr_in a = SIN(LO, 5000);
	int t1 = SOCK(), t2 = SOCK();

	ASSERT_EQ(0, bind(t1, TT_SA(&a), sizeof(a)));
	EXPECT_ERRNO(EADDRINUSE, bind(t2, TT_SA(&a), sizeof(a)));
	close(t1);
	close(t2);
}

/* ------------------------------------------------------------------ */
/*
 * toytcp's own contract: the addresses it takes and gives, the socket
 * types it refuses, and one port space with Linux TCP.
 */
FIXTURE(own) {
	void *bad;
};

FIXTURE_SETUP(own)
{
	self->bad = fresh_ns_and_bad_address(_metadata, TT_TOYTCP);
}

FIXTURE_TEARDOWN(own)
{
}

/* bind/connect take AF_INET too; names come back AF_TOYTCP. */
TEST_F(own, af_inet_address_accepted_names_carry_family)
{
	struct sockaddr_in a = tt_sin(AF_INET, LO, 5000), n;
	int t, c;

	t = tt_socket(TT_TOYTCP);
	ASSERT_LE(0, t);
	ASSERT_EQ(0, bind(t, TT_SA(&a), sizeof(a))) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, listen(t, 4));
	ASSERT_EQ(0, tt_sockname(t, &n));
	EXPECT_EQ(AF_TOYTCP, n.sin_family);
	EXPECT_EQ(htons(5000), n.sin_port);
	c = tt_socket(TT_TOYTCP);
	ASSERT_LE(0, c);
	EXPECT_EQ(0, tt_connect_to(c, AF_INET, LO, 5000, 5000));
	ASSERT_EQ(0, tt_peername(c, &n));
	EXPECT_EQ(AF_TOYTCP, n.sin_family);
	close(c);
	close(t);
}

/* socket(): the contract's errnos for other types (AF_INET has them). */
TEST_F(own, socket_other_types_esocktnosupport)
{
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(AF_TOYTCP, SOCK_DGRAM, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(AF_TOYTCP, SOCK_RAW, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(AF_TOYTCP, SOCK_SEQPACKET, 0));
	EXPECT_ERRNO(ESOCKTNOSUPPORT, socket(AF_TOYTCP, SOCK_DGRAM, IPPROTO_UDP));
}

TEST_F(own, bind_port_held_by_linux_tcp_eaddrinuse)
{
	struct sockaddr_in at = tt_sin(AF_TOYTCP, LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5000);
	int t = tt_socket(TT_TOYTCP), l = tt_socket(TT_LINUX);

	ASSERT_LE(0, t);
	ASSERT_LE(0, l);
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

TEST_F(own, linux_bind_port_held_by_toytcp_eaddrinuse)
{
	struct sockaddr_in at = tt_sin(AF_TOYTCP, LO, 5000);
	struct sockaddr_in al = tt_sin(AF_INET, LO, 5000);
	int t = tt_socket(TT_TOYTCP), l = tt_socket(TT_LINUX);

	ASSERT_LE(0, t);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, bind(t, TT_SA(&at), sizeof(at)));
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	ASSERT_EQ(0, listen(t, 4));
	l = tt_socket(TT_LINUX);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	l = tt_socket(TT_LINUX);
	al.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	/* Released on close. */
	close(t);
	l = tt_socket(TT_LINUX);
	al.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(0, bind(l, TT_SA(&al), sizeof(al))) TH_LOG("%s", strerror(errno));
	close(l);
}

/* The port connect() picked is reserved against Linux TCP too. */
TEST_F(own, linux_bind_toytcp_ephemeral_port_eaddrinuse)
{
	struct sockaddr_in n, al;
	struct tt_conn k;
	int l;

	tt_lo_pair(_metadata, TT_TOYTCP, 5000, &k);
	ASSERT_EQ(0, tt_sockname(k.c, &n));
	al = tt_sin(AF_INET, LO, ntohs(n.sin_port));
	l = tt_socket(TT_LINUX);
	ASSERT_LE(0, l);
	EXPECT_ERRNO(EADDRINUSE, bind(l, TT_SA(&al), sizeof(al)));
	close(l);
	tt_conn_close(&k);
}

TEST_HARNESS_MAIN
