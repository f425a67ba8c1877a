// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 4: collect. Every result is delivered exactly once once
 * acknowledged; a collect whose reply is "lost" (not acknowledged) is
 * returned again; collect sequence numbers, counts and pending are right;
 * gaps are detectable; waits (min, epoch, timeout) work: the kernel answers
 * at once with a waiting part and sends COLLECT_READY_NTF when to collect
 * again, so a wait blocks nothing in the family; mbatch_nl's wait for that
 * notification is interruptible and skips the notifications of other
 * collects; big replies are multi-part.
 */
#include <pthread.h>
#include <signal.h>

#include "mb_harness.h"
#include "mb_test.h"

FIXTURE(collect) {
	struct mb_env e;
	uint32_t sid;
};

FIXTURE_SETUP(collect)
{
	const char *err = mb_env_setup(&self->e, NULL, 32, 0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
}

FIXTURE_TEARDOWN(collect)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

static void writes(struct mb_cmd *c, uint32_t n, uint64_t tag0, uint32_t bs,
		   unsigned char *buf, int checkpoint_last)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		c[i] = (struct mb_cmd){ .tag = tag0 + i, .op = MBATCH_OP_WRITE,
			.offset = (uint64_t)i * bs, .len = bs, .data = buf,
			.data_len = bs };
	if (checkpoint_last)
		c[n - 1] = (struct mb_cmd){ .tag = tag0 + n - 1,
			.op = MBATCH_OP_CHECKPOINT };
}

static int same_results(const struct mb_collect *a, const struct mb_collect *b,
			uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (a->res[i].seq != b->res[i].seq ||
		    a->res[i].tag != b->res[i].tag ||
		    a->res[i].status != b->res[i].status ||
		    a->res[i].done_ns != b->res[i].done_ns)
			return 0;
	return 1;
}

TEST_F(collect, redelivery_ack_and_sequence)
{
	enum { N = 200 };
	static unsigned char buf[4096];
	struct mb_cmd c[N];
	struct mb_collect a, b, d;
	struct mb_collect_opts o = { .session = self->sid };
	struct mb_submit_reply rep;
	unsigned char seen[N] = { 0 };
	uint64_t cs;
	uint32_t i;

	writes(c, N, 100, self->e.bs, buf, 1);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, N, &rep))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(N, rep.count);
	EXPECT_NE(0, rep.batch_id);

	/* wait for the checkpoint: everything is then complete */
	o.has_epoch = 1;
	o.epoch = 0;
	o.has_timeout = 1;
	o.timeout_ms = 10000;
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(0, a.inconsistent);
	EXPECT_EQ(self->sid, a.session);
	/* a collect that waited used one sequence number for its waiting reply */
	if (a.waited)
		EXPECT_EQ(1, a.wait_cseq);
	cs = a.waited ? 2 : 1;
	EXPECT_EQ(cs, a.cseq);
	EXPECT_EQ(a.nres, a.count);
	ASSERT_EQ(N, a.nres + a.pending) TH_LOG("got %u, pending %u", a.nres,
						a.pending);
	ASSERT_GT(a.nres, 0);
	EXPECT_EQ(NULL, mb_check_seq(a.res, a.nres, 1));

	/* the reply was "lost": collect again without ack */
	o.has_epoch = 0;
	o.has_timeout = 0;
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &b)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(0, b.waited);
	EXPECT_EQ(cs + 1, b.cseq);
	ASSERT_GE(b.nres, a.nres);
	EXPECT_TRUE(same_results(&a, &b, a.nres))
		TH_LOG("re-collect without ack returned different results");

	/* ack the first half by cursor: only the rest comes back */
	for (i = 0; i < b.nres / 2; i++) {
		ASSERT_LT(b.res[i].tag - 100, N);
		seen[b.res[i].tag - 100]++;
	}
	o.has_ack = 1;
	o.ack = b.res[b.nres / 2 - 1].seq;
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &d)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(cs + 2, d.cseq);
	ASSERT_GT(d.nres, 0);
	EXPECT_EQ(o.ack + 1, d.res[0].seq) TH_LOG("gap or duplicate after ack");
	EXPECT_EQ(N - b.nres / 2, d.nres + d.pending);
	EXPECT_EQ(NULL, mb_check_seq(d.res, d.nres, o.ack + 1));

	/* ACK_DELIVERED acknowledges all of the previous reply */
	mb_collect_free(&a);
	o.has_ack = 0;
	o.flags = MBATCH_COLLECT_F_ACK_DELIVERED;
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(cs + 3, a.cseq);
	if (a.nres)
		EXPECT_EQ(d.res[d.nres - 1].seq + 1, a.res[0].seq);
	/* and once more: now nothing is left */
	mb_collect_free(&b);
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &b)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(cs + 4, b.cseq);
	EXPECT_EQ(0, b.nres);
	EXPECT_EQ(0, b.count);
	EXPECT_EQ(0, b.pending);

	/*
	 * Every tag exactly once across what was acknowledged: the half
	 * acknowledged by cursor, then d, a and b. None twice, none missing.
	 */
	for (i = 0; i < b.nres; i++)
		seen[b.res[i].tag - 100]++;
	for (i = 0; i < d.nres; i++)
		seen[d.res[i].tag - 100]++;
	for (i = 0; i < a.nres; i++)
		seen[a.res[i].tag - 100]++;
	for (i = 0; i < N; i++) {
		unsigned int times = seen[i];

		EXPECT_EQ(1, times) TH_LOG("tag %u delivered %u times",
					   i + 100, times);
	}
	mb_collect_free(&a);
	mb_collect_free(&b);
	mb_collect_free(&d);
}

