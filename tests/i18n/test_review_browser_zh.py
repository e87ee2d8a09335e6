"""The review flow in Simplified Chinese, in Debian's chromium: a browser that asks for
zh-CN gets Chinese pages, the reviewer reveals, decides and sees the history in
Chinese; the header's switcher turns the pages to English and back, and remembers.
Screenshots go to test-artifacts/ (``zh-*.png``)."""

from pathlib import Path

import pytest

from devdata import orchestration_demo as demo
from orchestration.models import Job, RevealLog
from tests.e2e.conftest import ARGS, ARTIFACTS, CHROMIUM
from tests.orchestration.conftest import make_reviewer

DUSK_BLOB = "77AE00112233445566778899AABBCCF0.png"
BLOCKED_BLOB = "B10C0000000000000000000000000001.png"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def chinese_page():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def test_a_reviewer_works_the_queue_in_chinese(live_server, chinese_page, django_user_model):
    page = chinese_page
    demo.load_demo()
    make_reviewer(django_user_model, "rita")

    page.goto(f"{live_server.url}/admin/login/?next=/orchestration/review/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("#id_username", "rita")
    page.fill("#id_password", "pw-rita-1")
    page.click("input[type=submit]")
    page.wait_for_url("**/orchestration/review/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "审核队列" in page.locator("#content").inner_text()
    assert page.locator("table.review-queue tbody tr").count() == 3
    page.screenshot(path=ARTIFACTS / "zh-review-queue.png", full_page=True)

    page.click(f"a[href='/orchestration/jobs/{demo.JOB_MATURE}/']")
    page.wait_for_url(f"**/orchestration/jobs/{demo.JOB_MATURE}/")
    figure = page.locator(f"figure[data-blob='{DUSK_BLOB}']")
    assert "成人内容" in figure.inner_text()
    page.screenshot(path=ARTIFACTS / "zh-job-before-reveal.png", full_page=True)
    figure.get_by_role("button", name="显示").click()
    image = figure.locator("img")
    image.wait_for()
    assert image.get_attribute("alt") == f"二进制对象 {DUSK_BLOB}"  # from the JS catalog
    assert RevealLog.objects.filter(blob__civitai_id=DUSK_BLOB).count() == 1

    page.check("input[name=decision][value=escalated]")
    page.fill("textarea[name=note]", "e2e：需要再看一次")
    page.click("button[name=submit-decision]")
    page.wait_for_selector("text=已记录任务")
    history = page.locator("table.decision-history").inner_text()
    assert "已上报" in history and "e2e：需要再看一次" in history
    page.screenshot(path=ARTIFACTS / "zh-job-after-decision.png", full_page=True)
    assert Job.objects.get(civitai_id=demo.JOB_MATURE).review_status == "escalated"

    page.goto(f"{live_server.url}/orchestration/workflows/{demo.WF_BLOCKED}/")
    assert "不予显示" in page.locator(f"figure[data-blob='{BLOCKED_BLOB}']").inner_text()
    page.screenshot(path=ARTIFACTS / "zh-workflow-blocked.png", full_page=True)

    # The switcher: English now, and still English on the next page (the cookie).
    page.select_option("#language-switcher-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Workflow" in page.locator("#content").inner_text()
    page.goto(f"{live_server.url}/orchestration/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.select_option("#language-switcher-select", "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    page.screenshot(path=ARTIFACTS / "zh-workflow-list.png", full_page=True)
