// SPDX-License-Identifier: GPL-2.0
/*
 * Initiator sessions: a session of this node on a queue of a peer.
 *
 * The initiator keeps every command from submission until its result is
 * acknowledged by the user. It sends messages within the participant's
 * credit and, after a lost link, sends again under their original sequence
 * numbers those the participant did not get. It applies each result once,
 * in the participant's result order, and acknowledges a result to the
 * participant only once it is applied.
 *
 * Promises kept across link drops:
 * - fail-stop: the participant counts its halts; a result that halted it,
 *   and every OPEN_REPLY, carry the count. The initiator halts when it sees
 *   a new one and RESUME names the halt it resumes, so a re-attach never
 *   resumes a halt by itself;
 * - cancel: a cancelled batch's commands that were sent are marked; those
 *   the participant did not get are cancelled here instead of being sent
 *   again, and the CANCEL is sent again on every new link until each marked
 *   command has its result;
 * - at-most-once: a message is sent again only if the participant's reply
 *   says it never got it.
 */
#include <linux/blkdev.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "fault.h"
#include "initiator.h"
#include "netns.h"
#include "notify.h"
#include "peer.h"
#include "session.h"
#include "timer.h"
#include "wire.h"

enum mbatch_istate {
	MBATCH_I_OPEN_PENDING,		/* OPEN to send on the next link */
	MBATCH_I_OPEN_SENT,		/* waiting for OPEN_REPLY */
	MBATCH_I_OPEN,			/* the participant has it */
	MBATCH_I_LOST,			/* failed: nothing until RESUME */
};

/* A batch the participant is asked to cancel. */
struct mbatch_icancel {
	u64 batch;
	u64 upto;			/* its messages up to this sequence */
	unsigned int nr;		/* marked commands without a result */
	bool sent;			/* on this link */
};

struct mbatch_initiator {
	struct mbatch_session s;
	struct mbatch_ep ep;
	char qname[MBATCH_QUEUE_NAME_MAX];
	bool rearm;			/* resumed: wait for a link again */

	/* Under s.lock. */
	enum mbatch_istate state;
	bool opened;			/* accepted once: re-attach next */
	bool open_sent;			/* an OPEN ever went out */
	int fail_err;			/* why it is LOST */
	struct mbatch_geom geom;
	struct list_head unsent;	/* not yet sent, in sequence order */
	struct list_head sending;	/* being copied into a frame */
	struct rb_root sent;		/* sent, no result yet, by sequence */
	struct mbatch_command *applying; /* sent, its READ data arriving */
	struct list_head pull;		/* sent, its data asked for (R2T) */
	u32 inline_max;			/* WRITE data above it is pulled */
	u64 nodata_upto;		/* ended here when lost: no data */
	unsigned int nr_sent;
	u64 max_sent_seq;
	u64 tx_msgs;			/* credit used (absolute) */
	u64 tx_units;
	u64 credit_msgs;		/* credit granted (absolute) */
	u64 credit_units;
	u64 rx_rseq;			/* results applied, in order */
	u64 acked;			/* ... and acknowledged on this link */
	bool restored_seen;		/* RESTORED came, its reply is due */
	u64 restored_rseq;		/* ... results acknowledged there */
	u32 part_halts;			/* the participant's halts seen */
	u32 resume_gen;			/* the halt a RESUME was asked for */
	bool resume_pending;
	struct mbatch_icancel cancels[MBATCH_CANCELS_MAX];
	unsigned int nr_cancels;
	unsigned long lost_at;		/* jiffies the link was lost */
	u64 resent;			/* for the peer's counters */
	u64 dups;
};

static struct kmem_cache *mbatch_initiator_cache;

static struct mbatch_initiator *mbatch_ini(const struct mbatch_session *s)
{
	return container_of(s, struct mbatch_initiator, s);
}

static struct mbatch_initiator *mbatch_ep_ini(struct mbatch_ep *ep)
{
	return container_of(ep, struct mbatch_initiator, ep);
}

/* Sent commands, by sequence. */

static void mbatch_sent_add(struct mbatch_initiator *i, struct mbatch_command *cmd)
{
	struct rb_node **n = &i->sent.rb_node, *parent = NULL;

	while (*n) {
		parent = *n;
		if (cmd->seq < rb_entry(parent, struct mbatch_command, rb)->seq)
			n = &parent->rb_left;
		else
			n = &parent->rb_right;
	}
	rb_link_node(&cmd->rb, parent, n);
	rb_insert_color(&cmd->rb, &i->sent);
	i->nr_sent++;
	i->s.inflight++;
	i->max_sent_seq = max(i->max_sent_seq, cmd->seq);
}

static struct mbatch_command *mbatch_sent_find(struct mbatch_initiator *i, u64 seq)
{
	struct rb_node *n = i->sent.rb_node;

	while (n) {
		struct mbatch_command *cmd = rb_entry(n, struct mbatch_command, rb);

		if (seq == cmd->seq)
			return cmd;
		n = seq < cmd->seq ? n->rb_left : n->rb_right;
	}
	return NULL;
}

/* Data asked for and not yet sent: off the list (the link went). */
static void mbatch_pull_del(struct mbatch_command *cmd)
{
	if (!(cmd->iflags & MBATCH_CMD_F_R2T))
		return;
	cmd->iflags &= ~MBATCH_CMD_F_R2T;
	list_del_init(&cmd->node);
}

static void mbatch_pull_forget(struct mbatch_initiator *i)
{
	struct mbatch_command *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, &i->pull, node)
		mbatch_pull_del(cmd);
}

static void mbatch_sent_del(struct mbatch_initiator *i, struct mbatch_command *cmd)
{
	mbatch_pull_del(cmd);
	rb_erase(&cmd->rb, &i->sent);
	RB_CLEAR_NODE(&cmd->rb);
	i->nr_sent--;
	i->s.inflight--;
}

/* Cancels. */

static struct mbatch_icancel *mbatch_cancel_find(struct mbatch_initiator *i,
						 u64 batch)
{
	unsigned int n;

	for (n = 0; n < i->nr_cancels; n++)
		if (i->cancels[n].batch == batch)
			return &i->cancels[n];
	return NULL;
}

/* A command a cancel covers has its result (or never will): count it off. */
static void mbatch_cancel_done(struct mbatch_initiator *i,
			       struct mbatch_command *cmd)
{
	struct mbatch_icancel *c;

	if (!(cmd->iflags & MBATCH_CMD_F_CANCEL))
		return;
	cmd->iflags &= ~MBATCH_CMD_F_CANCEL;
	/* None after the session failed: its cancels went with it. */
	c = mbatch_cancel_find(i, cmd->batch_id);
	if (!c || --c->nr)
		return;
	*c = i->cancels[--i->nr_cancels];
}

