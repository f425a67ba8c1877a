// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal raw-socket Generic Netlink client for the mbatch selftests.
 * No libnl: messages are built by hand so that tests can also build
 * malformed ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>

#include "mbatch_nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

#define RBUF_LEN	(1U << 20)

static int mb_err_set(struct mb_sock *s, int err)
{
	s->err.err = err;
	return err ? -err : 0;
}

/* ---- session handles: one table for the whole process ---------------- */

struct mb_hent {
	uint64_t netns;
	uint32_t sid;
	uint64_t handle;
};

static pthread_mutex_t htab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_hent *htab;
static size_t htab_n, htab_cap;

/* a child forked while another thread holds the lock must not inherit it */
static void htab_lock_fork(void)
{
	pthread_mutex_lock(&htab_lock);
}

static void htab_unlock_fork(void)
{
	pthread_mutex_unlock(&htab_lock);
}

static void __attribute__((constructor)) htab_init(void)
{
	pthread_atfork(htab_lock_fork, htab_unlock_fork, htab_unlock_fork);
}

static struct mb_hent *htab_find(uint64_t netns, uint32_t sid)
{
	size_t i;

	for (i = 0; i < htab_n; i++)
		if (htab[i].netns == netns && htab[i].sid == sid)
			return &htab[i];
	return NULL;
}

uint64_t mb_handle_get(const struct mb_sock *s, uint32_t sid)
{
	struct mb_hent *e;
	uint64_t h = 0;

	pthread_mutex_lock(&htab_lock);
	e = htab_find(s->netns, sid);
	if (e)
		h = e->handle;
	pthread_mutex_unlock(&htab_lock);
	return h;
}

void mb_handle_set(const struct mb_sock *s, uint32_t sid, uint64_t handle)
{
	struct mb_hent *e;

	pthread_mutex_lock(&htab_lock);
	e = htab_find(s->netns, sid);
	if (e && !handle) {
		*e = htab[--htab_n];
	} else if (e) {
		e->handle = handle;
	} else if (handle) {
		if (htab_n == htab_cap) {
			size_t ncap = htab_cap ? 2 * htab_cap : 64;
			struct mb_hent *n = realloc(htab, ncap * sizeof(*n));

			if (!n)
				abort();
			htab = n;
			htab_cap = ncap;
		}
		htab[htab_n++] = (struct mb_hent){ s->netns, sid, handle };
	}
	pthread_mutex_unlock(&htab_lock);
}

void mb_sock_handle(struct mb_sock *s, enum mb_handle_mode mode,
		    uint64_t handle)
{
	s->handle_mode = mode;
	s->handle = handle;
}

static int needs_handle(uint8_t cmd)
{
	return cmd == MBATCH_CMD_SUBMIT || cmd == MBATCH_CMD_COLLECT ||
	       cmd == MBATCH_CMD_RESUME || cmd == MBATCH_CMD_BATCH_CANCEL ||
	       cmd == MBATCH_CMD_SESSION_CLOSE;
}

/*
 * Appends MBATCH_A_SESSION_HANDLE to a per-session request of the family
 * as the socket's mode says, unless the request has one already or its
 * attributes do not parse (a malformed request stays as the test built
 * it). Returns the session id the request names, 0 if none.
 */
static uint32_t add_handle(struct mb_sock *s, struct mb_req *r)
{
	const struct nlmsghdr *nlh = mb_req_nlh(r);
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
	uint32_t sid = 0;
	uint64_t h;

	if (s->family == GENL_ID_CTRL || nlh->nlmsg_type != s->family ||
	    r->len < off || !needs_handle(mb_req_genl(r)->cmd))
		return 0;
	while (off < r->len) {
		const struct nlattr *a = (const struct nlattr *)(r->buf + off);

		if (r->len - off < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
		    a->nla_len > r->len - off)
			return 0;
		if ((a->nla_type & NLA_TYPE_MASK) == MBATCH_A_SESSION_HANDLE)
			return 0;
		if ((a->nla_type & NLA_TYPE_MASK) == MBATCH_A_SESSION_ID &&
		    a->nla_len == NLA_HDRLEN + sizeof(uint32_t))
			sid = mb_get_u32(a);
		off += NLA_ALIGN(a->nla_len);
	}
	switch (s->handle_mode) {
	case MB_HANDLE_NONE:
		return sid;
	case MB_HANDLE_GIVEN:
		h = s->handle;
		break;
	default:
		h = sid ? mb_handle_get(s, sid) : 0;
		break;
	}
	if (h)
		mb_put_u64(r, MBATCH_A_SESSION_HANDLE, h);
	return sid;
}

static int is_ready_ntf(const struct mb_sock *s, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);

	return nlh->nlmsg_type == s->family &&
	       nlh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN &&
	       g->cmd == MBATCH_CMD_COLLECT_READY_NTF;
}

void mb_req_init(struct mb_req *r, struct mb_sock *s, uint8_t cmd,
		 uint16_t nlflags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	r->cap = 4096;
	r->buf = calloc(1, r->cap);
	if (!r->buf)
		abort();
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
	nlh = (struct nlmsghdr *)r->buf;
	nlh->nlmsg_type = s->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | nlflags;
	g = (struct genlmsghdr *)(r->buf + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = MBATCH_GENL_VERSION;
}

struct nlmsghdr *mb_req_nlh(struct mb_req *r)
{
	return (struct nlmsghdr *)r->buf;
}

struct genlmsghdr *mb_req_genl(struct mb_req *r)
{
	return (struct genlmsghdr *)(r->buf + NLMSG_HDRLEN);
}

static void mb_req_grow(struct mb_req *r, size_t need)
{
	while (r->len + need > r->cap) {
		size_t ncap = r->cap * 2;
		char *n = realloc(r->buf, ncap);

		if (!n)
			abort();
		memset(n + r->cap, 0, ncap - r->cap);
		r->buf = n;
		r->cap = ncap;
	}
}

size_t mb_put(struct mb_req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a;
	size_t off = r->len;

	if (len > 0xffff - NLA_HDRLEN) {
		/* nla_len is 16 bits: a test asked for the impossible */
		fprintf(stderr, "mb_put: attribute %u of %zu bytes\n", type, len);
		abort();
	}
	mb_req_grow(r, NLA_HDRLEN + NLA_ALIGN(len));
	a = (struct nlattr *)(r->buf + r->len);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len && data)
		memcpy(r->buf + r->len + NLA_HDRLEN, data, len);
	r->len += NLA_HDRLEN + NLA_ALIGN(len);
	return off;
}

size_t mb_put_u8(struct mb_req *r, uint16_t type, uint8_t v)
{
	return mb_put(r, type, &v, sizeof(v));
}

size_t mb_put_u16(struct mb_req *r, uint16_t type, uint16_t v)
{
	return mb_put(r, type, &v, sizeof(v));
}

size_t mb_put_u32(struct mb_req *r, uint16_t type, uint32_t v)
{
	return mb_put(r, type, &v, sizeof(v));
}

size_t mb_put_u64(struct mb_req *r, uint16_t type, uint64_t v)
{
	return mb_put(r, type, &v, sizeof(v));
}

size_t mb_put_str(struct mb_req *r, uint16_t type, const char *str)
{
	return mb_put(r, type, str, strlen(str) + 1);
}

