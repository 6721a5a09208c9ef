"""The photos in an S3-compatible store (ZN_PHOTO_S3_URL), against a real local S3 HTTP
server: moto's server (the `test` extra), started on a free port for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datasources.photos.storage import S3Photos, photo_key
from tests.auth_helpers import sign_in
from tests.browser import app_client, free_port
from tests.photo_helpers import jpeg_with_gps

server = pytest.importorskip("moto.server", reason="moto[server] (the test extra) is needed "
                             "for a local S3-compatible server")


@pytest.fixture
def s3_url() -> Iterator[str]:
    """A real S3-compatible HTTP server on 127.0.0.1 (moto), stopped afterwards."""
    port = free_port()
    running = server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    running.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.stop()


def test_the_s3_store_keeps_and_returns_photos(s3_url):
    store = S3Photos(s3_url, "zn-test-photos", "testing", "testing", "us-east-1")
    key = photo_key("cd" * 16, "full")
    assert store.get(key) is None  # the bucket is made on the first write, not before
    store.put(key, b"\xff\xd8jpeg", "image/jpeg")
    assert store.get(key) == b"\xff\xd8jpeg"
    assert store.get(photo_key("cd" * 16, "thumb")) is None


def test_a_report_photo_goes_to_the_bucket_when_the_setting_names_one(settings, s3_url):
    s3 = settings.with_(photo_s3_url=s3_url, photo_s3_bucket="zn-field",
                        photo_s3_access_key="testing", photo_s3_secret_key="testing",
                        photo_s3_region="us-east-1")
    with app_client(s3) as client:
        svc = client.zn
        svc.accounts.add_user("李网格", "grid_worker", "test-password", person_id="W001")
        headers = sign_in(client, svc, "李网格", "grid_worker")
        sent = client.post("/api/v1/field/reports", headers=headers, data={
            "category": "environment", "text": "河道漂浮垃圾", "lon": "104.45", "lat": "30.55"},
            files={"photo": ("p.jpg", jpeg_with_gps(), "image/jpeg")})
        assert sent.status_code == 201, sent.text
        photo = sent.json()["photo"]
        bucket = S3Photos(s3_url, "zn-field", "testing", "testing", "us-east-1")
        assert bucket.get(photo_key(photo, "thumb")) == \
            client.get(f"/api/v1/photos/{photo}/thumb").content
        assert not (settings.photos_path / photo[:2]).exists()  # nothing in the folder
