/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h (6.1) with the two -Wextra diagnostics its own macros
 * raise in every caller silenced: EXPECT_EQ(0, some_u32) compares mixed
 * signedness by design, and OPTIONAL_HANDLER's trailing for-loop trips
 * -Wmisleading-indentation. Everything else stays -Wall -Wextra -Werror.
 */
#ifndef MB_HARNESS_H
#define MB_HARNESS_H

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#include "kselftest_harness.h"

#endif /* MB_HARNESS_H */
