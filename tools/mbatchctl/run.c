// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl run QUEUE [-f FILE|-]: executes a batch script in an owned
 * session on one socket (its owner: no handle needed), collects every
 * result with an explicit acknowledgement of the last one received, and
 * prints them all.
 *
 * READ and WRITE payloads of --inline-max bytes or more go through
 * registered regions when the session takes them: one buffer region of
 * the tool's own (anonymous memory, a ring of payload slots, each freed
 * when its result comes), and the files that WRITE data comes from,
 * mapped read-only, where their offsets allow it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "mbatchctl.h"
#include "io.h"
#include "json.h"

#define RUN_COLLECT_TIMEOUT_MS	1000
#define RUN_STALL_SECONDS	60
/* the buffer region: no larger than this, nor than the payloads need */
#define RUN_BUFFER_MAX		((uint64_t)MB_MAX_PROXY_PARSE)
/* a file region pins the file's pages while it exists */
#define RUN_FILE_REGION_MAX	(64ULL << 20)
#define RUN_SLOT_ALIGN		4096U

#define ALIGN_UP(x, a)		(((x) + (a) - 1) / (a) * (a))

struct sent {
	uint64_t first_seq;
	uint32_t count;
	uint64_t batch_id;
	const struct mb_smsg *msgs;
};

/* A payload's place in the buffer region. */
struct slot {
	uint64_t off;
	uint64_t len;		/* aligned */
	bool done;		/* its result came */
};

/*
 * The buffer region: slots are taken in order from a write position that
 * wraps, and given back in any order; the space of a slot is reused once
 * every older slot was given back too.
 */
struct ring {
	unsigned char *base;
	uint64_t size;
	uint64_t align;
	uint32_t id;
	uint64_t wpos;
	struct slot *q;
	uint32_t nq;		/* slots taken */
	uint32_t tail;		/* the oldest slot still in use */
	uint32_t cap;
};

/* A file that WRITE data comes from, mapped read-only as a region. */
struct fregion {
	const char *path;
	uint64_t start, end;	/* file offsets of its payloads */
	void *base;
	uint64_t len;
	uint32_t id;
	bool mapped;
};

struct run {
	struct mb_nl nl;
	struct mb_script s;
	struct mb_sref ref;	/* the session, id only */
	bool data;
	uint32_t max_cmds;	/* the queue's per-session limits */
	uint64_t max_bytes;
	uint32_t block_size;	/* the queue's geometry (local; 0: unknown) */
	uint64_t capacity;
	struct mb_session_params sp;

	struct ring ring;
	struct fregion *files;
	unsigned int nfiles;
	uint64_t proxied;	/* proxied messages accepted */
	unsigned int file_errors;	/* READ data not written to its file */

	struct sent *sent;
	unsigned int nsent;
	uint64_t submitted;	/* messages accepted by the kernel */
	uint64_t received;	/* distinct results */
	uint64_t last_seq;	/* highest result seq received = our ack */
	uint64_t acked;		/* the ack the kernel has seen */
	unsigned int failed;
	unsigned int collects;
	unsigned int dups;
	unsigned int gaps;

	struct json_object *results;	/* --json */
	struct json_object *batches;
	bool header;
};

static const struct mb_smsg *msg_of(const struct run *r, uint64_t msg_seq)
{
	unsigned int lo = 0, hi = r->nsent;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct sent *b = &r->sent[mid];

		if (msg_seq < b->first_seq)
			hi = mid;
		else if (msg_seq >= b->first_seq + b->count)
			lo = mid + 1;
		else
			return &b->msgs[msg_seq - b->first_seq];
	}
	return NULL;
}

/* ---- the buffer region ---- */

static bool ring_alloc(struct ring *g, uint32_t len, uint64_t *off)
{
	uint64_t a = ALIGN_UP((uint64_t)len, g->align), oldest;

	if (g->tail == g->nq) {		/* nothing in use */
		g->wpos = 0;
		if (a > g->size)
			return false;
		*off = 0;
	} else {
		oldest = g->q[g->tail].off;
		if (g->wpos > oldest) {	/* in use: [oldest, wpos) */
			if (g->size - g->wpos >= a)
				*off = g->wpos;
			else if (oldest >= a)
				*off = 0;
			else
				return false;
		} else if (g->wpos < oldest && oldest - g->wpos >= a) {
			*off = g->wpos;	/* in use: [oldest, size), [0, wpos) */
		} else {
			return false;
		}
	}
	g->wpos = *off + a;
	return true;
}

static void ring_take(struct ring *g, struct mb_smsg *m, uint64_t off)
{
	struct slot *sl = &g->q[g->nq++];

	sl->off = off;
	sl->len = ALIGN_UP((uint64_t)m->len, g->align);
	sl->done = false;
	m->slot = g->nq;
	m->region = g->id;
	m->region_off = off;
}

