"""orchestration.wire_check: the pydantic models' own validators, without importing pydantic.

The schema file is what pydantic makes of the models in orchestration.wire (so the
models stay the one declaration), and checking with it gives what the models give:
the same fields, the same kept extras, the same first error.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestration import wire, wire_check
from orchestration.errors import UnexpectedShape
from tests.fakes import orchestration_data as data


def test_the_schema_file_is_what_pydantic_makes_of_the_models_now():
    written = json.loads(wire_check.SCHEMA_FILE.read_text(encoding="utf-8"))
    assert written == wire.core_schemas(), "run: python -m orchestration.wire"


def test_every_model_has_its_twin_of_the_same_name():
    for model in wire.MODELS:
        twin = getattr(wire_check, model.__name__)
        assert issubclass(twin, wire_check.Checked)
        assert plain(twin()) == plain(model())  # every default, as Model() has


def plain(value):
    """A validated value as plain data: class name, fields and extras of every model."""
    if isinstance(value, wire.WireModel | wire_check.Checked):
        fields = {k: plain(v) for k, v in value.__dict__.items()}
        return type(value).__name__, fields, value.__pydantic_extra__
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def with_(payload, **changes):
    return payload | changes


GOOD = [
    ("WireWorkflow", data.workflow_done()),
    ("WireWorkflow", data.workflow_running()),
    ("WireWorkflow", data.workflow_failed()),
    ("WireWorkflow", data.workflow_mature()),
    ("WireWorkflow", data.workflow_new_shape()),
    ("WireWorkflow", data.workflow_manager()),
    ("WireWorkflow", {"Id": "w-1", "Status": "Succeeded", "Cost": {"Total": "7"}, "Tags": []}),
    ("WireWorkflow", {"id": "w-2", "cost": "3.5", "createdAt": "2026-01-02T03:04:05.1234567"}),
    ("WireJob", data.job_ok()),
    ("WireJob", data.job_new()),
    ("WireJob", data.job_csam()),
    ("WireJob", data.job_zero_percent()),
    ("WireJob", {"JobId": "J-1", "Cost": "2.5", "Result": {"BlobKey": "k.png"}}),
    ("WireBlob", {"id": "b.png", "available": "true", "width": "512", "height": 3.0}),
    ("WireStepJob", {"id": 7, "status": "PROCESSING", "cost": True}),
    ("WireJobEvent", {"type": "Succeeded", "dateTime": "2026-01-02", "extra": [1]}),
]

BAD = [
    ("WireWorkflow", with_(data.workflow_done(), steps="not a list")),
    ("WireWorkflow", with_(data.workflow_done(), tags="x")),
    ("WireWorkflow", with_(data.workflow_done(), tags=[1])),
    ("WireWorkflow", with_(data.workflow_done(), createdAt={"at": 1})),
    ("WireWorkflow", with_(data.workflow_done(), metadata=[1])),
    ("WireWorkflow", with_(data.workflow_done(), steps=[{"jobs": [{"cost": {"n": 1}}]}])),
    ("WireWorkflow", with_(data.workflow_done(), steps=[{"preparation": ["x"]}])),
    ("WireJob", {"jobId": "j", "result": "text"}),
    ("WireJob", {"jobId": "j", "lastEvent": "text"}),
    ("WireBlob", {"id": {"nested": 1}, "available": True}),
    ("WireBlob", {"id": "b", "width": [1]}),
]


@pytest.mark.parametrize(("name", "payload"), GOOD)
def test_it_gives_what_the_pydantic_model_gives(name, payload):
    expected = getattr(wire, name).model_validate(payload)
    got = wire_check.validate(getattr(wire_check, name), payload, "answer")
    assert plain(got) == plain(expected)


@pytest.mark.parametrize(("name", "payload"), BAD)
def test_it_refuses_what_the_pydantic_model_refuses_with_the_same_error(name, payload):
    with pytest.raises(ValidationError) as expected:
        getattr(wire, name).model_validate(payload)
    with pytest.raises(ValidationError) as got:
        wire_check._validator(name).validate_python(payload)
    assert got.value.errors(include_context=False) == expected.value.errors(include_context=False)
    with pytest.raises(UnexpectedShape, match=r"^answer: \S+: "):
        wire_check.validate(getattr(wire_check, name), payload, "answer")


def test_a_workflow_keeps_its_cost_total_and_unnamed_keys():
    got = wire_check.validate(
        wire_check.WireWorkflow, {"id": "w", "cost": {"total": "4"}, "newKey": 1}, "workflow"
    )
    assert (got.cost_total, got.__pydantic_extra__) == (4.0, {"newKey": 1})


LOADED_ALONE = """
import sys
from orchestration import wire_check
page = wire_check.validate(wire_check.WireWorkflow, {"id": "w", "steps": []}, "workflow")
assert page.id == "w"
try:
    wire_check.validate(wire_check.WireWorkflow, {"id": "w", "steps": "x"}, "workflow")
except wire_check.UnexpectedShape as exc:
    print(exc)
loaded = sorted(name for name in sys.modules if name.startswith("pydantic"))
assert loaded == ["pydantic_core._pydantic_core"], loaded
import pydantic
import pydantic_core
assert pydantic_core.ValidationError is wire_check.ValidationError
assert pydantic.ValidationError is wire_check.ValidationError
"""


def test_alone_it_loads_only_the_compiled_module_and_pydantic_later_shares_it():
    proc = subprocess.run(
        [sys.executable, "-c", LOADED_ALONE],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "workflow: steps: Input should be a valid list\n"
