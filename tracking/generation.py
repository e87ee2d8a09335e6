"""Generation metadata carried inside image files, and in Civitai's ``meta``, in one shape.

Stable Diffusion tools write their whole recipe into the file they save: AUTOMATIC1111
(and Forge, SD.Next, Fooocus in its A1111 mode) a ``parameters`` text in a PNG text
chunk or, for JPEG and WebP, in the EXIF ``UserComment``; ComfyUI its node graph as
``prompt`` (the API form it ran) and ``workflow`` (the editor's form) PNG text chunks.
Civitai's public API returns the same kind of recipe as an image's ``meta``. This
module reads those into the shape stored under ``asset.metadata["generation"]``
(``docs/generation-metadata.md``), so every asset answers "what made this" the same
way whichever tool made it.

The bytes are untrusted (anyone with a token can point ``create_asset`` at a file), so
every read is bounded and nothing here raises on bad input:

- a PNG is walked chunk by chunk up to its first ``IDAT`` (where Pillow stops too when
  opening), at most ``MAX_PNG_CHUNKS`` chunks; a wanted text chunk larger than
  ``GENERATION_MAX_CHUNK_BYTES`` is skipped unread, and a compressed one (``zTXt``,
  compressed ``iTXt``) is inflated with ``zlib``'s ``max_length`` so a zip bomb stops
  at the same limit. The walk is by hand because Pillow's own limit
  (``PngImagePlugin.MAX_TEXT_CHUNK``) is one process-wide global, not per call;
- a JPEG's EXIF comes from Pillow's reader (``getexif()``): a JPEG segment holds at
  most 64 KiB, so the format bounds it;
- a WebP's ``EXIF`` chunk is found by walking the RIFF chunk headers, refused above the
  limit, and the bounded bytes handed to Pillow's EXIF parser;
- JSON (ComfyUI graphs) is parsed only from bounded text and refused when nested deeper
  than ``MAX_JSON_DEPTH``; every string is cleaned of NUL characters and lone
  surrogates, which PostgreSQL refuses in ``jsonb`` and ``text``.

Whatever goes wrong (truncation, bad CRC-free garbage, wrong encodings, Pillow errors)
the reader answers None or a result with fewer fields and a ``skipped`` note; the
caller's record is written either way.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import struct
import warnings
import zlib
from typing import IO, Any

from django.conf import settings

logger = logging.getLogger(__name__)

SOURCES = ("a1111", "comfyui", "civitai")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_CHUNKS = 4096  # chunks walked before giving up on reaching IDAT
MAX_JSON_DEPTH = 64
MAX_LORAS = 100
MAX_GRAPH_HOPS = 256  # links followed through a ComfyUI graph
# PNG text keywords read (each at most once); every other chunk is skipped unread.
PNG_KEYWORDS = ("parameters", "prompt", "workflow")
EXIF_IFD = 0x8769
USER_COMMENT = 0x9286
INT64 = 2**63

# The A1111 keys with a field of their own; every other key is kept in "extra".
_A1111_FIELDS = {
    "Steps": "steps",
    "Sampler": "sampler",
    "CFG scale": "cfg_scale",
    "Seed": "seed",
    "Size": "size",
    "Model": "model",
    "Model hash": "model_hash",
    "Lora hashes": "lora_hashes",
}
_KEY = re.compile(r"\w[\w \-/.()+]{0,63}")
_LORA_TAG = re.compile(r"<(?:lora|lyco):([^:<>]{1,200})(?::([^:<>]{0,50}))?[^<>]{0,200}>", re.I)
_SIZE = re.compile(r"\s*(\d{1,6})\s*[x\u00d7]\s*(\d{1,6})\s*")
_NEGATIVE = "Negative prompt:"


def max_chunk_bytes() -> int:
    """``GENERATION_MAX_CHUNK_BYTES``: the most bytes one text chunk may hold, before or
    after decompression."""
    return int(settings.GENERATION_MAX_CHUNK_BYTES)


# --- the stored shape ---------------------------------------------------------------


def empty(source: str, read_from: str) -> dict[str, Any]:
    """A generation record with every field present and unset (the documented shape)."""
    return {
        "source": source,
        "read_from": read_from,
        "prompt": None,
        "negative_prompt": None,
        "steps": None,
        "sampler": None,
        "cfg_scale": None,
        "seed": None,
        "width": None,
        "height": None,
        "model": None,
        "model_hash": None,
        "loras": [],
        "extra": {},
    }


def clean(value: Any, depth: int = 0) -> Any:
    """A JSON value PostgreSQL will store: no NUL, no lone surrogate, finite numbers.

    Raises ``ValueError`` when nested deeper than ``MAX_JSON_DEPTH``.
    """
    if depth > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        if value.isascii():
            return value.replace("\x00", "")
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -INT64 <= value < INT64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean(str(k), depth + 1): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    return clean(str(value), depth + 1)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = clean(value).strip()
        return value or None
    return None


def _int(value: Any) -> int | None:
    """A whole number in the signed 64-bit range (what both databases' JSON keeps exactly)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"-?\d{1,19}", value):
            return None
        value = int(value)
    if isinstance(value, int) and -INT64 <= value < INT64:
        return value
    return None


def _float(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 40:
            return None
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int) and -INT64 <= value < INT64:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    return None


def _size(gen: dict[str, Any], value: Any) -> bool:
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    gen["width"], gen["height"] = int(match.group(1)), int(match.group(2))
    return True


def _add_lora(loras: list[dict], name: Any, weight: Any = None, hash_: Any = None) -> None:
    name = _text(name)
    if name is None or len(loras) >= MAX_LORAS:
        return
    name = name[:200]
    for lora in loras:
        if lora["name"] == name:
            lora["weight"] = lora["weight"] if lora["weight"] is not None else _float(weight)
            lora["hash"] = lora["hash"] or _text(hash_)
            return
    loras.append({"name": name, "weight": _float(weight), "hash": _text(hash_)})


# --- A1111 "parameters" -------------------------------------------------------------


def _split_params(line: str) -> list[tuple[str, str]]:
    """``Key: value, Key: "quoted, value"`` pairs of A1111's last line, in one linear pass.

    A1111 parses it with a regular expression; this does the same job without one,
    because that expression backtracks quadratically on a long line without commas.
    """
    parts: list[str] = []
    buf: list[str] = []
    quoted = escaped = False
    for ch in line:
        if quoted:
            buf.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    pairs = []
    for part in parts:
        key, sep, value = part.partition(":")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                unquoted = json.loads(value)
            except ValueError:
                unquoted = value[1:-1]
            value = unquoted if isinstance(unquoted, str) else value[1:-1]
        pairs.append((key, value))
    return pairs


def parse_a1111(text: str, *, read_from: str = "") -> dict[str, Any]:
    """The A1111 infotext ``text`` in the stored shape (``source`` ``"a1111"``).

    The layout A1111 writes: the prompt (any number of lines), then optionally a line
    starting ``Negative prompt:`` and the negative prompt's lines, then one line of
    ``Key: value`` pairs (counted as such when it has at least three pairs or starts
    with ``Steps:``, A1111's own test). Keys without a field of their own are kept
    verbatim in ``extra``; a known key whose value does not parse (``Steps: many``) is
    kept there too.
    """
    gen = empty("a1111", read_from)
    lines = clean(text).replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    last = lines[-1].strip()
    pairs = _split_params(last)
    if len(pairs) >= 3 or (pairs and last.startswith("Steps:")):
        lines = lines[:-1]
    else:
        pairs = []
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        if not negative and line.strip().startswith(_NEGATIVE):
            negative.append(line.strip()[len(_NEGATIVE) :])
        elif negative:
            negative.append(line)
        else:
            prompt.append(line)
    gen["prompt"] = _text("\n".join(prompt))
    gen["negative_prompt"] = _text("\n".join(negative))
    loras: list[dict] = gen["loras"]
    for match in _LORA_TAG.finditer(gen["prompt"] or ""):
        _add_lora(loras, match.group(1), match.group(2))
    for key, value in pairs:
        field = _A1111_FIELDS.get(key)
        ok = True
        if field in ("steps", "seed"):
            gen[field] = _int(value)
            ok = gen[field] is not None
        elif field == "cfg_scale":
            gen[field] = _float(value)
            ok = gen[field] is not None
        elif field == "size":
            ok = _size(gen, value)
        elif field == "lora_hashes":
            for item in value.split(","):
                name, sep, hash_ = item.partition(":")
                if sep:
                    _add_lora(loras, name, None, hash_)
        elif field is not None:
            gen[field] = _text(value)
        if field is None or not ok:
            gen["extra"][key] = value
    return gen


# --- ComfyUI "prompt" (and "workflow") ----------------------------------------------

_SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
_CHECKPOINTS = {
    "CheckpointLoaderSimple": "ckpt_name",
    "CheckpointLoader": "ckpt_name",
    "UNETLoader": "unet_name",
    "UnetLoaderGGUF": "unet_name",
}
_LORA_LOADERS = ("LoraLoader", "LoraLoaderModelOnly")


def _node(graph: dict, link: Any) -> dict | None:
    """The node a ComfyUI input links to (``["12", 0]``), or None."""
    if isinstance(link, list) and link and isinstance(link[0], str | int):
        node = graph.get(str(link[0]))
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
            return node
    return None


def _follow_text(graph: dict, link: Any) -> str | None:
    """The text a conditioning input comes from, through links (a bounded walk)."""
    seen = 0
    todo = [link]
    while todo and seen < MAX_GRAPH_HOPS:
        seen += 1
        node = _node(graph, todo.pop(0))
        if node is None:
            continue
        inputs = node["inputs"]
        for key in ("text", "text_g", "prompt", "positive", "string"):
            value = inputs.get(key)
            if isinstance(value, str) and value.strip():
                return _text(value)
            if isinstance(value, list):
                todo.append(value)
        for key in ("conditioning", "conditioning_1", "clip", "guider"):
            if isinstance(inputs.get(key), list):
                todo.append(inputs[key])
    return None


def parse_comfyui(graph: Any, workflow: Any = None, *, read_from: str = "") -> dict[str, Any]:
    """ComfyUI's API-form graph in the stored shape (``source`` ``"comfyui"``).

    The first sampler node (lowest node id) gives steps, CFG, sampler, seed and, through
    its ``positive``/``negative`` links, the prompts; its ``model`` link is followed
    through LoRA loaders to the checkpoint; its latent to the image size. LoRAs are
    every LoRA loader in the graph. The graph itself is kept under ``graph`` and the
    editor's ``workflow`` (when the file has one) under ``workflow``, both as read.
    """
    gen = empty("comfyui", read_from)
    try:
        graph, workflow = clean(graph), clean(workflow)
    except ValueError:  # nested deeper than MAX_JSON_DEPTH: kept out of the record
        graph, workflow = {}, None
    if not isinstance(graph, dict):
        graph = {}
    gen["graph"] = graph
    if workflow is not None:
        gen["workflow"] = workflow
    nodes = sorted(
        ((k, n) for k, n in graph.items() if isinstance(n, dict)),
        key=lambda item: (len(item[0]), item[0]),
    )
    for _key, node in nodes:
        inputs = node.get("inputs")
        kind = node.get("class_type")
        if isinstance(inputs, dict) and kind in _LORA_LOADERS:
            _add_lora(gen["loras"], inputs.get("lora_name"), inputs.get("strength_model"))
    sampler = next(
        (
            n
            for _k, n in nodes
            if n.get("class_type") in _SAMPLERS and isinstance(n.get("inputs"), dict)
        ),
        None,
    )
    if sampler is not None:
        inputs = sampler["inputs"]
        gen["steps"] = _int(inputs.get("steps"))
        gen["cfg_scale"] = _float(inputs.get("cfg"))
        gen["seed"] = _int(inputs.get("seed", inputs.get("noise_seed")))
        gen["sampler"] = _text(inputs.get("sampler_name"))
        if _text(inputs.get("scheduler")):
            gen["extra"]["scheduler"] = _text(inputs.get("scheduler"))
        gen["prompt"] = _follow_text(graph, inputs.get("positive"))
        gen["negative_prompt"] = _follow_text(graph, inputs.get("negative"))
        latent = _node(graph, inputs.get("latent_image"))
        if latent is not None:
            gen["width"] = _int(latent["inputs"].get("width"))
            gen["height"] = _int(latent["inputs"].get("height"))
        link, hops = inputs.get("model"), 0
        while (node := _node(graph, link)) is not None and hops < MAX_GRAPH_HOPS:
            hops += 1
            name_key = _CHECKPOINTS.get(node.get("class_type"))
            if name_key:
                gen["model"] = _text(node["inputs"].get(name_key))
                break
            link = node["inputs"].get("model")
    if gen["model"] is None:
        for _key, node in nodes:
            name_key = _CHECKPOINTS.get(node.get("class_type"))
            if name_key and isinstance(node.get("inputs"), dict):
                gen["model"] = _text(node["inputs"].get(name_key))
                break
    return gen


# --- Civitai "meta" -------------------------------------------------------------------

_CIVITAI_FIELDS = {
    "prompt": "prompt",
    "negativePrompt": "negative_prompt",
    "steps": "steps",
    "sampler": "sampler",
    "cfgScale": "cfg_scale",
    "seed": "seed",
    "Size": "size",
    "Model": "model",
    "Model hash": "model_hash",
}


def parse_civitai(meta: Any) -> dict[str, Any] | None:
    """Civitai's image ``meta`` in the stored shape (``source`` ``"civitai"``), or None
    when it says nothing. LoRAs come from ``resources`` entries of type ``lora``;
    every other key (``civitaiResources``, ``clipSkip``, …) is kept in ``extra``."""
    if not isinstance(meta, dict) or not meta:
        return None
    try:
        meta = clean(meta)
    except ValueError:
        return None
    gen = empty("civitai", "civitai:meta")
    for key, value in meta.items():
        field = _CIVITAI_FIELDS.get(key)
        if field in ("prompt", "negative_prompt", "sampler", "model", "model_hash"):
            gen[field] = _text(value)
        elif field in ("steps", "seed"):
            gen[field] = _int(value)
        elif field == "cfg_scale":
            gen[field] = _float(value)
        elif field == "size":
            if not _size(gen, value):
                gen["extra"][key] = value
        else:
            gen["extra"][key] = value
    resources = meta.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and str(resource.get("type", "")).lower() == "lora":
            _add_lora(
                gen["loras"], resource.get("name"), resource.get("weight"), resource.get("hash")
            )
    for match in _LORA_TAG.finditer(gen["prompt"] or ""):
        _add_lora(gen["loras"], match.group(1), match.group(2))
    return gen


# --- reading files ----------------------------------------------------------------------


class _Skip(Exception):
    """One chunk not read, with the reason kept in the result's ``skipped`` list."""


def _decode(raw: bytes) -> str:
    """Text of a ``tEXt`` chunk: Latin-1 by the PNG standard, but many tools write UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise _Skip(f"{what}: not valid zlib data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise _Skip(f"{what}: more than {limit} bytes once decompressed")
    return out


def _png_text(ctype: bytes, body: bytes, limit: int) -> tuple[str, str] | None:
    """(keyword, text) of a PNG text chunk, or None when it is not one we read."""
    keyword, sep, rest = body.partition(b"\x00")
    name = keyword.decode("latin-1")
    if not sep or name not in PNG_KEYWORDS:
        return None
    what = f"PNG {ctype.decode()} {name!r}"
    if ctype == b"tEXt":
        return name, _decode(rest)
    if ctype == b"zTXt":
        if rest[:1] != b"\x00":
            raise _Skip(f"{what}: unknown compression method")
        return name, _decode(_inflate(rest[1:], limit, what))
    # iTXt: flag, method, language\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        raise _Skip(f"{what}: truncated")
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise _Skip(f"{what}: truncated")
    text = parts[2]
    if compressed:
        if method != 0:
            raise _Skip(f"{what}: unknown compression method")
        text = _inflate(text, limit, what)
    return name, text.decode("utf-8", "replace")


def read_png_texts(stream: IO[bytes], skipped: list[str]) -> dict[str, str]:
    """The wanted text chunks of a PNG (``PNG_KEYWORDS``), each at most once and bounded."""
    limit = max_chunk_bytes()
    stream.seek(0)
    if stream.read(8) != PNG_SIGNATURE:
        return {}
    found: dict[str, str] = {}
    for _ in range(MAX_PNG_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            break
        length, ctype = struct.unpack(">I4s", header)
        if ctype in (b"IDAT", b"IEND") or len(found) == len(PNG_KEYWORDS):
            break
        if ctype not in (b"tEXt", b"zTXt", b"iTXt"):
            stream.seek(length + 4, io.SEEK_CUR)  # the data and its CRC, unread
            continue
        if length > limit:
            skipped.append(
                f"PNG {ctype.decode(errors='replace')} chunk of {length} bytes:"
                f" more than GENERATION_MAX_CHUNK_BYTES ({limit})"
            )
            stream.seek(length + 4, io.SEEK_CUR)
            continue
        body = stream.read(length)
        stream.seek(4, io.SEEK_CUR)
        if len(body) < length:
            skipped.append(f"PNG {ctype.decode()} chunk: truncated file")
            break
        try:
            item = _png_text(ctype, body, limit)
        except _Skip as exc:
            skipped.append(str(exc))
            continue
        if item is not None and item[0] not in found:
            found[item[0]] = item[1]
    return found


def _user_comment(raw: Any) -> str | None:
    """EXIF ``UserComment``: an 8-byte character-code prefix, then the text.

    A1111 writes ``UNICODE`` and UTF-16 big-endian (piexif's default); some tools write
    little-endian, told apart by where the zero bytes of ASCII characters fall.
    """
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes) or len(raw) < 8:
        return None
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return body.decode("utf-16", "replace")
        even_zeros = body[0::2].count(0)
        odd_zeros = body[1::2].count(0)
        return body.decode("utf-16-le" if odd_zeros > even_zeros else "utf-16-be", "replace")
    if prefix.rstrip(b"\x00") in (b"ASCII", b""):
        return body.decode("utf-8", "replace")
    if prefix.startswith(b"JIS"):
        return body.decode("shift_jis", "replace")
    return raw.decode("utf-8", "replace")


def _exif_comment(exif) -> str | None:
    try:
        ifd = exif.get_ifd(EXIF_IFD)
    except Exception:  # Pillow's parser on hostile bytes: no comment
        return None
    return _user_comment(ifd.get(USER_COMMENT))


def _jpeg_comment(stream: IO[bytes]) -> str | None:
    from PIL import Image

    stream.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning: nothing is decoded here
        with Image.open(stream, formats=["JPEG"]) as image:
            return _exif_comment(image.getexif())


def _webp_comment(stream: IO[bytes], skipped: list[str]) -> str | None:
    from PIL import Image

    limit = max_chunk_bytes()
    stream.seek(12)
    for _ in range(MAX_PNG_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            return None
        ctype, length = struct.unpack("<4sI", header)
        if ctype != b"EXIF":
            stream.seek(length + (length & 1), io.SEEK_CUR)
            continue
        if length > limit:
            skipped.append(
                f"WebP EXIF chunk of {length} bytes: more than GENERATION_MAX_CHUNK_BYTES ({limit})"
            )
            return None
        data = stream.read(length)
        if len(data) < length:
            skipped.append("WebP EXIF chunk: truncated file")
            return None
        exif = Image.Exif()
        exif.load(data)
        return _exif_comment(exif)
    return None


def _parse_json(text: str, what: str, skipped: list[str]) -> Any:
    try:
        return clean(json.loads(text))
    except (ValueError, RecursionError):
        skipped.append(f"{what}: not valid JSON (or nested deeper than {MAX_JSON_DEPTH})")
        return None


def read_generation(stream: IO[bytes]) -> dict[str, Any] | None:
    """The generation metadata in a seekable binary file (PNG, JPEG or WebP), or None.

    Never raises for what the file holds: a malformed or hostile file gives None, or
    what could be read with the rest listed in ``skipped``. Reads from the start; the
    stream's position afterwards is undefined.
    """
    skipped: list[str] = []
    try:
        gen = _read(stream, skipped)
    except Exception as exc:  # untrusted bytes must never fail the caller
        logger.info("generation metadata not read: %s: %s", type(exc).__name__, exc)
        return None
    if gen is not None and skipped:
        gen["skipped"] = skipped
    elif skipped:
        logger.info("generation metadata not read: %s", "; ".join(skipped))
    return gen


def _read(stream: IO[bytes], skipped: list[str]) -> dict[str, Any] | None:
    stream.seek(0)
    head = stream.read(12)
    if head.startswith(PNG_SIGNATURE):
        texts = read_png_texts(stream, skipped)
        graph = workflow = None
        if "prompt" in texts:
            graph = _parse_json(texts["prompt"], "PNG text 'prompt'", skipped)
        if "workflow" in texts:
            workflow = _parse_json(texts["workflow"], "PNG text 'workflow'", skipped)
        if texts.get("parameters", "").strip():
            gen = parse_a1111(texts["parameters"], read_from="png:parameters")
            if isinstance(graph, dict):
                gen["graph"] = graph
            if workflow is not None:
                gen["workflow"] = workflow
            return gen
        if isinstance(graph, dict):
            return parse_comfyui(graph, workflow, read_from="png:prompt")
        if workflow is not None:
            return parse_comfyui({}, workflow, read_from="png:workflow")
        return None
    if head.startswith(b"\xff\xd8\xff"):
        comment, read_from = _jpeg_comment(stream), "jpeg:exif:UserComment"
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        comment, read_from = _webp_comment(stream, skipped), "webp:exif:UserComment"
    else:
        return None
    if comment is None or not comment.strip():
        return None
    if len(comment) > max_chunk_bytes():
        skipped.append("EXIF UserComment: more than GENERATION_MAX_CHUNK_BYTES")
        return None
    return parse_a1111(comment, read_from=read_from)


def read_generation_bytes(data: bytes) -> dict[str, Any] | None:
    """``read_generation`` of bytes in memory (tests, small files)."""
    return read_generation(io.BytesIO(data))


def file_reader(stream: IO[bytes], kind: str | None, facts) -> None:
    """The ``tracking.file_facts`` reader: ``facts.extra["generation"]`` for an image.

    Runs on the bounded copy the hashing read keeps, so the file is read once.
    """
    if kind != "image":
        return
    found = read_generation(stream)
    if found is not None:
        facts.extra["generation"] = found
