#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mbatch benchmark (not a test): 4 KiB random writes with a checkpoint every
# 64 writes, through mbatch, io_uring with IOSQE_IO_DRAIN and synchronous
# O_DIRECT pwrite, on the same null_blk device in the same run, printed side
# by side as writes/s and ratios; then the same with 64 KiB and 1 MiB
# writes. mbatch's payloads are proxied (in a registered region). See
# Documentation/bench.rst.
#
# Runs as root on the machine under test; "make bench" runs it inside the
# qemu VM. It creates a memory-backed null_blk device through configfs
# (loading null_blk and mbatch when they are not loaded), runs the workloads
# in interleaved rounds for each device model, prints one table per model,
# and removes what it created (unloading only what it loaded). It fails only
# when a workload fails or the device did not write what was asked.
#
# Environment (all optional; "make bench" passes them on the guest's kernel
# command line: make bench BENCH_ENV="BENCH_SECONDS=10 BENCH_MODES=flash"):
#   BENCH_SECONDS   target seconds per workload (default 6), split over the
#                   rounds; the write counts are calibrated by probe runs
#   BENCH_ROUNDS    interleaved rounds of all workloads (default 3)
#   BENCH_COUNT     fixed writes per round, fast workloads (no calibration)
#   BENCH_SYNC_COUNT  fixed writes per round, synchronous workload
#   BENCH_MODES     device models to run, from "flash zero" (default both;
#                   blanks or commas between them):
#                   flash = irqmode=2 completion_nsec=50000 (50 us, timer)
#                   zero  = irqmode=0 (completes in the submitting context)
#   BENCH_EPOCH     writes per checkpoint (default 64)
#   BENCH_DEPTH     queue depth of mbatch, io_uring and null_blk (default 64)
#   BENCH_BATCHES   mbatch batches outstanding (default 8)
#   BENCH_SIZE_MB   null_blk size in MiB (default 1024)
#   BENCH_SIZES     larger writes, rows of mbatch, io_uring-drain and sync
#                   each (default "64k 1m"; "" for none)
#   BENCH_EXTRA     more workloads, comma separated: mbatch-2thr
#                   (mbatch_bench -T, results collected by a second thread),
#                   mbatch-nodata (-Z: 4 KiB WRITE_ZEROES, no payload),
#                   mbatch-inline (-I: payloads inline, not proxied); any
#                   of them with a size, e.g. mbatch-inline-16k
#   BENCH_BIN       directory with the three clients (default
#                   $MBATCH_BUILD/bench; built into /tmp when missing)
#   BENCH_REMOTE    0: skip the remote-session tables (tools/bench/remote.sh,
#                   which reads BENCH_REMOTE_DELAYS and BENCH_REMOTE_SECONDS;
#                   mbatch remote sessions and nvme-tcp)
#   BENCH_OUT       directory for each table as text, its latency histograms
#                   (lat-KVER-MODE.txt) and their picture (lat-KVER-MODE.svg);
#                   default $MBATCH_BUILD/bench-out (the VM harness sets it to
#                   its results share, build/vm/KVER/exec/share/bench/)
#   BENCH_SCALE     0: skip the scaling tables (tools/bench/scale.sh: sessions
#                   and queues, pending results; it reads BENCH_SCALE_*)
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MBATCH_BUILD:-$SRC/build}
KVER=${KVER:-$(uname -r)}
KO=${MBATCH_KO:-$BUILD/$KVER/kmod/mbatch.ko}
MBATCHCTL=${MBATCHCTL:-$SRC/tools/mbatchctl/mbatchctl}
SECONDS_PER=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-3}
MODES=${BENCH_MODES:-flash zero}
MODES=${MODES//,/ }	# commas: from a kernel command line
EPOCH=${BENCH_EPOCH:-64}
DEPTH=${BENCH_DEPTH:-64}
BATCHES=${BENCH_BATCHES:-8}
SIZE_MB=${BENCH_SIZE_MB:-1024}
BIN=${BENCH_BIN:-$BUILD/bench}
OUT_DIR=${BENCH_OUT:-$BUILD/bench-out}
DEV=mbbench$$
QUEUE=bench$$

FAILED=0

say() { echo "bench: $*"; }
die() { echo "bench: error: $*" >&2; exit 1; }
# shellcheck source=tools/bench/lib.sh
. "$SRC/tools/bench/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (it loads modules and creates a null_blk device)"

cleanup() {
	set +e
	[ -n "${LAT_TMP:-}" ] && rm -rf "$LAT_TMP"
	# A client killed mid-run leaves its queue behind, holding the device.
	if [ -d /sys/module/mbatch ] && [ -x "$MBATCHCTL" ]; then
		"$MBATCHCTL" queue del "$QUEUE" >/dev/null 2>&1
	fi
	nullb_remove "$DEV" || say "warning: cannot remove null_blk $DEV"
	bench_unload
	[ -z "${REMOTE_SUMMARY:-}" ] || rm -f "$REMOTE_SUMMARY"
}
trap cleanup EXIT

# --- the clients -------------------------------------------------------------
bins_ok() {
	[ -x "$1/mbatch_bench" ] && [ -x "$1/uring_bench" ] && [ -x "$1/sync_bench" ]
}
if ! bins_ok "$BIN"; then
	say "clients not built in $BIN: building them into /tmp/mbatch-bench"
	make -s -C "$SRC/tools/bench" OUT=/tmp/mbatch-bench MBATCH_BUILD=/tmp \
		>/tmp/mbatch-bench-build.log 2>&1 ||
		{ cat /tmp/mbatch-bench-build.log >&2; die "cannot build the clients"; }
	BIN=/tmp/mbatch-bench
fi

# --- modules -----------------------------------------------------------------
bench_load "$KO"

# Latency histograms of the timed runs, per mode and row (merged at the end).
LAT_TMP=$(mktemp -d /tmp/mbatch-bench-lat.XXXXXX)
if ! mkdir -p "$OUT_DIR" 2>/dev/null || [ ! -w "$OUT_DIR" ]; then
	say "warning: cannot write to $OUT_DIR: no files of the tables and histograms"
	OUT_DIR=
fi

# --- device --------------------------------------------------------------------
# wl_split NAME: WL_BASE, the workload, and WL_BS, its bytes per write,
# from NAME or NAME-SIZE (SIZE: 64k, 1m, ...)
wl_split() {
	local sfx=${1##*-}
	WL_BASE=$1
	WL_BS=4096
	if [[ $sfx =~ ^[0-9]+[km]$ ]]; then
		WL_BASE=${1%-*}
		case $sfx in
		*k) WL_BS=$((${sfx%k} << 10)) ;;
		*m) WL_BS=$((${sfx%m} << 20)) ;;
		esac
	fi
}

