// SPDX-License-Identifier: GPL-2.0
/*
 * Queues: a name in a network namespace bound to one exclusively opened block
 * device, with its own workqueue. A queue lives while its namespace's table or
 * any session holds it; the device is released from a work item once the last
 * reference is gone, so deleting a busy queue never waits for I/O.
 */
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "internal.h"

static struct workqueue_struct *mbatch_release_wq;
static atomic_t mbatch_nr_queues = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(mbatch_queues_gone);

static void mbatch_queue_release_work(struct work_struct *work)
{
	struct mbatch_queue *q = container_of(work, struct mbatch_queue,
					      release_work);

	destroy_workqueue(q->wq);
	mbatch_bdev_close(&q->bdev);
	kfree(q);
	if (atomic_dec_and_test(&mbatch_nr_queues))
		wake_up_all(&mbatch_queues_gone);
}

static void mbatch_queue_release(struct kref *ref)
{
	struct mbatch_queue *q = container_of(ref, struct mbatch_queue, ref);

	/* The last put may come from bio completion: close from a work. */
	INIT_WORK(&q->release_work, mbatch_queue_release_work);
	queue_work(mbatch_release_wq, &q->release_work);
}

void mbatch_queue_put(struct mbatch_queue *q)
{
	kref_put(&q->ref, mbatch_queue_release);
}

/* Find a queue by name and take a reference. Called with mn->lock held. */
struct mbatch_queue *mbatch_queue_find(struct mbatch_net *mn, const char *name)
{
	struct mbatch_queue *q;
	unsigned long id;

	lockdep_assert_held(&mn->lock);
	xa_for_each(&mn->queues, id, q) {
		if (!strcmp(q->name, name)) {
			kref_get(&q->ref);
			return q;
		}
	}
	return NULL;
}

static bool mbatch_queue_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && *name != '_' && *name != '-' &&
		    *name != '.')
			return false;
	return true;
}

int mbatch_queue_new(struct mbatch_net *mn, const struct mbatch_queue_cfg *cfg,
		     struct netlink_ext_ack *extack)
{
	struct mbatch_queue *q, *dup;
	struct block_device *bdev;
	int err;

	if (!mbatch_queue_name_ok(cfg->name)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "queue name must be 1-31 characters of [A-Za-z0-9_.-]");
		return -EINVAL;
	}

	/* Refuse a duplicate before touching the device; rechecked below. */
	mutex_lock(&mn->lock);
	dup = mbatch_queue_find(mn, cfg->name);
	mutex_unlock(&mn->lock);
	if (dup) {
		mbatch_queue_put(dup);
		NL_SET_ERR_MSG_MOD(extack, "a queue with this name exists");
		return -EEXIST;
	}

	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	kref_init(&q->ref);
	q->mn = mn;
	strscpy(q->name, cfg->name, sizeof(q->name));
	strscpy(q->path, cfg->path, sizeof(q->path));
	q->depth = cfg->depth;
	q->max_cmds = cfg->max_cmds;
	q->max_bytes = cfg->max_bytes;
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->runq);
	INIT_LIST_HEAD(&q->sessions);
	INIT_WORK(&q->dispatch_work, mbatch_dispatch_work);
	atomic_set(&q->inflight, 0);

	err = mbatch_bdev_open(&q->bdev, q->path, q);
	if (err) {
		if (err == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack,
					   "block device is busy (opened exclusively elsewhere)");
		else if (err == -ENOENT || err == -ENOTBLK || err == -ENXIO)
			NL_SET_ERR_MSG_MOD(extack,
					   "cannot open the block device path");
		else
			NL_SET_ERR_MSG_MOD(extack, "failed to open the block device");
		kfree(q);
		return err;
	}
	bdev = q->bdev.bdev;
	q->lbs = bdev_logical_block_size(bdev);
	q->max_merge = min_t(u64, MBATCH_MAX_MERGE_BYTES,
			     (u64)queue_max_sectors(bdev_get_queue(bdev)) <<
			     SECTOR_SHIFT);
	q->max_merge = max_t(u32, q->max_merge, MBATCH_MAX_IO_LEN);

	q->wq = alloc_workqueue("mbatch-%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 1,
				q->name);
	if (!q->wq) {
		err = -ENOMEM;
		goto close;
	}

	mutex_lock(&mn->lock);
	dup = mbatch_queue_find(mn, q->name);
	if (dup) {
		mutex_unlock(&mn->lock);
		mbatch_queue_put(dup);
		NL_SET_ERR_MSG_MOD(extack, "a queue with this name exists");
		err = -EEXIST;
		goto destroy;
	}
	err = xa_alloc_cyclic(&mn->queues, &q->qid, q, xa_limit_32b,
			      &mn->next_qid, GFP_KERNEL);
	if (err < 0) {
		mutex_unlock(&mn->lock);
		NL_SET_ERR_MSG_MOD(extack, "out of queue ids");
		goto destroy;
	}
	mn->genid++;
	atomic_inc(&mbatch_nr_queues);
	mutex_unlock(&mn->lock);
	return 0;

