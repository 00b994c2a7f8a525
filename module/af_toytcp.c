// SPDX-License-Identifier: GPL-2.0
/*
 * toytcp: module init and exit, the socket family, the per-namespace state
 * (pernet_operations), the receive hook's registration (IPv4's handler
 * for IPPROTO_TCP, hook.c) and the module parameters (the models:
 * net/ipv4/af_inet.c's inet_init(),
 * net/vmw_vsock/af_vsock.c).
 *
 * Order (as net/vmw_vsock/af_vsock.c and net/kcm/kcmsock.c): tables and
 * per-netns state first, then proto_register(), then the receive hook,
 * then sock_register() last, so that no socket can exist before everything
 * it needs; unwound in reverse through the err_* labels.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/net_namespace.h>

#include "protocol.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

unsigned int toytcp_tw_timeout_ms = 60000;
module_param_named(tw_timeout_ms, toytcp_tw_timeout_ms, uint, 0644);
MODULE_PARM_DESC(tw_timeout_ms, "TIME-WAIT length (2*MSL) in ms, default 60000");

/* The retry limits: 0 .. 255, the range of the counters (and of the
 * sysctls of the same name); a larger value is refused with EINVAL.
 */
static int toytcp_param_set_retries(const char *val,
				    const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, TOYTCP_RETRIES_MAX);
}

static const struct kernel_param_ops toytcp_retries_ops = {
	.set	= toytcp_param_set_retries,
	.get	= param_get_uint,
};

unsigned int toytcp_syn_retries = 6;
module_param_cb(syn_retries, &toytcp_retries_ops, &toytcp_syn_retries, 0644);
MODULE_PARM_DESC(syn_retries, "SYN retransmissions before connect() fails, 0 to 255, default 6");

unsigned int toytcp_retries = 15;
module_param_cb(retries, &toytcp_retries_ops, &toytcp_retries, 0644);
MODULE_PARM_DESC(retries, "Retransmissions of data before the connection fails with ETIMEDOUT, 0 to 255, default 15");

unsigned int toytcp_min_rto_ms = 200;
module_param_named(min_rto_ms, toytcp_min_rto_ms, uint, 0644);
MODULE_PARM_DESC(min_rto_ms, "Floor of the retransmission timeout in ms, default 200 as Linux");

unsigned int toytcp_delack_ms = 40;
module_param_named(delack_ms, toytcp_delack_ms, uint, 0644);
MODULE_PARM_DESC(delack_ms, "Delayed ACK timeout in ms (at most 200), default 40 as Linux");

unsigned int toytcp_net_id __read_mostly;
atomic_t toytcp_live_socks = ATOMIC_INIT(0);
struct workqueue_struct *toytcp_wq;

static int __net_init toytcp_net_init(struct net *net)
{
	int err;

	err = toytcp_ctrl_init_net(net);
	if (err)
		return err;
	err = toytcp_mib_init_net(net);
	if (err)
		goto err_ctrl;
	err = toytcp_proc_init_net(net);
	if (err)
		goto err_mib;
	return 0;

err_mib:
	toytcp_mib_exit_net(net);
err_ctrl:
	toytcp_ctrl_exit_net(net);
	return err;
}

static void __net_exit toytcp_net_exit(struct net *net)
{
	toytcp_proc_exit_net(net);
	toytcp_mib_exit_net(net);
	toytcp_ctrl_exit_net(net);
}

static struct pernet_operations toytcp_net_ops = {
	.init	= toytcp_net_init,
	.exit	= toytcp_net_exit,
	.id	= &toytcp_net_id,
	.size	= sizeof(struct toytcp_net),
};

static const struct net_proto_family toytcp_family_ops = {
	.family	= PF_TOYTCP,
	.create	= toytcp_create,
	.owner	= THIS_MODULE,
};

static int __init toytcp_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct toytcp_skb_cb) >
		     sizeof_field(struct sk_buff, cb));
	BUILD_BUG_ON(AF_TOYTCP >= AF_MAX);

	toytcp_wq = alloc_workqueue("toytcp", 0, 0);
	if (!toytcp_wq)
		return -ENOMEM;
	err = toytcp_hash_init();
	if (err)
		goto err_wq;
	err = toytcp_mem_init();
	if (err)
		goto err_hash;
	err = register_pernet_subsys(&toytcp_net_ops);
	if (err)
		goto err_mem;
	err = proto_register(&toytcp_proto, 1);
	if (err)
		goto err_pernet;
	err = toytcp_hook_register();
	if (err)
		goto err_proto;
	err = sock_register(&toytcp_family_ops);
	if (err) {
		pr_err("address family %d is taken by another protocol (%d)\n",
		       AF_TOYTCP, err);
		goto err_hook;
	}
	err = toytcp_diag_init();
	if (err) {
		pr_err("sock_diag for family %d is taken (%d)\n", AF_TOYTCP,
		       err);
		goto err_sock;
	}
	pr_info("loaded (AF_TOYTCP=%d)\n", AF_TOYTCP);
	return 0;

err_sock:
	sock_unregister(PF_TOYTCP);
err_hook:
	toytcp_hook_unregister();
err_proto:
	proto_unregister(&toytcp_proto);
err_pernet:
	unregister_pernet_subsys(&toytcp_net_ops);
err_mem:
	toytcp_mem_exit();
err_hash:
	toytcp_hash_exit();
err_wq:
	destroy_workqueue(toytcp_wq);
	return err;
}

static void __exit toytcp_exit(void)
{
	toytcp_diag_exit();
	sock_unregister(PF_TOYTCP);
	/* Port reservations of the last sockets may still be queued. */
	destroy_workqueue(toytcp_wq);
	/* No socket is left (each pins the module): segments and ICMP
	 * errors go straight to Linux TCP again from here.
	 */
	toytcp_hook_unregister();
	/* Sockets (and port reservations) are freed after a grace period. */
	rcu_barrier();
	proto_unregister(&toytcp_proto);
	unregister_pernet_subsys(&toytcp_net_ops);
	toytcp_mem_exit();
	toytcp_hash_exit();
	if (atomic_read(&toytcp_live_socks))
		pr_err("%d sockets still alive at unload\n",
		       atomic_read(&toytcp_live_socks));
	pr_info("unloaded\n");
}

module_init(toytcp_init);
module_exit(toytcp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toytcp: a small TCP (RFC 9293) in its own socket family");
MODULE_AUTHOR("The toytcp developers");
MODULE_ALIAS_NETPROTO(PF_TOYTCP);
