// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 6: limits. A batch that would take a session past max-cmds
 * or max-bytes is refused whole with -ENOBUFS and an extack message, nothing
 * of it is queued, the rejected counter counts it, and the session keeps
 * working once collecting (with acknowledgement) made room. Depth bounds
 * what is in flight, and is reached. At most MBATCH_QUEUE_SESSIONS_MAX
 * sessions per queue and MBATCH_PEERS_MAX peers per namespace.
 *
 * max-cmds counts every command from submission until its result is
 * acknowledged. max-bytes is charged in whole pages per READ/WRITE (a
 * one-block write pins, and is charged, a page); a WRITE's charge is given
 * back when the write completes, a READ's when its result is acknowledged.
 */
#include <sched.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

FIXTURE(lim) {
	struct mb_env e;
	uint32_t sid;
	unsigned char buf[65536];
};

FIXTURE_VARIANT(lim) {
	uint32_t max_cmds;
	uint64_t max_bytes;
	uint32_t depth;
};

FIXTURE_VARIANT_ADD(lim, small) {
	.max_cmds = 64, .max_bytes = MBATCH_MAX_BYTES_MIN, .depth = 4,
};

FIXTURE_SETUP(lim)
{
	const char *err = mb_env_setup(&self->e,
		"size=64 memory_backed=1 irqmode=2 completion_nsec=100000",
		variant->depth, variant->max_cmds, variant->max_bytes);
	struct mb_queue_info qi;

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(variant->max_cmds, qi.max_cmds);
	EXPECT_EQ(variant->max_bytes, qi.max_bytes);
	EXPECT_EQ(variant->depth, qi.depth);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	memset(self->buf, 0xa5, sizeof(self->buf));
}

FIXTURE_TEARDOWN(lim)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

/* Bytes one READ/WRITE of len is charged: whole pages. */
static uint32_t pgsz(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uint32_t)p : 4096;
}

static uint64_t charge(uint32_t len)
{
	uint64_t pg = pgsz();

	return (len + pg - 1) / pg * pg;
}

static struct mb_cmd rw(uint64_t tag, uint32_t op, uint64_t off, uint32_t len,
			const void *buf)
{
	struct mb_cmd c = { .tag = tag, .op = op, .offset = off, .len = len };

	if (op == MBATCH_OP_WRITE) {
		c.data = buf;
		c.data_len = len;
	}
	return c;
}

static struct mb_cmd nop(uint64_t tag, uint32_t op)
{
	return (struct mb_cmd){ .tag = tag, .op = op };
}

static uint64_t sess_stat(struct __test_metadata *_metadata,
			  FIXTURE_DATA(lim) *self, int which)
{
	struct mb_session_info si;

	memset(&si, 0, sizeof(si));
	EXPECT_EQ(0, mb_session_get(&self->e.s, self->sid, &si))
		TH_LOG("SESSION_GET: %s", mb_strerr(&self->e.s));
	EXPECT_TRUE(si.has_stats);
	return si.stats.v[which];
}

/*
 * Wait until n results are completed (nothing acknowledged before), without
 * acknowledging them: the commands stay held for max-cmds (and READ buffers
 * for max-bytes).
 */
static uint32_t wait_done(struct mb_sock *s, uint32_t sid, uint32_t n)
{
	struct mb_collect_opts o = { .session = sid, .has_min = 1, .min = n,
		.has_timeout = 1, .timeout_ms = 10000 };
	struct mb_collect col;
	uint32_t got;

	if (mb_collect(s, &o, &col))
		return 0;
	got = col.nres;
	mb_collect_free(&col);
	return got;
}

/*
 * n commands that stay far below max-bytes even charged in whole pages:
 * nrw small WRITEs, nrw small READs (one page each), the rest FLUSHes.
 */
static void mixed(struct mb_cmd *c, uint32_t n, uint32_t nrw, uint64_t tag0,
		  uint32_t bs, const void *buf)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * pgsz();

		if (i < nrw)
			c[i] = rw(tag0 + i, MBATCH_OP_WRITE, off, bs, buf);
		else if (i < 2 * nrw)
			c[i] = rw(tag0 + i, MBATCH_OP_READ, off, bs, NULL);
		else
			c[i] = nop(tag0 + i, MBATCH_OP_FLUSH);
	}
}