static void ring_give(struct ring *g, uint32_t slot)
{
	g->q[slot - 1].done = true;
	while (g->tail < g->nq && g->q[g->tail].done)
		g->tail++;
}

/* Writes a READ's data to its file PATH at its offset. */
static void write_file(struct run *r, const struct mb_smsg *m,
		       const void *data, uint32_t len)
{
	uint32_t done;
	int fd, err = 0;
	ssize_t n;

	fd = open(m->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		for (done = 0; done < len; done += n) {
			n = pwrite(fd, (const char *)data + done, len - done,
				   m->foff + done);
			if (n <= 0) {
				err = n ? errno : EIO;
				break;
			}
		}
		if (close(fd) && !err)
			err = errno;
	}
	if (!err)
		return;
	mb_err("%s:%u: %s: %s", r->s.name, m->line, m->path, strerror(err));
	mb_json_error(MB_EXIT_LOCAL, err, strerror(err), NULL);
	r->file_errors++;
}

static int on_result(const struct mb_result *res, void *arg)
{
	const struct mb_smsg *m;
	struct mb_result proxied;
	struct run *r = arg;
	long line = 0;

	if (res->seq <= r->last_seq) {
		r->dups++;	/* already seen: a reply was not acknowledged */
		return 0;
	}
	if (res->seq != r->last_seq + 1) {
		fprintf(stderr, "mbatchctl: run: warning: result gap: %llu follows %llu\n",
			(unsigned long long)res->seq,
			(unsigned long long)r->last_seq);
		r->gaps++;
	}
	r->last_seq = res->seq;
	r->received++;
	if (!mb_result_ok(res))
		r->failed++;
	m = msg_of(r, res->msg_seq);
	if (m)
		line = m->line;
	/* a proxied READ's data is in the region, not in the result */
	if (m && m->op == MBATCH_OP_READ && m->in_ring && mb_result_ok(res)) {
		proxied = *res;
		proxied.data = r->ring.base + m->region_off;
		proxied.data_len = res->bytes < m->len ? res->bytes : m->len;
		proxied.has_data = true;
		res = &proxied;
	}
	if (m && m->op == MBATCH_OP_READ && m->path && mb_result_ok(res) &&
	    res->has_data)
		write_file(r, m, res->data, res->data_len);
	if (r->results) {
		struct json_object *o = mb_result_json(res, r->data);

		mb_jadd_u64(o, "line", line);
		json_object_array_add(r->results, o);
	} else {
		if (!r->header) {
			mb_result_print_header(true);
			r->header = true;
		}
		mb_result_print(res, r->data, line);
	}
	/* printed: its slot may take another payload */
	if (m && m->in_ring && m->slot)
		ring_give(&r->ring, m->slot);
	return 0;
}

static int collect_step(struct run *r, uint32_t wait_min, uint32_t timeout_ms,
			uint32_t max)
{
	struct mb_collect_req req = {
		.ref = r->ref,
		.has_ack = r->last_seq > 0,
		.ack = r->last_seq,
		.wait_min = wait_min,
		.has_timeout = wait_min > 0,
		.timeout_ms = timeout_ms,
		.max = max,
	};
	struct mb_collect_hdr h;
	int rc;

	rc = mb_collect(&r->nl, &req, &h, on_result, r);
	r->collects++;
	if (!rc)
		r->acked = req.ack;
	return rc;
}

static uint64_t outstanding(const struct run *r)
{
	return r->submitted - r->received;
}

/* Collects until every submitted message has its result. */
static int collect_all(struct run *r)
{
	time_t last = time(NULL);
	uint64_t before;
	int rc;

	while (outstanding(r)) {
		uint64_t want = outstanding(r);

		before = r->received;
		/* held results never exceed max-cmds: the clamp is a guard */
		rc = collect_step(r, want > MBATCH_MAX_CMDS_MAX ?
				  MBATCH_MAX_CMDS_MAX : want,
				  RUN_COLLECT_TIMEOUT_MS, 0);
		if (rc)
			return rc;
		if (r->received != before)
			last = time(NULL);
		else if (time(NULL) - last > RUN_STALL_SECONDS) {
			mb_err("no result for %d s, %llu still outstanding",
			       RUN_STALL_SECONDS,
			       (unsigned long long)outstanding(r));
			mb_json_error(MB_EXIT_LOCAL, ETIMEDOUT,
				      "timed out waiting for results", NULL);
			return MB_EXIT_LOCAL;
		}
	}
	return 0;
}

