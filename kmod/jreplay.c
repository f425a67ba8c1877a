// SPDX-License-Identifier: GPL-2.0
/*
 * Replaying a queue's journal: the log is read from its head when the
 * queue is added, and every record the scan finds (jlog.c) comes here in
 * order. A USE record starts a new use, whose sessions are new: what came
 * before it was restored or given up when that use began. Of the last use,
 * the sessions with an OPEN and no CLOSE are what a crash, a module reload
 * or a lost node left behind, each with the commands it logged as started
 * and, of those, the ones whose completion (status, checkpoint) is logged.
 *
 * A session whose records show that it halted (a logged command or a
 * checkpoint failed) is not restored: what came after the halt is not in
 * the log, and its initiator must not send it again as if it had never
 * been sent. Its initiator hears that the session is gone, as before
 * journals, and ends what it had without a result as of unknown outcome.
 * So is a session whose commands would take more memory than the caps.
 * Memory is bounded by them and by the size of the log.
 */
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "journal.h"

/* Sequence numbers index xarrays. */
static_assert(sizeof(unsigned long) == sizeof(u64));

void mbatch_jreplay_init(struct mbatch_journal *j)
{
	INIT_LIST_HEAD(&j->replay.sessions);
	xa_init(&j->replay.ids);
}

static struct mbatch_jrsess *mbatch_jrsess_find(struct mbatch_journal *j,
						u32 id)
{
	return xa_load(&j->replay.ids, id);
}

void mbatch_jrsess_free(struct mbatch_jrsess *rs)
{
	xa_destroy(&rs->cmds);
	kfree(rs);
}

/* Not restorable: its commands go, it stays to be counted. */
static void mbatch_jrsess_lose(struct mbatch_journal *j,
			       struct mbatch_jrsess *rs, const char *why)
{
	if (rs->lost)
		return;
	rs->lost = why;
	xa_destroy(&rs->cmds);
	j->replay.nr_cmds -= rs->nr;
	rs->nr = 0;
}

static void mbatch_jrsess_del(struct mbatch_journal *j,
			      struct mbatch_jrsess *rs)
{
	xa_erase(&j->replay.ids, rs->id);
	list_del(&rs->node);
	j->replay.nr_sessions--;
	j->replay.nr_cmds -= rs->nr;
	mbatch_jrsess_free(rs);
}

static void *mbatch_jrc_val(u32 flags)
{
	return xa_mk_value(flags);
}

/* An OPEN: 32 bytes (an earlier module's, naming no initiator) or 80. */
static int mbatch_jreplay_open(struct mbatch_journal *j, const u8 *rec,
			       u16 len)
{
	const struct mbatch_jrec_open *o = (const void *)rec;
	struct mbatch_jrsess *rs;
	int err;

	rs = mbatch_jrsess_find(j, le32_to_cpu(o->session));
	if (rs)
		mbatch_jrsess_del(j, rs);	/* never written so */
	rs = kzalloc(sizeof(*rs), GFP_KERNEL);
	if (!rs)
		return -ENOMEM;
	rs->id = le32_to_cpu(o->session);
	rs->kind = le16_to_cpu(o->kind);
	xa_init(&rs->cmds);
	if (len == sizeof(*o)) {
		rs->isid = le32_to_cpu(o->isid);
		rs->cookie = le64_to_cpu(o->cookie);
		memcpy(rs->peer, o->peer, sizeof(rs->peer));
	} else {
		rs->lost = "logged by an earlier module: its OPEN names no initiator";
	}
	err = xa_insert(&j->replay.ids, rs->id, rs, GFP_KERNEL);
	if (err) {
		mbatch_jrsess_free(rs);
		return err;
	}
	list_add_tail(&rs->node, &j->replay.sessions);
	if (++j->replay.nr_sessions > MBATCH_JREPLAY_SESSIONS_MAX)
		mbatch_jrsess_lose(j, rs, "too many sessions to restore");
	return 0;
}

