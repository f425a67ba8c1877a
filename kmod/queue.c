// SPDX-License-Identifier: GPL-2.0
/*
 * Queues: a name in a network namespace bound to one exclusively opened block
 * device, with its own workqueue for dispatch. Deleting a queue takes it out
 * of the table and marks it dead; its sessions are closed by the session
 * core, and the device is released from a work item once the last reference
 * is gone, so no caller waits for the device.
 */
#include <linux/netlink.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "cmd.h"
#include "exec.h"
#include "fault.h"
#include "netns.h"
#include "queue.h"

static struct workqueue_struct *mbatch_release_wq;
static atomic_t mbatch_nr_queues = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(mbatch_queues_gone);

static void mbatch_queue_close_devs(struct mbatch_queue *q)
{
	if (q->journal) {
		/* What its last sessions' ends left to write. */
		if (mbatch_jrec_pending(q->journal, false))
			mbatch_jrec_commit(q->journal, 0);
		mbatch_journal_close(q->journal);
		kfree(q->journal);
		q->journal = NULL;
	}
	mbatch_bdev_close(&q->bdev);
}

static void mbatch_queue_release_work(struct work_struct *work)
{
	struct mbatch_queue *q = container_of(work, struct mbatch_queue,
					      release_work);

	/* Waits for a dispatch still running (it may have dropped the last ref). */
	destroy_workqueue(q->wq);
	mbatch_queue_close_devs(q);
	mbatch_obj_gone(MBATCH_OBJ_QUEUE);
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

/* Find a queue by name and take a reference. */
struct mbatch_queue *mbatch_queue_find_locked(struct mbatch_net *mn,
					      const char *name)
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

struct mbatch_queue *mbatch_queue_find(struct mbatch_net *mn, const char *name)
{
	struct mbatch_queue *q;

	mutex_lock(&mn->lock);
	q = mbatch_queue_find_locked(mn, name);
	mutex_unlock(&mn->lock);
	return q;
}

static void mbatch_queue_free_new(struct mbatch_queue *q)
{
	if (q->wq)
		destroy_workqueue(q->wq);
	mbatch_queue_close_devs(q);
	mbatch_obj_gone(MBATCH_OBJ_QUEUE);
	kfree(q);
}

/* The queue's journal, or a refusal of a device that holds one. */
static int mbatch_queue_journal(struct mbatch_queue *q,
				struct mbatch_queue_cfg *cfg,
				struct netlink_ext_ack *extack)
{
	static const enum mbatch_queue_field field[] = {
		[MBATCH_JF_KIND] = MBATCH_QF_JOURNAL,
		[MBATCH_JF_DEV] = MBATCH_QF_JOURNAL_DEV,
		[MBATCH_JF_SIZE] = MBATCH_QF_JOURNAL_SIZE,
		[MBATCH_JF_DATA] = MBATCH_QF_DEV,
	};
	struct mbatch_journal_fault f = { .field = MBATCH_JF_DATA };
	struct mbatch_journal *j;
	int err = 0;

	/* Only an internal journal may be at the end of the queue's device. */
	if (cfg->journal.kind != MBATCH_JOURNAL_INTERNAL)
		err = mbatch_journal_refuse_data(q->bdev.bdev, &f);
	if (!err && cfg->journal.kind) {
		j = kmalloc(sizeof(*j), GFP_KERNEL);
		if (!j)
			return -ENOMEM;
		err = mbatch_journal_open(j, &cfg->journal, q->bdev.bdev, &f);
		if (!err) {
			err = mbatch_jrec_init(j, q->depth);
			if (err)
				mbatch_journal_close(j);
		}
		if (err)
			kfree(j);
		else
			q->journal = j;
	}
	if (err && err != -ENOMEM) {
		MBATCH_ERR_TEXT(extack, f.text);
		cfg->fault = field[f.field];
		if (cfg->fault == MBATCH_QF_JOURNAL_DEV &&
		    cfg->journal.kind == MBATCH_JOURNAL_INTERNAL)
			cfg->fault = MBATCH_QF_DEV;
	}
	return err;
}

int mbatch_queue_new(struct mbatch_net *mn, struct mbatch_queue_cfg *cfg,
		     struct netlink_ext_ack *extack)
{
	struct mbatch_queue *q, *dup;
	struct block_device *bdev;
	int err;

	cfg->fault = MBATCH_QF_NAME;
	if (!mbatch_name_ok(cfg->name)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "queue name must be 1-31 characters of [A-Za-z0-9_.-]");
		return -EINVAL;
	}

	/* Refuse a duplicate before touching the device; rechecked below. */
	dup = mbatch_queue_find(mn, cfg->name);
	if (dup) {
		mbatch_queue_put(dup);
		NL_SET_ERR_MSG_MOD(extack, "a queue with this name exists");
		return -EEXIST;
	}

	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	mbatch_obj_new(MBATCH_OBJ_QUEUE);
	kref_init(&q->ref);
	q->mn = mn;
	strscpy(q->name, cfg->name, sizeof(q->name));
	strscpy(q->path, cfg->path, sizeof(q->path));
	q->depth = cfg->depth;
	q->max_cmds = cfg->max_cmds;
	q->max_bytes = cfg->max_bytes;
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->runq);
	INIT_LIST_HEAD(&q->execs);
	INIT_WORK(&q->dispatch_work, mbatch_exec_dispatch_work);
	atomic_set(&q->inflight, 0);

	cfg->fault = MBATCH_QF_DEV;
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
		mbatch_obj_gone(MBATCH_OBJ_QUEUE);
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
		mbatch_queue_free_new(q);
		return -ENOMEM;
	}

	/*
	 * The journal last: it writes to the device. Only a QUEUE_NEW of the
	 * same name that wins a race from here on still refuses this one.
	 */
	err = mbatch_queue_journal(q, cfg, extack);
	if (err) {
		mbatch_queue_free_new(q);
		return err;
	}

	cfg->fault = MBATCH_QF_NAME;
	mutex_lock(&mn->lock);
	dup = mbatch_queue_find_locked(mn, q->name);
	if (dup) {
		mutex_unlock(&mn->lock);
		mbatch_queue_put(dup);
		mbatch_queue_free_new(q);
		NL_SET_ERR_MSG_MOD(extack, "a queue with this name exists");
		return -EEXIST;
	}
	err = xa_alloc_cyclic(&mn->queues, &q->qid, q, xa_limit_32b,
			      &mn->next_qid, GFP_KERNEL);
	if (err < 0) {
		mutex_unlock(&mn->lock);
		mbatch_queue_free_new(q);
		NL_SET_ERR_MSG_MOD(extack, "out of queue ids");
		return err;
	}
	mn->genid++;
	atomic_inc(&mbatch_nr_queues);
	mutex_unlock(&mn->lock);
	return 0;
}

