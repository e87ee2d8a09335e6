"""``orchestration results|blob``: listing, downloads, and what is never requested."""

import json
from pathlib import Path

import pytest

from orchestration.downloads import extension_for, safe_stem, target_path
from orchestration.sync import sync_workflow
from tests.fakes import orchestration_data as data
from tests.orchestration.cli_helpers import run

CSAM_BLOB = "C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png"

# ``blob --download`` reads the mirror to find the blob's job.
pytestmark = pytest.mark.django_db


def _blob_requests(fake, blob_id):
    return [r for r in fake.requests_to("blob") if r.path.endswith("/" + blob_id)]


def test_it_lists_results_without_downloading(fake_orchestration, tmp_path):
    result = run("results", data.WF_DONE, "--dir", str(tmp_path))
    assert result.code == 0
    assert f"{data.BLOB_JPEG} [image 1024x1024], available: true" in result.out
    assert "scan: CSAM 0.03 %; VLM a lantern floating on water" in result.out
    assert fake_orchestration.requests_to("blob") == []
    assert fake_orchestration.requests_to("content") == []
    assert list(tmp_path.iterdir()) == []


def test_it_downloads_results_byte_identical_with_the_content_type_extension(
    fake_orchestration, tmp_path
):
    result = run("results", data.WF_DONE, "--download", "--dir", str(tmp_path))
    assert result.code == 0, result.text
    saved = tmp_path / "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpg"
    assert saved.read_bytes() == fake_orchestration.blobs[data.BLOB_JPEG].content
    assert [p.name for p in tmp_path.iterdir()] == [saved.name]  # no .part left behind
    assert f"downloaded {data.BLOB_JPEG}" in result.out
    [resolve] = fake_orchestration.requests_to("blob")
    assert resolve.param("workflowId") == data.WF_DONE
    [content] = fake_orchestration.requests_to("content")
    assert "Authorization" not in content.headers


def test_it_skips_files_already_downloaded_with_the_same_size(fake_orchestration, tmp_path):
    assert run("results", data.WF_DONE, "--download", "--dir", str(tmp_path)).code == 0
    saved = tmp_path / "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpg"
    before = saved.stat().st_mtime_ns
    again = run("results", data.WF_DONE, "--download", "--dir", str(tmp_path))
    assert "skipped" in again.out and "already downloaded" in again.out
    assert saved.stat().st_mtime_ns == before
    saved.write_bytes(b"truncated")
    third = run("results", data.WF_DONE, "--download", "--dir", str(tmp_path))
    assert "downloaded" in third.out
    assert saved.read_bytes() == fake_orchestration.blobs[data.BLOB_JPEG].content


def test_it_never_requests_blocked_unavailable_or_csam_blobs(fake_orchestration, tmp_path):
    result = run("results", data.WF_MATURE, "--download", "--dir", str(tmp_path))
    assert result.code == 0, result.text
    assert f"NOT FETCHED {data.BLOB_MATURE}: not available" in result.out
    assert f"NOT FETCHED {data.BLOB_BLOCKED}: blocked (policy)" in result.out
    assert f"NOT FETCHED {CSAM_BLOB}: possible CSAM" in result.out
    assert "Done: 3 refused" in result.out
    assert fake_orchestration.requests_to("blob") == []
    assert fake_orchestration.requests_to("content") == []
    assert fake_orchestration.requests_to("blocked") == []
    assert list(tmp_path.iterdir()) == []
    # the scan was consulted for the one blob that was otherwise fetchable
    assert [r.path.rsplit("/", 1)[1] for r in fake_orchestration.requests_to("job")] == [
        data.JOB_CSAM
    ]


def test_it_refuses_when_the_jobs_scan_cannot_be_read(fake_orchestration, tmp_path):
    fake_orchestration.fail("job", 500, times=None)
    result = run("results", data.WF_DONE, "--download", "--dir", str(tmp_path))
    assert f"FAILED {data.BLOB_JPEG}: its job's scan could not be read" in result.out
    assert fake_orchestration.requests_to("blob") == []
    assert fake_orchestration.requests_to("content") == []
    assert result.code == 1


def test_it_says_so_when_the_v1_api_does_not_know_the_blobs_job(fake_orchestration, tmp_path):
    # The newer step shape: no jobs[], the job ids come from the blobs. One of them has
    # no v1 record (404): that blob is refused with its own message, the other fetched.
    fake_orchestration.add_workflow(data.workflow_new_shape())
    fake_orchestration.add_job(data.job_new())
    fake_orchestration.add_blob(data.BLOB_NEW, b"\x89PNG new", "image/png")
    fake_orchestration.add_blob(data.BLOB_GONE_JOB, b"must not be fetched", "image/png")
    result = run("results", data.WF_NEW, "--download", "--dir", str(tmp_path))
    assert result.code == 1
    assert (
        f"FAILED {data.BLOB_GONE_JOB}: its job {data.JOB_GONE} is not known to the v1 jobs"
        " API (404), so its scan cannot be checked: not fetched"
    ) in result.out
    assert f"downloaded {data.BLOB_NEW}" in result.out
    assert [r.path.rsplit("/", 1)[1] for r in fake_orchestration.requests_to("blob")] == [
        data.BLOB_NEW
    ]


