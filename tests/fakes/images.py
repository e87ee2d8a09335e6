"""Image files the tests make: re-encoded copies of the demo images and unrelated pictures.

Civitai serves what it was given recompressed and often resized, so the bytes (and the
sha256) differ while the picture does not. These helpers make such copies with Pillow,
deterministically (same input, same bytes), so tests can check that perceptual matching
finds them at small distances and that unrelated pictures stay far away.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw

DEMO_DIR = Path(__file__).resolve().parents[2] / "static" / "demo"


def demo_bytes(name: str) -> bytes:
    """The bytes of a demo image shipped in ``static/demo`` (``"orchestration/fox.png"``)."""
    return (DEMO_DIR / name).read_bytes()


def reencode(
    data: bytes, *, scale: float = 0.8, quality: int = 70, fmt: str = "JPEG", crop: int = 0
) -> bytes:
    """``data`` decoded, optionally cropped by ``crop`` pixels per side, resized by
    ``scale`` and saved again as ``fmt`` at ``quality``: other bytes, the same picture."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGB")
    if crop:
        image = image.crop((crop, crop, image.width - crop, image.height - crop))
    if scale != 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, fmt, quality=quality)
    return out.getvalue()


def unrelated_image(seed: int, *, size: int = 256, fmt: str = "JPEG") -> bytes:
    """A picture of random rectangles and ellipses: nothing like the demo images or another
    seed's picture (structure at every scale, so perceptual hashes differ by many bits)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(24):
        x0, y0 = rng.randrange(size), rng.randrange(size)
        x1, y1 = x0 + rng.randrange(8, size // 2), y0 + rng.randrange(8, size // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
        shape((x0, y0, x1, y1), fill=colour)
    out = io.BytesIO()
    image.save(out, fmt, quality=90)
    return out.getvalue()
