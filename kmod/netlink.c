// SPDX-License-Identifier: GPL-2.0
/*
 * The Generic Netlink family "mbatch": policies, request handlers, the one
 * fill function per object, dumps and notifications. This is the only file
 * that speaks genetlink. See Documentation/netlink/specs/mbatch.yaml.
 */
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "internal.h"

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

/* Policies: one per request, attributes not listed are refused. */

/* Not const: the 6.1 policy macros take a non-const pointer. */
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

static const struct nla_policy mbatch_msg_policy[MBATCH_MSG_A_MAX + 1] = {
	[MBATCH_MSG_A_TAG] = { .type = NLA_U64 },
	[MBATCH_MSG_A_OP] = NLA_POLICY_RANGE(NLA_U32, MBATCH_OP_READ,
					     MBATCH_OP_MAX),
	[MBATCH_MSG_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, MBATCH_MSG_F_ALL),
	[MBATCH_MSG_A_OFFSET] = { .type = NLA_U64 },
	[MBATCH_MSG_A_LEN] = { .type = NLA_U32 },
	[MBATCH_MSG_A_DATA] = { .type = NLA_BINARY, .len = MBATCH_MAX_IO_LEN },
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
	[MBATCH_A_BATCH_ID] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_batch_id_range),
	[MBATCH_A_MSG] = NLA_POLICY_NESTED(mbatch_msg_policy),
};

static const struct nla_policy mbatch_cancel_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_BATCH_ID] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &mbatch_batch_id_range),
};

static const struct nla_policy mbatch_collect_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
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
};

static const struct nla_policy mbatch_peer_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
};

static const struct nla_policy mbatch_peer_attach_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_PEER_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBATCH_PEER_NAME_MAX - 1 },
	[MBATCH_A_PEER_FD] = { .type = NLA_U32 },
	[MBATCH_A_PEER_DIGEST] = NLA_POLICY_MASK(NLA_U32, MBATCH_DIGEST_ALL),
};

/* Fill functions: the same for replies, dumps and notifications. */

static int mbatch_put_stats(struct sk_buff *skb, const struct mbatch_stats *st,
			    u64 inflight, u64 queued, u64 queued_bytes)
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
	    PUT(INFLIGHT, inflight) || PUT(QUEUED, queued) ||
	    PUT(QUEUED_BYTES, queued_bytes) || PUT(REJECTED, st->rejected)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
#undef PUT
	nla_nest_end(skb, nest);
	return 0;
}

static int mbatch_fill_queue(struct sk_buff *skb, struct mbatch_queue *q,
			     u32 portid, u32 seq, int flags, u8 cmd,
			     struct netlink_callback *cb)
{
	u64 inflight, queued, queued_bytes;
	struct mbatch_stats st;
	unsigned int nr;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	mbatch_queue_stats(q, &st, &inflight, &queued, &queued_bytes);
	nr = READ_ONCE(q->nr_sessions);
	if (nla_put_string(skb, MBATCH_A_QUEUE_NAME, q->name) ||
	    nla_put_string(skb, MBATCH_A_QUEUE_DEV, q->path) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_DEPTH, q->depth) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_MAX_CMDS, q->max_cmds) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_MAX_BYTES, q->max_bytes,
			      MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_BLOCK_SIZE, q->lbs) ||
	    nla_put_u64_64bit(skb, MBATCH_A_QUEUE_CAPACITY,
			      mbatch_queue_capacity(q),
			      MBATCH_A_PAD) ||
	    nla_put_u32(skb, MBATCH_A_QUEUE_SESSIONS, nr) ||
	    mbatch_put_stats(skb, &st, inflight, queued, queued_bytes)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int mbatch_put_session_name(struct sk_buff *skb,
				   const struct mbatch_session *s)
{
	const char *peer = mbatch_remote_peer_name(s);

	if (nla_put_string(skb, MBATCH_A_QUEUE_NAME, mbatch_session_qname(s)) ||
	    (peer && nla_put_string(skb, MBATCH_A_PEER_NAME, peer)))
		return -EMSGSIZE;
	return 0;
}

