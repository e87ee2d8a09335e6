"""sync_workflows / sync_workflow / sync_job against the loopback fake API."""

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from civitrack.http import NotFound, UpstreamError
from orchestration.models import Blob, Job, ReviewDecision, ScanResult, Step, Workflow
from orchestration.sync import sync_job, sync_workflow, sync_workflows
from tests.fakes import orchestration_data as data

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Every mirrored row with every value except the sync timestamps, keyed by model and pk."""
    rows = {}
    for model in (Workflow, Step, Job, Blob, ScanResult):
        for obj in model.objects.order_by("pk"):
            values = model_to_dict(obj, exclude=["synced_at", "fetched_at"])
            rows[(model.__name__, obj.pk)] = values
    return rows


def test_it_mirrors_the_fixtures_with_steps_jobs_blobs_and_scans(fake_orchestration):
    stats = sync_workflows()

    assert stats.workflows == 4
    wf = Workflow.objects.get(civitai_id=data.WF_DONE)
    assert wf.status == "succeeded"
    assert wf.tags == ["civitrack"]
    assert wf.cost_total == 4
    assert wf.prompt == "a paper lantern on a pond"
    assert wf.created_at.isoformat() == "2026-09-12T08:15:30.412000+00:00"
    assert "steps" not in wf.raw and wf.raw["metadata"] == {"note": "demo"}
    step = wf.steps.get()
    assert (step.name, step.step_type, step.status) == ("0", "imageGen", "succeeded")
    blob = Blob.objects.get(civitai_id=data.BLOB_JPEG)
    assert blob.job.civitai_id == data.JOB_OK
    assert (blob.width, blob.nsfw_level, blob.available) == (1024, "pg", True)
    assert blob.url.startswith("https://blobs.fake.test/")

    csam = Job.objects.get(civitai_id=data.JOB_CSAM)
    assert csam.scan.csam_score_max == pytest.approx(0.91)
    assert csam.scan.is_blocked and csam.scan.blocked_reason == "csam_scan"
    assert csam.scan.csam_flagged
    flagged_blob = Blob.objects.get(civitai_id="C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png")
    assert flagged_blob.csam_score == pytest.approx(0.91)
    assert flagged_blob.result_available is False  # v1 knows better than the listing
    ok = Job.objects.get(civitai_id=data.JOB_OK).scan
    assert ok.vlm_summary == "a lantern floating on water"
    assert ok.prompt_flagged is False and ok.prompt_sexual is False
    assert ok.context["gpu_ms"] == 11870


def test_it_asks_for_mature_media_urls_and_sends_the_filters(fake_orchestration):
    import datetime as dt

    sync_workflows(
        tags=["civitrack"],
        from_date=dt.datetime(2026, 9, 11, tzinfo=dt.UTC),
        to_date=dt.datetime(2026, 9, 12, 23, 59, 59, tzinfo=dt.UTC),
    )

    (request,) = fake_orchestration.requests_to("workflows")
    assert request.params["tags"] == ["civitrack"]
    assert request.param("hideMatureContent") == "false"
    assert request.param("fromDate") == "2026-09-11T00:00:00Z"
    assert request.param("toDate") == "2026-09-12T23:59:59Z"


def test_it_follows_every_page_and_commits_each(fake_orchestration):
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(data.generate_workflows(7))
    pages = []

    stats = sync_workflows(page_size=3, max_scans=0, on_page=lambda s, n: pages.append(n))

    assert pages == [3, 3, 1]
    assert stats.workflows == 7 and Workflow.objects.count() == 7
    assert len(fake_orchestration.requests_to("workflows")) == 3


def test_it_stops_after_max_workflows(fake_orchestration):
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(data.generate_workflows(7))

    sync_workflows(page_size=3, max_workflows=4, max_scans=0)

    assert Workflow.objects.count() == 4
    takes = [r.param("take") for r in fake_orchestration.requests_to("workflows")]
    assert takes == ["3", "1"]


def test_it_is_idempotent(fake_orchestration):
    sync_workflows()
    before = snapshot()
    counts = {m: m.objects.count() for m in (Workflow, Step, Job, Blob, ScanResult)}

    sync_workflows()
    sync_workflow(data.WF_MATURE)

    assert snapshot() == before
    assert {m: m.objects.count() for m in counts} == counts


def test_it_keeps_the_pages_it_stored_when_a_later_page_fails(fake_orchestration):
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(data.generate_workflows(7))

    stored = []

    def break_after_first_page(stats, n):
        stored.append(stats.workflows)
        fake_orchestration.fail("workflows", 503, times=None)

    with pytest.raises(UpstreamError):
        sync_workflows(page_size=3, max_scans=0, on_page=break_after_first_page)

    # The second page may have been fetched (prefetched) before the API broke, so it is
    # stored too; the third never arrives. Every page stored is whole and committed.
    assert stored in ([3], [3, 6])
    assert Workflow.objects.count() == stored[-1]
    first = snapshot()
    fake_orchestration.overrides.clear()

    sync_workflows(page_size=3, max_scans=0)  # resume: re-run from the start

    assert Workflow.objects.count() == 7
    after = snapshot()
    assert all(after[key] == value for key, value in first.items())


def test_it_fetches_scans_only_for_finished_jobs_within_the_bound(fake_orchestration):
    sync_workflows(max_scans=2)

    asked = [r.path.rsplit("/", 1)[1] for r in fake_orchestration.requests_to("job")]
    assert len(asked) == 2
    assert data.JOB_RUNNING not in asked
    assert all(r.param("detailed") == "true" for r in fake_orchestration.requests_to("job"))
    assert ScanResult.objects.count() == 2

    sync_workflows(max_scans=10)  # the next run picks up the rest, never a stored scan again

    asked_again = [r.path.rsplit("/", 1)[1] for r in fake_orchestration.requests_to("job")][2:]
    assert not set(asked_again) & set(asked)
    assert data.JOB_RUNNING not in asked_again


def test_it_records_a_job_the_v1_api_does_not_know_as_scan_unknown(fake_orchestration):
    stats = sync_workflows()

    # The failed workflow's job is unknown to the fake's v1 endpoint (404): not an
    # error of the sync, a scan recorded as unknown, so its media stays withheld.
    gone = Job.objects.get(civitai_id="1f1f1f1f-2222-4333-8444-555555555555")
    assert gone.scan.state == ScanResult.State.UNKNOWN
    assert stats.errors == []
    assert stats.unknown_scans == 1
    assert "scan unknown" in str(stats)
    assert Job.objects.get(civitai_id=data.JOB_CSAM).scan.state == ScanResult.State.READ
    # asked once: an unknown scan is not fetched again on every run
    before = len(fake_orchestration.requests_to("job"))
    sync_workflows()
    assert len(fake_orchestration.requests_to("job")) == before


def test_it_reports_a_failing_scan_and_carries_on(fake_orchestration):
    fake_orchestration.fail("job", 500, times=None)
    stats = sync_workflows()
    assert any(data.JOB_OK in e for e in stats.errors)
    assert Workflow.objects.filter(civitai_id=data.WF_DONE).exists()
    assert ScanResult.objects.count() == 0


def test_it_never_fetches_media(fake_orchestration):
    sync_workflows()
    sync_workflow(data.WF_MATURE)
    sync_job(data.JOB_CSAM)

    for route in ("blob", "content", "blocked"):
        assert fake_orchestration.requests_to(route) == []


def test_it_leaves_review_data_alone(fake_orchestration, reviewer):
    sync_workflows()
    job = Job.objects.get(civitai_id=data.JOB_OK)
    job.claim(reviewer)
    job.decide(reviewer, "escalated", "second opinion")
    Blob.objects.filter(civitai_id=data.BLOB_JPEG).update(sha256="a" * 64)

    sync_workflows()
    sync_job(data.JOB_OK)

    job.refresh_from_db()
    assert job.review_status == "escalated"
    assert ReviewDecision.objects.filter(job=job).count() == 1
    assert Blob.objects.get(civitai_id=data.BLOB_JPEG).sha256 == "a" * 64


def test_it_stores_one_workflow_by_id(fake_orchestration):
    row = sync_workflow(data.WF_MATURE)

    assert row.civitai_id == data.WF_MATURE
    assert Blob.objects.filter(workflow=row).count() == 3
    assert Job.objects.get(civitai_id=data.JOB_CSAM).scan.is_blocked


def test_it_raises_not_found_for_an_unknown_workflow_and_stores_nothing(fake_orchestration):
    with pytest.raises(NotFound):
        sync_workflow("7731-20260101000000000")
    assert Workflow.objects.count() == 0


def test_it_stores_a_job_and_its_workflow_from_a_job_id(fake_orchestration):
    job = sync_job(data.JOB_OK)

    assert job.workflow.civitai_id == data.WF_DONE
    assert job.job_type == "TextToImageV2"
    assert job.scan.csam_score_max == pytest.approx(0.0003)
    assert Blob.objects.get(civitai_id=data.BLOB_JPEG).job == job


def test_it_accepts_the_jobs_envelope(fake_orchestration):
    fake_orchestration.job_envelope = "jobs"

    job = sync_job(data.JOB_CSAM)

    assert job.scan.csam_score_max == pytest.approx(0.91)


def test_it_reads_percentage_scores_per_image(fake_orchestration):
    job = data.job_zero_percent()
    job["result"].append({"blobKey": "SECOND.png", "available": True})
    fake_orchestration.add_job(job)

    row = sync_job(data.JOB_OK)

    assert row.scan.csam_scores == [0.0, 0.0]
    assert row.scan.prompt_flags == ["sexual", "young", "scan"]
    assert row.scan.prompt_flagged is True
    assert Blob.objects.get(civitai_id="SECOND.png").csam_score == 0.0


def test_the_command_syncs_with_filters_and_reports(fake_orchestration, capsys):
    call_command("sync_workflows", "--tag", "civitrack", "--max", "2", "--from", "2026-09-01")

    assert Workflow.objects.count() == 2
    (request,) = fake_orchestration.requests_to("workflows")
    assert request.param("fromDate") == "2026-09-01T00:00:00Z"
    assert "Synced 2 workflows" in capsys.readouterr().out


def test_the_command_refuses_bad_dates_without_calling_the_api(fake_orchestration):
    with pytest.raises(CommandError, match="is not a date"):
        call_command("sync_workflows", "--from", "yesterday")
    with pytest.raises(CommandError, match="--from must not be after --to"):
        call_command("sync_workflows", "--from", "2026-09-12", "--to", "2026-09-01")
    assert fake_orchestration.requests == []


def test_the_command_exits_non_zero_on_api_failure(fake_orchestration):
    fake_orchestration.fail("workflows", 401, times=None)

    with pytest.raises(CommandError, match="401"):
        call_command("sync_workflows")


def test_it_stores_a_page_that_repeats_a_workflow_or_step_name():
    from orchestration import types as api
    from orchestration.sync import store_workflows

    first = data.workflow_done()
    again = data.workflow_done()
    again["status"] = "failed"
    again["steps"].append({**again["steps"][0], "status": "failed"})  # same step name "0"

    store_workflows([api.Workflow.from_api(first), api.Workflow.from_api(again)])

    wf = Workflow.objects.get()
    assert wf.status == "failed"
    assert wf.steps.get().status == "failed"


def test_it_places_a_job_known_only_from_a_v1_lookup_and_leaves_placed_jobs_alone(
    fake_orchestration,
):
    # A v1 lookup whose workflow was not mirrored yet stores the job without a place.
    Job.objects.create(civitai_id=data.JOB_OK)
    sync_workflows(max_scans=0)
    placed = Job.objects.select_related("workflow", "step").get(civitai_id=data.JOB_OK)
    assert placed.workflow.civitai_id == data.WF_DONE
    assert placed.step == Step.objects.get(workflow=placed.workflow, name="0")

    # A job keeps the place it was first seen in, even if a later page names it elsewhere.
    first = placed.workflow_id, placed.step_id
    sync_workflows(max_scans=0)
    placed.refresh_from_db()
    assert (placed.workflow_id, placed.step_id) == first


def test_it_stores_a_page_in_a_fixed_number_of_queries(
    fake_orchestration, django_assert_max_num_queries, is_postgres
):
    from orchestration import types as api
    from orchestration.sync import store_workflows

    small = [api.Workflow.from_api(w) for w in data.generate_workflows(2)]
    big = [api.Workflow.from_api(w) for w in data.generate_workflows(60, user_id=1)]
    with django_assert_max_num_queries(12) as small_queries:
        store_workflows(small)
    with django_assert_max_num_queries(12) as big_queries:
        store_workflows(big)
    assert len(big_queries.captured_queries) == len(small_queries.captured_queries)
    if is_postgres:  # the whole page is one statement (sync._page_statement)
        assert len(big_queries.captured_queries) == 1


def _fixture_workflows():
    from orchestration import types as api

    raw = [
        data.workflow_done(),
        data.workflow_running(),
        data.workflow_failed(),
        data.workflow_mature(),
        data.workflow_new_shape(),
        *data.generate_workflows(40, user_id=7731),
    ]
    return [api.Workflow.from_api(w) for w in raw]


def test_the_copy_upsert_stores_exactly_what_bulk_create_stores(is_postgres, monkeypatch):
    """PostgreSQL's array statement against the portable bulk_create path: same rows, both ways."""
    if not is_postgres:
        pytest.skip("the array statement is PostgreSQL's; SQLite always takes bulk_create")
    from django.db import transaction

    from orchestration import sync
    from tests.orchestration.snapshots import mirror_document

    workflows = _fixture_workflows()
    # A job a v1 lookup stored first (no workflow, no step): both paths must place it.
    Job.objects.create(civitai_id=data.JOB_OK, job_type="v1-first")
    with transaction.atomic():
        sync.store_workflows(workflows)
    copied = mirror_document("7731-")
    assert Job.objects.get(civitai_id=data.JOB_OK).step_id is not None
    with transaction.atomic():  # again: every row an update, nothing changes
        sync.store_workflows(workflows)
    assert mirror_document("7731-") == copied

    Workflow.objects.all().delete()
    Job.objects.all().delete()
    Job.objects.create(civitai_id=data.JOB_OK, job_type="v1-first")
    monkeypatch.setattr(sync, "_use_page_statement", lambda: False)
    with transaction.atomic():
        sync.store_workflows(workflows)
    assert mirror_document("7731-") == copied
    assert sum(len(rows) for rows in copied.values()) > 4 * 40


