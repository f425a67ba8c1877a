// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, case 8 (and issue 2's admin flag): permissions and namespaces.
 * Without CAP_NET_ADMIN every op and the events group are refused with
 * EPERM; without CAP_SYS_ADMIN a device cannot be bound (the rest works);
 * root of a user namespace is not enough (it may only listen to the events
 * of its own network namespace, where nothing can happen); a second network namespace
 * neither sees nor touches the first one's queues, sessions or events; a
 * session is driven only by the socket that opened it or with its handle,
 * and a peer's session by that peer only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

static int drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

FIXTURE(perm) {
	struct mb_env e;
	uint32_t sid;
	char name2[64], dev2[128];
};

FIXTURE_SETUP(perm)
{
	const char *err = mb_env_setup(&self->e, NULL, 0, 0, 0);
	struct mb_cmd c = { .tag = 1, .op = MBATCH_OP_CHECKPOINT };

	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_open(&self->e.s, self->e.queue, 0, &self->sid));
	/* one batch so that a batch id exists */
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 77, &c, 1, NULL));
	ASSERT_EQ(0, mb_nullb_create("size=16", self->name2, sizeof(self->name2),
				     self->dev2, sizeof(self->dev2)));
}

FIXTURE_TEARDOWN(perm)
{
	const char *err;

	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid));
	EXPECT_TRUE(mb_wait_dev_free(self->dev2, 3000));
	EXPECT_EQ(0, mb_nullb_remove(self->name2));
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

static char perm_page[2 * 4096];

/* One plausible request per op; returns the result of the transaction. */
static int send_op(struct mb_sock *s, uint8_t cmd, int dump, const char *q,
		   const char *dev, uint32_t sid)
{
	struct mb_req r;
	int ret;

	mb_req_init(&r, s, cmd, dump ? NLM_F_DUMP : 0);
	switch (cmd) {
	case MBATCH_CMD_QUEUE_NEW:
		mb_put_str(&r, MBATCH_A_QUEUE_NAME, "mbt_perm_q");
		mb_put_str(&r, MBATCH_A_QUEUE_DEV, dev);
		break;
	case MBATCH_CMD_QUEUE_DEL:
	case MBATCH_CMD_SESSION_OPEN:
		mb_put_str(&r, MBATCH_A_QUEUE_NAME, q);
		break;
	case MBATCH_CMD_QUEUE_GET:
		if (!dump)
			mb_put_str(&r, MBATCH_A_QUEUE_NAME, q);
		break;
	case MBATCH_CMD_SESSION_GET:
		if (!dump)
			mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
		break;
	case MBATCH_CMD_SESSION_CLOSE:
	case MBATCH_CMD_RESUME:
	case MBATCH_CMD_COLLECT:
		mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
		break;
	case MBATCH_CMD_BATCH_CANCEL:
		mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
		mb_put_u64(&r, MBATCH_A_BATCH_ID, 77);
		break;
	case MBATCH_CMD_PEER_NEW:
	case MBATCH_CMD_PEER_DEL:
		mb_put_str(&r, MBATCH_A_PEER_NAME, "mbt_perm_p");
		break;
	case MBATCH_CMD_PEER_GET:
		if (!dump)
			mb_put_str(&r, MBATCH_A_PEER_NAME, "mbt_perm_p");
		break;
	case MBATCH_CMD_PEER_ATTACH:
		mb_put_str(&r, MBATCH_A_PEER_NAME, "mbt_perm_p");
		mb_put_u32(&r, MBATCH_A_PEER_FD, 0);
		break;
	case MBATCH_CMD_REGION_NEW:
		/* a page of this process: the refusal must come first */
		mb_put_u64(&r, MBATCH_A_REGION_ADDR,
			   ((uintptr_t)perm_page + 4095) & ~(uintptr_t)4095);
		mb_put_u64(&r, MBATCH_A_REGION_LEN, 4096);
		break;
	case MBATCH_CMD_REGION_DEL:
		mb_put_u32(&r, MBATCH_A_REGION_ID, 0);
		break;
	case MBATCH_CMD_REGION_GET:
		if (!dump)
			mb_put_u32(&r, MBATCH_A_REGION_ID, 0);
		break;
	case MBATCH_CMD_SUBMIT: {
		size_t n;

		mb_put_u32(&r, MBATCH_A_SESSION_ID, sid);
		n = mb_nest_start(&r, MBATCH_A_MSG);
		mb_put_u64(&r, MBATCH_MSG_A_TAG, 1);
		mb_put_u32(&r, MBATCH_MSG_A_OP, MBATCH_OP_CHECKPOINT);
		mb_nest_end(&r, n);
		break;
	}
	default:
		break;
	}
	ret = mb_transact(s, &r, NULL, NULL);
	mb_req_free(&r);
	return ret;
}

