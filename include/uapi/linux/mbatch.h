/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mbatch: checkpointed batch message queue bound to a block device.
 *
 * Generic Netlink family "mbatch". The YAML specification in
 * Documentation/netlink/specs/mbatch.yaml is the source of truth for the
 * family; this header must match it (checked by "make lint").
 */
#ifndef _UAPI_LINUX_MBATCH_H
#define _UAPI_LINUX_MBATCH_H

#include <linux/const.h>
#include <linux/errno.h>
#include <linux/types.h>

#define MBATCH_GENL_NAME		"mbatch"
#define MBATCH_GENL_VERSION		2
#define MBATCH_MCGRP_EVENTS		"events"

/* Limits of the uAPI (all lengths in bytes). */
#define MBATCH_QUEUE_NAME_MAX		32	/* including the NUL */
#define MBATCH_DEV_PATH_MAX		256	/* including the NUL */
#define MBATCH_MAX_IO_LEN		(32U << 10)	/* READ, WRITE; see VERSION_GET */
#define MBATCH_MAX_ZERO_LEN		(64U << 20)	/* DISCARD, WRITE_ZEROES */
#define MBATCH_MAX_BATCH_MSGS		4096
#define MBATCH_DEPTH_DEFAULT		32
#define MBATCH_DEPTH_MAX		1024
#define MBATCH_MAX_CMDS_DEFAULT		4096
#define MBATCH_MAX_CMDS_MAX		65536
#define MBATCH_MAX_BYTES_DEFAULT	(64ULL << 20)
#define MBATCH_MAX_BYTES_MIN		(64ULL << 10)
#define MBATCH_MAX_BYTES_MAX		(1ULL << 30)
#define MBATCH_COLLECT_TIMEOUT_MAX_MS	10000
#define MBATCH_QUEUE_SESSIONS_MAX	1024	/* open sessions per queue */
#define MBATCH_CANCELS_MAX		32	/* remote: cancels awaiting results */

/* Registered regions and proxied payloads (MBATCH_CMD_REGION_NEW). */
#define MBATCH_MAX_PROXY_IO_LEN		(1U << 20)	/* proxied READ, WRITE */
#define MBATCH_REGION_LEN_MAX		(1ULL << 30)
#define MBATCH_REGIONS_MAX		256	/* per socket */

/* A queue's state journal (MBATCH_A_QUEUE_JOURNAL, <linux/mbatch_journal.h>). */
#define MBATCH_JOURNAL_SIZE_DEFAULT	(16ULL << 20)
#define MBATCH_JOURNAL_SIZE_MIN		(1ULL << 20)
#define MBATCH_JOURNAL_SIZE_MAX		(1ULL << 30)

/* Peers and links (see Documentation/userspace-api/mbatch-wire.rst). */
#define MBATCH_PEER_NAME_MAX		32	/* including the NUL */
#define MBATCH_PEER_ADDR_MAX		64	/* "host:port", for the daemon */
#define MBATCH_PEERS_MAX		64	/* per network namespace */
#define MBATCH_KEEPALIVE_MS_DEFAULT	1000
#define MBATCH_KEEPALIVE_MS_MIN		100
#define MBATCH_KEEPALIVE_MS_MAX		60000
#define MBATCH_DEAD_KEEPALIVES		4	/* silent intervals: link dead */
#define MBATCH_LINK_TIMEOUT_MS_DEFAULT	15000
#define MBATCH_LINK_TIMEOUT_MS_MAX	3600000
#define MBATCH_PEER_SESSIONS_MAX	256	/* each way, per peer */
#define MBATCH_PEER_IN_BYTES_DEFAULT	(256ULL << 20)
#define MBATCH_PEER_IN_BYTES_MIN	(1ULL << 20)
#define MBATCH_PEER_IN_BYTES_MAX	(64ULL << 30)
#define MBATCH_PEER_IN_CMDS_DEFAULT	65536
#define MBATCH_PEER_IN_CMDS_MAX		1048576
#define MBATCH_WIRE_VERSION		3

/* Feature bits reported by MBATCH_CMD_VERSION_GET. */
#define MBATCH_FEAT_LOCAL		_BITULL(0)
#define MBATCH_FEAT_REMOTE		_BITULL(1)
#define MBATCH_FEAT_REGIONS		_BITULL(2)
#define MBATCH_FEAT_JOURNAL		_BITULL(3)

