"""Browser test: a page that enqueued work shows the run's progress live, then its result.

The live server has no worker: the test plays the worker by writing the run's progress
and result while the page is open, and the page (background/run-progress.js polling
the JSON status endpoint) shows each step without a reload.
"""

import pytest

from background.models import TaskRun
from devdata import orchestration_demo as demo
from tests.e2e.conftest import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_workflow_page_follows_its_refresh_run(live_server, browser_page, django_user_model):
    page = browser_page
    demo.load_demo()
    django_user_model.objects.create_user("ops", password="pw-ops-1", is_staff=True)
    run = TaskRun.objects.create(kind="refresh_workflow", arguments={"workflow_id": demo.WF_CLEAN})
    path = f"/orchestration/workflows/{demo.WF_CLEAN}/"
    log_in(page, live_server, "ops", "pw-ops-1", path)
    loads = []
    page.on("load", lambda _page: loads.append(1))
    page.goto(f"{live_server.url}{path}?run={run.pk}")
    box = page.locator(".task-run")
    assert "Queued" in box.inner_text()

    run.mark_started()
    run.set_progress(0, 1)
    page.wait_for_selector(".task-run[data-status=running]")
    run.set_progress(1, 1)
    run.finish(TaskRun.Status.SUCCEEDED, summary=f"Workflow {demo.WF_CLEAN} refreshed from the API")
    page.wait_for_selector(".task-run[data-status=succeeded]")
    text = box.inner_text()
    assert "Succeeded" in text and "refreshed from the API" in text and "1 / 1" in text
    assert len(loads) == 1  # polled, never reloaded
    page.screenshot(path=ARTIFACTS / "task-progress.png", full_page=True)
