#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the time of bench.sh's 4 KiB rows goes (not a test): a system-wide
# perf profile (software cpu-clock, the guest has no PMU under TCG) of
# mbatch_bench and of uring_bench with IOSQE_IO_DRAIN writing the same
# random 4 KiB writes with a checkpoint every 64 on a memory-backed
# null_blk device. "make profile" runs it in the VM. Prints, per client,
# the share of samples per symbol (kernel and user) and per module.
#
# Environment (all optional): PROFILE_MODEL flash (50 us completions, the
# default) or zero (software cost only), PROFILE_WRITES (default 200000),
# BENCH_EPOCH, BENCH_DEPTH, BENCH_BATCHES as in bench.sh, PROFILE_TOP
# (symbols shown per client, default 40).
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MBATCH_BUILD:-$SRC/build}
KVER=${KVER:-$(uname -r)}
KO=${MBATCH_KO:-$BUILD/$KVER/kmod/mbatch.ko}
BIN=${BENCH_BIN:-$BUILD/bench}
MODEL=${PROFILE_MODEL:-flash}
WRITES=${PROFILE_WRITES:-200000}
EPOCH=${BENCH_EPOCH:-64}
DEPTH=${BENCH_DEPTH:-64}
BATCHES=${BENCH_BATCHES:-8}
TOP=${PROFILE_TOP:-40}
DEV=mbprof$$
QUEUE=prof$$
TMP=$(mktemp -d /tmp/mb_profile.XXXXXX)

say() { echo "profile: $*"; }
die() { echo "profile: error: $*" >&2; exit 1; }
# shellcheck source=tools/bench/lib.sh
. "$SRC/tools/bench/lib.sh"

cleanup() {
	set +e
	nullb_remove "$DEV" || say "warning: cannot remove null_blk $DEV"
	bench_unload
	rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "must run as root"
command -v perf >/dev/null || die "perf is not installed (linux-perf)"
for c in mbatch_bench uring_bench; do
	[ -x "$BIN/$c" ] || die "$BIN/$c not built (make -C tools/bench)"
done
case $MODEL in
flash) model=(irqmode=2 completion_nsec=50000) ;;
zero) model=(irqmode=0) ;;
*) die "PROFILE_MODEL is flash or zero, not $MODEL" ;;
esac

bench_load "$KO"
nullb_new "$DEV" size=1024 "hw_queue_depth=$DEPTH" "${model[@]}"
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid

# profile NAME CMD...: run CMD under perf, print its RESULT and the top symbols
profile() {
	local name=$1
	shift
	perf record -q -a -g -e cpu-clock -F 2000 -o "$TMP/$name.data" -- \
		"$@" -n "$WRITES" "/dev/$DEV" >"$TMP/$name.out" 2>&1 ||
		{ cat "$TMP/$name.out" >&2; die "$name failed"; }
	echo
	echo "== $name: $(grep '^RESULT ' "$TMP/$name.out" | tail -n 1)"
	awk '/^RESULT /{ for (i = 2; i <= NF; i++) { split($i, kv, "=");
		v[kv[1]] = kv[2] } }
		END { if (v["ns"] > 0) printf "   %.0f writes/s\n", v["writes"] / (v["ns"] / 1e9) }' \
		"$TMP/$name.out"
	perf_top "$TMP/$name.data" "$TOP"
}

say "kernel $(uname -r), model $MODEL, $WRITES 4 KiB random writes," \
	"a checkpoint every $EPOCH, depth $DEPTH"
# Warm the device's memory first: the first write of a block allocates
# null_blk's backing page, which the profile would charge to the client.
dd if=/dev/zero of="/dev/$DEV" bs=1M count=1024 oflag=direct status=none
profile mbatch "$BIN/mbatch_bench" -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE"
profile io_uring-drain "$BIN/uring_bench" -e "$EPOCH" -d "$DEPTH"
