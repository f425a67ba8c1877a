// SPDX-License-Identifier: GPL-2.0
/*
 * scale_bench: how mbatch's cost grows with the work (tools/bench/scale.sh,
 * Documentation/bench.rst). Two measurements:
 *
 * -m rate (default): DEVICE is a comma-separated list; one queue (depth -d)
 * on each device and -N sessions on every queue. Every session is a thread
 * with a netlink socket, an owned session and a registered region of its
 * own, and writes -n of the benchmark's 4 KiB proxied writes (a checkpoint
 * every -e, -b batches outstanding, results collected with the ack cursor
 * and a wait-min, as mbatch_bench does) at random offsets of its own slice
 * of its device: the slices of a device's sessions are disjoint. All start
 * together (a barrier); the time is from the start to the end of the last
 * session, and every result is checked as mbatch_bench checks it. Prints
 * one RESULT line (all writes) and one SCALE line with the spread of the
 * sessions' own times.
 *
 * -m pending: the cost of a SUBMIT and of a COLLECT while P results are
 * pending (completed, not yet collected) in the session, for each P of -p
 * (comma separated, ascending). Each level has a queue on a device of its
 * own (DEVICE lists one per level) and one session M on it. M's P results
 * are made by SUBMITs of up to 4096 writes without a checkpoint, left to
 * complete. Then rounds (after 8 untimed ones) of, for each level in turn:
 *
 *   SUBMIT of 64 writes                              (timed)
 *   wait until they have completed (a COLLECT with wait-min and max 1,
 *   untimed)
 *   COLLECT max 64 with collect-ack = the last result of the previous
 *   round's COLLECT                                  (timed)
 *
 * A COLLECT returns the oldest results not acknowledged, and its ack frees
 * the previous round's 64, so P results stay pending throughout. The
 * levels take turns round by round, so that a change of the machine's
 * speed weighs on all of them alike (and all of them run with the same
 * memory in use). A session holds at most max-cmds (MBATCH_MAX_CMDS_MAX,
 * 65536) commands not acknowledged, results included, so M keeps at most
 * 65536 - 128 pending; the rest of a larger P is left pending in a second
 * session F on the same queue, which is then idle. Every collected result
 * is checked (status, size, sequence). Prints one PENDING line per level:
 * the medians over the rounds of the time of a SUBMIT and of a COLLECT,
 * divided by their 64 commands/results, and one RESULT line with every
 * write done.
 *
 * The writes are proxied from a region, as in mbatch_bench. Regions are
 * pinned; as root (CAP_IPC_LOCK) they are not charged to RLIMIT_MEMLOCK,
 * otherwise the limit is raised as far as it goes.
 *
 * Uses the raw netlink client of the selftests (selftests/mbatch/mbatch_nl.c).
 */
#include <pthread.h>

#include "bench.h"
#include "mbatch_nl.h"

#include <sys/mman.h>
#include <sys/resource.h>

#define CP_TAG		(1ULL << 63)
#define MAX_DEVS	16
#define MAX_SESSIONS	MBATCH_QUEUE_SESSIONS_MAX
#define MAX_LEVELS	16
#define PROBE_BATCH	64	/* pending mode: commands per timed request */
#define WARM_ROUNDS	8
#define WAIT_MS		MBATCH_COLLECT_TIMEOUT_MAX_MS

/* One message of a batch: a proxied write or a checkpoint. */
struct bcmd {
	uint64_t tag;
	uint32_t op;
	uint64_t offset;
	uint64_t roff;		/* the payload's offset in the region */
};

/* A queue of the run, on one device. */
struct squeue {
	const char *dev;
	char name[MBATCH_QUEUE_NAME_MAX];
	uint64_t blocks;	/* of o.bs */
	int made;
};

