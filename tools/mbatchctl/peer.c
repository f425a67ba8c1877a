// SPDX-License-Identifier: GPL-2.0
/* mbatchctl peer add|del|show */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbatchctl.h"
#include "nl.h"
#include "json.h"
#include "handshake.h"

static int check_name(const char *name)
{
	if (!mb_name_ok(name))
		return mb_usage("bad peer name '%s' (1 to %d of [A-Za-z0-9_.-])",
				name, MBATCH_PEER_NAME_MAX - 1);
	return 0;
}

static const char *const peer_stat_names[] = {
	[MBATCH_PEER_STATS_A_TX_BYTES] = "tx_bytes",
	[MBATCH_PEER_STATS_A_RX_BYTES] = "rx_bytes",
	[MBATCH_PEER_STATS_A_TX_FRAMES] = "tx_frames",
	[MBATCH_PEER_STATS_A_RX_FRAMES] = "rx_frames",
	[MBATCH_PEER_STATS_A_LINKS] = "links",
	[MBATCH_PEER_STATS_A_RECONNECTS] = "reconnects",
	[MBATCH_PEER_STATS_A_DROPS] = "drops",
	[MBATCH_PEER_STATS_A_RESENT] = "resent",
	[MBATCH_PEER_STATS_A_DUPLICATES] = "duplicates",
	[MBATCH_PEER_STATS_A_SESSIONS_OUT] = "sessions_out",
	[MBATCH_PEER_STATS_A_SESSIONS_IN] = "sessions_in",
	[MBATCH_PEER_STATS_A_TX_CREDITS] = "tx_credits",
	[MBATCH_PEER_STATS_A_RX_CREDITS] = "rx_credits",
	[MBATCH_PEER_STATS_A_IN_CMDS] = "in_cmds_used",
	[MBATCH_PEER_STATS_A_IN_BYTES] = "in_bytes_used",
	[MBATCH_PEER_STATS_A_PULLED] = "pulled",
	[MBATCH_PEER_STATS_A_PULLED_BYTES] = "pulled_bytes",
};

static const char *peer_state_name(uint32_t state)
{
	switch (state) {
	case MBATCH_PEER_DOWN:
		return "down";
	case MBATCH_PEER_UP:
		return "up";
	}
	return "unknown";
}

static struct json_object *digests_json(uint32_t d)
{
	struct json_object *a = json_object_new_array();

	if (d & MBATCH_DIGEST_HEADER)
		json_object_array_add(a, json_object_new_string("header"));
	if (d & MBATCH_DIGEST_DATA)
		json_object_array_add(a, json_object_new_string("data"));
	return a;
}

/* One peer of a PEER_NEW/PEER_GET reply as JSON. */
static struct json_object *peer_json(struct nlattr **tb)
{
	struct json_object *p = json_object_new_object(), *s;
	struct nlattr *st[MBATCH_PEER_STATS_A_MAX + 1];
	unsigned int i;

#define STR(key, attr) \
	mb_jadd_str(p, key, tb[attr] ? nla_get_string(tb[attr]) : NULL)
#define U32(key, attr) \
	do { if (tb[attr]) mb_jadd_u64(p, key, nla_get_u32(tb[attr])); } while (0)
	STR("name", MBATCH_A_PEER_NAME);
	if (tb[MBATCH_A_PEER_STATE])
		mb_jadd_str(p, "state", peer_state_name(
			nla_get_u32(tb[MBATCH_A_PEER_STATE])));
	STR("addr", MBATCH_A_PEER_ADDR);
	STR("psk_file", MBATCH_A_PEER_PSK_FILE);
	if (tb[MBATCH_A_PEER_DIGEST])
		json_object_object_add(p, "digests", digests_json(
			nla_get_u32(tb[MBATCH_A_PEER_DIGEST])));
	U32("keepalive_ms", MBATCH_A_PEER_KEEPALIVE_MS);
	U32("link_timeout_ms", MBATCH_A_PEER_LINK_TIMEOUT_MS);
	U32("rtt_us", MBATCH_A_PEER_RTT_US);
	U32("in_cmds", MBATCH_A_PEER_IN_CMDS);
	if (tb[MBATCH_A_PEER_IN_BYTES])
		mb_jadd_u64(p, "in_bytes", nla_get_u64(tb[MBATCH_A_PEER_IN_BYTES]));
#undef STR
#undef U32
	if (tb[MBATCH_A_PEER_STATS] &&
	    !mb_parse_peer_stats(tb[MBATCH_A_PEER_STATS], st)) {
		s = mb_jadd_object(p, "stats");
		for (i = 0; i < ARRAY_SIZE(peer_stat_names); i++)
			if (peer_stat_names[i] && st[i])
				mb_jadd_u64(s, peer_stat_names[i],
					    nla_get_u64(st[i]));
	}
	if (tb[MBATCH_A_LINK_REASON] || tb[MBATCH_A_LINK_ERROR]) {
		s = mb_jadd_object(p, "last_down");
		mb_jadd_str(s, "reason", tb[MBATCH_A_LINK_REASON] ?
			    nla_get_string(tb[MBATCH_A_LINK_REASON]) : "");
		mb_jadd_s64(s, "error", tb[MBATCH_A_LINK_ERROR] ?
			    (int32_t)nla_get_u32(tb[MBATCH_A_LINK_ERROR]) : 0);
	}
	return p;
}

