#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The two-node crash test (issue 9): a participant node really killed.
#
#   tools/vm/crash.sh KVER [CYCLES]
#
# Two VMs of kernel KVER, one core each, joined by a qemu socket netdev
# (UDP on the loopback address, so either side may be restarted): nodea
# streams order-dependent writes, reads and checkpoints into queue "q" of
# nodeb (mb_crash, see selftests/mbatch/mb_crash.c), whose device is a raw
# disk file on this host with the queue's journal at its end. While it
# streams, nodeb's qemu is killed with SIGKILL (CYCLES times, default 1, at
# random points) and booted again on the same disk file; its queue is added
# again over the journal and restores the session; nodea, still running,
# carries on. mb_crash judges the outcome from the results; both guests'
# final checks (module unload, slab caches) must pass too. The verdict goes
# to $MBATCH_BUILD/vm/KVER/crash/verdict as one TAP line, like the other
# modes' (tools/vm/check.sh collects it).
set -uo pipefail

kver=$1
cycles=${2:-1}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MBATCH_BUILD:-$SRC/build}
export MBATCH_BUILD=$BUILD
out=$BUILD/vm/$kver/crash
HERE=$SRC/tools/vm

lock=${VM_LOCK:-/run/lock/mbatch-vm.lock}
[ -d "$(dirname "$lock")" ] || lock=/tmp/mbatch-vm.lock
exec 9>>"$lock"
flock -w "${VM_LOCK_WAIT:-3600}" 9 || { echo "crash: gave up waiting for $lock" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
disk=$out/disk.img
truncate -s 64M "$disk"
pa=$((20000 + RANDOM % 20000))
pb=$((pa + 1))
epochs=$((30 + 10 * cycles))
[ "$epochs" -le 200 ] || epochs=200

# boot NAME ROLE MAC MYPORT PEERPORT [JOB...]: one VM in the background
boot() {
	local name=$1 role=$2 mac=$3 me=$4 peer=$5
	shift 5
	local vdisk=
	[ "$role" = participant ] && vdisk=$disk
	VM_OUT=$out/$name VM_SMP=1 VM_MEM=1G VM_LOCK=$out/lock.$name \
		VM_TIMEOUT=900 VM_MAC=$mac VM_DISK=$vdisk \
		VM_NET="socket,udp=127.0.0.1:$peer,localaddr=127.0.0.1:$me" \
		VM_JOB="$(printf '%s\n' "CRASH_ROLE=$role" "$@")" \
		"$HERE/run.sh" "$kver" exec tools/vm/crash-guest.sh \
		>"$out/$name.log" 2>&1 &
	last_pid=$!
}

# wait_file FILE SECONDS
wait_file() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# qemu_of NAME: the pid of that VM's qemu
qemu_of() {
	local p
	for p in $(pgrep -x qemu-system-x86); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
			grep -qF "path=$out/$1/share," && { echo "$p"; return; }
	done
}

progress() {
	local p
	p=$(cat "$out/a/share/progress" 2>/dev/null)
	echo "${p:-0}"
}

why=
boot a initiator 52:54:00:00:0a:01 "$pa" "$pb" "CRASH_EPOCHS=$epochs"
apid=$last_pid
boot b1 participant 52:54:00:00:0b:01 "$pb" "$pa" CRASH_BOOT=1
lastb=b1
wait_file "$out/b1/share/ready" 300 || why="nodeb did not come up"
restored=()
for ((c = 1; c <= cycles && !${#why}; c++)); do
	# Past a random epoch of this cycle's share of the stream.
	goal=$((c * epochs / (cycles + 1) - 5 + RANDOM % 10))
	for ((i = 0; i < 3000; i++)); do
		[ "$(progress)" -ge "$goal" ] && break
		sleep 0.2
	done
	sleep "0.$((RANDOM % 3))"
	pid=$(qemu_of "b$c")
	[ -n "$pid" ] || { why="no qemu of nodeb (boot $c)"; break; }
	echo "# crash: SIGKILL nodeb (boot $c) at epoch $(progress) of $epochs"
	kill -9 "$pid"
	wait "$last_pid" 2>/dev/null
	boot "b$((c + 1))" participant 52:54:00:00:0b:01 "$pb" "$pa" \
		"CRASH_BOOT=$((c + 1))"
	lastb=b$((c + 1))
	wait_file "$out/b$((c + 1))/share/ready" 300 ||
		{ why="nodeb did not come back (boot $((c + 1)))"; break; }
	restored+=("$(cat "$out/b$((c + 1))/share/restore.log" 2>/dev/null)")
done
bpid=$last_pid
# nodea finishes (or fails) on its own; then nodeb's last boot may end.
wait "$apid"
touch "$out/$lastb/share/done"
wait "$bpid"

a=$(tr -d '\r' <"$out/a/verdict" 2>/dev/null)
bv=$(tr -d '\r' <"$out/$lastb/verdict" 2>/dev/null)
res=$(grep -m1 '^mb_crash:' "$out/a/share/crash.out" 2>/dev/null)
if [ -z "$why" ]; then
	if ! grep -q '^# .* exec: [0-9]* passed, 0 failed' <<<"$a"; then
		why="nodea: $(grep '^not ok' <<<"$a" | head -n 3 | tr '\n' ' ')"
		why+=" $(grep -v '^mb_crash: [0-9]' "$out/a/share/crash.out" 2>/dev/null | head -n 5 | tr '\n' ' ')"
	elif ! grep -q '^# .* exec: [0-9]* passed, 0 failed' <<<"$bv"; then
		why="nodeb's last boot: $(grep '^not ok' <<<"$bv" | head -n 3 | tr '\n' ' ')"
	else
		for r in "${restored[@]}"; do
			grep -q '1 sessions restored' <<<"$r" ||
				why="nodeb did not restore the session: ${r:-nothing logged}"
		done
	fi
fi
secs=$(($(date +%s) - start))
echo "$secs" >"$out/seconds"
echo 0 >"$out/waited"
{
	if [ -z "$why" ]; then
		echo "ok 1 $kver crash - $cycles kill(s) of the participant: ${res#mb_crash: }"
	else
		echo "not ok 1 $kver crash - $why"
	fi
	echo "1..1"
	echo "# verdict-end"
} >"$out/verdict"
cat "$out/verdict"
[ -z "$why" ]