static const struct { uint8_t cmd; int dump; const char *name; } all_ops[] = {
	{ MBATCH_CMD_VERSION_GET, 0, "version-get" },
	{ MBATCH_CMD_QUEUE_NEW, 0, "queue-new" },
	{ MBATCH_CMD_QUEUE_GET, 0, "queue-get" },
	{ MBATCH_CMD_QUEUE_GET, 1, "queue-get dump" },
	{ MBATCH_CMD_SESSION_OPEN, 0, "session-open" },
	{ MBATCH_CMD_SESSION_GET, 0, "session-get" },
	{ MBATCH_CMD_SESSION_GET, 1, "session-get dump" },
	{ MBATCH_CMD_SUBMIT, 0, "submit" },
	{ MBATCH_CMD_COLLECT, 1, "collect" },
	{ MBATCH_CMD_RESUME, 0, "resume" },
	{ MBATCH_CMD_BATCH_CANCEL, 0, "batch-cancel" },
	{ MBATCH_CMD_SESSION_CLOSE, 0, "session-close" },
	{ MBATCH_CMD_QUEUE_DEL, 0, "queue-del" },
	{ MBATCH_CMD_PEER_NEW, 0, "peer-new" },
	{ MBATCH_CMD_PEER_GET, 0, "peer-get" },
	{ MBATCH_CMD_PEER_GET, 1, "peer-get dump" },
	{ MBATCH_CMD_PEER_ATTACH, 0, "peer-attach" },
	{ MBATCH_CMD_PEER_DEL, 0, "peer-del" },
	{ MBATCH_CMD_REGION_NEW, 0, "region-new" },
	{ MBATCH_CMD_REGION_GET, 0, "region-get" },
	{ MBATCH_CMD_REGION_GET, 1, "region-get dump" },
	{ MBATCH_CMD_REGION_DEL, 0, "region-del" },
};

#define NOPS	(sizeof(all_ops) / sizeof(all_ops[0]))

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Every op refused with EPERM on a socket opened without the capability;
 * joining the events group answers join_ret.
 */
static int all_eperm(const char *q, const char *dev, uint32_t sid,
		     int join_ret)
{
	struct mb_sock s;
	int fails = 0, ret;
	size_t i;

	ret = mb_open(&s);
	CHK(ret == 0, "family lookup failed: %d", ret);
	if (ret)
		return 1;
	for (i = 0; i < NOPS; i++) {
		ret = send_op(&s, all_ops[i].cmd, all_ops[i].dump, q, dev, sid);
		CHK(ret == -EPERM, "%s without CAP_NET_ADMIN: %d (%s)",
		    all_ops[i].name, ret, mb_strerr(&s));
	}
	ret = mb_events_join(&s);
	CHK(ret == join_ret, "joining events without CAP_NET_ADMIN: %d, want %d",
	    ret, join_ret);
	mb_close(&s);
	return fails;
}

TEST_F(perm, no_net_admin_every_op_eperm)
{
	struct mb_session_info si;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (drop_cap(CAP_NET_ADMIN))
			_exit(100);
		_exit(all_eperm(self->e.queue, self->dev2, self->sid, -EPERM));
	}
	EXPECT_EQ(0, child_status(pid));
	/* nothing happened to the queue, the session or the peers */
	EXPECT_EQ(1, mb_queue_exists(&self->e.s, self->e.queue));
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, "mbt_perm_q"));
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	EXPECT_EQ(1, si.stats.v[MBATCH_STATS_A_SUBMITTED]);
	EXPECT_TRUE(mb_dev_free(self->dev2));
	{
		struct mb_peer_info pi;

		EXPECT_EQ(-ENOENT, mb_peer_get(&self->e.s, "mbt_perm_p", &pi));
	}
}

