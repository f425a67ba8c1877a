/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: what a queue's journal held of its last use's sessions when the
 * queue was added again (jreplay.c): each session the log left open, with
 * the commands it logged as started and, of those, the ones it logged as
 * done. Read while the log is scanned; taken by whoever restores the
 * sessions (participant.c).
 */
#ifndef _MBATCH_JREPLAY_H
#define _MBATCH_JREPLAY_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/mbatch.h>

struct mbatch_journal;

/* Commands kept, over all sessions; past it a session is not restored. */
#define MBATCH_JREPLAY_CMDS_MAX		BIT(18)
#define MBATCH_JREPLAY_SESSIONS_MAX	MBATCH_QUEUE_SESSIONS_MAX

struct mbatch_jrsess {
	struct list_head node;
	u32 id;				/* in the last use */
	u16 kind;			/* MBATCH_JSESSION_* */
	u32 isid;
	u64 cookie;
	char peer[MBATCH_PEER_NAME_MAX];
	struct xarray cmds;		/* seq -> what the log says (below) */
	u32 nr;
	const char *lost;		/* why it cannot be restored, or NULL */
};

struct mbatch_jreplay {
	struct list_head sessions;	/* in the order of their OPEN */
	struct xarray ids;		/* id -> session */
	u32 nr_sessions;
	u32 nr_cmds;
};

/* What the log says of a command. */
#define MBATCH_JRC_DONE		BIT(0)	/* its completion is logged */
#define MBATCH_JRC_CP		BIT(1)	/* a checkpoint */

static inline u32 mbatch_jrc_flags(const void *entry)
{
	return xa_to_value(entry) & 3;
}

void mbatch_jreplay_init(struct mbatch_journal *j);
int mbatch_jreplay_rec(struct mbatch_journal *j, const u8 *rec, u16 len);
void mbatch_jreplay_take(struct mbatch_journal *j, struct list_head *list);
void mbatch_jrsess_free(struct mbatch_jrsess *rs);
void mbatch_jreplay_free(struct mbatch_journal *j);

#endif /* _MBATCH_JREPLAY_H */
