/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mbatch: the on-disk format of a queue's state journal, version
 * MBATCH_JOURNAL_VERSION (Documentation/userspace-api/mbatch-journal.rst).
 *
 * A journal is an area of MBATCH_A_QUEUE_JOURNAL_SIZE bytes at the end of a
 * block device: the queue's own device (internal; sessions see the capacity
 * before it) or a device of its own. Its last two blocks hold two copies of
 * the superblock, written in turn, so that a torn write leaves the other,
 * older copy valid. Every integer is little-endian; the module checks every
 * field before it trusts a copy, and the selftests build copies from this
 * file.
 */
#ifndef _UAPI_LINUX_MBATCH_JOURNAL_H
#define _UAPI_LINUX_MBATCH_JOURNAL_H

#include <linux/types.h>
#include <linux/mbatch.h>

#define MBATCH_JOURNAL_MAGIC		0x4a54424dU	/* "MBTJ" on disk */
#define MBATCH_JOURNAL_VERSION		1
#define MBATCH_JOURNAL_BLOCK		4096	/* unit of every journal I/O */
#define MBATCH_JOURNAL_SB_COPIES	2	/* the area's last two blocks */

/* Superblock flags. */
#define MBATCH_JOURNAL_SB_F_INTERNAL	(1U << 0)	/* on the queue's device */
#define MBATCH_JOURNAL_SB_F_ALL		MBATCH_JOURNAL_SB_F_INTERNAL

/*
 * One copy of the superblock: the first bytes of its block, the rest of
 * which is zero. Offsets are bytes from the start of the journal area; the
 * areas are whole blocks, inside the journal and apart from each other and
 * from the superblock copies.
 */
struct mbatch_journal_sb {
	__le32 magic;			/* MBATCH_JOURNAL_MAGIC */
	__le32 version;			/* MBATCH_JOURNAL_VERSION */
	__le32 crc;			/* CRC32C of the block, this field 0 */
	__le32 flags;			/* MBATCH_JOURNAL_SB_F_* */
	__u8 uuid[16];			/* made when the journal was made */
	__le64 generation;		/* +1 on every superblock write */
	__le64 size;			/* bytes of the area, copies included */
	__le64 data_bytes;		/* capacity of the data the journal is of */
	__le32 block_size;		/* logical block size of that device */
	__le32 reserved0;
	__le64 log_offset;		/* the record log */
	__le64 log_len;
	__le64 snap_offset[2];		/* two snapshot slots, written in turn */
	__le64 snap_len;		/* bytes of each */
	__le64 log_head;		/* the first live record's block */
	__le64 log_head_seq;		/* the sequence number it starts with */
	__le64 reserved[2];		/* zero */
};

/*
 * The record log: its blocks in a ring from log_head, read in sequence
 * number order. A record starts at a multiple of 8 bytes in its block and
 * never crosses the block's end; after the last record of a block, the next
 * is at the start of the next block (the log's end wraps to its start). A
 * record is the next only when its magic, length, sequence number (one more
 * than the last) and CRC32C all check; the first that does not, at its place
 * or at the next block's start, ends the log, unless a sealed record of a
 * later sequence number lies past that end (the journal is then damaged and
 * refused). A record's CRC32C is taken over the journal's uuid, then over
 * the record's len bytes with its crc field 0, so a record of an earlier
 * journal at the same place never counts. A use that finds more than half
 * of the log's blocks in use moves log_head to the last one (trimming).
 */
#define MBATCH_JOURNAL_REC_MAGIC	0x5254424dU	/* "MBTR" on disk */
#define MBATCH_JOURNAL_REC_ALIGN	8
#define MBATCH_JOURNAL_REC_MAX		1024	/* bytes, header included */

struct mbatch_journal_rec {
	__le32 magic;			/* MBATCH_JOURNAL_REC_MAGIC */
	__le32 crc;
	__le64 seq;			/* log_head_seq, +1 per record */
	__le16 type;			/* enum mbatch_journal_rec_type */
	__le16 len;			/* bytes, this header included */
	__le32 reserved;		/* zero */
};