TEST_F_TIMEOUT(collect, exactly_once_pipelined, 90)
{
	/* submit in batches while collecting with acks; union == all tags */
	enum { N = 2000 };
	static unsigned char buf[4096];
	static struct mb_cmd c[N];
	static unsigned char seen[N];
	struct mb_result *all = NULL;
	uint32_t i, nall = 0, sent = 0;
	uint64_t last = 0;
	int have = 0;

	for (i = 0; i < N; i++)
		c[i] = (struct mb_cmd){ .tag = i, .op = i % 10 == 9 ?
			MBATCH_OP_CHECKPOINT : MBATCH_OP_WRITE,
			.offset = (uint64_t)(i % 512) * self->e.bs,
			.len = self->e.bs, .data = buf, .data_len = self->e.bs };
	for (i = 0; i < N; i++)
		if (c[i].op == MBATCH_OP_CHECKPOINT)
			c[i].data = NULL;
	while (sent < N || nall < N) {
		struct mb_collect_opts o = { .session = self->sid,
			.has_ack = have, .ack = last };
		struct mb_collect col;

		if (sent < N) {
			uint32_t nb = N - sent < 100 ? N - sent : 100;

			ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0,
					       c + sent, nb, NULL))
				TH_LOG("%s", mb_strerr(&self->e.s));
			sent += nb;
		} else {
			o.has_min = 1;
			o.min = 1;
			o.has_timeout = 1;
			o.timeout_ms = 2000;
		}
		ASSERT_EQ(0, mb_collect(&self->e.s, &o, &col))
			TH_LOG("%s", mb_strerr(&self->e.s));
		ASSERT_EQ(0, col.inconsistent);
		ASSERT_EQ(col.nres, col.count);
		if (col.nres) {
			EXPECT_EQ(last + 1, col.res[0].seq)
				TH_LOG("gap/duplicate: first %llu after ack %llu",
				       (unsigned long long)col.res[0].seq,
				       (unsigned long long)last);
			EXPECT_EQ(NULL, mb_check_seq(col.res, col.nres, last + 1));
			for (i = 0; i < col.nres; i++) {
				ASSERT_LT(col.res[i].tag, N);
				EXPECT_EQ(0, seen[col.res[i].tag]++)
					TH_LOG("tag %llu twice",
					       (unsigned long long)col.res[i].tag);
			}
			last = col.res[col.nres - 1].seq;
			have = 1;
			nall += col.nres;
		}
		mb_collect_free(&col);
	}
	EXPECT_EQ(N, nall);
	for (i = 0; i < N; i++)
		EXPECT_EQ(1, seen[i]);
	free(all);
}

TEST_F(collect, max_and_pending)
{
	static unsigned char buf[4096];
	struct mb_cmd c[50];
	struct mb_collect a;
	struct mb_collect_opts o = { .session = self->sid };
	struct mb_result *r = NULL;
	uint32_t nr = 0;

	writes(c, 50, 1, self->e.bs, buf, 1);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 50, NULL));
	o.has_epoch = 1;
	o.has_timeout = 1;
	o.timeout_ms = 10000;
	o.has_max = 1;
	o.max = 10;
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(10, a.nres);
	EXPECT_EQ(10, a.count);
	EXPECT_EQ(40, a.pending);
	r = a.res;
	nr = a.nres;
	/* the rest, acknowledging the first ten */
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 40, 10000, &r, &nr));
	EXPECT_EQ(50, nr);
	EXPECT_EQ(NULL, mb_check_seq(r, nr, 1));
	mb_results_free(r, nr);
}

