// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 7: malformed requests. Every entry of the table below is
 * sent on a live queue and session and must be refused with the expected
 * errno and an extack message containing the expected text (or, for a
 * missing attribute, NLMSGERR_ATTR_MISS_TYPE naming it); where the table
 * marks an attribute, NLMSGERR_ATTR_OFFS must point at exactly that
 * attribute (inside the right message of a batch). Afterwards nothing was
 * created or queued and the session still works.
 *
 * THE TABLE (mb_cases[]) IS THE CONTRACT FOR THE MODULE'S EXTACK TEXTS; the
 * texts themselves are named in mb_expect.h.
 */
#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

struct bctx {
	struct mb_env *e;
	const char *dev2;		/* a free block device */
	uint32_t sid;
	size_t mark, mark2;		/* offsets of the offending attribute */
	size_t nest;			/* offset of the offending message */
};

typedef void (*build_fn)(struct bctx *c, struct mb_req *r);

struct bcase {
	const char *name;
	uint8_t cmd;
	uint16_t nlflags;
	build_fn build;
	int err, err_alt;		/* positive errno; alt 0 = none */
	const char *x, *x_alt;		/* extack substrings; NULL: any */
	int miss;			/* missing attribute type, 0: none */
	int check_off;			/* NLMSGERR_ATTR_OFFS == mark/mark2 */
};

/* ---- building blocks ---------------------------------------------------- */

static unsigned char zbuf[MBATCH_MAX_IO_LEN + 4096];

static size_t msg_start(struct mb_req *r, uint64_t tag, uint32_t op)
{
	size_t n = mb_nest_start(r, MBATCH_A_MSG);

	mb_put_u64(r, MBATCH_MSG_A_TAG, tag);
	mb_put_u32(r, MBATCH_MSG_A_OP, op);
	return n;
}

static void msg_rw(struct mb_req *r, uint32_t op, uint64_t off, uint32_t len)
{
	size_t n = msg_start(r, off, op);

	mb_put_u64(r, MBATCH_MSG_A_OFFSET, off);
	mb_put_u32(r, MBATCH_MSG_A_LEN, len);
	if (op == MBATCH_OP_WRITE)
		mb_put(r, MBATCH_MSG_A_DATA, zbuf, len);
	mb_nest_end(r, n);
}

static void msg_cp(struct mb_req *r)
{
	mb_nest_end(r, msg_start(r, 99, MBATCH_OP_CHECKPOINT));
}

/* A batch whose message 2 (0-based) is the bad one. */
static void sub_pre(struct bctx *c, struct mb_req *r)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	msg_rw(r, MBATCH_OP_WRITE, 0, 512);
	msg_cp(r);
}

static void sub_post(struct mb_req *r)
{
	msg_rw(r, MBATCH_OP_READ, 0, 512);
}

#define B(fn) static void fn(struct bctx *c, struct mb_req *r)

/* ---- header / family ---------------------------------------------------- */
B(b_nothing) { (void)c; (void)r; }
B(b_genl_reserved) { (void)c; mb_req_genl(r)->reserved = 1; }
B(b_unknown_attr)
{
	c->mark = mb_put_u32(r, MBATCH_A_MAX + 5, 1);
}
B(b_nlflags_replace)
{
	(void)c;
	mb_req_nlh(r)->nlmsg_flags |= NLM_F_REPLACE;
}