TEST_F(lim, max_cmds)
{
	struct mb_cmd c[256];
	struct mb_session_info si;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	uint32_t nr = 0, i, m = variant->max_cmds, bs = self->e.bs;
	uint64_t pages = variant->max_bytes / pgsz(), rej0;
	uint32_t nrw = (uint32_t)(pages / 4 < m / 4 ? pages / 4 : m / 4);

	ASSERT_LT(m, 256);
	ASSERT_LE(bs, pgsz());
	/* the batches below never come near max-bytes */
	ASSERT_LE(2 * nrw * charge(bs), variant->max_bytes / 2);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	rej0 = qi.stats.v[MBATCH_STATS_A_REJECTED];

	/* one batch bigger than the limit: refused whole */
	mixed(c, m + 1, nrw, 1, bs, self->buf);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, m + 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_CMDS))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch was partly queued");
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED_BYTES]);
	EXPECT_EQ(1, si.stats.v[MBATCH_STATS_A_REJECTED]);

	/* exactly the limit: accepted; held until acknowledged */
	mixed(c, m, nrw, 1, bs, self->buf);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, m, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* completed but not acknowledged still counts */
	ASSERT_EQ(m, wait_done(&self->e.s, self->sid, m))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* the WRITEs gave their pages back, the READs keep theirs */
	EXPECT_EQ(nrw * charge(bs),
		  sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));
	c[0] = rw(1000, MBATCH_OP_WRITE, 0, bs, self->buf);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL))
		TH_LOG("held commands not counted until acknowledged");
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_CMDS))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* a checkpoint is a command too */
	c[0] = nop(1001, MBATCH_OP_CHECKPOINT);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_CMDS))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(m, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch was queued");
	EXPECT_EQ(0, si.epoch);
	EXPECT_EQ(3, si.stats.v[MBATCH_STATS_A_REJECTED]);

	/* acknowledge: room again, the session still works */
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, m, 10000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(m, nr);
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;
	EXPECT_EQ(0, sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));
	mixed(c, m, nrw, 2000, bs, self->buf);
	c[m - 1] = nop(2000 + m - 1, MBATCH_OP_CHECKPOINT);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, m, NULL))
		TH_LOG("after ack: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, m, 10000, &r, &nr));
	ASSERT_EQ(m, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu (%s)",
			(unsigned long long)r[i].tag, mb_op_name(r[i].op));
	EXPECT_EQ(MBATCH_OP_CHECKPOINT, r[nr - 1].op);
	mb_results_free(r, nr);

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(3, si.stats.v[MBATCH_STATS_A_REJECTED]);
	EXPECT_EQ(2 * m, si.stats.v[MBATCH_STATS_A_SUBMITTED]);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED_BYTES]);
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(rej0 + 3, qi.stats.v[MBATCH_STATS_A_REJECTED]);
}

