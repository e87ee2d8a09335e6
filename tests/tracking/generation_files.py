"""Real image files carrying generation metadata, written by Pillow the way the tools do.

A1111 saves PNGs with ``PngInfo.add_text("parameters", …)`` and JPEG/WebP with the
infotext in EXIF ``UserComment`` (``UNICODE`` + UTF-16BE, piexif's layout); ComfyUI
saves ``prompt`` and ``workflow`` JSON as PNG text chunks. ``png_chunk`` builds raw
chunks for the hostile cases Pillow will not write.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

from PIL import Image
from PIL.PngImagePlugin import PngInfo

A1111_TEXT = (
    "a paper lantern on a pond, <lora:lanternStyle:0.8>, night\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 4242, Size: 512x768, "
    'Model hash: 31e35c80fc, Model: sdxl_base, Lora hashes: "lanternStyle: 9f2c1a2b3c4d", '
    "Denoising strength: 0.4, Version: v1.10.1"
)

COMFY_PROMPT = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 987654321,
            "steps": 30,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["10", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "dreamshaper_8.safetensors"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 640, "height": 896, "batch_size": 1},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a koi pond at dawn", "clip": ["10", 1]},
    },
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["10", 1]}},
    "10": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "koi.safetensors",
            "strength_model": 0.7,
            "strength_clip": 1,
            "model": ["4", 0],
            "clip": ["4", 1],
        },
    },
}
COMFY_WORKFLOW = {"last_node_id": 10, "nodes": [{"id": 3, "type": "KSampler"}], "version": 0.4}


def _image(size=(32, 24), color=(40, 90, 160)) -> Image.Image:
    return Image.new("RGB", size, color)


def png(texts: dict[str, str] | None = None, *, zip_: bool = False) -> bytes:
    """A PNG with the given text chunks (iTXt when not Latin-1 or ``zip_``)."""
    info = PngInfo()
    for key, value in (texts or {}).items():
        info.add_text(key, value, zip=zip_)
    out = io.BytesIO()
    _image().save(out, "PNG", pnginfo=info)
    return out.getvalue()


def a1111_png(text: str = A1111_TEXT) -> bytes:
    return png({"parameters": text})


def comfy_png(prompt=COMFY_PROMPT, workflow=COMFY_WORKFLOW) -> bytes:
    texts = {"prompt": json.dumps(prompt)}
    if workflow is not None:
        texts["workflow"] = json.dumps(workflow)
    return png(texts)


def user_comment(text: str, *, little_endian: bool = False) -> bytes:
    return b"UNICODE\x00" + text.encode("utf-16-le" if little_endian else "utf-16-be")


def exif_image(fmt: str, text: str = A1111_TEXT, *, comment: bytes | None = None) -> bytes:
    """A JPEG or WebP whose EXIF UserComment holds ``text`` (or the raw ``comment``)."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = comment if comment is not None else user_comment(text)
    out = io.BytesIO()
    _image().save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def png_chunk(ctype: bytes, body: bytes, *, length: int | None = None) -> bytes:
    """One raw PNG chunk; ``length`` may lie about the body's size."""
    size = len(body) if length is None else length
    return struct.pack(">I4s", size, ctype) + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_with_chunks(*chunks: bytes) -> bytes:
    """A valid small PNG with ``chunks`` inserted right after its IHDR."""
    data = png()
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + b"".join(chunks) + data[ihdr_end:]
