// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the request helper (nl.c) without the mbatch module: the
 * same code talks to the always-present "nlctrl" family, which exercises
 * do requests with ACK, multipart dumps, NLMSG_ERROR with an extended ACK
 * (message and offset) and errors of a dump's start; then the rendering of
 * a peer reply built here, QUEUE@PEER splitting and the events socket
 * (nlctrl's "notify" group). Output: TAP.
 */
#include <linux/mbatch.h>
#undef MBATCH_GENL_NAME
#define MBATCH_GENL_NAME "nlctrl"
#undef MBATCH_MCGRP_EVENTS
#define MBATCH_MCGRP_EVENTS "notify"

#include <stdarg.h>
#include <linux/genetlink.h>

#include "nl.c"
#include "peer.c"

const char *mb_cmdname = "test";
static char last_err[1024];

void mb_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# mbatchctl: %s: %s\n", mb_cmdname, last_err);
}

int mb_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
	return MB_EXIT_USAGE;
}

/* not under test here */
int mb_sub_dispatch(const struct mb_cmd *tab, size_t n, const char *group,
		    int argc, char **argv)
{
	(void)tab;
	(void)n;
	(void)group;
	(void)argc;
	(void)argv;
	return MB_EXIT_USAGE;
}

struct json_object *mb_stats_json(struct nlattr *nest)
{
	(void)nest;
	return json_object_new_object();
}

static int n, failed;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
}

static int count_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	int *count = arg;

	(void)tb;
	if (nlh)
		(*count)++;
	return 0;
}

static void no_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	(void)tb;
	(*(int *)arg)++;
}

