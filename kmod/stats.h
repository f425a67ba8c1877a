/* SPDX-License-Identifier: GPL-2.0 */
/* mbatch: command counters of sessions and queues (MBATCH_A_STATS). */
#ifndef _MBATCH_STATS_H
#define _MBATCH_STATS_H

#include <linux/types.h>

struct mbatch_stats {
	u64 submitted;
	u64 completed;
	u64 failed;
	u64 cancelled;
	u64 reordered;
	u64 merged;
	u64 checkpoints;
	u64 flushes;
	u64 bytes_read;
	u64 bytes_written;
	u64 rejected;
	u64 not_sent;
	u64 unknown;
};

/* What a session holds now, beside its counters. */
struct mbatch_held {
	u64 inflight;
	u64 queued;
	u64 queued_bytes;
};

static inline void mbatch_stats_add(struct mbatch_stats *to,
				    const struct mbatch_stats *from)
{
	u64 *t = (u64 *)to;
	const u64 *f = (const u64 *)from;
	unsigned int i;

	for (i = 0; i < sizeof(*to) / sizeof(u64); i++)
		t[i] += f[i];
}

#endif /* _MBATCH_STATS_H */
