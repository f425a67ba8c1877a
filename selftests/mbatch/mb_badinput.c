// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 7: malformed requests. Every entry of the table below is
 * sent on a live queue and session and must be refused with exactly the
 * expected errno and an extack message containing the expected text (a
 * text only that refusal has), with the bad attribute's offset exactly
 * where the builder put it (or no offset where none applies) and, for a
 * missing attribute, NLMSGERR_ATTR_MISS_TYPE naming it. For a bad message
 * of a batch the offset must lie in that message and, on 6.2+, the
 * module's text must start "message N:". Afterwards nothing was created
 * or queued and the session still works. A DISCARD on a device without
 * discard is refused the same way.
 *
 * THE TABLE (mb_cases[]) IS THE CONTRACT FOR THE MODULE'S EXTACK TEXTS; the
 * texts themselves are named in mb_expect.h.
 */
#include <sys/utsname.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

struct bctx {
	struct mb_env *e;
	const char *dev2;		/* a free block device */
	uint32_t sid;
	size_t mark;			/* NLMSGERR_ATTR_OFFS wanted, 0: none */
	size_t nest;			/* the bad message (MISS_NEST), 0: none */
	/* where sub_rw() put each attribute of the bad message */
	size_t a_tag, a_op, a_flags, a_off, a_len, a_data, a_unknown;
};

typedef void (*build_fn)(struct bctx *c, struct mb_req *r);

enum { X_CORE, X_MOD };		/* whose text: the netlink core's, ours */

