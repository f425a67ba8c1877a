// SPDX-License-Identifier: GPL-2.0
/*
 * The Generic Netlink family "mbatch": policies, request handlers, the one
 * fill function per object, dumps and events (notify.h). This is the only
 * file that speaks genetlink. See Documentation/netlink/specs/mbatch.yaml.
 *
 * Handlers parse, call the core and fill the reply; none of them waits for
 * a device or the network while genetlink holds its lock.
 */
#include <linux/netlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "cmd.h"
#include "collect.h"
#include "compat.h"
#include "exec.h"
#include "initiator.h"
#include "local.h"
#include "netlink.h"
#include "netns.h"
#include "notify.h"
#include "participant.h"
#include "peer.h"
#include "queue.h"
#include "region.h"
#include "session.h"

static struct genl_family mbatch_family;

enum mbatch_mcgrp {
	MBATCH_MCGRP_EVENTS_ID,
};

static const struct genl_multicast_group mbatch_mcgrps[] = {
	[MBATCH_MCGRP_EVENTS_ID] = {
		.name = MBATCH_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

/* The largest part of a collect reply: the largest result and its frame. */
#define MBATCH_REPLY_BYTES	(MBATCH_MAX_IO_LEN + NLMSG_GOODSIZE)

/* Policies: one per request, attributes not listed are refused. */

/* Not const: the 6.1 policy macros take a non-const pointer. */
static struct netlink_range_validation mbatch_journal_size_range = {
	.min = MBATCH_JOURNAL_SIZE_MIN,
	.max = MBATCH_JOURNAL_SIZE_MAX,
};

static struct netlink_range_validation mbatch_max_bytes_range = {
	.min = MBATCH_MAX_BYTES_MIN,
	.max = MBATCH_MAX_BYTES_MAX,
};

static struct netlink_range_validation mbatch_batch_id_range = {
	.min = 1,
	.max = S64_MAX,
};

static struct netlink_range_validation mbatch_max_cmds_range = {
	.min = 1,
	.max = MBATCH_MAX_CMDS_MAX,
};

static struct netlink_range_validation mbatch_keepalive_range = {
	.min = MBATCH_KEEPALIVE_MS_MIN,
	.max = MBATCH_KEEPALIVE_MS_MAX,
};

static struct netlink_range_validation mbatch_link_timeout_range = {
	.min = 1,
	.max = MBATCH_LINK_TIMEOUT_MS_MAX,
};

static struct netlink_range_validation mbatch_in_bytes_range = {
	.min = MBATCH_PEER_IN_BYTES_MIN,
	.max = MBATCH_PEER_IN_BYTES_MAX,
};

static struct netlink_range_validation mbatch_in_cmds_range = {
	.min = 1,
	.max = MBATCH_PEER_IN_CMDS_MAX,
};

static const struct nla_policy mbatch_msg_policy[MBATCH_MSG_A_MAX + 1] = {
	[MBATCH_MSG_A_TAG] = { .type = NLA_U64 },
	[MBATCH_MSG_A_OP] = NLA_POLICY_RANGE(NLA_U32, MBATCH_OP_READ,
					     MBATCH_OP_MAX),
	[MBATCH_MSG_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, MBATCH_MSG_F_ALL),
	[MBATCH_MSG_A_OFFSET] = { .type = NLA_U64 },
	[MBATCH_MSG_A_LEN] = { .type = NLA_U32 },
	[MBATCH_MSG_A_DATA] = { .type = NLA_BINARY, .len = MBATCH_MAX_IO_LEN },
	[MBATCH_MSG_A_REGION] = { .type = NLA_U32 },
	[MBATCH_MSG_A_REGION_OFFSET] = { .type = NLA_U64 },
};

static const struct nla_policy mbatch_version_policy[MBATCH_A_MAX + 1] = {
};

static const struct nla_policy mbatch_queue_new_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_QUEUE_NAME] = { .type = NLA_NUL_STRING,
				  .len = MBATCH_QUEUE_NAME_MAX - 1 },
	[MBATCH_A_QUEUE_DEV] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_DEV_PATH_MAX - 1 },
	[MBATCH_A_QUEUE_DEPTH] = NLA_POLICY_RANGE(NLA_U32, 1, MBATCH_DEPTH_MAX),
	[MBATCH_A_QUEUE_MAX_CMDS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_max_cmds_range),
	[MBATCH_A_QUEUE_MAX_BYTES] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_max_bytes_range),
	[MBATCH_A_QUEUE_JOURNAL] = NLA_POLICY_RANGE(NLA_U32,
						    MBATCH_JOURNAL_INTERNAL,
						    MBATCH_JOURNAL_DEVICE),
	[MBATCH_A_QUEUE_JOURNAL_DEV] = { .type = NLA_NUL_STRING,
					 .len = MBATCH_DEV_PATH_MAX - 1 },
	[MBATCH_A_QUEUE_JOURNAL_SIZE] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_journal_size_range),
};

static const struct nla_policy mbatch_queue_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_QUEUE_NAME] = { .type = NLA_NUL_STRING,
				  .len = MBATCH_QUEUE_NAME_MAX - 1 },
};

static const struct nla_policy mbatch_session_open_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_QUEUE_NAME] = { .type = NLA_NUL_STRING,
				  .len = MBATCH_QUEUE_NAME_MAX - 1 },
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
	[MBATCH_A_SESSION_FLAGS] = NLA_POLICY_MASK(NLA_U32,
						   MBATCH_SESSION_F_ALL),
};

static const struct nla_policy mbatch_session_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HANDLE] = { .type = NLA_U64 },
};

static const struct nla_policy mbatch_session_get_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_NAME] = { .type = NLA_NUL_STRING,
				  .len = MBATCH_QUEUE_NAME_MAX - 1 },
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
};

static const struct nla_policy mbatch_submit_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HANDLE] = { .type = NLA_U64 },
	[MBATCH_A_BATCH_ID] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_batch_id_range),
	[MBATCH_A_MSG] = NLA_POLICY_NESTED(mbatch_msg_policy),
};

static const struct nla_policy mbatch_cancel_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HANDLE] = { .type = NLA_U64 },
	[MBATCH_A_BATCH_ID] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_batch_id_range),
};

static const struct nla_policy mbatch_collect_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HANDLE] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_ACK] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_FLAGS] = NLA_POLICY_MASK(NLA_U32,
						   MBATCH_COLLECT_F_ALL),
	[MBATCH_A_COLLECT_MIN] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_max_cmds_range),
	[MBATCH_A_COLLECT_EPOCH] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_TIMEOUT_MS] =
		NLA_POLICY_MAX(NLA_U32, MBATCH_COLLECT_TIMEOUT_MAX_MS),
	[MBATCH_A_COLLECT_MAX] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_max_cmds_range),
};

static const struct nla_policy mbatch_peer_new_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
	[MBATCH_A_PEER_ADDR] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_ADDR_MAX - 1 },
	[MBATCH_A_PEER_PSK_FILE] = { .type = NLA_NUL_STRING,
				     .len = MBATCH_DEV_PATH_MAX - 1 },
	[MBATCH_A_PEER_KEEPALIVE_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_keepalive_range),
	[MBATCH_A_PEER_LINK_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_link_timeout_range),
	[MBATCH_A_PEER_IN_BYTES] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_in_bytes_range),
	[MBATCH_A_PEER_IN_CMDS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mbatch_in_cmds_range),
};

static const struct nla_policy mbatch_peer_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
};

static const struct nla_policy mbatch_region_new_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_REGION_ADDR] = { .type = NLA_U64 },
	[MBATCH_A_REGION_LEN] = { .type = NLA_U64 },
	[MBATCH_A_REGION_FLAGS] = NLA_POLICY_MASK(NLA_U32, MBATCH_REGION_F_ALL),
};

static const struct nla_policy mbatch_region_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_REGION_ID] = { .type = NLA_U32 },
};

