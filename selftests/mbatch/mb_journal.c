// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 9: a queue's state journal on disk. A journal is made where a
 * device holds none and found again, with its UUID and the next
 * generation, where it does; both superblock copies are read back from the
 * device (O_DIRECT) and checked field by field, CRC32C included, against
 * <linux/mbatch_journal.h>. An internal journal takes the end of the
 * device: sessions see the capacity before it, a write past it is refused,
 * a write just below it reads back and leaves the superblocks alone. A
 * torn copy (the newest one) falls back to the other; copies that both
 * fail are refused with the reason and never written; every field check is
 * hit with a valid CRC, and random damage never crashes the module or gets
 * a bad copy trusted. A journal is made only where its place is zero, and
 * a device with a journal, damaged or not, is never taken for data. Each
 * refusal is an errno, the module's text and the attribute at fault, and
 * leaves both devices closed and as they were. The record log is read back
 * record by record: every use of the journal appends one, a torn last
 * record is lost and written over, the log goes on at a block's start and
 * around the ring's end, a full log is refused, and a record this module
 * does not understand is refused; random damage ends the log exactly at
 * the damaged record.
 */
#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

#include <linux/mbatch_journal.h>

#define MIB		(1024ULL * 1024)
#define JB		MBATCH_JOURNAL_BLOCK
#define DATA_MIB	64
#define JDEV_MIB	16

/* CRC32C (Castagnoli), as the kernel's crc32c() with ~0 in and out. */
static uint32_t crc32c(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t crc = ~0U;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78U & -(crc & 1));
	}
	return ~crc;
}

static void sb_seal(unsigned char *blk)
{
	struct mbatch_journal_sb *sb = (void *)blk;

	sb->crc = 0;
	sb->crc = htole32(crc32c(blk, JB));
}

static int sb_crc_ok(const unsigned char *blk)
{
	unsigned char tmp[JB];
	const struct mbatch_journal_sb *sb = (const void *)blk;

	memcpy(tmp, blk, JB);
	((struct mbatch_journal_sb *)tmp)->crc = 0;
	return le32toh(sb->crc) == crc32c(tmp, JB);
}

/* The two superblock copies at the end of a device of @bytes. */
static int sb_read(const char *dev, uint64_t bytes, unsigned char *two)
{
	return mb_pread_direct(dev, bytes / JB * JB - 2 * JB, two, 2 * JB);
}

static int sb_write(const char *dev, uint64_t bytes, const unsigned char *two)
{
	return mb_pwrite_direct(dev, bytes / JB * JB - 2 * JB, two, 2 * JB);
}

#define SB(two, c)	((struct mbatch_journal_sb *)((two) + (c) * JB))

/* What a QUEUE_NEW sent, and where its attributes are in the request. */
struct qnew {
	const char *name, *dev, *jdev;
	uint32_t kind;
	uint64_t size;
	uint32_t off_dev, off_kind, off_jdev, off_size;
};

static int qnew(struct mb_sock *s, struct qnew *q)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_QUEUE_NEW, 0);
	mb_put_str(&r, MBATCH_A_QUEUE_NAME, q->name);
	q->off_dev = mb_put_str(&r, MBATCH_A_QUEUE_DEV, q->dev);
	q->off_kind = q->kind ? mb_put_u32(&r, MBATCH_A_QUEUE_JOURNAL, q->kind) : 0;
	q->off_jdev = q->jdev ? mb_put_str(&r, MBATCH_A_QUEUE_JOURNAL_DEV, q->jdev) : 0;
	q->off_size = q->size ?
		mb_put_u64(&r, MBATCH_A_QUEUE_JOURNAL_SIZE, q->size) : 0;
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

FIXTURE(journal) {
	struct mb_sock s;
	char nb[64], dev[128];		/* the data device */
	char jnb[64], jdev[128];	/* a journal device */
	char q[MBATCH_QUEUE_NAME_MAX];
	uint64_t bytes, jbytes;
	uint64_t rng;
};

FIXTURE_SETUP(journal)
{
	memset(self, 0, sizeof(*self));
	self->s.fd = -1;
	ASSERT_EQ(0, mb_open(&self->s));
	ASSERT_EQ(0, mb_nullb_create("size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=20000 cache_size=16",
				     self->nb, sizeof(self->nb), self->dev,
				     sizeof(self->dev)));
	ASSERT_EQ(0, mb_nullb_create("size=16 memory_backed=1 cache_size=4",
				     self->jnb, sizeof(self->jnb), self->jdev,
				     sizeof(self->jdev)));
	self->bytes = DATA_MIB * MIB;
	self->jbytes = JDEV_MIB * MIB;
	mb_unique(self->q, sizeof(self->q), "qj");
	self->rng = mb_seed();
	TH_LOG("seed %llu", (unsigned long long)self->rng);
}

FIXTURE_TEARDOWN(journal)
{
	mb_knob_set("fault_jlog_read_eio", 0);
	mb_knob_set("fault_jlog_write_eio", 0);
	if (mb_queue_exists(&self->s, self->q) == 1)
		EXPECT_EQ(0, mb_queue_del(&self->s, self->q));
	EXPECT_TRUE(mb_wait_dev_free(self->dev, 5000));
	EXPECT_TRUE(mb_wait_dev_free(self->jdev, 5000));
	EXPECT_EQ(0, mb_nullb_remove(self->nb));
	EXPECT_EQ(0, mb_nullb_remove(self->jnb));
	mb_close(&self->s);
}

/* Delete the queue and wait until its devices are closed. */
static int del_wait(struct mb_sock *s, const char *q, const char *d1,
		    const char *d2)
{
	if (mb_queue_del(s, q))
		return -1;
	if (!mb_wait_dev_free(d1, 5000) || (d2 && !mb_wait_dev_free(d2, 5000)))
		return -2;
	return 0;
}

/* A refusal: errno, the module's text, the attribute at @at (0: none). */
#define EXPECT_REFUSED(ret, eno, text, at) do {			\
	EXPECT_EQ(-(eno), (ret)) TH_LOG("%s", mb_strerr(&self->s));	\
	EXPECT_TRUE(mb_contains(self->s.err.msg, (text)))		\
		TH_LOG("extack '%s', want '%s'", self->s.err.msg, (text)); \
	if (at) {							\
		EXPECT_TRUE(self->s.err.has_off);			\
		EXPECT_EQ((uint32_t)(at), self->s.err.off);		\
	}								\
	EXPECT_EQ(0, mb_queue_exists(&self->s, self->q));		\
} while (0)

/* Checks one valid copy against what QUEUE_GET reported. */
static int sb_matches(const unsigned char *blk, const struct mb_queue_info *qi,
		      uint64_t gen, uint32_t flags, uint64_t data_bytes,
		      uint32_t bs)
{
	const struct mbatch_journal_sb *sb = (const void *)blk;
	uint64_t size = le64toh(sb->size), room = size - 2 * JB;
	uint64_t log = le64toh(sb->log_offset), loglen = le64toh(sb->log_len);
	uint64_t s0 = le64toh(sb->snap_offset[0]);
	uint64_t s1 = le64toh(sb->snap_offset[1]), sl = le64toh(sb->snap_len);

	return le32toh(sb->magic) == MBATCH_JOURNAL_MAGIC &&
	       !memcmp(blk, "MBTJ", 4) &&
	       le32toh(sb->version) == MBATCH_JOURNAL_VERSION &&
	       sb_crc_ok(blk) && le32toh(sb->flags) == flags &&
	       !memcmp(sb->uuid, qi->journal_uuid, 16) &&
	       le64toh(sb->generation) == gen && size == qi->journal_size &&
	       le64toh(sb->data_bytes) == data_bytes &&
	       le32toh(sb->block_size) == bs &&
	       /* the layout: log, then the two snapshot slots, whole blocks */
	       log == 0 && loglen && loglen % JB == 0 && sl && sl % JB == 0 &&
	       s0 == loglen && s1 == s0 + sl && s1 + sl == room &&
	       le64toh(sb->log_head) == 0 && le64toh(sb->log_head_seq) == 1 &&
	       mb_is_zero(blk + sizeof(*sb), JB - sizeof(*sb));
}

static void submit_one(struct __test_metadata *_metadata, struct mb_sock *s,
		       uint32_t sid, uint64_t bid, const struct mb_cmd *c,
		       int want_err, const char *text)
{
	struct mb_submit_reply rep;
	int ret = mb_submit(s, sid, bid, c, 1, &rep);

	ASSERT_EQ(want_err, ret) TH_LOG("SUBMIT: %s", mb_strerr(s));
	if (text)
		EXPECT_TRUE(mb_contains(s->err.msg, text))
			TH_LOG("extack '%s', want '%s'", s->err.msg, text);
}

/*
 * Made on a blank device, found again: UUID kept, generation +1 per use,
 * written to the copy that was not read. The capacity is the device's
 * less the journal, enforced; data just below it reads back and the
 * superblocks stay as they were.
 */
