// SPDX-License-Identifier: GPL-2.0
/*
 * Participant sessions: a peer's session on a queue of this node. It is a
 * local session to the executor (it runs the initiator's messages with the
 * initiator's sequence numbers and batch ids) and an endpoint on the peer:
 * it grants credit, runs each message sequence at most once, pushes results
 * as they complete and keeps them until the initiator acknowledges them.
 *
 * The credit it grants comes from its session's limits and from the peer's
 * budget, which all of the peer's sessions here share: what they hold and
 * what they have been granted ahead never exceeds it.
 */
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "exec.h"
#include "fault.h"
#include "journal.h"
#include "netns.h"
#include "participant.h"
#include "peer.h"
#include "queue.h"
#include "session.h"
#include "timer.h"
#include "wire.h"

/* A session is granted at most this share of its peer's budget ahead. */
#define MBATCH_CREDIT_SHARE	8

struct mbatch_participant {
	struct mbatch_session s;
	struct mbatch_exec ex;
	struct mbatch_ep ep;
	struct mutex rx_lock;		/* one MSGS frame at a time */

	u32 max_io;			/* agreed with the initiator */
	u32 inline_max;			/* ... WRITE data above it is pulled */
	bool pull;			/* ... if the initiator answers R2T */

	/* Under s.lock. */
	struct list_head r2t;		/* pulled WRITEs asked for, in order */
	unsigned int nr_r2t;
	u64 r2t_gen;			/* ... on this link */
	u64 nodata_upto;		/* the initiator has no data up to it */
	u64 last_seq;			/* highest message sequence received */
	u64 rx_msgs;			/* credit used (absolute) */
	u64 rx_units;
	u64 granted_msgs;		/* credit granted (absolute) */
	u64 granted_units;
	u64 resv_msgs;			/* charged to the peer's budget */
	u64 resv_units;
	u64 win_msgs;			/* credit it may be granted ahead */
	u64 win_units;
	bool reply_pending;		/* OPEN_REPLY to send */
	unsigned long orphan_since;	/* jiffies it lost its initiator, 0 */

	/*
	 * Restored from the journal (under s.lock): the messages it has
	 * results for from there, in order, until it has received one past
	 * the last of them (then everything up to last_seq is here or was).
	 */
	bool restoring;
	bool params_pending;		/* max_io ... from the next OPEN */
	bool restored_pending;		/* RESTORED to send before the reply */
	u64 *kept;			/* rx_lock and s.lock to change */
	u32 nr_kept;
};

static struct kmem_cache *mbatch_participant_cache;

static struct mbatch_participant *mbatch_part(const struct mbatch_session *s)
{
	return container_of(s, struct mbatch_participant, s);
}

static struct mbatch_participant *mbatch_ep_part(struct mbatch_ep *ep)
{
	return container_of(ep, struct mbatch_participant, ep);
}

/* What a peer's messages are checked against: up to max_io, no region. */
static void mbatch_part_geom(struct mbatch_participant *pt,
			     struct mbatch_geom *g)
{
	mbatch_queue_geom(pt->ex.q, g);
	g->max_io = min(g->max_proxy_io, pt->max_io);
}

/* Bytes the data of a pulled WRITE holds here. */
static u64 mbatch_pull_bytes(const struct mbatch_command *cmd)
{
	return round_up((u64)cmd->len, PAGE_SIZE);
}

/*
 * The R2Ts of a link that went are forgotten: what they asked for is asked
 * for again, first, on the next. s.lock held; a closing session's commands
 * are its kill's to free.
 */
static void mbatch_part_r2t_reset_locked(struct mbatch_participant *pt)
{
	struct mbatch_session *s = &pt->s;
	struct mbatch_command *cmd;
	u64 units;

	if (s->state == MBATCH_SESSION_CLOSING || !pt->nr_r2t)
		return;
	list_for_each_entry(cmd, &pt->r2t, node) {
		cmd->iflags &= ~(MBATCH_CMD_F_R2T | MBATCH_CMD_F_PULLED);
		s->held_bytes -= mbatch_pull_bytes(cmd);
		s->pulled_bytes -= mbatch_pull_bytes(cmd);
		/* ... and the peer's budget has it back now */
		units = DIV_ROUND_UP(mbatch_pull_bytes(cmd), MBATCH_WIRE_UNIT);
		atomic64_sub(units, &pt->ep.peer->in_units_used);
		pt->resv_units -= units;
	}
	mbatch_exec_pull_back_locked(&pt->ex, &pt->r2t);
	pt->nr_r2t = 0;
}

/*
 * The credit to grant now (absolute), charged to the peer's budget: what
 * the session has room for, what the budget has left, and within the
 * session's window. The window starts at a share of the budget that every
 * one of MBATCH_PEER_SESSIONS_MAX sessions can have, and doubles (up to an
 * eighth of the budget) each time the initiator has used more than half of
 * it: an idle session never holds more than the first share. s.lock held;
 * a session that is closing grants nothing more.
 */
static void mbatch_part_credit_locked(struct mbatch_participant *pt,
				      u64 *msgs, u64 *units)
{
	struct mbatch_session *s = &pt->s;
	struct mbatch_peer *p = pt->ep.peer;
	u64 ahead_msgs = pt->granted_msgs - pt->rx_msgs;
	u64 ahead_units = pt->granted_units - pt->rx_units;
	u64 budget_units = div_u64(p->in_bytes, MBATCH_WIRE_UNIT);
	u64 lo, hi, room, left, use;

	*msgs = pt->granted_msgs;
	*units = pt->granted_units;
	if (s->state == MBATCH_SESSION_CLOSING)
		return;

	/* Charge the peer what the session holds now and was granted ahead. */
	use = s->held_cmds + ahead_msgs;
	atomic64_add((s64)(use - pt->resv_msgs), &p->in_cmds_used);
	pt->resv_msgs = use;
	use = DIV_ROUND_UP(s->held_bytes, MBATCH_WIRE_UNIT) + ahead_units;
	atomic64_add((s64)(use - pt->resv_units), &p->in_units_used);
	pt->resv_units = use;

	lo = max_t(u64, 1, p->in_cmds / MBATCH_PEER_SESSIONS_MAX);
	hi = max_t(u64, lo, p->in_cmds / MBATCH_CREDIT_SHARE);
	if (!pt->win_msgs)
		pt->win_msgs = lo;
	else if (ahead_msgs * 2 < pt->win_msgs)
		pt->win_msgs = min(pt->win_msgs * 2, hi);
	room = s->max_cmds > s->held_cmds + ahead_msgs ?
	       s->max_cmds - s->held_cmds - ahead_msgs : 0;
	left = p->in_cmds - min_t(u64, p->in_cmds,
				  atomic64_read(&p->in_cmds_used));
	*msgs += min3(room, left, pt->win_msgs > ahead_msgs ?
		      pt->win_msgs - ahead_msgs : 0);

	lo = max_t(u64, 1, budget_units / MBATCH_PEER_SESSIONS_MAX);
	hi = max_t(u64, lo, budget_units / MBATCH_CREDIT_SHARE);
	if (!pt->win_units)
		pt->win_units = lo;
	else if (ahead_units * 2 < pt->win_units)
		pt->win_units = min(pt->win_units * 2, hi);
	room = div_u64(s->max_bytes, MBATCH_WIRE_UNIT);
	room = room > use ? room - use : 0;
	left = budget_units - min_t(u64, budget_units,
				    atomic64_read(&p->in_units_used));
	*units += min3(room, left, pt->win_units > ahead_units ?
		       pt->win_units - ahead_units : 0);
}

