// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl submit, checkpoint, resume, batch cancel, collect; the SUBMIT
 * and COLLECT helpers used by run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbatchctl.h"
#include "io.h"
#include "json.h"

#define MB_SUBMIT_HDR		80U	/* nlmsghdr, genlmsghdr, id, handle, batch */
#define MB_SUBMIT_MARGIN	512U
#define MB_READY_MARGIN_MS	2000	/* past the collect's own timeout */

#define MB_MSG_REGION_SIZE	20U	/* region and region-offset, no data */

static uint32_t msg_size(const struct mb_smsg *m)
{
	uint32_t n = MB_MSG_NEST_OVERHEAD + 8;	/* + flags */

	if (m->proxy)
		n += MB_MSG_REGION_SIZE;
	else if (m->op == MBATCH_OP_WRITE)
		n += NLA_ALIGN(m->len);
	return n;
}

unsigned int mb_submit_fit(const struct mb_nl *nl, const struct mb_smsg *msgs,
			   unsigned int n, uint32_t max_cmds, uint64_t max_bytes)
{
	uint64_t room = nl->have_limits && nl->limits.request_bytes ?
			nl->limits.request_bytes : (uint64_t)nl->sndbuf;
	uint64_t budget = room > MB_SUBMIT_HDR + MB_SUBMIT_MARGIN ?
			  room - MB_SUBMIT_HDR - MB_SUBMIT_MARGIN : 65536;
	uint32_t most = nl->have_limits && nl->limits.batch_msgs ?
			nl->limits.batch_msgs : MBATCH_MAX_BATCH_MSGS;
	uint64_t used = 0, payload = 0;
	unsigned int i;

	if (n > most)
		n = most;
	if (max_cmds && n > max_cmds)
		n = max_cmds;
	for (i = 0; i < n; i++) {
		used += msg_size(&msgs[i]);
		/* a proxied payload is the caller's memory, not the kernel's */
		if (!msgs[i].proxy && (msgs[i].op == MBATCH_OP_WRITE ||
				       msgs[i].op == MBATCH_OP_READ))
			payload += msgs[i].len;
		if (used > budget || (max_bytes && payload > max_bytes))
			break;
	}
	return i ? i : 1;
}

static int submit_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct mb_submit_reply *r = arg;

	if (!nlh)
		return 0;
	if (tb[MBATCH_A_BATCH_ID])
		r->batch_id = nla_get_u64(tb[MBATCH_A_BATCH_ID]);
	if (tb[MBATCH_A_BATCH_FIRST_SEQ])
		r->first_seq = nla_get_u64(tb[MBATCH_A_BATCH_FIRST_SEQ]);
	if (tb[MBATCH_A_BATCH_COUNT])
		r->count = nla_get_u32(tb[MBATCH_A_BATCH_COUNT]);
	return 0;
}

static int put_msg(struct nl_msg *msg, const struct mb_smsg *m)
{
	struct nlattr *nest, *data;
	int err;

	nest = nla_nest_start(msg, MBATCH_A_MSG | NLA_F_NESTED);
	if (!nest ||
	    nla_put_u64(msg, MBATCH_MSG_A_TAG, m->tag) ||
	    nla_put_u32(msg, MBATCH_MSG_A_OP, m->op) ||
	    (m->flags && nla_put_u32(msg, MBATCH_MSG_A_FLAGS, m->flags)))
		return -ENOMEM;
	if (m->op != MBATCH_OP_FLUSH && m->op != MBATCH_OP_CHECKPOINT &&
	    (nla_put_u64(msg, MBATCH_MSG_A_OFFSET, m->off) ||
	     nla_put_u32(msg, MBATCH_MSG_A_LEN, m->len)))
		return -ENOMEM;
	if (m->proxy) {
		if (nla_put_u32(msg, MBATCH_MSG_A_REGION, m->region) ||
		    nla_put_u64(msg, MBATCH_MSG_A_REGION_OFFSET, m->region_off))
			return -ENOMEM;
	} else if (m->op == MBATCH_OP_WRITE) {
		data = nla_reserve(msg, MBATCH_MSG_A_DATA, m->len);
		if (!data)
			return -ENOMEM;
		err = mb_smsg_data(m, nla_data(data));
		if (err)
			return err;
	}
	if ((char *)nlmsg_tail(nlmsg_hdr(msg)) - (char *)nest > 0xffff)
		return -EMSGSIZE;
	return nla_nest_end(msg, nest) < 0 ? -EMSGSIZE : 0;
}