TEST_F(journal, internal)
{
	unsigned char two[2 * JB], two2[2 * JB], uuid[16];
	unsigned char *buf, *back;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	struct mb_cmd c;
	uint64_t cap;
	uint32_t sid, nr = 0, bs;
	int i;

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(MBATCH_JOURNAL_INTERNAL, qi.journal);
	EXPECT_EQ(MBATCH_JOURNAL_SIZE_DEFAULT, qi.journal_size);
	EXPECT_EQ(1, qi.journal_gen);
	EXPECT_FALSE(mb_is_zero(qi.journal_uuid, 16));
	EXPECT_STREQ("", qi.journal_dev);
	cap = self->bytes - MBATCH_JOURNAL_SIZE_DEFAULT;
	EXPECT_EQ(cap, qi.capacity);
	bs = qi.block_size;
	memcpy(uuid, qi.journal_uuid, 16);

	/* Both copies made, generation 1, all fields as documented. */
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	for (i = 0; i < 2; i++)
		EXPECT_TRUE(sb_matches(two + i * JB, &qi, 1,
				       MBATCH_JOURNAL_SB_F_INTERNAL, cap, bs))
			TH_LOG("copy %d does not match", i);

	/* The capacity is enforced; the last block below it is the data's. */
	ASSERT_EQ(0, mb_session_open(&self->s, self->q, 0, &sid));
	buf = calloc(1, 8192);
	back = calloc(1, 4096);
	ASSERT_TRUE(buf && back);
	mb_pattern(buf, 4096, self->rng, cap - 4096);
	c = (struct mb_cmd){ .tag = 1, .op = MBATCH_OP_WRITE,
		.offset = cap, .len = bs, .data = buf, .data_len = bs };
	submit_one(_metadata, &self->s, sid, 1, &c, -ERANGE, X_BEYOND);
	c = (struct mb_cmd){ .tag = 2, .op = MBATCH_OP_WRITE,
		.offset = cap - 4096, .len = 8192, .data = buf,
		.data_len = 8192 };
	submit_one(_metadata, &self->s, sid, 2, &c, -ERANGE, X_BEYOND);
	c = (struct mb_cmd){ .tag = 3, .op = MBATCH_OP_WRITE,
		.offset = cap - 4096, .len = 4096, .data = buf,
		.data_len = 4096 };
	submit_one(_metadata, &self->s, sid, 3, &c, 0, NULL);
	ASSERT_EQ(0, mb_collect_all(&self->s, sid, 1, 10000, &r, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(0, r[0].status);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_session_close(&self->s, sid));
	ASSERT_EQ(0, mb_pread_direct(self->dev, cap - 4096, back, 4096));
	EXPECT_EQ(0, memcmp(buf, back, 4096));
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
	EXPECT_EQ(0, memcmp(two, two2, sizeof(two)));
	free(buf);
	free(back);

	/* Found again twice: same UUID, generations 2 then 3, in turn. */
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
		q.size = i == 3 ? MBATCH_JOURNAL_SIZE_DEFAULT : 0;
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_EQ(i, qi.journal_gen);
		EXPECT_EQ(0, memcmp(uuid, qi.journal_uuid, 16));
		EXPECT_EQ(cap, qi.capacity);
		ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
		/* generation 2 went to copy 1, 3 to copy 0 */
		EXPECT_TRUE(sb_matches(two + (i == 2) * JB, &qi, i,
				       MBATCH_JOURNAL_SB_F_INTERNAL, cap, bs));
		EXPECT_TRUE(sb_matches(two + (i != 2) * JB, &qi, i - 1,
				       MBATCH_JOURNAL_SB_F_INTERNAL, cap, bs));
	}
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));

	/* Refusals of the device that holds it; none touches it. */
	q.size = 8 * MIB;
	EXPECT_REFUSED(qnew(&self->s, &q), EINVAL, X_JOURNAL_SIZE_DIFFERS,
		       q.off_size);
	q = (struct qnew){ .name = self->q, .dev = self->dev };
	EXPECT_REFUSED(qnew(&self->s, &q), EEXIST, X_HOLDS_JOURNAL,
		       q.off_dev);
	q = (struct qnew){ .name = self->q, .dev = self->dev,
			   .kind = MBATCH_JOURNAL_DEVICE, .jdev = self->jdev };
	EXPECT_REFUSED(qnew(&self->s, &q), EEXIST, X_HOLDS_JOURNAL,
		       q.off_dev);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
	EXPECT_EQ(0, memcmp(two, two2, sizeof(two)));
	ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two2));
	EXPECT_TRUE(mb_is_zero(two2, sizeof(two2)));
	EXPECT_TRUE(mb_dev_free(self->dev));
	EXPECT_TRUE(mb_dev_free(self->jdev));

	/* More than half of the device, on a blank one. */
	memset(two2, 0, sizeof(two2));
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, two2));
	q = (struct qnew){ .name = self->q, .dev = self->dev,
			   .kind = MBATCH_JOURNAL_INTERNAL,
			   .size = self->bytes / 2 + JB };
	EXPECT_REFUSED(qnew(&self->s, &q), ENOSPC, X_JOURNAL_HALF,
		       q.off_size);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
	EXPECT_TRUE(mb_is_zero(two2, sizeof(two2)));

	/* No journal, but not zero there either: data, never written over. */
	memset(two2, 0, sizeof(two2));
	two2[JB + 17] = 1;
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, two2));
	q.size = 0;
	EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN, X_JOURNAL_NOT_ZERO,
		       q.off_dev);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	EXPECT_EQ(0, memcmp(two, two2, sizeof(two)));
	memset(two2, 0, sizeof(two2));
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, two2));

	/* Wiped: the device is the sessions' again, all of it. */
	q = (struct qnew){ .name = self->q, .dev = self->dev };
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(self->bytes, qi.capacity);
	EXPECT_EQ(0, qi.journal);
}

/*
 * A journal on a device of its own: the data device keeps its capacity,
 * the journal device is held while the queue lives. The journal device is
 * not taken for data, nor for an internal journal, nor twice.
 */
TEST_F(journal, device)
{
	unsigned char two[2 * JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_DEVICE, .jdev = self->jdev,
			  .size = 4 * MIB };
	int i;

	for (i = 1; i <= 2; i++) {
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_EQ(MBATCH_JOURNAL_DEVICE, qi.journal);
		EXPECT_STREQ(self->jdev, qi.journal_dev);
		EXPECT_EQ(4 * MIB, qi.journal_size);
		EXPECT_EQ(i, qi.journal_gen);
		EXPECT_EQ(self->bytes, qi.capacity);
		EXPECT_FALSE(mb_dev_free(self->jdev));
		ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
		EXPECT_TRUE(sb_matches(two + (i == 2) * JB, &qi, i, 0,
				       self->bytes, qi.block_size));
		ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
		EXPECT_TRUE(mb_is_zero(two, sizeof(two)));
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
		q.size = 0;
	}

	/* The queue's own device as its journal device. */
	q.jdev = self->dev;
	EXPECT_REFUSED(qnew(&self->s, &q), EBUSY, X_JOURNAL_BUSY, q.off_jdev);
	/* The journal device as a queue's data, bare or with its own journal. */
	q = (struct qnew){ .name = self->q, .dev = self->jdev };
	EXPECT_REFUSED(qnew(&self->s, &q), EEXIST, X_HOLDS_JOURNAL,
		       q.off_dev);
	q.kind = MBATCH_JOURNAL_INTERNAL;
	EXPECT_REFUSED(qnew(&self->s, &q), EINVAL, X_JOURNAL_IS_DEVICE,
		       q.off_kind);
	/* An internal journal's device as another queue's journal device. */
	q = (struct qnew){ .name = self->q, .dev = self->jdev,
			   .kind = MBATCH_JOURNAL_DEVICE, .jdev = self->dev };
	memset(two, 0, sizeof(two));
	ASSERT_EQ(0, sb_write(self->jdev, self->jbytes, two));
	{
		struct qnew mk = { .name = self->q, .dev = self->dev,
				   .kind = MBATCH_JOURNAL_INTERNAL,
				   .size = 2 * MIB };

		ASSERT_EQ(0, qnew(&self->s, &mk)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	}
	EXPECT_REFUSED(qnew(&self->s, &q), EINVAL, X_JOURNAL_IS_INTERNAL,
		       q.off_jdev);
	EXPECT_TRUE(mb_dev_free(self->dev));
	EXPECT_TRUE(mb_dev_free(self->jdev));
}

/* Make a journal, use it once more: copy 0 generation 1, copy 1 gen 2. */
static void two_gens(struct __test_metadata *_metadata,
		     FIXTURE_DATA(journal) *self, unsigned char *two)
{
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	}
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	ASSERT_EQ(1, le64toh(SB(two, 0)->generation));
	ASSERT_EQ(2, le64toh(SB(two, 1)->generation));
}

/*
 * The newest copy torn (half of its block garbage): the older one is used
 * and the torn one written again. Both damaged: refused, never written.
 */
