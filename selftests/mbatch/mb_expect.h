/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Expected extack texts of the mbatch module, in one place.
 *
 * Each rejection is asserted as errno + a substring of the extended ACK
 * message that only that refusal has: the whole text, never a word the
 * netlink core's own messages contain too. Texts marked "core" come from
 * the netlink/genetlink core (lib/nlattr.c, net/netlink/genetlink.c) and
 * only apply when the module lets its policies do the check; the others
 * are the module's own. The malformed-request table itself is in
 * mb_badinput.c and refers to these names.
 */
#ifndef MB_EXPECT_H
#define MB_EXPECT_H

/* netlink core (policy validation and the genetlink header) */
#define X_POLICY	"Attribute failed policy validation"	/* core, -EINVAL */
#define X_ATTRLEN	"invalid attribute length"	/* core, -EINVAL */
#define X_UNKNOWN_ATTR	"Unknown attribute type"	/* core, -EINVAL */
#define X_RANGE		"integer out of range"		/* core, -ERANGE */
#define X_RESERVED_BIT	"reserved bit set"		/* core NLA_POLICY_MASK, -EINVAL */
#define X_NESTED	"NLA_F_NESTED is missing"	/* core, -EINVAL */
#define X_GENL_RESERVED	"genlmsghdr.reserved field is not 0"	/* core, -EINVAL */
#define X_NLFLAGS	"ambiguous or reserved bits set in nlmsg_flags"	/* core, -EINVAL */

/* the module: a missing attribute, named (and NLMSGERR_ATTR_MISS_TYPE) */
#define X_MISS_QUEUE	"missing queue name"		/* -EINVAL */
#define X_MISS_DEV	"missing device path"		/* -EINVAL */
#define X_MISS_SESSION	"missing session id"		/* -EINVAL */
#define X_MISS_BATCH	"missing batch id"		/* -EINVAL */
#define X_NO_MSGS	"a batch needs at least one message"	/* -EINVAL */
#define X_MSG_NO_OP	"message has no op"		/* -EINVAL */
#define X_MSG_NO_OFFSET	"message has no offset"		/* -EINVAL */
#define X_MSG_NO_LEN	"message has no length"		/* -EINVAL */
#define X_MSG_NO_DATA	"a write needs data"		/* -EINVAL */

/* the module */
#define X_NO_QUEUE	"no such queue"			/* -ENOENT */
#define X_NO_SESSION	"no such session"		/* -ENOENT */
#define X_NO_BATCH	"no such batch"			/* -ENOENT */
#define X_QUEUE_EXISTS	"a queue with this name exists"	/* -EEXIST */
#define X_QUEUE_NAME	"queue name must be 1-31 characters of [A-Za-z0-9_.-]"	/* -EINVAL */
#define X_DEV_OPEN	"cannot open the block device path"	/* -ENOENT/-ENOTBLK/-ENXIO */
#define X_DEV_BUSY	"block device is busy (opened exclusively elsewhere)"	/* -EBUSY */
#define X_TOO_MANY_MSGS	"too many messages in one batch"	/* -E2BIG */
#define X_OFF_UNALIGNED	"offset is not aligned to the logical block size"	/* -EINVAL */
#define X_LEN_UNALIGNED	"length is not aligned to the logical block size"	/* -EINVAL */
#define X_BEYOND	"range is beyond the end of the device"	/* -ERANGE */
#define X_LEN_ZERO	"length must not be zero"	/* -EINVAL */
#define X_LEN_MAX_IO	"length exceeds the read/write maximum"	/* -EINVAL */
#define X_LEN_MAX_ZERO	"length exceeds the discard/write-zeroes maximum"	/* -EINVAL */
#define X_DATA_LEN	"data length does not match the length"	/* -EINVAL */
#define X_DATA_NOT_ALLOWED "only a write carries data"	/* -EINVAL */
#define X_FLAGS_ONLY_CP	"flags are only valid on a checkpoint"	/* -EINVAL */
#define X_NO_RANGE	"flush and checkpoint take no offset or length"	/* -EINVAL */
#define X_NOT_HALTED	"session is not halted"		/* -EINVAL on RESUME */
#define X_CLOSING	"session is closing"		/* -ENOENT: raced a close */
#define X_NO_DISCARD	"the device does not support discard"	/* -EOPNOTSUPP */
#define X_LIMIT_CMDS	"session command limit reached"	/* -ENOBUFS */
#define X_LIMIT_BYTES	"session byte limit reached"	/* -ENOBUFS */
#define X_TOO_MANY_SESSIONS "too many sessions on this queue"	/* -ENOBUFS */
#define X_TOO_MANY_PEERS "too many peers"		/* -ENOBUFS */
#define X_NEED_SYS_ADMIN "binding a block device needs CAP_SYS_ADMIN"	/* -EPERM on QUEUE_NEW */
#define X_ACK_AHEAD	"collect-ack is ahead of the results delivered"	/* -EINVAL */
#define X_COLLECT_DO	"collect is a dump request: set NLM_F_DUMP"	/* -EOPNOTSUPP */
#define X_NOT_OWNER	"the session belongs to another socket"	/* -EPERM: no handle */
#define X_WRONG_HANDLE	"wrong session handle"		/* -EPERM */
#define X_PEER_OWNED	"the session belongs to a peer"	/* -EPERM */

