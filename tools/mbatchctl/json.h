/* SPDX-License-Identifier: GPL-2.0 */
/* --json output: one JSON document per invocation, built with json-c. */
#ifndef MBATCHCTL_JSON_H
#define MBATCHCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

extern bool mb_json;

/* The document printed at exit (an object, created on first use). */
struct json_object *mb_json_root(void);
/* Adds {"error": {...}} to the document (only with --json). */
void mb_json_error(int code, int err, const char *msg, const char *extack);
/* Prints the document to stdout, if any; returns MB_EXIT_LOCAL on failure. */
int mb_json_flush(void);

void mb_jadd_str(struct json_object *o, const char *key, const char *s);
void mb_jadd_u64(struct json_object *o, const char *key, uint64_t v);
void mb_jadd_s64(struct json_object *o, const char *key, int64_t v);
void mb_jadd_bool(struct json_object *o, const char *key, bool v);
void mb_jadd_hex(struct json_object *o, const char *key, const void *buf,
		 size_t len);
struct json_object *mb_jadd_array(struct json_object *o, const char *key);
struct json_object *mb_jadd_object(struct json_object *o, const char *key);

#endif /* MBATCHCTL_JSON_H */