TEST_F(lim, max_bytes)
{
	struct mb_cmd c[256];
	struct mb_session_info si;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	uint32_t nr = 0, i, n, bs = self->e.bs, pg = pgsz();
	uint32_t pages = (uint32_t)(variant->max_bytes / pg);
	uint32_t npair = pages / 2, nread = npair + pages % 2;
	uint64_t raw = 0, sub = 0, rej0;

	ASSERT_EQ(0, variant->max_bytes % pg);
	ASSERT_LT(bs, pg) TH_LOG("block size %u, page %u", bs, pg);
	ASSERT_GE(pages, 4);
	ASSERT_LE(2 * pages + 2, variant->max_cmds);
	ASSERT_LE(2 * pages, 256);
	ASSERT_LE(pg + bs, MBATCH_MAX_IO_LEN);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	rej0 = qi.stats.v[MBATCH_STATS_A_REJECTED];

	/*
	 * Charged in whole pages: READs of a page plus one block (two pages
	 * each) filling max-bytes, plus one more small READ, are far below
	 * max-bytes in payload bytes but one page over in pages.
	 */
	for (i = 0; i < npair; i++) {
		c[i] = rw(1 + i, MBATCH_OP_READ, (uint64_t)i * 2 * pg, pg + bs,
			  NULL);
		raw += pg + bs;
	}
	for (; i < nread; i++) {
		c[i] = rw(1 + i, MBATCH_OP_READ, (uint64_t)i * 2 * pg, bs, NULL);
		raw += bs;
	}
	c[i] = rw(1 + i, MBATCH_OP_READ, (uint64_t)i * 2 * pg, bs, NULL);
	raw += bs;
	ASSERT_LT(raw, variant->max_bytes);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, nread + 1,
				      NULL)) TH_LOG("charged by bytes, not pages?");
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_BYTES))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch was partly queued");
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED_BYTES]);
	EXPECT_EQ(1, si.stats.v[MBATCH_STATS_A_REJECTED]);

	/* the same without the extra READ: exactly max-bytes, accepted */
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, nread, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	sub += nread;
	EXPECT_EQ(variant->max_bytes,
		  sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));
	/* full: a READ or WRITE of one block (one page) is refused */
	c[0] = rw(100, MBATCH_OP_READ, 0, bs, NULL);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_BYTES))
		TH_LOG("%s", mb_strerr(&self->e.s));
	c[0] = rw(101, MBATCH_OP_WRITE, 0, bs, self->buf);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_BYTES))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* FLUSH and CHECKPOINT carry no payload: still accepted */
	c[0] = nop(102, MBATCH_OP_FLUSH);
	c[1] = nop(103, MBATCH_OP_CHECKPOINT);
	EXPECT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 2, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	sub += 2;

	/* completed READs stay charged until their results are acknowledged */
	ASSERT_EQ(nread + 2, wait_done(&self->e.s, self->sid, nread + 2))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(variant->max_bytes,
		  sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));
	c[0] = rw(104, MBATCH_OP_READ, 0, bs, NULL);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL))
		TH_LOG("READ buffers released before acknowledgement");
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_BYTES))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(sub, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch was queued");
	EXPECT_EQ(4, si.stats.v[MBATCH_STATS_A_REJECTED]);

	/* acknowledge: everything released */
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, nread + 2, 10000,
				    &r, &nr)) TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(nread + 2, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(0, r[i].status);
		if (r[i].op == MBATCH_OP_READ)
			EXPECT_EQ(r[i].tag <= npair ? pg + bs : bs,
				  r[i].data_len);
	}
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;
	EXPECT_EQ(0, sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));

	/*
	 * WRITEs free their charge when they complete: one-block WRITEs
	 * filling max-bytes, completed but not acknowledged, then READs of
	 * the same blocks filling max-bytes again fit only if the WRITEs'
	 * pages were given back.
	 */
	mb_pattern(self->buf, bs, 42, 0);
	for (i = 0; i < pages; i++)
		c[i] = rw(200 + i, MBATCH_OP_WRITE, (uint64_t)i * pg, bs,
			  self->buf);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, pages, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	sub += pages;
	ASSERT_EQ(pages, wait_done(&self->e.s, self->sid, pages))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(0, sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES))
		TH_LOG("completed WRITEs still charged");
	for (i = 0; i < pages; i++)
		c[i] = rw(300 + i, MBATCH_OP_READ, (uint64_t)i * pg, bs, NULL);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, pages, NULL))
		TH_LOG("completed WRITEs still charged: %s",
		       mb_strerr(&self->e.s));
	sub += pages;
	EXPECT_EQ(variant->max_bytes,
		  sess_stat(_metadata, self, MBATCH_STATS_A_QUEUED_BYTES));
	c[0] = rw(400, MBATCH_OP_WRITE, 0, bs, self->buf);
	EXPECT_EQ(-ENOBUFS, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_LIMIT_BYTES))
		TH_LOG("%s", mb_strerr(&self->e.s));

	n = 2 * pages;
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 10000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(n, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu",
						 (unsigned long long)r[i].tag);
		if (r[i].op != MBATCH_OP_READ)
			continue;
		ASSERT_EQ(bs, r[i].data_len);
		EXPECT_EQ(0, memcmp(r[i].data, self->buf, bs))
			TH_LOG("READ %llu does not see the WRITE before it",
			       (unsigned long long)r[i].tag);
	}
	mb_results_free(r, nr);

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED_BYTES]);
	EXPECT_EQ(sub, si.stats.v[MBATCH_STATS_A_SUBMITTED]);
	EXPECT_EQ(5, si.stats.v[MBATCH_STATS_A_REJECTED]);
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(rej0 + 5, qi.stats.v[MBATCH_STATS_A_REJECTED]);
}