def test_the_copy_upsert_keeps_text_that_copy_must_escape(is_postgres, monkeypatch):
    """Tabs, newlines, backslashes and non-ASCII text reach the mirror as sent, both paths."""
    if not is_postgres:
        pytest.skip("the array statement is PostgreSQL's; SQLite always takes bulk_create")
    from django.db import transaction

    from orchestration import sync
    from orchestration import types as api
    from tests.orchestration.snapshots import mirror_document

    awkward = 'tab\there\nnew line\r\\N back\\slash \\t 猫 🐈 "quoted"'
    wf = data.workflow_done()
    wf["tags"] = ["civitrack", "a\tb", "c\\d"]
    wf["metadata"] = {"note": awkward, "path": "C:\\tmp\\x", "nested": [awkward, None, 1.5]}
    step = wf["steps"][0]
    step["name"] = "step\t0\\n"
    step["input"]["prompt"] = awkward
    step["input"]["negativePrompt"] = "\\"
    image = step["output"]["images"][0]
    image["blockedReason"] = "line\nbreak"
    workflows = [api.Workflow.from_api(wf)]

    with transaction.atomic():
        sync.store_workflows(workflows)
    copied = mirror_document("7731-")
    stored = Workflow.objects.get()
    assert stored.prompt == awkward
    assert stored.tags == ["civitrack", "a\tb", "c\\d"]
    assert stored.raw["metadata"]["path"] == "C:\\tmp\\x"
    assert stored.steps.get().name == "step\t0\\n"

    Workflow.objects.all().delete()
    Job.objects.all().delete()
    monkeypatch.setattr(sync, "_use_page_statement", lambda: False)
    with transaction.atomic():
        sync.store_workflows(workflows)
    assert mirror_document("7731-") == copied