/* ---- QUEUE_NEW ------------------------------------------------------------ */
B(qn_no_name) { mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2); }
B(qn_no_dev) { (void)c; mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_x"); }
B(qn_name_long)
{
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME,
			     "abcdefghijklmnopqrstuvwxyz0123456789AB");
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_name_empty)
{
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME, "");
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_name_char)
{
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME, "bad/name");
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_name_space)
{
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME, "bad name");
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_name_u32)
{
	c->mark = mb_put_u32(r, MBATCH_A_QUEUE_NAME, 0x41412f41); /* "A/AA" */
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
static void qn_ok(struct bctx *c, struct mb_req *r)
{
	mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_never");
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_depth0) { qn_ok(c, r); c->mark = mb_put_u32(r, MBATCH_A_QUEUE_DEPTH, 0); }
B(qn_depth_big)
{
	qn_ok(c, r);
	c->mark = mb_put_u32(r, MBATCH_A_QUEUE_DEPTH, MBATCH_DEPTH_MAX + 1);
}
B(qn_depth_u16) { qn_ok(c, r); c->mark = mb_put_u16(r, MBATCH_A_QUEUE_DEPTH, 4); }
B(qn_cmds0) { qn_ok(c, r); c->mark = mb_put_u32(r, MBATCH_A_QUEUE_MAX_CMDS, 0); }
B(qn_cmds_big)
{
	qn_ok(c, r);
	c->mark = mb_put_u32(r, MBATCH_A_QUEUE_MAX_CMDS, MBATCH_MAX_CMDS_MAX + 1);
}
B(qn_bytes_small)
{
	qn_ok(c, r);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_MAX_BYTES,
			     MBATCH_MAX_BYTES_MIN - 1);
}
B(qn_bytes_big)
{
	qn_ok(c, r);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_MAX_BYTES,
			     MBATCH_MAX_BYTES_MAX + 1);
}
B(qn_bytes_u32)
{
	qn_ok(c, r);
	c->mark = mb_put_u32(r, MBATCH_A_QUEUE_MAX_BYTES, 1 << 20);
}
B(qn_dup_name)
{
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME, c->e->queue);
	mb_put_str(r, MBATCH_A_QUEUE_DEV, c->dev2);
}
B(qn_dev_missing)
{
	mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_never");
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_DEV, "/dev/mbatch_no_such_dev");
}
B(qn_dev_notblk)
{
	mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_never");
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_DEV, "/dev/null");
}
B(qn_dev_busy)
{
	mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_never");
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_DEV, c->e->dev);
}
B(qn_dev_long)
{
	char p[MBATCH_DEV_PATH_MAX + 40];

	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = 0;
	mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_never");
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_DEV, p);
}

/* ---- QUEUE_DEL / QUEUE_GET / SESSION_* ----------------------------------- */
B(q_unknown) { c->mark = mb_put_str(r, MBATCH_A_QUEUE_NAME, "mbt_no_such_q"); }
B(q_no_name) { (void)c; (void)r; }
B(so_bad_flags)
{
	mb_put_str(r, MBATCH_A_QUEUE_NAME, c->e->queue);
	c->mark = mb_put_u32(r, MBATCH_A_SESSION_FLAGS, 1U << 5);
}
B(s_unknown) { c->mark = mb_put_u32(r, MBATCH_A_SESSION_ID, 0x7ffffff0); }
B(s_missing) { (void)c; (void)r; }
B(s_id_u64) { c->mark = mb_put_u64(r, MBATCH_A_SESSION_ID, c->sid); }
B(s_active) { mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid); }

/* ---- SUBMIT ------------------------------------------------------------- */
B(sub_no_session) { (void)c; msg_rw(r, MBATCH_OP_READ, 0, 512); }
B(sub_unknown_session)
{
	c->mark = mb_put_u32(r, MBATCH_A_SESSION_ID, 0x7ffffff0);
	msg_rw(r, MBATCH_OP_READ, 0, 512);
}
B(sub_no_msgs) { mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid); }
B(sub_too_many)
{
	int i;

	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	for (i = 0; i < MBATCH_MAX_BATCH_MSGS + 1; i++)
		msg_cp(r);
}
B(sub_msg_no_op)
{
	size_t n;

	sub_pre(c, r);
	n = mb_nest_start(r, MBATCH_A_MSG);
	c->nest = n;
	mb_put_u64(r, MBATCH_MSG_A_TAG, 1);
	mb_nest_end(r, n);
	sub_post(r);
}
static void sub_op(struct bctx *c, struct mb_req *r, uint32_t op)
{
	size_t n;

	sub_pre(c, r);
	n = mb_nest_start(r, MBATCH_A_MSG);
	mb_put_u64(r, MBATCH_MSG_A_TAG, 1);
	c->mark = mb_put_u32(r, MBATCH_MSG_A_OP, op);
	mb_nest_end(r, n);
	sub_post(r);
}
B(sub_op0) { sub_op(c, r, 0); }
B(sub_op_unknown) { sub_op(c, r, MBATCH_OP_MAX + 1); }
B(sub_op_huge) { sub_op(c, r, 0xffffffffU); }
/* a READ/WRITE/... message with some fields left out or changed */
enum { F_NO_OFF = 1, F_NO_LEN = 2, F_NO_DATA = 4, F_DATA_SHORT = 8,
	F_DATA_LONG = 16, F_FLAGS = 32, F_TAG_U32 = 64, F_NOT_NESTED = 128,
	F_UNKNOWN = 256, F_FLAG_BAD = 512, F_DATA = 1024, F_DATA_SMALL = 2048 };
