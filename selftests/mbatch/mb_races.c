// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 10: the ordering bugs LIO shipped (shared/notes/anchors.md),
 * as tests: checkpoints with nothing between them, a checkpoint first and
 * last, many checkpoints queued at once, a checkpoint released only after
 * ALL older commands (not the first) completed (the first command of the
 * epoch made really slow by dm-delay, and shown to have finished last),
 * nothing stranded, and many sessions on one queue in parallel (threads),
 * each keeping its own order.
 */
#include <pthread.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_dm.h"

FIXTURE(races) {
	struct mb_env e;
	uint32_t sid;
	uint64_t rng;
	/* checkpoint_waits_for_all_older: its own null_blk, dm and queue */
	char nb2[64], dev2[128], dm[32], dmdev[64], q2[MBATCH_QUEUE_NAME_MAX];
	uint32_t sid2;
};

FIXTURE_VARIANT(races) {
	const char *nullb;
	uint32_t depth;
};

FIXTURE_VARIANT_ADD(races, d32) {
	.nullb = "size=64 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16 discard=1",
	.depth = 32,
};

FIXTURE_VARIANT_ADD(races, d2_slow) {
	.nullb = "size=64 memory_backed=1 irqmode=2 completion_nsec=300000 discard=1",
	.depth = 2,
};

FIXTURE_SETUP(races)
{
	const char *err = mb_env_setup(&self->e, variant->nullb, variant->depth,
				       0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid));
	self->rng = mb_seed();
	TH_LOG("seed %llu", (unsigned long long)self->rng);
}

FIXTURE_TEARDOWN(races)
{
	const char *err;

	if (self->sid2)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid2));
	if (self->q2[0]) {
		EXPECT_EQ(0, mb_queue_del(&self->e.s, self->q2));
		EXPECT_TRUE(mb_wait_dev_free(self->dmdev, 5000));
	}
	if (self->dm[0])
		EXPECT_EQ(0, mb_dm_remove(self->dm)) TH_LOG("dm remove %s",
							    self->dm);
	if (self->nb2[0]) {
		EXPECT_TRUE(mb_wait_dev_free(self->dev2, 5000));
		EXPECT_EQ(0, mb_nullb_remove(self->nb2));
	}
	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

static unsigned char wbuf[65536];

#define CPC(t, f) ((struct mb_cmd){ .tag = (t), .op = MBATCH_OP_CHECKPOINT, .flags = (f) })
#define WR(t, off, l) ((struct mb_cmd){ .tag = (t), .op = MBATCH_OP_WRITE, \
	.offset = (off), .len = (l), .data = wbuf, .data_len = (l) })
#define RD(t, off, l) ((struct mb_cmd){ .tag = (t), .op = MBATCH_OP_READ, \
	.offset = (off), .len = (l) })

/* results sorted by msg_seq must have the expected epochs, all status 0,
 * checkpoints completing in order, and the barrier property
 */
static const char *check_run(const struct mb_cmd *c, uint32_t n,
			     const struct mb_result *r, uint32_t nr,
			     uint64_t epoch)
{
	static char why[400];
	uint64_t last_cp_done = 0;
	uint32_t i;

	if (nr != n) {
		snprintf(why, sizeof(why), "%u results for %u commands", nr, n);
		return why;
	}
	for (i = 0; i < n; i++) {
		const struct mb_result *x = mb_find_tag(r, nr, c[i].tag);

		if (!x) {
			snprintf(why, sizeof(why), "no result for tag %llu",
				 (unsigned long long)c[i].tag);
			return why;
		}
		if (x->status || x->epoch != epoch) {
			snprintf(why, sizeof(why),
				 "tag %llu (%s): status %d epoch %llu, expected 0 / %llu",
				 (unsigned long long)c[i].tag, mb_op_name(c[i].op),
				 x->status, (unsigned long long)x->epoch,
				 (unsigned long long)epoch);
			return why;
		}
		if (c[i].op == MBATCH_OP_CHECKPOINT) {
			if (x->done_ns < last_cp_done) {
				snprintf(why, sizeof(why),
					 "checkpoint %llu completed before checkpoint %llu",
					 (unsigned long long)epoch,
					 (unsigned long long)epoch - 1);
				return why;
			}
			last_cp_done = x->done_ns;
			epoch++;
		}
	}
	return mb_check_barrier(r, nr);
}

/* Submit c[] in batches of per_batch, collect, check against the session's
 * epoch count before the run. With @rp the results are kept there.
 */
