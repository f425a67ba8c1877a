#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of "mbatchctl journal show": journal images built here to the
# documented format (Documentation/userspace-api/mbatch-journal.rst), each
# a case of the module's own reading: the superblock copy picked, the log
# scanned from its head to its end across the ring's wrap, a torn or foreign
# record ending it, a record not understood refusing it.
# Usage: test-journal.sh [path/to/mbatchctl]   Output: TAP.
set -u

TOOL=${1:-./mbatchctl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }

# mkj CASE: $TMP/CASE.img, 1 MiB of data then a 1 MiB journal
mkj() {
	python3 - "$TMP/$1.img" "$1" <<'PY'
import struct, sys, uuid

path, case = sys.argv[1], sys.argv[2]
JB, SIZE, DATA = 4096, 1 << 20, 1 << 20

def crc32c(data, crc=0xffffffff):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc

U = uuid.UUID("0123456789abcdef0123456789abcdef").bytes
OTHER = uuid.UUID("fedcba9876543210fedcba9876543210").bytes

def seal(b):
    b = bytes(b[:8]) + b"\0\0\0\0" + bytes(b[12:])
    crc = crc32c(b) ^ 0xffffffff
    return b[:8] + struct.pack("<I", crc) + b[12:]

def sb(gen, log_len, head, head_seq, u=U, flags=1, size=SIZE, bs=512):
    slen = JB * 32
    b = struct.pack("<IIII16sQQQII QQ QQ Q QQ QQ", 0x4a54424d, 1, 0, flags, u,
                    gen, size, DATA, bs, 0, 0, log_len, log_len,
                    log_len + slen, slen, head * JB, head_seq, 0, 0)
    b = b.ljust(JB, b"\0")
    crc = crc32c(b) ^ 0xffffffff
    return b[:8] + struct.pack("<I", crc) + b[12:]

def rec(seq, gen, rtype=1, u=U, length=32, crc_ok=True):
    body = struct.pack("<IIQHHIQ", 0x5254424d, 0, seq, rtype, length, 0, gen)
    body = body.ljust(length, b"\0")
    crc = crc32c(body, crc32c(u)) ^ 0xffffffff
    if not crc_ok:
        crc ^= 1
    return body[:4] + struct.pack("<I", crc) + body[8:]

def srec(seq, rtype, payload, u=U):
    length = 24 + len(payload)
    body = struct.pack("<IIQHHI", 0x5254424d, 0, seq, rtype, length, 0) + payload
    crc = crc32c(body, crc32c(u)) ^ 0xffffffff
    return body[:4] + struct.pack("<I", crc) + body[8:]

def runs(rs, done=False):
    b = struct.pack("<II", len(rs), 0)
    for r in rs:
        b += struct.pack("<IIQ", r[0], r[2], r[1])
        if done:
            b += struct.pack("<iI", r[3], 0)
    return b

log = {}          # block -> bytearray
def put(blk, off, r):
    log.setdefault(blk, bytearray(JB))[off:off + len(r)] = r

LOGLEN = 190 * JB
copies = [sb(1, LOGLEN, 0, 1), sb(1, LOGLEN, 0, 1)]
if case == "fresh":
    put(0, 0, rec(1, 1))
elif case == "uses":           # three uses, copy 1 the newer
    for i in range(3):
        put(0, 32 * i, rec(i + 1, i + 1))
    copies = [sb(2, LOGLEN, 0, 1), sb(3, LOGLEN, 0, 1)]
elif case == "torn":           # the last record torn; an older lap's after
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2))
    put(0, 64, rec(3, 3, crc_ok=False))
    put(1, 0, rec(1, 9))
elif case == "nextblock":      # the writer went on at the next block
    for i in range(127):
        put(0, 32 * i, rec(i + 1, 1))
    put(0, 32 * 127, b"\0" * 32)
    put(1, 0, rec(128, 2))
elif case == "wrap":           # a 4-block ring, head at 2, wrapped
    copies = [sb(5, 4 * JB, 2, 100), sb(4, 4 * JB, 2, 100)]
    put(1, 0, rec(50, 1))                    # an older lap's: the end
    put(2, 0, rec(100, 2)); put(2, 32, rec(101, 3))
    put(3, 0, rec(102, 4))
    put(0, 0, rec(103, 5))
elif case == "full":           # a 2-block ring with no room left
    copies = [sb(1, 2 * JB, 0, 1), sb(1, 2 * JB, 0, 1)]
    for i in range(128):
        put(0, 32 * i, rec(i + 1, 1))
    for i in range(127):
        put(1, 32 * i, rec(129 + i, 1))
