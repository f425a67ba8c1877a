// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: one initiator's ordered stream into a queue. Opening, closing,
 * accepting a batch (whole or not at all, within the session's limits),
 * resuming after a halt, cancelling a batch, and acknowledging results.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "peer.h"

static struct kmem_cache *mbatch_cmd_cache;
static struct kmem_cache *mbatch_session_cache;

/* Bytes a command's payload pins: whole pages. */
u64 mbatch_rq_charge(const struct mbatch_rq *c)
{
	return (u64)c->nr_pages << PAGE_SHIFT;
}

void mbatch_rq_free_pages(struct mbatch_rq *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_pages; i++)
		__free_page(c->pages[i]);
	c->nr_pages = 0;
}

void mbatch_cmd_free(struct mbatch_rq *c)
{
	mbatch_rq_free_pages(c);
	kmem_cache_free(mbatch_cmd_cache, c);
}

static void mbatch_free_list(struct list_head *list)
{
	struct mbatch_rq *c, *tmp;

	list_for_each_entry_safe(c, tmp, list, node) {
		list_del(&c->node);
		mbatch_cmd_free(c);
	}
}

static struct mbatch_rq *mbatch_cmd_alloc(const struct mbatch_msg *m)
{
	struct mbatch_rq *c;
	unsigned int i;

	c = kmem_cache_zalloc(mbatch_cmd_cache, GFP_KERNEL);
	if (!c)
		return NULL;
	INIT_LIST_HEAD(&c->node);
	RB_CLEAR_NODE(&c->rb);
	c->tag = m->tag;
	c->op = m->op;
	c->flags = m->flags;
	c->offset = m->offset;
	c->len = m->len;
	if (m->op != MBATCH_OP_READ && m->op != MBATCH_OP_WRITE)
		return c;

	for (i = 0; i < DIV_ROUND_UP(m->len, PAGE_SIZE); i++) {
		u32 off = i * PAGE_SIZE;
		u32 len = min_t(u32, m->len - off, PAGE_SIZE);

		c->pages[i] = alloc_page(GFP_KERNEL);
		if (!c->pages[i]) {
			mbatch_cmd_free(c);
			return NULL;
		}
		c->nr_pages++;
		if (m->op == MBATCH_OP_WRITE)
			memcpy_to_page(c->pages[i], 0, m->data + off, len);
	}
	return c;
}

static void mbatch_session_free(struct kref *ref)
{
	struct mbatch_session *s = container_of(ref, struct mbatch_session,
						ref);
	struct mbatch_queue *q = s->q;
	unsigned long flags;
	LIST_HEAD(list);

	if (q) {
		spin_lock_irqsave(&q->lock, flags);
		list_del(&s->qnode);
		q->stats.submitted += s->stats.submitted;
		q->stats.completed += s->stats.completed;
		q->stats.failed += s->stats.failed;
		q->stats.cancelled += s->stats.cancelled;
		q->stats.reordered += s->stats.reordered;
		q->stats.merged += s->stats.merged;
		q->stats.checkpoints += s->stats.checkpoints;
		q->stats.flushes += s->stats.flushes;
		q->stats.bytes_read += s->stats.bytes_read;
		q->stats.bytes_written += s->stats.bytes_written;
		q->stats.rejected += s->stats.rejected;
		spin_unlock_irqrestore(&q->lock, flags);
	}

	list_splice_init(&s->results, &list);
	mbatch_free_list(&list);
	if (s->rmt)
		mbatch_remote_free(s);
	kmem_cache_free(mbatch_session_cache, s);
	if (q)
		mbatch_queue_put(q);
}

void mbatch_session_put(struct mbatch_session *s)
{
	kref_put(&s->ref, mbatch_session_free);
}

struct mbatch_session *mbatch_session_get(struct mbatch_net *mn, u32 id)
{
	struct mbatch_session *s;

	xa_lock(&mn->sessions);
	s = xa_load(&mn->sessions, id);
	if (s && !kref_get_unless_zero(&s->ref))
		s = NULL;
	xa_unlock(&mn->sessions);
	return s;
}

