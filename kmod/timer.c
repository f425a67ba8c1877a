// SPDX-License-Identifier: GPL-2.0
/*
 * Timers and expiry (see timer.h for the list). Each is armed, fired and
 * stopped here; what an expiry does to a session is its kind's business
 * (the expire op of its endpoint, see peer.h).
 */
#include <linux/jiffies.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <linux/mbatch.h>

#include "collect.h"
#include "link.h"
#include "peer.h"
#include "session.h"
#include "timer.h"

/* Links: keepalive. */

static void mbatch_ka_work(struct work_struct *work)
{
	struct mbatch_link *l = container_of(to_delayed_work(work),
					     struct mbatch_link, ka_work);
	unsigned long ka = msecs_to_jiffies(l->keepalive_ms);
	unsigned long since;

	if (atomic_read(&l->down))
		return;
	if (time_after(jiffies, READ_ONCE(l->last_rx) +
		       ka * MBATCH_DEAD_KEEPALIVES)) {
		mbatch_link_down(l, -ETIMEDOUT, "keepalive timeout");
		return;
	}
	since = READ_ONCE(l->tx_since);
	if (since && time_after(jiffies, since + ka * MBATCH_DEAD_KEEPALIVES)) {
		/* The peer talks but does not read. */
		mbatch_link_down(l, -ETIMEDOUT, "send stalled");
		return;
	}
	mbatch_link_ping(l);
	queue_delayed_work(system_unbound_wq, &l->ka_work, ka);
}

void mbatch_timer_link_init(struct mbatch_link *l)
{
	INIT_DELAYED_WORK(&l->ka_work, mbatch_ka_work);
}

void mbatch_timer_link_start(struct mbatch_link *l)
{
	queue_delayed_work(system_unbound_wq, &l->ka_work,
			   msecs_to_jiffies(l->keepalive_ms));
}

void mbatch_timer_link_stop(struct mbatch_link *l)
{
	cancel_delayed_work_sync(&l->ka_work);
}

/* Peers: deadlines of their sessions. */

static void mbatch_expire_work(struct work_struct *work)
{
	struct mbatch_peer *p = container_of(to_delayed_work(work),
					     struct mbatch_peer, expire_work);

	mbatch_peer_expire(p, false);
}

void mbatch_timer_peer_init(struct mbatch_peer *p)
{
	INIT_DELAYED_WORK(&p->expire_work, mbatch_expire_work);
}

/*
 * Run the peer's expiry at @deadline (jiffies), or earlier if it is
 * already due sooner; never for a deleted peer.
 */
void mbatch_timer_peer_arm(struct mbatch_peer *p, unsigned long deadline)
{
	unsigned long now = jiffies, delay, flags;

	delay = time_after(deadline, now) ? deadline - now : 0;
	spin_lock_irqsave(&p->lock, flags);
	if (!p->dead) {
		/* An earlier deadline moves the work up; a later one waits. */
		if (!delayed_work_pending(&p->expire_work) ||
		    time_before(now + delay, p->expire_work.timer.expires))
			mod_delayed_work(system_unbound_wq, &p->expire_work,
					 delay + 1);
	}
	spin_unlock_irqrestore(&p->lock, flags);
}

/* A link timeout from now. */
void mbatch_timer_peer_arm_timeout(struct mbatch_peer *p)
{
	mbatch_timer_peer_arm(p, jiffies + msecs_to_jiffies(p->link_timeout_ms));
}

void mbatch_timer_peer_stop(struct mbatch_peer *p)
{
	cancel_delayed_work_sync(&p->expire_work);
}

/*
 * Has what started at @since (jiffies, 0: nothing) lasted @timeout by
 * @now? If not, fold its deadline into @next (0: none yet).
 */
bool mbatch_timer_due(unsigned long since, unsigned long timeout,
		      unsigned long now, unsigned long *next)
{
	unsigned long at = since + timeout;

	if (!since)
		return false;
	if (time_after_eq(now, at))
		return true;
	if (!*next || time_before(at, *next))
		*next = at;
	return false;
}

/* Sessions: the timeout of a waiting collect. */

static void mbatch_waiter_timer(struct timer_list *t)
{
	struct mbatch_session *s = from_timer(s, t, res.timer);

	mbatch_waiter_expired(s);
}

void mbatch_timer_waiter_init(struct mbatch_session *s)
{
	timer_setup(&s->res.timer, mbatch_waiter_timer, 0);
}

void mbatch_timer_waiter_arm(struct mbatch_session *s, u32 ms)
{
	mod_timer(&s->res.timer, jiffies + msecs_to_jiffies(ms));
}

void mbatch_timer_waiter_stop(struct mbatch_session *s)
{
	timer_delete_sync(&s->res.timer);
}
