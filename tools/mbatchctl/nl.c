// SPDX-License-Identifier: GPL-2.0
/*
 * The one request helper: genl socket, family lookup, extended ACK
 * reporting, multipart dumps and NLM_F_DUMP_INTR restarts.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define MB_SOCK_BUF		(4 << 20)	/* WRITE data travels inline */
#define MB_DUMP_RETRIES		8

static const char *const main_names[] = {
	[MBATCH_A_PAD] = "pad",
	[MBATCH_A_VERSION] = "version",
	[MBATCH_A_MODULE_VERSION] = "module-version",
	[MBATCH_A_FEATURES] = "features",
	[MBATCH_A_QUEUE_NAME] = "queue-name",
	[MBATCH_A_QUEUE_DEV] = "queue-dev",
	[MBATCH_A_QUEUE_DEPTH] = "queue-depth",
	[MBATCH_A_QUEUE_MAX_CMDS] = "queue-max-cmds",
	[MBATCH_A_QUEUE_MAX_BYTES] = "queue-max-bytes",
	[MBATCH_A_QUEUE_BLOCK_SIZE] = "queue-block-size",
	[MBATCH_A_QUEUE_CAPACITY] = "queue-capacity",
	[MBATCH_A_QUEUE_SESSIONS] = "queue-sessions",
	[MBATCH_A_SESSION_ID] = "session-id",
	[MBATCH_A_SESSION_FLAGS] = "session-flags",
	[MBATCH_A_SESSION_STATE] = "session-state",
	[MBATCH_A_SESSION_EPOCH] = "session-epoch",
	[MBATCH_A_SESSION_DONE_EPOCH] = "session-done-epoch",
	[MBATCH_A_SESSION_ERROR] = "session-error",
	[MBATCH_A_BATCH_ID] = "batch-id",
	[MBATCH_A_BATCH_FIRST_SEQ] = "batch-first-seq",
	[MBATCH_A_BATCH_COUNT] = "batch-count",
	[MBATCH_A_MSG] = "msg",
	[MBATCH_A_RESULT] = "result",
	[MBATCH_A_STATS] = "stats",
	[MBATCH_A_COLLECT_ACK] = "collect-ack",
	[MBATCH_A_COLLECT_FLAGS] = "collect-flags",
	[MBATCH_A_COLLECT_MIN] = "collect-min",
	[MBATCH_A_COLLECT_EPOCH] = "collect-epoch",
	[MBATCH_A_COLLECT_TIMEOUT_MS] = "collect-timeout-ms",
	[MBATCH_A_COLLECT_MAX] = "collect-max",
	[MBATCH_A_COLLECT_SEQ] = "collect-seq",
	[MBATCH_A_COLLECT_COUNT] = "collect-count",
	[MBATCH_A_COLLECT_PENDING] = "collect-pending",
	[MBATCH_A_PEER_NAME] = "peer-name",
	[MBATCH_A_PEER_ADDR] = "peer-addr",
	[MBATCH_A_PEER_PSK_FILE] = "peer-psk-file",
	[MBATCH_A_PEER_STATE] = "peer-state",
	[MBATCH_A_PEER_FD] = "peer-fd",
	[MBATCH_A_PEER_DIGEST] = "peer-digest",
	[MBATCH_A_PEER_KEEPALIVE_MS] = "peer-keepalive-ms",
	[MBATCH_A_PEER_LINK_TIMEOUT_MS] = "peer-link-timeout-ms",
	[MBATCH_A_PEER_RTT_US] = "peer-rtt-us",
	[MBATCH_A_PEER_STATS] = "peer-stats",
	[MBATCH_A_LINK_REASON] = "link-reason",
	[MBATCH_A_LINK_ERROR] = "link-error",
	[MBATCH_A_SESSION_HANDLE] = "session-handle",
	[MBATCH_A_SESSION_MAX_IO] = "session-max-io",
	[MBATCH_A_SESSION_HALTS] = "session-halts",
	[MBATCH_A_LIMIT_MAX_IO] = "limit-max-io",
	[MBATCH_A_LIMIT_MAX_ZERO] = "limit-max-zero",
	[MBATCH_A_LIMIT_BATCH_MSGS] = "limit-batch-msgs",
	[MBATCH_A_LIMIT_REQUEST_BYTES] = "limit-request-bytes",
	[MBATCH_A_LIMIT_REPLY_BYTES] = "limit-reply-bytes",
	[MBATCH_A_COLLECT_WAITING] = "collect-waiting",
	[MBATCH_A_COLLECT_TIMED_OUT] = "collect-timed-out",
	[MBATCH_A_PEER_IN_BYTES] = "peer-in-bytes",
	[MBATCH_A_PEER_IN_CMDS] = "peer-in-cmds",
	[MBATCH_A_REGION_ID] = "region-id",
	[MBATCH_A_REGION_ADDR] = "region-addr",
	[MBATCH_A_REGION_LEN] = "region-len",
	[MBATCH_A_REGION_FLAGS] = "region-flags",
	[MBATCH_A_REGION_USERS] = "region-users",
	[MBATCH_A_REGION_PORTID] = "region-portid",
	[MBATCH_A_LIMIT_MAX_PROXY_IO] = "limit-max-proxy-io",
	[MBATCH_A_SESSION_MAX_PROXY_IO] = "session-max-proxy-io",
	[MBATCH_A_SESSION_PROXY_ALIGN] = "session-proxy-align",
	[MBATCH_A_QUEUE_JOURNAL] = "queue-journal",
	[MBATCH_A_QUEUE_JOURNAL_DEV] = "queue-journal-dev",
	[MBATCH_A_QUEUE_JOURNAL_SIZE] = "queue-journal-size",
	[MBATCH_A_QUEUE_JOURNAL_UUID] = "queue-journal-uuid",
	[MBATCH_A_QUEUE_JOURNAL_GENERATION] = "queue-journal-generation",
	[MBATCH_A_QUEUE_JOURNAL_LOG_SEQ] = "queue-journal-log-seq",
	[MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS] = "queue-journal-log-records",
	[MBATCH_A_QUEUE_JOURNAL_LOG_ROOM] = "queue-journal-log-room",
	[MBATCH_A_QUEUE_JOURNAL_LOG_WRITES] = "queue-journal-log-writes",
	[MBATCH_A_QUEUE_JOURNAL_RESTORED] = "queue-journal-restored",
	[MBATCH_A_QUEUE_JOURNAL_UNRESTORED] = "queue-journal-unrestored",
};

