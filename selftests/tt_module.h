/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every selftest program needs the module: without it, the program says so
 * the kselftest way and exits with the skip code (4), before the harness
 * runs a single case, rather than failing each of them.
 *
 * A program that loads the module itself (module.c) may do so from
 * $TOYTCP_KO; it defines TT_MODULE_LOADER before including this header and
 * skips only when the module is neither loaded nor loadable.
 */
#ifndef TT_MODULE_H
#define TT_MODULE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/toytcp.h>

#define TT_KSFT_SKIP 4

/* True if socket(AF_TOYTCP) works: the module is loaded. */
static inline int tt_module_loaded(void)
{
	int fd = socket(AF_TOYTCP, SOCK_STREAM, 0);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

__attribute__((constructor)) static void tt_module_required(void)
{
#ifdef TT_MODULE_LOADER
	const char *ko = getenv("TOYTCP_KO");

	if (ko && !access(ko, R_OK))
		return;
#endif
	if (tt_module_loaded())
		return;
	printf("TAP version 13\n1..0 # SKIP the toytcp module is not loaded (socket(AF_TOYTCP): %s)\n",
	       strerror(errno));
	fflush(stdout);
	exit(TT_KSFT_SKIP);
}

#endif /* TT_MODULE_H */
