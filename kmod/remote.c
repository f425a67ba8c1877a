// SPDX-License-Identifier: GPL-2.0
/*
 * Remote sessions: a session of this node on a peer's queue (initiator
 * side), and a peer's session on one of our queues (participant side),
 * which is an ordinary local session run by the same executor.
 *
 * The initiator keeps every message until its result is acknowledged by
 * the user; it sends messages within the participant's credit and sends
 * again, under their sequence numbers, those a lost link may have lost. The
 * participant runs a sequence number at most once, pushes results as they
 * complete and keeps them until the initiator acknowledges them.
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "peer.h"

static u64 mbatch_charge(u32 op, u32 len)
{
	if (op != MBATCH_OP_READ && op != MBATCH_OP_WRITE)
		return 0;
	return round_up(len, PAGE_SIZE);
}

/* References to a peer's sessions, taken under its lock. */
struct mbatch_snap {
	unsigned int n;
	struct mbatch_session **s;
};

static int mbatch_snap(struct mbatch_peer *p, bool in, struct mbatch_snap *sn)
{
	struct mbatch_remote *r;
	unsigned long flags;
	unsigned int max;

	spin_lock_irqsave(&p->lock, flags);
	max = in ? p->nr_in : p->nr_out;
	spin_unlock_irqrestore(&p->lock, flags);
	sn->n = 0;
	sn->s = kvmalloc_array(max ?: 1, sizeof(*sn->s), GFP_KERNEL);
	if (!sn->s)
		return -ENOMEM;
	spin_lock_irqsave(&p->lock, flags);
	list_for_each_entry(r, in ? &p->in : &p->out, pnode) {
		if (sn->n == max)
			break;
		kref_get(&r->s->ref);
		sn->s[sn->n++] = r->s;
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return 0;
}

static void mbatch_snap_put(struct mbatch_snap *sn)
{
	unsigned int i;

	for (i = 0; i < sn->n; i++)
		mbatch_session_put(sn->s[i]);
	kvfree(sn->s);
}

static struct mbatch_session *mbatch_peer_session(struct mbatch_peer *p,
						  bool in, u32 isid)
{
	struct mbatch_session *s = NULL;
	struct mbatch_remote *r;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	list_for_each_entry(r, in ? &p->in : &p->out, pnode) {
		if (r->isid == isid) {
			s = r->s;
			kref_get(&s->ref);
			break;
		}
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return s;
}

static void mbatch_note(struct mbatch_peer *p, u16 type, u32 isid, int err,
			u64 arg)
{
	struct mbatch_link *l = NULL;
	struct mbatch_note *n;
	unsigned long flags;
	bool flood = false;

	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return;		/* the peer learns it at re-attach */
	n->type = type;
	n->isid = isid;
	n->err = err;
	n->arg = arg;
	spin_lock_irqsave(&p->lock, flags);
	if (p->dead) {
		spin_unlock_irqrestore(&p->lock, flags);
		kfree(n);
		return;
	}
	if (p->nr_notes >= MBATCH_PEER_NOTES_MAX) {
		/* A peer that sends faster than it reads our answers. */
		flood = true;
		l = p->link;
		if (l)
			kref_get(&l->ref);
	} else {
		list_add_tail(&n->node, &p->closes);
		p->nr_notes++;
		n = NULL;
		if (p->link)
			mbatch_link_kick(p->link);
	}
	spin_unlock_irqrestore(&p->lock, flags);
	kfree(n);
	if (flood && l) {
		mbatch_link_down(l, -ENOBUFS,
				 "too many frames about unknown sessions");
		mbatch_link_put(l);
	}
}

void mbatch_remote_kick(struct mbatch_session *s)
{
	struct mbatch_peer *p = s->rmt->peer;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	if (p->link)
		mbatch_link_kick(p->link);
	spin_unlock_irqrestore(&p->lock, flags);
}

/* Sent messages, by sequence. */
static void mbatch_sent_add(struct mbatch_remote *r, struct mbatch_rq *c)
{
	struct rb_node **n = &r->sent.rb_node, *parent = NULL;

	while (*n) {
		parent = *n;
		if (c->seq < rb_entry(parent, struct mbatch_rq, rb)->seq)
			n = &parent->rb_left;
		else
			n = &parent->rb_right;
	}
	rb_link_node(&c->rb, parent, n);
	rb_insert_color(&c->rb, &r->sent);
	r->nr_sent++;
}

static struct mbatch_rq *mbatch_sent_find(struct mbatch_remote *r, u64 seq)
{
	struct rb_node *n = r->sent.rb_node;

	while (n) {
		struct mbatch_rq *c = rb_entry(n, struct mbatch_rq, rb);

		if (seq == c->seq)
			return c;
		n = seq < c->seq ? n->rb_left : n->rb_right;
	}
	return NULL;
}

static void mbatch_sent_del(struct mbatch_session *s, struct mbatch_rq *c)
{
	rb_erase(&c->rb, &s->rmt->sent);
	RB_CLEAR_NODE(&c->rb);
	s->rmt->nr_sent--;
	s->inflight--;
}

static void mbatch_remote_end_locked(struct mbatch_session *s,
				     struct mbatch_rq *c, int status)
{
	if (c->op == MBATCH_OP_CHECKPOINT)
		s->done_epoch++;
	mbatch_cmd_complete_locked(s, c, status);
}

/*
 * The participant cannot answer any more: what it had is of unknown
 * outcome, what it never had did not run. The session halts with @err.
 */
static void mbatch_remote_fail_locked(struct mbatch_session *s, int err)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_rq *c, *tmp;
	struct rb_node *n;

	while ((n = rb_first(&r->sent))) {
		c = rb_entry(n, struct mbatch_rq, rb);
		mbatch_sent_del(s, c);
		mbatch_remote_end_locked(s, c, -MBATCH_EUNKNOWN);
	}
	list_for_each_entry_safe(c, tmp, &r->unsent, node) {
		list_del_init(&c->node);
		mbatch_remote_end_locked(s, c, -MBATCH_ENOTSENT);
	}
	r->rstate = MBATCH_R_DONE;
	r->resume_pending = false;
	r->nr_cancels = 0;
	if (s->state != MBATCH_SESSION_CLOSING) {
		s->state = MBATCH_SESSION_HALTED;
		s->halt_err = err;
	}
	wake_up_all(&s->wait);
}

/* Initiator: open a session on @qname at @peer; it connects on its own. */
struct mbatch_session *mbatch_remote_open(struct mbatch_net *mn,
					  const char *peer, const char *qname,
					  u32 flags, u32 portid,
					  struct netlink_ext_ack *extack)
{
	struct mbatch_session *s;
	struct mbatch_remote *r;
	struct mbatch_peer *p;
	unsigned long irqflags;
	bool up;
	int err;

	p = mbatch_peer_find(mn, peer);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		return ERR_PTR(-ENOENT);
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	s = mbatch_session_alloc(mn, flags, portid);
	if (!r || !s) {
		kfree(r);
		if (s)
			mbatch_session_free_unused(s);
		mbatch_peer_put(p);
		return ERR_PTR(-ENOMEM);
	}
	r->s = s;
	r->peer = p;
	INIT_LIST_HEAD(&r->unsent);
	r->sent = RB_ROOT;
	strscpy(r->qname, qname, sizeof(r->qname));
	get_random_bytes(&r->cookie, sizeof(r->cookie));
	r->rstate = MBATCH_R_OPEN_PENDING;
	r->lost_at = jiffies;
	s->rmt = r;
	s->state = MBATCH_SESSION_CONNECTING;
	s->max_cmds = MBATCH_MAX_CMDS_DEFAULT;
	s->max_bytes = MBATCH_MAX_BYTES_DEFAULT;

	mutex_lock(&mn->lock);
	err = xa_alloc_cyclic(&mn->sessions, &s->id, s, xa_limit_32b,
			      &mn->next_sid, GFP_KERNEL);
	if (err < 0) {
		mutex_unlock(&mn->lock);
		NL_SET_ERR_MSG_MOD(extack, "out of session ids");
		mbatch_session_free_unused(s);	/* frees r, puts p */
		return ERR_PTR(err);
	}
	r->isid = s->id;
	spin_lock_irqsave(&p->lock, irqflags);
	if (p->dead) {
		spin_unlock_irqrestore(&p->lock, irqflags);
		xa_erase(&mn->sessions, s->id);
		mutex_unlock(&mn->lock);
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		mbatch_session_free_unused(s);
		return ERR_PTR(-ENOENT);
	}
	list_add_tail(&r->pnode, &p->out);
	p->nr_out++;
	up = p->link;
	if (up)
		mbatch_link_kick(p->link);
	spin_unlock_irqrestore(&p->lock, irqflags);
	mn->genid++;
	kref_get(&s->ref);	/* for the caller; the table holds one */
	mutex_unlock(&mn->lock);
	if (!up)
		mbatch_peer_arm_expire(p, msecs_to_jiffies(p->link_timeout_ms) + 1);
	return s;
}

int mbatch_remote_geom(struct mbatch_session *s, struct mbatch_geom *g,
		       struct netlink_ext_ack *extack)
{
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&s->lock, flags);
	if (!s->rmt->opened) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the remote session is not open yet: retry");
		err = -EAGAIN;
	} else {
		*g = s->rmt->geom;
	}
	spin_unlock_irqrestore(&s->lock, flags);
	return err;
}

