// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl queue journal NAME, journal show PATH: read a queue's state
 * journal from its device as the module reads it (<linux/mbatch_journal.h>,
 * Documentation/userspace-api/mbatch-journal.rst) and print its superblock,
 * its record log's extent and room, and its last records.
 *
 * Read only, with O_DIRECT on a block device (the module writes with bios,
 * past the page cache), while the queue runs or not: the durable records
 * are a prefix of the log, so a read sees the log as it was at some moment
 * (a record whose append is under way may or may not be seen).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/mbatch.h>
#include <linux/mbatch_journal.h>

#include "mbatchctl.h"
#include "json.h"

#define JB		MBATCH_JOURNAL_BLOCK
#define SB_BYTES	(JB * MBATCH_JOURNAL_SB_COPIES)
#define REC_HDR		sizeof(struct mbatch_journal_rec)

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	if (crc_table[1])
		return;
	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c >> 1 ^ (0x82f63b78U & -(c & 1));
		crc_table[i] = c;
	}
}

/* CRC32C, raw: the caller inverts in and out as the kernel's users do. */
static uint32_t crc_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ crc >> 8;
	return crc;
}

/* A journal as read: where it is, its superblock, its log as scanned. */
struct jview {
	const char *path;
	int fd;
	bool direct;
	unsigned char *buf;		/* one aligned block */
	uint64_t end;			/* device bytes in whole blocks */
	struct mbatch_journal_sb sb;	/* the copy used */
	int copy;
	uint64_t start, nblocks, head, head_seq;
	uint64_t records, next_seq, tail;
	uint32_t tail_off;
	const char *refused;		/* a record the module refuses */
	struct json_object *recs;	/* the last ones, oldest first */
	struct json_object *durable;	/* session id: its last durable
					 * checkpoint in the log */
	uint64_t keep;			/* how many: UINT64_MAX for all */
};

static int jv_read(struct jview *v, uint64_t pos, void *out, size_t len)
{
	size_t done;
	ssize_t n;

	for (done = 0; done < len; done += JB) {
		n = pread(v->fd, v->buf, JB, (off_t)(pos + done));
		if (n < 0) {
			mb_err("%s: read at %llu: %s", v->path,
			       (unsigned long long)(pos + done), strerror(errno));
			return MB_EXIT_LOCAL;
		}
		if (n != JB) {
			mb_err("%s: short read at %llu", v->path,
			       (unsigned long long)(pos + done));
			return MB_EXIT_LOCAL;
		}
		memcpy((unsigned char *)out + done, v->buf, JB);
	}
	return 0;
}

static int jv_open(struct jview *v, const char *path)
{
	struct stat st;
	uint64_t bytes;

	v->path = path;
	v->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (v->fd < 0) {
		mb_err("%s: %s", path, strerror(errno));
		return MB_EXIT_LOCAL;
	}
	if (fstat(v->fd, &st))
		goto err;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(v->fd, BLKGETSIZE64, &bytes))
			goto err;
		/* The module's writes are not in the page cache. */
		close(v->fd);
		v->fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
		if (v->fd < 0)
			goto err;
		v->direct = true;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		mb_err("%s: not a block device or a file", path);
		return MB_EXIT_LOCAL;
	}
	v->end = bytes / JB * JB;
	if (posix_memalign((void **)&v->buf, JB, JB)) {
		v->buf = NULL;
		mb_err("out of memory");
		return MB_EXIT_LOCAL;
	}
	return 0;
err:
	mb_err("%s: %s", path, strerror(errno));
	return MB_EXIT_LOCAL;
}

static void jv_close(struct jview *v)
{
	if (v->fd >= 0)
		close(v->fd);
	free(v->buf);
	json_object_put(v->recs);
	json_object_put(v->durable);
}

static bool extent_ok(uint64_t off, uint64_t len, uint64_t room)
{
	return len && off % JB == 0 && len % JB == 0 && len <= room &&
	       off <= room - len;
}

