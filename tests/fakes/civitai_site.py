"""A loopback fake of Civitai's public site API (``/api/v1/images``, ``/api/v1/posts/{id}``).

Real HTTP on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a thread), serving these
fixtures: post 880001 with two images and a video spread
over three cursor pages, the middle one empty but not final; nested meta on
``imageId`` lookups (the DB path); ``/images/{id}`` always 404 (not a route).

Post 880030 (``MATCH_POST_ID``) is the one whose files are real: its images' ``url``
points back at this server with the CDN's path anatomy
(``/<accountHash>/<key>/original=true/<key>.jpeg``), which serves *re-encoded* copies
of the demo images (``static/demo``) the way Civitai does: the fox resized and
recompressed as JPEG, the waves resized and recompressed harder, and one unrelated
picture. Their sha256 differs from the demo files'; only a perceptual hash finds them
(``match_post_assets``). ``media`` maps each storage key to its bytes; tests may add more.

Every request is recorded (path, query, headers) so tests can assert query
parameters, the bearer token and retry counts. Faults are set per test with
:meth:`FakeCivitaiSite.set_fault`, optionally only ``times`` times and only for
``"images"`` or ``"posts"`` requests.

Fault modes: ``normal``, ``wrong_image_id`` (S3: an unrelated popular image),
``foreign_image`` (a listing of post P includes an image of another post),
``empty``, ``404``, ``429`` (``Retry-After: 1``), ``500``, ``503``
(``Retry-After: 1``), ``html``, ``truncated``, ``repeat_cursor`` (the last page
points back to an earlier cursor), ``endless`` (always another page),
``bad_stats`` (a stat that is not an integer), ``leak_token`` (the server echoes the
caller's token into error texts, item fields and ``nextPage``).

Transport faults for the hardening suites: ``401`` (the error body quotes the token it
refused), ``502``, ``429_bare`` (429 without ``Retry-After``), ``stall`` (no answer for
``stall_seconds``, longer than a test's read timeout), ``reset`` (the socket is closed
with a TCP reset instead of an answer) and ``wrong_post_id`` (``/posts/{id}`` answers
another post).
"""

from __future__ import annotations

import copy
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_HASH = "xG1nkqKTMzGDvpLrqFT7WA"
CDN = f"https://image.civitai.com/{ACCOUNT_HASH}"

POST_ID = 880001
IMAGE_ID = 41000221
SECOND_IMAGE_ID = 41000222
VIDEO_ID = 41000300
SINGLE_POST_ID = 880002
SINGLE_IMAGE_ID = 41000400
OTHER_POST_ID = 910003
OTHER_IMAGE_ID = 4100222  # S3: the unrelated image Civitai answers with
MATCH_POST_ID = 880030
FOX_IMAGE_ID = 41000501  # static/demo/orchestration/fox.png, resized 256 → 200, JPEG q60
WAVES_IMAGE_ID = 41000502  # static/demo/waves-dusk.jpg, resized 384 → 300, JPEG q50
UNRELATED_IMAGE_ID = 41000503  # like no demo image
MEDIA_KEYS = {
    FOX_IMAGE_ID: "5f0a6b7c-2e35-4abb-f4ee-7c9d3a5b6c8b",
    WAVES_IMAGE_ID: "6a1b7c8d-3f46-4bcc-a5ff-8d0e4b6c7d9c",
    UNRELATED_IMAGE_ID: "7b2c8d9e-4a57-4cdd-b6aa-9e1f5c7d8e0d",
}

FAULTS = {
    "normal",
    "wrong_image_id",
    "foreign_image",
    "empty",
    "404",
    "429",
    "500",
    "503",
    "html",
    "truncated",
    "repeat_cursor",
    "endless",
    "bad_stats",
    "leak_token",
    "401",
    "502",
    "429_bare",
    "stall",
    "reset",
    "wrong_post_id",
}