/* The credit computed above is now granted. s.lock held. */
static void mbatch_part_grant_locked(struct mbatch_participant *pt, u64 msgs,
				     u64 units)
{
	struct mbatch_peer *p = pt->ep.peer;

	atomic64_add(msgs - pt->granted_msgs, &p->in_cmds_used);
	pt->resv_msgs += msgs - pt->granted_msgs;
	atomic64_add(units - pt->granted_units, &p->in_units_used);
	pt->resv_units += units - pt->granted_units;
	pt->granted_msgs = msgs;
	pt->granted_units = units;
}

/* Worth a CREDIT frame before the results waiting: half a window or more. */
static bool mbatch_part_credit_urgent(struct mbatch_participant *pt, u64 msgs,
				      u64 units)
{
	if (msgs == pt->granted_msgs && units == pt->granted_units)
		return false;
	return (msgs - pt->granted_msgs) * 2 >= pt->win_msgs ||
	       (units - pt->granted_units) * 2 >= pt->win_units;
}

/* Session ops. */

static int mbatch_part_geometry(struct mbatch_session *s,
				struct mbatch_geom *g,
				struct netlink_ext_ack *extack)
{
	mbatch_part_geom(mbatch_part(s), g);
	return 0;
}

static void mbatch_part_queue(struct mbatch_session *s, struct mbatch_command *cmd)
{
	mbatch_exec_queue_locked(&mbatch_part(s)->ex, cmd);
}

/* Work to run, and results or credit for the initiator. */
static void mbatch_part_kick(struct mbatch_session *s)
{
	struct mbatch_participant *pt = mbatch_part(s);

	mbatch_exec_kick(&pt->ex);
	mbatch_ep_kick(&pt->ep);
}

static int mbatch_part_cancel(struct mbatch_session *s, u64 batch, u64 upto,
			      struct netlink_ext_ack *extack)
{
	return mbatch_exec_cancel_locked(&mbatch_part(s)->ex, batch, upto);
}

/* The initiator resumes the halt it names; a stale RESUME changes nothing. */
static int mbatch_part_resume(struct mbatch_session *s, u32 gen,
			      struct netlink_ext_ack *extack)
{
	return gen == s->halts ? 0 : -ESTALE;
}

static bool mbatch_part_runs_on(const struct mbatch_session *s,
				const struct mbatch_queue *q)
{
	return mbatch_part(s)->ex.q == q;
}

static void mbatch_part_name(const struct mbatch_session *s,
			     const char **queue, const char **peer)
{
	*queue = mbatch_part(s)->ex.q->name;
}

/* Out of the table and CLOSING: the initiator hears GONE. */
static void mbatch_part_kill(struct mbatch_session *s)
{
	struct mbatch_participant *pt = mbatch_part(s);
	struct mbatch_peer *p = pt->ep.peer;

	LIST_HEAD(list);

	mbatch_ep_del(&pt->ep);
	mbatch_exec_kill(&pt->ex);
	spin_lock_irq(&s->lock);
	/* Data asked for and never come: nobody waits for it now. */
	list_splice_init(&pt->r2t, &list);
	pt->nr_r2t = 0;
	atomic64_sub(pt->resv_msgs, &p->in_cmds_used);
	atomic64_sub(pt->resv_units, &p->in_units_used);
	pt->resv_msgs = 0;
	pt->resv_units = 0;
	spin_unlock_irq(&s->lock);
	mbatch_cmd_free_list(&list);
	mbatch_peer_note(p, NULL, MBATCH_FRAME_GONE, pt->ep.isid, 0,
			 pt->ep.cookie);
}

static void mbatch_part_free(struct mbatch_session *s)
{
	struct mbatch_participant *pt = mbatch_part(s);

	mbatch_exec_detach(&pt->ex);
	if (pt->ep.peer)
		mbatch_peer_put(pt->ep.peer);
	kvfree(pt->kept);
	mutex_destroy(&pt->rx_lock);
	mbatch_obj_gone(MBATCH_OBJ_PARTICIPANT);
	kmem_cache_free(mbatch_participant_cache, pt);
}

static const struct mbatch_session_ops mbatch_participant_ops = {
	.kind = "participant",
	.jkind = MBATCH_JSESSION_PARTICIPANT,
	.geometry = mbatch_part_geometry,
	.queue = mbatch_part_queue,
	.kick = mbatch_part_kick,
	.cancel = mbatch_part_cancel,
	.resume = mbatch_part_resume,
	.runs_on = mbatch_part_runs_on,
	.name = mbatch_part_name,
	.kill = mbatch_part_kill,
	.free = mbatch_part_free,
};

/* Why an OPEN is malformed, or NULL. */
static const char *mbatch_open_invalid(const struct mbatch_frame *f)
{
	const struct mbatch_wire_open *o = f->data;
	u32 oflags;

	if (f->len != sizeof(*o))
		return "malformed open";
	oflags = le32_to_cpu(o->flags);
	if (oflags & ~(MBATCH_OPEN_F_REATTACH | MBATCH_OPEN_F_PULL))
		return "unknown open flags";
	if (!le32_to_cpu(o->max_io) || o->zero ||
	    (o->inline_max && !(oflags & MBATCH_OPEN_F_PULL)))
		return "malformed open";
	if (strnlen(o->queue, sizeof(o->queue)) == sizeof(o->queue) ||
	    !o->queue[0])
		return "malformed queue name in open";
	return NULL;
}

