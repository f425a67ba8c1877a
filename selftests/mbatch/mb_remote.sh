#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Remote sessions (Documentation/userspace-api/mbatch-wire.rst). Every node
# is a network namespace with its own null_blk device bound to queue q0 (a
# queue belongs to its namespace) and its own "mbatchctl serve" daemon;
# nodes are joined by veth pairs, 10.77.S.1 (dialling side) and 10.77.S.2.
#
#   barrier    a session opened before the link exists is connecting and
#              queues what is submitted; batches with checkpoints from a to
#              b: data read back from b's device with dd, the barrier
#              proved by b's timestamps; b's side of the session refuses
#              local requests and goes away with a's
#   netem      delay, loss, duplication and reordering on the link: the
#              results are complete and exact
#   cut        the link cut mid-batch (link down/up; daemons killed with
#              SIGKILL and restarted): every command runs once (epochs of
#              writes to the same blocks, the last one must win; reads in
#              between see the epoch before; b's device wrote exactly the
#              sectors of the writes) and every result comes once
#   reset      the participant loses its state mid-batch (peer del + add;
#              its namespace deleted and made again; the link timeout
#              expires): outstanding commands end unknown or not sent,
#              with the cause (ESTALE, ENOTCONN) as their status, never-sent
#              ones after every sent one, nothing hangs or leaks
#   handshake  wrong key, wrong version, replayed and reflected challenges,
#              unknown names refused with the right message on both sides;
#              a raw peer (mb_peer.py) that passed the handshake sends a
#              bad frame: the link drops, with a LINK_DOWN event and reason
#   multi      one initiator with two participants and two initiators on
#              one participant, four sessions in parallel, each stream in
#              order and each region of each device as its last epoch left it
#
# "mb_remote.sh [CASE...]" runs some cases only (also MB_REMOTE_CASES, comma
# separated, which reaches a VM through its kernel command line:
# VM_APPEND=MB_REMOTE_CASES=cut,reset tools/vm/run.sh KVER exec
# selftests/mbatch/mb_remote.sh). Every case ends by
# checking that each object it created is gone: sessions, peers and queues
# in every namespace, the namespaces and the devices.
# Cases and the steps of cases 3 and 4 are functions called by name:
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$MBATCHCTL" ] || die "mbatchctl not found at $MBATCHCTL"
mb_loaded || die "mbatch is not loaded"
on_exit mb_reload
IP=/sbin/ip
[ -x $IP ] || IP=ip
# the VM's kernel cannot load modules on demand: load them here
modprobe veth 2>/dev/null
modprobe sch_netem 2>/dev/null
RESULTS="$MB_DIR/mb_results.py"
RAWPEER="$MB_DIR/mb_peer.py"
PORT=7700
BS=4096
TMP=$(mktemp -d /tmp/mb_remote.XXXXXX)
on_exit "rm -rf $TMP"
export MBATCHCTL

