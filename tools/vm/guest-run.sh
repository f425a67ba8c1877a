#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest-side test runner of the mbatch VM harness. Runs inside the VM, chrooted
# into the host root (read-only), as root. tools/vm/init starts it as
#   guest-run.sh test      load mbatch, run every selftest, unload, check
#   guest-run.sh control   load the negative-control module once per bug
#   guest-run.sh plants    load mbatch once per planted violation and run
#                          the tests that must catch it
#   guest-run.sh exec      load mbatch, run $EXEC (demo, bench), unload
# The job file written by the host (/run/mbatch-results/job) sets KVER,
# MBATCH_SRC, MBATCH_BUILD, TEST_TIMEOUT and EXEC.
#
# A test passes only if it exits 0, dmesg since its marker is free of splats,
# the taint is still exactly O+E (12288), every object the module counts
# (debug_objects) is freed again, mbatch is still loaded, and no case of it
# was skipped (a skip is reported as one, and fails the run unless
# MBATCH_EXPECTED_SKIPS names the test). The TAP
# verdict goes to ttyS1 at the very end and nowhere else, so a panic or a
# hang leaves it empty.
set -u

MODE=${1:-test}
RES=/run/mbatch-results
# shellcheck source=/dev/null
. "$RES/job"
: "${KVER:?}" "${MBATCH_SRC:?}" "${MBATCH_BUILD:?}"
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
# The selftests load the test build (fault injection knobs, kmod/fault.h);
# the release build is loaded once on its own and must have none.
KO=$MBATCH_BUILD/$KVER/test/kmod/mbatch.ko
RELEASE_KO=$MBATCH_BUILD/$KVER/kmod/mbatch.ko
CTL_KO=$MBATCH_BUILD/$KVER/control/mbatch_control.ko
MBATCHCTL=$MBATCH_SRC/tools/mbatchctl/mbatchctl
TESTDIR=$MBATCH_SRC/selftests/mbatch
TEST_BUILD=$MBATCH_BUILD/selftests
TAINT_OK=12288
SPLAT='BUG:|WARNING:|Oops|general protection fault|Call Trace:|refcount_t:|Objects remaining|Redzone|Poison|scheduling while atomic|possible recursive locking|self-detected stall|detected stalls|list_add corruption|list_del corruption|UBSAN:|KFENCE:|kernel BUG|INFO: task .* blocked'
VERDICT=$RES/verdict.tap
LOGS=$RES/logs
export MBATCH_KO=$KO MBATCHCTL MBATCH_SRC KVER MBATCH_BUILD

mkdir -p "$LOGS"
: >"$VERDICT"
n=0
npass=0
nfail=0
nskip=0
MOD_ARGS=()

log() { echo "guest-run: $*"; }
taint() { cat /proc/sys/kernel/tainted; }
safe() { echo "$1" | tr -c 'A-Za-z0-9_.+-' '_'; }

tap() {	# tap ok|fail|skip NAME [REASON]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		npass=$((npass + 1))
		echo "ok $n $KVER $2" >>"$VERDICT"
	elif [ "$1" = skip ]; then
		nskip=$((nskip + 1))
		echo "ok $n $KVER $2 # SKIP ${3:-}" >>"$VERDICT"
	else
		nfail=$((nfail + 1))
		echo "not ok $n $KVER $2 - ${3:-failed}" >>"$VERDICT"
	fi
	tail -n 1 "$VERDICT"
}

note() { echo "# $*" >>"$VERDICT"; }

MARK_SEQ=0
mark() {	# mark LABEL: writes a unique marker to the kernel log, sets MARK
	MARK_SEQ=$((MARK_SEQ + 1))
	MARK="mbatch-harness: mark $MARK_SEQ $1 $$"
	echo "$MARK" >/dev/kmsg
}

# scan_since FILE: dmesg since $MARK into FILE; returns 1 and sets SCAN_HIT
# when a splat (or a lost marker) is found.
scan_since() {
	local out=$1
	dmesg >"$out.all" 2>&1
	if ! grep -qF "$MARK" "$out.all"; then
		SCAN_HIT="marker lost from the kernel log"
		rm -f "$out.all"
		return 1
	fi
	awk -v m="$MARK" 'f; index($0, m) { f = 1 }' "$out.all" >"$out"
	rm -f "$out.all"
	SCAN_HIT=$(grep -E -m 3 "$SPLAT" "$out" | tr '\n' '|')
	[ -z "$SCAN_HIT" ]
}

