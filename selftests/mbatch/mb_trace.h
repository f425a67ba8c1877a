/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Order at the device: block-layer events recorded with tracefs
 * (block:block_rq_issue, block:block_rq_complete, trace_clock "mono", so
 * that their times compare with the CLOCK_MONOTONIC times of mbatch's
 * results) and a check of what every checkpoint did at the device:
 *
 *   - every write of epoch e was issued after checkpoint e-1's result
 *     and completed before checkpoint e's; the device wrote exactly the
 *     sectors of epoch e's writes, once each;
 *   - a DURABLE checkpoint's flush (a request whose rwbs starts with F:
 *     REQ_PREFLUSH or REQ_OP_FLUSH) was issued after all of its epoch's
 *     writes had completed, and completed before the checkpoint's result;
 *     exactly one flush per DURABLE checkpoint, none for a plain one.
 *
 * Header-only, without netlink: the host unit tests feed the checker
 * synthetic event lists.
 *
 * The text trace prints times in microseconds, rounded (ns2usecs adds
 * 500 ns). Result times are rounded the same way before they are compared;
 * rounding keeps order (a <= b gives round(a) <= round(b)), so a check never
 * fails for rounding, but two events in the same microsecond compare equal.
 */
#ifndef MB_TRACE_H
#define MB_TRACE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MB_TRACING	"/sys/kernel/tracing"

struct mb_tev {
	uint64_t us;			/* trace time, mono clock, us */
	int issue;			/* block_rq_issue, else _complete */
	int flush;			/* rwbs starts with 'F' */
	int write;			/* a data write ('W', not a flush) */
	uint64_t sector;
	uint32_t nr;			/* sectors */
};

/* One expected epoch: its checkpoint's result and where its writes went. */
struct mb_dev_epoch {
	uint64_t cp_done_ns;		/* the checkpoint's done_ns */
	int durable;			/* MBATCH_MSG_F_DURABLE */
	uint64_t lo, hi;		/* its writes are in sectors [lo, hi) */
	uint64_t sectors;		/* ... and write this many sectors */
};

static inline uint64_t mb_ns2us(uint64_t ns)
{
	return (ns + 500) / 1000;
}

/*
 * Parse one line of /sys/kernel/tracing/trace. 1 and *ev filled for a
 * block_rq_issue or block_rq_complete of device major:minor, else 0.
 *   ... 1234.567890: block_rq_issue: 251,0 W 4096 () 2048 + 8 [comm]
 *   ... 1234.567950: block_rq_complete: 251,0 W () 2048 + 8 [0]
 * (6.10 and later add ioprio fields after the sector count.)
 */
static inline int mb_trace_parse(const char *line, unsigned int maj,
				 unsigned int min, struct mb_tev *ev)
{
	static const char iss[] = ": block_rq_issue: ";
	static const char cpl[] = ": block_rq_complete: ";
	const char *p = strstr(line, iss), *q, *t;
	unsigned long long secs, usecs, sector;
	unsigned int ma, mi, nr;
	char rwbs[16];
	int issue = 1;

	if (!p) {
		p = strstr(line, cpl);
		issue = 0;
	}
	if (!p)
		return 0;
	/* the time is the word before the event name */
	for (t = p; t > line && t[-1] != ' '; t--)
		;
	if (sscanf(t, "%llu.%6llu:", &secs, &usecs) != 2)
		return 0;
	q = p + (issue ? sizeof(iss) : sizeof(cpl)) - 1;
	if (sscanf(q, "%u,%u %15s", &ma, &mi, rwbs) != 3 || ma != maj ||
	    mi != min)
		return 0;
	q = strchr(q, '(');
	q = q ? strchr(q, ')') : NULL;
	if (!q || sscanf(q + 1, " %llu + %u", &sector, &nr) != 2)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->us = secs * 1000000 + usecs;
	ev->issue = issue;
	ev->flush = rwbs[0] == 'F';
	ev->write = !ev->flush && strchr(rwbs, 'W') && nr;
	ev->sector = sector;
	ev->nr = nr;
	return 1;
}

/* The epoch whose writes are at @sector, or -1. */
static inline int mb_dev_epoch_of(const struct mb_dev_epoch *ep, uint32_t nep,
				  uint64_t sector)
{
	uint32_t e;

	for (e = 0; e < nep; e++)
		if (sector >= ep[e].lo && sector < ep[e].hi)
			return (int)e;
	return -1;
}

/*
 * Check events @ev (in trace order) against the epochs @ep of one session,
 * the first of which opened at @t0_ns (its commands start after it).
 * Returns NULL or the first violation.
 */