/* One session: its socket (maybe shared), region and request buffer. */
struct sess {
	const struct bench_opts *o;
	struct mb_sock *sock;
	struct mb_sock own;
	int has_own;
	struct squeue *q;
	uint32_t sid;
	uint32_t region_id;
	int has_region;
	char *region;
	uint64_t region_len;
	char *req_buf;
	size_t req_cap;
	struct bcmd *cmds;
	/* rate mode */
	unsigned int index;	/* on its queue */
	uint64_t first_block, nblocks;	/* its slice of the device */
	uint64_t count;
	struct bench_rng rng;
	uint64_t last_seq, results, writes, cps;
	uint64_t t_end;
	/* pending mode */
	uint64_t submitted;	/* commands */
	uint64_t held;		/* results not acknowledged */
	char err[512];
	int failed;
};

static struct bench_opts opts = {
	.prog = "scale_bench", .count = 6400, .epoch = 64, .depth = 64,
	.batches = 8, .seed = BENCH_SEED,
};
static const char *mode = "rate";
static unsigned int nsessions = 1;
static const char *pending_list = "10,1000,100000";
static unsigned int rounds = 200;
static struct squeue queues[MAX_DEVS];
static unsigned int nqueues;
static struct mb_sock ctl = { .fd = -1 };
static struct mb_limits lim;
static uint64_t features;
static pthread_barrier_t start_barrier;
static uint64_t t_start;

static void usage(void)
{
	fprintf(stderr,
		"usage: scale_bench [-m rate] [-N SESSIONS] [options] DEVICE[,DEVICE...]\n"
		"       scale_bench -m pending [-p P,P,...] [-r ROUNDS] [options] DEVICE,...\n"
		"  -m MODE    rate: aggregate writes/s of -N sessions on each\n"
		"             device's queue; pending: SUBMIT and COLLECT cost\n"
		"             with P results pending\n"
		"  -N N       sessions per queue (rate; default 1)\n"
		"  -n COUNT   writes per session (rate; default 6400)\n"
		"  -b N       batches outstanding per session (rate; default 8)\n"
		"  -p LIST    pending results to measure at (pending; default\n"
		"             10,1000,100000), a DEVICE for each\n"
		"  -r N       timed rounds per level (pending; default 200)\n"
		"  -e N -d DEPTH -s SEED -q  as mbatch_bench (4 KiB writes only)\n");
	exit(2);
}

static void scale_opt(struct bench_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'm':
		mode = arg;
		break;
	case 'N':
		nsessions = bench_parse_u64(o, "sessions", arg);
		break;
	case 'b':
		o->batches = bench_parse_u64(o, "batches", arg);
		break;
	case 'p':
		pending_list = arg;
		break;
	case 'r':
		rounds = bench_parse_u64(o, "rounds", arg);
		break;
	default:
		usage();
	}
}

static void sess_die(struct sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* In a session thread: record the error and end the thread. */
static void sess_die(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->failed = 1;
	if (strcmp(mode, "rate"))
		bench_die(s->o, "%s", s->err);
	pthread_exit(NULL);
}

/* One SUBMIT in the session's reused buffer (see mbatch_bench.c). */
static int submit(struct sess *s, uint64_t batch_id, uint32_t n)
{
	struct mb_req r;
	uint32_t i;
	int ret;

	mb_req_init(&r, s->sock, MBATCH_CMD_SUBMIT, 0);
	if (r.len > s->req_cap)
		abort();
	memcpy(s->req_buf, r.buf, r.len);
	mb_req_free(&r);
	r.buf = s->req_buf;
	r.cap = s->req_cap;
	mb_put_u32(&r, MBATCH_A_SESSION_ID, s->sid);
	if (batch_id)
		mb_put_u64(&r, MBATCH_A_BATCH_ID, batch_id);
	for (i = 0; i < n; i++) {
		const struct bcmd *c = &s->cmds[i];
		size_t nest = mb_nest_start(&r, MBATCH_A_MSG);

		mb_put_u64(&r, MBATCH_MSG_A_TAG, c->tag);
		mb_put_u32(&r, MBATCH_MSG_A_OP, c->op);
		if (c->op != MBATCH_OP_CHECKPOINT) {
			mb_put_u64(&r, MBATCH_MSG_A_OFFSET, c->offset);
			mb_put_u32(&r, MBATCH_MSG_A_LEN, s->o->bs);
			mb_put_u32(&r, MBATCH_MSG_A_REGION, s->region_id);
			mb_put_u64(&r, MBATCH_MSG_A_REGION_OFFSET, c->roff);
		}
		mb_nest_end(&r, nest);
	}
	ret = mb_transact(s->sock, &r, NULL, NULL);
	s->req_buf = r.buf;
	s->req_cap = r.cap;
	return ret;
}

static int region_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	struct sess *s = arg;

	if (!mb_parse_genl(tb, MBATCH_A_MAX, nlh) && tb[MBATCH_A_REGION_ID]) {
		s->region_id = mb_get_u32(tb[MBATCH_A_REGION_ID]);
		s->has_region = 1;
	}
	return 0;
}

