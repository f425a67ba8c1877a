/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the three benchmark clients (mbatch_bench, uring_bench,
 * sync_bench): the command line, the offset sequence, the write payload,
 * the clock, the latency histogram and the lines every client prints.
 *
 * All three write the same sequence of blocks (4 KiB, or -S SIZE) at the
 * same offsets (a fixed-seed xorshift64* over the device's blocks of that
 * size), so that a row of the table differs from another only in how the
 * writes reach the device.
 */
#ifndef MBATCH_BENCH_H
#define MBATCH_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#define BENCH_BS		4096U		/* default write size */
#define BENCH_BS_MAX		(1U << 20)
#define BENCH_SEED		0x6d62617463680001ULL	/* "mbatch" 1 */

struct bench_opts {
	const char *prog;
	const char *dev;	/* block device (or a file, for trying out) */
	uint64_t count;		/* writes */
	uint32_t epoch;		/* writes per checkpoint */
	uint32_t depth;		/* commands in flight / queue depth */
	uint32_t batches;	/* mbatch: batches outstanding */
	uint32_t wait_min;	/* mbatch: collect wait-min (0: one batch) */
	const char *queue;	/* mbatch: queue name */
	int drain_write;	/* io_uring: drain flag on a write, no NOP */
	int no_order;		/* io_uring: no drain at all (reference) */
	uint64_t seed;
	uint32_t bs;		/* write size (-S), a multiple of 4 KiB */
	uint64_t blocks;	/* device size in blocks of bs, from the device */
	int quiet;
};

static inline void __attribute__((noreturn, format(printf, 2, 3)))
bench_die(const struct bench_opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: the offset of write i is the i-th draw modulo the blocks. */
struct bench_rng {
	uint64_t s;
};

static inline void bench_rng_init(struct bench_rng *r, uint64_t seed)
{
	r->s = seed ? seed : BENCH_SEED;
}

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t bench_offset(const struct bench_opts *o,
				    struct bench_rng *r)
{
	return (bench_rng_next(r) % o->blocks) * o->bs;
}

/* Payload of write i: a byte pattern with the write's number in front. */
static inline void bench_fill(const struct bench_opts *o, void *buf,
			      uint64_t i)
{
	memset((char *)buf + sizeof(i), (int)(i & 0xff) ^ 0x5a,
	       o->bs - sizeof(i));
	memcpy(buf, &i, sizeof(i));
}

static inline uint64_t bench_parse_u64(const struct bench_opts *o,
				       const char *name, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		bench_die(o, "bad %s '%s'", name, s);
	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end == 'g' || *end == 'G')
		v <<= 30;
	else
		end--;
	end++;
	if (*end)
		bench_die(o, "bad %s '%s'", name, s);
	return v;
}

static inline void bench_usage(const struct bench_opts *o, int extra)
{
	fprintf(stderr,
		"usage: %s [options] DEVICE\n"
		"  -n COUNT   writes (default %" PRIu64 ")\n"
		"  -S SIZE    bytes per write, a multiple of 4K up to 1M\n"
		"             (default 4K)\n"
		"  -e N       writes per checkpoint (default %u)\n"
		"  -d DEPTH   queue depth (default %u)\n"
		"  -s SEED    offset sequence seed\n"
		"  -q         print only the RESULT line\n",
		o->prog, o->count, o->epoch, o->depth);
	if (extra == 'm')
		fprintf(stderr,
			"  -b N       batches outstanding (default %u)\n"
			"  -w N       collect wait-min (default: one batch)\n"
			"  -Q NAME    queue name (default bench<pid>)\n"
			"  -T         collect in a second thread, on a socket of\n"
			"             its own, while the main thread submits\n"
			"  -Z         WRITE_ZEROES instead of WRITE (no payload)\n"
			"  -I         payloads inline in the messages, not in a\n"
			"             registered region (at most 32 KiB)\n"
			"  -J         the queue has an internal journal (the\n"
			"             capacity before it is written); prints its\n"
			"             log writes and the journal's sectors\n"
			"  -P PEER    a remote session on queue -Q of peer PEER;\n"
			"             DEVICE (the participant's) only gives the size\n"
			"  -1         one command per SUBMIT, each result collected\n"
			"             before the next command is sent\n",
			o->batches);
	if (extra == 'u')
		fprintf(stderr,
			"  -W         drain on the first write of each epoch\n"
			"             instead of a drained NOP as the checkpoint\n"
			"  -N         no drain at all (unordered reference)\n");
	exit(2);
}