/* What the session and its initiator agree on, from its OPEN. */
static void mbatch_part_params(struct mbatch_participant *pt,
			       struct mbatch_peer *p, struct mbatch_queue *q,
			       const struct mbatch_wire_open *o)
{
	/* READ and WRITE up to 1 MiB; inline WRITE data up to inline_max. */
	pt->max_io = min_t(u32, MBATCH_MAX_PROXY_IO_LEN, le32_to_cpu(o->max_io));
	/* A READ fits the credit window a session starts with ... */
	pt->max_io = min_t(u64, pt->max_io,
			   max_t(u64, MBATCH_MAX_IO_LEN,
				 round_down(div_u64(p->in_bytes,
						    MBATCH_PEER_SESSIONS_MAX),
					    PAGE_SIZE)));
	/* ... and the session's bytes, or it never gets credit. */
	pt->max_io = min_t(u64, pt->max_io,
			   max_t(u64, MBATCH_MAX_IO_LEN,
				 round_down(q->max_bytes, PAGE_SIZE)));
	pt->inline_max = min_t(u32, pt->max_io, MBATCH_MAX_IO_LEN);
	pt->pull = le32_to_cpu(o->flags) & MBATCH_OPEN_F_PULL;
	if (pt->pull)
		pt->inline_max = min3(pt->inline_max,
				      le32_to_cpu(o->inline_max),
				      mbatch_inline_max());
}

static void mbatch_part_init(struct mbatch_participant *pt,
			     struct mbatch_net *mn, const char *peer, u32 isid,
			     u64 cookie)
{
	mbatch_session_init(&pt->s, &mbatch_participant_ops, mn,
			    MBATCH_SESSION_F_PEER, 0);
	mbatch_exec_init(&pt->ex, &pt->s);
	INIT_LIST_HEAD(&pt->ep.pnode);
	INIT_LIST_HEAD(&pt->r2t);
	mutex_init(&pt->rx_lock);
	pt->s.res.push = true;
	pt->ep.isid = isid;
	pt->ep.cookie = cookie;
	/* What its OPEN in the journal names, to be restored by. */
	pt->ex.jid.isid = isid;
	pt->ex.jid.cookie = cookie;
	strscpy_pad(pt->ex.jid.peer, peer, sizeof(pt->ex.jid.peer));
}

/* Receive. */

