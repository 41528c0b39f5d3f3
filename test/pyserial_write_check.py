"""pyserial's writes against a vcomd pair: pyserial_write_check.py CASE A B [TRIES].

CASE is one of:
  open     both ends opened (either order), a byte each way at once
  reopen   B held open, A reopened, a byte each way at once
  cts      writes stop while CTS is low (B closed), arrive once B opens
  xoff     writes stop after XOFF, arrive after XON
  slow300  at 300 baud writes with a timeout of 1 s time out
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


# A pty takes a program's first write whole, and pyserial's select() for
# POLLOUT right after it may run before the daemon has seen the data and
# held the port: it is the next write that times out. The daemon's limit
# is 256 characters (4 KiB while flow control holds), where a bare pty
# takes 64 KiB before a writer waits.
PTY_TAKES = 32 << 10


def write_until_timeout(p, what):
    """Writes numbered 1 KiB blocks until one times out; returns what was
    written up to the block that timed out (some of which may not have
    been taken)."""
    data = pattern(PTY_TAKES + 1024)
    for off in range(0, PTY_TAKES, 1024):
        timed_out, took = timed_write(p, data[off:off + 1024])
        if timed_out:
            check(took >= 0.8, "%s: a write times out after %d KiB (after %.2f s)" % (what, off // 1024, took))
            return data[:off + 1024]
    fail("%s: %d KiB written and no write timed out" % (what, PTY_TAKES // 1024))


def raw_open(path, crtscts=False):
    """Opens path as a plain program does (no input flush at open, which
    pyserial makes and which would discard what arrives before it)."""
    import os
    import termios
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(fd)
    attrs[0] = 0
    attrs[1] = 0
    attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL | (termios.CRTSCTS if crtscts else 0)
    attrs[3] = 0
    attrs[4] = attrs[5] = termios.B115200
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


def read_prefix(fd, data, what):
    """Reads from fd until 2 s pass with nothing; what came must be the
    start of data, nothing lost, changed or reordered."""
    import os
    import select
    got = bytearray()
    while len(got) < len(data):
        ready, _, _ = select.select([fd], [], [], 2)
        if not ready:
            break
        got += os.read(fd, 65536)
    check(len(got) >= 1024 and bytes(got) == data[:len(got)],
          "%s: %d bytes arrive, in order and intact" % (what, len(got)))


def cts_case():
    # B closed: its RTS is down, so A's CTS is low and A's output held.
    a = port(a_path, rtscts=True, write_timeout=1)
    data = write_until_timeout(a, "rtscts, B closed")
    b = raw_open(b_path, crtscts=True)
    read_prefix(b, data, "once B opens")
    a.close()
    import os
    os.close(b)


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
    data = write_until_timeout(a, "after XOFF")
    b.write(b"\x11")
    got = bytearray()
    while True:
        chunk = b.read(len(data) - len(got))
        if not chunk:
            break
        got += chunk
        if len(got) == len(data):
            break
        b.timeout = 2
    check(len(got) >= 1024 and bytes(got) == data[:len(got)],
          "after XON: %d bytes arrive, in order and intact" % len(got))
    a.close()
    b.close()


def slow300_case():
    a = port(a_path, 300, write_timeout=1)
    b = port(b_path, 300)
    write_until_timeout(a, "at 300 baud")
    # A close waits for the line to drain, as on a real port: 30 s here.
    a.reset_output_buffer()
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
    "flush": lambda: flush_case(False),
    "flushclose": lambda: flush_case(True),
}
if case not in cases:
    fail("unknown case %r, want one of %s" % (case, ", ".join(sorted(cases))))
cases[case]()