elif case == "damaged":        # record 2 of 4 damaged: not a torn end
    for i in range(4):
        put(0, 32 * i, rec(i + 1, 1, crc_ok=(i != 1)))
elif case == "gap":            # records 1, 2, then 5 in the next block
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2))
    put(1, 0, rec(5, 2))
elif case == "long":           # sealed, longer than any record
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2, length=72))
elif case == "foreign":        # the next record is another journal's
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2, u=OTHER))
elif case == "unknown":        # a valid record of a type not known
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2, rtype=9))
elif case == "malformed":      # a USE record of the wrong length
    put(0, 0, rec(1, 1))
    put(0, 32, rec(2, 2, length=40))
elif case == "copy0bad":       # copy 0 torn, copy 1 older but valid
    put(0, 0, rec(1, 1))
    c = bytearray(sb(7, LOGLEN, 0, 1)); c[100] ^= 0xff
    copies = [bytes(c), sb(6, LOGLEN, 0, 1)]
elif case == "bothbad":
    copies = [b"\0" * JB, sb(1, LOGLEN, 0, 1)[:-1] + b"\1"]
elif case == "twouuids":
    copies = [sb(1, LOGLEN, 0, 1), sb(2, LOGLEN, 0, 1, u=OTHER)]
elif case == "badhead":        # head past the log's end
    copies = [sb(1, LOGLEN, 190, 1), sb(1, LOGLEN, 190, 1)]
elif case == "badflag":
    put(0, 0, rec(1, 1))
    copies = [sb(7, LOGLEN, 0, 1, flags=3), sb(6, LOGLEN, 0, 1)]
elif case == "reserved":
    put(0, 0, rec(1, 1))
    c = bytearray(sb(7, LOGLEN, 0, 1)); c[3000] = 1
    copies = [seal(c), sb(6, LOGLEN, 0, 1)]
elif case == "sizediff":
    copies = [sb(1, LOGLEN, 0, 1), sb(2, LOGLEN, 0, 1, size=2 << 20)]
elif case == "onelog":
    copies = [sb(1, JB, 0, 1)] * 2
elif case == "nodev":
    copies = [sb(1, LOGLEN, 0, 1, bs=1000)] * 2
elif case == "seqwrap":
    put(0, 0, rec(2**64 - 2, 1))
    copies = [sb(1, LOGLEN, 0, 2**64 - 2)] * 2
elif case == "session":        # a session's records, as the module writes
    rs = [rec(1, 1),
          srec(2, 2, struct.pack("<IHHIIQ32s", 7, 1, 0, 0, 0, 0, b"")),
          srec(3, 4, runs([(7, 1, 3), (7, 5, 1)])),
          srec(4, 5, runs([(7, 1, 2, 0), (7, 3, 1, -5)], True)),
          srec(5, 6, struct.pack("<IIQQiI", 7, 1, 6, 1, 0, 0)),
          srec(6, 5, runs([(7, 5, 1, 0)], True)),
          srec(7, 3, struct.pack("<IHH", 7, 0, 0))]
    off = 0
    for r in rs:
        put(0, off, r)
        off += len(r)
elif case == "peeropen":       # a participant's OPEN names its initiator
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 2, struct.pack("<IHHIIQ32s", 3, 2, 0, 9, 0, 77, b"nodea")))
elif case == "badopen":        # a participant's OPEN that names no peer
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 2, struct.pack("<IHHIIQ32s", 3, 2, 0, 9, 0, 77, b"")))
elif case == "shortopen":      # an OPEN of the size a CLOSE has
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 2, struct.pack("<IHH", 3, 1, 0)))
elif case == "badstart":       # a START whose count of runs is wrong
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 4, struct.pack("<II", 2, 0) + struct.pack("<IIQ", 7, 1, 1)))
elif case == "badstatus":      # a DONE whose status is no errno
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 5, runs([(7, 1, 1, 5)], True)))
elif case == "maxseq":         # a run that ends at the last sequence number
    put(0, 0, rec(1, 1))
    put(0, 32, srec(2, 4, runs([(7, 2**64 - 2, 2)])))
elif case == "shortstart":     # a sealed START of a bare header, at a block's end
    for i in range(124):
        put(0, 32 * i, rec(i + 1, 1))
    put(0, 3968, srec(125, 4, runs([(7, 1, 1)])))
    put(0, 4016, srec(126, 6, struct.pack("<IIQQiI", 7, 0, 2, 1, 0, 0)))
    put(0, 4072, srec(127, 4, b""))
elif case == "small":          # a file smaller than any journal
    pass
elif case == "claims":         # a journal larger than its file
    copies = [sb(1, LOGLEN, 0, 1, size=4 << 20)] * 2