static const char *run_keep(struct mb_sock *s, uint32_t sid,
			    const struct mb_cmd *c, uint32_t n,
			    uint32_t per_batch, struct mb_result **rp,
			    uint32_t *nrp)
{
	static char why[600];
	struct mb_session_info si;
	struct mb_result *r = NULL;
	const char *bad;
	uint32_t i, nr = 0;

	if (mb_session_get(s, sid, &si)) {
		snprintf(why, sizeof(why), "SESSION_GET: %s", mb_strerr(s));
		return why;
	}

	for (i = 0; i < n; i += per_batch) {
		uint32_t k = n - i < per_batch ? n - i : per_batch;

		if (mb_submit(s, sid, 0, c + i, k, NULL)) {
			snprintf(why, sizeof(why), "SUBMIT: %s", mb_strerr(s));
			return why;
		}
	}
	if (mb_collect_all(s, sid, n, 30000, &r, &nr)) {
		snprintf(why, sizeof(why), "collect (%u of %u; stranded?): %s",
			 nr, n, mb_strerr(s));
		mb_results_free(r, nr);
		return why;
	}
	bad = check_run(c, n, r, nr, si.epoch);
	if (bad)
		snprintf(why, sizeof(why), "%s", bad);
	if (rp) {
		*rp = r;
		*nrp = nr;
	} else {
		mb_results_free(r, nr);
	}
	return bad ? why : NULL;
}

static const char *run(struct mb_sock *s, uint32_t sid, const struct mb_cmd *c,
		       uint32_t n, uint32_t per_batch)
{
	return run_keep(s, sid, c, n, per_batch, NULL, NULL);
}

/* LIO 3: several ordered commands with no simple ones between them */
TEST_F(races, back_to_back_checkpoints)
{
	struct mb_cmd c[] = {
		WR(1, 0, 4096), CPC(2, 0), CPC(3, MBATCH_MSG_F_DURABLE),
		CPC(4, MBATCH_MSG_F_CONTINUE), CPC(5, 0), WR(6, 4096, 4096),
		RD(7, 0, 8192), CPC(8, 0), CPC(9, 0),
	};
	const char *err;
	struct mb_session_info si;

	err = run(&self->e.s, self->sid, c, 9, 9);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(6, si.epoch);
	EXPECT_EQ(6, si.done_epoch);
}

