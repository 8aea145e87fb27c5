#!/usr/bin/env bash
# test_web.sh - the web page (`export --web`, pipeline/web_page.h) in a real browser: headless Chromium
# with software WebGL (SwiftShader), driven over the DevTools protocol by tests/web_shot.py (which waits
# for the page's own ready flag), opens the page from the file system at fixed poses (the page's own
# query string), and each screenshot is compared with `render --pose` at the same pose and size, and
# trajectory frames (?traj=T&frame=K) with `render --traj`'s PNG frames: PSNR >= 30 dB. The page must flag its first frame (title p3d-ready) with no JavaScript error (its
# title says p3d-error otherwise, and uncaught exceptions and console errors are collected); a bad
# query must show an error. The sample's compact mesh always, a small moon when ../shared is there.
# SKIP (77) without Chromium, libjs-three, or python3 with numpy, PIL and websocket (tools/setup.sh --test).
set -u
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
three=${P3D_THREE_DIR:-/usr/share/javascript/three}
chrome=${P3D_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chrome" ]; then skipped "no chromium (tools/setup.sh --test installs it)"; finish; fi
if [ ! -f "$three/three.min.js" ]; then skipped "no three.js in $three (Debian libjs-three)"; finish; fi
if ! "$py" -c "import numpy, PIL, websocket" 2>/dev/null; then skipped "$py without numpy, PIL and websocket"; finish; fi

# browse URL W H [OUT.png]: the page's title and JavaScript errors in $tmp/browse.txt; exit 0 = ready, no error
browse() { timeout 150 "$py" tests/web_shot.py "$chrome" "$@" >"$tmp/browse.txt" 2>&1; }

# psnr A.png B.png -> prints the PSNR in dB of two RGB images of the same size (99 when equal)
psnr() {
  "$py" - "$1" "$2" <<'PY'
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) for p in sys.argv[1:3])
if a.shape != b.shape:
    print(f"0 (sizes {a.shape} and {b.shape})")
else:
    mse = ((a - b) ** 2).mean()
    print(f"{99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse):.2f}")
PY
}

# check_page NAME PAGE MESH W H POSE...: the page's first frame without errors, and one screenshot per pose
# against the renderer's frame.
check_page() {
  local name=$1 page=$2 mesh=$3 w=$4 h=$5
  shift 5
  local k=0
  for pose in "$@"; do
    if browse "file://$page?pose=$pose&w=$w&h=$h" "$w" "$h" "$tmp/shot$k.png"; then
      ok "$name: pose $pose: first frame drawn, no JavaScript error"
    else
      bad "$name: pose $pose: $(cat "$tmp/browse.txt")"
    fi
    if ! "$bin" render "$mesh" --pose "$pose" --size "${w}x$h" --ssaa 3 --device cpu -o "$tmp" --name "ref$k" >/dev/null 2>"$tmp/err"; then
      bad "$name: render --pose $pose: $(cat "$tmp/err")"
    elif [ ! -f "$tmp/shot$k.png" ]; then
      bad "$name: no screenshot at pose $pose"
    else
      local p
      p=$(psnr "$tmp/shot$k.png" "$tmp/ref${k}_pose0.png")
      if "$py" -c "import sys; sys.exit(0 if float('${p%% *}') >= 30 else 1)"; then
        ok "$name: pose $pose: browser vs render --pose: PSNR $p dB (>= 30)"
      else
        bad "$name: pose $pose: browser vs render --pose: PSNR $p dB (< 30)"
        cp "$tmp/shot$k.png" "$tmp/ref${k}_pose0.png" "${P3D_BUILD_DIR:-/tmp}/" 2>/dev/null
      fi
    fi
    k=$((k + 1))
  done
}

# --- the sample's compact mesh ---
run "sample mesh" 0 "compact" -- mesh "$src/samples/scene.png" --depth "$src/samples/scene_disp.png" --longer-side 480 \
  --fill classic --device cpu -o "$tmp/scene.glb"
run "export --web" 0 "scene.html" -- export "$tmp/scene.glb" --web "$tmp/web"
page="$tmp/web/scene.html"
if [ -f "$page" ]; then
  # self-contained: nothing loaded from elsewhere
  if grep -Eq '<script[^>]*src=|<link[^>]*href=' "$page"; then bad "page loads an external file"; else ok "page is self-contained"; fi
  check_page sample "$page" "$tmp/scene.glb" 480 336 "-0.015,0.01,0.05"
  # the trajectories the page plays are the videos': frames of the dolly zoom (position and focal length)
  # and the circle against render --traj's PNG frames
  run "export --traj" 0 "2 trajectories" -- export "$tmp/scene.glb" --web "$tmp/webt" --traj dolly-zoom-in,circle --frames 8
  run "render --traj" 0 "" -- render "$tmp/scene.glb" --traj dolly-zoom-in,circle --frames 8 --format png --size 480x336 \
    --device cpu -o "$tmp/frames"
  for tf in dolly-zoom-in:7 circle:3; do
    t=${tf%:*} k=${tf#*:}
    browse "file://$tmp/webt/scene.html?traj=$t&frame=$k&w=480&h=336" 480 336 "$tmp/traj.png" || bad "traj $t: $(cat "$tmp/browse.txt")"
    p=$(psnr "$tmp/traj.png" "$tmp/frames/scene_$t/frame_0000$k.png")
    if "$py" -c "import sys; sys.exit(0 if float('${p%% *}') >= 30 else 1)"; then
      ok "trajectory $t frame $k: browser vs render --traj: PSNR $p dB (>= 30)"
    else
      bad "trajectory $t frame $k: browser vs render --traj: PSNR $p dB (< 30)"
    fi
  done
  # without a query: the interactive page (pointer / tilt parallax) draws too
  browse "file://$page" 400 300 && ok "interactive page draws, no JavaScript error" || bad "interactive page: $(cat "$tmp/browse.txt")"
  # and the checks above can fail: a bad query is an error in the title and an uncaught exception
  browse "file://$page?pose=1,2&w=320&h=240" 320 240 && bad "bad query: the page says it is ready"
  grep -q '^title: p3d-error: .*pose "1,2"' "$tmp/browse.txt" && ok "a bad query shows an error" \
    || bad "bad query: $(cat "$tmp/browse.txt")"
  grep -q "^error: uncaught: .*pose" "$tmp/browse.txt" && ok "the error check sees the uncaught exception" \
    || bad "bad query: no uncaught exception reported: $(cat "$tmp/browse.txt")"
fi
run "export without three.js" 1 "nothere/three.min.js.*libjs-three" -- export "$tmp/scene.glb" --web "$tmp/web2" --three "$tmp/nothere"
[ ! -e "$tmp/web2/scene.html" ] && ok "no page without three.js" || bad "a page was written without three.js"
run "export usage" 2 "--web" -- export "$tmp/scene.glb"

# --- a small moon (the reference's sample) ---
moon=$src/../shared/fixtures/moon
if [ -f "$moon/moon.jpg" ]; then
  run "moon mesh" 0 "compact" -- mesh "$moon/moon.jpg" --depth "$moon/moon.npy" --longer-side 320 --fill classic \
    --device cpu -o "$tmp/moon.glb"
  run "moon export" 0 "moon.html" -- export "$tmp/moon.glb" --web "$tmp/web" --traj circle,swing --frames 60
  [ -f "$tmp/web/moon.html" ] && check_page moon "$tmp/web/moon.html" "$tmp/moon.glb" 320 320 "0.015,-0.015,0.02"
else
  skipped "moon: no ../shared/fixtures/moon"
fi
finish