TEST_F(journal, torn)
{
	unsigned char two[2 * JB], good[2 * JB], now[2 * JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	uint64_t x = self->rng;
	int i;

	two_gens(_metadata, self, good);
	memcpy(two, good, sizeof(two));
	for (i = JB + JB / 2; i < 2 * JB; i++)
		two[i] = (unsigned char)mb_rng_next(&x);
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, two));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(2, qi.journal_gen);	/* copy 0's 1, + 1 */
	EXPECT_EQ(0, memcmp(SB(good, 0)->uuid, qi.journal_uuid, 16));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, now));
	EXPECT_EQ(0, memcmp(now, good, JB));
	EXPECT_TRUE(sb_crc_ok(now + JB));
	EXPECT_EQ(2, le64toh(SB(now, 1)->generation));

	/* Copy 0 torn too: nothing to trust. */
	for (i = JB / 2; i < JB; i++)
		now[i] ^= 0x5a;
	now[JB + 100] ^= 1;
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, now));
	EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN, X_JOURNAL_CRC, q.off_dev);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	EXPECT_EQ(0, memcmp(now, two, sizeof(two)));
	EXPECT_TRUE(mb_dev_free(self->dev));
	/* A damaged journal is not data either. */
	{
		struct qnew bare = { .name = self->q, .dev = self->dev };

		EXPECT_REFUSED(qnew(&self->s, &bare), EEXIST, X_HOLDS_JOURNAL,
			       bare.off_dev);
	}
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	EXPECT_EQ(0, memcmp(now, two, sizeof(two)));

	/* One copy back: used again. */
	memcpy(now, good, JB);
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, now));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(2, qi.journal_gen);
}

struct sb_case {
	const char *name;
	void (*mutate)(struct mbatch_journal_sb *sb, unsigned char *blk);
	int err;
	const char *text;
};

#define MUT(n)	static void n(struct mbatch_journal_sb *sb, unsigned char *blk)
MUT(m_version) { (void)blk; sb->version = htole32(2); }
MUT(m_version0) { (void)blk; sb->version = 0; }
MUT(m_flags) { (void)blk; sb->flags |= htole32(1U << 7); }
MUT(m_reserved) { (void)blk; sb->reserved[1] = htole64(1); }
MUT(m_head_unaligned) { (void)blk; sb->log_head = htole64(512); }
MUT(m_head_past) { (void)blk; sb->log_head = sb->log_len; }
MUT(m_head_seq0) { (void)blk; sb->log_head_seq = 0; }
MUT(m_head_seq_max) { (void)blk; sb->log_head_seq = htole64(~0ULL); }
MUT(m_reserved0) { (void)blk; sb->reserved0 = htole32(1); }
MUT(m_tail) { (void)sb; blk[JB - 1] = 1; }
MUT(m_gen0) { (void)blk; sb->generation = 0; }
MUT(m_gen_max) { (void)blk; sb->generation = htole64(~0ULL); }
MUT(m_size_small) { (void)blk; sb->size = htole64(MBATCH_JOURNAL_SIZE_MIN - JB); }
MUT(m_size_big) { (void)blk; sb->size = htole64(MBATCH_JOURNAL_SIZE_MAX + JB); }
MUT(m_size_odd) { (void)blk; sb->size = htole64(le64toh(sb->size) + 512); }
MUT(m_bs) { (void)blk; sb->block_size = htole32(1000); }
MUT(m_bs_big) { (void)blk; sb->block_size = htole32(8192); }
MUT(m_data0) { (void)blk; sb->data_bytes = 0; }
MUT(m_log_over)
{
	(void)blk;
	sb->log_len = htole64(le64toh(sb->log_len) + JB);
}
MUT(m_snap_out)
{
	(void)blk;
	sb->snap_offset[1] = htole64(le64toh(sb->size));
}
MUT(m_snap_wrap)
{
	(void)blk;
	sb->snap_offset[0] = htole64(~0ULL - JB + 1);
}
MUT(m_snap_same) { (void)blk; sb->snap_offset[1] = sb->snap_offset[0]; }
MUT(m_log_unaligned) { (void)blk; sb->log_offset = htole64(512); }
MUT(m_snap0) { (void)blk; sb->snap_len = 0; }
MUT(m_log_one) { (void)blk; sb->log_len = htole64(JB); }
MUT(m_not_internal) { (void)blk; sb->flags = 0; }
MUT(m_data_other)
{
	(void)blk;
	sb->data_bytes = htole64(le64toh(sb->data_bytes) - JB);
}
MUT(m_bs_other) { (void)blk; sb->block_size = htole32(4096); }
MUT(m_claims_dev)
{
	/* 128 MiB on a 64 MiB device, laid out as the module would */
	uint64_t sl = 16 * MIB, ll = 128 * MIB - 2 * JB - 2 * sl;

	(void)blk;
	sb->size = htole64(128 * MIB);
	sb->snap_len = htole64(sl);
	sb->log_len = htole64(ll);
	sb->snap_offset[0] = htole64(ll);
	sb->snap_offset[1] = htole64(ll + sl);
}
MUT(m_claims_more)
{
	/* 48 MiB of a 64 MiB device: valid alone, the data would be 16 */
	(void)blk;
	sb->size = htole64(48 * MIB);
	sb->log_len = htole64(48 * MIB - 2 * JB - 2 * le64toh(sb->snap_len));
	sb->snap_offset[0] = sb->log_len;
	sb->snap_offset[1] = htole64(le64toh(sb->log_len) +
				     le64toh(sb->snap_len));
}

static const struct sb_case sb_cases[] = {
	{ "newer version", m_version, EUCLEAN, X_JOURNAL_NEWER },
	{ "version 0", m_version0, EUCLEAN, X_JOURNAL_VERSION },
	{ "unknown flag", m_flags, EUCLEAN, X_JOURNAL_FLAGS },
	{ "reserved field", m_reserved, EUCLEAN, X_JOURNAL_RESERVED },
	{ "reserved0 field", m_reserved0, EUCLEAN, X_JOURNAL_RESERVED },
	{ "block tail", m_tail, EUCLEAN, X_JOURNAL_RESERVED },
	{ "generation 0", m_gen0, EUCLEAN, X_JOURNAL_GEN0 },
	{ "generation at its end", m_gen_max, EUCLEAN, X_JOURNAL_GEN0 },
	{ "size below min", m_size_small, EUCLEAN, X_JOURNAL_SIZE_RANGE },
	{ "size above max", m_size_big, EUCLEAN, X_JOURNAL_SIZE_RANGE },
	{ "size not blocks", m_size_odd, EUCLEAN, X_JOURNAL_SIZE_RANGE },
	{ "block size 1000", m_bs, EUCLEAN, X_JOURNAL_IMPOSSIBLE },
	{ "block size 8192", m_bs_big, EUCLEAN, X_JOURNAL_IMPOSSIBLE },
	{ "data bytes 0", m_data0, EUCLEAN, X_JOURNAL_IMPOSSIBLE },
	{ "log into a snapshot", m_log_over, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "snapshot past the area", m_snap_out, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "snapshot offset wraps", m_snap_wrap, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "snapshots overlap", m_snap_same, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "log unaligned", m_log_unaligned, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "snapshot length 0", m_snap0, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "log of one block", m_log_one, EUCLEAN, X_JOURNAL_LAYOUT },
	{ "log head unaligned", m_head_unaligned, EUCLEAN, X_JOURNAL_HEAD },
	{ "log head past the log", m_head_past, EUCLEAN, X_JOURNAL_HEAD },
	{ "log head sequence 0", m_head_seq0, EUCLEAN, X_JOURNAL_HEAD },
	{ "log head sequence at its end", m_head_seq_max, EUCLEAN,
	  X_JOURNAL_HEAD },
	{ "not internal", m_not_internal, EINVAL, X_JOURNAL_IS_DEVICE },
	{ "other data size", m_data_other, EINVAL, X_JOURNAL_RESIZED },
	{ "other block size", m_bs_other, EINVAL, X_JOURNAL_BS_CHANGED },
	{ "area and data disagree", m_claims_more, EINVAL, X_JOURNAL_RESIZED },
	{ "larger than the device", m_claims_dev, EUCLEAN, X_JOURNAL_CLAIMS },
};

/*
 * Every field check, hit with a valid CRC in both copies; then random
 * damage: a copy is either refused (and the device left as it was) or, if
 * the damage kept it valid, used as the copy it now is. Never a splat.
 */