static int submit_part(struct run *r, const struct mb_smsg *msgs,
		       unsigned int n)
{
	struct mb_submit_reply rep;
	unsigned int i;
	struct sent *b;
	int rc;

	for (;;) {
		r->nl.quiet_errno = -ENOBUFS;
		rc = mb_submit_named(&r->nl, &r->ref, 0, msgs, n, &rep,
				     r->s.name);
		r->nl.quiet_errno = 0;
		if (rc != MB_EXIT_KERNEL || r->nl.err != -ENOBUFS)
			break;
		if (!outstanding(r) && r->acked == r->last_seq) {
			/* the kernel holds nothing of ours: a real error */
			mb_err("%s: %s", strerror(ENOBUFS), r->nl.extack);
			mb_json_error(MB_EXIT_KERNEL, ENOBUFS,
				      strerror(ENOBUFS), r->nl.extack);
			return rc;
		}
		/*
		 * Back-pressure: acknowledge what was received and collect
		 * what completed to make room (wait only if nothing is
		 * left to acknowledge).
		 */
		rc = collect_step(r, r->acked == r->last_seq ? 1 : 0,
				  RUN_COLLECT_TIMEOUT_MS, 0);
		if (rc)
			return rc;
	}
	if (rc)
		return rc;
	if (rep.count != n)
		fprintf(stderr, "mbatchctl: run: warning: batch %llu: %u messages sent, %u accepted\n",
			(unsigned long long)rep.batch_id, n, rep.count);
	r->sent = realloc(r->sent, (r->nsent + 1) * sizeof(*r->sent));
	if (!r->sent) {
		mb_err("out of memory");
		return MB_EXIT_LOCAL;
	}
	b = &r->sent[r->nsent++];
	b->first_seq = rep.first_seq;
	b->count = rep.count;
	b->batch_id = rep.batch_id;
	b->msgs = msgs;
	r->submitted += rep.count;
	for (i = 0; i < rep.count && i < n; i++)
		r->proxied += msgs[i].proxy;
	if (r->batches) {
		struct json_object *o = json_object_new_object();

		mb_jadd_u64(o, "batch", rep.batch_id);
		mb_jadd_u64(o, "first_seq", rep.first_seq);
		mb_jadd_u64(o, "count", rep.count);
		mb_jadd_u64(o, "line", msgs[0].line);
		json_object_array_add(r->batches, o);
	}
	return 0;
}

/*
 * Gives the buffer-region payloads of @msgs their slots (and WRITE data)
 * before they are sent: cuts the part at the first one that finds no room,
 * or, for the first, collects results until there is room.
 */
static int place(struct run *r, struct mb_smsg *msgs, unsigned int *n)
{
	time_t last = time(NULL);
	unsigned int i;
	uint64_t off;
	int rc, err;

	for (i = 0; i < *n; i++) {
		struct mb_smsg *m = &msgs[i];

		if (!m->in_ring || m->slot)
			continue;
		while (!ring_alloc(&r->ring, m->len, &off)) {
			uint64_t before = r->received;

			if (i) {
				*n = i;
				return 0;
			}
			if (!outstanding(r)) {
				mb_err("%s:%u: no room for %u bytes in a region of %llu",
				       r->s.name, m->line, m->len,
				       (unsigned long long)r->ring.size);
				return MB_EXIT_LOCAL;
			}
			rc = collect_step(r, r->acked == r->last_seq ? 1 : 0,
					  RUN_COLLECT_TIMEOUT_MS, 0);
			if (rc)
				return rc;
			if (r->received != before) {
				last = time(NULL);
			} else if (time(NULL) - last > RUN_STALL_SECONDS) {
				mb_err("no result for %d s, %llu still outstanding",
				       RUN_STALL_SECONDS,
				       (unsigned long long)outstanding(r));
				mb_json_error(MB_EXIT_LOCAL, ETIMEDOUT,
					      "timed out waiting for results",
					      NULL);
				return MB_EXIT_LOCAL;
			}
		}
		ring_take(&r->ring, m, off);
		if (m->op != MBATCH_OP_WRITE)
			continue;
		err = mb_smsg_data(m, r->ring.base + off);
		if (err) {
			if (m->kind == MB_DATA_FILE)
				mb_err("%s:%u: %s: %s", r->s.name, m->line,
				       m->path, strerror(-err));
			else
				mb_err("%s:%u: cannot make the data: %s",
				       r->s.name, m->line, strerror(-err));
			mb_json_error(MB_EXIT_LOCAL, -err, strerror(-err), NULL);
			return MB_EXIT_LOCAL;
		}
	}
	return 0;
}