static bool mbatch_cancel_covers(u64 batch, u64 upto,
				 const struct mbatch_command *cmd)
{
	return cmd->batch_id == batch && cmd->seq <= upto &&
	       cmd->op != MBATCH_OP_CHECKPOINT &&
	       !(cmd->iflags & MBATCH_CMD_F_CANCEL);
}

/* End a command here, keeping the cancels' counts. */
static void mbatch_ini_end(struct mbatch_initiator *i, struct mbatch_command *cmd,
			   u8 outcome, int status)
{
	mbatch_cancel_done(i, cmd);
	mbatch_session_end_locked(&i->s, cmd, outcome, status);
}

/* Fail-stop: what has not been sent would be cancelled there. */
static void mbatch_ini_cancel_unsent(struct mbatch_initiator *i)
{
	struct mbatch_command *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, &i->unsent, node) {
		list_del_init(&cmd->node);
		mbatch_ini_end(i, cmd, MBATCH_OUTCOME_CANCELLED, -ECANCELED);
	}
}

/* The participant halted (its count @gen): so does this session. */
/*
 * What was sent without a result comes after the checkpoint that halted the
 * participant: it is cancelled there, and must never be sent again (a
 * re-attach cancels it here instead).
 */
static void mbatch_ini_mark_halted(struct mbatch_initiator *i)
{
	struct mbatch_command *cmd;
	struct rb_node *n;

	for (n = rb_first(&i->sent); n; n = rb_next(n))
		rb_entry(n, struct mbatch_command, rb)->iflags |=
			MBATCH_CMD_F_HALTED;
	list_for_each_entry(cmd, &i->sending, node)
		cmd->iflags |= MBATCH_CMD_F_HALTED;
}

/* The session halts here as the participant's did (its error @err). */
static bool mbatch_ini_halt(struct mbatch_initiator *i, int err)
{
	struct mbatch_session *s = &i->s;

	i->resume_pending = false;
	mbatch_ini_mark_halted(i);
	if (s->state == MBATCH_SESSION_HALTED)
		return false;
	mbatch_session_halt_locked(s, err ?: -EIO, NULL);
	mbatch_ini_cancel_unsent(i);
	return true;
}

/* The participant halted (its count @gen): so does this session. */
static bool mbatch_ini_adopt_halt(struct mbatch_initiator *i, u32 gen, int err)
{
	i->part_halts = gen;
	return mbatch_ini_halt(i, err);
}

/* Sent before, but it must not run now: cancelled, or halted meanwhile. */
static bool mbatch_ini_stale(const struct mbatch_command *cmd)
{
	return cmd->iflags & (MBATCH_CMD_F_CANCEL | MBATCH_CMD_F_HALTED);
}

/*
 * The participant cannot answer any more: what it had is of unknown
 * outcome, what it never had did not run. The session halts with @err.
 * Commands being copied into a frame are the transmit work's to end.
 */
static void mbatch_ini_fail_locked(struct mbatch_initiator *i, int err)
{
	struct mbatch_command *cmd, *tmp;
	struct rb_node *n;

	while ((n = rb_first(&i->sent))) {
		cmd = rb_entry(n, struct mbatch_command, rb);
		mbatch_sent_del(i, cmd);
		mbatch_ini_end(i, cmd, MBATCH_OUTCOME_UNKNOWN, err);
	}
	list_for_each_entry_safe(cmd, tmp, &i->unsent, node) {
		list_del_init(&cmd->node);
		mbatch_ini_end(i, cmd, MBATCH_OUTCOME_NOT_SENT, err);
	}
	i->state = MBATCH_I_LOST;
	i->fail_err = err;
	i->resume_pending = false;
	i->nr_cancels = 0;
	/* A re-attach tells the participant not to ask for their data. */
	i->nodata_upto = i->max_sent_seq;
	mbatch_session_halt_locked(&i->s, err, NULL);
}

/* Session ops. */

static int mbatch_ini_geometry(struct mbatch_session *s, struct mbatch_geom *g,
			       struct netlink_ext_ack *extack)
{
	struct mbatch_initiator *i = mbatch_ini(s);
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&s->lock, flags);
	if (!i->opened) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the remote session is not open yet: retry");
		err = -EAGAIN;
	} else {
		*g = i->geom;
	}
	spin_unlock_irqrestore(&s->lock, flags);
	return err;
}

static void mbatch_ini_queue(struct mbatch_session *s, struct mbatch_command *cmd)
{
	list_add_tail(&cmd->node, &mbatch_ini(s)->unsent);
}

static void mbatch_ini_kick(struct mbatch_session *s)
{
	struct mbatch_initiator *i = mbatch_ini(s);
	struct mbatch_peer *p = i->ep.peer;
	bool dead, failed = false;

	if (READ_ONCE(i->rearm)) {
		/* Resumed after it was lost: wait for a link again, or fail. */
		WRITE_ONCE(i->rearm, false);
		spin_lock_irq(&p->lock);
		dead = p->dead;
		spin_unlock_irq(&p->lock);
		if (dead) {
			spin_lock_irq(&s->lock);
			if (i->state != MBATCH_I_LOST &&
			    s->state != MBATCH_SESSION_CLOSING) {
				mbatch_ini_fail_locked(i, -ESHUTDOWN);
				failed = true;
			}
			spin_unlock_irq(&s->lock);
			if (failed)
				mbatch_notify_halt(s, -ESHUTDOWN);
		} else if (!mbatch_ep_link_up(&i->ep)) {
			mbatch_timer_peer_arm_timeout(p);
		}
	}
	mbatch_ep_kick(&i->ep);
}

static int mbatch_ini_cancel(struct mbatch_session *s, u64 batch, u64 upto,
			     struct netlink_ext_ack *extack)
{
	struct mbatch_initiator *i = mbatch_ini(s);
	struct mbatch_command *cmd, *tmp;
	struct mbatch_icancel *c;
	unsigned int marked = 0, done = 0;
	struct rb_node *n;