TEST_F_TIMEOUT(collect, multipart_large_reply, 60)
{
	/* 64 READs of the largest size: a multi-MiB reply must be split into
	 * parts that all carry the same header, and every byte must arrive
	 */
	enum { N = 64 };
	const uint32_t IO = mb_max_io(self->e.bs);
	struct mb_cmd c[N + 1];
	struct mb_collect a;
	struct mb_collect_opts o = { .session = self->sid, .has_epoch = 1,
		.has_timeout = 1, .timeout_ms = 10000 };
	unsigned char *img = malloc(N * IO);
	uint32_t i;

	ASSERT_NE(NULL, img);
	mb_pattern(img, N * IO, 77, 0);
	ASSERT_EQ(0, mb_pwrite_direct(self->e.dev, 0, img, N * IO));
	for (i = 0; i < N; i++)
		c[i] = (struct mb_cmd){ .tag = i, .op = MBATCH_OP_READ,
			.offset = (uint64_t)i * IO,
			.len = IO };
	c[N] = (struct mb_cmd){ .tag = N, .op = MBATCH_OP_CHECKPOINT };
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, N + 1, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(0, a.inconsistent);
	EXPECT_EQ(N + 1, a.nres);
	EXPECT_EQ(a.nres, a.count);
	EXPECT_GT(a.nparts, 1);
	for (i = 0; i < a.nres; i++) {
		const struct mb_result *r = &a.res[i];

		if (r->op != MBATCH_OP_READ)
			continue;
		ASSERT_EQ(IO, r->data_len);
		EXPECT_EQ(0, memcmp(r->data, img + r->tag * IO,
				    IO))
			TH_LOG("READ %llu data differs", (unsigned long long)r->tag);
	}
	TH_LOG("%u results in %d parts", a.nres, a.nparts);
	mb_collect_free(&a);
	free(img);
}

TEST_F(collect, wait_timeout_is_not_an_error)
{
	struct mb_collect_opts o = { .session = self->sid, .has_min = 1,
		.min = 5, .has_timeout = 1, .timeout_ms = 400 };
	struct mb_collect a;
	uint64_t t0 = mb_now_ns(), dt;

	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	dt = (mb_now_ns() - t0) / 1000000;
	EXPECT_EQ(0, a.nres);
	EXPECT_EQ(0, a.count);
	EXPECT_EQ(1, a.waited);
	EXPECT_EQ(1, a.nwaiting);
	EXPECT_EQ(1, a.timed_out) TH_LOG("COLLECT_READY_NTF without timed-out");
	EXPECT_EQ(0, a.ready_pending);
	EXPECT_EQ(a.wait_cseq, a.ready_cseq);
	EXPECT_EQ(a.wait_cseq + 1, a.cseq);
	EXPECT_FALSE(a.inconsistent);
	EXPECT_GE(dt, 300) TH_LOG("returned after %llu ms", (unsigned long long)dt);
	EXPECT_LT(dt, 5000) TH_LOG("returned after %llu ms", (unsigned long long)dt);
	mb_collect_free(&a);
}

TEST_F(collect, waiting_reply_comes_at_once)
{
	/* the kernel does not sleep: the reply is one waiting part, now */
	struct mb_collect_opts o = { .session = self->sid, .has_min = 1,
		.min = 5, .has_timeout = 1, .timeout_ms = 300 };
	struct mb_collect a, b;
	struct mb_req r;
	uint64_t t0, dt;

	mb_req_init(&r, &self->e.s, MBATCH_CMD_COLLECT, NLM_F_DUMP);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, self->sid);
	mb_put_u32(&r, MBATCH_A_COLLECT_MIN, 5);
	mb_put_u32(&r, MBATCH_A_COLLECT_TIMEOUT_MS, 3000);
	t0 = mb_now_ns();
	EXPECT_EQ(0, mb_transact(&self->e.s, &r, NULL, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	dt = (mb_now_ns() - t0) / 1000000;
	mb_req_free(&r);
	EXPECT_LT(dt, 1000) TH_LOG("a waiting collect took %llu ms",
				   (unsigned long long)dt);
	/* a later waiting collect replaces that one, which is sent at once */
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(1, a.waited);
	EXPECT_EQ(1, a.timed_out);
	EXPECT_EQ(0, a.nres);
	mb_collect_free(&a);
	/* without a condition nothing waits */
	o = (struct mb_collect_opts){ .session = self->sid };
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &b));
	EXPECT_EQ(0, b.waited);
	EXPECT_EQ(0, b.nwaiting);
	mb_collect_free(&b);
}

