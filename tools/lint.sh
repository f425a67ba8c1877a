#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of mbatch ("make lint", part of "make check"). Fails on any
# finding:
#   checkpatch.pl --strict (linux-source-6.1) on kmod/, the uAPI header and
#     the negative-control module
#   sparse (C=2 CF=-D__CHECK_ENDIAN__) + W=1 builds against every kernel
#   coccinelle (the kernel's scripts/coccinelle, report mode)
#   ShellCheck over every shell script
#   the tool built with -Wall -Wextra -Werror (tools/mbatchctl/Makefile)
#   tools/spec-check.py (uAPI header vs. netlink spec) when present
#   the selftests' result checkers against synthetic bad result sets
# Run through make (it extracts the kernel scripts to build/linux-source).
# KDIRS: kernel build trees (default: as the Makefile picks them).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MBATCH_BUILD:-$SRC/build}
LSRC=$BUILD/linux-source
cd "$SRC" || exit 1
if [ -z "${KDIRS:-}" ]; then
	KDIRS=$(make -s --no-print-directory print-kernels | awk '{ print $2 }')
fi

failed=()
step() { echo "== lint: $*"; }
bad() { failed+=("$1"); echo "lint: FAILED: $1" >&2; }

shopt -s nullglob
kmod_src=(kmod/*.c kmod/*.h)
ctl_src=(selftests/control/*.c)

# --- checkpatch ----------------------------------------------------------
step checkpatch
[ -f "$LSRC/scripts/checkpatch.pl" ] ||
	{ echo "lint: $LSRC missing: run 'make lint'" >&2; exit 1; }
# Version checks are how an out-of-tree module supports two kernels; they
# are allowed in the one compat header only.
cp_args=(--strict --no-tree --quiet --show-types)
cp_files=()
for f in "${kmod_src[@]}"; do
	[ "$f" = kmod/compat.h ] || cp_files+=("$f")
done
out=$(perl "$LSRC/scripts/checkpatch.pl" "${cp_args[@]}" \
	-f "${cp_files[@]}" include/uapi/linux/mbatch.h \
	include/uapi/linux/mbatch_wire.h include/uapi/linux/mbatch_journal.h \
	"${ctl_src[@]}" 2>&1)
out+=$(perl "$LSRC/scripts/checkpatch.pl" "${cp_args[@]}" \
	--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat.h 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	bad checkpatch
fi

# --- sparse + W=1 --------------------------------------------------------
# Every line that is not kbuild's normal progress output is a finding.
kbuild_noise='^  (CC|CC \[M\]|LD|LD \[M\]|CHECK|MODPOST|BTF \[M\]|AR) |^make(\[[0-9]+\])?: (Entering|Leaving) directory|^Skipping BTF generation for .* due to unavailability of vmlinux$'
for d in $KDIRS; do
	v=$(tools/kbuild.sh kver "$d")
	for what in mbatch mbatch-faults control; do
		[ $what != control ] && [ ${#kmod_src[@]} = 0 ] && continue
		step "sparse + W=1: $what on $v"
		out=$BUILD/lint/$v
		extra=()
		case $what in
		control) out=$BUILD/lint/$v/control ;;
		mbatch-faults) out=$BUILD/lint/$v/test; extra=(CONFIG_MBATCH_FAULTS=y) ;;
		esac
		log=$(tools/kbuild.sh "${what%-faults}" "$d" "$out" -s C=2 \
			CF=-D__CHECK_ENDIAN__ W=1 "${extra[@]}" 2>&1)
		rc=$?
		noise=$(grep -Ev "$kbuild_noise" <<<"$log")
		if [ $rc != 0 ] || [ -n "$noise" ]; then
			echo "$noise"
			bad "sparse/W=1 $what $v"
		fi
	done
done

# --- coccinelle ----------------------------------------------------------
step coccinelle
cocci_dirs=()
[ ${#kmod_src[@]} -gt 0 ] && cocci_dirs+=(kmod)
cocci_dirs+=(selftests/control)
export COCCI_DIRS="${cocci_dirs[*]}"
cocci_one() {	# cocci_one FILE.cocci: findings on stdout
	local f=$1 opt dir
	opt=$(grep 'Options:' "$f" | cut -d: -f2)
	for dir in $COCCI_DIRS; do
		# shellcheck disable=SC2086 # $opt holds several options
		spatch -D report --no-show-diff --very-quiet --cocci-file "$f" \
			$opt --dir "$dir" -I include/uapi 2>/dev/null ||
			echo "lint: note: spatch could not run ${f##*/}" >&2
	done
	return 0
}
export -f cocci_one
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
out=$(find "$LSRC/scripts/coccinelle" -name '*.cocci' -print0 | sort -z |
	xargs -0 -n 1 -P "$(nproc)" bash -c 'cocci_one "$1"' cocci)
if [ -n "$out" ]; then
	echo "$out"
	bad coccinelle
fi

# --- shellcheck ----------------------------------------------------------
step shellcheck
mapfile -t scripts < <(find . \( -path ./build -o -path ./.git \) -prune -o \
	-type f -name '*.sh' -print | sort)
[ -f .ci/run ] && scripts+=(.ci/run)
[ -f tools/vm/init ] && scripts+=(tools/vm/init)
if ! shellcheck -x "${scripts[@]}"; then
	bad shellcheck
fi

# --- tools ---------------------------------------------------------------
if [ -f tools/mbatchctl/Makefile ]; then
	step "tools (-Wall -Wextra -Werror)"
	make -s -C tools/mbatchctl || bad "tools build"
	# The tool's own tests, against the plain and the ASan/UBSan build.
	step "tools: host tests (plain and ASan/UBSan)"
	make -s -C tools/mbatchctl test >"$BUILD/tool-tests.log" 2>&1 ||
		{ tail -n 30 "$BUILD/tool-tests.log"; bad "tool tests"; }
fi
if [ -f tools/spec-check.py ]; then
	step spec-check
	if ! python3 -B tools/spec-check.py ||
	   ! python3 -B tools/spec-check.py --self-test; then
		bad spec-check
	fi
fi

# --- selftests: host tests of the result checkers --------------------------
# The checkers the selftests judge results with (mb_test.h, mb_trace.h,
# mb_results.py) fed synthetic bad result sets, each of which they must
# refuse (selftests/mbatch/Makefile, target host-test).
if [ -f selftests/mbatch/host_checkers.c ]; then
	step "selftests: host tests of the result checkers"
	make -s -C selftests/mbatch host-test >"$BUILD/checker-tests.log" 2>&1 ||
		{ grep -E '^not ok|FAIL|Error|error' "$BUILD/checker-tests.log" | head -n 30
		  tail -n 5 "$BUILD/checker-tests.log"; bad "checker tests"; }
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "lint: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint: ok"
