"""pyserial's network clients against a port vcomd serves.

Usage: pyserial_net_check.py URL PEER_LINK VCOMCTL SOCKET SERVED PEER

URL is rfc2217://HOST:PORT or socket://HOST:PORT for port SERVED, whose
pair's other end PEER is the pty PEER_LINK. The far side of every check is
read with vcomctl, as a person would. Exits non-zero on the first failure.
"""

import json
import subprocess
import sys
import time

import serial

url, peer_link, vcomctl, socket, served, peer = sys.argv[1:7]
rfc2217 = url.startswith("rfc2217://")


def status(name):
    out = subprocess.run([vcomctl, "--socket", socket, "--json", "status", name],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def ctl(*args):
    subprocess.run([vcomctl, "--socket", socket, *args], check=True, capture_output=True)


def eventually(what, check, bound=10.0):
    """Retry check until true: neither pyserial nor vcomctl offers an event
    to wait on for a far side's state, so this is bounded, not timed."""
    end = time.monotonic() + bound
    while True:
        got = check()
        if got is True:
            return
        if time.monotonic() > end:
            sys.exit(f"FAIL {what}: last saw {got!r}")
        time.sleep(0.01)


def read_exactly(port, n):
    got = b""
    end = time.monotonic() + 10
    while len(got) < n and time.monotonic() < end:
        got += port.read(n - len(got))
    return got


s = serial.serial_for_url(url, timeout=2)  # pyserial's default options
b = serial.Serial(peer_link, timeout=2)
print(f"opened {url} and {peer_link}")

# The client's connect is an open: DTR and RTS rise, the peer sees them.
eventually("open raises DTR and RTS (peer's DSR, DCD, CTS)",
           lambda: (lambda st: st["dsr"] and st["dcd"] and st["cts"] or st)(status(peer)["state"]))

# Data both ways, every byte value (0xFF is telnet's IAC).
block = bytes(range(256)) * 8
s.write(block)
got = read_exactly(b, len(block))
if got != block:
    sys.exit(f"FAIL client->peer: {len(got)} of {len(block)} bytes, first difference at "
             f"{next((i for i, (x, y) in enumerate(zip(got, block)) if x != y), len(got))}")
back = bytes(reversed(block))
b.write(back)
got = read_exactly(s, len(back))
if got != back:
    sys.exit(f"FAIL peer->client: {len(got)} of {len(back)} bytes")
print(f"data: {len(block)} bytes each way intact")

if rfc2217:
    # Settings a pty cannot carry (data bits, parity) reach the device.
    s.baudrate = 19200
    s.bytesize = serial.SEVENBITS
    s.parity = serial.PARITY_EVEN
    s.stopbits = serial.STOPBITS_TWO
    st = status(served)
    if st["state"]["baud"] != 19200 or st["framing"] != "7E2":
        sys.exit(f"FAIL settings: device at {st['state']['baud']} {st['framing']}, want 19200 7E2")
    s.baudrate, s.bytesize, s.parity, s.stopbits = 9600, 8, serial.PARITY_NONE, serial.STOPBITS_ONE
    print("settings: 19200 7E2 and back to 9600 8N1 on the device")

    # The client's DTR and RTS are the peer's DSR+DCD and CTS.
    s.dtr = False
    eventually("dtr off -> peer DSR and DCD off",
               lambda: (lambda st: (not st["dsr"] and not st["dcd"]) or st)(status(peer)["state"]))
    s.rts = False
    eventually("rts off -> peer CTS off", lambda: (lambda st: not st["cts"] or st)(status(peer)["state"]))
    s.dtr = True
    s.rts = True
    eventually("dtr, rts on -> peer DSR, CTS on",
               lambda: (lambda st: (st["dsr"] and st["cts"]) or st)(status(peer)["state"]))
    print("dtr/rts: seen by the peer")

    # The peer's outputs are the client's inputs, notified by the server.
    eventually("cts, dsr, cd on", lambda: (s.cts and s.dsr and s.cd) or (s.cts, s.dsr, s.cd))
    ctl("set", peer, "rts=off")
    eventually("peer rts off -> client cts off", lambda: (not s.cts) or s.cts)
    ctl("set", peer, "dtr=off")
    eventually("peer dtr off -> client dsr, cd off", lambda: (not s.dsr and not s.cd) or (s.dsr, s.cd))
    if s.ri:
        sys.exit("FAIL ri: on, nothing drives it")
    ctl("set", peer, "rts=on", "dtr=on")
    eventually("peer rts, dtr on -> client cts, dsr, cd on", lambda: (s.cts and s.dsr and s.cd) or (s.cts, s.dsr, s.cd))
    print("cts/dsr/cd/ri: follow the peer")

    before = status(peer)["state"]["counters"]["break_count"]
    s.send_break(0.05)
    eventually("send_break -> peer counts a break",
               lambda: status(peer)["state"]["counters"]["break_count"] > before or before)
    print("send_break: the peer received a break")

    b.write(b"stale")
    eventually("stale data reaches the client", lambda: s.in_waiting >= 5 or s.in_waiting)
    s.reset_input_buffer()
    if s.in_waiting:
        sys.exit(f"FAIL reset_input_buffer: {s.in_waiting} bytes left")
    s.reset_output_buffer()
    b.write(b"fresh")
    got = read_exactly(s, 5)
    if got != b"fresh":
        sys.exit(f"FAIL after the purges read {got!r}, want b'fresh'")
    print("reset_input_buffer, reset_output_buffer: done, data flows after")

# The disconnect is a close: DTR drops.
s.close()
eventually("close drops DTR (peer's DSR off)", lambda: (not status(peer)["state"]["dsr"]) or "dsr on")
b.close()
print("OK")