enum mbatch_journal_rec_type {
	/* A queue began to use the journal: struct mbatch_jrec_use. */
	MBATCH_JREC_USE = 1,
	/*
	 * A session began on the queue: struct mbatch_jrec_open, which names
	 * a participant's initiator (its peer, session id and cookie) so that
	 * a later use can restore the session.
	 */
	MBATCH_JREC_OPEN = 2,
	/* ... and ended: struct mbatch_jrec_session. */
	MBATCH_JREC_CLOSE = 3,
	/*
	 * Commands that change the device are about to be sent to it: struct
	 * mbatch_jrec_start, durable (FUA) before any of them is sent. One
	 * per dispatch group (more when its ranges do not fit one record).
	 */
	MBATCH_JREC_START = 4,
	/* Commands that changed the device completed: mbatch_jrec_done. */
	MBATCH_JREC_DONE = 5,
	/* A session's checkpoint completed: struct mbatch_jrec_checkpoint. */
	MBATCH_JREC_CHECKPOINT = 6,
};

struct mbatch_jrec_use {
	struct mbatch_journal_rec hdr;
	__le64 generation;		/* of the superblock written with it */
};

/* Kinds of session (OPEN). */
#define MBATCH_JSESSION_LOCAL		1
#define MBATCH_JSESSION_PARTICIPANT	2

/* CLOSE. */
struct mbatch_jrec_session {
	struct mbatch_journal_rec hdr;
	__le32 session;			/* its id in the queue's namespace */
	__le16 kind;			/* 0 */
	__le16 reserved;		/* zero */
};

/* OPEN. A local session's isid, cookie and peer are zero. */
struct mbatch_jrec_open {
	struct mbatch_journal_rec hdr;
	__le32 session;			/* its id in the queue's namespace */
	__le16 kind;			/* MBATCH_JSESSION_* */
	__le16 reserved;		/* zero */
	__le32 isid;			/* the initiator's session id */
	__le32 reserved2;		/* zero */
	__le64 cookie;			/* the initiator's cookie */
	char peer[MBATCH_PEER_NAME_MAX];	/* the peer, NUL padded */
};

/*
 * A run of commands of one session with consecutive sequence numbers
 * (MBATCH_A_RESULT_SEQ): first_seq .. first_seq + count - 1, count >= 1.
 */
struct mbatch_jrange {
	__le32 session;
	__le32 count;
	__le64 first_seq;
};

/* len is sizeof(struct mbatch_jrec_start) + nr ranges, nr >= 1. */
struct mbatch_jrec_start {
	struct mbatch_journal_rec hdr;
	__le32 nr;
	__le32 reserved;		/* zero */
	struct mbatch_jrange range[];
};

/* A run of commands that completed with the same status. */
struct mbatch_jdone {
	struct mbatch_jrange range;
	__le32 status;			/* 0 or a negative errno (as s32) */
	__le32 reserved;		/* zero */
};

/* len is sizeof(struct mbatch_jrec_done) + nr runs, nr >= 1. */
struct mbatch_jrec_done {
	struct mbatch_journal_rec hdr;
	__le32 nr;
	__le32 reserved;		/* zero */
	struct mbatch_jdone done[];
};

#define MBATCH_JCP_F_DURABLE		(1U << 0)	/* its flush completed */
#define MBATCH_JCP_F_HALTED		(1U << 1)	/* it halted the session */
#define MBATCH_JCP_F_ALL		(MBATCH_JCP_F_DURABLE | MBATCH_JCP_F_HALTED)

struct mbatch_jrec_checkpoint {
	struct mbatch_journal_rec hdr;
	__le32 session;
	__le32 flags;			/* MBATCH_JCP_F_* */
	__le64 seq;			/* the checkpoint's sequence number */
	__le64 epoch;			/* checkpoints of the session done, it too */
	__le32 status;			/* 0 or a negative errno (as s32) */
	__le32 reserved;		/* zero */
};

#endif /* _UAPI_LINUX_MBATCH_JOURNAL_H */
