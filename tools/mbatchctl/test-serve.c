// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of "mbatchctl serve" without the module: serve.c runs as it
 * is, over TCP on the loopback, with the kernel replaced by stubs of the
 * netlink helpers (a table of peers, an attach that checks the socket).
 * Two daemons are forked, an acceptor and a dialler, each with --once.
 * Output: TAP.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

const char *mb_cmdname = "serve";

void mb_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mbatchctl: %s: ", mb_cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mb_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return MB_EXIT_USAGE;
}

/* ---- the kernel, stubbed: this process's peers ---- */

struct stub_peer {
	const char *name;
	const char *addr;	/* NULL: accept only */
	const char *psk;
};

static const struct stub_peer *peers;
static const char *self;
static int attached;

int mb_nl_open(struct mb_nl *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->family = 0x20;
	return 0;
}

void mb_nl_close(struct mb_nl *nl)
{
	(void)nl;
}

struct nl_msg *mb_msg_new(struct mb_nl *nl, uint8_t cmd, int flags,
			  size_t size)
{
	struct nl_msg *msg = nlmsg_alloc();

	(void)size;
	genlmsg_put(msg, 0, 0, nl->family, 0, flags, cmd, 1);
	return msg;
}

static int get_exact(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (len) {
		if (poll(&pfd, 1, 3000) != 1)
			return -1;
		n = read(fd, buf, len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * PEER_ATTACH: the socket must carry exactly what the other side sends
 * after the handshake. Each side sends a 16-byte marker and reads the
 * other's; the fd is duplicated, as the kernel takes its own reference.
 */
int mb_nl_request(struct mb_nl *nl, struct nl_msg *msg, mb_reply_fn fn,
		  void *arg, unsigned int flags)
{
	struct nlattr *tb[MBATCH_A_MAX + 1];
	char mine[16] = "", theirs[16] = "", want[16] = "";
	const char *peer;
	int fd;

	(void)fn;
	(void)arg;
	(void)flags;
	nl->err = 0;
	if (genlmsg_hdr(nlmsg_hdr(msg))->cmd != MBATCH_CMD_PEER_ATTACH ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, MBATCH_A_MAX, NULL) ||
	    !tb[MBATCH_A_PEER_NAME] || !tb[MBATCH_A_PEER_FD] ||
	    !tb[MBATCH_A_PEER_DIGEST]) {
		nlmsg_free(msg);
		nl->err = -EINVAL;
		return MB_EXIT_KERNEL;
	}
	peer = nla_get_string(tb[MBATCH_A_PEER_NAME]);
	fd = dup(nla_get_u32(tb[MBATCH_A_PEER_FD]));
	snprintf(mine, sizeof(mine), "FRAME:%s", self);
	snprintf(want, sizeof(want), "FRAME:%s", peer);
	if (fd < 0 || write(fd, mine, sizeof(mine)) != sizeof(mine) ||
	    get_exact(fd, theirs, sizeof(theirs))) {
		printf("attach %s: socket unusable\n", peer);
	} else {
		printf("attached %s digests %u stream %s\n", peer,
		       nla_get_u32(tb[MBATCH_A_PEER_DIGEST]),
		       memcmp(theirs, want, sizeof(want)) ? "bad" : "ok");
		attached = 1;
	}
	fflush(stdout);
	/* fd stays open, like the kernel's reference, until exit */
	nlmsg_free(msg);
	return 0;
}

int mb_peer_get_nl(struct mb_nl *nl, const char *name, bool quiet,
		   struct json_object *arr)
{
	const struct stub_peer *p;

	(void)quiet;
	nl->err = 0;
	if (!peers) {	/* as without CAP_NET_ADMIN */
		nl->err = -EPERM;
		return MB_EXIT_KERNEL;
	}
	for (p = peers; p->name; p++) {
		struct json_object *o;

		if (name && strcmp(name, p->name))
			continue;
		o = json_object_new_object();
		mb_jadd_str(o, "name", p->name);
		mb_jadd_str(o, "addr", p->addr);
		mb_jadd_str(o, "psk_file", p->psk);
		mb_jadd_str(o, "state", attached ? "up" : "down");
		json_object_array_add(arr, o);
	}
	if (name && !json_object_array_length(arr)) {
		nl->err = -ENOENT;
		return MB_EXIT_KERNEL;
	}
	return 0;
}

int mb_events_open(struct mb_events *ev, mb_event_fn fn, void *arg)
{
	(void)ev;
	(void)fn;
	(void)arg;
	return MB_EXIT_LOCAL;
}

int mb_events_fd(struct mb_events *ev)
{
	(void)ev;
	return -1;
}

int mb_events_read(struct mb_events *ev)
{
	(void)ev;
	return 0;
}

void mb_events_close(struct mb_events *ev)
{
	(void)ev;
}

/* ---- the test ---- */

static int n, failed;
static char dir[] = "/tmp/mbatch-test-serve.XXXXXX";

static int skipped;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
	fflush(stdout);
}

/* A check that cannot run here: a TAP skip, which run-tests.sh counts. */
static void skip(const char *what, const char *why)
{
	n++;
	skipped++;
	printf("ok %d - %s # SKIP %s\n", n, what, why);
	fflush(stdout);
}

/*
 * Whether this machine runs IPv6 on its loopback: the kernel has it
 * (/proc/net/if_inet6) and lo does not disable it.
 */
static bool ipv6_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/ipv6/conf/lo/disable_ipv6", "r");
	int off = 1;

	if (access("/proc/net/if_inet6", R_OK) || !f) {
		if (f)
			fclose(f);
		return false;
	}
	if (fscanf(f, "%d", &off) != 1)
		off = 1;
	fclose(f);
	return !off;
}

