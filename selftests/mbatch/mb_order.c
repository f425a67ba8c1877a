// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, cases 1 and 2: checkpoints order everything before them against
 * everything after them (checked from the module's own start/completion
 * timestamps over thousands of random commands), and between checkpoints
 * the module really reorders and merges, flags the results, and counts them,
 * without ever crossing a checkpoint.
 */
#include "mb_harness.h"
#include "mb_test.h"

FIXTURE(order) {
	struct mb_env e;
	uint32_t sid;
	uint64_t rng;
};

FIXTURE_VARIANT(order) {
	const char *nullb;
	uint32_t depth;
	uint32_t cmds;
};

/* completion delays differ per variant; bs 4096 too */
FIXTURE_VARIANT_ADD(order, bs512_50us_d32) {
	.nullb = "size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16 discard=1",
	.depth = 32,
	.cmds = 3000,
};

FIXTURE_VARIANT_ADD(order, bs4096_20us_d8) {
	.nullb = "size=64 blocksize=4096 memory_backed=1 irqmode=2 completion_nsec=20000 cache_size=16 discard=1",
	.depth = 8,
	.cmds = 2500,
};

FIXTURE_VARIANT_ADD(order, bs512_200us_d128) {
	.nullb = "size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=200000 discard=1",
	.depth = 128,
	.cmds = 2000,
};

FIXTURE_SETUP(order)
{
	const char *err = mb_env_setup(&self->e, variant->nullb, variant->depth,
				       0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	self->rng = mb_seed();
	TH_LOG("seed %llu (set MBATCH_SEED to replay)",
	       (unsigned long long)self->rng);
}

FIXTURE_TEARDOWN(order)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0) {
		struct mb_session_info si;

		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
		EXPECT_EQ(-ENOENT, mb_session_get(&self->e.s, self->sid, &si))
			TH_LOG("session %u still exists after close", self->sid);
	}
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

TEST_F_TIMEOUT(order, barrier_random, 120)
{
	struct mb_wl_opts o = {
		.base = 0, .size = 16 << 20, .bs = self->e.bs,
		.max_blocks = self->e.bs == 512 ? 32 : 8, .avg_epoch = 25,
		.with_zero_ops = 1, .with_flags = 1,
	};
	struct mb_session_info si;
	struct mb_result *r;
	uint32_t nr, i, ncp = 0;
	uint64_t first = 0;
	const char *err;
	struct mb_wl w;

	mb_wl_gen(&w, &o, variant->cmds, 1000, &self->rng);
	for (i = 0; i < w.n; i++)
		ncp += w.cmds[i].op == MBATCH_OP_CHECKPOINT;
	err = mb_wl_run(&self->e.s, self->sid, &w, 200, MBATCH_MAX_CMDS_DEFAULT,
			MBATCH_MAX_BYTES_DEFAULT, &self->rng, &r, &nr, &first);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	err = mb_wl_verify(&w, r, nr, first);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	/* the results come in sequence from 1 */
	EXPECT_EQ(1, r[0].seq);

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	EXPECT_EQ(ncp, si.epoch);
	EXPECT_EQ(ncp, si.done_epoch);
	ASSERT_TRUE(si.has_stats);
	EXPECT_EQ(w.n, si.stats.v[MBATCH_STATS_A_SUBMITTED]);
	EXPECT_EQ(w.n, si.stats.v[MBATCH_STATS_A_COMPLETED]);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_FAILED]);
	EXPECT_EQ(ncp, si.stats.v[MBATCH_STATS_A_CHECKPOINTS]);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_INFLIGHT]);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED]);
	TH_LOG("%u commands, %u checkpoints, reordered %llu merged %llu",
	       w.n, ncp,
	       (unsigned long long)si.stats.v[MBATCH_STATS_A_REORDERED],
	       (unsigned long long)si.stats.v[MBATCH_STATS_A_MERGED]);
	mb_results_free(r, nr);
	mb_wl_free(&w);
}

/*
 * Epoch e writes NB contiguous blocks (region e) in descending offset order
 * and reads back region e-1, written and checkpointed in the epoch before,
 * also in descending order. The module must dispatch each epoch in offset
 * order (so every command but one is reordered), merge the contiguous ones,
 * and the reads must see the previous epoch's data. The last block of
 * region e is contiguous with the first of region e+1, so a merge across a
 * checkpoint would be possible if the module got it wrong.
 */
