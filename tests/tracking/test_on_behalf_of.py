"""on_behalf_of: who a record was made for, stored and returned, defaulting to the creator."""

import pytest

from tests.tracking.recording_helpers import asset, post, prompt
from tracking import services
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db


def test_it_defaults_to_the_creators_username_on_every_record(alice):
    records = [prompt(alice), post(alice), asset(alice)]
    assert [r["on_behalf_of"] for r in records] == ["alice"] * 3
    for model in (Prompt, Post, Asset):
        assert model.objects.get().on_behalf_of == "alice"


def test_it_stores_and_returns_the_name_given(alice):
    assert prompt(alice, on_behalf_of="Bob")["on_behalf_of"] == "Bob"
    assert post(alice, on_behalf_of="Bob")["on_behalf_of"] == "Bob"
    created = asset(alice, on_behalf_of="Bob")
    assert created["on_behalf_of"] == "Bob"
    assert Asset.objects.get().created_by == alice  # the creator stays the acting user


def test_update_asset_sets_keeps_and_clears_it(alice):
    created = asset(alice)
    update = services.update_asset
    assert (
        update(user=alice, asset_id=created["asset_id"], on_behalf_of="carol")["asset"][
            "on_behalf_of"
        ]
        == "carol"
    )
    kept = update(user=alice, asset_id=created["asset_id"], metadata={"a": 1})["asset"]
    assert kept["on_behalf_of"] == "carol"
    cleared = update(user=alice, asset_id=created["asset_id"], on_behalf_of=None)["asset"]
    assert cleared["on_behalf_of"] is None


def test_list_civitai_posts_filters_by_it_and_by_creator_without_regard_to_case(alice):
    post(alice, civitai_id=1, on_behalf_of="Bob")
    post(alice, civitai_id=2)
    listed = services.list_civitai_posts(user=alice, on_behalf_of="bOB")
    assert [p["civitai_id"] for p in listed["posts"]] == ["1"]
    assert services.list_civitai_posts(user=alice, created_by="ALICE")["total"] == 2
    details = services.list_civitai_posts(user=alice, on_behalf_of="bob", include_details=True)
    assert details["posts"][0]["on_behalf_of"] == "Bob"