struct origin {
	const char *name;
	const struct mb_smsg *msgs;
	unsigned int n;
};

static void msg_origin(unsigned int index, char *buf, size_t len, void *arg)
{
	const struct origin *o = arg;

	if (index < o->n)
		snprintf(buf, len, "%s:%u", o->name, o->msgs[index].line);
	else
		snprintf(buf, len, "?");
}

int mb_submit_named(struct mb_nl *nl, const struct mb_sref *ref,
		    uint64_t batch_id, const struct mb_smsg *msgs,
		    unsigned int n, struct mb_submit_reply *r, const char *name)
{
	struct origin o = { .name = name, .msgs = msgs, .n = n };
	size_t size = MB_SUBMIT_HDR + MB_SUBMIT_MARGIN;
	struct nl_msg *msg;
	unsigned int i;
	int err, rc;

	for (i = 0; i < n; i++)
		size += msg_size(&msgs[i]);
	memset(r, 0, sizeof(*r));
	msg = mb_msg_new(nl, MBATCH_CMD_SUBMIT, 0, size);
	if (mb_put_session(msg, ref) ||
	    (batch_id && nla_put_u64(msg, MBATCH_A_BATCH_ID, batch_id))) {
		nlmsg_free(msg);
		mb_err("out of memory");
		return MB_EXIT_LOCAL;
	}
	for (i = 0; i < n; i++) {
		err = put_msg(msg, &msgs[i]);
		if (err) {
			nlmsg_free(msg);
			if (msgs[i].kind == MB_DATA_FILE && err != -EMSGSIZE &&
			    err != -ENOMEM)
				mb_err("%s:%u: %s: %s", name, msgs[i].line,
				       msgs[i].path, strerror(-err));
			else
				mb_err("%s:%u: cannot build the message: %s",
				       name, msgs[i].line, strerror(-err));
			mb_json_error(MB_EXIT_LOCAL, -err, strerror(-err), NULL);
			return MB_EXIT_LOCAL;
		}
	}
	nl->origin = name ? msg_origin : NULL;
	nl->origin_arg = &o;
	rc = mb_nl_request(nl, msg, submit_reply, r, 0);
	nl->origin = NULL;
	nl->origin_arg = NULL;
	return rc;
}

int mb_submit(struct mb_nl *nl, const struct mb_sref *ref, uint64_t batch_id,
	      const struct mb_smsg *msgs, unsigned int n,
	      struct mb_submit_reply *r)
{
	return mb_submit_named(nl, ref, batch_id, msgs, n, r, NULL);
}

/* ---- collect ---- */

struct collect_ctx {
	struct mb_nl *nl;
	struct mb_collect_hdr *hdr;
	mb_result_fn fn;
	void *arg;
	uint32_t sid;
	struct mb_ready ready;
};

