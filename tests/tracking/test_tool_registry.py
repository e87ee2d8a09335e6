import jsonschema
import pytest

from tracking import services
from tracking.errors import InvalidInput, RecordNotFound
from tracking.tools.registry import TOOLS, ToolSpec, call_tool, register

SEED_TOOLS = {
    "calculate_sha256",
    "create_prompt",
    "create_asset",
    "create_civitai_post",
    "update_asset",
    "find_asset",
    "list_civitai_posts",
}


def test_it_registers_every_recording_tool_of_the_seed():
    assert set(TOOLS) >= SEED_TOOLS


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_it_describes_each_tool_with_a_valid_schema_matching_its_function(name):
    spec = TOOLS[name]
    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    assert spec.input_schema["type"] == "object"
    assert spec.input_schema["additionalProperties"] is False
    assert spec.description and spec.name == name
    # The schema's parameters are exactly the fields of the service's declaration.
    assert spec.input_model is spec.function.input_model
    assert set(spec.input_schema["properties"]) == set(spec.input_model.model_fields)
    assert set(spec.input_schema.get("required", [])) <= set(spec.parameters)


def test_it_answers_201_for_create_tools_and_200_otherwise():
    for name, spec in TOOLS.items():
        assert spec.success_status == (201 if name.startswith("create_") else 200), name


def test_it_gives_the_seeds_required_parameters():
    required = {name: set(TOOLS[name].input_schema.get("required", [])) for name in SEED_TOOLS}
    assert required == {
        "calculate_sha256": {"path"},
        "create_prompt": {"prompt_text"},
        "create_asset": {"asset_url", "asset_type", "asset_source"},
        "create_civitai_post": {"civitai_id", "civitai_url"},
        "update_asset": {"asset_id"},
        "find_asset": set(),
        "list_civitai_posts": set(),
    }


def test_it_lists_the_enums_of_the_contract():
    props = TOOLS["create_asset"].input_schema["properties"]
    assert props["asset_type"]["enum"] == ["image", "video"]
    assert props["asset_source"]["enum"] == ["generated", "upload"]
    status = TOOLS["create_civitai_post"].input_schema["properties"]["status"]
    assert status["enum"] == ["pending", "published", "failed", None]  # null: the default


def test_it_refuses_a_second_tool_with_a_taken_name():
    with pytest.raises(ValueError, match="already registered"):
        register(ToolSpec("find_asset", "dup", services.find_asset))


def test_it_refuses_an_unknown_tool():
    with pytest.raises(RecordNotFound, match="Unknown tool: delete_everything"):
        call_tool("delete_everything", user=None, arguments={})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([1, 2], "The tool arguments must be a JSON object"),
        ({"user": "root", "sha256sum": "0" * 64}, "Unknown parameter for find_asset: user"),
    ],
)
def test_it_refuses_arguments_that_are_not_an_object_of_known_parameters(arguments, message):
    with pytest.raises(InvalidInput) as exc:
        call_tool("find_asset", user=None, arguments=arguments)
    assert message in exc.value.message
