// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: the other nodes of a namespace, by name. A peer has at most one
 * link at a time; user space attaches an authenticated socket and the new
 * link replaces the old one. Attaching and deleting only queue the work: the
 * peer's attach work stops the old link completely before the new one
 * starts (so two links of a peer never receive at once), and its kill work
 * tears everything down, so no netlink caller waits for the network.
 *
 * While a peer has no link its sessions wait for one, up to the peer's link
 * timeout (timer.c). Every frame about a session goes to its endpoint.
 */
#include <linux/netlink.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>

#include "fault.h"
#include "netns.h"
#include "notify.h"
#include "peer.h"
#include "session.h"
#include "timer.h"

static struct workqueue_struct *mbatch_peer_wq;

static void mbatch_peer_release(struct kref *ref)
{
	struct mbatch_peer *p = container_of(ref, struct mbatch_peer, ref);

	WARN_ON_ONCE(p->link || p->pending || !list_empty(&p->notes) ||
		     !list_empty(&p->eps[MBATCH_EP_OUT]) ||
		     !list_empty(&p->eps[MBATCH_EP_IN]));
	if (mbatch_planted(MBATCH_PLANT_LEAK))
		return;		/* test build: the leak the harness must see */
	mbatch_obj_gone(MBATCH_OBJ_PEER);
	kfree(p);
}

void mbatch_peer_put(struct mbatch_peer *p)
{
	kref_put(&p->ref, mbatch_peer_release);
}

void mbatch_peer_count(struct mbatch_peer *p, unsigned int stat, u64 n)
{
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	p->stats[stat] += n;
	spin_unlock_irqrestore(&p->lock, flags);
}

