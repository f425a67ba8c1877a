// SPDX-License-Identifier: GPL-2.0
/*
 * uring_bench: the random writes of the benchmark (4 KiB, or -S) through
 * io_uring, O_DIRECT on the raw device, up to -d SQEs in flight, with the
 * checkpoint every -e writes expressed as IOSQE_IO_DRAIN: an SQE with the
 * drain flag starts only after every earlier SQE has completed, and no later
 * SQE starts before it has completed. That is the checkpoint's ordering
 * rule, scoped to the ring rather than to a session.
 *
 * By default the checkpoint is a drained NOP after each epoch's writes (the
 * exact analogue of mbatch's CHECKPOINT message); -W puts the drain flag on
 * the first write of each epoch instead (every -e'th SQE), -N drops the
 * drain altogether (no ordering: a reference, not a peer). File and buffers
 * are registered, so no write pins pages or looks up the file.
 *
 * The latency of a write runs from the io_uring_enter() that submits its
 * SQE (CLOCK_MONOTONIC just before the call) to the return of the call
 * after which its CQE is reaped (CLOCK_MONOTONIC just after it): one time
 * stamp per call, shared by the SQEs and CQEs of that call.
 */
#include <liburing.h>

#include "bench.h"

#define NOP_DATA	UINT64_MAX

static void uring_opt(struct bench_opts *o, int c, const char *arg)
{
	(void)arg;
	switch (c) {
	case 'W':
		o->drain_write = 1;
		break;
	case 'N':
		o->no_order = 1;
		break;
	default:
		bench_usage(o, 'u');
	}
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.prog = "uring_bench", .count = 50000, .epoch = 64,
		.depth = 64, .seed = BENCH_SEED,
	};
	uint64_t wi = 0, writes_done = 0, nops_done = 0, nops_total;
	uint64_t t0, t1, cp_issued = 0, ts;
	static struct bench_lat lat;
	struct io_uring_params p = { 0 };
	struct io_uring ring;
	struct bench_rng rng;
	struct iovec *iov;
	uint32_t *free_slots, nfree, inflight = 0, i, nnew = 0;
	uint32_t *new_slots;
	uint64_t *sub_ns;
	const char *name;
	char *bufs;
	int fd, ret;

	bench_parse(&o, argc, argv, "WN", uring_opt);
	if (o.drain_write && o.no_order)
		bench_die(&o, "-W and -N exclude each other");
	name = o.no_order ? "io_uring-nodrain" :
	       o.drain_write ? "io_uring-drain-write" : "io_uring-drain";
	/* One drained NOP closes every full epoch, like a checkpoint. */
	nops_total = (o.drain_write || o.no_order) ? 0 : o.count / o.epoch;

	fd = open(o.dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		bench_die(&o, "open %s: %s", o.dev, strerror(errno));
	bench_size(&o, fd);
	bench_rng_init(&rng, o.seed);

	ret = io_uring_queue_init_params(o.depth, &ring, &p);
	if (ret)
		bench_die(&o, "io_uring_queue_init(%u): %s", o.depth,
			  strerror(-ret));
	if (!(p.features & IORING_FEAT_NODROP))
		fprintf(stderr, "%s: warning: kernel lacks IORING_FEAT_NODROP\n",
			o.prog);

	if (posix_memalign((void **)&bufs, BENCH_BS, (size_t)o.depth * o.bs))
		bench_die(&o, "out of memory");
	iov = calloc(o.depth, sizeof(*iov));
	free_slots = calloc(o.depth, sizeof(*free_slots));
	new_slots = calloc(o.depth, sizeof(*new_slots));
	sub_ns = calloc(o.depth, sizeof(*sub_ns));
	if (!iov || !free_slots || !new_slots || !sub_ns)
		bench_die(&o, "out of memory");
	for (i = 0; i < o.depth; i++) {
		iov[i].iov_base = bufs + (size_t)i * o.bs;
		iov[i].iov_len = o.bs;
		free_slots[i] = o.depth - 1 - i;
	}
	nfree = o.depth;
	ret = io_uring_register_buffers(&ring, iov, o.depth);
	if (ret)
		bench_die(&o, "io_uring_register_buffers: %s", strerror(-ret));
	ret = io_uring_register_files(&ring, &fd, 1);
	if (ret)
		bench_die(&o, "io_uring_register_files: %s", strerror(-ret));

	t0 = bench_now_ns();
	while (writes_done < o.count || nops_done < nops_total) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		/* Fill the ring up to the depth. */
		while (inflight < o.depth) {
			struct io_uring_sqe *sqe;
			int cp_due = nops_total && wi && wi % o.epoch == 0 &&
				     cp_issued < wi / o.epoch;

			if (!cp_due && (wi >= o.count || !nfree))
				break;
			sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				break;
			if (cp_due) {
				io_uring_prep_nop(sqe);
				io_uring_sqe_set_data64(sqe, NOP_DATA);
				io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
				cp_issued++;
			} else {
				uint32_t slot = free_slots[--nfree];
				uint64_t off = bench_offset(&o, &rng);
				unsigned int fl = IOSQE_FIXED_FILE;

				bench_fill(&o, iov[slot].iov_base, wi);
				io_uring_prep_write_fixed(sqe, 0,
							  iov[slot].iov_base,
							  o.bs, off, slot);
				if (o.drain_write && wi && wi % o.epoch == 0)
					fl |= IOSQE_IO_DRAIN;
				io_uring_sqe_set_flags(sqe, fl);
				io_uring_sqe_set_data64(sqe, slot);
				new_slots[nnew++] = slot;
				wi++;
			}
			inflight++;
		}

		ts = bench_now_ns();
		while (nnew)
			sub_ns[new_slots[--nnew]] = ts;
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			bench_die(&o, "io_uring_submit_and_wait: %s",
				  strerror(-ret));
		ts = bench_now_ns();

		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t d = io_uring_cqe_get_data64(cqe);

			if (d == NOP_DATA) {
				if (cqe->res != 0)
					bench_die(&o, "drained NOP: %s",
						  strerror(-cqe->res));
				nops_done++;
			} else {
				if (cqe->res != (int)o.bs)
					bench_die(&o, "write failed: %s",
						  cqe->res < 0 ?
						  strerror(-cqe->res) :
						  "short write");
				bench_lat_add(&lat, sub_ns[d], ts);
				free_slots[nfree++] = (uint32_t)d;
				writes_done++;
			}
			inflight--;
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	t1 = bench_now_ns();

	/* Ordering points: drained NOPs, or drained writes with -W. */
	bench_result(&o, name, writes_done,
		     o.drain_write ? (o.count - 1) / o.epoch : nops_done,
		     t1 - t0);
	bench_lat_print(&o, &lat, "write");
	io_uring_queue_exit(&ring);
	free(sub_ns);
	free(new_slots);
	free(free_slots);
	free(iov);
	free(bufs);
	close(fd);
	return 0;
}
