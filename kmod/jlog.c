// SPDX-License-Identifier: GPL-2.0
/*
 * A journal's record log: finding its end when a queue opens the journal,
 * and appending records durably.
 *
 * The log is read from the superblock's log_head in sequence number order;
 * the first place that does not hold the next record, where it is or at the
 * start of the next block, is its end. That is where the last write of a
 * crash was torn, or where nothing was written yet; records of an earlier
 * lap or an earlier journal have an older sequence number or another uuid
 * in their CRC and end the log too. A record whose checks all pass but
 * whose content does not is refused with the journal: something wrote it
 * that this module does not understand. So is a log with a record of a
 * later sequence number past its end: a torn write loses only the last
 * record, so that end is damage, not a crash, and a log is never cut
 * short and written over.
 *
 * An append rewrites the tail block whole, with FUA: the records already in
 * it are written again as they were, so a write torn at a logical block
 * leaves each of them either as it was or as it was (the bytes are the
 * same), and only the record being written, one a write, can be lost,
 * before its append returned: the last of the log, so the damage rule
 * holds. One append at a time (the log's mutex), so what is durable is
 * always a prefix of the log.
 */
#include <linux/crc32c.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/string.h>

#include "fault.h"
#include "journal.h"

#define MB_JB		MBATCH_JOURNAL_BLOCK
#define MB_JREC_HDR	sizeof(struct mbatch_journal_rec)

static_assert(sizeof(struct mbatch_journal_rec) == 24);
static_assert(sizeof(struct mbatch_jrec_use) == 32);
static_assert(sizeof(struct mbatch_jrec_use) <= MBATCH_JOURNAL_REC_MAX);
static_assert(sizeof(struct mbatch_jrec_session) == 32);
static_assert(sizeof(struct mbatch_jrec_open) == 80);
static_assert(sizeof(struct mbatch_jrec_start) == 32);
static_assert(sizeof(struct mbatch_jrange) == 16);
static_assert(sizeof(struct mbatch_jrec_done) == 32);
static_assert(sizeof(struct mbatch_jdone) == 24);
static_assert(sizeof(struct mbatch_jrec_checkpoint) == 56);
static_assert(MB_JB % MBATCH_JOURNAL_REC_MAX == 0);

/* CRC32C of a record of @len bytes, over the uuid, its crc field taken 0. */
static u32 mbatch_jrec_crc(const struct mbatch_journal *j, const u8 *rec,
			   u32 len)
{
	size_t o = offsetof(struct mbatch_journal_rec, crc);
	__le32 zero = 0;
	u32 crc;

	crc = crc32c(~0U, j->sb.uuid, sizeof(j->sb.uuid));
	crc = crc32c(crc, rec, o);
	crc = crc32c(crc, &zero, sizeof(zero));
	crc = crc32c(crc, rec + o + sizeof(zero), len - o - sizeof(zero));
	return ~crc;
}

static u64 mbatch_jlog_pos(const struct mbatch_journal *j, u64 blk)
{
	return j->start + le64_to_cpu(j->sb.log_offset) + blk * MB_JB;
}

static int mbatch_jlog_read(struct mbatch_journal *j, u64 blk,
			    struct page *page)
{
	memset(page_address(page), 0, MB_JB);
	if (mbatch_fault_take(&mbatch_fault_jlog_read_eio))
		return -EIO;
	return mbatch_journal_rw(j->bdev, mbatch_jlog_pos(j, blk), page,
				 REQ_OP_READ | REQ_SYNC);
}

static bool mbatch_jstatus_ok(__le32 status)
{
	s32 st = (s32)le32_to_cpu(status);

	return st <= 0 && st >= -MAX_ERRNO;
}

static bool mbatch_jrange_ok(const struct mbatch_jrange *r)
{
	u64 first = le64_to_cpu(r->first_seq);
	u32 count = le32_to_cpu(r->count);

	return count && first && first + (count - 1) >= first;
}

