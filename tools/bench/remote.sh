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
#   nvme-tcp     what a user would pick instead: an nvmet-tcp target on a
#                second null_blk of the same model, the host's
#                /dev/nvmeXnY driven by uring_bench (io_uring, the
#                checkpoint a drained NOP, as bench.sh's io_uring-drain row)
#                at the same depth and epoch. Target and host are set up
#                in the initial network namespace and talk over 127.0.0.1,
#                with the same netem delay on lo (both directions pass lo's
#                egress once: the same round trip as the veth pair's)
#
# and prints writes/s of each and the ratios of batched to the two others,
# one row per delay, then one summary line per delay. See
# Documentation/bench.rst. It fails only when a run fails or a device did
# not write what was asked; without the nvme modules the nvme-tcp column
# says "skipped".
#
# Environment (all optional):
#   BENCH_REMOTE_DELAYS   one-way netem delays in ms, blank or comma
#                         separated (default "0 1 5")
#   BENCH_REMOTE_SECONDS  target seconds per run (default 4)
#   BENCH_EPOCH, BENCH_DEPTH, BENCH_BATCHES, BENCH_BIN  as in bench.sh
#   BENCH_REMOTE_SUMMARY  a file the summary lines are appended to as well
#                         (bench.sh prints them at the end of its summary)
#   BENCH_REMOTE_DIGESTS  none (the default) or all: CRC32C header and data
#                         digests on both paths alike, mbatch's link
#                         ("serve --digests") and nvme-tcp's (hdr_digest,
#                         data_digest). Off by default, as nvme-tcp's are:
#                         under TCG the crc32 instruction is emulated and
#                         costs a share of the CPU it has on no hardware
#   BENCH_REMOTE_PROFILE  a delay of BENCH_REMOTE_DELAYS: after its batched
#                         run, one more under a system-wide perf profile
#                         (both nodes; needs linux-perf), printed after the
#                         tables; PROFILE_TOP symbols (default 40)
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MBATCH_BUILD:-$SRC/build}
KVER=${KVER:-$(uname -r)}
KO=${MBATCH_KO:-$BUILD/$KVER/kmod/mbatch.ko}
MBATCHCTL=${MBATCHCTL:-$SRC/tools/mbatchctl/mbatchctl}
BIN=${BENCH_BIN:-$BUILD/bench}
DELAYS=${BENCH_REMOTE_DELAYS:-0 1 5}
DELAYS=${DELAYS//,/ }	# commas: from a kernel command line
TARGET=${BENCH_REMOTE_SECONDS:-4}
EPOCH=${BENCH_EPOCH:-64}
DEPTH=${BENCH_DEPTH:-64}
BATCHES=${BENCH_BATCHES:-8}
DEV=mbrbench$$
NSA=mbrbencha$$
NSB=mbrbenchb$$
PORT=7701
DIGESTS=${BENCH_REMOTE_DIGESTS:-none}
NVMET_CFG=/sys/kernel/config/nvmet
NVDEV=mbrnvme$$		# the nvmet namespace's null_blk
NQN=nqn.2014-08.org.mbatch:remote-bench-$$
TMP=$(mktemp -d /tmp/mb_remote_bench.XXXXXX)

FAILED=0
NV_SKIP=		# why there is no nvme-tcp column ("skipped: ...")
NV_MODS0=		# modules loaded before the nvme ones
NV_PORT=		# nvmet port number (configfs), once made
NV_SUBSYS=0		# nvmet subsystem made
NV_NS=0			# its namespace made
NV_LINK=0		# port linked to the subsystem
NV_CTRL=		# host controller (nvmeX), once connected
NV_BDEV=		# host namespace block device (nvmeXnY)
NV_DEV_MADE=0		# $NVDEV made
LO_NETEM=0		# a netem qdisc on lo
LO_UP=0			# lo brought up (it was down)
declare -A DPID=()

say() { echo "bench-remote: $*"; }
die() { echo "bench-remote: error: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# shellcheck source=tools/bench/lib.sh
. "$SRC/tools/bench/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root"
case $DIGESTS in
none | all) ;;
*) die "BENCH_REMOTE_DIGESTS is none or all, not $DIGESTS" ;;
esac

