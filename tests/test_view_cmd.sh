#!/usr/bin/env bash
# test_view_cmd.sh - `photo3d-gpu view` at the command line: help (the keys), bad options (exit 2),
# missing and corrupt meshes, a photo without a depth map, no display (exit 1 with the message that
# points to render); under Xvfb (Mesa): meshes the pipeline writes (PLY and GLB) open, a photo goes
# through the pipeline with progress lines and shows the same frame as its mesh file, and the window
# answers the mouse and the keys (tests/view_drive.py, through XTest): tilt, provenance, wireframe,
# reset, drag, wheel, a preset, screenshots, quit. The frames' agreement with the offline renderer
# (PSNR) is test_view.c's.
set -u
. tests/cli_lib.sh

run help 0 "1 2 3 4 .*play dolly-zoom-in" -- view --help
run help-keys 0 "s +screenshot to NAME_view_<n>.png" -- view --help
run unknown-option 2 "unknown option '--bogus'" -- view --bogus x.ply
run no-input 2 "no MESH or IMAGE given" -- view
run two-inputs 2 "one MESH or IMAGE at a time" -- view a.ply b.ply
run pose-needs-screenshot 2 "--pose sets the --screenshot camera" -- view a.ply --pose 0,0,0
run bad-pose 2 "--pose 'x,y': not a list of numbers" -- view a.ply --screenshot o.png --pose x,y
run bad-size 2 "--size '0x5': expected WxH" -- view a.ply --size 0x5
run bad-crop 2 "--crop '0.5,0,0.5,0'" -- view a.ply --crop 0.5,0,0.5,0
run depth-for-mesh 2 "--depth, --metric and --no-border are for a photo" -- view a.ply --depth d.npy

# a build without GLFW and libepoxy says so (exit 1) for everything but --help and usage errors
"$bin" view "$tmp/nope.ply" >"$tmp/out" 2>&1
rc=$?
if grep -q "built without GLFW" "$tmp/out"; then
  if [ "$rc" = 1 ]; then ok built-without-viewer; else bad "built-without-viewer: exit $rc"; fi
  skipped "the viewer is not in this build (GLFW and libepoxy not found)"
  finish
fi

# the input's errors come before the display's, so these hold with or without one
run missing-mesh 1 "nope\.ply" -- view "$tmp/nope.ply"
printf 'ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n' >"$tmp/bad.ply"
run corrupt-ply 1 "bad\.ply" -- view "$tmp/bad.ply" --screenshot "$tmp/never.png"
printf 'glTF garbage' >"$tmp/bad.glb"
run corrupt-glb 1 "bad\.glb" -- view "$tmp/bad.glb"
if [ -e "$tmp/never.png" ]; then bad no-output-on-error; else ok no-output-on-error; fi
mkdir -p "$tmp/nocache"
XDG_CACHE_HOME="$tmp/nocache" P3D_MODEL_DIR="$tmp/nocache" run photo-without-depth 1 \
  "scene\.png: no depth map: pass --depth FILE.*fetch_tiefenrausch" -- view samples/scene.png

# a small mesh of the sample, by the pipeline
"$bin" mesh samples/scene.png --depth samples/scene_disp.png --longer-side 96 --no-border --fill classic \
  --device cpu -q -o "$tmp/pipe.ply" && "$bin" mesh samples/scene.png --depth samples/scene_disp.png \
  --longer-side 96 --no-border --fill classic --device cpu -q -o "$tmp/pipe.glb" --mesh dense &&
  "$bin" mesh samples/scene.png --depth samples/scene_disp.png --longer-side 96 --no-border --fill classic \
  --device cpu -q -o "$tmp/pipe_compact.glb"
if [ -s "$tmp/pipe.ply" ] && [ -s "$tmp/pipe.glb" ] && [ -s "$tmp/pipe_compact.glb" ]; then ok pipeline-meshes
else bad pipeline-meshes; fi

env -u DISPLAY -u WAYLAND_DISPLAY "$bin" view "$tmp/pipe.ply" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q "no display: use photo3d-gpu render for headless output" "$tmp/out"; then
  ok no-display
else
  bad "no-display: exit $rc: $(cat "$tmp/out")"
fi

if ! command -v xvfb-run >/dev/null 2>&1; then
  skipped "xvfb-run not installed (bash tools/setup.sh --test installs xvfb)"
  finish