static inline const char *mb_check_device_order(const struct mb_tev *ev,
						uint32_t nev,
						const struct mb_dev_epoch *ep,
						uint32_t nep, uint64_t t0_ns)
{
	static __thread char why[400];
	uint64_t *wsect = calloc(nep + 1, sizeof(*wsect));
	uint64_t *csect = calloc(nep + 1, sizeof(*csect));
	uint32_t *nflush = calloc(nep + 1, sizeof(*nflush));
	uint32_t i, j;
	uint64_t e;

	if (!wsect || !csect || !nflush)
		abort();
	why[0] = 0;
	for (i = 0; i < nev && !why[0]; i++) {
		const struct mb_tev *x = &ev[i];
		uint64_t open_us, close_us;
		int k;

		if (x->write) {
			k = mb_dev_epoch_of(ep, nep, x->sector);
			if (k < 0) {
				snprintf(why, sizeof(why),
					 "a write at sector %llu + %u is in no epoch's region",
					 (unsigned long long)x->sector, x->nr);
				break;
			}
			if (x->sector + x->nr > ep[k].hi) {
				snprintf(why, sizeof(why),
					 "a write at sector %llu + %u crosses the end of epoch %d's region",
					 (unsigned long long)x->sector, x->nr,
					 k);
				break;
			}
			open_us = mb_ns2us(k ? ep[k - 1].cp_done_ns : t0_ns);
			close_us = mb_ns2us(ep[k].cp_done_ns);
			if (x->issue) {
				wsect[k] += x->nr;
				if (x->us < open_us)
					snprintf(why, sizeof(why),
						 "a write of epoch %d (sector %llu) was issued at %llu us, before checkpoint %d's result at %llu us",
						 k, (unsigned long long)x->sector,
						 (unsigned long long)x->us, k - 1,
						 (unsigned long long)open_us);
			} else {
				csect[k] += x->nr;
				if (x->us > close_us)
					snprintf(why, sizeof(why),
						 "a write of epoch %d (sector %llu) completed at %llu us, after its checkpoint's result at %llu us",
						 k, (unsigned long long)x->sector,
						 (unsigned long long)x->us,
						 (unsigned long long)close_us);
			}
			continue;
		}
		if (!x->flush || !x->issue)
			continue;
		/* a flush belongs to the epoch whose window it was issued in */
		for (e = 0; e < nep; e++)
			if (x->us < mb_ns2us(ep[e].cp_done_ns))
				break;
		if (e == nep) {
			snprintf(why, sizeof(why),
				 "a flush was issued at %llu us, after the last checkpoint's result",
				 (unsigned long long)x->us);
			break;
		}
		if (x->us < mb_ns2us(e ? ep[e - 1].cp_done_ns : t0_ns)) {
			snprintf(why, sizeof(why),
				 "a flush was issued at %llu us, before the session's first epoch opened",
				 (unsigned long long)x->us);
			break;
		}
		nflush[e]++;
		if (!ep[e].durable) {
			snprintf(why, sizeof(why),
				 "epoch %llu's checkpoint is not durable, but a flush was issued at %llu us before its result",
				 (unsigned long long)e, (unsigned long long)x->us);
			break;
		}
		if (nflush[e] > 1) {
			snprintf(why, sizeof(why),
				 "durable checkpoint %llu: a second flush at %llu us",
				 (unsigned long long)e, (unsigned long long)x->us);
			break;
		}
		/*
		 * every write of its epoch completed before the flush went
		 * out: earlier in the trace, which is in time order (ns)
		 */
		for (j = 0; j < nev; j++) {
			const struct mb_tev *w = &ev[j];

			if (!w->write || w->issue ||
			    mb_dev_epoch_of(ep, nep, w->sector) != (int)e)
				continue;
			if (w->us > x->us || j > i) {
				snprintf(why, sizeof(why),
					 "durable checkpoint %llu: its flush was issued at %llu us, before a write of its epoch (sector %llu) completed at %llu us",
					 (unsigned long long)e,
					 (unsigned long long)x->us,
					 (unsigned long long)w->sector,
					 (unsigned long long)w->us);
				break;
			}
		}
		if (why[0])
			break;
		/* its completion: the next flush completion after it */
		for (j = i + 1; j < nev; j++)
			if (ev[j].flush && !ev[j].issue)
				break;
		if (j == nev) {
			snprintf(why, sizeof(why),
				 "durable checkpoint %llu: its flush (issued at %llu us) never completed",
				 (unsigned long long)e, (unsigned long long)x->us);
			break;
		}
		if (ev[j].us > mb_ns2us(ep[e].cp_done_ns))
			snprintf(why, sizeof(why),
				 "durable checkpoint %llu completed at %llu us, before its flush completed at %llu us",
				 (unsigned long long)e,
				 (unsigned long long)mb_ns2us(ep[e].cp_done_ns),
				 (unsigned long long)ev[j].us);
	}
	for (e = 0; e < nep && !why[0]; e++) {
		if (ep[e].durable && !nflush[e])
			snprintf(why, sizeof(why),
				 "durable checkpoint %llu: no flush reached the device before its result",
				 (unsigned long long)e);
		else if (wsect[e] != ep[e].sectors || csect[e] != ep[e].sectors)
			snprintf(why, sizeof(why),
				 "epoch %llu: the device was sent %llu and completed %llu sectors of writes, its commands write %llu",
				 (unsigned long long)e,
				 (unsigned long long)wsect[e],
				 (unsigned long long)csect[e],
				 (unsigned long long)ep[e].sectors);
	}
	free(wsect);
	free(csect);
	free(nflush);
	return why[0] ? why : NULL;
}

#endif /* MB_TRACE_H */
