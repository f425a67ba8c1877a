#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Command-line wrapper around lib.sh's null_blk helpers, for the C tests.
#   nullb.sh create NAME [key=value ...]   prints /dev/NAME
#   nullb.sh remove NAME
#   nullb.sh badblocks NAME +A-B|-A-B      (512-byte sectors)
#   nullb.sh free NAME                     exit 0 if not held exclusively
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
trap - EXIT

cmd=${1:-}
[ $# -ge 2 ] || { echo "usage: $0 create|remove|badblocks|free NAME ..." >&2; exit 2; }
shift
case $cmd in
create)		nullb_create "$@" ;;
remove)		nullb_remove "$1" ;;
badblocks)	nullb_badblocks "$1" "$2" ;;
free)		nullb_free "$1" ;;
*)		echo "nullb.sh: unknown command $cmd" >&2; exit 2 ;;
esac
