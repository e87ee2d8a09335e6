"""The review queue and the staff workflows list are served in their own order by an
index (orchestration 0006, issue 17): their ``DESC NULLS LAST`` order did not match the
``DESC`` (NULLS FIRST) indexes, so every page view sorted every scan or workflow."""

import pytest
from django.db import connection
from django.db.models import Exists, F, OuterRef

from orchestration.models import Job, Workflow

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of test rows: without this the planner rightly reads the table
            # and sorts it. A full sort is then chosen only if no index gives the order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_review_queue_page_reads_the_risk_index_in_order():
    page = Job.objects.needing_review().for_list().riskiest_first()[:25]
    plan = plan_of(page)
    assert "scan_risk_order_idx" in plan, plan
    # Only the ties on the job's own columns are sorted, never the whole queue.
    assert "Incremental Sort" in plan or "Sort Key" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_blocked_only_page_reads_only_the_blocked_scans_in_order():
    # orchestration 0008: not the whole risk index, whose top holds every scan over the
    # CSAM threshold, skipped one by one to find the blocked ones.
    from orchestration.models import ScanResult

    # Scores as the sync stores them (four decimals, few ties): one scan in 30 over the
    # threshold, one in ten blocked.
    jobs = Job.objects.bulk_create(Job(civitai_id=f"job-{i}") for i in range(3000))
    ScanResult.objects.bulk_create(
        ScanResult(
            job=job,
            csam_score_max=0.6 + i / 10_000 if i % 30 == 0 else i / 10_000,
            is_blocked=i % 10 == 3,
            nsfw_rank=i % 5,
        )
        for i, job in enumerate(jobs)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orchestration_job, orchestration_scanresult")
    page = Job.objects.needing_review().for_list().riskiest_first()
    plan = plan_of(page.filter(scan__is_blocked=True)[:25])
    assert "scan_blocked_risk_idx" in plan, plan
    assert "Incremental Sort" in plan or "Sort Key" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_workflows_page_reads_the_created_index_without_a_sort():
    order = F("created_at").desc(nulls_last=True)
    plan = plan_of(Workflow.objects.with_flags().order_by(order, "-id")[:25])
    assert "wf_created_nulls_last_idx" in plan, plan
    assert "Sort Key" not in plan, plan


def test_the_order_indexes_exist_on_every_database():
    with connection.cursor() as cursor:
        scan = connection.introspection.get_constraints(cursor, "orchestration_scanresult")
        workflow = connection.introspection.get_constraints(cursor, "orchestration_workflow")
    # job_id last (orchestration 0009): the dashboard's CSAM band reads the index alone
    assert scan["scan_risk_order_idx"]["columns"] == [
        "csam_score_max",
        "is_blocked",
        "nsfw_rank",
        "job_id",
    ]
    assert "scan_risk_idx" not in scan
    assert scan["scan_blocked_risk_idx"]["columns"] == ["csam_score_max", "nsfw_rank"]
    assert workflow["wf_created_nulls_last_idx"]["columns"] == ["created_at", "id"]


def mirror_of(n: int) -> None:
    """``n`` workflows, one job each with a scan; every seventh job flagged in one of the
    four ways, every fifth workflow a second, clean job, every eleventh no job at all."""
    from django.conf import settings

    from orchestration.models import ScanResult

    threshold = settings.MODERATION_CSAM_THRESHOLD
    flags = [
        {"csam_score_max": threshold},
        {"csam_score_unparsed": True},
        {"is_blocked": True},
        {"prompt_flagged": True},
    ]
    workflows = Workflow.objects.bulk_create(
        Workflow(civitai_id=f"wf-{i}", status="succeeded") for i in range(n)
    )
    jobs, scans = [], []
    for i, workflow in enumerate(workflows):
        if i % 11 == 0:
            continue
        for extra in range(2 if i % 5 == 0 else 1):
            job = Job(civitai_id=f"job-{i}-{extra}", workflow=workflow)
            jobs.append(job)
            flag = flags[i % 4] if i % 7 == 0 and not extra else {}
            scans.append((job, {"csam_score_max": 0.01, **flag}))
    Job.objects.bulk_create(jobs)
    ScanResult.objects.bulk_create(ScanResult(job=job, **flag) for job, flag in scans)


def test_the_flag_column_says_whether_a_flagged_job_exists():
    mirror_of(120)
    exists = Exists(Job.objects.flagged().filter(workflow=OuterRef("pk")))
    expected = dict(Workflow.objects.annotate(f=exists).values_list("pk", "f"))
    shown = dict(Workflow.objects.with_flags().values_list("pk", "has_flagged_job"))

    assert shown == expected
    assert set(shown.values()) == {True, False}
    flagged = {pk for pk, f in expected.items() if f}
    assert set(Workflow.objects.having_flagged_job().values_list("pk", flat=True)) == flagged
    assert set(Workflow.objects.having_flagged_job(False).values_list("pk", flat=True)) == (
        set(expected) - flagged
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_flag_column_probes_the_jobs_of_the_shown_rows_only():
    # Planning for every workflow, PostgreSQL hashed an EXISTS over every flagged job
    # joined to every job (a sequential scan of the jobs, 36 ms at 100k workflows).
    mirror_of(3000)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE orchestration_workflow, orchestration_job, orchestration_scanresult"
        )
    order = F("created_at").desc(nulls_last=True)
    sql, params = Workflow.objects.with_flags().order_by(order, "-id")[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on orchestration_job" not in plan, plan
    assert "Hash" not in plan, plan