# write sectors completed on the device (field 7 of /sys/block/X/stat)
wsect() { awk '{ print $7 }' "/sys/block/$DEV/stat"; }
wios() { awk '{ print $5 }' "/sys/block/$DEV/stat"; }

# run NAME COUNT: run workload NAME for COUNT writes, sets R_NS R_WRITES
# R_CPS and R_LAT (the client's LAT lines), checks the device saw exactly
# COUNT writes of the workload's size.
run() {
	local name=$1 count=$2 out s0 s1 line
	local -a cmd
	wl_split "$name"
	case $WL_BASE in
	sync) cmd=("$BIN/sync_bench" -e "$EPOCH") ;;
	io_uring-drain) cmd=("$BIN/uring_bench" -e "$EPOCH" -d "$DEPTH") ;;
	io_uring-drain-write) cmd=("$BIN/uring_bench" -W -e "$EPOCH" -d "$DEPTH") ;;
	io_uring-nodrain) cmd=("$BIN/uring_bench" -N -e "$EPOCH" -d "$DEPTH") ;;
	mbatch) cmd=("$BIN/mbatch_bench" -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE") ;;
	mbatch-nodata) cmd=("$BIN/mbatch_bench" -Z -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE") ;;
	mbatch-2thr) cmd=("$BIN/mbatch_bench" -T -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE") ;;
	mbatch-inline) cmd=("$BIN/mbatch_bench" -I -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE") ;;
	mbatch-journal) cmd=("$BIN/mbatch_bench" -J -e "$EPOCH" -d "$DEPTH" -b "$BATCHES" -Q "$QUEUE") ;;
	*) die "unknown workload $name" ;;
	esac
	s0=$(wsect)
	if ! out=$("${cmd[@]}" -S "$WL_BS" -n "$count" "/dev/$DEV" 2>&1); then
		awk '{ print "bench:   " $0 }' <<<"$out" >&2
		die "$name failed"
	fi
	s1=$(wsect)
	line=$(grep '^RESULT ' <<<"$out" | tail -n 1)
	[ -n "$line" ] || die "$name printed no result: $out"
	grep -Ev '^(RESULT|LAT|JOURNAL) ' <<<"$out" | sed 's/^/bench:   /' >&2 || true
	R_LAT=$(grep '^LAT ' <<<"$out" || true)
	R_NS=$(sed -n 's/.* ns=\([0-9]*\).*/\1/p' <<<"$line")
	R_WRITES=$(sed -n 's/.* writes=\([0-9]*\).*/\1/p' <<<"$line")
	R_CPS=$(sed -n 's/.* checkpoints=\([0-9]*\).*/\1/p' <<<"$line")
	# a journal's own blocks: its log's writes and superblocks
	R_JW=$(sed -n 's/^JOURNAL writes=\([0-9]*\).*/\1/p' <<<"$out")
	R_JSECT=$(sed -n 's/^JOURNAL .* sectors=\([0-9]*\).*/\1/p' <<<"$out")
	if [ -n "$R_JW" ]; then
		s1=$((s1 - R_JSECT))
		JOURNAL_W=$((${JOURNAL_W:-0} + R_JW))
		JOURNAL_N=$((${JOURNAL_N:-0} + count))
	fi
	if [ "$R_WRITES" != "$count" ]; then
		say "ERROR: $name reported $R_WRITES writes, $count asked"
		FAILED=1
	fi
	if [ $((s1 - s0)) != $((count * WL_BS / 512)) ]; then
		say "ERROR: $name: the device wrote $((s1 - s0)) sectors," \
			"$((count * WL_BS / 512)) expected"
		FAILED=1
	fi
}