static bool extents_apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/*
 * The checks the module makes of one copy (mbatch_jsb_check), in its
 * order and with its words, or NULL for a valid copy.
 */
static const char *sb_check(const unsigned char *blk)
{
	const struct mbatch_journal_sb *sb = (const void *)blk;
	uint64_t size, room, log, loglen, s0, s1, slen, head, gen, seq, data;
	unsigned char tmp[JB];
	uint32_t crc, bs;
	size_t i;

	if (le32toh(sb->magic) != MBATCH_JOURNAL_MAGIC)
		return "no journal superblock";
	memcpy(tmp, blk, JB);
	((struct mbatch_journal_sb *)tmp)->crc = 0;
	crc = ~crc_update(~0U, tmp, JB);
	if (le32toh(sb->crc) != crc)
		return "journal superblock checksum mismatch";
	if (le32toh(sb->version) != MBATCH_JOURNAL_VERSION)
		return le32toh(sb->version) > MBATCH_JOURNAL_VERSION ?
		       "journal version is newer than this tool's" :
		       "unknown journal version";
	if (le32toh(sb->flags) & ~MBATCH_JOURNAL_SB_F_ALL)
		return "unknown journal superblock flags";
	for (i = 0; i < sizeof(sb->reserved) / sizeof(sb->reserved[0]); i++)
		if (sb->reserved[i])
			return "journal superblock's reserved bytes are not zero";
	if (sb->reserved0 || !all_zero(blk + sizeof(*sb), JB - sizeof(*sb)))
		return "journal superblock's reserved bytes are not zero";
	gen = le64toh(sb->generation);
	if (!gen || gen == UINT64_MAX)
		return "journal superblock generation is 0 or exhausted";
	size = le64toh(sb->size);
	if (size < MBATCH_JOURNAL_SIZE_MIN || size > MBATCH_JOURNAL_SIZE_MAX ||
	    size % JB)
		return "journal size in the superblock is out of range";
	bs = le32toh(sb->block_size);
	data = le64toh(sb->data_bytes);
	if (bs < 512 || bs > JB || (bs & (bs - 1)) || !data || data % bs)
		return "journal superblock describes an impossible device";
	room = size - SB_BYTES;
	log = le64toh(sb->log_offset);
	loglen = le64toh(sb->log_len);
	s0 = le64toh(sb->snap_offset[0]);
	s1 = le64toh(sb->snap_offset[1]);
	slen = le64toh(sb->snap_len);
	if (!extent_ok(log, loglen, room) || loglen < 2 * JB ||
	    !extent_ok(s0, slen, room) || !extent_ok(s1, slen, room) ||
	    !extents_apart(log, loglen, s0, slen) ||
	    !extents_apart(log, loglen, s1, slen) ||
	    !extents_apart(s0, slen, s1, slen))
		return "journal superblock's log or snapshot areas are out of place";
	head = le64toh(sb->log_head);
	seq = le64toh(sb->log_head_seq);
	if (head >= loglen || head % JB || !seq || seq == UINT64_MAX)
		return "journal superblock's log head is out of place";
	return NULL;
}

