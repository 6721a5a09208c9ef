"""What one KPI board costs as the month's work orders grow (issue 17, the soak's CPU rise).

    .venv/bin/python bench/kpis.py                       # 0 to 2,000 orders, SQLite
    .venv/bin/python bench/kpis.py --orders 250,1000,4000 --database-url postgresql+psycopg://...

`Store.kpis` reads today's and this month's figures from every work order of the month;
the hub used it after each event and now keeps the facts instead (`LiveFacts`). A scratch
database with the demo town gets work
orders of this month through `Store.create_incident`; at each count the board is built five
times and the best is printed, with the time per order of the month; then what the hub's
held facts (`LiveFacts`) cost: a refresh after one event (the order it names read again),
a full read, and a village's board from the held facts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import scratch_database  # noqa: E402

from dashboard.geo.lookup import GridHit  # noqa: E402
from dashboard.messages import IncidentReport  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.timeutil import utcnow  # noqa: E402
from datasources.sql.engine import make_engine  # noqa: E402
from datasources.sql.incidents import Store  # noqa: E402
from datasources.sql.town_loader import prepare_database  # noqa: E402


def best_ms(store: Store, village: str | None = None, tries: int = 5) -> float:
    """The fastest of `tries` boards (the town's, or one village's), ms."""
    return best_of(lambda: store.kpis(village=village), tries)


def best_of(fn: Callable[[], object], tries: int = 5) -> float:
    """The fastest of `tries` calls of `fn`, ms."""
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", default="250,1000,2000", help="counts to measure at")
    ap.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--village", default="V03", help="the village whose board is timed too")
    args = ap.parse_args(argv)
    counts = sorted(int(c) for c in args.orders.split(","))
    with tempfile.TemporaryDirectory(prefix="zn-kpis-") as tmp, \
            scratch_database(args.database_url, Path(tmp)) as db_url:
        engine = make_engine(db_url)
        try:
            measure(engine, counts, args.village)
        finally:
            engine.dispose()
    return 0


def measure(engine: Any, counts: list[int], village: str) -> None:
    """The town's and `village`'s boards at no orders, then at each count."""
    prepare_database(engine, Settings().town_dir)
    store = Store(engine)
    cells = [c for c in store.grid_cells() if c.level == 3 and c.village]
    held = store.live_facts(full_every=3600)
    print(f"{'orders':>7} {'town board':>11} {'per order':>10} {village + ' board':>11}   "
          f"held (the hub's): {'one event':>9} {'full':>8} {village:>8}")
    made, last = 0, 0
    for count in [0, *counts]:
        while made < count:
            cell = cells[made % len(cells)]
            made += 1
            report = IncidentReport(source="hotline", category="water",
                                    title=f"kpis {made}", lon=104.45, lat=30.55)
            last = store.create_incident(report, GridHit(cell.code, cell.village)).incident.id
        ms = best_ms(store)
        per = f"{ms * 1000 / count:>7.0f} µs" if count else f"{'':>10}"
        now = utcnow()
        full = best_of(lambda: held.refresh(now))  # noqa: B023 (called at once)
        event = best_of(lambda: held.refresh(now, {last}))  # noqa: B023
        scoped = best_of(lambda: held.board(now, village))  # noqa: B023
        print(f"{count:>7} {ms:>8.1f} ms {per} {best_ms(store, village):>8.1f} ms   "
              f"{'':>18}{event:>6.1f} ms {full:>5.1f} ms {scoped:>5.1f} ms", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