static int run_items(struct run *r)
{
	unsigned int i, done, n;
	int rc = 0;

	for (i = 0; !rc && i < r->s.nitems; i++) {
		struct mb_item *it = &r->s.items[i];

		switch (it->kind) {
		case MB_ITEM_BATCH:
			/* bigger than the socket buffer: several SUBMITs */
			for (done = 0; !rc && done < it->nmsgs; done += n) {
				n = mb_submit_fit(&r->nl, it->msgs + done,
						  it->nmsgs - done, r->max_cmds,
						  r->max_bytes);
				rc = place(r, it->msgs + done, &n);
				if (!rc)
					rc = submit_part(r, it->msgs + done, n);
			}
			break;
		case MB_ITEM_COLLECT:
			if (it->all)
				rc = collect_all(r);
			else
				rc = collect_step(r, it->wait_min,
						  it->timeout_ms, it->max);
			break;
		case MB_ITEM_RESUME:
			rc = mb_session_simple(&r->nl, MBATCH_CMD_RESUME,
					       &r->ref);
			break;
		}
	}
	if (!rc)
		rc = collect_all(r);
	return rc;
}

static const char *data_name(const struct mb_smsg *m)
{
	switch (m->kind) {
	case MB_DATA_OFFSET:
		return "offset";
	case MB_DATA_BYTE:
		return "pattern";
	case MB_DATA_HEX:
		return "hex";
	case MB_DATA_FILE:
		return "file";
	case MB_DATA_SEQ:
		return "seq";
	}
	return "?";
}

/* -n: print what would be sent, without touching the kernel. */
static void dry_run(const struct mb_script *s)
{
	struct json_object *items = NULL;
	unsigned int i, j;

	if (mb_json) {
		mb_jadd_bool(mb_json_root(), "dry_run", true);
		mb_jadd_str(mb_json_root(), "script", s->name);
		mb_jadd_u64(mb_json_root(), "messages", s->nmsgs);
		items = mb_jadd_array(mb_json_root(), "items");
	}
	for (i = 0; i < s->nitems; i++) {
		const struct mb_item *it = &s->items[i];
		struct json_object *o = NULL, *msgs = NULL;
		static const char *const kinds[] = {
			[MB_ITEM_BATCH] = "batch",
			[MB_ITEM_COLLECT] = "collect",
			[MB_ITEM_RESUME] = "resume",
		};

		if (items) {
			o = json_object_new_object();
			mb_jadd_str(o, "kind", kinds[it->kind]);
			mb_jadd_u64(o, "line", it->line);
			json_object_array_add(items, o);
		}
		if (it->kind == MB_ITEM_COLLECT) {
			if (o) {
				mb_jadd_bool(o, "all", it->all);
				mb_jadd_u64(o, "wait_min", it->wait_min);
				mb_jadd_u64(o, "timeout_ms", it->timeout_ms);
				mb_jadd_u64(o, "max", it->max);
			} else {
				printf("%s:%u: collect%s wait-min %u timeout %u max %u\n",
				       s->name, it->line, it->all ? " all" : "",
				       it->wait_min, it->timeout_ms, it->max);
			}
			continue;
		}
		if (it->kind == MB_ITEM_RESUME) {
			if (!o)
				printf("%s:%u: resume\n", s->name, it->line);
			continue;
		}
		if (o)
			msgs = mb_jadd_array(o, "messages");
		else
			printf("%s:%u: batch of %u messages\n", s->name,
			       it->line, it->nmsgs);
		for (j = 0; j < it->nmsgs; j++) {
			const struct mb_smsg *m = &it->msgs[j];
			struct json_object *mo, *f;

			if (!msgs) {
				printf("  %s:%u: %s", s->name, m->line,
				       mb_op_name(m->op));
				if (m->op != MBATCH_OP_FLUSH &&
				    m->op != MBATCH_OP_CHECKPOINT)
					printf(" offset %llu len %u",
					       (unsigned long long)m->off,
					       m->len);
				if (m->flags & MBATCH_MSG_F_DURABLE)
					printf(" durable");
				if (m->flags & MBATCH_MSG_F_CONTINUE)
					printf(" continue");
				if (m->op == MBATCH_OP_WRITE)
					printf(" data %s", data_name(m));
				if (m->path)
					printf("%s %s at %llu",
					       m->op == MBATCH_OP_READ ?
					       " to file" : "", m->path,
					       (unsigned long long)m->foff);
				if (mb_smsg_proxied(s, m))
					printf(" proxied");
				printf(" tag %llu\n",
				       (unsigned long long)m->tag);
				continue;
			}
			mo = json_object_new_object();
			mb_jadd_u64(mo, "line", m->line);
			mb_jadd_str(mo, "op", mb_op_name(m->op));
			mb_jadd_u64(mo, "tag", m->tag);
			if (m->op != MBATCH_OP_FLUSH &&
			    m->op != MBATCH_OP_CHECKPOINT) {
				mb_jadd_u64(mo, "offset", m->off);
				mb_jadd_u64(mo, "len", m->len);
			}
			f = mb_jadd_array(mo, "flags");
			if (m->flags & MBATCH_MSG_F_DURABLE)
				json_object_array_add(f,
					json_object_new_string("durable"));
			if (m->flags & MBATCH_MSG_F_CONTINUE)
				json_object_array_add(f,
					json_object_new_string("continue"));
			if (m->op == MBATCH_OP_WRITE ||
			    m->op == MBATCH_OP_READ)
				mb_jadd_bool(mo, "proxied",
					     mb_smsg_proxied(s, m));
			if (m->path) {
				mb_jadd_str(mo, "file", m->path);
				mb_jadd_u64(mo, "file_offset", m->foff);
			}
			if (m->op == MBATCH_OP_WRITE) {
				unsigned char *buf = malloc(m->len);

				mb_jadd_str(mo, "data_source", data_name(m));
				/* the payload itself for small writes */
				if (buf && m->len <= 64 && !mb_smsg_data(m, buf))
					mb_jadd_hex(mo, "data", buf, m->len);
				free(buf);
			}
			json_object_array_add(msgs, mo);
		}
	}
}