/* checkpoint as the very first and the very last message */
TEST_F(races, checkpoint_first_and_last)
{
	struct mb_cmd c[] = {
		CPC(1, 0), WR(2, 0, 512), WR(3, 512, 512), RD(4, 0, 1024),
		CPC(5, MBATCH_MSG_F_DURABLE),
	};
	struct mb_cmd only[] = { CPC(6, 0) };
	const char *err;

	err = run(&self->e.s, self->sid, c, 5, 5);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	/* a batch that is one checkpoint, on a session with nothing queued */
	err = run(&self->e.s, self->sid, only, 1, 1);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

/* many checkpoints queued at once: 1000 in one batch, and 100 batches of
 * (8 commands + checkpoint) submitted before the first completes
 */
TEST_F_TIMEOUT(races, many_checkpoints_at_once, 90)
{
	static struct mb_cmd c[1000], d[900];
	const char *err;
	uint32_t i;

	for (i = 0; i < 1000; i++)
		c[i] = CPC(i + 1, i % 7 == 0 ? MBATCH_MSG_F_CONTINUE : 0);
	err = run(&self->e.s, self->sid, c, 1000, 1000);
	EXPECT_EQ(NULL, err) TH_LOG("1000 checkpoints: %s", err);
	for (i = 0; i < 900; i++) {
		uint64_t t = 10000 + i;

		if (i % 9 == 8)
			d[i] = CPC(t, 0);
		else if (i % 3)
			d[i] = WR(t, (mb_rng_next(&self->rng) % 4096) * 4096, 4096);
		else
			d[i] = RD(t, (mb_rng_next(&self->rng) % 4096) * 4096, 4096);
	}
	err = run(&self->e.s, self->sid, d, 900, 9);
	EXPECT_EQ(NULL, err) TH_LOG("100 small batches: %s", err);
}

/*
 * LIO 4 and 5: the checkpoint waits for ALL older commands, not the first
 * one to complete: a long command submitted first, short ones after. On
 * timer-mode null_blk every request takes the same time, so the long one
 * is made long for real: the queue is bound to a dm device whose first MiB
 * is dm-delay (SLOW_MS per read and write, flushes not delayed) and whose
 * rest is linear, both over one null_blk. The long command of each epoch
 * writes into the first MiB, the short ones (writes up to the largest I/O,
 * a read, a flush, write-zeroes) go elsewhere. Proven from the results: the
 * long command started first (the lowest offset; a FLUSH has none) and
 * completed last of its epoch, after every other command of it, and was
 * slow; its checkpoint completed after it,
 * and the next epoch started after the checkpoint (check_run).
 */
TEST_F_TIMEOUT(races, checkpoint_waits_for_all_older, 90)
{
	enum { EPOCHS = 3, SLOW_MS = 1000, SLOW_SECTORS = 2048 };
	struct mb_dm_target t[2];
	struct mb_queue_cfg qc;
	struct mb_result *r = NULL;
	struct mb_cmd c[EPOCHS * 16];
	uint32_t i, j, n = 0, nr = 0, first[EPOCHS + 1];
	char devno[32];
	const char *err;
	uint64_t cap;

	ASSERT_EQ(0, system("modprobe dm_delay"))
		TH_LOG("dm-delay is not available");
	ASSERT_EQ(0, mb_nullb_create("size=64 memory_backed=1 irqmode=2 completion_nsec=50000",
				     self->nb2, sizeof(self->nb2), self->dev2,
				     sizeof(self->dev2)));
	ASSERT_EQ(0, mb_dm_devno(self->dev2, devno, sizeof(devno)));
	cap = 64ULL << 11;		/* sectors */
	t[0] = (struct mb_dm_target){ .start = 0, .len = SLOW_SECTORS,
				      .type = "delay" };
	snprintf(t[0].params, sizeof(t[0].params), "%s 0 %d %s 0 %d %s 0 0",
		 devno, SLOW_MS, devno, SLOW_MS, devno);
	t[1] = (struct mb_dm_target){ .start = SLOW_SECTORS,
				      .len = cap - SLOW_SECTORS,
				      .type = "linear" };
	snprintf(t[1].params, sizeof(t[1].params), "%s %d", devno,
		 SLOW_SECTORS);
	mb_unique(self->dm, sizeof(self->dm), "mbd");
	ASSERT_EQ(0, mb_dm_create(self->dm, t, 2, self->dmdev,
				  sizeof(self->dmdev)))
		TH_LOG("dm device %s: %m", self->dm);
	mb_unique(self->q2, sizeof(self->q2), "qd");
	qc = (struct mb_queue_cfg){ .name = self->q2, .dev = self->dmdev,
				    .depth = variant->depth };
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) {
		TH_LOG("QUEUE_NEW on %s: %s", self->dmdev,
		       mb_strerr(&self->e.s));
		self->q2[0] = 0;
	}
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->q2, 0, &self->sid2));

	for (i = 0; i < EPOCHS; i++) {
		first[i] = n;
		/* the long one, first in submission and in offset order */
		c[n] = WR(100 + n, i * 4096ULL, 4096);
		n++;
		c[n] = WR(100 + n, (8ULL << 20) + i * 65536ULL, mb_max_io(512));
		n++;
		c[n] = RD(100 + n, (16ULL << 20) + i * 65536ULL, mb_max_io(512));
		n++;
		c[n] = WR(100 + n, (1ULL << 20) + i * 512ULL, 512);
		n++;
		c[n] = (struct mb_cmd){ .tag = 100 + n, .op = MBATCH_OP_FLUSH };
		n++;
		c[n] = (struct mb_cmd){ .tag = 100 + n,
			.op = MBATCH_OP_WRITE_ZEROES,
			.offset = 24ULL << 20, .len = 1U << 20 };
		n++;
		for (j = 0; j < 6; j++, n++)
			c[n] = WR(100 + n, (32ULL << 20) + (i * 8 + j) * 8192ULL,
				  4096);
		c[n] = CPC(100 + n, 0);
		n++;
	}
	first[EPOCHS] = n;
	err = run_keep(&self->e.s, self->sid2, c, n, n, &r, &nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(n, nr);

	for (i = 0; i < EPOCHS; i++) {
		const struct mb_result *slow = mb_find_tag(r, nr, c[first[i]].tag);
		const struct mb_result *cp = mb_find_tag(r, nr,
							 c[first[i + 1] - 1].tag);

		ASSERT_NE(NULL, slow);
		ASSERT_NE(NULL, cp);
		EXPECT_LE((uint64_t)SLOW_MS * 1000000 * 8 / 10,
			  slow->done_ns - slow->start_ns)
			TH_LOG("epoch %u: the long command took only %llu us",
			       i, (unsigned long long)(slow->done_ns -
						       slow->start_ns) / 1000);
		for (j = first[i] + 1; j < first[i + 1] - 1; j++) {
			const struct mb_result *x = mb_find_tag(r, nr, c[j].tag);

			ASSERT_NE(NULL, x);
			/* a FLUSH has no offset: it sorts with offset 0 */
			if (c[j].op != MBATCH_OP_FLUSH)
				EXPECT_LE(slow->start_ns, x->start_ns)
					TH_LOG("epoch %u: tag %llu (%s) started before the long command",
					       i, (unsigned long long)c[j].tag,
					       mb_op_name(c[j].op));
			EXPECT_LT(x->done_ns, slow->done_ns)
				TH_LOG("epoch %u: tag %llu (%s) completed after the long command: it was not the last",
				       i, (unsigned long long)c[j].tag,
				       mb_op_name(c[j].op));
		}
		EXPECT_LE(slow->done_ns, cp->done_ns)
			TH_LOG("epoch %u: the checkpoint completed before the long command",
			       i);
		TH_LOG("epoch %u: long command %llu us, checkpoint %llu us after it",
		       i, (unsigned long long)(slow->done_ns - slow->start_ns) / 1000,
		       (unsigned long long)(cp->done_ns - slow->done_ns) / 1000);
	}
	mb_results_free(r, nr);
}

