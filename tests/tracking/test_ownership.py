"""The ownership rule (tracking.permissions) on every write tool, as a matrix.

Every write to an existing record: the creator, staff holding the model's change
permission, and superusers may; another member and staff without the permission get
403 and nothing is written. Checked through the service layer and over HTTP; the
commands and admin actions call the same functions.
"""

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, POST_ID
from tracking import services
from tracking.civitai_import import import_civitai_post, sync_post_asset_stats
from tracking.errors import Forbidden
from tracking.models import ApiToken, Asset, Post

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "member", "staff without permission", "staff with permission", "superuser")
ALLOWED = {"owner", "staff with permission", "superuser"}
TOOLS = ("update_asset", "update_post", "import_civitai_post", "sync_post_asset_stats")


@pytest.fixture
def people(django_user_model, alice):
    member = django_user_model.objects.create_user("bob", password="pw-bob-1")
    plain_staff = django_user_model.objects.create_user("sam", password="pw-sam-1", is_staff=True)
    plain_staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="tracking", codename__startswith="view_")
    )
    editor = django_user_model.objects.create_user("eve", password="pw-eve-1", is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(
            codename__in=["change_post", "change_asset", "change_prompt"],
            content_type__app_label="tracking",
        )
    )
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    return dict(zip(PERSONAS, (alice, member, plain_staff, editor, root), strict=True))


@pytest.fixture
def recorded(fake_site, alice):
    """Alice's imported post (the fake site's) with its assets."""
    import_civitai_post(post=str(POST_ID), user=alice)
    post = Post.objects.get(civitai_id=POST_ID)
    return post, Asset.objects.get(civitai_id=IMAGE_ID)


def arguments(tool: str, post: Post, asset: Asset) -> dict:
    return {
        "update_asset": {"asset_id": str(asset.pk), "metadata": {"note": "changed"}},
        "update_post": {"post_id": str(post.pk), "title": "changed"},
        "import_civitai_post": {"post": str(POST_ID)},
        "sync_post_asset_stats": {"post_id": str(post.pk)},
    }[tool]


def service(tool: str):
    return {
        "update_asset": services.update_asset,
        "update_post": services.update_post,
        "import_civitai_post": import_civitai_post,
        "sync_post_asset_stats": sync_post_asset_stats,
    }[tool]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("tool", TOOLS)
def test_the_ownership_rule_through_the_service_layer(tool, persona, people, recorded):
    post, asset = recorded
    call = service(tool)
    before = table_counts()
    if persona in ALLOWED:
        call(user=people[persona], **arguments(tool, post, asset))
        return
    with pytest.raises(Forbidden) as exc:
        call(user=people[persona], **arguments(tool, post, asset))
    assert exc.value.status == 403
    assert "creator or staff with permission to change" in exc.value.message
    assert "(created by alice)" in exc.value.message
    assert table_counts() == before


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("tool", TOOLS)
def test_the_ownership_rule_over_http(client, tool, persona, people, recorded):
    post, asset = recorded
    token = ApiToken.issue(people[persona], name="matrix")[1]
    before = table_counts()
    response = client.post(
        reverse("api:tool", args=[tool]),
        data=json.dumps(arguments(tool, post, asset)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    if persona in ALLOWED:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "forbidden"
    assert table_counts() == {**before, "tracking_apitoken": before["tracking_apitoken"]}
    post.refresh_from_db()
    asset.refresh_from_db()
    assert post.title != "changed" and "note" not in asset.metadata


def test_a_reimport_may_not_rewrite_another_users_asset(fake_site, people, recorded):
    post, _asset = recorded
    Post.objects.filter(pk=post.pk).update(created_by=people["member"])
    before = table_counts()

    with pytest.raises(Forbidden) as exc:
        import_civitai_post(post=str(POST_ID), user=people["member"])

    assert "asset_id" in exc.value.message
    assert table_counts() == before


def test_no_user_is_refused_rather_than_trusted(recorded):
    post, asset = recorded
    with pytest.raises(Forbidden):
        services.update_asset(user=None, asset_id=str(asset.pk), metadata={})
    with pytest.raises(Forbidden):
        sync_post_asset_stats(post_id=str(post.pk), user=None)


def test_the_commands_follow_the_rule_for_their_user(people, recorded):
    post, _asset = recorded
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "sync_post_asset_stats", str(post.pk), "--user", "bob", "--no-progress", stderr=err
        )
    assert "creator or staff" in err.getvalue()
    with pytest.raises(CommandError, match="creator or staff"):
        call_command("import_civitai_post", str(POST_ID), "--user", "bob", stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "sync_post_asset_stats", str(post.pk), "--user", "alice", "--no-progress", stdout=out
    )
    assert "1 of 1 posts synced" in out.getvalue()


def test_the_admin_actions_call_the_same_rule(
    client, people, recorded, django_capture_on_commit_callbacks
):
    post, asset = recorded
    client.force_login(people["staff with permission"])
    with django_capture_on_commit_callbacks(execute=True):  # the action enqueues a task
        response = client.post(
            reverse("admin:tracking_post_changelist"),
            {"action": "sync_stats_action", "_selected_action": [post.pk]},
        )
    assert response.status_code == 302
    assert asset.stats_snapshots.count() == 1
    Asset.objects.filter(pk=asset.pk).update(sha256sum=None)
    with pytest.raises(Forbidden):
        services.fill_asset_sha256(user=people["member"], asset_id=str(asset.pk))


def test_the_user_a_record_was_made_on_behalf_of_may_change_it(people):
    agent, alice = people["member"], people["owner"]
    made = services.create_asset(
        user=agent,
        asset_url="s3://bucket/for-alice.png",
        asset_type="image",
        asset_source="generated",
        on_behalf_of="alice",
    )

    services.update_asset(user=alice, asset_id=made["asset_id"], metadata={"ok": True})

    with pytest.raises(Forbidden):
        services.update_asset(
            user=people["staff without permission"], asset_id=made["asset_id"], metadata={}
        )