static int limits_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct run *r = arg;

	if (nlh && tb[MBATCH_A_QUEUE_MAX_CMDS])
		r->max_cmds = nla_get_u32(tb[MBATCH_A_QUEUE_MAX_CMDS]);
	if (nlh && tb[MBATCH_A_QUEUE_MAX_BYTES])
		r->max_bytes = nla_get_u64(tb[MBATCH_A_QUEUE_MAX_BYTES]);
	if (nlh && tb[MBATCH_A_QUEUE_BLOCK_SIZE])
		r->block_size = nla_get_u32(tb[MBATCH_A_QUEUE_BLOCK_SIZE]);
	if (nlh && tb[MBATCH_A_QUEUE_CAPACITY])
		r->capacity = nla_get_u64(tb[MBATCH_A_QUEUE_CAPACITY]);
	return 0;
}

/*
 * Every READ, WRITE, DISCARD and WRITE_ZEROES of the script inside the
 * queue's capacity and aligned to its logical blocks, before anything is
 * sent: the module would refuse it at its SUBMIT, after those before it.
 */
static int check_geometry(struct run *r)
{
	unsigned int i, j, bad = 0;

	if (!r->block_size)
		return 0;
	for (i = 0; i < r->s.nitems; i++) {
		for (j = 0; j < r->s.items[i].nmsgs; j++) {
			const struct mb_smsg *m = &r->s.items[i].msgs[j];

			if (m->op != MBATCH_OP_READ && m->op != MBATCH_OP_WRITE &&
			    m->op != MBATCH_OP_DISCARD &&
			    m->op != MBATCH_OP_WRITE_ZEROES)
				continue;
			if (m->off % r->block_size || m->len % r->block_size) {
				mb_err("%s:%u: %s at %llu of %u bytes is not aligned to the queue's %u-byte blocks",
				       r->s.name, m->line, mb_op_name(m->op),
				       (unsigned long long)m->off, m->len,
				       r->block_size);
				bad++;
			} else if (m->off > r->capacity ||
				   m->len > r->capacity - m->off) {
				mb_err("%s:%u: %s at %llu of %u bytes ends past the queue's capacity (%llu bytes)",
				       r->s.name, m->line, mb_op_name(m->op),
				       (unsigned long long)m->off, m->len,
				       (unsigned long long)r->capacity);
				bad++;
			}
		}
	}
	if (!bad)
		return 0;
	mb_json_error(MB_EXIT_USAGE, 0, "script error", NULL);
	return MB_EXIT_USAGE;
}

/* The queue's limits, so that no single SUBMIT can exceed them. */
static int get_limits(struct run *r, const char *queue)
{
	struct nl_msg *msg = mb_msg_new(&r->nl, MBATCH_CMD_QUEUE_GET, 0, 0);

	if (nla_put_string(msg, MBATCH_A_QUEUE_NAME, queue)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(&r->nl, msg, limits_reply, r, 0);
}

/* ---- regions ---- */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static struct fregion *file_of(struct run *r, const char *path)
{
	unsigned int i;

	for (i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path))
			return &r->files[i];
	return NULL;
}

/*
 * Maps @f (PROT_READ, MAP_SHARED) and registers it read-only. A file that
 * cannot be a region is not an error: its payloads are read into the
 * buffer region instead (a note says why).
 */
