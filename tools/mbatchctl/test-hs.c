// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the link handshake (handshake.c) over socketpairs, with a
 * stub peer lookup instead of netlink: both ends run in threads of this
 * process, or one end is played by hand to replay, reflect or truncate.
 * Output: TAP.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <linux/mbatch.h>

#include "handshake.h"

static int n, failed, skipped;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
}

/* A check that cannot run here: a TAP skip, which run-tests.sh counts. */
static void skip(const char *what, const char *why)
{
	n++;
	skipped++;
	printf("ok %d - %s # SKIP %s\n", n, what, why);
}

/*
 * mb_psk_read() of path by a user without root's DAC override: root reads
 * it from a child that became nobody. Its result, or 1 when root cannot
 * drop its privileges here.
 */
static int psk_read_unprivileged(const char *path)
{
	unsigned char key[MB_HS_PSK_MAX];
	char why[256];
	size_t len = 0;
	int st, ret;
	pid_t pid;

	if (geteuid() != 0)
		return mb_psk_read(path, key, &len, why, sizeof(why));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(1);
		ret = mb_psk_read(path, key, &len, why, sizeof(why));
		_exit(ret == -EACCES ? 0 : 2);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -ECHILD;
	switch (WEXITSTATUS(st)) {
	case 0:
		return -EACCES;
	case 1:
		return 1;
	default:
		return -EIO;
	}
}

struct key {
	const char *name;
	const char *psk;
};

/* name -> key; a NULL psk: configured, but its key cannot be read */
static int lookup(const char *name, unsigned char *key, size_t *len,
		  char *why, size_t whylen, void *arg)
{
	const struct key *k;

	for (k = arg; k->name; k++) {
		if (strcmp(k->name, name))
			continue;
		if (!k->psk) {
			snprintf(why, whylen, "no key");
			return MB_HS_E_INTERNAL;
		}
		*len = strlen(k->psk);
		memcpy(key, k->psk, *len);
		return 0;
	}
	snprintf(why, whylen, "no such peer");
	return MB_HS_E_PEER;
}

static const struct key keys_a[] = {	/* node "nodea" knows "nodeb" */
	{ "nodeb", "0123456789abcdef-shared" },
	{ "nokey", NULL },
	{ NULL, NULL },
};

static const struct key keys_b[] = {
	{ "nodea", "0123456789abcdef-shared" },
	{ NULL, NULL },
};

static const struct key keys_b_wrong[] = {
	{ "nodea", "0123456789abcdef-other!" },
	{ NULL, NULL },
};

struct end {
	pthread_t thread;
	int fd;
	struct mb_hs_cfg cfg;
	struct mb_hs_result res;
	int ret;
};

static void *run_end(void *arg)
{
	struct end *e = arg;

	e->ret = mb_handshake(e->fd, &e->cfg, &e->res);
	return NULL;
}

static void setup(struct end *d, struct end *a, struct mb_hs_replay *replay)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		exit(1);
	}
	memset(d, 0, sizeof(*d));
	memset(a, 0, sizeof(*a));
	d->fd = sv[0];
	d->cfg.name = "nodeb";
	d->cfg.dialler = true;
	d->cfg.expect = "nodea";
	d->cfg.lookup = lookup;
	d->cfg.lookup_arg = (void *)keys_b;
	d->cfg.timeout_ms = 2000;
	a->fd = sv[1];
	a->cfg.name = "nodea";
	a->cfg.lookup = lookup;
	a->cfg.lookup_arg = (void *)keys_a;
	a->cfg.replay = replay;
	a->cfg.timeout_ms = 2000;
}

static void run_both(struct end *d, struct end *a)
{
	pthread_create(&d->thread, NULL, run_end, d);
	pthread_create(&a->thread, NULL, run_end, a);
	pthread_join(d->thread, NULL);
	pthread_join(a->thread, NULL);
	close(d->fd);
	close(a->fd);
}

static void start(struct end *e)
{
	pthread_create(&e->thread, NULL, run_end, e);
}

