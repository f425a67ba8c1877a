// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of the selftests' own checkers: mb_check_barrier,
 * mb_check_seq, mb_wl_verify, mb_check_sectors (mb_test.h) and
 * mb_trace_parse / mb_check_device_order (mb_trace.h). Each gets one
 * synthetic result set (or event list) that must pass and one bad set per
 * property it checks, which it must refuse, for that reason: a checker that
 * cannot fail proves nothing. Runs on the build host ("make host-test" in
 * selftests/mbatch, part of "make lint"); nothing here talks to a kernel.
 */
#include "mb_test.h"
#include "mb_trace.h"

static int npass, nfail;

static void ok(int cond, const char *what, const char *detail)
{
	if (cond) {
		npass++;
		printf("ok %d - %s%s%s\n", npass + nfail, what,
		       detail ? ": " : "", detail ? detail : "");
	} else {
		nfail++;
		printf("not ok %d - %s%s%s\n", npass + nfail, what,
		       detail ? ": " : "", detail ? detail : "");
	}
}

/* A good set: the checker answers NULL. */
static void passes(const char *what, const char *err)
{
	ok(!err, what, err);
}

/* A bad set: refused, and the reason names @needle. */
static void refuses(const char *what, const char *err, const char *needle)
{
	char d[600];

	if (!err) {
		ok(0, what, "accepted");
		return;
	}
	snprintf(d, sizeof(d), "refused: %s", err);
	ok(mb_contains(err, needle), what, d);
}

/* ---- barrier and sequence ------------------------------------------- */

static struct mb_result res(uint64_t seq, uint64_t tag, uint32_t op,
			    uint64_t epoch, uint64_t start, uint64_t done)
{
	return (struct mb_result){ .seq = seq, .tag = tag, .op = op,
		.epoch = epoch, .start_ns = start, .done_ns = done,
		.msg_seq = seq, .outcome = MBATCH_OUTCOME_DONE };
}

#define W	MBATCH_OP_WRITE
#define RD	MBATCH_OP_READ
#define CP	MBATCH_OP_CHECKPOINT

/*
 * e0: two writes and its checkpoint; e1: a read, its checkpoint; e2: an
 * empty epoch; e3: a write, a write cancelled (no start, done late), its
 * checkpoint.
 */
static uint32_t good_barrier(struct mb_result *r)
{
	uint32_t n = 0;

	r[n++] = res(1, 1, W, 0, 10, 20);
	r[n++] = res(2, 2, W, 0, 12, 25);
	r[n++] = res(3, 3, CP, 0, 25, 30);
	r[n++] = res(4, 4, RD, 1, 31, 40);
	r[n++] = res(5, 5, CP, 1, 40, 45);
	r[n++] = res(6, 6, CP, 2, 46, 47);
	r[n++] = res(7, 7, W, 3, 48, 60);
	r[n++] = res(8, 8, W, 3, 0, 70);
	r[n - 1].outcome = MBATCH_OUTCOME_CANCELLED;
	r[n - 1].status = -ECANCELED;
	r[n++] = res(9, 9, CP, 3, 60, 61);
	return n;
}

static void test_barrier(void)
{
	struct mb_result r[16];
	uint32_t n;

	n = good_barrier(r);
	passes("barrier: a good set", mb_check_barrier(r, n));

	n = good_barrier(r);
	r[2].done_ns = 22;	/* before write 2 completed (25) */
	refuses("barrier: a checkpoint completes before its epoch's last command",
		mb_check_barrier(r, n), "before tag 2");

	n = good_barrier(r);
	r[1].status = -EIO;	/* a failed write still had to end first */
	r[1].done_ns = 29;
	r[2].done_ns = 28;
	refuses("barrier: a checkpoint completes before its epoch's failed command",
		mb_check_barrier(r, n), "before tag 2");

	n = good_barrier(r);
	r[3].start_ns = 28;	/* epoch 1 starts before checkpoint 0 (30) */
	refuses("barrier: the next epoch starts before the checkpoint",
		mb_check_barrier(r, n), "after a later epoch started");

	n = good_barrier(r);
	r[6].start_ns = 35;	/* epoch 3's write before checkpoint 1 (45) */
	refuses("barrier: an epoch two later starts before the checkpoint",
		mb_check_barrier(r, n), "after a later epoch started");

	n = good_barrier(r);
	r[5].start_ns = 44;	/* empty epoch 2's checkpoint, before cp 1 */
	refuses("barrier: a later checkpoint starts before an epoch completed",
		mb_check_barrier(r, n), "after a later epoch started");

	n = good_barrier(r);
	r[n++] = res(10, 10, CP, 1, 41, 42);
	refuses("barrier: two checkpoints in one epoch",
		mb_check_barrier(r, n), "two checkpoints");

	n = good_barrier(r);
	r[n] = res(10, 10, W, 0, 0, 35);	/* after epoch 1 started (31) */
	r[n].outcome = MBATCH_OUTCOME_CANCELLED;
	r[n++].status = -ECANCELED;
	passes("barrier: a cancelled command's time is not an execution",
	       mb_check_barrier(r, n));
}

