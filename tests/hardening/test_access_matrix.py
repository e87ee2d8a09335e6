"""Every route of the URL configuration x every persona → the expected outcome.

The routes are read from the resolver, not listed by hand: a new route that has no
rule here fails ``test_every_route_has_a_rule``, so nobody adds a page without
deciding who may see it. Outcomes are coarse on purpose (login / forbidden /
unauthorized / allowed): what matters is who gets in, not which 2xx or 3xx a view
answers with. A 5xx is never an acceptable outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from devdata import orchestration_demo, tracking_demo
from tracking.models import ApiToken

LOGIN, FORBIDDEN, UNAUTHORIZED, ALLOWED = "login", "forbidden", "unauthorized", "allowed"
PERSONAS = ["anonymous", "member", "staff", "reviewer", "superuser", "token", "revoked"]
BEARERS = {"token", "revoked"}  # no session: tokens open the API, never pages


@dataclass(frozen=True)
class Rule:
    method: str
    expected: dict[str, str]
    body: dict | None = None


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(PERSONAS, outcome)


STAFF_PAGE = {
    "anonymous": LOGIN,
    "member": FORBIDDEN,
    "staff": ALLOWED,
    "reviewer": ALLOWED,
    "superuser": ALLOWED,
    "token": LOGIN,
    "revoked": LOGIN,
}
REVIEW_PAGE = STAFF_PAGE | {"staff": FORBIDDEN}
API = everyone(UNAUTHORIZED) | {"token": ALLOWED}

# Non-admin routes, by name. A route missing here (and not under admin:) fails the test.
RULES: dict[str, Rule] = {
    "home": Rule("GET", everyone(ALLOWED)),  # a redirect to the admin, which then asks
    "healthz": Rule("GET", everyone(ALLOWED)),
    "api:openapi": Rule("GET", everyone(ALLOWED)),
    "api:tool": Rule("POST", API, body={"asset_id": "1"}),
    "orchestration:workflow_list": Rule("GET", STAFF_PAGE),
    "orchestration:workflow_detail": Rule("GET", STAFF_PAGE),
    "orchestration:workflow_refresh": Rule("POST", STAFF_PAGE),
    "orchestration:job_detail": Rule("GET", STAFF_PAGE),
    "orchestration:job_refresh": Rule("POST", STAFF_PAGE),
    "orchestration:lookup": Rule("GET", STAFF_PAGE, body={"q": orchestration_demo.JOB_CLEAN}),
    "orchestration:blob_media": Rule("GET", STAFF_PAGE),
    "orchestration:job_claim": Rule("POST", REVIEW_PAGE),
    "orchestration:job_release": Rule("POST", REVIEW_PAGE),
    "orchestration:job_decide": Rule(
        "POST", REVIEW_PAGE, body={"decision": "escalated", "note": "matrix"}
    ),
    "orchestration:blob_reveal": Rule("POST", REVIEW_PAGE),
    "orchestration:review_queue": Rule("GET", REVIEW_PAGE),
    "orchestration:review_export": Rule("GET", REVIEW_PAGE),
    "orchestration:review_at": Rule("GET", REVIEW_PAGE),
    "orchestration:review_bulk_clear": Rule("POST", REVIEW_PAGE, body={"below": "0.01"}),
    "javascript-catalog": Rule("GET", everyone(ALLOWED)),  # translations only, like the admin's
    "background:run_status": Rule("GET", STAFF_PAGE),
    "media": Rule("GET", STAFF_PAGE),  # uploaded files; a missing one is a 404 (allowed in)
    "background:sync_workflows": Rule("POST", STAFF_PAGE),
    # Language switcher and the JavaScript catalog: public, they only pick words.
    "set_language": Rule("POST", everyone(ALLOWED), body={"language": "zh-hans"}),
}


def walk(resolver=None, prefix="", namespace=None):
    """(route name, pattern text, URLPattern) for every route, namespaces joined with ':'."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry


ROUTES = sorted((n or "", p) for n, p, _ in walk())


def test_every_route_has_a_rule():
    missing = [
        (name, pattern)
        for name, pattern in ROUTES
        if name not in RULES
        and not name.startswith("admin:")
        # the admin's unnamed routes: its catch-all 404 and "<object_id>/" → change page
        and not (pattern.startswith("admin/") and not name)
    ]
    assert not missing, f"routes without an access rule: {missing}"


def outcome(response) -> str:
    status = response.status_code
    assert status < 500, f"{status} from {response.request['PATH_INFO']}"
    if status == 302 and "/admin/login/" in response["Location"]:
        return LOGIN
    if status == 401:
        return UNAUTHORIZED
    if status == 403:
        return FORBIDDEN
    return ALLOWED


@pytest.fixture
def world(db, django_user_model, fake_orchestration):
    """Demo data on both sides, one user per persona, and a client factory per persona."""
    root = django_user_model.objects.create_superuser("root", "", "pw-root-12345")
    tracking_demo.load_demo(root)
    orchestration_demo.load_demo()
    member = django_user_model.objects.create_user("member", "", "pw-member-1")
    staff = django_user_model.objects.create_user("staffer", "", "pw-staff-1", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="tracking"))
    reviewer = django_user_model.objects.create_user("rev", "", "pw-rev-1", is_staff=True)
    group, _ = Group.objects.get_or_create(name="reviewers")
    group.permissions.add(Permission.objects.get(codename="review_job"))
    reviewer.groups.add(group)
    _, live = ApiToken.issue(member, name="matrix")
    revoked_token, revoked = ApiToken.issue(member, name="revoked")
    revoked_token.revoke()
    sessions = {"member": member, "staff": staff, "reviewer": reviewer, "superuser": root}

    def client_for(persona: str) -> Client:
        client = Client(raise_request_exception=True)
        if persona in sessions:
            client.force_login(sessions[persona])
        if persona == "token":
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {live}"
        if persona == "revoked":
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {revoked}"
        return client

    return client_for


