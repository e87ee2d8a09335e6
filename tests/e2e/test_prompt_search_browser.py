"""Browser test of the admin's prompt search: ranked rows, marked matches, nothing injected."""

import pytest

from tests.e2e.conftest import ARTIFACTS, log_in
from tests.tracking.recording_helpers import SEARCH_FILLER
from tracking.models import Prompt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_search_prompts_and_see_the_matches_marked(
    live_server, browser_page, django_user_model
):
    page = browser_page
    django_user_model.objects.create_superuser("ada", "", "pw-ada-12345")
    for text in SEARCH_FILLER:
        Prompt.objects.create(prompt_text=text)
    both = Prompt.objects.create(prompt_text="red fox carrying a paper lantern in the snow")
    Prompt.objects.create(prompt_text="paper lantern floating on a pond at dusk")
    Prompt.objects.create(prompt_text='<img src="/x" onerror="document.title=1"> a lantern')
    Prompt.objects.create(prompt_text="一只猫在草地上提着灯笼")

    log_in(page, live_server, "ada", "pw-ada-12345", "/admin/tracking/prompt/")
    page.fill("#searchbar", "lantern or fox")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=lantern**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    first = rows.first.locator("td.field-excerpt, th.field-excerpt")
    assert first.inner_text().startswith("red fox carrying")
    assert rows.first.locator("a").first.inner_text() == str(both.pk)
    marked = page.locator("#result_list mark").all_inner_texts()
    assert {"lantern", "fox"} <= {m.lower() for m in marked}
    # The prompt's own markup is shown as text, never rendered.
    assert page.locator("#result_list img").count() == 0
    assert page.get_by_text('<img src="/x"', exact=False).count() == 1
    assert page.title() != "1"
    page.screenshot(path=ARTIFACTS / "admin-prompt-search.png", full_page=True)

    page.fill("#searchbar", "灯笼")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=%E7%81%AF%E7%AC%BC**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator("#result_list mark").all_inner_texts() == ["灯笼"]

    page.fill("#searchbar", "-fox")
    page.press("#searchbar", "Enter")
    page.wait_for_selector(".messagelist .warning")
    assert "query must look for at least one word" in page.locator(".messagelist").inner_text()
    page.screenshot(path=ARTIFACTS / "admin-prompt-search-refused.png", full_page=True)