def test_it_downloads_a_video_result_after_waiting(fake_orchestration, tmp_path):
    fake_orchestration.add_workflow(data.workflow_running_finished())
    fake_orchestration.add_job({**data.job_ok(), "jobId": data.JOB_RUNNING})
    result = run("results", data.WF_RUNNING, "--download", "--dir", str(tmp_path))
    assert result.code == 0, result.text
    saved = tmp_path / "5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E.mp4"
    assert saved.read_bytes() == fake_orchestration.blobs[data.BLOB_VIDEO].content


def test_it_prints_results_as_json(fake_orchestration):
    body = json.loads(run("results", data.WF_MATURE, "--json").out)
    fetchable = {b["id"]: b["fetchable"] for b in body["blobs"]}
    assert fetchable == {data.BLOB_MATURE: False, data.BLOB_BLOCKED: False, CSAM_BLOB: False}


def test_it_reports_a_failed_download_and_exits_1(fake_orchestration, tmp_path):
    fake_orchestration.fail("content", 404, times=None)
    result = run("results", data.WF_DONE, "--download", "--dir", str(tmp_path))
    assert result.code == 1
    assert f"FAILED {data.BLOB_JPEG}" in result.out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["relative", "absolute"])
def test_it_downloads_one_blob(fake_orchestration, tmp_path, mode):
    fake_orchestration.redirect_mode = mode
    result = run("blob", data.BLOB_JPEG, "--download", "--job", data.JOB_OK, "--dir", str(tmp_path))
    assert result.code == 0, result.text
    saved = tmp_path / "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpg"
    assert saved.read_bytes() == fake_orchestration.blobs[data.BLOB_JPEG].content


def test_it_resolves_one_blob_without_downloading(fake_orchestration):
    result = run("blob", data.BLOB_JPEG)
    assert result.code == 0
    assert "available" in result.out
    assert f"{fake_orchestration.url}/v2/consumer/blobs/content/" in result.out
    assert fake_orchestration.requests_to("content") == []


def test_it_never_saves_the_blocked_placeholder(fake_orchestration, tmp_path):
    result = run(
        "blob", data.BLOB_BLOCKED, "--download", "--job", data.JOB_OK, "--dir", str(tmp_path)
    )
    assert result.code == 0
    assert "NOT FETCHED" in result.out and "blocked" in result.out
    assert fake_orchestration.requests_to("blocked") == []
    assert fake_orchestration.requests_to("content") == []
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_it_asks_for_mature_content_with_nsfw(fake_orchestration, tmp_path):
    job = ("--job", data.JOB_OK)
    hidden = run("blob", data.BLOB_MATURE, "--download", *job, "--dir", str(tmp_path))
    assert "NOT FETCHED" in hidden.out and "--nsfw" in hidden.out
    shown = run("blob", data.BLOB_MATURE, "--download", "--nsfw", *job, "--dir", str(tmp_path))
    assert shown.code == 0, shown.text
    first, second = _blob_requests(fake_orchestration, data.BLOB_MATURE)
    assert first.params == {}
    # GetBlob's own parameter: the highest level to serve (never hideMatureContent).
    assert second.params == {"nsfwLevel": ["xxx"]}
    assert (tmp_path / "77AE00112233445566778899AABBCCF0.png").read_bytes() == (
        fake_orchestration.blobs[data.BLOB_MATURE].content
    )


def test_it_asks_for_a_given_nsfw_level(fake_orchestration, tmp_path):
    job = ("--job", data.JOB_OK)
    below = run("blob", data.BLOB_MATURE, "--download", "--nsfw-level", "r", *job)
    assert below.code == 1
    assert "HTTP 403" in below.out  # the blob (x) is above the asked level
    at = run(
        "blob", data.BLOB_MATURE, "--download", "--nsfw-level", "x", *job, "--dir", str(tmp_path)
    )
    assert at.code == 0, at.text
    assert [r.param("nsfwLevel") for r in _blob_requests(fake_orchestration, data.BLOB_MATURE)] == [
        "r",
        "x",
    ]
    assert run("blob", data.BLOB_MATURE, "--nsfw-level", "nope").code == 2


def test_it_refuses_to_download_a_blob_whose_job_it_cannot_know(fake_orchestration, tmp_path):
    result = run("blob", CSAM_BLOB, "--download", "--dir", str(tmp_path))
    assert result.code == 1
    assert "its job is not known" in result.out
    assert "--job JOB or --workflow WORKFLOW" in result.out
    assert fake_orchestration.requests_to("blob") == []
    assert fake_orchestration.requests_to("content") == []