static const struct nla_policy mbatch_peer_attach_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
	[MBATCH_A_PEER_FD] = { .type = NLA_U32 },
	[MBATCH_A_PEER_DIGEST] = NLA_POLICY_MASK(NLA_U32, MBATCH_DIGEST_ALL),
};

/* Fill functions: the same for replies, dumps and events. */

static int mbatch_put_stats(struct sk_buff *skb, const struct mbatch_stats *st,
			    const struct mbatch_held *h)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, MBATCH_A_STATS);
	if (!nest)
		return -EMSGSIZE;
#define PUT(a, v) nla_put_u64_64bit(skb, MBATCH_STATS_A_##a, v, \
				    MBATCH_STATS_A_PAD)
	if (PUT(SUBMITTED, st->submitted) || PUT(COMPLETED, st->completed) ||
	    PUT(FAILED, st->failed) || PUT(CANCELLED, st->cancelled) ||
	    PUT(REORDERED, st->reordered) || PUT(MERGED, st->merged) ||
	    PUT(CHECKPOINTS, st->checkpoints) || PUT(FLUSHES, st->flushes) ||
	    PUT(BYTES_READ, st->bytes_read) ||
	    PUT(BYTES_WRITTEN, st->bytes_written) ||
	    PUT(INFLIGHT, h->inflight) || PUT(QUEUED, h->queued) ||
	    PUT(QUEUED_BYTES, h->queued_bytes) || PUT(REJECTED, st->rejected) ||
	    PUT(NOT_SENT, st->not_sent) || PUT(UNKNOWN, st->unknown)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
#undef PUT
	nla_nest_end(skb, nest);
	return 0;
}

static int mbatch_put_journal(struct sk_buff *skb, struct mbatch_journal *j)
{
	struct mbatch_jlog_info log;

	if (!j)
		return 0;
	mbatch_jlog_info(j, &log);
	if (nla_put_u32(skb, MBATCH_A_QUEUE_JOURNAL, j->kind) ||
	    (j->kind == MBATCH_JOURNAL_DEVICE &&
	     nla_put_string(skb, MBATCH_A_QUEUE_JOURNAL_DEV, j->path)) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_SIZE, j->size,
			      MBATCH_A_PAD) ||
	    nla_put(skb, MBATCH_A_QUEUE_JOURNAL_UUID, sizeof(j->sb.uuid),
		    j->sb.uuid) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_GENERATION,
			      mbatch_journal_generation(j), MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_LOG_SEQ,
			      log.last_seq, MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS,
			      log.records, MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_LOG_ROOM,
			      log.room, MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_JOURNAL_LOG_WRITES,
			      log.writes, MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_JOURNAL_RESTORED,
			READ_ONCE(j->restored)) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_JOURNAL_UNRESTORED,
			READ_ONCE(j->unrestored)))
		return -EMSGSIZE;
	return 0;
}

static int mbatch_fill_queue(struct sk_buff *skb, struct mbatch_queue *q,
			     u32 portid, u32 seq, int flags, u8 cmd,
			     struct netlink_callback *cb)
{
	struct mbatch_stats st;
	struct mbatch_held h;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	mbatch_exec_queue_stats(q, &st, &h);
	if (nla_put_string(skb, MBATCH_A_QUEUE_NAME, q->name) ||
	    nla_put_string(skb, MBATCH_A_QUEUE_DEV, q->path) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_DEPTH, q->depth) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_MAX_CMDS, q->max_cmds) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_MAX_BYTES, q->max_bytes,
			      MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_BLOCK_SIZE, q->lbs) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_CAPACITY,
			      mbatch_queue_capacity(q), MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_SESSIONS,
			READ_ONCE(q->nr_sessions)) ||
	    mbatch_put_journal(skb, q->journal) ||
	    mbatch_put_stats(skb, &st, &h)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int mbatch_put_session_name(struct sk_buff *skb,
				   const struct mbatch_session *s)
{
	const char *queue, *peer;

	mbatch_session_names(s, &queue, &peer);
	if (nla_put_string(skb, MBATCH_A_QUEUE_NAME, queue) ||
	    (peer && nla_put_string(skb, MBATCH_A_PEER_NAME, peer)))
		return -EMSGSIZE;
	return 0;
}

/* The handle goes in the reply to its opener only (@handle). */
static int mbatch_fill_session(struct sk_buff *skb, struct mbatch_session *s,
			       u32 portid, u32 seq, int flags, u8 cmd,
			       struct netlink_callback *cb, bool handle)
{
	u64 epoch, done_epoch;
	struct mbatch_stats st;
	struct mbatch_geom g;
	struct mbatch_held h;
	u32 state, halts;
	int err;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	mbatch_session_held(s, &st, &h);
	spin_lock_irq(&s->lock);
	state = s->state;
	err = s->halt_err;
	halts = s->halts;
	epoch = s->epoch;
	done_epoch = s->done_epoch;
	spin_unlock_irq(&s->lock);
	if (mbatch_session_geometry(s, &g, NULL)) {
		/* not known yet */
		g.max_io = 0;
		g.max_proxy_io = 0;
		g.proxy_align = 0;
	}

	if (nla_put_u32(skb, MBATCH_A_SESSION_ID, s->id) ||
	    (handle && nla_put_u64_64bit(skb, MBATCH_A_SESSION_HANDLE,
					 s->handle, MBATCH_A_PAD)) ||
	    mbatch_put_session_name(skb, s) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_FLAGS, s->flags) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_STATE, state) ||
	    nla_put_u64_64bit(skb, MBATCH_A_SESSION_EPOCH, epoch,
			      MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_SESSION_DONE_EPOCH, done_epoch,
			      MBATCH_A_PAD) ||
	    nla_put_s32(skb, MBATCH_A_SESSION_ERROR, err) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_HALTS, halts) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_MAX_IO, g.max_io) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_MAX_PROXY_IO, g.max_proxy_io) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_PROXY_ALIGN, g.proxy_align) ||
	    mbatch_put_stats(skb, &st, &h)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * One result; READ data is copied from the command's pages (@data), unless
 * it went straight into a region.
 */
static int mbatch_put_result(struct sk_buff *skb, const struct mbatch_command *cmd,
			     bool data)
{
	struct nlattr *nest, *d;

	nest = nla_nest_start(skb, MBATCH_A_RESULT);
	if (!nest)
		return -EMSGSIZE;
#define PUT64(a, v) nla_put_u64_64bit(skb, MBATCH_RESULT_A_##a, v, \
				      MBATCH_RESULT_A_PAD)
	if (PUT64(SEQ, cmd->rseq) || PUT64(TAG, cmd->tag) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_OP, cmd->op) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_OUTCOME, cmd->outcome) ||
	    nla_put_s32(skb, MBATCH_RESULT_A_STATUS, cmd->status) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_BYTES, cmd->bytes) ||
	    PUT64(EPOCH, cmd->epoch) || PUT64(START_NS, cmd->start_ns) ||
	    PUT64(DONE_NS, cmd->done_ns) || PUT64(BATCH_ID, cmd->batch_id) ||
	    PUT64(MSG_SEQ, cmd->seq) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_FLAGS, cmd->rflags))
		goto cancel;
#undef PUT64
	if (data && cmd->op == MBATCH_OP_READ && cmd->bytes &&
	    !(cmd->rflags & MBATCH_RESULT_F_PROXIED)) {
		d = nla_reserve(skb, MBATCH_RESULT_A_DATA, cmd->len);
		if (!d)
			goto cancel;
		mbatch_cmd_copy_out(nla_data(d), cmd);
	}
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int mbatch_fill_region(struct sk_buff *skb,
			      const struct mbatch_region *r, u32 portid,
			      u32 seq, int flags, u8 cmd)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, MBATCH_A_REGION_ID, r->id) ||
	    nla_put_u64_64bit(skb, MBATCH_A_REGION_ADDR, r->addr,
			      MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_REGION_LEN, r->len, MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_REGION_FLAGS, r->flags) ||
	    nla_put_u32(skb, MBATCH_A_REGION_USERS, atomic_read(&r->users)) ||
	    nla_put_u32(skb, MBATCH_A_REGION_PORTID, r->portid)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * A missing attribute: the extack names it (NLMSGERR_ATTR_MISS_TYPE) and says
 * so in text, on every kernel.
 */
