/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toytcp: the private header.  The control block, the per-segment control
 * block, the per-netns state and the functions the files share.
 *
 * Locking, in the style of net/mptcp/protocol.h:
 *  - "sk lock" is the socket lock: lock_sock() in process context, or
 *    bh_lock_sock() in softirq when !sock_owned_by_user().  Segments that
 *    arrive while the user owns the socket wait in sk->sk_backlog and are
 *    processed by release_sock(); timers that fire then set a bit in
 *    @deferred and run from toytcp_release_cb().  A function whose
 *    kernel-doc says "Context: sk lock held" asserts it with
 *    sock_owned_by_me(), which accepts either form (lockdep kernels only).
 *  - a listener's @accept_lock protects its @syn_queue, @accept_queue,
 *    @syn_count, @accept_count and @closing, and its children's
 *    @child_node.
 *  - the hash tables have per-bucket spinlocks for writers; readers walk
 *    the chains under RCU (sockets are freed with SOCK_RCU_FREE).
 *  - fields read without the sk lock (poll(), /proc/net/toytcp,
 *    getsockopt() of single options, SYN cookies) are written with
 *    WRITE_ONCE() and read with READ_ONCE(); the field list below says
 *    which.  sk_state is stored with smp_store_release()
 *    (toytcp_set_state()) and loaded with inet_sk_state_load().
 *
 * Lock nesting, outermost first; a lock is never taken while one below
 * it in the list is held:
 *  1. a listener's sk lock: lock_sock() in listen(), accept(), close()
 *     and shutdown(); bh_lock_sock_nested() in the receive hook
 *     (toytcp_v4_rcv()); or its owner running the backlog;
 *  2. a child's sk lock, bh_lock_sock(): toytcp_rcv_listen() takes it
 *     (and toytcp_create_child() for the set-up) with the listener's
 *     held.  toytcp_listen_stop() takes each child's with the listener's
 *     held too, but only after its accept_lock is released; accept()
 *     takes the child's (lock_sock()) after release_sock() of the
 *     listener;
 *  3. the listener's accept_lock, spin_lock_bh(): under the listener's sk
 *     lock (toytcp_listen_full(), toytcp_accept_dequeue(), the splice in
 *     toytcp_listen_stop()) or under a child's (toytcp_child_established(),
 *     toytcp_unlink_child()); nothing is taken inside it;
 *  4. a hash bucket's lock (hash.c), under any of the sk locks
 *     (toytcp_ehash_add(), toytcp_lhash_add(), toytcp_unhash() from
 *     toytcp_set_state()); nothing is taken inside it.
 */
#ifndef __TOYTCP_PROTOCOL_H
#define __TOYTCP_PROTOCOL_H

#include <linux/netfilter.h>
#include <linux/percpu_counter.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/inet_sock.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <net/tcp.h>

#include <linux/toytcp.h>

#include "compat.h"

/* Linux's TCP state numbers (TCP_ESTABLISHED ... TCP_CLOSING) are used for
 * sk->sk_state so that the generic socket code (sk_stream_*, poll helpers)
 * and /proc/net/toytcp readers see the numbers they know.
 */

#define TOYTCP_MAX_MSS		(65535 - 40)	/* IPv4 total length limit */
#define TOYTCP_DEFAULT_MSS	536		/* RFC 9293 3.7.1 */
#define TOYTCP_INIT_RTO		HZ		/* RFC 6298 2.1 */
#define TOYTCP_MIN_RTO		(HZ / 5)	/* as Linux: 200 ms */
#define TOYTCP_DELACK_MAX_MS	200		/* RFC 9293 3.8.6.3 */
#define TOYTCP_MAX_RTO		(120 * HZ)
#define TOYTCP_MAX_WSCALE	14		/* RFC 7323 2.3 */
#define TOYTCP_INIT_CWND	10		/* RFC 6928 */
#define TOYTCP_GSO_MAX_SEGS	44		/* segments per GSO skb (64 KB) */
#define TOYTCP_XMIT_BATCH	44		/* sendmsg() sends every N segments */
#define TOYTCP_SYNACK_RETRIES	5
#define TOYTCP_ORPHAN_RETRIES	8U		/* orphans, net.toytcp.orphan_retries 0 */
#define TOYTCP_RETRIES_MAX	255U		/* the 8-bit counters' limit */
#define TOYTCP_QUICKACKS	16		/* ACK at once, then delay */
#define TOYTCP_MAX_SACKS	4		/* blocks in one option */
#define TOYTCP_KEEPIDLE		(7200 * HZ)	/* RFC 1122 4.2.3.6 */
#define TOYTCP_KEEPINTVL	(75 * HZ)
#define TOYTCP_KEEPCNT		9
/* The most option bytes a TCP header holds (and toytcp sends): NOP NOP +
 * SACK with 4 blocks, or NOP NOP + timestamps and NOP NOP + SACK with 3.
 */
#define TOYTCP_MAX_OPT_LEN	MAX_TCP_OPTION_SPACE
/* RFC 7323 5.5: TS.Recent idle this long (seconds) is no longer valid */
#define TOYTCP_PAWS_IDLE	(60 * 60 * 24 * 24)
/* PAWS lets a TSval this much (1 ms) below TS.Recent through, as Linux */
#define TOYTCP_PAWS_WINDOW	1

/* TCP header flag bits as they sit in byte 13 of the header. */
#define TOYTCP_FIN	0x01
#define TOYTCP_SYN	0x02
#define TOYTCP_RST	0x04
#define TOYTCP_PSH	0x08
#define TOYTCP_ACK	0x10
#define TOYTCP_URG	0x20
/* Not a header bit (toytcp takes neither ECE nor CWR from the header): a
 * received SYN that ends a connection in TIME-WAIT (timewait.c), whose
 * successor starts at toytcp_skb_cb::tw_isn.
 */
#define TOYTCP_TW_SYN	0x80

/**
 * struct toytcp_skb_cb - what toytcp keeps per skb in skb->cb: a received
 * segment, or in the send queue one or more segments (up to
 * toytcp_size_goal() bytes; split with toytcp_fragment())
 * @seq:	first sequence number of the segment
 * @end_seq:	@seq + payload length + SYN + FIN
 * @ack_seq:	received segments: the acknowledgment number
 * @when:	sent segments: time of the last transmission, in us
 * @wnd:	received segments: the raw window field (unscaled)
 * @mss:	received SYNs: the MSS option, 0 when absent
 * @flags:	TCP header flags (TOYTCP_SYN ...)
 * @wscale:	received SYNs: the window scale option, 0xff when absent
 * @retrans:	sent segments: number of retransmissions
 * @sacked:	sent segments: the peer has SACKed all of it;
 *		received SYNs: the peer offered SACK
 * @nosample:	sent segments: in flight when the retransmission timer
 *		expired; its ACK or SACK may answer a transmission from
 *		before the timeout, so it gives no RTT sample (Karn)
 * @saw_ts:	received segments: @tsval and @tsecr hold a timestamps
 *		option (RFC 7323) the connection takes (toytcp_parse_ts())
 * @tsval:	received segments: the timestamps option's TSval
 * @tsecr:	received segments: its TSecr
 * @tw_isn:	received SYNs with TOYTCP_TW_SYN in @flags: the ISN of the
 *		connection that replaces one in TIME-WAIT
 *
 * Received segments reach toytcp with their TCP header already pulled, so
 * skb->data is the payload; sent segments carry only payload until
 * toytcp_transmit_skb() pushes the header onto a clone.
 *
 * Locking: the receive hook fills in a received segment's control block
 * (toytcp_prepare_segment()) while the skb is its alone; from the socket's
 * backlog or queues on, it is under the socket's sk lock.  The send
 * queue's control blocks are under the sk lock throughout.
 */
