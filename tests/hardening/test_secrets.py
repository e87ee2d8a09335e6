"""No configured secret ever leaves the process: not in output, errors, logs, pages or rows.

With a known ``CIVITAI_API_TOKEN`` (the fake Orchestration API's), a known
``CIVITAI_SITE_TOKEN`` and an API bearer token, every management command and every
page or API route reachable here is driven through its error paths - upstream 401
(with the token echoed back in the error body), 404, 500, malformed JSON, an HTML
page, a server that echoes the token into its data, connection refused, bad input -
and stdout, stderr, exception texts with their tracebacks, every log record (all
loggers at DEBUG, urllib3 and django.request included, read before any redacting
handler) and every HTTP response body and header are searched for the three values.
The rows the successful calls stored are searched too.
"""

from __future__ import annotations

import logging
import traceback
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from tests.fakes import civitai_site as site
from tests.fakes import orchestration_data as orch_data
from tests.hardening.helpers import REPORT, _snapshot_queries
from tracking import services
from tracking.models import ApiToken, Post

pytestmark = pytest.mark.django_db

SITE_TOKEN = "site-secret-3b9d51f0c2a84e7f"
LOGGERS = ("", "urllib3", "django", "django.request", "tracking", "orchestration", "civitrack")
SITE_FAULTS = ["401", "404", "500", "truncated", "html", "leak_token", "wrong_post_id"]
HTML = b"<html><body>Access denied</body></html>"


class Secrets:
    """The secret values, and one place that looks for them in whatever was produced."""

    def __init__(self, values: dict[str, str], caplog):
        self.values = values
        self.caplog = caplog
        self.checked = 0

    def assert_absent(self, text: str, where: str) -> None:
        self.checked += 1
        REPORT["secrets"][where.split(":")[0]] += 1
        for name, value in self.values.items():
            assert value not in text, f"{name} leaked in {where}"

    def assert_logs_clean(self) -> None:
        for record in self.caplog.records:
            text = record.getMessage()
            if record.exc_info:
                text += "".join(traceback.format_exception(*record.exc_info))
            self.assert_absent(text, f"log record of {record.name}")

    def assert_rows_clean(self) -> None:
        """Everything stored in civitrack's tables (imported payloads included)."""
        with connection.cursor() as cursor:
            for table, sql in _snapshot_queries():
                cursor.execute(sql)
                self.assert_absent(repr(cursor.fetchall()), f"rows: {table}")


@pytest.fixture
def secrets(settings, fake_site, fake_orchestration, alice, caplog):
    settings.CIVITAI_SITE_TOKEN = SITE_TOKEN
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_READ_TIMEOUT = 2.0
    settings.HTTP_RETRY_AFTER_MAX = 0
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    api_token = ApiToken.issue(alice, name="secrets")[1]
    found = Secrets(
        {
            "CIVITAI_API_TOKEN": fake_orchestration.token,
            "CIVITAI_SITE_TOKEN": SITE_TOKEN,
            "API bearer token": api_token,
        },
        caplog,
    )
    yield found
    found.assert_logs_clean()
    found.assert_rows_clean()
    assert found.checked > 0


def command(secrets: Secrets, name: str, *args: str) -> tuple[int, str]:
    """Run a command, check its stdout, stderr and any error with its traceback."""
    out, err = StringIO(), StringIO()
    code, text = 0, ""
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except CommandError as exc:
        code = exc.returncode
        text = "".join(traceback.format_exception(exc))
    except SystemExit as exc:  # argparse usage errors outside call_command's handling
        code = exc.code if isinstance(exc.code, int) else 2
    where = f"command: {name} {' '.join(args)}"
    for stream in (out.getvalue(), err.getvalue(), text):
        secrets.assert_absent(stream, where)
    return code, out.getvalue() + err.getvalue() + text


# --- management commands -----------------------------------------------------------------

ORCH_CALLS = [
    ("workflows", "test", ()),
    ("workflows", "workflows", ("--tag", "civitrack")),
    ("manager", "user", ("7731",)),
    ("workflow", "workflow", (orch_data.WF_DONE,)),
    ("job", "job", (orch_data.JOB_OK,)),
    ("step", "step", (orch_data.WF_DONE, "0")),
    ("workflow", "results", (orch_data.WF_DONE,)),
    ("blob", "blob", (orch_data.BLOB_JPEG,)),
]


