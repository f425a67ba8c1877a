// SPDX-License-Identifier: GPL-2.0
/*
 * mb_link: issue 4 in the kernel alone: remote sessions over links, without the
 * daemon. Each test runs in a network namespace of its own, where two
 * peers of the same node, "nodeb" (where our sessions go) and "nodea"
 * (whose sessions run on our queue), are joined by a loopback TCP
 * connection attached with PEER_ATTACH. The session over "nodeb" is an
 * ordinary initiator session; its messages come back in over "nodea" and
 * run on the queue as a participant session.
 *
 * Proven here: batches with checkpoints (barrier from the participant's
 * timestamps, data read back from the device); links replaced mid-batch
 * (every effect once: reads of every epoch see the epoch before, the
 * device's sectors-written count is exactly the writes', the participant
 * queued every message once; messages really were resent; every result
 * once); participant state reset (outcomes unknown / not sent with the
 * cause, halted, nothing hangs; on the device, a write not sent left its
 * blocks untouched and the sectors written are what the outcomes say);
 * the link timeout; malformed frames from a raw socket (link dropped with
 * the reason, LINK_DOWN event); parallel sessions; every error's errno and
 * extack text.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <linux/mbatch_wire.h>

#include "mb_harness.h"
#include "mb_test.h"

#define PEER_OUT	"nodeb"		/* our sessions go there */
#define PEER_IN		"nodea"		/* its sessions come from there */
#define LINK_TIMEOUT	1500
#define LINK_TIMEOUT_SLACK 3000	/* ms past it a timed-out link may take */

/*
 * A new link between our two peers; the kernel keeps the sockets.
 * Replacing the participant's end first throws away what it had not read
 * yet: the initiator must send it again.
 */
static int relink_order(struct mb_sock *s, uint32_t digest, int in_first)
{
	int fds[2], ret;

	ret = mb_tcp_pair(fds);
	if (ret)
		return ret;
	if (in_first) {
		ret = mb_peer_attach(s, PEER_IN, fds[1], digest);
		if (!ret)
			ret = mb_peer_attach(s, PEER_OUT, fds[0], digest);
	} else {
		ret = mb_peer_attach(s, PEER_OUT, fds[0], digest);
		if (!ret)
			ret = mb_peer_attach(s, PEER_IN, fds[1], digest);
	}
	close(fds[0]);
	close(fds[1]);
	return ret;
}

static int relink(struct mb_sock *s, uint32_t digest)
{
	return relink_order(s, digest, 0);
}

static void put_hdr(unsigned char *h, uint8_t ver, uint16_t type,
		    uint32_t len, uint32_t session, uint64_t seq);
static size_t put_frame(unsigned char *f, uint16_t type, uint32_t sid,
			uint64_t seq, uint64_t arg, const void *pl, uint32_t len);

/* enum mbatch_wire_status <-> errno, as <linux/mbatch_wire.h> lists them */
static const int wire_errno[__MBATCH_WS_MAX] = {
	[MBATCH_WS_OK] = 0,
	[MBATCH_WS_IO] = EIO,
	[MBATCH_WS_NOTSUPP] = EOPNOTSUPP,
	[MBATCH_WS_TIMEDOUT] = ETIMEDOUT,
	[MBATCH_WS_NOSPC] = ENOSPC,
	[MBATCH_WS_NOLINK] = ENOLINK,
	[MBATCH_WS_REMOTEIO] = EREMOTEIO,
	[MBATCH_WS_BADE] = EBADE,
	[MBATCH_WS_NODATA] = ENODATA,
	[MBATCH_WS_ILSEQ] = EILSEQ,
	[MBATCH_WS_NOMEM] = ENOMEM,
	[MBATCH_WS_AGAIN] = EAGAIN,
	[MBATCH_WS_BUSY] = EBUSY,
	[MBATCH_WS_NODEV] = ENODEV,
	[MBATCH_WS_TIME] = ETIME,
	[MBATCH_WS_CANCELED] = ECANCELED,
	[MBATCH_WS_INVAL] = EINVAL,
	[MBATCH_WS_RANGE] = ERANGE,
	[MBATCH_WS_NOENT] = ENOENT,
	[MBATCH_WS_NOBUFS] = ENOBUFS,
	[MBATCH_WS_STALE] = ESTALE,
};

/* The status 0 or -errno a code stands for; unknown codes are -EIO. */
static inline int mb_wire_to_errno(uint16_t code)
{
	return code < __MBATCH_WS_MAX ? -wire_errno[code] : -EIO;
}

/* The code of 0 or -errno; an errno without a code is MBATCH_WS_IO. */
static inline uint16_t mb_errno_to_wire(int status)
{
	uint16_t i;

	for (i = 0; i < __MBATCH_WS_MAX; i++)
		if (-wire_errno[i] == status)
			return i;
	return MBATCH_WS_IO;
}

static int wait_state(struct mb_sock *s, uint32_t sid, uint32_t state,
		      int ms, struct mb_session_info *si)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;

	do {
		if (mb_session_get(s, sid, si))
			return -1;
		if (si->state == state)
			return 0;
		usleep(5000);
	} while (mb_now_ns() < end);
	return -1;
}

static int wait_peer(struct mb_sock *s, const char *name, uint32_t state,
		     int ms, struct mb_peer_info *pi)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;

	do {
		if (mb_peer_get(s, name, pi))
			return -1;
		if (pi->state == state)
			return 0;
		usleep(5000);
	} while (mb_now_ns() < end);
	return -1;
}

/* The participant session of our one session on nodeb, 0 if none. */
static uint32_t peer_session(struct mb_sock *s)
{
	struct mb_session_info all[4];
	uint32_t psid = 0;
	int i;

	if (mb_session_dump(s, all, 4) != 2)
		return 0;
	for (i = 0; i < 2; i++)
		if (all[i].flags & MBATCH_SESSION_F_PEER)
			psid = all[i].id;
	return psid;
}

static int add_peer(struct mb_sock *s, const char *name)
{
	struct mb_peer_cfg c = { .name = name, .keepalive_ms = 200,
				 .link_timeout_ms = LINK_TIMEOUT };

	return mb_peer_new(s, &c);
}

FIXTURE(remote) {
	struct mb_env e;
	uint32_t sid;
	uint64_t rng;
};

FIXTURE_VARIANT(remote) {
	uint32_t digest;
	int pull_all;		/* inline_max 0: every WRITE's data pulled */
};

FIXTURE_VARIANT_ADD(remote, plain) {
	.digest = 0,
};

FIXTURE_VARIANT_ADD(remote, crc32c) {
	.digest = MBATCH_DIGEST_HEADER | MBATCH_DIGEST_DATA,
};

FIXTURE_VARIANT_ADD(remote, pull) {
	.digest = MBATCH_DIGEST_HEADER | MBATCH_DIGEST_DATA,
	.pull_all = 1,
};

#define INLINE_MAX_DEFAULT	16384

