// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of run's buffer region (run.c as it is, without the module):
 * payload slots are taken in order and given back in any order, and no two
 * slots in use ever overlap or leave the region; an empty region takes any
 * payload that fits it. Output: TAP.
 */
#include <stdarg.h>

#include "run.c"

const char *mb_cmdname = "test";

void mb_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# mbatchctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mb_usage(const char *fmt, ...)
{
	(void)fmt;
	return MB_EXIT_USAGE;
}

int mb_sub_dispatch(const struct mb_cmd *tab, size_t n, const char *group,
		    int argc, char **argv)
{
	(void)tab;
	(void)n;
	(void)group;
	(void)argc;
	(void)argv;
	return MB_EXIT_USAGE;
}

static int n, failed;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
}

static uint64_t rng = 0x6d62617463680002ULL;

static uint32_t draw(uint32_t max)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 33) % max;
}

#define NMSG	20000

/* Every slot in use inside the region, none overlapping another. */
static bool consistent(const struct ring *g)
{
	uint32_t i, j;

	for (i = g->tail; i < g->nq; i++) {
		const struct slot *a = &g->q[i];

		if (a->done)
			continue;
		if (a->off % g->align || a->off + a->len > g->size)
			return false;
		for (j = i + 1; j < g->nq; j++) {
			const struct slot *b = &g->q[j];

			if (!b->done && a->off < b->off + b->len &&
			    b->off < a->off + a->len)
				return false;
		}
	}
	return true;
}

static void workload(uint64_t size, uint32_t maxlen, const char *what)
{
	static struct mb_smsg msgs[NMSG];
	struct ring g = { .size = size, .align = 4096 };
	uint32_t live[64], nlive = 0, i, full = 0, bad = 0;
	uint64_t off, used = 0, peak = 0;
	char desc[160];

	g.q = calloc(NMSG, sizeof(*g.q));
	g.cap = NMSG;
	for (i = 0; i < NMSG; i++) {
		struct mb_smsg *m = &msgs[i];

		memset(m, 0, sizeof(*m));
		m->len = 512 * (1 + draw(maxlen / 512));
		/* no room, or enough in flight: results come back */
		while (nlive == ARRAY_SIZE(live) ||
		       !ring_alloc(&g, m->len, &off)) {
			uint32_t k = draw(nlive);

			if (!nlive) {
				bad++;	/* an empty region refused it */
				break;
			}
			full++;
			used -= ALIGN_UP((uint64_t)msgs[live[k]].len, 4096);
			ring_give(&g, msgs[live[k]].slot);
			live[k] = live[--nlive];
		}
		if (!nlive && bad)
			break;
		ring_take(&g, m, off);
		live[nlive++] = i;
		used += ALIGN_UP((uint64_t)m->len, 4096);
		if (used > peak)
			peak = used;
		if (!(i % 97) && !consistent(&g))
			bad++;
	}
	while (nlive) {
		ring_give(&g, msgs[live[--nlive]].slot);
		if (!consistent(&g))
			bad++;
	}
	snprintf(desc, sizeof(desc), "%s: %u payloads, %u given back for room, peak %llu of %llu bytes in use",
		 what, i, full, (unsigned long long)peak,
		 (unsigned long long)size);
	check(!bad && i == NMSG && consistent(&g), desc);
	check(g.tail == g.nq, "  every slot given back");
	check(ring_alloc(&g, (uint32_t)size, &off) && off == 0,
	      "  then the whole region is free again");
	free(g.q);
}

int main(void)
{
	struct ring g = { .size = 64 << 10, .align = 4096 };
	struct mb_smsg a = { .len = 40 << 10 }, b = { .len = 20 << 10 };
	struct mb_smsg c = { .len = 30 << 10 };
	struct slot q[4];
	uint64_t off;

	g.q = q;
	g.cap = 4;
	check(ring_alloc(&g, a.len, &off) && off == 0, "first slot at 0");
	ring_take(&g, &a, off);
	check(ring_alloc(&g, b.len, &off) && off == 40 << 10,
	      "second slot after it");
	ring_take(&g, &b, off);
	check(!ring_alloc(&g, c.len, &off), "no room for a third");
	ring_give(&g, b.slot);
	check(!ring_alloc(&g, c.len, &off),
	      "a younger slot given back frees nothing while an older one is in use");
	ring_give(&g, a.slot);
	check(ring_alloc(&g, c.len, &off) && off == 0,
	      "all given back: the region starts over");
	ring_take(&g, &c, off);
	check(c.region_off == 0 && c.slot == 3, "the message names its slot");

	workload(64 << 10, 32 << 10, "64 KiB region, payloads up to 32 KiB");
	workload(1 << 20, 1 << 20, "1 MiB region, payloads up to 1 MiB");
	workload(4 << 20, 1 << 20, "4 MiB region, payloads up to 1 MiB");
	workload(64 << 20, 64 << 10, "64 MiB region, payloads up to 64 KiB");

	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
