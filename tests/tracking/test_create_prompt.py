import pytest

from tests.conftest import table_counts
from tracking import services
from tracking.errors import InvalidInput
from tracking.models import Prompt

pytestmark = pytest.mark.django_db

PROMPT_KEYS = {
    "prompt_id",
    "prompt_text",
    "llm_model_provider",
    "llm_model",
    "purpose",
    "metadata",
    "created_by",
    "on_behalf_of",
    "created_at",
    "updated_at",
}


def test_it_records_a_prompt_with_the_contract_shape(alice):
    result = services.create_prompt(
        user=alice,
        prompt_text="A serene mountain landscape at sunset",
        llm_model_provider="openai",
        llm_model="dall-e-3",
        purpose="image_generation",
        metadata={"seed": 7},
    )
    prompt = result["prompt"]
    assert set(prompt) == PROMPT_KEYS
    assert result["prompt_id"] == prompt["prompt_id"]
    assert prompt["prompt_id"].isdigit()
    assert prompt["created_by"] == "alice"
    assert prompt["metadata"] == {"seed": 7}
    assert prompt["created_at"].endswith("Z")
    stored = Prompt.objects.get(pk=int(prompt["prompt_id"]))
    assert stored.created_by == alice and stored.llm_model == "dall-e-3"


def test_it_leaves_absent_optional_values_null(alice):
    prompt = services.create_prompt(user=alice, prompt_text="x")["prompt"]
    assert prompt["llm_model"] is None and prompt["purpose"] is None
    assert prompt["metadata"] == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "prompt_text is required"),
        ({"prompt_text": None}, "prompt_text is required"),
        ({"prompt_text": "   "}, "prompt_text must not be empty"),
        ({"prompt_text": 5}, "prompt_text must be a string"),
        ({"prompt_text": "x", "metadata": [1]}, "metadata must be a JSON object"),
        ({"prompt_text": "x", "metadata": "{}"}, "metadata must be a JSON object"),
        ({"prompt_text": "x", "llm_model": "m" * 201}, "llm_model must be at most 200 characters"),
        ({"prompt_text": "x", "colour": "red"}, "Unknown parameter for create_prompt: colour"),
        ({"prompt_text": "a\x00b"}, "prompt_text must not contain NUL characters"),
        ({"prompt_text": "x", "metadata": {"k": ["\x00"]}}, "metadata must not contain NUL"),
        (
            {"prompt_text": "x", "metadata": {"k": float("nan")}},
            "metadata must be a JSON object of",
        ),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(alice, params, message):
    before = table_counts()
    with pytest.raises(InvalidInput) as exc:
        services.create_prompt(user=alice, **params)
    assert message in exc.value.message
    assert table_counts() == before


def test_it_names_every_unknown_parameter_and_the_allowed_ones(alice):
    with pytest.raises(InvalidInput) as exc:
        services.create_prompt(user=alice, prompt_text="x", b=1, a=2)
    assert exc.value.message.startswith("Unknown parameters for create_prompt: a, b. Allowed: ")
    assert "prompt_text" in exc.value.message


def test_it_names_the_acting_user_in_the_history(alice):
    created = services.create_prompt(user=alice, prompt_text="x")
    record = Prompt.objects.get(pk=int(created["prompt_id"]))
    assert record.history.get().history_user == alice