struct mbatch_peer *mbatch_peer_find_locked(struct mbatch_net *mn,
					    const char *name)
{
	struct mbatch_peer *p;

	lockdep_assert_held(&mn->lock);
	list_for_each_entry(p, &mn->peers, node)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

struct mbatch_peer *mbatch_peer_find(struct mbatch_net *mn, const char *name)
{
	struct mbatch_peer *p;

	mutex_lock(&mn->lock);
	p = mbatch_peer_find_locked(mn, name);
	if (p)
		kref_get(&p->ref);
	mutex_unlock(&mn->lock);
	return p;
}

/* Endpoints. */

/* List a session's endpoint on @p; fails on a deleted or full peer. */
int mbatch_ep_add(struct mbatch_ep *ep, struct mbatch_peer *p,
		  enum mbatch_ep_dir dir, const struct mbatch_ep_ops *ops,
		  struct mbatch_session *s)
{
	unsigned long flags;
	int err = 0;

	ep->ops = ops;
	ep->s = s;
	ep->dir = dir;
	spin_lock_irqsave(&p->lock, flags);
	if (p->dead) {
		err = -ENOENT;
	} else if (p->nr_eps[dir] >= MBATCH_PEER_SESSIONS_MAX) {
		err = -ENOBUFS;
	} else {
		kref_get(&p->ref);
		ep->peer = p;
		list_add_tail(&ep->pnode, &p->eps[dir]);
		p->nr_eps[dir]++;
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return err;
}

/* Off the peer's list (the session is ending); the reference stays. */
void mbatch_ep_del(struct mbatch_ep *ep)
{
	struct mbatch_peer *p = ep->peer;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	if (!list_empty(&ep->pnode)) {
		list_del_init(&ep->pnode);
		p->nr_eps[ep->dir]--;
	}
	spin_unlock_irqrestore(&p->lock, flags);
}

/* The endpoint of session @isid, holding its session. */
struct mbatch_ep *mbatch_ep_find(struct mbatch_peer *p, enum mbatch_ep_dir dir,
				 u32 isid)
{
	struct mbatch_ep *ep, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	list_for_each_entry(ep, &p->eps[dir], pnode) {
		if (ep->isid == isid) {
			kref_get(&ep->s->ref);
			found = ep;
			break;
		}
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return found;
}

void mbatch_ep_put(struct mbatch_ep *ep)
{
	mbatch_session_put(ep->s);
}

void mbatch_ep_kick(struct mbatch_ep *ep)
{
	struct mbatch_peer *p = ep->peer;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	if (p->link)
		mbatch_link_kick(p->link);
	spin_unlock_irqrestore(&p->lock, flags);
}

/* Has the peer a link now? */
bool mbatch_ep_link_up(struct mbatch_ep *ep)
{
	struct mbatch_peer *p = ep->peer;
	unsigned long flags;
	bool up;

	spin_lock_irqsave(&p->lock, flags);
	up = p->link;
	spin_unlock_irqrestore(&p->lock, flags);
	return up;
}

/* The endpoints of one direction, each holding its session. */
struct mbatch_snap {
	unsigned int n;
	struct mbatch_ep **ep;
};

static void mbatch_snap(struct mbatch_peer *p, enum mbatch_ep_dir dir,
			struct mbatch_snap *sn)
{
	struct mbatch_ep *ep;
	unsigned int max;

	spin_lock_irq(&p->lock);
	max = p->nr_eps[dir];
	spin_unlock_irq(&p->lock);
	sn->n = 0;
	/* At most MBATCH_PEER_SESSIONS_MAX pointers: small, never fails. */
	sn->ep = kcalloc(max ?: 1, sizeof(*sn->ep), GFP_KERNEL | __GFP_NOFAIL);
	spin_lock_irq(&p->lock);
	list_for_each_entry(ep, &p->eps[dir], pnode) {
		if (sn->n == max)
			break;
		kref_get(&ep->s->ref);
		sn->ep[sn->n++] = ep;
	}
	spin_unlock_irq(&p->lock);
}

static void mbatch_snap_put(struct mbatch_snap *sn)
{
	unsigned int i;

	for (i = 0; i < sn->n; i++)
		mbatch_ep_put(sn->ep[i]);
	kfree(sn->ep);
}

/* Call @fn for every endpoint of the peer, both directions. */
static void mbatch_peer_for_each(struct mbatch_peer *p,
				 void (*fn)(struct mbatch_ep *ep, void *arg),
				 void *arg)
{
	struct mbatch_snap sn;
	unsigned int i;
	int dir;

	for (dir = 0; dir < MBATCH_EP_DIRS; dir++) {
		mbatch_snap(p, dir, &sn);
		for (i = 0; i < sn.n; i++)
			fn(sn.ep[i], arg);
		mbatch_snap_put(&sn);
	}
}

/* Notes: frames about sessions that have no state here. */

static void mbatch_note_free(struct mbatch_note *n)
{
	mbatch_obj_gone(MBATCH_OBJ_NOTE);
	kfree(n);
}

/*
 * Queue a frame about a session without state here. @l: the link whose
 * frame this answers (an OPEN's refusal), or NULL: on a later link the
 * answer would be taken for the answer to a later OPEN, so it goes only on
 * that link.
 */
void mbatch_peer_note(struct mbatch_peer *p, const struct mbatch_link *l_from,
		      u16 type, u32 isid, int status, u64 arg)
{
	struct mbatch_link *l = NULL;
	struct mbatch_note *n;
	unsigned long flags;

	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return;		/* the peer learns it at re-attach */
	mbatch_obj_new(MBATCH_OBJ_NOTE);
	n->type = type;
	n->isid = isid;
	n->status = status;
	n->arg = arg;
	n->link_gen = l_from ? l_from->gen : 0;
	spin_lock_irqsave(&p->lock, flags);
	if (p->dead) {
		/* nothing */
	} else if (p->nr_notes >= MBATCH_PEER_NOTES_MAX) {
		/* A peer that sends faster than it reads our answers. */
		l = p->link;
		if (l)
			mbatch_link_get(l);
	} else {
		list_add_tail(&n->node, &p->notes);
		p->nr_notes++;
		n = NULL;
		if (p->link)
			mbatch_link_kick(p->link);
	}
	spin_unlock_irqrestore(&p->lock, flags);
	if (n)
		mbatch_note_free(n);
	if (l) {
		mbatch_link_down(l, -ENOBUFS,
				 "too many frames about unknown sessions");
		mbatch_link_put(l);
	}
}

static int mbatch_tx_notes(struct mbatch_peer *p, struct mbatch_link *l)
{
	struct mbatch_wire_open_reply rep;
	struct mbatch_note *n;
	int err = 0;

	while (!err) {
		spin_lock_irq(&p->lock);
		n = list_first_entry_or_null(&p->notes, struct mbatch_note,
					     node);
		if (n) {
			list_del(&n->node);
			p->nr_notes--;
		}
		spin_unlock_irq(&p->lock);
		if (!n)
			return 0;
		if (n->link_gen && n->link_gen != l->gen) {
			mbatch_note_free(n);	/* an OPEN of an older link */
			continue;
		}
		if (n->type == MBATCH_FRAME_OPEN_REPLY) {
			memset(&rep, 0, sizeof(rep));
			rep.status = cpu_to_le16(n->status);
			err = mbatch_link_send(l, n->type, n->isid, n->arg,
					       &rep, sizeof(rep));
		} else {
			/* CLOSE, GONE: the session's cookie (GONE: 0, any) */
			err = mbatch_link_send(l, n->type, n->isid, n->arg,
					       NULL, 0);
		}
		mbatch_note_free(n);
	}
	return err;
}

static void mbatch_peer_free_notes(struct mbatch_peer *p)
{
	struct mbatch_note *n, *tmp;
	LIST_HEAD(notes);

	spin_lock_irq(&p->lock);
	list_splice_init(&p->notes, &notes);
	p->nr_notes = 0;
	spin_unlock_irq(&p->lock);
	list_for_each_entry_safe(n, tmp, &notes, node)
		mbatch_note_free(n);
}

/* The link's owner: frames in, frames out, the link's end. */

static bool mbatch_frame_to_participant(u16 type)
{
	switch (type) {
	case MBATCH_FRAME_OPEN:
	case MBATCH_FRAME_MSGS:
	case MBATCH_FRAME_ACK:
	case MBATCH_FRAME_RESUME:
	case MBATCH_FRAME_CANCEL:
	case MBATCH_FRAME_CLOSE:
	case MBATCH_FRAME_DATA:
		return true;
	default:
		return false;
	}
}

static int mbatch_peer_rx(struct mbatch_link *l, const struct mbatch_frame *f)
{
	struct mbatch_peer *p = l->owner;
	enum mbatch_ep_dir dir;
	struct mbatch_ep *ep;
	bool current_link;
	int ret;

	spin_lock_irq(&p->lock);
	current_link = p->link == l;
	spin_unlock_irq(&p->lock);
	/* Being replaced or deleted: whoever did that downs it. */
	if (!current_link)
		return 0;
	if (!f->session)
		return mbatch_link_proto(l, "session frame without a session");

	dir = mbatch_frame_to_participant(f->type) ? MBATCH_EP_IN :
						     MBATCH_EP_OUT;
	ep = mbatch_ep_find(p, dir, f->session);
	if (ep) {
		ret = ep->ops->rx(ep, l, f);
		mbatch_ep_put(ep);
		/* An OPEN for a new life of that session id. */
		if (ret != -ESTALE)
			return ret;
	}
	if (dir == MBATCH_EP_OUT)
		return 0;	/* closed here meanwhile */
	if (f->type == MBATCH_FRAME_OPEN)
		return p->ops->accept(p, l, f);
	if (f->type != MBATCH_FRAME_CLOSE)
		mbatch_peer_note(p, NULL, MBATCH_FRAME_GONE, f->session, 0, 0);
	return 0;
}

/*
 * The transmit work: notes, then one frame per session in turn, until idle
 * or MBATCH_TX_ROUNDS rounds; then it runs again, so sessions opened
 * meanwhile and keepalives get their turn.
 */
#define MBATCH_TX_ROUNDS	16

static void mbatch_peer_tx(struct mbatch_link *l)
{
	struct mbatch_peer *p = l->owner;
	struct mbatch_snap sn[MBATCH_EP_DIRS];
	unsigned int i, rounds = 0;
	bool progress = true;
	int ret = 0, dir;

	mbatch_snap(p, MBATCH_EP_OUT, &sn[MBATCH_EP_OUT]);
	mbatch_snap(p, MBATCH_EP_IN, &sn[MBATCH_EP_IN]);
	while (progress && ret >= 0 && rounds++ < MBATCH_TX_ROUNDS) {
		progress = false;
		ret = mbatch_tx_notes(p, l);
		for (dir = 0; dir < MBATCH_EP_DIRS; dir++) {
			for (i = 0; i < sn[dir].n && ret >= 0; i++) {
				ret = sn[dir].ep[i]->ops->tx(sn[dir].ep[i], l);
				progress |= ret > 0;
			}
		}
		cond_resched();
	}
	mbatch_snap_put(&sn[MBATCH_EP_IN]);
	mbatch_snap_put(&sn[MBATCH_EP_OUT]);
	if (progress && ret >= 0)
		mbatch_link_kick(l);
}

static void mbatch_ep_call_link_down(struct mbatch_ep *ep, void *arg)
{
	ep->ops->link_down(ep);
}

static void mbatch_peer_fold_link_stats(struct mbatch_peer *p,
					struct mbatch_link *l)
{
	lockdep_assert_held(&p->lock);
	p->stats[MBATCH_PEER_STATS_A_TX_BYTES] +=
		atomic64_xchg(&l->stats.tx_bytes, 0);
	p->stats[MBATCH_PEER_STATS_A_RX_BYTES] +=
		atomic64_xchg(&l->stats.rx_bytes, 0);
	p->stats[MBATCH_PEER_STATS_A_TX_FRAMES] +=
		atomic64_xchg(&l->stats.tx_frames, 0);
	p->stats[MBATCH_PEER_STATS_A_RX_FRAMES] +=
		atomic64_xchg(&l->stats.rx_frames, 0);
}

/* The link went down (its down work, after its work items stopped). */
static void mbatch_peer_link_stopped(struct mbatch_link *l)
{
	struct mbatch_peer *p = l->owner;
	char reason[MBATCH_REASON_MAX];
	bool current_link;
	int err;

	mbatch_link_reason(l, reason, sizeof(reason), &err);
	spin_lock_irq(&p->lock);
	mbatch_peer_fold_link_stats(p, l);
	current_link = p->link == l;
	if (current_link) {
		p->link = NULL;
		p->stats[MBATCH_PEER_STATS_A_DROPS]++;
		strscpy(p->reason, reason, sizeof(p->reason));
		p->down_err = err;
	}
	spin_unlock_irq(&p->lock);
	if (!current_link)
		return;		/* replaced or deleted: not a LINK_DOWN */

	mbatch_peer_for_each(p, mbatch_ep_call_link_down, NULL);
	mbatch_timer_peer_arm_timeout(p);
	mbatch_notify_link(p->mn, p->name, false, reason, err);
	mbatch_link_put(l);	/* the peer's */
}

static void mbatch_peer_link_release(struct mbatch_link *l)
{
	mbatch_peer_put(l->owner);
}

static const struct mbatch_link_ops mbatch_peer_link_ops = {
	.rx = mbatch_peer_rx,
	.tx = mbatch_peer_tx,
	.stopped = mbatch_peer_link_stopped,
	.release = mbatch_peer_link_release,
};

/* Adding, attaching, deleting. */

static void mbatch_peer_attach_work(struct work_struct *work);
static void mbatch_peer_kill_work(struct work_struct *work);

int mbatch_peer_new(struct mbatch_net *mn, const struct mbatch_peer_cfg *cfg,
		    struct netlink_ext_ack *extack)
{
	struct mbatch_peer *p;
	int err = 0;

	if (!mbatch_name_ok(cfg->name)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "peer names use letters, digits, '.', '-' and '_'");
		return -EINVAL;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	mbatch_obj_new(MBATCH_OBJ_PEER);
	kref_init(&p->ref);
	spin_lock_init(&p->lock);
	INIT_LIST_HEAD(&p->eps[MBATCH_EP_OUT]);
	INIT_LIST_HEAD(&p->eps[MBATCH_EP_IN]);
	INIT_LIST_HEAD(&p->notes);
	INIT_WORK(&p->attach_work, mbatch_peer_attach_work);
	INIT_WORK(&p->kill_work, mbatch_peer_kill_work);
	mbatch_timer_peer_init(p);
	p->mn = mn;
	p->ops = cfg->ops;
	strscpy(p->name, cfg->name, sizeof(p->name));
	if (cfg->addr)
		strscpy(p->addr, cfg->addr, sizeof(p->addr));
	if (cfg->psk_file)
		strscpy(p->psk_file, cfg->psk_file, sizeof(p->psk_file));
	p->keepalive_ms = cfg->keepalive_ms ?: MBATCH_KEEPALIVE_MS_DEFAULT;
	p->link_timeout_ms = cfg->link_timeout_ms ?:
			     MBATCH_LINK_TIMEOUT_MS_DEFAULT;
	p->in_bytes = cfg->in_bytes ?: MBATCH_PEER_IN_BYTES_DEFAULT;
	p->in_cmds = cfg->in_cmds ?: MBATCH_PEER_IN_CMDS_DEFAULT;

	mutex_lock(&mn->lock);
	if (mbatch_peer_find_locked(mn, p->name)) {
		NL_SET_ERR_MSG_MOD(extack, "a peer with this name exists");
		err = -EEXIST;
	} else if (mn->nr_peers >= MBATCH_PEERS_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "too many peers");
		err = -ENOBUFS;
	} else {
		list_add_tail(&p->node, &mn->peers);
		mn->nr_peers++;
		mn->peer_genid++;
	}
	mutex_unlock(&mn->lock);
	if (err) {
		mbatch_obj_gone(MBATCH_OBJ_PEER);
		kfree(p);
	}
	return err;
}

static void mbatch_ep_call_link_up(struct mbatch_ep *ep, void *arg)
{
	ep->ops->link_up(ep);
}

/*
 * Start the link attached last: the old one stops completely first (its
 * receive thread is gone before the new one's starts), the sessions get
 * ready to (re-)open on the new one, then it runs.
 */
static void mbatch_peer_attach_work(struct work_struct *work)
{
	struct mbatch_peer *p = container_of(work, struct mbatch_peer,
					     attach_work);
	struct mbatch_link *l, *old;
	bool dead;

	for (;;) {
		spin_lock_irq(&p->lock);
		l = p->pending;
		p->pending = NULL;
		dead = p->dead;
		old = NULL;
		if (l && !dead) {
			old = p->link;
			p->link = NULL;
		}
		spin_unlock_irq(&p->lock);
		if (!l)
			break;
		if (dead) {
			mbatch_link_discard(l);
			continue;
		}
		if (old) {
			mbatch_link_down(old, -ECONNRESET,
					 "replaced by a new link");
			mbatch_link_flush(old);
			mbatch_link_put(old);
		}

		mbatch_peer_for_each(p, mbatch_ep_call_link_up, NULL);

		spin_lock_irq(&p->lock);
		if (p->dead || p->pending) {
			/* Deleted, or a newer socket came meanwhile: it wins. */
			spin_unlock_irq(&p->lock);
			mbatch_link_discard(l);
			continue;
		}
		p->link = l;		/* the attach's reference */
		l->gen = ++p->link_gen;
		p->digest = l->digest;
		p->stats[MBATCH_PEER_STATS_A_LINKS]++;
		if (p->stats[MBATCH_PEER_STATS_A_LINKS] > 1)
			p->stats[MBATCH_PEER_STATS_A_RECONNECTS]++;
		spin_unlock_irq(&p->lock);

		mbatch_notify_link(p->mn, p->name, true, NULL, 0);
		mbatch_link_start(l);
	}
	mbatch_peer_put(p);
}

int mbatch_peer_attach(struct mbatch_net *mn, const char *name, int fd,
		       u32 digest, struct netlink_ext_ack *extack)
{
	struct mbatch_link *l, *old = NULL;
	struct mbatch_peer *p;
	struct socket *sock;
	struct sock *sk;
	int err;

	p = mbatch_peer_find(mn, name);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		return -ENOENT;
	}
	sock = sockfd_lookup(fd, &err);
	if (!sock) {
		NL_SET_ERR_MSG_MOD(extack, "the file descriptor is not a socket");
		goto put_peer;
	}
	sk = sock->sk;
	if (sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG_MOD(extack, "the socket is not a TCP socket");
		err = -EINVAL;
		goto put_sock;
	}
	if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED) {
		NL_SET_ERR_MSG_MOD(extack, "the socket is not connected");
		err = -ENOTCONN;
		goto put_sock;
	}
	l = mbatch_link_create(sock, digest, p->keepalive_ms, p->name,
			       &mbatch_peer_link_ops, p);
	if (IS_ERR(l)) {
		err = PTR_ERR(l);
		if (err == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack, "the socket is already attached");
		goto put_sock;
	}
	kref_get(&p->ref);	/* the link's */

	spin_lock_irq(&p->lock);
	if (p->dead) {
		spin_unlock_irq(&p->lock);
		mbatch_link_discard(l);
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		err = -ENOENT;
		goto put_peer;
	}
	old = p->pending;	/* never started: the newer one wins */
	p->pending = l;
	kref_get(&p->ref);	/* the attach work's */
	if (!queue_work(mbatch_peer_wq, &p->attach_work))
		kref_put(&p->ref, mbatch_peer_release);	/* already queued */
	spin_unlock_irq(&p->lock);
	if (old)
		mbatch_link_discard(old);
	mbatch_peer_put(p);
	return 0;

put_sock:
	sockfd_put(sock);
put_peer:
	mbatch_peer_put(p);
	return err;
}