# nvme_cleanup: undo nvme_setup, in reverse order
nvme_cleanup() {
	local s=$NVMET_CFG/subsystems/$NQN p=$NVMET_CFG/ports/$NV_PORT m left progress
	[ "$LO_NETEM" = 1 ] && tc qdisc del dev lo root 2>/dev/null
	LO_NETEM=0
	if [ -n "$NV_CTRL" ] && [ -e "/sys/class/nvme/$NV_CTRL/delete_controller" ]; then
		echo 1 >"/sys/class/nvme/$NV_CTRL/delete_controller" ||
			say "warning: cannot disconnect $NV_CTRL"
	fi
	NV_CTRL=
	[ "$NV_LINK" = 1 ] && { rm -f "$p/subsystems/$NQN" || say "warning: cannot unlink $p/subsystems/$NQN"; }
	[ -n "$NV_PORT" ] && { rmdir "$p" || say "warning: cannot remove nvmet port $NV_PORT"; }
	if [ "$NV_NS" = 1 ]; then
		echo 0 2>/dev/null >"$s/namespaces/1/enable"
		rmdir "$s/namespaces/1" || say "warning: cannot remove nvmet namespace"
	fi
	[ "$NV_SUBSYS" = 1 ] && { rmdir "$s" || say "warning: cannot remove nvmet subsystem"; }
	NV_LINK=0 NV_PORT="" NV_NS=0 NV_SUBSYS=0
	if [ "$NV_DEV_MADE" = 1 ]; then
		nullb_remove "$NVDEV" || say "warning: cannot remove null_blk $NVDEV"
	fi
	NV_DEV_MADE=0
	[ "$LO_UP" = 1 ] && ip link set lo down
	LO_UP=0
	# The modules nvme_setup loaded (and what they pulled in): unload
	# whatever of them nothing uses any more, until none is left.
	[ -n "$NV_MODS0" ] || return 0
	progress=1
	while :; do
		left=$(awk '{ print $1 }' /proc/modules | grep -vxF "$NV_MODS0" || true)
		if [ -z "$left" ] || [ "$progress" = 0 ]; then
			break
		fi
		progress=0
		for m in $left; do
			[ "$(awk -v m="$m" '$1 == m { print $3 }' /proc/modules)" = 0 ] || continue
			rmmod "$m" 2>/dev/null && progress=1
		done
	done
	[ -z "$left" ] || say "warning: modules left loaded: ${left//$'\n'/ }"
	NV_MODS0=
	return 0
}

cleanup() {
	set +e
	local n
	nvme_cleanup
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
	nullb_remove "$DEV" || say "warning: cannot remove null_blk $DEV"
	bench_unload
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$BIN/mbatch_bench" ] || die "$BIN/mbatch_bench not built (make -C tools/bench)"
[ -x "$MBATCHCTL" ] || die "$MBATCHCTL not built"

# --- modules -----------------------------------------------------------------
bench_load "$KO"
modprobe veth 2>/dev/null || true
modprobe sch_netem 2>/dev/null || true
if ! "$MBATCHCTL" --json version | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["features_mask"] & 2 else 1)  # MBATCH_FEAT_REMOTE'; then
	say "skipped: this mbatch has no remote sessions"
	exit 0
fi

# --- device, nodes, link -----------------------------------------------------
# nullb_make NAME: a memory-backed null_blk of the flash model, 256 MiB
nullb_make() {
	nullb_new "$1" size=256 "hw_queue_depth=$DEPTH" irqmode=2 \
		completion_nsec=50000
}

nullb_make "$DEV"

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
	ip netns exec "$ns" "$MBATCHCTL" serve --name "node$n" --digests "$DIGESTS" \
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

