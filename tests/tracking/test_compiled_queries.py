"""civitrack.compiled: a query compiled once per shape answers what the ORM answers."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civitrack.compiled import CompiledValues
from tests.tracking.recording_helpers import SHA_A, SHA_B, asset, post, prompt
from tracking import services
from tracking.models import Asset
from tracking.serializers import _FIRST_ASSET, _first_asset_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(alice, staff):
    the_post = post(staff, metadata={"k": [1, 2]})
    first = asset(alice, sha256sum=SHA_B, civitai_id="501", post_id=the_post["post_id"])
    made = asset(
        alice,
        sha256sum=SHA_A,
        civitai_id="502",
        input_prompt_id=prompt(alice)["prompt_id"],
        output_prompt_id=prompt(staff, "a caption", purpose="caption")["prompt_id"],
        post_id=the_post["post_id"],
        input_asset_ids=[first["asset_id"]],
        metadata={"seed": 7, "nested": {"a": None}},
        on_behalf_of="Carol",
    )
    return {"post": the_post, "first": first, "made": made}


def _keys(records):
    made, first = records["made"], records["first"]
    return {
        "pk": [int(made["asset_id"]), int(first["asset_id"]), 999_999],
        "sha256sum": [SHA_A, SHA_B, "f" * 64],
        "civitai_id": [502, 501, 7],
        "civitai_url_id": [502, 501],
        "post_id": [int(records["post"]["post_id"]), 888_888],
    }


def test_every_shape_and_value_gives_the_rows_of_the_orm(records):
    """All 31 combinations of keys, each with matching and non-matching values, twice
    (the second time from the cache): the same rows as the ORM's own ``values()``."""
    keys = _keys(records)
    names = sorted(keys)
    seen_found = seen_missing = 0
    for size in range(1, len(names) + 1):
        for shape in itertools.combinations(names, size):
            for values in itertools.product(*(keys[name] for name in shape)):
                given = dict(zip(shape, values, strict=True))
                expected = list(_first_asset_query(**given))
                for _ in range(2):
                    assert _FIRST_ASSET.rows(**given) == expected, given
                seen_found += bool(expected)
                seen_missing += not expected
    assert seen_found > 20 and seen_missing > 20  # both answers were exercised


def test_a_cached_shape_takes_each_calls_values_not_the_first_ones(records):
    made, first = records["made"], records["first"]
    assert _FIRST_ASSET.rows(sha256sum=SHA_A)[0]["id"] == int(made["asset_id"])
    assert _FIRST_ASSET.rows(sha256sum=SHA_B)[0]["id"] == int(first["asset_id"])
    # by post: the lowest id of the post's assets, JSON and datetimes decoded
    row = _FIRST_ASSET.rows(post_id=int(records["post"]["post_id"]))[0]
    assert row["id"] == int(first["asset_id"])
    assert row["post__metadata"] == {"k": [1, 2]}
    assert row["created_at"] == Asset.objects.get(pk=first["asset_id"]).created_at


def test_civitai_id_and_url_both_given_must_both_match(alice, records):
    assert services.find_asset(
        user=alice, civitai_id="502", civitai_url="https://civitai.com/images/502"
    )["found"]
    assert services.find_asset(
        user=alice, civitai_id="502", civitai_url="https://civitai.com/images/501"
    ) == {"found": False}


def test_it_runs_one_query_on_the_callers_connection(records):
    _FIRST_ASSET.rows(sha256sum=SHA_A)
    with CaptureQueriesContext(connection) as queries:
        _FIRST_ASSET.rows(sha256sum=SHA_B)
    assert len(queries) == 1 and "tracking_asset" in queries[0]["sql"]


def test_values_of_another_type_or_beyond_bigint_take_the_orm_path(records):
    huge = 2**70
    assert _FIRST_ASSET.rows(pk=huge) == list(_first_asset_query(pk=huge)) == []
    made = int(records["made"]["asset_id"])
    assert _FIRST_ASSET.rows(pk=str(made))[0]["id"] == made


def test_a_value_the_query_does_not_take_as_a_parameter_is_never_cached(records):
    """A build that ignores a value would freeze the first call's answer: refused."""
    calls = []

    def build(sha256sum=None):
        calls.append(sha256sum)
        return Asset.objects.filter(sha256sum=SHA_A).values("id")

    ignoring = CompiledValues(build, {"sha256sum": str})
    for _ in range(3):
        assert ignoring.rows(sha256sum=SHA_B) == [{"id": int(records["made"]["asset_id"])}]
    assert calls.count(SHA_B) == 3  # the ORM built it every time
