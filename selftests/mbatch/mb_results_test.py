#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side unit tests of mb_results.py's checks ("make host-test").

Each check of "mb_results.py check" (and "pattern") is fed one good result
stream, which it must accept, and one bad stream per property it checks,
which it must refuse with exit 1 and a message naming that property: a
check that cannot fail proves nothing. The streams are synthetic, shaped
as "mbatchctl --json collect ... data" prints them and as a "gen" workload
(mb_results.py gen) produces them.
"""
import contextlib
import copy
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "mb_results", os.path.join(HERE, "mb_results.py"))
mbr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mbr)

BLOCKS = 2
BS = mbr.BS


def gen_stream(epochs=6, blocks=BLOCKS):
    """The results of "gen --epochs E --blocks B" as a correct module
    gives them: in order, one epoch after the other."""
    res = []
    t = 1000

    def add(tag, op, epoch, nbytes=0, data=None, start=None, dt=10):
        nonlocal t
        r = {"seq": len(res) + 1, "msg_seq": len(res) + 1, "tag": tag,
             "op": op, "epoch": epoch, "status": 0, "outcome": "done",
             "bytes": nbytes, "start_ns": t if start is None else start,
             "done_ns": t + dt}
        if data is not None:
            r["data"] = data
        res.append(r)
        t += dt + 1

    for e in range(epochs):
        if e % 2 == 0:
            for b in range(blocks):
                add(e * 1000 + b, "write", e, BS)
        else:
            want = bytes([mbr.pattern_of((e - 1) // 2)]) * (blocks * BS)
            add(e * 1000 + 500, "read", e, blocks * BS, want.hex())
        add(e * 1000 + 999, "checkpoint", e, dt=1)
    return res


class Check(unittest.TestCase):
    """mb_results.py check F ... on synthetic streams."""

    def run_check(self, res, *args):
        with tempfile.NamedTemporaryFile("w", suffix=".json",
                                         delete=False) as f:
            json.dump({"results": res}, f)
            name = f.name
        out = io.StringIO()
        try:
            sys.argv = ["mb_results.py", "check", name] + list(args)
            with contextlib.redirect_stdout(out):
                rc = mbr.main()
        finally:
            os.unlink(name)
        return rc, out.getvalue()

    def full(self, res, *extra):
        n = len(res)
        return ("--count", str(n), "--first-msg-seq", "1", "--barrier",
                "--epochs", "--blocks", str(BLOCKS), "--reached",
                str(sum(1 for r in res if r["op"] == "checkpoint"))) + extra

    def accepts(self, res, *args):
        rc, out = self.run_check(res, *args)
        self.assertEqual(rc, 0, "refused a good stream: " + out)

    def refuses(self, res, needle, *args):
        rc, out = self.run_check(res, *args)
        self.assertEqual(rc, 1, "accepted a bad stream (wanted: %s)" %
                         needle)
        self.assertIn(needle, out)

    def setUp(self):
        self.good = gen_stream()

    def bad(self):
        return copy.deepcopy(self.good)

    def test_good(self):
        self.accepts(self.good, *self.full(self.good))

    # exactly once
    def test_gap(self):
        r = self.bad()
        for x in r[3:]:
            x["seq"] += 1
        self.refuses(r, "gaps [4]", *self.full(r))

    def test_duplicate_result(self):
        r = self.bad()
        r[4]["seq"] = 4
        self.refuses(r, "1 duplicate(s)", *self.full(r))

    def test_duplicate_message(self):
        r = self.bad()
        r[4]["msg_seq"] = r[3]["msg_seq"]
        self.refuses(r, "more than one result", *self.full(r))

    def test_missing_result(self):
        r = self.bad()
        n = len(r)
        del r[-1]
        self.refuses(r, "results, %d messages submitted" % n,
                     "--count", str(n))

    def test_unexpected_message(self):
        r = self.bad()
        r[2]["msg_seq"] = 1000
        self.refuses(r, "unexpected [1000]", *self.full(r))

    # statuses and outcomes
    def test_status(self):
        r = self.bad()
        r[0]["status"] = -5
        self.refuses(r, "status EIO", *self.full(r))

    def test_outcome(self):
        r = self.bad()
        r[0]["outcome"] = "cancelled"
        r[0]["status"] = -125
        self.refuses(r, "outcome cancelled", *self.full(r)[:4],
                     "--statuses", "ok,ECANCELED")

    def test_outcome_without_status(self):
        r = self.bad()
        r[0]["outcome"] = "unknown"
        self.refuses(r, "outcome unknown with status 0",
                     "--outcomes", "done,unknown")

    # barrier
    def test_command_after_its_checkpoint(self):
        r = self.bad()
        r[1]["done_ns"] = r[2]["done_ns"] + 1    # write 1 of epoch 0
        self.refuses(r, "after its checkpoint", *self.full(r))

    def test_failed_command_after_its_checkpoint(self):
        r = self.bad()
        r[1]["status"] = -5
        r[1]["done_ns"] = r[2]["done_ns"] + 1
        self.refuses(r, "after its checkpoint", "--barrier",
                     "--statuses", "ok,EIO")

    def test_next_epoch_before_checkpoint(self):
        r = self.bad()
        r[3]["start_ns"] = r[2]["done_ns"] - 1   # the read of epoch 1
        self.refuses(r, "before checkpoint 0 completed", *self.full(r))

    def test_checkpoint_before_earlier_checkpoint(self):
        r = self.bad()
        cp = [x for x in r if x["op"] == "checkpoint"]
        cp[3]["start_ns"] = cp[1]["done_ns"] - 1
        self.refuses(r, "before checkpoint 1 completed", "--barrier")

    def test_two_checkpoints(self):
        r = self.bad()
        x = copy.deepcopy(r[2])
        x["tag"] = 4242
        r.append(x)
        self.refuses(r, "two checkpoints", "--barrier")

    def test_no_checkpoint(self):
        r = [x for x in self.bad() if x["op"] != "checkpoint"]
        self.refuses(r, "no completed checkpoint", "--barrier")

    # epochs and data
    def test_wrong_epoch(self):
        r = self.bad()
        r[0]["epoch"] = 1
        self.refuses(r, "epoch 1, expected 0", "--epochs",
                     "--blocks", str(BLOCKS))

    def test_wrong_data(self):
        r = self.bad()
        rd = next(x for x in r if x["op"] == "read")
        data = bytearray.fromhex(rd["data"])
        data[100] ^= 1
        rd["data"] = data.hex()
        self.refuses(r, "byte 100", "--epochs", "--blocks", str(BLOCKS))

    def test_short_data(self):
        r = self.bad()
        rd = next(x for x in r if x["op"] == "read")
        rd["data"] = rd["data"][:-2]
        self.refuses(r, "missing", "--epochs", "--blocks", str(BLOCKS))

    def test_write_bytes(self):
        r = self.bad()
        r[0]["bytes"] = 512
        self.refuses(r, "write tag 0: 512 bytes", "--epochs",
                     "--blocks", str(BLOCKS))

    def test_reached(self):
        self.refuses(self.bad(), "6 checkpoints completed, expected 7",
                     "--epochs", "--blocks", str(BLOCKS), "--reached", "7")

    # lost participant state
    def lost_stream(self):
        r = self.bad()
        for x in r[5:8]:
            x.update(outcome="unknown", status=-116, start_ns=0, done_ns=0)
        for x in r[8:]:
            x.update(outcome="not-sent", status=-116, start_ns=0, done_ns=0)
        return r

    def lost_args(self):
        return ("--lost", "--statuses", "ok,ESTALE", "--outcomes",
                "done,unknown,not-sent")

    def test_lost_good(self):
        self.accepts(self.lost_stream(), *self.lost_args())

    def test_lost_nothing_lost(self):
        self.refuses(self.bad(), "nothing was lost", *self.lost_args())

    def test_lost_unsent_before_sent(self):
        r = self.lost_stream()
        r[6].update(outcome="not-sent")
        self.refuses(r, "not sent but message", *self.lost_args())

    def test_lost_done_and_failed(self):
        r = self.lost_stream()
        r[0]["status"] = -116
        self.refuses(r, "ran and failed", *self.lost_args())

    # the device's sectors-written counter
    def test_written_good(self):
        n = sum(1 for x in self.good if x["op"] == "write")
        self.accepts(self.good, "--written-sectors", str(n * BS // 512))

    def test_written_twice(self):
        n = sum(1 for x in self.good if x["op"] == "write") + 1
        self.refuses(self.bad(), "the results say", "--written-sectors",
                     str(n * BS // 512))

    def test_written_missing(self):
        n = sum(1 for x in self.good if x["op"] == "write") - 1
        self.refuses(self.bad(), "the results say", "--written-sectors",
                     str(n * BS // 512))

    def test_written_unknown(self):
        r = self.lost_stream()
        n = sum(1 for x in r if x["op"] == "write")
        self.refuses(r, "what it wrote is not known", "--written-sectors",
                     str(n * BS // 512), "--statuses", "ok,ESTALE",
                     "--outcomes", "done,unknown,not-sent")


class Pattern(unittest.TestCase):
    """mb_results.py pattern FILE --byte P."""

    def run_pattern(self, content, byte):
        with tempfile.NamedTemporaryFile("wb", delete=False) as f:
            f.write(content)
            name = f.name
        out = io.StringIO()
        try:
            sys.argv = ["mb_results.py", "pattern", name, "--byte",
                        str(byte)]
            with contextlib.redirect_stdout(out):
                rc = mbr.main()
        finally:
            os.unlink(name)
        return rc, out.getvalue()

    def test_good(self):
        self.assertEqual(self.run_pattern(bytes([7]) * 4096, 7)[0], 0)

    def test_one_byte_wrong(self):
        b = bytearray([7]) * 4096
        b[4000] = 8
        rc, out = self.run_pattern(bytes(b), 7)
        self.assertEqual(rc, 1)
        self.assertIn("byte 4000 is 8", out)

    def test_empty(self):
        rc, out = self.run_pattern(b"", 7)
        self.assertEqual(rc, 1)
        self.assertIn("is empty", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