struct bcase {
	const char *name;
	uint8_t cmd;
	uint16_t nlflags;
	build_fn build;
	int err;			/* the positive errno, exactly */
	const char *x;			/* a text only this refusal has; NULL:
					 * no message at all
					 */
	int src;			/* X_CORE or X_MOD */
	int miss;			/* NLMSGERR_ATTR_MISS_TYPE, 0: none */
	int msg;			/* index of the bad message of the
					 * batch, -1: not inside a message
					 */
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
#define BAD_MSG		2

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
B(qn_j_size_alone)
{
	qn_ok(c, r);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_JOURNAL_SIZE,
			     MBATCH_JOURNAL_SIZE_MIN);
}
B(qn_j_size_align)
{
	qn_ok(c, r);
	mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_INTERNAL);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_JOURNAL_SIZE,
			     MBATCH_JOURNAL_SIZE_MIN + 512);
}
B(qn_j_size_small)
{
	qn_ok(c, r);
	mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_INTERNAL);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_JOURNAL_SIZE,
			     MBATCH_JOURNAL_SIZE_MIN - 4096);
}
B(qn_j_size_big)
{
	qn_ok(c, r);
	mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_INTERNAL);
	c->mark = mb_put_u64(r, MBATCH_A_QUEUE_JOURNAL_SIZE,
			     MBATCH_JOURNAL_SIZE_MAX + 4096);
}
B(qn_j_kind0) { qn_ok(c, r); c->mark = mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, 0); }
B(qn_j_kind3)
{
	qn_ok(c, r);
	c->mark = mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_DEVICE + 1);
}
B(qn_j_no_dev)
{
	qn_ok(c, r);
	mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_DEVICE);
}
B(qn_j_dev_alone)
{
	qn_ok(c, r);
	mb_put_u32(r, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_INTERNAL);
	c->mark = mb_put_str(r, MBATCH_A_QUEUE_JOURNAL_DEV, "/dev/null");
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
	c->nest = c->mark = n;
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
/* Builds message BAD_MSG and records where each attribute went. */
static void sub_rw(struct bctx *c, struct mb_req *r, uint32_t op, uint64_t off,
		   uint32_t len, unsigned int f)
{
	size_t n;

	sub_pre(c, r);
	n = mb_nest_start(r, MBATCH_A_MSG);
	c->nest = n;
	if (f & F_NOT_NESTED)
		((struct nlattr *)(r->buf + n))->nla_type &= ~NLA_F_NESTED;
	if (f & F_TAG_U32)
		c->a_tag = mb_put_u32(r, MBATCH_MSG_A_TAG, 1);
	else
		c->a_tag = mb_put_u64(r, MBATCH_MSG_A_TAG, 1);
	c->a_op = mb_put_u32(r, MBATCH_MSG_A_OP, op);
	if (f & (F_FLAGS | F_FLAG_BAD))
		c->a_flags = mb_put_u32(r, MBATCH_MSG_A_FLAGS,
					(f & F_FLAG_BAD) ? 1U << 7 :
					MBATCH_MSG_F_DURABLE);
	if (!(f & F_NO_OFF))
		c->a_off = mb_put_u64(r, MBATCH_MSG_A_OFFSET, off);
	if (!(f & F_NO_LEN))
		c->a_len = mb_put_u32(r, MBATCH_MSG_A_LEN, len);
	if (f & F_UNKNOWN)
		c->a_unknown = mb_put_u32(r, 50, 1);
	if ((op == MBATCH_OP_WRITE && !(f & F_NO_DATA)) || (f & F_DATA)) {
		uint32_t dl = len;

		if (f & F_DATA_SHORT)
			dl = len - 1;
		if (f & F_DATA_LONG)
			dl = len + 512;
		if (f & F_DATA_SMALL)
			dl = 512;
		c->a_data = mb_put(r, MBATCH_MSG_A_DATA, zbuf, dl);
	}
	mb_nest_end(r, n);
	sub_post(r);
}
B(sub_w_no_len)
{
	sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_LEN | F_NO_DATA);
	c->mark = c->nest;
}
B(sub_w_no_off) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_OFF); c->mark = c->nest; }
B(sub_r_len0) { sub_rw(c, r, MBATCH_OP_READ, 0, 0, 0); c->mark = c->a_len; }
B(sub_r_len_big)
{
	sub_rw(c, r, MBATCH_OP_READ, 0, MBATCH_MAX_IO_LEN + 512, 0);
	c->mark = c->a_len;
}
B(sub_w_len_big)
{
	/*
	 * 512 bytes of data: within the data policy's MBATCH_MAX_IO_LEN, so
	 * the core lets it through, and the data-length check, which would
	 * come next, names DATA, not LEN, in another text.
	 */
	sub_rw(c, r, MBATCH_OP_WRITE, 0, MBATCH_MAX_IO_LEN + 512, F_DATA_SMALL);
	c->mark = c->a_len;
}
B(sub_d_len_big)
{
	sub_rw(c, r, MBATCH_OP_DISCARD, 0, MBATCH_MAX_ZERO_LEN + 512, 0);
	c->mark = c->a_len;
}
B(sub_wz_len0) { sub_rw(c, r, MBATCH_OP_WRITE_ZEROES, 0, 0, 0); c->mark = c->a_len; }
B(sub_w_off_unaligned) { sub_rw(c, r, MBATCH_OP_WRITE, 100, 512, 0); c->mark = c->a_off; }
B(sub_r_len_unaligned) { sub_rw(c, r, MBATCH_OP_READ, 0, 1000, 0); c->mark = c->a_len; }
B(sub_d_off_unaligned) { sub_rw(c, r, MBATCH_OP_DISCARD, 7, 4096, 0); c->mark = c->a_off; }
B(sub_r_beyond)
{
	sub_rw(c, r, MBATCH_OP_READ, c->e->capacity, 512, 0);
	c->mark = c->a_off;
}
B(sub_r_straddle)
{
	sub_rw(c, r, MBATCH_OP_READ, c->e->capacity - 512, 1024, 0);
	c->mark = c->a_off;
}
B(sub_r_wrap)
{
	sub_rw(c, r, MBATCH_OP_READ, 0ULL - 512, 1024, 0);
	c->mark = c->a_off;
}
B(sub_wz_beyond)
{
	sub_rw(c, r, MBATCH_OP_WRITE_ZEROES, c->e->capacity - 512,
	       1U << 20, 0);
	c->mark = c->a_off;
}
B(sub_w_no_data) { sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_NO_DATA); c->mark = c->nest; }
B(sub_w_data_short)
{
	sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_DATA_SHORT);
	c->mark = c->a_data;
}
B(sub_w_data_long)
{
	sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_DATA_LONG);
	c->mark = c->a_data;
}
B(sub_r_data) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_DATA); c->mark = c->a_data; }
B(sub_d_data) { sub_rw(c, r, MBATCH_OP_DISCARD, 0, 512, F_DATA); c->mark = c->a_data; }
B(sub_w_flags)
{
	sub_rw(c, r, MBATCH_OP_WRITE, 0, 512, F_FLAGS);
	c->mark = c->a_flags;
}
static void sub_cp_with(struct bctx *c, struct mb_req *r, unsigned int f)
{
	size_t n;

	sub_pre(c, r);
	n = msg_start(r, 5, f & 4 ? MBATCH_OP_FLUSH : MBATCH_OP_CHECKPOINT);
	c->nest = n;
	if (f & 1)
		c->mark = mb_put_u64(r, MBATCH_MSG_A_OFFSET, 0);
	if (f & 2)
		c->mark = mb_put_u32(r, MBATCH_MSG_A_LEN, 512);
	if (f & 8)
		c->mark = mb_put_u32(r, MBATCH_MSG_A_FLAGS, 1U << 7);
	if (f & 32)
		c->mark = mb_put_u32(r, MBATCH_MSG_A_FLAGS,
				     MBATCH_MSG_F_DURABLE);
	if (f & 16)
		c->mark = mb_put(r, MBATCH_MSG_A_DATA, zbuf, 512);
	mb_nest_end(r, n);
	sub_post(r);
}
B(sub_cp_off) { sub_cp_with(c, r, 1); }
B(sub_cp_len) { sub_cp_with(c, r, 2); }
B(sub_flush_off) { sub_cp_with(c, r, 4 | 1); }
/* a flag that is valid on a checkpoint, so the policy lets it through */
B(sub_flush_flags) { sub_cp_with(c, r, 4 | 32); }
B(sub_cp_bad_flag) { sub_cp_with(c, r, 8); }
B(sub_cp_data) { sub_cp_with(c, r, 16); }
B(sub_tag_u32) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_TAG_U32); c->mark = c->a_tag; }
B(sub_not_nested) { sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_NOT_NESTED); c->mark = c->nest; }
B(sub_msg_unknown_attr)
{
	sub_rw(c, r, MBATCH_OP_READ, 0, 512, F_UNKNOWN);
	c->mark = c->a_unknown;
}
B(sub_msg_u32)
{
	/* MBATCH_A_MSG that is a u32, not a nest */
	sub_pre(c, r);
	c->mark = mb_put_u32(r, MBATCH_A_MSG, 1);
	sub_post(r);
}
B(sub_batch_id_u32)
{
	mb_put_u32(r, MBATCH_A_SESSION_ID, c->sid);
	c->mark = mb_put_u32(r, MBATCH_A_BATCH_ID, 7);
	msg_cp(r);
}

