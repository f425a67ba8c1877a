// SPDX-License-Identifier: GPL-2.0
/*
 * Batch script parser: one message a line, "batch" lines as boundaries,
 * "collect" and "resume" directives, "#" comments. Errors are reported as
 * "FILE:LINE: message"; the caller exits with MB_EXIT_USAGE.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "script.h"

#define MAX_TOKENS	32
#define MAX_ERRORS	20

/* Reports FILE:LINE: message; returns -1 for "return perr(...)". */
static __printf(3, 4)
int perr(struct mb_script *s, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	if (++s->errors > MAX_ERRORS)
		return -1;
	fprintf(stderr, "%s:%u: ", s->name, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (s->errors == MAX_ERRORS)
		fprintf(stderr, "%s: too many errors, not reporting more\n",
			s->name);
	return -1;
}

static void *xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		fprintf(stderr, "mbatchctl: out of memory\n");
		exit(MB_EXIT_LOCAL);
	}
	p = realloc(p, n * size);
	if (!p) {
		fprintf(stderr, "mbatchctl: out of memory\n");
		exit(MB_EXIT_LOCAL);
	}
	return p;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void mb_script_init(struct mb_script *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->max_write = min_u32(MBATCH_MAX_IO_LEN, MB_MAX_INLINE_DATA);
	s->max_read = min_u32(MBATCH_MAX_IO_LEN, MB_MAX_INLINE_READ);
	s->max_zero = MBATCH_MAX_ZERO_LEN;
	s->inline_max = MB_INLINE_MAX_DEFAULT;
}

void mb_script_encodable(struct mb_script *s)
{
	s->max_write = MB_MAX_INLINE_DATA;
	s->max_read = MB_MAX_INLINE_READ;
	s->max_zero = UINT32_MAX;
}

bool mb_smsg_proxied(const struct mb_script *s, const struct mb_smsg *m)
{
	return (m->op == MBATCH_OP_READ || m->op == MBATCH_OP_WRITE) &&
	       s->max_proxy && m->len >= s->inline_max;
}

/*
 * The length of a READ or WRITE against the script's limits: inline or
 * proxied, as its length says. @whose names the limits in the message.
 */
static int io_len_ok(struct mb_script *s, const struct mb_smsg *m,
		     const char *whose)
{
	bool proxied = mb_smsg_proxied(s, m);
	char why[64] = "";
	uint32_t max;

	if (proxied)
		max = s->max_proxy;
	else
		max = m->op == MBATCH_OP_WRITE ? s->max_write : s->max_read;
	if (m->len <= max)
		return 0;
	if (whose)
		snprintf(why, sizeof(why), " (%s limit%s)", whose,
			 proxied ? ", proxied" : "");
	else if (proxied)
		snprintf(why, sizeof(why), " (proxied)");
	if (!proxied && s->max_proxy && m->len <= s->max_proxy)
		return perr(s, m->line, "%s: length %u out of range 1..%u%s inline, being shorter than --inline-max %llu",
			    mb_op_name(m->op), m->len, max, why,
			    (unsigned long long)s->inline_max);
	return perr(s, m->line, "%s: length %u out of range 1..%u%s",
		    mb_op_name(m->op), m->len, max, why);
}

int mb_script_check(struct mb_script *s, const struct mb_script_limits *l)
{
	const char *whose = l->whose ? l->whose : "the module's";
	uint32_t max_io = l->max_io ? l->max_io : MBATCH_MAX_IO_LEN;
	unsigned int i, j;

	s->max_write = min_u32(max_io, MB_MAX_INLINE_DATA);
	s->max_read = min_u32(max_io, MB_MAX_INLINE_READ);
	s->max_zero = l->max_zero ? l->max_zero : MBATCH_MAX_ZERO_LEN;
	s->max_proxy = l->max_proxy;
	for (i = 0; i < s->nitems; i++) {
		for (j = 0; j < s->items[i].nmsgs; j++) {
			const struct mb_smsg *m = &s->items[i].msgs[j];

			switch (m->op) {
			case MBATCH_OP_WRITE:
			case MBATCH_OP_READ:
				io_len_ok(s, m, whose);
				break;
			case MBATCH_OP_DISCARD:
			case MBATCH_OP_WRITE_ZEROES:
				if (m->len > s->max_zero)
					perr(s, m->line, "%s: length %u out of range 1..%u (%s limit)",
					     mb_op_name(m->op), m->len,
					     s->max_zero, whose);
				break;
			}
		}
	}
	return s->errors ? MB_EXIT_USAGE : 0;
}