# check NAME TAINT_BEFORE: the after-test checks shared by every test and by
# the negative control. Sets WHY (empty when clean) and DETECT (which checks
# fired).
check() {
	local name=$1 before=$2 after
	WHY=
	DETECT=
	if ! scan_since "$LOGS/$name.dmesg"; then
		DETECT="dmesg[$SCAN_HIT]"
		WHY="$WHY dmesg: $SCAN_HIT;"
	fi
	after=$(taint)
	# Bits other than O and E that this test set, then the absolute rule.
	if [ $((after & ~before & ~TAINT_OK)) != 0 ]; then
		DETECT="$DETECT taint[$before->$after]"
		WHY="$WHY taint $before -> $after;"
	elif [ "$after" != "$TAINT_OK" ]; then
		WHY="$WHY taint $after != $TAINT_OK;"
	fi
	objects_check
}

# The test build counts the objects of each type alive: after a test none
# is left (what is freed from a work item gets 5 s).
objects_check() {
	local f=/sys/module/mbatch/parameters/debug_objects left i
	if [ ! -r "$f" ]; then
		# unloaded by the test is fine; a live test build must count
		module_live && WHY="$WHY the live module has no debug_objects;"
		return 0
	fi
	for i in $(seq 50); do
		left=$(tr ' ' '\n' <"$f" | grep -v '=0$' | tr '\n' ' ')
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	DETECT="$DETECT objects[$left]"
	WHY="$WHY objects left: $left;"
}

module_live() {
	[ "$(cat /sys/module/mbatch/initstate 2>/dev/null)" = live ]
}

# The release module: loads, answers, has no fault knobs, unloads clean.
check_release() {
	local before why=
	before=$(taint)
	mark release
	modprobe libcrc32c >/dev/null 2>&1 || true
	if ! insmod "$RELEASE_KO" >"$LOGS/release.log" 2>&1; then
		tap fail release-module "insmod $RELEASE_KO: $(tr '\n' ' ' <"$LOGS/release.log")"
		return 1
	fi
	compgen -G '/sys/module/mbatch/parameters/fault_*' >/dev/null &&
		why="$why fault knobs in a release build;"
	"$MBATCHCTL" version >>"$LOGS/release.log" 2>&1 ||
		why="$why mbatchctl version failed;"
	rmmod mbatch >>"$LOGS/release.log" 2>&1 || why="$why rmmod failed;"
	check release "$before"
	why="$why$WHY"
	if [ -n "$why" ]; then
		tap fail release-module "$why"
		return 1
	fi
	tap ok release-module
}

load_mbatch() {
	local before
	before=$(taint)
	mark load
	modprobe libcrc32c >/dev/null 2>&1 || true
	if ! insmod "$KO" >"$LOGS/load.log" 2>&1; then
		tap fail "load" "insmod $KO: $(tr '\n' ' ' <"$LOGS/load.log")"
		return 1
	fi
	check load "$before"
	if [ "$(taint)" != "$TAINT_OK" ]; then
		WHY="$WHY taint after insmod $(taint) != $TAINT_OK;"
	fi
	if [ -n "$WHY" ]; then
		tap fail load "$WHY"
		return 1
	fi
	SLAB_BASE=$(slab_counts | tr '\n' ' ')
	[ -n "$SLAB_BASE" ] && note "slab objects in use after load: $SLAB_BASE"
	tap ok load
}

# exec_test NAME ID CWD CMD...: one selftest with every after-test check;
# sets WHY (why it failed, empty if it passed), SKIPPED (why it skipped)
# and OUT (its log).
exec_test() {
	local name=$1 id=$2 cwd=$3 before rc t0 nsk
	shift 3
	OUT=${RUN_LOG:-$LOGS/$id.log}
	before=$(taint)
	mark "begin $name"
	log "running $name"
	t0=$(date +%s)
	(cd "$cwd" && exec timeout -k 10 "$TEST_TIMEOUT" "$@") \
		</dev/null >"$OUT" 2>&1
	rc=$?
	note "$name: exit $rc after $(($(date +%s) - t0)) s"
	check "$id" "$before"
	SKIPPED=
	case $rc in
	0) ;;
	4) SKIPPED="exit 4 (KSFT_SKIP)" ;;
	124 | 137) WHY="$WHY timed out after ${TEST_TIMEOUT}s;" ;;
	*) WHY="$WHY exit $rc;" ;;
	esac
	# A kselftest_harness case that skipped is "ok N name # SKIP reason".
	nsk=$(grep -cE '^ok [0-9]+ .*# SKIP' "$OUT")
	if [ "$nsk" -gt 0 ]; then
		SKIPPED="$nsk case(s) skipped: $(grep -m 1 -E '^ok [0-9]+ .*# SKIP' "$OUT" |
			sed 's/^ok [0-9]* //')"
	fi
	if ! module_live; then
		WHY="$WHY mbatch not loaded after the test;"
		insmod "$KO" "${MOD_ARGS[@]}" >/dev/null 2>&1 || true
	fi
}