#define MBATCH_REQUIRE(info, attr, what) ({				\
	struct genl_info *__info = (info);				\
	int __type = (attr);						\
	bool __miss = !__info->attrs[__type];				\
	if (__miss) {							\
		NL_SET_ERR_ATTR_MISS(__info->extack, NULL, __type);	\
		NL_SET_ERR_MSG_MOD(__info->extack, "missing " what);	\
	}								\
	__miss;								\
})

static struct mbatch_net *mbatch_info_net(struct genl_info *info)
{
	return mbatch_net(genl_info_net(info));
}

static const u64 *mbatch_attr_handle(struct nlattr **a, u64 *buf)
{
	if (!a[MBATCH_A_SESSION_HANDLE])
		return NULL;
	*buf = nla_get_u64(a[MBATCH_A_SESSION_HANDLE]);
	return buf;
}

/* The session a request names; @drive: the caller must own it. */
static struct mbatch_session *mbatch_info_session(struct genl_info *info,
						  bool drive)
{
	struct nlattr *id = info->attrs[MBATCH_A_SESSION_ID];
	struct mbatch_session *s;
	const u64 *handle;
	u64 buf;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_SESSION_ID, "session id"))
		return ERR_PTR(-EINVAL);
	s = mbatch_session_get(mbatch_info_net(info), nla_get_u32(id));
	if (!s) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such session");
		NL_SET_BAD_ATTR(info->extack, id);
		return ERR_PTR(-ENOENT);
	}
	if (!drive)
		return s;
	handle = mbatch_attr_handle(info->attrs, &buf);
	err = mbatch_session_owner_check(s, info->snd_portid, handle,
					 info->extack);
	if (err) {
		NL_SET_BAD_ATTR(info->extack,
				info->attrs[MBATCH_A_SESSION_HANDLE] ?: id);
		mbatch_session_put(s);
		return ERR_PTR(err);
	}
	return s;
}

/* Handlers. */

static int mbatch_nl_version_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sock *sk = NETLINK_CB(skb).sk;
	struct sk_buff *msg;
	u32 request = 0;
	void *hdr;

	/* netlink_sendmsg() refuses what exceeds the send buffer less 32. */
	if (sk && READ_ONCE(sk->sk_sndbuf) > 32)
		request = READ_ONCE(sk->sk_sndbuf) - 32;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &mbatch_family, 0,
				MBATCH_CMD_VERSION_GET);
	if (!hdr ||
	    nla_put_u32(msg, MBATCH_A_VERSION, MBATCH_GENL_VERSION) ||
	    nla_put_string(msg, MBATCH_A_MODULE_VERSION, MBATCH_MODULE_VERSION) ||
	    nla_put_u64_64bit(msg, MBATCH_A_FEATURES,
			      MBATCH_FEAT_LOCAL | MBATCH_FEAT_REMOTE |
			      MBATCH_FEAT_REGIONS | MBATCH_FEAT_JOURNAL,
			      MBATCH_A_PAD) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_MAX_IO, MBATCH_MAX_IO_LEN) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_MAX_PROXY_IO,
			MBATCH_MAX_PROXY_IO_LEN) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_MAX_ZERO, MBATCH_MAX_ZERO_LEN) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_BATCH_MSGS, MBATCH_MAX_BATCH_MSGS) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_REQUEST_BYTES, request) ||
	    nla_put_u32(msg, MBATCH_A_LIMIT_REPLY_BYTES, MBATCH_REPLY_BYTES)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_journal_cfg(struct genl_info *info,
				 struct mbatch_journal_cfg *jc)
{
	struct nlattr **a = info->attrs;

	if (a[MBATCH_A_QUEUE_JOURNAL])
		jc->kind = nla_get_u32(a[MBATCH_A_QUEUE_JOURNAL]);
	if (jc->kind == MBATCH_JOURNAL_DEVICE &&
	    MBATCH_REQUIRE(info, MBATCH_A_QUEUE_JOURNAL_DEV, "journal device"))
		return -EINVAL;
	if (a[MBATCH_A_QUEUE_JOURNAL_DEV] && jc->kind != MBATCH_JOURNAL_DEVICE) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a journal device path needs journal kind 'device'");
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_QUEUE_JOURNAL_DEV]);
		return -EINVAL;
	}
	if (a[MBATCH_A_QUEUE_JOURNAL_DEV])
		jc->path = nla_data(a[MBATCH_A_QUEUE_JOURNAL_DEV]);
	if (!a[MBATCH_A_QUEUE_JOURNAL_SIZE])
		return 0;
	jc->size = nla_get_u64(a[MBATCH_A_QUEUE_JOURNAL_SIZE]);
	if (!jc->kind) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a journal size needs a journal");
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_QUEUE_JOURNAL_SIZE]);
		return -EINVAL;
	}
	if (!IS_ALIGNED(jc->size, MBATCH_JOURNAL_BLOCK)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "journal size must be a multiple of 4096");
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_QUEUE_JOURNAL_SIZE]);
		return -EINVAL;
	}
	return 0;
}

static int mbatch_nl_queue_new(struct sk_buff *skb, struct genl_info *info)
{
	static const u16 field[] = {
		[MBATCH_QF_NAME] = MBATCH_A_QUEUE_NAME,
		[MBATCH_QF_DEV] = MBATCH_A_QUEUE_DEV,
		[MBATCH_QF_JOURNAL] = MBATCH_A_QUEUE_JOURNAL,
		[MBATCH_QF_JOURNAL_DEV] = MBATCH_A_QUEUE_JOURNAL_DEV,
		[MBATCH_QF_JOURNAL_SIZE] = MBATCH_A_QUEUE_JOURNAL_SIZE,
	};
	struct mbatch_queue_cfg cfg = {
		.depth = MBATCH_DEPTH_DEFAULT,
		.max_cmds = MBATCH_MAX_CMDS_DEFAULT,
		.max_bytes = MBATCH_MAX_BYTES_DEFAULT,
	};
	struct nlattr **a = info->attrs;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name") ||
	    MBATCH_REQUIRE(info, MBATCH_A_QUEUE_DEV, "device path"))
		return -EINVAL;
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "binding a block device needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	cfg.name = nla_data(a[MBATCH_A_QUEUE_NAME]);
	cfg.path = nla_data(a[MBATCH_A_QUEUE_DEV]);
	if (a[MBATCH_A_QUEUE_DEPTH])
		cfg.depth = nla_get_u32(a[MBATCH_A_QUEUE_DEPTH]);
	if (a[MBATCH_A_QUEUE_MAX_CMDS])
		cfg.max_cmds = nla_get_u32(a[MBATCH_A_QUEUE_MAX_CMDS]);
	if (a[MBATCH_A_QUEUE_MAX_BYTES])
		cfg.max_bytes = nla_get_u64(a[MBATCH_A_QUEUE_MAX_BYTES]);
	err = mbatch_nl_journal_cfg(info, &cfg.journal);
	if (err)
		return err;
	err = mbatch_queue_new(mbatch_info_net(info), &cfg, info->extack);
	/* A journal's default size at fault: the journal attribute. */
	if (err && err != -ENOMEM)
		NL_SET_BAD_ATTR(info->extack, a[field[cfg.fault]] ?:
				a[MBATCH_A_QUEUE_JOURNAL]);
	if (!err && cfg.journal.kind)
		mbatch_participants_restore(mbatch_info_net(info), cfg.name);
	return err;
}

