// SPDX-License-Identifier: GPL-2.0
/*
 * The executor: turns a session's queued commands into bios, in offset order
 * and merged where it can within an epoch, and releases each checkpoint once
 * everything before it has completed.
 *
 * Every queue has one dispatch work item. A session with something to do is
 * put on its queue's run list (mbatch_session_kick()); the work item takes
 * sessions off the list in turn and dispatches until the queue depth is
 * reached. Bio completion records results and kicks the session again, which
 * is what moves epochs forward: nothing on the data path waits.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "internal.h"

enum mbatch_action {
	MBATCH_ACT_IDLE,		/* nothing to do until a completion */
	MBATCH_ACT_STARVED,		/* work to do, but the queue is full */
	MBATCH_ACT_SUBMIT,		/* submit io */
	MBATCH_ACT_NOTIFY,		/* a checkpoint completed */
};

struct mbatch_cp_note {
	struct mbatch_rq cp;		/* copy of the checkpoint's result */
	bool halted;
};

static bool mbatch_op_is_io(u32 op)
{
	return op != MBATCH_OP_CHECKPOINT;
}

/* Record a command's completion; it becomes a result (or is dropped). */
void mbatch_cmd_complete_locked(struct mbatch_session *s, struct mbatch_rq *c,
				int status)
{
	lockdep_assert_held(&s->lock);

	c->status = status;
	/* A remote session's results bring the participant's time. */
	if (!c->done_ns)
		c->done_ns = ktime_get_ns();
	if (!status && c->op != MBATCH_OP_FLUSH &&
	    c->op != MBATCH_OP_CHECKPOINT)
		c->bytes = c->len;
	if (!status && c->op == MBATCH_OP_READ)
		s->stats.bytes_read += c->len;
	if (c->op == MBATCH_OP_WRITE) {
		if (!status)
			s->stats.bytes_written += c->len;
		/* The payload is on the device (or failed): give it back. */
		if (s->state != MBATCH_SESSION_CLOSING)
			s->held_bytes -= mbatch_rq_charge(c);
		mbatch_rq_free_pages(c);
	}
	if (c->op == MBATCH_OP_CHECKPOINT)
		s->stats.checkpoints++;
	if (status == -ECANCELED)
		s->stats.cancelled++;
	else if (status)
		s->stats.failed++;
	s->stats.completed++;

	if (s->state == MBATCH_SESSION_CLOSING) {
		/* Nobody will collect it. */
		mbatch_cmd_free(c);
		return;
	}
	c->rseq = ++s->next_rseq;
	list_add_tail(&c->node, &s->results);
	s->nr_results++;
	if (wq_has_sleeper(&s->wait))
		wake_up(&s->wait);
}

static int mbatch_cmd_cmp(struct mbatch_rq *a, struct mbatch_rq *b)
{
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return a->seq < b->seq ? -1 : 1;
}

/*
 * The ready set holds the head epoch's commands that have not started: an
 * rbtree by offset for dispatch, and c->node on a list in submission order,
 * whose first entry is the oldest command not yet started.
 */
static void mbatch_ready_add(struct mbatch_session *s, struct list_head *order,
			     struct mbatch_rq *c)
{
	struct rb_node **p = &s->ready.rb_node, *parent = NULL;

	while (*p) {
		parent = *p;
		if (mbatch_cmd_cmp(c, rb_entry(parent, struct mbatch_rq, rb)) < 0)
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&c->rb, parent, p);
	rb_insert_color(&c->rb, &s->ready);
	list_add_tail(&c->node, order);
	s->nr_ready++;
}

static void mbatch_ready_del(struct mbatch_session *s, struct mbatch_rq *c)
{
	rb_erase(&c->rb, &s->ready);
	RB_CLEAR_NODE(&c->rb);
	list_del_init(&c->node);
	s->nr_ready--;
}

/* Queue a freshly submitted command (session.c calls this under s->lock). */
void mbatch_session_queue_locked(struct mbatch_session *s, struct mbatch_rq *c)
{
	if (list_empty(&s->fifo) && mbatch_op_is_io(c->op))
		mbatch_ready_add(s, &s->ready_order, c);
	else
		list_add_tail(&c->node, &s->fifo);
}

/*
 * Cancel everything not started: into results with -ECANCELED, or onto
 * @freelist when the session is going away.
 */
void mbatch_session_cancel_all_locked(struct mbatch_session *s,
				      struct list_head *freelist, bool results)
{
	struct mbatch_rq *c, *tmp;
	LIST_HEAD(all);

	list_for_each_entry_safe(c, tmp, &s->ready_order, node) {
		mbatch_ready_del(s, c);
		list_add_tail(&c->node, &all);
	}
	list_splice_tail_init(&s->fifo, &all);
	if (s->cp_flushing) {
		/* Its flush is in flight and carries its io: keep it. */
		c = list_first_entry(&all, struct mbatch_rq, node);
		list_move(&c->node, &s->fifo);
	}

