import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tracking.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_it_prints_a_new_token_once_and_stores_only_its_hash(alice):
    raw, note = run("alice", "--name", "ci")
    token = ApiToken.objects.get()
    assert raw.startswith("ct_") and len(raw) > 30
    assert token.user == alice and token.name == "ci"
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.token_hash, token.hint}
    assert raw not in note and token.hint in note
    assert ApiToken.authenticate(raw) == token


def test_it_issues_a_different_token_each_time(alice):
    first, _ = run("alice")
    second, _ = run("alice")
    assert first != second and ApiToken.objects.count() == 2


def test_it_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("ghost")
    assert not ApiToken.objects.exists()


def test_it_refuses_an_inactive_user(alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(CommandError, match="inactive"):
        run("alice")
    assert not ApiToken.objects.exists()


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_it_authenticates_to_the_token_and_user_select_related_gives(
    alice, django_assert_num_queries
):
    token, raw = ApiToken.issue(alice, "ci")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())  # no UPDATE below
    expected = ApiToken.objects.select_related("user").get(pk=token.pk)
    with django_assert_num_queries(1):  # the compiled token query, user joined
        found = ApiToken.authenticate(raw)
        assert _fields(found) == _fields(expected)
        assert _fields(found.user) == _fields(expected.user)
        assert not found._state.adding and found.user._state.db == expected.user._state.db


def test_it_refuses_revoked_tokens_and_inactive_users(alice):
    token, raw = ApiToken.issue(alice)
    token.revoke()
    assert ApiToken.authenticate(raw) is None
    _, other = ApiToken.issue(alice)
    alice.is_active = False
    alice.save()
    assert ApiToken.authenticate(other) is None
    assert ApiToken.authenticate(other + "x") is None
