// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl run QUEUE [-f FILE|-]: executes a batch script in an owned
 * session on one socket (its owner: no handle needed), collects every
 * result with an explicit acknowledgement of the last one received, and
 * prints them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbatchctl.h"
#include "io.h"
#include "json.h"

#define RUN_COLLECT_TIMEOUT_MS	1000
#define RUN_STALL_SECONDS	60

struct sent {
	uint64_t first_seq;
	uint32_t count;
	uint64_t batch_id;
	const struct mb_smsg *msgs;
};

struct run {
	struct mb_nl nl;
	struct mb_script s;
	struct mb_sref ref;	/* the session, id only */
	bool data;
	uint32_t max_cmds;	/* the queue's per-session limits */
	uint64_t max_bytes;

	struct sent *sent;
	unsigned int nsent;
	uint64_t submitted;	/* messages accepted by the kernel */
	uint64_t received;	/* distinct results */
	uint64_t last_seq;	/* highest result seq received = our ack */
	uint64_t acked;		/* the ack the kernel has seen */
	unsigned int failed;
	unsigned int collects;
	unsigned int dups;
	unsigned int gaps;

	struct json_object *results;	/* --json */
	struct json_object *batches;
	bool header;
};

static long line_of(const struct run *r, uint64_t msg_seq)
{
	unsigned int lo = 0, hi = r->nsent;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct sent *b = &r->sent[mid];

		if (msg_seq < b->first_seq)
			hi = mid;
		else if (msg_seq >= b->first_seq + b->count)
			lo = mid + 1;
		else
			return b->msgs[msg_seq - b->first_seq].line;
	}
	return 0;
}

static int on_result(const struct mb_result *res, void *arg)
{
	struct run *r = arg;
	long line;

	if (res->seq <= r->last_seq) {
		r->dups++;	/* already seen: a reply was not acknowledged */
		return 0;
	}
	if (res->seq != r->last_seq + 1) {
		fprintf(stderr, "mbatchctl: run: warning: result gap: %llu follows %llu\n",
			(unsigned long long)res->seq,
			(unsigned long long)r->last_seq);
		r->gaps++;
	}
	r->last_seq = res->seq;
	r->received++;
	if (!mb_result_ok(res))
		r->failed++;
	line = line_of(r, res->msg_seq);
	if (r->results) {
		struct json_object *o = mb_result_json(res, r->data);

		mb_jadd_u64(o, "line", line);
		json_object_array_add(r->results, o);
		return 0;
	}
	if (!r->header) {
		mb_result_print_header(true);
		r->header = true;
	}
	mb_result_print(res, r->data, line);
	return 0;
}

static int collect_step(struct run *r, uint32_t wait_min, uint32_t timeout_ms,
			uint32_t max)
{
	struct mb_collect_req req = {
		.ref = r->ref,
		.has_ack = r->last_seq > 0,
		.ack = r->last_seq,
		.wait_min = wait_min,
		.has_timeout = wait_min > 0,
		.timeout_ms = timeout_ms,
		.max = max,
	};
	struct mb_collect_hdr h;
	int rc;

	rc = mb_collect(&r->nl, &req, &h, on_result, r);
	r->collects++;
	if (!rc)
		r->acked = req.ack;
	return rc;
}

static uint64_t outstanding(const struct run *r)
{
	return r->submitted - r->received;
}

/* Collects until every submitted message has its result. */
static int collect_all(struct run *r)
{
	time_t last = time(NULL);
	uint64_t before;
	int rc;

	while (outstanding(r)) {
		uint64_t want = outstanding(r);

		before = r->received;
		/* held results never exceed max-cmds: the clamp is a guard */
		rc = collect_step(r, want > MBATCH_MAX_CMDS_MAX ?
				  MBATCH_MAX_CMDS_MAX : want,
				  RUN_COLLECT_TIMEOUT_MS, 0);
		if (rc)
			return rc;
		if (r->received != before)
			last = time(NULL);
		else if (time(NULL) - last > RUN_STALL_SECONDS) {
			mb_err("no result for %d s, %llu still outstanding",
			       RUN_STALL_SECONDS,
			       (unsigned long long)outstanding(r));
			mb_json_error(MB_EXIT_LOCAL, ETIMEDOUT,
				      "timed out waiting for results", NULL);
			return MB_EXIT_LOCAL;
		}
	}
	return 0;
}

