// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 5: fail-stop. A command hitting a null_blk bad block fails,
 * the checkpoint after it fails with the same error, the session halts, every
 * later command (queued or submitted later) completes -ECANCELED without
 * reaching the device, a session-halt event is multicast, RESUME restores
 * service. CONTINUE does not halt. DURABLE issues a flush that the device
 * sees. BATCH_CANCEL cancels what has not started, never checkpoints.
 * Every write ran once or not at all, as its outcome says: the device's
 * sectors-written counter grows by exactly the writes whose outcome is done
 * (those that failed on the bad block included: they reached the device).
 */
#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

#define BAD_OFF		(1ULL << 20)	/* sectors 2048..2055 are bad */
#define BAD_SPEC	"+2048-2055"

FIXTURE(fs) {
	struct mb_env e;
	struct mb_sock ev;
	uint32_t sid;
	unsigned char buf[65536];
};

FIXTURE_SETUP(fs)
{
	const char *err = mb_env_setup(&self->e,
		"size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16 discard=1",
		32, 0, 0);

	self->ev.fd = -1;
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_nullb_badblocks(self->e.nullb, BAD_SPEC));
	ASSERT_EQ(0, mb_open(&self->ev));
	ASSERT_EQ(0, mb_events_join(&self->ev)) TH_LOG("%s",
						       mb_strerr(&self->ev));
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	mb_pattern(self->buf, sizeof(self->buf), 3, 0);
}

FIXTURE_TEARDOWN(fs)
{
	const char *err;

	if (self->ev.fd >= 0)
		mb_close(&self->ev);
	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

static struct mb_cmd W(uint64_t tag, uint64_t off, uint32_t len,
		       const void *data)
{
	return (struct mb_cmd){ .tag = tag, .op = MBATCH_OP_WRITE,
		.offset = off, .len = len, .data = data, .data_len = len };
}

static struct mb_cmd R(uint64_t tag, uint64_t off, uint32_t len)
{
	return (struct mb_cmd){ .tag = tag, .op = MBATCH_OP_READ,
		.offset = off, .len = len };
}

static struct mb_cmd CP(uint64_t tag, uint32_t flags)
{
	return (struct mb_cmd){ .tag = tag, .op = MBATCH_OP_CHECKPOINT,
		.flags = flags };
}

/* Wait for an event of kind cmd for session sid; 1 if seen. */
static int wait_event(struct mb_sock *ev, uint8_t cmd, uint32_t sid,
		      struct mb_event *out, int ms)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;

	while (mb_now_ns() < end) {
		int ret = mb_event_recv(ev, out, 200);

		if (ret < 0)
			return 0;
		if (ret && out->cmd == cmd && out->session == sid)
			return 1;
	}
	return 0;
}

static int dev_is_zero(const char *dev, uint64_t off, uint32_t len)
{
	unsigned char b[65536];

	if (len > sizeof(b) || mb_pread_direct(dev, off, b, len))
		return -1;
	return mb_is_zero(b, len);
}

/* The device wrote @want sectors since @w0, as the results say. */
static void check_written(struct __test_metadata *_metadata, const char *nullb,
			  long long w0, long long want, const struct mb_cmd *c,
			  uint32_t nc, const struct mb_result *r, uint32_t nr)
{
	long long written = mb_sectors_written(nullb) - w0;
	const char *err = mb_check_sectors(c, nc, r, nr, written);

	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	EXPECT_EQ(want, written)
		TH_LOG("the device wrote %lld sectors, %lld expected",
		       written, want);
}