# --- nvme-tcp: target and host in the initial namespace, over lo -----------------
# nvme_fail WHY: no nvme-tcp column, and the benchmark fails
nvme_fail() {
	say "ERROR: nvme-tcp: $*"
	NV_SKIP="failed: $*"
	FAILED=1
	return 1
}

# nvme_setup: an nvmet-tcp target exporting $NVDEV as namespace 1 of $NQN on
# 127.0.0.1, connected from the nvme-tcp host as NV_CTRL with the block
# device NV_BDEV; sets NV_SKIP and returns 1 when it cannot be measured
nvme_setup() {
	local m f reply svc uuid b opts i s=$NVMET_CFG/subsystems/$NQN p
	if [ ! -x "$BIN/uring_bench" ]; then
		NV_SKIP="skipped: $BIN/uring_bench not built"
		return 1
	fi
	NV_MODS0=$(awk '{ print $1 }' /proc/modules)
	for m in nvmet nvmet-tcp nvme-tcp; do
		modprobe "$m" 2>/dev/null && continue
		if ! modinfo "$m" >/dev/null 2>&1; then
			NV_SKIP="skipped: no $m module for $(uname -r)"
			return 1
		fi
		nvme_fail "modprobe $m failed"
		return 1
	done
	[ -d "$NVMET_CFG" ] || { nvme_fail "no $NVMET_CFG"; return 1; }
	if [ ! -c /dev/nvme-fabrics ] && [ -r /sys/class/misc/nvme-fabrics/dev ]; then
		f=$(cat /sys/class/misc/nvme-fabrics/dev)
		mknod /dev/nvme-fabrics c "${f%%:*}" "${f##*:}"
	fi
	[ -c /dev/nvme-fabrics ] || { nvme_fail "no /dev/nvme-fabrics"; return 1; }
	# lo of the initial namespace (down in a bare VM) carries this path
	if ! ip -o link show dev lo | grep -q '[<,]UP[,>]'; then
		ip link set lo up || { nvme_fail "cannot bring lo up"; return 1; }
		LO_UP=1
	fi

	NV_DEV_MADE=1
	nullb_make "$NVDEV"
	mkdir "$s" || { nvme_fail "mkdir $s"; return 1; }
	NV_SUBSYS=1
	echo 1 >"$s/attr_allow_any_host" || { nvme_fail "attr_allow_any_host"; return 1; }
	mkdir "$s/namespaces/1" || { nvme_fail "mkdir namespace"; return 1; }
	NV_NS=1
	uuid=$(cat /proc/sys/kernel/random/uuid)
	if ! { echo "/dev/$NVDEV" >"$s/namespaces/1/device_path" &&
	       echo "$uuid" >"$s/namespaces/1/device_uuid" &&
	       echo 1 >"$s/namespaces/1/enable"; }; then
		nvme_fail "namespace on /dev/$NVDEV"
		return 1
	fi
	for ((i = 1; ; i++)); do
		[ -e "$NVMET_CFG/ports/$i" ] || break
	done
	p=$NVMET_CFG/ports/$i
	mkdir "$p" || { nvme_fail "mkdir $p"; return 1; }
	NV_PORT=$i
	for ((svc = 4420; svc < 4500; svc++)); do
		[ -z "$(ss -Hltn "sport = :$svc" 2>/dev/null)" ] && break
	done
	if ! { echo tcp >"$p/addr_trtype" && echo ipv4 >"$p/addr_adrfam" &&
	       echo 127.0.0.1 >"$p/addr_traddr" && echo "$svc" >"$p/addr_trsvcid"; }; then
		nvme_fail "nvmet port attributes"
		return 1
	fi
	ln -s "$s" "$p/subsystems/$NQN" || { nvme_fail "cannot enable port $i (127.0.0.1:$svc)"; return 1; }
	NV_LINK=1

	# One I/O queue (one TCP connection, as mbatch's session has one),
	# as deep as the client plus the tag fabrics reserve for the connect.
	NV_QSIZE=$((DEPTH + 1))
	[ "$NV_QSIZE" -ge 16 ] || NV_QSIZE=16
	opts="transport=tcp,traddr=127.0.0.1,trsvcid=$svc,nqn=$NQN,nr_io_queues=1,queue_size=$NV_QSIZE"
	[ "$DIGESTS" = none ] || opts+=",hdr_digest,data_digest"
	exec {f}<>/dev/nvme-fabrics || { nvme_fail "open /dev/nvme-fabrics"; return 1; }
	if ! printf '%s' "$opts" >&"$f"; then
		exec {f}>&-
		nvme_fail "connect $opts refused"
		return 1
	fi
	read -r reply <&"$f" || true
	exec {f}>&-
	[[ $reply =~ (^|,)instance=([0-9]+) ]] || { nvme_fail "connect: reply \"$reply\""; return 1; }
	NV_CTRL=nvme${BASH_REMATCH[2]}
	# The namespace's disk: the nvmeXnY (the multipath head when there is
	# one, not a hidden nvmeXcYnZ path) with our uuid.
	for ((i = 0; i < 200; i++)); do
		for b in /sys/block/nvme*; do
			if [[ ${b##*/} =~ ^nvme[0-9]+n[0-9]+$ ]] && [ -r "$b/dev" ] &&
			   [ "$(cat "$b/uuid" 2>/dev/null)" = "$uuid" ]; then
				NV_BDEV=${b##*/}
				break 2
			fi
		done
		sleep 0.05
	done
	[ -n "$NV_BDEV" ] || { nvme_fail "no disk for namespace $uuid on $NV_CTRL"; return 1; }
	dev_wait "$NV_BDEV" || { nvme_fail "/dev/$NV_BDEV did not appear"; return 1; }
	NV_SVC=$svc
	# writes up to this size travel inside the command capsule
	NV_INLINE=$(cat "$p/param_inline_data_size" 2>/dev/null || echo "?")
	return 0
}

# lo_rtt: the round trip over lo in us (ping, 5 echoes), "?" if unknown
lo_rtt() {
	local -a ping=(ping)
	command -v ping >/dev/null || ping=(busybox ping)
	{ "${ping[@]}" -q -c 5 -i 0.2 127.0.0.1 2>/dev/null || true; } |
		sed -n 's|.*= *[0-9.]*/\([0-9.]*\)/.*|\1|p' |
		awk '{ printf "%.0f", $1 * 1000; ok = 1 } END { if (!ok) print "?" }'
}

# --- runs ----------------------------------------------------------------------
wsect() { awk '{ print $7 }' "/sys/block/$1/stat"; }

# run NAME COUNT: sets R_NS and R_WRITES, checks the device wrote COUNT blocks
run() {
	local name=$1 count=$2 out s0 line dev=$DEV path=/dev/$DEV kind=seen
	local -a cmd=(nsx "$NSA" "$BIN/mbatch_bench" -P nodeb -Q q0 -e "$EPOCH"
		      -d "$DEPTH" -b "$BATCHES")
	case $name in
	round-trip) cmd+=(-1) ;;
	profiled)
		# Into node a's network namespace only: perf report cannot
		# follow "ip netns exec"'s mount namespace (and then resolves
		# no symbol at all)
		cmd=(perf record -q -a -g -e cpu-clock -F 2000
		     -o "$TMP/remote.perf" -- nsenter "--net=/run/netns/$NSA"
		     "${cmd[@]:2}")
		;;
	nvme-tcp)
		cmd=("$BIN/uring_bench" -e "$EPOCH" -d "$DEPTH")
		dev=$NVDEV path=/dev/$NV_BDEV	# written through the host's disk
		kind="write"
		;;
	esac
	cmd+=(-n "$count" "$path")
	s0=$(wsect "$dev")
	if ! out=$("${cmd[@]}" 2>&1); then
		awk '{ print "bench-remote:   " $0 }' <<<"$out" >&2
		die "$name failed"
	fi
	line=$(grep '^RESULT ' <<<"$out" | tail -n 1)
	[ -n "$line" ] || die "$name printed no result: $out"
	R_NS=$(sed -n 's/.* ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_WRITES=$(sed -n 's/.* writes=\([0-9]*\).*/\1/p' <<<"$line")
	# Latency until the client has the result: mbatch's "seen" (SUBMIT
	# to the COLLECT that brought it), io_uring's "write" (submit to reap)
	line=$(grep "^LAT kind=$kind " <<<"$out" | tail -n 1)
	R_P50=$(sed -n 's/.* p50_ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_P99=$(sed -n 's/.* p99_ns=\([0-9]*\).*/\1/p' <<<"$line")
	if [ "$R_WRITES" != "$count" ] || [ $(($(wsect "$dev") - s0)) != $((count * 8)) ]; then
		say "ERROR: $name: $R_WRITES writes reported, $(($(wsect "$dev") - s0)) sectors" \
			"written on $dev, $count writes asked"
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
	"bound to q0 on node b; node a writes through q0@nodeb; link digests:" \
	"$(peer_json | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["peers"][0].get("digests") or []) or "none")')"
if nvme_setup; then
	say "nvme-tcp: /dev/$NVDEV (the same model) is namespace 1 of $NQN," \
		"nvmet-tcp port 127.0.0.1:$NV_SVC; the host's $NV_CTRL" \
		"(nr_io_queues=1 queue_size=$NV_QSIZE) shows it as /dev/$NV_BDEV;" \
		"in-capsule data up to $NV_INLINE bytes"
else
	say "nvme-tcp: $NV_SKIP"
	nvme_cleanup
fi

# target DELAY_MS WHAT: the issue's target for a ratio at that delay, if any
target() {
	case $2:$1 in
	rt:1 | rt:5) echo " (target >= 30)" ;;
	nvme:1) echo " (target >= 1.5)" ;;
	nvme:5) echo " (target >= 3)" ;;
	esac
}

# us NS: microseconds, or - without a value
us() {
	awk -v ns="${1:-}" 'BEGIN { if (ns == "") print "-"; else printf "%.0f", ns / 1e3 }'
}

PROF_DELAY=${BENCH_REMOTE_PROFILE:-}
PROF_LINE=
if [ -n "$PROF_DELAY" ]; then
	command -v perf >/dev/null || die "BENCH_REMOTE_PROFILE: perf is not installed (linux-perf)"
	[[ " $DELAYS " == *" $PROF_DELAY "* ]] ||
		die "BENCH_REMOTE_PROFILE=$PROF_DELAY is not one of the delays ($DELAYS)"
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
fi

rows=()
lrows=()
summary=()
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
	lrow=$(printf '%8s %10s %10s' "$d" "$(us "$R_P50")" "$(us "$R_P99")")
	if [ "$d" = "$PROF_DELAY" ]; then
		say "delay ${d} ms each way: batched, profiled"
		run profiled "$N"
		PROF_LINE="$(awk -v w="$R_WRITES" -v ns="$R_NS" 'BEGIN {
			printf "%.0f", w / (ns / 1e9) }') writes/s profiled (batched: $b_rate)"
	fi
	say "delay ${d} ms each way: round-trip"
	measure round-trip $((EPOCH * 2))
	lrow+=$(printf ' %10s %10s' "$(us "$R_P50")" "$(us "$R_P99")")
	row=$(awk -v d="$d" -v rtt="$rtt" -v bn="$b_n" -v br="$b_rate" \
		-v rn="$N" -v rr="$RATE" 'BEGIN {
		printf "%8s %8s %10d %10.0f %10d %10.0f %8.1fx", d, rtt, bn, br,
			rn, rr, br / rr }')
	line="$(uname -r) delay $d ms: mbatch batched $(awk -v b="$b_rate" -v r="$RATE" \
		'BEGIN { printf "%.1f", b / r }')x round-trip$(target "$d" rt)"
	if [ -z "$NV_SKIP" ]; then
		tc qdisc replace dev lo root netem delay "${d}ms" ||
			die "tc netem delay ${d}ms on lo"
		LO_NETEM=1
		lrtt=$(lo_rtt)
		say "delay ${d} ms on lo (ping rtt ${lrtt} us): nvme-tcp"
		measure nvme-tcp $((EPOCH * 16))
		lrow+=$(printf ' %10s %10s' "$(us "$R_P50")" "$(us "$R_P99")")
		tc qdisc del dev lo root || die "tc qdisc del dev lo root"
		LO_NETEM=0
		row+=$(awk -v rtt="$lrtt" -v n="$N" -v r="$RATE" -v br="$b_rate" 'BEGIN {
			printf " %8s %10d %10.0f %8.2fx", rtt, n, r, br / r }')
		line+=", $(awk -v b="$b_rate" -v r="$RATE" \
			'BEGIN { printf "%.2f", b / r }')x nvme-tcp$(target "$d" nvme)"
	else
		row+="  nvme-tcp $NV_SKIP"
		lrow+="  nvme-tcp skipped"
		line+=", nvme-tcp $NV_SKIP"
	fi
	rows+=("$row")
	lrows+=("$lrow")
	summary+=("$line")
