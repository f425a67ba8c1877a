/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mbatch: the frames a link between two nodes carries, wire version
 * MBATCH_WIRE_VERSION (Documentation/userspace-api/mbatch-wire.rst).
 *
 * Every integer is little-endian and every structure is naturally aligned
 * (no padding is implied). The receiver checks every field before it uses
 * one. The module and the selftests' test peers both build from this file.
 */
#ifndef _UAPI_LINUX_MBATCH_WIRE_H
#define _UAPI_LINUX_MBATCH_WIRE_H

#include <linux/types.h>
#include <linux/mbatch.h>

/* Bytes per frame: a RESULTS frame carries one result with 1 MiB of data. */
#define MBATCH_WIRE_MAX_PAYLOAD		((1U << 20) + (64U << 10))
#define MBATCH_WIRE_UNIT		4096	/* credit unit of payload */
#define MBATCH_WIRE_ALIGN		8	/* data is padded to this */

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
	MBATCH_FRAME_R2T,
	MBATCH_FRAME_DATA,
	MBATCH_FRAME_RESTORED,

	__MBATCH_FRAME_MAX,
};

/*
 * Status codes carried by OPEN_REPLY and RESULTS: node independent, each
 * maps to one errno. A receiver maps a code it does not know to EIO.
 */
enum mbatch_wire_status {
	MBATCH_WS_OK,
	MBATCH_WS_IO,			/* EIO, and any errno without a code */
	MBATCH_WS_NOTSUPP,		/* EOPNOTSUPP */
	MBATCH_WS_TIMEDOUT,		/* ETIMEDOUT */
	MBATCH_WS_NOSPC,		/* ENOSPC */
	MBATCH_WS_NOLINK,		/* ENOLINK */
	MBATCH_WS_REMOTEIO,		/* EREMOTEIO */
	MBATCH_WS_BADE,			/* EBADE */
	MBATCH_WS_NODATA,		/* ENODATA */
	MBATCH_WS_ILSEQ,		/* EILSEQ */
	MBATCH_WS_NOMEM,		/* ENOMEM */
	MBATCH_WS_AGAIN,		/* EAGAIN */
	MBATCH_WS_BUSY,			/* EBUSY */
	MBATCH_WS_NODEV,		/* ENODEV */
	MBATCH_WS_TIME,			/* ETIME */
	MBATCH_WS_CANCELED,		/* ECANCELED */
	MBATCH_WS_INVAL,		/* EINVAL */
	MBATCH_WS_RANGE,		/* ERANGE */
	MBATCH_WS_NOENT,		/* ENOENT */
	MBATCH_WS_NOBUFS,		/* ENOBUFS */
	MBATCH_WS_STALE,		/* ESTALE */

	__MBATCH_WS_MAX,
};

/* Every frame starts with this (32 bytes). */
struct mbatch_wire_hdr {
	__u8 version;			/* MBATCH_WIRE_VERSION */
	__u8 flags;			/* 0 */
	__le16 type;			/* enum mbatch_frame_type */
	__le32 len;			/* payload bytes after the header */
	__le32 session;			/* the initiator's session id, 0: link */
	__le32 hdigest;			/* CRC32C of the header, or 0 */
	__le64 seq;			/* frame sequence per direction, from 1 */
	__le64 arg;			/* depends on the type */
};

/* OPEN (initiator): arg is the session cookie. */
#define MBATCH_OPEN_F_REATTACH		(1U << 0)
#define MBATCH_OPEN_F_PULL		(1U << 1)	/* it answers R2T */

struct mbatch_wire_open {
	__le32 flags;			/* MBATCH_OPEN_F_* */
	__le32 max_io;			/* largest READ/WRITE it will send */
	char queue[MBATCH_QUEUE_NAME_MAX];	/* NUL padded */
	__le32 inline_max;		/* PULL: largest WRITE data it would
					 * send inline, larger is pulled
					 */
	__le32 zero;
	__le64 nodata_upto;		/* it has no WRITE data of messages
					 * up to this sequence (it lost the
					 * session and ended them), 0: none
					 */
};

/* OPEN_REPLY (participant): arg is the cookie of the OPEN. */
#define MBATCH_REPLY_F_DISCARD		(1U << 0)	/* the queue discards */
#define MBATCH_REPLY_F_HALTED		(1U << 1)	/* halted, see halt_gen */
#define MBATCH_REPLY_F_PULL		(1U << 2)	/* it pulls, see inline_max */
#define MBATCH_REPLY_F_RESTORED		(1U << 3)	/* restored: see RESTORED */