static int collect_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct collect_ctx *c = arg;
	struct mb_collect_hdr *h = c->hdr;
	struct nlattr *a;
	int rem, rc;

	if (!nlh)
		return 0;
	/* the notification may come before the waiting reply's DONE */
	if (mb_ready_take(c->nl, nlh, c->nl->last_seq, c->sid, h->collect_seq,
			  &c->ready))
		return 0;
	if (tb[MBATCH_A_COLLECT_WAITING])
		h->waiting++;
	if (!tb[MBATCH_A_COLLECT_SEQ])
		return 0;
	if (!h->parts++) {
		if (tb[MBATCH_A_SESSION_ID])
			h->session = nla_get_u32(tb[MBATCH_A_SESSION_ID]);
		if (tb[MBATCH_A_COLLECT_SEQ])
			h->collect_seq = nla_get_u64(tb[MBATCH_A_COLLECT_SEQ]);
		if (tb[MBATCH_A_COLLECT_COUNT])
			h->count = nla_get_u32(tb[MBATCH_A_COLLECT_COUNT]);
	}
	/* "pending" of the last part is the freshest */
	if (tb[MBATCH_A_COLLECT_PENDING])
		h->pending = nla_get_u32(tb[MBATCH_A_COLLECT_PENDING]);
	mb_for_each_attr(a, nlh, rem) {
		struct nlattr *rt[MBATCH_RESULT_A_MAX + 1];
		struct mb_result r = { 0 };

		if (nla_type(a) != MBATCH_A_RESULT)
			continue;
		if (mb_parse_result(a, rt) || !rt[MBATCH_RESULT_A_SEQ]) {
			mb_err("malformed result in the collect reply");
			return MB_EXIT_LOCAL;
		}
#define U64(x, f) do { if (rt[x]) r.f = nla_get_u64(rt[x]); } while (0)
#define U32(x, f) do { if (rt[x]) r.f = nla_get_u32(rt[x]); } while (0)
		U64(MBATCH_RESULT_A_SEQ, seq);
		U64(MBATCH_RESULT_A_TAG, tag);
		U32(MBATCH_RESULT_A_OP, op);
		U32(MBATCH_RESULT_A_STATUS, status);
		U32(MBATCH_RESULT_A_BYTES, bytes);
		U64(MBATCH_RESULT_A_EPOCH, epoch);
		U64(MBATCH_RESULT_A_START_NS, start_ns);
		U64(MBATCH_RESULT_A_DONE_NS, done_ns);
		U64(MBATCH_RESULT_A_BATCH_ID, batch);
		U64(MBATCH_RESULT_A_MSG_SEQ, msg_seq);
		U32(MBATCH_RESULT_A_FLAGS, flags);
		U32(MBATCH_RESULT_A_OUTCOME, outcome);
#undef U64
#undef U32
		if (rt[MBATCH_RESULT_A_DATA]) {
			r.data = nla_data(rt[MBATCH_RESULT_A_DATA]);
			r.data_len = nla_len(rt[MBATCH_RESULT_A_DATA]);
			r.has_data = true;
		}
		h->received++;
		rc = c->fn ? c->fn(&r, c->arg) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

static int collect_once(struct mb_nl *nl, const struct mb_collect_req *req,
			struct collect_ctx *c)
{
	struct mb_collect_hdr *hdr = c->hdr;
	struct nl_msg *msg;
	int rc;

	memset(hdr, 0, sizeof(*hdr));
	msg = mb_msg_new(nl, MBATCH_CMD_COLLECT, NLM_F_DUMP, 0);
	if (mb_put_session(msg, &req->ref) ||
	    (req->has_ack && nla_put_u64(msg, MBATCH_A_COLLECT_ACK, req->ack)) ||
	    (req->flags && nla_put_u32(msg, MBATCH_A_COLLECT_FLAGS, req->flags)) ||
	    (req->wait_min && nla_put_u32(msg, MBATCH_A_COLLECT_MIN, req->wait_min)) ||
	    (req->has_epoch && nla_put_u64(msg, MBATCH_A_COLLECT_EPOCH, req->epoch)) ||
	    (req->has_timeout &&
	     nla_put_u32(msg, MBATCH_A_COLLECT_TIMEOUT_MS, req->timeout_ms)) ||
	    (req->max && nla_put_u32(msg, MBATCH_A_COLLECT_MAX, req->max))) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(nl, msg, collect_reply, c, 0);
	hdr->intr = nl->intr;
	if (!rc && hdr->received != hdr->count)
		fprintf(stderr, "mbatchctl: warning: collect %llu announced %u results, %u received\n",
			(unsigned long long)hdr->collect_seq, hdr->count,
			hdr->received);
	return rc;
}

int mb_collect(struct mb_nl *nl, const struct mb_collect_req *req,
	       struct mb_collect_hdr *hdr, mb_result_fn fn, void *arg)
{
	struct collect_ctx c = { .nl = nl, .hdr = hdr, .fn = fn, .arg = arg,
				 .sid = req->ref.id };
	struct mb_collect_req again = { .ref = req->ref, .max = req->max };
	uint32_t seq;
	int rc, ms;

	rc = collect_once(nl, req, &c);
	if (rc || !hdr->waiting)
		return rc;
	/* nothing yet: the module tells this socket when to collect again */
	seq = nl->last_seq;
	ms = (req->has_timeout ? (int)req->timeout_ms :
	      MBATCH_COLLECT_TIMEOUT_MAX_MS) + MB_READY_MARGIN_MS;
	rc = mb_nl_wait_ready(nl, seq, req->ref.id, hdr->collect_seq, ms,
			      &c.ready);
	if (rc)
		return rc;
	rc = collect_once(nl, &again, &c);
	hdr->waited = true;
	hdr->timed_out = c.ready.timed_out;
	return rc;
}

/* ---- output ---- */

static const char *errname(int32_t status)
{
	const char *n = status < 0 ? strerrorname_np(-status) : NULL;

	return n ? n : "?";
}

struct json_object *mb_result_json(const struct mb_result *r, bool data)
{
	struct json_object *o = json_object_new_object(), *f;

	mb_jadd_u64(o, "seq", r->seq);
	mb_jadd_u64(o, "tag", r->tag);
	mb_jadd_str(o, "op", mb_op_name(r->op));
	if (r->outcome)
		mb_jadd_str(o, "outcome", mb_outcome_name(r->outcome));
	mb_jadd_s64(o, "status", r->status);
	mb_jadd_str(o, "error", r->status ? strerror(-r->status) : "");
	if (r->status)
		mb_jadd_str(o, "errno", errname(r->status));
	mb_jadd_u64(o, "bytes", r->bytes);
	mb_jadd_u64(o, "epoch", r->epoch);
	mb_jadd_u64(o, "start_ns", r->start_ns);
	mb_jadd_u64(o, "done_ns", r->done_ns);
	mb_jadd_u64(o, "batch", r->batch);
	mb_jadd_u64(o, "msg_seq", r->msg_seq);
	f = mb_jadd_array(o, "flags");
	if (r->flags & MBATCH_RESULT_F_REORDERED)
		json_object_array_add(f, json_object_new_string("reordered"));
	if (r->flags & MBATCH_RESULT_F_MERGED)
		json_object_array_add(f, json_object_new_string("merged"));
	if (r->flags & MBATCH_RESULT_F_PROXIED)
		json_object_array_add(f, json_object_new_string("proxied"));
	if (r->flags & MBATCH_RESULT_F_RESTORED)
		json_object_array_add(f, json_object_new_string("restored"));
	if (data && r->has_data)
		mb_jadd_hex(o, "data", r->data, r->data_len);
	return o;
}

void mb_result_print_header(bool line)
{
	if (line)
		printf("%6s ", "LINE");
	printf("%8s %8s %-12s %-10s %-9s %8s %6s %8s %8s %10s %s\n", "SEQ",
	       "TAG", "OP", "STATUS", "OUTCOME", "BYTES", "EPOCH", "BATCH",
	       "MSGSEQ", "LAT_US", "FLAGS");
}

/* What a failed result means, in words. */
static void print_why(const struct mb_result *r)
{
	if (r->outcome == MBATCH_OUTCOME_UNKNOWN)
		printf("  may or may not have run: %s", mb_status_str(r->status));
	else if (r->outcome == MBATCH_OUTCOME_NOT_SENT)
		printf("  never sent, did not run: %s",
		       mb_status_str(r->status));
	else if (r->status)
		printf("  %s", mb_status_str(r->status));
}

void mb_result_print(const struct mb_result *r, bool data, long line)
{
	char status[32], lat[32];
	uint32_t i;

	if (r->status)
		snprintf(status, sizeof(status), "-%s", errname(r->status));
	else
		snprintf(status, sizeof(status), "ok");
	if (r->start_ns && r->done_ns >= r->start_ns)
		snprintf(lat, sizeof(lat), "%llu",
			 (unsigned long long)(r->done_ns - r->start_ns) / 1000);
	else
		snprintf(lat, sizeof(lat), "-");
	if (line >= 0)
		printf("%6ld ", line);
	printf("%8llu %8llu %-12s %-10s %-9s %8u %6llu %8llu %8llu %10s %s%s%s%s%s",
	       (unsigned long long)r->seq, (unsigned long long)r->tag,
	       mb_op_name(r->op), status, mb_outcome_name(r->outcome),
	       r->bytes, (unsigned long long)r->epoch,
	       (unsigned long long)r->batch, (unsigned long long)r->msg_seq,
	       lat, r->flags & MBATCH_RESULT_F_REORDERED ? "R" : "",
	       r->flags & MBATCH_RESULT_F_MERGED ? "M" : "",
	       r->flags & MBATCH_RESULT_F_PROXIED ? "P" : "",
	       r->flags & MBATCH_RESULT_F_RESTORED ? "J" : "",
	       r->flags & (MBATCH_RESULT_F_REORDERED | MBATCH_RESULT_F_MERGED |
			   MBATCH_RESULT_F_PROXIED |
			   MBATCH_RESULT_F_RESTORED) ? "" : "-");
	print_why(r);
	putchar('\n');
	if (!data || !r->has_data)
		return;
	for (i = 0; i < r->data_len; i++) {
		if (!(i % 32))
			printf("        %08x  ", i);
		printf("%02x", ((const unsigned char *)r->data)[i]);
		if (i % 32 == 31 || i + 1 == r->data_len)
			putchar('\n');
		else if (i % 8 == 7)
			putchar(' ');
	}
}

/* ---- commands ---- */

static void print_batch(struct json_object *arr, const struct mb_submit_reply *r)
{
	struct json_object *o;

	if (!mb_json) {
		printf("batch %llu first-seq %llu count %u\n",
		       (unsigned long long)r->batch_id,
		       (unsigned long long)r->first_seq, r->count);
		return;
	}
	o = json_object_new_object();
	mb_jadd_u64(o, "batch", r->batch_id);
	mb_jadd_u64(o, "first_seq", r->first_seq);
	mb_jadd_u64(o, "count", r->count);
	json_object_array_add(arr, o);
}

/* Sends every batch of @s; exported for run's dry-run listing too. */
static int submit_script(struct mb_nl *nl, const struct mb_sref *ref,
			 uint64_t batch_id, struct mb_script *s)
{
	struct json_object *arr = NULL;
	struct mb_submit_reply r;
	unsigned int i, done, n;
	int rc;

	if (mb_json) {
		mb_jadd_u64(mb_json_root(), "session", ref->id);
		arr = mb_jadd_array(mb_json_root(), "batches");
	}
	for (i = 0; i < s->nitems; i++) {
		struct mb_item *it = &s->items[i];

		for (done = 0; done < it->nmsgs; done += n) {
			n = mb_submit_fit(nl, it->msgs + done,
					  it->nmsgs - done, 0, 0);
			if (batch_id && (n != it->nmsgs || s->nitems != 1))
				return mb_usage("batch-id needs the messages to fit in one SUBMIT");
			rc = mb_submit_named(nl, ref, batch_id, it->msgs + done,
					     n, &r, s->name);
			if (rc)
				return rc;
			print_batch(arr, &r);
		}
	}
	return 0;
}

/*
 * The messages of "submit S MSG...": one per argument ("write 0 4K"), or,
 * when no argument has a blank in it, the words split at each op
 * (submit 1 write 0 4K read 0 4K), as a shell leaves them unquoted.
 * "arg:N" names the argument a message starts at.
 */
static int submit_args(struct mb_script *s, int n, char **args)
{
	bool words = n > 1;
	int i, j;

	for (i = 0; i < n && words; i++)
		words = !strpbrk(args[i], " \t");
	for (i = 0; i < n; i = j) {
		size_t len = strlen(args[i]) + 1;
		char *line;

		for (j = i + 1; words && j < n && !mb_script_is_op(args[j]); j++)
			len += strlen(args[j]) + 1;
		if (!words)
			j = i + 1;
		line = malloc(len);
		if (!line)
			return MB_EXIT_LOCAL;
		strcpy(line, args[i]);
		for (int k = i + 1; k < j; k++) {
			strcat(line, " ");
			strcat(line, args[k]);
		}
		mb_script_line(s, line, i + 1);
		free(line);
	}
	return 0;
}

int cmd_submit(int argc, char **argv)
{
	const char *file = NULL;
	uint64_t batch_id = 0;
	struct mb_script s;
	struct mb_sref ref;
	struct mb_nl nl;
	int i = 2, rc;

	if (argc < 3)
		return mb_usage("submit ID[:HANDLE] [batch-id N] MSG... | submit ID[:HANDLE] [batch-id N] -f FILE|-");
	rc = mb_parse_session_ref(argv[1], &ref);
	if (rc)
		return rc;
	if (!strcmp(argv[i], "batch-id")) {
		if (i + 1 >= argc || mb_parse_u64(argv[i + 1], &batch_id) ||
		    !batch_id)
			return mb_usage("bad batch-id");
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "-f")) {
		if (i + 2 != argc)
			return mb_usage("submit ID[:HANDLE] -f FILE|-");
		file = argv[i + 1];
	}
	mb_script_init(&s, "arg");
	s.submit = true;
	s.no_batch = !file;
	mb_script_encodable(&s);
	if (file) {
		rc = mb_script_parse_file(&s, file);
	} else {
		if (i >= argc)
			return mb_usage("submit: no messages");
		int first = i;

		rc = submit_args(&s, argc - first, argv + first);
		if (!rc)
			rc = mb_script_finish(&s);
	}
	if (!rc && !s.nmsgs)
		rc = mb_usage("submit: the script holds no message");
	if (rc) {
		if (rc == MB_EXIT_USAGE)
			mb_json_error(rc, 0, "script error", NULL);
		mb_script_free(&s);
		return rc;
	}
	rc = mb_nl_open(&nl);
	if (rc) {
		mb_script_free(&s);
		return rc;
	}
	rc = mb_nl_limits(&nl);
	if (!rc) {
		/* submit sends every payload inline */
		struct mb_script_limits l = {
			.max_io = nl.limits.max_io,
			.max_zero = nl.limits.max_zero,
		};

		rc = mb_script_check(&s, &l);
	}
	if (rc == MB_EXIT_USAGE)
		mb_json_error(rc, 0, "script error", NULL);
	if (!rc)
		rc = submit_script(&nl, &ref, batch_id, &s);
	mb_nl_close(&nl);
	mb_script_free(&s);
	return rc;
}