static void mbatch_ep_call_expire(struct mbatch_ep *ep, void *arg)
{
	unsigned long *a = arg;

	ep->ops->expire(ep, a[0], a[1], &a[2]);
}

/*
 * Deadlines of the peer's sessions (timer.c runs this): what is due goes,
 * the next deadline arms the timer again. @all: the peer is gone.
 */
void mbatch_peer_expire(struct mbatch_peer *p, bool all)
{
	unsigned long a[3] = { jiffies, all, 0 };

	mbatch_peer_for_each(p, mbatch_ep_call_expire, a);
	if (a[2] && !all)
		mbatch_timer_peer_arm(p, a[2]);
}

/* A deleted peer: its links, its timer, its sessions (a work item). */
static void mbatch_peer_kill_work(struct work_struct *work)
{
	struct mbatch_peer *p = container_of(work, struct mbatch_peer,
					     kill_work);
	struct mbatch_link *l, *pending;

	if (cancel_work_sync(&p->attach_work))
		mbatch_peer_put(p);	/* it never ran: its reference */
	spin_lock_irq(&p->lock);
	l = p->link;
	p->link = NULL;
	pending = p->pending;
	p->pending = NULL;
	spin_unlock_irq(&p->lock);
	if (pending)
		mbatch_link_discard(pending);
	if (l) {
		mbatch_link_down(l, -ESHUTDOWN, "peer deleted");
		mbatch_link_flush(l);
		mbatch_link_put(l);
	}
	mbatch_timer_peer_stop(p);
	mbatch_peer_expire(p, true);	/* what raced with the deletion */
	mbatch_peer_free_notes(p);
	mbatch_peer_put(p);	/* the table's */
}

