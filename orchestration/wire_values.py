"""The value rules of the wire models, importable without pydantic.

``orchestration.wire`` declares the models with these functions as their
``BeforeValidator``s; ``orchestration.wire_check`` validates with the core schema
generated from those models, which names the same functions. So the rules live here
once, and the CLI's start-up can check an answer without importing pydantic (see
``orchestration.wire_check``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected text, got {_kind(value)}")


def _enum(value: Any) -> str | None:
    """An enum value (``"Succeeded"``, ``"UNDER_REVIEW"``) in lowercase."""
    text = _text(value)
    return text.lower() if text else None


def _number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    raise ValueError(f"expected a number, got {_kind(value)}")


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        return int(value) if value.strip().lstrip("-").isdigit() else None
    raise ValueError(f"expected a whole number, got {_kind(value)}")


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower())
    if isinstance(value, int | float):
        return bool(value)
    raise ValueError(f"expected true or false, got {_kind(value)}")


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 → aware datetime; no zone means UTC; unreadable values become ``None``.

    Handles ``Z``, offsets, and .NET's seven fractional digits.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _time(value: Any) -> datetime | None:
    if isinstance(value, dict | list):
        raise ValueError(f"expected a date-time, got {_kind(value)}")
    return parse_timestamp(value)


def _object(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise ValueError(f"expected an object, got {_kind(value)}")


def _one_or_many(value: Any) -> list[Any]:
    """v1 ``result``: one object or a list of them (both seen in the wild)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise ValueError(f"expected an object or a list, got {_kind(value)}")


def _cost(value: Any) -> Any:
    """A workflow's ``cost``: an object (``{"total": …}``) as it is, else a number."""
    return value if isinstance(value, dict) else _number(value)


class WorkflowCost:
    """``cost_total`` of a workflow, for the pydantic model and its lean twin alike."""

    __slots__ = ()

    @property
    def cost_total(self) -> float | int | None:
        if isinstance(self.cost, dict):
            return _number(self.cost.get("total", self.cost.get("Total")))
        return self.cost
