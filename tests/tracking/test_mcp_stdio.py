"""``python manage.py mcp --user X`` as a real subprocess, driven by the SDK's stdio client."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
from django.conf import settings
from django.db import connection
from mcp import Client, StdioServerParameters

from tracking.models import Prompt

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(settings.BASE_DIR)


def test_database_url() -> str:
    """A DATABASE_URL for the database this test run uses, so the subprocess sees its rows."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def child_env(**extra) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DEBUG": "true",
        "DATABASE_URL": test_database_url(),
        "CONN_MAX_AGE": "0",
        **extra,
    }


def test_it_serves_the_tools_over_stdio_as_the_given_user(alice, tmp_path):
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("needs a file-backed SQLite test database (tests/settings.py)")
    (tmp_path / "clip.mp4").write_bytes(b"clip bytes")
    params = StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "mcp", "--user", "alice"],
        cwd=str(BASE_DIR),
        env=child_env(HASH_ALLOWED_ROOTS=str(tmp_path)),
    )

    async def main():
        async with Client(params, read_timeout_seconds=60) as client:
            tools = await client.list_tools()
            prompts = await client.list_prompts()
            hashed = await client.call_tool(
                "calculate_sha256", {"path": str(tmp_path / "clip.mp4")}
            )
            created = await client.call_tool("create_prompt", {"prompt_text": "over stdio"})
            refused = await client.call_tool("find_asset", {"asset_id": "x"})
            return tools, prompts, hashed, created, refused

    tools, prompts, hashed, created, refused = anyio.run(main)
    assert "create_asset" in {t.name for t in tools.tools}
    assert [p.name for p in prompts.prompts] == [
        "recording-guide",
        "record_civitai_workflow",
        "civitai_media_engagement",
    ]
    assert hashed.structured_content == {
        "sha256sum": hashlib.sha256(b"clip bytes").hexdigest(),
        "size_bytes": 10,
    }
    assert json.loads(created.content[0].text)["prompt"]["created_by"] == "alice"
    assert refused.is_error is True
    assert refused.content[0].text == "asset_id must be a valid integer ID"
    # Written by the subprocess, visible here: it used the same database.
    assert Prompt.objects.get().created_by == alice


def test_it_refuses_an_unknown_user_clearly():
    result = subprocess.run(
        [sys.executable, "manage.py", "mcp", "--user", "ghost"],
        cwd=BASE_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "No user named 'ghost'" in result.stderr
    assert result.stdout == ""


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def test_an_unknown_user_still_ends_the_server_after_initialize_was_answered():
    """The lean start answers ``initialize`` before the user is looked up; the look-up
    failing must still end the process with the command's error, and list no tools."""
    lines = [INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"}, TOOLS_LIST]
    result = subprocess.run(
        [sys.executable, "manage.py", "mcp", "--user", "ghost"],
        cwd=BASE_DIR,
        env=child_env(),
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "CommandError: No user named 'ghost'; create it first" in result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(answer.get("id") != 2 or "error" in answer for answer in answers)
    assert not any("tools" in answer.get("result", {}) for answer in answers)


def read_reply(proc, request_id, timeout: float = 60.0) -> dict:
    """The JSON-RPC message answering ``request_id``, or fail after ``timeout`` seconds."""
    import select
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        message = json.loads(line)
        if message.get("id") == request_id:
            return message
    pytest.fail(f"no answer to request {request_id} within {timeout:g}s")


def test_a_request_holding_a_lone_surrogate_gets_an_error_answer(alice):
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("needs a file-backed SQLite test database (tests/settings.py)")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "mcp", "--user", "alice"],
        cwd=BASE_DIR,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    def send(raw: str) -> None:
        proc.stdin.write(raw + "\n")
        proc.stdin.flush()

    try:
        init = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}))
        assert "result" in read_reply(proc, 1)
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        # json.dumps would refuse nothing here, but write the escape by hand to be sure.
        send(
            '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_prompt",'
            '"arguments":{"prompt_text":"\\ud800"}}}'
        )
        refused = read_reply(proc, 7, timeout=30)
        call = {"name": "create_prompt", "arguments": {"prompt_text": "after"}}
        send(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": call}))
        after = read_reply(proc, 8)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)

    assert refused["error"]["code"] == -32600
    assert "lone surrogate" in refused["error"]["message"]
    assert after["result"]["isError"] is False  # the server is still serving
    assert list(Prompt.objects.values_list("prompt_text", flat=True)) == ["after"]
