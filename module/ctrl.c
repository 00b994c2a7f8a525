// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: the tunables, per network namespace, as sysctls under
 * net.toytcp.*  (the model: net/mptcp/ctrl.c).
 *
 * The five that are also module parameters (tw_timeout_ms, syn_retries,
 * retries, min_rto_ms, delack_ms) hold -1 by default, which means "follow
 * the module parameter": a namespace sets its own value to override it.
 *
 * mem (min, pressure, max socket memory in pages, mem.c) is one limit for
 * the whole host, as net.ipv4.tcp_mem: writable in the initial namespace
 * only; every other namespace shows it read-only (its root may be any
 * user, through a user namespace).  rmem_default and wmem_default of such
 * a namespace are clamped to net.core.rmem_max and wmem_max where they
 * are used (sock.c).  max_orphans and max_tw_buckets start where Linux
 * TCP's start: half its established hash table (tcp_max_tw_buckets).
 */
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "protocol.h"

static int toytcp_minus_one = -1;
static int toytcp_one = 1;
static int toytcp_max_keepidle = MAX_TCP_KEEPIDLE;
static int toytcp_max_keepcnt = MAX_TCP_KEEPCNT;
static int toytcp_retries_limit = TOYTCP_RETRIES_MAX;

/* .data holds the field's offset until toytcp_ctrl_init_net() */
#define TOYTCP_SYSCTL(field, lo, hi) {					\
	.procname	= #field,					\
	.data		= (void *)offsetof(struct toytcp_sysctl, field),	\
	.maxlen		= sizeof(int),					\
	.mode		= 0644,						\
	.proc_handler	= proc_dointvec_minmax,				\
	.extra1		= lo,						\
	.extra2		= hi,						\
}

/*
 * net.toytcp.mem: three page counts, as net.ipv4.tcp_mem, taken only
 * together and only in order (min <= pressure <= max), so that mem.c never
 * sees a pressure threshold above the hard limit.
 */
static int toytcp_proc_mem(TOYTCP_CTL_TABLE *ctl, int write, void *buffer,
			   size_t *lenp, loff_t *ppos)
{
	long *mem = ctl->data;
	unsigned long val[3], lo = 0;
	unsigned long hi = LONG_MAX >> (PAGE_SHIFT + 1);
	struct ctl_table tmp = {
		.data	= val,
		.maxlen	= sizeof(val),
		.mode	= ctl->mode,
		.extra1	= &lo,
		.extra2	= &hi,
	};
	int i, err;

	for (i = 0; i < 3; i++)
		val[i] = READ_ONCE(mem[i]);
	err = proc_doulongvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (val[0] > val[1] || val[1] > val[2])
		return -EINVAL;
	for (i = 0; i < 3; i++)
		WRITE_ONCE(mem[i], val[i]);
	return 0;
}

static struct ctl_table table_template[] = {
	TOYTCP_SYSCTL(tw_timeout_ms, &toytcp_minus_one, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(syn_retries, &toytcp_minus_one, &toytcp_retries_limit),
	TOYTCP_SYSCTL(retries, &toytcp_minus_one, &toytcp_retries_limit),
	TOYTCP_SYSCTL(min_rto_ms, &toytcp_minus_one, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(delack_ms, &toytcp_minus_one, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(keepalive_time, &toytcp_one, &toytcp_max_keepidle),
	TOYTCP_SYSCTL(keepalive_intvl, &toytcp_one, &toytcp_max_keepidle),
	TOYTCP_SYSCTL(keepalive_probes, &toytcp_one, &toytcp_max_keepcnt),
	TOYTCP_SYSCTL(rmem_default, SYSCTL_ZERO, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(wmem_default, SYSCTL_ZERO, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(syncookies, SYSCTL_ZERO, SYSCTL_TWO),
	TOYTCP_SYSCTL(orphan_retries, SYSCTL_ZERO, &toytcp_retries_limit),
	TOYTCP_SYSCTL(max_orphans, SYSCTL_ZERO, SYSCTL_INT_MAX),
	TOYTCP_SYSCTL(max_tw_buckets, SYSCTL_ZERO, SYSCTL_INT_MAX),
	{	/* cong.c */
		.procname	= "congestion_control",
		.data		= (void *)offsetof(struct toytcp_sysctl, cong),
		.maxlen		= TCP_CA_NAME_MAX,
		.mode		= 0644,
		.proc_handler	= toytcp_proc_cong,
	},
	{
		.procname	= "available_congestion_control",
		.maxlen		= TCP_CA_NAME_MAX * 4,
		.mode		= 0444,
		.proc_handler	= toytcp_proc_cong_avail,
	},
	/* Last: the one global entry (toytcp_ctrl_init_net()) */
	{
		.procname	= "mem",
		.data		= toytcp_sysctl_mem,
		.maxlen		= sizeof(toytcp_sysctl_mem),
		.mode		= 0644,
		.proc_handler	= toytcp_proc_mem,
	},
	{ }
};

#define TOYTCP_CTL_MEM	(ARRAY_SIZE(table_template) - 2)

/**
 * toytcp_ctrl_init_net() - defaults and the net.toytcp sysctl directory
 * @net: the new namespace
 *
 * Return: 0 or -ENOMEM.
 */
int toytcp_ctrl_init_net(struct net *net)
{
	struct toytcp_net *tn = toytcp_pernet(net);
	struct toytcp_sysctl *s = &tn->sysctl;
	struct ctl_table *table;
	int i;

	s->tw_timeout_ms = -1;
	s->syn_retries = -1;
	s->retries = -1;
	s->min_rto_ms = -1;
	s->delack_ms = -1;
	s->keepalive_time = TOYTCP_KEEPIDLE / HZ;
	s->keepalive_intvl = TOYTCP_KEEPINTVL / HZ;
	s->keepalive_probes = TOYTCP_KEEPCNT;
	s->rmem_default = 0;
	s->wmem_default = 0;
	s->syncookies = 1;
	s->cong = toytcp_cong_default(net);
	s->orphan_retries = 0;
	/* Linux sizes both tcp_max_orphans and tcp_max_tw_buckets as half
	 * its established hash table (tcp_init(), tcp_sk_init()).
	 */
	s->max_orphans = READ_ONCE(init_net.ipv4.tcp_death_row.sysctl_max_tw_buckets);
	s->max_tw_buckets = s->max_orphans;

	table = kmemdup(table_template,
			sizeof(table_template), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	/* The template holds offsets into struct toytcp_sysctl. */
	for (i = 0; i < TOYTCP_CTL_MEM; i++)
		table[i].data = (char *)s + (uintptr_t)table[i].data;
	if (!net_eq(net, &init_net))
		table[TOYTCP_CTL_MEM].mode = 0444;
	tn->sysctl_hdr = toytcp_register_net_sysctl(net, "net/toytcp", table,
						    ARRAY_SIZE(table_template) - 1);
	if (!tn->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

void toytcp_ctrl_exit_net(struct net *net)
{
	struct toytcp_net *tn = toytcp_pernet(net);
	const struct ctl_table *table = tn->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(tn->sysctl_hdr);
	kfree(table);
}
