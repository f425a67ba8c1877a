// SPDX-License-Identifier: GPL-2.0
/*
 * What a queue logs of its sessions: a session's first command that changes
 * the device opens it in the log (OPEN) and its end closes it (CLOSE);
 * before a dispatch group goes to the device, one START record names the
 * group's commands that change it, as runs of sequence numbers, and is
 * durable (FUA) before any of them is sent; their completions (DONE, with
 * their status) and the session's completed checkpoints (CHECKPOINT) are
 * batched and ride with the next group's write, or are written once no
 * logged command is at the device.
 *
 * Memory is bounded: the ring holds at most a slot for each command at the
 * device (promised when its START is written), one for the CLOSE of each
 * session with an OPEN (promised then; a killed session's is added when
 * its last logged io completes, so it follows the session's every record)
 * and the few the dispatch work adds itself, which it makes room for by
 * writing first. So an entry added from completion or close never finds
 * the ring full.
 */
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "journal.h"

/* Entries the dispatch work adds between two looks at mbatch_jrec_room(). */
#define MBATCH_JREC_SLACK	64

int mbatch_jrec_init(struct mbatch_journal *j, u32 depth)
{
	struct mbatch_jrecs *jr = &j->recs;

	spin_lock_init(&jr->lock);
	/*
	 * DONEs of the commands at the device; CLOSEs of the open sessions
	 * and of the closed ones whose last io is still at the device.
	 */
	jr->cap = 2 * depth + MBATCH_QUEUE_SESSIONS_MAX + MBATCH_JREC_SLACK;
	jr->max_starts = depth;
	jr->ring = kvcalloc(jr->cap, sizeof(*jr->ring), GFP_KERNEL);
	jr->drain = kvcalloc(jr->cap, sizeof(*jr->drain), GFP_KERNEL);
	jr->dkeys = kvcalloc(jr->cap, sizeof(*jr->dkeys), GFP_KERNEL);
	jr->skeys = kvcalloc(depth, sizeof(*jr->skeys), GFP_KERNEL);
	jr->rec = kmalloc(MBATCH_JOURNAL_REC_MAX, GFP_KERNEL);
	if (!jr->ring || !jr->drain || !jr->dkeys || !jr->skeys || !jr->rec) {
		mbatch_jrec_free(j);
		return -ENOMEM;
	}
	return 0;
}

void mbatch_jrec_free(struct mbatch_journal *j)
{
	struct mbatch_jrecs *jr = &j->recs;

	kvfree(jr->ring);
	kvfree(jr->drain);
	kvfree(jr->dkeys);
	kvfree(jr->skeys);
	kfree(jr->rec);
	memset(jr, 0, sizeof(*jr));
}

/* Can the dispatch work add @n entries of its own? */
bool mbatch_jrec_room(struct mbatch_journal *j, u32 n)
{
	struct mbatch_jrecs *jr = &j->recs;
	unsigned long flags;
	bool room;

	spin_lock_irqsave(&jr->lock, flags);
	room = jr->nr + jr->promised + n <= jr->cap;
	spin_unlock_irqrestore(&jr->lock, flags);
	return room;
}

/* Entries to write; @idle: and no logged command is at the device. */
bool mbatch_jrec_pending(struct mbatch_journal *j, bool idle)
{
	struct mbatch_jrecs *jr = &j->recs;
	unsigned long flags;
	bool pending;

	spin_lock_irqsave(&jr->lock, flags);
	pending = jr->nr && (!idle || !jr->started);
	spin_unlock_irqrestore(&jr->lock, flags);
	return pending;
}

/* Add @e; @promised: into a slot promised to it. */
static void mbatch_jrec_add(struct mbatch_journal *j,
			    const struct mbatch_jent *e, bool promised)
{
	struct mbatch_jrecs *jr = &j->recs;
	unsigned long flags;

	spin_lock_irqsave(&jr->lock, flags);
	if (promised && !WARN_ON_ONCE(!jr->promised))
		jr->promised--;
	if (!WARN_ON_ONCE(jr->nr == jr->cap)) {
		jr->ring[(jr->first + jr->nr) % jr->cap] = *e;
		jr->nr++;
	}
	if (e->type == MBATCH_JREC_OPEN)
		jr->promised++;		/* its CLOSE */
	if (e->type == MBATCH_JREC_DONE && !WARN_ON_ONCE(!jr->started))
		jr->started--;
	spin_unlock_irqrestore(&jr->lock, flags);
}