struct mbatch_session *mbatch_session_alloc(struct mbatch_net *mn, u32 flags,
					    u32 portid)
{
	struct mbatch_session *s;

	s = kmem_cache_zalloc(mbatch_session_cache, GFP_KERNEL);
	if (!s)
		return NULL;
	kref_init(&s->ref);
	spin_lock_init(&s->lock);
	init_waitqueue_head(&s->wait);
	INIT_LIST_HEAD(&s->runq_node);
	INIT_LIST_HEAD(&s->ready_order);
	INIT_LIST_HEAD(&s->fifo);
	INIT_LIST_HEAD(&s->results);
	s->ready = RB_ROOT;
	s->state = MBATCH_SESSION_ACTIVE;
	s->flags = flags;
	s->owner_portid = portid;
	s->next_batch_id = 1;
	s->mn = mn;
	return s;
}

/* A session that never was in the table. */
void mbatch_session_free_unused(struct mbatch_session *s)
{
	if (s->rmt)
		mbatch_remote_free(s);
	kmem_cache_free(mbatch_session_cache, s);
}

const char *mbatch_session_qname(const struct mbatch_session *s)
{
	return s->q ? s->q->name : s->rmt->qname;
}

/*
 * @rmt: a peer's session (the participant side), set before the session
 * can be found; it is freed with the session, also on failure.
 */
struct mbatch_session *mbatch_session_open(struct mbatch_net *mn,
					   const char *qname, u32 flags,
					   u32 portid, struct mbatch_remote *rmt,
					   struct netlink_ext_ack *extack)
{
	struct mbatch_session *s;
	struct mbatch_queue *q;
	unsigned long irqflags;
	int err;

	s = mbatch_session_alloc(mn, flags, portid);
	if (!s) {
		if (rmt)
			mbatch_remote_free_unused(rmt);
		return ERR_PTR(-ENOMEM);
	}
	if (rmt) {
		rmt->s = s;
		s->rmt = rmt;
	}

	mutex_lock(&mn->lock);
	q = mbatch_queue_find(mn, qname);
	if (!q) {
		NL_SET_ERR_MSG_MOD(extack, "no such queue");
		err = -ENOENT;
		goto unlock;
	}
	if (READ_ONCE(q->nr_sessions) >= MBATCH_QUEUE_SESSIONS_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "too many sessions on this queue");
		mbatch_queue_put(q);
		err = -ENOBUFS;
		goto unlock;
	}
	err = xa_alloc_cyclic(&mn->sessions, &s->id, s, xa_limit_32b,
			      &mn->next_sid, GFP_KERNEL);
	if (err < 0) {
		NL_SET_ERR_MSG_MOD(extack, "out of session ids");
		mbatch_queue_put(q);
		goto unlock;
	}
	s->q = q;		/* the queue reference found above */
	s->max_cmds = q->max_cmds;
	s->max_bytes = q->max_bytes;
	spin_lock_irqsave(&q->lock, irqflags);
	list_add_tail(&s->qnode, &q->sessions);
	q->nr_sessions++;
	spin_unlock_irqrestore(&q->lock, irqflags);
	mn->genid++;
	kref_get(&s->ref);	/* for the caller; the table holds one */
	mutex_unlock(&mn->lock);
	return s;

unlock:
	mutex_unlock(&mn->lock);
	mbatch_session_free_unused(s);
	return ERR_PTR(err);
}

/*
 * Stop a session that is no longer in the table: cancel what has not
 * started, drop its results, and let in-flight I/O finish on its own.
 * Drops the table's reference.
 */
void mbatch_session_kill(struct mbatch_session *s)
{
	struct mbatch_queue *q = s->q;
	unsigned long flags;
	bool was_queued;
	LIST_HEAD(list);

	spin_lock_irqsave(&s->lock, flags);
	s->state = MBATCH_SESSION_CLOSING;
	if (q)
		mbatch_session_cancel_all_locked(s, &list, false);
	list_splice_tail_init(&s->results, &list);
	s->nr_results = 0;
	s->held_cmds = s->inflight;
	s->held_bytes = 0;
	wake_up_all(&s->wait);
	spin_unlock_irqrestore(&s->lock, flags);

	if (s->rmt)
		mbatch_remote_kill(s);
	if (!q) {
		mbatch_free_list(&list);
		mbatch_session_put(s);
		return;
	}
	spin_lock_irqsave(&q->lock, flags);
	was_queued = s->on_runq;
	if (was_queued) {
		list_del_init(&s->runq_node);
		s->on_runq = false;
	}
	q->nr_sessions--;
	spin_unlock_irqrestore(&q->lock, flags);

	mbatch_free_list(&list);
	if (was_queued)
		mbatch_session_put(s);
	mbatch_session_put(s);
}

