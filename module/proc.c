// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: /proc/net/toytcp (one line per socket, in the columns of
 * /proc/net/tcp; the model: tcp4_seq_show() and tcp_seq_start() in
 * net/ipv4/tcp_ipv4.c), /proc/net/toytcp_snmp (the counters, "Name
 * value") and /proc/net/toytcp_netstat (the same in /proc/net/netstat's
 * two-line format, for nstat), all per network namespace.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "protocol.h"

/**
 * struct toytcp_iter_state - where a walk of /proc/net/toytcp is, as
 * struct tcp_iter_state
 * @p: the namespace (seq_file_net()), must be first
 * @pos: the place in the tables of the socket shown at @last_pos
 * @last_pos: the seq_file position of that socket (the header is 0)
 *
 * Each row, and each read() that goes on where the last one stopped,
 * takes the walk on from there rather than from the first bucket.
 */
struct toytcp_iter_state {
	struct seq_net_private	p;
	struct toytcp_hash_pos	pos;
	loff_t			last_pos;
};

static void *toytcp_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(RCU)
{
	struct toytcp_iter_state *st = seq->private;
	struct net *net = seq_file_net(seq);
	struct sock *sk;
	loff_t n;

	rcu_read_lock();
	if (!*pos)
		return SEQ_START_TOKEN;
	if (*pos == st->last_pos)
		return toytcp_hash_seek(net, &st->pos);
	/* Elsewhere (an lseek()): from the start. */
	st->pos = (struct toytcp_hash_pos){};
	sk = toytcp_hash_seek(net, &st->pos);
	for (n = 1; sk && n < *pos; n++) {
		st->pos.offset++;
		sk = toytcp_hash_seek(net, &st->pos);
	}
	st->last_pos = *pos;
	return sk;
}

static void *toytcp_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct toytcp_iter_state *st = seq->private;

	if (v == SEQ_START_TOKEN)
		st->pos = (struct toytcp_hash_pos){};
	else
		st->pos.offset++;
	st->last_pos = ++*pos;
	return toytcp_hash_seek(seq_file_net(seq), &st->pos);
}

static void toytcp_seq_stop(struct seq_file *seq, void *v)
	__releases(RCU)
{
	rcu_read_unlock();
}

/*
 * The owner, as /proc/net/tcp shows it: the socket file's (sock_i_uid());
 * for a child in SYN-RECEIVED its listener's, which it carries in sk_uid
 * (Linux shows a request socket's listener's); 0 for other sockets
 * without a file (not accepted yet, orphans), as Linux does.
 */
static kuid_t toytcp_seq_uid(struct sock *sk, int state)
{
	kuid_t uid;

	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_socket)
		uid = SOCK_INODE(sk->sk_socket)->i_uid;
	else if (state == TCP_SYN_RECV)
		uid = sk->sk_uid;
	else
		uid = GLOBAL_ROOT_UID;
	read_unlock_bh(&sk->sk_callback_lock);
	return uid;
}

static int toytcp_seq_show(struct seq_file *seq, void *v)
{
	const struct toytcp_sock *tsk = v;
	const struct sock *sk = v;
	int timer_active = 0, state, rx, tx;
	unsigned long timer_expires = jiffies;

	seq_setwidth(seq, 149);
	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
		seq_pad(seq, '\n');
		return 0;
	}
	state = inet_sk_state_load(sk);
	if (timer_pending(&tsk->retrans_timer)) {
		timer_active = 1;
		timer_expires = tsk->retrans_timer.expires;
	} else if (timer_pending(&tsk->tw_timer)) {
		timer_active = 3;
		timer_expires = tsk->tw_timer.expires;
	}
	if (state == TCP_LISTEN) {
		rx = READ_ONCE(sk->sk_ack_backlog);
		tx = 0;
	} else {
		rx = max_t(int, READ_ONCE(tsk->rcv_nxt) -
			   READ_ONCE(tsk->copied_seq) -
			   sock_flag(sk, SOCK_DONE), 0);
		tx = max_t(int, READ_ONCE(tsk->write_seq) -
			   READ_ONCE(tsk->snd_una), 0);
	}
	seq_printf(seq, "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d %pK %lu %lu %u %u %d",
		   (int)(seq->index - 1),
		   sk->sk_rcv_saddr, ntohs(inet_sk(sk)->inet_sport),
		   sk->sk_daddr, ntohs(sk->sk_dport), state, tx, rx,
		   timer_active,
		   jiffies_delta_to_clock_t(timer_expires - jiffies),
		   tsk->retries,
		   from_kuid_munged(seq_user_ns(seq),
				    toytcp_seq_uid((struct sock *)sk, state)),
		   0, sock_i_ino((struct sock *)sk),
		   refcount_read(&sk->sk_refcnt), sk,
		   jiffies_to_clock_t(tsk->rto),
		   jiffies_to_clock_t(msecs_to_jiffies(toytcp_param(sk, delack_ms))),
		   tsk->quickack << 1, tsk->cwnd,
		   state == TCP_LISTEN ? -1 : (int)min_t(u32, tsk->ssthresh,
							  INT_MAX));
	seq_pad(seq, '\n');
	return 0;
}

static const struct seq_operations toytcp_seq_ops = {
	.start	= toytcp_seq_start,
	.next	= toytcp_seq_next,
	.stop	= toytcp_seq_stop,
	.show	= toytcp_seq_show,
};

/* The counters and gauges after toytcp_mib_names[], in this order. */
enum {
	TOYTCP_GAUGE_CURRESTAB,
	TOYTCP_GAUGE_MEMALLOC,
	TOYTCP_GAUGE_MEMPEAK,
	TOYTCP_GAUGE_MEMPRESSURE,
	TOYTCP_GAUGE_ORPHANS,
	TOYTCP_GAUGE_TIMEWAIT,
	TOYTCP_GAUGE_LIVESOCKS,
	TOYTCP_NGAUGES
};