struct toytcp_skb_cb {
	u32	seq;
	u32	end_seq;
	u32	ack_seq;
	u32	when;
	u16	wnd;
	u16	mss;
	u8	flags;
	u8	wscale;
	u8	retrans;
	u8	sacked;
	u8	nosample;
	u8	saw_ts;
	u32	tsval;
	u32	tsecr;
	u32	tw_isn;
};

#define TOYTCP_SKB_CB(skb)	((struct toytcp_skb_cb *)&((skb)->cb[0]))

/* Bits of toytcp_sock::deferred: work a timer or softirq could not do
 * because the user owned the socket; toytcp_release_cb() does it.
 */
enum toytcp_deferred {
	TOYTCP_RETRANS_DEFERRED,	/* the retransmission timer fired */
	TOYTCP_TW_DEFERRED,		/* the TIME-WAIT/FIN-WAIT-2 timer fired */
	TOYTCP_DELACK_DEFERRED,		/* the delayed-ACK timer fired */
	TOYTCP_KEEPALIVE_DEFERRED,	/* the keepalive timer fired */
	TOYTCP_ACK_DEFERRED,		/* the backlog held data to ACK */
	TOYTCP_MTU_REDUCED_DEFERRED,	/* ICMP lowered the path MTU (icmp.c) */
	TOYTCP_ICMP_ERR_DEFERRED,	/* ICMP error ends a connect() (icmp.c) */
};

/**
 * struct toytcp_port - the reservation of a port in Linux TCP's port space
 * @work:	releases @sock in process context once the owners are gone
 * @sock:	a kernel AF_INET TCP socket bound to the same address and port
 * @sk:		@sock's sk, kept here for the receive and send paths, which
 *		run its cgroup-BPF and LSM checks (hook.c, output.c) under RCU
 *		only: it is freed after a grace period (SOCK_RCU_FREE), and so
 *		is this struct (kfree_rcu())
 * @rcu:	frees this struct after a grace period
 * @net:	a reference on the namespace @sock lives in
 * @ref:	owners: the bound socket, and a listener's children, which
 *		keep the port reserved after the listener closes (as Linux
 *		TCP's children keep the bind bucket)
 *
 * toytcp and Linux TCP share one port space: every bound toytcp socket
 * holds a Linux TCP socket bound to the same address and port, which
 * listens while the toytcp socket listens, so bind() and listen() on
 * either side see the other as Linux TCP sees its own sockets, and
 * Linux's ephemeral port choice skips toytcp's ports.  The receive path
 * finds toytcp's sockets first, so the reservation never gets a segment
 * while its toytcp socket listens; segments for a port that match no
 * toytcp socket go on to Linux TCP, which answers with a reset (port.c).
 */
struct toytcp_port {
	struct work_struct	work;
	struct socket		*sock;
	struct sock		*sk;
	struct rcu_head		rcu;
	struct net		*net;
	refcount_t		ref;
};