static int peer_reply(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct json_object *arr = arg;

	if (!nlh) {	/* dump restarted */
		json_object_array_del_idx(arr, 0,
					  json_object_array_length(arr));
		return 0;
	}
	json_object_array_add(arr, peer_json(tb));
	return 0;
}

/*
 * Gets one peer (@name) or all on @nl, into the array @arr. An unknown
 * peer is not reported when @quiet (the daemon's lookups).
 */
int mb_peer_get_nl(struct mb_nl *nl, const char *name, bool quiet,
		   struct json_object *arr)
{
	struct nl_msg *msg;
	int rc;

	msg = mb_msg_new(nl, MBATCH_CMD_PEER_GET, name ? 0 : NLM_F_DUMP, 0);
	if (name && nla_put_string(msg, MBATCH_A_PEER_NAME, name)) {
		nlmsg_free(msg);
		return MB_EXIT_LOCAL;
	}
	nl->quiet_errno = quiet ? -ENOENT : 0;
	rc = mb_nl_request(nl, msg, peer_reply, arr, MB_REQ_RETRY_INTR);
	nl->quiet_errno = 0;
	return rc;
}

int mb_peer_get(const char *name, struct json_object **out)
{
	struct mb_nl nl;
	int rc;

	*out = json_object_new_array();
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	rc = mb_peer_get_nl(&nl, name, false, *out);
	mb_nl_close(&nl);
	return rc;
}

static int opt_ms(const char *k, const char *v, uint32_t min, uint32_t max,
		  uint32_t *out)
{
	if (mb_parse_u32(v, out) || *out < min || *out > max)
		return mb_usage("peer add: bad %s '%s' (%u to %u ms)", k, v,
				min, max);
	return 0;
}

