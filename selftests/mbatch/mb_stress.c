// SPDX-License-Identifier: GPL-2.0
/*
 * mb_stress: the session table under concurrent requests (the family runs
 * with parallel_ops). Until every actor has done enough (or a time limit):
 *
 *   owners    open sessions (owned or not), get them, submit a batch, collect
 *             it, and close them (or let their socket's release close the
 *             owned ones); every result must come back exactly once, done;
 *   guessers  hammer the ids the owners use and the ones next to them with
 *             GET, SUBMIT, COLLECT (with an ack), RESUME, BATCH_CANCEL and
 *             CLOSE from a socket that owns nothing, with no handle or a
 *             wrong one: GET may succeed, everything else must fail with
 *             ENOENT or EPERM and the extack must say why;
 *   churner   makes a second queue, opens a session on it, submits, and
 *             deletes the queue under the busy session, again and again;
 *             the session must then be gone;
 *   remote    opens and closes sessions on a peer (a loopback link to this
 *             same namespace), while the link is replaced now and then.
 *
 * At the end no session is left. The harness's checks (splats, taint,
 * slab caches back to their size at load) do the rest.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "mb_harness.h"
#include "mb_test.h"

#define OWNERS		4
#define GUESSERS	2
#define RUN_SECONDS	120	/* at most; it ends once every actor did enough */
#define MIN_BATCHES	(OWNERS * 6)
#define MIN_GUESSES	40
#define MIN_CHURNS	6
#define MIN_REMOTE	8
#define BATCH		8
#define PEER_OUT	"nodeb"
#define PEER_IN		"nodea"

struct stress {
	struct mb_env e;
	char q2[MBATCH_QUEUE_NAME_MAX];
	char nb2[64], dev2[128];
	atomic_int stop;
	atomic_uint recent[OWNERS + 2];	/* ids in use, for the guessers */
	atomic_ulong opened, closed, batches, guesses, churns, remote_opens;
	atomic_ulong relinks;
	char fail[OWNERS + GUESSERS + 3][256];
};

static unsigned char wbuf[4096];

static void failf(struct stress *st, int who, const char *fmt, ...)
{
	va_list ap;

	if (st->fail[who][0])
		return;
	va_start(ap, fmt);
	vsnprintf(st->fail[who], sizeof(st->fail[who]), fmt, ap);
	va_end(ap);
	atomic_store(&st->stop, 1);
}

struct owner_arg {
	struct stress *st;
	int idx;
};

/* One batch of BATCH writes and a checkpoint; every result once, done. */
static int run_batch(struct stress *st, int who, struct mb_sock *s,
		     uint32_t sid, uint64_t tagbase, uint32_t blk0)
{
	struct mb_cmd c[BATCH + 1];
	struct mb_submit_reply rep;
	struct mb_result *all = NULL;
	uint32_t nall = 0, i, j, seen;
	int ret;

	for (i = 0; i < BATCH; i++)
		c[i] = (struct mb_cmd){ .tag = tagbase + i,
			.op = MBATCH_OP_WRITE,
			.offset = (uint64_t)(blk0 + i) * st->e.bs,
			.len = st->e.bs, .data = wbuf, .data_len = st->e.bs };
	c[BATCH] = (struct mb_cmd){ .tag = tagbase + BATCH,
				    .op = MBATCH_OP_CHECKPOINT };
	ret = mb_submit(s, sid, 0, c, BATCH + 1, &rep);
	if (ret)
		return ret;
	ret = mb_collect_all(s, sid, BATCH + 1, 20000, &all, &nall);
	if (ret) {
		mb_results_free(all, nall);
		return ret;
	}
	if (nall != BATCH + 1)
		failf(st, who, "session %u: %u results for %u commands", sid,
		      nall, BATCH + 1);
	for (i = 0; i <= BATCH; i++) {
		for (j = 0, seen = 0; j < nall; j++)
			if (all[j].tag == tagbase + i) {
				seen++;
				if (all[j].status ||
				    all[j].outcome != MBATCH_OUTCOME_DONE)
					failf(st, who,
					      "session %u tag %llu: status %d outcome %u",
					      sid, (unsigned long long)all[j].tag,
					      all[j].status, all[j].outcome);
			}
		if (seen != 1)
			failf(st, who, "session %u tag %llu seen %u times",
			      sid, (unsigned long long)(tagbase + i), seen);
	}
	mb_results_free(all, nall);
	atomic_fetch_add(&st->batches, 1);
	return 0;
}

