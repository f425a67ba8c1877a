// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: the other nodes of a namespace, by name. A peer has at most one
 * link at a time; user space attaches an authenticated socket and the new
 * link replaces the old one. While a peer has no link its sessions wait for
 * one, up to the peer's link timeout.
 */
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>

#include "peer.h"

static void mbatch_peer_release(struct kref *ref)
{
	struct mbatch_peer *p = container_of(ref, struct mbatch_peer, ref);

	WARN_ON_ONCE(p->link || !list_empty(&p->out) || !list_empty(&p->in) ||
		     !list_empty(&p->closes));
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

struct mbatch_link *mbatch_peer_link_get(struct mbatch_peer *p)
{
	struct mbatch_link *l;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	l = p->link;
	if (l)
		kref_get(&l->ref);
	spin_unlock_irqrestore(&p->lock, flags);
	return l;
}

static struct mbatch_peer *mbatch_peer_find_locked(struct mbatch_net *mn,
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

/* Arm the link timeout; never on a deleted peer. */
void mbatch_peer_arm_expire(struct mbatch_peer *p, unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	/* Never later than a deadline already pending. */
	if (!p->dead)
		queue_delayed_work(system_wq, &p->expire_work, delay);
	spin_unlock_irqrestore(&p->lock, flags);
}

static void mbatch_peer_expire_work(struct work_struct *work)
{
	struct mbatch_peer *p = container_of(to_delayed_work(work),
					     struct mbatch_peer, expire_work);

	mbatch_remote_expire(p, false);
}

/* Node names: letters, digits, '.', '-' and '_'. */
static bool mbatch_peer_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && !strchr(".-_", *name))
			return false;
	return true;
}

int mbatch_peer_new(struct mbatch_net *mn, const struct mbatch_peer_cfg *cfg,
		    struct netlink_ext_ack *extack)
{
	struct mbatch_peer *p;
	int err = 0;

	if (!mbatch_peer_name_ok(cfg->name)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "peer names use letters, digits, '.', '-' and '_'");
		return -EINVAL;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	kref_init(&p->ref);
	spin_lock_init(&p->lock);
	INIT_LIST_HEAD(&p->out);
	INIT_LIST_HEAD(&p->in);
	INIT_LIST_HEAD(&p->closes);
	INIT_DELAYED_WORK(&p->expire_work, mbatch_peer_expire_work);
	p->mn = mn;
	strscpy(p->name, cfg->name, sizeof(p->name));
	if (cfg->addr)
		strscpy(p->addr, cfg->addr, sizeof(p->addr));
	if (cfg->psk_file)
		strscpy(p->psk_file, cfg->psk_file, sizeof(p->psk_file));
	p->keepalive_ms = cfg->keepalive_ms ?: MBATCH_KEEPALIVE_MS_DEFAULT;
	p->link_timeout_ms = cfg->link_timeout_ms ?:
			     MBATCH_LINK_TIMEOUT_MS_DEFAULT;

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
	if (err)
		kfree(p);
	return err;
}

/* Stop a peer that is out of the table: its link, then its sessions. */
static void mbatch_peer_kill(struct mbatch_peer *p)
{
	struct mbatch_note *n, *tmp;
	struct mbatch_link *l;
	unsigned long flags;
	LIST_HEAD(notes);

	spin_lock_irqsave(&p->lock, flags);
	p->dead = true;
	l = p->link;
	p->link = NULL;
	spin_unlock_irqrestore(&p->lock, flags);
	if (l) {
		mbatch_link_down(l, -ESHUTDOWN, "peer deleted");
		mbatch_link_flush(l);
		mbatch_link_put(l);
	}
	cancel_delayed_work_sync(&p->expire_work);
	mbatch_remote_expire(p, true);
	/* Frames nobody will send now. */
	spin_lock_irqsave(&p->lock, flags);
	list_splice_init(&p->closes, &notes);
	p->nr_notes = 0;
	spin_unlock_irqrestore(&p->lock, flags);
	list_for_each_entry_safe(n, tmp, &notes, node)
		kfree(n);
	mbatch_peer_put(p);
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
			return;
		mbatch_peer_kill(p);
	}
}

