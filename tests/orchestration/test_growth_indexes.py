"""The review queue and the staff workflows list are served in their own order by an
index (orchestration 0006, issue 17): their ``DESC NULLS LAST`` order did not match the
``DESC`` (NULLS FIRST) indexes, so every page view sorted every scan or workflow."""

import pytest
from django.db import connection
from django.db.models import F

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
def test_the_workflows_page_reads_the_created_index_without_a_sort():
    order = F("created_at").desc(nulls_last=True)
    plan = plan_of(Workflow.objects.with_flags().order_by(order, "-id")[:25])
    assert "wf_created_nulls_last_idx" in plan, plan
    assert "Sort Key" not in plan, plan


def test_the_order_indexes_exist_on_every_database():
    with connection.cursor() as cursor:
        scan = connection.introspection.get_constraints(cursor, "orchestration_scanresult")
        workflow = connection.introspection.get_constraints(cursor, "orchestration_workflow")
    assert scan["scan_risk_order_idx"]["columns"] == ["csam_score_max", "is_blocked", "nsfw_rank"]
    assert "scan_risk_idx" not in scan
    assert workflow["wf_created_nulls_last_idx"]["columns"] == ["created_at", "id"]