size_t mb_nest_start(struct mb_req *r, uint16_t type)
{
	return mb_put(r, type | NLA_F_NESTED, NULL, 0);
}

void mb_nest_end(struct mb_req *r, size_t off)
{
	struct nlattr *a = (struct nlattr *)(r->buf + off);

	a->nla_len = r->len - off;
}

void mb_req_free(struct mb_req *r)
{
	free(r->buf);
	r->buf = NULL;
}

int mb_parse(const struct nlattr **tb, int max, const void *data, int len)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a +
					    NLA_ALIGN(a->nla_len));
	}
	return 0;
}

int mb_parse_genl(const struct nlattr **tb, int max,
		  const struct nlmsghdr *nlh)
{
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;

	return mb_parse(tb, max, p, len);
}

int mb_parse_nested(const struct nlattr **tb, int max,
		    const struct nlattr *nest)
{
	return mb_parse(tb, max, (const char *)nest + NLA_HDRLEN,
			nest->nla_len - NLA_HDRLEN);
}

uint32_t mb_get_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (a && a->nla_len - NLA_HDRLEN >= 4)
		memcpy(&v, (const char *)a + NLA_HDRLEN, 4);
	return v;
}

uint64_t mb_get_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	if (a && a->nla_len - NLA_HDRLEN >= 8)
		memcpy(&v, (const char *)a + NLA_HDRLEN, 8);
	else if (a)
		v = mb_get_u32(a);
	return v;
}

const char *mb_get_str(const struct nlattr *a)
{
	return a ? (const char *)a + NLA_HDRLEN : "";
}

static void mb_parse_ack_tlvs(struct mb_sock *s, const char *p, int len)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlattr *m;

	mb_parse(tb, NLMSGERR_ATTR_MAX, p, len);
	m = tb[NLMSGERR_ATTR_MSG];
	if (m) {
		size_t l = m->nla_len - NLA_HDRLEN;

		if (l >= sizeof(s->err.msg))
			l = sizeof(s->err.msg) - 1;
		memcpy(s->err.msg, mb_get_str(m), l);
		s->err.msg[l] = 0;
	}
	if (tb[NLMSGERR_ATTR_OFFS]) {
		s->err.has_off = 1;
		s->err.off = mb_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	if (tb[NLMSGERR_ATTR_MISS_TYPE]) {
		s->err.has_miss = 1;
		s->err.miss_type = mb_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	}
	if (tb[NLMSGERR_ATTR_MISS_NEST]) {
		s->err.has_miss_nest = 1;
		s->err.miss_nest = mb_get_u32(tb[NLMSGERR_ATTR_MISS_NEST]);
	}
}

/* Returns 1 when the transaction is finished, 0 to continue, <0 on a
 * local failure.
 */
static int mb_handle(struct mb_sock *s, const struct nlmsghdr *nlh,
		     uint32_t seq, mb_cb cb, void *arg, int *cb_err)
{
	if (nlh->nlmsg_seq != seq)
		return 0;	/* notification or stale reply */
	/* COLLECT_READY_NTF carries our seq; it may come before the DONE */
	if (nlh->nlmsg_pid != s->portid && !is_ready_ntf(s, nlh))
		return 0;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nlh);
		const char *tlv;
		int tlen;

		s->err.err = -e->error;
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
			size_t skip = sizeof(*e);

			if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
				skip += e->msg.nlmsg_len - sizeof(e->msg);
			tlv = (const char *)e + NLMSG_ALIGN(skip);
			tlen = (int)nlh->nlmsg_len - NLMSG_HDRLEN -
			       (int)NLMSG_ALIGN(skip);
			if (tlen > 0)
				mb_parse_ack_tlvs(s, tlv, tlen);
		}
		return 1;
	}
	if (nlh->nlmsg_type == NLMSG_DONE) {
		int err = 0;

		if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
			memcpy(&err, NLMSG_DATA(nlh), sizeof(int));
		s->err.err = err < 0 ? -err : 0;
		if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
		    nlh->nlmsg_len > NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)))
			mb_parse_ack_tlvs(s, (const char *)NLMSG_DATA(nlh) +
					  NLMSG_ALIGN(sizeof(int)),
					  nlh->nlmsg_len - NLMSG_HDRLEN -
					  NLMSG_ALIGN(sizeof(int)));
		return 1;
	}
	if (cb && !*cb_err)
		*cb_err = cb(nlh, arg);
	return 0;
}

int mb_transact(struct mb_sock *s, struct mb_req *r, mb_cb cb, void *arg)
{
	struct nlmsghdr *nlh = mb_req_nlh(r);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint32_t seq = ++s->seq;
	uint32_t sid = add_handle(s, r);
	int cb_err = 0;
	ssize_t n;

	memset(&s->err, 0, sizeof(s->err));
	s->last_seq = seq;
	nlh = mb_req_nlh(r);		/* add_handle may have moved it */
	nlh->nlmsg_len = r->len;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;

	do {
		n = sendto(s->fd, r->buf, r->len, 0, (struct sockaddr *)&sa,
			   sizeof(sa));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return mb_err_set(s, errno);

	for (;;) {
		struct nlmsghdr *h;
		int left;

		n = recv(s->fd, s->rbuf, s->rbuf_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mb_err_set(s, errno);
		}
		left = (int)n;
		for (h = (struct nlmsghdr *)s->rbuf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (mb_handle(s, h, seq, cb, arg, &cb_err)) {
				if (s->err.err)
					return -s->err.err;
				if (cb_err)
					return mb_err_set(s, cb_err < 0 ?
							  -cb_err : cb_err);
				if (sid && mb_req_genl(r)->cmd ==
				    MBATCH_CMD_SESSION_CLOSE &&
				    s->handle_mode == MB_HANDLE_AUTO)
					mb_handle_set(s, sid, 0);
				return 0;
			}
		}
	}
}

static int ctrl_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct mb_sock *s = arg;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlattr *a;
	int rem;

	mb_parse_genl(tb, CTRL_ATTR_MAX, nlh);
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return -ENOENT;
	memcpy(&s->family, mb_get_str(tb[CTRL_ATTR_FAMILY_ID]),
	       sizeof(s->family));
	s->version = mb_get_u32(tb[CTRL_ATTR_VERSION]);
	s->hdrsize = mb_get_u32(tb[CTRL_ATTR_HDRSIZE]);
	s->maxattr = mb_get_u32(tb[CTRL_ATTR_MAXATTR]);
	s->nops = 0;
	if (tb[CTRL_ATTR_OPS]) {
		a = (const struct nlattr *)((const char *)tb[CTRL_ATTR_OPS] +
					    NLA_HDRLEN);
		rem = tb[CTRL_ATTR_OPS]->nla_len - NLA_HDRLEN;
		while (rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
		       a->nla_len <= rem) {
			const struct nlattr *ot[CTRL_ATTR_OP_MAX + 1];

			mb_parse_nested(ot, CTRL_ATTR_OP_MAX, a);
			if (s->nops < MB_MAX_OPS && ot[CTRL_ATTR_OP_ID]) {
				s->ops[s->nops].id = mb_get_u32(ot[CTRL_ATTR_OP_ID]);
				s->ops[s->nops].flags =
					mb_get_u32(ot[CTRL_ATTR_OP_FLAGS]);
				s->nops++;
			}
			rem -= NLA_ALIGN(a->nla_len);
			a = (const struct nlattr *)((const char *)a +
						    NLA_ALIGN(a->nla_len));
		}
	}
	s->mcgrp_events = 0;
	if (tb[CTRL_ATTR_MCAST_GROUPS]) {
		a = (const struct nlattr *)((const char *)
			tb[CTRL_ATTR_MCAST_GROUPS] + NLA_HDRLEN);
		rem = tb[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;
		while (rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
		       a->nla_len <= rem) {
			const struct nlattr *gt[CTRL_ATTR_MCAST_GRP_MAX + 1];

			mb_parse_nested(gt, CTRL_ATTR_MCAST_GRP_MAX, a);
			if (gt[CTRL_ATTR_MCAST_GRP_NAME] &&
			    !strcmp(mb_get_str(gt[CTRL_ATTR_MCAST_GRP_NAME]),
				    MBATCH_MCGRP_EVENTS))
				s->mcgrp_events =
					mb_get_u32(gt[CTRL_ATTR_MCAST_GRP_ID]);
			rem -= NLA_ALIGN(a->nla_len);
			a = (const struct nlattr *)((const char *)a +
						    NLA_ALIGN(a->nla_len));
		}
	}
	return 0;
}

int mb_resolve(struct mb_sock *s, const char *name)
{
	struct mb_req r;
	int ret;

	s->family = GENL_ID_CTRL;
	mb_req_init(&r, s, CTRL_CMD_GETFAMILY, 0);
	mb_req_genl(&r)->version = 1;
	mb_put_str(&r, CTRL_ATTR_FAMILY_NAME, name);
	ret = mb_transact(s, &r, ctrl_cb, s);
	mb_req_free(&r);
	if (ret)
		s->family = 0;
	return ret;
}

int mb_open(struct mb_sock *s)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t sl = sizeof(sa);
	int one = 1, sz = 8 << 20;
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s->fd < 0)
		return -errno;
	setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(s->fd, (struct sockaddr *)&sa, &sl)) {
		ret = -errno;
		close(s->fd);
		s->fd = -1;
		return ret;
	}
	s->portid = sa.nl_pid;
	s->seq = (uint32_t)time(NULL);
	/* the socket lives in the namespace of the thread that made it */
	{
		struct stat st;

		if (!stat("/proc/thread-self/ns/net", &st) ||
		    !stat("/proc/self/ns/net", &st))
			s->netns = st.st_ino;
	}
	s->rbuf_len = RBUF_LEN;
	s->rbuf = malloc(s->rbuf_len);
	if (!s->rbuf) {
		close(s->fd);
		s->fd = -1;
		return -ENOMEM;
	}
	ret = mb_resolve(s, MBATCH_GENL_NAME);
	if (ret) {
		int keep = s->err.err;

		mb_close(s);
		s->err.err = keep;
		return ret;
	}
	return 0;
}