static void finish(struct end *e)
{
	pthread_join(e->thread, NULL);
	close(e->fd);
}

/* Reads exactly @len bytes from @fd (the hand-played end). */
static int get(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t r;

	while (len) {
		r = read(fd, p, len);
		if (r <= 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

/* The hand-played end reads the ERROR that comes after a HELLO. */
static int get_error(int fd, char *reason, size_t len)
{
	unsigned char h[MB_HS_VERDICT_LEN];
	unsigned int rlen;

	if (get(fd, h, sizeof(h)) || memcmp(h, "MBER", 4))
		return -1;
	rlen = h[6] | h[7] << 8;
	if (rlen >= len || get(fd, reason, rlen))
		return -1;
	reason[rlen] = '\0';
	return h[4] | h[5] << 8;
}

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(void)
{
	unsigned char hello[MB_HS_HELLO_LEN], theirs[MB_HS_HELLO_LEN];
	struct mb_hs_replay replay;
	struct end d, a;
	char reason[256];
	double t0;
	int code;

	if (mb_hs_replay_init(&replay))
		return 1;

	/* right key: both OK, digests are what both asked for */
	setup(&d, &a, &replay);
	d.cfg.wants = MB_HS_F_HDR_DIGEST | MB_HS_F_DATA_DIGEST;
	a.cfg.wants = MB_HS_F_DATA_DIGEST;
	run_both(&d, &a);
	check(d.ret == 0 && a.ret == 0, "right key: both sides OK");
	check(!strcmp(d.res.peer, "nodea") && !strcmp(a.res.peer, "nodeb"),
	      "  each learns the other's name");
	check(d.res.digests == MBATCH_DIGEST_DATA &&
	      a.res.digests == MBATCH_DIGEST_DATA,
	      "  digests = AND of what both want");
	memcpy(hello, d.res.hello, sizeof(hello));
	check(!memcmp(hello, "MBHS", 4) &&
	      hello[4] == MBATCH_WIRE_VERSION && hello[5] == 0 &&
	      !memcmp(hello + 6, "\x07\x00", 2) &&
	      !strcmp((char *)hello + 40, "nodeb"),
	      "  HELLO layout: magic, MBATCH_WIRE_VERSION LE, flags, name at 40");

	setup(&d, &a, &replay);
	run_both(&d, &a);
	check(d.ret == 0 && a.ret == 0 && d.res.digests == 0,
	      "no digests asked: none negotiated");

	/* a socket carries data right after the handshake: nothing eaten */
	setup(&d, &a, &replay);
	start(&d);
	start(&a);
	pthread_join(d.thread, NULL);
	pthread_join(a.thread, NULL);
	code = write(d.fd, "FRAME", 5);
	check(code == 5 && !get(a.fd, reason, 5) && !memcmp(reason, "FRAME", 5),
	      "bytes after the handshake are left to the kernel");
	close(d.fd);
	close(a.fd);

	/* wrong key: both refuse */
	setup(&d, &a, &replay);
	d.cfg.lookup_arg = (void *)keys_b_wrong;
	run_both(&d, &a);
	check(d.ret && a.ret, "wrong key: both refuse");
	check(d.res.code == MB_HS_E_AUTH && a.res.code == MB_HS_E_AUTH,
	      "  code 4 on both sides");
	check(!strcmp(d.res.reason, "authentication failed") &&
	      !strcmp(a.res.reason, "authentication failed"),
	      "  reason: authentication failed");

	/* another version: refused with the version message on both sides */
	setup(&d, &a, &replay);
	d.cfg.version = MBATCH_WIRE_VERSION + 1;
	run_both(&d, &a);
	check(d.ret && a.ret && d.res.code == MB_HS_E_VERSION &&
	      a.res.code == MB_HS_E_VERSION, "a newer version: refused");
	snprintf(reason, sizeof(reason), "version mismatch: peer speaks %d",
		 MBATCH_WIRE_VERSION + 1);
	check(strstr(d.res.reason, "version mismatch") &&
	      strstr(a.res.reason, reason),
	      "  version message on both sides");

	/* the environment variable sets the version of a test end */
	setenv("MBATCH_HS_VERSION", "1", 1);
	setup(&d, &a, &replay);
	a.cfg.version = MBATCH_WIRE_VERSION;
	run_both(&d, &a);
	unsetenv("MBATCH_HS_VERSION");
	check(d.ret && strstr(a.res.reason, "peer speaks 1"),
	      "MBATCH_HS_VERSION announces another version (1: refused)");

	/* unknown peer: refused with code 3, the dialler hears why */
	setup(&d, &a, &replay);
	d.cfg.name = "nodec";
	d.cfg.lookup_arg = (void *)keys_b;
	run_both(&d, &a);
	check(a.ret && a.res.refused_by_us && a.res.code == MB_HS_E_PEER,
	      "unknown peer refused (code 3)");
	check(d.ret && d.res.refused_by_peer &&
	      !strcmp(d.res.reason, "unknown peer nodec"),
	      "  the dialler prints the peer's reason");

	/* a peer whose key cannot be read: internal error */
	setup(&d, &a, &replay);
	d.cfg.name = "nokey";
	run_both(&d, &a);
	check(a.ret && a.res.code == MB_HS_E_INTERNAL &&
	      d.res.refused_by_peer, "unreadable key: internal error (code 6)");

	/* the dialler expects the peer it dialled */
	setup(&d, &a, &replay);
	d.cfg.expect = "nodez";
	run_both(&d, &a);
	check(d.ret && d.res.refused_by_us && d.res.code == MB_HS_E_PEER &&
	      a.res.refused_by_peer, "another node answered the dial: refused");

	/* both dialled */
	setup(&d, &a, &replay);
	a.cfg.dialler = true;
	run_both(&d, &a);
	check(d.ret && a.ret && d.res.code == MB_HS_E_MAGIC &&
	      a.res.code == MB_HS_E_MAGIC, "same role on both sides: refused");

	/* replay a dialler's HELLO, recorded above, on a new connection */
	setup(&d, &a, &replay);
	start(&a);
	code = write(d.fd, hello, sizeof(hello));
	check(code == (int)sizeof(hello) && !get(d.fd, theirs, sizeof(theirs)),
	      "replay: recorded HELLO sent again");
	code = get_error(d.fd, reason, sizeof(reason));
	finish(&a);
	close(d.fd);
	check(code == MB_HS_E_REPLAY && !strcmp(reason, "replayed challenge"),
	      "  refused: replayed challenge (code 5)");
	check(a.ret && a.res.refused_by_us &&
	      !strcmp(a.res.reason, "replayed challenge"),
	      "  the acceptor logs it");

	/* reflect the acceptor's own challenge back to it */
	setup(&d, &a, &replay);
	start(&a);
	check(!get(d.fd, theirs, sizeof(theirs)), "reflection: HELLO read");
	memcpy(hello, "MBHS\x00\x00\x04\x00", 8);
	hello[4] = MBATCH_WIRE_VERSION;
	memcpy(hello + 8, theirs + 8, MB_HS_CHAL_LEN);
	memset(hello + 40, 0, MB_HS_NAME_LEN);
	strcpy((char *)hello + 40, "nodeb");
	code = write(d.fd, hello, sizeof(hello)) == sizeof(hello) ?
		get_error(d.fd, reason, sizeof(reason)) : -1;
	finish(&a);
	close(d.fd);
	check(code == MB_HS_E_REPLAY && !strcmp(reason, "reflected challenge"),
	      "  its own challenge reflected back: refused (code 5)");

	/* bad magic, unknown flags */
	setup(&d, &a, NULL);
	start(&a);
	memcpy(hello, "XXXX", 4);
	code = write(d.fd, hello, sizeof(hello)) == sizeof(hello) &&
	       !get(d.fd, theirs, sizeof(theirs)) ?
	       get_error(d.fd, reason, sizeof(reason)) : -1;
	finish(&a);
	close(d.fd);
	check(code == MB_HS_E_MAGIC, "bad magic: refused (code 1)");

	setup(&d, &a, NULL);
	start(&a);
	memcpy(hello, "MBHS\x00\x00\x0c\x00", 8);
	hello[4] = MBATCH_WIRE_VERSION;
	code = write(d.fd, hello, sizeof(hello)) == sizeof(hello) &&
	       !get(d.fd, theirs, sizeof(theirs)) ?
	       get_error(d.fd, reason, sizeof(reason)) : -1;
	finish(&a);
	close(d.fd);
	check(code == MB_HS_E_MAGIC && strstr(reason, "flags"),
	      "unknown flag bits: refused (code 1)");

	/* a refusal lingers for the ERROR to be read, but not for ever */
	setup(&d, &a, NULL);
	a.cfg.timeout_ms = 5000;
	start(&a);
	t0 = now_s();
	{
		static char junk[32768];

		memset(junk, 'x', sizeof(junk));
		code = write(d.fd, junk, sizeof(junk)) == sizeof(junk);
	}
	finish(&a);
	check(code && a.ret && a.res.refused_by_us &&
	      a.res.code == MB_HS_E_MAGIC && now_s() - t0 < 2.5,
	      "refusal with the connection kept open: lingers at most 1 s");
	close(d.fd);

	/* truncated HELLO, then EOF: a clean error at once */
	setup(&d, &a, NULL);
	start(&a);
	t0 = now_s();
	code = write(d.fd, "MBHS\x01\x00\x04\x00", 8);
	shutdown(d.fd, SHUT_WR);
	finish(&a);
	close(d.fd);
	check(code == 8 && a.ret && !a.res.refused_by_peer &&
	      strstr(a.res.reason, "closed") && now_s() - t0 < 1.5,
	      "truncated HELLO then EOF: clean error, no wait");

	/* truncated HELLO, connection kept open: the timeout ends it */
	setup(&d, &a, NULL);
	a.cfg.timeout_ms = 300;
	start(&a);
	t0 = now_s();
	code = write(d.fd, "MBHS\x01\x00", 6);
	finish(&a);
	check(code == 6 && a.ret && strstr(a.res.reason, "timed out") &&
	      now_s() - t0 < 2, "truncated HELLO: timed out, no hang");
	close(d.fd);

	/* key files */
	{
		char path[] = "/tmp/mbatch-test-psk.XXXXXX", why[256];
		unsigned char key[MB_HS_PSK_MAX];
		size_t len = 0;
		int fd = mkstemp(path);

		check(fd >= 0 && write(fd, "short", 5) == 5 &&
		      mb_psk_read(path, key, &len, why, sizeof(why)) == -EINVAL &&
		      strstr(why, "needs 16 to 1024"),
		      "key file of 5 bytes refused");
		memset(key, 'k', sizeof(key));
		check(write(fd, key, 1019) == 1019 &&
		      !mb_psk_read(path, key, &len, why, sizeof(why)) &&
		      len == 1024,
		      "key file of 1024 bytes accepted");
		check(write(fd, "x", 1) == 1 &&
		      mb_psk_read(path, key, &len, why, sizeof(why)) == -EFBIG,
		      "key file of 1025 bytes refused");
		chmod(path, 0);
		switch (psk_read_unprivileged(path)) {
		case -EACCES:
			check(1, "unreadable key file refused");
			break;
		case 1:
			skip("unreadable key file refused",
			     "root cannot drop to an unprivileged user");
			break;
		default:
			check(0, "unreadable key file refused");
		}
		check(mb_psk_read("/nonexistent/psk", key, &len, why,
				  sizeof(why)) == -ENOENT &&
		      strstr(why, "No such file"), "missing key file refused");
		close(fd);
		unlink(path);
	}

	mb_hs_replay_free(&replay);
	printf("1..%d\n# %d passed, %d failed, %d skipped\n", n,
	       n - failed - skipped, failed, skipped);
	return failed ? 1 : 0;
}
