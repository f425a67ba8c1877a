// SPDX-License-Identifier: GPL-2.0
/*
 * A queue's state journal on disk: finding it, checking it and making it.
 *
 * The area is the last journal-size bytes of its device (rounded down to
 * whole journal blocks); its last two blocks are the superblock's two
 * copies. Each superblock write goes to the copy that was not read, with
 * the generation one above, after a cache flush and with FUA: a write torn
 * by a crash leaves the other copy valid and the journal as it was. A copy
 * is trusted only when every field passes its checks; a device whose copies
 * carry the magic but none of which passes is refused, never repaired.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <linux/uuid.h>

#include "journal.h"

#define MB_JB		MBATCH_JOURNAL_BLOCK
#define MB_JSB_BYTES	((u64)MB_JB * MBATCH_JOURNAL_SB_COPIES)

/* CRC32C of one superblock block, its crc field taken as 0. */
static u32 mbatch_jsb_crc(const u8 *blk)
{
	size_t o = offsetof(struct mbatch_journal_sb, crc);
	__le32 zero = 0;
	u32 crc;

	crc = crc32c(~0U, blk, o);
	crc = crc32c(crc, &zero, sizeof(zero));
	crc = crc32c(crc, blk + o + sizeof(zero), MB_JB - o - sizeof(zero));
	return ~crc;
}