def test_both_paths_place_jobs_stored_before_the_page_alike(is_postgres, monkeypatch):
    """Jobs stored before a page names them: a job without a place (a v1 lookup stored it)
    takes the page's workflow and step, whether the page lists it on a step or only on a
    blob; a blob-only job placed under another workflow keeps its place. PostgreSQL's
    one statement does this inside its job upserts, the bulk_create path with an UPDATE
    afterwards: both must leave the same places."""
    if not is_postgres:
        pytest.skip("the array statement is PostgreSQL's; SQLite always takes bulk_create")
    from django.db import transaction

    from orchestration import sync
    from orchestration import types as api

    workflows = _fixture_workflows()
    blob_only = [
        b.job_id for w in workflows for s in w.steps if not s.jobs for b in s.blobs if b.job_id
    ]
    unplaced, elsewhere = blob_only[0], blob_only[1]
    other = data.generate_workflows(1, user_id=9)[0]
    other["steps"][0]["output"]["images"][0]["jobId"] = elsewhere

    def places() -> dict[str, tuple[str, str]]:
        Job.objects.create(civitai_id=data.JOB_OK, job_type="v1-first")
        Job.objects.create(civitai_id=unplaced, job_type="v1-first")
        with transaction.atomic():
            sync.store_workflows([api.Workflow.from_api(other)])
        with transaction.atomic():
            sync.store_workflows(workflows)
        stored = {
            j.civitai_id: (j.workflow.civitai_id, j.step.name, j.job_type)
            for j in Job.objects.filter(civitai_id__in=[data.JOB_OK, unplaced, elsewhere])
        }
        Workflow.objects.all().delete()
        Job.objects.all().delete()
        return stored

    arrays = places()
    assert arrays[elsewhere][0] == other["id"]
    assert arrays[unplaced][0].startswith("7731-")
    assert arrays[data.JOB_OK][2] == "v1-first"
    monkeypatch.setattr(sync, "_use_page_statement", lambda: False)
    assert places() == arrays


