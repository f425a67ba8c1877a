// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 3: what mbatch writes is on the device. Patterns written in
 * many epochs (non-overlapping inside an epoch, overlapping across epochs)
 * read back identical through mbatch READ and through O_DIRECT pread of the
 * null_blk device; data written with O_DIRECT pwrite reads back through
 * mbatch; DISCARD and WRITE_ZEROES read back as zeroes; READs in epoch e see
 * everything checkpointed before it. Every write ran once: the device's
 * sectors-written counter grows by exactly the WRITE and WRITE_ZEROES
 * lengths submitted, and by what the results say ran.
 */
#include "mb_harness.h"
#include "mb_test.h"

#define REGION		(4U << 20)

FIXTURE(data) {
	struct mb_env e;
	uint32_t sid;
	uint64_t rng;
	unsigned char *shadow;		/* expected device content */
};

FIXTURE_VARIANT(data) {
	const char *nullb;
};

FIXTURE_VARIANT_ADD(data, bs512) {
	.nullb = "size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16 discard=1",
};

FIXTURE_VARIANT_ADD(data, bs4096) {
	.nullb = "size=64 blocksize=4096 memory_backed=1 irqmode=2 completion_nsec=30000 discard=1",
};

FIXTURE_SETUP(data)
{
	const char *err = mb_env_setup(&self->e, variant->nullb, 16, 0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	self->rng = mb_seed();
	TH_LOG("seed %llu", (unsigned long long)self->rng);
	self->shadow = calloc(1, REGION);
	ASSERT_NE(NULL, self->shadow);
}

FIXTURE_TEARDOWN(data)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	free(self->shadow);
}

/* Read [off, off+len) through mbatch in pieces of the largest size. */
static int mb_read_all(struct mb_sock *s, uint32_t sid, uint32_t bs,
		       uint64_t off, uint32_t len, unsigned char *out)
{
	uint32_t io = mb_max_io(bs), n = (len + io - 1) / io, i, nr = 0;
	struct mb_cmd *c = calloc(n, sizeof(*c));
	struct mb_result *r = NULL;
	int ret;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint32_t l = len - i * io;

		c[i] = (struct mb_cmd){ .tag = 0x5eadULL << 32 | i,
			.op = MBATCH_OP_READ, .offset = off + (uint64_t)i * io,
			.len = l > io ? io : l };
	}
	ret = mb_submit(s, sid, 0, c, n, NULL);
	if (!ret)
		ret = mb_collect_all(s, sid, n, 30000, &r, &nr);
	for (i = 0; !ret && i < nr; i++) {
		uint32_t idx = (uint32_t)r[i].tag;

		if (idx >= n || r[i].status || r[i].data_len != c[idx].len) {
			ret = -EIO;
			break;
		}
		memcpy(out + (c[idx].offset - off), r[i].data, r[i].data_len);
	}
	if (!ret && nr != n)
		ret = -EIO;
	mb_results_free(r, nr);
	free(c);
	return ret;
}

static int first_diff(const unsigned char *a, const unsigned char *b,
		      size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (int)i;
	return -1;
}

