"""civitrack.result_rows writes exactly the rows Django's ``result_list`` writes.

Every registered admin's changelist, in English and Chinese, in UTC and in another
time zone, with its rows as stored and with hostile values put into every column
(HTML and quotes in text, blank and padded text, None, unknown choices, booleans,
numbers, dates, JSON, missing foreign keys, related rows with HTML in their names),
with filters preserved in the change links and a sort order. Then whole pages: each
``ScaledAdminMixin`` admin's page is the same bytes with and without the fast rows.
"""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import models
from django.test import RequestFactory
from django.urls import NoReverseMatch, resolve, reverse
from django.utils import timezone, translation

from civitrack import result_rows
from civitrack.listing import ScaledAdminMixin
from devdata import scale
from orchestration.models import Blob, Job, RevealLog, ReviewDecision
from tracking.models import ApiToken, Asset, NearDuplicateDecision

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "zh-hans"]
ZONES = ["UTC", "Asia/Shanghai"]
# No "/": the workflow and job ids are reversed into page URLs by the admins' own links.
HOSTILE_TEXT = ["<b class=x>bold & \"quotes\" 'single'", "", "   ", "  padded <i>  ", "漢字 <x>"]


@pytest.fixture
def rows(superuser):
    """Rows for every registered admin (the seed's, and one of each model it leaves out)."""
    from django_tasks_db.models import DBTaskResult

    from background.models import ScheduleSlot, TaskRun

    scale.seed_scale(posts=6, assets=20, prompts=10, workflows=12, seed=7)
    ApiToken.issue(superuser, name="<script>tok</script>")
    low, high = Asset.objects.order_by("id")[:2]
    NearDuplicateDecision.objects.create(
        low=low, high=high, verdict=NearDuplicateDecision.Verdict.values[0], distance=3
    )
    job = Job.objects.first()
    ReviewDecision.objects.create(
        job=job, decision="cleared", note="<b>n</b>", decided_by=superuser
    )
    RevealLog.objects.create(blob=Blob.objects.first(), user=superuser)
    run = TaskRun.objects.create(kind="sync_workflows", status="failed", summary="<i>x</i>")
    ScheduleSlot.objects.create(kind="sync_workflows", slot_start=timezone.now(), run=run)
    DBTaskResult.objects.create(  # a UUID key: change links reversed per row
        args_kwargs={"args": [], "kwargs": {}},
        task_path="background.tasks.<b>sync</b>",
        backend_name="default",
        run_after=timezone.now(),
        exception_class_path="",
        traceback="",
    )
    return superuser


def changelist(model_admin, user, query=None):
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    request = RequestFactory().get(url, query or {})
    request.resolver_match = resolve(url)  # what preserved filters are read from
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    cl = model_admin.get_changelist_instance(request)
    cl.formset = None  # as changelist_view leaves it without list_editable
    return cl


def django_rows(cl) -> list[str]:
    return ["".join(items) for items in admin_list.results(cl)]


def hostile_values(field: models.Field) -> list:
    """Values a column of this field type may hold (or that a bug would mishandle)."""
    if field.choices:
        return [*(value for value, _label in field.flatchoices), "unknown<&>", "", None]
    if isinstance(field, models.BooleanField):
        return [True, False, None]
    if isinstance(field, models.DateTimeField):
        return [
            dt.datetime(2024, 3, 5, 0, 0, tzinfo=dt.UTC),
            dt.datetime(2024, 12, 31, 12, 0, 7, tzinfo=dt.UTC),
            None,
        ]
    if isinstance(field, models.DateField):
        return [dt.date(2024, 1, 2), None]
    if isinstance(field, models.DecimalField | models.FloatField):
        return [None, 0.5, 1234567.25]
    if isinstance(field, models.IntegerField):
        return [None, 0, -5, 10**12]
    if isinstance(field, models.JSONField):
        return [[], ["<i>tag</i>", "&"], {"k": "<v>"}, None]
    if isinstance(field, models.CharField | models.TextField):
        return [*HOSTILE_TEXT, None]
    return []


def make_hostile(cl) -> None:
    """Give every list_display column of the loaded rows a spread of hostile values."""
    objs = list(cl.result_list)
    opts = cl.model._meta
    for name in cl.list_display:
        try:
            field = opts.get_field(name) if isinstance(name, str) else None
        except Exception:  # admin methods, properties
            field = None
        if field is None or field.primary_key or field.many_to_many or field.one_to_many:
            continue
        if field.is_relation:
            for i, obj in enumerate(objs):
                if i % 3 == 1 and field.null:
                    setattr(obj, field.name, None)
                elif i % 3 == 2:
                    related = getattr(obj, field.name, None)
                    for rf in related._meta.concrete_fields if related is not None else ():
                        if isinstance(rf, models.CharField | models.TextField) and not rf.choices:
                            setattr(related, rf.attname, '<b>rel</b>&"')
            continue
        # None only where the column allows it (a model's __str__ may rely on the rest)
        values = [v for v in hostile_values(field) if v is not None or field.null]
        originals = [getattr(obj, field.attname) for obj in objs]
        for i, obj in enumerate(objs):
            if values:
                setattr(obj, field.attname, values[i % len(values)])
        try:
            django_rows(cl)
        except NoReverseMatch:  # a blank id the admin's own page link cannot reverse
            for obj, value in zip(objs, originals, strict=True):
                if not str(getattr(obj, field.attname)).strip():
                    setattr(obj, field.attname, value)


