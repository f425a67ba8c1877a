#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Result streams of mbatch sessions, for the shell selftests.

  mb_results.py gen --epochs E [--first F] [--blocks B] [--base OFF]
                    [--batch-every K]
      Print a batch script of epochs F..E-1 over B 4 KiB blocks at OFF.
      Even epoch 2k writes pattern byte p(k) to every block (one write per
      block), odd epoch 2k+1 reads the whole range; every epoch ends with a
      checkpoint. A "batch" line every K epochs makes several SUBMITs. The
      tag of a message is epoch * 1000 + index (500: the read, 999: the
      checkpoint), so a result names its epoch and role by itself.

  mb_results.py collect --sid ID[:HANDLE] --total N [--ns NS] [--timeout S]
                      --out F
      Collect (mbatchctl --json collect ID[:HANDLE] wait-min 1 data, each
      reply acknowledging the previous one) until N results arrived or S
      seconds passed; write every result received, in order, to F as JSON.
      Exits 1 on a timeout, 0 otherwise. Another process than the session's
      opener needs the handle (what "session open" printed).

  mb_results.py check F [--count N] [--first-msg-seq S] [--statuses LIST]
                    [--outcomes LIST] [--barrier] [--lost]
                    [--epochs --blocks B] [--reached N]
                    [--written-sectors N]
      Check a collected stream: result sequence 1..N without gap or
      duplicate, one result per message sequence, the expected count,
      statuses within LIST (errno names, "ok" for 0; default ok), outcomes
      within LIST (default done; a done result must have status ok unless
      --statuses lists a failure), the checkpoint barrier proved by the
      participant's timestamps, and the data of the reads of a "gen"
      workload. --lost: some commands are unknown or not sent, those not
      sent follow every sent one, and their status is a cause of --statuses.
      --written-sectors N: the device's sectors-written counter grew by N
      while the stream ran; it must be what the writes that ran wrote (each
      write done and well, its bytes counted once, none unknown).
      Prints one line per problem and exits 1 if there is any.
      mb_results_test.py proves that each of these checks can fail.

  mb_results.py pattern FILE --byte P
      FILE (read from a device with dd) holds only byte P.

  mb_results.py last-pattern --epochs E
      The pattern byte the last write epoch of "gen --epochs E" wrote.