static const char *const msg_names[] = {
	[MBATCH_MSG_A_PAD] = "pad",
	[MBATCH_MSG_A_TAG] = "tag",
	[MBATCH_MSG_A_OP] = "op",
	[MBATCH_MSG_A_FLAGS] = "flags",
	[MBATCH_MSG_A_OFFSET] = "offset",
	[MBATCH_MSG_A_LEN] = "len",
	[MBATCH_MSG_A_DATA] = "data",
	[MBATCH_MSG_A_REGION] = "region",
	[MBATCH_MSG_A_REGION_OFFSET] = "region-offset",
};

const char *mb_attr_name(int set, unsigned int type)
{
	const char *const *tab = main_names;
	size_t n = ARRAY_SIZE(main_names);

	if (set == MB_SET_MSG) {
		tab = msg_names;
		n = ARRAY_SIZE(msg_names);
	}
	if (type < n && tab[type])
		return tab[type];
	return "unknown";
}

static struct nla_policy main_policy[MBATCH_A_MAX + 1] = {
	[MBATCH_A_VERSION] = { .type = NLA_U32 },
	[MBATCH_A_MODULE_VERSION] = { .type = NLA_STRING },
	[MBATCH_A_FEATURES] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_NAME] = { .type = NLA_STRING },
	[MBATCH_A_QUEUE_DEV] = { .type = NLA_STRING },
	[MBATCH_A_QUEUE_DEPTH] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_MAX_CMDS] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_MAX_BYTES] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_BLOCK_SIZE] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_CAPACITY] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_SESSIONS] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_ID] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_FLAGS] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_STATE] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_EPOCH] = { .type = NLA_U64 },
	[MBATCH_A_SESSION_DONE_EPOCH] = { .type = NLA_U64 },
	[MBATCH_A_SESSION_ERROR] = { .type = NLA_U32 },
	[MBATCH_A_BATCH_ID] = { .type = NLA_U64 },
	[MBATCH_A_BATCH_FIRST_SEQ] = { .type = NLA_U64 },
	[MBATCH_A_BATCH_COUNT] = { .type = NLA_U32 },
	[MBATCH_A_MSG] = { .type = NLA_NESTED },
	[MBATCH_A_RESULT] = { .type = NLA_NESTED },
	[MBATCH_A_STATS] = { .type = NLA_NESTED },
	[MBATCH_A_COLLECT_ACK] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_FLAGS] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_MIN] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_EPOCH] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_TIMEOUT_MS] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_MAX] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_SEQ] = { .type = NLA_U64 },
	[MBATCH_A_COLLECT_COUNT] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_PENDING] = { .type = NLA_U32 },
	[MBATCH_A_PEER_NAME] = { .type = NLA_STRING },
	[MBATCH_A_PEER_ADDR] = { .type = NLA_STRING },
	[MBATCH_A_PEER_PSK_FILE] = { .type = NLA_STRING },
	[MBATCH_A_PEER_STATE] = { .type = NLA_U32 },
	[MBATCH_A_PEER_FD] = { .type = NLA_U32 },
	[MBATCH_A_PEER_DIGEST] = { .type = NLA_U32 },
	[MBATCH_A_PEER_KEEPALIVE_MS] = { .type = NLA_U32 },
	[MBATCH_A_PEER_LINK_TIMEOUT_MS] = { .type = NLA_U32 },
	[MBATCH_A_PEER_RTT_US] = { .type = NLA_U32 },
	[MBATCH_A_PEER_STATS] = { .type = NLA_NESTED },
	[MBATCH_A_LINK_REASON] = { .type = NLA_STRING },
	[MBATCH_A_LINK_ERROR] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HANDLE] = { .type = NLA_U64 },
	[MBATCH_A_SESSION_MAX_IO] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_HALTS] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_MAX_IO] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_MAX_ZERO] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_BATCH_MSGS] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_REQUEST_BYTES] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_REPLY_BYTES] = { .type = NLA_U32 },
	[MBATCH_A_COLLECT_WAITING] = { .type = NLA_FLAG },
	[MBATCH_A_COLLECT_TIMED_OUT] = { .type = NLA_FLAG },
	[MBATCH_A_PEER_IN_BYTES] = { .type = NLA_U64 },
	[MBATCH_A_PEER_IN_CMDS] = { .type = NLA_U32 },
	[MBATCH_A_REGION_ID] = { .type = NLA_U32 },
	[MBATCH_A_REGION_ADDR] = { .type = NLA_U64 },
	[MBATCH_A_REGION_LEN] = { .type = NLA_U64 },
	[MBATCH_A_REGION_FLAGS] = { .type = NLA_U32 },
	[MBATCH_A_REGION_USERS] = { .type = NLA_U32 },
	[MBATCH_A_REGION_PORTID] = { .type = NLA_U32 },
	[MBATCH_A_LIMIT_MAX_PROXY_IO] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_MAX_PROXY_IO] = { .type = NLA_U32 },
	[MBATCH_A_SESSION_PROXY_ALIGN] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_JOURNAL] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_JOURNAL_DEV] = { .type = NLA_STRING },
	[MBATCH_A_QUEUE_JOURNAL_SIZE] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_UUID] = { .minlen = 16, .maxlen = 16 },
	[MBATCH_A_QUEUE_JOURNAL_GENERATION] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_LOG_SEQ] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_LOG_ROOM] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_LOG_WRITES] = { .type = NLA_U64 },
	[MBATCH_A_QUEUE_JOURNAL_RESTORED] = { .type = NLA_U32 },
	[MBATCH_A_QUEUE_JOURNAL_UNRESTORED] = { .type = NLA_U32 },
};