fi
# -n: a first display number of its own, so parallel tests do not race for the same free one
xvfb() { xvfb-run -a -n 160 -s "-screen 0 1280x1024x24" "$@"; }
pngsize() { $py -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1"; }

# meshes the pipeline writes, and the photo itself (pipeline first, with progress lines)
xvfb sh -c "'$bin' view '$tmp/pipe.ply' --screenshot '$tmp/ply.png' --pose 0.01,0,0.02 &&
  '$bin' view '$tmp/pipe.glb' --screenshot '$tmp/glb.png' --pose 0.01,0,0.02 &&
  '$bin' view samples/scene.png --depth samples/scene_disp.png --longer-side 96 --no-border --fill classic \
    --device cpu --screenshot '$tmp/photo.png' --pose 0.01,0,0.02" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ]; then ok view-screenshots; else bad "view-screenshots: exit $rc: $(cat "$tmp/out" "$tmp/err")"; fi
if [ -s "$tmp/ply.png" ] && [ "$(pngsize "$tmp/ply.png")" = "$(pngsize "$tmp/photo.png")" ]; then ok screenshot-size; else bad screenshot-size; fi
if cmp -s "$tmp/ply.png" "$tmp/glb.png"; then ok ply-glb-same-frame; else bad ply-glb-same-frame; fi
if cmp -s "$tmp/ply.png" "$tmp/photo.png"; then ok photo-same-frame-as-its-mesh; else bad photo-same-frame-as-its-mesh; fi
if grep -q "scene: 3D photo (layered depth, non-learned inpainting, mesh) done" "$tmp/err"; then ok progress-line
else bad "progress-line: $(cat "$tmp/err")"; fi
# the compact mesh's texture through OpenGL: close to the dense mesh's frame
xvfb "$bin" view "$tmp/pipe_compact.glb" --screenshot "$tmp/compact.png" --pose 0.01,0,0.02 >"$tmp/out" 2>"$tmp/err"
psnr=$($py -c '
import sys, numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) for f in sys.argv[1:3])
print("%.2f" % (10 * np.log10(255 ** 2 / max(((a - b) ** 2).mean(), 1e-9))) if a.shape == b.shape else 0)' \
  "$tmp/ply.png" "$tmp/compact.png" 2>&1)
if awk -v p="$psnr" 'BEGIN { exit !(p + 0 >= 30) }'; then ok "compact-mesh-textured-frame ($psnr dB)"
else bad "compact-mesh-textured-frame: PSNR '$psnr' against the dense mesh's frame (wanted >= 30): $(cat "$tmp/err")"; fi

# a photo without --depth: Tiefenrausch estimates the map when it is installed
if "$bin" models 2>/dev/null | grep -Eq '^tiefenrausch +missing'; then
  skipped "photo-estimated-depth: the Tiefenrausch model is not installed (tools/fetch_tiefenrausch.sh)"
else
  xvfb "$bin" view samples/scene.png --longer-side 96 --no-border --fill classic --device cpu \
    --screenshot "$tmp/tief.png" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" = 0 ] && grep -q "scene: depth (tiefenrausch) done" "$tmp/err" && [ -s "$tmp/tief.png" ]; then
    ok photo-estimated-depth
  else
    bad "photo-estimated-depth: exit $rc: $(cat "$tmp/out" "$tmp/err")"
  fi
fi

# the window, driven through XTest: needs libXtst (Debian: libxtst6)
if ! $py -c 'import ctypes; ctypes.CDLL("libXtst.so.6")' 2>/dev/null; then
  skipped "libXtst.so.6 not installed: the interaction test needs XTest (Debian: libxtst6)"
  finish
fi
mkdir -p "$tmp/win"
(cd "$tmp/win" && xvfb sh -c "'$bin' view '$tmp/pipe.ply' --size 320x240 --frames 400 >viewer.log 2>&1 & pid=\$!
  $py '$OLDPWD/tests/view_drive.py' pipe 320 240 >drive.log 2>&1; d=\$?; wait \$pid; v=\$?; echo \"\$d \$v\" >rc")
read -r drive_rc viewer_rc <"$tmp/win/rc" 2>/dev/null || { drive_rc=x; viewer_rc=x; }
if [ "$drive_rc" = 0 ]; then ok "window-driven ($(cat "$tmp/win/drive.log"))"
else bad "window-driven: exit $drive_rc: $(cat "$tmp/win/drive.log" "$tmp/win/viewer.log")"; fi
if [ "$viewer_rc" = 0 ]; then ok quit-key; else bad "quit-key: viewer exit $viewer_rc: $(cat "$tmp/win/viewer.log")"; fi
s() { echo "$tmp/win/pipe_view_$1.png"; }
if [ "$(pngsize "$(s 0)")" = 320x240 ]; then ok window-screenshot-size; else bad window-screenshot-size; fi
xvfb "$bin" view "$tmp/pipe.ply" --size 320x240 --screenshot "$tmp/rest.png" >/dev/null 2>&1
if cmp -s "$(s 0)" "$tmp/rest.png"; then ok "window-at-rest = screenshot at pose 0,0,0"; else bad window-at-rest; fi
differs() { if cmp -s "$(s "$2")" "$(s "$3")"; then bad "$1: shots $2 and $3 are the same"; else ok "$1"; fi; }
same() { if cmp -s "$(s "$2")" "$(s "$3")"; then ok "$1"; else bad "$1: shots $2 and $3 differ"; fi; }
differs mouse-tilt 0 1
differs provenance-key 1 2
differs wireframe-key 1 3
same reset-key 0 4
differs drag-orbit 0 5
differs wheel-dolly 0 6
differs wheel-is-not-drag 5 6
differs preset-key 0 7
finish