int mbatch_session_close(struct mbatch_net *mn, u32 id)
{
	struct mbatch_session *s;

	mutex_lock(&mn->lock);
	s = xa_erase(&mn->sessions, id);
	if (s)
		mn->genid++;
	mutex_unlock(&mn->lock);
	if (!s)
		return -ENOENT;
	mbatch_session_kill(s);
	return 0;
}

/* The namespace is going away: close what is left (remote sessions). */
void mbatch_sessions_flush(struct mbatch_net *mn)
{
	struct mbatch_session *s;
	unsigned long id;

	mutex_lock(&mn->lock);
	xa_for_each(&mn->sessions, id, s) {
		xa_erase(&mn->sessions, id);
		mn->genid++;
		mutex_unlock(&mn->lock);
		mbatch_session_kill(s);
		mutex_lock(&mn->lock);
	}
	mutex_unlock(&mn->lock);
}

/* The netlink socket @portid went away: close the sessions it owned. */
void mbatch_sessions_release_portid(struct mbatch_net *mn, u32 portid)
{
	struct mbatch_session *s;
	unsigned long id;

	mutex_lock(&mn->lock);
	xa_for_each(&mn->sessions, id, s) {
		if (!(s->flags & MBATCH_SESSION_F_OWNED) ||
		    s->owner_portid != portid)
			continue;
		xa_erase(&mn->sessions, id);
		mn->genid++;
		mutex_unlock(&mn->lock);
		mbatch_session_kill(s);
		mutex_lock(&mn->lock);
	}
	mutex_unlock(&mn->lock);
}

static int mbatch_check_limits_locked(struct mbatch_session *s,
				      unsigned int n, u64 bytes,
				      struct netlink_ext_ack *extack)
{
	if (s->state == MBATCH_SESSION_CLOSING) {
		NL_SET_ERR_MSG_MOD(extack, "session is closing");
		return -ENOENT;
	}
	if (s->held_cmds + n > s->max_cmds) {
		s->stats.rejected++;
		NL_SET_ERR_MSG_MOD(extack,
				   "session command limit reached: collect results first");
		return -ENOBUFS;
	}
	if (s->held_bytes + bytes > s->max_bytes) {
		s->stats.rejected++;
		NL_SET_ERR_MSG_MOD(extack,
				   "session byte limit reached: collect results first");
		return -ENOBUFS;
	}
	return 0;
}

int mbatch_session_submit(struct mbatch_session *s, struct mbatch_msg *msgs,
			  unsigned int n, u64 *batch_id, u64 *first_seq,
			  struct netlink_ext_ack *extack)
{
	struct mbatch_rq **cmds;
	unsigned long flags;
	unsigned int i;
	u64 bytes = 0;
	int err;

	for (i = 0; i < n; i++)
		if (msgs[i].op == MBATCH_OP_READ || msgs[i].op == MBATCH_OP_WRITE)
			bytes += round_up(msgs[i].len, PAGE_SIZE);

	/* Refuse early, before allocating anything for a batch that won't fit. */
	spin_lock_irqsave(&s->lock, flags);
	err = mbatch_check_limits_locked(s, n, bytes, extack);
	spin_unlock_irqrestore(&s->lock, flags);
	if (err)
		return err;

	cmds = kvcalloc(n, sizeof(*cmds), GFP_KERNEL);
	if (!cmds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cmds[i] = mbatch_cmd_alloc(&msgs[i]);
		if (!cmds[i]) {
			NL_SET_ERR_MSG_MOD(extack, "out of memory for the batch");
			err = -ENOMEM;
			goto free;
		}
	}

