// SPDX-License-Identifier: GPL-2.0
/*
 * mb_devorder: order at the device. A session's epochs run on a null_blk
 * with a write-back cache (cache_size, so flushes reach the driver) while
 * tracefs records block:block_rq_issue and block:block_rq_complete with
 * trace_clock "mono" (CLOCK_MONOTONIC, as the module's result times).
 * mb_check_device_order (mb_trace.h) then proves, for every epoch, from the
 * device's own events:
 *
 *   - its writes were issued after the previous checkpoint's result and
 *     completed before its own, every one once (sectors sent and completed
 *     equal the epoch's writes);
 *   - a DURABLE checkpoint's flush was issued after every write of its
 *     epoch completed and completed before the checkpoint's result (one
 *     flush per durable checkpoint, an empty epoch's too); a plain one
 *     issued none.
 *
 * The same events are checked against wrong expectations, which the checker
 * must refuse: a plain checkpoint taken for durable, a durable one for
 * plain, a checkpoint result moved before its flush's completion, an
 * epoch's region grown over the next epoch's writes (which complete after
 * the flush).
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_trace.h"

#define EPOCHS		16
#define SLOTS		64		/* 4 KiB slots per epoch region */
#define WRITES		12		/* per epoch, on distinct slots */
#define REGION		2048		/* sectors per epoch (1 MiB) */
#define EMPTY		6		/* this epoch has no command */