/*
 * Out of the table and dead: its link is cut and its sessions end now (none
 * of that waits); stopping the link and the timers happens in its kill work.
 */
static void mbatch_peer_kill(struct mbatch_peer *p)
{
	struct mbatch_link *l;

	spin_lock_irq(&p->lock);
	p->dead = true;
	l = p->link;
	if (l)
		mbatch_link_get(l);
	spin_unlock_irq(&p->lock);
	if (l) {
		mbatch_link_down(l, -ESHUTDOWN, "peer deleted");
		mbatch_link_put(l);
	}
	mbatch_peer_expire(p, true);
	queue_work(mbatch_peer_wq, &p->kill_work);
}

int mbatch_peer_del(struct mbatch_net *mn, const char *name,
		    struct netlink_ext_ack *extack)
{
	struct mbatch_peer *p;

	mutex_lock(&mn->lock);
	p = mbatch_peer_find_locked(mn, name);
	if (p) {
		list_del(&p->node);
		mn->nr_peers--;
		mn->peer_genid++;
	}
	mutex_unlock(&mn->lock);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		return -ENOENT;
	}
	mbatch_peer_kill(p);
	return 0;
}

/* The namespace is going away: every peer, and wait until they are gone. */
void mbatch_peers_flush(struct mbatch_net *mn)
{
	struct mbatch_peer *p;

	for (;;) {
		mutex_lock(&mn->lock);
		p = list_first_entry_or_null(&mn->peers, struct mbatch_peer,
					     node);
		if (p) {
			list_del(&p->node);
			mn->nr_peers--;
			mn->peer_genid++;
		}
		mutex_unlock(&mn->lock);
		if (!p)
			break;
		mbatch_peer_kill(p);
	}
	flush_workqueue(mbatch_peer_wq);
}