static void sub_rw(struct bctx *c, struct mb_req *r, uint32_t op, uint64_t off,
		   uint32_t len, unsigned int f)
{
	size_t n, a;

	sub_pre(c, r);
	n = mb_nest_start(r, MBATCH_A_MSG);
	c->nest = n;
	if (f & F_NOT_NESTED)
		((struct nlattr *)(r->buf + n))->nla_type &= ~NLA_F_NESTED;
	if (f & F_NOT_NESTED)
		c->mark = n;
	if (f & F_TAG_U32)
		c->mark = mb_put_u32(r, MBATCH_MSG_A_TAG, 1);
	else
		mb_put_u64(r, MBATCH_MSG_A_TAG, 1);
	mb_put_u32(r, MBATCH_MSG_A_OP, op);
	if (f & (F_FLAGS | F_FLAG_BAD))
		c->mark = mb_put_u32(r, MBATCH_MSG_A_FLAGS,
				     (f & F_FLAG_BAD) ? 1U << 7 :
				     MBATCH_MSG_F_DURABLE);
	if (!(f & F_NO_OFF)) {
		a = mb_put_u64(r, MBATCH_MSG_A_OFFSET, off);
		if (!c->mark)
			c->mark = a;
	}
	if (!(f & F_NO_LEN)) {
		a = mb_put_u32(r, MBATCH_MSG_A_LEN, len);
		if (!c->mark2)
			c->mark2 = a;
	}
	if (f & F_UNKNOWN)
		c->mark = mb_put_u32(r, 50, 1);
	if ((op == MBATCH_OP_WRITE && !(f & F_NO_DATA)) || (f & F_DATA)) {
		uint32_t dl = len;

		if (f & F_DATA_SHORT)
			dl = len - 1;
		if (f & F_DATA_LONG)
			dl = len + 512;
		if (f & F_DATA_SMALL)
			dl = 512;
		a = mb_put(r, MBATCH_MSG_A_DATA, zbuf, dl);
		if (f & (F_DATA_SHORT | F_DATA_LONG | F_DATA))
			c->mark = c->mark2 = a;
		if (f & F_DATA_SMALL)
			c->mark = a;	/* mark2 stays on LEN */
	}
	mb_nest_end(r, n);
	sub_post(r);
}
B(sub_w_no_len) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_LEN | F_NO_DATA); }
B(sub_w_no_off) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_OFF); }
B(sub_r_len0) { sub_rw(c, r, MBATCH_OP_READ, 0, 0, 0); c->mark = c->mark2; }
B(sub_r_len_big)
{
	sub_rw(c, r, MBATCH_OP_READ, 0, MBATCH_MAX_IO_LEN + 512, 0);
	c->mark = c->mark2;
}
B(sub_w_len_big)
{
	/* 64 KiB of data cannot be encoded (nla_len is 16 bits): 512 bytes */
	sub_rw(c, r, MBATCH_OP_WRITE, 0, MBATCH_MAX_IO_LEN + 512, F_DATA_SMALL);
}
B(sub_d_len_big)
{
	sub_rw(c, r, MBATCH_OP_DISCARD, 0, MBATCH_MAX_ZERO_LEN + 512, 0);
	c->mark = c->mark2;
}
B(sub_wz_len0) { sub_rw(c, r, MBATCH_OP_WRITE_ZEROES, 0, 0, 0); c->mark = c->mark2; }
B(sub_w_off_unaligned) { sub_rw(c, r, MBATCH_OP_WRITE, 100, 512, 0); c->mark2 = c->mark; }
B(sub_r_len_unaligned) { sub_rw(c, r, MBATCH_OP_READ, 0, 1000, 0); c->mark = c->mark2; }
B(sub_d_off_unaligned) { sub_rw(c, r, MBATCH_OP_DISCARD, 7, 4096, 0); c->mark2 = c->mark; }
B(sub_r_beyond)
{
	sub_rw(c, r, MBATCH_OP_READ, c->e->capacity, 512, 0);
}
B(sub_r_straddle)
{
	sub_rw(c, r, MBATCH_OP_READ, c->e->capacity - 512, 1024, 0);
}
B(sub_r_wrap)
{
	sub_rw(c, r, MBATCH_OP_READ, 0ULL - 512, 1024, 0);
}
B(sub_wz_beyond)
{
	sub_rw(c, r, MBATCH_OP_WRITE_ZEROES, c->e->capacity - 512,
	       1U << 20, 0);
}
B(sub_w_no_data) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_DATA); }
B(sub_w_data_short) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_DATA_SHORT); }
B(sub_w_data_long) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_DATA_LONG); }
B(sub_r_data) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_DATA); }
B(sub_d_data) { sub_rw(c, r, MBATCH_OP_DISCARD, 0, 512, F_DATA); }
B(sub_w_flags)
{
	sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_FLAGS);
	c->mark2 = c->mark;
}
static void sub_cp_with(struct bctx *c, struct mb_req *r, unsigned int f)
{
	size_t n;

	sub_pre(c, r);
	n = msg_start(r, 5, f & 4 ? MBATCH_OP_FLUSH : MBATCH_OP_CHECKPOINT);
	if (f & 1)
		c->mark = c->mark2 = mb_put_u64(r, MBATCH_MSG_A_OFFSET, 0);
	if (f & 2)
		c->mark = c->mark2 = mb_put_u32(r, MBATCH_MSG_A_LEN, 512);
	if (f & 8)
		c->mark = c->mark2 = mb_put_u32(r, MBATCH_MSG_A_FLAGS, 1U << 7);
	if (f & 16)
		c->mark = c->mark2 = mb_put(r, MBATCH_MSG_A_DATA, zbuf, 512);
	mb_nest_end(r, n);
	sub_post(r);
}
B(sub_cp_off) { sub_cp_with(c, r, 1); }
B(sub_cp_len) { sub_cp_with(c, r, 2); }
B(sub_flush_off) { sub_cp_with(c, r, 4 | 1); }
B(sub_flush_flags) { sub_cp_with(c, r, 4 | 8); c->mark = c->mark2; }
B(sub_cp_bad_flag) { sub_cp_with(c, r, 8); }
B(sub_cp_data) { sub_cp_with(c, r, 16); }
B(sub_tag_u32) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_TAG_U32); c->mark2 = c->mark; }
B(sub_not_nested) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_NOT_NESTED); c->mark2 = c->mark; }
B(sub_msg_unknown_attr) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_UNKNOWN); c->mark2 = c->mark; }
B(sub_msg_u32)
{
	/* MBATCH_A_MSG that is a u32, not a nest */
	sub_pre(c, r);
	c->mark = c->mark2 = mb_put_u32(r, MBATCH_A_MSG, 1);
	sub_post(r);
}
B(sub_batch_id_u32)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u32(r, MBATCH_A_BATCH_ID, 7);
	msg_cp(r);
}