static const char * const toytcp_gauge_names[TOYTCP_NGAUGES] = {
	[TOYTCP_GAUGE_CURRESTAB]	= "CurrEstab",
	[TOYTCP_GAUGE_MEMALLOC]		= "MemoryAllocated",
	[TOYTCP_GAUGE_MEMPEAK]		= "MemoryAllocatedPeak",
	[TOYTCP_GAUGE_MEMPRESSURE]	= "MemoryPressure",
	[TOYTCP_GAUGE_ORPHANS]		= "Orphans",
	[TOYTCP_GAUGE_TIMEWAIT]		= "TimeWait",
	[TOYTCP_GAUGE_LIVESOCKS]	= "LiveSockets",
};

/* Socket memory is host-wide (mem.c): the same in every namespace. */
static unsigned long toytcp_gauge(struct net *net, int i)
{
	struct toytcp_net *tn = toytcp_pernet(net);

	switch (i) {
	case TOYTCP_GAUGE_CURRESTAB:
		return max(atomic_read(&tn->curr_estab), 0);
	case TOYTCP_GAUGE_MEMALLOC:
		return max(toytcp_mem_allocated(), 0L) << PAGE_SHIFT;
	case TOYTCP_GAUGE_MEMPEAK:
		return max(toytcp_mem_peak(), 0L) << PAGE_SHIFT;
	case TOYTCP_GAUGE_MEMPRESSURE:
		return !!READ_ONCE(toytcp_memory_pressure);
	case TOYTCP_GAUGE_ORPHANS:
		return max(atomic_read(&tn->orphans), 0);
	case TOYTCP_GAUGE_TIMEWAIT:
		return max(atomic_read(&tn->tw_count), 0);
	default:
		return max(atomic_read(&toytcp_live_socks), 0);
	}
}

static int toytcp_snmp_show(struct seq_file *seq, void *v)
{
	struct net *net = seq->private;
	int i;

	for (i = 0; i < TOYTCP_MIB_DROP; i++)
		seq_printf(seq, "%s %lu\n", toytcp_mib_names[i],
			   toytcp_mib_read(net, i));
	for (i = 0; i < TOYTCP_NGAUGES; i++)
		seq_printf(seq, "%s %lu\n", toytcp_gauge_names[i],
			   toytcp_gauge(net, i));
	for (i = TOYTCP_NOT_DROPPED + 1; i < TOYTCP_DROP_MAX; i++)
		seq_printf(seq, "%s %lu\n", toytcp_drop_name(i),
			   toytcp_mib_read(net, TOYTCP_MIB_DROP + i));
	return 0;
}

/*
 * /proc/net/toytcp_netstat: the same numbers as toytcp_snmp, in the
 * format of /proc/net/netstat that nstat(8) reads (PROC_NET_NETSTAT): a
 * line of names after "ToyTcp:", then a line of values after "ToyTcp:";
 * twice, the counters and gauges, then the drop reasons, so that no line
 * nears nstat's 4096 bytes.  nstat names them ToyTcpActiveOpens ...
 */
static int toytcp_netstat_show(struct seq_file *seq, void *v)
{
	struct net *net = seq->private;
	int i;

	seq_puts(seq, "ToyTcp:");
	for (i = 0; i < TOYTCP_MIB_DROP; i++)
		seq_printf(seq, " %s", toytcp_mib_names[i]);
	for (i = 0; i < TOYTCP_NGAUGES; i++)
		seq_printf(seq, " %s", toytcp_gauge_names[i]);
	seq_puts(seq, "\nToyTcp:");
	for (i = 0; i < TOYTCP_MIB_DROP; i++)
		seq_printf(seq, " %lu", toytcp_mib_read(net, i));
	for (i = 0; i < TOYTCP_NGAUGES; i++)
		seq_printf(seq, " %lu", toytcp_gauge(net, i));
	seq_puts(seq, "\nToyTcp:");
	for (i = TOYTCP_NOT_DROPPED + 1; i < TOYTCP_DROP_MAX; i++)
		seq_printf(seq, " %s", toytcp_drop_name(i));
	seq_puts(seq, "\nToyTcp:");
	for (i = TOYTCP_NOT_DROPPED + 1; i < TOYTCP_DROP_MAX; i++)
		seq_printf(seq, " %lu",
			   toytcp_mib_read(net, TOYTCP_MIB_DROP + i));
	seq_putc(seq, '\n');
	return 0;
}

int toytcp_proc_init_net(struct net *net)
{
	if (!proc_create_net("toytcp", 0444, net->proc_net, &toytcp_seq_ops,
			     sizeof(struct toytcp_iter_state)))
		return -ENOMEM;
	if (!proc_create_net_single("toytcp_snmp", 0444, net->proc_net,
				    toytcp_snmp_show, NULL))
		goto err_toytcp;
	if (!proc_create_net_single("toytcp_netstat", 0444, net->proc_net,
				    toytcp_netstat_show, NULL))
		goto err_snmp;
	return 0;

err_snmp:
	remove_proc_entry("toytcp_snmp", net->proc_net);
err_toytcp:
	remove_proc_entry("toytcp", net->proc_net);
	return -ENOMEM;
}

void toytcp_proc_exit_net(struct net *net)
{
	remove_proc_entry("toytcp_netstat", net->proc_net);
	remove_proc_entry("toytcp_snmp", net->proc_net);
	remove_proc_entry("toytcp", net->proc_net);
}