static int jv_pick(struct jview *v)
{
	unsigned char two[SB_BYTES];
	const char *why[2];
	const struct mbatch_journal_sb *a = (const void *)two;
	const struct mbatch_journal_sb *b = (const void *)(two + JB);
	int rc;

	if (v->end < MBATCH_JOURNAL_SIZE_MIN) {
		mb_err("%s: too small to hold a journal", v->path);
		return MB_EXIT_LOCAL;
	}
	rc = jv_read(v, v->end - SB_BYTES, two, sizeof(two));
	if (rc)
		return rc;
	why[0] = sb_check(two);
	why[1] = sb_check(two + JB);
	if (why[0] && why[1]) {
		mb_err("%s: no valid journal superblock (copy 0: %s; copy 1: %s)",
		       v->path, why[0], why[1]);
		return MB_EXIT_LOCAL;
	}
	v->copy = why[0] ? 1 : 0;
	if (!why[0] && !why[1]) {
		if (memcmp(a->uuid, b->uuid, sizeof(a->uuid)) ||
		    a->size != b->size || a->flags != b->flags) {
			mb_err("%s: the two superblock copies are of different journals",
			       v->path);
			return MB_EXIT_LOCAL;
		}
		if (le64toh(b->generation) > le64toh(a->generation))
			v->copy = 1;
	}
	memcpy(&v->sb, two + v->copy * JB, sizeof(v->sb));
	if (le64toh(v->sb.size) > v->end) {
		mb_err("%s: the superblock claims more than the device holds",
		       v->path);
		return MB_EXIT_LOCAL;
	}
	v->start = v->end - le64toh(v->sb.size);
	v->nblocks = le64toh(v->sb.log_len) / JB;
	v->head = le64toh(v->sb.log_head) / JB;
	v->head_seq = le64toh(v->sb.log_head_seq);
	return 0;
}

static const char *rec_type_name(uint16_t type)
{
	switch (type) {
	case MBATCH_JREC_USE:
		return "use";
	case MBATCH_JREC_OPEN:
		return "open";
	case MBATCH_JREC_CLOSE:
		return "close";
	case MBATCH_JREC_START:
		return "start";
	case MBATCH_JREC_DONE:
		return "done";
	case MBATCH_JREC_CHECKPOINT:
		return "checkpoint";
	default:
		return "unknown";
	}
}

static bool status_ok(uint32_t status)
{
	int32_t st = (int32_t)status;

	return st <= 0 && st >= -4095;
}

static bool range_ok(const struct mbatch_jrange *r)
{
	uint64_t first = le64toh(r->first_seq);
	uint32_t count = le32toh(r->count);

	return count && first && first + (count - 1) >= first;
}

/* A START or DONE record: the module's check (jlog.c). */
static bool runs_ok(const unsigned char *rec, uint16_t len, size_t size)
{
	const struct mbatch_jrec_start *r = (const void *)rec;
	const unsigned char *e = rec + sizeof(*r);

	if (len < sizeof(*r) + size || (len - sizeof(*r)) % size ||
	    le32toh(r->nr) != (len - sizeof(*r)) / size || r->reserved)
		return false;
	for (; e < rec + len; e += size) {
		const struct mbatch_jdone *d = (const void *)e;

		if (!range_ok(&d->range))
			return false;
		if (size == sizeof(*d) &&
		    (!status_ok(le32toh(d->status)) || d->reserved))
			return false;
	}
	return true;
}

/* A local session names no initiator; a participant names its own. */
static bool open_ok(const unsigned char *rec, uint16_t len)
{
	const struct mbatch_jrec_open *o = (const void *)rec;
	size_t plen, k;

	/* An earlier module's: the session's id and kind only. */
	if (len == sizeof(struct mbatch_jrec_session))
		return !o->reserved &&
		       (le16toh(o->kind) == MBATCH_JSESSION_LOCAL ||
			le16toh(o->kind) == MBATCH_JSESSION_PARTICIPANT);
	if (len != sizeof(*o) || o->reserved || o->reserved2)
		return false;
	plen = strnlen(o->peer, sizeof(o->peer));
	if (plen == sizeof(o->peer))
		return false;
	for (k = plen; k < sizeof(o->peer); k++)
		if (o->peer[k])
			return false;
	switch (le16toh(o->kind)) {
	case MBATCH_JSESSION_LOCAL:
		return !plen && !o->isid && !o->cookie;
	case MBATCH_JSESSION_PARTICIPANT:
		return plen && o->isid;
	default:
		return false;
	}
}

