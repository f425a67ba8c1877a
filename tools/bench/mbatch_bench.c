// SPDX-License-Identifier: GPL-2.0
/*
 * mbatch_bench: the random writes of the benchmark (4 KiB, or -S) through
 * mbatch.
 *
 * Creates a queue on the device (depth -d), opens one owned session and
 * sends one SUBMIT per batch: -e writes followed by one CHECKPOINT, so the
 * checkpoint orders every batch against the next exactly like the drained
 * NOP of uring_bench. Up to -b batches are outstanding; results are
 * collected with the ack cursor (the last result sequence seen) and a
 * wait-min, so one COLLECT both frees the previous results and waits for the
 * next ones. Every result is checked: status 0, 4096 bytes per write, result
 * sequence without gaps or duplicates, and each checkpoint arriving exactly
 * after the writes of its epoch. The queue is deleted at exit.
 *
 * With -T a second thread collects on a socket of its own while the main
 * thread only submits (the session is the same; only its opener's socket
 * owns it), so that building and sending a batch overlaps with receiving
 * and checking the results of an earlier one.
 *
 * -P PEER opens the session on queue -Q of peer PEER (a remote session,
 * Documentation/userspace-api/mbatch-wire.rst) instead of creating a queue
 * on the device: the queue exists on the participant, and DEVICE (the
 * participant's, visible here) only gives the size.
 *
 * -1 sends one command per SUBMIT and waits for its result (a COLLECT)
 * before sending the next, checkpoints included: one round trip per
 * command, the baseline batching is measured against.
 *
 * The payloads are proxied: the client registers one region (anonymous
 * memory, MBATCH_CMD_REGION_NEW) holding the payloads of every outstanding
 * batch, and each WRITE names its slot (MBATCH_MSG_A_REGION, _REGION_OFFSET)
 * instead of carrying its data, so the device reads the client's pages.
 * The region holds at most 128 MiB of payloads: with large writes fewer
 * batches are kept outstanding. A batch's slots are filled again only once
 * its checkpoint has completed. -I sends the payloads inline, in the
 * messages, as a module without regions requires (at most 32 KiB a write).
 *
 * -Z sends WRITE_ZEROES instead of WRITE: the same commands, written from
 * the zero page, with no payload at all. Not a peer: it shows what the same
 * client would reach if no data moved at all.
 *
 * Latency, of every write: "write" from the SUBMIT that carried it
 * (CLOCK_MONOTONIC just before the request is sent) to the result's DONE_NS
 * (ktime_get_ns() when its bio completed, the same clock); "device" from
 * START_NS (when the module built its bio, just before submit_bio()) to
 * DONE_NS; "seen" from the SUBMIT to the return of the COLLECT that brought
 * the result. A result stamped before its SUBMIT was sent or after its
 * COLLECT returned counts as skew (clocks that do not match). With -P the
 * stamps of the results are the participant's.
 *
 * Uses the raw netlink client of the selftests (selftests/mbatch/mbatch_nl.c).
 */
#include <pthread.h>

#include "bench.h"
#include "mbatch_nl.h"

#include <sys/mman.h>

#define CP_TAG		(1ULL << 63)
#define REGION_MAX	((uint64_t)128 << 20)	/* payloads of outstanding batches */

/* One message of a batch; a proxied payload is at roff in the region. */
struct bcmd {
	uint64_t tag;
	uint32_t op;
	uint64_t offset;
	uint32_t len;
	const void *data;	/* inline payload, or NULL */
	int proxied;
	uint64_t roff;
};

static struct mb_sock sock;
static uint32_t sid;
static int have_queue;
static char qname[MBATCH_QUEUE_NAME_MAX];
static int inline_only;
static int journal;		/* -J: the queue has an internal journal */
static uint64_t j_writes0, j_gen0, j_sb0;
static int have_region;
static uint32_t region_id;
static char *region;
static uint64_t region_len;

/*
 * Before and after a -J run: zero the place of the journal's superblock
 * copies (the device's last 8 KiB, counted in JOURNAL's sectors), so that
 * a journal is made on this scratch device whatever earlier workloads
 * wrote there, and the next workload's queue, without one, may have it.
 */
