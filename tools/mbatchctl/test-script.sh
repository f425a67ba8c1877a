#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of mbatchctl that need no module: the batch script parser
# (through "run -n", which parses and prints without touching the kernel),
# usage errors, exit codes, --json, and the "module not loaded" path.
# Usage: test-script.sh [path/to/mbatchctl]   Output: TAP.
set -u

TOOL=${1:-./mbatchctl}
HDR=$(dirname "$0")/../../include/uapi/linux/mbatch.h
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
fail=0
skipped=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
# skip DESC REASON: a TAP skip, which run-tests.sh counts
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - $1 # SKIP $2"; }

# expect RC DESC -- CMD...: exit status RC (stdin from $STDIN, or /dev/null)
expect() {
	local want=$1 desc=$2 rc
	shift 3
	"$@" <"${STDIN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc (exit $rc)"
	else
		not_ok "$desc: exit $rc, expected $want"
		sed 's/^/# /' "$TMP/err"
	fi
}

# past_parser DESC WORD -- CMD...: CMD's script parser took it (no exit 2,
# no stderr line naming WORD, its script's "arg" or file name); whatever
# the kernel (or its absence) made of it after that
past_parser() {
	local desc=$1 word=$2 rc
	shift 3
	"$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ne 2 ] && ! grep -q "$word" "$TMP/err"; then
		ok "$desc (exit $rc: past the parser)"
	else
		not_ok "$desc: refused by the parser (exit $rc)"
		sed 's/^/# /' "$TMP/err"
	fi
}

# grep_in FILE PATTERN DESC
grep_in() {
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		not_ok "$3: '$2' not found"
		sed 's/^/# /' "$1"
	fi
}

# json_check PYTHON-EXPR DESC: evaluates with d = the JSON on stdout
json_check() {
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$TMP/out" "$1" 2>"$TMP/pyerr"; then
		ok "$2"
	else
		not_ok "$2"
		sed 's/^/# /' "$TMP/out" "$TMP/pyerr" | head -40
	fi
}

# bad SCRIPT-TEXT LINE WORDS DESC [RUN-OPTION...]: the script fails with
# FILE:LINE: ...WORDS
bad() {
	printf '%b' "$1" >"$TMP/bad.mb"
	expect 2 "script error: $4" -- "$TOOL" run q -n -f "$TMP/bad.mb" "${@:5}"
	grep_in "$TMP/err" "$TMP/bad.mb:$2: " "  reported at line $2"
	grep_in "$TMP/err" "$3" "  message names '$3'"
}

# --- good scripts ---------------------------------------------------------
cat >"$TMP/good.mb" <<'MB'
# comment line, then a blank one

write 0 4K                      # default data: offset pattern
write 4K 4k pattern 0xab tag 77
write 0x2000 16 hex 00112233
write 12K 512 seq 42
read 0 16K
checkpoint durable
batch
discard 1M 1M
write-zeroes 2M 64K
flush
checkpoint durable continue tag 0x10
collect wait-min 2 timeout 500
resume
read 0 4K
collect all
MB
expect 0 "good script parses" -- "$TOOL" run q -n -f "$TMP/good.mb"
expect 0 "good script parses (--json)" -- "$TOOL" --json run q -n -f "$TMP/good.mb"
json_check 'd["messages"] == 11 and [i["kind"] for i in d["items"]] == ["batch", "batch", "collect", "resume", "batch", "collect"]' \
	"items: batch boundaries, collect and resume end a batch"
json_check '[len(i.get("messages", [])) for i in d["items"]] == [6, 4, 0, 0, 1, 0]' \
	"messages per batch"
json_check 'd["items"][0]["messages"][0]["tag"] == 3 and d["items"][0]["messages"][1]["tag"] == 77 and d["items"][1]["messages"][3]["tag"] == 16' \
	"tag defaults to the line number, tag N overrides (hex too)"
json_check 'd["items"][0]["messages"][2]["offset"] == 8192 and d["items"][0]["messages"][2]["len"] == 16 and d["items"][0]["messages"][2]["data"] == "00112233" * 4' \
	"hex data repeats to the length; 0x offsets"