/* 1 as the module writes it, 0 malformed, -1 a type it does not know. */
static int rec_valid(const unsigned char *rec, uint16_t len)
{
	const struct mbatch_journal_rec *h = (const void *)rec;
	const struct mbatch_jrec_session *ss = (const void *)rec;
	const struct mbatch_jrec_checkpoint *cp = (const void *)rec;
	uint16_t type = le16toh(h->type);

	if (h->reserved)
		return type >= MBATCH_JREC_USE && type <= MBATCH_JREC_CHECKPOINT ?
		       0 : -1;
	switch (type) {
	case MBATCH_JREC_USE:
		return len == sizeof(struct mbatch_jrec_use);
	case MBATCH_JREC_OPEN:
		return open_ok(rec, len);
	case MBATCH_JREC_CLOSE:
		return len == sizeof(*ss) && !ss->reserved && !ss->kind;
	case MBATCH_JREC_START:
		return runs_ok(rec, len, sizeof(struct mbatch_jrange));
	case MBATCH_JREC_DONE:
		return runs_ok(rec, len, sizeof(struct mbatch_jdone));
	case MBATCH_JREC_CHECKPOINT:
		return len == sizeof(*cp) && !cp->reserved &&
		       !(le32toh(cp->flags) & ~MBATCH_JCP_F_ALL) &&
		       le64toh(cp->seq) && le64toh(cp->epoch) &&
		       status_ok(le32toh(cp->status));
	default:
		return -1;
	}
}

/* Is @off of @blk a sealed record of this journal? Its seq through @seq. */
static bool rec_sealed(const struct jview *v, const unsigned char *blk,
		       uint32_t off, uint64_t *seq)
{
	const struct mbatch_journal_rec *r = (const void *)(blk + off);
	unsigned char tmp[JB];
	uint16_t len;
	uint32_t crc;

	if (off + REC_HDR > JB || le32toh(r->magic) != MBATCH_JOURNAL_REC_MAGIC)
		return false;
	len = le16toh(r->len);
	if (len < REC_HDR || off + len > JB)
		return false;
	memcpy(tmp, blk + off, len);
	((struct mbatch_journal_rec *)tmp)->crc = 0;
	crc = ~crc_update(crc_update(~0U, v->sb.uuid, sizeof(v->sb.uuid)),
			  tmp, len);
	if (le32toh(r->crc) != crc)
		return false;
	*seq = le64toh(r->seq);
	return true;
}

/* Is the record at @off the next one (1), not (0), or refused (-1)? */
static int rec_check(struct jview *v, const unsigned char *blk, uint32_t off,
		     uint64_t seq, uint16_t *lenp)
{
	const struct mbatch_journal_rec *r = (const void *)(blk + off);
	uint64_t rseq;
	uint16_t len;
	int valid;

	if (!rec_sealed(v, blk, off, &rseq) || rseq != seq)
		return 0;
	len = le16toh(r->len);
	*lenp = len;
	valid = rec_valid(blk + off, len);
	if (valid < 0) {
		v->refused = "a record type mbatch does not know";
		return -1;
	}
	if (!valid || len > MBATCH_JOURNAL_REC_MAX ||
	    len % MBATCH_JOURNAL_REC_ALIGN) {
		v->refused = "a malformed record";
		return -1;
	}
	return 1;
}

/* A record numbered @seq or later in @blk from @off on? */
static bool rec_later(const struct jview *v, const unsigned char *blk,
		      uint32_t off, uint64_t seq)
{
	uint64_t rseq;

	for (; off + REC_HDR <= JB; off += MBATCH_JOURNAL_REC_ALIGN)
		if (rec_sealed(v, blk, off, &rseq) && rseq >= seq)
			return true;
	return false;
}

