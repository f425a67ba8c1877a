/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: a queue's state journal on disk (journal.c). An area at the end of
 * the queue's device or of a device of its own, found by its superblock or
 * made when there is none. The on-disk format is <linux/mbatch_journal.h>.
 */
#ifndef _MBATCH_JOURNAL_H
#define _MBATCH_JOURNAL_H

#include <linux/blk_types.h>
#include <linux/types.h>
#include <linux/mbatch.h>
#include <linux/mbatch_journal.h>

#include "compat.h"
#include "jlog.h"
#include "jrec.h"
#include "jreplay.h"

struct block_device;

/* What of a queue's request a journal refusal is about. */
enum mbatch_journal_field {
	MBATCH_JF_KIND,
	MBATCH_JF_DEV,
	MBATCH_JF_SIZE,
	MBATCH_JF_DATA,			/* the queue's device */
};

struct mbatch_journal_cfg {
	u32 kind;			/* enum mbatch_journal_kind, 0: none */
	const char *path;		/* MBATCH_JOURNAL_DEVICE */
	u64 size;			/* 0: the journal's, or the default */
};

struct mbatch_journal_fault {
	const char *text;
	enum mbatch_journal_field field;
};

struct mbatch_journal {
	u32 kind;
	char path[MBATCH_DEV_PATH_MAX];	/* MBATCH_JOURNAL_DEVICE */
	struct mbatch_bdev own;		/* MBATCH_JOURNAL_DEVICE */
	struct block_device *bdev;	/* where the area is */
	u64 start;			/* byte offset of the area on bdev */
	u64 size;
	/*
	 * Written by open, then by trimming with the log's mutex and, for
	 * the log's head and the generation, its info_lock held.
	 */
	struct mbatch_journal_sb sb;	/* the copy last written */
	unsigned int next_copy;		/* the slot the next write goes to */
	struct page *sb_page;		/* for those writes */
	struct mbatch_jlog log;
	struct mbatch_jrecs recs;	/* a queue's, once it is published */
	struct mbatch_jreplay replay;	/* the last use's, until restored */
	bool restoring;			/* its sessions not restored yet */
	u32 restored;			/* sessions restored from it */
	u32 unrestored;			/* ... left open, not restored */
};

int mbatch_journal_open(struct mbatch_journal *j,
			const struct mbatch_journal_cfg *cfg,
			struct block_device *data,
			struct mbatch_journal_fault *f);
void mbatch_journal_close(struct mbatch_journal *j);
int mbatch_journal_refuse_data(struct block_device *data,
			       struct mbatch_journal_fault *f);
u64 mbatch_journal_generation(struct mbatch_journal *j);
int mbatch_journal_trim_locked(struct mbatch_journal *j);
int mbatch_journal_rw(struct block_device *bdev, u64 pos, struct page *page,
		      blk_opf_t opf);

#endif /* _MBATCH_JOURNAL_H */