/* Does it have @seq's result from the journal? rx_lock held. */
static bool mbatch_part_kept(struct mbatch_participant *pt, u64 seq)
{
	u32 lo = 0, hi = pt->nr_kept;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (pt->kept[mid] == seq)
			return true;
		if (pt->kept[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * A MSGS frame: every message is checked before any is queued; a malformed
 * one drops the link, one that does not fit the device (changed since the
 * initiator checked it) fails in its epoch. Sequences already received are
 * dropped; checking and queuing happen under rx_lock, so a message is
 * queued at most once whichever link it came on.
 */
static int mbatch_rx_msgs(struct mbatch_participant *pt, struct mbatch_link *l,
			  u64 count, const void *payload, u32 len)
{
	struct mbatch_session *s = &pt->s;
	u64 last, prev, gmsgs, gunits, nmsgs = 0, nunits = 0, dups = 0;
	struct mbatch_msg_fault fault;
	unsigned int n = 0, i, j;
	struct mbatch_msg *msgs;
	u64 *kept = NULL;
	const char *why = NULL;
	struct mbatch_geom g;
	u32 off = 0;
	int err = 0;

	if (!count || count > len / sizeof(struct mbatch_wire_msg))
		return mbatch_link_proto(l, "bad message count");
	msgs = kvcalloc(count, sizeof(*msgs), GFP_KERNEL);
	if (!msgs) {
		mbatch_link_down(l, -ENOMEM, "out of memory for messages");
		return -ENOMEM;
	}
	mbatch_part_geom(pt, &g);

	mutex_lock(&pt->rx_lock);
	spin_lock_irq(&s->lock);
	last = pt->last_seq;
	gmsgs = pt->granted_msgs - pt->rx_msgs;
	gunits = pt->granted_units - pt->rx_units;
	spin_unlock_irq(&s->lock);

	prev = 0;
	for (i = 0; i < count && !why; i++) {
		struct mbatch_msg *m = &msgs[n];

		why = mbatch_wire_msg_decode(payload, len, &off, m);
		if (why)
			break;
		if (m->seq <= prev) {
			why = "messages out of sequence";
			break;
		}
		prev = m->seq;
		if (m->data_len > pt->inline_max) {
			why = "write data inline above the agreed maximum";
			break;
		}
		if (m->pull && !pt->pull) {
			why = "pulled write without R2T agreed";
			break;
		}
		if (!mbatch_msg_check(m, &g, &fault)) {
			if (!fault.geometry) {
				why = fault.text;
				break;
			}
			m->refused = fault.err;
		}
		if (mbatch_op_has_range(m->op) &&
		    mbatch_fault_seq(&mbatch_fault_geom_refuse, m->seq))
			m->refused = -ERANGE;
		if ((m->seq <= last || mbatch_part_kept(pt, m->seq)) &&
		    !mbatch_planted(MBATCH_PLANT_RESEND_TWICE)) {
			dups++;		/* sent again after a lost link */
			continue;
		}
		nmsgs++;
		nunits += mbatch_wire_units(m->op, m->len, m->pull);
		n++;
	}
	if (!why && off != len)
		why = "trailing bytes after messages";
	if (!why && (nmsgs > gmsgs || nunits > gunits))
		why = "credit exceeded";
	if (why) {
		mutex_unlock(&pt->rx_lock);
		kvfree(msgs);
		return mbatch_link_proto(l, why);
	}
	if (dups)
		mbatch_peer_count(pt->ep.peer, MBATCH_PEER_STATS_A_DUPLICATES,
				  dups);
	mbatch_fault_delay(mbatch_fault_rx_delay_ms);

	/* One submission per run of a batch: batch ids stay the initiator's. */
	for (i = 0; i < n && !err; i = j) {
		u64 batch = msgs[i].batch, first, units = 0;

		for (j = i; j < n && msgs[j].batch == batch; j++)
			units += mbatch_wire_units(msgs[j].op, msgs[j].len,
						   msgs[j].pull);
		err = mbatch_session_submit(s, &msgs[i], j - i,
					    MBATCH_SUBMIT_F_CREDITED, &batch,
					    &first, NULL);
		if (err)
			break;
		spin_lock_irq(&s->lock);
		pt->last_seq = msgs[j - 1].seq;
		pt->rx_msgs += j - i;
		pt->rx_units += units;
		/* Past its last restored result: restored no more. */
		if (pt->restoring &&
		    (!pt->nr_kept || pt->last_seq > pt->kept[pt->nr_kept - 1])) {
			pt->restoring = false;
			kept = pt->kept;
			pt->kept = NULL;
			pt->nr_kept = 0;
		}
		spin_unlock_irq(&s->lock);
	}
	mutex_unlock(&pt->rx_lock);
	kvfree(kept);
	kvfree(msgs);
	if (err == -ENOENT)
		return 0;	/* closing: the initiator hears GONE */
	if (err) {
		/* Nothing is lost: it is sent again on the next link. */
		mbatch_link_down(l, err, "could not queue messages");
		return err;
	}
	return 0;
}

/*
 * DATA: the data of the oldest pulled WRITE asked for on this link, and
 * nothing else (so what it holds here never exceeds what it asked for),
 * read from the frame straight into the pages it is written from. The
 * write can run now.
 */
static int mbatch_rx_data(struct mbatch_participant *pt, struct mbatch_link *l,
			  u64 seq, struct mbatch_rx *rx)
{
	struct mbatch_session *s = &pt->s;
	struct mbatch_command *cmd;
	u32 len = rx->len;
	struct page **pv;
	bool asked;
	int err;

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		spin_unlock_irq(&s->lock);
		return 0;
	}
	cmd = list_first_entry_or_null(&pt->r2t, struct mbatch_command, node);
	asked = cmd && pt->r2t_gen == l->gen && cmd->seq == seq &&
		cmd->len == len;
	spin_unlock_irq(&s->lock);
	if (!asked)
		return mbatch_link_proto(l, "data that was not asked for");

	/* Only this thread takes it off the list, or a closing session. */
	pv = mbatch_pages_alloc(len, NULL);
	if (!pv) {
		mbatch_link_down(l, -ENOMEM, "out of memory for data");
		return -ENOMEM;
	}
	err = mbatch_rx_read_pages(rx, pv, 0, len);
	if (err) {
		mbatch_pages_free(pv, len);
		return err;
	}
	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING || pt->r2t_gen != l->gen ||
	    list_first_entry_or_null(&pt->r2t, struct mbatch_command,
				     node) != cmd) {
		spin_unlock_irq(&s->lock);
		mbatch_pages_free(pv, len);
		return 0;
	}
	list_del_init(&cmd->node);
	pt->nr_r2t--;
	mbatch_cmd_attach_pages(cmd, pv);
	mbatch_exec_pulled_locked(&pt->ex, cmd);
	spin_unlock_irq(&s->lock);
	mbatch_exec_kick(&pt->ex);
	mbatch_peer_count(pt->ep.peer, MBATCH_PEER_STATS_A_PULLED, 1);
	mbatch_peer_count(pt->ep.peer, MBATCH_PEER_STATS_A_PULLED_BYTES, len);
	return 0;
}

static int mbatch_part_rx(struct mbatch_ep *ep, struct mbatch_link *l,
			  const struct mbatch_frame *f)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);
	struct mbatch_session *s = &pt->s;
	const struct mbatch_wire_cancel *c;
	const struct mbatch_wire_open *o;
	const char *why;
	unsigned int n;
	int err = 0;

	if (f->type != MBATCH_FRAME_MSGS && f->type != MBATCH_FRAME_OPEN &&
	    f->type != MBATCH_FRAME_CANCEL && f->type != MBATCH_FRAME_DATA &&
	    f->len)
		return mbatch_link_proto(l, "unexpected payload");
	switch (f->type) {
	case MBATCH_FRAME_OPEN:
		if (f->arg != ep->cookie) {
			/* An earlier life of the initiator's session id. */
			mbatch_session_close(s);
			return -ESTALE;
		}
		why = mbatch_open_invalid(f);
		if (why)
			return mbatch_link_proto(l, why);
		o = f->data;
		/* Restored: what it agrees on comes with the initiator's OPEN. */
		mutex_lock(&pt->rx_lock);
		spin_lock_irq(&s->lock);
		if (pt->params_pending) {
			mbatch_part_params(pt, ep->peer, pt->ex.q, o);
			pt->params_pending = false;
		}
		spin_unlock_irq(&s->lock);
		mutex_unlock(&pt->rx_lock);
		/*
		 * The same session again: carry on where it was. Every result
		 * not acknowledged goes again, from before the reply is due.
		 */
		mbatch_results_rewind(s);
		spin_lock_irq(&s->lock);
		if (s->state != MBATCH_SESSION_CLOSING) {
			pt->reply_pending = true;
			pt->restored_pending = pt->restoring;
			pt->orphan_since = 0;
			/* What it lost it cannot send: those writes fail. */
			pt->nodata_upto = max(pt->nodata_upto,
					      le64_to_cpu(o->nodata_upto));
		}
		spin_unlock_irq(&s->lock);
		break;
	case MBATCH_FRAME_MSGS:
		err = mbatch_rx_msgs(pt, l, f->arg, f->data, f->len);
		break;
	case MBATCH_FRAME_DATA:
		err = mbatch_rx_data(pt, l, f->arg, f->rx);
		break;
	case MBATCH_FRAME_ACK:
		if (mbatch_results_ack(s, f->arg, false))
			err = mbatch_link_proto(l, "ack of a result never sent");
		break;
	case MBATCH_FRAME_RESUME:
		if (f->arg > READ_ONCE(s->halts))
			err = mbatch_link_proto(l, "resume of a halt that never happened");
		else
			mbatch_session_resume(s, f->arg, NULL);
		break;
	case MBATCH_FRAME_CANCEL:
		if (f->len != sizeof(*c))
			return mbatch_link_proto(l, "malformed cancel");
		c = f->data;
		mbatch_session_cancel(s, f->arg, le64_to_cpu(c->upto_seq), &n,
				      NULL);
		break;
	case MBATCH_FRAME_CLOSE:
		if (f->arg == ep->cookie)
			mbatch_session_close(s);
		break;
	}
	if (!err)
		mbatch_link_kick(l);
	return err;
}

