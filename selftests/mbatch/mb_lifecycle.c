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
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

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
	mb_knob_set("fault_submit_delay_ms", 0);	/* if a test left it */
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

/*
 * The waiting reply of a collect (MBATCH_A_COLLECT_WAITING), and a
 * COLLECT_READY_NTF that may come along with it.
 */
struct ready {
	int waiting;			/* parts with COLLECT_WAITING */
	int got;			/* the notification came */
	uint32_t state;			/* its MBATCH_A_SESSION_STATE */
	int timed_out;			/* its MBATCH_A_COLLECT_TIMED_OUT */
};

static int ready_parse(const struct mb_sock *s, const struct nlmsghdr *nlh,
		       uint32_t sid, struct ready *rd)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	const struct nlattr *tb[MBATCH_A_MAX + 1];

	if (nlh->nlmsg_type != s->family ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return 0;
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	if (mb_get_u32(tb[MBATCH_A_SESSION_ID]) != sid)
		return 0;
	if (g->cmd == MBATCH_CMD_COLLECT && tb[MBATCH_A_COLLECT_WAITING])
		rd->waiting++;
	if (g->cmd != MBATCH_CMD_COLLECT_READY_NTF)
		return 0;
	rd->got = 1;
	rd->state = mb_get_u32(tb[MBATCH_A_SESSION_STATE]);
	rd->timed_out = tb[MBATCH_A_COLLECT_TIMED_OUT] != NULL;
	return 1;
}

struct ready_arg {
	const struct mb_sock *s;
	uint32_t sid;
	struct ready *rd;
};

static int ready_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ready_arg *a = arg;

	ready_parse(a->s, nlh, a->sid, a->rd);
	return 0;
}

/* The COLLECT_READY_NTF of request seq within ms: 1, else 0. */
static int ready_wait(struct mb_sock *s, uint32_t seq, uint32_t sid, int ms,
		      struct ready *rd)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;

	while (!rd->got && mb_now_ns() < end) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		struct nlmsghdr *h;
		ssize_t n;
		int len;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(s->fd, s->rbuf, s->rbuf_len, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		len = (int)n;
		for (h = (struct nlmsghdr *)s->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len))
			if (h->nlmsg_seq == seq && ready_parse(s, h, sid, rd))
				break;
	}
	return rd->got;
}

/* A device of 50 ms per command: 600 commands at depth 4 last 7.5 s. */
#define BUSY_NULLB "size=32 memory_backed=1 irqmode=2 completion_nsec=50000000"

