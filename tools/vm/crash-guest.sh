#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One node of the two-node crash test (tools/vm/crash.sh), run by the guest
# runner in exec mode with the module loaded. The job file says which:
#
#   CRASH_ROLE=initiator  node "nodea": streams into nodeb's queue with
#                         mb_crash, which judges the outcome
#   CRASH_ROLE=participant, CRASH_BOOT=N
#                         node "nodeb": its queue "q" over the virtio disk
#                         with an internal journal (boot 1 makes it, a later
#                         boot restores the session from it); it runs until
#                         the host kills it or, on its last boot, until the
#                         host says the initiator is done
#
# Files in the results share are how the host follows: ready (nodeb serves
# the queue), progress (epochs nodea submitted), queue.json, crash.out.
set -uo pipefail

RES=/run/mbatch-results
# shellcheck source=/dev/null
. "$RES/job"
CTL=$MBATCH_SRC/tools/mbatchctl/mbatchctl
KEY=/tmp/crash.psk
PORT=7389

die() {
	echo "crash-guest: $*" >&2
	exit 1
}

modprobe virtio_net || die "no virtio_net"
ip link set lo up
ifc=$(ip -o link show | awk -F': ' '$2 != "lo" { print $2; exit }')
[ -n "$ifc" ] || die "no network interface"
printf 'mbatch-crash-test-pre-shared-key' >"$KEY"
chmod 600 "$KEY"

case $CRASH_ROLE in
initiator)
	ip addr add 10.77.0.1/24 dev "$ifc"
	ip link set "$ifc" up
	# It waits out the participant's reboot.
	$CTL peer add nodeb 10.77.0.2:$PORT --psk-file "$KEY" keepalive 500 \
		link-timeout 600000 || die "peer add"
	$CTL serve --name nodea --listen none 2>"$RES/serve.log" &
	serve=$!
	for _ in $(seq 600); do
		$CTL peer show nodeb 2>/dev/null | grep -qw up && break
		sleep 0.2
	done
	$CTL peer show nodeb | grep -qw up || die "no link to nodeb"
	"$MBATCH_BUILD/selftests/mb_crash" q nodeb "$RES/progress" \
		"${CRASH_EPOCHS:-40}" >"$RES/crash.out" 2>&1
	rc=$?
	cat "$RES/crash.out"
	kill "$serve"
	wait "$serve"
	$CTL peer del nodeb
	exit $rc
	;;
participant)
	ip addr add 10.77.0.2/24 dev "$ifc"
	ip link set "$ifc" up
	modprobe virtio_blk
	dev=
	for _ in $(seq 100); do
		for d in /sys/block/vd*; do
			[ -e "$d" ] && dev=${d##*/} && break
		done
		[ -n "$dev" ] && break
		sleep 0.1
	done
	[ -n "$dev" ] || die "no virtio disk"
	# The peer first, then the queue (it restores), then the link.
	$CTL peer add nodea --psk-file "$KEY" keepalive 500 \
		link-timeout 600000 || die "peer add"
	$CTL queue add q dev "/dev/$dev" journal internal ||
		die "queue add over the journal"
	$CTL --json queue show q >"$RES/queue.json"
	dmesg | grep 'mbatch: queue q:' >"$RES/restore.log"
	$CTL serve --name nodeb --listen 10.77.0.2:$PORT 2>"$RES/serve.log" &
	serve=$!
	: >"$RES/ready"
	# Until the host kills this node, or says that nodea is done.
	while [ ! -e "$RES/done" ]; do
		sleep 0.5
	done
	kill "$serve"
	wait "$serve"
	$CTL peer del nodea
	$CTL queue del q
	exit 0
	;;
*)
	die "no CRASH_ROLE"
	;;
esac