FIXTURE_SETUP(remote)
{
	const char *err;

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %m");
	ASSERT_EQ(0, system("ip link set lo up"));
	/* Taken at attach, by both ends: every WRITE's data goes by R2T. */
	ASSERT_EQ(0, mb_knob_set("inline_max", variant->pull_all ? 0 :
				 INLINE_MAX_DEFAULT));
	err = mb_env_setup(&self->e,
			   "size=64 memory_backed=1 irqmode=2 completion_nsec=100000 cache_size=16 discard=1",
			   32, 0, 0);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, add_peer(&self->e.s, PEER_OUT))
		TH_LOG("PEER_NEW: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, add_peer(&self->e.s, PEER_IN))
		TH_LOG("PEER_NEW: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, relink(&self->e.s, variant->digest))
		TH_LOG("PEER_ATTACH: %s", mb_strerr(&self->e.s));
	self->rng = mb_seed();
	TH_LOG("seed %llu (set MBATCH_SEED to replay)",
	       (unsigned long long)self->rng);
}

FIXTURE_TEARDOWN(remote)
{
	struct mb_session_info si[4];
	struct mb_peer_info pi[4];
	const char *err;

	mb_knob_set("fault_rx_delay_ms", 0);
	mb_knob_set("inline_max", INLINE_MAX_DEFAULT);
	mb_knob_set("fault_r2t_ignore", 0);
	mb_knob_set("fault_jlog_write_lost", 0);
	mb_knob_set("fault_jlog_write_eio", 0);
	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	if (self->e.s.fd >= 0) {
		mb_peer_del(&self->e.s, PEER_OUT);
		mb_peer_del(&self->e.s, PEER_IN);
		/* Every peer and every session, ours or the peer's, is gone. */
		EXPECT_EQ(0, mb_peer_dump(&self->e.s, pi, 4));
		EXPECT_EQ(0, mb_session_dump(&self->e.s, si, 4));
	}
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

static void open_active(struct __test_metadata *_metadata,
			FIXTURE_DATA(remote) *self, uint32_t *sid)
{
	struct mb_session_info si;

	ASSERT_EQ(0, mb_session_open_remote(&self->e.s, self->e.queue,
					    PEER_OUT, 0, sid))
		TH_LOG("SESSION_OPEN %s@%s: %s", self->e.queue, PEER_OUT,
		       mb_strerr(&self->e.s));
	ASSERT_EQ(0, wait_state(&self->e.s, *sid, MBATCH_SESSION_ACTIVE, 5000,
				&si))
		TH_LOG("session %u state %u error %d, not active", *sid,
		       si.state, si.error);
}

/* Case 1: a random workload with checkpoints, like a local session. */
TEST_F_TIMEOUT(remote, barrier_random, 180)
{
	struct mb_wl_opts o = {
		.base = 0, .size = 16 << 20, .bs = self->e.bs,
		.max_blocks = 16, .avg_epoch = 30, .with_zero_ops = 1,
		.with_flags = 1,
	};
	struct mb_session_info all[4], si;
	struct mb_peer_info pi;
	struct mb_result *r;
	uint32_t nr, i, ncp = 0, peer_sessions = 0;
	uint64_t first = 0, pulled;
	const char *err;
	struct mb_wl w;

	open_active(_metadata, self, &self->sid);
	ASSERT_EQ(2, mb_session_dump(&self->e.s, all, 4));
	for (i = 0; i < 2; i++)
		if (all[i].flags & MBATCH_SESSION_F_PEER) {
			peer_sessions++;
			EXPECT_STREQ(self->e.queue, all[i].queue);
		}
	EXPECT_EQ(1, peer_sessions);

	mb_wl_gen(&w, &o, 1500, 1000, &self->rng);
	for (i = 0; i < w.n; i++)
		ncp += w.cmds[i].op == MBATCH_OP_CHECKPOINT;
	err = mb_wl_run(&self->e.s, self->sid, &w, 200, MBATCH_MAX_CMDS_DEFAULT,
			MBATCH_MAX_BYTES_DEFAULT, &self->rng, &r, &nr, &first);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	/* Ordering proven from the participant's own timestamps. */
	err = mb_wl_verify(&w, r, nr, first);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_ACTIVE, si.state);
	EXPECT_EQ(ncp, si.done_epoch);
	EXPECT_EQ(w.n, si.stats.v[MBATCH_STATS_A_COMPLETED]);

	/* Many messages per frame: far fewer frames than messages. */
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
	EXPECT_EQ(MBATCH_PEER_UP, pi.state);
	EXPECT_EQ(variant->digest, pi.digest);
	EXPECT_LT(pi.stats[MBATCH_PEER_STATS_A_TX_FRAMES], w.n);
	EXPECT_EQ(1, pi.stats[MBATCH_PEER_STATS_A_SESSIONS_OUT]);
	/* WRITE data above the inline maximum went by R2T, each once. */
	for (i = 0, pulled = 0; i < w.n; i++)
		pulled += w.cmds[i].op == MBATCH_OP_WRITE &&
			  w.cmds[i].len > (variant->pull_all ? 0 :
					   INLINE_MAX_DEFAULT);
	EXPECT_EQ(pulled, pi.stats[MBATCH_PEER_STATS_A_PULLED]);
	if (variant->pull_all)
		EXPECT_NE(0, pulled);
	TH_LOG("%u messages in %llu frames out, %llu in; rtt %u us", w.n,
	       (unsigned long long)pi.stats[MBATCH_PEER_STATS_A_TX_FRAMES],
	       (unsigned long long)pi.stats[MBATCH_PEER_STATS_A_RX_FRAMES],
	       pi.rtt_us);
	mb_results_free(r, nr);
	mb_wl_free(&w);
}

#define EPOCHS		24
#define EPOCH_BLOCKS	16
#define EPOCH_MSGS	(EPOCH_BLOCKS + 1)
#define ALL_MSGS	(EPOCHS * EPOCH_MSGS)

/*
 * Epoch k writes its own EPOCH_BLOCKS blocks (k * EPOCH_BLOCKS on), one per
 * message, with pattern 7000 + k, then checkpoints: every write has its
 * own blocks and its own data, so what each one did is on the device
 * (mb_check_write_effects). c[] gets ALL_MSGS commands, data
 * EPOCHS * EPOCH_BLOCKS blocks.
 */
static void epoch_cmds(struct mb_cmd *c, unsigned char *data, uint32_t bs)
{
	unsigned int k, b;

	for (k = 0; k < EPOCHS; k++) {
		struct mb_cmd *e = c + k * EPOCH_MSGS;

		for (b = 0; b < EPOCH_BLOCKS; b++) {
			uint64_t blk = (uint64_t)k * EPOCH_BLOCKS + b;
			unsigned char *d = data + blk * bs;

			mb_pattern(d, bs, 7000 + k, blk * bs);
			e[b] = (struct mb_cmd){ .tag = k * 100 + b,
				.op = MBATCH_OP_WRITE, .offset = blk * bs,
				.len = bs, .data = d, .data_len = bs };
		}
		e[b] = (struct mb_cmd){ .tag = k * 100 + 99,
			.op = MBATCH_OP_CHECKPOINT };
	}
}

/*
 * After a session lost its participant's state: nothing is in flight on
 * the device any more (the participant's session, if it had one, is gone),
 * every write left what its outcome says (not sent: untouched), and the
 * device's sectors-written counter grew by what the results say ran (for
 * unknown outcomes, between none and all of them).
 */
static void check_lost_device(struct __test_metadata *_metadata,
			      FIXTURE_DATA(remote) *self,
			      const struct mb_cmd *c, uint32_t nc,
			      const struct mb_result *r, uint32_t nr,
			      long long w0)
{
	const char *err;

	ASSERT_EQ(0, mb_blk_wait_idle(self->e.nullb, 10000))
		TH_LOG("I/O still in flight on %s", self->e.dev);
	err = mb_check_write_effects(self->e.dev, c, nc, r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	err = mb_check_sectors(c, nc, r, nr,
			       mb_sectors_written(self->e.nullb) - w0);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
}

/*
 * The relink workload: epoch k writes pattern 7000 + k over the blocks of
 * region k % 2 (one block per message) and reads the blocks of the other
 * region (one per message), which epoch k - 1 wrote (zeroes for k = 0);
 * then it checkpoints. No read of an epoch overlaps a write of it, so each
 * read has one right answer, unique to its epoch: a write of epoch j that
 * runs again after epoch j + 1 began (a resent message run twice) or does
 * not run shows in a read of a later epoch or in the device's last state,
 * and in the device's sectors-written count in any case.
 */
#define RL_MSGS		(2 * EPOCH_BLOCKS + 1)

static void relink_cmds(struct mb_cmd *c, unsigned char *data, uint32_t bs)
{
	unsigned int k, b;

	for (k = 0; k < EPOCHS; k++) {
		uint64_t wbase = (uint64_t)(k % 2) * EPOCH_BLOCKS * bs;
		uint64_t rbase = (uint64_t)((k + 1) % 2) * EPOCH_BLOCKS * bs;
		struct mb_cmd *e = c + k * RL_MSGS;

		for (b = 0; b < EPOCH_BLOCKS; b++) {
			unsigned char *d = data +
				((size_t)k * EPOCH_BLOCKS + b) * bs;

			mb_pattern(d, bs, 7000 + k, wbase + (uint64_t)b * bs);
			e[b] = (struct mb_cmd){ .tag = k * 100 + b,
				.op = MBATCH_OP_WRITE,
				.offset = wbase + (uint64_t)b * bs, .len = bs,
				.data = d, .data_len = bs };
			e[EPOCH_BLOCKS + b] = (struct mb_cmd){
				.tag = k * 100 + 50 + b, .op = MBATCH_OP_READ,
				.offset = rbase + (uint64_t)b * bs, .len = bs };
		}
		e[2 * EPOCH_BLOCKS] = (struct mb_cmd){ .tag = k * 100 + 99,
			.op = MBATCH_OP_CHECKPOINT };
	}
}

/* What a read of the relink workload must return: epoch k - 1's data. */
static void relink_expect(unsigned char *want, uint32_t bs, unsigned int k,
			  uint64_t off)
{
	if (k == 0)
		memset(want, 0, bs);
	else
		mb_pattern(want, bs, 7000 + k - 1, off);
}

/* The device at the end: region (E-1) % 2 holds epoch E-1, the other E-2. */
static const char *check_relink_device(const char *dev, uint32_t bs)
{
	static char why[128];
	unsigned char *got = malloc(bs), *want = malloc(bs);
	unsigned int b, reg;

	why[0] = 0;
	for (reg = 0; reg < 2 && !why[0]; reg++) {
		unsigned int k = (EPOCHS - 1) % 2 == reg ? EPOCHS - 1 :
			     EPOCHS - 2;

		for (b = 0; b < EPOCH_BLOCKS && !why[0]; b++) {
			uint64_t off = ((uint64_t)reg * EPOCH_BLOCKS + b) * bs;

			if (!got || !want || mb_pread_direct(dev, off, got, bs)) {
				snprintf(why, sizeof(why), "cannot read the device");
				break;
			}
			mb_pattern(want, bs, 7000 + k, off);
			if (memcmp(got, want, bs))
				snprintf(why, sizeof(why),
					 "block %u of region %u is not epoch %u's",
					 b, reg, k);
		}
	}
	free(got);
	free(want);
	return why[0] ? why : NULL;
}

/*
 * Case 3: links replaced mid-batch; every effect once, every result once.
 * The link is replaced after epochs 3, 11 and 19 (the initiator's end
 * first, then twice the participant's); before the second and third cuts
 * the participant reads slowly (fault_rx_delay_ms) and the batches come
 * 5 ms apart, so that frames it had not read are lost with the old link and
 * must be sent again. Proven: every message has one result, done and well;
 * every read sees the epoch before it; the device's last state; the
 * device wrote exactly the sectors of the writes, once each; the
 * participant ran every message once (its session's counters); messages
 * were resent, and none arrived twice more often than any was resent.
 */
TEST_F_TIMEOUT(remote, relink_exactly_once, 180)
{
	uint32_t bs = self->e.bs, n = 0, nr = 0, i, psid = 0;
	struct mb_cmd *c = calloc(EPOCHS * RL_MSGS, sizeof(*c));
	unsigned char *data = malloc((size_t)EPOCHS * EPOCH_BLOCKS * bs);
	unsigned char *want = malloc(bs);
	unsigned char seen[EPOCHS * 100] = { 0 };
	struct mb_session_info all[4];
	struct mb_peer_info po, pin;
	struct mb_result *r = NULL;
	long long w0, written;
	const char *err;
	unsigned int k;
	int ns;

	ASSERT_TRUE(c && data && want);
	relink_cmds(c, data, bs);
	open_active(_metadata, self, &self->sid);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	for (k = 0; k < EPOCHS; k++) {
		int slow = (k >= 8 && k <= 11) || (k >= 16 && k <= 19);

		if (k == 8 || k == 16)
			ASSERT_EQ(0, mb_knob_set("fault_rx_delay_ms", 30));
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0,
				       c + k * RL_MSGS, RL_MSGS, NULL))
			TH_LOG("SUBMIT epoch %u: %s", k, mb_strerr(&self->e.s));
		n += RL_MSGS;
		if (slow)
			usleep(5000);	/* a frame of its own */
		/* Cut the link at three points of the stream. */
		if (k % 8 == 3) {
			usleep(mb_rng_next(&self->rng) % 3000);
			ASSERT_EQ(0, relink_order(&self->e.s, variant->digest,
						  k != 3))
				TH_LOG("relink: %s", mb_strerr(&self->e.s));
			ASSERT_EQ(0, mb_knob_set("fault_rx_delay_ms", 0));
		}
	}
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 60000, &r, &nr))
		TH_LOG("collect: %s (have %u of %u)", mb_strerr(&self->e.s),
		       nr, n);
	ASSERT_EQ(n, nr);
	err = mb_check_seq(r, nr, r[0].seq);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	for (i = 0; i < nr; i++) {
		const struct mb_cmd *x;

		ASSERT_LT(r[i].tag, sizeof(seen));
		EXPECT_EQ(0, seen[r[i].tag]++)
			TH_LOG("tag %llu delivered twice",
			       (unsigned long long)r[i].tag);
		EXPECT_EQ(MBATCH_OUTCOME_DONE, r[i].outcome);
		EXPECT_EQ(0, r[i].status)
			TH_LOG("tag %llu status %d",
			       (unsigned long long)r[i].tag, r[i].status);
		x = mb_cmd_of(c, EPOCHS * RL_MSGS, &r[i]);
		ASSERT_NE(NULL, x);
		if (x->op != MBATCH_OP_READ)
			continue;
		k = r[i].tag / 100;
		relink_expect(want, bs, k, x->offset);
		ASSERT_EQ(bs, r[i].data_len);
		EXPECT_EQ(0, memcmp(r[i].data, want, bs))
			TH_LOG("epoch %u: the read at %llu does not see epoch %d's write",
			       k, (unsigned long long)x->offset, (int)k - 1);
	}
	err = mb_check_barrier(r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	err = check_relink_device(self->e.dev, bs);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	/* The device wrote every write once: exactly, and as the results say. */
	written = mb_sectors_written(self->e.nullb) - w0;
	EXPECT_EQ((long long)EPOCHS * EPOCH_BLOCKS * bs / 512, written);
	err = mb_check_sectors(c, EPOCHS * RL_MSGS, r, nr, written);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);

	/* The participant's session queued and ran every message once. */
	ns = mb_session_dump(&self->e.s, all, 4);
	ASSERT_EQ(2, ns);
	for (i = 0; i < 2; i++)
		if (all[i].flags & MBATCH_SESSION_F_PEER)
			psid = i + 1;
	ASSERT_NE(0, psid);
	ASSERT_TRUE(all[psid - 1].has_stats);
	EXPECT_EQ(n, all[psid - 1].stats.v[MBATCH_STATS_A_SUBMITTED])
		TH_LOG("the participant queued %llu messages of %u",
		       (unsigned long long)all[psid - 1].stats.v[MBATCH_STATS_A_SUBMITTED],
		       n);
	EXPECT_EQ(n, all[psid - 1].stats.v[MBATCH_STATS_A_COMPLETED]);
	EXPECT_EQ((uint64_t)EPOCHS * EPOCH_BLOCKS * bs,
		  all[psid - 1].stats.v[MBATCH_STATS_A_BYTES_WRITTEN]);
	EXPECT_EQ((uint64_t)EPOCHS * EPOCH_BLOCKS * bs,
		  all[psid - 1].stats.v[MBATCH_STATS_A_BYTES_READ]);

	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &po));
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pin));
	EXPECT_EQ(4, po.stats[MBATCH_PEER_STATS_A_LINKS]);
	EXPECT_EQ(3, po.stats[MBATCH_PEER_STATS_A_RECONNECTS]);
	/* The slow cuts lost frames the participant had not read. */
	EXPECT_LT(0, po.stats[MBATCH_PEER_STATS_A_RESENT])
		TH_LOG("nothing was sent again: the cuts lost nothing");
	/* A message arrives twice only if it was sent twice. */
	EXPECT_LE(pin.stats[MBATCH_PEER_STATS_A_DUPLICATES],
		  po.stats[MBATCH_PEER_STATS_A_RESENT]);
	TH_LOG("%u results; resent %llu, messages dropped as duplicates %llu, results dropped as duplicates %llu",
	       nr, (unsigned long long)po.stats[MBATCH_PEER_STATS_A_RESENT],
	       (unsigned long long)pin.stats[MBATCH_PEER_STATS_A_DUPLICATES],
	       (unsigned long long)po.stats[MBATCH_PEER_STATS_A_DUPLICATES]);
	mb_results_free(r, nr);
	free(c);
	free(data);
	free(want);
}

/*
 * The participant's node goes while a session streams (issue 9): its queue
 * has a journal; the link is cut, the participant's journal writes stop
 * reaching the device from then on (fault_jlog_write_lost: a power cut),
 * and its state goes (its peer and its queue are deleted, so nothing it
 * does afterwards is logged). The queue is added again over the journal
 * with the peer configured: the session is restored, waiting for its
 * initiator, which still runs, re-attaches and carries on.
 *
 * Proven from the results and the device: every command has one result;
 * what ran is DONE, and every DONE read saw the epoch before it (resent or
 * not, nothing ran out of epoch order or twice: a write run again after a
 * later epoch shows in a later read or in the device's last state); an
 * unknown outcome is only a write the journal logged as started (flag
 * RESTORED) or a read or checkpoint older than a restored one's epoch;
 * QUEUE_GET counts the restored session, also after a second crash before
 * the initiator re-attached; the restored session is gone with its peer
 * (teardown).
 */
#define RS_FIRST	6	/* epochs before the crash */

/* The participant's node goes: no log write reaches the device from now. */
static void lose_node(struct __test_metadata *_metadata,
		      FIXTURE_DATA(remote) *self)
{
	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_lost", 1000000));
	ASSERT_EQ(0, mb_peer_del(&self->e.s, PEER_IN));
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue));
	ASSERT_TRUE(mb_wait_dev_free(self->e.dev, 10000));
	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_lost", 0));
}