TEST_F(collect, other_ready_notifications_are_skipped)
{
	/*
	 * A raw waiting collect on a second session of the same socket: its
	 * COLLECT_READY_NTF arrives while mb_collect() waits for its own and
	 * must neither end that wait nor be taken for it.
	 */
	struct mb_collect_opts o = { .session = self->sid, .has_min = 1,
		.min = 1, .has_timeout = 1, .timeout_ms = 1500 };
	struct mb_collect a;
	struct mb_req r;
	uint32_t sid2;
	uint64_t t0, dt;

	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &sid2));
	mb_req_init(&r, &self->e.s, MBATCH_CMD_COLLECT, NLM_F_DUMP);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid2);
	mb_put_u32(&r, MBATCH_A_COLLECT_MIN, 1);
	mb_put_u32(&r, MBATCH_A_COLLECT_TIMEOUT_MS, 300);
	EXPECT_EQ(0, mb_transact(&self->e.s, &r, NULL, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	mb_req_free(&r);
	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	dt = (mb_now_ns() - t0) / 1000000;
	EXPECT_EQ(1, a.waited);
	EXPECT_EQ(1, a.timed_out);
	EXPECT_EQ(1, a.nstale) TH_LOG("the other session's notification");
	EXPECT_GE(dt, 1400) TH_LOG("the wait ended after %llu ms",
				   (unsigned long long)dt);
	mb_collect_free(&a);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid2));
}

TEST_F(collect, wait_min_wakes_up)
{
	/* a waiter with min=3 must wake when the results arrive, long before
	 * its timeout
	 */
	static unsigned char buf[4096];
	struct mb_cmd c[3];
	struct mb_collect_opts o = { .session = self->sid, .has_min = 1,
		.min = 3, .has_timeout = 1, .timeout_ms = 10000 };
	struct mb_collect a;
	uint64_t t0, dt;

	writes(c, 3, 1, self->e.bs, buf, 0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 3, NULL));
	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	dt = (mb_now_ns() - t0) / 1000000;
	EXPECT_EQ(3, a.nres);
	EXPECT_LT(dt, 5000);
	if (a.waited) {
		EXPECT_EQ(0, a.timed_out);
		EXPECT_GE(a.ready_pending, 3);
	}
	mb_collect_free(&a);
}

struct waiter {
	uint32_t sid;
	int ret;
	int err;
	char msg[512];
	uint64_t ms;
	int started;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct mb_collect_opts o = { .session = w->sid, .has_min = 1,
		.min = 1000, .has_timeout = 1, .timeout_ms = 8000 };
	struct mb_collect a;
	struct mb_sock s;
	uint64_t t0;

	if (mb_open(&s)) {
		w->ret = -1;
		return NULL;
	}
	t0 = mb_now_ns();
	__atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
	w->ret = mb_collect(&s, &o, &a);
	w->ms = (mb_now_ns() - t0) / 1000000;
	w->err = s.err.err;
	snprintf(w->msg, sizeof(w->msg), "%s", s.err.msg);
	mb_collect_free(&a);
	mb_close(&s);
	return NULL;
}

TEST_F_TIMEOUT(collect, wait_interruptible_and_unlocked, 30)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct waiter w = { .sid = self->sid };
	struct mb_session_info si;
	char modver[64];
	uint64_t t0, dt;
	pthread_t th;

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
	ASSERT_EQ(0, pthread_create(&th, NULL, wait_thread, &w));
	while (!__atomic_load_n(&w.started, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(300000);
	/* while one collect waits, the family keeps answering: nothing of
	 * the wait is in the kernel
	 */
	t0 = mb_now_ns();
	EXPECT_EQ(0, mb_version(&self->e.s, NULL, modver, sizeof(modver), NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	dt = (mb_now_ns() - t0) / 1000000;
	EXPECT_LT(dt, 1000) TH_LOG("family blocked %llu ms by a waiting collect",
				   (unsigned long long)dt);
	EXPECT_EQ(0, __atomic_load_n(&w.ms, __ATOMIC_SEQ_CST))
		TH_LOG("waiter returned early");
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	EXPECT_EQ(-EINTR, w.ret) TH_LOG("collect ended with %d (%s) after %llu ms",
					w.ret, w.msg, (unsigned long long)w.ms);
	EXPECT_LT(w.ms, 4000);
}

TEST_F(collect, epoch_wait_returns_checkpoint)
{
	static unsigned char buf[4096];
	struct mb_cmd c[20];
	struct mb_collect_opts o = { .session = self->sid, .has_epoch = 1,
		.epoch = 1, .has_timeout = 1, .timeout_ms = 10000 };
	struct mb_collect a;
	uint32_t i, cps = 0;

	writes(c, 20, 1, self->e.bs, buf, 0);
	c[9] = (struct mb_cmd){ .tag = 10, .op = MBATCH_OP_CHECKPOINT };
	c[19] = (struct mb_cmd){ .tag = 20, .op = MBATCH_OP_CHECKPOINT };
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 20, NULL));
	ASSERT_EQ(0, mb_collect(&self->e.s, &o, &a)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	EXPECT_EQ(20, a.nres);
	for (i = 0; i < a.nres; i++)
		if (a.res[i].op == MBATCH_OP_CHECKPOINT) {
			EXPECT_EQ(cps, a.res[i].epoch);
			cps++;
		}
	EXPECT_EQ(2, cps);
	mb_collect_free(&a);
}

TEST_HARNESS_MAIN
