// SPDX-License-Identifier: GPL-2.0
/*
 * The "mbatch" Generic Netlink family as the controller reports it:
 * version, every op admin-only and with a policy, the events group; and
 * MBATCH_CMD_VERSION_GET.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include "mb_harness.h"
#include "mb_test.h"

static const uint32_t mb_all_ops[] = {
	MBATCH_CMD_VERSION_GET, MBATCH_CMD_QUEUE_NEW, MBATCH_CMD_QUEUE_DEL,
	MBATCH_CMD_QUEUE_GET, MBATCH_CMD_SESSION_OPEN,
	MBATCH_CMD_SESSION_CLOSE, MBATCH_CMD_SESSION_GET, MBATCH_CMD_SUBMIT,
	MBATCH_CMD_COLLECT, MBATCH_CMD_RESUME, MBATCH_CMD_BATCH_CANCEL,
	MBATCH_CMD_PEER_NEW, MBATCH_CMD_PEER_DEL, MBATCH_CMD_PEER_GET,
	MBATCH_CMD_PEER_ATTACH, MBATCH_CMD_REGION_NEW, MBATCH_CMD_REGION_DEL,
	MBATCH_CMD_REGION_GET,
};

/* Notifications (multicast, and the unicast COLLECT_READY): never an op. */
static int mb_is_ntf(uint32_t id)
{
	return id == MBATCH_CMD_CHECKPOINT_NTF ||
	       id == MBATCH_CMD_SESSION_HALT_NTF ||
	       id == MBATCH_CMD_LINK_UP_NTF || id == MBATCH_CMD_LINK_DOWN_NTF ||
	       id == MBATCH_CMD_COLLECT_READY_NTF;
}

FIXTURE(family) {
	struct mb_sock s;
};

FIXTURE_SETUP(family)
{
	int ret = mb_open(&self->s);

	ASSERT_EQ(0, ret) TH_LOG("family %s not found: %s", MBATCH_GENL_NAME,
				 strerror(-ret));
}

FIXTURE_TEARDOWN(family)
{
	mb_close(&self->s);
}

TEST_F(family, version_and_maxattr)
{
	EXPECT_EQ(MBATCH_GENL_VERSION, self->s.version);
	EXPECT_EQ(0, self->s.hdrsize);
	EXPECT_EQ(MBATCH_A_MAX, self->s.maxattr);
}

TEST_F(family, every_op_admin_and_policy)
{
	size_t i;
	int j;

	ASSERT_GT(self->s.nops, 0);
	for (j = 0; j < self->s.nops; j++) {
		uint32_t f = self->s.ops[j].flags;

		EXPECT_TRUE(f & GENL_ADMIN_PERM)
			TH_LOG("op %u lacks GENL_ADMIN_PERM (flags %#x)",
			       self->s.ops[j].id, f);
		EXPECT_TRUE(f & GENL_CMD_CAP_HASPOL)
			TH_LOG("op %u has no policy (flags %#x)",
			       self->s.ops[j].id, f);
		EXPECT_TRUE(f & (GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP))
			TH_LOG("op %u neither do nor dump", self->s.ops[j].id);
		EXPECT_FALSE(mb_is_ntf(self->s.ops[j].id))
			TH_LOG("op %u is a notification id", self->s.ops[j].id);
		EXPECT_LE(self->s.ops[j].id, MBATCH_CMD_MAX)
			TH_LOG("op %u is beyond the uAPI", self->s.ops[j].id);
		EXPECT_NE(MBATCH_CMD_UNSPEC, self->s.ops[j].id);
	}
	/* every request command of the uAPI is an op */
	for (i = 0; i < sizeof(mb_all_ops) / sizeof(mb_all_ops[0]); i++) {
		int found = 0;

		for (j = 0; j < self->s.nops; j++)
			if (self->s.ops[j].id == mb_all_ops[i])
				found = 1;
		EXPECT_TRUE(found) TH_LOG("op %u not registered", mb_all_ops[i]);
	}
}

TEST_F(family, dump_ops)
{
	/* the dump-style requests of the contract */
	static const uint32_t dumps[] = {
		MBATCH_CMD_QUEUE_GET, MBATCH_CMD_SESSION_GET,
		MBATCH_CMD_COLLECT, MBATCH_CMD_PEER_GET, MBATCH_CMD_REGION_GET,
	};
	size_t i;
	int j;

	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++)
		for (j = 0; j < self->s.nops; j++)
			if (self->s.ops[j].id == dumps[i])
				EXPECT_TRUE(self->s.ops[j].flags &
					    GENL_CMD_CAP_DUMP)
					TH_LOG("op %u cannot dump", dumps[i]);
}

TEST_F(family, events_group)
{
	EXPECT_NE(0, self->s.mcgrp_events)
		TH_LOG("multicast group \"%s\" missing", MBATCH_MCGRP_EVENTS);
	ASSERT_EQ(0, mb_events_join(&self->s)) TH_LOG("%s",
						      mb_strerr(&self->s));
}

TEST_F(family, version_get)
{
	char modver[128] = "";
	uint64_t feat = 0;
	uint32_t ver = 0;

	struct mb_limits l;

	ASSERT_EQ(0, mb_version_limits(&self->s, &ver, modver, sizeof(modver),
				       &feat, &l))
		TH_LOG("%s", mb_strerr(&self->s));
	EXPECT_EQ(MBATCH_GENL_VERSION, ver);
	EXPECT_NE(0, strlen(modver));
	EXPECT_TRUE(feat & MBATCH_FEAT_LOCAL);
	EXPECT_TRUE(feat & MBATCH_FEAT_REGIONS);
	/* the run-time limits are reported and usable */
	EXPECT_GE(l.max_io, 4096);
	EXPECT_GE(l.max_zero, 4096);
	EXPECT_GE(l.batch_msgs, 1);
	EXPECT_GT(l.request_bytes, l.max_io);
	EXPECT_GT(l.reply_bytes, l.max_io);
	EXPECT_GE(l.max_proxy_io, l.max_io);
	/* mbatch_nl receives with a buffer of 1 MiB */
	EXPECT_LE(l.reply_bytes, self->s.rbuf_len);
	/* the module's version matches /sys/module/mbatch/version if any */
	{
		FILE *f = fopen("/sys/module/mbatch/version", "r");
		char line[128] = "";

		if (f) {
			if (fgets(line, sizeof(line), f))
				line[strcspn(line, "\n")] = 0;
			fclose(f);
			EXPECT_STREQ(line, modver);
		}
	}
}

TEST_F(family, policy_dump)
{
	/* CTRL_CMD_GETPOLICY must describe the family's policies */
	struct mb_req r;
	int ret;

	self->s.family = GENL_ID_CTRL;
	mb_req_init(&r, &self->s, CTRL_CMD_GETPOLICY, NLM_F_DUMP);
	mb_req_genl(&r)->version = 1;
	mb_put_str(&r, CTRL_ATTR_FAMILY_NAME, MBATCH_GENL_NAME);
	ret = mb_transact(&self->s, &r, NULL, NULL);
	mb_req_free(&r);
	EXPECT_EQ(0, ret) TH_LOG("%s", mb_strerr(&self->s));
}

TEST_HARNESS_MAIN
