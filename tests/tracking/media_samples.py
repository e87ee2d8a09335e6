"""Real image and video files for the perceptual tests, made here from a seed.

Pictures have structure (gradients, shapes, noise), not flat colours: a flat image
hashes to almost all-zero bits and would make every comparison meaningless. Videos
are encoded with PyAV (H.264 in MP4) from moving versions of those pictures.
"""

from __future__ import annotations

import io
import random

import av
import numpy as np
from PIL import Image, ImageDraw


def picture(seed: int, size: tuple[int, int] = (512, 384)) -> Image.Image:
    """A structured RGB picture that differs wholly from one seed to the next."""
    rng = random.Random(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    a, b = rng.random() * 6, rng.random() * 6
    red = (np.sin(a * x * 3 + b * y * 2) * 0.5 + 0.5) * 255
    base = np.stack([red, x * 255 * np.ones_like(y), y * 255 * np.ones_like(x)], axis=-1).astype(
        np.uint8
    )
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        colour = tuple(rng.randrange(256) for _ in range(3))
        x0, y0 = rng.randrange(width), rng.randrange(height)
        draw.ellipse(
            [x0, y0, x0 + rng.randrange(20, 200), y0 + rng.randrange(20, 200)], fill=colour
        )
        x1, y1 = rng.randrange(width - 100), rng.randrange(height - 100)
        draw.rectangle(
            [x1, y1, x1 + rng.randrange(10, 100), y1 + rng.randrange(10, 100)],
            outline=tuple(rng.randrange(256) for _ in range(3)),
            width=5,
        )
    noise = np.random.default_rng(seed).integers(0, 30, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image).astype(int) + noise, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png(seed: int) -> bytes:
    return encode(picture(seed))


def resized(image: Image.Image, factor: float) -> Image.Image:
    return image.resize((int(image.width * factor), int(image.height * factor)), Image.LANCZOS)


def cropped(image: Image.Image, fraction: float) -> Image.Image:
    dx, dy = int(image.width * fraction), int(image.height * fraction)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def video(
    seed: int,
    *,
    size: tuple[int, int] = (320, 240),
    frames: int = 48,
    fps: int = 24,
    bit_rate: int = 800_000,
    container: str = "mp4",
) -> bytes:
    """An H.264 clip of a picture panning and changing scene halfway."""
    first, second = (
        picture(seed, (size[0] * 2, size[1] * 2)),
        picture(seed + 7, (size[0] * 2, size[1] * 2)),
    )
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as box:
        stream = box.add_stream(
            "libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        for i in range(frames):
            source = first if i < frames // 2 else second
            shift = int(i * source.width / (4 * frames))
            frame = source.crop((shift, 0, shift + source.width // 2, source.height // 2))
            frame = frame.resize(size)
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return out.getvalue()


def reencoded(data: bytes, *, size: tuple[int, int], bit_rate: int) -> bytes:
    """``data`` decoded and encoded again at another size and bitrate (a platform's copy)."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, mode="w", format="mp4") as box:
        original = source.streams.video[0]
        stream = box.add_stream(
            "libx264" if "libx264" in av.codecs_available else "mpeg4",
            rate=original.average_rate or 24,
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        for frame in source.decode(original):
            image = frame.to_image().resize(size)
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return out.getvalue()