static int mbatch_fill_session(struct sk_buff *skb, struct mbatch_session *s,
			       u32 portid, u32 seq, int flags, u8 cmd,
			       struct netlink_callback *cb)
{
	u64 epoch, done_epoch, queued, queued_bytes, inflight;
	struct mbatch_stats st;
	u32 state;
	int err;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mbatch_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	spin_lock_irq(&s->lock);
	st = s->stats;
	state = s->state;
	err = s->halt_err;
	epoch = s->epoch;
	done_epoch = s->done_epoch;
	inflight = s->inflight;
	queued = s->held_cmds - s->inflight - s->nr_results;
	queued_bytes = s->held_bytes;
	spin_unlock_irq(&s->lock);

	if (nla_put_u32(skb, MBATCH_A_SESSION_ID, s->id) ||
	    mbatch_put_session_name(skb, s) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_FLAGS, s->flags) ||
	    nla_put_u32(skb, MBATCH_A_SESSION_STATE, state) ||
	    nla_put_u64_64bit(skb, MBATCH_A_SESSION_EPOCH, epoch,
			      MBATCH_A_PAD) ||
	    nla_put_u64_64bit(skb, MBATCH_A_SESSION_DONE_EPOCH, done_epoch,
			      MBATCH_A_PAD) ||
	    nla_put_s32(skb, MBATCH_A_SESSION_ERROR, err) ||
	    mbatch_put_stats(skb, &st, inflight, queued, queued_bytes)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* One result; READ data is copied from the command's pages. */
static int mbatch_put_result(struct sk_buff *skb, const struct mbatch_rq *c,
			     bool data)
{
	struct nlattr *nest, *d;
	unsigned int i;

	nest = nla_nest_start(skb, MBATCH_A_RESULT);
	if (!nest)
		return -EMSGSIZE;
#define PUT64(a, v) nla_put_u64_64bit(skb, MBATCH_RESULT_A_##a, v, \
				      MBATCH_RESULT_A_PAD)
	if (PUT64(SEQ, c->rseq) || PUT64(TAG, c->tag) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_OP, c->op) ||
	    nla_put_s32(skb, MBATCH_RESULT_A_STATUS, c->status) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_BYTES, c->bytes) ||
	    PUT64(EPOCH, c->epoch) || PUT64(START_NS, c->start_ns) ||
	    PUT64(DONE_NS, c->done_ns) || PUT64(BATCH_ID, c->batch_id) ||
	    PUT64(MSG_SEQ, c->seq) ||
	    nla_put_u32(skb, MBATCH_RESULT_A_FLAGS, c->rflags))
		goto cancel;
#undef PUT64
	if (data && c->op == MBATCH_OP_READ && !c->status) {
		d = nla_reserve(skb, MBATCH_RESULT_A_DATA, c->len);
		if (!d)
			goto cancel;
		for (i = 0; i < c->nr_pages; i++)
			memcpy_from_page((u8 *)nla_data(d) + i * PAGE_SIZE,
					 c->pages[i], 0,
					 min_t(u32, c->len - i * PAGE_SIZE,
					       PAGE_SIZE));
	}
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
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

static struct mbatch_session *mbatch_info_session(struct genl_info *info)
{
	struct mbatch_session *s;

	if (MBATCH_REQUIRE(info, MBATCH_A_SESSION_ID, "session id"))
		return ERR_PTR(-EINVAL);
	s = mbatch_session_get(mbatch_info_net(info),
			       nla_get_u32(info->attrs[MBATCH_A_SESSION_ID]));
	if (!s) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such session");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_SESSION_ID]);
		return ERR_PTR(-ENOENT);
	}
	return s;
}

/* A session this node's user drives: not one a peer runs here. */
static struct mbatch_session *mbatch_info_own_session(struct genl_info *info)
{
	struct mbatch_session *s = mbatch_info_session(info);

	if (!IS_ERR(s) && (s->flags & MBATCH_SESSION_F_PEER)) {
		mbatch_session_put(s);
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the session belongs to a peer");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_SESSION_ID]);
		return ERR_PTR(-EPERM);
	}
	return s;
}

static int mbatch_session_geom(struct mbatch_session *s, struct mbatch_geom *g,
			       struct netlink_ext_ack *extack)
{
	if (!s->q)
		return mbatch_remote_geom(s, g, extack);
	mbatch_queue_geom(s->q, g);
	return 0;
}

