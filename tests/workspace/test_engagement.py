"""Engagement charts (issue 14 item 3): change-page charts, the comparison page, queries."""

import datetime as dt
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracking.models import Asset, AssetStatsSnapshot, Post
from workspace.engagement import MAX_COMPARED

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC)


def make_post(n: int) -> Post:
    return Post.objects.create(civitai_id=n, civitai_url=f"https://civitai.com/posts/{n}")


def make_asset(n: int, post: Post | None = None) -> Asset:
    return Asset.objects.create(
        asset_url=f"https://cdn.example.com/{n}.png",
        asset_type="image",
        asset_source="upload",
        civitai_id=n,
        civitai_url=f"https://civitai.com/images/{n}",
        post=post,
    )


def snapshots(asset: Asset, count: int, *, likes: int = 1) -> None:
    AssetStatsSnapshot.objects.bulk_create(
        AssetStatsSnapshot(
            asset=asset,
            captured_at=T0 + dt.timedelta(hours=6 * i),
            like_count=likes * (i + 1),
            heart_count=i,
            comment_count=2,
        )
        for i in range(count)
    )


def chart_json(html: str, chart_id: str) -> dict:
    found = re.search(
        rf'<script id="{chart_id}-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, f"no JSON for {chart_id}"
    return json.loads(found.group(1))


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_it_charts_an_asset_with_one_line_per_reaction_type_and_the_table(client, superuser):
    asset = make_asset(101)
    snapshots(asset, 3)
    client.force_login(superuser)
    html = client.get(reverse("admin:tracking_asset_change", args=[asset.pk])).content.decode()
    data = chart_json(html, f"engagement-asset-{asset.pk}")
    assert [s["label"] for s in data["series"]] == [
        "Likes",
        "Hearts",
        "Laughs",
        "Cries",
        "Dislikes",
        "Comments",
    ]
    likes = data["series"][0]["points"]
    assert likes == [
        [int((T0 + dt.timedelta(hours=6 * i)).timestamp() * 1000), i + 1] for i in range(3)
    ]
    table = html[html.index('class="engagement-table"') :]
    assert table.count("<tr><td><time") == 3  # every snapshot, newest first
    assert "3 snapshots, newest first" in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "engagement-chart.js" in html


def test_the_lists_do_not_load_the_chart_library(client, superuser):
    client.force_login(superuser)
    html = client.get(reverse("admin:tracking_asset_changelist")).content.decode()
    assert "chart.umd.min.js" not in html


def test_a_post_chart_sums_its_assets_per_sync(client, superuser):
    post = make_post(7001)
    snapshots(make_asset(201, post), 2, likes=10)
    snapshots(make_asset(202, post), 2, likes=1)
    client.force_login(superuser)
    html = client.get(reverse("admin:tracking_post_change", args=[post.pk])).content.decode()
    data = chart_json(html, f"engagement-post-{post.pk}")
    assert [p[1] for p in data["series"][0]["points"]] == [11, 22]


@pytest.mark.parametrize("kind", ["asset", "post"])
def test_change_pages_cost_the_same_queries_for_3_or_60_snapshots(client, superuser, kind):
    client.force_login(superuser)
    counts = []
    for n, size in ((1, 3), (2, 60)):
        post = make_post(8000 + n)
        asset = make_asset(300 + n, post)
        snapshots(asset, size)
        target = asset if kind == "asset" else post
        counts.append(
            queries_for(client, reverse(f"admin:tracking_{kind}_change", args=[target.pk]))
        )
    assert counts[0] == counts[1]


def test_the_comparison_draws_one_line_per_post(client, superuser):
    first, second = make_post(9001), make_post(9002)
    snapshots(make_asset(401, first), 3, likes=5)
    snapshots(make_asset(402, second), 2, likes=1)
    client.force_login(superuser)
    url = reverse("admin:tracking_post_compare") + f"?ids={first.pk},{second.pk}"
    html = client.get(url).content.decode()
    data = chart_json(html, "engagement-compare-post")
    assert [s["label"] for s in data["series"]] == ["post 9001", "post 9002"]
    # reactions = likes + hearts: 5+0, 10+1, 15+2 and 1+0, 2+1
    assert [[p[1] for p in s["points"]] for s in data["series"]] == [[5, 11, 17], [1, 3]]
    assert html.count("<tr><td><a href=") == 5  # the table names the record on each row
    liked = client.get(url + "&metric=comment_count").content.decode()
    data = chart_json(liked, "engagement-compare-post")
    assert [[p[1] for p in s["points"]] for s in data["series"]] == [[2, 2, 2], [2, 2]]


def test_the_comparison_costs_the_same_queries_whatever_the_snapshots(client, superuser):
    client.force_login(superuser)
    small = [make_asset(500 + i) for i in range(2)]
    large = [make_asset(600 + i) for i in range(2)]
    for a in small:
        snapshots(a, 2)
    for a in large:
        snapshots(a, 80)
    base = reverse("admin:tracking_asset_compare")
    assert queries_for(client, f"{base}?ids={small[0].pk},{small[1].pk}") == queries_for(
        client, f"{base}?ids={large[0].pk},{large[1].pk}"
    )


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "at least one record id"),
        ("?ids=3,abc", "ids must be record ids"),
        ("?ids=1&metric=views", "metric must be one of"),
        ("?ids=" + ",".join(str(i) for i in range(1, MAX_COMPARED + 2)), "at most"),
    ],
)
def test_a_wrong_comparison_address_says_what_is_wrong(client, superuser, query, says):
    client.force_login(superuser)
    response = client.get(reverse("admin:tracking_asset_compare") + query)
    assert response.status_code == 400
    assert says in response.content.decode()


def test_unknown_ids_are_named_and_the_rest_compared(client, superuser):
    asset = make_asset(701)
    snapshots(asset, 2)
    client.force_login(superuser)
    response = client.get(reverse("admin:tracking_asset_compare") + f"?ids={asset.pk},999999")
    html = response.content.decode()
    assert response.status_code == 200
    assert "No record with id 999999." in html
    assert len(chart_json(html, "engagement-compare-asset")["series"]) == 1


def test_the_action_opens_the_comparison_of_the_selection(client, superuser):
    assets = [make_asset(801), make_asset(802)]
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tracking_asset_changelist"),
        {"action": "compare_engagement", "_selected_action": [a.pk for a in assets]},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("admin:tracking_asset_compare") + f"?ids={assets[0].pk},{assets[1].pk}"
    )


def test_the_comparison_needs_a_staff_session_with_the_view_permission(
    client, django_user_model, staff
):
    url = reverse("admin:tracking_post_compare") + "?ids=1"
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(staff)
    assert client.get(url).status_code == 200
    staff.user_permissions.remove(Permission.objects.get(codename="view_post"))
    staff.user_permissions.remove(Permission.objects.get(codename="change_post"))
    staff = django_user_model.objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    assert client.get(url).status_code == 403


def test_labels_reach_the_page_as_escaped_json(client, superuser):
    post = make_post(9100)
    post.title = '</script><script>alert("x")</script>'
    post.save()
    snapshots(make_asset(901, post), 1)
    client.force_login(superuser)
    html = client.get(reverse("admin:tracking_post_change", args=[post.pk])).content.decode()
    assert '<script>alert("x")' not in html
