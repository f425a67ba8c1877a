#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the mbatch shell selftests: kselftest exit codes,
# unique names, null_blk devices through configfs, network namespaces and
# cleanup traps. Source it; it defines functions and variables only.

# shellcheck disable=SC2034  # the codes are used by the sourcing tests
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

MB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MBATCH_SRC=${MBATCH_SRC:-$(cd "$MB_DIR/../.." && pwd)}
MBATCHCTL=${MBATCHCTL:-$MBATCH_SRC/tools/mbatchctl/mbatchctl}
MBATCH_KO=${MBATCH_KO:-$MBATCH_SRC/kmod/mbatch.ko}
NULLB_CFG=/sys/kernel/config/nullb

MB_CLEANUP=()
MB_FAILS=0
MB_TEST=$(basename "$0" .sh)

log() { echo "# $MB_TEST: $*"; }
fail() { echo "# $MB_TEST: FAIL: $*"; MB_FAILS=$((MB_FAILS + 1)); }
die() { echo "# $MB_TEST: FAIL: $*"; exit "$KSFT_FAIL"; }
skip() { echo "# $MB_TEST: SKIP: $*"; exit "$KSFT_SKIP"; }

# Run the registered cleanups in reverse order; installed as the EXIT trap.
mb_cleanup() {
	local i
	for ((i = ${#MB_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${MB_CLEANUP[$i]}" >/dev/null 2>&1 || true
	done
	MB_CLEANUP=()
}
on_exit() { MB_CLEANUP+=("$*"); }
trap mb_cleanup EXIT

# Final verdict of a test that uses fail() for soft failures.
mb_exit() {
	if [ "$MB_FAILS" -ne 0 ]; then
		echo "# $MB_TEST: $MB_FAILS failure(s)"
		exit "$KSFT_FAIL"
	fi
	echo "# $MB_TEST: ok"
	exit "$KSFT_PASS"
}

# Unique name: PREFIX + pid + counter (+ random), short enough for a queue
# name (31 bytes) and an interface/netns name.
MB_UNIQ=0
uniq_name() {
	MB_UNIQ=$((MB_UNIQ + 1))
	echo "${1:-mb}$$_${MB_UNIQ}_$RANDOM"
}

# --- network namespaces -------------------------------------------------
netns_new() {
	local ns
	ns=$(uniq_name "${1:-mbns}")
	/sbin/ip netns add "$ns" || ip netns add "$ns" || return 1
	on_exit "netns_del $ns"
	echo "$ns"
}
netns_del() {
	/sbin/ip netns del "$1" 2>/dev/null || ip netns del "$1" 2>/dev/null
}

# --- module ---------------------------------------------------------------
mb_loaded() { [ -d /sys/module/mbatch ]; }
# mb_insmod: load mbatch from $MBATCH_KO. insmod does not resolve
# dependencies: the CRC32C library (link digests) is loaded first.
mb_insmod() {
	modprobe libcrc32c 2>/dev/null || true
	insmod "$MBATCH_KO"
}
mb_reload() {
	mb_loaded && return 0
	mb_insmod
}

# --- null_blk -------------------------------------------------------------
nullb_setup() {
	if [ ! -d /sys/kernel/config ]; then
		return 1
	fi
	if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
		mount -t configfs none /sys/kernel/config 2>/dev/null || true
	fi
	if [ ! -d "$NULLB_CFG" ]; then
		modprobe null_blk nr_devices=0 >/dev/null 2>&1 ||
			modprobe null_blk >/dev/null 2>&1 || true
	fi
	[ -d "$NULLB_CFG" ]
}

# nullb_create NAME [key=value ...]: create a configfs null_blk named NAME,
# print /dev/NAME. Defaults: 64 MiB, 512-byte blocks, memory backed, timer
# completions of 50 us (so that commands really overlap and reorder).
# Keys: any configfs attribute (size blocksize memory_backed irqmode
# completion_nsec discard cache_size hw_queue_depth ...) and badblocks=A-B
# (sectors, may repeat).
nullb_create() {
	local name=$1 d kv k v bb=() i
	shift
	nullb_setup || { echo "nullb: no configfs null_blk" >&2; return 1; }
	d=$NULLB_CFG/$name
	mkdir "$d" || return 1
	declare -A opt=([size]=64 [blocksize]=512 [memory_backed]=1
			[irqmode]=2 [completion_nsec]=50000)
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		if [ "$k" = badblocks ]; then
			bb+=("$v")
		else
			opt[$k]=$v
		fi
	done
	# memory_backed and blocksize first: others may depend on them
	for k in memory_backed blocksize; do
		echo "${opt[$k]}" >"$d/$k" || { nullb_remove "$name"; return 1; }
		unset "opt[$k]"
	done
	for k in "${!opt[@]}"; do
		if [ ! -e "$d/$k" ]; then
			echo "nullb: no attribute $k" >&2
			nullb_remove "$name"
			return 1
		fi
		echo "${opt[$k]}" >"$d/$k" || { nullb_remove "$name"; return 1; }
	done
	echo 1 >"$d/power" || { nullb_remove "$name"; return 1; }
	for v in "${bb[@]}"; do
		echo "+$v" >"$d/badblocks" || { nullb_remove "$name"; return 1; }
	done
	for ((i = 0; i < 100; i++)); do
		[ -b "/dev/$name" ] && break
		if [ -r "/sys/block/$name/dev" ] && [ $i -gt 10 ]; then
			v=$(cat "/sys/block/$name/dev")
			mknod "/dev/$name" b "${v%%:*}" "${v##*:}" 2>/dev/null
		fi
		sleep 0.05
	done
	[ -b "/dev/$name" ] || { nullb_remove "$name"; return 1; }
	echo "/dev/$name"
}

# nullb_badblocks NAME +A-B | -A-B
nullb_badblocks() { echo "$2" >"$NULLB_CFG/$1/badblocks"; }

# nullb_free NAME: true when nobody holds the device exclusively.
nullb_free() {
	python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))' \
		"/dev/$1" 2>/dev/null
}

# nullb_remove NAME: power off and remove; fails if it cannot be removed.
nullb_remove() {
	local d=$NULLB_CFG/$1
	[ -d "$d" ] || return 0
	if [ "$(cat "$d/power" 2>/dev/null)" = 1 ]; then
		echo 0 >"$d/power" || return 1
	fi
	rmdir "$d" || return 1
	# without udev the node we made stays behind
	[ -b "/dev/$1" ] && [ ! -e "/sys/block/$1" ] && rm -f "/dev/$1"
	return 0
}

# Field N (1-based) of /sys/block/NAME/stat; 16 = flush requests completed
# (12-15 are the discard fields, Documentation/block/stat.rst).
blk_stat() { awk -v f="$2" '{print $f}' "/sys/block/$1/stat"; }
