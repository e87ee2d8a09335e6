"""Media of CSAM-flagged, blocked or unavailable jobs is never requested nor linked.

The pages carry no URL for withheld media at all; the media endpoint refuses it
without contacting the API; raw JSON is shown with every URL hidden.
"""

import pytest
from django.urls import reverse

from orchestration.models import Blob, Job, RevealLog
from tests.fakes import orchestration_data as data
from tests.orchestration.conftest import make_scanned_job

pytestmark = pytest.mark.django_db

CSAM_BLOB = "C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png"


def pages(client, *job_ids):
    urls = [
        reverse("orchestration:workflow_list"),
        reverse("orchestration:workflow_detail", args=[data.WF_MATURE]),
        reverse("orchestration:review_queue"),
        *[reverse("orchestration:job_detail", args=[j]) for j in job_ids],
    ]
    html = ""
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        html += response.content.decode()
    return html


def test_it_never_links_or_fetches_csam_flagged_media(client, reviewer, mirrored):
    fake = mirrored
    client.force_login(reviewer)
    media_url = reverse("orchestration:blob_media", args=[CSAM_BLOB])
    reveal_url = reverse("orchestration:blob_reveal", args=[CSAM_BLOB])

    html = pages(client, data.JOB_CSAM)

    assert media_url not in html and reveal_url not in html
    assert "possible CSAM" in html  # the placeholder says why
    assert "blobs.fake.test" not in html and "sig=" not in html and fake.url not in html
    assert client.get(media_url).status_code == 403
    assert client.post(reveal_url).status_code == 403
    assert RevealLog.objects.count() == 0
    for route in ("blob", "content", "blocked"):
        assert fake.requests_to(route) == []


def test_it_withholds_blocked_and_unavailable_media(client, reviewer, mirrored):
    client.force_login(reviewer)

    html = pages(client)

    for blob_id, why in (
        (data.BLOB_BLOCKED, "blocked (policy)"),
        (data.BLOB_MATURE, "not available"),
    ):
        assert reverse("orchestration:blob_media", args=[blob_id]) not in html
        assert why in html
        assert client.get(reverse("orchestration:blob_media", args=[blob_id])).status_code == 403


def test_it_withholds_media_of_a_job_not_scanned_yet(client, reviewer, fake_orchestration):
    from orchestration.sync import sync_workflows

    sync_workflows(max_scans=0)
    client.force_login(reviewer)

    html = pages(client)

    assert "Withheld until scanned" in html
    assert reverse("orchestration:blob_media", args=[data.BLOB_JPEG]) not in html
    assert client.get(reverse("orchestration:blob_media", args=[data.BLOB_JPEG])).status_code == 403


def test_it_withholds_media_at_the_configured_threshold(client, reviewer, settings):
    settings.MODERATION_CSAM_THRESHOLD = 0.3
    flagged = make_scanned_job(1, csam=0.3)
    under = make_scanned_job(2, csam=0.29)
    client.force_login(reviewer)

    assert flagged.blobs.get().media_policy().withheld
    assert not under.blobs.get().media_policy().withheld
    page = client.get(reverse("orchestration:job_detail", args=[flagged.civitai_id]))
    assert "blobs.example.test" not in page.content.decode()
    assert reverse("orchestration:blob_media", args=[flagged.blobs.get().civitai_id]) not in (
        page.content.decode()
    )


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.test/x.png", "ftp://x/y.png", ""],
)
def test_it_only_ever_serves_http_urls(client, reviewer, url):
    job = make_scanned_job(1, url=url)
    blob = job.blobs.get()
    client.force_login(reviewer)

    assert blob.media_policy().withheld
    page = client.get(reverse("orchestration:job_detail", args=[job.civitai_id])).content.decode()
    if url:
        assert url not in page
    assert (
        client.get(reverse("orchestration:blob_media", args=[blob.civitai_id])).status_code == 403
    )


def test_it_withholds_media_of_a_confirmed_violation(client, reviewer):
    job = make_scanned_job(1)
    job.decide(reviewer, "confirmed_violation", "bad")
    blob = Blob.objects.get(job=job)
    client.force_login(reviewer)

    assert blob.media_policy().reason == "Withheld: confirmed violation"
    assert (
        client.get(reverse("orchestration:blob_media", args=[blob.civitai_id])).status_code == 403
    )


def test_it_redirects_clean_media_to_its_http_url(client, staff, mirrored):
    client.force_login(staff)
    blob = Blob.objects.get(civitai_id=data.BLOB_JPEG)
    Blob.objects.filter(pk=blob.pk).update(url_expires_at=None)

    response = client.get(reverse("orchestration:blob_media", args=[blob.civitai_id]))

    assert response.status_code == 302
    assert response["Location"] == blob.url


def test_it_renews_an_expired_url_through_the_api_without_reading_bytes(client, staff, mirrored):
    fake = mirrored
    client.force_login(staff)
    blob = Blob.objects.get(civitai_id=data.BLOB_JPEG)  # fixture URL expired in 2026-09

    response = client.get(reverse("orchestration:blob_media", args=[blob.civitai_id]))

    assert response.status_code == 302
    assert response["Location"].startswith(fake.url + "/v2/consumer/blobs/content/")
    assert len(fake.requests_to("blob")) == 1 and fake.requests_to("content") == []
    assert fake.token not in response["Location"]


def test_the_job_json_is_shown_with_urls_hidden(client, reviewer, mirrored):
    client.force_login(reviewer)

    page = client.get(reverse("orchestration:job_detail", args=[data.JOB_OK])).content.decode()

    assert "[url hidden]" in page and "blobs.fake.test" not in page
    assert Job.objects.get(civitai_id=data.JOB_OK).scan.raw["result"][0]["blobUrl"]