static struct nla_policy result_policy[MBATCH_RESULT_A_MAX + 1] = {
	[MBATCH_RESULT_A_SEQ] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_TAG] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_OP] = { .type = NLA_U32 },
	[MBATCH_RESULT_A_STATUS] = { .type = NLA_U32 },
	[MBATCH_RESULT_A_BYTES] = { .type = NLA_U32 },
	[MBATCH_RESULT_A_EPOCH] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_START_NS] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_DONE_NS] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_BATCH_ID] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_MSG_SEQ] = { .type = NLA_U64 },
	[MBATCH_RESULT_A_FLAGS] = { .type = NLA_U32 },
	[MBATCH_RESULT_A_DATA] = { .type = NLA_UNSPEC },
	[MBATCH_RESULT_A_OUTCOME] = { .type = NLA_U32 },
};

static struct nla_policy stats_policy[MBATCH_STATS_A_MAX + 1];
static struct nla_policy peer_stats_policy[MBATCH_PEER_STATS_A_MAX + 1];

int mb_parse_result(struct nlattr *nest, struct nlattr **tb)
{
	return nla_parse_nested(tb, MBATCH_RESULT_A_MAX, nest, result_policy);
}

int mb_parse_stats(struct nlattr *nest, struct nlattr **tb)
{
	unsigned int i;

	for (i = MBATCH_STATS_A_SUBMITTED; i <= MBATCH_STATS_A_MAX; i++)
		stats_policy[i].type = NLA_U64;
	return nla_parse_nested(tb, MBATCH_STATS_A_MAX, nest, stats_policy);
}

