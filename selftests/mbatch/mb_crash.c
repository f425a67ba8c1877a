// SPDX-License-Identifier: GPL-2.0
/*
 * mb_crash: the initiator's side of the two-node crash test
 * (tools/vm/crash.sh). Not a kselftest of its own: the host kills the
 * participant's VM while this streams, boots it again on the same disk and
 * lets its queue restore the session from its journal; this program, on
 * the initiator's node, carries on and judges the outcome.
 *
 *   mb_crash QUEUE PEER PROGRESS_FILE [EPOCHS]
 *
 * The workload: epoch k writes pattern 7000 + k over the blocks of region
 * k % 2 and reads the blocks of the other region, which epoch k - 1 wrote,
 * then checkpoints; one epoch goes every 100 ms, at most 4 are out at a
 * time, and PROGRESS_FILE gets the number of epochs whose results came. At
 * the end one more epoch reads both regions. Judged: every command has one result; DONE with status 0,
 * or unknown outcome (-ESTALE) only for a write the journal logged as
 * started (flag RESTORED) or for a read or checkpoint of an earlier epoch
 * than a restored one; every DONE read sees the epoch before (or, past a
 * write of unknown outcome, what was there before it), so nothing ran
 * twice or out of epoch order. Prints one line of counts; exits 0 if all
 * holds, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mb_test.h"

#define BLOCKS		16		/* per region */
#define MSGS		(2 * BLOCKS + 1)
#define EPOCHS_MAX	200
#define WINDOW		4		/* epochs submitted, not collected */

static int fails;

#define FAIL(...) do { fprintf(stderr, "mb_crash: " __VA_ARGS__); \
		       fprintf(stderr, "\n"); fails++; } while (0)

static void progress(const char *path, unsigned int k)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%u\n", k);
		fclose(f);
	}
}

/* What a block at @off holds for a read of epoch @k: pattern of epoch j. */
static void expect(unsigned char *want, uint32_t bs, int j, uint64_t off)
{
	if (j < 0)
		memset(want, 0, bs);
	else
		mb_pattern(want, bs, 7000 + j, off);
}

/*
 * Does @got, read in epoch @k from block @b of its region, hold what the
 * last write before it left? Past a write of unknown outcome, what was
 * there before it counts too.
 */
static int read_ok(const unsigned char *got, unsigned char *want, uint32_t bs,
		   const uint32_t *wout, int k, unsigned int b, uint64_t off)
{
	int j;

	for (j = k - 1;; j -= 2) {
		expect(want, bs, j, off);
		if (!memcmp(got, want, bs))
			return 1;
		if (j < 0 || wout[j * 100 + b] != MBATCH_OUTCOME_UNKNOWN)
			return 0;
	}
}

