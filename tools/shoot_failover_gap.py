"""Screenshot the wall through a Redis failover (issue 17): the demo town run on a primary,
a replica and three sentinels on loopback (tests/sentinel.py), walls open at 1920x1080,
1024x768 and 390x844; the primary is killed -9 and the walls are shot while the gap is
open (断档…补齐中), then once it is filled (断档已补齐 N 条); a duty console (1920x1080 and
1024x768) shows the same badge. One failover per language.

    .venv/bin/python tools/shoot_failover_gap.py [OUT_DIR]    (default /tmp/zn-gap)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import KIOSK, OFFICER, ROOT, _free_port  # noqa: E402
from screenshot import _browser, _size, sign_in  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.sentinel import sentinel_set  # noqa: E402

SIZES = ("1920x1080", "1024x768", "390x844")
CONSOLE_SIZES = ("1920x1080", "1024x768")


def gap_text(driver) -> str:  # type: ignore[no-untyped-def]
    return str(driver.execute_script(
        "const e = document.getElementById('home-gap') || document.getElementById('disp-gap');"
        " return e ? e.textContent : '';"))


def wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    zhongnao = ROOT / ".venv/bin/zhongnao"
    with tempfile.TemporaryDirectory() as data, sentinel_set(Path(data) / "redis") as rs:
        env = {**os.environ, "ZN_DATA_DIR": data, "ZN_PORT": str(port), "REDIS_URL": "",
               "DATABASE_URL": "", "PYTHONPATH": str(ROOT), **rs.env()}
        log = Path(data) / "run.log"
        proc = subprocess.Popen([str(zhongnao), "run"], env=env, stdout=log.open("w"),
                                stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(1500):  # the demo's month of history first
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=1) as resp:
                        json.loads(resp.read())
                    break
                except OSError:
                    time.sleep(0.3)
            for lang in ("zh", "en"):
                walls = []
                for size in SIZES:
                    b = _browser()
                    _size(b, size)
                    b.get(f"{base}{KIOSK}&lang={lang}")
                    walls.append((b, size, "wall"))
                for size in CONSOLE_SIZES:
                    b = _browser()
                    _size(b, size)
                    sign_in(b, f"{base}/dispatch?lang={lang}", *OFFICER)
                    walls.append((b, size, "dispatch"))
                time.sleep(12)
                old, _ = rs.kill_primary()
                suffix = "" if lang == "zh" else "-en"
                for b, size, page in walls:
                    if wait(lambda b=b: "断档" in gap_text(b) or "Gap" in gap_text(b), 10):
                        b.save_screenshot(str(out_dir / f"{page}-gap{suffix}-{size}.png"))
                rs.wait_promoted(old)
                for b, size, page in walls:
                    if wait(lambda b=b: "补齐 " in gap_text(b) or "filled" in gap_text(b), 20):
                        b.save_screenshot(str(out_dir / f"{page}-gap-filled{suffix}-{size}.png"))
                for b, _, _ in walls:
                    b.quit()
                rs.restart_as_replica(old)
            for png in sorted(out_dir.glob("*-gap*.png")):
                print(png)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/zn-gap"))
