"""A job's place in the review queue, counted from the rows ahead of it (issue 17), is
the place the queue's own numbering gives it, for any queue: NULL scores and creation
times, ties on every key, escalated jobs, jobs out of the queue, stale loaded jobs."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Window
from django.db.models.functions import RowNumber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration import review_flow
from orchestration.models import Job, JobQuerySet, ReviewStatus, ScanResult

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# Few distinct values per key, so that ties on every key are common.
jobs = st.lists(
    st.fixed_dictionaries(
        {
            "scanned": st.booleans(),
            "status": st.sampled_from(ReviewStatus.values),
            "csam": st.sampled_from([None, 0.0, 0.5, 0.99]),
            "blocked": st.booleans(),
            "rank": st.integers(0, 2),
            "created": st.sampled_from([None, T0, T0 + dt.timedelta(hours=1)]),
        }
    ),
    max_size=25,
)


def numbered_position(job: Job) -> int | None:
    """The previous ``queue_position``: the whole queue numbered with ROW_NUMBER."""
    order = Job.objects.none().riskiest_first().query.order_by
    ranked = (
        Job.objects.needing_review()
        .annotate(rank=Window(RowNumber(), order_by=list(order)))
        .order_by()
        .values_list("pk", "rank")
    )
    sql, params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT q.rank FROM ({sql}) q WHERE q.pk = %s", (*params, job.pk))
        row = cursor.fetchone()
    return None if row is None else row[0] - 1


def store(rows) -> list[Job]:
    ScanResult.objects.all().delete()
    Job.objects.all().delete()
    stored = []
    for n, row in enumerate(rows):
        job = Job.objects.create(
            civitai_id=f"00000000-0000-4000-8000-{n:012d}",
            review_status=row["status"],
            created_at=row["created"],
        )
        if row["scanned"]:
            ScanResult.objects.create(
                job=job,
                csam_score_max=row["csam"],
                is_blocked=row["blocked"],
                nsfw_rank=row["rank"],
            )
        stored.append(job)
    return stored


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=jobs)
def test_it_places_every_job_where_the_numbered_queue_does(rows):
    for job in store(rows):
        loaded = Job.objects.select_related("scan").get(pk=job.pk)
        assert review_flow.queue_position(loaded) == numbered_position(loaded)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=jobs.filter(bool), changes=st.data())
def test_it_counts_from_the_stored_keys_when_the_loaded_ones_are_stale(rows, changes):
    stored = store(rows)
    loaded = [Job.objects.select_related("scan").get(pk=job.pk) for job in stored]
    for job in stored:
        row = changes.draw(jobs.filter(bool))[0]
        Job.objects.filter(pk=job.pk).update(review_status=row["status"], created_at=row["created"])
        ScanResult.objects.filter(job=job).update(
            csam_score_max=row["csam"], is_blocked=row["blocked"], nsfw_rank=row["rank"]
        )
    for job in loaded:
        assert review_flow.queue_position(job) == numbered_position(job)


def test_it_reads_one_query_in_the_queue_and_out_of_it(django_assert_num_queries):
    waiting, decided = store(
        [
            {"scanned": True, "status": s, "csam": None, "blocked": False, "rank": 0, "created": T0}
            for s in (ReviewStatus.ESCALATED, ReviewStatus.CLEARED)
        ]
    )
    for job, place in ((waiting, 0), (decided, None)):
        loaded = Job.objects.select_related("scan").get(pk=job.pk)
        with django_assert_num_queries(1):
            assert review_flow.queue_position(loaded) == place


def test_the_order_and_the_count_ahead_read_the_same_declaration():
    order = Job.objects.riskiest_first().query.order_by
    assert [(o.expression.name, o.nulls_last is True) for o in order] == list(
        JobQuerySet.RISK_ORDER
    )
