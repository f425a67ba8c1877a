#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A raw mbatch peer, for the selftests (Documentation/userspace-api/
mbatch-wire.rst): dials an "mbatchctl serve" daemon, runs the handshake
byte for byte (or breaks it on purpose), and once both sides said OK (the
daemon has then attached the socket to its kernel) sends frames, good or
bad, and watches the link.

  mb_peer.py ADDR:PORT --name OURS --peer THEIRS --psk FILE [options]

Handshake options (each breaks one rule on purpose):
  --version N        announce wire version N (default MBATCH_WIRE_VERSION, 3)
  --flags N          digest bits asked for (default 3: header and data)
  --no-dial-bit      do not set the "dialled" role bit (same role as the
                     accepting daemon)
  --bad-magic        HELLO with a wrong magic
  --challenge HEX    use this challenge (32 bytes) instead of a fresh one
  --reflect          wait for the daemon's HELLO and send its own challenge
                     back as ours
  --save-challenge F write the challenge used to F (hex)

After the handshake (--action, default "ping"):
  ping           PING (frame 1) and wait for the PONG, then close
  close          PING/PONG, then keep the link until the daemon side drops
                 it or --hold seconds passed, then close
  garbage        PING/PONG, then 64 bytes of garbage
  trunc-header   PING/PONG, then 16 bytes of a header and end of stream
  trunc-payload  PING/PONG, then a header announcing 64 payload bytes, 8 of
                 them and end of stream
  bad-crc        PING/PONG, then a PING with a wrong header digest (a
                 non-zero one when header digests were not negotiated)
  oversize       PING/PONG, then a MSGS header with a payload length one
                 byte over MBATCH_WIRE_MAX_PAYLOAD (nothing follows)
  out-of-seq     PING/PONG, then a PING with frame sequence 5 instead of 2
  bad-version    PING/PONG, then a PING with a frame version the kernel
                 does not know (MBATCH_WIRE_VERSION + 1)
  bad-type       PING/PONG, then a frame of type 99

