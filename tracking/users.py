"""Resolving the acting user named on a command line (``--user``, ``USERNAME``)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def active_user_named(username: str):
    """The active user with this username, or ``CommandError`` saying what is wrong.

    Commands record their writes as this user, so an unknown or deactivated account
    must stop the command before anything is written.
    """
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise CommandError(f"No user named {username!r}; create it first") from None
    if not user.is_active:
        raise CommandError(f"User {username!r} is inactive; activate it first")
    return user