def _orch_fault(fake, route: str, fault: str) -> None:
    token = fake.token
    if fault == "401-echo":
        fake.fail(route, 401, times=None, body={"detail": f"Bearer {token} is not valid"})
    elif fault == "404-echo":
        fake.fail(route, 404, times=None, body={"title": "Not Found", "detail": f"for {token}"})
    elif fault == "500-echo":
        fake.fail(route, 500, times=None, body={"error": {"token": token, "trace": "..."}})
    elif fault == "malformed":
        fake.serve_malformed(route)
    elif fault == "html":
        fake.fail(route, 200, times=None, raw=HTML + token.encode(), content_type="text/html")


@pytest.mark.parametrize("fault", ["401-echo", "404-echo", "500-echo", "malformed", "html"])
@pytest.mark.parametrize(("route", "sub", "args"), ORCH_CALLS, ids=[c[1] for c in ORCH_CALLS])
def test_it_keeps_tokens_out_of_the_orchestration_command(
    secrets, fake_orchestration, route, sub, args, fault
):
    _orch_fault(fake_orchestration, route, fault)
    code, _text = command(secrets, "orchestration", sub, *args)
    assert code == 1  # an API failure, reported
    assert fake_orchestration.requests_to(route), "the fault was never reached"


@pytest.mark.parametrize(
    "args",
    [
        ("workflows", "--from", "yesterday"),
        ("user", "not-a-number"),
        ("workflow", orch_data.WF_DONE, "--timeout", "-1"),
        ("blob", orch_data.BLOB_JPEG, "--download", "--dir", "/proc/forbidden"),
        ("results", orch_data.WF_DONE, "--download", "--dir", "/proc/forbidden"),
        ("nonsense",),
    ],
)
def test_it_keeps_tokens_out_of_orchestration_usage_errors(secrets, args):
    code, _text = command(secrets, "orchestration", *args)
    assert code in (1, 2)


def test_it_keeps_tokens_out_when_the_api_is_unreachable(secrets, settings):
    settings.CIVITAI_API_URL = "http://127.0.0.1:9"
    settings.CIVITAI_SITE_URL = "http://127.0.0.1:9"
    code, text = command(secrets, "orchestration", "workflows")
    assert code == 1 and "connection refused" in text
    code, text = command(secrets, "import_civitai_post", str(site.POST_ID))
    assert code == 1 and "connection refused" in text


@pytest.mark.parametrize("fault", SITE_FAULTS)
@pytest.mark.parametrize("dry_run", [False, True])
def test_it_keeps_tokens_out_of_import_civitai_post(secrets, fake_site, fault, dry_run):
    fake_site.set_fault(fault)
    args = [f"https://civitai.com/posts/{site.POST_ID}"] + (["--dry-run"] if dry_run else [])
    code, _text = command(secrets, "import_civitai_post", *args)
    # leak_token answers real data (scrubbed of the token); the rest are failures.
    assert code == (0 if fault == "leak_token" else 1)
    assert all(r.headers.get("Authorization") == f"Bearer {SITE_TOKEN}" for r in fake_site.requests)


@pytest.mark.parametrize("fault", [*SITE_FAULTS, "foreign_image", "bad_stats"])
def test_it_keeps_tokens_out_of_sync_post_asset_stats(secrets, fake_site, alice, fault):
    from tracking.civitai_import import import_civitai_post

    post = import_civitai_post(post=str(site.POST_ID), user=alice)["post"]
    fake_site.set_fault(fault)
    code, _text = command(secrets, "sync_post_asset_stats", post["post_id"], "--no-progress")
    assert code == (0 if fault in ("leak_token", "wrong_post_id") else 1)