static void *owner(void *p)
{
	struct owner_arg *a = p;
	struct stress *st = a->st;
	struct mb_session_info si;
	struct mb_sock s;
	uint64_t tag = (uint64_t)a->idx << 40;
	uint32_t sid, n = 0;
	int ret;

	if (mb_open(&s)) {
		failf(st, a->idx, "mb_open");
		return NULL;
	}
	while (!atomic_load(&st->stop)) {
		uint32_t flags = n % 3 == 0 ? MBATCH_SESSION_F_OWNED : 0;

		ret = mb_session_open(&s, st->e.queue, flags, &sid);
		if (ret) {
			failf(st, a->idx, "SESSION_OPEN: %s", mb_strerr(&s));
			break;
		}
		atomic_store(&st->recent[a->idx], sid);
		atomic_fetch_add(&st->opened, 1);
		ret = mb_session_get(&s, sid, &si);
		if (ret || si.id != sid) {
			failf(st, a->idx, "SESSION_GET %u right after open: %s",
			      sid, mb_strerr(&s));
			break;
		}
		ret = run_batch(st, a->idx, &s, sid, tag, a->idx * 64);
		tag += BATCH + 1;
		if (ret) {
			failf(st, a->idx, "batch on %u: %s", sid, mb_strerr(&s));
			break;
		}
		if (flags && n % 2) {
			/* An owned session ends with its socket. */
			mb_close(&s);
			if (mb_open(&s)) {
				failf(st, a->idx, "mb_open again");
				return NULL;
			}
			ret = mb_session_get(&s, sid, &si);
			if (ret != -ENOENT)
				failf(st, a->idx,
				      "owned session %u outlived its socket (%d)",
				      sid, ret);
		} else {
			ret = mb_session_close(&s, sid);
			if (ret)
				failf(st, a->idx, "SESSION_CLOSE %u: %s", sid,
				      mb_strerr(&s));
		}
		atomic_fetch_add(&st->closed, 1);
		n++;
	}
	mb_close(&s);
	return NULL;
}

/* A request on a session this socket does not own must fail so. */
static void refused(struct stress *st, int who, struct mb_sock *s,
		    const char *what, uint32_t sid, int ret)
{
	if (ret == -ENOENT)
		return;
	if (ret != -EPERM) {
		failf(st, who, "%s on session %u by a stranger: %d (%s)", what,
		      sid, ret, mb_strerr(s));
		return;
	}
	if (!mb_contains(s->err.msg, "belongs to another socket") &&
	    !mb_contains(s->err.msg, "wrong session handle") &&
	    !mb_contains(s->err.msg, "belongs to a peer"))
		failf(st, who, "%s on session %u: EPERM with \"%s\"", what, sid,
		      s->err.msg);
}

static void *guesser(void *p)
{
	struct owner_arg *a = p;
	struct stress *st = a->st;
	struct mb_collect_opts o = {};
	struct mb_session_info si;
	struct mb_submit_reply rep;
	struct mb_collect c;
	struct mb_cmd w;
	uint64_t rng = mb_seed() + a->idx;
	struct mb_sock s;
	uint32_t sid;
	int ret;

	if (mb_open(&s)) {
		failf(st, a->idx, "mb_open");
		return NULL;
	}
	while (!atomic_load(&st->stop)) {
		sid = atomic_load(&st->recent[mb_rng_next(&rng) % OWNERS]);
		sid += (uint32_t)(mb_rng_next(&rng) % 3);
		if (mb_rng_next(&rng) % 2)
			mb_sock_handle(&s, MB_HANDLE_NONE, 0);
		else
			mb_sock_handle(&s, MB_HANDLE_GIVEN,
				       mb_rng_next(&rng) | 1);
		ret = mb_session_get(&s, sid, &si);
		if (ret && ret != -ENOENT)
			failf(st, a->idx, "SESSION_GET %u: %d", sid, ret);
		w = (struct mb_cmd){ .op = MBATCH_OP_FLUSH, .tag = 1 };
		refused(st, a->idx, &s, "SUBMIT", sid,
			mb_submit(&s, sid, 0, &w, 1, &rep));
		o = (struct mb_collect_opts){ .session = sid, .has_ack = 1,
					      .ack = 1 };
		ret = mb_collect(&s, &o, &c);
		mb_collect_free(&c);
		refused(st, a->idx, &s, "COLLECT", sid, ret);
		refused(st, a->idx, &s, "RESUME", sid, mb_resume(&s, sid));
		refused(st, a->idx, &s, "BATCH_CANCEL", sid,
			mb_batch_cancel(&s, sid, 1));
		refused(st, a->idx, &s, "SESSION_CLOSE", sid,
			mb_session_close(&s, sid));
		atomic_fetch_add(&st->guesses, 1);
	}
	mb_close(&s);
	return NULL;
}