static char *slurp(const char *name)
{
	static char buf[2][8192];
	static int which;
	char path[256];
	FILE *f;
	size_t len;

	which ^= 1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	len = f ? fread(buf[which], 1, sizeof(buf[which]) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[which][len] = '\0';
	return buf[which];
}

/* Runs cmd_serve in a child with stdout/stderr in DIR/TAG.out, .err. */
static pid_t spawn(const char *tag, const char *name,
		   const struct stub_peer *tab, const char *env_version,
		   char **argv)
{
	char out[256], err[256];
	pid_t pid;
	int argc = 0;

	snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
	snprintf(err, sizeof(err), "%s/%s.err", dir, tag);
	fflush(stdout);
	pid = fork();
	if (pid)
		return pid;
	if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
		_exit(99);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (env_version)
		setenv("MBATCH_HS_VERSION", env_version, 1);
	peers = tab;
	self = name;
	alarm(20);
	while (argv[argc])
		argc++;
	exit(cmd_serve(argc, argv));
}

static int wait_rc(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sl) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl))
		port = 17389;
	else
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Waits until the acceptor logged that it listens. */
static void wait_listening(const char *tag)
{
	char name[80];
	int i;

	snprintf(name, sizeof(name), "%s.err", tag);
	for (i = 0; i < 200 && !strstr(slurp(name), "listening on"); i++)
		usleep(10000);
}

struct pair_case {
	const char *what;
	const char *psk_a, *psk_b;	/* key files of each side */
	bool a_knows_b;
	const char *b_version;		/* MBATCH_HS_VERSION of the dialler */
	const char *b_digests;
	int rc_a, rc_b;
	bool ipv6;			/* over [::1] */
};

