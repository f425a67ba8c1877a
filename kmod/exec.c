// SPDX-License-Identifier: GPL-2.0
/*
 * The executor: turns a session's queued commands into bios, in offset order
 * and merged where it can within an epoch, and completes each checkpoint
 * once everything before it has completed.
 *
 * Every queue has one dispatch work item. An executor with something to do
 * is put on its queue's run list (mbatch_exec_kick()); the work item takes
 * executors off the list in turn and dispatches until the queue depth is
 * reached. Bio completion records results and kicks the session again
 * (through its ops, so a participant also pushes its results), which is
 * what moves epochs forward: nothing on the data path waits.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "cmd.h"
#include "exec.h"
#include "fault.h"
#include "journal.h"
#include "notify.h"
#include "queue.h"
#include "session.h"

enum mbatch_action {
	MBATCH_ACT_IDLE,		/* nothing to do until a completion */
	MBATCH_ACT_STARVED,		/* work to do, but the queue is full */
	MBATCH_ACT_SUBMIT,		/* submit io */
	MBATCH_ACT_NOTIFY,		/* a checkpoint completed */
};

struct mbatch_cp_note {
	struct mbatch_command cp;		/* copy of the checkpoint's result */
	bool halted;
};

/*
 * A dispatch round's ios on a queue with a journal: sent once the START
 * record of those that change the device is durable (jrec.c).
 */
struct mbatch_group {
	struct mbatch_journal *j;
	struct mbatch_io *first;
	struct mbatch_io **tail;
	u32 nr_starts;
};

/* Does the journal log this io's commands (they change the device)? */
static bool mbatch_io_logs(const struct mbatch_io *io)
{
	return !io->flush_cp && (io->op == MBATCH_OP_WRITE ||
				 io->op == MBATCH_OP_WRITE_ZEROES ||
				 io->op == MBATCH_OP_DISCARD);
}

void mbatch_exec_init(struct mbatch_exec *ex, struct mbatch_session *s)
{
	ex->s = s;
	INIT_LIST_HEAD(&ex->qnode);
	INIT_LIST_HEAD(&ex->runq_node);
	INIT_LIST_HEAD(&ex->ready_order);
	INIT_LIST_HEAD(&ex->fifo);
	INIT_LIST_HEAD(&ex->pull);
	ex->ready = RB_ROOT;
}

/*
 * Bind to @q, whose reference the executor takes over on success. The
 * caller holds the namespace's lock, so @q is still in its table.
 */
int mbatch_exec_attach(struct mbatch_exec *ex, struct mbatch_queue *q)
{
	int err = 0;

	spin_lock_irq(&q->lock);
	if (q->dead) {
		err = -ENOENT;
	} else if (q->nr_sessions >= MBATCH_QUEUE_SESSIONS_MAX) {
		err = -ENOBUFS;
	} else {
		list_add_tail(&ex->qnode, &q->execs);
		q->nr_sessions++;
		ex->counted = true;
		ex->q = q;
	}
	spin_unlock_irq(&q->lock);
	return err;
}

/* The session is freed (any context): its counters stay with the queue. */
void mbatch_exec_detach(struct mbatch_exec *ex)
{
	struct mbatch_queue *q = ex->q;
	unsigned long flags;

	if (!q)
		return;
	if (ex->jopen || ex->jclosing)
		mbatch_jrec_close(q->journal, ex->s->id);
	spin_lock_irqsave(&q->lock, flags);
	list_del(&ex->qnode);
	if (ex->counted)
		q->nr_sessions--;
	mbatch_stats_add(&q->stats, &ex->s->stats);
	spin_unlock_irqrestore(&q->lock, flags);
	ex->q = NULL;
	mbatch_queue_put(q);
}

static bool mbatch_op_is_io(u32 op)
{
	return op != MBATCH_OP_CHECKPOINT;
}

static int mbatch_cmd_cmp(struct mbatch_command *a, struct mbatch_command *b)
{
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return a->seq < b->seq ? -1 : 1;
}

/*
 * A command of the head epoch becomes ready: into the rbtree by offset for
 * dispatch, and onto ready_order in submission order, whose first entry is
 * the oldest command not yet started. One refused for its device (a peer's,
 * see mbatch_msg_check()) fails here, in its epoch, without running.
 */
