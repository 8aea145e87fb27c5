#!/usr/bin/env python3
"""view_drive.py - drives a running `photo3d-gpu view` window the way a person would, through XTest
(the X server's input synthesis; libX11 + libXtst through ctypes, no other module), and saves a
screenshot (key s) after each step. Used by tests/test_view_cmd.sh under Xvfb.

usage: view_drive.py NAME W H
  NAME  the viewer's screenshot prefix (it writes NAME_view_<n>.png in the current directory)
  W H   the window's size; it sits at the screen's top-left corner (Xvfb has no window manager)

Shots, in order (the test compares them):
  0  cursor at the window centre (no tilt)       1  cursor at the right edge (tilted)
  2  + provenance colours (p)                     3  provenance off, wireframe on (p, w)
  4  wireframe off, cursor centred, reset (r)     5  after a left drag of W/4 to the right
  6  reset, then 5 wheel steps toward the scene   7  reset, then preset 3 (circle) playing
then q. Exits 1 (with the reason) when a shot does not appear within the time limit."""
import ctypes
import glob
import os
import sys
import time

name, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x11 = ctypes.CDLL("libX11.so.6")
xtst = ctypes.CDLL("libXtst.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XStringToKeysym.restype = ctypes.c_ulong
x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
x11.XKeysymToKeycode.restype = ctypes.c_ubyte
x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x11.XFlush.argtypes = [ctypes.c_void_p]
x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_ulong]
xtst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]

dpy = x11.XOpenDisplay(None)
if not dpy:
    sys.exit("view_drive: cannot open the X display")


def flush():
    x11.XSync(dpy, 0)


def key(sym):
    code = x11.XKeysymToKeycode(dpy, x11.XStringToKeysym(sym.encode()))
    xtst.XTestFakeKeyEvent(dpy, code, 1, 0)
    xtst.XTestFakeKeyEvent(dpy, code, 0, 0)
    flush()


def move(x, y):
    xtst.XTestFakeMotionEvent(dpy, -1, int(x), int(y), 0)
    flush()


def button(b, down):
    xtst.XTestFakeButtonEvent(dpy, b, 1 if down else 0, 0)
    flush()


def shots():
    return len(glob.glob(f"{name}_view_*.png"))


def wait_for(n, limit=120.0):
    t0 = time.time()
    while shots() < n:
        if time.time() - t0 > limit:
            sys.exit(f"view_drive: screenshot {n - 1} did not appear within {limit:.0f} s")
        time.sleep(0.05)
    time.sleep(0.2)  # let the PNG's rename finish and the next frames run


def shot():
    n = shots()
    key("s")
    wait_for(n + 1)


cx, cy = w // 2, h // 2
move(cx, cy)
# The window may not be mapped yet: press s until the first screenshot appears, then go on from
# however many there are (a press that reached a window still drawing its first frame counts too).
t0 = time.time()
while shots() == 0:
    if time.time() - t0 > 120:
        sys.exit("view_drive: no window took a screenshot within 120 s")
    move(cx, cy)
    key("s")
    time.sleep(1.0)
time.sleep(1.0)
for f in sorted(glob.glob(f"{name}_view_*.png"), key=lambda p: int(p.rsplit("_", 1)[1][:-4]))[1:]:
    os.remove(f)  # keep shot 0 only: extra presses while the window appeared
move(w - 1, cy)
time.sleep(1.0)  # the tilt eases in (time constant 0.08 s)
shot()
key("p")
shot()
key("p")
key("w")
shot()
key("w")
move(cx, cy)
time.sleep(0.5)
key("r")
shot()
button(1, True)
for k in range(1, 11):
    move(cx + k * w // 40, cy)
    time.sleep(0.03)
button(1, False)
shot()
key("r")
for _ in range(5):
    button(4, True)
    button(4, False)
    time.sleep(0.03)
shot()
key("r")
key("3")
time.sleep(0.5)
shot()
key("q")
print(f"view_drive: {shots()} screenshots")