int mb_parse_peer_stats(struct nlattr *nest, struct nlattr **tb)
{
	unsigned int i;

	for (i = MBATCH_PEER_STATS_A_TX_BYTES; i <= MBATCH_PEER_STATS_A_MAX; i++)
		peer_stats_policy[i].type = NLA_U64;
	return nla_parse_nested(tb, MBATCH_PEER_STATS_A_MAX, nest,
				peer_stats_policy);
}

/*
 * Names the attribute at byte offset @offs of the request in flight:
 * "attribute session-id", or "FILE:LINE: message 3, attribute len" in a
 * SUBMIT whose messages come from a script.
 */
static void describe_offs(struct mb_nl *nl, uint32_t offs, char *buf,
			  size_t len)
{
	struct nlmsghdr *hdr;
	struct nlattr *a, *b;
	unsigned int index = 0;
	char origin[160] = "";
	int rem, rem2;

	snprintf(buf, len, "at offset %u", offs);
	if (!nl->req)
		return;
	hdr = nlmsg_hdr(nl->req);
	mb_for_each_attr(a, hdr, rem) {
		uint32_t start = (char *)a - (char *)hdr;
		unsigned int type = nla_type(a);
		const char *inner = NULL;

		if (offs < start || offs >= start + NLA_ALIGN(a->nla_len)) {
			if (type == MBATCH_A_MSG)
				index++;
			continue;
		}
		if (type != MBATCH_A_MSG) {
			snprintf(buf, len, "attribute %s",
				 mb_attr_name(MB_SET_MAIN, type));
			return;
		}
		nla_for_each_nested(b, a, rem2) {
			uint32_t s2 = (char *)b - (char *)hdr;

			if (offs >= s2 && offs < s2 + NLA_ALIGN(b->nla_len))
				inner = mb_attr_name(MB_SET_MSG, nla_type(b));
		}
		if (nl->origin) {
			nl->origin(index, origin, sizeof(origin) - 2,
				   nl->origin_arg);
			strcat(origin, ": ");
		}
		snprintf(buf, len, "%smessage %u%s%s", origin, index,
			 inner ? ", attribute " : "", inner ? inner : "");
		return;
	}
}

static bool req_has_handle(struct mb_nl *nl)
{
	struct nlattr *a;
	int rem;

	if (!nl->req)
		return false;
	mb_for_each_attr(a, nlmsg_hdr(nl->req), rem)
		if (nla_type(a) == MBATCH_A_SESSION_HANDLE)
			return true;
	return false;
}

/*
 * An EPERM of a request that only a session's owner may send, for want of
 * the right handle (the kernel's message names the handle; a peer's
 * session or a missing capability are refused otherwise).
 */
static bool owner_refusal(struct mb_nl *nl)
{
	uint8_t cmd;

	if (!nl->req || !strstr(nl->extack, "handle"))
		return false;
	cmd = genlmsg_hdr(nlmsg_hdr(nl->req))->cmd;
	return cmd == MBATCH_CMD_SUBMIT || cmd == MBATCH_CMD_COLLECT ||
	       cmd == MBATCH_CMD_RESUME || cmd == MBATCH_CMD_BATCH_CANCEL ||
	       cmd == MBATCH_CMD_SESSION_CLOSE;
}

/*
 * Parses the extended ACK TLVs (libnl 3.7 has no helper) and reports the
 * error as "mbatchctl: <cmd>: <strerror>: <kernel message> (<where>)".
 */
