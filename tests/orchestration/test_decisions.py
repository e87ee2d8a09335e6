"""Review decisions: kept with who and when, superseded by newer ones, never erased."""

import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse

from orchestration.errors import DecisionRefused
from orchestration.models import ClaimTaken, Job, ReviewDecision, ReviewStatus
from tests.orchestration.conftest import make_scanned_job

pytestmark = pytest.mark.django_db


def test_it_records_who_decided_what_and_when(reviewer):
    job = make_scanned_job(1)

    decision = job.decide(reviewer, "confirmed_violation", "  clear breach  ")

    assert decision.decided_by == reviewer and decision.note == "clear breach"
    assert decision.decided_at is not None and decision.supersedes is None
    job.refresh_from_db()
    assert job.review_status == ReviewStatus.CONFIRMED_VIOLATION


def test_it_supersedes_instead_of_erasing(reviewer, reviewer2):
    job = make_scanned_job(1)
    first = job.decide(reviewer, "escalated", "not sure")
    second = job.decide(reviewer2, "cleared")
    third = job.decide(reviewer, "confirmed_violation", "on appeal")

    assert list(job.decisions.order_by("id")) == [first, second, third]
    assert second.supersedes == first and third.supersedes == second
    assert job.current_decision() == third
    first.refresh_from_db()
    assert first.decision == "escalated" and first.note == "not sure"


def test_it_refuses_to_delete_decisions(reviewer):
    job = make_scanned_job(1)
    decision = job.decide(reviewer, "cleared")

    with pytest.raises(PermissionError):
        decision.delete()
    with pytest.raises(PermissionError):
        ReviewDecision.objects.all().delete()
    with pytest.raises(Exception, match="protected"):
        Job.objects.filter(pk=job.pk).delete()
    assert ReviewDecision.objects.count() == 1


def test_the_admin_offers_no_way_to_add_change_or_delete_decisions(superuser):
    request = RequestFactory().get("/")
    request.user = superuser
    admin = site._registry[ReviewDecision]

    assert not admin.has_delete_permission(request)
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)


def test_it_requires_a_note_for_a_violation_or_escalation(reviewer):
    job = make_scanned_job(1)

    for decision in ("confirmed_violation", "escalated"):
        with pytest.raises(DecisionRefused, match="note is required"):
            job.decide(reviewer, decision, "   ")
    with pytest.raises(DecisionRefused, match="decision must be"):
        job.decide(reviewer, "deleted", "x")
    assert ReviewDecision.objects.count() == 0


def test_the_database_refuses_an_unknown_decision_and_a_forked_history(reviewer):
    job = make_scanned_job(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.create(job=job, decision="maybe", decided_by=reviewer)
    ReviewDecision.objects.create(job=job, decision="cleared", decided_by=reviewer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.create(job=job, decision="cleared", decided_by=reviewer)


def test_it_refuses_a_decision_while_another_reviewer_holds_the_claim(reviewer, reviewer2):
    job = make_scanned_job(1)
    job.claim(reviewer2)

    with pytest.raises(ClaimTaken):
        job.decide(reviewer, "cleared")

    decided = job.decide(reviewer2, "cleared")
    job.refresh_from_db()
    assert decided.decision == "cleared" and job.claimed_by is None


def test_decided_jobs_leave_the_queue_but_escalated_ones_stay(reviewer):
    cleared, escalated, open_ = (make_scanned_job(n) for n in (1, 2, 3))
    cleared.decide(reviewer, "cleared")
    escalated.decide(reviewer, "escalated", "needs lead")

    assert set(Job.objects.needing_review()) == {escalated, open_}


def test_the_queue_puts_the_riskiest_first():
    low = make_scanned_job(1, csam=0.01, nsfw="pg")
    mature = make_scanned_job(2, csam=0.01, nsfw="x")
    blocked = make_scanned_job(3, csam=0.01, nsfw="pg", blocked="policy")
    high = make_scanned_job(4, csam=0.8, nsfw="pg")
    unscored = make_scanned_job(5, csam=None, nsfw="xxx")

    ordered = list(Job.objects.needing_review().riskiest_first())

    assert ordered == [high, blocked, mature, low, unscored]


def test_the_form_records_a_decision_shown_in_the_history(client, reviewer):
    job = make_scanned_job(1)
    client.force_login(reviewer)
    url = reverse("orchestration:job_decide", args=[job.civitai_id])

    client.post(url, {"decision": "escalated", "note": "first look"})
    response = client.post(url, {"decision": "cleared", "note": "fine after all"}, follow=True)

    page = response.content.decode()
    assert "Decision recorded" in page
    assert page.index("fine after all") < page.index("first look")  # newest first
    assert "superseded" in page
    assert ReviewDecision.objects.count() == 2


def test_the_form_reports_a_missing_note(client, reviewer):
    job = make_scanned_job(1)
    client.force_login(reviewer)

    response = client.post(
        reverse("orchestration:job_decide", args=[job.civitai_id]),
        {"decision": "confirmed_violation", "note": ""},
        follow=True,
    )

    assert "A note is required" in response.content.decode()
    assert ReviewDecision.objects.count() == 0