/* A region of @slots payloads of the write size, each filled once. */
static int make_region(struct sess *s, uint64_t slots)
{
	struct mb_req r;
	uint64_t i;
	int ret;

	s->region_len = slots * s->o->bs;
	s->region = mmap(NULL, s->region_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->region == MAP_FAILED) {
		s->region = NULL;
		snprintf(s->err, sizeof(s->err), "mmap %" PRIu64 " bytes: %s",
			 s->region_len, strerror(errno));
		return -1;
	}
	for (i = 0; i < slots; i++)
		bench_fill(s->o, s->region + i * s->o->bs, i);
	mb_req_init(&r, s->sock, MBATCH_CMD_REGION_NEW, 0);
	mb_put_u64(&r, MBATCH_A_REGION_ADDR, (uintptr_t)s->region);
	mb_put_u64(&r, MBATCH_A_REGION_LEN, s->region_len);
	ret = mb_transact(s->sock, &r, region_cb, s);
	mb_req_free(&r);
	if (ret || !s->has_region) {
		snprintf(s->err, sizeof(s->err), "region of %" PRIu64 " bytes: %s",
			 s->region_len, mb_strerr(s->sock));
		return -1;
	}
	return 0;
}

/* Socket (unless shared), owned session, region, request buffer. */
static int sess_setup(struct sess *s, uint64_t slots, uint32_t max_msgs)
{
	int ret;

	if (!s->sock) {
		ret = mb_open(&s->own);
		if (ret) {
			snprintf(s->err, sizeof(s->err), "socket: %s",
				 strerror(-ret));
			return -1;
		}
		s->has_own = 1;
		s->sock = &s->own;
	}
	ret = mb_session_open(s->sock, s->q->name, MBATCH_SESSION_F_OWNED,
			      &s->sid);
	if (ret) {
		snprintf(s->err, sizeof(s->err), "session open %s: %s",
			 s->q->name, mb_strerr(s->sock));
		return -1;
	}
	/* the owner's socket needs no handle: skip the process's table */
	mb_sock_handle(s->sock, MB_HANDLE_NONE, 0);
	if (slots && make_region(s, slots))
		return -1;
	s->cmds = calloc(max_msgs, sizeof(*s->cmds));
	s->req_cap = 4096 + (size_t)max_msgs * 128;
	s->req_buf = calloc(1, s->req_cap);
	if (!s->cmds || !s->req_buf) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	return 0;
}

static void sess_teardown(struct sess *s)
{
	if (s->sid && s->sock)
		mb_session_close(s->sock, s->sid);
	s->sid = 0;
	if (s->has_region) {
		mb_region_del(s->sock, s->region_id);
		s->has_region = 0;
	}
	if (s->region)
		munmap(s->region, s->region_len);
	s->region = NULL;
	if (s->has_own)
		mb_close(&s->own);
	s->has_own = 0;
	free(s->cmds);
	free(s->req_buf);
	s->cmds = NULL;
	s->req_buf = NULL;
}

/* -------------------------------------------------------------- rate -- */

