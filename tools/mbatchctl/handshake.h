/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The link handshake of Documentation/userspace-api/mbatch-wire.rst:
 * HELLO, AUTH (mutual HMAC-SHA256 over a pre-shared key), verdict. No
 * netlink here: the peer's key comes from a lookup callback, so that the
 * protocol is tested on the host over a socketpair.
 */
#ifndef MBATCHCTL_HANDSHAKE_H
#define MBATCHCTL_HANDSHAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

#define MB_HS_NAME_LEN		32	/* node name on the wire, NUL padded */
#define MB_HS_CHAL_LEN		32
#define MB_HS_MAC_LEN		32
#define MB_HS_HELLO_LEN		72
#define MB_HS_AUTH_LEN		36
#define MB_HS_VERDICT_LEN	8	/* then the reason of an ERROR */
#define MB_HS_REASON_MAX	200
#define MB_HS_PSK_MIN		16
#define MB_HS_PSK_MAX		1024
#define MB_HS_TIMEOUT_MS	10000
#define MB_HS_REPLAY_MAX	4096	/* challenges remembered */

/* HELLO flags */
#define MB_HS_F_HDR_DIGEST	(1U << 0)
#define MB_HS_F_DATA_DIGEST	(1U << 1)
#define MB_HS_F_DIALLER		(1U << 2)
#define MB_HS_F_ALL		(MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST | \
				 MB_HS_F_DIALLER)

/* ERROR codes */
enum mb_hs_code {
	MB_HS_OK = 0,
	MB_HS_E_MAGIC = 1,	/* bad magic or flags */
	MB_HS_E_VERSION,	/* version mismatch */
	MB_HS_E_PEER,		/* unknown peer */
	MB_HS_E_AUTH,		/* authentication failed */
	MB_HS_E_REPLAY,		/* replayed or reflected challenge */
	MB_HS_E_INTERNAL,	/* internal */
};

/* Challenges received, shared by every handshake of a daemon. */
struct mb_hs_replay {
	pthread_mutex_t lock;
	unsigned char (*chal)[MB_HS_CHAL_LEN];
	unsigned int count;	/* valid entries */
	unsigned int next;	/* ring position of the next insertion */
};

int mb_hs_replay_init(struct mb_hs_replay *r);
void mb_hs_replay_free(struct mb_hs_replay *r);

/*
 * Finds the pre-shared key of peer @name: fills @key (MB_HS_PSK_MAX bytes)
 * and @len. Returns 0, MB_HS_E_PEER (not a configured peer) or
 * MB_HS_E_INTERNAL (its key cannot be read), with a reason in @why.
 */
typedef int (*mb_hs_lookup_fn)(const char *name, unsigned char *key,
			       size_t *len, char *why, size_t whylen,
			       void *arg);

struct mb_hs_cfg {
	const char *name;	/* this node */
	bool dialler;		/* we connected */
	const char *expect;	/* dialler: the peer we dialled (or NULL) */
	uint32_t wants;		/* MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST */
	uint16_t version;	/* 0: MBATCH_WIRE_VERSION or $MBATCH_HS_VERSION */
	int timeout_ms;		/* 0: MB_HS_TIMEOUT_MS */
	mb_hs_lookup_fn lookup;
	void *lookup_arg;
	struct mb_hs_replay *replay;	/* NULL: no replay check */
};

struct mb_hs_result {
	char peer[MB_HS_NAME_LEN];	/* name the other side announced */
	uint32_t digests;		/* MBATCH_DIGEST_* both asked for */
	int code;		/* enum mb_hs_code sent or received, or 0 */
	bool refused_by_peer;	/* the other side sent the ERROR */
	bool refused_by_us;	/* we sent the ERROR */
	char reason[MB_HS_REASON_MAX + 200];	/* why it failed, "" */
	unsigned char hello[MB_HS_HELLO_LEN];	/* our HELLO, as sent */
};

/*
 * Runs the handshake on the connected stream @fd, reading exactly the
 * bytes of the handshake. Returns 0 when both sides sent and received OK;
 * -1 otherwise with res->reason set: refused by the peer, refused by us
 * (the ERROR was sent), or a local failure (EOF, timeout, I/O error).
 * The caller closes @fd on failure.
 */
int mb_handshake(int fd, const struct mb_hs_cfg *cfg,
		 struct mb_hs_result *res);

/*
 * Reads a pre-shared key file: it must exist, be readable and hold 16 to
 * 1024 bytes. Returns 0, or -errno with a message in @why.
 */
int mb_psk_read(const char *path, unsigned char *key, size_t *len,
		char *why, size_t whylen);

#endif /* MBATCHCTL_HANDSHAKE_H */