/* A START or DONE record: a count of entries of @size, each checked. */
static bool mbatch_jrec_runs_ok(const u8 *rec, u16 len, size_t size)
{
	const struct mbatch_jrec_start *r = (const void *)rec;
	const u8 *e = rec + sizeof(*r);

	if (len < sizeof(*r) + size || (len - sizeof(*r)) % size ||
	    le32_to_cpu(r->nr) != (len - sizeof(*r)) / size || r->reserved)
		return false;
	for (; e < rec + len; e += size) {
		const struct mbatch_jdone *d = (const void *)e;

		if (!mbatch_jrange_ok(&d->range))
			return false;
		if (size == sizeof(*d) &&
		    (!mbatch_jstatus_ok(d->status) || d->reserved))
			return false;
	}
	return true;
}

/* A local session names no initiator; a participant names its own. */
static bool mbatch_jrec_open_ok(const u8 *rec, u16 len)
{
	const struct mbatch_jrec_open *o = (const void *)rec;
	size_t plen;

	/* An earlier module's: the session's id and kind only. */
	if (len == sizeof(struct mbatch_jrec_session))
		return !o->reserved &&
		       (le16_to_cpu(o->kind) == MBATCH_JSESSION_LOCAL ||
			le16_to_cpu(o->kind) == MBATCH_JSESSION_PARTICIPANT);
	if (len != sizeof(*o) || o->reserved || o->reserved2)
		return false;
	plen = strnlen(o->peer, sizeof(o->peer));
	if (plen == sizeof(o->peer) ||
	    memchr_inv(o->peer + plen, 0, sizeof(o->peer) - plen))
		return false;
	switch (le16_to_cpu(o->kind)) {
	case MBATCH_JSESSION_LOCAL:
		return !plen && !o->isid && !o->cookie;
	case MBATCH_JSESSION_PARTICIPANT:
		return plen && o->isid;
	default:
		return false;
	}
}

/*
 * Is the sealed record @rec of @len bytes one this module writes? 1 yes, 0
 * not as written (malformed), -1 a type it does not know.
 */
static int mbatch_jrec_valid(const u8 *rec, u16 len)
{
	const struct mbatch_journal_rec *h = (const void *)rec;
	const struct mbatch_jrec_session *ss = (const void *)rec;
	const struct mbatch_jrec_checkpoint *cp = (const void *)rec;
	u16 type = le16_to_cpu(h->type);

	if (h->reserved)
		return type >= MBATCH_JREC_USE && type <= MBATCH_JREC_CHECKPOINT ?
		       0 : -1;
	switch (type) {
	case MBATCH_JREC_USE:
		return len == sizeof(struct mbatch_jrec_use);
	case MBATCH_JREC_OPEN:
		return mbatch_jrec_open_ok(rec, len);
	case MBATCH_JREC_CLOSE:
		return len == sizeof(*ss) && !ss->reserved && !ss->kind;
	case MBATCH_JREC_START:
		return mbatch_jrec_runs_ok(rec, len,
					   sizeof(struct mbatch_jrange));
	case MBATCH_JREC_DONE:
		return mbatch_jrec_runs_ok(rec, len,
					   sizeof(struct mbatch_jdone));
	case MBATCH_JREC_CHECKPOINT:
		return len == sizeof(*cp) && !cp->reserved &&
		       !(le32_to_cpu(cp->flags) & ~MBATCH_JCP_F_ALL) &&
		       le64_to_cpu(cp->seq) && le64_to_cpu(cp->epoch) &&
		       mbatch_jstatus_ok(cp->status);
	default:
		return -1;
	}
}

enum mbatch_jrec_state {
	MBATCH_JREC_NONE,		/* not the next record: the log ends */
	MBATCH_JREC_NEXT,
	MBATCH_JREC_BAD,		/* the next record, and not understood */
};

/*
 * Does @off of @blk hold a sealed record of this journal (whatever its
 * length, up to the block's end)? Its sequence number through @seq.
 */
static bool mbatch_jrec_sealed(const struct mbatch_journal *j, const u8 *blk,
			       u32 off, u64 *seq)
{
	const struct mbatch_journal_rec *r = (const void *)(blk + off);
	u16 len;

	if (off + MB_JREC_HDR > MB_JB ||
	    le32_to_cpu(r->magic) != MBATCH_JOURNAL_REC_MAGIC)
		return false;
	len = le16_to_cpu(r->len);
	if (len < MB_JREC_HDR || off + len > MB_JB ||
	    le32_to_cpu(r->crc) != mbatch_jrec_crc(j, blk + off, len))
		return false;
	*seq = le64_to_cpu(r->seq);
	return true;
}