void mbatch_remote_queue_locked(struct mbatch_session *s, struct mbatch_rq *c)
{
	list_add_tail(&c->node, &s->rmt->unsent);
}

void mbatch_remote_resume_locked(struct mbatch_session *s)
{
	struct mbatch_remote *r = s->rmt;

	if (r->rstate == MBATCH_R_DONE) {
		/* Lost: ask the participant whether it still has it. */
		r->rstate = MBATCH_R_OPEN_PENDING;
		r->lost_at = jiffies;
		s->state = MBATCH_SESSION_CONNECTING;
	} else {
		r->resume_pending = true;
	}
}

/* After a RESUME (not under any lock): wait for a link again, or fail. */
void mbatch_remote_resumed(struct mbatch_session *s)
{
	struct mbatch_peer *p = s->rmt->peer;
	unsigned long flags;
	bool dead, up;

	spin_lock_irqsave(&p->lock, flags);
	dead = p->dead;
	up = p->link;
	spin_unlock_irqrestore(&p->lock, flags);
	if (dead) {
		spin_lock_irqsave(&s->lock, flags);
		if (s->rmt->rstate != MBATCH_R_DONE)
			mbatch_remote_fail_locked(s, -ENOTCONN);
		spin_unlock_irqrestore(&s->lock, flags);
	} else if (!up) {
		mbatch_peer_arm_expire(p, msecs_to_jiffies(p->link_timeout_ms) + 1);
	}
	mbatch_remote_kick(s);
}

void mbatch_remote_cancel_locked(struct mbatch_session *s, u64 batch,
				 unsigned int *n)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_rq *c, *tmp;

	list_for_each_entry_safe(c, tmp, &r->unsent, node) {
		if (c->batch_id != batch || c->op == MBATCH_OP_CHECKPOINT)
			continue;
		list_del_init(&c->node);
		mbatch_cmd_complete_locked(s, c, -ECANCELED);
		(*n)++;
	}
	/* Sent ones: the participant cancels what has not started. */
	if (r->nr_sent && r->nr_cancels < ARRAY_SIZE(r->cancels))
		r->cancels[r->nr_cancels++] = batch;
}

static void mbatch_remote_unlist(struct mbatch_remote *r)
{
	struct mbatch_peer *p = r->peer;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	if (!list_empty(&r->pnode)) {
		list_del_init(&r->pnode);
		if (r->participant)
			p->nr_in--;
		else
			p->nr_out--;
	}
	spin_unlock_irqrestore(&p->lock, flags);
}

/* The session is out of the table and CLOSING. */
void mbatch_remote_kill(struct mbatch_session *s)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_peer *p = r->peer;
	struct mbatch_rq *c, *tmp;
	unsigned long flags;
	struct rb_node *n;
	bool tell;
	LIST_HEAD(list);

	mbatch_remote_unlist(r);

	spin_lock_irqsave(&s->lock, flags);
	if (r->participant) {
		tell = true;
	} else {
		tell = r->opened || r->rstate == MBATCH_R_OPEN_SENT;
		while ((n = rb_first(&r->sent))) {
			c = rb_entry(n, struct mbatch_rq, rb);
			mbatch_sent_del(s, c);
			list_add_tail(&c->node, &list);
		}
		list_splice_tail_init(&r->unsent, &list);
		r->rstate = MBATCH_R_DONE;
	}
	spin_unlock_irqrestore(&s->lock, flags);

	list_for_each_entry_safe(c, tmp, &list, node) {
		list_del(&c->node);
		mbatch_cmd_free(c);
	}
	if (tell)
		mbatch_note(p, r->participant ? MBATCH_FRAME_GONE :
			    MBATCH_FRAME_CLOSE, r->isid, 0, r->cookie);
}