void mb_close(struct mb_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->rbuf);
	s->rbuf = NULL;
}

/* ------------------------------------------------------------------ */

static void parse_stats(struct mb_stats *st, const struct nlattr *nest)
{
	const struct nlattr *tb[MBATCH_STATS_A_MAX + 1];
	int i;

	memset(st, 0, sizeof(*st));
	mb_parse_nested(tb, MBATCH_STATS_A_MAX, nest);
	for (i = 1; i <= MBATCH_STATS_A_MAX; i++) {
		if (!tb[i])
			continue;
		st->v[i] = mb_get_u64(tb[i]);
		st->present |= 1U << i;
	}
}

static void copy_str(char *dst, size_t dlen, const struct nlattr *a)
{
	if (!a) {
		dst[0] = 0;
		return;
	}
	snprintf(dst, dlen, "%.*s", (int)(a->nla_len - NLA_HDRLEN),
		 mb_get_str(a));
}

static int version_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	void **out = arg;
	struct mb_limits *l = out[4];

	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	if (l) {
		l->max_io = mb_get_u32(tb[MBATCH_A_LIMIT_MAX_IO]);
		l->max_zero = mb_get_u32(tb[MBATCH_A_LIMIT_MAX_ZERO]);
		l->batch_msgs = mb_get_u32(tb[MBATCH_A_LIMIT_BATCH_MSGS]);
		l->request_bytes = mb_get_u32(tb[MBATCH_A_LIMIT_REQUEST_BYTES]);
		l->reply_bytes = mb_get_u32(tb[MBATCH_A_LIMIT_REPLY_BYTES]);
		l->max_proxy_io = mb_get_u32(tb[MBATCH_A_LIMIT_MAX_PROXY_IO]);
	}
	if (out[0])
		*(uint32_t *)out[0] = mb_get_u32(tb[MBATCH_A_VERSION]);
	if (out[1])
		copy_str(out[1], *(size_t *)out[3], tb[MBATCH_A_MODULE_VERSION]);
	if (out[2])
		*(uint64_t *)out[2] = mb_get_u64(tb[MBATCH_A_FEATURES]);
	return 0;
}

int mb_version(struct mb_sock *s, uint32_t *ver, char *modver, size_t mlen,
	       uint64_t *features)
{
	return mb_version_limits(s, ver, modver, mlen, features, NULL);
}

int mb_version_limits(struct mb_sock *s, uint32_t *ver, char *modver,
		      size_t mlen, uint64_t *features, struct mb_limits *lim)
{
	void *out[5] = { ver, modver, features, &mlen, lim };
	struct mb_req r;
	int ret;

	if (lim)
		memset(lim, 0, sizeof(*lim));
	mb_req_init(&r, s, MBATCH_CMD_VERSION_GET, 0);
	ret = mb_transact(s, &r, version_cb, out);
	mb_req_free(&r);
	return ret;
}

int mb_queue_new(struct mb_sock *s, const struct mb_queue_cfg *c)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_QUEUE_NEW, 0);
	if (c->name)
		mb_put_str(&r, MBATCH_A_QUEUE_NAME, c->name);
	if (c->dev)
		mb_put_str(&r, MBATCH_A_QUEUE_DEV, c->dev);
	if (c->depth)
		mb_put_u32(&r, MBATCH_A_QUEUE_DEPTH, c->depth);
	if (c->max_cmds)
		mb_put_u32(&r, MBATCH_A_QUEUE_MAX_CMDS, c->max_cmds);
	if (c->max_bytes)
		mb_put_u64(&r, MBATCH_A_QUEUE_MAX_BYTES, c->max_bytes);
	if (c->journal)
		mb_put_u32(&r, MBATCH_A_QUEUE_JOURNAL, c->journal);
	if (c->journal_dev)
		mb_put_str(&r, MBATCH_A_QUEUE_JOURNAL_DEV, c->journal_dev);
	if (c->journal_size)
		mb_put_u64(&r, MBATCH_A_QUEUE_JOURNAL_SIZE, c->journal_size);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

/* A request carrying one name and expecting only an ACK. */
static int name_req(struct mb_sock *s, uint8_t cmd, uint16_t attr,
		    const char *name)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, cmd, 0);
	mb_put_str(&r, attr, name);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

int mb_queue_del(struct mb_sock *s, const char *name)
{
	return name_req(s, MBATCH_CMD_QUEUE_DEL, MBATCH_A_QUEUE_NAME, name);
}

