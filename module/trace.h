/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toytcp: tracepoints, under events/toytcp/ in tracefs
 * (/sys/kernel/tracing) and for perf and bpftrace: state changes,
 * segments sent and received, retransmissions, retransmission timeouts,
 * and the sender's state after each ACK that changed it (toytcp_probe,
 * as tcp:tcp_probe).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM toytcp

#if !defined(_TOYTCP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TOYTCP_TRACE_H

#include <linux/tracepoint.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "protocol.h"

#define toytcp_show_state(s)						\
	__print_symbolic(s,						\
		{ TCP_ESTABLISHED, "ESTABLISHED" },			\
		{ TCP_SYN_SENT, "SYN_SENT" },				\
		{ TCP_SYN_RECV, "SYN_RECV" },				\
		{ TCP_FIN_WAIT1, "FIN_WAIT1" },				\
		{ TCP_FIN_WAIT2, "FIN_WAIT2" },				\
		{ TCP_TIME_WAIT, "TIME_WAIT" },				\
		{ TCP_CLOSE, "CLOSE" },					\
		{ TCP_CLOSE_WAIT, "CLOSE_WAIT" },			\
		{ TCP_LAST_ACK, "LAST_ACK" },				\
		{ TCP_LISTEN, "LISTEN" },				\
		{ TCP_CLOSING, "CLOSING" })

#define toytcp_show_flags(f)						\
	__print_flags(f, "|",						\
		{ 0x01, "FIN" }, { 0x02, "SYN" }, { 0x04, "RST" },	\
		{ 0x08, "PSH" }, { 0x10, "ACK" }, { 0x20, "URG" })

/* The 4-tuple of a socket, in every event (addresses in network order,
 * kept as plain u32 as include/trace/events/tcp.h does).
 */
#define TOYTCP_TUPLE_ASSIGN(s) do {					\
	const struct sock *__sk = (s);					\
									\
	__entry->skaddr = __sk;						\
	__entry->saddr = (__force __u32)__sk->sk_rcv_saddr;		\
	__entry->daddr = (__force __u32)__sk->sk_daddr;			\
	__entry->sport = ntohs(inet_sk(__sk)->inet_sport);		\
	__entry->dport = ntohs(__sk->sk_dport);				\
} while (0)

TRACE_EVENT(toytcp_state_change,
	TP_PROTO(const struct sock *sk, int oldstate, int newstate),
	TP_ARGS(sk, oldstate, newstate),
	TP_STRUCT__entry(
		__field(const void *, skaddr)
		__field(__u32, saddr)
		__field(__u32, daddr)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(int, oldstate)
		__field(int, newstate)
	),
	TP_fast_assign(
		TOYTCP_TUPLE_ASSIGN(sk);
		__entry->oldstate = oldstate;
		__entry->newstate = newstate;
	),
	TP_printk("skaddr=%p %pI4:%u -> %pI4:%u %s -> %s", __entry->skaddr,
		  &__entry->saddr, __entry->sport,
		  &__entry->daddr, __entry->dport,
		  toytcp_show_state(__entry->oldstate),
		  toytcp_show_state(__entry->newstate))
);

DECLARE_EVENT_CLASS(toytcp_segment,
	TP_PROTO(const struct sock *sk, u32 seq, u32 ack, u8 flags, u32 len,
		 u32 wnd),
	TP_ARGS(sk, seq, ack, flags, len, wnd),
	TP_STRUCT__entry(
		__field(const void *, skaddr)
		__field(__u32, saddr)
		__field(__u32, daddr)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(u32, seq)
		__field(u32, ack)
		__field(u32, len)
		__field(u32, wnd)
		__field(u8, flags)
	),
	TP_fast_assign(
		TOYTCP_TUPLE_ASSIGN(sk);
		__entry->seq = seq;
		__entry->ack = ack;
		__entry->len = len;
		__entry->wnd = wnd;
		__entry->flags = flags;
	),
	TP_printk("%pI4:%u -> %pI4:%u seq=%u ack=%u len=%u wnd=%u flags=%s",
		  &__entry->saddr, __entry->sport,
		  &__entry->daddr, __entry->dport, __entry->seq, __entry->ack, __entry->len,
		  __entry->wnd, toytcp_show_flags(__entry->flags))
);

/* A segment handed to IPv4; seq/ack as on the wire, wnd unscaled. */
DEFINE_EVENT(toytcp_segment, toytcp_segment_sent,
	TP_PROTO(const struct sock *sk, u32 seq, u32 ack, u8 flags, u32 len,
		 u32 wnd),
	TP_ARGS(sk, seq, ack, flags, len, wnd));

/* A segment a toytcp socket took from IPv4, checksum verified. */
DEFINE_EVENT(toytcp_segment, toytcp_segment_rcv,
	TP_PROTO(const struct sock *sk, u32 seq, u32 ack, u8 flags, u32 len,
		 u32 wnd),
	TP_ARGS(sk, seq, ack, flags, len, wnd));