TEST_F_TIMEOUT(life, delete_busy_queue, 60)
{
	struct mb_queue_cfg qc = { .name = "mbt_busy", .depth = 4 };
	struct mb_collect_opts co;
	struct mb_collect col;
	struct mb_queue_info qi;
	struct ready rd = { 0 };
	struct ready_arg ra = { .rd = &rd };
	struct mb_cmd c[300];
	char nb[64], dev[128];
	uint64_t t0, t_del, t_ntf, t_free;
	uint32_t s1, s2, seq;
	struct mb_sock w;
	struct mb_req r;
	int ret;

	ASSERT_EQ(0, mb_nullb_create(BUSY_NULLB, nb, sizeof(nb), dev,
				     sizeof(dev)));
	qc.dev = dev;
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
							   mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_open(&self->e.s, qc.name, 0, &s1));
	ASSERT_EQ(0, mb_session_open(&self->e.s, qc.name,
				     MBATCH_SESSION_F_OWNED, &s2));
	load(c, 300, 1);
	ASSERT_EQ(0, mb_submit(&self->e.s, s1, 0, c, 300, NULL));
	ASSERT_EQ(0, mb_submit(&self->e.s, s2, 0, c, 300, NULL));

	/*
	 * A collect on s1 that waits for more results than will ever come
	 * (the largest valid collect-min): the kernel answers at once with
	 * a waiting part; the notification must come when the queue goes.
	 */
	ASSERT_EQ(0, mb_open(&w));
	ra.s = &w;
	ra.sid = s1;
	mb_req_init(&r, &w, MBATCH_CMD_COLLECT, NLM_F_DUMP);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, s1);
	mb_put_u32(&r, MBATCH_A_COLLECT_MIN, MBATCH_MAX_CMDS_MAX);
	mb_put_u32(&r, MBATCH_A_COLLECT_TIMEOUT_MS,
		   MBATCH_COLLECT_TIMEOUT_MAX_MS);
	ret = mb_transact(&w, &r, ready_cb, &ra);
	mb_req_free(&r);
	seq = w.last_seq;
	ASSERT_EQ(0, ret) TH_LOG("waiting collect: %s", mb_strerr(&w));
	ASSERT_EQ(1, rd.waiting) TH_LOG("the collect did not wait");
	ASSERT_EQ(0, rd.got) TH_LOG("notified before the delete");

	/* busy right now: commands in flight and queued, results pending */
	ASSERT_EQ(0, mb_queue_get(&self->e.s, qc.name, &qi));
	TH_LOG("at the delete: %llu in flight, %llu queued, %llu completed of 600",
	       (unsigned long long)qi.stats.v[MBATCH_STATS_A_INFLIGHT],
	       (unsigned long long)qi.stats.v[MBATCH_STATS_A_QUEUED],
	       (unsigned long long)qi.stats.v[MBATCH_STATS_A_COMPLETED]);
	EXPECT_GT(qi.stats.v[MBATCH_STATS_A_INFLIGHT], 0);
	EXPECT_GE(qi.stats.v[MBATCH_STATS_A_QUEUED], 300)
		TH_LOG("not busy: the delete would prove nothing");
	EXPECT_EQ(2, qi.sessions);

	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_queue_del(&self->e.s, qc.name))
		TH_LOG("%s", mb_strerr(&self->e.s));
	t_del = (mb_now_ns() - t0) / 1000000;
	/* at once: far less than the seconds of I/O still queued */
	EXPECT_LT(t_del, 2000) TH_LOG("QUEUE_DEL took %llu ms",
				     (unsigned long long)t_del);
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, qc.name));

	/* the waiter is woken by the close, not left to its 10 s timeout */
	EXPECT_TRUE(ready_wait(&w, seq, s1, 5000, &rd))
		TH_LOG("no COLLECT_READY_NTF after the delete");
	t_ntf = (mb_now_ns() - t0) / 1000000;
	EXPECT_LT(t_ntf, 2000) TH_LOG("notified %llu ms after the delete",
				     (unsigned long long)t_ntf);
	EXPECT_FALSE(rd.timed_out) TH_LOG("the notification is the timeout's");
	EXPECT_EQ(MBATCH_SESSION_CLOSING, rd.state)
		TH_LOG("notification with session state %u, not closing",
		       rd.state);
	/* and collecting again finds the session gone */
	co = (struct mb_collect_opts){ .session = s1 };
	EXPECT_EQ(-ENOENT, mb_collect(&w, &co, &col)) TH_LOG("%s",
							     mb_strerr(&w));
	EXPECT_TRUE(mb_contains(w.err.msg, X_NO_SESSION)) TH_LOG("%s",
							   mb_strerr(&w));
	mb_collect_free(&col);
	mb_close(&w);

	EXPECT_TRUE(wait_session_gone(&self->e.s, s1, 1000));
	EXPECT_TRUE(wait_session_gone(&self->e.s, s2, 1000));
	EXPECT_EQ(-ENOENT, mb_session_open(&self->e.s, qc.name, 0, &s1));
	/* released once the few commands in flight end: queued ones were
	 * cancelled, not run (that would take seconds)
	 */
	EXPECT_TRUE(mb_wait_dev_free(dev, 10000))
		TH_LOG("device still held after deleting its queue");
	t_free = (mb_now_ns() - t0) / 1000000;
	EXPECT_LT(t_free, 3000) TH_LOG("device released %llu ms after the delete",
				      (unsigned long long)t_free);
	TH_LOG("delete %llu ms, notified at %llu ms, device free at %llu ms",
	       (unsigned long long)t_del, (unsigned long long)t_ntf,
	       (unsigned long long)t_free);
	/* the same device and name can be bound again at once */
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
						mb_strerr(&self->e.s));
	EXPECT_EQ(0, mb_queue_del(&self->e.s, qc.name));
	EXPECT_TRUE(mb_wait_dev_free(dev, 5000));
	EXPECT_EQ(0, mb_nullb_remove(nb));
}