def test_each_blob_is_linked_to_its_job_wherever_the_job_came_from():
    """A page's blobs name a job the page lists on a step, a new blob-only job, a
    blob-only job a v1 lookup stored without a place, one stored under another
    workflow, or no job: each blob gets its own job (or none), when first stored and
    when stored again, whichever way the page is stored (PostgreSQL's statement finds
    a job among the rows its job upserts returned, or else among the stored ones)."""
    from django.db import transaction

    from orchestration import types as api
    from orchestration.sync import store_workflows

    new, placeless, elsewhere, jobless = data.generate_workflows(4, user_id=4410)
    del jobless["steps"][0]["output"]["images"][0]["jobId"]
    other = data.generate_workflows(1, user_id=4411)[0]
    placed_elsewhere = elsewhere["steps"][0]["output"]["images"][0]["jobId"]
    other["steps"][0]["output"]["images"][0]["jobId"] = placed_elsewhere
    with transaction.atomic():
        store_workflows([api.Workflow.from_api(other)])
    Job.objects.create(
        civitai_id=placeless["steps"][0]["output"]["images"][0]["jobId"], job_type="v1-first"
    )
    page = [api.Workflow.from_api(w) for w in (data.workflow_done(), new, placeless, elsewhere)]
    page.append(api.Workflow.from_api(jobless))
    expected = {b.id: b.job_id or None for w in page for s in w.steps for b in s.blobs}
    assert data.JOB_OK in expected.values() and None in expected.values()

    for _ in range(2):  # inserts, then every row an update
        with transaction.atomic():
            store_workflows(page)
        linked = dict(
            Blob.objects.filter(civitai_id__in=expected).values_list(
                "civitai_id", "job__civitai_id"
            )
        )
        assert linked == expected
        assert Job.objects.get(civitai_id=placed_elsewhere).workflow.civitai_id == other["id"]


