#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runner of mbatchctl's host tests ("make test"). Each argument is one test
# command line (environment assignments allowed), run with bash -c; each
# prints TAP. The runner shows their output and ends with one line
#   host tests: N passed, N failed, N skipped
# It fails when a test failed, a command exited non-zero, or a test was
# skipped ("ok N - ... # SKIP reason") without being expected: set
# MBATCH_EXPECTED_SKIPS to words (case-insensitive, space separated) of
# the skips a machine cannot avoid, e.g. MBATCH_EXPECTED_SKIPS="ipv6". A
# test that checked the machine forces its skip says "# SKIP expected:".
set -u

pass=0
fail=0
skip=0
bad_skips=()
bad_cmds=()
read -ra expected <<<"${MBATCH_EXPECTED_SKIPS:-}"

# expected_skip LINE: true when one of the expected words is in LINE
expected_skip() {
	local w
	for w in "${expected[@]}"; do
		[[ ${1,,} == *"${w,,}"* ]] && return 0
	done
	return 1
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for cmd in "$@"; do
	echo "# $cmd"
	bash -c "$cmd" >"$out" 2>&1
	rc=$?
	cat "$out"
	[ "$rc" -eq 0 ] || bad_cmds+=("$cmd (exit $rc)")
	while IFS= read -r line; do
		case $line in
		"not ok "*)
			fail=$((fail + 1))
			;;
		"ok "*" # SKIP expected:"*)
			# a skip the test itself proved the machine forces
			skip=$((skip + 1))
			;;
		"ok "*" # SKIP"* | "ok "*" # skip"*)
			skip=$((skip + 1))
			expected_skip "$line" || bad_skips+=("$line")
			;;
		"ok "*)
			pass=$((pass + 1))
			;;
		esac
	done <"$out"
done

for c in "${bad_cmds[@]}"; do
	echo "# FAILED: $c"
done
for l in "${bad_skips[@]}"; do
	echo "# unexpected skip (MBATCH_EXPECTED_SKIPS): $l"
done
echo "host tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ ${#bad_cmds[@]} -eq 0 ] && [ ${#bad_skips[@]} -eq 0 ]
