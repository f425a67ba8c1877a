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
 * How many of @msgs (at least 1) fit in one SUBMIT on @nl: the socket's
 * send buffer, MBATCH_MAX_BATCH_MSGS and, when not 0, the session limits
 * @max_cmds and @max_bytes (WRITE and READ payload).
 */
unsigned int mb_submit_fit(const struct mb_nl *nl, const struct mb_smsg *msgs,
			   unsigned int n, uint32_t max_cmds, uint64_t max_bytes);
/*
 * Sends @msgs as one SUBMIT; @batch_id 0 lets the module choose. @name
 * (the script name) makes a rejected message show as NAME:LINE.
 */
int mb_submit_named(struct mb_nl *nl, uint32_t sid, uint64_t batch_id,
		    const struct mb_smsg *msgs, unsigned int n,
		    struct mb_submit_reply *r, const char *name);
int mb_submit(struct mb_nl *nl, uint32_t sid, uint64_t batch_id,
	      const struct mb_smsg *msgs, unsigned int n,
	      struct mb_submit_reply *r);

struct mb_collect_req {
	uint32_t sid;
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
};

struct mb_result {
	uint64_t seq, tag, epoch, start_ns, done_ns, batch, msg_seq;
	uint32_t op, bytes, flags;
	int32_t status;
	const void *data;
	uint32_t data_len;
	bool has_data;
};

typedef int (*mb_result_fn)(const struct mb_result *r, void *arg);

/* Runs one COLLECT dump; @fn sees every result in order. */
int mb_collect(struct mb_nl *nl, const struct mb_collect_req *req,
	       struct mb_collect_hdr *hdr, mb_result_fn fn, void *arg);

/* Output of results: a JSON object, or a table row (and hex data). */
struct json_object *mb_result_json(const struct mb_result *r, bool data);
void mb_result_print_header(bool line);
void mb_result_print(const struct mb_result *r, bool data, long line);

#endif /* MBATCHCTL_IO_H */