TEST_F(fs, fail_stop_halt_resume)
{
	struct mb_cmd c[] = {
		W(1, 0, 4096, self->buf),
		W(2, BAD_OFF, 4096, self->buf),		/* fails -EIO */
		W(3, 8192, 4096, self->buf),
		CP(4, 0),				/* fails, halts */
		W(5, 65536, 4096, self->buf),		/* cancelled */
		R(6, 0, 4096),				/* cancelled */
		CP(7, 0),
	};
	struct mb_cmd late[] = { W(8, 131072, 4096, self->buf), CP(9, 0) };
	struct mb_cmd again[] = { W(10, 131072, 4096, self->buf), CP(11, 0) };
	struct mb_session_info si;
	struct mb_result *r = NULL;
	const struct mb_result *x;
	struct mb_event evt;
	uint32_t nr = 0, i;
	long long w0 = mb_sectors_written(self->e.nullb);

	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 7, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 7, 10000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(7, nr);
	/* tags 1-3 reached the device (2 failed there), 5 did not */
	check_written(_metadata, self->e.nullb, w0, 3 * 8, c, 7, r, nr);
	for (i = 1; i <= 4; i++)
		EXPECT_EQ(MBATCH_OUTCOME_DONE, mb_find_tag(r, nr, i)->outcome)
			TH_LOG("tag %u ran: outcome %u", i,
			       mb_find_tag(r, nr, i)->outcome);
	x = mb_find_tag(r, nr, 1);
	EXPECT_EQ(0, x->status);
	x = mb_find_tag(r, nr, 2);
	EXPECT_EQ(-EIO, x->status);
	x = mb_find_tag(r, nr, 3);
	EXPECT_EQ(0, x->status);
	x = mb_find_tag(r, nr, 4);
	EXPECT_EQ(-EIO, x->status) TH_LOG("fail-stop checkpoint status %d",
					  x->status);
	for (i = 5; i <= 6; i++) {
		x = mb_find_tag(r, nr, i);
		EXPECT_EQ(MBATCH_OUTCOME_CANCELLED, x->outcome)
			TH_LOG("tag %u outcome %u", i, x->outcome);
		EXPECT_EQ(-ECANCELED, x->status) TH_LOG("tag %u status %d", i,
							x->status);
		EXPECT_EQ(0, x->start_ns) TH_LOG("tag %u reached the device", i);
		EXPECT_EQ(0, x->bytes);
	}
	EXPECT_EQ(NULL, mb_check_barrier(r, nr));
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;
	EXPECT_EQ(1, dev_is_zero(self->e.dev, 65536, 4096))
		TH_LOG("a command after the failed checkpoint wrote the device");
	EXPECT_EQ(0, dev_is_zero(self->e.dev, 8192, 4096));

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_HALTED, si.state);
	EXPECT_EQ(-EIO, si.error);
	EXPECT_TRUE(wait_event(&self->ev, MBATCH_CMD_SESSION_HALT_NTF,
			       self->sid, &evt, 3000))
		TH_LOG("no session-halt event");
	EXPECT_EQ(-EIO, evt.error);
	EXPECT_STREQ(self->e.queue, evt.queue);

	/* submitted while halted: accepted, cancelled, device untouched */
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, late, 2, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2, 10000, &r, &nr));
	ASSERT_EQ(2, nr);
	check_written(_metadata, self->e.nullb, w0, 0, late, 2, r, nr);
	x = mb_find_tag(r, nr, 8);
	EXPECT_EQ(MBATCH_OUTCOME_CANCELLED, x->outcome);
	EXPECT_EQ(-ECANCELED, x->status);
	EXPECT_EQ(0, x->start_ns);
	mb_results_free(r, nr);
	r = NULL;
	nr = 0;
	EXPECT_EQ(1, dev_is_zero(self->e.dev, 131072, 4096));

	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	ASSERT_TRUE(si.has_stats);
	EXPECT_GE(si.stats.v[MBATCH_STATS_A_FAILED], 1);
	EXPECT_GE(si.stats.v[MBATCH_STATS_A_CANCELLED], 3);

	/* RESUME: service restored */
	ASSERT_EQ(0, mb_resume(&self->e.s, self->sid)) TH_LOG("%s",
							       mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, again, 2, NULL));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2, 10000, &r, &nr));
	ASSERT_EQ(2, nr);
	check_written(_metadata, self->e.nullb, w0, 8, again, 2, r, nr);
	EXPECT_EQ(0, r[0].status);
	EXPECT_EQ(0, r[1].status);
	EXPECT_EQ(MBATCH_OUTCOME_DONE, r[0].outcome);
	EXPECT_EQ(MBATCH_OUTCOME_DONE, r[1].outcome);
	mb_results_free(r, nr);
	EXPECT_EQ(0, dev_is_zero(self->e.dev, 131072, 4096));

	/* RESUME on an active session is refused */
	EXPECT_EQ(-EINVAL, mb_resume(&self->e.s, self->sid));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NOT_HALTED))
		TH_LOG("%s", mb_strerr(&self->e.s));
}