/**
 * struct toytcp_sock - the toytcp control block
 * @inet:	the IPv4 socket; addresses and ports live here (inet_saddr,
 *		inet_sport, inet_daddr, inet_dport), must be first.  Set
 *		under the sk lock (bind, connect, listen) or before a child
 *		is visible; read without it by the lookup (hash.c) once hashed
 * @snd_una:	oldest unacknowledged sequence number (sk lock;
 *		WRITE_ONCE(): /proc reads it)
 * @snd_nxt:	next sequence number to send (sk lock)
 * @snd_wnd:	send window the peer offers, scaled (sk lock)
 * @max_window: the largest window the peer offered, RFC 5961 5.2
 *		MAX.SND.WND (sk lock)
 * @snd_wl1:	segment sequence number of the last window update (sk lock)
 * @snd_wl2:	segment acknowledgment number of the last window update
 *		(sk lock)
 * @iss:	initial send sequence number (sk lock)
 * @write_seq:	sequence number after the last byte the user wrote (sk lock;
 *		WRITE_ONCE(): /proc reads it)
 * @rcv_nxt:	next sequence number expected (sk lock; WRITE_ONCE(): poll()
 *		and /proc read it)
 * @rcv_wnd:	receive window last advertised, from @rcv_wup (sk lock)
 * @rcv_wup:	@rcv_nxt when the window was last advertised (sk lock)
 * @copied_seq:	next sequence number to copy to user space (sk lock;
 *		WRITE_ONCE(): poll() and /proc read it)
 * @irs:	initial receive sequence number (sk lock)
 * @mss_cache:	largest payload toytcp puts in one segment (sk lock;
 *		WRITE_ONCE(): getsockopt(TCP_MAXSEG) reads it)
 * @advmss:	MSS toytcp announces in its SYN (sk lock)
 * @user_mss:	TCP_MAXSEG, 0 when unset: caps @advmss (sk lock;
 *		WRITE_ONCE(): getsockopt() and a listener's SYN cookies read it)
 * @snd_wscale:	shift to apply to windows the peer sends (sk lock)
 * @rcv_wscale:	shift toytcp applies to the windows it sends (sk lock)
 * @cwnd:	congestion window, in segments (sk lock; /proc reads it
 *		without, as /proc/net/tcp does)
 * @ssthresh:	slow start threshold, in segments (sk lock; /proc too)
 * @cwnd_cnt:	acked segments counted towards the next cwnd increase
 *		(sk lock)
 * @dupacks:	duplicate ACKs in a row (sk lock)
 * @recover:	snd_nxt when fast recovery started, RFC 6582 (sk lock)
 * @undo_marker: SND.UNA when the last fast recovery started (sk lock)
 * @undo_retrans: retransmissions of that recovery not yet reported
 *		duplicate by a D-SACK, RFC 2883 (sk lock)
 * @prior_cwnd:	@cwnd before that recovery reduced it (sk lock)
 * @prior_ssthresh: @ssthresh before that recovery (sk lock)
 * @undo_ok:	that recovery may still be undone (sk lock)
 * @ca_ops:	the congestion control algorithm (TCP_CONGESTION; sk lock;
 *		WRITE_ONCE(): getsockopt() reads it)
 * @ca_priv:	the algorithm's own state (sk lock)
 * @in_recovery: fast recovery is running (sk lock)
 * @tlp_armed:	@retrans_timer runs as the loss probe timeout (RFC 8985 7),
 *		not as the RTO (sk lock)
 * @tlp_end:	end of the segment the last loss probe sent again (RFC 8985
 *		TLP.end_seq): a D-SACK of it says nothing of reordering
 *		(sk lock)
 * @tlp_end_on:	@tlp_end is set (sk lock)
 * @high_rxt:	end of the last segment retransmitted in this recovery
 *		(RFC 6675 HighRxt): without SACK, holes below it were resent
 *		(sk lock)
 * @rack_time:	send time (us) of the most recently sent segment known
 *		delivered, ACKed or SACKed, RFC 8985 RACK.xmit_ts (sk lock)
 * @rack_end_seq: end of that segment, to order segments sent at the same
 *		time, RFC 8985 RACK.end_seq (sk lock)
 * @rack_rtt_us: its round-trip time, RFC 8985 RACK.rtt (sk lock)
 * @reord_seen:	the peer received a segment out of order, RFC 8985
 *		RACK.reordering_seen: from then on, with SACK, RACK alone
 *		finds losses (sk lock)
 * @reo_wnd_mult: RACK's reordering window in quarters of the RTT, 1 to
 *		4, RFC 8985 RACK.reo_wnd_mult: one more per round trip with
 *		a D-SACK (sk lock)
 * @reo_wnd_persist: recoveries left before @reo_wnd_mult falls back to
 *		1, RFC 8985 RACK.reo_wnd_persist (sk lock)
 * @dsack_round: SND.NXT at the last D-SACK that counted (whether or not
 *		@reo_wnd_mult could still grow): none counts again until
 *		SND.UNA passes it, RFC 8985 RACK.dsack_round (sk lock)
 * @dsack_round_on: @dsack_round is set (sk lock)
 * @reo_armed:	@retrans_timer runs as RACK's reordering timer (RFC 8985
 *		6.3), not as the RTO (sk lock)
 * @high_sack:	highest sequence number the peer SACKed, RFC 6675 HighACK
 *		(sk lock)
 * @sacked_bytes: bytes in the send queue the peer SACKed (sk lock)
 * @sack_hint:	an skb of the send queue where the last SACK walk ended,
 *		or NULL: the next walk starts there when its blocks lie
 *		above it (sack.c; cleared when that skb is freed, sk lock)
 * @sack_ok:	both ends offered SACK, RFC 2018 (sk lock)
 * @wscale_ok:	both ends offered window scaling, RFC 7323 (sk lock)
 * @dsack:	a duplicate segment arrived: the next ACK reports
 *		@dsack_start..@dsack_end in its first SACK block, RFC 2883
 *		(sk lock)
 * @dsack_start: first sequence number of the duplicate (sk lock)
 * @dsack_end:	the one after its last (sk lock)
 * @ts_ok:	both ends offered timestamps, RFC 7323 3: every segment
 *		but a reset carries them (sk lock)
 * @ts_recent:	RFC 7323 TS.Recent: the TSval toytcp echoes (sk lock)
 * @ts_recent_stamp: when @ts_recent was last set, seconds
 *		(ktime_get_seconds()), RFC 7323 5.5 (sk lock)
 * @ts_off:	added to the millisecond clock for the TSval toytcp sends,
 *		a keyed hash of the 4-tuple (RFC 7323 5.4), set with the ISS
 *		(sk lock)
 * @ofo_last_seq: start of the last out-of-order segment received, whose
 *		block goes first in the SACK option, RFC 2018 4 (sk lock)
 * @srtt_us:	smoothed round-trip time, in microseconds, RFC 6298 (sk lock)
 * @rttvar_us:	round-trip time variation, in microseconds (sk lock)
 * @rto:	retransmission timeout, in jiffies (sk lock; /proc too)
 * @backoff:	exponential backoff of @rto, the number of timeouts in a row
 *		(sk lock)
 * @retries:	number of retransmissions of the head segment (sk lock;
 *		/proc too)
 * @send_head:	first skb of sk->sk_write_queue not sent yet, or NULL
 *		(sk lock, as the write queue)
 * @ooo_queue:	received segments beyond @rcv_nxt, in sequence order
 *		(sk lock)
 * @retrans_timer: RTO, SYN and SYN-ACK retransmission, loss probes and
 *		window probes (armed and stopped under the sk lock)
 * @tw_timer:	TIME-WAIT and the orphaned FIN-WAIT-2 timeout (likewise)
 * @delack_timer: the delayed ACK, RFC 9293 3.8.6.3, at most 200 ms
 *		(likewise)
 * @keepalive_timer: keepalive probes, RFC 1122 4.2.3.6 (likewise)
 * @ack_pending: received data not yet acknowledged (sk lock)
 * @quickack:	ACKs still to send at once before delaying (sk lock;
 *		/proc too)
 * @rcv_unacked: bytes received since the last ACK went out (sk lock)
 * @rcv_ratio:	payload per truesize of received skbs, in 1/256: the
 *		window is this share of the free receive buffer (sk lock)
 * @rcv_mss:	estimate of the peer's segment size, for "every second
 *		full-sized segment" (sk lock)
 * @rcv_tstamp:	jiffies when the last segment arrived, keepalive (sk lock)
 * @rcvq_space:	bytes the reader took out in the last measured round trip,
 *		0 before the connection is established (autotune.c; sk lock)
 * @rcvq_seq:	@copied_seq when that measurement started (sk lock)
 * @rcvq_time:	ktime_get_ns() when it started (sk lock)
 * @keepidle:	TCP_KEEPIDLE, jiffies (sk lock; WRITE_ONCE(): getsockopt())
 * @keepintvl:	TCP_KEEPINTVL, jiffies (sk lock; WRITE_ONCE(): getsockopt())
 * @keepcnt:	TCP_KEEPCNT (sk lock; WRITE_ONCE(): getsockopt())
 * @last_oow_ack: jiffies of the last ACK sent in answer to an
 *		out-of-window segment or as a challenge, rate limit (sk lock)
 * @probes_out:	keepalive, window or send probes unanswered (a segment
 *		from the peer resets it) (sk lock)
 * @probe_stamp: jiffies of the first window probe of the current
 *		zero-window episode, 0 none; answers do not reset it
 *		(TCP_USER_TIMEOUT on the probe path, persist.c; sk lock)
 * @orphan_counted: counted in toytcp_net::orphans since close() (sk lock)
 * @deferred:	TOYTCP_*_DEFERRED bits, see enum toytcp_deferred (atomic
 *		bitops: set by the timers' softirq half, cleared by
 *		toytcp_release_cb())
 * @port:	this socket's reservation in Linux TCP's port space, or NULL;
 *		children hold a reference on their listener's (sk lock;
 *		READ_ONCE() under RCU on the receive path and a listener's
 *		lock-free SYN-ACK: toytcp_port_sk())
 * @mtu_info:	the next-hop MTU of the last ICMP "fragmentation needed"
 *		(WRITE_ONCE() from the ICMP handler, read by
 *		toytcp_mtu_reduced())
 * @port_sk:	listener: @port's socket from just before it listens in
 *		Linux (toytcp_port_listen()) until it stops, else NULL;
 *		the lookup compares Linux's choice among SO_REUSEPORT
 *		listeners, or for a listener not @listen_ready, with it,
 *		never dereferences it (sk lock; WRITE_ONCE(), READ_ONCE()
 *		under RCU)
 * @listen_ready: listener: its reservation listens in Linux too, so the
 *		lookup takes it without asking Linux; false while listen()
 *		and close() change that, when the listener is in the table
 *		but its SYNs wait in its backlog (listen.c; sk lock;
 *		WRITE_ONCE(), READ_ONCE() under RCU)
 * @parent:	for a child not yet accepted, its listener (holds a ref);
 *		cleared under the child's sk lock by whoever takes the child
 * @child_node:	the child's place in @parent's @syn_queue or @accept_queue
 *		(the parent's accept_lock)
 * @syn_queue:	listener: its children in SYN-RECEIVED (accept_lock)
 * @accept_queue: listener: established children, oldest first
 *		(accept_lock; poll() tests it with list_empty_careful())
 * @accept_lock: listener: protects both queues, @syn_count, @accept_count
 *		and @closing
 * @syn_count:	listener: children in SYN-RECEIVED (accept_lock)
 * @accept_count: listener: established children waiting for accept()
 *		(accept_lock)
 * @closing:	listener: close() has started, adopt no more children
 *		(accept_lock)
 * @last_cookie: listener: jiffies when it last sent a SYN cookie, 0 never
 *		(WRITE_ONCE() with or without the sk lock, READ_ONCE())
 * @bytes_sent:	payload bytes sent, retransmissions included (sk lock)
 * @bytes_acked: payload bytes acknowledged (sk lock)
 * @bytes_received: payload bytes received in sequence (sk lock)
 * @total_retrans: segments retransmitted (sk lock)
 * @retrans_stamp: jiffies of the first retransmission of the oldest
 *		segment, 0 when none, TCP_USER_TIMEOUT (sk lock)
 * @user_timeout: TCP_USER_TIMEOUT, ms, 0 when unset (sk lock;
 *		WRITE_ONCE(): getsockopt())
 * @fin_sent:	a FIN is queued at the tail of the write queue (sk lock)
 * @nodelay:	TCP_NODELAY: no Nagle, RFC 9293 3.7.4 (sk lock;
 *		WRITE_ONCE(): getsockopt())
 * @nagle_push: TCP_NODELAY was set, or uncorked with it set: what is
 *		queued goes despite TCP_CORK and MSG_MORE, until sendmsg()
 *		queues a new skb (Linux's TCP_NAGLE_PUSH; sk lock)
 * @snd_sml:	end of the last segment sent that was shorter than the MSS,
 *		Minshall's Nagle (sk lock)
 * @recvmsg_inq: TCP_INQ: recvmsg() reports the bytes left to read in a
 *		TCP_CM_INQ cmsg (sk lock; WRITE_ONCE(): getsockopt())
 * @cork:	TCP_CORK: hold back segments smaller than the MSS (sk lock;
 *		WRITE_ONCE(): getsockopt())
 * @pingpong:	TCP_QUICKACK was set to 0, reads back as Linux's does
 *		(sk lock; WRITE_ONCE(): getsockopt())
 *
 * The RFC 9293 names (SND.UNA, RCV.NXT ...) map to the fields of the same
 * name; the connection's state is sk->sk_state.
 */
