#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mbatchctl end to end on a memory-backed null_blk: queue add/show/stats,
# session open, submit, checkpoint, collect (with and without ack) and close
# as separate invocations; "run" with a script (human and --json), script
# errors (exit 2), kernel refusals (exit 1 + extack), failed commands
# (exit 4); data checked through mbatch READ and through dd of the device.
# "expect ... && check || fail": a failed expect already counted, the extra
# count is harmless.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$MBATCHCTL" ] || die "mbatchctl not found at $MBATCHCTL"
mb_loaded || die "mbatch is not loaded"
ctl() { "$MBATCHCTL" "$@"; }
TMP=$(mktemp -d)
on_exit "rm -rf $TMP"

# jq-like checks with python3: pyj 'expr' < json ; expr sees d
pyj() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = eval(sys.argv[1])
if not ok:
    print("assertion failed:", sys.argv[1], file=sys.stderr)
    print(json.dumps(d)[:2000], file=sys.stderr)
    sys.exit(1)
' "$1"
}

# expect RC CMD...: run CMD, check the exit status, keep stdout/stderr
expect() {
	local want=$1 rc
	shift
	ctl "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	if [ "$rc" != "$want" ]; then
		fail "mbatchctl $*: exit $rc, want $want; stderr: $(head -c 400 "$TMP/err")"
		return 1
	fi
	return 0
}

NB=$(uniq_name mbc)
Q=$(uniq_name q)
DEV=$(nullb_create "$NB" size=64 blocksize=512 memory_backed=1 irqmode=2 \
	completion_nsec=50000 cache_size=16 discard=1) || die "null_blk"
on_exit "nullb_remove $NB"
on_exit "\"$MBATCHCTL\" queue del $Q"

# --- queues ---------------------------------------------------------------
expect 0 queue add "$Q" dev "$DEV" depth 8 max-cmds 1024
expect 1 queue add "$Q" dev "$DEV" && {
	grep -qi "exist" "$TMP/err" || fail "duplicate queue: no kernel message: $(cat "$TMP/err")"
}
# --exist-ok: the same queue again is no error; one that differs is
expect 0 queue add "$Q" dev "$DEV" --exist-ok
[ -s "$TMP/out" ] || [ -s "$TMP/err" ] && fail "queue add --exist-ok printed: $(cat "$TMP/out" "$TMP/err")"
expect 0 --json queue add "$Q" dev "$DEV" depth 8 --exist-ok max-cmds 1024 &&
	pyj "d['queue']['name'] == '$Q' and d['queue']['existed'] is True and d['queue']['depth'] == 8" <"$TMP/out" ||
	fail "queue add --exist-ok --json: $(cat "$TMP/out")"
expect 1 queue add "$Q" dev "$DEV" depth 16 --exist-ok &&
	grep -q "queue $Q exists with depth 8, not 16" "$TMP/err" ||
	fail "queue add --exist-ok, another depth: $(cat "$TMP/err")"
expect 1 queue add "$Q" dev "$DEV" journal internal --exist-ok &&
	grep -q "queue $Q exists without a journal" "$TMP/err" ||
	fail "queue add --exist-ok, a journal: $(cat "$TMP/err")"
expect 1 queue add "$Q" dev /dev/null --exist-ok &&
	grep -q "queue $Q exists on $DEV, not /dev/null" "$TMP/err" ||
	fail "queue add --exist-ok, another device: $(cat "$TMP/err")"
# refused by the tool itself: usage error
expect 2 queue add "bad/name" dev "$DEV"
[ -s "$TMP/err" ] || fail "refused queue add printed nothing"
expect 0 queue show "$Q" && {
	grep -q "$Q" "$TMP/out" || fail "queue show lacks the name"
	grep -q "$DEV" "$TMP/out" || fail "queue show lacks the device"
}
expect 0 --json queue show "$Q" &&
	pyj "len(d['queues']) == 1 and d['queues'][0]['name'] == '$Q' and d['queues'][0]['dev'] == '$DEV' and d['queues'][0]['depth'] == 8 and d['queues'][0]['max_cmds'] == 1024 and d['queues'][0]['block_size'] == 512 and d['queues'][0]['capacity'] == 64 << 20" <"$TMP/out" ||
	fail "queue show --json"

