"""Smart intake on the labelled set (issue 18): merging, and category and unit suggestion.

    .venv/bin/python bench/smart_intake.py [--data tests/data/reports_labelled.csv]

Merging: the rows arrive in order (their `minute`); each is merged, as the Store does, into
the nearest open work order of its category within ZN_DEDUP_METERS and ZN_DEDUP_MINUTES,
by the old rule (place, time, category only) and by the text-aware rule (the nearest whose
words are alike enough: dashboard/incidents/textsim.py) at each threshold. Pairs of rows put
in one work order are compared with the labelled duplicate groups: precision = pairs merged
that are one problem / pairs merged; recall = pairs of one problem merged / such pairs. The
threshold with the best F0.5 (precision weighs twice recall: a wrong merge hides a caller's
problem inside another's work order, a missed one is still flagged "possible duplicate of"
the nearest candidate and merged with one click) is the default of ZN_DEDUP_TEXT. "flagged"
is the share of duplicate reports merged or flagged with a work order of their own group.

Suggestion: trained (dashboard/incidents/suggest.py, the product's model) on the wordings
whose number is 0–2 and tested on wording 3 of every problem, which it has never seen;
top-1 and top-3 accuracy of the category and of the receiving unit. The old way, for
comparison, is no suggestion (the operator picks from 15 categories and 29 units).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.geo.lookup import haversine_m  # noqa: E402
from dashboard.incidents import suggest as sg  # noqa: E402
from dashboard.incidents import textsim  # noqa: E402

METERS, MINUTES = 200, 30
THRESHOLDS = [round(0.05 * n, 2) for n in range(1, 15)]


@dataclass(frozen=True)
class Row:
    """One labelled report."""

    id: int
    text: str
    category: str
    unit_id: str
    village: str
    lon: float
    lat: float
    minute: int
    group: str
    phrasing: str


def load(path: Path) -> list[Row]:
    """The labelled rows, in arrival order."""
    with path.open(encoding="utf-8") as f:
        return [Row(int(r["id"]), r["text"], r["category"], r["unit_id"], r["village"],
                    float(r["lon"]), float(r["lat"]), int(r["minute"]), r["duplicate_group"],
                    r["phrasing"]) for r in csv.DictReader(f)]


def work_orders(rows: list[Row], threshold: float | None,
                flags: dict[int, int] | None = None) -> dict[int, int]:
    """Row id -> the row id of the work order it ended in (None: the old rule); `flags`
    gets row id -> the candidate a report not merged is flagged as a possible duplicate of."""
    orders: list[Row] = []  # each work order by its first report
    into: dict[int, int] = {}
    for r in rows:
        near = sorted((haversine_m(r.lon, r.lat, o.lon, o.lat), o.id, o) for o in orders
                      if o.category == r.category and r.minute - o.minute <= MINUTES)
        near = [c for c in near if c[0] <= METERS]
        if threshold is not None:
            scored = [(textsim.similarity(r.text, c[2].text), c) for c in near]
            if scored and flags is not None:  # as the Store: the most alike, then nearest
                flags[r.id] = max(scored, key=lambda x: (x[0], -x[1][0]))[1][1]
            near = [c for sim, c in scored if sim >= threshold]
        if near:
            into[r.id] = near[0][1]
        else:
            orders.append(r)
            into[r.id] = r.id
    return into


def pair_scores(rows: list[Row], into: dict[int, int]) -> tuple[float, float, float]:
    """(precision, recall, F1) of the pairs put in one work order."""
    merged = truth = both = 0
    for a, b in combinations(rows, 2):
        same = into[a.id] == into[b.id]
        dup = bool(a.group) and a.group == b.group
        merged += same
        truth += dup
        both += same and dup
    p = both / merged if merged else 1.0
    r = both / truth if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def f_half(p: float, r: float) -> float:
    """F0.5: precision counted twice as much as recall."""
    return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def flagged(rows: list[Row], into: dict[int, int], flags: dict[int, int]) -> float:
    """Share of the duplicates (all but a group's first) merged or flagged into their group."""
    first: dict[str, int] = {}
    by_id = {r.id: r for r in rows}
    hits = total = 0
    for r in rows:
        if not r.group:
            continue
        if r.group not in first:
            first[r.group] = r.id
            continue
        total += 1
        to = into[r.id] if into[r.id] != r.id else flags.get(r.id)
        hits += to is not None and by_id[to].group == r.group
    return hits / total if total else 1.0


def topk(ranked: list[list[str]], truth: list[str], k: int) -> float:
    """Share of rows whose true label is among the first k suggested."""
    return sum(t in r[:k] for r, t in zip(ranked, truth, strict=True)) / len(truth)


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "tests" / "data" / "reports_labelled.csv"))
    args = ap.parse_args()
    rows = load(Path(args.data))
    groups = {r.group for r in rows if r.group}
    print(f"labelled set: {len(rows)} reports, {len(groups)} duplicate groups, "
          f"{len({r.category for r in rows})} categories, {len({r.unit_id for r in rows})} units")
    t0 = time.perf_counter()
    textsim.warm()
    print(f"jieba loaded in {time.perf_counter() - t0:.2f} s")

    print(f"\nmerging (candidates: same category, {METERS} m, {MINUTES} min, open)")
    print(f"{'rule':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'F0.5':>7}{'orders':>8}"
          f"{'flagged':>9}")
    old = work_orders(rows, None)
    p, r, f = pair_scores(rows, old)
    print(f"{'old (place/time/cat.)':<22}{p:>10.3f}{r:>8.3f}{f:>7.3f}{f_half(p, r):>7.3f}"
          f"{len(set(old.values())):>8}{flagged(rows, old, {}):>9.3f}")
    best: tuple[float, float, float] = (-1.0, -1.0, 0.0)
    t0 = time.perf_counter()
    for th in THRESHOLDS:
        flags: dict[int, int] = {}
        into = work_orders(rows, th, flags)
        p, r, f = pair_scores(rows, into)
        print(f"{f'text ≥ {th:.2f}':<22}{p:>10.3f}{r:>8.3f}{f:>7.3f}{f_half(p, r):>7.3f}"
              f"{len(set(into.values())):>8}{flagged(rows, into, flags):>9.3f}")
        best = max(best, (f_half(p, r), p, th))
    per = (time.perf_counter() - t0) / len(THRESHOLDS) / len(rows) * 1000
    print(f"chosen threshold (best F0.5, then precision): {best[2]:.2f}   "
          f"(text comparison: {per:.2f} ms a report)")

    train = [r for r in rows if not r.phrasing.endswith(".3")]
    test = [r for r in rows if r.phrasing.endswith(".3")]
    t0 = time.perf_counter()
    model = sg.train([sg.Example(r.text, r.category, r.village, r.unit_id) for r in train],
                     version="bench")
    print(f"\nsuggestion: trained on {len(train)} (wordings 0-2) in "
          f"{time.perf_counter() - t0:.2f} s, tested on {len(test)} unseen wordings (3)")
    t0 = time.perf_counter()
    out = [sg.suggest(model, r.text, r.village) for r in test]
    per = (time.perf_counter() - t0) / len(test) * 1000
    cats = [[c for c, _ in s.categories] for s in out]
    units = [[u for u, _ in s.units] for s in out]
    print(f"{'':<10}{'top-1':>8}{'top-3':>8}   (no suggestion: 1/{len(sg.CATEGORY_CODES)} "
          f"and 1/{len({r.unit_id for r in rows})} by chance)")
    print(f"{'category':<10}{topk(cats, [r.category for r in test], 1):>8.3f}"
          f"{topk(cats, [r.category for r in test], 3):>8.3f}")
    print(f"{'unit':<10}{topk(units, [r.unit_id for r in test], 1):>8.3f}"
          f"{topk(units, [r.unit_id for r in test], 3):>8.3f}")
    print(f"one suggestion: {per:.1f} ms")


if __name__ == "__main__":
    main()
