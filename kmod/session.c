// SPDX-License-Identifier: GPL-2.0
/*
 * The session core: the namespace's table of sessions, ownership, opening
 * and closing, accepting a batch (whole or not at all, within the session's
 * limits), halts and resume, cancel, and the completion of a command into a
 * result. Kinds of session (local.c, initiator.c, participant.c) plug in
 * through struct mbatch_session_ops.
 *
 * A session is published in the table only once it is complete: its id is
 * reserved first (xa_load() sees nothing there), the kind links it where it
 * belongs, and only then is it stored. Until then nobody can find it, so a
 * failed open frees it directly.
 */
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "fault.h"
#include "netns.h"
#include "queue.h"
#include "session.h"

void mbatch_session_init(struct mbatch_session *s,
			 const struct mbatch_session_ops *ops,
			 struct mbatch_net *mn, u32 flags, u32 portid)
{
	s->ops = ops;
	kref_init(&s->ref);
	s->mn = mn;
	s->flags = flags;
	s->owner_portid = portid;
	do {
		get_random_bytes(&s->handle, sizeof(s->handle));
	} while (!s->handle);
	spin_lock_init(&s->lock);
	s->state = MBATCH_SESSION_ACTIVE;
	s->next_batch_id = 1;
	mbatch_results_init(s);
}

/* Reserve an id; the session is not visible yet. mn->lock held. */
int mbatch_session_reserve(struct mbatch_session *s,
			   struct netlink_ext_ack *extack)
{
	struct mbatch_net *mn = s->mn;
	int err;

	lockdep_assert_held(&mn->lock);
	err = xa_alloc_cyclic(&mn->sessions, &s->id, NULL, xa_limit_32b,
			      &mn->next_sid, GFP_KERNEL);
	if (err < 0) {
		NL_SET_ERR_MSG_MOD(extack, "out of session ids");
		return err;
	}
	return 0;
}

void mbatch_session_unreserve(struct mbatch_session *s)
{
	lockdep_assert_held(&s->mn->lock);
	xa_erase(&s->mn->sessions, s->id);
}

/*
 * Make a complete session visible. The table holds the initial reference;
 * the caller gets one more. mn->lock held.
 */
void mbatch_session_publish(struct mbatch_session *s)
{
	struct mbatch_net *mn = s->mn;

	lockdep_assert_held(&mn->lock);
	/* The slot is reserved: storing into it cannot allocate. */
	xa_store(&mn->sessions, s->id, s, GFP_KERNEL);
	mn->genid++;
	kref_get(&s->ref);
}

static void mbatch_session_release(struct kref *ref)
{
	struct mbatch_session *s = container_of(ref, struct mbatch_session,
						ref);

	s->ops->free(s);
}