static void journal_unmake(struct bench_opts *o)
{
	uint64_t bytes = 0;
	void *zero;
	int fd;

	fd = open(o->dev, O_WRONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) || bytes < 8192 ||
	    posix_memalign(&zero, 4096, 8192))
		bench_die(o, "%s: cannot zero the journal's superblocks",
			  o->dev);
	memset(zero, 0, 8192);
	if (pwrite(fd, zero, 8192, (off_t)(bytes / 4096 * 4096 - 8192)) !=
	    8192)
		bench_die(o, "%s: cannot zero the journal's superblocks: %s",
			  o->dev, strerror(errno));
	free(zero);
	close(fd);
}

static void cleanup(void)
{
	if (sid)
		mb_session_close(&sock, sid);
	sid = 0;
	if (have_queue)
		mb_queue_del(&sock, qname);
	have_queue = 0;
	if (have_region) {
		struct mb_req r;

		mb_req_init(&r, &sock, MBATCH_CMD_REGION_DEL, 0);
		mb_put_u32(&r, MBATCH_A_REGION_ID, region_id);
		mb_transact(&sock, &r, NULL, NULL);
		mb_req_free(&r);
		munmap(region, region_len);
	}
	have_region = 0;
	if (sock.fd > 0)
		mb_close(&sock);
}

/*
 * One SUBMIT: like mb_submit() of the library, but built in a buffer that is
 * kept from one batch to the next. A 65-message batch is a 270 KB request;
 * building it in a fresh, doubling allocation every time costs page faults
 * and copies that have nothing to do with mbatch (over 1 ms a batch under
 * TCG), so this client reuses one buffer sized for the largest batch.
 */
static char *req_buf;
static size_t req_cap;
static int collector_thread;
static uint32_t write_op = MBATCH_OP_WRITE;
static const char *peer_name;
static int round_trip;
/* When each outstanding SUBMIT was sent, by batch id modulo nsub. */
static uint64_t *sub_ns;
static uint32_t nsub = 1;
static struct bench_lat lat_write, lat_dev, lat_seen;

static int submit(uint32_t session, uint64_t batch_id,
		  const struct bcmd *cmds, uint32_t n)
{
	struct mb_req r;
	uint32_t i;
	int ret;

	mb_req_init(&r, &sock, MBATCH_CMD_SUBMIT, 0);
	if (r.len > req_cap)
		abort();
	memcpy(req_buf, r.buf, r.len);
	mb_req_free(&r);
	r.buf = req_buf;
	r.cap = req_cap;
	mb_put_u32(&r, MBATCH_A_SESSION_ID, session);
	mb_put_u64(&r, MBATCH_A_BATCH_ID, batch_id);
	for (i = 0; i < n; i++) {
		const struct bcmd *c = &cmds[i];
		size_t nest = mb_nest_start(&r, MBATCH_A_MSG);

		mb_put_u64(&r, MBATCH_MSG_A_TAG, c->tag);
		mb_put_u32(&r, MBATCH_MSG_A_OP, c->op);
		if (c->op != MBATCH_OP_CHECKPOINT) {
			mb_put_u64(&r, MBATCH_MSG_A_OFFSET, c->offset);
			mb_put_u32(&r, MBATCH_MSG_A_LEN, c->len);
		}
		if (c->proxied) {
			mb_put_u32(&r, MBATCH_MSG_A_REGION, region_id);
			mb_put_u64(&r, MBATCH_MSG_A_REGION_OFFSET, c->roff);
		} else if (c->data) {
			mb_put(&r, MBATCH_MSG_A_DATA, c->data, c->len);
		}
		mb_nest_end(&r, nest);
	}
	__atomic_store_n(&sub_ns[batch_id % nsub], bench_now_ns(),
			 __ATOMIC_RELAXED);
	ret = mb_transact(&sock, &r, NULL, NULL);
	/* mb_put() may have grown it: keep whatever it is now. */
	req_buf = r.buf;
	req_cap = r.cap;
	return ret;
}

static void mbatch_opt(struct bench_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'b':
		o->batches = bench_parse_u64(o, "batches", arg);
		break;
	case 'w':
		o->wait_min = bench_parse_u64(o, "wait-min", arg);
		break;
	case 'Q':
		o->queue = arg;
		break;
	case 'T':
		collector_thread = 1;
		break;
	case 'Z':
		write_op = MBATCH_OP_WRITE_ZEROES;
		break;
	case 'P':
		peer_name = arg;
		break;
	case '1':
		round_trip = 1;
		break;
	case 'I':
		inline_only = 1;
		break;
	case 'J':
		journal = 1;
		break;
	default:
		bench_usage(o, 'm');
	}
}