/* Message operations (MBATCH_MSG_A_OP). */
enum mbatch_op {
	MBATCH_OP_READ = 1,
	MBATCH_OP_WRITE,
	MBATCH_OP_FLUSH,
	MBATCH_OP_DISCARD,
	MBATCH_OP_WRITE_ZEROES,
	MBATCH_OP_CHECKPOINT,

	__MBATCH_OP_MAX,
	MBATCH_OP_MAX = __MBATCH_OP_MAX - 1
};

/* Message flags (MBATCH_MSG_A_FLAGS); only valid on CHECKPOINT. */
#define MBATCH_MSG_F_DURABLE		_BITUL(0)	/* cache flush */
#define MBATCH_MSG_F_CONTINUE		_BITUL(1)	/* do not halt */
#define MBATCH_MSG_F_ALL		(MBATCH_MSG_F_DURABLE | \
					 MBATCH_MSG_F_CONTINUE)

/* Result flags (MBATCH_RESULT_A_FLAGS). */
#define MBATCH_RESULT_F_REORDERED	_BITUL(0)	/* ran before an older command */
#define MBATCH_RESULT_F_MERGED		_BITUL(1)	/* shared a bio with another */
#define MBATCH_RESULT_F_PROXIED		_BITUL(2)	/* its data is in the region */
#define MBATCH_RESULT_F_RESTORED	_BITUL(3)	/* remote: from its queue's
							 * journal, after the
							 * participant lost it
							 */

/* Region flags (MBATCH_A_REGION_FLAGS). */
#define MBATCH_REGION_F_READONLY	_BITUL(0)	/* only WRITE payloads */
#define MBATCH_REGION_F_ALL		MBATCH_REGION_F_READONLY

/* Session flags (MBATCH_A_SESSION_FLAGS). */
#define MBATCH_SESSION_F_OWNED		_BITUL(0)	/* closed with its socket */
#define MBATCH_SESSION_F_ALL		MBATCH_SESSION_F_OWNED
#define MBATCH_SESSION_F_PEER		_BITUL(1)	/* reported: a peer's */

/* Collect flags (MBATCH_A_COLLECT_FLAGS). */
#define MBATCH_COLLECT_F_ACK_DELIVERED	_BITUL(0)	/* ack the last reply */
#define MBATCH_COLLECT_F_ALL		MBATCH_COLLECT_F_ACK_DELIVERED

/*
 * What became of a command (MBATCH_RESULT_A_OUTCOME). The status beside it
 * is 0 or -errno: for DONE what the command completed with, for the others
 * the cause (-ECANCELED, or the error that cut the session off).
 */
enum mbatch_outcome {
	MBATCH_OUTCOME_DONE = 1,	/* it ran */
	MBATCH_OUTCOME_CANCELLED,	/* it did not run: cancelled, halted */
	MBATCH_OUTCOME_NOT_SENT,	/* remote: it never left; did not run */
	MBATCH_OUTCOME_UNKNOWN,		/* remote: it may or may not have run */
};

/* Where a queue's journal is (MBATCH_A_QUEUE_JOURNAL). */
enum mbatch_journal_kind {
	MBATCH_JOURNAL_INTERNAL = 1,	/* the end of the queue's device */
	MBATCH_JOURNAL_DEVICE,		/* MBATCH_A_QUEUE_JOURNAL_DEV */
};

enum mbatch_session_state {
	MBATCH_SESSION_ACTIVE = 1,
	MBATCH_SESSION_HALTED,
	MBATCH_SESSION_CLOSING,
	MBATCH_SESSION_CONNECTING,	/* remote: waiting for the participant */
};

enum mbatch_peer_state {
	MBATCH_PEER_DOWN = 1,		/* no link */
	MBATCH_PEER_UP,			/* a link is attached */
};

/* Digests negotiated at handshake (MBATCH_A_PEER_DIGEST). */
#define MBATCH_DIGEST_HEADER		_BITUL(0)
#define MBATCH_DIGEST_DATA		_BITUL(1)
#define MBATCH_DIGEST_ALL		(MBATCH_DIGEST_HEADER | \
					 MBATCH_DIGEST_DATA)

