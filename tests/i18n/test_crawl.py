"""Every staff page, crawled from the URL resolver with the demo data as a superuser:
in Simplified Chinese no English message id of ours is visible and ``<html lang>`` is
``zh-hans``; in English no Chinese is visible (besides the switcher's own "简体中文").

Routes come from the same walk of the resolver as the access matrix
(tests/hardening/test_access_matrix.py), so a new page is crawled without anyone
adding it here. Non-HTML answers (media redirects, CSV, JSON) are skipped by type.
"""

from __future__ import annotations

import pytest
from django.test import Client

from devdata import orchestration_demo, tracking_demo
from tests.hardening.test_access_matrix import (
    ALLOWED,
    RULES,
    admin_routes,
    admin_url,
    url_for,
)
from tests.i18n.visible import CJK, english_message_ids, untranslated_on_page, visible_texts

pytestmark = pytest.mark.django_db


def staff_urls() -> list[str]:
    """Every GET route staff open (the admin's and ours), with real objects filled in."""
    urls = [
        url_for(name)
        for name, rule in sorted(RULES.items())
        if rule.method == "GET"
        and rule.expected["superuser"] == ALLOWED
        and rule.expected["anonymous"] != ALLOWED  # staff pages, not public ones
    ]
    urls += [u for u in (admin_url(n) for n in admin_routes()) if u]
    return sorted(set(urls))


def post_flows(client: Client) -> list[tuple[str, str]]:
    """Pages that show a message after a form: (label, HTML)."""
    job = orchestration_demo.JOB_MATURE
    pages = []
    for label, url, data in [
        ("lookup refused", "/orchestration/lookup/", {"q": "not an id!"}),
        ("claim", f"/orchestration/jobs/{job}/claim/", {}),
        ("decision without note", f"/orchestration/jobs/{job}/decide/", {"decision": "escalated"}),
        ("release", f"/orchestration/jobs/{job}/release/", {}),
        ("release again", f"/orchestration/jobs/{job}/release/", {}),
    ]:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200, (label, response.status_code)
        pages.append((label, response.content.decode()))
    return pages


@pytest.fixture
def crawler(django_user_model, fake_orchestration):
    root = django_user_model.objects.create_superuser("root", "", "pw-root-12345")
    tracking_demo.load_demo(root)
    orchestration_demo.load_demo()

    def crawl(language: str):
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(root)
        pages = []
        for url in staff_urls():
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                pages.append((url, response.content.decode()))
        pages += post_flows(client)
        return pages

    return crawl


def test_every_staff_page_speaks_chinese_when_the_browser_asks(crawler):
    ids = english_message_ids()
    pages = crawler("zh-hans,zh;q=0.9,en;q=0.5")
    assert len(pages) > 40, [u for u, _ in pages]  # the crawl reached the admin and ours
    problems = {}
    for url, html in pages:
        lang, texts = visible_texts(html, "zh-hans")
        found = ([f"<html lang={lang!r}>"] if lang != "zh-hans" else []) + untranslated_on_page(
            texts, ids
        )
        if found:
            problems[url] = found
    assert not problems, problems


def test_every_staff_page_stays_english_by_default(crawler):
    pages = crawler("en-US,en;q=0.9")
    problems = {}
    for url, html in pages:
        lang, texts = visible_texts(html, "en")
        chinese = [t for t in texts if CJK.search(t)]
        if lang != "en" or chinese:
            problems[url] = [f"<html lang={lang!r}>", *chinese]
    assert not problems, problems