struct state {
	uint64_t last_seq;	/* last result sequence seen (the ack) */
	uint64_t results;	/* results seen */
	uint64_t writes;	/* write results seen */
	uint64_t cps;		/* checkpoint results seen */
};

/* Latency of a write result; @now: its COLLECT returned. */
static void result_lat(const struct mb_result *r, uint64_t now)
{
	uint64_t sent = __atomic_load_n(&sub_ns[r->batch_id % nsub],
					__ATOMIC_RELAXED);

	bench_lat_add(&lat_write, sent, r->done_ns);
	bench_lat_add(&lat_dev, r->start_ns, r->done_ns);
	bench_lat_add(&lat_seen, sent, now);
	if (r->done_ns > now)
		lat_write.skew++;
}

static void check_result(const struct bench_opts *o, struct state *st,
			 const struct mb_result *r, uint64_t now)
{
	if (r->seq != st->last_seq + 1)
		bench_die(o, "result sequence %" PRIu64 " after %" PRIu64
			  " (gap or duplicate)", r->seq, st->last_seq);
	st->last_seq = r->seq;
	st->results++;
	if (r->status || r->outcome != MBATCH_OUTCOME_DONE)
		bench_die(o, "result seq %" PRIu64 " tag %#" PRIx64 " op %s: "
			  "%s, status %d (%s)", r->seq, r->tag,
			  mb_op_name(r->op), mb_outcome_name(r->outcome),
			  r->status, strerror(-r->status));
	if (r->op == write_op) {
		if (r->bytes != o->bs || r->tag >= o->count)
			bench_die(o, "write result tag %" PRIu64 ": %u bytes",
				  r->tag, r->bytes);
		if (r->tag / o->epoch != st->cps)
			bench_die(o, "write %" PRIu64 " of epoch %" PRIu64
				  " completed in epoch %" PRIu64, r->tag,
				  r->tag / o->epoch, st->cps);
		result_lat(r, now);
		st->writes++;
	} else if (r->op == MBATCH_OP_CHECKPOINT) {
		uint64_t want = (st->cps + 1) * o->epoch;

		if (want > o->count)
			want = o->count;
		if (r->tag != (CP_TAG | st->cps) || st->writes != want)
			bench_die(o, "checkpoint %#" PRIx64 " completed after %"
				  PRIu64 " writes, %" PRIu64 " expected",
				  r->tag, st->writes, want);
		st->cps++;
	} else {
		bench_die(o, "unexpected result op %u", r->op);
	}
}

/* What the collector shares with the submitter. */
struct run {
	const struct bench_opts *o;
	struct mb_sock *sock;		/* the collector's socket */
	struct state st;
	uint64_t total_msgs;
	uint64_t nbatches;
	uint64_t collect_ns, ncollect;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t cps_done;		/* st.cps, published under lock */
};

/* One COLLECT: ack what was seen, wait for (at most) the next wait-min. */
static void collect_once(struct run *r)
{
	const struct bench_opts *o = r->o;
	struct mb_collect_opts co = { .session = sid };
	uint64_t left = r->total_msgs - r->st.results, ts, te;
	struct mb_collect c;
	uint32_t i;
	int ret;

	if (r->st.last_seq) {
		co.has_ack = 1;
		co.ack = r->st.last_seq;
	}
	co.has_min = 1;
	co.min = left < o->wait_min ? (uint32_t)left : o->wait_min;
	co.has_timeout = 1;
	co.timeout_ms = 5000;
	ts = bench_now_ns();
	ret = mb_collect(r->sock, &co, &c);
	te = bench_now_ns();
	r->collect_ns += te - ts;
	r->ncollect++;
	if (ret)
		bench_die(o, "collect: %s", mb_strerr(r->sock));
	if (c.inconsistent || c.count != c.nres)
		bench_die(o, "collect %" PRIu64 ": %u results in the reply, "
			  "count says %u", c.cseq, c.nres, c.count);
	if (!c.nres)
		bench_die(o, "no result for 5 s (%" PRIu64 " seen)",
			  r->st.results);
	for (i = 0; i < c.nres; i++)
		check_result(o, &r->st, &c.res[i], te);
	mb_collect_free(&c);
}

