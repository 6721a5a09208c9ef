"""Start the demo town on a scratch data folder and save the screenshots kept in docs/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import shoot_many  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Walls open with the demo kiosk token, the console signs in as the demo duty officer
# (both made by `zhongnao run` for the demo town).
KIOSK = "/?kiosk=demo-wall-kiosk-token"
PARENT = "/parent?link=demo-parent-link"
OFFICER = ("值班员", "zhongnao-demo")
LEADER = ("领导", "zhongnao-demo")
SHOTS = (
    (KIOSK, "wall-1920x1080.png", "1920x1080", None),
    (KIOSK + "&lang=en", "wall-en-1920x1080.png", "1920x1080", None),
    (KIOSK, "tablet-1024x768.png", "1024x768", None),
    (KIOSK, "wall-3840x2160.png", "3840x2160", None),
    ("/dispatch?incident=3", "dispatch-1920x1080.png", "1920x1080", OFFICER),
    ("/resources", "resources-1920x1080.png", "1920x1080", OFFICER),
    ("/grids", "grids-1920x1080.png", "1920x1080", OFFICER),
    ("/grids?grid=G3-03&heat=1", "grids-level3-1920x1080.png", "1920x1080", OFFICER),
    ("/leader", "leader-1024x768.png", "1024x768", LEADER),
    ("/leader?lang=en", "leader-en-768x1024.png", "768x1024", LEADER),
    ("/buses", "buses-1920x1080.png", "1920x1080", OFFICER),
    ("/login", "login-1280x800.png", "1280x800", None),
    ("/escort", "escort-390x844.png", "390x844", ("随车照管员", "zhongnao-demo")),
    # A guardian opens the link the school sent (the demo's, made by `zhongnao run`).
    (PARENT, "parent-390x844.png", "390x844", None),
    (PARENT + "&lang=en", "parent-en-390x844.png", "390x844", None),
    # Issue 14: one village's wall; the tier share on the grid map.
    ("/?village=V03", "wall-village-1920x1080.png", "1920x1080", OFFICER),
    ("/grids?measure=in_grid", "grids-in-grid-1920x1080.png", "1920x1080", OFFICER),
    ("/leader", "leader-1920x1080.png", "1920x1080", LEADER),
)
# 分析研判 compares the quarter with the one before: shot once `run` has played the older
# demo history in the background (its "older demo history" line), after the others.
ANALYSIS_SHOTS = (
    ("/analysis", "analysis-1024x768.png", "1024x768", LEADER),
    ("/analysis?lang=en", "analysis-en-1024x768.png", "1024x768", LEADER),
    ("/analysis", "analysis-1920x1080.png", "1920x1080", LEADER),
    ("/analysis?lang=en", "analysis-en-1920x1080.png", "1920x1080", LEADER),
)
# 一车一档 (issue 13): the demo's bus whose 行驶证 has expired, picked on /buses.
UNFIT = "/buses?bus=" + urllib.parse.quote("川F·D74743")
VEHICLE_SHOTS = tuple((UNFIT + ("&lang=en" if lang == "en" else "")
                       + ("#bus-detail" if size == "1024x768" else ""),
                       f"buses-record-{lang}-{size}.png", size, OFFICER)
                      for lang in ("zh", "en") for size in ("1920x1080", "1024x768"))
ADMIN = ("admin", "zhongnao-demo")
GRID_WORKER = ("冯思远", "zhongnao-demo")
# 系统管理 (issue 16): the administrator's page, its accounts and its keys tab.
ADMIN_SHOTS = (
    ("/admin", "admin-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?lang=en", "admin-en-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?tab=keys", "admin-keys-1024x768.png", "1024x768", ADMIN),
    ("/admin?tab=sessions&lang=en", "admin-sessions-en-1024x768.png", "1024x768", ADMIN),
    ("/admin?tab=rota", "admin-rota-1024x768.png", "1024x768", ADMIN),
    ("/admin?tab=roster&lang=en", "admin-roster-en-1024x768.png", "1024x768", ADMIN),
    # The rota's edits (set a shift, leave) and the tables a town overrides (issue 16).
    ("/admin?tab=rota", "admin-rota-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?tab=rota&lang=en", "admin-rota-en-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?tab=rota", "admin-rota-390x844.png", "390x844", ADMIN),
    ("/admin?tab=tables", "admin-tables-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?tab=tables&lang=en", "admin-tables-en-1024x768.png", "1024x768", ADMIN),
    ("/admin?tab=tables", "admin-tables-390x844.png", "390x844", ADMIN),
    # 应急抽调: the console's call-up panel under the recommendations.
    ("/dispatch?incident=98#cu-panel", "callup-1024x768.png", "1024x768", OFFICER),
    ("/dispatch?incident=98&lang=en#cu-panel", "callup-en-1024x768.png", "1024x768", OFFICER),
    ("/dispatch?incident=98", "callup-1920x1080.png", "1920x1080", OFFICER),
)
# Drills and the stations' records (issue 16): /resources' drills part, the leaders' drills
# box and /admin's stations tab, in both languages (`make_screenshots.py drills,stations`).
DRILL_SHOTS = (
    ("/resources#dr-section", "resources-drills-1920x1080.png", "1920x1080", OFFICER),
    ("/resources?lang=en#dr-section", "resources-drills-en-1024x768.png", "1024x768", OFFICER),
    ("/resources#dr-section", "resources-drills-390x844.png", "390x844", OFFICER),
    ("/leader#ld-drills", "leader-drills-1024x768.png", "1024x768", LEADER),
    ("/leader?lang=en#ld-drills", "leader-drills-en-1920x1080.png", "1920x1080", LEADER),
    ("/leader#ld-drills", "leader-drills-390x844.png", "390x844", LEADER),
    ("/admin?tab=stations", "admin-stations-1920x1080.png", "1920x1080", ADMIN),
    ("/admin?tab=stations&lang=en", "admin-stations-en-1024x768.png", "1024x768", ADMIN),
    ("/admin?tab=stations", "admin-stations-390x844.png", "390x844", ADMIN),
)
# Every page in both languages at the wall, the tablet and the phone (issue 11): the set to
# look at after a change to the screens. `make screenshots` shoots SHOTS, then these.
MATRIX_PAGES = (
    ("wall", KIOSK, None), ("dispatch", "/dispatch?incident=3", OFFICER),
    ("resources", "/resources", OFFICER), ("grids", "/grids", OFFICER),
    ("leader", "/leader", LEADER), ("buses", "/buses", OFFICER),
    ("field", "/field", GRID_WORKER), ("audit", "/audit", ADMIN), ("login", "/login", None),
    ("escort", "/escort", ("随车照管员", "zhongnao-demo")),
    ("parent", PARENT, None),
    ("school", "/school", ("学校教务处", "zhongnao-demo")),
)
MATRIX_SIZES = ("1920x1080", "1024x768", "390x844")


def matrix() -> list[tuple[str, str, str, tuple[str, str] | None]]:
    """(path, file name under docs/, size, login) of every page × language × size."""
    out = []
    for page, path, login in MATRIX_PAGES:
        for lang in ("zh", "en"):
            sep = "&" if "?" in path else "?"
            url = path + (f"{sep}lang=en" if lang == "en" else "")
            for size in MATRIX_SIZES:
                out.append((url, f"screens/{page}-{lang}-{size}.png", size, login))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(out_dir: Path = ROOT / "docs", warm_s: float = 25.0, only: str = "") -> None:
    """Run `zhongnao run` briefly (a month of demo history, a busy simulator); shoot each view
    (those whose file name holds `only`, when given: `make_screenshots.py parent`; several
    separated by commas: `make_screenshots.py school,village`)."""
    wanted = [w for w in only.split(",") if w]
    port = _free_port()
    # A git worktree shares the main checkout's virtualenv: run this checkout's code with it.
    zhongnao = ROOT / ".venv/bin/zhongnao"
    if not zhongnao.exists():
        zhongnao = Path(sys.executable).parent / "zhongnao"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "ZN_DATA_DIR": data, "ZN_PORT": str(port), "ZN_SIM_RATE": "20",
               "REDIS_URL": "", "DATABASE_URL": "", "PYTHONPATH": str(ROOT)}
        log = Path(data) / "run.log"
        proc = subprocess.Popen([str(zhongnao), "run"], env=env,
                                stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            # `zhongnao run` first plays a month of demo history (~20 s; minutes on a
            # loaded machine), then serves.
            for _ in range(2000):
                try:
                    urllib.request.urlopen(f"{base}/api/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.3)
            time.sleep(warm_s)
            (out_dir / "screens").mkdir(exist_ok=True)
            by_login: dict[tuple[str, str] | None, list[tuple[str, str, str]]] = {}
            for path, name, size, login in (*SHOTS, *VEHICLE_SHOTS, *ADMIN_SHOTS, *DRILL_SHOTS,
                                             *matrix()):
                if wanted and not any(w in name for w in wanted):
                    continue
                by_login.setdefault(login, []).append((base + path, str(out_dir / name), size))
            for login, shots in by_login.items():  # one browser per account, signed in once
                shoot_many(shots, login, wait_s=5.0)
                for _, out, _ in shots:
                    print(out)
            # The older history: ~5 min on two busy cores.
            for _ in range(900 if not wanted or "analysis" in wanted else 0):
                if "older demo history" in log.read_text("utf-8", "replace"):
                    break
                time.sleep(1)
            shots = [(base + path, str(out_dir / name), size)
                     for path, name, size, _ in ANALYSIS_SHOTS
                     if not wanted or any(w in name for w in wanted)]
            if not shots:
                return
            shoot_many(shots, LEADER, wait_s=12.0)
            for _, out, _ in shots:
                print(out)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main(only=sys.argv[1] if len(sys.argv) > 1 else "")