/* START and DONE: their runs, and how many commands they name. */
static struct json_object *rec_runs(const unsigned char *rec, size_t size,
				    uint64_t *cmds)
{
	const struct mbatch_jrec_start *r = (const void *)rec;
	struct json_object *a = json_object_new_array();
	uint32_t i, nr = le32toh(r->nr);

	*cmds = 0;
	for (i = 0; i < nr; i++) {
		const struct mbatch_jdone *d =
			(const void *)(rec + sizeof(*r) + i * size);
		struct json_object *o = json_object_new_object();

		mb_jadd_u64(o, "session", le32toh(d->range.session));
		mb_jadd_u64(o, "first_seq", le64toh(d->range.first_seq));
		mb_jadd_u64(o, "count", le32toh(d->range.count));
		if (size == sizeof(*d))
			json_object_object_add(o, "status",
					       json_object_new_int((int32_t)
						le32toh(d->status)));
		*cmds += le32toh(d->range.count);
		json_object_array_add(a, o);
	}
	return a;
}

/* Each session's last durable checkpoint, from every record scanned. */
static void rec_durable(struct jview *v, const unsigned char *rec)
{
	const struct mbatch_jrec_checkpoint *cp = (const void *)rec;
	struct json_object *o;
	char key[16];

	/* A use starts over: session ids are not the last use's. */
	if (le16toh(cp->hdr.type) == MBATCH_JREC_USE) {
		json_object_put(v->durable);
		v->durable = json_object_new_object();
		return;
	}
	if (le16toh(cp->hdr.type) != MBATCH_JREC_CHECKPOINT ||
	    !(le32toh(cp->flags) & MBATCH_JCP_F_DURABLE) || cp->status)
		return;
	snprintf(key, sizeof(key), "%u", le32toh(cp->session));
	o = json_object_new_object();
	mb_jadd_u64(o, "session", le32toh(cp->session));
	mb_jadd_u64(o, "epoch", le64toh(cp->epoch));
	mb_jadd_u64(o, "checkpoint_seq", le64toh(cp->seq));
	mb_jadd_u64(o, "record", le64toh(cp->hdr.seq));
	json_object_object_add(v->durable, key, o);
}

static void rec_keep(struct jview *v, const unsigned char *blk, uint64_t b,
		     uint32_t off)
{
	const unsigned char *rec = blk + off;
	const struct mbatch_journal_rec *h = (const void *)rec;
	const struct mbatch_jrec_use *u = (const void *)rec;
	const struct mbatch_jrec_session *ss = (const void *)rec;
	const struct mbatch_jrec_open *op = (const void *)rec;
	const struct mbatch_jrec_checkpoint *cp = (const void *)rec;
	uint16_t type = le16toh(h->type);
	struct json_object *o;
	uint64_t cmds;
	size_t n;

	rec_durable(v, rec);
	if (!v->keep)
		return;
	o = json_object_new_object();
	mb_jadd_u64(o, "seq", le64toh(h->seq));
	mb_jadd_u64(o, "block", b);
	mb_jadd_u64(o, "offset", off);
	mb_jadd_str(o, "type", rec_type_name(type));
	switch (type) {
	case MBATCH_JREC_USE:
		mb_jadd_u64(o, "generation", le64toh(u->generation));
		break;
	case MBATCH_JREC_OPEN:
		mb_jadd_str(o, "kind", le16toh(ss->kind) == MBATCH_JSESSION_LOCAL ?
			    "local" : "participant");
		if (le16toh(ss->kind) == MBATCH_JSESSION_PARTICIPANT &&
		    le16toh(h->len) == sizeof(*op)) {
			mb_jadd_str(o, "peer", op->peer);
			mb_jadd_u64(o, "initiator_session", le32toh(op->isid));
		}
		/* fall through */
	case MBATCH_JREC_CLOSE:
		mb_jadd_u64(o, "session", le32toh(ss->session));
		break;
	case MBATCH_JREC_START:
		json_object_object_add(o, "runs",
				       rec_runs(rec, sizeof(struct mbatch_jrange),
						&cmds));
		mb_jadd_u64(o, "commands", cmds);
		break;
	case MBATCH_JREC_DONE:
		json_object_object_add(o, "runs",
				       rec_runs(rec, sizeof(struct mbatch_jdone),
						&cmds));
		mb_jadd_u64(o, "commands", cmds);
		break;
	case MBATCH_JREC_CHECKPOINT:
		mb_jadd_u64(o, "session", le32toh(cp->session));
		mb_jadd_u64(o, "checkpoint_seq", le64toh(cp->seq));
		mb_jadd_u64(o, "epoch", le64toh(cp->epoch));
		json_object_object_add(o, "status",
				       json_object_new_int((int32_t)
							   le32toh(cp->status)));
		json_object_object_add(o, "durable",
				       json_object_new_boolean(le32toh(cp->flags) &
							       MBATCH_JCP_F_DURABLE));
		json_object_object_add(o, "halted",
				       json_object_new_boolean(le32toh(cp->flags) &
							       MBATCH_JCP_F_HALTED));
		break;
	}
	json_object_array_add(v->recs, o);
	n = json_object_array_length(v->recs);
	if (v->keep != UINT64_MAX && n > v->keep)
		json_object_array_del_idx(v->recs, 0, n - v->keep);
}