# --- a session driven by separate invocations -----------------------------
expect 0 session open "$Q"
SID=$(tr -d '[:space:]' <"$TMP/out")
[[ "$SID" =~ ^[0-9]+:[0-9a-f]{16}$ ]] || die "session open printed '$SID', not ID:HANDLE"
on_exit "\"$MBATCHCTL\" session close $SID"
expect 0 --json session show "$SID" &&
	pyj "d['sessions'][0]['id'] == ${SID%%:*} and d['sessions'][0]['queue'] == '$Q' and d['sessions'][0]['state'] == 'active' and d['sessions'][0]['max_io'] > 0 and d['sessions'][0]['halts'] == 0" <"$TMP/out" ||
	fail "session show --json"
# another process without the handle is refused, with a hint
expect 1 submit "${SID%%:*}" "write 0 4K"
grep -q "Operation not permitted: " "$TMP/err" && grep -q "hint: " "$TMP/err" ||
	fail "ownership refusal without the kernel's text or a hint: $(cat "$TMP/err")"

expect 0 submit "$SID" "write 0 4K" "write 4K 4K pattern 1" "write 8K 4K hex 0xdeadbeef"
expect 0 checkpoint "$SID" durable
expect 0 --json collect "$SID" wait-epoch 0 timeout 5000 no-ack &&
	pyj "d['count'] == 4 and len(d['results']) == 4 and all(r['status'] == 0 and r['outcome'] == 'done' for r in d['results']) and d['results'][-1]['op'] == 'checkpoint' and d['failed'] == 0" <"$TMP/out" ||
	fail "collect after checkpoint"
cp "$TMP/out" "$TMP/c1"
# not acknowledged: the same results again, next collect sequence
expect 0 --json collect "$SID" no-ack &&
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert [r["seq"] for r in a["results"]] == [r["seq"] for r in b["results"]], (a, b)
assert b["collect_seq"] == a["collect_seq"] + 1, (a["collect_seq"], b["collect_seq"])
' "$TMP/c1" "$TMP/out" || fail "re-collect without ack differs"
# default acknowledges the previous reply: then nothing is left
expect 0 --json collect "$SID" && expect 0 --json collect "$SID" &&
	pyj "d['count'] == 0 and d['pending'] == 0" <"$TMP/out" ||
	fail "results still there after ack"

# read back through mbatch ...
expect 0 submit "$SID" "read 0 12K"
expect 0 checkpoint "$SID"
expect 0 --json collect "$SID" wait-epoch 1 timeout 5000 data &&
	python3 -c '
import json, struct, sys
d = json.load(sys.stdin)
r = [x for x in d["results"] if x["op"] == "read"][0]
b = bytes.fromhex(r["data"])
assert len(b) == 12288, len(b)
want = b"".join(struct.pack("<Q", 0x6d62000000000000 + w) for w in range(0, 4096, 8))
want += b"\x01" * 4096 + bytes.fromhex("deadbeef") * 1024
assert b == want, "read data differs at %d" % next(i for i in range(len(b)) if b[i] != want[i])
' <"$TMP/out" || fail "data read back through mbatch differs"
# ... and through the block device, bypassing the page cache
dd if="$DEV" of="$TMP/dev" bs=4096 count=3 iflag=direct status=none ||
	fail "dd of $DEV"
python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
want = b"".join(struct.pack("<Q", 0x6d62000000000000 + w) for w in range(0, 4096, 8))
want += b"\x01" * 4096 + bytes.fromhex("deadbeef") * 1024
assert b == want
' "$TMP/dev" || fail "data read back with dd iflag=direct differs"

# a refused batch: exit 1 with the kernel's message
expect 1 submit "$SID" "read 0 4K" "write 100 4K"
grep -q "submit" "$TMP/err" || fail "refusal does not name the command: $(cat "$TMP/err")"
[ "$(wc -c <"$TMP/err")" -gt 20 ] || fail "refusal without extack text"
expect 0 stats "$Q"
expect 0 --json stats "$Q" session "$SID" &&
	pyj "d['queues'][0]['stats']['submitted'] == 6 and d['sessions'][0]['stats']['submitted'] == 6 and d['sessions'][0]['stats']['checkpoints'] == 2 and d['sessions'][0]['stats']['flushes'] == 1 and d['sessions'][0]['stats']['bytes_written'] == 12288" <"$TMP/out" ||
	fail "stats --json"
