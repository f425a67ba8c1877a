/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: every timer and expiry of links, peers and sessions, in one place
 * (timer.c):
 *
 *   link keepalive     each link: PING every keepalive-ms; the link is
 *                      dropped when nothing arrived for MBATCH_DEAD_KEEPALIVES
 *                      intervals, or when one send has been stuck that long
 *   peer expiry        each peer: its sessions' deadlines while it has no
 *                      link (initiators give up after link-timeout-ms) and
 *                      its sessions here that their initiator did not take
 *                      back in time (participants)
 *   collect waiter     each session: the timeout of a waiting collect
 */
#ifndef _MBATCH_TIMER_H
#define _MBATCH_TIMER_H

#include <linux/types.h>

struct mbatch_link;
struct mbatch_peer;
struct mbatch_session;

void mbatch_timer_link_init(struct mbatch_link *l);
void mbatch_timer_link_start(struct mbatch_link *l);
void mbatch_timer_link_stop(struct mbatch_link *l);

void mbatch_timer_peer_init(struct mbatch_peer *p);
void mbatch_timer_peer_arm(struct mbatch_peer *p, unsigned long deadline);
void mbatch_timer_peer_arm_timeout(struct mbatch_peer *p);
void mbatch_timer_peer_stop(struct mbatch_peer *p);
bool mbatch_timer_due(unsigned long since, unsigned long timeout,
		      unsigned long now, unsigned long *next);

void mbatch_timer_waiter_init(struct mbatch_session *s);
void mbatch_timer_waiter_arm(struct mbatch_session *s, u32 ms);
void mbatch_timer_waiter_stop(struct mbatch_session *s);

#endif /* _MBATCH_TIMER_H */