/* Its sessions are closed; its device is released once its I/O has ended. */
static int mbatch_nl_queue_del(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_net *mn = mbatch_info_net(info);
	struct mbatch_queue *q;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	mutex_lock(&mn->lock);
	q = mbatch_queue_unpublish(mn,
				   nla_data(info->attrs[MBATCH_A_QUEUE_NAME]));
	mutex_unlock(&mn->lock);
	if (!q) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such queue");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_QUEUE_NAME]);
		return -ENOENT;
	}
	mbatch_sessions_close_queue(mn, q);
	return 0;
}

static int mbatch_nl_queue_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_queue *q;
	struct sk_buff *msg;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	q = mbatch_queue_find(mbatch_info_net(info),
			      nla_data(info->attrs[MBATCH_A_QUEUE_NAME]));
	if (!q) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such queue");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_QUEUE_NAME]);
		return -ENOENT;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		mbatch_queue_put(q);
		return -ENOMEM;
	}
	err = mbatch_fill_queue(msg, q, info->snd_portid, info->snd_seq, 0,
				MBATCH_CMD_QUEUE_GET, NULL);
	mbatch_queue_put(q);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_queue_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct mbatch_net *mn = mbatch_net(sock_net(skb->sk));
	unsigned long *cursor = (unsigned long *)cb->ctx;
	struct mbatch_queue *q;
	unsigned long id;
	int err = 0;

	mutex_lock(&mn->lock);
	cb->seq = mn->genid;
	xa_for_each_start(&mn->queues, id, q, *cursor) {
		err = mbatch_fill_queue(skb, q, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI,
					MBATCH_CMD_QUEUE_GET, cb);
		if (err)
			break;
		*cursor = id + 1;
	}
	mutex_unlock(&mn->lock);
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int mbatch_nl_session_open(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_net *mn = mbatch_info_net(info);
	struct nlattr **a = info->attrs;
	struct mbatch_session *s;
	struct sk_buff *msg;
	u32 flags = 0;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	if (a[MBATCH_A_SESSION_FLAGS])
		flags = nla_get_u32(a[MBATCH_A_SESSION_FLAGS]);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	if (a[MBATCH_A_PEER_NAME])
		s = mbatch_initiator_open(mn, nla_data(a[MBATCH_A_PEER_NAME]),
					  nla_data(a[MBATCH_A_QUEUE_NAME]),
					  flags, info->snd_portid,
					  info->extack);
	else
		s = mbatch_local_open(mn, nla_data(a[MBATCH_A_QUEUE_NAME]),
				      flags, info->snd_portid, info->extack);
	if (IS_ERR(s)) {
		nlmsg_free(msg);
		if (PTR_ERR(s) == -ENOENT || PTR_ERR(s) == -ENOBUFS ||
		    PTR_ERR(s) == -EINVAL)
			NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_PEER_NAME] ?:
					a[MBATCH_A_QUEUE_NAME]);
		return PTR_ERR(s);
	}
	err = mbatch_fill_session(msg, s, info->snd_portid, info->snd_seq, 0,
				  MBATCH_CMD_SESSION_OPEN, NULL, true);
	mbatch_session_put(s);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_session_close(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *id = info->attrs[MBATCH_A_SESSION_ID];
	const u64 *handle;
	u64 buf;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_SESSION_ID, "session id"))
		return -EINVAL;
	handle = mbatch_attr_handle(info->attrs, &buf);
	err = mbatch_session_close_id(mbatch_info_net(info), nla_get_u32(id),
				      info->snd_portid, handle, info->extack);
	if (err)
		NL_SET_BAD_ATTR(info->extack, err == -EPERM && handle ?
				info->attrs[MBATCH_A_SESSION_HANDLE] : id);
	return err;
}

static int mbatch_nl_session_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_session *s;
	struct sk_buff *msg;
	int err;

	s = mbatch_info_session(info, false);
	if (IS_ERR(s))
		return PTR_ERR(s);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		mbatch_session_put(s);
		return -ENOMEM;
	}
	err = mbatch_fill_session(msg, s, info->snd_portid, info->snd_seq, 0,
				  MBATCH_CMD_SESSION_GET, NULL, false);
	mbatch_session_put(s);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_session_dump(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct mbatch_net *mn = mbatch_net(sock_net(skb->sk));
	struct nlattr **a = mbatch_dump_attrs(cb);
	unsigned long *cursor = (unsigned long *)cb->ctx;
	const char *qname = NULL, *peer = NULL, *sq, *sp;
	struct mbatch_session *s;
	unsigned long id;
	int err = 0;

	if (a && a[MBATCH_A_SESSION_ID]) {
		NL_SET_ERR_MSG_MOD(cb->extack,
				   "a session id selects one session: use a plain request, not a dump");
		return -EINVAL;
	}
	if (a && a[MBATCH_A_QUEUE_NAME])
		qname = nla_data(a[MBATCH_A_QUEUE_NAME]);
	if (a && a[MBATCH_A_PEER_NAME])
		peer = nla_data(a[MBATCH_A_PEER_NAME]);

	mutex_lock(&mn->lock);
	cb->seq = mn->genid;
	xa_for_each_start(&mn->sessions, id, s, *cursor) {
		mbatch_session_names(s, &sq, &sp);
		if ((qname && strcmp(sq, qname)) ||
		    (peer && (!sp || strcmp(sp, peer)))) {
			*cursor = id + 1;
			continue;
		}
		err = mbatch_fill_session(skb, s, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, NLM_F_MULTI,
					  MBATCH_CMD_SESSION_GET, cb, false);
		if (err)
			break;
		*cursor = id + 1;
	}
	mutex_unlock(&mn->lock);
	if (err && !skb->len)
		return err;
	return skb->len;
}

/*
 * A netlink message attribute into the form the one validator checks; a
 * region it names is looked up (and referenced) here, for its sender.
 */
static int mbatch_parse_msg(struct genl_info *info, struct nlattr *nla,
			    unsigned int idx, struct mbatch_msg *m,
			    struct nlattr **tb)
{
	struct netlink_ext_ack *extack = info->extack;
	struct mbatch_region_fault rf;
	struct mbatch_region *r;
	int err;

	err = nla_parse_nested(tb, MBATCH_MSG_A_MAX, nla, mbatch_msg_policy,
			       extack);
	if (err)
		return err;
	if (!tb[MBATCH_MSG_A_OP]) {
		NL_SET_ERR_ATTR_MISS(extack, nla, MBATCH_MSG_A_OP);
		MBATCH_MSG_ERR(extack, idx, nla, "message has no op");
		return -EINVAL;
	}
	memset(m, 0, sizeof(*m));
	m->op = nla_get_u32(tb[MBATCH_MSG_A_OP]);
	if (tb[MBATCH_MSG_A_TAG])
		m->tag = nla_get_u64(tb[MBATCH_MSG_A_TAG]);
	if (tb[MBATCH_MSG_A_FLAGS])
		m->flags = nla_get_u32(tb[MBATCH_MSG_A_FLAGS]);
	if (tb[MBATCH_MSG_A_OFFSET]) {
		m->offset = nla_get_u64(tb[MBATCH_MSG_A_OFFSET]);
		m->present |= MBATCH_MSG_HAS_OFFSET;
	}
	if (tb[MBATCH_MSG_A_LEN]) {
		m->len = nla_get_u32(tb[MBATCH_MSG_A_LEN]);
		m->present |= MBATCH_MSG_HAS_LEN;
	}
	if (tb[MBATCH_MSG_A_DATA]) {
		m->data = nla_data(tb[MBATCH_MSG_A_DATA]);
		m->data_len = nla_len(tb[MBATCH_MSG_A_DATA]);
		m->present |= MBATCH_MSG_HAS_DATA;
	}
	if (tb[MBATCH_MSG_A_REGION_OFFSET]) {
		m->roff = nla_get_u64(tb[MBATCH_MSG_A_REGION_OFFSET]);
		m->present |= MBATCH_MSG_HAS_ROFF;
	}
	if (tb[MBATCH_MSG_A_REGION]) {
		m->present |= MBATCH_MSG_HAS_REGION;
		/* Other ops are refused by the validator, whatever the id. */
		if (!mbatch_op_has_payload(m->op))
			return 0;
		r = mbatch_region_use(mbatch_info_net(info),
				      nla_get_u32(tb[MBATCH_MSG_A_REGION]),
				      info->snd_portid, &rf);
		if (IS_ERR(r)) {
			MBATCH_MSG_ERR_TEXT(extack, idx, tb[MBATCH_MSG_A_REGION],
					    rf.text);
			return rf.err;
		}
		m->region = r;
	}
	return 0;
}

