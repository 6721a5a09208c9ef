"""随手拍's photos (issue 15): checked by content, kept without EXIF (GPS included) and
upright, with a thumbnail; a grid worker's report with a photo over HTTP; the photo served
only to those who may see it; bad uploads refused in the requester's language, counted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from dashboard.incidents.errors import BadInput
from datasources.photos.images import THUMB_PX, PhotoLimits, prepare
from datasources.photos.storage import LocalPhotos, photo_key
from tests.auth_helpers import kiosk_sign_in, sign_in
from tests.browser import app_client, wait_until
from tests.photo_helpers import GPS_IFD, gif, jpeg_with_gps, png

WORKER, OTHER = "李网格", "赵网格"
PEOPLE = {WORKER: "W001", OTHER: "W002"}
# Inside the demo town (a level-3 grid of 青石镇).
LON, LAT = 104.45, 30.55


# ------------------------------------------------------------------ the checks
def test_a_phone_jpeg_is_kept_upright_without_any_exif_or_gps():
    sent = jpeg_with_gps((800, 600), orientation=6)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)  # the fix is in it
    kept = prepare(sent, PhotoLimits())
    for data in (kept.full, kept.thumb):
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}  # no orientation, camera or GPS left
        assert b"Exif" not in data[:4096] and b"ZhongnaoTestCam" not in data
    full = Image.open(io.BytesIO(kept.full))
    # Orientation 6 applied: the 800x600 picture stands 600x800, red on top, blue below.
    assert full.size == (600, 800) == (kept.width, kept.height)
    top, bottom = full.getpixel((300, 100)), full.getpixel((300, 700))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    assert max(Image.open(io.BytesIO(kept.thumb)).size) == THUMB_PX
    assert kept.source_format == "JPEG"


def test_a_png_is_taken_by_its_content_and_kept_as_jpeg():
    kept = prepare(png(), PhotoLimits())
    assert kept.source_format == "PNG"
    assert Image.open(io.BytesIO(kept.full)).format == "JPEG"


@pytest.mark.parametrize(("data", "code"), [
    (b"<html><script>alert(1)</script></html>", "photo_not_image"),  # named x.png
    (jpeg_with_gps()[:2000], "photo_not_image"),  # cut off on the way
    (gif(), "photo_type"),
    (b"", "photo_empty"),
])
def test_what_is_not_a_photo_of_ours_is_refused_with_a_code(data, code):
    with pytest.raises(BadInput) as refused:
        prepare(data, PhotoLimits())
    assert refused.value.code == code


def test_too_many_bytes_or_pixels_are_refused():
    with pytest.raises(BadInput) as big:
        prepare(jpeg_with_gps(), PhotoLimits(max_bytes=1000))
    assert big.value.code == "photo_too_large"
    with pytest.raises(BadInput) as wide:
        prepare(png((2000, 1000), alpha=False), PhotoLimits(max_pixels=1_000_000))
    assert wide.value.code == "photo_dimensions"


def test_the_local_store_keeps_bytes_under_our_keys_only(tmp_path):
    store = LocalPhotos(tmp_path)
    key = photo_key("ab" * 16, "thumb")
    assert store.get(key) is None
    store.put(key, b"jpeg-bytes", "image/jpeg")
    assert store.get(key) == b"jpeg-bytes"
    assert (tmp_path / "ab" / ("ab" * 16) / "thumb.jpg").read_bytes() == b"jpeg-bytes"
    for bad in ("../../etc/passwd", "ab" * 16 + "/../x.jpg", "short/full.jpg"):
        with pytest.raises(ValueError):
            store.get(bad)


# ------------------------------------------------------------------ the door
def _worker(client, name: str = WORKER) -> dict[str, str]:
    svc = client.zn
    if svc.accounts.user(name) is None:
        svc.accounts.add_user(name, "grid_worker", "test-password", person_id=PEOPLE[name])
    return sign_in(client, svc, name, "grid_worker")


def _report(client, headers, photo: bytes | None = None, name: str = "photo.jpg",
            lang: str = "zh-CN", **fields):
    data = {"category": "city_management", "text": "路灯倒伏，压住人行道", "lon": str(LON),
            "lat": str(LAT), **fields}
    files = {"photo": (name, photo, "image/jpeg")} if photo is not None else None
    return client.post("/api/v1/field/reports", data=data, files=files,
                       headers={"Accept-Language": lang, **headers})


def test_a_grid_worker_reports_with_a_photo_that_only_the_right_people_see(client):
    svc = client.zn
    headers = _worker(client)
    sent = _report(client, headers, jpeg_with_gps(), key="fld-test-0001")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    photo = body["photo"]
    assert len(photo) == 32 and body["ref"]
    order = svc.store.incident(body["id"])
    assert order["source"] == "grid_worker" and order["photo"] == photo
    assert order["reporter_name"] == WORKER and order["title"] == "路灯倒伏，压住人行道"
    assert (order["lon"], order["lat"]) == (LON, LAT)  # the report keeps its position
    # The live state the wall and the console draw from knows the work order's photo.
    wait_until(lambda: body["id"] in svc.hub.state.incidents, 10, "the work order live")
    assert svc.hub.state.incidents[body["id"]].photo == photo
    # The sender reads it back, full and thumbnail, as JPEG without EXIF.
    thumb = client.get(f"/api/v1/photos/{photo}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert "private" in thumb.headers["cache-control"]
    assert dict(Image.open(io.BytesIO(thumb.content)).getexif()) == {}
    assert client.get(f"/api/v1/photos/{photo}/full").status_code == 200
    # A retry of the same key (the answer was lost) is the same work order, no new photo.
    again = _report(client, headers, jpeg_with_gps(), key="fld-test-0001")
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    from sqlalchemy import func, select

    from datasources.sql import models as m
    with svc.store.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Photo)) == 1
    # Another grid worker hears "no such photo"; so does a guess.
    _worker(client, OTHER)
    refused = client.get(f"/api/v1/photos/{photo}/thumb", headers={"Accept-Language": "en"})
    assert refused.status_code == 404 and refused.json()["message"] == "There is no such photo"
    # The officer and the wall see it.
    sign_in(client, svc, "值班员王", "officer")
    assert client.get(f"/api/v1/photos/{photo}/thumb").content == thumb.content
    assert client.get(f"/api/v1/photos/{'0' * 32}/thumb").status_code == 404
    kiosk_sign_in(client, svc)
    assert client.get(f"/api/v1/photos/{photo}/full").status_code == 200
    client.cookies.clear()  # nobody: the gate refuses before any look-up
    assert client.get(f"/api/v1/photos/{photo}/thumb").status_code == 401


@pytest.mark.parametrize(("photo", "name", "status", "zh", "en"), [
    (b"GIF89a not really", "evil.png", 415, "文件不是可识别的图片", "The file is not a picture"),
    (b"%PDF-1.4 a document", "scan.jpg", 415, "文件不是可识别的图片", "The file is not a picture"),
])
def test_a_file_that_is_not_a_picture_is_refused_in_the_asker_language(client, photo, name,
                                                                          status, zh, en):
    headers = _worker(client)
    before = client.zn.bus.rejected_counts().get("photo_not_image", 0)
    zh_answer = _report(client, headers, photo, name=name)
    assert zh_answer.status_code == status and zh_answer.json()["message"] == zh
    en_answer = _report(client, headers, photo, name=name, lang="en")
    assert en_answer.json() == {"error": "photo_not_image", "message": en}
    assert client.zn.bus.rejected_counts()["photo_not_image"] == before + 2
    assert client.zn.store.queue() == []  # no work order without its checked photo


def test_a_photo_over_the_limit_is_refused_with_413(settings):
    small = settings.with_(photo_max_bytes=1024 * 1024)
    with app_client(small) as client:
        headers = _worker(client)
        # Over by a little (read, then refused) and by a lot (refused on its length).
        for extra in (10_000, 600_000):
            photo = jpeg_with_gps() + b"\0" * (1024 * 1024 + extra)
            answer = _report(client, headers, photo)
            assert answer.status_code == 413
            assert answer.json() == {"error": "photo_too_large", "message": "照片超过 1 MB"}
        assert client.zn.bus.rejected_counts()["photo_too_large"] == 2
        assert client.zn.store.queue() == []


def test_a_report_needs_a_position_in_the_town_and_a_known_category(client):
    headers = _worker(client)
    no_place = _report(client, headers, None, lon="", lat="")
    assert no_place.status_code == 400 and no_place.json()["error"] == "no_position"
    elsewhere = _report(client, headers, None, lon="116.39", lat="39.9", lang="en")
    assert elsewhere.status_code == 422 and "outside every grid" in elsewhere.json()["message"]
    unknown = _report(client, headers, None, category="weather")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid"
    markup = _report(client, headers, None, text="<script>x</script>")
    assert markup.status_code == 400 and "HTML" in markup.json()["message"]
    # Without a photo a report is still a report.
    plain = _report(client, headers, None)
    assert plain.status_code == 201 and plain.json()["photo"] is None


def test_only_grid_workers_and_admins_report_through_the_field_door(client):
    sign_in(client, client.zn, "值班员王", "officer")
    headers = {"X-CSRFToken": client.cookies.get("_csrf_token")}
    assert _report(client, headers, None).status_code == 403


def test_the_documented_example_works(client):
    """docs/field-photos.md's curl example, sent as it is written (the photo is ours)."""
    import re
    import shlex
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "field-photos.md").read_text(
        encoding="utf-8")
    command = re.search(r"```sh\n(curl .*?)\n```", doc, re.S).group(1).replace("\\\n", " ")
    words = shlex.split(command)
    fields = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-F")
    assert fields.pop("photo") == "@scene.jpg"
    path = words[-1].removeprefix("http://127.0.0.1:8050")
    headers = _worker(client)
    sent = client.post(path, data=fields, headers={"Accept-Language": "zh", **headers},
                       files={"photo": ("scene.jpg", jpeg_with_gps(), "image/jpeg")})
    assert sent.status_code == 201
    body = sent.json()
    shown = json_block(doc)
    assert set(body) == set(shown) and len(body["photo"]) == 32
    assert sent.headers["location"] == f"/api/v1/incidents/{body['id']}"
    again = client.post(path, data=fields, headers={"Accept-Language": "zh", **headers},
                        files={"photo": ("scene.jpg", jpeg_with_gps(), "image/jpeg")})
    assert again.status_code == 201 and again.json()["id"] == body["id"]