expect 0 session close "$SID"
expect 1 session show "$SID"

# --- run with a script --------------------------------------------------------
cat >"$TMP/ok.mb" <<'SCRIPT'
# two epochs; the second starts when the first is durable
write 64K 4K                 # offset pattern
write 68K 4K pattern 0xab
write 72K 4K seq 7 tag 100
read 64K 12K
checkpoint durable
batch
discard 1M 1M
write-zeroes 2M 64K
read 1M 4K
checkpoint continue
collect all
write 128K 8K
checkpoint
SCRIPT
expect 0 run "$Q" -f "$TMP/ok.mb"
grep -q "checkpoint" "$TMP/out" || fail "run printed no results"
expect 0 --json run "$Q" -f "$TMP/ok.mb" data &&
	python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["failed"] == 0 and d["gaps"] == 0 and d["duplicates"] == 0, d
assert d["submitted"] == 11 and d["received"] == 11, (d["submitted"], d["received"])
res = d["results"]
assert len(res) == 11
assert all(r["status"] == 0 and r["outcome"] == "done" for r in res)
assert [r for r in res if r["tag"] == 100][0]["line"] == 4
z = [r for r in res if r["op"] == "read" and r["line"] == 10][0]
assert bytes.fromhex(z["data"]) == bytes(4096), "discarded range not zero"
# epochs from the module: checkpoints close 0 and 1 and 2
assert sorted(r["epoch"] for r in res if r["op"] == "checkpoint") == [0, 1, 2]
' <"$TMP/out" || fail "run --json"
# the owned session of run is gone
expect 0 --json session show queue "$Q" &&
	pyj "len(d['sessions']) == 0" <"$TMP/out" || fail "run left a session behind"
# from standard input too
echo "read 0 4K" | ctl run "$Q" >/dev/null 2>&1 || fail "run from stdin"

# a script error: exit 2, FILE:LINE, nothing sent
printf 'write 0 4K\nwrite 1 4K pattern 999\n' >"$TMP/bad.mb"
expect 2 run "$Q" -f "$TMP/bad.mb"
grep -q "bad.mb:2" "$TMP/err" || fail "script error without FILE:LINE: $(cat "$TMP/err")"
expect 0 --json stats "$Q" &&
	sub=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["queues"][0]["stats"]["submitted"])' <"$TMP/out")
expect 2 run "$Q" -f "$TMP/bad.mb"
expect 0 --json stats "$Q" &&
	pyj "d['queues'][0]['stats']['submitted'] == ${sub:-0}" <"$TMP/out" ||
	fail "a script with an error sent something"
# outside the queue's geometry: every such line named, nothing sent
printf 'write 0 4K\nwrite 1000 4K\nread 64M 4K\ndiscard 0 100\nread 63M 1M\ncheckpoint\n' >"$TMP/geom.mb"
expect 2 run "$Q" -f "$TMP/geom.mb" &&
	grep -q "geom.mb:2: write at 1000 of 4096 bytes is not aligned to the queue's 512-byte blocks" "$TMP/err" &&
	grep -q "geom.mb:3: read at 67108864 of 4096 bytes ends past the queue's capacity (67108864 bytes)" "$TMP/err" &&
	grep -q "geom.mb:4: discard at 0 of 100 bytes is not aligned" "$TMP/err" &&
	! grep -q "geom.mb:[156]" "$TMP/err" ||
	fail "run outside the geometry: $(cat "$TMP/err")"
expect 0 --json stats "$Q" &&
	pyj "d['queues'][0]['stats']['submitted'] == ${sub:-0}" <"$TMP/out" ||
	fail "a script outside the geometry sent something"
expect 0 --json session show queue "$Q" &&
	pyj "len(d['sessions']) == 0" <"$TMP/out" || fail "a refused run opened a session"