/* A socket in the network namespace of process pid; 0 or -errno. */
static int open_in_netns(pid_t pid, struct mb_sock *s)
{
	char p[64];
	int self_ns, ns, ret;

	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	ns = open(p, O_RDONLY);
	self_ns = open("/proc/self/ns/net", O_RDONLY);
	if (ns < 0 || self_ns < 0 || setns(ns, CLONE_NEWNET)) {
		ret = -errno;
	} else {
		ret = mb_open(s);
		if (setns(self_ns, CLONE_NEWNET))
			abort();	/* stranded in another namespace */
	}
	if (ns >= 0)
		close(ns);
	if (self_ns >= 0)
		close(self_ns);
	return ret;
}

TEST_F_TIMEOUT(life, netns_with_queue_goes_away, 60)
{
	struct mb_queue_info qi;
	struct mb_sock ns;
	char name[64], dev[128], b;
	int st, ready[2], go[2];
	pid_t pid;

	ASSERT_EQ(0, mb_nullb_create(SLOW_NULLB, name, sizeof(name), dev,
				     sizeof(dev)));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
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
		if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(5);
		/* exit with everything open: the netns dies with us */
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &b, 1)) TH_LOG("the child gave up");
	/* the queue is where it was made, busy, and only there */
	ASSERT_EQ(0, open_in_netns(pid, &ns)) TH_LOG("the child's netns: %m");
	EXPECT_EQ(1, mb_queue_exists(&ns, "mbt_ns_q"));
	ASSERT_EQ(0, mb_queue_get(&ns, "mbt_ns_q", &qi)) TH_LOG("%s",
							       mb_strerr(&ns));
	EXPECT_EQ(2, qi.sessions);
	EXPECT_GT(qi.stats.v[MBATCH_STATS_A_INFLIGHT] +
		  qi.stats.v[MBATCH_STATS_A_QUEUED], 0)
		TH_LOG("the queue is idle before its netns goes");
	EXPECT_FALSE(mb_dev_free(dev));
	mb_close(&ns);	/* holds the netns no longer */
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, "mbt_ns_q"));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	close(ready[0]);
	close(go[1]);
	EXPECT_TRUE(mb_wait_dev_free(dev, 20000))
		TH_LOG("queue of a dead netns still holds %s", dev);
	EXPECT_EQ(0, mb_nullb_remove(name));
}

/* Closes session sid delay_ms after it starts, from a socket of its own. */
struct closer {
	uint32_t sid;
	unsigned int delay_ms;
	int ret;
};

static void *closer_fn(void *arg)
{
	struct closer *c = arg;
	struct mb_sock s;

	if (mb_open(&s)) {
		c->ret = -1;
		return NULL;
	}
	usleep(c->delay_ms * 1000);
	c->ret = mb_session_close(&s, c->sid);
	mb_close(&s);
	return NULL;
}

#define SUBMIT_DELAY_MS	600	/* fault_submit_delay_ms: the window */
#define CLOSE_AFTER_MS	150	/* the close comes inside it */

/*
 * A request that raced a close: it found the session, passed its first
 * limit check, then the session closed under it. The test build's
 * fault_submit_delay_ms holds the submit between that check and the one
 * it queues under, and a close comes from another socket meanwhile: the
 * submit is refused with -ENOENT "session is closing", nothing of it is
 * queued, and the session is gone. Without the delay, the same submit on
 * a closed session is "no such session".
 */