struct toytcp_sock {
	struct inet_sock	inet;

	u32			snd_una;
	u32			snd_nxt;
	u32			snd_wnd;
	u32			max_window;
	u32			snd_wl1;
	u32			snd_wl2;
	u32			iss;
	u32			write_seq;

	u32			rcv_nxt;
	u32			rcv_wnd;
	u32			rcv_wup;
	u32			copied_seq;
	u32			irs;

	u16			mss_cache;
	u16			advmss;
	u16			user_mss;
	u8			snd_wscale;
	u8			rcv_wscale;

	u32			cwnd;
	u32			ssthresh;
	u32			cwnd_cnt;
	u32			dupacks;
	u32			recover;
	u32			undo_marker;
	int			undo_retrans;
	u32			prior_cwnd;
	u32			prior_ssthresh;
	bool			undo_ok;
	const struct toytcp_cong_ops *ca_ops;
	u64			ca_priv[4];
	bool			in_recovery;
	bool			tlp_armed;
	bool			tlp_end_on;
	u32			tlp_end;
	u32			high_rxt;
	u32			high_sack;
	u32			rack_time;
	u32			rack_end_seq;
	u32			rack_rtt_us;
	bool			reord_seen;
	bool			reo_armed;
	bool			dsack_round_on;
	u8			reo_wnd_mult;
	u8			reo_wnd_persist;
	u32			dsack_round;
	u32			sacked_bytes;
	struct sk_buff		*sack_hint;
	bool			sack_ok;
	bool			wscale_ok;
	bool			dsack;
	u32			dsack_start;
	u32			dsack_end;
	bool			ts_ok;
	u32			ts_recent;
	u32			ts_recent_stamp;
	u32			ts_off;
	u32			ofo_last_seq;

	u32			srtt_us;
	u32			rttvar_us;
	u32			rto;
	u8			backoff;
	u8			retries;

	struct sk_buff		*send_head;
	struct sk_buff_head	ooo_queue;

	struct timer_list	retrans_timer;
	struct timer_list	tw_timer;
	struct timer_list	delack_timer;
	struct timer_list	keepalive_timer;
	unsigned long		deferred;

	bool			ack_pending;
	u8			quickack;
	u32			rcv_unacked;
	u32			rcv_mss;
	u32			rcv_ratio;

	unsigned long		rcv_tstamp;
	u32			rcvq_space;
	u32			rcvq_seq;
	u64			rcvq_time;
	u32			keepidle;
	u32			keepintvl;
	u8			keepcnt;
	u8			probes_out;
	unsigned long		last_oow_ack;
	unsigned long		probe_stamp;
	bool			orphan_counted;

	struct toytcp_port	*port;
	u32			mtu_info;
	struct sock		*port_sk;
	bool			listen_ready;

	struct sock		*parent;
	struct list_head	child_node;
	struct list_head	syn_queue;
	struct list_head	accept_queue;
	spinlock_t		accept_lock;	/* see above */
	u32			syn_count;
	u32			accept_count;
	bool			closing;
	unsigned long		last_cookie;

	u64			bytes_sent;
	u64			bytes_acked;
	u64			bytes_received;
	u32			total_retrans;
	unsigned long		retrans_stamp;
	u32			user_timeout;

	bool			fin_sent;
	bool			nodelay;
	bool			nagle_push;
	u32			snd_sml;
	bool			recvmsg_inq;
	bool			cork;
	bool			pingpong;
};

static inline struct toytcp_sock *toytcp_sk(const struct sock *sk)
{
	return (struct toytcp_sock *)sk;
}

/* Sequence number arithmetic, modulo 2^32 (RFC 9293 3.4). */
static inline bool toytcp_before(u32 seq1, u32 seq2)
{
	return (s32)(seq1 - seq2) < 0;
}

#define toytcp_after(seq2, seq1)	toytcp_before(seq1, seq2)

/* Does a received segment end within the window last advertised?  (+1:
 * a FIN may ride on a segment that fills it.)
 */
static inline bool toytcp_fits_window(const struct toytcp_sock *tsk,
				      const struct toytcp_skb_cb *cb)
{
	return !toytcp_after(cb->end_seq, tsk->rcv_wup + tsk->rcv_wnd + 1);
}

/* seq1 <= seq2 <= seq3 */
static inline bool toytcp_between(u32 seq1, u32 seq2, u32 seq3)
{
	return seq3 - seq1 >= seq2 - seq1;
}