def all_admins():
    return list(admin.site._registry.values())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ZONES)
def test_it_writes_the_rows_django_writes_for_every_admin(rows, language, zone):
    with translation.override(language), timezone.override(zone):
        for model_admin in all_admins():
            cl = changelist(model_admin, rows)
            assert cl.result_list, f"{model_admin}: no rows to compare"
            assert result_rows.supports(cl), model_admin
            assert result_rows.render_rows(cl) == django_rows(cl), model_admin
            make_hostile(cl)
            assert result_rows.render_rows(cl) == django_rows(cl), f"{model_admin} (hostile)"


def test_change_links_keep_the_filters_and_the_order(rows):
    for model_admin in all_admins():
        if not model_admin.list_filter:
            continue
        query = {"o": "-1", "q": "a&b <x>"} if model_admin.search_fields else {"o": "-1"}
        cl = changelist(model_admin, rows, query)
        ours, django = result_rows.render_rows(cl), django_rows(cl)
        assert ours == django, model_admin
        if cl.result_list and model_admin.list_display_links is not None:
            assert "_changelist_filters=" in "".join(ours), model_admin


def test_a_key_that_is_not_a_number_is_linked_as_django_links_it(rows):
    model_admin = admin.site._registry[Asset]
    cl = changelist(model_admin, rows)
    for obj in cl.result_list:
        obj.pk = f"a/b_{obj.pk}:<&>"  # admin quote() and URL quoting both apply
    assert result_rows.render_rows(cl) == django_rows(cl)


def test_what_it_does_not_write_is_left_to_django(rows):
    model_admin = admin.site._registry[Asset]
    cl = changelist(model_admin, rows)
    cl.is_popup = True
    assert not result_rows.supports(cl)
    assert result_rows.result_list(cl)["results"] == list(admin_list.results(cl))


def _page(client, url: str) -> str:
    html = client.get(url).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_scaled_admin_page_is_the_same_bytes_with_the_fast_rows(
    client, rows, language, monkeypatch
):
    client.force_login(rows)
    client.cookies["django_language"] = language
    scaled = [a for a in all_admins() if isinstance(a, ScaledAdminMixin)]
    assert len(scaled) >= 9
    for model_admin in scaled:
        opts = model_admin.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(url)
        used = [t.name for t in response.templates]
        assert "admin/scaled_change_list.html" in used, model_admin
        fast = _page(client, url)
        with monkeypatch.context() as m:
            m.setattr(result_rows, "supports", lambda cl: False)
            slow = _page(client, url)
        assert fast == slow, model_admin
        assert 'id="result_list"' in fast, model_admin


def _shout(obj):
    return f"<{obj.name}>"


class _Synthetic(ScaledAdminMixin, admin.ModelAdmin):
    """Every kind of column list_display allows, with the values that take each branch."""

    list_display = (
        "name",
        "workflow",
        "workflow_id",
        "workflow__civitai_id",
        "__str__",
        _shout,
        "safe_blank",
        "a_date",
        "a_time",
        "a_datetime",
        "a_number",
        "a_float",
        "a_list",
        "a_flag",
        "nothing",
        "missing",
        "has_raw_jobs",
    )
    list_display_links = ("name", "a_date")

    def safe_blank(self, obj):
        from django.utils.safestring import SafeString

        return SafeString("") if obj.pk % 2 else SafeString("<em>ok</em>")

    def a_date(self, obj):
        return dt.date(2024, 2, obj.pk % 28 + 1)

    def a_time(self, obj):
        return dt.time(obj.pk % 24, 5)

    def a_datetime(self, obj):
        return dt.datetime(2024, 5, 6, obj.pk % 24, tzinfo=dt.UTC)

    def a_number(self, obj):
        return obj.pk * 1001 if obj.pk % 3 else True

    def a_float(self, obj):
        return obj.pk / 7

    def a_list(self, obj):
        return ["<a>", obj.pk]

    @admin.display(boolean=True)
    def a_flag(self, obj):
        return (None, True, False)[obj.pk % 3]

    @admin.display(empty_value="<nothing>")
    def nothing(self, obj):
        return None if obj.pk % 2 else "  "

    def missing(self, obj):
        from django.core.exceptions import ObjectDoesNotExist

        if obj.pk % 2:
            raise ObjectDoesNotExist
        return "here"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("links", ["two", "none", "default"])
def test_every_kind_of_column_is_written_as_django_writes_it(rows, language, links):
    from orchestration.models import Step

    site = admin.AdminSite(name="synthetic")
    site.register(Step, _Synthetic)
    model_admin = site._registry[Step]
    if links != "two":
        model_admin.list_display_links = None if links == "none" else ()
    with translation.override(language):
        cl = changelist(model_admin, rows)
        assert result_rows.supports(cl) and len(cl.result_list) > 3
        assert result_rows.render_rows(cl) == django_rows(cl)
        make_hostile(cl)
        assert result_rows.render_rows(cl) == django_rows(cl)
