// SPDX-License-Identifier: GPL-2.0
/*
 * Results, collect and acknowledgment (see collect.h for the locking).
 *
 * A collect is a snapshot of the results not yet acknowledged (first
 * sequence, count) followed by parts; each part starts where the previous
 * one stopped (res.cursor), so a long reply costs O(results), and payloads
 * are copied with only res.lock held. A participant's link uses the same
 * cursor to push results to its initiator as they complete.
 *
 * A collect that has to wait arms the session's waiter and returns at
 * once; a completion, a checkpoint, the session's end or the timeout fires
 * it, and a work item sends COLLECT_READY to the socket that asked.
 */
#include <linux/jiffies.h>
#include <linux/netlink.h>

#include "collect.h"
#include "fault.h"
#include "notify.h"
#include "session.h"
#include "timer.h"

static void mbatch_ready_work(struct work_struct *work);

void mbatch_results_init(struct mbatch_session *s)
{
	struct mbatch_results *res = &s->res;

	mutex_init(&res->lock);
	INIT_LIST_HEAD(&res->list);
	INIT_WORK(&res->work, mbatch_ready_work);
	mbatch_timer_waiter_init(s);
}

static bool mbatch_waiter_holds(const struct mbatch_session *s,
				const struct mbatch_waiter *w)
{
	if (s->state == MBATCH_SESSION_CLOSING)
		return true;
	if (w->min && s->res.nr >= w->min)
		return true;
	return w->want_epoch && s->done_epoch > w->epoch;
}

/* The waiter fires: COLLECT_READY is sent from the work. s->lock held. */
static void mbatch_waiter_fire_locked(struct mbatch_session *s, bool timed_out)
{
	struct mbatch_results *res = &s->res;

	res->armed = false;
	res->ready = res->waiter;
	res->ready.timed_out = timed_out;
	res->fired = true;
	queue_work(system_wq, &res->work);
}

/* Something changed that a waiting collect may be waiting for. */
void mbatch_results_check_locked(struct mbatch_session *s)
{
	lockdep_assert_held(&s->lock);
	if (s->res.armed && mbatch_waiter_holds(s, &s->res.waiter))
		mbatch_waiter_fire_locked(s, false);
}

/* The waiter's timer (timer.c). */
void mbatch_waiter_expired(struct mbatch_session *s)
{
	unsigned long flags;

	spin_lock_irqsave(&s->lock, flags);
	if (s->res.armed)
		mbatch_waiter_fire_locked(s, true);
	spin_unlock_irqrestore(&s->lock, flags);
}

/* Take a fired notification, if any. s->lock held. */
static bool mbatch_ready_take_locked(struct mbatch_session *s,
				     struct mbatch_waiter *w, u32 *pending,
				     u64 *done_epoch)
{
	if (!s->res.fired)
		return false;
	s->res.fired = false;
	*w = s->res.ready;
	*pending = s->res.nr;
	*done_epoch = s->done_epoch;
	return true;
}

static void mbatch_ready_work(struct work_struct *work)
{
	struct mbatch_session *s = container_of(work, struct mbatch_session,
						res.work);
	struct mbatch_waiter w;
	u64 done_epoch;
	u32 pending;
	bool send;

	spin_lock_irq(&s->lock);
	send = mbatch_ready_take_locked(s, &w, &pending, &done_epoch);
	spin_unlock_irq(&s->lock);
	if (send)
		mbatch_notify_collect_ready(s, &w, pending, done_epoch);
}

/* A completed command becomes the next result. s->lock held. */
void mbatch_result_add_locked(struct mbatch_session *s, struct mbatch_command *cmd)
{
	struct mbatch_results *res = &s->res;

	lockdep_assert_held(&s->lock);
	cmd->rseq = ++res->next_rseq;
	if (mbatch_planted(MBATCH_PLANT_DROP_RESULT) && !(cmd->rseq % 10)) {
		mbatch_cmd_free(cmd);	/* test build: a lost result */
		return;
	}
	list_add_tail(&cmd->node, &res->list);
	res->nr++;
	/* A link sends from the cursor: the first new result, if it is idle. */
	if (res->push && !res->cursor)
		res->cursor = cmd;
	mbatch_results_check_locked(s);
}