/* ---- COLLECT (dump) / BATCH_CANCEL ---------------------------------------- */
B(col_unknown) { c->mark = mb_put_u32(r, MBATCH_A_SESSION_ID, 0x7ffffff0); }
B(col_no_session) { (void)c; (void)r; }
B(col_timeout_big)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u32(r, MBATCH_A_COLLECT_TIMEOUT_MS,
			     MBATCH_COLLECT_TIMEOUT_MAX_MS + 1);
}
B(col_bad_flags)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u32(r, MBATCH_A_COLLECT_FLAGS, 1U << 3);
}
B(col_ack_ahead)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u64(r, MBATCH_A_COLLECT_ACK, 1000000);
}
B(col_min_u64)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u64(r, MBATCH_A_COLLECT_MIN, 1);
}
B(bc_no_batch) { mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid); }
B(bc_unknown_batch)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u64(r, MBATCH_A_BATCH_ID, 0xdeadbeef);
}

/* ---- THE TABLE ------------------------------------------------------------- */
#define DUMP	NLM_F_DUMP
#define C(n)	MBATCH_CMD_##n

static const struct bcase mb_cases[] = {
/* name                      cmd           flags build       errno  alt     extack          alt  miss  off */
{ "unknown command",         200,          0, b_nothing,     EOPNOTSUPP, 0, NULL, NULL, 0, 0 },
{ "genl reserved set",       C(VERSION_GET), 0, b_genl_reserved, EINVAL, 0, X_GENL_RESERVED, NULL, 0, 0 },
{ "nlmsg_flags REPLACE",     C(QUEUE_DEL), 0, b_nlflags_replace, EINVAL, 0, X_NLFLAGS, NULL, 0, 0 },
{ "unknown top attribute",   C(VERSION_GET), 0, b_unknown_attr, EINVAL, 0, X_UNKNOWN_ATTR, NULL, 0, 1 },
{ "queue-new no name",       C(QUEUE_NEW), 0, qn_no_name,    EINVAL, 0, X_MISSING, NULL, MBATCH_A_QUEUE_NAME, 0 },
{ "queue-new no dev",        C(QUEUE_NEW), 0, qn_no_dev,     EINVAL, 0, X_MISSING, NULL, MBATCH_A_QUEUE_DEV, 0 },
{ "queue-new name too long", C(QUEUE_NEW), 0, qn_name_long,  ERANGE, EINVAL, X_POLICY, X_QUEUE_NAME, 0, 1 },
{ "queue-new empty name",    C(QUEUE_NEW), 0, qn_name_empty, EINVAL, 0, X_QUEUE_NAME, NULL, 0, 1 },
{ "queue-new name with /",   C(QUEUE_NEW), 0, qn_name_char,  EINVAL, 0, X_QUEUE_NAME, NULL, 0, 1 },
{ "queue-new name with space", C(QUEUE_NEW), 0, qn_name_space, EINVAL, 0, X_QUEUE_NAME, NULL, 0, 1 },
{ "queue-new name not a string", C(QUEUE_NEW), 0, qn_name_u32, EINVAL, 0, X_POLICY, X_QUEUE_NAME, 0, 1 },
{ "queue-new depth 0",       C(QUEUE_NEW), 0, qn_depth0,     ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new depth > max",   C(QUEUE_NEW), 0, qn_depth_big,  ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new depth as u16",  C(QUEUE_NEW), 0, qn_depth_u16,  EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "queue-new max-cmds 0",    C(QUEUE_NEW), 0, qn_cmds0,      ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new max-cmds > max", C(QUEUE_NEW), 0, qn_cmds_big,  ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new max-bytes < min", C(QUEUE_NEW), 0, qn_bytes_small, ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new max-bytes > max", C(QUEUE_NEW), 0, qn_bytes_big, ERANGE, 0, X_RANGE, NULL, 0, 1 },
{ "queue-new max-bytes as u32", C(QUEUE_NEW), 0, qn_bytes_u32, EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "queue-new duplicate name", C(QUEUE_NEW), 0, qn_dup_name,  EEXIST, 0, X_QUEUE_EXISTS, NULL, 0, 1 },
{ "queue-new no such device", C(QUEUE_NEW), 0, qn_dev_missing, ENOENT, 0, X_DEV_OPEN, NULL, 0, 1 },
{ "queue-new not a block device", C(QUEUE_NEW), 0, qn_dev_notblk, ENOTBLK, 0, X_DEV_OPEN, NULL, 0, 1 },
{ "queue-new device in use", C(QUEUE_NEW), 0, qn_dev_busy,   EBUSY, 0, X_DEV_BUSY, NULL, 0, 1 },
{ "queue-new dev path too long", C(QUEUE_NEW), 0, qn_dev_long, ERANGE, EINVAL, X_POLICY, NULL, 0, 1 },
{ "queue-del unknown queue", C(QUEUE_DEL), 0, q_unknown,     ENOENT, 0, X_NO_QUEUE, NULL, 0, 1 },
{ "queue-del no name",       C(QUEUE_DEL), 0, q_no_name,     EINVAL, 0, X_MISSING, NULL, MBATCH_A_QUEUE_NAME, 0 },
{ "queue-get unknown queue", C(QUEUE_GET), 0, q_unknown,     ENOENT, 0, X_NO_QUEUE, NULL, 0, 1 },
{ "session-open unknown queue", C(SESSION_OPEN), 0, q_unknown, ENOENT, 0, X_NO_QUEUE, NULL, 0, 1 },
{ "session-open no queue",   C(SESSION_OPEN), 0, q_no_name,  EINVAL, 0, X_MISSING, NULL, MBATCH_A_QUEUE_NAME, 0 },
{ "session-open bad flags",  C(SESSION_OPEN), 0, so_bad_flags, EINVAL, 0, X_RESERVED_BIT, NULL, 0, 1 },
{ "session-close unknown",   C(SESSION_CLOSE), 0, s_unknown, ENOENT, 0, X_NO_SESSION, NULL, 0, 1 },
{ "session-close no id",     C(SESSION_CLOSE), 0, s_missing, EINVAL, 0, X_MISSING, NULL, MBATCH_A_SESSION_ID, 0 },
{ "session-close id as u64", C(SESSION_CLOSE), 0, s_id_u64,  EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "session-get unknown",     C(SESSION_GET), 0, s_unknown,   ENOENT, 0, X_NO_SESSION, NULL, 0, 1 },
{ "resume unknown session",  C(RESUME), 0, s_unknown,        ENOENT, 0, X_NO_SESSION, NULL, 0, 1 },
{ "resume active session",   C(RESUME), 0, s_active,         EINVAL, 0, X_NOT_HALTED, NULL, 0, 0 },
{ "submit no session",       C(SUBMIT), 0, sub_no_session,   EINVAL, 0, X_MISSING, NULL, MBATCH_A_SESSION_ID, 0 },
{ "submit unknown session",  C(SUBMIT), 0, sub_unknown_session, ENOENT, 0, X_NO_SESSION, NULL, 0, 1 },
{ "submit no messages",      C(SUBMIT), 0, sub_no_msgs,      EINVAL, 0, X_NO_MSGS, X_MISSING, 0, 0 },
{ "submit too many messages", C(SUBMIT), 0, sub_too_many,    E2BIG, EINVAL, X_TOO_MANY_MSGS, NULL, 0, 0 },
{ "batch id as u32",         C(SUBMIT), 0, sub_batch_id_u32, EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "msg not a nest",          C(SUBMIT), 0, sub_msg_u32,      EINVAL, 0, X_NESTED, X_ATTRLEN, 0, 1 },
{ "msg without NLA_F_NESTED", C(SUBMIT), 0, sub_not_nested,  EINVAL, 0, X_NESTED, NULL, 0, 1 },
{ "msg unknown attribute",   C(SUBMIT), 0, sub_msg_unknown_attr, EINVAL, 0, X_UNKNOWN_ATTR, NULL, 0, 1 },
{ "msg tag as u32",          C(SUBMIT), 0, sub_tag_u32,      EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "msg without op",          C(SUBMIT), 0, sub_msg_no_op,    EINVAL, 0, X_MISSING, NULL, MBATCH_MSG_A_OP, 0 },
{ "msg op 0",                C(SUBMIT), 0, sub_op0,          ERANGE, EINVAL, X_RANGE, NULL, 0, 1 },
{ "msg unknown op",          C(SUBMIT), 0, sub_op_unknown,   ERANGE, EINVAL, X_RANGE, NULL, 0, 1 },
{ "msg op 0xffffffff",       C(SUBMIT), 0, sub_op_huge,      ERANGE, EINVAL, X_RANGE, NULL, 0, 1 },
{ "write without len",       C(SUBMIT), 0, sub_w_no_len,     EINVAL, 0, X_MISSING, NULL, MBATCH_MSG_A_LEN, 0 },
{ "write without offset",    C(SUBMIT), 0, sub_w_no_off,     EINVAL, 0, X_MISSING, NULL, MBATCH_MSG_A_OFFSET, 0 },
{ "read len 0",              C(SUBMIT), 0, sub_r_len0,       EINVAL, ERANGE, X_LEN, X_RANGE, 0, 1 },
{ "read len > max io",       C(SUBMIT), 0, sub_r_len_big,    EINVAL, ERANGE, X_LEN, NULL, 0, 1 },
{ "write len > max io",      C(SUBMIT), 0, sub_w_len_big,    EINVAL, ERANGE, X_LEN, X_DATA_LEN, 0, 1 },
{ "discard len > max zero",  C(SUBMIT), 0, sub_d_len_big,    EINVAL, ERANGE, X_LEN, X_RANGE, 0, 1 },
{ "write-zeroes len 0",      C(SUBMIT), 0, sub_wz_len0,      EINVAL, ERANGE, X_LEN, X_RANGE, 0, 1 },
{ "write offset misaligned", C(SUBMIT), 0, sub_w_off_unaligned, EINVAL, 0, X_UNALIGNED, NULL, 0, 1 },
{ "read len misaligned",     C(SUBMIT), 0, sub_r_len_unaligned, EINVAL, 0, X_UNALIGNED, NULL, 0, 1 },
{ "discard offset misaligned", C(SUBMIT), 0, sub_d_off_unaligned, EINVAL, 0, X_UNALIGNED, NULL, 0, 1 },
{ "read at capacity",        C(SUBMIT), 0, sub_r_beyond,     ERANGE, EINVAL, X_BEYOND, NULL, 0, 1 },
{ "read straddling the end", C(SUBMIT), 0, sub_r_straddle,   ERANGE, EINVAL, X_BEYOND, NULL, 0, 1 },
{ "read offset+len wraps",   C(SUBMIT), 0, sub_r_wrap,       ERANGE, EINVAL, X_BEYOND, NULL, 0, 1 },
{ "write-zeroes past the end", C(SUBMIT), 0, sub_wz_beyond,  ERANGE, EINVAL, X_BEYOND, NULL, 0, 1 },
{ "write without data",      C(SUBMIT), 0, sub_w_no_data,    EINVAL, 0, X_DATA_LEN, X_MISSING, MBATCH_MSG_A_DATA, 0 },
{ "write data shorter than len", C(SUBMIT), 0, sub_w_data_short, EINVAL, 0, X_DATA_LEN, NULL, 0, 1 },
{ "write data longer than len", C(SUBMIT), 0, sub_w_data_long, EINVAL, 0, X_DATA_LEN, NULL, 0, 1 },
{ "data on read",            C(SUBMIT), 0, sub_r_data,       EINVAL, 0, X_DATA_NOT_ALLOWED, NULL, 0, 1 },
{ "data on discard",         C(SUBMIT), 0, sub_d_data,       EINVAL, 0, X_DATA_NOT_ALLOWED, NULL, 0, 1 },
{ "data on checkpoint",      C(SUBMIT), 0, sub_cp_data,      EINVAL, 0, X_DATA_NOT_ALLOWED, NULL, 0, 1 },
{ "flags on write",          C(SUBMIT), 0, sub_w_flags,      EINVAL, 0, X_FLAGS_ONLY_CP, NULL, 0, 1 },
{ "flags on flush",          C(SUBMIT), 0, sub_flush_flags,  EINVAL, 0, X_FLAGS_ONLY_CP, X_RESERVED_BIT, 0, 1 },
{ "unknown checkpoint flag", C(SUBMIT), 0, sub_cp_bad_flag,  EINVAL, 0, X_RESERVED_BIT, NULL, 0, 1 },
{ "offset on checkpoint",    C(SUBMIT), 0, sub_cp_off,       EINVAL, 0, X_NO_RANGE, NULL, 0, 1 },
{ "len on checkpoint",       C(SUBMIT), 0, sub_cp_len,       EINVAL, 0, X_NO_RANGE, X_LEN, 0, 1 },
{ "offset on flush",         C(SUBMIT), 0, sub_flush_off,    EINVAL, 0, X_NO_RANGE, NULL, 0, 1 },
/*
 * An error of the collect itself (raised while dumping, not by the policy)
 * ends the dump: it is NLMSG_DONE's error with the extack message but no
 * attribute offset, on every kernel.
 */
{ "collect unknown session", C(COLLECT), DUMP, col_unknown,  ENOENT, 0, X_NO_SESSION, NULL, 0, 0 },
{ "collect no session",      C(COLLECT), DUMP, col_no_session, EINVAL, 0, X_MISSING, NULL, MBATCH_A_SESSION_ID, 0 },
{ "collect timeout > max",   C(COLLECT), DUMP, col_timeout_big, ERANGE, 0, X_RANGE, X_COLLECT_TIMEOUT, 0, 1 },
{ "collect bad flags",       C(COLLECT), DUMP, col_bad_flags, EINVAL, 0, X_RESERVED_BIT, NULL, 0, 1 },
{ "collect ack ahead",       C(COLLECT), DUMP, col_ack_ahead, EINVAL, 0, X_ACK_AHEAD, NULL, 0, 0 },
{ "collect min as u64",      C(COLLECT), DUMP, col_min_u64,  EINVAL, 0, X_ATTRLEN, NULL, 0, 1 },
{ "collect as a do request", C(COLLECT), 0, s_active,        EOPNOTSUPP, 0, NULL, NULL, 0, 0 },
{ "batch-cancel no batch id", C(BATCH_CANCEL), 0, bc_no_batch, EINVAL, 0, X_MISSING, NULL, MBATCH_A_BATCH_ID, 0 },
{ "batch-cancel unknown batch", C(BATCH_CANCEL), 0, bc_unknown_batch, ENOENT, 0, X_NO_BATCH, NULL, 0, 1 },
};

#define NCASES	(sizeof(mb_cases) / sizeof(mb_cases[0]))

FIXTURE(bad) {
	struct mb_env e;
	uint32_t sid;
	char name2[64], dev2[128];
};

FIXTURE_SETUP(bad)
{
	const char *err = mb_env_setup(&self->e,
		"size=64 blocksize=512 memory_backed=1 irqmode=2 completion_nsec=10000 discard=1",
		0, 0, 0);

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_nullb_create("size=16", self->name2,
				     sizeof(self->name2), self->dev2,
				     sizeof(self->dev2)));
}

