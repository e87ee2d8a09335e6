"""The search_prompts tool: ranked prompts with snippets and their assets, over MCP and HTTP."""

import json
import urllib.error
import urllib.request

import anyio
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from mcp import Client

from tests.conftest import table_counts
from tests.tracking.recording_helpers import SEARCH_FILLER, asset, prompt
from tracking.errors import InvalidInput
from tracking.models import ApiToken, Asset, Prompt
from tracking.serializers import asset_dict, prompt_dict
from tracking.shapes import SearchPromptsResult
from tracking.tools.mcp import build_server
from tracking.tools.registry import TOOLS, call_tool


def search(user, **arguments):
    return call_tool("search_prompts", user=user, arguments=arguments)


def corpus(user):
    """Filler prompts, and three about lanterns and foxes with assets (one with two)."""
    for text in SEARCH_FILLER:
        prompt(user, text)
    lantern = prompt(user, "paper lantern floating on a pond at dusk")
    both = prompt(user, "red fox carrying a paper lantern through the snow")
    fox = prompt(user, "red fox asleep in the snow")
    made = [
        asset(user, input_prompt_id=both["prompt_id"]),
        asset(user, input_prompt_id=both["prompt_id"]),
        asset(user, input_prompt_id=lantern["prompt_id"]),
    ]
    asset(user, input_prompt_id=fox["prompt_id"], input_asset_ids=[made[2]["asset_id"]])
    return lantern, both, fox, made


@pytest.mark.django_db
def test_it_ranks_prompts_and_nests_their_assets(alice):
    lantern, both, fox, made = corpus(alice)
    result = search(alice, query="lantern or fox")
    SearchPromptsResult.model_validate(result)
    assert result["total"] == 3 and result["limit"] == 20 and result["offset"] == 0
    assert result["query"] == "lantern or fox"
    first, *rest = result["prompts"]
    assert first["prompt_id"] == both["prompt_id"]
    assert {p["prompt_id"] for p in rest} == {lantern["prompt_id"], fox["prompt_id"]}
    assert first["rank"] > max(p["rank"] for p in rest)
    assert [a["asset_id"] for a in first["assets"]] == [made[0]["asset_id"], made[1]["asset_id"]]
    assert first["assets"][0]["input_prompt_id"] == both["prompt_id"]
    assert "<mark>fox</mark>" in first["snippet"] and "<mark>lantern</mark>" in first["snippet"]
    [with_lineage] = [p for p in rest if p["prompt_id"] == fox["prompt_id"]]
    assert with_lineage["assets"][0]["input_asset_ids"] == [made[2]["asset_id"]]
    # The prompt fields are the Prompt shape's own.
    assert first["prompt_text"] == both["prompt_text"] and first["created_by"] == "alice"


