"""Property-based fuzzing of every recording tool through the HTTP adapter.

For each tool in ``tracking.tools.registry.TOOLS`` hypothesis sends ``FUZZ_EXAMPLES`` (200 in
a daily ``make test``; ``.ci/run`` sets ``HARDENING_FUZZ_EXAMPLES=2000`` on PostgreSQL) generated requests to
``POST /api/v1/tools/<name>`` with a valid bearer token. The bodies mix values drawn
from the tool's own JSON schema (plus the ids, hashes and URLs of a small seeded
database and of the loopback fakes, so that finds, updates and imports hit real
records) with garbage: wrong types, huge and negative numbers, unicode, NUL bytes,
lone surrogates, extra keys, nested junk, missing required keys, non-object bodies,
invalid JSON, invalid UTF-8, deep nesting and oversized bodies.

What must hold for every single request:

- no 5xx, except 502 from the tools that call upstream, and then in the contract's shape;
- a success has the tool's success status and a JSON object body;
- a failure has a status of the contract (400/401/403/404/409/413, 502 upstream) and
  exactly ``{"error": {"code": str, "message": str}}`` as body;
- a failure leaves every row of every civitrack table as it was;
- nothing connects anywhere but loopback (Civitai tools talk to a module-scoped fake
  site, URL hashing to a loopback media server; other names are refused by a guard).

Each example runs inside a savepoint that is rolled back afterwards, so the seeded
database is the same before every request and the "before" snapshot is taken once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.fakes import civitai_site as site
from tests.hardening.helpers import REPORT, db_snapshot, install_network_guard
from tests.tracking.recording_helpers import SHA_A, SHA_B
from tracking import services
from tracking.models import ApiToken, AssetStatsSnapshot, Prompt
from tracking.tools.registry import TOOLS

FUZZ_EXAMPLES = int(os.environ.get("HARDENING_FUZZ_EXAMPLES", "200"))
BODY_LIMIT = 64 * 1024  # API_MAX_BODY_BYTES while fuzzing, so oversized bodies are cheap
# Tools that read a URL or Civitai and answer 502 when the far side fails (a path that
# is an HTML page, say); find_similar_assets reads its path as calculate_sha256 does.
UPSTREAM_TOOLS = {
    "calculate_sha256",
    "fetch_civitai_post_assets",
    "find_similar_assets",
    "import_civitai_post",
    "match_post_assets",
    "sync_post_asset_stats",
}
ERROR_STATUSES = {400, 401, 403, 404, 409, 413}
# Site faults drawn for the Civitai tools; the ones that sleep (429/503 honour
# Retry-After, "endless" pages 50 times) are left to test_upstream_faults.py.
SITE_FAULTS = [
    "normal",
    "normal",
    "normal",
    "wrong_image_id",
    "foreign_image",
    "empty",
    "404",
    "500",
    "html",
    "truncated",
    "repeat_cursor",
    "bad_stats",
    "leak_token",
]

pytestmark = pytest.mark.django_db


# --- the seeded database ------------------------------------------------------------


@dataclass
class Seeds:
    prompt_ids: list[int]
    post_ids: list[int]
    asset_ids: list[int]
    civitai_post_ids: list[int]
    civitai_image_ids: list[int]
    shas: list[str]
    usernames: list[str]


@pytest.fixture
def seeds(django_user_model) -> Seeds:
    """Two users, prompts, posts (one of them is fake site post 880001 with its images
    recorded, so stats syncs find it), linked assets and a stats snapshot."""
    alice = django_user_model.objects.create_user("alice", password="pw-alice-1")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-1")
    p1 = services.create_prompt(user=alice, prompt_text="a paper lantern", purpose="fuzz")
    p2 = services.create_prompt(user=bob, prompt_text="caption", metadata={"k": [1, "x"]})
    own = services.create_civitai_post(
        user=alice,
        civitai_id=str(site.POST_ID),
        civitai_url=f"https://civitai.com/posts/{site.POST_ID}",
        title="Lanterns",
    )
    other = services.create_civitai_post(
        user=bob,
        civitai_id="23602354",
        civitai_url="https://civitai.com/posts/23602354",
        status="pending",
    )
    a1 = services.create_asset(
        user=alice,
        asset_url="s3://bucket/a.png",
        asset_type="image",
        asset_source="upload",
        sha256sum=SHA_A,
        civitai_id=str(site.IMAGE_ID),
        civitai_url=f"https://civitai.com/images/{site.IMAGE_ID}",
        post_id=own["post_id"],
        input_prompt_id=p1["prompt_id"],
    )
    a2 = services.create_asset(
        user=bob,
        asset_url="s3://bucket/b.png",
        asset_type="video",
        asset_source="generated",
        sha256sum=SHA_B,
        output_prompt_id=p2["prompt_id"],
        input_asset_ids=[a1["asset_id"]],
        post_id=other["post_id"],
    )
    AssetStatsSnapshot.objects.create(asset_id=int(a1["asset_id"]), like_count=3)
    return Seeds(
        prompt_ids=[int(p1["prompt_id"]), int(p2["prompt_id"])],
        post_ids=[int(own["post_id"]), int(other["post_id"])],
        asset_ids=[int(a1["asset_id"]), int(a2["asset_id"])],
        civitai_post_ids=[site.POST_ID, 23602354],
        civitai_image_ids=[site.IMAGE_ID, site.SECOND_IMAGE_ID],
        shas=[SHA_A, SHA_B],
        usernames=["alice", "bob"],
    )


# --- strategies -----------------------------------------------------------------------


class RawJSON(str):
    """A piece of JSON text put into the body as is (deep nesting, NaN, odd numbers)."""


def encode(value: Any, *, ensure_ascii: bool = True) -> str:
    """JSON text of ``value``, with ``RawJSON`` parts inserted verbatim."""
    if isinstance(value, RawJSON):
        return str(value)
    if isinstance(value, dict):
        items = (
            f"{json.dumps(k, ensure_ascii=ensure_ascii)}:{encode(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v, ensure_ascii=ensure_ascii) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ensure_ascii)


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
# Two levels of nesting is enough junk for a value; deeper bodies come as RawJSON below.
json_values = st.one_of(
    json_leaves,
    st.lists(json_leaves, max_size=3),
    st.dictionaries(st.text(max_size=6), json_leaves, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=4), json_leaves, max_size=2), max_size=2),
)
extreme_ints = st.sampled_from(
    [0, -1, -(2**63), 2**63 - 1, 2**63, 2**64, 10**30, -(10**30), 2**31, 2**31 - 1, 10**4000]
)
odd_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "1\x00",
        "0",
        "-1",
        "1.5",
        "1e5",
        "١٢٣",
        "\uff11\uff12",  # fullwidth digits
        "null",
        "true",
        "NaN",
        " 123",
        "123\n",
        "0x10",
        "+1",
        "00000000000000000001",
        "99999999999999999999",
        "9223372036854775807",
        "9223372036854775808",
        "2025-01-15T10:00:00",
        "2025-13-45T99:00:00Z",
        "2025-01-15T10:00:00+25:00",
        "http://",
        "https://civitai.com/posts/",
        "https://civitai.com/posts/-5",
        "https://civitai.com/images/0",
        "https://evil.example/posts/1",
        "file:///etc/passwd",
        "../../etc/passwd",
        "/etc/passwd",
        "s3://bucket/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::1]:1/x",
        "http://user:pw@example.com/x.png?token=abc",
        "https://example.com/x.png",
        "http://10.0.0.1/a.png",
        "http://localhost:1/x",
        "http://127.0.0.1:0/x",
        "http://127.0.0.1:99999/x",
        "https://civitai.com/posts/1?x=\ud800",
        "<script>alert(1)</script>",
        "'; DROP TABLE tracking_asset; --",
        "%00",
        "\u202e\u0000\ufeff",
    ]
)
weird_text = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(max_codepoint=0x1F), max_size=8),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    odd_strings,
    st.integers(min_value=301, max_value=3000).map(lambda n: "é" * n),
)
deep = st.sampled_from([50, 500, 990, 5000, 20000]).flatmap(
    lambda depth: st.sampled_from(
        [
            RawJSON("[" * depth + "]" * depth),
            RawJSON('{"a":' * depth + "1" + "}" * depth),
        ]
    )
)
raw_numbers = st.sampled_from(
    [RawJSON(t) for t in ["NaN", "Infinity", "-Infinity", "1e400", "-0", "1E2", "0.0", "1" * 5000]]
)
garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    extreme_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    weird_text,
    st.lists(json_values, max_size=3),
    st.dictionaries(weird_text, json_values, max_size=3),
    deep,
    raw_numbers,
)


def ids(known: list[int]) -> st.SearchStrategy:
    """An id: a seeded one (so lookups hit), any positive one, as a string or an integer."""
    number = st.one_of(
        st.sampled_from(known), st.sampled_from(known), st.integers(1, 10**6), extreme_ints
    )
    return number.flatmap(lambda n: st.sampled_from([str(n), n]))


def hex64() -> st.SearchStrategy:
    return st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)


def timestamps() -> st.SearchStrategy:
    offsets = st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", ""])
    moment = st.datetimes(min_value=datetime(1, 1, 2))
    return st.tuples(moment, offsets).map(lambda t: t[0].isoformat() + t[1])


def field_hints(tool: str, seeds: Seeds, urls: list[str]) -> dict[str, st.SearchStrategy]:
    """Well-formed values that the schema alone would almost never produce."""
    site_posts = [site.POST_ID, site.SINGLE_POST_ID, site.OTHER_POST_ID, site.MATCH_POST_ID, 424242]
    civitai_post_ids = st.sampled_from([*seeds.civitai_post_ids, *site_posts, 1, 10**18])
    civitai_image_ids = st.sampled_from([*seeds.civitai_image_ids, site.OTHER_IMAGE_ID, 7, 10**18])
    shas = st.one_of(
        st.sampled_from(seeds.shas), st.sampled_from(seeds.shas).map(str.upper), hex64()
    )
    hints: dict[str, st.SearchStrategy] = {
        "asset_id": ids(seeds.asset_ids),
        "input_prompt_id": ids(seeds.prompt_ids),
        "output_prompt_id": ids(seeds.prompt_ids),
        "input_asset_ids": st.lists(ids(seeds.asset_ids), max_size=3),
        "sha256sum": shas,
        "created_by": st.sampled_from([*seeds.usernames, "nobody", "ALICE"]),
        "asset_url": st.sampled_from(urls),
        "path": st.sampled_from(urls),
        "start_time": timestamps(),
        "end_time": timestamps(),
        "on_behalf_of": st.sampled_from(
            [*seeds.usernames, "ALICE", "Bob Smith", "", " ", "x" * 255, "x" * 256, "é" * 10]
        ),
        "civitai_post_id": civitai_post_ids.flatmap(lambda n: st.sampled_from([str(n), n])),
        # search_prompts: words of the seeded prompts, web-search and FTS5 syntax, and
        # short strings made of nothing else.
        "query": st.one_of(
            st.sampled_from(
                ["lantern", '"paper lantern"', "lantern -caption", "caption or paper", "草地"]
            ),
            st.text(alphabet='ap "-*()^:,\u200b\ue000', min_size=1, max_size=24),
        ),
    }
    if tool in ("create_civitai_post", "list_civitai_posts"):
        hints["civitai_id"] = civitai_post_ids.flatmap(lambda n: st.sampled_from([str(n), n]))
        hints["civitai_url"] = civitai_post_ids.map(lambda n: f"https://civitai.com/posts/{n}")
    else:
        hints["civitai_id"] = civitai_image_ids.flatmap(lambda n: st.sampled_from([str(n), n]))
        hints["civitai_url"] = civitai_image_ids.map(lambda n: f"https://civitai.com/images/{n}")
    if tool in ("fetch_civitai_post_assets", "import_civitai_post", "match_post_assets"):
        ref = st.sampled_from(site_posts).flatmap(
            lambda n: st.sampled_from(
                [
                    n,
                    str(n),
                    f"https://civitai.com/posts/{n}",
                    f"https://civitai.com/posts/{n}/lanterns?x=1",
                    f"civitai.com/posts/{n}",
                ]
            )
        )
        hints["post_id" if tool.startswith("fetch") else "post"] = ref
        hints["asset_ids"] = st.lists(ids(seeds.asset_ids), max_size=3)
        hints["max_distance"] = st.integers(-1, 16)
    else:
        hints["post_id"] = ids(seeds.post_ids)
    return hints


def good_values(tool: str, seeds: Seeds, urls: list[str]) -> dict[str, st.SearchStrategy]:
    """Values that should succeed: seeded records to link to, fresh unique ids and hashes."""
    seeded = {
        "asset_id": seeds.asset_ids,
        "input_prompt_id": seeds.prompt_ids,
        "output_prompt_id": seeds.prompt_ids,
        "post_id": seeds.post_ids,
    }
    good = {name: st.sampled_from(pks).map(str) for name, pks in seeded.items()}
    fresh_id = st.integers(10**9, 10**12).map(str)
    good["civitai_id"] = (
        st.sampled_from(seeds.civitai_post_ids).map(str)
        if tool == "list_civitai_posts"
        else fresh_id
    )
    good["sha256sum"] = (
        st.sampled_from(seeds.shas) if tool == "find_asset" else hex64().map(str.lower)
    )
    good["input_asset_ids"] = st.lists(
        st.sampled_from(seeds.asset_ids).map(str), max_size=2, unique=True
    )
    good["asset_url"] = st.sampled_from(urls)
    good["path"] = st.sampled_from(urls)
    good["created_by"] = st.sampled_from(seeds.usernames)
    good["on_behalf_of"] = st.sampled_from([*seeds.usernames, "Bob Smith"])
    good["civitai_post_id"] = st.sampled_from(seeds.civitai_post_ids).map(str)
    if tool in ("fetch_civitai_post_assets", "import_civitai_post", "match_post_assets"):
        good["post_id" if tool.startswith("fetch") else "post"] = st.sampled_from(
            [site.POST_ID, site.SINGLE_POST_ID, str(site.OTHER_POST_ID)]
        )
    if tool in ("update_asset", "update_post", "sync_post_asset_stats"):
        good["post_id"] = st.sampled_from(seeds.post_ids).map(str)
    return good


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy:
    """A value the JSON schema of one property accepts."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    options = []
    for kind in types:
        if kind == "null":
            options.append(st.none())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "integer":
            options.append(st.integers(schema.get("minimum"), schema.get("maximum")))
        elif kind == "object":
            options.append(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
        elif kind == "array":
            options.append(st.lists(from_schema(schema.get("items", {})), max_size=4))
        elif kind == "string":
            if schema.get("pattern") == "^[0-9]+$":
                options.append(st.integers(1, 2**63 - 1).map(str))
            elif schema.get("pattern") == "^[0-9a-fA-F]{64}$":
                options.append(hex64())
            elif schema.get("format") == "date-time":
                options.append(timestamps())
            else:
                options.append(
                    st.text(
                        min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 60)
                    )
                )
    return st.one_of(options) if options else json_values


