import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

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