/* START (@done false) or DONE: one run. */
static int mbatch_jreplay_run(struct mbatch_journal *j,
			      const struct mbatch_jrange *r, bool done,
			      int status)
{
	struct mbatch_jrsess *rs = mbatch_jrsess_find(j, le32_to_cpu(r->session));
	u64 seq = le64_to_cpu(r->first_seq), end;
	u32 count = le32_to_cpu(r->count);
	unsigned long idx;
	void *old;

	/* Opened before the log's head: not restorable, nothing to keep. */
	if (!rs || rs->lost)
		return 0;
	end = seq + (count - 1);
	if (done) {
		if (status) {
			mbatch_jrsess_lose(j, rs,
					   "a logged command failed: it halted");
			return 0;
		}
		/* Only what the log started can be done. */
		xa_for_each_range(&rs->cmds, idx, old, seq, end)
			xa_store(&rs->cmds, idx,
				 mbatch_jrc_val(MBATCH_JRC_DONE |
						mbatch_jrc_flags(old)),
				 GFP_KERNEL);
		return 0;
	}
	if (count > MBATCH_JREPLAY_CMDS_MAX - j->replay.nr_cmds ||
	    count > MBATCH_MAX_CMDS_MAX - rs->nr) {
		mbatch_jrsess_lose(j, rs, "too many commands to restore");
		return 0;
	}
	for (;; seq++) {
		old = xa_store(&rs->cmds, seq, mbatch_jrc_val(0), GFP_KERNEL);
		if (xa_is_err(old))
			return xa_err(old);
		if (!old) {
			rs->nr++;
			j->replay.nr_cmds++;
		}
		if (seq == end)
			break;
	}
	return 0;
}

static int mbatch_jreplay_runs(struct mbatch_journal *j, const u8 *rec,
			       u16 len, bool done)
{
	const u8 *e = rec + sizeof(struct mbatch_jrec_start);
	size_t size = done ? sizeof(struct mbatch_jdone) :
			     sizeof(struct mbatch_jrange);
	int err = 0;

	for (; e < rec + len && !err; e += size) {
		const struct mbatch_jdone *d = (const void *)e;

		err = mbatch_jreplay_run(j, &d->range, done,
					 done ? (s32)le32_to_cpu(d->status) : 0);
	}
	return err;
}

static int mbatch_jreplay_checkpoint(struct mbatch_journal *j,
				     const struct mbatch_jrec_checkpoint *cp)
{
	struct mbatch_jrsess *rs = mbatch_jrsess_find(j, le32_to_cpu(cp->session));
	u64 seq = le64_to_cpu(cp->seq);
	void *old;

	if (!rs || rs->lost)
		return 0;
	if ((le32_to_cpu(cp->flags) & MBATCH_JCP_F_HALTED) || cp->status) {
		mbatch_jrsess_lose(j, rs, "a logged checkpoint failed: it halted");
		return 0;
	}
	if (j->replay.nr_cmds >= MBATCH_JREPLAY_CMDS_MAX ||
	    rs->nr >= MBATCH_MAX_CMDS_MAX) {
		mbatch_jrsess_lose(j, rs, "too many commands to restore");
		return 0;
	}
	old = xa_store(&rs->cmds, seq,
		       mbatch_jrc_val(MBATCH_JRC_DONE | MBATCH_JRC_CP),
		       GFP_KERNEL);
	if (xa_is_err(old))
		return xa_err(old);
	if (!old) {
		rs->nr++;
		j->replay.nr_cmds++;
	}
	return 0;
}

/* A record of the log, in order (its checks passed). Sleeps. */
int mbatch_jreplay_rec(struct mbatch_journal *j, const u8 *rec, u16 len)
{
	const struct mbatch_journal_rec *h = (const void *)rec;
	const struct mbatch_jrec_session *ss = (const void *)rec;
	struct mbatch_jrsess *rs;

	cond_resched();
	switch (le16_to_cpu(h->type)) {
	case MBATCH_JREC_USE:
		mbatch_jreplay_free(j);
		return 0;
	case MBATCH_JREC_OPEN:
		return mbatch_jreplay_open(j, rec, len);
	case MBATCH_JREC_CLOSE:
		rs = mbatch_jrsess_find(j, le32_to_cpu(ss->session));
		if (rs)
			mbatch_jrsess_del(j, rs);
		return 0;
	case MBATCH_JREC_START:
		return mbatch_jreplay_runs(j, rec, len, false);
	case MBATCH_JREC_DONE:
		return mbatch_jreplay_runs(j, rec, len, true);
	case MBATCH_JREC_CHECKPOINT:
		return mbatch_jreplay_checkpoint(j, (const void *)rec);
	}
	return 0;
}

/* The sessions to restore onto @list; the journal keeps none. */
void mbatch_jreplay_take(struct mbatch_journal *j, struct list_head *list)
{
	list_splice_tail_init(&j->replay.sessions, list);
	xa_destroy(&j->replay.ids);
	j->replay.nr_sessions = 0;
	j->replay.nr_cmds = 0;
}

void mbatch_jreplay_free(struct mbatch_journal *j)
{
	struct mbatch_jrsess *rs, *tmp;

	list_for_each_entry_safe(rs, tmp, &j->replay.sessions, node)
		mbatch_jrsess_free(rs);
	INIT_LIST_HEAD(&j->replay.sessions);
	xa_destroy(&j->replay.ids);
	j->replay.nr_sessions = 0;
	j->replay.nr_cmds = 0;
}
