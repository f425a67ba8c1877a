/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal raw-socket Generic Netlink client for the mbatch selftests.
 *
 * Every request returns 0 or -errno and leaves the kernel's extended ACK
 * (message text, offending attribute offset, missing attribute type) in
 * sock->err, so a test can assert both the errno and the extack.
 *
 * Session handles: mb_session_open*() record the handle of every session
 * they open in a process-wide table (per network namespace and session
 * id), and every SUBMIT, COLLECT, RESUME, BATCH_CANCEL and SESSION_CLOSE
 * sent through mb_transact() that carries a session id of the table and no
 * MBATCH_A_SESSION_HANDLE gets it appended, so any socket of the process
 * may drive any session the process opened. mb_sock_handle() changes that
 * per socket, for ownership tests.
 */
#ifndef MBATCH_NL_H
#define MBATCH_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/mbatch.h>

#define MB_MAX_OPS	64

struct mb_err {
	int err;			/* positive errno, 0 on success */
	char msg[512];			/* NLMSGERR_ATTR_MSG, "" if none */
	int has_off;
	uint32_t off;			/* NLMSGERR_ATTR_OFFS (from nlmsghdr) */
	int has_miss;
	uint32_t miss_type;		/* NLMSGERR_ATTR_MISS_TYPE */
	int has_miss_nest;
	uint32_t miss_nest;		/* NLMSGERR_ATTR_MISS_NEST */
};

struct mb_op_info {
	uint32_t id;
	uint32_t flags;			/* GENL_ADMIN_PERM, GENL_CMD_CAP_* */
};

/* What mb_transact() puts in MBATCH_A_SESSION_HANDLE on one socket. */
enum mb_handle_mode {
	MB_HANDLE_AUTO,			/* the table's, when it knows the id */
	MB_HANDLE_NONE,			/* never any */
	MB_HANDLE_GIVEN,		/* always mb_sock.handle (may be wrong) */
};

struct mb_sock {
	int fd;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t version;		/* CTRL_ATTR_VERSION */
	uint32_t hdrsize;
	uint32_t maxattr;
	uint32_t mcgrp_events;		/* 0 if the group was not found */
	int nops;
	struct mb_op_info ops[MB_MAX_OPS];
	char *rbuf;
	size_t rbuf_len;
	struct mb_err err;		/* extack of the last request */
	uint64_t netns;			/* inode of its network namespace */
	enum mb_handle_mode handle_mode;
	uint64_t handle;		/* MB_HANDLE_GIVEN */
	uint32_t last_seq;		/* nlmsg_seq of the last request */
};

/* Request builder. Offsets returned are from the start of the nlmsghdr,
 * i.e. directly comparable with mb_err.off.
 */
struct mb_req {
	char *buf;
	size_t len;
	size_t cap;
};

typedef int (*mb_cb)(const struct nlmsghdr *nlh, void *arg);

int mb_open(struct mb_sock *s);
void mb_close(struct mb_sock *s);
/* How this socket's per-session requests carry the handle (default AUTO). */
void mb_sock_handle(struct mb_sock *s, enum mb_handle_mode mode,
		    uint64_t handle);
/* The process-wide table: the handle of session sid in s's namespace, 0 if
 * unknown; set (handle 0: forget) by hand, e.g. for a handle passed on.
 */
uint64_t mb_handle_get(const struct mb_sock *s, uint32_t sid);
void mb_handle_set(const struct mb_sock *s, uint32_t sid, uint64_t handle);
/* Resolve any genl family by name on an open socket; fills id/version. */
int mb_resolve(struct mb_sock *s, const char *name);

void mb_req_init(struct mb_req *r, struct mb_sock *s, uint8_t cmd,
		 uint16_t nlflags);
/* Raw header access for malformed-request tests. */
struct nlmsghdr *mb_req_nlh(struct mb_req *r);
struct genlmsghdr *mb_req_genl(struct mb_req *r);
size_t mb_put(struct mb_req *r, uint16_t type, const void *data, size_t len);
size_t mb_put_u8(struct mb_req *r, uint16_t type, uint8_t v);
size_t mb_put_u16(struct mb_req *r, uint16_t type, uint16_t v);
size_t mb_put_u32(struct mb_req *r, uint16_t type, uint32_t v);
size_t mb_put_u64(struct mb_req *r, uint16_t type, uint64_t v);
size_t mb_put_str(struct mb_req *r, uint16_t type, const char *str);
size_t mb_nest_start(struct mb_req *r, uint16_t type);
void mb_nest_end(struct mb_req *r, size_t off);
void mb_req_free(struct mb_req *r);
/* Send, receive every reply (multipart dumps included) until the ACK or
 * NLMSG_DONE; cb (may be NULL) sees each data message.
 */