static void test_seq(void)
{
	struct mb_result r[16];
	uint32_t n;

	n = good_barrier(r);
	passes("seq: 1..n", mb_check_seq(r, n, 1));
	n = good_barrier(r);
	r[4].seq = 6;
	r[5].seq = 7;
	refuses("seq: a gap", mb_check_seq(r, n, 1), "has seq 6, expected 5");
	n = good_barrier(r);
	r[4].seq = 4;
	refuses("seq: a duplicate", mb_check_seq(r, n, 1),
		"has seq 4, expected 5");
	n = good_barrier(r);
	refuses("seq: not from the first expected", mb_check_seq(r, n, 2),
		"expected 2");
}

/* ---- random workloads ------------------------------------------------ */

/* Results of @w as a correct module gives them, one after the other. */
static struct mb_result *wl_results(const struct mb_wl *w, uint64_t first)
{
	struct mb_result *r = calloc(w->n, sizeof(*r));
	uint64_t t = 1000;
	uint32_t i;

	if (!r)
		abort();
	for (i = 0; i < w->n; i++) {
		const struct mb_cmd *c = &w->cmds[i];

		r[i] = res(i + 1, c->tag, c->op, w->epoch[i], t, t + 5);
		r[i].msg_seq = first + i;
		r[i].bytes = (c->op == MBATCH_OP_FLUSH ||
			      c->op == MBATCH_OP_CHECKPOINT) ? 0 : c->len;
		if (c->op == MBATCH_OP_READ)
			r[i].data_len = c->len;
		if (c->op == MBATCH_OP_CHECKPOINT)
			r[i].done_ns = t + 1;
		t += 10;
	}
	return r;
}

/* The index of a checkpoint preceded by a command of its epoch. */
static uint32_t wl_cp(const struct mb_wl *w)
{
	uint32_t i;

	for (i = 1; i < w->n; i++)
		if (w->cmds[i].op == MBATCH_OP_CHECKPOINT &&
		    w->cmds[i - 1].op != MBATCH_OP_CHECKPOINT && i + 1 < w->n &&
		    w->cmds[i + 1].op != MBATCH_OP_CHECKPOINT)
			return i;
	abort();
}

static uint32_t wl_find(const struct mb_wl *w, uint32_t op)
{
	uint32_t i;

	for (i = 0; i < w->n; i++)
		if (w->cmds[i].op == op)
			return i;
	abort();
}