/* Which attribute a refusal of the validator is about. */
static struct nlattr *mbatch_msg_attr(struct nlattr *nla, struct nlattr **tb,
				      enum mbatch_msg_field field)
{
	static const int attr[] = {
		[MBATCH_MF_OP] = MBATCH_MSG_A_OP,
		[MBATCH_MF_FLAGS] = MBATCH_MSG_A_FLAGS,
		[MBATCH_MF_OFFSET] = MBATCH_MSG_A_OFFSET,
		[MBATCH_MF_LEN] = MBATCH_MSG_A_LEN,
		[MBATCH_MF_DATA] = MBATCH_MSG_A_DATA,
		[MBATCH_MF_REGION] = MBATCH_MSG_A_REGION,
		[MBATCH_MF_REGION_OFFSET] = MBATCH_MSG_A_REGION_OFFSET,
	};

	if (field == MBATCH_MF_MSG || !tb[attr[field]])
		return nla;
	return tb[attr[field]];
}

/* Parse and check every message of a batch before anything is queued. */
static int mbatch_parse_batch(struct genl_info *info,
			      const struct mbatch_geom *g,
			      struct mbatch_msg *msgs)
{
	struct nlattr *tb[MBATCH_MSG_A_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	static const int miss[] = {
		[MBATCH_MF_OFFSET] = MBATCH_MSG_A_OFFSET,
		[MBATCH_MF_LEN] = MBATCH_MSG_A_LEN,
		[MBATCH_MF_DATA] = MBATCH_MSG_A_DATA,
		[MBATCH_MF_REGION] = MBATCH_MSG_A_REGION,
		[MBATCH_MF_REGION_OFFSET] = MBATCH_MSG_A_REGION_OFFSET,
	};
	struct mbatch_msg_fault f;
	unsigned int i = 0;
	struct nlattr *nla;
	int rem, err;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) != MBATCH_A_MSG)
			continue;
		err = mbatch_parse_msg(info, nla, i, &msgs[i], tb);
		if (err)
			return err;
		if (!mbatch_msg_check(&msgs[i], g, &f)) {
			if (f.missing)
				NL_SET_ERR_ATTR_MISS(extack, nla, miss[f.field]);
			MBATCH_MSG_ERR_TEXT(extack, i,
					    mbatch_msg_attr(nla, tb, f.field),
					    f.text);
			return f.err;
		}
		i++;
	}
	return 0;
}

static int mbatch_nl_submit(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_msg *msgs = NULL;
	struct mbatch_session *s;
	unsigned int n = 0;
	u64 batch_id = 0, first_seq = 0;
	struct sk_buff *reply;
	struct nlattr *nla;
	struct mbatch_geom g;
	void *hdr;
	int rem, err;

	s = mbatch_info_session(info, true);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = mbatch_session_geometry(s, &g, info->extack);
	if (err)
		goto put;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem)
		if (nla_type(nla) == MBATCH_A_MSG)
			n++;
	if (!n) {
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, MBATCH_A_MSG);
		NL_SET_ERR_MSG_MOD(info->extack, "a batch needs at least one message");
		err = -EINVAL;
		goto put;
	}
	if (n > MBATCH_MAX_BATCH_MSGS) {
		NL_SET_ERR_MSG_MOD(info->extack, "too many messages in one batch");
		err = -E2BIG;
		goto put;
	}
	msgs = kvcalloc(n, sizeof(*msgs), GFP_KERNEL);
	if (!msgs) {
		err = -ENOMEM;
		goto put;
	}
	err = mbatch_parse_batch(info, &g, msgs);
	if (err)
		goto put;

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply) {
		err = -ENOMEM;
		goto put;
	}
	if (info->attrs[MBATCH_A_BATCH_ID])
		batch_id = nla_get_u64(info->attrs[MBATCH_A_BATCH_ID]);
	err = mbatch_session_submit(s, msgs, n, 0, &batch_id, &first_seq,
				    info->extack);
	if (err) {
		nlmsg_free(reply);
		goto put;
	}
	hdr = genlmsg_put_reply(reply, info, &mbatch_family, 0,
				MBATCH_CMD_SUBMIT);
	if (!hdr ||
	    nla_put_u32(reply, MBATCH_A_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(reply, MBATCH_A_BATCH_ID, batch_id,
			      MBATCH_A_PAD) ||
	    nla_put_u64_64bit(reply, MBATCH_A_BATCH_FIRST_SEQ, first_seq,
			      MBATCH_A_PAD) ||
	    nla_put_u32(reply, MBATCH_A_BATCH_COUNT, n)) {
		/* The batch is queued; only the reply is lost. */
		nlmsg_free(reply);
		err = -EMSGSIZE;
		goto put;
	}
	genlmsg_end(reply, hdr);
	err = genlmsg_reply(reply, info);
put:
	if (msgs)
		mbatch_msgs_release(msgs, n);
	kvfree(msgs);
	mbatch_session_put(s);
	return err;
}

static int mbatch_nl_resume(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_session *s;
	int err;

	s = mbatch_info_session(info, true);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = mbatch_session_resume(s, 0, info->extack);
	mbatch_session_put(s);
	return err;
}

static int mbatch_nl_batch_cancel(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *batch = info->attrs[MBATCH_A_BATCH_ID];
	struct mbatch_session *s;
	struct sk_buff *reply;
	unsigned int n;
	void *hdr;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_BATCH_ID, "batch id"))
		return -EINVAL;
	s = mbatch_info_session(info, true);
	if (IS_ERR(s))
		return PTR_ERR(s);
	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply) {
		mbatch_session_put(s);
		return -ENOMEM;
	}
	err = mbatch_session_cancel(s, nla_get_u64(batch), U64_MAX, &n,
				    info->extack);
	if (err) {
		NL_SET_BAD_ATTR(info->extack, batch);
		mbatch_session_put(s);
		nlmsg_free(reply);
		return err;
	}
	hdr = genlmsg_put_reply(reply, info, &mbatch_family, 0,
				MBATCH_CMD_BATCH_CANCEL);
	if (!hdr || nla_put_u32(reply, MBATCH_A_SESSION_ID, s->id) ||
	    nla_put_u32(reply, MBATCH_A_BATCH_COUNT, n)) {
		mbatch_session_put(s);
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	mbatch_session_put(s);
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

/*
 * Collect is a dump. Its first part checks the request (its errors reach
 * the initiator with their extack in the dump's NLMSG_DONE), applies the
 * acknowledgment and either fixes the range of results or, when the
 * condition asked for does not hold yet, arms the session's waiter and ends
 * with one part marked COLLECT_WAITING: COLLECT_READY follows (collect.c).
 * Nothing here sleeps. The context keeps only the session id and the
 * position, so an abandoned dump pins nothing.
 */
struct mbatch_collect_ctx {
	struct mbatch_collect_pos pos;
	u32 sid;
	u8 phase;
};

enum {
	MBATCH_COLLECT_BEGIN,
	MBATCH_COLLECT_SEND,
	MBATCH_COLLECT_DONE,
};

static void mbatch_collect_parse(struct nlattr **a,
				 struct mbatch_collect_req *r)
{
	memset(r, 0, sizeof(*r));
	r->max = MBATCH_MAX_CMDS_MAX;
	if (a[MBATCH_A_COLLECT_MIN])
		r->min = nla_get_u32(a[MBATCH_A_COLLECT_MIN]);
	if (a[MBATCH_A_COLLECT_MAX])
		r->max = nla_get_u32(a[MBATCH_A_COLLECT_MAX]);
	if (a[MBATCH_A_COLLECT_EPOCH]) {
		r->want_epoch = true;
		r->epoch = nla_get_u64(a[MBATCH_A_COLLECT_EPOCH]);
	}
	if (r->min || r->want_epoch)
		r->timeout_ms = MBATCH_COLLECT_TIMEOUT_MAX_MS;
	if (a[MBATCH_A_COLLECT_TIMEOUT_MS])
		r->timeout_ms = nla_get_u32(a[MBATCH_A_COLLECT_TIMEOUT_MS]);
	if (!r->min && !r->want_epoch)
		r->timeout_ms = 0;
}

static void *mbatch_collect_hdr(struct sk_buff *skb,
				struct netlink_callback *cb,
				struct mbatch_collect_ctx *ctx, bool waiting)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &mbatch_family, NLM_F_MULTI, MBATCH_CMD_COLLECT);
	if (!hdr)
		return NULL;
	if (nla_put_u32(skb, MBATCH_A_SESSION_ID, ctx->sid) ||
	    nla_put_u64_64bit(skb, MBATCH_A_COLLECT_SEQ, ctx->pos.cseq,
			      MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_COLLECT_COUNT, ctx->pos.count) ||
	    nla_put_u32(skb, MBATCH_A_COLLECT_PENDING, ctx->pos.pending) ||
	    (waiting && nla_put_flag(skb, MBATCH_A_COLLECT_WAITING))) {
		genlmsg_cancel(skb, hdr);
		return NULL;
	}
	return hdr;
}

