// SPDX-License-Identifier: GPL-2.0
/* mbatchctl queue add|del|show */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= MBATCH_QUEUE_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return mb_usage("bad queue name '%s' (1 to %d of [A-Za-z0-9_.-])",
				name, MBATCH_QUEUE_NAME_MAX - 1);
	return 0;
}

/* A queue's journal: kind, dev (of its own), size, uuid, generation. */
static struct json_object *journal_json(struct nlattr **tb)
{
	struct json_object *j = json_object_new_object();
	uint32_t kind = nla_get_u32(tb[MBATCH_A_QUEUE_JOURNAL]);
	char uuid[37];

	mb_jadd_str(j, "kind", kind == MBATCH_JOURNAL_INTERNAL ? "internal" :
		    kind == MBATCH_JOURNAL_DEVICE ? "device" : "unknown");
	if (tb[MBATCH_A_QUEUE_JOURNAL_DEV])
		mb_jadd_str(j, "dev",
			    nla_get_string(tb[MBATCH_A_QUEUE_JOURNAL_DEV]));
	if (tb[MBATCH_A_QUEUE_JOURNAL_SIZE])
		mb_jadd_u64(j, "size",
			    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_SIZE]));
	if (tb[MBATCH_A_QUEUE_JOURNAL_UUID] &&
	    nla_len(tb[MBATCH_A_QUEUE_JOURNAL_UUID]) == 16) {
		mb_fmt_uuid(nla_data(tb[MBATCH_A_QUEUE_JOURNAL_UUID]), uuid,
			    sizeof(uuid));
		mb_jadd_str(j, "uuid", uuid);
	}
	if (tb[MBATCH_A_QUEUE_JOURNAL_GENERATION])
		mb_jadd_u64(j, "generation",
			    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_GENERATION]));
	if (tb[MBATCH_A_QUEUE_JOURNAL_LOG_SEQ] &&
	    tb[MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS] &&
	    tb[MBATCH_A_QUEUE_JOURNAL_LOG_ROOM]) {
		struct json_object *log = json_object_new_object();

		mb_jadd_u64(log, "seq",
			    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_SEQ]));
		mb_jadd_u64(log, "records",
			    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS]));
		mb_jadd_u64(log, "room",
			    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_ROOM]));
		if (tb[MBATCH_A_QUEUE_JOURNAL_LOG_WRITES])
			mb_jadd_u64(log, "writes",
				    nla_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_WRITES]));
		json_object_object_add(j, "log", log);
	}
	if (tb[MBATCH_A_QUEUE_JOURNAL_RESTORED])
		mb_jadd_u64(j, "restored",
			    nla_get_u32(tb[MBATCH_A_QUEUE_JOURNAL_RESTORED]));
	if (tb[MBATCH_A_QUEUE_JOURNAL_UNRESTORED])
		mb_jadd_u64(j, "unrestored",
			    nla_get_u32(tb[MBATCH_A_QUEUE_JOURNAL_UNRESTORED]));
	return j;
}

/* One queue object of a QUEUE_NEW/QUEUE_GET reply as JSON. */
static struct json_object *queue_json(struct nlattr **tb)
{
	struct json_object *q = json_object_new_object();

