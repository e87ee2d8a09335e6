from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sqlite_functions(sender, connection, **kwargs):
    """Give SQLite the popcount PostgreSQL has (``tracking.models.Hamming``)."""
    if connection.vendor == "sqlite":
        from tracking.perceptual import hamming_or_none

        connection.connection.create_function(
            "civitrack_hamming", 2, hamming_or_none, deterministic=True
        )


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = _("Tracking")

    def ready(self):
        from tracking import prompt_search

        connection_created.connect(_sqlite_functions, dispatch_uid="tracking_sqlite_functions")
        # The SQLite prompt index: its triggers call a Python function, and its triggers
        # are restored after migrations that rebuilt the prompt table (prompt_search).
        connection_created.connect(
            prompt_search.register_sqlite_function, dispatch_uid="tracking_prompt_search"
        )
        post_migrate.connect(
            prompt_search.ensure_after_migrate, sender=self, dispatch_uid="tracking_prompt_fts"
        )