static void check_result(struct sess *s, const struct mb_result *r)
{
	const struct bench_opts *o = s->o;

	if (r->seq != s->last_seq + 1)
		sess_die(s, "result sequence %" PRIu64 " after %" PRIu64
			 " (gap or duplicate)", r->seq, s->last_seq);
	s->last_seq = r->seq;
	s->results++;
	if (r->status || r->outcome != MBATCH_OUTCOME_DONE)
		sess_die(s, "result seq %" PRIu64 " tag %#" PRIx64 " op %s: "
			 "%s, status %d (%s)", r->seq, r->tag,
			 mb_op_name(r->op), mb_outcome_name(r->outcome),
			 r->status, strerror(-r->status));
	if (r->op == MBATCH_OP_WRITE) {
		if (r->bytes != o->bs || r->tag >= s->count)
			sess_die(s, "write result tag %" PRIu64 ": %u bytes",
				 r->tag, r->bytes);
		if (r->tag / o->epoch != s->cps)
			sess_die(s, "write %" PRIu64 " of epoch %" PRIu64
				 " completed in epoch %" PRIu64, r->tag,
				 r->tag / o->epoch, s->cps);
		s->writes++;
	} else if (r->op == MBATCH_OP_CHECKPOINT) {
		uint64_t want = (s->cps + 1) * o->epoch;

		if (want > s->count)
			want = s->count;
		if (r->tag != (CP_TAG | s->cps) || s->writes != want)
			sess_die(s, "checkpoint %#" PRIx64 " completed after %"
				 PRIu64 " writes, %" PRIu64 " expected",
				 r->tag, s->writes, want);
		s->cps++;
	} else {
		sess_die(s, "unexpected result op %u", r->op);
	}
}

/* Ack what was seen, wait for (at most) the next wait-min. */
static void rate_collect(struct sess *s, uint64_t total_msgs)
{
	const struct bench_opts *o = s->o;
	struct mb_collect_opts co = { .session = s->sid };
	uint64_t left = total_msgs - s->results;
	struct mb_collect c;
	uint32_t i;

	if (s->last_seq) {
		co.has_ack = 1;
		co.ack = s->last_seq;
	}
	co.has_min = 1;
	co.min = left < o->epoch + 1U ? (uint32_t)left : o->epoch + 1;
	co.has_timeout = 1;
	co.timeout_ms = WAIT_MS;
	if (mb_collect(s->sock, &co, &c))
		sess_die(s, "collect: %s", mb_strerr(s->sock));
	if (c.inconsistent || c.count != c.nres)
		sess_die(s, "collect %" PRIu64 ": %u results in the reply, "
			 "count says %u", c.cseq, c.nres, c.count);
	if (!c.nres)
		sess_die(s, "no result for %d s (%" PRIu64 " seen)",
			 WAIT_MS / 1000, s->results);
	for (i = 0; i < c.nres; i++)
		check_result(s, &c.res[i]);
	mb_collect_free(&c);
}

static void *rate_thread(void *arg)
{
	struct sess *s = arg;
	const struct bench_opts *o = s->o;
	uint32_t per_batch = o->epoch + 1;
	uint64_t nbatches = (s->count + o->epoch - 1) / o->epoch;
	uint64_t total = s->count + nbatches, next = 0;
	int ok;

	ok = !sess_setup(s, (uint64_t)o->batches * o->epoch, per_batch);
	/* everybody starts together, or nobody does */
	pthread_barrier_wait(&start_barrier);
	pthread_barrier_wait(&start_barrier);
	if (!ok) {
		s->failed = 1;
		return NULL;
	}
	while (s->cps < nbatches) {
		while (next < nbatches && next - s->cps < o->batches) {
			uint64_t w0 = next * o->epoch;
			uint32_t n = 0;

			for (; n < o->epoch && w0 + n < s->count; n++) {
				struct bcmd *m = &s->cmds[n];

				m->tag = w0 + n;
				m->op = MBATCH_OP_WRITE;
				m->offset = (s->first_block +
					     bench_rng_next(&s->rng) % s->nblocks) *
					    o->bs;
				/* a batch's slots are free once it completed */
				m->roff = ((next % o->batches) * o->epoch + n) *
					  o->bs;
			}
			memset(&s->cmds[n], 0, sizeof(s->cmds[n]));
			s->cmds[n].tag = CP_TAG | next;
			s->cmds[n].op = MBATCH_OP_CHECKPOINT;
			if (submit(s, next + 1, n + 1))
				sess_die(s, "submit batch %" PRIu64 ": %s",
					 next + 1, mb_strerr(s->sock));
			next++;
		}
		rate_collect(s, total);
	}
	s->t_end = bench_now_ns();
	if (s->writes != s->count || s->results != total)
		sess_die(s, "%" PRIu64 " write results, %" PRIu64 " expected",
			 s->writes, s->count);
	{
		struct mb_collect_opts co = {
			.session = s->sid, .has_ack = 1, .ack = s->last_seq,
		};
		struct mb_collect c;

		if (mb_collect(s->sock, &co, &c) || c.nres || c.pending)
			sess_die(s, "final collect: %u results, %u pending: %s",
				 c.nres, c.pending, mb_strerr(s->sock));
		mb_collect_free(&c);
	}
	return NULL;
}