/*
 * Free the results up to @ack (or, @delivered, everything delivered). An
 * acknowledgment beyond what was delivered is refused.
 */
int mbatch_results_ack(struct mbatch_session *s, u64 ack, bool delivered)
{
	struct mbatch_results *res = &s->res;
	struct mbatch_command *cmd, *tmp;
	LIST_HEAD(free);
	int err = 0;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	if (ack > res->delivered) {
		err = -EINVAL;
		goto unlock;
	}
	if (delivered)
		ack = max(ack, res->delivered);
	list_for_each_entry_safe(cmd, tmp, &res->list, node) {
		if (cmd->rseq > ack)
			break;
		list_move_tail(&cmd->node, &free);
		res->nr--;
		s->held_cmds--;
		s->held_bytes -= mbatch_cmd_charge(cmd);
	}
	res->acked = max(res->acked, ack);
	if (res->cursor && res->cursor->rseq <= ack)
		res->cursor = !res->push ? NULL :
			list_first_entry_or_null(&res->list, struct mbatch_command,
						 node);
unlock:
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
	mbatch_cmd_free_list(&free);
	return err;
}

/*
 * The session is CLOSING: its results go to @free, a waiting collect hears
 * that it ended, and the waiter's timer and work are stopped for good.
 */
void mbatch_results_kill(struct mbatch_session *s, struct list_head *free)
{
	struct mbatch_results *res = &s->res;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	list_splice_tail_init(&res->list, free);
	res->nr = 0;
	res->cursor = NULL;
	mbatch_results_check_locked(s);
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
	mbatch_timer_waiter_stop(s);
	flush_work(&res->work);
}

static bool mbatch_collect_holds(const struct mbatch_session *s,
				 const struct mbatch_collect_req *r)
{
	struct mbatch_waiter w = {
		.min = r->min,
		.want_epoch = r->want_epoch,
		.epoch = r->epoch,
	};

	return mbatch_waiter_holds(s, &w);
}

/*
 * A collect with a condition: 0 when it holds (go on with the snapshot),
 * 1 when it does not and the waiter is armed (@pos has the waiting reply's
 * sequence and pending count), -ENOENT when the session is closing.
 */
int mbatch_collect_arm(struct mbatch_session *s,
		       const struct mbatch_collect_req *r, u32 portid,
		       u32 nlseq, struct mbatch_collect_pos *pos)
{
	struct mbatch_results *res = &s->res;
	struct mbatch_waiter old, fired;
	bool have_old = false, have_fired;
	u32 fired_pending;
	u64 fired_epoch;

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		spin_unlock_irq(&s->lock);
		return -ENOENT;
	}
	if (!r->timeout_ms || mbatch_collect_holds(s, r)) {
		spin_unlock_irq(&s->lock);
		return 0;
	}
	/* One waiter per session: a notification still unsent goes first. */
	have_fired = mbatch_ready_take_locked(s, &fired, &fired_pending,
					      &fired_epoch);
	if (res->armed) {
		old = res->waiter;
		old.timed_out = true;
		have_old = true;
	}
	res->waiter = (struct mbatch_waiter){
		.portid = portid,
		.nlseq = nlseq,
		.cseq = ++res->cseq,
		.min = r->min,
		.want_epoch = r->want_epoch,
		.epoch = r->epoch,
	};
	res->armed = true;
	memset(pos, 0, sizeof(*pos));
	pos->cseq = res->waiter.cseq;
	pos->pending = res->nr;
	mbatch_timer_waiter_arm(s, r->timeout_ms);
	spin_unlock_irq(&s->lock);

	if (have_fired)
		mbatch_notify_collect_ready(s, &fired, fired_pending,
					    fired_epoch);
	if (have_old)
		mbatch_notify_collect_ready(s, &old, pos->pending,
					    READ_ONCE(s->done_epoch));
	return 1;
}

