/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one request helper of mbatchctl: a genl socket bound to the mbatch
 * family, requests with extended-ack error reporting and dumps.
 */
#ifndef MBATCHCTL_NL_H
#define MBATCHCTL_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "mbatchctl.h"

struct mb_nl;

/* VERSION_GET's limits of the running module (mb_nl_limits). */
struct mb_limits {
	uint32_t max_io;	/* READ, WRITE */
	uint32_t max_zero;	/* DISCARD, WRITE_ZEROES */
	uint32_t batch_msgs;	/* messages per SUBMIT */
	uint32_t request_bytes;	/* largest request of this socket */
	uint32_t reply_bytes;	/* receive buffer a collect needs */
	uint32_t max_proxy_io;	/* proxied READ, WRITE; 0: no regions */
	uint64_t features;	/* MBATCH_FEAT_* */
};

/*
 * Called once per reply message with its top-level attributes parsed
 * (tb[] keeps the last of repeated attributes; walk nlh for multi-attrs).
 * Called with nlh == NULL before a dump is restarted after NLM_F_DUMP_INTR.
 * Returns 0 or a MB_EXIT_* code, which aborts the request.
 */
typedef int (*mb_reply_fn)(struct nlmsghdr *nlh, struct nlattr **tb,
			   void *arg);

/* Names the origin of message @index of the last SUBMIT (for extack). */
typedef void (*mb_msg_origin_fn)(unsigned int index, char *buf, size_t len,
				 void *arg);

struct mb_nl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	int sndbuf;		/* effective send buffer, bytes */
	struct nl_msg *req;	/* request in flight (for extack offsets) */
	uint32_t last_seq;	/* nlmsg_seq of the last request sent */
	bool have_limits;
	struct mb_limits limits;

	/* per request */
	bool done;
	bool intr;
	int err;		/* -errno from the kernel, 0 */
	int rc;			/* MB_EXIT_* from a reply callback */
	int quiet_errno;	/* do not print this errno (caller handles it) */
	bool quiet;		/* print no error at all (the caller does) */
	mb_reply_fn fn;
	void *arg;
	char extack[512];	/* last kernel message, "" if none */

	mb_msg_origin_fn origin;
	void *origin_arg;
};

#define MB_REQ_RETRY_INTR	(1 << 0)	/* restart dumps on DUMP_INTR */

/* Returns MB_EXIT_OK, MB_EXIT_NOMOD (hint printed) or MB_EXIT_LOCAL. */
int mb_nl_open(struct mb_nl *nl);
void mb_nl_close(struct mb_nl *nl);

/* A new request message for @cmd; NLM_F_DUMP in @flags makes it a dump. */
struct nl_msg *mb_msg_new(struct mb_nl *nl, uint8_t cmd, int flags,
			  size_t size);

/*
 * Sends @msg (consumed), feeds every reply to @fn and waits for the final
 * ACK or NLMSG_DONE. Returns MB_EXIT_OK, MB_EXIT_KERNEL (the kernel's errno
 * is in nl->err and was printed with its extack message), or the code a
 * callback returned, or MB_EXIT_LOCAL.
 */
int mb_nl_request(struct mb_nl *nl, struct nl_msg *msg, mb_reply_fn fn,
		  void *arg, unsigned int flags);

/*
 * Fills nl->limits from VERSION_GET (once per socket); a limit the module
 * does not report is the uAPI constant. Returns MB_EXIT_*.
 */
int mb_nl_limits(struct mb_nl *nl);

/* Puts MBATCH_A_SESSION_ID and, when given, MBATCH_A_SESSION_HANDLE. */
int mb_put_session(struct nl_msg *msg, const struct mb_sref *ref);

/* What a COLLECT_READY_NTF said (mb_nl_wait_ready). */
struct mb_ready {
	bool seen;
	bool timed_out;
	bool lost;		/* none came in time: collected again anyway */
	uint64_t collect_seq;
	uint32_t pending;
	uint64_t done_epoch;
	unsigned int stale;	/* other notifications skipped */
};

/*
 * Takes @nlh if it is the COLLECT_READY_NTF of request @seq and session
 * @sid (after the waiting reply @cseq, 0: any); counts other ones as
 * stale. Returns true if @nlh is a COLLECT_READY_NTF at all.
 */
bool mb_ready_take(struct mb_nl *nl, struct nlmsghdr *nlh, uint32_t seq,
		   uint32_t sid, uint64_t cseq, struct mb_ready *r);
/*
 * Waits up to @ms for that notification on @nl's socket, dropping
 * anything else. Returns MB_EXIT_OK (r->seen), or MB_EXIT_LOCAL (printed)
 * on a timeout or a socket error.
 */
int mb_nl_wait_ready(struct mb_nl *nl, uint32_t seq, uint32_t sid,
		     uint64_t cseq, int ms, struct mb_ready *r);

/* Parse a nest of set @set ("msg", "result", "stats") with its policy. */
int mb_parse_result(struct nlattr *nest, struct nlattr **tb);
int mb_parse_stats(struct nlattr *nest, struct nlattr **tb);
int mb_parse_peer_stats(struct nlattr *nest, struct nlattr **tb);
/* Parses a message of the family (events) with the reply policy. */
int mb_parse_msg(struct nlmsghdr *nlh, struct nlattr **tb);

/*
 * The "events" multicast group on a socket of its own: @fn is called for
 * every notification. mb_events_open returns MB_EXIT_* (printed).
 */
typedef void (*mb_event_fn)(uint8_t cmd, struct nlattr **tb, void *arg);
struct mb_events {
	struct mb_nl nl;
	struct nl_cb *cb;
	mb_event_fn fn;
	void *arg;
	unsigned int overruns;	/* events lost (ENOBUFS) */
};
int mb_events_open(struct mb_events *ev, mb_event_fn fn, void *arg);
int mb_events_fd(struct mb_events *ev);
/* Handles what is queued, without blocking; returns MB_EXIT_*. */
int mb_events_read(struct mb_events *ev);
void mb_events_close(struct mb_events *ev);

/* peer.c */
int mb_peer_get_nl(struct mb_nl *nl, const char *name, bool quiet,
		   struct json_object *arr);

const char *mb_attr_name(int set, unsigned int type);
enum { MB_SET_MAIN, MB_SET_MSG, MB_SET_RESULT, MB_SET_STATS };

/* region.c: one registered region (MBATCH_CMD_REGION_NEW) */
int mb_region_new(struct mb_nl *nl, const void *addr, uint64_t len,
		  uint32_t flags, uint32_t *id);
int mb_region_del(struct mb_nl *nl, uint32_t id);

/* session.c */
int mb_session_open(struct mb_nl *nl, const char *queue, const char *peer,
		    uint32_t flags, uint32_t *id, uint64_t *handle);
int mb_session_simple(struct mb_nl *nl, uint8_t cmd, const struct mb_sref *ref);

/* What SESSION_GET says of one session's payloads (0: not reported). */
struct mb_session_params {
	uint32_t max_io;	/* inline READ, WRITE */
	uint32_t max_proxy_io;	/* proxied READ, WRITE; 0: none */
	uint32_t proxy_align;	/* region offsets align to it */
};
int mb_session_params(struct mb_nl *nl, const struct mb_sref *ref,
		      struct mb_session_params *p);

#define mb_for_each_attr(pos, nlh, rem) \
	nla_for_each_attr(pos, genlmsg_attrdata(nlmsg_data(nlh), 0), \
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem)

#endif /* MBATCHCTL_NL_H */