TEST_F_TIMEOUT(order, reorder_merge_within_epochs, 90)
{
	enum { EPOCHS = 24, NB = 16 };
	uint32_t bs = self->e.bs, n = 0, nr = 0, i, j, k;
	uint64_t nreord = 0, nmerged = 0;
	struct mb_cmd cmds[EPOCHS * (2 * NB + 1)];
	static unsigned char data[EPOCHS * NB * 4096];
	struct mb_submit_reply rep;
	struct mb_session_info si;
	struct mb_queue_info qi;
	struct mb_result *r = NULL;
	uint64_t *epoch_of = calloc(EPOCHS * (2 * NB + 1), sizeof(*epoch_of));
	const char *err;

	ASSERT_NE(NULL, epoch_of);
	for (i = 0; i < EPOCHS; i++) {
		for (j = 0; j < NB; j++) {
			uint64_t blk = (uint64_t)i * NB + (NB - 1 - j);
			struct mb_cmd *c = &cmds[n];

			*c = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_WRITE,
				.offset = blk * bs, .len = bs,
				.data = data + blk * bs, .data_len = bs };
			mb_pattern(data + blk * bs, bs, 7, blk * bs);
			epoch_of[n++] = i;
		}
		for (j = 0; i > 0 && j < NB; j++) {
			uint64_t blk = (uint64_t)(i - 1) * NB + (NB - 1 - j);

			cmds[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_READ,
				.offset = blk * bs, .len = bs };
			epoch_of[n++] = i;
		}
		cmds[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_CHECKPOINT };
		epoch_of[n++] = i;
	}
	/* one batch: everything queued at once */
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, cmds, n, &rep))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(n, nr);
	err = mb_check_barrier(r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);

	for (i = 0; i < nr; i++) {
		const struct mb_cmd *c = &cmds[r[i].tag];

		ASSERT_LT(r[i].tag, n);
		EXPECT_EQ(0, r[i].status);
		EXPECT_EQ(epoch_of[r[i].tag], r[i].epoch);
		if (c->op == MBATCH_OP_READ) {
			ASSERT_EQ(bs, r[i].data_len);
			EXPECT_EQ(0, memcmp(r[i].data, data + c->offset, bs))
				TH_LOG("read of block %llu returned wrong data",
				       (unsigned long long)(c->offset / bs));
		}
		if (r[i].flags & MBATCH_RESULT_F_REORDERED) {
			int older_later = 0;

			nreord++;
			EXPECT_NE(MBATCH_OP_CHECKPOINT, r[i].op);
			/* some older command of the same epoch started no
			 * earlier than this one
			 */
			for (k = 0; k < nr; k++)
				if (r[k].msg_seq < r[i].msg_seq &&
				    r[k].epoch == r[i].epoch &&
				    r[k].op != MBATCH_OP_CHECKPOINT &&
				    r[k].start_ns >= r[i].start_ns)
					older_later = 1;
			EXPECT_TRUE(older_later)
				TH_LOG("tag %llu flagged reordered but no older command of epoch %llu started after it",
				       (unsigned long long)r[i].tag,
				       (unsigned long long)r[i].epoch);
		}
		if (r[i].flags & MBATCH_RESULT_F_MERGED) {
			int partner = 0;

			nmerged++;
			EXPECT_TRUE(c->op == MBATCH_OP_READ ||
				    c->op == MBATCH_OP_WRITE);
			for (k = 0; k < nr; k++) {
				const struct mb_cmd *o = &cmds[r[k].tag];

				if (k == i || !(r[k].flags & MBATCH_RESULT_F_MERGED) ||
				    o->op != c->op)
					continue;
				if (o->offset + o->len != c->offset &&
				    c->offset + c->len != o->offset)
					continue;
				if (r[k].epoch == r[i].epoch)
					partner = 1;
			}
			EXPECT_TRUE(partner)
				TH_LOG("tag %llu flagged merged without a contiguous merged neighbour in epoch %llu",
				       (unsigned long long)r[i].tag,
				       (unsigned long long)r[i].epoch);
		}
	}
	/*
	 * In offset order, the one command of an epoch that no older one
	 * started after is its first write (the highest block): every
	 * other command is reordered. Every READ and WRITE has a contiguous
	 * neighbour of its own op and epoch: all are merged.
	 */
	EXPECT_EQ((uint64_t)(NB - 1) + (uint64_t)(EPOCHS - 1) * (2 * NB - 1),
		  nreord) TH_LOG("reordered %llu of %u",
				 (unsigned long long)nreord, n);
	EXPECT_EQ((uint64_t)n - EPOCHS, nmerged)
		TH_LOG("merged %llu of %u", (unsigned long long)nmerged, n);

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_TRUE(si.has_stats);
	EXPECT_EQ(nreord, si.stats.v[MBATCH_STATS_A_REORDERED]);
	EXPECT_EQ(nmerged, si.stats.v[MBATCH_STATS_A_MERGED]);
	EXPECT_EQ(EPOCHS, si.stats.v[MBATCH_STATS_A_CHECKPOINTS]);
	EXPECT_EQ((uint64_t)EPOCHS * NB * bs,
		  si.stats.v[MBATCH_STATS_A_BYTES_WRITTEN]);
	EXPECT_EQ((uint64_t)(EPOCHS - 1) * NB * bs,
		  si.stats.v[MBATCH_STATS_A_BYTES_READ]);
	/* the queue's counters include the session's */
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_TRUE(qi.has_stats);
	EXPECT_GE(qi.stats.v[MBATCH_STATS_A_REORDERED], nreord);
	EXPECT_GE(qi.stats.v[MBATCH_STATS_A_MERGED], nmerged);
	EXPECT_EQ(1, qi.sessions);
	TH_LOG("reordered %llu merged %llu of %u", (unsigned long long)nreord,
	       (unsigned long long)nmerged, n);
	mb_results_free(r, nr);
	free(epoch_of);
}

TEST_HARNESS_MAIN
