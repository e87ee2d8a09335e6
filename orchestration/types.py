"""Typed views of Orchestration API JSON: Workflow, Step, Blob, Job and its scan.

Each dataclass is built with ``from_api(data)`` from one decoded JSON object and keeps
that object in ``raw``: fields we do not model are never dropped, and the mirror or a
``--raw`` printout can always show what the API said. Parsing is lenient where the API
is inconsistent (civitai-api.md §1): enum casing (the v1 manager API writes
``"Succeeded"``, v2 writes ``"succeeded"``) is normalised to lowercase, timestamps
become aware UTC datetimes (a value without a zone is UTC), ``jobs`` may be absent,
v1 ``result`` may be an object or a list. It is strict only where trusting a wrong
shape would be worse than failing. The JSON is checked by the pydantic models of
``orchestration.wire`` (camelCase and PascalCase names, unknown fields allowed),
through their generated validators in ``orchestration.wire_check`` (no pydantic
import at start-up): ``from_api`` raises ``orchestration.errors.UnexpectedShape`` for
an answer that does not fit, which the client reports as ``BadResponse``.

Blobs are found by shape, not by output key (see ``extract_output_blobs``): step types
come and go (3D, training, audio…) and a key list always lags behind them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestration import wire_check as wire
from orchestration.errors import UnexpectedShape
from orchestration.scan import ScanResult  # lives beside its rule; importable from here too
from orchestration.wire_values import parse_timestamp  # noqa: F401 - part of this module's API

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "expired", "canceled"})
FAILED_STATUSES = frozenset({"failed", "expired", "canceled"})

IMAGE_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "webp", "gif", "bmp", "avif", "svg", "tif", "tiff"}
)
VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mov", "mkv", "avi", "m4v", "gifv"})
AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "ogg", "flac", "m4a", "aac", "opus"})

MODEL3D_EXTENSIONS = frozenset({"glb", "gltf", "fbx", "obj", "usdz", "stl", "ply"})
BLOB_KINDS = frozenset({"image", "video", "audio", "model3d"})  # Blob's discriminator values

# Output keys whose blobs are intermediates, not results (comfy's scratch files).
SKIPPED_OUTPUT_KEYS = frozenset({"tempBlobs"})
MAX_OUTPUT_DEPTH = 8  # outputs nest blobs a few levels down (epochs[].model); never deeper


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    """Text from a free-form object (a step's ``input``, ``metadata``), else ``None``."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def lower(value: Any) -> str | None:
    """Normalise an enum value (``"Succeeded"``, ``"UNDER_REVIEW"``) to lowercase."""
    text = _str(value)
    return text.lower() if text else None


def get(data: dict[str, Any], *keys: str) -> Any:
    """The first present key's value, trying camelCase then PascalCase spellings."""
    for key in keys:
        if key in data:
            return data[key]
        pascal = key[:1].upper() + key[1:]
        if pascal in data:
            return data[pascal]
    return None


def blob_kind(type_value: Any, blob_id: str | None) -> str:
    """``image``/``video``/``audio``/``model3d``/``other``: the blob ``type``, else the id's extension."""
    kind = lower(type_value)
    if kind in BLOB_KINDS:
        return kind
    if blob_id and "." in blob_id:
        ext = blob_id.rsplit(".", 1)[1].lower().split("?", 1)[0]
        if ext in IMAGE_EXTENSIONS:
            return "image"
        if ext in VIDEO_EXTENSIONS:
            return "video"
        if ext in AUDIO_EXTENSIONS:
            return "audio"
        if ext in MODEL3D_EXTENSIONS:
            return "model3d"
    return "other"


@dataclass
class Blob:
    """One media output of a step (image, video, audio or other)."""

    id: str
    type: str
    available: bool
    url: str | None = None
    url_expires_at: datetime | None = None
    job_id: str | None = None
    nsfw_level: str | None = None
    blocked_reason: str | None = None
    width: int | None = None
    height: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> Blob:
        w = wire.validate(wire.WireBlob, data, "blob")
        blob_id = w.id or ""
        return cls(
            id=blob_id,
            type=blob_kind(w.type, blob_id),
            # An absent flag is not a promise: treat it as unavailable.
            available=bool(w.available),
            url=w.url,
            url_expires_at=w.url_expires_at,
            job_id=w.job_id,
            nsfw_level=w.nsfw_level,
            blocked_reason=w.blocked_reason,
            width=w.width,
            height=w.height,
            raw=data,
        )

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_reason)


def is_blob_shaped(value: Any) -> bool:
    """A JSON object with the published Blob's required fields: ``id``, ``available``, ``type``.

    ``type`` may be missing in older answers; an ``id`` with a boolean ``available``
    is then enough (no other output object has that pair).
    """
    return (
        isinstance(value, dict)
        and isinstance(get(value, "id"), str)
        and bool(get(value, "id"))
        and isinstance(get(value, "available"), bool)
    )