destroy:
	destroy_workqueue(q->wq);
close:
	mbatch_bdev_close(&q->bdev);
	kfree(q);
	return err;
}

/*
 * Take a queue out of service: no more dispatch; its sessions have already
 * been killed. Drops the table's reference.
 */
static void mbatch_queue_kill(struct mbatch_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->dead = true;
	spin_unlock_irqrestore(&q->lock, flags);
	cancel_work_sync(&q->dispatch_work);
	mbatch_queue_put(q);
}

/* Remove queue @q (in mn's table) and every session on it. */
static void mbatch_queue_unlink_locked(struct mbatch_net *mn,
				       struct mbatch_queue *q,
				       struct list_head *dead)
{
	struct mbatch_session *s;
	unsigned long id;

	lockdep_assert_held(&mn->lock);
	xa_erase(&mn->queues, q->qid);
	xa_for_each(&mn->sessions, id, s) {
		if (s->q != q)
			continue;
		xa_erase(&mn->sessions, id);
		list_add_tail(&s->kill_node, dead);
	}
	mn->genid++;
}

static void mbatch_queue_finish(struct mbatch_queue *q, struct list_head *dead)
{
	struct mbatch_session *s, *tmp;

	list_for_each_entry_safe(s, tmp, dead, kill_node) {
		list_del_init(&s->kill_node);
		mbatch_session_kill(s);
	}
	mbatch_queue_kill(q);
}

int mbatch_queue_del(struct mbatch_net *mn, const char *name,
		     struct netlink_ext_ack *extack)
{
	struct mbatch_queue *q;
	LIST_HEAD(dead);

	mutex_lock(&mn->lock);
	q = mbatch_queue_find(mn, name);
	if (!q) {
		mutex_unlock(&mn->lock);
		NL_SET_ERR_MSG_MOD(extack, "no such queue");
		return -ENOENT;
	}
	mbatch_queue_unlink_locked(mn, q, &dead);
	mutex_unlock(&mn->lock);
	mbatch_queue_finish(q, &dead);
	mbatch_queue_put(q);	/* the find's reference */
	return 0;
}

/* Tear down every queue of a namespace that is going away. */
void mbatch_queues_flush(struct mbatch_net *mn)
{
	struct mbatch_queue *q;
	unsigned long id;
	LIST_HEAD(dead);

	mutex_lock(&mn->lock);
	xa_for_each(&mn->queues, id, q) {
		kref_get(&q->ref);
		mbatch_queue_unlink_locked(mn, q, &dead);
		mutex_unlock(&mn->lock);
		mbatch_queue_finish(q, &dead);
		mbatch_queue_put(q);
		mutex_lock(&mn->lock);
	}
	mutex_unlock(&mn->lock);
}

void mbatch_queue_stats(struct mbatch_queue *q, struct mbatch_stats *st,
			u64 *inflight, u64 *queued, u64 *queued_bytes)
{
	struct mbatch_session *s;
	unsigned long flags;

	*queued = 0;
	*queued_bytes = 0;
	spin_lock_irqsave(&q->lock, flags);
	*st = q->stats;
	list_for_each_entry(s, &q->sessions, qnode) {
		spin_lock(&s->lock);
		st->submitted += s->stats.submitted;
		st->completed += s->stats.completed;
		st->failed += s->stats.failed;
		st->cancelled += s->stats.cancelled;
		st->reordered += s->stats.reordered;
		st->merged += s->stats.merged;
		st->checkpoints += s->stats.checkpoints;
		st->flushes += s->stats.flushes;
		st->bytes_read += s->stats.bytes_read;
		st->bytes_written += s->stats.bytes_written;
		st->rejected += s->stats.rejected;
		if (s->state != MBATCH_SESSION_CLOSING) {
			*queued += s->held_cmds - s->inflight - s->nr_results;
			*queued_bytes += s->held_bytes;
		}
		spin_unlock(&s->lock);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	*inflight = atomic_read(&q->inflight);
}

/* Asked of the device each time: it can be resized or lose a capability. */
u64 mbatch_queue_capacity(const struct mbatch_queue *q)
{
	return bdev_nr_bytes(q->bdev.bdev);
}

bool mbatch_queue_can_discard(const struct mbatch_queue *q)
{
	return bdev_max_discard_sectors(q->bdev.bdev) > 0;
}

void mbatch_queue_geom(const struct mbatch_queue *q, struct mbatch_geom *g)
{
	g->capacity = mbatch_queue_capacity(q);
	g->lbs = q->lbs;
	g->discard = mbatch_queue_can_discard(q);
}

int mbatch_queue_init(void)
{
	mbatch_release_wq = alloc_workqueue("mbatch-release", WQ_MEM_RECLAIM,
					    0);
	return mbatch_release_wq ? 0 : -ENOMEM;
}

void mbatch_queue_exit(void)
{
	/* Every namespace is gone: wait for the last devices to close. */
	wait_event(mbatch_queues_gone, !atomic_read(&mbatch_nr_queues));
	destroy_workqueue(mbatch_release_wq);
}