TEST_F_TIMEOUT(data, patterns_mbatch_and_odirect, 120)
{
	enum { EPOCHS = 40, SLOTS = 64 };
	uint32_t bs = self->e.bs, slot = REGION / SLOTS, e;
	unsigned char *back = malloc(REGION), *odr = malloc(REGION);
	uint64_t nbytes_w = 0;
	long long w0, zsectors = 0, rsectors = 0;
	int d;

	ASSERT_NE(NULL, back);
	ASSERT_NE(NULL, odr);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	for (e = 0; e < EPOCHS; e++) {
		struct mb_cmd c[SLOTS + 2];
		unsigned char *pay = malloc(REGION);
		unsigned char used[SLOTS] = { 0 };
		uint64_t exp_off[SLOTS];
		uint32_t exp_len[SLOTS];
		struct mb_result *r = NULL;
		uint32_t n = 0, nr = 0, i, poff = 0, nreads = 0;

		ASSERT_NE(NULL, pay);
		/* up to 12 commands on distinct slots: WRITE, DISCARD,
		 * WRITE_ZEROES, and READs of slots untouched in this epoch
		 */
		for (i = 0; i < 12; i++) {
			uint32_t s = mb_rng_next(&self->rng) % SLOTS;
			uint32_t nb = 1 + mb_rng_next(&self->rng) %
				      ((slot / bs) > 64 ? 64 : slot / bs);
			uint32_t k = mb_rng_next(&self->rng) % 10;
			uint64_t off;

			if (used[s])
				continue;
			used[s] = 1;
			off = (uint64_t)s * slot + (mb_rng_next(&self->rng) %
				(slot / bs - nb + 1)) * bs;
			if (nb * bs > mb_max_io(bs))
				nb = mb_max_io(bs) / bs;
			c[n] = (struct mb_cmd){ .tag = ((uint64_t)e << 32) | n,
				.offset = off, .len = nb * bs };
			if (k < 6) {
				c[n].op = MBATCH_OP_WRITE;
				mb_pattern(pay + poff, nb * bs, c[n].tag, off);
				c[n].data = pay + poff;
				c[n].data_len = nb * bs;
				memcpy(self->shadow + off, pay + poff, nb * bs);
				poff += nb * bs;
				nbytes_w += nb * bs;
			} else if (k < 7) {
				c[n].op = MBATCH_OP_DISCARD;
				memset(self->shadow + off, 0, nb * bs);
			} else if (k < 8) {
				c[n].op = MBATCH_OP_WRITE_ZEROES;
				memset(self->shadow + off, 0, nb * bs);
				zsectors += nb * bs / 512;
			} else {
				c[n].op = MBATCH_OP_READ;
				nreads++;
			}
			exp_off[n] = off;
			exp_len[n] = nb * bs;
			n++;
		}
		/* READ results must equal the state at the previous checkpoint
		 * for their (untouched this epoch) ranges == shadow now
		 */
		c[n] = (struct mb_cmd){ .tag = ((uint64_t)e << 32) | n,
			.op = MBATCH_OP_CHECKPOINT,
			.flags = (e % 4 == 0) ? MBATCH_MSG_F_DURABLE : 0 };
		n++;
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, n, NULL))
			TH_LOG("epoch %u: %s", e, mb_strerr(&self->e.s));
		ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000,
					    &r, &nr))
			TH_LOG("%s", mb_strerr(&self->e.s));
		ASSERT_EQ(n, nr);
		{
			long long lo, hi;

			mb_result_sectors(c, n, r, nr, &lo, &hi);
			rsectors += lo;
		}
		for (i = 0; i < nr; i++) {
			uint32_t idx = (uint32_t)r[i].tag;

			ASSERT_LT(idx, n);
			EXPECT_EQ(0, r[i].status)
				TH_LOG("epoch %u %s off %llu len %u: status %d",
				       e, mb_op_name(c[idx].op),
				       (unsigned long long)c[idx].offset,
				       c[idx].len, r[i].status);
			if (c[idx].op == MBATCH_OP_CHECKPOINT)
				continue;
			EXPECT_EQ(c[idx].len, r[i].bytes);
			if (c[idx].op != MBATCH_OP_READ)
				continue;
			ASSERT_EQ(exp_len[idx], r[i].data_len);
			d = first_diff(r[i].data, self->shadow + exp_off[idx],
				       exp_len[idx]);
			EXPECT_EQ(-1, d)
				TH_LOG("epoch %u READ off %llu: first difference at +%d",
				       e, (unsigned long long)exp_off[idx], d);
		}
		mb_results_free(r, nr);
		free(pay);
	}
	/* every write and write-zeroes once: no more, no less */
	EXPECT_EQ((long long)nbytes_w / 512 + zsectors,
		  mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("the device wrote %lld sectors, %llu submitted",
		       mb_sectors_written(self->e.nullb) - w0,
		       (unsigned long long)(nbytes_w / 512 + zsectors));
	EXPECT_EQ(rsectors, mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("the results say %lld sectors", rsectors);
	/* whole region back through mbatch ... */
	ASSERT_EQ(0, mb_read_all(&self->e.s, self->sid, self->e.bs, 0, REGION, back))
		TH_LOG("%s", mb_strerr(&self->e.s));
	d = first_diff(back, self->shadow, REGION);
	EXPECT_EQ(-1, d) TH_LOG("mbatch read-back differs at byte %d", d);
	/* ... and straight from the device, bypassing the page cache */
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 0, odr, REGION));
	d = first_diff(odr, self->shadow, REGION);
	EXPECT_EQ(-1, d) TH_LOG("O_DIRECT read-back differs at byte %d", d);
	TH_LOG("%llu bytes written in %u epochs", (unsigned long long)nbytes_w,
	       EPOCHS);
	free(back);
	free(odr);
}

TEST_F(data, odirect_write_read_by_mbatch)
{
	uint32_t len = 256 << 10;
	unsigned char *buf = malloc(len), *back = malloc(len);
	uint64_t off = 8ULL << 20;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	mb_pattern(buf, len, 0xd1ec7, off);
	ASSERT_EQ(0, mb_pwrite_direct(self->e.dev, off, buf, len));
	ASSERT_EQ(0, mb_read_all(&self->e.s, self->sid, self->e.bs, off, len, back))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(0, memcmp(buf, back, len));
	free(buf);
	free(back);
}

