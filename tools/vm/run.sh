#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one kernel under qemu TCG and run the guest runner in one mode.
#
#   tools/vm/run.sh KVER test|control|plants|exec [SCRIPT]
#
# Results go to $MBATCH_BUILD/vm/KVER/MODE/: console.log (ttyS0), verdict
# (ttyS1, written by the guest only at the very end), share/ (the guest's
# writable 9p share: job file, per-test logs and dmesg excerpts).
# Environment: MBATCH_BUILD (default: build/ in the repo), TEST_TIMEOUT (per
# test, default from selftests/mbatch/settings), VM_TIMEOUT (whole boot),
# VM_MEM (default 2G), VM_APPEND (extra kernel command line), MBATCH_TESTS
# (run only these selftests: a quick loop, never what CI does). For the
# two-node crash test (crash.sh): VM_OUT (results directory instead of
# MODE's), VM_SMP (default 2), VM_NET (a qemu -netdev spec: the guest gets
# a virtio NIC on it, MAC VM_MAC), VM_DISK (a raw image: the guest's
# virtio disk), VM_JOB (more lines for the job file).
# One VM at a time per machine (the host has 2 cores and the guests use 2:
# oversubscription gives false RCU stall reports): runs wait on VM_LOCK.
set -euo pipefail

kver=$1
mode=$2
script=${3:-}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MBATCH_BUILD:-$SRC/build}
HERE=$SRC/tools/vm
out=${VM_OUT:-$BUILD/vm/$kver/$mode}
initrd=$BUILD/vm/$kver/initramfs.cpio
kernel=/boot/vmlinuz-$kver

[ -r "$kernel" ] || { echo "vm: no kernel image $kernel" >&2; exit 1; }

settings_timeout() {
	sed -n 's/^timeout=\([0-9]*\)$/\1/p' "$SRC/selftests/mbatch/settings" \
		2>/dev/null | head -n 1 || true
}
TEST_TIMEOUT=${TEST_TIMEOUT:-$(settings_timeout)}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}

case $mode in
test) VM_TIMEOUT=${VM_TIMEOUT:-1500} ;;
control) VM_TIMEOUT=${VM_TIMEOUT:-300} ;;
plants) VM_TIMEOUT=${VM_TIMEOUT:-1200}; TEST_TIMEOUT=${PLANT_TIMEOUT:-60} ;;
exec) VM_TIMEOUT=${VM_TIMEOUT:-1800}; TEST_TIMEOUT=$((VM_TIMEOUT - 120)) ;;
*) echo "vm: unknown mode $mode" >&2; exit 2 ;;
esac

# (Re)build the initramfs when missing or older than its inputs.
if [ ! -s "$initrd" ] || [ "$HERE/init" -nt "$initrd" ] ||
   [ "$HERE/mkinitramfs.sh" -nt "$initrd" ]; then
	mkdir -p "$(dirname "$initrd")"
	"$HERE/mkinitramfs.sh" "$kver" "$initrd" >/dev/null
fi

lock=${VM_LOCK:-/run/lock/mbatch-vm.lock}
[ -d "$(dirname "$lock")" ] || lock=/tmp/mbatch-vm.lock
exec 9>>"$lock"
wait0=$(date +%s)
if ! flock -n 9; then
	echo "vm: $kver $mode: waiting for another VM run to end ($lock)" >&2
	flock -w "${VM_LOCK_WAIT:-3600}" 9 ||
		{ echo "vm: gave up waiting for $lock" >&2; exit 1; }
fi

waited=$(($(date +%s) - wait0))
rm -rf "$out"
mkdir -p "$out/share"
echo "$waited" >"$out/waited"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "KVER=$(q "$kver")"
	echo "MODE=$(q "$mode")"
	echo "RUNNER=$(q "$HERE/guest-run.sh")"
	echo "MBATCH_SRC=$(q "$SRC")"
	echo "MBATCH_BUILD=$(q "$BUILD")"
	echo "TEST_TIMEOUT=$(q "$TEST_TIMEOUT")"
	echo "EXEC=$(q "$script")"
	echo "MBATCH_TESTS=$(q "${MBATCH_TESTS:-}")"
	# The control plants WARNs: they must be reported, not panic the guest.
	[ "$mode" = control ] || [ "$mode" = plants ] && echo "PANIC_ON_WARN=0"
	echo "MBATCH_EXPECTED_SKIPS=$(q "${MBATCH_EXPECTED_SKIPS:-}")"
	[ -z "${VM_JOB:-}" ] || echo "$VM_JOB"
} >"$out/share/job"
: >"$out/verdict"

append="console=ttyS0,115200 panic=-1 oops=panic softlockup_panic=1"
append+=" hung_task_panic=1 slub_debug=FZPU slab_nomerge init_on_free=1"
append+=" page_poison=1 preempt=full workqueue.debug_force_rr_cpu=1"
append+=" mbatch.dyndbg=+p log_buf_len=16M printk.devkmsg=on"
[ "$mode" = control ] || [ "$mode" = plants ] || append+=" panic_on_warn=1"
case $kver in
6.1.*) ;;
*) append+=" kfence.sample_interval=1" ;;
esac
append+=" ${VM_APPEND:-}"

tail_pid=
if [ "$mode" = exec ]; then
	: >"$out/share/exec.log"
	tail -n +1 -F "$out/share/exec.log" 2>/dev/null &
	tail_pid=$!
fi

extra=()
if [ -n "${VM_NET:-}" ]; then
	extra+=(-netdev "$VM_NET,id=net0"
		-device "virtio-net-pci,netdev=net0,mac=${VM_MAC:-52:54:00:00:00:01}")
fi
if [ -n "${VM_DISK:-}" ]; then
	# shellcheck disable=SC2054 # qemu option values, one element each
	extra+=(-drive "file=$VM_DISK,if=none,id=disk0,format=raw"
		-device virtio-blk-pci,drive=disk0)
fi

start=$(date +%s)
rc=0
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
	-machine "${VM_MACHINE:-q35}" -accel tcg -cpu max -smp "${VM_SMP:-2}" \
	-m "${VM_MEM:-2G}" "${extra[@]}" \
	-nodefaults -display none -monitor none -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-serial "file:$out/console.log" -serial "file:$out/verdict" \
	-fsdev local,id=hostroot,path=/,readonly=on,multidevs=remap,security_model=none \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev "local,id=results,path=$out/share,multidevs=remap,security_model=none" \
	-device virtio-9p-pci,fsdev=results,mount_tag=results \
	</dev/null >"$out/qemu.log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
echo "$secs" >"$out/seconds"
if [ $rc = 124 ] || [ $rc = 137 ]; then
	echo "vm: $kver $mode: TIMEOUT after ${VM_TIMEOUT}s (hang)" >"$out/hang"
fi
echo "vm: $kver $mode: qemu exit $rc after ${secs}s" >&2
exit 0
