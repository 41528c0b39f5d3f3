"""The fixtures' own tests, against real pyserial: python3 -m pytest contrib/pytest."""
import time

import serial

pytest_plugins = ["vcomd_fixture"]


def wait_for(cond, what, timeout=5):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, what
        time.sleep(0.01)


def test_pair_passes_data_both_ways(vcom_pair):
    a = serial.Serial(vcom_pair.a, 115200, timeout=5)
    b = serial.Serial(vcom_pair.b, 115200, timeout=5)
    a.write(b"ping")
    assert b.read(4) == b"ping"
    b.write(b"pong")
    assert a.read(4) == b"pong"


def test_modem_lines_cross_the_cable(vcom_pair):
    a = serial.Serial(vcom_pair.a, 9600, timeout=5)
    b = serial.Serial(vcom_pair.b, 9600, timeout=5)
    # The daemon learns of an open on its own path (inotify), after
    # open() returns: A's open raises its DTR, which is B's DSR.
    wait_for(lambda: vcom_pair.port_b.status()["dsr"], "A's open seen as B's DSR")
    vcom_pair.port_a.set(dtr=False)
    st = vcom_pair.port_b.status()
    assert not st["dsr"] and not st["dcd"]
    vcom_pair.port_b.set(ri=True)
    assert vcom_pair.port_b.status()["ri"]
    a.close()
    b.close()


def test_break_reads_as_a_zero(vcom_pair):
    b = serial.Serial(vcom_pair.b, 9600, timeout=5)
    a = serial.Serial(vcom_pair.a, 9600, timeout=5)
    # A break into a port nobody has open (as the daemon sees it) is lost,
    # as on a real line: wait until both opens are seen (each end's DSR
    # is the other's DTR).
    wait_for(lambda: vcom_pair.port_a.status()["dsr"] and vcom_pair.port_b.status()["dsr"], "both opens seen")
    vcom_pair.port_a.send_break("100ms")
    assert b.read(1) == b"\x00"
    a.close()
    b.close()


def test_injected_errors_are_counted(vcom_pair):
    a = serial.Serial(vcom_pair.a, 9600, timeout=5)
    b = serial.Serial(vcom_pair.b, 9600, timeout=5)
    vcom_pair.port_b.inject("framing", count=3, seed=1)
    a.write(b"abc")
    b.read(3)
    wait_for(lambda: vcom_pair.port_b.stats()["frame_error_count"] == 3, "3 framing errors counted")


def test_loopback_echoes(vcom_loopback):
    p = serial.Serial(vcom_loopback.link, 115200, timeout=5)
    p.write(b"echo")
    assert p.read(4) == b"echo"
