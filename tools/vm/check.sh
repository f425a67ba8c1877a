#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the VM harness: boot every kernel given, collect the verdicts
# the guests wrote to ttyS1, print them as TAP and finish with one line
# "N passed, N failed" for all kernels together. Exits non-zero on any
# failure, skip, missing verdict (panic, hang) or when nothing passed.
#
#   tools/vm/check.sh KVER...                  selftests, negative control,
#                                              planted violations and the
#                                              two-node crash (crash.sh)
#   tools/vm/check.sh --exec SCRIPT KVER...    run SCRIPT (demo, bench)
#   tools/vm/check.sh --crash KVER...          the crash test alone, with
#                                              MBATCH_CRASH_CYCLES kills
set -uo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MBATCH_BUILD:-$SRC/build}
export MBATCH_BUILD=$BUILD

modes=(test control plants crash)
script=
if [ "${1:-}" = --exec ]; then
	script=$2
	modes=(exec)
	shift 2
elif [ "${1:-}" = --crash ]; then
	modes=(crash)
	shift
fi
[ $# -gt 0 ] || { echo "usage: $0 [--exec SCRIPT] KVER..." >&2; exit 2; }

# release-module, load + the four final checks around the selftests
ntests=$(make -s --no-print-directory -C "$SRC/selftests/mbatch" print-tests | wc -w)
if [ -n "${MBATCH_TESTS:-}" ]; then
	ntests=$(wc -w <<<"$MBATCH_TESTS")
	echo "# only: $MBATCH_TESTS" >&2
	# a quick loop: the planted violations and the crash only when asked
	[ -n "${MBATCH_PLANTS:-}" ] || [ "${modes[0]}" = exec ] || modes=(test control)
fi
expected() {
	case $1 in
	test) echo $((ntests + 6)) ;;
	control | plants | crash) echo 1 ;;
	exec) echo 5 ;;
	esac
}

pass=0
fail=0
skip=0
unexpected=0
num=0
times=()

# result ok|fail|skip TEXT: one TAP line, numbered across all kernels
result() {
	num=$((num + 1))
	if [ "$1" = skip ]; then
		skip=$((skip + 1))
		grep -q '# SKIP expected:' <<<"$2" || unexpected=$((unexpected + 1))
		echo "ok $num $2"
	elif [ "$1" = ok ]; then
		pass=$((pass + 1))
		echo "ok $num $2"
	else
		fail=$((fail + 1))
		echo "not ok $num $2"
	fi
}

# collect KVER MODE: print that boot's TAP lines and add them to the counts
collect() {
	local kver=$1 mode=$2 dir=$BUILD/vm/$1/$2 v np nf want
	want=$(expected "$mode")
	v=$(tr -d '\r' <"$dir/verdict" 2>/dev/null)
	if ! grep -qx '# verdict-end' <<<"$v"; then
		for ((i = 0; i < want; i++)); do
			result fail "$kver $mode - no verdict (panic, hang or crash)"
		done
		[ -f "$dir/hang" ] && sed 's/^/# /' "$dir/hang"
		echo "# last console lines ($dir/console.log):"
		tail -n 60 "$dir/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/#   /'
		return
	fi
	np=0
	nf=0
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*)
			rest=${line#ok }
			result skip "${rest#* }"
			np=$((np + 1))
			;;
		"ok "*)
			rest=${line#ok }
			result ok "${rest#* }"
			np=$((np + 1))
			;;
		"not ok "*)
			rest=${line#not ok }
			result fail "${rest#* }"
			nf=$((nf + 1))
			;;
		"# verdict-end" | "1.."*) ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$v"
	for ((i = np + nf; i < want; i++)); do
		result fail "$kver $mode - missing result ($((np + nf)) of $want)"
		nf=$((nf + 1))
	done
	[ "$nf" -gt 0 ] && echo "# logs: $dir/share/logs, console: $dir/console.log"
}

echo "TAP version 13"
if [ -n "${LINT_STATUS:-}" ]; then
	if [ "$(cat "$LINT_STATUS" 2>/dev/null)" = ok ]; then
		result ok "lint"
	else
		result fail "lint - see the output of 'make lint' above"
	fi
fi
for kver in "$@"; do
	t0=$(date +%s)
	detail=
	for mode in "${modes[@]}"; do
		echo "# booting $kver ($mode)..."
		if [ "$mode" = crash ]; then
			"$SRC/tools/vm/crash.sh" "$kver" "${MBATCH_CRASH_CYCLES:-1}" \
				2>&1 | grep -v '^ok \|^not ok \|^1\.\.\|verdict-end' |
				sed 's/^# //; s/^/# /'
		else
			"$SRC/tools/vm/run.sh" "$kver" "$mode" ${script:+"$script"} 2>&1 |
				sed 's/^/# /'
		fi
		collect "$kver" "$mode"
		detail+=" $mode $(cat "$BUILD/vm/$kver/$mode/seconds" 2>/dev/null)s"
		w=$(cat "$BUILD/vm/$kver/$mode/waited" 2>/dev/null || echo 0)
		[ "$w" -gt 0 ] && detail+=" (after waiting ${w}s for other VM runs)"
	done
	times+=("$kver: $(($(date +%s) - t0))s (${detail# })")
	echo "# $kver took $(($(date +%s) - t0)) s:$detail"
done
for t in "${times[@]}"; do
	echo "# time $t"
done
echo "1..$num"
echo "$pass passed, $fail failed, $skip skipped"
# A skip nobody expected (MBATCH_EXPECTED_SKIPS) fails the run.
[ "$unexpected" -gt 0 ] && echo "# unexpected skips: $unexpected"
[ "$fail" -eq 0 ] && [ "$unexpected" -eq 0 ] && [ "$pass" -gt 0 ]
