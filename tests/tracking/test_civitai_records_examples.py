"""The original civitai-records server's own documented examples run here unchanged.

``data/civitai_records_examples.json`` holds every example tool call of its guides
(``src/prompts/*.md`` of feed-mob/fm-mcp-servers), each sent through the MCP server
with the SDK's client after the records they refer to exist. A call may be refused
for its value (the guides use placeholders such as ``"abc123def456"``), never for
an unknown parameter, and every tool they name exists here.
"""

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.fakes.civitai_site import POST_ID
from tracking.tools.mcp import build_server
from tracking.tools.registry import TOOLS

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = json.loads(
    (Path(__file__).parent / "data" / "civitai_records_examples.json").read_text()
)["examples"]


def _concrete(value):
    if isinstance(value, str) and value.startswith("<"):
        return str(POST_ID)
    if isinstance(value, str) and value.startswith("https://example.com/"):
        # Tests resolve no host names: a loopback port nothing listens on instead.
        return value.replace("https://example.com/", "http://127.0.0.1:9/")
    return value


def _arguments(example) -> dict:
    """The example's arguments with placeholders (``"<civitai_id>"``) and hosts made local."""
    return {key: _concrete(value) for key, value in example["arguments"].items()}


def test_every_example_names_a_tool_we_offer():
    assert len(EXAMPLES) >= 20
    assert {e["tool"] for e in EXAMPLES} <= set(TOOLS)


def test_the_originals_examples_run_without_an_unknown_parameter(alice, fake_site):
    async def main():
        async with Client(build_server(alice)) as client:
            await client.call_tool("import_civitai_post", {"post": str(POST_ID)})
            outcomes = []
            for example in EXAMPLES:
                result = await client.call_tool(example["tool"], _arguments(example))
                text = result.content[0].text if result.content else ""
                outcomes.append((example["source"], result.is_error, text))
            return outcomes

    outcomes = anyio.run(main)
    unknown = [(source, text) for source, error, text in outcomes if "Unknown parameter" in text]
    assert unknown == []
    succeeded = sum(1 for _, error, _ in outcomes if not error)
    assert succeeded >= len(EXAMPLES) // 2, outcomes
