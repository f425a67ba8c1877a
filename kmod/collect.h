/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: results, collect and acknowledgment. Every completed command
 * becomes a result with the next result sequence and stays on the session's
 * list until it is acknowledged. Consumers of the list (a collect, a
 * participant sending results to its initiator, an acknowledgment, the
 * session's end) take res.lock: with it held nothing is removed from the
 * list, so results are copied out without the session's spinlock.
 * Completions only append, under the session's spinlock.
 *
 * A collect never sleeps in the kernel: one that has to wait arms a
 * notification (COLLECT_READY) that is sent when its condition holds.
 */
#ifndef _MBATCH_COLLECT_H
#define _MBATCH_COLLECT_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct mbatch_command;
struct mbatch_session;
struct netlink_ext_ack;

/* A collect waiting for its condition. */
struct mbatch_waiter {
	u32 portid;			/* where COLLECT_READY goes */
	u32 nlseq;			/* the request's nlmsg_seq */
	u64 cseq;			/* the waiting reply's collect sequence */
	u32 min;			/* results, or 0 */
	bool want_epoch;
	u64 epoch;			/* wait for this checkpoint */
	bool timed_out;			/* set when it fires */
};

struct mbatch_results {
	struct mutex lock;		/* consumers, see above */
	struct list_head list;		/* completed, in result order */
	unsigned int nr;
	u64 next_rseq;			/* the last one given */
	u64 acked;			/* acknowledged up to */
	u64 delivered;			/* sent to the initiator up to */
	u64 cseq;			/* collect replies */
	struct mbatch_command *cursor;	/* next to deliver, or NULL */
	u64 cursor_cseq;		/* ... for this collect */
	bool push;			/* delivered to a link, not collected */
	/* Under the session's spinlock: */
	bool armed;
	bool fired;			/* ready to be sent by @work */
	struct mbatch_waiter waiter;
	struct mbatch_waiter ready;
	struct timer_list timer;	/* the waiter's timeout (timer.c) */
	struct work_struct work;	/* sends COLLECT_READY */
};

/* What a collect asks for. */
struct mbatch_collect_req {
	u32 min;
	u32 max;
	u32 timeout_ms;
	bool want_epoch;
	u64 epoch;
};

/* A collect in progress: fixed by the snapshot, advanced by each part. */
struct mbatch_collect_pos {
	u64 cseq;
	u64 next;			/* result sequence of the next one */
	u32 count;			/* in the whole reply */
	u32 left;			/* still to put */
	u32 pending;			/* left for the next collect */
};

typedef int (*mbatch_put_result_t)(void *arg, const struct mbatch_command *cmd);

void mbatch_results_init(struct mbatch_session *s);
void mbatch_result_add_locked(struct mbatch_session *s,
			      struct mbatch_command *cmd);
void mbatch_results_check_locked(struct mbatch_session *s);
void mbatch_results_kill(struct mbatch_session *s, struct list_head *free);
int mbatch_results_ack(struct mbatch_session *s, u64 ack, bool delivered);

int mbatch_collect_arm(struct mbatch_session *s,
		       const struct mbatch_collect_req *r, u32 portid,
		       u32 nlseq, struct mbatch_collect_pos *pos);
int mbatch_collect_snapshot(struct mbatch_session *s,
			    const struct mbatch_collect_req *r,
			    struct mbatch_collect_pos *pos,
			    struct netlink_ext_ack *extack);
int mbatch_collect_fill(struct mbatch_session *s,
			struct mbatch_collect_pos *pos,
			mbatch_put_result_t put, void *arg);

/* A participant's link: results after the cursor, in frames. */
void mbatch_results_rewind(struct mbatch_session *s);
int mbatch_results_send(struct mbatch_session *s, mbatch_put_result_t put,
			void *arg);

void mbatch_waiter_expired(struct mbatch_session *s);

#endif /* _MBATCH_COLLECT_H */