/* The list above holds every request the family has. */
TEST_F(perm, eperm_list_is_complete)
{
	size_t i, j;

	for (i = 0; i < (size_t)self->e.s.nops; i++) {
		uint32_t id = self->e.s.ops[i].id;
		int found = 0;

		for (j = 0; j < NOPS; j++)
			found |= all_ops[j].cmd == id;
		EXPECT_TRUE(found) TH_LOG("op %u is not in the EPERM list", id);
	}
	EXPECT_GE(self->e.s.nops, 15);
}

TEST_F(perm, user_namespace_root_is_not_enough)
{
	pid_t pid = fork();
	int ret;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/*
		 * A chrooted process may not make a user namespace (EPERM),
		 * and the VM harness runs the tests chrooted: as root, leave
		 * the chroot through pid 1's root first. This child needs no
		 * file, only netlink.
		 */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) &&
		    (errno != EPERM || chroot("/proc/1/root") || chdir("/") ||
		     unshare(CLONE_NEWUSER | CLONE_NEWNET)))
			_exit(101);
		/*
		 * The events group is checked against the user namespace
		 * that owns the network namespace (GENL_MCAST_CAP_NET_ADMIN):
		 * root of both may listen to its own namespace, where every
		 * request is refused and so nothing ever happens.
		 */
		_exit(all_eperm("x", self->dev2, 1, 0));
	}
	ret = child_status(pid);
	if (ret == 101)
		SKIP(return, "user namespaces unavailable");
	EXPECT_EQ(0, ret);
}

TEST_F(perm, no_sys_admin_cannot_bind)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mb_queue_cfg c = { .name = "mbt_perm_q", .dev = self->dev2 };
		struct mb_collect col;
		struct mb_collect_opts o = { .session = self->sid };
		struct mb_queue_info qi;
		struct mb_sock s;
		uint32_t sid2;
		int fails = 0, ret;

		if (drop_cap(CAP_SYS_ADMIN))
			_exit(100);
		if (mb_open(&s))
			_exit(102);
		ret = mb_queue_new(&s, &c);
		CHK(ret == -EPERM, "queue-new without CAP_SYS_ADMIN: %d (%s)", ret,
		    mb_strerr(&s));
		CHK(mb_contains(s.err.msg, X_NEED_SYS_ADMIN),
		    "extack \"%s\" lacks \"%s\"", s.err.msg, X_NEED_SYS_ADMIN);
		/* everything that binds nothing still works */
		ret = mb_queue_get(&s, self->e.queue, &qi);
		CHK(ret == 0, "queue-get: %s", mb_strerr(&s));
		ret = mb_session_open(&s, self->e.queue, 0, &sid2);
		CHK(ret == 0, "session-open: %s", mb_strerr(&s));
		ret = mb_collect(&s, &o, &col);
		CHK(ret == 0, "collect: %s", mb_strerr(&s));
		mb_collect_free(&col);
		if (sid2) {
			ret = mb_session_close(&s, sid2);
			CHK(ret == 0, "session-close: %s", mb_strerr(&s));
		}
		mb_close(&s);
		_exit(fails);
	}
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(0, mb_queue_exists(&self->e.s, "mbt_perm_q"));
	EXPECT_TRUE(mb_dev_free(self->dev2)) TH_LOG("refused bind left the device open");
}

