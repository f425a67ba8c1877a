/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: internal objects shared by the module's files.
 *
 * Lifetime and locking (outermost first):
 *   mbatch_net.lock (mutex)   - the namespace's queue, session, peer tables
 *   mbatch_peer.lock (spin)   - a peer's link and its lists of sessions
 *   mbatch_queue.lock (spin)  - the queue's run list of sessions
 *   mbatch_session.lock (spin) - everything a session queues and completes
 * The spinlocks are taken from bio completion, so with interrupts disabled;
 * a peer's and a session's lock are never held together.
 * Queues, sessions, peers and links are reference counted (kref); a session
 * holds its queue or its peer, every bio in flight holds its session, a link
 * holds its peer.
 */
#ifndef _MBATCH_INTERNAL_H
#define _MBATCH_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/mbatch.h>

#include "compat.h"

#define MBATCH_MODULE_VERSION	"0.1.0"
#define MBATCH_MAX_MERGE_BYTES	(256U << 10)
#define MBATCH_RQ_PAGES		DIV_ROUND_UP(MBATCH_MAX_IO_LEN, PAGE_SIZE)

struct mbatch_stats {
	u64 submitted;
	u64 completed;
	u64 failed;
	u64 cancelled;
	u64 reordered;
	u64 merged;
	u64 checkpoints;
	u64 flushes;
	u64 bytes_read;
	u64 bytes_written;
	u64 rejected;
};

/* Per network namespace state. */
struct mbatch_net {
	struct net *net;
	struct mutex lock;		/* queues, sessions, genid */
	struct xarray queues;		/* internal id -> queue */
	struct xarray sessions;		/* session id -> session */
	struct list_head peers;
	unsigned int nr_peers;
	unsigned int peer_genid;
	u32 next_qid;
	u32 next_sid;
	unsigned int genid;		/* bumped on every add/remove */
};

struct mbatch_queue {
	struct kref ref;
	struct mbatch_net *mn;
	u32 qid;
	char name[MBATCH_QUEUE_NAME_MAX];
	char path[MBATCH_DEV_PATH_MAX];
	struct mbatch_bdev bdev;
	u32 depth;
	u32 max_cmds;
	u64 max_bytes;
	u32 lbs;			/* logical block size */
	u32 max_merge;			/* bytes per merged bio */

	struct workqueue_struct *wq;
	struct work_struct dispatch_work;
	struct work_struct release_work;

	spinlock_t lock;		/* runq, sessions, stats, dead */
	struct list_head runq;		/* sessions with work to do */
	struct list_head sessions;
	unsigned int nr_sessions;
	atomic_t inflight;		/* commands at the device */
	bool dead;
	struct mbatch_stats stats;	/* closed sessions and totals */
};

struct mbatch_rq;
struct mbatch_remote;

/* What a message is checked against: a queue, or a remote one. */
struct mbatch_geom {
	u64 capacity;
	u32 lbs;
	bool discard;
};

struct mbatch_session {
	struct kref ref;
	u32 id;
	u32 flags;
	u32 owner_portid;
	struct mbatch_net *mn;
	struct mbatch_queue *q;		/* local queue, or NULL */
	struct mbatch_remote *rmt;	/* a remote session's state, or NULL */
	u32 max_cmds;
	u64 max_bytes;
	struct list_head qnode;		/* q->sessions, under q->lock */
	struct list_head runq_node;	/* q->runq, under q->lock */
	struct list_head kill_node;	/* a dying queue's list */
	bool on_runq;

	spinlock_t lock;		/* all fields below */
	u32 state;			/* enum mbatch_session_state */
	int halt_err;
	u64 next_msg_seq;
	u64 next_batch_id;
	u64 epoch;			/* checkpoints submitted */
	u64 done_epoch;			/* checkpoints completed */
	int epoch_err;			/* first error of the head epoch */

