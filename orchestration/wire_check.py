"""Checks each Orchestration answer against its wire model, without importing pydantic.

The models are declared once, in ``orchestration.wire`` (pydantic). What checks a
value is pydantic-core's ``SchemaValidator``, built from the core schema pydantic makes
of each model. Making that schema means importing pydantic, its field machinery and
the model classes: about a third of a CLI command's instructions, paid again by every
``manage.py orchestration ...`` (docs/benchmarks.md, start-up). So the schema is
written down once, by pydantic, in ``wire_schema.json`` (``python -m
orchestration.wire`` after changing a model; a test fails while the file differs
from what pydantic makes now), and here it is read and given to pydantic-core
directly: the same validator, the same rules and messages, with only pydantic-core's
compiled module imported (``_core``).

The values are plain objects of the classes below (one per model, same name): the
fields as attributes, unnamed keys in ``__pydantic_extra__`` as pydantic keeps them.
A model's validator is built when first used, so a command pays only for the answers
it reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from orchestration import wire_values
from orchestration.errors import UnexpectedShape
from orchestration.wire_values import WorkflowCost

SCHEMA_FILE = Path(__file__).with_name("wire_schema.json")
CORE = "pydantic_core._pydantic_core"


def _core():
    """pydantic-core's compiled module, imported without the package's ``core_schema``.

    ``pydantic_core/__init__.py`` re-exports the compiled module (``SchemaValidator``,
    ``ValidationError``...) and imports ``core_schema``, the TypedDicts and helpers that
    build schemas by hand: about 100M instructions, an eighth of a CLI command, for
    nothing a ready schema needs. So the compiled module is loaded from the package's
    folder under its own name, where the package itself looks for it: importing
    ``pydantic_core`` later (pydantic does) finds it in ``sys.modules`` and re-exports
    this very module, so there is one ``ValidationError`` class in the process. If the
    package is already imported, or the module is not where it should be, the package
    is imported as usual.
    """
    if CORE in sys.modules:
        return sys.modules[CORE]
    if "pydantic_core" in sys.modules:
        import pydantic_core._pydantic_core

        return pydantic_core._pydantic_core
    import importlib.machinery
    import importlib.util

    package = importlib.util.find_spec("pydantic_core")  # found, not imported
    where = package.submodule_search_locations if package else None
    found = importlib.machinery.PathFinder.find_spec("_pydantic_core", where) if where else None
    if found is None or not isinstance(found.loader, importlib.machinery.ExtensionFileLoader):
        import pydantic_core._pydantic_core

        return pydantic_core._pydantic_core
    spec = importlib.util.spec_from_file_location(CORE, found.origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[CORE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[CORE]
        raise
    return module


_pydantic_core = _core()
SchemaValidator = _pydantic_core.SchemaValidator
ValidationError = _pydantic_core.ValidationError


class Checked:
    """An answer that fitted its wire model (``validate``); ``Model()`` has every default."""

    # Where pydantic-core puts what is not a field, as on a pydantic model (slots).
    __slots__ = (
        "__dict__",
        "__pydantic_extra__",
        "__pydantic_fields_set__",
        "__pydantic_private__",
    )

    def __init__(self, **data: Any) -> None:
        checked = _validator(type(self).__name__).validate_python(data)
        self.__dict__.update(checked.__dict__)
        self.__pydantic_extra__ = checked.__pydantic_extra__
        self.__pydantic_fields_set__ = checked.__pydantic_fields_set__
        self.__pydantic_private__ = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


class WireBlob(Checked):
    pass


class WireStepJob(Checked):
    pass


class WireStep(Checked):
    pass


class WireWorkflow(WorkflowCost, Checked):
    pass


class WireJobResult(Checked):
    pass


class WireJobEvent(Checked):
    pass


class WireJobDefinition(Checked):
    pass


class WireJob(Checked):
    pass


_schemas: dict[str, Any] = {}
_validators: dict[str, SchemaValidator] = {}


def _validator(name: str) -> SchemaValidator:
    """The validator of model ``name``, built on first use."""
    validator = _validators.get(name)
    if validator is None:
        if not _schemas:
            _schemas.update(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
        validator = _validators[name] = SchemaValidator(_resolve(_schemas[name]))
    return validator


def _resolve(value: Any) -> Any:
    """The JSON schema with its ``$class`` and ``$function`` markers replaced by objects."""
    if isinstance(value, dict):
        if len(value) == 1:
            if "$class" in value:
                return globals()[value["$class"]]
            if "$function" in value:
                return getattr(wire_values, value["$function"])
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    return value


def validate[M: Checked](model: type[M], data: Any, what: str) -> M:
    """``data`` as ``model``, or ``UnexpectedShape`` naming the first field that does not fit."""
    if not isinstance(data, dict):
        raise UnexpectedShape(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        return _validator(model.__name__).validate_python(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        message = error["msg"].removeprefix("Value error, ")
        raise UnexpectedShape(f"{what}: {where}: {message}") from None