TEST_F(fs, read_of_bad_block_fails_too)
{
	struct mb_cmd c[] = { R(1, BAD_OFF + 512, 512), CP(2, 0),
			      R(3, 0, 512), CP(4, 0) };
	struct mb_result *r = NULL;
	uint32_t nr = 0;
	long long w0 = mb_sectors_written(self->e.nullb);

	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 4, NULL));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 4, 10000, &r, &nr));
	ASSERT_EQ(4, nr);
	check_written(_metadata, self->e.nullb, w0, 0, c, 4, r, nr);
	EXPECT_EQ(-EIO, mb_find_tag(r, nr, 1)->status);
	EXPECT_EQ(MBATCH_OUTCOME_DONE, mb_find_tag(r, nr, 1)->outcome);
	EXPECT_EQ(-EIO, mb_find_tag(r, nr, 2)->status);
	EXPECT_EQ(MBATCH_OUTCOME_DONE, mb_find_tag(r, nr, 2)->outcome);
	EXPECT_EQ(-ECANCELED, mb_find_tag(r, nr, 3)->status);
	EXPECT_EQ(MBATCH_OUTCOME_CANCELLED, mb_find_tag(r, nr, 3)->outcome);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_resume(&self->e.s, self->sid));
}

TEST_F(fs, continue_does_not_halt)
{
	struct mb_cmd c[] = {
		W(1, BAD_OFF, 4096, self->buf),
		CP(2, MBATCH_MSG_F_CONTINUE),
		W(3, 65536, 4096, self->buf),
		CP(4, 0),
	};
	struct mb_session_info si;
	struct mb_result *r = NULL;
	uint32_t nr = 0;
	long long w0 = mb_sectors_written(self->e.nullb);

	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 4, NULL));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 4, 10000, &r, &nr));
	ASSERT_EQ(4, nr);
	check_written(_metadata, self->e.nullb, w0, 2 * 8, c, 4, r, nr);
	EXPECT_EQ(-EIO, mb_find_tag(r, nr, 1)->status);
	EXPECT_EQ(0, mb_find_tag(r, nr, 2)->status);
	EXPECT_EQ(0, mb_find_tag(r, nr, 3)->status);
	EXPECT_NE(0, mb_find_tag(r, nr, 3)->start_ns);
	EXPECT_EQ(0, mb_find_tag(r, nr, 4)->status);
	EXPECT_EQ(NULL, mb_check_barrier(r, nr));
	mb_results_free(r, nr);
	EXPECT_EQ(0, dev_is_zero(self->e.dev, 65536, 4096));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
}

TEST_F(fs, durable_flushes_device)
{
	enum { N = 5 };
	struct mb_cmd c[2 * N];
	struct mb_session_info si;
	struct mb_result *r = NULL;
	long long f0, f1, w0;
	uint32_t nr = 0, i;
	struct mb_event evt;
	int ncp_ev = 0;

	f0 = mb_blk_stat(self->e.nullb, 16);
	ASSERT_GE(f0, 0) TH_LOG("no flush counter in /sys/block/%s/stat",
				self->e.nullb);
	w0 = mb_sectors_written(self->e.nullb);
	for (i = 0; i < N; i++) {
		c[2 * i] = W(2 * i, 4096ULL * i, 4096, self->buf);
		c[2 * i + 1] = CP(2 * i + 1, MBATCH_MSG_F_DURABLE);
	}
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 2 * N, NULL));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2 * N, 10000, &r,
				    &nr));
	ASSERT_EQ(2 * N, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status);
	check_written(_metadata, self->e.nullb, w0, N * 8, c, 2 * N, r, nr);
	mb_results_free(r, nr);
	f1 = mb_blk_stat(self->e.nullb, 16);
	EXPECT_GE(f1 - f0, N) TH_LOG("device saw %lld flushes for %d durable checkpoints",
				     f1 - f0, N);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(N, si.stats.v[MBATCH_STATS_A_FLUSHES]);
	EXPECT_EQ(N, si.stats.v[MBATCH_STATS_A_CHECKPOINTS]);

	/* a plain checkpoint does not flush */
	{
		struct mb_cmd p[] = { W(100, 0, 4096, self->buf), CP(101, 0) };

		f0 = mb_blk_stat(self->e.nullb, 16);
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, p, 2, NULL));
		r = NULL;
		nr = 0;
		ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2, 10000,
					    &r, &nr));
		mb_results_free(r, nr);
		EXPECT_EQ(f0, mb_blk_stat(self->e.nullb, 16));
	}
	/* every checkpoint was announced */
	while (mb_event_recv(&self->ev, &evt, 500) == 1)
		if (evt.cmd == MBATCH_CMD_CHECKPOINT_NTF &&
		    evt.session == self->sid)
			ncp_ev++;
	EXPECT_EQ(N + 1, ncp_ev);
}