/* Is the record at @off of @blk the one with sequence number @seq? */
static enum mbatch_jrec_state
mbatch_jrec_check(const struct mbatch_journal *j, const u8 *blk, u32 off,
		  u64 seq, u16 *lenp, const char **why)
{
	const struct mbatch_journal_rec *r = (const void *)(blk + off);
	u64 rseq;
	int valid;
	u16 len;

	if (!mbatch_jrec_sealed(j, blk, off, &rseq) || rseq != seq)
		return MBATCH_JREC_NONE;
	len = le16_to_cpu(r->len);
	valid = mbatch_jrec_valid(blk + off, len);
	if (valid < 0) {
		*why = "the journal's log holds a record type this module does not know";
		return MBATCH_JREC_BAD;
	}
	/* Sealed, so written so: longer or unaligned is not a torn record. */
	if (!valid || len > MBATCH_JOURNAL_REC_MAX ||
	    !IS_ALIGNED(len, MBATCH_JOURNAL_REC_ALIGN)) {
		*why = "the journal's log holds a malformed record";
		return MBATCH_JREC_BAD;
	}
	*lenp = len;
	return MBATCH_JREC_NEXT;
}

/*
 * Does @blk from @off on hold a record of this journal numbered @seq or
 * later? Records start at multiples of MBATCH_JOURNAL_REC_ALIGN.
 */
static bool mbatch_jlog_later(const struct mbatch_journal *j, const u8 *blk,
			      u32 off, u64 seq)
{
	u64 rseq;

	for (; off + MB_JREC_HDR <= MB_JB; off += MBATCH_JOURNAL_REC_ALIGN)
		if (mbatch_jrec_sealed(j, blk, off, &rseq) && rseq >= seq)
			return true;
	return false;
}

static int mbatch_jlog_fail(struct mbatch_journal_fault *f, const char *text,
			    int err)
{
	f->text = text;
	f->field = MBATCH_JF_DEV;
	return err;
}

/*
 * Find the log's end from its head. @made: the journal was just made and its
 * log is empty, whatever its blocks hold. Sleeps for the device.
 */
int mbatch_jlog_scan(struct mbatch_journal *j, bool made,
		     struct mbatch_journal_fault *f)
{
	struct mbatch_jlog *lg = &j->log;
	enum mbatch_jrec_state st;
	struct page *next;
	const char *why;
	u64 blk, seq;
	u32 off = 0;
	u16 len;
	int err;

	mutex_init(&lg->lock);
	spin_lock_init(&lg->info_lock);
	lg->nblocks = le64_to_cpu(j->sb.log_len) / MB_JB;
	lg->head = le64_to_cpu(j->sb.log_head) / MB_JB;
	blk = lg->head;
	seq = le64_to_cpu(j->sb.log_head_seq);
	lg->tail_seq = seq;
	lg->tail_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	next = alloc_page(GFP_KERNEL);
	err = -ENOMEM;
	if (!lg->tail_page || !next)
		goto out;
	err = 0;
	if (made)
		goto out;
	err = mbatch_jlog_read(j, blk, lg->tail_page);
	while (!err) {
		st = mbatch_jrec_check(j, page_address(lg->tail_page), off, seq,
				       &len, &why);
		if (st == MBATCH_JREC_NEXT) {
			err = mbatch_jreplay_rec(j, page_address(lg->tail_page) +
						 off, len);
			if (err)
				goto out;
			off += len;
			seq++;
			lg->records++;
			/* Only a hostile log gets here: U64_MAX is never a head. */
			if (seq == U64_MAX)
				goto used_up;
			continue;
		}
		if (st == MBATCH_JREC_NONE) {
			/* The log goes on at the next block's start, or ends. */
			if (!off || (blk + 1) % lg->nblocks == lg->head)
				break;
			err = mbatch_jlog_read(j, (blk + 1) % lg->nblocks, next);
			if (err)
				break;
			st = mbatch_jrec_check(j, page_address(next), 0, seq,
					       &len, &why);
			if (st == MBATCH_JREC_NONE)
				break;
			swap(next, lg->tail_page);
			blk = (blk + 1) % lg->nblocks;
			off = 0;
			lg->tail_seq = seq;
		}
		if (st == MBATCH_JREC_BAD) {
			err = mbatch_jlog_fail(f, why, -EUCLEAN);
			goto out;
		}
	}
	/*
	 * Past the end, in the tail block and the next, no later record:
	 * the next record would be here or at the next block's start, and
	 * the one after it right after that.
	 */
	if (!err && mbatch_jlog_later(j, page_address(lg->tail_page), off, seq))
		goto damaged;
	if (!err && (blk + 1) % lg->nblocks != lg->head) {
		err = mbatch_jlog_read(j, (blk + 1) % lg->nblocks, next);
		if (!err && mbatch_jlog_later(j, page_address(next), 0, seq))
			goto damaged;
	}
	if (err) {
		mbatch_jlog_fail(f, "cannot read the journal's log", err);
		goto out;
	}
	/* Past the end is nothing: an append writes zeros there. */
	memset(page_address(lg->tail_page) + off, 0, MB_JB - off);
out:
	lg->tail = blk;
	lg->tail_off = off;
	lg->next_seq = seq;
	if (next)
		__free_page(next);
	if (err)
		mbatch_jlog_free(j);
	return err;
damaged:
	err = mbatch_jlog_fail(f, "the journal's log is damaged: a record past its end",
			       -EUCLEAN);
	goto out;
used_up:
	err = mbatch_jlog_fail(f, "the journal's log has used up its sequence numbers",
			       -EUCLEAN);
	goto out;
}

