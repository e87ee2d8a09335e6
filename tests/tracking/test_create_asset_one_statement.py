"""``create_asset`` on PostgreSQL: the asset and its history row in one statement.

Outside a caller's transaction the statement is the whole transaction (no BEGIN or
COMMIT); the rows are the ones ``Asset.save()`` and simple_history write, which these
tests check column by column against assets saved the ordinary way.
"""

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext

from tests.tracking.recording_helpers import SHA_A, SHA_B, post, prompt
from tracking import services
from tracking.errors import Duplicate
from tracking.models import Asset

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DIFFERENT_EVERY_TIME = {"id", "history_id", "created_at", "updated_at", "history_date"}


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement insert is PostgreSQL's (SQLite saves through the ORM)")


def rows(pk: int) -> tuple[dict, list[dict]]:
    """The asset's row and its history rows as stored, minus what differs every time."""

    def strip(row: dict) -> dict:
        return {k: v for k, v in row.items() if k not in DIFFERENT_EVERY_TIME}

    history = Asset.history.model.objects.filter(id=pk).order_by("history_id").values()
    return strip(Asset.objects.filter(pk=pk).values().get()), [strip(h) for h in history]


def saved_the_ordinary_way(user, **fields) -> Asset:
    record = Asset(**fields)
    record.attribute_to(user, fields.pop("on_behalf_of", None))
    record._history_user = user
    record.save()
    return record


def test_it_writes_the_asset_and_its_history_in_one_statement(alice):
    with CaptureQueriesContext(connection) as queries:
        result = services.create_asset(
            user=alice,
            asset_url="s3://bucket/one.png",
            asset_type="image",
            asset_source="generated",
            sha256sum=SHA_A,
        )
    verbs = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert verbs == ["WITH"]
    assert Asset.history.model.objects.filter(id=result["asset_id"]).count() == 1


def test_it_stores_the_rows_save_and_simple_history_store(alice):
    links = {
        "input_prompt": prompt(alice),
        "output_prompt": prompt(alice, "a caption"),
    }
    the_post = post(alice)
    fields = {
        "asset_type": "video",
        "asset_source": "upload",
        "civitai_id": 77,
        "civitai_url": "https://civitai.com/images/77",
        "metadata": {"seed": 1, "nested": {"list": [1, "two", None]}},
        "on_behalf_of": "bob",
    }
    created = services.create_asset(
        user=alice,
        asset_url="s3://bucket/fast.mp4",
        sha256sum=SHA_A.upper(),  # stored lower-case, as save() stores it
        input_prompt_id=str(links["input_prompt"]["prompt_id"]),
        output_prompt_id=str(links["output_prompt"]["prompt_id"]),
        post_id=str(the_post["post_id"]),
        **fields,
    )
    ordinary = saved_the_ordinary_way(
        alice,
        asset_url="s3://bucket/fast.mp4",
        sha256sum=SHA_B.upper(),
        input_prompt_id=int(links["input_prompt"]["prompt_id"]),
        output_prompt_id=int(links["output_prompt"]["prompt_id"]),
        post_id=int(the_post["post_id"]),
        **fields | {"civitai_id": 78, "civitai_url": "https://civitai.com/images/78"},
    )
    fast_row, fast_history = rows(int(created["asset_id"]))
    slow_row, slow_history = rows(ordinary.pk)
    differ = {"sha256sum", "civitai_id", "civitai_url"}
    assert fast_row["sha256sum"] == SHA_A
    assert {k: v for k, v in fast_row.items() if k not in differ} == {
        k: v for k, v in slow_row.items() if k not in differ
    }
    assert len(fast_history) == len(slow_history) == 1
    assert {k: v for k, v in fast_history[0].items() if k not in differ} == {
        k: v for k, v in slow_history[0].items() if k not in differ
    }
    assert fast_history[0]["history_type"] == "+"
    assert fast_history[0]["history_user_id"] == alice.pk
    assert {k: fast_history[0][k] for k in differ} == {k: fast_row[k] for k in differ}


def test_the_history_row_copies_the_stored_row_and_its_times(alice):
    result = services.create_asset(
        user=alice,
        asset_url="s3://bucket/times.png",
        asset_type="image",
        asset_source="generated",
        sha256sum=SHA_A,
    )
    stored = Asset.objects.filter(pk=result["asset_id"]).values().get()
    history = Asset.history.model.objects.filter(id=result["asset_id"]).values().get()
    assert {k: history[k] for k in stored} == stored
    assert stored["created_at"] <= stored["updated_at"] <= history["history_date"]


def test_a_duplicate_is_refused_and_writes_nothing(alice):
    first = services.create_asset(
        user=alice,
        asset_url="s3://a.png",
        asset_type="image",
        asset_source="generated",
        sha256sum=SHA_A,
    )
    before = (Asset.objects.count(), Asset.history.model.objects.count())
    with pytest.raises(Duplicate) as exc:
        services.create_asset(
            user=alice,
            asset_url="s3://b.png",
            asset_type="image",
            asset_source="generated",
            sha256sum=SHA_A,
        )
    assert exc.value.message == (
        f"An asset with this sha256sum already exists (asset_id {first['asset_id']})"
    )
    assert (Asset.objects.count(), Asset.history.model.objects.count()) == before


def test_a_receiver_of_the_save_signals_gets_an_ordinary_save(alice):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.asset_url)

    pre_save.connect(receiver, sender=Asset)
    try:
        with CaptureQueriesContext(connection) as queries:
            services.create_asset(
                user=alice,
                asset_url="s3://heard.png",
                asset_type="image",
                asset_source="generated",
                sha256sum=SHA_A,
            )
    finally:
        pre_save.disconnect(receiver, sender=Asset)
    verbs = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert seen == ["s3://heard.png"]
    assert "WITH" not in verbs
    assert verbs.count("INSERT") == 2
