"""find_similar_assets and create_asset's near-duplicate warning, with real image files.

Copies are made the way they happen: a PNG saved again as JPEG, resized, cropped a
little. The files are served over loopback HTTP (``tests/fakes/media_server``) or
read from an allowed folder, as the hashing rules require.
"""

import pytest
from django.test import override_settings

from tests.conftest import table_counts
from tests.fakes.media_server import serving
from tests.tracking import media_samples as media
from tracking import services
from tracking.errors import InvalidInput, RecordNotFound
from tracking.models import Asset

pytestmark = pytest.mark.django_db

IMAGE = {"asset_type": "image", "asset_source": "generated"}


@pytest.fixture
def files(tmp_path):
    """An allowed folder with an original, three copies of it and an unrelated image."""
    picture = media.picture(11)
    made = {
        "original.png": media.encode(picture),
        "copy.jpg": media.encode(picture, "JPEG", quality=55),
        "small.png": media.encode(media.resized(picture, 0.5)),
        "cropped.png": media.encode(media.cropped(picture, 0.02)),
        "other.png": media.png(12),
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    with override_settings(HASH_ALLOWED_ROOTS=[str(tmp_path)]):
        yield tmp_path


def record(user, path, **extra):
    return services.create_asset(user=user, asset_url=str(path), **IMAGE, **extra)


def test_create_asset_stores_the_perceptual_hashes_of_the_file_it_hashes(alice, files):
    result = record(alice, files / "original.png")
    asset = Asset.objects.get(pk=result["asset_id"])
    assert asset.phash is not None and asset.dhash is not None
    assert asset.perceptual_checked_at is not None and asset.video_signature is None
    assert result["similar_assets"] == []


def test_create_asset_warns_about_a_recompressed_copy_and_still_records_it(alice, files):
    original = record(alice, files / "original.png")
    record(alice, files / "other.png")
    copy = record(alice, files / "copy.jpg")
    assert copy["asset_id"] != original["asset_id"]
    assert [s["asset_id"] for s in copy["similar_assets"]] == [original["asset_id"]]
    assert 0 <= copy["similar_assets"][0]["distance"] <= 4


def test_similar_assets_are_sorted_by_distance(alice, files):
    ids = {
        name: record(alice, files / name)["asset_id"] for name in ("original.png", "cropped.png")
    }
    small = record(alice, files / "small.png")
    distances = [s["distance"] for s in small["similar_assets"]]
    assert distances == sorted(distances)
    assert {s["asset_id"] for s in small["similar_assets"]} == set(ids.values())


def test_an_exact_copy_is_still_refused_as_a_duplicate(alice, files):
    from tracking.errors import Duplicate

    record(alice, files / "original.png")
    (files / "again.png").write_bytes((files / "original.png").read_bytes())
    before = table_counts()
    with pytest.raises(Duplicate, match="sha256sum already exists"):
        record(alice, files / "again.png")
    assert table_counts() == before


def test_a_downloaded_image_is_hashed_from_the_same_read(alice):
    body = media.encode(media.picture(21), "JPEG", quality=80)
    with serving({"/a.jpg": body}) as server:
        result = services.create_asset(user=alice, asset_url=server.url("/a.jpg"), **IMAGE)
    assert [r.path for r in server.requests] == ["/a.jpg"]  # read once, for both hashes
    assert Asset.objects.get(pk=result["asset_id"]).phash is not None


def test_a_hostile_image_is_recorded_without_a_perceptual_hash(alice, files):
    data = bytearray(media.png(3))
    data[16:24] = (60_000).to_bytes(4, "big") * 2  # a header claiming 60000 x 60000
    (files / "bomb.png").write_bytes(bytes(data))
    result = record(alice, files / "bomb.png")
    asset = Asset.objects.get(pk=result["asset_id"])
    assert asset.sha256sum and asset.phash is None
    assert result["similar_assets"] == []


def test_find_similar_assets_by_asset_id_finds_copies_not_unrelated_images(alice, files):
    ids = {n: record(alice, files / n)["asset_id"] for n in sorted(p.name for p in files.iterdir())}
    result = services.find_similar_assets(user=alice, asset_id=ids["original.png"])
    found = {s["asset_id"]: s["distance"] for s in result["similar_assets"]}
    assert set(found) == {ids["copy.jpg"], ids["small.png"], ids["cropped.png"]}
    assert result["asset_id"] == ids["original.png"] and result["max_distance"] == 8
    assert (
        result["similar_assets"][0]["asset"]["asset_id"] == result["similar_assets"][0]["asset_id"]
    )
    assert len(result["phash"]) == 16 and result["note"] is None


def test_find_similar_assets_by_sha256_and_by_path_agree(alice, files):
    original = record(alice, files / "original.png")
    copy = record(alice, files / "copy.jpg")
    by_sha = services.find_similar_assets(user=alice, sha256sum=copy["sha256sum"])
    by_path = services.find_similar_assets(user=alice, path=str(files / "small.png"))
    assert [s["asset_id"] for s in by_sha["similar_assets"]] == [original["asset_id"]]
    assert {s["asset_id"] for s in by_path["similar_assets"]} == {
        original["asset_id"],
        copy["asset_id"],
    }
    assert by_path["asset_id"] is None  # the file itself is not recorded


def test_a_smaller_max_distance_drops_the_farther_matches(alice, files):
    original = record(alice, files / "original.png")
    record(alice, files / "cropped.png")
    result = services.find_similar_assets(
        user=alice, asset_id=original["asset_id"], max_distance=0, limit=1
    )
    assert all(s["distance"] == 0 for s in result["similar_assets"])
    assert len(result["similar_assets"]) <= 1


def test_an_asset_without_a_perceptual_hash_says_so(alice):
    bare = services.create_asset(user=alice, asset_url="s3://b/x.png", **IMAGE)
    result = services.find_similar_assets(user=alice, asset_id=bare["asset_id"])
    assert result["similar_assets"] == [] and result["phash"] is None
    assert "no perceptual hash yet" in result["note"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "Exactly one of asset_id, sha256sum or path is required, got none"),
        (
            {"asset_id": "1", "path": "/x.png"},
            "Exactly one of asset_id, sha256sum or path is required, got asset_id and path",
        ),
        ({"asset_id": "1", "max_distance": 16}, "max_distance must be a whole number"),
        ({"asset_id": "1", "limit": 0}, "limit must be a whole number"),
    ],
)
def test_it_refuses_bad_arguments_clearly(alice, arguments, message):
    with pytest.raises(InvalidInput, match=message):
        services.find_similar_assets(user=alice, **arguments)


def test_unknown_records_and_undecodable_files_are_clear_errors(alice, files):
    with pytest.raises(RecordNotFound, match="asset_id 999"):
        services.find_similar_assets(user=alice, asset_id="999")
    with pytest.raises(RecordNotFound, match="sha256sum"):
        services.find_similar_assets(user=alice, sha256sum="a" * 64)
    (files / "broken.png").write_bytes(media.png(5)[:200])
    with pytest.raises(InvalidInput, match="perceptually: perceptual_reader: the image could"):
        services.find_similar_assets(user=alice, path=str(files / "broken.png"))
    with pytest.raises(InvalidInput, match="outside the allowed folders"):
        services.find_similar_assets(user=alice, path="/etc/passwd")


def test_the_answer_costs_a_fixed_number_of_queries(alice, files, django_assert_max_num_queries):
    original = record(alice, files / "original.png")
    for n in range(6):
        data = media.encode(media.resized(media.picture(11), 0.9 - n * 0.05))
        (files / f"c{n}.png").write_bytes(data)
        record(alice, files / f"c{n}.png")
    with django_assert_max_num_queries(4):
        result = services.find_similar_assets(user=alice, asset_id=original["asset_id"])
    assert len(result["similar_assets"]) >= 6
