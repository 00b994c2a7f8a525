/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by toytcp's selftests, by what they help with:
 *
 *   tt_core.h      the two stacks, addresses, states, time, poll, I/O with
 *                  time limits, the shell, module parameters and sysctls
 *   tt_topo.h      network namespaces, the A <-> B veth, netem, iptables
 *   tt_proc.h      the sockets a stack lists (/proc/net/toytcp, tcp)
 *   tt_counters.h  counters of either stack and snapshots of them
 *   tt_linux.h     toytcp side by side with Linux TCP: the variant naming,
 *                  the knobs and numbers that differ
 *   tt_trace.h     tracefs instances and the states a connection goes
 *                  through (state-change tracepoints)
 *   tt_transfer.h  seeded byte streams and byte-exact transfer endpoints
 *   tt_conn.h      connections and the builders tests start from
 *   tt_segments.h  raw segments: capture, parse, build, inject
 *
 * A test includes this file, or only the headers it needs.
 */
#ifndef TOYTCP_TEST_H
#define TOYTCP_TEST_H

#include "tt_module.h"
#include "tt_core.h"
#include "tt_topo.h"
#include "tt_proc.h"
#include "tt_counters.h"
#include "tt_linux.h"
#include "tt_trace.h"
#include "tt_transfer.h"
#include "tt_conn.h"
#include "tt_segments.h"

#endif /* TOYTCP_TEST_H */