# run_test NAME CWD CMD...: one selftest, reported.
run_test() {
	local name=$1 cwd=$2 id
	shift 2
	id=$(printf '%03d-%s' $((n + 1)) "$(safe "$name")")
	exec_test "$name" "$id" "$cwd" "$@"
	if [ -n "$WHY" ]; then
		tap fail "$name" "$WHY"
		tail -n 20 "$OUT" | sed 's/^/#   /' >>"$VERDICT"
	elif [ -n "$SKIPPED" ] && grep -qw -- "$name" <<<"${MBATCH_EXPECTED_SKIPS:-}"; then
		tap skip "$name" "expected: $SKIPPED"
	elif [ -n "$SKIPPED" ]; then
		tap skip "$name" "$SKIPPED"
	else
		tap ok "$name"
	fi
}

run_selftests() {
	local t list
	if ! list=$(make -s --no-print-directory -C "$TESTDIR" print-tests); then
		tap fail "print-tests" "make print-tests failed"
		return
	fi
	for t in $list; do
		# MBATCH_TESTS (job file): run only these, for a quick loop
		if [ -n "${MBATCH_TESTS:-}" ] &&
		   ! grep -qw -- "$t" <<<"$MBATCH_TESTS"; then
			continue
		fi
		case $t in
		*.sh) run_test "$t" "$TESTDIR" bash "$TESTDIR/$t" ;;
		*) run_test "$t" "$TEST_BUILD" "$TEST_BUILD/$t" ;;
		esac
	done
}

# slab_counts: "cache=objects in use" for the module's caches (mbatch*).
# SLUB counts the free objects of per-cpu slabs as active: shrinking the
# cache first flushes those.
slab_counts() {
	local c
	for c in /sys/kernel/slab/mbatch*/shrink; do
		[ -e "$c" ] && echo 1 >"$c"
	done
	awk '$1 ~ /^mbatch/ { print $1 "=" $2 }' /proc/slabinfo
}
SLAB_BASE=

# vmalloc areas whose caller is in mbatch, one address range per line
vmalloc_areas() { grep -F '[mbatch]' /proc/vmallocinfo | awk '{ print $1 }'; }

final_checks() {
	local i c refcnt busy areas left before
	before=$(taint)

	refcnt=$(cat /sys/module/mbatch/refcnt 2>/dev/null)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ "$refcnt" = 0 ] && break
		sleep 0.5
		refcnt=$(cat /sys/module/mbatch/refcnt 2>/dev/null)
	done
	if [ "$refcnt" = 0 ]; then
		tap ok final-refcnt
	else
		tap fail final-refcnt "refcnt '$refcnt' before rmmod"
	fi

	# Objects in use in the module's caches may not exceed what was in use
	# right after the first load (a mempool's reserve, for instance).
	for i in 1 2 3 4 5 6 7 8 9 10; do
		busy=$(slab_counts | awk -v base="$SLAB_BASE" '
			BEGIN { n = split(base, b, " ")
				for (j = 1; j <= n; j++) {
					split(b[j], kv, "="); ref[kv[1]] = kv[2] } }
			{ split($0, kv, "=")
			  if (kv[2] > ref[kv[1]] + 0)
				printf "%s=%s (at load %d) ", kv[1], kv[2], ref[kv[1]] }')
		[ -z "$busy" ] && break
		sleep 0.5
	done

	areas=$(vmalloc_areas)
	mark "rmmod"
	if ! rmmod mbatch >"$LOGS/rmmod.log" 2>&1; then
		WHY="rmmod failed: $(tr '\n' ' ' <"$LOGS/rmmod.log");"
	else
		WHY=
	fi
	local why_rmmod=$WHY
	check rmmod "$before"
	WHY="$why_rmmod$WHY"
	[ -e /sys/module/mbatch ] && WHY="$WHY /sys/module/mbatch still there;"
	if [ -n "$WHY" ]; then
		tap fail final-rmmod "$WHY"
	else
		tap ok final-rmmod
	fi

	# After rmmod the module's caches must be gone: kmem_cache_destroy
	# keeps a cache that still holds objects.
	c=$(awk '$1 ~ /^mbatch/ { printf "%s ", $1 }' /proc/slabinfo)
	[ -n "$c" ] && busy="$busy caches left after rmmod: $c"
	if [ -z "$busy" ]; then
		tap ok final-slab-empty
	else
		tap fail final-slab-empty "$busy"
	fi

	left=$(grep -c mbatch /proc/vmallocinfo)
	for i in $areas; do
		grep -q "^$i " /proc/vmallocinfo && left=$((left + 1))
	done
	if [ "$left" = 0 ]; then
		tap ok final-vmalloc
	else
		tap fail final-vmalloc "$left vmalloc areas of mbatch left"
	fi
}