static struct mb_item *new_item(struct mb_script *s, enum mb_item_kind kind,
				unsigned int line)
{
	struct mb_item *it;

	s->items = xrealloc(s->items, s->nitems + 1, sizeof(*s->items));
	it = &s->items[s->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->line = line;
	return it;
}

static struct mb_smsg *new_msg(struct mb_script *s, unsigned int line)
{
	struct mb_item *it = NULL;
	struct mb_smsg *m;

	if (s->open_batch)
		it = &s->items[s->nitems - 1];
	/* a batch is at most MBATCH_MAX_BATCH_MSGS: split automatically */
	if (!it || it->nmsgs == MBATCH_MAX_BATCH_MSGS) {
		it = new_item(s, MB_ITEM_BATCH, line);
		s->open_batch = true;
	}
	if (!(it->nmsgs & (it->nmsgs - 1)) || !it->nmsgs)
		it->msgs = xrealloc(it->msgs, it->nmsgs ? 2 * it->nmsgs : 1,
				    sizeof(*it->msgs));
	m = &it->msgs[it->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->line = line;
	m->tag = line;
	s->nmsgs++;
	return m;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

struct ctx {
	struct mb_script *s;
	unsigned int line;
	const char *cmd;
	char **tok;
	int ntok;
	int i;		/* next token */
};

/* perr() at the line of @c */
#define cerr(c, ...) perr((c)->s, (c)->line, __VA_ARGS__)

static const char *next(struct ctx *c, const char *what)
{
	if (c->i >= c->ntok) {
		perr(c->s, c->line, "%s: missing %s", c->cmd, what);
		return NULL;
	}
	return c->tok[c->i++];
}

static int get_size(struct ctx *c, const char *what, uint64_t *v)
{
	const char *t = next(c, what);

	if (!t)
		return -1;
	if (mb_parse_size(t, v))
		return cerr(c, "%s: bad %s '%s' (a number, 0x hex, K/M/G/T suffix)",
		    c->cmd, what, t);
	return 0;
}

static int get_u64(struct ctx *c, const char *what, uint64_t *v)
{
	const char *t = next(c, what);

	if (!t)
		return -1;
	if (mb_parse_u64(t, v))
		return cerr(c, "%s: bad %s '%s'", c->cmd, what, t);
	return 0;
}

static int get_u32(struct ctx *c, const char *what, uint64_t max, uint32_t *v)
{
	uint64_t x;

	if (get_u64(c, what, &x))
		return -1;
	if (x > max)
		return cerr(c, "%s: %s %llu is larger than %llu", c->cmd, what,
		    (unsigned long long)x, (unsigned long long)max);
	*v = x;
	return 0;
}

static int off_len(struct ctx *c, struct mb_smsg *m, uint64_t max)
{
	uint64_t off, len;

	if (get_size(c, "offset", &off) || get_size(c, "length", &len))
		return -1;
	if (len < 1 || len > max)
		return cerr(c, "%s: length %llu out of range 1..%llu", c->cmd,
		    (unsigned long long)len, (unsigned long long)max);
	if (off + len < off)
		return cerr(c, "%s: offset + length overflows", c->cmd);
	m->off = off;
	m->len = len;
	return 0;
}

static int data_hex(struct ctx *c, struct mb_smsg *m)
{
	const char *t = next(c, "hex string");
	size_t n, i;

	if (!t)
		return -1;
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
		t += 2;
	n = strlen(t);
	if (!n || n % 2)
		return cerr(c, "%s: hex string needs an even, non-zero number of digits",
		    c->cmd);
	if (n / 2 > m->len)
		return cerr(c, "%s: hex string of %zu bytes is longer than the length %u",
		    c->cmd, n / 2, m->len);
	m->hex = xrealloc(NULL, n / 2, 1);
	m->hexlen = n / 2;
	for (i = 0; i < n; i += 2) {
		int hi = hexval((unsigned char)t[i]);
		int lo = hexval((unsigned char)t[i + 1]);

		if (hi < 0 || lo < 0)
			return cerr(c, "%s: bad hex digit in '%s'", c->cmd, t);
		m->hex[i / 2] = hi << 4 | lo;
	}
	m->kind = MB_DATA_HEX;
	return 0;
}

/*
 * file PATH [at FOFF]: where a WRITE's data comes from (the file must hold
 * FOFF + LEN bytes) or where a READ's goes (created if need be, when the
 * run starts).
 */
static int data_file(struct ctx *c, struct mb_smsg *m)
{
	const char *t = next(c, "file name");
	struct stat st;

	if (!t)
		return -1;
	if (c->i < c->ntok && !strcmp(c->tok[c->i], "at")) {
		c->i++;
		if (get_size(c, "file offset", &m->foff))
			return -1;
		if (m->foff + m->len < m->foff)
			return cerr(c, "%s: file offset + length overflows",
			    c->cmd);
	}
	if (m->op == MBATCH_OP_READ) {
		if (stat(t, &st)) {
			if (errno != ENOENT)
				return cerr(c, "%s: %s: %s", c->cmd, t,
				    strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			return cerr(c, "%s: %s: %s", c->cmd, t,
			    strerror(EISDIR));
		} else if (access(t, W_OK)) {
			return cerr(c, "%s: %s: %s", c->cmd, t,
			    strerror(errno));
		}
	} else {
		if (stat(t, &st))
			return cerr(c, "%s: %s: %s", c->cmd, t,
			    strerror(errno));
		if (S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size < m->foff + m->len)
			return cerr(c, "%s: %s has %lld bytes, %llu needed",
			    c->cmd, t, (long long)st.st_size,
			    (unsigned long long)(m->foff + m->len));
		if (access(t, R_OK))
			return cerr(c, "%s: %s: %s", c->cmd, t,
			    strerror(errno));
		m->kind = MB_DATA_FILE;
	}
	m->path = strdup(t);
	if (!m->path)
		return cerr(c, "out of memory");
	return 0;
}

/* Trailing options of a message line: data source, tag, checkpoint flags. */
static int options(struct ctx *c, struct mb_smsg *m)
{
	bool data = false, tag = false;

	while (c->i < c->ntok) {
		const char *t = c->tok[c->i++];
		bool is_data = false;
		uint64_t v;

		if (!strcmp(t, "tag")) {
			if (tag)
				return cerr(c, "%s: duplicate 'tag'", c->cmd);
			if (get_u64(c, "tag", &m->tag))
				return -1;
			tag = true;
			continue;
		}
		if (m->op == MBATCH_OP_CHECKPOINT) {
			uint32_t f = 0;

			if (!strcmp(t, "durable"))
				f = MBATCH_MSG_F_DURABLE;
			else if (!strcmp(t, "continue"))
				f = MBATCH_MSG_F_CONTINUE;
			else
				return cerr(c, "%s: unexpected '%s' (durable, continue, tag N)",
				    c->cmd, t);
			if (m->flags & f)
				return cerr(c, "%s: duplicate '%s'", c->cmd, t);
			m->flags |= f;
			continue;
		}
		if (m->op == MBATCH_OP_READ && !strcmp(t, "file")) {
			if (c->s->submit)
				return cerr(c, "%s: 'file' is for run scripts (submit collects nothing)",
				    c->cmd);
			if (m->path)
				return cerr(c, "%s: duplicate 'file'", c->cmd);
			if (data_file(c, m))
				return -1;
			continue;
		}
		if (m->op != MBATCH_OP_WRITE)
			return cerr(c, "%s: unexpected '%s'", c->cmd, t);
		if (data) {
			is_data = !strcmp(t, "pattern") || !strcmp(t, "hex") ||
				  !strcmp(t, "file") || !strcmp(t, "seq");
			if (is_data)
				return cerr(c, "%s: more than one data source", c->cmd);
		}
		data = true;
		if (!strcmp(t, "pattern")) {
			if (get_u64(c, "pattern byte", &v))
				return -1;
			if (v > 255)
				return cerr(c, "%s: pattern byte %llu is larger than 255",
				    c->cmd, (unsigned long long)v);
			m->kind = MB_DATA_BYTE;
			m->arg = v;
		} else if (!strcmp(t, "hex")) {
			if (data_hex(c, m))
				return -1;
		} else if (!strcmp(t, "file")) {
			if (data_file(c, m))
				return -1;
		} else if (!strcmp(t, "seq")) {
			if (get_u64(c, "seed", &m->arg))
				return -1;
			m->kind = MB_DATA_SEQ;
		} else {
			return cerr(c, "%s: unexpected '%s' (pattern BYTE, hex HEX, file PATH [at FOFF], seq SEED, tag N)",
			    c->cmd, t);
		}
	}
	return 0;
}

static int message(struct ctx *c, uint32_t op)
{
	struct mb_script *s = c->s;
	struct mb_smsg *m = new_msg(s, c->line);
	uint32_t max;

	m->op = op;
	m->kind = MB_DATA_OFFSET;
	switch (op) {
	case MBATCH_OP_WRITE:
	case MBATCH_OP_READ:
		/*
		 * The limit, and what one netlink attribute can carry; a
		 * payload that goes through a region has its own.
		 */
		max = op == MBATCH_OP_WRITE ? s->max_write : s->max_read;
		if (s->max_proxy > max && s->max_proxy >= s->inline_max)
			max = s->max_proxy;
		if (off_len(c, m, max) || io_len_ok(s, m, NULL))
			return -1;
		break;
	case MBATCH_OP_DISCARD:
	case MBATCH_OP_WRITE_ZEROES:
		if (off_len(c, m, c->s->max_zero))
			return -1;
		break;
	}
	return options(c, m);
}

static int collect(struct ctx *c)
{
	struct mb_item *it = new_item(c->s, MB_ITEM_COLLECT, c->line);

	it->timeout_ms = 1000;
	while (c->i < c->ntok) {
		const char *t = c->tok[c->i++];

		if (!strcmp(t, "all")) {
			it->all = true;
		} else if (!strcmp(t, "wait-min")) {
			if (get_u32(c, "wait-min", UINT32_MAX, &it->wait_min))
				return -1;
		} else if (!strcmp(t, "timeout")) {
			if (get_u32(c, "timeout", MBATCH_COLLECT_TIMEOUT_MAX_MS,
				    &it->timeout_ms))
				return -1;
		} else if (!strcmp(t, "max")) {
			if (get_u32(c, "max", UINT32_MAX, &it->max))
				return -1;
		} else {
			return cerr(c, "collect: unexpected '%s' (all, wait-min N, timeout MS, max N)",
			    t);
		}
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t op;
} ops[] = {
	{ "write", MBATCH_OP_WRITE },
	{ "read", MBATCH_OP_READ },
	{ "flush", MBATCH_OP_FLUSH },
	{ "discard", MBATCH_OP_DISCARD },
	{ "write-zeroes", MBATCH_OP_WRITE_ZEROES },
	{ "checkpoint", MBATCH_OP_CHECKPOINT },
};

bool mb_script_is_op(const char *word)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(word, ops[i].name))
			return true;
	return false;
}

void mb_script_line(struct mb_script *s, char *line, unsigned int lineno)
{
	char *tok[MAX_TOKENS + 1], *p, *save = NULL;
	struct ctx c = { .s = s, .line = lineno, .tok = tok };
	size_t i;

	p = strchr(line, '#');
	if (p)
		*p = '\0';
	for (p = strtok_r(line, " \t\r\n\v\f", &save); p;
	     p = strtok_r(NULL, " \t\r\n\v\f", &save)) {
		if (c.ntok == MAX_TOKENS) {
			perr(s, lineno, "too many words");
			return;
		}
		tok[c.ntok++] = p;
	}
	if (!c.ntok)
		return;
	c.cmd = tok[0];
	c.i = 1;
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!strcmp(tok[0], ops[i].name)) {
			message(&c, ops[i].op);
			return;
		}
	}
	if (s->no_batch || (s->submit && strcmp(tok[0], "batch"))) {
		if (!strcmp(tok[0], "collect") || !strcmp(tok[0], "resume") ||
		    !strcmp(tok[0], "batch"))
			perr(s, lineno, "%s: a directive of run scripts, not of submit%s",
			     tok[0], s->no_batch ? " arguments" : "");
		else
			perr(s, lineno, "unknown message '%s' (write, read, flush, discard, write-zeroes, checkpoint%s)",
			     tok[0], s->no_batch ? "" : ", batch");
		return;
	}
	if (!strcmp(tok[0], "batch")) {
		if (c.ntok > 1)
			perr(s, lineno, "batch: unexpected '%s'", tok[1]);
		s->open_batch = false;
	} else if (!strcmp(tok[0], "collect")) {
		s->open_batch = false;
		collect(&c);
	} else if (!strcmp(tok[0], "resume")) {
		s->open_batch = false;
		new_item(s, MB_ITEM_RESUME, lineno);
		if (c.ntok > 1)
			perr(s, lineno, "resume: unexpected '%s'", tok[1]);
	} else {
		perr(s, lineno, "unknown command '%s' (write, read, flush, discard, write-zeroes, checkpoint, batch, collect, resume)",
		     tok[0]);
	}
}

int mb_script_parse_file(struct mb_script *s, const char *path)
{
	unsigned int lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	FILE *f;

	if (!strcmp(path, "-")) {
		f = stdin;
		s->name = "<stdin>";
	} else {
		f = fopen(path, "r");
		s->name = path;
		if (!f) {
			fprintf(stderr, "mbatchctl: %s: %s\n", path,
				strerror(errno));
			return MB_EXIT_USAGE;
		}
	}
	/* getline() ends with -1 at the end of the file and on ENOMEM alike */
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		if (strlen(line) > 4096) {
			perr(s, lineno, "line too long");
			errno = 0;
			continue;
		}
		mb_script_line(s, line, lineno);
		errno = 0;
	}
	free(line);
	if (ferror(f) || (errno && !feof(f))) {
		fprintf(stderr, "mbatchctl: %s: read error after line %u: %s\n",
			s->name, lineno, strerror(errno ? errno : EIO));
		if (f != stdin)
			fclose(f);
		return MB_EXIT_LOCAL;
	}
	if (f != stdin)
		fclose(f);
	return mb_script_finish(s);
}