def url_for(name: str) -> str:
    from orchestration.models import Blob, Job, Workflow

    if name == "api:tool":
        return reverse(name, args=["find_asset"])
    kwargs = {}
    pattern = dict(ROUTES)[name]
    if "<str:workflow_id>" in pattern:
        kwargs["workflow_id"] = Workflow.objects.order_by("pk").first().civitai_id
    if "<str:job_id>" in pattern:
        kwargs["job_id"] = orchestration_demo.JOB_MATURE
    if "<int:position>" in pattern:
        kwargs["position"] = 0
    if "<str:blob_id>" in pattern:
        # media of a clean job can be served; a mature one is what reviewers reveal
        job = (
            orchestration_demo.JOB_MATURE
            if name.endswith("reveal")
            else orchestration_demo.JOB_CLEAN
        )
        kwargs["blob_id"] = Blob.objects.filter(job__civitai_id=job).first().civitai_id
    if "<path:path>" in pattern:
        kwargs["path"] = "assets/none.png"
    if "<int:run_id>" in pattern:
        from background.models import TaskRun

        kwargs["run_id"] = TaskRun.objects.get_or_create(kind="hash_blobs")[0].pk
    assert Job.objects.exists()
    return reverse(name, kwargs=kwargs)


def send(client: Client, rule: Rule, url: str):
    if rule.method == "GET":
        return client.get(url, rule.body or {})
    if url.startswith("/api/"):
        return client.post(url, json.dumps(rule.body or {}), content_type="application/json")
    return client.post(url, rule.body or {})


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_route_lets_in_exactly_who_it_should(world, name):
    rule = RULES[name]
    seen = {}
    for persona in PERSONAS:
        seen[persona] = outcome(send(world(persona), rule, url_for(name)))
    assert seen == rule.expected


# --- the admin: every registered model's routes, derived from the admin registry --------


def admin_routes() -> list[str]:
    return sorted(n for n, _ in ROUTES if n.startswith("admin:"))


def test_the_admin_routes_are_all_covered_below():
    handled = {f"admin:{n}" for n in ADMIN_SITE_ROUTES}
    for model, _ in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        handled |= {n for n in admin_routes() if n.startswith(prefix)}
    assert set(admin_routes()) <= handled, set(admin_routes()) - handled


ADMIN_SITE_ROUTES = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
}


def admin_url(name: str) -> str | None:
    """A URL for an admin route, with a real object where it needs one."""
    short = name.removeprefix("admin:")
    if short in {"index", "login", "password_change", "password_change_done", "jsi18n"}:
        return reverse(name)
    if short == "autocomplete":
        return reverse(name) + "?app_label=tracking&model_name=asset&field_name=post&term=a"
    if short == "app_list":
        return reverse(name, args=["tracking"])
    if short in {"logout", "view_on_site"}:
        return None  # logout is POST-only and harmless; view_on_site covered by the model pages
    for model, _ in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if short.startswith(prefix):
            action = short[len(prefix) :]
            if action in {"changelist", "add"}:
                return reverse(name)
            if action in {"change", "history", "delete"}:
                obj = model._default_manager.order_by("pk").first()
                return reverse(name, args=[obj.pk]) if obj else None
            return None  # extra admin views (e.g. post import) are checked in their own tests
    raise AssertionError(f"no URL rule for {name}")


@pytest.mark.parametrize("name", admin_routes())
def test_the_admin_keeps_out_everyone_without_a_staff_session(world, name):
    url = admin_url(name)
    if url is None:
        pytest.skip("route needs no check here (POST-only, or no object of that model)")
    for persona in ("anonymous", "member", "token", "revoked"):
        got = outcome(world(persona).get(url))
        expected = ALLOWED if name == "admin:login" else LOGIN
        assert got == expected, (persona, got)
    assert outcome(world("superuser").get(url)) in {ALLOWED, FORBIDDEN}


@pytest.mark.parametrize(
    "name, persona, expected",
    [
        ("admin:tracking_asset_changelist", "staff", ALLOWED),
        ("admin:tracking_post_changelist", "staff", ALLOWED),
        ("admin:auth_user_changelist", "staff", FORBIDDEN),
        ("admin:orchestration_reviewdecision_changelist", "staff", FORBIDDEN),
        ("admin:tracking_asset_changelist", "reviewer", FORBIDDEN),
        ("admin:auth_user_changelist", "reviewer", FORBIDDEN),
        ("admin:tracking_apitoken_add", "superuser", FORBIDDEN),
        ("admin:auth_user_changelist", "superuser", ALLOWED),
    ],
)
def test_staff_see_in_the_admin_only_what_their_permissions_allow(world, name, persona, expected):
    assert outcome(world(persona).get(reverse(name))) == expected