else:
    sys.exit("no case " + case)

with open(path, "wb") as f:
    f.truncate(DATA + SIZE)
    base = DATA
    for blk, data in log.items():
        f.seek(base + blk * JB)
        f.write(data)
    f.seek(DATA + SIZE - 2 * JB)
    f.write(copies[0] + copies[1])
    if case == "small":
        f.truncate(SIZE // 2)
PY
}

# show CASE WANT_RC PY_COND DESC: journal show --json, exit and document
show() {
	local c=$1 want=$2 cond=$3 desc=$4 rc
	shift 4
	mkj "$c" || { not_ok "$desc: image not made"; return; }
	"$TOOL" --json journal show "$TMP/$c.img" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		not_ok "$desc: exit $rc, expected $want"
		sed 's/^/# /' "$TMP/err" "$TMP/out"
		return
	fi
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
j = d.get("journal", {})
L = j.get("log", {})
R = j.get("records", [])
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$TMP/out" "$cond"; then
		ok "$desc"
	else
		not_ok "$desc: $cond"
		sed 's/^/# /' "$TMP/out" "$TMP/err"
	fi
}

# errtext CASE WANT_RC TEXT DESC: journal show, its exit and its stderr
errtext() {
	local rc
	mkj "$1" || { not_ok "$4: image not made"; return; }
	"$TOOL" journal show "$TMP/$1.img" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq "$2" ] && grep -qF -- "$3" "$TMP/err"; then
		ok "$4 (exit $rc)"
	else
		not_ok "$4: exit $rc, expected $2 and '$3'"
		sed 's/^/# /' "$TMP/err"
	fi
}

show fresh 0 'j["kind"] == "internal" and j["size"] == 1048576 and
  j["uuid"] == "01234567-89ab-cdef-0123-456789abcdef" and
  j["generation"] == 1 and L["blocks"] == 190 and L["records"] == 1 and
  L["seq"] == 1 and L["end_block"] == 0 and L["end_offset"] == 32 and
  L["room"] == 189 * 4 + 3 and "refused" not in L and
  j["snapshot"] is None and j["durable"] == [] and
  R == [{"seq": 1, "block": 0, "offset": 0, "type": "use", "generation": 1}]' \
	"a made journal: one USE record, its room"
show uses 0 'j["copy"] == 1 and j["generation"] == 3 and L["records"] == 3 and
  [r["generation"] for r in R] == [1, 2, 3]' \
	"the newer copy is used; records oldest first"
show uses 0 'L["records"] == 3 and [r["seq"] for r in R] == [2, 3]' \
	"records 2 keeps the last two" records 2
show uses 0 'L["records"] == 3 and R == []' "records 0 keeps none" records 0
show torn 0 'L["records"] == 2 and L["seq"] == 2 and L["end_offset"] == 64 and
  "refused" not in L' "a torn last record ends the log; an older record past it is no damage"
show nextblock 0 'L["records"] == 128 and L["seq"] == 128 and
  L["end_block"] == 1 and L["end_offset"] == 32 and R[-1]["block"] == 1 and
  R[-1]["offset"] == 0' "the log goes on at the next block's start" records all
show wrap 0 'j["copy"] == 0 and L["head_block"] == 2 and L["head_seq"] == 100 and
  L["records"] == 4 and L["seq"] == 103 and L["end_block"] == 0 and
  L["end_offset"] == 32 and L["room"] == 4 + 3 and
  [(r["block"], r["seq"]) for r in R] == [(2, 100), (2, 101), (3, 102), (0, 103)]' \
	"across the ring's wrap; an older lap's record ends the log"
show full 0 'L["records"] == 255 and L["end_offset"] == 4064 and L["room"] == 0' \
	"a full ring: no room"
show session 0 'L["records"] == 7 and "refused" not in L and
  [r["type"] for r in R] == ["use", "open", "start", "done", "checkpoint", "done", "close"] and
  R[1]["session"] == 7 and R[1]["kind"] == "local" and R[2]["commands"] == 4 and
  R[2]["runs"] == [{"session": 7, "first_seq": 1, "count": 3}, {"session": 7, "first_seq": 5, "count": 1}] and
  R[3]["runs"][1] == {"session": 7, "first_seq": 3, "count": 1, "status": -5} and
  R[4]["durable"] and not R[4]["halted"] and R[4]["epoch"] == 1 and
  j["durable"] == [{"session": 7, "epoch": 1, "checkpoint_seq": 6, "record": 5}]' \
	"session records: open, start runs, done with status, a durable checkpoint, close" records all