static void parse_queue(struct mb_queue_info *qi, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];

	memset(qi, 0, sizeof(*qi));
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	copy_str(qi->name, sizeof(qi->name), tb[MBATCH_A_QUEUE_NAME]);
	copy_str(qi->dev, sizeof(qi->dev), tb[MBATCH_A_QUEUE_DEV]);
	qi->depth = mb_get_u32(tb[MBATCH_A_QUEUE_DEPTH]);
	qi->max_cmds = mb_get_u32(tb[MBATCH_A_QUEUE_MAX_CMDS]);
	qi->max_bytes = mb_get_u64(tb[MBATCH_A_QUEUE_MAX_BYTES]);
	qi->block_size = mb_get_u32(tb[MBATCH_A_QUEUE_BLOCK_SIZE]);
	qi->capacity = mb_get_u64(tb[MBATCH_A_QUEUE_CAPACITY]);
	qi->sessions = mb_get_u32(tb[MBATCH_A_QUEUE_SESSIONS]);
	qi->journal = mb_get_u32(tb[MBATCH_A_QUEUE_JOURNAL]);
	copy_str(qi->journal_dev, sizeof(qi->journal_dev),
		 tb[MBATCH_A_QUEUE_JOURNAL_DEV]);
	qi->journal_size = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_SIZE]);
	qi->journal_gen = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_GENERATION]);
	qi->log_seq = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_SEQ]);
	qi->log_records = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_RECORDS]);
	qi->log_room = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_ROOM]);
	qi->log_writes = mb_get_u64(tb[MBATCH_A_QUEUE_JOURNAL_LOG_WRITES]);
	qi->restored = mb_get_u32(tb[MBATCH_A_QUEUE_JOURNAL_RESTORED]);
	qi->unrestored = mb_get_u32(tb[MBATCH_A_QUEUE_JOURNAL_UNRESTORED]);
	if (tb[MBATCH_A_QUEUE_JOURNAL_UUID] &&
	    tb[MBATCH_A_QUEUE_JOURNAL_UUID]->nla_len == NLA_HDRLEN + 16)
		memcpy(qi->journal_uuid,
		       mb_get_str(tb[MBATCH_A_QUEUE_JOURNAL_UUID]), 16);
	if (tb[MBATCH_A_STATS]) {
		qi->has_stats = 1;
		parse_stats(&qi->stats, tb[MBATCH_A_STATS]);
	}
}

static int queue_one_cb(const struct nlmsghdr *nlh, void *arg)
{
	parse_queue(arg, nlh);
	return 0;
}

int mb_queue_get(struct mb_sock *s, const char *name,
		 struct mb_queue_info *qi)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_QUEUE_GET, 0);
	mb_put_str(&r, MBATCH_A_QUEUE_NAME, name);
	ret = mb_transact(s, &r, queue_one_cb, qi);
	mb_req_free(&r);
	return ret;
}

struct arr_ctx {
	void *arr;
	int max;
	int n;
};

static int queue_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct arr_ctx *c = arg;
	struct mb_queue_info tmp;

	parse_queue(&tmp, nlh);
	if (c->n < c->max)
		((struct mb_queue_info *)c->arr)[c->n] = tmp;
	c->n++;
	return 0;
}

int mb_queue_dump(struct mb_sock *s, struct mb_queue_info *arr, int max)
{
	struct arr_ctx c = { arr, max, 0 };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_QUEUE_GET, NLM_F_DUMP);
	ret = mb_transact(s, &r, queue_dump_cb, &c);
	mb_req_free(&r);
	return ret ? ret : c.n;
}

int mb_queue_exists(struct mb_sock *s, const char *name)
{
	struct mb_queue_info qi[256];
	int n, i;

	n = mb_queue_dump(s, qi, 256);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < 256; i++)
		if (!strcmp(qi[i].name, name))
			return 1;
	return 0;
}

static void parse_session(struct mb_session_info *si,
			  const struct nlmsghdr *nlh);

struct open_ctx {
	struct mb_session_info si;
	uint64_t handle;
};

static int open_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	struct open_ctx *o = arg;

	parse_session(&o->si, nlh);
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	o->handle = mb_get_u64(tb[MBATCH_A_SESSION_HANDLE]);
	return 0;
}

int mb_session_open(struct mb_sock *s, const char *queue, uint32_t flags,
		    uint32_t *sid)
{
	return mb_session_open_h(s, queue, NULL, flags, sid, NULL, NULL);
}

int mb_session_open_remote(struct mb_sock *s, const char *queue,
			   const char *peer, uint32_t flags, uint32_t *sid)
{
	return mb_session_open_h(s, queue, peer, flags, sid, NULL, NULL);
}

int mb_session_open_h(struct mb_sock *s, const char *queue, const char *peer,
		      uint32_t flags, uint32_t *sid, uint64_t *handle,
		      struct mb_session_info *si)
{
	struct open_ctx o;
	struct mb_req r;
	int ret;

	memset(&o, 0, sizeof(o));
	*sid = 0;
	if (handle)
		*handle = 0;
	mb_req_init(&r, s, MBATCH_CMD_SESSION_OPEN, 0);
	mb_put_str(&r, MBATCH_A_QUEUE_NAME, queue);
	if (peer)
		mb_put_str(&r, MBATCH_A_PEER_NAME, peer);
	if (flags)
		mb_put_u32(&r, MBATCH_A_SESSION_FLAGS, flags);
	ret = mb_transact(s, &r, open_cb, &o);
	mb_req_free(&r);
	if (si)
		*si = o.si;
	if (ret)
		return ret;
	/* a v2 module returns both; a handle of 0 would prove nothing */
	if (!o.si.id || !o.si.has_handle || !o.handle) {
		snprintf(s->err.msg, sizeof(s->err.msg),
			 "session-open reply without %s",
			 o.si.id ? "a session handle" : "a session id");
		return mb_err_set(s, EPROTO);
	}
	*sid = o.si.id;
	if (handle)
		*handle = o.handle;
	mb_handle_set(s, o.si.id, o.handle);
	return 0;
}

static int sid_req(struct mb_sock *s, uint8_t cmd, uint32_t sid)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, cmd, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

int mb_session_close(struct mb_sock *s, uint32_t sid)
{
	return sid_req(s, MBATCH_CMD_SESSION_CLOSE, sid);
}

int mb_resume(struct mb_sock *s, uint32_t sid)
{
	return sid_req(s, MBATCH_CMD_RESUME, sid);
}

static void parse_session(struct mb_session_info *si,
			  const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];

	memset(si, 0, sizeof(*si));
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	si->id = mb_get_u32(tb[MBATCH_A_SESSION_ID]);
	si->flags = mb_get_u32(tb[MBATCH_A_SESSION_FLAGS]);
	si->state = mb_get_u32(tb[MBATCH_A_SESSION_STATE]);
	si->epoch = mb_get_u64(tb[MBATCH_A_SESSION_EPOCH]);
	si->done_epoch = mb_get_u64(tb[MBATCH_A_SESSION_DONE_EPOCH]);
	si->error = (int32_t)mb_get_u32(tb[MBATCH_A_SESSION_ERROR]);
	si->max_io = mb_get_u32(tb[MBATCH_A_SESSION_MAX_IO]);
	si->halts = mb_get_u32(tb[MBATCH_A_SESSION_HALTS]);
	si->max_proxy_io = mb_get_u32(tb[MBATCH_A_SESSION_MAX_PROXY_IO]);
	si->proxy_align = mb_get_u32(tb[MBATCH_A_SESSION_PROXY_ALIGN]);
	si->has_handle = tb[MBATCH_A_SESSION_HANDLE] != NULL;
	copy_str(si->queue, sizeof(si->queue), tb[MBATCH_A_QUEUE_NAME]);
	if (tb[MBATCH_A_STATS]) {
		si->has_stats = 1;
		parse_stats(&si->stats, tb[MBATCH_A_STATS]);
	}
}

