"""The production engine's pieces: RQ on Redis behind Django's tasks API.

``django-tasks-rq`` puts Django's tasks on RQ; what it leaves at RQ's defaults is set
here, from settings, and nothing more:

- every job gets RQ's ``Retry`` (``TASK_RETRIES`` times after ``TASK_RETRY_DELAYS``),
  so a task that raised runs again later, and so does one whose worker was killed:
  RQ's ``StartedJobRegistry.cleanup`` requeues an abandoned job while it has retries
  left;
- workers look for abandoned jobs every ``RQ_MAINTENANCE_INTERVAL`` seconds instead
  of RQ's ten minutes, idle or not.

Workers run with ``--with-scheduler``: RQ's scheduler (one per queue, by a Redis
lock) moves retries that wait out their delay back onto the queue.

docs/background-work.md says why this engine and what the embedded default lacks.
"""

from __future__ import annotations

from django.conf import settings
from django_rq.queues import DjangoRQ
from rq import Retry
from rq import Worker as BaseWorker


class RetryingQueue(DjangoRQ):
    """A django-rq queue whose jobs retry with backoff unless told otherwise."""

    def create_job(self, *args, retry: Retry | None = None, **kwargs):
        if retry is None and settings.TASK_RETRIES:
            retry = Retry(max=settings.TASK_RETRIES, interval=list(settings.TASK_RETRY_DELAYS))
        return super().create_job(*args, retry=retry, **kwargs)


class Worker(BaseWorker):
    """RQ's worker with the maintenance and heartbeat intervals from settings."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", settings.RQ_MAINTENANCE_INTERVAL)
        kwargs.setdefault("job_monitoring_interval", settings.RQ_JOB_MONITORING_INTERVAL)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker waits for work at most this long before it runs maintenance
        # again; RQ waits worker_ttl - 15 s (405 s), which would leave a dead worker's
        # task unclaimed that long.
        return max(1, min(self.worker_ttl - 15, self.maintenance_interval))