static void report_error(struct mb_nl *nl, int error, struct nlattr *tlvs,
			 int tlvlen)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { NULL };
	char where[256] = "", what[320] = "";
	const char *msg = NULL;

	if (tlvs && tlvlen > 0)
		nla_parse(tb, NLMSGERR_ATTR_MAX, tlvs, tlvlen, NULL);
	if (tb[NLMSGERR_ATTR_MSG]) {
		int n = strnlen(nla_data(tb[NLMSGERR_ATTR_MSG]),
				nla_len(tb[NLMSGERR_ATTR_MSG]));

		snprintf(nl->extack, sizeof(nl->extack), "%.*s", n,
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
		msg = nl->extack;
	}
	if (tb[NLMSGERR_ATTR_MISS_TYPE] &&
	    nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) >= 4) {
		uint32_t type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
		int set = MB_SET_MAIN;

		if (tb[NLMSGERR_ATTR_MISS_NEST] &&
		    nla_len(tb[NLMSGERR_ATTR_MISS_NEST]) >= 4) {
			describe_offs(nl,
				      nla_get_u32(tb[NLMSGERR_ATTR_MISS_NEST]),
				      where, sizeof(where));
			set = MB_SET_MSG;
		}
		snprintf(what, sizeof(what), "missing attribute %s%s%s",
			 mb_attr_name(set, type), where[0] ? " in " : "",
			 where);
	} else if (tb[NLMSGERR_ATTR_OFFS] &&
		   nla_len(tb[NLMSGERR_ATTR_OFFS]) >= 4) {
		describe_offs(nl, nla_get_u32(tb[NLMSGERR_ATTR_OFFS]), where,
			      sizeof(where));
		snprintf(what, sizeof(what), "%s", where);
	}
	if (what[0]) {
		size_t used = strlen(nl->extack);

		snprintf(nl->extack + used, sizeof(nl->extack) - used,
			 "%s(%s)", used ? " " : "", what);
		msg = nl->extack;
	}
	nl->err = error;
	if (error == nl->quiet_errno || nl->quiet)
		return;
	if (msg && msg[0] == '(')	/* only where, no kernel message */
		mb_err("%s %s", strerror(-error), msg);
	else if (msg)
		mb_err("%s: %s", strerror(-error), msg);
	else
		mb_err("%s", strerror(-error));
	if (error == -EPERM && owner_refusal(nl))
		fprintf(stderr, "mbatchctl: hint: %s\n", req_has_handle(nl) ?
			"that is not the handle of this session: give ID:HANDLE as 'session open' printed it" :
			"the session belongs to the socket that opened it: give it as ID:HANDLE, as 'session open' printed it");
	mb_json_error(MB_EXIT_KERNEL, -error, strerror(-error),
		      msg ? msg : "");
}

static int cb_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)err - 1;
	int ack_len = sizeof(*nlh) + sizeof(int) + sizeof(*nlh);
	struct mb_nl *nl = arg;
	int len = nlh->nlmsg_len;

	(void)nla;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		ack_len += err->msg.nlmsg_len - sizeof(*nlh);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && len > ack_len)
		report_error(nl, err->error,
			     (struct nlattr *)((char *)nlh + ack_len),
			     len - ack_len);
	else
		report_error(nl, err->error, NULL, 0);
	nl->done = true;
	return NL_STOP;
}

static int cb_ack(struct nl_msg *msg, void *arg)
{
	struct mb_nl *nl = arg;

	(void)msg;
	nl->done = true;
	return NL_STOP;
}

/* NLMSG_DONE of a dump: may carry the dump's error and extack. */
static int cb_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
	struct mb_nl *nl = arg;
	int error;

	nl->done = true;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
		return NL_STOP;
	memcpy(&error, nlmsg_data(nlh), sizeof(error));
	if (error >= 0)
		return NL_STOP;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && (int)nlh->nlmsg_len > hdr)
		report_error(nl, error, (struct nlattr *)((char *)nlh + hdr),
			     nlh->nlmsg_len - hdr);
	else
		report_error(nl, error, NULL, 0);
	return NL_STOP;
}

static int cb_intr(struct nl_msg *msg, void *arg)
{
	struct mb_nl *nl = arg;

	(void)msg;
	nl->intr = true;
	return NL_OK;
}

static int cb_seq(struct nl_msg *msg, void *arg)
{
	struct mb_nl *nl = arg;

	if (!nl->req || nlmsg_hdr(msg)->nlmsg_seq !=
	    nlmsg_hdr(nl->req)->nlmsg_seq)
		return NL_SKIP;	/* stale reply of an earlier request */
	return NL_OK;
}

static int cb_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MBATCH_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct mb_nl *nl = arg;
	int rc;

	if (nl->rc)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, MBATCH_A_MAX, main_policy)) {
		mb_err("malformed reply from the kernel");
		nl->rc = MB_EXIT_LOCAL;
		return NL_SKIP;
	}
	if (nl->fn) {
		rc = nl->fn(nlh, tb, nl->arg);
		if (rc)
			nl->rc = rc;
	}
	return NL_OK;
}

