#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The mbatch demo, run inside the test VM by "make demo": a memory-backed
# null_blk device with a flash-like completion delay, a queue on it, and one
# batch script with checkpoints run through mbatchctl. Then a second node
# (a network namespace with its own device, queue q0 and "mbatchctl serve"
# daemon, joined to this one by a veth pair) runs the same script on its
# queue for this node: "mbatchctl run q0@nodeb". Nothing here touches the
# host's kernel.
set -euo pipefail

SRC=${MBATCH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
CTL=${MBATCHCTL:-$SRC/tools/mbatchctl/mbatchctl}
NB=/sys/kernel/config/nullb/mbdemo
NBB=/sys/kernel/config/nullb/mbdemob
NSB=mbdemo-nodeb
PORT=7702
DAEMONS=()
TMPD=$(mktemp -d)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

nullb_off() {
	if [ -d "$1" ]; then
		echo 0 >"$1/power" 2>/dev/null || true
		rmdir "$1" 2>/dev/null || true
	fi
}

cleanup() {
	local p
	for p in "${DAEMONS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	"$CTL" queue del demo >/dev/null 2>&1 || true
	"$CTL" peer del nodeb >/dev/null 2>&1 || true
	ip netns del "$NSB" 2>/dev/null || true
	nullb_off "$NB"
	for _ in 1 2 3 4 5; do
		nullb_off "$NBB"
		[ -d "$NBB" ] || break
		sleep 0.5
	done
	rm -rf "$TMPD"
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

say "one request each, from a shell: session open prints ID:HANDLE"
sid=$("$CTL" session open demo)
# shellcheck disable=SC2016 # the command as typed
printf '$ sid=$(mbatchctl session open demo)    # %s\n' "$sid"
run "$CTL" submit "$sid" "write 0 4K" "read 0 4K" "checkpoint"
run "$CTL" collect "$sid" wait-epoch 0 timeout 5000
run "$CTL" session close "$sid"

say "queue statistics"
run "$CTL" stats demo

say "done: deleting the queue"
run "$CTL" queue del demo

# --- a second node --------------------------------------------------------
if ! "$CTL" --json version | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["features_mask"] & 2 else 1)  # MBATCH_FEAT_REMOTE'; then
	say "this mbatch has no remote sessions: the second node is skipped"
	exit 0
fi
say "a second node: network namespace $NSB, its own device, queue q0"
modprobe libcrc32c 2>/dev/null || true
modprobe veth
mkdir -p "$NBB"
echo 64 >"$NBB/size"
echo 4096 >"$NBB/blocksize"
echo 1 >"$NBB/memory_backed"
echo 2 >"$NBB/irqmode"
echo 50000 >"$NBB/completion_nsec"
echo 1 >"$NBB/discard"
echo 8 >"$NBB/cache_size"
echo 1 >"$NBB/power"
nodeb() { ip netns exec "$NSB" "$@"; }
ip netns add "$NSB"
ip link add tob type veth peer name toa netns "$NSB"
ip addr add 10.79.0.1/24 dev tob
ip link set tob up
nodeb ip link set lo up
nodeb ip addr add 10.79.0.2/24 dev toa
nodeb ip link set toa up
run nodeb "$CTL" queue add q0 dev /dev/mbdemob depth 16

say "peers: one key for both nodes; this node dials nodeb"
head -c 32 /dev/urandom >"$TMPD/key"
chmod 600 "$TMPD/key"
run "$CTL" peer add nodeb 10.79.0.2:$PORT --psk-file "$TMPD/key"
run nodeb "$CTL" peer add nodea --psk-file "$TMPD/key"
printf '$ %s &\n' "mbatchctl serve --name nodea --listen 0.0.0.0:$PORT"
"$CTL" serve --name nodea --listen "0.0.0.0:$PORT" 2>"$TMPD/a.log" &
DAEMONS+=($!)
printf '$ %s &\n' "nodeb mbatchctl serve --name nodeb --listen 0.0.0.0:$PORT"
nodeb "$CTL" serve --name nodeb --listen "0.0.0.0:$PORT" 2>"$TMPD/b.log" &
DAEMONS+=($!)
for _ in $(seq 1 100); do
	"$CTL" --json peer show nodeb | grep -Eq '"state": ?"up"' && break
	sleep 0.2
done
run "$CTL" peer show nodeb

say "the same script on nodeb's queue: mbatchctl run q0@nodeb"
run "$CTL" run q0@nodeb -f "$script"

say "the link after the run"
run "$CTL" peer show nodeb
say "done: stopping the daemons, deleting peers, queue and namespace"
for p in "${DAEMONS[@]}"; do
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
DAEMONS=()
run "$CTL" peer del nodeb
run nodeb "$CTL" peer del nodea
run nodeb "$CTL" queue del q0
ip netns del "$NSB"
rm -f "$script"