static int peer_add(int argc, char **argv)
{
	static const char usage[] =
		"peer add NAME [ADDR:PORT] --psk-file F [keepalive MS] [link-timeout MS] [in-bytes SIZE] [in-cmds N]";
	const char *name, *addr = NULL, *psk = NULL;
	unsigned char key[MB_HS_PSK_MAX];
	char host[MBATCH_PEER_ADDR_MAX], port[8], why[PATH_MAX + 64];
	char *abs = NULL;
	uint32_t keepalive = 0, timeout = 0, in_cmds = 0;
	bool has_ka = false, has_to = false, has_ib = false, has_ic = false;
	uint64_t in_bytes = 0;
	struct json_object *arr;
	struct nl_msg *msg;
	struct mb_nl nl;
	size_t klen;
	int i, rc;

	if (argc < 2 || argv[1][0] == '-')
		return mb_usage("%s", usage);
	name = argv[1];
	rc = check_name(name);
	for (i = 2; !rc && i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--psk-file") || !strcmp(k, "psk-file")) {
			if (!v)
				return mb_usage("peer add: %s needs a file", k);
			psk = v;
			i++;
		} else if (!strcmp(k, "keepalive")) {
			if (!v)
				return mb_usage("peer add: keepalive needs a value");
			rc = opt_ms(k, v, MBATCH_KEEPALIVE_MS_MIN,
				    MBATCH_KEEPALIVE_MS_MAX, &keepalive);
			has_ka = true;
			i++;
		} else if (!strcmp(k, "link-timeout")) {
			if (!v)
				return mb_usage("peer add: link-timeout needs a value");
			rc = opt_ms(k, v, 0, MBATCH_LINK_TIMEOUT_MS_MAX,
				    &timeout);
			has_to = true;
			i++;
		} else if (!strcmp(k, "in-bytes")) {
			if (!v)
				return mb_usage("peer add: in-bytes needs a size");
			if (mb_parse_size(v, &in_bytes) ||
			    in_bytes < MBATCH_PEER_IN_BYTES_MIN ||
			    in_bytes > MBATCH_PEER_IN_BYTES_MAX)
				rc = mb_usage("peer add: bad in-bytes '%s' (1M to 64G)",
					      v);
			has_ib = true;
			i++;
		} else if (!strcmp(k, "in-cmds")) {
			if (!v)
				return mb_usage("peer add: in-cmds needs a value");
			if (mb_parse_u32(v, &in_cmds) || !in_cmds ||
			    in_cmds > MBATCH_PEER_IN_CMDS_MAX)
				rc = mb_usage("peer add: bad in-cmds '%s' (1 to %u)",
					      v, MBATCH_PEER_IN_CMDS_MAX);
			has_ic = true;
			i++;
		} else if (!addr && k[0] != '-') {
			addr = k;
			if (strlen(addr) >= MBATCH_PEER_ADDR_MAX ||
			    mb_split_hostport(addr, host, sizeof(host), port,
					      sizeof(port)) || !host[0])
				rc = mb_usage("peer add: bad address '%s' (HOST:PORT or [IPV6]:PORT, at most %d bytes)",
					      addr, MBATCH_PEER_ADDR_MAX - 1);
		} else {
			rc = mb_usage("peer add: unexpected '%s'", k);
		}
	}
	if (rc)
		return rc;
	if (!psk)
		return mb_usage("peer add: --psk-file F is required");
	/* the daemon reads it later, from another directory */
	if (mb_psk_read(psk, key, &klen, why, sizeof(why))) {
		memset(key, 0, sizeof(key));
		mb_err("%s", why);
		mb_json_error(MB_EXIT_LOCAL, 0, why, NULL);
		return MB_EXIT_LOCAL;
	}
	memset(key, 0, sizeof(key));
	abs = realpath(psk, NULL);
	if (!abs || strlen(abs) >= MBATCH_DEV_PATH_MAX) {
		snprintf(why, sizeof(why), "key file %s: %s", psk,
			 abs ? "path longer than 255 bytes" : strerror(errno));
		free(abs);
		mb_err("%s", why);
		mb_json_error(MB_EXIT_LOCAL, 0, why, NULL);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_open(&nl);
	if (rc) {
		free(abs);
		return rc;
	}
	arr = json_object_new_array();
	msg = mb_msg_new(&nl, MBATCH_CMD_PEER_NEW, 0, 0);
	if (nla_put_string(msg, MBATCH_A_PEER_NAME, name) ||
	    (addr && nla_put_string(msg, MBATCH_A_PEER_ADDR, addr)) ||
	    nla_put_string(msg, MBATCH_A_PEER_PSK_FILE, abs) ||
	    (has_ka && nla_put_u32(msg, MBATCH_A_PEER_KEEPALIVE_MS, keepalive)) ||
	    (has_to && nla_put_u32(msg, MBATCH_A_PEER_LINK_TIMEOUT_MS, timeout)) ||
	    (has_ib && nla_put_u64(msg, MBATCH_A_PEER_IN_BYTES, in_bytes)) ||
	    (has_ic && nla_put_u32(msg, MBATCH_A_PEER_IN_CMDS, in_cmds))) {
		nlmsg_free(msg);
		rc = MB_EXIT_LOCAL;
		goto out;
	}
	rc = mb_nl_request(&nl, msg, peer_reply, arr, 0);
	if (!rc && mb_json) {
		struct json_object *p = json_object_array_length(arr) ?
			json_object_get(json_object_array_get_idx(arr, 0)) :
			json_object_new_object();

		if (!strcmp(mb_jget_str(p, "name"), "-")) {
			mb_jadd_str(p, "name", name);
			mb_jadd_str(p, "addr", addr);
			mb_jadd_str(p, "psk_file", abs);
		}
		json_object_object_add(mb_json_root(), "peer", p);
	}
out:
	mb_nl_close(&nl);
	json_object_put(arr);
	free(abs);
	return rc;
}

