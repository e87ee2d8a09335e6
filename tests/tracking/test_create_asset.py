import hashlib

import pytest
from django.test import override_settings

from tests.conftest import table_counts
from tests.fakes.media_server import serving
from tests.tracking.recording_helpers import SHA_A, SHA_B, asset, post, prompt
from tracking import services
from tracking.errors import Duplicate, InvalidInput, RecordNotFound
from tracking.models import Asset

pytestmark = pytest.mark.django_db

ASSET_KEYS = {
    "asset_id",
    "asset_url",
    "asset_type",
    "asset_source",
    "sha256sum",
    "civitai_id",
    "civitai_url",
    "post_id",
    "input_prompt_id",
    "output_prompt_id",
    "input_asset_ids",
    "metadata",
    "created_by",
    "on_behalf_of",
    "created_at",
    "updated_at",
}
BASE = {"asset_url": "s3://bucket/a.png", "asset_type": "image", "asset_source": "generated"}


def test_it_records_an_asset_linked_to_prompts_post_and_inputs(alice):
    p_in, p_out = prompt(alice), prompt(alice, "a caption")
    the_post = post(alice)
    source = asset(alice, asset_url="s3://bucket/source.png")
    result = services.create_asset(
        user=alice,
        asset_url="https://image.civitai.com/video/xyz.mp4",
        asset_type="video",
        asset_source="upload",
        input_prompt_id=p_in["prompt_id"],
        output_prompt_id=p_out["prompt_id"],
        post_id=the_post["post_id"],
        civitai_id="106432973",
        civitai_url="https://civitai.com/images/106432973",
        sha256sum=SHA_A.upper(),
        input_asset_ids=[source["asset_id"]],
        metadata={"duration": 4},
    )
    data = result["asset"]
    assert set(data) == ASSET_KEYS
    assert result["asset_id"] == data["asset_id"]
    assert result["sha256sum"] == SHA_A == data["sha256sum"]  # stored lower-case
    assert data["input_prompt_id"] == p_in["prompt_id"]
    assert data["output_prompt_id"] == p_out["prompt_id"]
    assert data["post_id"] == the_post["post_id"]
    assert data["input_asset_ids"] == [source["asset_id"]]
    assert data["civitai_id"] == "106432973"
    assert data["created_by"] == "alice"
    stored = Asset.objects.get(pk=int(data["asset_id"]))
    assert stored.sha256sum == SHA_A
    assert list(stored.input_assets.values_list("pk", flat=True)) == [int(source["asset_id"])]


def test_it_leaves_sha256_null_for_a_location_it_cannot_read(alice):
    result = services.create_asset(user=alice, **BASE)
    assert result["sha256sum"] is None
    assert result["asset"]["input_asset_ids"] == [] and result["asset"]["post_id"] is None


def test_it_hashes_a_readable_url_when_no_sha256_is_given(alice):
    body = b"\x89PNG fake image bytes" * 100
    with serving({"/img.png": body}) as server:
        result = services.create_asset(user=alice, **(BASE | {"asset_url": server.url("/img.png")}))
    assert result["sha256sum"] == hashlib.sha256(body).hexdigest()
    assert [r.path for r in server.requests] == ["/img.png"]


def test_it_hashes_an_allowed_local_file(alice, tmp_path):
    (tmp_path / "a.png").write_bytes(b"local bytes")
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        result = services.create_asset(
            user=alice, **(BASE | {"asset_url": str(tmp_path / "a.png")})
        )
    assert result["sha256sum"] == hashlib.sha256(b"local bytes").hexdigest()


def test_it_does_not_read_a_file_outside_the_allowed_roots(alice, tmp_path):
    (tmp_path / "secret").write_bytes(b"x")
    with override_settings(HASH_ALLOWED_ROOTS=[]):
        result = services.create_asset(
            user=alice, **(BASE | {"asset_url": str(tmp_path / "secret")})
        )
    assert result["sha256sum"] is None


def test_it_records_the_asset_with_null_sha256_when_the_download_fails(alice):
    with serving({}) as server:
        result = services.create_asset(user=alice, **(BASE | {"asset_url": server.url("/gone")}))
    assert result["sha256sum"] is None
    assert Asset.objects.filter(pk=int(result["asset_id"])).exists()


def test_it_refuses_an_auto_hashed_duplicate_naming_the_existing_asset(alice):
    body = b"same file"
    first = asset(alice, sha256sum=hashlib.sha256(body).hexdigest())
    with serving({"/copy.png": body}) as server, pytest.raises(Duplicate) as exc:
        services.create_asset(user=alice, **(BASE | {"asset_url": server.url("/copy.png")}))
    assert exc.value.message == (
        f"An asset with this sha256sum already exists (asset_id {first['asset_id']})"
    )