static int session_one_cb(const struct nlmsghdr *nlh, void *arg)
{
	parse_session(arg, nlh);
	return 0;
}

int mb_session_get(struct mb_sock *s, uint32_t sid,
		   struct mb_session_info *si)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_SESSION_GET, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
	ret = mb_transact(s, &r, session_one_cb, si);
	mb_req_free(&r);
	return ret;
}

static int session_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct arr_ctx *c = arg;
	struct mb_session_info tmp;

	parse_session(&tmp, nlh);
	if (c->n < c->max)
		((struct mb_session_info *)c->arr)[c->n] = tmp;
	c->n++;
	return 0;
}

int mb_session_dump(struct mb_sock *s, struct mb_session_info *arr, int max)
{
	struct arr_ctx c = { arr, max, 0 };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_SESSION_GET, NLM_F_DUMP);
	ret = mb_transact(s, &r, session_dump_cb, &c);
	mb_req_free(&r);
	return ret ? ret : c.n;
}

static int submit_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	struct mb_submit_reply *rep = arg;

	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	rep->batch_id = mb_get_u64(tb[MBATCH_A_BATCH_ID]);
	rep->first_seq = mb_get_u64(tb[MBATCH_A_BATCH_FIRST_SEQ]);
	rep->count = mb_get_u32(tb[MBATCH_A_BATCH_COUNT]);
	return 0;
}

static int op_has_range(uint32_t op)
{
	return op == MBATCH_OP_READ || op == MBATCH_OP_WRITE ||
	       op == MBATCH_OP_DISCARD || op == MBATCH_OP_WRITE_ZEROES;
}

size_t mb_put_msg(struct mb_req *r, const struct mb_cmd *c)
{
	size_t nest = mb_nest_start(r, MBATCH_A_MSG);

	mb_put_u64(r, MBATCH_MSG_A_TAG, c->tag);
	mb_put_u32(r, MBATCH_MSG_A_OP, c->op);
	if (c->flags)
		mb_put_u32(r, MBATCH_MSG_A_FLAGS, c->flags);
	if (op_has_range(c->op)) {
		mb_put_u64(r, MBATCH_MSG_A_OFFSET, c->offset);
		mb_put_u32(r, MBATCH_MSG_A_LEN, c->len);
	}
	if (c->data)
		mb_put(r, MBATCH_MSG_A_DATA, c->data, c->data_len);
	if (c->proxy & MB_PROXY_REGION)
		mb_put_u32(r, MBATCH_MSG_A_REGION, c->region);
	if (c->proxy & MB_PROXY_OFFSET)
		mb_put_u64(r, MBATCH_MSG_A_REGION_OFFSET, c->region_offset);
	mb_nest_end(r, nest);
	return nest;
}

int mb_submit(struct mb_sock *s, uint32_t sid, uint64_t batch_id,
	      const struct mb_cmd *cmds, int n, struct mb_submit_reply *rep)
{
	struct mb_submit_reply dummy;
	struct mb_req r;
	int i, ret;

	if (!rep)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	mb_req_init(&r, s, MBATCH_CMD_SUBMIT, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
	if (batch_id)
		mb_put_u64(&r, MBATCH_A_BATCH_ID, batch_id);
	for (i = 0; i < n; i++)
		mb_put_msg(&r, &cmds[i]);
	ret = mb_transact(s, &r, submit_cb, rep);
	mb_req_free(&r);
	return ret;
}

static void parse_result(struct mb_result *res, const struct nlattr *nest)
{
	const struct nlattr *tb[MBATCH_RESULT_A_MAX + 1];
	int i;

	memset(res, 0, sizeof(*res));
	mb_parse_nested(tb, MBATCH_RESULT_A_MAX, nest);
	for (i = 1; i <= MBATCH_RESULT_A_MAX; i++)
		if (tb[i])
			res->present |= 1U << i;
	res->seq = mb_get_u64(tb[MBATCH_RESULT_A_SEQ]);
	res->tag = mb_get_u64(tb[MBATCH_RESULT_A_TAG]);
	res->op = mb_get_u32(tb[MBATCH_RESULT_A_OP]);
	res->status = (int32_t)mb_get_u32(tb[MBATCH_RESULT_A_STATUS]);
	res->bytes = mb_get_u32(tb[MBATCH_RESULT_A_BYTES]);
	res->epoch = mb_get_u64(tb[MBATCH_RESULT_A_EPOCH]);
	res->start_ns = mb_get_u64(tb[MBATCH_RESULT_A_START_NS]);
	res->done_ns = mb_get_u64(tb[MBATCH_RESULT_A_DONE_NS]);
	res->batch_id = mb_get_u64(tb[MBATCH_RESULT_A_BATCH_ID]);
	res->msg_seq = mb_get_u64(tb[MBATCH_RESULT_A_MSG_SEQ]);
	res->flags = mb_get_u32(tb[MBATCH_RESULT_A_FLAGS]);
	res->outcome = mb_get_u32(tb[MBATCH_RESULT_A_OUTCOME]);
	if (tb[MBATCH_RESULT_A_DATA]) {
		res->data_len = tb[MBATCH_RESULT_A_DATA]->nla_len - NLA_HDRLEN;
		res->data = malloc(res->data_len ? res->data_len : 1);
		if (!res->data)
			abort();
		memcpy(res->data, mb_get_str(tb[MBATCH_RESULT_A_DATA]),
		       res->data_len);
	}
}

struct collect_ctx {
	struct mb_sock *s;
	struct mb_collect *c;
	int ready;			/* the notification was seen */
};

/* A COLLECT_READY_NTF of session sid after the waiting reply cseq. */
static int ready_match(struct collect_ctx *x, const struct nlmsghdr *nlh,
		       uint32_t sid)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	struct mb_collect *c = x->c;

	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	if (mb_get_u32(tb[MBATCH_A_SESSION_ID]) != sid ||
	    (c->nwaiting && tb[MBATCH_A_COLLECT_SEQ] &&
	     mb_get_u64(tb[MBATCH_A_COLLECT_SEQ]) != c->cseq)) {
		c->nstale++;
		return 0;
	}
	x->ready = 1;
	c->timed_out = tb[MBATCH_A_COLLECT_TIMED_OUT] != NULL;
	c->ready_cseq = mb_get_u64(tb[MBATCH_A_COLLECT_SEQ]);
	c->ready_pending = mb_get_u32(tb[MBATCH_A_COLLECT_PENDING]);
	c->ready_done_epoch = mb_get_u64(tb[MBATCH_A_SESSION_DONE_EPOCH]);
	return 1;
}

