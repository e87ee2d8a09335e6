from datetime import UTC, datetime, timedelta

import pytest

from tests.tracking.recording_helpers import asset, post, prompt
from tracking import services
from tracking.errors import InvalidInput
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def make_posts(user, count: int, *, status: str = "published", start_id: int = 1000):
    """``count`` posts created one hour apart from T0, oldest first."""
    return [
        Post.objects.create(
            civitai_id=start_id + i,
            civitai_url=f"https://civitai.com/posts/{start_id + i}",
            status=status,
            created_by=user,
            created_at=T0 + timedelta(hours=i),
        )
        for i in range(count)
    ]


def civitai_ids(result) -> list[int]:
    return [int(p["civitai_id"]) for p in result["posts"]]


def test_it_lists_newest_first_with_the_default_page(alice):
    make_posts(alice, 25)
    result = services.list_civitai_posts(user=alice)
    assert result["total"] == 25 and result["limit"] == 20 and result["offset"] == 0
    assert civitai_ids(result) == list(range(1024, 1004, -1))
    assert "assets" not in result["posts"][0]


def test_it_pages_with_limit_and_offset(alice):
    make_posts(alice, 7)
    result = services.list_civitai_posts(user=alice, limit=3, offset=3)
    assert civitai_ids(result) == [1003, 1002, 1001]
    assert result["total"] == 7 and result["limit"] == 3 and result["offset"] == 3
    assert services.list_civitai_posts(user=alice, offset=50)["posts"] == []


def test_it_breaks_created_at_ties_by_newest_id(alice):
    same = [
        Post.objects.create(
            civitai_id=n, civitai_url=f"https://civitai.com/posts/{n}", created_at=T0
        )
        for n in (1, 2, 3)
    ]
    assert [p["post_id"] for p in services.list_civitai_posts(user=alice)["posts"]] == [
        str(p.pk) for p in reversed(same)
    ]


def test_it_filters_by_civitai_id_status_and_creator(alice, staff):
    make_posts(alice, 3, status="published")
    make_posts(staff, 2, status="pending", start_id=2000)
    assert civitai_ids(services.list_civitai_posts(user=alice, civitai_id="1001")) == [1001]
    assert civitai_ids(services.list_civitai_posts(user=alice, status="pending")) == [2001, 2000]
    assert civitai_ids(services.list_civitai_posts(user=alice, created_by="alice")) == [
        1002,
        1001,
        1000,
    ]
    assert services.list_civitai_posts(user=alice, created_by="nobody")["total"] == 0


def test_it_filters_by_time_window_inclusively(alice):
    make_posts(alice, 5)  # T0 .. T0+4h
    result = services.list_civitai_posts(
        user=alice, start_time="2025-01-15T11:00:00Z", end_time="2025-01-15T13:00:00+00:00"
    )
    assert civitai_ids(result) == [1003, 1002, 1001]
    # Same instant in another zone.
    result = services.list_civitai_posts(user=alice, start_time="2025-01-15T14:00:00+02:00")
    assert civitai_ids(result) == [1004, 1003, 1002]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit must be a whole number between 1 and 100"),
        ({"limit": 101}, "limit must be a whole number between 1 and 100"),
        ({"limit": "ten"}, "limit must be a whole number between 1 and 100"),
        ({"limit": True}, "limit must be a whole number between 1 and 100"),
        ({"offset": -1}, "offset must be a whole number at least 0"),
        ({"include_details": "yes"}, "include_details must be true or false"),
        ({"status": "gone"}, 'status must be "pending", "published" or "failed"'),
        ({"civitai_id": "x1"}, "civitai_id must be a valid integer ID"),
        ({"created_by": 7}, "created_by must be a username"),
        (
            {"start_time": "yesterday"},
            "start_time must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)",
        ),
        (
            {"end_time": "2025-13-40T10:00:00Z"},
            "end_time must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)",
        ),
        (
            {"start_time": "2025-01-15T10:00:00"},
            "start_time must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z) with a time zone",
        ),
        (
            {"start_time": "2025-01-16T00:00:00Z", "end_time": "2025-01-15T00:00:00Z"},
            "start_time must not be after end_time",
        ),
        ({"page": 2}, "Unknown parameter for list_civitai_posts: page"),
    ],
)
def test_it_refuses_bad_filters(alice, params, message):
    with pytest.raises(InvalidInput) as exc:
        services.list_civitai_posts(user=alice, **params)
    assert message in exc.value.message


def test_it_accepts_the_limit_bounds(alice):
    make_posts(alice, 2)
    assert services.list_civitai_posts(user=alice, limit=1)["limit"] == 1
    assert services.list_civitai_posts(user=alice, limit=100)["limit"] == 100


