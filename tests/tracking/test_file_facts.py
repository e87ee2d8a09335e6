"""The file readers run on the bytes the hashing read: bounded, contained, extensible."""

import hashlib

import pytest

from tests.fakes.media_server import serving
from tests.tracking import media_samples as media
from tracking import file_facts, hashing
from tracking.file_facts import facts_of_path, read_facts


def test_one_download_gives_the_sha256_and_the_facts():
    body = media.png(61)
    with serving({"/a.png": body}) as server:
        result, facts = facts_of_path(server.url("/a.png"), "image")
    assert result.sha256sum == hashlib.sha256(body).hexdigest()
    assert facts.kind == "image" and facts.phash is not None and facts.problems == []
    assert len(server.requests) == 1


def test_a_file_past_perceptual_max_bytes_is_hashed_but_not_read(settings, tmp_path):
    settings.HASH_ALLOWED_ROOTS = [str(tmp_path)]
    body = media.png(62)
    (tmp_path / "big.png").write_bytes(body)
    settings.PERCEPTUAL_MAX_BYTES = len(body) - 1
    result, facts = facts_of_path(str(tmp_path / "big.png"), "image")
    assert result.sha256sum == hashlib.sha256(body).hexdigest()
    assert facts.phash is None
    assert "larger than PERCEPTUAL_MAX_BYTES" in facts.problems[0]


def test_the_spool_moves_to_disk_past_its_memory_share(settings, tmp_path):
    settings.HASH_ALLOWED_ROOTS = [str(tmp_path)]
    settings.PERCEPTUAL_SPOOL_MEMORY = 1024
    body = media.png(63)
    (tmp_path / "a.png").write_bytes(body)
    with file_facts.spool() as copy:
        hashing.hash_path(str(tmp_path / "a.png"), spool=copy)
        assert copy.file._rolled  # a real temporary file, not memory
        assert copy.stream().read() == body
        assert read_facts(copy, "image").phash is not None


def test_a_registered_reader_runs_and_its_crash_is_contained(monkeypatch):
    seen = []

    def names_the_size(stream, kind, facts):
        facts.extra["size"] = len(stream.read())
        seen.append(kind)

    def crashes(stream, kind, facts):
        raise RuntimeError("boom")

    monkeypatch.setattr(file_facts, "READERS", list(file_facts.READERS))
    file_facts.register(crashes)
    file_facts.register(names_the_size)
    body = media.png(64)
    facts = read_facts(body, None)
    assert seen == ["image"] and facts.extra["size"] == len(body)
    assert facts.phash is not None  # the reader before the crash still counted
    assert facts.problems == ["crashes: the file could not be read (RuntimeError)"]


@pytest.mark.parametrize("kind", ["image", "video", None])
def test_random_bytes_never_raise(kind):
    import random

    rng = random.Random(kind or "none")
    for _ in range(20):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 4000)))
        facts = read_facts(data, kind)
        assert facts.phash is None