static int submit_part(struct run *r, const struct mb_smsg *msgs,
		       unsigned int n)
{
	struct mb_submit_reply rep;
	struct sent *b;
	int rc;

	for (;;) {
		r->nl.quiet_errno = -ENOBUFS;
		rc = mb_submit_named(&r->nl, &r->ref, 0, msgs, n, &rep,
				     r->s.name);
		r->nl.quiet_errno = 0;
		if (rc != MB_EXIT_KERNEL || r->nl.err != -ENOBUFS)
			break;
		if (!outstanding(r) && r->acked == r->last_seq) {
			/* the kernel holds nothing of ours: a real error */
			mb_err("%s: %s", strerror(ENOBUFS), r->nl.extack);
			mb_json_error(MB_EXIT_KERNEL, ENOBUFS,
				      strerror(ENOBUFS), r->nl.extack);
			return rc;
		}
		/*
		 * Back-pressure: acknowledge what was received and collect
		 * what completed to make room (wait only if nothing is
		 * left to acknowledge).
		 */
		rc = collect_step(r, r->acked == r->last_seq ? 1 : 0,
				  RUN_COLLECT_TIMEOUT_MS, 0);
		if (rc)
			return rc;
	}
	if (rc)
		return rc;
	if (rep.count != n)
		fprintf(stderr, "mbatchctl: run: warning: batch %llu: %u messages sent, %u accepted\n",
			(unsigned long long)rep.batch_id, n, rep.count);
	r->sent = realloc(r->sent, (r->nsent + 1) * sizeof(*r->sent));
	if (!r->sent) {
		mb_err("out of memory");
		return MB_EXIT_LOCAL;
	}
	b = &r->sent[r->nsent++];
	b->first_seq = rep.first_seq;
	b->count = rep.count;
	b->batch_id = rep.batch_id;
	b->msgs = msgs;
	r->submitted += rep.count;
	if (r->batches) {
		struct json_object *o = json_object_new_object();

		mb_jadd_u64(o, "batch", rep.batch_id);
		mb_jadd_u64(o, "first_seq", rep.first_seq);
		mb_jadd_u64(o, "count", rep.count);
		mb_jadd_u64(o, "line", msgs[0].line);
		json_object_array_add(r->batches, o);
	}
	return 0;
}

static int run_items(struct run *r)
{
	unsigned int i, done, n;
	int rc = 0;

	for (i = 0; !rc && i < r->s.nitems; i++) {
		struct mb_item *it = &r->s.items[i];

		switch (it->kind) {
		case MB_ITEM_BATCH:
			/* bigger than the socket buffer: several SUBMITs */
			for (done = 0; !rc && done < it->nmsgs; done += n) {
				n = mb_submit_fit(&r->nl, it->msgs + done,
						  it->nmsgs - done, r->max_cmds,
						  r->max_bytes);
				rc = submit_part(r, it->msgs + done, n);
			}
			break;
		case MB_ITEM_COLLECT:
			if (it->all)
				rc = collect_all(r);
			else
				rc = collect_step(r, it->wait_min,
						  it->timeout_ms, it->max);
			break;
		case MB_ITEM_RESUME:
			rc = mb_session_simple(&r->nl, MBATCH_CMD_RESUME,
					       &r->ref);
			break;
		}
	}
	if (!rc)
		rc = collect_all(r);
	return rc;
}

static const char *data_name(const struct mb_smsg *m)
{
	switch (m->kind) {
	case MB_DATA_OFFSET:
		return "offset";
	case MB_DATA_BYTE:
		return "pattern";
	case MB_DATA_HEX:
		return "hex";
	case MB_DATA_FILE:
		return "file";
	case MB_DATA_SEQ:
		return "seq";
	}
	return "?";
}