done
nvme_cleanup

echo
echo "== remote sessions: node a -> q0@nodeb over veth + netem, $(uname -r)"
fmt -w 77 <<EOF | sed 's/^/   /'
4 KiB random writes, a checkpoint every $EPOCH; batched: $EPOCH writes +
checkpoint per SUBMIT, $BATCHES batches outstanding; round-trip: one command
per SUBMIT, its result collected before the next; nvme-tcp: uring_bench (the
checkpoint a drained NOP, depth $DEPTH) on the nvme-tcp host's disk of an
nvmet-tcp target over 127.0.0.1 with the same netem delay on lo (rtt_us by
ping); CRC32C digests $DIGESTS on both (BENCH_REMOTE_DIGESTS); writes/s of
one run of about $TARGET s each; ratio = batched / round-trip, x nvme =
batched / nvme-tcp
EOF
printf '%8s %8s %21s %21s %9s %30s\n' "" "" "------ batched ------" \
	"----- round-trip ----" "" "---------- nvme-tcp ----------"
printf '%8s %8s %10s %10s %10s %10s %9s %8s %10s %10s %9s\n' delay_ms rtt_us \
	writes writes/s writes writes/s ratio rtt_us writes writes/s "x nvme"
for r in "${rows[@]}"; do
	echo "$r"
done
echo
echo "   latency of the same runs, us, until the client has the result (mbatch:"
echo "   SUBMIT to the COLLECT that brought it; nvme-tcp: submit to reap)"
printf '%8s %21s %21s %21s\n' "" "------ batched ------" \
	"----- round-trip ----" "------ nvme-tcp -----"
printf '%8s %10s %10s %10s %10s %10s %10s\n' delay_ms p50 p99 p50 p99 p50 p99
for r in "${lrows[@]}"; do
	echo "$r"
done
echo
if [ -n "$PROF_DELAY" ]; then
	echo "== where the batched run's time goes at $PROF_DELAY ms, both nodes: $PROF_LINE"
	perf_top "$TMP/remote.perf" "${PROFILE_TOP:-40}"
	echo
fi
for l in "${summary[@]}"; do
	say "$l"
	[ -z "${BENCH_REMOTE_SUMMARY:-}" ] || echo "bench-remote: $l" >>"$BENCH_REMOTE_SUMMARY"
done
[ "$FAILED" = 0 ] || die "a run failed or did not write what it should have (see ERROR above)"