/* A queue deleted under its busy session, again and again. */
static void *churner(void *p)
{
	struct owner_arg *a = p;
	struct stress *st = a->st;
	struct mb_queue_cfg qc = { .name = st->q2, .dev = st->dev2, .depth = 4 };
	struct mb_session_info si;
	struct mb_submit_reply rep;
	struct mb_cmd c[BATCH];
	struct mb_sock s;
	uint32_t sid, i;
	int ret;

	if (mb_open(&s)) {
		failf(st, a->idx, "mb_open");
		return NULL;
	}
	for (i = 0; i < BATCH; i++)
		c[i] = (struct mb_cmd){ .tag = i, .op = MBATCH_OP_WRITE,
			.offset = (uint64_t)i * st->e.bs, .len = st->e.bs,
			.data = wbuf, .data_len = st->e.bs };
	while (!atomic_load(&st->stop)) {
		if (mb_queue_new(&s, &qc)) {
			/* The old one's device is released from a work item. */
			usleep(20000);
			continue;
		}
		ret = mb_session_open(&s, st->q2, 0, &sid);
		if (ret) {
			failf(st, a->idx, "SESSION_OPEN on %s: %s", st->q2,
			      mb_strerr(&s));
			break;
		}
		atomic_store(&st->recent[OWNERS], sid);
		ret = mb_submit(&s, sid, 0, c, BATCH, &rep);
		if (ret)
			failf(st, a->idx, "SUBMIT: %s", mb_strerr(&s));
		ret = mb_queue_del(&s, st->q2);
		if (ret) {
			failf(st, a->idx, "QUEUE_DEL: %s", mb_strerr(&s));
			break;
		}
		ret = mb_session_get(&s, sid, &si);
		if (ret != -ENOENT)
			failf(st, a->idx, "session %u outlived its queue (%d)",
			      sid, ret);
		atomic_fetch_add(&st->churns, 1);
	}
	mb_close(&s);
	return NULL;
}

static int relink(struct mb_sock *s)
{
	int fds[2] = { -1, -1 }, ret;

	ret = mb_tcp_pair(fds);
	if (ret)
		return ret;
	ret = mb_peer_attach(s, PEER_OUT, fds[0], 0);
	if (!ret)
		ret = mb_peer_attach(s, PEER_IN, fds[1], 0);
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/* Remote sessions opened and closed while the link is replaced. */
static void *remote(void *p)
{
	struct owner_arg *a = p;
	struct stress *st = a->st;
	struct mb_session_info si;
	struct mb_sock s;
	uint32_t sid, n = 0;
	int ret;

	if (mb_open(&s)) {
		failf(st, a->idx, "mb_open");
		return NULL;
	}
	while (!atomic_load(&st->stop)) {
		ret = mb_session_open_remote(&s, st->e.queue, PEER_OUT, 0, &sid);
		if (ret) {
			failf(st, a->idx, "SESSION_OPEN remote: %s",
			      mb_strerr(&s));
			break;
		}
		atomic_store(&st->recent[OWNERS + 1], sid);
		atomic_fetch_add(&st->remote_opens, 1);
		if (mb_session_get(&s, sid, &si))
			failf(st, a->idx, "SESSION_GET remote %u: %s", sid,
			      mb_strerr(&s));
		if (n++ % 4 == 0) {
			ret = relink(&s);
			if (ret)
				failf(st, a->idx, "relink: %s", mb_strerr(&s));
			atomic_fetch_add(&st->relinks, 1);
		}
		usleep(mb_now_ns() % 5000);
		ret = mb_session_close(&s, sid);
		if (ret)
			failf(st, a->idx, "SESSION_CLOSE remote %u: %s", sid,
			      mb_strerr(&s));
	}
	mb_close(&s);
	return NULL;
}

FIXTURE(stress) {
	struct stress *st;
};

FIXTURE_SETUP(stress)
{
	struct mb_peer_cfg pc = { .keepalive_ms = 250, .link_timeout_ms = 3000 };
	const char *err;
	struct stress *st;

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %m");
	ASSERT_EQ(0, system("ip link set lo up"));
	st = calloc(1, sizeof(*st));
	ASSERT_NE(NULL, st);
	self->st = st;
	err = mb_env_setup(&st->e, NULL, 32, 0, 0);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_nullb_create("size=16 memory_backed=1 irqmode=2 completion_nsec=200000",
				     st->nb2, sizeof(st->nb2), st->dev2,
				     sizeof(st->dev2)));
	mb_unique(st->q2, sizeof(st->q2), "churn");
	pc.name = PEER_OUT;
	ASSERT_EQ(0, mb_peer_new(&st->e.s, &pc)) TH_LOG("%s", mb_strerr(&st->e.s));
	pc.name = PEER_IN;
	ASSERT_EQ(0, mb_peer_new(&st->e.s, &pc)) TH_LOG("%s", mb_strerr(&st->e.s));
	ASSERT_EQ(0, relink(&st->e.s)) TH_LOG("%s", mb_strerr(&st->e.s));
}