	/* Sent (or being sent): the participant cancels what has not started. */
	for (n = rb_first(&i->sent); n; n = rb_next(n))
		if (mbatch_cancel_covers(batch, upto,
					 rb_entry(n, struct mbatch_command, rb)))
			marked++;
	list_for_each_entry(cmd, &i->sending, node)
		if (mbatch_cancel_covers(batch, upto, cmd))
			marked++;
	if (i->applying && mbatch_cancel_covers(batch, upto, i->applying))
		marked++;
	c = mbatch_cancel_find(i, batch);
	if (marked && !c && i->nr_cancels == ARRAY_SIZE(i->cancels)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "too many cancels waiting for their results: collect first");
		return -ENOBUFS;
	}

	list_for_each_entry_safe(cmd, tmp, &i->unsent, node) {
		if (cmd->batch_id != batch || cmd->seq > upto ||
		    cmd->op == MBATCH_OP_CHECKPOINT)
			continue;
		if (mbatch_planted(MBATCH_PLANT_RUN_CANCELLED)) {
			/* test build: said cancelled, sent all the same */
			cmd->iflags |= MBATCH_CMD_F_PLANT;
			done++;
			continue;
		}
		list_del_init(&cmd->node);
		mbatch_ini_end(i, cmd, MBATCH_OUTCOME_CANCELLED, -ECANCELED);
		done++;
	}
	if (!marked)
		return done;
	for (n = rb_first(&i->sent); n; n = rb_next(n)) {
		cmd = rb_entry(n, struct mbatch_command, rb);
		if (mbatch_cancel_covers(batch, upto, cmd))
			cmd->iflags |= MBATCH_CMD_F_CANCEL;
	}
	list_for_each_entry(cmd, &i->sending, node)
		if (mbatch_cancel_covers(batch, upto, cmd))
			cmd->iflags |= MBATCH_CMD_F_CANCEL;
	if (i->applying && mbatch_cancel_covers(batch, upto, i->applying))
		i->applying->iflags |= MBATCH_CMD_F_CANCEL;
	if (!c) {
		c = &i->cancels[i->nr_cancels++];
		c->batch = batch;
		c->upto = 0;
		c->nr = 0;
	}
	c->upto = max(c->upto, upto);
	c->nr += marked;
	c->sent = false;
	return done;
}

static int mbatch_ini_resume(struct mbatch_session *s, u32 gen,
			     struct netlink_ext_ack *extack)
{
	struct mbatch_initiator *i = mbatch_ini(s);

	if (i->state == MBATCH_I_LOST) {
		/* Lost: ask the participant whether it still has it. */
		i->state = MBATCH_I_OPEN_PENDING;
		i->lost_at = jiffies;
		s->state = MBATCH_SESSION_CONNECTING;
		WRITE_ONCE(i->rearm, true);
		return 0;
	}
	/* Halted by the participant: resume that halt, and no other. */
	i->resume_gen = i->part_halts;
	i->resume_pending = true;
	if (i->state != MBATCH_I_OPEN)
		s->state = MBATCH_SESSION_CONNECTING;
	return 0;
}

static bool mbatch_ini_runs_on(const struct mbatch_session *s,
			       const struct mbatch_queue *q)
{
	return false;		/* on a peer's queue */
}

static void mbatch_ini_name(const struct mbatch_session *s, const char **queue,
			    const char **peer)
{
	struct mbatch_initiator *i = mbatch_ini(s);

	*queue = i->qname;
	*peer = i->ep.peer->name;
}

/* Out of the table and CLOSING: tell the participant, drop everything. */
static void mbatch_ini_kill(struct mbatch_session *s)
{
	struct mbatch_initiator *i = mbatch_ini(s);
	struct mbatch_command *cmd;
	struct rb_node *n;
	bool tell;
	LIST_HEAD(list);

	mbatch_ep_del(&i->ep);
	spin_lock_irq(&s->lock);
	tell = i->open_sent;
	while ((n = rb_first(&i->sent))) {
		cmd = rb_entry(n, struct mbatch_command, rb);
		mbatch_sent_del(i, cmd);
		list_add_tail(&cmd->node, &list);
	}
	list_splice_tail_init(&i->unsent, &list);
	i->state = MBATCH_I_LOST;
	i->nr_cancels = 0;
	spin_unlock_irq(&s->lock);

	mbatch_cmd_free_list(&list);
	if (tell)
		mbatch_peer_note(i->ep.peer, NULL, MBATCH_FRAME_CLOSE,
				 i->ep.isid, 0, i->ep.cookie);
}

static void mbatch_ini_free(struct mbatch_session *s)
{
	struct mbatch_initiator *i = mbatch_ini(s);

	if (i->ep.peer)
		mbatch_peer_put(i->ep.peer);
	mbatch_obj_gone(MBATCH_OBJ_INITIATOR);
	kmem_cache_free(mbatch_initiator_cache, i);
}

static const struct mbatch_session_ops mbatch_initiator_ops = {
	.kind = "initiator",
	.geometry = mbatch_ini_geometry,
	.queue = mbatch_ini_queue,
	.kick = mbatch_ini_kick,
	.cancel = mbatch_ini_cancel,
	.resume = mbatch_ini_resume,
	.runs_on = mbatch_ini_runs_on,
	.name = mbatch_ini_name,
	.kill = mbatch_ini_kill,
	.free = mbatch_ini_free,
};

/* Receive. */

/*
 * RESTORED: the participant lost the session and restored it from its
 * queue's journal; it has results for @seqs (@n, in order) and has had
 * results acknowledged up to @rseq since. Only right before a reply.
 */
static int mbatch_rx_restored(struct mbatch_initiator *i, u64 rseq,
			      const __le64 *seqs, u32 len)
{
	struct mbatch_command *cmd;
	u32 k, n = len / sizeof(*seqs);
	u64 prev = 0, seq;

	if (len % sizeof(*seqs) || n > MBATCH_WIRE_RESTORED_MAX)
		return -EPROTO;
	for (k = 0; k < n; k++) {
		seq = le64_to_cpu(seqs[k]);
		if (seq <= prev)
			return -EPROTO;
		prev = seq;
	}
	if (i->state != MBATCH_I_OPEN_SENT)
		return 0;	/* about an earlier open */
	/* It has acknowledgments only of what was applied here. */
	if (rseq > i->rx_rseq)
		return -EPROTO;
	for (k = 0; k < n; k++) {
		cmd = mbatch_sent_find(i, le64_to_cpu(seqs[k]));
		if (cmd)
			cmd->iflags |= MBATCH_CMD_F_KEPT;
	}
	i->restored_seen = true;
	i->restored_rseq = rseq;
	return 0;
}

/*
 * The reply to a re-attach of a restored session (its RESTORED came
 * first): the participant has what RESTORED named, and of the rest only
 * what it got since, up to @last. The rest is sent again, in order, unless
 * it is older than the latest epoch of one it has: that ran before the
 * crash (every command of an epoch ends before the next epoch starts), its
 * result was lost with the node, and running it again now would put it
 * after commands of a later epoch. It ends of unknown outcome. Results
 * restart after what was acknowledged there.
 */