# a command that fails: exit 4 (bad block on a second device)
NB2=$(uniq_name mbc)
Q2=$(uniq_name q)
DEV2=$(nullb_create "$NB2" size=16 badblocks=2048-2055) || die "null_blk 2"
on_exit "nullb_remove $NB2"
on_exit "\"$MBATCHCTL\" queue del $Q2"
expect 0 queue add "$Q2" dev "$DEV2"
printf 'write 0 4K\nwrite 1M 4K\ncheckpoint\nwrite 8K 4K\ncheckpoint\n' >"$TMP/fail.mb"
expect 4 --json run "$Q2" -f "$TMP/fail.mb" &&
	python3 -c '
import json, sys
d = json.load(sys.stdin)
by = {r["line"]: r for r in d["results"]}
assert by[2]["errno"] == "EIO" and by[2]["outcome"] == "done", by[2]
assert by[3]["errno"] == "EIO" and by[3]["outcome"] == "done", by[3]
assert by[4]["errno"] == "ECANCELED" and by[4]["outcome"] == "cancelled", by[4]
assert d["failed"] >= 2, d["failed"]
' <"$TMP/out" || fail "run with a bad block"
expect 0 queue del "$Q2"
expect 1 queue show "$Q2"
nullb_free "$NB2" || sleep 1
nullb_free "$NB2" || fail "deleted queue still holds $DEV2"

expect 0 queue del "$Q"
expect 0 --json queue show && pyj "'$Q' not in [q['name'] for q in d['queues']]" <"$TMP/out" ||
	fail "queue still listed after del"
for _ in 1 2 3 4 5; do nullb_free "$NB" && break; sleep 1; done
nullb_free "$NB" || fail "deleted queue still holds $DEV"

# --- a queue with a journal -----------------------------------------------
expect 2 queue add "$Q" dev "$DEV" size 4M
grep -q "journal" "$TMP/err" || fail "size without journal: $(cat "$TMP/err")"
expect 2 queue add "$Q" dev "$DEV" journal internal size 1000K &&
	grep -q "multiple of 4 KiB" "$TMP/err" || fail "journal size 1000K: $(cat "$TMP/err")"
expect 2 queue add "$Q" dev "$DEV" journal nodev &&
	grep -q "absolute device path" "$TMP/err" || fail "journal nodev: $(cat "$TMP/err")"
# a journal is made only where its superblocks' place is zero
dd if=/dev/zero of="$DEV" bs=4096 seek=$(((64 << 20) / 4096 - 2)) count=2 \
	oflag=direct status=none || fail "zeroing the device's last 8 KiB"
expect 0 queue add "$Q" dev "$DEV" journal internal size 4M
expect 0 queue show "$Q" &&
	grep -q "internal 4MiB gen 1" "$TMP/out" || fail "queue show: no journal: $(cat "$TMP/out")"
expect 0 --json queue show "$Q" &&
	pyj "d['queues'][0]['journal']['kind'] == 'internal' and d['queues'][0]['journal']['size'] == 4 << 20 and d['queues'][0]['journal']['generation'] == 1 and len(d['queues'][0]['journal']['uuid']) == 36 and d['queues'][0]['capacity'] == 60 << 20" <"$TMP/out" ||
	fail "queue show --json: journal"
expect 0 queue del "$Q"
for _ in 1 2 3 4 5; do nullb_free "$NB" && break; sleep 1; done
# the device holds the journal now: a queue without it is refused
expect 1 queue add "$Q" dev "$DEV" &&
	grep -q "holds an mbatch journal" "$TMP/err" || fail "journal device taken bare: $(cat "$TMP/err")"
# the same EEXIST with --exist-ok: not a queue that exists, the kernel's refusal
expect 1 queue add "$Q" dev "$DEV" --exist-ok &&
	grep -q "holds an mbatch journal" "$TMP/err" ||
	fail "--exist-ok hid the journal refusal: $(cat "$TMP/err")"
expect 0 queue add "$Q" dev "$DEV" journal internal &&
	expect 0 --json queue show "$Q" &&
	pyj "d['queues'][0]['journal']['generation'] == 2 and d['queues'][0]['journal']['log']['seq'] == 2 and d['queues'][0]['journal']['log']['records'] == 2 and d['queues'][0]['journal']['log']['room'] > 0" <"$TMP/out" ||
	fail "journal not found again"
