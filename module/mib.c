// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: counters in the style of /proc/net/snmp, per network namespace,
 * per CPU while counting, summed when read.
 */
#include "protocol.h"

const char * const toytcp_mib_names[TOYTCP_MIB_MAX] = {
	[TOYTCP_MIB_ACTIVEOPENS]	= "ActiveOpens",
	[TOYTCP_MIB_PASSIVEOPENS]	= "PassiveOpens",
	[TOYTCP_MIB_ATTEMPTFAILS]	= "AttemptFails",
	[TOYTCP_MIB_ESTABRESETS]	= "EstabResets",
	[TOYTCP_MIB_INSEGS]		= "InSegs",
	[TOYTCP_MIB_OUTSEGS]		= "OutSegs",
	[TOYTCP_MIB_RETRANSSEGS]	= "RetransSegs",
	[TOYTCP_MIB_INERRS]		= "InErrs",
	[TOYTCP_MIB_INCSUMERRORS]	= "InCsumErrors",
	[TOYTCP_MIB_OUTRSTS]		= "OutRsts",
	[TOYTCP_MIB_INRSTS]		= "InRsts",
	[TOYTCP_MIB_LISTENOVERFLOWS]	= "ListenOverflows",
	[TOYTCP_MIB_LISTENDROPS]	= "ListenDrops",
	[TOYTCP_MIB_RCVQDROPS]		= "RcvQueueDrops",
	[TOYTCP_MIB_BACKLOGDROPS]	= "BacklogDrops",
	[TOYTCP_MIB_RTOTIMEOUTS]	= "Timeouts",
	[TOYTCP_MIB_FASTRETRANS]	= "FastRetrans",
	[TOYTCP_MIB_OFOQUEUE]		= "OfoQueue",
	[TOYTCP_MIB_ABORTONDATA]	= "AbortOnData",
	[TOYTCP_MIB_OFOPRUNED]		= "OfoPruned",
	[TOYTCP_MIB_ABORTONCLOSE]	= "AbortOnClose",
	[TOYTCP_MIB_ABORTONTIMEOUT]	= "AbortOnTimeout",
	[TOYTCP_MIB_SACKBLOCKS]		= "SackBlocksRecv",
	[TOYTCP_MIB_SACKRECOVERY]	= "SackRecovery",
	[TOYTCP_MIB_ZEROWINDOWPROBES]	= "ZeroWindowProbes",
	[TOYTCP_MIB_DELAYEDACKS]	= "DelayedAcks",
	[TOYTCP_MIB_KEEPALIVEPROBES]	= "KeepaliveProbes",
	[TOYTCP_MIB_LOSSPROBES]		= "LossProbes",
	[TOYTCP_MIB_CHALLENGEACKS]	= "ChallengeACKs",
	[TOYTCP_MIB_ACKSKIPPED]		= "AckSkipped",
	[TOYTCP_MIB_SYNCOOKIESSENT]	= "SyncookiesSent",
	[TOYTCP_MIB_SYNCOOKIESRECV]	= "SyncookiesRecv",
	[TOYTCP_MIB_SYNCOOKIESFAILED]	= "SyncookiesFailed",
	[TOYTCP_MIB_REQQFULLDOCOOKIES]	= "ReqQFullDoCookies",
	[TOYTCP_MIB_REQQFULLDROP]	= "ReqQFullDrop",
	[TOYTCP_MIB_MEMORYPRESSURES]	= "MemoryPressures",
	[TOYTCP_MIB_MEMORYDROPS]	= "MemoryDrops",
	[TOYTCP_MIB_RCVCOALESCE]	= "RcvCoalesce",
};

int toytcp_mib_init_net(struct net *net)
{
	struct toytcp_net *tn = toytcp_pernet(net);

	tn->mib = alloc_percpu(struct toytcp_mib);
	if (!tn->mib)
		return -ENOMEM;
	atomic_set(&tn->curr_estab, 0);
	return 0;
}

void toytcp_mib_exit_net(struct net *net)
{
	free_percpu(toytcp_pernet(net)->mib);
}

/**
 * toytcp_mib_read() - the sum of one counter over all CPUs
 * @net: the namespace
 * @field: the counter
 *
 * Return: the value.
 */
unsigned long toytcp_mib_read(struct net *net, int field)
{
	struct toytcp_net *tn = toytcp_pernet(net);
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(tn->mib, cpu)->mibs[field];
	return sum;
}
