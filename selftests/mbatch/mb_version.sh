#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 2: "mbatchctl version" prints the module's and the tool's versions,
# --json parses; without the module the tool says so and exits 3; then the
# module is loaded again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$MBATCHCTL" ] || die "mbatchctl not found at $MBATCHCTL"
mb_loaded || die "mbatch is not loaded"
on_exit mb_reload

out=$("$MBATCHCTL" version 2>&1); rc=$?
[ $rc = 0 ] || fail "version: exit $rc: $out"
tool=$("$MBATCHCTL" --version | awk '{print $NF}')
[ -n "$tool" ] || fail "--version printed no version"
grep -qF "$tool" <<<"$out" || fail "version output lacks tool version $tool: $out"
if [ -r /sys/module/mbatch/version ]; then
	modver=$(cat /sys/module/mbatch/version)
	grep -qF "$modver" <<<"$out" ||
		fail "version output lacks module version $modver: $out"
fi
grep -q "mbatch" <<<"$out" || fail "version output lacks the family name"
log "$out"

json=$("$MBATCHCTL" --json version); rc=$?
[ $rc = 0 ] || fail "--json version: exit $rc"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["module_loaded"] is True, d
assert d["tool_version"] == sys.argv[2], d
assert d["family_version"] == 2, d
assert d["limits"]["max_io"] > 0 and d["limits"]["max_zero"] > 0, d
assert d["limits"]["batch_msgs"] > 0 and d["limits"]["reply_bytes"] > 0, d
assert isinstance(d["family_id"], int) and d["family_id"] > 0, d
assert d["module_version"], d
if sys.argv[3]:
    assert d["module_version"] == sys.argv[3], d
assert "local" in [f.lower() for f in d["features"]], d
' "$json" "$tool" "${modver:-}" || fail "--json version: unexpected document: $json"

# without the module
rmmod mbatch || die "rmmod mbatch failed"
out=$("$MBATCHCTL" version 2>&1); rc=$?
[ $rc = 3 ] || fail "version without module: exit $rc, want 3"
grep -q "not loaded" <<<"$out" || fail "version without module: no hint: $out"
grep -qF "$tool" <<<"$out" || fail "version without module: no tool version: $out"
json=$("$MBATCHCTL" --json version 2>/dev/null); rc=$?
[ $rc = 3 ] || fail "--json version without module: exit $rc, want 3"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["module_loaded"] is False, d
assert d["error"]["exit"] == 3, d
' "$json" || fail "--json version without module: $json"
out=$("$MBATCHCTL" queue show 2>&1); rc=$?
[ $rc = 3 ] || fail "queue show without module: exit $rc, want 3"
grep -q "not loaded" <<<"$out" || fail "queue show without module: no hint: $out"

mb_insmod || die "insmod $MBATCH_KO failed"
"$MBATCHCTL" version >/dev/null || fail "version after reload failed"
mb_exit