/* ... and comes back: its peer, then its queue over the journal. */
static void node_back(struct __test_metadata *_metadata,
		      FIXTURE_DATA(remote) *self,
		      const struct mb_queue_cfg *qc)
{
	struct mb_queue_info qi;

	ASSERT_EQ(0, add_peer(&self->e.s, PEER_IN));
	ASSERT_EQ(0, mb_queue_new(&self->e.s, qc))
		TH_LOG("QUEUE_NEW over the journal: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->e.queue, &qi));
	EXPECT_EQ(1, qi.restored);
	EXPECT_EQ(0, qi.unrestored);
}

TEST_F_TIMEOUT(remote, restore_after_crash, 180)
{
	uint32_t bs = self->e.bs, n = 0, nr = 0, i, restored = 0, unknown = 0;
	struct mb_cmd *c = calloc(EPOCHS * RL_MSGS, sizeof(*c));
	unsigned char *data = malloc((size_t)EPOCHS * EPOCH_BLOCKS * bs);
	unsigned char *want = malloc(bs);
	unsigned char seen[EPOCHS * 100] = { 0 };
	uint32_t wout[EPOCHS * 100] = { 0 };
	struct mb_peer_cfg pc = { .name = PEER_OUT, .keepalive_ms = 200,
				  .link_timeout_ms = 20000 };
	struct mb_queue_cfg qc = { .name = self->e.queue, .dev = self->e.dev,
				   .depth = 32,
				   .journal = MBATCH_JOURNAL_INTERNAL };
	struct mb_result *r = NULL, *r0 = NULL;
	struct mb_peer_info po;
	uint32_t nr0 = 0;
	const char *err;
	unsigned int k;
	int fds[2];

	ASSERT_TRUE(c && data && want);
	relink_cmds(c, data, bs);
	/* The queue again, with a journal; the initiator waits long. */
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue));
	ASSERT_TRUE(mb_wait_dev_free(self->e.dev, 5000));
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc))
		TH_LOG("QUEUE_NEW journal: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_peer_del(&self->e.s, PEER_OUT));
	ASSERT_EQ(0, mb_peer_new(&self->e.s, &pc));
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
	open_active(_metadata, self, &self->sid);

	/* Epoch 0 done: the journal has the session open. */
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, RL_MSGS, NULL));
	n = RL_MSGS;
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000, &r0, &nr0))
		TH_LOG("collect: %s", mb_strerr(&self->e.s));
	/* The participant reads a frame each 100 ms: frames pile up. */
	ASSERT_EQ(0, mb_knob_set("fault_rx_delay_ms", 100));
	for (k = 1; k < RS_FIRST; k++) {
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0,
				       c + k * RL_MSGS, RL_MSGS, NULL));
		n += RL_MSGS;
	}
	usleep(100000 + mb_rng_next(&self->rng) % 100000);

	/*
	 * The crash: the link cut (frames not read yet are lost); the next
	 * log write (the START of a frame being read) is the last to reach
	 * the device, and its commands never do; whatever else would be
	 * logged is lost.
	 */
	ASSERT_EQ(0, mb_tcp_pair(fds));
	ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds[1], variant->digest))
		TH_LOG("PEER_ATTACH: %s", mb_strerr(&self->e.s));
	close(fds[1]);
	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_eio", 1));
	usleep(300000);
	lose_node(_metadata, self);
	close(fds[0]);
	ASSERT_EQ(0, mb_knob_set("fault_jlog_write_eio", 0));
	ASSERT_EQ(0, mb_knob_set("fault_rx_delay_ms", 0));
	node_back(_metadata, self, &qc);
	/*
	 * A second crash before the initiator is back: the restored session
	 * logged what it has before anything else, so it is restored again.
	 */
	lose_node(_metadata, self);
	node_back(_metadata, self, &qc);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest))
		TH_LOG("relink: %s", mb_strerr(&self->e.s));
	for (k = RS_FIRST; k < EPOCHS; k++) {
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0,
				       c + k * RL_MSGS, RL_MSGS, NULL))
			TH_LOG("SUBMIT epoch %u: %s", k, mb_strerr(&self->e.s));
		n += RL_MSGS;
	}
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n - nr0, 60000, &r,
				    &nr))
		TH_LOG("collect: %s (have %u of %u)", mb_strerr(&self->e.s),
		       nr, n - nr0);
	ASSERT_EQ(n - nr0, nr);
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &po));
	for (i = 0; i < nr0 + nr; i++) {
		const struct mb_result *x = i < nr0 ? &r0[i] : &r[i - nr0];
		const struct mb_cmd *cmd;

		ASSERT_LT(x->tag, sizeof(seen));
		EXPECT_EQ(0, seen[x->tag]++)
			TH_LOG("tag %llu delivered twice",
			       (unsigned long long)x->tag);
		cmd = mb_cmd_of(c, EPOCHS * RL_MSGS, x);
		ASSERT_NE(NULL, cmd);
		k = x->tag / 100;
		if (cmd->op == MBATCH_OP_WRITE)
			wout[x->tag] = x->outcome;
		if (x->flags & MBATCH_RESULT_F_RESTORED)
			restored++;
		if (x->outcome == MBATCH_OUTCOME_UNKNOWN) {
			unknown++;
			EXPECT_EQ(-ESTALE, x->status);
			/* Started as logged, or older than one that was. */
			EXPECT_TRUE(cmd->op != MBATCH_OP_WRITE ||
				    (x->flags & MBATCH_RESULT_F_RESTORED))
				TH_LOG("tag %llu: unknown, never logged as started",
				       (unsigned long long)x->tag);
			EXPECT_LT(0, k);
			EXPECT_GT(RS_FIRST, k);
			continue;
		}
		EXPECT_EQ(MBATCH_OUTCOME_DONE, x->outcome)
			TH_LOG("tag %llu outcome %u status %d",
			       (unsigned long long)x->tag, x->outcome,
			       x->status);
		EXPECT_EQ(0, x->status)
			TH_LOG("tag %llu status %d",
			       (unsigned long long)x->tag, x->status);
	}
	/*
	 * A read of epoch k sees epoch k - 1's write of its block, or, if
	 * that one's outcome is unknown, it or what was there before it.
	 */
	for (i = 0; i < nr0 + nr; i++) {
		const struct mb_result *x = i < nr0 ? &r0[i] : &r[i - nr0];
		const struct mb_cmd *cmd = mb_cmd_of(c, EPOCHS * RL_MSGS, x);
		int j, ok = 0;

		if (cmd->op != MBATCH_OP_READ || x->outcome != MBATCH_OUTCOME_DONE)
			continue;
		ASSERT_EQ(bs, x->data_len);
		k = x->tag / 100;
		for (j = (int)k - 1; !ok; j -= 2) {
			relink_expect(want, bs, j + 1, cmd->offset);
			ok = !memcmp(x->data, want, bs);
			if (j < 0 || wout[j * 100 + x->tag % 100 - 50] !=
				     MBATCH_OUTCOME_UNKNOWN)
				break;
		}
		EXPECT_TRUE(ok)
			TH_LOG("epoch %u: the read at %llu does not see epoch %d's write",
			       k, (unsigned long long)cmd->offset, (int)k - 1);
	}
	EXPECT_LT(0, unknown + restored +
		  po.stats[MBATCH_PEER_STATS_A_RESENT])
		TH_LOG("the crash cut nothing");
	err = check_relink_device(self->e.dev, bs);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	TH_LOG("%u results: %u restored from the journal, %u of unknown outcome, %llu sent again",
	       nr0 + nr, restored, unknown,
	       (unsigned long long)po.stats[MBATCH_PEER_STATS_A_RESENT]);
	mb_results_free(r0, nr0);
	mb_results_free(r, nr);
	free(c);
	free(data);
	free(want);
}

/* Collect whatever comes until @n results or @ms pass. */
static uint32_t collect_n(struct mb_sock *s, uint32_t sid, uint32_t n, int ms,
			  struct mb_result **r)
{
	uint32_t nr = 0;

	mb_collect_all(s, sid, n, ms, r, &nr);
	return nr;
}

static int read_full(int fd, void *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

/*
 * Play a participant on the raw end @fd of our initiator's link: accept
 * its OPEN with a credit of @credit messages (pulling WRITE data above
 * @pull_inline when it is not negative), then read nothing more and
 * answer nothing. What it sends next is "sent without a result".
 */
static int fake_participant(int fd, uint32_t credit, uint64_t capacity,
			    uint32_t bs, int64_t pull_inline)
{
	unsigned char f[sizeof(struct mbatch_wire_hdr) +
			sizeof(struct mbatch_wire_open_reply)];
	struct mbatch_wire_open_reply rep;
	struct mbatch_wire_open open;
	struct mbatch_wire_hdr h;
	unsigned char pl[1024];
	uint32_t len, max_io;

	do {
		if (read_full(fd, &h, sizeof(h)))
			return -1;
		len = le32toh(h.len);
		if (len > sizeof(pl) || read_full(fd, pl, len))
			return -1;
	} while (le16toh(h.type) != MBATCH_FRAME_OPEN);	/* skip PINGs */
	if (h.version != MBATCH_WIRE_VERSION || len != sizeof(open))
		return -1;
	memcpy(&open, pl, sizeof(open));
	max_io = le32toh(open.max_io);
	if (max_io > MBATCH_MAX_IO_LEN)
		max_io = MBATCH_MAX_IO_LEN;
	memset(&rep, 0, sizeof(rep));
	rep.status = htole16(mb_errno_to_wire(0));
	if (mb_wire_to_errno(le16toh(rep.status)))
		return -1;
	rep.max_cmds = htole32(credit);
	rep.max_bytes = htole64(1ULL << 30);
	rep.credit_msgs = htole64(credit);
	rep.credit_units = htole64((1ULL << 30) / MBATCH_WIRE_UNIT);
	rep.capacity = htole64(capacity);
	rep.lbs = htole32(bs);
	rep.max_io = htole32(max_io);
	if (pull_inline >= 0) {
		if (!(le32toh(open.flags) & MBATCH_OPEN_F_PULL))
			return -1;
		rep.flags = htole16(MBATCH_REPLY_F_PULL);
		rep.inline_max = htole32((uint32_t)pull_inline);
	}
	put_frame(f, MBATCH_FRAME_OPEN_REPLY, le32toh(h.session), 1,
		  le64toh(h.arg), &rep, sizeof(rep));
	return write(fd, f, sizeof(f)) == (ssize_t)sizeof(f) ? 0 : -1;
}

/*
 * Our initiator's link goes to a fake participant that takes @credit
 * messages and never answers; the real participant end stays unlinked.
 * The commands of epoch_cmds() are built in @c and @data and submitted,
 * one SUBMIT per epoch. Returns the raw socket.
 */
static int fake_link(struct __test_metadata *_metadata,
		     FIXTURE_DATA(remote) *self, uint32_t credit,
		     struct mb_cmd *c, unsigned char *data, uint32_t *n_out)
{
	uint32_t bs = self->e.bs, n = 0;
	struct mb_session_info si;
	struct mb_peer_info pi;
	unsigned int k;
	int fds[2];

	if (mb_tcp_pair(fds))
		return -1;
	if (mb_peer_attach(&self->e.s, PEER_OUT, fds[0], 0))
		return -1;
	close(fds[0]);
	/*
	 * The real participant's end is down first: an OPEN sent before on
	 * the link being replaced would open the session there too, and a
	 * later re-attach would find it.
	 */
	if (wait_peer(&self->e.s, PEER_IN, MBATCH_PEER_DOWN, 5000, &pi))
		return -1;
	if (mb_session_open_remote(&self->e.s, self->e.queue, PEER_OUT, 0,
				   &self->sid) ||
	    fake_participant(fds[1], credit, self->e.capacity, bs, -1) ||
	    wait_state(&self->e.s, self->sid, MBATCH_SESSION_ACTIVE, 5000,
		       &si))
		return -1;
	epoch_cmds(c, data, bs);
	for (k = 0; k < EPOCHS; k++) {
		if (mb_submit(&self->e.s, self->sid, 0, c + k * EPOCH_MSGS,
			      EPOCH_MSGS, NULL))
			return -1;
		n += EPOCH_MSGS;
	}
	*n_out = n;
	return fds[1];
}

/*
 * Count results by outcome: each must be done with status 0, or unknown or
 * not sent with the status @cause (the error that cut the session off).
 */
static void count_lost(struct __test_metadata *_metadata,
		       const struct mb_result *r, uint32_t nr, int cause,
		       uint32_t *ok, uint32_t *unknown, uint32_t *unsent)
{
	uint32_t i;

	*ok = *unknown = *unsent = 0;
	for (i = 0; i < nr; i++) {
		switch (r[i].outcome) {
		case MBATCH_OUTCOME_DONE:
			(*ok)++;
			EXPECT_EQ(0, r[i].status)
				TH_LOG("tag %llu done with status %d",
				       (unsigned long long)r[i].tag,
				       r[i].status);
			break;
		case MBATCH_OUTCOME_UNKNOWN:
		case MBATCH_OUTCOME_NOT_SENT:
			if (r[i].outcome == MBATCH_OUTCOME_UNKNOWN)
				(*unknown)++;
			else
				(*unsent)++;
			EXPECT_EQ(cause, r[i].status)
				TH_LOG("tag %llu %s, status %d",
				       (unsigned long long)r[i].tag,
				       mb_outcome_name(r[i].outcome),
				       r[i].status);
			EXPECT_EQ(0, r[i].start_ns);
			break;
		default:
			EXPECT_EQ(MBATCH_OUTCOME_DONE, r[i].outcome)
				TH_LOG("unexpected outcome on tag %llu",
				       (unsigned long long)r[i].tag);
		}
	}
}

#define FAKE_CREDIT	100

/*
 * Case 4: the participant loses its state mid-batch. It took 100
 * messages and answered none; then the initiator comes back on a new link
 * to a participant that never heard of the session (as after a reboot).
 * Nothing ran anywhere: the device is untouched, not a sector written.
 */
TEST_F_TIMEOUT(remote, participant_reset, 120)
{
	uint32_t n = 0, nr, ok, unknown, unsent;
	struct mb_cmd *c = calloc(ALL_MSGS, sizeof(*c));
	unsigned char *data = malloc((size_t)EPOCHS * EPOCH_BLOCKS *
				     self->e.bs);
	struct mb_session_info si;
	struct mb_result *r = NULL;
	long long w0;
	int raw;

	ASSERT_TRUE(c && data);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	raw = fake_link(_metadata, self, FAKE_CREDIT, c, data, &n);
	ASSERT_GE(raw, 0) TH_LOG("fake participant: %s",
				 mb_strerr(&self->e.s));
	close(raw);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest))
		TH_LOG("relink: %s", mb_strerr(&self->e.s));

	nr = collect_n(&self->e.s, self->sid, n, 20000, &r);
	ASSERT_EQ(n, nr) TH_LOG("%u of %u results", nr, n);
	count_lost(_metadata, r, nr, -ESTALE, &ok, &unknown, &unsent);
	TH_LOG("%u done, %u outcome unknown, %u not sent", ok, unknown,
	       unsent);
	EXPECT_EQ(0, ok);
	EXPECT_EQ(FAKE_CREDIT, unknown);
	EXPECT_EQ(n - FAKE_CREDIT, unsent);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_HALTED, si.state);
	EXPECT_EQ(-ESTALE, si.error);
	EXPECT_EQ(FAKE_CREDIT, si.stats.v[MBATCH_STATS_A_UNKNOWN]);
	EXPECT_EQ(n - FAKE_CREDIT, si.stats.v[MBATCH_STATS_A_NOT_SENT]);
	check_lost_device(_metadata, self, c, n, r, nr, w0);
	EXPECT_EQ(0, mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("a command that never reached a participant ran");
	mb_results_free(r, nr);
	free(c);
	free(data);
}