/* Handlers. */

static int mbatch_nl_version_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &mbatch_family, 0,
				MBATCH_CMD_VERSION_GET);
	if (!hdr ||
	    nla_put_u32(msg, MBATCH_A_VERSION, MBATCH_GENL_VERSION) ||
	    nla_put_string(msg, MBATCH_A_MODULE_VERSION, MBATCH_MODULE_VERSION) ||
	    nla_put_u64_64bit(msg, MBATCH_A_FEATURES,
			      MBATCH_FEAT_LOCAL | MBATCH_FEAT_REMOTE,
			      MBATCH_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_queue_new(struct sk_buff *skb, struct genl_info *info)
{
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
	err = mbatch_queue_new(mbatch_info_net(info), &cfg, info->extack);
	if (err == -EEXIST || err == -EINVAL)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_QUEUE_NAME]);
	else if (err && err != -ENOMEM)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_QUEUE_DEV]);
	return err;
}

static int mbatch_nl_queue_del(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	err = mbatch_queue_del(mbatch_info_net(info),
			       nla_data(info->attrs[MBATCH_A_QUEUE_NAME]),
			       info->extack);
	if (err)
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_QUEUE_NAME]);
	return err;
}

static int mbatch_nl_queue_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_net *mn = mbatch_info_net(info);
	struct mbatch_queue *q;
	struct sk_buff *msg;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	mutex_lock(&mn->lock);
	q = mbatch_queue_find(mn, nla_data(info->attrs[MBATCH_A_QUEUE_NAME]));
	mutex_unlock(&mn->lock);
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
	struct mbatch_session *s;
	struct sk_buff *msg;
	u32 flags = 0;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_QUEUE_NAME, "queue name"))
		return -EINVAL;
	if (info->attrs[MBATCH_A_SESSION_FLAGS])
		flags = nla_get_u32(info->attrs[MBATCH_A_SESSION_FLAGS]);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	if (info->attrs[MBATCH_A_PEER_NAME])
		s = mbatch_remote_open(mbatch_info_net(info),
				       nla_data(info->attrs[MBATCH_A_PEER_NAME]),
				       nla_data(info->attrs[MBATCH_A_QUEUE_NAME]),
				       flags, info->snd_portid, info->extack);
	else
		s = mbatch_session_open(mbatch_info_net(info),
					nla_data(info->attrs[MBATCH_A_QUEUE_NAME]),
					flags, info->snd_portid, NULL,
					info->extack);
	if (IS_ERR(s)) {
		nlmsg_free(msg);
		if (PTR_ERR(s) == -ENOENT)
			NL_SET_BAD_ATTR(info->extack,
					info->attrs[MBATCH_A_PEER_NAME] ?:
					info->attrs[MBATCH_A_QUEUE_NAME]);
		return PTR_ERR(s);
	}
	err = mbatch_fill_session(msg, s, info->snd_portid, info->snd_seq, 0,
				  MBATCH_CMD_SESSION_OPEN, NULL);
	mbatch_session_put(s);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int mbatch_nl_session_close(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_SESSION_ID, "session id"))
		return -EINVAL;
	err = mbatch_session_close(mbatch_info_net(info),
				   nla_get_u32(info->attrs[MBATCH_A_SESSION_ID]));
	if (err) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such session");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_SESSION_ID]);
	}
	return err;
}

static int mbatch_nl_session_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_session *s;
	struct sk_buff *msg;
	int err;

	s = mbatch_info_session(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		mbatch_session_put(s);
		return -ENOMEM;
	}
	err = mbatch_fill_session(msg, s, info->snd_portid, info->snd_seq, 0,
				  MBATCH_CMD_SESSION_GET, NULL);
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
	const char *qname = NULL, *peer = NULL, *speer;
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
		speer = mbatch_remote_peer_name(s);
		if ((qname && strcmp(mbatch_session_qname(s), qname)) ||
		    (peer && (!speer || strcmp(speer, peer)))) {
			*cursor = id + 1;
			continue;
		}
		err = mbatch_fill_session(skb, s, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, NLM_F_MULTI,
					  MBATCH_CMD_SESSION_GET, cb);
		if (err)
			break;
		*cursor = id + 1;
	}
	mutex_unlock(&mn->lock);
	if (err && !skb->len)
		return err;
	return skb->len;
}