/**
 * enum toytcp_drop_reason - why toytcp dropped a received segment
 * @TOYTCP_NOT_DROPPED: not dropped (yet), as SKB_NOT_DROPPED_YET
 * @TOYTCP_DROP_BAD_HEADER: TCP header shorter than 20 bytes, or longer
 *	than the packet
 * @TOYTCP_DROP_BAD_CHECKSUM: checksum error
 * @TOYTCP_DROP_BACKLOG_FULL: the socket's backlog was full while the user
 *	owned the socket
 * @TOYTCP_DROP_CLOSED: for a socket in CLOSED (answered with a reset)
 * @TOYTCP_DROP_RST_IGNORED: a reset the state ignores (to a listener, or
 *	without an ACK in SYN-SENT)
 * @TOYTCP_DROP_BAD_FLAGS: flags the state cannot take: neither SYN nor ACK
 *	to a listener, neither SYN nor RST in SYN-SENT
 * @TOYTCP_DROP_HANDSHAKE_ACK: in SYN-SENT or SYN-RECEIVED, an ACK of
 *	nothing toytcp sent (answered with a reset)
 * @TOYTCP_DROP_LISTENER_ACK: an ACK to a listener that returned no valid
 *	SYN cookie (answered with a reset)
 * @TOYTCP_DROP_LISTEN_OVERFLOW: the listener's accept queue was full
 * @TOYTCP_DROP_SYN_QUEUE_FULL: the listener's SYN queue was full and SYN
 *	cookies are off
 * @TOYTCP_DROP_CHILD_FAILED: a listener's child could not be made (no
 *	memory, or no route back)
 * @TOYTCP_DROP_NOT_ACCEPTABLE: outside the receive window (RFC 9293
 *	3.10.7.4, first check; answered with an ACK, rate-limited)
 * @TOYTCP_DROP_RST_CHALLENGE: an in-window reset not at RCV.NXT (answered
 *	with a challenge ACK, RFC 5961 3.2)
 * @TOYTCP_DROP_SYN_CHALLENGE: a SYN in a synchronized state (answered with
 *	a challenge ACK, RFC 5961 4.2)
 * @TOYTCP_DROP_NO_ACK: no ACK flag in a synchronized state
 * @TOYTCP_DROP_ACK_UNSENT: acknowledges data not sent yet (answered with
 *	an ACK, rate-limited as challenge ACKs are)
 * @TOYTCP_DROP_ACK_TOO_OLD: acknowledges less than SND.UNA - MAX.SND.WND
 *	(answered with a challenge ACK, RFC 5961 5.2)
 * @TOYTCP_DROP_ABORT_ON_DATA: new data after the user closed: the
 *	connection is reset (AbortOnData)
 * @TOYTCP_DROP_DUPLICATE: all of its data came before
 * @TOYTCP_DROP_RCVBUF_FULL: no room in the socket's receive buffer
 *	(RcvQueueDrops)
 * @TOYTCP_DROP_MEMORY: over the namespace's net.toytcp.mem (MemoryDrops)
 * @TOYTCP_DROP_OFO_DUPLICATE: out-of-order data that arrived in sequence
 *	meanwhile
 * @TOYTCP_DROP_OFO_PRUNED: pruned from the out-of-order queue for memory
 *	(OfoPruned)
 * @TOYTCP_DROP_AFTER_FIN: text or a FIN beyond the peer's FIN
 * @TOYTCP_DROP_PAWS: a timestamp older than TS.Recent (RFC 7323 5, PAWS;
 *	answered with an ACK, rate-limited)
 * @TOYTCP_DROP_MINTTL: TTL below the socket's IP_MINTTL (RFC 5082)
 * @TOYTCP_DROP_XFRM_POLICY: the IPsec inbound policy refused it
 * @TOYTCP_DROP_SOCKET_FILTER: the socket's filter (SO_ATTACH_FILTER,
 *	SO_ATTACH_BPF) or the LSM's sock_rcv_skb refused it
 * @TOYTCP_DROP_CGROUP_FILTER: cgroup-BPF ingress or the LSM's
 *	sock_rcv_skb, run on the port reservation's AF_INET socket, refused it
 * @TOYTCP_DROP_MAX: the number of reasons
 *
 * toytcp_drop() counts each in /proc/net/toytcp_snmp (Drop*) and hands it
 * to kfree_skb_reason() as the closest SKB_DROP_REASON_* (mib.c).
 */
enum toytcp_drop_reason {
	TOYTCP_NOT_DROPPED,
	TOYTCP_DROP_BAD_HEADER,
	TOYTCP_DROP_BAD_CHECKSUM,
	TOYTCP_DROP_BACKLOG_FULL,
	TOYTCP_DROP_CLOSED,
	TOYTCP_DROP_RST_IGNORED,
	TOYTCP_DROP_BAD_FLAGS,
	TOYTCP_DROP_HANDSHAKE_ACK,
	TOYTCP_DROP_LISTENER_ACK,
	TOYTCP_DROP_LISTEN_OVERFLOW,
	TOYTCP_DROP_SYN_QUEUE_FULL,
	TOYTCP_DROP_CHILD_FAILED,
	TOYTCP_DROP_NOT_ACCEPTABLE,
	TOYTCP_DROP_RST_CHALLENGE,
	TOYTCP_DROP_SYN_CHALLENGE,
	TOYTCP_DROP_NO_ACK,
	TOYTCP_DROP_ACK_UNSENT,
	TOYTCP_DROP_ACK_TOO_OLD,
	TOYTCP_DROP_ABORT_ON_DATA,
	TOYTCP_DROP_DUPLICATE,
	TOYTCP_DROP_RCVBUF_FULL,
	TOYTCP_DROP_MEMORY,
	TOYTCP_DROP_OFO_DUPLICATE,
	TOYTCP_DROP_OFO_PRUNED,
	TOYTCP_DROP_AFTER_FIN,
	TOYTCP_DROP_PAWS,
	TOYTCP_DROP_MINTTL,
	TOYTCP_DROP_XFRM_POLICY,
	TOYTCP_DROP_SOCKET_FILTER,
	TOYTCP_DROP_CGROUP_FILTER,
	TOYTCP_DROP_MAX
};

/* mib.c: counters, per network namespace */
enum toytcp_mib_field {
	TOYTCP_MIB_ACTIVEOPENS,
	TOYTCP_MIB_PASSIVEOPENS,
	TOYTCP_MIB_ATTEMPTFAILS,
	TOYTCP_MIB_ESTABRESETS,
	TOYTCP_MIB_INSEGS,
	TOYTCP_MIB_OUTSEGS,
	TOYTCP_MIB_RETRANSSEGS,
	TOYTCP_MIB_INERRS,
	TOYTCP_MIB_INCSUMERRORS,
	TOYTCP_MIB_OUTRSTS,
	TOYTCP_MIB_INRSTS,
	TOYTCP_MIB_LISTENOVERFLOWS,
	TOYTCP_MIB_LISTENDROPS,
	TOYTCP_MIB_RCVQDROPS,
	TOYTCP_MIB_BACKLOGDROPS,
	TOYTCP_MIB_RTOTIMEOUTS,
	TOYTCP_MIB_FASTRETRANS,
	TOYTCP_MIB_OFOQUEUE,
	TOYTCP_MIB_ABORTONDATA,
	TOYTCP_MIB_OFOPRUNED,
	TOYTCP_MIB_ABORTONCLOSE,
	TOYTCP_MIB_ABORTONTIMEOUT,
	TOYTCP_MIB_SACKBLOCKS,
	TOYTCP_MIB_SACKRECOVERY,
	TOYTCP_MIB_ZEROWINDOWPROBES,
	TOYTCP_MIB_DELAYEDACKS,
	TOYTCP_MIB_KEEPALIVEPROBES,
	TOYTCP_MIB_LOSSPROBES,
	TOYTCP_MIB_CHALLENGEACKS,
	TOYTCP_MIB_ACKSKIPPED,
	TOYTCP_MIB_SYNCOOKIESSENT,
	TOYTCP_MIB_SYNCOOKIESRECV,
	TOYTCP_MIB_SYNCOOKIESFAILED,
	TOYTCP_MIB_REQQFULLDOCOOKIES,
	TOYTCP_MIB_REQQFULLDROP,
	TOYTCP_MIB_MEMORYPRESSURES,
	TOYTCP_MIB_MEMORYDROPS,
	TOYTCP_MIB_RCVCOALESCE,
	TOYTCP_MIB_DSACKUNDO,
	TOYTCP_MIB_PAWSESTAB,
	TOYTCP_MIB_MINTTLDROP,
	TOYTCP_MIB_OUTOFWINDOWICMPS,
	TOYTCP_MIB_LOCKDROPPEDICMPS,
	TOYTCP_MIB_ICMPERRORS,
	TOYTCP_MIB_PMTUREDUCED,
	TOYTCP_MIB_WQUEUETOOBIG,
	TOYTCP_MIB_TWOVERFLOW,
	TOYTCP_MIB_ABORTONMEMORY,
	/* One counter per enum toytcp_drop_reason from here */
	TOYTCP_MIB_DROP,
	TOYTCP_MIB_MAX = TOYTCP_MIB_DROP + TOYTCP_DROP_MAX
};

struct toytcp_mib {
	unsigned long	mibs[TOYTCP_MIB_MAX];
};