enum mbatch_cmd {
	MBATCH_CMD_UNSPEC,
	MBATCH_CMD_VERSION_GET,
	MBATCH_CMD_QUEUE_NEW,
	MBATCH_CMD_QUEUE_DEL,
	MBATCH_CMD_QUEUE_GET,
	MBATCH_CMD_SESSION_OPEN,
	MBATCH_CMD_SESSION_CLOSE,
	MBATCH_CMD_SESSION_GET,
	MBATCH_CMD_SUBMIT,
	MBATCH_CMD_COLLECT,
	MBATCH_CMD_RESUME,
	MBATCH_CMD_BATCH_CANCEL,
	MBATCH_CMD_CHECKPOINT_NTF,
	MBATCH_CMD_SESSION_HALT_NTF,
	MBATCH_CMD_PEER_NEW,
	MBATCH_CMD_PEER_DEL,
	MBATCH_CMD_PEER_GET,
	MBATCH_CMD_PEER_ATTACH,
	MBATCH_CMD_LINK_UP_NTF,
	MBATCH_CMD_LINK_DOWN_NTF,
	MBATCH_CMD_COLLECT_READY_NTF,
	MBATCH_CMD_REGION_NEW,
	MBATCH_CMD_REGION_DEL,
	MBATCH_CMD_REGION_GET,

	__MBATCH_CMD_MAX,
	MBATCH_CMD_MAX = __MBATCH_CMD_MAX - 1
};

