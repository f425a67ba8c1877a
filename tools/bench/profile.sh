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
NULLB_CFG=/sys/kernel/config/nullb
DEV=mbprof$$
QUEUE=prof$$
TMP=$(mktemp -d /tmp/mb_profile.XXXXXX)
loaded_nullb=0
loaded_mbatch=0

say() { echo "profile: $*"; }
die() { echo "profile: error: $*" >&2; exit 1; }

cleanup() {
	set +e
	if [ -d "$NULLB_CFG/$DEV" ]; then
		echo 0 >"$NULLB_CFG/$DEV/power"
		rmdir "$NULLB_CFG/$DEV"
	fi
	[ "$loaded_mbatch" = 1 ] && rmmod mbatch
	[ "$loaded_nullb" = 1 ] && rmmod null_blk
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

if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
	modprobe configfs 2>/dev/null || true
	mount -t configfs none /sys/kernel/config 2>/dev/null || true
fi
if [ ! -d /sys/module/null_blk ]; then
	modprobe null_blk nr_devices=0 || die "cannot load null_blk"
	loaded_nullb=1
fi
if [ ! -d /sys/module/mbatch ]; then
	modprobe libcrc32c 2>/dev/null || true
	insmod "$KO" || die "insmod $KO failed"
	loaded_mbatch=1
fi
mkdir "$NULLB_CFG/$DEV"
echo 1 >"$NULLB_CFG/$DEV/memory_backed"
echo 4096 >"$NULLB_CFG/$DEV/blocksize"
for kv in size=1024 "hw_queue_depth=$DEPTH" "${model[@]}"; do
	echo "${kv#*=}" >"$NULLB_CFG/$DEV/${kv%%=*}"
done
echo 1 >"$NULLB_CFG/$DEV/power"
for ((i = 0; i < 100; i++)); do
	[ -b "/dev/$DEV" ] && break
	if [ -r "/sys/block/$DEV/dev" ] && [ $i -gt 10 ]; then
		v=$(cat "/sys/block/$DEV/dev")
		mknod "/dev/$DEV" b "${v%%:*}" "${v##*:}" 2>/dev/null || true
	fi
	sleep 0.05
done
[ -b "/dev/$DEV" ] || die "/dev/$DEV did not appear"
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid

# profile NAME CMD...: run CMD under perf, print its RESULT and the top symbols
profile() {
	local name=$1
	shift
	perf record -q -a -g -e cpu-clock -F 2000 -o "$TMP/$name.data" -- \
		"$@" -n "$WRITES" "/dev/$DEV" >"$TMP/$name.out" 2>&1 ||
		{ cat "$TMP/$name.out" >&2; die "$name failed"; }
	# The module is not under /lib/modules: its symbols come from here.
	cp /proc/kallsyms "$TMP/kallsyms"
	echo
	echo "== $name: $(grep '^RESULT ' "$TMP/$name.out" | tail -n 1)"
	awk '/^RESULT /{ for (i = 2; i <= NF; i++) { split($i, kv, "=");
		v[kv[1]] = kv[2] } }
		END { if (v["ns"] > 0) printf "   %.0f writes/s\n", v["writes"] / (v["ns"] / 1e9) }' \
		"$TMP/$name.out"
	echo "-- by module (share of all samples, both CPUs)"
	perf report -q -i "$TMP/$name.data" --kallsyms "$TMP/kallsyms" \
		--no-children --sort dso \
		-g none --percent-limit 1 --stdio 2>/dev/null | awk 'NF && n++ < 15'
	echo "-- by symbol"
	perf report -q -i "$TMP/$name.data" --kallsyms "$TMP/kallsyms" \
		--no-children --sort dso,sym \
		-g none --percent-limit 0.3 --stdio 2>/dev/null | sed '/^$/d' |
		awk -v top="$TOP" 'n++ < top'
	# Under TCG the time with interrupts off is charged to the unlock
	# that enables them: who called the top symbols.
	echo "-- callers of the symbols above 5 %"
	perf report -q -i "$TMP/$name.data" --kallsyms "$TMP/kallsyms" \
		--no-children --sort sym --percent-limit 5 \
		-g graph,2,callee,function,percent --stdio 2>/dev/null |
		sed '/^$/d' | awk -v top="$((TOP * 3))" 'n++ < top'
}

say "kernel $(uname -r), model $MODEL, $WRITES 4 KiB random writes," \
	"a checkpoint every $EPOCH, depth $DEPTH"
# Warm the device's memory first: the first write of a block allocates
# null_blk's backing page, which the profile would charge to the client.
dd if=/dev/zero of="/dev/$DEV" bs=1M count=1024 oflag=direct status=none
profile mbatch "$BIN/mbatch_bench" -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE"
profile io_uring-drain "$BIN/uring_bench" -e "$EPOCH" -d "$DEPTH"
