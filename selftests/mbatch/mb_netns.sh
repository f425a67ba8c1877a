#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Network namespaces through mbatchctl: queues are per namespace (same
# name in two namespaces, neither sees the other's), and deleting a
# namespace that owns a busy queue releases its device, with no hang; the
# module then still unloads and is loaded again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$MBATCHCTL" ] || die "mbatchctl not found at $MBATCHCTL"
mb_loaded || die "mbatch is not loaded"
on_exit mb_reload
IP=/sbin/ip
[ -x $IP ] || IP=ip
ctl() { "$MBATCHCTL" "$@"; }
nsctl() { local ns=$1; shift; $IP netns exec "$ns" "$MBATCHCTL" "$@"; }
names() { python3 -c 'import json,sys; print(" ".join(q["name"] for q in json.load(sys.stdin)["queues"]))'; }
# queues NS|-: the names of the queues NS (- the init netns) sees; fails
# when the tool or its JSON does
queues() {
	local out
	if [ "$1" = - ]; then
		out=$(ctl --json queue show) || return 1
	else
		out=$(nsctl "$1" --json queue show) || return 1
	fi
	names <<<"$out"
}
# refused NS ERRNO TEXT WHAT ARGS...: mbatchctl ARGS in NS (- the init
# netns) is refused by the kernel: exit 1, that errno, that extack text
refused() {
	local ns=$1 errno=$2 text=$3 what=$4 out rc
	shift 4
	if [ "$ns" = - ]; then
		out=$(ctl --json "$@" 2>/dev/null)
	else
		out=$(nsctl "$ns" --json "$@" 2>/dev/null)
	fi
	rc=$?
	if [ "$rc" != 1 ]; then
		fail "$what: exit $rc, want 1 (refused by the kernel)"
		return
	fi
	python3 -c '
import json, sys
e = json.loads(sys.argv[1])["error"]
ok = e.get("errno") == int(sys.argv[2]) and sys.argv[3] in e.get("message", "") + e.get("extack", "")
if not ok:
    print("errno %s, message %r" % (e.get("errno"), e.get("message")))
sys.exit(0 if ok else 1)' "$out" "$errno" "$text" >"$TMPF" 2>&1 ||
		fail "$what: want errno $errno \"$text\", got $(cat "$TMPF")"
}
TMPF=$(mktemp)
on_exit "rm -f $TMPF"
ENOENT=2

NS1=$(netns_new mbns) || die "ip netns add"
NS2=$(netns_new mbns) || die "ip netns add"
Q=$(uniq_name q)
NB1=$(uniq_name mbn); NB2=$(uniq_name mbn); NB3=$(uniq_name mbn)
D1=$(nullb_create "$NB1" size=16) || die "null_blk"
on_exit "nullb_remove $NB1"
D2=$(nullb_create "$NB2" size=16) || die "null_blk"
on_exit "nullb_remove $NB2"
D3=$(nullb_create "$NB3" size=32 completion_nsec=1000000) || die "null_blk"
on_exit "nullb_remove $NB3"

# the same name in the init namespace and in NS1
ctl queue add "$Q" dev "$D1" || fail "queue add in init netns"
on_exit "\"$MBATCHCTL\" queue del $Q"
nsctl "$NS1" queue add "$Q" dev "$D2" || fail "queue add of the same name in $NS1"
init_q=$(queues -) || fail "queue show in the init netns failed"
ns1_q=$(queues "$NS1") || fail "queue show in $NS1 failed"
ns2_q=$(queues "$NS2") || fail "queue show in $NS2 failed"
[ "$ns1_q" = "$Q" ] || fail "$NS1 sees '$ns1_q', want '$Q'"
[ -z "$ns2_q" ] || fail "$NS2 sees '$ns2_q'"
grep -qw "$Q" <<<"$init_q" || fail "init netns lost its queue"
dev_in_init=$(ctl --json queue show "$Q" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queues"][0]["dev"])')
[ "$dev_in_init" = "$D1" ] || fail "init netns queue bound to $dev_in_init"
refused "$NS2" $ENOENT "no such queue" "$NS2 deletes a queue it cannot see" \
	queue del "$Q"
refused "$NS2" $ENOENT "no such queue" "$NS2 opens a session on another netns' queue" \
	session open "$Q"
sid=$(ctl session open "$Q") || fail "session open"
refused "$NS1" $ENOENT "no such session" "$NS1 closes a session of the init netns" \
	session close "$sid"
ctl session close "$sid" || fail "session close"
nsctl "$NS1" queue del "$Q" || fail "queue del in $NS1"
ctl queue show "$Q" >/dev/null || fail "deleting in $NS1 removed the init netns queue"

# a namespace with a busy queue goes away
nsctl "$NS2" queue add "$Q" dev "$D3" depth 2 || fail "queue add in $NS2"
sid=$(nsctl "$NS2" session open "$Q") || fail "session open in $NS2"
args=()
for i in $(seq 0 99); do args+=("write $((i * 64))K 32K"); done
nsctl "$NS2" submit "$sid" "${args[@]}" >/dev/null || fail "submit in $NS2"
nsctl "$NS2" checkpoint "$sid" >/dev/null || fail "checkpoint in $NS2"
t0=$(date +%s)
netns_del "$NS2" || fail "ip netns del $NS2"
for _ in $(seq 1 100); do nullb_free "$NB3" && break; sleep 0.2; done
nullb_free "$NB3" || fail "device of a deleted netns' queue still held after 20 s"
log "netns teardown released the device in $(( $(date +%s) - t0 )) s"
nullb_remove "$NB3" || fail "null_blk of the deleted netns not removable"

# the module is unaffected, and unloads once the rest is gone
ctl queue show "$Q" >/dev/null || fail "init netns queue gone"
ctl queue del "$Q" || fail "queue del"
for _ in 1 2 3 4 5; do nullb_free "$NB1" && break; sleep 0.5; done
netns_del "$NS1"
sleep 1
rmmod mbatch || fail "mbatch does not unload after namespace teardown"
mb_insmod || die "insmod $MBATCH_KO"
mb_exit
