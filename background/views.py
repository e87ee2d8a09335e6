"""The JSON status of a task run, polled by the pages that enqueue work."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from background.models import TaskRun


def get_run_for_user(user, run_id: int) -> TaskRun:
    """Staff see every run; 404 for an unknown id."""
    if not (user.is_active and user.is_staff):
        raise PermissionDenied("Staff only")
    return get_object_or_404(TaskRun, pk=run_id)


@require_GET
@never_cache
@login_required
def run_status(request, run_id: int):
    return JsonResponse(get_run_for_user(request.user, run_id).as_status())
