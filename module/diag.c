// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: sock_diag for AF_TOYTCP, so that a netlink client (ss's way,
 * tools/toytcp-ss) lists toytcp sockets (the models:
 * net/vmw_vsock/diag.c for a family's handler, net/ipv4/inet_diag.c for
 * what a TCP socket's answer holds and how a dump walks the tables).
 *
 * A NETLINK_SOCK_DIAG dump request for family AF_TOYTCP (struct
 * toytcp_diag_req, uapi/linux/toytcp.h) gets one message per socket of
 * the requester's namespace in the states asked for, optionally of one
 * local and one remote port: struct toytcp_diag_msg (the numbers of
 * /proc/net/toytcp), then TOYTCP_DIAG_INFO (struct toytcp_info),
 * TOYTCP_DIAG_MEMINFO (sock_diag_put_meminfo()) and TOYTCP_DIAG_CONG.
 *
 * The walk is /proc/net/toytcp's (hash.c: toytcp_hash_seek()): a dump
 * that fills its skb stops, and the next part goes on from the place kept
 * in cb->args.  Filling a socket's answer takes its lock (toytcp_get_info()),
 * which the walk's RCU section cannot: sockets are taken from the tables
 * in batches, with a reference each, under RCU, then filled outside it (as
 * inet_diag_dump_icsk() does).
 */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "protocol.h"

/* Sockets taken from the tables per RCU section. */
#define TOYTCP_DIAG_BATCH	16

/* cb->args: where the next part of a dump starts */
enum {
	TOYTCP_DIAG_ARG_BUCKET,
	TOYTCP_DIAG_ARG_OFFSET,
};

static bool toytcp_diag_match(const struct sock *sk,
			      const struct toytcp_diag_req *req)
{
	if (!(req->tdiag_states & (1U << inet_sk_state_load(sk))))
		return false;
	if ((req->tdiag_flags & TOYTCP_DIAG_SPORT) &&
	    inet_sk(sk)->inet_sport != req->tdiag_sport)
		return false;
	if ((req->tdiag_flags & TOYTCP_DIAG_DPORT) &&
	    sk->sk_dport != req->tdiag_dport)
		return false;
	return true;
}

/* The pending timer, as /proc/net/toytcp's "tr" and "tm->when". */
static u8 toytcp_diag_timer(const struct toytcp_sock *tsk,
			    unsigned long *expires)
{
	if (timer_pending(&tsk->retrans_timer)) {
		*expires = READ_ONCE(tsk->retrans_timer.expires);
		return TOYTCP_DIAG_TIMER_RETRANS;
	}
	if (timer_pending(&tsk->tw_timer)) {
		*expires = READ_ONCE(tsk->tw_timer.expires);
		return TOYTCP_DIAG_TIMER_TIMEWAIT;
	}
	if (timer_pending(&tsk->keepalive_timer)) {
		*expires = READ_ONCE(tsk->keepalive_timer.expires);
		return TOYTCP_DIAG_TIMER_KEEPALIVE;
	}
	*expires = jiffies;
	return TOYTCP_DIAG_TIMER_NONE;
}

/*
 * One socket's answer.  Context: process (the netlink dump), no locks
 * held; takes the socket's lock for TOYTCP_DIAG_INFO.
 */
static int toytcp_diag_fill(struct sock *sk, struct sk_buff *skb,
			    struct netlink_callback *cb)
{
	struct user_namespace *user_ns = sk_user_ns(NETLINK_CB(cb->skb).sk);
	const struct toytcp_sock *tsk = toytcp_sk(sk);
	struct toytcp_diag_msg *r;
	struct toytcp_info *info;
	struct nlmsghdr *nlh;
	unsigned long expires;
	struct nlattr *attr;
	int state;
	long left;

	nlh = nlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			SOCK_DIAG_BY_FAMILY, sizeof(*r), NLM_F_MULTI);
	if (!nlh)
		return -EMSGSIZE;
	r = nlmsg_data(nlh);
	memset(r, 0, sizeof(*r));
	state = inet_sk_state_load(sk);
	r->tdiag_family = AF_TOYTCP;
	r->tdiag_state = state;
	r->tdiag_sport = inet_sk(sk)->inet_sport;
	r->tdiag_dport = sk->sk_dport;
	r->tdiag_src = sk->sk_rcv_saddr;
	r->tdiag_dst = sk->sk_daddr;
	r->tdiag_if = READ_ONCE(sk->sk_bound_dev_if);
	sock_diag_save_cookie(sk, r->tdiag_cookie);
	r->tdiag_timer = toytcp_diag_timer(tsk, &expires);
	if (r->tdiag_timer) {
		left = (long)(expires - jiffies);
		r->tdiag_expires = left > 0 ? jiffies_to_msecs(left) : 0;
	}
	r->tdiag_retrans = READ_ONCE(tsk->retries);
	if (state == TCP_LISTEN) {
		r->tdiag_rqueue = READ_ONCE(sk->sk_ack_backlog);
		r->tdiag_wqueue = READ_ONCE(sk->sk_max_ack_backlog);
	} else {
		r->tdiag_rqueue = max_t(int, READ_ONCE(tsk->rcv_nxt) -
					READ_ONCE(tsk->copied_seq) -
					sock_flag(sk, SOCK_DONE), 0);
		r->tdiag_wqueue = max_t(int, READ_ONCE(tsk->write_seq) -
					READ_ONCE(tsk->snd_una), 0);
	}
	r->tdiag_uid = from_kuid_munged(user_ns, sock_i_uid(sk));
	r->tdiag_inode = sock_i_ino(sk);
	r->tdiag_shutdown = READ_ONCE(sk->sk_shutdown);

	attr = nla_reserve(skb, TOYTCP_DIAG_INFO, sizeof(*info));
	if (!attr)
		goto cancel;
	info = nla_data(attr);
	toytcp_get_info(sk, info);
	if (sock_diag_put_meminfo(sk, skb, TOYTCP_DIAG_MEMINFO))
		goto cancel;
	if (nla_put_string(skb, TOYTCP_DIAG_CONG,
			   READ_ONCE(tsk->ca_ops)->name))
		goto cancel;
	nlmsg_end(skb, nlh);
	return 0;

cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

/*
 * Up to @max sockets of @net from @pos on, each with a reference, and
 * where each was (@at); @pos moves past the last.  Returns how many.
 */
static int toytcp_diag_take(struct net *net, struct toytcp_hash_pos *pos,
			    const struct toytcp_diag_req *req,
			    struct sock **sks, struct toytcp_hash_pos *at,
			    int max)
{
	struct sock *sk;
	int n = 0;

	rcu_read_lock();
	while (n < max && (sk = toytcp_hash_seek(net, pos))) {
		if (toytcp_diag_match(sk, req) &&
		    refcount_inc_not_zero(&sk->sk_refcnt)) {
			at[n] = *pos;
			sks[n++] = sk;
		}
		pos->offset++;
	}
	rcu_read_unlock();
	return n;
}

static int toytcp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct toytcp_diag_req *req = nlmsg_data(cb->nlh);
	struct toytcp_hash_pos at[TOYTCP_DIAG_BATCH];
	struct sock *sks[TOYTCP_DIAG_BATCH];
	struct net *net = sock_net(skb->sk);
	struct toytcp_hash_pos pos = {
		.bucket = cb->args[TOYTCP_DIAG_ARG_BUCKET],
		.offset = cb->args[TOYTCP_DIAG_ARG_OFFSET],
	};
	bool full;
	int i, n;

	do {
		n = toytcp_diag_take(net, &pos, req, sks, at,
				     TOYTCP_DIAG_BATCH);
		for (i = 0; i < n; i++) {
			if (toytcp_diag_fill(sks[i], skb, cb))
				break;
			sock_put(sks[i]);
		}
		full = i < n;
		if (full)	/* this one opens the next part */
			pos = at[i];
		for (; i < n; i++)
			sock_put(sks[i]);
		/* Fewer than a batch: the walk is at its end. */
	} while (!full && n == TOYTCP_DIAG_BATCH);
	cb->args[TOYTCP_DIAG_ARG_BUCKET] = pos.bucket;
	cb->args[TOYTCP_DIAG_ARG_OFFSET] = pos.offset;
	return skb->len;
}

