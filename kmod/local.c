// SPDX-License-Identifier: GPL-2.0
/*
 * Local sessions: a session of this node on a queue of this node. The
 * session core plus an executor; nothing else.
 */
#include <linux/netlink.h>
#include <linux/slab.h>

#include "exec.h"
#include "fault.h"
#include "local.h"
#include "netns.h"
#include "queue.h"
#include "session.h"

struct mbatch_local {
	struct mbatch_session s;
	struct mbatch_exec ex;
};

static struct kmem_cache *mbatch_local_cache;

static struct mbatch_local *mbatch_local(const struct mbatch_session *s)
{
	return container_of(s, struct mbatch_local, s);
}

static int mbatch_local_geometry(struct mbatch_session *s,
				 struct mbatch_geom *g,
				 struct netlink_ext_ack *extack)
{
	mbatch_queue_geom(mbatch_local(s)->ex.q, g);
	return 0;
}

static void mbatch_local_queue(struct mbatch_session *s,
			       struct mbatch_command *cmd)
{
	mbatch_exec_queue_locked(&mbatch_local(s)->ex, cmd);
}

static void mbatch_local_kick(struct mbatch_session *s)
{
	mbatch_exec_kick(&mbatch_local(s)->ex);
}

static int mbatch_local_cancel(struct mbatch_session *s, u64 batch, u64 upto,
			       struct netlink_ext_ack *extack)
{
	return mbatch_exec_cancel_locked(&mbatch_local(s)->ex, batch, upto);
}

static int mbatch_local_resume(struct mbatch_session *s, u32 gen,
			       struct netlink_ext_ack *extack)
{
	return 0;
}

static bool mbatch_local_runs_on(const struct mbatch_session *s,
				 const struct mbatch_queue *q)
{
	return mbatch_local(s)->ex.q == q;
}

static void mbatch_local_name(const struct mbatch_session *s,
			      const char **queue, const char **peer)
{
	*queue = mbatch_local(s)->ex.q->name;
}

static void mbatch_local_kill(struct mbatch_session *s)
{
	mbatch_exec_kill(&mbatch_local(s)->ex);
}

static void mbatch_local_free(struct mbatch_session *s)
{
	struct mbatch_local *l = mbatch_local(s);

	mbatch_exec_detach(&l->ex);
	mbatch_obj_gone(MBATCH_OBJ_LOCAL);
	kmem_cache_free(mbatch_local_cache, l);
}

static const struct mbatch_session_ops mbatch_local_ops = {
	.kind = "local",
	.jkind = MBATCH_JSESSION_LOCAL,
	.geometry = mbatch_local_geometry,
	.queue = mbatch_local_queue,
	.kick = mbatch_local_kick,
	.cancel = mbatch_local_cancel,
	.resume = mbatch_local_resume,
	.runs_on = mbatch_local_runs_on,
	.name = mbatch_local_name,
	.kill = mbatch_local_kill,
	.free = mbatch_local_free,
};

struct mbatch_session *mbatch_local_open(struct mbatch_net *mn,
					 const char *qname, u32 flags,
					 u32 portid,
					 struct netlink_ext_ack *extack)
{
	struct mbatch_queue *q;
	struct mbatch_local *l;
	int err;

	l = kmem_cache_zalloc(mbatch_local_cache, GFP_KERNEL);
	if (!l)
		return ERR_PTR(-ENOMEM);
	mbatch_obj_new(MBATCH_OBJ_LOCAL);
	mbatch_session_init(&l->s, &mbatch_local_ops, mn, flags, portid);
	mbatch_exec_init(&l->ex, &l->s);

	mutex_lock(&mn->lock);
	q = mbatch_queue_find_locked(mn, qname);
	if (!q) {
		NL_SET_ERR_MSG_MOD(extack, "no such queue");
		err = -ENOENT;
		goto unlock;
	}
	err = mbatch_exec_attach(&l->ex, q);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "too many sessions on this queue");
		mbatch_queue_put(q);
		goto unlock;
	}
	l->s.max_cmds = q->max_cmds;
	l->s.max_bytes = q->max_bytes;
	err = mbatch_session_reserve(&l->s, extack);
	if (err)
		goto detach;
	mbatch_fault_delay(mbatch_fault_open_delay_ms);
	mbatch_session_publish(&l->s);
	mutex_unlock(&mn->lock);
	return &l->s;

detach:
	mbatch_exec_detach(&l->ex);
unlock:
	mutex_unlock(&mn->lock);
	mbatch_obj_gone(MBATCH_OBJ_LOCAL);
	kmem_cache_free(mbatch_local_cache, l);
	return ERR_PTR(err);
}

int mbatch_local_init(void)
{
	mbatch_local_cache = KMEM_CACHE(mbatch_local, 0);
	return mbatch_local_cache ? 0 : -ENOMEM;
}

void mbatch_local_exit(void)
{
	kmem_cache_destroy(mbatch_local_cache);
}
