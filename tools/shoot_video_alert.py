"""Screenshot the console's detail of a video alert with its snapshot (issue 15): runs the demo
town on a scratch folder with ZN_IMAGE_ORIGINS pointing at a local stand-in of the camera
platform's image server, posts an AI camera event through the video door and shoots
/dispatch?incident=ID at 1920x1080 in zh and en (docs/dispatch-video*-1920x1080.png); and
the wall's focus card when such an alert arrives (docs/wall-video-1920x1080.png)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import OFFICER, ROOT, _free_port  # noqa: E402
from screenshot import _browser, _size, shoot_many  # noqa: E402


def snapshot_png() -> bytes:
    """A made-up camera frame: a road at dusk, smoke, the AI's box and the camera's stamp."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("RGB", (1280, 720), (38, 44, 52))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 430, 1280, 720), fill=(58, 60, 62))  # the road
    for x in range(0, 1280, 160):
        d.rectangle((x + 40, 570, x + 110, 582), fill=(200, 200, 190))
    d.rectangle((80, 180, 420, 430), fill=(92, 84, 76))  # a house
    d.polygon(((60, 180), (250, 90), (440, 180)), fill=(70, 54, 48))
    smoke = Image.new("L", (1280, 720), 0)
    sd = ImageDraw.Draw(smoke)
    for i, (x, y, r) in enumerate(((300, 160, 70), (340, 110, 90), (390, 60, 110),
                                   (280, 200, 60))):
        sd.ellipse((x - r, y - r, x + r, y + r), fill=150 + i * 20)
    smoke = smoke.filter(ImageFilter.GaussianBlur(22))
    img.paste((190, 190, 195), (0, 0), smoke)
    d.ellipse((270, 250, 330, 300), fill=(255, 120, 30))  # the flame
    d.rectangle((200, 20, 540, 330), outline=(255, 40, 40), width=5)
    d.rectangle((200, 330, 470, 366), fill=(255, 40, 40))
    d.text((210, 336), "fire_smoke 92%", fill=(255, 255, 255), font_size=26)
    d.text((20, 680), "CAM-V01  2026-12-05 09:30:00", fill=(255, 255, 255), font_size=28)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def image_server(png: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post_event(base: str, token: str, cam_origin: str) -> dict[str, object]:
    """One AI camera event (smoke at CAM-V01) through the video door."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    body = {"camera_id": "CAM-V01", "event_type": "fire_smoke", "at": at.isoformat(),
            "event_id": f"xl-{int(time.time())}", "confidence": 0.92,
            "snapshot_url": f"{cam_origin}/snap/000731.png",
            "clip_url": f"{cam_origin}/clip/000731.mp4"}
    req = urllib.request.Request(f"{base}/api/v1/video/events", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"X-Api-Key": token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def main(out_dir: Path = ROOT / "docs") -> None:
    port = _free_port()
    cam = image_server(snapshot_png())
    cam_origin = f"http://127.0.0.1:{cam.server_port}"
    zhongnao = ROOT / ".venv/bin/zhongnao"
    if not zhongnao.exists():
        zhongnao = Path(sys.executable).parent / "zhongnao"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "ZN_DATA_DIR": data, "ZN_PORT": str(port), "REDIS_URL": "",
               "DATABASE_URL": "", "PYTHONPATH": str(ROOT), "ZN_IMAGE_ORIGINS": cam_origin}
        log = Path(data) / "run.log"
        proc = subprocess.Popen([str(zhongnao), "run"], env=env, stdout=log.open("w"),
                                stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(1500):  # the demo's month of history first (20 s to minutes)
                try:
                    urllib.request.urlopen(f"{base}/api/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.3)
            time.sleep(5)
            token = subprocess.run(
                [sys.executable, str(ROOT / "cli.py"), "key", "add", "camera platform",
                 "--source", "video"], env=env, capture_output=True, text=True, check=True,
                cwd=ROOT).stdout.strip().split()[-1]
            # The wall focuses an alert that arrives while it is open: open it first.
            wall = _browser()
            try:
                _size(wall, "1920x1080")
                wall.get(f"{base}/?kiosk=demo-wall-kiosk-token")
                time.sleep(12)
                made = post_event(base, token, cam_origin)
                time.sleep(3.5)
                wall.save_screenshot(str(out_dir / "wall-video-1920x1080.png"))
                print(out_dir / "wall-video-1920x1080.png")
            finally:
                wall.quit()
            shots = [(f"{base}/dispatch?incident={made['id']}",
                      str(out_dir / "dispatch-video-1920x1080.png"), "1920x1080"),
                     (f"{base}/dispatch?incident={made['id']}&lang=en",
                      str(out_dir / "dispatch-video-en-1920x1080.png"), "1920x1080")]
            shoot_many(shots, OFFICER, wait_s=6.0)
            for _, out, _ in shots:
                print(out)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            cam.shutdown()


if __name__ == "__main__":
    main()
