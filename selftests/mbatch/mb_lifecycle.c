// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 9: lifecycle. An owned session goes away with its socket
 * even mid-batch; closing a busy session and deleting a busy queue return
 * at once and free everything once the I/O ends (device released, null_blk
 * removable, waiters woken); a network namespace that owns a queue can go
 * away; the module can be unloaded under load (refused or drained, never
 * hung) and at the end unloads cleanly. Every unload is followed by a
 * reload of $MBATCH_KO.
 */
#include <pthread.h>
#include <sched.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

#define SLOW_NULLB "size=32 memory_backed=1 irqmode=2 completion_nsec=1000000"

static unsigned char wbuf[65536];

static void load(struct mb_cmd *c, uint32_t n, uint64_t tag0)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		c[i] = (struct mb_cmd){ .tag = tag0 + i, .op = MBATCH_OP_WRITE,
			.offset = (uint64_t)(i % 256) * 65536, .len = 4096,
			.data = wbuf, .data_len = 4096 };
	for (i = 9; i < n; i += 10)
		c[i] = (struct mb_cmd){ .tag = tag0 + i,
			.op = MBATCH_OP_CHECKPOINT };
}

static int wait_session_gone(struct mb_sock *s, uint32_t sid, int ms)
{
	struct mb_session_info si;
	int i;

	for (i = 0; i < ms / 20; i++) {
		if (mb_session_get(s, sid, &si) == -ENOENT)
			return 1;
		usleep(20000);
	}
	return mb_session_get(s, sid, &si) == -ENOENT;
}

static int module_loaded(void)
{
	return access("/sys/module/mbatch", F_OK) == 0;
}

static int reload_module(void)
{
	const char *ko = getenv("MBATCH_KO");

	if (module_loaded())
		return 0;
	if (!ko)
		return -1;
	/* insmod resolves no dependencies: the CRC32C library first */
	mb_system("modprobe %s 2>/dev/null", "libcrc32c");
	return mb_system("insmod '%s'", ko);
}

FIXTURE(life) {
	struct mb_env e;
};

FIXTURE_SETUP(life)
{
	const char *err = mb_env_setup(&self->e, SLOW_NULLB, 4, 0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	memset(wbuf, 0x3c, sizeof(wbuf));
}

FIXTURE_TEARDOWN(life)
{
	const char *err;

	if (!module_loaded())
		EXPECT_EQ(0, reload_module());
	/* the module may have been reloaded: use a fresh socket */
	mb_close(&self->e.s);
	EXPECT_EQ(0, mb_open(&self->e.s));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

TEST_F(life, owned_session_closes_with_socket)
{
	struct mb_cmd c[200];
	struct mb_session_info si;
	struct mb_queue_info qi;
	struct mb_sock a, b;
	uint32_t owned, plain;

	ASSERT_EQ(0, mb_open(&a));
	ASSERT_EQ(0, mb_session_open(&a, self->e.queue, MBATCH_SESSION_F_OWNED,
				     &owned)) TH_LOG("%s", mb_strerr(&a));
	ASSERT_EQ(0, mb_session_get(&a, owned, &si));
	EXPECT_TRUE(si.flags & MBATCH_SESSION_F_OWNED);
	EXPECT_STREQ(self->e.queue, si.queue);
	ASSERT_EQ(0, mb_session_open(&a, self->e.queue, 0, &plain));
	load(c, 200, 1);
	ASSERT_EQ(0, mb_submit(&a, owned, 0, c, 200, NULL)) TH_LOG("%s",
								  mb_strerr(&a));
	ASSERT_EQ(0, mb_submit(&a, plain, 0, c, 50, NULL));
	/* mid-batch: a 200-command batch at 1 ms per command, depth 4 */
	mb_close(&a);

	ASSERT_EQ(0, mb_open(&b));
	EXPECT_TRUE(wait_session_gone(&b, owned, 10000))
		TH_LOG("owned session %u survived its socket", owned);
	/* a session opened without OWNED survives the socket */
	EXPECT_EQ(0, mb_session_get(&b, plain, &si));
	EXPECT_EQ(0, mb_session_close(&b, plain)) TH_LOG("%s", mb_strerr(&b));
	EXPECT_TRUE(wait_session_gone(&b, plain, 10000));
	ASSERT_EQ(0, mb_queue_get(&b, self->e.queue, &qi));
	EXPECT_EQ(0, qi.sessions);
	mb_close(&b);
}

TEST_F(life, close_busy_session)
{
	struct mb_cmd c[400];
	struct mb_queue_info qi;
	uint32_t sid;
	uint64_t t0;
	int i;

	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &sid));
	load(c, 400, 1);
	ASSERT_EQ(0, mb_submit(&self->e.s, sid, 0, c, 400, NULL));
	usleep(20000);
	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_session_close(&self->e.s, sid)) TH_LOG("%s",
						mb_strerr(&self->e.s));
	EXPECT_LT((mb_now_ns() - t0) / 1000000, 2000)
		TH_LOG("close waited for the queued commands");
	EXPECT_TRUE(wait_session_gone(&self->e.s, sid, 5000));
	EXPECT_EQ(-ENOENT, mb_submit(&self->e.s, sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_SESSION));
	/* in-flight drains, queued ones were cancelled: not 400 ms of I/O */
	for (i = 0; i < 250; i++) {
		ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
		if (!qi.stats.v[MBATCH_STATS_A_INFLIGHT] &&
		    !qi.stats.v[MBATCH_STATS_A_QUEUED])
			break;
		usleep(20000);
	}
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_INFLIGHT]);
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_QUEUED]);
	EXPECT_EQ(0, qi.sessions);
}