struct mbatch_wire_open_reply {
	__le16 status;			/* enum mbatch_wire_status; only it
					 * counts unless it is OK
					 */
	__le16 flags;			/* MBATCH_REPLY_F_* */
	__le32 max_cmds;
	__le64 max_bytes;
	__le64 last_seq;		/* highest message sequence received */
	__le64 rx_msgs;			/* messages received, ever */
	__le64 rx_units;		/* credit units received, ever */
	__le64 credit_msgs;		/* absolute limits it accepts */
	__le64 credit_units;
	__le64 capacity;		/* of its queue, bytes (less a journal) */
	__le32 lbs;			/* logical block size */
	__le32 max_io;			/* largest READ/WRITE it takes */
	__le32 halt_gen;		/* times the session halted */
	__le16 halt_status;		/* the last halt's status */
	__le16 zero;
	__le32 inline_max;		/* PULL: WRITE data above it is pulled
					 * (R2T), at most MBATCH_MAX_IO_LEN
					 */
	__le32 zero2;
};

/*
 * MSGS (initiator): arg is the number of messages. A WRITE above the
 * reply's inline_max travels without its data (data_len 0) and with
 * MBATCH_WIRE_MSG_F_PULL: the participant asks for the data with R2T when
 * the command can run, and it comes in a DATA frame.
 */
#define MBATCH_WIRE_MSG_F_PULL		(1U << 31)

struct mbatch_wire_msg {
	__le64 seq;			/* the initiator's message sequence */
	__le64 batch;
	__le64 tag;
	__le64 offset;
	__le32 op;			/* enum mbatch_op */
	__le32 flags;			/* MBATCH_MSG_F_* */
	__le32 len;
	__le32 data_len;		/* WRITE: len, else 0; data follows */
};

/* RESULTS (participant): arg is the number of results. */
struct mbatch_wire_result {
	__le64 msg_seq;
	__le64 rseq;			/* the participant's result sequence */
	__le64 start_ns;		/* its clock; 0: never started */
	__le64 done_ns;
	__le32 bytes;
	__le32 rflags;			/* MBATCH_RESULT_F_* */
	__le32 data_len;		/* READ done well: len, else 0 */
	__le32 halt_gen;		/* it halted the session: the new count */
	__le16 status;			/* enum mbatch_wire_status */
	__u8 outcome;			/* MBATCH_OUTCOME_DONE or _CANCELLED */
	__u8 zero[5];
};

/* ACK (initiator): arg is the result sequence received up to. */

/* CREDIT (participant): arg is 0. */
struct mbatch_wire_credit {
	__le64 msgs;			/* absolute limits */
	__le64 units;
};

/* RESUME (initiator): arg is the halt count (halt_gen) it resumes. */

/* CANCEL (initiator): arg is the batch id. */
struct mbatch_wire_cancel {
	__le64 upto_seq;		/* its messages up to this sequence */
};

/* CLOSE (initiator), GONE (participant): arg is the cookie (GONE: 0, any). */

/*
 * R2T (participant): arg is the number of __le64 message sequences that
 * follow, each a pulled WRITE it has room for now. At most
 * MBATCH_WIRE_R2T_MAX are asked for and not yet answered per session.
 */
#define MBATCH_WIRE_R2T_MAX		256

/*
 * DATA (initiator): arg is a message sequence; the payload is its whole
 * WRITE data (len bytes). DATA frames answer the R2Ts of the same link in
 * the order they were asked for; a link lost forgets the R2Ts it carried.
 */

/*
 * RESTORED (participant), right before an OPEN_REPLY with
 * MBATCH_REPLY_F_RESTORED: the session was restored from its queue's
 * journal after the participant lost it (a crash, a module reload). arg is
 * the result sequence it has had acknowledged since; every later result
 * comes (again), from the next one on. The payload, at most
 * MBATCH_WIRE_RESTORED_MAX __le64 message sequences in increasing order,
 * names the messages it has results for from the journal (their results
 * carry MBATCH_RESULT_F_RESTORED; one that was at the device without a
 * logged completion has outcome MBATCH_OUTCOME_UNKNOWN). It got no other
 * message up to the reply's last_seq but those sent to it since the
 * restore: the initiator sends again what it has no result for, except
 * those named and those of an epoch before the latest epoch of one named
 * (they ran before the crash, and running them now would break the order
 * of epochs: their outcome is unknown).
 */
#define MBATCH_WIRE_RESTORED_MAX	65536

#endif /* _UAPI_LINUX_MBATCH_WIRE_H */
