"""Helpers shared by the benchmarks: processes, CPU accounting, percentiles, browsers."""

from __future__ import annotations

import json
import math
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")

CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
)
CHROME_BINARY = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 2.0,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None]:
    """(status, body) of a GET returning JSON; (0, None) when nobody answers."""
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return 0, None


def proc_cpu_s(pid: int) -> float | None:
    """utime+stime of one process (all its threads), in seconds; None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat


def town_points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    """`n` random points inside the demo town's boundary (a report outside it is refused),
    the same for the same seed."""
    import random

    from shapely.geometry import Point, shape

    from datasources.towns.files import load_town

    town = load_town(Path(__file__).resolve().parent.parent / "datasources" / "towns" / "demo")
    boundary = shape(town.meta["boundary"])
    minx, miny, maxx, maxy = boundary.bounds
    rng, out = random.Random(seed), []
    while len(out) < n:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if boundary.contains(Point(lon, lat)):
            out.append((lon, lat))
    return out


def box_cpu_s() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, summed over its cores
    (/proc/stat): every process, the database and Redis included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLK_TCK, idle / CLK_TCK


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_pids(roots: list[int]) -> list[int]:
    """The given processes and all their descendants (alive now)."""
    kids = _children()
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def tree_cpu_s(roots: list[int]) -> dict[int, float]:
    """CPU seconds per process of the trees under `roots` (descendants included)."""
    out = {}
    for pid in tree_pids(roots):
        cpu = proc_cpu_s(pid)
        if cpu is not None:
            out[pid] = cpu
    return out


def tree_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two `tree_cpu_s` readings (processes born in between count
    from zero; processes that died in between are lost, which undercounts a little)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def chrome_kind(pid: int) -> str:
    """Which of Chromium's processes `pid` is: 'renderer' (the page's JavaScript, layout and
    paint), 'gpu-process' (compositing; in software without a GPU), 'utility' (network,
    storage), 'browser', or 'driver' (chromedriver)."""
    try:
        # Chromium rewrites its children's command lines into one space-separated string.
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "gone"
    if argv and argv[0].endswith(b"chromedriver"):
        return "driver"
    for a in argv:
        if a.startswith(b"--type="):
            return a[7:].decode()
    return "browser"


def tree_delta_by_kind(before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    """`tree_delta` split by Chromium process kind (`chrome_kind`)."""
    out: dict[str, float] = {}
    for pid, cpu in after.items():
        kind = chrome_kind(pid)
        out[kind] = out.get(kind, 0.0) + cpu - before.get(pid, 0.0)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], missed: int = 0) -> dict[str, Any]:
    """count, missed, mean, p50, p95, p99, max (ms)."""
    return {
        "count": len(values), "missed": missed,
        "mean": sum(values) / len(values) if values else None,
        "p50": percentile(values, 50), "p95": percentile(values, 95),
        "p99": percentile(values, 99), "max": max(values) if values else None,
        "min": min(values) if values else None,
    }


def new_chrome(width: int = 1920, height: int = 1080) -> Any:
    """One headless Chromium (its own browser process and profile) driven by chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    opts.binary_location = CHROME_BINARY
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_window_size(width, height)
    return driver


def wait_until(predicate: Any, timeout: float, step: float = 0.1, what: str = "") -> Any:
    """Poll `predicate` until it returns a truthy value; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(step)


@contextmanager
def scratch_database(database_url: str, folder: Path) -> Iterator[str]:
    """A bench's own database: a new PostgreSQL database on `database_url`'s server, dropped
    afterwards, or (no URL) a SQLite file in `folder`; yields its URL."""
    if not database_url:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from tests.private_postgres import new_database

    with new_database(database_url, "zn_bench_") as url:
        yield url