def test_it_keeps_tokens_out_of_bad_command_input(secrets, tmp_path):
    for name, args in [
        ("import_civitai_post", ("https://evil.example/posts/1",)),
        ("import_civitai_post", ("880001", "--user", "nobody")),
        ("sync_post_asset_stats", ("999999",)),
        ("sync_post_asset_stats", ()),
        ("match_assets", (str(tmp_path / "missing"),)),
        ("create_api_token", ("nobody",)),
    ]:
        code, _text = command(secrets, name, *args)
        assert code != 0, (name, args)


def test_it_keeps_other_secrets_out_of_match_assets(secrets, tmp_path, alice):
    (tmp_path / "a.png").write_bytes(b"asset a")
    services.create_asset(
        user=alice,
        asset_url="s3://bucket/a.png",
        asset_type="image",
        asset_source="upload",
        sha256sum=__import__("hashlib").sha256(b"asset a").hexdigest(),
    )
    code, text = command(secrets, "match_assets", str(tmp_path), "--no-progress")
    assert code == 0 and "MATCH" in text
    code, _text = command(secrets, "match_assets", str(tmp_path), "--json", "--no-progress")
    assert code == 0


def test_create_api_token_prints_only_its_own_token_once(secrets, alice):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "alice", "--name", "ci", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("ct_") and out.getvalue().count(raw) == 1
    assert raw not in err.getvalue()  # the note names a hint, not the token
    secrets.assert_absent(out.getvalue() + err.getvalue(), "command: create_api_token")
    assert ApiToken.authenticate(raw).user == alice


def test_the_orchestration_fake_did_receive_the_token(secrets, fake_orchestration):
    """The checks above are meaningful only if the token is really in play."""
    code, _text = command(secrets, "orchestration", "test")
    assert code == 0
    assert fake_orchestration.requests[0].headers["Authorization"] == (
        f"Bearer {secrets.values['CIVITAI_API_TOKEN']}"
    )


# --- pages and API routes -----------------------------------------------------------------


def check_response(secrets: Secrets, response, where: str) -> None:
    text = response.content.decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    secrets.assert_absent(text + headers, where)


def _tool_calls(seeded_post_id: str) -> list[tuple[str, dict]]:
    return [
        ("fetch_civitai_post_assets", {"post_id": str(site.POST_ID)}),
        ("import_civitai_post", {"post": str(site.POST_ID)}),
        ("import_civitai_post", {"post": str(site.POST_ID), "dry_run": True}),
        ("sync_post_asset_stats", {"post_id": seeded_post_id}),
    ]