FIXTURE_TEARDOWN(bad)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid));
	EXPECT_TRUE(mb_dev_free(self->dev2))
		TH_LOG("a refused QUEUE_NEW left %s open", self->dev2);
	EXPECT_EQ(0, mb_nullb_remove(self->name2));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

TEST_F_TIMEOUT(bad, table, 60)
{
	struct mb_session_info si;
	struct mb_queue_info qi[64];
	unsigned int fails = 0;
	size_t i;
	int nq0, nq1, j;

	nq0 = mb_queue_dump(&self->e.s, qi, 64);
	ASSERT_GE(nq0, 1);
	TH_LOG("%zu malformed requests", NCASES);
	for (i = 0; i < NCASES; i++) {
		const struct bcase *t = &mb_cases[i];
		struct bctx c = { .e = &self->e, .dev2 = self->dev2,
				  .sid = self->sid };
		struct mb_sock *s = &self->e.s;
		const struct mb_err *x = &s->err;
		char got[900];
		int ret, ok_err, ok_txt, ok_off = 1;
		struct mb_req r;

		mb_req_init(&r, s, t->cmd, t->nlflags);
		t->build(&c, &r);
		if (c.mark && !c.mark2)
			c.mark2 = c.mark;
		ret = mb_transact(s, &r, NULL, NULL);
		mb_req_free(&r);

		ok_err = ret == -t->err || (t->err_alt && ret == -t->err_alt);
		ok_txt = !t->x || mb_contains(x->msg, t->x) ||
			 (t->x_alt && mb_contains(x->msg, t->x_alt)) ||
			 (t->miss && x->has_miss &&
			  x->miss_type == (uint32_t)t->miss);
		if (t->miss && !t->x)
			ok_txt = x->has_miss && x->miss_type == (uint32_t)t->miss;
		if (t->check_off && c.mark)
			ok_off = x->has_off &&
				 (x->off == c.mark || x->off == c.mark2);
		snprintf(got, sizeof(got), "%s", mb_strerr(s));
		if (!ok_err || !ok_txt || !ok_off) {
			fails++;
			TH_LOG("case %zu \"%s\": want -%d%s%s \"%s\"%s%s%s, mark %zu/%zu; got %d: %s",
			       i, t->name, t->err, t->err_alt ? "|-" : "",
			       t->err_alt ? strerror(t->err_alt) : "",
			       t->x ? t->x : "(any)",
			       t->x_alt ? " | \"" : "",
			       t->x_alt ? t->x_alt : "",
			       t->x_alt ? "\"" : "", c.mark, c.mark2, ret, got);
		}
	}
	EXPECT_EQ(0, fails) TH_LOG("%u of %zu malformed requests not refused as specified",
				   fails, NCASES);
	ASSERT_GE(NCASES, 30);

	/* nothing was created, queued or halted */
	nq1 = mb_queue_dump(&self->e.s, qi, 64);
	EXPECT_EQ(nq0, nq1);
	for (j = 0; j < nq1 && j < 64; j++)
		EXPECT_STRNE("mbt_never", qi[j].name);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch queued something");
	EXPECT_EQ(0, si.epoch);

	/* and the session still works */
	{
		struct mb_cmd cm[2] = {
			{ .tag = 1, .op = MBATCH_OP_READ, .offset = 0, .len = 512 },
			{ .tag = 2, .op = MBATCH_OP_CHECKPOINT },
		};
		struct mb_result *res = NULL;
		uint32_t nr = 0;

		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, cm, 2, NULL))
			TH_LOG("%s", mb_strerr(&self->e.s));
		ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2, 10000,
					    &res, &nr));
		EXPECT_EQ(2, nr);
		EXPECT_EQ(1, res[0].seq);
		mb_results_free(res, nr);
	}
}

/* Truncated and garbage messages must not crash or confuse the family. */
TEST_F(bad, truncated_attributes)
{
	struct mb_req r;
	int ret;

	/* attribute length running past the message */
	mb_req_init(&r, &self->e.s, MBATCH_CMD_SUBMIT, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, self->sid);
	msg_cp(&r);
	((struct nlattr *)(r.buf + r.len - 4 * 3 - 4 * 2))->nla_len += 200;
	ret = mb_transact(&self->e.s, &r, NULL, NULL);
	mb_req_free(&r);
	EXPECT_EQ(-EINVAL, ret) TH_LOG("%s", mb_strerr(&self->e.s));

	/* a nest containing half an attribute header */
	mb_req_init(&r, &self->e.s, MBATCH_CMD_SUBMIT, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, self->sid);
	mb_put(&r, MBATCH_A_MSG | NLA_F_NESTED, "\x08\x00", 2);
	ret = mb_transact(&self->e.s, &r, NULL, NULL);
	mb_req_free(&r);
	EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE)
		TH_LOG("%d: %s", ret, mb_strerr(&self->e.s));
}

TEST_HARNESS_MAIN
