#!/usr/bin/env python3
"""Screenshots of /admin 镇数据导入 (issue 16) against a running zhongnao of 松溪乡:

    ZN_DATA_DIR=/tmp/t2 ZN_TOWN_DIR=tests/data/town2 zhongnao run --port 8391 &
    python tools/shoot_town_import.py http://127.0.0.1:8391 OUTDIR

The admin (demo account) uploads town2-bad (errors by feature), then town2 with one grid
renamed (the preview over the grids in force); each at 1920x1080, 1024x768 and 390x844,
in zh and en."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from datasources.towns.sources import zip_folder  # noqa: E402
from tools.screenshot import _browser, _size, sign_in  # noqa: E402

DATA = ROOT / "tests" / "data"


def zips(tmp: Path) -> tuple[Path, Path]:
    bad = tmp / "town2-bad.zip"
    bad.write_bytes(zip_folder(DATA / "town2-bad"))
    folder = tmp / "town2-redrawn"
    shutil.copytree(DATA / "town2", folder)
    grids = json.loads((folder / "grids.geojson").read_text("utf-8"))
    for f in grids["features"]:
        if f["properties"]["code"] == "G3-07":
            f["properties"]["name"] = "溪口社区新1组网格"
    (folder / "grids.geojson").write_text(json.dumps(grids, ensure_ascii=False), "utf-8")
    good = tmp / "town2.zip"
    good.write_bytes(zip_folder(folder))
    return bad, good


def main() -> None:
    base, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    bad, good = zips(tmp)
    driver = _browser()
    try:
        sign_in(driver, f"{base}/admin?tab=town", "admin", "zhongnao-demo")
        time.sleep(4)
        for lang in ("zh", "en"):
            for size in ("1920x1080", "1024x768", "390x844"):
                _size(driver, size)
                for name, upload, wait in (("errors", bad, "adm-town-error"),
                                           ("preview", good, "adm-town-map")):
                    driver.get(f"{base}/admin?tab=town&lang={lang}")
                    time.sleep(3)
                    driver.find_element(By.CSS_SELECTOR, "#adm-town-upload input[type=file]"
                                        ).send_keys(str(upload))
                    for _ in range(60):
                        if driver.find_elements(By.CLASS_NAME, wait):
                            break
                        time.sleep(0.5)
                    time.sleep(2)
                    driver.save_screenshot(str(out / f"admin-town-{name}-{lang}-{size}.png"))
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
