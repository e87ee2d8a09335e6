"""Who may change a recorded Prompt, Post or Asset: the one ownership rule.

Every write to an existing record (the ``update_*`` tools, a Civitai re-import, a
stats sync, admin actions, commands) asks ``check_can_change`` before it writes. The
rule: the record's creator (or the user it was recorded on behalf of), or an active
staff user holding the model's ``change`` permission (a superuser holds every
permission). Anyone else, including a user with a valid API token, gets ``Forbidden``
and nothing is written. Creating new records is not
restricted here: a new record is its creator's.

``OPERATOR`` stands for the person at the server's shell running a management command
without ``--user``: they already hold the database, so the rule lets them through, and
records they create have no ``created_by``. Adapters that act for a signed-in user or a
token (HTTP, MCP, admin) always pass that user; ``None`` is refused (fail closed).
"""

from __future__ import annotations

from typing import Any

from tracking.errors import Forbidden


class _Operator:
    """The shell operator of a management command run without ``--user``."""

    pk = None
    is_active = True

    def __repr__(self) -> str:
        return "OPERATOR"

    def get_username(self) -> str:
        return "the operator"


OPERATOR: Any = _Operator()


def recorded_user(user):
    """The user to store as ``created_by`` for a new record (``None`` for the operator)."""
    return None if user is OPERATOR else user


def is_owner(user, record) -> bool:
    """Whether the record belongs to ``user``: they created it, or it was recorded on
    their behalf (``on_behalf_of`` equal to their username; docs/contract.md, "Recording tools").

    ``on_behalf_of`` is free text set by the record's creator (defaulting to their own
    username), so naming someone there can only widen who may change one's own record.
    """
    if user.pk is not None and record.created_by_id == user.pk:
        return True
    behalf = getattr(record, "on_behalf_of", None)
    return bool(behalf) and behalf == user.get_username()


def change_permission(record) -> str:
    """``app_label.change_model`` for the record's model."""
    meta = record._meta
    return f"{meta.app_label}.change_{meta.model_name}"


def can_change(user, record) -> bool:
    """Whether ``user`` may change ``record`` under the ownership rule."""
    if user is OPERATOR:
        return True
    if user is None or not getattr(user, "is_active", False):
        return False
    if is_owner(user, record):
        return True
    return bool(user.is_staff and user.has_perm(change_permission(record)))


def check_can_change(user, record, *, field: str) -> None:
    """Raise ``Forbidden`` naming the record unless ``user`` may change it.

    ``field`` is the id parameter as the caller knows it (``post_id``, ``asset_id``).
    """
    if can_change(user, record):
        return
    noun = record._meta.verbose_name
    creator = record.created_by.get_username() if record.created_by_id else "nobody"
    raise Forbidden(
        f"Only the {noun}'s creator or staff with permission to change"
        f" {record._meta.verbose_name_plural} can change {field} {record.pk}"
        f" (created by {creator})"
    )