/*
 * The participant's state dropped with its peer, mid-stream, for real.
 * However much had run: every command ends once, and the device shows
 * what each outcome says (not sent: untouched; done: written, once).
 */
TEST_F_TIMEOUT(remote, participant_peer_del, 120)
{
	uint32_t bs = self->e.bs, n = 0, nr, ok, unknown, unsent;
	struct mb_cmd *c = calloc(ALL_MSGS, sizeof(*c));
	unsigned char *data = malloc((size_t)EPOCHS * EPOCH_BLOCKS * bs);
	struct mb_result *r = NULL;
	long long w0;
	unsigned int k;

	ASSERT_TRUE(c && data);
	epoch_cmds(c, data, bs);
	open_active(_metadata, self, &self->sid);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	for (k = 0; k < EPOCHS; k++) {
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0,
				       c + k * EPOCH_MSGS, EPOCH_MSGS, NULL));
		n += EPOCH_MSGS;
	}
	ASSERT_EQ(0, mb_peer_del(&self->e.s, PEER_IN));
	ASSERT_EQ(0, add_peer(&self->e.s, PEER_IN));
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
	nr = collect_n(&self->e.s, self->sid, n, 20000, &r);
	ASSERT_EQ(n, nr) TH_LOG("%u of %u results", nr, n);
	count_lost(_metadata, r, nr, -ESTALE, &ok, &unknown, &unsent);
	TH_LOG("%u done, %u outcome unknown, %u not sent", ok, unknown,
	       unsent);
	check_lost_device(_metadata, self, c, n, r, nr, w0);
	mb_results_free(r, nr);
	free(c);
	free(data);
}

/*
 * The link does not come back: commands end after the link timeout.
 * Nothing ran: the device is untouched.
 */
TEST_F_TIMEOUT(remote, link_timeout, 60)
{
	uint32_t n = 0, nr, ok, unknown, unsent, i;
	struct mb_cmd *c = calloc(ALL_MSGS, sizeof(*c));
	unsigned char *data = malloc((size_t)EPOCHS * EPOCH_BLOCKS *
				     self->e.bs);
	struct mb_session_info si;
	struct mb_result *r = NULL;
	struct mb_peer_info pi;
	uint64_t t0, last = 0;
	long long w0;
	int raw;

	ASSERT_TRUE(c && data);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	raw = fake_link(_metadata, self, FAKE_CREDIT, c, data, &n);
	ASSERT_GE(raw, 0) TH_LOG("fake participant: %s",
				 mb_strerr(&self->e.s));
	t0 = mb_now_ns();
	close(raw);
	ASSERT_EQ(0, wait_peer(&self->e.s, PEER_OUT, MBATCH_PEER_DOWN, 5000,
			       &pi));
	/* Seen first by a read (EOF) or by a write. */
	EXPECT_TRUE(!strcmp(pi.reason, "connection closed") ||
		    !strcmp(pi.reason, "send failed"))
		TH_LOG("reason: %s", pi.reason);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_CONNECTING, si.state);
	nr = collect_n(&self->e.s, self->sid, n, 20000, &r);
	ASSERT_EQ(n, nr);
	/* Failed at the link timeout: not before, nor long after. */
	for (i = 0; i < nr; i++)
		if (r[i].done_ns > last)
			last = r[i].done_ns;
	EXPECT_GE(last - t0, (uint64_t)(LINK_TIMEOUT - 100) * 1000000)
		TH_LOG("failed %llu ms after the link went, before the link timeout",
		       (unsigned long long)(last - t0) / 1000000);
	EXPECT_LE(last - t0, (uint64_t)(LINK_TIMEOUT + LINK_TIMEOUT_SLACK) *
		  1000000)
		TH_LOG("failed %llu ms after the link went, the link timeout is %d ms",
		       (unsigned long long)(last - t0) / 1000000, LINK_TIMEOUT);
	TH_LOG("the session failed %llu ms after the link went",
	       (unsigned long long)(last - t0) / 1000000);
	count_lost(_metadata, r, nr, -ENOTCONN, &ok, &unknown, &unsent);
	EXPECT_EQ(0, ok);
	EXPECT_EQ(FAKE_CREDIT, unknown);
	EXPECT_EQ(n - FAKE_CREDIT, unsent);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_SESSION_HALTED, si.state);
	EXPECT_EQ(-ENOTCONN, si.error);
	check_lost_device(_metadata, self, c, n, r, nr, w0);
	EXPECT_EQ(0, mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("a command that never reached a participant ran");
	mb_results_free(r, nr);
	free(c);
	free(data);
}

/* Several sessions over one link at once, each in its own order. */
TEST_F_TIMEOUT(remote, parallel_sessions, 180)
{
	pid_t pid[3];
	int i, st;

	for (i = 0; i < 3; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			struct mb_wl_opts o = {
				.base = (uint64_t)i * (8 << 20), .size = 8 << 20,
				.bs = self->e.bs, .max_blocks = 8,
				.avg_epoch = 20,
			};
			uint64_t rng = self->rng + i, first = 0;
			struct mb_session_info si;
			struct mb_result *r;
			struct mb_sock s;
			const char *err;
			struct mb_wl w;
			uint32_t sid, nr;

			if (mb_open(&s) ||
			    mb_session_open_remote(&s, self->e.queue, PEER_OUT,
						   0, &sid) ||
			    wait_state(&s, sid, MBATCH_SESSION_ACTIVE, 5000,
				       &si))
				_exit(2);
			mb_wl_gen(&w, &o, 600, 1000, &rng);
			err = mb_wl_run(&s, sid, &w, 64,
					MBATCH_MAX_CMDS_DEFAULT,
					MBATCH_MAX_BYTES_DEFAULT, &rng, &r,
					&nr, &first);
			if (!err)
				err = mb_wl_verify(&w, r, nr, first);
			if (err)
				fprintf(stderr, "session %u: %s\n", sid, err);
			mb_session_close(&s, sid);
			_exit(err ? 1 : 0);
		}
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("session child %d failed (status %#x)", i, st);
	}
}

#define ANY_SESSION	UINT32_MAX

/*
 * Read whole frames from @fd for at most @ms until one of @type for
 * @session (or any, ANY_SESSION): its header into @h, its payload (at most
 * @cap bytes) into @pl; the types of the others go into @seen if not NULL
 * (for the log). 1 when it came, 0 if not (timeout, EOF or a frame too
 * long for @pl).
 */
static int next_frame(int fd, uint16_t type, uint32_t session, int ms,
		      struct mbatch_wire_hdr *h, unsigned char *pl, size_t cap,
		      char *seen, size_t slen)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;
	size_t used = 0;
	uint32_t len;
	uint16_t t;

	if (seen)
		seen[0] = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (mb_now_ns() < end) {
		if (read_full(fd, h, sizeof(*h))) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;	/* nothing yet: a header
						 * never comes in pieces here
						 */
			return 0;
		}
		t = le16toh(h->type);
		len = le32toh(h->len);
		if (len > cap || (len && read_full(fd, pl, len)))
			return 0;
		if (t == type &&
		    (session == ANY_SESSION || le32toh(h->session) == session))
			return 1;
		if (seen && used + 24 < slen)
			used += snprintf(seen + used, slen - used, "%stype %u/%u",
					 used ? ", " : "", t,
					 le32toh(h->session));
	}
	return 0;
}

struct bad_frame {
	const char *what;
	uint32_t digest;
	const char *reason;
};

static void put_hdr(unsigned char *h, uint8_t ver, uint16_t type,
		    uint32_t len, uint32_t session, uint64_t seq)
{
	struct mbatch_wire_hdr w = {
		.version = ver,
		.type = htole16(type),
		.len = htole32(len),
		.session = htole32(session),
		.seq = htole64(seq),
	};

	memcpy(h, &w, sizeof(w));
}

#define V	MBATCH_WIRE_VERSION

/* Case 5: garbage from a raw socket drops the link with its reason. */
TEST_F_TIMEOUT(remote, bad_frames, 120)
{
	static const struct bad_frame cases[] = {
		{ "garbage", 0, "unknown frame version" },
		{ "truncated header", 0, "connection closed" },
		{ "truncated payload", 0, "truncated frame" },
		{ "oversized", 0, "frame too long" },
		{ "out of sequence", 0, "frame out of sequence" },
		{ "bad type", 0, "unknown frame type" },
		{ "bad flags", 0, "unknown frame flags" },
		{ "malformed open", 0, "malformed open" },
		{ "ping with payload", 0, "malformed ping" },
		{ "digest not negotiated", 0, "header digest not negotiated" },
		{ "bad header digest", MBATCH_DIGEST_HEADER,
		  "header digest mismatch" },
		{ "bad data digest", MBATCH_DIGEST_DATA,
		  "data digest mismatch" },
		{ "silence", 0, "keepalive timeout" },
		{ "ack of nothing", 0, NULL },
	};
	struct mb_sock ev;
	unsigned int i;

	ASSERT_EQ(0, mb_open(&ev));
	ASSERT_EQ(0, mb_events_join(&ev));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_frame *b = &cases[i];
		unsigned char f[256];
		struct mb_peer_info pi;
		struct mb_event e;
		unsigned char gpl[4096];
		struct mbatch_wire_hdr gh;
		int fds[2], got = 0;
		size_t n = 32;
		char seen[512];

		ASSERT_EQ(0, mb_tcp_pair(fds));
		ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds[1],
					    b->digest))
			TH_LOG("%s: attach: %s", b->what, mb_strerr(&self->e.s));
		close(fds[1]);
		put_hdr(f, V, MBATCH_FRAME_PING, 0, 0, 1);	/* a good one */
		if (!strcmp(b->what, "garbage")) {
			memset(f, 0x55, 64);
			n = 64;
		} else if (!strcmp(b->what, "truncated header")) {
			n = 10;
		} else if (!strcmp(b->what, "truncated payload")) {
			put_hdr(f, V, MBATCH_FRAME_OPEN, 100, 1, 1);
			n = 32 + 50;
		} else if (!strcmp(b->what, "oversized")) {
			put_hdr(f, V, MBATCH_FRAME_OPEN,
				MBATCH_WIRE_MAX_PAYLOAD + 1, 1, 1);
		} else if (!strcmp(b->what, "out of sequence")) {
			put_hdr(f, V, MBATCH_FRAME_PING, 0, 0, 7);
		} else if (!strcmp(b->what, "bad type")) {
			put_hdr(f, V, __MBATCH_FRAME_MAX, 0, 0, 1);
		} else if (!strcmp(b->what, "bad flags")) {
			f[1] = 0x80;
		} else if (!strcmp(b->what, "malformed open")) {
			put_hdr(f, V, MBATCH_FRAME_OPEN, 8, 1, 1);
			n = 40;
		} else if (!strcmp(b->what, "ping with payload")) {
			put_hdr(f, V, MBATCH_FRAME_PING, 8, 0, 1);
			n = 40;
		} else if (!strcmp(b->what, "digest not negotiated") ||
			   !strcmp(b->what, "bad header digest")) {
			f[offsetof(struct mbatch_wire_hdr, hdigest)] = 0x12;
		} else if (!strcmp(b->what, "bad data digest")) {
			put_hdr(f, V, MBATCH_FRAME_OPEN,
				sizeof(struct mbatch_wire_open), 1, 1);
			/* digest bytes are zero */
			n = 32 + sizeof(struct mbatch_wire_open) + 4;
		} else if (!strcmp(b->what, "ack of nothing")) {
			/* ACK for a session the participant never had:
			 * answered with GONE, the link stays up.
			 */
			put_hdr(f, V, MBATCH_FRAME_ACK, 0, 4242, 1);
		}
		if (!strcmp(b->what, "silence"))
			n = 0;		/* not even an answer to its PINGs */
		ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		if (!strncmp(b->what, "truncated", 9))
			shutdown(fds[0], SHUT_WR);
		if (!b->reason) {
			ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pi));
			usleep(200000);
			ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pi));
			EXPECT_EQ(MBATCH_PEER_UP, pi.state);
			/*
			 * A GONE frame for that very session comes back to
			 * us; the keepalives around it (PINGs) do not count.
			 */
			EXPECT_TRUE(next_frame(fds[0], MBATCH_FRAME_GONE, 4242,
					       3000, &gh, gpl, sizeof(gpl), seen,
					       sizeof(seen)))
				TH_LOG("%s: no GONE for session 4242; frames: %s",
				       b->what, seen[0] ? seen : "none");
			close(fds[0]);
			continue;
		}
		while (!got && mb_event_recv(&ev, &e, 5000) == 1)
			got = e.cmd == MBATCH_CMD_LINK_DOWN_NTF &&
			      !strcmp(e.peer, PEER_IN);
		EXPECT_TRUE(got) TH_LOG("%s: no LINK_DOWN event", b->what);
		if (got) {
			EXPECT_STREQ(b->reason, e.reason)
				TH_LOG("case %s", b->what);
		}
		ASSERT_EQ(0, wait_peer(&self->e.s, PEER_IN, MBATCH_PEER_DOWN,
				       5000, &pi));
		EXPECT_STREQ(b->reason, pi.reason) TH_LOG("case %s", b->what);
		close(fds[0]);
	}
	mb_close(&ev);
}

