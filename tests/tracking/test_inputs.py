"""The tool declarations: every refusal has its phrase, left out differs from null, rules
come from the models."""

import re

import pytest
from pydantic import ValidationError

from tracking import inputs
from tracking.errors import InvalidInput
from tracking.models import AssetSource, AssetType, Post, PostStatus, Prompt
from tracking.tools.registry import TOOLS

UNFILLED = re.compile(r"\{[a-z_]+\}")  # a template placeholder left in a message

# Values of every JSON type, and the awkward ones: what an agent can put in a parameter.
BAD_VALUES = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    "",
    " ",
    "x",
    "12x",
    "\x00",
    "a" * 20_000,
    [],
    ["x"],
    [1, "y"],
    {},
    {"k": float("nan")},
    {"k": "\x00"},
    "2025-01-15T10:00:00",
    "2025-01-15",
]


def _error_types(model, arguments) -> set[str]:
    try:
        model.model_validate(arguments)
    except ValidationError as exc:
        return {e["type"] for e in exc.errors()}
    return set()


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_error_type_a_tool_can_raise_has_its_phrase(name):
    """zulip's rule: a refusal whose type has no phrase in the table fails here first."""
    model = TOOLS[name].input_model
    required = {n: f.is_required() for n, f in model.model_fields.items()}
    seen = _error_types(model, {"no_such_parameter": 1})
    seen |= _error_types(model, {})
    for field in model.model_fields:
        for value in BAD_VALUES:
            seen |= _error_types(model, {field: value})
            others = {n: "1" for n, req in required.items() if req and n != field}
            seen |= _error_types(model, {**others, field: value})
    missing = seen - set(inputs.ERROR_PHRASES)
    assert not missing, f"{name} can raise {missing}: add them to inputs.ERROR_PHRASES"


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_refusal_reads_as_a_sentence_naming_something(name):
    model = TOOLS[name].input_model
    for field in model.model_fields:
        for value in BAD_VALUES:
            try:
                inputs.validate(model, {field: value}, name)
            except InvalidInput as exc:
                assert exc.message and not UNFILLED.search(exc.message), exc.message
                assert not exc.message.startswith("None ")


def test_it_names_every_unknown_parameter_at_once():
    with pytest.raises(InvalidInput) as exc:
        inputs.validate(inputs.FindAssetInput, {"uri": "x", "sha": "y"}, "find_asset")
    assert exc.value.message.startswith("Unknown parameters for find_asset: sha, uri. Allowed: ")


def test_left_out_and_null_are_told_apart():
    params = inputs.validate(inputs.UpdateAssetInput, {"asset_id": "3", "post_id": None}, "x")
    assert params.sent("post_id") and params.post_id is None
    assert not params.sent("civitai_id")


def test_allowed_values_and_lengths_come_from_the_models():
    props = TOOLS["create_asset"].input_schema["properties"]
    assert props["asset_type"]["enum"] == AssetType.values
    assert props["asset_source"]["enum"] == AssetSource.values
    post_props = TOOLS["update_post"].input_schema["properties"]
    assert post_props["status"]["enum"] == PostStatus.values
    assert post_props["title"]["maxLength"] == Post._meta.get_field("title").max_length
    prompt_props = TOOLS["create_prompt"].input_schema["properties"]
    assert prompt_props["llm_model"]["maxLength"] == Prompt._meta.get_field("llm_model").max_length


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("asset_type", "gif", 'asset_type must be "image" or "video"'),
        ("asset_source", None, "asset_source is required"),
        ("post_id", "abc", "post_id must be a valid integer ID"),
        ("post_id", True, "post_id must be a valid integer ID"),
        ("sha256sum", "abc", "sha256sum must be 64 hexadecimal characters"),
        ("metadata", [], "metadata must be a JSON object"),
        ("input_asset_ids", "1", "input_asset_ids must be a list of integer IDs"),
        ("on_behalf_of", 5, "on_behalf_of must be a string"),
        ("on_behalf_of", "x" * 256, "on_behalf_of must be at most 255 characters"),
    ],
)
def test_it_keeps_the_contracts_phrases(field, value, message):
    arguments = {"asset_url": "s3://b/x.png", "asset_type": "image", "asset_source": "upload"}
    with pytest.raises(InvalidInput) as exc:
        inputs.validate(inputs.CreateAssetInput, arguments | {field: value}, "create_asset")
    assert exc.value.message == message


def test_the_post_status_phrase_lists_the_statuses():
    with pytest.raises(InvalidInput) as exc:
        inputs.validate(inputs.ListCivitaiPostsInput, {"status": "gone"}, "list_civitai_posts")
    assert exc.value.message == 'status must be "pending", "published" or "failed"'
