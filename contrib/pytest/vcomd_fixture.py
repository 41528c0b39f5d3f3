"""pytest fixtures for serial code: vcom_pair and vcom_loopback.

Copy this file next to your tests (or put its directory on sys.path) and
add to conftest.py:

    pytest_plugins = ["vcomd_fixture"]

Each test gets a vcomd of its own, in a private directory under pytest's
tmp_path, stopped when the test ends:

    def test_echo(vcom_pair):
        a = serial.Serial(vcom_pair.a, 115200, timeout=2)
        b = serial.Serial(vcom_pair.b, 115200, timeout=2)
        a.write(b"hi")
        assert b.read(2) == b"hi"
        vcom_pair.port_a.set(dtr=False)      # B sees DSR and DCD drop
        assert not vcom_pair.port_b.status()["dsr"]

The vcomd binary is $VCOMD, else `vcomd` on $PATH (`go install
./cmd/vcomd`). $VCOM_TIMING ("off" or "realistic") sets the timing;
realistic is the default, as for vcomd itself. Only the standard
library is used: the control API is HTTP and JSON on a Unix socket.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading

import pytest

START_TIMEOUT = 10  # seconds for vcomd to print its ports


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("vcomd", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class VcomError(Exception):
    """vcomd refused a request; the message is its own."""


class Port:
    """One port of the daemon, driven through the control socket."""

    def __init__(self, daemon, name, link):
        self._daemon = daemon
        self.name = name
        self.link = link

    def _call(self, method, what="", body=None):
        return self._daemon.call(method, "/v1/ports/" + self.name + what, body)

    def status(self):
        """Registers, modem lines (cts, dsr, ri, dcd, dtr, rts), queues, counters."""
        return self._call("GET")["state"]

    def set(self, **lines):
        """Drives modem lines: dtr and rts (outputs), ri (the input a
        null-modem cable leaves free), e.g. set(dtr=False, ri=True)."""
        return self._call("PUT", "/modem", lines)

    def send_break(self, duration="250ms"):
        """Holds the line at space; the far end reads a break."""
        return self._call("POST", "/break", {"duration": duration})

    def inject(self, kind, count=1, seed=1):
        """Damages what the port receives next: framing, parity, overrun or noise."""
        return self._call("POST", "/inject", {"kind": kind, "count": count, "seed": seed})

    def line(self, framing):
        """Sets data bits, parity and stop bits, which a pty cannot carry: "7E1"."""
        return self._call("PUT", "/line", {"framing": framing})

    def stats(self):
        """SERIALPERF_STATS: received, transmitted, frame, parity and overrun counts."""
        return self._call("GET", "/stats")


class Daemon:
    """A vcomd of its own for one test."""

    def __init__(self, directory, args, names):
        binary = os.environ.get("VCOMD") or shutil.which("vcomd")
        if not binary:
            pytest.fail("vcomd not found: set $VCOMD or put vcomd on $PATH (go install ./cmd/vcomd)")
        timing = os.environ.get("VCOM_TIMING", "realistic")
        self.socket = os.path.join(directory, "vcomd.sock")
        self._proc = subprocess.Popen(
            [binary, "--dir", directory, "--timing", timing] + args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.links = {}
        timer = threading.Timer(START_TIMEOUT, self._proc.kill)
        timer.start()
        try:
            while not all(n in self.links for n in names):
                line = self._proc.stdout.readline()
                if not line:
                    pytest.fail("vcomd exited before its ports were ready: %s" % self._proc.stderr.read())
                fields = line.split("\t")
                self.links[fields[0]] = fields[1].split(" -> ")[0]
        finally:
            timer.cancel()

    def call(self, method, path, body=None):
        conn = _UnixHTTP(self.socket, timeout=30)
        try:
            data = None if body is None else json.dumps(body)
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            out = json.loads(resp.read() or b"null")
        finally:
            conn.close()
        if resp.status >= 400:
            raise VcomError("%s %s: %s" % (method, path, (out or {}).get("error", resp.status)))
        return out

    def port(self, name):
        return Port(self, name, self.links[name])

    def stop(self):
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class Pair:
    """The two ends of a null-modem pair: .a and .b are the link paths,
    .port_a and .port_b drive their pins through the control socket."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.port_a, self.port_b = daemon.port("A"), daemon.port("B")
        self.a, self.b = self.port_a.link, self.port_b.link


@pytest.fixture
def vcom_pair(tmp_path):
    """A null-modem pair of its own for the test."""
    d = Daemon(str(tmp_path / "vcom"), ["--pair", "A:B"], ["A", "B"])
    try:
        yield Pair(d)
    finally:
        d.stop()


@pytest.fixture
def vcom_loopback(tmp_path):
    """A port of its own with a loopback plug: what it sends, it receives.
    .link is its path; the Port's methods drive it."""
    d = Daemon(str(tmp_path / "vcom"), ["--loopback", "L"], ["L"])
    try:
        yield d.port("L")
    finally:
        d.stop()
