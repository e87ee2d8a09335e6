"""Orchestration's own refusals, so callers catch what they mean and nothing else.

``ValueError`` is what Python raises for our own bugs too (a bad ``int()`` deep in a
helper); catching it to show a user message would hide those. Each refusal below is
raised on purpose, carries a message for the user, and is caught by name.
"""

from __future__ import annotations


class OrchestrationRefusal(Exception):
    """A request orchestration refuses on purpose; the message is for the user."""


class InvalidArgument(OrchestrationRefusal):
    """An argument the API or our rules would not take (``wait``, an NSFW level…)."""


class DecisionRefused(OrchestrationRefusal):
    """A review decision that breaks a rule (unknown decision, a missing note)."""


class UnsafeTarget(OrchestrationRefusal):
    """A download target that would leave its directory."""


class UnexpectedShape(OrchestrationRefusal):
    """Upstream JSON that does not have the shape a workflow, step or job must have.

    The client turns it into ``civitrack.http.BadResponse``; it exists so the client
    catches only this, never ``TypeError``/``AttributeError`` from our own code.
    """