/**
 * struct toytcp_sysctl - the tunables of one namespace (net.toytcp.*)
 * @tw_timeout_ms: TIME-WAIT length; -1: the module parameter
 * @syn_retries: SYN retransmissions; -1: the module parameter
 * @retries:	data retransmissions; -1: the module parameter
 * @min_rto_ms:	floor of the RTO; -1: the module parameter
 * @delack_ms:	delayed ACK timeout; -1: the module parameter
 * @keepalive_time: default TCP_KEEPIDLE, seconds
 * @keepalive_intvl: default TCP_KEEPINTVL, seconds
 * @keepalive_probes: default TCP_KEEPCNT
 * @rmem_default: initial SO_RCVBUF of new sockets; 0: net.ipv4.tcp_rmem[1]
 *		(they grow from there, autotune.c)
 * @wmem_default: initial SO_SNDBUF of new sockets; 0: net.ipv4.tcp_wmem[1]
 * @syncookies: 0 no SYN cookies, 1 when a SYN queue is full, 2 always
 * @cong:	the congestion control algorithm of new sockets
 *		(congestion_control, cong.c)
 * @orphan_retries: probes and retransmissions of an orphan, as
 *		tcp_orphan_retries; 0: 8 while the RTO is below its maximum
 * @max_orphans: orphans the namespace keeps; beyond it close() resets
 * @max_tw_buckets: sockets in TIME-WAIT; beyond it a socket closes
 *		instead of entering TIME-WAIT
 *
 * Read with READ_ONCE(), written by the sysctl handlers.  The memory
 * limit, net.toytcp.mem, is global (toytcp_sysctl_mem, mem.c).
 */
struct toytcp_sysctl {
	int	tw_timeout_ms;
	int	syn_retries;
	int	retries;
	int	min_rto_ms;
	int	delack_ms;
	int	keepalive_time;
	int	keepalive_intvl;
	int	keepalive_probes;
	int	rmem_default;
	int	wmem_default;
	int	syncookies;
	const struct toytcp_cong_ops *cong;
	int	orphan_retries;
	int	max_orphans;
	int	max_tw_buckets;
};

/**
 * struct toytcp_net - toytcp's state in one network namespace
 * @mib:	counters, per CPU
 * @curr_estab:	sockets in ESTABLISHED or CLOSE-WAIT
 * @hashed:	sockets in the lookup tables (atomic; hash.c): none, and
 *		the lookup returns at once
 * @sysctl:	the tunables
 * @sysctl_hdr:	their registration under net/toytcp
 * @orphans:	sockets closed by their user and not yet gone (atomic)
 * @tw_count:	sockets in TIME-WAIT (atomic; toytcp_set_state())
 */
struct toytcp_net {
	struct toytcp_mib __percpu	*mib;
	atomic_t			curr_estab;
	atomic_t			hashed;
	atomic_t			orphans;
	atomic_t			tw_count;
	struct toytcp_sysctl		sysctl;
	struct ctl_table_header		*sysctl_hdr;
};

extern unsigned int toytcp_net_id;
extern atomic_t toytcp_live_socks;

static inline struct toytcp_net *toytcp_pernet(const struct net *net)
{
	return net_generic(net, toytcp_net_id);
}

#define TOYTCP_INC_STATS(net, field) \
	this_cpu_inc(toytcp_pernet(net)->mib->mibs[field])
#define TOYTCP_ADD_STATS(net, field, val) \
	this_cpu_add(toytcp_pernet(net)->mib->mibs[field], val)

/* A tunable of @sk's namespace: its sysctl, or the module parameter of the
 * same name while the sysctl is -1.
 */
#define toytcp_param(sk, name) ({					\
	int __v = READ_ONCE(toytcp_pernet(sock_net(sk))->sysctl.name);	\
	__v >= 0 ? (unsigned int)__v : READ_ONCE(toytcp_##name);	\
})

/*
 * The functions the files share, one group per file.  The socket's side
 * first (af_toytcp.c to listen.c), then the receive path (hook.c to
 * input.c), the send path (output.c), loss recovery and the timers
 * (sack.c to timer.c), and the rest.
 */

/* af_toytcp.c: module parameters, the workqueue, the proto */
extern unsigned int toytcp_tw_timeout_ms;
extern unsigned int toytcp_syn_retries;
extern unsigned int toytcp_retries;
extern unsigned int toytcp_min_rto_ms;
extern unsigned int toytcp_delack_ms;
extern struct workqueue_struct *toytcp_wq;
extern struct proto toytcp_proto;

/* sock.c: the socket calls */
extern const struct proto_ops toytcp_stream_ops;
int toytcp_create(struct net *net, struct socket *sock, int protocol,
		  int kern);
void toytcp_init_sock(struct sock *sk);
void toytcp_set_state(struct sock *sk, int state);
void toytcp_done(struct sock *sk);
void toytcp_abort(struct sock *sk, int err);
void toytcp_destroy_sock(struct sock *sk);
void toytcp_write_space(struct sock *sk);
void toytcp_close(struct sock *sk, long timeout);

/* sockopt.c: socket options and ioctls */
int toytcp_setsockopt(struct socket *sock, int level, int optname,
		      sockptr_t optval, unsigned int optlen);
int toytcp_getsockopt(struct socket *sock, int level, int optname,
		      char __user *optval, int __user *optlen);
int toytcp_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg);
void toytcp_get_info(struct sock *sk, struct toytcp_info *info);
int toytcp_set_rcvlowat(struct sock *sk, int val);

/* port.c: the reservation in Linux TCP's port space */
int toytcp_port_get(struct sock *sk, __be32 addr, __be16 port);
int toytcp_port_listen(struct sock *sk, int backlog);
void toytcp_port_unlisten(struct sock *sk);
void toytcp_port_hold(struct toytcp_port *port);
void toytcp_port_put(struct toytcp_port *port);
void toytcp_port_put_sync(struct toytcp_port *port);

/* listen.c: listen(), accept() and the passive open */
int toytcp_listen(struct socket *sock, int backlog);
int toytcp_accept(struct socket *sock, struct socket *newsock, int flags);
bool toytcp_accept_ready(const struct sock *sk);
bool toytcp_listen_nolock(struct sock *sk, struct sk_buff *skb);
void toytcp_rcv_listen(struct sock *sk, struct sk_buff *skb);
void toytcp_child_established(struct sock *sk);
bool toytcp_unlink_child(struct sock *sk);
void toytcp_listen_stop(struct sock *sk);

/* hook.c: the receive hook, IPv4's handler for IPPROTO_TCP */
int toytcp_hook_register(void);
void toytcp_hook_unregister(void);
void toytcp_hook_sync_syns(void);
int toytcp_linux_err(struct sk_buff *skb, u32 info);

/* icmp.c: ICMP errors about toytcp's segments */
int toytcp_v4_err(struct sk_buff *skb, u32 info);
void toytcp_mtu_reduced(struct sock *sk);
void toytcp_icmp_err_deferred(struct sock *sk);

/* options.c: TCP options */
/**
 * struct toytcp_opts - the options of a segment that toytcp understands
 * @mss: MSS (RFC 9293 3.2), 0 when absent
 * @wscale: window scale (RFC 7323), 0xff when absent
 * @sack_perm: SACK permitted (RFC 2018)
 * @sack: the first SACK block (RFC 2018 3), NULL when absent
 * @nsacks: number of SACK blocks at @sack
 * @ts: a timestamps option (RFC 7323 3) is there
 * @tsval: its TSval
 * @tsecr: its TSecr
 */
struct toytcp_opts {
	u16		mss;
	u8		wscale;
	bool		sack_perm;
	const u8	*sack;
	int		nsacks;
	bool		ts;
	u32		tsval;
	u32		tsecr;
};

/**
 * struct toytcp_syn_opts - what a SYN or SYN-ACK offers
 * @mss: the MSS option
 * @wscale: the window scale option, -1 for none
 * @sack: SACK permitted
 * @ts: timestamps, with @tsval and @tsecr
 * @tsval: TSval
 * @tsecr: TSecr
 */