static int collect_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct collect_ctx *x = arg;
	struct mb_collect *c = x->c;
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	const struct nlattr *a;
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	uint64_t cseq;
	uint32_t cnt, pend;

	/* the notification may overtake the waiting reply's NLMSG_DONE */
	if (is_ready_ntf(x->s, nlh)) {
		ready_match(x, nlh, c->session);
		return 0;
	}
	mb_parse(tb, MBATCH_A_MAX, p, len);
	if (tb[MBATCH_A_COLLECT_WAITING]) {
		c->nwaiting++;
		if (tb[MBATCH_A_RESULT])
			c->inconsistent = 1;
	}
	cseq = mb_get_u64(tb[MBATCH_A_COLLECT_SEQ]);
	cnt = mb_get_u32(tb[MBATCH_A_COLLECT_COUNT]);
	pend = mb_get_u32(tb[MBATCH_A_COLLECT_PENDING]);
	if (!tb[MBATCH_A_COLLECT_SEQ] || !tb[MBATCH_A_COLLECT_COUNT] ||
	    !tb[MBATCH_A_SESSION_ID])
		c->inconsistent = 1;
	if (c->nparts == 0) {
		c->session = mb_get_u32(tb[MBATCH_A_SESSION_ID]);
		c->cseq = cseq;
		c->count = cnt;
		c->pending = pend;
	} else if (c->cseq != cseq || c->count != cnt || c->pending != pend ||
		   c->session != mb_get_u32(tb[MBATCH_A_SESSION_ID])) {
		c->inconsistent = 1;
	}
	c->nparts++;

	a = (const struct nlattr *)p;
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == MBATCH_A_RESULT) {
			struct mb_result *nr;

			nr = realloc(c->res, (c->nres + 1) * sizeof(*nr));
			if (!nr)
				abort();
			c->res = nr;
			parse_result(&c->res[c->nres++], a);
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a +
					    NLA_ALIGN(a->nla_len));
	}
	return 0;
}

static int collect_once(struct mb_sock *s, const struct mb_collect_opts *o,
			struct collect_ctx *x)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_COLLECT, NLM_F_DUMP);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, o->session);
	if (o->has_ack)
		mb_put_u64(&r, MBATCH_A_COLLECT_ACK, o->ack);
	if (o->flags)
		mb_put_u32(&r, MBATCH_A_COLLECT_FLAGS, o->flags);
	if (o->has_min)
		mb_put_u32(&r, MBATCH_A_COLLECT_MIN, o->min);
	if (o->has_epoch)
		mb_put_u64(&r, MBATCH_A_COLLECT_EPOCH, o->epoch);
	if (o->has_timeout)
		mb_put_u32(&r, MBATCH_A_COLLECT_TIMEOUT_MS, o->timeout_ms);
	if (o->has_max)
		mb_put_u32(&r, MBATCH_A_COLLECT_MAX, o->max);
	ret = mb_transact(s, &r, collect_cb, x);
	mb_req_free(&r);
	return ret;
}

/*
 * Waits for the COLLECT_READY_NTF of request seq on session sid for at most
 * ms; everything else the socket receives meanwhile is dropped, as
 * mb_transact() drops it.
 */
static int wait_ready(struct mb_sock *s, struct collect_ctx *x, uint32_t seq,
		      uint32_t sid, int ms)
{
	uint64_t deadline = mb_now_ns() + (uint64_t)ms * 1000000ULL;

	while (!x->ready) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - mb_now_ns()) / 1000000;
		struct nlmsghdr *h;
		ssize_t n;
		int len;

		if (left < 0) {
			snprintf(s->err.msg, sizeof(s->err.msg),
				 "no COLLECT_READY_NTF for session %u in %d ms",
				 sid, ms);
			return mb_err_set(s, ETIMEDOUT);
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR) {
			/* as the kernel's own wait did in version 1 */
			snprintf(s->err.msg, sizeof(s->err.msg),
				 "waiting for COLLECT_READY_NTF interrupted");
			return mb_err_set(s, EINTR);
		}
		if (n <= 0)
			continue;
		n = recv(s->fd, s->rbuf, s->rbuf_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return mb_err_set(s, errno);
		}
		len = (int)n;
		for (h = (struct nlmsghdr *)s->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (!is_ready_ntf(s, h))
				continue;
			if (h->nlmsg_seq != seq ||
			    (h->nlmsg_pid && h->nlmsg_pid != s->portid)) {
				x->c->nstale++;
				continue;
			}
			if (ready_match(x, h, sid))
				break;
		}
	}
	return 0;
}

int mb_collect(struct mb_sock *s, const struct mb_collect_opts *o,
	       struct mb_collect *c)
{
	struct mb_collect_opts again = {
		.session = o->session,
		.has_max = o->has_max,
		.max = o->max,
	};
	struct collect_ctx x = { .s = s, .c = c };
	struct mb_collect first;
	uint32_t seq;
	int ret, ms, lost;

	memset(c, 0, sizeof(*c));
	c->session = o->session;
	ret = collect_once(s, o, &x);
	if (ret || !c->nwaiting)
		return ret;
	/* nothing yet: wait for the notification, then collect again */
	seq = s->last_seq;
	c->waited = 1;
	c->wait_cseq = c->cseq;
	ms = (o->has_timeout ? (int)o->timeout_ms :
	      MBATCH_COLLECT_TIMEOUT_MAX_MS) + MB_COLLECT_READY_MARGIN_MS;
	ret = wait_ready(s, &x, seq, o->session, ms);
	/*
	 * A notification can be lost (a full receive queue): collecting again
	 * loses nothing, as the contract says a client does.
	 */
	if (ret && ret != -ETIMEDOUT)
		return ret;
	lost = ret == -ETIMEDOUT;
	first = *c;
	mb_collect_free(c);
	memset(c, 0, sizeof(*c));
	c->session = o->session;
	x.ready = 0;
	ret = collect_once(s, &again, &x);
	c->ready_lost = lost;
	if (lost)
		c->timed_out = 1;
	c->nwaiting += first.nwaiting;
	c->inconsistent |= first.inconsistent || first.nres;
	c->waited = 1;
	c->timed_out = first.timed_out;
	c->wait_cseq = first.wait_cseq;
	c->ready_cseq = first.ready_cseq;
	c->ready_pending = first.ready_pending;
	c->ready_done_epoch = first.ready_done_epoch;
	c->nstale += first.nstale;
	return ret;
}

void mb_results_free(struct mb_result *r, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		free(r[i].data);
	free(r);
}

void mb_collect_free(struct mb_collect *c)
{
	mb_results_free(c->res, c->nres);
	c->res = NULL;
	c->nres = 0;
}

int mb_collect_all(struct mb_sock *s, uint32_t sid, uint32_t want,
		   int timeout_ms, struct mb_result **all, uint32_t *nall)
{
	uint64_t deadline = mb_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	uint64_t last = *nall ? (*all)[*nall - 1].seq : 0;
	int have_last = *nall != 0;
	uint32_t seen = 0;

	for (;;) {
		struct mb_collect_opts o = { .session = sid };
		struct mb_collect c;
		struct mb_result *n;
		int ret;

		if (have_last) {
			o.has_ack = 1;
			o.ack = last;
		}
		if (seen < want) {
			o.has_min = 1;
			o.min = want - seen;
			o.has_timeout = 1;
			o.timeout_ms = 1000;
		}
		ret = mb_collect(s, &o, &c);
		if (ret) {
			mb_collect_free(&c);
			return ret;
		}
		if (c.nres) {
			n = realloc(*all, (*nall + c.nres) * sizeof(*n));
			if (!n)
				abort();
			*all = n;
			memcpy(*all + *nall, c.res, c.nres * sizeof(*n));
			*nall += c.nres;
			seen += c.nres;
			last = c.res[c.nres - 1].seq;
			have_last = 1;
			free(c.res);	/* data ownership moved */
		} else if (seen >= want && !c.pending) {
			return 0;
		}
		if (mb_now_ns() > deadline)
			return mb_err_set(s, ETIMEDOUT);
	}
}