static void set_buf(int fd, int force, int normal, int size)
{
	if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, normal, &size, sizeof(size));
}

int mb_nl_open(struct mb_nl *nl)
{
	socklen_t sl = sizeof(nl->sndbuf);
	int one = 1, fd, ret;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	nl->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nl->sk || !nl->cb) {
		mb_err("out of memory");
		goto err;
	}
	ret = genl_connect(nl->sk);
	if (ret) {
		mb_err("cannot connect to generic netlink: %s",
		       nl_geterror(ret));
		mb_json_error(MB_EXIT_LOCAL, 0, nl_geterror(ret), NULL);
		goto err;
	}
	fd = nl_socket_get_fd(nl->sk);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, MB_SOCK_BUF);
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, MB_SOCK_BUF);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &nl->sndbuf, &sl))
		nl->sndbuf = 0;
	nl_socket_enable_msg_peek(nl->sk);
	nl_socket_disable_auto_ack(nl->sk);

	nl->family = genl_ctrl_resolve(nl->sk, MBATCH_GENL_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND) {
			fprintf(stderr, "mbatch: kernel module not loaded (try: modprobe mbatch)\n");
			mb_json_error(MB_EXIT_NOMOD, ENOENT,
				      "kernel module not loaded (try: modprobe mbatch)",
				      NULL);
			mb_nl_close(nl);
			return MB_EXIT_NOMOD;
		}
		mb_err("cannot resolve the %s family: %s", MBATCH_GENL_NAME,
		       nl_geterror(nl->family));
		mb_json_error(MB_EXIT_LOCAL, 0, nl_geterror(nl->family), NULL);
		goto err;
	}

	nl_cb_err(nl->cb, NL_CB_CUSTOM, cb_error, nl);
	nl_cb_set(nl->cb, NL_CB_ACK, NL_CB_CUSTOM, cb_ack, nl);
	nl_cb_set(nl->cb, NL_CB_FINISH, NL_CB_CUSTOM, cb_finish, nl);
	nl_cb_set(nl->cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, cb_intr, nl);
	nl_cb_set(nl->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, cb_seq, nl);
	nl_cb_set(nl->cb, NL_CB_VALID, NL_CB_CUSTOM, cb_valid, nl);
	return MB_EXIT_OK;
err:
	mb_nl_close(nl);
	return MB_EXIT_LOCAL;
}

void mb_nl_close(struct mb_nl *nl)
{
	if (nl->cb)
		nl_cb_put(nl->cb);
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->cb = NULL;
	nl->sk = NULL;
}

struct nl_msg *mb_msg_new(struct mb_nl *nl, uint8_t cmd, int flags,
			  size_t size)
{
	struct nl_msg *msg;

	if (!(flags & NLM_F_DUMP))
		flags |= NLM_F_ACK;
	msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family,
				 0, flags, cmd, MBATCH_GENL_VERSION)) {
		mb_err("out of memory");
		exit(MB_EXIT_LOCAL);
	}
	return msg;
}

int mb_nl_request(struct mb_nl *nl, struct nl_msg *msg, mb_reply_fn fn,
		  void *arg, unsigned int flags)
{
	int attempt = 0, ret, rc;

again:
	nl->done = false;
	nl->intr = false;
	nl->err = 0;
	nl->rc = 0;
	nl->fn = fn;
	nl->arg = arg;
	nl->extack[0] = '\0';
	nl->req = msg;
	nlmsg_hdr(msg)->nlmsg_seq = NL_AUTO_SEQ;
	ret = nl_send_auto(nl->sk, msg);
	nl->last_seq = nlmsg_hdr(msg)->nlmsg_seq;
	if (ret < 0) {
		mb_err("cannot send the request: %s", nl_geterror(ret));
		mb_json_error(MB_EXIT_LOCAL, 0, nl_geterror(ret), NULL);
		rc = MB_EXIT_LOCAL;
		goto out;
	}
	while (!nl->done) {
		ret = nl_recvmsgs(nl->sk, nl->cb);
		if (ret < 0 && !nl->err && !nl->done &&
		    ret != -NLE_DUMP_INTR) {
			mb_err("netlink: %s", nl_geterror(ret));
			mb_json_error(MB_EXIT_LOCAL, 0, nl_geterror(ret), NULL);
			rc = MB_EXIT_LOCAL;
			goto out;
		}
	}
	if (nl->intr && !nl->err && (flags & MB_REQ_RETRY_INTR) &&
	    ++attempt < MB_DUMP_RETRIES) {
		if (fn) {
			rc = fn(NULL, NULL, arg);
			if (rc)
				goto out;
		}
		goto again;
	}
	if (nl->intr && !nl->err && (flags & MB_REQ_RETRY_INTR)) {
		mb_err("dump kept changing under us, giving up after %d tries",
		       attempt);
		rc = MB_EXIT_LOCAL;
		goto out;
	}
	rc = nl->err ? MB_EXIT_KERNEL : nl->rc;
out:
	nl->req = NULL;
	nlmsg_free(msg);
	return rc;
}