static void test_wl_verify(void)
{
	struct mb_wl_opts o = { .base = 0, .size = 1 << 20, .bs = 512,
				.max_blocks = 8, .avg_epoch = 6,
				.with_zero_ops = 1, .with_flags = 1 };
	const uint64_t first = 77;
	struct mb_result *good, *r;
	uint64_t rng = 42;
	uint32_t n, i, cp, rd, wr;
	struct mb_wl w;

	mb_wl_gen(&w, &o, 80, 5000, &rng);
	n = w.n;
	good = wl_results(&w, first);
	r = malloc(n * sizeof(*r));
	if (!r)
		abort();
	cp = wl_cp(&w);
	rd = wl_find(&w, MBATCH_OP_READ);
	wr = wl_find(&w, MBATCH_OP_WRITE);

#define FRESH()	memcpy(r, good, n * sizeof(*r))
	FRESH();
	passes("wl_verify: a good set", mb_wl_verify(&w, r, n, first));

	FRESH();
	refuses("wl_verify: a missing result", mb_wl_verify(&w, r, n - 1, first),
		"results for");
	FRESH();
	r[n - 1] = r[n - 2];
	r[n - 1].seq++;
	refuses("wl_verify: a result delivered twice (the last one missing)",
		mb_wl_verify(&w, r, n, first), "delivered twice");
	FRESH();
	r[3].tag = 4242;
	refuses("wl_verify: a result of no command",
		mb_wl_verify(&w, r, n, first), "unknown tag");
	FRESH();
	for (i = 10; i < n; i++)
		r[i].seq++;
	refuses("wl_verify: a gap in the result sequence",
		mb_wl_verify(&w, r, n, first), "expected");
	FRESH();
	r[wr].op = MBATCH_OP_READ;
	refuses("wl_verify: the wrong op", mb_wl_verify(&w, r, n, first),
		"got op");
	FRESH();
	r[wr].status = -EIO;
	refuses("wl_verify: a failed command", mb_wl_verify(&w, r, n, first),
		"status -5");
	FRESH();
	r[wr].epoch++;
	refuses("wl_verify: a command in the wrong epoch",
		mb_wl_verify(&w, r, n, first), "got op");
	FRESH();
	r[wr].msg_seq++;
	refuses("wl_verify: the wrong message sequence",
		mb_wl_verify(&w, r, n, first), "msg_seq");
	FRESH();
	r[wr].bytes = 0;
	refuses("wl_verify: a write that transferred nothing",
		mb_wl_verify(&w, r, n, first), "bytes 0");
	FRESH();
	r[rd].data_len -= 512;
	refuses("wl_verify: a read with data missing",
		mb_wl_verify(&w, r, n, first), "data");
	FRESH();
	r[wr].start_ns = r[wr].done_ns + 1;
	refuses("wl_verify: a command that started after it completed",
		mb_wl_verify(&w, r, n, first), "start");
	FRESH();
	r[wr].done_ns = 0;
	refuses("wl_verify: a command with no completion time",
		mb_wl_verify(&w, r, n, first), "done 0");
	FRESH();
	r[cp - 1].done_ns = r[cp].done_ns + 1;	/* next epoch starts later */
	refuses("wl_verify: a checkpoint completes before its epoch's last command",
		mb_wl_verify(&w, r, n, first), "before tag");
	FRESH();
	r[cp + 1].start_ns = r[cp].done_ns - 1;
	refuses("wl_verify: the next epoch starts before the checkpoint",
		mb_wl_verify(&w, r, n, first), "after a later epoch started");
#undef FRESH
	free(r);
	free(good);
	mb_wl_free(&w);
}

/* ---- device accounting ------------------------------------------------ */

static void test_sectors(void)
{
	struct mb_cmd c[5] = {
		{ .tag = 1, .op = MBATCH_OP_WRITE, .len = 4096 },
		{ .tag = 2, .op = MBATCH_OP_WRITE_ZEROES, .len = 8192 },
		{ .tag = 3, .op = MBATCH_OP_READ, .len = 4096 },
		{ .tag = 4, .op = MBATCH_OP_DISCARD, .len = 4096 },
		{ .tag = 5, .op = MBATCH_OP_WRITE, .len = 1024 },
	};
	struct mb_result r[5];
	uint32_t i;

	for (i = 0; i < 5; i++)
		r[i] = res(i + 1, i + 1, c[i].op, 0, 10, 20);
	r[4].status = -EIO;		/* failed at the device: it went there */
	passes("sectors: done writes and write-zeroes, failed ones included",
	       mb_check_sectors(c, 5, r, 5, 8 + 16 + 2));
	refuses("sectors: a write run twice", mb_check_sectors(c, 5, r, 5, 34),
		"the results say 26");
	refuses("sectors: a write missing", mb_check_sectors(c, 5, r, 5, 18),
		"the results say 26");
	r[0].outcome = MBATCH_OUTCOME_CANCELLED;
	r[0].status = -ECANCELED;
	passes("sectors: a cancelled write counts nothing",
	       mb_check_sectors(c, 5, r, 5, 18));
	refuses("sectors: a cancelled write that ran",
		mb_check_sectors(c, 5, r, 5, 26), "the results say 18");
	r[0].outcome = MBATCH_OUTCOME_NOT_SENT;
	refuses("sectors: a write never sent that ran",
		mb_check_sectors(c, 5, r, 5, 26), "the results say 18");
	r[0].outcome = MBATCH_OUTCOME_UNKNOWN;
	passes("sectors: an unknown write may have run",
	       mb_check_sectors(c, 5, r, 5, 26));
	passes("sectors: ... or not", mb_check_sectors(c, 5, r, 5, 18));
	refuses("sectors: an unknown write run twice",
		mb_check_sectors(c, 5, r, 5, 34), "18 to 26");
}

/* ---- order at the device ---------------------------------------------- */