static void run_rate(void)
{
	struct bench_opts *o = &opts;
	unsigned int total = nqueues * nsessions, i, j, nfail = 0;
	uint64_t t_last = 0, t_first = UINT64_MAX, writes = 0, cps = 0;
	pthread_t *thr;
	struct sess *ss;
	pthread_attr_t attr;
	int ret;

	if (!o->batches)
		bench_die(o, "batches must be > 0");
	if (!nsessions || total > MAX_SESSIONS)
		bench_die(o, "1 to %u sessions in all", MAX_SESSIONS);
	if (o->epoch + 1 > lim.batch_msgs)
		bench_die(o, "a batch holds at most %u messages", lim.batch_msgs);
	ss = calloc(total, sizeof(*ss));
	thr = calloc(total, sizeof(*thr));
	if (!ss || !thr)
		bench_die(o, "out of memory");
	for (i = 0; i < nqueues; i++) {
		uint64_t slice = queues[i].blocks / nsessions;

		if (!slice)
			bench_die(o, "%s has fewer blocks than sessions",
				  queues[i].dev);
		for (j = 0; j < nsessions; j++) {
			struct sess *s = &ss[i * nsessions + j];

			s->o = o;
			s->q = &queues[i];
			s->index = j;
			s->first_block = j * slice;
			s->nblocks = slice;
			s->count = o->count;
			bench_rng_init(&s->rng, o->seed + i * nsessions + j);
		}
	}
	pthread_barrier_init(&start_barrier, NULL, total + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1 << 20);
	for (i = 0; i < total; i++) {
		ret = pthread_create(&thr[i], &attr, rate_thread, &ss[i]);
		if (ret)
			bench_die(o, "pthread_create: %s", strerror(ret));
	}
	/* all set up: go */
	pthread_barrier_wait(&start_barrier);
	t_start = bench_now_ns();
	pthread_barrier_wait(&start_barrier);
	for (i = 0; i < total; i++)
		pthread_join(thr[i], NULL);
	for (i = 0; i < total; i++) {
		struct sess *s = &ss[i];

		if (s->failed) {
			if (!nfail++)
				fprintf(stderr, "scale_bench: session %u of %s: %s\n",
					s->index, s->q->name, s->err);
			continue;
		}
		writes += s->writes;
		cps += s->cps;
		if (s->t_end > t_last)
			t_last = s->t_end;
		if (s->t_end < t_first)
			t_first = s->t_end;
	}
	for (i = 0; i < total; i++)
		sess_teardown(&ss[i]);
	if (nfail)
		bench_die(o, "%u of %u sessions failed", nfail, total);
	if (!o->quiet)
		fprintf(stderr, "scale: %u queue(s) x %u session(s): first session done after %.3f s, last after %.3f s\n",
			nqueues, nsessions, (t_first - t_start) / 1e9,
			(t_last - t_start) / 1e9);
	printf("SCALE queues=%u sessions=%u writes=%" PRIu64 " ns=%" PRIu64
	       " first_ns=%" PRIu64 "\n", nqueues, nsessions, writes,
	       t_last - t_start, t_first - t_start);
	bench_result(o, "scale", writes, cps, t_last - t_start);
	free(ss);
	free(thr);
}