void mbatch_remote_free_unused(struct mbatch_remote *r)
{
	mbatch_peer_put(r->peer);
	kfree(r);
}

void mbatch_remote_free(struct mbatch_session *s)
{
	mbatch_remote_free_unused(s->rmt);
	s->rmt = NULL;
}

const char *mbatch_remote_peer_name(const struct mbatch_session *s)
{
	return s->rmt && !s->rmt->participant ? s->rmt->peer->name : NULL;
}

/* Link events: every initiator session (re-)opens on a new link. */
void mbatch_remote_link_up(struct mbatch_peer *p)
{
	struct mbatch_snap sn;
	unsigned int i;

	if (!mbatch_snap(p, false, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];

			spin_lock_irq(&s->lock);
			if (s->rmt->rstate != MBATCH_R_DONE)
				s->rmt->rstate = MBATCH_R_OPEN_PENDING;
			spin_unlock_irq(&s->lock);
		}
		mbatch_snap_put(&sn);
	}
	/* Its sessions here wait for it to re-attach them on this link. */
	if (!mbatch_snap(p, true, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];

			spin_lock_irq(&s->lock);
			s->rmt->orphan_since = jiffies | 1;
			spin_unlock_irq(&s->lock);
		}
		if (sn.n)
			mbatch_peer_arm_expire(p, msecs_to_jiffies(p->link_timeout_ms) + 1);
		mbatch_snap_put(&sn);
	}
}

void mbatch_remote_link_down(struct mbatch_peer *p)
{
	struct mbatch_snap sn;
	unsigned int i;

	if (!mbatch_snap(p, false, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];

			spin_lock_irq(&s->lock);
			if (s->rmt->rstate != MBATCH_R_DONE) {
				s->rmt->rstate = MBATCH_R_OPEN_PENDING;
				s->rmt->lost_at = jiffies;
				if (s->state == MBATCH_SESSION_ACTIVE)
					s->state = MBATCH_SESSION_CONNECTING;
			}
			spin_unlock_irq(&s->lock);
		}
		mbatch_snap_put(&sn);
	}
	if (!mbatch_snap(p, true, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];

			spin_lock_irq(&s->lock);
			s->rmt->orphan_since = jiffies | 1;
			spin_unlock_irq(&s->lock);
		}
		mbatch_snap_put(&sn);
	}
}

/*
 * Link timeout: initiator sessions that waited too long fail; participant
 * sessions whose initiator did not come back are dropped. @all: the peer
 * is gone, everything goes now.
 */
void mbatch_remote_expire(struct mbatch_peer *p, bool all)
{
	unsigned long timeout = msecs_to_jiffies(p->link_timeout_ms);
	unsigned long now = jiffies, next = 0;
	struct mbatch_snap sn;
	unsigned long flags;
	unsigned int i;
	bool up;

	spin_lock_irqsave(&p->lock, flags);
	up = p->link;
	spin_unlock_irqrestore(&p->lock, flags);

	if ((!up || all) && !mbatch_snap(p, false, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];
			struct mbatch_remote *r = s->rmt;
			bool halted = false;

			spin_lock_irq(&s->lock);
			if (r->rstate != MBATCH_R_DONE &&
			    (all || r->rstate != MBATCH_R_OPEN)) {
				if (all || time_after_eq(now, r->lost_at + timeout)) {
					mbatch_remote_fail_locked(s, -ENOTCONN);
					halted = true;
				} else if (!next ||
					   time_before(r->lost_at + timeout, next)) {
					next = r->lost_at + timeout;
				}
			}
			spin_unlock_irq(&s->lock);
			if (halted)
				mbatch_notify_halt(s, -ENOTCONN);
		}
		mbatch_snap_put(&sn);
	}
	if (!mbatch_snap(p, true, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_session *s = sn.s[i];
			unsigned long since;

			spin_lock_irq(&s->lock);
			since = s->rmt->orphan_since;
			spin_unlock_irq(&s->lock);
			if (all || (since && time_after_eq(now, since + timeout)))
				mbatch_session_close(p->mn, s->id);
			else if (since && (!next ||
					   time_before(since + timeout, next)))
				next = since + timeout;
		}
		mbatch_snap_put(&sn);
	}
	if (next && !all)
		mbatch_peer_arm_expire(p, next - now + 1);
}

void mbatch_remote_credits(struct mbatch_peer *p, u64 *tx, u64 *rx)
{
	struct mbatch_snap sn;
	unsigned int i;

	*tx = 0;
	*rx = 0;
	if (!mbatch_snap(p, false, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_remote *r = sn.s[i]->rmt;

			spin_lock_irq(&sn.s[i]->lock);
			if (r->rstate == MBATCH_R_OPEN)
				*tx += r->credit_msgs - r->tx_msgs;
			spin_unlock_irq(&sn.s[i]->lock);
		}
		mbatch_snap_put(&sn);
	}
	if (!mbatch_snap(p, true, &sn)) {
		for (i = 0; i < sn.n; i++) {
			struct mbatch_remote *r = sn.s[i]->rmt;

			spin_lock_irq(&sn.s[i]->lock);
			*rx += r->granted_msgs - r->rx_msgs;
			spin_unlock_irq(&sn.s[i]->lock);
		}
		mbatch_snap_put(&sn);
	}
}

/* Transmit. */

static void mbatch_credit_locked(struct mbatch_session *s, u64 *msgs,
				 u64 *bytes)
{
	struct mbatch_remote *r = s->rmt;

	*msgs = r->rx_msgs;
	if (s->max_cmds > s->held_cmds)
		*msgs += s->max_cmds - s->held_cmds;
	*bytes = r->rx_bytes;
	if (s->max_bytes > s->held_bytes)
		*bytes += s->max_bytes - s->held_bytes;
}

static void mbatch_copy_from_pages(void *buf, struct mbatch_rq *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_pages; i++)
		memcpy_from_page(buf + i * PAGE_SIZE, c->pages[i], 0,
				 min_t(u32, c->len - i * PAGE_SIZE, PAGE_SIZE));
}

