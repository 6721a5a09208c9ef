"""/school (issue 13: 未到 is shown to the attendant and the school): the escort marks one
child absent and one on board on the phone; the school's staff, on their own phone, read
both by whole name under 未到 and 在车上; staff of another school see none of them."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from dashboard.buses.boarding import Boarding, tally
from dashboard.buses.pupils import POST_SCHOOL, Viewer
from dashboard.buses.school import school_trips
from dashboard.timeutil import LOCAL_TZ, utcnow
from datasources.sql.pupils import PupilStore
from tests.browser import ensure_user, serve, signed_in_browser, wait_until
from tests.pupil_helpers import PLATE, TRIP, tap, trip_running_now


def test_the_school_reads_its_own_children_by_group_and_nobody_elses():
    from dashboard.buses.pupils import PupilRecord, build_manifest
    from tests.pupil_helpers import AM, MUM, ROUTE

    kids = [PupilRecord("P1", "张小明", "QSZX", "七年级1班", "S1", ("R9-AM1",), (MUM,)),
            PupilRecord("P2", "李小红", "QSZX", "七年级2班", "S2", ("R9-AM1",), (MUM,)),
            PupilRecord("P3", "王小刚", "QSZX", "七年级1班", "S2", ("R9-AM1",), (MUM,)),
            PupilRecord("X1", "赵小丽", "OTHER", "三年级1班", "S1", ("R9-AM1",), (MUM,))]
    manifest = build_manifest(ROUTE, AM, kids, [])
    at = utcnow()
    events = [Boarding("P1", "R9-AM1", "2026-12-04", "board", at, PLATE, "S1", seq=1),
              Boarding("P2", "R9-AM1", "2026-12-04", "absent", at, PLATE, "S2", seq=2)]
    found = [(manifest, tally(manifest, events))]
    staff = Viewer("school_staff", frozenset({(POST_SCHOOL, "QSZX")}))
    [row] = school_trips("QSZX", found, staff, {"R9-AM1": PLATE})
    assert row["counts"] == {"expected": 3, "on_board": 1, "alighted": 0, "absent": 1}
    assert [k["name"] for k in row["groups"]["absent"]] == ["李小红"]
    assert [k["name"] for k in row["groups"]["on_board"]] == ["张小明"]
    assert [k["name"] for k in row["groups"]["expected"]] == ["王小刚"]
    assert all(k["id"] != "X1" for g in row["groups"].values() for k in g)
    # Another school's staff reading this school: masked names (pupils.name_access).
    other = Viewer("school_staff", frozenset({(POST_SCHOOL, "OTHER")}))
    [masked] = school_trips("QSZX", found, other, {})
    assert masked["groups"]["absent"][0]["name"] == "李*红"
    assert school_trips("NONE", found, staff, {}) == []
    # Once the trip's window closed, a child still "not on yet" never rode: the row says so.
    assert not row["over"]
    assert school_trips("QSZX", found, staff, {}, frozenset({"R9-AM1"}))[0]["over"]


def test_journey_the_escort_marks_absent_and_the_school_sees_it(settings):
    trip_running_now(settings.database_url)
    escort = ensure_user(settings, "escort", "照管员戊")
    teacher = ensure_user(settings, "school_staff", "教务处刘")
    stranger = ensure_user(settings, "school_staff", "外校老师")
    with serve(settings) as live:
        store = PupilStore(live.services.store.engine)
        accounts = live.services.accounts
        store.add_post(accounts.user(escort).id, "trip", TRIP)
        store.add_post(accounts.user(escort).id, "vehicle", PLATE)
        manifest = store.manifest(TRIP)
        kids = [p for s in manifest.stops for p in s.pupils]
        school = kids[0].school
        store.add_post(accounts.user(teacher).id, "school", school)
        ours = [p for p in kids if p.school == school][:2]
        other_school = next((code for code, _, _ in store.schools() if code != school), None)
        if other_school:
            store.add_post(accounts.user(stranger).id, "school", other_school)
        with signed_in_browser(settings, live.base, "escort", "/escort", escort,
                               (390, 844)) as phone, \
                signed_in_browser(settings, live.base, "school_staff", "/school", teacher,
                                  (390, 844)) as gate:
            wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, ".esc-pupil"),
                       what="the manifest on the escort's phone")
            tap(phone, ours[0].id, "board")
            tap(phone, ours[1].id, "absent")
            day = utcnow().astimezone(LOCAL_TZ).date().isoformat()
            wait_until(lambda: len(live.services.boarding.events.events(TRIP, day)) == 2,
                       what="two taps stored")

            def group_names(g: str) -> list[str]:
                return [e.text.split("\n")[0] for e in gate.find_elements(
                    By.CSS_SELECTOR, f'.sch-card[data-trip="{TRIP}"] .sch-kid-{g} .sch-name')]

            gate.get(f"{live.base}/school")
            absent = wait_until(lambda: group_names("absent"), what="未到 on /school")
            assert absent == [ours[1].name]  # the whole name: the school's own child
            assert ours[0].name in group_names("on_board")
            card = gate.find_element(By.CSS_SELECTOR, f'.sch-card[data-trip="{TRIP}"]').text
            assert "未到" in card and "在车" in card
            reads = live.services.audit.search(action="pupils.manifest")
            assert any("/school" in r["detail"] and r["actor"] == teacher for r in reads)
        if other_school:
            with signed_in_browser(settings, live.base, "school_staff", "/school",
                                   stranger, (390, 844)) as other:
                wait_until(lambda: other.find_elements(By.CSS_SELECTOR, ".sch-body *"),
                           what="the other school's page")
                text = other.find_element(By.CSS_SELECTOR, ".sch-body").text
                assert ours[1].name not in text and ours[0].name not in text