json_check 'd["items"][1]["messages"][0]["offset"] == 1 << 20 and d["items"][1]["messages"][1]["len"] == 65536' \
	"K and M suffixes"
json_check 'd["items"][0]["messages"][5]["flags"] == ["durable"] and d["items"][1]["messages"][3]["flags"] == ["durable", "continue"]' \
	"checkpoint flags"
json_check 'd["items"][2]["wait_min"] == 2 and d["items"][2]["timeout_ms"] == 500 and d["items"][5]["all"]' \
	"collect options"

# a script the reader runs out of memory on is an error, not its end
# (only without ASan, which needs more address space than it leaves)
if [ -z "${ASAN_OPTIONS:-}" ]; then
	{ echo "write 0 4K"; head -c $((96 << 20)) /dev/zero | tr '\0' x; echo; } >"$TMP/huge.mb"
	(ulimit -v $((64 << 10)); exec "$TOOL" run q -n -f "$TMP/huge.mb") >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "read error after line 1: Cannot allocate memory" "$TMP/err"; then
		ok "getline ENOMEM: an error (exit $rc)"
	else
		not_ok "getline ENOMEM: exit $rc"
		sed 's/^/# /' "$TMP/err" | head -5
	fi
	rm -f "$TMP/huge.mb"
fi

# sizes as mbatchctl prints them read back
printf 'write 4KiB 64Ki\nwrite 1MiB 4k\n' >"$TMP/sizes.mb"
expect 0 "sizes with Ki and KiB" -- "$TOOL" --json run q -n -f "$TMP/sizes.mb"
json_check '[(m["offset"], m["len"]) for m in d["items"][0]["messages"]] == [(4096, 65536), (1 << 20, 4096)]' \
	"  64Ki, 4KiB and 1MiB are sizes"
printf 'write 0 4KB\n' >"$TMP/sizes.mb"
expect 2 "4KB is not a size (KB would be ambiguous)" -- "$TOOL" run q -n -f "$TMP/sizes.mb"

# data sources: exact bytes for small writes
cat >"$TMP/data.mb" <<'MB'
write 8 16
write 0 8 pattern 7
write 16 8 seq 1
MB
expect 0 "data sources" -- "$TOOL" --json run q -n -f "$TMP/data.mb"
json_check 'd["items"][0]["messages"][0]["data"] == "080000000000626d" "100000000000626d"' \
	"default data: each 8-byte word = 0x6d62000000000000 + its offset (LE)"