/* ---- COLLECT (dump) / BATCH_CANCEL ---------------------------------------- */
B(col_unknown) { mb_put_u32(r, MBATCH_A_SESSION_ID, 0x7ffffff0); }
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
	mb_put_u64(r, MBATCH_A_COLLECT_ACK, 1000000);
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
/*
 * Every row is checked exactly: the errno; the text (NULL: none); the
 * offset, which the builder sets (c->mark; 0: the reply must carry none);
 * the missing attribute's type, and its nest for a message's own
 * attribute (c->nest), or that nothing is named missing; for a message
 * of a batch, that the offset is inside that message and, on kernels that
 * format extack messages (6.2+), that the module's text says "message N:".
 */
#define DUMP	NLM_F_DUMP
#define C(n)	MBATCH_CMD_##n
#define NONE	(-1)
#define M	BAD_MSG

static const struct bcase mb_cases[] = {
/* name                      cmd           flags build        errno   extack  whose  missing  message */
{ "unknown command",         200,          0, b_nothing,     EOPNOTSUPP, NULL, X_CORE, 0, NONE },
{ "genl reserved set",       C(VERSION_GET), 0, b_genl_reserved, EINVAL, X_GENL_RESERVED, X_CORE, 0, NONE },
{ "nlmsg_flags REPLACE",     C(QUEUE_DEL), 0, b_nlflags_replace, EINVAL, X_NLFLAGS, X_CORE, 0, NONE },
{ "unknown top attribute",   C(VERSION_GET), 0, b_unknown_attr, EINVAL, X_UNKNOWN_ATTR, X_CORE, 0, NONE },
{ "queue-new no name",       C(QUEUE_NEW), 0, qn_no_name,    EINVAL, X_MISS_QUEUE, X_MOD, MBATCH_A_QUEUE_NAME, NONE },
{ "queue-new no dev",        C(QUEUE_NEW), 0, qn_no_dev,     EINVAL, X_MISS_DEV, X_MOD, MBATCH_A_QUEUE_DEV, NONE },
{ "queue-new name too long", C(QUEUE_NEW), 0, qn_name_long,  EINVAL, X_POLICY, X_CORE, 0, NONE },
{ "queue-new empty name",    C(QUEUE_NEW), 0, qn_name_empty, EINVAL, X_QUEUE_NAME, X_MOD, 0, NONE },
{ "queue-new name with /",   C(QUEUE_NEW), 0, qn_name_char,  EINVAL, X_QUEUE_NAME, X_MOD, 0, NONE },
{ "queue-new name with space", C(QUEUE_NEW), 0, qn_name_space, EINVAL, X_QUEUE_NAME, X_MOD, 0, NONE },
{ "queue-new name not a string", C(QUEUE_NEW), 0, qn_name_u32, EINVAL, X_POLICY, X_CORE, 0, NONE },
{ "queue-new depth 0",       C(QUEUE_NEW), 0, qn_depth0,     ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new depth > max",   C(QUEUE_NEW), 0, qn_depth_big,  ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new depth as u16",  C(QUEUE_NEW), 0, qn_depth_u16,  EINVAL, X_ATTRLEN, X_CORE, 0, NONE },
{ "queue-new max-cmds 0",    C(QUEUE_NEW), 0, qn_cmds0,      ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new max-cmds > max", C(QUEUE_NEW), 0, qn_cmds_big,  ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new max-bytes < min", C(QUEUE_NEW), 0, qn_bytes_small, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new max-bytes > max", C(QUEUE_NEW), 0, qn_bytes_big, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new max-bytes as u32", C(QUEUE_NEW), 0, qn_bytes_u32, EINVAL, X_ATTRLEN, X_CORE, 0, NONE },
{ "queue-new duplicate name", C(QUEUE_NEW), 0, qn_dup_name,  EEXIST, X_QUEUE_EXISTS, X_MOD, 0, NONE },
{ "queue-new journal size alone", C(QUEUE_NEW), 0, qn_j_size_alone, EINVAL, X_JOURNAL_SIZE_ALONE, X_MOD, 0, NONE },
{ "queue-new journal size unaligned", C(QUEUE_NEW), 0, qn_j_size_align, EINVAL, X_JOURNAL_SIZE_ALIGN, X_MOD, 0, NONE },
{ "queue-new journal size < min", C(QUEUE_NEW), 0, qn_j_size_small, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new journal size > max", C(QUEUE_NEW), 0, qn_j_size_big, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new journal kind 0", C(QUEUE_NEW), 0, qn_j_kind0,    ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new journal kind unknown", C(QUEUE_NEW), 0, qn_j_kind3, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "queue-new journal device, no path", C(QUEUE_NEW), 0, qn_j_no_dev, EINVAL, X_MISS_JOURNAL_DEV, X_MOD, MBATCH_A_QUEUE_JOURNAL_DEV, NONE },
{ "queue-new journal path, internal", C(QUEUE_NEW), 0, qn_j_dev_alone, EINVAL, X_JOURNAL_DEV_ALONE, X_MOD, 0, NONE },
{ "queue-new no such device", C(QUEUE_NEW), 0, qn_dev_missing, ENOENT, X_DEV_OPEN, X_MOD, 0, NONE },
{ "queue-new not a block device", C(QUEUE_NEW), 0, qn_dev_notblk, ENOTBLK, X_DEV_OPEN, X_MOD, 0, NONE },
{ "queue-new device in use", C(QUEUE_NEW), 0, qn_dev_busy,   EBUSY, X_DEV_BUSY, X_MOD, 0, NONE },
{ "queue-new dev path too long", C(QUEUE_NEW), 0, qn_dev_long, EINVAL, X_POLICY, X_CORE, 0, NONE },
{ "queue-del unknown queue", C(QUEUE_DEL), 0, q_unknown,     ENOENT, X_NO_QUEUE, X_MOD, 0, NONE },
{ "queue-del no name",       C(QUEUE_DEL), 0, q_no_name,     EINVAL, X_MISS_QUEUE, X_MOD, MBATCH_A_QUEUE_NAME, NONE },
{ "queue-get unknown queue", C(QUEUE_GET), 0, q_unknown,     ENOENT, X_NO_QUEUE, X_MOD, 0, NONE },
{ "session-open unknown queue", C(SESSION_OPEN), 0, q_unknown, ENOENT, X_NO_QUEUE, X_MOD, 0, NONE },
{ "session-open no queue",   C(SESSION_OPEN), 0, q_no_name,  EINVAL, X_MISS_QUEUE, X_MOD, MBATCH_A_QUEUE_NAME, NONE },
{ "session-open bad flags",  C(SESSION_OPEN), 0, so_bad_flags, EINVAL, X_RESERVED_BIT, X_CORE, 0, NONE },
{ "session-close unknown",   C(SESSION_CLOSE), 0, s_unknown, ENOENT, X_NO_SESSION, X_MOD, 0, NONE },
{ "session-close no id",     C(SESSION_CLOSE), 0, s_missing, EINVAL, X_MISS_SESSION, X_MOD, MBATCH_A_SESSION_ID, NONE },
{ "session-close id as u64", C(SESSION_CLOSE), 0, s_id_u64,  EINVAL, X_ATTRLEN, X_CORE, 0, NONE },
{ "session-get unknown",     C(SESSION_GET), 0, s_unknown,   ENOENT, X_NO_SESSION, X_MOD, 0, NONE },
{ "resume unknown session",  C(RESUME), 0, s_unknown,        ENOENT, X_NO_SESSION, X_MOD, 0, NONE },
{ "resume active session",   C(RESUME), 0, s_active,         EINVAL, X_NOT_HALTED, X_MOD, 0, NONE },
{ "submit no session",       C(SUBMIT), 0, sub_no_session,   EINVAL, X_MISS_SESSION, X_MOD, MBATCH_A_SESSION_ID, NONE },
{ "submit unknown session",  C(SUBMIT), 0, sub_unknown_session, ENOENT, X_NO_SESSION, X_MOD, 0, NONE },
{ "submit no messages",      C(SUBMIT), 0, sub_no_msgs,      EINVAL, X_NO_MSGS, X_MOD, MBATCH_A_MSG, NONE },
{ "submit too many messages", C(SUBMIT), 0, sub_too_many,    E2BIG, X_TOO_MANY_MSGS, X_MOD, 0, NONE },
{ "batch id as u32",         C(SUBMIT), 0, sub_batch_id_u32, EINVAL, X_ATTRLEN, X_CORE, 0, NONE },
{ "msg not a nest",          C(SUBMIT), 0, sub_msg_u32,      EINVAL, X_NESTED, X_CORE, 0, M },
{ "msg without NLA_F_NESTED", C(SUBMIT), 0, sub_not_nested,  EINVAL, X_NESTED, X_CORE, 0, M },
{ "msg unknown attribute",   C(SUBMIT), 0, sub_msg_unknown_attr, EINVAL, X_UNKNOWN_ATTR, X_CORE, 0, M },
{ "msg tag as u32",          C(SUBMIT), 0, sub_tag_u32,      EINVAL, X_ATTRLEN, X_CORE, 0, M },
{ "msg without op",          C(SUBMIT), 0, sub_msg_no_op,    EINVAL, X_MSG_NO_OP, X_MOD, MBATCH_MSG_A_OP, M },
{ "msg op 0",                C(SUBMIT), 0, sub_op0,          ERANGE, X_RANGE, X_CORE, 0, M },
{ "msg unknown op",          C(SUBMIT), 0, sub_op_unknown,   ERANGE, X_RANGE, X_CORE, 0, M },
{ "msg op 0xffffffff",       C(SUBMIT), 0, sub_op_huge,      ERANGE, X_RANGE, X_CORE, 0, M },
{ "write without len",       C(SUBMIT), 0, sub_w_no_len,     EINVAL, X_MSG_NO_LEN, X_MOD, MBATCH_MSG_A_LEN, M },
{ "write without offset",    C(SUBMIT), 0, sub_w_no_off,     EINVAL, X_MSG_NO_OFFSET, X_MOD, MBATCH_MSG_A_OFFSET, M },
{ "read len 0",              C(SUBMIT), 0, sub_r_len0,       EINVAL, X_LEN_ZERO, X_MOD, 0, M },
{ "read len > max io",       C(SUBMIT), 0, sub_r_len_big,    EINVAL, X_LEN_MAX_IO, X_MOD, 0, M },
{ "write len > max io",      C(SUBMIT), 0, sub_w_len_big,    EINVAL, X_LEN_MAX_IO, X_MOD, 0, M },
{ "discard len > max zero",  C(SUBMIT), 0, sub_d_len_big,    EINVAL, X_LEN_MAX_ZERO, X_MOD, 0, M },
{ "write-zeroes len 0",      C(SUBMIT), 0, sub_wz_len0,      EINVAL, X_LEN_ZERO, X_MOD, 0, M },
{ "write offset misaligned", C(SUBMIT), 0, sub_w_off_unaligned, EINVAL, X_OFF_UNALIGNED, X_MOD, 0, M },
{ "read len misaligned",     C(SUBMIT), 0, sub_r_len_unaligned, EINVAL, X_LEN_UNALIGNED, X_MOD, 0, M },
{ "discard offset misaligned", C(SUBMIT), 0, sub_d_off_unaligned, EINVAL, X_OFF_UNALIGNED, X_MOD, 0, M },
{ "read at capacity",        C(SUBMIT), 0, sub_r_beyond,     ERANGE, X_BEYOND, X_MOD, 0, M },
{ "read straddling the end", C(SUBMIT), 0, sub_r_straddle,   ERANGE, X_BEYOND, X_MOD, 0, M },
{ "read offset+len wraps",   C(SUBMIT), 0, sub_r_wrap,       ERANGE, X_BEYOND, X_MOD, 0, M },
{ "write-zeroes past the end", C(SUBMIT), 0, sub_wz_beyond,  ERANGE, X_BEYOND, X_MOD, 0, M },
{ "write without data",      C(SUBMIT), 0, sub_w_no_data,    EINVAL, X_MSG_NO_DATA, X_MOD, MBATCH_MSG_A_DATA, M },
{ "write data shorter than len", C(SUBMIT), 0, sub_w_data_short, EINVAL, X_DATA_LEN, X_MOD, 0, M },
{ "write data longer than len", C(SUBMIT), 0, sub_w_data_long, EINVAL, X_DATA_LEN, X_MOD, 0, M },
{ "data on read",            C(SUBMIT), 0, sub_r_data,       EINVAL, X_DATA_NOT_ALLOWED, X_MOD, 0, M },
{ "data on discard",         C(SUBMIT), 0, sub_d_data,       EINVAL, X_DATA_NOT_ALLOWED, X_MOD, 0, M },
{ "data on checkpoint",      C(SUBMIT), 0, sub_cp_data,      EINVAL, X_DATA_NOT_ALLOWED, X_MOD, 0, M },
{ "flags on write",          C(SUBMIT), 0, sub_w_flags,      EINVAL, X_FLAGS_ONLY_CP, X_MOD, 0, M },
{ "flags on flush",          C(SUBMIT), 0, sub_flush_flags,  EINVAL, X_FLAGS_ONLY_CP, X_MOD, 0, M },
{ "unknown checkpoint flag", C(SUBMIT), 0, sub_cp_bad_flag,  EINVAL, X_RESERVED_BIT, X_CORE, 0, M },
{ "offset on checkpoint",    C(SUBMIT), 0, sub_cp_off,       EINVAL, X_NO_RANGE, X_MOD, 0, M },
{ "len on checkpoint",       C(SUBMIT), 0, sub_cp_len,       EINVAL, X_NO_RANGE, X_MOD, 0, M },
{ "offset on flush",         C(SUBMIT), 0, sub_flush_off,    EINVAL, X_NO_RANGE, X_MOD, 0, M },
/*
 * An error of the collect itself (raised while dumping, not by the policy)
 * ends the dump: it is NLMSG_DONE's error with the extack message but no
 * attribute offset (and no missing-attribute type), on every kernel.
 */
{ "collect unknown session", C(COLLECT), DUMP, col_unknown,  ENOENT, X_NO_SESSION, X_MOD, 0, NONE },
{ "collect no session",      C(COLLECT), DUMP, col_no_session, EINVAL, X_MISS_SESSION, X_MOD, 0, NONE },
{ "collect timeout > max",   C(COLLECT), DUMP, col_timeout_big, ERANGE, X_RANGE, X_CORE, 0, NONE },
{ "collect bad flags",       C(COLLECT), DUMP, col_bad_flags, EINVAL, X_RESERVED_BIT, X_CORE, 0, NONE },
{ "collect ack ahead",       C(COLLECT), DUMP, col_ack_ahead, EINVAL, X_ACK_AHEAD, X_MOD, 0, NONE },
{ "collect min as u64",      C(COLLECT), DUMP, col_min_u64,  EINVAL, X_ATTRLEN, X_CORE, 0, NONE },
{ "collect as a do request", C(COLLECT), 0, s_active,        EOPNOTSUPP, X_COLLECT_DO, X_MOD, 0, NONE },
{ "batch-cancel no batch id", C(BATCH_CANCEL), 0, bc_no_batch, EINVAL, X_MISS_BATCH, X_MOD, MBATCH_A_BATCH_ID, NONE },
{ "batch-cancel unknown batch", C(BATCH_CANCEL), 0, bc_unknown_batch, ENOENT, X_NO_BATCH, X_MOD, 0, NONE },
};

/* [start, end) of the idx-th MBATCH_A_MSG of a request; 0 if none. */
static size_t msg_bounds(const struct mb_req *r, int idx, size_t *end)
{
	size_t pos = NLMSG_HDRLEN + GENL_HDRLEN;
	int i = 0;

	while (pos + NLA_HDRLEN <= r->len) {
		const struct nlattr *a = (const void *)(r->buf + pos);

		if (a->nla_len < NLA_HDRLEN)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == MBATCH_A_MSG && i++ == idx) {
			*end = pos + a->nla_len;
			return pos;
		}
		pos += NLA_ALIGN(a->nla_len);
	}
	*end = 0;
	return 0;
}