	mb_jadd_str(q, "name", tb[MBATCH_A_QUEUE_NAME] ?
		    nla_get_string(tb[MBATCH_A_QUEUE_NAME]) : NULL);
	mb_jadd_str(q, "dev", tb[MBATCH_A_QUEUE_DEV] ?
		    nla_get_string(tb[MBATCH_A_QUEUE_DEV]) : NULL);
	if (tb[MBATCH_A_QUEUE_DEPTH])
		mb_jadd_u64(q, "depth", nla_get_u32(tb[MBATCH_A_QUEUE_DEPTH]));
	if (tb[MBATCH_A_QUEUE_MAX_CMDS])
		mb_jadd_u64(q, "max_cmds",
			    nla_get_u32(tb[MBATCH_A_QUEUE_MAX_CMDS]));
	if (tb[MBATCH_A_QUEUE_MAX_BYTES])
		mb_jadd_u64(q, "max_bytes",
			    nla_get_u64(tb[MBATCH_A_QUEUE_MAX_BYTES]));
	if (tb[MBATCH_A_QUEUE_BLOCK_SIZE])
		mb_jadd_u64(q, "block_size",
			    nla_get_u32(tb[MBATCH_A_QUEUE_BLOCK_SIZE]));
	if (tb[MBATCH_A_QUEUE_CAPACITY])
		mb_jadd_u64(q, "capacity",
			    nla_get_u64(tb[MBATCH_A_QUEUE_CAPACITY]));
	if (tb[MBATCH_A_QUEUE_SESSIONS])
		mb_jadd_u64(q, "sessions",
			    nla_get_u32(tb[MBATCH_A_QUEUE_SESSIONS]));
	if (tb[MBATCH_A_QUEUE_JOURNAL])
		json_object_object_add(q, "journal", journal_json(tb));
	if (tb[MBATCH_A_STATS])
		json_object_object_add(q, "stats",
				       mb_stats_json(tb[MBATCH_A_STATS]));
	return q;
}

/* Reply callback collecting queue objects into a JSON array. */
static int queue_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct json_object *arr = arg;

	if (!nlh) {	/* dump restarted */
		json_object_array_del_idx(arr, 0,
					  json_object_array_length(arr));
		return 0;
	}
	json_object_array_add(arr, queue_json(tb));
	return 0;
}

/* Gets one queue (@name) or all; returns the array through @out. */
int mb_queue_get(const char *name, struct json_object **out)
{
	struct json_object *arr = json_object_new_array();
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc;

	*out = arr;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_QUEUE_GET, name ? 0 : NLM_F_DUMP, 0);
	if (name && nla_put_string(msg, MBATCH_A_QUEUE_NAME, name)) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, queue_reply, arr, MB_REQ_RETRY_INTR);
	mb_nl_close(&nl);
	return rc;
}

static int opt_u32(const char *k, const char *v, uint32_t *out, bool *has)
{
	if (mb_parse_u32(v, out))
		return mb_usage("queue add: bad %s '%s'", k, v);
	*has = true;
	return 0;
}

static int opt_size(const char *k, const char *v, uint64_t *out, bool *has)
{
	if (mb_parse_size(v, out))
		return mb_usage("queue add: bad %s '%s'", k, v);
	*has = true;
	return 0;
}

static int put_journal(struct nl_msg *msg, const char *journal)
{
	if (!strcmp(journal, "internal"))
		return nla_put_u32(msg, MBATCH_A_QUEUE_JOURNAL,
				   MBATCH_JOURNAL_INTERNAL);
	return nla_put_u32(msg, MBATCH_A_QUEUE_JOURNAL, MBATCH_JOURNAL_DEVICE) ||
	       nla_put_string(msg, MBATCH_A_QUEUE_JOURNAL_DEV, journal);
}

/* What queue add asked for, to compare with a queue that exists. */
struct qwant {
	const char *dev, *journal;
	uint32_t depth, max_cmds;
	uint64_t max_bytes, jsize;
	bool has_depth, has_cmds, has_bytes, has_jsize;
};

