#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End-to-end check of mbatchctl against the loaded module, on a memory-backed
# null_blk device. Needs root, the mbatch module loaded and configfs
# null_blk; meant for the VM harness:
#   tools/vm/check.sh --exec tools/mbatchctl/vm-smoke.sh KVER
# Exit 0 when every step passed.
# shellcheck source-path=SCRIPTDIR source=../../selftests/mbatch/lib.sh
. "$(dirname "$0")/../../selftests/mbatch/lib.sh"

CTL=${MBATCHCTL:-$MBATCH_SRC/tools/mbatchctl/mbatchctl}
TMP=$(mktemp -d)
on_exit rm -rf "$TMP"

# t DESC WANT-EXIT CMD...: runs CMD, stdout in $TMP/out, stderr in $TMP/err
t() {
	local desc=$1 want=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		log "ok: $desc"
	else
		fail "$desc: exit $rc, expected $want"
		sed 's/^/#   /' "$TMP/err" | head -20
	fi
}

# j DESC PYTHON-EXPR: d is the JSON document in $TMP/out
j() {
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$TMP/out" "$2" 2>"$TMP/pyerr"; then
		log "ok: $1"
	else
		fail "$1"
		sed 's/^/#   /' "$TMP/pyerr" "$TMP/out" | head -30
	fi
}

has() {	# has FILE TEXT DESC
	if grep -qF -- "$2" "$1"; then
		log "ok: $3"
	else
		fail "$3: '$2' not in $(basename "$1")"
		sed 's/^/#   /' "$1" | head -20
	fi
}

mb_loaded || die "mbatch is not loaded"
dev=$(uniq_name mbctl)
nullb_create "$dev" size=64 blocksize=512 discard=1 >/dev/null || skip "no null_blk"
on_exit nullb_remove "$dev"
q=$(uniq_name q)

t "version" 0 "$CTL" version
has "$TMP/out" "family     mbatch version 2" "version names the family"
has "$TMP/out" "limits     read/write " "version prints the limits"
t "version --json" 0 "$CTL" --json version
j "version: module loaded, features" 'd["module_loaded"] and d["family_version"] == 2 and "local" in d["features"]'
j "version: the run-time limits" 'd["limits"]["max_io"] >= 4096 and d["limits"]["batch_msgs"] >= 1 and d["limits"]["request_bytes"] > d["limits"]["max_io"] and d["limits"]["reply_bytes"] > 0'

t "queue add" 0 "$CTL" queue add "$q" dev "/dev/$dev" depth 8 max-cmds 256 max-bytes 4M
on_exit "$CTL" queue del "$q"
t "queue add duplicate refused" 1 "$CTL" queue add "$q" dev "/dev/$dev"
t "queue show --json" 0 "$CTL" --json queue show "$q"
j "queue attributes" "d['queues'][0]['name'] == '$q' and d['queues'][0]['block_size'] == 512 and d['queues'][0]['depth'] == 8 and d['queues'][0]['max_cmds'] == 256 and d['queues'][0]['capacity'] == 64 << 20"
t "queue show (dump)" 0 "$CTL" queue show
has "$TMP/out" "$q" "the dump lists the queue"