/* ----------------------------------------------------------- pending -- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Queue @n proxied writes at random offsets of the device, no checkpoint. */
static void pending_submit(struct sess *s, uint32_t n)
{
	const struct bench_opts *o = s->o;
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct bcmd *m = &s->cmds[i];

		m->tag = s->submitted + i;
		m->op = MBATCH_OP_WRITE;
		m->offset = (bench_rng_next(&s->rng) % s->q->blocks) * o->bs;
		m->roff = (m->tag % PROBE_BATCH) * o->bs;
	}
	if (submit(s, 0, n))
		sess_die(s, "submit of %u: %s", n, mb_strerr(s->sock));
	s->submitted += n;
	s->held += n;
}

/* Until every command submitted has completed (untimed). */
static void pending_wait(struct sess *s)
{
	struct mb_collect_opts co = {
		.session = s->sid, .has_min = 1, .min = (uint32_t)s->held,
		.has_max = 1, .max = 1, .has_timeout = 1, .timeout_ms = WAIT_MS,
	};
	struct mb_collect c;

	if (!s->held)
		return;
	if (mb_collect(s->sock, &co, &c))
		sess_die(s, "collect: %s", mb_strerr(s->sock));
	if (c.nres != 1 || c.pending + c.nres < s->held)
		sess_die(s, "%" PRIu64 " results expected, %u there after %d s",
			 s->held, c.pending + c.nres, WAIT_MS / 1000);
	if (c.res[0].status || c.res[0].outcome != MBATCH_OUTCOME_DONE)
		sess_die(s, "result seq %" PRIu64 ": status %d",
			 c.res[0].seq, c.res[0].status);
	mb_collect_free(&c);
}

/* Top @s up to @want results not collected (on top of @delivered). */
static void pending_fill(struct sess *s, uint64_t want, uint64_t delivered)
{
	uint32_t chunk = lim.batch_msgs < 4096 ? lim.batch_msgs : 4096;

	while (s->held < want + delivered) {
		uint64_t n = want + delivered - s->held;

		pending_submit(s, n < chunk ? (uint32_t)n : chunk);
	}
	pending_wait(s);
}

/* A level of the pending measurement: its sessions, M's collect cursor. */
struct plevel {
	struct sess m, f;
	uint64_t p, pm, pf;	/* pending: in all, in M, in F */
	uint64_t ack;		/* last result of the previous COLLECT of M */
	uint64_t delivered;	/* results of that COLLECT (not acked yet) */
	uint64_t next_seq;	/* the next result sequence M must return */
	uint64_t *sub_ns, *col_ns;
};

/*
 * One COLLECT of M of at most @max results, acknowledging the previous
 * one's; checks them and that @left stay pending. Returns its time.
 */
static uint64_t pending_collect(struct plevel *pl, uint32_t max, uint64_t left)
{
	const struct bench_opts *o = pl->m.o;
	struct mb_collect_opts co = {
		.session = pl->m.sid, .has_max = 1, .max = max,
	};
	struct mb_collect c;
	uint64_t t;
	uint32_t i;

	if (pl->ack) {
		co.has_ack = 1;
		co.ack = pl->ack;
	}
	t = bench_now_ns();
	if (mb_collect(pl->m.sock, &co, &c))
		bench_die(o, "collect: %s", mb_strerr(pl->m.sock));
	t = bench_now_ns() - t;
	if (c.nres != max || c.count != c.nres || c.inconsistent)
		bench_die(o, "collect of %u returned %u (count %u)", max,
			  c.nres, c.count);
	if (c.pending != left)
		bench_die(o, "%u results left pending, %" PRIu64 " expected",
			  c.pending, left);
	for (i = 0; i < c.nres; i++) {
		const struct mb_result *res = &c.res[i];

		if (res->seq != pl->next_seq)
			bench_die(o, "result sequence %" PRIu64 ", %" PRIu64
				  " expected", res->seq, pl->next_seq);
		pl->next_seq++;
		if (res->status || res->op != MBATCH_OP_WRITE ||
		    res->outcome != MBATCH_OUTCOME_DONE || res->bytes != o->bs)
			bench_die(o, "result seq %" PRIu64 ": %s %s, status %d, "
				  "%u bytes", res->seq, mb_op_name(res->op),
				  mb_outcome_name(res->outcome), res->status,
				  res->bytes);
	}
	if (pl->ack)
		pl->m.held -= pl->delivered;
	pl->delivered = c.nres;
	pl->ack = c.res[c.nres - 1].seq;
	mb_collect_free(&c);
	return t;
}