struct worker {
	pthread_t th;
	const char *queue;
	uint32_t idx;
	uint64_t seed;
	char err[900];
	uint32_t n;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct mb_wl_opts o = {
		.base = (uint64_t)w->idx * (4ULL << 20), .size = 4ULL << 20,
		.bs = 512, .max_blocks = 16, .avg_epoch = 12,
		.with_zero_ops = 1, .with_flags = 1,
	};
	struct mb_result *r = NULL;
	uint32_t nr = 0, sid = 0;
	uint64_t first = 0, rng = w->seed;
	struct mb_sock s;
	const char *bad;
	struct mb_wl wl;

	if (mb_open(&s)) {
		snprintf(w->err, sizeof(w->err), "worker %u: open", w->idx);
		return NULL;
	}
	if (mb_session_open(&s, w->queue, MBATCH_SESSION_F_OWNED, &sid)) {
		snprintf(w->err, sizeof(w->err), "worker %u: session: %s",
			 w->idx, mb_strerr(&s));
		mb_close(&s);
		return NULL;
	}
	mb_wl_gen(&wl, &o, w->n, (uint64_t)w->idx << 32, &rng);
	bad = mb_wl_run(&s, sid, &wl, 40, MBATCH_MAX_CMDS_DEFAULT,
			MBATCH_MAX_BYTES_DEFAULT, &rng, &r, &nr, &first);
	if (!bad)
		bad = mb_wl_verify(&wl, r, nr, first);
	if (!bad && nr && r[0].seq != 1)
		bad = "results of a fresh session do not start at seq 1";
	if (bad)
		snprintf(w->err, sizeof(w->err), "worker %u (session %u): %.800s",
			 w->idx, sid, bad);
	mb_results_free(r, nr);
	mb_wl_free(&wl);
	mb_session_close(&s, sid);
	mb_close(&s);
	return NULL;
}

/* LIO 1 and 2: many sessions in parallel on one queue, each its own order */
TEST_F_TIMEOUT(races, parallel_sessions_keep_their_order, 120)
{
	enum { T = 8 };
	struct worker w[T];
	struct mb_queue_info qi;
	uint32_t i;

	for (i = 0; i < T; i++) {
		w[i] = (struct worker){ .queue = self->e.queue, .idx = i,
			.seed = mb_rng_next(&self->rng) | 1,
			.n = variant->depth > 2 ? 400 : 150 };
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, worker_fn, &w[i]));
	}
	for (i = 0; i < T; i++) {
		pthread_join(w[i].th, NULL);
		EXPECT_EQ(0, w[i].err[0]) TH_LOG("%s", w[i].err);
	}
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(1, qi.sessions) TH_LOG("worker sessions left behind");
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_INFLIGHT]);
}

TEST_HARNESS_MAIN