TEST_F_TIMEOUT(life, request_racing_close, 60)
{
	struct mb_cmd c = { .tag = 1, .op = MBATCH_OP_READ, .offset = 0,
			    .len = self->e.bs };
	struct closer cl = { .delay_ms = CLOSE_AFTER_MS, .ret = -1 };
	struct mb_session_info si;
	struct mb_queue_info qi;
	uint64_t t0, took;
	pthread_t th;
	uint32_t sid;
	int ret;

	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &sid));
	cl.sid = sid;
	ASSERT_EQ(0, mb_knob_set("fault_submit_delay_ms", SUBMIT_DELAY_MS))
		TH_LOG("the test build's fault_submit_delay_ms: %m");
	ASSERT_EQ(0, pthread_create(&th, NULL, closer_fn, &cl));
	t0 = mb_now_ns();
	ret = mb_submit(&self->e.s, sid, 0, &c, 1, NULL);
	took = (mb_now_ns() - t0) / 1000000;
	pthread_join(th, NULL);
	EXPECT_EQ(0, mb_knob_set("fault_submit_delay_ms", 0));
	EXPECT_EQ(0, cl.ret) TH_LOG("the close itself failed");
	EXPECT_EQ(-ENOENT, ret) TH_LOG("a submit racing a close: %s",
				       mb_strerr(&self->e.s));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_CLOSING))
		TH_LOG("want \"%s\": %s", X_CLOSING, mb_strerr(&self->e.s));
	EXPECT_GE(took, SUBMIT_DELAY_MS - 50)
		TH_LOG("the submit took %llu ms: not held", (unsigned long long)took);
	EXPECT_EQ(-ENOENT, mb_session_get(&self->e.s, sid, &si));
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_QUEUED]);
	EXPECT_EQ(0, qi.stats.v[MBATCH_STATS_A_INFLIGHT]);
	/* a submit that comes after the close finds no session at all */
	EXPECT_EQ(-ENOENT, mb_submit(&self->e.s, sid, 0, &c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_SESSION))
		TH_LOG("%s", mb_strerr(&self->e.s));
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
	struct mb_queue_info qi;
	uint64_t busy = 0;
	pid_t pid;
	int ret, st, i;

	if (!getenv("MBATCH_KO"))
		SKIP(return, "MBATCH_KO not set: cannot reload");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/*
		 * Keep I/O in flight until the family disappears: exit 10
		 * when a request fails (the module went), 0 when the 8 s
		 * passed with the module still there.
		 */
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
				_exit(10);
			if (mb_collect(&s, &o, &col))
				_exit(10);
			mb_collect_free(&col);
		}
		_exit(0);
	}
	/* under load: commands in flight and queued, seen right before */
	for (i = 0; i < 250 && !busy; i++) {
		ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
		if (qi.stats.v[MBATCH_STATS_A_INFLIGHT] &&
		    qi.stats.v[MBATCH_STATS_A_QUEUED])
			busy = qi.stats.v[MBATCH_STATS_A_INFLIGHT] +
			       qi.stats.v[MBATCH_STATS_A_QUEUED];
		else
			usleep(20000);
	}
	ASSERT_NE(0, busy) TH_LOG("no load to unload under");
	ASSERT_EQ(0, waitpid(pid, &st, WNOHANG)) TH_LOG("the load ended early");
	ret = run_timeout("rmmod mbatch", 30);
	EXPECT_NE(124, ret) TH_LOG("rmmod hung under load");
	TH_LOG("rmmod with %llu commands in flight or queued: %s",
	       (unsigned long long)busy,
	       ret == 0 ? "drained and unloaded" : "refused");
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	if (ret == 0) {
		EXPECT_FALSE(module_loaded());
		/* the load was still running when the module went */
		EXPECT_EQ(10, WEXITSTATUS(st))
			TH_LOG("the load ended (%d) before the unload",
			       WEXITSTATUS(st));
		EXPECT_TRUE(mb_wait_dev_free(self->e.dev, 10000))
			TH_LOG("unloaded module left the device open");
		self->e.have_queue = 0;
	} else {
		/* refused: the module still works */
		EXPECT_TRUE(module_loaded());
		EXPECT_EQ(0, WEXITSTATUS(st));
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
