/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h (6.1) with the two -Wextra diagnostics its own macros
 * raise in every caller silenced: EXPECT_EQ(0, some_u32) compares mixed
 * signedness by design, and OPTIONAL_HANDLER's trailing for-loop trips
 * -Wmisleading-indentation. Everything else stays -Wall -Wextra -Werror.
 *
 * 6.1's harness has no test filter (its -t/-f options came later), so
 * TEST_HARNESS_MAIN is redefined here to take one from the environment:
 * MB_TEST_ONLY="fixture.test ..." (space or comma separated) keeps only
 * the named tests, every variant of each; a name that matches nothing
 * leaves nothing to run, which the runner that set it must notice. The
 * planted-violation runs (tools/vm/guest-run.sh) use it to run only the
 * cases that catch each plant.
 */
#ifndef MB_HARNESS_H
#define MB_HARNESS_H

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#include "kselftest_harness.h"

#include <stdlib.h>
#include <string.h>

/* Is "fixture.test" a word of the list? */
static inline int mb_harness_listed(const char *list, const char *fixture,
				    const char *test)
{
	size_t fl = strlen(fixture), tl = strlen(test);
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ,");

		if (n == fl + 1 + tl && !strncmp(p, fixture, fl) &&
		    p[fl] == '.' && !strncmp(p + fl + 1, test, tl))
			return 1;
		p += n;
		p += strspn(p, " ,");
	}
	return 0;
}

/* Relink each fixture's tests (a list whose head's prev is its tail). */
static inline void mb_harness_filter(const char *only)
{
	struct __test_metadata *t, *next, *head, *tail;
	struct __fixture_metadata *f;

	if (!only || !*only)
		return;
	for (f = __fixture_list; f; f = f->next) {
		head = NULL;
		tail = NULL;
		for (t = f->tests; t; t = next) {
			next = t->next;
			if (!mb_harness_listed(only, f->name, t->name))
				continue;
			t->next = NULL;
			if (!head)
				head = t;
			else
				tail->next = t;
			t->prev = tail ? tail : t;
			tail = t;
			head->prev = t;
		}
		f->tests = head;
	}
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	int main(int argc, char **argv) \
	{ \
		mb_harness_filter(getenv("MB_TEST_ONLY")); \
		return test_harness_run(argc, argv); \
	}

#endif /* MB_HARNESS_H */