enum mbatch_attr {
	MBATCH_A_UNSPEC,
	MBATCH_A_PAD,
	MBATCH_A_VERSION,		/* u32: family version */
	MBATCH_A_MODULE_VERSION,	/* string */
	MBATCH_A_FEATURES,		/* u64: MBATCH_FEAT_* */
	MBATCH_A_QUEUE_NAME,		/* string */
	MBATCH_A_QUEUE_DEV,		/* string: block device path */
	MBATCH_A_QUEUE_DEPTH,		/* u32 */
	MBATCH_A_QUEUE_MAX_CMDS,	/* u32: per-session queued commands */
	MBATCH_A_QUEUE_MAX_BYTES,	/* u64: per-session queued bytes */
	MBATCH_A_QUEUE_BLOCK_SIZE,	/* u32: logical block size */
	MBATCH_A_QUEUE_CAPACITY,	/* u64: bytes */
	MBATCH_A_QUEUE_SESSIONS,	/* u32: open sessions */
	MBATCH_A_SESSION_ID,		/* u32 */
	MBATCH_A_SESSION_FLAGS,		/* u32: MBATCH_SESSION_F_* */
	MBATCH_A_SESSION_STATE,		/* u32: enum mbatch_session_state */
	MBATCH_A_SESSION_EPOCH,		/* u64: checkpoints submitted */
	MBATCH_A_SESSION_DONE_EPOCH,	/* u64: checkpoints completed */
	MBATCH_A_SESSION_ERROR,		/* s32: error that halted it */
	MBATCH_A_BATCH_ID,		/* u64 */
	MBATCH_A_BATCH_FIRST_SEQ,	/* u64: sequence of its first message */
	MBATCH_A_BATCH_COUNT,		/* u32: messages in the batch */
	MBATCH_A_MSG,			/* nest, multi: enum mbatch_msg_attr */
	MBATCH_A_RESULT,		/* nest, multi: enum mbatch_result_attr */
	MBATCH_A_STATS,			/* nest: enum mbatch_stats_attr */
	MBATCH_A_COLLECT_ACK,		/* u64: results up to this seq are done */
	MBATCH_A_COLLECT_FLAGS,		/* u32: MBATCH_COLLECT_F_* */
	MBATCH_A_COLLECT_MIN,		/* u32: wait for at least N results */
	MBATCH_A_COLLECT_EPOCH,		/* u64: wait for this checkpoint */
	MBATCH_A_COLLECT_TIMEOUT_MS,	/* u32: how long to wait */
	MBATCH_A_COLLECT_MAX,		/* u32: at most N results */
	MBATCH_A_COLLECT_SEQ,		/* u64: collect reply number */
	MBATCH_A_COLLECT_COUNT,		/* u32: results in this collect */
	MBATCH_A_COLLECT_PENDING,	/* u32: completed, left for the next */
	MBATCH_A_PEER_NAME,		/* string */
	MBATCH_A_PEER_ADDR,		/* string: "host:port" to dial, or none */
	MBATCH_A_PEER_PSK_FILE,		/* string: key file, read by the daemon */
	MBATCH_A_PEER_STATE,		/* u32: enum mbatch_peer_state */
	MBATCH_A_PEER_FD,		/* u32: connected, authenticated socket */
	MBATCH_A_PEER_DIGEST,		/* u32: MBATCH_DIGEST_* */
	MBATCH_A_PEER_KEEPALIVE_MS,	/* u32 */
	MBATCH_A_PEER_LINK_TIMEOUT_MS,	/* u32: sessions wait this long */
	MBATCH_A_PEER_RTT_US,		/* u32: last keepalive round trip */
	MBATCH_A_PEER_STATS,		/* nest: enum mbatch_peer_stats_attr */
	MBATCH_A_LINK_REASON,		/* string: why a link went down */
	MBATCH_A_LINK_ERROR,		/* s32: -errno of a link going down */
	MBATCH_A_SESSION_HANDLE,	/* u64: proves the right to a session */
	MBATCH_A_SESSION_MAX_IO,	/* u32: largest READ/WRITE it takes */
	MBATCH_A_SESSION_HALTS,		/* u32: times it halted */
	MBATCH_A_LIMIT_MAX_IO,		/* u32: largest READ/WRITE, bytes */
	MBATCH_A_LIMIT_MAX_ZERO,	/* u32: largest DISCARD/WRITE_ZEROES */
	MBATCH_A_LIMIT_BATCH_MSGS,	/* u32: messages per SUBMIT */
	MBATCH_A_LIMIT_REQUEST_BYTES,	/* u32: largest request this socket sends */
	MBATCH_A_LIMIT_REPLY_BYTES,	/* u32: receive buffers need this much */
	MBATCH_A_COLLECT_WAITING,	/* flag: nothing yet, COLLECT_READY follows */
	MBATCH_A_COLLECT_TIMED_OUT,	/* flag: COLLECT_READY after the timeout */
	MBATCH_A_PEER_IN_BYTES,		/* u64: budget of its sessions here */
	MBATCH_A_PEER_IN_CMDS,		/* u32: the same, in commands */
	MBATCH_A_REGION_ID,		/* u32 */
	MBATCH_A_REGION_ADDR,		/* u64: user address, page aligned */
	MBATCH_A_REGION_LEN,		/* u64: bytes, page aligned */
	MBATCH_A_REGION_FLAGS,		/* u32: MBATCH_REGION_F_* */
	MBATCH_A_REGION_USERS,		/* u32: commands using it now */
	MBATCH_A_REGION_PORTID,		/* u32: the socket that owns it */
	MBATCH_A_LIMIT_MAX_PROXY_IO,	/* u32: largest proxied READ/WRITE */
	MBATCH_A_SESSION_MAX_PROXY_IO,	/* u32: the same, for this session */
	MBATCH_A_SESSION_PROXY_ALIGN,	/* u32: region offsets align to it */
	MBATCH_A_QUEUE_JOURNAL,		/* u32: enum mbatch_journal_kind */
	MBATCH_A_QUEUE_JOURNAL_DEV,	/* string: its own block device */
	MBATCH_A_QUEUE_JOURNAL_SIZE,	/* u64: bytes of the journal area */
	MBATCH_A_QUEUE_JOURNAL_UUID,	/* binary: 16 bytes */
	MBATCH_A_QUEUE_JOURNAL_GENERATION, /* u64: superblock writes */
	MBATCH_A_QUEUE_JOURNAL_LOG_SEQ,	/* u64: the last record's number */
	MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS, /* u64: records in the log */
	MBATCH_A_QUEUE_JOURNAL_LOG_ROOM, /* u64: records that still fit */
	MBATCH_A_QUEUE_JOURNAL_LOG_WRITES, /* u64: its block writes */
	MBATCH_A_QUEUE_JOURNAL_RESTORED, /* u32: sessions restored from it */
	MBATCH_A_QUEUE_JOURNAL_UNRESTORED, /* u32: open ones it could not */

	__MBATCH_A_MAX,
	MBATCH_A_MAX = __MBATCH_A_MAX - 1
};

enum mbatch_msg_attr {
	MBATCH_MSG_A_UNSPEC,
	MBATCH_MSG_A_PAD,
	MBATCH_MSG_A_TAG,		/* u64: initiator's cookie */
	MBATCH_MSG_A_OP,		/* u32: enum mbatch_op */
	MBATCH_MSG_A_FLAGS,		/* u32: MBATCH_MSG_F_* */
	MBATCH_MSG_A_OFFSET,		/* u64: bytes */
	MBATCH_MSG_A_LEN,		/* u32: bytes */
	MBATCH_MSG_A_DATA,		/* binary: WRITE payload */
	MBATCH_MSG_A_REGION,		/* u32: payload in this region ... */
	MBATCH_MSG_A_REGION_OFFSET,	/* u64: ... at this offset */

