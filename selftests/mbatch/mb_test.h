/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mbatch C selftests: a null_blk device plus a queue
 * bound to it, data patterns, O_DIRECT access to the device and checks on
 * collected results. Header-only (static functions) so that every test
 * builds from <test>.c + mbatch_nl.c.
 */
#ifndef MB_TEST_H
#define MB_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "mbatch_nl.h"

/* Default device: memory backed, timer completions (so commands overlap
 * and finish out of order), write-back cache so that flushes reach it.
 */
#define MB_NULLB_DEFAULT \
	"size=64 memory_backed=1 irqmode=2 completion_nsec=50000 cache_size=16 discard=1"

/*
 * nla_len is 16 bits: one WRITE message carries at most 65487 data bytes
 * and one result at most 65407 READ bytes, below MBATCH_MAX_IO_LEN. Tests
 * that are not about that limit use the largest aligned size that fits.
 */
#define MB_NL_MAX_READ	65407U
static inline uint32_t mb_max_io(uint32_t bs)
{
	uint32_t m = MBATCH_MAX_IO_LEN < MB_NL_MAX_READ ? MBATCH_MAX_IO_LEN :
		     MB_NL_MAX_READ;

	return m / bs * bs;
}

struct mb_env {
	struct mb_sock s;
	char nullb[64];
	char dev[128];
	char queue[MBATCH_QUEUE_NAME_MAX];
	uint32_t bs;
	uint64_t capacity;
	int have_nullb;
	int have_queue;
};

/* A check in a child process: printed and counted in the caller's fails. */
#define CHK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "#   child: " __VA_ARGS__);		\
		fprintf(stderr, "\n");					\
		fails++;						\
	}								\
} while (0)

static inline uint64_t mb_rng_next(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*st = x;
	return x;
}

static inline uint64_t mb_seed(void)
{
	const char *e = getenv("MBATCH_SEED");
	uint64_t s = e ? strtoull(e, NULL, 0) : mb_now_ns() ^ (uint64_t)getpid();

	return s ? s : 1;
}

/* Deterministic content of byte range [off, off+len) written with seed. */
static inline void mb_pattern(void *buf, uint32_t len, uint64_t seed,
			      uint64_t off)
{
	unsigned char *p = buf;
	uint32_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = (seed * 0x9e3779b97f4a7c15ULL) ^
			     ((off + i) / 8 * 0xbf58476d1ce4e5b9ULL);

		x ^= x >> 31;
		p[i] = (unsigned char)(x >> (8 * ((off + i) % 8)));
	}
}

static inline int mb_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* O_DIRECT read of the block device; 0 or -errno. */
static inline int mb_pread_direct(const char *dev, uint64_t off, void *buf,
				  size_t len)
{
	void *al;
	ssize_t n;
	int fd, ret = 0;

	if (posix_memalign(&al, 4096, len ? len : 4096))
		return -ENOMEM;
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		free(al);
		return -errno;
	}
	n = pread(fd, al, len, (off_t)off);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	else
		memcpy(buf, al, len);
	close(fd);
	free(al);
	return ret;
}

static inline int mb_pwrite_direct(const char *dev, uint64_t off,
				   const void *buf, size_t len)
{
	void *al;
	ssize_t n;
	int fd, ret = 0;

	if (posix_memalign(&al, 4096, len ? len : 4096))
		return -ENOMEM;
	memcpy(al, buf, len);
	fd = open(dev, O_WRONLY | O_DIRECT);
	if (fd < 0) {
		free(al);
		return -errno;
	}
	n = pwrite(fd, al, len, (off_t)off);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	free(al);
	return ret;
}