static void mbatch_ep_call_credits(struct mbatch_ep *ep, void *arg)
{
	u64 *c = arg;

	ep->ops->credits(ep, &c[0], &c[1]);
}

/* One peer's state, by name or by position (dumps). */
int mbatch_peer_info(struct mbatch_net *mn, const char *name,
		     unsigned int idx, struct mbatch_peer_info *pi)
{
	struct mbatch_peer *p = NULL, *it;
	u64 credits[2] = {};

	mutex_lock(&mn->lock);
	if (name) {
		p = mbatch_peer_find_locked(mn, name);
	} else {
		list_for_each_entry(it, &mn->peers, node) {
			if (!idx--) {
				p = it;
				break;
			}
		}
	}
	if (!p) {
		mutex_unlock(&mn->lock);
		return -ENOENT;
	}
	memset(pi, 0, sizeof(*pi));
	strscpy(pi->name, p->name, sizeof(pi->name));
	strscpy(pi->addr, p->addr, sizeof(pi->addr));
	strscpy(pi->psk_file, p->psk_file, sizeof(pi->psk_file));
	pi->keepalive_ms = p->keepalive_ms;
	pi->link_timeout_ms = p->link_timeout_ms;
	pi->in_bytes = p->in_bytes;
	pi->in_cmds = p->in_cmds;
	spin_lock_irq(&p->lock);
	pi->state = p->link ? MBATCH_PEER_UP : MBATCH_PEER_DOWN;
	pi->digest = p->digest;
	if (p->link) {
		mbatch_peer_fold_link_stats(p, p->link);
		spin_lock(&p->link->lock);
		pi->rtt_us = p->link->rtt_us;
		spin_unlock(&p->link->lock);
	}
	strscpy(pi->reason, p->reason, sizeof(pi->reason));
	pi->down_err = p->down_err;
	memcpy(pi->stats, p->stats, sizeof(pi->stats));
	pi->stats[MBATCH_PEER_STATS_A_SESSIONS_OUT] = p->nr_eps[MBATCH_EP_OUT];
	pi->stats[MBATCH_PEER_STATS_A_SESSIONS_IN] = p->nr_eps[MBATCH_EP_IN];
	spin_unlock_irq(&p->lock);
	pi->stats[MBATCH_PEER_STATS_A_IN_CMDS] = atomic64_read(&p->in_cmds_used);
	pi->stats[MBATCH_PEER_STATS_A_IN_BYTES] =
		atomic64_read(&p->in_units_used) * MBATCH_WIRE_UNIT;
	mbatch_peer_for_each(p, mbatch_ep_call_credits, credits);
	pi->stats[MBATCH_PEER_STATS_A_TX_CREDITS] = credits[0];
	pi->stats[MBATCH_PEER_STATS_A_RX_CREDITS] = credits[1];
	mutex_unlock(&mn->lock);
	return 0;
}

int mbatch_peer_init(void)
{
	mbatch_peer_wq = alloc_workqueue("mbatch_peer", WQ_UNBOUND, 0);
	return mbatch_peer_wq ? 0 : -ENOMEM;
}

void mbatch_peer_exit(void)
{
	destroy_workqueue(mbatch_peer_wq);
}