static void mbatch_ini_restored(struct mbatch_initiator *i, u64 last)
{
	struct mbatch_command *cmd;
	struct rb_node *n, *prev;
	u64 epoch = 0;

	for (n = rb_first(&i->sent); n; n = rb_next(n)) {
		cmd = rb_entry(n, struct mbatch_command, rb);
		if (cmd->iflags & MBATCH_CMD_F_KEPT)
			epoch = max(epoch, cmd->epoch);
	}
	for (n = rb_last(&i->sent); n; n = prev) {
		prev = rb_prev(n);
		cmd = rb_entry(n, struct mbatch_command, rb);
		if (cmd->iflags & MBATCH_CMD_F_KEPT) {
			cmd->iflags &= ~MBATCH_CMD_F_KEPT;
			continue;
		}
		if (cmd->seq <= last)
			continue;	/* it got it since */
		mbatch_sent_del(i, cmd);
		if (mbatch_ini_stale(cmd)) {
			mbatch_ini_end(i, cmd, MBATCH_OUTCOME_CANCELLED,
				       -ECANCELED);
		} else if (cmd->epoch < epoch) {
			mbatch_ini_end(i, cmd, MBATCH_OUTCOME_UNKNOWN, -ESTALE);
		} else {
			list_add(&cmd->node, &i->unsent);
			i->resent++;
		}
	}
	i->rx_rseq = i->restored_rseq;
	i->restored_seen = false;
}

static int mbatch_rx_open_reply(struct mbatch_initiator *i, u64 cookie,
				const void *data, u32 len, int *halt)
{
	const struct mbatch_wire_open_reply *rep = data;
	struct mbatch_session *s = &i->s;
	struct mbatch_command *cmd;
	struct rb_node *n;
	u32 flags, lbs, gen;
	unsigned int c;
	bool restored;
	int status;
	u64 last;

	if (len != sizeof(*rep))
		return -EPROTO;
	if (cookie != i->ep.cookie || i->state != MBATCH_I_OPEN_SENT)
		return 0;	/* an answer to an earlier open */
	status = mbatch_wire_errno(le16_to_cpu(rep->status));
	if (status) {
		i->restored_seen = false;
		mbatch_ini_fail_locked(i, status);
		*halt = status;
		return 0;
	}
	flags = le16_to_cpu(rep->flags);
	lbs = le32_to_cpu(rep->lbs);
	last = le64_to_cpu(rep->last_seq);
	gen = le32_to_cpu(rep->halt_gen);
	restored = flags & MBATCH_REPLY_F_RESTORED;
	if (restored != i->restored_seen)
		return -EPROTO;		/* RESTORED comes right before it */
	/* Restored, the participant counts its halts anew. */
	if (restored && gen < i->part_halts)
		i->part_halts = 0;
	if (flags & ~(MBATCH_REPLY_F_DISCARD | MBATCH_REPLY_F_HALTED |
		      MBATCH_REPLY_F_PULL | MBATCH_REPLY_F_RESTORED) ||
	    rep->zero || rep->zero2 ||
	    le32_to_cpu(rep->inline_max) > MBATCH_MAX_IO_LEN ||
	    lbs < SECTOR_SIZE || lbs > SZ_64K ||
	    !is_power_of_2(lbs) || !le32_to_cpu(rep->max_io) ||
	    last > i->max_sent_seq || gen < i->part_halts ||
	    (gen > i->part_halts && !(flags & MBATCH_REPLY_F_HALTED)))
		return -EPROTO;

	i->geom.capacity = le64_to_cpu(rep->capacity);
	i->geom.lbs = lbs;
	/*
	 * Inline data (netlink) up to MBATCH_MAX_IO_LEN, a region's up to the
	 * participant's max_io: WRITE data above its inline_max is pulled and
	 * sent from the command's pages, READ data is copied into them. A
	 * participant that does not pull takes all of it inline.
	 */
	i->geom.max_io = min_t(u32, MBATCH_MAX_IO_LEN, le32_to_cpu(rep->max_io));
	i->geom.max_proxy_io = min_t(u32, MBATCH_MAX_PROXY_IO_LEN,
				     le32_to_cpu(rep->max_io));
	i->inline_max = le32_to_cpu(rep->inline_max);
	if (!(flags & MBATCH_REPLY_F_PULL)) {
		i->geom.max_proxy_io = i->geom.max_io;
		i->inline_max = i->geom.max_io;
	}
	i->geom.proxy_align = 1;
	i->geom.discard = flags & MBATCH_REPLY_F_DISCARD;
	i->credit_msgs = le64_to_cpu(rep->credit_msgs);
	i->credit_units = le64_to_cpu(rep->credit_units);
	i->tx_msgs = le64_to_cpu(rep->rx_msgs);
	i->tx_units = le64_to_cpu(rep->rx_units);
	if (restored) {
		mbatch_ini_restored(i, last);
		goto opened;
	}
	/*
	 * What it did not get is sent again, in order and ahead of the rest,
	 * unless a cancel covers it: then it is cancelled here.
	 */
	while ((n = rb_last(&i->sent))) {
		cmd = rb_entry(n, struct mbatch_command, rb);
		/* test build: what it had is sent again too */
		if (cmd->seq <= last &&
		    !mbatch_planted(MBATCH_PLANT_RESEND_TWICE))
			break;
		mbatch_sent_del(i, cmd);
		if (mbatch_ini_stale(cmd)) {
			mbatch_ini_end(i, cmd, MBATCH_OUTCOME_CANCELLED,
				       -ECANCELED);
			continue;
		}
		list_add(&cmd->node, &i->unsent);
		i->resent++;
	}
opened:
	i->state = MBATCH_I_OPEN;
	i->opened = true;
	/* An ACK may have been lost with the link: acknowledge again. */
	i->acked = 0;
	for (c = 0; c < i->nr_cancels; c++)
		i->cancels[c].sent = false;
	if (s->state == MBATCH_SESSION_CONNECTING)
		s->state = MBATCH_SESSION_ACTIVE;
	if (!(flags & MBATCH_REPLY_F_HALTED))
		return 0;
	status = mbatch_wire_errno(le16_to_cpu(rep->halt_status));
	if (gen > i->part_halts) {
		/* It halted and the result saying so was lost: halt here too. */
		if (mbatch_ini_adopt_halt(i, gen, status))
			*halt = s->halt_err;
	} else if (gen == i->resume_gen && s->state != MBATCH_SESSION_HALTED) {
		/* Resumed here, and the RESUME was lost with the link. */
		i->resume_pending = true;
	} else if (mbatch_ini_halt(i, status)) {
		/*
		 * Halted there and never resumed (a RESUME of the lost session
		 * only asked to connect again): halted here too.
		 */
		*halt = s->halt_err;
	}
	return 0;
}