/* -n: print what would be sent, without touching the kernel. */
static void dry_run(const struct mb_script *s)
{
	struct json_object *items = NULL;
	unsigned int i, j;

	if (mb_json) {
		mb_jadd_bool(mb_json_root(), "dry_run", true);
		mb_jadd_str(mb_json_root(), "script", s->name);
		mb_jadd_u64(mb_json_root(), "messages", s->nmsgs);
		items = mb_jadd_array(mb_json_root(), "items");
	}
	for (i = 0; i < s->nitems; i++) {
		const struct mb_item *it = &s->items[i];
		struct json_object *o = NULL, *msgs = NULL;
		static const char *const kinds[] = {
			[MB_ITEM_BATCH] = "batch",
			[MB_ITEM_COLLECT] = "collect",
			[MB_ITEM_RESUME] = "resume",
		};

		if (items) {
			o = json_object_new_object();
			mb_jadd_str(o, "kind", kinds[it->kind]);
			mb_jadd_u64(o, "line", it->line);
			json_object_array_add(items, o);
		}
		if (it->kind == MB_ITEM_COLLECT) {
			if (o) {
				mb_jadd_bool(o, "all", it->all);
				mb_jadd_u64(o, "wait_min", it->wait_min);
				mb_jadd_u64(o, "timeout_ms", it->timeout_ms);
				mb_jadd_u64(o, "max", it->max);
			} else {
				printf("%s:%u: collect%s wait-min %u timeout %u max %u\n",
				       s->name, it->line, it->all ? " all" : "",
				       it->wait_min, it->timeout_ms, it->max);
			}
			continue;
		}
		if (it->kind == MB_ITEM_RESUME) {
			if (!o)
				printf("%s:%u: resume\n", s->name, it->line);
			continue;
		}
		if (o)
			msgs = mb_jadd_array(o, "messages");
		else
			printf("%s:%u: batch of %u messages\n", s->name,
			       it->line, it->nmsgs);
		for (j = 0; j < it->nmsgs; j++) {
			const struct mb_smsg *m = &it->msgs[j];
			struct json_object *mo, *f;

			if (!msgs) {
				printf("  %s:%u: %s", s->name, m->line,
				       mb_op_name(m->op));
				if (m->op != MBATCH_OP_FLUSH &&
				    m->op != MBATCH_OP_CHECKPOINT)
					printf(" offset %llu len %u",
					       (unsigned long long)m->off,
					       m->len);
				if (m->flags & MBATCH_MSG_F_DURABLE)
					printf(" durable");
				if (m->flags & MBATCH_MSG_F_CONTINUE)
					printf(" continue");
				if (m->op == MBATCH_OP_WRITE)
					printf(" data %s", data_name(m));
				printf(" tag %llu\n",
				       (unsigned long long)m->tag);
				continue;
			}
			mo = json_object_new_object();
			mb_jadd_u64(mo, "line", m->line);
			mb_jadd_str(mo, "op", mb_op_name(m->op));
			mb_jadd_u64(mo, "tag", m->tag);
			if (m->op != MBATCH_OP_FLUSH &&
			    m->op != MBATCH_OP_CHECKPOINT) {
				mb_jadd_u64(mo, "offset", m->off);
				mb_jadd_u64(mo, "len", m->len);
			}
			f = mb_jadd_array(mo, "flags");
			if (m->flags & MBATCH_MSG_F_DURABLE)
				json_object_array_add(f,
					json_object_new_string("durable"));
			if (m->flags & MBATCH_MSG_F_CONTINUE)
				json_object_array_add(f,
					json_object_new_string("continue"));
			if (m->op == MBATCH_OP_WRITE) {
				unsigned char *buf = malloc(m->len);

				mb_jadd_str(mo, "data_source", data_name(m));
				/* the payload itself for small writes */
				if (buf && m->len <= 64 && !mb_smsg_data(m, buf))
					mb_jadd_hex(mo, "data", buf, m->len);
				free(buf);
			}
			json_object_array_add(msgs, mo);
		}
	}
}

static int limits_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct run *r = arg;

	if (nlh && tb[MBATCH_A_QUEUE_MAX_CMDS])
		r->max_cmds = nla_get_u32(tb[MBATCH_A_QUEUE_MAX_CMDS]);
	if (nlh && tb[MBATCH_A_QUEUE_MAX_BYTES])
		r->max_bytes = nla_get_u64(tb[MBATCH_A_QUEUE_MAX_BYTES]);
	return 0;
}