	__MBATCH_MSG_A_MAX,
	MBATCH_MSG_A_MAX = __MBATCH_MSG_A_MAX - 1
};

enum mbatch_result_attr {
	MBATCH_RESULT_A_UNSPEC,
	MBATCH_RESULT_A_PAD,
	MBATCH_RESULT_A_SEQ,		/* u64: result sequence (ack cursor) */
	MBATCH_RESULT_A_TAG,		/* u64 */
	MBATCH_RESULT_A_OP,		/* u32 */
	MBATCH_RESULT_A_STATUS,		/* s32: 0 or -errno */
	MBATCH_RESULT_A_BYTES,		/* u32: bytes transferred */
	MBATCH_RESULT_A_EPOCH,		/* u64 */
	MBATCH_RESULT_A_START_NS,	/* u64: 0 if it never started */
	MBATCH_RESULT_A_DONE_NS,	/* u64 */
	MBATCH_RESULT_A_BATCH_ID,	/* u64 */
	MBATCH_RESULT_A_MSG_SEQ,	/* u64: submission sequence */
	MBATCH_RESULT_A_FLAGS,		/* u32: MBATCH_RESULT_F_* */
	MBATCH_RESULT_A_DATA,		/* binary: READ data */
	MBATCH_RESULT_A_OUTCOME,	/* u32: enum mbatch_outcome */

	__MBATCH_RESULT_A_MAX,
	MBATCH_RESULT_A_MAX = __MBATCH_RESULT_A_MAX - 1
};

enum mbatch_stats_attr {
	MBATCH_STATS_A_UNSPEC,
	MBATCH_STATS_A_PAD,
	MBATCH_STATS_A_SUBMITTED,	/* u64 each */
	MBATCH_STATS_A_COMPLETED,
	MBATCH_STATS_A_FAILED,
	MBATCH_STATS_A_CANCELLED,
	MBATCH_STATS_A_REORDERED,
	MBATCH_STATS_A_MERGED,
	MBATCH_STATS_A_CHECKPOINTS,
	MBATCH_STATS_A_FLUSHES,
	MBATCH_STATS_A_BYTES_READ,
	MBATCH_STATS_A_BYTES_WRITTEN,
	MBATCH_STATS_A_INFLIGHT,
	MBATCH_STATS_A_QUEUED,
	MBATCH_STATS_A_QUEUED_BYTES,
	MBATCH_STATS_A_REJECTED,
	MBATCH_STATS_A_NOT_SENT,	/* remote outcomes */
	MBATCH_STATS_A_UNKNOWN,

	__MBATCH_STATS_A_MAX,
	MBATCH_STATS_A_MAX = __MBATCH_STATS_A_MAX - 1
};

enum mbatch_peer_stats_attr {
	MBATCH_PEER_STATS_A_UNSPEC,
	MBATCH_PEER_STATS_A_PAD,
	MBATCH_PEER_STATS_A_TX_BYTES,	/* u64 each */
	MBATCH_PEER_STATS_A_RX_BYTES,
	MBATCH_PEER_STATS_A_TX_FRAMES,
	MBATCH_PEER_STATS_A_RX_FRAMES,
	MBATCH_PEER_STATS_A_LINKS,	/* links attached */
	MBATCH_PEER_STATS_A_RECONNECTS,	/* links attached after the first */
	MBATCH_PEER_STATS_A_DROPS,	/* links dropped */
	MBATCH_PEER_STATS_A_RESENT,	/* messages sent again after a drop */
	MBATCH_PEER_STATS_A_DUPLICATES,	/* messages received twice, dropped */
	MBATCH_PEER_STATS_A_SESSIONS_OUT, /* our sessions on its queues */
	MBATCH_PEER_STATS_A_SESSIONS_IN, /* its sessions on our queues */
	MBATCH_PEER_STATS_A_TX_CREDITS,	/* messages we may still send */
	MBATCH_PEER_STATS_A_RX_CREDITS,	/* messages we let it send */
	MBATCH_PEER_STATS_A_IN_CMDS,	/* its budget in use here */
	MBATCH_PEER_STATS_A_IN_BYTES,
	MBATCH_PEER_STATS_A_PULLED,	/* WRITEs whose data went by R2T */
	MBATCH_PEER_STATS_A_PULLED_BYTES,

	__MBATCH_PEER_STATS_A_MAX,
	MBATCH_PEER_STATS_A_MAX = __MBATCH_PEER_STATS_A_MAX - 1
};

#endif /* _UAPI_LINUX_MBATCH_H */
