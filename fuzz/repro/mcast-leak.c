// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer for a sysfuzz finding: a multicast group joined through a
 * toytcp socket (IP_ADD_MEMBERSHIP) is never left when the socket closes.
 * Linux TCP refuses the option (EPROTO, inet_test_bit(IS_ICSK)); toytcp
 * passes SOL_IP to ip_setsockopt(), which accepts it, and its release
 * never calls ip_mc_drop_socket() as inet_release() does.  Each join
 * leaks a struct ip_mc_socklist and a membership on the device.
 *
 *   mcast-leak [N]     (as root, toytcp loaded; runs in a new netns)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
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

static int try(int family, int n)
{
	struct ip_mreqn m = { .imr_ifindex = 1 };	/* lo */
	int i, ok = 0, fd;

	m.imr_multiaddr.s_addr = inet_addr("239.1.1.1");
	for (i = 0; i < n; i++) {
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (!setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)))
			ok++;
		else if (i == 0)
			printf("family %d: IP_ADD_MEMBERSHIP: %s\n", family, strerror(errno));
		close(fd);
	}
	return ok;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	struct ifreq ifr = { .ifr_name = "lo" };
	int s, joined;

	if (unshare(CLONE_NEWNET))
		return perror("unshare"), 2;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(s, SIOCSIFFLAGS, &ifr);

	printf("Linux TCP: %d of %d joins succeeded\n", try(AF_INET, n), n);
	joined = try(AF_TOYTCP, n);
	printf("toytcp:    %d of %d joins succeeded, every socket closed\n",
	       joined, n);
	fflush(stdout);
	system("cat /proc/net/igmp");
	return joined ? 1 : 0;	/* Linux TCP refuses them all (EPROTO) */
}