/*
 * The credit window: a participant queue holding 64 commands per session
 * never holds more for a remote initiator that submits thousands at once.
 */
TEST_F_TIMEOUT(remote, credit_window, 180)
{
	struct mb_queue_cfg qc = { .name = self->e.queue, .dev = self->e.dev,
				   .depth = 8, .max_cmds = 64 };
	struct mb_session_info si;
	struct mb_cmd c[256];
	struct mb_result *r = NULL;
	struct mb_peer_info pi;
	uint32_t psid = 0, nr = 0, i, n = 0, max_held = 0;
	unsigned char *buf = calloc(1, self->e.bs);
	int k;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue));
	ASSERT_TRUE(mb_wait_dev_free(self->e.dev, 5000));
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc))
		TH_LOG("QUEUE_NEW: %s", mb_strerr(&self->e.s));
	open_active(_metadata, self, &self->sid);
	psid = peer_session(&self->e.s);
	ASSERT_NE(0, psid) TH_LOG("no participant session beside ours");

	for (k = 0; k < 8; k++) {
		for (i = 0; i < 256; i++)
			c[i] = (struct mb_cmd){ .tag = n + i,
				.op = i % 64 == 63 ? MBATCH_OP_CHECKPOINT :
				      MBATCH_OP_WRITE,
				.offset = (uint64_t)(i % 64) * self->e.bs,
				.len = self->e.bs, .data = buf,
				.data_len = self->e.bs };
		for (i = 0; i < 256; i++)
			if (c[i].op == MBATCH_OP_CHECKPOINT)
				c[i].offset = c[i].len = c[i].data_len = 0,
				c[i].data = NULL;
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 256, NULL))
			TH_LOG("SUBMIT: %s", mb_strerr(&self->e.s));
		n += 256;
		for (i = 0; i < 20; i++) {
			uint64_t held;

			ASSERT_EQ(0, mb_session_get(&self->e.s, psid, &si));
			held = si.stats.v[MBATCH_STATS_A_QUEUED] +
			       si.stats.v[MBATCH_STATS_A_INFLIGHT];
			if (held > max_held)
				max_held = held;
			usleep(1000);
		}
		ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
		EXPECT_LE(pi.stats[MBATCH_PEER_STATS_A_TX_CREDITS], 64);
	}
	EXPECT_LE(max_held, 64);
	EXPECT_GT(max_held, 0);
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 60000, &r, &nr))
		TH_LOG("collect: %s (%u of %u)", mb_strerr(&self->e.s), nr, n);
	ASSERT_EQ(n, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status);
	TH_LOG("%u commands, participant held at most %u of 64", n, max_held);
	mb_results_free(r, nr);
	free(buf);
}

static size_t put_frame(unsigned char *f, uint16_t type, uint32_t sid,
			uint64_t seq, uint64_t arg, const void *pl, uint32_t len)
{
	uint64_t a = htole64(arg);

	put_hdr(f, MBATCH_WIRE_VERSION, type, len, sid, seq);
	memcpy(f + offsetof(struct mbatch_wire_hdr, arg), &a, sizeof(a));
	if (len)
		memcpy(f + sizeof(struct mbatch_wire_hdr), pl, len);
	return sizeof(struct mbatch_wire_hdr) + len;
}

/*
 * A MSGS payload: mostly plausible messages, sometimes not. With @pull
 * (the OPEN asked for R2T) WRITEs are mostly proxies, without their data.
 */
static uint32_t fuzz_msgs(unsigned char *p, uint32_t cap, uint64_t *rng,
			  uint64_t *seq, uint32_t bs, uint64_t *count,
			  int pull)
{
	uint32_t off = 0, n = 1 + mb_rng_next(rng) % 8, i;

	*count = 0;
	for (i = 0; i < n; i++) {
		uint32_t op, len, dlen, mflags, r = mb_rng_next(rng) % 100;
		struct mbatch_wire_msg m;
		uint64_t o;
		size_t pad;

		op = 1 + mb_rng_next(rng) % (r < 5 ? MBATCH_OP_MAX + 3 :
					    MBATCH_OP_MAX);
		len = op != MBATCH_OP_FLUSH && op != MBATCH_OP_CHECKPOINT ?
		      bs * (1 + mb_rng_next(rng) % 8) : 0;
		if (r < 8)
			len = (uint32_t)mb_rng_next(rng);
		dlen = op == MBATCH_OP_WRITE ? len : 0;
		mflags = 0;
		if ((pull && op == MBATCH_OP_WRITE && r < 80) || r == 99) {
			mflags = MBATCH_WIRE_MSG_F_PULL;
			dlen = 0;
		}
		if (r >= 8 && r < 12)
			dlen = mb_rng_next(rng) % 600;
		if (dlen > 4096)
			dlen = 4096;
		*seq += r < 90 ? 1 : mb_rng_next(rng) % 5;
		o = (mb_rng_next(rng) % 1024) * bs;
		if (r >= 12 && r < 16)
			o = mb_rng_next(rng);
		m = (struct mbatch_wire_msg){
			.seq = htole64(*seq),
			.batch = htole64(1 + (*seq / 5)),
			.tag = htole64(mb_rng_next(rng)),
			.offset = htole64(o),
			.op = htole32(op),
			.flags = htole32(mflags | (op == MBATCH_OP_CHECKPOINT ?
						   mb_rng_next(rng) % 4 : 0)),
			.len = htole32(len),
			.data_len = htole32(dlen),
		};
		pad = (dlen + MBATCH_WIRE_ALIGN - 1) &
		      ~(size_t)(MBATCH_WIRE_ALIGN - 1);
		if (off + sizeof(m) + pad > cap)
			break;
		memcpy(p + off, &m, sizeof(m));
		memset(p + off + sizeof(m), 0xa5, pad);
		off += sizeof(m) + pad;
		(*count)++;
	}
	if (mb_rng_next(rng) % 20 == 0)
		*count += 1;			/* lie about the count */
	if (mb_rng_next(rng) % 20 == 0 && off > 8)
		off -= 1 + mb_rng_next(rng) % 8;	/* truncate */
	return off;
}

/*
 * A peer that passed the handshake but is hostile: random, mostly valid
 * frames, half its sessions pulling WRITE data (proxies, DATA of messages
 * sent, asked for or not). Nothing may splat, leak or hang; the link may
 * drop.
 */
TEST_F_TIMEOUT(remote, fuzz_frames, 300)
{
	static unsigned char f[70000], pl[65536];
	unsigned int it, iters = 250, drops = 0;
	struct mb_peer_info pi;

	for (it = 0; it < iters; it++) {
		uint64_t seq = 1, mseq = 0, cookie = mb_rng_next(&self->rng);
		uint32_t sid = 1 + mb_rng_next(&self->rng) % 4, nf, k, pull;
		struct mbatch_wire_open op = {
			.max_io = htole32(MBATCH_MAX_IO_LEN),
		};
		int fds[2];
		size_t n;

		ASSERT_EQ(0, mb_tcp_pair(fds));
		ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds[1], 0))
			TH_LOG("attach: %s", mb_strerr(&self->e.s));
		close(fds[1]);
		strcpy(op.queue, self->e.queue);
		pull = mb_rng_next(&self->rng) % 2;
		if (pull) {
			op.flags = htole32(MBATCH_OPEN_F_PULL);
			op.inline_max = htole32(mb_rng_next(&self->rng) % 3 *
						4096);
		}
		n = put_frame(f, MBATCH_FRAME_OPEN, sid, seq++, cookie, &op,
			      sizeof(op));
		nf = 1 + mb_rng_next(&self->rng) % 6;
		for (k = 0; k < nf; k++) {
			uint32_t type = 1 + mb_rng_next(&self->rng) %
					__MBATCH_FRAME_MAX;
			uint64_t arg = mb_rng_next(&self->rng) % 64, cnt;
			uint32_t len = 0;

			if (type == MBATCH_FRAME_MSGS) {
				len = fuzz_msgs(pl, sizeof(pl), &self->rng,
						&mseq, self->e.bs, &cnt, pull);
				arg = cnt;
			} else if (type == MBATCH_FRAME_DATA) {
				/* often the data of a pulled WRITE sent */
				arg = mseq ? 1 + mb_rng_next(&self->rng) % mseq : 0;
				len = self->e.bs * (1 + mb_rng_next(&self->rng) % 8);
				if (mb_rng_next(&self->rng) % 5 == 0)
					len = mb_rng_next(&self->rng) % 40000;
				memset(pl, 0x3c, len);
			} else if (mb_rng_next(&self->rng) % 4 == 0) {
				len = mb_rng_next(&self->rng) % 64;
				for (cnt = 0; cnt < len; cnt++)
					pl[cnt] = (unsigned char)mb_rng_next(&self->rng);
			}
			if (n + 32 + len > sizeof(f))
				break;
			n += put_frame(f + n, type, mb_rng_next(&self->rng) % 8 ?
				       sid : 0, mb_rng_next(&self->rng) % 50 ?
				       seq : seq + 3, arg, pl, len);
			seq++;
		}
		if (write(fds[0], f, n) < 0)
			TH_LOG("write: %m");
		usleep(2000 + mb_rng_next(&self->rng) % 20000);
		close(fds[0]);
		if (!mb_peer_get(&self->e.s, PEER_IN, &pi) &&
		    pi.state == MBATCH_PEER_DOWN)
			drops++;
	}
	/* The peer survives all of it: a good link works again. */
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
	open_active(_metadata, self, &self->sid);
	TH_LOG("%u hostile links, %u seen down right after", iters, drops);
}

/*
 * Out-of-line payloads between nodes: WRITEs above the agreed inline
 * maximum travel as proxies and their data is pulled (R2T, then DATA sent
 * from the region's pages); READ data up to 1 MiB comes back into the
 * region. One batch mixes 1 MiB, 64 KiB and 20 KiB pulled WRITEs with an
 * inline one, a checkpoint, a pulled overwrite of part of the first epoch,
 * and reads of both kinds. What every command saw, the region and the
 * participant's device hold the same image: epoch 2 over epoch 1. The
 * overwrite started after epoch 1 completed (the participant's clock); each
 * pulled WRITE's data went exactly once, counted on both peers.
 */
#define PL_MIB		(1U << 20)
#define PL_END		(PL_MIB + 88 * 1024)	/* bytes the writes cover */