/* A message's or result's data after its header, zero-padded to 8. */
static void mbatch_put_data(void *p, struct mbatch_rq *c, u32 dlen)
{
	if (!dlen)
		return;
	mbatch_copy_from_pages(p, c);
	memset(p + dlen, 0, round_up(dlen, 8) - dlen);
}

static void mbatch_copy_to_pages(struct mbatch_rq *c, const void *buf)
{
	unsigned int i;

	for (i = 0; i < c->nr_pages; i++)
		memcpy_to_page(c->pages[i], 0, buf + i * PAGE_SIZE,
			       min_t(u32, c->len - i * PAGE_SIZE, PAGE_SIZE));
}

/* Messages within the credit into @buf; returns the payload length. */
static u32 mbatch_build_msgs_locked(struct mbatch_session *s, void *buf,
				    u32 *count)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_rq *c;
	u32 off = 0, n = 0;

	while ((c = list_first_entry_or_null(&r->unsent, struct mbatch_rq,
					     node))) {
		struct mbatch_wire_msg *m = buf + off;
		u32 dlen = c->op == MBATCH_OP_WRITE ? c->len : 0;
		u32 need = sizeof(*m) + round_up(dlen, 8);
		u64 charge = mbatch_charge(c->op, c->len);

		if (r->tx_msgs + 1 > r->credit_msgs ||
		    r->tx_bytes + charge > r->credit_bytes)
			break;
		if (off + need > MBATCH_WIRE_MSGS_MAX)
			break;
		m->seq = cpu_to_le64(c->seq);
		m->batch = cpu_to_le64(c->batch_id);
		m->tag = cpu_to_le64(c->tag);
		m->offset = cpu_to_le64(c->offset);
		m->op = cpu_to_le32(c->op);
		m->flags = cpu_to_le32(c->flags);
		m->len = cpu_to_le32(c->len);
		m->data_len = cpu_to_le32(dlen);
		mbatch_put_data(m + 1, c, dlen);
		list_del_init(&c->node);
		mbatch_sent_add(r, c);
		s->inflight++;
		r->tx_msgs++;
		r->tx_bytes += charge;
		off += need;
		n++;
	}
	*count = n;
	return off;
}

/* One frame of an initiator session: 1 sent, 0 nothing to send, <0. */
static int mbatch_tx_initiator(struct mbatch_link *l, struct mbatch_session *s)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_wire_open open;
	u16 type = 0;
	u32 len = 0, count;
	void *payload = NULL;
	u64 arg = 0;

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (r->rstate == MBATCH_R_OPEN_PENDING) {
		memset(&open, 0, sizeof(open));
		open.flags = cpu_to_le32(r->opened ? MBATCH_OPEN_F_REATTACH : 0);
		strscpy(open.queue, r->qname, sizeof(open.queue));
		r->rstate = MBATCH_R_OPEN_SENT;
		type = MBATCH_FRAME_OPEN;
		arg = r->cookie;
		payload = &open;
		len = sizeof(open);
	} else if (r->rstate != MBATCH_R_OPEN) {
		/* waiting */
	} else if (r->resume_pending) {
		r->resume_pending = false;
		type = MBATCH_FRAME_RESUME;
	} else if (r->nr_cancels) {
		arg = r->cancels[0];
		r->nr_cancels--;
		memmove(r->cancels, r->cancels + 1,
			r->nr_cancels * sizeof(r->cancels[0]));
		type = MBATCH_FRAME_CANCEL;
	} else if (r->rx_rseq > r->acked_rseq) {
		r->acked_rseq = r->rx_rseq;
		arg = r->acked_rseq;
		type = MBATCH_FRAME_ACK;
	} else {
		len = mbatch_build_msgs_locked(s, l->txbuf, &count);
		if (len) {
			type = MBATCH_FRAME_MSGS;
			arg = count;
			payload = l->txbuf;
		}
	}
	spin_unlock_irq(&s->lock);
	if (!type)
		return 0;
	return mbatch_link_send(l, type, r->isid, arg, payload, len) ?: 1;
}

static u32 mbatch_build_results_locked(struct mbatch_session *s, void *buf,
				       u32 *count)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_rq *c;
	u32 off = 0, n = 0;

	list_for_each_entry(c, &s->results, node) {
		struct mbatch_wire_result *w = buf + off;
		u32 dlen, need;

		if (c->rseq <= r->tx_rseq)
			continue;
		dlen = c->op == MBATCH_OP_READ && !c->status ? c->len : 0;
		need = sizeof(*w) + round_up(dlen, 8);
		if (off + need > MBATCH_WIRE_MSGS_MAX)
			break;
		w->msg_seq = cpu_to_le64(c->seq);
		w->rseq = cpu_to_le64(c->rseq);
		w->start_ns = cpu_to_le64(c->start_ns);
		w->done_ns = cpu_to_le64(c->done_ns);
		w->status = cpu_to_le32(c->status);
		w->bytes = cpu_to_le32(c->bytes);
		w->rflags = cpu_to_le32(c->rflags);
		w->data_len = cpu_to_le32(dlen);
		mbatch_put_data(w + 1, c, dlen);
		r->tx_rseq = c->rseq;
		off += need;
		n++;
	}
	if (n)
		s->delivered_rseq = max(s->delivered_rseq, r->tx_rseq);
	*count = n;
	return off;
}

