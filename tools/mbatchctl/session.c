// SPDX-License-Identifier: GPL-2.0
/* mbatchctl session open|close|show */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

/*
 * Splits a session's queue argument: "QUEUE" (a queue of this node) or
 * "QUEUE@PEER" (a queue of peer PEER). @queue and @peer hold
 * MBATCH_QUEUE_NAME_MAX and MBATCH_PEER_NAME_MAX bytes; @peer is "" for a
 * local queue. Returns 0 or MB_EXIT_USAGE (printed).
 */
int mb_split_remote(const char *arg, char *queue, char *peer)
{
	const char *at = strchr(arg, '@');
	size_t qlen = at ? (size_t)(at - arg) : strlen(arg);

	peer[0] = '\0';
	if (qlen >= MBATCH_QUEUE_NAME_MAX)
		return mb_usage("bad queue '%s' (1 to %d of [A-Za-z0-9_.-], then @PEER for a remote one)",
				arg, MBATCH_QUEUE_NAME_MAX - 1);
	memcpy(queue, arg, qlen);
	queue[qlen] = '\0';
	if (!mb_name_ok(queue))
		return mb_usage("bad queue '%s' (1 to %d of [A-Za-z0-9_.-], then @PEER for a remote one)",
				arg, MBATCH_QUEUE_NAME_MAX - 1);
	if (!at)
		return 0;
	if (!mb_name_ok(at + 1))
		return mb_usage("bad peer in '%s' (1 to %d of [A-Za-z0-9_.-])",
				arg, MBATCH_PEER_NAME_MAX - 1);
	strcpy(peer, at + 1);
	return 0;
}

int mb_parse_session_ref(const char *s, struct mb_sref *ref)
{
	const char *colon = strchr(s, ':');
	char id[16], *end;

	memset(ref, 0, sizeof(*ref));
	if (colon) {
		const char *h = colon + 1;

		if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
			h += 2;
		errno = 0;
		ref->handle = strtoull(h, &end, 16);
		if ((size_t)(colon - s) >= sizeof(id) || !isxdigit(*h) ||
		    *end || errno || !ref->handle)
			return mb_usage("bad session '%s' (ID or ID:HANDLE, the handle in hex)",
					s);
		memcpy(id, s, colon - s);
		id[colon - s] = '\0';
		ref->has_handle = true;
		s = id;
	}
	if (mb_parse_u32(s, &ref->id) || !ref->id)
		return mb_usage("bad session id '%s'", s);
	return 0;
}

int mb_parse_session_id(const char *s, uint32_t *id)
{
	struct mb_sref ref;
	int rc = mb_parse_session_ref(s, &ref);

	*id = ref.id;
	return rc;
}

static struct json_object *session_json(struct nlattr **tb)
{
	struct json_object *o = json_object_new_object(), *f;
	uint32_t flags = 0;

