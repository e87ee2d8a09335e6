import hashlib

import pytest
from django.test import override_settings

from tests.conftest import table_counts
from tests.fakes.media_server import serving
from tracking import services
from tracking.errors import InvalidInput, UpstreamFailure

pytestmark = pytest.mark.django_db


def test_it_hashes_a_file_under_an_allowed_root(alice, tmp_path):
    data = b"\x00\x01 video bytes " * 5000
    (tmp_path / "video.mp4").write_bytes(data)
    before = table_counts()
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        result = services.calculate_sha256(user=alice, path=str(tmp_path / "video.mp4"))
    assert result == {"sha256sum": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    assert table_counts() == before


def test_it_hashes_a_url_served_over_http(alice):
    data = b"image bytes from the web"
    with serving({"/images/12345.jpg": data}) as server:
        result = services.calculate_sha256(user=alice, path=server.url("/images/12345.jpg"))
    assert result == {"sha256sum": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}


def test_it_refuses_a_file_outside_the_allowed_roots(alice, tmp_path):
    (tmp_path / "x").write_bytes(b"x")
    with (
        override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path / "elsewhere")]),
        pytest.raises(InvalidInput) as exc,
    ):
        services.calculate_sha256(user=alice, path=str(tmp_path / "x"))
    assert "HASH_ALLOWED_ROOTS" in exc.value.message


def test_it_reports_a_failed_download_as_an_upstream_failure(alice):
    with serving({}) as server, pytest.raises(UpstreamFailure) as exc:
        services.calculate_sha256(user=alice, path=server.url("/missing.jpg"))
    assert exc.value.status == 502


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "path is required"),
        ({"path": 5}, "path must be a string"),
        (
            {"path": "s3://bucket/key"},
            "only http and https URLs (or files under HASH_ALLOWED_ROOTS)",
        ),
        ({"path": "x", "url": "y"}, "Unknown parameter for calculate_sha256: url"),
    ],
)
def test_it_refuses_bad_input(alice, params, message):
    with pytest.raises(InvalidInput) as exc:
        services.calculate_sha256(user=alice, **params)
    assert message in exc.value.message