/* Transmit. */

struct mbatch_part_frame {
	void *buf;
	u32 off;
	u32 cap;
	bool halting;			/* carries a result that halted it */
};

static int mbatch_part_put_result(void *arg, const struct mbatch_command *cmd)
{
	struct mbatch_part_frame *fr = arg;
	struct mbatch_wire_result *w = fr->buf + fr->off;
	u32 dlen = cmd->op == MBATCH_OP_READ && cmd->bytes ? cmd->len : 0;
	u32 need = sizeof(*w) + mbatch_wire_pad(dlen);

	/* A large READ's result goes alone. */
	if (fr->off + need > fr->cap && (fr->off || need > MBATCH_LINK_TXBUF))
		return -EMSGSIZE;
	memset(w, 0, sizeof(*w));
	w->msg_seq = cpu_to_le64(cmd->seq);
	w->rseq = cpu_to_le64(cmd->rseq);
	w->start_ns = cpu_to_le64(cmd->start_ns);
	w->done_ns = cpu_to_le64(cmd->done_ns);
	w->bytes = cpu_to_le32(cmd->bytes);
	w->rflags = cpu_to_le32(cmd->rflags);
	w->data_len = cpu_to_le32(dlen);
	w->halt_gen = cpu_to_le32(cmd->halt_gen);
	w->status = cpu_to_le16(mbatch_wire_status(cmd->status));
	w->outcome = cmd->outcome;
	if (dlen) {
		mbatch_cmd_copy_out(w + 1, cmd);
		memset((void *)(w + 1) + dlen, 0, mbatch_wire_pad(dlen) - dlen);
	}
	if (cmd->halt_gen)
		fr->halting = true;
	fr->off += need;
	return 0;
}

static void mbatch_part_reply_locked(struct mbatch_participant *pt,
				     struct mbatch_wire_open_reply *rep)
{
	struct mbatch_session *s = &pt->s;
	struct mbatch_geom g;
	u64 msgs, units;

	mbatch_part_geom(pt, &g);
	mbatch_part_credit_locked(pt, &msgs, &units);
	mbatch_part_grant_locked(pt, msgs, units);
	BUILD_BUG_ON(sizeof(*rep) % 8);
	memset(rep, 0, sizeof(*rep));
	rep->status = cpu_to_le16(MBATCH_WS_OK);
	rep->flags = cpu_to_le16((g.discard ? MBATCH_REPLY_F_DISCARD : 0) |
				 (pt->pull ? MBATCH_REPLY_F_PULL : 0) |
				 (s->state == MBATCH_SESSION_HALTED ?
				  MBATCH_REPLY_F_HALTED : 0) |
				 (pt->restoring ? MBATCH_REPLY_F_RESTORED : 0));
	rep->max_cmds = cpu_to_le32(s->max_cmds);
	rep->max_bytes = cpu_to_le64(s->max_bytes);
	rep->last_seq = cpu_to_le64(pt->last_seq);
	rep->rx_msgs = cpu_to_le64(pt->rx_msgs);
	rep->rx_units = cpu_to_le64(pt->rx_units);
	rep->credit_msgs = cpu_to_le64(pt->granted_msgs);
	rep->credit_units = cpu_to_le64(pt->granted_units);
	rep->capacity = cpu_to_le64(g.capacity);
	rep->lbs = cpu_to_le32(g.lbs);
	rep->max_io = cpu_to_le32(g.max_io);
	rep->halt_gen = cpu_to_le32(s->halts);
	rep->halt_status = cpu_to_le16(mbatch_wire_status(s->halt_err));
	rep->inline_max = cpu_to_le32(pt->inline_max);
}

/*
 * R2T: ask for the data of the pulled WRITEs that can run, in order, while
 * the session has room for it and the peer's budget has it. A session that
 * holds no pulled data may ask for one beyond (what holds the rest may be
 * READs of later epochs, waiting for this one): a WRITE never waits
 * forever, and the data held stays within the limits plus one WRITE.
 * Writes the sequences into @buf; how many. s.lock held.
 */
static unsigned int mbatch_part_r2t_locked(struct mbatch_participant *pt,
					   struct mbatch_link *l, __le64 *buf,
					   bool *failed)
{
	struct mbatch_session *s = &pt->s;
	struct mbatch_peer *p = pt->ep.peer;
	u64 budget = div_u64(p->in_bytes, MBATCH_WIRE_UNIT), used, units;
	struct mbatch_command *cmd;
	unsigned int n = 0;

	if (pt->nr_r2t && pt->r2t_gen != l->gen)
		mbatch_part_r2t_reset_locked(pt);
	pt->r2t_gen = l->gen;
	while (pt->nr_r2t < MBATCH_WIRE_R2T_MAX) {
		u64 bytes;

		cmd = mbatch_exec_pull_peek_locked(&pt->ex);
		if (!cmd)
			break;
		if (cmd->seq <= pt->nodata_upto) {
			/* The initiator lost it: it fails in its epoch. */
			mbatch_exec_pull_take_locked(&pt->ex, cmd);
			mbatch_exec_pull_fail_locked(&pt->ex, cmd, -ENODATA);
			*failed = true;
			continue;
		}
		bytes = mbatch_pull_bytes(cmd);
		units = DIV_ROUND_UP(bytes, MBATCH_WIRE_UNIT);
		used = atomic64_read(&p->in_units_used);
		if (s->pulled_bytes &&
		    (s->held_bytes + bytes > s->max_bytes ||
		     used + units > budget))
			break;
		mbatch_exec_pull_take_locked(&pt->ex, cmd);
		cmd->iflags |= MBATCH_CMD_F_R2T | MBATCH_CMD_F_PULLED;
		list_add_tail(&cmd->node, &pt->r2t);
		pt->nr_r2t++;
		/* What the session holds is charged to the peer's budget. */
		s->held_bytes += bytes;
		s->pulled_bytes += bytes;
		atomic64_add(units, &p->in_units_used);
		pt->resv_units += units;
		buf[n++] = cpu_to_le64(cmd->seq);
	}
	return n;
}