static int toytcp_diag_handler_dump(struct sk_buff *skb, struct nlmsghdr *h)
{
	const struct toytcp_diag_req *req;
	struct net *net = sock_net(skb->sk);

	if (nlmsg_len(h) < sizeof(*req))
		return -EINVAL;
	req = nlmsg_data(h);
	if (req->sdiag_protocol && req->sdiag_protocol != IPPROTO_TCP)
		return -EINVAL;
	if (h->nlmsg_flags & NLM_F_DUMP) {
		struct netlink_dump_control c = {
			.dump = toytcp_diag_dump,
		};

		return netlink_dump_start(net->diag_nlsk, skb, h, &c);
	}
	return -EOPNOTSUPP;
}

static const struct sock_diag_handler toytcp_diag_handler = {
	.owner	= THIS_MODULE,
	.family	= AF_TOYTCP,
	.dump	= toytcp_diag_handler_dump,
};

/**
 * toytcp_diag_init() - answer sock_diag requests for AF_TOYTCP
 *
 * Context: module init, after the tables exist.
 * Return: 0, or -EBUSY if another module answers for the family.
 */
int toytcp_diag_init(void)
{
	return sock_diag_register(&toytcp_diag_handler);
}

/**
 * toytcp_diag_exit() - stop answering; a dump running holds a module
 * reference (netlink_dump_start()), so none outlives the module
 *
 * Context: module exit.
 */
void toytcp_diag_exit(void)
{
	sock_diag_unregister(&toytcp_diag_handler);
}
