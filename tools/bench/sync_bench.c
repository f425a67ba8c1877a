// SPDX-License-Identifier: GPL-2.0
/*
 * sync_bench: the random writes of the benchmark (4 KiB, or -S), one
 * synchronous O_DIRECT pwrite() at a time. Every write has completed before the next one
 * starts, so each write is its own checkpoint: the ordering the other
 * clients buy with a checkpoint every -e writes comes for free here, at the
 * price of one device round trip per write. The latency of each write is
 * the time its pwrite() took (CLOCK_MONOTONIC before and after the call).
 */
#include "bench.h"

static void no_extra(struct bench_opts *o, int c, const char *arg)
{
	(void)c;
	(void)arg;
	bench_usage(o, 0);
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.prog = "sync_bench", .count = 10000, .epoch = 64, .depth = 1,
		.seed = BENCH_SEED,
	};
	static struct bench_lat lat;
	struct bench_rng rng;
	uint64_t i, t0, t1, ts, te;
	void *buf;
	int fd;

	bench_parse(&o, argc, argv, "", no_extra);
	fd = open(o.dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		bench_die(&o, "open %s: %s", o.dev, strerror(errno));
	bench_size(&o, fd);
	if (posix_memalign(&buf, BENCH_BS, o.bs))
		bench_die(&o, "out of memory");
	bench_rng_init(&rng, o.seed);

	t0 = bench_now_ns();
	for (i = 0; i < o.count; i++) {
		uint64_t off = bench_offset(&o, &rng);
		ssize_t n;

		bench_fill(&o, buf, i);
		ts = bench_now_ns();
		n = pwrite(fd, buf, o.bs, (off_t)off);
		te = bench_now_ns();
		if (n != (ssize_t)o.bs)
			bench_die(&o, "write %" PRIu64 " at %" PRIu64 ": %s", i,
				  off, n < 0 ? strerror(errno) : "short write");
		bench_lat_add(&lat, ts, te);
	}
	t1 = bench_now_ns();

	bench_result(&o, "sync", o.count, o.count / o.epoch, t1 - t0);
	bench_lat_print(&o, &lat, "write");
	free(buf);
	close(fd);
	return 0;
}