/* The queue's limits, so that no single SUBMIT can exceed them. */
static int get_limits(struct run *r, const char *queue)
{
	struct nl_msg *msg = mb_msg_new(&r->nl, MBATCH_CMD_QUEUE_GET, 0, 0);

	if (nla_put_string(msg, MBATCH_A_QUEUE_NAME, queue)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(&r->nl, msg, limits_reply, r, 0);
}

int cmd_run(int argc, char **argv)
{
	char queue[MBATCH_QUEUE_NAME_MAX], peer[MBATCH_PEER_NAME_MAX];
	struct run r = { 0 };
	const char *file = "-";
	uint64_t handle;
	bool dry = false;
	int i, rc, rc2;

	if (argc < 2 || argv[1][0] == '-')
		return mb_usage("run QUEUE[@PEER] [-f FILE|-] [-n] [data]");
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--dry-run"))
			dry = true;
		else if (!strcmp(argv[i], "data"))
			r.data = true;
		else
			return mb_usage("run: unexpected '%s'", argv[i]);
	}
	rc = mb_split_remote(argv[1], queue, peer);
	if (rc)
		return rc;
	mb_script_init(&r.s, file);
	if (!dry)
		mb_script_encodable(&r.s);	/* the module's limits below */
	rc = mb_script_parse_file(&r.s, file);
	if (rc) {
		mb_json_error(rc, 0, rc == MB_EXIT_USAGE ? "script error" :
			      "cannot read the script", NULL);
		mb_script_free(&r.s);
		return rc;
	}
	if (dry) {
		dry_run(&r.s);
		mb_script_free(&r.s);
		return 0;
	}
	rc = mb_nl_open(&r.nl);
	if (rc) {
		mb_script_free(&r.s);
		return rc;
	}
	rc = mb_nl_limits(&r.nl);
	if (!rc)
		rc = mb_script_check(&r.s, r.nl.limits.max_io,
				     r.nl.limits.max_zero);
	if (rc == MB_EXIT_USAGE)
		mb_json_error(rc, 0, "script error", NULL);
	if (rc)
		goto out;
	if (peer[0]) {
		/* a queue of a peer: its limits are not known here */
		r.max_cmds = MBATCH_MAX_CMDS_DEFAULT;
		r.max_bytes = MBATCH_MAX_BYTES_DEFAULT;
		rc = 0;
	} else {
		rc = get_limits(&r, queue);
	}
	if (!rc)
		rc = mb_session_open(&r.nl, queue, peer,
				     MBATCH_SESSION_F_OWNED, &r.ref.id, &handle);
	if (rc)
		goto out;
	if (mb_json) {
		mb_jadd_str(mb_json_root(), "queue", queue);
		if (peer[0])
			mb_jadd_str(mb_json_root(), "peer", peer);
		mb_jadd_u64(mb_json_root(), "session", r.ref.id);
		r.batches = mb_jadd_array(mb_json_root(), "batches");
		r.results = mb_jadd_array(mb_json_root(), "results");
	}
	rc = run_items(&r);
	if (rc == MB_EXIT_KERNEL && outstanding(&r))
		collect_all(&r);	/* still print what was accepted */
	rc2 = mb_session_simple(&r.nl, MBATCH_CMD_SESSION_CLOSE, &r.ref);
	if (!rc)
		rc = rc2;
	if (mb_json) {
		struct json_object *o = mb_json_root();

		mb_jadd_u64(o, "submitted", r.submitted);
		mb_jadd_u64(o, "received", r.received);
		mb_jadd_u64(o, "failed", r.failed);
		mb_jadd_u64(o, "collects", r.collects);
		mb_jadd_u64(o, "duplicates", r.dups);
		mb_jadd_u64(o, "gaps", r.gaps);
	} else {
		printf("session %u: %u batches, %llu messages, %llu results, %u failed, %u collects\n",
		       r.ref.id, r.nsent, (unsigned long long)r.submitted,
		       (unsigned long long)r.received, r.failed, r.collects);
	}
out:
	mb_nl_close(&r.nl);
	mb_script_free(&r.s);
	free(r.sent);
	if (!rc && r.failed)
		rc = MB_EXIT_CMDFAIL;
	return rc;
}
