/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatchctl: command line client of the mbatch Generic Netlink family.
 */
#ifndef MBATCHCTL_H
#define MBATCHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/mbatch.h>

#ifndef MBATCHCTL_VERSION
#define MBATCHCTL_VERSION "0.1.0"
#endif

/* Exit codes: keep in sync with usage() and Documentation/mbatchctl.8. */
enum mb_exit {
	MB_EXIT_OK = 0,		/* success */
	MB_EXIT_KERNEL = 1,	/* the kernel refused a request */
	MB_EXIT_USAGE = 2,	/* usage or script error */
	MB_EXIT_NOMOD = 3,	/* the mbatch module is not loaded */
	MB_EXIT_CMDFAIL = 4,	/* run/collect: a command completed with an error */
	MB_EXIT_LOCAL = 5,	/* any other local error */
	MB_EXIT_TIMEOUT = 6,	/* monitor: the timeout expired */
	MB_EXIT_NOLINK = 7,	/* serve --once: refused or failed */
};

#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct mb_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

/* main.c */
extern const char *mb_cmdname;	/* subcommand name, for messages */
__printf(1, 2) void mb_err(const char *fmt, ...);
__printf(1, 2) int mb_usage(const char *fmt, ...);
int mb_sub_dispatch(const struct mb_cmd *tab, size_t n, const char *group,
		    int argc, char **argv);

/* util: number parsing, names */
int mb_parse_u64(const char *s, uint64_t *v);
int mb_parse_u32(const char *s, uint32_t *v);
int mb_parse_size(const char *s, uint64_t *v);
const char *mb_op_name(uint32_t op);
const char *mb_state_name(uint32_t state);
char *mb_fmt_size(uint64_t v, char *buf, size_t len);
char *mb_fmt_uuid(const unsigned char *u, char *buf, size_t len);
bool mb_name_ok(const char *name);
int mb_split_hostport(const char *s, char *host, size_t hlen, char *port,
		      size_t plen);
int mb_split_remote(const char *arg, char *queue, char *peer);
const char *mb_status_str(int32_t status);
const char *mb_outcome_name(uint32_t outcome);

struct nlattr;
struct json_object;
/* stats.c: MBATCH_A_STATS nest -> JSON object; human rendering */
struct json_object *mb_stats_json(struct nlattr *nest);
void mb_stats_print(struct json_object *stats, const char *indent);
/* queue.c, session.c: get one object or dump all, as a JSON array */
int mb_queue_get(const char *name, struct json_object **out);
int mb_session_get(uint32_t id, const char *queue, struct json_object **out);

/*
 * A session as commands name it: "ID", or "ID:HANDLE" with the handle in
 * hexadecimal, as "session open" prints it. The handle lets another
 * process than the opener drive the session.
 */
struct mb_sref {
	uint32_t id;
	bool has_handle;
	uint64_t handle;
};
int mb_parse_session_ref(const char *s, struct mb_sref *ref);
/* The same where only the id matters (show, stats). */
int mb_parse_session_id(const char *s, uint32_t *id);
/* peer.c: get one peer or dump all, as a JSON array */
int mb_peer_get(const char *name, struct json_object **out);

/* json-c accessors for rendering the JSON model as text */
uint64_t mb_jget_u64(struct json_object *o, const char *key);
int64_t mb_jget_s64(struct json_object *o, const char *key);
const char *mb_jget_str(struct json_object *o, const char *key);

/* subcommands */
int cmd_version(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_session(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_peer(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_region(int argc, char **argv);
int cmd_journal(int argc, char **argv);

/* journal.c: a journal as its device holds it. */
int mb_journal_show(const char *path, const char *queue, uint64_t keep);
int mb_journal_keep_arg(int argc, char **argv, int i, uint64_t *keep);

#endif /* MBATCHCTL_H */