/*
 * The most commands of @r in flight at once, from their own start and
 * completion times: at the start of each, those started no later and not
 * yet completed.
 */
static uint32_t max_overlap(const struct mb_result *r, uint32_t n)
{
	uint32_t i, j, most = 0;

	for (i = 0; i < n; i++) {
		uint32_t k = 0;

		if (!r[i].start_ns)
			continue;
		for (j = 0; j < n; j++)
			if (r[j].start_ns && r[j].start_ns <= r[i].start_ns &&
			    r[j].done_ns > r[i].start_ns)
				k++;
		if (k > most)
			most = k;
	}
	return most;
}

#define SLOW_NULLB "size=64 memory_backed=1 irqmode=2 completion_nsec=5000000"

TEST_F(lim, depth_bounds_inflight)
{
	/*
	 * Keep 60 commands queued and watch the in-flight counter. READs are
	 * charged a page each, so only as many as fit max-bytes; the others
	 * are WRITE_ZEROES (no payload). Nothing is contiguous: no merging.
	 * A device of 5 ms per command makes that 75 ms at depth 4, long
	 * enough to watch: the counter must reach the depth and never pass
	 * it, and so must the commands' own start and completion times.
	 */
	enum { N = 60 };
	struct mb_queue_cfg qc = { .name = "mbt_depth", .depth = variant->depth,
		.max_cmds = variant->max_cmds, .max_bytes = variant->max_bytes };
	struct mb_cmd c[N];
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	uint32_t nr = 0, i, nread = 0, bs = self->e.bs, pg = pgsz(), sid;
	uint64_t maxin = 0, bytes = 0, polls = 0, end;
	char nb[64], dev[128];

	ASSERT_LE(N, variant->max_cmds);
	ASSERT_EQ(0, mb_nullb_create(SLOW_NULLB, nb, sizeof(nb), dev,
				     sizeof(dev)));
	qc.dev = dev;
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
							   mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_open(&self->e.s, qc.name, 0, &sid));
	for (i = 0; i < N; i++) {
		uint64_t off = (uint64_t)i * 2 * pg;

		if (i % 2 == 0 && bytes + charge(bs) <= variant->max_bytes) {
			c[i] = rw(1 + i, MBATCH_OP_READ, off, bs, NULL);
			bytes += charge(bs);
			nread++;
		} else {
			c[i] = rw(1 + i, MBATCH_OP_WRITE_ZEROES, off, bs, NULL);
		}
	}
	ASSERT_LE(bytes, variant->max_bytes);
	ASSERT_EQ(0, mb_submit(&self->e.s, sid, 0, c, N, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* watch until nothing is left queued or in flight */
	end = mb_now_ns() + 20000000000ULL;
	do {
		ASSERT_EQ(0, mb_queue_get(&self->e.s, qc.name, &qi));
		polls++;
		if (qi.stats.v[MBATCH_STATS_A_INFLIGHT] > maxin)
			maxin = qi.stats.v[MBATCH_STATS_A_INFLIGHT];
	} while ((qi.stats.v[MBATCH_STATS_A_INFLIGHT] ||
		  qi.stats.v[MBATCH_STATS_A_QUEUED]) && mb_now_ns() < end);
	EXPECT_LE(maxin, variant->depth);
	EXPECT_EQ(variant->depth, maxin)
		TH_LOG("%u commands queued at depth %u, at most %llu seen in flight",
		       N, variant->depth, (unsigned long long)maxin);
	ASSERT_EQ(0, mb_collect_all(&self->e.s, sid, N, 20000, &r, &nr));
	EXPECT_EQ(N, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu (%s)",
			(unsigned long long)r[i].tag, mb_op_name(r[i].op));
		if (r[i].op == MBATCH_OP_READ)
			EXPECT_EQ(bs, r[i].data_len);
	}
	EXPECT_LE(max_overlap(r, nr), variant->depth);
	EXPECT_EQ(variant->depth, max_overlap(r, nr))
		TH_LOG("the commands' times show %u at once, depth %u",
		       max_overlap(r, nr), variant->depth);
	TH_LOG("%u READs, %u WRITE_ZEROES, at most %llu in flight (%llu polls), %u by their times",
	       nread, N - nread, (unsigned long long)maxin,
	       (unsigned long long)polls, max_overlap(r, nr));
	mb_results_free(r, nr);
	ASSERT_EQ(0, mb_queue_get(&self->e.s, qc.name, &qi));
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_INFLIGHT]);
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_QUEUED]);
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_QUEUED_BYTES]);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	EXPECT_EQ(0, mb_queue_del(&self->e.s, qc.name));
	EXPECT_TRUE(mb_wait_dev_free(dev, 5000));
	EXPECT_EQ(0, mb_nullb_remove(nb));
}