int cmd_checkpoint(int argc, char **argv)
{
	struct mb_smsg m = { .op = MBATCH_OP_CHECKPOINT };
	struct mb_submit_reply r;
	struct mb_sref ref;
	struct mb_nl nl;
	int i, rc;

	if (argc < 2)
		return mb_usage("checkpoint ID[:HANDLE] [durable] [continue]");
	rc = mb_parse_session_ref(argv[1], &ref);
	if (rc)
		return rc;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "durable"))
			m.flags |= MBATCH_MSG_F_DURABLE;
		else if (!strcmp(argv[i], "continue"))
			m.flags |= MBATCH_MSG_F_CONTINUE;
		else
			return mb_usage("checkpoint: unexpected '%s'", argv[i]);
	}
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	rc = mb_submit(&nl, &ref, 0, &m, 1, &r);
	mb_nl_close(&nl);
	if (rc)
		return rc;
	if (mb_json) {
		mb_jadd_u64(mb_json_root(), "session", ref.id);
		print_batch(mb_jadd_array(mb_json_root(), "batches"), &r);
	} else {
		print_batch(NULL, &r);
	}
	return 0;
}

int cmd_resume(int argc, char **argv)
{
	struct mb_sref ref;
	struct mb_nl nl;
	int rc;

	if (argc != 2)
		return mb_usage("resume ID[:HANDLE]");
	rc = mb_parse_session_ref(argv[1], &ref);
	if (rc)
		return rc;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	rc = mb_session_simple(&nl, MBATCH_CMD_RESUME, &ref);
	mb_nl_close(&nl);
	if (!rc && mb_json)
		mb_jadd_u64(mb_json_root(), "resumed", ref.id);
	return rc;
}