int mb_transact(struct mb_sock *s, struct mb_req *r, mb_cb cb, void *arg);

/* Attribute parsing. */
int mb_parse(const struct nlattr **tb, int max, const void *data, int len);
int mb_parse_genl(const struct nlattr **tb, int max,
		  const struct nlmsghdr *nlh);
int mb_parse_nested(const struct nlattr **tb, int max,
		    const struct nlattr *nest);
uint32_t mb_get_u32(const struct nlattr *a);
uint64_t mb_get_u64(const struct nlattr *a);
const char *mb_get_str(const struct nlattr *a);

/* High level. */
struct mb_stats {
	uint64_t v[MBATCH_STATS_A_MAX + 1];
	uint32_t present;		/* bit per attribute */
};

struct mb_queue_cfg {
	const char *name;
	const char *dev;
	uint32_t depth;			/* 0: omit */
	uint32_t max_cmds;		/* 0: omit */
	uint64_t max_bytes;		/* 0: omit */
	uint32_t journal;		/* enum mbatch_journal_kind, 0: omit */
	const char *journal_dev;	/* NULL: omit */
	uint64_t journal_size;		/* 0: omit */
};

struct mb_queue_info {
	char name[MBATCH_QUEUE_NAME_MAX + 8];
	char dev[MBATCH_DEV_PATH_MAX + 8];
	uint32_t depth, max_cmds, block_size, sessions;
	uint64_t max_bytes, capacity;
	uint32_t journal;		/* MBATCH_A_QUEUE_JOURNAL, 0: none */
	char journal_dev[MBATCH_DEV_PATH_MAX + 8];
	uint64_t journal_size, journal_gen;
	uint64_t log_seq, log_records, log_room, log_writes; /* its log */
	uint32_t restored, unrestored;	/* sessions of its last use */
	unsigned char journal_uuid[16];
	int has_stats;
	struct mb_stats stats;
};

struct mb_session_info {
	uint32_t id, flags, state;
	uint64_t epoch, done_epoch;
	int32_t error;
	uint32_t max_io, halts;		/* MBATCH_A_SESSION_MAX_IO, _HALTS */
	uint32_t max_proxy_io;		/* MBATCH_A_SESSION_MAX_PROXY_IO */
	uint32_t proxy_align;		/* MBATCH_A_SESSION_PROXY_ALIGN */
	int has_handle;			/* a reply carried a handle (never
					 * SESSION_GET or dumps)
					 */
	char queue[MBATCH_QUEUE_NAME_MAX + 8];
	int has_stats;
	struct mb_stats stats;
};

/* mb_cmd.proxy: what of a proxied payload a message carries. */
#define MB_PROXY_REGION		1	/* MBATCH_MSG_A_REGION */
#define MB_PROXY_OFFSET		2	/* MBATCH_MSG_A_REGION_OFFSET */
#define MB_PROXY		(MB_PROXY_REGION | MB_PROXY_OFFSET)

struct mb_cmd {
	uint64_t tag;
	uint32_t op;
	uint32_t flags;			/* sent only when non-zero */
	uint64_t offset;		/* sent for READ/WRITE/DISCARD/WZ */
	uint32_t len;
	const void *data;		/* sent when non-NULL */
	uint32_t data_len;
	uint32_t proxy;			/* MB_PROXY_*: sent when set */
	uint32_t region;		/* region id */
	uint64_t region_offset;
};

struct mb_submit_reply {
	uint64_t batch_id;
	uint64_t first_seq;
	uint32_t count;
};

#define MB_R_HAS(r, a)	(((r)->present >> (a)) & 1)

struct mb_result {
	uint64_t seq, tag, epoch, start_ns, done_ns, batch_id, msg_seq;
	uint32_t op, bytes, flags;
	uint32_t outcome;		/* enum mbatch_outcome, 0 if absent */
	int32_t status;
	uint32_t present;		/* bit per MBATCH_RESULT_A_* */
	void *data;
	uint32_t data_len;
};

struct mb_collect_opts {
	uint32_t session;
	int has_ack;
	uint64_t ack;
	uint32_t flags;			/* MBATCH_COLLECT_F_*, sent if != 0 */
	int has_min;
	uint32_t min;
	int has_epoch;
	uint64_t epoch;
	int has_timeout;
	uint32_t timeout_ms;
	int has_max;
	uint32_t max;
};