static void map_file(struct run *r, struct fregion *f, uint64_t page)
{
	struct stat st;
	void *base;
	int fd, rc;

	f->len = ALIGN_UP(f->end, page) - f->start;
	if (f->len > RUN_FILE_REGION_MAX)
		return;
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < f->end) {
		close(fd);
		return;
	}
	base = mmap(NULL, f->len, PROT_READ, MAP_SHARED, fd, f->start);
	close(fd);
	if (base == MAP_FAILED)
		return;
	r->nl.quiet = true;
	rc = mb_region_new(&r->nl, base, f->len, MBATCH_REGION_F_READONLY,
			   &f->id);
	r->nl.quiet = false;
	if (rc) {
		fprintf(stderr, "mbatchctl: run: note: %s: not a region (%s%s%s): its data is copied\n",
			f->path, rc == MB_EXIT_KERNEL ?
			strerror(-r->nl.err) : "failed",
			r->nl.extack[0] ? ": " : "", r->nl.extack);
		munmap(base, f->len);
		return;
	}
	f->base = base;
	f->mapped = true;
}

/*
 * WRITEs proxied from a file at a page-aligned offset use the file's own
 * pages: one read-only region per file, spanning its payloads.
 */
static void map_files(struct run *r, uint64_t page, uint64_t align)
{
	unsigned int i, j;
	struct fregion *f;

	for (i = 0; i < r->s.nitems; i++) {
		for (j = 0; j < r->s.items[i].nmsgs; j++) {
			struct mb_smsg *m = &r->s.items[i].msgs[j];

			if (!m->proxy || m->kind != MB_DATA_FILE ||
			    m->op != MBATCH_OP_WRITE || m->foff % page ||
			    m->foff % align)
				continue;
			f = file_of(r, m->path);
			if (!f) {
				if (r->nfiles == MBATCH_REGIONS_MAX - 1)
					continue;	/* one is the buffer's */
				r->files = realloc(r->files, (r->nfiles + 1) *
						   sizeof(*r->files));
				if (!r->files) {
					mb_err("out of memory");
					exit(MB_EXIT_LOCAL);
				}
				f = &r->files[r->nfiles++];
				memset(f, 0, sizeof(*f));
				f->path = m->path;
				f->start = m->foff;
				f->end = m->foff + m->len;
			}
			if (m->foff < f->start)
				f->start = m->foff;
			f->end = max_u64(f->end, m->foff + m->len);
		}
	}
	for (i = 0; i < r->nfiles; i++)
		map_file(r, &r->files[i], page);
	for (i = 0; i < r->s.nitems; i++) {
		for (j = 0; j < r->s.items[i].nmsgs; j++) {
			struct mb_smsg *m = &r->s.items[i].msgs[j];

			if (!m->in_ring || m->kind != MB_DATA_FILE ||
			    m->op != MBATCH_OP_WRITE)
				continue;
			f = file_of(r, m->path);
			if (!f || !f->mapped || m->foff < f->start ||
			    m->foff + m->len > f->start + f->len ||
			    (m->foff - f->start) % align)
				continue;
			m->in_ring = false;
			m->region = f->id;
			m->region_off = m->foff - f->start;
		}
	}
}

/*
 * The buffer region: as large as the payloads that go through it, at most
 * RUN_BUFFER_MAX, at least the largest one; halved while RLIMIT_MEMLOCK
 * refuses it.
 */
static int map_buffer(struct run *r, uint64_t page, uint64_t align)
{
	uint64_t need = 0, largest = 0, size, least;
	struct ring *g = &r->ring;
	unsigned int i, j, n = 0;
	bool can_shrink;
	void *base;
	int rc;

	for (i = 0; i < r->s.nitems; i++) {
		for (j = 0; j < r->s.items[i].nmsgs; j++) {
			const struct mb_smsg *m = &r->s.items[i].msgs[j];
			uint64_t a = ALIGN_UP((uint64_t)m->len, align);

			if (!m->in_ring)
				continue;
			need += a;
			largest = max_u64(largest, a);
			n++;
		}
	}
	if (!n)
		return 0;
	g->q = calloc(n, sizeof(*g->q));
	if (!g->q) {
		mb_err("out of memory");
		return MB_EXIT_LOCAL;
	}
	g->cap = n;
	g->align = align;
	least = ALIGN_UP(largest, page);
	size = ALIGN_UP(need < RUN_BUFFER_MAX ? need : RUN_BUFFER_MAX, page);
	size = max_u64(size, least);
	for (;;) {
		base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED) {
			mb_err("cannot map %llu bytes for the payloads: %s",
			       (unsigned long long)size, strerror(errno));
			mb_json_error(MB_EXIT_LOCAL, errno, strerror(errno),
				      NULL);
			return MB_EXIT_LOCAL;
		}
		can_shrink = ALIGN_UP(size / 2, page) >= least &&
			     ALIGN_UP(size / 2, page) < size;
		r->nl.quiet_errno = can_shrink ? -ENOMEM : 0;
		rc = mb_region_new(&r->nl, base, size, 0, &g->id);
		r->nl.quiet_errno = 0;
		if (!rc)
			break;
		munmap(base, size);
		if (rc != MB_EXIT_KERNEL || r->nl.err != -ENOMEM || !can_shrink)
			return rc;
		size = ALIGN_UP(size / 2, page);
	}
	g->base = base;
	g->size = size;
	return 0;
}

