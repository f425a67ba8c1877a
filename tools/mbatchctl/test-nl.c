// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the request helper (nl.c) without the mbatch module: the
 * same code talks to the always-present "nlctrl" family, which exercises
 * do requests with ACK, multipart dumps, NLMSG_ERROR with an extended ACK
 * (message and offset) and errors of a dump's start. Output: TAP.
 */
#include <linux/mbatch.h>
#undef MBATCH_GENL_NAME
#define MBATCH_GENL_NAME "nlctrl"
#undef MBATCH_MCGRP_EVENTS
#define MBATCH_MCGRP_EVENTS "notify"

#include <stdarg.h>
#include <linux/genetlink.h>

#include "nl.c"

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
	printf("1..%d\n# %d passed, %d failed\n", n, n - failed, failed);
	return failed ? 1 : 0;
}