	struct rb_root ready;		/* head epoch, not started, by offset */
	struct list_head ready_order;	/* the same, in submission order */
	unsigned int nr_ready;
	u64 scan_pos;			/* dispatch sweep position */
	struct list_head fifo;		/* later epochs, in submission order */
	unsigned int head_inflight;	/* head epoch commands at the device */
	bool cp_flushing;		/* head checkpoint's flush in flight */
	bool cp_flushed;		/* ... and it has completed */
	int cp_flush_err;

	struct list_head results;	/* completed, in result order */
	u64 next_rseq;
	u64 acked_rseq;
	u64 delivered_rseq;
	unsigned int nr_results;
	u64 collect_seq;
	wait_queue_head_t wait;

	u32 held_cmds;			/* submitted, not yet acknowledged */
	u64 held_bytes;
	struct mbatch_stats stats;
	unsigned int inflight;		/* all epochs */
};

/* One bio's worth of commands; lives in its first command. */
struct mbatch_io {
	struct mbatch_session *s;
	struct list_head cmds;
	unsigned int nr;
	u32 op;
	u64 offset;
	u32 len;
	bool flush_cp;			/* the head checkpoint's flush */
};

struct mbatch_rq {
	struct list_head node;		/* fifo, results, or io list */
	struct rb_node rb;		/* ready tree */
	struct mbatch_session *s;
	u64 tag;
	u64 seq;			/* submission sequence */
	u64 rseq;			/* result sequence */
	u64 batch_id;
	u64 offset;
	u64 epoch;
	u64 start_ns;
	u64 done_ns;
	u32 len;
	u32 bytes;
	u32 op;
	u32 flags;
	u32 rflags;
	int status;
	unsigned int nr_pages;
	struct page *pages[MBATCH_RQ_PAGES];	/* READ and WRITE payload */
	struct mbatch_io io;		/* when it is the first of a bio */
};

/* netns.c */
struct mbatch_net *mbatch_net(struct net *net);
int mbatch_netns_init(void);
void mbatch_netns_exit(void);

/* queue.c */
struct mbatch_queue_cfg {
	const char *name;
	const char *path;
	u32 depth;
	u32 max_cmds;
	u64 max_bytes;
};

int mbatch_queue_new(struct mbatch_net *mn, const struct mbatch_queue_cfg *cfg,
		     struct netlink_ext_ack *extack);
int mbatch_queue_del(struct mbatch_net *mn, const char *name,
		     struct netlink_ext_ack *extack);
struct mbatch_queue *mbatch_queue_find(struct mbatch_net *mn, const char *name);
void mbatch_queue_put(struct mbatch_queue *q);
void mbatch_queues_flush(struct mbatch_net *mn);
u64 mbatch_queue_capacity(const struct mbatch_queue *q);
void mbatch_queue_geom(const struct mbatch_queue *q, struct mbatch_geom *g);
bool mbatch_queue_can_discard(const struct mbatch_queue *q);
void mbatch_queue_stats(struct mbatch_queue *q, struct mbatch_stats *st,
			u64 *inflight, u64 *queued, u64 *queued_bytes);
int mbatch_queue_init(void);
void mbatch_queue_exit(void);

/* session.c */
struct mbatch_msg {
	u64 tag;
	u32 op;
	u32 flags;
	u64 offset;
	u32 len;
	const void *data;
	u64 batch;		/* a peer's batch id */
	u64 seq;		/* 0: the next one; else a peer's (increasing) */
	int status;		/* a peer's message refused here: ends so */
};

struct mbatch_session *mbatch_session_open(struct mbatch_net *mn,
					   const char *qname, u32 flags,
					   u32 portid, struct mbatch_remote *rmt,
					   struct netlink_ext_ack *extack);
