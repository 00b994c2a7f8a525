/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * toytcp: a small TCP in a loadable module, reached through its own
 * socket family.
 *
 * A toytcp socket is created with socket(AF_TOYTCP, SOCK_STREAM, 0) (or
 * protocol IPPROTO_TCP).  Its addresses are struct sockaddr_in in layout:
 * sin_family, sin_port (network order) and sin_addr.  bind() and connect()
 * accept AF_TOYTCP or AF_INET in sin_family; the names the kernel returns
 * (getsockname, getpeername, accept) carry AF_TOYTCP.  A program written for
 * TCP over IPv4 ports to toytcp by changing the family alone.
 */
#ifndef _UAPI_LINUX_TOYTCP_H
#define _UAPI_LINUX_TOYTCP_H

#include <linux/types.h>

/*
 * The family number.  Linux numbers families below AF_MAX (46) and a module
 * cannot add one, so toytcp takes the slot of Acorn Econet (19), whose
 * family was removed from Linux in 3.5 and which no in-tree code registers.
 * The module refuses to load if something else holds the slot.
 */
#define AF_TOYTCP	19
#define PF_TOYTCP	AF_TOYTCP

/* Socket option level for toytcp's own options (getsockopt/setsockopt). */
#define SOL_TOYTCP	299

#endif /* _UAPI_LINUX_TOYTCP_H */