static void unmap_regions(struct run *r)
{
	unsigned int i;

	if (r->ring.base) {
		mb_region_del(&r->nl, r->ring.id);
		munmap(r->ring.base, r->ring.size);
	}
	for (i = 0; i < r->nfiles; i++) {
		if (!r->files[i].mapped)
			continue;
		mb_region_del(&r->nl, r->files[i].id);
		munmap(r->files[i].base, r->files[i].len);
	}
	free(r->ring.q);
	free(r->files);
}

static void regions_json(struct run *r)
{
	struct json_object *arr = mb_jadd_array(mb_json_root(), "regions"), *o;
	unsigned int i;

	if (r->ring.base) {
		o = json_object_new_object();
		mb_jadd_u64(o, "id", r->ring.id);
		mb_jadd_u64(o, "len", r->ring.size);
		mb_jadd_str(o, "kind", "buffer");
		json_object_array_add(arr, o);
	}
	for (i = 0; i < r->nfiles; i++) {
		if (!r->files[i].mapped)
			continue;
		o = json_object_new_object();
		mb_jadd_u64(o, "id", r->files[i].id);
		mb_jadd_u64(o, "len", r->files[i].len);
		mb_jadd_str(o, "kind", "file");
		mb_jadd_str(o, "file", r->files[i].path);
		mb_jadd_u64(o, "file_offset", r->files[i].start);
		json_object_array_add(arr, o);
	}
}

/*
 * Once the session is open: its own limits (a remote session's are what
 * both nodes agreed), which payloads are proxied, the regions they use,
 * and the files READ data goes to. Nothing is submitted yet.
 */
static int setup(struct run *r)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), align;
	struct mb_script_limits l = {
		.max_io = r->nl.limits.max_io,
		.max_zero = r->nl.limits.max_zero,
		.max_proxy = r->nl.limits.max_proxy_io,
		.whose = "the session's",
	};
	unsigned int i, j;
	int rc, fd;

	rc = mb_session_params(&r->nl, &r->ref, &r->sp);
	if (rc)
		return rc;
	if (r->sp.max_io && r->sp.max_io < l.max_io)
		l.max_io = r->sp.max_io;
	if (r->sp.max_proxy_io < l.max_proxy)
		l.max_proxy = r->sp.max_proxy_io;
	rc = mb_script_check(&r->s, &l);
	if (rc) {
		mb_json_error(rc, 0, "script error", NULL);
		return rc;
	}
	for (i = 0; i < r->s.nitems; i++) {
		for (j = 0; j < r->s.items[i].nmsgs; j++) {
			struct mb_smsg *m = &r->s.items[i].msgs[j];

			m->proxy = mb_smsg_proxied(&r->s, m);
			m->in_ring = m->proxy;
			if (m->op != MBATCH_OP_READ || !m->path)
				continue;
			fd = open(m->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
			if (fd < 0 || close(fd)) {
				mb_err("%s:%u: %s: %s", r->s.name, m->line,
				       m->path, strerror(errno));
				mb_json_error(MB_EXIT_LOCAL, errno,
					      strerror(errno), NULL);
				return MB_EXIT_LOCAL;
			}
		}
	}
	align = max_u64(page, max_u64(RUN_SLOT_ALIGN, r->sp.proxy_align));
	map_files(r, page, align);
	return map_buffer(r, page, align);
}