/* The dispatch work, with room for it (mbatch_jrec_room()). */
void mbatch_jrec_open(struct mbatch_journal *j, u32 session, u16 kind,
		      const struct mbatch_jident *id)
{
	struct mbatch_jent e = {
		.type = MBATCH_JREC_OPEN, .session = session, .kind = kind,
	};

	if (id)
		e.id = *id;

	mbatch_jrec_add(j, &e, false);
}

void mbatch_jrec_close(struct mbatch_journal *j, u32 session)
{
	struct mbatch_jent e = { .type = MBATCH_JREC_CLOSE, .session = session };

	mbatch_jrec_add(j, &e, true);
}

/* The dispatch work, with room for it (mbatch_jrec_room()). */
void mbatch_jrec_checkpoint(struct mbatch_journal *j, u32 session, u64 seq,
			    u64 epoch, int status, u32 flags)
{
	struct mbatch_jent e = {
		.type = MBATCH_JREC_CHECKPOINT, .session = session, .seq = seq,
		.epoch = epoch, .status = status, .flags = flags,
	};

	mbatch_jrec_add(j, &e, false);
}

/* A logged command completed (any context). */
void mbatch_jrec_done(struct mbatch_journal *j, u32 session, u64 seq,
		      int status)
{
	struct mbatch_jent e = {
		.type = MBATCH_JREC_DONE, .session = session, .seq = seq,
		.status = status,
	};

	mbatch_jrec_add(j, &e, true);
}

