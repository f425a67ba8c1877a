# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# What the bench scripts (bench.sh, scale.sh, remote.sh, profile.sh) share:
# loading the modules they need and making memory-backed null_blk devices
# through configfs. Sourced; the script defines say() and die().

NULLB_CFG=/sys/kernel/config/nullb
BENCH_LOADED_NULLB=0	# 1: bench_load() loaded it, bench_unload() unloads it
BENCH_LOADED_MBATCH=0

# bench_load KO: configfs mounted, null_blk and mbatch (from KO) loaded
bench_load() {
	if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
		modprobe configfs 2>/dev/null || true
		mount -t configfs none /sys/kernel/config 2>/dev/null || true
	fi
	if [ ! -d /sys/module/null_blk ]; then
		modprobe null_blk nr_devices=0 || die "cannot load null_blk"
		BENCH_LOADED_NULLB=1
	fi
	[ -d "$NULLB_CFG" ] || die "null_blk has no configfs interface ($NULLB_CFG)"
	if [ ! -d /sys/module/mbatch ]; then
		[ -f "$1" ] || die "mbatch is not loaded and $1 does not exist"
		modprobe libcrc32c 2>/dev/null || true	# insmod loads no dependencies
		insmod "$1" || die "insmod $1 failed"
		BENCH_LOADED_MBATCH=1
	fi
}

# bench_unload: unload what bench_load() loaded
bench_unload() {
	if [ "$BENCH_LOADED_MBATCH" = 1 ]; then
		rmmod mbatch || say "warning: rmmod mbatch failed"
		BENCH_LOADED_MBATCH=0
	fi
	if [ "$BENCH_LOADED_NULLB" = 1 ]; then
		rmmod null_blk || say "warning: rmmod null_blk failed"
		BENCH_LOADED_NULLB=0
	fi
}

# dev_wait NAME: wait for /dev/NAME (block device NAME in sysfs), making the
# node when no one else does (no udev in the VM); 1 if it never came
dev_wait() {
	local i v
	for ((i = 0; i < 100; i++)); do
		[ -b "/dev/$1" ] && return 0
		if [ -r "/sys/block/$1/dev" ] && [ $i -gt 10 ]; then
			v=$(cat "/sys/block/$1/dev")
			mknod "/dev/$1" b "${v%%:*}" "${v##*:}" 2>/dev/null || true
		fi
		sleep 0.05
	done
	return 1
}

# nullb_new NAME KEY=VALUE...: /dev/NAME, a memory-backed null_blk device of
# 4 KiB blocks with those configfs attributes (size in MiB, hw_queue_depth,
# irqmode, completion_nsec, ...), powered on
nullb_new() {
	local name=$1 d=$NULLB_CFG/$1 kv
	shift
	mkdir "$d" || die "mkdir $d"
	# memory_backed and blocksize first: the others may depend on them
	echo 1 >"$d/memory_backed"
	echo 4096 >"$d/blocksize"
	for kv in "$@"; do
		echo "${kv#*=}" >"$d/${kv%%=*}" || die "null_blk: cannot set $kv"
	done
	echo 1 >"$d/power" || die "null_blk: cannot power on $name"
	dev_wait "$name" || die "/dev/$name did not appear"
}

# nullb_remove NAME: power it off and remove it (nothing if it is not
# there); a user that just let go of it (nvmet) may hold it a moment longer
nullb_remove() {
	local d=$NULLB_CFG/$1 i
	for ((i = 0; i < 10; i++)); do
		[ -d "$d" ] || break
		echo 0 >"$d/power" 2>/dev/null || true
		rmdir "$d" 2>/dev/null && break
		sleep 0.5
	done
	[ -d "$d" ] && return 1
	if [ -b "/dev/$1" ] && [ ! -e "/sys/block/$1" ]; then
		rm -f "/dev/$1"
	fi
	return 0
}

# perf_syms KALLSYMS: stdin to stdout, kernel addresses perf report left
# raw (0xffffffff...) and offsets into a module ([mod] 0x...) named from
# KALLSYMS and the modules' .text sections. perf 6.1 resolves none when a
# recorded process entered another mount namespace (ip netns exec).
perf_syms() {
	python3 -c '
import bisect, glob, re, sys
addrs, names = [], []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 3 and f[1] in "tTwW" and int(f[0], 16):
        addrs.append(int(f[0], 16))
        names.append(f[2])
order = sorted(range(len(addrs)), key=addrs.__getitem__)
addrs = [addrs[i] for i in order]
names = [names[i] for i in order]
text = {}
for p in glob.glob("/sys/module/*/sections/.text"):
    try:
        text[p.split("/")[3]] = int(open(p).read(), 16)
    except (OSError, ValueError):
        pass
def name(a):
    i = bisect.bisect_right(addrs, a) - 1
    return "%s+0x%x" % (names[i], a - addrs[i]) if i >= 0 else hex(a)
def mod(m):
    base = text.get(m.group(1))
    if base is None:
        return m.group(0)
    return "[%s]%s%s" % (m.group(1), m.group(2), name(base + int(m.group(3), 16)))
for line in sys.stdin:
    line = re.sub(r"\[(\w+)\](\s+\[k\] )0x0*([0-9a-f]{1,8})\b", mod, line)
    line = re.sub(r"0x(ffffffff[0-9a-f]{8})\b", lambda m: name(int(m.group(1), 16)), line)
    sys.stdout.write(line)
' "$1"
}

# perf_top DATA TOP: where the samples of perf.data file DATA went, system
# wide: the share per module, the TOP symbols, and who called those above
# 5 % (under TCG the time with interrupts off is charged to the unlock that
# enables them). The module is not under /lib/modules: its symbols come
# from /proc/kallsyms, copied while it is still loaded.
perf_top() {
	local data=$1 top=$2 kdir ksyms
	kdir=$(mktemp -d /tmp/mbatch-perf.XXXXXX)
	ksyms=$kdir/kallsyms
	cp /proc/kallsyms "$ksyms"
	echo "-- by module (share of all samples, every CPU)"
	perf report -q -i "$data" --kallsyms "$ksyms" --no-children --sort dso \
		-g none --percent-limit 1 --stdio 2>/dev/null | awk 'NF && n++ < 15'
	echo "-- by symbol"
	perf report -q -i "$data" --kallsyms "$ksyms" --no-children \
		--sort dso,sym -g none --percent-limit 0.3 --stdio 2>/dev/null |
		sed '/^$/d' | awk -v top="$top" 'n++ < top' | perf_syms "$ksyms"
	echo "-- callers of the symbols above 5 %"
	perf report -q -i "$data" --kallsyms "$ksyms" --no-children --sort sym \
		--percent-limit 5 -g graph,2,callee,function,percent --stdio \
		2>/dev/null | sed '/^$/d' | awk -v top="$((top * 3))" 'n++ < top' |
		perf_syms "$ksyms"
	rm -rf "$kdir"
}
