"""The workflows list: filters, search and pagination over the mirror."""

import pytest
from django.urls import reverse

from orchestration import types as api
from orchestration.models import Blob
from orchestration.sync import store_workflows
from tests.fakes import orchestration_data as data

pytestmark = pytest.mark.django_db


def listed(client, **params) -> set[str]:
    page = client.get(reverse("orchestration:workflow_list"), params).content.decode()
    ids = {data.WF_DONE, data.WF_RUNNING, data.WF_FAILED, data.WF_MATURE}
    return {wf for wf in ids if f"/workflows/{wf}/" in page}


@pytest.fixture
def logged_in(client, staff, mirrored):
    client.force_login(staff)
    return client


def test_it_lists_newest_first(logged_in):
    page = logged_in.get(reverse("orchestration:workflow_list")).content.decode()
    assert page.index(data.WF_MATURE) < page.index(data.WF_DONE) < page.index(data.WF_FAILED)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"status": "failed"}, {data.WF_FAILED}),
        ({"status": "processing"}, {data.WF_RUNNING}),
        ({"tag": "civitrack"}, {data.WF_DONE, data.WF_RUNNING, data.WF_FAILED, data.WF_MATURE}),
        ({"tag": "civi"}, set()),  # tags match exactly
        ({"created_from": "2026-09-12"}, {data.WF_DONE, data.WF_RUNNING, data.WF_MATURE}),
        ({"created_to": "2026-09-11"}, {data.WF_FAILED}),
        (
            {"created_from": "2026-09-12", "created_to": "2026-09-12"},
            {data.WF_DONE, data.WF_RUNNING, data.WF_MATURE},
        ),
        ({"step_type": "videoGen"}, {data.WF_RUNNING, data.WF_FAILED}),
        ({"flagged": "true"}, {data.WF_MATURE}),
        ({"flagged": "false"}, {data.WF_DONE, data.WF_RUNNING, data.WF_FAILED}),
        ({"q": "lantern"}, {data.WF_DONE, data.WF_MATURE}),
        ({"q": "20260911"}, {data.WF_FAILED}),
        ({"q": "storm"}, {data.WF_FAILED}),
    ],
)
def test_it_filters(logged_in, params, expected):
    assert listed(logged_in, **params) == expected


def test_it_reports_bad_filter_values(logged_in):
    response = logged_in.get(reverse("orchestration:workflow_list"), {"created_from": "soon"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()


def test_it_paginates(client, staff):
    store_workflows([api.Workflow.from_api(w) for w in data.generate_workflows(30)])
    client.force_login(staff)
    url = reverse("orchestration:workflow_list")

    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2, "status": "succeeded"}).content.decode()

    assert "Page 1 of 2 (30 in all)" in first
    assert "Page 2 of 2 (27 in all)" in second
    assert "?status=succeeded&amp;page=1" in second


def test_it_shows_steps_blobs_and_links_to_tracking_assets(client, superuser, mirrored):
    from tracking.models import Asset

    sha = "ab" * 32
    asset = Asset.objects.create(
        asset_url="https://example.test/a.jpeg",
        asset_type="image",
        asset_source="generated",
        sha256sum=sha,
    )
    Blob.objects.filter(civitai_id=data.BLOB_JPEG).update(sha256=sha)
    client.force_login(superuser)

    page = client.get(
        reverse("orchestration:workflow_detail", args=[data.WF_DONE])
    ).content.decode()

    assert "imageGen" in page and "a paper lantern on a pond" in page
    assert 'loading="lazy"' in page
    assert f"asset #{asset.pk}" in page
    assert "Refresh from API" in page and "csrfmiddlewaretoken" in page


def test_it_counts_each_workflows_blobs_even_with_a_search_joining_steps(logged_in):
    # WF_MATURE has three blobs, WF_RUNNING none; the search joins steps (DISTINCT).
    for params in ({}, {"q": "2026"}):
        page = logged_in.get(reverse("orchestration:workflow_list"), params).content.decode()
        rows = {
            wf: page.split(f"/workflows/{wf}/", 1)[1].split("</tr>", 1)[0]
            for wf in (data.WF_MATURE, data.WF_RUNNING, data.WF_DONE)
        }
        cells = {wf: [c.split("<", 1)[0] for c in row.split("<td>")] for wf, row in rows.items()}
        assert cells[data.WF_MATURE][6] == "3"
        assert cells[data.WF_RUNNING][6] == "0"
        assert cells[data.WF_DONE][6] == "1"