/* One event to send once the session's lock is dropped. */
struct mbatch_ini_event {
	struct mbatch_command cp;
	bool cp_valid;
	int halt;
};

static void mbatch_ini_events(struct mbatch_session *s,
			      struct mbatch_ini_event *ev)
{
	if (ev->cp_valid)
		mbatch_notify_checkpoint(s, &ev->cp);
	if (ev->halt)
		mbatch_notify_halt(s, ev->halt);
}

/*
 * A READ's data, read from the frame straight into its pages (the
 * region's, or its own for an inline READ) with s->lock dropped: detached,
 * nobody else frees it meanwhile. If the frame breaks off, the result comes
 * again on the next link, so it goes back unless the session was failed or
 * closed meanwhile. 0, 1 (closing: freed) or -errno.
 */
static int mbatch_rx_result_data(struct mbatch_initiator *i,
				 struct mbatch_command *cmd,
				 struct mbatch_rx *rx, u32 dlen)
{
	struct mbatch_session *s = &i->s;
	int err;

	mbatch_sent_del(i, cmd);
	i->applying = cmd;	/* still sent, for a cancel meanwhile */
	spin_unlock_irq(&s->lock);
	err = mbatch_rx_read_pages(rx, cmd->pv, cmd->pv_off, dlen);
	spin_lock_irq(&s->lock);
	i->applying = NULL;
	/*
	 * Closed meanwhile: nobody wants it. Failed meanwhile (the peer was
	 * deleted): its result is here all the same, the only one it gets.
	 */
	if (s->state == MBATCH_SESSION_CLOSING) {
		mbatch_cmd_free(cmd);
		return 1;
	}
	if (!err)
		return 0;
	if (i->state == MBATCH_I_LOST)
		mbatch_ini_end(i, cmd, MBATCH_OUTCOME_UNKNOWN, i->fail_err);
	else
		mbatch_sent_add(i, cmd);
	return err;
}

/*
 * One result of a RESULTS frame. 0 applied or dropped as a duplicate,
 * 1 stop (the session is closing or was re-opened), -errno.
 * Called and returns with s->lock held; drops it to read READ data.
 */
static int mbatch_rx_result(struct mbatch_initiator *i,
			    const struct mbatch_wire_result *w,
			    struct mbatch_rx *rx, struct mbatch_ini_event *ev)
{
	struct mbatch_session *s = &i->s;
	u64 rseq = le64_to_cpu(w->rseq);
	u32 dlen = le32_to_cpu(w->data_len);
	u32 rflags = le32_to_cpu(w->rflags);
	u32 gen = le32_to_cpu(w->halt_gen);
	int status = mbatch_wire_errno(le16_to_cpu(w->status));
	u8 outcome = w->outcome;
	struct mbatch_command *cmd;

	if ((outcome != MBATCH_OUTCOME_DONE &&
	     outcome != MBATCH_OUTCOME_CANCELLED &&
	     (outcome != MBATCH_OUTCOME_UNKNOWN ||
	      !(rflags & MBATCH_RESULT_F_RESTORED))) ||
	    memchr_inv(w->zero, 0, sizeof(w->zero)) ||
	    rflags & ~(MBATCH_RESULT_F_REORDERED | MBATCH_RESULT_F_MERGED |
		       MBATCH_RESULT_F_RESTORED) ||
	    (gen && !status))
		return -EPROTO;
	if (rseq <= i->rx_rseq) {
		i->dups++;		/* sent again after a lost link */
		return 0;
	}
	if (rseq != i->rx_rseq + 1)
		return -EPROTO;		/* results come in order, no gaps */
	/* An older halt's count (adopted since from a reply) changes nothing. */

	cmd = mbatch_sent_find(i, le64_to_cpu(w->msg_seq));
	if (cmd) {
		if (dlen != (cmd->op == MBATCH_OP_READ &&
			     outcome == MBATCH_OUTCOME_DONE && !status ?
			     cmd->len : 0) ||
		    le32_to_cpu(w->bytes) > cmd->len)
			return -EPROTO;
		if (dlen) {
			int ret = mbatch_rx_result_data(i, cmd, rx, dlen);

			if (ret)
				return ret;
		} else {
			mbatch_sent_del(i, cmd);
		}
		cmd->start_ns = le64_to_cpu(w->start_ns);
		cmd->done_ns = le64_to_cpu(w->done_ns);
		cmd->rflags |= rflags;
		if (rflags & MBATCH_RESULT_F_REORDERED)
			s->stats.reordered++;
		if (rflags & MBATCH_RESULT_F_MERGED)
			s->stats.merged++;
		if (gen > i->part_halts)
			cmd->halt_gen = gen;
		if (cmd->iflags & MBATCH_CMD_F_PLANT) {
			outcome = MBATCH_OUTCOME_CANCELLED;
			status = -ECANCELED;
		}
		mbatch_ini_end(i, cmd, outcome, status);
		if (cmd->op == MBATCH_OP_CHECKPOINT) {
			ev->cp = *cmd;
			ev->cp_valid = true;
		}
	} else {
		/*
		 * Ended here already (lost, then resumed): it only counts; its
		 * data, checked for length already, is skipped.
		 */
		i->dups++;
	}
	/* Applied: only now may it be acknowledged. */
	i->rx_rseq = rseq;
	if (gen > i->part_halts && mbatch_ini_adopt_halt(i, gen, status))
		ev->halt = status;
	return 0;
}

/*
 * RESULTS: @count results, each followed by its data, read from the frame
 * one by one. What is left unread when it stops the link discards.
 */
static int mbatch_rx_results(struct mbatch_initiator *i, u64 count,
			     struct mbatch_rx *rx)
{
	struct mbatch_session *s = &i->s;
	struct mbatch_wire_result w;
	struct mbatch_ini_event ev;
	u32 dlen, end;
	int ret = 0;
	u64 n;

	if (!count || count > rx->len / sizeof(w))
		return -EPROTO;
	for (n = 0; n < count && !ret; n++) {
		ret = mbatch_rx_read(rx, &w, sizeof(w));
		if (ret)
			return ret;
		dlen = le32_to_cpu(w.data_len);
		if (dlen > MBATCH_MAX_PROXY_IO_LEN ||
		    rx->len - rx->off < mbatch_wire_pad(dlen))
			return -EPROTO;
		end = rx->off + mbatch_wire_pad(dlen);

		memset(&ev, 0, sizeof(ev));
		spin_lock_irq(&s->lock);
		if (s->state == MBATCH_SESSION_CLOSING ||
		    i->state != MBATCH_I_OPEN)
			ret = 1;
		else
			ret = mbatch_rx_result(i, &w, rx, &ev);
		spin_unlock_irq(&s->lock);
		mbatch_ini_events(s, &ev);
		/* Its padding, or the data of one it had already. */
		if (!ret && rx->off < end)
			ret = mbatch_rx_skip(rx, end - rx->off);
	}
	if (ret)
		return min(ret, 0);
	return rx->off == rx->len ? 0 : -EPROTO;
}

