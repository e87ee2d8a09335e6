"""Browser test: a reviewer works the queue with the keyboard only, then bulk-clears.

Keys are pressed as a person would (no clicks until the bulk clear); what the page
says to screen readers is read back from its aria-live region.
"""

import pytest
from playwright.sync_api import expect

from devdata import orchestration_demo as demo
from orchestration.models import Job, RevealLog, ReviewDecision
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.orchestration.conftest import make_reviewer, make_scanned_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def job_url(job_id: str) -> str:
    return f"**/orchestration/jobs/{job_id}/**"


def test_a_reviewer_decides_with_keys_and_bulk_clears(live_server, browser_page, django_user_model):
    page = browser_page
    demo.load_demo()
    for n in range(3):
        make_scanned_job(500 + n, csam=0.0001)
    make_reviewer(django_user_model, "rita")
    log_in(page, live_server, "rita", "pw-rita-1", "/orchestration/review/")
    live = page.locator("#review-live")

    # the riskiest job first: the one the scanner blocked
    page.locator("table.review-queue tbody tr").first.get_by_role("link").first.click()
    page.wait_for_url(job_url(demo.JOB_BLOCKED))

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    expect(live).to_contain_text("Escape closes")  # waits: the region is written after the change
    page.screenshot(path=ARTIFACTS / "review-keys-dialog.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    page.keyboard.press("j")
    page.wait_for_url(job_url(demo.JOB_MATURE))
    page.keyboard.press("k")
    page.wait_for_url(job_url(demo.JOB_BLOCKED))
    page.keyboard.press("j")
    page.wait_for_url(job_url(demo.JOB_MATURE))

    page.keyboard.press("r")
    page.locator("figure.orch-media img").wait_for()
    assert RevealLog.objects.filter(user__username="rita").count() == 1

    page.keyboard.press("v")
    note = page.locator("textarea[name=note]")
    assert note.evaluate("e => e === document.activeElement")
    expect(live).to_contain_text("type the note")  # waits: the region is written after the change
    page.keyboard.press("Control+Enter")  # empty note: refused on the page, nothing sent
    page.wait_for_function(
        "() => document.querySelector('#review-live').textContent.includes('A note is required')"
    )
    page.keyboard.type("e2e: a violation, typed")
    page.keyboard.press("Control+Enter")
    # decide and next: the riskiest job left, claimed on arrival
    page.wait_for_url(job_url(demo.JOB_BLOCKED))
    page.wait_for_function(
        "() => document.querySelector('#review-live').textContent.includes('Now job')"
    )
    expect(live).to_contain_text(
        "Decision recorded"
    )  # waits: the region is written after the change
    assert Job.objects.get(civitai_id=demo.JOB_BLOCKED).claimed_by.username == "rita"
    mature = ReviewDecision.objects.get(job__civitai_id=demo.JOB_MATURE)
    assert mature.decision == "confirmed_violation" and mature.note == "e2e: a violation, typed"
    page.screenshot(path=ARTIFACTS / "review-keys-next.png", full_page=True)

    page.keyboard.press("c")
    page.wait_for_url(job_url(demo.JOB_CLEAN))
    assert ReviewDecision.objects.get(job__civitai_id=demo.JOB_BLOCKED).decision == "cleared"

    # bulk clear the three near-zero jobs, the clean demo job among them
    page.goto(f"{live_server.url}/orchestration/review/")
    page.fill("#bulk-clear input[name=below]", "0.001")
    page.get_by_role("button", name="Bulk clear…").click()
    confirm = page.locator("#bulk-clear-confirm")
    assert "Clear 4 jobs with a CSAM score below 0.001?" in confirm.inner_text()
    page.screenshot(path=ARTIFACTS / "review-bulk-clear.png")
    confirm.get_by_role("button", name="Clear 4 jobs").click()
    page.wait_for_url("**/orchestration/review/")
    assert "Cleared 4 jobs" in page.locator(".messagelist").inner_text()
    assert "Nothing needs review." in page.locator("table.review-queue").inner_text()

    page.goto(f"{live_server.url}/orchestration/review/?min_csam=abc")
    alert = page.get_by_role("alert")
    assert "CSAM score ≥: Enter a number." in alert.inner_text()
    page.screenshot(path=ARTIFACTS / "review-filter-error.png")
