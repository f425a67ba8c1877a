// SPDX-License-Identifier: GPL-2.0
/*
 * The link handshake (Documentation/userspace-api/mbatch-wire.rst): both
 * sides send a HELLO, then an AUTH, then their verdict. Every read takes
 * exactly the length of the message expected, so that no byte sent after
 * the handshake (the kernel's frames) is consumed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <linux/mbatch.h>

#include "handshake.h"

#define HS_MAGIC_HELLO	"MBHS"
#define HS_MAGIC_AUTH	"MBAU"
#define HS_MAGIC_OK	"MBOK"
#define HS_MAGIC_ERR	"MBER"
#define HS_AUTH_LABEL	"mbatch-auth-v1"	/* 14 bytes, no NUL */
#define HS_LINGER_MS	1000

struct hs {
	int fd;
	struct timespec deadline;
	const struct mb_hs_cfg *cfg;
	struct mb_hs_result *res;
	unsigned char own_chal[MB_HS_CHAL_LEN];
	unsigned char peer_chal[MB_HS_CHAL_LEN];
	unsigned char own_name[MB_HS_NAME_LEN];
	unsigned char peer_name[MB_HS_NAME_LEN];
	unsigned char key[MB_HS_PSK_MAX];
	size_t keylen;
};

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static uint16_t get16(const unsigned char *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static __printf(2, 3) void set_reason(struct hs *hs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hs->res->reason, sizeof(hs->res->reason), fmt, ap);
	va_end(ap);
}