static void run_pair(const struct pair_case *c, const char *tag)
{
	char listen[32], addr[32], ta[64], tb[64];
	struct stub_peer pa[] = {
		{ c->a_knows_b ? "nodeb" : "nodex", NULL, c->psk_a },
		{ NULL, NULL, NULL },
	};
	struct stub_peer pb[] = {
		{ "nodea", addr, c->psk_b },
		{ NULL, NULL, NULL },
	};
	char *argv_a[] = { "serve", "--listen", listen, "--name", "nodea",
			   "--once", NULL };
	char *argv_b[] = { "serve", "--listen", "none", "--name", "nodeb",
			   "--once", "--digests", (char *)c->b_digests, NULL };
	pid_t a, b;
	int port = free_port(), rc_a, rc_b;

	snprintf(listen, sizeof(listen), "%s:%d",
		 c->ipv6 ? "[::1]" : "127.0.0.1", port);
	snprintf(addr, sizeof(addr), "%s:%d", c->ipv6 ? "[::1]" : "127.0.0.1",
		 port);
	snprintf(ta, sizeof(ta), "%s-a", tag);
	snprintf(tb, sizeof(tb), "%s-b", tag);
	a = spawn(ta, "nodea", pa, NULL, argv_a);
	wait_listening(ta);
	b = spawn(tb, "nodeb", pb, c->b_version, argv_b);
	rc_a = wait_rc(a);
	rc_b = wait_rc(b);
	check(rc_a == c->rc_a && rc_b == c->rc_b, c->what);
	if (rc_a != c->rc_a || rc_b != c->rc_b)
		printf("# exit %d and %d, expected %d and %d\n", rc_a, rc_b,
		       c->rc_a, c->rc_b);
}