run_control() {
	local bug before rc caught=0 total=0 id ok=1
	if [ ! -f "$CTL_KO" ]; then
		tap fail control "$CTL_KO not built"
		return
	fi
	# The clean load first, while the taint is pristine. Order matters only
	# for the report: every check is per load.
	for bug in none redzone refcount warn leak; do
		id=$(printf 'control-%s' "$bug")
		before=$(taint)
		mark "begin $id"
		log "control: bug=$bug"
		{ insmod "$CTL_KO" "bug=$bug" && rmmod mbatch_control; } \
			>"$LOGS/$id.log" 2>&1
		rc=$?
		check "$id" "$before"
		if [ "$bug" = none ]; then
			if [ $rc -ne 0 ] || [ -n "$WHY" ]; then
				ok=0
				note "control bug=none: FLAGGED a clean load (rc $rc):$WHY"
			else
				note "control bug=none: clean, not flagged"
			fi
			continue
		fi
		total=$((total + 1))
		if [ $rc -ne 0 ]; then
			ok=0
			note "control bug=$bug: load/unload failed (rc $rc)"
		elif [ -n "$DETECT" ]; then
			caught=$((caught + 1))
			note "control bug=$bug: caught by$(echo " $DETECT" | tr -s ' ')"
		else
			ok=0
			note "control bug=$bug: NOT caught"
		fi
	done
	if [ $ok = 1 ] && [ $caught = "$total" ]; then
		tap ok control "all $total planted bugs caught, clean load clean"
	else
		tap fail control "caught $caught of $total planted bugs"
	fi
}

# Planted violations of the test build (kmod/fault.h: plant=N) and the
# tests that must catch each: a plant is caught when one of them fails or
# an after-test check fires; every test of the list runs, and the log names
# each that caught it. The control passes only if every plant is caught.
# id name spec...: each spec is a selftest, or TEST:CASE,CASE to run only
# those cases of it (MB_TEST_ONLY, selftests/mbatch/mb_harness.h); the
# first spec that fails catches the plant and the rest do not run.
PLANTS=(
	"1 early-checkpoint mb_order:order.barrier_random mb_devorder"
	"2 merge-across-checkpoint mb_order:order.barrier_random mb_devorder"
	"3 resent-runs-twice mb_cuts:cuts.failstop_cancel_exactly_once"
	"4 cancelled-runs mb_cuts:cuts.failstop_cancel_exactly_once"
	"5 drop-result mb_collect:collect.redelivery_ack_and_sequence"
	"6 duplicate-result mb_collect:collect.redelivery_ack_and_sequence"
	"7 leak-peer mb_cuts:cuts.failstop_cancel_exactly_once"
)

test_cmd() {	# test_cmd NAME: the cwd and command of a selftest, in CMD
	case $1 in
	*.sh) CMD=("$TESTDIR" bash "$TESTDIR/$1") ;;
	*) CMD=("$TEST_BUILD" "$TEST_BUILD/$1") ;;
	esac
}