struct toytcp_syn_opts {
	u16	mss;
	s8	wscale;
	bool	sack;
	bool	ts;
	u32	tsval;
	u32	tsecr;
};

void toytcp_parse_options(const struct tcphdr *th, struct toytcp_opts *opts);
void toytcp_parse_ts(const struct sock *sk, struct sk_buff *skb);
void toytcp_apply_syn_options(struct sock *sk, const struct toytcp_skb_cb *cb);
unsigned int toytcp_write_syn_options(u8 *opt, const struct toytcp_syn_opts *o);
unsigned int toytcp_syn_options(struct sock *sk, u8 *opt);
unsigned int toytcp_established_options(struct sock *sk, u8 *opt, bool ts,
					unsigned int sack_room);
unsigned int toytcp_sack_option(struct sock *sk, u8 *opt, unsigned int room);

/* input.c: the state machine and the receive queues */
int toytcp_do_rcv(struct sock *sk, struct sk_buff *skb);
void toytcp_rcv_synchronized(struct sock *sk, struct sk_buff *skb);
void toytcp_init_rcv_wnd(struct sock *sk);
void toytcp_rcv_space_update(struct sock *sk);
bool toytcp_prune_ofo(struct sock *sk);

/* output.c: building and sending segments */
int toytcp_route(struct sock *sk);
int toytcp_ip_xmit(struct sock *sk, struct sk_buff *skb, __be32 saddr,
		   __be32 daddr, bool cgroup);
void toytcp_sync_mss(struct sock *sk);
void toytcp_set_iss(struct sock *sk, u32 iss);
u32 toytcp_secure_seq(const struct net *net, __be32 saddr, __be32 daddr,
		      __be16 sport, __be16 dport, u32 *ts_off);
void toytcp_init_seq(struct sock *sk);
struct sk_buff *toytcp_alloc_skb(struct sock *sk, gfp_t gfp, bool force);
void toytcp_free_skb(struct sock *sk, struct sk_buff *skb);
u32 __toytcp_select_window(struct sock *sk);
u32 toytcp_select_window(struct sock *sk);
int toytcp_transmit_skb(struct sock *sk, struct sk_buff *skb);
void toytcp_send_ack(struct sock *sk);
void toytcp_send_probe(struct sock *sk);
void toytcp_send_active_reset(struct sock *sk, gfp_t gfp);
void toytcp_send_reset(struct sock *sk, struct sk_buff *skb);
int toytcp_send_syn(struct sock *sk);
void toytcp_send_fin(struct sock *sk);
int toytcp_fragment(struct sock *sk, struct sk_buff *skb, u32 len);
int toytcp_trim_head(struct sock *sk, struct sk_buff *skb, u32 len);
u32 toytcp_size_goal(const struct sock *sk);
void toytcp_write_xmit(struct sock *sk);
void __toytcp_write_xmit(struct sock *sk, bool one);

/* sack.c: the SACK scoreboard and the receiver's blocks */
bool toytcp_sack(struct sock *sk, const struct sk_buff *skb);
void toytcp_clear_sacks(struct sock *sk);
void toytcp_dsack_set(struct sock *sk, u32 seq, u32 end_seq);
unsigned int toytcp_sack_blocks(struct sock *sk, u32 start[TOYTCP_MAX_SACKS],
				u32 end[TOYTCP_MAX_SACKS]);

/* recovery.c: fast recovery, RACK and loss probes */
void toytcp_rack_update(struct toytcp_sock *tsk, const struct toytcp_skb_cb *cb);
void toytcp_rack_una_moved(struct toytcp_sock *tsk);
bool toytcp_rack_lost_any(struct sock *sk);
void toytcp_retransmit_next(struct sock *sk);
void toytcp_enter_recovery(struct sock *sk);
void toytcp_on_dupack(struct sock *sk);
void toytcp_recovery_ack(struct sock *sk, u32 segs);
void toytcp_send_one_new(struct sock *sk);
void toytcp_rearm_timer(struct sock *sk);
void toytcp_rack_reo_timer(struct sock *sk);
void toytcp_dsack_rcvd(struct sock *sk, u32 start, u32 end);
void toytcp_schedule_loss_probe(struct sock *sk);
void toytcp_send_loss_probe(struct sock *sk);

/* rto.c: RTT estimation and the retransmission timeout */
void toytcp_rtt_sample(struct sock *sk, long rtt_us);
void toytcp_reset_retrans_timer(struct sock *sk);
unsigned int toytcp_orphan_retries(const struct sock *sk);
unsigned int toytcp_max_retries(const struct sock *sk);
bool toytcp_out_of_resources(struct sock *sk);
void toytcp_write_err(struct sock *sk);
void toytcp_retrans_timer_handler(struct sock *sk);

/* persist.c: zero-window probes */
void toytcp_check_probe_timer(struct sock *sk);
void toytcp_probe_timer(struct sock *sk);

/* delack.c: delayed ACKs */
void toytcp_ack_snd_check(struct sock *sk, bool now);
void toytcp_schedule_ack(struct sock *sk);
void toytcp_delack_timer_handler(struct sock *sk);
void toytcp_send_deferred_ack(struct sock *sk);
void toytcp_set_quickack(struct sock *sk, int val);

/* keepalive.c */
void toytcp_reset_keepalive_timer(struct sock *sk, unsigned long len);
void toytcp_keepalive(struct sock *sk, int on);
void toytcp_keepalive_timer_handler(struct sock *sk);

/* timewait.c: TIME-WAIT and the orphaned FIN-WAIT-2 */
void toytcp_time_wait(struct sock *sk);
struct sock *toytcp_tw_reopen(struct sock *sk, struct sk_buff *skb);
void toytcp_fin_wait2_timeout(struct sock *sk);
void toytcp_tw_timer_handler(struct sock *sk);

/* timer.c: the timers' softirq entry points and deferral */
void toytcp_init_timers(struct sock *sk);
void toytcp_clear_timers(struct sock *sk);
void toytcp_release_cb(struct sock *sk);

/* autotune.c: buffers that grow as Linux TCP's */
void toytcp_init_buffers(struct sock *sk);
u8 toytcp_select_wscale(const struct sock *sk);
void toytcp_init_buffer_space(struct sock *sk);
void toytcp_rcv_space_adjust(struct sock *sk);
void toytcp_new_space(struct sock *sk);

/* cong.c: congestion control */
/**
 * struct toytcp_cong_ops - a congestion control algorithm (cong.c)
 * @name:	its TCP_CONGESTION name
 * @init:	optional: set up @ca_priv of a new socket
 * @ssthresh:	a loss was detected (fast retransmit or RTO): the new
 *		slow start threshold, in segments
 * @cong_avoid:	@segs segments were acknowledged outside recovery: grow
 *		@cwnd (slow start and congestion avoidance)
 *
 * The callbacks run with the sk lock held (or from softirq with
 * bh_lock_sock() and the user not owning the socket).
 */
struct toytcp_cong_ops {
	const char	*name;
	void		(*init)(struct sock *sk);
	u32		(*ssthresh)(struct sock *sk);
	void		(*cong_avoid)(struct sock *sk, u32 segs);
};

extern const struct toytcp_cong_ops toytcp_cubic;	/* cubic.c */

const struct toytcp_cong_ops *toytcp_cong_find(const char *name);
const struct toytcp_cong_ops *toytcp_cong_default(struct net *net);
void toytcp_cong_init(struct sock *sk, const struct toytcp_cong_ops *ops);
void toytcp_slow_start(struct sock *sk, u32 segs);
int toytcp_proc_cong(TOYTCP_CTL_TABLE *ctl, int write, void *buffer,
		     size_t *lenp, loff_t *ppos);
