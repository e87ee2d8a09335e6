"""Perceptual hashes of real generated files, and the indexed near-duplicate query."""

import itertools
import random

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from tests.tracking import media_samples as media
from tracking import perceptual
from tracking.file_facts import read_facts
from tracking.models import Asset
from tracking.perceptual import PerceptualError, hamming, image_hashes, video_hashes

SEEDS = range(6)


# --- pure functions --------------------------------------------------------------


def test_it_stores_hashes_as_signed_64_bit_and_back():
    for value in (0, 1, 2**63 - 1, 2**63, 2**64 - 1):
        signed = perceptual.to_signed(value)
        assert -(2**63) <= signed < 2**63
        assert perceptual.to_unsigned(signed) == value
    assert hamming(perceptual.to_signed(2**64 - 1), 0) == 64


def test_it_cuts_a_hash_into_four_16_bit_bands():
    assert perceptual.bands(0x0123_4567_89AB_CDEF) == (0x0123, 0x4567, 0x89AB, 0xCDEF)
    assert perceptual.bands(perceptual.to_signed(2**64 - 1)) == (0xFFFF,) * 4


def test_it_probes_every_value_within_the_radius():
    assert perceptual.within(5, 0) == [5]
    probes = perceptual.within(0, 2)
    assert len(probes) == len(set(probes)) == 1 + 16 + 120
    assert all(bin(p).count("1") <= 2 for p in probes)


@pytest.mark.parametrize("k", range(perceptual.MAX_DISTANCE + 1))
def test_the_band_radii_miss_no_hash_within_k(k):
    radii = perceptual.band_radii(k)
    # Every way k or fewer differing bits can fall into the four bands: one band must
    # be within its probed radius.
    for spread in itertools.product(range(k + 1), repeat=perceptual.BANDS):
        if sum(spread) <= k:
            assert any(d <= r for d, r in zip(spread, radii, strict=True)), (k, spread)
    # and none is probed further than plain pigeonhole (k // 4) would.
    assert max(radii) == k // perceptual.BANDS


def test_the_band_radii_probe_a_third_as_many_values_at_the_default_distance():
    probes = sum(len(perceptual.within(0, r)) for r in perceptual.band_radii(8) if r >= 0)
    assert perceptual.band_radii(8) == (2, 1, 1, 1)
    assert probes == 137 + 3 * 17 < 4 * 137


@pytest.mark.parametrize("seed", SEEDS)
def test_it_finds_resized_recompressed_and_cropped_copies_close(seed):
    image = media.picture(seed)
    original = image_hashes(media.encode(image))
    copies = {
        "half size": media.encode(media.resized(image, 0.5)),
        "jpeg q60": media.encode(image, "JPEG", quality=60),
        "resized jpeg": media.encode(media.resized(image, 0.6), "JPEG", quality=75),
        "webp": media.encode(image, "WEBP", quality=70),
        "cropped 2%": media.encode(media.cropped(image, 0.02)),
    }
    for name, data in copies.items():
        copy = image_hashes(data)
        assert hamming(original.phash, copy.phash) <= 6, name
        assert hamming(original.dhash, copy.dhash) <= 8, name


@pytest.mark.parametrize("seed", SEEDS)
def test_it_keeps_unrelated_images_far_apart(seed):
    a = image_hashes(media.png(seed))
    b = image_hashes(media.png(seed + 100))
    assert hamming(a.phash, b.phash) > 2 * perceptual.DEFAULT_MAX_DISTANCE


def test_it_finds_a_reencoded_video_close_and_another_video_far():
    original = media.video(1)
    copy = media.reencoded(original, size=(256, 192), bit_rate=150_000)
    assert copy != original
    a, b, c = video_hashes(original), video_hashes(copy), video_hashes(media.video(40))
    assert len(a.frames) == perceptual.VIDEO_FRAMES
    assert hamming(a.phash, b.phash) <= 4
    assert perceptual.signature_distance(a.video_signature, b.video_signature) <= 6
    assert hamming(a.phash, c.phash) > 2 * perceptual.DEFAULT_MAX_DISTANCE
    assert perceptual.signature_distance(a.video_signature, c.video_signature) > 16


def test_it_refuses_a_decompression_bomb_from_its_header(settings):
    settings.PERCEPTUAL_MAX_PIXELS = 1_000_000
    bomb = media.encode(media.picture(1, (1200, 1000)))
    with pytest.raises(PerceptualError, match="more than PERCEPTUAL_MAX_PIXELS"):
        image_hashes(bomb)


def test_it_refuses_a_png_header_claiming_huge_dimensions():
    data = bytearray(media.png(2))
    # IHDR width/height at bytes 16..24: claim 100000 x 100000 (CRC now wrong too).
    data[16:24] = (100_000).to_bytes(4, "big") * 2
    with pytest.raises(PerceptualError):
        image_hashes(bytes(data))


def test_it_refuses_video_frames_above_the_limit(settings):
    settings.PERCEPTUAL_MAX_FRAME_PIXELS = 100 * 100
    with pytest.raises(PerceptualError, match="PERCEPTUAL_MAX_FRAME_PIXELS"):
        video_hashes(media.video(3, frames=6))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        media.png(4)[:300],
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500,
        b"GIF89a" + b"\xff" * 100,
    ],
    ids=["empty", "png-header-only", "truncated-png", "garbage-jpeg", "empty-mp4", "bad-gif"],
)
def test_it_reports_malformed_files_as_problems_not_exceptions(data):
    facts = read_facts(data, "image")
    assert facts.phash is None
    assert facts.problems or not data