# calibrate NAME PROBE: set CAL to a write count that takes about
# $SECONDS_PER / $ROUNDS seconds, a multiple of the epoch: probe runs of
# PROBE 4 KiB writes' worth of bytes (at least an epoch), four times more
# until one lasts at least 0.5 s.
calibrate() {
	local name=$1 n
	wl_split "$name"
	n=$(($2 * 4096 / WL_BS / EPOCH * EPOCH))
	[ "$n" -ge "$EPOCH" ] || n=$EPOCH
	while :; do
		run "$name" "$n"
		[ "$R_NS" -ge 500000000 ] || [ "$n" -ge 500000 ] && break
		n=$((n * 4))
	done
	CAL=$(awk -v w="$R_WRITES" -v ns="$R_NS" -v t="$SECONDS_PER" \
		-v r="$ROUNDS" -v e="$EPOCH" 'BEGIN {
			n = w / (ns / 1e9) * t / r; n = int(n / e) * e;
			if (n < e) n = e; if (n > 2000000) n = 2000000; print n }')
}

BENCH_EXTRA=${BENCH_EXTRA:-}
BENCH_SIZES=${BENCH_SIZES-64k 1m}
# shellcheck disable=SC2206 # BENCH_EXTRA is a list of workload names
WORKLOADS=(sync io_uring-drain io_uring-drain-write mbatch mbatch-journal ${BENCH_EXTRA//,/ } io_uring-nodrain)
for sz in $BENCH_SIZES; do
	[[ $sz =~ ^[0-9]+[km]$ ]] || die "bad size $sz in BENCH_SIZES (64k, 1m, ...)"
	WORKLOADS+=("sync-$sz" "io_uring-drain-$sz" "mbatch-$sz")
done

# slab_size CACHE: bytes per object of a slab cache, "" if unknown
slab_size() {
	if [ -r "/sys/kernel/slab/$1/object_size" ]; then
		cat "/sys/kernel/slab/$1/object_size"
	elif [ -r /proc/slabinfo ]; then
		awk -v c="$1" '$1 == c { print $4 }' /proc/slabinfo
	fi
}

# lat_merge ROW KIND: the LAT lines of KIND from ROW's timed runs, merged
# into "ROW KIND N P50_NS P99_NS HIST SKEW" (percentiles as the clients
# compute them, tools/bench/bench.h: the upper edge of the bucket holding
# the p-th sample, at most the maximum); nothing without samples.
lat_merge() {
	local f=$LAT_TMP/$MODE_NAME/$1
	[ -s "$f" ] || return 0
	awk -v kind="$2" '
	$1 == "LAT" && $2 == "kind=" kind {
		for (i = 3; i <= NF; i++) {
			k = substr($i, 1, index($i, "=") - 1)
			v = substr($i, index($i, "=") + 1)
			if (k == "skew") print "S", v
			else if (k == "max_ns") print "M", v
			else if (k == "hist" && v != "-") {
				m = split(v, hh, ",")
				for (j = 1; j <= m; j++) {
					split(hh[j], lc, ":")
					print "H", lc[1], lc[2]
				}
			}
		}
	}' "$f" | sort -k1,1 -k2,2n | awk -v row="$1" -v kind="$2" '
	function hi(lo,  us, e) {
		us = int(lo / 1000)
		if (us < 1024) return lo + 1000
		for (e = 10; 2 ^ (e + 1) <= us; e++) ;
		return lo + 2 ^ (e - 5) * 1000
	}
	function pct(p,  rank, seen, j, h) {
		rank = int(p / 100 * n); if (rank < p / 100 * n) rank++
		if (rank < 1) rank = 1
		for (j = 1; j <= nb; j++) {
			seen += cnt[j]
			if (seen >= rank) break
		}
		h = hi(lo[j])
		return h < max ? h : max
	}
	$1 == "S" { skew += $2 }
	$1 == "M" && $2 + 0 > max { max = $2 + 0 }
	$1 == "H" {
		if (nb && lo[nb] == $2 + 0) cnt[nb] += $3
		else { nb++; lo[nb] = $2 + 0; cnt[nb] = $3 + 0 }
		n += $3
	}
	END {
		if (!n) exit
		hist = ""
		for (j = 1; j <= nb; j++)
			hist = hist (j > 1 ? "," : "") sprintf("%.0f:%.0f", lo[j], cnt[j])
		printf "%s %s %.0f %.0f %.0f %s %.0f\n", row, kind, n, pct(50),
			pct(99), hist, skew
	}'
}

# table MODE_DESC: print the results of the workloads just run
table() {
	local desc=$1 w ref ref_name sync_rate line wref wsync sz skew dev seen a b
	declare -A rate p50 p99
	for w in "${WORKLOADS[@]}"; do
		p50[$w]=- p99[$w]=-
		line=$(lat_merge "$w" write)
		if [ -n "$line" ]; then
			read -r _ _ _ a b _ skew <<<"$line"
			p50[$w]=$a p99[$w]=$b
			[ "$skew" = 0 ] || NOTE[$w]="${NOTE[$w]:-}  ($skew skewed time stamps)"
			echo "${line% *}" >>"$LAT_TMP/$MODE_NAME.txt"
		fi
		if [[ $w = mbatch* ]]; then
			line=$(lat_merge "$w" device)
			[ -z "$line" ] || echo "${line% *}" >>"$LAT_TMP/$MODE_NAME.txt"
		fi
		# the median of the per-round rates: one disturbed round
		# (the host busy elsewhere) does not move it
		rate[$w]=$(tr ' ' '\n' <<<"${RATES[$w]}" | sort -g | awk '
			{ v[NR] = $1 }
			END {
				if (NR % 2) m = v[(NR + 1) / 2]
				else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%.1f", m
			}')
	done
	# The io_uring reference is the faster of the two drain variants.
	ref_name=io_uring-drain
	if awk -v a="${rate[io_uring-drain-write]}" -v b="${rate[io_uring-drain]}" \
		'BEGIN { exit !(a > b) }'; then
		ref_name=io_uring-drain-write
	fi
	ref=${rate[$ref_name]}
	sync_rate=${rate[sync]}
	echo
	echo "== $desc"
	fmt -w 77 <<EOF | sed 's/^/   /'
kernel $(uname -r); random writes of 4 KiB (or of the size that ends a
row's name), a checkpoint every $EPOCH writes, depth $DEPTH, $ROUNDS
interleaved rounds; mbatch's payloads are proxied (in a registered region)
unless inline; writes/s is the median of the rounds' rates, spread = (max -
min) / median; x io_uring is over $ref_name (the faster of the two drain
variants) for 4 KiB writes, over io_uring-drain of the same size for the
others; x sync is over sync of the same size; p50 and p99 are the
latencies of the writes in us, over the rounds: from the SUBMIT, the
io_uring_enter() or the pwrite() that sent it to its completion
(Documentation/bench.rst)
EOF
	printf '%-20s %8s %6s %8s %9s %8s %7s %10s %7s %7s %7s\n' workload writes ckpts \
		seconds writes/s MiB/s spread "x io_uring" "x sync" "p50 us" "p99 us"
	for w in "${WORKLOADS[@]}"; do
		wl_split "$w"
		wref=$ref
		wsync=$sync_rate
		if [ "$WL_BS" != 4096 ]; then
			wref=${rate[io_uring-drain-${w##*-}]}
			wsync=${rate[sync-${w##*-}]}
		fi
		awk -v n="$w" -v w="${WRITES[$w]}" -v c="${CPS[$w]}" -v ns="${NS[$w]}" \
			-v r="${rate[$w]}" -v ref="$wref" -v sr="$wsync" \
			-v rates="${RATES[$w]}" -v bs="$WL_BS" \
			-v note="${NOTE[$w]:-}" -v p50="${p50[$w]}" -v p99="${p99[$w]}" 'BEGIN {
			n_r = split(rates, rr, " ")
			lo = hi = rr[1] + 0
			for (i = 2; i <= n_r; i++) {
				if (rr[i] + 0 < lo) lo = rr[i] + 0
				if (rr[i] + 0 > hi) hi = rr[i] + 0
			}
			lat = ""
			if (p50 == "-") lat = sprintf(" %7s %7s", "-", "-")
			else lat = sprintf(" %7.0f %7.0f", p50 / 1e3, p99 / 1e3)
			printf "%-20s %8d %6d %8.3f %9.0f %8.1f %6.0f%% %9.2fx %6.2fx%s%s\n",
				n, w, c, ns / 1e9, r, r * bs / 1048576,
				100 * (hi - lo) / r, r / ref, r / sr, lat, note }'
	done
	for w in "${WORKLOADS[@]}"; do
		[[ $w = mbatch* ]] || continue
		wl_split "$w"
		if [ "$WL_BS" = 4096 ]; then
			line=$(awk -v n="$w" -v m="${rate[$w]}" -v ref="$ref" -v sr="$sync_rate" 'BEGIN {
				printf "%s: %.2fx io_uring with drain (target >= 1.0), %.2fx sync (target >= 10)",
					n, m / ref, m / sr }')
		else
			sz=${w##*-}
			line=$(awk -v n="$w" -v m="${rate[$w]}" -v ref="${rate[io_uring-drain-$sz]}" \
				-v sr="${rate[sync-$sz]}" -v kib="$((WL_BS >> 10))" 'BEGIN {
				size = kib % 1024 ? kib " KiB" : kib / 1024 " MiB"
				printf "%s: %.2fx io_uring with drain, %.2fx sync (%s writes)",
					n, m / ref, m / sr, size }')
		fi
		echo "   $line"
		SUMMARY+=("$(uname -r) $MODE_NAME: $line")
	done
	# The journal's cost: its rate over mbatch's, and its log's writes.
	if [ -n "${rate[mbatch-journal]:-}" ]; then
		line=$(awk -v j="${rate[mbatch-journal]}" -v m="${rate[mbatch]}" \
			-v w="${JOURNAL_W:-0}" -v n="${JOURNAL_N:-1}" 'BEGIN {
			printf "mbatch-journal: %.2fx mbatch without a journal (target >= 0.8); %.1f log writes per 1000 writes",
				j / m, 1000 * w / n }')
		echo "   $line"
		SUMMARY+=("$(uname -r) $MODE_NAME: $line")
	fi
	JOURNAL_W=0
	JOURNAL_N=0
	# mbatch's results carry the module's time stamps: the device part.
	for w in "${WORKLOADS[@]}"; do
		[[ $w = mbatch* ]] || continue
		dev=$(lat_merge "$w" device)
		seen=$(lat_merge "$w" seen)
		if [ -z "$dev" ] || [ -z "$seen" ]; then
			continue
		fi
		awk -v n="$w" -v d="$dev" -v s="$seen" 'BEGIN {
			split(d, dd, " "); split(s, ss, " ")
			printf "   %s latency: device part (START to DONE) p50 %.0f us, p99 %.0f us; until the client has the result (SUBMIT to COLLECT) p50 %.0f us, p99 %.0f us\n",
				n, dd[4] / 1e3, dd[5] / 1e3, ss[4] / 1e3, ss[5] / 1e3 }' | fmt -w 77 | sed '2,$s/^/     /'
	done
}

# lat_files MODE DESC: the table and the histograms into $OUT_DIR
lat_files() {
	local base
	[ -n "$OUT_DIR" ] || return 0
	base=$OUT_DIR/lat-$(uname -r)-$1
	cp "$LAT_TMP/$1.table" "$OUT_DIR/table-$(uname -r)-$1.txt"
	[ -s "$LAT_TMP/$1.txt" ] || return 0
	cp "$LAT_TMP/$1.txt" "$base.txt"
	if ! command -v python3 >/dev/null; then
		say "$1: no python3: no picture of the histograms ($base.txt)"
		return 0
	fi
	if python3 "$SRC/tools/bench/latsvg.py" "$(uname -r) $1: $2" \
		"$base.txt" "$base.svg"; then
		say "$1: latency histograms: $base.svg"
	else
		say "warning: $1: cannot draw $base.svg"
	fi
}

say "kernel $(uname -r), $(nproc) CPU(s), clients in $BIN"
say "cmdline: $(cat /proc/cmdline)"
# The last of each option is the one in force (make bench appends its own).
dbg=$(tr ' ' '\n' </proc/cmdline | awk -F= '
	/^(slub_debug|init_on_free|page_poison|kfence.sample_interval|workqueue.debug_force_rr_cpu)=/ {
		last[$1] = $0; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 }
	}
	END { for (i = 0; i < n; i++) print last[order[i]] }' |
	grep -E '^(slub_debug=[^-]|init_on_free=1|page_poison=1|kfence.sample_interval=[1-9]|workqueue.debug_force_rr_cpu=1)' | tr '\n' ' ' || true)
if [ -n "$dbg" ]; then
	say "WARNING: debug options on the kernel command line ($dbg) slow every"
	say "WARNING: allocation down; mbatch allocates per command, the others do not,"
	say "WARNING: so the ratios below understate mbatch (see Documentation/bench.rst)"
fi
# What a queued proxied write costs the kernel: its command object, no page.
objsize=$(slab_size mbatch_command)
if [ -n "$objsize" ]; then
	line="kernel memory per queued 4 KiB proxied write: $objsize bytes (mbatch_command object; target <= 512)"
else
	line="kernel memory per queued 4 KiB proxied write: unknown (no mbatch_command slab cache)"
fi
say "$line"
SUMMARY=("$(uname -r): $line")
for mode in $MODES; do
	case $mode in
	flash)
		params=(irqmode=2 completion_nsec=50000)
		desc="null_blk irqmode=2 completion_nsec=50000 (a 50 us device)"
		;;
	zero)
		params=(irqmode=0)
		desc="null_blk irqmode=0 (zero latency, completes inline)"
		;;
	*) die "unknown mode $mode (flash, zero)" ;;
	esac
	MODE_NAME=$mode
	nullb_new "$DEV" "size=$SIZE_MB" "hw_queue_depth=$DEPTH" "${params[@]}"
	say "$mode: /dev/$DEV ${SIZE_MB} MiB, 4096-byte blocks, memory backed," \
		"hw_queue_depth $DEPTH, ${params[*]}"

	declare -A COUNT=() WRITES=() CPS=() NS=() NOTE=() RATES=() DEVIOS=()
	mkdir -p "$LAT_TMP/$mode"
	# A first, untimed run: the first writes to a fresh device (and the
	# first run of each program under TCG) are much slower than the rest.
	run io_uring-nodrain 6400
	# Counts per round: fixed by the environment, or from probe runs.
	# (fixed counts are of 4 KiB writes: larger ones write as many bytes)
	for w in "${WORKLOADS[@]}"; do
		wl_split "$w"
		fixed=${BENCH_COUNT:-}
		probe=2560
		if [ "$WL_BASE" = sync ]; then
			fixed=${BENCH_SYNC_COUNT:-}
			probe=640
		fi
		if [ -n "$fixed" ]; then
			n=$((fixed * 4096 / WL_BS / EPOCH * EPOCH))
			[ "$n" -ge "$EPOCH" ] || n=$EPOCH
			[ "$WL_BS" = 4096 ] && n=$fixed
			COUNT[$w]=$n
		else
			calibrate "$w" "$probe"
			COUNT[$w]=$CAL
		fi
		WRITES[$w]=0 CPS[$w]=0 NS[$w]=0 DEVIOS[$w]=0
	done
	# Warm-up: every workload of one size writes a prefix of the same
	# offset sequence, so writing the longest one once allocates every
	# page null_blk will need; no timed run pays for first-touch
	# allocation.
	say "$mode: writes per round: $(for w in "${WORKLOADS[@]}"; do printf '%s=%s ' "$w" "${COUNT[$w]}"; done)"
	for sz in 4k $BENCH_SIZES; do
		wl_split "x-$sz"
		bs=$WL_BS
		max=0
		for w in "${WORKLOADS[@]}"; do
			wl_split "$w"
			[ "$WL_BS" = "$bs" ] || continue
			[ "${COUNT[$w]}" -gt "$max" ] && max=${COUNT[$w]}
		done
		[ "$max" -gt 0 ] || continue
		say "$mode: warm-up: $max writes of $sz"
		run "io_uring-nodrain-$sz" "$max"
	done
	# Rounds interleave the workloads, so that a change of speed of the
	# machine (other guests, the host) affects them all alike.
	for ((round = 1; round <= ROUNDS; round++)); do
		for w in "${WORKLOADS[@]}"; do
			say "$mode: round $round: $w (${COUNT[$w]} writes)"
			i0=$(wios)
			run "$w" "${COUNT[$w]}"
			DEVIOS[$w]=$((DEVIOS[$w] + $(wios) - i0))
			WRITES[$w]=$((WRITES[$w] + R_WRITES))
			CPS[$w]=$((CPS[$w] + R_CPS))
			NS[$w]=$((NS[$w] + R_NS))
			r=$(awk -v w="$R_WRITES" -v ns="$R_NS" 'BEGIN { printf "%.1f", w / (ns / 1e9) }')
			[ -z "$R_LAT" ] || echo "$R_LAT" >>"$LAT_TMP/$mode/$w"
			RATES[$w]="${RATES[$w]:-}${RATES[$w]:+ }$r"
		done
	done
	for w in "${WORKLOADS[@]}"; do
		merged=$((WRITES[$w] - DEVIOS[$w]))
		[ "$merged" -gt 0 ] && NOTE[$w]="  ($merged merged)"
		[ "$w" = io_uring-nodrain ] && NOTE[$w]="${NOTE[$w]:-}  (no ordering: reference)"
	done
	table "$desc" >"$LAT_TMP/$mode.table"
	cat "$LAT_TMP/$mode.table"
	lat_files "$mode" "$desc"
	nullb_remove "$DEV" || die "cannot remove null_blk $DEV"
done

# Remote sessions: the same writes from another node, and over nvme-tcp
# (tools/bench/remote.sh); its summary lines end ours.
REMOTE_SUMMARY=
if [ "${BENCH_REMOTE:-1}" != 0 ]; then
	REMOTE_SUMMARY=$(mktemp /tmp/mb_remote_summary.XXXXXX)
	BENCH_BIN=$BIN MBATCH_KO=$KO MBATCHCTL=$MBATCHCTL \
		BENCH_REMOTE_SUMMARY=$REMOTE_SUMMARY "$SRC/tools/bench/remote.sh" ||
		{ say "ERROR: the remote benchmark failed"; REMOTE_FAILED=1; }
fi

# Scaling: sessions, queues and pending results (tools/bench/scale.sh).
if [ "${BENCH_SCALE:-1}" != 0 ]; then
	BENCH_BIN=$BIN MBATCH_KO=$KO "$SRC/tools/bench/scale.sh" ||
		{ say "ERROR: the scaling benchmark failed"; SCALE_FAILED=1; }
fi

echo
for s in "${SUMMARY[@]}"; do
	echo "bench: $s"
done
if [ -n "$REMOTE_SUMMARY" ]; then
	cat "$REMOTE_SUMMARY"
	rm -f "$REMOTE_SUMMARY"
fi
if [ "$FAILED" != 0 ]; then
	die "a workload did not write what it should have (see ERROR above)"
fi
[ "${REMOTE_FAILED:-0}" = 0 ] || die "the remote benchmark failed (see above)"
[ "${SCALE_FAILED:-0}" = 0 ] || die "the scaling benchmark failed (see above)"