/*
 * mb_collect() with a condition that does not hold yet: the kernel replies
 * with one MBATCH_A_COLLECT_WAITING part; mb_collect() then waits for the
 * COLLECT_READY_NTF (request's nlmsg_seq, same session) for at most the
 * request's timeout plus MB_COLLECT_READY_MARGIN_MS, and collects again
 * with the same max, no condition and no acknowledgement (the first
 * request applied it). A signal ends the wait with -EINTR; when no
 * notification comes in time it collects again all the same (ready_lost,
 * timed_out); notifications of other requests are skipped and counted in
 * nstale. The fields
 * describe the second reply; waited, timed_out, wait_cseq and ready_*
 * describe the wait.
 */
#define MB_COLLECT_READY_MARGIN_MS	2000

struct mb_collect {
	uint32_t session;
	uint64_t cseq;
	uint32_t count;			/* MBATCH_A_COLLECT_COUNT */
	uint32_t pending;
	int nparts;
	int nwaiting;			/* parts with MBATCH_A_COLLECT_WAITING */
	int inconsistent;		/* parts disagreed on seq/count/pending */
	int waited;			/* a COLLECT_READY_NTF was awaited */
	int timed_out;			/* it carried MBATCH_A_COLLECT_TIMED_OUT */
	int ready_lost;			/* none came: collected again anyway */
	uint64_t wait_cseq;		/* collect seq of the waiting reply */
	uint64_t ready_cseq;		/* ... as the notification names it */
	uint32_t ready_pending;		/* its MBATCH_A_COLLECT_PENDING */
	uint64_t ready_done_epoch;	/* its MBATCH_A_SESSION_DONE_EPOCH */
	int nstale;			/* other COLLECT_READY_NTFs skipped */
	uint32_t nres;
	struct mb_result *res;
};

struct mb_event {
	uint8_t cmd;			/* MBATCH_CMD_*_NTF */
	char queue[MBATCH_QUEUE_NAME_MAX + 8];
	char peer[MBATCH_PEER_NAME_MAX + 8];	/* LINK_* */
	char reason[128];			/* LINK_DOWN */
	uint32_t session;
	uint64_t epoch;
	int32_t error;
	int has_result;
	struct mb_result result;
};

/* VERSION_GET's limits of the running module (0: not reported). */
struct mb_limits {
	uint32_t max_io, max_zero, batch_msgs, request_bytes, reply_bytes;
	uint32_t max_proxy_io;		/* MBATCH_A_LIMIT_MAX_PROXY_IO */
};

/* A registered region as REGION_NEW and REGION_GET report it. */
struct mb_region_info {
	uint32_t id, flags, users, portid;
	uint64_t addr, len;
	uint32_t present;		/* bit per MBATCH_A_REGION_* - REGION_ID */
};

#define MB_RI_HAS(ri, a)	(((ri)->present >> ((a) - MBATCH_A_REGION_ID)) & 1)

int mb_version(struct mb_sock *s, uint32_t *ver, char *modver, size_t mlen,
	       uint64_t *features);
int mb_version_limits(struct mb_sock *s, uint32_t *ver, char *modver,
		      size_t mlen, uint64_t *features, struct mb_limits *lim);
int mb_queue_new(struct mb_sock *s, const struct mb_queue_cfg *c);
int mb_queue_del(struct mb_sock *s, const char *name);
int mb_queue_get(struct mb_sock *s, const char *name,
		 struct mb_queue_info *qi);
/* Dump all queues of the namespace; returns the number or -errno. */
int mb_queue_dump(struct mb_sock *s, struct mb_queue_info *arr, int max);
int mb_queue_exists(struct mb_sock *s, const char *name);
int mb_session_open(struct mb_sock *s, const char *queue, uint32_t flags,
		    uint32_t *sid);
/* A session on QUEUE of peer PEER (a remote session); PEER NULL: local. */
int mb_session_open_remote(struct mb_sock *s, const char *queue,
			   const char *peer, uint32_t flags, uint32_t *sid);
/* The same, also returning the handle (and the reply in si if not NULL). */
int mb_session_open_h(struct mb_sock *s, const char *queue, const char *peer,
		      uint32_t flags, uint32_t *sid, uint64_t *handle,
		      struct mb_session_info *si);
int mb_session_close(struct mb_sock *s, uint32_t sid);
int mb_session_get(struct mb_sock *s, uint32_t sid,
		   struct mb_session_info *si);
