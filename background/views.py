"""The JSON status of a task run, polled by the pages that enqueue work."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from background.models import TaskRun
from background.tasks import enqueue


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


@require_POST
@login_required
def sync_workflows_now(request):
    """ "Sync now" on the workflow list: an incremental sync, enqueued; the list shows it."""
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied("Staff only")
    run = enqueue("sync_workflows", user=request.user, origin="workflow list")
    return redirect(f"{reverse('orchestration:workflow_list')}?run={run.pk}")