TEST_F(perm, second_netns_is_isolated)
{
	int ready[2], go[2];
	pid_t pid;
	char b;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mb_queue_info qi[16];
		struct mb_session_info si[16];
		struct mb_queue_cfg c = { .name = self->e.queue, .dev = self->dev2 };
		struct mb_cmd cp = { .tag = 9, .op = MBATCH_OP_CHECKPOINT };
		struct mb_sock s, ev;
		struct mb_event evt;
		int fails = 0, ret, n, i, own = 0;
		uint32_t sid2 = 0, spare = 0;

		if (unshare(CLONE_NEWNET))
			_exit(101);
		if (mb_open(&s) || mb_open(&ev))
			_exit(102);
		n = mb_queue_dump(&s, qi, 16);
		for (i = 0; i < n && i < 16; i++)
			CHK(strcmp(qi[i].name, self->e.queue),
			    "queue %s visible from another netns", qi[i].name);
		n = mb_session_dump(&s, si, 16);
		CHK(n == 0, "%d sessions visible from a new netns", n);
		for (i = 0; i < (int)NOPS; i++) {
			if (all_ops[i].cmd == MBATCH_CMD_VERSION_GET ||
			    all_ops[i].cmd == MBATCH_CMD_QUEUE_NEW ||
			    all_ops[i].cmd >= MBATCH_CMD_PEER_NEW ||
			    (all_ops[i].dump &&
			     all_ops[i].cmd != MBATCH_CMD_COLLECT))
				continue;
			ret = send_op(&s, all_ops[i].cmd, all_ops[i].dump,
				      self->e.queue, self->dev2, self->sid);
			CHK(ret == -ENOENT, "%s on the other netns' object: %d (%s)",
			    all_ops[i].name, ret, mb_strerr(&s));
		}
		/* the same queue name is free here */
		ret = mb_queue_new(&s, &c);
		CHK(ret == 0, "queue-new of the same name in a new netns: %s",
		    mb_strerr(&s));
		/*
		 * Session ids are per namespace: make ours differ from the
		 * first namespace's session, so that an event tells by its
		 * id alone where it comes from.
		 */
		ret = mb_session_open(&s, self->e.queue, 0, &sid2);
		CHK(ret == 0, "session-open: %s", mb_strerr(&s));
		if (sid2 == self->sid) {
			spare = sid2;
			ret = mb_session_open(&s, self->e.queue, 0, &sid2);
			CHK(ret == 0, "session-open: %s", mb_strerr(&s));
		}
		CHK(sid2 != self->sid, "session %u here and there", sid2);
		/* the first namespace's events do not arrive here */
		CHK(mb_events_join(&ev) == 0, "events join: %s", mb_strerr(&ev));
		if (write(ready[1], "r", 1) != 1)
			_exit(103);
		if (read(go[0], &b, 1) != 1)
			_exit(104);
		/* after the first namespace's checkpoint, one of our own */
		CHK(mb_submit(&s, sid2, 0, &cp, 1, NULL) == 0, "submit: %s",
		    mb_strerr(&s));
		while ((ret = mb_event_recv(&ev, &evt, 1500)) == 1) {
			if (evt.cmd == MBATCH_CMD_CHECKPOINT_NTF &&
			    evt.session == sid2 &&
			    !strcmp(evt.queue, self->e.queue))
				own++;
			else
				CHK(0, "event %u of session %u (queue %s) leaked into another netns",
				    evt.cmd, evt.session, evt.queue);
		}
		CHK(own == 1, "%d checkpoint events of our own session, want 1",
		    own);
		if (sid2)
			CHK(mb_session_close(&s, sid2) == 0, "close: %s",
			    mb_strerr(&s));
		if (spare)
			CHK(mb_session_close(&s, spare) == 0, "close: %s",
			    mb_strerr(&s));
		CHK(mb_queue_del(&s, self->e.queue) == 0, "queue-del: %s",
		    mb_strerr(&s));
		mb_close(&ev);
		mb_close(&s);
		_exit(fails);
	}
	ASSERT_EQ(1, read(ready[0], &b, 1));
	{
		struct mb_cmd c[2] = {
			{ .tag = 2, .op = MBATCH_OP_READ, .offset = 0, .len = 512 },
			{ .tag = 3, .op = MBATCH_OP_CHECKPOINT },
		};
		struct mb_result *r = NULL;
		struct mb_queue_info qi;
		uint32_t nr = 0;

		/* the other netns' same-named queue is not ours */
		ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
		EXPECT_STREQ(self->e.dev, qi.dev);
		EXPECT_EQ(1, qi.sessions);
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 2, NULL));
		ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 3, 10000,
					    &r, &nr)) TH_LOG("%s", mb_strerr(&self->e.s));
		mb_results_free(r, nr);
	}
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(1, mb_queue_exists(&self->e.s, self->e.queue));
}

static const uint8_t owner_ops[] = {
	MBATCH_CMD_SUBMIT, MBATCH_CMD_COLLECT, MBATCH_CMD_RESUME,
	MBATCH_CMD_BATCH_CANCEL, MBATCH_CMD_SESSION_CLOSE,
};