/* The module's scan: from the head, the next record here or at the next
 * block's start, until neither holds it. */
static int jv_scan(struct jview *v)
{
	unsigned char blk[JB], next[JB];
	uint64_t b = v->head, seq = v->head_seq;
	uint32_t off = 0;
	uint16_t len;
	int st, rc;

	v->recs = json_object_new_array();
	v->durable = json_object_new_object();
	rc = jv_read(v, v->start + le64toh(v->sb.log_offset) + b * JB, blk, JB);
	while (!rc) {
		st = rec_check(v, blk, off, seq, &len);
		if (!st) {
			if (!off || (b + 1) % v->nblocks == v->head)
				break;
			rc = jv_read(v, v->start + le64toh(v->sb.log_offset) +
				     (b + 1) % v->nblocks * JB, next, JB);
			if (rc)
				return rc;
			st = rec_check(v, next, 0, seq, &len);
			if (!st)
				break;
			memcpy(blk, next, JB);
			b = (b + 1) % v->nblocks;
			off = 0;
		}
		if (st < 0)
			break;
		rec_keep(v, blk, b, off);
		off += len;
		seq++;
		v->records++;
		if (seq == UINT64_MAX) {
			v->refused = "its sequence numbers are used up";
			break;
		}
	}
	v->tail = b;
	v->tail_off = off;
	v->next_seq = seq;
	if (rc || v->refused)
		return rc;
	/* As the module: a later record past the end is damage. */
	if (rec_later(v, blk, off, seq)) {
		v->refused = "damaged: a later record lies past the log's end";
		return 0;
	}
	if ((b + 1) % v->nblocks == v->head)
		return 0;
	rc = jv_read(v, v->start + le64toh(v->sb.log_offset) +
		     (b + 1) % v->nblocks * JB, next, JB);
	if (!rc && rec_later(v, next, 0, seq))
		v->refused = "damaged: a later record lies past the log's end";
	return rc;
}

static uint64_t jv_room(const struct jview *v)
{
	return (v->head + v->nblocks - v->tail - 1) % v->nblocks *
	       (JB / MBATCH_JOURNAL_REC_MAX) +
	       (JB - v->tail_off) / MBATCH_JOURNAL_REC_MAX;
}

static void jv_print_durable(const struct jview *v)
{
	const char *sep = "";

	printf("durable   ");
	if (!json_object_object_length(v->durable))
		printf("none in the log");
	json_object_object_foreach(v->durable, key, o) {
		(void)key;
		printf("%ssession %llu epoch %llu (checkpoint seq %llu, record %llu)",
		       sep, (unsigned long long)mb_jget_u64(o, "session"),
		       (unsigned long long)mb_jget_u64(o, "epoch"),
		       (unsigned long long)mb_jget_u64(o, "checkpoint_seq"),
		       (unsigned long long)mb_jget_u64(o, "record"));
		sep = "; ";
	}
	printf("\n");
}