/* The kernel formats extack messages (NL_SET_ERR_MSG_FMT): 6.2 and later. */
static int kernel_formats_extack(void)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return 0;
	return maj > 6 || (maj == 6 && min >= 2);
}

/* Why a refusal is not the one the row wants, in why; 0 if it is. */
static int check_case(const struct bcase *t, const struct bctx *c,
		      const struct mb_req *r, int ret, const struct mb_err *x,
		      int fmt, char *why, size_t wlen)
{
	const char *m = x->msg;
	size_t mstart, mend;

	why[0] = 0;
	if (ret != -t->err)
		snprintf(why, wlen, "errno %d, want -%d", ret, t->err);
	else if (!t->x && m[0])
		snprintf(why, wlen, "a message, want none");
	else if (t->x && !strstr(m, t->x))
		snprintf(why, wlen, "text lacks \"%s\"", t->x);
	else if (c->mark && (!x->has_off || x->off != c->mark))
		snprintf(why, wlen, "offset %s%u, want %zu",
			 x->has_off ? "" : "none ", x->off, c->mark);
	else if (!c->mark && x->has_off)
		snprintf(why, wlen, "offset %u, want none", x->off);
	else if (t->miss && (!x->has_miss || x->miss_type != (uint32_t)t->miss))
		snprintf(why, wlen, "missing type %s%u, want %d",
			 x->has_miss ? "" : "none ", x->miss_type, t->miss);
	else if (!t->miss && x->has_miss)
		snprintf(why, wlen, "missing type %u, want none",
			 x->miss_type);
	else if (t->miss && c->nest &&
		 (!x->has_miss_nest || x->miss_nest != c->nest))
		snprintf(why, wlen, "missing in nest %s%u, want %zu",
			 x->has_miss_nest ? "" : "none ", x->miss_nest,
			 c->nest);
	else if (!(t->miss && c->nest) && x->has_miss_nest)
		snprintf(why, wlen, "missing in nest %u, want none",
			 x->miss_nest);
	if (why[0] || t->msg < 0)
		return why[0] != 0;

	/* inside a batch: the offset is in message t->msg */
	mstart = msg_bounds(r, t->msg, &mend);
	if (!mend)
		snprintf(why, wlen, "the request has no message %d", t->msg);
	else if (!x->has_off || x->off < mstart || x->off >= mend)
		snprintf(why, wlen, "offset %u not in message %d [%zu, %zu)",
			 x->off, t->msg, mstart, mend);
	else if (fmt && t->src == X_MOD) {
		char want[32];

		if (!strncmp(m, "mbatch: ", 8))
			m += 8;
		snprintf(want, sizeof(want), "message %d: ", t->msg);
		if (strncmp(m, want, strlen(want)))
			snprintf(why, wlen, "text does not start \"%s\"", want);
	}
	return why[0] != 0;
}

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
	int fmt = kernel_formats_extack();
	size_t i;
	int nq0, nq1, j;

	nq0 = mb_queue_dump(&self->e.s, qi, 64);
	ASSERT_GE(nq0, 1);
	TH_LOG("%zu malformed requests; texts name the message: %s", NCASES,
	       fmt ? "yes (6.2+)" : "no (offset only)");
	for (i = 0; i < NCASES; i++) {
		const struct bcase *t = &mb_cases[i];
		struct bctx c = { .e = &self->e, .dev2 = self->dev2,
				  .sid = self->sid };
		struct mb_sock *s = &self->e.s;
		char why[200];
		struct mb_req r;
		int ret;

		mb_req_init(&r, s, t->cmd, t->nlflags);
		t->build(&c, &r);
		ret = mb_transact(s, &r, NULL, NULL);
		if (check_case(t, &c, &r, ret, &s->err, fmt, why,
			       sizeof(why))) {
			fails++;
			TH_LOG("case %zu \"%s\": %s; got %d: %s miss-nest %s%u, mark %zu nest %zu",
			       i, t->name, why, ret, mb_strerr(s),
			       s->err.has_miss_nest ? "" : "-",
			       s->err.miss_nest, c.mark, c.nest);
		}
		mb_req_free(&r);
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

/*
 * DISCARD on a device without discard support: refused whole with
 * -EOPNOTSUPP, the offset on the message's op; the same message is taken
 * by the fixture's queue, whose device discards.
 */
TEST_F(bad, discard_without_discard)
{
	struct mb_queue_cfg qc = { .name = "mbt_nodiscard" };
	struct mb_session_info si;
	char nb[64], dev[128];
	struct mb_result *res = NULL;
	struct mb_req r;
	struct bctx c = { .e = &self->e };
	char why[200];
	uint32_t sid, nr = 0;
	size_t n, op;
	int ret;
	const struct bcase t = { "discard, device without discard", C(SUBMIT),
		0, NULL, EOPNOTSUPP, X_NO_DISCARD, X_MOD, 0, BAD_MSG };

	ASSERT_EQ(0, mb_nullb_create("size=16 memory_backed=1 discard=0", nb,
				     sizeof(nb), dev, sizeof(dev)));
	qc.dev = dev;
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc)) TH_LOG("%s",
							   mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_session_open(&self->e.s, qc.name, 0, &sid));
	c.sid = sid;
	mb_req_init(&r, &self->e.s, MBATCH_CMD_SUBMIT, 0);
	sub_pre(&c, &r);
	n = mb_nest_start(&r, MBATCH_A_MSG);
	mb_put_u64(&r, MBATCH_MSG_A_TAG, 5);
	op = mb_put_u32(&r, MBATCH_MSG_A_OP, MBATCH_OP_DISCARD);
	mb_put_u64(&r, MBATCH_MSG_A_OFFSET, 0);
	mb_put_u32(&r, MBATCH_MSG_A_LEN, 4096);
	mb_nest_end(&r, n);
	sub_post(&r);
	c.mark = op;
	ret = mb_transact(&self->e.s, &r, NULL, NULL);
	EXPECT_EQ(0, check_case(&t, &c, &r, ret, &self->e.s.err,
				kernel_formats_extack(), why, sizeof(why)))
		TH_LOG("%s; got %d: %s", why, ret, mb_strerr(&self->e.s));
	mb_req_free(&r);
	ASSERT_EQ(0, mb_session_get(&self->e.s, sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("a refused batch queued something");

	/* the same DISCARD where the device discards: accepted, done */
	{
		struct mb_cmd cm[2] = {
			{ .tag = 1, .op = MBATCH_OP_DISCARD, .offset = 0,
			  .len = 4096 },
			{ .tag = 2, .op = MBATCH_OP_CHECKPOINT },
		};

		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, cm, 2, NULL))
			TH_LOG("%s", mb_strerr(&self->e.s));
		ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 2, 10000,
					    &res, &nr));
		ASSERT_EQ(2, nr);
		EXPECT_EQ(MBATCH_OP_DISCARD, res[0].op);
		EXPECT_EQ(0, res[0].status);
		EXPECT_EQ(MBATCH_OUTCOME_DONE, res[0].outcome);
		mb_results_free(res, nr);
	}
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	EXPECT_EQ(0, mb_queue_del(&self->e.s, qc.name));
	EXPECT_TRUE(mb_wait_dev_free(dev, 5000));
	EXPECT_EQ(0, mb_nullb_remove(nb));
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