TEST_F_TIMEOUT(journal, fuzz, 180)
{
	unsigned char good[2 * JB], two[2 * JB], now[2 * JB], log0[2 * JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	unsigned int i, refused = 0, used = 0, rounds = 300;
	uint64_t x = self->rng, logpos;

	two_gens(_metadata, self, good);
	/*
	 * The log's first blocks as the two uses left them, written back
	 * every round: a copy damaged with a valid CRC can move the log's
	 * head, and what its use appends there must not reach the next
	 * round.
	 */
	logpos = self->bytes / JB * JB - le64toh(SB(good, 0)->size) +
		 le64toh(SB(good, 0)->log_offset);
	ASSERT_EQ(0, mb_pread_direct(self->dev, logpos, log0, sizeof(log0)));
	for (i = 0; i < sizeof(sb_cases) / sizeof(sb_cases[0]); i++) {
		const struct sb_case *k = &sb_cases[i];
		int c, ret;

		memcpy(two, good, sizeof(two));
		for (c = 0; c < 2; c++) {
			k->mutate(SB(two, c), two + c * JB);
			sb_seal(two + c * JB);
		}
		ASSERT_EQ(0, sb_write(self->dev, self->bytes, two));
		ret = qnew(&self->s, &q);
		EXPECT_EQ(-k->err, ret) TH_LOG("%s: %s", k->name,
					       mb_strerr(&self->s));
		EXPECT_TRUE(mb_contains(self->s.err.msg, k->text))
			TH_LOG("%s: extack '%s', want '%s'", k->name,
			       self->s.err.msg, k->text);
		if (!ret)
			ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev,
					      NULL));
		ASSERT_EQ(0, sb_read(self->dev, self->bytes, now));
		EXPECT_EQ(0, memcmp(two, now, sizeof(two)))
			TH_LOG("%s: a refused journal was written", k->name);
		EXPECT_TRUE(mb_dev_free(self->dev));
	}

	/* Two valid copies of different journals. */
	memcpy(two, good, sizeof(two));
	SB(two, 1)->uuid[5] ^= 0x10;
	sb_seal(two + JB);
	ASSERT_EQ(0, sb_write(self->dev, self->bytes, two));
	EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN, X_JOURNAL_TWO, q.off_dev);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, now));
	EXPECT_EQ(0, memcmp(two, now, sizeof(two)));

	/*
	 * Random damage: bit flips in copy 0, copy 1 or both, mostly in the
	 * fields, sealed with a valid CRC or not. Where no damaged copy
	 * carries a valid CRC the outcome is exact: an undamaged copy is used
	 * (the newest of them, generation + 1), else it is refused (copies
	 * without the magic that are not zero are not a blank device).
	 */
	for (i = 0; i < rounds; i++) {
		uint64_t r = mb_rng_next(&x), want_gen = 0;
		int nflip = 1 + (int)(r % 4), f, c, ret, seal = (r >> 8) & 1;
		int which = (int)((r >> 9) % 3);	/* copy 0, 1 or both */
		int st[2], exact = 1;

		memcpy(two, good, sizeof(two));
		for (f = 0; f < nflip; f++) {
			uint64_t p = mb_rng_next(&x);
			size_t off = p & 1 ?
				(p >> 1) % sizeof(struct mbatch_journal_sb) :
				(p >> 1) % JB;

			if (which != 1)
				two[off] ^= (unsigned char)(1 << ((p >> 20) & 7));
			if (which != 0)
				two[JB + off] ^= (unsigned char)(1 << ((p >> 24) & 7));
		}
		for (c = 0; c < 2; c++) {
			unsigned char *b = two + c * JB;

			if (!memcmp(b, good + c * JB, JB)) {
				st[c] = 0;	/* undamaged */
				if (le64toh(SB(b, 0)->generation) + 1 > want_gen)
					want_gen = le64toh(SB(b, 0)->generation) + 1;
				continue;
			}
			if (seal)
				sb_seal(b);
			if (le32toh(SB(b, 0)->magic) != MBATCH_JOURNAL_MAGIC) {
				st[c] = 1;	/* no magic, not zero */
			} else if (!sb_crc_ok(b)) {
				st[c] = 2;	/* fails its CRC */
			} else {
				st[c] = 3;	/* damaged, valid CRC */
				exact = 0;
			}
		}
		ASSERT_EQ(0, mb_pwrite_direct(self->dev, logpos, log0,
					      sizeof(log0)));
		ASSERT_EQ(0, sb_write(self->dev, self->bytes, two));
		ret = qnew(&self->s, &q);
		if (exact)
			EXPECT_EQ(want_gen ? 0 : -EUCLEAN, ret)
				TH_LOG("round %u: copies %d %d: %s", i, st[0],
				       st[1], mb_strerr(&self->s));
		if (ret) {
			refused++;
			EXPECT_TRUE(ret == -EUCLEAN || ret == -EINVAL)
				TH_LOG("round %u: %s", i, mb_strerr(&self->s));
			EXPECT_TRUE(mb_contains(self->s.err.msg, "journal") ||
				    mb_contains(self->s.err.msg, "device"))
				TH_LOG("round %u: extack '%s'", i, self->s.err.msg);
			ASSERT_EQ(0, sb_read(self->dev, self->bytes, now));
			EXPECT_EQ(0, memcmp(two, now, sizeof(two)))
				TH_LOG("round %u: a refused journal was written", i);
			EXPECT_TRUE(mb_dev_free(self->dev));
			continue;
		}
		used++;
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		if (exact)
			EXPECT_EQ(want_gen, qi.journal_gen)
				TH_LOG("round %u: copies %d %d", i, st[0], st[1]);
		EXPECT_EQ(self->bytes - qi.journal_size, qi.capacity);
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	}
	TH_LOG("%u rounds: %u refused, %u used", rounds, refused, used);
	EXPECT_GT(refused, rounds / 10);
	EXPECT_GT(used, rounds / 10);
}

/* The record log, as <linux/mbatch_journal.h> describes it. */
#define REC_USE_LEN	((uint16_t)sizeof(struct mbatch_jrec_use))
#define RECS_PER_BLOCK	(JB / REC_USE_LEN)	/* 128 records of 32 bytes */

static uint32_t rec_crc(const unsigned char *uuid, const unsigned char *rec,
			uint16_t len)
{
	unsigned char tmp[16 + JB];

	memcpy(tmp, uuid, 16);
	memcpy(tmp + 16, rec, len);
	((struct mbatch_journal_rec *)(tmp + 16))->crc = 0;
	return crc32c(tmp, 16 + len);
}

/* Put a record at @off of @blk: @type, @len, sealed for @uuid. */
static void rec_put(unsigned char *blk, uint32_t off, const unsigned char *uuid,
		    uint64_t seq, uint16_t type, uint16_t len, uint64_t gen)
{
	struct mbatch_jrec_use *u = (void *)(blk + off);

	memset(blk + off, 0, len);
	u->hdr.magic = htole32(MBATCH_JOURNAL_REC_MAGIC);
	u->hdr.seq = htole64(seq);
	u->hdr.type = htole16(type);
	u->hdr.len = htole16(len);
	if (len >= REC_USE_LEN)
		u->generation = htole64(gen);
	u->hdr.crc = htole32(rec_crc(uuid, blk + off, len));
}

/* Is the record at @off of @blk a USE record @seq of generation @gen? */
static int rec_is_use(const unsigned char *blk, uint32_t off,
		      const unsigned char *uuid, uint64_t seq, uint64_t gen)
{
	const struct mbatch_jrec_use *u = (const void *)(blk + off);

	return !memcmp(blk + off, "MBTR", 4) &&
	       le64toh(u->hdr.seq) == seq &&
	       le16toh(u->hdr.type) == MBATCH_JREC_USE &&
	       le16toh(u->hdr.len) == REC_USE_LEN && !u->hdr.reserved &&
	       le32toh(u->hdr.crc) == rec_crc(uuid, blk + off, REC_USE_LEN) &&
	       le64toh(u->generation) == gen;
}

/* Where a journal's log is: its first byte on the device, its blocks. */
struct jlog {
	const char *dev;
	uint64_t start, nblocks;
	unsigned char uuid[16];
};

static int jlog_find(struct jlog *lg, const char *dev, uint64_t bytes,
		     const struct mb_queue_info *qi)
{
	unsigned char two[2 * JB] = { 0 };

	if (sb_read(dev, bytes, two))
		return -1;
	lg->dev = dev;
	lg->start = bytes / JB * JB - qi->journal_size +
		    le64toh(SB(two, 0)->log_offset);
	lg->nblocks = le64toh(SB(two, 0)->log_len) / JB;
	memcpy(lg->uuid, qi->journal_uuid, 16);
	return 0;
}

static int jlog_read(const struct jlog *lg, uint64_t b, unsigned char *blk)
{
	return mb_pread_direct(lg->dev, lg->start + b * JB, blk, JB);
}

static int jlog_write(const struct jlog *lg, uint64_t b,
		      const unsigned char *blk)
{
	return mb_pwrite_direct(lg->dev, lg->start + b * JB, blk, JB);
}

/* Records that fit at least, as the module counts them. */
static uint64_t room(uint64_t nblocks, uint64_t head, uint64_t tail,
		     uint32_t off)
{
	return (head + nblocks - tail - 1) % nblocks *
	       (JB / MBATCH_JOURNAL_REC_MAX) +
	       (JB - off) / MBATCH_JOURNAL_REC_MAX;
}

/* Set both superblock copies' log head, sealed. */
static int set_head(const char *dev, uint64_t bytes, uint64_t head,
		    uint64_t seq)
{
	unsigned char two[2 * JB] = { 0 };
	int c;

	if (sb_read(dev, bytes, two))
		return -1;
	for (c = 0; c < 2; c++) {
		SB(two, c)->log_head = htole64(head * JB);
		SB(two, c)->log_head_seq = htole64(seq);
		sb_seal(two + c * JB);
	}
	return sb_write(dev, bytes, two);
}

#define EXPECT_LOG(qi, seq, records, rm) do {				\
	EXPECT_EQ((uint64_t)(seq), (qi).log_seq);			\
	EXPECT_EQ((uint64_t)(records), (qi).log_records);		\
	EXPECT_EQ((uint64_t)(rm), (qi).log_room);			\
} while (0)