ABSENT = object()  # a key left out of the body
RAW_BODIES = [
    b'{"a": "\xff\xfe"}',
    b"\xef\xbb\xbf{}",
    b'{"prompt_text": "x"',
    b"{'single': 'quotes'}",
    b'{"a":1,}',
    b"[" * 30000,
    b'{"a": NaN}',
    b'{"a": 1}{"b": 2}',
    b"\x00",
    b"   \n\t ",
    '{"x": 1}'.encode("utf-16"),
    b"null",
]


def tool_body(tool: str, seeds: Seeds, urls: list[str]) -> st.SearchStrategy:
    """Strategy of ``(kind, request body bytes)`` for calls of ``tool``, built once per test.

    Kinds: ``well-formed`` (every value from the schema or the hints), ``object`` (a
    fifth of the values garbage, keys missing, now and then an extra key),
    ``non-object`` (valid JSON that is not an object) and ``raw`` (bytes that are not
    JSON at all, or are too large or too deep).
    """
    schema = TOOLS[tool].input_schema
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    hints = field_hints(tool, seeds, urls)
    good = good_values(tool, seeds, urls)
    noun = "posts" if tool in ("create_civitai_post", "list_civitai_posts") else "images"

    def fields(*, clean: bool) -> st.SearchStrategy:
        out = {}
        for name, prop in properties.items():
            if clean:
                value = good[name] if name in good else from_schema(prop)
            else:
                sources = [hints[name]] * 2 if name in hints else []
                value = st.one_of([*sources, from_schema(prop), from_schema(prop), garbage])
            # (st.one_of drops duplicate branches, so weights come from a drawn number.)
            if name in required and clean:
                out[name] = value
            elif name in required:  # left out one time in ten
                out[name] = st.tuples(st.integers(0, 9), value).map(
                    lambda t: ABSENT if t[0] == 0 else t[1]
                )
            else:
                out[name] = st.one_of(value, st.just(ABSENT))
        return st.fixed_dictionaries(out)

    def assemble(kind: str, drawn: dict, pair: bool, extra, ascii_only: bool) -> tuple[str, bytes]:
        body = {k: v for k, v in drawn.items() if v is not ABSENT}
        cid = body.get("civitai_id")
        if (pair or kind == "well-formed") and "civitai_url" in body and isinstance(cid, int | str):
            # A Civitai URL and id that agree (the schema cannot say they must).
            body["civitai_url"] = f"https://civitai.com/{noun}/{cid}"
        if kind == "well-formed" and "civitai_url" in body and cid is None:
            del body["civitai_url"]  # a URL needs its id
        if extra is not None:
            body[extra[0]] = extra[1]
        text = encode(body, ensure_ascii=ascii_only)
        return kind, text.encode("utf-8", "surrogatepass")

    extra_key = st.tuples(st.integers(0, 7), weird_text, garbage).map(
        lambda t: (t[1], t[2]) if t[0] == 0 else None
    )
    well_formed = st.tuples(
        st.just("well-formed"), fields(clean=True), st.booleans(), st.none(), st.booleans()
    ).map(lambda t: assemble(*t))
    dirty = st.tuples(
        st.just("object"), fields(clean=False), st.booleans(), extra_key, st.booleans()
    ).map(lambda t: assemble(*t))
    non_object = st.one_of(st.lists(json_leaves, max_size=3), json_leaves, deep, raw_numbers).map(
        lambda v: ("non-object", encode(v).encode())
    )
    raw = st.one_of(
        st.binary(max_size=64),
        st.sampled_from(RAW_BODIES),
        st.integers(BODY_LIMIT - 20, BODY_LIMIT + 20).map(lambda n: b'{"x": "' + b"a" * n + b'"}'),
    ).map(lambda b: ("raw", b))
    # Six in ten dirty objects, two well-formed, one non-object, one raw.
    kinds = [dirty] * 6 + [well_formed] * 2 + [non_object, raw]
    return st.integers(0, len(kinds) - 1).flatmap(kinds.__getitem__)