struct waiter {
	uint32_t sid;
	int ret;
	uint64_t ms;
};

static void *collect_waiter(void *arg)
{
	struct waiter *w = arg;
	struct mb_collect_opts o = { .session = w->sid, .has_min = 1,
		.min = 100000, .has_timeout = 1,
		.timeout_ms = MBATCH_COLLECT_TIMEOUT_MAX_MS };
	struct mb_collect col;
	struct mb_sock s;
	uint64_t t0 = mb_now_ns();

	if (mb_open(&s)) {
		w->ret = -1;
		return NULL;
	}
	w->ret = mb_collect(&s, &o, &col);
	w->ms = (mb_now_ns() - t0) / 1000000;
	mb_collect_free(&col);
	mb_close(&s);
	return NULL;
}

TEST_F_TIMEOUT(life, delete_busy_queue, 60)
{
	struct mb_cmd c[300];
	struct waiter w = { 0 };
	uint32_t s1, s2;
	pthread_t th;
	uint64_t t0;

	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &s1));
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue,
				     MBATCH_SESSION_F_OWNED, &s2));
	load(c, 300, 1);
	ASSERT_EQ(0, mb_submit(&self->e.s, s1, 0, c, 300, NULL));
	ASSERT_EQ(0, mb_submit(&self->e.s, s2, 0, c, 300, NULL));
	w.sid = s1;
	ASSERT_EQ(0, pthread_create(&th, NULL, collect_waiter, &w));
	usleep(200000);
	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_LT((mb_now_ns() - t0) / 1000000, 3000);
	self->e.have_queue = 0;
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, self->e.queue));
	EXPECT_TRUE(wait_session_gone(&self->e.s, s1, 5000));
	EXPECT_TRUE(wait_session_gone(&self->e.s, s2, 5000));
	EXPECT_EQ(-ENOENT, mb_session_open(&self->e.s, self->e.queue, 0, &s1));
	/* the waiter on a deleted queue's session is woken, not left to its
	 * 10 s timeout
	 */
	pthread_join(th, NULL);
	EXPECT_LT(w.ms, 5000) TH_LOG("collect waiter slept %llu ms",
				     (unsigned long long)w.ms);
	EXPECT_TRUE(mb_wait_dev_free(self->e.dev, 10000))
		TH_LOG("device still held after deleting its queue");
	/* the same device and name can be bound again at once */
	{
		struct mb_queue_cfg qc = { .name = self->e.queue,
					   .dev = self->e.dev };

		ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
						mb_strerr(&self->e.s));
		self->e.have_queue = 1;
	}
}