void mbatch_session_put(struct mbatch_session *s)
{
	kref_put(&s->ref, mbatch_session_release);
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

/*
 * May the caller drive @s? Its opening socket may, and whoever presents its
 * handle; a peer's session is driven by its peer only.
 */
int mbatch_session_owner_check(struct mbatch_session *s, u32 portid,
			       const u64 *handle,
			       struct netlink_ext_ack *extack)
{
	if (s->flags & MBATCH_SESSION_F_PEER) {
		NL_SET_ERR_MSG_MOD(extack, "the session belongs to a peer");
		return -EPERM;
	}
	if (handle) {
		if (*handle == s->handle)
			return 0;
		NL_SET_ERR_MSG_MOD(extack, "wrong session handle");
		return -EPERM;
	}
	if (portid && READ_ONCE(s->owner_portid) == portid)
		return 0;
	NL_SET_ERR_MSG_MOD(extack,
			   "the session belongs to another socket: give its handle");
	return -EPERM;
}

/*
 * Take @s out of the table, if it is still there: the table's reference is
 * then the caller's. False if someone else did.
 */
bool mbatch_session_unpublish(struct mbatch_session *s)
{
	struct mbatch_net *mn = s->mn;
	bool mine = false;

	mutex_lock(&mn->lock);
	if (xa_load(&mn->sessions, s->id) == s) {
		xa_erase(&mn->sessions, s->id);
		mn->genid++;
		mine = true;
	}
	mutex_unlock(&mn->lock);
	return mine;
}

/*
 * Stop a session that is out of the table: it becomes CLOSING, its results
 * go, a waiting collect hears of it, the kind drops what is queued, and
 * in-flight work ends on its own. Drops the table's reference.
 */
void mbatch_session_kill(struct mbatch_session *s)
{
	LIST_HEAD(free);

	spin_lock_irq(&s->lock);
	s->state = MBATCH_SESSION_CLOSING;
	spin_unlock_irq(&s->lock);
	mbatch_results_kill(s, &free);
	s->ops->kill(s);
	mbatch_cmd_free_list(&free);
	mbatch_session_put(s);
}

void mbatch_session_close(struct mbatch_session *s)
{
	if (mbatch_session_unpublish(s))
		mbatch_session_kill(s);
}

int mbatch_session_close_id(struct mbatch_net *mn, u32 id, u32 portid,
			    const u64 *handle, struct netlink_ext_ack *extack)
{
	struct mbatch_session *s;
	int err;

	s = mbatch_session_get(mn, id);
	if (!s) {
		NL_SET_ERR_MSG_MOD(extack, "no such session");
		return -ENOENT;
	}
	/* A peer's session ends with the peer or the queue, not from here. */
	err = mbatch_session_owner_check(s, portid, handle, extack);
	if (!err)
		mbatch_session_close(s);
	mbatch_session_put(s);
	return err;
}

/* Unpublish every session for which @match says so; kill them. */
static void mbatch_sessions_close_if(struct mbatch_net *mn,
				     bool (*match)(struct mbatch_session *s,
						   void *arg),
				     void *arg)
{
	struct mbatch_session *s;
	unsigned long id, next = 0;

	for (;;) {
		mutex_lock(&mn->lock);
		s = NULL;
		xa_for_each_start(&mn->sessions, id, s, next) {
			if (match(s, arg))
				break;
		}
		if (s) {
			xa_erase(&mn->sessions, id);
			mn->genid++;
			next = id + 1;
		}
		mutex_unlock(&mn->lock);
		if (!s)
			return;
		mbatch_session_kill(s);
	}
}

static bool mbatch_session_on_queue(struct mbatch_session *s, void *q)
{
	return s->ops->runs_on(s, q);
}

/* A queue was unpublished: close its sessions, then take it out of service. */
void mbatch_sessions_close_queue(struct mbatch_net *mn, struct mbatch_queue *q)
{
	mbatch_sessions_close_if(mn, mbatch_session_on_queue, q);
	mbatch_queue_kill(q);
}

/* Tear down every queue of a namespace that is going away. */
void mbatch_queues_flush(struct mbatch_net *mn)
{
	struct mbatch_queue *q;
	unsigned long id;

	for (;;) {
		mutex_lock(&mn->lock);
		id = 0;
		q = xa_find(&mn->queues, &id, ULONG_MAX, XA_PRESENT);
		if (q)
			q = mbatch_queue_unpublish(mn, q->name);
		mutex_unlock(&mn->lock);
		if (!q)
			return;
		mbatch_sessions_close_queue(mn, q);
	}
}

static bool mbatch_session_any(struct mbatch_session *s, void *arg)
{
	return true;
}

/* The namespace is going away: close what is left (initiator sessions). */
void mbatch_sessions_flush(struct mbatch_net *mn)
{
	mbatch_sessions_close_if(mn, mbatch_session_any, NULL);
}

static bool mbatch_session_owned_by(struct mbatch_session *s, void *arg)
{
	u32 portid = *(u32 *)arg;
	bool owned;

	spin_lock_irq(&s->lock);
	owned = s->owner_portid == portid;
	/* Outliving its socket, it is reachable by its handle only. */
	if (owned && !(s->flags & MBATCH_SESSION_F_OWNED))
		s->owner_portid = 0;
	spin_unlock_irq(&s->lock);
	return owned && (s->flags & MBATCH_SESSION_F_OWNED);
}

/* The netlink socket @portid went away: close the sessions it owned. */
void mbatch_sessions_release_portid(struct mbatch_net *mn, u32 portid)
{
	mbatch_sessions_close_if(mn, mbatch_session_owned_by, &portid);
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

/*
 * Complete a command: it becomes a result, or is freed when the session is
 * closing. Every completion goes through here. s->lock held.
 */
void mbatch_session_end_locked(struct mbatch_session *s,
			       struct mbatch_command *cmd, u8 outcome, int status)
{
	lockdep_assert_held(&s->lock);

	cmd->outcome = outcome;
	cmd->status = status;
	/* A remote session's results bring the participant's time. */
	if (!cmd->done_ns)
		cmd->done_ns = ktime_get_ns();
	if (outcome == MBATCH_OUTCOME_DONE && !status &&
	    mbatch_op_has_range(cmd->op))
		cmd->bytes = cmd->len;
	if (cmd->op == MBATCH_OP_CHECKPOINT) {
		s->done_epoch++;
		s->stats.checkpoints++;
	}
	if (cmd->bytes && cmd->op == MBATCH_OP_READ)
		s->stats.bytes_read += cmd->len;
	if (cmd->op == MBATCH_OP_FLUSH && outcome == MBATCH_OUTCOME_DONE)
		s->stats.flushes++;
	if (cmd->bytes && cmd->op == MBATCH_OP_WRITE)
		s->stats.bytes_written += cmd->len;
	/*
	 * A write's payload is on the device (or will never be), and a read
	 * that brought nothing has nothing to keep: give the pages back. A
	 * read's data stays until its result is acknowledged, unless it is in
	 * a region (a proxy), which it now lets go.
	 */
	if (cmd->iflags & MBATCH_CMD_F_PULLED) {
		cmd->iflags &= ~MBATCH_CMD_F_PULLED;
		s->pulled_bytes -= round_up((u64)cmd->len, PAGE_SIZE);
	}
	if (cmd->op == MBATCH_OP_WRITE || !cmd->bytes || cmd->region) {
		if (s->state != MBATCH_SESSION_CLOSING)
			s->held_bytes -= mbatch_cmd_charge(cmd);
		mbatch_cmd_free_pages(cmd);
	}
	switch (outcome) {
	case MBATCH_OUTCOME_CANCELLED:
		s->stats.cancelled++;
		break;
	case MBATCH_OUTCOME_NOT_SENT:
		s->stats.not_sent++;
		break;
	case MBATCH_OUTCOME_UNKNOWN:
		s->stats.unknown++;
		break;
	default:
		if (status)
			s->stats.failed++;
		break;
	}
	s->stats.completed++;

	if (s->state == MBATCH_SESSION_CLOSING) {
		/* Nobody will collect it. */
		mbatch_cmd_free(cmd);
		return;
	}
	mbatch_result_add_locked(s, cmd);
}

/*
 * Fail-stop: the session halts with @err; @cause, the checkpoint that
 * failed, carries the new halt count. s->lock held.
 */
void mbatch_session_halt_locked(struct mbatch_session *s, int err,
				struct mbatch_command *cause)
{
	lockdep_assert_held(&s->lock);
	if (s->state != MBATCH_SESSION_CLOSING)
		s->state = MBATCH_SESSION_HALTED;
	s->halt_err = err;
	s->halts++;
	if (cause)
		cause->halt_gen = s->halts;
}

int mbatch_session_submit(struct mbatch_session *s, struct mbatch_msg *msgs,
			  unsigned int n, unsigned int sflags, u64 *batch_id,
			  u64 *first_seq, struct netlink_ext_ack *extack)
{
	bool credited = sflags & MBATCH_SUBMIT_F_CREDITED;
	struct mbatch_command **cmds;
	unsigned long flags;
	unsigned int i;
	u64 bytes = 0;
	int err;

	for (i = 0; i < n; i++)
		bytes += mbatch_msg_charge(&msgs[i]);

	/* Refuse early, before allocating anything for a batch that won't fit. */
	if (!credited) {
		spin_lock_irqsave(&s->lock, flags);
		err = mbatch_check_limits_locked(s, n, bytes, extack);
		spin_unlock_irqrestore(&s->lock, flags);
		if (err)
			return err;
		mbatch_fault_delay(mbatch_fault_submit_delay_ms);
	}

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
	if (credited && s->state == MBATCH_SESSION_CLOSING)
		err = -ENOENT;
	else if (!credited)
		err = mbatch_check_limits_locked(s, n, bytes, extack);
	else
		err = 0;
	if (err) {
		spin_unlock_irqrestore(&s->lock, flags);
		goto free;
	}
	if (!*batch_id && s->next_batch_id > S64_MAX) {
		/* Batch ids are positive s64 everywhere (the wire, cancel). */
		spin_unlock_irqrestore(&s->lock, flags);
		NL_SET_ERR_MSG_MOD(extack, "out of batch ids: give one");
		err = -ERANGE;
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
		struct mbatch_command *cmd = cmds[i];

		/* A peer's messages keep the initiator's numbers. */
		if (msgs[i].seq)
			s->next_msg_seq = msgs[i].seq;
		else
			s->next_msg_seq++;
		cmd->seq = s->next_msg_seq;
		cmd->batch_id = *batch_id;
		cmd->epoch = s->epoch;
		if (cmd->op == MBATCH_OP_CHECKPOINT)
			s->epoch++;
		if (s->state == MBATCH_SESSION_HALTED)
			mbatch_session_end_locked(s, cmd, MBATCH_OUTCOME_CANCELLED,
						  -ECANCELED);
		else
			s->ops->queue(s, cmd);
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

int mbatch_session_resume(struct mbatch_session *s, u32 gen,
			  struct netlink_ext_ack *extack)
{
	unsigned long flags;
	int err;

	spin_lock_irqsave(&s->lock, flags);
	if (s->state == MBATCH_SESSION_CLOSING) {
		NL_SET_ERR_MSG_MOD(extack, "session is closing");
		err = -ENOENT;
	} else if (s->state != MBATCH_SESSION_HALTED) {
		NL_SET_ERR_MSG_MOD(extack, "session is not halted");
		err = -EINVAL;
	} else {
		err = s->ops->resume(s, gen, extack);
		if (!err) {
			if (s->state == MBATCH_SESSION_HALTED)
				s->state = MBATCH_SESSION_ACTIVE;
			s->halt_err = 0;
		}
	}
	spin_unlock_irqrestore(&s->lock, flags);
	if (!err)
		mbatch_session_kick(s);
	return err;
}

/*
 * Cancel the commands of @batch up to sequence @upto (U64_MAX: every one
 * submitted so far) that have not started; checkpoints stay.
 */
int mbatch_session_cancel(struct mbatch_session *s, u64 batch, u64 upto,
			  unsigned int *n, struct netlink_ext_ack *extack)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&s->lock, flags);
	if (batch >= s->next_batch_id) {
		NL_SET_ERR_MSG_MOD(extack, "no such batch");
		ret = -ENOENT;
	} else {
		ret = s->ops->cancel(s, batch, min(upto, s->next_msg_seq),
				     extack);
	}
	spin_unlock_irqrestore(&s->lock, flags);
	if (ret < 0)
		return ret;
	*n = ret;
	mbatch_session_kick(s);
	return 0;
}

int mbatch_session_geometry(struct mbatch_session *s, struct mbatch_geom *g,
			    struct netlink_ext_ack *extack)
{
	return s->ops->geometry(s, g, extack);
}

void mbatch_session_names(const struct mbatch_session *s, const char **queue,
			  const char **peer)
{
	*peer = NULL;
	s->ops->name(s, queue, peer);
}

/* Counters and what a session holds now, for replies. */
void mbatch_session_held(struct mbatch_session *s, struct mbatch_stats *st,
			 struct mbatch_held *h)
{
	unsigned long flags;

	spin_lock_irqsave(&s->lock, flags);
	*st = s->stats;
	h->inflight = s->inflight;
	h->queued = s->held_cmds - s->inflight - s->res.nr;
	h->queued_bytes = s->held_bytes;
	spin_unlock_irqrestore(&s->lock, flags);
}