TEST_F_TIMEOUT(remote, pull_large, 120)
{
	size_t slen = 4 * PL_MIB, dlen = 2 * PL_MIB;
	unsigned char *src = mmap(NULL, slen, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *dst = mmap(NULL, dlen, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *want = malloc(PL_END), *dev = malloc(PL_END);
	uint32_t inl = variant->pull_all ? 0 : INLINE_MAX_DEFAULT;
	struct mb_region_info rs, rd;
	struct mb_peer_info po, pin;
	struct mb_session_info si;
	struct mb_result *r = NULL;
	const struct mb_result *x, *y;
	uint64_t pulled = 0, pulled_bytes = 0;
	uint32_t nr = 0, i;
	struct mb_cmd c[11];

	ASSERT_TRUE(src != MAP_FAILED && dst != MAP_FAILED && want && dev);
	mb_pattern(src, slen, self->rng, 0);
	memset(dst, 0x5a, dlen);
	open_active(_metadata, self, &self->sid);
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_MAX_PROXY_IO_LEN, si.max_proxy_io)
		TH_LOG("a remote session proxies up to 1 MiB");
	EXPECT_EQ(MBATCH_MAX_IO_LEN, si.max_io);
	ASSERT_EQ(0, mb_region_new(&self->e.s, (uintptr_t)src, slen, 0, &rs))
		TH_LOG("REGION_NEW: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_region_new(&self->e.s, (uintptr_t)dst, dlen, 0, &rd))
		TH_LOG("REGION_NEW: %s", mb_strerr(&self->e.s));

#define PRW(t, o, off, l, rid, ro) (struct mb_cmd){ .tag = (t), .op = (o), \
	.offset = (off), .len = (l), .proxy = MB_PROXY, .region = (rid), \
	.region_offset = (ro) }
	/* epoch 1 */
	c[0] = PRW(0, MBATCH_OP_WRITE, 0, PL_MIB, rs.id, 0);
	c[1] = PRW(1, MBATCH_OP_WRITE, PL_MIB, 65536, rs.id, PL_MIB);
	c[2] = (struct mb_cmd){ .tag = 2, .op = MBATCH_OP_WRITE,
		.offset = PL_MIB + 65536, .len = 4096,
		.data = src + PL_MIB + 65536, .data_len = 4096 };
	c[3] = (struct mb_cmd){ .tag = 3, .op = MBATCH_OP_WRITE,
		.offset = PL_MIB + 69632, .len = 20480,
		.data = src + PL_MIB + 69632, .data_len = 20480 };
	c[4] = (struct mb_cmd){ .tag = 4, .op = MBATCH_OP_CHECKPOINT };
	/* epoch 2: 128 KiB of other data over the middle of the first */
	c[5] = PRW(5, MBATCH_OP_WRITE, 512 * 1024, 131072, rs.id, 2 * PL_MIB);
	c[6] = (struct mb_cmd){ .tag = 6, .op = MBATCH_OP_CHECKPOINT };
	/* epoch 3: read it all back, into the region and inline */
	c[7] = PRW(7, MBATCH_OP_READ, 0, PL_MIB, rd.id, 0);
	c[8] = PRW(8, MBATCH_OP_READ, PL_MIB, 65536, rd.id, PL_MIB);
	c[9] = (struct mb_cmd){ .tag = 9, .op = MBATCH_OP_READ,
		.offset = PL_MIB + 49152, .len = 32768 };
	c[10] = (struct mb_cmd){ .tag = 10, .op = MBATCH_OP_CHECKPOINT };
#undef PRW
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 11, NULL))
		TH_LOG("SUBMIT: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 11, 60000, &r, &nr))
		TH_LOG("collect: %s (%u of 11)", mb_strerr(&self->e.s), nr);
	ASSERT_EQ(11, nr);
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(MBATCH_OUTCOME_DONE, r[i].outcome)
			TH_LOG("tag %llu", (unsigned long long)r[i].tag);
		EXPECT_EQ(0, r[i].status)
			TH_LOG("tag %llu", (unsigned long long)r[i].tag);
		if (r[i].op != MBATCH_OP_CHECKPOINT)
			EXPECT_EQ(c[r[i].tag].len, r[i].bytes);
	}

	memcpy(want, src, PL_END);
	memcpy(want + 512 * 1024, src + 2 * PL_MIB, 131072);
	EXPECT_EQ(0, memcmp(dst, want, PL_MIB))
		TH_LOG("1 MiB READ into the region differs");
	EXPECT_EQ(0, memcmp(dst + PL_MIB, want + PL_MIB, 65536))
		TH_LOG("64 KiB READ into the region differs");
	x = mb_find_tag(r, nr, 9);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(32768, x->data_len);
	EXPECT_EQ(0, memcmp(x->data, want + PL_MIB + 49152, 32768))
		TH_LOG("inline READ differs");
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 0, dev, PL_END));
	EXPECT_EQ(0, memcmp(dev, want, PL_END))
		TH_LOG("the participant's device differs");
	/* The overwrite ran after everything of epoch 1 had completed. */
	y = mb_find_tag(r, nr, 5);
	ASSERT_NE(NULL, y);
	for (i = 0; i < 4; i++) {
		x = mb_find_tag(r, nr, i);
		ASSERT_NE(NULL, x);
		EXPECT_LE(x->done_ns, y->start_ns) TH_LOG("tag %u", i);
	}

	for (i = 0; i < 6; i++)
		if (c[i].op == MBATCH_OP_WRITE && c[i].len > inl) {
			pulled++;
			pulled_bytes += c[i].len;
		}
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &po));
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pin));
	EXPECT_EQ(pulled, po.stats[MBATCH_PEER_STATS_A_PULLED]);
	EXPECT_EQ(pulled_bytes, po.stats[MBATCH_PEER_STATS_A_PULLED_BYTES]);
	EXPECT_EQ(pulled, pin.stats[MBATCH_PEER_STATS_A_PULLED]);
	EXPECT_EQ(pulled_bytes, pin.stats[MBATCH_PEER_STATS_A_PULLED_BYTES]);
	TH_LOG("%llu WRITEs pulled, %llu bytes; frames out %llu in %llu",
	       (unsigned long long)pulled, (unsigned long long)pulled_bytes,
	       (unsigned long long)po.stats[MBATCH_PEER_STATS_A_TX_FRAMES],
	       (unsigned long long)po.stats[MBATCH_PEER_STATS_A_RX_FRAMES]);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_region_del(&self->e.s, rs.id));
	EXPECT_EQ(0, mb_region_del(&self->e.s, rd.id));
	munmap(src, slen);
	munmap(dst, dlen);
	free(want);
	free(dev);
}

/*
 * A session lost with pulled WRITEs queued at the participant, whose data
 * the initiator never sent (fault_r2t_ignore), then resumed while the
 * participant (a longer link timeout) still has it: the initiator ended
 * those writes (outcome unknown) and has no data for them any more. Its
 * re-attach says so (nodata_upto); the participant fails them in their
 * epoch instead of asking for data that never comes: nothing hangs,
 * nothing it holds stays, the link stays up, and none of them ran.
 */
TEST_F_TIMEOUT(remote, pull_lost_resumed, 90)
{
	struct mb_peer_cfg pc = { .name = PEER_IN, .keepalive_ms = 200,
				  .link_timeout_ms = 30000 };
	unsigned char *buf = calloc(1, 4096);
	struct mb_session_info si;
	struct mb_peer_info pi;
	struct mb_result *r = NULL;
	uint32_t nr, i, psid = 0, k;
	uint64_t drops, held = 1;
	struct mb_cmd c[18];
	long long w0;
	int fds[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mb_knob_set("inline_max", 0));
	ASSERT_EQ(0, mb_peer_del(&self->e.s, PEER_IN));
	ASSERT_EQ(0, mb_peer_new(&self->e.s, &pc))
		TH_LOG("PEER_NEW: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
	open_active(_metadata, self, &self->sid);
	psid = peer_session(&self->e.s);
	ASSERT_NE(0, psid) TH_LOG("no participant session beside ours");
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);

	ASSERT_EQ(0, mb_knob_set("fault_r2t_ignore", 1));
	for (i = 0; i < 18; i++)
		c[i] = (struct mb_cmd){ .tag = i, .op = MBATCH_OP_WRITE,
			.offset = (uint64_t)i * 4096, .len = 4096,
			.data = buf, .data_len = 4096 };
	c[8] = (struct mb_cmd){ .tag = 8, .op = MBATCH_OP_CHECKPOINT };
	c[17] = (struct mb_cmd){ .tag = 17, .op = MBATCH_OP_CHECKPOINT };
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 18, NULL))
		TH_LOG("SUBMIT: %s", mb_strerr(&self->e.s));
	/* The participant has all 18, waiting for data. */
	for (k = 0; k < 500; k++) {
		ASSERT_EQ(0, mb_session_get(&self->e.s, psid, &si));
		if (si.stats.v[MBATCH_STATS_A_QUEUED] == 18)
			break;
		usleep(10000);
	}
	ASSERT_EQ(18, si.stats.v[MBATCH_STATS_A_QUEUED]);

	/*
	 * No link: the initiator's goes to a socket nobody answers (the
	 * keepalive drops it), the participant's with the one it replaced;
	 * after its link timeout the initiator fails the session.
	 */
	ASSERT_EQ(0, mb_tcp_pair(fds));
	ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_OUT, fds[0],
				    variant->digest));
	close(fds[0]);
	ASSERT_EQ(0, wait_state(&self->e.s, self->sid, MBATCH_SESSION_HALTED,
				LINK_TIMEOUT + LINK_TIMEOUT_SLACK + 5000, &si));
	close(fds[1]);
	EXPECT_EQ(-ENOTCONN, si.error);
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, 18, 10000, &r, &nr));
	ASSERT_EQ(18, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(MBATCH_OUTCOME_UNKNOWN, r[i].outcome)
			TH_LOG("tag %llu", (unsigned long long)r[i].tag);
	mb_results_free(r, nr);

	/* Back, and resumed: the participant still has it. */
	ASSERT_EQ(0, mb_knob_set("fault_r2t_ignore", 0));
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
	ASSERT_EQ(0, wait_peer(&self->e.s, PEER_OUT, MBATCH_PEER_UP, 5000,
			       &pi));
	drops = pi.stats[MBATCH_PEER_STATS_A_DROPS];
	ASSERT_EQ(0, mb_session_get(&self->e.s, psid, &si))
		TH_LOG("the participant dropped the session");
	ASSERT_EQ(0, mb_resume(&self->e.s, self->sid))
		TH_LOG("RESUME: %s", mb_strerr(&self->e.s));
	for (k = 0; k < 500 && held; k++) {
		usleep(10000);
		ASSERT_EQ(0, mb_session_get(&self->e.s, psid, &si));
		held = si.stats.v[MBATCH_STATS_A_QUEUED] +
		       si.stats.v[MBATCH_STATS_A_INFLIGHT];
	}
	EXPECT_EQ(0, held) TH_LOG("the participant still holds %llu commands",
				  (unsigned long long)held);
	/* Failed in its epoch: the checkpoint halted it. */
	EXPECT_EQ(MBATCH_SESSION_HALTED, si.state);
	EXPECT_EQ(-ENODATA, si.error);
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
	EXPECT_EQ(MBATCH_PEER_UP, pi.state);
	EXPECT_EQ(drops, pi.stats[MBATCH_PEER_STATS_A_DROPS])
		TH_LOG("the link dropped again: %s", pi.reason);
	EXPECT_EQ(0, mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("a write without its data ran");
	mb_knob_set("fault_r2t_ignore", 0);
	free(buf);
}

/*
 * What a participant holds of pulled data stays within its queue's
 * max-bytes plus one write's, whatever the initiator submits: 252 pulled
 * 64 KiB writes in four epochs, at most 256 KiB held.
 */
#define PB_MAX		(256U << 10)
#define PB_IO		(64U << 10)

TEST_F_TIMEOUT(remote, pull_bounded, 180)
{
	struct mb_queue_cfg qc = { .name = self->e.queue, .dev = self->e.dev,
				   .depth = 4, .max_bytes = PB_MAX };
	size_t rlen = 63 * PB_IO;
	unsigned char *p = mmap(NULL, rlen, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mb_session_info si;
	struct mb_region_info ri;
	struct mb_peer_info pin;
	struct mb_result *r = NULL;
	uint32_t psid = 0, nr = 0, i, n = 0, writes = 0;
	uint64_t max_held = 0;
	struct mb_cmd c[64];
	int k;

	ASSERT_NE(MAP_FAILED, p);
	mb_pattern(p, rlen, self->rng, 0);
	ASSERT_EQ(0, mb_knob_set("inline_max", 0));
	ASSERT_EQ(0, mb_queue_del(&self->e.s, self->e.queue));
	ASSERT_TRUE(mb_wait_dev_free(self->e.dev, 5000));
	ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc))
		TH_LOG("QUEUE_NEW: %s", mb_strerr(&self->e.s));
	open_active(_metadata, self, &self->sid);
	psid = peer_session(&self->e.s);
	ASSERT_NE(0, psid) TH_LOG("no participant session beside ours");
	ASSERT_EQ(0, mb_region_new(&self->e.s, (uintptr_t)p, rlen, 0, &ri))
		TH_LOG("REGION_NEW: %s", mb_strerr(&self->e.s));

	for (k = 0; k < 4; k++) {
		for (i = 0; i < 63; i++)
			c[i] = (struct mb_cmd){ .tag = n + i,
				.op = MBATCH_OP_WRITE,
				.offset = (uint64_t)i * PB_IO, .len = PB_IO,
				.proxy = MB_PROXY, .region = ri.id,
				.region_offset = (uint64_t)i * PB_IO };
		c[63] = (struct mb_cmd){ .tag = n + 63,
					 .op = MBATCH_OP_CHECKPOINT };
		ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, 64, NULL))
			TH_LOG("SUBMIT: %s", mb_strerr(&self->e.s));
		n += 64;
		writes += 63;
		for (i = 0; i < 50; i++) {
			ASSERT_EQ(0, mb_session_get(&self->e.s, psid, &si));
			if (si.stats.v[MBATCH_STATS_A_QUEUED_BYTES] > max_held)
				max_held = si.stats.v[MBATCH_STATS_A_QUEUED_BYTES];
			usleep(1000);
		}
	}
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 60000, &r, &nr))
		TH_LOG("collect: %s (%u of %u)", mb_strerr(&self->e.s), nr, n);
	ASSERT_EQ(n, nr);
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, r[i].status);
	EXPECT_LE(max_held, PB_MAX)
		TH_LOG("the participant held %llu bytes, its max-bytes is %u",
		       (unsigned long long)max_held, PB_MAX);
	EXPECT_GT(max_held, 0);
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pin));
	EXPECT_EQ(writes, pin.stats[MBATCH_PEER_STATS_A_PULLED]);
	TH_LOG("%u pulled writes, the participant held at most %llu bytes",
	       writes, (unsigned long long)max_held);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_region_del(&self->e.s, ri.id));
	munmap(p, rlen);
}

/* The reason a link of peer @name went down with, within 5 s. */
static void expect_down(struct __test_metadata *_metadata, struct mb_sock *s,
			const char *name, const char *what, const char *reason)
{
	struct mb_peer_info pi;

	ASSERT_EQ(0, wait_peer(s, name, MBATCH_PEER_DOWN, 5000, &pi))
		TH_LOG("%s: the link stayed up", what);
	EXPECT_STREQ(reason, pi.reason) TH_LOG("case %s", what);
}

/*
 * Pulled data, refused by the participant. A hostile initiator sends
 * pulled WRITEs it did not agree to pull, pulled messages that are not
 * WRITEs without data, and DATA that was not asked for (none asked, the
 * wrong message, the wrong length): each drops the link with its reason,
 * and nothing reaches the device. Then the DATA that was asked for: the
 * write runs, its result comes back and the device holds it.
 */
enum { PR_NOT_AGREED, PR_WITH_DATA, PR_READ, PR_UNASKED, PR_OTHER_SEQ,
	PR_SHORT, PR_GOOD };