int main(void)
{
	char key1[300], key2[300], line[512];
	FILE *f;

	if (!mkdtemp(dir))
		return 1;
	snprintf(key1, sizeof(key1), "%s/ab.psk", dir);
	snprintf(key2, sizeof(key2), "%s/other.psk", dir);
	f = fopen(key1, "w");
	fputs("0123456789abcdef0123456789abcdef", f);
	fclose(f);
	f = fopen(key2, "w");
	fputs("0123456789abcdef0123456789abcdeX", f);
	fclose(f);

	{
		struct pair_case c = { "right key: both daemons attach, exit 0",
				       key1, key1, true, NULL, "all", 0, 0,
				       false };

		run_pair(&c, "ok");
		check(strstr(slurp("ok-a.out"), "attached nodeb digests 3 stream ok") &&
		      strstr(slurp("ok-b.out"), "attached nodea digests 3 stream ok"),
		      "  both attach the peer's socket, digests 3, stream intact");
		check(strstr(slurp("ok-a.err"), "link to nodeb (127.0.0.1:") != NULL,
		      "  the acceptor logs the link");
	}
	{
		struct pair_case c = { "IPv6: listen on [::1], dial [::1]:PORT",
				       key1, key1, true, NULL, "all", 0, 0,
				       true };
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
					     .sin6_addr = IN6ADDR_LOOPBACK_INIT };

		bool bound = fd >= 0 &&
			     !bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));

		if (!bound && !ipv6_enabled()) {
			/* the machine's own setting: counted, but expected */
			skip("IPv6: attached over [::1]",
			     "expected: IPv6 is disabled on this machine");
		} else if (!bound) {
			check(0, "IPv6: bind [::1] although IPv6 is enabled");
		} else {
			run_pair(&c, "v6");
			check(strstr(slurp("v6-a.err"), "link to nodeb ([::1]:") &&
			      strstr(slurp("v6-b.out"), "stream ok"),
			      "  attached over IPv6");
		}
		if (fd >= 0)
			close(fd);
	}
	{
		struct pair_case c = { "digests none on one side",
				       key1, key1, true, NULL, "none", 0, 0,
				       false };

		run_pair(&c, "nod");
		check(strstr(slurp("nod-a.out"), "digests 0 stream ok") &&
		      strstr(slurp("nod-b.out"), "digests 0 stream ok"),
		      "  no digests negotiated");
	}
	{
		struct pair_case c = { "wrong key: both exit 7",
				       key1, key2, true, NULL, "all", 7, 7,
				       false };

		run_pair(&c, "key");
		snprintf(line, sizeof(line), "%s", slurp("key-a.err"));
		check(strstr(line, "refusing 127.0.0.1:") &&
		      strstr(line, ": authentication failed"),
		      "  acceptor: refusing ADDR: authentication failed");
		check(strstr(slurp("key-b.err"), "refusing nodea") == NULL &&
		      strstr(slurp("key-b.err"), ": authentication failed"),
		      "  dialler: authentication failed");
		check(!strstr(slurp("key-a.out"), "attached") &&
		      !strstr(slurp("key-b.out"), "attached"),
		      "  nothing attached");
	}
	{
		/* the dialler speaks version 1, the acceptor this one */
		struct pair_case c = { "another version: both exit 7",
				       key1, key1, true, "1", "all", 7, 7,
				       false };
		char want[80];

		run_pair(&c, "ver");
		snprintf(want, sizeof(want),
			 "version mismatch: peer speaks 1, this node %d",
			 MBATCH_WIRE_VERSION);
		check(strstr(slurp("ver-a.err"), want) != NULL,
		      "  acceptor: version mismatch: peer speaks 1");
		snprintf(want, sizeof(want),
			 "version mismatch: peer speaks %d, this node 1",
			 MBATCH_WIRE_VERSION);
		check(strstr(slurp("ver-b.err"), want) != NULL,
		      "  dialler: version mismatch too");
	}
	{
		struct pair_case c = { "unknown peer: both exit 7",
				       key1, key1, false, NULL, "all", 7, 7,
				       false };

		run_pair(&c, "unk");
		check(strstr(slurp("unk-a.err"), ": unknown peer nodeb") &&
		      strstr(slurp("unk-a.err"), "refusing "),
		      "  acceptor: refusing ADDR: unknown peer nodeb");
		check(strstr(slurp("unk-b.err"), "peer refused: unknown peer nodeb") != NULL,
		      "  dialler: peer refused: unknown peer nodeb");
	}

	{
		/* the dialler starts first: it retries with back-off */
		struct stub_peer pa[] = { { "nodeb", NULL, key1 }, { NULL, NULL, NULL } };
		struct stub_peer pb[] = { { "nodea", line, key1 }, { NULL, NULL, NULL } };
		char listen[32];
		char *argv_a[] = { "serve", "--listen", listen, "--name", "nodea",
				   "--once", NULL };
		char *argv_b[] = { "serve", "--listen", "none", "--name", "nodeb",
				   "--once", NULL };
		pid_t a, b;

		snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
		snprintf(line, sizeof(line), "%s", listen);
		b = spawn("late-b", "nodeb", pb, NULL, argv_b);
		usleep(700000);
		a = spawn("late-a", "nodea", pa, NULL, argv_a);
		check(wait_rc(a) == 0 && wait_rc(b) == 0,
		      "dialler before the acceptor: it dials again and attaches");
		check(strstr(slurp("late-b.err"), "cannot connect to 127.0.0.1:") &&
		      strstr(slurp("late-b.out"), "attached nodea digests 3 stream ok"),
		      "  connection refused first, then attached");
	}
	{
		/* SIGTERM: a clean exit 0 */
		struct stub_peer pa[] = { { "nodeb", NULL, key1 }, { NULL, NULL, NULL } };
		char listen[32];
		char *argv_a[] = { "serve", "--listen", listen, "--name", "nodea", NULL };
		pid_t a;

		snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
		a = spawn("term", "nodea", pa, NULL, argv_a);
		wait_listening("term");
		kill(a, SIGTERM);
		check(wait_rc(a) == 0 && strstr(slurp("term.err"), "stopped"),
		      "SIGTERM: stops cleanly, exit 0");
	}

	{
		/* the peers cannot be listed at start: exit with that status */
		char *argv_a[] = { "serve", "--listen", "none", "--name", "nodea", NULL };
		pid_t a = spawn("noperm", "nodea", NULL, NULL, argv_a);

		check(wait_rc(a) == MB_EXIT_KERNEL &&
		      strstr(slurp("noperm.err"), "cannot list the peers"),
		      "peers not listed at start: exit 1 at once");
	}

	if (!failed) {
		snprintf(line, sizeof(line), "rm -rf %s", dir);
		if (system(line))
			return 1;
	} else {
		printf("# logs kept in %s\n", dir);
	}
	printf("1..%d\n# %d passed, %d failed, %d skipped\n", n,
	       n - failed - skipped, failed, skipped);
	return failed ? 1 : 0;
}