struct mbatch_session *mbatch_session_get(struct mbatch_net *mn, u32 id);
void mbatch_session_put(struct mbatch_session *s);
int mbatch_session_close(struct mbatch_net *mn, u32 id);
void mbatch_session_kill(struct mbatch_session *s);
void mbatch_sessions_release_portid(struct mbatch_net *mn, u32 portid);
void mbatch_sessions_flush(struct mbatch_net *mn);
int mbatch_session_submit(struct mbatch_session *s, struct mbatch_msg *msgs,
			  unsigned int n, u64 *batch_id, u64 *first_seq,
			  struct netlink_ext_ack *extack);
int mbatch_session_resume(struct mbatch_session *s,
			  struct netlink_ext_ack *extack);
int mbatch_session_cancel_batch(struct mbatch_session *s, u64 batch,
				unsigned int *n);
int mbatch_session_ack(struct mbatch_session *s, u64 ack, bool delivered);
struct mbatch_session *mbatch_session_alloc(struct mbatch_net *mn, u32 flags,
					    u32 portid);
void mbatch_session_free_unused(struct mbatch_session *s);
const char *mbatch_session_qname(const struct mbatch_session *s);
int mbatch_cmd_cache_init(void);
void mbatch_cmd_cache_exit(void);
void mbatch_cmd_free(struct mbatch_rq *c);
u64 mbatch_rq_charge(const struct mbatch_rq *c);
void mbatch_rq_free_pages(struct mbatch_rq *c);

/* exec.c */
void mbatch_dispatch_work(struct work_struct *work);
void mbatch_session_kick(struct mbatch_session *s);
void mbatch_cmd_complete_locked(struct mbatch_session *s,
				struct mbatch_rq *c, int status);
void mbatch_session_cancel_all_locked(struct mbatch_session *s,
				      struct list_head *freelist, bool results);
void mbatch_session_queue_locked(struct mbatch_session *s,
				 struct mbatch_rq *c);
unsigned int mbatch_session_cancel_batch_locked(struct mbatch_session *s,
						u64 batch);

/* peer.c: peers, their links, the sessions between nodes */
struct mbatch_peer;

struct mbatch_peer_cfg {
	const char *name;
	const char *addr;
	const char *psk_file;
	u32 keepalive_ms;
	u32 link_timeout_ms;
};

struct mbatch_peer_info {
	char name[MBATCH_PEER_NAME_MAX];
	char addr[MBATCH_PEER_ADDR_MAX];
	char psk_file[MBATCH_DEV_PATH_MAX];
	char reason[64];
	int down_err;
	u32 state;
	u32 digest;
	u32 keepalive_ms;
	u32 link_timeout_ms;
	u32 rtt_us;
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
int mbatch_peer_init(void);
void mbatch_peer_exit(void);

/* remote.c: sessions over a link */
struct mbatch_session *mbatch_remote_open(struct mbatch_net *mn,
					  const char *peer, const char *qname,
					  u32 flags, u32 portid,
					  struct netlink_ext_ack *extack);
int mbatch_remote_geom(struct mbatch_session *s, struct mbatch_geom *g,
		       struct netlink_ext_ack *extack);
void mbatch_remote_queue_locked(struct mbatch_session *s, struct mbatch_rq *c);
void mbatch_remote_kick(struct mbatch_session *s);
void mbatch_remote_resume_locked(struct mbatch_session *s);
void mbatch_remote_cancel_locked(struct mbatch_session *s, u64 batch,
				 unsigned int *n);
void mbatch_remote_kill(struct mbatch_session *s);
void mbatch_remote_free(struct mbatch_session *s);
void mbatch_remote_free_unused(struct mbatch_remote *r);
void mbatch_remote_resumed(struct mbatch_session *s);
const char *mbatch_remote_peer_name(const struct mbatch_session *s);

/* netlink.c */
int mbatch_genl_init(void);
void mbatch_genl_exit(void);
void mbatch_notify_checkpoint(struct mbatch_session *s,
			      const struct mbatch_rq *cp);
void mbatch_notify_halt(struct mbatch_session *s, int err);
void mbatch_notify_link(struct mbatch_net *mn, const char *peer, bool up,
			const char *reason, int err);

#endif /* _MBATCH_INTERNAL_H */