static int mbatch_tx_participant(struct mbatch_link *l,
				 struct mbatch_session *s)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_wire_open_reply rep;
	struct mbatch_wire_credit cr;
	u64 msgs, bytes, arg = 0;
	u32 len = 0, count;
	void *payload = NULL;
	u16 type = 0;

	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (r->reply_pending) {
		struct mbatch_geom g;

		mbatch_queue_geom(s->q, &g);
		mbatch_credit_locked(s, &msgs, &bytes);
		memset(&rep, 0, sizeof(rep));
		rep.max_cmds = cpu_to_le32(s->max_cmds);
		rep.max_bytes = cpu_to_le64(s->max_bytes);
		rep.last_seq = cpu_to_le64(r->last_seq);
		rep.rx_msgs = cpu_to_le64(r->rx_msgs);
		rep.rx_bytes = cpu_to_le64(r->rx_bytes);
		rep.credit_msgs = cpu_to_le64(msgs);
		rep.credit_bytes = cpu_to_le64(bytes);
		rep.capacity = cpu_to_le64(g.capacity);
		rep.lbs = cpu_to_le32(g.lbs);
		rep.qflags = cpu_to_le32((g.discard ? MBATCH_REPLY_F_DISCARD : 0) |
					 (s->state == MBATCH_SESSION_HALTED ?
					  MBATCH_REPLY_F_HALTED : 0));
		r->granted_msgs = msgs;
		r->granted_bytes = bytes;
		r->reply_pending = false;
		type = MBATCH_FRAME_OPEN_REPLY;
		arg = r->cookie;
		payload = &rep;
		len = sizeof(rep);
	} else if (!r->orphan_since) {
		/* Once re-attached: results first, then credit. */
		len = mbatch_build_results_locked(s, l->txbuf, &count);
		if (len) {
			type = MBATCH_FRAME_RESULTS;
			arg = count;
			payload = l->txbuf;
			goto unlock;
		}
		mbatch_credit_locked(s, &msgs, &bytes);
		if (msgs > r->granted_msgs || bytes > r->granted_bytes) {
			r->granted_msgs = max(msgs, r->granted_msgs);
			r->granted_bytes = max(bytes, r->granted_bytes);
			cr.msgs = cpu_to_le64(r->granted_msgs);
			cr.bytes = cpu_to_le64(r->granted_bytes);
			type = MBATCH_FRAME_CREDIT;
			payload = &cr;
			len = sizeof(cr);
		}
	}
unlock:
	spin_unlock_irq(&s->lock);
	if (!type)
		return 0;
	return mbatch_link_send(l, type, r->isid, arg, payload, len) ?: 1;
}

static int mbatch_tx_notes(struct mbatch_link *l)
{
	struct mbatch_peer *p = l->peer;
	struct mbatch_wire_open_reply rep;
	struct mbatch_note *n;
	unsigned long flags;
	int err = 0;

	while (!err) {
		spin_lock_irqsave(&p->lock, flags);
		n = list_first_entry_or_null(&p->closes, struct mbatch_note,
					     node);
		if (n) {
			list_del(&n->node);
			p->nr_notes--;
		}
		spin_unlock_irqrestore(&p->lock, flags);
		if (!n)
			return 0;
		switch (n->type) {
		case MBATCH_FRAME_OPEN_REPLY:
			memset(&rep, 0, sizeof(rep));
			rep.status = cpu_to_le32(n->err);
			err = mbatch_link_send(l, n->type, n->isid, n->arg,
					       &rep, sizeof(rep));
			break;
		default:
			/* CLOSE, GONE: the session's cookie (GONE: 0, any) */
			err = mbatch_link_send(l, n->type, n->isid, n->arg,
					       NULL, 0);
			break;
		}
		kfree(n);
	}
	return err;
}

/* The link's transmit work: one frame per session in turn, until idle. */
int mbatch_remote_tx(struct mbatch_link *l)
{
	struct mbatch_snap out, in;
	bool progress = true;
	unsigned int i;
	int ret = 0;

	if (mbatch_snap(l->peer, false, &out))
		return -ENOMEM;
	if (mbatch_snap(l->peer, true, &in)) {
		mbatch_snap_put(&out);
		return -ENOMEM;
	}
	while (progress && ret >= 0) {
		progress = false;
		ret = mbatch_tx_notes(l);
		for (i = 0; i < out.n && ret >= 0; i++) {
			ret = mbatch_tx_initiator(l, out.s[i]);
			progress |= ret > 0;
		}
		for (i = 0; i < in.n && ret >= 0; i++) {
			ret = mbatch_tx_participant(l, in.s[i]);
			progress |= ret > 0;
		}
		cond_resched();
	}
	mbatch_snap_put(&in);
	mbatch_snap_put(&out);
	return min(ret, 0);
}

/* Receive: participant side. */

static int mbatch_rx_proto(struct mbatch_link *l, const char *why)
{
	mbatch_link_down(l, -EPROTO, why);
	return -EPROTO;
}

