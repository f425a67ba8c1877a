// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: each namespace has its own queues, sessions
 * and peers, and tears them down when it goes away: peers first (their
 * sessions run on our queues), then queues (with their sessions), then what
 * is left (initiator sessions), and the regions last.
 */
#include <linux/ctype.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "netns.h"
#include "peer.h"
#include "queue.h"
#include "region.h"
#include "session.h"

static unsigned int mbatch_net_id __read_mostly;

struct mbatch_net *mbatch_net(struct net *net)
{
	return net_generic(net, mbatch_net_id);
}

/* Queue and peer names: letters, digits, '.', '-' and '_'. */
bool mbatch_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && !strchr("._-", *name))
			return false;
	return true;
}

static int __net_init mbatch_net_init(struct net *net)
{
	struct mbatch_net *mn = mbatch_net(net);

	mn->net = net;
	mutex_init(&mn->lock);
	xa_init_flags(&mn->queues, XA_FLAGS_ALLOC1);
	xa_init_flags(&mn->sessions, XA_FLAGS_ALLOC1);
	xa_init_flags(&mn->regions, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&mn->peers);
	return 0;
}

static void __net_exit mbatch_net_exit(struct net *net)
{
	struct mbatch_net *mn = mbatch_net(net);

	mbatch_peers_flush(mn);
	mbatch_queues_flush(mn);
	mbatch_sessions_flush(mn);
	mbatch_regions_flush(mn);
	WARN_ON_ONCE(!xa_empty(&mn->sessions) || !xa_empty(&mn->queues) ||
		     !xa_empty(&mn->regions));
	xa_destroy(&mn->regions);
	xa_destroy(&mn->sessions);
	xa_destroy(&mn->queues);
	mutex_destroy(&mn->lock);
}

static struct pernet_operations mbatch_net_ops = {
	.init = mbatch_net_init,
	.exit = mbatch_net_exit,
	.id = &mbatch_net_id,
	.size = sizeof(struct mbatch_net),
};

int mbatch_netns_init(void)
{
	return register_pernet_subsys(&mbatch_net_ops);
}

void mbatch_netns_exit(void)
{
	unregister_pernet_subsys(&mbatch_net_ops);
}