/* One journal block at @pos of @bdev through @page. Sleeps. */
int mbatch_journal_rw(struct block_device *bdev, u64 pos, struct page *page,
		      blk_opf_t opf)
{
	struct bio *bio;
	int err;

	bio = bio_alloc(bdev, 1, opf, GFP_KERNEL);
	bio->bi_iter.bi_sector = pos >> SECTOR_SHIFT;
	__bio_add_page(bio, page, MB_JB, 0);
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

/* The end of a device's area: its size in whole journal blocks. */
static u64 mbatch_journal_end(struct block_device *bdev)
{
	return round_down(bdev_nr_bytes(bdev), MB_JB);
}

/* An extent [off, off + len) of whole blocks inside the first @room bytes. */
static bool mbatch_jextent_ok(u64 off, u64 len, u64 room)
{
	return len && IS_ALIGNED(off, MB_JB) && IS_ALIGNED(len, MB_JB) &&
	       len <= room && off <= room - len;
}

static bool mbatch_jextents_apart(u64 a, u64 alen, u64 b, u64 blen)
{
	return a + alen <= b || b + blen <= a;
}

enum mbatch_jsb_state {
	MBATCH_JSB_BLANK,		/* no magic: no journal */
	MBATCH_JSB_BAD,			/* the magic, and a failed check */
	MBATCH_JSB_OK,
};

/*
 * Check one copy on its own: everything that needs no knowledge of the
 * device. Sets *why for a bad copy.
 */
static enum mbatch_jsb_state mbatch_jsb_check(const u8 *blk, const char **why)
{
	const struct mbatch_journal_sb *sb = (const void *)blk;
	u64 size, room, log, loglen, s0, s1, slen, head;
	unsigned int i;
	u32 bs;

	if (le32_to_cpu(sb->magic) != MBATCH_JOURNAL_MAGIC)
		return MBATCH_JSB_BLANK;
	if (le32_to_cpu(sb->crc) != mbatch_jsb_crc(blk)) {
		*why = "journal superblock checksum mismatch";
		return MBATCH_JSB_BAD;
	}
	if (le32_to_cpu(sb->version) != MBATCH_JOURNAL_VERSION) {
		*why = le32_to_cpu(sb->version) > MBATCH_JOURNAL_VERSION ?
		       "journal version is newer than this module's" :
		       "unknown journal version";
		return MBATCH_JSB_BAD;
	}
	if (le32_to_cpu(sb->flags) & ~MBATCH_JOURNAL_SB_F_ALL) {
		*why = "unknown journal superblock flags";
		return MBATCH_JSB_BAD;
	}
	for (i = 0; i < ARRAY_SIZE(sb->reserved); i++)
		if (sb->reserved[i])
			goto reserved;
	if (sb->reserved0 || memchr_inv(blk + sizeof(*sb), 0, MB_JB - sizeof(*sb)))
		goto reserved;
	if (!le64_to_cpu(sb->generation) || le64_to_cpu(sb->generation) == U64_MAX) {
		*why = "journal superblock generation is 0 or exhausted";
		return MBATCH_JSB_BAD;
	}
	size = le64_to_cpu(sb->size);
	if (size < MBATCH_JOURNAL_SIZE_MIN || size > MBATCH_JOURNAL_SIZE_MAX ||
	    !IS_ALIGNED(size, MB_JB)) {
		*why = "journal size in the superblock is out of range";
		return MBATCH_JSB_BAD;
	}
	bs = le32_to_cpu(sb->block_size);
	if (bs < SECTOR_SIZE || bs > MB_JB || !is_power_of_2(bs) ||
	    !le64_to_cpu(sb->data_bytes) ||
	    !IS_ALIGNED(le64_to_cpu(sb->data_bytes), bs)) {
		*why = "journal superblock describes an impossible device";
		return MBATCH_JSB_BAD;
	}
	room = size - MB_JSB_BYTES;
	log = le64_to_cpu(sb->log_offset);
	loglen = le64_to_cpu(sb->log_len);
	s0 = le64_to_cpu(sb->snap_offset[0]);
	s1 = le64_to_cpu(sb->snap_offset[1]);
	slen = le64_to_cpu(sb->snap_len);
	if (!mbatch_jextent_ok(log, loglen, room) || loglen < 2 * MB_JB ||
	    !mbatch_jextent_ok(s0, slen, room) ||
	    !mbatch_jextent_ok(s1, slen, room) ||
	    !mbatch_jextents_apart(log, loglen, s0, slen) ||
	    !mbatch_jextents_apart(log, loglen, s1, slen) ||
	    !mbatch_jextents_apart(s0, slen, s1, slen)) {
		*why = "journal superblock's log or snapshot areas are out of place";
		return MBATCH_JSB_BAD;
	}
	head = le64_to_cpu(sb->log_head);
	if (head >= loglen || !IS_ALIGNED(head, MB_JB) ||
	    !le64_to_cpu(sb->log_head_seq) ||
	    le64_to_cpu(sb->log_head_seq) == U64_MAX) {
		*why = "journal superblock's log head is out of place";
		return MBATCH_JSB_BAD;
	}
	return MBATCH_JSB_OK;
reserved:
	*why = "journal superblock's reserved bytes are not zero";
	return MBATCH_JSB_BAD;
}

/* The capacity a journal on @dev's end leaves the data, or 0. */
static u64 mbatch_journal_data_bytes(struct block_device *dev, u64 size)
{
	u64 end = mbatch_journal_end(dev);

	return end > size ? end - size : 0;
}

/* Lay out a new journal of @size bytes in j->sb (generation 1). */
static void mbatch_journal_format(struct mbatch_journal *j, u64 size,
				  struct block_device *data)
{
	struct mbatch_journal_sb *sb = &j->sb;
	u64 slen = round_down(size / 8, MB_JB);
	u64 loglen = size - MB_JSB_BYTES - 2 * slen;

	memset(sb, 0, sizeof(*sb));
	sb->magic = cpu_to_le32(MBATCH_JOURNAL_MAGIC);
	sb->version = cpu_to_le32(MBATCH_JOURNAL_VERSION);
	if (j->kind == MBATCH_JOURNAL_INTERNAL)
		sb->flags = cpu_to_le32(MBATCH_JOURNAL_SB_F_INTERNAL);
	generate_random_uuid(sb->uuid);
	sb->generation = cpu_to_le64(1);
	sb->size = cpu_to_le64(size);
	sb->data_bytes = cpu_to_le64(j->kind == MBATCH_JOURNAL_INTERNAL ?
				     j->start : bdev_nr_bytes(data));
	sb->block_size = cpu_to_le32(bdev_logical_block_size(data));
	sb->log_offset = 0;
	sb->log_len = cpu_to_le64(loglen);
	sb->snap_offset[0] = cpu_to_le64(loglen);
	sb->snap_offset[1] = cpu_to_le64(loglen + slen);
	sb->snap_len = cpu_to_le64(slen);
	sb->log_head = 0;
	sb->log_head_seq = cpu_to_le64(1);
}

/* Write j->sb, with a fresh CRC, to copy @copy, durably. */
static int mbatch_journal_write_sb(struct mbatch_journal *j, struct page *page,
				   unsigned int copy)
{
	u8 *blk = page_address(page);
	struct mbatch_journal_sb *sb = (void *)blk;

	memset(blk, 0, MB_JB);
	memcpy(blk, &j->sb, sizeof(j->sb));
	sb->crc = cpu_to_le32(mbatch_jsb_crc(blk));
	return mbatch_journal_rw(j->bdev, j->start + j->size - MB_JSB_BYTES +
				 (u64)copy * MB_JB, page,
				 REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH |
				 REQ_FUA);
}

/* Read the two copies at the end of @dev, through @page, into @blks. */
static int mbatch_journal_read_sbs(struct block_device *dev, struct page *page,
				   u8 *blks)
{
	u64 end = mbatch_journal_end(dev);
	unsigned int c;
	int err;

	for (c = 0; c < MBATCH_JOURNAL_SB_COPIES; c++) {
		/* A device that completes a read short must not leave old bytes. */
		memset(page_address(page), 0, MB_JB);
		err = mbatch_journal_rw(dev, end - MB_JSB_BYTES + (u64)c * MB_JB,
					page, REQ_OP_READ | REQ_SYNC);
		if (err)
			return err;
		memcpy(blks + c * MB_JB, page_address(page), MB_JB);
	}
	return 0;
}

struct mbatch_jsb_pick {
	int copy;			/* -1: none valid */
	bool magic;			/* some copy carries the magic */
	bool zero;			/* both copies are all zero */
	const char *why;		/* of a bad copy */
};

/* Of two copies, the valid one written last; both valid must agree. */
static int mbatch_jsb_pick(const u8 *blks, struct mbatch_jsb_pick *p)
{
	const struct mbatch_journal_sb *a = (const void *)blks;
	const struct mbatch_journal_sb *b = (const void *)(blks + MB_JB);
	enum mbatch_jsb_state st[MBATCH_JOURNAL_SB_COPIES];
	unsigned int c;

	p->copy = -1;
	p->magic = false;
	p->zero = !memchr_inv(blks, 0, MB_JSB_BYTES);
	p->why = NULL;
	for (c = 0; c < MBATCH_JOURNAL_SB_COPIES; c++) {
		st[c] = mbatch_jsb_check(blks + c * MB_JB, &p->why);
		p->magic |= st[c] != MBATCH_JSB_BLANK;
		if (st[c] == MBATCH_JSB_OK && p->copy < 0)
			p->copy = c;
	}
	if (st[0] != MBATCH_JSB_OK || st[1] != MBATCH_JSB_OK)
		return 0;
	if (memcmp(a->uuid, b->uuid, sizeof(a->uuid)) ||
	    a->size != b->size || a->flags != b->flags) {
		p->copy = -1;
		p->why = "the journal's two superblock copies are of different journals";
		return -EUCLEAN;
	}
	if (le64_to_cpu(b->generation) > le64_to_cpu(a->generation))
		p->copy = 1;
	return 0;
}

static int mbatch_jfail(struct mbatch_journal_fault *f, const char *text,
			enum mbatch_journal_field field, int err)
{
	f->text = text;
	f->field = field;
	return err;
}

/* Does a valid copy of @sb fit where it was found, and the request? */
static int mbatch_journal_fits(struct mbatch_journal *j,
			       const struct mbatch_journal_sb *sb,
			       const struct mbatch_journal_cfg *cfg,
			       struct block_device *data,
			       struct mbatch_journal_fault *f)
{
	bool internal = le32_to_cpu(sb->flags) & MBATCH_JOURNAL_SB_F_INTERNAL;
	bool want_internal = j->kind == MBATCH_JOURNAL_INTERNAL;
	u64 size = le64_to_cpu(sb->size);
	u64 want;

	if (internal && !want_internal)
		return mbatch_jfail(f,
				    "the journal device holds an internal journal of its own queue",
				    MBATCH_JF_DEV, -EINVAL);
	if (!internal && want_internal)
		return mbatch_jfail(f,
				    "the device is a journal device, not one with an internal journal",
				    MBATCH_JF_KIND, -EINVAL);
	if (cfg->size && cfg->size != size)
		return mbatch_jfail(f,
				    "the journal exists with another size: give its size or none",
				    MBATCH_JF_SIZE, -EINVAL);
	if (mbatch_journal_end(j->bdev) < size + (internal ? MB_JB : 0))
		return mbatch_jfail(f,
				    "the journal superblock claims more than its device holds",
				    MBATCH_JF_DEV, -EUCLEAN);
	want = internal ? mbatch_journal_data_bytes(j->bdev, size) :
	       bdev_nr_bytes(data);
	if (le64_to_cpu(sb->data_bytes) != want)
		return mbatch_jfail(f,
				    "the device's size has changed since the journal was made",
				    MBATCH_JF_DATA, -EINVAL);
	if (le32_to_cpu(sb->block_size) != bdev_logical_block_size(data))
		return mbatch_jfail(f,
				    "the device's block size has changed since the journal was made",
				    MBATCH_JF_DATA, -EINVAL);
	return 0;
}

static int mbatch_journal_open_dev(struct mbatch_journal *j,
				   const struct mbatch_journal_cfg *cfg,
				   struct block_device *data,
				   struct mbatch_journal_fault *f)
{
	int err;

	if (j->kind == MBATCH_JOURNAL_INTERNAL) {
		j->bdev = data;
		return 0;
	}
	strscpy(j->path, cfg->path, sizeof(j->path));
	/* Its own holder: the queue's device or a partition of it is busy. */
	err = mbatch_bdev_open(&j->own, j->path, j);
	if (err == -EBUSY)
		return mbatch_jfail(f,
				    "journal device is busy (opened exclusively, or the queue's own device)",
				    MBATCH_JF_DEV, err);
	if (err == -ENOENT || err == -ENOTBLK || err == -ENXIO)
		return mbatch_jfail(f, "cannot open the journal device path",
				    MBATCH_JF_DEV, err);
	if (err)
		return mbatch_jfail(f, "failed to open the journal device",
				    MBATCH_JF_DEV, err);
	j->bdev = j->own.bdev;
	return 0;
}

static void mbatch_journal_close_dev(struct mbatch_journal *j)
{
	if (j->own.bdev)
		mbatch_bdev_close(&j->own);
	j->bdev = NULL;
}

/* Does a new journal of @size fit a device of @end bytes? */
static int mbatch_journal_room(struct mbatch_journal *j, u64 size, u64 end,
			       struct mbatch_journal_fault *f)
{
	if (j->kind == MBATCH_JOURNAL_INTERNAL && size > end / 2)
		return mbatch_jfail(f,
				    "an internal journal may take at most half of the device",
				    MBATCH_JF_SIZE, -ENOSPC);
	if (size > end)
		return mbatch_jfail(f,
				    "the journal device is smaller than the journal",
				    MBATCH_JF_SIZE, -ENOSPC);
	return 0;
}

/* The log's first record of this use: the generation just written. */
static int mbatch_journal_use(struct mbatch_journal *j,
			      struct mbatch_journal_fault *f)
{
	struct mbatch_jrec_use r = { .generation = j->sb.generation };
	int err;

	err = mbatch_jlog_append(j, &r.hdr, MBATCH_JREC_USE, sizeof(r));
	if (err == -ENOSPC)
		return mbatch_jfail(f, "the journal's log is full", MBATCH_JF_DEV,
				    err);
	if (err)
		return mbatch_jfail(f, "cannot write the journal's log",
				    MBATCH_JF_DEV, err);
	return 0;
}

/*
 * Find the journal @cfg names for the queue's device @data, or make one
 * where the place of its superblock copies is all zero; a found journal's
 * superblock is written again (next generation) to prove the area writable
 * and to mark this use. Sleeps for the device.
 */
int mbatch_journal_open(struct mbatch_journal *j,
			const struct mbatch_journal_cfg *cfg,
			struct block_device *data,
			struct mbatch_journal_fault *f)
{
	struct mbatch_jsb_pick pick;
	struct page *page;
	u64 end, size;
	u8 *blks;
	int err;

	memset(j, 0, sizeof(*j));
	j->kind = cfg->kind;
	mbatch_jreplay_init(j);
	err = mbatch_journal_open_dev(j, cfg, data, f);
	if (err)
		return err;
	if (bdev_logical_block_size(j->bdev) > MB_JB ||
	    bdev_logical_block_size(data) > MB_JB) {
		err = mbatch_jfail(f,
				   "a journal needs devices with blocks of at most 4096 bytes",
				   bdev_logical_block_size(data) > MB_JB ?
				   MBATCH_JF_DATA : MBATCH_JF_DEV, -EOPNOTSUPP);
		goto out_dev;
	}
	end = mbatch_journal_end(j->bdev);
	if (end < MBATCH_JOURNAL_SIZE_MIN) {
		err = mbatch_jfail(f, "the journal's device is too small",
				   MBATCH_JF_DEV, -ENOSPC);
		goto out_dev;
	}

	err = -ENOMEM;
	page = alloc_page(GFP_KERNEL);
	blks = kmalloc(MB_JSB_BYTES, GFP_KERNEL);
	if (!page || !blks)
		goto out_mem;
	err = mbatch_journal_read_sbs(j->bdev, page, blks);
	if (err) {
		mbatch_jfail(f, "cannot read the journal superblock",
			     MBATCH_JF_DEV, err);
		goto out_mem;
	}
	err = mbatch_jsb_pick(blks, &pick);
	if (err) {
		mbatch_jfail(f, pick.why, MBATCH_JF_DEV, err);
		goto out_mem;
	}

	if (pick.copy >= 0) {
		memcpy(&j->sb, blks + pick.copy * MB_JB, sizeof(j->sb));
		err = mbatch_journal_fits(j, &j->sb, cfg, data, f);
		if (err)
			goto out_mem;
		j->size = le64_to_cpu(j->sb.size);
		j->start = end - j->size;
		err = mbatch_jlog_scan(j, false, f);
		if (err)
			goto out_mem;
		j->restoring = j->replay.nr_sessions;
		/* Room for this use's record, and many more: never full. */
		mbatch_jlog_trim(j);
		le64_add_cpu(&j->sb.generation, 1);
		j->next_copy = !pick.copy;
		err = mbatch_journal_write_sb(j, page, j->next_copy);
		j->next_copy = pick.copy;
	} else if (pick.magic) {
		err = mbatch_jfail(f, pick.why, MBATCH_JF_DEV, -EUCLEAN);
		goto out_mem;
	} else if (!pick.zero) {
		/* Made only where asked for by zeroing: never over data. */
		err = mbatch_jfail(f,
				   "not a journal, and its last 8 KiB are not zero: zero them to make one",
				   MBATCH_JF_DEV, -EUCLEAN);
		goto out_mem;
	} else {
		size = cfg->size ?: MBATCH_JOURNAL_SIZE_DEFAULT;
		err = mbatch_journal_room(j, size, end, f);
		if (err)
			goto out_mem;
		j->size = size;
		j->start = end - size;
		mbatch_journal_format(j, size, data);
		err = mbatch_jlog_scan(j, true, f);
		if (err)
			goto out_mem;
		/* Both copies: an older journal's copy must not outlive it. */
		err = mbatch_journal_write_sb(j, page, 1);
		if (!err)
			err = mbatch_journal_write_sb(j, page, 0);
		j->next_copy = 1;
	}
	if (err)
		mbatch_jfail(f, "cannot write the journal superblock",
			     MBATCH_JF_DEV, err);
	else
		err = mbatch_journal_use(j, f);
out_mem:
	if (err) {
		mbatch_jlog_free(j);
		mbatch_jreplay_free(j);
	}
	kfree(blks);
	if (!err) {
		/* Kept for the superblock writes of trimming. */
		j->sb_page = page;
		return 0;
	}
	if (page)
		__free_page(page);
out_dev:
	mbatch_journal_close_dev(j);
	return err;
}

void mbatch_journal_close(struct mbatch_journal *j)
{
	mbatch_jrec_free(j);
	if (j->sb_page)
		__free_page(j->sb_page);
	j->sb_page = NULL;
	mbatch_jlog_free(j);
	mbatch_jreplay_free(j);
	mbatch_journal_close_dev(j);
}

/*
 * A queue without a journal refuses a device whose end carries a journal
 * superblock, valid or not: its writes would overwrite a journal's state.
 */
int mbatch_journal_refuse_data(struct block_device *data,
			       struct mbatch_journal_fault *f)
{
	struct mbatch_jsb_pick pick;
	struct page *page;
	u8 *blks;
	int err;

	if (mbatch_journal_end(data) < MBATCH_JOURNAL_SIZE_MIN ||
	    bdev_logical_block_size(data) > MB_JB)
		return 0;
	err = -ENOMEM;
	page = alloc_page(GFP_KERNEL);
	blks = kmalloc(MB_JSB_BYTES, GFP_KERNEL);
	if (!page || !blks)
		goto out;
	err = mbatch_journal_read_sbs(data, page, blks);
	if (err) {
		mbatch_jfail(f, "cannot read the device", MBATCH_JF_DATA, err);
		goto out;
	}
	/* A journal, damaged or not, is never taken for data. */
	if (mbatch_jsb_pick(blks, &pick) || pick.magic)
		err = mbatch_jfail(f,
				   "the device holds an mbatch journal (use it, or zero its last 8 KiB)",
				   MBATCH_JF_DATA, -EEXIST);
out:
	kfree(blks);
	if (page)
		__free_page(page);
	return err;
}

u64 mbatch_journal_generation(struct mbatch_journal *j)
{
	u64 gen;

	spin_lock(&j->log.info_lock);
	gen = le64_to_cpu(j->sb.generation);
	spin_unlock(&j->log.info_lock);
	return gen;
}

/*
 * After an append, the log's mutex held: a log more than half full is
 * trimmed (mbatch_jlog_trim()), and the superblock that says so written to
 * the other copy, one generation up. A failed write leaves the log taking
 * no more appends: which copy holds is not known until it is read again.
 */
int mbatch_journal_trim_locked(struct mbatch_journal *j)
{
	int err;

	lockdep_assert_held(&j->log.lock);
	if (j->log.failed || !mbatch_jlog_trim(j))
		return 0;
	spin_lock(&j->log.info_lock);
	le64_add_cpu(&j->sb.generation, 1);
	spin_unlock(&j->log.info_lock);
	err = mbatch_journal_write_sb(j, j->sb_page, j->next_copy);
	if (err)
		j->log.failed = true;
	else
		j->next_copy = !j->next_copy;
	return err;
}