TEST_F_TIMEOUT(remote, pull_refusals, 120)
{
	static const struct {
		const char *what;
		const char *reason;
	} cases[] = {
		[PR_NOT_AGREED] = { "pulled write, pull not agreed",
				    "pulled write without R2T agreed" },
		[PR_WITH_DATA] = { "pulled write with data",
				   "pulled message is not a write without data" },
		[PR_READ] = { "pulled read",
			      "pulled message is not a write without data" },
		[PR_UNASKED] = { "data, no R2T", "data that was not asked for" },
		[PR_OTHER_SEQ] = { "data of another message",
				   "data that was not asked for" },
		[PR_SHORT] = { "data shorter than asked",
			       "data that was not asked for" },
		[PR_GOOD] = { "data asked for", NULL },
	};
	static unsigned char f[65536], pl[32768];
	uint32_t bs = self->e.bs, len = 4 * bs, sid;
	unsigned char *pat = malloc(len), *rd = NULL;
	unsigned int c;
	long long w0;

	ASSERT_NE(NULL, pat);
	for (c = 0; c < len; c++)
		pat[c] = (unsigned char)(c * 13 + 5);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct mbatch_wire_open op = {
			.max_io = htole32(MBATCH_MAX_IO_LEN),
		};
		struct mbatch_wire_msg m = {
			.seq = htole64(1), .batch = htole64(1),
			.tag = htole64(100 + c), .offset = htole64(8 * bs),
			.op = htole32(MBATCH_OP_WRITE),
			.flags = htole32(MBATCH_WIRE_MSG_F_PULL),
			.len = htole32(len),
		};
		struct mbatch_wire_open_reply rep;
		struct mbatch_wire_hdr h;
		struct mb_peer_info pi;
		uint64_t seq = 1, cookie = 0x5eed0000 + c;
		uint32_t plen = sizeof(m);
		int fds[2];
		size_t n;

		/* a session of its own: the last one waits for its initiator */
		sid = 77 + c;
		ASSERT_EQ(0, mb_tcp_pair(fds));
		ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds[1], 0))
			TH_LOG("attach: %s", mb_strerr(&self->e.s));
		close(fds[1]);
		strcpy(op.queue, self->e.queue);
		if (c != PR_NOT_AGREED)
			op.flags = htole32(MBATCH_OPEN_F_PULL);
		n = put_frame(f, MBATCH_FRAME_OPEN, sid, seq++, cookie, &op,
			      sizeof(op));
		ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_OPEN_REPLY, sid,
				       3000, &h, pl, sizeof(pl), NULL, 0))
			TH_LOG("%s: no OPEN_REPLY", cases[c].what);
		memcpy(&rep, pl, sizeof(rep));
		ASSERT_EQ(MBATCH_WS_OK, le16toh(rep.status));
		if (c == PR_WITH_DATA) {
			m.data_len = htole32(len);
			plen += len;
		} else if (c == PR_READ) {
			m.op = htole32(MBATCH_OP_READ);
		}
		memcpy(pl, &m, sizeof(m));
		if (plen > sizeof(m))
			memcpy(pl + sizeof(m), pat, len);
		n = put_frame(f, MBATCH_FRAME_MSGS, sid, seq++, 1, pl, plen);
		if (c == PR_UNASKED) {
			/* DATA in place of the message that would ask */
			n = put_frame(f, MBATCH_FRAME_DATA, sid, seq - 1, 1,
				      pat, len);
		}
		ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		if (c <= PR_UNASKED) {
			expect_down(_metadata, &self->e.s, PEER_IN,
				    cases[c].what, cases[c].reason);
			close(fds[0]);
			continue;
		}
		/* asked for: R2T of message 1 */
		ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_R2T, sid, 3000, &h,
				       pl, sizeof(pl), NULL, 0))
			TH_LOG("%s: no R2T", cases[c].what);
		ASSERT_EQ(1, le64toh(h.arg));
		ASSERT_EQ(8, le32toh(h.len));
		ASSERT_EQ(1, le64toh(*(uint64_t *)pl));
		n = put_frame(f, MBATCH_FRAME_DATA, sid, seq++,
			      c == PR_OTHER_SEQ ? 2 : 1, pat,
			      c == PR_SHORT ? len - bs : len);
		ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		if (cases[c].reason) {
			expect_down(_metadata, &self->e.s, PEER_IN,
				    cases[c].what, cases[c].reason);
			close(fds[0]);
			continue;
		}
		ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_RESULTS, sid, 5000,
				       &h, pl, sizeof(pl), NULL, 0))
			TH_LOG("%s: no RESULTS", cases[c].what);
		ASSERT_EQ(1, le64toh(h.arg));
		{
			struct mbatch_wire_result res;

			memcpy(&res, pl, sizeof(res));
			EXPECT_EQ(1, le64toh(res.msg_seq));
			EXPECT_EQ(MBATCH_WS_OK, le16toh(res.status));
			EXPECT_EQ(len, le32toh(res.bytes));
			EXPECT_NE(0, le64toh(res.start_ns));
		}
		ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pi));
		EXPECT_EQ(MBATCH_PEER_UP, pi.state);
		close(fds[0]);
	}
	/* The refused ones wrote nothing; the good one its 4 blocks, there. */
	EXPECT_EQ(len / 512, mb_sectors_written(self->e.nullb) - w0);
	rd = aligned_alloc(4096, len);
	ASSERT_NE(NULL, rd);
	{
		int fd = open(self->e.dev, O_RDONLY | O_DIRECT);

		ASSERT_LE(0, fd);
		EXPECT_EQ((ssize_t)len, pread(fd, rd, len, 8 * bs));
		close(fd);
	}
	EXPECT_EQ(0, memcmp(rd, pat, len)) TH_LOG("the pulled data is not on the device");
	free(rd);
	free(pat);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
}

/*
 * R2T, refused by the initiator. A hostile participant asks for nothing,
 * for more than it may, with a count its payload does not hold, for a
 * message that is not a pulled WRITE, or twice for one: each drops the
 * link, "malformed reply from the participant". Then a good R2T: the DATA
 * that answers it holds the WRITE's data, exactly.
 */
enum { RR_NONE, RR_TOO_MANY, RR_LEN, RR_READ, RR_TWICE, RR_GOOD };

TEST_F_TIMEOUT(remote, r2t_refusals, 120)
{
	static const char *const what[] = {
		[RR_NONE] = "R2T of no message",
		[RR_TOO_MANY] = "R2T above the maximum",
		[RR_LEN] = "R2T count not its payload",
		[RR_READ] = "R2T of a READ",
		[RR_TWICE] = "R2T twice for one WRITE",
		[RR_GOOD] = "R2T of the pulled WRITE",
	};
	static unsigned char pl[2 * 65536];
	static uint64_t seqs[MBATCH_WIRE_R2T_MAX + 1];
	uint32_t bs = self->e.bs, len = 20480;	/* inline in SUBMIT */
	unsigned char *data = malloc(len);
	unsigned int c, k;

	ASSERT_NE(NULL, data);
	for (k = 0; k < len; k++)
		data[k] = (unsigned char)(k * 31 + 7);
	for (c = 0; c < sizeof(what) / sizeof(what[0]); c++) {
		struct mb_cmd cmd[2] = {
			{ .tag = 1, .op = MBATCH_OP_WRITE, .offset = 0,
			  .len = len, .data = data, .data_len = len },
			{ .tag = 2, .op = MBATCH_OP_READ, .offset = len,
			  .len = bs },
		};
		struct mbatch_wire_msg m[2];
		struct mbatch_wire_hdr h;
		struct mb_session_info si;
		struct mb_peer_info pi;
		uint64_t w = 0, r = 0, cnt = 1;
		uint32_t sid = 0, isid, plen = 8;
		int fds[2];
		size_t n;

		ASSERT_EQ(0, mb_tcp_pair(fds));
		ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_OUT, fds[0], 0));
		close(fds[0]);
		ASSERT_EQ(0, wait_peer(&self->e.s, PEER_IN, MBATCH_PEER_DOWN,
				       5000, &pi));
		ASSERT_EQ(0, mb_session_open_remote(&self->e.s, self->e.queue,
						    PEER_OUT, 0, &sid))
			TH_LOG("%s", mb_strerr(&self->e.s));
		/* everything above 4 KiB is pulled */
		ASSERT_EQ(0, fake_participant(fds[1], 64, self->e.capacity, bs,
					      4096));
		ASSERT_EQ(0, wait_state(&self->e.s, sid, MBATCH_SESSION_ACTIVE,
					5000, &si));
		ASSERT_EQ(0, mb_submit(&self->e.s, sid, 0, cmd, 2, NULL))
			TH_LOG("%s", mb_strerr(&self->e.s));
		/* one MSGS frame of both; its session id is the wire's */
		ASSERT_TRUE(next_frame(fds[1], MBATCH_FRAME_MSGS, ANY_SESSION,
				       3000, &h, pl, sizeof(pl), NULL, 0))
			TH_LOG("%s: no MSGS", what[c]);
		isid = le32toh(h.session);
		memcpy(m, pl, sizeof(m));
		ASSERT_EQ(2, le64toh(h.arg));
		for (k = 0; k < 2; k++) {
			if (le32toh(m[k].op) == MBATCH_OP_WRITE)
				w = le64toh(m[k].seq);
			else
				r = le64toh(m[k].seq);
		}
		ASSERT_NE(0, w);
		ASSERT_NE(0, r);
		for (k = 0; k < 2; k++) {
			if (le64toh(m[k].seq) != w)
				continue;
			EXPECT_EQ(MBATCH_WIRE_MSG_F_PULL,
				  le32toh(m[k].flags) & MBATCH_WIRE_MSG_F_PULL);
			EXPECT_EQ(0, le32toh(m[k].data_len));
		}
		seqs[0] = htole64(w);
		switch (c) {
		case RR_NONE:
			cnt = 0;
			plen = 0;
			break;
		case RR_TOO_MANY:
			/* messages never sent, skipped but for the count */
			cnt = MBATCH_WIRE_R2T_MAX + 1;
			for (k = 0; k < cnt; k++)
				seqs[k] = htole64(w + 1000 + k);
			plen = cnt * 8;
			break;
		case RR_LEN:
			cnt = 2;
			break;
		case RR_READ:
			seqs[0] = htole64(r);
			break;
		case RR_TWICE:
			cnt = 2;
			seqs[1] = htole64(w);
			plen = 16;
			break;
		}
		n = put_frame(pl, MBATCH_FRAME_R2T, isid, 2, cnt, seqs, plen);
		ASSERT_EQ((ssize_t)n, write(fds[1], pl, n));
		if (c != RR_GOOD) {
			expect_down(_metadata, &self->e.s, PEER_OUT, what[c],
				    "malformed reply from the participant");
		} else {
			ASSERT_TRUE(next_frame(fds[1], MBATCH_FRAME_DATA,
					       ANY_SESSION, 3000, &h, pl,
					       sizeof(pl), NULL, 0))
				TH_LOG("%s: no DATA", what[c]);
			EXPECT_EQ(isid, le32toh(h.session));
			EXPECT_EQ(w, le64toh(h.arg));
			ASSERT_EQ(len, le32toh(h.len));
			EXPECT_EQ(0, memcmp(pl, data, len))
				TH_LOG("DATA is not the WRITE's data");
			ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
			EXPECT_EQ(MBATCH_PEER_UP, pi.state);
		}
		close(fds[1]);
		EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	}
	free(data);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
}

/*
 * A RESULTS frame cut off in the middle of a READ's data, as a link lost
 * mid-transfer. READ data is received straight into the command's pages
 * (a region's, or its own for an inline READ), so the READ whose data
 * broke off must stay pending: neither delivered with part of its data
 * nor lost. A fake participant answers an inline READ whole and a region
 * READ with half of some other data, and the frame ends there: the link
 * drops ("truncated frame"), the first is delivered at once with its
 * data, and the second is sent again on the next link (it is back among
 * the sent). There the participant answers both again: the first is a
 * duplicate, the second arrives whole, exactly once, and the region holds
 * its data and nothing else.
 */
static size_t put_result(unsigned char *p, uint64_t msg_seq, uint64_t rseq,
			 const void *data, uint32_t len)
{
	struct mbatch_wire_result w = {
		.msg_seq = htole64(msg_seq), .rseq = htole64(rseq),
		.start_ns = htole64(1), .done_ns = htole64(2),
		.bytes = htole32(len), .data_len = htole32(len),
		.status = htole16(MBATCH_WS_OK),
		.outcome = MBATCH_OUTCOME_DONE,
	};

	memcpy(p, &w, sizeof(w));
	memcpy(p + sizeof(w), data, len);	/* len is 8-aligned */
	return sizeof(w) + len;
}