/* Check, acknowledge, and arm or fix the range. */
static int mbatch_collect_begin(struct sk_buff *skb,
				struct netlink_callback *cb,
				struct mbatch_collect_ctx *ctx,
				struct mbatch_session *s, struct nlattr **a)
{
	struct mbatch_collect_req r;
	u32 flags = 0;
	u64 ack = 0;
	void *hdr;
	int ret;

	cb->min_dump_alloc = MBATCH_REPLY_BYTES;
	if (a[MBATCH_A_COLLECT_FLAGS])
		flags = nla_get_u32(a[MBATCH_A_COLLECT_FLAGS]);
	if (a[MBATCH_A_COLLECT_ACK])
		ack = nla_get_u64(a[MBATCH_A_COLLECT_ACK]);
	if ((ack || (flags & MBATCH_COLLECT_F_ACK_DELIVERED)) &&
	    mbatch_results_ack(s, ack, flags & MBATCH_COLLECT_F_ACK_DELIVERED)) {
		NL_SET_ERR_MSG_MOD(cb->extack,
				   "collect-ack is ahead of the results delivered");
		return -EINVAL;
	}

	mbatch_collect_parse(a, &r);
	if (r.timeout_ms) {
		ret = mbatch_collect_arm(s, &r, NETLINK_CB(cb->skb).portid,
					 cb->nlh->nlmsg_seq, &ctx->pos);
		if (ret < 0) {
			NL_SET_ERR_MSG_MOD(cb->extack, "session was closed");
			return ret;
		}
		if (ret) {
			hdr = mbatch_collect_hdr(skb, cb, ctx, true);
			if (!hdr)
				return -EMSGSIZE;
			genlmsg_end(skb, hdr);
			ctx->phase = MBATCH_COLLECT_DONE;
			return 0;
		}
	}
	ret = mbatch_collect_snapshot(s, &r, &ctx->pos, cb->extack);
	if (!ret)
		ctx->phase = MBATCH_COLLECT_SEND;
	return ret;
}

static int mbatch_collect_put(void *arg, const struct mbatch_command *cmd)
{
	return mbatch_put_result(arg, cmd, true);
}

static int mbatch_nl_collect_dump(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct mbatch_net *mn = mbatch_net(sock_net(cb->skb->sk));
	struct mbatch_collect_ctx *ctx = (void *)cb->ctx;
	struct nlattr **a = mbatch_dump_attrs(cb);
	struct mbatch_session *s;
	const u64 *handle;
	void *hdr;
	u64 buf;
	int ret;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	if (ctx->phase == MBATCH_COLLECT_DONE)
		return 0;
	if (ctx->phase == MBATCH_COLLECT_BEGIN) {
		if (!a || !a[MBATCH_A_SESSION_ID]) {
			NL_SET_ERR_MSG_MOD(cb->extack, "missing session id");
			return -EINVAL;
		}
		ctx->sid = nla_get_u32(a[MBATCH_A_SESSION_ID]);
	}
	s = mbatch_session_get(mn, ctx->sid);
	if (!s) {
		if (ctx->phase == MBATCH_COLLECT_BEGIN)
			NL_SET_ERR_MSG_MOD(cb->extack, "no such session");
		else
			NL_SET_ERR_MSG_MOD(cb->extack, "session was closed");
		return -ENOENT;
	}
	if (ctx->phase == MBATCH_COLLECT_BEGIN) {
		handle = mbatch_attr_handle(a, &buf);
		ret = mbatch_session_owner_check(s, NETLINK_CB(cb->skb).portid,
						 handle, cb->extack);
		if (!ret)
			ret = mbatch_collect_begin(skb, cb, ctx, s, a);
		if (ret || ctx->phase == MBATCH_COLLECT_DONE)
			goto out;
	}

	hdr = mbatch_collect_hdr(skb, cb, ctx, false);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto out;
	}
	ret = mbatch_collect_fill(s, &ctx->pos, mbatch_collect_put, skb);
	if (ret < 0) {
		genlmsg_cancel(skb, hdr);
		NL_SET_ERR_MSG_MOD(cb->extack, "session was closed");
		goto out;
	}
	/*
	 * A part may end early; the next part's buffer is sized for the
	 * largest result (min_dump_alloc).
	 */
	if (!ctx->pos.left)
		ctx->phase = MBATCH_COLLECT_DONE;
	genlmsg_end(skb, hdr);
	ret = 0;
out:
	mbatch_session_put(s);
	if (ret)
		return ret;
	/* The last part and NLMSG_DONE go in one datagram. */
	return ctx->phase == MBATCH_COLLECT_DONE ? 0 : skb->len;
}

static int mbatch_nl_collect_doit(struct sk_buff *skb, struct genl_info *info)
{
	NL_SET_ERR_MSG_MOD(info->extack,
			   "collect is a dump request: set NLM_F_DUMP");
	return -EOPNOTSUPP;
}

