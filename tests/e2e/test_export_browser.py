"""Browser test: staff filter and search a list, download it as CSV and JSON Lines,
and read the files back."""

import csv
import io
import json

import pytest

from devdata import tracking_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in
from tracking.models import Asset, Prompt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_download_the_filtered_list_and_parse_it(
    live_server, browser_page, django_user_model
):
    page = browser_page
    ada = django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    demo.load_demo(ada, base_url=live_server.url)
    Prompt.objects.create(prompt_text="=cmd|' /C calc'!A0 lantern", created_by=ada)

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/prompt/")
    page.fill("#searchbar", "lantern")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=lantern**")
    shown = page.locator("#result_list tbody tr").count()
    page.screenshot(path=ARTIFACTS / "export-prompts.png")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert len(rows) == shown == Prompt.objects.filter(prompt_text__icontains="lantern").count()
    formula = next(r for r in rows if "calc" in r["prompt_text"])
    assert formula["prompt_text"].startswith("'=")  # text to a spreadsheet, not a formula

    page.goto(f"{live_server.url}/admin/tracking/asset/?asset_type__exact=image&has_post=yes")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSON Lines").click()
    assert download.value.suggested_filename.endswith(".jsonl")
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    expected = Asset.objects.filter(asset_type="image", post__isnull=False)
    assert sorted(r["id"] for r in records) == sorted(expected.values_list("pk", flat=True))