/*
 * Take a queue out of its namespace's table: nothing opens a session on it
 * from now on. Returns the table's reference, or NULL.
 */
struct mbatch_queue *mbatch_queue_unpublish(struct mbatch_net *mn,
					    const char *name)
{
	struct mbatch_queue *q;

	lockdep_assert_held(&mn->lock);
	q = mbatch_queue_find_locked(mn, name);
	if (!q)
		return NULL;
	xa_erase(&mn->queues, q->qid);
	mn->genid++;
	mbatch_queue_put(q);	/* the find's; the table's is returned */
	return q;
}

/*
 * Out of service: no more dispatch (its sessions have been killed). A
 * dispatch running now stops at its next step; nobody waits for it here.
 * Drops the table's reference.
 */
void mbatch_queue_kill(struct mbatch_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->dead = true;
	spin_unlock_irqrestore(&q->lock, flags);
	mbatch_queue_put(q);
}

/*
 * Asked of the device each time: it can be resized or lose a capability.
 * An internal journal's area is not the sessions'.
 */
u64 mbatch_queue_capacity(const struct mbatch_queue *q)
{
	u64 cap = bdev_nr_bytes(q->bdev.bdev);

	if (q->journal && q->journal->kind == MBATCH_JOURNAL_INTERNAL)
		cap = min(cap, q->journal->start);
	return cap;
}

void mbatch_queue_geom(const struct mbatch_queue *q, struct mbatch_geom *g)
{
	g->capacity = mbatch_queue_capacity(q);
	g->lbs = q->lbs;
	g->max_io = MBATCH_MAX_IO_LEN;
	g->max_proxy_io = MBATCH_MAX_PROXY_IO_LEN;
	/* A region's page pieces must be whole blocks the device can DMA. */
	g->proxy_align = max_t(u32, q->lbs,
			       bdev_dma_alignment(q->bdev.bdev) + 1);
	g->discard = bdev_max_discard_sectors(q->bdev.bdev) > 0;
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