Prints one JSON object: the handshake outcome ("ok" or "refused" with the
daemon's code and reason), the daemon's HELLO, the digests, whether the
PONG came, whether and when the link was dropped. --expect ok|refused[:CODE]
makes the exit status 0 only when that is what happened (with --action, a
bad frame must also have been followed by the end of the connection within
--drop-timeout seconds).
"""
import argparse
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time

HS_MAGIC = b"MBHS"
AU_MAGIC = b"MBAU"
OK_MAGIC = b"MBOK"
ER_MAGIC = b"MBER"
HELLO_LEN = 72
NAME_LEN = 32
CHAL_LEN = 32
F_HDR_DIGEST = 1
F_DATA_DIGEST = 2
F_DIALLED = 4
AUTH_LABEL = b"mbatch-auth-v1"

# struct mbatch_wire_hdr of <linux/mbatch_wire.h>, MBATCH_WIRE_VERSION
WIRE_VERSION = 3
FRAME_HDR = struct.Struct("<BBHIIIQQ")  # ver flags type len session digest seq arg
MAX_PAYLOAD = (1 << 20) + (64 << 10)
T_PING, T_PONG, T_OPEN, T_OPEN_REPLY, T_MSGS = 1, 2, 3, 4, 5

ERR_CODES = {1: "bad magic or flags", 2: "version mismatch",
             3: "unknown peer", 4: "authentication failed",
             5: "replayed or reflected challenge", 6: "internal"}


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data, crc=0xFFFFFFFF, final=0xFFFFFFFF):
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ final


assert crc32c(b"123456789") == 0xE3069283


class Refused(Exception):
    def __init__(self, code, reason):
        super().__init__("refused %d: %s" % (code, reason))
        self.code = code
        self.reason = reason


class Closed(Exception):
    pass


def pad_name(n):
    b = n.encode()
    if len(b) >= NAME_LEN:
        raise SystemExit("name too long: %s" % n)
    return b + b"\0" * (NAME_LEN - len(b))


class Conn:
    def __init__(self, sock, deadline):
        self.s = sock
        self.deadline = deadline

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out reading %d bytes" % n)
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("connection closed after %d of %d bytes" %
                             (len(buf), n))
            buf += chunk
        return buf

    def send(self, b):
        self.s.sendall(b)

    def peek_error(self, wait):
        """If the daemon sent an ERROR (instead of what comes next), raise
        it; wait at most WAIT seconds for something to arrive."""
        r, _, _ = select.select([self.s], [], [], wait)
        if not r:
            return
        try:
            head = self.s.recv(4, socket.MSG_PEEK)
        except ConnectionResetError:
            return
        if head == ER_MAGIC:
            self.read_msg(ER_MAGIC, 0)

    def read_msg(self, magic, rest):
        m = self.recv_exact(4)
        if m == ER_MAGIC:
            code, n = struct.unpack("<HH", self.recv_exact(4))
            reason = self.recv_exact(n).decode(errors="replace") if n else ""
            raise Refused(code, reason)
        if m != magic:
            raise ValueError("expected %r, got %r" % (magic, m))
        return self.recv_exact(rest)


def auth_mac(key, role, recv_chal, send_chal, send_name, recv_name):
    msg = (AUTH_LABEL + bytes([role]) + recv_chal + send_chal +
           send_name + recv_name)
    return hmac.new(key, msg, hashlib.sha256).digest()


class Link:
    """Frames over an attached link; sequence numbers from 1 each way."""

    def __init__(self, conn, digests):
        self.c = conn
        self.hdr = bool(digests & F_HDR_DIGEST)
        self.data = bool(digests & F_DATA_DIGEST)
        self.tx_seq = 0
        self.rx_seq = 0
        self.notes = []

    def frame(self, ftype, arg=0, payload=b"", session=0, seq=None,
              version=WIRE_VERSION, flags=0, length=None, digest=None):
        if seq is None:
            self.tx_seq += 1
            seq = self.tx_seq
        ln = len(payload) if length is None else length
        h = FRAME_HDR.pack(version, flags, ftype, ln, session, 0, seq, arg)
        if digest is None:
            digest = crc32c(h) if self.hdr else 0
        h = FRAME_HDR.pack(version, flags, ftype, ln, session, digest, seq,
                           arg)
        tail = b""
        if self.data and payload:
            tail = struct.pack("<I", crc32c(payload))
        return h + payload + tail

    def recv_frame(self):
        h = self.c.recv_exact(FRAME_HDR.size)
        ver, fl, ftype, ln, sess, dig, seq, arg = FRAME_HDR.unpack(h)
        if ver != WIRE_VERSION or fl != 0:
            self.notes.append("daemon side sent version %d flags %d" %
                              (ver, fl))
        if ln > MAX_PAYLOAD:
            raise ValueError("daemon side sent length %d" % ln)
        zero = h[:12] + b"\0\0\0\0" + h[16:]
        if self.hdr:
            if dig != crc32c(zero):
                alt = {"crc32c(0,..)": crc32c(zero, 0, 0),
                       "crc32c(~0,..) without final xor":
                       crc32c(zero, 0xFFFFFFFF, 0)}
                which = [k for k, v in alt.items() if v == dig]
                self.notes.append("header digest %08x of frame %d is not "
                                  "the CRC32C %08x%s" %
                                  (dig, seq, crc32c(zero),
                                   (" (it is " + which[0] + ")")
                                   if which else ""))
        elif dig != 0:
            self.notes.append("non-zero header digest without negotiation")
        self.rx_seq += 1
        if seq != self.rx_seq:
            self.notes.append("daemon side frame sequence %d, expected %d" %
                              (seq, self.rx_seq))
            self.rx_seq = seq
        payload = self.c.recv_exact(ln) if ln else b""
        if self.data and ln:
            (d,) = struct.unpack("<I", self.c.recv_exact(4))
            if d != crc32c(payload):
                self.notes.append("data digest of frame %d wrong" % seq)
        return ftype, sess, arg, payload

    def ping_pong(self, timeout):
        arg = time.monotonic_ns()
        t0 = time.monotonic()
        self.c.send(self.frame(T_PING, arg))
        end = t0 + timeout
        while time.monotonic() < end:
            self.c.deadline = end
            ftype, _, farg, _ = self.recv_frame()
            if ftype == T_PING:
                self.c.send(self.frame(T_PONG, farg))
            elif ftype == T_PONG and farg == arg:
                return time.monotonic() - t0
            elif ftype != T_PONG:
                self.notes.append("unexpected frame type %d" % ftype)
        return None


def wait_drop(conn, timeout):
    """Read (and discard) until the daemon side ends the connection."""
    t0 = time.monotonic()
    end = t0 + timeout
    conn.s.setblocking(False)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([conn.s], [], [], left)
        if not r:
            continue
        try:
            b = conn.s.recv(65536)
        except BlockingIOError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        if not b:
            return time.monotonic() - t0


def bad_frame(link, action):
    if action == "garbage":
        g = bytearray(os.urandom(64))
        g[0] = 0xA5  # never a frame version
        return bytes(g)
    if action == "trunc-header":
        return link.frame(T_PING, 7)[:16]
    if action == "trunc-payload":
        return link.frame(T_MSGS, 1, b"\0" * 64, session=1)[:32 + 8]
    if action == "bad-crc":
        f = bytearray(link.frame(T_PING, 7))
        (d,) = struct.unpack_from("<I", f, 12)
        struct.pack_into("<I", f, 12, (d ^ 0x00010001) if link.hdr
                         else 0xDEADBEEF)
        return bytes(f)
    if action == "oversize":
        return link.frame(T_MSGS, 1, session=1, length=MAX_PAYLOAD + 1)
    if action == "out-of-seq":
        return link.frame(T_PING, 7, seq=link.tx_seq + 4)
    if action == "bad-version":
        return link.frame(T_PING, 7, version=WIRE_VERSION + 1)
    if action == "bad-type":
        return link.frame(99, 7)
    raise SystemExit("unknown action %s" % action)


SHUT_AFTER = ("trunc-header", "trunc-payload")


def run(a):
    out = {"handshake": None}
    with open(a.psk, "rb") as f:
        key = f.read()
    host, port = a.addr.rsplit(":", 1)
    ours = pad_name(a.name)
    chal = bytes.fromhex(a.challenge) if a.challenge else os.urandom(CHAL_LEN)
    flags = (a.flags & 3) | (0 if a.no_dial_bit else F_DIALLED)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(s, time.monotonic() + a.timeout)
    try:
        theirs = None
        if a.reflect:
            theirs = c.read_msg(HS_MAGIC, HELLO_LEN - 4)
            chal = theirs[4:36]
        if a.save_challenge:
            with open(a.save_challenge, "w") as f:
                f.write(chal.hex())
        hello = ((b"MBHX" if a.bad_magic else HS_MAGIC) +
                 struct.pack("<HH", a.version, flags) + chal + ours)
        c.send(hello)
        if theirs is None:
            theirs = c.read_msg(HS_MAGIC, HELLO_LEN - 4)
        ver, tflags = struct.unpack("<HH", theirs[:4])
        tchal = theirs[4:36]
        tname = theirs[36:68]
        out["daemon_hello"] = {"version": ver, "flags": tflags,
                               "name": tname.rstrip(b"\0").decode(
                                   errors="replace")}
        if a.peer and tname != pad_name(a.peer):
            out["note"] = "daemon calls itself %r" % tname
        # a refusal of our HELLO comes instead of the daemon's AUTH
        c.peek_error(2.0)
        c.send(AU_MAGIC + auth_mac(key, 0 if a.no_dial_bit else 1, tchal,
                                   chal, ours, tname))
        mac = c.read_msg(AU_MAGIC, 32)
        want = auth_mac(key, 1 if a.no_dial_bit else 0, chal, tchal, tname,
                        ours)
        if not hmac.compare_digest(mac, want):
            out["our_verdict"] = "daemon's AUTH does not verify"
            reason = b"authentication failed"
            c.send(ER_MAGIC + struct.pack("<HH", 4, len(reason)) + reason)
            # and read the daemon's verdict on ours
            c.read_msg(OK_MAGIC, 4)
            out["handshake"] = "ours-refused"
            return out
        c.send(OK_MAGIC + b"\0" * 4)
        c.read_msg(OK_MAGIC, 4)
        out["handshake"] = "ok"
    except Refused as e:
        out["handshake"] = "refused"
        out["code"] = e.code
        out["reason"] = e.reason
        out["dropped_s"] = wait_drop(c, 5)
        return out
    except (Closed, TimeoutError, ValueError, OSError) as e:
        out["handshake"] = "error"
        out["error"] = str(e)
        return out

    digests = (a.flags & 3) & tflags
    out["digests"] = digests
    link = Link(c, digests)
    try:
        rtt = link.ping_pong(3.0)
        out["pong"] = rtt is not None
        if rtt is not None:
            out["rtt_us"] = int(rtt * 1e6)
        if a.action == "close":
            out["dropped_s"] = wait_drop(c, a.hold)
        elif a.action != "ping":
            c.send(bad_frame(link, a.action))
            if a.action in SHUT_AFTER:
                s.shutdown(socket.SHUT_WR)
            out["dropped_s"] = wait_drop(c, a.drop_timeout)
    except (Closed, TimeoutError, ValueError, OSError) as e:
        out["error"] = str(e)
    if link.notes:
        out["notes"] = link.notes[:10]
    s.close()
    return out


def main():
    ap = argparse.ArgumentParser(
        description="raw mbatch peer (see the module's docstring)")
    ap.add_argument("addr")
    ap.add_argument("--name", required=True)
    ap.add_argument("--peer")
    ap.add_argument("--psk", required=True)
    ap.add_argument("--version", type=int, default=WIRE_VERSION)
    ap.add_argument("--flags", type=int, default=3)
    ap.add_argument("--no-dial-bit", action="store_true")
    ap.add_argument("--bad-magic", action="store_true")
    ap.add_argument("--challenge")
    ap.add_argument("--reflect", action="store_true")
    ap.add_argument("--save-challenge")
    ap.add_argument("--action", default="ping")
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--drop-timeout", type=float, default=3.0)
    ap.add_argument("--expect")
    a = ap.parse_args()
    out = run(a)
    print(json.dumps(out))
    if not a.expect:
        return 0
    want, _, code = a.expect.partition(":")
    if out["handshake"] != want:
        print("mb_peer: handshake %s, expected %s" % (out["handshake"], want),
              file=sys.stderr)
        return 1
    if want == "refused" and code and out.get("code") != int(code):
        print("mb_peer: refused with code %s (%s), expected %s (%s)" %
              (out.get("code"), out.get("reason"), code,
               ERR_CODES.get(int(code))), file=sys.stderr)
        return 1
    if want == "ok":
        if not out.get("pong"):
            print("mb_peer: no PONG to our PING", file=sys.stderr)
            return 1
        if a.action not in ("ping", "close") and out.get("dropped_s") is None:
            print("mb_peer: link still up %.1f s after %s" %
                  (a.drop_timeout, a.action), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