static int cancel_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	long *n = arg;

	if (nlh && tb[MBATCH_A_BATCH_COUNT])
		*n = nla_get_u32(tb[MBATCH_A_BATCH_COUNT]);
	return 0;
}

static int batch_cancel(int argc, char **argv)
{
	struct nl_msg *msg;
	long n = -1;
	struct mb_sref ref;
	struct mb_nl nl;
	uint64_t batch;
	int rc;

	if (argc != 3)
		return mb_usage("batch cancel ID[:HANDLE] BATCH");
	rc = mb_parse_session_ref(argv[1], &ref);
	if (rc)
		return rc;
	if (mb_parse_u64(argv[2], &batch))
		return mb_usage("bad batch id '%s'", argv[2]);
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_BATCH_CANCEL, 0, 0);
	if (mb_put_session(msg, &ref) ||
	    nla_put_u64(msg, MBATCH_A_BATCH_ID, batch)) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, cancel_reply, &n, 0);
	mb_nl_close(&nl);
	if (!rc && mb_json) {
		mb_jadd_u64(mb_json_root(), "session", ref.id);
		mb_jadd_u64(mb_json_root(), "batch", batch);
		if (n >= 0)
			mb_jadd_u64(mb_json_root(), "cancelled", n);
	} else if (!rc && n >= 0) {
		printf("batch %llu: %ld commands cancelled\n",
		       (unsigned long long)batch, n);
	}
	return rc;
}

