// SPDX-License-Identifier: GPL-2.0
/*
 * Registered memory regions: REGION_NEW and REGION_DEL for "run", and
 * "mbatchctl region list" (REGION_GET, one or the dump of the namespace).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

struct new_region {
	uint32_t id;
	bool has_id;
};

static int new_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct new_region *n = arg;

	if (nlh && tb[MBATCH_A_REGION_ID]) {
		n->id = nla_get_u32(tb[MBATCH_A_REGION_ID]);
		n->has_id = true;
	}
	return 0;
}

int mb_region_new(struct mb_nl *nl, const void *addr, uint64_t len,
		  uint32_t flags, uint32_t *id)
{
	struct nl_msg *msg = mb_msg_new(nl, MBATCH_CMD_REGION_NEW, 0, 0);
	struct new_region got = { 0 };
	int rc;

	if (nla_put_u64(msg, MBATCH_A_REGION_ADDR, (uintptr_t)addr) ||
	    nla_put_u64(msg, MBATCH_A_REGION_LEN, len) ||
	    (flags && nla_put_u32(msg, MBATCH_A_REGION_FLAGS, flags))) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(nl, msg, new_reply, &got, 0);
	if (!rc && !got.has_id) {
		mb_err("the kernel's region reply carries no id");
		rc = MB_EXIT_LOCAL;
	}
	*id = got.id;
	return rc;
}

int mb_region_del(struct mb_nl *nl, uint32_t id)
{
	struct nl_msg *msg = mb_msg_new(nl, MBATCH_CMD_REGION_DEL, 0, 0);

	if (nla_put_u32(msg, MBATCH_A_REGION_ID, id)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	return mb_nl_request(nl, msg, NULL, NULL, 0);
}

static struct json_object *region_json(struct nlattr **tb)
{
	struct json_object *o = json_object_new_object(), *f;
	uint32_t flags = 0;

#define U32(key, attr) \
	do { if (tb[attr]) mb_jadd_u64(o, key, nla_get_u32(tb[attr])); } while (0)
#define U64(key, attr) \
	do { if (tb[attr]) mb_jadd_u64(o, key, nla_get_u64(tb[attr])); } while (0)
	U32("id", MBATCH_A_REGION_ID);
	U64("addr", MBATCH_A_REGION_ADDR);
	U64("len", MBATCH_A_REGION_LEN);
	if (tb[MBATCH_A_REGION_FLAGS])
		flags = nla_get_u32(tb[MBATCH_A_REGION_FLAGS]);
	f = mb_jadd_array(o, "flags");
	if (flags & MBATCH_REGION_F_READONLY)
		json_object_array_add(f, json_object_new_string("readonly"));
	U32("users", MBATCH_A_REGION_USERS);
	U32("portid", MBATCH_A_REGION_PORTID);
#undef U32
#undef U64
	return o;
}

static int get_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct json_object *arr = arg;

	if (!nlh) {	/* dump restarted */
		json_object_array_del_idx(arr, 0,
					  json_object_array_length(arr));
		return 0;
	}
	json_object_array_add(arr, region_json(tb));
	return 0;
}

/* One region (@id) or every region of the namespace, as a JSON array. */
static int region_get(uint32_t id, struct json_object *arr)
{
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc;

	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_REGION_GET, id ? 0 : NLM_F_DUMP, 0);
	if (id && nla_put_u32(msg, MBATCH_A_REGION_ID, id)) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, get_reply, arr, MB_REQ_RETRY_INTR);
	mb_nl_close(&nl);
	return rc;
}

static int region_list(int argc, char **argv)
{
	struct json_object *arr;
	uint32_t id = 0;
	char b[32];
	size_t i;
	int rc;

	if (argc > 2)
		return mb_usage("region list [ID]");
	if (argc == 2 && (mb_parse_u32(argv[1], &id) || !id))
		return mb_usage("bad region id '%s'", argv[1]);
	arr = json_object_new_array();
	rc = region_get(id, arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	if (mb_json) {
		json_object_object_add(mb_json_root(), "regions", arr);
		return 0;
	}
	printf("%-8s %-18s %10s %-8s %6s %10s\n", "ID", "ADDR", "LEN", "FLAGS",
	       "USERS", "PORTID");
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *f;
		bool ro = false;
		size_t j;

		json_object_object_get_ex(o, "flags", &f);
		for (j = 0; j < json_object_array_length(f); j++) {
			struct json_object *e = json_object_array_get_idx(f, j);

			ro |= !strcmp(json_object_get_string(e), "readonly");
		}
		printf("%-8llu 0x%016" PRIx64 " %10s %-8s %6llu %10llu\n",
		       (unsigned long long)mb_jget_u64(o, "id"),
		       mb_jget_u64(o, "addr"),
		       mb_fmt_size(mb_jget_u64(o, "len"), b, sizeof(b)),
		       ro ? "readonly" : "-",
		       (unsigned long long)mb_jget_u64(o, "users"),
		       (unsigned long long)mb_jget_u64(o, "portid"));
	}
	json_object_put(arr);
	return 0;
}

int cmd_region(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "list", region_list, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "region", argc, argv);
}