static void mbatch_ready_add(struct mbatch_exec *ex, struct mbatch_command *cmd)
{
	struct rb_node **p = &ex->ready.rb_node, *parent = NULL;

	if (cmd->refused) {
		if (!ex->epoch_err)
			ex->epoch_err = cmd->refused;
		mbatch_session_end_locked(ex->s, cmd, MBATCH_OUTCOME_DONE,
					  cmd->refused);
		return;
	}
	if (cmd->iflags & MBATCH_CMD_F_PULL) {
		/* Its data is asked for first (participant.c). */
		list_add_tail(&cmd->node, &ex->pull);
		ex->nr_pull++;
		ex->pull_new = true;
		return;
	}
	while (*p) {
		parent = *p;
		if (mbatch_cmd_cmp(cmd, rb_entry(parent, struct mbatch_command,
						 rb)) < 0)
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&cmd->rb, parent, p);
	rb_insert_color(&cmd->rb, &ex->ready);
	list_add_tail(&cmd->node, &ex->ready_order);
	ex->nr_ready++;
}

static void mbatch_ready_del(struct mbatch_exec *ex, struct mbatch_command *cmd)
{
	rb_erase(&cmd->rb, &ex->ready);
	RB_CLEAR_NODE(&cmd->rb);
	list_del_init(&cmd->node);
	ex->nr_ready--;
}

/*
 * Pulled WRITEs of the head epoch (participant.c): the next one to ask its
 * data for (peek, then take it off the list: it still holds its epoch
 * open); those asked for on a link that went, back in front in their
 * order; one whose data has come, ready to run; one whose data never will,
 * failed in its epoch.
 */
struct mbatch_command *mbatch_exec_pull_peek_locked(struct mbatch_exec *ex)
{
	return list_first_entry_or_null(&ex->pull, struct mbatch_command,
					node);
}

void mbatch_exec_pull_take_locked(struct mbatch_exec *ex,
				  struct mbatch_command *cmd)
{
	list_del_init(&cmd->node);
}

void mbatch_exec_pull_back_locked(struct mbatch_exec *ex,
				  struct list_head *cmds)
{
	if (list_empty(cmds))
		return;
	list_splice_init(cmds, &ex->pull);
	ex->pull_new = true;
}

/* Taken off pull (peek, take): its data will never come. */
void mbatch_exec_pull_fail_locked(struct mbatch_exec *ex,
				  struct mbatch_command *cmd, int err)
{
	cmd->iflags &= ~(MBATCH_CMD_F_PULL | MBATCH_CMD_F_R2T);
	cmd->refused = err;
	ex->nr_pull--;
	mbatch_ready_add(ex, cmd);
}

void mbatch_exec_pulled_locked(struct mbatch_exec *ex,
			       struct mbatch_command *cmd)
{
	cmd->iflags &= ~(MBATCH_CMD_F_PULL | MBATCH_CMD_F_R2T);
	ex->nr_pull--;
	mbatch_ready_add(ex, cmd);
}

/* Queue a freshly submitted command (the session's lock is held). */
void mbatch_exec_queue_locked(struct mbatch_exec *ex, struct mbatch_command *cmd)
{
	if (list_empty(&ex->fifo) && mbatch_op_is_io(cmd->op))
		mbatch_ready_add(ex, cmd);
	else
		list_add_tail(&cmd->node, &ex->fifo);
}

/*
 * Everything not started: cancelled into results, or onto @freelist when
 * the session is going away (@freelist not NULL).
 */
static void mbatch_exec_cancel_all_locked(struct mbatch_exec *ex,
					  struct list_head *freelist)
{
	struct mbatch_command *cmd, *tmp;
	LIST_HEAD(all);

	list_for_each_entry_safe(cmd, tmp, &ex->ready_order, node) {
		mbatch_ready_del(ex, cmd);
		list_add_tail(&cmd->node, &all);
	}
	/* Those whose data was asked for (R2T list) are the participant's. */
	list_for_each_entry_safe(cmd, tmp, &ex->pull, node) {
		list_move_tail(&cmd->node, &all);
		ex->nr_pull--;
	}
	list_splice_tail_init(&ex->fifo, &all);
	if (ex->cp_flushing) {
		/*
		 * Its flush is in flight and carries its io: keep it. It is
		 * first: its epoch, pulled writes too, is done (pull empty).
		 */
		cmd = list_first_entry(&all, struct mbatch_command, node);
		list_move(&cmd->node, &ex->fifo);
	}

