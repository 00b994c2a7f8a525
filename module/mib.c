// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: counters in the style of /proc/net/snmp (the model:
 * include/net/snmp.h and net/ipv4/proc.c), per network namespace, per CPU
 * while counting, summed when read; and toytcp_drop(), through which every
 * received segment toytcp drops goes, counted by reason (as
 * tcp_drop_reason() in net/ipv4/tcp_input.c).
 */
#include "protocol.h"

const char * const toytcp_mib_names[TOYTCP_MIB_DROP] = {
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
	[TOYTCP_MIB_DSACKUNDO]		= "DSACKUndo",
	[TOYTCP_MIB_PAWSESTAB]		= "PAWSEstab",
	/* Linux's TcpExt names for the same events */
	[TOYTCP_MIB_MINTTLDROP]		= "TCPMinTTLDrop",
	[TOYTCP_MIB_OUTOFWINDOWICMPS]	= "OutOfWindowIcmps",
	[TOYTCP_MIB_LOCKDROPPEDICMPS]	= "LockDroppedIcmps",
	[TOYTCP_MIB_ICMPERRORS]		= "IcmpErrors",
	[TOYTCP_MIB_PMTUREDUCED]	= "PmtuReduced",
	[TOYTCP_MIB_WQUEUETOOBIG]	= "WQueueTooBig",
	[TOYTCP_MIB_TWOVERFLOW]		= "TWOverflow",
	[TOYTCP_MIB_ABORTONMEMORY]	= "AbortOnMemory",
};

/*
 * Each reason's counter name, and the closest SKB_DROP_REASON_* that both
 * kernels (6.1 and 6.12) have, for skb:kfree_skb, perf and dropwatch.
 */
