"""Refuse request shapes no view can serve, before a view (or the database) chokes on them.

- A NUL byte anywhere in the path: no id of ours contains one, and PostgreSQL refuses
  it inside a query (a 500); the answer is 404 like any other unknown address.
- An admin date-hierarchy value (``created_at__year=99999999999999999999``) that is
  not a small number in its calendar range: Django's changelist builds a ``datetime``
  from it and crashes on an overflow; the answer is 400.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, HttpResponseNotFound

_DATE_PARTS = {"year": (1, 9999), "month": (1, 12), "day": (1, 31)}


def _bad_date_part(key: str, value: str) -> bool:
    part = key.rsplit("__", 1)[-1]
    if "__" not in key or part not in _DATE_PARTS:
        return False
    low, high = _DATE_PARTS[part]
    return not (value.isascii() and value.isdigit() and len(value) <= 4) or not (
        low <= int(value) <= high
    )


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in request.path_info:
            return HttpResponseNotFound("Not found", content_type="text/plain")
        if request.path.startswith("/admin/"):
            for key, value in request.GET.items():
                if _bad_date_part(key, value):
                    return HttpResponseBadRequest(
                        f"{key} must be a number in its calendar range", content_type="text/plain"
                    )
        return self.get_response(request)
