// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer for a sysfuzz finding: a send() that fails with EFAULT leaves
 * an empty skb in the write queue; once it has gone out (as a zero-length
 * segment), close() hangs the FIN on that already-sent skb, the FIN never
 * leaves, no timer runs, and the orphan stays in FIN-WAIT-1 (or LAST-ACK)
 * for ever: LiveSockets never reaches 0 and rmmod fails.
 *
 *   efault-fin [SECONDS]     (as root, toytcp loaded; runs in a new netns)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/toytcp.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_TOYTCP, .sin_port = htons(7555) };
	struct ifreq ifr = { .ifr_name = "lo" };
	int wait_s = argc > 1 ? atoi(argv[1]) : 40;
	int l, c, s, u;
	char b;

	if (unshare(CLONE_NEWNET))
		return perror("unshare"), 2;
	u = socket(AF_INET, SOCK_DGRAM, 0);
	ioctl(u, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(u, SIOCSIFFLAGS, &ifr);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	l = socket(AF_TOYTCP, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		return perror("listen"), 2;
	c = socket(AF_TOYTCP, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)))
		return perror("connect"), 2;
	s = accept(l, NULL, NULL);

	/* 1. A send from a bad buffer: EFAULT, nothing sent... */
	printf("send((void *)1, 100): %zd (%m)\n", send(c, (void *)1, 100, 0));
	/* 2. ...but an empty skb stays queued; an ACK sends it out. */
	send(s, "x", 1, 0);
	recv(c, &b, 1, 0);
	usleep(100000);
	/* 3. The FIN rides on the sent empty skb and never leaves. */
	close(c);
	close(s);
	close(l);
	printf("closed everything; /proc/net/toytcp after %d s:\n", wait_s);
	fflush(stdout);
	sleep(wait_s);
	system("cat /proc/thread-self/net/toytcp; grep LiveSockets /proc/net/toytcp_snmp");
	/* Exit status 1 while this namespace lists a socket other than one
	 * in TIME-WAIT (st 06: the side that closed first, as it should).
	 */
	return system("test -z \"$(awk 'NR > 1 && $4 != \"06\"' /proc/thread-self/net/toytcp)\"") ? 1 : 0;
}