# --- run: a script with two epochs, data checked from the offset pattern
cat >"$TMP/a.mb" <<'MB'
write 0 4K
write 4K 4K pattern 0xab
write 8K 4K seq 7
write 12K 512 hex 0123456789abcdef
checkpoint durable
read 0 12800
batch
discard 1M 64K
write-zeroes 2M 64K
checkpoint
read 1M 4K
read 2M 4K
flush
checkpoint continue
MB
t "run" 0 "$CTL" --json run "$q" -f "$TMP/a.mb" data
j "run: every message has exactly one result, all ok" 'd["submitted"] == 13 and d["received"] == 13 and d["failed"] == 0 and d["duplicates"] == 0 and sorted(r["seq"] for r in d["results"]) == list(range(1, 14))'
j "run: every result is done" 'all(r["outcome"] == "done" for r in d["results"])'
j "run: results carry the script line" 'sorted(r["line"] for r in d["results"]) == list(range(1, 7)) + list(range(8, 15))'
python3 - "$TMP/exp" <<'PY'
import sys
M = (1 << 64) - 1
def sm(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)
b = b''.join((0x6d62000000000000 + o).to_bytes(8, 'little') for o in range(0, 4096, 8))
b += b'\xab' * 4096
b += b''.join(sm(7 + o // 8).to_bytes(8, 'little') for o in range(8192, 12288, 8))
b += bytes.fromhex('0123456789abcdef') * 64
open(sys.argv[1], 'w').write(b.hex())
PY
j "run: read returns what the writes wrote" "[r for r in d['results'] if r['line'] == 6][0]['data'] == open('$TMP/exp').read()"
j "run: discard and write-zeroes read back as zeroes" "all(r['data'] == '00' * 4096 for r in d['results'] if r['line'] in (11, 12))"
j "run: every epoch completes before the next starts" 'all(max(r["done_ns"] for r in d["results"] if r["epoch"] == e) <= min(r["start_ns"] for r in d["results"] if r["epoch"] == e + 1 and r["start_ns"]) for e in range(2))'
dd if="/dev/$dev" bs=4096 count=1 iflag=direct 2>/dev/null | od -An -tx1 -v | tr -d ' \n' >"$TMP/dd"
if [ "$(cat "$TMP/dd")" = "$(head -c 8192 "$TMP/exp")" ]; then
	log "ok: dd of the device shows the offset pattern"
else
	fail "dd of the device differs from the offset pattern"
fi
t "run (human output)" 0 "$CTL" run "$q" -f "$TMP/a.mb"
has "$TMP/out" "13 results, 0 failed" "human summary"
has "$TMP/out" " OUTCOME " "the table has an outcome column"

# --- batches larger than the socket buffer and than the session limits
for i in $(seq 0 1999); do echo "write $((i * 32))K 32K"; done >"$TMP/big.mb"
echo "checkpoint" >>"$TMP/big.mb"
t "run: 2000 x 32K writes in one script batch" 0 "$CTL" --json run "$q" -f "$TMP/big.mb"
j "run: split into several SUBMITs, every result once" 'len(d["batches"]) > 2 and d["submitted"] == 2001 and d["received"] == 2001 and d["failed"] == 0 and d["duplicates"] == 0 and d["gaps"] == 0'
q2=$(uniq_name q)
dev2=$(uniq_name mbctl)
nullb_create "$dev2" size=16 blocksize=4096 >/dev/null || die "no second null_blk"
on_exit nullb_remove "$dev2"
t "queue with small limits" 0 "$CTL" queue add "$q2" dev "/dev/$dev2" max-cmds 16 max-bytes 64K
on_exit "$CTL" queue del "$q2"
for i in $(seq 0 299); do echo "write $((i * 4))K 4K seq $i"; done >"$TMP/bp.mb"
printf 'checkpoint\nread 0 4K\n' >>"$TMP/bp.mb"
t "run: back-pressure (max-cmds 16, max-bytes 64K)" 0 "$CTL" --json run "$q2" -f "$TMP/bp.mb"
j "run: every result once under back-pressure" 'd["submitted"] == 302 and d["received"] == 302 and d["failed"] == 0 and d["duplicates"] == 0 and len(d["batches"]) >= 19'
t "queue del (small limits)" 0 "$CTL" queue del "$q2"

# --- separate invocations
t "session open" 0 "$CTL" session open "$q"
sid=$(cat "$TMP/out")
on_exit "$CTL" session close "$sid"
if [[ $sid =~ ^[0-9]+:[0-9a-f]{16}$ ]]; then
	log "ok: session open prints ID:HANDLE"
else
	fail "session open printed '$sid', not ID:HANDLE"
fi
t "session open --json" 0 "$CTL" --json session open "$q"
j "session open --json: session and handle" 'd["session"] > 0 and len(d["handle"]) == 16 and int(d["handle"], 16) > 0'
sid2=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("%d:%s" % (d["session"], d["handle"]))' "$TMP/out")
t "session close ID:HANDLE (JSON's)" 0 "$CTL" session close "$sid2"
# only the opener's socket, gone now, or the handle drives a session
t "submit without the handle" 1 "$CTL" submit "${sid%%:*}" "write 0 4K"
has "$TMP/err" "mbatchctl: submit: Operation not permitted: " "the refusal carries the kernel's message"
has "$TMP/err" "mbatchctl: hint: " "and a hint"
t "collect with a wrong handle" 1 "$CTL" collect "${sid%%:*}:1"
has "$TMP/err" "mbatchctl: hint: " "a wrong handle gets a hint too"
t "session show takes ID:HANDLE" 0 "$CTL" session show "$sid"
t "submit" 0 "$CTL" submit "$sid" "write 0 4K" "read 0 4K"
has "$TMP/out" "count 2" "submit prints the batch"
t "checkpoint" 0 "$CTL" --json checkpoint "$sid" durable
j "checkpoint: one message" 'd["batches"][0]["count"] == 1 and d["batches"][0]["first_seq"] == 3'
t "collect wait-epoch, no-ack" 0 "$CTL" --json collect "$sid" wait-epoch 1 timeout 2000 no-ack
j "collect: three results" 'd["count"] == 3 and [r["seq"] for r in d["results"]] == [1, 2, 3]'
j "collect: waited for COLLECT_READY, which timed out" 'd["waited"] and d["timed_out"]'
cseq=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["collect_seq"])' "$TMP/out")
t "collect wait-epoch 0: holds already" 0 "$CTL" --json collect "$sid" wait-epoch 0 timeout 2000 no-ack
j "no wait when the condition holds" 'not d["waited"] and d["count"] == 3'
t "collect again without ack: the same results" 0 "$CTL" --json collect "$sid" no-ack
j "re-collect returns them again" "[r['seq'] for r in d['results']] == [1, 2, 3] and d['collect_seq'] == $cseq + 2"
t "collect (acks the previous reply)" 0 "$CTL" --json collect "$sid"
j "nothing left after the ack" 'd["count"] == 0'
t "session show --json" 0 "$CTL" --json session show "$sid"
j "session state" "d['sessions'][0]['state'] == 'active' and d['sessions'][0]['queue'] == '$q' and d['sessions'][0]['epoch'] == 1"
t "stats" 0 "$CTL" --json stats "$q" session "$sid"
j "stats: queue and session counters" 'd["queues"][0]["stats"]["submitted"] >= 3 and d["sessions"][0]["stats"]["submitted"] == 3'

# --- errors carry the kernel's message and the script line
t "misaligned write refused" 1 "$CTL" submit "$sid" "write 0 4K" "write 100 512"
has "$TMP/err" "mbatchctl: submit: Invalid argument" "strerror printed"
has "$TMP/err" "message 1" "the extack names the message"
has "$TMP/err" "arg:2" "and its argument"
printf 'write 0 4K\nread 7 512\n' >"$TMP/bad.mb"
t "run: a refused batch" 1 "$CTL" run "$q" -f "$TMP/bad.mb"
has "$TMP/err" "bad.mb:2" "run names FILE:LINE of the refused message"
t "unknown session" 1 "$CTL" collect 999999
t "unknown queue" 1 "$CTL" session open "no-such-$q"

# --- fail-stop and resume through run, exit 4
nullb_badblocks "$dev" "+4096-4103"
cat >"$TMP/fs.mb" <<'MB'
write 2M 4K
checkpoint
write 0 4K
collect all
resume
write 0 4K
MB
t "run: fail-stop exits 4" 4 "$CTL" --json run "$q" -f "$TMP/fs.mb"
j "failed write, failed checkpoint, cancelled command, then ok after resume" '[(r["line"], r["status"] == 0) for r in d["results"]] == [(1, False), (2, False), (3, False), (6, True)] and [r for r in d["results"] if r["line"] == 3][0]["errno"] == "ECANCELED"'
j "outcomes: done, done, cancelled, done" '[r["outcome"] for r in d["results"]] == ["done", "done", "cancelled", "done"]'
nullb_badblocks "$dev" "-4096-4103"

t "session close" 0 "$CTL" session close "$sid"
t "queue del" 0 "$CTL" queue del "$q"
t "queue gone" 1 "$CTL" queue show "$q"
mb_exit