TEST_F_TIMEOUT(life, netns_with_queue_goes_away, 60)
{
	char name[64], dev[128];
	int st;
	pid_t pid;

	ASSERT_EQ(0, mb_nullb_create(SLOW_NULLB, name, sizeof(name), dev,
				     sizeof(dev)));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mb_queue_cfg qc = { .name = "mbt_ns_q", .dev = dev,
					   .depth = 2 };
		struct mb_cmd c[200];
		struct mb_sock s;
		uint32_t sid, sid2;

		if (unshare(CLONE_NEWNET) || mb_open(&s))
			_exit(1);
		if (mb_queue_new(&s, &qc))
			_exit(2);
		if (mb_session_open(&s, "mbt_ns_q", 0, &sid) ||
		    mb_session_open(&s, "mbt_ns_q", MBATCH_SESSION_F_OWNED, &sid2))
			_exit(3);
		load(c, 200, 1);
		if (mb_submit(&s, sid, 0, c, 200, NULL) ||
		    mb_submit(&s, sid2, 0, c, 100, NULL))
			_exit(4);
		usleep(50000);
		/* exit with everything open: the netns dies with us */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, "mbt_ns_q"));
	EXPECT_TRUE(mb_wait_dev_free(dev, 20000))
		TH_LOG("queue of a dead netns still holds %s", dev);
	EXPECT_EQ(0, mb_nullb_remove(name));
}

static int run_timeout(const char *cmd, int secs)
{
	char buf[600];
	int st;

	snprintf(buf, sizeof(buf), "timeout %d %s", secs, cmd);
	st = system(buf);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

TEST_F_TIMEOUT(life, rmmod_under_load, 90)
{
	pid_t pid;
	int ret, st;

	if (!getenv("MBATCH_KO"))
		SKIP(return, "MBATCH_KO not set: cannot reload");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* keep I/O in flight until the family disappears */
		struct mb_cmd c[100];
		uint64_t end = mb_now_ns() + 8000000000ULL;
		struct mb_sock s;
		uint32_t sid;

		if (mb_open(&s) ||
		    mb_session_open(&s, self->e.queue, MBATCH_SESSION_F_OWNED, &sid))
			_exit(1);
		load(c, 100, 1);
		while (mb_now_ns() < end) {
			struct mb_collect_opts o = { .session = sid,
				.flags = MBATCH_COLLECT_F_ACK_DELIVERED };
			struct mb_collect col;

			if (mb_submit(&s, sid, 0, c, 100, NULL) &&
			    s.err.err != ENOBUFS)
				break;
			if (mb_collect(&s, &o, &col))
				break;
			mb_collect_free(&col);
		}
		_exit(0);
	}
	usleep(500000);
	ret = run_timeout("rmmod mbatch", 30);
	EXPECT_NE(124, ret) TH_LOG("rmmod hung under load");
	TH_LOG("rmmod under load: %s", ret == 0 ? "drained and unloaded" :
					       "refused");
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	if (ret == 0) {
		EXPECT_FALSE(module_loaded());
		EXPECT_TRUE(mb_wait_dev_free(self->e.dev, 10000))
			TH_LOG("unloaded module left the device open");
		self->e.have_queue = 0;
	} else {
		/* refused: the module still works */
		struct mb_queue_info qi;

		EXPECT_TRUE(module_loaded());
		EXPECT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	}
	ASSERT_EQ(0, reload_module());
	mb_close(&self->e.s);
	ASSERT_EQ(0, mb_open(&self->e.s));
}

TEST_F_TIMEOUT(life, unload_after_teardown, 60)
{
	struct mb_sock s;
	int ret;

	if (!getenv("MBATCH_KO"))
		SKIP(return, "MBATCH_KO not set: cannot reload");
	/* everything of this test deleted: the module must unload */
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue));
	self->e.have_queue = 0;
	ASSERT_TRUE(mb_wait_dev_free(self->e.dev, 10000));
	mb_close(&self->e.s);
	ret = run_timeout("rmmod mbatch", 30);
	EXPECT_EQ(0, ret) TH_LOG("module did not unload with nothing left");
	EXPECT_FALSE(module_loaded());
	EXPECT_EQ(-ENOENT, mb_open(&s));
	ASSERT_EQ(0, reload_module());
	ASSERT_EQ(0, mb_open(&self->e.s));
	ASSERT_EQ(0, mb_version(&self->e.s, NULL, NULL, 0, NULL));
}

TEST_HARNESS_MAIN