int toytcp_proc_cong_avail(TOYTCP_CTL_TABLE *ctl, int write, void *buffer,
			   size_t *lenp, loff_t *ppos);

/**
 * struct toytcp_probe_snap - the sender's state before an ACK, which
 * toytcp_probe() compares with its state after
 * @snd_una: SND.UNA
 * @snd_wnd: SND.WND
 * @cwnd: the congestion window
 * @ssthresh: the slow start threshold
 */
struct toytcp_probe_snap {
	u32	snd_una;
	u32	snd_wnd;
	u32	cwnd;
	u32	ssthresh;
};

void toytcp_probe_start(const struct sock *sk, struct toytcp_probe_snap *snap);
void toytcp_probe(const struct sock *sk, const struct sk_buff *skb,
		  const struct toytcp_probe_snap *snap);

/* syncookies.c */
u32 toytcp_cookie_window(const struct sock *sk);
bool toytcp_cookie_wanted(const struct sock *sk, bool full);
void toytcp_cookie_send(struct sock *sk, struct sk_buff *skb);
u16 toytcp_cookie_check(struct sock *sk, struct sk_buff *skb);
void toytcp_cookie_syn_options(struct sock *sk, struct sk_buff *skb, u16 mss);

/* mem.c: socket memory, host-wide, as tcp_mem */
extern long toytcp_sysctl_mem[3];
extern atomic_long_t toytcp_memory_allocated;
DECLARE_PER_CPU(int, toytcp_memory_per_cpu_fw_alloc);
extern struct percpu_counter toytcp_sockets_allocated;
extern unsigned long toytcp_memory_pressure;
void toytcp_mem_defaults(long *mem);
long toytcp_mem_allocated(void);
long toytcp_mem_peak(void);
void toytcp_enter_memory_pressure(struct sock *sk);
void toytcp_leave_memory_pressure(struct sock *sk);
bool toytcp_under_memory_pressure(const struct sock *sk);
int toytcp_rcv_budget(const struct sock *sk);
/* How far toytcp_mem_schedule() may take socket memory */
enum toytcp_mem_try {
	TOYTCP_MEM_FIRST,	/* to "max"; beyond "pressure" it is under pressure */
	TOYTCP_MEM_AGAIN,	/* to "max", after the caller freed some */
	TOYTCP_MEM_FORCE,	/* to "max" + TOYTCP_MEM_SLACK */
};

bool toytcp_mem_schedule(struct sock *sk, struct sk_buff *skb,
			 enum toytcp_mem_try how);
void toytcp_mem_grow(struct sock *sk, int delta);
bool toytcp_wmem_schedule(struct sock *sk, int size, bool force);
bool toytcp_mem_charge_child(struct sock *sk);
void toytcp_mem_uncharge_child(struct sock *sk);
bool toytcp_check_oom(struct sock *sk, int shift);
int toytcp_mem_init(void);
void toytcp_mem_exit(void);

/* hash.c: the lookup tables */
int toytcp_hash_init(void);
void toytcp_hash_exit(void);
int toytcp_ehash_add(struct sock *sk);
bool toytcp_linux_has_tuple(struct sock *sk);
void toytcp_lhash_add(struct sock *sk);
void toytcp_unhash(struct sock *sk);
struct sock *toytcp_lookup(struct net *net, __be32 saddr, __be16 sport,
			   __be32 daddr, __be16 dport, int dif);
struct sock *toytcp_lookup_listener(struct net *net, __be32 saddr,
				    __be16 sport, __be32 daddr, __be16 dport,
				    int dif);

/**
 * struct toytcp_hash_pos - a place in the lookup tables, for a walk
 * @bucket: the bucket: the listening table's first, then the established
 *	table's
 * @offset: how many of the walk's sockets come before it in the bucket
 */
struct toytcp_hash_pos {
	unsigned int	bucket;
	unsigned int	offset;
};

struct sock *toytcp_hash_seek(struct net *net, struct toytcp_hash_pos *pos);

/* ctrl.c: the net.toytcp sysctls */
int toytcp_ctrl_init_net(struct net *net);
void toytcp_ctrl_exit_net(struct net *net);

/* mib.c: counters, and the one way a received segment is dropped */
extern const char * const toytcp_mib_names[TOYTCP_MIB_DROP];
int toytcp_mib_init_net(struct net *net);
unsigned long toytcp_mib_read(struct net *net, int field);
void toytcp_mib_exit_net(struct net *net);
void toytcp_drop(struct net *net, struct sk_buff *skb,
		 enum toytcp_drop_reason reason);
const char *toytcp_drop_name(enum toytcp_drop_reason reason);

/* diag.c: sock_diag for AF_TOYTCP (ss over netlink) */
int toytcp_diag_init(void);
void toytcp_diag_exit(void);

/* proc.c */
int toytcp_proc_init_net(struct net *net);
void toytcp_proc_exit_net(struct net *net);

/*
 * The retransmission timer is running, or it fired while the user owned
 * the socket and its handler waits for release_sock().  Arming it in the
 * meantime would make that handler find a pending timer and do nothing: a
 * loss probe was replaced by a 200 ms RTO so.
 */
static inline bool toytcp_retrans_timer_armed(const struct toytcp_sock *tsk)
{
	return timer_pending(&tsk->retrans_timer) ||
	       test_bit(TOYTCP_RETRANS_DEFERRED, &tsk->deferred);
}

/* Timestamps are offered and answered unless net.ipv4.tcp_timestamps is 0,
 * as Linux TCP's (tcp_syn_options(), tcp_openreq_init()).
 */
static inline bool toytcp_ts_enabled(const struct net *net)
{
	return READ_ONCE(net->ipv4.sysctl_tcp_timestamps);
}

/* RFC 7323 4: the TSval toytcp sends now, a millisecond clock plus the
 * connection's offset (as tcp_clock_ms() + tsoffset).
 */
static inline u32 toytcp_ts_now(const struct toytcp_sock *tsk)
{
	return (u32)div_u64(ktime_get_ns(), NSEC_PER_MSEC) + tsk->ts_off;
}

/*
 * RFC 7323 5.3 R1, as tcp_paws_check(): may a segment whose TSval is
 * @tsval be taken, at most @win below TS.Recent?  Yes also when TS.Recent
 * is older than 24 days (RFC 7323 5.5), or 0 (some stacks send 0 in the
 * SYN, then real values).
 */
static inline bool toytcp_paws_ok(const struct toytcp_sock *tsk, u32 tsval,
				  int win)
{
	if ((s32)(tsk->ts_recent - tsval) <= win)
		return true;
	if (!time_before32((u32)ktime_get_seconds(),
			   tsk->ts_recent_stamp + TOYTCP_PAWS_IDLE))
		return true;
	return !tsk->ts_recent;
}

/*
 * The AF_INET socket of @sk's port reservation (a child's is its
 * listener's), or NULL: the socket Linux's cgroup-BPF and the LSM judge
 * toytcp's segments by, since they ignore or cannot classify a socket of
 * another family (hook.c, output.c).
 *
 * Context: rcu_read_lock() or @sk's sk lock: the reservation and its
 * socket are freed after a grace period.
 */
static inline struct sock *toytcp_port_sk(const struct sock *sk)
{
	const struct toytcp_port *port = READ_ONCE(toytcp_sk(sk)->port);

	return port ? port->sk : NULL;
}

/* Bytes the user wrote that the peer has not acknowledged yet. */
static inline u32 toytcp_bytes_in_flight(const struct toytcp_sock *tsk)
{
	return tsk->snd_nxt - tsk->snd_una;
}

#endif /* __TOYTCP_PROTOCOL_H */