/* Parse and check every message of a batch before anything is queued. */
static int mbatch_parse_msg(const struct mbatch_geom *g, struct nlattr *nla,
			    unsigned int idx, struct mbatch_msg *m,
			    struct netlink_ext_ack *extack)
{
	u64 capacity = g->capacity;
	struct nlattr *tb[MBATCH_MSG_A_MAX + 1];
	bool rw, zero;
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
	if (tb[MBATCH_MSG_A_FLAGS]) {
		m->flags = nla_get_u32(tb[MBATCH_MSG_A_FLAGS]);
		if (m->op != MBATCH_OP_CHECKPOINT && m->flags) {
			MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_FLAGS],
				       "flags are only valid on a checkpoint");
			return -EINVAL;
		}
	}
	if (tb[MBATCH_MSG_A_DATA] && m->op != MBATCH_OP_WRITE) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_DATA],
			       "only a write carries data");
		return -EINVAL;
	}

	rw = m->op == MBATCH_OP_READ || m->op == MBATCH_OP_WRITE;
	zero = m->op == MBATCH_OP_DISCARD || m->op == MBATCH_OP_WRITE_ZEROES;
	if (!rw && !zero) {
		if (tb[MBATCH_MSG_A_OFFSET] || tb[MBATCH_MSG_A_LEN]) {
			MBATCH_MSG_ERR(extack, idx,
				       tb[MBATCH_MSG_A_OFFSET] ?: tb[MBATCH_MSG_A_LEN],
				       "flush and checkpoint take no offset or length");
			return -EINVAL;
		}
		return 0;
	}

	if (!tb[MBATCH_MSG_A_OFFSET]) {
		NL_SET_ERR_ATTR_MISS(extack, nla, MBATCH_MSG_A_OFFSET);
		MBATCH_MSG_ERR(extack, idx, nla, "message has no offset");
		return -EINVAL;
	}
	if (!tb[MBATCH_MSG_A_LEN]) {
		NL_SET_ERR_ATTR_MISS(extack, nla, MBATCH_MSG_A_LEN);
		MBATCH_MSG_ERR(extack, idx, nla, "message has no length");
		return -EINVAL;
	}
	m->offset = nla_get_u64(tb[MBATCH_MSG_A_OFFSET]);
	m->len = nla_get_u32(tb[MBATCH_MSG_A_LEN]);
	if (!m->len) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_LEN],
			       "length must not be zero");
		return -EINVAL;
	}
	if (rw && m->len > MBATCH_MAX_IO_LEN) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_LEN],
			       "length exceeds the read/write maximum");
		return -EINVAL;
	}
	if (zero && m->len > MBATCH_MAX_ZERO_LEN) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_LEN],
			       "length exceeds the discard/write-zeroes maximum");
		return -EINVAL;
	}
	if (!IS_ALIGNED(m->offset, g->lbs)) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_OFFSET],
			       "offset is not aligned to the logical block size");
		return -EINVAL;
	}
	if (!IS_ALIGNED(m->len, g->lbs)) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_LEN],
			       "length is not aligned to the logical block size");
		return -EINVAL;
	}
	if (m->offset >= capacity || m->len > capacity - m->offset) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_OFFSET],
			       "range is beyond the end of the device");
		return -ERANGE;
	}
	if (m->op == MBATCH_OP_DISCARD && !g->discard) {
		MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_OP],
			       "the device does not support discard");
		return -EOPNOTSUPP;
	}
	if (m->op == MBATCH_OP_WRITE) {
		if (!tb[MBATCH_MSG_A_DATA]) {
			NL_SET_ERR_ATTR_MISS(extack, nla, MBATCH_MSG_A_DATA);
			MBATCH_MSG_ERR(extack, idx, nla, "a write needs data");
			return -EINVAL;
		}
		if (nla_len(tb[MBATCH_MSG_A_DATA]) != m->len) {
			MBATCH_MSG_ERR(extack, idx, tb[MBATCH_MSG_A_DATA],
				       "data length does not match the length");
			return -EINVAL;
		}
		m->data = nla_data(tb[MBATCH_MSG_A_DATA]);
	}
	return 0;
}