/* One record's detail: what its type holds. */
static void jv_print_detail(struct json_object *o)
{
	const char *type = mb_jget_str(o, "type");
	struct json_object *runs, *r;
	size_t i;

	if (!strcmp(type, "use")) {
		printf("generation %llu\n",
		       (unsigned long long)mb_jget_u64(o, "generation"));
	} else if (!strcmp(type, "open") || !strcmp(type, "close")) {
		printf("session %llu%s%s",
		       (unsigned long long)mb_jget_u64(o, "session"),
		       json_object_object_get_ex(o, "kind", NULL) ? " " : "",
		       json_object_object_get_ex(o, "kind", NULL) ?
		       mb_jget_str(o, "kind") : "");
		if (json_object_object_get_ex(o, "peer", NULL))
			printf(" peer %s initiator session %llu",
			       mb_jget_str(o, "peer"),
			       (unsigned long long)mb_jget_u64(o, "initiator_session"));
		printf("\n");
	} else if (!strcmp(type, "checkpoint")) {
		printf("session %llu seq %llu epoch %llu status %d%s%s\n",
		       (unsigned long long)mb_jget_u64(o, "session"),
		       (unsigned long long)mb_jget_u64(o, "checkpoint_seq"),
		       (unsigned long long)mb_jget_u64(o, "epoch"),
		       json_object_get_int(json_object_object_get(o, "status")),
		       json_object_get_boolean(json_object_object_get(o, "durable")) ?
		       " durable" : "",
		       json_object_get_boolean(json_object_object_get(o, "halted")) ?
		       " halted" : "");
	} else {
		printf("%llu commands:",
		       (unsigned long long)mb_jget_u64(o, "commands"));
		runs = json_object_object_get(o, "runs");
		for (i = 0; i < json_object_array_length(runs); i++) {
			uint64_t first, count;

			r = json_object_array_get_idx(runs, i);
			first = mb_jget_u64(r, "first_seq");
			count = mb_jget_u64(r, "count");
			printf(" s%llu:%llu", (unsigned long long)mb_jget_u64(r, "session"),
			       (unsigned long long)first);
			if (count > 1)
				printf("-%llu", (unsigned long long)(first + count - 1));
			if (json_object_object_get_ex(r, "status", NULL) &&
			    json_object_get_int(json_object_object_get(r, "status")))
				printf("=%d", json_object_get_int(json_object_object_get(r, "status")));
		}
		printf("\n");
	}
}

static void jv_print(const struct jview *v, const char *queue)
{
	char uuid[37], b1[32];
	size_t i, n = json_object_array_length(v->recs);

	mb_fmt_uuid(v->sb.uuid, uuid, sizeof(uuid));
	printf("journal   %s%s%s, %s %s, %s, uuid %s, generation %llu (copy %d)\n",
	       queue ? "queue " : "", queue ? queue : "", queue ? " on" : "",
	       le32toh(v->sb.flags) & MBATCH_JOURNAL_SB_F_INTERNAL ?
	       "internal on" : "device", v->path,
	       mb_fmt_size(le64toh(v->sb.size), b1, sizeof(b1)), uuid,
	       (unsigned long long)le64toh(v->sb.generation), v->copy);
	printf("log       %llu blocks, head block %llu seq %llu; %llu records, last %llu; end block %llu offset %u; room %llu records\n",
	       (unsigned long long)v->nblocks, (unsigned long long)v->head,
	       (unsigned long long)v->head_seq,
	       (unsigned long long)v->records,
	       (unsigned long long)(v->next_seq - 1),
	       (unsigned long long)v->tail, v->tail_off,
	       (unsigned long long)jv_room(v));
	printf("snapshot  none (this version writes none)\n");
	jv_print_durable(v);
	if (v->refused)
		printf("refused   at record %llu, %s: the module refuses this journal\n",
		       (unsigned long long)v->next_seq, v->refused);
	if (!n)
		return;
	printf("records   the last %zu of %llu\n", n,
	       (unsigned long long)v->records);
	printf("  %-20s %8s %6s %-10s %s\n", "SEQ", "BLOCK", "OFFSET", "TYPE",
	       "DETAIL");
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(v->recs, i);

		printf("  %-20llu %8llu %6llu %-10s ",
		       (unsigned long long)mb_jget_u64(o, "seq"),
		       (unsigned long long)mb_jget_u64(o, "block"),
		       (unsigned long long)mb_jget_u64(o, "offset"),
		       mb_jget_str(o, "type"));
		jv_print_detail(o);
	}
}

