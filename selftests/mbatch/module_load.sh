#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mbatch loads, registers its genl family, unloads and loads again.
# Runs inside the test VM with mbatch loaded (see Makefile for the contract).
set -eu

KSFT_SKIP=4
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit $KSFT_SKIP; }
: "${MBATCH_KO:?MBATCH_KO not set}"

live() { [ "$(cat /sys/module/mbatch/initstate 2>/dev/null)" = live ]; }
# insmod resolves no dependencies: the CRC32C library (link digests) first
load() { modprobe libcrc32c 2>/dev/null || true; insmod "$MBATCH_KO"; }

# genl_family NAME: succeeds when the generic netlink family is registered
genl_family() {
	if [ -x /sbin/genl ]; then
		/sbin/genl ctrl get name "$1" >/dev/null 2>&1
	elif [ -x /usr/sbin/genl ]; then
		/usr/sbin/genl ctrl get name "$1" >/dev/null 2>&1
	else
		return 2
	fi
}

live || fail "mbatch is not loaded"
echo "mbatch loaded, refcnt $(cat /sys/module/mbatch/refcnt)"
rc=0
genl_family mbatch || rc=$?
case $rc in
0) echo "genl family mbatch registered" ;;
2) echo "no genl tool, family not checked" ;;
*) fail "genl family mbatch not registered" ;;
esac

rmmod mbatch || fail "rmmod mbatch"
[ ! -e /sys/module/mbatch ] || fail "/sys/module/mbatch still there after rmmod"
if [ $rc = 0 ] && genl_family mbatch; then
	load
	fail "genl family mbatch still registered after rmmod"
fi
echo "mbatch unloaded"

# Contract: leave the module loaded.
load || fail "insmod $MBATCH_KO"
live || fail "mbatch not live after insmod"
if [ $rc = 0 ]; then
	genl_family mbatch || fail "genl family mbatch missing after reload"
fi
echo "mbatch reloaded"
