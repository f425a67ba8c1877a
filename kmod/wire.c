// SPDX-License-Identifier: GPL-2.0
/*
 * Wire helpers: the node-independent status codes and credit units of the
 * link protocol, and decoding a message of a MSGS frame into the form the
 * one validator (cmd.c) checks.
 */
#include <linux/blkdev.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>

#include "cmd.h"
#include "wire.h"

/*
 * WRITE data above this travels as a proxy and is pulled (R2T): both ends
 * propose theirs at attach and the smaller counts.
 */
static unsigned int inline_max = 16384;
module_param(inline_max, uint, 0644);
MODULE_PARM_DESC(inline_max,
		 "largest WRITE data sent inline to a peer; larger is pulled (bytes, 0-32768, default 16384)");

u32 mbatch_inline_max(void)
{
	return min_t(u32, READ_ONCE(inline_max), MBATCH_MAX_IO_LEN);
}

static const int mbatch_wire_errnos[__MBATCH_WS_MAX] = {
	[MBATCH_WS_OK] = 0,
	[MBATCH_WS_IO] = -EIO,
	[MBATCH_WS_NOTSUPP] = -EOPNOTSUPP,
	[MBATCH_WS_TIMEDOUT] = -ETIMEDOUT,
	[MBATCH_WS_NOSPC] = -ENOSPC,
	[MBATCH_WS_NOLINK] = -ENOLINK,
	[MBATCH_WS_REMOTEIO] = -EREMOTEIO,
	[MBATCH_WS_BADE] = -EBADE,
	[MBATCH_WS_NODATA] = -ENODATA,
	[MBATCH_WS_ILSEQ] = -EILSEQ,
	[MBATCH_WS_NOMEM] = -ENOMEM,
	[MBATCH_WS_AGAIN] = -EAGAIN,
	[MBATCH_WS_BUSY] = -EBUSY,
	[MBATCH_WS_NODEV] = -ENODEV,
	[MBATCH_WS_TIME] = -ETIME,
	[MBATCH_WS_CANCELED] = -ECANCELED,
	[MBATCH_WS_INVAL] = -EINVAL,
	[MBATCH_WS_RANGE] = -ERANGE,
	[MBATCH_WS_NOENT] = -ENOENT,
	[MBATCH_WS_NOBUFS] = -ENOBUFS,
	[MBATCH_WS_STALE] = -ESTALE,
};

/* The code of 0 or -errno; an errno without a code travels as EIO. */
u16 mbatch_wire_status(int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mbatch_wire_errnos); i++)
		if (mbatch_wire_errnos[i] == err)
			return i;
	return MBATCH_WS_IO;
}

/* 0 or -errno of a code; a code this node does not know is EIO. */
int mbatch_wire_errno(u16 status)
{
	if (status >= ARRAY_SIZE(mbatch_wire_errnos))
		return -EIO;
	return mbatch_wire_errnos[status];
}

/*
 * Credit a message takes: READ and WRITE payload in whole units. A pulled
 * WRITE takes none: its data comes when the participant asks for it.
 */
u64 mbatch_wire_units(u32 op, u32 len, bool pull)
{
	if ((op != MBATCH_OP_READ && op != MBATCH_OP_WRITE) || pull)
		return 0;
	return DIV_ROUND_UP(len, MBATCH_WIRE_UNIT);
}

/*
 * Decode the message at *@off of a MSGS payload of @len bytes into @m and
 * advance *@off past it (and its padded data). NULL, or why the frame is
 * malformed. The message itself is then checked by mbatch_msg_check().
 */
const char *mbatch_wire_msg_decode(const void *payload, u32 len, u32 *off,
				   struct mbatch_msg *m)
{
	const struct mbatch_wire_msg *w = payload + *off;
	u32 dlen;

	if (len - *off < sizeof(*w))
		return "truncated message";
	dlen = le32_to_cpu(w->data_len);
	if (dlen > MBATCH_WIRE_MAX_PAYLOAD ||
	    len - *off - sizeof(*w) < mbatch_wire_pad(dlen))
		return "truncated message data";
	memset(m, 0, sizeof(*m));
	m->seq = le64_to_cpu(w->seq);
	m->batch = le64_to_cpu(w->batch);
	m->tag = le64_to_cpu(w->tag);
	m->offset = le64_to_cpu(w->offset);
	m->op = le32_to_cpu(w->op);
	m->flags = le32_to_cpu(w->flags);
	m->len = le32_to_cpu(w->len);
	if (m->flags & MBATCH_WIRE_MSG_F_PULL) {
		m->flags &= ~MBATCH_WIRE_MSG_F_PULL;
		if (m->op != MBATCH_OP_WRITE || dlen)
			return "pulled message is not a write without data";
		m->pull = true;
	}
	m->data_len = dlen;
	m->data = dlen ? (const void *)(w + 1) : NULL;
	if (!m->seq || !m->batch || m->batch > S64_MAX)
		return "bad message or batch sequence";
	/* Every field is on the wire: "given" means not zero, except ranges. */
	if (mbatch_op_has_range(m->op))
		m->present = MBATCH_MSG_HAS_OFFSET | MBATCH_MSG_HAS_LEN;
	else
		m->present = (m->offset ? MBATCH_MSG_HAS_OFFSET : 0) |
			     (m->len ? MBATCH_MSG_HAS_LEN : 0);
	if (dlen || (m->op == MBATCH_OP_WRITE && !m->pull))
		m->present |= MBATCH_MSG_HAS_DATA;
	*off += sizeof(*w) + mbatch_wire_pad(dlen);
	return NULL;
}
