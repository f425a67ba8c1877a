/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: what a queue logs of its sessions in its journal (jrec.c). Other
 * contexts add entries to a bounded ring; the queue's dispatch work, the
 * only writer, turns them into records and writes them with the START
 * records of each dispatch group, before the group goes to the device.
 */
#ifndef _MBATCH_JREC_H
#define _MBATCH_JREC_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/mbatch.h>

struct mbatch_journal;

/* A command that changes the device, started or done. */
struct mbatch_jkey {
	u64 seq;
	u32 session;
	s32 status;
};

/* Who a participant session's initiator is (OPEN); zero for the others. */
struct mbatch_jident {
	u32 isid;
	u64 cookie;
	char peer[MBATCH_PEER_NAME_MAX];
};

struct mbatch_jent {
	u64 seq;
	u64 epoch;
	u32 session;
	s32 status;
	u16 type;			/* MBATCH_JREC_* */
	u16 kind;
	u32 flags;
	struct mbatch_jident id;	/* OPEN */
};

struct mbatch_jrecs {
	spinlock_t lock;		/* below; irqs off, taken last */
	struct mbatch_jent *ring;
	u32 cap;
	u32 first;
	u32 nr;
	u32 promised;			/* slots of DONE and CLOSE entries to come */
	u32 started;			/* logged commands not done */

	/* The writer's own. */
	struct mbatch_jent *drain;	/* cap */
	struct mbatch_jkey *dkeys;	/* cap */
	struct mbatch_jkey *skeys;	/* max_starts: a dispatch group's */
	u32 max_starts;
	u8 *rec;			/* MBATCH_JOURNAL_REC_MAX */
};

int mbatch_jrec_init(struct mbatch_journal *j, u32 depth);
void mbatch_jrec_free(struct mbatch_journal *j);

bool mbatch_jrec_room(struct mbatch_journal *j, u32 n);
bool mbatch_jrec_pending(struct mbatch_journal *j, bool idle);
void mbatch_jrec_open(struct mbatch_journal *j, u32 session, u16 kind,
		      const struct mbatch_jident *id);
void mbatch_jrec_close(struct mbatch_journal *j, u32 session);
void mbatch_jrec_checkpoint(struct mbatch_journal *j, u32 session, u64 seq,
			    u64 epoch, int status, u32 flags);
void mbatch_jrec_done(struct mbatch_journal *j, u32 session, u64 seq,
		      int status);
int mbatch_jrec_commit(struct mbatch_journal *j, u32 nr_starts);
int mbatch_jrec_restore(struct mbatch_journal *j, u32 session, u16 kind,
			const struct mbatch_jident *id, const u64 *seqs,
			const u8 *done, u32 n);

#endif /* _MBATCH_JREC_H */