ALL_CASES="barrier netem cut reset handshake multi"
CASES=${*:-${MB_REMOTE_CASES:-$ALL_CASES}}
CASES=${CASES//,/ }	# a kernel command line has no spaces

# --- nodes -----------------------------------------------------------------
declare -A NS NB DEV DPID
declare -A ADDR IFN	# [A,B]: B's address as A dials it, A's interface to B
NODES=()
NSUB=0

# every command in a node is bounded: a hang fails the case, not the run
nsx() { local n=$1; shift; timeout 120 "$IP" netns exec "${NS[$n]}" "$@"; }
ctl() { local n=$1; shift; nsx "$n" "$MBATCHCTL" "$@"; }
jctl() { local n=$1; shift; nsx "$n" "$MBATCHCTL" --json "$@"; }
kmsg() { echo "mb_remote: $*" >/dev/kmsg 2>/dev/null || true; }

# pj EXPR: evaluate a python expression over the JSON document on stdin (d)
pj() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
def peers(d):
    if isinstance(d, list):
        return d
    for k in ("peers", "peer"):
        if k in d:
            return d[k] if isinstance(d[k], list) else [d[k]]
    return [d] if "name" in d else []
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# node_new NODE [null_blk key=value...]: namespace, device, queue q0
node_new() {
	local n=$1 nb
	shift
	NS[$n]=$(netns_new "mbr$n") || die "ip netns add for $n"
	nsx "$n" "$IP" link set lo up
	nb=$(uniq_name mbr)
	NB[$n]=$nb
	DEV[$n]=$(nullb_create "$nb" size=64 blocksize=512 "$@") ||
		die "null_blk for $n"
	on_exit "nullb_remove $nb"
	on_exit "$IP netns exec ${NS[$n]} $MBATCHCTL queue del q0"
	ctl "$n" queue add q0 dev "${DEV[$n]}" || die "queue add on $n"
	NODES+=("$n")
}

# link_nodes A B: a veth pair, A is 10.77.S.1 and dials B at 10.77.S.2
link_nodes() {
	local a=$1 b=$2 s
	NSUB=$((NSUB + 1))
	s=$NSUB
	"$IP" link add "to$b" netns "${NS[$a]}" type veth peer name "to$a" \
		netns "${NS[$b]}" || die "veth $a-$b"
	nsx "$a" "$IP" addr add "10.77.$s.1/24" dev "to$b"
	nsx "$b" "$IP" addr add "10.77.$s.2/24" dev "to$a"
	nsx "$a" "$IP" link set "to$b" up
	nsx "$b" "$IP" link set "to$a" up
	ADDR[$a,$b]=10.77.$s.2
	ADDR[$b,$a]=10.77.$s.1
	IFN[$a,$b]=to$b
	IFN[$b,$a]=to$a
}

# key FILE [BYTES]: a fresh pre-shared key
key() {
	head -c "${2:-32}" /dev/urandom >"$1"
	chmod 600 "$1"
}

# pair A B [keepalive MS] [link-timeout MS]: A dials B with a common key
pair() {
	local a=$1 b=$2 k=$TMP/key.$1.$2
	shift 2
	key "$k"
	ctl "$a" peer add "node$b" "${ADDR[$a,$b]}:$PORT" --psk-file "$k" "$@" ||
		fail "peer add node$b on $a"
	ctl "$b" peer add "node$a" --psk-file "$k" "$@" ||
		fail "peer add node$a on $b"
}

listening() {
	nsx "$1" cat /proc/net/tcp |
		grep -q ":$(printf "%04X" "$PORT") 00000000:0000 0A"
}

# daemon_start NODE [VAR=VALUE...]: mbatchctl serve in NODE's namespace
daemon_start() {
	local n=$1
	shift
	echo "--- start $(date +%T.%N)" >>"$TMP/$n.log"
	env "$@" "$IP" netns exec "${NS[$n]}" "$MBATCHCTL" serve --name "node$n" \
		--listen "0.0.0.0:$PORT" >>"$TMP/$n.log" 2>&1 &
	DPID[$n]=$!
	disown	# no job notice when a case kills it
	wait_for 10 listening "$n" || fail "daemon of $n not listening after 10 s"
}

# daemon_stop NODE [SIGNAL]
daemon_stop() {
	local n=$1 pid=${DPID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "daemon of $n (pid $pid) still running 5 s after SIG${2:-TERM}"
		kill -9 "$pid" 2>/dev/null
	fi
	DPID[$n]=
}
daemons_stop() {
	local n
	for n in "${NODES[@]}"; do daemon_stop "$n"; done
}
on_exit daemons_stop

# pull_all 1|0: every WRITE's data goes by R2T (inline_max 0), or the
# default 16 KiB inline; both "nodes" share the module, taken at attach
pull_all() {
	echo $(($1 ? 0 : 16384)) >/sys/module/mbatch/parameters/inline_max
}
pulled() {	# pulled NODE PEER: WRITEs whose data went by R2T
	peer_val "$1" "$2" "['stats'].get('pulled', 0)"
}
peer_val() {	# peer_val NODE PEER EXPR (p: the peer's object)
	jctl "$1" peer show "$2" 2>/dev/null |
		pj "[p for p in peers(d) if p['name'] == '$2'][0]$3" 2>/dev/null
}
peer_is() {	# peer_is NODE PEER up|down (grep: polled often, python is slow)
	jctl "$1" peer show "$2" 2>/dev/null | grep -Eq "\"state\": ?\"$3\""
}
peers_up() {	# peers_up SECONDS NODE:PEER...
	local t=$1 np
	shift
	for np in "$@"; do
		wait_for "$t" peer_is "${np%%:*}" "${np#*:}" up ||
			{ fail "peer ${np#*:} on ${np%%:*} not up after $t s"; return 1; }
	done
}

# sessions NODE: number of sessions in NODE's namespace
sessions() { jctl "$1" session show | pj "len(d['sessions'])"; }
no_sessions() { [ "$(sessions "$1")" = 0 ]; }
sessions_are() { [ "$(sessions "$1")" = "$2" ]; }
session_state() { jctl "$1" session show "$2" | pj "d['sessions'][0]['state']"; }
state_is() { [ "$(session_state "$1" "$2")" = "$3" ]; }
# dev_writes NODE N: NODE's device completed at least N writes
dev_writes() { [ "$(blk_stat "${NB[$1]}" 5)" -ge "$2" ]; }

ns_alive() { [ -e "/run/netns/${NS[$1]}" ]; }

# topo_down: tear the case's nodes down, failing for whatever was left
topo_down() {
	local n p left
	for n in "${NODES[@]}"; do
		ns_alive "$n" || continue
		wait_for 15 no_sessions "$n" ||
			fail "$n: sessions left: $(jctl "$n" session show | pj "[(s['id'], s['queue'], s.get('peer'), s['flags'], s['state']) for s in d['sessions']]")"
	done
	daemons_stop
	for n in "${NODES[@]}"; do
		ns_alive "$n" || { log "$n: namespace ${NS[$n]} was deleted by the case"; continue; }
		for p in $(jctl "$n" peer show | pj "' '.join(p['name'] for p in peers(d))"); do
			ctl "$n" peer del "$p" || fail "$n: peer del $p"
		done
		left=$(jctl "$n" peer show | pj "len(peers(d))")
		[ "$left" = 0 ] || fail "$n: $left peer(s) left after peer del"
		for p in $(jctl "$n" session show | pj "' '.join(str(s['id']) for s in d['sessions'])"); do
			ctl "$n" session close "$p"
		done
		ctl "$n" queue del q0 || fail "$n: queue del q0"
		left=$(jctl "$n" queue show | pj "len(d['queues'])")
		[ "$left" = 0 ] || fail "$n: $left queue(s) left after queue del"
	done
	for n in "${NODES[@]}"; do
		! ns_alive "$n" || netns_del "${NS[$n]}" || fail "ip netns del ${NS[$n]}"
		wait_for 20 nullb_free "${NB[$n]}" ||
			fail "$n: ${DEV[$n]} still held 20 s after its queue and namespace went"
		nullb_remove "${NB[$n]}" || fail "$n: null_blk ${NB[$n]} not removable"
	done
	NODES=()
	NSUB=0
	NS=() NB=() DEV=() DPID=() ADDR=() IFN=()
}

# --- sessions --------------------------------------------------------------
# open_remote NODE QUEUE@PEER: a session, ID:HANDLE in SID (every command
# runs in a process of its own: each needs the handle)
open_remote() {
	SID=$(ctl "$1" session open "$2") || { fail "$1: session open $2"; return 1; }
	[[ $SID =~ ^[0-9]+:[0-9a-f]{16}$ ]] || { fail "$1: session open $2 printed '$SID'"; return 1; }
}

# gen FILE EPOCHS FIRST BLOCKS [BASE]: a workload script (mb_results.py gen)
gen() {
	python3 "$RESULTS" gen --epochs "$2" --first "$3" --blocks "$4" \
		--base "${5:-0}" --batch-every 4 >"$1"
}
# messages of "gen EPOCHS FIRST BLOCKS": a write epoch has BLOCKS writes,
# a read epoch one read, each a checkpoint
gen_count() {
	local e n=0
	for ((e = $2; e < $1; e++)); do
		if ((e % 2 == 0)); then n=$((n + $3 + 1)); else n=$((n + 2)); fi
	done
	echo "$n"
}

# submit NODE SID FILE [DIR]: submit a script, one SUBMIT per part between
# its "batch" lines; the first message sequence in FIRST (DIR: scratch)
submit() {
	local part=0 f d=${4:-$TMP}
	rm -f "$d"/part.*
	awk -v p="$d/part." 'BEGIN { n = 0 } /^batch$/ { n++; next }
		{ print > (p sprintf("%03d", n)) }' "$3"
	FIRST=
	for f in "$d"/part.*; do
		jctl "$1" submit "$2" -f "$f" >"$d/submit.json" || {
			fail "$1: submit part $part of $3 to session $2: $(head -c 300 "$d/submit.json")"
			return 1
		}
		[ -n "$FIRST" ] || FIRST=$(pj "d['batches'][0]['first_seq']" <"$d/submit.json")
		part=$((part + 1))
	done
}

# collect NODE SID TOTAL SECONDS OUT
collect() {
	python3 "$RESULTS" collect --ns "${NS[$1]}" --sid "$2" --total "$3" \
		--timeout "$4" --out "$5" ||
		fail "$1: session $2: results missing after $4 s"
}

# check OUT ARGS...: mb_results.py check, failures counted
check() {
	local what=$1 out
	shift
	if ! out=$(python3 "$RESULTS" check "$@" 2>&1); then
		fail "$what: $(tr '\n' ';' <<<"$out" | head -c 1500)"
		return 1
	fi
}

# dev_is NODE BASE BLOCKS BYTE: the device holds BYTE there (dd, O_DIRECT)
dev_is() {
	dd if="${DEV[$1]}" of="$TMP/dev" bs="$BS" skip=$(($2 / BS)) count="$3" \
		iflag=direct status=none || { fail "dd of ${DEV[$1]}"; return 1; }
	python3 "$RESULTS" pattern "$TMP/dev" --byte "$4" >"$TMP/dev.why" ||
		{ fail "$1: ${DEV[$1]} at $2: $(cat "$TMP/dev.why")"; return 1; }
}

# case_begin NAME / case_end NAME: the PASS/FAIL line of one case
case_begin() {
	CASE_FAILS=$MB_FAILS
	CASE_T0=$SECONDS
	log "--- $1"
	kmsg "case $1"
}
case_end() {
	if [ "$MB_FAILS" = "$CASE_FAILS" ]; then
		log "PASS: $1 ($((SECONDS - CASE_T0)) s)"
	else
		log "FAIL: $1: $((MB_FAILS - CASE_FAILS)) failure(s) ($((SECONDS - CASE_T0)) s)"
		local n
		for n in "${NODES[@]}"; do
			[ -s "$TMP/$n.log" ] && sed "s/^/#   $n: /" "$TMP/$n.log" | tail -n 15
		done
	fi
	rm -f "$TMP"/*.log
}

two_nodes() {	# two_nodes [null_blk options of b...]
	node_new a
	node_new b "$@"
	link_nodes a b
}

# ===========================================================================
# 1. batches with checkpoints, a -> b
case_barrier() {
	local sid bsid first total=0 n early early_ok epid st w0
	two_nodes completion_nsec=200000
	pair a b keepalive 250

	# before there is a link a remote session is CONNECTING (the kernel
	# refuses its batches with EAGAIN until the participant accepted it);
	# "session open" waits for that (mbatch-wire.rst)
	ctl a session open q0@nodeb >"$TMP/early.sid" 2>"$TMP/early.err" &
	epid=$!
	early_ok=0
	sleep 1
	st=$(jctl a session show | pj "[s['state'] for s in d['sessions']]")
	[ "$st" = '["connecting"]' ] ||
		fail "with no link, a's sessions are $st, expected one connecting"
	daemon_start a
	daemon_start b
	peers_up 20 a:nodeb b:nodea || return
	timeout 30 tail --pid="$epid" -f /dev/null ||
		{ fail "session open still waiting 30 s after the link came up"; kill "$epid"; }
	if wait "$epid"; then
		early=$(cat "$TMP/early.sid")
		printf 'write 1M 4K pattern 7\ncheckpoint\nread 1M 4K\n' >"$TMP/early"
		submit a "$early" "$TMP/early" && early_ok=1
	else
		fail "session open q0@nodeb, made before the link: $(cat "$TMP/early.err")"
	fi
	if [ "$early_ok" = 1 ]; then
		collect a "$early" 3 30 "$TMP/early.r.json"
		check "connecting" "$TMP/early.r.json" --count 3
	fi
	[ -n "$early" ] && { ctl a session close "$early" || fail "session close $early"; }
	wait_for 10 no_sessions b || fail "b kept the peer's session after close"

	open_remote a q0@nodeb || return
	sid=$SID
	wait_for 10 state_is a "$sid" active || fail "session $sid: $(session_state a "$sid"), not active"
	wait_for 10 sessions_are b 1 ||
		fail "b holds $(sessions b) sessions, expected the peer's one"
	bsid=$(jctl b session show | pj "d['sessions'][0]['id']")
	log "session $sid on a is session $bsid on b: $(jctl b session show | pj "d['sessions'][0]['flags']")"
	ctl b submit "$bsid" "read 0 4K" >/dev/null 2>&1 &&
		fail "b accepted a local submit on the peer's session $bsid"

	gen "$TMP/w" 12 0 8
	total=$(gen_count 12 0 8)
	w0=$(blk_stat "${NB[b]}" 7)
	submit a "$sid" "$TMP/w" || return
	first=$FIRST
	collect a "$sid" "$total" 60 "$TMP/r.json"
	check "barrier" "$TMP/r.json" --count "$total" --first-msg-seq "$first" \
		--barrier --epochs --blocks 8 --reached 12 \
		--written-sectors $(($(blk_stat "${NB[b]}" 7) - w0))
	dev_is b 0 8 "$(python3 "$RESULTS" last-pattern --epochs 12)"
	n=$(peer_val a nodeb "['stats']['sessions_out']")
	[ "$n" = 1 ] || fail "a: peer nodeb sessions_out $n, expected 1"
	n=$(peer_val b nodea "['stats']['sessions_in']")
	[ "$n" = 1 ] || fail "b: peer nodea sessions_in $n, expected 1"
	log "a->b: rtt $(peer_val a nodeb "['rtt_us']") us, stats $(peer_val a nodeb "['stats']")"
	ctl a session close "$sid" || fail "session close $sid"
	wait_for 10 no_sessions b || fail "b kept the peer's session after close"
}

# ===========================================================================
# 2. netem on both ends of the link
case_netem() {
	local sid first total n netem w0
	netem="delay 8ms 4ms loss 2% duplicate 2% reorder 25% 50%"
	two_nodes completion_nsec=50000
	for n in a,b b,a; do
		# shellcheck disable=SC2086 # netem's arguments
		nsx "${n%,*}" tc qdisc add dev "${IFN[$n]}" root netem $netem ||
			{ fail "tc netem on ${IFN[$n]}"; topo_down; return; }
	done
	pair a b
	daemon_start a
	daemon_start b
	peers_up 30 a:nodeb b:nodea || return
	# every write's data pulled, over the lossy link
	pull_all 1
	open_remote a q0@nodeb || { pull_all 0; return; }
	sid=$SID
	wait_for 10 state_is a "$sid" active || fail "$what: session $sid not active"
	pull_all 0	# taken at attach: the session keeps it
	gen "$TMP/w" 24 0 8
	total=$(gen_count 24 0 8)
	w0=$(blk_stat "${NB[b]}" 7)
	submit a "$sid" "$TMP/w"
	first=$FIRST
	collect a "$sid" "$total" 90 "$TMP/r.json"
	check "netem" "$TMP/r.json" --count "$total" --first-msg-seq "$first" \
		--barrier --epochs --blocks 8 --reached 24 \
		--written-sectors $(($(blk_stat "${NB[b]}" 7) - w0))
	dev_is b 0 8 "$(python3 "$RESULTS" last-pattern --epochs 24)"
	n=$(pulled b nodea)
	[ "${n:-0}" -gt 0 ] || fail "netem: no write's data was pulled"
	log "netem ($netem): rtt $(peer_val a nodeb "['rtt_us']") us, a: $(peer_val a nodeb "['stats']")"
	ctl a session close "$sid" || fail "session close $sid"
}

# ===========================================================================
# 3. the link cut mid-batch
# cut_run NAME ACTION: a session with 40 epochs in two halves; ACTION runs
# after the first half was submitted, the second half is submitted while
# the link is down
cut_run() {
	local what=$1 action=$2 sid first total st w0 n
	# every write's data pulled: cuts land in the middle of R2T and DATA
	pull_all 1
	open_remote a q0@nodeb || { pull_all 0; return; }
	sid=$SID
	wait_for 10 state_is a "$sid" active || fail "$what: session $sid not active"
	pull_all 0	# taken at attach: the session keeps it
	gen "$TMP/w1" 20 0 4
	gen "$TMP/w2" 40 20 4
	total=$(gen_count 40 0 4)
	w0=$(blk_stat "${NB[b]}" 7)
	submit a "$sid" "$TMP/w1" || return
	first=$FIRST
	kmsg "$what: cut"
	$action "$sid"
	st=$(session_state a "$sid" 2>/dev/null)
	log "$what: session $sid after the cut: ${st:-?}"
	collect a "$sid" "$total" 60 "$TMP/r.json"
	# every write ran once: b's device wrote exactly their sectors
	check "cut/$what" "$TMP/r.json" --count "$total" --first-msg-seq "$first" \
		--barrier --epochs --blocks 4 --reached 40 \
		--written-sectors $(($(blk_stat "${NB[b]}" 7) - w0))
	dev_is b 0 4 "$(python3 "$RESULTS" last-pattern --epochs 40)"
	n=$(pulled b nodea)
	[ "${n:-0}" -gt 0 ] || fail "cut/$what: no write's data was pulled"
	log "$what: a: $(peer_val a nodeb "['stats']"); b: $(peer_val b nodea "['stats']")"
	ctl a session close "$sid" || fail "$what: session close $sid"
	wait_for 10 no_sessions b || fail "$what: b kept the peer's session"
}

# cable_pull: a's end of the veth down; messages submitted now go into a
# link that is dead but not yet known to be: they must be sent again
cable_pull() {
	RESENT0=$(peer_val a nodeb "['stats']['resent']")
	DROPS0=$(peer_val a nodeb "['stats']['drops']")
	nsx a "$IP" link set "${IFN[a,b]}" down
	submit a "$1" "$TMP/w2"
	wait_for 10 peer_is a nodeb down ||
		fail "a: link to nodeb still up 10 s after the cable was pulled"
}
cable_back() { nsx a "$IP" link set "${IFN[a,b]}" up; }
cut_counted() {	# cut_counted WHAT: the drop was counted, messages resent
	[ "$(peer_val a nodeb "['stats']['drops']")" -gt "${DROPS0:-0}" ] ||
		fail "$1: no link drop counted on a"
	[ "$(peer_val a nodeb "['stats']['resent']")" -gt "${RESENT0:-0}" ] ||
		fail "$1: nothing resent (messages sent into the dead link: $(peer_val a nodeb "['stats']"))"
}

cut_linkdown() {
	cable_pull "$1"
	cable_back
	peers_up 20 a:nodeb
	cut_counted linkdown
}

cut_kill_dialler() {
	daemon_stop a KILL
	cable_pull "$1"
	cable_back
	sleep 1
	peer_is a nodeb down || fail "kill-a: link up again with no daemon on a"
	daemon_start a
	peers_up 20 a:nodeb
	cut_counted kill-a
}

cut_kill_acceptor() {
	daemon_stop b KILL
	# the kernel holds the link: it survives its daemon
	sleep 0.5
	peer_is a nodeb up || fail "kill-b: the link went down with b's daemon"
	cable_pull "$1"
	cable_back
	sleep 1
	daemon_start b
	peers_up 20 a:nodeb b:nodea
	cut_counted kill-b
}

case_cut() {
	two_nodes completion_nsec=2000000
	# dead after 4 silent keepalives: 2 s to submit into a dead link
	pair a b keepalive 500
	daemon_start a
	daemon_start b
	peers_up 20 a:nodeb b:nodea || return
	cut_run linkdown cut_linkdown
	cut_run kill-a cut_kill_dialler
	cut_run kill-b cut_kill_acceptor
}

# ===========================================================================
# 4. the participant loses its state mid-batch
# reset_run NAME ACTION [SESSION_ERROR]: 30 epochs on a slow device; ACTION
# runs once some results arrived; then every command has exactly one result,
# the lost ones unknown (sent) or not sent (all after the sent), their
# status the cause, SESSION_ERROR
reset_run() {
	local what=$1 action=$2 serr=${3:-ESTALE} sid first total st t0 w0
	open_remote a q0@nodeb || return
	sid=$SID
	RESET_SID=$sid
	wait_for 10 state_is a "$sid" active || fail "$what: session $sid not active"
	w0=$(blk_stat "${NB[b]}" 5)
	gen "$TMP/w" 30 0 4
	total=$(gen_count 30 0 4)
	submit a "$sid" "$TMP/w" || return
	first=$FIRST
	# once b's device completed a few writes (a collect here would have
	# the next one acknowledge what it returned)
	wait_for 10 dev_writes b $((w0 + 3)) || fail "$what: b wrote nothing in 10 s"
	kmsg "$what: reset"
	t0=$SECONDS
	$action || { fail "$what: cannot go on"; ctl a session close "$sid"; return 1; }
	collect a "$sid" "$total" 40 "$TMP/r.json"
	log "$what: every command ended $((SECONDS - t0)) s after the reset"
	check "reset/$what" "$TMP/r.json" --count "$total" --first-msg-seq "$first" \
		--statuses "ok,$serr" --outcomes done,unknown,not-sent --lost \
		--epochs --blocks 4
	st=$(jctl a session show "$sid" | pj "(d['sessions'][0]['state'], d['sessions'][0]['error'])")
	log "$what: session $sid: $st"
	python3 -c '
import errno, sys
st, err = eval(sys.argv[1])
want = -getattr(errno, sys.argv[2])
assert st == "halted", st
assert err in (want, errno.errorcode[-want], "-" + errno.errorcode[-want]) or \
    (isinstance(err, str) and errno.errorcode[-want] in err), err
' "$st" "$serr" || fail "$what: session $sid is $st, expected halted with $serr"
	ctl a session close "$sid" || fail "$what: session close $sid"
	# and the peers work again
	peers_up 20 a:nodeb b:nodea
	printf 'write 0 4K pattern 9\ncheckpoint\nread 0 4K\n' >"$TMP/small"
	open_remote a q0@nodeb || return
	wait_for 10 state_is a "$SID" active ||
		fail "$what: new session $SID: $(session_state a "$SID"), not active"
	submit a "$SID" "$TMP/small"
	collect a "$SID" 3 20 "$TMP/small.json"
	check "$what: a new session after the reset" "$TMP/small.json" --count 3
	ctl a session close "$SID" || fail "$what: session close $SID"
	wait_for 10 no_sessions b || fail "$what: b holds sessions after the reset"
}

reset_peer() {
	ctl b peer del nodea || fail "peer-del: peer del nodea on b"
	ctl b peer add nodea --psk-file "$TMP/key.a.b" keepalive 250 ||
		fail "peer-del: peer add nodea on b"
}

no_link() { ! nsx "$1" "$IP" link show "$2" >/dev/null 2>&1; }
reset_netns() {
	local left
	daemon_stop b KILL
	# the node and its network vanish: a link keeps its socket's
	# namespace alive until the far side's keepalive gives up on it
	# (mbatch-wire.rst, Namespaces), which needs the cable gone
	nsx b "$IP" link del "${IFN[b,a]}" || fail "netns: ip link del"
	# b's end of the dead link, dropped by its keepalive, resets its
	# connection instead of retransmitting a FIN (and keeping the
	# namespace) for minutes: nothing here shortens TCP's retries
	left=$("$IP" netns pids "${NS[b]}" | tr '\n' ' ')
	[ -z "$left" ] || fail "netns: processes left in b's namespace: $left"
	netns_del "${NS[b]}" || fail "netns: ip netns del"
	if ! wait_for 20 nullb_free "${NB[b]}"; then
		fail "netns: ${DEV[b]} still held 20 s after b's namespace was deleted" \
			"(no process and no network left in it; a's link to nodeb: $(peer_val a nodeb "['state']"))"
		return 1
	fi
	"$IP" netns add "${NS[b]}" || { fail "netns: ip netns add"; return 1; }
	nsx b "$IP" link set lo up
	ctl b queue add q0 dev "${DEV[b]}" depth 1 || fail "netns: queue add in the new b"
	# the pair went with b's namespace
	wait_for 10 no_link a "${IFN[a,b]}" ||
		{ fail "netns: a's end of the veth outlived b's namespace"; return 1; }
	"$IP" link add "${IFN[a,b]}" netns "${NS[a]}" type veth \
		peer name "${IFN[b,a]}" netns "${NS[b]}" || { fail "netns: veth"; return 1; }
	nsx a "$IP" addr add "${ADDR[b,a]}/24" dev "${IFN[a,b]}"
	nsx b "$IP" addr add "${ADDR[a,b]}/24" dev "${IFN[b,a]}"
	nsx a "$IP" link set "${IFN[a,b]}" up
	nsx b "$IP" link set "${IFN[b,a]}" up
	ctl b peer add nodea --psk-file "$TMP/key.a.b" keepalive 250 ||
		fail "netns: peer add nodea on the new b"
	daemon_start b
}

reset_timeout() {
	nsx a "$IP" link set "${IFN[a,b]}" down
	# link-timeout 2000: give up, both sides
	wait_for 15 state_is a "$RESET_SID" halted ||
		fail "timeout: session not halted 15 s after the cable was pulled"
	wait_for 15 no_sessions b ||
		fail "timeout: b kept the session after the link timeout"
	nsx a "$IP" link set "${IFN[a,b]}" up
}

# repair [peer add options]: both peers made again, daemons restarted
repair() {
	ctl a peer del nodeb
	ctl b peer del nodea
	daemon_stop a
	daemon_stop b
	pair a b "$@"
	daemon_start a
	daemon_start b
	peers_up 20 a:nodeb b:nodea
}

case_reset() {
	# 100 ms per request and depth 1: an epoch's writes merge into one
	# request, so 30 epochs last about 3 s, and the reset comes early
	two_nodes completion_nsec=100000000
	ctl b queue del q0
	ctl b queue add q0 dev "${DEV[b]}" depth 1 || fail "queue add depth 1"
	pair a b keepalive 250
	daemon_start a
	daemon_start b
	peers_up 20 a:nodeb b:nodea || return
	reset_run peer-del reset_peer || return
	repair keepalive 250 link-timeout 2000 || return
	reset_run link-timeout reset_timeout ENOTCONN || return
	# last: a namespace that does not go away stops the case
	repair keepalive 250 || return
	reset_run netns reset_netns
}

# ===========================================================================
# 5. the handshake and bad frames
log_has() {	# log_has NODE REGEX: the daemon of NODE logged a matching line
	grep -Eiq "$2" "$TMP/$1.log"
}
raw() {	# raw ARGS...: mb_peer.py from a's namespace to b's daemon
	nsx a python3 "$RAWPEER" "${ADDR[a,b]}:$PORT" --peer nodeb "$@"
}

case_handshake() {
	local mon out act n d0
	two_nodes
	key "$TMP/key.ab"
	key "$TMP/key.wrong"
	key "$TMP/key.raw" 64
	ctl a peer add nodeb "${ADDR[a,b]}:$PORT" --psk-file "$TMP/key.ab" keepalive 250
	ctl b peer add nodea --psk-file "$TMP/key.wrong" keepalive 250
	ctl b peer add raw --psk-file "$TMP/key.raw" keepalive 5000
	daemon_start a
	daemon_start b

	# wrong key: both sides refuse, both say why
	wait_for 10 log_has b 'refus.*auth' ||
		fail "wrong key: b did not log an authentication refusal"
	wait_for 10 log_has a 'refus.*auth' ||
		fail "wrong key: a did not log an authentication refusal"
	peer_is a nodeb down || fail "wrong key: a's link is up"
	peer_is b nodea down || fail "wrong key: b's link is up"
	out=$(raw --name raw --psk "$TMP/key.wrong" --expect refused:4) ||
		fail "wrong key (raw): $out"

	# wrong version: refused by b, with the reason on both sides
	out=$(raw --name raw --psk "$TMP/key.raw" --version 3 --expect refused:2) ||
		fail "wrong version (raw): $out"
	log_has b 'refus.*version' || fail "wrong version: b did not log it"
	# a's daemon goes first: with the right key it would make the link
	daemon_stop a
	cp "$TMP/key.ab" "$TMP/key.wrong"	# b now has the right key
	if grep -aq MBATCH_HS_VERSION "$MBATCHCTL"; then
		: >"$TMP/b.log"
		daemon_start a MBATCH_HS_VERSION=1
		wait_for 10 log_has b 'refus.*version' ||
			fail "wrong version: b did not refuse a daemon announcing 1"
		wait_for 10 log_has a 'refus.*version' ||
			fail "wrong version: a did not log b's refusal"
		peer_is a nodeb down || fail "wrong version: a's link is up"
		daemon_stop a
	else
		log "the daemon has no MBATCH_HS_VERSION: version checked with the raw client only"
	fi
	daemon_start a
	peers_up 20 a:nodeb b:nodea || fail "right key: no link"
	d0=$(peer_val b nodea "['stats']['drops']")

	# replayed, reflected, unknown name, same role, bad magic
	out=$(raw --name raw --psk "$TMP/key.raw" --save-challenge "$TMP/chal" \
		--action close --expect ok) || fail "raw handshake: $out"
	wait_for 10 peer_is b raw down || fail "raw: link up after the client closed"
	out=$(raw --name raw --psk "$TMP/key.raw" --challenge "$(cat "$TMP/chal")" \
		--expect refused:5) || fail "replayed challenge: $out"
	log_has b 'refus.*(replay|challenge)' || fail "replayed challenge: b did not log it"
	out=$(raw --name raw --psk "$TMP/key.raw" --reflect --expect refused:5) ||
		fail "reflected challenge: $out"
	out=$(raw --name stranger --psk "$TMP/key.raw" --expect refused:3) ||
		fail "unknown peer: $out"
	log_has b 'refus.*(unknown|peer)' || fail "unknown peer: b did not log it"
	out=$(raw --name raw --psk "$TMP/key.raw" --no-dial-bit --expect refused:1) ||
		fail "same role: $out"
	out=$(raw --name raw --psk "$TMP/key.raw" --bad-magic --expect refused:1) ||
		fail "bad magic: $out"

	# bad frames on an authenticated, attached link
	ctl b monitor --json --timeout 60000 >"$TMP/mon.json" 2>"$TMP/mon.err" &
	mon=$!
	sleep 1.5	# subscribed before the first event
	n=0
	for act in garbage trunc-header trunc-payload bad-crc oversize out-of-seq \
		bad-version bad-type; do
		out=$(raw --name raw --psk "$TMP/key.raw" --action "$act" --expect ok) ||
			fail "bad frame $act: $out"
		wait_for 5 peer_is b raw down ||
			fail "bad frame $act: b's link to raw still up"
		log "bad frame $act: $out; b says: $(peer_val b raw ".get('last_down', {}).get('reason')")"
		n=$((n + 1))
	done
	peer_is a nodeb up || fail "the a-b link went down during the raw tests"
	[ "$(peer_val b nodea "['stats']['drops']")" = "$d0" ] ||
		fail "the a-b link dropped during the raw tests"
	# SIGTERM ends a monitor cleanly (its output is flushed)
	sleep 1
	kill "$mon" 2>/dev/null
	timeout 10 tail --pid="$mon" -f /dev/null || kill -9 "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	python3 - "$TMP/mon.json" "$n" <<'EOF' || fail "monitor: $(head -c 1000 "$TMP/mon.json") $(head -c 300 "$TMP/mon.err")"
import json, sys
text = open(sys.argv[1]).read()
try:
    doc = json.loads(text)
    ev = doc.get("events", doc) if isinstance(doc, dict) else doc
    ev = ev if isinstance(ev, list) else [ev]
except ValueError:
    ev = [json.loads(l) for l in text.splitlines() if l.strip()]
def kind(e):
    return " ".join(str(e.get(k, "")) for k in ("event", "type", "cmd", "name")).lower().replace("_", "-")
down = [e for e in ev if "link-down" in kind(e) and "raw" in json.dumps(e)]
assert len(down) >= int(sys.argv[2]), "%d LINK_DOWN events for raw, expected %s: %s" % (len(down), sys.argv[2], json.dumps(ev)[:800])
noreason = [e for e in down if not e.get("reason")]
assert not noreason, "LINK_DOWN without a reason: %s" % noreason[:2]
print("# mb_remote: LINK_DOWN reasons: " + "; ".join(sorted(set(str(e["reason"]) for e in down))))
EOF
}

# ===========================================================================
# 6. several nodes: a -> b, a -> c (two participants), c -> b (b has two
# initiators); four sessions at once, each writing its own region
case_multi() {
	local pids=() i spec node target base
	node_new a
	node_new b completion_nsec=200000
	node_new c completion_nsec=200000
	link_nodes a b
	link_nodes a c
	link_nodes c b
	pair a b keepalive 250
	pair a c keepalive 250
	pair c b keepalive 250
	daemon_start a
	daemon_start b
	daemon_start c
	peers_up 20 a:nodeb a:nodec c:nodeb b:nodea b:nodec c:nodea || return
	local streams=("a b 0" "a b 1048576" "c b 2097152" "a c 0")
	local total sids=()
	total=$(gen_count 20 0 4)
	for i in "${!streams[@]}"; do
		read -r node target base <<<"${streams[$i]}"
		gen "$TMP/m$i" 20 0 4 "$base"
		open_remote "$node" "q0@node$target" || return
		sids+=("$SID")
		wait_for 10 state_is "$node" "$SID" active ||
			fail "stream $i: session $SID not active"
	done
	for i in "${!streams[@]}"; do
		read -r node target base <<<"${streams[$i]}"
		stream "$i" "$node" "${sids[$i]}" "$total" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		timeout 150 tail --pid="${pids[$i]}" -f /dev/null ||
			{ fail "stream $i: still running after 150 s"; kill -9 "${pids[$i]}"; }
		wait "${pids[$i]}" || fail "stream $i (${streams[$i]}) did not complete"
	done
	for i in "${!streams[@]}"; do
		read -r node target base <<<"${streams[$i]}"
		spec="stream $i ($node -> $target at $base)"
		check "$spec" "$TMP/s$i/r.json" --count "$total" \
			--first-msg-seq "$(cat "$TMP/s$i/first")" --barrier --epochs \
			--blocks 4 --reached 20
		dev_is "$target" "$base" 4 "$(python3 "$RESULTS" last-pattern --epochs 20)"
		ctl "$node" session close "${sids[$i]}" || fail "$spec: session close"
	done
}

# stream I NODE SID TOTAL: (in the background) submit stream I's script
# and collect its results into $TMP/sI
stream() {
	local d=$TMP/s$1
	mkdir -p "$d"
	submit "$2" "$3" "$TMP/m$1" "$d" || return 1
	echo "$FIRST" >"$d/first"
	python3 "$RESULTS" collect --ns "${NS[$2]}" --sid "$3" --total "$4" \
		--timeout 90 --out "$d/r.json"
}

for c in $CASES; do
	case " $ALL_CASES " in
	*" $c "*) ;;
	*) die "unknown case $c (cases: $ALL_CASES)" ;;
	esac
	case_begin "$c"
	"case_$c"
	[ ${#NODES[@]} -gt 0 ] && topo_down
	case_end "$c"
done
mb_exit