/* The same device: the same path, or the same block device. */
static bool same_dev(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && S_ISBLK(sa.st_mode) &&
	       S_ISBLK(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

/*
 * queue add --exist-ok: does the queue @q, which exists, have what @w asks
 * for? What @w leaves out is not compared. Prints the first difference.
 */
static bool queue_is_as_asked(const char *name, struct json_object *q,
			      const struct qwant *w)
{
	struct json_object *j = NULL;
	bool has_j = json_object_object_get_ex(q, "journal", &j);
	char b1[32], b2[32];

	if (!same_dev(mb_jget_str(q, "dev"), w->dev)) {
		mb_err("queue %s exists on %s, not %s", name,
		       mb_jget_str(q, "dev"), w->dev);
		return false;
	}
	if (w->has_depth && mb_jget_u64(q, "depth") != w->depth) {
		mb_err("queue %s exists with depth %llu, not %u", name,
		       (unsigned long long)mb_jget_u64(q, "depth"), w->depth);
		return false;
	}
	if (w->has_cmds && mb_jget_u64(q, "max_cmds") != w->max_cmds) {
		mb_err("queue %s exists with max-cmds %llu, not %u", name,
		       (unsigned long long)mb_jget_u64(q, "max_cmds"),
		       w->max_cmds);
		return false;
	}
	if (w->has_bytes && mb_jget_u64(q, "max_bytes") != w->max_bytes) {
		mb_err("queue %s exists with max-bytes %s, not %s", name,
		       mb_fmt_size(mb_jget_u64(q, "max_bytes"), b1, sizeof(b1)),
		       mb_fmt_size(w->max_bytes, b2, sizeof(b2)));
		return false;
	}
	if (!w->journal != !has_j) {
		mb_err("queue %s exists %s a journal", name,
		       has_j ? "with" : "without");
		return false;
	}
	if (!w->journal)
		return true;
	if (!strcmp(w->journal, "internal") ?
	    strcmp(mb_jget_str(j, "kind"), "internal") :
	    strcmp(mb_jget_str(j, "kind"), "device") ||
	    !same_dev(mb_jget_str(j, "dev"), w->journal)) {
		mb_err("queue %s exists with another journal (%s)", name,
		       strcmp(mb_jget_str(j, "kind"), "device") ?
		       mb_jget_str(j, "kind") : mb_jget_str(j, "dev"));
		return false;
	}
	if (w->has_jsize && mb_jget_u64(j, "size") != w->jsize) {
		mb_err("queue %s exists with a journal of %s, not %s", name,
		       mb_fmt_size(mb_jget_u64(j, "size"), b1, sizeof(b1)),
		       mb_fmt_size(w->jsize, b2, sizeof(b2)));
		return false;
	}
	return true;
}

/*
 * The kernel said EEXIST to queue add --exist-ok: a queue of that name
 * exists (as asked, 0; otherwise MB_EXIT_KERNEL), or the refusal was
 * another one (its message printed now).
 */
static int queue_exists_ok(const char *name, const struct qwant *w,
			   const char *extack)
{
	struct json_object *arr, *q = NULL;
	size_t i;
	int rc;

	/* A dump, not a get: no second refusal printed for a name not there. */
	rc = mb_queue_get(NULL, &arr);
	for (i = 0; !rc && i < json_object_array_length(arr); i++)
		if (!strcmp(mb_jget_str(json_object_array_get_idx(arr, i),
					"name"), name))
			q = json_object_array_get_idx(arr, i);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	if (!q) {
		json_object_put(arr);
		mb_err("%s%s%s", strerror(EEXIST), extack[0] ? ": " : "",
		       extack);
		mb_json_error(MB_EXIT_KERNEL, EEXIST, strerror(EEXIST), extack);
		return MB_EXIT_KERNEL;
	}
	if (!queue_is_as_asked(name, q, w)) {
		json_object_put(arr);
		mb_json_error(MB_EXIT_KERNEL, EEXIST, strerror(EEXIST),
			      "the queue exists with other settings");
		return MB_EXIT_KERNEL;
	}
	if (mb_json) {
		json_object_get(q);
		mb_jadd_bool(q, "existed", true);
		json_object_object_add(mb_json_root(), "queue", q);
	}
	json_object_put(arr);
	return 0;
}

static int queue_add(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	const char *name, *dev = NULL, *journal = NULL;
	uint32_t depth = 0, max_cmds = 0;
	uint64_t max_bytes = 0, jsize = 0;
	bool has_depth = false, has_cmds = false, has_bytes = false;
	bool has_jsize = false, exist_ok = false;
	struct nl_msg *msg;
	struct qwant w;
	struct mb_nl nl;
	int i, rc;

	if (argc < 2) {
		json_object_put(arr);
		return mb_usage("queue add NAME dev PATH [depth N] [max-cmds N] [max-bytes SIZE] [journal internal|PATH [size SIZE]] [--exist-ok]");
	}
	name = argv[1];
	rc = check_name(name);
	for (i = 2; !rc && i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--exist-ok")) {
			exist_ok = true;
			i--;
		} else if (!v)
			rc = mb_usage("queue add: '%s' needs a value", k);
		else if (!strcmp(k, "dev"))
			dev = v;
		else if (!strcmp(k, "depth"))
			rc = opt_u32(k, v, &depth, &has_depth);
		else if (!strcmp(k, "max-cmds"))
			rc = opt_u32(k, v, &max_cmds, &has_cmds);
		else if (!strcmp(k, "max-bytes"))
			rc = opt_size(k, v, &max_bytes, &has_bytes);
		else if (!strcmp(k, "journal"))
			journal = v;
		else if (!strcmp(k, "size"))
			rc = opt_size(k, v, &jsize, &has_jsize);
		else
			rc = mb_usage("queue add: unknown option '%s'", k);
	}
	if (!rc && !dev)
		rc = mb_usage("queue add: dev PATH is required");
	if (!rc && strlen(dev) >= MBATCH_DEV_PATH_MAX)
		rc = mb_usage("queue add: device path longer than %d bytes",
			      MBATCH_DEV_PATH_MAX - 1);
	if (!rc && has_jsize && !journal)
		rc = mb_usage("queue add: size is the journal's: it needs journal internal|PATH");
	if (!rc && journal && strcmp(journal, "internal") &&
	    (journal[0] != '/' || strlen(journal) >= MBATCH_DEV_PATH_MAX))
		rc = mb_usage("queue add: journal is 'internal' or an absolute device path shorter than %d bytes",
			      MBATCH_DEV_PATH_MAX);
	if (!rc && has_jsize &&
	    (jsize < MBATCH_JOURNAL_SIZE_MIN || jsize > MBATCH_JOURNAL_SIZE_MAX ||
	     jsize % 4096))
		rc = mb_usage("queue add: journal size is a multiple of 4 KiB from 1 MiB to 1 GiB");
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	rc = mb_nl_open(&nl);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	msg = mb_msg_new(&nl, MBATCH_CMD_QUEUE_NEW, 0, 0);
	if (nla_put_string(msg, MBATCH_A_QUEUE_NAME, name) ||
	    nla_put_string(msg, MBATCH_A_QUEUE_DEV, dev) ||
	    (has_depth && nla_put_u32(msg, MBATCH_A_QUEUE_DEPTH, depth)) ||
	    (has_cmds && nla_put_u32(msg, MBATCH_A_QUEUE_MAX_CMDS, max_cmds)) ||
	    (has_bytes && nla_put_u64(msg, MBATCH_A_QUEUE_MAX_BYTES, max_bytes)) ||
	    (journal && put_journal(msg, journal)) ||
	    (has_jsize && nla_put_u64(msg, MBATCH_A_QUEUE_JOURNAL_SIZE, jsize))) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		json_object_put(arr);
		return MB_EXIT_LOCAL;
	}
	if (exist_ok)
		nl.quiet_errno = -EEXIST;
	rc = mb_nl_request(&nl, msg, queue_reply, arr, 0);
	if (rc == MB_EXIT_KERNEL && exist_ok && nl.err == -EEXIST) {
		w = (struct qwant){ .dev = dev, .journal = journal,
				    .depth = depth, .max_cmds = max_cmds,
				    .max_bytes = max_bytes, .jsize = jsize,
				    .has_depth = has_depth,
				    .has_cmds = has_cmds,
				    .has_bytes = has_bytes,
				    .has_jsize = has_jsize };
		rc = queue_exists_ok(name, &w, nl.extack);
		mb_nl_close(&nl);
		json_object_put(arr);
		return rc;
	}
	mb_nl_close(&nl);
	if (!rc && mb_json) {
		struct json_object *q = json_object_array_length(arr) ?
			json_object_get(json_object_array_get_idx(arr, 0)) :
			json_object_new_object();

		if (!json_object_object_get_ex(q, "name", NULL) ||
		    !strcmp(mb_jget_str(q, "name"), "-"))
			mb_jadd_str(q, "name", name);
		json_object_object_add(mb_json_root(), "queue", q);
	}
	json_object_put(arr);
	return rc;
}