/* True when nobody holds the block device exclusively. */
static inline int mb_dev_free(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_EXCL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static inline int mb_wait_dev_free(const char *dev, int ms)
{
	int i;

	for (i = 0; i < ms / 20; i++) {
		if (mb_dev_free(dev))
			return 1;
		usleep(20000);
	}
	return mb_dev_free(dev);
}

static inline int mb_nullb_badblocks(const char *name, const char *spec)
{
	char p[256];
	FILE *f;
	int ret;

	snprintf(p, sizeof(p), "/sys/kernel/config/nullb/%s/badblocks", name);
	f = fopen(p, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%s\n", spec) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* Create the null_blk device and a queue on it. Returns NULL or a static
 * error description.
 */
static inline const char *mb_env_setup(struct mb_env *e, const char *nopts,
				       uint32_t depth, uint32_t max_cmds,
				       uint64_t max_bytes)
{
	static char why[900];
	struct mb_queue_info qi;
	struct mb_queue_cfg c;
	int ret;

	memset(e, 0, sizeof(*e));
	e->s.fd = -1;
	ret = mb_open(&e->s);
	if (ret) {
		snprintf(why, sizeof(why), "mbatch family not found: %s",
			 strerror(-ret));
		return why;
	}
	ret = mb_nullb_create(nopts ? nopts : MB_NULLB_DEFAULT, e->nullb,
			      sizeof(e->nullb), e->dev, sizeof(e->dev));
	if (ret)
		return "cannot create null_blk device (configfs)";
	e->have_nullb = 1;
	mb_unique(e->queue, sizeof(e->queue), "q");
	c = (struct mb_queue_cfg){ .name = e->queue, .dev = e->dev,
		.depth = depth, .max_cmds = max_cmds, .max_bytes = max_bytes };
	ret = mb_queue_new(&e->s, &c);
	if (ret) {
		snprintf(why, sizeof(why), "QUEUE_NEW %s on %s: %s", e->queue,
			 e->dev, mb_strerr(&e->s));
		return why;
	}
	e->have_queue = 1;
	ret = mb_queue_get(&e->s, e->queue, &qi);
	if (ret) {
		snprintf(why, sizeof(why), "QUEUE_GET: %s", mb_strerr(&e->s));
		return why;
	}
	e->bs = qi.block_size;
	e->capacity = qi.capacity;
	if (!e->bs || !e->capacity)
		return "QUEUE_GET reply lacks block size or capacity";
	return NULL;
}

/* Tear down and prove everything is gone. Returns NULL or an error. */
static inline const char *mb_env_teardown(struct mb_env *e)
{
	static char why[900];
	const char *res = NULL;
	int ret;

	if (e->have_queue && e->s.fd >= 0) {
		ret = mb_queue_del(&e->s, e->queue);
		if (ret && ret != -ENOENT) {
			snprintf(why, sizeof(why), "QUEUE_DEL: %s",
				 mb_strerr(&e->s));
			res = why;
		}
		if (!res && mb_queue_exists(&e->s, e->queue) != 0) {
			snprintf(why, sizeof(why), "queue %s still in dump",
				 e->queue);
			res = why;
		}
	}
	e->have_queue = 0;
	if (e->have_nullb) {
		if (!mb_wait_dev_free(e->dev, 5000) && !res)
			res = "device still held by mbatch 5 s after QUEUE_DEL";
		if (mb_nullb_remove(e->nullb) && !res)
			res = "null_blk device could not be removed";
		e->have_nullb = 0;
	}
	if (e->s.fd >= 0)
		mb_close(&e->s);
	return res;
}

/* Find a result by tag; NULL if absent. Linear, fine for test sizes. */
static inline const struct mb_result *mb_find_tag(const struct mb_result *r,
						  uint32_t n, uint64_t tag)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (r[i].tag == tag)
			return &r[i];
	return NULL;
}

/*
 * The barrier property over the results of one session, from the module's
 * own timestamps. A result "reached the device" when its start_ns is not 0
 * (commands that were cancelled or never sent have none); a checkpoint ran
 * when its outcome is DONE (or, with no outcome, when it has a start).
 *  1. every checkpoint that ran completes no earlier than every command of
 *     its own epoch that reached the device (it waited for all of them, not
 *     for the first to complete);
 *  2. for every epoch e, the latest completion of e (its commands and its
 *     checkpoint) is not after the earliest start of any later epoch (its
 *     commands and its checkpoint);
 *  3. an epoch has at most one checkpoint.
 * Returns NULL or a description of the first violation found.
 */
static inline const char *mb_check_barrier(const struct mb_result *r,
					   uint32_t n)
{
	static __thread char why[512];
	uint64_t maxe = 0, *maxdone, *minstart, suffix;
	int64_t *cp;			/* index of the epoch's checkpoint */
	uint32_t i;
	uint64_t e;

	for (i = 0; i < n; i++)
		if (r[i].epoch > maxe)
			maxe = r[i].epoch;
	maxdone = calloc(maxe + 2, sizeof(*maxdone));
	minstart = calloc(maxe + 2, sizeof(*minstart));
	cp = calloc(maxe + 2, sizeof(*cp));
	if (!maxdone || !minstart || !cp)
		abort();
	why[0] = 0;
	for (e = 0; e <= maxe + 1; e++) {
		minstart[e] = UINT64_MAX;
		cp[e] = -1;
	}
	for (i = 0; i < n; i++) {
		const struct mb_result *x = &r[i];

		/* only what reached the device: a cancelled one did not */
		if (x->start_ns && x->done_ns > maxdone[x->epoch])
			maxdone[x->epoch] = x->done_ns;
		if (x->start_ns && x->start_ns < minstart[x->epoch])
			minstart[x->epoch] = x->start_ns;
		if (x->op != MBATCH_OP_CHECKPOINT)
			continue;
		if (cp[x->epoch] >= 0 && !why[0])
			snprintf(why, sizeof(why),
				 "epoch %llu has two checkpoints (tags %llu and %llu)",
				 (unsigned long long)x->epoch,
				 (unsigned long long)r[cp[x->epoch]].tag,
				 (unsigned long long)x->tag);
		if (x->outcome == MBATCH_OUTCOME_DONE ||
		    (!x->outcome && x->start_ns))
			cp[x->epoch] = i;
	}
	/* 1: the checkpoint after all of its own epoch */
	for (i = 0; i < n && !why[0]; i++) {
		const struct mb_result *x = &r[i], *c;

		if (x->op == MBATCH_OP_CHECKPOINT || !x->start_ns ||
		    cp[x->epoch] < 0)
			continue;
		c = &r[cp[x->epoch]];
		if (x->done_ns > c->done_ns)
			snprintf(why, sizeof(why),
				 "checkpoint %llu (tag %llu) completed at %llu, before tag %llu (%s) of its epoch completed at %llu",
				 (unsigned long long)x->epoch,
				 (unsigned long long)c->tag,
				 (unsigned long long)c->done_ns,
				 (unsigned long long)x->tag, mb_op_name(x->op),
				 (unsigned long long)x->done_ns);
	}
	/* 2: nothing of a later epoch starts before an epoch completed */
	suffix = UINT64_MAX;
	for (e = maxe + 1; e-- > 0;) {
		/* suffix = earliest start of any epoch after e */
		if (maxdone[e] > suffix && !why[0])
			snprintf(why, sizeof(why),
				 "epoch %llu completes at %llu after a later epoch started at %llu",
				 (unsigned long long)e,
				 (unsigned long long)maxdone[e],
				 (unsigned long long)suffix);
		if (minstart[e] < suffix)
			suffix = minstart[e];
	}
	free(maxdone);
	free(minstart);
	free(cp);
	return why[0] ? why : NULL;
}

/* Results must be numbered 1.. (or from `first`) without gap. */
static inline const char *mb_check_seq(const struct mb_result *r, uint32_t n,
				       uint64_t first)
{
	static __thread char why[256];
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (r[i].seq != first + i) {
			snprintf(why, sizeof(why),
				 "result %u has seq %llu, expected %llu", i,
				 (unsigned long long)r[i].seq,
				 (unsigned long long)(first + i));
			return why;
		}
	}
	return NULL;
}

/* ---- what reached the device ------------------------------------------ */

/* The command of @c (by tag) a result answers; NULL if none. */
static inline const struct mb_cmd *mb_cmd_of(const struct mb_cmd *c,
					     uint32_t nc,
					     const struct mb_result *x)
{
	uint32_t i;

	for (i = 0; i < nc; i++)
		if (c[i].tag == x->tag)
			return &c[i];
	return NULL;
}

/* The device's sectors-written counter (/sys/block/NAME/stat field 7). */
static inline long long mb_sectors_written(const char *name)
{
	return mb_blk_stat(name, 7);
}

/*
 * What the results say was written to the device, in 512-byte sectors:
 * every WRITE and WRITE_ZEROES whose outcome is DONE counts its whole length
 * (a write the device failed was sent to it all the same: the block layer
 * counts it), CANCELLED and NOT_SENT count nothing. *lo is that; *hi adds
 * the writes whose outcome is UNKNOWN (they may or may not have run). A
 * result without a command in @c counts nothing. The device's counter,
 * compared before and after, must lie in [lo, hi]: a write run twice, or
 * one cancelled or never sent that ran anyway, shows.
 */
static inline void mb_result_sectors(const struct mb_cmd *c, uint32_t nc,
				     const struct mb_result *r, uint32_t nr,
				     long long *lo, long long *hi)
{
	uint32_t i;

	*lo = *hi = 0;
	for (i = 0; i < nr; i++) {
		const struct mb_cmd *x = mb_cmd_of(c, nc, &r[i]);

		if (!x || (x->op != MBATCH_OP_WRITE &&
			   x->op != MBATCH_OP_WRITE_ZEROES))
			continue;
		if (r[i].outcome == MBATCH_OUTCOME_DONE) {
			*lo += x->len / 512;
			*hi += x->len / 512;
		} else if (r[i].outcome == MBATCH_OUTCOME_UNKNOWN) {
			*hi += x->len / 512;
		}
	}
}

/* NULL when @written (the counter's delta) is what the results say ran. */
static inline const char *mb_check_sectors(const struct mb_cmd *c, uint32_t nc,
					   const struct mb_result *r,
					   uint32_t nr, long long written)
{
	static __thread char why[200];
	long long lo, hi;

	mb_result_sectors(c, nc, r, nr, &lo, &hi);
	if (written >= lo && written <= hi)
		return NULL;
	if (lo == hi)
		snprintf(why, sizeof(why),
			 "the device wrote %lld sectors, the results say %lld",
			 written, lo);
	else
		snprintf(why, sizeof(why),
			 "the device wrote %lld sectors, the results say %lld to %lld",
			 written, lo, hi);
	return why;
}

/*
 * Each WRITE of @c wrote its own blocks, which held zeroes before, and its
 * data is unique: a write whose outcome is DONE with status 0 left its data
 * there; one CANCELLED or NOT_SENT left the blocks untouched (zero); one
 * UNKNOWN either; one DONE that failed is not looked at. Every WRITE must
 * have a result. Returns NULL or the first difference.
 */
static inline const char *mb_check_write_effects(const char *dev,
						 const struct mb_cmd *c,
						 uint32_t nc,
						 const struct mb_result *r,
						 uint32_t nr)
{
	static __thread char why[300];
	unsigned char *buf = NULL;
	uint32_t i, j;

	why[0] = 0;
	for (i = 0; i < nc && !why[0]; i++) {
		const struct mb_result *x = NULL;
		int is_data, is_zero;

		if (c[i].op != MBATCH_OP_WRITE)
			continue;
		for (j = 0; j < nr && !x; j++)
			if (r[j].tag == c[i].tag)
				x = &r[j];
		if (!x) {
			snprintf(why, sizeof(why), "write tag %llu has no result",
				 (unsigned long long)c[i].tag);
			break;
		}
		free(buf);
		buf = malloc(c[i].len);
		if (!buf || mb_pread_direct(dev, c[i].offset, buf, c[i].len)) {
			snprintf(why, sizeof(why), "cannot read %s at %llu", dev,
				 (unsigned long long)c[i].offset);
			break;
		}
		is_data = !memcmp(buf, c[i].data, c[i].len);
		is_zero = mb_is_zero(buf, c[i].len);
		if (x->outcome == MBATCH_OUTCOME_DONE && !x->status && !is_data)
			snprintf(why, sizeof(why),
				 "write tag %llu at %llu ran (done) but its data is not on the device",
				 (unsigned long long)c[i].tag,
				 (unsigned long long)c[i].offset);
		else if ((x->outcome == MBATCH_OUTCOME_CANCELLED ||
			  x->outcome == MBATCH_OUTCOME_NOT_SENT) && !is_zero)
			snprintf(why, sizeof(why),
				 "write tag %llu at %llu is %s but its blocks were written%s",
				 (unsigned long long)c[i].tag,
				 (unsigned long long)c[i].offset,
				 mb_outcome_name(x->outcome),
				 is_data ? " with its data" : "");
		else if (x->outcome == MBATCH_OUTCOME_UNKNOWN && !is_zero &&
			 !is_data)
			snprintf(why, sizeof(why),
				 "write tag %llu at %llu (unknown) left neither zeroes nor its data",
				 (unsigned long long)c[i].tag,
				 (unsigned long long)c[i].offset);
	}
	free(buf);
	return why[0] ? why : NULL;
}

/* A knob of the test build (/sys/module/mbatch/parameters/NAME), or -errno. */
static inline int mb_knob_get(const char *name)
{
	char p[128];
	FILE *f;
	int v = -1;

	snprintf(p, sizeof(p), "/sys/module/mbatch/parameters/%s", name);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -EIO;
	fclose(f);
	return v;
}

/*
 * A connected loopback TCP pair without Nagle, 0 or -errno; fds[0] dialled,
 * fds[1] accepted. Non-zero @sndbuf (on fds[0]) and @rcvbuf (on fds[1], set
 * on the listener so the window is small from the start) make sends block
 * early.
 */
static inline int mb_tcp_pair_bufs(int fds[2], int sndbuf, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, c, s, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -errno;
	if (rcvbuf)
		setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen)) {
		close(l);
		return -errno;
	}
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c >= 0 && sndbuf)
		setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
		int err = errno;

		if (c >= 0)
			close(c);
		close(l);
		return -err;
	}
	s = accept(l, NULL, NULL);
	if (s < 0) {
		int err = errno;

		close(c);
		close(l);
		return -err;
	}
	close(l);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fds[0] = c;
	fds[1] = s;
	return 0;
}

