"""Claiming a job: one reviewer at a time, decided by one conditional UPDATE."""

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from orchestration.models import ClaimTaken, Job
from tests.orchestration.conftest import make_scanned_job


@pytest.mark.django_db
def test_it_gives_the_job_to_the_first_of_two_claims(reviewer, reviewer2):
    make_scanned_job(1)
    seen_by_rita = Job.objects.get()
    seen_by_ravi = Job.objects.get()  # both loaded it unclaimed

    seen_by_rita.claim(reviewer)
    with pytest.raises(ClaimTaken, match="claimed by rita"):
        seen_by_ravi.claim(reviewer2)

    assert Job.objects.get().claimed_by == reviewer


@pytest.mark.django_db
def test_it_lets_the_holder_claim_again_and_release(reviewer, reviewer2):
    job = make_scanned_job(1)
    job.claim(reviewer)
    job.claim(reviewer)  # refreshes the claim

    assert job.release(reviewer2) is False
    assert job.release(reviewer) is True
    job.claim(reviewer2)
    assert Job.objects.get().claimed_by == reviewer2


@pytest.mark.django_db
def test_it_lets_another_reviewer_take_an_expired_claim(reviewer, reviewer2, settings):
    settings.MODERATION_CLAIM_MINUTES = 30
    job = make_scanned_job(1)
    job.claim(reviewer)
    Job.objects.update(claimed_at=timezone.now() - dt.timedelta(minutes=31))

    job.claim(reviewer2)

    assert Job.objects.get().claimed_by == reviewer2


@pytest.mark.django_db
def test_the_claim_button_reports_a_taken_job(client, reviewer, reviewer2):
    job = make_scanned_job(1)
    job.claim(reviewer2)
    client.force_login(reviewer)

    response = client.post(reverse("orchestration:job_claim", args=[job.civitai_id]), follow=True)

    assert "claimed by ravi" in response.content.decode()
    assert Job.objects.get().claimed_by == reviewer2


@pytest.mark.django_db
def test_the_queue_filters_by_claim(client, reviewer, reviewer2):
    mine = make_scanned_job(1)
    theirs = make_scanned_job(2)
    free = make_scanned_job(3)
    mine.claim(reviewer)
    theirs.claim(reviewer2)
    client.force_login(reviewer)
    url = reverse("orchestration:review_queue")

    def listed(**params):
        page = client.get(url, params).content.decode()
        return {j for j in (mine, theirs, free) if f"/jobs/{j.civitai_id}/" in page}

    assert listed(claim="mine") == {mine}
    assert listed(claim="unclaimed") == {free}
    assert listed() == {mine, theirs, free}


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_racing_threads_win_on_postgresql(reviewer, reviewer2):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so threads cannot race")
    job = make_scanned_job(1)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def contend(user):
        try:
            mine = Job.objects.get(pk=job.pk)
            barrier.wait(timeout=5)
            mine.claim(user)
            results[user.username] = "won"
        except ClaimTaken:
            results[user.username] = "lost"
        finally:
            close_old_connections()
            connection.close()

    for _ in range(10):  # several rounds, each starting unclaimed
        Job.objects.update(claimed_by=None, claimed_at=None)
        results.clear()
        barrier.reset()
        threads = [threading.Thread(target=contend, args=(u,)) for u in (reviewer, reviewer2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(results.values()) == ["lost", "won"]
        winner = next(name for name, r in results.items() if r == "won")
        assert Job.objects.get(pk=job.pk).claimed_by.username == winner