/*
 * Records that fit at least, from the tail to the head; info_lock or the
 * mutex held, or before appends begin.
 */
static u64 mbatch_jlog_room(const struct mbatch_jlog *lg)
{
	u64 blocks = (lg->head + lg->nblocks - lg->tail - 1) % lg->nblocks;

	return blocks * (MB_JB / MBATCH_JOURNAL_REC_MAX) +
	       (MB_JB - lg->tail_off) / MBATCH_JOURNAL_REC_MAX;
}

/*
 * Write the tail block with the records staged in it; on failure the log
 * takes no more: what was staged is not known to be there, nor not to be,
 * and no record may take its place until the log is read again.
 */
static int mbatch_jlog_write_tail(struct mbatch_journal *j)
{
	struct mbatch_jlog *lg = &j->log;
	int err;

	if (mbatch_fault_take(&mbatch_fault_jlog_write_lost))
		err = -EIO;
	else
		err = mbatch_journal_rw(j->bdev, mbatch_jlog_pos(j, lg->tail),
					lg->tail_page,
					REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	if (!err && mbatch_fault_take(&mbatch_fault_jlog_write_eio))
		err = -EIO;
	spin_lock(&lg->info_lock);
	lg->writes++;
	if (err) {
		memset(page_address(lg->tail_page) + lg->staged_off, 0,
		       lg->tail_off - lg->staged_off);
		lg->tail_off = lg->staged_off;
		lg->next_seq -= lg->staged;
		lg->failed = true;
	} else {
		lg->records += lg->staged;
		lg->staged_off = lg->tail_off;
	}
	lg->staged = 0;
	spin_unlock(&lg->info_lock);
	return err;
}

/*
 * Appending: mbatch_jlog_begin(), a record or more with mbatch_jlog_add(),
 * each durable when it returns, then mbatch_jlog_end(). The records go
 * into the tail block; one that does not fit starts the next, so what is
 * durable is always a prefix of the log. Sleeps.
 */
int mbatch_jlog_begin(struct mbatch_journal *j)
{
	struct mbatch_jlog *lg = &j->log;

	mutex_lock(&lg->lock);
	/* A write that failed may be on the device all the same. */
	lg->err = lg->failed ? -EIO : 0;
	return lg->err;
}

/* Stage the record @rec of @len bytes (its header is filled here). */
int mbatch_jlog_add(struct mbatch_journal *j, struct mbatch_journal_rec *rec,
		    u16 type, u16 len)
{
	struct mbatch_jlog *lg = &j->log;
	u8 *blk = page_address(lg->tail_page);

	lockdep_assert_held(&lg->lock);
	if (WARN_ON_ONCE(len < MB_JREC_HDR || len > MBATCH_JOURNAL_REC_MAX ||
			 !IS_ALIGNED(len, MBATCH_JOURNAL_REC_ALIGN)))
		lg->err = lg->err ?: -EINVAL;
	if (lg->err)
		return lg->err;
	/* Room for one record of the largest kind: it fits here or next. */
	if (!mbatch_jlog_room(lg)) {
		lg->err = -ENOSPC;
		return lg->err;
	}
	if (lg->tail_off + len > MB_JB) {
		if (lg->staged) {
			lg->err = mbatch_jlog_write_tail(j);
			if (lg->err)
				return lg->err;
		}
		spin_lock(&lg->info_lock);
		lg->tail = (lg->tail + 1) % lg->nblocks;
		lg->tail_off = 0;
		lg->staged_off = 0;
		lg->tail_seq = lg->next_seq;
		spin_unlock(&lg->info_lock);
		memset(blk, 0, MB_JB);
	}
	rec->magic = cpu_to_le32(MBATCH_JOURNAL_REC_MAGIC);
	rec->crc = 0;
	rec->seq = cpu_to_le64(lg->next_seq);
	rec->type = cpu_to_le16(type);
	rec->len = cpu_to_le16(len);
	rec->reserved = 0;
	rec->crc = cpu_to_le32(mbatch_jrec_crc(j, (const u8 *)rec, len));
	memcpy(blk + lg->tail_off, rec, len);
	spin_lock(&lg->info_lock);
	lg->tail_off += len;
	lg->next_seq++;
	lg->staged++;
	spin_unlock(&lg->info_lock);
	/*
	 * Each record its own write: a write torn at a logical block could
	 * keep a later record of two and lose the earlier, which the log
	 * could not tell from damage.
	 */
	lg->err = mbatch_jlog_write_tail(j);
	return lg->err;
}

/* Write what is staged, keeping the log's mutex. */
int mbatch_jlog_sync(struct mbatch_journal *j)
{
	struct mbatch_jlog *lg = &j->log;

	if (!lg->err && lg->staged)
		lg->err = mbatch_jlog_write_tail(j);
	return lg->err;
}

int mbatch_jlog_end(struct mbatch_journal *j)
{
	int err = mbatch_jlog_sync(j);

	/* Records of this append may be missing: none may follow them. */
	if (err)
		j->log.failed = true;
	mutex_unlock(&j->log.lock);
	return err;
}

/* One record, durably. -ENOSPC: the log is full. Sleeps. */
int mbatch_jlog_append(struct mbatch_journal *j,
		       struct mbatch_journal_rec *rec, u16 type, u16 len)
{
	int err;

	err = mbatch_jlog_begin(j);
	if (!err)
		mbatch_jlog_add(j, rec, type, len);
	return mbatch_jlog_end(j) ?: err;
}

/*
 * Trim the log when its records fill more than half of its blocks: its
 * head becomes the tail block, in j->sb for the superblock write that
 * follows; true if it did. Without snapshots (version 1) what goes may
 * include the OPEN of a session still open, which can then no longer be
 * restored (its initiator hears it is gone). After the scan, before appends
 * begin or with the log's mutex held and nothing staged.
 */
bool mbatch_jlog_trim(struct mbatch_journal *j)
{
	struct mbatch_jlog *lg = &j->log;
	u64 used = (lg->tail + lg->nblocks - lg->head) % lg->nblocks + 1;

	if (used <= lg->nblocks / 2)
		return false;
	spin_lock(&lg->info_lock);
	lg->head = lg->tail;
	lg->records = lg->next_seq - lg->tail_seq;
	j->sb.log_head = cpu_to_le64(lg->tail * MB_JB);
	j->sb.log_head_seq = cpu_to_le64(lg->tail_seq);
	spin_unlock(&lg->info_lock);
	return true;
}

void mbatch_jlog_info(struct mbatch_journal *j, struct mbatch_jlog_info *info)
{
	struct mbatch_jlog *lg = &j->log;

	spin_lock(&lg->info_lock);
	info->last_seq = lg->next_seq - lg->staged - 1;
	info->records = lg->records;
	info->room = mbatch_jlog_room(lg);
	info->writes = lg->writes;
	spin_unlock(&lg->info_lock);
}

void mbatch_jlog_free(struct mbatch_journal *j)
{
	if (j->log.tail_page)
		__free_page(j->log.tail_page);
	j->log.tail_page = NULL;
}