static int mbatch_rx_open(struct mbatch_link *l, u32 isid, u64 cookie,
			  const void *payload, u32 len)
{
	const struct mbatch_wire_open *o = payload;
	struct mbatch_peer *p = l->peer;
	struct mbatch_session *s;
	struct mbatch_remote *r;
	unsigned long flags;
	bool reattach, full, closing;
	u32 oflags;

	if (len != sizeof(*o) || o->zero || !isid)
		return mbatch_rx_proto(l, "malformed open");
	oflags = le32_to_cpu(o->flags);
	if (oflags & ~MBATCH_OPEN_F_REATTACH)
		return mbatch_rx_proto(l, "unknown open flags");
	if (strnlen(o->queue, sizeof(o->queue)) == sizeof(o->queue) ||
	    !o->queue[0])
		return mbatch_rx_proto(l, "malformed queue name in open");
	reattach = oflags & MBATCH_OPEN_F_REATTACH;

	s = mbatch_peer_session(p, true, isid);
	if (s) {
		spin_lock_irq(&s->lock);
		if (s->rmt->cookie == cookie && s->state != MBATCH_SESSION_CLOSING) {
			/* The same session again: carry on where it was. */
			r = s->rmt;
			r->reply_pending = true;
			r->orphan_since = 0;
			r->tx_rseq = s->acked_rseq;
			spin_unlock_irq(&s->lock);
			mbatch_session_put(s);
			mbatch_link_kick(l);
			return 0;
		}
		spin_unlock_irq(&s->lock);
		/* An earlier life of the initiator's session id. */
		mbatch_session_close(p->mn, s->id);
		mbatch_session_put(s);
	}
	if (reattach) {
		mbatch_note(p, MBATCH_FRAME_OPEN_REPLY, isid, -MBATCH_EUNKNOWN,
			    cookie);
		return 0;
	}

	spin_lock_irqsave(&p->lock, flags);
	full = p->nr_in >= MBATCH_PEER_SESSIONS_IN_MAX;
	spin_unlock_irqrestore(&p->lock, flags);
	if (full) {
		mbatch_note(p, MBATCH_FRAME_OPEN_REPLY, isid, -ENOBUFS, cookie);
		return 0;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		goto refuse_nomem;
	INIT_LIST_HEAD(&r->pnode);
	INIT_LIST_HEAD(&r->unsent);
	r->sent = RB_ROOT;
	kref_get(&p->ref);
	r->peer = p;
	r->participant = true;
	r->isid = isid;
	r->cookie = cookie;
	r->reply_pending = true;
	strscpy(r->qname, o->queue, sizeof(r->qname));
	/* The session is found by others only with its remote part set. */
	s = mbatch_session_open(p->mn, o->queue, MBATCH_SESSION_F_PEER, 0, r,
				NULL);
	if (IS_ERR(s)) {
		mbatch_note(p, MBATCH_FRAME_OPEN_REPLY, isid, PTR_ERR(s),
			    cookie);
		return 0;
	}

	spin_lock_irqsave(&p->lock, flags);
	if (!p->dead) {
		list_add_tail(&r->pnode, &p->in);
		p->nr_in++;
	}
	spin_unlock_irqrestore(&p->lock, flags);
	/*
	 * Closed meanwhile (its queue deleted, the peer deleted)? The kill
	 * set CLOSING under the session's lock before it unlisted; whichever
	 * came second, it is unlisted now.
	 */
	spin_lock_irq(&s->lock);
	closing = s->state == MBATCH_SESSION_CLOSING;
	spin_unlock_irq(&s->lock);
	if (closing)
		mbatch_remote_unlist(r);
	else if (list_empty(&r->pnode))
		mbatch_session_close(p->mn, s->id);	/* the peer is dead */
	mbatch_session_put(s);
	mbatch_link_kick(l);
	return 0;

refuse_nomem:
	mbatch_note(p, MBATCH_FRAME_OPEN_REPLY, isid, -ENOMEM, cookie);
	return 0;
}

/* Check one message of a MSGS frame; structure faults drop the link. */
static const char *mbatch_wire_msg_check(const struct mbatch_wire_msg *w,
					 const struct mbatch_geom *g,
					 struct mbatch_msg *m)
{
	bool rw, zero;

	m->seq = le64_to_cpu(w->seq);
	m->batch = le64_to_cpu(w->batch);
	m->tag = le64_to_cpu(w->tag);
	m->offset = le64_to_cpu(w->offset);
	m->op = le32_to_cpu(w->op);
	m->flags = le32_to_cpu(w->flags);
	m->len = le32_to_cpu(w->len);
	m->status = 0;
	if (!m->seq || !m->batch || m->batch > S64_MAX)
		return "bad message or batch sequence";
	if (m->op < MBATCH_OP_READ || m->op > MBATCH_OP_MAX)
		return "bad message op";
	if (m->flags & ~MBATCH_MSG_F_ALL ||
	    (m->flags && m->op != MBATCH_OP_CHECKPOINT))
		return "bad message flags";
	if (le32_to_cpu(w->data_len) != (m->op == MBATCH_OP_WRITE ? m->len : 0))
		return "message data length does not match";
	rw = m->op == MBATCH_OP_READ || m->op == MBATCH_OP_WRITE;
	zero = m->op == MBATCH_OP_DISCARD || m->op == MBATCH_OP_WRITE_ZEROES;
	if (!rw && !zero) {
		if (m->offset || m->len)
			return "flush and checkpoint take no range";
		return NULL;
	}
	if (!m->len || (rw && m->len > MBATCH_MAX_IO_LEN) ||
	    (zero && m->len > MBATCH_MAX_ZERO_LEN))
		return "bad message length";
	/* The device may have changed since the initiator checked. */
	if (!IS_ALIGNED(m->offset, g->lbs) || !IS_ALIGNED(m->len, g->lbs))
		m->status = -EINVAL;
	else if (m->offset >= g->capacity || m->len > g->capacity - m->offset)
		m->status = -ERANGE;
	else if (m->op == MBATCH_OP_DISCARD && !g->discard)
		m->status = -EOPNOTSUPP;
	return NULL;
}

static int mbatch_rx_msgs(struct mbatch_link *l, struct mbatch_session *s,
			  u64 count, void *payload, u32 len)
{
	struct mbatch_remote *r = s->rmt;
	struct mbatch_msg *msgs;
	struct mbatch_geom g;
	u64 last, nmsgs = 0, nbytes = 0, gmsgs, gbytes, dups = 0;
	unsigned int n = 0, i, j;
	const char *why = NULL;
	u32 off = 0;
	int err = 0;

	if (!count || count > len / sizeof(struct mbatch_wire_msg))
		return mbatch_rx_proto(l, "bad message count");
	msgs = kvcalloc(count, sizeof(*msgs), GFP_KERNEL);
	if (!msgs) {
		mbatch_link_down(l, -ENOMEM, "out of memory for messages");
		return -ENOMEM;
	}
	mbatch_queue_geom(s->q, &g);
	spin_lock_irq(&s->lock);
	last = r->last_seq;
	gmsgs = r->granted_msgs - r->rx_msgs;
	gbytes = r->granted_bytes - r->rx_bytes;
	spin_unlock_irq(&s->lock);

	for (i = 0; i < count; i++) {
		const struct mbatch_wire_msg *w = payload + off;
		struct mbatch_msg *m = &msgs[n];
		u32 dlen;

		if (len - off < sizeof(*w)) {
			why = "truncated message";
			break;
		}
		dlen = le32_to_cpu(w->data_len);
		if (dlen > MBATCH_MAX_IO_LEN ||
		    len - off - sizeof(*w) < round_up(dlen, 8)) {
			why = "truncated message data";
			break;
		}
		why = mbatch_wire_msg_check(w, &g, m);
		if (why)
			break;
		m->data = dlen ? (const void *)(w + 1) : NULL;
		off += sizeof(*w) + round_up(dlen, 8);
		if (m->seq <= last) {
			dups++;		/* sent again after a lost link */
			continue;
		}
		last = m->seq;
		nmsgs++;
		nbytes += mbatch_charge(m->op, m->len);
		n++;
	}
	if (!why && off != len)
		why = "trailing bytes after messages";
	if (!why && (nmsgs > gmsgs || nbytes > gbytes))
		why = "credit exceeded";
	if (why) {
		kvfree(msgs);
		return mbatch_rx_proto(l, why);
	}
	if (dups)
		mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_DUPLICATES, dups);

	/* One submission per run of a batch: batch ids stay the initiator's. */
	for (i = 0; i < n && !err; i = j) {
		u64 batch = msgs[i].batch, first;
		u64 bytes = 0;

		for (j = i; j < n && msgs[j].batch == batch; j++)
			bytes += mbatch_charge(msgs[j].op, msgs[j].len);
		err = mbatch_session_submit(s, &msgs[i], j - i, &batch, &first,
					    NULL);
		if (err)
			break;
		spin_lock_irq(&s->lock);
		r->last_seq = msgs[j - 1].seq;
		r->rx_msgs += j - i;
		r->rx_bytes += bytes;
		spin_unlock_irq(&s->lock);
	}
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

static int mbatch_rx_participant(struct mbatch_link *l, u16 type, u32 isid,
				 u64 arg, void *payload, u32 len)
{
	struct mbatch_session *s;
	unsigned int n;
	int err = 0;

	if (type != MBATCH_FRAME_MSGS && len)
		return mbatch_rx_proto(l, "unexpected payload");
	s = mbatch_peer_session(l->peer, true, isid);
	if (!s) {
		if (type != MBATCH_FRAME_CLOSE)
			mbatch_note(l->peer, MBATCH_FRAME_GONE, isid, 0, 0);
		return 0;
	}
	switch (type) {
	case MBATCH_FRAME_MSGS:
		err = mbatch_rx_msgs(l, s, arg, payload, len);
		break;
	case MBATCH_FRAME_ACK:
		if (mbatch_session_ack(s, arg, false))
			err = mbatch_rx_proto(l, "ack of a result never sent");
		break;
	case MBATCH_FRAME_RESUME:
		if (arg)
			err = mbatch_rx_proto(l, "malformed resume");
		else
			mbatch_session_resume(s, NULL);
		break;
	case MBATCH_FRAME_CANCEL:
		mbatch_session_cancel_batch(s, arg, &n);
		break;
	case MBATCH_FRAME_CLOSE:
		if (arg == s->rmt->cookie)
			mbatch_session_close(l->peer->mn, s->id);
		break;
	}
	if (!err)
		mbatch_link_kick(l);
	mbatch_session_put(s);
	return err;
}

/* Receive: initiator side. */

static void mbatch_rx_open_reply(struct mbatch_link *l,
				 struct mbatch_session *s, u64 cookie,
				 const struct mbatch_wire_open_reply *rep,
				 int *halt, bool *bad)
{
	struct mbatch_remote *r = s->rmt;
	int status = (s32)le32_to_cpu(rep->status);
	struct mbatch_rq *c;
	struct rb_node *n;
	u64 last;

	if (cookie != r->cookie || r->rstate != MBATCH_R_OPEN_SENT)
		return;		/* an answer to an earlier open */
	if (status) {
		if (status > 0 || status < -MAX_ERRNO)
			status = -EPROTO;
		mbatch_remote_fail_locked(s, status);
		*halt = status;
		return;
	}
	r->geom.capacity = le64_to_cpu(rep->capacity);
	r->geom.lbs = le32_to_cpu(rep->lbs);
	if (r->geom.lbs < SECTOR_SIZE || r->geom.lbs > PAGE_SIZE ||
	    !is_power_of_2(r->geom.lbs)) {
		*bad = true;
		return;
	}
	r->geom.discard = le32_to_cpu(rep->qflags) & MBATCH_REPLY_F_DISCARD;
	r->credit_msgs = le64_to_cpu(rep->credit_msgs);
	r->credit_bytes = le64_to_cpu(rep->credit_bytes);
	r->tx_msgs = le64_to_cpu(rep->rx_msgs);
	r->tx_bytes = le64_to_cpu(rep->rx_bytes);
	last = le64_to_cpu(rep->last_seq);
	/* Send again, in order and ahead of the rest, what it did not get. */
	while ((n = rb_last(&r->sent))) {
		c = rb_entry(n, struct mbatch_rq, rb);
		if (c->seq <= last)
			break;
		mbatch_sent_del(s, c);
		list_add(&c->node, &r->unsent);
		r->resent++;
	}
	r->rstate = MBATCH_R_OPEN;
	r->opened = true;
	/* An ACK may have been lost with the link: acknowledge again. */
	r->acked_rseq = 0;
	if (s->state == MBATCH_SESSION_CONNECTING)
		s->state = MBATCH_SESSION_ACTIVE;
	/* Resumed here while the RESUME to it was lost? */
	if ((le32_to_cpu(rep->qflags) & MBATCH_REPLY_F_HALTED) &&
	    s->state == MBATCH_SESSION_ACTIVE)
		r->resume_pending = true;
	wake_up_all(&s->wait);
}

struct mbatch_cp_event {
	struct mbatch_rq cp;
	int halt;
};

/* Where parsing a RESULTS frame stopped to send notifications. */
struct mbatch_rx_pos {
	u32 off;
	u64 i;
};

/* 0 done, 1 stopped with @max_ev checkpoint events to send, -EPROTO. */
static int mbatch_rx_results(struct mbatch_link *l, struct mbatch_session *s,
			     u64 count, void *payload, u32 len,
			     struct mbatch_rx_pos *pos,
			     struct mbatch_cp_event *ev, unsigned int *nev,
			     unsigned int max_ev)
{
	struct mbatch_remote *r = s->rmt;
	u32 off = pos->off;
	u64 i;

	if (!count || count > len / sizeof(struct mbatch_wire_result))
		return -EPROTO;
	for (i = pos->i; i < count; i++) {
		const struct mbatch_wire_result *w = payload + off;
		struct mbatch_rq *c;
		u32 dlen, rflags;
		int status;

		if (len - off < sizeof(*w))
			return -EPROTO;
		dlen = le32_to_cpu(w->data_len);
		if (dlen > MBATCH_MAX_IO_LEN ||
		    len - off - sizeof(*w) < round_up(dlen, 8))
			return -EPROTO;
		off += sizeof(*w) + round_up(dlen, 8);
		status = (s32)le32_to_cpu(w->status);
		rflags = le32_to_cpu(w->rflags);
		if (status > 0 || status < -MAX_ERRNO ||
		    rflags & ~(MBATCH_RESULT_F_REORDERED |
			       MBATCH_RESULT_F_MERGED))
			return -EPROTO;
		r->rx_rseq = max(r->rx_rseq, le64_to_cpu(w->rseq));
		c = mbatch_sent_find(r, le64_to_cpu(w->msg_seq));
		if (!c) {
			r->dups++;
			continue;
		}
		if (dlen != (c->op == MBATCH_OP_READ && !status ? c->len : 0) ||
		    le32_to_cpu(w->bytes) > c->len)
			return -EPROTO;
		mbatch_sent_del(s, c);
		if (dlen)
			mbatch_copy_to_pages(c, w + 1);
		c->start_ns = le64_to_cpu(w->start_ns);
		c->done_ns = le64_to_cpu(w->done_ns);
		c->rflags = rflags;
		if (c->rflags & MBATCH_RESULT_F_REORDERED)
			s->stats.reordered++;
		if (c->rflags & MBATCH_RESULT_F_MERGED)
			s->stats.merged++;
		if (c->op == MBATCH_OP_FLUSH && !status)
			s->stats.flushes++;
		mbatch_remote_end_locked(s, c, status);
		if (c->op != MBATCH_OP_CHECKPOINT)
			continue;
		ev[*nev].cp = *c;
		ev[*nev].halt = 0;
		if (status && !(c->flags & MBATCH_MSG_F_CONTINUE) &&
		    s->state != MBATCH_SESSION_HALTED) {
			struct mbatch_rq *u, *tmp;

			/* Fail-stop: what it has not got would be cancelled. */
			s->state = MBATCH_SESSION_HALTED;
			s->halt_err = status;
			list_for_each_entry_safe(u, tmp, &r->unsent, node) {
				list_del_init(&u->node);
				mbatch_remote_end_locked(s, u, -ECANCELED);
			}
			ev[*nev].halt = status;
		}
		if (++(*nev) == max_ev && i + 1 < count) {
			pos->off = off;
			pos->i = i + 1;
			return 1;
		}
	}
	return off == len ? 0 : -EPROTO;
}

#define MBATCH_RX_EVENTS	8

static int mbatch_rx_initiator(struct mbatch_link *l, u16 type, u32 isid,
			       u64 arg, void *payload, u32 len)
{
	struct mbatch_cp_event *ev = NULL;
	const struct mbatch_wire_credit *cr;
	struct mbatch_session *s;
	unsigned int nev = 0, i;
	int err = 0, halt = 0;
	bool bad = false;
	u64 resent, dups;

	s = mbatch_peer_session(l->peer, false, isid);
	if (!s)
		return 0;	/* closed here meanwhile */
	if (type == MBATCH_FRAME_RESULTS) {
		ev = kmalloc_array(MBATCH_RX_EVENTS, sizeof(*ev), GFP_KERNEL);
		if (!ev) {
			mbatch_session_put(s);
			mbatch_link_down(l, -ENOMEM, "out of memory for results");
			return -ENOMEM;
		}
	}
	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		/* nothing */
	} else if (type == MBATCH_FRAME_OPEN_REPLY) {
		if (len != sizeof(struct mbatch_wire_open_reply))
			err = -EPROTO;
		else
			mbatch_rx_open_reply(l, s, arg, payload, &halt, &bad);
		if (bad)
			err = -EPROTO;
	} else if (s->rmt->rstate != MBATCH_R_OPEN) {
		/* Before the reply to a re-attach: stale. */
	} else if (type == MBATCH_FRAME_RESULTS) {
		struct mbatch_rx_pos pos = {};

		/* Every checkpoint has its event, a few at a time. */
		while ((err = mbatch_rx_results(l, s, arg, payload, len, &pos,
						ev, &nev,
						MBATCH_RX_EVENTS)) == 1) {
			spin_unlock_irq(&s->lock);
			for (i = 0; i < nev; i++) {
				mbatch_notify_checkpoint(s, &ev[i].cp);
				if (ev[i].halt)
					mbatch_notify_halt(s, ev[i].halt);
			}
			nev = 0;
			spin_lock_irq(&s->lock);
			if (s->state == MBATCH_SESSION_CLOSING ||
			    s->rmt->rstate != MBATCH_R_OPEN) {
				err = 0;
				break;
			}
		}
	} else if (type == MBATCH_FRAME_CREDIT) {
		if (len != sizeof(*cr) || arg) {
			err = -EPROTO;
		} else {
			cr = payload;
			s->rmt->credit_msgs = max(s->rmt->credit_msgs,
						  le64_to_cpu(cr->msgs));
			s->rmt->credit_bytes = max(s->rmt->credit_bytes,
						   le64_to_cpu(cr->bytes));
		}
	} else if (type == MBATCH_FRAME_GONE) {
		if (len) {
			err = -EPROTO;
		} else if (arg && arg != s->rmt->cookie) {
			/* about an earlier session with this id */
		} else {
			mbatch_remote_fail_locked(s, -MBATCH_EUNKNOWN);
			halt = -MBATCH_EUNKNOWN;
		}
	}
	resent = s->rmt->resent;
	dups = s->rmt->dups;
	s->rmt->resent = 0;
	s->rmt->dups = 0;
	spin_unlock_irq(&s->lock);

	if (resent)
		mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_RESENT, resent);
	if (dups)
		mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_DUPLICATES, dups);
	for (i = 0; i < nev; i++) {
		mbatch_notify_checkpoint(s, &ev[i].cp);
		if (ev[i].halt)
			mbatch_notify_halt(s, ev[i].halt);
	}
	if (halt)
		mbatch_notify_halt(s, halt);
	kfree(ev);
	mbatch_session_put(s);
	if (err)
		return mbatch_rx_proto(l, "malformed reply from the participant");
	mbatch_link_kick(l);
	return 0;
}