	spin_lock_irqsave(&s->lock, flags);
	err = mbatch_check_limits_locked(s, n, bytes, extack);
	if (err) {
		spin_unlock_irqrestore(&s->lock, flags);
		goto free;
	}
	if (!*batch_id)
		*batch_id = s->next_batch_id++;
	else if (*batch_id >= s->next_batch_id)
		s->next_batch_id = *batch_id + 1;
	*first_seq = s->next_msg_seq + 1;
	s->held_cmds += n;
	s->held_bytes += bytes;
	s->stats.submitted += n;
	for (i = 0; i < n; i++) {
		struct mbatch_rq *c = cmds[i];

		c->s = s;
		/* A peer's messages keep the initiator's numbers. */
		if (msgs[i].seq)
			s->next_msg_seq = msgs[i].seq;
		else
			s->next_msg_seq++;
		c->seq = s->next_msg_seq;
		c->batch_id = *batch_id;
		c->epoch = s->epoch;
		if (c->op == MBATCH_OP_CHECKPOINT)
			s->epoch++;
		if (s->state == MBATCH_SESSION_HALTED || msgs[i].status) {
			if (c->op == MBATCH_OP_CHECKPOINT)
				s->done_epoch++;
			mbatch_cmd_complete_locked(s, c, msgs[i].status ?:
						   -ECANCELED);
		} else if (!s->q) {
			mbatch_remote_queue_locked(s, c);
		} else {
			mbatch_session_queue_locked(s, c);
		}
	}
	spin_unlock_irqrestore(&s->lock, flags);
	kvfree(cmds);
	mbatch_session_kick(s);
	return 0;

free:
	for (i = 0; i < n && cmds[i]; i++)
		mbatch_cmd_free(cmds[i]);
	kvfree(cmds);
	return err;
}

int mbatch_session_resume(struct mbatch_session *s,
			  struct netlink_ext_ack *extack)
{
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&s->lock, flags);
	if (s->state == MBATCH_SESSION_HALTED) {
		s->state = MBATCH_SESSION_ACTIVE;
		s->halt_err = 0;
		if (!s->q)
			mbatch_remote_resume_locked(s);
	} else if (s->state == MBATCH_SESSION_CLOSING) {
		NL_SET_ERR_MSG_MOD(extack, "session is closing");
		err = -ENOENT;
	} else {
		NL_SET_ERR_MSG_MOD(extack, "session is not halted");
		err = -EINVAL;
	}
	spin_unlock_irqrestore(&s->lock, flags);
	if (!err && !s->q)
		mbatch_remote_resumed(s);
	else if (!err)
		mbatch_session_kick(s);
	return err;
}

int mbatch_session_cancel_batch(struct mbatch_session *s, u64 batch,
				unsigned int *n)
{
	unsigned long flags;

	spin_lock_irqsave(&s->lock, flags);
	if (batch >= s->next_batch_id) {
		spin_unlock_irqrestore(&s->lock, flags);
		return -ENOENT;
	}
	if (s->q) {
		*n = mbatch_session_cancel_batch_locked(s, batch);
	} else {
		*n = 0;
		mbatch_remote_cancel_locked(s, batch, n);
	}
	spin_unlock_irqrestore(&s->lock, flags);
	if (*n || !s->q)
		mbatch_session_kick(s);
	return 0;
}

/* Free the results the initiator has received. */
int mbatch_session_ack(struct mbatch_session *s, u64 ack, bool delivered)
{
	struct mbatch_rq *c, *tmp;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&s->lock, flags);
	if (ack > s->delivered_rseq) {
		spin_unlock_irqrestore(&s->lock, flags);
		return -EINVAL;
	}
	if (delivered)
		ack = max(ack, s->delivered_rseq);
	list_for_each_entry_safe(c, tmp, &s->results, node) {
		if (c->rseq > ack)
			break;
		list_move_tail(&c->node, &list);
		s->nr_results--;
		s->held_cmds--;
		s->held_bytes -= mbatch_rq_charge(c);
	}
	s->acked_rseq = max(s->acked_rseq, ack);
	spin_unlock_irqrestore(&s->lock, flags);
	mbatch_free_list(&list);
	return 0;
}

int mbatch_cmd_cache_init(void)
{
	mbatch_cmd_cache = KMEM_CACHE(mbatch_rq, 0);
	if (!mbatch_cmd_cache)
		return -ENOMEM;
	mbatch_session_cache = KMEM_CACHE(mbatch_session, 0);
	if (!mbatch_session_cache) {
		kmem_cache_destroy(mbatch_cmd_cache);
		return -ENOMEM;
	}
	return 0;
}

void mbatch_cmd_cache_exit(void)
{
	kmem_cache_destroy(mbatch_session_cache);
	kmem_cache_destroy(mbatch_cmd_cache);
}