	if (tb[MBATCH_A_SESSION_ID])
		mb_jadd_u64(o, "id", nla_get_u32(tb[MBATCH_A_SESSION_ID]));
	mb_jadd_str(o, "queue", tb[MBATCH_A_QUEUE_NAME] ?
		    nla_get_string(tb[MBATCH_A_QUEUE_NAME]) : NULL);
	if (tb[MBATCH_A_PEER_NAME])	/* remote: QUEUE is on that peer */
		mb_jadd_str(o, "peer", nla_get_string(tb[MBATCH_A_PEER_NAME]));
	if (tb[MBATCH_A_SESSION_FLAGS])
		flags = nla_get_u32(tb[MBATCH_A_SESSION_FLAGS]);
	f = mb_jadd_array(o, "flags");
	if (flags & MBATCH_SESSION_F_OWNED)
		json_object_array_add(f, json_object_new_string("owned"));
	if (flags & MBATCH_SESSION_F_PEER)
		json_object_array_add(f, json_object_new_string("peer"));
	if (tb[MBATCH_A_SESSION_STATE])
		mb_jadd_str(o, "state", mb_state_name(
			nla_get_u32(tb[MBATCH_A_SESSION_STATE])));
	if (tb[MBATCH_A_SESSION_EPOCH])
		mb_jadd_u64(o, "epoch",
			    nla_get_u64(tb[MBATCH_A_SESSION_EPOCH]));
	if (tb[MBATCH_A_SESSION_DONE_EPOCH])
		mb_jadd_u64(o, "done_epoch",
			    nla_get_u64(tb[MBATCH_A_SESSION_DONE_EPOCH]));
	if (tb[MBATCH_A_SESSION_ERROR])
		mb_jadd_s64(o, "error",
			    (int32_t)nla_get_u32(tb[MBATCH_A_SESSION_ERROR]));
	if (tb[MBATCH_A_SESSION_MAX_IO])
		mb_jadd_u64(o, "max_io",
			    nla_get_u32(tb[MBATCH_A_SESSION_MAX_IO]));
	if (tb[MBATCH_A_SESSION_HALTS])
		mb_jadd_u64(o, "halts", nla_get_u32(tb[MBATCH_A_SESSION_HALTS]));
	if (tb[MBATCH_A_SESSION_MAX_PROXY_IO])
		mb_jadd_u64(o, "max_proxy_io",
			    nla_get_u32(tb[MBATCH_A_SESSION_MAX_PROXY_IO]));
	if (tb[MBATCH_A_SESSION_PROXY_ALIGN])
		mb_jadd_u64(o, "proxy_align",
			    nla_get_u32(tb[MBATCH_A_SESSION_PROXY_ALIGN]));
	if (tb[MBATCH_A_STATS])
		json_object_object_add(o, "stats",
				       mb_stats_json(tb[MBATCH_A_STATS]));
	return o;
}

static int session_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct json_object *arr = arg;

	if (!nlh) {
		json_object_array_del_idx(arr, 0,
					  json_object_array_length(arr));
		return 0;
	}
	json_object_array_add(arr, session_json(tb));
	return 0;
}

int mb_session_get(uint32_t id, const char *queue, struct json_object **out)
{
	struct json_object *arr = json_object_new_array();
	char qname[MBATCH_QUEUE_NAME_MAX], peer[MBATCH_PEER_NAME_MAX];
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc;

	*out = arr;
	if (queue) {
		rc = mb_split_remote(queue, qname, peer);
		if (rc)
			return rc;
		queue = qname;
	}
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_SESSION_GET, id ? 0 : NLM_F_DUMP, 0);
	if ((id && nla_put_u32(msg, MBATCH_A_SESSION_ID, id)) ||
	    (queue && nla_put_string(msg, MBATCH_A_QUEUE_NAME, queue)) ||
	    (queue && peer[0] &&
	     nla_put_string(msg, MBATCH_A_PEER_NAME, peer))) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, session_reply, arr, MB_REQ_RETRY_INTR);
	mb_nl_close(&nl);
	return rc;
}

struct opened {
	uint32_t id;
	uint64_t handle;
	bool has_handle;
};

static int open_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct opened *o = arg;

	if (nlh && tb[MBATCH_A_SESSION_ID])
		o->id = nla_get_u32(tb[MBATCH_A_SESSION_ID]);
	if (nlh && tb[MBATCH_A_SESSION_HANDLE]) {
		o->handle = nla_get_u64(tb[MBATCH_A_SESSION_HANDLE]);
		o->has_handle = true;
	}
	return 0;
}

struct open_state {
	uint32_t state;
	int32_t error;
};

static int state_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct open_state *st = arg;

	if (nlh && tb[MBATCH_A_SESSION_STATE])
		st->state = nla_get_u32(tb[MBATCH_A_SESSION_STATE]);
	if (nlh && tb[MBATCH_A_SESSION_ERROR])
		st->error = (int32_t)nla_get_u32(tb[MBATCH_A_SESSION_ERROR]);
	return 0;
}

/*
 * A remote session is usable once the participant accepted it; the open
 * itself does not wait for the network. Poll its state, for at most
 * MB_REMOTE_OPEN_MS.
 */
#define MB_REMOTE_OPEN_MS	30000

