from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = _("Tracking")

    def ready(self):
        from tracking import prompt_search

        # The SQLite prompt index: its triggers call a Python function, and its triggers
        # are restored after migrations that rebuilt the prompt table (prompt_search).
        connection_created.connect(prompt_search.register_sqlite_function)
        post_migrate.connect(prompt_search.ensure_after_migrate, sender=self)
