/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: peers, the other nodes of a namespace. A peer has at most one link
 * at a time and two lists of session endpoints: ours on its queues
 * (initiators) and its on ours (participants). peer.c attaches and replaces
 * links, routes every frame to its endpoint, runs the transmit loop and the
 * teardown; what a frame means to a session is its endpoint's ops. New
 * sessions from the peer come up through struct mbatch_peer_ops (accept).
 */
#ifndef _MBATCH_PEER_H
#define _MBATCH_PEER_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/mbatch.h>

#include "link.h"

#define MBATCH_PEER_NOTES_MAX	1024	/* frames about unknown sessions */

struct mbatch_ep;
struct mbatch_net;
struct mbatch_peer;
struct mbatch_session;
struct netlink_ext_ack;

enum mbatch_ep_dir {
	MBATCH_EP_OUT,			/* our session on its queue */
	MBATCH_EP_IN,			/* its session on our queue */
	MBATCH_EP_DIRS,
};

struct mbatch_ep_ops {
	/* A frame about this session, from the link's receive thread. */
	int (*rx)(struct mbatch_ep *ep, struct mbatch_link *l,
		  const struct mbatch_frame *f);
	/* Send at most one frame: 1 sent, 0 nothing to send, or -errno. */
	int (*tx)(struct mbatch_ep *ep, struct mbatch_link *l);
	/* A new link is about to start (nothing is sent yet). */
	void (*link_up)(struct mbatch_ep *ep);
	/* The link is gone. */
	void (*link_down)(struct mbatch_ep *ep);
	/*
	 * Deadlines: act on what is due at @now, fold the next deadline into
	 * @next. @all: the peer is being deleted, everything is due.
	 */
	void (*expire)(struct mbatch_ep *ep, unsigned long now, bool all,
		       unsigned long *next);
	/* Add its credit (messages) to @tx and @rx. */
	void (*credits)(struct mbatch_ep *ep, u64 *tx, u64 *rx);
};

/* A session's place on a peer. */
struct mbatch_ep {
	const struct mbatch_ep_ops *ops;
	struct mbatch_session *s;
	struct mbatch_peer *peer;	/* holds a reference */
	struct list_head pnode;		/* peer->eps[dir], under peer->lock */
	enum mbatch_ep_dir dir;
	u32 isid;			/* the initiator's session id */
	u64 cookie;			/* the initiator's, per session */
};

struct mbatch_peer_ops {
	/* OPEN for a session the peer does not have here yet. */
	int (*accept)(struct mbatch_peer *p, struct mbatch_link *l,
		      const struct mbatch_frame *f);
};

struct mbatch_peer {
	struct kref ref;
	struct mbatch_net *mn;
	const struct mbatch_peer_ops *ops;
	struct list_head node;		/* mn->peers, under mn->lock */
	char name[MBATCH_PEER_NAME_MAX];
	char addr[MBATCH_PEER_ADDR_MAX];
	char psk_file[MBATCH_DEV_PATH_MAX];
	u32 keepalive_ms;
	u32 link_timeout_ms;
	u64 in_bytes;			/* budget of its sessions here */
	u32 in_cmds;
	atomic64_t in_units_used;	/* ... in use: credit units */
	atomic64_t in_cmds_used;
	struct work_struct attach_work;
	struct work_struct kill_work;
	struct delayed_work expire_work;	/* timer.c */

	spinlock_t lock;		/* everything below */
	struct mbatch_link *link;	/* the running link, or NULL */
	struct mbatch_link *pending;	/* attached, not started yet */
	u64 link_gen;			/* links started */
	bool dead;			/* deleted */
	struct list_head eps[MBATCH_EP_DIRS];
	unsigned int nr_eps[MBATCH_EP_DIRS];
	struct list_head notes;		/* struct mbatch_note to send */
	unsigned int nr_notes;
	u32 digest;
	char reason[MBATCH_REASON_MAX];
	int down_err;
	u64 stats[MBATCH_PEER_STATS_A_MAX + 1];
};

/* A frame about a session that has no state here (a refusal, GONE, CLOSE). */
struct mbatch_note {
	struct list_head node;
	u32 isid;
	u16 type;
	u16 status;			/* OPEN_REPLY: enum mbatch_wire_status */
	u64 arg;
	u64 link_gen;			/* only on that link, or 0: any */
};

struct mbatch_peer_cfg {
	const char *name;
	const char *addr;
	const char *psk_file;
	u32 keepalive_ms;
	u32 link_timeout_ms;
	u64 in_bytes;
	u32 in_cmds;
	const struct mbatch_peer_ops *ops;
};

/* A peer as user space sees it. */
struct mbatch_peer_info {
	char name[MBATCH_PEER_NAME_MAX];
	char addr[MBATCH_PEER_ADDR_MAX];
	char psk_file[MBATCH_DEV_PATH_MAX];
	char reason[MBATCH_REASON_MAX];
	int down_err;
	u32 state;
	u32 digest;
	u32 keepalive_ms;
	u32 link_timeout_ms;
	u32 rtt_us;
	u64 in_bytes;
	u32 in_cmds;
	u64 stats[MBATCH_PEER_STATS_A_MAX + 1];
};

int mbatch_peer_new(struct mbatch_net *mn, const struct mbatch_peer_cfg *cfg,
		    struct netlink_ext_ack *extack);
int mbatch_peer_del(struct mbatch_net *mn, const char *name,
		    struct netlink_ext_ack *extack);
int mbatch_peer_attach(struct mbatch_net *mn, const char *name, int fd,
		       u32 digest, struct netlink_ext_ack *extack);
int mbatch_peer_info(struct mbatch_net *mn, const char *name,
		     unsigned int idx, struct mbatch_peer_info *pi);
void mbatch_peers_flush(struct mbatch_net *mn);
struct mbatch_peer *mbatch_peer_find(struct mbatch_net *mn, const char *name);
struct mbatch_peer *mbatch_peer_find_locked(struct mbatch_net *mn,
					    const char *name);
void mbatch_peer_put(struct mbatch_peer *p);
void mbatch_peer_count(struct mbatch_peer *p, unsigned int stat, u64 n);
void mbatch_peer_expire(struct mbatch_peer *p, bool all);
int mbatch_peer_init(void);
void mbatch_peer_exit(void);

/* Endpoints. */
int mbatch_ep_add(struct mbatch_ep *ep, struct mbatch_peer *p,
		  enum mbatch_ep_dir dir, const struct mbatch_ep_ops *ops,
		  struct mbatch_session *s);
void mbatch_ep_del(struct mbatch_ep *ep);
struct mbatch_ep *mbatch_ep_find(struct mbatch_peer *p,
				 enum mbatch_ep_dir dir, u32 isid);
void mbatch_ep_put(struct mbatch_ep *ep);
void mbatch_ep_kick(struct mbatch_ep *ep);
bool mbatch_ep_link_up(struct mbatch_ep *ep);
void mbatch_peer_note(struct mbatch_peer *p, const struct mbatch_link *l,
		      u16 type, u32 isid, int status, u64 arg);

#endif /* _MBATCH_PEER_H */