/* Fix the range of results a collect returns. */
int mbatch_collect_snapshot(struct mbatch_session *s,
			    const struct mbatch_collect_req *r,
			    struct mbatch_collect_pos *pos,
			    struct netlink_ext_ack *extack)
{
	struct mbatch_results *res = &s->res;
	struct mbatch_command *first;
	int err = 0;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		NL_SET_ERR_MSG_MOD(extack, "session was closed");
		err = -ENOENT;
		goto unlock;
	}
	first = list_first_entry_or_null(&res->list, struct mbatch_command, node);
	pos->next = first ? first->rseq : res->next_rseq + 1;
	pos->count = min_t(u32, res->nr, r->max);
	pos->left = pos->count;
	pos->pending = res->nr - pos->count;
	pos->cseq = ++res->cseq;
	res->cursor = first;
	res->cursor_cseq = pos->cseq;
unlock:
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
	return err;
}

/* The result with sequence @rseq, if it is still there. res.lock held. */
static struct mbatch_command *mbatch_results_find(struct mbatch_session *s,
						  u64 rseq)
{
	struct mbatch_command *cmd;

	list_for_each_entry(cmd, &s->res.list, node) {
		mbatch_debug_step();
		if (cmd->rseq >= rseq)
			return cmd->rseq == rseq ? cmd : NULL;
	}
	return NULL;
}

/*
 * Put the next results of a collect with @put until it refuses one (the
 * part is full) or the collect is complete. Returns how many were put, or
 * -ENOENT when the session was closed. A collect whose next result was
 * acknowledged meanwhile (by another collect) ends.
 */
int mbatch_collect_fill(struct mbatch_session *s,
			struct mbatch_collect_pos *pos,
			mbatch_put_result_t put, void *arg)
{
	struct mbatch_results *res = &s->res;
	struct mbatch_command *cmd;
	int n = 0;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		spin_unlock_irq(&s->lock);
		mutex_unlock(&res->lock);
		return -ENOENT;
	}
	cmd = NULL;
	if (pos->left) {
		if (res->cursor_cseq == pos->cseq && res->cursor &&
		    res->cursor->rseq == pos->next)
			cmd = res->cursor;
		else
			cmd = mbatch_results_find(s, pos->next);
		if (!cmd)
			pos->left = 0;
	}
	spin_unlock_irq(&s->lock);

	/* Nothing is removed while res.lock is held; completions append. */
	while (pos->left) {
		mbatch_debug_step();
		if (put(arg, cmd))
			break;
		/* test build: the first result of each part twice */
		if (mbatch_planted(MBATCH_PLANT_DUP_RESULT) && !n &&
		    put(arg, cmd))
			break;
		pos->next = cmd->rseq + 1;
		pos->left--;
		n++;
		cmd = pos->left ? list_next_entry(cmd, node) : NULL;
	}

	spin_lock_irq(&s->lock);
	res->cursor = cmd;
	res->cursor_cseq = pos->cseq;
	if (n)
		res->delivered = max(res->delivered, pos->next - 1);
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
	return n;
}

/* A link came (back): send again every result not acknowledged. */
void mbatch_results_rewind(struct mbatch_session *s)
{
	struct mbatch_results *res = &s->res;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	res->cursor = list_first_entry_or_null(&res->list, struct mbatch_command,
					       node);
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
}

/*
 * A participant's link: put results from the cursor until @put refuses
 * one (the frame is full) or none is left. Returns how many were put.
 */
int mbatch_results_send(struct mbatch_session *s, mbatch_put_result_t put,
			void *arg)
{
	struct mbatch_results *res = &s->res;
	struct mbatch_command *cmd, *last, *end = NULL;
	int n = 0;

	mutex_lock(&res->lock);
	spin_lock_irq(&s->lock);
	cmd = s->state == MBATCH_SESSION_CLOSING ? NULL : res->cursor;
	if (cmd)
		end = list_last_entry(&res->list, struct mbatch_command, node);
	spin_unlock_irq(&s->lock);
	if (!cmd) {
		mutex_unlock(&res->lock);
		return 0;
	}

	last = NULL;
	for (;;) {
		mbatch_debug_step();
		if (put(arg, cmd))
			break;
		last = cmd;
		n++;
		if (cmd == end)
			break;
		cmd = list_next_entry(cmd, node);
	}

	spin_lock_irq(&s->lock);
	if (last) {
		res->delivered = max(res->delivered, last->rseq);
		res->cursor = list_is_last(&last->node, &res->list) ? NULL :
			list_next_entry(last, node);
	}
	spin_unlock_irq(&s->lock);
	mutex_unlock(&res->lock);
	return n;
}