static int mbatch_fill_peer(struct sk_buff *skb,
			    const struct mbatch_peer_info *pi, u32 portid,
			    u32 seq, int flags, u8 cmd,
			    struct netlink_callback *cb)
{
	struct nlattr *nest;
	unsigned int i;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_string(skb, MBATCH_A_PEER_NAME, pi->name) ||
	    (pi->addr[0] &&
	     nla_put_string(skb, MBATCH_A_PEER_ADDR, pi->addr)) ||
	    (pi->psk_file[0] &&
	     nla_put_string(skb, MBATCH_A_PEER_PSK_FILE, pi->psk_file)) ||
	    nla_put_u32(skb, MBATCH_A_PEER_STATE, pi->state) ||
	    nla_put_u32(skb, MBATCH_A_PEER_DIGEST, pi->digest) ||
	    nla_put_u32(skb, MBATCH_A_PEER_KEEPALIVE_MS, pi->keepalive_ms) ||
	    nla_put_u32(skb, MBATCH_A_PEER_LINK_TIMEOUT_MS,
			pi->link_timeout_ms) ||
	    nla_put_u32(skb, MBATCH_A_PEER_RTT_US, pi->rtt_us) ||
	    nla_put_u64_64bit(skb, MBATCH_A_PEER_IN_BYTES, pi->in_bytes,
			      MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_PEER_IN_CMDS, pi->in_cmds) ||
	    (pi->reason[0] &&
	     (nla_put_string(skb, MBATCH_A_LINK_REASON, pi->reason) ||
	      nla_put_s32(skb, MBATCH_A_LINK_ERROR, pi->down_err))))
		goto cancel;
	nest = nla_nest_start(skb, MBATCH_A_PEER_STATS);
	if (!nest)
		goto cancel;
	for (i = MBATCH_PEER_STATS_A_TX_BYTES; i <= MBATCH_PEER_STATS_A_MAX; i++)
		if (nla_put_u64_64bit(skb, i, pi->stats[i],
				      MBATCH_PEER_STATS_A_PAD))
			goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int mbatch_nl_peer_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct mbatch_peer_cfg cfg = {
		.ops = &mbatch_participant_peer_ops,
	};
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_PEER_NAME, "peer name"))
		return -EINVAL;
	cfg.name = nla_data(a[MBATCH_A_PEER_NAME]);
	if (a[MBATCH_A_PEER_ADDR])
		cfg.addr = nla_data(a[MBATCH_A_PEER_ADDR]);
	if (a[MBATCH_A_PEER_PSK_FILE])
		cfg.psk_file = nla_data(a[MBATCH_A_PEER_PSK_FILE]);
	if (a[MBATCH_A_PEER_KEEPALIVE_MS])
		cfg.keepalive_ms = nla_get_u32(a[MBATCH_A_PEER_KEEPALIVE_MS]);
	if (a[MBATCH_A_PEER_LINK_TIMEOUT_MS])
		cfg.link_timeout_ms =
			nla_get_u32(a[MBATCH_A_PEER_LINK_TIMEOUT_MS]);
	if (a[MBATCH_A_PEER_IN_BYTES])
		cfg.in_bytes = nla_get_u64(a[MBATCH_A_PEER_IN_BYTES]);
	if (a[MBATCH_A_PEER_IN_CMDS])
		cfg.in_cmds = nla_get_u32(a[MBATCH_A_PEER_IN_CMDS]);
	err = mbatch_peer_new(mbatch_info_net(info), &cfg, info->extack);
	if (err == -EEXIST || err == -EINVAL)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_PEER_NAME]);
	return err;
}

/* Its link is cut now; the rest of the teardown runs in a work item. */
static int mbatch_nl_peer_del(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_PEER_NAME, "peer name"))
		return -EINVAL;
	err = mbatch_peer_del(mbatch_info_net(info),
			      nla_data(info->attrs[MBATCH_A_PEER_NAME]),
			      info->extack);
	if (err)
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_PEER_NAME]);
	return err;
}

static int mbatch_nl_peer_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_peer_info *pi;
	struct sk_buff *msg;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_PEER_NAME, "peer name"))
		return -EINVAL;
	pi = kmalloc(sizeof(*pi), GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!pi || !msg) {
		err = -ENOMEM;
		goto free;
	}
	err = mbatch_peer_info(mbatch_info_net(info),
			       nla_data(info->attrs[MBATCH_A_PEER_NAME]), 0,
			       pi);
	if (err) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such peer");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_PEER_NAME]);
		goto free;
	}
	err = mbatch_fill_peer(msg, pi, info->snd_portid, info->snd_seq, 0,
			       MBATCH_CMD_PEER_GET, NULL);
	if (err)
		goto free;
	kfree(pi);
	return genlmsg_reply(msg, info);
free:
	nlmsg_free(msg);
	kfree(pi);
	return err;
}

static int mbatch_nl_peer_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct mbatch_net *mn = mbatch_net(sock_net(skb->sk));
	unsigned long *cursor = (unsigned long *)cb->ctx;
	struct mbatch_peer_info *pi;
	int err = 0;

	pi = kmalloc(sizeof(*pi), GFP_KERNEL);
	if (!pi)
		return -ENOMEM;
	for (;;) {
		cb->seq = READ_ONCE(mn->peer_genid);
		if (mbatch_peer_info(mn, NULL, *cursor, pi))
			break;
		err = mbatch_fill_peer(skb, pi, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       MBATCH_CMD_PEER_GET, cb);
		if (err)
			break;
		(*cursor)++;
	}
	kfree(pi);
	if (err && !skb->len)
		return err;
	return skb->len;
}

/* The socket is checked here; the link starts in the peer's attach work. */
static int mbatch_nl_peer_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	u32 digest = 0;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_PEER_NAME, "peer name") ||
	    MBATCH_REQUIRE(info, MBATCH_A_PEER_FD, "socket file descriptor"))
		return -EINVAL;
	if (a[MBATCH_A_PEER_DIGEST])
		digest = nla_get_u32(a[MBATCH_A_PEER_DIGEST]);
	err = mbatch_peer_attach(mbatch_info_net(info),
				 nla_data(a[MBATCH_A_PEER_NAME]),
				 nla_get_u32(a[MBATCH_A_PEER_FD]), digest,
				 info->extack);
	if (err == -ENOENT)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_PEER_NAME]);
	else if (err && err != -ENOMEM)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_PEER_FD]);
	return err;
}

static int mbatch_nl_region_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct mbatch_region_fault f;
	struct mbatch_region *r;
	struct sk_buff *msg;
	u32 flags = 0;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_REGION_ADDR, "region address") ||
	    MBATCH_REQUIRE(info, MBATCH_A_REGION_LEN, "region length"))
		return -EINVAL;
	if (a[MBATCH_A_REGION_FLAGS])
		flags = nla_get_u32(a[MBATCH_A_REGION_FLAGS]);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	r = mbatch_region_new(mbatch_info_net(info), info->snd_portid,
			      nla_get_u64(a[MBATCH_A_REGION_ADDR]),
			      nla_get_u64(a[MBATCH_A_REGION_LEN]), flags, &f);
	if (IS_ERR(r)) {
		nlmsg_free(msg);
		MBATCH_ERR_TEXT(info->extack, f.text);
		if (f.field == MBATCH_RF_ADDR)
			NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_REGION_ADDR]);
		else if (f.field == MBATCH_RF_LEN)
			NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_REGION_LEN]);
		return f.err;
	}
	err = mbatch_fill_region(msg, r, info->snd_portid, info->snd_seq, 0,
				 MBATCH_CMD_REGION_NEW);
	mbatch_region_put(r);
	if (err) {
		/* Registered; only the reply is lost. */
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_region_del(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_region_fault f;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_REGION_ID, "region id"))
		return -EINVAL;
	err = mbatch_region_del(mbatch_info_net(info),
				nla_get_u32(info->attrs[MBATCH_A_REGION_ID]),
				info->snd_portid, &f);
	if (err) {
		MBATCH_ERR_TEXT(info->extack, f.text);
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_REGION_ID]);
	}
	return err;
}

static int mbatch_nl_region_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_region *r;
	struct sk_buff *msg;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_REGION_ID, "region id"))
		return -EINVAL;
	r = mbatch_region_get(mbatch_info_net(info),
			      nla_get_u32(info->attrs[MBATCH_A_REGION_ID]));
	if (!r) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such region");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_REGION_ID]);
		return -ENOENT;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		mbatch_region_put(r);
		return -ENOMEM;
	}
	err = mbatch_fill_region(msg, r, info->snd_portid, info->snd_seq, 0,
				 MBATCH_CMD_REGION_GET);
	mbatch_region_put(r);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_region_dump(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct mbatch_net *mn = mbatch_net(sock_net(skb->sk));
	unsigned long *cursor = (unsigned long *)cb->ctx;
	struct mbatch_region *r;
	int err = 0;

	while ((r = mbatch_region_next(mn, cursor))) {
		err = mbatch_fill_region(skb, r, NETLINK_CB(cb->skb).portid,
					 cb->nlh->nlmsg_seq, NLM_F_MULTI,
					 MBATCH_CMD_REGION_GET);
		mbatch_region_put(r);
		if (err)
			break;
		(*cursor)++;
	}
	if (err && !skb->len)
		return err;
	return skb->len;
}