static int mbatch_jkey_cmp(const void *a, const void *b)
{
	const struct mbatch_jkey *x = a, *y = b;

	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	if (x->status != y->status)
		return x->status < y->status ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/*
 * Stage @keys as START or DONE records of runs: one session, one status,
 * consecutive sequence numbers; as many runs to a record as fit.
 */
static void mbatch_jrec_runs(struct mbatch_journal *j, u16 type,
			     struct mbatch_jkey *keys, u32 n)
{
	struct mbatch_jrec_start *r = (void *)j->recs.rec;
	size_t size = type == MBATCH_JREC_START ? sizeof(struct mbatch_jrange) :
			      sizeof(struct mbatch_jdone);
	u32 max = (MBATCH_JOURNAL_REC_MAX - sizeof(*r)) / size;
	u32 i, k, nr = 0;

	sort(keys, n, sizeof(*keys), mbatch_jkey_cmp, NULL);
	for (i = 0; i < n; i += k) {
		struct mbatch_jdone *d = (void *)(j->recs.rec + sizeof(*r) +
						  nr * size);

		for (k = 1; i + k < n && k < U32_MAX; k++)
			if (keys[i + k].session != keys[i].session ||
			    keys[i + k].status != keys[i].status ||
			    keys[i + k].seq != keys[i].seq + k)
				break;
		d->range.session = cpu_to_le32(keys[i].session);
		d->range.count = cpu_to_le32(k);
		d->range.first_seq = cpu_to_le64(keys[i].seq);
		if (type == MBATCH_JREC_DONE) {
			d->status = cpu_to_le32((u32)keys[i].status);
			d->reserved = 0;
		}
		if (++nr < max && i + k < n)
			continue;
		r->nr = cpu_to_le32(nr);
		r->reserved = 0;
		mbatch_jlog_add(j, &r->hdr, type, sizeof(*r) + nr * size);
		nr = 0;
	}
}

static void mbatch_jrec_one(struct mbatch_journal *j,
			    const struct mbatch_jent *e)
{
	struct mbatch_jrec_checkpoint *cp = (void *)j->recs.rec;
	struct mbatch_jrec_session *ss = (void *)j->recs.rec;
	struct mbatch_jrec_open *o = (void *)j->recs.rec;

	memset(j->recs.rec, 0, sizeof(*o));
	if (e->type == MBATCH_JREC_OPEN) {
		o->session = cpu_to_le32(e->session);
		o->kind = cpu_to_le16(e->kind);
		o->isid = cpu_to_le32(e->id.isid);
		o->cookie = cpu_to_le64(e->id.cookie);
		memcpy(o->peer, e->id.peer, sizeof(o->peer));
		mbatch_jlog_add(j, &o->hdr, e->type, sizeof(*o));
	} else if (e->type == MBATCH_JREC_CHECKPOINT) {
		cp->session = cpu_to_le32(e->session);
		cp->flags = cpu_to_le32(e->flags);
		cp->seq = cpu_to_le64(e->seq);
		cp->epoch = cpu_to_le64(e->epoch);
		cp->status = cpu_to_le32((u32)e->status);
		mbatch_jlog_add(j, &cp->hdr, e->type, sizeof(*cp));
	} else {
		ss->session = cpu_to_le32(e->session);
		mbatch_jlog_add(j, &ss->hdr, e->type, sizeof(*ss));
	}
}

/*
 * A restored session's first records in this use, before anything of its
 * own: its OPEN, then what it was restored with (a START of each of the
 * @n commands @seqs it has a result for, a DONE, status 0, of those @done
 * says completed), so that a crash before its initiator has taken them
 * restores them again. The slot of its CLOSE is promised. Sleeps.
 */
int mbatch_jrec_restore(struct mbatch_journal *j, u32 session, u16 kind,
			const struct mbatch_jident *id, const u64 *seqs,
			const u8 *done, u32 n)
{
	struct mbatch_jent e = {
		.type = MBATCH_JREC_OPEN, .session = session, .kind = kind,
		.id = *id,
	};
	struct mbatch_jrecs *jr = &j->recs;
	struct mbatch_jkey *keys;
	unsigned long flags;
	u32 i, nd = 0;
	int err;

	keys = kvcalloc(max(n, 1U), sizeof(*keys), GFP_KERNEL);
	if (!keys)
		return -ENOMEM;
	mbatch_jlog_begin(j);
	mbatch_jrec_one(j, &e);
	for (i = 0; i < n; i++)
		keys[i] = (struct mbatch_jkey){ .seq = seqs[i],
						.session = session };
	if (n)
		mbatch_jrec_runs(j, MBATCH_JREC_START, keys, n);
	for (i = 0; i < n; i++)
		if (done[i])
			keys[nd++] = (struct mbatch_jkey){ .seq = seqs[i],
							   .session = session };
	if (nd)
		mbatch_jrec_runs(j, MBATCH_JREC_DONE, keys, nd);
	err = mbatch_jlog_sync(j);
	mbatch_jlog_end(j);
	kvfree(keys);
	if (err)
		return err;
	spin_lock_irqsave(&jr->lock, flags);
	jr->promised++;			/* its CLOSE */
	spin_unlock_irqrestore(&jr->lock, flags);
	return 0;
}

/*
 * Write the entries added so far, then the START records of the first
 * @nr_starts keys of recs.skeys, durably; then trim the log if it is more
 * than half full. On success a DONE slot is promised to each started
 * command. On failure nothing logged may be sent: the log takes no more
 * (mbatch_jlog_*). The dispatch work, or the queue's release. Sleeps.
 */
int mbatch_jrec_commit(struct mbatch_journal *j, u32 nr_starts)
{
	struct mbatch_jrecs *jr = &j->recs;
	unsigned long flags;
	u32 i, k, nd, n;
	int err;

	mbatch_jlog_begin(j);
	spin_lock_irqsave(&jr->lock, flags);
	nd = jr->nr;
	for (i = 0; i < nd; i++)
		jr->drain[i] = jr->ring[(jr->first + i) % jr->cap];
	jr->first = (jr->first + nd) % jr->cap;
	jr->nr = 0;
	spin_unlock_irqrestore(&jr->lock, flags);

	for (i = 0; i < nd; i += k) {
		if (jr->drain[i].type != MBATCH_JREC_DONE) {
			mbatch_jrec_one(j, &jr->drain[i]);
			k = 1;
			continue;
		}
		for (n = 0, k = 0; i + k < nd &&
		     jr->drain[i + k].type == MBATCH_JREC_DONE; k++, n++) {
			jr->dkeys[n].session = jr->drain[i + k].session;
			jr->dkeys[n].seq = jr->drain[i + k].seq;
			jr->dkeys[n].status = jr->drain[i + k].status;
		}
		mbatch_jrec_runs(j, MBATCH_JREC_DONE, jr->dkeys, n);
	}
	if (nr_starts)
		mbatch_jrec_runs(j, MBATCH_JREC_START, jr->skeys, nr_starts);
	err = mbatch_jlog_sync(j);
	if (!err)
		mbatch_journal_trim_locked(j);
	mbatch_jlog_end(j);
	if (!err && nr_starts) {
		spin_lock_irqsave(&jr->lock, flags);
		jr->promised += nr_starts;
		jr->started += nr_starts;
		spin_unlock_irqrestore(&jr->lock, flags);
	}
	return err;
}
