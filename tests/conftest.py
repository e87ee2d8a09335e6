"""Shared fixtures: the three personas of the style guide and database helpers."""

import ipaddress
import socket

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import translation

# --- no name resolution off the machine ----------------------------------------------

ALLOWED_NAMES = {None, "", "localhost", "localhost.", "ip6-localhost"}


def _allowed_host(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in ALLOWED_NAMES:
        return True
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_name_resolution(request, monkeypatch):
    """Every test talks only to loopback: resolving any name but ``localhost`` fails.

    ``socket.getaddrinfo``/``gethostbyname`` refuse other names in-process with a
    ``gaierror`` naming this fixture (so no DNS query leaves the machine) and the test
    fails at teardown listing the names, even if the code under test swallowed the
    error. Use IP literals, or patch resolution in the test (``hashing.resolve``);
    a test that sends names on purpose to see them refused is marked
    ``@pytest.mark.resolves_names``.
    """
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def refuse(host):
        attempts.append(str(host))
        raise socket.gaierror(
            socket.EAI_NONAME,
            f"tests/conftest.py no_name_resolution: resolving {host!r} is refused in tests"
            " (use an IP literal or patch resolution)",
        )

    def getaddrinfo(host, *args, **kwargs):
        if not _allowed_host(host):
            refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        return real_gethostbyname(host) if _allowed_host(host) else refuse(host)

    def gethostbyname_ex(host):
        return real_gethostbyname_ex(host) if _allowed_host(host) else refuse(host)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    monkeypatch.setattr(socket, "gethostbyname_ex", gethostbyname_ex)
    yield attempts
    if attempts and request.node.get_closest_marker("resolves_names") is None:
        pytest.fail(
            f"test tried to resolve {sorted(set(attempts))}: only localhost and IP literals"
            " may be resolved (use an IP literal or patch resolution in the test)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def restore_language():
    """Every test starts in the language the one before it started in.

    A request through the test Client leaves the language it was served in active
    in the thread: ``LocaleMiddleware`` activates it and nothing deactivates it. So a
    test that asked for a page in Chinese (a ``django_language`` cookie) made the next
    test's ``gettext`` Chinese too, and the dashboard tests, which read their figures
    by English label, failed after tests/test_result_rows.py.
    """
    language = translation.get_language()
    yield
    if language is None:  # a test started under deactivate_all()
        translation.deactivate_all()
    else:
        translation.activate(language)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")


@pytest.fixture
def staff(django_user_model):
    """Staff without the review permission; may use the admin for tracking records."""
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw-staff-1")
    user.is_staff = True
    user.save()
    perms = Permission.objects.filter(content_type__app_label="tracking")
    user.user_permissions.set(perms)
    return user


@pytest.fixture
def alice(django_user_model):
    """A plain, non-staff user (an agent's or script's identity)."""
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-1")


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


def table_counts() -> dict[str, int]:
    """Row count of every table civitrack owns: compare before/after to prove nothing was written."""
    from django.apps import apps

    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in {"tracking", "orchestration"}:
            counts[model._meta.db_table] = model._base_manager.count()
    return counts


@pytest.fixture
def fake_site(settings):
    """A running fake of Civitai's public API; settings.CIVITAI_SITE_URL points at it.

    Yields the controller (tests/fakes/civitai_site.py): set faults with
    ``fake_site.set_fault("429", times=2)``, read ``fake_site.requests``.
    """
    from tests.fakes.civitai_site import FakeServer

    with FakeServer() as controller:
        settings.CIVITAI_SITE_URL = controller.url
        settings.CIVITAI_SITE_TOKEN = None
        yield controller


@pytest.fixture
def fake_orchestration(settings):
    """A running fake Orchestration API with the fixtures of tests/fakes/orchestration_data.py; settings point at it.

    Yields the ``FakeOrchestration`` controller: its ``requests`` log and knobs
    (``fail``, ``slow``, envelopes, casing, redirects) are described in
    tests/fakes/orchestration.py.
    """
    from tests.fakes.orchestration import FakeOrchestration

    with FakeOrchestration.running() as fake:
        settings.CIVITAI_API_URL = fake.url
        settings.CIVITAI_API_TOKEN = fake.token
        yield fake
