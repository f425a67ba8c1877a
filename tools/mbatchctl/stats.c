// SPDX-License-Identifier: GPL-2.0
/* mbatchctl stats [QUEUE] [session ID] */
#include <stdio.h>
#include <string.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

static const char *const stat_names[] = {
	[MBATCH_STATS_A_SUBMITTED] = "submitted",
	[MBATCH_STATS_A_COMPLETED] = "completed",
	[MBATCH_STATS_A_FAILED] = "failed",
	[MBATCH_STATS_A_CANCELLED] = "cancelled",
	[MBATCH_STATS_A_REORDERED] = "reordered",
	[MBATCH_STATS_A_MERGED] = "merged",
	[MBATCH_STATS_A_CHECKPOINTS] = "checkpoints",
	[MBATCH_STATS_A_FLUSHES] = "flushes",
	[MBATCH_STATS_A_BYTES_READ] = "bytes_read",
	[MBATCH_STATS_A_BYTES_WRITTEN] = "bytes_written",
	[MBATCH_STATS_A_INFLIGHT] = "inflight",
	[MBATCH_STATS_A_QUEUED] = "queued",
	[MBATCH_STATS_A_QUEUED_BYTES] = "queued_bytes",
	[MBATCH_STATS_A_REJECTED] = "rejected",
	[MBATCH_STATS_A_NOT_SENT] = "not_sent",
	[MBATCH_STATS_A_UNKNOWN] = "unknown",
};

struct json_object *mb_stats_json(struct nlattr *nest)
{
	struct nlattr *tb[MBATCH_STATS_A_MAX + 1];
	struct json_object *o = json_object_new_object();
	unsigned int i;

	if (mb_parse_stats(nest, tb))
		return o;
	for (i = 0; i < ARRAY_SIZE(stat_names); i++)
		if (stat_names[i] && tb[i])
			mb_jadd_u64(o, stat_names[i], nla_get_u64(tb[i]));
	return o;
}

void mb_stats_print(struct json_object *stats, const char *indent)
{
	unsigned int i, col = 0;

	for (i = 0; i < ARRAY_SIZE(stat_names); i++) {
		if (!stat_names[i] ||
		    !json_object_object_get_ex(stats, stat_names[i], NULL))
			continue;
		printf("%s%-14s %-14llu", col ? "  " : indent, stat_names[i],
		       (unsigned long long)mb_jget_u64(stats, stat_names[i]));
		if (++col == 3) {
			putchar('\n');
			col = 0;
		}
	}
	if (col)
		putchar('\n');
}

static void print_objs(struct json_object *arr, const char *what,
		       const char *key)
{
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct json_object *st;

		printf("%s %s\n", what, mb_jget_str(o, key));
		if (json_object_object_get_ex(o, "stats", &st))
			mb_stats_print(st, "  ");
		else
			printf("  (no statistics)\n");
	}
}

/* Keeps only the name/id and the stats of each object. */
static struct json_object *strip(struct json_object *arr, const char *key)
{
	struct json_object *out = json_object_new_array();
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct json_object *n = json_object_new_object(), *v;

		if (json_object_object_get_ex(o, key, &v))
			json_object_object_add(n, key, json_object_get(v));
		if (!strcmp(key, "id") &&
		    json_object_object_get_ex(o, "queue", &v))
			json_object_object_add(n, "queue", json_object_get(v));
		if (json_object_object_get_ex(o, "stats", &v))
			json_object_object_add(n, "stats", json_object_get(v));
		json_object_array_add(out, n);
	}
	json_object_put(arr);
	return out;
}

int cmd_stats(int argc, char **argv)
{
	struct json_object *queues = NULL, *sessions = NULL;
	const char *queue = NULL;
	uint32_t sid = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "session")) {
			if (i + 1 >= argc)
				return mb_usage("stats: session needs an ID");
			rc = mb_parse_session_id(argv[++i], &sid);
			if (rc)
				return rc;
		} else if (!queue) {
			queue = argv[i];
		} else {
			return mb_usage("stats [QUEUE] [session ID]");
		}
	}
	if (queue || !sid) {
		rc = mb_queue_get(queue, &queues);
		queues = strip(queues, "name");
	}
	if (!rc && sid) {
		rc = mb_session_get(sid, NULL, &sessions);
		sessions = strip(sessions, "id");
	}
	if (!rc && mb_json) {
		if (queues)
			json_object_object_add(mb_json_root(), "queues",
					       json_object_get(queues));
		if (sessions)
			json_object_object_add(mb_json_root(), "sessions",
					       json_object_get(sessions));
	} else if (!rc) {
		if (queues)
			print_objs(queues, "queue", "name");
		if (sessions)
			print_objs(sessions, "session", "id");
	}
	json_object_put(queues);
	json_object_put(sessions);
	return rc;
}