/*
 * Every use appends a USE record of its generation, read back from the
 * device; a torn last record is lost and its place written again; the log
 * goes on at the next block's start; a record the module does not know,
 * or of the wrong length, is refused and nothing is written.
 */
TEST_F(journal, log)
{
	static const unsigned char other_uuid[16] = {
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	unsigned char blk[JB], back[JB], two[2 * JB], two2[2 * JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	struct jlog lg;
	uint64_t seq, gen;
	uint32_t off;
	int i;

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	ASSERT_EQ(0, jlog_find(&lg, self->dev, self->bytes, &qi));
	ASSERT_GT(lg.nblocks, 2);
	EXPECT_LOG(qi, 1, 1, room(lg.nblocks, 0, 0, REC_USE_LEN));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_TRUE(rec_is_use(blk, 0, lg.uuid, 1, 1));
	EXPECT_TRUE(mb_is_zero(blk + REC_USE_LEN, JB - REC_USE_LEN));

	/* Used twice more: generations 2 and 3, records 2 and 3. */
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_LOG(qi, i, i, room(lg.nblocks, 0, 0, i * REC_USE_LEN));
	}
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(rec_is_use(blk, i * REC_USE_LEN, lg.uuid, i + 1,
				       i + 1)) TH_LOG("record %d", i + 1);

	/* The last record torn: lost; the next use takes its number. */
	blk[2 * REC_USE_LEN + 27] ^= 0x40;
	ASSERT_EQ(0, jlog_write(&lg, 0, blk));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(4, qi.journal_gen);
	EXPECT_LOG(qi, 3, 3, room(lg.nblocks, 0, 0, 3 * REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_TRUE(rec_is_use(blk, 2 * REC_USE_LEN, lg.uuid, 3, 4));
	EXPECT_TRUE(mb_is_zero(blk + 3 * REC_USE_LEN, JB - 3 * REC_USE_LEN));

	/*
	 * Block 0 filled up to 32 bytes before its end, the log going on at
	 * block 1's start: records 4..127, then 128 and 129 in block 1.
	 */
	for (seq = 4, off = 3 * REC_USE_LEN; off < JB - REC_USE_LEN;
	     seq++, off += REC_USE_LEN)
		rec_put(blk, off, lg.uuid, seq, MBATCH_JREC_USE, REC_USE_LEN,
			100 + seq);
	ASSERT_EQ(128, seq);
	ASSERT_EQ(0, jlog_write(&lg, 0, blk));
	memset(back, 0, JB);
	rec_put(back, 0, lg.uuid, 128, MBATCH_JREC_USE, REC_USE_LEN, 7);
	rec_put(back, REC_USE_LEN, lg.uuid, 129, MBATCH_JREC_USE, REC_USE_LEN, 7);
	ASSERT_EQ(0, jlog_write(&lg, 1, back));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	gen = qi.journal_gen;
	EXPECT_EQ(5, gen);
	EXPECT_LOG(qi, 130, 130, room(lg.nblocks, 0, 1, 3 * REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	ASSERT_EQ(0, jlog_read(&lg, 1, back));
	EXPECT_TRUE(rec_is_use(back, 2 * REC_USE_LEN, lg.uuid, 130, gen));
	ASSERT_EQ(0, jlog_read(&lg, 0, back));
	EXPECT_EQ(0, memcmp(blk, back, JB));

	/* What the module does not understand, sealed, as record 131. */
	{
		static const struct { uint16_t type, len; int res; const char *text; } bad[] = {
			{ 77, REC_USE_LEN, 0, X_JLOG_TYPE },
			{ 0, REC_USE_LEN, 0, X_JLOG_TYPE },
			{ MBATCH_JREC_USE, REC_USE_LEN + 8, 0, X_JLOG_MALFORMED },
			{ MBATCH_JREC_USE, 24, 0, X_JLOG_MALFORMED },
			/* sealed as written: not a torn end, whatever its length */
			{ MBATCH_JREC_USE, MBATCH_JOURNAL_REC_MAX + 8, 0, X_JLOG_MALFORMED },
			{ MBATCH_JREC_USE, REC_USE_LEN + 4, 0, X_JLOG_MALFORMED },
			{ MBATCH_JREC_USE, REC_USE_LEN, 1, X_JLOG_MALFORMED },
		};
		unsigned int k;

		ASSERT_EQ(0, jlog_read(&lg, 1, blk));
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			struct mbatch_journal_rec *r = (void *)(blk + 3 * REC_USE_LEN);

			rec_put(blk, 3 * REC_USE_LEN, lg.uuid, 131, bad[k].type,
				bad[k].len, 1);
			if (bad[k].res) {
				r->reserved = htole32(bad[k].res);
				r->crc = htole32(rec_crc(lg.uuid, (void *)r,
							 bad[k].len));
			}
			ASSERT_EQ(0, jlog_write(&lg, 1, blk));
			ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
			EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN, bad[k].text,
				       q.off_dev);
			ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
			EXPECT_EQ(0, memcmp(two, two2, sizeof(two)))
				TH_LOG("case %u: the superblock was written", k);
			ASSERT_EQ(0, jlog_read(&lg, 1, back));
			EXPECT_EQ(0, memcmp(blk, back, JB))
				TH_LOG("case %u: the log was written", k);
			EXPECT_TRUE(mb_dev_free(self->dev));
		}
		/* Sealed for another journal: not this log's; it ends. */
		memset(blk + 3 * REC_USE_LEN, 0, JB - 3 * REC_USE_LEN);
		rec_put(blk, 3 * REC_USE_LEN, other_uuid, 131, MBATCH_JREC_USE,
			REC_USE_LEN, 1);
		ASSERT_EQ(0, jlog_write(&lg, 1, blk));
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_LOG(qi, 131, 131, room(lg.nblocks, 0, 1, 4 * REC_USE_LEN));
		gen = qi.journal_gen;
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
		ASSERT_EQ(0, jlog_read(&lg, 1, blk));
		EXPECT_TRUE(rec_is_use(blk, 3 * REC_USE_LEN, lg.uuid, 131, gen));

		/* The same bytes, unsealed, are not a record: the log ends. */
		rec_put(blk, 4 * REC_USE_LEN, lg.uuid, 132, MBATCH_JREC_USE,
			REC_USE_LEN, 1);
		blk[4 * REC_USE_LEN + 4] ^= 1;
		ASSERT_EQ(0, jlog_write(&lg, 1, blk));
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_LOG(qi, 132, 132, room(lg.nblocks, 0, 1, 5 * REC_USE_LEN));
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	}

	/*
	 * A later record past the end is damage, not a torn last write:
	 * refused, and nothing written. Record 133 damaged with 134 after
	 * it; 133 missing and 135 in its place; 134 at the next block's
	 * start, or later in it.
	 */
	{
		static const struct { uint64_t blk; uint32_t off; uint64_t seq; int flip; } later[] = {
			{ 1, 6 * REC_USE_LEN, 134, 1 },
			{ 1, 5 * REC_USE_LEN, 135, 0 },
			{ 1, 5 * REC_USE_LEN + 8, 140, 0 },
			{ 2, 0, 134, 0 },
			{ 2, 10 * REC_USE_LEN, 134, 0 },
		};
		unsigned char clean[JB], nback[JB];
		unsigned int k;

		ASSERT_EQ(0, jlog_read(&lg, 1, clean));
		ASSERT_TRUE(mb_is_zero(clean + 5 * REC_USE_LEN,
				       JB - 5 * REC_USE_LEN));
		for (k = 0; k < sizeof(later) / sizeof(later[0]); k++) {
			memcpy(blk, clean, JB);
			memset(back, 0, JB);
			if (later[k].flip) {
				rec_put(blk, 5 * REC_USE_LEN, lg.uuid, 133,
					MBATCH_JREC_USE, REC_USE_LEN, 1);
				blk[5 * REC_USE_LEN + 20] ^= 8;
			}
			rec_put(later[k].blk == 1 ? blk : back, later[k].off,
				lg.uuid, later[k].seq, MBATCH_JREC_USE,
				REC_USE_LEN, 1);
			ASSERT_EQ(0, jlog_write(&lg, 1, blk));
			ASSERT_EQ(0, jlog_write(&lg, 2, back));
			ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
			EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN,
				       X_JLOG_DAMAGED, q.off_dev);
			ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
			EXPECT_EQ(0, memcmp(two, two2, sizeof(two)))
				TH_LOG("case %u: the superblock was written", k);
			ASSERT_EQ(0, jlog_read(&lg, 1, nback));
			EXPECT_EQ(0, memcmp(blk, nback, JB))
				TH_LOG("case %u: the log was written", k);
			EXPECT_TRUE(mb_dev_free(self->dev));
		}
		/* An older record there is no damage. */
		memset(back, 0, JB);
		rec_put(back, 0, lg.uuid, 7, MBATCH_JREC_USE, REC_USE_LEN, 1);
		ASSERT_EQ(0, jlog_write(&lg, 1, clean));
		ASSERT_EQ(0, jlog_write(&lg, 2, back));
		ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_LOG(qi, 133, 133, room(lg.nblocks, 0, 1, 6 * REC_USE_LEN));
	}
}

/* The superblock copy of the highest generation. */
static const struct mbatch_journal_sb *sb_newest(const unsigned char *two)
{
	return le64toh(SB(two, 1)->generation) > le64toh(SB(two, 0)->generation) ?
	       SB(two, 1) : SB(two, 0);
}

#define EXPECT_HEAD(two, blk, seq) do {					\
	EXPECT_EQ((uint64_t)(blk) * JB, le64toh(sb_newest(two)->log_head)); \
	EXPECT_EQ((uint64_t)(seq), le64toh(sb_newest(two)->log_head_seq)); \
} while (0)

/*
 * A 1 MiB journal on its own device. A log whose records fill more than
 * half of its blocks is trimmed at the next use: its head becomes the tail
 * block, in the superblock written before the record, so a log never
 * fills; one that fills half of them is not. A log whose head is its last
 * block goes on around the ring's end.
 */
TEST_F(journal, log_ring)
{
	unsigned char two[2 * JB], blk[JB];
	unsigned char *all;
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_DEVICE, .jdev = self->jdev,
			  .size = MBATCH_JOURNAL_SIZE_MIN };
	struct jlog lg;
	uint64_t b, n, seq = 1, half;
	uint32_t r;

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	ASSERT_EQ(0, jlog_find(&lg, self->jdev, self->jbytes, &qi));
	n = lg.nblocks;
	half = n / 2;
	ASSERT_GT(n, 3);
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));

	/* Every block full: trimmed to the last; the record goes to block 0. */
	all = calloc(n, JB);
	ASSERT_TRUE(all != NULL);
	for (b = 0; b < n; b++)
		for (r = 0; r < RECS_PER_BLOCK; r++)
			rec_put(all + b * JB, r * REC_USE_LEN, lg.uuid, seq++,
				MBATCH_JREC_USE, REC_USE_LEN, 1);
	ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, n * JB));
	ASSERT_EQ(0, set_head(self->jdev, self->jbytes, 0, 1));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	seq = n * RECS_PER_BLOCK + 1;
	EXPECT_LOG(qi, seq, RECS_PER_BLOCK + 1, room(n, n - 1, 0, REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
	EXPECT_HEAD(two, n - 1, (n - 1) * RECS_PER_BLOCK + 1);
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_TRUE(rec_is_use(blk, 0, lg.uuid, seq, qi.journal_gen));
	EXPECT_TRUE(mb_is_zero(blk + REC_USE_LEN, JB - REC_USE_LEN));
	/* Used again from there: the head stays. */
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_LOG(qi, seq + 1, RECS_PER_BLOCK + 2,
		   room(n, n - 1, 0, 2 * REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));

	/* The last block half full: trimmed to it, the record after its half. */
	memset(all + (n - 1) * JB + JB / 2, 0, JB / 2);
	ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, n * JB));
	ASSERT_EQ(0, set_head(self->jdev, self->jbytes, 0, 1));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	seq = (n - 1) * RECS_PER_BLOCK + RECS_PER_BLOCK / 2;
	EXPECT_LOG(qi, seq + 1, RECS_PER_BLOCK / 2 + 1,
		   room(n, n - 1, n - 1, JB / 2 + REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
	EXPECT_HEAD(two, n - 1, (n - 1) * RECS_PER_BLOCK + 1);

	/*
	 * Half of the blocks full: not trimmed; the record opens the next
	 * block, and the use after it trims to that block.
	 */
	memset(all + half * JB, 0, (n - half) * JB);
	ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, n * JB));
	ASSERT_EQ(0, set_head(self->jdev, self->jbytes, 0, 1));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	seq = half * RECS_PER_BLOCK + 1;
	EXPECT_LOG(qi, seq, seq, room(n, 0, half, REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
	EXPECT_HEAD(two, 0, 1);
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_LOG(qi, seq + 1, 2, room(n, half, half, 2 * REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
	EXPECT_HEAD(two, half, seq);
	ASSERT_EQ(0, jlog_read(&lg, half, blk));
	EXPECT_TRUE(rec_is_use(blk, 0, lg.uuid, seq, qi.journal_gen - 1));
	EXPECT_TRUE(rec_is_use(blk, REC_USE_LEN, lg.uuid, seq + 1,
			       qi.journal_gen));

	/*
	 * Around the end: the head is the last block (records 1000..1127),
	 * the log goes on in block 0, full (1128..1255); block 1 starts with
	 * an older lap's record, which ends the log: the next record goes
	 * there, in a block written afresh.
	 */
	memset(all, 0, n * JB);
	for (r = 0; r < RECS_PER_BLOCK; r++) {
		rec_put(all + (n - 1) * JB, r * REC_USE_LEN, lg.uuid, 1000 + r,
			MBATCH_JREC_USE, REC_USE_LEN, 1);
		rec_put(all, r * REC_USE_LEN, lg.uuid, 1128 + r,
			MBATCH_JREC_USE, REC_USE_LEN, 1);
	}
	rec_put(all + JB, 0, lg.uuid, 900, MBATCH_JREC_USE, REC_USE_LEN, 1);
	rec_put(all + JB, 2 * REC_USE_LEN, lg.uuid, 901, MBATCH_JREC_USE,
		REC_USE_LEN, 1);
	ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, n * JB));
	ASSERT_EQ(0, set_head(self->jdev, self->jbytes, n - 1, 1000));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_LOG(qi, 1256, 257, room(n, n - 1, 1, REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	ASSERT_EQ(0, jlog_read(&lg, 1, blk));
	EXPECT_TRUE(rec_is_use(blk, 0, lg.uuid, 1256, qi.journal_gen));
	EXPECT_TRUE(mb_is_zero(blk + REC_USE_LEN, JB - REC_USE_LEN));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_EQ(0, memcmp(all, blk, JB));

	/* A log whose next sequence number would be the last: refused. */
	memset(all, 0, n * JB);
	rec_put(all, 0, lg.uuid, UINT64_MAX - 2, MBATCH_JREC_USE, REC_USE_LEN, 1);
	rec_put(all, REC_USE_LEN, lg.uuid, UINT64_MAX - 1, MBATCH_JREC_USE,
		REC_USE_LEN, 1);
	ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, n * JB));
	ASSERT_EQ(0, set_head(self->jdev, self->jbytes, 0, UINT64_MAX - 2));
	EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN, X_JLOG_SEQ, q.off_jdev);
	EXPECT_TRUE(mb_dev_free(self->jdev));
	free(all);
}