"""
import argparse
import errno
import json
import os
import subprocess
import sys
import time

BS = 4096


def pattern_of(k):
    """Pattern byte of write epoch 2k: 1..254, never 0 (a fresh device)."""
    return 1 + (k * 37) % 254


def cmd_gen(a):
    out = []
    for e in range(a.first, a.epochs):
        if a.batch_every and e > a.first and (e - a.first) % a.batch_every == 0:
            out.append("batch")
        if e % 2 == 0:
            p = pattern_of(e // 2)
            for b in range(a.blocks):
                out.append("write %d %d pattern %d tag %d" %
                           (a.base + b * BS, BS, p, e * 1000 + b))
        else:
            out.append("read %d %d tag %d" %
                       (a.base, a.blocks * BS, e * 1000 + 500))
        out.append("checkpoint tag %d" % (e * 1000 + 999))
    print("\n".join(out))


def cmd_last_pattern(a):
    last_write = (a.epochs - 1) if (a.epochs - 1) % 2 == 0 else a.epochs - 2
    print(pattern_of(last_write // 2))


def ctl_argv(a):
    ctl = os.environ.get("MBATCHCTL", "mbatchctl")
    pre = ["ip", "netns", "exec", a.ns] if a.ns else []
    return pre + [ctl, "--json"]


def cmd_collect(a):
    res = []
    deadline = time.monotonic() + a.timeout
    collects = 0
    errors = []
    while len(res) < a.total and time.monotonic() < deadline:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        argv = ctl_argv(a) + ["collect", a.sid, "wait-min", "1",
                              "timeout", str(min(1000, left)), "data"]
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=30)
        except subprocess.TimeoutExpired:
            errors.append("collect did not return in 30 s")
            break
        collects += 1
        try:
            d = json.loads(p.stdout)
        except ValueError:
            errors.append("collect exit %d, no JSON: %s" %
                          (p.returncode, (p.stdout + p.stderr)[:300]))
            time.sleep(0.2)
            continue
        if "error" in d and not d.get("results"):
            errors.append("collect exit %d: %s" % (p.returncode,
                                                    json.dumps(d["error"])))
            break
        res.extend(d.get("results", []))
    doc = {"results": res, "collects": collects, "errors": errors,
           "complete": len(res) >= a.total}
    with open(a.out, "w") as f:
        json.dump(doc, f)
    if errors:
        for e in errors[:5]:
            print("collect: " + e, file=sys.stderr)
    if len(res) < a.total:
        print("collect: %d of %d results after %d collects" %
              (len(res), a.total, collects), file=sys.stderr)
        return 1
    return 0


def status_name(st):
    if st == 0:
        return "ok"
    return errno.errorcode.get(-st, str(st))


def cmd_check(a):
    with open(a.file) as f:
        doc = json.load(f)
    res = doc["results"] if isinstance(doc, dict) else doc
    bad = []

    # exactly once: result sequence 1..N, one result per message
    seqs = [r["seq"] for r in res]
    if seqs != list(range(1, len(seqs) + 1)):
        dup = len(seqs) - len(set(seqs))
        gaps = sorted(set(range(1, max(seqs or [0]) + 1)) - set(seqs))
        bad.append("result sequence not 1..%d: %d duplicate(s), gaps %s, "
                   "first %s" % (len(seqs), dup, gaps[:10], seqs[:10]))
    msg = [r["msg_seq"] for r in res]
    if len(set(msg)) != len(msg):
        bad.append("%d message(s) with more than one result" %
                   (len(msg) - len(set(msg))))
    if a.count is not None:
        if len(res) != a.count:
            bad.append("%d results, %d messages submitted" %
                       (len(res), a.count))
        if a.first_msg_seq is not None:
            want = set(range(a.first_msg_seq, a.first_msg_seq + a.count))
            if set(msg) != want:
                bad.append("message sequences: missing %s, unexpected %s" %
                           (sorted(want - set(msg))[:10],
                            sorted(set(msg) - want)[:10]))

    allowed = set(a.statuses.split(","))
    for r in res:
        n = status_name(r["status"])
        if n not in allowed:
            bad.append("seq %d tag %d op %s: status %s, allowed %s" %
                       (r["seq"], r["tag"], r["op"], n, sorted(allowed)))
            break
    outcomes = set(a.outcomes.split(","))
    for r in res:
        o = r.get("outcome", "-")
        if o not in outcomes:
            bad.append("seq %d tag %d op %s: outcome %s, allowed %s" %
                       (r["seq"], r["tag"], r["op"], o, sorted(outcomes)))
            break
        if o != "done" and r["status"] == 0:
            bad.append("seq %d tag %d: outcome %s with status 0" %
                       (r["seq"], r["tag"], o))
            break

    if a.lost:
        bad += lost(res)
    if a.barrier:
        bad += barrier(res)
    if a.epochs:
        bad += epochs(res, a.blocks, a.reached)
    if a.written_sectors is not None:
        bad += written(res, a.written_sectors)
    for b in bad:
        print(b)
    return 1 if bad else 0


def lost(res):
    """A participant lost its state: at least one command's outcome is
    unknown or not sent, and the commands never sent all come after every
    command that was (messages leave in sequence order)."""
    bad = []
    sent = [r["msg_seq"] for r in res if r.get("outcome") != "not-sent"]
    unsent = [r["msg_seq"] for r in res if r.get("outcome") == "not-sent"]
    if all(r.get("outcome") == "done" for r in res):
        bad.append("lost: every command ran, nothing was lost")
    if sent and unsent and min(unsent) < max(sent):
        bad.append("lost: message %d not sent but message %d after it "
                   "was sent" % (min(unsent), max(sent)))
    for r in res:
        if r.get("outcome") == "done" and r["status"] != 0:
            bad.append("lost: tag %d ran and failed: %s" %
                       (r["tag"], status_name(r["status"])))
            break
    return bad


def barrier(res):
    """Every command of epoch e+1 started after the checkpoint closing e
    completed, which completed after every command of e; the times are the
    participant's, of commands that reached the device (start_ns != 0),
    failed ones included (the checkpoint waits for them too). Checkpoints
    complete in epoch order (an empty epoch's too), one per epoch."""
    bad = []
    by = {}
    cps = {}
    for r in res:
        if not r.get("start_ns"):
            continue
        if r["op"] == "checkpoint":
            if r.get("outcome", "done") != "done":
                continue
            if r["epoch"] in cps:
                bad.append("barrier: epoch %d has two checkpoints (tags %d "
                           "and %d)" % (r["epoch"], cps[r["epoch"]]["tag"],
                                        r["tag"]))
            cps[r["epoch"]] = r
        else:
            by.setdefault(r["epoch"], []).append(r)
    for e, cp in sorted(cps.items()):
        for r in by.get(e, []):
            if r["done_ns"] > cp["done_ns"]:
                bad.append("barrier: tag %d of epoch %d done at %d, after "
                           "its checkpoint (done %d)" %
                           (r["tag"], e, r["done_ns"], cp["done_ns"]))
        for r in by.get(e + 1, []):
            if r["start_ns"] < cp["done_ns"]:
                bad.append("barrier: tag %d of epoch %d started at %d, "
                           "before checkpoint %d completed (%d)" %
                           (r["tag"], e + 1, r["start_ns"], e, cp["done_ns"]))
        later = [c for f, c in cps.items() if f > e]
        for c in later:
            if c["start_ns"] < cp["done_ns"]:
                bad.append("barrier: checkpoint %d started at %d, before "
                           "checkpoint %d completed (%d)" %
                           (c["epoch"], c["start_ns"], e, cp["done_ns"]))
                break
    if not cps:
        bad.append("barrier: no completed checkpoint in the results")
    return bad[:10]


def written(res, sectors):
    """The device wrote what the writes that ran wrote, once each."""
    bad = []
    want = 0
    for r in res:
        if r["op"] not in ("write", "write-zeroes"):
            continue
        if r.get("outcome", "done") != "done" or r["status"] != 0:
            bad.append("written: write tag %d is %s, status %s: what it "
                       "wrote is not known" %
                       (r["tag"], r.get("outcome", "-"),
                        status_name(r["status"])))
            break
        want += r["bytes"] // 512
    if not bad and sectors != want:
        bad.append("written: the device wrote %d sectors, the results say "
                   "%d" % (sectors, want))
    return bad


def epochs(res, blocks, reached):
    """Results of a "gen" workload: each in its epoch, each read sees the
    pattern of the write epoch just before it."""
    bad = []
    for r in res:
        e, i = divmod(r["tag"], 1000)
        if r["status"] == 0 and r["epoch"] != e:
            bad.append("tag %d: epoch %d, expected %d" %
                       (r["tag"], r["epoch"], e))
        if r["op"] == "read" and r["status"] == 0:
            data = bytes.fromhex(r.get("data", ""))
            want = bytes([pattern_of((e - 1) // 2)]) * (blocks * BS)
            if data != want:
                off = next((j for j in range(min(len(data), len(want)))
                            if data[j] != want[j]), min(len(data), len(want)))
                bad.append("read of epoch %d (tag %d): %d bytes, byte %d is "
                           "%s, expected pattern %d" %
                           (e, r["tag"], len(data), off,
                            data[off] if off < len(data) else "missing",
                            want[0]))
        if r["op"] == "write" and r["status"] == 0 and r["bytes"] != BS:
            bad.append("write tag %d: %d bytes" % (r["tag"], r["bytes"]))
    if reached is not None:
        done = [r for r in res if r["op"] == "checkpoint" and
                r["status"] == 0]
        if len(done) < reached:
            bad.append("%d checkpoints completed, expected %d" %
                       (len(done), reached))
    return bad[:10]


def cmd_pattern(a):
    with open(a.file, "rb") as f:
        b = f.read()
    if not b:
        print("%s is empty" % a.file)
        return 1
    for i, c in enumerate(b):
        if c != a.byte:
            print("%s: byte %d is %d, expected %d" % (a.file, i, c, a.byte))
            return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--epochs", type=int, required=True)
    g.add_argument("--first", type=int, default=0)
    g.add_argument("--blocks", type=int, default=4)
    g.add_argument("--base", type=int, default=0)
    g.add_argument("--batch-every", type=int, default=0)
    lp = sub.add_parser("last-pattern")
    lp.add_argument("--epochs", type=int, required=True)
    c = sub.add_parser("collect")
    c.add_argument("--ns")
    c.add_argument("--sid", required=True)
    c.add_argument("--total", type=int, required=True)
    c.add_argument("--timeout", type=float, default=60)
    c.add_argument("--out", required=True)
    k = sub.add_parser("check")
    k.add_argument("file")
    k.add_argument("--count", type=int)
    k.add_argument("--first-msg-seq", type=int)
    k.add_argument("--statuses", default="ok")
    k.add_argument("--outcomes", default="done")
    k.add_argument("--barrier", action="store_true")
    k.add_argument("--lost", action="store_true")
    k.add_argument("--epochs", action="store_true")
    k.add_argument("--blocks", type=int, default=4)
    k.add_argument("--reached", type=int)
    k.add_argument("--written-sectors", type=int)
    p = sub.add_parser("pattern")
    p.add_argument("file")
    p.add_argument("--byte", type=int, required=True)
    a = ap.parse_args()
    return {"gen": cmd_gen, "last-pattern": cmd_last_pattern,
            "collect": cmd_collect, "check": cmd_check,
            "pattern": cmd_pattern}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
