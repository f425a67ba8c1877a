/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: queues. A name in a network namespace bound to one exclusively
 * opened block device, with its own dispatch work (exec.c). A queue lives
 * while its namespace's table or any session on it holds a reference; the
 * device is closed from a work item after the last one is gone, so deleting
 * a busy queue never waits for I/O.
 */
#ifndef _MBATCH_QUEUE_H
#define _MBATCH_QUEUE_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/mbatch.h>

#include "compat.h"
#include "journal.h"
#include "stats.h"

struct mbatch_net;
struct mbatch_geom;
struct netlink_ext_ack;

struct mbatch_queue {
	struct kref ref;
	struct mbatch_net *mn;
	u32 qid;
	char name[MBATCH_QUEUE_NAME_MAX];
	char path[MBATCH_DEV_PATH_MAX];
	struct mbatch_bdev bdev;
	u32 depth;
	u32 max_cmds;
	u64 max_bytes;
	u32 lbs;			/* logical block size */
	u32 max_merge;			/* bytes per merged bio */
	struct mbatch_journal *journal;	/* or NULL */

	struct workqueue_struct *wq;
	struct work_struct dispatch_work;
	struct work_struct release_work;

	spinlock_t lock;		/* runq, execs, nr_sessions, dead, stats */
	struct list_head runq;		/* executors with work to do */
	struct list_head execs;		/* every session's executor */
	unsigned int nr_sessions;
	atomic_t inflight;		/* commands at the device */
	bool dead;			/* deleted: dispatch nothing more */
	struct mbatch_stats stats;	/* of closed sessions */
};

/* What of a QUEUE_NEW request a refusal is about. */
enum mbatch_queue_field {
	MBATCH_QF_NAME,
	MBATCH_QF_DEV,
	MBATCH_QF_JOURNAL,
	MBATCH_QF_JOURNAL_DEV,
	MBATCH_QF_JOURNAL_SIZE,
};

struct mbatch_queue_cfg {
	const char *name;
	const char *path;
	u32 depth;
	u32 max_cmds;
	u64 max_bytes;
	struct mbatch_journal_cfg journal;
	enum mbatch_queue_field fault;	/* out: of a refusal */
};

int mbatch_queue_new(struct mbatch_net *mn, struct mbatch_queue_cfg *cfg,
		     struct netlink_ext_ack *extack);
struct mbatch_queue *mbatch_queue_unpublish(struct mbatch_net *mn,
					    const char *name);
struct mbatch_queue *mbatch_queue_find_locked(struct mbatch_net *mn,
					      const char *name);
struct mbatch_queue *mbatch_queue_find(struct mbatch_net *mn, const char *name);
void mbatch_queue_kill(struct mbatch_queue *q);
void mbatch_queue_put(struct mbatch_queue *q);
void mbatch_queue_geom(const struct mbatch_queue *q, struct mbatch_geom *g);
u64 mbatch_queue_capacity(const struct mbatch_queue *q);
int mbatch_queue_init(void);
void mbatch_queue_exit(void);

#endif /* _MBATCH_QUEUE_H */