def test_a_page_whose_rows_miss_their_step_is_refused_and_nothing_is_stored(is_postgres):
    if not is_postgres:
        pytest.skip("the row-count check is the PostgreSQL statement's")
    from django.db import transaction

    from orchestration import sync
    from orchestration import types as api

    rows = sync._page_rows(
        [api.Workflow.from_api(w) for w in data.generate_workflows(3, user_id=4412)]
    )
    blobs = sync._PAGE_BLOBS
    rows.arrays[blobs][len(blobs.fields) + blobs.keys.index("_step")][0] = "no such step"

    refused = pytest.raises(RuntimeError, match=r"page stored \(3, 3, 0, 2\) of \(3, 3, 0, 3\)")
    with refused, transaction.atomic():
        sync._store_page_rows(rows)
    assert not Workflow.objects.exists() and not Job.objects.exists()


def test_the_page_statement_finds_every_key_by_hash(is_postgres):
    """No nested loop: the step key is one value, so a page's 100 blobs are not planned
    as one row looked up in the job upserts' rows once per blob (issue 17)."""
    if not is_postgres:
        pytest.skip("PostgreSQL plans")
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from orchestration import sync
    from orchestration import types as api

    raw = [data.workflow_done(), *data.generate_workflows(99, user_id=4413)]
    rows = sync._page_rows([api.Workflow.from_api(w) for w in raw])
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            "EXPLAIN " + sync._page_statement(durable=False),
            sync._page_params(rows, timezone.now()),
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Nested Loop" not in plan, plan
