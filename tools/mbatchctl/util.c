// SPDX-License-Identifier: GPL-2.0
/* Number parsing and names shared by every subcommand. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbatchctl.h"

/* Decimal or 0x hexadecimal, no sign, no trailing garbage. */
static int parse_num(const char *s, uint64_t *v, char **end)
{
	unsigned long long x;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!isxdigit((unsigned char)s[2]))
			return -EINVAL;
		x = strtoull(s + 2, end, 16);
	} else {
		x = strtoull(s, end, 10);	/* never octal */
	}
	if (errno)
		return -ERANGE;
	*v = x;
	return 0;
}

int mb_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (parse_num(s, v, &end) || *end)
		return -EINVAL;
	return 0;
}

int mb_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (mb_parse_u64(s, &x) || x > UINT32_MAX)
		return -EINVAL;
	*v = x;
	return 0;
}

/* A size: a number with an optional K, M, G or T suffix (powers of 1024). */
int mb_parse_size(const char *s, uint64_t *v)
{
	unsigned int shift = 0;
	uint64_t x;
	char *end;

	if (parse_num(s, &x, &end))
		return -EINVAL;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		/* 64M, 64Mi and 64MiB: what mb_fmt_size() prints reads back */
		if (end[1] && strcmp(end + 1, "i") && strcmp(end + 1, "iB"))
			return -EINVAL;
	}
	if (shift && x > (UINT64_MAX >> shift))
		return -ERANGE;
	*v = x << shift;
	return 0;
}

const char *mb_op_name(uint32_t op)
{
	static const char *const names[] = {
		[MBATCH_OP_READ] = "read",
		[MBATCH_OP_WRITE] = "write",
		[MBATCH_OP_FLUSH] = "flush",
		[MBATCH_OP_DISCARD] = "discard",
		[MBATCH_OP_WRITE_ZEROES] = "write-zeroes",
		[MBATCH_OP_CHECKPOINT] = "checkpoint",
	};

	if (op < ARRAY_SIZE(names) && names[op])
		return names[op];
	return "unknown";
}

const char *mb_state_name(uint32_t state)
{
	switch (state) {
	case MBATCH_SESSION_ACTIVE:
		return "active";
	case MBATCH_SESSION_HALTED:
		return "halted";
	case MBATCH_SESSION_CLOSING:
		return "closing";
	case MBATCH_SESSION_CONNECTING:
		return "connecting";
	}
	return "unknown";
}

/* "64MiB" when exact, the plain byte count otherwise. */
/* 16 bytes as a UUID's 36 characters (@len at least 37). */
char *mb_fmt_uuid(const unsigned char *u, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	return buf;
}

char *mb_fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	int i = -1;

	while (v && !(v & 1023) && i < 3) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%s", (unsigned long long)v, units[i]);
	return buf;
}

/* Names of queues, peers and nodes: 1 to 31 of [A-Za-z0-9_.-]. */
bool mb_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n < MBATCH_PEER_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/*
 * Splits "host:port" or "[v6addr]:port" (the port 1..65535 in decimal);
 * an empty host ("[]" or ":port") is left empty. Returns 0 or -EINVAL.
 */
int mb_split_hostport(const char *s, char *host, size_t hlen, char *port,
		      size_t plen)
{
	const char *colon, *h = s;
	size_t n;
	uint32_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		n = end - h;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return -EINVAL;	/* a bare IPv6 address needs [] */
		n = colon - s;
	}
	if (n >= hlen || strlen(colon + 1) >= plen ||
	    mb_parse_u32(colon + 1, &p) || !p || p > 65535 ||
	    colon[1] == '0')
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* A result's or a session's -errno in words. */
const char *mb_status_str(int32_t status)
{
	return strerror(status < 0 ? -status : status);
}

/* enum mbatch_outcome as results show it; "-" when a result has none. */
const char *mb_outcome_name(uint32_t outcome)
{
	switch (outcome) {
	case MBATCH_OUTCOME_DONE:
		return "done";
	case MBATCH_OUTCOME_CANCELLED:
		return "cancelled";
	case MBATCH_OUTCOME_NOT_SENT:
		return "not-sent";
	case MBATCH_OUTCOME_UNKNOWN:
		return "unknown";
	}
	return outcome ? "?" : "-";
}