/* -T: collect on a socket of its own while the main thread submits. */
static void *collector(void *arg)
{
	struct run *r = arg;

	while (r->st.cps < r->nbatches) {
		collect_once(r);
		pthread_mutex_lock(&r->lock);
		r->cps_done = r->st.cps;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/*
 * -P: a remote session takes batches once the participant has answered
 * its OPEN (until then SUBMIT fails with EAGAIN); wait for that, outside
 * the timed section.
 */
static void wait_open(const struct bench_opts *o)
{
	struct mb_session_info si;
	int i;

	for (i = 0; i < 1000; i++) {
		if (mb_session_get(&sock, sid, &si))
			bench_die(o, "session show %u: %s", sid,
				  mb_strerr(&sock));
		if (si.state != MBATCH_SESSION_CONNECTING)
			return;
		usleep(10000);
	}
	bench_die(o, "session %u on %s@%s still connecting after 10 s", sid,
		  qname, peer_name);
}

/* A queue of depth -d on the device; the blocks are the queue's. */
static void make_queue(struct bench_opts *o, uint32_t per_batch)
{
	struct mb_queue_cfg qc = { 0 };
	struct mb_queue_info qi;
	int ret;

	qc.name = qname;
	qc.dev = o->dev;
	qc.depth = o->depth;
	if (journal)
		qc.journal = MBATCH_JOURNAL_INTERNAL;
	/*
	 * Room for every outstanding batch and its unacknowledged results
	 * (the bytes only count inline payloads).
	 */
	if ((uint64_t)o->batches * per_batch * 2 > MBATCH_MAX_CMDS_DEFAULT)
		qc.max_cmds = o->batches * per_batch * 2;
	if ((uint64_t)o->batches * o->epoch * o->bs * 2 >
	    MBATCH_MAX_BYTES_DEFAULT)
		qc.max_bytes = (uint64_t)o->batches * o->epoch * o->bs * 2;
	if (qc.max_bytes > MBATCH_MAX_BYTES_MAX)
		qc.max_bytes = MBATCH_MAX_BYTES_MAX;
	ret = mb_queue_new(&sock, &qc);
	if (ret)
		bench_die(o, "queue add %s dev %s depth %u: %s", qname, o->dev,
			  o->depth, mb_strerr(&sock));
	have_queue = 1;
	ret = mb_queue_get(&sock, qname, &qi);
	if (ret)
		bench_die(o, "queue show %s: %s", qname, mb_strerr(&sock));
	if (qi.block_size > o->bs || o->bs % qi.block_size)
		bench_die(o, "block size %u does not divide %u", qi.block_size,
			  o->bs);
	o->blocks = qi.capacity / o->bs;
	j_writes0 = qi.log_writes;
	j_gen0 = qi.journal_gen;
	/* Made (generation 1): both copies written; found: one. */
	j_sb0 = qi.journal_gen == 1 ? 2 : 1;
	if (!o->blocks)
		bench_die(o, "%s is smaller than one block", o->dev);
}

struct proxy_info {
	uint32_t max_proxy_io, proxy_align;
};

static int proxy_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	struct proxy_info *p = arg;

	if (mb_parse_genl(tb, MBATCH_A_MAX, nlh))
		return 0;
	if (tb[MBATCH_A_SESSION_MAX_PROXY_IO])
		p->max_proxy_io = mb_get_u32(tb[MBATCH_A_SESSION_MAX_PROXY_IO]);
	if (tb[MBATCH_A_SESSION_PROXY_ALIGN])
		p->proxy_align = mb_get_u32(tb[MBATCH_A_SESSION_PROXY_ALIGN]);
	return 0;
}

static int region_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];

	if (!mb_parse_genl(tb, MBATCH_A_MAX, nlh) && tb[MBATCH_A_REGION_ID]) {
		*(uint32_t *)arg = mb_get_u32(tb[MBATCH_A_REGION_ID]);
		have_region = 1;
	}
	return 0;
}

/*
 * The region of the payloads, when the module and the session take
 * proxies of this size: @nb batches' worth, at most REGION_MAX; keeps at
 * most @nb batches outstanding. Returns 0 without one (inline payloads).
 */