def test_it_refuses_a_duplicate_sha256_given_in_another_case(alice):
    first = asset(alice, sha256sum=SHA_A)
    before = table_counts()
    with pytest.raises(Duplicate) as exc:
        asset(alice, sha256sum=SHA_A.upper(), asset_url="s3://bucket/other.png")
    assert exc.value.message == (
        f"An asset with this sha256sum already exists (asset_id {first['asset_id']})"
    )
    assert table_counts() == before


def test_it_refuses_a_duplicate_civitai_id_naming_the_existing_asset(alice):
    first = asset(alice, civitai_id="106433016")
    before = table_counts()
    with pytest.raises(Duplicate) as exc:
        asset(alice, civitai_id="106433016", sha256sum=SHA_B)
    assert exc.value.message == (
        f"An asset with this civitai_id already exists (asset_id {first['asset_id']})"
    )
    assert table_counts() == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"asset_type": "gif"}, 'asset_type must be "image" or "video"'),
        ({"asset_type": None}, "asset_type is required"),
        ({"asset_source": "found"}, 'asset_source must be "generated" or "upload"'),
        ({"asset_url": ""}, "asset_url must not be empty"),
        ({"sha256sum": "abc123"}, "sha256sum must be 64 hexadecimal characters"),
        ({"sha256sum": "g" * 64}, "sha256sum must be 64 hexadecimal characters"),
        ({"post_id": "12a"}, "post_id must be a valid integer ID"),
        ({"input_prompt_id": "1.5"}, "input_prompt_id must be a valid integer ID"),
        ({"output_prompt_id": ""}, "output_prompt_id must be a valid integer ID"),
        ({"input_asset_ids": "1,2"}, "input_asset_ids must be a list of integer IDs"),
        ({"input_asset_ids": ["x"]}, "input_asset_ids must be a valid integer ID"),
        ({"metadata": "x"}, "metadata must be a JSON object"),
        (
            {"civitai_url": "https://civitai.com/images/5"},
            "civitai_url points to image 5 but civitai_id is not set",
        ),
        (
            {"civitai_id": "6", "civitai_url": "https://civitai.com/images/5"},
            "civitai_url points to image 5 but civitai_id is 6",
        ),
        (
            {"civitai_id": "5", "civitai_url": "https://civitai.com/posts/5"},
            "civitai_url must be a Civitai image URL like https://civitai.com/images/106433016",
        ),
        ({"prompt_id": "1"}, "Unknown parameter for create_asset: prompt_id"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(alice, params, message):
    before = table_counts()
    with pytest.raises(InvalidInput) as exc:
        services.create_asset(user=alice, **(BASE | params))
    assert message in exc.value.message
    assert table_counts() == before


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("post_id", "Record not found: post_id 999"),
        ("input_prompt_id", "Record not found: input_prompt_id 999"),
        ("output_prompt_id", "Record not found: output_prompt_id 999"),
    ],
)
def test_it_refuses_links_to_missing_records_and_writes_nothing(alice, field, message):
    before = table_counts()
    with pytest.raises(RecordNotFound) as exc:
        services.create_asset(user=alice, **(BASE | {field: "999"}))
    assert exc.value.message == message
    assert table_counts() == before


def test_it_refuses_a_missing_input_asset_and_writes_nothing(alice):
    source = asset(alice)
    before = table_counts()
    with pytest.raises(RecordNotFound) as exc:
        services.create_asset(
            user=alice, **(BASE | {"input_asset_ids": [source["asset_id"], "999"]})
        )
    assert exc.value.message == "Record not found: input_asset_ids 999"
    assert table_counts() == before


def test_a_create_writes_the_asset_and_its_history_without_a_savepoint_of_its_own(
    alice, django_assert_num_queries, is_postgres
):
    # The test's transaction turns the service's atomic() into the one savepoint seen
    # here. Inside it PostgreSQL writes both rows in one statement (Asset.insert_new),
    # SQLite with the ORM's two INSERTs.
    writes = ["WITH"] if is_postgres else ["INSERT", "INSERT"]
    with django_assert_num_queries(2 + len(writes)) as queries:
        services.create_asset(user=alice, sha256sum=SHA_A, **BASE)
    verbs = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert verbs == ["SAVEPOINT", *writes, "RELEASE"]
