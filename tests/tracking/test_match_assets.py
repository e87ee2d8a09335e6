"""``manage.py match_assets``: local files matched to tracked assets by sha256."""

import hashlib
import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tracking.matching import match_files
from tracking.models import Asset, Post

pytestmark = pytest.mark.django_db


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def library(tmp_path, settings):
    """A folder tree of files, two of which are tracked assets (one in a post)."""
    settings.HASH_ALLOWED_ROOTS = []  # the operator's command does not need roots
    settings.HASH_MAX_BYTES = 10  # nor is it capped
    top = tmp_path / "renders"
    (top / "batch1" / "deep").mkdir(parents=True)
    files = {
        "a.png": b"image A bytes",
        "batch1/b.mp4": b"video B bytes" * 1000,
        "batch1/deep/c.png": b"untracked C",
    }
    for name, data in files.items():
        (top / name).write_bytes(data)
    post = Post.objects.create(
        civitai_id=23602354, civitai_url="https://civitai.com/posts/23602354"
    )
    in_post = Asset.objects.create(
        asset_url="https://cdn.example/a.png",
        asset_type="image",
        asset_source="generated",
        sha256sum=sha(files["a.png"]),
        civitai_id=106433016,
        civitai_url="https://civitai.com/images/106433016",
        post=post,
    )
    loose = Asset.objects.create(
        asset_url="/data/b.mp4",
        asset_type="video",
        asset_source="upload",
        sha256sum=sha(files["batch1/b.mp4"]).upper(),  # stored lower-case by the model
    )
    Asset.objects.create(
        asset_url="https://cdn.example/nohash.png", asset_type="image", asset_source="upload"
    )
    return {"top": top, "files": files, "post": post, "in_post": in_post, "loose": loose}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("match_assets", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_matches_files_in_folders_recursively(library):
    top, post, in_post, loose = (
        library["top"],
        library["post"],
        library["in_post"],
        library["loose"],
    )

    report = match_files([str(top)])

    assert [(r.path, r.asset["asset_id"]) for r in report.matches] == [
        (str(top / "a.png"), str(in_post.pk)),
        (str(top / "batch1" / "b.mp4"), str(loose.pk)),
    ]
    assert report.matches[0].asset == {
        "asset_id": str(in_post.pk),
        "civitai_id": "106433016",
        "civitai_url": "https://civitai.com/images/106433016",
        "asset_url": "https://cdn.example/a.png",
        "post": {
            "post_id": str(post.pk),
            "civitai_id": "23602354",
            "civitai_url": "https://civitai.com/posts/23602354",
        },
    }
    assert report.matches[1].asset["post"] is None
    assert report.matches[1].size_bytes == len(library["files"]["batch1/b.mp4"])
    assert [(r.path, r.sha256sum) for r in report.misses] == [
        (str(top / "batch1" / "deep" / "c.png"), sha(b"untracked C"))
    ]
    assert report.errors == []


def test_it_prints_matches_misses_and_a_summary(library):
    top, in_post = library["top"], library["in_post"]

    out, err = run(top / "a.png", top / "batch1" / "deep" / "c.png")

    lines = out.splitlines()
    assert lines[0] == (
        f"MATCH  {top / 'a.png'} -> asset {in_post.pk}, civitai_id 106433016,"
        f" https://civitai.com/images/106433016, post {library['post'].pk}"
        " (civitai 23602354, https://civitai.com/posts/23602354)"
    )
    assert lines[1] == f"MISS   {top / 'batch1' / 'deep' / 'c.png'} (sha256 {sha(b'untracked C')})"
    assert lines[-1] == "2 files: 1 matched, 1 not tracked, 0 unreadable"
    assert err == ""  # no terminal: no progress bar, no errors


def test_it_prints_json(library):
    out, _ = run("--json", library["top"])
    data = json.loads(out)
    assert data["summary"] == {"files": 3, "matched": 2, "missed": 1, "errors": 0}
    assert data["matches"][0]["asset"]["civitai_url"] == "https://civitai.com/images/106433016"
    assert data["misses"][0]["sha256sum"] == sha(b"untracked C")


def test_it_reports_an_unreadable_file_and_carries_on(library):
    top = library["top"]
    (top / "batch1" / "dangling.png").symlink_to(top / "was-deleted.png")
    os.mkfifo(top / "batch1" / "pipe")
    missing = top / "no-such-file.png"

    out, _ = run("--json", missing, top)

    data = json.loads(out)
    assert data["summary"] == {"files": 6, "matched": 2, "missed": 1, "errors": 3}
    assert data["errors"] == [
        {"path": str(missing), "error": "no such file or folder"},
        {"path": str(top / "batch1" / "dangling.png"), "error": "no such file"},
        {
            "path": str(top / "batch1" / "pipe"),
            "error": "not a regular file (a device, pipe or socket is never read)",
        },
    ]


def test_it_reports_errors_on_stderr_in_text_mode(library):
    missing = library["top"] / "gone.png"
    out, err = run(missing, library["top"] / "a.png")
    assert err == f"ERROR  {missing}: no such file or folder\n"
    assert out.splitlines()[-1] == "2 files: 1 matched, 0 not tracked, 1 unreadable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_it_reports_a_file_without_read_permission(library):
    locked = library["top"] / "locked.png"
    locked.write_bytes(b"x")
    locked.chmod(0)
    report = match_files([str(library["top"])])
    assert [(e.path, e.error) for e in report.errors] == [(str(locked), "permission denied")]
    assert len(report.matches) == 2


def test_it_fails_when_nothing_could_be_read(tmp_path):
    with pytest.raises(CommandError, match="No file could be read"):
        run(tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="No files found in the given paths"):
        run(tmp_path / "empty")


def test_it_succeeds_when_nothing_matches(tmp_path):
    (tmp_path / "new.png").write_bytes(b"never tracked")
    out, _ = run(tmp_path)
    assert out.splitlines() == [
        f"MISS   {tmp_path / 'new.png'} (sha256 {sha(b'never tracked')})",
        "1 files: 0 matched, 1 not tracked, 0 unreadable",
    ]


def test_it_matches_the_same_file_found_twice(library):
    copy = library["top"] / "copy-of-a.png"
    copy.write_bytes(library["files"]["a.png"])
    report = match_files([str(library["top"])])
    ids = {r.path: r.asset["asset_id"] for r in report.matches}
    assert ids[str(copy)] == ids[str(library["top"] / "a.png")] == str(library["in_post"].pk)


def test_it_does_not_descend_into_symlinked_folders(library, tmp_path):
    (library["top"] / "loop").symlink_to(library["top"])
    report = match_files([str(library["top"])])
    assert report.files_read == 3


def test_it_looks_assets_up_in_a_fixed_number_of_queries(tmp_path, django_assert_num_queries):
    data = [f"file {i}".encode() for i in range(30)]
    for i, body in enumerate(data):
        (tmp_path / f"{i:02}.png").write_bytes(body)
    Asset.objects.bulk_create(
        Asset(asset_url=f"/x/{i}", asset_type="image", asset_source="upload", sha256sum=sha(b))
        for i, b in enumerate(data[:20])
    )
    with django_assert_num_queries(1):
        report = match_files([str(tmp_path)])
    assert (len(report.matches), len(report.misses)) == (20, 10)


# --- --perceptual -------------------------------------------------------------------


@pytest.fixture
def tracked_demo(tmp_path):
    """The demo's fox and waves as tracked assets (hashed like ingest), and a folder of
    local copies: re-encoded, cropped, an unrelated picture and a text file."""
    from tests.fakes.images import demo_bytes, reencode, unrelated_image
    from tracking import file_facts

    assets = {}
    for name in ("orchestration/fox.png", "waves-dusk.jpg"):
        data = demo_bytes(name)
        asset = Asset(
            asset_url=f"https://cdn.example/{name}",
            asset_type="image",
            asset_source="generated",
            sha256sum=sha(data),
        )
        asset.set_perceptual(file_facts.read_facts(data, "image"))
        asset.save()
        assets[name] = asset
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "fox-small.jpg").write_bytes(
        reencode(demo_bytes("orchestration/fox.png"), scale=0.5, quality=55)
    )
    (folder / "waves-cropped.webp").write_bytes(
        reencode(demo_bytes("waves-dusk.jpg"), crop=2, scale=1, quality=80, fmt="WEBP")
    )
    (folder / "waves-original.jpg").write_bytes(demo_bytes("waves-dusk.jpg"))
    (folder / "shapes.jpg").write_bytes(unrelated_image(3))
    (folder / "notes.txt").write_bytes(b"not a picture")
    return {"assets": assets, "folder": folder}