TEST_F(perm, session_belongs_to_its_opener)
{
	struct mb_session_info si, all[64];
	struct mb_sock o, t;
	uint64_t h, h3;
	uint32_t sid3;
	size_t i;
	int n;

	h = mb_handle_get(&self->e.s, self->sid);
	ASSERT_NE(0, h) TH_LOG("session-open recorded no handle");
	ASSERT_EQ(0, mb_open(&o));
	/* SESSION_GET and the dump: every caller, never the handle */
	ASSERT_EQ(0, mb_session_get(&o, self->sid, &si)) TH_LOG("%s",
								 mb_strerr(&o));
	EXPECT_FALSE(si.has_handle);
	n = mb_session_dump(&o, all, 64);
	ASSERT_GE(n, 1) TH_LOG("%s", mb_strerr(&o));
	for (i = 0; i < (size_t)n && i < 64; i++)
		EXPECT_FALSE(all[i].has_handle) TH_LOG("dump shows a handle");
	/* another socket without the handle, or with a wrong one: EPERM */
	for (i = 0; i < sizeof(owner_ops); i++) {
		uint8_t cmd = owner_ops[i];

		mb_sock_handle(&o, MB_HANDLE_NONE, 0);
		EXPECT_EQ(-EPERM, send_op(&o, cmd, cmd == MBATCH_CMD_COLLECT,
					  self->e.queue, self->dev2, self->sid))
			TH_LOG("op %u without the handle: %s", cmd,
			       mb_strerr(&o));
		EXPECT_TRUE(mb_contains(o.err.msg, X_NOT_OWNER))
			TH_LOG("op %u: extack \"%s\"", cmd, o.err.msg);
		mb_sock_handle(&o, MB_HANDLE_GIVEN, h ^ 1);
		EXPECT_EQ(-EPERM, send_op(&o, cmd, cmd == MBATCH_CMD_COLLECT,
					  self->e.queue, self->dev2, self->sid))
			TH_LOG("op %u with a wrong handle: %s", cmd,
			       mb_strerr(&o));
		EXPECT_TRUE(mb_contains(o.err.msg, X_WRONG_HANDLE))
			TH_LOG("op %u: extack \"%s\"", cmd, o.err.msg);
	}
	/* the opener needs none; another socket with the right one works */
	mb_sock_handle(&self->e.s, MB_HANDLE_NONE, 0);
	EXPECT_EQ(0, send_op(&self->e.s, MBATCH_CMD_SUBMIT, 0, self->e.queue,
			     self->dev2, self->sid)) TH_LOG("%s",
							    mb_strerr(&self->e.s));
	mb_sock_handle(&self->e.s, MB_HANDLE_AUTO, 0);
	mb_sock_handle(&o, MB_HANDLE_GIVEN, h);
	EXPECT_EQ(0, send_op(&o, MBATCH_CMD_SUBMIT, 0, self->e.queue,
			     self->dev2, self->sid)) TH_LOG("%s", mb_strerr(&o));
	EXPECT_EQ(0, send_op(&o, MBATCH_CMD_COLLECT, 1, self->e.queue,
			     self->dev2, self->sid)) TH_LOG("%s", mb_strerr(&o));
	/* once its opener's socket is gone, only the handle reaches it */
	ASSERT_EQ(0, mb_open(&t));
	ASSERT_EQ(0, mb_session_open_h(&t, self->e.queue, NULL, 0, &sid3, &h3,
				       &si)) TH_LOG("%s", mb_strerr(&t));
	EXPECT_TRUE(si.has_handle);
	EXPECT_NE(h, h3);
	mb_close(&t);
	ASSERT_EQ(0, mb_session_get(&o, sid3, &si)) TH_LOG("%s", mb_strerr(&o));
	mb_sock_handle(&o, MB_HANDLE_NONE, 0);
	EXPECT_EQ(-EPERM, mb_session_close(&o, sid3));
	EXPECT_TRUE(mb_contains(o.err.msg, X_NOT_OWNER))
		TH_LOG("extack \"%s\"", o.err.msg);
	mb_sock_handle(&o, MB_HANDLE_GIVEN, h3);
	EXPECT_EQ(0, mb_session_close(&o, sid3)) TH_LOG("%s", mb_strerr(&o));
	mb_handle_set(&o, sid3, 0);
	mb_close(&o);
}

