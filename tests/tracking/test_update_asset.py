import pytest

from tests.conftest import table_counts
from tests.tracking.recording_helpers import SHA_A, asset, post, prompt
from tracking import services
from tracking.errors import Duplicate, InvalidInput, RecordNotFound
from tracking.models import Asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(alice):
    """An asset with every optional link and field set."""
    the_post = post(alice)
    p_in, p_out = prompt(alice), prompt(alice, "caption")
    source = asset(alice, asset_url="s3://bucket/source.png")
    data = asset(
        alice,
        post_id=the_post["post_id"],
        input_prompt_id=p_in["prompt_id"],
        output_prompt_id=p_out["prompt_id"],
        civitai_id="106433016",
        civitai_url="https://civitai.com/images/106433016",
        input_asset_ids=[source["asset_id"]],
        metadata={"likes": 3},
    )
    return data


def test_it_keeps_every_value_that_is_left_out(alice, linked):
    result = services.update_asset(user=alice, asset_id=linked["asset_id"])["asset"]
    for key in linked:
        if key != "updated_at":
            assert result[key] == linked[key], key


def test_it_clears_every_value_sent_as_null(alice, linked):
    result = services.update_asset(
        user=alice,
        asset_id=linked["asset_id"],
        post_id=None,
        civitai_id=None,
        civitai_url=None,
        input_prompt_id=None,
        output_prompt_id=None,
        input_asset_ids=None,
        metadata=None,
    )["asset"]
    assert result["post_id"] is None
    assert result["civitai_id"] is None and result["civitai_url"] is None
    assert result["input_prompt_id"] is None and result["output_prompt_id"] is None
    assert result["input_asset_ids"] == [] and result["metadata"] == {}
    stored = Asset.objects.get(pk=int(linked["asset_id"]))
    assert stored.post_id is None and stored.input_prompt_id is None
    assert not stored.input_assets.exists()


def test_it_clears_one_value_and_keeps_the_others(alice, linked):
    result = services.update_asset(user=alice, asset_id=linked["asset_id"], post_id=None)
    data = result["asset"]
    assert data["post_id"] is None
    assert data["input_prompt_id"] == linked["input_prompt_id"]
    assert data["civitai_id"] == linked["civitai_id"]
    assert data["metadata"] == {"likes": 3}


def test_it_sets_new_values(alice, linked):
    other_post, other_prompt = post(alice, civitai_id=999), prompt(alice, "other")
    extra = asset(alice, asset_url="s3://bucket/extra.png")
    data = services.update_asset(
        user=alice,
        asset_id=linked["asset_id"],
        post_id=other_post["post_id"],
        input_prompt_id=other_prompt["prompt_id"],
        civitai_id="23602354",
        civitai_url="https://civitai.com/images/23602354",
        input_asset_ids=[extra["asset_id"]],
        metadata={"likes": 10},
    )["asset"]
    assert data["post_id"] == other_post["post_id"]
    assert data["input_prompt_id"] == other_prompt["prompt_id"]
    assert data["output_prompt_id"] == linked["output_prompt_id"]
    assert data["civitai_id"] == "23602354"
    assert data["input_asset_ids"] == [extra["asset_id"]]
    assert data["metadata"] == {"likes": 10}


def test_it_links_an_asset_to_a_post_as_in_the_guide(alice):
    the_asset, the_post = asset(alice), post(alice)
    data = services.update_asset(
        user=alice, asset_id=the_asset["asset_id"], post_id=the_post["post_id"]
    )
    assert data["asset"]["post_id"] == the_post["post_id"]


@pytest.mark.parametrize(
    "field", ["post_id", "input_prompt_id", "output_prompt_id", "input_asset_ids"]
)
def test_it_refuses_a_link_to_a_missing_record_and_changes_nothing(alice, linked, field):
    before_counts = table_counts()
    before = Asset.objects.get(pk=int(linked["asset_id"]))
    value = ["999"] if field == "input_asset_ids" else "999"
    with pytest.raises(RecordNotFound) as exc:
        services.update_asset(
            user=alice,
            asset_id=linked["asset_id"],
            metadata={"changed": True},  # would be written if the update were not atomic
            **{field: value},
        )
    assert exc.value.message == f"Record not found: {field} 999"
    assert table_counts() == before_counts
    after = Asset.objects.get(pk=int(linked["asset_id"]))
    assert after.metadata == {"likes": 3}
    assert after.updated_at == before.updated_at
    assert after.post_id == before.post_id


def test_it_refuses_a_missing_asset(alice):
    with pytest.raises(RecordNotFound) as exc:
        services.update_asset(user=alice, asset_id="424242", post_id=None)
    assert exc.value.message == "Record not found: asset_id 424242"


def test_it_refuses_a_civitai_id_another_asset_has(alice, linked):
    other = asset(alice, sha256sum=SHA_A)
    before = table_counts()
    with pytest.raises(Duplicate) as exc:
        services.update_asset(
            user=alice, asset_id=other["asset_id"], civitai_id=linked["civitai_id"]
        )
    assert exc.value.message == (
        f"An asset with this civitai_id already exists (asset_id {linked['asset_id']})"
    )
    assert Asset.objects.get(pk=int(other["asset_id"])).civitai_id is None
    assert table_counts() == before


def test_it_checks_the_url_against_the_resulting_civitai_id(alice, linked):
    # civitai_url stays https://civitai.com/images/106433016; a new id must match it.
    with pytest.raises(InvalidInput) as exc:
        services.update_asset(user=alice, asset_id=linked["asset_id"], civitai_id="5")
    assert exc.value.message == "civitai_url points to image 106433016 but civitai_id is 5"
    with pytest.raises(InvalidInput):
        services.update_asset(user=alice, asset_id=linked["asset_id"], civitai_id=None)
    # Both cleared together is fine.
    data = services.update_asset(
        user=alice, asset_id=linked["asset_id"], civitai_id=None, civitai_url=None
    )["asset"]
    assert data["civitai_id"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"asset_id": "abc"}, "asset_id must be a valid integer ID"),
        ({"asset_id": None}, "asset_id is required"),
        ({"post_id": "x"}, "post_id must be a valid integer ID"),
        ({"metadata": [1]}, "metadata must be a JSON object"),
        ({"sha256sum": SHA_A}, "Unknown parameter for update_asset: sha256sum"),
    ],
)
def test_it_refuses_bad_input(alice, linked, params, message):
    before = table_counts()
    with pytest.raises(InvalidInput) as exc:
        services.update_asset(user=alice, **({"asset_id": linked["asset_id"]} | params))
    assert message in exc.value.message
    assert table_counts() == before


def test_it_refuses_an_asset_as_its_own_input(alice, linked):
    with pytest.raises(InvalidInput) as exc:
        services.update_asset(
            user=alice, asset_id=linked["asset_id"], input_asset_ids=[linked["asset_id"]]
        )
    assert exc.value.message == "input_asset_ids must not include the asset itself"