def test_perceptual_reports_near_copies_with_their_distance(tracked_demo):
    out, _ = run("--json", "--perceptual", tracked_demo["folder"])
    report = json.loads(out)
    fox, waves = (tracked_demo["assets"][n] for n in ("orchestration/fox.png", "waves-dusk.jpg"))
    near = {os.path.basename(r["path"]): r["near"] for r in report["near"]}
    assert set(near) == {"fox-small.jpg", "waves-cropped.webp"}
    assert [a["asset_id"] for a in near["fox-small.jpg"]] == [str(fox.pk)]
    assert [a["asset_id"] for a in near["waves-cropped.webp"]] == [str(waves.pk)]
    assert all(0 < a["distance"] <= 8 for rows in near.values() for a in rows)
    # Identical bytes are still an exact match, not a near one.
    assert [os.path.basename(r["path"]) for r in report["matches"]] == ["waves-original.jpg"]
    misses = {os.path.basename(r["path"]): r for r in report["misses"]}
    assert set(misses) == {"shapes.jpg", "notes.txt"}
    assert misses["shapes.jpg"]["near"] == [] and misses["shapes.jpg"]["note"] is None
    assert misses["notes.txt"]["note"]
    assert report["summary"] == {"files": 5, "matched": 1, "near": 2, "missed": 2, "errors": 0}


def test_perceptual_prints_near_rows_and_respects_max_distance(tracked_demo):
    fox = tracked_demo["assets"]["orchestration/fox.png"]
    out, _ = run("--perceptual", tracked_demo["folder"] / "fox-small.jpg")
    assert "NEAR   " in out and f": asset {fox.pk}, civitai_id -" in out
    assert "1 files: 0 matched, 1 near, 0 not tracked, 0 unreadable" in out
    out, _ = run("--perceptual", "--max-distance", "0", tracked_demo["folder"] / "fox-small.jpg")
    assert "MISS   " in out and "NEAR" not in out
    with pytest.raises(CommandError, match="--max-distance must be between 0 and"):
        run("--perceptual", "--max-distance", "99", tracked_demo["folder"])


def test_without_perceptual_the_report_is_unchanged(tracked_demo):
    report = json.loads(run("--json", tracked_demo["folder"])[0])
    assert "near" not in report and "near" not in report["summary"]
    assert len(report["misses"]) == 4
