"""Browser tests of the engagement charts: drawn on the page, compared, and a table without JS."""

import datetime as dt

import pytest

from tests.e2e.conftest import ARTIFACTS, log_in
from tracking.models import Asset, AssetStatsSnapshot, Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
T0 = dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC)
# The first two colours of static/workspace/engagement-chart.js.
BLUE, VERMILION = (0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)

COLOURED_PIXELS = """([figure, colours]) => {
  const canvas = document.querySelector(figure + " canvas");
  const ctx = canvas.getContext("2d");
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const near = (i, [r, g, b]) =>
    Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24;
  const found = { painted: 0, colours: colours.map(() => 0) };
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    found.painted += 1;
    colours.forEach((c, k) => { if (near(i, c)) found.colours[k] += 1; });
  }
  return found;
}"""


def posted_asset(n: int, *, likes: int, days: int = 5) -> Asset:
    post = Post.objects.create(
        civitai_id=n, civitai_url=f"https://civitai.com/posts/{n}", title=f"Post {n}"
    )
    asset = Asset.objects.create(
        asset_url=f"https://cdn.example.com/{n}.png",
        asset_type="image",
        asset_source="upload",
        civitai_id=n + 1,
        civitai_url=f"https://civitai.com/images/{n + 1}",
        post=post,
    )
    AssetStatsSnapshot.objects.bulk_create(
        AssetStatsSnapshot(
            asset=asset,
            captured_at=T0 + dt.timedelta(days=day),
            like_count=likes * (day + 1),
            heart_count=day * 2,
            laugh_count=day,
            comment_count=day // 2,
        )
        for day in range(days)
    )
    return asset


def test_the_asset_page_draws_engagement_over_time_above_its_table(
    live_server, browser_page, django_user_model
):
    page = browser_page
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    asset = posted_asset(23602354, likes=12)
    path = f"/admin/tracking/asset/{asset.pk}/change/"
    log_in(page, live_server, "ada", "pw-ada-12345", path)
    figure = page.locator("figure.engagement-chart")
    figure.locator("canvas").wait_for()
    assert figure.get_attribute("data-drawn") == "6"  # one line per reaction type
    found = page.evaluate(COLOURED_PIXELS, ["figure.engagement-chart", [BLUE]])
    assert found["painted"] > 2000 and found["colours"][0] > 100, found
    assert figure.locator("table.engagement-table tbody tr").count() == 5
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=ARTIFACTS / "engagement-asset.png")


def test_two_posts_compared_show_two_lines(live_server, browser_page, django_user_model):
    page = browser_page
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    first = posted_asset(1001, likes=20).post
    second = posted_asset(2002, likes=5, days=4).post
    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/post/")
    for post in (first, second):
        page.get_by_role("row", name=str(post.civitai_id)).locator("input.action-select").check()
    page.select_option("select[name=action]", "compare_engagement")
    page.click("button[name=index]")
    page.wait_for_url("**/admin/tracking/post/compare/?ids=*")
    figure = page.locator("figure.engagement-chart")
    figure.locator("canvas").wait_for()
    assert figure.get_attribute("data-drawn") == "2"
    labels = page.evaluate(
        "() => Chart.getChart(document.querySelector('figure canvas'))"
        ".data.datasets.map(d => d.label)"
    )
    assert labels == ["post 1001", "post 2002"]
    found = page.evaluate(COLOURED_PIXELS, ["figure.engagement-chart", [BLUE, VERMILION]])
    assert all(n > 100 for n in found["colours"]), found  # both lines are on the canvas
    page.screenshot(path=ARTIFACTS / "engagement-compare.png", full_page=True)

    # the address is the bookmark: opened again, it draws the same comparison
    page.goto(page.url + "&metric=like_count")
    page.locator("figure.engagement-chart canvas").wait_for()
    assert page.locator("#id_metric").input_value() == "like_count"


def test_without_scripts_the_table_is_there(live_server, browser_page, django_user_model):
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    first = posted_asset(1001, likes=20).post
    second = posted_asset(2002, likes=5, days=4).post
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    path = f"/admin/tracking/post/compare/?ids={first.pk},{second.pk}"
    log_in(page, live_server, "ada", "pw-ada-12345", path)
    figure = page.locator("figure.engagement-chart")
    assert figure.locator("canvas").count() == 0
    rows = figure.locator("table.engagement-table tbody tr")
    assert rows.count() == 9
    assert rows.first.locator("td").first.inner_text() == "post 1001"
    page.screenshot(path=ARTIFACTS / "engagement-no-js.png", full_page=True)
    context.close()