	list_for_each_entry_safe(c, tmp, &all, node) {
		list_del_init(&c->node);
		if (results) {
			if (c->op == MBATCH_OP_CHECKPOINT)
				s->done_epoch++;
			mbatch_cmd_complete_locked(s, c, -ECANCELED);
		} else {
			list_add_tail(&c->node, freelist);
		}
	}
}

/* Cancel the not yet started commands of one batch (not its checkpoints). */
unsigned int mbatch_session_cancel_batch_locked(struct mbatch_session *s,
						u64 batch)
{
	struct mbatch_rq *c, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(c, tmp, &s->ready_order, node) {
		if (c->batch_id != batch)
			continue;
		mbatch_ready_del(s, c);
		mbatch_cmd_complete_locked(s, c, -ECANCELED);
		n++;
	}
	list_for_each_entry_safe(c, tmp, &s->fifo, node) {
		if (c->batch_id != batch || c->op == MBATCH_OP_CHECKPOINT)
			continue;
		list_del_init(&c->node);
		mbatch_cmd_complete_locked(s, c, -ECANCELED);
		n++;
	}
	return n;
}

/* Finish the head checkpoint; the session may halt. */
static void mbatch_checkpoint_done_locked(struct mbatch_session *s,
					  struct mbatch_rq *cp,
					  struct mbatch_cp_note *note)
{
	bool cont = cp->flags & MBATCH_MSG_F_CONTINUE;
	int status;

	list_del_init(&cp->node);
	if (cont)
		status = s->cp_flush_err;
	else
		status = s->epoch_err ?: s->cp_flush_err;
	s->epoch_err = 0;
	s->cp_flush_err = 0;
	s->cp_flushed = false;
	s->done_epoch++;
	cp->start_ns = cp->start_ns ?: ktime_get_ns();
	mbatch_cmd_complete_locked(s, cp, status);

	note->cp = *cp;
	note->halted = false;
	if (status && !cont) {
		s->state = MBATCH_SESSION_HALTED;
		s->halt_err = status;
		note->halted = true;
		mbatch_session_cancel_all_locked(s, NULL, true);
	}
}

/*
 * Dispatch sweeps up through the offsets and starts again from the lowest
 * (C-SCAN): ascending order, and no command waits more than one sweep however
 * many lower-offset commands keep arriving in its epoch.
 */
static struct mbatch_rq *mbatch_ready_next(struct mbatch_session *s)
{
	struct rb_node *n = s->ready.rb_node, *best = NULL;