TEST_F(data, zeroes_after_discard_and_write_zeroes)
{
	uint32_t len = 1U << 20, bs = self->e.bs;
	uint64_t off = 16ULL << 20;
	unsigned char *buf = malloc(len), *back = malloc(len);
	struct mb_cmd c[4 + 2 * 32];
	struct mb_result *r = NULL;
	uint32_t n = 0, nr = 0, i;
	long long w0, written;
	const char *err;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	mb_pattern(buf, len, 99, off);
	/* fill 1 MiB with a pattern through mbatch (32 x 32 KiB) */
	for (i = 0; i < 32; i++) {
		c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_WRITE,
			.offset = off + i * 32768ULL, .len = 32768,
			.data = buf + i * 32768, .data_len = 32768 };
		n++;
	}
	c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_CHECKPOINT };
	n++;
	/* first half discarded (one command), 2nd quarter zeroed, a single
	 * block in the last quarter zeroed
	 */
	c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_DISCARD,
		.offset = off, .len = len / 2 };
	n++;
	c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_WRITE_ZEROES,
		.offset = off + len / 2, .len = len / 4 };
	n++;
	c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_WRITE_ZEROES,
		.offset = off + len - 4 * bs, .len = bs };
	n++;
	c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_CHECKPOINT,
		.flags = MBATCH_MSG_F_DURABLE };
	n++;
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, n, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(n, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu (%s): status %d",
			(unsigned long long)r[i].tag, mb_op_name(r[i].op),
			r[i].status);
	/* 1 MiB written, 256 KiB and one block zeroed (discard: not a write) */
	written = mb_sectors_written(self->e.nullb) - w0;
	EXPECT_EQ((long long)(len + len / 4 + bs) / 512, written);
	err = mb_check_sectors(c, n, r, nr, written);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	mb_results_free(r, nr);

	memset(buf, 0, len * 3 / 4);
	memset(buf + len - 4 * bs, 0, bs);
	ASSERT_EQ(0, mb_read_all(&self->e.s, self->sid, self->e.bs, off, len, back))
		TH_LOG("%s", mb_strerr(&self->e.s));
	i = first_diff(back, buf, len);
	EXPECT_EQ((uint32_t)-1, i) TH_LOG("mbatch read-back differs at +%d", (int)i);
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, off, back, len));
	i = first_diff(back, buf, len);
	EXPECT_EQ((uint32_t)-1, i) TH_LOG("O_DIRECT read-back differs at +%d", (int)i);
	free(buf);
	free(back);
}

TEST_F(data, max_io_len_write_read)
{
	/* a WRITE and a READ of MBATCH_MAX_IO_LEN (the contract's maximum)
	 * must go through whole, and the READ's data must come back whole in
	 * one result
	 */
	unsigned char *buf = malloc(MBATCH_MAX_IO_LEN);
	unsigned char *dev = malloc(MBATCH_MAX_IO_LEN);
	uint64_t off = 32ULL << 20;
	struct mb_cmd c[3];
	struct mb_result *r = NULL;
	const struct mb_result *x;
	uint32_t nr = 0;
	long long w0;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, dev);
	mb_pattern(buf, MBATCH_MAX_IO_LEN, 5, off);
	c[0] = (struct mb_cmd){ .tag = 1, .op = MBATCH_OP_WRITE, .offset = off,
		.len = MBATCH_MAX_IO_LEN, .data = buf,
		.data_len = MBATCH_MAX_IO_LEN };
	c[1] = (struct mb_cmd){ .tag = 2, .op = MBATCH_OP_CHECKPOINT };
	c[2] = (struct mb_cmd){ .tag = 3, .op = MBATCH_OP_READ, .offset = off,
		.len = MBATCH_MAX_IO_LEN };
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 3, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 3, 10000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(3U, nr);
	EXPECT_EQ(MBATCH_MAX_IO_LEN / 512,
		  mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("the device wrote %lld sectors for one write of %u bytes",
		       mb_sectors_written(self->e.nullb) - w0,
		       MBATCH_MAX_IO_LEN);
	x = mb_find_tag(r, nr, 1);
	ASSERT_NE(NULL, x);
	EXPECT_EQ(0, x->status);
	EXPECT_EQ(MBATCH_MAX_IO_LEN, x->bytes);
	x = mb_find_tag(r, nr, 3);
	ASSERT_NE(NULL, x);
	EXPECT_EQ(0, x->status);
	EXPECT_EQ(MBATCH_MAX_IO_LEN, x->bytes);
	ASSERT_EQ(MBATCH_MAX_IO_LEN, x->data_len);
	EXPECT_EQ(0, memcmp(buf, x->data, MBATCH_MAX_IO_LEN));
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, off, dev, MBATCH_MAX_IO_LEN));
	EXPECT_EQ(0, memcmp(buf, dev, MBATCH_MAX_IO_LEN));
	mb_results_free(r, nr);
	free(buf);
	free(dev);
}

TEST_HARNESS_MAIN