/*
 * Parse the common options and the device; extra_opts are the client's own
 * getopt letters, handed back through handle().
 */
static inline void bench_parse(struct bench_opts *o, int argc, char **argv,
			       const char *extra_opts,
			       void (*handle)(struct bench_opts *, int,
					      const char *))
{
	char optstr[64];
	uint64_t v;
	int c;

	snprintf(optstr, sizeof(optstr), "n:e:d:s:S:qh%s", extra_opts);
	if (!o->bs)
		o->bs = BENCH_BS;
	while ((c = getopt(argc, argv, optstr)) != -1) {
		switch (c) {
		case 'n':
			o->count = bench_parse_u64(o, "count", optarg);
			break;
		case 'e':
			o->epoch = bench_parse_u64(o, "epoch", optarg);
			break;
		case 'd':
			o->depth = bench_parse_u64(o, "depth", optarg);
			break;
		case 's':
			o->seed = bench_parse_u64(o, "seed", optarg);
			break;
		case 'S':
			v = bench_parse_u64(o, "size", optarg);
			if (!v || v % BENCH_BS || v > BENCH_BS_MAX)
				bench_die(o, "size %s: a multiple of 4K up to 1M",
					  optarg);
			o->bs = (uint32_t)v;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
		case '?':
			bench_usage(o, extra_opts[0]);
			break;
		default:
			handle(o, c, optarg);
		}
	}
	if (optind != argc - 1)
		bench_usage(o, extra_opts[0]);
	o->dev = argv[optind];
	if (!o->count || !o->epoch || !o->depth)
		bench_die(o, "count, epoch and depth must be > 0");
}

/* Size of the device (or file) in blocks of the write size. */
static inline void bench_size(struct bench_opts *o, int fd)
{
	struct stat st;
	uint64_t bytes = 0;

	if (fstat(fd, &st))
		bench_die(o, "stat %s: %s", o->dev, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			bench_die(o, "BLKGETSIZE64 %s: %s", o->dev,
				  strerror(errno));
	} else {
		bytes = (uint64_t)st.st_size;
	}
	o->blocks = bytes / o->bs;
	if (!o->blocks)
		bench_die(o, "%s is smaller than one block", o->dev);
}

/*
 * Latency histogram, fixed size, shared by the three clients: 1 us buckets
 * below 1024 us, then 32 buckets per power of two (1.6 to 3.1 % wide) up
 * to 2^37 us; anything longer lands in the last bucket. Adding a sample is a
 * division and a few shifts, and nothing is allocated per command. The
 * percentiles are read from the buckets (the upper edge of the bucket that
 * holds the p-th sample, at most the maximum), the maximum and the mean are
 * exact.
 */
#define BENCH_LAT_LIN		1024U	/* 1 us buckets below 1024 us */
#define BENCH_LAT_SUB		5	/* 2^5 buckets per octave above */
#define BENCH_LAT_OCT		27	/* octaves 2^10 .. 2^36 us */
#define BENCH_LAT_NB		(BENCH_LAT_LIN + (BENCH_LAT_OCT << BENCH_LAT_SUB))

struct bench_lat {
	uint64_t n, sum_ns, max_ns;
	uint64_t skew;		/* samples whose time stamps were out of order */
	uint64_t b[BENCH_LAT_NB];
};

static inline unsigned int bench_lat_idx(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int e, i;

	if (us < BENCH_LAT_LIN)
		return (unsigned int)us;
	e = 63 - (unsigned int)__builtin_clzll(us);	/* >= 10 */
	i = BENCH_LAT_LIN + ((e - 10) << BENCH_LAT_SUB) +
	    (unsigned int)((us >> (e - BENCH_LAT_SUB)) &
			   ((1U << BENCH_LAT_SUB) - 1));
	return i < BENCH_LAT_NB ? i : BENCH_LAT_NB - 1;
}