static int mbatch_nl_submit(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_msg *msgs = NULL;
	struct mbatch_session *s;
	unsigned int n = 0, i = 0;
	u64 batch_id = 0, first_seq = 0;
	struct sk_buff *reply;
	struct nlattr *nla;
	struct mbatch_geom g;
	void *hdr;
	int rem, err;

	s = mbatch_info_own_session(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = mbatch_session_geom(s, &g, info->extack);
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
	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) != MBATCH_A_MSG)
			continue;
		err = mbatch_parse_msg(&g, nla, i, &msgs[i], info->extack);
		if (err)
			goto put;
		i++;
	}

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply) {
		err = -ENOMEM;
		goto put;
	}
	if (info->attrs[MBATCH_A_BATCH_ID])
		batch_id = nla_get_u64(info->attrs[MBATCH_A_BATCH_ID]);
	err = mbatch_session_submit(s, msgs, n, &batch_id, &first_seq,
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
	kvfree(msgs);
	mbatch_session_put(s);
	return err;
}

static int mbatch_nl_resume(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_session *s;
	int err;

	s = mbatch_info_own_session(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = mbatch_session_resume(s, info->extack);
	mbatch_session_put(s);
	return err;
}

static int mbatch_nl_batch_cancel(struct sk_buff *skb, struct genl_info *info)
{
	struct mbatch_session *s;
	struct sk_buff *reply;
	unsigned int n;
	void *hdr;
	int err;

	if (MBATCH_REQUIRE(info, MBATCH_A_BATCH_ID, "batch id"))
		return -EINVAL;
	s = mbatch_info_own_session(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply) {
		mbatch_session_put(s);
		return -ENOMEM;
	}
	err = mbatch_session_cancel_batch(s,
					  nla_get_u64(info->attrs[MBATCH_A_BATCH_ID]),
					  &n);
	if (err) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such batch");
		NL_SET_BAD_ATTR(info->extack, info->attrs[MBATCH_A_BATCH_ID]);
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
 * Collect is a dump. The first part checks the request (its errors reach the
 * initiator with their extack in the dump's NLMSG_DONE) and acknowledges.
 * A collect that has to wait first sends a part holding only the session id
 * and waits in the next one, which runs from the initiator's recvmsg(): no
 * genetlink lock is held while it sleeps. Then the range of results is fixed
 * and every part carries as many as fit. The context keeps only the session
 * id, so an abandoned dump pins nothing.
 */
struct mbatch_collect_ctx {
	u64 next;
	u64 cseq;
	u32 sid;
	u32 count;
	u32 pending;
	u32 left;
	u8 phase;
};

enum {
	MBATCH_COLLECT_BEGIN,
	MBATCH_COLLECT_WAIT,
	MBATCH_COLLECT_SEND,
	MBATCH_COLLECT_DONE,
};

struct mbatch_collect_req {
	u32 min;
	u32 max;
	u32 timeout;
	bool want_epoch;
	u64 epoch;
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
		r->timeout = MBATCH_COLLECT_TIMEOUT_MAX_MS;
	if (a[MBATCH_A_COLLECT_TIMEOUT_MS])
		r->timeout = nla_get_u32(a[MBATCH_A_COLLECT_TIMEOUT_MS]);
	if (!r->min && !r->want_epoch)
		r->timeout = 0;
}

static bool mbatch_collect_ready(struct mbatch_session *s,
				 const struct mbatch_collect_req *r)
{
	if (READ_ONCE(s->state) == MBATCH_SESSION_CLOSING)
		return true;
	if (r->min && READ_ONCE(s->nr_results) >= r->min)
		return true;
	if (r->want_epoch && READ_ONCE(s->done_epoch) > r->epoch)
		return true;
	return false;
}

static int mbatch_collect_begin(struct netlink_callback *cb,
				struct mbatch_collect_ctx *ctx,
				struct mbatch_session **sp)
{
	struct mbatch_net *mn = mbatch_net(sock_net(cb->skb->sk));
	struct nlattr **a = mbatch_dump_attrs(cb);
	struct mbatch_collect_req r;
	struct mbatch_session *s;
	u32 flags = 0;
	u64 ack = 0;

	if (!a || !a[MBATCH_A_SESSION_ID]) {
		NL_SET_ERR_MSG_MOD(cb->extack, "missing session id");
		return -EINVAL;
	}
	ctx->sid = nla_get_u32(a[MBATCH_A_SESSION_ID]);
	s = mbatch_session_get(mn, ctx->sid);
	if (!s) {
		NL_SET_ERR_MSG_MOD(cb->extack, "no such session");
		return -ENOENT;
	}
	*sp = s;
	if (s->flags & MBATCH_SESSION_F_PEER) {
		NL_SET_ERR_MSG_MOD(cb->extack, "the session belongs to a peer");
		return -EPERM;
	}
	cb->min_dump_alloc = MBATCH_MAX_IO_LEN + NLMSG_GOODSIZE;
	if (a[MBATCH_A_COLLECT_FLAGS])
		flags = nla_get_u32(a[MBATCH_A_COLLECT_FLAGS]);
	if (a[MBATCH_A_COLLECT_ACK])
		ack = nla_get_u64(a[MBATCH_A_COLLECT_ACK]);
	if (ack || (flags & MBATCH_COLLECT_F_ACK_DELIVERED)) {
		if (mbatch_session_ack(s, ack,
				       flags & MBATCH_COLLECT_F_ACK_DELIVERED)) {
			NL_SET_ERR_MSG_MOD(cb->extack,
					   "collect-ack is ahead of the results delivered");
			return -EINVAL;
		}
	}

	mbatch_collect_parse(a, &r);
	if (r.timeout && !mbatch_collect_ready(s, &r))
		ctx->phase = MBATCH_COLLECT_WAIT;
	else
		ctx->phase = MBATCH_COLLECT_SEND;
	return 0;
}

/* Wait as asked; runs in the initiator's recvmsg(), interruptible. */
static int mbatch_collect_wait(struct netlink_callback *cb,
			       struct mbatch_session *s)
{
	struct mbatch_collect_req r;
	long ret;

	mbatch_collect_parse(mbatch_dump_attrs(cb), &r);
	ret = wait_event_interruptible_timeout(s->wait,
					       mbatch_collect_ready(s, &r),
					       msecs_to_jiffies(r.timeout));
	if (ret < 0) {
		NL_SET_ERR_MSG_MOD(cb->extack,
				   "collect wait interrupted by a signal");
		return -EINTR;
	}
	return 0;
}

/* Fix the range of results this collect returns. */
static int mbatch_collect_snapshot(struct netlink_callback *cb,
				   struct mbatch_collect_ctx *ctx,
				   struct mbatch_session *s)
{
	struct mbatch_collect_req r;
	struct mbatch_rq *c;

	mbatch_collect_parse(mbatch_dump_attrs(cb), &r);
	spin_lock_irq(&s->lock);
	if (s->state == MBATCH_SESSION_CLOSING) {
		spin_unlock_irq(&s->lock);
		NL_SET_ERR_MSG_MOD(cb->extack, "session was closed");
		return -ENOENT;
	}
	c = list_first_entry_or_null(&s->results, struct mbatch_rq, node);
	ctx->next = c ? c->rseq : s->next_rseq + 1;
	ctx->count = min_t(u32, s->nr_results, r.max);
	ctx->left = ctx->count;
	ctx->pending = s->nr_results - ctx->count;
	ctx->cseq = ++s->collect_seq;
	spin_unlock_irq(&s->lock);
	return 0;
}

static void *mbatch_collect_hdr(struct sk_buff *skb,
				struct netlink_callback *cb,
				struct mbatch_collect_ctx *ctx, bool marker)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &mbatch_family, NLM_F_MULTI, MBATCH_CMD_COLLECT);
	if (!hdr)
		return NULL;
	if (nla_put_u32(skb, MBATCH_A_SESSION_ID, ctx->sid) ||
	    (!marker &&
	     (nla_put_u64_64bit(skb, MBATCH_A_COLLECT_SEQ, ctx->cseq,
				MBATCH_A_PAD) ||
	      nla_put_u32(skb, MBATCH_A_COLLECT_COUNT, ctx->count) ||
	      nla_put_u32(skb, MBATCH_A_COLLECT_PENDING, ctx->pending)))) {
		genlmsg_cancel(skb, hdr);
		return NULL;
	}
	return hdr;
}

static int mbatch_collect_part(struct sk_buff *skb,
			       struct netlink_callback *cb,
			       struct mbatch_collect_ctx *ctx,
			       struct mbatch_session *s)
{
	struct mbatch_rq *c;
	bool full = false;
	void *hdr;

	hdr = mbatch_collect_hdr(skb, cb, ctx, false);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_irq(&s->lock);
	list_for_each_entry(c, &s->results, node) {
		if (!ctx->left)
			break;
		if (c->rseq < ctx->next)
			continue;
		if (mbatch_put_result(skb, c, true)) {
			full = true;
			break;
		}
		ctx->next = c->rseq + 1;
		ctx->left--;
	}
	/*
	 * A part may end early, even with no result in it; the next part's
	 * buffer is sized for the largest result (min_dump_alloc). Results
	 * acknowledged meanwhile by another collect are not sent.
	 */
	if (!full)
		ctx->phase = MBATCH_COLLECT_DONE;
	if (ctx->count)
		s->delivered_rseq = max(s->delivered_rseq, ctx->next - 1);
	spin_unlock_irq(&s->lock);
	genlmsg_end(skb, hdr);
	return skb->len;
}

static int mbatch_nl_collect_dump(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct mbatch_collect_ctx *ctx = (void *)cb->ctx;
	struct mbatch_session *s = NULL;
	void *hdr;
	int ret;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	switch (ctx->phase) {
	case MBATCH_COLLECT_BEGIN:
		ret = mbatch_collect_begin(cb, ctx, &s);
		if (ret || ctx->phase == MBATCH_COLLECT_SEND)
			break;
		/* Leave the request path before sleeping. */
		hdr = mbatch_collect_hdr(skb, cb, ctx, true);
		if (!hdr) {
			ret = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
		ret = skb->len;
		goto out;
	case MBATCH_COLLECT_WAIT:
	case MBATCH_COLLECT_SEND:
		s = mbatch_session_get(mbatch_net(sock_net(cb->skb->sk)),
				       ctx->sid);
		if (!s) {
			NL_SET_ERR_MSG_MOD(cb->extack, "session was closed");
			return -ENOENT;
		}
		ret = 0;
		if (ctx->phase == MBATCH_COLLECT_WAIT) {
			ret = mbatch_collect_wait(cb, s);
			ctx->phase = MBATCH_COLLECT_SEND;
		}
		break;
	default:
		return 0;
	}
	if (ret)
		goto out;
	if (!ctx->cseq) {
		ret = mbatch_collect_snapshot(cb, ctx, s);
		if (ret)
			goto out;
	}
	ret = mbatch_collect_part(skb, cb, ctx, s);
out:
	if (s)
		mbatch_session_put(s);
	return ret;
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
	struct mbatch_peer_cfg cfg = {};
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
	err = mbatch_peer_new(mbatch_info_net(info), &cfg, info->extack);
	if (err == -EEXIST || err == -EINVAL)
		NL_SET_BAD_ATTR(info->extack, a[MBATCH_A_PEER_NAME]);
	return err;
}

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

static void mbatch_multicast(struct mbatch_net *mn, struct sk_buff *msg)
{
	rcu_read_lock();
	if (READ_ONCE(mbatch_family_live))
		genlmsg_multicast_netns(&mbatch_family, mn->net, msg, 0,
					MBATCH_MCGRP_EVENTS_ID, GFP_ATOMIC);
	else
		nlmsg_free(msg);
	rcu_read_unlock();
}

void mbatch_notify_checkpoint(struct mbatch_session *s,
			      const struct mbatch_rq *cp)
{
	struct sk_buff *msg;
	void *hdr;

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

/* Owned sessions end with the socket that opened them. */
static int mbatch_nl_notify(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid)
		mbatch_sessions_release_portid(mbatch_net(n->net), n->portid);
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