#define MBATCH_OP(_cmd, _policy, _doit)				\
	.cmd = MBATCH_CMD_##_cmd,					\
	.flags = GENL_ADMIN_PERM,					\
	.policy = _policy,						\
	.maxattr = MBATCH_A_MAX,					\
	.doit = _doit

static const struct genl_ops mbatch_ops[] = {
	{ MBATCH_OP(VERSION_GET, mbatch_version_policy,
		    mbatch_nl_version_get) },
	{ MBATCH_OP(QUEUE_NEW, mbatch_queue_new_policy, mbatch_nl_queue_new) },
	{ MBATCH_OP(QUEUE_DEL, mbatch_queue_policy, mbatch_nl_queue_del) },
	{ MBATCH_OP(QUEUE_GET, mbatch_queue_policy, mbatch_nl_queue_get),
	  .dumpit = mbatch_nl_queue_dump },
	{ MBATCH_OP(SESSION_OPEN, mbatch_session_open_policy,
		    mbatch_nl_session_open) },
	{ MBATCH_OP(SESSION_CLOSE, mbatch_session_policy,
		    mbatch_nl_session_close) },
	{ MBATCH_OP(SESSION_GET, mbatch_session_get_policy,
		    mbatch_nl_session_get),
	  .dumpit = mbatch_nl_session_dump },
	{ MBATCH_OP(SUBMIT, mbatch_submit_policy, mbatch_nl_submit) },
	{ MBATCH_OP(COLLECT, mbatch_collect_policy, mbatch_nl_collect_doit),
	  .dumpit = mbatch_nl_collect_dump },
	{ MBATCH_OP(RESUME, mbatch_session_policy, mbatch_nl_resume) },
	{ MBATCH_OP(BATCH_CANCEL, mbatch_cancel_policy,
		    mbatch_nl_batch_cancel) },
	{ MBATCH_OP(PEER_NEW, mbatch_peer_new_policy, mbatch_nl_peer_new) },
	{ MBATCH_OP(PEER_DEL, mbatch_peer_policy, mbatch_nl_peer_del) },
	{ MBATCH_OP(PEER_GET, mbatch_peer_policy, mbatch_nl_peer_get),
	  .dumpit = mbatch_nl_peer_dump },
	{ MBATCH_OP(PEER_ATTACH, mbatch_peer_attach_policy,
		    mbatch_nl_peer_attach) },
	{ MBATCH_OP(REGION_NEW, mbatch_region_new_policy,
		    mbatch_nl_region_new) },
	{ MBATCH_OP(REGION_DEL, mbatch_region_policy, mbatch_nl_region_del) },
	{ MBATCH_OP(REGION_GET, mbatch_region_policy, mbatch_nl_region_get),
	  .dumpit = mbatch_nl_region_dump },
};

static struct genl_family mbatch_family __ro_after_init = {
	.name = MBATCH_GENL_NAME,
	.version = MBATCH_GENL_VERSION,
	.maxattr = MBATCH_A_MAX,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = mbatch_ops,
	.n_ops = ARRAY_SIZE(mbatch_ops),
	.mcgrps = mbatch_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mbatch_mcgrps),
};

/* Events. */

/* Cleared, then an RCU grace period, before the family goes away. */
static bool mbatch_family_live;

static bool mbatch_listened(struct mbatch_net *mn)
{
	return READ_ONCE(mbatch_family_live) &&
	       genl_has_listeners(&mbatch_family, mn->net,
				  MBATCH_MCGRP_EVENTS_ID);
}

static void mbatch_multicast(struct mbatch_net *mn, struct sk_buff *msg)
{
	rcu_read_lock();
	if (READ_ONCE(mbatch_family_live))
		genlmsg_multicast_netns(&mbatch_family, mn->net, msg, 0,
					MBATCH_MCGRP_EVENTS_ID, GFP_KERNEL);
	else
		nlmsg_free(msg);
	rcu_read_unlock();
}

void mbatch_notify_checkpoint(struct mbatch_session *s,
			      const struct mbatch_command *cp)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mbatch_listened(s->mn))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mbatch_family, 0,
			  MBATCH_CMD_CHECKPOINT_NTF);
	if (!hdr ||
	    mbatch_put_session_name(msg, s) ||
	    nla_put_u32(msg, MBATCH_A_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(msg, MBATCH_A_SESSION_EPOCH, cp->epoch,
			      MBATCH_A_PAD) ||
	    mbatch_put_result(msg, cp, false)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	mbatch_multicast(s->mn, msg);
}

void mbatch_notify_halt(struct mbatch_session *s, int err)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mbatch_listened(s->mn))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mbatch_family, 0,
			  MBATCH_CMD_SESSION_HALT_NTF);
	if (!hdr ||
	    mbatch_put_session_name(msg, s) ||
	    nla_put_u32(msg, MBATCH_A_SESSION_ID, s->id) ||
	    nla_put_s32(msg, MBATCH_A_SESSION_ERROR, err)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	mbatch_multicast(s->mn, msg);
}

void mbatch_notify_link(struct mbatch_net *mn, const char *peer, bool up,
			const char *reason, int err)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mbatch_listened(mn))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mbatch_family, 0,
			  up ? MBATCH_CMD_LINK_UP_NTF : MBATCH_CMD_LINK_DOWN_NTF);
	if (!hdr || nla_put_string(msg, MBATCH_A_PEER_NAME, peer) ||
	    (!up && (nla_put_string(msg, MBATCH_A_LINK_REASON, reason) ||
		     nla_put_s32(msg, MBATCH_A_LINK_ERROR, err)))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	mbatch_multicast(mn, msg);
}

void mbatch_notify_collect_ready(struct mbatch_session *s,
				 const struct mbatch_waiter *w, u32 pending,
				 u64 done_epoch)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, w->nlseq, &mbatch_family, 0,
			  MBATCH_CMD_COLLECT_READY_NTF);
	if (!hdr ||
	    nla_put_u32(msg, MBATCH_A_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(msg, MBATCH_A_COLLECT_SEQ, w->cseq,
			      MBATCH_A_PAD) ||
	    nla_put_u32(msg, MBATCH_A_COLLECT_PENDING, pending) ||
	    nla_put_u64_64bit(msg, MBATCH_A_SESSION_DONE_EPOCH, done_epoch,
			      MBATCH_A_PAD) ||
	    nla_put_u32(msg, MBATCH_A_SESSION_STATE, READ_ONCE(s->state)) ||
	    (w->timed_out && nla_put_flag(msg, MBATCH_A_COLLECT_TIMED_OUT))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	rcu_read_lock();
	if (READ_ONCE(mbatch_family_live))
		genlmsg_unicast(s->mn->net, msg, w->portid);
	else
		nlmsg_free(msg);
	rcu_read_unlock();
}

/* Owned sessions and regions end with the socket that opened them. */
static int mbatch_nl_notify(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid) {
		mbatch_sessions_release_portid(mbatch_net(n->net), n->portid);
		mbatch_regions_release_portid(mbatch_net(n->net), n->portid);
	}
	return NOTIFY_DONE;
}

static struct notifier_block mbatch_nl_notifier = {
	.notifier_call = mbatch_nl_notify,
};

int mbatch_genl_init(void)
{
	int err;

	err = netlink_register_notifier(&mbatch_nl_notifier);
	if (err)
		return err;
	err = genl_register_family(&mbatch_family);
	if (err) {
		netlink_unregister_notifier(&mbatch_nl_notifier);
		return err;
	}
	WRITE_ONCE(mbatch_family_live, true);
	return 0;
}

void mbatch_genl_exit(void)
{
	WRITE_ONCE(mbatch_family_live, false);
	synchronize_rcu();
	genl_unregister_family(&mbatch_family);
	netlink_unregister_notifier(&mbatch_nl_notifier);
}