static void jv_json(struct jview *v, const char *queue)
{
	struct json_object *j = mb_jadd_object(mb_json_root(), "journal");
	struct json_object *log, *d;
	char uuid[37];

	if (queue)
		mb_jadd_str(j, "queue", queue);
	mb_jadd_str(j, "path", v->path);
	mb_jadd_str(j, "kind", le32toh(v->sb.flags) &
		    MBATCH_JOURNAL_SB_F_INTERNAL ? "internal" : "device");
	mb_jadd_u64(j, "size", le64toh(v->sb.size));
	mb_fmt_uuid(v->sb.uuid, uuid, sizeof(uuid));
	mb_jadd_str(j, "uuid", uuid);
	mb_jadd_u64(j, "generation", le64toh(v->sb.generation));
	mb_jadd_u64(j, "copy", (uint64_t)v->copy);
	log = mb_jadd_object(j, "log");
	mb_jadd_u64(log, "blocks", v->nblocks);
	mb_jadd_u64(log, "head_block", v->head);
	mb_jadd_u64(log, "head_seq", v->head_seq);
	mb_jadd_u64(log, "records", v->records);
	mb_jadd_u64(log, "seq", v->next_seq - 1);
	mb_jadd_u64(log, "end_block", v->tail);
	mb_jadd_u64(log, "end_offset", v->tail_off);
	mb_jadd_u64(log, "room", jv_room(v));
	if (v->refused)
		mb_jadd_str(log, "refused", v->refused);
	json_object_object_add(j, "snapshot", NULL);
	d = json_object_new_array();
	json_object_object_foreach(v->durable, key, o) {
		(void)key;
		json_object_array_add(d, json_object_get(o));
	}
	json_object_object_add(j, "durable", d);
	json_object_object_add(j, "records", json_object_get(v->recs));
}

/* Show the journal at the end of @path; @queue names its queue, or NULL. */
int mb_journal_show(const char *path, const char *queue, uint64_t keep)
{
	struct jview v = { .fd = -1, .keep = keep };
	int rc;

	crc_init();
	rc = jv_open(&v, path);
	if (!rc)
		rc = jv_pick(&v);
	if (!rc)
		rc = jv_scan(&v);
	if (!rc) {
		if (mb_json)
			jv_json(&v, queue);
		else
			jv_print(&v, queue);
		if (v.refused)
			rc = MB_EXIT_LOCAL;
	}
	jv_close(&v);
	return rc;
}

/* "records N|all": how many of the last records to show. */
int mb_journal_keep_arg(int argc, char **argv, int i, uint64_t *keep)
{
	*keep = 20;
	if (i == argc)
		return 0;
	if (argc - i != 2 || strcmp(argv[i], "records"))
		return mb_usage("unexpected '%s' (records N|all)", argv[i]);
	if (!strcmp(argv[i + 1], "all")) {
		*keep = UINT64_MAX;
		return 0;
	}
	if (mb_parse_u64(argv[i + 1], keep))
		return mb_usage("bad record count '%s'", argv[i + 1]);
	return 0;
}

static int journal_show(int argc, char **argv)
{
	uint64_t keep;
	int rc;

	if (argc < 2)
		return mb_usage("journal show PATH [records N|all]");
	rc = mb_journal_keep_arg(argc, argv, 2, &keep);
	if (rc)
		return rc;
	return mb_journal_show(argv[1], NULL, keep);
}

int cmd_journal(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "show", journal_show, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "journal", argc, argv);
}