static int peer_del(int argc, char **argv)
{
	struct nl_msg *msg;
	struct mb_nl nl;
	int rc;

	if (argc != 2)
		return mb_usage("peer del NAME");
	rc = check_name(argv[1]);
	if (rc)
		return rc;
	rc = mb_nl_open(&nl);
	if (rc)
		return rc;
	msg = mb_msg_new(&nl, MBATCH_CMD_PEER_DEL, 0, 0);
	if (nla_put_string(msg, MBATCH_A_PEER_NAME, argv[1])) {
		nlmsg_free(msg);
		mb_nl_close(&nl);
		return MB_EXIT_LOCAL;
	}
	rc = mb_nl_request(&nl, msg, NULL, NULL, 0);
	mb_nl_close(&nl);
	if (!rc && mb_json)
		mb_jadd_str(mb_json_root(), "deleted", argv[1]);
	return rc;
}

static void print_peer(struct json_object *p)
{
	struct json_object *st, *d, *down;
	char digests[32] = "";
	size_t i;

#define S(k) ((unsigned long long)mb_jget_u64(st, k))
	if (json_object_object_get_ex(p, "digests", &d))
		for (i = 0; i < json_object_array_length(d); i++)
			snprintf(digests + strlen(digests),
				 sizeof(digests) - strlen(digests), "%s%s",
				 i ? "," : "", json_object_get_string(
					 json_object_array_get_idx(d, i)));
	printf("peer %s: %s, address %s, rtt %llu us, digests %s\n",
	       mb_jget_str(p, "name"), mb_jget_str(p, "state"),
	       mb_jget_str(p, "addr"),
	       (unsigned long long)mb_jget_u64(p, "rtt_us"),
	       digests[0] ? digests : "none");
	printf("  keepalive %llu ms, link timeout %llu ms, key file %s\n",
	       (unsigned long long)mb_jget_u64(p, "keepalive_ms"),
	       (unsigned long long)mb_jget_u64(p, "link_timeout_ms"),
	       mb_jget_str(p, "psk_file"));
	st = NULL;
	json_object_object_get_ex(p, "stats", &st);
	printf("  its sessions here: %llu of %llu commands, %llu of %llu bytes\n",
	       st ? S("in_cmds_used") : 0ULL,
	       (unsigned long long)mb_jget_u64(p, "in_cmds"),
	       st ? S("in_bytes_used") : 0ULL,
	       (unsigned long long)mb_jget_u64(p, "in_bytes"));
	if (st) {
		printf("  bytes tx %llu rx %llu, frames tx %llu rx %llu\n",
		       S("tx_bytes"), S("rx_bytes"), S("tx_frames"),
		       S("rx_frames"));
		printf("  links %llu, reconnects %llu, drops %llu, resent %llu, duplicates %llu\n",
		       S("links"), S("reconnects"), S("drops"), S("resent"),
		       S("duplicates"));
		printf("  sessions out %llu in %llu, credits tx %llu rx %llu\n",
		       S("sessions_out"), S("sessions_in"), S("tx_credits"),
		       S("rx_credits"));
		printf("  writes pulled %llu, %llu bytes\n", S("pulled"),
		       S("pulled_bytes"));
	}
#undef S
	if (json_object_object_get_ex(p, "last_down", &down)) {
		int64_t err = mb_jget_s64(down, "error");

		printf("  last down: %s", mb_jget_str(down, "reason"));
		if (err)
			printf(" (%s)", strerror(err < 0 ? -err : err));
		putchar('\n');
	}
}

static int peer_show(int argc, char **argv)
{
	struct json_object *arr;
	size_t i;
	int rc;

	if (argc > 2)
		return mb_usage("peer show [NAME]");
	if (argc == 2) {
		rc = check_name(argv[1]);
		if (rc)
			return rc;
	}
	rc = mb_peer_get(argc == 2 ? argv[1] : NULL, &arr);
	if (rc) {
		json_object_put(arr);
		return rc;
	}
	if (mb_json) {
		json_object_object_add(mb_json_root(), "peers", arr);
		return 0;
	}
	for (i = 0; i < json_object_array_length(arr); i++)
		print_peer(json_object_array_get_idx(arr, i));
	json_object_put(arr);
	return 0;
}

int cmd_peer(int argc, char **argv)
{
	static const struct mb_cmd sub[] = {
		{ "add", peer_add, NULL },
		{ "del", peer_del, NULL },
		{ "show", peer_show, NULL },
	};

	return mb_sub_dispatch(sub, ARRAY_SIZE(sub), "peer", argc, argv);
}
