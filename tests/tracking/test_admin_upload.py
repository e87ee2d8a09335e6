"""Uploading an asset's file in the admin (issue 14 item 5b): hashed while it arrives,
refused early, duplicates caught before anything is stored, stored through Django's
storage API (filesystem, and S3 against a real S3-compatible server on loopback)."""

import hashlib
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.urls import reverse

from tests.fakes import s3 as fake_s3
from tests.tracking.media_samples import encode, picture, png
from tracking.models import Asset
from tracking.uploads import HashingUploadHandler

pytestmark = pytest.mark.django_db
UPLOAD_URL = "/admin/tracking/asset/upload/"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def upload(client, data: bytes, name: str = "picture.png", **extra):
    return client.post(
        UPLOAD_URL,
        {"file": SimpleUploadedFile(name, data), "asset_source": "generated", **extra},
    )


def test_it_stores_and_records_an_uploaded_picture(client, superuser, media_root):
    data = png(1)
    client.force_login(superuser)
    response = upload(client, data)
    asset = Asset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracking_asset_change", args=[asset.pk])
    sha = hashlib.sha256(data).hexdigest()
    assert (asset.sha256sum, asset.asset_type, asset.asset_source) == (sha, "image", "generated")
    assert asset.asset_url == f"http://testserver/media/assets/{sha[:2]}/{sha}.png"
    assert asset.created_by == superuser
    assert asset.phash is not None  # the file readers ran on the uploaded bytes
    assert asset.metadata == {"uploaded_file_name": "picture.png", "size_bytes": len(data)}
    assert stored_files(media_root) == [f"assets/{sha[:2]}/{sha}.png"]
    assert (media_root / "assets" / sha[:2] / f"{sha}.png").read_bytes() == data
    # the stored file is served to staff, and the asset page previews it
    served = client.get(f"/media/assets/{sha[:2]}/{sha}.png")
    assert b"".join(served.streaming_content) == data
    page = client.get(response["Location"]).content.decode()
    assert f'<img src="{asset.asset_url}"' in page


def test_the_same_bytes_again_are_refused_naming_the_asset_and_nothing_is_stored(
    client, superuser, media_root
):
    data = png(2)
    client.force_login(superuser)
    upload(client, data)
    first = Asset.objects.get()
    before = stored_files(media_root)
    response = upload(client, data, name="copy.png")
    html = response.content.decode()
    assert response.status_code == 409
    assert "This file is already recorded:" in html
    link = reverse("admin:tracking_asset_change", args=[first.pk])
    assert re.search(rf'href="{link}" class="duplicate-of"', html)
    assert Asset.objects.count() == 1
    assert stored_files(media_root) == before


def test_a_recompressed_copy_is_recorded_with_a_near_duplicate_warning(
    client, superuser, media_root
):
    image = picture(3)
    client.force_login(superuser)
    upload(client, encode(image, "PNG"))
    first = Asset.objects.get()
    response = upload(client, encode(image.convert("RGB"), "JPEG", quality=70), name="copy.jpg")
    assert response.status_code == 302
    copy = Asset.objects.exclude(pk=first.pk).get()
    assert copy.asset_url.endswith(".jpg")
    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(warnings) == 1 and "looks like 1 asset recorded before" in warnings[0]
    assert reverse("admin:tracking_asset_change", args=[first.pk]) in warnings[0]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"just some text, not a picture at all" * 4, "not an image or video civitrack recognises"),
        (b"", "The file is empty."),
    ],
)
def test_it_refuses_what_is_not_media(client, superuser, media_root, data, says):
    client.force_login(superuser)
    response = upload(client, data, name="notes.png")
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []


def test_it_refuses_a_file_larger_than_hash_max_bytes(client, superuser, media_root, settings):
    data = png(4)
    settings.HASH_MAX_BYTES = len(data) - 1
    client.force_login(superuser)
    response = upload(client, data)
    assert response.status_code == 400
    assert "larger than HASH_MAX_BYTES" in response.content.decode()
    assert not Asset.objects.exists() and stored_files(media_root) == []


def test_a_body_declared_too_large_is_refused_before_it_is_read(client, superuser, settings):
    settings.HASH_MAX_BYTES = 10
    client.force_login(superuser)
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"0" * 70_000)
    assert response.status_code == 413
    assert "larger than HASH_MAX_BYTES (10 bytes)" in response.content.decode()


def test_the_handler_stops_at_the_first_chunk_past_the_limit(settings):
    """Refused early: the chunk that passes the limit is neither hashed nor written."""
    settings.HASH_MAX_BYTES = 100
    handler = HashingUploadHandler()
    handler.new_file("file", "big.png", "image/png", None)
    head = b"\x89PNG\r\n\x1a\n" + b"\0" * 56
    assert handler.receive_data_chunk(head, 0) is None
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"\0" * 64, 64)
    assert handler.error.startswith("The file is larger than HASH_MAX_BYTES")
    assert handler.file.closed


def test_the_handler_refuses_unknown_bytes_at_the_first_chunk(settings):
    handler = HashingUploadHandler()
    handler.new_file("file", "x.png", "image/png", None)
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"%PDF-1.7" + b" " * 100, 0)
    assert "not an image or video" in handler.error


def test_the_upload_needs_the_add_permission(client, staff, django_user_model, media_root):
    assert "/admin/login/" in client.get(UPLOAD_URL)["Location"]
    viewer = django_user_model.objects.create_user("viewer", "", "pw-viewer-1", is_staff=True)
    client.force_login(viewer)
    assert client.get(UPLOAD_URL).status_code == 403
    assert upload(client, png(5)).status_code == 403
    assert not Asset.objects.exists() and stored_files(media_root) == []
    client.force_login(staff)
    assert client.get(UPLOAD_URL).status_code == 200


def test_the_upload_checks_csrf(superuser, media_root):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert upload(client, png(6)).status_code == 403
    assert not Asset.objects.exists()


def test_stored_files_are_for_staff_only(client, django_user_model, media_root):
    path = media_root / "assets" / "ab" / "x.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    assert "/admin/login/" in client.get("/media/assets/ab/x.png")["Location"]
    member = django_user_model.objects.create_user("member", "", "pw-member-1")
    client.force_login(member)
    assert client.get("/media/assets/ab/x.png").status_code == 403
    assert client.get("/media/../settings.py").status_code in (403, 404)


# -- S3 ---------------------------------------------------------------------------


@pytest.fixture
def s3_storage(settings):
    server = fake_s3.start()
    try:
        server.client().create_bucket(Bucket="civitrack-assets")
        settings.STORAGES = settings.STORAGES | {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": server.storage_options("civitrack-assets"),
            }
        }
        yield server
    finally:
        server.stop()


def test_it_stores_in_an_s3_compatible_bucket(client, superuser, s3_storage, media_root):
    data = png(7)
    sha = hashlib.sha256(data).hexdigest()
    client.force_login(superuser)
    assert upload(client, data).status_code == 302
    asset = Asset.objects.get()
    key = f"assets/{sha[:2]}/{sha}.png"
    assert asset.asset_url == f"{s3_storage.endpoint_url}/civitrack-assets/{key}"
    body = s3_storage.client().get_object(Bucket="civitrack-assets", Key=key)["Body"].read()
    assert body == data
    assert stored_files(media_root) == []  # nothing on the local disk
    # a duplicate writes nothing to the bucket either
    assert upload(client, data, name="again.png").status_code == 409
    listed = s3_storage.client().list_objects_v2(Bucket="civitrack-assets")["Contents"]
    assert [o["Key"] for o in listed] == [key]