@pytest.mark.parametrize("fault", SITE_FAULTS)
def test_it_keeps_tokens_out_of_api_responses(secrets, client, fake_site, alice, fault):
    token = secrets.values["API bearer token"]
    seeded = services.create_civitai_post(
        user=alice,
        civitai_id=str(site.SINGLE_POST_ID),
        civitai_url=f"https://civitai.com/posts/{site.SINGLE_POST_ID}",
    )
    for name, body in _tool_calls(seeded["post_id"]):
        fake_site.set_fault(fault)
        response = client.post(
            reverse("api:tool", args=[name]),
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code in (200, 404, 502), response.content
        check_response(secrets, response, f"api: {name} ({fault})")


def test_it_keeps_tokens_out_of_api_refusals(secrets, client):
    token = secrets.values["API bearer token"]
    calls = [
        ("post", "create_prompt", b"{", f"Bearer {token}"),
        ("post", "create_prompt", b'{"prompt_text": 1}', f"Bearer {token}"),
        ("post", "no_such_tool", b"{}", f"Bearer {token}"),
        ("post", "create_prompt", b"{}", f"Bearer {token}x"),  # a near miss of the real token
        ("post", "create_prompt", b"{}", f"Basic {token}"),
        ("get", "create_prompt", b"", f"Bearer {token}"),
        ("post", "calculate_sha256", b'{"path": "http://127.0.0.1:9/a.png"}', f"Bearer {token}"),
        (
            "post",
            "calculate_sha256",
            f'{{"path": "http://127.0.0.1:9/a.png?token={SITE_TOKEN}"}}'.encode(),
            f"Bearer {token}",
        ),
    ]
    for method, name, body, header in calls:
        url = reverse("api:tool", args=[name])
        send = client.post if method == "post" else client.get
        kwargs = {"data": body, "content_type": "application/json"} if method == "post" else {}
        response = send(url, HTTP_AUTHORIZATION=header, **kwargs)
        assert response.status_code >= 400
        check_response(secrets, response, f"api: {name}")
    for path in (reverse("api:openapi"), reverse("healthz"), "/no/such/page"):
        check_response(secrets, client.get(path), f"page: {path}")


def _admin_pages() -> list[str]:
    pages = [reverse("admin:index"), reverse("admin:tracking_post_import")]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return pages


@pytest.mark.parametrize("fault", ["401", "500", "html", "leak_token", "truncated"])
def test_it_keeps_tokens_out_of_admin_pages(secrets, client, superuser, fake_site, alice, fault):
    from tracking.civitai_import import import_civitai_post

    post = import_civitai_post(post=str(site.POST_ID), user=alice)["post"]
    client.force_login(superuser)
    fake_site.set_fault(fault)
    for path in _admin_pages():
        response = client.get(path)
        assert response.status_code in (200, 403), path  # 403: tokens are never added here
        check_response(secrets, response, f"admin: {path}")
    for model in ("post", "asset", "prompt", "apitoken"):
        changelist = client.get(reverse(f"admin:tracking_{model}_changelist"))
        for obj in changelist.context["cl"].result_list:
            path = reverse(f"admin:tracking_{model}_change", args=[obj.pk])
            check_response(secrets, client.get(path), f"admin: {path}")
    for action in ("import_again_action", "sync_stats_action"):
        response = client.post(
            reverse("admin:tracking_post_changelist"),
            {"action": action, "_selected_action": [post["post_id"]]},
            follow=True,
        )
        assert response.status_code == 200
        check_response(secrets, response, f"admin: {action} ({fault})")
    for action in ("preview", "import"):
        response = client.post(
            reverse("admin:tracking_post_import"),
            {"post": f"https://civitai.com/posts/{site.POST_ID}", "action": action},
        )
        assert response.status_code == 200
        check_response(secrets, response, f"admin: import {action} ({fault})")
    assert Post.objects.filter(civitai_id=site.POST_ID).count() == 1


# --- the orchestration mirror: sync command and staff pages -------------------------------


@pytest.mark.parametrize("fault", ["401-echo", "500-echo", "malformed", "html"])
def test_it_keeps_tokens_out_of_sync_workflows(secrets, fake_orchestration, fault):
    _orch_fault(fake_orchestration, "workflows", fault)
    code, _text = command(secrets, "sync_workflows", "--max", "5")
    assert code == 1
    assert fake_orchestration.requests_to("workflows"), "the fault was never reached"


@pytest.mark.parametrize("fault", ["401-echo", "404-echo", "500-echo", "malformed", "html"])
def test_it_keeps_tokens_out_of_orchestration_pages(
    secrets, client, superuser, fake_orchestration, fault
):
    from orchestration.sync import sync_workflows

    sync_workflows()  # a healthy mirror first, then the API turns bad
    for route in ("workflows", "workflow", "job"):
        _orch_fault(fake_orchestration, route, fault)
    client.force_login(superuser)
    gets = [
        reverse("orchestration:workflow_list"),
        reverse("orchestration:workflow_detail", args=[orch_data.WF_DONE]),
        reverse("orchestration:job_detail", args=[orch_data.JOB_OK]),
        reverse("orchestration:review_queue"),
        reverse("orchestration:review_export"),
    ]
    for path in gets:
        response = client.get(path)
        assert response.status_code == 200, path
        check_response(secrets, response, f"page: {path}")
    posts = [
        (reverse("orchestration:workflow_refresh", args=[orch_data.WF_DONE]), {}),
        (reverse("orchestration:job_refresh", args=[orch_data.JOB_OK]), {}),
        (reverse("orchestration:lookup"), {"q": "7731-20990101000000000"}),
        (reverse("orchestration:lookup"), {"q": "00000000-0000-4000-8000-000000000000"}),
    ]
    for path, data in posts:
        response = client.post(path, data, follow=True)
        assert response.status_code < 500, path
        check_response(secrets, response, f"page: POST {path} ({fault})")