/*
 * The log's I/O failing (fault knobs of the test build): a read refuses
 * the queue with nothing written; an append written but reported failed
 * refuses it too, with the superblock already at its next generation, and
 * the record found durable by the next use, which goes on after it.
 */
TEST_F(journal, log_eio)
{
	unsigned char two[2 * JB], two2[2 * JB], blk[JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	struct jlog lg;

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	ASSERT_EQ(0, jlog_find(&lg, self->dev, self->bytes, &qi));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));

	ASSERT_EQ(0, mb_knob_set("fault_jlog_read_eio", 1));
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	EXPECT_REFUSED(qnew(&self->s, &q), EIO, X_JLOG_READ, q.off_dev);
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two2));
	EXPECT_EQ(0, memcmp(two, two2, sizeof(two)));
	EXPECT_TRUE(mb_dev_free(self->dev));

	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_eio", 1));
	EXPECT_REFUSED(qnew(&self->s, &q), EIO, X_JLOG_WRITE, q.off_dev);
	EXPECT_TRUE(mb_dev_free(self->dev));
	ASSERT_EQ(0, sb_read(self->dev, self->bytes, two));
	EXPECT_EQ(2, le64toh(SB(two, 0)->generation) > le64toh(SB(two, 1)->generation) ?
		  le64toh(SB(two, 0)->generation) : le64toh(SB(two, 1)->generation));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_TRUE(rec_is_use(blk, 0, lg.uuid, 1, 1));
	EXPECT_TRUE(rec_is_use(blk, REC_USE_LEN, lg.uuid, 2, 2));

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(3, qi.journal_gen);
	EXPECT_LOG(qi, 3, 3, room(lg.nblocks, 0, 0, 3 * REC_USE_LEN));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));
	ASSERT_EQ(0, jlog_read(&lg, 0, blk));
	EXPECT_TRUE(rec_is_use(blk, 2 * REC_USE_LEN, lg.uuid, 3, 3));
}

/*
 * Random logs, randomly damaged: one bit flipped in the last record, in
 * the zeros after it, or in any record. The log ends at a damaged last
 * record and goes on after an undamaged one; the module appends its
 * record there (read back, with the room left); a damaged record with
 * later ones after it is refused, nothing written. Never a splat.
 */