FIXTURE_TEARDOWN(stress)
{
	struct stress *st = self->st;
	struct mb_session_info si[8];
	const char *err;

	if (!st)
		return;
	mb_peer_del(&st->e.s, PEER_OUT);
	mb_peer_del(&st->e.s, PEER_IN);
	mb_queue_del(&st->e.s, st->q2);
	/* Every session, ours or the peer's, is gone. */
	EXPECT_EQ(0, mb_session_dump(&st->e.s, si, 8));
	err = mb_env_teardown(&st->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	EXPECT_EQ(1, mb_wait_dev_free(st->dev2, 10000))
		TH_LOG("%s still held", st->dev2);
	mb_nullb_remove(st->nb2);
	free(st);
}

TEST_F_TIMEOUT(stress, table, 300)
{
	struct stress *st = self->st;
	pthread_t th[OWNERS + GUESSERS + 2];
	struct owner_arg args[OWNERS + GUESSERS + 2];
	uint64_t t0 = mb_now_ns();
	int i, n = 0;

	for (i = 0; i < OWNERS; i++, n++) {
		args[n] = (struct owner_arg){ st, n };
		ASSERT_EQ(0, pthread_create(&th[n], NULL, owner, &args[n]));
	}
	for (i = 0; i < GUESSERS; i++, n++) {
		args[n] = (struct owner_arg){ st, n };
		ASSERT_EQ(0, pthread_create(&th[n], NULL, guesser, &args[n]));
	}
	args[n] = (struct owner_arg){ st, n };
	ASSERT_EQ(0, pthread_create(&th[n], NULL, churner, &args[n]));
	n++;
	args[n] = (struct owner_arg){ st, n };
	ASSERT_EQ(0, pthread_create(&th[n], NULL, remote, &args[n]));
	n++;

	for (i = 0; i < RUN_SECONDS * 10 && !atomic_load(&st->stop); i++) {
		if (atomic_load(&st->batches) >= MIN_BATCHES &&
		    atomic_load(&st->guesses) >= MIN_GUESSES &&
		    atomic_load(&st->churns) >= MIN_CHURNS &&
		    atomic_load(&st->remote_opens) >= MIN_REMOTE)
			break;
		usleep(100000);
	}
	atomic_store(&st->stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	TH_LOG("%.1f s: %lu sessions opened, %lu closed, %lu batches, %lu guesses, %lu queues deleted busy, %lu remote opens, %lu relinks",
	       (mb_now_ns() - t0) / 1e9,
	       atomic_load(&st->opened), atomic_load(&st->closed),
	       atomic_load(&st->batches), atomic_load(&st->guesses),
	       atomic_load(&st->churns), atomic_load(&st->remote_opens),
	       atomic_load(&st->relinks));
	for (i = 0; i < n; i++) {
		EXPECT_EQ('\0', st->fail[i][0]) TH_LOG("thread %d: %s", i,
						      st->fail[i]);
	}
	/* Each kind of actor did real work. */
	EXPECT_LE(MIN_BATCHES, atomic_load(&st->batches));
	EXPECT_LE(MIN_GUESSES, atomic_load(&st->guesses));
	EXPECT_LE(MIN_CHURNS, atomic_load(&st->churns));
	EXPECT_LE(MIN_REMOTE, atomic_load(&st->remote_opens));
}

TEST_HARNESS_MAIN
