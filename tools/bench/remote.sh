#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mbatch remote-session benchmark (not a test), run by bench.sh after the
# local tables: what batching buys once a network round trip separates the
# initiator from the device. Two nodes (network namespaces a and b, each
# with its "mbatchctl serve" daemon) joined by a veth pair with netem delay
# on both ends; b's queue sits on a memory-backed null_blk device with a
# 50 us completion time (bench.sh's "flash" model). For each delay,
# mbatch_bench on a writes the benchmark's 4 KiB random writes to q0@nodeb:
#
#   batched      -e 64 writes and one checkpoint per SUBMIT, -b 8 batches
#                outstanding, results collected in bulk (as bench.sh's
#                mbatch row)
#   round-trip   -1: one command per SUBMIT, each result collected before
#                the next command is sent (the checkpoint every 64 writes
#                too): one network round trip per command
#
# and prints writes/s of both and their ratio, one row per delay. See
# Documentation/bench.rst. It fails only when a run fails or the device did
# not write what was asked.
#
# Environment (all optional):
#   BENCH_REMOTE_DELAYS   one-way netem delays in ms (default "0 1 5")
#   BENCH_REMOTE_SECONDS  target seconds per run (default 4)
#   BENCH_EPOCH, BENCH_DEPTH, BENCH_BATCHES, BENCH_BIN  as in bench.sh
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MBATCH_BUILD:-$SRC/build}
KVER=${KVER:-$(uname -r)}
KO=${MBATCH_KO:-$BUILD/$KVER/kmod/mbatch.ko}
MBATCHCTL=${MBATCHCTL:-$SRC/tools/mbatchctl/mbatchctl}
BIN=${BENCH_BIN:-$BUILD/bench}
DELAYS=${BENCH_REMOTE_DELAYS:-0 1 5}
TARGET=${BENCH_REMOTE_SECONDS:-4}
EPOCH=${BENCH_EPOCH:-64}
DEPTH=${BENCH_DEPTH:-64}
BATCHES=${BENCH_BATCHES:-8}
NULLB_CFG=/sys/kernel/config/nullb
DEV=mbrbench$$
NSA=mbrbencha$$
NSB=mbrbenchb$$
PORT=7701
TMP=$(mktemp -d /tmp/mb_remote_bench.XXXXXX)

loaded_nullb=0
loaded_mbatch=0
made_dev=0
FAILED=0
declare -A DPID=()

