"""Fixtures for the orchestration pages: a reviewer persona and the demo mirror."""

import pytest
from django.contrib.auth.models import Group

from orchestration.demo import load_demo


@pytest.fixture
def reviewer(django_user_model):
    """Staff in the "reviewers" group (created by a data migration)."""
    user = django_user_model.objects.create_user("rita", "rita@example.com", "pw-rita-1")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="reviewers"))
    return user


@pytest.fixture
def reviewer2(django_user_model):
    user = django_user_model.objects.create_user("ravi", "ravi@example.com", "pw-ravi-1")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="reviewers"))
    return user


@pytest.fixture
def demo(db):
    load_demo()