/*
 * Writes fill the depth too. The block layer's writeback throttling (wbt,
 * on by default on every blk-mq disk) caps writes it takes for background
 * writeback at about half the device's depth and makes their submitter
 * sleep; O_DIRECT's are exempt (REQ_SYNC | REQ_IDLE), and so must ours be:
 * someone waits for every one. 64 scattered 4 KiB WRITEs in one epoch at
 * depth 64 on a device of 20 ms per command, wbt on: all 64 at once, by
 * their own times, and the data reads back.
 */
TEST_F(lim, writes_not_throttled)
{
	enum { N = 64, PER = 16 };
	struct mb_queue_cfg qc = { .name = "mbt_wbt", .depth = N,
		.max_cmds = 2 * N, .max_bytes = 4ULL << 20 };
	struct mb_cmd c[N];
	struct mb_result *r = NULL;
	uint32_t nr = 0, i, bs = self->e.bs, pg = pgsz(), sid, most;
	char nb[64], dev[128], path[256], lat[32] = "";
	unsigned char *rd;
	FILE *f;
	int fd;

	ASSERT_EQ(0, mb_nullb_create("size=64 memory_backed=1 irqmode=2 completion_nsec=20000000 hw_queue_depth=128",
				     nb, sizeof(nb), dev, sizeof(dev)));
	/* wbt on, whatever the kernel's default for this disk */
	snprintf(path, sizeof(path), "/sys/block/%s/queue/wbt_lat_usec",
		 strrchr(dev, '/') + 1);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_LT(0, fputs("2000\n", f));
	ASSERT_EQ(0, fclose(f)) TH_LOG("%s: %s", path, strerror(errno));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_NE(NULL, fgets(lat, sizeof(lat), f));
	fclose(f);
	lat[strcspn(lat, "\n")] = 0;
	ASSERT_LT(0, atol(lat)) TH_LOG("wbt is off: %s is %s", path, lat);
	qc.dev = dev;
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
							   mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_open(&self->e.s, qc.name, 0, &sid));
	for (i = 0; i < N; i++) {
		c[i] = rw(1 + i, MBATCH_OP_WRITE, (uint64_t)i * 2 * pg, bs,
			  self->buf + (i % 8) * bs);
	}
	for (i = 0; i < sizeof(self->buf); i++)
		self->buf[i] = (unsigned char)(i * 7 + i / bs);
	for (i = 0; i < N; i += PER)
		ASSERT_EQ(0, mb_submit(&self->e.s, sid, 0, c + i, PER, NULL))
			TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, sid, N, 20000, &r, &nr));
	ASSERT_EQ(N, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu",
						 (unsigned long long)r[i].tag);
	most = max_overlap(r, nr);
	EXPECT_EQ(N, most)
		TH_LOG("%u WRITEs queued at depth %u, %u in flight at once by their times (wbt_lat_usec %s)",
		       N, N, most, lat);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	EXPECT_EQ(0, mb_queue_del(&self->e.s, qc.name));
	EXPECT_TRUE(mb_wait_dev_free(dev, 5000));
	/* what was written is on the device */
	rd = aligned_alloc(pg, bs);
	ASSERT_NE(NULL, rd);
	fd = open(dev, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", dev, strerror(errno));
	for (i = 0; i < N; i++) {
		ASSERT_EQ((ssize_t)bs, pread(fd, rd, bs, (off_t)i * 2 * pg));
		EXPECT_EQ(0, memcmp(rd, self->buf + (i % 8) * bs, bs))
			TH_LOG("block of WRITE %u", i);
	}
	close(fd);
	free(rd);
	EXPECT_EQ(0, mb_nullb_remove(nb));
}

/*
 * MBATCH_QUEUE_SESSIONS_MAX sessions on one queue: the next open is
 * refused with -ENOBUFS and says why; a close makes room for one.
 */