/*
 * R2T: the participant can run these pulled WRITEs now; their data goes in
 * DATA frames, in this order. One it has a result for here already (lost,
 * then resumed) is skipped. s.lock held.
 */
static int mbatch_rx_r2t(struct mbatch_initiator *i, u64 count,
			 const __le64 *seqs, u32 len)
{
	struct mbatch_command *cmd;
	u64 n;

	if (!count || count > MBATCH_WIRE_R2T_MAX ||
	    len != count * sizeof(*seqs))
		return -EPROTO;
	if (i->state != MBATCH_I_OPEN)
		return 0;	/* before the reply to a re-attach: stale */
	if (mbatch_fault_on(mbatch_fault_r2t_ignore))
		return 0;	/* test build: the data never comes */
	for (n = 0; n < count; n++) {
		cmd = mbatch_sent_find(i, le64_to_cpu(seqs[n]));
		if (!cmd)
			continue;
		if (!(cmd->iflags & MBATCH_CMD_F_PULL) ||
		    (cmd->iflags & MBATCH_CMD_F_R2T))
			return -EPROTO;
		cmd->iflags |= MBATCH_CMD_F_R2T;
		list_add_tail(&cmd->node, &i->pull);
	}
	return 0;
}

static int mbatch_ini_rx(struct mbatch_ep *ep, struct mbatch_link *l,
			 const struct mbatch_frame *f)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);
	struct mbatch_session *s = &i->s;
	const struct mbatch_wire_credit *cr;
	int err = 0, halt = 0;
	u64 resent, dups;

	if (f->type == MBATCH_FRAME_RESULTS) {
		spin_lock_irq(&s->lock);
		err = i->state == MBATCH_I_OPEN ? 0 : 1;
		spin_unlock_irq(&s->lock);
		/* Before the reply to a re-attach: stale. */
		if (!err)
			err = mbatch_rx_results(i, f->arg, f->rx);
		else
			err = 0;
		goto out;
	}

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (f->type == MBATCH_FRAME_OPEN_REPLY) {
		err = mbatch_rx_open_reply(i, f->arg, f->data, f->len, &halt);
	} else if (f->type == MBATCH_FRAME_R2T) {
		err = mbatch_rx_r2t(i, f->arg, f->data, f->len);
	} else if (f->type == MBATCH_FRAME_RESTORED) {
		err = mbatch_rx_restored(i, f->arg, f->data, f->len);
	} else if (f->type == MBATCH_FRAME_CREDIT) {
		if (f->len != sizeof(*cr) || f->arg) {
			err = -EPROTO;
		} else if (i->state == MBATCH_I_OPEN) {
			cr = f->data;
			i->credit_msgs = max(i->credit_msgs,
					     le64_to_cpu(cr->msgs));
			i->credit_units = max(i->credit_units,
					      le64_to_cpu(cr->units));
		}
	} else if (f->type == MBATCH_FRAME_GONE) {
		if (f->len) {
			err = -EPROTO;
		} else if ((f->arg && f->arg != i->ep.cookie) ||
			   i->state == MBATCH_I_LOST) {
			/* about an earlier session with this id */
		} else {
			mbatch_ini_fail_locked(i, -ESTALE);
			halt = -ESTALE;
		}
	}
	spin_unlock_irq(&s->lock);
	if (halt)
		mbatch_notify_halt(s, halt);
out:
	spin_lock_irq(&s->lock);
	resent = i->resent;
	dups = i->dups;
	i->resent = 0;
	i->dups = 0;
	spin_unlock_irq(&s->lock);
	if (resent)
		mbatch_peer_count(ep->peer, MBATCH_PEER_STATS_A_RESENT, resent);
	if (dups)
		mbatch_peer_count(ep->peer, MBATCH_PEER_STATS_A_DUPLICATES, dups);
	if (err)
		return mbatch_link_proto(l, "malformed reply from the participant");
	mbatch_link_kick(l);
	return 0;
}

/* Transmit. */

/* A new OPEN: what an earlier RESTORED named counts no more. */
static void mbatch_ini_unkeep(struct mbatch_initiator *i)
{
	struct rb_node *n;

	for (n = rb_first(&i->sent); n && i->restored_seen; n = rb_next(n))
		rb_entry(n, struct mbatch_command, rb)->iflags &=
			~MBATCH_CMD_F_KEPT;
	i->restored_seen = false;
}

/*
 * Take messages within the credit and the frame into i->sending and write
 * their headers into @buf; their data is copied without the lock.
 */
static u32 mbatch_ini_build_msgs(struct mbatch_initiator *i, void *buf,
				 u32 *count, u64 *msgs, u64 *units)
{
	struct mbatch_command *cmd;
	u32 off = 0, n = 0;

	*msgs = 0;
	*units = 0;
	while ((cmd = list_first_entry_or_null(&i->unsent, struct mbatch_command,
					       node))) {
		struct mbatch_wire_msg *w = buf + off;
		bool pull = cmd->op == MBATCH_OP_WRITE &&
			    cmd->len > i->inline_max;
		u32 dlen = cmd->op == MBATCH_OP_WRITE && !pull ? cmd->len : 0;
		u32 need = sizeof(*w) + mbatch_wire_pad(dlen);
		u64 charge = mbatch_wire_units(cmd->op, cmd->len, pull);

		if (i->tx_msgs + *msgs + 1 > i->credit_msgs ||
		    i->tx_units + *units + charge > i->credit_units)
			break;
		if (off + need > MBATCH_LINK_BATCH)
			break;
		/* Its data waits here for an R2T. */
		if (pull)
			cmd->iflags |= MBATCH_CMD_F_PULL;
		else
			cmd->iflags &= ~MBATCH_CMD_F_PULL;
		w->seq = cpu_to_le64(cmd->seq);
		w->batch = cpu_to_le64(cmd->batch_id);
		w->tag = cpu_to_le64(cmd->tag);
		w->offset = cpu_to_le64(cmd->offset);
		w->op = cpu_to_le32(cmd->op);
		w->flags = cpu_to_le32(cmd->flags |
				       (pull ? MBATCH_WIRE_MSG_F_PULL : 0));
		w->len = cpu_to_le32(cmd->len);
		w->data_len = cpu_to_le32(dlen);
		list_move_tail(&cmd->node, &i->sending);
		*msgs += 1;
		*units += charge;
		off += need;
		n++;
	}
	*count = n;
	return off;
}

