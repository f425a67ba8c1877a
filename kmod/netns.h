/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: per network namespace state. Each namespace has its own queues,
 * sessions and peers, and tears them down when it goes away.
 */
#ifndef _MBATCH_NETNS_H
#define _MBATCH_NETNS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct net;

struct mbatch_net {
	struct net *net;
	struct mutex lock;		/* the tables below and their genids */
	struct xarray queues;		/* queue id -> queue */
	struct xarray sessions;		/* session id -> session (or reserved) */
	struct xarray regions;		/* region id -> region */
	struct list_head peers;
	unsigned int nr_peers;
	u32 next_qid;
	u32 next_sid;
	u32 next_rid;
	unsigned int genid;		/* queues or sessions added, removed */
	unsigned int peer_genid;	/* peers added, removed */
};

struct mbatch_net *mbatch_net(struct net *net);
bool mbatch_name_ok(const char *name);
int mbatch_netns_init(void);
void mbatch_netns_exit(void);

#endif /* _MBATCH_NETNS_H */