# --- the test ---------------------------------------------------------------------------

FUZZ_SETTINGS = hsettings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


def assert_error_shape(tool: str, response, body: Any) -> None:
    allowed = ERROR_STATUSES | ({502} if tool in UPSTREAM_TOOLS else set())
    assert response.status_code in allowed, (response.status_code, body)
    assert response["Content-Type"] == "application/json"
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_it_survives_generated_input_to_every_tool(
    tool, seeds, client, settings, monkeypatch, site_server, media_server, tmp_path
):
    user = Prompt.objects.get(pk=seeds.prompt_ids[0]).created_by
    record, token = ApiToken.issue(user, name="fuzz")
    # Each example is rolled back, so the token's "last used" stamp would be written on
    # every call; a stamp in the future makes authenticate() skip that UPDATE.
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now() + timedelta(days=1))
    settings.API_MAX_BODY_BYTES = BODY_LIMIT
    settings.CIVITAI_SITE_URL = site_server.url
    settings.CIVITAI_SITE_TOKEN = None
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_READ_TIMEOUT = 5.0
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "file.bin").write_bytes(b"local bytes")
    settings.HASH_ALLOWED_ROOTS = [str(tmp_path / "allowed")]
    guard = install_network_guard(monkeypatch)

    urls = [
        media_server.url("/a.png"),
        media_server.url("/b.jpg"),
        media_server.url("/page"),
        media_server.url("/gone"),
        media_server.url("/loop"),
        media_server.url("/a.png", host="localhost"),
        str(tmp_path / "allowed" / "file.bin"),
        str(tmp_path / "allowed" / "missing.bin"),
        str(tmp_path / "allowed" / ".." / "outside"),
        "https://cdn.example.com/image.png",
        "http://192.168.1.10/a.png",
        "https://image.civitai.com/x/original=true/a.jpeg",
        "s3://bucket/key.png",
        "C:\\images\\a.png",
    ]
    url = reverse("api:tool", args=[tool])
    spec = TOOLS[tool]
    before = db_snapshot()
    stats = REPORT[f"fuzz {tool}"]
    examples = 0

    civitai = tool in UPSTREAM_TOOLS - {"calculate_sha256", "find_similar_assets"}
    faults = st.sampled_from(SITE_FAULTS) if civitai else st.just("normal")

    @FUZZ_SETTINGS
    @given(body=tool_body(tool, seeds, urls), fault=faults)
    def call(body, fault):
        nonlocal examples
        examples += 1
        kind, data = body
        site_server.set_fault(fault)
        with transaction.atomic():
            response = client.post(
                url,
                data=data,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            payload = json.loads(response.content)
            stats[response.status_code] += 1
            stats[kind] += 1
            if response.status_code < 300:
                assert response.status_code == spec.success_status, payload
                assert isinstance(payload, dict) and "error" not in payload
            else:
                assert_error_shape(tool, response, payload)
                assert db_snapshot() == before, (kind, data[:300], payload)
            transaction.set_rollback(True)  # the next example starts from the seeds again

    call()
    site_server.set_fault("normal")
    print(f"{tool}: {examples} examples")
    assert examples >= FUZZ_EXAMPLES
    assert not [a for a in guard.attempts if a.startswith("connect")], guard.attempts
    assert db_snapshot() == before
