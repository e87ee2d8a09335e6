"""Mature media is blurred until a reviewer reveals it; every reveal is logged."""

import datetime as dt

import pytest
from django.urls import reverse

from devdata import orchestration_demo as demo_data
from orchestration.models import Blob, RevealLog

pytestmark = pytest.mark.django_db

DUSK = "77AE00112233445566778899AABBCCF0.png"


def job_page(client) -> str:
    url = reverse("orchestration:job_detail", args=[demo_data.JOB_MATURE])
    return client.get(url).content.decode()


def test_mature_media_is_blurred_without_a_url_until_revealed(client, reviewer, demo):
    client.force_login(reviewer)
    media = reverse("orchestration:blob_media", args=[DUSK])

    page = job_page(client)
    assert media not in page and "dusk.png" not in page
    assert "Mature content: click to reveal" in page
    assert client.get(media).status_code == 403

    response = client.post(reverse("orchestration:blob_reveal", args=[DUSK]))

    assert response.status_code == 302
    log = RevealLog.objects.get()
    assert (log.user, log.blob.civitai_id) == (reviewer, DUSK)
    assert media in job_page(client)
    redirect = client.get(media)
    assert redirect.status_code == 302 and redirect["Location"].endswith(
        "/demo/orchestration/dusk.png"
    )


def test_the_page_script_gets_json_and_each_reveal_is_logged(client, reviewer, reviewer2, demo):
    url = reverse("orchestration:blob_reveal", args=[DUSK])
    for user in (reviewer, reviewer, reviewer2):
        client.force_login(user)
        response = client.post(url, headers={"Accept": "application/json"})
        assert response.json() == {
            "url": reverse("orchestration:blob_media", args=[DUSK]),
            "kind": "image",
        }

    assert [r.user.username for r in RevealLog.objects.order_by("id")] == ["rita", "rita", "ravi"]


def test_a_reveal_is_personal_and_lapses(client, reviewer, reviewer2, demo, settings):
    settings.MODERATION_REVEAL_MINUTES = 15
    client.force_login(reviewer)
    client.post(reverse("orchestration:blob_reveal", args=[DUSK]))
    media = reverse("orchestration:blob_media", args=[DUSK])

    client.force_login(reviewer2)
    assert media not in job_page(client)
    assert client.get(media).status_code == 403

    RevealLog.objects.update(revealed_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client.force_login(reviewer)
    assert media not in job_page(client)


def test_staff_without_the_review_permission_cannot_reveal(client, staff, demo):
    client.force_login(staff)

    page = job_page(client)

    assert "Only reviewers can reveal this" in page
    assert reverse("orchestration:blob_reveal", args=[DUSK]) not in page
    assert client.post(reverse("orchestration:blob_reveal", args=[DUSK])).status_code == 403
    assert RevealLog.objects.count() == 0


def test_reveal_logs_cannot_be_deleted(reviewer, demo):
    log = RevealLog.reveal(reviewer, Blob.objects.get(civitai_id=DUSK))

    with pytest.raises(PermissionError):
        log.delete()
    with pytest.raises(PermissionError):
        RevealLog.objects.all().delete()


def test_the_reveal_redirect_stays_on_this_site(client, reviewer, demo):
    client.force_login(reviewer)

    response = client.post(
        reverse("orchestration:blob_reveal", args=[DUSK]), {"next": "https://evil.test/"}
    )

    assert response["Location"] == reverse("orchestration:job_detail", args=[demo_data.JOB_MATURE])


def test_a_reveal_ends_when_the_reviewer_loses_the_permission(client, reviewer, demo):
    client.force_login(reviewer)
    client.post(reverse("orchestration:blob_reveal", args=[DUSK]))
    media = reverse("orchestration:blob_media", args=[DUSK])
    assert client.get(media).status_code == 302

    reviewer.groups.clear()

    assert client.get(media).status_code == 403
    assert media not in job_page(client)
