"""Review at speed (issue 14 item 2): decide and next, queue positions, bulk clear,
validated filters."""

import pytest
from django.urls import reverse

from orchestration.models import Job, ReviewDecision
from tests.orchestration.conftest import make_scanned_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(db):
    """Five scanned jobs, riskiest first: 0.9 (CSAM), 0.3, 0.2 blocked, 0.01, 0.001."""
    return {
        "csam": make_scanned_job(1, csam=0.9),
        "mid": make_scanned_job(2, csam=0.3),
        "blocked": make_scanned_job(3, csam=0.2, blocked="csam_scan"),
        "low": make_scanned_job(4, csam=0.01),
        "lowest": make_scanned_job(5, csam=0.001),
    }


def decide(client, job, decision="cleared", note="", **extra):
    url = reverse("orchestration:job_decide", args=[job.civitai_id])
    return client.post(url, {"decision": decision, "note": note, **extra})


def test_decide_and_next_lands_on_the_next_riskiest_job_claimed(client, reviewer, queue):
    client.force_login(reviewer)
    response = decide(client, queue["csam"], "confirmed_violation", "seen", and_next="1")
    target = Job.objects.get(pk=queue["mid"].pk)
    assert response["Location"] == reverse("orchestration:job_detail", args=[target.civitai_id])
    assert target.claimed_by == reviewer  # claimed on arrival
    page = client.get(response["Location"])
    assert "Now job" in page.content.decode()


def test_decide_and_next_skips_jobs_another_reviewer_claimed(client, reviewer, reviewer2, queue):
    queue["mid"].claim(reviewer2)
    client.force_login(reviewer)
    response = decide(client, queue["csam"], "escalated", "second look", and_next="1")
    assert queue["blocked"].civitai_id in response["Location"]
    # the escalated job stays in the queue, but not for the one who escalated it
    response = decide(client, queue["blocked"], "cleared", and_next="1")
    assert queue["low"].civitai_id in response["Location"]


def test_decide_and_next_says_when_the_queue_is_empty(client, reviewer):
    job = make_scanned_job(9)
    client.force_login(reviewer)
    response = decide(client, job, and_next="1")
    assert response["Location"] == reverse("orchestration:review_queue")


def test_a_refused_decision_stays_on_the_job(client, reviewer, queue):
    client.force_login(reviewer)
    response = decide(client, queue["csam"], "escalated", "", and_next="1")
    assert response["Location"] == reverse(
        "orchestration:job_detail", args=[queue["csam"].civitai_id]
    )
    assert not ReviewDecision.objects.exists()


def test_it_walks_the_queue_by_position(client, reviewer, queue):
    client.force_login(reviewer)
    response = client.get(reverse("orchestration:review_at", args=[1]))
    assert response["Location"].endswith(f"/jobs/{queue['mid'].civitai_id}/?pos=1")
    page = client.get(reverse("orchestration:job_detail", args=[queue["mid"].civitai_id]))
    assert page.context["position"] == 1  # found from the queue itself, no ?pos needed
    assert page.context["next_url"] == reverse("orchestration:review_at", args=[2])
    assert page.context["previous_url"] == reverse("orchestration:review_at", args=[0])
    end = client.get(reverse("orchestration:review_at", args=[99]))
    assert end["Location"] == reverse("orchestration:review_queue")


def test_bulk_clear_names_the_count_then_clears_only_low_risk_jobs(
    client, reviewer, reviewer2, queue
):
    queue["lowest"].claim(reviewer2)  # someone else's: left alone
    client.force_login(reviewer)
    url = reverse("orchestration:review_bulk_clear")
    confirm = client.get(url, {"below": "0.25"})
    html = confirm.content.decode()
    assert "Clear 1 job with a CSAM score below 0.25?" in html  # "low" only
    assert not ReviewDecision.objects.exists()  # asking writes nothing
    response = client.post(url, {"below": "0.25", "confirm": "yes"})
    assert response["Location"] == reverse("orchestration:review_queue")
    cleared = ReviewDecision.objects.get()
    assert cleared.job_id == queue["low"].pk and cleared.decision == "cleared"
    assert cleared.decided_by == reviewer and "below 0.25" in cleared.note
    statuses = dict(Job.objects.values_list("civitai_id", "review_status"))
    assert statuses[queue["blocked"].civitai_id] == "pending"  # blocked: never
    assert statuses[queue["lowest"].civitai_id] == "pending"  # claimed by reviewer2


def test_bulk_clear_writes_one_decision_per_job(client, reviewer):
    for n in range(12):
        make_scanned_job(100 + n, csam=0.001)
    client.force_login(reviewer)
    client.post(reverse("orchestration:review_bulk_clear"), {"below": "0.01", "confirm": "yes"})
    assert ReviewDecision.objects.count() == 12
    assert set(Job.objects.values_list("review_status", flat=True)) == {"cleared"}


@pytest.mark.parametrize(
    "below, message", [("0.9", "Must not be above the CSAM threshold"), ("x", "Enter a number")]
)
def test_bulk_clear_refuses_a_score_at_risk(client, reviewer, queue, below, message):
    client.force_login(reviewer)
    response = client.post(
        reverse("orchestration:review_bulk_clear"), {"below": below, "confirm": "yes"}
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not ReviewDecision.objects.exists()


def test_bulk_clear_is_for_reviewers_only(client, staff, queue):
    client.force_login(staff)
    response = client.post(
        reverse("orchestration:review_bulk_clear"), {"below": "0.25", "confirm": "yes"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query, message",
    [
        ({"min_csam": "abc"}, "CSAM score ≥: Enter a number."),
        ({"min_csam": "2"}, "Ensure this value is less than or equal to 1."),
        ({"state": "bogus"}, "Select a valid choice."),
    ],
)
def test_the_queue_says_what_is_wrong_with_a_filter(client, reviewer, queue, query, message):
    client.force_login(reviewer)
    response = client.get(reverse("orchestration:review_queue"), query)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and 'role="alert"' in html
    assert response.context["rows"] == []  # not the whole queue as if filtered


def test_the_job_page_keeps_its_query_count_with_the_review_controls(
    client, reviewer, queue, django_assert_num_queries
):
    client.force_login(reviewer)
    url = reverse("orchestration:job_detail", args=[queue["mid"].civitai_id])
    client.get(url)
    with django_assert_num_queries(10) as first:
        client.get(url, {"pos": "1"})
    for n in range(20):
        make_scanned_job(200 + n)
    with django_assert_num_queries(len(first)):
        client.get(url, {"pos": "1"})