int mb_session_dump(struct mb_sock *s, struct mb_session_info *arr, int max);
int mb_submit(struct mb_sock *s, uint32_t sid, uint64_t batch_id,
	      const struct mb_cmd *cmds, int n, struct mb_submit_reply *rep);
/* One MBATCH_A_MSG of a SUBMIT being built, as mb_submit() puts it; the
 * offset of its nest is returned, its end is then r->len.
 */
size_t mb_put_msg(struct mb_req *r, const struct mb_cmd *c);
int mb_collect(struct mb_sock *s, const struct mb_collect_opts *o,
	       struct mb_collect *c);
void mb_collect_free(struct mb_collect *c);
int mb_resume(struct mb_sock *s, uint32_t sid);
int mb_batch_cancel(struct mb_sock *s, uint32_t sid, uint64_t batch_id);
int mb_events_join(struct mb_sock *s);
/* 1 on event, 0 on timeout, -errno on error. */
int mb_event_recv(struct mb_sock *s, struct mb_event *ev, int timeout_ms);

struct mb_peer_cfg {
	const char *name;
	const char *addr;		/* NULL: omit */
	const char *psk_file;		/* NULL: omit */
	uint32_t keepalive_ms;		/* 0: omit */
	uint32_t link_timeout_ms;	/* 0: omit */
	uint64_t in_bytes;		/* 0: omit */
	uint32_t in_cmds;		/* 0: omit */
};

struct mb_peer_info {
	char name[MBATCH_PEER_NAME_MAX + 8];
	char addr[MBATCH_PEER_ADDR_MAX + 8];
	char reason[128];
	uint32_t state, digest, keepalive_ms, link_timeout_ms, rtt_us;
	uint64_t in_bytes;		/* the budget of its sessions here */
	uint32_t in_cmds;
	int32_t link_error;
	uint64_t stats[MBATCH_PEER_STATS_A_MAX + 1];
};

/*
 * Registered regions. mb_region_new() registers [addr, addr + len) with
 * flags (0: no MBATCH_A_REGION_FLAGS) and fills ri (may be NULL) from the
 * reply; mb_region_dump() returns the number of regions of the namespace
 * (arr holds the first max) or -errno.
 */
int mb_region_new(struct mb_sock *s, uint64_t addr, uint64_t len,
		  uint32_t flags, struct mb_region_info *ri);
int mb_region_del(struct mb_sock *s, uint32_t id);
int mb_region_get(struct mb_sock *s, uint32_t id, struct mb_region_info *ri);
int mb_region_dump(struct mb_sock *s, struct mb_region_info *arr, int max);

int mb_peer_new(struct mb_sock *s, const struct mb_peer_cfg *c);
int mb_peer_del(struct mb_sock *s, const char *name);
int mb_peer_attach(struct mb_sock *s, const char *name, int fd,
		   uint32_t digest);
int mb_peer_get(struct mb_sock *s, const char *name, struct mb_peer_info *pi);
int mb_peer_dump(struct mb_sock *s, struct mb_peer_info *arr, int max);

/* Convenience: collect, acknowledging by cursor, until `want` new results
 * were seen and a final collect acknowledged them all (or timeout).
 * Results are appended to *all (realloc'd), *nall updated; if *nall > 0
 * the last result already held is acknowledged by the first collect.
 * Returns 0 or -errno.
 */
int mb_collect_all(struct mb_sock *s, uint32_t sid, uint32_t want,
		   int timeout_ms, struct mb_result **all, uint32_t *nall);
void mb_results_free(struct mb_result *r, uint32_t n);

/* Helpers for tests. */
uint64_t mb_now_ns(void);
/* Creates a null_blk device through nullb.sh; opts like
 * "size=64 blocksize=512 memory_backed=1". Fills name and /dev path.
 */
int mb_nullb_create(const char *opts, char *name, size_t nlen,
		    char *path, size_t plen);
int mb_nullb_remove(const char *name);
/* Value of field (1-based) of /sys/block/NAME/stat, or -1; 16 = flushes. */
long long mb_blk_stat(const char *name, int field);
/* Unique short names for queues, devices. */
void mb_unique(char *buf, size_t len, const char *prefix);
/* Print the last error (for TH_LOG). */
const char *mb_strerr(const struct mb_sock *s);
/* Case-insensitive substring test. */
int mb_contains(const char *hay, const char *needle);
const char *mb_op_name(uint32_t op);
const char *mb_outcome_name(uint32_t outcome);

#endif /* MBATCH_NL_H */