/* One frame: the reply to an OPEN, then results, then credit. */
static int mbatch_part_tx(struct mbatch_ep *ep, struct mbatch_link *l)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);
	struct mbatch_session *s = &pt->s;
	struct mbatch_wire_open_reply rep;
	struct mbatch_wire_credit cr;
	struct mbatch_part_frame fr;
	bool orphan, closing, failed = false;
	u64 msgs, units;
	int n;

	spin_lock_irq(&s->lock);
	closing = s->state == MBATCH_SESSION_CLOSING;
	orphan = pt->orphan_since;
	if (!closing && pt->reply_pending && pt->restored_pending) {
		__le64 *seqs = l->txbuf;
		u64 acked = s->res.acked;
		u32 k;

		BUILD_BUG_ON(MBATCH_WIRE_RESTORED_MAX * sizeof(__le64) >
			     MBATCH_LINK_TXBUF);
		pt->restored_pending = false;
		n = pt->nr_kept;
		for (k = 0; k < n; k++)
			seqs[k] = cpu_to_le64(pt->kept[k]);
		spin_unlock_irq(&s->lock);
		return mbatch_link_send(l, MBATCH_FRAME_RESTORED, ep->isid,
					acked, seqs, n * sizeof(__le64)) ?: 1;
	}
	if (!closing && pt->reply_pending) {
		pt->reply_pending = false;
		mbatch_part_reply_locked(pt, &rep);
		spin_unlock_irq(&s->lock);
		return mbatch_link_send(l, MBATCH_FRAME_OPEN_REPLY, ep->isid,
					ep->cookie, &rep, sizeof(rep)) ?: 1;
	}
	spin_unlock_irq(&s->lock);
	if (closing || orphan)
		return 0;	/* until it is re-attached on this link */

	/* Credit the initiator is short of goes before the results. */
	spin_lock_irq(&s->lock);
	mbatch_part_credit_locked(pt, &msgs, &units);
	n = mbatch_part_credit_urgent(pt, msgs, units);
	if (n) {
		mbatch_part_grant_locked(pt, msgs, units);
		cr.msgs = cpu_to_le64(msgs);
		cr.units = cpu_to_le64(units);
	}
	spin_unlock_irq(&s->lock);
	if (n)
		return mbatch_link_send(l, MBATCH_FRAME_CREDIT, ep->isid, 0, &cr,
					sizeof(cr)) ?: 1;

	spin_lock_irq(&s->lock);
	n = mbatch_part_r2t_locked(pt, l, l->txbuf, &failed);
	spin_unlock_irq(&s->lock);
	/* Their epoch may end now: its checkpoint runs. */
	if (failed)
		mbatch_exec_kick(&pt->ex);
	if (n)
		return mbatch_link_send(l, MBATCH_FRAME_R2T, ep->isid, n,
					l->txbuf, n * sizeof(__le64)) ?: 1;

	fr = (struct mbatch_part_frame){
		.buf = l->txbuf,
		.cap = MBATCH_LINK_BATCH,
	};
	n = mbatch_results_send(s, mbatch_part_put_result, &fr);
	if (n) {
		if (fr.halting && mbatch_fault_take(&mbatch_fault_halt_drop)) {
			mbatch_link_down(l, -EIO, "fault: halt result dropped");
			return -EIO;
		}
		return mbatch_link_send(l, MBATCH_FRAME_RESULTS, ep->isid, n,
					fr.buf, fr.off) ?: 1;
	}

	spin_lock_irq(&s->lock);
	mbatch_part_credit_locked(pt, &msgs, &units);
	n = msgs > pt->granted_msgs || units > pt->granted_units;
	if (n) {
		mbatch_part_grant_locked(pt, msgs, units);
		cr.msgs = cpu_to_le64(msgs);
		cr.units = cpu_to_le64(units);
	}
	spin_unlock_irq(&s->lock);
	if (!n)
		return 0;
	return mbatch_link_send(l, MBATCH_FRAME_CREDIT, ep->isid, 0, &cr,
				sizeof(cr)) ?: 1;
}

/* Link events and deadlines. */

/* Its initiator has to take it back on the new link (OPEN, re-attach). */
static void mbatch_part_link_up(struct mbatch_ep *ep)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);

	spin_lock_irq(&pt->s.lock);
	pt->orphan_since = jiffies | 1;
	/* What the last link's OPEN asked for, this link's OPEN asks again. */
	pt->reply_pending = false;
	pt->restored_pending = false;
	mbatch_part_r2t_reset_locked(pt);
	spin_unlock_irq(&pt->s.lock);
	mbatch_timer_peer_arm_timeout(ep->peer);
}

static void mbatch_part_link_down(struct mbatch_ep *ep)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);

	spin_lock_irq(&pt->s.lock);
	if (!pt->orphan_since)
		pt->orphan_since = jiffies | 1;
	mbatch_part_r2t_reset_locked(pt);
	spin_unlock_irq(&pt->s.lock);
}

/* Not taken back within the link timeout (or the peer deleted): it goes. */
static void mbatch_part_expire(struct mbatch_ep *ep, unsigned long now,
			       bool all, unsigned long *next)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);
	unsigned long timeout = msecs_to_jiffies(ep->peer->link_timeout_ms);
	unsigned long since;

	spin_lock_irq(&pt->s.lock);
	since = pt->orphan_since;
	spin_unlock_irq(&pt->s.lock);
	if (all || mbatch_timer_due(since, timeout, now, next))
		mbatch_session_close(&pt->s);
}

static void mbatch_part_credits(struct mbatch_ep *ep, u64 *tx, u64 *rx)
{
	struct mbatch_participant *pt = mbatch_ep_part(ep);

	spin_lock_irq(&pt->s.lock);
	*rx += pt->granted_msgs - pt->rx_msgs;
	spin_unlock_irq(&pt->s.lock);
}

static const struct mbatch_ep_ops mbatch_participant_ep_ops = {
	.rx = mbatch_part_rx,
	.tx = mbatch_part_tx,
	.link_up = mbatch_part_link_up,
	.link_down = mbatch_part_link_down,
	.expire = mbatch_part_expire,
	.credits = mbatch_part_credits,
};

