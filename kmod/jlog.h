/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: a journal's record log (jlog.c), a ring of blocks in the journal
 * area holding records in sequence number order, each with its CRC32C. The
 * on-disk format is <linux/mbatch_journal.h>.
 */
#ifndef _MBATCH_JLOG_H
#define _MBATCH_JLOG_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct page;
struct mbatch_journal;
struct mbatch_journal_fault;
struct mbatch_journal_rec;

struct mbatch_jlog {
	struct mutex lock;		/* one append at a time */
	spinlock_t info_lock;		/* head to records: written both held */
	u64 nblocks;			/* blocks of the log */
	u64 head;			/* the first live record's block */
	u64 tail;			/* the block the next record goes to */
	u32 tail_off;			/* and its byte offset there */
	u64 tail_seq;			/* the tail block's first record's */
	u64 next_seq;
	u64 records;			/* from head to tail */
	bool failed;			/* an append failed: no more; lock */
	int err;			/* of this append; lock */
	u32 staged;			/* records not yet written; lock */
	u32 staged_off;			/* ... from this offset of the tail */
	u64 writes;			/* block writes of appends */
	struct page *tail_page;		/* the tail block as on disk; lock */
};

int mbatch_jlog_scan(struct mbatch_journal *j, bool made,
		     struct mbatch_journal_fault *f);
int mbatch_jlog_begin(struct mbatch_journal *j);
int mbatch_jlog_add(struct mbatch_journal *j, struct mbatch_journal_rec *rec,
		    u16 type, u16 len);
int mbatch_jlog_sync(struct mbatch_journal *j);
int mbatch_jlog_end(struct mbatch_journal *j);
int mbatch_jlog_append(struct mbatch_journal *j,
		       struct mbatch_journal_rec *rec, u16 type, u16 len);
bool mbatch_jlog_trim(struct mbatch_journal *j);
void mbatch_jlog_free(struct mbatch_journal *j);

struct mbatch_jlog_info {
	u64 last_seq;			/* 0: no record */
	u64 records;
	u64 room;			/* records that fit at least */
	u64 writes;			/* block writes of appends */
};

void mbatch_jlog_info(struct mbatch_journal *j, struct mbatch_jlog_info *info);

#endif /* _MBATCH_JLOG_H */