def test_it_nests_assets_and_their_prompts_with_details(alice):
    the_post = post(alice)
    p_in = prompt(alice, "generator")
    p_out = prompt(alice, "caption")
    source = asset(alice, asset_url="s3://bucket/src.png")
    linked = asset(
        alice,
        post_id=the_post["post_id"],
        input_prompt_id=p_in["prompt_id"],
        output_prompt_id=p_out["prompt_id"],
        input_asset_ids=[source["asset_id"]],
    )
    bare = asset(alice, post_id=the_post["post_id"], asset_url="s3://bucket/bare.png")
    result = services.list_civitai_posts(user=alice, include_details=True)
    (data,) = result["posts"]
    assert [a["asset_id"] for a in data["assets"]] == [linked["asset_id"], bare["asset_id"]]
    first = data["assets"][0]
    assert first["input_prompt"] == p_in
    assert first["output_prompt"] == p_out
    assert first["input_asset_ids"] == [source["asset_id"]]
    assert data["assets"][1]["input_prompt"] is None
    assert data["assets"][1]["output_prompt"] is None


def test_it_nests_exactly_the_shapes_of_the_single_record_tools(alice, django_user_model):
    """The details listing reads rows, not model instances: it must agree key for key."""
    bob = django_user_model.objects.create_user("bob")
    the_post = post(alice)
    other = post(bob, civitai_id=2002)
    p_in = prompt(bob, "generator")
    p_out = services.create_prompt(
        user=None, prompt_text="a caption", llm_model="m", metadata={"k": [1, {"n": None}]}
    )["prompt"]
    src_a = asset(alice, asset_url="s3://bucket/a.png")
    src_b = asset(bob, asset_url="s3://bucket/b.png")
    linked = asset(
        alice,
        post_id=the_post["post_id"],
        input_prompt_id=p_in["prompt_id"],
        output_prompt_id=p_out["prompt_id"],
        input_asset_ids=[src_b["asset_id"], src_a["asset_id"]],
        metadata={"seed": 7},
    )
    asset(bob, post_id=the_post["post_id"], asset_url="s3://bucket/bare.png")
    result = services.list_civitai_posts(user=alice, include_details=True)
    plain = services.list_civitai_posts(user=alice)
    assert [p["post_id"] for p in result["posts"]] == [other["post_id"], the_post["post_id"]]
    for detailed, bare in zip(result["posts"], plain["posts"], strict=True):
        assert {k: v for k, v in detailed.items() if k != "assets"} == bare
    assert result["posts"][0]["assets"] == []
    nested = result["posts"][1]["assets"]
    for data in nested:
        found = services.find_asset(user=alice, asset_id=data["asset_id"])["asset"]
        assert data == {k: v for k, v in found.items() if k != "post"}
    assert nested[0]["input_asset_ids"] == sorted([src_a["asset_id"], src_b["asset_id"]], key=int)
    assert nested[0]["input_prompt"] == p_in and nested[0]["output_prompt"] == p_out
    assert nested[0]["input_prompt"]["created_by"] == "bob"
    assert nested[0]["output_prompt"]["created_by"] is None
    assert linked["asset_id"] == nested[0]["asset_id"]


def _post_with_assets(user, n: int) -> None:
    posts = make_posts(user, n)
    for p in posts:
        pi = Prompt.objects.create(prompt_text="in", created_by=user)
        po = Prompt.objects.create(prompt_text="out", created_by=user)
        for k in range(2):
            a = Asset.objects.create(
                asset_url=f"s3://b/{p.pk}-{k}.png",
                asset_type="image",
                asset_source="generated",
                post=p,
                input_prompt=pi,
                output_prompt=po,
                created_by=user,
            )
            if k:
                a.input_assets.add(Asset.objects.filter(post=p).order_by("id").first())


@pytest.mark.parametrize("count", [1, 100])
def test_it_costs_a_fixed_number_of_queries_with_details(alice, django_assert_num_queries, count):
    _post_with_assets(alice, count)
    with django_assert_num_queries(2):  # the page with its total, then the assets
        result = services.list_civitai_posts(user=alice, include_details=True, limit=100)
    assert len(result["posts"]) == count
    assert all(len(p["assets"]) == 2 for p in result["posts"])
    assert all(p["assets"][0]["input_prompt"]["created_by"] == "alice" for p in result["posts"])


@pytest.mark.parametrize("count", [1, 100])
def test_it_costs_a_fixed_number_of_queries_without_details(
    alice, django_assert_num_queries, count
):
    make_posts(alice, count)
    with django_assert_num_queries(1):  # the page carries the total
        result = services.list_civitai_posts(user=alice, limit=100)
    assert len(result["posts"]) == count
    assert {p["created_by"] for p in result["posts"]} == {"alice"}


@pytest.mark.parametrize("include_details", [False, True])
def test_it_counts_separately_when_the_page_is_empty(
    alice, django_assert_num_queries, include_details
):
    make_posts(alice, 3)
    with django_assert_num_queries(2):  # no row carries the total: the page, then a count
        result = services.list_civitai_posts(user=alice, offset=3, include_details=include_details)
    assert result["posts"] == [] and result["total"] == 3


def test_it_counts_every_match_not_only_the_page(alice, staff):
    make_posts(alice, 5)
    make_posts(staff, 2, start_id=2000)
    result = services.list_civitai_posts(user=alice, created_by="ALICE", limit=2, offset=1)
    assert len(result["posts"]) == 2 and result["total"] == 5