int mbatch_remote_rx(struct mbatch_link *l, const struct mbatch_wire_hdr *h,
		     void *payload, u32 len)
{
	u16 type = le16_to_cpu(h->type);
	u32 isid = le32_to_cpu(h->session);
	u64 arg = le64_to_cpu(h->arg);
	struct mbatch_peer *p = l->peer;
	unsigned long flags;
	bool current_link;

	spin_lock_irqsave(&p->lock, flags);
	current_link = p->link == l;
	spin_unlock_irqrestore(&p->lock, flags);
	if (!current_link)
		return -ENOTCONN;
	if (!isid)
		return mbatch_rx_proto(l, "session frame without a session");

	switch (type) {
	case MBATCH_FRAME_OPEN:
		return mbatch_rx_open(l, isid, arg, payload, len);
	case MBATCH_FRAME_MSGS:
	case MBATCH_FRAME_ACK:
	case MBATCH_FRAME_RESUME:
	case MBATCH_FRAME_CANCEL:
	case MBATCH_FRAME_CLOSE:
		return mbatch_rx_participant(l, type, isid, arg, payload, len);
	case MBATCH_FRAME_OPEN_REPLY:
	case MBATCH_FRAME_RESULTS:
	case MBATCH_FRAME_CREDIT:
	case MBATCH_FRAME_GONE:
		return mbatch_rx_initiator(l, type, isid, arg, payload, len);
	default:
		return mbatch_rx_proto(l, "unexpected frame type");
	}
}
