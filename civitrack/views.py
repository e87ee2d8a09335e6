"""Project-level views that belong to no app."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 otherwise; for load balancers, so no login."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
@login_required
def media(request, path: str):
    """Files stored under MEDIA_ROOT (uploaded assets), for signed-in staff only.

    ``django.views.static.serve`` refuses paths outside MEDIA_ROOT and streams the file;
    ``nosniff`` (SecurityMiddleware) keeps a browser from reading it as anything but its
    type. A deployment that stores uploads in a bucket (``ASSET_STORAGE=s3``) does not
    route here.
    """
    if not request.user.is_staff:
        raise PermissionDenied
    return serve(request, path, document_root=settings.MEDIA_ROOT)
