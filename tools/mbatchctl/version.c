// SPDX-License-Identifier: GPL-2.0
/* mbatchctl version: tool, module and family versions, features, limits. */
#include <stdio.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"

static const char *const feature_names[] = {
	"local",		/* MBATCH_FEAT_LOCAL */
	"remote",		/* MBATCH_FEAT_REMOTE */
	"regions",		/* MBATCH_FEAT_REGIONS */
	"journal",		/* MBATCH_FEAT_JOURNAL */
};

struct version {
	uint32_t family_version;
	const char *module;
	uint64_t features;
	bool have_features;
	char module_buf[128];
};

static int version_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct version *v = arg;

	if (!nlh)
		return 0;
	if (tb[MBATCH_A_VERSION])
		v->family_version = nla_get_u32(tb[MBATCH_A_VERSION]);
	if (tb[MBATCH_A_MODULE_VERSION]) {
		snprintf(v->module_buf, sizeof(v->module_buf), "%s",
			 nla_get_string(tb[MBATCH_A_MODULE_VERSION]));
		v->module = v->module_buf;
	}
	if (tb[MBATCH_A_FEATURES]) {
		v->features = nla_get_u64(tb[MBATCH_A_FEATURES]);
		v->have_features = true;
	}
	return 0;
}

int cmd_version(int argc, char **argv)
{
	struct version v = { 0 };
	struct json_object *o = NULL, *feats = NULL;
	struct mb_nl nl;
	unsigned int i;
	int rc;

	(void)argv;
	if (argc > 1)
		return mb_usage("version takes no arguments");
	if (mb_json) {
		o = mb_json_root();
		mb_jadd_str(o, "tool_version", MBATCHCTL_VERSION);
	} else {
		printf("mbatchctl  %s\n", MBATCHCTL_VERSION);
		fflush(stdout);
	}
	rc = mb_nl_open(&nl);
	if (rc) {
		if (o) {
			mb_jadd_bool(o, "module_loaded", false);
			mb_jadd_str(o, "module_version", NULL);
		}
		return rc;
	}
	rc = mb_nl_request(&nl, mb_msg_new(&nl, MBATCH_CMD_VERSION_GET, 0, 0),
			   version_reply, &v, 0);
	if (!rc)
		rc = mb_nl_limits(&nl);
	if (!rc && o) {
		mb_jadd_bool(o, "module_loaded", true);
		mb_jadd_str(o, "module_version", v.module);
		mb_jadd_u64(o, "family_id", nl.family);
		mb_jadd_u64(o, "family_version", v.family_version);
		mb_jadd_u64(o, "features_mask", v.features);
		feats = mb_jadd_array(o, "features");
	} else if (!rc) {
		printf("module     %s\n", v.module ? v.module : "?");
		printf("family     %s version %u (id %d)\n", MBATCH_GENL_NAME,
		       v.family_version, nl.family);
		printf("features  ");
	}
	for (i = 0; !rc && i < 64; i++) {
		const char *name = i < ARRAY_SIZE(feature_names) ?
				   feature_names[i] : NULL;
		char buf[32];

		if (!(v.features & (1ULL << i)))
			continue;
		if (!name) {
			snprintf(buf, sizeof(buf), "bit%u", i);
			name = buf;
		}
		if (feats)
			json_object_array_add(feats,
					      json_object_new_string(name));
		else
			printf(" %s", name);
	}
	if (!rc && !o)
		printf("%s\n", v.features ? "" : " none");
	if (!rc && o) {
		struct json_object *l = mb_jadd_object(o, "limits");

		mb_jadd_u64(l, "max_io", nl.limits.max_io);
		mb_jadd_u64(l, "max_zero", nl.limits.max_zero);
		mb_jadd_u64(l, "batch_msgs", nl.limits.batch_msgs);
		mb_jadd_u64(l, "request_bytes", nl.limits.request_bytes);
		mb_jadd_u64(l, "reply_bytes", nl.limits.reply_bytes);
		mb_jadd_u64(l, "max_proxy_io", nl.limits.max_proxy_io);
	} else if (!rc) {
		printf("limits     read/write %u bytes, discard/write-zeroes %u bytes, %u messages a batch\n",
		       nl.limits.max_io, nl.limits.max_zero,
		       nl.limits.batch_msgs);
		printf("           requests %u bytes, replies %u bytes (this socket)\n",
		       nl.limits.request_bytes, nl.limits.reply_bytes);
		if (nl.limits.max_proxy_io)
			printf("           proxied read/write %u bytes (registered regions)\n",
			       nl.limits.max_proxy_io);
	}
	if (!rc && v.family_version != MBATCH_GENL_VERSION)
		fprintf(stderr, "mbatchctl: note: family version %u, tool built for %u\n",
			v.family_version, MBATCH_GENL_VERSION);
	mb_nl_close(&nl);
	return rc;
}