int mb_parse_msg(struct nlmsghdr *nlh, struct nlattr **tb)
{
	return genlmsg_parse(nlh, 0, tb, MBATCH_A_MAX, main_policy);
}

int mb_put_session(struct nl_msg *msg, const struct mb_sref *ref)
{
	if (nla_put_u32(msg, MBATCH_A_SESSION_ID, ref->id) ||
	    (ref->has_handle &&
	     nla_put_u64(msg, MBATCH_A_SESSION_HANDLE, ref->handle)))
		return -EMSGSIZE;
	return 0;
}

static int limits_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct mb_limits *l = arg;

	if (!nlh)
		return 0;
#define L(f, attr) do { if (tb[attr]) l->f = nla_get_u32(tb[attr]); } while (0)
	L(max_io, MBATCH_A_LIMIT_MAX_IO);
	L(max_zero, MBATCH_A_LIMIT_MAX_ZERO);
	L(batch_msgs, MBATCH_A_LIMIT_BATCH_MSGS);
	L(request_bytes, MBATCH_A_LIMIT_REQUEST_BYTES);
	L(reply_bytes, MBATCH_A_LIMIT_REPLY_BYTES);
	L(max_proxy_io, MBATCH_A_LIMIT_MAX_PROXY_IO);
#undef L
	if (tb[MBATCH_A_FEATURES])
		l->features = nla_get_u64(tb[MBATCH_A_FEATURES]);
	return 0;
}

int mb_nl_limits(struct mb_nl *nl)
{
	struct mb_limits l = {
		.max_io = MBATCH_MAX_IO_LEN,
		.max_zero = MBATCH_MAX_ZERO_LEN,
		.batch_msgs = MBATCH_MAX_BATCH_MSGS,
	};
	int rc;

	if (nl->have_limits)
		return MB_EXIT_OK;
	rc = mb_nl_request(nl, mb_msg_new(nl, MBATCH_CMD_VERSION_GET, 0, 0),
			   limits_reply, &l, 0);
	if (rc)
		return rc;
	/* proxied payloads only where the module has regions */
	if (!(l.features & MBATCH_FEAT_REGIONS))
		l.max_proxy_io = 0;
	else if (!l.max_proxy_io)
		l.max_proxy_io = MBATCH_MAX_PROXY_IO_LEN;
	nl->limits = l;
	nl->have_limits = true;
	return MB_EXIT_OK;
}

bool mb_ready_take(struct mb_nl *nl, struct nlmsghdr *nlh, uint32_t seq,
		   uint32_t sid, uint64_t cseq, struct mb_ready *r)
{
	struct nlattr *tb[MBATCH_A_MAX + 1];

	if (nlh->nlmsg_type != nl->family ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
	    genlmsg_hdr(nlh)->cmd != MBATCH_CMD_COLLECT_READY_NTF)
		return false;
	if (nlh->nlmsg_seq != seq || mb_parse_msg(nlh, tb) ||
	    !tb[MBATCH_A_SESSION_ID] ||
	    nla_get_u32(tb[MBATCH_A_SESSION_ID]) != sid ||
	    (cseq && tb[MBATCH_A_COLLECT_SEQ] &&
	     nla_get_u64(tb[MBATCH_A_COLLECT_SEQ]) != cseq)) {
		r->stale++;
		return true;
	}
	r->seen = true;
	r->timed_out = tb[MBATCH_A_COLLECT_TIMED_OUT] != NULL;
	if (tb[MBATCH_A_COLLECT_SEQ])
		r->collect_seq = nla_get_u64(tb[MBATCH_A_COLLECT_SEQ]);
	if (tb[MBATCH_A_COLLECT_PENDING])
		r->pending = nla_get_u32(tb[MBATCH_A_COLLECT_PENDING]);
	if (tb[MBATCH_A_SESSION_DONE_EPOCH])
		r->done_epoch = nla_get_u64(tb[MBATCH_A_SESSION_DONE_EPOCH]);
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mb_nl_wait_ready(struct mb_nl *nl, uint32_t seq, uint32_t sid,
		     uint64_t cseq, int ms, struct mb_ready *r)
{
	static unsigned char buf[64 << 10];
	int fd = nl_socket_get_fd(nl->sk);
	int64_t end = now_ms() + ms;

	while (!r->seen) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		struct nlmsghdr *h;
		ssize_t n;
		int len;

		if (left < 0) {
			/* Lost (a full receive queue): collect again anyway. */
			r->lost = true;
			r->timed_out = true;
			return 0;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		/* a datagram too large for buf is a stale dump part: drop it */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			mb_err("netlink: %s", strerror(errno));
			mb_json_error(MB_EXIT_LOCAL, errno, strerror(errno),
				      NULL);
			return MB_EXIT_LOCAL;
		}
		len = (int)n;
		for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, len);
		     h = nlmsg_next(h, &len))
			if (mb_ready_take(nl, h, seq, sid, cseq, r) && r->seen)
				break;
	}
	return MB_EXIT_OK;
}

