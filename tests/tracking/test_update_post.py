import pytest

from tests.conftest import table_counts
from tests.tracking.recording_helpers import post
from tracking import services
from tracking.errors import Forbidden, InvalidInput, RecordNotFound
from tracking.models import Post

pytestmark = pytest.mark.django_db


def test_it_lets_the_creator_publish_a_pending_post(alice):
    created = post(alice, status="pending", title="draft")
    data = services.update_post(user=alice, post_id=created["post_id"], status="published")
    assert data["post"]["status"] == "published"
    assert data["post"]["title"] == "draft"  # left out, kept
    assert Post.objects.get(pk=int(created["post_id"])).status == "published"


def test_it_clears_title_and_description_sent_as_null(alice):
    created = post(alice, title="t", description="d", metadata={"a": 1})
    data = services.update_post(
        user=alice, post_id=created["post_id"], title=None, description=None, metadata=None
    )["post"]
    assert data["title"] is None and data["description"] is None and data["metadata"] == {}


def test_it_lets_staff_change_anyones_post(alice, staff):
    created = post(alice, status="pending")
    data = services.update_post(user=staff, post_id=created["post_id"], status="failed")
    assert data["post"]["status"] == "failed"


def test_it_refuses_another_non_staff_user_and_changes_nothing(alice, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="pw-bob-1")
    created = post(alice, status="pending")
    before = table_counts()
    with pytest.raises(Forbidden) as exc:
        services.update_post(user=bob, post_id=created["post_id"], status="published")
    assert exc.value.status == 403
    assert "Only the post's creator or staff" in exc.value.message
    assert Post.objects.get(pk=int(created["post_id"])).status == "pending"
    assert table_counts() == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "live"}, 'status must be "pending", "published" or "failed"'),
        ({"status": None}, 'status must be "pending", "published" or "failed"'),
        ({"post_id": "p1"}, "post_id must be a valid integer ID"),
        ({"civitai_id": "1"}, "Unknown parameter for update_post: civitai_id"),
    ],
)
def test_it_refuses_bad_input(alice, params, message):
    created = post(alice)
    with pytest.raises(InvalidInput) as exc:
        services.update_post(user=alice, **({"post_id": created["post_id"]} | params))
    assert message in exc.value.message


def test_it_refuses_a_missing_post(alice):
    with pytest.raises(RecordNotFound) as exc:
        services.update_post(user=alice, post_id="999", status="published")
    assert exc.value.message == "Record not found: post_id 999"
