"""Model validation and database constraints agree: bad values are refused by both."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.conftest import table_counts
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db

GOOD_SHA = "a" * 64


def make_asset(**kw):
    fields = {
        "asset_url": "https://example.com/a.png",
        "asset_type": "image",
        "asset_source": "generated",
    }
    fields.update(kw)
    return Asset(**fields)


@pytest.mark.parametrize(
    "field, value",
    [
        ("asset_type", "gif"),
        ("asset_source", "stolen"),
        ("sha256sum", "abc"),
        ("sha256sum", "g" * 64),
        ("sha256sum", "A" * 63 + "!"),
        ("civitai_id", 0),
        ("civitai_id", -5),
        ("asset_url", ""),
    ],
)
def test_it_refuses_bad_asset_values_in_full_clean_and_database(field, value):
    asset = make_asset(**{field: value})
    with pytest.raises(ValidationError) as exc:
        asset.full_clean()
    assert field in exc.value.message_dict
    before = table_counts()
    with pytest.raises(IntegrityError), transaction.atomic():
        # bypass save() normalisation: write the raw value the way a buggy script would
        Asset.objects.bulk_create([asset])
    assert table_counts() == before


@pytest.mark.parametrize(
    "field, value",
    [("status", "deleted"), ("civitai_id", 0), ("civitai_id", -1)],
)
def test_it_refuses_bad_post_values_in_full_clean_and_database(field, value):
    post = Post(civitai_id=123, civitai_url="https://civitai.com/posts/123")
    setattr(post, field, value)
    with pytest.raises(ValidationError) as exc:
        post.full_clean()
    assert field in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.bulk_create([post])
    assert not Post.objects.exists()


def test_it_refuses_an_empty_prompt():
    with pytest.raises(ValidationError):
        Prompt(prompt_text="").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Prompt.objects.create(prompt_text="")


def test_it_refuses_duplicate_sha256_and_civitai_ids():
    make_asset(sha256sum=GOOD_SHA, civitai_id=5).save()
    dup = make_asset(sha256sum=GOOD_SHA)
    with pytest.raises(ValidationError) as exc:
        dup.full_clean()
    assert "sha256sum" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_asset(civitai_id=5).save()
    Post.objects.create(civitai_id=77, civitai_url="https://civitai.com/posts/77")
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.create(civitai_id=77, civitai_url="https://civitai.com/posts/77")
    assert Asset.objects.count() == 1
    assert Post.objects.count() == 1


def test_it_allows_many_assets_without_sha256_or_civitai_id():
    for _ in range(3):
        make_asset().save()
    assert Asset.objects.filter(sha256sum__isnull=True, civitai_id__isnull=True).count() == 3


def test_it_stores_sha256_lower_case():
    asset = make_asset(sha256sum="ABCDEF" + "0" * 58)
    asset.save()
    asset.refresh_from_db()
    assert asset.sha256sum == "abcdef" + "0" * 58


def test_it_keeps_history_of_every_change(superuser):
    post = Post.objects.create(civitai_id=9, civitai_url="https://civitai.com/posts/9", title="a")
    post.title = "b"
    post._history_user = superuser
    post.save()
    records = list(post.history.order_by("history_date"))
    assert [r.title for r in records] == ["a", "b"]
    delta = records[1].diff_against(records[0])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("title", "a", "b")]
    assert records[1].history_user == superuser


def test_it_defaults_the_post_account_from_settings(settings):
    settings.CIVITAI_ACCOUNT = "team-x"
    post = Post.objects.create(civitai_id=10, civitai_url="https://civitai.com/posts/10")
    assert post.civitai_account == "team-x"
    assert post.status == "published"


def test_it_links_prompts_both_ways():
    gen = Prompt.objects.create(prompt_text="make a fox")
    cap = Prompt.objects.create(prompt_text="a fox", purpose="caption")
    asset = make_asset(input_prompt=gen, output_prompt=cap)
    asset.save()
    assert list(gen.generated_assets.all()) == [asset]
    assert list(cap.derived_from_assets.all()) == [asset]
    child = make_asset(asset_url="https://example.com/b.png")
    child.save()
    child.input_assets.add(asset)
    assert list(asset.derived_assets.all()) == [child]


@pytest.mark.django_db
def test_the_database_refuses_an_asset_as_its_own_input():
    from django.db import IntegrityError, transaction

    from tracking.models import AssetInput

    a = Asset.objects.create(asset_url="s3://b/a.png", asset_type="image", asset_source="upload")
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetInput.objects.create(from_asset=a, to_asset=a)
    assert not AssetInput.objects.exists()


def test_choice_constraints_are_built_from_the_text_choices():
    from tracking.models import AssetSource, AssetType, PostStatus

    conditions = {
        c.name: c.condition
        for model in (Asset, Post)
        for c in model._meta.constraints
        if hasattr(c, "condition")
    }
    assert conditions["post_status_valid"].children == [("status__in", PostStatus.values)]
    assert conditions["asset_type_valid"].children == [("asset_type__in", AssetType.values)]
    assert conditions["asset_source_valid"].children == [("asset_source__in", AssetSource.values)]


def test_history_keeps_the_lineage_with_one_query_less_on_create(alice):
    """A created record's "+" history row reads no links (it can have none); every later
    row, the link change's own and an ordinary save's, copies them as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.tracking.recording_helpers import asset

    links_table = Asset.input_assets.through._meta.db_table
    with CaptureQueriesContext(connection) as plain_create:
        asset(alice)
    assert plain_create.captured_queries  # the create did run
    assert not any(links_table in q["sql"] for q in plain_create.captured_queries)

    parents = sorted(int(asset(alice)["asset_id"]) for _ in range(2))
    made = asset(alice, input_asset_ids=[str(pk) for pk in parents])
    record = Asset.objects.get(pk=made["asset_id"])
    record.metadata = {"later": True}
    record.save()
    rows = list(record.history.order_by("history_id"))
    links = [sorted(link.to_asset_id for link in row.input_assets.all()) for row in rows]
    assert [row.history_type for row in rows] == ["+", "~", "~"]
    assert links == [[], parents, parents]


def test_each_history_access_gets_its_own_manager_of_one_class(alice):
    first = Prompt.objects.create(prompt_text="one", created_by=alice)
    second = Prompt.objects.create(prompt_text="two", created_by=alice)
    assert type(first.history) is type(second.history)  # built once, not per access
    assert first.history.instance == first and second.history.instance == second
    assert [h.prompt_text for h in first.history.all()] == ["one"]
    assert Prompt.history.count() == 2 and Prompt.history.instance is None
