/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: the executor, which runs a session's commands on a queue of this
 * node (local and participant sessions embed one). It turns the head
 * epoch's commands into bios in offset order, merged where it can, and
 * completes each checkpoint once everything before it has completed.
 */
#ifndef _MBATCH_EXEC_H
#define _MBATCH_EXEC_H

#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "jrec.h"
#include "stats.h"

#define MBATCH_MAX_MERGE_BYTES	(256U << 10)

struct mbatch_command;
struct mbatch_queue;
struct mbatch_session;

struct mbatch_exec {
	struct mbatch_session *s;
	struct mbatch_queue *q;		/* holds a reference */
	struct list_head qnode;		/* q->execs, under q->lock */
	struct list_head runq_node;	/* q->runq, under q->lock */
	bool on_runq;			/* ... holding a session reference */
	bool counted;			/* in q->nr_sessions */
	/* The queue's journal (jrec.c); under the session's lock. */
	struct mbatch_jident jid;	/* its OPEN names it so */
	bool jopen;			/* its OPEN is added */
	bool jclosing;			/* ... its CLOSE waits for jios */
	unsigned int jios;		/* its logged ios, grouped or sent */

	/* Under the session's lock. */
	int epoch_err;			/* first error of the head epoch */
	struct rb_root ready;		/* head epoch, not started, by offset */
	struct list_head ready_order;	/* the same, in submission order */
	unsigned int nr_ready;
	u64 scan_pos;			/* dispatch sweep position */
	struct list_head pull;		/* head epoch WRITEs whose data is to
					 * be asked for (participant), in order
					 */
	unsigned int nr_pull;		/* ... and those asked for */
	bool pull_new;			/* pull has new ones: kick the session */
	struct list_head fifo;		/* later epochs, in submission order */
	unsigned int head_inflight;	/* head epoch commands at the device */
	bool cp_flushing;		/* head checkpoint's flush in flight */
	bool cp_flushed;		/* ... and it has completed */
	int cp_flush_err;
};

void mbatch_exec_init(struct mbatch_exec *ex, struct mbatch_session *s);
int mbatch_exec_attach(struct mbatch_exec *ex, struct mbatch_queue *q);
void mbatch_exec_detach(struct mbatch_exec *ex);
void mbatch_exec_queue_locked(struct mbatch_exec *ex, struct mbatch_command *cmd);
unsigned int mbatch_exec_cancel_locked(struct mbatch_exec *ex, u64 batch,
				       u64 upto);
struct mbatch_command *mbatch_exec_pull_peek_locked(struct mbatch_exec *ex);
void mbatch_exec_pull_take_locked(struct mbatch_exec *ex,
				  struct mbatch_command *cmd);
void mbatch_exec_pull_back_locked(struct mbatch_exec *ex,
				  struct list_head *cmds);
void mbatch_exec_pulled_locked(struct mbatch_exec *ex,
			       struct mbatch_command *cmd);
void mbatch_exec_pull_fail_locked(struct mbatch_exec *ex,
				  struct mbatch_command *cmd, int err);
void mbatch_exec_kick(struct mbatch_exec *ex);
void mbatch_exec_kill(struct mbatch_exec *ex);
void mbatch_exec_dispatch_work(struct work_struct *work);
void mbatch_exec_queue_stats(struct mbatch_queue *q, struct mbatch_stats *st,
			     struct mbatch_held *h);

#endif /* _MBATCH_EXEC_H */
