"""pyserial's writes against a vcomd pair: pyserial_write_check.py CASE A B [TRIES].

CASE is one of:
  open     both ends opened (either order), a byte each way at once
  reopen   B held open, A reopened, a byte each way at once
  cts      writes stop while CTS is low (B closed), all arrive once B opens
  xoff     writes stop after XOFF, all arrive after XON
  slow300  at 300 baud a write with a timeout of 1 s times out
  slow2400 at 2400 baud a write waits for the line
  flush    reset_output_buffer discards what is queued
  flushclose  the same, then a speed change and a close at once

Every read is bounded (timeout=5): a lost byte fails at once.
"""
import sys
import time

import serial

case, a_path, b_path = sys.argv[1:4]
tries = int(sys.argv[4]) if len(sys.argv) > 4 else 0


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def fail(what):
    check(False, what)


def port(path, baud=115200, **kw):
    kw.setdefault("timeout", 5)
    return serial.Serial(path, baud, **kw)


def read_exactly(p, n, what):
    """Reads n bytes, each read bounded by p's timeout."""
    got = bytearray()
    while len(got) < n:
        chunk = p.read(n - len(got))
        if not chunk:
            fail("%s: %d of %d bytes arrived" % (what, len(got), n))
        got += chunk
    return bytes(got)


def read_all(p, n, what, data):
    """Reads n bytes; on a loss says which of data's bytes came."""
    got = bytearray()
    while len(got) < n:
        chunk = p.read(n - len(got))
        if not chunk:
            at = data.find(bytes(got[:64])) if got else -1
            fail("%s: %d of %d bytes arrived, the first of them from offset %d of what was written"
                 % (what, len(got), n, at))
        got += chunk
    return bytes(got)


def read_quiet(p, quiet, limit):
    """Reads until nothing comes for quiet seconds, failing past limit bytes."""
    p.timeout = quiet
    got = bytearray()
    while True:
        chunk = p.read(256)
        if not chunk:
            return bytes(got)
        got += chunk
        if len(got) > limit:
            fail("%d bytes arrived after the flush, want at most %d" % (len(got), limit))


def exchange(i, w, r, tok, what):
    w.write(bytes([tok]))
    got = r.read(1)
    if got != bytes([tok]):
        fail("try %d: %s: read %r within 5 s, want %r" % (i, what, got, bytes([tok])))


def speak(i, a, b, order):
    """A byte each way, the first speaker alternating every two tries."""
    w, r, dirs = (a, b, ("A->B", "B->A")) if i % 4 < 2 else (b, a, ("B->A", "A->B"))
    exchange(i, w, r, i & 0xFF, "%s, first byte %s" % (order, dirs[0]))
    exchange(i, r, w, ~i & 0xFF, "%s, reply %s" % (order, dirs[1]))


def open_case():
    start = time.time()
    for i in range(tries):
        if i % 2 == 0:
            a, b = port(a_path), port(b_path)
        else:
            b, a = port(b_path), port(a_path)
        speak(i, a, b, "opened A then B" if i % 2 == 0 else "opened B then A")
        a.close()
        b.close()
    check(True, "%d opens of both ends, a byte each way at once (%.1f s)" % (tries, time.time() - start))


def reopen_case():
    start = time.time()
    b = port(b_path)
    for i in range(tries):
        a = port(a_path)
        speak(i, a, b, "B held, A reopened")
        a.close()
    b.close()
    check(True, "%d reopens of A with B held, a byte each way at once (%.1f s)" % (tries, time.time() - start))


def pattern(n):
    # Numbered lines, so that where a run of them came from shows; never
    # XON (0x11) or XOFF (0x13).
    return b"".join(b"%07d\n" % i for i in range(n // 8 + 1))[:n]


def timed_write(p, data):
    """Writes data; returns (raised a write timeout, seconds it took)."""
    start = time.time()
    try:
        p.write(data)
    except serial.SerialTimeoutException:
        return True, time.time() - start
    return False, time.time() - start


def cts_case():
    # B closed: its RTS is down, so A's CTS is low and A's output held.
    a = port(a_path, rtscts=True, write_timeout=1)
    data = pattern(8192)
    timed_out, took = timed_write(a, data)
    check(timed_out, "write(8192) with rtscts and B closed times out (after %.2f s)" % took)
    b = port(b_path, rtscts=True)
    got = read_all(b, len(data), "once B opened", data)
    check(got == data, "B receives all 8192 bytes intact once it opens")
    a.close()
    b.close()


def xoff_case():
    a = port(a_path, xonxoff=True, write_timeout=1)
    b = port(b_path)
    # The marker after XOFF says A's side has had the XOFF: it came first.
    b.write(b"\x13M")
    for _ in range(2):
        c = a.read(1)
        if c == b"M":
            break
        if c != b"\x13":
            fail("A read %r waiting for the marker after XOFF" % c)
    else:
        fail("the marker after XOFF never reached A")
    data = pattern(4096)
    timed_out, took = timed_write(a, data)
    check(timed_out, "write(4096) after XOFF times out (after %.2f s)" % took)
    b.write(b"\x11")
    got = read_all(b, len(data), "after XON", data)
    check(got == data, "B receives all 4096 bytes intact after XON")
    a.close()
    b.close()


def slow300_case():
    a = port(a_path, 300, write_timeout=1)
    b = port(b_path, 300)
    timed_out, took = timed_write(a, pattern(1024))
    check(timed_out and took >= 0.8, "at 300 baud write(1024) with write_timeout=1 times out (after %.2f s)" % took)
    # A close waits for the line to drain, as on a real port: 30 s here.
    a.reset_output_buffer()
    a.close()
    b.close()


def slow2400_case():
    a = port(a_path, 2400)
    b = port(b_path, 2400)
    data = pattern(1024)
    timed_out, took = timed_write(a, data)
    # 240 characters a second: below 256 queued once 1024-256 have
    # left, less the UART's FIFO of 16.
    line = (1024 - 256 - 16) / 240.0
    check(not timed_out and 0.8 * line <= took < 3 * line,
          "at 2400 baud write(1024) returns after %.2f s (the line: %.2f s)" % (took, line))
    got = read_all(b, len(data), "at 2400 baud", data)
    check(got == data, "B receives all 1024 bytes at 2400 baud")
    a.close()
    b.close()


def flush_case(then_close):
    a = port(a_path, 300, write_timeout=0)
    b = port(b_path, 300)
    n = a.write(b"x" * 1024)
    check(n == 1024, "a non-blocking write(1024) at 300 baud takes %d bytes" % n)
    read_exactly(b, 3, "before the flush")
    a.reset_output_buffer()
    if then_close:
        a.baudrate = 9600
        a.close()
    # At 300 baud a character takes 33 ms: 2 s of quiet means the line
    # stopped. What may still come: the shift register's character and
    # what was on its way into B's typeahead.
    extra = read_quiet(b, 2, 20)
    what = "reset_output_buffer, speed change, close" if then_close else "reset_output_buffer"
    check(True, "after %s B received %d more bytes (at most 20)" % (what, len(extra)))
    if not then_close:
        a.close()
    b.close()


cases = {
    "open": open_case,
    "reopen": reopen_case,
    "cts": cts_case,
    "xoff": xoff_case,
    "slow300": slow300_case,
    "slow2400": slow2400_case,
    "flush": lambda: flush_case(False),
    "flushclose": lambda: flush_case(True),
}
if case not in cases:
    fail("unknown case %r, want one of %s" % (case, ", ".join(sorted(cases))))
cases[case]()
