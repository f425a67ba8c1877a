/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: commands. A message arrives (netlink or a link), is checked by the
 * one validator, and becomes a command: it is queued, runs, completes and
 * stays as a result until acknowledged. A command's payload is its own pages
 * (inline data) or a registered region's (a proxy); either way it is seen as
 * an array of pages from an offset in the first (pv, pv_off).
 */
#ifndef _MBATCH_CMD_H
#define _MBATCH_CMD_H

#include <linux/list.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include <linux/mbatch.h>

#define MBATCH_CMD_PAGES	DIV_ROUND_UP(MBATCH_MAX_IO_LEN, PAGE_SIZE)

struct mbatch_exec;
struct mbatch_region;

/* What messages are checked against: a queue's device, or a remote one. */
struct mbatch_geom {
	u64 capacity;
	u32 lbs;			/* logical block size */
	u32 max_io;			/* largest inline READ/WRITE */
	u32 max_proxy_io;		/* largest proxied READ/WRITE */
	u32 proxy_align;		/* region offsets align to it */
	bool discard;
};

/* Which fields of a message were given (netlink attributes). */
#define MBATCH_MSG_HAS_OFFSET	BIT(0)
#define MBATCH_MSG_HAS_LEN	BIT(1)
#define MBATCH_MSG_HAS_DATA	BIT(2)
#define MBATCH_MSG_HAS_REGION	BIT(3)
#define MBATCH_MSG_HAS_ROFF	BIT(4)

/* A message as received, before it is a command. */
struct mbatch_msg {
	u64 tag;
	u32 op;
	u32 flags;
	u64 offset;
	u32 len;
	u32 present;			/* MBATCH_MSG_HAS_* */
	const void *data;
	u32 data_len;
	struct mbatch_region *region;	/* referenced by the parser */
	u64 roff;			/* the payload's offset in it */
	u64 batch;			/* a peer's batch id */
	u64 seq;			/* a peer's sequence; 0: the next one */
	int refused;			/* completes with this, without running */
	bool pull;			/* a peer's WRITE: data comes later */
};

/* Which field a refusal is about, for the extack's bad attribute. */
enum mbatch_msg_field {
	MBATCH_MF_MSG,			/* the message as a whole */
	MBATCH_MF_OP,
	MBATCH_MF_FLAGS,
	MBATCH_MF_OFFSET,
	MBATCH_MF_LEN,
	MBATCH_MF_DATA,
	MBATCH_MF_REGION,
	MBATCH_MF_REGION_OFFSET,
};

struct mbatch_msg_fault {
	const char *text;		/* for the extack or the link's reason */
	int err;
	enum mbatch_msg_field field;
	bool missing;			/* the field is absent */
	bool geometry;			/* well formed, but not for this device */
};

bool mbatch_msg_check(const struct mbatch_msg *m, const struct mbatch_geom *g,
		      struct mbatch_msg_fault *f);
u64 mbatch_msg_charge(const struct mbatch_msg *m);

/* One bio's worth of commands; lives in its first command. */
struct mbatch_io {
	struct mbatch_exec *ex;
	struct list_head cmds;
	unsigned int nr;
	u32 op;
	u64 offset;
	u32 len;
	bool flush_cp;			/* the head checkpoint's flush */
	bool logged;			/* its START is in the journal */
	struct mbatch_io *gnext;	/* its dispatch group (exec.c) */
};

/* Command flags (iflags), private to the module. */
#define MBATCH_CMD_F_CANCEL	BIT(0)	/* a remote cancel covers it */
#define MBATCH_CMD_F_HALTED	BIT(1)	/* sent, then its session halted */
#define MBATCH_CMD_F_PLANT	BIT(2)	/* test build: a planted violation */
#define MBATCH_CMD_F_PULL	BIT(3)	/* a WRITE whose data is still to come */
#define MBATCH_CMD_F_R2T	BIT(4)	/* ... asked for (its data, or by R2T) */
#define MBATCH_CMD_F_PVEC	BIT(5)	/* pv is its own vector of own pages */
#define MBATCH_CMD_F_PULLED	BIT(6)	/* in its session's pulled_bytes */
#define MBATCH_CMD_F_KEPT	BIT(7)	/* sent; a restored participant has it */

struct mbatch_command {
	struct list_head node;		/* where it is queued, or results */
	struct rb_node rb;		/* ready tree, or sent tree */
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
	u32 flags;			/* MBATCH_MSG_F_* */
	u32 rflags;			/* MBATCH_RESULT_F_* */
	u32 halt_gen;			/* it halted its session: the count */
	int status;
	int refused;
	u8 outcome;			/* enum mbatch_outcome, 0 until done */
	u8 iflags;			/* MBATCH_CMD_F_* */
	u16 nr_vecs;			/* pages the payload spans */
	u16 nr_pages;			/* of pages[] (or pv, PVEC), its own */
	u32 pv_off;			/* the payload: from this offset ... */
	struct page **pv;		/* ... in these pages, pages or a region's */
	struct mbatch_region *region;	/* a proxy's, until it completes */
	struct page *pages[MBATCH_CMD_PAGES];	/* inline READ and WRITE payload */
	struct mbatch_io io;		/* when it is the first of a bio */
};

static inline bool mbatch_op_has_range(u32 op)
{
	return op == MBATCH_OP_READ || op == MBATCH_OP_WRITE ||
	       op == MBATCH_OP_DISCARD || op == MBATCH_OP_WRITE_ZEROES;
}

static inline bool mbatch_op_has_payload(u32 op)
{
	return op == MBATCH_OP_READ || op == MBATCH_OP_WRITE;
}

struct mbatch_command *mbatch_cmd_alloc(const struct mbatch_msg *m);
void mbatch_cmd_free(struct mbatch_command *cmd);
void mbatch_cmd_free_list(struct list_head *list);
void mbatch_cmd_free_pages(struct mbatch_command *cmd);
u64 mbatch_cmd_charge(const struct mbatch_command *cmd);
void mbatch_cmd_copy_in(struct mbatch_command *cmd, const void *buf);
struct page **mbatch_pages_alloc(u32 len, const void *data);
void mbatch_pages_free(struct page **pv, u32 len);
void mbatch_cmd_attach_pages(struct mbatch_command *cmd, struct page **pv);
void mbatch_cmd_copy_out(void *buf, const struct mbatch_command *cmd);
void mbatch_msgs_release(struct mbatch_msg *msgs, unsigned int n);
int mbatch_cmd_init(void);
void mbatch_cmd_exit(void);

#endif /* _MBATCH_CMD_H */
