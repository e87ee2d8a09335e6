"""Browser test: a reviewer works the queue in Debian's chromium, driven by Playwright.

Logs in, opens the review queue, reveals a blurred image (logged), records a decision
and sees it in the job's history; checks the browser never requests withheld media.
Screenshots of the main pages go to test-artifacts/ (gitignored).
"""

import pytest

from devdata import orchestration_demo as demo
from orchestration.models import Job, RevealLog, ReviewDecision
from tests.e2e.conftest import ARTIFACTS
from tests.orchestration.conftest import make_reviewer

BLOCKED_BLOB = "B10C0000000000000000000000000001.png"
DUSK_BLOB = "77AE00112233445566778899AABBCCF0.png"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_reveals_decides_and_sees_the_history(
    live_server, browser_page, django_user_model
):
    page = browser_page
    demo.load_demo()
    make_reviewer(django_user_model, "rita")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/admin/login/?next=/orchestration/review/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", "pw-rita-1")
    page.click("input[type=submit]")
    page.wait_for_url("**/orchestration/review/")
    assert page.locator("table.review-queue tbody tr").count() == 3
    page.screenshot(path=ARTIFACTS / "review-queue.png", full_page=True)

    page.click(f"a[href='/orchestration/jobs/{demo.JOB_MATURE}/']")
    page.wait_for_url(f"**/orchestration/jobs/{demo.JOB_MATURE}/")
    figure = page.locator(f"figure[data-blob='{DUSK_BLOB}']")
    assert figure.locator("img").count() == 0  # blurred: no media requested yet
    assert not any(DUSK_BLOB in url for url in requested)
    page.screenshot(path=ARTIFACTS / "job-before-reveal.png", full_page=True)

    figure.get_by_role("button", name="Reveal").click()
    image = figure.locator("img")
    image.wait_for()
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle())
    assert RevealLog.objects.filter(blob__civitai_id=DUSK_BLOB, user__username="rita").count() == 1

    page.check("input[name=decision][value=escalated]")
    page.fill("textarea[name=note]", "e2e: needs a second look")
    page.click("button[name=submit-decision]")
    page.wait_for_selector("text=Decision recorded")
    history = page.locator("table.decision-history")
    assert "e2e: needs a second look" in history.inner_text()
    assert "Escalated" in history.inner_text()
    page.screenshot(path=ARTIFACTS / "job-after-decision.png", full_page=True)
    assert ReviewDecision.objects.get().decided_by.username == "rita"
    assert Job.objects.get(civitai_id=demo.JOB_MATURE).review_status == "escalated"

    page.goto(f"{live_server.url}/orchestration/workflows/{demo.WF_BLOCKED}/")
    assert "Withheld" in page.locator(f"figure[data-blob='{BLOCKED_BLOB}']").inner_text()
    page.screenshot(path=ARTIFACTS / "workflow-blocked.png", full_page=True)
    page.goto(f"{live_server.url}/orchestration/")
    page.screenshot(path=ARTIFACTS / "workflow-list.png", full_page=True)

    assert not any(BLOCKED_BLOB in url for url in requested)