def json_block(doc: str) -> dict:
    """The first JSON example of the doc."""
    import json
    import re

    return json.loads(re.search(r"```json\n(.*?)\n```", doc, re.S).group(1))


def test_a_twelve_megapixel_phone_photo_is_kept_at_1920_px_upright():
    kept = prepare(jpeg_with_gps((4000, 3000), orientation=6), PhotoLimits())
    assert (kept.width, kept.height) == (1440, 1920)
    assert Image.open(io.BytesIO(kept.full)).size == (1440, 1920)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"content": b'{"category": "water"}', "headers": {"Content-Type": "application/json"}},
     "no_position"),
    # A broken multipart body reads as an empty form: nothing says where.
    ({"content": b"--x\r\nbroken",
      "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, "no_position"),
    ({"data": {"category": "water", "lon": "nan", "lat": "30.55"}}, "bad_position"),
    ({"data": {"category": "water", "lon": "1e309", "lat": "30.55"}}, "bad_position"),
    ({"data": {"category": "water", "lon": "104.45", "lat": "95"}}, "invalid"),
    ({"data": {"category": "water", "lon": "104.45", "lat": "30.55", "key": "a b<c>"}},
     "bad_key"),
    ({"data": {"category": "water", "lon": "104.45", "lat": "30.55", "text": "x" * 3000}},
     "invalid"),
])
def test_hostile_forms_get_a_clear_4xx_never_a_500(client, kwargs, code):
    headers = _worker(client)
    answer = client.post("/api/v1/field/reports",
                         **{**kwargs, "headers": {**headers, **kwargs.get("headers", {})}})
    assert 400 <= answer.status_code < 500 and answer.json()["error"] == code, answer.text
    assert answer.json()["message"]