/*
 * A session a peer opened on our queue belongs to that peer: every request
 * that drives a session (and every way of naming it: none, a handle) is
 * refused here with EPERM and says so; SESSION_GET is open to all. In a
 * network namespace of its own, with a loopback link from this node to
 * itself (nodeb: where our session goes, nodea: where it comes from).
 */
TEST_F(perm, peer_session_belongs_to_its_peer)
{
	struct mb_queue_cfg qc = { .name = "mbt_perm_pq", .dev = self->dev2 };
	struct mb_peer_cfg pa = { .name = "nodea" }, pb = { .name = "nodeb" };
	struct mb_session_info si, all[4];
	uint32_t isid, psid = 0;
	struct mb_sock s;
	int fds[2], n, i;
	size_t k;

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %m");
	ASSERT_EQ(0, system("ip link set lo up"));
	ASSERT_EQ(0, mb_open(&s));
	ASSERT_EQ(0, mb_queue_new(&s, &qc)) TH_LOG("%s", mb_strerr(&s));
	ASSERT_EQ(0, mb_peer_new(&s, &pa)) TH_LOG("%s", mb_strerr(&s));
	ASSERT_EQ(0, mb_peer_new(&s, &pb)) TH_LOG("%s", mb_strerr(&s));
	ASSERT_EQ(0, mb_tcp_pair(fds));
	ASSERT_EQ(0, mb_peer_attach(&s, "nodeb", fds[0], 0)) TH_LOG("%s",
								mb_strerr(&s));
	ASSERT_EQ(0, mb_peer_attach(&s, "nodea", fds[1], 0)) TH_LOG("%s",
								mb_strerr(&s));
	close(fds[0]);
	close(fds[1]);
	ASSERT_EQ(0, mb_session_open_remote(&s, qc.name, "nodeb", 0, &isid))
		TH_LOG("%s", mb_strerr(&s));
	for (i = 0; i < 500 && !psid; i++) {
		n = mb_session_dump(&s, all, 4);
		for (k = 0; n > 0 && k < (size_t)n; k++)
			if (all[k].flags & MBATCH_SESSION_F_PEER)
				psid = all[k].id;
		if (!psid)
			usleep(10000);
	}
	ASSERT_NE(0, psid) TH_LOG("the peer's session never came");
	ASSERT_EQ(0, mb_session_get(&s, psid, &si)) TH_LOG("%s", mb_strerr(&s));
	EXPECT_STREQ(qc.name, si.queue);
	for (k = 0; k < sizeof(owner_ops); k++) {
		uint8_t cmd = owner_ops[k];

		mb_sock_handle(&s, MB_HANDLE_NONE, 0);
		EXPECT_EQ(-EPERM, send_op(&s, cmd, cmd == MBATCH_CMD_COLLECT,
					  qc.name, self->dev2, psid))
			TH_LOG("op %u on a peer's session: %s", cmd,
			       mb_strerr(&s));
		EXPECT_TRUE(mb_contains(s.err.msg, X_PEER_OWNED))
			TH_LOG("op %u: extack \"%s\"", cmd, s.err.msg);
		mb_sock_handle(&s, MB_HANDLE_GIVEN, 1);
		EXPECT_EQ(-EPERM, send_op(&s, cmd, cmd == MBATCH_CMD_COLLECT,
					  qc.name, self->dev2, psid))
			TH_LOG("op %u on a peer's session, a handle: %s", cmd,
			       mb_strerr(&s));
		EXPECT_TRUE(mb_contains(s.err.msg, X_PEER_OWNED))
			TH_LOG("op %u: extack \"%s\"", cmd, s.err.msg);
	}
	mb_sock_handle(&s, MB_HANDLE_AUTO, 0);
	/* still there, still the peer's */
	ASSERT_EQ(0, mb_session_get(&s, psid, &si)) TH_LOG("%s", mb_strerr(&s));
	EXPECT_TRUE(si.flags & MBATCH_SESSION_F_PEER);
	/* its initiator closes it; then the peers go */
	EXPECT_EQ(0, mb_session_close(&s, isid)) TH_LOG("%s", mb_strerr(&s));
	EXPECT_EQ(0, mb_peer_del(&s, "nodeb"));
	EXPECT_EQ(0, mb_peer_del(&s, "nodea"));
	EXPECT_EQ(0, mb_queue_del(&s, qc.name));
	mb_close(&s);
}

TEST_HARNESS_MAIN