static int wait_remote_open(struct mb_nl *nl, uint32_t id, const char *queue,
			    const char *peer)
{
	struct open_state st = { 0 };
	struct nl_msg *msg;
	int rc, ms;

	for (ms = 0; ms < MB_REMOTE_OPEN_MS; ms += 10) {
		msg = mb_msg_new(nl, MBATCH_CMD_SESSION_GET, 0, 0);
		if (nla_put_u32(msg, MBATCH_A_SESSION_ID, id)) {
			nlmsg_free(msg);
			return MB_EXIT_LOCAL;
		}
		rc = mb_nl_request(nl, msg, state_reply, &st, 0);
		if (rc)
			return rc;
		if (st.state == MBATCH_SESSION_ACTIVE)
			return 0;
		if (st.state == MBATCH_SESSION_HALTED &&
		    st.error == -ENOTCONN) {
			mb_err("%s@%s: no link to the peer within its link timeout",
			       queue, peer);
			return MB_EXIT_KERNEL;
		}
		if (st.state == MBATCH_SESSION_HALTED) {
			mb_err("%s@%s: the participant refused the session: %s",
			       queue, peer, strerror(-st.error));
			return MB_EXIT_KERNEL;
		}
		usleep(10000);
	}
	mb_err("%s@%s: no answer from the participant in %d s", queue, peer,
	       MB_REMOTE_OPEN_MS / 1000);
	return MB_EXIT_KERNEL;
}

/*
 * Opens a session on @nl on @queue of this node, or of @peer when it is
 * neither NULL nor ""; used by "session open" and "run". Returns its id
 * and handle. A remote session is returned once the participant accepted
 * it; if it refused, the session is closed again.
 */
int mb_session_open(struct mb_nl *nl, const char *queue, const char *peer,
		    uint32_t flags, uint32_t *id, uint64_t *handle)
{
	struct opened o = { 0 };
	struct mb_sref ref;
	struct nl_msg *msg;
	int rc;

	*id = 0;
	*handle = 0;
	msg = mb_msg_new(nl, MBATCH_CMD_SESSION_OPEN, 0, 0);
	if (nla_put_string(msg, MBATCH_A_QUEUE_NAME, queue) ||
	    (peer && peer[0] &&
	     nla_put_string(msg, MBATCH_A_PEER_NAME, peer)) ||
	    (flags && nla_put_u32(msg, MBATCH_A_SESSION_FLAGS, flags))) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(nl, msg, open_reply, &o, 0);
	if (!rc && (!o.id || !o.has_handle)) {
		mb_err("the kernel did not return a session %s",
		       o.id ? "handle" : "id");
		rc = MB_EXIT_LOCAL;
	}
	*id = o.id;
	*handle = o.handle;
	if (!rc && peer && peer[0]) {
		rc = wait_remote_open(nl, *id, queue, peer);
		if (rc) {
			ref = (struct mb_sref){ .id = o.id, .has_handle = true,
						.handle = o.handle };
			mb_session_simple(nl, MBATCH_CMD_SESSION_CLOSE, &ref);
			*id = 0;
		}
	}
	return rc;
}

static int params_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct mb_session_params *p = arg;

	if (!nlh)
		return 0;
	if (tb[MBATCH_A_SESSION_MAX_IO])
		p->max_io = nla_get_u32(tb[MBATCH_A_SESSION_MAX_IO]);
	if (tb[MBATCH_A_SESSION_MAX_PROXY_IO])
		p->max_proxy_io = nla_get_u32(tb[MBATCH_A_SESSION_MAX_PROXY_IO]);
	if (tb[MBATCH_A_SESSION_PROXY_ALIGN])
		p->proxy_align = nla_get_u32(tb[MBATCH_A_SESSION_PROXY_ALIGN]);
	return 0;
}

int mb_session_params(struct mb_nl *nl, const struct mb_sref *ref,
		      struct mb_session_params *p)
{
	struct nl_msg *msg = mb_msg_new(nl, MBATCH_CMD_SESSION_GET, 0, 0);

