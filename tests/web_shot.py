"""web_shot.py CHROME URL W H [OUT.png] - opens URL in headless Chromium (software WebGL: ANGLE on SwiftShader) at
W x H CSS pixels, device scale 1, drives it over the DevTools protocol (python3-websocket) and waits - in real time,
up to 90 s - until the page's title says p3d-ready or p3d-error (tests/test_web.sh; the page: host/pipeline/
web_page.html). Then writes a screenshot to OUT.png when given. Prints the title and every JavaScript error
(uncaught exceptions, console errors, log errors); exit 0 when the page is ready without errors, 1 otherwise.
Waiting on the title, not on --virtual-time-budget, matters: virtual time jumps ahead while the browser decodes
the atlas off the main thread, so a plain --screenshot may catch the page before its first frame."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def main(chrome, url, w, h, out):
    prof = tempfile.mkdtemp(prefix="p3d-chrome-")
    args = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={w},{h}",
            f"--user-data-dir={prof}", "--remote-debugging-port=0", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    errors, title = [], ""
    try:
        port_file = os.path.join(prof, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        pages = []
        while not pages:
            pages = [t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list")) if t["type"] == "page"]
            time.sleep(0.1)
        ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=120)
        ids = iter(range(1, 1 << 30))

        def call(method, **params):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                m = json.loads(ws.recv())
                if m.get("id") == i:
                    if "error" in m:
                        raise RuntimeError(f"{method}: {m['error']}")
                    return m.get("result", {})
                event(m)

        def event(m):
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append("uncaught: " + d.get("exception", {}).get("description", d.get("text", "")).split("\n")[0])
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif m.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append("log: " + p["entry"]["text"])

        call("Runtime.enable")
        call("Log.enable")
        call("Page.enable")
        call("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
        call("Page.navigate", url=url)
        deadline = time.time() + 90
        while time.time() < deadline:
            title = call("Runtime.evaluate", expression="document.title")["result"].get("value", "")
            if title.startswith("p3d-ready") or title.startswith("p3d-error"):
                break
            time.sleep(0.2)
        if out and title.startswith("p3d-"):
            png = call("Page.captureScreenshot", format="png")["data"]
            with open(out, "wb") as f:
                f.write(base64.b64decode(png))
        ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(prof, ignore_errors=True)
    print("title:", title)
    for e in errors:
        print("error:", e)
    return 0 if title == "p3d-ready" and not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None))