int mbatch_peer_attach(struct mbatch_net *mn, const char *name, int fd,
		       u32 digest, struct netlink_ext_ack *extack)
{
	struct mbatch_link *l, *old;
	struct mbatch_peer *p;
	struct socket *sock;
	unsigned long flags;
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
	l = mbatch_link_create(p, sock, digest);
	if (IS_ERR(l)) {
		err = PTR_ERR(l);
		if (err == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack, "the socket is already attached");
		goto put_sock;
	}

	spin_lock_irqsave(&p->lock, flags);
	if (p->dead) {
		spin_unlock_irqrestore(&p->lock, flags);
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		err = -ENOENT;
		goto discard;
	}
	old = p->link;
	p->link = NULL;
	spin_unlock_irqrestore(&p->lock, flags);

	/* The old link stops completely before the new one starts. */
	if (old) {
		mbatch_link_down(old, -ECONNRESET, "replaced by a new link");
		mbatch_link_flush(old);
		mbatch_link_put(old);
	}

	/* Sessions (re-)open on the new link, before it can send. */
	mbatch_remote_link_up(p);

	spin_lock_irqsave(&p->lock, flags);
	if (p->dead || p->link) {
		/* Deleted, or another attach won meanwhile. */
		spin_unlock_irqrestore(&p->lock, flags);
		NL_SET_ERR_MSG_MOD(extack, "the peer changed during attach");
		err = -EBUSY;
		goto discard;
	}
	p->link = l;
	kref_get(&l->ref);
	p->digest = digest;
	p->stats[MBATCH_PEER_STATS_A_LINKS]++;
	if (p->stats[MBATCH_PEER_STATS_A_LINKS] > 1)
		p->stats[MBATCH_PEER_STATS_A_RECONNECTS]++;
	spin_unlock_irqrestore(&p->lock, flags);

	mbatch_notify_link(mn, p->name, true, NULL, 0);
	mbatch_link_start(l);
	mbatch_link_put(l);
	mbatch_peer_put(p);
	return 0;

discard:
	/* Never started: its release drops the socket. */
	mbatch_link_discard(l);
	goto put_peer;
put_sock:
	sockfd_put(sock);
put_peer:
	mbatch_peer_put(p);
	return err;
}

/* The link went down (down_work, after its work items stopped). */
void mbatch_peer_link_lost(struct mbatch_peer *p, struct mbatch_link *l)
{
	char reason[MBATCH_REASON_MAX];
	bool current_link;
	unsigned long flags;
	int err;

	spin_lock_irqsave(&p->lock, flags);
	current_link = p->link == l;
	if (current_link) {
		p->link = NULL;
		p->stats[MBATCH_PEER_STATS_A_DROPS]++;
		strscpy(p->reason, l->reason, sizeof(p->reason));
		p->down_err = l->err;
	}
	strscpy(reason, l->reason, sizeof(reason));
	err = l->err;
	spin_unlock_irqrestore(&p->lock, flags);
	if (!current_link)
		return;

	mbatch_remote_link_down(p);
	mbatch_peer_arm_expire(p, msecs_to_jiffies(p->link_timeout_ms) + 1);
	mbatch_notify_link(p->mn, p->name, false, reason, err);
	mbatch_link_put(l);	/* the peer's */
}

/* One peer's state, by name or by position (dumps). */
int mbatch_peer_info(struct mbatch_net *mn, const char *name,
		     unsigned int idx, struct mbatch_peer_info *pi)
{
	struct mbatch_peer *p = NULL, *it;
	unsigned long flags;

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
	spin_lock_irqsave(&p->lock, flags);
	pi->state = p->link ? MBATCH_PEER_UP : MBATCH_PEER_DOWN;
	pi->digest = p->digest;
	pi->rtt_us = p->rtt_us;
	strscpy(pi->reason, p->reason, sizeof(pi->reason));
	pi->down_err = p->down_err;
	memcpy(pi->stats, p->stats, sizeof(pi->stats));
	pi->stats[MBATCH_PEER_STATS_A_SESSIONS_OUT] = p->nr_out;
	pi->stats[MBATCH_PEER_STATS_A_SESSIONS_IN] = p->nr_in;
	spin_unlock_irqrestore(&p->lock, flags);
	mbatch_remote_credits(p, &pi->stats[MBATCH_PEER_STATS_A_TX_CREDITS],
			      &pi->stats[MBATCH_PEER_STATS_A_RX_CREDITS]);
	mutex_unlock(&mn->lock);
	return 0;
}