TEST_F_TIMEOUT(journal, log_fuzz, 180)
{
	unsigned char *all, blk[JB], two[2 * JB], two2[2 * JB];
	struct mb_queue_info qi;
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_DEVICE, .jdev = self->jdev,
			  .size = MBATCH_JOURNAL_SIZE_MIN };
	unsigned int i, rounds = 120, refused = 0, used = 0;
	uint64_t x = self->rng, n, nrec, k, head, seq0, bytes;
	struct jlog lg;

	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	ASSERT_EQ(0, jlog_find(&lg, self->jdev, self->jbytes, &qi));
	n = lg.nblocks;
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
	all = calloc(n, JB);
	ASSERT_TRUE(all != NULL);

	for (i = 0; i < rounds; i++) {
		uint64_t rr = mb_rng_next(&x), want, b, pos, last;
		uint32_t off;

		/* 1..600 records of 32 bytes from a random head, packed */
		nrec = 1 + rr % 600;
		head = (rr >> 16) % n;
		seq0 = 1 + ((rr >> 32) & 0xffff);
		memset(all, 0, n * JB);
		for (k = 0; k < nrec; k++) {
			b = (head + k / RECS_PER_BLOCK) % n;
			off = (uint32_t)(k % RECS_PER_BLOCK) * REC_USE_LEN;
			rec_put(all + b * JB, off, lg.uuid, seq0 + k,
				MBATCH_JREC_USE, REC_USE_LEN, k);
		}
		/* a bit of the last record, of the zeros after, of any */
		rr = mb_rng_next(&x);
		k = rr % 3 == 0 ? nrec - 1 : rr % 3 == 1 ? nrec :
		    (rr >> 8) % nrec;
		if (k < nrec) {
			b = (head + k / RECS_PER_BLOCK) % n;
			pos = b * JB + k % RECS_PER_BLOCK * REC_USE_LEN +
			      (rr >> 20) % REC_USE_LEN;
			want = k + 1;
		} else {
			b = (head + nrec / RECS_PER_BLOCK) % n;
			off = (uint32_t)(nrec % RECS_PER_BLOCK) * REC_USE_LEN;
			pos = b * JB + off + (rr >> 20) % (JB - off ? JB - off : 1);
			want = nrec + 1;
		}
		all[pos] ^= (unsigned char)(1 << ((rr >> 40) & 7));
		bytes = n * JB;
		ASSERT_EQ(0, mb_pwrite_direct(lg.dev, lg.start, all, bytes));
		ASSERT_EQ(0, set_head(self->jdev, self->jbytes, head, seq0));
		if (k + 1 < nrec) {
			ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two));
			EXPECT_REFUSED(qnew(&self->s, &q), EUCLEAN,
				       X_JLOG_DAMAGED, q.off_jdev);
			ASSERT_EQ(0, sb_read(self->jdev, self->jbytes, two2));
			EXPECT_EQ(0, memcmp(two, two2, sizeof(two)));
			EXPECT_TRUE(mb_dev_free(self->jdev));
			refused++;
			continue;
		}
		ASSERT_EQ(0, qnew(&self->s, &q))
			TH_LOG("round %u: %s", i, mb_strerr(&self->s));
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		EXPECT_EQ(seq0 + want - 1, qi.log_seq)
			TH_LOG("round %u: %llu records from block %llu, bit of %llu",
			       i, (unsigned long long)nrec,
			       (unsigned long long)head, (unsigned long long)k);
		EXPECT_EQ(want, qi.log_records) TH_LOG("round %u", i);
		/* the appended record: index want - 1, packed as the rest */
		last = want - 1;
		b = (head + last / RECS_PER_BLOCK) % n;
		off = (uint32_t)(last % RECS_PER_BLOCK) * REC_USE_LEN;
		EXPECT_EQ(room(n, head, b, off + REC_USE_LEN), qi.log_room)
			TH_LOG("round %u", i);
		ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, self->jdev));
		ASSERT_EQ(0, jlog_read(&lg, b, blk));
		EXPECT_TRUE(rec_is_use(blk, off, lg.uuid, seq0 + last,
				       qi.journal_gen)) TH_LOG("round %u", i);
		EXPECT_TRUE(mb_is_zero(blk + off + REC_USE_LEN,
				       JB - off - REC_USE_LEN)) TH_LOG("round %u", i);
		used++;
	}
	TH_LOG("%u rounds: %u refused as damaged, %u used", rounds, refused,
	       used);
	EXPECT_GT(refused, rounds / 8);
	EXPECT_GT(used, rounds / 3);
	free(all);
}

TEST_HARNESS_MAIN

/* A record of the log as read back: where, and a copy of it. */
struct lrec {
	uint64_t seq;
	uint16_t type, len;
	unsigned char b[MBATCH_JOURNAL_REC_MAX];
};

/*
 * Read the log from its head (block 0, record 1: nothing trimmed) to its
 * end as the module does; up to @max records into @out, their count back.
 */
static int log_records(const struct jlog *lg, struct lrec *out, int max)
{
	unsigned char blk[JB];
	uint64_t b = 0, seq = 1;
	uint32_t off = 0;
	int n = 0;

	if (jlog_read(lg, b, blk))
		return -1;
	while (n < max) {
		const struct mbatch_journal_rec *r = (const void *)(blk + off);
		uint16_t len = off + sizeof(*r) <= JB ? le16toh(r->len) : 0;

		if (off + sizeof(*r) > JB || memcmp(r, "MBTR", 4) ||
		    le64toh(r->seq) != seq || len < sizeof(*r) ||
		    off + len > JB ||
		    le32toh(r->crc) != rec_crc(lg->uuid, blk + off, len)) {
			if (!off || ++b == lg->nblocks || jlog_read(lg, b, blk))
				break;
			off = 0;
			continue;
		}
		out[n].seq = seq;
		out[n].type = le16toh(r->type);
		out[n].len = len;
		memcpy(out[n].b, blk + off, len);
		n++;
		seq++;
		off += len;
	}
	return n;
}

/*
 * In @recs, the record of @type whose runs hold command @seq of session
 * @sid: its log sequence number, and the status through @status; 0 when
 * none, -1 when more than one holds it.
 */
static int64_t log_find_run(const struct lrec *recs, int n, uint16_t type,
			    uint32_t sid, uint64_t seq, int32_t *status)
{
	size_t size = type == MBATCH_JREC_START ? sizeof(struct mbatch_jrange) :
			      sizeof(struct mbatch_jdone);
	int64_t found = 0;
	int i;
	uint32_t k;

	for (i = 0; i < n; i++) {
		const struct mbatch_jrec_start *r = (const void *)recs[i].b;

		if (recs[i].type != type)
			continue;
		for (k = 0; k < le32toh(r->nr); k++) {
			const struct mbatch_jdone *d = (const void *)
				(recs[i].b + sizeof(*r) + k * size);
			uint64_t first = le64toh(d->range.first_seq);

			if (le32toh(d->range.session) != sid || seq < first ||
			    seq >= first + le32toh(d->range.count))
				continue;
			if (found)
				return -1;
			found = (int64_t)recs[i].seq;
			if (status && size == sizeof(*d))
				*status = (int32_t)le32toh(d->status);
		}
	}
	return found;
}

/* The log sequence number of @sid's record of @type (OPEN, CLOSE), or 0. */
static uint64_t log_find_session(const struct lrec *recs, int n, uint16_t type,
				 uint32_t sid, uint16_t *kind)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct mbatch_jrec_session *ss = (const void *)recs[i].b;

		if (recs[i].type == type && le32toh(ss->session) == sid) {
			if (kind)
				*kind = le16toh(ss->kind);
			return recs[i].seq;
		}
	}
	return 0;
}

#define NREC 64

/*
 * A session's commands that change the device are logged: its OPEN before
 * its first START; one START record for the dispatch group, before the
 * writes' DONE records (status 0); a READ and a checkpoint in no START; the
 * durable checkpoint's record after its epoch's DONEs and before the next
 * epoch's START; CLOSE last. The data reads back, and QUEUE_GET counts the
 * log's writes.
 */