int cmd_run(int argc, char **argv)
{
	static const char usage[] =
		"run QUEUE[@PEER] [-f FILE|-] [-n] [data] [--inline-max SIZE]";
	char queue[MBATCH_QUEUE_NAME_MAX], peer[MBATCH_PEER_NAME_MAX];
	uint64_t handle, inline_max = MB_INLINE_MAX_DEFAULT;
	struct mb_script_limits l;
	struct run r = { 0 };
	const char *file = "-";
	bool dry = false;
	int i, rc, rc2;

	if (argc < 2 || argv[1][0] == '-')
		return mb_usage("%s", usage);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "-n") ||
			   !strcmp(argv[i], "--dry-run")) {
			dry = true;
		} else if (!strcmp(argv[i], "data")) {
			r.data = true;
		} else if (!strcmp(argv[i], "--inline-max")) {
			if (i + 1 >= argc ||
			    mb_parse_size(argv[i + 1], &inline_max))
				return mb_usage("run: --inline-max needs a size");
			i++;
		} else {
			return mb_usage("run: unexpected '%s'", argv[i]);
		}
	}
	rc = mb_split_remote(argv[1], queue, peer);
	if (rc)
		return rc;
	mb_script_init(&r.s, file);
	r.s.inline_max = inline_max;
	r.s.max_proxy = MBATCH_MAX_PROXY_IO_LEN;
	if (!dry) {
		mb_script_encodable(&r.s);	/* the module's limits below */
		r.s.max_proxy = MB_MAX_PROXY_PARSE;
	}
	rc = mb_script_parse_file(&r.s, file);
	if (rc) {
		mb_json_error(rc, 0, rc == MB_EXIT_USAGE ? "script error" :
			      "cannot read the script", NULL);
		mb_script_free(&r.s);
		return rc;
	}
	if (dry) {
		dry_run(&r.s);
		mb_script_free(&r.s);
		return 0;
	}
	rc = mb_nl_open(&r.nl);
	if (rc) {
		mb_script_free(&r.s);
		return rc;
	}
	rc = mb_nl_limits(&r.nl);
	if (!rc) {
		memset(&l, 0, sizeof(l));
		l.max_io = r.nl.limits.max_io;
		l.max_zero = r.nl.limits.max_zero;
		l.max_proxy = r.nl.limits.max_proxy_io;
		rc = mb_script_check(&r.s, &l);
	}
	if (rc == MB_EXIT_USAGE)
		mb_json_error(rc, 0, "script error", NULL);
	if (rc)
		goto out;
	if (peer[0]) {
		/* a queue of a peer: its limits are not known here */
		r.max_cmds = MBATCH_MAX_CMDS_DEFAULT;
		r.max_bytes = MBATCH_MAX_BYTES_DEFAULT;
		rc = 0;
	} else {
		/* a local queue: its geometry is known before anything is sent */
		rc = get_limits(&r, queue);
		if (!rc)
			rc = check_geometry(&r);
	}
	if (!rc)
		rc = mb_session_open(&r.nl, queue, peer,
				     MBATCH_SESSION_F_OWNED, &r.ref.id, &handle);
	if (rc)
		goto out;
	rc = setup(&r);
	if (rc) {
		mb_session_simple(&r.nl, MBATCH_CMD_SESSION_CLOSE, &r.ref);
		unmap_regions(&r);
		goto out;
	}
	if (mb_json) {
		mb_jadd_str(mb_json_root(), "queue", queue);
		if (peer[0])
			mb_jadd_str(mb_json_root(), "peer", peer);
		mb_jadd_u64(mb_json_root(), "session", r.ref.id);
		regions_json(&r);
		r.batches = mb_jadd_array(mb_json_root(), "batches");
		r.results = mb_jadd_array(mb_json_root(), "results");
	}
	rc = run_items(&r);
	if (rc == MB_EXIT_KERNEL && outstanding(&r))
		collect_all(&r);	/* still print what was accepted */
	rc2 = mb_session_simple(&r.nl, MBATCH_CMD_SESSION_CLOSE, &r.ref);
	if (!rc)
		rc = rc2;
	unmap_regions(&r);
	if (mb_json) {
		struct json_object *o = mb_json_root();

		mb_jadd_u64(o, "submitted", r.submitted);
		mb_jadd_u64(o, "proxied", r.proxied);
		mb_jadd_u64(o, "received", r.received);
		mb_jadd_u64(o, "failed", r.failed);
		mb_jadd_u64(o, "collects", r.collects);
		mb_jadd_u64(o, "duplicates", r.dups);
		mb_jadd_u64(o, "gaps", r.gaps);
	} else {
		printf("session %u: %u batches, %llu messages, %llu results, %u failed, %u collects",
		       r.ref.id, r.nsent, (unsigned long long)r.submitted,
		       (unsigned long long)r.received, r.failed, r.collects);
		if (r.proxied)
			printf(", %llu proxied",
			       (unsigned long long)r.proxied);
		putchar('\n');
	}
	if (!rc && r.file_errors)
		rc = MB_EXIT_LOCAL;
out:
	mb_nl_close(&r.nl);
	mb_script_free(&r.s);
	free(r.sent);
	if (!rc && r.failed)
		rc = MB_EXIT_CMDFAIL;
	return rc;
}