/* Trace lines as 6.1 prints them, and as 6.12 does (ioprio fields). */
static void line(char *buf, size_t len, int v612, uint64_t us, int issue,
		 const char *rwbs, uint64_t sector, uint32_t nr)
{
	const char *ts = "  kworker/0:1H-35      [000] d..1.";

	if (issue)
		snprintf(buf, len,
			 "%s %5llu.%06llu: block_rq_issue: 251,3 %s %u () %llu + %u %s[kworker/0:1H]\n",
			 ts, (unsigned long long)us / 1000000,
			 (unsigned long long)us % 1000000, rwbs, nr * 512,
			 (unsigned long long)sector, nr,
			 v612 ? "none,0,0 " : "");
	else
		snprintf(buf, len,
			 "%s %5llu.%06llu: block_rq_complete: 251,3 %s () %llu + %u %s[0]\n",
			 ts, (unsigned long long)us / 1000000,
			 (unsigned long long)us % 1000000, rwbs,
			 (unsigned long long)sector, nr,
			 v612 ? "none,0,0 " : "");
}

struct tl {
	uint64_t us;
	int issue;
	const char *rwbs;
	uint64_t sector;
	uint32_t nr;
};

/*
 * A durable epoch 0 (two writes, the flush, the checkpoint at 230 us), a
 * plain epoch 1 (one write, checkpoint at 310), an empty durable epoch 2
 * (the flush, checkpoint at 380). Times in us from 100 s.
 */
#define T0	100000000ULL
static const struct tl good_trace[] = {
	{ 100, 1, "WS", 0, 8 }, { 101, 1, "WS", 8, 8 },
	{ 150, 0, "WS", 0, 8 }, { 160, 0, "WS", 8, 8 },
	{ 170, 1, "FF", 0, 0 }, { 220, 0, "FF", 0, 0 }, { 221, 0, "FWS", 0, 0 },
	{ 240, 1, "W", 2048, 8 }, { 245, 1, "R", 0, 8 }, { 300, 0, "W", 2048, 8 },
	{ 301, 0, "R", 0, 8 },
	{ 320, 1, "FF", 0, 0 }, { 370, 0, "FF", 0, 0 }, { 371, 0, "FWS", 0, 0 },
};

static void good_epochs(struct mb_dev_epoch *ep)
{
	ep[0] = (struct mb_dev_epoch){ .cp_done_ns = (T0 + 230) * 1000,
		.durable = 1, .lo = 0, .hi = 512, .sectors = 16 };
	ep[1] = (struct mb_dev_epoch){ .cp_done_ns = (T0 + 310) * 1000,
		.durable = 0, .lo = 2048, .hi = 2560, .sectors = 8 };
	ep[2] = (struct mb_dev_epoch){ .cp_done_ns = (T0 + 380) * 1000,
		.durable = 1, .lo = 4096, .hi = 4608, .sectors = 0 };
}

/* Render @t as trace text of both kernels and parse it back. */
static uint32_t events(const struct tl *t, uint32_t n, struct mb_tev *ev,
		       int v612)
{
	uint32_t i, k = 0;
	char buf[300];

	for (i = 0; i < n; i++) {
		line(buf, sizeof(buf), v612, T0 + t[i].us, t[i].issue,
		     t[i].rwbs, t[i].sector, t[i].nr);
		k += mb_trace_parse(buf, 251, 3, &ev[k]);
	}
	return k;
}

static const char *order(const struct tl *t, uint32_t n,
			 const struct mb_dev_epoch *ep)
{
	struct mb_tev ev[64];
	uint32_t k = events(t, n, ev, 0);
	const char *a, *b;
	static char both[500];

	if (k != n)
		return "not every line parsed (6.1)";
	a = mb_check_device_order(ev, k, ep, 3, (T0 + 50) * 1000);
	snprintf(both, sizeof(both), "%s", a ? a : "");
	k = events(t, n, ev, 1);
	if (k != n)
		return "not every line parsed (6.12)";
	b = mb_check_device_order(ev, k, ep, 3, (T0 + 50) * 1000);
	if (!a != !b || (a && strcmp(both, b)))
		return "6.1 and 6.12 lines give different answers";
	return a ? both : NULL;
}

