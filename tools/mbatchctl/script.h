/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The batch script language of mbatchctl, shared by "submit" and "run".
 * See Documentation/mbatchctl.8, section SCRIPT LANGUAGE.
 */
#ifndef MBATCHCTL_SCRIPT_H
#define MBATCHCTL_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "mbatchctl.h"

/*
 * Largest WRITE payload that fits in one MBATCH_A_MSG nest: a netlink
 * attribute length is 16 bits and the nest also carries the nest header,
 * tag, op, offset, len and the data attribute header (48 bytes).
 */
#define MB_MSG_NEST_OVERHEAD	48U
#define MB_MAX_INLINE_DATA	(0xffffU - MB_MSG_NEST_OVERHEAD)
/* Same for READ data in an MBATCH_A_RESULT nest (11 attributes + data). */
#define MB_RESULT_NEST_OVERHEAD	128U
#define MB_MAX_INLINE_READ	(0xffffU - MB_RESULT_NEST_OVERHEAD)
/*
 * Proxied READ and WRITE payloads (in a registered region, not in the
 * message): the longest one "run" parses before it knows the module's and
 * the session's limit, and the default length from which payloads are
 * proxied (run --inline-max).
 */
#define MB_MAX_PROXY_PARSE	(64U << 20)
#define MB_INLINE_MAX_DEFAULT	(16U << 10)

enum mb_data_kind {
	MB_DATA_OFFSET,		/* default: word = MB_PATTERN_MAGIC + offset */
	MB_DATA_BYTE,		/* pattern BYTE */
	MB_DATA_HEX,		/* hex HEXSTRING, repeated */
	MB_DATA_FILE,		/* file PATH, first LEN bytes */
	MB_DATA_SEQ,		/* seq SEED: splitmix64(SEED + offset / 8) */
};

#define MB_PATTERN_MAGIC	0x6d62000000000000ULL	/* "mb" */

struct mb_smsg {
	uint32_t op;		/* enum mbatch_op */
	uint32_t flags;		/* MBATCH_MSG_F_* */
	uint64_t off;
	uint32_t len;
	uint64_t tag;		/* default: the line number */
	enum mb_data_kind kind;
	uint64_t arg;		/* byte or seed */
	unsigned char *hex;	/* decoded hex string */
	uint32_t hexlen;
	char *path;		/* file PATH: WRITE data, or where READ data goes */
	uint64_t foff;		/* ... at this offset of the file */
	unsigned int line;

	/* run: where the payload travels, set before the SUBMIT */
	bool proxy;		/* in region @region at @region_off, no data */
	bool in_ring;		/* ... in run's own buffer region, @slot */
	uint32_t region;
	uint64_t region_off;
	uint32_t slot;		/* allocation of the buffer + 1; 0: none yet */
};

enum mb_item_kind {
	MB_ITEM_BATCH,		/* one SUBMIT */
	MB_ITEM_COLLECT,	/* run: collect now */
	MB_ITEM_RESUME,		/* run: RESUME */
};

struct mb_item {
	enum mb_item_kind kind;
	unsigned int line;
	struct mb_smsg *msgs;
	unsigned int nmsgs;
	/* collect */
	bool all;
	uint32_t wait_min;
	uint32_t timeout_ms;
	uint32_t max;
};

struct mb_script {
	const char *name;	/* file name used in messages */
	struct mb_item *items;
	unsigned int nitems;
	unsigned int nmsgs;	/* all messages of all batches */
	unsigned int errors;
	bool open_batch;	/* the last item is a batch still filling */
	bool submit;		/* submit: no collect or resume lines */
	bool no_batch;		/* submit's arguments: no batch lines either */
	uint32_t max_write;	/* inline length limits checked while parsing */
	uint32_t max_read;
	uint32_t max_zero;
	uint32_t max_proxy;	/* proxied READ/WRITE; 0: nothing is proxied */
	uint64_t inline_max;	/* READ/WRITE of this length or more are */
};

/* The limits a script is checked against (0: the uAPI's; see below). */
struct mb_script_limits {
	uint32_t max_io;	/* inline READ, WRITE */
	uint32_t max_zero;	/* DISCARD, WRITE_ZEROES */
	uint32_t max_proxy;	/* proxied READ, WRITE; 0: none at all */
	const char *whose;	/* "the session's" (default "the module's") */
};

/*
 * Limits: the uAPI's (MBATCH_MAX_IO_LEN, MBATCH_MAX_ZERO_LEN), nothing
 * proxied. A caller that proxies sets max_proxy (MBATCH_MAX_PROXY_IO_LEN)
 * and inline_max before parsing.
 */
void mb_script_init(struct mb_script *s, const char *name);
/*
 * Parse up to what the tool can send instead, for a caller that checks
 * the module's own limits with mb_script_check() before sending; a
 * proxying caller may raise max_proxy to MB_MAX_PROXY_PARSE after it.
 */
void mb_script_encodable(struct mb_script *s);
/*
 * Checks every message against the module's or the session's limits
 * (max_io and max_zero 0: the uAPI's; max_proxy 0: nothing is proxied)
 * and makes them the script's: which payloads are proxied follows from
 * them (mb_smsg_proxied). Errors are printed as FILE:LINE. Returns 0 or
 * MB_EXIT_USAGE.
 */
int mb_script_check(struct mb_script *s, const struct mb_script_limits *l);
/* A READ or WRITE whose payload goes through a region (inline_max). */
bool mb_smsg_proxied(const struct mb_script *s, const struct mb_smsg *m);
/* Parses one line (modified in place); errors are printed and counted. */
void mb_script_line(struct mb_script *s, char *line, unsigned int lineno);
/* Is @word a message op ("write", "checkpoint", ...)? */
bool mb_script_is_op(const char *word);
/* Parses a whole file ("-" is stdin). Returns 0, MB_EXIT_USAGE, MB_EXIT_LOCAL. */
int mb_script_parse_file(struct mb_script *s, const char *path);
/* Ends the script; returns 0 or MB_EXIT_USAGE if any line was bad. */
int mb_script_finish(struct mb_script *s);
void mb_script_free(struct mb_script *s);

/*
 * Fills @buf with the @m->len WRITE bytes (file PATH: read from the file
 * at its offset). Returns 0 or -errno.
 */
int mb_smsg_data(const struct mb_smsg *m, unsigned char *buf);
uint64_t mb_splitmix64(uint64_t x);

#endif /* MBATCHCTL_SCRIPT_H */
