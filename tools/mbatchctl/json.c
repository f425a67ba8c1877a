// SPDX-License-Identifier: GPL-2.0
/* --json output helpers over json-c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbatchctl.h"
#include "json.h"

bool mb_json;
static struct json_object *root;

struct json_object *mb_json_root(void)
{
	if (!root) {
		root = json_object_new_object();
		if (!root) {
			fprintf(stderr, "mbatchctl: out of memory\n");
			exit(MB_EXIT_LOCAL);
		}
	}
	return root;
}

static void jadd(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v)) {
		fprintf(stderr, "mbatchctl: out of memory\n");
		exit(MB_EXIT_LOCAL);
	}
}

void mb_jadd_str(struct json_object *o, const char *key, const char *s)
{
	if (!s) {	/* json-c represents null as a NULL value */
		if (json_object_object_add(o, key, NULL)) {
			fprintf(stderr, "mbatchctl: out of memory\n");
			exit(MB_EXIT_LOCAL);
		}
		return;
	}
	jadd(o, key, json_object_new_string(s));
}

void mb_jadd_u64(struct json_object *o, const char *key, uint64_t v)
{
	jadd(o, key, json_object_new_uint64(v));
}

void mb_jadd_s64(struct json_object *o, const char *key, int64_t v)
{
	jadd(o, key, json_object_new_int64(v));
}

void mb_jadd_bool(struct json_object *o, const char *key, bool v)
{
	jadd(o, key, json_object_new_boolean(v));
}

void mb_jadd_hex(struct json_object *o, const char *key, const void *buf,
		 size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = buf;
	char *s = malloc(2 * len + 1);
	size_t i;

	if (!s) {
		fprintf(stderr, "mbatchctl: out of memory\n");
		exit(MB_EXIT_LOCAL);
	}
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	jadd(o, key, json_object_new_string_len(s, 2 * len));
	free(s);
}

struct json_object *mb_jadd_array(struct json_object *o, const char *key)
{
	struct json_object *a = json_object_new_array();

	jadd(o, key, a);
	return a;
}

struct json_object *mb_jadd_object(struct json_object *o, const char *key)
{
	struct json_object *a = json_object_new_object();

	jadd(o, key, a);
	return a;
}

void mb_json_error(int code, int err, const char *msg, const char *extack)
{
	struct json_object *e;

	if (!mb_json)
		return;
	e = mb_jadd_object(mb_json_root(), "error");
	mb_jadd_s64(e, "exit", code);
	if (mb_cmdname)
		mb_jadd_str(e, "command", mb_cmdname);
	if (err) {
		mb_jadd_s64(e, "errno", err);
		mb_jadd_str(e, "strerror", strerror(err));
	}
	mb_jadd_str(e, "message", msg ? msg : "");
	if (extack)
		mb_jadd_str(e, "extack", extack);
}

int mb_json_flush(void)
{
	const char *s;
	int rc = 0;

	if (!mb_json || !root)
		return 0;
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || printf("%s\n", s) < 0 || fflush(stdout))
		rc = MB_EXIT_LOCAL;
	json_object_put(root);
	root = NULL;
	return rc;
}

uint64_t mb_jget_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

const char *mb_jget_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return "-";
	return json_object_get_string(v);
}

int64_t mb_jget_s64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}