int mb_batch_cancel(struct mb_sock *s, uint32_t sid, uint64_t batch_id)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_BATCH_CANCEL, 0);
	mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
	mb_put_u64(&r, MBATCH_A_BATCH_ID, batch_id);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

int mb_events_join(struct mb_sock *s)
{
	uint32_t grp = s->mcgrp_events;

	if (!grp)
		return mb_err_set(s, ENOENT);
	if (setsockopt(s->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp,
		       sizeof(grp)))
		return mb_err_set(s, errno);
	return 0;
}

int mb_event_recv(struct mb_sock *s, struct mb_event *ev, int timeout_ms)
{
	uint64_t deadline = mb_now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	for (;;) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - mb_now_ns()) / 1000000;
		struct nlmsghdr *h;
		ssize_t n;
		int len;

		if (left < 0)
			return 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(s->fd, s->rbuf, s->rbuf_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		len = (int)n;
		for (h = (struct nlmsghdr *)s->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			const struct nlattr *tb[MBATCH_A_MAX + 1];
			const struct genlmsghdr *g = NLMSG_DATA(h);

			if (h->nlmsg_type != s->family)
				continue;
			if (g->cmd != MBATCH_CMD_CHECKPOINT_NTF &&
			    g->cmd != MBATCH_CMD_SESSION_HALT_NTF &&
			    g->cmd != MBATCH_CMD_LINK_UP_NTF &&
			    g->cmd != MBATCH_CMD_LINK_DOWN_NTF)
				continue;
			memset(ev, 0, sizeof(*ev));
			ev->cmd = g->cmd;
			mb_parse_genl(tb, MBATCH_A_MAX, h);
			copy_str(ev->queue, sizeof(ev->queue),
				 tb[MBATCH_A_QUEUE_NAME]);
			copy_str(ev->peer, sizeof(ev->peer),
				 tb[MBATCH_A_PEER_NAME]);
			copy_str(ev->reason, sizeof(ev->reason),
				 tb[MBATCH_A_LINK_REASON]);
			if (tb[MBATCH_A_LINK_ERROR])
				ev->error = (int32_t)mb_get_u32(tb[MBATCH_A_LINK_ERROR]);
			ev->session = mb_get_u32(tb[MBATCH_A_SESSION_ID]);
			ev->epoch = mb_get_u64(tb[MBATCH_A_SESSION_EPOCH]);
			if (!tb[MBATCH_A_SESSION_EPOCH] &&
			    tb[MBATCH_A_COLLECT_EPOCH])
				ev->epoch = mb_get_u64(tb[MBATCH_A_COLLECT_EPOCH]);
			if (tb[MBATCH_A_SESSION_ERROR])
				ev->error = (int32_t)mb_get_u32(tb[MBATCH_A_SESSION_ERROR]);
			if (tb[MBATCH_A_RESULT]) {
				ev->has_result = 1;
				parse_result(&ev->result, tb[MBATCH_A_RESULT]);
				free(ev->result.data);
				ev->result.data = NULL;
			}
			return 1;
		}
	}
}

/* ------------------------------------------------------------------ */

static void parse_region(struct mb_region_info *ri, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	int a;

	memset(ri, 0, sizeof(*ri));
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	for (a = MBATCH_A_REGION_ID; a <= MBATCH_A_REGION_PORTID; a++)
		if (tb[a])
			ri->present |= 1U << (a - MBATCH_A_REGION_ID);
	ri->id = mb_get_u32(tb[MBATCH_A_REGION_ID]);
	ri->addr = mb_get_u64(tb[MBATCH_A_REGION_ADDR]);
	ri->len = mb_get_u64(tb[MBATCH_A_REGION_LEN]);
	ri->flags = mb_get_u32(tb[MBATCH_A_REGION_FLAGS]);
	ri->users = mb_get_u32(tb[MBATCH_A_REGION_USERS]);
	ri->portid = mb_get_u32(tb[MBATCH_A_REGION_PORTID]);
}

struct region_acc {
	struct mb_region_info *arr;
	int max, n;
};

static int region_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct region_acc *acc = arg;
	struct mb_region_info tmp;

	parse_region(&tmp, nlh);
	if (acc->n < acc->max)
		acc->arr[acc->n] = tmp;
	acc->n++;
	return 0;
}

int mb_region_new(struct mb_sock *s, uint64_t addr, uint64_t len,
		  uint32_t flags, struct mb_region_info *ri)
{
	struct mb_region_info dummy;
	struct region_acc acc = { .arr = ri ? ri : &dummy, .max = 1 };
	struct mb_req r;
	int ret;

	memset(acc.arr, 0, sizeof(*acc.arr));
	mb_req_init(&r, s, MBATCH_CMD_REGION_NEW, 0);
	mb_put_u64(&r, MBATCH_A_REGION_ADDR, addr);
	mb_put_u64(&r, MBATCH_A_REGION_LEN, len);
	if (flags)
		mb_put_u32(&r, MBATCH_A_REGION_FLAGS, flags);
	ret = mb_transact(s, &r, region_cb, &acc);
	mb_req_free(&r);
	if (!ret && acc.n != 1) {
		snprintf(s->err.msg, sizeof(s->err.msg),
			 "region-new: %d replies, want 1", acc.n);
		ret = mb_err_set(s, EPROTO);
	}
	return ret;
}

int mb_region_del(struct mb_sock *s, uint32_t id)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_REGION_DEL, 0);
	mb_put_u32(&r, MBATCH_A_REGION_ID, id);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

int mb_region_get(struct mb_sock *s, uint32_t id, struct mb_region_info *ri)
{
	struct region_acc acc = { .arr = ri, .max = 1 };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_REGION_GET, 0);
	mb_put_u32(&r, MBATCH_A_REGION_ID, id);
	ret = mb_transact(s, &r, region_cb, &acc);
	mb_req_free(&r);
	if (!ret && acc.n != 1) {
		snprintf(s->err.msg, sizeof(s->err.msg),
			 "region-get: %d replies, want 1", acc.n);
		ret = mb_err_set(s, EPROTO);
	}
	return ret;
}

int mb_region_dump(struct mb_sock *s, struct mb_region_info *arr, int max)
{
	struct region_acc acc = { .arr = arr, .max = max };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_REGION_GET, NLM_F_DUMP);
	ret = mb_transact(s, &r, region_cb, &acc);
	mb_req_free(&r);
	return ret ? ret : acc.n;
}

/* ------------------------------------------------------------------ */

int mb_peer_new(struct mb_sock *s, const struct mb_peer_cfg *c)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_PEER_NEW, 0);
	mb_put_str(&r, MBATCH_A_PEER_NAME, c->name);
	if (c->addr)
		mb_put_str(&r, MBATCH_A_PEER_ADDR, c->addr);
	if (c->psk_file)
		mb_put_str(&r, MBATCH_A_PEER_PSK_FILE, c->psk_file);
	if (c->keepalive_ms)
		mb_put_u32(&r, MBATCH_A_PEER_KEEPALIVE_MS, c->keepalive_ms);
	if (c->link_timeout_ms)
		mb_put_u32(&r, MBATCH_A_PEER_LINK_TIMEOUT_MS,
			   c->link_timeout_ms);
	if (c->in_bytes)
		mb_put_u64(&r, MBATCH_A_PEER_IN_BYTES, c->in_bytes);
	if (c->in_cmds)
		mb_put_u32(&r, MBATCH_A_PEER_IN_CMDS, c->in_cmds);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