/* Milliseconds left before the deadline, at least 0. */
static int time_left(const struct hs *hs)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (hs->deadline.tv_sec - now.tv_sec) * 1000LL +
	     (hs->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static int wait_fd(struct hs *hs, short events)
{
	struct pollfd pfd = { .fd = hs->fd, .events = events };
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, time_left(hs));
		if (ret > 0)
			return 0;
		if (ret == 0) {
			set_reason(hs, "timed out after %d ms",
				   hs->cfg->timeout_ms ? hs->cfg->timeout_ms :
				   MB_HS_TIMEOUT_MS);
			return -1;
		}
		if (errno != EINTR) {
			set_reason(hs, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int write_all(struct hs *hs, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len) {
		if (wait_fd(hs, POLLOUT))
			return -1;
		n = send(hs->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_reason(hs, "send: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads exactly @len bytes, never more. */
static int read_exact(struct hs *hs, void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len) {
		if (wait_fd(hs, POLLIN))
			return -1;
		n = recv(hs->fd, p, len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_reason(hs, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			set_reason(hs, "connection closed during the handshake");
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Sends an ERROR instead of the next message, then lets the other side
 * read it: no more writes, and what it still sends is discarded for a
 * moment, so that closing does not reset the connection under its read.
 */
static __printf(3, 4) int refuse(struct hs *hs, int code, const char *fmt,
				 ...)
{
	unsigned char msg[MB_HS_VERDICT_LEN + MB_HS_REASON_MAX], sink[256];
	char reason[MB_HS_REASON_MAX + 1];
	struct timespec now;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	len = strlen(reason);
	memcpy(msg, HS_MAGIC_ERR, 4);
	put16(msg + 4, code);
	put16(msg + 6, len);
	memcpy(msg + MB_HS_VERDICT_LEN, reason, len);
	hs->res->code = code;
	hs->res->refused_by_us = true;
	snprintf(hs->res->reason, sizeof(hs->res->reason), "%s", reason);
	if (write_all(hs, msg, MB_HS_VERDICT_LEN + len))
		snprintf(hs->res->reason, sizeof(hs->res->reason), "%s",
			 reason);	/* keep the reason, not the send error */
	shutdown(hs->fd, SHUT_WR);
	/* linger at most HS_LINGER_MS, and never past the deadline */
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_sec += HS_LINGER_MS / 1000;
	now.tv_nsec += (HS_LINGER_MS % 1000) * 1000000L;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	if (now.tv_sec < hs->deadline.tv_sec ||
	    (now.tv_sec == hs->deadline.tv_sec &&
	     now.tv_nsec < hs->deadline.tv_nsec))
		hs->deadline = now;
	for (;;) {
		struct pollfd pfd = { .fd = hs->fd, .events = POLLIN };

		if (poll(&pfd, 1, time_left(hs)) <= 0 ||
		    recv(hs->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	}
	return -1;
}

/* After the magic "MBER": the code, the reason; prints it safely. */
static int read_error(struct hs *hs)
{
	unsigned char h[4], reason[MB_HS_REASON_MAX];
	uint16_t code, len;
	size_t i;

	if (read_exact(hs, h, sizeof(h)))
		return -1;
	code = get16(h);
	len = get16(h + 2);
	if (len > MB_HS_REASON_MAX) {
		set_reason(hs, "malformed ERROR (reason of %u bytes)", len);
		return -1;
	}
	if (read_exact(hs, reason, len))
		return -1;
	for (i = 0; i < len; i++)
		if (reason[i] < 0x20 || reason[i] > 0x7e)
			reason[i] = '?';
	hs->res->code = code;
	hs->res->refused_by_peer = true;
	if (len)
		set_reason(hs, "%.*s", (int)len, (const char *)reason);
	else
		set_reason(hs, "error %u", code);
	return -1;
}

/*
 * Reads the 4-byte magic of the next message; an ERROR is consumed and
 * reported. Returns 0 when @want came, -1 otherwise.
 */
static int read_magic(struct hs *hs, const char *want, const char *what)
{
	unsigned char m[4];

	if (read_exact(hs, m, 4))
		return -1;
	if (!memcmp(m, HS_MAGIC_ERR, 4))
		return read_error(hs);
	if (memcmp(m, want, 4))
		return refuse(hs, MB_HS_E_MAGIC, "bad magic in %s", what);
	return 0;
}

static uint16_t our_version(const struct mb_hs_cfg *cfg)
{
	const char *env;
	char *end;
	unsigned long v;

	if (cfg->version)
		return cfg->version;
	env = getenv("MBATCH_HS_VERSION");	/* a testing aid */
	if (env && *env) {
		v = strtoul(env, &end, 0);
		if (!*end && v <= 0xffff)
			return v;
	}
	return MBATCH_WIRE_VERSION;
}

/* A wire name: 1 to 31 bytes of [A-Za-z0-9_.-], then NULs. */
static bool name_ok(const unsigned char *n)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
	size_t i, len = strnlen((const char *)n, MB_HS_NAME_LEN);

	if (!len || len >= MB_HS_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!strchr(ok, n[i]))
			return false;
	for (; i < MB_HS_NAME_LEN; i++)
		if (n[i])
			return false;
	return true;
}

static bool replay_seen(struct mb_hs_replay *r, const unsigned char *chal)
{
	unsigned int i;
	bool seen = false;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->count && !seen; i++)
		seen = !memcmp(r->chal[i], chal, MB_HS_CHAL_LEN);
	if (!seen) {
		memcpy(r->chal[r->next], chal, MB_HS_CHAL_LEN);
		r->next = (r->next + 1) % MB_HS_REPLAY_MAX;
		if (r->count < MB_HS_REPLAY_MAX)
			r->count++;
	}
	pthread_mutex_unlock(&r->lock);
	return seen;
}

static int send_hello(struct hs *hs)
{
	unsigned char *h = hs->res->hello;
	const struct mb_hs_cfg *cfg = hs->cfg;
	uint16_t flags;

	if (RAND_bytes(hs->own_chal, MB_HS_CHAL_LEN) != 1) {
		set_reason(hs, "no random bytes for the challenge");
		return -1;
	}
	flags = cfg->wants & (MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST);
	if (cfg->dialler)
		flags |= MB_HS_F_DIALLER;
	memcpy(h, HS_MAGIC_HELLO, 4);
	put16(h + 4, our_version(cfg));
	put16(h + 6, flags);
	memcpy(h + 8, hs->own_chal, MB_HS_CHAL_LEN);
	memcpy(h + 40, hs->own_name, MB_HS_NAME_LEN);
	return write_all(hs, h, MB_HS_HELLO_LEN);
}

static int check_hello(struct hs *hs, uint32_t *peer_flags)
{
	unsigned char h[MB_HS_HELLO_LEN - 4];
	const struct mb_hs_cfg *cfg = hs->cfg;
	uint16_t ver, flags;
	char why[MB_HS_REASON_MAX + 160] = "";
	int code;

	if (read_magic(hs, HS_MAGIC_HELLO, "HELLO") ||
	    read_exact(hs, h, sizeof(h)))
		return -1;
	ver = get16(h);
	flags = get16(h + 2);
	memcpy(hs->peer_chal, h + 4, MB_HS_CHAL_LEN);
	memcpy(hs->peer_name, h + 36, MB_HS_NAME_LEN);
	if (ver != our_version(cfg))
		return refuse(hs, MB_HS_E_VERSION,
			      "version mismatch: peer speaks %u, this node %u",
			      ver, our_version(cfg));
	if (flags & ~MB_HS_F_ALL)
		return refuse(hs, MB_HS_E_MAGIC, "unknown HELLO flags 0x%x",
			      flags & ~MB_HS_F_ALL);
	if (!!(flags & MB_HS_F_DIALLER) == cfg->dialler)
		return refuse(hs, MB_HS_E_MAGIC,
			      "both sides %s the connection",
			      cfg->dialler ? "dialled" : "accepted");
	if (!name_ok(hs->peer_name))
		return refuse(hs, MB_HS_E_PEER, "malformed node name");
	memcpy(hs->res->peer, hs->peer_name, MB_HS_NAME_LEN);
	if (!CRYPTO_memcmp(hs->peer_chal, hs->own_chal, MB_HS_CHAL_LEN))
		return refuse(hs, MB_HS_E_REPLAY, "reflected challenge");
	if (hs->cfg->replay && replay_seen(hs->cfg->replay, hs->peer_chal))
		return refuse(hs, MB_HS_E_REPLAY, "replayed challenge");
	if (cfg->expect && strcmp(cfg->expect, hs->res->peer))
		return refuse(hs, MB_HS_E_PEER,
			      "dialled peer %s, but %s answered", cfg->expect,
			      hs->res->peer);
	code = cfg->lookup(hs->res->peer, hs->key, &hs->keylen, why,
			   sizeof(why), cfg->lookup_arg);
	if (code == MB_HS_E_PEER)
		return refuse(hs, code, "unknown peer %s", hs->res->peer);
	if (code || hs->keylen < MB_HS_PSK_MIN || hs->keylen > MB_HS_PSK_MAX) {
		refuse(hs, MB_HS_E_INTERNAL, "internal error");
		set_reason(hs, "internal error: %s", why[0] ? why : "bad key");
		return -1;
	}
	*peer_flags = flags;
	return 0;
}

/*
 * HMAC-SHA256 keyed with the peer's key over the label, the sender's
 * role, the receiver's challenge, the sender's challenge, the sender's
 * name and the receiver's name.
 */
static int auth_mac(struct hs *hs, bool sender_dialled,
		    const unsigned char *recv_chal,
		    const unsigned char *send_chal,
		    const unsigned char *send_name,
		    const unsigned char *recv_name, unsigned char *mac)
{
	unsigned char buf[14 + 1 + 2 * MB_HS_CHAL_LEN + 2 * MB_HS_NAME_LEN];
	unsigned char *p = buf;
	unsigned int len = 0;

	memcpy(p, HS_AUTH_LABEL, 14);
	p += 14;
	*p++ = sender_dialled ? 1 : 0;
	memcpy(p, recv_chal, MB_HS_CHAL_LEN);
	p += MB_HS_CHAL_LEN;
	memcpy(p, send_chal, MB_HS_CHAL_LEN);
	p += MB_HS_CHAL_LEN;
	memcpy(p, send_name, MB_HS_NAME_LEN);
	p += MB_HS_NAME_LEN;
	memcpy(p, recv_name, MB_HS_NAME_LEN);
	if (!HMAC(EVP_sha256(), hs->key, hs->keylen, buf, sizeof(buf), mac,
		  &len) || len != MB_HS_MAC_LEN)
		return -1;
	return 0;
}

static int do_auth(struct hs *hs)
{
	unsigned char msg[MB_HS_AUTH_LEN], mac[MB_HS_MAC_LEN];
	bool dialler = hs->cfg->dialler;

	memcpy(msg, HS_MAGIC_AUTH, 4);
	if (auth_mac(hs, dialler, hs->peer_chal, hs->own_chal, hs->own_name,
		     hs->peer_name, msg + 4))
		return refuse(hs, MB_HS_E_INTERNAL, "internal error");
	if (write_all(hs, msg, sizeof(msg)))
		return -1;
	if (read_magic(hs, HS_MAGIC_AUTH, "AUTH") ||
	    read_exact(hs, msg + 4, MB_HS_MAC_LEN))
		return -1;
	if (auth_mac(hs, !dialler, hs->own_chal, hs->peer_chal, hs->peer_name,
		     hs->own_name, mac))
		return refuse(hs, MB_HS_E_INTERNAL, "internal error");
	if (CRYPTO_memcmp(mac, msg + 4, MB_HS_MAC_LEN))
		return refuse(hs, MB_HS_E_AUTH, "authentication failed");
	return 0;
}

static int do_verdict(struct hs *hs)
{
	unsigned char msg[MB_HS_VERDICT_LEN] = HS_MAGIC_OK;

	if (write_all(hs, msg, sizeof(msg)))
		return -1;
	if (read_magic(hs, HS_MAGIC_OK, "verdict") ||
	    read_exact(hs, msg + 4, 4))
		return -1;
	if (get16(msg + 4) || get16(msg + 6))
		return refuse(hs, MB_HS_E_MAGIC, "malformed OK");
	return 0;
}

int mb_handshake(int fd, const struct mb_hs_cfg *cfg,
		 struct mb_hs_result *res)
{
	int timeout = cfg->timeout_ms ? cfg->timeout_ms : MB_HS_TIMEOUT_MS;
	uint32_t peer_flags = 0;
	struct hs *hs;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!cfg->name || strlen(cfg->name) >= MB_HS_NAME_LEN ||
	    !cfg->lookup) {
		snprintf(res->reason, sizeof(res->reason),
			 "bad handshake configuration");
		return -1;
	}
	hs = calloc(1, sizeof(*hs));
	if (!hs) {
		snprintf(res->reason, sizeof(res->reason), "out of memory");
		return -1;
	}
	hs->fd = fd;
	hs->cfg = cfg;
	hs->res = res;
	memcpy(hs->own_name, cfg->name, strlen(cfg->name));	/* calloc: NUL padded */
	clock_gettime(CLOCK_MONOTONIC, &hs->deadline);
	hs->deadline.tv_sec += timeout / 1000;
	hs->deadline.tv_nsec += (timeout % 1000) * 1000000L;
	if (hs->deadline.tv_nsec >= 1000000000L) {
		hs->deadline.tv_sec++;
		hs->deadline.tv_nsec -= 1000000000L;
	}
	if (send_hello(hs) || check_hello(hs, &peer_flags) || do_auth(hs) ||
	    do_verdict(hs))
		goto out;
	res->digests = 0;
	if (cfg->wants & peer_flags & MB_HS_F_HDR_DIGEST)
		res->digests |= MBATCH_DIGEST_HEADER;
	if (cfg->wants & peer_flags & MB_HS_F_DATA_DIGEST)
		res->digests |= MBATCH_DIGEST_DATA;
	ret = 0;
out:
	OPENSSL_cleanse(hs->key, sizeof(hs->key));
	free(hs);
	return ret;
}

int mb_hs_replay_init(struct mb_hs_replay *r)
{
	memset(r, 0, sizeof(*r));
	r->chal = calloc(MB_HS_REPLAY_MAX, sizeof(*r->chal));
	if (!r->chal)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void mb_hs_replay_free(struct mb_hs_replay *r)
{
	if (!r->chal)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->chal);
	r->chal = NULL;
}

int mb_psk_read(const char *path, unsigned char *key, size_t *len,
		char *why, size_t whylen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, whylen, "key file %s: %s", path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "key file %s: not a regular file", path);
		return -EINVAL;
	}
	/* As wg(8) does: a shared key others can read is no secret. */
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		fprintf(stderr,
			"mbatchctl: warning: key file %s is accessible to group or others (chmod 600 it)\n",
			path);
	for (;;) {
		n = read(fd, key + got, MB_HS_PSK_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			snprintf(why, whylen, "key file %s: %s", path,
				 strerror(err));
			return -err;
		}
		if (n == 0)
			break;
		got += n;
		if (got == MB_HS_PSK_MAX) {
			char extra;

			n = read(fd, &extra, 1);
			if (n > 0) {
				close(fd);
				OPENSSL_cleanse(key, MB_HS_PSK_MAX);
				snprintf(why, whylen,
					 "key file %s: longer than %d bytes",
					 path, MB_HS_PSK_MAX);
				return -EFBIG;
			}
			break;
		}
	}
	close(fd);
	if (got < MB_HS_PSK_MIN) {
		OPENSSL_cleanse(key, MB_HS_PSK_MAX);
		snprintf(why, whylen,
			 "key file %s: %zu bytes, a key needs %d to %d",
			 path, got, MB_HS_PSK_MIN, MB_HS_PSK_MAX);
		return -EINVAL;
	}
	*len = got;
	return 0;
}