TEST_F_TIMEOUT(lim, sessions_per_queue, 120)
{
	static uint32_t sids[MBATCH_QUEUE_SESSIONS_MAX];
	struct mb_queue_info qi;
	uint32_t i, n = 0, extra;
	int ret;

	/* the fixture's session is the first */
	for (i = 1; i < MBATCH_QUEUE_SESSIONS_MAX; i++) {
		ret = mb_session_open(&self->e.s, self->e.queue, 0, &sids[n]);
		ASSERT_EQ(0, ret) TH_LOG("session %u of %u: %s", i + 1,
					 MBATCH_QUEUE_SESSIONS_MAX,
					 mb_strerr(&self->e.s));
		n++;
	}
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(MBATCH_QUEUE_SESSIONS_MAX, qi.sessions);
	EXPECT_EQ(-ENOBUFS, mb_session_open(&self->e.s, self->e.queue, 0,
					    &extra))
		TH_LOG("session %u: %s", MBATCH_QUEUE_SESSIONS_MAX + 1,
		       mb_strerr(&self->e.s));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_TOO_MANY_SESSIONS))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_TRUE(self->e.s.err.has_off) TH_LOG("no offset: the queue name");
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(MBATCH_QUEUE_SESSIONS_MAX, qi.sessions);
	/* one closed: one more fits, and again no more */
	ASSERT_EQ(0, mb_session_close(&self->e.s, sids[--n]));
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &sids[n]))
		TH_LOG("after a close: %s", mb_strerr(&self->e.s));
	n++;
	EXPECT_EQ(-ENOBUFS, mb_session_open(&self->e.s, self->e.queue, 0,
					    &extra));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, mb_session_close(&self->e.s, sids[i]))
			TH_LOG("close %u: %s", sids[i], mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(1, qi.sessions);
}

/*
 * MBATCH_PEERS_MAX peers per network namespace (a new one here, so that
 * nothing else counts): the next PEER_NEW is refused with -ENOBUFS and
 * says why; a deletion makes room for one.
 */
TEST_F(lim, peers_per_namespace)
{
	struct mb_peer_info *pi = calloc(MBATCH_PEERS_MAX + 8, sizeof(*pi));
	struct mb_peer_cfg pc = { 0 };
	char name[32];
	struct mb_sock s;
	int i;

	ASSERT_NE(NULL, pi);
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %m");
	ASSERT_EQ(0, mb_open(&s));
	pc.name = name;
	for (i = 0; i < MBATCH_PEERS_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ASSERT_EQ(0, mb_peer_new(&s, &pc)) TH_LOG("peer %d: %s", i + 1,
							  mb_strerr(&s));
	}
	EXPECT_EQ(MBATCH_PEERS_MAX, mb_peer_dump(&s, pi, MBATCH_PEERS_MAX + 8));
	snprintf(name, sizeof(name), "p%d", MBATCH_PEERS_MAX);
	EXPECT_EQ(-ENOBUFS, mb_peer_new(&s, &pc))
		TH_LOG("peer %d: %s", MBATCH_PEERS_MAX + 1, mb_strerr(&s));
	EXPECT_TRUE(mb_contains(s.err.msg, X_TOO_MANY_PEERS))
		TH_LOG("%s", mb_strerr(&s));
	EXPECT_EQ(MBATCH_PEERS_MAX, mb_peer_dump(&s, pi, MBATCH_PEERS_MAX + 8));
	/* one deleted: one more fits, and again no more */
	ASSERT_EQ(0, mb_peer_del(&s, "p0"));
	EXPECT_EQ(0, mb_peer_new(&s, &pc)) TH_LOG("after a delete: %s",
						  mb_strerr(&s));
	snprintf(name, sizeof(name), "p%d", MBATCH_PEERS_MAX + 1);
	EXPECT_EQ(-ENOBUFS, mb_peer_new(&s, &pc));
	for (i = 1; i <= MBATCH_PEERS_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		EXPECT_EQ(0, mb_peer_del(&s, name)) TH_LOG("%s: %s", name,
							   mb_strerr(&s));
	}
	EXPECT_EQ(0, mb_peer_dump(&s, pi, MBATCH_PEERS_MAX + 8));
	mb_close(&s);
	free(pi);
}

TEST_HARNESS_MAIN