/* Is queue @name restoring sessions from its journal? */
static bool mbatch_queue_restoring(struct mbatch_net *mn, const char *name)
{
	struct mbatch_queue *q = mbatch_queue_find(mn, name);
	bool restoring;

	if (!q)
		return false;
	restoring = q->journal && READ_ONCE(q->journal->restoring);
	mbatch_queue_put(q);
	return restoring;
}

/* An OPEN for a session the peer does not have here: open it, or refuse. */
static int mbatch_participant_accept(struct mbatch_peer *p,
				     struct mbatch_link *l,
				     const struct mbatch_frame *f)
{
	const struct mbatch_wire_open *o = f->data;
	struct mbatch_net *mn = p->mn;
	struct mbatch_participant *pt;
	struct mbatch_queue *q;
	const char *why;
	u32 oflags;
	int err;

	why = mbatch_open_invalid(f);
	if (why)
		return mbatch_link_proto(l, why);
	oflags = le32_to_cpu(o->flags);
	if ((oflags & MBATCH_OPEN_F_REATTACH) &&
	    mbatch_queue_restoring(mn, o->queue)) {
		/* Its session may be among them: ask again on a new link. */
		mbatch_link_down(l, -EAGAIN, "its queue is being restored");
		return -EAGAIN;
	}
	if (oflags & MBATCH_OPEN_F_REATTACH) {
		/* It had a session here, which is gone. */
		mbatch_peer_note(p, l, MBATCH_FRAME_OPEN_REPLY, f->session,
				 MBATCH_WS_STALE, f->arg);
		return 0;
	}

	pt = kmem_cache_zalloc(mbatch_participant_cache, GFP_KERNEL);
	if (pt)
		mbatch_obj_new(MBATCH_OBJ_PARTICIPANT);
	if (!pt) {
		mbatch_peer_note(p, l, MBATCH_FRAME_OPEN_REPLY, f->session,
				 MBATCH_WS_NOMEM, f->arg);
		return 0;
	}
	mbatch_part_init(pt, mn, p->name, f->session, f->arg);
	pt->reply_pending = true;

	mutex_lock(&mn->lock);
	q = mbatch_queue_find_locked(mn, o->queue);
	if (!q) {
		err = -ENOENT;
		goto unlock;
	}
	err = mbatch_exec_attach(&pt->ex, q);
	if (err) {
		mbatch_queue_put(q);
		goto unlock;
	}
	pt->s.max_cmds = q->max_cmds;
	pt->s.max_bytes = q->max_bytes;
	mbatch_part_params(pt, p, q, o);
	err = mbatch_session_reserve(&pt->s, NULL);
	if (err)
		goto detach;
	err = mbatch_ep_add(&pt->ep, p, MBATCH_EP_IN,
			    &mbatch_participant_ep_ops, &pt->s);
	if (err) {
		mbatch_session_unreserve(&pt->s);
		goto detach;
	}
	mbatch_session_publish(&pt->s);
	mutex_unlock(&mn->lock);
	mbatch_session_put(&pt->s);	/* the table holds it */
	mbatch_link_kick(l);
	return 0;

detach:
	mbatch_exec_detach(&pt->ex);
unlock:
	mutex_unlock(&mn->lock);
	mutex_destroy(&pt->rx_lock);
	mbatch_obj_gone(MBATCH_OBJ_PARTICIPANT);
	kmem_cache_free(mbatch_participant_cache, pt);
	mbatch_peer_note(p, l, MBATCH_FRAME_OPEN_REPLY, f->session,
			 mbatch_wire_status(err), f->arg);
	return 0;
}

/* Restoring: the sessions a queue's journal left open. */

/*
 * Its results from the journal, in sequence order, onto @list; which of
 * them completed into @done.
 */
static int mbatch_part_kept_results(struct mbatch_participant *pt,
				    struct mbatch_jrsess *rs,
				    struct list_head *list, u8 **done)
{
	struct mbatch_command *cmd;
	unsigned long seq;
	void *entry;
	u32 n = 0;

	BUILD_BUG_ON(MBATCH_MAX_CMDS_MAX > MBATCH_WIRE_RESTORED_MAX);
	pt->kept = kvcalloc(max(rs->nr, 1U), sizeof(*pt->kept), GFP_KERNEL);
	*done = kvcalloc(max(rs->nr, 1U), 1, GFP_KERNEL);
	if (!pt->kept || !*done)
		return -ENOMEM;
	xa_for_each(&rs->cmds, seq, entry) {
		u32 flags = mbatch_jrc_flags(entry);
		struct mbatch_msg m = {
			/* What ran is not logged, only that it changed data. */
			.op = flags & MBATCH_JRC_CP ? MBATCH_OP_CHECKPOINT :
						      MBATCH_OP_WRITE_ZEROES,
		};

		if (WARN_ON_ONCE(n == rs->nr))
			break;
		cmd = mbatch_cmd_alloc(&m);
		if (!cmd)
			return -ENOMEM;
		cmd->seq = seq;
		cmd->rflags = MBATCH_RESULT_F_RESTORED;
		if (flags & MBATCH_JRC_DONE) {
			/* A failed one halted it: not restored (jreplay.c). */
			cmd->outcome = MBATCH_OUTCOME_DONE;
			(*done)[n] = 1;
		} else {
			/* At the device when the node went: it may have run. */
			cmd->outcome = MBATCH_OUTCOME_UNKNOWN;
			cmd->status = -ESTALE;
		}
		list_add_tail(&cmd->node, list);
		pt->kept[n++] = seq;
	}
	pt->nr_kept = n;
	return 0;
}

/*
 * Is @q still its namespace's queue of that name? @ref: then with one more
 * reference. mn->lock held.
 */
static bool mbatch_queue_current(struct mbatch_net *mn, struct mbatch_queue *q,
				 bool ref)
{
	struct mbatch_queue *qq = mbatch_queue_find_locked(mn, q->name);

	if (qq && (qq != q || !ref))
		mbatch_queue_put(qq);
	return qq == q;
}

/*
 * Restore @rs onto @q as a session of its peer with no initiator yet: it
 * has the peer's link timeout to be taken back (OPEN, re-attach). Before
 * it is seen, its OPEN and what it has are logged again in this use, so a
 * second crash finds them. NULL, or why not.
 */
