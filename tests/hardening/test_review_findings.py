"""The low findings of the outside security review, one regression test each.

Medium findings have their own files: test_deadlines.py and test_gunicorn.py (slow
upstreams), test_media_policy_table.py (media without a scan), test_settings_ranges.py
(settings), test_ownership.py (ownership), test_reveal.py (a reveal outliving the
permission). docs/hardening.md lists them all.
"""

import json
import logging
import os
import socket

import pytest
from django.urls import reverse

from civitrack.logging import redact
from tracking import hashing, services
from tracking.errors import InvalidInput
from tracking.models import ApiToken, Asset

pytestmark = pytest.mark.django_db

LONG_LABEL_URL = "https://" + "a" * 64 + ".example/img.png"


def api(client, user, name, body, **extra):
    token = ApiToken.issue(user, name="review")[1]
    return client.post(
        reverse("api:tool", args=[name]),
        data=json.dumps(body) if not isinstance(body, bytes) else body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **extra,
    )


# --- a host label longer than 63 characters ------------------------------------------


def test_a_host_label_over_63_characters_is_a_400_for_calculate_sha256(client, alice):
    response = api(client, alice, "calculate_sha256", {"path": LONG_LABEL_URL})

    assert response.status_code == 400
    assert "host name is not valid" in response.json()["error"]["message"]


def test_create_asset_stores_a_long_label_url_with_a_null_sha256(client, alice):
    body = {"asset_url": LONG_LABEL_URL, "asset_type": "image", "asset_source": "upload"}

    response = api(client, alice, "create_asset", body)

    assert response.status_code == 201, response.content
    assert response.json()["sha256sum"] is None
    assert Asset.objects.get().sha256sum is None


# --- a path swapped between a folder and a symlink while it is resolved --------------