def _stats(like: int, heart: int, comment: int = 0, laugh: int = 0, cry: int = 0) -> dict:
    return {
        "cryCount": cry,
        "laughCount": laugh,
        "likeCount": like,
        "dislikeCount": 0,
        "heartCount": heart,
        "commentCount": comment,
    }


def _image(
    image_id: int, post_id: int, *, key: str, meta: dict | None, stats: dict, **extra
) -> dict:
    item = {
        "id": image_id,
        "url": f"{CDN}/{key}/original=true/{key}.jpeg",
        "hash": "U5F~7pxu00of~qj[M{WB00t7?bRj",
        "width": 896,
        "height": 1152,
        "nsfwLevel": "None",
        "nsfw": False,
        "browsingLevel": 1,
        "type": "image",
        "createdAt": "2026-09-01T10:20:30.400Z",
        "postId": post_id,
        "thumbnail": None,
        "username": "lantern_maker",
        "baseModel": "Flux.1 D",
        "modelVersionIds": [222],
        "stats": stats,
        "meta": meta,
    }
    item.update(extra)
    return item


def default_images() -> dict[int, dict]:
    """The image fixtures, keyed by id (fresh copies: tests may mutate them)."""
    video_key = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
    images = [
        _image(
            IMAGE_ID,
            POST_ID,
            key="0b6f2d3e-8a91-4c77-b0aa-3e5f9c1d2e47",
            stats=_stats(37, 12, comment=2, laugh=1),
            meta={
                "prompt": "a paper lantern on a pond",
                "negativePrompt": "blurry",
                "seed": 4242,
                "steps": 20,
                "cfgScale": 3.5,
                "sampler": "Euler",
                "civitaiResources": [{"type": "checkpoint", "modelVersionId": 222}],
            },
        ),
        _image(
            SECOND_IMAGE_ID,
            POST_ID,
            key="1c7e3f4a-9b02-4d88-c1bb-4f6a0d2e3f58",
            stats=_stats(5, 1),
            meta={"prompt": "two paper lanterns at dusk", "seed": 4243, "steps": 20},
        ),
        _image(
            VIDEO_ID,
            POST_ID,
            key=video_key,
            stats=_stats(9, 3, comment=1),
            meta=None,
            type="video",
            width=720,
            height=1280,
            url=f"{CDN}/{video_key}/original=true/{video_key}.mp4",
            thumbnail={
                "url": f"{CDN}/{video_key}/anim=false,width=450/frame.jpeg",
                "width": 450,
                "height": 800,
            },
            nsfwLevel="Soft",
            nsfw=True,
            browsingLevel=2,
        ),
        _image(
            SINGLE_IMAGE_ID,
            SINGLE_POST_ID,
            key="2d8f4a5b-0c13-4e99-d2cc-5a7b1e3f4a69",
            stats=_stats(1, 0),
            meta={"prompt": "a lone lantern"},
        ),
        _image(
            OTHER_IMAGE_ID,
            OTHER_POST_ID,
            key="3e9a5b6c-1d24-4faa-e3dd-6b8c2f4a5b7a",
            stats=_stats(90000, 40000),
            meta={"prompt": "AtomicHeartTwinsCosplay in absolute darkness", "seed": 1938345220},
        ),
        *(
            _image(
                image_id,
                MATCH_POST_ID,
                key=MEDIA_KEYS[image_id],
                stats=_stats(2, 1),
                meta={"prompt": prompt},
                width=width,
                height=width,
            )
            for image_id, prompt, width in [
                (FOX_IMAGE_ID, "Low-poly red fox sitting in a green meadow, flat colours", 200),
                (WAVES_IMAGE_ID, "Waves at dusk, long exposure, pastel sky", 300),
                (UNRELATED_IMAGE_ID, "shapes", 256),
            ]
        ),
    ]
    return {i["id"]: i for i in images}