int mb_peer_del(struct mb_sock *s, const char *name)
{
	return name_req(s, MBATCH_CMD_PEER_DEL, MBATCH_A_PEER_NAME, name);
}

int mb_peer_attach(struct mb_sock *s, const char *name, int fd,
		   uint32_t digest)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_PEER_ATTACH, 0);
	mb_put_str(&r, MBATCH_A_PEER_NAME, name);
	mb_put_u32(&r, MBATCH_A_PEER_FD, (uint32_t)fd);
	if (digest)
		mb_put_u32(&r, MBATCH_A_PEER_DIGEST, digest);
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

struct peer_acc {
	struct mb_peer_info *arr;
	int max, n;
};

static int peer_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[MBATCH_A_MAX + 1];
	const struct nlattr *st[MBATCH_PEER_STATS_A_MAX + 1];
	struct peer_acc *acc = arg;
	struct mb_peer_info *pi;
	int i;

	if (acc->n >= acc->max)
		return 0;
	pi = &acc->arr[acc->n++];
	memset(pi, 0, sizeof(*pi));
	mb_parse_genl(tb, MBATCH_A_MAX, nlh);
	copy_str(pi->name, sizeof(pi->name), tb[MBATCH_A_PEER_NAME]);
	copy_str(pi->addr, sizeof(pi->addr), tb[MBATCH_A_PEER_ADDR]);
	copy_str(pi->reason, sizeof(pi->reason), tb[MBATCH_A_LINK_REASON]);
	pi->state = mb_get_u32(tb[MBATCH_A_PEER_STATE]);
	pi->digest = mb_get_u32(tb[MBATCH_A_PEER_DIGEST]);
	pi->keepalive_ms = mb_get_u32(tb[MBATCH_A_PEER_KEEPALIVE_MS]);
	pi->link_timeout_ms = mb_get_u32(tb[MBATCH_A_PEER_LINK_TIMEOUT_MS]);
	pi->rtt_us = mb_get_u32(tb[MBATCH_A_PEER_RTT_US]);
	pi->in_bytes = mb_get_u64(tb[MBATCH_A_PEER_IN_BYTES]);
	pi->in_cmds = mb_get_u32(tb[MBATCH_A_PEER_IN_CMDS]);
	pi->link_error = (int32_t)mb_get_u32(tb[MBATCH_A_LINK_ERROR]);
	if (tb[MBATCH_A_PEER_STATS]) {
		mb_parse_nested(st, MBATCH_PEER_STATS_A_MAX,
				tb[MBATCH_A_PEER_STATS]);
		for (i = 0; i <= MBATCH_PEER_STATS_A_MAX; i++)
			if (st[i])
				pi->stats[i] = mb_get_u64(st[i]);
	}
	return 0;
}

int mb_peer_get(struct mb_sock *s, const char *name, struct mb_peer_info *pi)
{
	struct peer_acc acc = { .arr = pi, .max = 1 };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_PEER_GET, 0);
	mb_put_str(&r, MBATCH_A_PEER_NAME, name);
	ret = mb_transact(s, &r, peer_cb, &acc);
	mb_req_free(&r);
	if (!ret && acc.n != 1)
		ret = mb_err_set(s, EPROTO);
	return ret;
}

int mb_peer_dump(struct mb_sock *s, struct mb_peer_info *arr, int max)
{
	struct peer_acc acc = { .arr = arr, .max = max };
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, MBATCH_CMD_PEER_GET, NLM_F_DUMP);
	ret = mb_transact(s, &r, peer_cb, &acc);
	mb_req_free(&r);
	return ret ? ret : acc.n;
}

/* ------------------------------------------------------------------ */

uint64_t mb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void script_path(char *buf, size_t len, const char *script)
{
	const char *src = getenv("MBATCH_SRC");
	char exe[2048];
	ssize_t n;
	char *slash;

	if (src && *src) {
		snprintf(buf, len, "%s/selftests/mbatch/%s", src, script);
		if (access(buf, R_OK) == 0)
			return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/%s", exe, script);
			if (access(buf, R_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "./%s", script);
}

int mb_nullb_create(const char *opts, char *name, size_t nlen,
		    char *path, size_t plen)
{
	char script[4200], cmd[8192], line[512];
	FILE *f;
	int st;

	mb_unique(name, nlen, "mbt");
	script_path(script, sizeof(script), "nullb.sh");
	snprintf(cmd, sizeof(cmd), "bash '%s' create %s %s", script, name,
		 opts ? opts : "");
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	line[0] = 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	st = pclose(f);
	line[strcspn(line, "\n")] = 0;
	if (st != 0 || line[0] != '/')
		return -EIO;
	snprintf(path, plen, "%s", line);
	return 0;
}

int mb_nullb_remove(const char *name)
{
	char script[4200], cmd[8192];

	script_path(script, sizeof(script), "nullb.sh");
	snprintf(cmd, sizeof(cmd), "bash '%s' remove %s", script, name);
	return system(cmd) == 0 ? 0 : -EBUSY;
}

long long mb_blk_stat(const char *name, int field)
{
	char p[256];
	long long v = -1, x;
	FILE *f;
	int i;

	snprintf(p, sizeof(p), "/sys/block/%s/stat", name);
	f = fopen(p, "r");
	if (!f)
		return -1;
	for (i = 1; i <= field; i++) {
		if (fscanf(f, "%lld", &x) != 1) {
			x = -1;
			break;
		}
		v = x;
	}
	fclose(f);
	return i > field ? v : -1;
}

void mb_unique(char *buf, size_t len, const char *prefix)
{
	static unsigned int counter;

	snprintf(buf, len, "%s%u_%u", prefix, (unsigned int)getpid() % 100000,
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
}

const char *mb_strerr(const struct mb_sock *s)
{
	static __thread char buf[700];

	snprintf(buf, sizeof(buf), "errno %d (%s) extack \"%s\" off %s%u miss %s%u",
		 s->err.err, strerror(s->err.err), s->err.msg,
		 s->err.has_off ? "" : "-", s->err.off,
		 s->err.has_miss ? "" : "-", s->err.miss_type);
	return buf;
}

int mb_contains(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

const char *mb_op_name(uint32_t op)
{
	static const char * const names[] = {
		"?", "read", "write", "flush", "discard", "write-zeroes",
		"checkpoint",
	};

	return op <= MBATCH_OP_MAX ? names[op] : "?";
}

const char *mb_outcome_name(uint32_t outcome)
{
	static const char * const names[] = {
		[MBATCH_OUTCOME_DONE] = "done",
		[MBATCH_OUTCOME_CANCELLED] = "cancelled",
		[MBATCH_OUTCOME_NOT_SENT] = "not-sent",
		[MBATCH_OUTCOME_UNKNOWN] = "unknown",
	};

	return outcome && outcome < sizeof(names) / sizeof(names[0]) ?
	       names[outcome] : "?";
}