static void mbatch_ini_fill_data(struct mbatch_initiator *i, void *buf)
{
	struct mbatch_command *cmd;
	u32 off = 0, dlen;

	list_for_each_entry(cmd, &i->sending, node) {
		dlen = cmd->op == MBATCH_OP_WRITE &&
		       !(cmd->iflags & MBATCH_CMD_F_PULL) ? cmd->len : 0;
		off += sizeof(struct mbatch_wire_msg);
		if (dlen) {
			mbatch_cmd_copy_out(buf + off, cmd);
			memset(buf + off + dlen, 0,
			       mbatch_wire_pad(dlen) - dlen);
		}
		off += mbatch_wire_pad(dlen);
	}
}

/*
 * The messages are in the frame: they are sent now, unless the session
 * changed meanwhile. True to send.
 */
static bool mbatch_ini_commit_msgs(struct mbatch_initiator *i, u64 msgs,
				   u64 units, struct list_head *free)
{
	struct mbatch_session *s = &i->s;
	struct mbatch_command *cmd, *tmp;

	if (s->state == MBATCH_SESSION_CLOSING) {
		list_splice_init(&i->sending, free);
		return false;
	}
	if (i->state == MBATCH_I_LOST) {
		list_for_each_entry_safe(cmd, tmp, &i->sending, node) {
			list_del_init(&cmd->node);
			mbatch_ini_end(i, cmd, MBATCH_OUTCOME_NOT_SENT,
				       i->fail_err);
		}
		return false;
	}
	if (i->state != MBATCH_I_OPEN) {
		/* The link went meanwhile: not sent after all. */
		list_for_each_entry_safe_reverse(cmd, tmp, &i->sending, node) {
			if (mbatch_ini_stale(cmd)) {
				list_del_init(&cmd->node);
				mbatch_ini_end(i, cmd, MBATCH_OUTCOME_CANCELLED,
					       -ECANCELED);
			} else {
				list_move(&cmd->node, &i->unsent);
			}
		}
		return false;
	}
	list_for_each_entry_safe(cmd, tmp, &i->sending, node) {
		list_del_init(&cmd->node);
		mbatch_sent_add(i, cmd);
	}
	i->tx_msgs += msgs;
	i->tx_units += units;
	return true;
}

/*
 * DATA for the oldest R2T, straight from the command's pages (its own or a
 * region's). The pages are held while they are sent (@pv, the link's
 * transmit buffer): the command may complete meanwhile (a participant that
 * answers before it has the data is wrong, but must not make this send
 * from freed pages). s.lock held; the number of pages held.
 */
static u32 mbatch_ini_take_data(struct mbatch_command *cmd, struct page **pv,
				u64 *seq, u32 *off, u32 *len)
{
	u32 k;

	BUILD_BUG_ON(MBATCH_LINK_TXBUF <
		     (MBATCH_MAX_PROXY_IO_LEN / PAGE_SIZE + 1) * sizeof(*pv));
	mbatch_pull_del(cmd);
	for (k = 0; k < cmd->nr_vecs; k++) {
		pv[k] = cmd->pv[k];
		get_page(pv[k]);
	}
	*seq = cmd->seq;
	*off = cmd->pv_off;
	*len = cmd->len;
	return cmd->nr_vecs;
}

static int mbatch_ini_send_data(struct mbatch_initiator *i,
				struct mbatch_link *l, struct page **pv, u32 n,
				u64 seq, u32 off, u32 len)
{
	int err;
	u32 k;

	err = mbatch_link_send_pages(l, MBATCH_FRAME_DATA, i->ep.isid, seq, pv,
				     off, len);
	for (k = 0; k < n; k++)
		put_page(pv[k]);
	if (err)
		return err;
	mbatch_peer_count(i->ep.peer, MBATCH_PEER_STATS_A_PULLED, 1);
	mbatch_peer_count(i->ep.peer, MBATCH_PEER_STATS_A_PULLED_BYTES, len);
	return 1;
}

/* One frame of an initiator session: 1 sent, 0 nothing to send, <0. */
static int mbatch_ini_tx(struct mbatch_ep *ep, struct mbatch_link *l)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);
	struct mbatch_session *s = &i->s;
	struct mbatch_wire_cancel cancel;
	struct mbatch_wire_open open;
	struct mbatch_command *cmd;
	void *payload = NULL;
	u32 len = 0, count, npages = 0, doff = 0;
	u64 arg = 0, msgs, units;
	unsigned int n;
	u16 type = 0;
	LIST_HEAD(free);

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (i->state == MBATCH_I_OPEN_PENDING) {
		memset(&open, 0, sizeof(open));
		open.flags = cpu_to_le32((i->opened ? MBATCH_OPEN_F_REATTACH : 0) |
					 MBATCH_OPEN_F_PULL);
		open.max_io = cpu_to_le32(MBATCH_MAX_PROXY_IO_LEN);
		open.inline_max = cpu_to_le32(mbatch_inline_max());
		open.nodata_upto = cpu_to_le64(i->nodata_upto);
		strscpy(open.queue, i->qname, sizeof(open.queue));
		mbatch_ini_unkeep(i);
		i->state = MBATCH_I_OPEN_SENT;
		i->open_sent = true;
		type = MBATCH_FRAME_OPEN;
		arg = i->ep.cookie;
		payload = &open;
		len = sizeof(open);
	} else if (i->state != MBATCH_I_OPEN) {
		/* waiting */
	} else if (i->resume_pending) {
		i->resume_pending = false;
		type = MBATCH_FRAME_RESUME;
		arg = i->resume_gen;
	} else if (i->rx_rseq > i->acked) {
		i->acked = i->rx_rseq;
		type = MBATCH_FRAME_ACK;
		arg = i->acked;
	} else {
		for (n = 0; n < i->nr_cancels; n++) {
			if (i->cancels[n].sent)
				continue;
			i->cancels[n].sent = true;
			cancel.upto_seq = cpu_to_le64(i->cancels[n].upto);
			type = MBATCH_FRAME_CANCEL;
			arg = i->cancels[n].batch;
			payload = &cancel;
			len = sizeof(cancel);
			break;
		}
		cmd = list_first_entry_or_null(&i->pull,
					       struct mbatch_command, node);
		if (!type && cmd) {
			npages = mbatch_ini_take_data(cmd, l->txbuf, &arg,
						      &doff, &len);
			type = MBATCH_FRAME_DATA;
		}
		if (!type) {
			len = mbatch_ini_build_msgs(i, l->txbuf, &count, &msgs,
						    &units);
			if (len) {
				type = MBATCH_FRAME_MSGS;
				arg = count;
				payload = l->txbuf;
			}
		}
	}
	spin_unlock_irq(&s->lock);
	if (type == MBATCH_FRAME_DATA)
		return mbatch_ini_send_data(i, l, l->txbuf, npages, arg, doff,
					    len);
	if (type == MBATCH_FRAME_MSGS) {
		mbatch_ini_fill_data(i, l->txbuf);
		spin_lock_irq(&s->lock);
		if (!mbatch_ini_commit_msgs(i, msgs, units, &free))
			type = 0;
		spin_unlock_irq(&s->lock);
		mbatch_cmd_free_list(&free);
	}
	if (!type)
		return 0;
	return mbatch_link_send(l, type, i->ep.isid, arg, payload, len) ?: 1;
}