static int queue_del(int argc, char **argv)
{
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc;

	if (argc != 2)
		return mb_usage("queue del NAME");
	rc = check_name(argv[1]);
	if (rc)
		return rc;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_QUEUE_DEL, 0, 0);
	if (nla_put_string(msg, MBATCH_A_QUEUE_NAME, argv[1])) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, NULL, NULL, 0);
	mb_nl_close(&nl);
	if (!rc && mb_json)
		mb_jadd_str(mb_json_root(), "deleted", argv[1]);
	return rc;
}

/* "-", or "internal SIZE gen N" / "PATH SIZE gen N". */
static void print_journal(struct json_object *q)
{
	struct json_object *j;
	char b[32];

	if (!json_object_object_get_ex(q, "journal", &j)) {
		printf("-\n");
		return;
	}
	printf("%s %s gen %llu\n",
	       strcmp(mb_jget_str(j, "kind"), "device") ?
	       mb_jget_str(j, "kind") : mb_jget_str(j, "dev"),
	       mb_fmt_size(mb_jget_u64(j, "size"), b, sizeof(b)),
	       (unsigned long long)mb_jget_u64(j, "generation"));
}

static int queue_show(int argc, char **argv)
{
	struct json_object *arr;
	char b1[32], b2[32];
	size_t i;
	int rc;

	if (argc > 2)
		return mb_usage("queue show [NAME]");
	if (argc == 2) {
		rc = check_name(argv[1]);
		if (rc)
			return rc;
	}
	rc = mb_queue_get(argc == 2 ? argv[1] : NULL, &arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	if (mb_json) {
		json_object_object_add(mb_json_root(), "queues", arr);
		return 0;
	}
	printf("%-16s %-20s %5s %8s %10s %5s %12s %8s %s\n", "NAME", "DEV",
	       "DEPTH", "MAX-CMDS", "MAX-BYTES", "BLOCK", "CAPACITY",
	       "SESSIONS", "JOURNAL");
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *q = json_object_array_get_idx(arr, i);

		printf("%-16s %-20s %5llu %8llu %10s %5llu %12s %8llu ",
		       mb_jget_str(q, "name"), mb_jget_str(q, "dev"),
		       (unsigned long long)mb_jget_u64(q, "depth"),
		       (unsigned long long)mb_jget_u64(q, "max_cmds"),
		       mb_fmt_size(mb_jget_u64(q, "max_bytes"), b1, sizeof(b1)),
		       (unsigned long long)mb_jget_u64(q, "block_size"),
		       mb_fmt_size(mb_jget_u64(q, "capacity"), b2, sizeof(b2)),
		       (unsigned long long)mb_jget_u64(q, "sessions"));
		print_journal(q);
	}
	json_object_put(arr);
	return 0;
}