/* Lower edge of bucket i in ns; bench_lat_lo(i + 1) is its upper edge. */
static inline uint64_t bench_lat_lo(unsigned int i)
{
	unsigned int e, sub;

	if (i < BENCH_LAT_LIN)
		return (uint64_t)i * 1000;
	e = 10 + ((i - BENCH_LAT_LIN) >> BENCH_LAT_SUB);
	sub = (i - BENCH_LAT_LIN) & ((1U << BENCH_LAT_SUB) - 1);
	return ((uint64_t)((1U << BENCH_LAT_SUB) + sub) <<
		(e - BENCH_LAT_SUB)) * 1000;
}

/* One sample from two time stamps; an inverted pair counts as skew. */
static inline void bench_lat_add(struct bench_lat *l, uint64_t from,
				 uint64_t to)
{
	uint64_t ns;

	if (to < from) {
		l->skew++;
		ns = 0;
	} else {
		ns = to - from;
	}
	l->n++;
	l->sum_ns += ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
	l->b[bench_lat_idx(ns)]++;
}

/* The p-th percentile (0 < p <= 100), in ns. */
static inline uint64_t bench_lat_pct(const struct bench_lat *l, double p)
{
	uint64_t rank, seen = 0, hi;
	unsigned int i;

	if (!l->n)
		return 0;
	rank = (uint64_t)(p / 100 * (double)l->n + 0.999999);
	if (!rank)
		rank = 1;
	for (i = 0; i < BENCH_LAT_NB; i++) {
		seen += l->b[i];
		if (seen >= rank)
			break;
	}
	hi = i + 1 < BENCH_LAT_NB ? bench_lat_lo(i + 1) : l->max_ns;
	return hi < l->max_ns ? hi : l->max_ns;
}

/*
 * The latency line bench.sh reads beside RESULT: what was timed (kind),
 * the samples, mean, p50, p99 and maximum, the skewed samples, and the
 * non-empty buckets as LOWER_EDGE_NS:COUNT.
 */
static inline void bench_lat_print(const struct bench_opts *o,
				   const struct bench_lat *l, const char *kind)
{
	const char *sep = "";
	unsigned int i;

	if (!o->quiet)
		fprintf(stderr, "%s: latency %s: %" PRIu64 " samples, p50 %.1f us,"
			" p99 %.1f us, max %.1f us%s\n", o->prog, kind, l->n,
			bench_lat_pct(l, 50) / 1e3, bench_lat_pct(l, 99) / 1e3,
			l->max_ns / 1e3, l->skew ? " (SKEWED time stamps)" : "");
	printf("LAT kind=%s n=%" PRIu64 " mean_ns=%" PRIu64 " p50_ns=%" PRIu64
	       " p99_ns=%" PRIu64 " max_ns=%" PRIu64 " skew=%" PRIu64 " hist=",
	       kind, l->n, l->n ? l->sum_ns / l->n : 0, bench_lat_pct(l, 50),
	       bench_lat_pct(l, 99), l->max_ns, l->skew);
	for (i = 0; i < BENCH_LAT_NB; i++) {
		if (!l->b[i])
			continue;
		printf("%s%" PRIu64 ":%" PRIu64, sep, bench_lat_lo(i), l->b[i]);
		sep = ",";
	}
	printf("%s\n", *sep ? "" : "-");
	fflush(stdout);
}

/*
 * The one line bench.sh reads: workload name, writes, checkpoints (ordering
 * points), bytes per write and wall time of the timed section.
 */
static inline void bench_result(const struct bench_opts *o, const char *name,
				uint64_t writes, uint64_t checkpoints,
				uint64_t ns)
{
	double s = (double)ns / 1e9;

	if (!o->quiet)
		fprintf(stderr, "%s: %" PRIu64 " writes, %" PRIu64
			" checkpoints in %.3f s: %.0f writes/s\n", name,
			writes, checkpoints, s, s > 0 ? writes / s : 0.0);
	printf("RESULT workload=%s writes=%" PRIu64 " checkpoints=%" PRIu64
	       " bs=%u ns=%" PRIu64 "\n", name, writes, checkpoints, o->bs, ns);
	fflush(stdout);
}

#endif /* MBATCH_BENCH_H */