@pytest.mark.django_db
def test_it_pages_through_the_matches(alice):
    corpus(alice)
    everything = [p["prompt_id"] for p in search(alice, query="snow or lantern")["prompts"]]
    pages = [search(alice, query="snow or lantern", limit=1, offset=n)["prompts"] for n in range(3)]
    assert [page[0]["prompt_id"] for page in pages] == everything
    past = search(alice, query="lantern", offset=2**62)
    assert past["prompts"] == [] and past["total"] == 2 and past["offset"] == 2**62
    assert search(alice, query="zebra") == {
        "query": "zebra",
        "prompts": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


@pytest.mark.django_db
def test_it_costs_the_same_queries_whatever_the_page_size(alice):
    for n in range(12):
        p = prompt(alice, f"lantern number {n}")
        for _ in range((11 - n) % 3):  # the newest (first: all rank alike) has none
            asset(alice, input_prompt_id=p["prompt_id"])
    counts = []
    for limit in (1, 5, 12):
        with CaptureQueriesContext(connection) as ctx:
            result = search(alice, query="lantern", limit=limit)
        assert len(result["prompts"]) == limit
        assert bool(result["prompts"][-1]["assets"]) == (limit > 1)
        counts.append(len(ctx.captured_queries))
    # ids in rank order with the match count, prompts with rank and snippet, assets with
    # their lineage
    assert counts == [3, 3, 3]


@pytest.mark.django_db
def test_a_page_past_the_end_counts_instead_of_fetching(alice):
    corpus(alice)
    with CaptureQueriesContext(connection) as ctx:
        past = search(alice, query="lantern", offset=5)
    assert past["prompts"] == [] and past["total"] == 2
    assert len(ctx.captured_queries) == 2  # the empty page, then the count
    with CaptureQueriesContext(connection) as ctx:
        assert search(alice, query="zebra")["total"] == 0
    assert len(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_its_shapes_are_the_records_own(alice):
    # The page is built from values() rows; it must say what prompt_dict and asset_dict
    # say of the same records, lineage sorted as there.
    _lantern, both, _fox, made = corpus(alice)
    asset(
        alice,
        input_prompt_id=both["prompt_id"],
        input_asset_ids=[made[2]["asset_id"], made[0]["asset_id"]],
    )
    for hit in search(alice, query="lantern or fox")["prompts"]:
        record = Prompt.objects.select_related("created_by").get(pk=hit["prompt_id"])
        assert {k: v for k, v in hit.items() if k not in ("rank", "snippet", "assets")} == (
            prompt_dict(record)
        )
        assets = Asset.objects.filter(input_prompt_id=record.pk).order_by("id")
        assert hit["assets"] == [asset_dict(a) for a in assets]
        assert json.dumps(hit["assets"]) == json.dumps([asset_dict(a) for a in assets])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "query is required"),
        ({"query": ""}, "query must not be empty"),
        ({"query": "x" * 501}, "query must be at most 500 characters"),
        ({"query": 5}, "query must be a string"),
        ({"query": "!!!"}, "query must contain a word to search for (letters or digits)"),
        ({"query": "-fox"}, "query must look for at least one word beside what it excludes"),
        ({"query": "fox", "limit": 0}, "limit must be a whole number between 1 and 100"),
        ({"query": "fox", "limit": 101}, "limit must be a whole number between 1 and 100"),
        ({"query": "fox", "offset": -1}, "offset must be a whole number at least 0"),
        ({"query": "fox", "page": 2}, "Unknown parameter for search_prompts: page"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(alice, arguments, message):
    before = table_counts()
    with pytest.raises(InvalidInput) as caught:
        search(alice, **arguments)
    assert caught.value.message.startswith(message)
    assert table_counts() == before


def test_it_is_declared_read_only():
    spec = TOOLS["search_prompts"]
    assert spec.annotations == {"readOnlyHint": True}
    assert spec.parameters == ("query", "limit", "offset")
    assert spec.input_schema["required"] == ["query"]
    assert spec.input_schema["properties"]["limit"]["maximum"] == 100


# --- HTTP --------------------------------------------------------------------------


@pytest.mark.django_db
def test_http_answers_200_with_the_ranking_and_400_to_a_bad_query(client, alice):
    corpus(alice)
    token = ApiToken.issue(alice, name="tests")[1]
    url = reverse("api:tool", args=["search_prompts"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    ok = client.post(url, {"query": '"red fox"'}, content_type="application/json", **headers)
    assert ok.status_code == 200
    assert {p["prompt_text"] for p in ok.json()["prompts"]} == {
        "red fox carrying a paper lantern through the snow",
        "red fox asleep in the snow",
    }
    bad = client.post(url, {"query": '-"x'}, content_type="application/json", **headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    anonymous = client.post(url, {"query": "fox"}, content_type="application/json")
    assert anonymous.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_http_over_a_real_socket(live_server, alice):
    corpus(alice)
    token = ApiToken.issue(alice, name="tests")[1]
    request = urllib.request.Request(
        live_server.url + reverse("api:tool", args=["search_prompts"]),
        data=json.dumps({"query": "lantern", "limit": 1}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert response.status == 200
    assert body["total"] == 2 and len(body["prompts"]) == 1
    assert "<mark>lantern</mark>" in body["prompts"][0]["snippet"]


# --- MCP, through the SDK's own client ------------------------------------------------


def mcp_call(user, arguments):
    async def main():
        async with Client(build_server(user)) as client:
            return await client.call_tool("search_prompts", arguments)

    return anyio.run(main)


@pytest.mark.django_db(transaction=True)
def test_mcp_returns_the_ranking_as_structured_content(alice):
    _lantern, both, _fox, _made = corpus(alice)
    result = mcp_call(alice, {"query": "fox or lantern", "limit": 2})
    assert result.is_error is False
    assert json.loads(result.content[0].text) == result.structured_content
    content = result.structured_content
    assert content["total"] == 3 and len(content["prompts"]) == 2
    assert content["prompts"][0]["prompt_id"] == both["prompt_id"]
    SearchPromptsResult.model_validate(content)


@pytest.mark.django_db(transaction=True)
def test_mcp_explains_a_query_with_nothing_to_look_for(alice):
    result = mcp_call(alice, {"query": '""'})
    assert result.is_error is True
    assert "query must contain a word to search for" in result.content[0].text
