/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: peers, links and remote sessions (peer.c, link.c, remote.c).
 */
#ifndef _MBATCH_PEER_H
#define _MBATCH_PEER_H

#include <linux/completion.h>
#include <linux/net.h>
#include <linux/workqueue.h>

#include "internal.h"
#include "wire.h"

#define MBATCH_REASON_MAX	64
#define MBATCH_PEER_NOTES_MAX	1024	/* frames about unknown sessions */
#define MBATCH_PEER_SESSIONS_IN_MAX 256	/* a peer's sessions on our queues */

/* One authenticated TCP connection to a peer. */
struct mbatch_link {
	struct kref ref;
	struct mbatch_peer *peer;	/* holds a reference */
	struct socket *sock;		/* holds its file */
	u32 digest;
	struct task_struct *rx_task;
	struct work_struct tx_work;
	struct delayed_work ka_work;
	struct work_struct down_work;
	struct completion started;	/* attach started it */
	struct completion stopped;	/* down_work has run */
	atomic_t down;			/* set once, by mbatch_link_down() */
	unsigned long last_rx;		/* jiffies */
	unsigned long tx_since;		/* jiffies a send began, or 0 */
	u64 tx_seq;			/* tx_work only */
	u64 rx_seq;			/* rx thread only */
	void *txbuf;			/* tx_work only */
	void *rxbuf;			/* rx thread only */
	/* Under peer->lock. */
	bool ping;
	bool pong;
	u64 pong_arg;
	char reason[MBATCH_REASON_MAX];
	int err;
};

struct mbatch_peer {
	struct kref ref;
	struct mbatch_net *mn;
	struct list_head node;		/* mn->peers, under mn->lock */
	char name[MBATCH_PEER_NAME_MAX];
	char addr[MBATCH_PEER_ADDR_MAX];
	char psk_file[MBATCH_DEV_PATH_MAX];
	u32 keepalive_ms;
	u32 link_timeout_ms;
	struct delayed_work expire_work;	/* link timeout */

	spinlock_t lock;		/* everything below */
	struct mbatch_link *link;	/* the attached link, or NULL */
	bool dead;			/* deleted */
	struct list_head out;		/* our remote sessions (rmt->pnode) */
	struct list_head in;		/* its sessions on our queues */
	struct list_head closes;	/* struct mbatch_note to send */
	unsigned int nr_out;
	unsigned int nr_in;
	unsigned int nr_notes;
	u32 digest;
	u32 rtt_us;
	char reason[MBATCH_REASON_MAX];
	int down_err;
	u64 stats[MBATCH_PEER_STATS_A_MAX + 1];
};

enum mbatch_rstate {
	MBATCH_R_OPEN_PENDING,		/* OPEN to send */
	MBATCH_R_OPEN_SENT,		/* waiting for OPEN_REPLY */
	MBATCH_R_OPEN,			/* the participant has it */
	MBATCH_R_DONE,			/* failed or closed for good */
};

/* A session's side of a remote session; its fields are under s->lock. */
struct mbatch_remote {
	struct mbatch_session *s;
	struct mbatch_peer *peer;	/* holds a reference */
	struct list_head pnode;		/* peer->out or peer->in */
	bool participant;
	u32 isid;			/* the initiator's session id */
	u64 cookie;
	char qname[MBATCH_QUEUE_NAME_MAX];

	/* Initiator. */
	enum mbatch_rstate rstate;
	bool opened;			/* had an OPEN_REPLY: re-attach next */
	struct mbatch_geom geom;
	struct list_head unsent;	/* not yet sent, in sequence order */
	struct rb_root sent;		/* sent, no result yet, by sequence */
	unsigned int nr_sent;
	u64 tx_msgs;			/* credit accounting */
	u64 tx_bytes;
	u64 credit_msgs;
	u64 credit_bytes;
	u64 rx_rseq;			/* participant results received */
	u64 acked_rseq;			/* ... and acknowledged to it */
	bool resume_pending;
	unsigned int nr_cancels;
	u64 cancels[8];			/* CANCEL frames to send */
	unsigned long lost_at;		/* jiffies the link was lost */
	u64 resent;			/* for the peer's counters */
	u64 dups;

	/* Participant. */
	u64 last_seq;			/* highest message sequence received */
	u64 rx_msgs;
	u64 rx_bytes;
	u64 granted_msgs;		/* credit last sent */
	u64 granted_bytes;
	u64 tx_rseq;			/* results sent */
	bool reply_pending;
	int reply_status;
	unsigned long orphan_since;	/* jiffies its link was lost, or 0 */
};

/* A frame about a session that has no state here (CLOSE, GONE, a refusal). */
struct mbatch_note {
	struct list_head node;
	u32 isid;
	u16 type;
	int err;
	u64 arg;
};

/* peer.c */
void mbatch_peer_put(struct mbatch_peer *p);
void mbatch_peer_link_lost(struct mbatch_peer *p, struct mbatch_link *l);
void mbatch_peer_count(struct mbatch_peer *p, unsigned int stat, u64 n);
void mbatch_peer_arm_expire(struct mbatch_peer *p, unsigned long delay);
struct mbatch_link *mbatch_peer_link_get(struct mbatch_peer *p);
struct mbatch_peer *mbatch_peer_find(struct mbatch_net *mn, const char *name);

/* link.c */
struct mbatch_link *mbatch_link_create(struct mbatch_peer *p,
				       struct socket *sock, u32 digest);
void mbatch_link_start(struct mbatch_link *l);
void mbatch_link_discard(struct mbatch_link *l);
void mbatch_link_down(struct mbatch_link *l, int err, const char *reason);
void mbatch_link_put(struct mbatch_link *l);
void mbatch_link_flush(struct mbatch_link *l);
void mbatch_link_kick(struct mbatch_link *l);
int mbatch_link_send(struct mbatch_link *l, u16 type, u32 session, u64 arg,
		     const void *payload, u32 len);
int mbatch_link_init(void);
void mbatch_link_exit(void);

/* remote.c */
int mbatch_remote_rx(struct mbatch_link *l, const struct mbatch_wire_hdr *h,
		     void *payload, u32 len);
int mbatch_remote_tx(struct mbatch_link *l);
void mbatch_remote_link_up(struct mbatch_peer *p);
void mbatch_remote_link_down(struct mbatch_peer *p);
void mbatch_remote_expire(struct mbatch_peer *p, bool all);
void mbatch_remote_credits(struct mbatch_peer *p, u64 *tx, u64 *rx);

#endif /* _MBATCH_PEER_H */