TEST_F(journal, session_records)
{
	static const uint64_t at[6] = { 5, 0, 3, 1, 4, 2 };
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	struct mb_cmd c[10];
	struct mb_submit_reply rep;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	struct lrec *recs;
	unsigned char *buf, *back;
	uint32_t sid, nr = 0;
	uint64_t first, open, close, cp = 0, start0, done_max = 0, writes;
	int64_t st, dn;
	int32_t status;
	uint16_t kind = 0;
	struct jlog lg;
	int i, n;

	recs = calloc(NREC, sizeof(*recs));
	buf = calloc(1, 8 * 4096);
	back = calloc(1, 4096);
	ASSERT_TRUE(recs && buf && back);
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	EXPECT_EQ(1, qi.log_writes);		/* the USE record */
	ASSERT_EQ(0, jlog_find(&lg, self->dev, self->bytes, &qi));
	ASSERT_EQ(0, mb_session_open(&self->s, self->q, 0, &sid));

	for (i = 0; i < 6; i++) {
		mb_pattern(buf + i * 4096, 4096, self->rng + i, at[i] * 4096);
		c[i] = (struct mb_cmd){ .tag = i + 1, .op = MBATCH_OP_WRITE,
			.offset = at[i] * 4096, .len = 4096,
			.data = buf + i * 4096, .data_len = 4096 };
	}
	c[6] = (struct mb_cmd){ .tag = 7, .op = MBATCH_OP_READ, .offset = 0,
				.len = 4096 };
	c[7] = (struct mb_cmd){ .tag = 8, .op = MBATCH_OP_CHECKPOINT,
				.flags = MBATCH_MSG_F_DURABLE };
	mb_pattern(buf + 6 * 4096, 4096, self->rng + 6, 8 * 4096);
	c[8] = (struct mb_cmd){ .tag = 9, .op = MBATCH_OP_WRITE,
		.offset = 8 * 4096, .len = 4096, .data = buf + 6 * 4096,
		.data_len = 4096 };
	c[9] = (struct mb_cmd){ .tag = 10, .op = MBATCH_OP_WRITE_ZEROES,
				.offset = 9 * 4096, .len = 4096 };
	ASSERT_EQ(0, mb_submit(&self->s, sid, 1, c, 10, &rep))
		TH_LOG("%s", mb_strerr(&self->s));
	first = rep.first_seq;
	ASSERT_EQ(0, mb_collect_all(&self->s, sid, 10, 10000, &r, &nr));
	ASSERT_EQ(10, nr);
	for (i = 0; i < 10; i++)
		EXPECT_EQ(0, r[i].status) TH_LOG("result %d", i);
	mb_results_free(r, nr);
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	writes = qi.log_writes;
	EXPECT_EQ(0, mb_session_close(&self->s, sid));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));

	for (i = 0; i < 7; i++) {
		uint64_t off = i < 6 ? at[i] * 4096 : 8 * 4096;

		ASSERT_EQ(0, mb_pread_direct(self->dev, off, back, 4096));
		EXPECT_EQ(0, memcmp(buf + i * 4096, back, 4096))
			TH_LOG("write %d does not read back", i);
	}
	ASSERT_EQ(0, mb_pread_direct(self->dev, 9 * 4096, back, 4096));
	EXPECT_TRUE(mb_is_zero(back, 4096));

	n = log_records(&lg, recs, NREC);
	ASSERT_LE(6, n);
	/* A write a record; after QUEUE_GET, the last DONE and the CLOSE. */
	EXPECT_LE(writes, (uint64_t)n);
	EXPECT_LE((uint64_t)n - 2, writes);
	EXPECT_EQ(MBATCH_JREC_USE, recs[0].type);
	open = log_find_session(recs, n, MBATCH_JREC_OPEN, sid, &kind);
	close = log_find_session(recs, n, MBATCH_JREC_CLOSE, sid, NULL);
	EXPECT_NE(0, open);
	EXPECT_EQ(MBATCH_JSESSION_LOCAL, kind);
	EXPECT_EQ((uint64_t)recs[n - 1].seq, close)
		TH_LOG("CLOSE is record %llu of %d", (unsigned long long)close, n);

	start0 = log_find_run(recs, n, MBATCH_JREC_START, sid, first, NULL);
	for (i = 0; i < 10; i++) {
		bool logged = i != 6 && i != 7;

		status = 1;
		st = log_find_run(recs, n, MBATCH_JREC_START, sid, first + i,
				  NULL);
		dn = log_find_run(recs, n, MBATCH_JREC_DONE, sid, first + i,
				  &status);
		if (!logged) {
			EXPECT_EQ(0, st) TH_LOG("command %d logged", i);
			EXPECT_EQ(0, dn) TH_LOG("command %d logged", i);
			continue;
		}
		EXPECT_LT((int64_t)open, st) TH_LOG("command %d", i);
		EXPECT_LT(st, dn) TH_LOG("command %d: START %lld DONE %lld", i,
					 (long long)st, (long long)dn);
		EXPECT_EQ(0, status);
		/* One dispatch group, one START record. */
		if (i < 6) {
			EXPECT_EQ((int64_t)start0, st) TH_LOG("command %d", i);
			if (dn > (int64_t)done_max)
				done_max = dn;
		}
	}
	for (i = 0; i < n; i++) {
		const struct mbatch_jrec_checkpoint *k = (const void *)recs[i].b;

		if (recs[i].type != MBATCH_JREC_CHECKPOINT)
			continue;
		EXPECT_EQ(0, cp) TH_LOG("a second CHECKPOINT record");
		cp = recs[i].seq;
		EXPECT_EQ(sid, le32toh(k->session));
		EXPECT_EQ(first + 7, le64toh(k->seq));
		EXPECT_EQ(1, le64toh(k->epoch));
		EXPECT_EQ(MBATCH_JCP_F_DURABLE, le32toh(k->flags));
		EXPECT_EQ(0, (int32_t)le32toh(k->status));
	}
	EXPECT_LT(done_max, cp);
	EXPECT_LT((int64_t)cp, log_find_run(recs, n, MBATCH_JREC_START, sid,
					    first + 8, NULL));
	free(recs);
	free(buf);
	free(back);
}

/*
 * A dispatch group whose START record cannot be written never reaches the
 * device: its writes fail with EIO and read back as they were; the log
 * takes no more, so later writes fail too, while a READ still runs. Found
 * again, the journal's log holds the START (the write may be on the device
 * all the same) and no DONE for it.
 */
TEST_F(journal, session_records_eio)
{
	struct qnew q = { .name = self->q, .dev = self->dev,
			  .kind = MBATCH_JOURNAL_INTERNAL };
	struct mb_cmd c[3];
	struct mb_submit_reply rep;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	unsigned char *buf, *back;
	uint32_t sid, nr = 0;
	struct lrec *recs;
	struct jlog lg;
	int i, n;

	recs = calloc(NREC, sizeof(*recs));
	buf = calloc(1, 2 * 4096);
	back = calloc(1, 4096);
	ASSERT_TRUE(recs && buf && back);
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
	ASSERT_EQ(0, jlog_find(&lg, self->dev, self->bytes, &qi));
	ASSERT_EQ(0, mb_session_open(&self->s, self->q, 0, &sid));
	mb_pattern(buf, 2 * 4096, self->rng, 0);

	/* A write that goes: its OPEN, START and DONE are in the log. */
	c[0] = (struct mb_cmd){ .tag = 9, .op = MBATCH_OP_WRITE,
				.offset = 32768, .len = 4096, .data = buf,
				.data_len = 4096 };
	ASSERT_EQ(0, mb_submit(&self->s, sid, 1, c, 1, &rep));
	ASSERT_EQ(0, mb_collect_all(&self->s, sid, 1, 10000, &r, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(0, r[0].status);
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, mb_queue_get(&self->s, self->q, &qi));
		if (qi.log_seq == 4)
			break;
		usleep(10000);
	}
	ASSERT_EQ(4, qi.log_seq);

	/* The next write of the log is the START of these: it fails. */
	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_eio", 1));
	c[0] = (struct mb_cmd){ .tag = 1, .op = MBATCH_OP_WRITE, .offset = 0,
				.len = 4096, .data = buf, .data_len = 4096 };
	c[1] = (struct mb_cmd){ .tag = 2, .op = MBATCH_OP_WRITE,
				.offset = 8192, .len = 4096,
				.data = buf + 4096, .data_len = 4096 };
	c[2] = (struct mb_cmd){ .tag = 3, .op = MBATCH_OP_READ,
				.offset = 65536, .len = 4096 };
	ASSERT_EQ(0, mb_submit(&self->s, sid, 2, c, 3, &rep))
		TH_LOG("%s", mb_strerr(&self->s));
	ASSERT_EQ(0, mb_collect_all(&self->s, sid, 3, 10000, &r, &nr));
	ASSERT_EQ(3, nr);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(r[i].tag == 3 ? 0 : -EIO, r[i].status)
			TH_LOG("tag %llu", (unsigned long long)r[i].tag);
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;

	/* The log failed: no more writes, the fault long spent. */
	ASSERT_EQ(0, mb_submit(&self->s, sid, 3, c, 1, &rep));
	ASSERT_EQ(0, mb_collect_all(&self->s, sid, 1, 10000, &r, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(-EIO, r[0].status);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_session_close(&self->s, sid));
	ASSERT_EQ(0, del_wait(&self->s, self->q, self->dev, NULL));

	ASSERT_EQ(0, mb_pread_direct(self->dev, 0, back, 4096));
	EXPECT_TRUE(mb_is_zero(back, 4096));
	ASSERT_EQ(0, mb_pread_direct(self->dev, 8192, back, 4096));
	EXPECT_TRUE(mb_is_zero(back, 4096));

	n = log_records(&lg, recs, NREC);
	/* USE, OPEN, START, DONE, the failed START; then nothing. */
	ASSERT_EQ(5, n);
	EXPECT_EQ(MBATCH_JREC_OPEN, recs[1].type);
	EXPECT_EQ(MBATCH_JREC_START, recs[4].type);
	EXPECT_LT(0, log_find_run(recs, n, MBATCH_JREC_START, sid,
				  rep.first_seq - 3, NULL));
	EXPECT_EQ(0, log_find_run(recs, n, MBATCH_JREC_DONE, sid,
				  rep.first_seq - 3, NULL));
	EXPECT_EQ(0, log_find_run(recs, n, MBATCH_JREC_START, sid,
				  rep.first_seq, NULL));
	ASSERT_EQ(0, qnew(&self->s, &q)) TH_LOG("%s", mb_strerr(&self->s));
	free(recs);
	free(buf);
	free(back);
}
