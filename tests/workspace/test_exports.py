"""Export any admin list (issue 14 item 4): current filters and search, CSV and JSON
Lines, streamed, text cells neutralized, a fixed number of queries."""

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from civitrack.spreadsheet import neutralize
from devdata import orchestration_demo
from orchestration.models import Job
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db

EXPORTS = [
    "tracking_asset",
    "tracking_post",
    "tracking_prompt",
    "orchestration_workflow",
    "orchestration_job",
    "orchestration_reviewdecision",
]


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def jsonl_rows(response) -> list[dict]:
    return [json.loads(line) for line in body(response).splitlines()]


def make_assets(n: int) -> None:
    post, _ = Post.objects.get_or_create(
        civitai_id=42, defaults={"civitai_url": "https://civitai.com/posts/42"}
    )
    for i in range(n):
        Asset.objects.create(
            asset_url=f"https://cdn.example.com/{i}.{'mp4' if i % 2 else 'png'}",
            asset_type="video" if i % 2 else "image",
            asset_source="upload",
            post=post if i % 3 == 0 else None,
            metadata={"n": i},
        )


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_list_exports_in_both_formats(client, superuser, name, fmt):
    orchestration_demo.load_demo()
    make_assets(3)
    Prompt.objects.create(prompt_text="a lantern")
    Job.objects.get(civitai_id=orchestration_demo.JOB_MATURE).decide(superuser, "escalated", "=x")
    client.force_login(superuser)
    response = client.get(reverse(f"admin:{name}_export_{fmt}"))
    assert response.status_code == 200
    assert (
        "attachment" in response["Content-Disposition"]
        and f".{fmt}" in response["Content-Disposition"]
    )
    rows = csv_rows(response) if fmt == "csv" else jsonl_rows(response)
    assert rows and "id" in rows[0]


def test_it_exports_the_lists_current_filter_and_search(client, superuser):
    make_assets(6)
    client.force_login(superuser)
    url = reverse("admin:tracking_asset_export_csv")
    videos = csv_rows(client.get(url, {"asset_type__exact": "video"}))
    assert {r["asset_type"] for r in videos} == {"video"} and len(videos) == 3
    in_post = csv_rows(client.get(url, {"has_post": "yes", "q": "png"}))
    assert [r["asset_url"] for r in in_post] == ["https://cdn.example.com/0.png"]
    assert in_post[0]["metadata"] == '{"n": 0}'  # JSON, not a Python dict


def test_its_changelist_links_carry_the_querystring(client, superuser):
    client.force_login(superuser)
    html = client.get(
        reverse("admin:tracking_asset_changelist"), {"asset_type__exact": "video"}
    ).content.decode()
    assert 'href="/admin/tracking/asset/export.csv?asset_type__exact=video"' in html
    assert 'href="/admin/tracking/asset/export.jsonl?asset_type__exact=video"' in html


def test_it_neutralizes_every_text_cell_of_the_csv(client, superuser):
    Prompt.objects.create(prompt_text='=HYPERLINK("http://x","y")', llm_model="+cmd", metadata={})
    client.force_login(superuser)
    row = csv_rows(client.get(reverse("admin:tracking_prompt_export_csv")))[0]
    assert row["prompt_text"] == '\'=HYPERLINK("http://x","y")'
    assert row["llm_model"] == "'+cmd"
    jsonl = jsonl_rows(client.get(reverse("admin:tracking_prompt_export_jsonl")))[0]
    assert jsonl["prompt_text"] == '=HYPERLINK("http://x","y")'  # JSON keeps the data as is


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralize_makes_formulas_text(text):
    assert neutralize(text) == "'" + text
    assert neutralize("plain") == "plain" and neutralize(None) == ""


def test_it_leaves_signed_urls_and_raw_json_out_of_mirror_exports(client, superuser):
    orchestration_demo.load_demo()
    client.force_login(superuser)
    rows = jsonl_rows(client.get(reverse("admin:orchestration_blob_export_jsonl")))
    assert rows and not {"url", "preview_url", "raw"} & set(rows[0])
    jobs = jsonl_rows(client.get(reverse("admin:orchestration_job_export_jsonl")))
    assert len(jobs) == Job.objects.count() and "raw" not in jobs[0]


def test_it_refuses_people_who_cannot_see_the_list(client, staff):
    client.force_login(staff)  # tracking permissions only
    assert client.get(reverse("admin:tracking_asset_export_csv")).status_code == 200
    assert client.get(reverse("admin:orchestration_job_export_csv")).status_code == 403
    client.logout()
    response = client.get(reverse("admin:tracking_asset_export_csv"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_exports_in_the_same_number_of_queries_whatever_the_row_count(
    client, superuser, django_assert_num_queries
):
    client.force_login(superuser)
    url = reverse("admin:tracking_asset_export_csv")
    make_assets(2)
    client.get(url)
    with django_assert_num_queries(5) as few:
        assert len(csv_rows(client.get(url))) == 2
    make_assets(300)
    with django_assert_num_queries(len(few)):
        assert len(csv_rows(client.get(url))) == 302