TRACE_EVENT(toytcp_retransmit,
	TP_PROTO(const struct sock *sk, u32 seq, u32 end_seq, u8 retrans),
	TP_ARGS(sk, seq, end_seq, retrans),
	TP_STRUCT__entry(
		__field(const void *, skaddr)
		__field(__u32, saddr)
		__field(__u32, daddr)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(u32, seq)
		__field(u32, end_seq)
		__field(u8, retrans)
	),
	TP_fast_assign(
		TOYTCP_TUPLE_ASSIGN(sk);
		__entry->seq = seq;
		__entry->end_seq = end_seq;
		__entry->retrans = retrans;
	),
	TP_printk("%pI4:%u -> %pI4:%u seq=%u end_seq=%u retrans=%u",
		  &__entry->saddr, __entry->sport,
		  &__entry->daddr, __entry->dport, __entry->seq, __entry->end_seq,
		  __entry->retrans)
);

TRACE_EVENT(toytcp_rto,
	TP_PROTO(const struct sock *sk, u32 rto_ms, u8 retries, u8 backoff),
	TP_ARGS(sk, rto_ms, retries, backoff),
	TP_STRUCT__entry(
		__field(const void *, skaddr)
		__field(__u32, saddr)
		__field(__u32, daddr)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(u32, rto_ms)
		__field(u8, retries)
		__field(u8, backoff)
	),
	TP_fast_assign(
		TOYTCP_TUPLE_ASSIGN(sk);
		__entry->rto_ms = rto_ms;
		__entry->retries = retries;
		__entry->backoff = backoff;
	),
	TP_printk("%pI4:%u -> %pI4:%u rto=%ums retries=%u backoff=%u",
		  &__entry->saddr, __entry->sport,
		  &__entry->daddr, __entry->dport, __entry->rto_ms, __entry->retries,
		  __entry->backoff)
);

/*
 * The sender's state after an ACK that moved SND.UNA or changed the send
 * window, cwnd or ssthresh (cong.c: toytcp_probe()).  The fields have
 * tcp:tcp_probe's names where they mean the same: snd_cwnd and ssthresh
 * in segments, snd_wnd and rcv_wnd in bytes (scaled), srtt in us; and
 * beyond tcp_probe: in_flight (bytes sent, not acknowledged and not
 * SACKed) and ca_name (the congestion control algorithm).  Addresses are
 * IPv4 in network order, as the other toytcp events.
 *
 *	perf record -e toytcp:toytcp_probe --filter 'dport == 5001'
 *	bpftrace -e 'tracepoint:toytcp:toytcp_probe { @[args->ca_name] =
 *		     lhist(args->snd_cwnd, 0, 400, 10); }'
 */
TRACE_EVENT(toytcp_probe,
	TP_PROTO(const struct sock *sk, const struct sk_buff *skb),
	TP_ARGS(sk, skb),
	TP_STRUCT__entry(
		__field(const void *, skaddr)
		__field(__u32, saddr)
		__field(__u32, daddr)
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u32, mark)
		__field(__u16, data_len)
		__field(__u32, snd_nxt)
		__field(__u32, snd_una)
		__field(__u32, snd_cwnd)
		__field(__u32, ssthresh)
		__field(__u32, snd_wnd)
		__field(__u32, srtt)
		__field(__u32, rcv_wnd)
		__field(__u32, in_flight)
		__array(char, ca_name, TCP_CA_NAME_MAX)
	),
	TP_fast_assign(
		TOYTCP_TUPLE_ASSIGN(sk);
		__entry->mark = skb->mark;
		__entry->data_len = skb->len;
		__entry->snd_nxt = toytcp_sk(sk)->snd_nxt;
		__entry->snd_una = toytcp_sk(sk)->snd_una;
		__entry->snd_cwnd = toytcp_sk(sk)->cwnd;
		__entry->ssthresh = toytcp_sk(sk)->ssthresh;
		__entry->snd_wnd = toytcp_sk(sk)->snd_wnd;
		__entry->srtt = toytcp_sk(sk)->srtt_us;
		__entry->rcv_wnd = toytcp_sk(sk)->rcv_wnd;
		__entry->in_flight = toytcp_bytes_in_flight(toytcp_sk(sk)) -
				     toytcp_sk(sk)->sacked_bytes;
		strscpy_pad(__entry->ca_name, toytcp_sk(sk)->ca_ops->name,
			    TCP_CA_NAME_MAX);
	),
	TP_printk("%pI4:%u -> %pI4:%u mark=%#x data_len=%u snd_nxt=%#x snd_una=%#x snd_cwnd=%u ssthresh=%u snd_wnd=%u srtt=%u rcv_wnd=%u in_flight=%u ca=%s",
		  &__entry->saddr, __entry->sport,
		  &__entry->daddr, __entry->dport, __entry->mark,
		  __entry->data_len, __entry->snd_nxt, __entry->snd_una,
		  __entry->snd_cwnd, __entry->ssthresh, __entry->snd_wnd,
		  __entry->srtt, __entry->rcv_wnd, __entry->in_flight,
		  __entry->ca_name)
);

#endif /* _TOYTCP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