/* One round of a level; its times go to slot @r when @r >= 0. */
static void pending_round(struct plevel *pl, int r)
{
	uint64_t ts, tc;

	ts = bench_now_ns();
	pending_submit(&pl->m, PROBE_BATCH);
	ts = bench_now_ns() - ts;
	pending_wait(&pl->m);
	tc = pending_collect(pl, PROBE_BATCH, pl->pm);
	if (r >= 0) {
		pl->sub_ns[r] = ts;
		pl->col_ns[r] = tc;
	}
}

static void run_pending(void)
{
	struct bench_opts *o = &opts;
	/* held by M at most: P + the 64 delivered + the 64 of a SUBMIT */
	uint64_t cap = MBATCH_MAX_CMDS_MAX - 2 * PROBE_BATCH, writes = 0;
	struct plevel pls[MAX_LEVELS] = { 0 };
	unsigned int nlev = 0, l;
	const char *p = pending_list;
	int r;

	while (*p) {
		struct plevel *pl = &pls[nlev];
		char *end;

		if (nlev == MAX_LEVELS)
			bench_die(o, "at most %u levels", MAX_LEVELS);
		pl->p = strtoull(p, &end, 10);
		if (end == p || (*end && *end != ','))
			bench_die(o, "bad pending list '%s'", pending_list);
		if (!pl->p || (nlev && pl->p <= pls[nlev - 1].p))
			bench_die(o, "pending levels must be > 0 and ascending");
		if (pl->p > 2 * cap)
			bench_die(o, "at most %" PRIu64 " pending (two sessions)",
				  2 * cap);
		nlev++;
		p = *end ? end + 1 : end;
	}
	if (!nlev || !rounds)
		bench_die(o, "nothing to measure");
	if (nlev > nqueues)
		bench_die(o, "%u levels need as many devices, %u given", nlev,
			  nqueues);
	if (lim.batch_msgs < PROBE_BATCH)
		bench_die(o, "a batch holds at most %u messages", lim.batch_msgs);
	for (l = 0; l < nlev; l++) {
		struct plevel *pl = &pls[l];

		pl->m = (struct sess){ .o = o, .sock = &ctl, .q = &queues[l] };
		pl->f = pl->m;
		pl->next_seq = 1;
		pl->pm = pl->p < cap ? pl->p : cap;
		pl->pf = pl->p - pl->pm;
		pl->sub_ns = calloc(rounds, sizeof(*pl->sub_ns));
		pl->col_ns = calloc(rounds, sizeof(*pl->col_ns));
		if (!pl->sub_ns || !pl->col_ns)
			bench_die(o, "out of memory");
		bench_rng_init(&pl->m.rng, o->seed + 2 * l);
		bench_rng_init(&pl->f.rng, o->seed + 2 * l + 1);
		if (sess_setup(&pl->m, PROBE_BATCH, 4096))
			bench_die(o, "%s", pl->m.err);
		/* F shares the socket, hence the region */
		pl->f.region_id = pl->m.region_id;
		if (pl->pf && sess_setup(&pl->f, 0, 4096))
			bench_die(o, "%s", pl->f.err);
		pending_fill(&pl->m, pl->pm, 0);
		if (pl->pf)
			pending_fill(&pl->f, pl->pf, 0);
	}
	/* rounds of the levels in turn: the machine's drifts hit them alike */
	for (r = -WARM_ROUNDS; r < (int)rounds; r++)
		for (l = 0; l < nlev; l++)
			pending_round(&pls[l], r);
	for (l = 0; l < nlev; l++) {
		struct plevel *pl = &pls[l];

		printf("PENDING p=%" PRIu64 " session=%" PRIu64 " other=%" PRIu64
		       " rounds=%u submit_ns=%.1f collect_ns=%.1f\n", pl->p,
		       pl->pm, pl->pf, rounds,
		       (double)median(pl->sub_ns, rounds) / PROBE_BATCH,
		       (double)median(pl->col_ns, rounds) / PROBE_BATCH);
		writes += pl->m.submitted + pl->f.submitted;
		if (pl->f.sid)
			sess_teardown(&pl->f);
		sess_teardown(&pl->m);
		free(pl->sub_ns);
		free(pl->col_ns);
	}
	printf("RESULT workload=scale-pending writes=%" PRIu64
	       " checkpoints=0 bs=%u ns=0\n", writes, o->bs);
	fflush(stdout);
}