json_check 'd["items"][0]["messages"][1]["data"] == "07" * 8' "pattern BYTE"
python3 - "$TMP/exp_seq" <<'PY'
import sys
M = (1 << 64) - 1
def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)
open(sys.argv[1], "w").write(splitmix64(1 + 16 // 8).to_bytes(8, "little").hex())
PY
json_check "d['items'][0]['messages'][2]['data'] == open('$TMP/exp_seq').read()" \
	"seq SEED: word = splitmix64(SEED + offset / 8)"

printf 'write 0 %s file %s\n' 8 "$TMP/data.mb" >"$TMP/file.mb"
expect 0 "file PATH" -- "$TOOL" --json run q -n -f "$TMP/file.mb"
json_check "bytes.fromhex(d['items'][0]['messages'][0]['data']) == open('$TMP/data.mb', 'rb').read(8)" \
	"file PATH: the first LEN bytes of the file"

printf 'read 0 4K\nflush\n' >"$TMP/in.mb"
STDIN=$TMP/in.mb expect 0 "script from stdin (-f -)" -- "$TOOL" run q -n -f -
STDIN=$TMP/in.mb expect 0 "script from stdin by default" -- "$TOOL" run q -n

# automatic split at MBATCH_MAX_BATCH_MSGS (4096)
for i in $(seq 0 4999); do echo "read $((i * 512)) 512"; done >"$TMP/big.mb"
expect 0 "5000 messages" -- "$TOOL" --json run q -n -f "$TMP/big.mb"
json_check '[len(i["messages"]) for i in d["items"]] == [4096, 904]' \
	"a batch over 4096 messages is split"

# --- bad scripts: FILE:LINE: message, exit 2 -------------------------------
bad 'write 0 4K\nfrobnicate 1 2\n' 2 "unknown command 'frobnicate'" "unknown command"
bad 'read 0\n' 1 "missing length" "missing length"
bad 'read\n' 1 "missing offset" "missing offset"
bad '\n\nread 0 0\n' 3 "out of range" "zero length"
# MBATCH_MAX_IO_LEN from the header, and what one netlink attribute carries
io=$(sed -n 's/^#define MBATCH_MAX_IO_LEN[[:space:]]*\([^/]*\).*/\1/p' "$HDR" |
	sed 's/\([0-9]\)[UL]*/\1/g')
io=$((io))
wmax=$((io < 65487 ? io : 65487))
rmax=$((io < 65407 ? io : 65407))
# inline payloads: below --inline-max (16K by default) or where nothing is
# proxied (submit)
bad "read 0 $((rmax + 1))\n" 1 "out of range 1..$rmax inline" "inline read longer than the limit" --inline-max 1M
bad "write 0 $((wmax + 1))\n" 1 "out of range 1..$wmax inline" "inline write longer than the limit" --inline-max 1M
grep_in "$TMP/err" "shorter than --inline-max 1048576" "  and says why it is inline"
printf 'read 0 %s\nwrite 0 %s\n' "$rmax" "$wmax" >"$TMP/max.mb"
expect 0 "the largest inline read and write" -- "$TOOL" run q -n -f "$TMP/max.mb" --inline-max 1M
expect 2 "submit: a 64K write is larger than a netlink attribute" -- "$TOOL" submit 1 'write 0 64K'
grep_in "$TMP/err" "arg:1: write: length 65536 out of range 1..65487" "  the attribute's limit"
# proxied payloads: from --inline-max up to MBATCH_MAX_PROXY_IO_LEN
pio=$(sed -n 's/^#define MBATCH_MAX_PROXY_IO_LEN[[:space:]]*\([^/]*\).*/\1/p' "$HDR" |
	sed 's/\([0-9]\)[UL]*/\1/g')
pio=$((pio))
printf 'write 0 %s\nread 0 %s\nwrite 0 64K\nread 0 16K\nwrite 0 4K\nread 0 %s\n' \
	"$pio" "$pio" $((16384 - 512)) >"$TMP/proxy.mb"
expect 0 "proxied reads and writes up to MBATCH_MAX_PROXY_IO_LEN" -- "$TOOL" --json run q -n -f "$TMP/proxy.mb"
json_check '[m["proxied"] for m in d["items"][0]["messages"]] == [True, True, True, True, False, False]' \
	"  payloads of 16K or more are proxied, the others inline"
expect 0 "--inline-max 0: every payload proxied" -- "$TOOL" --json run q -n -f "$TMP/proxy.mb" --inline-max 0
json_check 'all(m["proxied"] for m in d["items"][0]["messages"])' "  all proxied"
expect 0 "--inline-max 64K" -- "$TOOL" --json run q -n --inline-max 64K -f "$TMP/proxy.mb"
json_check '[m["proxied"] for m in d["items"][0]["messages"]] == [True, True, True, False, False, False]' \
	"  64K or more proxied"
printf 'flush\ndiscard 0 1M\ncheckpoint\n' >"$TMP/noproxy.mb"
expect 0 "other messages carry no payload" -- "$TOOL" --json run q -n -f "$TMP/noproxy.mb" --inline-max 0
json_check 'not any("proxied" in m for m in d["items"][0]["messages"])' "  and are never proxied"
bad "write 0 $((pio + 512))\n" 1 "out of range 1..$pio" "proxied write longer than MBATCH_MAX_PROXY_IO_LEN"
bad "read 0 $((pio + 512))\n" 1 "out of range 1..$pio" "proxied read longer than MBATCH_MAX_PROXY_IO_LEN"
expect 2 "--inline-max without a size" -- "$TOOL" run q -n --inline-max
expect 2 "--inline-max with a bad size" -- "$TOOL" run q -n --inline-max 4Q
# file PATH [at FOFF]
head -c 20000 /dev/urandom >"$TMP/blob"
printf 'write 0 16 file %s at 4096\nwrite 512 512 file %s at 19488\n' \
	"$TMP/blob" "$TMP/blob" >"$TMP/at.mb"
expect 0 "write file PATH at FOFF" -- "$TOOL" --json run q -n -f "$TMP/at.mb"
json_check "bytes.fromhex(d['items'][0]['messages'][0]['data']) == open('$TMP/blob', 'rb').read()[4096:4112]" \
	"  the LEN bytes of the file at FOFF"
json_check "d['items'][0]['messages'][0]['file'] == '$TMP/blob' and d['items'][0]['messages'][1]['file_offset'] == 19488" \
	"  file and file_offset in the dry run"
bad "write 0 1K file $TMP/blob at 19K\n" 1 "has 20000 bytes, 20480 needed" "the file ends before FOFF + LEN"
bad "write 0 1K file $TMP/blob at\n" 1 "missing file offset" "at without an offset"
printf 'read 0 4K file %s\nread 8K 16K file %s at 1M\n' "$TMP/out.bin" "$TMP/new.bin" >"$TMP/rf.mb"
expect 0 "read OFF LEN file PATH [at FOFF]" -- "$TOOL" --json run q -n -f "$TMP/rf.mb"
json_check "[(m['file'], m['file_offset'], m['proxied']) for m in d['items'][0]['messages']] == [('$TMP/out.bin', 0, False), ('$TMP/new.bin', 1 << 20, True)]" \
	"  where READ data goes"
if [ -e "$TMP/new.bin" ]; then
	not_ok "  a dry run created $TMP/new.bin"
else
	ok "  a dry run creates no file"
fi
bad "read 0 4K file $TMP\n" 1 "Is a directory" "read into a directory"
bad "read 0 4K file $TMP/out.bin file $TMP/x\n" 1 "duplicate 'file'" "read with two files"
bad "read 0 4K pattern 1\n" 1 "unexpected 'pattern'" "read takes no data source"
expect 2 "submit: read ... file is for run scripts" -- "$TOOL" submit 1 "read 0 4K file $TMP/x"
grep_in "$TMP/err" "arg:1: read: 'file' is for run scripts" "  says so"
bad 'discard 0 65M\n' 1 "out of range" "discard longer than MBATCH_MAX_ZERO_LEN"
bad 'read 4X 512\n' 1 "bad offset '4X'" "bad size suffix"
bad 'read 0x 512\n' 1 "bad offset '0x'" "empty hex number"
bad 'read -1 512\n' 1 "bad offset '-1'" "negative number"
bad 'read 99999999999999999999 512\n' 1 "bad offset" "number overflow"
bad 'read 17179869184G 512\n' 1 "bad offset" "suffix overflow"
bad 'read 0 512 pattern 1\n' 1 "unexpected 'pattern'" "data on a read"
bad 'write 0 512 pattern 256\n' 1 "larger than 255" "pattern byte > 255"
bad 'write 0 512 hex abc\n' 1 "even" "odd hex string"
bad 'write 0 512 hex zz\n' 1 "bad hex digit" "bad hex digit"
bad 'write 0 2 hex 001122\n' 1 "longer than the length" "hex longer than len"
bad 'write 0 512 file /nonexistent/x\n' 1 "No such file" "missing data file"
bad 'write 0 512 pattern 1 seq 2\n' 1 "more than one data source" "two data sources"
bad 'write 0 512 tag 1 tag 2\n' 1 "duplicate 'tag'" "duplicate tag"
bad 'checkpoint durable durable\n' 1 "duplicate 'durable'" "duplicate flag"
bad 'checkpoint fast\n' 1 "unexpected 'fast'" "unknown checkpoint flag"
bad 'flush 0 512\n' 1 "unexpected '0'" "flush takes no range"
bad 'batch now\n' 1 "unexpected 'now'" "batch takes no argument"
bad 'collect timeout 10001\n' 1 "larger than 10000" "collect timeout > MBATCH_COLLECT_TIMEOUT_MAX_MS"
bad 'collect forever\n' 1 "unexpected 'forever'" "unknown collect option"
bad 'resume now\n' 1 "unexpected 'now'" "resume takes no argument"
printf 'read 0 512\nbogus\nread 0\n' >"$TMP/two.mb"
expect 2 "every bad line is reported" -- "$TOOL" run q -n -f "$TMP/two.mb"
grep_in "$TMP/err" "$TMP/two.mb:2: " "  first error"
grep_in "$TMP/err" "$TMP/two.mb:3: " "  second error"
expect 2 "missing script file" -- "$TOOL" run q -n -f "$TMP/nonexistent.mb"
printf 'bogus\n' >"$TMP/in.mb"
STDIN=$TMP/in.mb expect 2 "stdin errors" -- "$TOOL" run q -n
grep_in "$TMP/err" "<stdin>:1: " "  named <stdin>"
expect 2 "script error with --json" -- "$TOOL" --json run q -n -f "$TMP/two.mb"
json_check 'd["error"]["exit"] == 2' "  --json error document"

# --- usage errors: exit 2 before any netlink traffic -----------------------
expect 2 "no command" -- "$TOOL"
expect 2 "unknown command" -- "$TOOL" frob
expect 2 "unknown option" -- "$TOOL" --frob version
expect 0 "--help" -- "$TOOL" --help
grep_in "$TMP/out" "3  the mbatch module is not loaded" "  --help lists the exit codes"
expect 0 "-V" -- "$TOOL" -V
expect 2 "queue without subcommand" -- "$TOOL" queue
expect 2 "queue add without dev" -- "$TOOL" queue add q0
expect 2 "queue add bad name" -- "$TOOL" queue add 'a/b' dev /dev/null
expect 2 "queue add name too long" -- "$TOOL" queue add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa dev /dev/null
expect 2 "queue add bad depth" -- "$TOOL" queue add q0 dev /dev/null depth x
expect 2 "queue add bad max-bytes" -- "$TOOL" queue add q0 dev /dev/null max-bytes 1Q
expect 2 "session open extra arg" -- "$TOOL" session open q0 shared
expect 2 "session close bad id" -- "$TOOL" session close abc
expect 2 "session close id 0" -- "$TOOL" session close 0
expect 2 "submit without messages" -- "$TOOL" submit 1
expect 2 "submit script error" -- "$TOOL" submit 1 'write 0 4K' 'read 0'
grep_in "$TMP/err" "arg:2: read: missing length" "  submit names the bad argument"
# unquoted, as a shell leaves "submit 1 write 0 4K read 0 4K": split at ops
past_parser "submit: unquoted messages split at each op" "arg:" -- \
	"$TOOL" submit 1 write 0 4K read 0 4K checkpoint durable
expect 2 "submit: unquoted, a message short of its length" -- "$TOOL" submit 1 write 0 4K read 0
grep_in "$TMP/err" "arg:4: read: missing length" "  names the argument the message starts at"
expect 2 "submit rejects collect" -- "$TOOL" submit 1 'collect'
expect 2 "submit arguments reject batch" -- "$TOOL" submit 1 'write 0 4K' batch
grep_in "$TMP/err" "arg:2: batch: a directive of run scripts" "  and say why"
# submit -f takes what mbatchctl.8 documents: messages and batch lines
printf 'write 0 4K\nbatch\nread 0 4K\n' >"$TMP/sub.mb"
past_parser "submit -f accepts batch lines" "sub.mb:" -- \
	"$TOOL" submit 1 -f "$TMP/sub.mb"
printf 'write 0 4K\ncollect\nresume\n' >"$TMP/sub.mb"
expect 2 "submit -f rejects collect and resume" -- "$TOOL" submit 1 -f "$TMP/sub.mb"
grep_in "$TMP/err" "sub.mb:2: collect: a directive of run scripts" "  collect named"
grep_in "$TMP/err" "sub.mb:3: resume: a directive of run scripts" "  resume named"
expect 2 "session with a bad handle" -- "$TOOL" collect 1:xyz
expect 2 "session with handle 0" -- "$TOOL" session close 1:0
expect 2 "session with an empty handle" -- "$TOOL" resume 1:
expect 2 "session id 0 with a handle" -- "$TOOL" submit 0:1f 'flush'
expect 2 "checkpoint bad flag" -- "$TOOL" checkpoint 1 fast
expect 2 "collect bad option" -- "$TOOL" collect 1 wait-min
expect 2 "collect unknown option" -- "$TOOL" collect 1 frob 1
expect 2 "batch cancel bad id" -- "$TOOL" batch cancel 1 x
expect 2 "run without queue" -- "$TOOL" run
expect 2 "stats extra arg" -- "$TOOL" stats q0 q1
head -c 32 /dev/zero | tr '\0' k >"$TMP/psk"
head -c 15 /dev/zero | tr '\0' k >"$TMP/psk-short"
head -c 1025 /dev/zero | tr '\0' k >"$TMP/psk-long"
expect 2 "peer without subcommand" -- "$TOOL" peer
expect 2 "peer add without a key file" -- "$TOOL" peer add nodeb 10.0.0.2:7389
grep_in "$TMP/err" "--psk-file F is required" "  says the key file is required"
expect 2 "peer add bad name" -- "$TOOL" peer add 'a b' --psk-file "$TMP/psk"
expect 2 "peer add address without port" -- "$TOOL" peer add nodeb 10.0.0.2 --psk-file "$TMP/psk"
expect 2 "peer add port 0" -- "$TOOL" peer add nodeb h:0 --psk-file "$TMP/psk"
expect 2 "peer add bare IPv6 address" -- "$TOOL" peer add nodeb fe80::1:7389 --psk-file "$TMP/psk"
expect 2 "peer add bad keepalive" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk" keepalive 5
expect 2 "peer add two addresses" -- "$TOOL" peer add nodeb a:1 b:2 --psk-file "$TMP/psk"
expect 2 "peer add in-bytes too small" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk" in-bytes 1K
expect 2 "peer add in-bytes too large" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk" in-bytes 65G
expect 2 "peer add in-cmds 0" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk" in-cmds 0
expect 2 "peer add in-cmds too many" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk" in-cmds 1048577
expect 5 "peer add: key file of 15 bytes" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk-short"
grep_in "$TMP/err" "15 bytes, a key needs 16 to 1024" "  clear message"
expect 5 "peer add: key file of 1025 bytes" -- "$TOOL" peer add nodeb --psk-file "$TMP/psk-long"
expect 5 "peer add: missing key file" -- "$TOOL" peer add nodeb --psk-file "$TMP/none"
grep_in "$TMP/err" "No such file or directory" "  clear message"
# key files others can read: a warning, as wg(8) gives (whatever happens next)
chmod 600 "$TMP/psk"
"$TOOL" peer add nodeb --psk-file "$TMP/psk" >"$TMP/out" 2>"$TMP/err"
if grep -q "warning: key file" "$TMP/err"; then
	not_ok "a key file of mode 600 drew a warning"
else
	ok "a key file of mode 600: no warning"
fi
chmod 640 "$TMP/psk"
"$TOOL" peer add nodeb --psk-file "$TMP/psk" >"$TMP/out" 2>"$TMP/err"
grep_in "$TMP/err" "warning: key file $TMP/psk is accessible to group or others" \
	"a key file of mode 640: warned"
chmod 600 "$TMP/psk"
expect 2 "peer del without name" -- "$TOOL" peer del
expect 2 "peer show bad name" -- "$TOOL" peer show 'x/y'
expect 2 "session open bad peer" -- "$TOOL" session open q0@
expect 2 "session open bad queue@peer" -- "$TOOL" session open 'q0@a/b'
expect 2 "run bad peer" -- "$TOOL" run 'q0@a b' -n
expect 2 "serve bad node name" -- "$TOOL" serve --name 'a b'
expect 2 "serve bad listen" -- "$TOOL" serve --listen 0.0.0.0
expect 2 "serve bad digests" -- "$TOOL" serve --digests crc
expect 2 "serve unknown option" -- "$TOOL" serve --frob
expect 2 "monitor bad count" -- "$TOOL" monitor --count x
expect 2 "monitor bad timeout" -- "$TOOL" monitor --timeout 0
expect 2 "monitor --count=x" -- "$TOOL" monitor --count=x
grep_in "$TMP/err" "count" "  --opt=VALUE is --opt VALUE"
expect 2 "serve --listen=0.0.0.0" -- "$TOOL" serve --listen=0.0.0.0
grep_in "$TMP/err" "ADDR:PORT" "  --listen=ADDR needs a port, as --listen ADDR"
expect 0 "queue --help" -- "$TOOL" queue --help
grep_in "$TMP/out" "queue add NAME dev PATH" "  queue's usage on stdout"
grep_in "$TMP/out" "journal internal|PATH" "  with the journal"
expect 0 "queue add --help" -- "$TOOL" queue add --help
grep_in "$TMP/out" "queue del NAME" "  the group's usage"
expect 0 "help run" -- "$TOOL" help run
grep_in "$TMP/out" "run QUEUE[@PEER]" "  run's usage"
expect 2 "help frob" -- "$TOOL" help frob
expect 2 "queue add size without journal" -- "$TOOL" queue add q0 dev /dev/null size 4M
grep_in "$TMP/err" "it needs journal internal|PATH" "  says what size is"
expect 2 "queue add journal size not 4K" -- "$TOOL" queue add q0 dev /dev/null journal internal size 1000K
expect 2 "queue add journal size too small" -- "$TOOL" queue add q0 dev /dev/null journal internal size 512K
expect 2 "queue add journal relative path" -- "$TOOL" queue add q0 dev /dev/null journal nodev
expect 2 "usage error with --json" -- "$TOOL" --json session close x
json_check 'd["error"]["exit"] == 2 and "session id" in d["error"]["message"]' \
	"  --json usage error document"

# --- the module-not-loaded path (only where the family is absent) ----------
"$TOOL" version >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 3 ]; then
	ok "version without the module exits 3"
	grep_in "$TMP/out" "mbatchctl  " "  still prints the tool version"
	grep_in "$TMP/err" "mbatch: kernel module not loaded (try: modprobe mbatch)" \
		"  clear hint"
	expect 3 "--json version without the module" -- "$TOOL" --json version
	json_check 'd["module_loaded"] is False and d["tool_version"] and d["error"]["exit"] == 3' \
		"  --json document"
	for c in "queue show" "session show" "stats" "collect 1" "resume 1" \
		 "session open q0" "queue del q0" "session open q0@nodeb" \
		 "queue add q0 dev /dev/null --exist-ok" \
		 "collect 1:00ff" "session close 2:abc" \
		 "peer show" "peer del nodeb" "peer add nodeb --psk-file $TMP/psk" \
		 "monitor --timeout 100" "serve --listen none --name t"; do
		# shellcheck disable=SC2086
		expect 3 "$c without the module" -- "$TOOL" $c
	done
	printf 'read 0 4K\n' >"$TMP/r.mb"
	expect 3 "run without the module" -- "$TOOL" run q0 -f "$TMP/r.mb"
elif [ $rc -eq 0 ]; then
	skip "the module-not-loaded path" "the mbatch family is registered here"
else
	not_ok "version exit $rc"
fi

echo "1..$n"
echo "# $((n - fail - skipped)) passed, $fail failed, $skipped skipped"
[ $fail -eq 0 ]