	list_for_each_entry_safe(cmd, tmp, &all, node) {
		list_del_init(&cmd->node);
		if (freelist)
			list_add_tail(&cmd->node, freelist);
		else
			mbatch_session_end_locked(ex->s, cmd,
						  MBATCH_OUTCOME_CANCELLED,
						  -ECANCELED);
	}
}

/*
 * Cancel the not yet started commands of @batch up to sequence @upto; its
 * checkpoints keep their ordering role.
 */
unsigned int mbatch_exec_cancel_locked(struct mbatch_exec *ex, u64 batch,
				       u64 upto)
{
	struct mbatch_command *cmd, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(cmd, tmp, &ex->ready_order, node) {
		if (cmd->batch_id != batch || cmd->seq > upto)
			continue;
		if (mbatch_planted(MBATCH_PLANT_RUN_CANCELLED)) {
			/* test build: said cancelled, run all the same */
			cmd->iflags |= MBATCH_CMD_F_PLANT;
			n++;
			continue;
		}
		mbatch_ready_del(ex, cmd);
		mbatch_session_end_locked(ex->s, cmd, MBATCH_OUTCOME_CANCELLED,
					  -ECANCELED);
		n++;
	}
	/* Those whose data is asked for are not here: their data comes. */
	list_for_each_entry_safe(cmd, tmp, &ex->pull, node) {
		if (cmd->batch_id != batch || cmd->seq > upto ||
		    mbatch_planted(MBATCH_PLANT_RUN_CANCELLED))
			continue;
		list_del_init(&cmd->node);
		ex->nr_pull--;
		mbatch_session_end_locked(ex->s, cmd, MBATCH_OUTCOME_CANCELLED,
					  -ECANCELED);
		n++;
	}
	list_for_each_entry_safe(cmd, tmp, &ex->fifo, node) {
		if (cmd->batch_id != batch || cmd->seq > upto ||
		    cmd->op == MBATCH_OP_CHECKPOINT)
			continue;
		list_del_init(&cmd->node);
		mbatch_session_end_locked(ex->s, cmd, MBATCH_OUTCOME_CANCELLED,
					  -ECANCELED);
		n++;
	}
	return n;
}

/* Finish the head checkpoint; the session may halt. */
static void mbatch_checkpoint_done_locked(struct mbatch_exec *ex,
					  struct mbatch_command *cp,
					  struct mbatch_cp_note *note)
{
	struct mbatch_session *s = ex->s;
	bool cont = cp->flags & MBATCH_MSG_F_CONTINUE;
	bool halt, durable;
	int status;

	list_del_init(&cp->node);
	if (cont)
		status = ex->cp_flush_err;
	else
		status = ex->epoch_err ?: ex->cp_flush_err;
	/* Durable: its flush completed, and every write before it did. */
	durable = (cp->flags & MBATCH_MSG_F_DURABLE) && ex->cp_flushed &&
		  !ex->cp_flush_err && !ex->epoch_err;
	ex->epoch_err = 0;
	ex->cp_flush_err = 0;
	ex->cp_flushed = false;
	cp->start_ns = cp->start_ns ?: ktime_get_ns();
	halt = status && !cont;
	if (halt)
		mbatch_session_halt_locked(s, status, cp);
	mbatch_session_end_locked(s, cp, MBATCH_OUTCOME_DONE, status);
	/* Room for it was made (mbatch_exec_run()). */
	if (ex->jopen)
		mbatch_jrec_checkpoint(ex->q->journal, s->id, cp->seq,
				       s->done_epoch, status,
				       (durable ? MBATCH_JCP_F_DURABLE : 0) |
				       (halt ? MBATCH_JCP_F_HALTED : 0));
	note->cp = *cp;
	note->halted = halt;
	if (halt)
		mbatch_exec_cancel_all_locked(ex, NULL);
}

/*
 * Dispatch sweeps up through the offsets and starts again from the lowest
 * (C-SCAN): ascending order, and no command waits more than one sweep however
 * many lower-offset commands keep arriving in its epoch.
 */
