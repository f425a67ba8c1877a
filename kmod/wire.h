/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: the frames links carry (Documentation/userspace-api/mbatch-wire.rst).
 * Everything is little-endian and checked by the receiver before use.
 */
#ifndef _MBATCH_WIRE_H
#define _MBATCH_WIRE_H

#include <linux/sizes.h>
#include <linux/types.h>

#define MBATCH_WIRE_MAX_PAYLOAD		SZ_1M
#define MBATCH_WIRE_MSGS_MAX		SZ_256K		/* what we send */

enum mbatch_frame_type {
	MBATCH_FRAME_PING = 1,
	MBATCH_FRAME_PONG,
	MBATCH_FRAME_OPEN,
	MBATCH_FRAME_OPEN_REPLY,
	MBATCH_FRAME_MSGS,
	MBATCH_FRAME_RESULTS,
	MBATCH_FRAME_ACK,
	MBATCH_FRAME_CREDIT,
	MBATCH_FRAME_RESUME,
	MBATCH_FRAME_CANCEL,
	MBATCH_FRAME_CLOSE,
	MBATCH_FRAME_GONE,

	__MBATCH_FRAME_MAX,
};

struct mbatch_wire_hdr {
	u8 version;
	u8 flags;
	__le16 type;
	__le32 len;
	__le32 session;
	__le32 hdigest;
	__le64 seq;
	__le64 arg;
} __packed;

#define MBATCH_OPEN_F_REATTACH		BIT(0)

struct mbatch_wire_open {
	__le32 flags;
	__le32 zero;
	char queue[MBATCH_QUEUE_NAME_MAX];
} __packed;

#define MBATCH_REPLY_F_DISCARD		BIT(0)
#define MBATCH_REPLY_F_HALTED		BIT(1)	/* waits for RESUME */

struct mbatch_wire_open_reply {
	__le32 status;
	__le32 max_cmds;
	__le64 max_bytes;
	__le64 last_seq;
	__le64 rx_msgs;
	__le64 rx_bytes;
	__le64 credit_msgs;
	__le64 credit_bytes;
	__le64 capacity;
	__le32 lbs;
	__le32 qflags;
} __packed;

struct mbatch_wire_msg {
	__le64 seq;
	__le64 batch;
	__le64 tag;
	__le64 offset;
	__le32 op;
	__le32 flags;
	__le32 len;
	__le32 data_len;
} __packed;

struct mbatch_wire_result {
	__le64 msg_seq;
	__le64 rseq;
	__le64 start_ns;
	__le64 done_ns;
	__le32 status;
	__le32 bytes;
	__le32 rflags;
	__le32 data_len;
} __packed;

struct mbatch_wire_credit {
	__le64 msgs;
	__le64 bytes;
} __packed;

#endif /* _MBATCH_WIRE_H */