TEST_F(fs, batch_cancel)
{
	/* a slow device at depth 1 so that most of the batch has not started */
	enum { N = 200 };
	struct mb_cmd c[N];
	struct mb_submit_reply rep;
	struct mb_result *r = NULL;
	uint32_t nr = 0, i, ncanc = 0;
	char name[64], dev[128], q[MBATCH_QUEUE_NAME_MAX];
	struct mb_queue_cfg qc;
	long long w0;
	uint32_t sid;

	ASSERT_EQ(0, mb_nullb_create("size=16 memory_backed=1 irqmode=2 completion_nsec=2000000",
				     name, sizeof(name), dev, sizeof(dev)));
	mb_unique(q, sizeof(q), "qc");
	qc = (struct mb_queue_cfg){ .name = q, .dev = dev, .depth = 1 };
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
							  mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_open(&self->e.s, q, 0, &sid));
	for (i = 0; i < N; i++)
		c[i] = W(i, 4096ULL * i, 4096, self->buf);
	c[N / 2] = CP(N / 2, MBATCH_MSG_F_CONTINUE);
	w0 = mb_sectors_written(name);
	ASSERT_LE(0, w0);
	ASSERT_EQ(0, mb_submit(&self->e.s, sid, 4242, c, N, &rep));
	EXPECT_EQ(4242, rep.batch_id);
	ASSERT_EQ(0, mb_batch_cancel(&self->e.s, sid, 4242)) TH_LOG("%s",
							mb_strerr(&self->e.s));
	EXPECT_EQ(-ENOENT, mb_batch_cancel(&self->e.s, sid, 4243));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_BATCH))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, sid, N, 20000, &r, &nr));
	ASSERT_EQ(N, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(4242, r[i].batch_id);
		if (r[i].op == MBATCH_OP_CHECKPOINT) {
			/* never cancelled */
			EXPECT_EQ(0, r[i].status);
			EXPECT_EQ(MBATCH_OUTCOME_DONE, r[i].outcome);
			continue;
		}
		if (r[i].status == -ECANCELED) {
			ncanc++;
			EXPECT_EQ(MBATCH_OUTCOME_CANCELLED, r[i].outcome);
			EXPECT_EQ(0, r[i].start_ns);
			EXPECT_EQ(1, dev_is_zero(dev, 4096ULL * r[i].tag, 4096))
				TH_LOG("cancelled write %llu reached the device",
				       (unsigned long long)r[i].tag);
		} else {
			EXPECT_EQ(0, r[i].status);
			EXPECT_EQ(MBATCH_OUTCOME_DONE, r[i].outcome);
			EXPECT_NE(0, r[i].start_ns);
		}
	}
	EXPECT_GT(ncanc, N / 2) TH_LOG("only %u cancelled", ncanc);
	/* the writes that ran, once each; not one cancelled write */
	check_written(_metadata, name, w0, (long long)(N - 1 - ncanc) * 8, c,
		      N, r, nr);
	EXPECT_EQ(NULL, mb_check_barrier(r, nr));
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	EXPECT_EQ(0, mb_queue_del(&self->e.s, q));
	EXPECT_TRUE(mb_wait_dev_free(dev, 5000));
	EXPECT_EQ(0, mb_nullb_remove(name));
}

TEST_HARNESS_MAIN
