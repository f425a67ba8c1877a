#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The mbatch demo, run inside the test VM by "make demo": a memory-backed
# null_blk device with a flash-like completion delay, a queue on it, and one
# batch script with checkpoints run through mbatchctl. Nothing here touches
# the host's kernel.
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
CTL=${MBATCHCTL:-$SRC/tools/mbatchctl/mbatchctl}
NB=/sys/kernel/config/nullb/mbdemo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	"$CTL" queue del demo >/dev/null 2>&1 || true
	if [ -d "$NB" ]; then
		echo 0 >"$NB/power" 2>/dev/null || true
		rmdir "$NB" 2>/dev/null || true
	fi
}
trap cleanup EXIT

modprobe null_blk nr_devices=0
mkdir -p "$NB"
echo 64 >"$NB/size"		# MiB
echo 4096 >"$NB/blocksize"
echo 1 >"$NB/memory_backed"
echo 2 >"$NB/irqmode"		# timer completion ...
echo 50000 >"$NB/completion_nsec"	# ... after 50 us, like flash
echo 1 >"$NB/discard"
echo 8 >"$NB/cache_size"	# a volatile cache: flushes are real
echo 1 >"$NB/power"

say "the module and the tool"
run "$CTL" version

say "a queue on /dev/mbdemo, 16 commands in flight at most"
run "$CTL" queue add demo dev /dev/mbdemo depth 16
run "$CTL" queue show demo

script=$(mktemp)
cat >"$script" <<'SCRIPT'
# Epoch 0: four writes the module may run in any order (it sorts them by
# offset and merges the contiguous ones), then a durable checkpoint.
write 48K 4K
write 0 4K
write 4K 4K
write 8K 4K
checkpoint durable
# Epoch 1: starts only after everything above completed and was flushed.
read 0 12K
read 48K 4K
write-zeroes 4K 4K
checkpoint
read 0 12K
SCRIPT

say "a batch script with two checkpoints"
cat "$script"

say "mbatchctl run: one owned session, one submit, results collected in bulk"
run "$CTL" run demo -f "$script"

say "the same, as JSON (first result shown)"
"$CTL" --json run demo -f "$script" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["results"][0] if "results" in d else d, indent=1))'

say "queue statistics"
run "$CTL" stats demo

say "done: deleting the queue"
run "$CTL" queue del demo
rm -f "$script"