static struct mbatch_command *mbatch_ready_next(struct mbatch_exec *ex)
{
	struct rb_node *n = ex->ready.rb_node, *best = NULL;

	while (n) {
		struct mbatch_command *cmd = rb_entry(n, struct mbatch_command, rb);

		if (cmd->offset >= ex->scan_pos) {
			best = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	if (!best)
		best = rb_first(&ex->ready);
	return rb_entry(best, struct mbatch_command, rb);
}

/* Take the next ready command in sweep order and what merges with it. */
static struct mbatch_io *mbatch_build_io_locked(struct mbatch_exec *ex)
{
	struct mbatch_session *s = ex->s;
	struct mbatch_queue *q = ex->q;
	struct mbatch_command *cmd, *next;
	struct mbatch_io *io;
	unsigned int pages;
	u64 now = ktime_get_ns();

	/* The first command carries the io: dispatch allocates nothing. */
	cmd = mbatch_ready_next(ex);
	io = &cmd->io;
	INIT_LIST_HEAD(&io->cmds);
	io->ex = ex;
	io->op = cmd->op;
	io->offset = cmd->offset;
	io->len = 0;
	io->nr = 0;
	io->flush_cp = false;
	io->logged = false;
	pages = 0;
	/* Its session's first command the journal logs opens it there. */
	if (q->journal && mbatch_io_logs(io)) {
		if (!ex->jopen)
			mbatch_jrec_open(q->journal, s->id, s->ops->jkind,
					 &ex->jid);
		ex->jopen = true;
		ex->jios++;
	}

	for (;;) {
		struct rb_node *rn = rb_next(&cmd->rb);

		next = rn ? rb_entry(rn, struct mbatch_command, rb) : NULL;
		if (list_first_entry(&ex->ready_order, struct mbatch_command,
				     node) != cmd) {
			cmd->rflags |= MBATCH_RESULT_F_REORDERED;
			s->stats.reordered++;
		}
		mbatch_ready_del(ex, cmd);
		cmd->start_ns = now;
		list_add_tail(&cmd->node, &io->cmds);
		io->nr++;
		io->len += cmd->len;
		pages += cmd->nr_vecs;

		if (!mbatch_op_has_payload(io->op))
			break;
		if (!next || next->op != io->op ||
		    next->offset != io->offset + io->len ||
		    io->len + next->len > q->max_merge ||
		    pages + next->nr_vecs > BIO_MAX_VECS ||
		    atomic_read(&q->inflight) + io->nr >= q->depth)
			break;
		cmd = next;
	}
	ex->scan_pos = io->offset + io->len;
	if (io->nr > 1) {
		list_for_each_entry(cmd, &io->cmds, node)
			cmd->rflags |= MBATCH_RESULT_F_MERGED;
		s->stats.merged += io->nr;
	}
	ex->head_inflight += io->nr;
	s->inflight += io->nr;
	atomic_add(io->nr, &q->inflight);
	return io;
}

/* Decide the next step for a session. Called with its lock held. */
static enum mbatch_action mbatch_next_locked(struct mbatch_exec *ex,
					     struct mbatch_io **iop,
					     struct mbatch_cp_note *note)
{
	struct mbatch_session *s = ex->s;
	struct mbatch_queue *q = ex->q;
	struct mbatch_command *cmd, *tmp;
	struct mbatch_io *io;

	if (s->state == MBATCH_SESSION_CLOSING)
		return MBATCH_ACT_IDLE;

	while (RB_EMPTY_ROOT(&ex->ready) && !ex->nr_pull &&
	       (!ex->head_inflight || mbatch_planted(MBATCH_PLANT_CP_EARLY)) &&
	       !ex->cp_flushing) {
		cmd = list_first_entry_or_null(&ex->fifo, struct mbatch_command,
					       node);
		if (!cmd)
			return MBATCH_ACT_IDLE;
		if (cmd->op != MBATCH_OP_CHECKPOINT) {
			bool crossed = false;

			/* The previous checkpoint is done: open the epoch. */
			ex->scan_pos = 0;
			list_for_each_entry_safe(cmd, tmp, &ex->fifo, node) {
				if (cmd->op == MBATCH_OP_CHECKPOINT) {
					/* test build: the next epoch too */
					if (mbatch_planted(MBATCH_PLANT_MERGE_CP) &&
					    !crossed) {
						crossed = true;
						continue;
					}
					break;
				}
				list_del(&cmd->node);
				mbatch_ready_add(ex, cmd);
			}
			continue;
		}
		/* The epoch before checkpoint cmd has fully completed. */
		if ((cmd->flags & MBATCH_MSG_F_DURABLE) && !ex->cp_flushed &&
		    (!ex->epoch_err || (cmd->flags & MBATCH_MSG_F_CONTINUE))) {
			if (atomic_read(&q->inflight) >= q->depth)
				return MBATCH_ACT_STARVED;
			ex->cp_flushing = true;
			cmd->start_ns = ktime_get_ns();
			io = &cmd->io;
			*iop = io;
			INIT_LIST_HEAD(&io->cmds);
			io->ex = ex;
			io->op = MBATCH_OP_FLUSH;
			io->nr = 1;
			io->flush_cp = true;
			io->logged = false;
			atomic_inc(&q->inflight);
			return MBATCH_ACT_SUBMIT;
		}
		mbatch_checkpoint_done_locked(ex, cmd, note);
		return MBATCH_ACT_NOTIFY;
	}

	if (RB_EMPTY_ROOT(&ex->ready))
		return MBATCH_ACT_IDLE;
	if (atomic_read(&q->inflight) >= q->depth)
		return MBATCH_ACT_STARVED;
	*iop = mbatch_build_io_locked(ex);
	return MBATCH_ACT_SUBMIT;
}

static void mbatch_io_done(struct mbatch_io *io, int err)
{
	struct mbatch_exec *ex = io->ex;
	struct mbatch_session *s = ex->s;
	struct mbatch_queue *q = ex->q;
	unsigned int nr = io->flush_cp ? 1 : io->nr;
	bool jio = q->journal && mbatch_io_logs(io);
	bool logged = io->logged, closed = false;
	struct mbatch_command *cmd, *tmp;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&s->lock, flags);
	if (io->flush_cp) {
		ex->cp_flushing = false;
		ex->cp_flushed = true;
		ex->cp_flush_err = err;
		s->stats.flushes++;
		if (s->state == MBATCH_SESSION_CLOSING) {
			cmd = container_of(io, struct mbatch_command, io);
			list_del_init(&cmd->node);
			mbatch_cmd_free(cmd);
		}
	} else {
		/* io lives in the first command, which completing may free. */
		list_splice_init(&io->cmds, &done);
		list_for_each_entry_safe(cmd, tmp, &done, node) {
			list_del_init(&cmd->node);
			if (err && !ex->epoch_err)
				ex->epoch_err = err;
			ex->head_inflight--;
			s->inflight--;
			if (logged)
				mbatch_jrec_done(q->journal, s->id, cmd->seq, err);
			if (cmd->iflags & MBATCH_CMD_F_PLANT)
				mbatch_session_end_locked(s, cmd,
							  MBATCH_OUTCOME_CANCELLED,
							  -ECANCELED);
			else
				mbatch_session_end_locked(s, cmd,
							  MBATCH_OUTCOME_DONE, err);
		}
		/* A killed session's CLOSE follows its last DONE. */
		if (jio && !--ex->jios && ex->jclosing) {
			ex->jclosing = false;
			mbatch_jrec_close(q->journal, s->id);
			closed = true;
		}
	}
	spin_unlock_irqrestore(&s->lock, flags);

	atomic_sub(nr, &q->inflight);
	/* Its DONE and CLOSE entries are written by the dispatch work. */
	if (logged || closed)
		queue_work(q->wq, &q->dispatch_work);
	mbatch_session_kick(s);
	/* The kick holds its own reference; drop the one of this io. */
	mbatch_session_put(s);
}

static void mbatch_bio_end(struct bio *bio)
{
	struct mbatch_io *io = bio->bi_private;
	int err = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	mbatch_io_done(io, err);
}

/*
 * Writes are flagged as O_DIRECT's are (REQ_SYNC | REQ_IDLE): someone waits
 * for each of them. Without it writeback throttling (blk-wbt, on by default
 * on every blk-mq disk) takes them for background writeback, caps them at
 * a few in flight and puts the dispatch worker to sleep in wbt_wait(),
 * which flushes its plug to kblockd.
 */
#define MBATCH_REQ_WRITE	(REQ_OP_WRITE | REQ_SYNC | REQ_IDLE)

static blk_opf_t mbatch_io_opf(u32 op, bool native_zeroes)
{
	switch (op) {
	case MBATCH_OP_READ:
		return REQ_OP_READ;
	case MBATCH_OP_WRITE:
		return MBATCH_REQ_WRITE;
	case MBATCH_OP_DISCARD:
		return REQ_OP_DISCARD;
	case MBATCH_OP_WRITE_ZEROES:
		return native_zeroes ? REQ_OP_WRITE_ZEROES : MBATCH_REQ_WRITE;
	default:
		return MBATCH_REQ_WRITE | REQ_PREFLUSH;
	}
}

/* WRITE_ZEROES on a device without it: writes of the zero page, chained. */
static struct bio *mbatch_zero_pages_bio(struct mbatch_io *io,
					 struct block_device *bdev)
{
	sector_t sector = io->offset >> SECTOR_SHIFT;
	u64 left = io->len;
	struct bio *bio = NULL;

