import pytest
from django.test import override_settings

from tests.conftest import table_counts
from tests.tracking.recording_helpers import post
from tracking import services
from tracking.errors import Duplicate, InvalidInput
from tracking.models import Post

pytestmark = pytest.mark.django_db

POST_KEYS = {
    "post_id",
    "civitai_id",
    "civitai_url",
    "civitai_account",
    "status",
    "title",
    "description",
    "metadata",
    "created_by",
    "on_behalf_of",
    "created_at",
    "updated_at",
}


@override_settings(CIVITAI_ACCOUNT="team-x")
def test_it_records_a_post_published_by_default_with_the_account(alice):
    result = services.create_civitai_post(
        user=alice,
        civitai_id="23602354",
        civitai_url="https://civitai.com/posts/23602354",
        title="Sunset Mountain Landscape",
        metadata={"tags": ["landscape"]},
    )
    data = result["post"]
    assert set(data) == POST_KEYS
    assert result["post_id"] == data["post_id"]
    assert data["civitai_id"] == "23602354"
    assert data["status"] == "published"
    assert data["civitai_account"] == "team-x"
    assert data["created_by"] == "alice"
    assert data["description"] is None
    assert Post.objects.get(pk=int(data["post_id"])).civitai_account == "team-x"


@pytest.mark.parametrize("status", ["pending", "published", "failed"])
def test_it_takes_each_status(alice, status):
    assert post(alice, status=status)["status"] == status


def test_it_accepts_a_json_integer_id(alice):
    data = services.create_civitai_post(
        user=alice, civitai_id=5, civitai_url="https://civitai.com/posts/5"
    )["post"]
    assert data["civitai_id"] == "5"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"civitai_id": "abc"}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": "12 "}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": "-3"}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": "0"}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": True}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": "99999999999999999999"}, "civitai_id must be a valid integer ID"),
        ({"civitai_id": None}, "civitai_id is required"),
        ({"civitai_url": None}, "civitai_url is required"),
        ({"status": "draft"}, 'status must be "pending", "published" or "failed"'),
        (
            {"civitai_url": "https://civitai.com/posts/111"},
            "civitai_url points to post 111 but civitai_id is 23602354",
        ),
        (
            {"civitai_url": "https://civitai.com/images/23602354"},
            "civitai_url must be a Civitai post URL like https://civitai.com/posts/23602354",
        ),
        (
            {"civitai_url": "https://evil.example/posts/23602354"},
            "civitai_url must be a Civitai post URL",
        ),
        ({"civitai_url": "ftp://civitai.com/posts/23602354"}, "civitai_url must be a Civitai"),
        ({"metadata": ["x"]}, "metadata must be a JSON object"),
        ({"title": "t" * 301}, "title must be at most 300 characters"),
        ({"account": "c29"}, "Unknown parameter for create_civitai_post: account"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(alice, params, message):
    base = {"civitai_id": "23602354", "civitai_url": "https://civitai.com/posts/23602354"}
    before = table_counts()
    with pytest.raises(InvalidInput) as exc:
        services.create_civitai_post(user=alice, **(base | params))
    assert message in exc.value.message
    assert table_counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "https://civitai.com/posts/23602354/",
        "https://www.civitai.com/posts/23602354",
        "https://civitai.com/posts/23602354?sort=newest",
    ],
)
def test_it_accepts_civitai_post_url_variants(alice, url):
    data = services.create_civitai_post(user=alice, civitai_id="23602354", civitai_url=url)
    assert data["post"]["civitai_url"] == url


def test_it_refuses_a_second_post_with_the_same_civitai_id_naming_the_first(alice, staff):
    first = post(alice, civitai_id=777)
    before = table_counts()
    with pytest.raises(Duplicate) as exc:
        post(staff, civitai_id=777, title="again")
    assert exc.value.message == (
        f"A post with this civitai_id already exists (post_id {first['post_id']})"
    )
    assert exc.value.status == 409
    assert table_counts() == before