static inline int mb_tcp_pair(int fds[2])
{
	return mb_tcp_pair_bufs(fds, 0, 0);
}

/* A fault knob of the test build (/sys/module/mbatch/parameters/fault_*). */
static inline int mb_knob_set(const char *name, unsigned int v)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "/sys/module/mbatch/parameters/%s", name);
	f = fopen(p, "w");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", v);
	return fclose(f) ? -errno : 0;
}

/* Requests in flight on a block device (/sys/block/NAME/inflight), or -1. */
static inline long long mb_blk_inflight(const char *name)
{
	long long rd, wr;
	char p[256];
	FILE *f;
	int ok;

	snprintf(p, sizeof(p), "/sys/block/%s/inflight", name);
	f = fopen(p, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%lld %lld", &rd, &wr) == 2;
	fclose(f);
	return ok ? rd + wr : -1;
}

/*
 * Wait until nothing is in flight on the device for 100 ms running (what a
 * closed session had started has ended); 0, or -1 after @ms.
 */
static inline int mb_blk_wait_idle(const char *name, int ms)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;
	int quiet = 0;

	while (mb_now_ns() < end) {
		quiet = mb_blk_inflight(name) == 0 ? quiet + 1 : 0;
		if (quiet >= 10)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* ---- random workloads ------------------------------------------------ */

struct mb_wl {
	struct mb_cmd *cmds;
	uint64_t *epoch;		/* expected epoch of each command */
	unsigned char *arena;		/* WRITE payloads */
	uint32_t n;
	uint64_t tag_base;		/* tag of cmds[i] = tag_base + i */
};

struct mb_wl_opts {
	uint64_t base, size;		/* byte region used */
	uint32_t bs;
	uint32_t max_blocks;		/* per command */
	uint32_t avg_epoch;		/* mean commands between checkpoints */
	int with_zero_ops;		/* DISCARD / WRITE_ZEROES */
	int with_flags;			/* random DURABLE / CONTINUE */
};

static inline void mb_wl_free(struct mb_wl *w)
{
	free(w->cmds);
	free(w->epoch);
	free(w->arena);
	memset(w, 0, sizeof(*w));
}

static inline void mb_wl_gen(struct mb_wl *w, const struct mb_wl_opts *o,
			     uint32_t n, uint64_t tag_base, uint64_t *rng)
{
	uint64_t arena_sz = 0, prev_end = o->base, epoch = 0, aoff = 0;
	uint32_t i, blocks = o->size / o->bs;

	memset(w, 0, sizeof(*w));
	w->n = n;
	w->tag_base = tag_base;
	w->cmds = calloc(n, sizeof(*w->cmds));
	w->epoch = calloc(n, sizeof(*w->epoch));
	if (!w->cmds || !w->epoch)
		abort();
	for (i = 0; i < n; i++) {
		struct mb_cmd *c = &w->cmds[i];
		uint32_t r = mb_rng_next(rng) % 100;
		uint32_t nb = 1 + mb_rng_next(rng) % o->max_blocks;
		uint64_t blk;

		c->tag = tag_base + i;
		w->epoch[i] = epoch;
		if (mb_rng_next(rng) % o->avg_epoch == 0 || i == n - 1) {
			c->op = MBATCH_OP_CHECKPOINT;
			if (o->with_flags) {
				if (mb_rng_next(rng) % 5 == 0)
					c->flags |= MBATCH_MSG_F_DURABLE;
				if (mb_rng_next(rng) % 5 == 0)
					c->flags |= MBATCH_MSG_F_CONTINUE;
			}
			epoch++;
			continue;
		}
		if (r < 45)
			c->op = MBATCH_OP_WRITE;
		else if (r < 85)
			c->op = MBATCH_OP_READ;
		else if (r < 90 || !o->with_zero_ops)
			c->op = r < 90 ? MBATCH_OP_FLUSH : MBATCH_OP_WRITE;
		else if (r < 95)
			c->op = MBATCH_OP_DISCARD;
		else
			c->op = MBATCH_OP_WRITE_ZEROES;
		if (c->op == MBATCH_OP_FLUSH)
			continue;
		if (nb > blocks)
			nb = blocks;
		/* 40%: contiguous with the previous range, so merges happen */
		if (mb_rng_next(rng) % 100 < 40 &&
		    prev_end + (uint64_t)nb * o->bs <= o->base + o->size)
			blk = (prev_end - o->base) / o->bs;
		else
			blk = mb_rng_next(rng) % (blocks - nb + 1);
		c->offset = o->base + blk * o->bs;
		c->len = nb * o->bs;
		prev_end = c->offset + c->len;
		if (c->op == MBATCH_OP_WRITE)
			arena_sz += c->len;
	}
	w->arena = malloc(arena_sz ? arena_sz : 1);
	if (!w->arena)
		abort();
	for (i = 0; i < n; i++) {
		struct mb_cmd *c = &w->cmds[i];

		if (c->op != MBATCH_OP_WRITE)
			continue;
		mb_pattern(w->arena + aoff, c->len, c->tag, c->offset);
		c->data = w->arena + aoff;
		c->data_len = c->len;
		aoff += c->len;
	}
}

/*
 * What a command is charged against max-bytes: READ and WRITE payloads in
 * whole pages. Counting it until acknowledgement (as mb_wl_run does) is
 * conservative: a WRITE's charge already ends when it completes.
 */
static inline uint64_t mb_cmd_bytes(const struct mb_cmd *c)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t p = pg > 0 ? (uint64_t)pg : 4096;

	return (c->op == MBATCH_OP_READ || c->op == MBATCH_OP_WRITE) ?
	       ((uint64_t)c->len + p - 1) / p * p : 0;
}

/*
 * Submit the workload in random batches of 1..max_batch messages, keeping
 * what the session holds under half of max_cmds/max_bytes by collecting
 * (with acknowledgement) as it goes; then collect everything. Results are
 * returned in collection order. Returns NULL or a description.
 */
static inline const char *mb_wl_run(struct mb_sock *s, uint32_t sid,
				    const struct mb_wl *w, uint32_t max_batch,
				    uint32_t max_cmds, uint64_t max_bytes,
				    uint64_t *rng, struct mb_result **res,
				    uint32_t *nres, uint64_t *first_seq)
{
	static __thread char why[900];
	uint64_t held_bytes = 0, next_seq = 0, last_ack = 0;
	uint32_t i = 0, held = 0, j;
	int have_ack = 0;

	*res = NULL;
	*nres = 0;
	while (i < w->n) {
		uint32_t nb = 1 + mb_rng_next(rng) % max_batch;
		struct mb_submit_reply rep;
		uint64_t bytes = 0;
		int ret;

		if (nb > w->n - i)
			nb = w->n - i;
		for (j = 0; j < nb; j++)
			bytes += mb_cmd_bytes(&w->cmds[i + j]);
		while (held + nb > max_cmds / 2 ||
		       held_bytes + bytes > max_bytes / 2) {
			struct mb_collect_opts o = {
				.session = sid, .has_min = 1, .min = 1,
				.has_timeout = 1, .timeout_ms = 2000,
				.has_ack = have_ack, .ack = last_ack,
			};
			struct mb_collect c;
			struct mb_result *nr;

			if (mb_collect(s, &o, &c)) {
				snprintf(why, sizeof(why), "COLLECT: %s",
					 mb_strerr(s));
				return why;
			}
			nr = realloc(*res, (*nres + c.nres) * sizeof(*nr));
			if (!nr)
				abort();
			*res = nr;
			for (j = 0; j < c.nres; j++) {
				const struct mb_cmd *cc;
				uint64_t idx = c.res[j].tag - w->tag_base;

				(*res)[(*nres)++] = c.res[j];
				if (idx < w->n) {
					cc = &w->cmds[idx];
					held--;
					held_bytes -= mb_cmd_bytes(cc);
				}
			}
			if (c.nres) {
				last_ack = c.res[c.nres - 1].seq;
				have_ack = 1;
			}
			free(c.res);
		}
		ret = mb_submit(s, sid, 0, &w->cmds[i], nb, &rep);
		if (ret) {
			snprintf(why, sizeof(why),
				 "SUBMIT of %u msgs at %u: %s", nb, i,
				 mb_strerr(s));
			return why;
		}
		if (rep.count != nb) {
			snprintf(why, sizeof(why),
				 "SUBMIT reply count %u, sent %u", rep.count, nb);
			return why;
		}
		if (i == 0)
			*first_seq = rep.first_seq;
		else if (rep.first_seq != next_seq) {
			snprintf(why, sizeof(why),
				 "batch first seq %llu, expected %llu",
				 (unsigned long long)rep.first_seq,
				 (unsigned long long)next_seq);
			return why;
		}
		next_seq = rep.first_seq + nb;
		held += nb;
		held_bytes += bytes;
		i += nb;
	}
	/* mb_collect_all acknowledges the last result we hold first */
	if (mb_collect_all(s, sid, w->n - *nres, 30000, res, nres)) {
		snprintf(why, sizeof(why),
			 "collecting %u results (have %u): %s", w->n, *nres,
			 mb_strerr(s));
		return why;
	}
	return NULL;
}

/*
 * Check the results of a successful workload: each command's result exactly
 * once, sequence numbers contiguous, fields consistent with the message,
 * epochs as counted by the initiator, and the barrier property.
 */
static inline const char *mb_wl_verify(const struct mb_wl *w,
				       const struct mb_result *r, uint32_t n,
				       uint64_t first_msg_seq)
{
	static __thread char why[900];
	unsigned char *seen;
	const char *bad;
	uint32_t i;

	if (n != w->n) {
		snprintf(why, sizeof(why), "%u results for %u commands", n,
			 w->n);
		return why;
	}
	bad = mb_check_seq(r, n, r[0].seq);
	if (bad)
		return bad;
	seen = calloc(w->n, 1);
	if (!seen)
		abort();
	why[0] = 0;
	for (i = 0; i < n && !why[0]; i++) {
		uint64_t idx = r[i].tag - w->tag_base;
		const struct mb_cmd *c;
		uint32_t want_bytes;

		if (idx >= w->n) {
			snprintf(why, sizeof(why), "unknown tag %llu",
				 (unsigned long long)r[i].tag);
			break;
		}
		if (seen[idx]++) {
			snprintf(why, sizeof(why), "tag %llu delivered twice",
				 (unsigned long long)r[i].tag);
			break;
		}
		c = &w->cmds[idx];
		want_bytes = (c->op == MBATCH_OP_FLUSH ||
			      c->op == MBATCH_OP_CHECKPOINT) ? 0 : c->len;
		if (r[i].op != c->op || r[i].status != 0 ||
		    r[i].epoch != w->epoch[idx] ||
		    r[i].msg_seq != first_msg_seq + idx ||
		    r[i].bytes != want_bytes || !r[i].done_ns ||
		    (c->op != MBATCH_OP_CHECKPOINT &&
		     (!r[i].start_ns || r[i].start_ns > r[i].done_ns)) ||
		    (c->op == MBATCH_OP_READ && r[i].data_len != c->len)) {
			snprintf(why, sizeof(why),
				 "tag %llu (%s off %llu len %u, epoch %llu, msg seq %llu): got op %u status %d bytes %u epoch %llu msg_seq %llu start %llu done %llu data %u",
				 (unsigned long long)c->tag, mb_op_name(c->op),
				 (unsigned long long)c->offset, c->len,
				 (unsigned long long)w->epoch[idx],
				 (unsigned long long)(first_msg_seq + idx),
				 r[i].op, r[i].status, r[i].bytes,
				 (unsigned long long)r[i].epoch,
				 (unsigned long long)r[i].msg_seq,
				 (unsigned long long)r[i].start_ns,
				 (unsigned long long)r[i].done_ns,
				 r[i].data_len);
		}
	}
	free(seen);
	if (why[0])
		return why;
	return mb_check_barrier(r, n);
}

/* Run a shell command, return its exit status (or -1). */
static inline int mb_system(const char *fmt, const char *arg)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#endif /* MB_TEST_H */