static const struct {
	const char		*name;
	enum skb_drop_reason	skb;
} toytcp_drops[TOYTCP_DROP_MAX] = {
	[TOYTCP_DROP_BAD_HEADER]	= { "DropBadHeader",
					    SKB_DROP_REASON_PKT_TOO_SMALL },
	[TOYTCP_DROP_BAD_CHECKSUM]	= { "DropBadChecksum",
					    SKB_DROP_REASON_TCP_CSUM },
	[TOYTCP_DROP_BACKLOG_FULL]	= { "DropBacklogFull",
					    SKB_DROP_REASON_SOCKET_BACKLOG },
	[TOYTCP_DROP_CLOSED]		= { "DropClosed",
					    SKB_DROP_REASON_TCP_CLOSE },
	[TOYTCP_DROP_RST_IGNORED]	= { "DropRstIgnored",
					    SKB_DROP_REASON_TCP_RESET },
	[TOYTCP_DROP_BAD_FLAGS]		= { "DropBadFlags",
					    SKB_DROP_REASON_TCP_FLAGS },
	[TOYTCP_DROP_HANDSHAKE_ACK]	= { "DropHandshakeAck",
					    SKB_DROP_REASON_TCP_ACK_UNSENT_DATA },
	[TOYTCP_DROP_LISTENER_ACK]	= { "DropListenerAck",
					    SKB_DROP_REASON_NO_SOCKET },
	/* The listen backlog: 6.12's TCP_LISTEN_OVERFLOW is not in 6.1. */
	[TOYTCP_DROP_LISTEN_OVERFLOW]	= { "DropListenOverflow",
					    SKB_DROP_REASON_SOCKET_BACKLOG },
	[TOYTCP_DROP_SYN_QUEUE_FULL]	= { "DropSynQueueFull",
					    SKB_DROP_REASON_SOCKET_BACKLOG },
	[TOYTCP_DROP_CHILD_FAILED]	= { "DropChildFailed",
					    SKB_DROP_REASON_NOMEM },
	[TOYTCP_DROP_NOT_ACCEPTABLE]	= { "DropNotAcceptable",
					    SKB_DROP_REASON_TCP_INVALID_SEQUENCE },
	[TOYTCP_DROP_RST_CHALLENGE]	= { "DropRstChallenge",
					    SKB_DROP_REASON_TCP_RESET },
	[TOYTCP_DROP_SYN_CHALLENGE]	= { "DropSynChallenge",
					    SKB_DROP_REASON_TCP_INVALID_SYN },
	[TOYTCP_DROP_NO_ACK]		= { "DropNoAck",
					    SKB_DROP_REASON_TCP_FLAGS },
	[TOYTCP_DROP_ACK_UNSENT]	= { "DropAckUnsent",
					    SKB_DROP_REASON_TCP_ACK_UNSENT_DATA },
	[TOYTCP_DROP_ACK_TOO_OLD]	= { "DropAckTooOld",
					    SKB_DROP_REASON_TCP_TOO_OLD_ACK },
	/* 6.12's TCP_ABORT_ON_DATA is not in 6.1: the socket closes. */
	[TOYTCP_DROP_ABORT_ON_DATA]	= { "DropAbortOnData",
					    SKB_DROP_REASON_TCP_CLOSE },
	[TOYTCP_DROP_DUPLICATE]		= { "DropDuplicate",
					    SKB_DROP_REASON_TCP_OLD_DATA },
	[TOYTCP_DROP_RCVBUF_FULL]	= { "DropRcvbufFull",
					    SKB_DROP_REASON_SOCKET_RCVBUFF },
	[TOYTCP_DROP_MEMORY]		= { "DropMemory",
					    SKB_DROP_REASON_PROTO_MEM },
	[TOYTCP_DROP_OFO_DUPLICATE]	= { "DropOfoDuplicate",
					    SKB_DROP_REASON_TCP_OFO_DROP },
	[TOYTCP_DROP_OFO_PRUNED]	= { "DropOfoPruned",
					    SKB_DROP_REASON_TCP_OFO_QUEUE_PRUNE },
	/* The peer's byte stream ends at its FIN: beyond the window. */
	[TOYTCP_DROP_AFTER_FIN]		= { "DropAfterFin",
					    SKB_DROP_REASON_TCP_OVERWINDOW },
	[TOYTCP_DROP_PAWS]		= { "DropPaws",
					    SKB_DROP_REASON_TCP_RFC7323_PAWS },
	[TOYTCP_DROP_MINTTL]		= { "DropMinTTL",
					    TOYTCP_SKB_DROP_MINTTL },
	[TOYTCP_DROP_XFRM_POLICY]	= { "DropXfrmPolicy",
					    SKB_DROP_REASON_XFRM_POLICY },
	[TOYTCP_DROP_SOCKET_FILTER]	= { "DropSocketFilter",
					    SKB_DROP_REASON_SOCKET_FILTER },
	[TOYTCP_DROP_CGROUP_FILTER]	= { "DropCgroupFilter",
					    SKB_DROP_REASON_SOCKET_FILTER },
};

/**
 * toytcp_drop() - drop a received segment, and count why
 * @net: the namespace it arrived in
 * @skb: the segment
 * @reason: why, not TOYTCP_NOT_DROPPED
 *
 * A segment toytcp is done with but did not drop (processed, answered)
 * goes to consume_skb() instead.
 *
 * Context: any.
 */
void toytcp_drop(struct net *net, struct sk_buff *skb,
		 enum toytcp_drop_reason reason)
{
	TOYTCP_INC_STATS(net, TOYTCP_MIB_DROP + reason);
	kfree_skb_reason(skb, toytcp_drops[reason].skb);
}

/**
 * toytcp_drop_name() - the counter name of a drop reason
 * @reason: one of enum toytcp_drop_reason, not TOYTCP_NOT_DROPPED
 *
 * Context: any.
 * Return: its name in /proc/net/toytcp_snmp ("DropBadChecksum" ...).
 */
const char *toytcp_drop_name(enum toytcp_drop_reason reason)
{
	return toytcp_drops[reason].name;
}

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
