// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl monitor [--count N] [--timeout MS]: prints the notifications of
 * the "events" group (checkpoints, halts, links up and down), one per
 * line; JSON Lines with --json.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

struct monitor {
	uint64_t count;		/* stop after this many, 0: never */
	uint64_t seen;
	int rc;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *str_attr(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_string(tb[type]) : "";
}

/* The status of a checkpoint's result nest, 0 if none. */
static int32_t result_status(struct nlattr **tb)
{
	struct nlattr *rt[MBATCH_RESULT_A_MAX + 1];

	if (!tb[MBATCH_A_RESULT] || mb_parse_result(tb[MBATCH_A_RESULT], rt) ||
	    !rt[MBATCH_RESULT_A_STATUS])
		return 0;
	return (int32_t)nla_get_u32(rt[MBATCH_RESULT_A_STATUS]);
}

static void print_json(uint8_t cmd, struct nlattr **tb)
{
	struct json_object *o = json_object_new_object();
	int32_t err;

	switch (cmd) {
	case MBATCH_CMD_CHECKPOINT_NTF:
		mb_jadd_str(o, "event", "checkpoint");
		mb_jadd_str(o, "queue", str_attr(tb, MBATCH_A_QUEUE_NAME));
		if (tb[MBATCH_A_PEER_NAME])
			mb_jadd_str(o, "peer", str_attr(tb, MBATCH_A_PEER_NAME));
		if (tb[MBATCH_A_SESSION_ID])
			mb_jadd_u64(o, "session",
				    nla_get_u32(tb[MBATCH_A_SESSION_ID]));
		if (tb[MBATCH_A_SESSION_EPOCH])
			mb_jadd_u64(o, "epoch",
				    nla_get_u64(tb[MBATCH_A_SESSION_EPOCH]));
		mb_jadd_s64(o, "status", result_status(tb));
		break;
	case MBATCH_CMD_SESSION_HALT_NTF:
		mb_jadd_str(o, "event", "halt");
		mb_jadd_str(o, "queue", str_attr(tb, MBATCH_A_QUEUE_NAME));
		if (tb[MBATCH_A_PEER_NAME])
			mb_jadd_str(o, "peer", str_attr(tb, MBATCH_A_PEER_NAME));
		if (tb[MBATCH_A_SESSION_ID])
			mb_jadd_u64(o, "session",
				    nla_get_u32(tb[MBATCH_A_SESSION_ID]));
		err = tb[MBATCH_A_SESSION_ERROR] ?
			(int32_t)nla_get_u32(tb[MBATCH_A_SESSION_ERROR]) : 0;
		mb_jadd_s64(o, "error", err);
		mb_jadd_str(o, "message", err ? mb_status_str(err) : "");
		break;
	case MBATCH_CMD_LINK_UP_NTF:
		mb_jadd_str(o, "event", "link-up");
		mb_jadd_str(o, "peer", str_attr(tb, MBATCH_A_PEER_NAME));
		break;
	case MBATCH_CMD_LINK_DOWN_NTF:
		mb_jadd_str(o, "event", "link-down");
		mb_jadd_str(o, "peer", str_attr(tb, MBATCH_A_PEER_NAME));
		mb_jadd_str(o, "reason", str_attr(tb, MBATCH_A_LINK_REASON));
		mb_jadd_s64(o, "error", tb[MBATCH_A_LINK_ERROR] ?
			    (int32_t)nla_get_u32(tb[MBATCH_A_LINK_ERROR]) : 0);
		break;
	default:
		mb_jadd_str(o, "event", "unknown");
		mb_jadd_u64(o, "cmd", cmd);
		break;
	}
	printf("%s\n", json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(uint8_t cmd, struct nlattr **tb)
{
	char where[2 * MBATCH_PEER_NAME_MAX + 8];
	int32_t err;

	snprintf(where, sizeof(where), "%s%s%s",
		 str_attr(tb, MBATCH_A_QUEUE_NAME),
		 tb[MBATCH_A_PEER_NAME] ? "@" : "",
		 str_attr(tb, MBATCH_A_PEER_NAME));
	switch (cmd) {
	case MBATCH_CMD_CHECKPOINT_NTF:
		err = result_status(tb);
		printf("checkpoint queue %s session %u epoch %llu %s\n", where,
		       tb[MBATCH_A_SESSION_ID] ?
		       nla_get_u32(tb[MBATCH_A_SESSION_ID]) : 0,
		       tb[MBATCH_A_SESSION_EPOCH] ? (unsigned long long)
		       nla_get_u64(tb[MBATCH_A_SESSION_EPOCH]) : 0ULL,
		       err ? mb_status_str(err) : "ok");
		break;
	case MBATCH_CMD_SESSION_HALT_NTF:
		err = tb[MBATCH_A_SESSION_ERROR] ?
			(int32_t)nla_get_u32(tb[MBATCH_A_SESSION_ERROR]) : 0;
		printf("halt queue %s session %u error %d (%s)\n", where,
		       tb[MBATCH_A_SESSION_ID] ?
		       nla_get_u32(tb[MBATCH_A_SESSION_ID]) : 0, err,
		       mb_status_str(err));
		break;
	case MBATCH_CMD_LINK_UP_NTF:
		printf("link-up peer %s\n", str_attr(tb, MBATCH_A_PEER_NAME));
		break;
	case MBATCH_CMD_LINK_DOWN_NTF:
		err = tb[MBATCH_A_LINK_ERROR] ?
			(int32_t)nla_get_u32(tb[MBATCH_A_LINK_ERROR]) : 0;
		printf("link-down peer %s reason \"%s\" error %d (%s)\n",
		       str_attr(tb, MBATCH_A_PEER_NAME),
		       str_attr(tb, MBATCH_A_LINK_REASON), err,
		       err ? strerror(-err) : "none");
		break;
	default:
		printf("unknown event %u\n", cmd);
		break;
	}
}

static void on_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct monitor *m = arg;

	if (m->count && m->seen >= m->count)
		return;	/* the rest of the last read */
	if (mb_json)
		print_json(cmd, tb);
	else
		print_text(cmd, tb);
	if (fflush(stdout))
		m->rc = MB_EXIT_LOCAL;
	m->seen++;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct monitor m = { 0 };
	struct mb_events ev;
	long long deadline = 0;
	uint32_t timeout = 0;
	unsigned int lost = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			mb_json = true;
		} else if (!strcmp(argv[i], "--count") && v) {
			if (mb_parse_u64(v, &m.count) || !m.count)
				return mb_usage("bad count '%s'", v);
			i++;
		} else if (!strcmp(argv[i], "--timeout") && v) {
			if (mb_parse_u32(v, &timeout) || !timeout)
				return mb_usage("bad timeout '%s'", v);
			i++;
		} else {
			return mb_usage("monitor [--json] [--count N] [--timeout MS]");
		}
	}
	rc = mb_events_open(&ev, on_event, &m);
	if (rc)
		return rc;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (timeout)
		deadline = now_ms() + timeout;
	while (!stop && !m.rc && (!m.count || m.seen < m.count)) {
		struct pollfd pfd = { .fd = mb_events_fd(&ev), .events = POLLIN };
		int wait = -1;

		if (deadline) {
			long long left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno != EINTR) {
			mb_err("poll: %s", strerror(errno));
			m.rc = MB_EXIT_LOCAL;
		} else if (rc > 0) {
			m.rc = mb_events_read(&ev);
			if (ev.overruns != lost) {
				mb_err("events were lost (receive buffer full)");
				lost = ev.overruns;
			}
		}
	}
	mb_events_close(&ev);
	if (m.rc)
		return m.rc;
	if (!stop && m.count && m.seen >= m.count)
		return 0;
	if (!stop && deadline) {
		fprintf(stderr, "mbatchctl: monitor: timeout after %u ms, %llu events\n",
			timeout, (unsigned long long)m.seen);
		return MB_EXIT_TIMEOUT;
	}
	return 0;
}