TEST_F_TIMEOUT(remote, results_cut, 90)
{
	static unsigned char f[2 * 65536], pl[65536];
	/* an offset inside a page and a cut inside one: pieces of pages */
	const uint32_t len = 16384, roff = 4096 + 520;
	size_t rlen = 65536, n, cut;
	unsigned char *dst = mmap(NULL, rlen, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *pa = malloc(len), *pb = malloc(len), *pc = malloc(len);
	uint64_t s1 = 0, s2 = 0, dups0;
	struct mbatch_wire_msg m[2];
	struct mb_region_info ri;
	struct mb_session_info si;
	struct mb_peer_info pi;
	struct mb_result *r = NULL;
	uint32_t nr = 0, sid = 0, isid, k;
	int fds[2];

	ASSERT_TRUE(dst != MAP_FAILED && pa && pb && pc);
	mb_pattern(pa, len, self->rng + 1, 0);
	mb_pattern(pb, len, self->rng + 2, 0);
	mb_pattern(pc, len, self->rng + 3, 0);
	memset(dst, 0x5a, rlen);
	ASSERT_EQ(0, mb_region_new(&self->e.s, (uintptr_t)dst, rlen, 0, &ri))
		TH_LOG("REGION_NEW: %s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
	dups0 = pi.stats[MBATCH_PEER_STATS_A_DUPLICATES];

	ASSERT_EQ(0, mb_tcp_pair(fds));
	ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_OUT, fds[0], 0));
	close(fds[0]);
	ASSERT_EQ(0, wait_peer(&self->e.s, PEER_IN, MBATCH_PEER_DOWN, 5000,
			       &pi));
	ASSERT_EQ(0, mb_session_open_remote(&self->e.s, self->e.queue,
					    PEER_OUT, 0, &sid))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, fake_participant(fds[1], 64, self->e.capacity,
				      self->e.bs, -1));
	ASSERT_EQ(0, wait_state(&self->e.s, sid, MBATCH_SESSION_ACTIVE, 5000,
				&si));
	{
		struct mb_cmd c[2] = {
			{ .tag = 1, .op = MBATCH_OP_READ, .offset = 0,
			  .len = len },
			{ .tag = 2, .op = MBATCH_OP_READ, .offset = len,
			  .len = len, .proxy = MB_PROXY, .region = ri.id,
			  .region_offset = roff },
		};

		ASSERT_EQ(0, mb_submit(&self->e.s, sid, 0, c, 2, NULL))
			TH_LOG("%s", mb_strerr(&self->e.s));
	}
	ASSERT_TRUE(next_frame(fds[1], MBATCH_FRAME_MSGS, ANY_SESSION, 3000,
			       (struct mbatch_wire_hdr *)f, pl, sizeof(pl),
			       NULL, 0));
	isid = le32toh(((struct mbatch_wire_hdr *)f)->session);
	ASSERT_EQ(2, le64toh(((struct mbatch_wire_hdr *)f)->arg));
	memcpy(m, pl, sizeof(m));
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(0, le32toh(m[k].data_len));
		if (le64toh(m[k].tag) == 1)
			s1 = le64toh(m[k].seq);
		else
			s2 = le64toh(m[k].seq);
	}
	ASSERT_TRUE(s1 && s2);

	/* the first whole, the second's data cut off after half */
	n = put_result(pl, s1, 1, pa, len);
	n += put_result(pl + n, s2, 2, pc, len);
	n = put_frame(f, MBATCH_FRAME_RESULTS, isid, 2, 2, pl, n);
	cut = n - len / 2 - 13;
	ASSERT_EQ((ssize_t)cut, write(fds[1], f, cut));
	shutdown(fds[1], SHUT_WR);
	expect_down(_metadata, &self->e.s, PEER_OUT, "RESULTS cut off",
		    "truncated frame");
	close(fds[1]);
	ASSERT_EQ(0, mb_collect_all(&self->e.s, sid, 1, 5000, &r, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(1, r[0].tag);
	EXPECT_EQ(0, r[0].status);
	ASSERT_EQ(len, r[0].data_len);
	EXPECT_EQ(0, memcmp(r[0].data, pa, len)) TH_LOG("READ 1's data");
	ASSERT_EQ(0, mb_session_get(&self->e.s, sid, &si));
	EXPECT_EQ(1, si.stats.v[MBATCH_STATS_A_INFLIGHT])
		TH_LOG("the cut-off READ is still out");

	/* next link: only the cut-off READ is sent again */
	ASSERT_EQ(0, mb_tcp_pair(fds));
	ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_OUT, fds[0], 0));
	close(fds[0]);
	ASSERT_EQ(0, fake_participant(fds[1], 64, self->e.capacity,
				      self->e.bs, -1));
	ASSERT_TRUE(next_frame(fds[1], MBATCH_FRAME_MSGS, ANY_SESSION, 3000,
			       (struct mbatch_wire_hdr *)f, pl, sizeof(pl),
			       NULL, 0))
		TH_LOG("the cut-off READ was not sent again");
	ASSERT_EQ(1, le64toh(((struct mbatch_wire_hdr *)f)->arg));
	memcpy(m, pl, sizeof(m[0]));
	EXPECT_EQ(s2, le64toh(m[0].seq));
	n = put_result(pl, s1, 1, pa, len);
	n += put_result(pl + n, s2, 2, pb, len);
	n = put_frame(f, MBATCH_FRAME_RESULTS, isid, 2, 2, pl, n);
	ASSERT_EQ((ssize_t)n, write(fds[1], f, n));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, sid, 1, 5000, &r, &nr));
	ASSERT_EQ(2, nr) TH_LOG("every READ once");
	EXPECT_EQ(2, r[1].tag);
	EXPECT_EQ(0, r[1].status);
	EXPECT_EQ(len, r[1].bytes);
	EXPECT_EQ(0, r[1].data_len);
	EXPECT_EQ(0, memcmp(dst + roff, pb, len))
		TH_LOG("the region does not hold READ 2's data");
	for (k = 0; k < rlen; k++)
		if ((k < roff || k >= roff + len) && dst[k] != 0x5a)
			break;
	EXPECT_EQ(rlen, k) TH_LOG("region byte %u written", k);
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_OUT, &pi));
	EXPECT_EQ(MBATCH_PEER_UP, pi.state);
	EXPECT_EQ(dups0 + 1, pi.stats[MBATCH_PEER_STATS_A_DUPLICATES]);
	ASSERT_EQ(0, mb_session_get(&self->e.s, sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_INFLIGHT]);
	mb_results_free(r, nr);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));
	close(fds[1]);
	EXPECT_EQ(0, mb_region_del(&self->e.s, ri.id));
	munmap(dst, rlen);
	free(pa);
	free(pb);
	free(pc);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
}

/*
 * A DATA frame cut off in the middle, as a link lost mid-transfer. The
 * participant receives pulled data straight into the pages the write is
 * made from, so a write whose data broke off must neither run nor be
 * forgotten: a fake initiator's pulled WRITE is asked for, its DATA (of
 * other bytes) stops after half and the link drops ("truncated frame");
 * nothing reaches the device. The session re-attaches on a new link: the
 * write is asked for again, its whole DATA comes, it runs once, and the
 * device holds exactly its data.
 */
TEST_F_TIMEOUT(remote, data_cut, 90)
{
	static unsigned char f[65536 + 4096], pl[65536];
	const uint32_t len = 16384, sid = 91;
	uint64_t cookie = 0xda7ac07, off = 16 * (uint64_t)self->e.bs;
	unsigned char *pb = malloc(len), *pc = malloc(len), *rd = NULL;
	struct mbatch_wire_open op = {
		.max_io = htole32(MBATCH_MAX_IO_LEN),
		.flags = htole32(MBATCH_OPEN_F_PULL),
	};
	struct mbatch_wire_msg m = {
		.seq = htole64(1), .batch = htole64(1), .tag = htole64(9),
		.offset = htole64(off), .op = htole32(MBATCH_OP_WRITE),
		.flags = htole32(MBATCH_WIRE_MSG_F_PULL), .len = htole32(len),
	};
	struct mbatch_wire_result res;
	struct mbatch_wire_hdr h;
	struct mb_peer_info pi;
	unsigned int life;
	uint64_t seq = 1;
	long long w0;
	size_t n;
	int fds[2], fd;

	ASSERT_TRUE(pb && pc);
	mb_pattern(pb, len, self->rng + 5, 0);
	mb_pattern(pc, len, self->rng + 6, 0);
	strcpy(op.queue, self->e.queue);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	for (life = 0; life < 2; life++) {
		seq = 1;
		ASSERT_EQ(0, mb_tcp_pair(fds));
		ASSERT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds[1], 0))
			TH_LOG("attach: %s", mb_strerr(&self->e.s));
		close(fds[1]);
		if (life)
			op.flags |= htole32(MBATCH_OPEN_F_REATTACH);
		n = put_frame(f, MBATCH_FRAME_OPEN, sid, seq++, cookie, &op,
			      sizeof(op));
		ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_OPEN_REPLY, sid,
				       3000, &h, pl, sizeof(pl), NULL, 0))
			TH_LOG("life %u: no OPEN_REPLY", life);
		{
			struct mbatch_wire_open_reply rep;

			memcpy(&rep, pl, sizeof(rep));
			ASSERT_EQ(MBATCH_WS_OK, le16toh(rep.status));
			/* the write was queued once, on the first link */
			EXPECT_EQ(life, le64toh(rep.last_seq));
		}
		if (!life) {
			n = put_frame(f, MBATCH_FRAME_MSGS, sid, seq++, 1, &m,
				      sizeof(m));
			ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
		}
		ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_R2T, sid, 3000, &h,
				       pl, sizeof(pl), NULL, 0))
			TH_LOG("life %u: no R2T", life);
		ASSERT_EQ(1, le64toh(h.arg));
		ASSERT_EQ(1, le64toh(*(uint64_t *)pl));
		n = put_frame(f, MBATCH_FRAME_DATA, sid, seq++, 1,
			      life ? pb : pc, len);
		if (life) {
			ASSERT_EQ((ssize_t)n, write(fds[0], f, n));
			break;
		}
		ASSERT_EQ((ssize_t)(n - len / 2 - 13),
			  write(fds[0], f, n - len / 2 - 13));
		shutdown(fds[0], SHUT_WR);
		expect_down(_metadata, &self->e.s, PEER_IN, "DATA cut off",
			    "truncated frame");
		close(fds[0]);
		usleep(100000);
		EXPECT_EQ(0, mb_sectors_written(self->e.nullb) - w0)
			TH_LOG("a write with half its data ran");
	}
	ASSERT_TRUE(next_frame(fds[0], MBATCH_FRAME_RESULTS, sid, 5000, &h,
			       pl, sizeof(pl), NULL, 0));
	ASSERT_EQ(1, le64toh(h.arg));
	memcpy(&res, pl, sizeof(res));
	EXPECT_EQ(1, le64toh(res.msg_seq));
	EXPECT_EQ(1, le64toh(res.rseq));
	EXPECT_EQ(MBATCH_WS_OK, le16toh(res.status));
	EXPECT_EQ(len, le32toh(res.bytes));
	ASSERT_EQ(0, mb_peer_get(&self->e.s, PEER_IN, &pi));
	EXPECT_EQ(MBATCH_PEER_UP, pi.state);
	n = put_frame(f, MBATCH_FRAME_CLOSE, sid, seq++, cookie, NULL, 0);
	EXPECT_EQ((ssize_t)n, write(fds[0], f, n));
	close(fds[0]);
	EXPECT_EQ(len / 512, mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("the write ran once");
	rd = aligned_alloc(4096, len);
	ASSERT_NE(NULL, rd);
	fd = open(self->e.dev, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)len, pread(fd, rd, len, (off_t)off));
	close(fd);
	EXPECT_EQ(0, memcmp(rd, pb, len)) TH_LOG("the device has other data");
	free(rd);
	free(pb);
	free(pc);
	ASSERT_EQ(0, relink(&self->e.s, variant->digest));
}

/* Errors: errno and extack text. */
TEST_F(remote, errors)
{
	struct mb_peer_cfg c = { .name = PEER_OUT };
	struct mb_session_info si, all[4];
	struct mb_cmd w = { .op = MBATCH_OP_FLUSH };
	int fd, i, n, fds2[2];
	uint32_t sid;

	EXPECT_EQ(-EEXIST, mb_peer_new(&self->e.s, &c));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "a peer with this name exists"))
		TH_LOG("%s", self->e.s.err.msg);
	c.name = "bad/name";
	EXPECT_EQ(-EINVAL, mb_peer_new(&self->e.s, &c));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "peer names use"));
	EXPECT_EQ(-ENOENT, mb_peer_del(&self->e.s, "nosuchpeer"));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "no such peer"));

	fd = open("/dev/null", O_RDONLY);
	EXPECT_EQ(-ENOTSOCK, mb_peer_attach(&self->e.s, PEER_IN, fd, 0));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "not a socket"));
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT_EQ(-EINVAL, mb_peer_attach(&self->e.s, PEER_IN, fd, 0));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "not a TCP socket"));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_EQ(-ENOTCONN, mb_peer_attach(&self->e.s, PEER_IN, fd, 0));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "not connected"));
	close(fd);
	EXPECT_EQ(-ENOENT, mb_peer_attach(&self->e.s, "nosuchpeer", 0, 0));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "no such peer"));

	EXPECT_EQ(-ENOENT, mb_session_open_remote(&self->e.s, self->e.queue,
						  "nosuchpeer", 0, &sid));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "no such peer"));

	/* A queue the participant does not have: the session halts. */
	ASSERT_EQ(0, mb_session_open_remote(&self->e.s, "nosuchqueue",
					    PEER_OUT, 0, &sid));
	EXPECT_EQ(-EAGAIN, mb_submit(&self->e.s, sid, 0, &w, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "not open yet"))
		TH_LOG("%s", self->e.s.err.msg);
	ASSERT_EQ(0, wait_state(&self->e.s, sid, MBATCH_SESSION_HALTED, 5000,
				&si));
	EXPECT_EQ(-ENOENT, si.error);
	EXPECT_EQ(0, mb_session_close(&self->e.s, sid));

	/* A peer's session here is not ours to drive. */
	open_active(_metadata, self, &self->sid);
	n = mb_session_dump(&self->e.s, all, 4);
	ASSERT_EQ(2, n);
	for (i = 0; i < n; i++) {
		if (!(all[i].flags & MBATCH_SESSION_F_PEER))
			continue;
		EXPECT_EQ(-EPERM, mb_submit(&self->e.s, all[i].id, 0, &w, 1,
					    NULL));
		EXPECT_TRUE(mb_contains(self->e.s.err.msg,
					"belongs to a peer"));
		EXPECT_EQ(-EPERM, mb_resume(&self->e.s, all[i].id));
	}

	/* A socket serves one link. */
	ASSERT_EQ(0, mb_tcp_pair(fds2));
	EXPECT_EQ(0, mb_peer_attach(&self->e.s, PEER_IN, fds2[1], 0));
	EXPECT_EQ(-EBUSY, mb_peer_attach(&self->e.s, PEER_OUT, fds2[1], 0));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "already attached"))
		TH_LOG("%s", self->e.s.err.msg);
	close(fds2[0]);
	close(fds2[1]);
}

TEST_HARNESS_MAIN
