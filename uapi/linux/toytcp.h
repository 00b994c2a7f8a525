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

/* getsockopt(fd, SOL_TOYTCP, TOYTCP_INFO, &info, &len): the control block. */
#define TOYTCP_INFO	1

#define TOYTCP_INFO_VERSION	1

/* toytcp_info.options */
#define TOYTCP_OPT_SACK		0x01	/* both ends use SACK (RFC 2018) */
#define TOYTCP_OPT_WSCALE	0x02	/* both ends scale windows (RFC 7323) */
#define TOYTCP_OPT_NODELAY	0x04	/* TCP_NODELAY */
#define TOYTCP_OPT_CORK		0x08	/* TCP_CORK */
#define TOYTCP_OPT_TS		0x10	/* both ends send timestamps (RFC 7323) */

/* toytcp_info.timers: the timers pending */
#define TOYTCP_TIMER_RETRANS	0x01	/* retransmission or window probe */
#define TOYTCP_TIMER_TIMEWAIT	0x02	/* TIME-WAIT, or orphan FIN-WAIT-2 */
#define TOYTCP_TIMER_DELACK	0x04	/* delayed ACK */
#define TOYTCP_TIMER_KEEPALIVE	0x08	/* keepalive */

/**
 * struct toytcp_info - a snapshot of a connection's control block
 * @version: TOYTCP_INFO_VERSION of the kernel that filled it
 * @length: bytes of this structure the kernel filled in
 * @state: connection state, Linux TCP's numbers (TCP_ESTABLISHED = 1 ...)
 * @options: TOYTCP_OPT_* bits
 * @timers: TOYTCP_TIMER_* bits
 * @snd_wscale: shift applied to the peer's windows
 * @rcv_wscale: shift applied to the windows toytcp sends
 * @retries: retransmissions of the oldest segment so far
 * @backoff: exponential backoff of the retransmission timer
 * @probes: keepalive probes unanswered
 * @snd_una: SND.UNA, oldest unacknowledged sequence number (RFC 9293)
 * @snd_nxt: SND.NXT, next sequence number to send
 * @snd_wnd: SND.WND, the peer's window (scaled)
 * @iss: ISS, initial send sequence number
 * @write_seq: sequence number after the last byte written by the user
 * @rcv_nxt: RCV.NXT, next sequence number expected
 * @rcv_wnd: RCV.WND, the window last advertised
 * @irs: IRS, initial receive sequence number
 * @copied_seq: next sequence number to be read by the user
 * @mss: largest payload toytcp sends in one segment
 * @advmss: MSS toytcp announced
 * @rcv_mss: estimate of the peer's segment size
 * @cwnd: congestion window, segments
 * @ssthresh: slow start threshold, segments
 * @srtt_us: smoothed round-trip time, microseconds
 * @rttvar_us: round-trip time variation, microseconds
 * @rto_ms: retransmission timeout, milliseconds
 * @sacked_bytes: bytes in flight the peer SACKed
 * @sndbuf_used: bytes queued in the send buffer (unsent and unacknowledged)
 * @sndbuf: the send buffer's size, SO_SNDBUF
 * @rcvbuf_used: bytes of the receive buffer in use (queued data, overhead)
 * @rcvbuf: the receive buffer's size, SO_RCVBUF
 * @total_retrans: segments retransmitted
 * @bytes_sent: payload bytes sent, retransmissions included
 * @bytes_acked: payload bytes the peer acknowledged
 * @bytes_received: payload bytes received in sequence
 *
 * Fields are only ever added at the end; @length tells how many the kernel
 * filled in, and a short buffer gets the leading part.
 */
struct toytcp_info {
	__u32	version;
	__u32	length;
	__u8	state;
	__u8	options;
	__u8	timers;
	__u8	snd_wscale;
	__u8	rcv_wscale;
	__u8	retries;
	__u8	backoff;
	__u8	probes;
	__u32	snd_una;
	__u32	snd_nxt;
	__u32	snd_wnd;
	__u32	iss;
	__u32	write_seq;
	__u32	rcv_nxt;
	__u32	rcv_wnd;
	__u32	irs;
	__u32	copied_seq;
	__u32	mss;
	__u32	advmss;
	__u32	rcv_mss;
	__u32	cwnd;
	__u32	ssthresh;
	__u32	srtt_us;
	__u32	rttvar_us;
	__u32	rto_ms;
	__u32	sacked_bytes;
	__u32	sndbuf_used;
	__u32	sndbuf;
	__u32	rcvbuf_used;
	__u32	rcvbuf;
	__u32	total_retrans;
	__u64	bytes_sent;
	__u64	bytes_acked;
	__u64	bytes_received;
};