def test_a_truncated_video_gives_a_problem_not_an_exception():
    data = media.video(5, frames=12)
    facts = read_facts(data[: len(data) // 3], "video")
    assert facts.phash is None
    assert facts.problems


def test_the_bytes_decide_the_kind_read():
    facts = read_facts(media.png(6), "video")
    assert facts.kind == "image"
    assert facts.phash is not None and facts.video_signature is None


# --- database -------------------------------------------------------------------


def _asset(n: int, phash: int | None, kind: str = "image") -> Asset:
    asset = Asset(asset_url=f"https://cdn.example/{n}.png", asset_type=kind, asset_source="upload")
    if phash is not None:
        for name, value in Asset.perceptual_values(phash).items():
            setattr(asset, name, value)
    asset.save()
    return asset


def _flip(value: int, bits: list[int]) -> int:
    for b in bits:
        value ^= 1 << b
    return value


@pytest.mark.django_db
def test_near_finds_hashes_within_k_whichever_bands_differ():
    rng = random.Random(7)
    query = rng.getrandbits(64)
    # Spread the flipped bits over every band, so no band is equal to the query's.
    near = {d: _asset(d, _flip(query, rng.sample(range(64), d))) for d in (0, 3, 5, 8)}
    far = _asset(100, _flip(query, rng.sample(range(64), 9)))
    for _ in range(30):
        _asset(200 + _, rng.getrandbits(64))
    found = list(Asset.objects.near(query, 8))
    assert [(a.pk, a.distance) for a in found] == [(near[d].pk, d) for d in (0, 3, 5, 8)]
    assert far.pk not in {a.pk for a in found}
    assert [a.pk for a in Asset.objects.near(query, 3)] == [near[0].pk, near[3].pk]


@pytest.mark.django_db
def test_near_finds_a_match_whose_every_band_differs():
    query = 0x0123_4567_89AB_CDEF
    spread = _flip(query, [0, 17, 33, 49, 2, 18, 34, 50])  # two bits in each band
    asset = _asset(1, spread)
    assert [(a.pk, a.distance) for a in Asset.objects.near(query, 8)] == [(asset.pk, 8)]
    assert list(Asset.objects.near(query, 7)) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spread", [(3, 3, 1, 1), (4, 2, 1, 1), (3, 2, 2, 1), (5, 1, 1, 1), (3, 3, 2, 0), (6, 1, 1, 0)]
)
def test_near_finds_a_match_whose_first_band_is_past_two_bits(spread):
    # k = 8 probes band 0 within 2 bits and the others within 1 (band_radii): a match
    # whose first band differs in 3 or more bits is found through another band.
    query = 0x0123_4567_89AB_CDEF
    bits = [16 * (3 - band) + i for band, count in enumerate(spread) for i in range(count)]
    asset = _asset(1, _flip(query, bits))
    assert [(a.pk, a.distance) for a in Asset.objects.near(query, 8)] == [(asset.pk, 8)]


@pytest.mark.django_db
def test_near_costs_one_query_and_uses_the_band_indexes():
    rng = random.Random(3)
    for n in range(40):
        _asset(n, rng.getrandbits(64))
    with CaptureQueriesContext(connection) as queries:
        list(Asset.objects.near(rng.getrandbits(64), 8))
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert all(f"phash_b{i}" in sql for i in range(4))


@pytest.mark.django_db
def test_near_refuses_a_distance_past_the_bound():
    from tracking.errors import InvalidInput

    with pytest.raises(InvalidInput, match="max_distance must be between 0 and 15"):
        Asset.objects.near(0, perceptual.MAX_DISTANCE + 1)


@pytest.mark.django_db
def test_the_database_refuses_bands_that_do_not_match_the_hash():
    asset = _asset(1, 12345)
    with pytest.raises(IntegrityError):
        Asset.objects.filter(pk=asset.pk).update(phash_b3=999)


@pytest.mark.django_db
def test_save_keeps_the_bands_in_step_with_the_hash():
    asset = _asset(1, 2**63 + 5)
    asset.phash = perceptual.to_signed(0xFFFF_0000_FFFF_0000)
    asset.save()
    asset.refresh_from_db()
    assert (asset.phash_b0, asset.phash_b1, asset.phash_b2, asset.phash_b3) == (
        0xFFFF,
        0,
        0xFFFF,
        0,
    )


def test_a_long_video_is_sampled_by_seeking_and_still_matches_its_copy():
    long_clip = media.video(7, frames=52, fps=2, size=(160, 120))  # 26 s: past the seek limit
    copy = media.reencoded(long_clip, size=(128, 96), bit_rate=100_000)
    a, b = video_hashes(long_clip), video_hashes(copy)
    assert len(a.frames) == perceptual.VIDEO_FRAMES
    assert hamming(a.phash, b.phash) <= 4
    assert perceptual.signature_distance(a.video_signature, b.video_signature) <= 6
    other = video_hashes(media.video(70, frames=52, fps=2, size=(160, 120)))
    assert hamming(a.phash, other.phash) > 2 * perceptual.DEFAULT_MAX_DISTANCE
