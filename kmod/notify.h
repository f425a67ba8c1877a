/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: events. The only way the rest of the module reaches user space
 * on its own; netlink.c implements these. No message is built when nobody
 * listens. Called in process context.
 */
#ifndef _MBATCH_NOTIFY_H
#define _MBATCH_NOTIFY_H

#include <linux/types.h>

struct mbatch_command;
struct mbatch_net;
struct mbatch_session;
struct mbatch_waiter;

/* Multicast on the events group of the session's namespace. */
void mbatch_notify_checkpoint(struct mbatch_session *s,
			      const struct mbatch_command *cp);
void mbatch_notify_halt(struct mbatch_session *s, int err);
void mbatch_notify_link(struct mbatch_net *mn, const char *peer, bool up,
			const char *reason, int err);

/* Unicast to the socket whose collect armed @w. */
void mbatch_notify_collect_ready(struct mbatch_session *s,
				 const struct mbatch_waiter *w, u32 pending,
				 u64 done_epoch);

#endif /* _MBATCH_NOTIFY_H */