static int tr_write(const char *file, const char *val)
{
	char p[256];
	int fd, ret = 0;

	snprintf(p, sizeof(p), MB_TRACING "/%s", file);
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

/* The clock in use: the bracketed word of trace_clock. */
static int tr_clock(char *buf, size_t len)
{
	char all[512], *a, *b;
	FILE *f = fopen(MB_TRACING "/trace_clock", "r");

	if (!f)
		return -errno;
	if (!fgets(all, sizeof(all), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	a = strchr(all, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!b)
		return -EIO;
	*b = 0;
	snprintf(buf, len, "%s", a + 1);
	return 0;
}

static void tr_events(int on)
{
	tr_write("events/block/block_rq_issue/enable", on ? "1" : "0");
	tr_write("events/block/block_rq_complete/enable", on ? "1" : "0");
}

FIXTURE(devorder) {
	struct mb_env e;
	uint32_t sid;
	uint64_t rng;
	char old_clock[32];
	int tracing;
};

FIXTURE_SETUP(devorder)
{
	const char *err;
	struct stat st;

	err = mb_env_setup(&self->e,
			   "size=64 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16",
			   32, 0, 0);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	self->rng = mb_seed();
	TH_LOG("seed %llu (set MBATCH_SEED to replay)",
	       (unsigned long long)self->rng);
	if (stat(MB_TRACING "/trace", &st))
		ASSERT_EQ(0, mount("tracefs", MB_TRACING, "tracefs", 0, NULL))
			TH_LOG("mount tracefs on " MB_TRACING ": %m");
	ASSERT_EQ(0, tr_clock(self->old_clock, sizeof(self->old_clock)));
	ASSERT_EQ(0, tr_write("trace_clock", "mono"))
		TH_LOG("trace_clock mono: %m");
	self->tracing = 1;
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	ASSERT_EQ(0, tr_write("trace", ""));
	tr_events(1);
}

FIXTURE_TEARDOWN(devorder)
{
	const char *err;

	if (self->tracing) {
		tr_events(0);
		tr_write("tracing_on", "1");
		tr_write("trace", "");
		tr_write("trace_clock", self->old_clock);
	}
	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

/* The events of device @dev in the trace buffer, in trace (time) order. */
static struct mb_tev *read_trace(const char *dev, uint32_t *n, int *lost)
{
	struct mb_tev *ev = NULL, x;
	size_t cap = 0, len = 0;
	char *line = NULL;
	struct stat st;
	FILE *f;

	*n = 0;
	*lost = 0;
	if (stat(dev, &st))
		return NULL;
	f = fopen(MB_TRACING "/trace", "r");
	if (!f)
		return NULL;
	while (getline(&line, &len, f) > 0) {
		if (strstr(line, "LOST") && strstr(line, "EVENTS"))
			*lost = 1;
		if (!mb_trace_parse(line, major(st.st_rdev), minor(st.st_rdev),
				    &x))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			ev = realloc(ev, cap * sizeof(*ev));
			if (!ev)
				abort();
		}
		ev[(*n)++] = x;
	}
	free(line);
	fclose(f);
	return ev;
}

/* The flush the device saw for epoch @e: issue and completion times. */
static int flush_of(const struct mb_tev *ev, uint32_t nev,
		    const struct mb_dev_epoch *ep, uint32_t e, uint64_t *iss,
		    uint64_t *cpl)
{
	uint64_t open_us = e ? mb_ns2us(ep[e - 1].cp_done_ns) : 0;
	uint32_t i, j;

	for (i = 0; i < nev; i++) {
		if (!ev[i].flush || !ev[i].issue || ev[i].us < open_us ||
		    ev[i].us >= mb_ns2us(ep[e].cp_done_ns))
			continue;
		for (j = i + 1; j < nev; j++)
			if (ev[j].flush && !ev[j].issue)
				break;
		if (j == nev)
			return -1;
		*iss = ev[i].us;
		*cpl = ev[j].us;
		return 0;
	}
	return -1;
}

/* The checker refuses @ep, and for the reason @why names. */
static void refused(struct __test_metadata *_metadata, const char *what,
		    const struct mb_tev *ev, uint32_t nev,
		    const struct mb_dev_epoch *ep, uint64_t t0,
		    const char *why)
{
	const char *err = mb_check_device_order(ev, nev, ep, EPOCHS, t0);

	EXPECT_NE(NULL, err) TH_LOG("%s: accepted", what);
	if (err) {
		EXPECT_TRUE(mb_contains(err, why))
			TH_LOG("%s: refused, but: %s", what, err);
		TH_LOG("%s: refused: %s", what, err);
	}
}

TEST_F_TIMEOUT(devorder, durable_flush_order, 120)
{
	static struct mb_cmd c[EPOCHS * (WRITES + 3)];
	static unsigned char data[EPOCHS * WRITES * 4096];
	struct mb_dev_epoch ep[EPOCHS], bad[EPOCHS];
	uint32_t n = 0, nr = 0, nev = 0, i, k, nflushes = 0, ndurable = 0;
	uint64_t cptag[EPOCHS], t0, fi, fc;
	struct mb_session_info si;
	struct mb_result *r = NULL;
	struct mb_tev *ev;
	const char *err;
	int lost, d = -1, p = -1;

	for (k = 0; k < EPOCHS; k++) {
		unsigned char used[SLOTS] = { 0 };

		ep[k] = (struct mb_dev_epoch){
			.lo = (uint64_t)k * REGION,
			.hi = (uint64_t)k * REGION + SLOTS * 8,
			.durable = k % 4 != 3,
		};
		for (i = 0; k != EMPTY && i < WRITES; i++) {
			uint32_t s;

			do
				s = mb_rng_next(&self->rng) % SLOTS;
			while (used[s]);
			used[s] = 1;
			c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_WRITE,
				.offset = ep[k].lo * 512 + s * 4096ULL,
				.len = 4096,
				.data = data + (size_t)(k * WRITES + i) * 4096,
				.data_len = 4096 };
			mb_pattern((void *)c[n].data, 4096, n, c[n].offset);
			ep[k].sectors += 8;
			n++;
		}
		if (k && k != EMPTY) {
			/* reads of the epoch before: the device order is
			 * about writes, reads only share the queue
			 */
			for (i = 0; i < 2; i++, n++)
				c[n] = (struct mb_cmd){ .tag = n,
					.op = MBATCH_OP_READ,
					.offset = ep[k - 1].lo * 512 +
						  i * 8192ULL,
					.len = 4096 };
		}
		cptag[k] = n;
		c[n] = (struct mb_cmd){ .tag = n, .op = MBATCH_OP_CHECKPOINT,
			.flags = (ep[k].durable ? MBATCH_MSG_F_DURABLE : 0) |
				 (k % 5 == 2 ? MBATCH_MSG_F_CONTINUE : 0) };
		n++;
		ndurable += ep[k].durable;
	}

	ASSERT_EQ(0, tr_write("tracing_on", "1"));
	t0 = mb_now_ns();
	/* one batch: every epoch queued at once, run back to back */
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, n, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	ASSERT_EQ(n, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status) TH_LOG("tag %llu (%s): status %d",
			(unsigned long long)r[i].tag, mb_op_name(r[i].op),
			r[i].status);
	err = mb_check_barrier(r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	for (k = 0; k < EPOCHS; k++) {
		const struct mb_result *x = mb_find_tag(r, nr, cptag[k]);

		ASSERT_NE(NULL, x);
		ASSERT_EQ(k, x->epoch);
		ep[k].cp_done_ns = x->done_ns;
	}
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(ndurable, si.stats.v[MBATCH_STATS_A_FLUSHES]);

	ev = read_trace(self->e.dev, &nev, &lost);
	ASSERT_NE(NULL, ev) TH_LOG("no block event of %s in the trace",
				   self->e.dev);
	EXPECT_FALSE(lost) TH_LOG("the trace lost events");
	for (i = 0; i < nev; i++)
		nflushes += ev[i].flush && ev[i].issue;
	TH_LOG("%u block events, %u flushes issued, %u durable checkpoints",
	       nev, nflushes, ndurable);
	EXPECT_EQ(ndurable, nflushes);
	err = mb_check_device_order(ev, nev, ep, EPOCHS, t0);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);

	/* The same events against wrong expectations: each must be refused. */
	for (k = 1; k + 1 < EPOCHS && (d < 0 || p < 0); k++) {
		if (ep[k].durable && ep[k + 1].sectors && ep[k].sectors &&
		    d < 0)
			d = k;
		if (!ep[k].durable && p < 0)
			p = k;
	}
	ASSERT_LE(0, d);
	ASSERT_LE(0, p);
	memcpy(bad, ep, sizeof(bad));
	bad[p].durable = 1;
	refused(_metadata, "a plain checkpoint taken for durable", ev, nev,
		bad, t0, "no flush reached the device");
	memcpy(bad, ep, sizeof(bad));
	bad[d].durable = 0;
	refused(_metadata, "a durable checkpoint taken for plain", ev, nev,
		bad, t0, "is not durable, but a flush");
	ASSERT_EQ(0, flush_of(ev, nev, ep, d, &fi, &fc));
	TH_LOG("epoch %d: flush issued %llu us after the epoch opened, completed %llu us later, checkpoint result %llu us after that",
	       d, (unsigned long long)(fi - mb_ns2us(ep[d - 1].cp_done_ns)),
	       (unsigned long long)(fc - fi),
	       (unsigned long long)(mb_ns2us(ep[d].cp_done_ns) - fc));
	memcpy(bad, ep, sizeof(bad));
	bad[d].cp_done_ns = (fc - 1) * 1000;
	refused(_metadata, "the checkpoint's result moved before its flush completed",
		ev, nev, bad, t0, "before its flush completed");
	memcpy(bad, ep, sizeof(bad));
	bad[d].hi = bad[d + 1].hi;
	bad[d].sectors += bad[d + 1].sectors;
	bad[d + 1].lo = bad[d + 1].hi = 0;
	bad[d + 1].sectors = 0;
	refused(_metadata, "the next epoch's writes taken for this epoch's", ev,
		nev, bad, t0, "before a write of its epoch");
	free(ev);
	mb_results_free(r, nr);
}

TEST_HARNESS_MAIN