int main(void)
{
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc, count;

	/* nlctrl replies are not mbatch attributes: accept any */
	memset(main_policy, 0, sizeof(main_policy));
	rc = mb_nl_open(&nl);
	check(rc == 0 && nl.family == GENL_ID_CTRL, "open and resolve a family");
	if (rc)
		return 1;
	check(nl.sndbuf >= 256 << 10, "send buffer raised");

	count = 0;
	msg = mb_msg_new(&nl, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	rc = mb_nl_request(&nl, msg, count_reply, &count, 0);
	check(rc == 0 && count == 1, "do request: one reply, then the ACK");

	count = 0;
	msg = mb_msg_new(&nl, CTRL_CMD_GETFAMILY, NLM_F_DUMP, 0);
	rc = mb_nl_request(&nl, msg, count_reply, &count, MB_REQ_RETRY_INTR);
	check(rc == 0 && count > 2, "multipart dump until NLMSG_DONE");

	msg = mb_msg_new(&nl, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "no-such-family");
	rc = mb_nl_request(&nl, msg, NULL, NULL, 0);
	check(rc == MB_EXIT_KERNEL && nl.err == -ENOENT, "kernel error -> exit 1");
	check(strstr(last_err, strerror(ENOENT)) != NULL, "  strerror printed");

	/* a name longer than the policy allows: policy message and offset */
	msg = mb_msg_new(&nl, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_u16(msg, CTRL_ATTR_FAMILY_ID, GENL_ID_CTRL);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME,
		       "a-family-name-longer-than-the-policy-allows");
	rc = mb_nl_request(&nl, msg, NULL, NULL, 0);
	check(rc == MB_EXIT_KERNEL && nl.err < 0, "policy violation refused");
	check(nl.extack[0] != '\0', "  extended ACK message parsed");
	check(strstr(nl.extack, "(attribute ") != NULL,
	      "  offending attribute located from NLMSGERR_ATTR_OFFS");

	/* the start of a dump fails with a bad attribute */
	msg = mb_msg_new(&nl, CTRL_CMD_GETPOLICY, NLM_F_DUMP, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	nla_put_u32(msg, CTRL_ATTR_OP, 200);
	rc = mb_nl_request(&nl, msg, NULL, NULL, 0);
	check(rc == MB_EXIT_KERNEL && nl.err < 0, "dump start error -> exit 1");
	check(strstr(nl.extack, "(attribute ") != NULL,
	      "  its offset is located");

	/* the socket still works after errors */
	count = 0;
	msg = mb_msg_new(&nl, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	rc = mb_nl_request(&nl, msg, count_reply, &count, 0);
	check(rc == 0 && count == 1, "requests after errors stay in sequence");

	mb_nl_close(&nl);

	/* a PEER_GET reply as the kernel builds it, rendered as JSON */
	{
		struct nlattr *tb[MBATCH_A_MAX + 1], *nest;
		struct json_object *p, *st, *v;

		msg = nlmsg_alloc();
		genlmsg_put(msg, 0, 0, 0x20, 0, 0, MBATCH_CMD_PEER_GET, 1);
		nla_put_string(msg, MBATCH_A_PEER_NAME, "nodeb");
		nla_put_string(msg, MBATCH_A_PEER_ADDR, "[fe80::1]:7389");
		nla_put_string(msg, MBATCH_A_PEER_PSK_FILE, "/etc/mbatch/ab.psk");
		nla_put_u32(msg, MBATCH_A_PEER_STATE, MBATCH_PEER_UP);
		nla_put_u32(msg, MBATCH_A_PEER_DIGEST, MBATCH_DIGEST_ALL);
		nla_put_u32(msg, MBATCH_A_PEER_KEEPALIVE_MS, 1000);
		nla_put_u32(msg, MBATCH_A_PEER_LINK_TIMEOUT_MS, 15000);
		nla_put_u32(msg, MBATCH_A_PEER_RTT_US, 87);
		nest = nla_nest_start(msg, MBATCH_A_PEER_STATS);
		nla_put_u64(msg, MBATCH_PEER_STATS_A_TX_BYTES, 1ULL << 40);
		nla_put_u64(msg, MBATCH_PEER_STATS_A_RECONNECTS, 2);
		nla_put_u64(msg, MBATCH_PEER_STATS_A_RX_CREDITS, 4096);
		nla_nest_end(msg, nest);
		nla_put_string(msg, MBATCH_A_LINK_REASON, "keepalive timeout");
		nla_put_u32(msg, MBATCH_A_LINK_ERROR, (uint32_t)-ETIMEDOUT);
		rc = mb_parse_msg(nlmsg_hdr(msg), tb);
		p = rc ? NULL : peer_json(tb);
		check(p && !strcmp(mb_jget_str(p, "name"), "nodeb") &&
		      !strcmp(mb_jget_str(p, "state"), "up") &&
		      !strcmp(mb_jget_str(p, "addr"), "[fe80::1]:7389") &&
		      mb_jget_u64(p, "rtt_us") == 87 &&
		      mb_jget_u64(p, "link_timeout_ms") == 15000,
		      "peer reply: name, state, address, rtt, timeouts");
		check(p && json_object_object_get_ex(p, "stats", &st) &&
		      mb_jget_u64(st, "tx_bytes") == 1ULL << 40 &&
		      mb_jget_u64(st, "reconnects") == 2 &&
		      mb_jget_u64(st, "rx_credits") == 4096 &&
		      !json_object_object_get_ex(st, "drops", NULL),
		      "  peer stats nest: u64 counters, absent ones left out");
		check(p && json_object_object_get_ex(p, "digests", &v) &&
		      json_object_array_length(v) == 2 &&
		      json_object_object_get_ex(p, "last_down", &v) &&
		      mb_jget_s64(v, "error") == -ETIMEDOUT &&
		      !strcmp(mb_jget_str(v, "reason"), "keepalive timeout"),
		      "  digests and the last down reason");
		json_object_put(p);
		nlmsg_free(msg);
		check(!strcmp(mb_status_str(-ESTALE), strerror(ESTALE)) &&
		      !strcmp(mb_status_str(-EIO), strerror(EIO)),
		      "statuses read as strerror");
		check(!strcmp(mb_outcome_name(MBATCH_OUTCOME_DONE), "done") &&
		      !strcmp(mb_outcome_name(MBATCH_OUTCOME_CANCELLED), "cancelled") &&
		      !strcmp(mb_outcome_name(MBATCH_OUTCOME_NOT_SENT), "not-sent") &&
		      !strcmp(mb_outcome_name(MBATCH_OUTCOME_UNKNOWN), "unknown") &&
		      !strcmp(mb_outcome_name(0), "-"),
		      "outcome names");
	}
	{
		struct mb_sref r;

		check(!mb_parse_session_ref("7", &r) && r.id == 7 &&
		      !r.has_handle, "session ID");
		check(!mb_parse_session_ref("7:00ff00ff00ff00ff", &r) &&
		      r.id == 7 && r.has_handle &&
		      r.handle == 0x00ff00ff00ff00ffULL &&
		      !mb_parse_session_ref("12:0xABC", &r) && r.id == 12 &&
		      r.handle == 0xabc, "  ID:HANDLE, hex with or without 0x");
		check(mb_parse_session_ref("7:", &r) == MB_EXIT_USAGE &&
		      mb_parse_session_ref("7:xyz", &r) == MB_EXIT_USAGE &&
		      mb_parse_session_ref("7:0", &r) == MB_EXIT_USAGE &&
		      mb_parse_session_ref("7:10000000000000000", &r) ==
		      MB_EXIT_USAGE &&
		      mb_parse_session_ref(":1", &r) == MB_EXIT_USAGE &&
		      mb_parse_session_ref("0:1", &r) == MB_EXIT_USAGE &&
		      mb_parse_session_ref("7:-1", &r) == MB_EXIT_USAGE,
		      "  bad handles and ids refused");
	}
	{
		/* COLLECT_READY_NTF: the one of our request, or skipped */
		struct mb_nl fake = { .family = 0x20 };
		struct mb_ready r = { 0 };
		struct nl_msg *m[4];
		int i;

		for (i = 0; i < 4; i++) {
			m[i] = nlmsg_alloc();
			genlmsg_put(m[i], 0, i == 1 ? 99 : 42, 0x20, 0, 0,
				    i == 3 ? MBATCH_CMD_CHECKPOINT_NTF :
				    MBATCH_CMD_COLLECT_READY_NTF, 2);
			nla_put_u32(m[i], MBATCH_A_SESSION_ID, i == 2 ? 8 : 7);
			nla_put_u64(m[i], MBATCH_A_COLLECT_SEQ, 5);
			nla_put_u32(m[i], MBATCH_A_COLLECT_PENDING, 3);
			nla_put_flag(m[i], MBATCH_A_COLLECT_TIMED_OUT);
		}
		check(mb_ready_take(&fake, nlmsg_hdr(m[1]), 42, 7, 5, &r) &&
		      mb_ready_take(&fake, nlmsg_hdr(m[2]), 42, 7, 5, &r) &&
		      !r.seen && r.stale == 2,
		      "ready: another request's or session's is stale");
		check(!mb_ready_take(&fake, nlmsg_hdr(m[3]), 42, 7, 5, &r) &&
		      !r.seen, "  other messages are not taken");
		check(mb_ready_take(&fake, nlmsg_hdr(m[0]), 42, 7, 5, &r) &&
		      r.seen && r.timed_out && r.pending == 3 &&
		      r.collect_seq == 5, "  ours: timed out, pending");
		for (i = 0; i < 4; i++)
			nlmsg_free(m[i]);
	}
	{
		char q[MBATCH_QUEUE_NAME_MAX], pe[MBATCH_PEER_NAME_MAX];

		check(!mb_split_remote("q0@nodeb", q, pe) && !strcmp(q, "q0") &&
		      !strcmp(pe, "nodeb"), "QUEUE@PEER split");
		check(!mb_split_remote("q0", q, pe) && !strcmp(q, "q0") &&
		      !pe[0], "  a local queue has no peer");
		check(mb_split_remote("q0@", q, pe) == MB_EXIT_USAGE &&
		      mb_split_remote("@nodeb", q, pe) == MB_EXIT_USAGE &&
		      mb_split_remote("q0@a@b", q, pe) == MB_EXIT_USAGE,
		      "  empty parts and a second @ refused");
	}

	/* the events socket: joins the group, reads without blocking */
	{
		struct mb_events ev;

		rc = mb_events_open(&ev, no_event, &count);
		check(rc == 0, "events: group resolved and joined");
		if (!rc) {
			check(mb_events_read(&ev) == 0,
			      "  nothing queued: returns at once");
			mb_events_close(&ev);
		}
	}
	printf("1..%d\n# %d passed, %d failed, 0 skipped\n", n, n - failed,
	       failed);
	return failed ? 1 : 0;
}
