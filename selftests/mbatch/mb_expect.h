/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Expected extack texts of the mbatch module, in one place.
 *
 * Each rejection is asserted as errno + a case-insensitive substring of the
 * extended ACK message. Texts marked "core" come from the netlink/genetlink
 * core (lib/nlattr.c, net/netlink/genetlink.c) and only apply when the
 * module lets its policies do the check; the others are the module's own.
 * The malformed-request table itself is in mb_badinput.c and refers to
 * these names.
 */
#ifndef MB_EXPECT_H
#define MB_EXPECT_H

/* netlink core (policy validation) */
#define X_POLICY	"failed policy validation"	/* core, -ERANGE/-EINVAL */
#define X_ATTRLEN	"invalid attribute length"	/* core, -EINVAL */
#define X_UNKNOWN_ATTR	"Unknown attribute type"	/* core, -EINVAL */
#define X_RANGE		"out of range"			/* core "integer out of range", -ERANGE */
#define X_RESERVED_BIT	"reserved bit set"		/* core NLA_POLICY_MASK, -EINVAL */
#define X_NESTED	"NLA_F_NESTED"			/* core, -EINVAL */
#define X_GENL_RESERVED	"reserved field is not 0"	/* core, -EINVAL */
#define X_NLFLAGS	"nlmsg_flags"			/* core, -EINVAL */

/* the module */
#define X_MISSING	"missing"	/* or NLMSGERR_ATTR_MISS_TYPE naming it */
#define X_NO_QUEUE	"no such queue"			/* -ENOENT */
#define X_NO_SESSION	"no such session"		/* -ENOENT */
#define X_NO_BATCH	"no such batch"			/* -ENOENT */
#define X_QUEUE_EXISTS	"exists"			/* -EEXIST */
#define X_QUEUE_NAME	"queue name"			/* -EINVAL */
#define X_DEV_OPEN	"open the block device"		/* -ENOENT/-ENOTBLK/... */
#define X_DEV_BUSY	"busy"				/* -EBUSY */
#define X_NO_MSGS	"at least one message"		/* -EINVAL */
#define X_TOO_MANY_MSGS	"too many messages"		/* -E2BIG */
#define X_UNALIGNED	"not aligned"			/* -EINVAL */
#define X_BEYOND	"beyond the end"		/* -ERANGE */
#define X_LEN		"length"			/* -EINVAL/-ERANGE */
#define X_DATA_LEN	"data length"			/* -EINVAL */
#define X_DATA_NOT_ALLOWED "data"			/* -EINVAL */
#define X_FLAGS_ONLY_CP	"flags"				/* -EINVAL */
#define X_NO_RANGE	"offset"			/* -EINVAL: FLUSH/CHECKPOINT with offset/len */
#define X_NOT_HALTED	"not halted"			/* -EINVAL on RESUME */
#define X_NO_DISCARD	"discard"			/* -EOPNOTSUPP */
#define X_LIMIT_CMDS	"command limit"			/* -ENOBUFS */
#define X_LIMIT_BYTES	"byte limit"			/* -ENOBUFS */
#define X_NEED_SYS_ADMIN "CAP_SYS_ADMIN"		/* -EPERM on QUEUE_NEW */
#define X_COLLECT_TIMEOUT "timeout"			/* -ERANGE/-EINVAL */
#define X_ACK_AHEAD	"collect-ack is ahead"		/* -EINVAL: ack past last delivered */
#define X_NOT_OWNER	"belongs to another socket"	/* -EPERM: no handle */
#define X_WRONG_HANDLE	"wrong session handle"		/* -EPERM */

#endif /* MB_EXPECT_H */
