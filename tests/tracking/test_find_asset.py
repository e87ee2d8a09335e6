import pytest

from tests.tracking.recording_helpers import SHA_A, SHA_B, asset
from tracking import services
from tracking.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(alice):
    return asset(alice, sha256sum=SHA_A)


def test_it_finds_by_id(alice, stored):
    assert services.find_asset(user=alice, asset_id=stored["asset_id"]) == {
        "found": True,
        "asset": stored | {"input_prompt": None, "output_prompt": None, "post": None},
    }


def test_it_finds_by_sha256_in_any_case(alice, stored):
    result = services.find_asset(user=alice, sha256sum=SHA_A.upper())
    assert result["found"] is True and result["asset"]["asset_id"] == stored["asset_id"]


def test_it_finds_by_both_when_both_match(alice, stored):
    result = services.find_asset(user=alice, asset_id=stored["asset_id"], sha256sum=SHA_A)
    assert result["found"] is True


def test_it_does_not_find_when_id_and_sha256_belong_to_different_assets(alice, stored):
    other = asset(alice, sha256sum=SHA_B)
    assert services.find_asset(user=alice, asset_id=other["asset_id"], sha256sum=SHA_A) == {
        "found": False
    }


def test_it_answers_not_found_without_an_error(alice, stored):
    assert services.find_asset(user=alice, asset_id="999999") == {"found": False}
    assert services.find_asset(user=alice, sha256sum=SHA_B) == {"found": False}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "At least one of asset_id or sha256sum is required"),
        (
            {"asset_id": None, "sha256sum": None},
            "At least one of asset_id or sha256sum is required",
        ),
        ({"asset_id": "12x"}, "asset_id must be a valid integer ID"),
        ({"asset_id": "12x", "sha256sum": SHA_A}, "asset_id must be a valid integer ID"),
        ({"sha256sum": "abc"}, "sha256sum must be 64 hexadecimal characters"),
        ({"civitai_id": "x"}, "civitai_id must be a valid integer ID"),
        ({"asset_id": "1", "sha": "1"}, "Unknown parameter for find_asset: sha"),
    ],
)
def test_it_refuses_malformed_lookups(alice, params, message):
    with pytest.raises(InvalidInput) as exc:
        services.find_asset(user=alice, **params)
    assert exc.value.message == message or message in exc.value.message


def test_it_gives_the_same_document_as_the_instance_shape_with_every_link(alice, staff):
    """One values() row must say what the model instances say: prompts, post, lineage, users."""
    from tests.tracking.recording_helpers import post, prompt
    from tracking.models import Asset
    from tracking.serializers import asset_with_links

    first = asset(alice, sha256sum=SHA_B)
    second = asset(staff)
    made = asset(
        alice,
        sha256sum=SHA_A,
        input_prompt_id=prompt(alice)["prompt_id"],
        output_prompt_id=prompt(staff, "a caption", purpose="caption")["prompt_id"],
        post_id=post(staff, metadata={"k": [1, 2]})["post_id"],
        input_asset_ids=[second["asset_id"], first["asset_id"]],
        metadata={"seed": 7},
        on_behalf_of="Carol",
    )
    found = services.find_asset(user=alice, sha256sum=SHA_A)["asset"]
    instance = Asset.objects.select_related(
        "created_by", "post__created_by", "input_prompt__created_by", "output_prompt__created_by"
    ).get(pk=made["asset_id"])
    assert found == asset_with_links(instance)
    assert found["input_asset_ids"] == sorted([first["asset_id"], second["asset_id"]], key=int)
    assert found["post"]["created_by"] == staff.username == found["output_prompt"]["created_by"]


def test_it_costs_one_query_whatever_the_links(alice, django_assert_num_queries):
    linked = [asset(alice)["asset_id"] for _ in range(3)]
    made = asset(alice, sha256sum=SHA_A, input_asset_ids=linked)
    with django_assert_num_queries(1):
        assert services.find_asset(user=alice, asset_id=made["asset_id"])["found"]
    with django_assert_num_queries(2):  # and the post's asset count
        services.find_asset(user=alice, post_id="12")