show peeropen 0 'L["records"] == 2 and "refused" not in L and
  R[1]["kind"] == "participant" and R[1]["peer"] == "nodea" and
  R[1]["initiator_session"] == 9 and R[1]["session"] == 3' \
	"a participant's OPEN: its peer and its initiator's session id" records all
show badopen 5 'L["records"] == 1 and "malformed" in L["refused"]' \
	"a participant's OPEN that names no peer: malformed, exit 5"
show shortopen 0 'L["records"] == 2 and "refused" not in L and
  R[1]["kind"] == "local" and "peer" not in R[1]' \
	"an earlier module's OPEN, without its initiator's fields" records all
show badstart 5 'L["records"] == 1 and "malformed" in L["refused"]' \
	"a START whose count of runs does not match its length: malformed, exit 5"
show badstatus 5 'L["records"] == 1 and "malformed" in L["refused"]' \
	"a DONE whose status is not 0 or a negative errno: malformed, exit 5"
show maxseq 0 'L["records"] == 2 and "refused" not in L and
  R[1]["runs"] == [{"session": 7, "first_seq": 2**64 - 2, "count": 2}]' \
	"a START run that ends at the last sequence number" records all
show shortstart 5 'L["records"] == 126 and L["end_offset"] == 4072 and "malformed" in L["refused"]' \
	"a START of a bare header at a block's end: malformed, exit 5"
show foreign 0 'L["records"] == 1 and "refused" not in L' \
	"another journal's record is not this log's"
show unknown 5 'L["records"] == 1 and "does not know" in L["refused"]' \
	"a record type not known: refused, exit 5"
show malformed 5 'L["records"] == 1 and "malformed" in L["refused"]' \
	"a malformed record: refused, exit 5"
show damaged 5 'L["records"] == 1 and "past the log" in L["refused"]' \
	"a damaged record with later ones past it: refused, exit 5"
show gap 5 'L["records"] == 2 and "past the log" in L["refused"]' \
	"a gap in the sequence: refused, exit 5"
show long 5 'L["records"] == 1 and "malformed" in L["refused"]' \
	"a sealed record longer than any: malformed, exit 5"
show copy0bad 0 'j["copy"] == 1 and j["generation"] == 6' \
	"a torn copy 0: copy 1 is used"
errtext bothbad 5 "no valid journal superblock (copy 0: no journal superblock; copy 1: journal superblock checksum mismatch)" \
	"no valid copy: refused, each copy's reason"
errtext twouuids 5 "the two superblock copies are of different journals" \
	"two copies of two journals: refused"
errtext badhead 5 "copy 0: journal superblock's log head is out of place" \
	"a log head past the log: refused"
show badflag 0 'j["copy"] == 1 and j["generation"] == 6' \
	"the newer copy with an unknown flag: the older one is used"
show reserved 0 'j["copy"] == 1 and j["generation"] == 6' \
	"the newer copy with a reserved byte set: the older one is used"
errtext sizediff 5 "the two superblock copies are of different journals" \
	"two valid copies of different sizes: refused"
errtext onelog 5 "copy 1: journal superblock's log or snapshot areas are out of place" \
	"a log of one block: refused"
errtext nodev 5 "copy 1: journal superblock describes an impossible device" \
	"a block size that is no power of 2: refused"
show seqwrap 5 'L["records"] == 1 and "used up" in L["refused"]' \
	"sequence numbers used up: refused"
errtext small 5 "too small to hold a journal" "a file smaller than a journal"
errtext claims 5 "the superblock claims more than the device holds" \
	"a journal larger than its file: refused"

mkj unknown
"$TOOL" journal show "$TMP/unknown.img" >"$TMP/out" 2>"$TMP/err"
if grep -q "^refused   at record 2, a record type mbatch does not know" "$TMP/out" &&
   grep -q "^log       190 blocks, head block 0 seq 1; 1 records" "$TMP/out"; then
	ok "text output: the log line and the refusal"
else
	not_ok "text output"
	sed 's/^/# /' "$TMP/out"
fi

for a in "journal show" "journal" "journal show $TMP/fresh.img records" \
	 "journal show $TMP/fresh.img records x" \
	 "journal show $TMP/fresh.img nope 1" "queue journal" \
	 "queue journal bad/name"; do
	# shellcheck disable=SC2086
	"$TOOL" $a >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 2 ]; then
		ok "'$a': usage error (exit 2)"
	else
		not_ok "'$a': exit $rc, expected 2"
	fi
done
"$TOOL" journal show "$TMP/none.img" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 5 ] && grep -q "none.img: No such file or directory" "$TMP/err"; then
	ok "a missing file: exit 5, named"
else
	not_ok "a missing file: exit $rc"
fi

echo "1..$n"
echo "# $((n - fail)) passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