static const char *mbatch_part_restore(struct mbatch_net *mn,
				       struct mbatch_queue *q,
				       struct mbatch_jrsess *rs)
{
	struct mbatch_command *cmd, *tmp;
	struct mbatch_participant *pt;
	const char *why = NULL;
	struct mbatch_peer *p;
	struct mbatch_ep *ep;
	u8 *done = NULL;
	LIST_HEAD(list);
	int err;

	if (rs->lost)
		return rs->lost;
	if (rs->kind != MBATCH_JSESSION_PARTICIPANT)
		return "a local session (not restored)";
	if (rs->nr > q->max_cmds)
		return "more results than the queue's max-cmds";
	p = mbatch_peer_find(mn, rs->peer);
	if (!p)
		return "its peer is not configured";
	why = "out of memory";
	pt = kmem_cache_zalloc(mbatch_participant_cache, GFP_KERNEL);
	if (!pt)
		goto put_peer;
	mbatch_obj_new(MBATCH_OBJ_PARTICIPANT);
	mbatch_part_init(pt, mn, p->name, rs->isid, rs->cookie);
	pt->restoring = true;
	pt->params_pending = true;
	err = mbatch_part_kept_results(pt, rs, &list, &done);
	if (err)
		goto free;

	mutex_lock(&mn->lock);
	why = "its queue was deleted";
	if (!mbatch_queue_current(mn, q, true))
		goto unlock;
	err = mbatch_exec_attach(&pt->ex, q);
	if (err) {
		why = "its queue has too many sessions";
		mbatch_queue_put(q);
		goto unlock;
	}
	pt->s.max_cmds = q->max_cmds;
	pt->s.max_bytes = q->max_bytes;
	err = mbatch_session_reserve(&pt->s, NULL);
	mutex_unlock(&mn->lock);
	if (err) {
		why = "out of session ids";
		goto detach;
	}

	err = mbatch_jrec_restore(q->journal, pt->s.id,
				  MBATCH_JSESSION_PARTICIPANT, &pt->ex.jid,
				  pt->kept, done, pt->nr_kept);
	if (err) {
		why = "cannot write the journal's log";
		goto unreserve;
	}
	pt->ex.jopen = true;		/* its CLOSE when it ends */

	mutex_lock(&mn->lock);
	why = "its queue was deleted";
	if (!mbatch_queue_current(mn, q, false))
		goto unreserve_locked;
	why = "its initiator has a session of that id here";
	ep = mbatch_ep_find(p, MBATCH_EP_IN, rs->isid);
	if (ep) {
		mbatch_ep_put(ep);
		goto unreserve_locked;
	}
	/* All it has before its endpoint can be found. */
	spin_lock_irq(&pt->s.lock);
	list_for_each_entry_safe(cmd, tmp, &list, node) {
		list_del_init(&cmd->node);
		pt->s.held_cmds++;
		pt->s.held_bytes += mbatch_cmd_charge(cmd);
		mbatch_result_add_locked(&pt->s, cmd);
	}
	pt->orphan_since = jiffies | 1;
	spin_unlock_irq(&pt->s.lock);
	err = mbatch_ep_add(&pt->ep, p, MBATCH_EP_IN,
			    &mbatch_participant_ep_ops, &pt->s);
	if (err) {
		why = err == -ENOENT ? "its peer was deleted" :
				       "its peer has too many sessions";
		goto unreserve_locked;
	}
	mbatch_session_publish(&pt->s);
	mutex_unlock(&mn->lock);
	mbatch_session_put(&pt->s);	/* the table holds it */
	mbatch_timer_peer_arm_timeout(p);
	mbatch_peer_put(p);
	kvfree(done);
	return NULL;

unreserve:
	mutex_lock(&mn->lock);
unreserve_locked:
	mbatch_session_unreserve(&pt->s);
	mutex_unlock(&mn->lock);
	/* Its results, if they went in, are the session's to free. */
	mbatch_results_kill(&pt->s, &list);
detach:
	mbatch_exec_detach(&pt->ex);
	goto free;
unlock:
	mutex_unlock(&mn->lock);
free:
	mbatch_cmd_free_list(&list);
	kvfree(done);
	kvfree(pt->kept);
	mutex_destroy(&pt->rx_lock);
	mbatch_obj_gone(MBATCH_OBJ_PARTICIPANT);
	kmem_cache_free(mbatch_participant_cache, pt);
put_peer:
	mbatch_peer_put(p);
	return why;
}

/*
 * The queue @name was added over a journal: restore the sessions of its
 * last use that it left open, and count those it cannot.
 */
void mbatch_participants_restore(struct mbatch_net *mn, const char *name)
{
	struct mbatch_jrsess *rs, *tmp;
	struct mbatch_queue *q;
	u32 restored = 0, lost = 0;
	const char *why;
	LIST_HEAD(list);

	q = mbatch_queue_find(mn, name);
	if (!q)
		return;
	if (q->journal) {
		mutex_lock(&mn->lock);
		mbatch_jreplay_take(q->journal, &list);
		mutex_unlock(&mn->lock);
	}
	list_for_each_entry_safe(rs, tmp, &list, node) {
		why = mbatch_part_restore(mn, q, rs);
		if (why) {
			lost++;
			pr_info_ratelimited("mbatch: queue %s: session %u of its journal's last use not restored: %s\n",
					    q->name, rs->id, why);
		} else {
			restored++;
		}
		list_del(&rs->node);
		mbatch_jrsess_free(rs);
	}
	if (q->journal) {
		WRITE_ONCE(q->journal->restored, restored);
		WRITE_ONCE(q->journal->unrestored, lost);
		WRITE_ONCE(q->journal->restoring, false);
	}
	if (restored || lost)
		pr_info("mbatch: queue %s: %u sessions restored from its journal, %u not\n",
			q->name, restored, lost);
	mbatch_queue_put(q);
}

const struct mbatch_peer_ops mbatch_participant_peer_ops = {
	.accept = mbatch_participant_accept,
};

int mbatch_participant_init(void)
{
	mbatch_participant_cache = KMEM_CACHE(mbatch_participant, 0);
	return mbatch_participant_cache ? 0 : -ENOMEM;
}

void mbatch_participant_exit(void)
{
	kmem_cache_destroy(mbatch_participant_cache);
}