def test_it_finds_the_blobs_job_in_the_mirror(fake_orchestration, tmp_path):
    sync_workflow(data.WF_MATURE, scans=False)
    refused = run("blob", CSAM_BLOB, "--download", "--dir", str(tmp_path))
    assert "NOT FETCHED" in refused.out and "flags possible CSAM" in refused.out
    assert fake_orchestration.requests_to("blob") == []
    sync_workflow(data.WF_DONE, scans=False)
    fetched = run("blob", data.BLOB_JPEG, "--download", "--dir", str(tmp_path))
    assert fetched.code == 0, fetched.text
    assert [r.path.rsplit("/", 1)[1] for r in fake_orchestration.requests_to("job")] == [
        data.JOB_CSAM,
        data.JOB_OK,
    ]


def test_it_finds_the_blobs_job_through_workflow(fake_orchestration, tmp_path):
    refused = run("blob", CSAM_BLOB, "--download", "--workflow", data.WF_MATURE)
    assert "NOT FETCHED" in refused.out and "possible CSAM" in refused.out
    assert fake_orchestration.requests_to("blob") == []
    elsewhere = run("blob", CSAM_BLOB, "--download", "--workflow", data.WF_DONE)
    assert elsewhere.code == 1 and "not an output of workflow" in elsewhere.out
    fetched = run(
        "blob", data.BLOB_JPEG, "--download", "--workflow", data.WF_DONE, "--dir", str(tmp_path)
    )
    assert fetched.code == 0, fetched.text
    assert _blob_requests(fake_orchestration, data.BLOB_JPEG)[0].param("workflowId") == (
        data.WF_DONE
    )


def test_it_checks_the_jobs_scan_before_fetching_a_blob(fake_orchestration, tmp_path):
    result = run("blob", CSAM_BLOB, "--download", "--job", data.JOB_CSAM, "--dir", str(tmp_path))
    assert result.code == 0
    assert "flags possible CSAM" in result.out
    assert fake_orchestration.requests_to("blob") == []
    assert fake_orchestration.requests_to("content") == []


def test_it_maps_an_unknown_blob_to_exit_1(fake_orchestration, tmp_path):
    result = run("blob", "missing.png", "--download", "--job", data.JOB_OK, "--dir", str(tmp_path))
    assert result.code == 1
    assert "not found" in result.out


def test_it_streams_large_files_with_a_progress_bar_to_stderr(fake_orchestration, tmp_path):
    big = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB, not a multiple of the chunk size
    fake_orchestration.add_blob("big-one.webm", big, "video/webm")
    result = run("blob", "big-one.webm", "--download", "--job", data.JOB_OK, "--dir", str(tmp_path))
    assert result.code == 0, result.text
    assert (tmp_path / "big-one.webm").read_bytes() == big
    assert "big-one.webm" in result.err  # tqdm wrote there
    assert "%" in result.err


@pytest.mark.parametrize(
    ("blob_id", "name"),
    [
        ("../../etc/passwd", "etc_passwd.bin"),
        ("..", "blob.bin"),
        ("a/b\\c.png", "a_b_c.png"),
        (".hidden.png", "hidden.png"),
        ("x" * 500 + ".png", "x" * 120 + ".png"),
    ],
)
def test_it_sanitises_ids_into_names_inside_the_directory(tmp_path, blob_id, name):
    path = target_path(tmp_path, blob_id, None)
    assert path.name == name
    assert path.parent == tmp_path.resolve()


def test_it_downloads_an_id_that_tries_to_escape(fake_orchestration, tmp_path):
    fake_orchestration.add_blob("../../escape.png", b"inside", "image/png")
    target = tmp_path / "dl"
    result = run(
        "blob", "../../escape.png", "--download", "--job", data.JOB_OK, "--dir", str(target)
    )
    assert result.code == 0, result.text
    assert (target / "escape.png").read_bytes() == b"inside"
    assert not (tmp_path / "escape.png").exists()
    assert fake_orchestration.requests_to("blob")[0].path == "/v2/consumer/blobs/../../escape.png"


@pytest.mark.parametrize(
    ("ctype", "blob_id", "ext"),
    [
        ("image/jpeg", "a.jpeg", ".jpg"),
        ("image/png; charset=binary", "a", ".png"),
        ("video/mp4", "a.bin", ".mp4"),
        ("application/octet-stream", "a.webp", ".webp"),
        (None, "noext", ".bin"),
    ],
)
def test_it_takes_the_extension_from_the_content_type(ctype, blob_id, ext):
    assert extension_for(ctype, blob_id) == ext


def test_it_keeps_a_plain_stem():
    assert safe_stem("4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpeg") == "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714"
    assert isinstance(target_path(Path("."), "a.png", "image/png"), Path)