/* Link events and deadlines. */

/* It re-opens on the new link; the link timeout counts from now. */
static void mbatch_ini_link_up(struct mbatch_ep *ep)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);

	spin_lock_irq(&i->s.lock);
	if (i->state != MBATCH_I_LOST) {
		i->state = MBATCH_I_OPEN_PENDING;
		i->lost_at = jiffies;
	}
	mbatch_pull_forget(i);
	spin_unlock_irq(&i->s.lock);
}

static void mbatch_ini_link_down(struct mbatch_ep *ep)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);
	struct mbatch_session *s = &i->s;

	spin_lock_irq(&s->lock);
	if (i->state != MBATCH_I_LOST) {
		i->state = MBATCH_I_OPEN_PENDING;
		i->lost_at = jiffies;
		if (s->state == MBATCH_SESSION_ACTIVE)
			s->state = MBATCH_SESSION_CONNECTING;
	}
	mbatch_pull_forget(i);
	spin_unlock_irq(&s->lock);
}

/*
 * Without a link for the peer's link timeout (or with the peer deleted),
 * the session fails: outcomes unknown or not sent, halted.
 */
static void mbatch_ini_expire(struct mbatch_ep *ep, unsigned long now,
			      bool all, unsigned long *next)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);
	struct mbatch_session *s = &i->s;
	unsigned long timeout = msecs_to_jiffies(ep->peer->link_timeout_ms);
	bool up = !all && mbatch_ep_link_up(ep);
	int err = 0;

	spin_lock_irq(&s->lock);
	if (i->state == MBATCH_I_LOST || s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (all) {
		err = -ESHUTDOWN;
	} else if (!up && i->state != MBATCH_I_OPEN &&
		   mbatch_timer_due(i->lost_at | 1, timeout, now, next)) {
		err = -ENOTCONN;
	}
	if (err)
		mbatch_ini_fail_locked(i, err);
	spin_unlock_irq(&s->lock);
	if (err)
		mbatch_notify_halt(s, err);
}

static void mbatch_ini_credits(struct mbatch_ep *ep, u64 *tx, u64 *rx)
{
	struct mbatch_initiator *i = mbatch_ep_ini(ep);

	spin_lock_irq(&i->s.lock);
	if (i->state == MBATCH_I_OPEN)
		*tx += i->credit_msgs - i->tx_msgs;
	spin_unlock_irq(&i->s.lock);
}

static const struct mbatch_ep_ops mbatch_initiator_ep_ops = {
	.rx = mbatch_ini_rx,
	.tx = mbatch_ini_tx,
	.link_up = mbatch_ini_link_up,
	.link_down = mbatch_ini_link_down,
	.expire = mbatch_ini_expire,
	.credits = mbatch_ini_credits,
};

/* Open a session on @qname at @peer; it connects on its own. */
struct mbatch_session *mbatch_initiator_open(struct mbatch_net *mn,
					     const char *peer,
					     const char *qname, u32 flags,
					     u32 portid,
					     struct netlink_ext_ack *extack)
{
	struct mbatch_initiator *i;
	struct mbatch_peer *p;
	bool up;
	int err;

	if (!mbatch_name_ok(qname)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "queue name must be 1-31 characters of [A-Za-z0-9_.-]");
		return ERR_PTR(-EINVAL);
	}
	i = kmem_cache_zalloc(mbatch_initiator_cache, GFP_KERNEL);
	if (!i)
		return ERR_PTR(-ENOMEM);
	mbatch_obj_new(MBATCH_OBJ_INITIATOR);
	mbatch_session_init(&i->s, &mbatch_initiator_ops, mn, flags, portid);
	INIT_LIST_HEAD(&i->ep.pnode);
	INIT_LIST_HEAD(&i->unsent);
	INIT_LIST_HEAD(&i->sending);
	INIT_LIST_HEAD(&i->pull);
	i->sent = RB_ROOT;
	strscpy(i->qname, qname, sizeof(i->qname));
	get_random_bytes(&i->ep.cookie, sizeof(i->ep.cookie));
	i->state = MBATCH_I_OPEN_PENDING;
	i->lost_at = jiffies;
	i->s.state = MBATCH_SESSION_CONNECTING;
	i->s.max_cmds = MBATCH_MAX_CMDS_DEFAULT;
	i->s.max_bytes = MBATCH_MAX_BYTES_DEFAULT;

	mutex_lock(&mn->lock);
	p = mbatch_peer_find_locked(mn, peer);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		err = -ENOENT;
		goto unlock;
	}
	err = mbatch_session_reserve(&i->s, extack);
	if (err)
		goto unlock;
	mbatch_fault_delay(mbatch_fault_open_delay_ms);
	i->ep.isid = i->s.id;
	err = mbatch_ep_add(&i->ep, p, MBATCH_EP_OUT, &mbatch_initiator_ep_ops,
			    &i->s);
	if (err) {
		if (err == -ENOBUFS)
			NL_SET_ERR_MSG_MOD(extack,
					   "too many sessions on this peer");
		else
			NL_SET_ERR_MSG_MOD(extack, "no such peer");
		mbatch_session_unreserve(&i->s);
		goto unlock;
	}
	mbatch_session_publish(&i->s);
	mutex_unlock(&mn->lock);

	up = mbatch_ep_link_up(&i->ep);
	if (up)
		mbatch_ep_kick(&i->ep);
	else
		mbatch_timer_peer_arm_timeout(i->ep.peer);
	return &i->s;

unlock:
	mutex_unlock(&mn->lock);
	mbatch_obj_gone(MBATCH_OBJ_INITIATOR);
	kmem_cache_free(mbatch_initiator_cache, i);
	return ERR_PTR(err);
}

int mbatch_initiator_init(void)
{
	mbatch_initiator_cache = KMEM_CACHE(mbatch_initiator, 0);
	return mbatch_initiator_cache ? 0 : -ENOMEM;
}

void mbatch_initiator_exit(void)
{
	kmem_cache_destroy(mbatch_initiator_cache);
}
