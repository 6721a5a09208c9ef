"""智能派单 (issue 18): the model's versions on disk, training, and a suggestion for each
new report computed off the intake path.

A report is stored and announced first; then one worker thread (never the request's, never
the event loop) suggests its category and unit, keeps the suggestion with the work order
and announces the work order again, so the console shows it within a second. Versions are
joblib files under ZN_DATA_DIR/models/ (suggest-<version>.joblib) and `current` names the
one in use; every process loads the newest at start and after it trains.
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard.incidents import suggest as sg
from dashboard.incidents import textsim
from dashboard.messages import IncidentView
from dashboard.timeutil import LOCAL_TZ, as_utc, utcnow
from datasources.sql import suggestions as rows
from datasources.sql.incidents import Store

log = logging.getLogger(__name__)
KEEP_VERSIONS = 5
NIGHT_HOUR = 2  # local: retrain after 02:00, on the day's handled work orders


def labelled_examples(path: str | Path) -> list[sg.Example]:
    """Examples from a labelled CSV (tests/data/reports_labelled.csv's columns)."""
    with Path(path).open(encoding="utf-8") as f:
        return [sg.Example(r["text"], r["category"], r.get("village") or None,
                           r.get("unit_id") or None) for r in csv.DictReader(f)]


class Suggester:
    """The model in use, training, and the after-intake suggestion worker."""

    def __init__(self, store: Store, data_dir: str | Path, enabled: bool = True):
        self.store = store
        self.dir = Path(data_dir) / "models"
        self.enabled = enabled
        self.model: sg.Model | None = None
        self.announce: Callable[[IncidentView], object] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="zn-suggest")
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ versions
    def load(self) -> sg.Model | None:
        """The version `current` names (or none yet); a broken file is logged, not fatal."""
        pointer = self.dir / "current"
        try:
            name = pointer.read_text(encoding="utf-8").strip()
            import joblib  # noqa: PLC0415  (with scikit-learn; only when there is a model)

            self.model = joblib.load(self.dir / name)
        except FileNotFoundError:
            return None
        except Exception:
            log.exception("suggestion model %s could not be loaded", pointer)
            return None
        return self.model

    def train(self, extra: Iterable[sg.Example] = ()) -> sg.Model:
        """Train on the town's handled work orders (and `extra`), keep it as a new version
        and use it; ValueError when there is too little to learn from."""
        import joblib  # noqa: PLC0415

        now = utcnow()
        examples = rows.examples(self.store) + list(extra)
        version = as_utc(now).astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")  # local
        model = sg.train(examples, version, rows.village_units(self.store), trained_at=now)
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            name = f"suggest-{version}.joblib"
            joblib.dump(model, self.dir / name)
            tmp = self.dir / "current.tmp"
            tmp.write_text(name, encoding="utf-8")
            tmp.replace(self.dir / "current")
            for old in sorted(self.dir.glob("suggest-*.joblib"))[:-KEEP_VERSIONS]:
                old.unlink(missing_ok=True)
            self.model = model
        log.info("suggestion model %s trained on %d work orders", version, len(examples))
        return model

    def nightly(self, claim: Callable[[str, int], bool], now: datetime | None = None) -> bool:
        """Retrain once a local night (after NIGHT_HOUR), by whichever process claims the
        day first (Redis, as intake claims a message: no leader lease yet, issue 17); the
        others load the new version when `current` names one they do not have. True if
        this process trained."""
        now = now or utcnow()
        local = as_utc(now).astimezone(LOCAL_TZ)
        trained = False
        if self.model is None:
            self.load()
        # A town's first start trains at once (the demo's played history is there).
        due = self.model is None or (local.hour >= NIGHT_HOUR and
                                     self.model.version[:8] < local.strftime("%Y%m%d"))
        if self.enabled and due and claim(f"suggest-train:{local.date().isoformat()}", 86_400):
            try:
                self.train()
                trained = True
            except ValueError as exc:  # a town with too few handled work orders yet
                log.info("no suggestion model tonight: %s", exc)
        current = self.dir / "current"
        if not trained and current.exists():
            name = current.read_text(encoding="utf-8").strip()
            if self.model is None or name != f"suggest-{self.model.version}.joblib":
                self.load()
        return trained

    def versions(self) -> list[str]:
        """The versions kept on disk, oldest first."""
        return [p.stem.removeprefix("suggest-") for p in sorted(self.dir.glob("suggest-*.joblib"))]

    # ------------------------------------------------------------------ suggesting
    def warm(self) -> Future[Any]:
        """Load the model in the worker thread, before any report (jieba's dictionary is
        loaded by Services.open)."""
        def run() -> None:
            if self.model is None:
                self.load()
        return self._pool.submit(run)

    def suggest(self, title: str, description: str = "", village: str | None = None,
                category: str | None = None) -> sg.Suggestion | None:
        """A suggestion for a text (the console's form asks as the operator types; units
        for `category` when the report has one); None without a model."""
        model = self.model
        text = textsim.report_text(title, description).strip("。 ")
        if model is None or not self.enabled or not text:
            return None
        return sg.suggest(model, textsim.report_text(title, description), village, category)

    def after_report(self, view: IncidentView, description: str = "") -> Future[Any] | None:
        """Intake's hook: suggest for the new work order in the worker, keep, announce."""
        if not self.enabled or self.model is None:
            return None
        return self._pool.submit(self._suggest_and_keep, view, description)

    def _suggest_and_keep(self, view: IncidentView, description: str) -> None:
        try:
            found = self.suggest(view.title, description, view.village, view.category)
            if found is None:
                return
            changed = rows.save(self.store, view.id, found)
            if changed is not None and self.announce is not None:
                self.announce(changed)
        except Exception:  # a suggestion never undoes nor blocks a stored report
            log.exception("no suggestion for work order %s", view.ref)

    def close(self) -> None:
        """Stop the worker (pending suggestions are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