def test_a_path_that_changes_while_resolved_is_a_400(tmp_path, settings, monkeypatch):
    settings.HASH_ALLOWED_ROOTS = [str(tmp_path)]
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"pixels")
    os.symlink(tmp_path / "real", tmp_path / "swap")
    real_readlink = os.readlink

    def swapped(path, *args, **kwargs):
        # realpath saw a symlink at lstat; by readlink it is gone (swapped for a folder).
        if str(path).endswith("swap"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", swapped)

    with pytest.raises(InvalidInput, match="changed while it was being resolved"):
        hashing.hash_path(str(tmp_path / "swap" / "a.png"))
    assert hashing.can_hash(str(tmp_path / "swap" / "a.png")) is False


# --- rare IPv6 forms judged by the IPv4 address they embed ---------------------------


@pytest.mark.parametrize(
    "address",
    [
        "::169.254.169.254",  # IPv4-compatible
        "::ffff:0:169.254.169.254",  # SIIT
        "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64 (RFC 6052 /48 layout)
        "64:ff9b:1::a9fe:a9fe",
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_ipv6_forms_embedding_the_metadata_address_are_always_refused(address, allow_private):
    problem = hashing.address_problem(address, allow_private=allow_private)
    assert problem and "link-local" in problem


@pytest.mark.parametrize(
    "address", ["fec0::1", "::10.0.0.1", "::ffff:0:192.168.1.1", "64:ff9b:1:a00:1::"]
)
def test_site_local_and_embedded_private_ipv6_are_refused(address):
    problem = hashing.address_problem(address, allow_private=False)
    assert problem and "(set HASH_ALLOW_PRIVATE_URLS=true to allow)" in problem


def test_a_host_resolving_to_site_local_ipv6_is_not_fetched(settings, monkeypatch):
    settings.HASH_ALLOW_PRIVATE_URLS = False

    def resolve(host, port):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fec0::1", port, 0, 0))]

    monkeypatch.setattr(hashing, "resolve", resolve)
    monkeypatch.setattr(hashing, "open_socket", pytest.fail)

    with pytest.raises(InvalidInput, match="fec0::1, a private address"):
        hashing.hash_url("http://intranet.test/a.png")


# --- credentials in query strings ----------------------------------------------------

SECRET_URL = (
    "http://127.0.0.1:9/a.png?access_token=AT-secret&password=PW-secret"
    "&client_secret=CS-secret&key=K-secret&sig=SG-secret&signature=SN-secret"
    "&X-Amz-Signature=AMZ-secret&X-Amz-Credential=AMZC-secret&token=T-secret&size=large"
)


def test_credentials_in_query_strings_are_redacted_in_errors_and_logs(client, alice, caplog):
    with caplog.at_level(logging.DEBUG):
        response = api(client, alice, "calculate_sha256", {"path": SECRET_URL})
        services.create_asset(
            user=alice, asset_url=SECRET_URL, asset_type="image", asset_source="upload"
        )

    message = response.json()["error"]["message"]
    assert response.status_code == 502 and "size=large" in message
    handler_output = [
        logging.Formatter().format(r) for r in caplog.records if "a.png" in r.getMessage()
    ]
    assert handler_output  # create_asset logged the failed hash
    filtered = []
    for record in caplog.records:
        copy = logging.makeLogRecord(record.__dict__)
        from civitrack.logging import RedactSecretsFilter

        RedactSecretsFilter().filter(copy)
        filtered.append(copy.getMessage())
    for text in [message, *filtered]:
        assert "-secret" not in text, text


def test_one_redaction_handles_userinfo_and_every_credential_parameter():
    text = redact(
        "GET https://user:pa55@cdn.test/x?X-Goog-Signature=abc&Policy=p&Key-Pair-Id=k"
        "&api_key=z&width=5 failed"
    )
    assert "pa55" not in text and "user:" not in text
    for value in ("=abc", "=p&", "=k&", "=z&"):
        assert value not in text
    assert "width=5" in text and "https://[redacted]@cdn.test/x" in text


# --- a chunked request body ----------------------------------------------------------


def test_a_chunked_body_without_content_length_is_answered_411(client, alice):
    token = ApiToken.issue(alice, name="review")[1]
    response = client.generic(
        "POST",
        reverse("api:tool", args=["create_prompt"]),
        data=b"",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"


# --- a NUL byte in a staff URL, an out-of-range admin date filter ----------------------


@pytest.mark.parametrize(
    "path",
    [
        "/orchestration/jobs/%00/",
        "/orchestration/workflows/a%00b/",
        "/orchestration/blobs/x%00.png/media",
    ],
)
def test_a_nul_byte_in_a_staff_url_is_a_404(client, staff, path):
    client.force_login(staff)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=99999999999999999999",
        "created_at__year=2026&created_at__month=99999999999999999999",
        "created_at__year=-5",
    ],
)
def test_an_out_of_range_admin_date_filter_is_a_400(client, superuser, query):
    client.force_login(superuser)
    for name in ("admin:tracking_post_changelist", "admin:tracking_asset_changelist"):
        response = client.get(reverse(name) + "?" + query)
        assert response.status_code == 400, (name, response.status_code)


def test_an_in_range_admin_date_filter_still_works(client, superuser):
    client.force_login(superuser)
    url = reverse("admin:tracking_post_changelist") + "?created_at__year=2026&created_at__month=1"
    assert client.get(url).status_code == 200


# --- the review CSV ---------------------------------------------------------------------


def test_every_text_cell_of_the_review_csv_is_neutralised(client, django_user_model):
    from orchestration.models import Job
    from tests.orchestration.conftest import make_reviewer

    reviewer = make_reviewer(django_user_model, "-rita")
    plus = make_reviewer(django_user_model, "+ravi")
    at = make_reviewer(django_user_model, "@ann")
    job = Job.objects.create(civitai_id="=HYPERLINK(1)")
    job.decide(reviewer, "escalated", "=cmd|' /C calc'!A0")
    job.decide(plus, "escalated", "look")
    job.decide(at, "cleared")
    client.force_login(reviewer)

    response = client.get(reverse("orchestration:review_export"))

    rows = [line.split(",") for line in response.content.decode().splitlines()[1:]]
    cells = [cell for row in rows for cell in row]
    assert {"'-rita", "'+ravi", "'@ann", "'=HYPERLINK(1)"} <= set(cells)
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)