/*
 * sock_diag: NETLINK_SOCK_DIAG dump requests for family AF_TOYTCP, as
 * ss(8) sends them for AF_INET (tools/toytcp-ss is a client).
 *
 * The request is a SOCK_DIAG_BY_FAMILY message with NLM_F_DUMP (and
 * NLM_F_REQUEST) whose payload is struct toytcp_diag_req.  The answer is
 * one SOCK_DIAG_BY_FAMILY message per socket of the requesting socket's
 * network namespace that passes the filter, each a struct toytcp_diag_msg
 * followed by attributes (struct nlattr) of the types below, then
 * NLMSG_DONE.  Sockets come in the order of /proc/net/toytcp: listeners,
 * then connections (SYN-SENT to TIME-WAIT, and children a listener has not
 * handed to accept() yet).  Without the module, or after it was unloaded,
 * the request fails with ENOENT.
 */

/* toytcp_diag_req.tdiag_flags: which port filters apply */
#define TOYTCP_DIAG_SPORT	0x01	/* local port == tdiag_sport */
#define TOYTCP_DIAG_DPORT	0x02	/* remote port == tdiag_dport */

/**
 * struct toytcp_diag_req - a dump request
 * @sdiag_family: AF_TOYTCP (struct sock_diag_req's first byte)
 * @sdiag_protocol: 0 or IPPROTO_TCP
 * @tdiag_flags: TOYTCP_DIAG_SPORT, TOYTCP_DIAG_DPORT
 * @tdiag_states: the states wanted, bit (1 << state) for each of Linux
 *	TCP's state numbers (TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11);
 *	~0 for all
 * @tdiag_sport: the local port, network order (with TOYTCP_DIAG_SPORT)
 * @tdiag_dport: the remote port, network order (with TOYTCP_DIAG_DPORT);
 *	a listener's is 0
 * @tdiag_pad: 0
 */
struct toytcp_diag_req {
	__u8	sdiag_family;
	__u8	sdiag_protocol;
	__u16	tdiag_flags;
	__u32	tdiag_states;
	__be16	tdiag_sport;
	__be16	tdiag_dport;
	__u32	tdiag_pad;
};

/* toytcp_diag_msg.tdiag_timer: the pending timer, as /proc/net/toytcp's
 * "tr" column and inet_diag's idiag_timer
 */
#define TOYTCP_DIAG_TIMER_NONE		0
#define TOYTCP_DIAG_TIMER_RETRANS	1	/* retransmission or window probe */
#define TOYTCP_DIAG_TIMER_KEEPALIVE	2
#define TOYTCP_DIAG_TIMER_TIMEWAIT	3	/* or an orphan's FIN-WAIT-2 */

/**
 * struct toytcp_diag_msg - one socket, at the head of each answer
 * @tdiag_family: AF_TOYTCP
 * @tdiag_state: Linux TCP's state number (TCP_ESTABLISHED = 1 ...)
 * @tdiag_timer: TOYTCP_DIAG_TIMER_*
 * @tdiag_retrans: retransmissions of the oldest unacknowledged segment
 * @tdiag_sport: local port, network order
 * @tdiag_dport: remote port, network order (0 for a listener)
 * @tdiag_src: local IPv4 address, network order
 * @tdiag_dst: remote IPv4 address, network order
 * @tdiag_if: the interface the socket is bound to, 0 for none
 * @tdiag_cookie: the socket's cookie (as inet_diag's idiag_cookie)
 * @tdiag_expires: milliseconds until the pending timer fires, 0 for none
 * @tdiag_rqueue: bytes received and not read; a listener's accept queue
 *	length
 * @tdiag_wqueue: bytes written and not acknowledged; a listener's backlog
 * @tdiag_uid: the owner's uid, in the requester's user namespace
 * @tdiag_inode: the socket's inode, 0 once closed by its owner
 * @tdiag_shutdown: RCV_SHUTDOWN (1) and SEND_SHUTDOWN (2) bits
 * @tdiag_pad: 0
 *
 * The same numbers as the socket's line of /proc/net/toytcp.
 */
struct toytcp_diag_msg {
	__u8	tdiag_family;
	__u8	tdiag_state;
	__u8	tdiag_timer;
	__u8	tdiag_retrans;
	__be16	tdiag_sport;
	__be16	tdiag_dport;
	__be32	tdiag_src;
	__be32	tdiag_dst;
	__u32	tdiag_if;
	__u32	tdiag_cookie[2];
	__u32	tdiag_expires;
	__u32	tdiag_rqueue;
	__u32	tdiag_wqueue;
	__u32	tdiag_uid;
	__u32	tdiag_inode;
	__u8	tdiag_shutdown;
	__u8	tdiag_pad[3];
};

/* The attributes after struct toytcp_diag_msg (struct nlattr, type): */
enum {
	TOYTCP_DIAG_NONE,
	TOYTCP_DIAG_INFO,	/* struct toytcp_info, as TOYTCP_INFO */
	TOYTCP_DIAG_MEMINFO,	/* __u32[SK_MEMINFO_VARS] (linux/sock_diag.h) */
	TOYTCP_DIAG_CONG,	/* the congestion control algorithm, a string */
	__TOYTCP_DIAG_MAX,
};

#define TOYTCP_DIAG_MAX		(__TOYTCP_DIAG_MAX - 1)

#endif /* _UAPI_LINUX_TOYTCP_H */
