/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: the session core. A session is one initiator's ordered stream
 * into a queue. There are three kinds, told apart only by their ops table:
 *
 *   local        on a queue of this node (local.c)
 *   initiator    this node's session on a peer's queue (initiator.c)
 *   participant  a peer's session on a queue of this node (participant.c)
 *
 * The core (session.c, collect.c) owns what every kind shares: the table of
 * ids, ownership, states and epochs, accepting a batch, halts and resume,
 * results and acknowledgment. Everything kind-specific goes through ops.
 */
#ifndef _MBATCH_SESSION_H
#define _MBATCH_SESSION_H

#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/mbatch.h>

#include "cmd.h"
#include "collect.h"
#include "stats.h"

struct mbatch_net;
struct mbatch_queue;
struct mbatch_session;
struct netlink_ext_ack;

struct mbatch_session_ops {
	const char *kind;
	u16 jkind;			/* MBATCH_JSESSION_*: on a queue */
	/* What messages are checked against; -EAGAIN if not known yet. */
	int (*geometry)(struct mbatch_session *s, struct mbatch_geom *g,
			struct netlink_ext_ack *extack);
	/* Take a command accepted by submit (s->lock held, in order). */
	void (*queue)(struct mbatch_session *s, struct mbatch_command *cmd);
	/* There is work: commands queued, results or credit to send. */
	void (*kick)(struct mbatch_session *s);
	/*
	 * Cancel what has not started of batch @batch, up to sequence @upto
	 * (s->lock held). Returns how many completed now, or -errno.
	 */
	int (*cancel)(struct mbatch_session *s, u64 batch, u64 upto,
		      struct netlink_ext_ack *extack);
	/*
	 * Resume (s->lock held, the session is HALTED); 0 lets the core make
	 * it ACTIVE. @gen is the halt count a peer's RESUME names: a
	 * participant resumes only that halt; the other kinds ignore it.
	 */
	int (*resume)(struct mbatch_session *s, u32 gen,
		      struct netlink_ext_ack *extack);
	/* Does it run on @q (deleting a queue closes its sessions)? */
	bool (*runs_on)(const struct mbatch_session *s,
			const struct mbatch_queue *q);
	/* Names for replies and events; @peer NULL for none. */
	void (*name)(const struct mbatch_session *s, const char **queue,
		     const char **peer);
	/* Out of the table and CLOSING: stop, drop what is queued. */
	void (*kill)(struct mbatch_session *s);
	/* The last reference is gone (any context). */
	void (*free)(struct mbatch_session *s);
};

struct mbatch_session {
	const struct mbatch_session_ops *ops;
	struct kref ref;
	struct mbatch_net *mn;
	u32 id;
	u32 flags;			/* MBATCH_SESSION_F_* */
	u64 handle;			/* its opener's secret */
	u32 max_cmds;
	u64 max_bytes;

	spinlock_t lock;		/* everything below */
	u32 owner_portid;		/* 0: reachable only by handle */
	u32 state;			/* enum mbatch_session_state */
	int halt_err;
	u32 halts;			/* times it halted */
	u64 next_msg_seq;
	u64 next_batch_id;
	u64 epoch;			/* checkpoints submitted */
	u64 done_epoch;			/* checkpoints completed */
	u32 held_cmds;			/* submitted, not yet acknowledged */
	u64 held_bytes;			/* payload memory held */
	u64 pulled_bytes;		/* ... of it pulled WRITE data (asked
					 * for or here), until they end
					 */
	unsigned int inflight;		/* started (local) or sent (remote) */
	struct mbatch_stats stats;
	struct mbatch_results res;	/* collect.c */
};

/* Opening: the kind allocates, the core gives it an id and publishes it. */
void mbatch_session_init(struct mbatch_session *s,
			 const struct mbatch_session_ops *ops,
			 struct mbatch_net *mn, u32 flags, u32 portid);
int mbatch_session_reserve(struct mbatch_session *s,
			   struct netlink_ext_ack *extack);
void mbatch_session_publish(struct mbatch_session *s);
void mbatch_session_unreserve(struct mbatch_session *s);

struct mbatch_session *mbatch_session_get(struct mbatch_net *mn, u32 id);
void mbatch_session_put(struct mbatch_session *s);
int mbatch_session_owner_check(struct mbatch_session *s, u32 portid,
			       const u64 *handle,
			       struct netlink_ext_ack *extack);
void mbatch_sessions_release_portid(struct mbatch_net *mn, u32 portid);

bool mbatch_session_unpublish(struct mbatch_session *s);
void mbatch_session_kill(struct mbatch_session *s);
void mbatch_session_close(struct mbatch_session *s);
int mbatch_session_close_id(struct mbatch_net *mn, u32 id, u32 portid,
			    const u64 *handle, struct netlink_ext_ack *extack);
void mbatch_sessions_close_queue(struct mbatch_net *mn,
				 struct mbatch_queue *q);
void mbatch_queues_flush(struct mbatch_net *mn);
void mbatch_sessions_flush(struct mbatch_net *mn);

/* Driving a session. */
#define MBATCH_SUBMIT_F_CREDITED	BIT(0)	/* a peer's: credit was checked */

int mbatch_session_submit(struct mbatch_session *s, struct mbatch_msg *msgs,
			  unsigned int n, unsigned int sflags, u64 *batch_id,
			  u64 *first_seq, struct netlink_ext_ack *extack);
int mbatch_session_resume(struct mbatch_session *s, u32 gen,
			  struct netlink_ext_ack *extack);
int mbatch_session_cancel(struct mbatch_session *s, u64 batch, u64 upto,
			  unsigned int *n, struct netlink_ext_ack *extack);
int mbatch_session_geometry(struct mbatch_session *s, struct mbatch_geom *g,
			    struct netlink_ext_ack *extack);
void mbatch_session_halt_locked(struct mbatch_session *s, int err,
				struct mbatch_command *cause);
void mbatch_session_end_locked(struct mbatch_session *s,
			       struct mbatch_command *cmd, u8 outcome, int status);
void mbatch_session_names(const struct mbatch_session *s, const char **queue,
			  const char **peer);
void mbatch_session_held(struct mbatch_session *s, struct mbatch_stats *st,
			 struct mbatch_held *h);

static inline void mbatch_session_kick(struct mbatch_session *s)
{
	s->ops->kick(s);
}

#endif /* _MBATCH_SESSION_H */