# the tool reads the journal from the device as the module does
cp "$TMP/out" "$TMP/qshow.json"
expect 0 --json queue journal "$Q" records all &&
	python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["queues"][0]["journal"]
j = json.load(open(sys.argv[2]))["journal"]
L = j["log"]
ok = (j["queue"] == sys.argv[3] and j["kind"] == "internal" and
      j["uuid"] == q["uuid"] and j["generation"] == q["generation"] and
      j["size"] == q["size"] and L["seq"] == q["log"]["seq"] and
      L["records"] == q["log"]["records"] and L["room"] == q["log"]["room"] and
      [(r["seq"], r["type"], r["generation"]) for r in j["records"]] ==
      [(1, "use", 1), (2, "use", 2)] and "refused" not in L)
sys.exit(0 if ok else 1)' "$TMP/qshow.json" "$TMP/out" "$Q" ||
	fail "queue journal: not the module's view: $(cat "$TMP/out")"
expect 0 journal show "$DEV" records 1 &&
	grep -q "^log .* 2 records, last 2;" "$TMP/out" &&
	grep -q "^  2 .* use .*generation 2$" "$TMP/out" ||
	fail "journal show: $(cat "$TMP/out")"
# a session's writes are logged: OPEN, a START and DONEs for the three
# writes (not the read), the durable checkpoint, CLOSE; the tool's view is
# QUEUE_GET's, which counts the log's writes
cat >"$TMP/jw.mb" <<'SCRIPT'
write 0 4K
write 8K 4K
read 0 4K
checkpoint durable
write 16K 4K
checkpoint
SCRIPT
expect 0 run "$Q" -f "$TMP/jw.mb"
# the CLOSE is written by the queue's dispatch work once the session ends
for _ in $(seq 20); do
	ctl queue journal "$Q" records 1 2>/dev/null | grep -q " close " && break
	sleep 0.2
done
expect 0 --json queue show "$Q" && cp "$TMP/out" "$TMP/qshow.json"
expect 0 --json queue journal "$Q" records all &&
	python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["queues"][0]["journal"]
j = json.load(open(sys.argv[2]))["journal"]
R = [r for r in j["records"] if r["seq"] > 2]
T = [r["type"] for r in R]
starts = sum(r["commands"] for r in R if r["type"] == "start")
dones = [x for r in R if r["type"] == "done" for x in r["runs"]]
cps = [r for r in R if r["type"] == "checkpoint"]
sid = R[0]["session"]
ok = (T[0] == "open" and R[0]["kind"] == "local" and T[-1] == "close" and
      R[-1]["session"] == sid and starts == 3 and
      sum(x["count"] for x in dones) == 3 and
      all(x["status"] == 0 and x["session"] == sid for x in dones) and
      len(cps) == 2 and cps[0]["durable"] and not cps[1]["durable"] and
      [c["epoch"] for c in cps] == [1, 2] and
      j["durable"] == [{"session": sid, "epoch": 1,
                        "checkpoint_seq": cps[0]["checkpoint_seq"],
                        "record": cps[0]["seq"]}] and
      q["log"]["writes"] == q["log"]["seq"] - 1 and
      q["log"]["seq"] == j["log"]["seq"] and "refused" not in j["log"])
sys.exit(0 if ok else 1)' "$TMP/qshow.json" "$TMP/out" ||
	fail "queue journal: session records: $(cat "$TMP/out")"
expect 0 queue journal "$Q" records all &&
	grep -q "^  3 .* open .*session [0-9]* local$" "$TMP/out" &&
	grep -q " start .*1 commands: s[0-9]*:[0-9]*$" "$TMP/out" &&
	grep -q " checkpoint .* epoch 1 status 0 durable$" "$TMP/out" &&
	grep -q "^durable   session [0-9]* epoch 1 " "$TMP/out" ||
	fail "queue journal: session records in text: $(cat "$TMP/out")"
expect 1 queue journal nosuchq
expect 0 queue del "$Q"
for _ in 1 2 3 4 5; do nullb_free "$NB" && break; sleep 1; done
nullb_free "$NB" || fail "deleted queue still holds $DEV"
nullb_remove "$NB" || fail "null_blk $NB not removable"
nullb_remove "$NB2" || fail "null_blk $NB2 not removable"
mb_exit