# spec_cmd SPEC: test_cmd for a plant's TEST[:CASES]
spec_cmd() {
	test_cmd "${1%%:*}"
	case $1 in
	*:*) CMD=("${CMD[0]}" env "MB_TEST_ONLY=${1#*:}" "${CMD[@]:1}") ;;
	esac
}

# plant_load ARGS...: (re)load the test build with these parameters
plant_load() {
	local i
	for i in $(seq 20); do
		module_live || break
		rmmod mbatch >/dev/null 2>&1 && break
		sleep 0.5
	done
	MOD_ARGS=("$@")
	insmod "$KO" "${MOD_ARGS[@]}"
}

run_plants() {
	local line id name tests t caught total=0 ncaught=0 all='' ok=1
	declare -A good
	modprobe libcrc32c >/dev/null 2>&1 || true
	# Without a plant first: a test catches a plant only if it passes
	# without one.
	for line in "${PLANTS[@]}"; do
		read -r id name tests <<<"$line"
		all="$all $tests"
	done
	if ! plant_load >"$LOGS/plant-none.log" 2>&1; then
		tap fail plants "insmod without a plant failed"
		return
	fi
	for t in $(tr ' ' '\n' <<<"$all" | sort -u); do
		spec_cmd "$t"
		log "plants: $t without a plant"
		exec_test "$t" "plant-none-$(safe "$t")" "${CMD[@]}"
		# A case filter that matches nothing runs nothing: not a catch.
		case $t in
		*:*) [ -n "$WHY" ] || grep -q '^ok 1 ' "$OUT" || WHY=" ran no case;" ;;
		esac
		if [ -z "$WHY" ]; then
			good[$t]=1
		else
			ok=0
			note "plants: $t fails without a plant:$WHY"
		fi
	done
	for line in "${PLANTS[@]}"; do
		read -r id name tests <<<"$line"
		total=$((total + 1))
		if ! plant_load "plant=$id" >"$LOGS/plant-$name.log" 2>&1; then
			note "plant $name: insmod failed: $(tr '\n' ' ' <"$LOGS/plant-$name.log")"
			continue
		fi
		caught=
		for t in $tests; do
			[ -n "${good[$t]:-}" ] || continue
			spec_cmd "$t"
			log "plant $name: running $t"
			exec_test "$t" "plant-$name-$(safe "$t")" "${CMD[@]}"
			if [ -n "$WHY" ]; then
				caught="$t ($(echo "$WHY" | cut -c 1-120))"
				break
			fi
		done
		if [ -n "$caught" ]; then
			ncaught=$((ncaught + 1))
			note "plant $name: caught by $caught"
		else
			note "plant $name: NOT caught by $tests"
		fi
	done
	plant_load >/dev/null 2>&1
	rmmod mbatch >/dev/null 2>&1
	MOD_ARGS=()
	if [ "$ok" = 1 ] && [ "$ncaught" = "$total" ]; then
		tap ok plants "all $total planted violations caught"
	else
		tap fail plants "caught $ncaught of $total planted violations"
	fi
}

run_exec() {
	if [ -z "${EXEC:-}" ] || [ ! -f "$MBATCH_SRC/$EXEC" ]; then
		echo "${EXEC:-exec}: not yet" >"$RES/exec.log"
		tap fail "${EXEC:-exec}" "not yet"
		return
	fi
	# Files of the script (bench.sh: tables, latency histograms) reach
	# the host in share/bench/.
	export BENCH_OUT=$RES/bench
	RUN_LOG=$RES/exec.log run_test "$EXEC" "$MBATCH_SRC" \
		bash "$MBATCH_SRC/$EXEC"
}

log "mode $MODE, kernel $(uname -r), taint $(taint)"
case $MODE in
test | exec)
	[ "$MODE" = test ] && check_release
	if load_mbatch; then
		if [ "$MODE" = test ]; then
			run_selftests
		else
			run_exec
		fi
		if module_live; then
			final_checks
		else
			tap fail final-rmmod "mbatch not loaded at the end"
		fi
	fi
	;;
control)
	run_control
	;;
plants)
	run_plants
	;;
*)
	tap fail "mode-$MODE" "unknown mode"
	;;
esac

{
	echo "1..$n"
	echo "# $KVER $MODE: $npass passed, $nfail failed, $nskip skipped"
	echo "# verdict-end"
} >>"$VERDICT"
sync
# The only write to ttyS1, last.
cat "$VERDICT" >/dev/ttyS1
exit 0
