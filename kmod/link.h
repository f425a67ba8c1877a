/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: links, the transport between nodes. One link is one
 * authenticated TCP socket, handed over by user space. The link checks and
 * moves frames; what they mean is its owner's business (peer.c), reached
 * only through struct mbatch_link_ops.
 */
#ifndef _MBATCH_LINK_H
#define _MBATCH_LINK_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/mbatch.h>
#include <linux/mbatch_wire.h>

#define MBATCH_REASON_MAX	64
/* A frame built in txbuf: MSGS frames stop at MBATCH_LINK_BATCH bytes. */
#define MBATCH_LINK_TXBUF	MBATCH_WIRE_MAX_PAYLOAD
#define MBATCH_LINK_BATCH	(256U << 10)

struct mbatch_link;
struct socket;
struct task_struct;

/*
 * The payload of a frame that carries bulk data (RESULTS, DATA), read by
 * the owner as it parses it: headers into its own memory, data straight
 * into the pages it goes to. With a data digest the link has read and
 * verified the whole payload first (@buf), so nothing unverified is ever
 * used; without one it is still in the socket and lands in the pages
 * without a copy. What the owner leaves unread the link discards.
 */
struct mbatch_rx {
	struct mbatch_link *l;
	const void *buf;		/* the verified payload, or NULL */
	u32 off;			/* bytes read */
	u32 len;			/* bytes in the payload */
};

/*
 * One received frame, checked: header fields and a payload of @len bytes,
 * at @data, or for a bulk frame to be read through @rx (@data NULL).
 */
struct mbatch_frame {
	u16 type;
	u32 session;
	u64 arg;
	void *data;
	u32 len;
	struct mbatch_rx *rx;
};

struct mbatch_link_ops {
	/* A frame other than PING/PONG, from the receive thread. 0 or -errno. */
	int (*rx)(struct mbatch_link *l, const struct mbatch_frame *f);
	/* Send what the owner has, from the transmit work. */
	void (*tx)(struct mbatch_link *l);
	/* The link went down and everything of it has stopped. */
	void (*stopped)(struct mbatch_link *l);
	/* The last reference is gone. */
	void (*release)(struct mbatch_link *l);
};

struct mbatch_link_stats {
	atomic64_t tx_bytes;
	atomic64_t rx_bytes;
	atomic64_t tx_frames;
	atomic64_t rx_frames;
};

struct mbatch_link {
	struct kref ref;
	const struct mbatch_link_ops *ops;
	void *owner;			/* the peer */
	const char *name;		/* the peer's, for the log */
	struct socket *sock;		/* holds its file */
	u32 digest;			/* MBATCH_DIGEST_* */
	u32 keepalive_ms;
	u64 gen;			/* the owner's number for it */
	struct task_struct *rx_task;
	struct work_struct tx_work;
	struct delayed_work ka_work;	/* timer.c */
	struct work_struct down_work;
	struct completion started;	/* the owner started it */
	struct completion stopped;	/* down_work has run */
	atomic_t down;			/* set once, by mbatch_link_down() */
	unsigned long last_rx;		/* jiffies */
	unsigned long tx_since;		/* jiffies a send began, or 0 */
	u64 tx_seq;			/* tx_work only */
	u64 rx_seq;			/* rx thread only */
	void *txbuf;			/* tx_work only */
	void *rxbuf;			/* rx thread only */
	struct mbatch_link_stats stats;

	spinlock_t lock;		/* below */
	bool ping;
	bool pong;
	u64 pong_arg;
	u32 rtt_us;
	char reason[MBATCH_REASON_MAX];
	int err;
};

struct mbatch_link *mbatch_link_create(struct socket *sock, u32 digest,
				       u32 keepalive_ms, const char *name,
				       const struct mbatch_link_ops *ops,
				       void *owner);
void mbatch_link_start(struct mbatch_link *l);
void mbatch_link_discard(struct mbatch_link *l);
void mbatch_link_down(struct mbatch_link *l, int err, const char *reason);
int mbatch_link_proto(struct mbatch_link *l, const char *reason);
void mbatch_link_get(struct mbatch_link *l);
void mbatch_link_put(struct mbatch_link *l);
void mbatch_link_flush(struct mbatch_link *l);
void mbatch_link_kick(struct mbatch_link *l);
void mbatch_link_ping(struct mbatch_link *l);
int mbatch_link_send(struct mbatch_link *l, u16 type, u32 session, u64 arg,
		     const void *payload, u32 len);
int mbatch_link_send_pages(struct mbatch_link *l, u16 type, u32 session,
			   u64 arg, struct page **pages, u32 off, u32 len);
int mbatch_rx_read(struct mbatch_rx *rx, void *to, u32 len);
int mbatch_rx_read_pages(struct mbatch_rx *rx, struct page **pages, u32 off,
			 u32 len);
int mbatch_rx_skip(struct mbatch_rx *rx, u32 len);
void mbatch_link_reason(struct mbatch_link *l, char *reason, size_t len,
			int *err);
int mbatch_link_init(void);
void mbatch_link_exit(void);

#endif /* _MBATCH_LINK_H */
