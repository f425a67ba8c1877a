// SPDX-License-Identifier: GPL-2.0
/*
 * mbatchctl serve: makes the links between this node and its peers. It
 * accepts connections, dials every peer that has an address and no link,
 * runs the handshake (handshake.c) on each connection in a thread of its
 * own, and gives every authenticated socket to the kernel with
 * MBATCH_CMD_PEER_ATTACH. Link-down events on the "events" group and a
 * periodic re-scan of the peers make it dial again, with back-off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"
#include "handshake.h"

#define SERVE_PORT		"7389"
#define SERVE_LISTEN_DEFAULT	"0.0.0.0:" SERVE_PORT
#define SERVE_LISTEN_MAX	4
#define SERVE_JOBS_MAX		64	/* handshakes at once */
#define SERVE_RESCAN_S		3.0
#define SERVE_BACKOFF_MIN_S	0.2
#define SERVE_BACKOFF_MAX_S	5.0
#define SERVE_STABLE_S		10.0	/* a link up this long resets back-off */
#define SERVE_CONNECT_MS	5000

struct peer {
	struct peer *next;
	char name[MBATCH_PEER_NAME_MAX];
	char addr[MBATCH_PEER_ADDR_MAX];	/* "" if only accepted */
	bool seen;		/* in the last scan */
	bool up;
	bool busy;		/* a dial is running */
	double next_dial;
	double backoff;
	double up_since;
};

struct serve {
	const char *name;
	uint32_t wants;
	bool once;
	int lfd[SERVE_LISTEN_MAX];
	int nlisten;
	struct mb_hs_replay replay;

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t idle;
	struct peer *peers;
	struct job *jobs[SERVE_JOBS_MAX];
	unsigned int njobs;
	int once_rc;		/* --once: -1 until the first link ended */
	int wake[2];		/* a job ended */
};

struct job {
	struct serve *s;
	int fd;
	bool dialler;
	char peer[MBATCH_PEER_NAME_MAX];	/* dialler: the peer dialled */
	char addr[MBATCH_PEER_ADDR_MAX + 80];	/* for the logs */
	struct mb_nl nl;
	bool nl_open;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __printf(1, 2) void slog(const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mbatchctl: serve: %s\n", buf);	/* one write */
}

static struct peer *find_peer(struct serve *s, const char *name)
{
	struct peer *p;