	while (left) {
		unsigned int nr = min_t(u64, BIO_MAX_VECS,
					DIV_ROUND_UP_ULL(left, PAGE_SIZE));

		bio = blk_next_bio(bio, bdev, nr, MBATCH_REQ_WRITE,
				   GFP_NOIO);
		bio->bi_iter.bi_sector = sector;
		while (left) {
			unsigned int len = min_t(u64, left, PAGE_SIZE);

			if (bio_add_page(bio, ZERO_PAGE(0), len, 0) < len)
				break;
			left -= len;
			sector += len >> SECTOR_SHIFT;
		}
	}
	return bio;
}

/*
 * READ and WRITE: bios straight on the payload pages, the commands' own or a
 * region's. A merged io fits one bio (BIO_MAX_VECS); one command of a
 * region may need more, chained: every page piece is a whole number of
 * logical blocks (proxy_align), so a bio may end after any of them.
 */
static struct bio *mbatch_data_bio(struct mbatch_io *io,
				   struct block_device *bdev, blk_opf_t opf)
{
	sector_t sector = io->offset >> SECTOR_SHIFT;
	unsigned int vecs = 0;
	struct mbatch_command *cmd;
	struct bio *bio;
	u32 done, at, off, n;

	list_for_each_entry(cmd, &io->cmds, node)
		vecs += cmd->nr_vecs;
	bio = blk_next_bio(NULL, bdev, min(vecs, BIO_MAX_VECS), opf, GFP_NOIO);
	bio->bi_iter.bi_sector = sector;
	list_for_each_entry(cmd, &io->cmds, node) {
		for (done = 0; done < cmd->len; done += n) {
			struct page *page;

			at = cmd->pv_off + done;
			off = offset_in_page(at);
			n = min_t(u32, cmd->len - done, PAGE_SIZE - off);
			page = cmd->pv[at >> PAGE_SHIFT];
			if (bio_add_page(bio, page, n, off) == n) {
				vecs--;
				continue;
			}
			bio = blk_next_bio(bio, bdev, min(vecs, BIO_MAX_VECS),
					   opf, GFP_NOIO);
			bio->bi_iter.bi_sector = sector +
				((cmd->offset - io->offset + done) >> SECTOR_SHIFT);
			/* An empty bio with room takes any one page piece. */
			__bio_add_page(bio, page, n, off);
			vecs--;
		}
	}
	return bio;
}

/* Send @io; it holds a reference to its session until it completes. */
static void mbatch_io_submit(struct mbatch_exec *ex, struct mbatch_io *io)
{
	struct block_device *bdev = ex->q->bdev.bdev;
	/* Asked each time: a device can lose WRITE_ZEROES (SCSI does). */
	bool zeroes = bdev_write_zeroes_sectors(bdev) > 0;
	blk_opf_t opf = mbatch_io_opf(io->op, zeroes);
	struct bio *bio;

	if (io->op == MBATCH_OP_WRITE_ZEROES && !zeroes) {
		bio = mbatch_zero_pages_bio(io, bdev);
	} else if (mbatch_op_has_payload(io->op)) {
		bio = mbatch_data_bio(io, bdev, opf);
	} else {
		bio = bio_alloc(bdev, 0, opf, GFP_NOIO);
		if (io->op != MBATCH_OP_FLUSH) {
			bio->bi_iter.bi_sector = io->offset >> SECTOR_SHIFT;
			bio->bi_iter.bi_size = io->len;
		}
	}
	bio->bi_private = io;
	bio->bi_end_io = mbatch_bio_end;
	submit_bio(bio);
}

/*
 * Send a dispatch group: the journal's entries and the START record of its
 * ios that change the device first, durably; if that fails, those ios fail
 * with it and never reach the device.
 */
static void mbatch_group_send(struct mbatch_group *g)
{
	struct mbatch_io *io, *next;
	struct blk_plug plug;
	int err;

	err = mbatch_jrec_commit(g->j, g->nr_starts);
	blk_start_plug(&plug);
	for (io = g->first; io; io = next) {
		next = io->gnext;
		if (mbatch_io_logs(io)) {
			if (err) {
				mbatch_io_done(io, err);
				continue;
			}
			io->logged = true;
		}
		mbatch_io_submit(io->ex, io);
	}
	blk_finish_plug(&plug);
	g->first = NULL;
	g->tail = &g->first;
	g->nr_starts = 0;
}

static void mbatch_group_add(struct mbatch_group *g, struct mbatch_io *io)
{
	struct mbatch_jkey *k = g->j->recs.skeys;
	struct mbatch_command *cmd;

	if (mbatch_io_logs(io)) {
		/* Never more than the queue's depth: they are all at it. */
		if (g->nr_starts + io->nr > g->j->recs.max_starts)
			mbatch_group_send(g);
		list_for_each_entry(cmd, &io->cmds, node) {
			k[g->nr_starts].session = io->ex->s->id;
			k[g->nr_starts].seq = cmd->seq;
			k[g->nr_starts].status = 0;
			g->nr_starts++;
		}
	}
	/* The io's: the dispatch work's is dropped before the group goes. */
	kref_get(&io->ex->s->ref);
	io->gnext = NULL;
	*g->tail = io;
	g->tail = &io->gnext;
}

/* Run one executor; true if it has work but the queue is full. */
static bool mbatch_exec_run(struct mbatch_exec *ex, struct mbatch_group *g)
{
	struct mbatch_session *s = ex->s;
	struct mbatch_cp_note note;
	enum mbatch_action act;
	struct mbatch_io *io = NULL;
	bool pull;

	for (;;) {
		/* Room for what this step may add: an OPEN, a CHECKPOINT. */
		if (g->j && !mbatch_jrec_room(g->j, 2))
			mbatch_group_send(g);
		spin_lock_irq(&s->lock);
		act = mbatch_next_locked(ex, &io, &note);
		pull = ex->pull_new;
		ex->pull_new = false;
		spin_unlock_irq(&s->lock);
		/* Data to ask for: the participant sends R2T. */
		if (pull)
			mbatch_session_kick(s);

		switch (act) {
		case MBATCH_ACT_SUBMIT:
			if (g->j) {
				mbatch_group_add(g, io);
			} else {
				kref_get(&s->ref);
				mbatch_io_submit(ex, io);
			}
			continue;
		case MBATCH_ACT_NOTIFY:
			/* New results: a participant sends them on. */
			mbatch_session_kick(s);
			mbatch_notify_checkpoint(s, &note.cp);
			if (note.halted)
				mbatch_notify_halt(s, note.cp.status);
			continue;
		case MBATCH_ACT_STARVED:
			return true;
		case MBATCH_ACT_IDLE:
			return false;
		}
	}
}

/* Put an executor on its queue's run list and make sure the work runs. */
void mbatch_exec_kick(struct mbatch_exec *ex)
{
	struct mbatch_queue *q = ex->q;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (!ex->on_runq && READ_ONCE(ex->s->state) != MBATCH_SESSION_CLOSING &&
	    !q->dead) {
		kref_get(&ex->s->ref);
		ex->on_runq = true;
		list_add_tail(&ex->runq_node, &q->runq);
	}
	if (!list_empty(&q->runq) && !q->dead)
		queue_work(q->wq, &q->dispatch_work);
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * The session is CLOSING: drop what has not started, leave the run list and
 * free the queue's session slot. In-flight I/O ends on its own.
 */
void mbatch_exec_kill(struct mbatch_exec *ex)
{
	struct mbatch_session *s = ex->s;
	struct mbatch_queue *q = ex->q;
	bool was_queued, closed;
	LIST_HEAD(list);

	spin_lock_irq(&s->lock);
	mbatch_exec_cancel_all_locked(ex, &list);
	s->held_cmds = s->inflight;
	s->held_bytes = 0;
	/* Its CLOSE once its last logged io has completed. */
	closed = ex->jopen && !ex->jios;
	if (closed)
		mbatch_jrec_close(q->journal, s->id);
	else if (ex->jopen)
		ex->jclosing = true;
	ex->jopen = false;
	spin_unlock_irq(&s->lock);

	spin_lock_irq(&q->lock);
	was_queued = ex->on_runq;
	if (was_queued) {
		list_del_init(&ex->runq_node);
		ex->on_runq = false;
	}
	if (ex->counted) {
		q->nr_sessions--;
		ex->counted = false;
	}
	spin_unlock_irq(&q->lock);

	mbatch_cmd_free_list(&list);
	if (was_queued)
		mbatch_session_put(s);
	/* Its CLOSE is written by the dispatch work, or at the queue's end. */
	if (closed && !READ_ONCE(q->dead))
		queue_work(q->wq, &q->dispatch_work);
}

void mbatch_exec_dispatch_work(struct work_struct *work)
{
	struct mbatch_queue *q = container_of(work, struct mbatch_queue,
					      dispatch_work);
	struct mbatch_exec *ex, *first_starved = NULL;
	struct mbatch_group g = { .j = q->journal, .tail = &g.first };
	struct blk_plug plug;

	/*
	 * Let each round of bios reach the device as one batch: as they are
	 * built, or, with a journal, once their START record is durable.
	 */
	if (!g.j)
		blk_start_plug(&plug);
	for (;;) {
		spin_lock_irq(&q->lock);
		ex = list_first_entry_or_null(&q->runq, struct mbatch_exec,
					      runq_node);
		if (!ex || ex == first_starved || q->dead) {
			spin_unlock_irq(&q->lock);
			break;
		}
		list_del_init(&ex->runq_node);
		ex->on_runq = false;
		spin_unlock_irq(&q->lock);

		if (mbatch_exec_run(ex, &g)) {
			/* Keep it listed: the next completion runs it again. */
			spin_lock_irq(&q->lock);
			if (!ex->on_runq && !q->dead &&
			    READ_ONCE(ex->s->state) != MBATCH_SESSION_CLOSING) {
				ex->on_runq = true;
				list_add_tail(&ex->runq_node, &q->runq);
				kref_get(&ex->s->ref);
				if (!first_starved)
					first_starved = ex;
			}
			spin_unlock_irq(&q->lock);
		}
		mbatch_session_put(ex->s);
		if (first_starved && atomic_read(&q->inflight) >= q->depth)
			break;
	}
	if (!g.j)
		blk_finish_plug(&plug);
	/* Completions ride with the next group, or go once none is out. */
	else if (g.first || mbatch_jrec_pending(g.j, true))
		mbatch_group_send(&g);
}

/* A queue's counters: its closed sessions' and its open ones'. */
void mbatch_exec_queue_stats(struct mbatch_queue *q, struct mbatch_stats *st,
			     struct mbatch_held *h)
{
	struct mbatch_exec *ex;
	struct mbatch_session *s;

	memset(h, 0, sizeof(*h));
	spin_lock_irq(&q->lock);
	*st = q->stats;
	list_for_each_entry(ex, &q->execs, qnode) {
		s = ex->s;
		spin_lock(&s->lock);
		mbatch_stats_add(st, &s->stats);
		if (s->state != MBATCH_SESSION_CLOSING) {
			h->queued += s->held_cmds - s->inflight - s->res.nr;
			h->queued_bytes += s->held_bytes;
		}
		spin_unlock(&s->lock);
	}
	spin_unlock_irq(&q->lock);
	h->inflight = atomic_read(&q->inflight);
}