static int make_region(struct bench_opts *o, uint64_t features,
		       uint32_t *nb)
{
	struct proxy_info pi = { 0 };
	uint64_t per = (uint64_t)o->epoch * o->bs;
	struct mb_req r;
	int ret;

	if (inline_only || write_op != MBATCH_OP_WRITE ||
	    !(features & MBATCH_FEAT_REGIONS))
		return 0;
	mb_req_init(&r, &sock, MBATCH_CMD_SESSION_GET, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
	ret = mb_transact(&sock, &r, proxy_cb, &pi);
	mb_req_free(&r);
	if (ret)
		bench_die(o, "session show %u: %s", sid, mb_strerr(&sock));
	if (pi.max_proxy_io < o->bs)
		return 0;
	*nb = o->batches;
	if (*nb * per > REGION_MAX)
		*nb = REGION_MAX / per ? REGION_MAX / per : 1;
	/* slots are multiples of 4 KiB; the alignment is the device's */
	if (pi.proxy_align > BENCH_BS || BENCH_BS % pi.proxy_align)
		bench_die(o, "the session's proxy alignment %u does not divide %u",
			  pi.proxy_align, BENCH_BS);
	region_len = *nb * per;
	region = mmap(NULL, region_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		bench_die(o, "mmap %" PRIu64 " bytes: %s", region_len,
			  strerror(errno));
	mb_req_init(&r, &sock, MBATCH_CMD_REGION_NEW, 0);
	mb_put_u64(&r, MBATCH_A_REGION_ADDR, (uintptr_t)region);
	mb_put_u64(&r, MBATCH_A_REGION_LEN, region_len);
	ret = mb_transact(&sock, &r, region_cb, &region_id);
	mb_req_free(&r);
	if (ret || !have_region)
		bench_die(o, "region of %" PRIu64 " bytes: %s", region_len,
			  mb_strerr(&sock));
	return 1;
}

/* -P: the queue is the participant's; its device gives the size. */
static void remote_size(struct bench_opts *o)
{
	int fd = open(o->dev, O_RDONLY);

	if (fd < 0)
		bench_die(o, "open %s: %s", o->dev, strerror(errno));
	bench_size(o, fd);
	close(fd);
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.prog = "mbatch_bench", .count = 50000, .epoch = 64,
		.depth = 64, .batches = 8, .seed = BENCH_SEED,
		.queue = NULL,
	};
	uint64_t nbatches, next_batch = 0, submitted_msgs = 0, t0, t1, ts;
	uint64_t submit_ns = 0, rt_batch = 0;
	struct run run = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct mb_sock csock = { .fd = -1 };
	pthread_t thr;
	struct mb_session_info si;
	struct mb_limits lim;
	struct bench_rng rng;
	struct bcmd *cmds;
	uint64_t features = 0;
	char *bufs = NULL;
	uint32_t per_batch, nb = 0;
	int proxied, ret;

	bench_parse(&o, argc, argv, "b:w:Q:TZP:1IJ", mbatch_opt);
	if (!o.batches)
		bench_die(&o, "batches must be > 0");
	if (peer_name && !o.queue)
		bench_die(&o, "-P needs the participant's queue (-Q)");
	if (round_trip && collector_thread)
		bench_die(&o, "-1 and -T exclude each other");
	per_batch = o.epoch + 1;
	if (round_trip)
		o.wait_min = 1;
	if (!o.wait_min)
		o.wait_min = per_batch;
	nbatches = (o.count + o.epoch - 1) / o.epoch;
	if (o.queue)
		snprintf(qname, sizeof(qname), "%s", o.queue);
	else
		snprintf(qname, sizeof(qname), "bench%u", (unsigned int)getpid());

	ret = mb_open(&sock);
	if (ret)
		bench_die(&o, "cannot reach the mbatch netlink family (%s): "
			  "is mbatch.ko loaded?", strerror(-ret));
	atexit(cleanup);
	ret = mb_version_limits(&sock, NULL, NULL, 0, &features, &lim);
	if (ret)
		bench_die(&o, "version: %s", mb_strerr(&sock));
	if (!lim.batch_msgs)
		lim.batch_msgs = MBATCH_MAX_BATCH_MSGS;
	if (per_batch > lim.batch_msgs)
		bench_die(&o, "a batch holds at most %u messages (the module's limit)",
			  lim.batch_msgs);

	/* A scratch device: what workloads before wrote may be there. */
	if (journal && !peer_name)
		journal_unmake(&o);
	if (peer_name)
		remote_size(&o);
	else
		make_queue(&o, per_batch);
	ret = mb_session_open_remote(&sock, qname, peer_name,
				     MBATCH_SESSION_F_OWNED, &sid);
	if (ret)
		bench_die(&o, "session open %s%s%s: %s", qname,
			  peer_name ? "@" : "", peer_name ? peer_name : "",
			  mb_strerr(&sock));
	if (peer_name)
		wait_open(&o);

	proxied = make_region(&o, features, &nb);
	if (proxied && nb < o.batches) {
		if (!o.quiet)
			fprintf(stderr, "mbatch: %u batches outstanding, not %u: the region holds %u MiB\n",
				nb, o.batches, (unsigned int)(REGION_MAX >> 20));
		o.batches = nb;
	}
	if (!proxied && write_op == MBATCH_OP_WRITE &&
	    o.bs > (lim.max_io ? lim.max_io : MBATCH_MAX_IO_LEN))
		bench_die(&o, "%u-byte writes need registered regions (inline: at most %u)",
			  o.bs, lim.max_io ? lim.max_io : MBATCH_MAX_IO_LEN);
	if (!o.quiet)
		fprintf(stderr, "mbatch: %u-byte payloads %s\n", o.bs,
			write_op != MBATCH_OP_WRITE ? "none (write-zeroes)" :
			proxied ? "proxied, in a registered region" : "inline");

	cmds = calloc(per_batch, sizeof(*cmds));
	nsub = o.batches + 1;
	sub_ns = calloc(nsub, sizeof(*sub_ns));
	req_cap = 4096 + (size_t)per_batch * ((proxied ? 0 : o.bs) + 256);
	req_buf = calloc(1, req_cap);
	if ((!proxied && posix_memalign((void **)&bufs, BENCH_BS,
					(size_t)o.epoch * o.bs)) ||
	    !cmds || !req_buf || !sub_ns)
		bench_die(&o, "out of memory");
	bench_rng_init(&rng, o.seed);
	run.o = &o;
	run.sock = &sock;
	run.nbatches = nbatches;
	run.total_msgs = o.count + nbatches;
	if (collector_thread) {
		ret = mb_open(&csock);
		if (ret)
			bench_die(&o, "second socket: %s", strerror(-ret));
		run.sock = &csock;
	}

	t0 = bench_now_ns();
	if (collector_thread) {
		ret = pthread_create(&thr, NULL, collector, &run);
		if (ret)
			bench_die(&o, "pthread_create: %s", strerror(ret));
	}
	while (collector_thread ? next_batch < nbatches :
	       run.st.cps < nbatches) {
		uint64_t done = run.st.cps;

		if (collector_thread) {
			/* Wait for room for one more batch. */
			pthread_mutex_lock(&run.lock);
			while (next_batch - run.cps_done >= o.batches)
				pthread_cond_wait(&run.cond, &run.lock);
			done = run.cps_done;
			pthread_mutex_unlock(&run.lock);
		}
		/* Keep -b batches outstanding. */
		while (next_batch < nbatches && next_batch - done < o.batches) {
			uint64_t w0 = next_batch * o.epoch;
			uint32_t n = 0;

			for (; n < o.epoch && w0 + n < o.count; n++) {
				struct bcmd *m = &cmds[n];
				/* a batch's slots are free once it completed */
				uint64_t slot = (next_batch % (nb ? nb : 1)) *
						o.epoch + n;
				char *buf;

				m->tag = w0 + n;
				m->op = write_op;
				m->offset = bench_offset(&o, &rng);
				m->len = o.bs;
				if (write_op != MBATCH_OP_WRITE)
					continue;
				if (proxied) {
					m->proxied = 1;
					m->roff = slot * o.bs;
					buf = region + m->roff;
				} else {
					buf = bufs + (size_t)n * o.bs;
					m->data = buf;
				}
				bench_fill(&o, buf, w0 + n);
			}
			memset(&cmds[n], 0, sizeof(cmds[n]));
			cmds[n].tag = CP_TAG | next_batch;
			cmds[n].op = MBATCH_OP_CHECKPOINT;
			if (round_trip) {
				/* one command, one result, then the next */
				uint32_t i;

				for (i = 0; i <= n; i++) {
					ts = bench_now_ns();
					ret = submit(sid, ++rt_batch, &cmds[i], 1);
					submit_ns += bench_now_ns() - ts;
					if (ret)
						bench_die(&o, "submit %" PRIu64
							  ": %s", rt_batch,
							  mb_strerr(&sock));
					collect_once(&run);
				}
				submitted_msgs += n + 1;
				next_batch++;
				continue;
			}
			ts = bench_now_ns();
			ret = submit(sid, next_batch + 1, cmds, n + 1);
			submit_ns += bench_now_ns() - ts;
			if (ret)
				bench_die(&o, "submit batch %" PRIu64 ": %s",
					  next_batch + 1, mb_strerr(&sock));
			submitted_msgs += n + 1;
			next_batch++;
		}
		if (!collector_thread && !round_trip)
			collect_once(&run);
	}
	if (collector_thread) {
		ret = pthread_join(thr, NULL);
		if (ret)
			bench_die(&o, "pthread_join: %s", strerror(ret));
	}
	t1 = bench_now_ns();

	if (run.st.writes != o.count || run.st.results != submitted_msgs)
		bench_die(&o, "%" PRIu64 " write results, %" PRIu64
			  " expected", run.st.writes, o.count);
	/* Free the last results; nothing may be left over. */
	{
		struct mb_collect_opts co = {
			.session = sid, .has_ack = 1, .ack = run.st.last_seq,
		};
		struct mb_collect c;

		ret = mb_collect(&sock, &co, &c);
		if (ret || c.nres || c.pending)
			bench_die(&o, "final collect: %u results, %u pending: %s",
				  c.nres, c.pending, mb_strerr(&sock));
		mb_collect_free(&c);
	}
	if (!mb_session_get(&sock, sid, &si) && si.has_stats && !o.quiet)
		fprintf(stderr, "mbatch: session stats: submitted %" PRIu64
			" completed %" PRIu64 " failed %" PRIu64
			" reordered %" PRIu64 " merged %" PRIu64
			" checkpoints %" PRIu64 "\n",
			si.stats.v[MBATCH_STATS_A_SUBMITTED],
			si.stats.v[MBATCH_STATS_A_COMPLETED],
			si.stats.v[MBATCH_STATS_A_FAILED],
			si.stats.v[MBATCH_STATS_A_REORDERED],
			si.stats.v[MBATCH_STATS_A_MERGED],
			si.stats.v[MBATCH_STATS_A_CHECKPOINTS]);

	if (!o.quiet)
		fprintf(stderr, "mbatch: %" PRIu64 " submits, %.1f us each; %"
			PRIu64 " collects%s, %.1f us each, %.1f results each\n",
			round_trip ? rt_batch : nbatches,
			submit_ns / 1e3 / (round_trip ? rt_batch : nbatches),
			run.ncollect,
			collector_thread ? " (own thread)" : "",
			run.collect_ns / 1e3 / run.ncollect,
			(double)run.st.results / run.ncollect);
	if (journal) {
		struct mb_queue_info qi;
		uint64_t last = 0;
		int same = 0, i;

		/*
		 * The session's CLOSE is the log's last write: close it and
		 * wait until the count stays put.
		 */
		if (sid)
			mb_session_close(&sock, sid);
		sid = 0;
		for (i = 0; i < 200 && same < 5; i++) {
			if (mb_queue_get(&sock, qname, &qi))
				bench_die(&o, "queue show %s: %s", qname,
					  mb_strerr(&sock));
			same = qi.log_writes == last ? same + 1 : 0;
			last = qi.log_writes;
			usleep(10000);
		}
		/*
		 * The log's writes in the timed run, and every journal block
		 * written since the queue was made: each log write and each
		 * superblock write (one per generation) is a 4 KiB block; and
		 * the two copies zeroed before and after (journal_unmake()).
		 */
		printf("JOURNAL writes=%" PRIu64 " sectors=%" PRIu64 "\n",
		       qi.log_writes - j_writes0,
		       (qi.log_writes + qi.journal_gen - j_gen0 + j_sb0 + 4) *
		       8);
	}
	bench_result(&o, journal ? "mbatch-journal" :
		     write_op != MBATCH_OP_WRITE ? "mbatch-nodata" :
		     collector_thread ? "mbatch-2thr" :
		     !proxied ? "mbatch-inline" :
		     peer_name ? (round_trip ? "mbatch-remote-rt" :
				  "mbatch-remote") :
		     round_trip ? "mbatch-rt" : "mbatch",
		     run.st.writes, run.st.cps, t1 - t0);
	bench_lat_print(&o, &lat_write, "write");
	bench_lat_print(&o, &lat_dev, "device");
	bench_lat_print(&o, &lat_seen, "seen");
	if (collector_thread)
		mb_close(&csock);
	free(cmds);
	free(sub_ns);
	free(bufs);
	free(req_buf);
	cleanup();
	if (journal)
		journal_unmake(&o);
	return 0;
}