/* queue journal NAME [records N|all]: the journal as its device holds it. */
static int queue_journal(int argc, char **argv)
{
	struct json_object *arr, *q, *j;
	char path[MBATCH_DEV_PATH_MAX];
	uint64_t keep;
	int rc;

	if (argc < 2)
		return mb_usage("queue journal NAME [records N|all]");
	rc = check_name(argv[1]);
	if (!rc)
		rc = mb_journal_keep_arg(argc, argv, 2, &keep);
	if (rc)
		return rc;
	rc = mb_queue_get(argv[1], &arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	q = json_object_array_get_idx(arr, 0);
	if (!q || !json_object_object_get_ex(q, "journal", &j)) {
		mb_err("queue %s has no journal", argv[1]);
		json_object_put(arr);
		return MB_EXIT_LOCAL;
	}
	snprintf(path, sizeof(path), "%s",
		 strcmp(mb_jget_str(j, "kind"), "device") ?
		 mb_jget_str(q, "dev") : mb_jget_str(j, "dev"));
	json_object_put(arr);
	return mb_journal_show(path, argv[1], keep);
}

int cmd_queue(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "add", queue_add, NULL },
		{ "del", queue_del, NULL },
		{ "show", queue_show, NULL },
		{ "journal", queue_journal, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "queue", argc, argv);
}