static void test_parse(void)
{
	struct mb_tev ev;
	char buf[300];

	line(buf, sizeof(buf), 0, T0 + 17, 1, "WS", 2048, 8);
	ok(mb_trace_parse(buf, 251, 3, &ev) && ev.issue && ev.write &&
	   !ev.flush && ev.sector == 2048 && ev.nr == 8 && ev.us == T0 + 17,
	   "parse: a 6.1 write issue", NULL);
	line(buf, sizeof(buf), 1, T0 + 18, 0, "FF", 0, 0);
	ok(mb_trace_parse(buf, 251, 3, &ev) && !ev.issue && ev.flush &&
	   !ev.write && ev.us == T0 + 18,
	   "parse: a 6.12 flush completion", NULL);
	line(buf, sizeof(buf), 1, T0 + 18, 1, "R", 0, 8);
	ok(mb_trace_parse(buf, 251, 3, &ev) && !ev.write && !ev.flush,
	   "parse: a read is neither", NULL);
	line(buf, sizeof(buf), 0, T0 + 17, 1, "WS", 2048, 8);
	ok(!mb_trace_parse(buf, 251, 4, &ev), "parse: another device's event",
	   NULL);
	ok(!mb_trace_parse("  <idle>-0 [001] 12.000001: sched_switch: x\n",
			   251, 3, &ev), "parse: another event", NULL);
}

static void test_device_order(void)
{
	enum { N = sizeof(good_trace) / sizeof(good_trace[0]) };
	struct mb_dev_epoch ep[3];
	struct tl t[N + 4];
	uint32_t i;

#define FRESH()	do { memcpy(t, good_trace, sizeof(good_trace)); \
		     good_epochs(ep); } while (0)
	FRESH();
	passes("device order: a good trace", order(t, N, ep));

	/* the flush goes out before the second write completed */
	FRESH();
	t[3] = good_trace[4];
	t[4] = good_trace[3];
	t[3].us = 155;
	refuses("device order: a flush before its epoch's last write completed",
		order(t, N, ep), "before a write of its epoch");
	/* the checkpoint's result comes before the flush completed */
	FRESH();
	ep[0].cp_done_ns = (T0 + 210) * 1000;
	refuses("device order: a durable checkpoint completes before its flush",
		order(t, N, ep), "before its flush completed");
	/* no flush for a durable checkpoint */
	FRESH();
	memmove(&t[4], &t[7], (N - 7) * sizeof(t[0]));
	refuses("device order: no flush for a durable checkpoint",
		order(t, N - 3, ep), "durable checkpoint 0: no flush");
	/* a plain checkpoint flushes */
	FRESH();
	t[N] = (struct tl){ 302, 1, "FF", 0, 0 };
	t[N + 1] = (struct tl){ 305, 0, "FF", 0, 0 };
	refuses("device order: a flush for a plain checkpoint",
		order(t, N + 2, ep), "is not durable, but a flush");
	/* two flushes for one checkpoint */
	FRESH();
	t[N] = (struct tl){ 222, 1, "FF", 0, 0 };
	t[N + 1] = (struct tl){ 225, 0, "FF", 0, 0 };
	refuses("device order: two flushes for one checkpoint",
		order(t, N + 2, ep), "a second flush");
	/* the flush never completes */
	FRESH();
	refuses("device order: a flush that never completes",
		order(t, N - 2, ep), "never completed");
	/* a write of epoch 1 issued before checkpoint 0's result */
	FRESH();
	t[7].us = 225;
	refuses("device order: the next epoch's write before the checkpoint",
		order(t, N, ep), "before checkpoint 0's result");
	/* a write completes after its (plain) checkpoint's result */
	FRESH();
	ep[1].cp_done_ns = (T0 + 299) * 1000;
	refuses("device order: a write completes after its checkpoint",
		order(t, N, ep), "after its checkpoint's result");
	/* a write run twice */
	FRESH();
	for (i = N; i > 9; i--)
		t[i + 1] = t[i - 1];
	t[9] = (struct tl){ 302, 1, "W", 2048, 8 };
	t[10] = (struct tl){ 303, 0, "W", 2048, 8 };
	refuses("device order: a write run twice", order(t, N + 2, ep),
		"epoch 1: the device was sent 16 and completed 16 sectors of writes, its commands write 8");
	/* a write missing */
	FRESH();
	ep[1].sectors = 16;
	refuses("device order: a write missing", order(t, N, ep),
		"its commands write 16");
	/* a write in no epoch's region */
	FRESH();
	t[7].sector = t[9].sector = 1024;
	refuses("device order: a write outside every epoch",
		order(t, N, ep), "in no epoch's region");
#undef FRESH
}

int main(void)
{
	test_barrier();
	test_seq();
	test_wl_verify();
	test_sectors();
	test_parse();
	test_device_order();
	printf("# host checkers: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