int mb_script_finish(struct mb_script *s)
{
	s->open_batch = false;
	return s->errors ? MB_EXIT_USAGE : 0;
}

void mb_script_free(struct mb_script *s)
{
	unsigned int i, j;

	for (i = 0; i < s->nitems; i++) {
		for (j = 0; j < s->items[i].nmsgs; j++) {
			free(s->items[i].msgs[j].hex);
			free(s->items[i].msgs[j].path);
		}
		free(s->items[i].msgs);
	}
	free(s->items);
	s->items = NULL;
	s->nitems = 0;
}

uint64_t mb_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int mb_smsg_data(const struct mb_smsg *m, unsigned char *buf)
{
	uint32_t i;
	ssize_t n;
	int fd;

	switch (m->kind) {
	case MB_DATA_BYTE:
		memset(buf, (int)m->arg, m->len);
		return 0;
	case MB_DATA_HEX:
		for (i = 0; i < m->len; i++)
			buf[i] = m->hex[i % m->hexlen];
		return 0;
	case MB_DATA_FILE:
		fd = open(m->path, O_RDONLY);
		if (fd < 0)
			return -errno;
		for (i = 0; i < m->len; i += n) {
			n = pread(fd, buf + i, m->len - i, m->foff + i);
			if (n <= 0) {
				close(fd);
				return n ? -errno : -ENODATA;
			}
		}
		close(fd);
		return 0;
	case MB_DATA_OFFSET:
	case MB_DATA_SEQ:
		/* byte at device offset p: byte p % 8 of word p / 8, LE */
		for (i = 0; i < m->len; i++) {
			uint64_t p = m->off + i, w;

			if (m->kind == MB_DATA_OFFSET)
				w = MB_PATTERN_MAGIC + (p & ~7ULL);
			else
				w = mb_splitmix64(m->arg + p / 8);
			buf[i] = w >> (8 * (p & 7));
		}
		return 0;
	}
	return -EINVAL;
}