/* ------------------------------------------------------------------ -- */

static void cleanup(void)
{
	unsigned int i;

	if (ctl.fd < 0)
		return;
	for (i = 0; i < nqueues; i++)
		if (queues[i].made)
			mb_queue_del(&ctl, queues[i].name);
	mb_close(&ctl);
	ctl.fd = -1;
}

static void make_queue(struct squeue *q, uint32_t max_cmds)
{
	struct mb_queue_cfg qc = {
		.name = q->name, .dev = q->dev, .depth = opts.depth,
		.max_cmds = max_cmds,
	};
	struct mb_queue_info qi;

	if (mb_queue_new(&ctl, &qc))
		bench_die(&opts, "queue add %s dev %s depth %u: %s", q->name,
			  q->dev, opts.depth, mb_strerr(&ctl));
	q->made = 1;
	if (mb_queue_get(&ctl, q->name, &qi))
		bench_die(&opts, "queue show %s: %s", q->name, mb_strerr(&ctl));
	if (qi.block_size > opts.bs || opts.bs % qi.block_size)
		bench_die(&opts, "block size %u does not divide %u",
			  qi.block_size, opts.bs);
	q->blocks = qi.capacity / opts.bs;
	if (!q->blocks)
		bench_die(&opts, "%s is smaller than one block", q->dev);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char *devs, *d, *save = NULL;
	uint32_t max_cmds;
	int i, ret;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h"))
			usage();
	bench_parse(&opts, argc, argv, "m:N:b:p:r:", scale_opt);
	if (opts.bs != BENCH_BS)
		bench_die(&opts, "4 KiB writes only");
	if (strcmp(mode, "rate") && strcmp(mode, "pending"))
		usage();
	devs = strdup(opts.dev);
	if (!devs)
		bench_die(&opts, "out of memory");
	for (d = strtok_r(devs, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		if (nqueues == MAX_DEVS)
			bench_die(&opts, "at most %u devices", MAX_DEVS);
		queues[nqueues].dev = d;
		snprintf(queues[nqueues].name, sizeof(queues[nqueues].name),
			 "scale%uq%u", (unsigned int)getpid(), nqueues);
		nqueues++;
	}
	if (!nqueues)
		usage();

	/* Regions are pinned: without CAP_IPC_LOCK they count as locked. */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}

	ret = mb_open(&ctl);
	if (ret)
		bench_die(&opts, "cannot reach the mbatch netlink family (%s): "
			  "is mbatch.ko loaded?", strerror(-ret));
	atexit(cleanup);
	ret = mb_version_limits(&ctl, NULL, NULL, 0, &features, &lim);
	if (ret)
		bench_die(&opts, "version: %s", mb_strerr(&ctl));
	if (!(features & MBATCH_FEAT_REGIONS))
		bench_die(&opts, "this mbatch has no registered regions");
	if (!lim.batch_msgs)
		lim.batch_msgs = MBATCH_MAX_BATCH_MSGS;

	/* room for every outstanding batch and its results, per session */
	max_cmds = MBATCH_MAX_CMDS_MAX;
	if (!strcmp(mode, "rate")) {
		uint64_t want = (uint64_t)opts.batches * (opts.epoch + 1) * 2;

		max_cmds = want > MBATCH_MAX_CMDS_DEFAULT ?
			   (want > MBATCH_MAX_CMDS_MAX ? MBATCH_MAX_CMDS_MAX :
			    (uint32_t)want) : 0;
	}
	for (i = 0; i < (int)nqueues; i++)
		make_queue(&queues[i], max_cmds);
	fflush(stdout);

	if (!strcmp(mode, "rate"))
		run_rate();
	else
		run_pending();
	cleanup();
	free(devs);
	return 0;
}