def default_media() -> dict[str, bytes]:
    """The bytes behind post 880030's images, by storage key: re-encoded demo images."""
    from tests.fakes.images import demo_bytes, reencode, unrelated_image

    files = {
        FOX_IMAGE_ID: reencode(demo_bytes("orchestration/fox.png"), scale=200 / 256, quality=60),
        WAVES_IMAGE_ID: reencode(demo_bytes("waves-dusk.jpg"), scale=300 / 384, quality=50),
        UNRELATED_IMAGE_ID: unrelated_image(7),
    }
    return {MEDIA_KEYS[i]: data for i, data in files.items()}


def default_posts() -> dict[int, dict]:
    """Post fixtures (S6) and how their image listings are paged (S1, S2)."""
    return {
        POST_ID: {
            "payload": {
                "id": POST_ID,
                "title": "Lanterns",
                "detail": "<p>Two tries.</p>",
                "nsfwLevel": 3,
                "publishedAt": "2026-09-01T10:21:00.000Z",
                "modelVersionId": 222,
                "user": {"id": 7731, "username": "lantern_maker"},
                "tags": [{"id": 70412, "name": "still life"}],
            },
            # page 2 is empty but not the end (S2)
            "pages": [[IMAGE_ID, SECOND_IMAGE_ID], [], [VIDEO_ID]],
        },
        SINGLE_POST_ID: {
            "payload": {
                "id": SINGLE_POST_ID,
                "title": "One lantern",
                "detail": None,
                "nsfwLevel": 1,
                "publishedAt": "2026-09-02T08:00:00.000Z",
                "modelVersionId": None,
                "user": {"id": 7731, "username": "lantern_maker"},
                "tags": [],
            },
            "pages": [[SINGLE_IMAGE_ID]],
        },
        OTHER_POST_ID: {
            "payload": {
                "id": OTHER_POST_ID,
                "title": "Twins",
                "detail": None,
                "nsfwLevel": 1,
                "publishedAt": "2024-01-01T00:00:00.000Z",
                "modelVersionId": None,
                "user": {"id": 1, "username": "someone"},
                "tags": [],
            },
            "pages": [[OTHER_IMAGE_ID]],
        },
        MATCH_POST_ID: {
            "payload": {
                "id": MATCH_POST_ID,
                "title": "Fox and waves",
                "detail": None,
                "nsfwLevel": 1,
                "publishedAt": "2026-09-03T09:00:00.000Z",
                "modelVersionId": None,
                "user": {"id": 7731, "username": "lantern_maker"},
                "tags": [],
            },
            "pages": [[FOX_IMAGE_ID, WAVES_IMAGE_ID, UNRELATED_IMAGE_ID]],
        },
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Fault:
    mode: str = "normal"
    times: int | None = None  # None: every matching request
    only: str | None = None  # "images" / "posts" / None for both


@dataclass
class FakeCivitaiSite:
    """Controller of the running fake: its data, fault and request log."""

    url: str = ""
    images: dict[int, dict] = field(default_factory=default_images)
    posts: dict[int, dict] = field(default_factory=default_posts)
    media: dict[str, bytes] = field(default_factory=default_media)
    requests: list[RecordedRequest] = field(default_factory=list)
    fault: Fault = field(default_factory=Fault)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stall_seconds: float = 2.0

    def set_fault(self, mode: str, *, times: int | None = None, only: str | None = None) -> None:
        if mode not in FAULTS:
            raise ValueError(f"unknown fault {mode!r}")
        with self.lock:
            self.fault = Fault(mode, times, only)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Requests whose path is ``path`` (e.g. "/api/v1/images")."""
        return [r for r in self.requests if r.path == path]

    def serve_media_here(self) -> None:
        """Point the ``url`` of every image with served bytes at this server (CDN anatomy)."""
        for image_id, key in MEDIA_KEYS.items():
            if image_id in self.images:
                self.images[image_id]["url"] = self.media_url(key)

    def media_url(self, key: str) -> str:
        """Where this server serves the file stored under ``key`` (``media[key]``)."""
        return f"{self.url}/{ACCOUNT_HASH}/{key}/original=true/{key}.jpeg"

    def set_stats(self, image_id: int, **counts: int) -> None:
        """Change an image's engagement counts (``likeCount=40``)."""
        self.images[image_id]["stats"].update(counts)

    def _take_fault(self, kind: str) -> str:
        with self.lock:
            fault = self.fault
            if fault.mode == "normal" or (fault.only and fault.only != kind):
                return "normal"
            if fault.times is not None:
                if fault.times <= 0:
                    return "normal"
                fault.times -= 1
            return fault.mode


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeCivitaiSite/1.0"
    fake: FakeCivitaiSite  # set on the subclass made per server

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.fake.requests.append(
            RecordedRequest("GET", parts.path, query, {k: v for k, v in self.headers.items()})
        )
        path = parts.path.rstrip("/")
        if path.startswith(f"/{ACCOUNT_HASH}/"):
            self._media(path)
        elif path == "/api/v1/images":
            self._images(query)
        elif path.startswith("/api/v1/images/"):
            self._json(404, {"error": "Not Found"})  # not a route on the real site
        elif path.startswith("/api/v1/posts/"):
            self._post(path.rsplit("/", 1)[1])
        else:
            self._json(404, {"error": "Not Found"})

    # -- responses -------------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(body).encode(), "application/json", headers)

    def _raw(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _token(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")

    def _fault_response(self, mode: str, kind: str) -> bool:
        """Answer a transport-level fault; True when the request was answered."""
        no_store = {"Cache-Control": "no-store"}
        if mode == "401":
            self._json(401, {"error": f"Unauthorized: token {self._token()} is not valid"})
        elif mode == "502":
            self._json(502, {"error": "bad gateway (fake)"})
        elif mode == "429_bare":
            self._json(429, {"error": "rate limited (fake)"}, no_store)
        elif mode == "stall":
            time.sleep(self.fake.stall_seconds)
            self.close_connection = True
        elif mode == "reset":
            # SO_LINGER 0 makes close() send RST: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif mode == "404":
            error = "Post not found" if kind == "posts" else "Not Found"
            self._json(404, {"error": error})
        elif mode == "429":
            self._json(429, {"error": "rate limited (fake)"}, {"Retry-After": "1", **no_store})
        elif mode == "500":
            self._json(500, {"error": "internal error (fake)"})
        elif mode == "503":
            self._json(
                503, {"error": "search overloaded, retry (fake)"}, {"Retry-After": "1", **no_store}
            )
        elif mode == "html":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad gateway</h1>cloudflare</body></html>"
            # An edge/challenge page served with 200: only the body says it is not JSON.
            self._raw(200, page, "text/html; charset=utf-8")
        else:
            return False
        return True

    def _media(self, path: str) -> None:
        # /<accountHash>/<key>/<params>/<filename>: the key names the file, the rest is cosmetic
        parts = path.split("/")
        data = self.fake.media.get(parts[2]) if len(parts) == 5 else None
        if data is None:
            self._raw(404, b"not found", "text/plain")
        else:
            self._raw(200, data, "image/jpeg")

    def _post(self, raw_id: str) -> None:
        mode = self.fake._take_fault("posts")
        if self._fault_response(mode, "posts"):
            return
        if not raw_id.isdigit() or not 0 < int(raw_id) <= 2147483647:
            self._json(400, {"error": "✖ Too small: expected number to be >0\n  → at id"})
            return
        post = self.fake.posts.get(int(raw_id))
        if mode == "empty":
            self._raw(200, b"", "application/json")
            return
        if post is None:
            leak = f" for {self._token()}" if mode == "leak_token" else ""
            self._json(404, {"error": f"Post not found{leak}"})
            return
        payload = copy.deepcopy(post["payload"])
        if mode == "wrong_post_id":
            payload["id"] = OTHER_POST_ID if int(raw_id) != OTHER_POST_ID else POST_ID
        payload["images"] = [
            {**copy.deepcopy(self.fake.images[i]), "meta": None}
            for page in post["pages"]
            for i in page
        ]
        if mode == "truncated":
            data = json.dumps(payload).encode()
            self._raw(200, data[: len(data) // 2], "application/json")
            return
        self._json(200, payload)

    def _images(self, query: dict[str, str]) -> None:
        mode = self.fake._take_fault("images")
        if self._fault_response(mode, "images"):
            return
        if "imageId" in query:
            body = self._image_lookup(int(query["imageId"]), query, mode)
        elif "postId" in query:
            body = self._post_listing(int(query["postId"]), query, mode)
            if body is None:
                return
        else:
            body = {"items": [], "metadata": {}}
        if mode == "bad_stats" and body["items"]:
            body["items"][0]["stats"]["likeCount"] = "many"
        if mode == "leak_token":
            token = self._token()
            for item in body["items"]:
                item["debug"] = f"served for Bearer {token}"
            body["metadata"]["nextPage"] = f"{self.fake.url}/api/v1/images?token={token}"
        data = json.dumps(body).encode()
        if mode == "truncated":
            data = data[: max(1, len(data) - 17)]
        self._raw(200, data, "application/json")

    def _with_meta(self, item: dict, query: dict[str, str], *, nested: bool) -> dict:
        item = copy.deepcopy(item)
        if query.get("withMeta") != "true":
            item["meta"] = None
        elif nested and item["meta"] is not None:
            item["meta"] = {"id": item["id"], "meta": item["meta"]}  # S4, DB path
        return item

    def _image_lookup(self, image_id: int, query: dict[str, str], mode: str) -> dict:
        if mode == "wrong_image_id":
            # S3: the search path ignores imageId and answers the global feed.
            item = self._with_meta(self.fake.images[OTHER_IMAGE_ID], query, nested=False)
            return {"items": [item], "metadata": {}}
        image = self.fake.images.get(image_id)
        if image is None or mode == "empty":
            return {"items": [], "metadata": {}}
        return {"items": [self._with_meta(image, query, nested=True)], "metadata": {}}

    def _post_listing(self, post_id: int, query: dict[str, str], mode: str) -> dict | None:
        post = self.fake.posts.get(post_id)
        if post is None or mode == "empty":
            return {"items": [], "metadata": {}}
        pages = post["pages"]
        cursors = [f"feed:17567220{n:05d}:{post_id}" for n in range(len(pages))]
        cursor = query.get("cursor")
        if cursor is None:
            index = 0
        elif cursor in cursors:
            index = cursors.index(cursor)
        elif mode == "endless" and cursor.startswith("endless:"):
            index = len(pages) - 1
        else:
            self._json(400, {"message": "cursor expired, restart without it (fake)"})
            return None
        items = [self._with_meta(self.fake.images[i], query, nested=False) for i in pages[index]]
        if mode == "foreign_image" and index == len(pages) - 1:
            items.append(self._with_meta(self.fake.images[OTHER_IMAGE_ID], query, nested=False))
        metadata: dict[str, Any] = {}
        if index + 1 < len(pages):
            metadata["nextCursor"] = cursors[index + 1]
        elif mode == "repeat_cursor":
            metadata["nextCursor"] = cursors[index]
        elif mode == "endless":
            metadata["nextCursor"] = f"endless:{len(self.fake.requests)}"
        if "nextCursor" in metadata:
            metadata["nextPage"] = (
                f"{self.fake.url}/api/v1/images?postId={post_id}&cursor={metadata['nextCursor']}"
            )
        return {"items": items, "metadata": metadata}


class FakeServer:
    """Starts and stops the fake in a daemon thread; ``controller`` is the test's handle."""

    def __init__(self) -> None:
        self.controller = FakeCivitaiSite()
        handler = type("Handler", (_Handler,), {"fake": self.controller})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        host, port = self.httpd.server_address[:2]
        self.controller.url = f"http://{host}:{port}"
        self.controller.serve_media_here()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeCivitaiSite:
        self.thread.start()
        return self.controller

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