int cmd_batch(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "cancel", batch_cancel, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "batch", argc, argv);
}

struct collect_out {
	struct json_object *arr;
	bool data;
	bool header;
	unsigned int failed;
};

static int collect_print(const struct mb_result *r, void *arg)
{
	struct collect_out *o = arg;

	if (!mb_result_ok(r))
		o->failed++;
	if (o->arr) {
		json_object_array_add(o->arr, mb_result_json(r, o->data));
		return 0;
	}
	if (!o->header) {
		mb_result_print_header(false);
		o->header = true;
	}
	mb_result_print(r, o->data, -1);
	return 0;
}

int cmd_collect(int argc, char **argv)
{
	struct mb_collect_req req = { .flags = MBATCH_COLLECT_F_ACK_DELIVERED };
	struct json_object *root = NULL;
	struct collect_out out = { 0 };
	struct mb_collect_hdr h;
	struct mb_nl nl;
	int i, rc;

	if (argc < 2)
		return mb_usage("collect ID[:HANDLE] [wait-min N] [wait-epoch E] [timeout MS] [max N] [ack SEQ|no-ack] [data]");
	rc = mb_parse_session_ref(argv[1], &req.ref);
	if (rc)
		return rc;
	for (i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (!strcmp(k, "data")) {
			out.data = true;
			continue;
		}
		if (!strcmp(k, "no-ack")) {
			req.flags = 0;
			req.has_ack = false;
			continue;
		}
		if (!v)
			return mb_usage("collect: '%s' needs a value", k);
		i++;
		if (!strcmp(k, "wait-min")) {
			bad = mb_parse_u32(v, &req.wait_min);
		} else if (!strcmp(k, "wait-epoch")) {
			bad = mb_parse_u64(v, &req.epoch);
			req.has_epoch = true;
		} else if (!strcmp(k, "timeout")) {
			bad = mb_parse_u32(v, &req.timeout_ms);
			req.has_timeout = true;
		} else if (!strcmp(k, "max")) {
			bad = mb_parse_u32(v, &req.max);
		} else if (!strcmp(k, "ack")) {
			bad = mb_parse_u64(v, &req.ack);
			req.has_ack = true;
			req.flags = 0;
		} else {
			return mb_usage("collect: unknown option '%s'", k);
		}
		if (bad)
			return mb_usage("collect: bad %s '%s'", k, v);
	}
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	if (mb_json) {
		root = mb_json_root();
		out.arr = json_object_new_array();
	}
	rc = mb_collect(&nl, &req, &h, collect_print, &out);
	mb_nl_close(&nl);
	if (rc) {
		json_object_put(out.arr);
		return rc;
	}
	if (root) {
		mb_jadd_u64(root, "session", h.session ? h.session : req.ref.id);
		mb_jadd_u64(root, "collect_seq", h.collect_seq);
		mb_jadd_u64(root, "count", h.count);
		mb_jadd_u64(root, "pending", h.pending);
		mb_jadd_u64(root, "failed", out.failed);
		mb_jadd_bool(root, "waited", h.waited);
		mb_jadd_bool(root, "timed_out", h.timed_out);
		json_object_object_add(root, "results", out.arr);
	} else {
		printf("session %u collect %llu: %u results, %u pending, %u failed%s\n",
		       h.session ? h.session : req.ref.id,
		       (unsigned long long)h.collect_seq, h.count, h.pending,
		       out.failed, h.timed_out ? " (wait timed out)" : "");
	}
	return out.failed ? MB_EXIT_CMDFAIL : 0;
}
