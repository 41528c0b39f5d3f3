"""pyserial against vcomd ports: pyserial_check.py PAIR_A PAIR_B LOOPBACK."""
import sys
import time

import serial

a_path, b_path, lo_path = sys.argv[1:4]


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


a = serial.Serial(a_path, 9600, timeout=2)
b = serial.Serial(b_path, 9600, timeout=2)

# The daemon learns of an open a moment after it returns: pass a byte.
deadline = time.time() + 10
b.timeout = 0.1
while True:
    a.write(b"!")
    if b.read(1) == b"!":
        break
    check(time.time() < deadline, "the pair passes a first byte")
b.reset_input_buffer()
b.timeout = 2

a.write(b"hello pyserial")
check(b.read(14) == b"hello pyserial", "data flows a -> b")
b.write(b"back")
check(a.read(4) == b"back", "data flows b -> a")

# A read timeout returns what there is when it expires.
b.timeout = 0.3
start = time.time()
got = b.read(10)
took = time.time() - start
check(got == b"" and 0.25 < took < 1.0, "read timeout of 0.3 s returns nothing after %.2f s" % took)

# in_waiting counts what arrived; reset_input_buffer discards it.
a.write(b"xyz")
deadline = time.time() + 5
while b.in_waiting < 3 and time.time() < deadline:
    time.sleep(0.01)
check(b.in_waiting == 3, "in_waiting is 3 after 3 bytes")
b.reset_input_buffer()
check(b.in_waiting == 0, "reset_input_buffer empties it")

# A baud change while open applies at once on both ends.
a.baudrate = 115200
b.baudrate = 115200
b.timeout = 2
a.write(b"fast")
check(b.read(4) == b"fast", "data flows after a baud change to 115200")

# 1 MB through a loopback port, byte for byte.
lo = serial.Serial(lo_path, 115200, timeout=10)
lo.timeout = 0.1
deadline = time.time() + 10
while True:
    lo.write(b"!")
    if lo.read(1) == b"!":
        break
    check(time.time() < deadline, "the loopback passes a first byte")
lo.reset_input_buffer()
lo.timeout = 30
data = bytes((i * 7) % 253 for i in range(1 << 20))
import threading

w = threading.Thread(target=lo.write, args=(data,))
w.start()
got = bytearray()
while len(got) < len(data):
    chunk = lo.read(len(data) - len(got))
    if not chunk:
        break
    got += chunk
w.join()
check(bytes(got) == data, "1 MB through the loopback, byte for byte (%d bytes)" % len(got))
