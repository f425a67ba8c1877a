/* SPDX-License-Identifier: GPL-2.0 */
/* SUBMIT and COLLECT, shared by the single-step commands and "run". */
#ifndef MBATCHCTL_IO_H
#define MBATCHCTL_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"
#include "script.h"

struct mb_submit_reply {
	uint64_t batch_id;
	uint64_t first_seq;
	uint32_t count;
};

/*
 * How many of @msgs (at least 1) fit in one SUBMIT on @nl: the module's
 * request size and batch limits (nl->limits when known, else the socket's
 * send buffer and MBATCH_MAX_BATCH_MSGS) and, when not 0, the session
 * limits @max_cmds and @max_bytes (WRITE and READ payload).
 */
unsigned int mb_submit_fit(const struct mb_nl *nl, const struct mb_smsg *msgs,
			   unsigned int n, uint32_t max_cmds, uint64_t max_bytes);
/*
 * Sends @msgs as one SUBMIT; @batch_id 0 lets the module choose. @name
 * (the script name) makes a rejected message show as NAME:LINE.
 */
int mb_submit_named(struct mb_nl *nl, const struct mb_sref *ref,
		    uint64_t batch_id, const struct mb_smsg *msgs,
		    unsigned int n, struct mb_submit_reply *r, const char *name);
int mb_submit(struct mb_nl *nl, const struct mb_sref *ref, uint64_t batch_id,
	      const struct mb_smsg *msgs, unsigned int n,
	      struct mb_submit_reply *r);

struct mb_collect_req {
	struct mb_sref ref;
	bool has_ack;
	uint64_t ack;
	uint32_t flags;		/* MBATCH_COLLECT_F_* */
	uint32_t wait_min;
	bool has_epoch;
	uint64_t epoch;
	bool has_timeout;
	uint32_t timeout_ms;
	uint32_t max;
};

struct mb_collect_hdr {
	uint32_t session;
	uint64_t collect_seq;
	uint32_t count;
	uint32_t pending;
	unsigned int parts;
	unsigned int received;	/* results seen in this reply */
	bool intr;		/* NLM_F_DUMP_INTR was set */
	unsigned int waiting;	/* parts with MBATCH_A_COLLECT_WAITING */
	bool waited;		/* it waited for COLLECT_READY_NTF */
	bool timed_out;		/* which came after the timeout */
};

struct mb_result {
	uint64_t seq, tag, epoch, start_ns, done_ns, batch, msg_seq;
	uint32_t op, bytes, flags;
	uint32_t outcome;	/* enum mbatch_outcome, 0 if absent */
	int32_t status;
	const void *data;
	uint32_t data_len;
	bool has_data;
};

typedef int (*mb_result_fn)(const struct mb_result *r, void *arg);

/* Ran well: outcome DONE (or none reported) and status 0. */
static inline bool mb_result_ok(const struct mb_result *r)
{
	return !r->status && (!r->outcome || r->outcome == MBATCH_OUTCOME_DONE);
}

/*
 * Runs one COLLECT dump; @fn sees every result in order. When the module
 * answers that it has to wait, waits on @nl for the COLLECT_READY_NTF (the
 * request's timeout plus a margin) and collects again with the same max,
 * without condition and acknowledgement; @hdr describes that second reply.
 */
int mb_collect(struct mb_nl *nl, const struct mb_collect_req *req,
	       struct mb_collect_hdr *hdr, mb_result_fn fn, void *arg);

/* Output of results: a JSON object, or a table row (and hex data). */
struct json_object *mb_result_json(const struct mb_result *r, bool data);
void mb_result_print_header(bool line);
void mb_result_print(const struct mb_result *r, bool data, long line);

#endif /* MBATCHCTL_IO_H */