def _walk_blobs(value: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > MAX_OUTPUT_DEPTH:
        return
    if is_blob_shaped(value):
        yield value
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED_OUTPUT_KEYS:
                yield from _walk_blobs(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_blobs(item, depth + 1)


def extract_output_blobs(output: Any) -> list[Blob]:
    """Every blob-shaped object anywhere in a step ``output``, in order, without duplicates.

    Found by shape, so ``images``, ``video``, 3D outputs (``model``, ``fbxModel``,
    ``thumbnail``, ``rigged*``, ``animated*``), training outputs (``epochs[].model``,
    ``samples[]``) and step types not yet known are all covered.
    """
    seen: set[str] = set()
    blobs: list[Blob] = []
    for raw in _walk_blobs(_dict(output), 0):
        blob = Blob.from_api(raw)
        if blob.id not in seen:
            seen.add(blob.id)
            blobs.append(blob)
    return blobs


@dataclass
class StepJob:
    """A job entry of a v2 step (``WorkflowStepJob``; absent in newer API versions)."""

    id: str
    status: str | None
    cost: float | int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> StepJob:
        return cls._from_wire(wire.validate(wire.WireStepJob, data, "step job"), data)

    @classmethod
    def _from_wire(cls, w: wire.WireStepJob, data: dict[str, Any]) -> StepJob:
        return cls(
            id=w.id or "",
            status=w.status,
            cost=w.cost,
            started_at=w.started_at,
            completed_at=w.completed_at,
            raw=data,
        )


@dataclass
class Step:
    """One workflow step; ``step_type`` is its ``$type`` (``imageGen``, ``videoGen``…)."""

    step_type: str
    name: str
    status: str | None
    input: dict[str, Any]
    prompt: str | None
    negative_prompt: str | None
    jobs: list[StepJob] | None
    blobs: list[Blob]
    started_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_progress_rate: float | None = None
    # Newer API versions (see docs/orchestration-cli.md, "Compared with the published API"):
    queue_position: dict[str, Any] | None = None
    preparation: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> Step:
        return cls._from_wire(wire.validate(wire.WireStep, data, "step"), data)

    @classmethod
    def _from_wire(cls, w: wire.WireStep, data: dict[str, Any]) -> Step:
        step_input = w.input or {}
        jobs = (
            [StepJob._from_wire(j, raw) for j, raw in zip(w.jobs, get(data, "jobs"), strict=True)]
            if w.jobs is not None
            else None
        )
        return cls(
            step_type=w.step_type or "unknown",
            name=w.name or "",
            status=w.status,
            input=step_input,
            prompt=_str(get(step_input, "prompt")),
            negative_prompt=_str(get(step_input, "negativePrompt")),
            jobs=jobs,
            blobs=extract_output_blobs(w.output),
            started_at=w.started_at,
            completed_at=w.completed_at,
            estimated_progress_rate=None
            if w.estimated_progress_rate is None
            else float(w.estimated_progress_rate),
            queue_position=w.queue_position or None,
            preparation=w.preparation or [],
            warnings=w.warnings or [],
            raw=data,
        )

    @property
    def has_jobs_list(self) -> bool:
        """True for the older shape (``jobs[]`` present); False when job ids come from blobs."""
        return self.jobs is not None

    @property
    def job_ids(self) -> list[str]:
        """This step's job ids: from ``jobs[]`` when present, else from its blobs' ``jobId``."""
        if self.jobs is not None:
            return [j.id for j in self.jobs if j.id]
        found: list[str] = []
        for blob in self.blobs:
            if blob.job_id and blob.job_id not in found:
                found.append(blob.job_id)
        return found

    @property
    def prompts(self) -> list[str]:
        """Positive prompt(s) of the step input: ``prompt`` and any ``prompts`` list."""
        found = [self.prompt] if self.prompt else []
        extra = get(self.input, "prompts")
        if isinstance(extra, list):
            found += [p for p in extra if isinstance(p, str) and p and p not in found]
        return found

    @property
    def output(self) -> dict[str, Any] | None:
        value = get(self.raw, "output")
        return value if isinstance(value, dict) else None


@dataclass
class Workflow:
    """A workflow from ``/v2/consumer/workflows`` or ``/v1/manager/workflows``."""

    id: str
    status: str | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    tags: list[str]
    metadata: dict[str, Any]
    cost_total: float | int | None
    nsfw_level: str | None
    steps: list[Step]
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> Workflow:
        w = wire.validate(wire.WireWorkflow, data, "workflow")
        raw_steps = get(data, "steps") or []
        return cls(
            id=w.id or "",
            status=w.status,
            created_at=w.created_at,
            started_at=w.started_at,
            completed_at=w.completed_at,
            tags=w.tags or [],
            metadata=w.metadata or {},
            cost_total=w.cost_total,
            nsfw_level=w.nsfw_level,
            steps=[
                Step._from_wire(s, raw) for s, raw in zip(w.steps or [], raw_steps, strict=False)
            ],
            raw=data,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def blobs(self) -> list[Blob]:
        """All media blobs of all steps, in step order."""
        return [blob for step in self.steps for blob in step.blobs]

    @property
    def prompt(self) -> str | None:
        """The first image/video prompt: a step input, else the site's ``metadata.params``."""
        for step in self.steps:
            if step.prompt:
                return step.prompt
        return _str(get(_dict(get(self.metadata, "params")), "prompt"))


@dataclass
class WorkflowPage:
    """One page of a workflow list; ``next`` is the cursor for the following page."""

    items: list[Workflow]
    next: str | None
    raw: Any = None


def _flag_or_none(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if isinstance(value, int):
        return bool(value)
    return None


@dataclass
class PromptClassification:
    """``job.promptClassificationResult``: which prompt classifiers fired."""

    sexual: bool | None = None
    young: bool | None = None
    cr: bool | None = None
    scan: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    FLAG_NAMES = ("sexual", "young", "cr", "scan")

    @classmethod
    def from_api(cls, data: Any) -> PromptClassification:
        data = _dict(data)
        flags = {name: _flag_or_none(get(data, name)) for name in cls.FLAG_NAMES}
        return cls(**flags, raw=data)

    @property
    def flags(self) -> list[str]:
        """Names of the flags that are true, in a fixed order."""
        return [name for name in self.FLAG_NAMES if getattr(self, name)]


@dataclass
class JobResult:
    """One entry of a v1 job's ``result`` (object or list in the wild)."""

    blob_key: str
    available: bool
    url: str | None = None
    url_expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    blocked_reason: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> JobResult:
        return cls._from_wire(wire.validate(wire.WireJobResult, data, "job result"), data)

    @classmethod
    def _from_wire(cls, w: wire.WireJobResult, data: dict[str, Any]) -> JobResult:
        return cls(
            blob_key=w.blob_key or "",
            available=bool(w.available),
            url=w.url,
            url_expires_at=w.url_expires_at,
            raw=data,
            blocked_reason=w.blocked_reason,
        )

    @property
    def id(self) -> str:
        return self.blob_key


@dataclass
class JobEvent:
    """A v1 job's ``lastEvent``: what happened last, where, when, and its context."""

    type: str | None
    provider: str | None
    date_time: datetime | None
    context: dict[str, Any]
    worker_id: str | None = None
    job_type: str | None = None
    job_duration: str | None = None  # a .NET TimeSpan, "hh:mm:ss.fffffff"
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> JobEvent:
        return cls._from_wire(wire.validate(wire.WireJobEvent, data, "job event"), data)

    @classmethod
    def _from_wire(cls, w: wire.WireJobEvent, data: dict[str, Any]) -> JobEvent:
        return cls(
            type=w.type,
            provider=w.provider,
            date_time=w.date_time,
            context=w.context or {},
            worker_id=w.worker_id,
            job_type=w.job_type,
            job_duration=w.job_duration,
            raw=data,
        )


@dataclass
class Job:
    """A v1 ``JobStatus`` (``/v1/consumer/jobs/{id}?detailed=true``) with its scan."""

    job_id: str
    type: str | None
    workflow_id: str | None
    cost: float | int | None
    created_at: datetime | None
    prompt: str | None
    negative_prompt: str | None
    results: list[JobResult]
    last_event: JobEvent | None
    scan: ScanResult
    prompt_classification: PromptClassification | None
    raw: dict[str, Any] = field(default_factory=dict)
    # The answer exactly as received: the ``{token, jobs}`` envelope when there was one.
    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> Job:
        """Parse a bare JobStatus, or the ``{token, jobs: [...]}`` envelope (first job)."""
        if not isinstance(data, dict):
            raise UnexpectedShape(f"job must be a JSON object, got {type(data).__name__}")
        body = data
        if "jobId" not in data and "jobs" in data:
            jobs = data["jobs"]
            if not isinstance(jobs, list):
                raise UnexpectedShape("job envelope: jobs is not a list")
            if not jobs:
                raise UnexpectedShape("job envelope holds no jobs")
            data = jobs[0]
        w = wire.validate(wire.WireJob, data, "job")
        definition = w.job or wire.WireJobDefinition()
        params = definition.params or {}
        raw_results = get(data, "result")
        raw_results = raw_results if isinstance(raw_results, list) else [raw_results]
        event_raw = get(data, "lastEvent")
        last_event = JobEvent._from_wire(w.last_event, event_raw) if w.last_event else None
        classification = definition.prompt_classification_result
        if classification is None:
            classification = w.prompt_classification_result
        return cls(
            job_id=w.job_id or "",
            type=definition.type or (last_event.job_type if last_event else None) or w.job_type,
            workflow_id=_str(get(w.properties or {}, "workflowId"))
            or _str(get(definition.properties or {}, "workflowId")),
            cost=w.cost,
            created_at=definition.created_at,
            prompt=_str(get(params, "prompt")),
            negative_prompt=_str(get(params, "negativePrompt")),
            results=[
                JobResult._from_wire(r, raw) for r, raw in zip(w.result, raw_results, strict=False)
            ],
            last_event=last_event,
            scan=ScanResult.from_context(last_event.context if last_event else {}),
            prompt_classification=PromptClassification.from_api(classification)
            if classification is not None
            else None,
            raw=data,
            body=body,
        )
