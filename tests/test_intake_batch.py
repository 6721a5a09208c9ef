"""Group commit (issue 17): concurrent reports share one transaction, each keeps its outcome.

Real Redis and a real database (SQLite, or PostgreSQL with DATABASE_URL). A long linger
makes the reports sent together land in one batch, as under a burst.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from datasources.flows.intake import Outcome
from datasources.services import Services
from datasources.sql import models as m


@pytest.fixture
def settings(settings):
    """One batch takes whatever arrives within 300 ms; the default merge rule is on."""
    return settings.with_(intake_batch=50, intake_linger_ms=300, dedup_meters=200,
                          dedup_minutes=30)


def _report(title: str, lon: float = 104.4500, lat: float = 30.5500, **more: Any) -> str:
    return json.dumps({"type": "incident.report", "source": "citizen",
                       "category": "environment", "title": title, "lon": lon, "lat": lat,
                       **more}, ensure_ascii=False)


def _at_once(calls: list[Callable[[], Outcome]]) -> list[Outcome]:
    """Run the calls from as many threads, released together; their outcomes in order."""
    out: list[Outcome | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        out[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(o is not None for o in out)
    return out  # type: ignore[return-value]


def _stored(services: Services, title: str) -> int:
    with services.store.session() as s:
        return s.scalar(select(func.count()).select_from(m.IncidentReport)
                        .where(m.IncidentReport.title == title))


def test_one_msg_id_delivered_many_times_at_once_is_stored_once_and_answered_alike(services):
    intake = services.intake
    raw = _report("路灯不亮", msg_id="lamp-000001")
    others = [_report(f"井盖缺失 {i}", lon=104.40 + i * 0.01, msg_id=f"cover-{i:06d}")
              for i in range(4)]
    outcomes = _at_once([lambda: intake.handle_raw(raw)] * 8
                        + [lambda r=r: intake.handle_raw(r) for r in others])
    repeats = outcomes[:8]
    assert sum(not o.skipped for o in repeats) == 1  # one delivery did the work
    ids = {o.event.incident.id for o in repeats}
    assert len(ids) == 1 and None not in ids  # every delivery got the same work order
    assert _stored(services, "路灯不亮") == 1
    assert intake.commits.items == 5  # the repeats never reached the database
    # Answered only once committed: a fresh read finds each acknowledged work order.
    for o in outcomes:
        assert services.store.view(o.event.incident.id).title == o.event.incident.title


def test_two_alike_reports_in_one_batch_merge_as_they_would_one_after_the_other(services):
    intake = services.intake
    first, near, far = _at_once([
        lambda: intake.handle_raw(_report("河道漂浮垃圾")),
        lambda: intake.handle_raw(_report("河面有垃圾", lon=104.4510, lat=30.5505)),
        lambda: intake.handle_raw(_report("河道漂浮垃圾", lon=104.4700, lat=30.5600)),
    ])
    assert intake.commits.batches == 1 and intake.commits.items == 3  # one transaction
    made = [o for o in (first, near) if not o.merged]
    joined = [o for o in (first, near) if o.merged]
    assert len(made) == 1 and len(joined) == 1
    assert made[0].event.type == "incident.created"
    assert joined[0].event.type == "incident.updated"
    assert joined[0].event.incident.id == made[0].event.incident.id
    assert joined[0].event.incident.report_count == 2
    assert len(services.store.reports(made[0].event.incident.id)) == 2
    assert not far.merged and far.event.incident.id != made[0].event.incident.id


def test_a_batch_with_a_photo_keeps_it_on_the_order_it_joins_and_stores_the_rest(services):
    """A batch with a photo writes its orders before the photo is attached (its own round
    trips on PostgreSQL); a batch without one sends them with their history in one."""
    from dashboard.roles import Principal
    from tests.photo_helpers import jpeg_with_gps

    photo, _ = services.photos.keep(jpeg_with_gps(), Principal(role="grid_worker",
                                                               kind="user"))
    intake = services.intake
    first, near, far = _at_once([
        lambda: intake.handle_raw(_report("路灯不亮")),
        lambda: intake.handle_raw(_report("路灯坏了不亮", lon=104.4510, lat=30.5505,
                                          photo=photo)),
        lambda: intake.handle_raw(_report("井盖缺失", lon=104.4700, lat=30.5600)),
    ])
    assert intake.commits.batches == 1 and intake.commits.items == 3
    made = next(o for o in (first, near) if not o.merged)
    joined = next(o for o in (first, near) if o.merged)
    order = services.store.view(made.event.incident.id)
    assert joined.event.incident.id == order.id and order.report_count == 2
    assert order.photo == photo  # the order shows the first photo among its reports
    assert [r["title"] for r in services.store.reports(order.id)] == [
        made.event.incident.title, "路灯坏了不亮" if joined is near else "路灯不亮"]
    assert not far.merged and _stored(services, "井盖缺失") == 1
    # Then a batch with no photo at all, on top: its orders and rows all stored.
    again = _at_once([lambda i=i: intake.handle_raw(_report(f"占道 {i}", lon=104.40 + i * 0.01))
                      for i in range(3)])
    assert all(o.event is not None and not o.rejected for o in again)
    assert [_stored(services, f"占道 {i}") for i in range(3)] == [1, 1, 1]


@pytest.fixture(params=["incidents", "incident_reports"])
def poison(services: Services, request) -> Iterator[str]:
    """A trigger that refuses one title: a row the database itself turns down, in the work
    orders (the ORM's flush) or in the reports (sent with the history and audit rows in one
    round trip on PostgreSQL, the refusal raised when they are synced)."""
    title, table = "拒收的上报", request.param
    with services.store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(
                "CREATE FUNCTION zn_refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.title = '{title}' THEN RAISE EXCEPTION 'refused by trigger'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text(f"CREATE TRIGGER zn_refuse BEFORE INSERT ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION zn_refuse()"))
        else:
            conn.execute(text(
                f"CREATE TRIGGER zn_refuse BEFORE INSERT ON {table} "
                f"WHEN NEW.title = '{title}' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); "
                "END"))
    yield title


def test_a_row_the_database_refuses_costs_only_its_own_report(services, poison):
    intake = services.intake
    titles = [f"占道经营 {i}" for i in range(4)]
    outcomes = _at_once(
        [lambda t=t, i=i: intake.handle_raw(_report(t, lon=104.40 + i * 0.01))
         for i, t in enumerate(titles)]
        + [lambda: intake.handle_raw(_report(poison, lon=104.47))])
    *good, bad = outcomes
    assert intake.commits.batches == 1 and intake.commits.items == 5
    assert all(o.event is not None and not o.rejected for o in good)
    assert [_stored(services, t) for t in titles] == [1, 1, 1, 1]
    assert bad.event is None and bad.rejected == "store_error"
    assert "refused by trigger" in bad.detail
    assert _stored(services, poison) == 0
    assert services.bus.rejected_counts() == {"store_error": 1}


def test_the_answers_kept_for_repeats_are_bounded_and_an_old_repeat_is_still_stored_once(
        services, monkeypatch):
    """Each kept answer holds its event and work order: the process keeps the last
    KEPT_DELIVERIES (20,000 grew the server by ~85 MB in the hour's soak). A repeat older than
    that is refused by the Redis claim and is still not stored twice."""
    from datasources.flows import intake as intake_module

    # The budget: ~4 KB an answer, at most ~10 MB of them in a server.
    assert intake_module.KEPT_DELIVERIES * 4 * 1024 <= 10 * 2**20
    monkeypatch.setattr(intake_module, "KEPT_DELIVERIES", 5)
    intake = services.intake
    first = _report("垃圾满溢", msg_id="bin-000001")
    answer = intake.handle_raw(first)
    assert intake.handle_raw(first).event.incident.id == answer.event.incident.id  # kept
    for i in range(8):
        stall = _report(f"占道经营 {i}", msg_id=f"stall-{i:06d}")
        assert intake.handle_raw(stall).event is not None
    assert len(intake._deliveries) <= 5  # the answers kept for repeats are bounded
    late = intake.handle_raw(first)  # forgotten here: the claim in Redis refuses it
    assert late.skipped and late.event is None
    assert _stored(services, "垃圾满溢") == 1


def test_two_processes_given_the_same_burst_store_each_report_once(services, settings):
    """The ingest channel gives every process every message: both take the burst into their
    batches, each batch claims its deliveries in Redis at once, and each report is stored
    and answered by exactly one process; a refused report is counted once too."""
    other = Services(settings).open()
    try:
        raws = [_report(f"噪音扰民 {i}", lon=104.40 + i * 0.005, msg_id=f"noise-{i:06d}")
                for i in range(6)]
        raws.append(_report("界外", lon=120.0, lat=20.0, msg_id="far-000001"))
        rejected0 = services.bus.rejected_counts().get("outside_town", 0)
        outcomes = _at_once([lambda r=r, svc=svc: svc.intake.handle_raw(r)
                             for r in raws for svc in (services, other)])
        for i in range(6):
            pair = outcomes[2 * i: 2 * i + 2]
            assert sorted(o.skipped for o in pair) == [False, True], pair
            done = next(o for o in pair if not o.skipped)
            assert done.event is not None and done.event.incident.title == f"噪音扰民 {i}"
            assert _stored(services, f"噪音扰民 {i}") == 1
        far = outcomes[-2:]
        assert sorted(o.skipped for o in far) == [False, True]
        assert next(o for o in far if not o.skipped).rejected == "outside_town"
        assert services.bus.rejected_counts().get("outside_town", 0) == rejected0 + 1
    finally:
        other.close()


def test_a_batch_whose_claims_redis_refuses_still_stores_the_reports_that_need_none(
        services, monkeypatch):
    """A report from the HTTP door needs no claim (it came to this process alone); one from
    the ingest channel does. When Redis fails the claims of a batch holding both, the
    channel's report fails as its claim alone did (Redis redelivers nothing: the source
    retries), and the door's report is stored and answered as before."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from dashboard.messages import IncidentReport

    def refuse(claims):
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(services.bus, "claim_all", refuse)
    door = IncidentReport.model_validate_json(_report("门口的报告", lon=104.41))
    outcomes: list[Any] = [None, None]

    def from_channel() -> None:
        try:
            outcomes[0] = services.intake.handle_raw(_report("频道的报告", msg_id="ch-000001"))
        except Exception as exc:  # noqa: BLE001 - what the caller is told
            outcomes[0] = exc

    def from_door() -> None:
        outcomes[1] = services.intake.handle(door)

    threads = [threading.Thread(target=f) for f in (from_channel, from_door)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert isinstance(outcomes[0], RedisConnectionError)
    assert outcomes[1].event is not None and outcomes[1].event.incident.title == "门口的报告"
    assert _stored(services, "门口的报告") == 1 and _stored(services, "频道的报告") == 0
    assert services.intake.commits.batches == 1  # the two were one batch
