#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mbatch scaling benchmark (not a test), run by bench.sh after the local
# tables (BENCH_SCALE=0 skips it): how mbatch's cost grows with the work.
# On memory-backed null_blk devices of bench.sh's "flash" model (50 us):
#
#   sessions   aggregate writes/s of the benchmark's 4 KiB proxied writes
#              (a checkpoint every 64, 8 batches outstanding per session)
#              with QxS rows: Q queues (one per device) with S sessions
#              each, every session a thread with its own socket, session
#              and region writing its own slice of its device
#              (scale_bench -m rate)
#   pending    cost per command of a SUBMIT of 64 writes and of a COLLECT
#              of 64 results while P results are pending, not collected,
#              each level on a queue and device of its own, the levels
#              taking turns (scale_bench -m pending); it should not grow
#              with P
#
# See Documentation/bench.rst. It fails only when a run fails or a device
# did not write what was asked.
#
# Environment (all optional; commas for blanks, as on a kernel command line):
#   BENCH_SCALE_ROWS     QxS rows (default "1x1 1x8 1x64 4x1 4x2 4x16";
#                        empty: no rate table)
#   BENCH_SCALE_SECONDS  target seconds per row and round (default 2), from
#                        a 1x1 probe
#   BENCH_SCALE_ROUNDS   interleaved rounds of all rows (default 2)
#   BENCH_SCALE_PENDING  pending levels, ascending (default "10 1000 10000
#                        100000"; empty: no pending table)
#   BENCH_SCALE_PROBES   timed rounds per pending level (default 200)
#   BENCH_SCALE_SIZE_MB  size of each device (default 128)
#   BENCH_EPOCH, BENCH_DEPTH, BENCH_BATCHES, BENCH_BIN  as in bench.sh
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MBATCH_BUILD:-$SRC/build}
KVER=${KVER:-$(uname -r)}
KO=${MBATCH_KO:-$BUILD/$KVER/kmod/mbatch.ko}
BIN=${BENCH_BIN:-$BUILD/bench}
ROWS=${BENCH_SCALE_ROWS-1x1 1x8 1x64 4x1 4x2 4x16}
ROWS=${ROWS//,/ }
TARGET=${BENCH_SCALE_SECONDS:-2}
PENDING=${BENCH_SCALE_PENDING-10 1000 10000 100000}
PENDING=${PENDING//,/ }
PROBES=${BENCH_SCALE_PROBES:-200}
SROUNDS=${BENCH_SCALE_ROUNDS:-2}
SIZE_MB=${BENCH_SCALE_SIZE_MB:-128}
EPOCH=${BENCH_EPOCH:-64}
DEPTH=${BENCH_DEPTH:-64}
BATCHES=${BENCH_BATCHES:-8}
PFX=mbsbench$$

DEVS=()
FAILED=0

say() { echo "bench-scale: $*"; }
die() { echo "bench-scale: error: $*" >&2; exit 1; }
# shellcheck source=tools/bench/lib.sh
. "$SRC/tools/bench/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root"

cleanup() {
	set +e
	local d
	for d in "${DEVS[@]}"; do
		nullb_remove "$d" || say "warning: cannot remove null_blk $d"
	done
	bench_unload
}
trap cleanup EXIT

# --- the client --------------------------------------------------------------
if [ ! -x "$BIN/scale_bench" ]; then
	say "scale_bench not built in $BIN: building the clients into /tmp/mbatch-scale"
	make -s -C "$SRC/tools/bench" OUT=/tmp/mbatch-scale MBATCH_BUILD=/tmp \
		>/tmp/mbatch-scale-build.log 2>&1 ||
		{ cat /tmp/mbatch-scale-build.log >&2; die "cannot build scale_bench"; }
	BIN=/tmp/mbatch-scale
fi

# --- modules -----------------------------------------------------------------
bench_load "$KO"

# --- devices -----------------------------------------------------------------
# The most queues of any row: one device each (a queue holds its device)...
nq=1
for row in $ROWS; do
	[[ $row =~ ^([0-9]+)x([0-9]+)$ ]] || die "bad row $row (QUEUESxSESSIONS, e.g. 4x16)"
	[ "${BASH_REMATCH[1]}" -ge 1 ] || die "bad row $row"
	[ "${BASH_REMATCH[2]}" -ge 1 ] || die "bad row $row"
	if [ "${BASH_REMATCH[1]}" -gt "$nq" ]; then nq=${BASH_REMATCH[1]}; fi
done
# ... and a device for each pending level
nlev=0
for p in $PENDING; do
	[[ $p =~ ^[0-9]+$ ]] || die "bad pending level $p"
	nlev=$((nlev + 1))
done
if [ "$nlev" -gt "$nq" ]; then nq=$nlev; fi

for ((i = 0; i < nq; i++)); do
	DEVS+=("$PFX$i")
	nullb_new "$PFX$i" "size=$SIZE_MB" "hw_queue_depth=$DEPTH" irqmode=2 \
		completion_nsec=50000
	# every page allocated once: no timed run pays for first touches
	dd if=/dev/zero of="/dev/$PFX$i" bs=1M count="$SIZE_MB" oflag=direct \
		status=none || die "cannot write /dev/$PFX$i"
done
say "$nq x /dev/${PFX}N: ${SIZE_MB} MiB, 4096-byte blocks, memory backed," \
	"hw_queue_depth $DEPTH, irqmode=2 completion_nsec=50000 (written once)"

# written sectors of the first N devices
wsect() {
	local n=$1 i s=0
	for ((i = 0; i < n; i++)); do
		s=$((s + $(awk '{ print $7 }' "/sys/block/$PFX$i/stat")))
	done
	echo "$s"
}

# devlist N: /dev/X0,/dev/X1,...
devlist() {
	local n=$1 i l=
	for ((i = 0; i < n; i++)); do
		l=${l:+$l,}/dev/$PFX$i
	done
	echo "$l"
}

# rate Q S COUNT: Q queues x S sessions, COUNT writes per session; sets
# R_NS R_FIRST R_WRITES
rate() {
	local q=$1 s=$2 count=$3 out s0 s1 line
	s0=$(wsect "$q")
	if ! out=$("$BIN/scale_bench" -m rate -N "$s" -n "$count" -e "$EPOCH" \
		-d "$DEPTH" -b "$BATCHES" "$(devlist "$q")" 2>&1); then
		awk '{ print "bench-scale:   " $0 }' <<<"$out" >&2
		die "${q}x$s failed"
	fi
	s1=$(wsect "$q")
	line=$(grep '^SCALE ' <<<"$out" | tail -n 1)
	[ -n "$line" ] || die "${q}x$s printed no result: $out"
	R_NS=$(sed -n 's/.* ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_FIRST=$(sed -n 's/.* first_ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_WRITES=$(sed -n 's/.* writes=\([0-9]*\).*/\1/p' <<<"$line")
	if [ "$R_WRITES" != $((q * s * count)) ]; then
		say "ERROR: ${q}x$s reported $R_WRITES writes, $((q * s * count)) asked"
		FAILED=1
	fi
	if [ $((s1 - s0)) != $((R_WRITES * 8)) ]; then
		say "ERROR: ${q}x$s: the devices wrote $((s1 - s0)) sectors," \
			"$((R_WRITES * 8)) expected"
		FAILED=1
	fi
}

# --- sessions and queues -----------------------------------------------------
rate_tables() {
	# A first, untimed run, then probes of 1x1 grown until one lasts 0.5 s.
	rate 1 1 640
	n=2560
	while :; do
		rate 1 1 "$n"
		[ "$R_NS" -ge 500000000 ] || [ "$n" -ge 500000 ] && break
		n=$((n * 4))
	done
	total=$(awk -v w="$R_WRITES" -v ns="$R_NS" -v t="$TARGET" 'BEGIN {
		n = w / (ns / 1e9) * t; if (n > 2000000) n = 2000000; print int(n) }')
	say "1x1 probe: $R_WRITES writes in $(awk -v ns="$R_NS" 'BEGIN { printf "%.3f", ns / 1e9 }') s;" \
		"about $total writes per row and round"

	declare -A W=() NS=() FNS=()
	for ((round = 0; round < SROUNDS; round++)); do
		for row in $ROWS; do
			q=${row%x*}
			s=${row#*x}
			# the row's writes, an epoch's multiple per session, and
			# at least a window (all batches outstanding) each
			per=$((total / (q * s) / EPOCH * EPOCH))
			[ "$per" -ge $((BATCHES * EPOCH)) ] || per=$((BATCHES * EPOCH))
			say "round $((round + 1)): $row: $q queue(s) x $s session(s)," \
				"$per writes each"
			rate "$q" "$s" "$per"
			W[$row]=$((${W[$row]:-0} + R_WRITES))
			NS[$row]=$((${NS[$row]:-0} + R_NS))
			FNS[$row]=$((${FNS[$row]:-0} + R_FIRST))
		done
	done
	first=${ROWS%% *}
	echo
	echo "== sessions and queues: aggregate rate"
	fmt -w 77 <<-EOF | sed 's/^/   /'
	kernel $(uname -r); 4 KiB proxied random writes, a checkpoint every
	$EPOCH, $BATCHES batches outstanding per session, each session a thread
	with its own socket, session and region on its own slice of its queue's
	device; one queue per device, each a null_blk of the flash model (50 us,
	hw_queue_depth $DEPTH), queue depth $DEPTH; $SROUNDS interleaved rounds
	of all rows, summed; x $first: over the $first row; first/last: when
	the first session finished, over the last
	EOF
	printf '%-7s %6s %8s %9s %8s %9s %8s %10s\n' row queues sessions writes \
		seconds writes/s "x $first" first/last
	ref=$(awk -v w="${W[$first]}" -v ns="${NS[$first]}" 'BEGIN { print w / (ns / 1e9) }')
	for row in $ROWS; do
		awk -v row="$row" -v q="${row%x*}" -v s="${row#*x}" -v w="${W[$row]}" \
			-v ns="${NS[$row]}" -v fns="${FNS[$row]}" -v ref="$ref" 'BEGIN {
			r = w / (ns / 1e9)
			printf "%-7s %6d %8d %9d %8.3f %9.0f %7.2fx %9.0f%%\n",
				row, q, s * q, w, ns / 1e9, r, r / ref, 100 * fns / ns }'
	done
}

# --- pending results ---------------------------------------------------------
pending_table() {
	levels=${PENDING// /,}
	s0=$(wsect "$nlev")
	if ! out=$("$BIN/scale_bench" -m pending -p "$levels" -r "$PROBES" \
		-d "$DEPTH" "$(devlist "$nlev")" 2>&1); then
		awk '{ print "bench-scale:   " $0 }' <<<"$out" >&2
		die "the pending run failed"
	fi
	s1=$(wsect "$nlev")
	w=$(grep '^RESULT ' <<<"$out" | sed -n 's/.* writes=\([0-9]*\).*/\1/p' | tail -n 1)
	[ -n "$w" ] || die "the pending run printed no result: $out"
	if [ $((s1 - s0)) != $((w * 8)) ]; then
		say "ERROR: pending: the device wrote $((s1 - s0)) sectors, $((w * 8)) expected"
		FAILED=1
	fi
	echo
	echo "== pending results: cost per command"
	fmt -w 77 <<-EOF | sed 's/^/   /'
	kernel $(uname -r); one queue for each level, on a device of its own (flash
	model, depth $DEPTH); P results completed and not collected while $PROBES
	timed rounds each SUBMIT 64 proxied 4 KiB writes, wait for them, and
	COLLECT (max 64, acknowledging the previous round's 64), the levels
	taking turns round by round: ns per command of the SUBMIT, ns per result
	of the COLLECT (medians of the rounds) and their ratio to the first
	level. A session holds at most 65536 commands not acknowledged: beyond
	65408 the rest of P is pending in a second session on the same queue
	(other). Flat: no level over 2x the first
	EOF
	printf '%9s %8s %8s %13s %7s %14s %7s\n' pending session other \
		"submit ns/cmd" "x P0" "collect ns/res" "x P0"
	grep '^PENDING ' <<<"$out" | awk '
		{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (NR == 1) { s0 = v["submit_ns"]; c0 = v["collect_ns"]; p0 = v["p"] }
			rs = v["submit_ns"] / s0; rc = v["collect_ns"] / c0
			printf "%9d %8d %8d %13.0f %6.2fx %14.0f %6.2fx\n", v["p"],
				v["session"], v["other"], v["submit_ns"], rs,
				v["collect_ns"], rc
			r = rs > rc ? rs : rc
			if (r > worst) { worst = r; wp = v["p"] }
			if (!bad && r > 2) bad = v["p"]
			last = v["p"]
		}
		END {
			if (bad)
				printf "   not flat: from P=%d over 2x of P=%d\n", bad, p0
			else
				printf "   flat: at most %.2fx of P=%d (at P=%d) up to P=%d\n",
					worst, p0, wp, last
		}'
}

[ -z "${ROWS// /}" ] || rate_tables
[ -z "${PENDING// /}" ] || pending_table

[ "$FAILED" = 0 ] || die "a run did not write what it should have (see ERROR above)"