say() { echo "bench-remote: $*"; }
die() { echo "bench-remote: error: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

[ "$(id -u)" = 0 ] || die "must run as root"

cleanup() {
	set +e
	local n
	for n in "${!DPID[@]}"; do
		kill "${DPID[$n]}" 2>/dev/null
		wait "${DPID[$n]}" 2>/dev/null
	done
	if [ -d /sys/module/mbatch ]; then
		nsx "$NSA" "$MBATCHCTL" peer del nodeb >/dev/null 2>&1
		nsx "$NSB" "$MBATCHCTL" peer del nodea >/dev/null 2>&1
		nsx "$NSB" "$MBATCHCTL" queue del q0 >/dev/null 2>&1
	fi
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	if [ "$made_dev" = 1 ]; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			echo 0 >"$NULLB_CFG/$DEV/power" 2>/dev/null
			rmdir "$NULLB_CFG/$DEV" 2>/dev/null && break
			sleep 0.5
		done
		[ -d "$NULLB_CFG/$DEV" ] && say "warning: cannot remove null_blk $DEV"
		[ -b "/dev/$DEV" ] && [ ! -e "/sys/block/$DEV" ] && rm -f "/dev/$DEV"
	fi
	[ "$loaded_mbatch" = 1 ] && { rmmod mbatch || say "warning: rmmod mbatch failed"; }
	[ "$loaded_nullb" = 1 ] && { rmmod null_blk || say "warning: rmmod null_blk failed"; }
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$BIN/mbatch_bench" ] || die "$BIN/mbatch_bench not built (make -C tools/bench)"
[ -x "$MBATCHCTL" ] || die "$MBATCHCTL not built"

# --- modules -----------------------------------------------------------------
if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
	modprobe configfs 2>/dev/null || true
	mount -t configfs none /sys/kernel/config 2>/dev/null || true
fi
if [ ! -d /sys/module/null_blk ]; then
	modprobe null_blk nr_devices=0 || die "cannot load null_blk"
	loaded_nullb=1
fi
if [ ! -d /sys/module/mbatch ]; then
	modprobe libcrc32c 2>/dev/null || true	# insmod loads no dependencies
	insmod "$KO" || die "insmod $KO failed"
	loaded_mbatch=1
fi
modprobe veth 2>/dev/null || true
modprobe sch_netem 2>/dev/null || true
if ! "$MBATCHCTL" --json version | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["features_mask"] & 2 else 1)  # MBATCH_FEAT_REMOTE'; then
	say "skipped: this mbatch has no remote sessions"
	exit 0
fi

# --- device, nodes, link -----------------------------------------------------
mkdir "$NULLB_CFG/$DEV" || die "mkdir $NULLB_CFG/$DEV"
made_dev=1
echo 1 >"$NULLB_CFG/$DEV/memory_backed"
echo 4096 >"$NULLB_CFG/$DEV/blocksize"
for kv in size=256 "hw_queue_depth=$DEPTH" irqmode=2 completion_nsec=50000; do
	echo "${kv#*=}" >"$NULLB_CFG/$DEV/${kv%%=*}" || die "null_blk: cannot set $kv"
done
echo 1 >"$NULLB_CFG/$DEV/power" || die "null_blk: cannot power on $DEV"
for ((i = 0; i < 100; i++)); do
	[ -b "/dev/$DEV" ] && break
	if [ -r "/sys/block/$DEV/dev" ] && [ $i -gt 10 ]; then
		v=$(cat "/sys/block/$DEV/dev")
		mknod "/dev/$DEV" b "${v%%:*}" "${v##*:}" 2>/dev/null || true
	fi
	sleep 0.05
done
[ -b "/dev/$DEV" ] || die "/dev/$DEV did not appear"

ip netns add "$NSA" || die "ip netns add $NSA"
ip netns add "$NSB" || die "ip netns add $NSB"
ip link add tob netns "$NSA" type veth peer name toa netns "$NSB" ||
	die "veth between the nodes"
nsx "$NSA" ip link set lo up
nsx "$NSB" ip link set lo up
nsx "$NSA" ip addr add 10.78.0.1/24 dev tob
nsx "$NSB" ip addr add 10.78.0.2/24 dev toa
nsx "$NSA" ip link set tob up
nsx "$NSB" ip link set toa up
nsx "$NSB" "$MBATCHCTL" queue add q0 dev "/dev/$DEV" depth "$DEPTH" ||
	die "queue add on node b"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
nsx "$NSA" "$MBATCHCTL" peer add nodeb 10.78.0.2:$PORT --psk-file "$TMP/key" >/dev/null ||
	die "peer add nodeb on node a"
nsx "$NSB" "$MBATCHCTL" peer add nodea --psk-file "$TMP/key" >/dev/null ||
	die "peer add nodea on node b"
for n in a b; do
	ns=$NSA
	[ $n = b ] && ns=$NSB
	ip netns exec "$ns" "$MBATCHCTL" serve --name "node$n" \
		--listen "0.0.0.0:$PORT" >"$TMP/serve.$n.log" 2>&1 &
	DPID[$n]=$!
done

peer_json() { nsx "$NSA" "$MBATCHCTL" --json peer show nodeb; }
for ((i = 0; i < 300; i++)); do
	peer_json 2>/dev/null | grep -Eq '"state": ?"up"' && break
	sleep 0.1
done
if ! peer_json 2>/dev/null | grep -Eq '"state": ?"up"'; then
	sed 's/^/bench-remote:   /' "$TMP"/serve.*.log >&2
	die "no link between the nodes after 30 s"
fi

# --- runs ----------------------------------------------------------------------
wsect() { awk '{ print $7 }' "/sys/block/$DEV/stat"; }

# run NAME COUNT: sets R_NS and R_WRITES, checks the device wrote COUNT blocks
run() {
	local name=$1 count=$2 out s0 line
	local -a cmd=(nsx "$NSA" "$BIN/mbatch_bench" -P nodeb -Q q0 -e "$EPOCH"
		      -d "$DEPTH" -b "$BATCHES")
	[ "$name" = round-trip ] && cmd+=(-1)
	s0=$(wsect)
	if ! out=$("${cmd[@]}" -n "$count" "/dev/$DEV" 2>&1); then
		awk '{ print "bench-remote:   " $0 }' <<<"$out" >&2
		die "$name failed"
	fi
	line=$(grep '^RESULT ' <<<"$out" | tail -n 1)
	[ -n "$line" ] || die "$name printed no result: $out"
	R_NS=$(sed -n 's/.* ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_WRITES=$(sed -n 's/.* writes=\([0-9]*\).*/\1/p' <<<"$line")
	if [ "$R_WRITES" != "$count" ] || [ $(($(wsect) - s0)) != $((count * 8)) ]; then
		say "ERROR: $name: $R_WRITES writes reported, $(($(wsect) - s0)) sectors" \
			"written, $count writes asked"
		FAILED=1
	fi
}

# measure NAME PROBE: a probe run grown until it lasts 0.5 s, then one run
# of about $TARGET seconds; sets RATE (writes/s) and N
measure() {
	local name=$1 n=$2
	while :; do
		run "$name" "$n"
		[ "$R_NS" -ge 500000000 ] || [ "$n" -ge 1000000 ] && break
		n=$((n * 4))
	done
	N=$(awk -v w="$R_WRITES" -v ns="$R_NS" -v t="$TARGET" -v e="$EPOCH" 'BEGIN {
		n = int(w / (ns / 1e9) * t / e) * e; if (n < e) n = e; print n }')
	run "$name" "$N"
	RATE=$(awk -v w="$R_WRITES" -v ns="$R_NS" 'BEGIN { printf "%.1f", w / (ns / 1e9) }')
}

say "kernel $(uname -r); /dev/$DEV (256 MiB, 4 KiB blocks, 50 us completions)" \
	"bound to q0 on node b; node a writes through q0@nodeb"
rows=()
for d in $DELAYS; do
	for ifn in "$NSA tob" "$NSB toa"; do
		read -r ns dev <<<"$ifn"
		nsx "$ns" tc qdisc replace dev "$dev" root netem delay "${d}ms" ||
			die "tc netem delay ${d}ms on $dev"
	done
	sleep 2		# two keepalives: the round trip the kernel measures
	rtt=$(peer_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0].get("rtt_us", "?"))')
	say "delay ${d} ms each way (peer rtt ${rtt} us): batched"
	measure batched $((EPOCH * 16))
	b_rate=$RATE b_n=$N
	say "delay ${d} ms each way: round-trip"
	measure round-trip $((EPOCH * 2))
	rows+=("$(awk -v d="$d" -v rtt="$rtt" -v bn="$b_n" -v br="$b_rate" \
		-v rn="$N" -v rr="$RATE" 'BEGIN {
		printf "%8s %8s %10d %10.0f %10d %10.0f %8.1fx", d, rtt, bn, br,
			rn, rr, br / rr }')")
done

echo
echo "== remote sessions: node a -> q0@nodeb over veth + netem, $(uname -r)"
echo "   4 KiB random writes, a checkpoint every $EPOCH; batched: $EPOCH writes +"
echo "   checkpoint per SUBMIT, $BATCHES batches outstanding; round-trip: one"
echo "   command per SUBMIT, its result collected before the next; writes/s of"
echo "   one run of about $TARGET s each"
printf '%8s %8s %21s %21s %9s\n' "" "" "------ batched ------" \
	"----- round-trip ----" ""
printf '%8s %8s %10s %10s %10s %10s %9s\n' delay_ms rtt_us writes writes/s \
	writes writes/s ratio
for r in "${rows[@]}"; do
	echo "$r"
done
[ "$FAILED" = 0 ] || die "a run did not write what it should have (see ERROR above)"
