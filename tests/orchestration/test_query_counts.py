"""Every list page costs the same number of queries for 1 row as for 50."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orchestration import types as api
from orchestration.models import Job, Workflow
from orchestration.sync import store_workflows
from tests.fakes import orchestration_data as data
from tests.orchestration.conftest import make_scanned_job

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def mirror(n: int) -> None:
    store_workflows([api.Workflow.from_api(w) for w in data.generate_workflows(n)])


@pytest.mark.parametrize("url_name", ["workflow_list"])
def test_it_lists_workflows_in_fixed_queries(client, reviewer, url_name):
    client.force_login(reviewer)
    url = reverse(f"orchestration:{url_name}")
    mirror(1)
    one = count_queries(client, url)
    Workflow.objects.all().delete()
    mirror(50)

    assert count_queries(client, url) == one
    assert count_queries(client, url + "?flagged=true&step_type=imageGen&q=prompt") <= one + 1
    assert one <= 8


def test_it_shows_the_review_queue_in_fixed_queries(client, reviewer):
    client.force_login(reviewer)
    url = reverse("orchestration:review_queue")
    make_scanned_job(1, nsfw="r")
    one = count_queries(client, url)
    for n in range(2, 26):
        make_scanned_job(n, csam=n / 100, nsfw="pg" if n % 2 else "x")

    assert count_queries(client, url) == one
    assert one <= 10


def test_it_shows_a_workflow_in_fixed_queries(client, reviewer):
    client.force_login(reviewer)
    small = data.generate_workflows(1)[0]
    big = data.generate_workflows(1)[0]
    big["id"] = "7731-20990101000000000"
    images = big["steps"][0]["output"]["images"]
    images[0] = {**images[0], "id": "BIG00000.png", "jobId": "j-0"}
    for i in range(1, 30):
        images.append({**images[0], "id": f"EXTRA{i:04d}.png", "jobId": f"j-{i}"})
    store_workflows([api.Workflow.from_api(small), api.Workflow.from_api(big)])
    for job in Job.objects.all():
        make_scan(job)

    one = count_queries(client, reverse("orchestration:workflow_detail", args=[small["id"]]))
    many = count_queries(client, reverse("orchestration:workflow_detail", args=[big["id"]]))

    assert Workflow.objects.get(civitai_id=big["id"]).blobs.count() == 30
    assert many == one


def test_it_shows_a_job_with_its_history_in_fixed_queries(client, reviewer, reviewer2):
    client.force_login(reviewer)
    job_a = make_scanned_job(1)
    job_b = make_scanned_job(2)
    job_b.decide(reviewer, "escalated", "look again")
    for i in range(10):
        job_b.decide(reviewer2 if i % 2 else reviewer, "cleared" if i % 2 else "escalated", "n")

    one = count_queries(client, reverse("orchestration:job_detail", args=[job_a.civitai_id]))
    many = count_queries(client, reverse("orchestration:job_detail", args=[job_b.civitai_id]))

    assert many == one


def test_it_exports_in_fixed_queries(client, reviewer):
    client.force_login(reviewer)
    url = reverse("orchestration:review_export")
    job = make_scanned_job(1)
    job.decide(reviewer, "cleared")
    one = count_queries(client, url)
    for n in range(2, 20):
        make_scanned_job(n).decide(reviewer, "escalated", "why")

    assert count_queries(client, url) == one


def make_scan(job):
    from orchestration.models import ScanResult

    ScanResult.objects.create(job=job, csam_scores=[0.001], csam_score_max=0.001, nsfw_rank=1)