	while (n) {
		struct mbatch_rq *c = rb_entry(n, struct mbatch_rq, rb);

		if (c->offset >= s->scan_pos) {
			best = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	if (!best)
		best = rb_first(&s->ready);
	return rb_entry(best, struct mbatch_rq, rb);
}

/* Take the next ready command in sweep order and what merges with it. */
static struct mbatch_io *mbatch_build_io_locked(struct mbatch_session *s)
{
	struct mbatch_queue *q = s->q;
	struct mbatch_rq *c, *next;
	struct mbatch_io *io;
	unsigned int pages;
	u64 now = ktime_get_ns();

	/* The first command carries the io: dispatch allocates nothing. */
	c = mbatch_ready_next(s);
	io = &c->io;
	INIT_LIST_HEAD(&io->cmds);
	io->s = s;
	io->op = c->op;
	io->offset = c->offset;
	io->len = 0;
	io->nr = 0;
	io->flush_cp = false;
	pages = 0;

	for (;;) {
		struct rb_node *rn = rb_next(&c->rb);

		next = rn ? rb_entry(rn, struct mbatch_rq, rb) : NULL;
		if (list_first_entry(&s->ready_order, struct mbatch_rq, node) != c) {
			c->rflags |= MBATCH_RESULT_F_REORDERED;
			s->stats.reordered++;
		}
		mbatch_ready_del(s, c);
		c->start_ns = now;
		list_add_tail(&c->node, &io->cmds);
		io->nr++;
		io->len += c->len;
		pages += c->nr_pages;

		if (io->op != MBATCH_OP_READ && io->op != MBATCH_OP_WRITE)
			break;
		if (!next || next->op != io->op ||
		    next->offset != io->offset + io->len ||
		    io->len + next->len > q->max_merge ||
		    pages + next->nr_pages > BIO_MAX_VECS ||
		    atomic_read(&q->inflight) + io->nr >= q->depth)
			break;
		c = next;
	}
	s->scan_pos = io->offset + io->len;
	if (io->nr > 1) {
		list_for_each_entry(c, &io->cmds, node)
			c->rflags |= MBATCH_RESULT_F_MERGED;
		s->stats.merged += io->nr;
	}
	s->head_inflight += io->nr;
	s->inflight += io->nr;
	atomic_add(io->nr, &q->inflight);
	return io;
}

/* Decide the next step for a session. Called with s->lock held. */
static enum mbatch_action mbatch_next_locked(struct mbatch_session *s,
					     struct mbatch_io **iop,
					     struct mbatch_cp_note *note)
{
	struct mbatch_queue *q = s->q;
	struct mbatch_rq *c, *tmp;
	struct mbatch_io *io;

	if (s->state == MBATCH_SESSION_CLOSING)
		return MBATCH_ACT_IDLE;

	while (RB_EMPTY_ROOT(&s->ready) && !s->head_inflight &&
	       !s->cp_flushing) {
		c = list_first_entry_or_null(&s->fifo, struct mbatch_rq, node);
		if (!c)
			return MBATCH_ACT_IDLE;
		if (c->op != MBATCH_OP_CHECKPOINT) {
			/* The previous checkpoint is done: open the epoch. */
			s->scan_pos = 0;
			list_for_each_entry_safe(c, tmp, &s->fifo, node) {
				if (c->op == MBATCH_OP_CHECKPOINT)
					break;
				list_del(&c->node);
				mbatch_ready_add(s, &s->ready_order, c);
			}
			continue;
		}
		/* The epoch before checkpoint c has fully completed. */
		if ((c->flags & MBATCH_MSG_F_DURABLE) && !s->cp_flushed &&
		    (!s->epoch_err || (c->flags & MBATCH_MSG_F_CONTINUE))) {
			if (atomic_read(&q->inflight) >= q->depth)
				return MBATCH_ACT_STARVED;
			s->cp_flushing = true;
			c->start_ns = ktime_get_ns();
			io = &c->io;
			*iop = io;
			INIT_LIST_HEAD(&io->cmds);
			io->s = s;
			io->op = MBATCH_OP_FLUSH;
			io->nr = 1;
			io->flush_cp = true;
			atomic_inc(&q->inflight);
			return MBATCH_ACT_SUBMIT;
		}
		mbatch_checkpoint_done_locked(s, c, note);
		return MBATCH_ACT_NOTIFY;
	}

	if (RB_EMPTY_ROOT(&s->ready))
		return MBATCH_ACT_IDLE;
	if (atomic_read(&q->inflight) >= q->depth)
		return MBATCH_ACT_STARVED;
	*iop = mbatch_build_io_locked(s);
	return MBATCH_ACT_SUBMIT;
}

static void mbatch_io_done(struct mbatch_io *io, int err)
{
	struct mbatch_session *s = io->s;
	struct mbatch_queue *q = s->q;
	unsigned int nr = io->flush_cp ? 1 : io->nr;
	struct mbatch_rq *c, *tmp;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&s->lock, flags);
	if (io->flush_cp) {
		s->cp_flushing = false;
		s->cp_flushed = true;
		s->cp_flush_err = err;
		s->stats.flushes++;
		if (s->state == MBATCH_SESSION_CLOSING) {
			c = container_of(io, struct mbatch_rq, io);
			list_del_init(&c->node);
			mbatch_cmd_free(c);
		}
	} else {
		/* io lives in the first command, which completing may free. */
		list_splice_init(&io->cmds, &done);
		list_for_each_entry_safe(c, tmp, &done, node) {
			list_del_init(&c->node);
			if (c->op == MBATCH_OP_FLUSH)
				s->stats.flushes++;
			if (err && !s->epoch_err)
				s->epoch_err = err;
			s->head_inflight--;
			s->inflight--;
			mbatch_cmd_complete_locked(s, c, err);
		}
	}
	spin_unlock_irqrestore(&s->lock, flags);

	atomic_sub(nr, &q->inflight);
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

static blk_opf_t mbatch_io_opf(u32 op, bool native_zeroes)
{
	switch (op) {
	case MBATCH_OP_READ:
		return REQ_OP_READ;
	case MBATCH_OP_WRITE:
		return REQ_OP_WRITE;
	case MBATCH_OP_DISCARD:
		return REQ_OP_DISCARD;
	case MBATCH_OP_WRITE_ZEROES:
		return native_zeroes ? REQ_OP_WRITE_ZEROES : REQ_OP_WRITE;
	default:
		return REQ_OP_WRITE | REQ_PREFLUSH;
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

		bio = blk_next_bio(bio, bdev, nr, REQ_OP_WRITE, GFP_NOIO);
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

static void mbatch_io_submit(struct mbatch_io *io)
{
	struct mbatch_session *s = io->s;
	struct mbatch_queue *q = s->q;
	struct block_device *bdev = q->bdev.bdev;
	/* Asked each time: a device can lose WRITE_ZEROES (SCSI does). */
	bool zeroes = bdev_write_zeroes_sectors(bdev) > 0;
	struct mbatch_rq *c;
	struct bio *bio;
	unsigned int i;

	/* The io holds the session until it completes. */
	kref_get(&s->ref);

	if (io->op == MBATCH_OP_WRITE_ZEROES && !zeroes) {
		bio = mbatch_zero_pages_bio(io, bdev);
	} else {
		unsigned int nr = 0;

		list_for_each_entry(c, &io->cmds, node)
			nr += c->nr_pages;
		bio = bio_alloc(bdev, nr, mbatch_io_opf(io->op, zeroes),
				GFP_NOIO);
		bio->bi_private = io;
		bio->bi_end_io = mbatch_bio_end;
		if (io->op != MBATCH_OP_FLUSH) {
			bio->bi_iter.bi_sector = io->offset >> SECTOR_SHIFT;
			if (!nr)
				bio->bi_iter.bi_size = io->len;
		}
		list_for_each_entry(c, &io->cmds, node) {
			u32 left = c->len;

			for (i = 0; i < c->nr_pages; i++) {
				u32 len = min_t(u32, left, PAGE_SIZE);

				/* Sized against the device limits above. */
				if (WARN_ON_ONCE(bio_add_page(bio, c->pages[i],
							      len, 0) < len)) {
					bio->bi_status = BLK_STS_RESOURCE;
					bio_endio(bio);
					return;
				}
				left -= len;
			}
		}
	}
	bio->bi_private = io;
	bio->bi_end_io = mbatch_bio_end;
	submit_bio(bio);
}

static void mbatch_notify(struct mbatch_session *s, struct mbatch_cp_note *note)
{
	if (s->rmt)
		mbatch_remote_kick(s);	/* new results for the initiator */
	mbatch_notify_checkpoint(s, &note->cp);
	if (note->halted)
		mbatch_notify_halt(s, note->cp.status);
}

/* Run one session; true if it has work but the queue is full. */
static bool mbatch_session_run(struct mbatch_session *s)
{
	struct mbatch_cp_note note;
	enum mbatch_action act;
	struct mbatch_io *io = NULL;

	for (;;) {
		spin_lock_irq(&s->lock);
		act = mbatch_next_locked(s, &io, &note);
		spin_unlock_irq(&s->lock);

		switch (act) {
		case MBATCH_ACT_SUBMIT:
			mbatch_io_submit(io);
			continue;
		case MBATCH_ACT_NOTIFY:
			mbatch_notify(s, &note);
			continue;
		case MBATCH_ACT_STARVED:
			return true;
		case MBATCH_ACT_IDLE:
			return false;
		}
	}
}

/* Put a session on its queue's run list and make sure the work runs. */
void mbatch_session_kick(struct mbatch_session *s)
{
	struct mbatch_queue *q = s->q;
	unsigned long flags;

	if (s->rmt)
		mbatch_remote_kick(s);
	if (!q)
		return;

	spin_lock_irqsave(&q->lock, flags);
	if (!s->on_runq && s->state != MBATCH_SESSION_CLOSING && !q->dead) {
		kref_get(&s->ref);
		s->on_runq = true;
		list_add_tail(&s->runq_node, &q->runq);
	}
	if (!list_empty(&q->runq) && !q->dead)
		queue_work(q->wq, &q->dispatch_work);
	spin_unlock_irqrestore(&q->lock, flags);
}

void mbatch_dispatch_work(struct work_struct *work)
{
	struct mbatch_queue *q = container_of(work, struct mbatch_queue,
					      dispatch_work);
	struct mbatch_session *s, *first_starved = NULL;
	struct blk_plug plug;

	/* Let each round of bios reach the device as one batch. */
	blk_start_plug(&plug);
	for (;;) {
		spin_lock_irq(&q->lock);
		s = list_first_entry_or_null(&q->runq, struct mbatch_session,
					     runq_node);
		if (!s || s == first_starved) {
			spin_unlock_irq(&q->lock);
			break;
		}
		list_del_init(&s->runq_node);
		s->on_runq = false;
		spin_unlock_irq(&q->lock);

		if (mbatch_session_run(s)) {
			/* Keep it listed: the next completion runs it again. */
			spin_lock_irq(&q->lock);
			if (!s->on_runq && !q->dead &&
			    s->state != MBATCH_SESSION_CLOSING) {
				s->on_runq = true;
				list_add_tail(&s->runq_node, &q->runq);
				kref_get(&s->ref);
				if (!first_starved)
					first_starved = s;
			}
			spin_unlock_irq(&q->lock);
		}
		mbatch_session_put(s);
		if (first_starved && atomic_read(&q->inflight) >= q->depth)
			break;
	}
	blk_finish_plug(&plug);
}