	for (p = s->peers; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/* ---- one connection: handshake, attach ---- */

/* The handshake's key lookup: PEER_GET, then the peer's key file. */
static int lookup(const char *name, unsigned char *key, size_t *len,
		  char *why, size_t whylen, void *arg)
{
	struct json_object *arr = json_object_new_array(), *p;
	struct job *j = arg;
	const char *psk;
	int rc, code = 0;

	if (!j->nl_open) {
		if (mb_nl_open(&j->nl)) {
			json_object_put(arr);
			snprintf(why, whylen, "no netlink socket");
			return MB_HS_E_INTERNAL;
		}
		j->nl_open = true;
	}
	rc = mb_peer_get_nl(&j->nl, name, true, arr);
	if (rc == MB_EXIT_KERNEL && j->nl.err == -ENOENT) {
		code = MB_HS_E_PEER;
	} else if (rc || json_object_array_length(arr) != 1) {
		snprintf(why, whylen, "cannot look up peer %s", name);
		code = MB_HS_E_INTERNAL;
	} else {
		p = json_object_array_get_idx(arr, 0);
		psk = mb_jget_str(p, "psk_file");
		if (!strcmp(psk, "-")) {
			snprintf(why, whylen, "peer %s has no key file", name);
			code = MB_HS_E_INTERNAL;
		} else if (mb_psk_read(psk, key, len, why, whylen)) {
			code = MB_HS_E_INTERNAL;
		}
	}
	json_object_put(arr);
	return code;
}

static int attach(struct job *j, const char *peer, uint32_t digests)
{
	struct nl_msg *msg;

	if (!j->nl_open) {
		if (mb_nl_open(&j->nl))
			return MB_EXIT_LOCAL;
		j->nl_open = true;
	}
	msg = mb_msg_new(&j->nl, MBATCH_CMD_PEER_ATTACH, 0, 0);

	if (nla_put_string(msg, MBATCH_A_PEER_NAME, peer) ||
	    nla_put_u32(msg, MBATCH_A_PEER_FD, j->fd) ||
	    nla_put_u32(msg, MBATCH_A_PEER_DIGEST, digests)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(&j->nl, msg, NULL, NULL, 0);
}

/* Connects to "host:port" within SERVE_CONNECT_MS; -1 with errno-ish log. */
static int dial(struct job *j, const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[MBATCH_PEER_ADDR_MAX], port[8];
	int fd = -1, ret, err = 0;
	socklen_t sl = sizeof(err);

	if (mb_split_hostport(addr, host, sizeof(host), port, sizeof(port))) {
		slog("peer %s: bad address '%s'", j->peer, addr);
		return -1;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		slog("peer %s: cannot resolve %s: %s", j->peer, addr,
		     gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) &&
		    errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		ret = poll(&pfd, 1, SERVE_CONNECT_MS);
		err = ret == 0 ? ETIMEDOUT : ret < 0 ? errno : 0;
		if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
			err = errno;
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		slog("peer %s: cannot connect to %s: %s", j->peer, addr,
		     strerror(err ? err : ECONNREFUSED));
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* @connected: the connection was made (--once counts those only). */
static void job_end(struct job *j, bool connected, bool attached)
{
	struct serve *s = j->s;
	double now = now_s();
	struct peer *p;
	unsigned int i;
	ssize_t wake;

	pthread_mutex_lock(&s->lock);
	p = j->dialler ? find_peer(s, j->peer) : NULL;
	if (p) {
		p->busy = false;
		if (attached) {
			p->up = true;
			p->up_since = now;
		} else {
			p->next_dial = now + p->backoff;
			p->backoff *= 2;
			if (p->backoff > SERVE_BACKOFF_MAX_S)
				p->backoff = SERVE_BACKOFF_MAX_S;
		}
	}
	for (i = 0; i < s->njobs; i++) {
		if (s->jobs[i] == j) {
			s->jobs[i] = s->jobs[--s->njobs];
			break;
		}
	}
	free(j);
	if (s->once && connected && s->once_rc < 0)
		s->once_rc = attached ? 0 : MB_EXIT_NOLINK;
	/* a full pipe is fine: the main loop is awake anyway */
	wake = write(s->wake[1], "", 1);
	(void)wake;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct serve *s = j->s;
	struct mb_hs_cfg cfg = {
		.name = s->name,
		.dialler = j->dialler,
		.expect = j->dialler ? j->peer : NULL,
		.wants = s->wants,
		.lookup = lookup,
		.lookup_arg = j,
		.replay = &s->replay,
	};
	struct mb_hs_result res;
	bool attached = false, connected = false;
	int one = 1, fd, rc;

	if (j->dialler) {
		pthread_mutex_lock(&s->lock);
		/* the address may have changed: the scan keeps it current */
		snprintf(j->addr, sizeof(j->addr), "%s",
			 find_peer(s, j->peer) ? find_peer(s, j->peer)->addr : "");
		pthread_mutex_unlock(&s->lock);
		fd = dial(j, j->addr);
		if (fd < 0)
			goto out;
		pthread_mutex_lock(&s->lock);	/* the stop path reads it */
		j->fd = fd;
		if (stop)
			shutdown(j->fd, SHUT_RDWR);
		pthread_mutex_unlock(&s->lock);
	}
	connected = true;
	if (mb_handshake(j->fd, &cfg, &res)) {
		if (res.refused_by_peer)
			slog("peer refused: %s (%s%s%s)", res.reason,
			     j->dialler ? j->peer : "", j->dialler ? " at " : "",
			     j->addr);
		else if (res.refused_by_us)
			slog("refusing %s: %s", j->addr, res.reason);
		else
			slog("handshake with %s failed: %s", j->addr,
			     res.reason);
		goto out;
	}
	setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = attach(j, res.peer, res.digests);
	if (rc) {
		slog("peer %s (%s): attach failed", res.peer, j->addr);
		goto out;
	}
	attached = true;
	slog("link to %s (%s) attached, digests %s%s%s", res.peer, j->addr,
	     res.digests & MBATCH_DIGEST_HEADER ? "header" : "",
	     res.digests == MBATCH_DIGEST_ALL ? "," : "",
	     res.digests & MBATCH_DIGEST_DATA ? "data" :
	     res.digests ? "" : "none");
out:
	if (j->fd >= 0)
		close(j->fd);	/* the kernel holds its own reference */
	if (j->nl_open)
		mb_nl_close(&j->nl);
	/* now, not at thread exit: the process may be gone by then */
	OPENSSL_thread_stop();
	job_end(j, connected, attached);	/* frees @j */
	return NULL;
}

/* Starts a job for @fd (accepted) or for peer @p (to dial). */
static int job_start(struct serve *s, int fd, const char *addr,
		     struct peer *p)
{
	pthread_attr_t attr;
	pthread_t t;
	struct job *j;

	if (s->njobs >= SERVE_JOBS_MAX) {
		if (fd >= 0)
			slog("refusing %s: too many handshakes at once", addr);
		return -1;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->s = s;
	j->fd = fd;
	if (p) {
		j->dialler = true;
		snprintf(j->peer, sizeof(j->peer), "%s", p->name);
		p->busy = true;
	} else {
		snprintf(j->addr, sizeof(j->addr), "%s", addr);
	}
	s->jobs[s->njobs++] = j;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_run, j)) {
		pthread_attr_destroy(&attr);
		s->njobs--;
		if (p)
			p->busy = false;
		free(j);
		return -1;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/* ---- peers: scans, events, dials ---- */

static int scan_peers(struct serve *s, struct mb_nl *nl)
{
	struct json_object *arr = json_object_new_array();
	struct peer *p, **pp;
	double now = now_s();
	size_t i;
	int rc;

	rc = mb_peer_get_nl(nl, NULL, false, arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	for (p = s->peers; p; p = p->next)
		p->seen = false;
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *name = mb_jget_str(o, "name");
		const char *addr = mb_jget_str(o, "addr");

		if (!mb_name_ok(name))
			continue;
		p = find_peer(s, name);
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				break;
			snprintf(p->name, sizeof(p->name), "%s", name);
			p->backoff = SERVE_BACKOFF_MIN_S;
			p->next_dial = now;
			p->next = s->peers;
			s->peers = p;
		}
		p->seen = true;
		snprintf(p->addr, sizeof(p->addr), "%s",
			 strcmp(addr, "-") ? addr : "");
		if (!p->busy)
			p->up = !strcmp(mb_jget_str(o, "state"), "up");
	}
	for (pp = &s->peers; (p = *pp);) {
		if (!p->seen && !p->busy) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&s->lock);
	json_object_put(arr);
	return 0;
}

static void on_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct serve *s = arg;
	const char *name;
	struct peer *p;
	double now = now_s();
	int32_t err;

	if (!tb[MBATCH_A_PEER_NAME] || (cmd != MBATCH_CMD_LINK_UP_NTF &&
					cmd != MBATCH_CMD_LINK_DOWN_NTF))
		return;
	name = nla_get_string(tb[MBATCH_A_PEER_NAME]);
	pthread_mutex_lock(&s->lock);
	p = find_peer(s, name);
	if (cmd == MBATCH_CMD_LINK_UP_NTF) {
		if (p && !p->up) {
			p->up = true;
			p->up_since = now;
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	err = tb[MBATCH_A_LINK_ERROR] ?
		(int32_t)nla_get_u32(tb[MBATCH_A_LINK_ERROR]) : 0;
	slog("link to %s down: %s%s%s%s", name,
	     tb[MBATCH_A_LINK_REASON] ?
	     nla_get_string(tb[MBATCH_A_LINK_REASON]) : "no reason",
	     err ? " (" : "", err ? strerror(-err) : "", err ? ")" : "");
	if (p) {
		if (p->up && now - p->up_since >= SERVE_STABLE_S)
			p->backoff = SERVE_BACKOFF_MIN_S;
		p->up = false;
		p->next_dial = now + p->backoff;
		p->backoff *= 2;
		if (p->backoff > SERVE_BACKOFF_MAX_S)
			p->backoff = SERVE_BACKOFF_MAX_S;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Whether the kernel says peer @name has a link. A link-down event may be
 * that of a link replaced by a newer one (the other side dialled too):
 * dialling only peers that are really down keeps the two from replacing
 * each other's links for ever.
 */
static bool peer_is_up(struct mb_nl *nl, const char *name)
{
	struct json_object *arr = json_object_new_array();
	bool up = false;

	if (!mb_peer_get_nl(nl, name, true, arr) &&
	    json_object_array_length(arr) == 1)
		up = !strcmp(mb_jget_str(json_object_array_get_idx(arr, 0),
					 "state"), "up");
	json_object_put(arr);
	return up;
}

/* Dials every peer due; returns the seconds until the next one is due. */
static double dial_due(struct serve *s, struct mb_nl *nl)
{
	char due[MBATCH_PEERS_MAX][MBATCH_PEER_NAME_MAX];
	double now = now_s(), next = SERVE_RESCAN_S;
	unsigned int i, n = 0;
	struct peer *p;

	pthread_mutex_lock(&s->lock);
	for (p = s->peers; p && n < MBATCH_PEERS_MAX; p = p->next) {
		if (!p->addr[0] || p->up || p->busy)
			continue;
		if (p->next_dial > now) {
			if (p->next_dial - now < next)
				next = p->next_dial - now;
			continue;
		}
		strcpy(due[n++], p->name);
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++) {
		bool up = peer_is_up(nl, due[i]);

		pthread_mutex_lock(&s->lock);
		p = find_peer(s, due[i]);
		if (p && up) {
			p->up = true;
		} else if (p && !p->busy && !(s->once && s->njobs)) {
			if (job_start(s, -1, NULL, p))
				p->next_dial = now + SERVE_BACKOFF_MIN_S;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return next;
}

/* ---- listening ---- */

static int listen_on(struct serve *s, const char *spec)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *res;
	char host[MBATCH_PEER_ADDR_MAX], port[8];
	int fd, one = 1, zero = 0, ret;

	if (s->nlisten >= SERVE_LISTEN_MAX)
		return mb_usage("at most %d --listen", SERVE_LISTEN_MAX);
	if (mb_split_hostport(spec, host, sizeof(host), port, sizeof(port)))
		return mb_usage("bad --listen '%s' (ADDR:PORT, [IPV6]:PORT or none)",
				spec);
	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (ret) {
		mb_err("cannot resolve %s: %s", spec, gai_strerror(ret));
		return MB_EXIT_LOCAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)	/* [::] takes IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64))
		goto err;
	freeaddrinfo(res);
	s->lfd[s->nlisten++] = fd;
	slog("listening on %s", spec);
	return 0;
err:
	mb_err("cannot listen on %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return MB_EXIT_LOCAL;
}

static void accept_one(struct serve *s, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	char addr[NI_MAXHOST + NI_MAXSERV + 4];
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(addr, sizeof(addr), "?");
	else if (ss.ss_family == AF_INET6)
		snprintf(addr, sizeof(addr), "[%s]:%s", host, port);
	else
		snprintf(addr, sizeof(addr), "%s:%s", host, port);
	pthread_mutex_lock(&s->lock);
	if ((s->once && s->njobs) || job_start(s, fd, addr, NULL)) {
		if (s->once && s->njobs)
			slog("refusing %s: busy (--once)", addr);
		close(fd);
	}
	pthread_mutex_unlock(&s->lock);
}

static int default_name(char *buf, size_t len)
{
	char host[256];
	char *dot;

	if (gethostname(host, sizeof(host)))
		return -1;
	host[sizeof(host) - 1] = '\0';
	dot = strchr(host, '.');
	if (dot)
		*dot = '\0';
	if (!mb_name_ok(host) || strlen(host) >= len)
		return -1;
	strcpy(buf, host);
	return 0;
}

static int parse_digests(const char *v, uint32_t *wants)
{
	if (!strcmp(v, "all") || !strcmp(v, "header,data") ||
	    !strcmp(v, "data,header"))
		*wants = MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST;
	else if (!strcmp(v, "header"))
		*wants = MB_HS_F_HDR_DIGEST;
	else if (!strcmp(v, "data"))
		*wants = MB_HS_F_DATA_DIGEST;
	else if (!strcmp(v, "none"))
		*wants = 0;
	else
		return -1;
	return 0;
}

/* SIGINT and SIGTERM are blocked but while the main thread waits. */
/*
 * Returns 0, or the exit status when the peers cannot be listed at start
 * or the family went away (module unloaded: systemd restarts the unit).
 */
static int serve_loop(struct serve *s, struct mb_nl *nl,
		      struct mb_events *ev, const sigset_t *waitmask)
{
	double last_scan = 0, wait_s;
	bool scanned = false;
	struct pollfd pfd[SERVE_LISTEN_MAX + 2];
	unsigned int lost = 0;
	struct timespec ts;
	char buf[64];
	int i, n, ret;

	while (!stop) {
		pthread_mutex_lock(&s->lock);
		ret = s->once && s->once_rc >= 0;
		pthread_mutex_unlock(&s->lock);
		if (ret)
			break;
		if (now_s() - last_scan >= SERVE_RESCAN_S) {
			ret = scan_peers(s, nl);
			if (ret && (!scanned || nl->err == -ENOENT)) {
				slog("cannot list the peers: exiting");
				return ret == MB_EXIT_KERNEL && scanned ?
				       MB_EXIT_NOMOD : ret;
			}
			scanned = true;
			last_scan = now_s();
		}
		if (ev && ev->overruns != lost) {
			slog("link events were lost: re-scanning the peers");
			lost = ev->overruns;
			last_scan = 0;
			continue;
		}
		wait_s = dial_due(s, nl);
		if (last_scan + SERVE_RESCAN_S - now_s() < wait_s)
			wait_s = last_scan + SERVE_RESCAN_S - now_s();
		if (wait_s < 0.01)
			wait_s = 0.01;
		n = 0;
		pfd[n].fd = s->wake[0];
		pfd[n++].events = POLLIN;
		if (ev) {
			pfd[n].fd = mb_events_fd(ev);
			pfd[n++].events = POLLIN;
		}
		for (i = 0; i < s->nlisten; i++) {
			pfd[n].fd = s->lfd[i];
			pfd[n++].events = POLLIN;
		}
		ts.tv_sec = (time_t)wait_s;
		ts.tv_nsec = (long)((wait_s - ts.tv_sec) * 1e9);
		ret = ppoll(pfd, n, &ts, waitmask);
		if (ret <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			while (read(s->wake[0], buf, sizeof(buf)) > 0)
				;
		i = 1;
		if (ev) {
			if (pfd[1].revents & POLLIN)
				mb_events_read(ev);
			i = 2;
		}
		for (; i < n; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(s, pfd[i].fd);
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const char usage[] =
		"serve [--listen ADDR:PORT|none]... [--name NODE] [--digests all|header|data|none] [--once]";
	struct sigaction sa = { .sa_handler = on_signal };
	struct serve s = { .wants = MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST,
			   .once_rc = -1, .wake = { -1, -1 } };
	const char *listens[SERVE_LISTEN_MAX];
	char name[MBATCH_PEER_NAME_MAX];
	struct mb_events ev, *evp = NULL;
	sigset_t block, waitmask;
	bool no_listen = false;
	int i, nl_count = 0, rc;
	unsigned int j;
	struct mb_nl nl;
	struct peer *p;

	name[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--once")) {
			s.once = true;
		} else if (!v) {
			return mb_usage("%s", usage);
		} else if (!strcmp(argv[i], "--listen")) {
			char h[MBATCH_PEER_ADDR_MAX], port[8];

			if (!strcmp(v, "none"))
				no_listen = true;
			else if (mb_split_hostport(v, h, sizeof(h), port,
						   sizeof(port)))
				return mb_usage("bad --listen '%s' (ADDR:PORT, [IPV6]:PORT or none)",
						v);
			else if (nl_count < SERVE_LISTEN_MAX)
				listens[nl_count++] = v;
			else
				return mb_usage("at most %d --listen",
						SERVE_LISTEN_MAX);
			i++;
		} else if (!strcmp(argv[i], "--name")) {
			if (!mb_name_ok(v))
				return mb_usage("bad node name '%s' (1 to %d of [A-Za-z0-9_.-])",
						v, MBATCH_PEER_NAME_MAX - 1);
			strcpy(name, v);
			i++;
		} else if (!strcmp(argv[i], "--digests")) {
			if (parse_digests(v, &s.wants))
				return mb_usage("bad --digests '%s' (all, header, data or none)",
						v);
			i++;
		} else {
			return mb_usage("%s", usage);
		}
	}
	if (no_listen && nl_count)
		return mb_usage("--listen none with another --listen");
	if (!no_listen && !nl_count)
		listens[nl_count++] = SERVE_LISTEN_DEFAULT;
	if (!name[0] && default_name(name, sizeof(name)))
		return mb_usage("the host name is not a node name: use --name NODE");
	s.name = name;

	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	if (mb_hs_replay_init(&s.replay) || pipe2(s.wake, O_CLOEXEC |
						   O_NONBLOCK)) {
		mb_err("out of memory");
		mb_nl_close(&nl);
		mb_hs_replay_free(&s.replay);
		return MB_EXIT_LOCAL;
	}
	/* the job threads inherit the mask: signals wake the main thread */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.idle, NULL);
	for (i = 0; i < nl_count && !rc; i++)
		rc = listen_on(&s, listens[i]);
	if (rc)
		goto out;
	if (mb_events_open(&ev, on_event, &s) == MB_EXIT_OK)
		evp = &ev;
	else
		slog("no link events: re-scanning the peers every %.0f s only",
		     SERVE_RESCAN_S);
	slog("node %s, protocol version %d", s.name, MBATCH_WIRE_VERSION);
	if (getenv("MBATCH_HS_VERSION"))
		slog("MBATCH_HS_VERSION=%s: announcing that handshake version (testing only)",
		     getenv("MBATCH_HS_VERSION"));

	rc = serve_loop(&s, &nl, evp, &waitmask);

	/* stop: cut the handshakes short and wait for every job */
	pthread_mutex_lock(&s.lock);
	for (j = 0; j < s.njobs; j++)
		if (s.jobs[j]->fd >= 0)
			shutdown(s.jobs[j]->fd, SHUT_RDWR);
	while (s.njobs)
		pthread_cond_wait(&s.idle, &s.lock);
	pthread_mutex_unlock(&s.lock);
	if (stop)
		slog("stopped");
	if (!rc && s.once && s.once_rc > 0)
		rc = s.once_rc;
	if (evp)
		mb_events_close(evp);
out:
	for (i = 0; i < s.nlisten; i++)
		close(s.lfd[i]);
	while ((p = s.peers)) {
		s.peers = p->next;
		free(p);
	}
	close(s.wake[0]);
	close(s.wake[1]);
	pthread_cond_destroy(&s.idle);
	pthread_mutex_destroy(&s.lock);
	mb_hs_replay_free(&s.replay);
	mb_nl_close(&nl);
	return rc;
}