	memset(p, 0, sizeof(*p));
	if (nla_put_u32(msg, MBATCH_A_SESSION_ID, ref->id)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(nl, msg, params_reply, p, 0);
}

/* Sends a request naming only the session (close, resume). */
int mb_session_simple(struct mb_nl *nl, uint8_t cmd, const struct mb_sref *ref)
{
	struct nl_msg *msg = mb_msg_new(nl, cmd, 0, 0);

	if (mb_put_session(msg, ref)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(nl, msg, NULL, NULL, 0);
}

static int session_open(int argc, char **argv)
{
	char queue[MBATCH_QUEUE_NAME_MAX], peer[MBATCH_PEER_NAME_MAX];
	uint32_t flags = 0, id;
	uint64_t handle;
	struct mb_nl nl;
	char hex[20];
	int rc;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "owned")))
		return mb_usage("session open QUEUE[@PEER] [owned]");
	if (argc == 3)
		flags |= MBATCH_SESSION_F_OWNED;
	rc = mb_split_remote(argv[1], queue, peer);
	if (rc)
		return rc;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	rc = mb_session_open(&nl, queue, peer, flags, &id, &handle);
	mb_nl_close(&nl);
	if (rc)
		return rc;
	/* one token for scripts: ID:HANDLE, the handle in hex */
	snprintf(hex, sizeof(hex), "%016" PRIx64, handle);
	if (mb_json) {
		mb_jadd_u64(mb_json_root(), "session", id);
		mb_jadd_str(mb_json_root(), "handle", hex);
		mb_jadd_str(mb_json_root(), "queue", queue);
		if (peer[0])
			mb_jadd_str(mb_json_root(), "peer", peer);
	} else {
		printf("%u:%s\n", id, hex);
	}
	return 0;
}

static int session_close(int argc, char **argv)
{
	struct mb_sref ref;
	struct mb_nl nl;
	int rc;

	if (argc != 2)
		return mb_usage("session close ID[:HANDLE]");
	rc = mb_parse_session_ref(argv[1], &ref);
	if (rc)
		return rc;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	rc = mb_session_simple(&nl, MBATCH_CMD_SESSION_CLOSE, &ref);
	mb_nl_close(&nl);
	if (!rc && mb_json)
		mb_jadd_u64(mb_json_root(), "closed", ref.id);
	return rc;
}

static int session_show(int argc, char **argv)
{
	const char *queue = NULL;
	struct json_object *arr;
	uint32_t id = 0;
	size_t i;
	int rc;

	for (i = 1; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "queue") && i + 1 < (size_t)argc) {
			queue = argv[++i];
		} else if (!id) {
			rc = mb_parse_session_id(argv[i], &id);
			if (rc)
				return rc;
		} else {
			return mb_usage("session show [ID[:HANDLE]] [queue QUEUE[@PEER]]");
		}
	}
	rc = mb_session_get(id, queue, &arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	if (mb_json) {
		json_object_object_add(mb_json_root(), "sessions", arr);
		return 0;
	}
	printf("%-8s %-16s %-10s %-6s %10s %10s %6s %6s %6s\n", "ID", "QUEUE",
	       "STATE", "FLAGS", "EPOCH", "DONE", "MAXIO", "HALTS", "ERROR");
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *s = json_object_array_get_idx(arr, i), *f;
		char where[2 * MBATCH_PEER_NAME_MAX + 8], fl[16] = "";
		int64_t err = mb_jget_s64(s, "error");
		size_t j;

		if (json_object_object_get_ex(s, "peer", NULL))
			snprintf(where, sizeof(where), "%s@%s",
				 mb_jget_str(s, "queue"), mb_jget_str(s, "peer"));
		else
			snprintf(where, sizeof(where), "%s",
				 mb_jget_str(s, "queue"));
		json_object_object_get_ex(s, "flags", &f);
		for (j = 0; j < json_object_array_length(f); j++)
			snprintf(fl + strlen(fl), sizeof(fl) - strlen(fl),
				 "%s%s", j ? "," : "", json_object_get_string(
					 json_object_array_get_idx(f, j)));
		printf("%-8llu %-16s %-10s %-6s %10llu %10llu %6llu %6llu %6lld%s%s\n",
		       (unsigned long long)mb_jget_u64(s, "id"), where,
		       mb_jget_str(s, "state"), fl[0] ? fl : "-",
		       (unsigned long long)mb_jget_u64(s, "epoch"),
		       (unsigned long long)mb_jget_u64(s, "done_epoch"),
		       (unsigned long long)mb_jget_u64(s, "max_io"),
		       (unsigned long long)mb_jget_u64(s, "halts"),
		       (long long)err, err < 0 ? " " : "",
		       err < 0 ? mb_status_str(err) : "");
	}
	json_object_put(arr);
	return 0;
}

int cmd_session(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "open", session_open, NULL },
		{ "close", session_close, NULL },
		{ "show", session_show, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "session", argc, argv);
}