static int cb_any_seq(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;	/* notifications carry no sequence of ours */
}

static int cb_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MBATCH_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct mb_events *ev = arg;

	if (nlh->nlmsg_type != ev->nl.family ||
	    mb_parse_msg(nlh, tb))
		return NL_SKIP;
	ev->fn(genlmsg_hdr(nlh)->cmd, tb, ev->arg);
	return NL_OK;
}

int mb_events_open(struct mb_events *ev, mb_event_fn fn, void *arg)
{
	int rc, grp, ret;

	memset(ev, 0, sizeof(*ev));
	ev->fn = fn;
	ev->arg = arg;
	rc = mb_nl_open(&ev->nl);
	if (rc)
		return rc;
	grp = genl_ctrl_resolve_grp(ev->nl.sk, MBATCH_GENL_NAME,
				    MBATCH_MCGRP_EVENTS);
	if (grp < 0) {
		mb_err("cannot find the %s group: %s", MBATCH_MCGRP_EVENTS,
		       nl_geterror(grp));
		mb_json_error(MB_EXIT_LOCAL, 0, nl_geterror(grp), NULL);
		mb_nl_close(&ev->nl);
		return MB_EXIT_LOCAL;
	}
	ret = nl_socket_add_membership(ev->nl.sk, grp);
	if (ret) {
		bool perm = ret == -NLE_PERM;

		mb_err("cannot join the %s group: %s%s", MBATCH_MCGRP_EVENTS,
		       nl_geterror(ret), perm ? " (needs CAP_NET_ADMIN)" : "");
		mb_json_error(perm ? MB_EXIT_KERNEL : MB_EXIT_LOCAL,
			      perm ? EPERM : 0, nl_geterror(ret), NULL);
		mb_nl_close(&ev->nl);
		return perm ? MB_EXIT_KERNEL : MB_EXIT_LOCAL;
	}
	ev->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!ev->cb) {
		mb_err("out of memory");
		mb_nl_close(&ev->nl);
		return MB_EXIT_LOCAL;
	}
	nl_cb_set(ev->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, cb_any_seq, NULL);
	nl_cb_set(ev->cb, NL_CB_VALID, NL_CB_CUSTOM, cb_event, ev);
	nl_socket_disable_seq_check(ev->nl.sk);
	nl_socket_set_nonblocking(ev->nl.sk);
	return MB_EXIT_OK;
}

int mb_events_fd(struct mb_events *ev)
{
	return nl_socket_get_fd(ev->nl.sk);
}

int mb_events_read(struct mb_events *ev)
{
	int ret;

	for (;;) {
		ret = nl_recvmsgs(ev->nl.sk, ev->cb);
		if (ret >= 0)
			continue;
		if (ret == -NLE_AGAIN)
			return MB_EXIT_OK;
		if (ret == -NLE_NOMEM) {	/* ENOBUFS: events were lost */
			ev->overruns++;
			continue;
		}
		if (ret == -NLE_INTR)
			continue;
		mb_err("events: %s", nl_geterror(ret));
		return MB_EXIT_LOCAL;
	}
}

void mb_events_close(struct mb_events *ev)
{
	if (ev->cb)
		nl_cb_put(ev->cb);
	ev->cb = NULL;
	mb_nl_close(&ev->nl);
}