/* Results until there are @want, appended to @all (acknowledging). */
static int collect(struct mb_sock *s, uint32_t sid, uint32_t want,
		   struct mb_result **all, uint32_t *nall)
{
	if (*nall >= want)
		return 1;
	if (mb_collect_all(s, sid, want - *nall, 600000, all, nall) ||
	    *nall < want) {
		fprintf(stderr, "mb_crash: collect: %s (%u of %u results)\n",
			mb_strerr(s), *nall, want);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int epochs = argc > 4 ? atoi(argv[4]) : 40, k, b, i;
	uint32_t restored = 0, unknown = 0, nr = 0, n, bs, sid;
	static uint32_t wout[(EPOCHS_MAX + 1) * 100];
	static unsigned char seen[(EPOCHS_MAX + 1) * 100];
	struct mb_session_info si;
	struct mb_result *r = NULL;
	struct mb_peer_info pi;
	unsigned char *data, *want;
	struct mb_sock s;
	struct mb_cmd *c;
	int ret;

	if (argc < 4 || !epochs || epochs > EPOCHS_MAX) {
		fprintf(stderr, "usage: mb_crash QUEUE PEER PROGRESS_FILE [EPOCHS <= %d]\n",
			EPOCHS_MAX);
		return 2;
	}
	if (mb_open(&s)) {
		fprintf(stderr, "mb_crash: no mbatch family\n");
		return 1;
	}
	ret = mb_session_open_remote(&s, argv[1], argv[2], 0, &sid);
	if (ret) {
		fprintf(stderr, "mb_crash: SESSION_OPEN: %s\n", mb_strerr(&s));
		return 1;
	}
	for (i = 0; i < 600; i++) {
		if (!mb_session_get(&s, sid, &si) &&
		    si.state == MBATCH_SESSION_ACTIVE)
			break;
		usleep(100000);
	}
	if (si.state != MBATCH_SESSION_ACTIVE || !si.max_io) {
		fprintf(stderr, "mb_crash: the session did not become active\n");
		return 1;
	}
	bs = 4096;
	c = calloc((size_t)(epochs + 1) * MSGS, sizeof(*c));
	data = malloc((size_t)epochs * BLOCKS * bs);
	want = malloc(bs);
	if (!c || !data || !want)
		return 1;
	for (k = 0; k <= epochs; k++) {
		struct mb_cmd *e = c + (size_t)k * MSGS;
		uint64_t wbase = (uint64_t)(k % 2) * BLOCKS * bs;
		uint64_t rbase = (uint64_t)((k + 1) % 2) * BLOCKS * bs;

		for (b = 0; b < BLOCKS; b++) {
			unsigned char *d = data + ((size_t)k * BLOCKS + b) * bs;

			/* The last epoch reads both regions. */
			if (k == epochs)
				e[b] = (struct mb_cmd){ .tag = k * 100 + 50 + b + BLOCKS,
					.op = MBATCH_OP_READ,
					.offset = wbase + (uint64_t)b * bs,
					.len = bs };
			else {
				mb_pattern(d, bs, 7000 + k, wbase + (uint64_t)b * bs);
				e[b] = (struct mb_cmd){ .tag = k * 100 + b,
					.op = MBATCH_OP_WRITE,
					.offset = wbase + (uint64_t)b * bs,
					.len = bs, .data = d, .data_len = bs };
			}
			e[BLOCKS + b] = (struct mb_cmd){ .tag = k * 100 + 50 + b,
				.op = MBATCH_OP_READ,
				.offset = rbase + (uint64_t)b * bs, .len = bs };
		}
		e[2 * BLOCKS] = (struct mb_cmd){ .tag = k * 100 + 99,
			.op = MBATCH_OP_CHECKPOINT };
	}
	/* At most WINDOW epochs out: the crash comes mid-stream. */
	n = 0;
	for (k = 0; k <= epochs + WINDOW; k++) {
		if (k >= WINDOW && !collect(&s, sid, (k - WINDOW + 1) * MSGS,
					    &r, &nr))
			return 1;
		progress(argv[3], nr / MSGS);
		if (k > epochs)
			continue;
		ret = mb_submit(&s, sid, 0, c + (size_t)k * MSGS, MSGS, NULL);
		if (ret) {
			fprintf(stderr, "mb_crash: SUBMIT epoch %u: %s\n", k,
				mb_strerr(&s));
			return 1;
		}
		n += MSGS;
		usleep(100000);		/* a stream the host can cut mid-way */
	}
	if (nr != n) {
		fprintf(stderr, "mb_crash: %u of %u results\n", nr, n);
		return 1;
	}
	for (i = 0; i < nr; i++) {
		const struct mb_cmd *x = mb_cmd_of(c, (epochs + 1) * MSGS, &r[i]);

		if (!x || r[i].tag >= sizeof(seen)) {
			FAIL("a result of no command (tag %llu)",
			     (unsigned long long)r[i].tag);
			continue;
		}
		if (seen[r[i].tag]++)
			FAIL("tag %llu: two results", (unsigned long long)r[i].tag);
		if (x->op == MBATCH_OP_WRITE)
			wout[r[i].tag] = r[i].outcome;
		if (r[i].flags & MBATCH_RESULT_F_RESTORED)
			restored++;
		if (r[i].outcome == MBATCH_OUTCOME_UNKNOWN) {
			unknown++;
			if (r[i].status != -ESTALE)
				FAIL("tag %llu: unknown, status %d",
				     (unsigned long long)r[i].tag, r[i].status);
			if (x->op == MBATCH_OP_WRITE &&
			    !(r[i].flags & MBATCH_RESULT_F_RESTORED))
				FAIL("tag %llu: unknown, never logged as started",
				     (unsigned long long)r[i].tag);
		} else if (r[i].outcome != MBATCH_OUTCOME_DONE || r[i].status) {
			FAIL("tag %llu: outcome %u status %d",
			     (unsigned long long)r[i].tag, r[i].outcome,
			     r[i].status);
		}
	}
	for (i = 0; i < nr; i++) {
		const struct mb_cmd *x = mb_cmd_of(c, (epochs + 1) * MSGS, &r[i]);

		if (!x || x->op != MBATCH_OP_READ ||
		    r[i].outcome != MBATCH_OUTCOME_DONE)
			continue;
		k = r[i].tag / 100;
		b = (r[i].tag % 100 - 50) % BLOCKS;
		/* The last epoch's reads of its own region: epoch k - 2's. */
		if (r[i].data_len != bs ||
		    !read_ok(r[i].data, want, bs, wout,
			     r[i].tag % 100 - 50 >= BLOCKS ? (int)k - 1 : (int)k,
			     b, x->offset))
			FAIL("epoch %u: the read at %llu does not see the epoch before",
			     k, (unsigned long long)x->offset);
	}
	if (mb_peer_get(&s, argv[2], &pi))
		memset(&pi, 0, sizeof(pi));
	printf("mb_crash: %u results: %u restored from the journal, %u of unknown outcome, %llu sent again, %llu links; %d failures\n",
	       nr, restored, unknown,
	       (unsigned long long)pi.stats[MBATCH_PEER_STATS_A_RESENT],
	       (unsigned long long)pi.stats[MBATCH_PEER_STATS_A_LINKS], fails);
	mb_session_close(&s, sid);
	mb_results_free(r, nr);
	mb_close(&s);
	return fails ? 1 : 0;
}