/* the module: registered regions (REGION_NEW, REGION_DEL) */
#define X_REGION_ALIGN	"region address and length must be page aligned"	/* -EINVAL */
#define X_REGION_LEN	"region length must be 1 page to 1 GiB"	/* -EINVAL */
#define X_REGION_MAX	"too many regions on this socket"	/* -ENOSPC */
#define X_REGION_MEMLOCK "region exceeds RLIMIT_MEMLOCK"	/* -ENOMEM */
#define X_REGION_UNMAPPED "region is not all mapped"	/* -EFAULT */
#define X_REGION_FILE	"region is a shared file mapping: register it read-only"	/* -EOPNOTSUPP */
#define X_NO_REGION	"no such region"		/* -ENOENT (also a message's) */
#define X_REGION_SOCKET	"region belongs to another socket"	/* -EPERM (also a message's) */

/* the module: a queue's state journal (QUEUE_NEW) */
#define X_MISS_JOURNAL_DEV "missing journal device"	/* -EINVAL */
#define X_JOURNAL_DEV_ALONE "a journal device path needs journal kind 'device'"	/* -EINVAL */
#define X_JOURNAL_SIZE_ALONE "a journal size needs a journal"	/* -EINVAL */
#define X_JOURNAL_SIZE_ALIGN "journal size must be a multiple of 4096"	/* -EINVAL */
#define X_JOURNAL_SIZE_DIFFERS "the journal exists with another size: give its size or none"	/* -EINVAL */
#define X_HOLDS_JOURNAL	"the device holds an mbatch journal (use it, or zero its last 8 KiB)"	/* -EEXIST */
#define X_JOURNAL_HALF	"an internal journal may take at most half of the device"	/* -ENOSPC */
#define X_JOURNAL_BUSY	"journal device is busy (opened exclusively, or the queue's own device)"	/* -EBUSY */
#define X_JOURNAL_IS_DEVICE "the device is a journal device, not one with an internal journal"	/* -EINVAL */
#define X_JOURNAL_IS_INTERNAL "the journal device holds an internal journal of its own queue"	/* -EINVAL */
#define X_JOURNAL_RESIZED "the device's size has changed since the journal was made"	/* -EINVAL */
#define X_JOURNAL_BS_CHANGED "the device's block size has changed since the journal was made"	/* -EINVAL */
/* a superblock copy that fails its checks: -EUCLEAN */
#define X_JOURNAL_CRC	"journal superblock checksum mismatch"
#define X_JOURNAL_NEWER	"journal version is newer than this module's"
#define X_JOURNAL_VERSION "unknown journal version"
#define X_JOURNAL_FLAGS	"unknown journal superblock flags"
#define X_JOURNAL_RESERVED "journal superblock's reserved bytes are not zero"
#define X_JOURNAL_GEN0	"journal superblock generation is 0 or exhausted"
#define X_JOURNAL_SIZE_RANGE "journal size in the superblock is out of range"
#define X_JOURNAL_IMPOSSIBLE "journal superblock describes an impossible device"
#define X_JOURNAL_LAYOUT "journal superblock's log or snapshot areas are out of place"
#define X_JOURNAL_CLAIMS "the journal superblock claims more than its device holds"
#define X_JOURNAL_TWO	"the journal's two superblock copies are of different journals"
#define X_JOURNAL_HEAD	"journal superblock's log head is out of place"
#define X_JLOG_TYPE	"the journal's log holds a record type this module does not know"	/* -EUCLEAN */
#define X_JLOG_MALFORMED "the journal's log holds a malformed record"	/* -EUCLEAN */
#define X_JLOG_FULL	"the journal's log is full"	/* -ENOSPC */
#define X_JLOG_READ	"cannot read the journal's log"	/* the read's errno */
#define X_JLOG_WRITE	"cannot write the journal's log"	/* the write's errno */
#define X_JLOG_SEQ	"the journal's log has used up its sequence numbers"	/* -EUCLEAN */
#define X_JLOG_DAMAGED	"the journal's log is damaged: a record past its end"	/* -EUCLEAN */
#define X_JOURNAL_NOT_ZERO "not a journal, and its last 8 KiB are not zero: zero them to make one"

/* the module: a message naming a region */
#define X_REGION_OP	"only a read or write takes a region"	/* -EINVAL */
#define X_REGION_NO_OFFSET "a region needs an offset"	/* -EINVAL */
#define X_REGION_NO_REGION "a region offset needs a region"	/* -EINVAL */
#define X_REGION_AND_DATA "a message carries data or a region, not both"	/* -EINVAL */
#define X_REGION_PROCESS "region belongs to another process"	/* -EPERM */
#define X_REGION_RO	"region is read-only"		/* -EACCES */
#define X_REGION_BEYOND	"payload is beyond the end of the region"	/* -ERANGE */
#define X_REGION_UNALIGNED "region offset is not aligned for the device"	/* -EINVAL */
#define X_LEN_MAX_PROXY	"length exceeds the proxied read/write maximum"	/* -EINVAL */

#endif /* MB_EXPECT_H */
